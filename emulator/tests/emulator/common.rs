//! Test helpers: an emulator plus a small JSON client.

use std::time::Duration;

use cfaccess_emulator::{DEFAULT_ACCOUNT_ID, Emulator, EmulatorConfig, RateLimit, Seed};
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

pub const ACC: &str = DEFAULT_ACCOUNT_ID;
pub const TOKEN: &str = "test-token";

/// A response: status, headers and the parsed JSON body.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Resp {
    pub fn result(&self) -> &Value {
        &self.body["result"]
    }

    /// The first error code; panics (with the body) when the envelope is not a failure.
    pub fn code(&self) -> i64 {
        assert_failure_envelope(&self.body);
        self.body["errors"][0]["code"].as_i64().unwrap()
    }

    pub fn message(&self) -> String {
        self.body["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    }

    /// Asserts `status` and a success envelope, returning `result`.
    #[track_caller]
    pub fn ok(&self, status: u16) -> &Value {
        assert_eq!(
            self.status, status,
            "unexpected status, body: {}",
            self.body
        );
        assert_eq!(self.body["success"], json!(true), "{}", self.body);
        assert_eq!(self.body["errors"], json!([]));
        assert_eq!(self.body["messages"], json!([]));
        self.result()
    }

    /// Asserts `status`, a failure envelope and `code`.
    #[track_caller]
    pub fn err(&self, status: u16, code: i64) {
        assert_eq!(
            self.status, status,
            "unexpected status, body: {}",
            self.body
        );
        assert_eq!(self.code(), code, "{}", self.body);
    }
}

#[track_caller]
pub fn assert_failure_envelope(body: &Value) {
    assert_eq!(body["success"], json!(false), "{body}");
    assert_eq!(body["result"], Value::Null, "{body}");
    assert_eq!(body["messages"], json!([]), "{body}");
    let errors = body["errors"].as_array().expect("errors array");
    assert!(!errors.is_empty(), "{body}");
    for e in errors {
        assert!(e["code"].is_i64() && e["message"].is_string(), "{body}");
    }
}

pub struct Api {
    pub emu: Emulator,
    pub client: reqwest::Client,
    pub token: Option<String>,
}

/// A config with the rate limit off (most tests send many requests).
pub fn fast_config() -> EmulatorConfig {
    EmulatorConfig {
        rate_limit: Some(RateLimit::disabled()),
        ..EmulatorConfig::default()
    }
}

/// [`fast_config`] seeded with the downstream demo.
pub fn demo_config() -> EmulatorConfig {
    EmulatorConfig {
        seed: Some(Seed::downstream_demo()),
        ..fast_config()
    }
}

/// One `#[tokio::test]` of the family most tests here belong to, on an emulator of its
/// own: `api_test!(name, |api| { … })` runs the body with `api` from [`Api::start`]
/// (empty, fast); `api_test!(name, Api::demo(), |api| { … })` names the start.
macro_rules! api_test {
    ($name:ident, |$api:ident| $body:block) => {
        api_test!($name, $crate::emulator::common::Api::start(), |$api| $body);
    };
    ($name:ident, $start:expr, |$api:ident| $body:block) => {
        #[tokio::test]
        async fn $name() {
            let $api = $start.await;
            $body
        }
    };
}
pub(crate) use api_test;

impl Api {
    pub async fn start() -> Api {
        Api::with(fast_config()).await
    }

    /// An emulator seeded with the downstream demo, rate limit off.
    pub async fn demo() -> Api {
        Api::with(demo_config()).await
    }

    /// An empty emulator allowing `requests` per token within any window of `per`.
    pub async fn rate_limited(requests: u32, per: Duration) -> Api {
        Api::with(EmulatorConfig {
            rate_limit: Some(RateLimit { requests, per }),
            ..EmulatorConfig::default()
        })
        .await
    }

    pub async fn with(config: EmulatorConfig) -> Api {
        let emu = Emulator::start(config).await.expect("emulator starts");
        Api {
            emu,
            client: reqwest::Client::new(),
            token: Some(TOKEN.to_string()),
        }
    }

    /// URL of `path` under the default account's `/access`.
    pub fn access(&self, path: &str) -> String {
        format!("{}/accounts/{ACC}/access{path}", self.emu.base_url())
    }

    pub async fn raw(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
        token: Option<&str>,
    ) -> Resp {
        let mut req = self.client.request(method, url);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.expect("request succeeds");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("non-JSON body ({status}): {text}"));
        Resp {
            status,
            headers,
            body,
        }
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Resp {
        let url = self.access(path);
        self.raw(method, &url, body, self.token.as_deref()).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.call(Method::GET, path, None).await
    }

    /// GET `path`, asserting a 200 success envelope; returns `result`.
    pub async fn get_ok(&self, path: &str) -> Value {
        self.get(path).await.ok(200).clone()
    }

    /// POST `body` to `path`, asserting a 201 success envelope; returns `result`.
    pub async fn post_created(&self, path: &str, body: Value) -> Value {
        self.post(path, body).await.ok(201).clone()
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.call(Method::POST, path, Some(&body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.call(Method::PUT, path, Some(&body)).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.call(Method::DELETE, path, None).await
    }

    /// Admin API call, with the API token (an emulator started with a token requires
    /// it on the admin API too).
    pub async fn admin(&self, method: Method, path: &str, body: Option<&Value>) -> (u16, Value) {
        let url = format!("{}{path}", self.emu.admin_url());
        let mut req = self.client.request(method, url);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("non-JSON admin body: {text}")),
        )
    }

    /// Creates a self-hosted app and returns its result object.
    pub async fn self_hosted(&self, name: &str, domain: &str) -> Value {
        self.post_created(
            "/apps",
            json!({"type": "self_hosted", "name": name, "domain": domain}),
        )
        .await
    }

    /// Creates a self-hosted app at `domain` with `policies` attached; returns its result.
    pub async fn self_hosted_attached(&self, domain: &str, policies: Value) -> Value {
        self.post_created(
            "/apps",
            json!({"type": "self_hosted", "domain": domain, "policies": policies}),
        )
        .await
    }

    /// Creates a SaaS OIDC app and returns the 201 result (with `client_secret`).
    pub async fn saas_oidc(&self, name: &str) -> Value {
        self.post_created("/apps",
            json!({"type": "saas", "name": name, "saas_app": {"auth_type": "oidc", "redirect_uris": ["https://mcp.example.com/cb"]}})).await
    }

    /// Creates a reusable policy and returns its result object.
    pub async fn policy(&self, body: Value) -> Value {
        self.post_created("/policies", body).await
    }

    /// A `non_identity` policy linking `app_uid`.
    pub async fn linked_policy(&self, name: &str, app_uid: &str) -> Value {
        self.policy(json!({
            "name": name, "decision": "non_identity",
            "include": [{"linked_app_token": {"app_uid": app_uid}}]
        }))
        .await
    }

    pub async fn allow_policy(&self, name: &str) -> Value {
        self.policy(json!({"name": name, "decision": "allow", "include": [{"email_domain": {"domain": "example.com"}}]}))
            .await
    }
}

/// Sends `req` and parses its JSON body.
pub async fn json_of(req: reqwest::RequestBuilder) -> Value {
    let resp = req.send().await.expect("request succeeds");
    resp.json().await.expect("a JSON body")
}

pub fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

pub fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}
