//! The `policies` array of apps: link forms, precedence, expansion, and the attachment rules.

use serde_json::json;

use super::common::*;

#[tokio::test]
async fn links_expand_sorted_with_precedence_and_update_app_count() {
    let api = Api::start().await;
    let mcp = api.self_hosted("mcp", "mcp.example.com").await;
    let linked = api.linked_policy("mcp can call", &id(&mcp)).await;
    let employees = api.allow_policy("employees").await;
    let app = api.post_created("/apps", json!({"type": "self_hosted", "name": "api", "domain": "api.example.com",
            "policies": [{"id": id(&employees), "precedence": 5}, {"id": id(&linked), "precedence": 2}]})).await;
    let policies = app["policies"].as_array().unwrap();
    assert_eq!(policies.len(), 2);
    assert_eq!(policies[0]["id"], json!(id(&linked)));
    assert_eq!(policies[0]["precedence"], json!(2));
    assert_eq!(policies[0]["reusable"], json!(true));
    assert_eq!(policies[0]["decision"], json!("non_identity"));
    assert_eq!(policies[0]["include"], linked["include"]);
    assert_eq!(policies[1]["precedence"], json!(5));
    for p in [&linked, &employees] {
        assert_eq!(
            api.get(&format!("/policies/{}", id(p))).await.ok(200)["app_count"],
            json!(1)
        );
    }
    // The app-scoped list returns the same attachments.
    let listed = api.get(&format!("/apps/{}/policies", id(&app))).await;
    assert_eq!(listed.ok(200), &app["policies"]);
    assert_eq!(listed.body["result_info"]["per_page"], json!(200));
    let one = api
        .get(&format!("/apps/{}/policies/{}", id(&app), id(&employees)))
        .await;
    assert_eq!(one.ok(200)["precedence"], json!(5));
}

api_test!(bare_ids_take_their_position_as_precedence, |api| {
    let a = api.allow_policy("a").await;
    let b = api.allow_policy("b").await;
    let app = api
        .self_hosted_attached("x.example.com", json!([id(&b), id(&a)]))
        .await;
    assert_eq!(app["policies"][0]["id"], json!(id(&b)));
    assert_eq!(app["policies"][0]["precedence"], json!(1));
    assert_eq!(app["policies"][1]["precedence"], json!(2));
});

api_test!(precedence_rules, |api| {
    let a = api.allow_policy("a").await;
    let b = api.allow_policy("b").await;
    let body = |pa: i64, pb: i64| {
        json!({"type": "self_hosted", "domain": "x.example.com",
               "policies": [{"id": id(&a), "precedence": pa}, {"id": id(&b), "precedence": pb}]})
    };
    api.post("/apps", body(1, 1)).await.err(400, 11018);
    api.post("/apps", body(0, 1)).await.err(400, 11018);
    api.post("/apps", body(-3, 1)).await.err(400, 11018);
    // Gaps are fine.
    let app = api.post_created("/apps", body(10, 3)).await;
    assert_eq!(app["policies"][0]["id"], json!(id(&b)));
    // Nothing was created by the refused requests.
    assert_eq!(api.emu.apps(ACC).len(), 1);
});

api_test!(unknown_policy_and_mixing_are_refused, |api| {
    let a = api.allow_policy("a").await;
    api.post(
        "/apps",
        json!({"type": "self_hosted", "domain": "x.example.com",
        "policies": [{"id": "6cdc3892-f9f1-4813-a5ce-38c2753e1208", "precedence": 1}]}),
    )
    .await
    .err(400, 19004);
    api.post("/apps", json!({"type": "self_hosted", "domain": "x.example.com",
        "policies": [{"id": id(&a), "precedence": 1},
                     {"name": "inline", "decision": "allow", "include": [{"everyone": {}}], "precedence": 2}]}))
        .await
        .err(400, 19003);
    assert!(api.emu.apps(ACC).is_empty());
});

api_test!(linked_policy_only_on_self_hosted_apps, |api| {
    let mcp = api.self_hosted("mcp", "mcp.example.com").await;
    let linked = api.linked_policy("mcp can call", &id(&mcp)).await;
    let saas = api.saas_oidc("saas").await;
    let r = api
        .put(
            &format!("/apps/{}", id(&saas)),
            json!({"type": "saas", "name": "saas",
            "saas_app": {"auth_type": "oidc"}, "policies": [{"id": id(&linked), "precedence": 1}]}),
        )
        .await;
    r.err(400, 19002);
    assert_eq!(api.emu.app(ACC, &id(&saas)).unwrap()["policies"], json!([]));
    // A plain allow policy may go on a SaaS app, but may not later gain a linked_app_token rule.
    let allow = api.allow_policy("employees").await;
    api.put(
        &format!("/apps/{}", id(&saas)),
        json!({"type": "saas", "name": "saas",
        "saas_app": {"auth_type": "oidc"}, "policies": [id(&allow)]}),
    )
    .await
    .ok(200);
    api.put(
        &format!("/policies/{}", id(&allow)),
        json!({"name": "employees", "decision": "non_identity",
        "include": [{"linked_app_token": {"app_uid": id(&mcp)}}]}),
    )
    .await
    .err(400, 19002);
});

