//! The `cfaccess` provider: its configuration schema, ConfigureProvider, and the shared
//! [`ProviderData`] every resource and data source reaches the API through.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;

use crate::cloudflare::{
    AccountId, BaseUrlError, Client, ClientConfig, MAX_REQUESTS_PER_SECOND,
    MIN_REQUESTS_PER_SECOND, SecretString, check_base_url,
};
use crate::tfplugin::validate::parse_go_duration;
use crate::tfplugin::{
    Attribute, AttributePath, ConfigureRequest, Context, DataSource, Diagnostic, Diagnostics,
    PlanRequest, Provider, Resource, Schema, Severity, Validator, Value,
};

/// Environment variable for `api_token`.
pub const ENV_API_TOKEN: &str = "CLOUDFLARE_API_TOKEN";
/// Environment variable for `account_id`.
pub const ENV_ACCOUNT_ID: &str = "CLOUDFLARE_ACCOUNT_ID";
/// Environment variable for `base_url`.
pub const ENV_BASE_URL: &str = "CLOUDFLARE_BASE_URL";

/// What a configured provider hands to resources: one client (one connection pool,
/// one rate limiter, one read cache for the whole process) and the default account.
#[derive(Clone)]
pub struct Api {
    pub client: Client,
    /// The account the resource works in: its own `account_id` or the provider's.
    pub account_id: AccountId,
}

enum ConfigState {
    /// ConfigureProvider has not run (e.g. `terraform validate`).
    Unconfigured,
    /// The configuration held values unknown until apply; API calls must wait.
    Deferred(String),
    Ready {
        client: Client,
        account_id: Option<String>,
    },
}

/// Provider-wide state shared by all resources and data sources.
pub struct ProviderData {
    state: RwLock<ConfigState>,
}

impl ProviderData {
    fn new() -> Self {
        ProviderData {
            state: RwLock::new(ConfigState::Unconfigured),
        }
    }

    /// True once the provider holds a usable client (false during validate, and during
    /// a plan whose provider configuration depends on unknown values).
    pub fn is_ready(&self) -> bool {
        matches!(*self.read_state(), ConfigState::Ready { .. })
    }

    /// The client and the account to use for a resource whose `account_id` attribute
    /// holds `resource_account` (null = the provider's default).
    pub fn api(&self, resource_account: &Value) -> Result<Api, Diagnostics> {
        let state = self.read_state();
        let (client, default_account) = match &*state {
            ConfigState::Ready { client, account_id } => (client.clone(), account_id.clone()),
            ConfigState::Deferred(why) => {
                return Err(error(
                    None,
                    "Provider configuration not known yet",
                    format!(
                        "The cfaccess provider configuration depends on values that are not known until apply ({why}), so the Cloudflare API cannot be called yet."
                    ),
                ));
            }
            ConfigState::Unconfigured => {
                return Err(error(None, "Provider not configured", "The cfaccess provider was used before ConfigureProvider ran; this is a bug in the provider or in Terraform.".to_string()));
            }
        };
        let account_id = match resource_account {
            Value::String(s) if !s.is_empty() => s.clone(),
            Value::Unknown => {
                return Err(error(
                    Some(AttributePath::root("account_id")),
                    "Account not known yet",
                    "account_id is not known until apply, so the Cloudflare API cannot be called for this resource yet.".to_string(),
                ));
            }
            _ => default_account.ok_or_else(|| {
                error(
                    Some(AttributePath::root("account_id")),
                    "Missing Cloudflare account",
                    format!("Set account_id on this resource, or account_id in the provider block, or the {ENV_ACCOUNT_ID} environment variable."),
                )
            })?,
        };
        // Both sources were checked by their schema validators before any call.
        Ok(Api {
            client,
            account_id: AccountId::new_unchecked(account_id),
        })
    }

    /// On a create whose planned `account_id` is unknown because the configuration
    /// leaves it out, plans the provider's default account instead, so the plan shows
    /// the account rather than "(known after apply)". A no-op while the provider
    /// configuration is not known.
    pub fn plan_default_account(&self, req: &mut PlanRequest) {
        if req.is_create()
            && req.planned.get("account_id").is_some_and(Value::is_unknown)
            && let Ok(api) = self.api(&Value::Null)
        {
            req.planned.set("account_id", Value::string(api.account_id));
        }
    }

