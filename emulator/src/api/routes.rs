//! Routing of `/client/v4` paths to the Access endpoints, and the endpoints themselves.

use axum::http::{Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::{Value, json};

use super::Body;
use super::query::{APP_POLICIES_PER_PAGE, APPS_PER_PAGE, POLICIES_PER_PAGE, Paging, Query};
use crate::envelope::{
    ApiError, ResultInfo, codes, json_response, list_body, list_response, success_body,
};
use crate::ids::{is_hex32, is_object_id};
use crate::shared::Shared;
use crate::store::{Account, App, Origin};

type ApiResult = Result<Response, ApiError>;

fn ok(result: Value) -> ApiResult {
    Ok(json_response(StatusCode::OK, success_body(result)))
}

fn created(result: Value) -> ApiResult {
    Ok(json_response(StatusCode::CREATED, success_body(result)))
}

fn accepted(id: &str) -> ApiResult {
    Ok(json_response(
        StatusCode::ACCEPTED,
        success_body(json!({"id": id})),
    ))
}

fn no_route() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        codes::NO_ROUTE,
        "No route for that URI",
    )
}

fn method_not_allowed(method: &Method) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        codes::METHOD_NOT_ALLOWED,
        format!("Method {method} not allowed for this endpoint"),
    )
}

/// The endpoints an account path can name.
enum Target<'a> {
    Apps,
    App(&'a str),
    AppPolicies(&'a str),
    AppPolicy(&'a str, &'a str),
    Policies,
    Policy(&'a str),
}

pub(super) fn dispatch(shared: &Shared, method: &Method, uri: &Uri, body: &Body) -> ApiResult {
    let path = uri.path();
    let sub = path.strip_prefix(super::PREFIX).unwrap_or_default();
    let segments: Vec<&str> = sub.split('/').filter(|s| !s.is_empty()).collect();
    let (account_id, target) = match segments.as_slice() {
        ["user", "tokens", "verify"] => {
            return match *method {
                Method::GET => ok(json!({"id": "emulator-token", "status": "active"})),
                _ => Err(method_not_allowed(method)),
            };
        }
        ["accounts", acc, "access", rest @ ..] => {
            let target = match rest {
                ["apps"] => Target::Apps,
                ["apps", id] => Target::App(id),
                ["apps", id, "policies"] => Target::AppPolicies(id),
                ["apps", id, "policies", pid] => Target::AppPolicy(id, pid),
                ["policies"] => Target::Policies,
                ["policies", pid] => Target::Policy(pid),
                _ => return Err(no_route()),
            };
            (*acc, target)
        }
        _ => return Err(no_route()),
    };
    // HEAD is answered like GET (the entry point drops the body).
    let method = if *method == Method::HEAD {
        &Method::GET
    } else {
        method
    };
    check_method(method, &target)?;
    for id in ids_of(&target) {
        if !is_object_id(id) {
            return Err(ApiError::invalid_object_id(path));
        }
    }
    let query = Query::parse(uri.query())?;

    if *method == Method::GET {
        let state = shared.read();
        let acc = account(&state, account_id, path)?;
        return read(acc, &target, &query);
    }
    let mut state = shared.write();
    let acc = account_mut(&mut state, account_id, path)?;
    let response = write(acc, method, &target, body)?;
    shared.persist(&state);
    Ok(response)
}

fn ids_of<'a>(target: &Target<'a>) -> Vec<&'a str> {
    match target {
        Target::Apps | Target::Policies => vec![],
        Target::App(id) | Target::AppPolicies(id) | Target::Policy(id) => vec![id],
        Target::AppPolicy(id, pid) => vec![id, pid],
    }
}

fn check_method(method: &Method, target: &Target<'_>) -> Result<(), ApiError> {
    let allowed: &[Method] = match target {
        Target::Apps | Target::Policies | Target::AppPolicies(_) => &[Method::GET, Method::POST],
        Target::App(_) | Target::Policy(_) | Target::AppPolicy(..) => {
            &[Method::GET, Method::PUT, Method::DELETE]
        }
    };
    if allowed.contains(method) {
        Ok(())
    } else {
        Err(method_not_allowed(method))
    }
}

fn account_error(account_id: &str, path: &str) -> ApiError {
    if is_hex32(account_id) {
        ApiError::authentication(Some(&format!(
            "account {account_id} is not accessible with this API token"
        )))
    } else {
        ApiError::invalid_object_id(path)
    }
}

fn account<'s>(
    state: &'s crate::store::State,
    id: &str,
    path: &str,
) -> Result<&'s Account, ApiError> {
    state.account(id).ok_or_else(|| account_error(id, path))
}

fn account_mut<'s>(
    state: &'s mut crate::store::State,
    id: &str,
    path: &str,
) -> Result<&'s mut Account, ApiError> {
    state.account_mut(id).ok_or_else(|| account_error(id, path))
}

/// The items of the page `paging` asks for.
fn page_items<T>(items: impl Iterator<Item = T>, paging: Paging) -> impl Iterator<Item = T> {
    items.skip(paging.offset()).take(paging.per_page)
}

/// S24 `access_result_info`: `total_count` counts results without any search parameters.
fn page_info(paging: Paging, count: usize, total_count: usize) -> ResultInfo {
    ResultInfo {
        page: paging.page,
        per_page: paging.per_page,
        count,
        total_count,
    }
}

/// The `paging` page of `views`; only the views on it are serialised.
fn view_page<V: serde::Serialize>(
    views: impl Iterator<Item = V>,
    paging: Paging,
    total_count: usize,
) -> Response {
    let page: Vec<V> = page_items(views, paging).collect();
    list_response(&page, page_info(paging, page.len(), total_count))
}

