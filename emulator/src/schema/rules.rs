//! Access rules (elements of `include`, `exclude`, `require`): each is an object with
//! exactly one known key (spec §3.3).

use serde_json::Value;

use crate::envelope::{ApiError, codes};

/// Rule key → inner fields that must be present. IdP-scoped rules additionally need
/// `identity_provider_id` (current name) or `connection_id` (2024 name).
const RULES: &[(&str, &[&str], bool)] = &[
    ("linked_app_token", &["app_uid"], false),
    ("service_token", &["token_id"], false),
    ("any_valid_service_token", &[], false),
    ("everyone", &[], false),
    ("email", &["email"], false),
    ("email_domain", &["domain"], false),
    ("email_list", &["id"], false),
    ("group", &["id"], false),
    ("ip", &["ip"], false),
    ("ip_list", &["id"], false),
    ("geo", &["country_code"], false),
    ("certificate", &[], false),
    ("common_name", &["common_name"], false),
    ("device_posture", &["integration_uid"], false),
    ("auth_method", &["auth_method"], false),
    ("login_method", &["id"], false),
    ("auth_context", &["id", "ac_id"], true),
    ("azureAD", &["id"], true),
    ("github-organization", &["name"], true),
    ("gsuite", &["email"], true),
    ("okta", &[], true),
    ("saml", &["attribute_name", "attribute_value"], false),
    (
        "oidc",
        &["claim_name", "claim_value", "identity_provider_id"],
        false,
    ),
    ("external_evaluation", &["evaluate_url", "keys_url"], false),
    ("user_risk_score", &["user_risk_score"], false),
    ("cloudflare_account_member", &[], false),
];

fn rule_error(message: String) -> ApiError {
    ApiError::bad_request(
        codes::INVALID_RULE,
        format!("access.api.error.invalid_rule: {message}"),
    )
}

/// Validates one rule list (`include`, `exclude` or `require`) and returns the
/// `app_uid`s of its `linked_app_token` rules.
pub(crate) fn validate_rule_list(list_name: &str, value: &Value) -> Result<Vec<String>, ApiError> {
    let Some(items) = value.as_array() else {
        return Err(ApiError::invalid(format!(
            "{list_name}: must be an array of rules"
        )));
    };
    let mut linked = Vec::new();
    for (i, rule) in items.iter().enumerate() {
        let at = format!("{list_name}[{i}]");
        let Some(obj) = rule.as_object() else {
            return Err(rule_error(format!("{at}: a rule must be an object")));
        };
        if obj.len() != 1 {
            return Err(rule_error(format!(
                "{at}: a rule must have exactly one key, found {}",
                obj.len()
            )));
        }
        let Some((key, inner)) = obj.iter().next() else {
            return Err(rule_error(format!("{at}: empty rule")));
        };
        let Some((_, required, idp_scoped)) = RULES.iter().find(|(k, _, _)| k == key) else {
            return Err(rule_error(format!("{at}: unknown rule type '{key}'")));
        };
        let Some(inner) = inner.as_object() else {
            return Err(rule_error(format!("{at}.{key}: must be an object")));
        };
        for field in *required {
            match inner.get(*field) {
                Some(v) if !v.is_null() => {}
                _ => return Err(rule_error(format!("{at}.{key}.{field} is required"))),
            }
        }
        if *idp_scoped
            && !["identity_provider_id", "connection_id"]
                .iter()
                .any(|f| inner.get(*f).is_some_and(|v| !v.is_null()))
        {
            return Err(rule_error(format!(
                "{at}.{key}.identity_provider_id is required"
            )));
        }
        if key == "linked_app_token" {
            match inner.get("app_uid").and_then(Value::as_str) {
                Some(uid) => linked.push(uid.to_string()),
                None => {
                    return Err(rule_error(format!(
                        "{at}.linked_app_token.app_uid must be a string"
                    )));
                }
            }
        }
    }
    Ok(linked)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accepts_known_rules_and_collects_linked_apps() {
        let rules = json!([
            {"linked_app_token": {"app_uid": "6cdc3892-f9f1-4813-a5ce-38c2753e1208"}},
            {"email_domain": {"domain": "example.com"}},
            {"everyone": {}},
            {"okta": {"identity_provider_id": "x", "name": "g"}},
            {"gsuite": {"connection_id": "x", "email": "g@example.com"}},
        ]);
        let linked = validate_rule_list("include", &rules).unwrap();
        assert_eq!(
            linked,
            vec!["6cdc3892-f9f1-4813-a5ce-38c2753e1208".to_string()]
        );
    }

    #[test]
    fn refuses_bad_rules_with_19007() {
        for bad in [
            json!([{"bogus": {}}]),
            json!([{"email": {"email": "a@b.c"}, "everyone": {}}]),
            json!([{}]),
            json!(["everyone"]),
            json!([{"email": {}}]),
            json!([{"okta": {"name": "g"}}]),
            json!([{"linked_app_token": {"app_uid": 5}}]),
        ] {
            let err = validate_rule_list("include", &bad).unwrap_err();
            assert_eq!(err.code, codes::INVALID_RULE, "{bad}");
        }
        assert_eq!(
            validate_rule_list("include", &json!({})).unwrap_err().code,
            codes::INVALID_REQUEST
        );
    }
}
