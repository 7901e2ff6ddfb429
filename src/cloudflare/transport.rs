//! One HTTP exchange with the API, and the retry loop for idempotent calls.
//!
//! Every attempt takes a token from the shared rate limiter, carries the bearer token
//! in a header marked sensitive, and is logged (method, path, status, attempt,
//! latency) without headers or bodies.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use rand::Rng;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::config::{ClientConfig, MAX_RESPONSE_BYTES, check_base_url};
use super::envelope::{Envelope, body_preview};
use super::error::ApiError;
use super::rate_limit::{Permits, RateLimiter, sleep_or_stop};

/// A request to send (path relative to the base URL, starting with `/`).
///
/// `Debug` leaves the body out (an application body can carry a `client_secret`).
#[derive(Clone)]
pub(crate) struct Request<'a> {
    pub method: Method,
    pub path: String,
    pub query: Vec<(&'static str, String)>,
    pub body: Option<&'a Value>,
    /// Treat 409 as transient (policy delete racing a detach).
    pub retry_conflict: bool,
}

impl std::fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("body", &self.body.map(|_| "<redacted>"))
            .field("retry_conflict", &self.retry_conflict)
            .finish()
    }
}

impl<'a> Request<'a> {
    pub fn new(method: Method, path: String) -> Self {
        Request {
            method,
            path,
            query: Vec::new(),
            body: None,
            retry_conflict: false,
        }
    }

    pub fn with_body(mut self, body: &'a Value) -> Self {
        self.body = Some(body);
        self
    }
}

/// A successful response.
#[derive(Debug)]
pub(crate) struct Success {
    pub envelope: Envelope,
}

/// Outcome of a single attempt.
#[derive(Debug)]
pub(crate) enum Attempt {
    /// Final: success, or a failure that retrying cannot fix.
    Done(Result<Success, ApiError>),
    /// Worth retrying. `ambiguous` means the server may have acted on the request
    /// (no response, or a 5xx/408), which matters for non-idempotent POSTs.
    Retryable {
        error: ApiError,
        retry_after: Option<Duration>,
        ambiguous: bool,
    },
}

/// Counters of what the client did, for benchmarks and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// HTTP attempts sent (retries included).
    pub requests: u64,
    /// Attempts that were retries.
    pub retries: u64,
    /// Responses that were 429 or carried code 971.
    pub throttled: u64,
}

#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    retries: AtomicU64,
    throttled: AtomicU64,
}

#[derive(Debug)]
pub(crate) struct Transport {
    http: reqwest::Client,
    base_url: String,
    auth: HeaderValue,
    limiter: RateLimiter,
    pub(crate) max_retries: u32,
    request_timeout: Duration,
    pub(crate) min_backoff: Duration,
    max_backoff: Duration,
    max_retry_after: Duration,
    pub(crate) stop: CancellationToken,
    counters: Counters,
}

impl Transport {
    pub fn new(config: &ClientConfig, stop: CancellationToken) -> Result<Transport, ApiError> {
        let base_url = config.base_url.trim().trim_end_matches('/').to_owned();
        // https only (http on loopback): the bearer token goes with every request.
        check_base_url(&base_url)
            .map_err(|why| ApiError::InvalidConfig(format!("base_url {why}")))?;
        if config.api_token.is_empty() {
            return Err(ApiError::InvalidConfig("api_token is empty".into()));
        }
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", config.api_token.expose()))
            .map_err(|_| {
                ApiError::InvalidConfig(
                    "api_token contains characters not allowed in an HTTP header".into(),
                )
            })?;
        auth.set_sensitive(true);
        if config.request_timeout.is_zero() {
            return Err(ApiError::InvalidConfig(
                "request_timeout must be greater than zero".into(),
            ));
        }

        let mut defaults = HeaderMap::new();
        defaults.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let user_agent = HeaderValue::from_str(&config.user_agent()).map_err(|_| {
            ApiError::InvalidConfig("terraform_version contains invalid characters".into())
        })?;
        let http = reqwest::Client::builder()
            .user_agent(user_agent)
            .default_headers(defaults)
            .connect_timeout(config.request_timeout.min(Duration::from_secs(10)))
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| {
                ApiError::InvalidConfig(format!("could not build the HTTP client: {e}"))
            })?;

