//! Access rules: the elements of a policy's `include`, `exclude` and `require`.
//!
//! On the wire every rule is an object with exactly one key naming its kind
//! (`{"email_domain": {"domain": "example.com"}}`). Kinds we know become typed
//! variants; anything else (a kind added after this code was written, a legacy field
//! layout such as S24's `connection_id`, an extra field inside a known kind) is kept in
//! [`Rule::Other`] as the exact JSON value, so reading and writing a policy never loses
//! or reshapes a rule.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// Decoding and encoding of one field inside a rule's inner object.
trait RuleField: Sized {
    /// `None` when the field is missing or has the wrong shape (the rule then falls
    /// back to [`Rule::Other`]).
    fn take(value: Option<&Value>) -> Option<Self>;
    fn put(&self, name: &str, into: &mut Map<String, Value>);
}

impl RuleField for String {
    fn take(value: Option<&Value>) -> Option<Self> {
        value?.as_str().map(str::to_owned)
    }
    fn put(&self, name: &str, into: &mut Map<String, Value>) {
        into.insert(name.to_owned(), Value::String(self.clone()));
    }
}

impl RuleField for Option<String> {
    fn take(value: Option<&Value>) -> Option<Self> {
        match value {
            None => Some(None),
            // An explicit null is not representable without changing the bytes we
            // would send back, so it goes to `Other`.
            Some(Value::String(s)) => Some(Some(s.clone())),
            Some(_) => None,
        }
    }
    fn put(&self, name: &str, into: &mut Map<String, Value>) {
        if let Some(value) = self {
            into.insert(name.to_owned(), Value::String(value.clone()));
        }
    }
}

impl RuleField for Vec<String> {
    fn take(value: Option<&Value>) -> Option<Self> {
        value?
            .as_array()?
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect()
    }
    fn put(&self, name: &str, into: &mut Map<String, Value>) {
        into.insert(
            name.to_owned(),
            Value::Array(self.iter().cloned().map(Value::String).collect()),
        );
    }
}

fn one_key(key: &str, inner: Map<String, Value>) -> Value {
    let mut outer = Map::new();
    outer.insert(key.to_owned(), Value::Object(inner));
    Value::Object(outer)
}

