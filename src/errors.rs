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

/// Parses an import id of the form `<account_id>/<object_id>` or `<object_id>`.
/// Returns `(account_id, object_id)`; `None` account = the provider's default.
pub fn parse_import_id(
    id: &str,
    example_kind: &str,
) -> Result<(Option<String>, String), Diagnostics> {
    let bad = || {
        let mut d = Diagnostics::new();
        d.error(
            "Invalid import ID",
            format!(
                "Expected \"<account_id>/<{example_kind}_id>\" or \"<{example_kind}_id>\" (the {example_kind} UUID, with the provider's account), got {id:?}."
            ),
        );
        d
    };
    let parts: Vec<&str> = id.trim().split('/').collect();
    let (account, object) = match parts.as_slice() {
        [object] => (None, *object),
        [account, object] => (Some(account.to_string()), *object),
        _ => return Err(bad()),
    };
    if !crate::tfplugin::validate::is_uuid(object) {
        return Err(bad());
    }
    if let Some(acc) = &account
        && !crate::common::account::is_account_id(acc)
    {
        return Err(bad());
    }
    Ok((account, object.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_ids() {
        let app = "6cdc3892-f9f1-4813-a5ce-38c2753e1208";
        assert_eq!(
            parse_import_id(app, "app").ok(),
            Some((None, app.to_string()))
        );
        let with_acc = format!("023e105f4ecef8ad9ca31a8372d0c353/{app}");
        assert_eq!(
            parse_import_id(&with_acc, "app").ok(),
            Some((
                Some("023e105f4ecef8ad9ca31a8372d0c353".to_string()),
                app.to_string()
            ))
        );
        for bad in [
            "",
            "x",
            "a/b/c",
            "accounts/023e105f4ecef8ad9ca31a8372d0c353/6cdc3892-f9f1-4813-a5ce-38c2753e1208",
        ] {
            assert!(parse_import_id(bad, "app").is_err(), "{bad}");
        }
    }
}
