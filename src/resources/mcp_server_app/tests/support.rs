//! Scaffolding shared by this resource's test modules.
use super::super::*;
use crate::tfplugin::plan::{fill_nulls, plan_resource_change};
use crate::tfplugin::validate::validate_config as run_validators;
use crate::tfplugin::{PlanRequest, Resource, Typed};

/// A configuration object: every schema attribute, null unless given.
pub(super) fn config(pairs: Vec<(&str, Value)>) -> Value {
    fill_nulls(&schema(), &Value::object(pairs))
}

/// A valid `saas` block (one redirect URI, PKCE with refresh tokens, `scopes`), with
/// `pairs` set over it.
pub(super) fn saas_settings(scopes: &[&str], pairs: Vec<(&str, Value)>) -> Value {
    let mut v = Value::object([
        (
            attr::REDIRECT_URIS,
            Value::string_list(["https://mcp.example.com/oauth/callback"]),
        ),
        (
            attr::GRANT_TYPES,
            Value::string_set(["authorization_code_with_pkce", "refresh_tokens"]),
        ),
        (attr::SCOPES, Value::string_set(scopes.iter().copied())),
        (attr::ACCESS_TOKEN_LIFETIME, Value::Null),
        (attr::ALLOW_PKCE_WITHOUT_CLIENT_SECRET, Value::Null),
    ]);
    for (k, x) in pairs {
        v.set(k, x);
    }
    v
}

/// What ValidateResourceConfig reports offline: the generic validators, then this
/// resource's cross-attribute checks.
pub(super) fn all_diags(cfg: &Value) -> Diagnostics {
    let mut d = run_validators(&schema(), cfg);
    validate_config(cfg, &mut d);
    d
}

/// The attribute path of every diagnostic, in order.
pub(super) fn paths(d: &Diagnostics) -> Vec<String> {
    d.iter()
        .map(|x| x.attribute.clone().unwrap_or_default().to_string())
        .collect()
}

/// Terraform's proposed new state (1.0.3 ProposedNew): config, with computed
/// attributes the config leaves null taken from the prior state (`saas`, computed,
/// is taken whole from the config when set).
pub(super) fn proposed(prior: &Value, cfg: &Value) -> Value {
    let mut out = cfg.clone();
    if prior.is_null() {
        return out;
    }
    for a in schema().attributes {
        let c = cfg.get(&a.name).cloned().unwrap_or(Value::Null);
        if a.mode.computed() && c.is_null() {
            out.set(&a.name, prior.get(&a.name).cloned().unwrap_or(Value::Null));
        }
    }
    out
}

/// The plan as the server computes it offline: generic rules, then this resource's
/// (through the framework, with an unconfigured provider: no API checks).
pub(super) fn plan(prior: &Value, cfg: &Value) -> PlanRequest {
    let mut req = plan_request(prior, cfg, Vec::new());
    let resource = Typed(McpServerAppResource::new(Arc::new(ProviderData::new())));
    let mut diags = Diagnostics::new();
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
        .block_on(resource.modify_plan(
            &crate::resources::test_harness::ctx(),
            &mut req,
            &mut diags,
        ));
    assert!(!diags.has_errors(), "{diags:?}");
    req
}

/// The request modify_plan gets: the generic rules' plan of `cfg` over `prior`.
pub(super) fn plan_request(prior: &Value, cfg: &Value, private: Vec<u8>) -> PlanRequest {
    let (planned, requires_replace) =
        plan_resource_change(&schema(), prior, &proposed(prior, cfg), cfg);
    PlanRequest {
        prior: prior.clone(),
        config: cfg.clone(),
        planned,
        requires_replace,
        private,
    }
}

/// Attribute `name` of `v` as a string.
pub(super) fn get_str(v: &Value, name: &str) -> Option<String> {
    v.get(name).and_then(Value::as_str).map(str::to_string)
}

/// The known strings of collection attribute `name` of `v`.
pub(super) fn get_strings(v: &Value, name: &str) -> Option<Vec<String>> {
    v.get(name)
        .filter(|x| x.elements().is_some())
        .map(Value::known_strings)
}

/// The model of `v` (a value of the schema's type).
pub(super) fn model(v: &Value) -> Model {
    Model::from_value(v).expect("value fits the model")
}
