//! The Rust API used by other crates' tests: queries, out-of-band helpers, log, shutdown.

use cfaccess_emulator::{Emulator, demo_ids};
use serde_json::json;

use super::common::*;

api_test!(urls_and_demo_seed, Api::demo(), |api| {
    let port = api.emu.addr().port();
    assert_ne!(port, 0);
    assert_eq!(
        api.emu.base_url(),
        format!("http://127.0.0.1:{port}/client/v4")
    );
    assert_eq!(
        api.emu.admin_url(),
        format!("http://127.0.0.1:{port}/__emulator")
    );
    let apps = api.emu.apps(ACC);
    let names: Vec<_> = apps
        .iter()
        .map(|a| (a["name"].clone(), a["domain"].clone(), a["type"].clone()))
        .collect();
    assert_eq!(
        names,
        vec![
            (
                json!("Internal API"),
                json!("api.internal.example.com"),
                json!("self_hosted")
            ),
            (
                json!("Company wiki"),
                json!("wiki.internal.example.com"),
                json!("self_hosted")
            ),
        ]
    );
    for app in &apps {
        let policies = app["policies"].as_array().unwrap();
        assert_eq!(policies.len(), 1);
        assert_eq!(policies[0]["name"], json!("Employees"));
        assert_eq!(policies[0]["decision"], json!("allow"));
        assert_eq!(policies[0]["precedence"], json!(1));
        assert_eq!(
            policies[0]["include"],
            json!([{"email_domain": {"domain": "example.com"}}])
        );
    }
    assert!(
        api.emu
            .policies(ACC)
            .iter()
            .all(|p| p["app_count"] == json!(1))
    );
    assert!(api.emu.apps("ffffffffffffffffffffffffffffffff").is_empty());
    assert_eq!(
        api.emu.app(ACC, demo_ids::COMPANY_WIKI_APP).unwrap()["name"],
        json!("Company wiki")
    );
});

/// The `app_count` the emulator computes for policy `id`.
fn app_count(api: &Api, id: &str) -> serde_json::Value {
    api.emu.policy(ACC, id).unwrap()["app_count"].clone()
}

api_test!(mutate_app_keeps_invariants, Api::demo(), |api| {
    let before = api.emu.app(ACC, demo_ids::INTERNAL_API_APP).unwrap();
    // Move the wiki's policy onto Internal API too, out of band.
    assert!(api.emu.mutate_app(ACC, demo_ids::INTERNAL_API_APP, |app| {
        app["policies"]
            .as_array_mut()
            .unwrap()
            .push(json!({"id": demo_ids::COMPANY_WIKI_EMPLOYEES_POLICY, "precedence": 9}));
        app["name"] = json!("Drifted");
        app["id"] = json!("cannot-change");
    }));
    let after = api.emu.app(ACC, demo_ids::INTERNAL_API_APP).unwrap();
    assert_eq!(after["name"], json!("Drifted"));
    assert_eq!(after["id"], json!(demo_ids::INTERNAL_API_APP));
    assert_eq!(after["aud"], before["aud"]);
    assert_ne!(after["updated_at"], before["updated_at"]);
    assert_eq!(
        app_count(&api, demo_ids::COMPANY_WIKI_EMPLOYEES_POLICY),
        json!(2)
    );
    // Remove every attachment: counts follow.
    assert!(
        api.emu
            .mutate_app(ACC, demo_ids::INTERNAL_API_APP, |app| app["policies"] =
                json!([]))
    );
    assert_eq!(
        app_count(&api, demo_ids::INTERNAL_API_EMPLOYEES_POLICY),
        json!(0)
    );
    assert_eq!(
        app_count(&api, demo_ids::COMPANY_WIKI_EMPLOYEES_POLICY),
        json!(1)
    );
    api.delete(&format!(
        "/policies/{}",
        demo_ids::INTERNAL_API_EMPLOYEES_POLICY
    ))
    .await
    .ok(202);
    // Unknown ids.
    assert!(
        !api.emu
            .mutate_app(ACC, "6cdc3892-f9f1-4813-a5ce-38c2753e1208", |_| {})
    );
    assert!(
        !api.emu
            .mutate_policy(ACC, "6cdc3892-f9f1-4813-a5ce-38c2753e1208", |_| {})
    );
    assert!(!api.emu.set_attachments_out_of_band(
        ACC,
        demo_ids::COMPANY_WIKI_APP,
        vec![("nope".into(), 1)]
    ));
    assert!(
        api.emu
            .mutate_app(ACC, demo_ids::COMPANY_WIKI_APP, |app| app["domain"] =
                json!("new.example.com"))
    );
    // The old domain is free again, the new one is taken.
    api.self_hosted("x", "wiki.internal.example.com").await;
    api.post(
        "/apps",
        json!({"type": "self_hosted", "domain": "new.example.com"}),
    )
    .await
    .err(400, 19006);
});

api_test!(out_of_band_deletes, Api::demo(), |api| {
    assert!(
        api.emu
            .delete_policy_out_of_band(ACC, demo_ids::INTERNAL_API_EMPLOYEES_POLICY)
    );
    assert_eq!(
        api.emu.app(ACC, demo_ids::INTERNAL_API_APP).unwrap()["policies"],
        json!([])
    );
    assert!(
        !api.emu
            .delete_policy_out_of_band(ACC, demo_ids::INTERNAL_API_EMPLOYEES_POLICY)
    );
    assert!(
        api.emu
            .delete_app_out_of_band(ACC, demo_ids::COMPANY_WIKI_APP)
    );
    assert_eq!(
        app_count(&api, demo_ids::COMPANY_WIKI_EMPLOYEES_POLICY),
        json!(0)
    );
    assert!(
        !api.emu
            .delete_app_out_of_band(ACC, demo_ids::COMPANY_WIKI_APP)
    );
    assert!(api.emu.request_log().is_empty());
});

api_test!(request_log_and_write_count, |api| {
    api.get("/apps").await.ok(200);
    let app = api.self_hosted("a", "a.example.com").await;
    api.delete(&format!("/apps/{}", id(&app))).await.ok(202);
    api.delete(&format!("/apps/{}", id(&app)))
        .await
        .err(404, 19404);
    let log = api.emu.request_log();
    let summary: Vec<(String, u16)> = log.iter().map(|r| (r.method.clone(), r.status)).collect();
    assert_eq!(
        summary,
        vec![
            ("GET".into(), 200),
            ("POST".into(), 201),
            ("DELETE".into(), 202),
            ("DELETE".into(), 404)
        ]
    );
    assert_eq!(
        log[1].body.as_ref().unwrap()["domain"],
        json!("a.example.com")
    );
    assert!(log[0].body.is_none() && log[0].query.is_none() && !log[0].dropped);
    assert!(log[1].path.ends_with("/access/apps"));
    assert_eq!(api.emu.write_count(), 3);
    api.emu.clear_request_log();
    assert_eq!(api.emu.write_count(), 0);
});

#[tokio::test]
async fn shutdown_and_drop_stop_the_server() {
    let emu = Emulator::start(fast_config()).await.unwrap();
    let addr = emu.addr();
    emu.shutdown().await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "port closed after shutdown"
    );

    let emu = Emulator::start(fast_config()).await.unwrap();
    let addr = emu.addr();
    drop(emu);
    tokio::task::yield_now().await;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "port closed after drop"
    );
}
