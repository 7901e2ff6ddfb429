//! A string that never shows up in logs, `Debug` output or error messages.

use std::fmt;

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// Holds a credential (API token, OAuth client secret).
///
/// `Debug` and `Display` print `[redacted]`, and the type deliberately does not
/// implement `Serialize`, so the value can only leave through [`SecretString::expose`].
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The raw value. Call it only where the secret has to be sent (an HTTP header,
    /// a sensitive Terraform attribute), never to build a log line or error text.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when no secret was provided.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for SecretString {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self)
    }
}

/// `Debug` for a map of fields kept verbatim from the API (an object's `extra`): the
/// keys, never the values. Those fields are whatever the API added after this provider
/// was written, so any of them may be a credential.
pub struct RedactedMap<'a>(pub &'a Map<String, Value>);

impl fmt::Debug for RedactedMap<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|k| (k, Redacted)))
            .finish()
    }
}

/// Prints `[redacted]` in place of a value.
pub(crate) struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_never_shows_the_value() {
        let secret = SecretString::new("tok-123456");
        assert_eq!(format!("{secret}"), "[redacted]");
        assert_eq!(format!("{secret:?}"), "[redacted]");
        assert_eq!(format!("{:?}", Some(secret.clone())), "Some([redacted])");
        assert_eq!(secret.expose(), "tok-123456");
    }

    #[test]
    fn redacted_map_shows_keys_only() {
        let mut map = Map::new();
        map.insert("new_secret_field".into(), Value::from("hunter2"));
        assert_eq!(
            format!("{:?}", RedactedMap(&map)),
            r#"{"new_secret_field": [redacted]}"#
        );
    }

    /// Every type of the client that can hold the API token, a client secret or an
    /// unknown API field, formatted with `{:?}` and `{:#?}`: none shows a secret.
    #[test]
    fn no_client_type_debug_prints_a_secret() {
        use crate::cloudflare::models::app::{App, AttachedPolicy, SaasApp};
        use crate::cloudflare::models::policy::{Policy, PolicyBody};
        use crate::cloudflare::{Client, ClientConfig};

        const TOKEN: &str = "tok-0123456789-very-secret";
        const CLIENT_SECRET: &str = "cs-0123456789-very-secret";
        const EXTRA_SECRET: &str = "xs-0123456789-very-secret";
        let mut extra = Map::new();
        extra.insert("future_secret".into(), Value::from(EXTRA_SECRET));

        let config = ClientConfig::new("https://api.cloudflare.com/client/v4", TOKEN.into());
        let client = Client::new(config.clone(), tokio_util::sync::CancellationToken::new())
            .expect("client");
        let saas = SaasApp {
            client_id: Some("cid".into()),
            client_secret: Some(SecretString::new(CLIENT_SECRET)),
            extra: extra.clone(),
            ..Default::default()
        };
        let app = App {
            id: crate::cloudflare::AppId::new_unchecked("app-1"),
            name: Some("visible name".into()),
            saas_app: Some(saas.clone()),
            policies: vec![AttachedPolicy {
                id: crate::cloudflare::PolicyId::new_unchecked("p1"),
                rest: extra.clone(),
                ..Default::default()
            }],
            extra: extra.clone(),
            ..Default::default()
        };
        let policy = Policy {
            id: crate::cloudflare::PolicyId::new_unchecked("p1"),
            extra: extra.clone(),
            ..Default::default()
        };
        let body = PolicyBody {
            name: "n".into(),
            extra: extra.clone(),
            ..Default::default()
        };
        // The raw answer to a SaaS create, and a request body carrying a secret.
        let raw = format!(
            r#"{{"success":true,"errors":[],"messages":[],"result":{{"saas_app":{{"client_secret":"{CLIENT_SECRET}"}}}}}}"#
        );
        let envelope =
            crate::cloudflare::envelope::Envelope::parse(raw.as_bytes()).expect("envelope");
        let request_body = serde_json::json!({"saas_app": {"client_secret": CLIENT_SECRET}});
        let request = crate::cloudflare::transport::Request::new(
            reqwest::Method::POST,
            "/accounts/a/access/apps".into(),
        )
        .with_body(&request_body);
        let printed = [
            format!("{envelope:?}{envelope:#?}"),
            format!("{request:?}{request:#?}"),
            format!("{config:?}{config:#?}"),
            format!("{client:?}{client:#?}"),
            format!("{saas:?}{saas:#?}"),
            format!("{app:?}{app:#?}"),
            format!("{policy:?}{policy:#?}"),
            format!("{body:?}{body:#?}"),
        ];
        for text in printed {
            for secret in [TOKEN, CLIENT_SECRET, EXTRA_SECRET] {
                assert!(!text.contains(secret), "{secret} in {text}");
            }
        }
        // Still useful: the structure and non-secret fields are there.
        let app_text = format!("{app:?}");
        assert!(app_text.contains("visible name") && app_text.contains("future_secret"));
    }
}
