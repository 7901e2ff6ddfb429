//! The Cloudflare v4 response envelope and the API errors the emulator answers with.

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Error codes the emulator returns. Codes in the 19000 range are the emulator's own
/// placeholders (spec §11); clients must key on the HTTP status, never on these.
pub mod codes {
    /// Malformed body, wrong field type, missing required field (emulator).
    pub const INVALID_REQUEST: i64 = 19000;
    /// Reusable policy still attached to applications (emulator, §11 #1).
    pub const POLICY_IN_USE: i64 = 19001;
    /// `linked_app_token` policy on a non-`self_hosted` app (emulator, §11 #6).
    pub const LINKED_POLICY_ON_NON_SELF_HOSTED: i64 = 19002;
    /// Inline and reusable policies mixed in one app (emulator, §11 #11).
    pub const MIXED_POLICIES: i64 = 19003;
    /// A `policies` entry names an unknown policy or another app's policy (emulator, §11 #14).
    pub const UNKNOWN_POLICY_LINK: i64 = 19004;
    /// App `type` changed on PUT (emulator, §11 #16).
    pub const TYPE_CHANGE: i64 = 19005;
    /// Duplicate self-hosted `domain` in one account (emulator, §11 #17).
    pub const DUPLICATE_DOMAIN: i64 = 19006;
    /// Unknown rule key or a rule with other than one key (emulator, §11 #21).
    pub const INVALID_RULE: i64 = 19007;
    /// `linked_app_token` in a policy whose decision is not `non_identity` (emulator, §11 #4).
    pub const LINKED_APP_TOKEN_DECISION: i64 = 19008;
    /// Unknown app or policy id (emulator, §11 #19).
    pub const NOT_FOUND: i64 = 19404;
    /// Unknown route.
    pub const NO_ROUTE: i64 = 7000;
    /// Known route, method not allowed.
    pub const METHOD_NOT_ALLOWED: i64 = 7001;
    /// Malformed object identifier in the path.
    pub const INVALID_OBJECT_ID: i64 = 7003;
    /// Missing or refused credentials, or an account the token cannot use.
    pub const AUTHENTICATION: i64 = 10000;
    /// Rate limited.
    pub const RATE_LIMITED: i64 = 971;
    /// Precedence below 1 or duplicated within an app.
    pub const INVALID_PRECEDENCE: i64 = 11018;
    /// `linked_app_token.app_uid` is not an existing app.
    pub const LINKED_APP_MISSING: i64 = 12130;
}

/// An API failure: HTTP status plus one `{code, message}` in the failure envelope.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub code: i64,
    pub message: String,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: i64, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            headers: Vec::new(),
        }
    }

    /// 400 with the given code.
    pub fn bad_request(code: i64, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 400 code 19000: body does not match the schema.
    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::bad_request(codes::INVALID_REQUEST, message)
    }

    /// 404 code 19404 for an unknown (well-formed) id.
    pub fn not_found(what: &str, id: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            codes::NOT_FOUND,
            format!("access.api.error.not_found: {what} {id} not found"),
        )
    }

    /// 404 code 7003 for a malformed identifier in the path.
    pub fn invalid_object_id(path: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            codes::INVALID_OBJECT_ID,
            format!("Could not route to {path}, perhaps your object identifier is invalid?"),
        )
    }

    /// 403 code 10000.
    pub fn authentication(detail: Option<&str>) -> ApiError {
        let message = match detail {
            Some(d) => format!("Authentication error: {d}"),
            None => "Authentication error".to_string(),
        };
        ApiError::new(StatusCode::FORBIDDEN, codes::AUTHENTICATION, message)
    }

    /// 429 code 971 with `retry-after`.
    pub fn rate_limited(retry_after_secs: u64) -> ApiError {
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            codes::RATE_LIMITED,
            "Please wait and consider throttling your request speed",
        );
        e.headers.push((
            axum::http::header::RETRY_AFTER,
            HeaderValue::from(retry_after_secs),
        ));
        e
    }

    /// 400 code 11018.
    pub fn precedence(detail: impl std::fmt::Display) -> ApiError {
        ApiError::bad_request(
            codes::INVALID_PRECEDENCE,
            format!("access.api.error.invalid_policy_precedence: {detail}"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = json_response(self.status, failure_body(self.code, &self.message));
        for (name, value) in self.headers {
            resp.headers_mut().insert(name, value);
        }
        resp
    }
}

/// `{success:false, errors:[{code,message}], messages:[], result:null}`.
pub(crate) fn failure_body(code: i64, message: &str) -> Value {
    json!({
        "success": false,
        "errors": [{"code": code, "message": message}],
        "messages": [],
        "result": null,
    })
}

/// `{success:true, errors:[], messages:[], result}`.
pub(crate) fn success_body(result: Value) -> Value {
    json!({"success": true, "errors": [], "messages": [], "result": result})
}

/// Pagination block of list responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ResultInfo {
    pub page: usize,
    pub per_page: usize,
    pub count: usize,
    pub total_count: usize,
}

/// A list envelope with `result_info`.
pub(crate) fn list_body(result: Vec<Value>, info: ResultInfo) -> Value {
    json!({
        "success": true,
        "errors": [],
        "messages": [],
        "result": result,
        "result_info": {
            "page": info.page,
            "per_page": info.per_page,
            "count": info.count,
            "total_count": info.total_count,
        },
    })
}

/// A list envelope serialised straight from borrowed items (no `Value` per item).
pub(crate) fn list_response<T: serde::Serialize>(items: &[T], info: ResultInfo) -> Response {
    #[derive(serde::Serialize)]
    struct Info {
        page: usize,
        per_page: usize,
        count: usize,
        total_count: usize,
    }
    #[derive(serde::Serialize)]
    struct Envelope<'a, T> {
        success: bool,
        errors: [(); 0],
        messages: [(); 0],
        result: &'a [T],
        result_info: Info,
    }
    let envelope = Envelope {
        success: true,
        errors: [],
        messages: [],
        result: items,
        result_info: Info {
            page: info.page,
            per_page: info.per_page,
            count: info.count,
            total_count: info.total_count,
        },
    };
    let mut bytes = Vec::with_capacity(256 + items.len() * 1024);
    if serde_json::to_writer(&mut bytes, &envelope).is_err() {
        return json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            failure_body(codes::INVALID_REQUEST, "response could not be serialised"),
        );
    }
    let mut resp = (StatusCode::OK, bytes).into_response();
    resp.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// Serialises `body` as the response with `content-type: application/json`.
pub(crate) fn json_response(status: StatusCode, body: Value) -> Response {
    let bytes = serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec());
    let mut resp = (status, bytes).into_response();
    resp.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}
