//! The schema, the model and the pure functions: no emulator.

use super::*;
use crate::resources::linked_app_policy::checks::{PlannedSets, WritePlan};
use crate::resources::linked_app_policy::policy::{
    import_refusal, linked_uids_of, session_from_api,
};
use crate::resources::linked_app_policy::state::sorted_set;
use crate::resources::linked_app_policy::validate;
use crate::tfplugin::Field;
use crate::tfplugin::bridge::{TfValue, check_against_schema};

#[test]
fn schema_is_consistent() {
    assert_eq!(schema().internal_problems(), Vec::<String>::new());
    let s = schema();
    let replace: Vec<&str> = s
        .attributes
        .iter()
        .filter(|a| a.requires_replace())
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(replace, vec![attr::ACCOUNT_ID]);
    assert!(
        !s.attribute(attr::SESSION_DURATION)
            .is_some_and(|a| a.mode.computed()),
        "never defaulted"
    );
}

#[test]
fn the_model_matches_the_schema() {
    assert_eq!(check_against_schema::<Model>(&schema()), Ok(()));
}

fn policy(v: serde_json::Value) -> crate::cloudflare::Policy {
    serde_json::from_value(v).unwrap()
}

#[test]
fn session_duration_normalisation() {
    assert_eq!(session_from_api(None, None), None);
    assert_eq!(
        session_from_api(Some("24h"), None),
        None,
        "removed in the dashboard: drift"
    );
    assert_eq!(
        session_from_api(None, Some("24h")),
        None,
        "the API default is not drift"
    );
    assert_eq!(session_from_api(None, Some("12h")), Some("12h".into()));
    assert_eq!(
        session_from_api(Some("1440m"), Some("24h")),
        Some("1440m".into())
    );
    assert_eq!(
        session_from_api(Some("24h"), Some("12h")),
        Some("12h".into())
    );
}

#[test]
fn foreign_rules_and_decisions_never_look_like_our_configuration() {
    let ours = policy(json!({"id": "p", "name": "n", "decision": "non_identity",
        "include": [{"linked_app_token": {"app_uid": "b"}}, {"linked_app_token": {"app_uid": "a"}}]}));
    assert_eq!(linked_uids_of(&ours), set(&["a", "b"]));
    assert_eq!(import_refusal(&ours), None);

    let extra = policy(json!({"id": "p", "decision": "non_identity",
        "include": [{"linked_app_token": {"app_uid": "a"}}, {"everyone": {}}],
        "require": [{"email_domain": {"domain": "example.com"}}]}));
    let uids = linked_uids_of(&extra);
    assert_eq!(uids.len(), 3);
    assert!(
        uids.contains("unmanaged include rule: {\"everyone\":{}}"),
        "{uids:?}"
    );
    assert!(uids.iter().any(|u| u.starts_with("unmanaged require rule")));
    let why = import_refusal(&extra).unwrap();
    assert!(
        why.contains("include everyone") && why.contains("require email_domain"),
        "{why}"
    );

    let allow = policy(json!({"id": "p", "decision": "allow",
        "include": [{"linked_app_token": {"app_uid": "a"}}]}));
    assert!(import_refusal(&allow).unwrap().contains("\"allow\""));
}

#[test]
fn request_body_is_exact_and_keeps_unmanaged_fields() {
    let model = Model {
        name: "n".into(),
        linked_app_uids: Field::Known(["b", "a"].iter().map(|s| s.to_string()).collect()),
        ..Default::default()
    };
    let body = model.policy_body(None).to_value();
    assert_eq!(
        body,
        json!({"name": "n", "decision": "non_identity",
            "include": [{"linked_app_token": {"app_uid": "a"}}, {"linked_app_token": {"app_uid": "b"}}],
            "exclude": [], "require": []})
    );
    let current = policy(json!({"id": "p", "name": "old", "decision": "allow",
        "include": [{"everyone": {}}], "exclude": [{"ip": {"ip": "10.0.0.0/8"}}],
        "session_duration": "12h", "approval_required": true, "app_count": 3}));
    let body = Model {
        session_duration: "30m".into(),
        ..model
    }
    .policy_body(Some(&current))
    .to_value();
    assert_eq!(body["approval_required"], json!(true));
    assert_eq!(body["exclude"], json!([]));
    assert_eq!(body["session_duration"], json!("30m"));
    assert!(body.get("app_count").is_none());
}

