//! The one error type every client operation returns.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One entry of a Cloudflare envelope's `errors[]` or `messages[]`.
///
/// Codes are kept as received, including values below the schema's minimum of 1000
/// (971 "Please wait and consider throttling your request speed").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CfMessage {
    /// Numeric Cloudflare code (0 when the API sent none).
    #[serde(
        default,
        deserialize_with = "crate::cloudflare::models::lenient::i64_or_zero"
    )]
    pub code: i64,
    /// Human-readable message.
    #[serde(
        default,
        deserialize_with = "crate::cloudflare::models::lenient::string_or_empty"
    )]
    pub message: String,
}

impl fmt::Display for CfMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.code, self.message)
    }
}

/// Formats the codes and messages of a failed call for a diagnostic.
fn join_messages(errors: &[CfMessage]) -> String {
    if errors.is_empty() {
        return "no error details in the response".to_owned();
    }
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Everything that can go wrong talking to the Access API.
///
/// Variants that come from an HTTP exchange carry the method and path of the request
/// (never headers, query secrets or the token), so they can be shown to a user as-is.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// HTTP 404: the object does not exist (deleted out of band, or a wrong id).
    #[error("{method} {path}: not found (HTTP 404): {}", join_messages(errors))]
    NotFound {
        /// HTTP method of the request.
        method: String,
        /// Path of the request, relative to the base URL.
        path: String,
        /// Codes and messages from the envelope.
        errors: Vec<CfMessage>,
    },
    /// The API answered with a failure status or `success: false`.
    #[error("{method} {path}: Cloudflare API error (HTTP {status}{}): {}", attempts_suffix(*attempts), join_messages(errors))]
    Api {
        /// HTTP status code.
        status: u16,
        /// Every code and message of the envelope's `errors[]`.
        errors: Vec<CfMessage>,
        /// HTTP method of the request.
        method: String,
        /// Path of the request, relative to the base URL.
        path: String,
        /// How many attempts were made (1 = no retry).
        attempts: u32,
    },
    /// The request could not be sent, or the connection broke before a response arrived.
    #[error("{method} {path}: transport error{}: {message}", attempts_suffix(*attempts))]
    Transport {
        /// HTTP method of the request.
        method: String,
        /// Path of the request, relative to the base URL.
        path: String,
        /// Description of the failure (the URL never contains credentials).
        message: String,
        /// How many attempts were made.
        attempts: u32,
    },
    /// No response within `request_timeout`.
    #[error("{method} {path}: no response within {:?}{}", after, attempts_suffix(*attempts))]
    Timeout {
        /// HTTP method of the request.
        method: String,
        /// Path of the request, relative to the base URL.
        path: String,
        /// The per-request timeout that expired.
        after: Duration,
        /// How many attempts were made.
        attempts: u32,
    },
    /// The client's stop token was cancelled (Terraform asked the provider to stop).
    #[error("operation cancelled: the provider is stopping")]
    Cancelled,
    /// A response could not be decoded into the expected type.
    #[error("{method} {path}: could not decode the response: {message}")]
    Decode {
        /// HTTP method of the request.
        method: String,
        /// Path of the request, relative to the base URL.
        path: String,
        /// What did not match.
        message: String,
    },
    /// Attaching at `precedence` is impossible because another policy holds it.
    #[error("precedence {precedence} on application {app_id} is already used by policy {holder}")]
    PrecedenceConflict {
        /// Application being modified.
        app_id: String,
        /// The requested precedence.
        precedence: u32,
        /// Id of the policy that already holds it.
        holder: String,
    },
    /// An attachment edit produced a list the API would reject (duplicate id or
    /// precedence, precedence 0); nothing was sent.
    #[error("invalid policy attachments for application {app_id}: {message}")]
    InvalidAttachments {
        /// Application being modified.
        app_id: String,
        /// What is wrong with the list.
        message: String,
    },
    /// The API accepted an attachment write but the application read back does not
    /// hold it (a concurrent writer outside this process, or a server-side rule).
    #[error("policy attachments of application {app_id} did not take effect: {message}")]
    AttachmentNotApplied {
        /// Application being modified.
        app_id: String,
        /// Expected versus found.
        message: String,
    },
    /// A create was accepted (2xx) and its answer names the new object's id, but the
    /// object could not be decoded, not even by a direct read afterwards. The object
    /// exists: callers keep `id` (as partial state) so it is not orphaned.
    #[error("{method} {path}: created {id}, but the response could not be decoded: {message}")]
    CreatedUndecodable {
        /// Id of the object the API created.
        id: String,
        /// HTTP method of the request.
        method: String,
        /// Path of the request, relative to the base URL.
        path: String,
        /// What did not match.
        message: String,
    },
    /// A create got no clear answer and more than one object created since then
    /// matches it (one of them is someone else's): none is adopted.
    #[error("a {kind} create got no clear answer, and {} objects created since then match it: {}. None was adopted, because one of them belongs to someone else: import the one this configuration created (or delete the one nobody uses) and apply again", ids.len(), ids.join(" and "))]
    AmbiguousCreate {
        /// `application` or `policy`.
        kind: String,
        /// Ids of every matching object.
        ids: Vec<String>,
    },
    /// The client configuration cannot be used.
    #[error("invalid API client configuration: {0}")]
    InvalidConfig(String),
}

