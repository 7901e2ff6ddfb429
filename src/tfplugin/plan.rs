//! The generic half of PlanResourceChange, following terraform-plugin-framework:
//!
//! 1. start from Terraform's proposed new state;
//! 2. on create, and on update when anything changed, computed attributes that the
//!    configuration leaves null become unknown ("known after apply");
//! 3. attribute plan modifiers run: `UseStateForUnknown` puts the prior value back,
//!    `RequiresReplace` records paths whose change replaces the resource.
//!
//! Resource handlers then refine the result in `Resource::modify_plan`.

use std::collections::BTreeMap;

use super::diag::AttributePath;
use super::schema::{AttrType, Attribute, Nesting, PlanModifier, Schema};
use super::value::Value;

/// Plans a change generically. Returns the planned state and the paths that force
/// replacement. A null `proposed` (destroy) plans null.
pub fn plan_resource_change(
    schema: &Schema,
    prior: &Value,
    proposed: &Value,
    config: &Value,
) -> (Value, Vec<AttributePath>) {
    if proposed.is_null() {
        return (Value::Null, Vec::new());
    }
    let mut planned = proposed.clone();
    let creating = prior.is_null();
    let changed = creating || !proposed.semantically_equal(prior);
    if changed {
        mark_computed_nulls_unknown(&schema.attributes, &mut planned, config);
    }
    let mut replace = Vec::new();
    if !creating {
        apply_modifiers(
            &schema.attributes,
            &mut planned,
            prior,
            &AttributePath::default(),
            &mut replace,
        );
    }
    (planned, replace)
}

/// Computed attributes null in config may change at apply: plan them unknown.
fn mark_computed_nulls_unknown(attrs: &[Attribute], planned: &mut Value, config: &Value) {
    for attr in attrs {
        let cfg = config.get(&attr.name).unwrap_or(&Value::Null);
        let Some(slot) = planned.get_mut(&attr.name) else {
            continue;
        };
        if attr.mode.computed() && cfg.is_null() {
            *slot = Value::Unknown;
            continue;
        }
        if let AttrType::Nested {
            nesting: Nesting::Single,
            attributes,
        } = &attr.ty
            && matches!(slot, Value::Object(_))
        {
            mark_computed_nulls_unknown(attributes, slot, cfg);
        }
    }
}

fn apply_modifiers(
    attrs: &[Attribute],
    planned: &mut Value,
    prior: &Value,
    base: &AttributePath,
    replace: &mut Vec<AttributePath>,
) {
    for attr in attrs {
        let path = base.attr(&attr.name);
        let prior_v = prior.get(&attr.name).cloned().unwrap_or(Value::Null);
        let Some(slot) = planned.get_mut(&attr.name) else {
            continue;
        };
        for m in &attr.plan_modifiers {
            match m {
                PlanModifier::UseStateForUnknown => {
                    if slot.is_unknown() && !prior_v.is_null() {
                        *slot = prior_v.clone();
                    }
                }
                PlanModifier::RequiresReplace => {
                    if !slot.semantically_equal(&prior_v) {
                        replace.push(path.clone());
                    }
                }
            }
        }
        if let AttrType::Nested {
            nesting: Nesting::Single,
            attributes,
        } = &attr.ty
            && matches!(slot, Value::Object(_))
            && matches!(prior_v, Value::Object(_))
        {
            apply_modifiers(attributes, slot, &prior_v, &path, replace);
        }
    }
}

/// Completes a partial object so it holds every attribute of the schema: missing
/// attributes become null, recursively inside single nested objects. Used for import
/// results and handler outputs, because the msgpack object encoding needs every key.
pub fn fill_nulls(schema: &Schema, partial: &Value) -> Value {
    fill_attributes(&schema.attributes, partial)
}

