//! Scaffolding shared by this resource's test modules.
use super::super::*;
use crate::tfplugin::plan::{fill_nulls, plan_resource_change};
use crate::tfplugin::validate::validate_config as run_validators;

/// A configuration object: every schema attribute, null unless given.
pub(super) fn config(pairs: Vec<(&str, Value)>) -> Value {
    fill_nulls(&schema(), &Value::object(pairs))
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

/// The plan as the server computes it offline: generic rules, then this resource's.
pub(super) fn plan(prior: &Value, cfg: &Value) -> PlanRequest {
    let (planned, requires_replace) =
        plan_resource_change(&schema(), prior, &proposed(prior, cfg), cfg);
    let mut req = PlanRequest {
        prior: prior.clone(),
        config: cfg.clone(),
        planned,
        requires_replace,
        private: Vec::new(),
    };
    plan_fixed_values(&mut req);
    req
}