fn attempts_suffix(attempts: u32) -> String {
    if attempts > 1 {
        format!(", after {attempts} attempts")
    } else {
        String::new()
    }
}

impl ApiError {
    /// True for HTTP 404 (the resource should drop the object from state).
    pub fn is_not_found(&self) -> bool {
        matches!(self, ApiError::NotFound { .. })
    }

    /// The HTTP status of the failed response, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::NotFound { .. } => Some(404),
            ApiError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The Cloudflare codes and messages of the failed response (empty if none).
    pub fn cf_errors(&self) -> &[CfMessage] {
        match self {
            ApiError::NotFound { errors, .. } | ApiError::Api { errors, .. } => errors,
            _ => &[],
        }
    }

    /// The id of an object a create made although the call failed
    /// ([`ApiError::CreatedUndecodable`]): to be kept as partial state.
    pub fn created_id(&self) -> Option<&str> {
        match self {
            ApiError::CreatedUndecodable { id, .. } => Some(id),
            _ => None,
        }
    }

    /// True when the stop token ended the operation.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, ApiError::Cancelled)
    }

    /// A hint for the user about what to check, keyed on the HTTP status only
    /// (Cloudflare's numeric codes are not a stable contract).
    pub fn hint(&self) -> Option<&'static str> {
        match self.status()? {
            401 | 403 => Some(
                "check that the API token is valid and has the \"Access: Apps and Policies Write\" permission for this account",
            ),
            429 => Some(
                "Cloudflare rate limit (1200 requests per 5 minutes per user) reached; lower requests_per_second or retry later",
            ),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_lists_every_code_with_method_and_path() {
        let err = ApiError::Api {
            status: 400,
            errors: vec![
                CfMessage {
                    code: 12130,
                    message: "linked app must be an existing app".into(),
                },
                CfMessage {
                    code: 971,
                    message: "Please wait".into(),
                },
            ],
            method: "POST".into(),
            path: "/accounts/a/access/policies".into(),
            attempts: 3,
        };
        let text = err.to_string();
        assert!(text.contains("POST /accounts/a/access/policies"), "{text}");
        assert!(text.contains("HTTP 400"), "{text}");
        assert!(
            text.contains("[12130] linked app must be an existing app"),
            "{text}"
        );
        assert!(text.contains("[971] Please wait"), "{text}");
        assert!(text.contains("after 3 attempts"), "{text}");
        assert_eq!(err.status(), Some(400));
        assert!(!err.is_not_found());
    }

    #[test]
    fn not_found_is_distinct() {
        let err = ApiError::NotFound {
            method: "GET".into(),
            path: "/x".into(),
            errors: vec![],
        };
        assert!(err.is_not_found());
        assert_eq!(err.status(), Some(404));
    }
}
