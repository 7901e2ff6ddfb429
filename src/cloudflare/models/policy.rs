//! Reusable Access policies (`/accounts/{account_id}/access/policies`).

use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

use super::lenient::{null_as_default, opt_u64};
use super::rule::Rule;
use crate::cloudflare::ids::PolicyId;

/// What a policy does when it matches.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum Decision {
    /// `allow`
    #[default]
    Allow,
    /// `deny` (dashboard: Block)
    Deny,
    /// `non_identity` (dashboard: Service Auth); required by `linked_app_token`.
    NonIdentity,
    /// `bypass`
    Bypass,
    /// A decision this code does not know, kept as sent by the API.
    Other(String),
}

impl Decision {
    /// The wire value.
    pub fn as_str(&self) -> &str {
        match self {
            Decision::Allow => "allow",
            Decision::Deny => "deny",
            Decision::NonIdentity => "non_identity",
            Decision::Bypass => "bypass",
            Decision::Other(other) => other,
        }
    }

    /// Reads a wire value; unknown values become [`Decision::Other`].
    pub fn parse(value: &str) -> Decision {
        match value {
            "allow" => Decision::Allow,
            "deny" => Decision::Deny,
            "non_identity" => Decision::NonIdentity,
            "bypass" => Decision::Bypass,
            other => Decision::Other(other.to_owned()),
        }
    }
}

wire_string!(Decision);

/// A reusable policy as the API returns it.
#[derive(Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Policy {
    /// Policy UUID.
    pub id: PolicyId,
    /// Display name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Decision.
    #[serde(default, deserialize_with = "null_as_default")]
    pub decision: Decision,
    /// Rules of which one must match (OR).
    #[serde(default, deserialize_with = "null_as_default")]
    pub include: Vec<Rule>,
    /// Rules of which none may match.
    #[serde(default, deserialize_with = "null_as_default")]
    pub exclude: Vec<Rule>,
    /// Rules that must all match (AND).
    #[serde(default, deserialize_with = "null_as_default")]
    pub require: Vec<Rule>,
    /// Session duration; `None` when the API returned none (do not assume "24h").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_duration: Option<String>,
    /// Number of applications using the policy (changes when others attach it).
    #[serde(
        default,
        deserialize_with = "opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub app_count: Option<u64>,
    /// `true` for reusable policies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reusable: Option<bool>,
    /// Creation time (RFC 3339), server-set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Last update time (RFC 3339), server-set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// Every other field (`approval_required`, `mfa_config`, …), kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

debug_redacted!(Policy {
    id, name, decision, include, exclude, require, session_duration, app_count, reusable,
    created_at, updated_at,
} redacted { extra });

/// Keys of a policy response that are never part of a request body.
const POLICY_READ_ONLY: &[&str] = &[
    "id",
    "created_at",
    "updated_at",
    "app_count",
    "reusable",
    "precedence",
];

impl Policy {
    /// A request body that re-sends the policy as read: managed fields copied, every
    /// unmanaged field (`approval_groups`, `mfa_config`, …) carried over in `extra`.
    pub fn to_body(&self) -> PolicyBody {
        let mut extra = self.extra.clone();
        for key in POLICY_READ_ONLY {
            extra.remove(*key);
        }
        PolicyBody {
            name: self.name.clone(),
            decision: self.decision.clone(),
            include: self.include.clone(),
            exclude: self.exclude.clone(),
            require: self.require.clone(),
            session_duration: self.session_duration.clone(),
            extra,
        }
    }

    /// True for a Linked App Token policy, the one definition every resource uses:
    /// decision `non_identity` (Service Auth), at least one include rule, every include
    /// rule a `linked_app_token`, and no exclude or require rule. A policy that mixes
    /// in any other rule (a service token, `everyone`, an exclude, …) is a general
    /// purpose Service Auth policy, not one of these.
    pub fn is_linked_app_token(&self) -> bool {
        self.decision == Decision::NonIdentity
            && !self.include.is_empty()
            && self
                .include
                .iter()
                .all(|r| matches!(r, Rule::LinkedAppToken { .. }))
            && self.exclude.is_empty()
            && self.require.is_empty()
    }

    /// True when any rule of the policy is a `linked_app_token` rule. Not an ownership
    /// test (see [`Policy::is_linked_app_token`]): Cloudflare applies such a rule only
    /// on self-hosted applications, whatever else the policy holds.
    pub fn has_linked_app_token_rule(&self) -> bool {
        self.include
            .iter()
            .chain(&self.exclude)
            .chain(&self.require)
            .any(|r| matches!(r, Rule::LinkedAppToken { .. }))
    }

    /// True when the rules and decision of `body` are what this policy holds (used to
    /// recognise our own object after an ambiguous create).
    pub fn matches_body(&self, body: &PolicyBody) -> bool {
        self.name == body.name
            && self.decision == body.decision
            && self.include == body.include
            && self.exclude == body.exclude
            && self.require == body.require
    }
}