#[tokio::test]
async fn inline_policies_become_app_scoped_and_are_garbage_collected() {
    let api = Api::start().await;
    let app = api.post_created("/apps", json!({"type": "self_hosted", "domain": "legacy.example.com",
            "policies": [{"name": "legacy", "decision": "allow", "include": [{"everyone": {}}], "precedence": 1}]})).await;
    let scoped = &app["policies"][0];
    assert_eq!(scoped["reusable"], json!(false));
    assert_eq!(scoped["name"], json!("legacy"));
    let scoped_id = id(scoped);
    assert!(
        api.emu.policies(ACC).is_empty(),
        "app-scoped policies are not reusable policies"
    );
    api.get(&format!("/policies/{scoped_id}"))
        .await
        .err(404, 19404);
    let path = format!("/apps/{}", id(&app));
    // Keeping it by link on PUT is allowed (it belongs to this app) …
    let reusable = api.allow_policy("employees").await;
    let kept = api
        .put(&path, json!({"type": "self_hosted", "domain": "legacy.example.com",
            "policies": [{"id": scoped_id, "precedence": 1}, {"id": id(&reusable), "precedence": 2}]}))
        .await
        .ok(200)
        .clone();
    assert_eq!(kept["policies"].as_array().unwrap().len(), 2);
    // … another app cannot link it …
    api.post(
        "/apps",
        json!({"type": "self_hosted", "domain": "other.example.com",
        "policies": [{"id": scoped_id, "precedence": 1}]}),
    )
    .await
    .err(400, 19004);
    // … and dropping it from the list deletes it.
    api.put(
        &path,
        json!({"type": "self_hosted", "domain": "legacy.example.com", "policies": [id(&reusable)]}),
    )
    .await
    .ok(200);
    api.put(
        &path,
        json!({"type": "self_hosted", "domain": "legacy.example.com",
        "policies": [{"id": scoped_id, "precedence": 1}]}),
    )
    .await
    .err(400, 19004);
}

api_test!(app_scoped_policy_endpoints, |api| {
    let app = api.self_hosted("a", "a.example.com").await;
    let base = format!("/apps/{}/policies", id(&app));
    let created = api.post_created(&base, json!({"name": "legacy", "decision": "allow", "include": [{"everyone": {}}], "precedence": 3})).await;
    assert_eq!(created["precedence"], json!(3));
    let pid = id(&created);
    api.post(
        &base,
        json!({"name": "dup", "decision": "allow", "include": [{"everyone": {}}], "precedence": 3}),
    )
    .await
    .err(400, 11018);
    let updated = api
        .put(
            &format!("{base}/{pid}"),
            json!({"name": "legacy2", "decision": "deny", "include": [{"everyone": {}}]}),
        )
        .await
        .ok(200)
        .clone();
    assert_eq!(
        (updated["name"].clone(), updated["precedence"].clone()),
        (json!("legacy2"), json!(3))
    );
    // Reusable policies are changed at the account level only.
    let reusable = api.allow_policy("employees").await;
    api.put(
        &format!("/apps/{}", id(&app)),
        json!({"type": "self_hosted", "domain": "a.example.com",
        "policies": [{"id": pid, "precedence": 3}, {"id": id(&reusable), "precedence": 1}]}),
    )
    .await
    .ok(200);
    api.put(
        &format!("{base}/{}", id(&reusable)),
        json!({"name": "x", "decision": "allow", "include": [{"everyone": {}}]}),
    )
    .await
    .err(400, 19000);
    api.delete(&format!("{base}/{}", id(&reusable)))
        .await
        .err(400, 19000);
    assert_eq!(
        api.delete(&format!("{base}/{pid}")).await.ok(202),
        &json!({"id": pid})
    );
    api.get(&format!("{base}/{pid}")).await.err(404, 19404);
    let left = api.get_ok(&base).await;
    assert_eq!(left.as_array().unwrap().len(), 1);
    api.get("/apps/6cdc3892-f9f1-4813-a5ce-38c2753e1208/policies")
        .await
        .err(404, 19404);
});

#[tokio::test]
async fn sending_back_expanded_reusable_policies_is_refused_with_a_hint() {
    let api = Api::start().await;
    let p = api.allow_policy("employees").await;
    let app = api
        .self_hosted_attached("x.example.com", json!([id(&p)]))
        .await;
    // A careless read-modify-write PUTs the GET body back as is (TF5 #5811's mistake).
    let r = api.put(&format!("/apps/{}", id(&app)), app.clone()).await;
    r.err(400, 19004);
    assert!(
        r.message().contains("is a reusable policy"),
        "{}",
        r.message()
    );
    // Projected to {id, precedence} the same PUT is fine.
    let mut body = app.clone();
    body["policies"] = json!([{"id": id(&p), "precedence": 1}]);
    api.put(&format!("/apps/{}", id(&app)), body).await.ok(200);
}