fn page_of(items: impl Iterator<Item = Value>, paging: Paging, total_count: usize) -> Value {
    let result: Vec<Value> = page_items(items, paging).collect();
    let info = page_info(paging, result.len(), total_count);
    list_body(result, info)
}

fn read(acc: &Account, target: &Target<'_>, query: &Query) -> ApiResult {
    match target {
        Target::Apps => {
            let paging = query.paging(APPS_PER_PAGE)?;
            let filter = AppFilter::from_query(query)?;
            // Serialise only the requested page, straight from the store.
            let matching = acc.apps.values().filter(|a| filter.matches(a));
            Ok(view_page(
                matching.map(|a| acc.app_view(a)),
                paging,
                acc.apps.len(),
            ))
        }
        Target::App(id) => ok(render_app_by_id(acc, id)?),
        Target::AppPolicies(id) => {
            let paging = query.paging(APP_POLICIES_PER_PAGE)?;
            let all = acc.app_policies(id)?;
            let total = all.len();
            Ok(json_response(
                StatusCode::OK,
                page_of(all.into_iter(), paging, total),
            ))
        }
        Target::AppPolicy(id, pid) => ok(acc.app_policy(id, pid)?),
        Target::Policies => {
            let paging = query.paging(POLICIES_PER_PAGE)?;
            Ok(view_page(
                acc.policies.values().map(|p| acc.policy_view(p)),
                paging,
                acc.policies.len(),
            ))
        }
        Target::Policy(id) => ok(render_policy_by_id(acc, id)?),
    }
}

fn write(acc: &mut Account, method: &Method, target: &Target<'_>, body: &Body) -> ApiResult {
    match (method.as_str(), target) {
        ("POST", Target::Apps) => {
            let made = acc.create_app(body.json()?, Origin::Api)?;
            let mut result = render_app_by_id(acc, &made.id)?;
            if let (Some(secret), Some(saas)) = (made.client_secret, result.get_mut("saas_app")) {
                saas["client_secret"] = json!(secret);
            }
            created(result)
        }
        ("PUT", Target::App(id)) => {
            acc.replace_app(id, body.json()?)?;
            ok(render_app_by_id(acc, id)?)
        }
        ("DELETE", Target::App(id)) => {
            acc.delete_app(id)?;
            accepted(id)
        }
        ("POST", Target::AppPolicies(id)) => {
            let pid = acc.create_scoped_policy(id, body.json()?)?;
            created(acc.app_policy(id, &pid)?)
        }
        ("PUT", Target::AppPolicy(id, pid)) => {
            acc.replace_scoped_policy(id, pid, body.json()?)?;
            ok(acc.app_policy(id, pid)?)
        }
        ("DELETE", Target::AppPolicy(id, pid)) => {
            acc.delete_scoped_policy(id, pid)?;
            accepted(pid)
        }
        ("POST", Target::Policies) => {
            let id = acc.create_policy(body.json()?, Origin::Api)?;
            created(render_policy_by_id(acc, &id)?)
        }
        ("PUT", Target::Policy(id)) => {
            acc.replace_policy(id, body.json()?)?;
            ok(render_policy_by_id(acc, id)?)
        }
        ("DELETE", Target::Policy(id)) => {
            acc.delete_policy(id)?;
            accepted(id)
        }
        _ => Err(method_not_allowed(method)),
    }
}

fn render_app_by_id(acc: &Account, id: &str) -> Result<Value, ApiError> {
    acc.apps
        .get(id)
        .map(|a| acc.render_app(a))
        .ok_or_else(|| ApiError::not_found("application", id))
}

fn render_policy_by_id(acc: &Account, id: &str) -> Result<Value, ApiError> {
    acc.policies
        .get(id)
        .map(|p| acc.render_policy(p))
        .ok_or_else(|| ApiError::not_found("policy", id))
}

/// `name`, `domain`, `aud`, `search` and `exact` of `GET /apps`.
struct AppFilter {
    name: Option<String>,
    domain: Option<String>,
    aud: Option<String>,
    search: Option<String>,
    exact: bool,
}

impl AppFilter {
    fn from_query(q: &Query) -> Result<AppFilter, ApiError> {
        let get = |k: &str| q.get(k).filter(|v| !v.is_empty()).map(str::to_string);
        let exact = q.flag("exact")?;
        let lower = |v: Option<String>| {
            if exact {
                v
            } else {
                v.map(|s| s.to_lowercase())
            }
        };
        Ok(AppFilter {
            name: lower(get("name")),
            domain: lower(get("domain")),
            aud: get("aud"),
            search: get("search").map(|s| s.to_lowercase()),
            exact,
        })
    }

    fn field_matches(&self, wanted: &Option<String>, actual: Option<&str>) -> bool {
        match wanted {
            None => true,
            Some(w) => {
                let actual = actual.unwrap_or_default();
                if self.exact {
                    actual == w
                } else {
                    actual.to_lowercase().contains(w.as_str())
                }
            }
        }
    }

    fn matches(&self, app: &App) -> bool {
        self.field_matches(&self.name, app.str_field("name"))
            && self.field_matches(&self.domain, app.str_field("domain"))
            && self
                .aud
                .as_deref()
                .is_none_or(|aud| app.str_field("aud") == Some(aud))
            && self.search.as_deref().is_none_or(|s| {
                ["name", "domain", "aud", "id"].iter().any(|k| {
                    app.str_field(k)
                        .is_some_and(|v| v.to_lowercase().contains(s))
                })
            })
    }
}