#[test]
fn write_plan_checks_only_what_changes() {
    let state = Model {
        id: "me".into(),
        target_app_ids: sorted_set(["t1", "t2"]),
        linked_app_uids: sorted_set(["l1"]),
        precedence: Field::Known(5),
        ..Default::default()
    };
    // The planned targets hold an element unknown until apply: the known ones count.
    let raw = Value::object([
        (
            attr::TARGET_APP_IDS,
            Value::Set(vec![
                Value::string("t1"),
                Value::string("t3"),
                Value::Unknown,
            ]),
        ),
        (attr::LINKED_APP_UIDS, Value::string_set(["l1", "l2"])),
        (attr::PRECEDENCE, Value::int(5)),
    ]);
    let sets = planned_sets(&raw);
    assert_eq!(sets.targets, set(&["t1", "t3"]));
    let w = WritePlan::between(Some(&state), &sets, Some(5));
    assert_eq!(w.new_targets, vec!["t3"]);
    assert_eq!(w.precedence_targets, vec!["t3"]);
    assert_eq!(w.new_linked, vec!["l2".to_string()]);
    assert_eq!(w.own_id.as_ref().map(|id| id.as_str()), Some("me"));

    let w = WritePlan::between(Some(&state), &sets, Some(6));
    assert_eq!(w.precedence_targets, vec!["t1", "t3"]);

    let w = WritePlan::between(None, &PlannedSets::of(&state), Some(5));
    assert_eq!(w.new_targets.len(), 2);
    assert_eq!(w.own_id, None);

    // Omitted in the configuration, the planned (computed) value is the
    // provider's: it is never a position to check or write.
    let w = WritePlan::between(Some(&state), &sets, None);
    assert!(w.precedence_targets.is_empty());
    assert_eq!(w.precedence, None);
}

/// The planned sets of the raw planned object `raw`.
fn planned_sets(raw: &Value) -> PlannedSets {
    let planned = Model::from_value(raw).expect("decodes");
    assert!(planned.target_app_ids.is_unknown());
    PlannedSets::known_in(&planned, raw)
}

#[test]
fn decision_and_precedence_validators() {
    let mut d = Diagnostics::new();
    validate::decision(
        &Value::string("non_identity"),
        &AttributePath::root("decision"),
        &mut d,
    );
    assert!(d.is_empty());
    validate::decision(
        &Value::string("allow"),
        &AttributePath::root("decision"),
        &mut d,
    );
    assert!(d.iter().next().unwrap().detail.contains("Service Auth"));
    let mut d = Diagnostics::new();
    let path = AttributePath::root("precedence");
    validate::precedence_integer(&Value::int(3), &path, &mut d);
    assert!(d.is_empty());
    validate::precedence_integer(&Value::Number(Number::parse("2.5").unwrap()), &path, &mut d);
    validate::precedence_integer(
        &Value::Number(Number::parse("99999999999").unwrap()),
        &path,
        &mut d,
    );
    assert_eq!(d.0.len(), 2);
}

#[test]
fn model_round_trips_and_states_are_settled() {
    let m = Model {
        id: "i".into(),
        name: "n".into(),
        linked_app_uids: sorted_set(["a"]),
        target_app_ids: sorted_set(Vec::<String>::new()),
        precedence: Field::Known(3),
        decision: NON_IDENTITY.into(),
        session_duration: Field::Null,
        account_id: "acc".into(),
        app_count: Field::Known(0),
    };
    assert_eq!(Model::from_value(&m.to_value()).unwrap(), m);
    // A state holds no unknown, and its sets are sorted.
    let planned = Model {
        linked_app_uids: Field::Known(vec!["b".to_string(), "a".to_string()].into()),
        precedence: Field::Unknown,
        ..m.clone()
    };
    let settled = planned.settled();
    assert_eq!(settled.precedence, Field::Null);
    assert_eq!(settled.linked_app_uids, sorted_set(["a", "b"]));
    assert_eq!(
        settled.to_value().get(attr::LINKED_APP_UIDS),
        Some(&Value::string_set(["a", "b"]))
    );
}