/// Body of `POST` / `PUT /access/policies` (PUT is a full replacement).
#[derive(Clone, PartialEq, Default, Serialize)]
pub struct PolicyBody {
    /// Display name.
    pub name: String,
    /// Decision.
    pub decision: Decision,
    /// Rules of which one must match.
    pub include: Vec<Rule>,
    /// Rules of which none may match (always sent, `[]` when empty).
    pub exclude: Vec<Rule>,
    /// Rules that must all match (always sent, `[]` when empty).
    pub require: Vec<Rule>,
    /// Session duration; the key is omitted when `None` so the API keeps its own
    /// default instead of us inventing "24h".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_duration: Option<String>,
    /// Fields this provider does not manage, sent back unchanged. A key here never
    /// overrides the managed fields above.
    #[serde(flatten, serialize_with = "serialize_extra_without_managed")]
    pub extra: Map<String, Value>,
}

debug_redacted!(PolicyBody {
    name, decision, include, exclude, require, session_duration,
} redacted { extra });

const POLICY_MANAGED: &[&str] = &[
    "name",
    "decision",
    "include",
    "exclude",
    "require",
    "session_duration",
];

fn serialize_extra_without_managed<S: Serializer>(
    extra: &Map<String, Value>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = serializer.serialize_map(None)?;
    for (key, value) in extra {
        if !POLICY_MANAGED.contains(&key.as_str()) && !POLICY_READ_ONLY.contains(&key.as_str()) {
            map.serialize_entry(key, value)?;
        }
    }
    map.end()
}

impl PolicyBody {
    /// The JSON sent on the wire.
    pub fn to_value(&self) -> Value {
        // Serialising plain strings, rules and maps cannot fail.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn policy_keeps_unknown_fields_and_tolerates_nulls() {
        let policy: Policy = serde_json::from_value(json!({
            "id": "p1", "name": "n", "decision": "non_identity",
            "include": [{"linked_app_token": {"app_uid": "a"}}],
            "exclude": null, "app_count": 2.0, "reusable": true,
            "approval_required": false, "mfa_config": {"mfa_disabled": true},
            "created_at": "2026-08-20T09:59:00Z"
        }))
        .unwrap();
        assert_eq!(policy.decision, Decision::NonIdentity);
        assert!(policy.exclude.is_empty());
        assert_eq!(policy.app_count, Some(2));
        assert_eq!(
            policy.extra.get("mfa_config"),
            Some(&json!({"mfa_disabled": true}))
        );
        assert_eq!(policy.session_duration, None);

        let body = policy.to_body().to_value();
        assert_eq!(
            body,
            json!({
                "name": "n", "decision": "non_identity",
                "include": [{"linked_app_token": {"app_uid": "a"}}],
                "exclude": [], "require": [],
                "approval_required": false, "mfa_config": {"mfa_disabled": true}
            })
        );
    }

    #[test]
    fn one_definition_of_a_linked_app_token_policy() {
        let policy = |v: Value| -> Policy { serde_json::from_value(v).unwrap() };
        let lat = json!({"linked_app_token": {"app_uid": "a"}});
        let pure = policy(json!({"id": "p", "decision": "non_identity",
            "include": [lat, {"linked_app_token": {"app_uid": "b"}}]}));
        assert!(pure.is_linked_app_token() && pure.has_linked_app_token_rule());

        let mixed = policy(json!({"id": "p", "decision": "non_identity",
            "include": [lat, {"any_valid_service_token": {}}]}));
        assert!(
            !mixed.is_linked_app_token(),
            "a mixed policy is general purpose"
        );
        assert!(mixed.has_linked_app_token_rule());

        let with_require = policy(json!({"id": "p", "decision": "non_identity",
            "include": [lat], "require": [{"email_domain": {"domain": "example.com"}}]}));
        assert!(!with_require.is_linked_app_token());
        let with_exclude = policy(json!({"id": "p", "decision": "non_identity",
            "include": [lat], "exclude": [{"ip": {"ip": "10.0.0.0/8"}}]}));
        assert!(!with_exclude.is_linked_app_token());

        let allow = policy(json!({"id": "p", "decision": "allow", "include": [lat]}));
        assert!(!allow.is_linked_app_token() && allow.has_linked_app_token_rule());
        let empty = policy(json!({"id": "p", "decision": "non_identity"}));
        assert!(!empty.is_linked_app_token() && !empty.has_linked_app_token_rule());
        let service = policy(json!({"id": "p", "decision": "non_identity",
            "include": [{"any_valid_service_token": {}}]}));
        assert!(!service.is_linked_app_token() && !service.has_linked_app_token_rule());
    }

    #[test]
    fn unknown_decision_is_kept() {
        let policy: Policy =
            serde_json::from_value(json!({"id": "p", "decision": "quarantine"})).unwrap();
        assert_eq!(policy.decision, Decision::Other("quarantine".into()));
        assert_eq!(
            serde_json::to_value(&policy.decision).unwrap(),
            json!("quarantine")
        );
    }

    #[test]
    fn extra_cannot_override_managed_fields() {
        let mut body = PolicyBody {
            name: "real".into(),
            ..Default::default()
        };
        body.extra.insert("name".into(), json!("sneaky"));
        body.extra.insert("id".into(), json!("x"));
        body.extra
            .insert("purpose_justification_required".into(), json!(true));
        let value = body.to_value();
        assert_eq!(value["name"], json!("real"));
        assert!(value.get("id").is_none());
        assert_eq!(value["purpose_justification_required"], json!(true));
        assert!(value.get("session_duration").is_none());
    }
}