fn fill_attributes(attrs: &[Attribute], partial: &Value) -> Value {
    let mut out = BTreeMap::new();
    for attr in attrs {
        let v = partial.get(&attr.name).cloned().unwrap_or(Value::Null);
        let v = match (&attr.ty, v) {
            (
                AttrType::Nested {
                    nesting: Nesting::Single,
                    attributes,
                },
                v @ Value::Object(_),
            ) => fill_attributes(attributes, &v),
            (
                AttrType::Nested {
                    nesting: Nesting::List,
                    attributes,
                },
                Value::List(els),
            ) => Value::List(els.iter().map(|e| fill_attributes(attributes, e)).collect()),
            (
                AttrType::Nested {
                    nesting: Nesting::Set,
                    attributes,
                },
                Value::Set(els),
            ) => Value::Set(els.iter().map(|e| fill_attributes(attributes, e)).collect()),
            (
                AttrType::Nested {
                    nesting: Nesting::Map,
                    attributes,
                },
                Value::Map(m),
            ) => Value::Map(
                m.iter()
                    .map(|(k, e)| (k.clone(), fill_attributes(attributes, e)))
                    .collect(),
            ),
            (_, v) => v,
        };
        out.insert(attr.name.clone(), v);
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tfplugin::schema::{Attribute, Nesting};

    fn schema() -> Schema {
        Schema::new(
            "t",
            vec![
                Attribute::string("id")
                    .computed()
                    .description("d")
                    .plan_modifier(PlanModifier::UseStateForUnknown),
                Attribute::string("name").required().description("d"),
                Attribute::string("account_id")
                    .optional_computed()
                    .description("d")
                    .plan_modifier(PlanModifier::UseStateForUnknown)
                    .plan_modifier(PlanModifier::RequiresReplace),
                Attribute::string("etag").computed().description("d"),
                Attribute::nested(
                    "saas",
                    Nesting::Single,
                    vec![
                        Attribute::string("lifetime")
                            .optional_computed()
                            .description("d"),
                        Attribute::string_list("scopes").optional().description("d"),
                    ],
                )
                .optional()
                .description("d"),
            ],
        )
    }

    fn state(name: &str, account: &str) -> Value {
        Value::object([
            ("id", Value::string("i")),
            ("name", Value::string(name)),
            ("account_id", Value::string(account)),
            ("etag", Value::string("e1")),
            (
                "saas",
                Value::object([
                    ("lifetime", Value::string("5m")),
                    ("scopes", Value::string_list(["openid"])),
                ]),
            ),
        ])
    }

    #[test]
    fn create_marks_computed_unknown() {
        let config = Value::object([
            ("id", Value::Null),
            ("name", Value::string("n")),
            ("account_id", Value::Null),
            ("etag", Value::Null),
            (
                "saas",
                Value::object([("lifetime", Value::Null), ("scopes", Value::Null)]),
            ),
        ]);
        let (planned, replace) = plan_resource_change(&schema(), &Value::Null, &config, &config);
        assert!(replace.is_empty());
        assert_eq!(planned.get("id"), Some(&Value::Unknown));
        assert_eq!(planned.get("account_id"), Some(&Value::Unknown));
        assert_eq!(
            planned.get("saas").and_then(|s| s.get("lifetime")),
            Some(&Value::Unknown)
        );
        assert_eq!(
            planned.get("saas").and_then(|s| s.get("scopes")),
            Some(&Value::Null)
        );
    }

    #[test]
    fn unchanged_update_plans_prior_exactly() {
        let prior = state("n", "a");
        let (planned, replace) = plan_resource_change(&schema(), &prior, &prior, &Value::Null);
        assert_eq!(planned, prior);
        assert!(replace.is_empty());
    }

    #[test]
    fn changed_update_keeps_stable_computed_values() {
        let prior = state("n", "a");
        let proposed = state("m", "a");
        let mut config = proposed.clone();
        for k in ["id", "account_id", "etag"] {
            config.set(k, Value::Null);
        }
        let (planned, replace) = plan_resource_change(&schema(), &prior, &proposed, &config);
        assert_eq!(
            planned.get("id"),
            Some(&Value::string("i")),
            "UseStateForUnknown keeps id"
        );
        assert_eq!(planned.get("account_id"), Some(&Value::string("a")));
        assert_eq!(
            planned.get("etag"),
            Some(&Value::Unknown),
            "unmodified computed becomes unknown"
        );
        assert!(replace.is_empty());
    }

    #[test]
    fn requires_replace_on_change() {
        let prior = state("n", "a");
        let proposed = state("n", "b");
        let (_, replace) = plan_resource_change(&schema(), &prior, &proposed, &proposed);
        assert_eq!(replace, vec![AttributePath::root("account_id")]);
    }

    #[test]
    fn fill_nulls_completes_objects() {
        let partial = Value::object([
            ("id", Value::string("x")),
            ("saas", Value::object([("lifetime", Value::string("5m"))])),
        ]);
        let full = fill_nulls(&schema(), &partial);
        assert_eq!(full.get("name"), Some(&Value::Null));
        assert_eq!(
            full.get("saas").and_then(|s| s.get("scopes")),
            Some(&Value::Null)
        );
    }

    #[test]
    fn destroy_plans_null() {
        let (planned, _) =
            plan_resource_change(&schema(), &state("n", "a"), &Value::Null, &Value::Null);
        assert!(planned.is_null());
    }
}