        Ok(Transport {
            http,
            base_url,
            auth,
            limiter: RateLimiter::new(config.requests_per_second, config.rate_limit_burst),
            max_retries: config.max_retries,
            request_timeout: config.request_timeout,
            min_backoff: config.min_backoff,
            max_backoff: config.max_backoff.max(config.min_backoff),
            max_retry_after: config.max_retry_after,
            stop,
            counters: Counters::default(),
        })
    }

    pub fn stats(&self) -> ClientStats {
        ClientStats {
            requests: self.counters.requests.load(Ordering::Relaxed),
            retries: self.counters.retries.load(Ordering::Relaxed),
            throttled: self.counters.throttled.load(Ordering::Relaxed),
        }
    }

    /// Sends an idempotent request (GET, PUT, DELETE), retrying transient failures.
    pub async fn execute(&self, request: &Request<'_>) -> Result<Success, ApiError> {
        let mut attempt = 1;
        loop {
            match self.attempt(request, attempt).await {
                Attempt::Done(result) => return result.map_err(|e| with_attempts(e, attempt)),
                Attempt::Retryable {
                    error, retry_after, ..
                } => {
                    if attempt > self.max_retries {
                        return Err(with_attempts(error, attempt));
                    }
                    self.wait_before_retry(request, attempt, retry_after, &error, Duration::ZERO)
                        .await?;
                    attempt += 1;
                }
            }
        }
    }

    /// Sleeps before retry number `attempt` (1-based count of attempts made so far),
    /// never less than `at_least`.
    pub async fn wait_before_retry(
        &self,
        request: &Request<'_>,
        attempt: u32,
        retry_after: Option<Duration>,
        error: &ApiError,
        at_least: Duration,
    ) -> Result<(), ApiError> {
        let delay = self.backoff(attempt, retry_after).max(at_least);
        tracing::info!(
            method = %request.method,
            path = %request.path,
            attempt,
            delay_ms = delay.as_millis() as u64,
            error = %error,
            "retrying Cloudflare API request"
        );
        self.counters.retries.fetch_add(1, Ordering::Relaxed);
        sleep_or_stop(delay, self.stop_for()).await
    }

    /// Full-jitter exponential backoff, or the server's `retry-after` plus a little
    /// jitter so that waiting tasks do not all return in the same millisecond.
    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let mut rng = rand::rng();
        if let Some(after) = retry_after {
            let after = after.min(self.max_retry_after);
            let spread = (after / 10).min(Duration::from_secs(1));
            return after + spread.mul_f64(rng.random::<f64>());
        }
        let exponent = attempt.saturating_sub(1).min(20);
        let ceiling = self
            .min_backoff
            .saturating_mul(1u32 << exponent)
            .min(self.max_backoff);
        ceiling.mul_f64(rng.random::<f64>())
    }

    /// One attempt: rate limiter, send, classify.
    pub async fn attempt(&self, request: &Request<'_>, attempt: u32) -> Attempt {
        if let Err(cancelled) = self.limiter.acquire(self.stop_for()).await {
            return Attempt::Done(Err(cancelled));
        }
        self.send_attempt(request, attempt).await
    }

    /// One attempt paid with a token from `permits` (taken earlier, together with the
    /// tokens of the requests that must follow it without a wait); when none is left,
    /// waits for one like [`Transport::attempt`]. Never retried here: the caller
    /// decides what a retry must send.
    pub async fn attempt_with(
        &self,
        request: &Request<'_>,
        attempt: u32,
        permits: &mut Permits<'_>,
    ) -> Attempt {
        if permits.spend() {
            // Once stopped, no further request is started (as in the limiter's wait).
            if self.stop_for().is_cancelled() {
                return Attempt::Done(Err(ApiError::Cancelled));
            }
            self.send_attempt(request, attempt).await
        } else {
            self.attempt(request, attempt).await
        }
    }

    /// Reserves `count` rate-limit tokens at once (see [`RateLimiter::acquire_many`]).
    pub async fn reserve(&self, count: u32) -> Result<Permits<'_>, ApiError> {
        self.limiter.acquire_many(count, self.stop_for()).await
    }

    /// The stop token this task's requests obey: the provider's, except inside
    /// [`detached_from_stop`].
    fn stop_for(&self) -> &CancellationToken {
        if detached() {
            never_stopped()
        } else {
            &self.stop
        }
    }

    /// Sends one attempt whose rate-limit token is already paid, and classifies it.
    async fn send_attempt(&self, request: &Request<'_>, attempt: u32) -> Attempt {
        let method_text = request.method.as_str().to_owned();
        let url = match self.url(request) {
            Ok(url) => url,
            Err(error) => return Attempt::Done(Err(error)),
        };
        let mut builder = self
            .http
            .request(request.method.clone(), url)
            .header(AUTHORIZATION, self.auth.clone())
            .timeout(self.request_timeout);
        if let Some(body) = request.body {
            match serde_json::to_vec(body) {
                Ok(bytes) => builder = builder.header(CONTENT_TYPE, "application/json").body(bytes),
                Err(e) => {
                    return Attempt::Done(Err(ApiError::Decode {
                        method: method_text,
                        path: request.path.clone(),
                        message: format!("request body is not serialisable: {e}"),
                    }));
                }
            }
        }

        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        // Reads are abandoned when the provider is told to stop; writes run to their
        // (bounded) end so the outcome is known.
        let abandon = request.method == Method::GET && !detached();
        let sent = match until_stopped(abandon, &self.stop, builder.send()).await {
            Some(sent) => sent,
            None => return Attempt::Done(Err(ApiError::Cancelled)),
        };
        let response = match sent {
            Ok(response) => response,
            Err(e) => {
                let outcome = self.transport_failure(request, &e);
                tracing::debug!(
                    method = %request.method,
                    path = %request.path,
                    attempt,
                    latency_ms = started.elapsed().as_millis() as u64,
                    error = %outcome_error(&outcome),
                    "cloudflare api request failed without a response"
                );
                return outcome;
            }
        };
        let status = response.status();
        let retry_after = parse_retry_after(response.headers(), status.as_u16(), SystemTime::now());
        let body = match until_stopped(
            abandon,
            &self.stop,
            read_capped(response, MAX_RESPONSE_BYTES),
        )
        .await
        {
            Some(Ok(body)) => body,
            Some(Err(TooLarge)) => {
                return Attempt::Done(Err(ApiError::Decode {
                    method: method_text,
                    path: request.path.clone(),
                    message: format!(
                        "the response body is larger than {} MiB, more than any Access API \
                         response should be; refused rather than read",
                        MAX_RESPONSE_BYTES / (1024 * 1024)
                    ),
                }));
            }
            None => return Attempt::Done(Err(ApiError::Cancelled)),
        };
        let latency_ms = started.elapsed().as_millis() as u64;
        tracing::debug!(
            method = %request.method,
            path = %request.path,
            status = status.as_u16(),
            attempt,
            latency_ms,
            "cloudflare api request"
        );
        let body = match body {
            Ok(body) => body,
            Err(e) => return self.transport_failure(request, &e),
        };
        self.classify(request, status, retry_after, &body)
    }

    fn url(&self, request: &Request<'_>) -> Result<url::Url, ApiError> {
        let mut url =
            url::Url::parse(&format!("{}{}", self.base_url, request.path)).map_err(|e| {
                ApiError::InvalidConfig(format!("cannot build a URL for {}: {e}", request.path))
            })?;
        if !request.query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(request.query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        Ok(url)
    }

    fn transport_failure(&self, request: &Request<'_>, error: &reqwest::Error) -> Attempt {
        let method = request.method.as_str().to_owned();
        let path = request.path.clone();
        // A connect failure means nothing reached the server, so even a POST may be
        // resent; anything later leaves the outcome unknown.
        let ambiguous = !error.is_connect();
        let error = if error.is_timeout() {
            ApiError::Timeout {
                method,
                path,
                after: self.request_timeout,
                attempts: 1,
            }
        } else {
            ApiError::Transport {
                method,
                path,
                message: describe(error),
                attempts: 1,
            }
        };
        Attempt::Retryable {
            error,
            retry_after: None,
            ambiguous,
        }
    }

    fn classify(
        &self,
        request: &Request<'_>,
        status: StatusCode,
        retry_after: Option<Duration>,
        body: &[u8],
    ) -> Attempt {
        let method = request.method.as_str().to_owned();
        let path = request.path.clone();
        let envelope = if body.iter().all(u8::is_ascii_whitespace) {
            Some(Envelope::default())
        } else {
            Envelope::parse(body)
        };

        if status.is_success() {
            return match envelope {
                Some(envelope) if envelope.success != Some(false) => {
                    Attempt::Done(Ok(Success { envelope }))
                }
                Some(envelope) => {
                    let throttled = envelope.is_throttled();
                    self.failure(request, status, retry_after, envelope.errors, throttled)
                }
                None => Attempt::Done(Err(ApiError::Decode {
                    method,
                    path,
                    message: format!(
                        "HTTP {} with a body that is not a JSON envelope",
                        status.as_u16()
                    ),
                })),
            };
        }

        let (errors, throttled) = match envelope {
            Some(envelope) => {
                let throttled = envelope.is_throttled();
                (envelope.errors, throttled)
            }
            None => (
                vec![super::error::CfMessage {
                    code: 0,
                    message: format!("non-JSON response: {}", body_preview(body)),
                }],
                false,
            ),
        };
        if status == StatusCode::NOT_FOUND {
            return Attempt::Done(Err(ApiError::NotFound {
                method,
                path,
                errors,
            }));
        }
        self.failure(request, status, retry_after, errors, throttled)
    }

    fn failure(
        &self,
        request: &Request<'_>,
        status: StatusCode,
        retry_after: Option<Duration>,
        errors: Vec<super::error::CfMessage>,
        throttled: bool,
    ) -> Attempt {
        let error = ApiError::Api {
            status: status.as_u16(),
            errors,
            method: request.method.as_str().to_owned(),
            path: request.path.clone(),
            attempts: 1,
        };
        if status == StatusCode::TOO_MANY_REQUESTS || throttled {
            self.counters.throttled.fetch_add(1, Ordering::Relaxed);
            if let Some(after) = retry_after {
                self.limiter.pause_for(after.min(self.max_retry_after));
            }
            tracing::warn!(
                method = %request.method,
                path = %request.path,
                status = status.as_u16(),
                retry_after_s = retry_after.map(|d| d.as_secs_f64()),
                "Cloudflare API rate limit hit"
            );
            // The server refused the request before acting on it.
            return Attempt::Retryable {
                error,
                retry_after,
                ambiguous: false,
            };
        }
        if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT {
            return Attempt::Retryable {
                error,
                retry_after,
                ambiguous: true,
            };
        }
        if status == StatusCode::CONFLICT && request.retry_conflict {
            return Attempt::Retryable {
                error,
                retry_after,
                ambiguous: false,
            };
        }
        Attempt::Done(Err(error))
    }
}