macro_rules! access_rules {
    (
        unit { $( $(#[$unit_meta:meta])* $unit:ident = $unit_key:literal, )* }
        with_fields { $(
            $(#[$var_meta:meta])* $var:ident = $var_key:literal {
                $( $(#[$field_meta:meta])* $field:ident : $fty:ty = $field_key:literal, )+
            }
        )* }
    ) => {
        /// One Access rule. See the module documentation for how unknown kinds are kept.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Rule {
            $( $(#[$unit_meta])* $unit, )*
            $( $(#[$var_meta])* $var { $( $(#[$field_meta])* $field: $fty, )+ }, )*
            /// A rule this code does not model, kept verbatim (the whole one-key object).
            Other(Value),
        }

        impl Rule {
            /// The rule's JSON key (`"linked_app_token"`, `"github-organization"`, …).
            pub fn kind(&self) -> &str {
                match self {
                    $( Rule::$unit => $unit_key, )*
                    $( Rule::$var { .. } => $var_key, )*
                    Rule::Other(value) => value
                        .as_object()
                        .and_then(|map| map.keys().next())
                        .map(String::as_str)
                        .unwrap_or(""),
                }
            }

            /// The wire form of the rule.
            pub fn to_value(&self) -> Value {
                match self {
                    $( Rule::$unit => one_key($unit_key, Map::new()), )*
                    $( Rule::$var { $( $field, )+ } => {
                        let mut inner = Map::new();
                        $( RuleField::put($field, $field_key, &mut inner); )+
                        one_key($var_key, inner)
                    } )*
                    Rule::Other(value) => value.clone(),
                }
            }

            /// Reads a rule from its wire form; never fails (unknown shapes become
            /// [`Rule::Other`]).
            pub fn from_value(value: Value) -> Rule {
                let typed = match value.as_object() {
                    Some(outer) if outer.len() == 1 => match outer.iter().next() {
                        Some((key, Value::Object(inner))) => match key.as_str() {
                            $( $unit_key => inner.is_empty().then_some(Rule::$unit), )*
                            $( $var_key => {
                                const KNOWN: &[&str] = &[$( $field_key ),+];
                                if inner.keys().all(|k| KNOWN.contains(&k.as_str())) {
                                    (|| Some(Rule::$var { $( $field: RuleField::take(inner.get($field_key))?, )+ }))()
                                } else {
                                    None
                                }
                            } )*
                            _ => None,
                        },
                        _ => None,
                    },
                    _ => None,
                };
                typed.unwrap_or(Rule::Other(value))
            }
        }
    };
}

access_rules! {
    unit {
        /// `everyone`: matches every user.
        Everyone = "everyone",
        /// `any_valid_service_token`: any service token of the account.
        AnyValidServiceToken = "any_valid_service_token",
        /// `certificate`: any valid mTLS client certificate.
        Certificate = "certificate",
    }
    with_fields {
        /// `linked_app_token`: OAuth/JWT tokens issued for another Access application
        /// (its UUID `id`); valid only with decision `non_identity`.
        LinkedAppToken = "linked_app_token" { app_uid: String = "app_uid", }
        /// `service_token`: one service token.
        ServiceToken = "service_token" { token_id: String = "token_id", }
        /// `email`: one address.
        Email = "email" { email: String = "email", }
        /// `email_domain`: every address of a domain.
        EmailDomain = "email_domain" { domain: String = "domain", }
        /// `email_list`: a Zero Trust list of addresses.
        EmailList = "email_list" { id: String = "id", }
        /// `group`: an Access group.
        Group = "group" { id: String = "id", }
        /// `ip`: a CIDR range.
        Ip = "ip" { ip: String = "ip", }
        /// `ip_list`: a Zero Trust list of ranges.
        IpList = "ip_list" { id: String = "id", }
        /// `geo`: a country.
        Geo = "geo" { country_code: String = "country_code", }
        /// `common_name`: mTLS certificate common name.
        CommonName = "common_name" { common_name: String = "common_name", }
        /// `device_posture`: a device posture integration.
        DevicePosture = "device_posture" { integration_uid: String = "integration_uid", }
        /// `auth_method`: an AMR value.
        AuthMethod = "auth_method" { auth_method: String = "auth_method", }
        /// `login_method`: an identity provider used to log in.
        LoginMethod = "login_method" { id: String = "id", }
        /// `auth_context`: an Entra ID authentication context.
        AuthContext = "auth_context" {
            id: String = "id",
            ac_id: String = "ac_id",
            identity_provider_id: String = "identity_provider_id",
        }
        /// `azureAD`: an Entra ID group.
        AzureAd = "azureAD" {
            id: String = "id",
            identity_provider_id: String = "identity_provider_id",
        }
        /// `github-organization`: a GitHub organisation, optionally one team.
        GithubOrganization = "github-organization" {
            identity_provider_id: String = "identity_provider_id",
            name: String = "name",
            team: Option<String> = "team",
        }
        /// `gsuite`: a Google Workspace group.
        Gsuite = "gsuite" {
            email: String = "email",
            identity_provider_id: String = "identity_provider_id",
        }
        /// `okta`: an Okta group.
        Okta = "okta" {
            identity_provider_id: String = "identity_provider_id",
            name: String = "name",
        }
        /// `saml`: a SAML attribute value.
        Saml = "saml" {
            attribute_name: String = "attribute_name",
            attribute_value: String = "attribute_value",
            identity_provider_id: String = "identity_provider_id",
        }
        /// `oidc`: an OIDC claim value.
        Oidc = "oidc" {
            claim_name: String = "claim_name",
            claim_value: String = "claim_value",
            identity_provider_id: String = "identity_provider_id",
        }
        /// `external_evaluation`: an external evaluation endpoint.
        ExternalEvaluation = "external_evaluation" {
            evaluate_url: String = "evaluate_url",
            keys_url: String = "keys_url",
        }
        /// `user_risk_score`: users at the listed risk levels.
        UserRiskScore = "user_risk_score" { user_risk_score: Vec<String> = "user_risk_score", }
        /// `cloudflare_account_member`: members of a Cloudflare account.
        CloudflareAccountMember = "cloudflare_account_member" { account_id: Option<String> = "account_id", }
    }
}

impl Rule {
    /// `linked_app_token { app_uid }`.
    pub fn linked_app_token(app_uid: impl Into<String>) -> Rule {
        Rule::LinkedAppToken {
            app_uid: app_uid.into(),
        }
    }
}

impl Serialize for Rule {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Rule {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Value::deserialize(deserializer).map(Rule::from_value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn known_kinds_decode_to_typed_variants() {
        let rule: Rule =
            serde_json::from_value(json!({"linked_app_token": {"app_uid": "u-1"}})).unwrap();
        assert_eq!(rule, Rule::linked_app_token("u-1"));
        let rule: Rule = serde_json::from_value(json!({"everyone": {}})).unwrap();
        assert_eq!(rule, Rule::Everyone);
        let rule: Rule = serde_json::from_value(
            json!({"github-organization": {"identity_provider_id": "i", "name": "org"}}),
        )
        .unwrap();
        assert_eq!(
            rule,
            Rule::GithubOrganization {
                identity_provider_id: "i".into(),
                name: "org".into(),
                team: None
            }
        );
        assert_eq!(rule.kind(), "github-organization");
    }

    #[test]
    fn every_typed_rule_round_trips_exactly() {
        let samples = [
            json!({"everyone": {}}),
            json!({"any_valid_service_token": {}}),
            json!({"certificate": {}}),
            json!({"linked_app_token": {"app_uid": "a"}}),
            json!({"service_token": {"token_id": "t"}}),
            json!({"email": {"email": "a@b.c"}}),
            json!({"email_domain": {"domain": "b.c"}}),
            json!({"email_list": {"id": "l"}}),
            json!({"group": {"id": "g"}}),
            json!({"ip": {"ip": "10.0.0.0/8"}}),
            json!({"ip_list": {"id": "l"}}),
            json!({"geo": {"country_code": "US"}}),
            json!({"common_name": {"common_name": "cn"}}),
            json!({"device_posture": {"integration_uid": "d"}}),
            json!({"auth_method": {"auth_method": "mfa"}}),
            json!({"login_method": {"id": "m"}}),
            json!({"auth_context": {"id": "x", "ac_id": "c1", "identity_provider_id": "i"}}),
            json!({"azureAD": {"id": "g", "identity_provider_id": "i"}}),
            json!({"github-organization": {"identity_provider_id": "i", "name": "o", "team": "t"}}),
            json!({"gsuite": {"email": "g@b.c", "identity_provider_id": "i"}}),
            json!({"okta": {"identity_provider_id": "i", "name": "n"}}),
            json!({"saml": {"attribute_name": "n", "attribute_value": "v", "identity_provider_id": "i"}}),
            json!({"oidc": {"claim_name": "n", "claim_value": "v", "identity_provider_id": "i"}}),
            json!({"external_evaluation": {"evaluate_url": "https://e", "keys_url": "https://k"}}),
            json!({"user_risk_score": {"user_risk_score": ["low", "high"]}}),
            json!({"cloudflare_account_member": {}}),
            json!({"cloudflare_account_member": {"account_id": "acc"}}),
        ];
        for sample in samples {
            let rule: Rule = serde_json::from_value(sample.clone()).unwrap();
            assert!(!matches!(rule, Rule::Other(_)), "{sample} should be typed");
            assert_eq!(serde_json::to_value(&rule).unwrap(), sample);
        }
    }

    #[test]
    fn unknown_or_reshaped_rules_are_kept_verbatim() {
        let samples = [
            // a kind we do not know
            r#"{"future_rule":{"alpha":[1,2,{"b":null}],"beta":true}}"#,
            // a known kind in its 2024 layout
            r#"{"okta":{"connection_id":"c","email":"e"}}"#,
            // a known kind with an extra field
            r#"{"email":{"email":"a@b.c","note":"x"}}"#,
            // a known kind with a wrong type
            r#"{"ip":{"ip":10}}"#,
            // an explicit null where the field is optional
            r#"{"github-organization":{"identity_provider_id":"i","name":"o","team":null}}"#,
            // not a one-key object
            r#"{"email":{"email":"a"},"ip":{"ip":"1.1.1.1/32"}}"#,
            r#""everyone""#,
        ];
        for text in samples {
            let rule: Rule = serde_json::from_str(text).unwrap();
            assert!(matches!(rule, Rule::Other(_)), "{text} should be Other");
            assert_eq!(serde_json::to_string(&rule).unwrap(), text);
        }
    }
}
