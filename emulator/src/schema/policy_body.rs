//! Request bodies of reusable (and app-scoped) Access policies (spec §3.2).

use serde_json::{Map, Value, json};

use super::fields::{Kind, copy_known, default};
use super::rules::validate_rule_list;
use crate::envelope::{ApiError, codes};

/// Allowed `decision` values.
pub(crate) const DECISIONS: &[&str] = &["allow", "deny", "non_identity", "bypass"];

/// Settable policy fields other than the rule lists, with their types.
const SETTABLE: &[(&str, Kind)] = &[
    ("session_duration", Kind::Duration),
    ("approval_required", Kind::Bool),
    ("approval_groups", Kind::Array),
    ("isolation_required", Kind::Bool),
    ("purpose_justification_required", Kind::Bool),
    ("purpose_justification_prompt", Kind::Str),
    ("mfa_config", Kind::Object),
    ("connection_rules", Kind::Object),
];

/// A validated policy body: its stored fields (defaults filled, unknown keys dropped)
/// and the `app_uid`s its `linked_app_token` rules name.
#[derive(Debug, Clone)]
pub(crate) struct PolicyBody {
    pub fields: Map<String, Value>,
    pub linked_app_uids: Vec<String>,
}

/// Validates a policy request body. Account-level checks (the linked app exists) are
/// the caller's.
pub(crate) fn normalize_policy(body: &Map<String, Value>) -> Result<PolicyBody, ApiError> {
    let mut fields = Map::new();
    match body.get("name") {
        Some(Value::String(s)) if !s.trim().is_empty() => {
            fields.insert("name".into(), json!(s));
        }
        Some(Value::String(_)) => return Err(ApiError::invalid("name: must not be empty")),
        Some(v) if !v.is_null() => return Err(ApiError::invalid("name: must be a string")),
        _ => return Err(ApiError::invalid("name is required")),
    }
    let decision = match body.get("decision") {
        Some(Value::String(d)) if DECISIONS.contains(&d.as_str()) => d.clone(),
        Some(Value::String(d)) => {
            return Err(ApiError::invalid(format!(
                "decision: '{d}' is not one of allow, deny, non_identity, bypass"
            )));
        }
        Some(v) if !v.is_null() => return Err(ApiError::invalid("decision: must be a string")),
        _ => return Err(ApiError::invalid("decision is required")),
    };
    fields.insert("decision".into(), json!(decision));

    let mut linked_app_uids = Vec::new();
    match body.get("include") {
        Some(v) if !v.is_null() => {
            linked_app_uids.extend(validate_rule_list("include", v)?);
            if v.as_array().is_some_and(Vec::is_empty) {
                return Err(ApiError::invalid("include: at least one rule is required"));
            }
            fields.insert("include".into(), v.clone());
        }
        _ => return Err(ApiError::invalid("include is required")),
    }
    for list in ["exclude", "require"] {
        let value = match body.get(list) {
            Some(v) if !v.is_null() => {
                linked_app_uids.extend(validate_rule_list(list, v)?);
                v.clone()
            }
            _ => json!([]),
        };
        fields.insert(list.into(), value);
    }
    if !linked_app_uids.is_empty() && decision != "non_identity" {
        return Err(ApiError::bad_request(
            codes::LINKED_APP_TOKEN_DECISION,
            "linked_app_token rules require decision non_identity",
        ));
    }

    copy_known(body, SETTABLE, &mut fields)?;
    if let Some(groups) = fields.get("approval_groups").and_then(Value::as_array) {
        for (i, g) in groups.iter().enumerate() {
            let ok = g
                .get("approvals_needed")
                .and_then(Value::as_f64)
                .is_some_and(|n| n >= 0.0);
            if !ok {
                return Err(ApiError::invalid(format!(
                    "approval_groups[{i}].approvals_needed is required and must be >= 0"
                )));
            }
        }
    }
    // §9: the booleans read back as false; session_duration is deliberately not
    // defaulted (§11 #7).
    for flag in [
        "approval_required",
        "isolation_required",
        "purpose_justification_required",
    ] {
        default(&mut fields, flag, json!(false));
    }
    Ok(PolicyBody {
        fields,
        linked_app_uids,
    })
}

/// `app_uid`s named by `linked_app_token` rules of stored policy fields.
pub(crate) fn linked_app_uids(fields: &Map<String, Value>) -> Vec<String> {
    ["include", "exclude", "require"]
        .iter()
        .filter_map(|k| fields.get(*k).and_then(Value::as_array))
        .flatten()
        .filter_map(|rule| rule.get("linked_app_token")?.get("app_uid")?.as_str())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn fills_defaults_and_drops_unknown_keys() {
        let body = normalize_policy(&obj(json!({
            "name": "p", "decision": "allow",
            "include": [{"everyone": {}}], "surprise": true
        })))
        .unwrap();
        assert_eq!(
            Value::Object(body.fields),
            json!({
                "name": "p", "decision": "allow", "include": [{"everyone": {}}],
                "exclude": [], "require": [], "approval_required": false,
                "isolation_required": false, "purpose_justification_required": false
            })
        );
    }

    #[test]
    fn session_duration_only_when_sent() {
        let base = json!({"name": "p", "decision": "allow", "include": [{"everyone": {}}]});
        let without = normalize_policy(&obj(base.clone())).unwrap();
        assert!(!without.fields.contains_key("session_duration"));
        let mut with = base;
        with["session_duration"] = json!("30m");
        let with = normalize_policy(&obj(with)).unwrap();
        assert_eq!(with.fields["session_duration"], json!("30m"));
    }

    #[test]
    fn linked_app_token_requires_non_identity() {
        let rule =
            json!([{"linked_app_token": {"app_uid": "6cdc3892-f9f1-4813-a5ce-38c2753e1208"}}]);
        let err = normalize_policy(&obj(
            json!({"name": "p", "decision": "allow", "include": rule}),
        ))
        .unwrap_err();
        assert_eq!(err.code, codes::LINKED_APP_TOKEN_DECISION);
        let ok = normalize_policy(&obj(
            json!({"name": "p", "decision": "non_identity", "include": rule}),
        ))
        .unwrap();
        assert_eq!(
            ok.linked_app_uids,
            vec!["6cdc3892-f9f1-4813-a5ce-38c2753e1208"]
        );
        assert_eq!(linked_app_uids(&ok.fields), ok.linked_app_uids);
    }

    #[test]
    fn required_fields() {
        for body in [
            json!({"decision": "allow", "include": [{"everyone": {}}]}),
            json!({"name": "p", "include": [{"everyone": {}}]}),
            json!({"name": "p", "decision": "allow"}),
            json!({"name": "p", "decision": "allow", "include": []}),
            json!({"name": "p", "decision": "maybe", "include": [{"everyone": {}}]}),
            json!({"name": "p", "decision": "allow", "include": [{"everyone": {}}], "session_duration": "1 day"}),
        ] {
            assert_eq!(
                normalize_policy(&obj(body.clone())).unwrap_err().code,
                19000,
                "{body}"
            );
        }
    }
}
