//! `/__emulator`: the admin API (request log, faults, state, out-of-band changes) and the
//! emulated Access edge. Not logged, not rate-limited; with `--token` it requires that
//! token (see `server::require_admin_token`), edge decisions excepted.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, patch, post, put};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::clock::unix_now;
use crate::edge::{EdgeDecision, ISSUER, evaluate};
use crate::envelope::json_response;
use crate::fault::{Fault, FaultKind};
use crate::shared::Shared;
use crate::store::{Account, State as Store, StateFile};

type S = State<Arc<Shared>>;

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/", get(summary))
        .route("/requests", get(list_requests).delete(clear_requests))
        .route(
            "/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/state", get(get_state).put(put_state))
        .route(
            "/accounts/{acc}/apps/{id}",
            patch(|s, p, b| patch_object(Patched::App, s, p, b)).delete(delete_app),
        )
        .route(
            "/accounts/{acc}/apps/{id}/attachments",
            put(put_attachments),
        )
        .route(
            "/accounts/{acc}/policies/{id}",
            patch(|s, p, b| patch_object(Patched::Policy, s, p, b)).delete(delete_policy),
        )
        .merge(crate::admin_writers::router())
        .route("/edge/login", post(edge_login))
        .route("/edge/{app_id}", get(edge_check))
        .route("/edge/{app_id}/{*rest}", get(edge_check_rest))
}

fn reply(status: StatusCode, body: Value) -> Response {
    json_response(status, body)
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    reply(status, json!({"error": message.into()}))
}

fn parse_json<T: serde::de::DeserializeOwned>(bytes: &Bytes) -> Result<T, String> {
    serde_json::from_slice(bytes).map_err(|e| format!("invalid JSON body: {e}"))
}

pub(crate) async fn summary(State(shared): S) -> Response {
    let state = shared.read();
    let accounts: serde_json::Map<String, Value> = state
        .accounts
        .iter()
        .map(|(id, acc)| {
            (
                id.clone(),
                json!({"apps": acc.apps.len(), "policies": acc.policies.len()}),
            )
        })
        .collect();
    reply(
        StatusCode::OK,
        json!({"emulator": "cfaccess-emulator", "version": env!("CARGO_PKG_VERSION"), "accounts": accounts}),
    )
}

async fn list_requests(State(shared): S) -> Response {
    reply(StatusCode::OK, shared.log().to_json())
}

async fn clear_requests(State(shared): S) -> Response {
    let cleared = shared.log().clear();
    reply(StatusCode::OK, json!({"cleared": cleared}))
}

/// JSON form of a fault: one of `status`, `rate_limited_retry_after`, `latency_ms`,
/// `drop_after_commit`; `count` defaults to 1, `persistent: true` means forever.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultRequest {
    method: Option<String>,
    path: String,
    status: Option<u16>,
    rate_limited_retry_after: Option<u64>,
    latency_ms: Option<u64>,
    #[serde(default)]
    drop_after_commit: bool,
    count: Option<u32>,
    #[serde(default)]
    persistent: bool,
}

impl FaultRequest {
    fn into_fault(self) -> Result<Fault, String> {
        let mut kinds = Vec::new();
        if let Some(s) = self.status {
            if !(400..=599).contains(&s) {
                return Err("status must be 400..599".into());
            }
            kinds.push(FaultKind::Status(s));
        }
        if let Some(secs) = self.rate_limited_retry_after {
            kinds.push(FaultKind::RateLimited {
                retry_after_secs: secs,
            });
        }
        if let Some(ms) = self.latency_ms {
            kinds.push(FaultKind::Latency(Duration::from_millis(ms)));
        }
        if self.drop_after_commit {
            kinds.push(FaultKind::DropAfterCommit);
        }
        let [kind] = kinds.as_slice() else {
            return Err("give exactly one of status, rate_limited_retry_after, latency_ms, drop_after_commit".into());
        };
        if !self.path.starts_with('/') {
            return Err("path must start with '/' (it is matched after /client/v4)".into());
        }
        let count = if self.persistent {
            u32::MAX
        } else {
            self.count.unwrap_or(1)
        };
        let method = self
            .method
            .filter(|m| m != "*")
            .map(|m| m.to_ascii_uppercase());
        Ok(Fault {
            method,
            path: self.path,
            kind: kind.clone(),
            count,
        })
    }
}

pub(crate) fn fault_json(f: &Fault) -> Value {
    let mut v = json!({
        "method": f.method,
        "path": f.path,
        "count": if f.count == u32::MAX { Value::Null } else { json!(f.count) },
        "persistent": f.count == u32::MAX,
    });
    match &f.kind {
        FaultKind::Status(s) => v["status"] = json!(s),
        FaultKind::RateLimited { retry_after_secs } => {
            v["rate_limited_retry_after"] = json!(retry_after_secs)
        }
        FaultKind::Latency(d) => v["latency_ms"] = json!(d.as_millis()),
        FaultKind::DropAfterCommit => v["drop_after_commit"] = json!(true),
    }
    v
}