tokio::task_local! {
    /// Set around work that must finish even when the provider is stopping.
    static DETACHED_FROM_STOP: bool;
}

/// Runs `work` with its requests (waits, retries and reads included) ignoring the
/// provider's stop token: for the lookup after a create that may have been committed,
/// which must run to find the object or it is orphaned. The caller bounds it in time.
pub(crate) async fn detached_from_stop<F: std::future::Future>(work: F) -> F::Output {
    DETACHED_FROM_STOP.scope(true, work).await
}

fn detached() -> bool {
    DETACHED_FROM_STOP
        .try_with(|detached| *detached)
        .unwrap_or(false)
}

fn never_stopped() -> &'static CancellationToken {
    static NEVER: std::sync::OnceLock<CancellationToken> = std::sync::OnceLock::new();
    NEVER.get_or_init(CancellationToken::new)
}

/// A response body over the size cap.
struct TooLarge;

/// Reads a response body, refusing it (without reading the rest) as soon as it is
/// known to exceed `cap` bytes: from `content-length`, or while streaming a body that
/// has none or understates it.
async fn read_capped(
    mut response: reqwest::Response,
    cap: usize,
) -> Result<Result<Vec<u8>, reqwest::Error>, TooLarge> {
    let cap_u64 = u64::try_from(cap).unwrap_or(u64::MAX);
    if response.content_length().is_some_and(|len| len > cap_u64) {
        return Err(TooLarge);
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > cap {
                    return Err(TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(Ok(body)),
            Err(e) => return Ok(Err(e)),
        }
    }
}

#[cfg(test)]
mod body_cap_tests {
    use super::*;
    use tokio::io::AsyncWriteExt as _;

    /// Serves one raw HTTP response per connection; returns the base URL.
    async fn serve_raw(head: String, body_len: usize) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let head = head.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = tokio::io::AsyncReadExt::read(&mut socket, &mut buf).await;
                    let _ = socket.write_all(head.as_bytes()).await;
                    let chunk = vec![b' '; 64 * 1024];
                    let mut left = body_len;
                    while left > 0 {
                        let n = left.min(chunk.len());
                        if socket.write_all(&chunk[..n]).await.is_err() {
                            return;
                        }
                        left -= n;
                    }
                });
            }
        });
        base
    }

    async fn fetch(base: &str, cap: usize) -> Result<Result<Vec<u8>, reqwest::Error>, TooLarge> {
        let response = reqwest::get(format!("{base}/x")).await.unwrap();
        read_capped(response, cap).await
    }

    #[tokio::test]
    async fn bodies_over_the_cap_are_refused_with_or_without_a_length() {
        let declared = serve_raw(
            "HTTP/1.1 200 OK\r\ncontent-length: 5000\r\nconnection: close\r\n\r\n".into(),
            5000,
        )
        .await;
        assert!(matches!(fetch(&declared, 1024).await, Err(TooLarge)));
        assert_eq!(
            fetch(&declared, 5000).await.ok().unwrap().unwrap().len(),
            5000
        );
        // No content-length: the cap is enforced while streaming.
        let streamed = serve_raw("HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n".into(), 5000).await;
        assert!(matches!(fetch(&streamed, 1024).await, Err(TooLarge)));
        assert_eq!(
            fetch(&streamed, 8192).await.ok().unwrap().unwrap().len(),
            5000
        );
    }

    #[tokio::test]
    async fn an_oversized_api_response_is_a_clear_error_not_a_retry() {
        let huge = MAX_RESPONSE_BYTES + 1;
        let base = serve_raw(
            format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {huge}\r\nconnection: close\r\n\r\n"
            ),
            huge,
        )
        .await;
        let config = ClientConfig {
            base_url: base,
            api_token: "t".into(),
            requests_per_second: 0.0,
            ..Default::default()
        };
        let transport = Transport::new(&config, CancellationToken::new()).unwrap();
        let request = Request::new(Method::GET, "/accounts/a/access/apps".into());
        let error = transport.execute(&request).await.unwrap_err();
        let text = error.to_string();
        assert!(text.contains("GET /accounts/a/access/apps"), "{text}");
        assert!(text.contains("larger than 32 MiB"), "{text}");
        assert_eq!(transport.stats().requests, 1, "refused, not retried");
    }
}

