//! Fault injection: statuses, 429s, latency, dropped connections after commit; through
//! the library and the admin API.

use std::time::{Duration, Instant};

use cfaccess_emulator::{Fault, FaultKind};
use reqwest::Method;
use serde_json::json;

use super::common::*;

fn fault(method: Option<&str>, path: &str, kind: FaultKind, count: u32) -> Fault {
    Fault {
        method: method.map(str::to_string),
        path: path.to_string(),
        kind,
        count,
    }
}

/// A fresh emulator with one fault armed.
async fn api_with_fault(method: Option<&str>, path: &str, kind: FaultKind, count: u32) -> Api {
    let api = Api::start().await;
    api.emu.add_fault(fault(method, path, kind, count));
    api
}

fn policy_body() -> serde_json::Value {
    json!({"name": "p", "decision": "allow", "include": [{"everyone": {}}]})
}

#[tokio::test]
async fn status_faults_hit_n_matching_requests_and_commit_nothing() {
    let api = api_with_fault(
        Some("POST"),
        "/accounts/*/access/policies",
        FaultKind::Status(503),
        2,
    )
    .await;
    api.get("/policies").await.ok(200); // GET does not match
    for _ in 0..2 {
        let r = api.post("/policies", policy_body()).await;
        r.err(503, 19503);
    }
    assert!(api.emu.policies(ACC).is_empty(), "nothing committed");
    api.post("/policies", policy_body()).await.ok(201);
    assert!(api.emu.faults().is_empty(), "exhausted faults are removed");

    for (status, code) in [(500, 19500), (502, 19502), (409, 19409)] {
        api.emu
            .add_fault(fault(None, "/**", FaultKind::Status(status), 1));
        api.get("/apps").await.err(status, code);
    }
    // 429 as a status behaves like the rate-limit switch: retry-after 1, code 971.
    api.emu
        .add_fault(fault(None, "/**", FaultKind::Status(429), 1));
    let r = api.get("/apps").await;
    r.err(429, 971);
    assert_eq!(r.header("retry-after").as_deref(), Some("1"));
}

#[tokio::test]
async fn persistent_faults_until_cleared() {
    let api = api_with_fault(
        Some("PUT"),
        "/accounts/*/access/apps/*",
        FaultKind::Status(409),
        u32::MAX,
    )
    .await;
    let app = api.self_hosted("a", "a.example.com").await;
    let path = format!("/apps/{}", id(&app));
    for _ in 0..5 {
        api.put(
            &path,
            json!({"type": "self_hosted", "domain": "a.example.com", "name": "b"}),
        )
        .await
        .err(409, 19409);
    }
    assert_eq!(api.emu.faults().len(), 1);
    api.emu.clear_faults();
    api.put(
        &path,
        json!({"type": "self_hosted", "domain": "a.example.com", "name": "b"}),
    )
    .await
    .ok(200);
}

#[tokio::test]
async fn rate_limited_fault_sets_retry_after() {
    let api = api_with_fault(
        None,
        "/accounts/*/access/apps",
        FaultKind::RateLimited {
            retry_after_secs: 7,
        },
        1,
    )
    .await;
    let r = api
        .post(
            "/apps",
            json!({"type": "self_hosted", "domain": "a.example.com"}),
        )
        .await;
    r.err(429, 971);
    assert_eq!(r.header("retry-after").as_deref(), Some("7"));
    assert!(api.emu.apps(ACC).is_empty());
    api.post(
        "/apps",
        json!({"type": "self_hosted", "domain": "a.example.com"}),
    )
    .await
    .ok(201);
}

#[tokio::test]
async fn latency_delays_then_handles_normally() {
    let api = api_with_fault(
        Some("GET"),
        "/accounts/*/access/apps",
        FaultKind::Latency(Duration::from_millis(300)),
        1,
    )
    .await;
    let started = Instant::now();
    api.get("/apps").await.ok(200);
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "the response waited for the injected latency"
    );
}

#[tokio::test]
async fn drop_after_commit_loses_the_response_but_keeps_the_write() {
    let api = api_with_fault(
        Some("POST"),
        "/accounts/*/access/apps",
        FaultKind::DropAfterCommit,
        1,
    )
    .await;
    let client = reqwest::Client::new();
    let result = client
        .post(api.access("/apps"))
        .bearer_auth(TOKEN)
        .json(&json!({"type": "self_hosted", "name": "ghost", "domain": "ghost.example.com"}))
        .send()
        .await;
    assert!(
        result.is_err(),
        "the client sees a connection error, got {result:?}"
    );
    let apps = api.emu.apps(ACC);
    assert_eq!(apps.len(), 1, "the write was committed");
    assert_eq!(apps[0]["name"], json!("ghost"));
    let log = api.emu.request_log();
    let last = log.last().unwrap();
    assert_eq!(
        (last.method.as_str(), last.status, last.dropped),
        ("POST", 201, true)
    );
    // A retry of the same create now meets the committed object.
    api.post(
        "/apps",
        json!({"type": "self_hosted", "name": "ghost", "domain": "ghost.example.com"}),
    )
    .await
    .err(400, 19006);
}

api_test!(admin_fault_api, |api| {
    let (s, body) = api
        .admin(Method::POST, "/faults", Some(&json!({"method": "post", "path": "/accounts/*/access/policies", "status": 502, "count": 1})))
        .await;
    assert_eq!(s, 201, "{body}");
    assert_eq!(body["status"], json!(502));
    let (s, _) = api
        .admin(
            Method::POST,
            "/faults",
            Some(&json!({"path": "/**", "rate_limited_retry_after": 3, "persistent": true})),
        )
        .await;
    assert_eq!(s, 201);
    let (_, listed) = api.admin(Method::GET, "/faults", None).await;
    assert_eq!(listed["faults"].as_array().unwrap().len(), 2);
    api.post("/policies", policy_body()).await.err(502, 19502);
    api.get("/apps").await.err(429, 971);
    let (s, _) = api.admin(Method::DELETE, "/faults", None).await;
    assert_eq!(s, 200);
    api.get("/apps").await.ok(200);
    // Drop and latency through JSON as well.
    let (s, _) = api
        .admin(
            Method::POST,
            "/faults",
            Some(&json!({"path": "/accounts/*/access/policies", "drop_after_commit": true})),
        )
        .await;
    assert_eq!(s, 201);
    let dropped = reqwest::Client::new()
        .post(api.access("/policies"))
        .bearer_auth(TOKEN)
        .json(&policy_body())
        .send()
        .await;
    assert!(dropped.is_err());
    assert_eq!(api.emu.policies(ACC).len(), 1);
    for bad in [
        json!({"path": "/**"}),
        json!({"path": "/**", "status": 503, "latency_ms": 5}),
        json!({"path": "no-slash", "status": 503}),
        json!({"path": "/**", "status": 200}),
        json!({"path": "/**", "status": 503, "surprise": 1}),
    ] {
        let (s, body) = api.admin(Method::POST, "/faults", Some(&bad)).await;
        assert_eq!(s, 400, "{bad} → {body}");
    }
});
