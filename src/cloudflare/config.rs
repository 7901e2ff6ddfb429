//! Settings of the API client.

use std::time::Duration;

use super::secret::SecretString;

/// Cloudflare's public API endpoint.
pub const DEFAULT_BASE_URL: &str = "https://api.cloudflare.com/client/v4";

/// Smallest accepted `requests_per_second`: one request every 100 s. Below it a
/// single token would take hours to earn, which is never what anyone means.
pub const MIN_REQUESTS_PER_SECOND: f64 = 0.01;
/// Largest accepted `requests_per_second`, far above Cloudflare's own limit (4/s on
/// average); beyond it the limiter would only hide a typo.
pub const MAX_REQUESTS_PER_SECOND: f64 = 1000.0;

/// Largest response body the client reads (a page of 1,000 applications is ~2 MiB):
/// anything larger is refused instead of growing memory without bound.
pub const MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;

/// Most pages one list call reads (1,000 objects each). Cloudflare accounts hold far
/// fewer; a server that keeps answering full pages is refused instead of looped on.
pub const MAX_LIST_PAGES: u64 = 1000;

/// Why a base URL cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BaseUrlError {
    /// Not an absolute URL with a host.
    #[error("is not an absolute http(s) URL with a host")]
    Malformed,
    /// A scheme other than http/https.
    #[error("must use https://")]
    Scheme,
    /// `http://` on a host other than loopback: the token would travel in cleartext.
    #[error(
        "uses http:// on a host that is not loopback; the API token is sent with every \
         request and would travel in cleartext. Use https://, or http:// only on \
         localhost, 127.0.0.1 or [::1] (e.g. the cfaccess-emulator)"
    )]
    Cleartext,
    /// `user:password@` in the URL.
    #[error("must not contain credentials")]
    Credentials,
}

/// Checks a base URL: `https://`, or `http://` only on a loopback host (localhost,
/// 127.0.0.0/8, ::1), where nothing leaves the machine.
pub fn check_base_url(base_url: &str) -> Result<url::Url, BaseUrlError> {
    let url = url::Url::parse(base_url.trim()).map_err(|_| BaseUrlError::Malformed)?;
    let Some(host) = url.host() else {
        return Err(BaseUrlError::Malformed);
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err(BaseUrlError::Credentials);
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&host) => Ok(url),
        "http" => Err(BaseUrlError::Cleartext),
        _ => Err(BaseUrlError::Scheme),
    }
}

fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

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
    /// Cloudflare's 1,200. Zero, negative or non-finite disables the limiter; other
    /// values are clamped to [`MIN_REQUESTS_PER_SECOND`]..=[`MAX_REQUESTS_PER_SECOND`].
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
        let env = std::env::var(DISABLE_READ_COALESCING_ENV).ok();
        self.coalesce_reads && !disables_coalescing(env.as_deref())
    }
}

/// True for the values of [`DISABLE_READ_COALESCING_ENV`] that mean "off".
fn disables_coalescing(value: Option<&str>) -> bool {
    value.is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_switch_values() {
        for off in ["1", "true", " TRUE ", "yes"] {
            assert!(disables_coalescing(Some(off)), "{off}");
        }
        for on in [None, Some(""), Some("0"), Some("false"), Some("no")] {
            assert!(!disables_coalescing(on), "{on:?}");
        }
    }

    #[test]
    fn user_agent_names_both_versions() {
        let mut config = ClientConfig::default();
        assert_eq!(
            config.user_agent(),
            format!("terraform-provider-cfaccess/{}", env!("CARGO_PKG_VERSION"))
        );
        config.terraform_version = Some("1.0.3".into());
        assert_eq!(
            config.user_agent(),
            format!(
                "terraform-provider-cfaccess/{} (+terraform 1.0.3)",
                env!("CARGO_PKG_VERSION")
            )
        );
    }

    #[test]
    fn base_url_must_be_https_except_on_loopback() {
        for ok in [
            "https://api.cloudflare.com/client/v4",
            "https://10.0.0.1/client/v4",
            "http://127.0.0.1:8787/client/v4",
            "http://127.1.2.3/client/v4",
            "http://localhost:8787/client/v4",
            "http://LOCALHOST/client/v4",
            "http://[::1]:8787/client/v4",
        ] {
            assert!(check_base_url(ok).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("http://api.example.net/client/v4", BaseUrlError::Cleartext),
            ("http://10.0.0.1/client/v4", BaseUrlError::Cleartext),
            ("http://localhost.example.com/", BaseUrlError::Cleartext),
            ("http://127.0.0.1.nip.io/", BaseUrlError::Cleartext),
            ("ftp://api.cloudflare.com/", BaseUrlError::Scheme),
            ("https://u:p@api.cloudflare.com/", BaseUrlError::Credentials),
            ("api.cloudflare.com/client/v4", BaseUrlError::Malformed),
            ("unix:/tmp/x", BaseUrlError::Malformed),
        ] {
            assert_eq!(check_base_url(bad).unwrap_err(), why, "{bad}");
        }
        assert!(
            BaseUrlError::Cleartext.to_string().contains("cleartext"),
            "the error says why"
        );
    }

    #[test]
    fn default_rate_stays_under_cloudflare_limit() {
        let config = ClientConfig::default();
        // Worst case in any 300 s window: the burst plus 300 s at the steady rate.
        let worst = f64::from(config.rate_limit_burst) + config.requests_per_second * 300.0;
        assert!(worst < 1200.0, "{worst}");
    }
}
