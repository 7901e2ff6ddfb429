//! The `cfaccess` provider: its configuration schema, ConfigureProvider, and the shared
//! [`ProviderData`] every resource and data source reaches the API through.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::cloudflare::{
    BaseUrlError, Client, ClientConfig, MAX_REQUESTS_PER_SECOND, MIN_REQUESTS_PER_SECOND,
    SecretString, check_base_url,
};
use crate::tfplugin::bridge::{BridgeError, TfObject, TfValue};
use crate::tfplugin::validate::parse_go_duration;
use crate::tfplugin::{
    Attribute, AttributePath, ConfigureRequest, Context, DataSource, Diagnostics, Field, Number,
    Provider, Resource, Schema, Validator, Value,
};

use crate::api::ProviderData;
pub use crate::api::{ENV_ACCOUNT_ID, ENV_API_TOKEN, ENV_BASE_URL};
use crate::common::account::{is_account_id, validate_account_id};

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

crate::tf_object! {
    /// The provider block, as configured (before any environment fallback). No
    /// `Debug`: it holds the API token.
    #[derive(Clone, Default, PartialEq)]
    pub struct ProviderConfig {
        pub api_token: Field<String> = "api_token",
        pub account_id: Field<String> = "account_id",
        pub base_url: Field<String> = "base_url",
        pub max_retries: Field<Number> = "max_retries",
        pub request_timeout: Field<String> = "request_timeout",
        pub requests_per_second: Field<Number> = "requests_per_second",
    }
}

impl ProviderConfig {
    /// The configuration Terraform sent (a null one sets nothing).
    fn read(config: &Value) -> Result<ProviderConfig, BridgeError> {
        if config.is_null() {
            Ok(ProviderConfig::default())
        } else {
            ProviderConfig::from_value(config)
        }
    }

    /// The attributes whose value is not known until apply, in declaration order.
    fn unknown_attributes(&self) -> Vec<&'static str> {
        let value = self.to_value();
        Self::ATTRIBUTES
            .iter()
            .copied()
            .filter(|name| value.get(name).is_some_and(Value::is_unknown))
            .collect()
    }
}

/// A known string attribute, or else (null) a non-blank environment variable.
fn or_env(field: &Field<String>, env: &str) -> Option<String> {
    match field {
        Field::Known(s) => Some(s.clone()),
        _ => std::env::var(env).ok().filter(|v| !v.trim().is_empty()),
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
        let config = match ProviderConfig::read(&req.config) {
            Ok(config) => config,
            Err(e) => {
                diags.error(
                    "Provider bug: value does not fit the model",
                    format!("The provider configuration could not be read: {e}. Please report this issue."),
                );
                return diags;
            }
        };
        let unknown = config.unknown_attributes();
        if !unknown.is_empty() {
            tracing::debug!(attributes = ?unknown, "provider configuration holds unknown values; deferring client construction");
            self.data.defer(unknown.join(", "));
            return diags;
        }
        let token = or_env(&config.api_token, ENV_API_TOKEN);
        let account_id = or_env(&config.account_id, ENV_ACCOUNT_ID);
        let base_url = or_env(&config.base_url, ENV_BASE_URL);

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
        if !config.base_url.is_known() {
            // Not in the configuration: say where the value came from.
            for d in &mut url_diags.0 {
                d.detail.push_str(&format!(
                    " The value comes from the {ENV_BASE_URL} environment variable."
                ));
            }
        }
        diags.extend(url_diags);
        if let Some(n) = config.max_retries.known().and_then(Number::as_i64) {
            cc.max_retries = u32::try_from(n.max(0)).unwrap_or(u32::MAX);
        }
        if let Some(secs) = config.request_timeout.as_str().and_then(parse_go_duration) {
            cc.request_timeout = Duration::from_secs_f64(secs.max(0.001));
        }
        if let Some(rps) = config.requests_per_second.known().and_then(Number::as_f64) {
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
                self.data.set_ready(client, account_id);
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

    #[test]
    fn the_model_matches_the_schema() {
        assert_eq!(
            crate::tfplugin::bridge::check_against_schema::<ProviderConfig>(&provider_schema()),
            Ok(())
        );
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
