//! The one boundary where Cloudflare client errors become Terraform diagnostics.

use crate::cloudflare::ApiError;
use crate::tfplugin::{AttributePath, Diagnostic, Diagnostics, Severity};

/// A diagnostic for a failed API operation. `action` completes the sentence
/// "Failed to …" in the user's terms, e.g. `"attach policy 1234 to application \"wiki\""`.
pub fn api_error(action: &str, err: &ApiError) -> Diagnostic {
    api_error_at(action, err, None)
}

/// Like [`api_error`], pointing at the attribute the failed call was about.
pub fn api_error_at(action: &str, err: &ApiError, attribute: Option<AttributePath>) -> Diagnostic {
    let mut detail = format!("Failed to {action}: {err}");
    if let Some(hint) = err.hint() {
        detail.push_str(&format!("\n\nHint: {hint}."));
        if matches!(err.status(), Some(401 | 403)) {
            detail.push_str(
                " The token comes from the provider's api_token (or CLOUDFLARE_API_TOKEN); \
                 the account from the resource's or the provider's account_id (or CLOUDFLARE_ACCOUNT_ID).",
            );
        }
    } else if matches!(err, ApiError::Transport { .. } | ApiError::Timeout { .. }) {
        detail.push_str(
            "\n\nHint: the Cloudflare API could not be reached; check the provider's base_url \
             (or CLOUDFLARE_BASE_URL) and the network path to it.",
        );
    }
    let summary = if err.is_cancelled() {
        "Operation cancelled".to_string()
    } else {
        format!("Cloudflare API: failed to {}", first_words(action))
    };
    Diagnostic {
        severity: Severity::Error,
        summary,
        detail,
        attribute,
    }
}

/// `?` for API calls in handlers: the error of a call becomes its [`api_error`]
/// diagnostic, which converts into a handler's `Failure` (or `Diagnostics`), so
///
/// ```ignore
/// let app = api.client.get_app(&account, &id).await.failed_to(|| format!("read Access application {id}"))?;
/// ```
///
/// builds the diagnostic only when the call failed.
pub trait ApiResultExt<T> {
    /// The error as [`api_error`] for the action `action()` names.
    fn failed_to(self, action: impl FnOnce() -> String) -> Result<T, Diagnostic>;

    /// The error as [`api_error_at`], pointing at `attribute`.
    fn failed_to_at(
        self,
        attribute: AttributePath,
        action: impl FnOnce() -> String,
    ) -> Result<T, Diagnostic>;
}

impl<T> ApiResultExt<T> for Result<T, ApiError> {
    fn failed_to(self, action: impl FnOnce() -> String) -> Result<T, Diagnostic> {
        self.map_err(|e| api_error(&action(), &e))
    }

    fn failed_to_at(
        self,
        attribute: AttributePath,
        action: impl FnOnce() -> String,
    ) -> Result<T, Diagnostic> {
        self.map_err(|e| api_error_at(&action(), &e, Some(attribute)))
    }
}

/// Appends [`api_error`] to `diags`.
pub fn push_api_error(diags: &mut Diagnostics, action: &str, err: &ApiError) {
    diags.0.push(api_error(action, err));
}

/// The summary stays short; the detail carries the ids.
fn first_words(action: &str) -> String {
    action
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}