/// Awaits `future`; when `abandon` is set and `stop` fires first, gives up (`None`).
async fn until_stopped<T>(
    abandon: bool,
    stop: &CancellationToken,
    future: impl std::future::Future<Output = T>,
) -> Option<T> {
    if !abandon {
        return Some(future.await);
    }
    tokio::select! {
        _ = stop.cancelled() => None,
        output = future => Some(output),
    }
}

fn outcome_error(outcome: &Attempt) -> String {
    match outcome {
        Attempt::Done(Err(e)) | Attempt::Retryable { error: e, .. } => e.to_string(),
        Attempt::Done(Ok(_)) => String::new(),
    }
}

/// The error and its sources on one line (reqwest's own text names the URL, which
/// holds no credentials).
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        let inner_text = inner.to_string();
        if !text.contains(&inner_text) {
            text.push_str(": ");
            text.push_str(&inner_text);
        }
        source = inner.source();
    }
    text
}

/// How long the server asks a client to wait before the next attempt, read as liberally
/// as Cloudflare's own SDKs read it: `retry-after-ms` (milliseconds) first, then
/// `retry-after` in seconds (Cloudflare sends whole seconds; fractions accepted) or as an
/// HTTP date. On a 429 without either, `x-ratelimit-reset` (an HTTP date, or seconds)
/// says when the window reopens.
fn parse_retry_after(headers: &HeaderMap, status: u16, now: SystemTime) -> Option<Duration> {
    let text = |name: &str| headers.get(name)?.to_str().ok().map(str::trim);
    let seconds = |s: &str| -> Option<Duration> {
        let n: f64 = s.parse().ok()?;
        (n.is_finite() && n >= 0.0).then(|| Duration::from_secs_f64(n.min(86_400.0)))
    };
    let until = |s: &str| -> Option<Duration> {
        let at = httpdate::parse_http_date(s).ok()?;
        Some(at.duration_since(now).unwrap_or(Duration::ZERO))
    };
    if let Some(ms) = text("retry-after-ms").and_then(seconds) {
        return Some(ms / 1000);
    }
    if let Some(value) = text(RETRY_AFTER.as_str()) {
        return seconds(value).or_else(|| until(value));
    }
    if status == 429 {
        return text("x-ratelimit-reset").and_then(|v| seconds(v).or_else(|| until(v)));
    }
    None
}

