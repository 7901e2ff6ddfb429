//! `/client/v4`: authentication, rate limit, fault injection, request log, then the
//! Access endpoints.

mod query;
mod routes;

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::LoggedRequest;
use crate::envelope::{ApiError, failure_body, json_response};
use crate::fault::FaultKind;
use crate::ids::hex;
use crate::ratelimit::Decision;
use crate::shared::Shared;

/// Path prefix of the API.
pub(crate) const PREFIX: &str = "/client/v4";

/// Marker on a response whose connection must be closed without sending it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DropConnection;

/// The request body as the handlers see it.
pub(crate) enum Body {
    Empty,
    Json(Value),
    Invalid(String),
}

impl Body {
    fn parse(bytes: &Bytes) -> Body {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Body::Empty;
        }
        match serde_json::from_slice(bytes) {
            Ok(v) => Body::Json(v),
            Err(e) => Body::Invalid(e.to_string()),
        }
    }

    /// What the request log keeps: the JSON, or the raw text as a JSON string.
    fn for_log(&self, bytes: &Bytes) -> Option<Value> {
        match self {
            Body::Empty => None,
            Body::Json(v) => Some(v.clone()),
            Body::Invalid(_) => Some(Value::String(String::from_utf8_lossy(bytes).into_owned())),
        }
    }

    /// A JSON body, or the 400 for a missing or unparsable one.
    pub fn json(&self) -> Result<&Value, ApiError> {
        match self {
            Body::Json(v) => Ok(v),
            Body::Empty => Err(ApiError::invalid(
                "request body is required (a JSON object)",
            )),
            Body::Invalid(e) => Err(ApiError::invalid(format!(
                "request body is not valid JSON: {e}"
            ))),
        }
    }
}

/// Entry point for every request under `/client/v4`.
pub(crate) async fn entry(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let time = SystemTime::now();
    let body = Body::parse(&bytes);
    let mut response = handle(&shared, &method, &uri, &headers, &body).await;
    let dropped = response.extensions().get::<DropConnection>().is_some();
    shared.record(LoggedRequest {
        method: method.as_str().to_string(),
        path: uri.path().to_string(),
        query: uri.query().map(str::to_string),
        status: response.status().as_u16(),
        body: body.for_log(&bytes),
        time,
        responded: SystemTime::now(),
        dropped,
    });
    tracing::debug!(method = %method, path = uri.path(), status = response.status().as_u16(), dropped, "api request");
    if method == Method::HEAD {
        *response.body_mut() = axum::body::Body::empty();
    }
    response
}

async fn handle(
    shared: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Body,
) -> Response {
    let principal = match authenticate(shared, headers) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let rate = shared.limiter.check(&principal, Instant::now());
    let mut response = match &rate {
        Decision::Limited {
            retry_after_secs, ..
        } => ApiError::rate_limited(*retry_after_secs).into_response(),
        _ => run(shared, method, uri, body).await,
    };
    rate.apply_headers(response.headers_mut());
    response
}

/// Faults, then the endpoint.
async fn run(shared: &Shared, method: &Method, uri: &Uri, body: &Body) -> Response {
    let sub_path = uri.path().strip_prefix(PREFIX).unwrap_or_default();
    let action = shared.faults().take(method.as_str(), sub_path);
    if !action.delay.is_zero() {
        tokio::time::sleep(action.delay).await;
    }
    let mut drop_connection = false;
    match action.terminal {
        Some(FaultKind::Status(429)) => return ApiError::rate_limited(1).into_response(),
        Some(FaultKind::Status(status)) => return injected_status(status),
        Some(FaultKind::RateLimited { retry_after_secs }) => {
            return ApiError::rate_limited(retry_after_secs).into_response();
        }
        Some(FaultKind::DropAfterCommit) => drop_connection = true,
        Some(FaultKind::Latency(_)) | None => {}
    }
    let mut response = match routes::dispatch(shared, method, uri, body) {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    if drop_connection {
        response.extensions_mut().insert(DropConnection);
    }
    response
}

/// An injected failure: the status with an error envelope, code 19000 + status.
fn injected_status(status: u16) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let message = match status {
        409 => "access.api.error.conflict: the object was changed concurrently (injected fault)"
            .to_string(),
        _ => format!(
            "{} (injected fault)",
            code.canonical_reason().unwrap_or("error")
        ),
    };
    json_response(
        code,
        failure_body(19000 + i64::from(code.as_u16()), &message),
    )
}

/// The rate-limit principal for valid credentials, or 403 code 10000 (§11 #24).
fn authenticate(shared: &Shared, headers: &HeaderMap) -> Result<String, ApiError> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let bearer = header("authorization").and_then(|v| {
        let (scheme, token) = v.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim())
            .filter(|t| !t.is_empty())
    });
    match (bearer, &shared.token) {
        (Some(token), Some(expected)) if token == expected => Ok(principal("token", token)),
        (Some(_), Some(_)) => Err(ApiError::authentication(Some("the API token is not valid"))),
        (Some(token), None) => Ok(principal("token", token)),
        (None, expected) => {
            let email = header("x-auth-email").filter(|v| !v.is_empty());
            let key = header("x-auth-key").filter(|v| !v.is_empty());
            match (email, key, expected) {
                (Some(email), Some(_), None) => Ok(principal("user", email)),
                (Some(_), Some(_), Some(_)) => Err(ApiError::authentication(Some(
                    "this emulator accepts only its configured API token",
                ))),
                _ => Err(ApiError::authentication(None)),
            }
        }
    }
}

/// Principals are hashed so credentials never sit in the limiter's keys.
fn principal(kind: &str, secret: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, secret.as_bytes());
    format!("{kind}:{}", hex(&d.as_ref()[..16]))
}
