//! `/__emulator/writers`: start, report on and stop simulated concurrent writers
//! (see `crate::writer`).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::envelope::json_response;
use crate::shared::Shared;
use crate::writer::{ConcurrentWriter, DEFAULT_WRITER_PREFIX};

type S = State<Arc<Shared>>;

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new().route(
        "/writers",
        get(list_writers).post(start_writer).delete(stop_writers),
    )
}

/// JSON form of a writer: `{app_id, interval_ms, account?, name_prefix?, count?}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WriterRequest {
    app_id: String,
    interval_ms: u64,
    account: Option<String>,
    name_prefix: Option<String>,
    count: Option<u32>,
}

fn reports(shared: &Shared) -> Value {
    let writers: Vec<Value> = shared
        .writers()
        .reports(shared)
        .iter()
        .map(|r| r.to_json())
        .collect();
    json!({"writers": writers})
}

async fn list_writers(State(shared): S) -> Response {
    json_response(StatusCode::OK, reports(&shared))
}

async fn start_writer(State(shared): S, bytes: Bytes) -> Response {
    let bad = |msg: String| json_response(StatusCode::BAD_REQUEST, json!({"error": msg}));
    let req: WriterRequest = match serde_json::from_slice(&bytes) {
        Ok(r) => r,
        Err(e) => return bad(format!("invalid JSON body: {e}")),
    };
    if req.interval_ms == 0 {
        return bad("interval_ms must be positive".into());
    }
    if req.count == Some(0) {
        return bad("count must be positive (omit it to run until stopped)".into());
    }
    let writer = ConcurrentWriter {
        account: req.account,
        app_id: req.app_id,
        interval: Duration::from_millis(req.interval_ms),
        name_prefix: req
            .name_prefix
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| DEFAULT_WRITER_PREFIX.to_string()),
        max_attachments: req.count,
    };
    let started = shared.writers().start(&shared, writer);
    match started {
        Ok(id) => {
            let report = shared
                .writers()
                .reports(&shared)
                .into_iter()
                .nth(id)
                .map(|r| r.to_json())
                .unwrap_or_default();
            json_response(StatusCode::CREATED, report)
        }
        Err(msg) => json_response(StatusCode::NOT_FOUND, json!({"error": msg})),
    }
}

/// Stops every writer and answers with their final reports.
async fn stop_writers(State(shared): S) -> Response {
    shared.writers().stop_all();
    let body = reports(&shared);
    shared.writers().clear();
    json_response(StatusCode::OK, body)
}
