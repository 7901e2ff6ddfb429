//! `/access/policies`: reusable policy CRUD and the rule checks.

use serde_json::json;

use super::common::*;

api_test!(create_get_put_delete, |api| {
    let mcp = api.self_hosted("mcp", "mcp.example.com").await;
    let created = api
        .post_created(
            "/policies",
            json!({"name": "mcp can call", "decision": "non_identity",
            "include": [{"linked_app_token": {"app_uid": id(&mcp)}}], "extra": "ignored"}),
        )
        .await;
    let pid = id(&created);
    assert!(uuid::Uuid::parse_str(&pid).is_ok());
    for (k, v) in [
        ("name", json!("mcp can call")),
        ("decision", json!("non_identity")),
        ("exclude", json!([])),
        ("require", json!([])),
        ("approval_required", json!(false)),
        ("isolation_required", json!(false)),
        ("purpose_justification_required", json!(false)),
        ("app_count", json!(0)),
        ("reusable", json!(true)),
    ] {
        assert_eq!(created[k], v, "{k}");
    }
    assert!(
        created.get("session_duration").is_none(),
        "not sent → not returned (§11 #7)"
    );
    assert!(created.get("extra").is_none());
    assert!(created["created_at"].is_string() && created["updated_at"].is_string());
    assert_eq!(api.get(&format!("/policies/{pid}")).await.ok(200), &created);

    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let put = api
        .put(
            &format!("/policies/{pid}"),
            json!({"name": "renamed", "decision": "non_identity",
            "include": [{"linked_app_token": {"app_uid": id(&mcp)}}], "session_duration": "30m",
            "require": [{"email_domain": {"domain": "example.com"}}]}),
        )
        .await
        .ok(200)
        .clone();
    assert_eq!(put["name"], json!("renamed"));
    assert_eq!(put["session_duration"], json!("30m"));
    assert_eq!(put["created_at"], created["created_at"]);
    assert_ne!(put["updated_at"], created["updated_at"]);
    // Full replacement: what is omitted goes back to its default.
    let again = api
        .put(
            &format!("/policies/{pid}"),
            json!({"name": "renamed", "decision": "non_identity",
            "include": [{"linked_app_token": {"app_uid": id(&mcp)}}]}),
        )
        .await
        .ok(200)
        .clone();
    assert_eq!(again["require"], json!([]));
    assert!(again.get("session_duration").is_none());

    assert_eq!(
        api.delete(&format!("/policies/{pid}")).await.ok(202),
        &json!({"id": pid})
    );
    api.get(&format!("/policies/{pid}")).await.err(404, 19404);
    api.put(
        &format!("/policies/{pid}"),
        json!({"name": "x", "decision": "allow", "include": [{"everyone": {}}]}),
    )
    .await
    .err(404, 19404);
});

api_test!(linked_app_token_rules, |api| {
    let mcp = api.self_hosted("mcp", "mcp.example.com").await;
    let saas = api.saas_oidc("saas-mcp").await;
    let bookmark = api
        .post_created(
            "/apps",
            json!({"type": "bookmark", "name": "bm", "domain": "bm.example.com"}),
        )
        .await;
    let linked = |decision: &str, app: &str| json!({"name": "p", "decision": decision, "include": [{"linked_app_token": {"app_uid": app}}]});
    let r = api.post("/policies", linked("allow", &id(&mcp))).await;
    r.err(400, 19008);
    assert_eq!(
        r.message(),
        "linked_app_token rules require decision non_identity"
    );
    api.post("/policies", linked("bypass", &id(&mcp)))
        .await
        .err(400, 19008);
    let r = api
        .post(
            "/policies",
            linked("non_identity", "6cdc3892-f9f1-4813-a5ce-38c2753e1208"),
        )
        .await;
    r.err(400, 12130);
    assert_eq!(r.message(), "linked app must be an existing app");
    api.post("/policies", linked("non_identity", "my-mcp-portal"))
        .await
        .err(400, 12130);
    api.post("/policies", linked("non_identity", &id(&bookmark)))
        .await
        .err(400, 12130);
    api.post("/policies", linked("non_identity", &id(&mcp)))
        .await
        .ok(201);
    api.post("/policies", linked("non_identity", &id(&saas)))
        .await
        .ok(201);
    assert_eq!(api.emu.policies(ACC).len(), 2);
});

api_test!(source_app_may_be_deleted_later, |api| {
    let mcp = api.self_hosted("mcp", "mcp.example.com").await;
    let p = api.linked_policy("p", &id(&mcp)).await;
    api.delete(&format!("/apps/{}", id(&mcp))).await.ok(202);
    let got = api.get_ok(&format!("/policies/{}", id(&p))).await;
    assert_eq!(
        got["include"][0]["linked_app_token"]["app_uid"],
        json!(id(&mcp))
    );
});

api_test!(rule_shapes_are_checked, |api| {
    for include in [
        json!([{"not_a_rule": {}}]),
        json!([{"email": {"email": "a@example.com"}, "everyone": {}}]),
        json!([{}]),
        json!([{"email_domain": {}}]),
    ] {
        api.post(
            "/policies",
            json!({"name": "p", "decision": "allow", "include": include}),
        )
        .await
        .err(400, 19007);
    }
    api.post(
        "/policies",
        json!({"name": "p", "decision": "allow", "include": [{"everyone": {}}],
        "exclude": [{"bogus": {}}]}),
    )
    .await
    .err(400, 19007);
    api.post(
        "/policies",
        json!({"decision": "allow", "include": [{"everyone": {}}]}),
    )
    .await
    .err(400, 19000);
    api.post(
        "/policies",
        json!({"name": "p", "decision": "maybe", "include": [{"everyone": {}}]}),
    )
    .await
    .err(400, 19000);
    api.post("/policies", json!({"name": "p", "decision": "allow"}))
        .await
        .err(400, 19000);
    assert!(api.emu.policies(ACC).is_empty());
});

api_test!(delete_while_attached_is_a_409, |api| {
    let p = api.allow_policy("employees").await;
    let a = api
        .self_hosted_attached("a.example.com", json!([id(&p)]))
        .await;
    api.post(
        "/apps",
        json!({"type": "self_hosted", "domain": "b.example.com", "policies": [id(&p)]}),
    )
    .await
    .ok(201);
    let r = api.delete(&format!("/policies/{}", id(&p))).await;
    r.err(409, 19001);
    assert_eq!(
        r.message(),
        "access.api.error.conflict: policy is used by 2 application(s)"
    );
    assert_eq!(
        api.get(&format!("/policies/{}", id(&p))).await.ok(200)["app_count"],
        json!(2)
    );
    // Detach from both, then delete.
    api.put(
        &format!("/apps/{}", id(&a)),
        json!({"type": "self_hosted", "domain": "a.example.com", "policies": []}),
    )
    .await
    .ok(200);
    api.delete(&format!("/policies/{}", id(&p)))
        .await
        .err(409, 19001);
    api.delete_app_b_then_policy(&p).await;
});

impl Api {
    async fn delete_app_b_then_policy(&self, p: &serde_json::Value) {
        let b = self
            .get("/apps?domain=b.example.com&exact=true")
            .await
            .ok(200)[0]
            .clone();
        self.delete(&format!("/apps/{}", id(&b))).await.ok(202);
        self.delete(&format!("/policies/{}", id(p))).await.ok(202);
    }
}
