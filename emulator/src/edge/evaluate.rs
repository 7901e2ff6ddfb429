//! The policy decision for one request to a protected app.

use serde_json::{Map, Value, json};

use super::Signer;
use crate::store::{Account, App};

/// What the edge answers: admitted (with the policy that admitted it) or refused.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum EdgeDecision {
    Allowed {
        email: Option<String>,
        sub: Option<String>,
        policy_id: String,
        policy_name: String,
        decision: String,
    },
    Denied {
        reason: String,
    },
}

impl EdgeDecision {
    pub fn to_json(&self, app_id: &str) -> Value {
        match self {
            EdgeDecision::Allowed {
                email,
                sub,
                policy_id,
                policy_name,
                decision,
            } => json!({
                "allowed": true, "app_id": app_id, "email": email, "sub": sub,
                "via": policy_id, "policy_name": policy_name, "decision": decision,
            }),
            EdgeDecision::Denied { reason } => {
                json!({"allowed": false, "app_id": app_id, "reason": reason})
            }
        }
    }
}

/// Decides like Access: Bypass and Service Auth (`non_identity`) policies first, then
/// Block/Allow, each group by precedence. Only self-hosted apps are protected here.
pub(crate) fn evaluate(
    acc: &Account,
    app: &App,
    token: Option<&str>,
    signer: &Signer,
) -> EdgeDecision {
    let deny = |reason: String| EdgeDecision::Denied { reason };
    let app_id = app.str_field("id").unwrap_or_default();
    if app.app_type() != "self_hosted" {
        return deny(format!(
            "application {app_id} is of type {}; the Linked App Token check applies only to self_hosted applications",
            app.app_type()
        ));
    }
    let attached: Vec<&Map<String, Value>> = app
        .links
        .iter()
        .filter_map(|l| acc.policies.get(&l.id).or_else(|| app.scoped.get(&l.id)))
        .collect();
    if attached.is_empty() {
        return deny(format!(
            "no Access policy is attached to application {app_id}"
        ));
    }
    let verified = token.map(|t| signer.verify(t));
    let claims = match &verified {
        Some(Ok(c)) => Some(c),
        _ => None,
    };
    let own_aud = app.str_field("aud").unwrap_or_default();
    let identity = claims.filter(|c| audiences(c).contains(&own_aud));
    let decision_of = |p: &Map<String, Value>| {
        p.get("decision")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let allow = |p: &Map<String, Value>| EdgeDecision::Allowed {
        email: claims
            .and_then(|c| c.get("email"))
            .and_then(Value::as_str)
            .map(str::to_string),
        sub: claims
            .and_then(|c| c.get("sub"))
            .and_then(Value::as_str)
            .map(str::to_string),
        policy_id: p
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        policy_name: p
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        decision: decision_of(p),
    };

    for p in attached
        .iter()
        .filter(|p| matches!(decision_of(p).as_str(), "bypass" | "non_identity"))
    {
        let ctx = if decision_of(p) == "bypass" {
            Ctx::Bypass(identity)
        } else {
            Ctx::Service(claims)
        };
        if policy_matches(acc, p, ctx) {
            return allow(p);
        }
    }
    for p in attached
        .iter()
        .filter(|p| matches!(decision_of(p).as_str(), "deny" | "allow"))
    {
        if policy_matches(acc, p, Ctx::Identity(identity)) {
            if decision_of(p) == "deny" {
                return deny(format!(
                    "denied by Block policy '{}' ({})",
                    p.get("name").and_then(Value::as_str).unwrap_or_default(),
                    p.get("id").and_then(Value::as_str).unwrap_or_default()
                ));
            }
            return allow(p);
        }
    }

    match verified {
        None => deny(
            "missing token: send the user's Access JWT in Cf-Access-Token (self-hosted MCP server) or Authorization: Bearer (SaaS MCP server)".into(),
        ),
        Some(Err(reason)) => deny(reason),
        Some(Ok(c)) => {
            let auds = audiences(&c).join(", ");
            let linked: Vec<String> = attached
                .iter()
                .filter(|p| decision_of(p) == "non_identity")
                .flat_map(|p| crate::schema::policy_body::linked_app_uids(p))
                .collect();
            if linked.is_empty() {
                deny(format!(
                    "token for app not linked: no attached non_identity policy of application {app_id} has a linked_app_token rule (token audience {auds})"
                ))
            } else {
                deny(format!(
                    "token for app not linked: token audience {auds} belongs to none of the linked applications {}",
                    linked.join(", ")
                ))
            }
        }
    }
}

/// Who is asking, as far as a rule can see.
#[derive(Clone, Copy)]
enum Ctx<'a> {
    /// Bypass: `everyone` matches without any token.
    Bypass(Option<&'a Map<String, Value>>),
    /// Service Auth: any valid token of this edge.
    Service(Option<&'a Map<String, Value>>),
    /// Allow/Block: a valid token issued for this very app.
    Identity(Option<&'a Map<String, Value>>),
}

impl<'a> Ctx<'a> {
    fn claims(self) -> Option<&'a Map<String, Value>> {
        match self {
            Ctx::Bypass(c) | Ctx::Service(c) | Ctx::Identity(c) => c,
        }
    }
}

fn audiences(claims: &Map<String, Value>) -> Vec<&str> {
    match claims.get("aud") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn rules(p: &Map<String, Value>, key: &str) -> Vec<Value> {
    p.get(key)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn policy_matches(acc: &Account, p: &Map<String, Value>, ctx: Ctx<'_>) -> bool {
    let include = rules(p, "include");
    let require = rules(p, "require");
    let exclude = rules(p, "exclude");
    include.iter().any(|r| rule_matches(acc, r, ctx))
        && require.iter().all(|r| rule_matches(acc, r, ctx))
        && !exclude.iter().any(|r| rule_matches(acc, r, ctx))
}

/// Rules the emulator can evaluate; every other rule type never matches.
fn rule_matches(acc: &Account, rule: &Value, ctx: Ctx<'_>) -> bool {
    let Some((key, inner)) = rule.as_object().and_then(|o| o.iter().next()) else {
        return false;
    };
    let claims = ctx.claims();
    let email = claims
        .and_then(|c| c.get("email"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let inner_str = |k: &str| inner.get(k).and_then(Value::as_str).unwrap_or_default();
    match key.as_str() {
        "everyone" => matches!(ctx, Ctx::Bypass(_)) || claims.is_some(),
        "email" => claims.is_some() && email.eq_ignore_ascii_case(inner_str("email")),
        "email_domain" => {
            let domain = inner_str("domain")
                .trim_start_matches('@')
                .to_ascii_lowercase();
            claims.is_some() && email.to_ascii_lowercase().ends_with(&format!("@{domain}"))
        }
        "linked_app_token" => {
            let Some(c) = claims else { return false };
            let source = acc.apps.get(inner_str("app_uid"));
            source
                .and_then(App::token_audience)
                .is_some_and(|aud| audiences(c).contains(&aud))
        }
        _ => false,
    }
}
