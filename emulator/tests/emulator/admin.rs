//! The admin HTTP API: request log, state dump/replace, out-of-band changes.

use cfaccess_emulator::{EmulatorConfig, demo_ids};
use reqwest::Method;
use serde_json::json;

use super::common::*;

api_test!(request_log_with_counts, |api| {
    api.get("/apps?per_page=5").await.ok(200);
    api.post(
        "/policies",
        json!({"name": "p", "decision": "allow", "include": [{"everyone": {}}]}),
    )
    .await
    .ok(201);
    api.post("/policies", json!({"name": "p"}))
        .await
        .err(400, 19000);
    let (status, log) = api.admin(Method::GET, "/requests", None).await;
    assert_eq!(status, 200);
    assert_eq!(log["count"], json!(3));
    assert_eq!(log["writes"], json!(2));
    assert_eq!(log["by_method"], json!({"GET": 1, "POST": 2}));
    assert_eq!(log["by_status"], json!({"200": 1, "201": 1, "400": 1}));
    let first = &log["requests"][0];
    assert_eq!(
        first["path"],
        json!(format!("/client/v4/accounts/{ACC}/access/apps"))
    );
    assert_eq!(first["query"], json!("per_page=5"));
    assert!(first["time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(log["requests"][1]["body"]["name"], json!("p"));
    // Admin calls themselves are not logged.
    let (_, again) = api.admin(Method::GET, "/requests", None).await;
    assert_eq!(again["count"], json!(3));
    let (status, cleared) = api.admin(Method::DELETE, "/requests", None).await;
    assert_eq!((status, cleared["cleared"].clone()), (200, json!(3)));
    assert!(api.emu.request_log().is_empty());
});

api_test!(out_of_band_patch_and_delete, Api::demo(), |api| {
    let app_path = format!("/accounts/{ACC}/apps/{}", demo_ids::INTERNAL_API_APP);
    let (status, patched) = api
        .admin(
            Method::PATCH,
            &app_path,
            Some(&json!({"name": "Renamed", "tags": ["drift"], "logo_url": null})),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    let got = api
        .get_ok(&format!("/apps/{}", demo_ids::INTERNAL_API_APP))
        .await;
    assert_eq!(got["name"], json!("Renamed"));
    assert_eq!(got["tags"], json!(["drift"]));
    assert_eq!(
        got["policies"][0]["id"],
        json!(demo_ids::INTERNAL_API_EMPLOYEES_POLICY),
        "merge patch keeps attachments"
    );

    let pol_path = format!(
        "/accounts/{ACC}/policies/{}",
        demo_ids::INTERNAL_API_EMPLOYEES_POLICY
    );
    let (status, _) = api
        .admin(Method::PATCH, &pol_path, Some(&json!({"decision": "deny"})))
        .await;
    assert_eq!(status, 200);
    let p = api
        .get_ok(&format!(
            "/policies/{}",
            demo_ids::INTERNAL_API_EMPLOYEES_POLICY
        ))
        .await;
    assert_eq!(
        (p["decision"].clone(), p["app_count"].clone()),
        (json!("deny"), json!(1))
    );

    // Deleting an attached policy out of band detaches it (the API would refuse with 409).
    let (status, _) = api.admin(Method::DELETE, &pol_path, None).await;
    assert_eq!(status, 200);
    let got = api
        .get_ok(&format!("/apps/{}", demo_ids::INTERNAL_API_APP))
        .await;
    assert_eq!(got["policies"], json!([]));
    let (status, _) = api.admin(Method::DELETE, &app_path, None).await;
    assert_eq!(status, 200);
    api.get(&format!("/apps/{}", demo_ids::INTERNAL_API_APP))
        .await
        .err(404, 19404);
    let (status, _) = api.admin(Method::DELETE, &app_path, None).await;
    assert_eq!(status, 404);
    assert_eq!(
        api.emu.write_count(),
        0,
        "out-of-band changes are not API writes"
    );
});

api_test!(attachments_endpoint, Api::demo(), |api| {
    let path = format!(
        "/accounts/{ACC}/apps/{}/attachments",
        demo_ids::COMPANY_WIKI_APP
    );
    let links = json!([
        {"id": demo_ids::INTERNAL_API_EMPLOYEES_POLICY, "precedence": 7},
        {"id": demo_ids::COMPANY_WIKI_EMPLOYEES_POLICY, "precedence": 3}
    ]);
    let (status, app) = api.admin(Method::PUT, &path, Some(&links)).await;
    assert_eq!(status, 200, "{app}");
    assert_eq!(
        app["policies"][0]["id"],
        json!(demo_ids::COMPANY_WIKI_EMPLOYEES_POLICY)
    );
    assert_eq!(app["policies"][1]["precedence"], json!(7));
    let p = api
        .get_ok(&format!(
            "/policies/{}",
            demo_ids::INTERNAL_API_EMPLOYEES_POLICY
        ))
        .await;
    assert_eq!(p["app_count"], json!(2));
    let bad = json!([{"id": "6cdc3892-f9f1-4813-a5ce-38c2753e1208", "precedence": 1}]);
    let (status, _) = api.admin(Method::PUT, &path, Some(&bad)).await;
    assert_eq!(status, 400);
});

#[tokio::test]
async fn state_dump_and_replace() {
    let source = Api::demo().await;
    let (status, dump) = source.admin(Method::GET, "/state", None).await;
    assert_eq!(status, 200);
    assert_eq!(dump["version"], json!(1));
    assert_eq!(dump["accounts"][ACC]["apps"].as_array().unwrap().len(), 2);

    let target = Api::start().await;
    target
        .self_hosted("to be replaced", "gone.example.com")
        .await;
    let (status, _) = target.admin(Method::PUT, "/state", Some(&dump)).await;
    assert_eq!(status, 200);
    assert_eq!(target.emu.apps(ACC), source.emu.apps(ACC));
    assert_eq!(target.emu.policies(ACC), source.emu.policies(ACC));
    target
        .delete(&format!(
            "/policies/{}",
            demo_ids::INTERNAL_API_EMPLOYEES_POLICY
        ))
        .await
        .err(409, 19001);
    let (status, _) = target
        .admin(
            Method::PUT,
            "/state",
            Some(&json!({"version": 99, "accounts": {}})),
        )
        .await;
    assert_eq!(status, 400);
    let (status, summary) = target.admin(Method::GET, "/", None).await;
    assert_eq!(status, 200);
    assert_eq!(summary["accounts"][ACC]["apps"], json!(2));
}

#[tokio::test]
async fn with_a_token_the_admin_api_requires_it() {
    let api = Api::with(EmulatorConfig {
        token: Some(TOKEN.into()),
        ..demo_config()
    })
    .await;
    let admin = api.emu.admin_url();
    let send = |method: Method, path: &str, token: Option<&str>| {
        let mut req = api.client.request(method, format!("{admin}{path}"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        async move { req.send().await.unwrap().status().as_u16() }
    };
    for (method, path) in [
        (Method::GET, "/"),
        (Method::GET, "/state"),
        (Method::PUT, "/state"),
        (Method::POST, "/faults"),
        (Method::DELETE, "/requests"),
        (Method::POST, "/edge/login"),
    ] {
        assert_eq!(
            send(method.clone(), path, None).await,
            401,
            "{method} {path}"
        );
        assert_eq!(
            send(method.clone(), path, Some("wrong")).await,
            401,
            "{method} {path}"
        );
    }
    assert_eq!(send(Method::GET, "/state", Some(TOKEN)).await, 200);
    let (status, _) = api.admin(Method::GET, "/faults", None).await;
    assert_eq!(status, 200, "the helper sends the token");
    // Edge decisions authenticate the app token they carry, not the admin token.
    let app = demo_ids::COMPANY_WIKI_APP;
    assert_eq!(send(Method::GET, &format!("/edge/{app}"), None).await, 403);

    // Without --token the admin API stays open, as before.
    let open = Api::start().await;
    let status = open
        .client
        .get(format!("{}/state", open.emu.admin_url()))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
}