async fn list_faults(State(shared): S) -> Response {
    let faults: Vec<Value> = shared.faults().list().iter().map(fault_json).collect();
    reply(StatusCode::OK, json!({"faults": faults}))
}

async fn add_fault(State(shared): S, bytes: Bytes) -> Response {
    let req: FaultRequest = match parse_json(&bytes) {
        Ok(r) => r,
        Err(msg) => return error(StatusCode::BAD_REQUEST, msg),
    };
    match req.into_fault() {
        Ok(fault) => {
            let body = fault_json(&fault);
            shared.faults().add(fault);
            reply(StatusCode::CREATED, body)
        }
        Err(msg) => error(StatusCode::BAD_REQUEST, msg),
    }
}

async fn clear_faults(State(shared): S) -> Response {
    shared.faults().clear();
    reply(StatusCode::OK, json!({"faults": []}))
}

async fn get_state(State(shared): S) -> Response {
    let file = shared.read().to_file();
    match serde_json::to_value(&file) {
        Ok(v) => reply(StatusCode::OK, v),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn put_state(State(shared): S, bytes: Bytes) -> Response {
    let file: StateFile = match parse_json(&bytes) {
        Ok(f) => f,
        Err(msg) => return error(StatusCode::BAD_REQUEST, msg),
    };
    let mut new_state = match Store::from_file(file) {
        Ok(s) => s,
        Err(msg) => return error(StatusCode::BAD_REQUEST, msg),
    };
    let mut state = shared.write();
    // Accounts stay served even when the new state has nothing in them.
    for id in state.accounts.keys() {
        new_state.accounts.entry(id.clone()).or_default();
    }
    *state = new_state;
    shared.persist(&state);
    let file = state.to_file();
    reply(
        StatusCode::OK,
        serde_json::to_value(&file).unwrap_or_default(),
    )
}

/// RFC 7396 JSON merge patch.
pub(crate) fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    if let Value::Object(t) = target {
        for (k, v) in patch {
            if v.is_null() {
                t.remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

fn not_found(what: &str, acc: &str, id: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        format!("no {what} {id} in account {acc}"),
    )
}

/// What an admin PATCH edits: apps and policies are merged the same way and differ only
/// in where they are stored and how they render.
#[derive(Clone, Copy)]
enum Patched {
    App,
    Policy,
}

impl Patched {
    fn noun(self) -> &'static str {
        match self {
            Self::App => "application",
            Self::Policy => "policy",
        }
    }

    /// Merges `patch` into object `id` and returns its GET form; `None` when it is unknown.
    fn apply(self, account: &mut Account, id: &str, patch: &Value) -> Option<Value> {
        let merge = |v: &mut Value| merge_patch(v, patch);
        let found = match self {
            Self::App => account.mutate_app(id, merge),
            Self::Policy => account.mutate_policy(id, merge),
        };
        let rendered = match self {
            Self::App => account.apps.get(id).map(|a| account.render_app(a)),
            Self::Policy => account.policies.get(id).map(|p| account.render_policy(p)),
        };
        found.then(|| rendered.unwrap_or_default())
    }
}

/// `PATCH /accounts/{acc}/{apps,policies}/{id}`: a JSON merge patch applied out of band.
async fn patch_object(
    what: Patched,
    State(shared): S,
    Path((acc, id)): Path<(String, String)>,
    bytes: Bytes,
) -> Response {
    let patch: Value = match parse_json(&bytes) {
        Ok(p) => p,
        Err(msg) => return error(StatusCode::BAD_REQUEST, msg),
    };
    let mut state = shared.write();
    let Some(account) = state.account_mut(&acc) else {
        return not_found("account", &acc, &acc);
    };
    let Some(body) = what.apply(account, &id, &patch) else {
        return not_found(what.noun(), &acc, &id);
    };
    shared.persist(&state);
    reply(StatusCode::OK, body)
}

async fn delete_app(State(shared): S, Path((acc, id)): Path<(String, String)>) -> Response {
    let mut state = shared.write();
    let deleted = state
        .account_mut(&acc)
        .is_some_and(|a| a.delete_app(&id).is_ok());
    if !deleted {
        return not_found("application", &acc, &id);
    }
    shared.persist(&state);
    reply(StatusCode::OK, json!({"deleted": id}))
}

async fn delete_policy(State(shared): S, Path((acc, id)): Path<(String, String)>) -> Response {
    let mut state = shared.write();
    let deleted = state
        .account_mut(&acc)
        .is_some_and(|a| a.delete_policy_out_of_band(&id));
    if !deleted {
        return not_found("policy", &acc, &id);
    }
    shared.persist(&state);
    reply(StatusCode::OK, json!({"deleted": id}))
}

#[derive(Debug, Deserialize)]
struct AttachmentRequest {
    id: String,
    precedence: u32,
}

async fn put_attachments(
    State(shared): S,
    Path((acc, id)): Path<(String, String)>,
    bytes: Bytes,
) -> Response {
    let links: Vec<AttachmentRequest> = match parse_json(&bytes) {
        Ok(l) => l,
        Err(msg) => return error(StatusCode::BAD_REQUEST, msg),
    };
    let links = links.into_iter().map(|l| (l.id, l.precedence)).collect();
    let mut state = shared.write();
    let Some(account) = state.account_mut(&acc) else {
        return not_found("account", &acc, &acc);
    };
    if !account.set_attachments(&id, links) {
        return error(
            StatusCode::BAD_REQUEST,
            format!("application {id} or one of the policies does not exist"),
        );
    }
    let body = account
        .apps
        .get(&id)
        .map(|a| account.render_app(a))
        .unwrap_or_default();
    shared.persist(&state);
    reply(StatusCode::OK, body)
}

/// `{app_id, email, ttl_secs?}`: an RS256 user JWT for that app, as Access issues it
/// after login (for a SaaS OIDC app: the OAuth access token, `aud` = its `client_id`).
#[derive(Debug, Deserialize)]
struct LoginRequest {
    app_id: String,
    email: String,
    ttl_secs: Option<i64>,
}

async fn edge_login(State(shared): S, bytes: Bytes) -> Response {
    let req: LoginRequest = match parse_json(&bytes) {
        Ok(r) => r,
        Err(msg) => return error(StatusCode::BAD_REQUEST, msg),
    };
    if !req.email.contains('@') {
        return error(StatusCode::BAD_REQUEST, "email must be an e-mail address");
    }
    let audience = {
        let state = shared.read();
        match state.find_app(&req.app_id) {
            Some((_, app)) => app.token_audience().map(str::to_string),
            None => {
                return error(
                    StatusCode::NOT_FOUND,
                    format!("no application {}", req.app_id),
                );
            }
        }
    };
    let Some(audience) = audience else {
        return error(StatusCode::CONFLICT, "the application has no audience");
    };
    let signer = match shared.signer() {
        Ok(s) => s,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e),
    };
    let now = unix_now();
    let ttl = req.ttl_secs.unwrap_or(3600);
    let exp = now + ttl;
    let nbf = if ttl > 0 { now } else { exp - 3600 };
    let claims = json!({
        "aud": [audience],
        "email": req.email,
        "sub": crate::edge::subject_for(&req.email),
        "iss": ISSUER,
        "iat": nbf.min(now),
        "nbf": nbf,
        "exp": exp,
        "type": "app",
        "identity_nonce": crate::ids::random_hex(8),
        "country": "XX",
    });
    match signer.sign(&claims) {
        Ok(token) => reply(StatusCode::OK, json!({"token": token, "claims": claims})),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

async fn edge_check_rest(
    s: S,
    Path((app_id, _rest)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    edge_decide(s, app_id, headers)
}

async fn edge_check(s: S, Path(app_id): Path<String>, headers: HeaderMap) -> Response {
    edge_decide(s, app_id, headers)
}

fn edge_decide(State(shared): S, app_id: String, headers: HeaderMap) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let token = header("cf-access-token")
        .filter(|t| !t.is_empty())
        .or_else(|| {
            header("authorization")
                .and_then(|v| v.split_once(' '))
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, t)| t.trim())
        });
    let signer = match shared.signer() {
        Ok(s) => s,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e),
    };
    let state = shared.read();
    let Some((acc, app)) = state.find_app(&app_id) else {
        return reply(
            StatusCode::NOT_FOUND,
            EdgeDecision::Denied {
                reason: format!("unknown application {app_id}"),
            }
            .to_json(&app_id),
        );
    };
    let decision = evaluate(acc, app, token, signer);
    let status = match decision {
        EdgeDecision::Allowed { .. } => StatusCode::OK,
        EdgeDecision::Denied { .. } => StatusCode::FORBIDDEN,
    };
    reply(status, decision.to_json(&app_id))
}

/// `GET /cdn-cgi/access/certs`: the edge's signing keys as a JWKS.
pub(crate) async fn certs(State(shared): S) -> Response {
    match shared.signer() {
        Ok(s) => reply(StatusCode::OK, json!({"keys": [s.jwk()]})),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}
