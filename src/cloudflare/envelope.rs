//! The v4 response envelope: `{success, errors, messages, result, result_info}`.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::error::CfMessage;
use super::models::lenient::{null_as_default, opt_u64};

/// Paging metadata of list responses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ResultInfo {
    /// 1-based page number.
    #[serde(default, deserialize_with = "opt_u64")]
    pub page: Option<u64>,
    /// Page size the server applied.
    #[serde(default, deserialize_with = "opt_u64")]
    pub per_page: Option<u64>,
    /// Items on this page.
    #[serde(default, deserialize_with = "opt_u64")]
    pub count: Option<u64>,
    /// Total items (Cloudflare documents it as the total *without* filters).
    #[serde(default, deserialize_with = "opt_u64")]
    pub total_count: Option<u64>,
}

/// A decoded envelope. Unknown keys are ignored; every part is optional so that a
/// sparse body (or a proxy's JSON error page) still yields what it can.
///
/// `Debug` shows the size of `result`, never its text: the answer to a SaaS create
/// carries the application's `client_secret`.
#[derive(Clone, Default, Deserialize)]
pub struct Envelope {
    /// `success` flag; `None` when absent.
    #[serde(default)]
    pub success: Option<bool>,
    /// `errors[]` (each may carry `documentation_url`/`source`, ignored).
    #[serde(default, deserialize_with = "null_as_default")]
    pub errors: Vec<CfMessage>,
    /// `messages[]`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub messages: Vec<CfMessage>,
    /// `result`, kept as raw JSON text (`None` when absent or `null`) and decoded by
    /// the caller into its own type only on success: a list of a thousand objects is
    /// parsed once, straight into those types, never into a generic tree first.
    #[serde(default)]
    pub result: Option<Box<RawValue>>,
    /// `result_info` (lists only).
    #[serde(default)]
    pub result_info: Option<ResultInfo>,
}

impl std::fmt::Debug for Envelope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Envelope")
            .field("success", &self.success)
            .field("errors", &self.errors)
            .field("messages", &self.messages)
            .field(
                "result",
                &self
                    .result
                    .as_ref()
                    .map(|raw| format!("<{} bytes>", raw.get().len())),
            )
            .field("result_info", &self.result_info)
            .finish()
    }
}

/// Cloudflare's "Please wait and consider throttling your request speed" code; it may
/// arrive with statuses other than 429 and is retried like a 429.
pub const CODE_THROTTLED: i64 = 971;

impl Envelope {
    /// Decodes a body; `None` when it is not a JSON object.
    pub fn parse(body: &[u8]) -> Option<Envelope> {
        // serde also reads a struct from a JSON array; only an object is an envelope.
        if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return None;
        }
        serde_json::from_slice(body).ok()
    }

    /// The raw `result` text, `null` when there is none.
    pub fn result_json(&self) -> &str {
        self.result.as_deref().map_or("null", RawValue::get)
    }

    /// True when the envelope carries the throttling code.
    pub fn is_throttled(&self) -> bool {
        self.errors.iter().any(|e| e.code == CODE_THROTTLED)
    }
}

/// A short, single-line preview of a non-JSON body for diagnostics (proxies answer
/// with HTML). Never used for successful responses, which may hold secrets.
pub fn body_preview(body: &[u8]) -> String {
    const LIMIT: usize = 160;
    let text = String::from_utf8_lossy(body);
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > LIMIT {
        format!("{}…", flat.chars().take(LIMIT).collect::<String>())
    } else {
        flat
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerates_unknown_keys_and_low_codes() {
        let body = br#"{"success":false,"errors":[{"code":971,"message":"Please wait and consider throttling your request speed","documentation_url":"https://x","source":{"pointer":"/a"}}],"messages":[],"result":null,"extra":1}"#;
        let envelope = Envelope::parse(body).unwrap();
        assert_eq!(envelope.success, Some(false));
        assert_eq!(envelope.errors[0].code, 971);
        assert!(envelope.is_throttled());
    }

    #[test]
    fn reads_result_info_with_float_numbers() {
        let body = br#"{"success":true,"errors":null,"messages":[],"result":[],"result_info":{"page":2,"per_page":1000.0,"count":0,"total_count":5}}"#;
        let envelope = Envelope::parse(body).unwrap();
        let info = envelope.result_info.unwrap();
        assert_eq!(info.per_page, Some(1000));
        assert_eq!(info.total_count, Some(5));
        assert!(envelope.errors.is_empty());
    }

    #[test]
    fn non_json_is_none_and_preview_is_short() {
        assert!(Envelope::parse(b"<html>bad gateway</html>").is_none());
        assert!(Envelope::parse(b"[1,2]").is_none());
        let preview = body_preview("<html>\n  <body>".repeat(50).as_bytes());
        assert!(preview.chars().count() <= 161);
        assert!(!preview.contains('\n'));
    }
}