/// Records the attempt count in a final error.
pub(crate) fn with_attempts(error: ApiError, count: u32) -> ApiError {
    match error {
        ApiError::Api {
            status,
            errors,
            method,
            path,
            ..
        } => ApiError::Api {
            status,
            errors,
            method,
            path,
            attempts: count,
        },
        ApiError::Transport {
            method,
            path,
            message,
            ..
        } => ApiError::Transport {
            method,
            path,
            message,
            attempts: count,
        },
        ApiError::Timeout {
            method,
            path,
            after,
            ..
        } => ApiError::Timeout {
            method,
            path,
            after,
            attempts: count,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_parsing() {
        // 2015-10-21T07:28:00Z
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        let parse = |h: &HeaderMap| parse_retry_after(h, 429, now);
        let mut headers = HeaderMap::new();
        assert_eq!(parse(&headers), None);
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(parse(&headers), Some(Duration::from_secs(7)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("0.5"));
        assert_eq!(parse(&headers), Some(Duration::from_millis(500)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("-3"));
        assert_eq!(parse(&headers), None);
        // An HTTP date: the time left until then; a date already past means now.
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:42 GMT"),
        );
        assert_eq!(parse(&headers), Some(Duration::from_secs(42)));
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:00:00 GMT"),
        );
        assert_eq!(parse(&headers), Some(Duration::ZERO));
        // retry-after-ms wins over retry-after.
        headers.insert("retry-after-ms", HeaderValue::from_static("250"));
        assert_eq!(parse(&headers), Some(Duration::from_millis(250)));
    }

    #[test]
    fn rate_limit_reset_counts_only_on_a_429_without_retry_after() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-ratelimit-reset",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:29:00 GMT"),
        );
        assert_eq!(
            parse_retry_after(&headers, 429, now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(parse_retry_after(&headers, 503, now), None);
        headers.insert("x-ratelimit-reset", HeaderValue::from_static("30"));
        assert_eq!(
            parse_retry_after(&headers, 429, now),
            Some(Duration::from_secs(30))
        );
        headers.insert(RETRY_AFTER, HeaderValue::from_static("5"));
        assert_eq!(
            parse_retry_after(&headers, 429, now),
            Some(Duration::from_secs(5))
        );
    }

    fn transport(min: u64, max: u64) -> Transport {
        let config = ClientConfig {
            base_url: "http://127.0.0.1:9".into(),
            api_token: "t".into(),
            min_backoff: Duration::from_millis(min),
            max_backoff: Duration::from_millis(max),
            max_retry_after: Duration::from_secs(5),
            ..Default::default()
        };
        Transport::new(&config, CancellationToken::new()).unwrap()
    }

    #[test]
    fn backoff_is_bounded_full_jitter() {
        let t = transport(100, 1000);
        for attempt in 1..10 {
            let ceiling = Duration::from_millis((100u64 << (attempt - 1)).min(1000));
            for _ in 0..50 {
                assert!(t.backoff(attempt, None) <= ceiling);
            }
        }
        for _ in 0..50 {
            let d = t.backoff(1, Some(Duration::from_secs(2)));
            assert!(
                d >= Duration::from_secs(2) && d <= Duration::from_millis(2200),
                "{d:?}"
            );
            // capped by max_retry_after
            let d = t.backoff(1, Some(Duration::from_secs(300)));
            assert!(
                d >= Duration::from_secs(5) && d <= Duration::from_millis(5500),
                "{d:?}"
            );
        }
    }

    #[test]
    fn config_is_validated() {
        let bad =
            |config: ClientConfig| Transport::new(&config, CancellationToken::new()).unwrap_err();
        let ok = ClientConfig {
            api_token: "t".into(),
            ..Default::default()
        };
        assert!(matches!(
            bad(ClientConfig {
                api_token: "".into(),
                ..ok.clone()
            }),
            ApiError::InvalidConfig(_)
        ));
        assert!(matches!(
            bad(ClientConfig {
                base_url: "ftp://x".into(),
                ..ok.clone()
            }),
            ApiError::InvalidConfig(_)
        ));
        let err = bad(ClientConfig {
            api_token: "line\nbreak-secret".into(),
            ..ok.clone()
        });
        assert!(!err.to_string().contains("break-secret"));
    }
}
