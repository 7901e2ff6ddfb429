//! The per-token sliding-window rate limit: 429, code 971, retry-after, x-ratelimit-*.

use std::time::Duration;

use cfaccess_emulator::EmulatorConfig;
use reqwest::Method;

use super::common::*;

#[tokio::test]
async fn limits_per_token_with_retry_after() {
    let api = Api::rate_limited(3, Duration::from_secs(60)).await;
    let url = api.access("/apps");
    for remaining in ["2", "1", "0"] {
        let r = api.raw(Method::GET, &url, None, Some("token-a")).await;
        r.ok(200);
        assert_eq!(r.header("x-ratelimit-limit").as_deref(), Some("3"));
        assert_eq!(
            r.header("x-ratelimit-remaining").as_deref(),
            Some(remaining)
        );
        assert!(r.header("x-ratelimit-reset").unwrap().ends_with(" GMT"));
    }
    let limited = api.raw(Method::GET, &url, None, Some("token-a")).await;
    limited.err(429, 971);
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "retry-after {retry}");
    assert_eq!(
        limited.header("x-ratelimit-remaining").as_deref(),
        Some("0")
    );
    // Writes are refused too, and nothing is committed.
    let body = serde_json::json!({"type": "self_hosted", "domain": "a.example.com"});
    api.raw(Method::POST, &url, Some(&body), Some("token-a"))
        .await
        .err(429, 971);
    assert!(api.emu.apps(ACC).is_empty());
    // Another token has its own window.
    api.raw(Method::GET, &url, None, Some("token-b"))
        .await
        .ok(200);
    // Admin endpoints are not limited.
    let (status, _) = api.admin(Method::GET, "/requests", None).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn window_slides() {
    let api = Api::rate_limited(2, Duration::from_secs(1)).await;
    let url = api.access("/policies");
    api.raw(Method::GET, &url, None, Some("t")).await.ok(200);
    api.raw(Method::GET, &url, None, Some("t")).await.ok(200);
    let limited = api.raw(Method::GET, &url, None, Some("t")).await;
    limited.err(429, 971);
    assert_eq!(limited.header("retry-after").as_deref(), Some("1"));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    api.raw(Method::GET, &url, None, Some("t")).await.ok(200);
}

#[tokio::test]
async fn default_is_cloudflares_limit_and_off_sends_no_headers() {
    let api = Api::with(EmulatorConfig::default()).await;
    let r = api.get("/apps").await;
    assert_eq!(r.header("x-ratelimit-limit").as_deref(), Some("1200"));
    assert_eq!(r.header("x-ratelimit-remaining").as_deref(), Some("1199"));
    let fast = Api::start().await;
    assert_eq!(fast.get("/apps").await.header("x-ratelimit-limit"), None);
}