    fn read_state(&self) -> std::sync::RwLockReadGuard<'_, ConfigState> {
        // A panic while holding the lock cannot leave ConfigState half-written (it is
        // replaced whole), so a poisoned lock is still safe to read.
        self.state
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn set_state(&self, s: ConfigState) {
        *self
            .state
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = s;
    }
}

fn error(path: Option<AttributePath>, summary: &str, detail: String) -> Diagnostics {
    Diagnostics(vec![Diagnostic {
        severity: Severity::Error,
        summary: summary.to_string(),
        detail,
        attribute: path,
    }])
}

/// The `cfaccess` provider.
pub struct CfAccessProvider {
    data: Arc<ProviderData>,
}

impl Default for CfAccessProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl CfAccessProvider {
    pub fn new() -> Self {
        CfAccessProvider {
            data: Arc::new(ProviderData::new()),
        }
    }
}

fn validate_account_id(v: &Value, path: &AttributePath, diags: &mut Diagnostics) {
    if let Some(s) = v.as_str()
        && !is_account_id(s)
    {
        diags.attr_error(
            path.clone(),
            "Invalid account ID",
            format!("Attribute {path} must be a Cloudflare account ID: 32 hexadecimal characters, as shown in the dashboard URL; got {s:?}."),
        );
    }
}

/// True for a 32-character hexadecimal Cloudflare account identifier.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 32 && s.chars().all(|c| c.is_ascii_hexdigit())
}

fn validate_base_url(v: &Value, path: &AttributePath, diags: &mut Diagnostics) {
    if let Some(s) = v.as_str()
        && let Err(why) = check_base_url(s)
    {
        // A URL with `user:password@` is not echoed: that part is a credential.
        let got = if why == BaseUrlError::Credentials {
            String::new()
        } else {
            format!("; got {s:?}")
        };
        diags.attr_error(
            path.clone(),
            "Invalid base URL",
            format!("Attribute {path} {why}{got}. Cloudflare's API is \"https://api.cloudflare.com/client/v4\"."),
        );
    }
}

fn validate_rps(v: &Value, path: &AttributePath, diags: &mut Diagnostics) {
    if let Value::Number(n) = v
        && !n
            .as_f64()
            .is_some_and(|f| (MIN_REQUESTS_PER_SECOND..=MAX_REQUESTS_PER_SECOND).contains(&f))
    {
        diags.attr_error(
            path.clone(),
            "Invalid rate",
            format!("Attribute {path} must be between {MIN_REQUESTS_PER_SECOND} (one request every 100 seconds) and {MAX_REQUESTS_PER_SECOND}; got {n}."),
        );
    }
}

/// The provider configuration schema.
pub fn provider_schema() -> Schema {
    Schema::new(
        "Manages Cloudflare Access applications for MCP servers and the Linked App Token policies that let them call self-hosted downstream apps on behalf of the user.",
        vec![
            Attribute::string("api_token")
                .optional()
                .sensitive()
                .description("Cloudflare API token with the \"Access: Apps and Policies Write\" permission. Falls back to the `CLOUDFLARE_API_TOKEN` environment variable. Never logged.")
                .validator(Validator::NotBlank),
            Attribute::string("account_id")
                .optional()
                .description("Default Cloudflare account ID (32 hexadecimal characters) for resources that do not set their own. Falls back to the `CLOUDFLARE_ACCOUNT_ID` environment variable.")
                .validator(Validator::Custom(validate_account_id)),
            Attribute::string("base_url")
                .optional()
                .description("Base URL of the Cloudflare v4 API, including `/client/v4`. Falls back to `CLOUDFLARE_BASE_URL`, then `https://api.cloudflare.com/client/v4`. Must use `https://`: the API token travels with every request, so `http://` is refused except on a loopback host (`localhost`, `127.0.0.1`, `[::1]`), e.g. the `cfaccess-emulator` when working offline.")
                .validator(Validator::Custom(validate_base_url)),
            Attribute::number("max_retries")
                .optional()
                .description("How many times a request is retried after a 429, a 5xx, a timeout or a connection error, with exponential backoff and jitter (429 honours `retry-after`). Default 5.")
                .validator(Validator::AtLeast(0)),
            Attribute::string("request_timeout")
                .optional()
                .description("Time limit for one HTTP attempt, as a duration such as `\"30s\"` or `\"2m\"`. Default `\"30s\"`.")
                .validator(Validator::Duration { min_secs: 1, max_secs: 600 }),
            Attribute::number("requests_per_second")
                .optional()
                .description("Client-side rate limit shared by every resource of this provider instance, in requests per second: at least 0.01 (one request every 100 seconds) and at most 1000. Default 3.5, which stays under Cloudflare's 1,200 requests per 5 minutes.")
                .validator(Validator::Custom(validate_rps)),
        ],
    )
}

