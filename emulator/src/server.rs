//! The HTTP server: routing, and an accept loop that can close a connection without
//! answering (the DropAfterCommit fault), which `axum::serve` cannot do.

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Request, StatusCode};
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
        .with_state(shared)
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
