//! The emulated Access edge: login tokens, JWKS, and the policy decision for a
//! downstream self-hosted app (allowed, missing token, wrong app, unattached, expired).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cfaccess_emulator::demo_ids;
use reqwest::Method;
use serde_json::{Value, json};

use super::common::*;

struct Edge {
    api: Api,
    mcp: Value,
    linked: Value,
}

/// Demo downstream apps, a self-hosted MCP server app, and a linked policy attached to
/// "Internal API" only.
async fn setup() -> Edge {
    let api = Api::demo().await;
    let mcp = api.self_hosted("mcp-server", "mcp.example.com").await;
    let linked = api
        .linked_policy("mcp-server can call internal-api", &id(&mcp))
        .await;
    attach(&api, demo_ids::INTERNAL_API_APP, &id(&linked), 2).await;
    Edge { api, mcp, linked }
}

/// Read-modify-write of an app's attachments, as the provider does it.
async fn attach(api: &Api, app_id: &str, policy_id: &str, precedence: u32) {
    let app = api.get_ok(&format!("/apps/{app_id}")).await;
    let mut links: Vec<Value> = app["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| json!({"id": p["id"], "precedence": p["precedence"]}))
        .collect();
    links.push(json!({"id": policy_id, "precedence": precedence}));
    let mut body = app.clone();
    body["policies"] = json!(links);
    api.put(&format!("/apps/{app_id}"), body).await.ok(200);
}

async fn login(api: &Api, app_id: &str, email: &str, ttl: Option<i64>) -> String {
    let mut body = json!({"app_id": app_id, "email": email});
    if let Some(t) = ttl {
        body["ttl_secs"] = json!(t);
    }
    let (status, resp) = api.admin(Method::POST, "/edge/login", Some(&body)).await;
    assert_eq!(status, 200, "{resp}");
    resp["token"].as_str().unwrap().to_string()
}

async fn check(api: &Api, app_id: &str, header: Option<(&str, String)>) -> (u16, Value) {
    let url = format!("{}/edge/{app_id}/mcp/tools", api.emu.admin_url());
    let mut req = api.client.get(url);
    if let Some((name, value)) = header {
        req = req.header(name, value);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

/// The edge's answer for `app_id` to a request carrying `token` in `Cf-Access-Token`.
async fn check_token(api: &Api, app_id: &str, token: String) -> (u16, Value) {
    check(api, app_id, Some(("Cf-Access-Token", token))).await
}

/// Asserts a 403 whose `reason` passes `expected`.
#[track_caller]
fn assert_refused(status: u16, body: &Value, expected: impl Fn(&str) -> bool) {
    assert_eq!(status, 403);
    let reason = body["reason"].as_str().unwrap();
    assert!(expected(reason), "{body}");
}

fn claims(token: &str) -> Value {
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

#[tokio::test]
async fn linked_token_is_admitted() {
    let e = setup().await;
    let token = login(&e.api, &id(&e.mcp), "ann@example.com", None).await;
    let c = claims(&token);
    assert_eq!(c["aud"], json!([e.mcp["aud"]]));
    assert_eq!(c["email"], json!("ann@example.com"));
    assert_eq!(c["type"], json!("app"));
    assert_eq!(c["iss"], json!("https://emulator.cloudflareaccess.com"));
    assert!(uuid::Uuid::parse_str(c["sub"].as_str().unwrap()).is_ok());
    assert_eq!(
        c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        3600
    );
    let (status, body) = check_token(&e.api, demo_ids::INTERNAL_API_APP, token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["allowed"], json!(true));
    assert_eq!(body["email"], json!("ann@example.com"));
    assert_eq!(body["via"], json!(id(&e.linked)));
}

#[tokio::test]
async fn saas_access_token_is_admitted_as_bearer() {
    let e = setup().await;
    let saas = e.api.saas_oidc("saas-mcp").await;
    let policy = e.api.linked_policy("saas can call", &id(&saas)).await;
    attach(&e.api, demo_ids::COMPANY_WIKI_APP, &id(&policy), 2).await;
    let token = login(&e.api, &id(&saas), "bob@example.com", None).await;
    assert_eq!(
        claims(&token)["aud"],
        json!([saas["saas_app"]["client_id"]])
    );
    let (status, body) = check(
        &e.api,
        demo_ids::COMPANY_WIKI_APP,
        Some(("Authorization", format!("Bearer {token}"))),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["via"], json!(id(&policy)));
}

#[tokio::test]
async fn missing_token_is_refused() {
    let e = setup().await;
    let (status, body) = check(&e.api, demo_ids::INTERNAL_API_APP, None).await;
    assert_eq!(status, 403);
    assert_eq!(body["allowed"], json!(false));
    assert!(
        body["reason"]
            .as_str()
            .unwrap()
            .starts_with("missing token"),
        "{body}"
    );
}

#[tokio::test]
async fn token_of_an_unlinked_app_is_refused() {
    let e = setup().await;
    let other = e.api.self_hosted("other-mcp", "other.example.com").await;
    let token = login(&e.api, &id(&other), "ann@example.com", None).await;
    let (status, body) = check_token(&e.api, demo_ids::INTERNAL_API_APP, token).await;
    assert_refused(status, &body, |r| r.contains("not linked"));
}

#[tokio::test]
async fn policy_that_is_not_attached_does_not_admit() {
    let e = setup().await;
    // The linked policy exists but is attached to Internal API only.
    let token = login(&e.api, &id(&e.mcp), "ann@example.com", None).await;
    let (status, body) = check_token(&e.api, demo_ids::COMPANY_WIKI_APP, token.clone()).await;
    assert_refused(status, &body, |r| r.contains("not linked"));
    // Detaching it out of band closes Internal API as well.
    assert!(e.api.emu.set_attachments_out_of_band(
        ACC,
        demo_ids::INTERNAL_API_APP,
        vec![(demo_ids::INTERNAL_API_EMPLOYEES_POLICY.to_string(), 1)]
    ));
    let (status, _) = check_token(&e.api, demo_ids::INTERNAL_API_APP, token.clone()).await;
    assert_eq!(status, 403);
    // With nothing attached at all, the reason says so.
    assert!(
        e.api
            .emu
            .set_attachments_out_of_band(ACC, demo_ids::INTERNAL_API_APP, vec![])
    );
    let (_, body) = check_token(&e.api, demo_ids::INTERNAL_API_APP, token).await;
    assert!(
        body["reason"]
            .as_str()
            .unwrap()
            .starts_with("no Access policy is attached"),
        "{body}"
    );
}

#[tokio::test]
async fn expired_and_forged_tokens_are_refused() {
    let e = setup().await;
    let expired = login(&e.api, &id(&e.mcp), "ann@example.com", Some(-60)).await;
    let (status, body) = check_token(&e.api, demo_ids::INTERNAL_API_APP, expired).await;
    assert_refused(status, &body, |r| r.starts_with("expired"));

    let token = login(&e.api, &id(&e.mcp), "ann@example.com", None).await;
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    let mut c = claims(&token);
    c["email"] = json!("mallory@example.com");
    parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&c).unwrap());
    let (status, body) = check_token(&e.api, demo_ids::INTERNAL_API_APP, parts.join(".")).await;
    assert_refused(status, &body, |r| r.starts_with("bad signature"));
    let (status, _) = check_token(&e.api, demo_ids::INTERNAL_API_APP, "garbage".into()).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn identity_tokens_follow_allow_policies_and_saas_targets_never_admit() {
    let e = setup().await;
    let own = login(&e.api, demo_ids::INTERNAL_API_APP, "ann@example.com", None).await;
    let (status, body) = check_token(&e.api, demo_ids::INTERNAL_API_APP, own).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["via"], json!(demo_ids::INTERNAL_API_EMPLOYEES_POLICY));
    let outsider = login(&e.api, demo_ids::INTERNAL_API_APP, "eve@evil.test", None).await;
    let (status, _) = check_token(&e.api, demo_ids::INTERNAL_API_APP, outsider).await;
    assert_eq!(status, 403);

    let saas = e.api.saas_oidc("saas-target").await;
    let allow = e.api.allow_policy("employees").await;
    e.api
        .put(
            &format!("/apps/{}", id(&saas)),
            json!({"type": "saas", "name": "saas-target",
        "saas_app": {"auth_type": "oidc"}, "policies": [id(&allow)]}),
        )
        .await
        .ok(200);
    let token = login(&e.api, &id(&saas), "ann@example.com", None).await;
    let (status, body) = check(
        &e.api,
        &id(&saas),
        Some(("Authorization", format!("Bearer {token}"))),
    )
    .await;
    assert_refused(status, &body, |r| r.contains("self_hosted"));
    let (status, _) = check(&e.api, "6cdc3892-f9f1-4813-a5ce-38c2753e1208", None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn certs_publish_the_signing_key() {
    let e = setup().await;
    let token = login(&e.api, &id(&e.mcp), "ann@example.com", None).await;
    let certs: Value = json_of(
        e.api
            .client
            .get(format!("http://{}/cdn-cgi/access/certs", e.api.emu.addr())),
    )
    .await;
    let jwk = &certs["keys"][0];
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], json!("RS256"));
    assert_eq!(header["kid"], jwk["kid"]);
    let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
    let exp = URL_SAFE_NO_PAD.decode(jwk["e"].as_str().unwrap()).unwrap();
    let (input, sig) = token.rsplit_once('.').unwrap();
    let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
    aws_lc_rs::signature::RsaPublicKeyComponents { n: &n, e: &exp }
        .verify(
            &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
            input.as_bytes(),
            &sig,
        )
        .expect("token verifies with the published JWK");
    let (status, _) = e
        .api
        .admin(Method::POST, "/edge/login", Some(&json!({"app_id": "6cdc3892-f9f1-4813-a5ce-38c2753e1208", "email": "a@example.com"})))
        .await;
    assert_eq!(status, 404);
}
