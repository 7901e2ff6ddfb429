//! `/access/apps`: create, get, PUT replacement, delete, filters, and the app rules.

use reqwest::Method;
use serde_json::{Value, json};

use super::common::*;

api_test!(create_self_hosted_fills_server_fields_and_defaults, |api| {
    let r = api
        .post("/apps", json!({"type": "self_hosted", "name": "internal-api", "domain": "api.example.com",
                               "tags": ["zeta", "alpha"], "service_auth_401_redirect": true, "not_a_field": 1}))
        .await;
    let app = r.ok(201).clone();
    let app_id = id(&app);
    assert!(uuid::Uuid::parse_str(&app_id).is_ok());
    assert_eq!(app["uid"], json!(app_id));
    assert!(is_hex(app["aud"].as_str().unwrap(), 64));
    assert!(app["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(app["created_at"], app["updated_at"]);
    for (k, v) in [
        ("type", json!("self_hosted")),
        ("name", json!("internal-api")),
        ("domain", json!("api.example.com")),
        ("self_hosted_domains", json!(["api.example.com"])),
        (
            "destinations",
            json!([{"type": "public", "uri": "api.example.com"}]),
        ),
        ("session_duration", json!("24h")),
        ("app_launcher_visible", json!(true)),
        ("http_only_cookie_attribute", json!(true)),
        ("enable_binding_cookie", json!(false)),
        ("auto_redirect_to_identity", json!(false)),
        ("allowed_idps", json!([])),
        ("tags", json!(["alpha", "zeta"])),
        ("service_auth_401_redirect", json!(true)),
        ("policies", json!([])),
    ] {
        assert_eq!(app[k], v, "{k}");
    }
    assert!(
        app.get("not_a_field").is_none(),
        "unknown top-level keys are ignored"
    );
    let got = api.get(&format!("/apps/{app_id}")).await;
    assert_eq!(got.ok(200), &app);
});

#[tokio::test]
async fn self_hosted_domain_required_or_derived_from_destinations() {
    let api = Api::start().await;
    api.post("/apps", json!({"type": "self_hosted", "name": "x"}))
        .await
        .err(400, 19000);
    let r = api
        .post(
            "/apps",
            json!({"type": "self_hosted", "name": "x",
                               "destinations": [{"type": "public", "uri": "x.example.com/api"}]}),
        )
        .await;
    assert_eq!(r.ok(201)["domain"], json!("x.example.com/api"));
    api.post("/apps", json!({"name": "no type"}))
        .await
        .err(400, 19000);
    api.post("/apps", json!({"type": "spaceship", "domain": "a"}))
        .await
        .err(400, 19000);
    api.post(
        "/apps",
        json!({"type": "self_hosted", "domain": "b", "session_duration": "forever"}),
    )
    .await
    .err(400, 19000);
}

api_test!(invalid_bodies_get_400_envelopes, |api| {
    let url = api.access("/apps");
    let resp = api
        .client
        .post(&url)
        .bearer_auth(TOKEN)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_failure_envelope(&body);
    assert_eq!(body["errors"][0]["code"], json!(19000));
    api.raw(Method::POST, &url, None, Some(TOKEN))
        .await
        .err(400, 19000);
    api.post("/apps", json!([1, 2])).await.err(400, 19000);
});

api_test!(duplicate_self_hosted_domain_is_refused, |api| {
    let first = api.self_hosted("a", "dup.example.com").await;
    api.post(
        "/apps",
        json!({"type": "self_hosted", "name": "b", "domain": "dup.example.com"}),
    )
    .await
    .err(400, 19006);
    // The app itself may keep its domain on PUT.
    api.put(
        &format!("/apps/{}", id(&first)),
        json!({"type": "self_hosted", "name": "a2", "domain": "dup.example.com"}),
    )
    .await
    .ok(200);
    // After delete the domain is free again.
    api.delete(&format!("/apps/{}", id(&first))).await.ok(202);
    api.self_hosted("c", "dup.example.com").await;
});

api_test!(put_is_full_replacement, |api| {
    let policy = api.allow_policy("employees").await;
    let app = api
        .post_created("/apps", json!({"type": "self_hosted", "name": "a", "domain": "a.example.com",
                                      "app_launcher_visible": false, "tags": ["t"], "session_duration": "1h",
                                      "policies": [{"id": id(&policy), "precedence": 1}]}))
        .await;
    let path = format!("/apps/{}", id(&app));
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    // Settable fields omitted → defaults again; policies omitted → kept.
    let put = api
        .put(
            &path,
            json!({"type": "self_hosted", "name": "renamed", "domain": "a.example.com"}),
        )
        .await;
    let after = put.ok(200).clone();
    assert_eq!(after["name"], json!("renamed"));
    assert_eq!(after["app_launcher_visible"], json!(true));
    assert_eq!(after["tags"], json!([]));
    assert_eq!(after["session_duration"], json!("24h"));
    assert_eq!(after["policies"][0]["id"], json!(id(&policy)));
    for k in ["id", "uid", "aud", "created_at"] {
        assert_eq!(after[k], app[k], "{k} preserved");
    }
    assert_ne!(after["updated_at"], app["updated_at"], "updated_at bumped");
    // `policies: []` detaches everything.
    let cleared = api
        .put(
            &path,
            json!({"type": "self_hosted", "domain": "a.example.com", "policies": []}),
        )
        .await;
    assert_eq!(cleared.ok(200)["policies"], json!([]));
    assert_eq!(
        api.get(&format!("/policies/{}", id(&policy))).await.ok(200)["app_count"],
        json!(0)
    );
});

api_test!(type_change_on_put_is_refused, |api| {
    let app = api.self_hosted("a", "a.example.com").await;
    api.put(
        &format!("/apps/{}", id(&app)),
        json!({"type": "saas", "name": "a"}),
    )
    .await
    .err(400, 19005);
    assert_eq!(
        api.get(&format!("/apps/{}", id(&app))).await.ok(200)["type"],
        json!("self_hosted")
    );
});

api_test!(delete_returns_202_then_404, |api| {
    let app = api.self_hosted("a", "a.example.com").await;
    let path = format!("/apps/{}", id(&app));
    let r = api.delete(&path).await;
    assert_eq!(r.ok(202), &json!({"id": id(&app)}));
    api.get(&path).await.err(404, 19404);
    api.delete(&path).await.err(404, 19404);
    api.put(
        &path,
        json!({"type": "self_hosted", "domain": "a.example.com"}),
    )
    .await
    .err(404, 19404);
});

api_test!(unknown_and_malformed_ids, |api| {
    api.get("/apps/6cdc3892-f9f1-4813-a5ce-38c2753e1208")
        .await
        .err(404, 19404);
    api.get("/apps/not-an-id").await.err(404, 7003);
    api.get("/policies/also-bad").await.err(404, 7003);
    api.delete("/policies/6cdc3892-f9f1-4813-a5ce-38c2753e1208")
        .await
        .err(404, 19404);
});

api_test!(saas_oidc_secret_only_in_create_response, |api| {
    let created = api.saas_oidc("mcp-server").await;
    let saas = &created["saas_app"];
    let client_id = saas["client_id"].as_str().unwrap().to_string();
    assert!(is_hex(&client_id, 64));
    assert!(
        saas["client_secret"]
            .as_str()
            .is_some_and(|s| s.len() >= 32)
    );
    assert_eq!(saas["access_token_lifetime"], json!("5m"));
    assert_eq!(saas["auth_type"], json!("oidc"));
    assert!(saas["public_key"].is_string());
    let path = format!("/apps/{}", id(&created));
    let got = api.get_ok(&path).await;
    assert!(got["saas_app"].get("client_secret").is_none());
    assert_eq!(got["saas_app"]["client_id"], json!(client_id));
    assert!(got.get("domain").is_none() && got.get("session_duration").is_none());
    let put = api
        .put(&path, json!({"type": "saas", "name": "mcp-server", "saas_app": {"auth_type": "oidc", "access_token_lifetime": "15m"}}))
        .await
        .ok(200)
        .clone();
    assert_eq!(put["saas_app"]["client_id"], json!(client_id));
    assert!(put["saas_app"].get("client_secret").is_none());
    assert_eq!(put["saas_app"]["access_token_lifetime"], json!("15m"));
    assert_eq!(
        api.emu.app(ACC, &id(&created)).unwrap()["saas_app"].get("client_secret"),
        None
    );
});

api_test!(list_filters, |api| {
    let wiki = api
        .self_hosted("Company wiki", "wiki.internal.example.com")
        .await;
    api.self_hosted("Internal API", "api.internal.example.com")
        .await;
    api.self_hosted("Wiki archive", "archive.example.org").await;
    let names = |r: &Resp| -> Vec<String> {
        r.ok(200)
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap().to_string())
            .collect()
    };
    let aud = wiki["aud"].as_str().unwrap();
    for (query, expected) in [
        (
            "/apps?name=wiki".to_string(),
            &["Company wiki", "Wiki archive"][..],
        ),
        (
            "/apps?name=Company%20wiki&exact=true".into(),
            &["Company wiki"],
        ),
        ("/apps?name=wiki&exact=true".into(), &[]),
        (
            "/apps?domain=internal.example.com".into(),
            &["Company wiki", "Internal API"],
        ),
        ("/apps?search=ARCHIVE".into(), &["Wiki archive"]),
        (format!("/apps?aud={aud}"), &["Company wiki"]),
    ] {
        assert_eq!(names(&api.get(&query).await), expected, "{query}");
    }
    let filtered = api.get("/apps?name=wiki").await;
    assert_eq!(filtered.body["result_info"]["count"], json!(2));
    api.get("/apps?exact=maybe").await.err(400, 19000);
});

api_test!(routes_and_methods, |api| {
    let app = api.self_hosted("a", "a.example.com").await;
    let r = api
        .call(
            Method::PATCH,
            &format!("/apps/{}", id(&app)),
            Some(&json!({})),
        )
        .await;
    r.err(405, 7001);
    api.call(Method::DELETE, "/apps", None).await.err(405, 7001);
    api.get("/groups").await.err(404, 7000);
    let base = api.emu.base_url();
    api.raw(Method::GET, &format!("{base}/zones"), None, Some(TOKEN))
        .await
        .err(404, 7000);
    let root = format!("http://{}/nothing/here", api.emu.addr());
    api.raw(Method::GET, &root, None, None).await.err(404, 7000);
    let head = api
        .client
        .head(api.access("/apps"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(head.status().as_u16(), 200);
    assert!(head.bytes().await.unwrap().is_empty());
    let verify = api
        .raw(
            Method::GET,
            &format!("{base}/user/tokens/verify"),
            None,
            Some(TOKEN),
        )
        .await;
    assert_eq!(verify.ok(200)["status"], json!("active"));
});

#[tokio::test]
async fn authentication_and_accounts() {
    let api = Api::with(cfaccess_emulator::EmulatorConfig {
        token: Some("right".into()),
        accounts: vec![
            ACC.to_string(),
            "11111111111111111111111111111111".to_string(),
        ],
        ..fast_config()
    })
    .await;
    let url = api.access("/apps");
    let missing = api.raw(Method::GET, &url, None, None).await;
    missing.err(403, 10000);
    assert_eq!(missing.message(), "Authentication error");
    api.raw(Method::GET, &url, None, Some("wrong"))
        .await
        .err(403, 10000);
    api.raw(Method::GET, &url, None, Some("right"))
        .await
        .ok(200);
    let apps_of = |account: &str| format!("{}/accounts/{account}/access/apps", api.emu.base_url());
    api.raw(
        Method::GET,
        &apps_of("11111111111111111111111111111111"),
        None,
        Some("right"),
    )
    .await
    .ok(200);
    let foreign = "22222222222222222222222222222222";
    let r = api
        .raw(Method::GET, &apps_of(foreign), None, Some("right"))
        .await;
    r.err(403, 10000);
    assert!(r.message().contains(foreign));
    api.raw(Method::GET, &apps_of("nope"), None, Some("right"))
        .await
        .err(404, 7003);

    // Without a configured token any bearer token, or legacy e-mail + key, is accepted.
    let open = Api::start().await;
    let url = open.access("/apps");
    open.raw(Method::GET, &url, None, Some("anything"))
        .await
        .ok(200);
    let legacy = open
        .client
        .get(&url)
        .header("X-Auth-Email", "me@example.com")
        .header("X-Auth-Key", "k")
        .send()
        .await
        .unwrap();
    assert_eq!(legacy.status().as_u16(), 200);
}

#[tokio::test]
async fn oauth_configuration_stored_defaulted_refused_and_editable_out_of_band() {
    let api = Api::start().await;
    let created = api.post_created("/apps",
            json!({"type": "self_hosted", "name": "mcp", "domain": "mcp.example.com",
                   "oauth_configuration": {
                       "dynamic_client_registration": {"enabled": true, "allowed_uris": ["https://a.example.com/cb"]},
                       "grant": {"access_token_lifetime": "15m"}}}),).await;
    let app_id = id(&created);
    let want = json!({
        "enabled": true,
        "dynamic_client_registration": {"enabled": true, "allowed_uris": ["https://a.example.com/cb"]},
        "grant": {"access_token_lifetime": "15m"}
    });
    assert_eq!(created["oauth_configuration"], want);
    let path = format!("/apps/{app_id}");
    assert_eq!(api.get(&path).await.ok(200)["oauth_configuration"], want);

    // PUT is a full replacement: the object as sent, or none when left out.
    let put = api
        .put(
            &path,
            json!({"type": "self_hosted", "name": "mcp", "domain": "mcp.example.com",
                   "oauth_configuration": {"enabled": false}}),
        )
        .await
        .ok(200)
        .clone();
    assert_eq!(put["oauth_configuration"], json!({"enabled": false}));
    let put = api
        .put(
            &path,
            json!({"type": "self_hosted", "name": "mcp", "domain": "mcp.example.com"}),
        )
        .await
        .ok(200)
        .clone();
    assert!(put.get("oauth_configuration").is_none(), "{put}");

    // Refused on a type that does not take it, and with a malformed duration.
    api.post(
        "/apps",
        json!({"type": "saas", "name": "s", "saas_app": {"auth_type": "oidc"},
               "oauth_configuration": {"enabled": true}}),
    )
    .await
    .err(400, 19000);
    api.put(
        &path,
        json!({"type": "self_hosted", "name": "mcp", "domain": "mcp.example.com",
               "oauth_configuration": {"grant": {"session_duration": "two weeks"}}}),
    )
    .await
    .err(400, 19000);

    // The dashboard (admin merge patch) can add, change and remove it.
    let admin_path = format!("/accounts/{ACC}/apps/{app_id}");
    let (status, patched) = api
        .admin(
            Method::PATCH,
            &admin_path,
            Some(&json!({"oauth_configuration": {"enabled": true, "grant": {"session_duration": "1h"}}})),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(
        api.get(&path).await.ok(200)["oauth_configuration"],
        json!({"enabled": true, "grant": {"session_duration": "1h"}})
    );
    let (status, _) = api
        .admin(
            Method::PATCH,
            &admin_path,
            Some(&json!({"oauth_configuration": null})),
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        api.get(&path)
            .await
            .ok(200)
            .get("oauth_configuration")
            .is_none()
    );
}
