//! Settings of the API client.

use std::time::Duration;

use super::secret::SecretString;

/// Cloudflare's public API endpoint.
pub const DEFAULT_BASE_URL: &str = "https://api.cloudflare.com/client/v4";

/// Environment variable that, when set to `1`/`true`, turns read coalescing off
/// whatever the configuration says (used by benchmarks to compare both modes).
pub const DISABLE_READ_COALESCING_ENV: &str = "CFACCESS_DISABLE_READ_COALESCING";

/// How the client talks to the API. Build it with [`ClientConfig::new`] or struct
/// update syntax over `Default::default()`.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Base URL including `/client/v4` (no trailing slash needed).
    pub base_url: String,
    /// API token sent as `Authorization: Bearer …`.
    pub api_token: SecretString,
    /// Retries after the first attempt for retryable failures (429, 5xx, code 971,
    /// connection errors, timeouts; 409 on policy delete). Default 5.
    pub max_retries: u32,
    /// Time limit for one HTTP attempt (connect + response). Default 30 s.
    pub request_timeout: Duration,
    /// Client-side rate limit shared by every clone of the client. Default 3.5/s:
    /// with the burst below, at most 1,060 requests in any 300 s window, under
    /// Cloudflare's 1,200. Zero, negative or non-finite disables the limiter.
    pub requests_per_second: f64,
    /// Tokens the rate limiter can bank while idle. Default 10.
    pub rate_limit_burst: u32,
    /// First backoff step; attempt n waits a random time in
    /// `[0, min(max_backoff, min_backoff · 2ⁿ)]` (full jitter). Default 1 s.
    pub min_backoff: Duration,
    /// Largest backoff step. Default 30 s.
    pub max_backoff: Duration,
    /// Upper bound for an honoured `retry-after`. Default 120 s.
    pub max_retry_after: Duration,
    /// Page size for list calls (the API accepts 1..=1000). Default 1000.
    pub page_size: u32,
    /// Terraform version, appended to the User-Agent.
    pub terraform_version: Option<String>,
    /// Serve `get_app` / `get_policy` from one paginated list per account and kind.
    /// Default true; see [`DISABLE_READ_COALESCING_ENV`].
    pub coalesce_reads: bool,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            base_url: DEFAULT_BASE_URL.to_owned(),
            api_token: SecretString::default(),
            max_retries: 5,
            request_timeout: Duration::from_secs(30),
            requests_per_second: 3.5,
            rate_limit_burst: 10,
            min_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
            page_size: 1000,
            terraform_version: None,
            coalesce_reads: true,
        }
    }
}

impl ClientConfig {
    /// Defaults with the given endpoint and token.
    pub fn new(base_url: impl Into<String>, api_token: SecretString) -> Self {
        ClientConfig {
            base_url: base_url.into(),
            api_token,
            ..Default::default()
        }
    }

    /// `User-Agent` header value.
    pub fn user_agent(&self) -> String {
        let mut agent = format!("terraform-provider-cfaccess/{}", env!("CARGO_PKG_VERSION"));
        if let Some(version) = self.terraform_version.as_deref().filter(|v| !v.is_empty()) {
            agent.push_str(&format!(" (+terraform {version})"));
        }
        agent
    }

    /// Whether coalescing is on after applying the environment override.
    pub fn effective_coalesce_reads(&self) -> bool {
        let disabled_by_env = std::env::var(DISABLE_READ_COALESCING_ENV)
            .map(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
            .unwrap_or(false);
        self.coalesce_reads && !disabled_by_env
    }
}
