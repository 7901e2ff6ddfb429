//! The HTTP server: routing, and an accept loop that can close a connection without
//! answering (the DropAfterCommit fault), which `axum::serve` cannot do.

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{Method, Request, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{any, get};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::ServiceExt;

use crate::api::{self, DropConnection};
use crate::envelope::{codes, failure_body, json_response};
use crate::shared::Shared;

/// Large enough for `PUT /__emulator/state` with tens of thousands of objects.
const BODY_LIMIT: usize = 256 * 1024 * 1024;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(api::PREFIX, any(api::entry))
        .route(&format!("{}/{{*rest}}", api::PREFIX), any(api::entry))
        .route("/cdn-cgi/access/certs", get(crate::admin::certs))
        .route("/__emulator/", get(crate::admin::summary))
        .nest("/__emulator", crate::admin::router())
        .fallback(no_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            require_admin_token,
        ))
        .with_state(shared)
}

/// With `--token`, the admin API (state, faults, out-of-band edits, edge login) takes
/// the same `Authorization: Bearer` token as the API: otherwise anyone who can reach
/// the port could replace the state or mint edge tokens. Edge decisions
/// (`GET /__emulator/edge/{app_id}…`) stay open: they authenticate the app token they
/// are given, as the real Access edge does, and carry it in `Authorization` for SaaS.
async fn require_admin_token(
    State(shared): State<Arc<Shared>>,
    request: Request<axum::body::Body>,
    next: Next,
) -> Response {
    let Some(expected) = shared.token.as_deref() else {
        return next.run(request).await;
    };
    if !is_admin_path(request.method(), request.uri().path()) {
        return next.run(request).await;
    }
    let presented = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    if presented.is_some_and(|token| same_secret(token, expected)) {
        return next.run(request).await;
    }
    json_response(
        StatusCode::UNAUTHORIZED,
        serde_json::json!({
            "error": "the admin API of an emulator started with --token requires that token: \
                      send `Authorization: Bearer <token>`"
        }),
    )
}

/// Paths under `/__emulator` that need the token: all but edge decisions.
fn is_admin_path(method: &Method, path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/__emulator") else {
        return false;
    };
    let edge_decision = *method == Method::GET
        && rest
            .strip_prefix("/edge/")
            .is_some_and(|app| !app.is_empty() && app != "login" && !app.starts_with("login/"));
    !edge_decision
}

/// Compares without stopping at the first differing byte.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

async fn no_route() -> Response {
    json_response(
        StatusCode::NOT_FOUND,
        failure_body(codes::NO_ROUTE, "No route for that URI"),
    )
}

async fn method_not_allowed() -> Response {
    json_response(
        StatusCode::METHOD_NOT_ALLOWED,
        failure_body(
            codes::METHOD_NOT_ALLOWED,
            "Method not allowed for this endpoint",
        ),
    )
}

/// Returned to hyper instead of a response: hyper then closes the connection without
/// writing anything.
#[derive(Debug)]
struct ConnectionDropped;

impl std::fmt::Display for ConnectionDropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for ConnectionDropped {}

/// Serves until `shutdown` flips to true; open connections are aborted with it.
pub(crate) async fn serve(listener: TcpListener, app: Router, mut shutdown: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break;
                }
            }
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let app = app.clone();
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let app = app.clone();
                        async move {
                            let response = match app.oneshot(req).await {
                                Ok(r) => r,
                                Err(never) => match never {},
                            };
                            if response.extensions().get::<DropConnection>().is_some() {
                                Err(ConnectionDropped)
                            } else {
                                Ok(response)
                            }
                        }
                    });
                    let conn = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service);
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "connection closed");
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_admin_path_but_edge_decisions_needs_the_token() {
        for (method, path) in [
            (Method::GET, "/__emulator/"),
            (Method::GET, "/__emulator"),
            (Method::PUT, "/__emulator/state"),
            (Method::POST, "/__emulator/faults"),
            (Method::DELETE, "/__emulator/requests"),
            (Method::PATCH, "/__emulator/accounts/a/apps/b"),
            (Method::POST, "/__emulator/edge/login"),
            (Method::GET, "/__emulator/edge/login"),
            (Method::POST, "/__emulator/edge/some-app"),
            (Method::GET, "/__emulator/anything-added-later"),
        ] {
            assert!(is_admin_path(&method, path), "{method} {path}");
        }
        for (method, path) in [
            (Method::GET, "/__emulator/edge/4b1c7f0e"),
            (Method::GET, "/__emulator/edge/4b1c7f0e/mcp/tools"),
            (Method::GET, "/client/v4/accounts/a/access/apps"),
            (Method::GET, "/cdn-cgi/access/certs"),
        ] {
            assert!(!is_admin_path(&method, path), "{method} {path}");
        }
    }

    #[test]
    fn secrets_compare_exactly() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
        assert!(!same_secret("", "a"));
    }
}