/// Reads an optional string attribute, falling back to an environment variable.
/// `Err(())` when the attribute is unknown.
fn string_or_env(config: &Value, name: &str, env: &str) -> Result<Option<String>, ()> {
    match config.get(name) {
        Some(Value::Unknown) => Err(()),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        _ => Ok(std::env::var(env).ok().filter(|v| !v.trim().is_empty())),
    }
}

#[async_trait]
impl Provider for CfAccessProvider {
    fn name(&self) -> &'static str {
        "cfaccess"
    }

    fn schema(&self) -> Schema {
        provider_schema()
    }

    async fn configure(&self, ctx: &Context, req: ConfigureRequest) -> Diagnostics {
        let mut diags = Diagnostics::new();
        let config = &req.config;
        let mut unknown = Vec::new();
        let token = string_or_env(config, "api_token", ENV_API_TOKEN).unwrap_or_else(|()| {
            unknown.push("api_token");
            None
        });
        let account_id = string_or_env(config, "account_id", ENV_ACCOUNT_ID).unwrap_or_else(|()| {
            unknown.push("account_id");
            None
        });
        let base_url = string_or_env(config, "base_url", ENV_BASE_URL).unwrap_or_else(|()| {
            unknown.push("base_url");
            None
        });
        for name in ["max_retries", "request_timeout", "requests_per_second"] {
            if config.get(name).is_some_and(Value::is_unknown) {
                unknown.push(name);
            }
        }
        if !unknown.is_empty() {
            tracing::debug!(attributes = ?unknown, "provider configuration holds unknown values; deferring client construction");
            self.data
                .set_state(ConfigState::Deferred(unknown.join(", ")));
            return diags;
        }

        let Some(token) = token else {
            diags.attr_error(
                AttributePath::root("api_token"),
                "Missing Cloudflare API token",
                format!("Set api_token in the provider \"cfaccess\" block or the {ENV_API_TOKEN} environment variable to a Cloudflare API token with the \"Access: Apps and Policies Write\" permission."),
            );
            return diags;
        };
        if let Some(acc) = &account_id
            && !is_account_id(acc)
        {
            let path = AttributePath::root("account_id");
            diags.attr_error(
                path,
                "Invalid account ID",
                format!("account_id (or {ENV_ACCOUNT_ID}) must be 32 hexadecimal characters; got {acc:?}."),
            );
        }
        let mut cc = ClientConfig::new(
            base_url.unwrap_or_else(|| crate::cloudflare::DEFAULT_BASE_URL.to_string()),
            SecretString::new(token),
        );
        let mut url_diags = Diagnostics::new();
        validate_base_url(
            &Value::string(cc.base_url.clone()),
            &AttributePath::root("base_url"),
            &mut url_diags,
        );
        if !matches!(config.get("base_url"), Some(Value::String(_))) {
            // Not in the configuration: say where the value came from.
            for d in &mut url_diags.0 {
                d.detail.push_str(&format!(
                    " The value comes from the {ENV_BASE_URL} environment variable."
                ));
            }
        }
        diags.extend(url_diags);
        if let Some(n) = config.get("max_retries").and_then(Value::as_i64) {
            cc.max_retries = u32::try_from(n.max(0)).unwrap_or(u32::MAX);
        }
        if let Some(secs) = config
            .get("request_timeout")
            .and_then(Value::as_str)
            .and_then(parse_go_duration)
        {
            cc.request_timeout = Duration::from_secs_f64(secs.max(0.001));
        }
        if let Some(Value::Number(n)) = config.get("requests_per_second")
            && let Some(rps) = n.as_f64()
        {
            cc.requests_per_second = rps;
        }
        cc.terraform_version = Some(req.terraform_version.clone()).filter(|v| !v.is_empty());
        if diags.has_errors() {
            return diags;
        }
        match Client::new(cc, ctx.stop.clone()) {
            Ok(client) => {
                tracing::info!(
                    account_id = account_id.as_deref().unwrap_or(""),
                    "provider configured"
                );
                self.data
                    .set_state(ConfigState::Ready { client, account_id });
            }
            Err(e) => diags.error("Cannot create the Cloudflare API client", e.to_string()),
        }
        diags
    }

    fn resources(&self) -> Vec<Arc<dyn Resource>> {
        crate::resources::all(&self.data)
    }

    fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
        crate::data_sources::all(&self.data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_is_consistent() {
        assert_eq!(provider_schema().internal_problems(), Vec::<String>::new());
        let token = provider_schema().attribute("api_token").cloned();
        assert!(token.is_some_and(|a| a.sensitive));
    }

    fn errors_at(
        check: fn(&Value, &AttributePath, &mut Diagnostics),
        name: &str,
        v: Value,
    ) -> Vec<String> {
        let mut diags = Diagnostics::new();
        check(&v, &AttributePath::root(name), &mut diags);
        diags
            .iter()
            .map(|d| {
                assert_eq!(d.attribute, Some(AttributePath::root(name)));
                format!("{}: {}", d.summary, d.detail)
            })
            .collect()
    }

    #[test]
    fn base_url_refuses_cleartext_except_on_loopback() {
        for ok in [
            "https://api.cloudflare.com/client/v4",
            "http://127.0.0.1:8787/client/v4",
            "http://localhost:8787/client/v4",
            "http://[::1]:8787/client/v4",
        ] {
            assert!(
                errors_at(validate_base_url, "base_url", Value::string(ok)).is_empty(),
                "{ok}"
            );
        }
        let errors = errors_at(
            validate_base_url,
            "base_url",
            Value::string("http://api.example.net/client/v4"),
        );
        assert_eq!(errors.len(), 1);
        assert!(errors[0].contains("base_url"), "{}", errors[0]);
        assert!(errors[0].contains("cleartext"), "{}", errors[0]);
    }

    #[test]
    fn base_url_with_credentials_is_refused_without_echoing_them() {
        let errors = errors_at(
            validate_base_url,
            "base_url",
            Value::string("https://admin:pw-0123456789-secret@api.example.net/client/v4"),
        );
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].contains("must not contain credentials"),
            "{}",
            errors[0]
        );
        assert!(!errors[0].contains("pw-0123456789-secret"), "{}", errors[0]);
        assert!(!errors[0].contains("admin:"), "{}", errors[0]);
    }

    #[tokio::test]
    async fn configure_refuses_a_cleartext_base_url_before_any_client_exists() {
        let provider = CfAccessProvider::new();
        let config = crate::tfplugin::plan::fill_nulls(
            &provider_schema(),
            &Value::object([
                ("api_token", Value::string("tok-secret-value")),
                (
                    "base_url",
                    Value::string("http://api.example.net/client/v4"),
                ),
            ]),
        );
        let ctx = Context {
            stop: tokio_util::sync::CancellationToken::new(),
            rpc: "ConfigureProvider",
        };
        let diags = provider
            .configure(
                &ctx,
                ConfigureRequest {
                    config,
                    terraform_version: "1.0.3".into(),
                },
            )
            .await;
        assert!(diags.has_errors());
        let d = diags.iter().next().unwrap();
        assert_eq!(d.attribute, Some(AttributePath::root("base_url")));
        assert!(d.detail.contains("cleartext"), "{}", d.detail);
        // Set in the configuration: no pointer to the environment variable.
        assert!(!d.detail.contains(ENV_BASE_URL), "{}", d.detail);
        assert!(!d.detail.contains("tok-secret-value"));
        assert!(!provider.data.is_ready());
    }

    #[test]
    fn requests_per_second_has_a_bounded_range() {
        let number = |s: &str| Value::Number(crate::tfplugin::Number::parse(s).unwrap());
        for ok in ["0.01", "3.5", "1000"] {
            assert!(
                errors_at(validate_rps, "requests_per_second", number(ok)).is_empty(),
                "{ok}"
            );
        }
        for bad in ["0", "-1", "0.009", "1e-300", "1000.5", "1e300"] {
            let errors = errors_at(validate_rps, "requests_per_second", number(bad));
            assert_eq!(errors.len(), 1, "{bad}");
            assert!(errors[0].contains("between 0.01"), "{}", errors[0]);
        }
    }

    #[test]
    fn account_ids() {
        assert!(is_account_id("023e105f4ecef8ad9ca31a8372d0c353"));
        assert!(!is_account_id("023e105f"));
    }
}
