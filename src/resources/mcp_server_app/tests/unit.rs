use super::super::*;
use super::support::{all_diags, config, model, paths, plan, saas_settings};

const POLICY_A: &str = "a38ab4d4-336d-4f49-9e97-eff8550c13fa";
const POLICY_B: &str = "5d0c2e1e-1a0a-4a34-9d53-8d7a4a0b7f11";
const POLICY_LAT: &str = "0f4a2c1e-9b8d-4e7f-a6c5-3d2e1f0a9b8c";
const FOREIGN: &str = "7c6b5a49-3827-4615-9f4e-2d3c4b5a6978";
const IDP: &str = "11111111-2222-4333-8444-555555555555";
const ACCOUNT: &str = "023e105f4ecef8ad9ca31a8372d0c353";
const APP_ID: &str = "6cdc3892-f9f1-4813-a5ce-38c2753e1208";

/// `saas` settings asking for `openid` and `email`, with `pairs` set.
fn saas_config(pairs: Vec<(&str, Value)>) -> Value {
    saas_settings(&["openid", "email"], pairs)
}

/// A SaaS app `mcp` with one identity provider and the picker skipped.
fn saas_login_config() -> Value {
    config(vec![
        (attr::NAME, Value::string("mcp")),
        (attr::TYPE, Value::string(SAAS)),
        (attr::ALLOWED_IDPS, Value::string_set([IDP])),
        (attr::AUTO_REDIRECT_TO_IDENTITY, Value::Bool(true)),
        (attr::SAAS, saas_config(vec![])),
    ])
}

fn app(json: serde_json::Value) -> App {
    serde_json::from_value(json).unwrap()
}

fn self_hosted_app() -> App {
    app(json!({
        "id": APP_ID, "uid": APP_ID, "aud": "aa".repeat(32), "name": "mcp",
        "type": "self_hosted", "domain": "mcp.example.com", "session_duration": "24h",
        "allowed_idps": [], "auto_redirect_to_identity": false,
        "app_launcher_visible": true, "service_auth_401_redirect": false,
        "destinations": [{"type": "public", "uri": "mcp.example.com"}],
        "self_hosted_domains": ["mcp.example.com"],
        "policies": [
            {"id": POLICY_B, "precedence": 2, "reusable": true, "decision": "allow", "include": [{"everyone": {}}]},
            {"id": POLICY_A, "precedence": 1, "reusable": true, "decision": "allow", "include": [{"everyone": {}}]},
            {"id": POLICY_LAT, "precedence": 3, "reusable": true, "decision": "non_identity",
             "include": [{"linked_app_token": {"app_uid": "9e2d4a61-3c7b-4f18-a0d5-6b8e1c2f7a02"}}]}
        ]
    }))
}

fn saas_app() -> App {
    app(json!({
        "id": APP_ID, "uid": APP_ID, "aud": "bb".repeat(32), "name": "mcp",
        "type": "saas", "domain": "team.cloudflareaccess.com/cdn-cgi/access/sso/oidc/cid",
        "allowed_idps": [IDP], "auto_redirect_to_identity": true,
        "saas_app": {
            "auth_type": "oidc", "client_id": "cid", "public_key": "pk",
            "redirect_uris": ["https://mcp.example.com/oauth/callback"],
            "grant_types": ["refresh_tokens", "authorization_code_with_pkce"],
            "scopes": ["email", "offline_access", "openid"],
            "access_token_lifetime": "5m", "custom_claims": []
        },
        "policies": []
    }))
}

#[test]
fn schema_is_consistent() {
    assert_eq!(schema().internal_problems(), Vec::<String>::new());
    assert!(
        schema()
            .attribute(attr::CLIENT_SECRET)
            .is_some_and(|a| a.sensitive)
    );
    assert!(schema().attribute(attr::TYPE).unwrap().requires_replace());
    assert!(
        schema()
            .attribute(attr::ACCOUNT_ID)
            .unwrap()
            .requires_replace()
    );
}

#[test]
fn the_model_matches_the_schema() {
    assert_eq!(
        crate::tfplugin::bridge::check_against_schema::<Model>(&schema()),
        Ok(())
    );
}

#[test]
fn valid_configurations_pass() {
    let sh = config(vec![
        (attr::NAME, Value::string("mcp")),
        (attr::DOMAIN, Value::string("mcp.example.com")),
        (attr::SESSION_DURATION, Value::string("12h")),
        (attr::ALLOWED_IDPS, Value::string_set([IDP])),
        (attr::AUTO_REDIRECT_TO_IDENTITY, Value::Bool(true)),
        (attr::POLICY_IDS, Value::string_list([POLICY_A, POLICY_B])),
    ]);
    assert!(all_diags(&sh).is_empty(), "{:?}", all_diags(&sh));
    let saas = config(vec![
        (attr::NAME, Value::string("mcp")),
        (attr::TYPE, Value::string(SAAS)),
        (
            attr::SAAS,
            saas_config(vec![(
                attr::REDIRECT_URIS,
                Value::string_list(["https://a.example.com/cb", "http://localhost:8976/cb"]),
            )]),
        ),
    ]);
    assert!(all_diags(&saas).is_empty(), "{:?}", all_diags(&saas));
}

#[test]
fn cross_attribute_errors_carry_paths() {
    let no_domain = config(vec![(attr::NAME, Value::string("mcp"))]);
    assert_eq!(paths(&all_diags(&no_domain)), vec!["domain"]);

    let saas_on_self_hosted = config(vec![
        (attr::NAME, Value::string("mcp")),
        (attr::DOMAIN, Value::string("mcp.example.com")),
        (attr::SAAS, saas_config(vec![])),
    ]);
    assert_eq!(paths(&all_diags(&saas_on_self_hosted)), vec!["saas"]);

    let saas_without_settings = config(vec![
        (attr::NAME, Value::string("mcp")),
        (attr::TYPE, Value::string(SAAS)),
        (attr::DOMAIN, Value::string("mcp.example.com")),
        (attr::SESSION_DURATION, Value::string("1h")),
    ]);
    assert_eq!(
        paths(&all_diags(&saas_without_settings)),
        vec!["saas", "domain", "session_duration"]
    );

    let two_idps = config(vec![
        (attr::NAME, Value::string("mcp")),
        (attr::DOMAIN, Value::string("mcp.example.com")),
        (
            attr::ALLOWED_IDPS,
            Value::string_set([IDP, "21111111-2222-4333-8444-555555555555"]),
        ),
        (attr::AUTO_REDIRECT_TO_IDENTITY, Value::Bool(true)),
    ]);
    assert_eq!(
        paths(&all_diags(&two_idps)),
        vec!["auto_redirect_to_identity"]
    );
}

#[test]
fn unknowns_are_not_judged() {
    let cfg = config(vec![
        (attr::NAME, Value::Unknown),
        (attr::TYPE, Value::Unknown),
        (attr::POLICY_IDS, Value::List(vec![Value::Unknown])),
    ]);
    assert!(all_diags(&cfg).is_empty(), "{:?}", all_diags(&cfg));
    let unknown_domain = config(vec![
        (attr::NAME, Value::string("mcp")),
        (attr::DOMAIN, Value::Unknown),
    ]);
    assert!(all_diags(&unknown_domain).is_empty());
}

#[test]
fn attribute_validators_carry_paths() {
    let cfg = config(vec![
        (attr::NAME, Value::string("mcp")),
        (attr::TYPE, Value::string(SAAS)),
        (
            attr::SAAS,
            saas_config(vec![
                (
                    attr::REDIRECT_URIS,
                    Value::string_list(["https://ok.example.com/cb", "http://evil.example.com/cb"]),
                ),
                (
                    attr::GRANT_TYPES,
                    Value::string_set(["authorization_code", "password"]),
                ),
                (
                    attr::SCOPES,
                    Value::string_set(["openid", "offline_access"]),
                ),
                (attr::ACCESS_TOKEN_LIFETIME, Value::string("30s")),
            ]),
        ),
        (
            attr::POLICY_IDS,
            Value::string_list([POLICY_A, "nope", POLICY_A]),
        ),
        (attr::ALLOWED_IDPS, Value::Set(vec![])),
        (attr::ACCOUNT_ID, Value::string("abc")),
    ]);
    let d = all_diags(&cfg);
    let mut got = paths(&d);
    got.sort();
    assert_eq!(
        got,
        vec![
            "account_id",
            "allowed_idps",
            "policy_ids[1]",
            "policy_ids[2]",
            "saas.access_token_lifetime",
            "saas.grant_types",
            "saas.redirect_uris[1]",
            "saas.scopes",
        ]
    );
    let text: String = d.iter().map(|x| x.detail.clone()).collect();
    assert!(text.contains("\"password\""), "{text}");
    assert!(text.contains("\"offline_access\""), "{text}");
    assert!(text.contains("omit the attribute"), "{text}");
}

#[test]
fn durations_and_redirects() {
    assert_eq!(token_lifetime_secs("5m"), Some(300.0));
    assert_eq!(token_lifetime_secs("1h30m"), Some(5400.0));
    for bad in ["30s", "5", "m5", "5ms", "1d", "", "-5m"] {
        assert_eq!(token_lifetime_secs(bad), None, "{bad}");
    }
    assert!(check_redirect_uri("https://mcp.example.com/cb").is_ok());
    assert!(check_redirect_uri("http://127.0.0.1:33418/callback").is_ok());
    assert!(check_redirect_uri("http://[::1]/cb").is_ok());
    assert!(check_redirect_uri("http://mcp.example.com/cb").is_err());
    assert!(check_redirect_uri("cursor://callback").is_err());
    assert!(check_redirect_uri("/relative").is_err());
    assert!(check_redirect_uri("https://x.example.com/cb#frag").is_err());
}

fn unknown_paths(v: &Value, base: &str, out: &mut Vec<String>) {
    match v {
        Value::Unknown => out.push(base.to_string()),
        Value::Object(m) => {
            for (k, x) in m {
                unknown_paths(x, &format!("{base}.{k}"), out);
            }
        }
        _ => {}
    }
}

fn self_hosted_config() -> Value {
    config(vec![
        (attr::NAME, Value::string("mcp")),
        (attr::DOMAIN, Value::string("mcp.example.com")),
        (attr::POLICY_IDS, Value::string_list([POLICY_A, POLICY_B])),
    ])
}

#[test]
fn create_plan_predicts_what_it_can() {
    let req = plan(&Value::Null, &self_hosted_config());
    let p = &req.planned;
    assert_eq!(p.get(attr::TYPE), Some(&Value::string(SELF_HOSTED)));
    assert_eq!(
        p.get(attr::INBOUND_TOKEN_HEADER),
        Some(&Value::string("Cf-Access-Jwt-Assertion"))
    );
    assert_eq!(
        p.get(attr::DOWNSTREAM_TOKEN_HEADER),
        Some(&Value::string("Cf-Access-Token"))
    );
    assert_eq!(
        p.get(attr::DOWNSTREAM_TOKEN_PREFIX),
        Some(&Value::string(""))
    );
    assert_eq!(p.get(attr::CLIENT_ID), Some(&Value::Null));
    assert_eq!(p.get(attr::CLIENT_SECRET), Some(&Value::Null));
    assert_eq!(
        p.get(attr::AUTO_REDIRECT_TO_IDENTITY),
        Some(&Value::Bool(false))
    );
    let mut unknown = Vec::new();
    unknown_paths(p, "", &mut unknown);
    assert_eq!(
        unknown,
        vec![".account_id", ".aud", ".id", ".session_duration", ".uid"]
    );

    let saas = config(vec![
        (attr::NAME, Value::string("mcp")),
        (attr::TYPE, Value::string(SAAS)),
        (attr::SAAS, saas_config(vec![])),
    ]);
    let req = plan(&Value::Null, &saas);
    let p = &req.planned;
    assert_eq!(p.get(attr::SESSION_DURATION), Some(&Value::Null));
    assert_eq!(
        p.get(attr::DOWNSTREAM_TOKEN_PREFIX),
        Some(&Value::string("Bearer "))
    );
    assert_eq!(
        p.get(attr::SAAS)
            .and_then(|s| s.get(attr::ALLOW_PKCE_WITHOUT_CLIENT_SECRET)),
        Some(&Value::Bool(false))
    );
    let mut unknown = Vec::new();
    unknown_paths(p, "", &mut unknown);
    assert_eq!(
        unknown,
        vec![
            ".account_id",
            ".aud",
            ".client_id",
            ".client_secret",
            ".id",
            ".saas.access_token_lifetime",
            ".uid"
        ]
    );
}

/// State after creating `cfg` against `app`, as create computes it.
fn created_state(cfg: &Value, app: &App, secret: Option<&str>) -> Value {
    let planned = model(&plan(&Value::Null, cfg).planned);
    let scope = PolicyScope::Managed(planned.policy_ids.clone().known_or_default());
    state_from_app(app, &planned, ACCOUNT, secret.map(str::to_string), &scope)
        .unwrap()
        .to_value()
}

/// State after importing `app`, skipping the `excluded` policies, as import computes it.
fn imported_state(app: &App, excluded: HashSet<String>) -> Value {
    state_from_app(
        app,
        &Model::default(),
        ACCOUNT,
        None,
        &PolicyScope::Imported { excluded },
    )
    .unwrap()
    .to_value()
}

#[test]
fn update_plan_has_no_unknowns_and_type_change_replaces() {
    let prior = created_state(&self_hosted_config(), &self_hosted_app(), None);
    // Unchanged: the plan is the prior state.
    let same = plan(&prior, &self_hosted_config());
    assert_eq!(same.planned, prior);
    assert!(same.requires_replace.is_empty());
    // A rename: nothing else becomes "known after apply".
    let mut renamed = self_hosted_config();
    renamed.set(attr::NAME, Value::string("mcp-2"));
    let req = plan(&prior, &renamed);
    let mut unknown = Vec::new();
    unknown_paths(&req.planned, "", &mut unknown);
    assert!(unknown.is_empty(), "{unknown:?}");
    assert!(req.requires_replace.is_empty());
    // Removing `type = "saas"` from the configuration means self_hosted: replace.
    let saas_cfg = config(vec![
        (attr::NAME, Value::string("mcp")),
        (attr::TYPE, Value::string(SAAS)),
        (attr::SAAS, saas_config(vec![])),
    ]);
    let saas_prior = created_state(&saas_cfg, &saas_app(), Some("s3cret"));
    let req = plan(&saas_prior, &self_hosted_config());
    assert!(
        req.requires_replace
            .contains(&AttributePath::root(attr::TYPE))
    );
    assert_eq!(
        req.planned.get(attr::TYPE),
        Some(&Value::string(SELF_HOSTED))
    );
    // A saas update keeps the secret and client id known.
    let mut saas_renamed = saas_cfg.clone();
    saas_renamed.set(attr::NAME, Value::string("mcp-2"));
    let req = plan(&saas_prior, &saas_renamed);
    assert_eq!(
        req.planned.get(attr::CLIENT_SECRET),
        Some(&Value::string("s3cret"))
    );
    let mut unknown = Vec::new();
    unknown_paths(&req.planned, "", &mut unknown);
    assert!(unknown.is_empty(), "{unknown:?}");
    // Removing auto_redirect_to_identity from the config plans the default back.
    let mut on = self_hosted_config();
    on.set(attr::AUTO_REDIRECT_TO_IDENTITY, Value::Bool(true));
    let mut prior_on = prior.clone();
    prior_on.set(attr::AUTO_REDIRECT_TO_IDENTITY, Value::Bool(true));
    let req = plan(&prior_on, &self_hosted_config());
    assert_eq!(
        req.planned.get(attr::AUTO_REDIRECT_TO_IDENTITY),
        Some(&Value::Bool(false))
    );
}

#[test]
fn after_import_the_saas_secret_stays_null_without_unknowns() {
    let saas_cfg = config(vec![
        (attr::NAME, Value::string("mcp")),
        (attr::TYPE, Value::string(SAAS)),
        (attr::SAAS, saas_config(vec![])),
    ]);
    let imported = imported_state(&saas_app(), HashSet::new());
    let mut renamed = saas_cfg;
    renamed.set(attr::NAME, Value::string("other"));
    let req = plan(&imported, &renamed);
    assert_eq!(req.planned.get(attr::CLIENT_SECRET), Some(&Value::Null));
    assert_eq!(
        req.planned.get(attr::CLIENT_ID),
        Some(&Value::string("cid"))
    );
}

#[test]
fn state_normalises_server_rewrites() {
    let mut cfg = self_hosted_config();
    cfg.set(attr::SESSION_DURATION, Value::string("1440m"));
    cfg.set(attr::DOMAIN, Value::string("MCP.example.com"));
    let s = model(&created_state(&cfg, &self_hosted_app(), None));
    assert_eq!(s.session_duration.as_str(), Some("1440m"));
    assert_eq!(s.domain.as_str(), Some("MCP.example.com"));
    assert_eq!(
        s.allowed_idps,
        Field::Null,
        "[] from the API is the unset set"
    );
    assert_eq!(s.auto_redirect_to_identity, Field::Known(false));
    assert_eq!(
        s.policy_ids,
        Field::Known(vec![POLICY_A.into(), POLICY_B.into()])
    );
    assert_eq!(s.uid.as_str(), Some(APP_ID));
    assert_eq!(s.client_id, Field::Null);

    // Real drift is kept.
    let mut drifted = self_hosted_app();
    drifted.session_duration = Some("1h".into());
    drifted.domain = Some("other.example.com".into());
    let s = model(&created_state(&cfg, &drifted, None));
    assert_eq!(s.session_duration.as_str(), Some("1h"));
    assert_eq!(s.domain.as_str(), Some("other.example.com"));
}

#[test]
fn saas_state_hides_server_details_and_keeps_the_secret() {
    let cfg = saas_login_config();
    let created = created_state(&cfg, &saas_app(), Some("s3cret"));
    let s = model(&created);
    assert_eq!(
        s.domain,
        Field::Null,
        "a SaaS app's generated domain is not state"
    );
    assert_eq!(s.client_id.as_str(), Some("cid"));
    assert_eq!(
        s.client_secret.known().map(|s| s.expose().as_str()),
        Some("s3cret")
    );
    let saas = s.saas.clone().into_known().unwrap();
    assert_eq!(
        saas.scopes,
        Field::Known(Set(vec!["openid".to_string(), "email".to_string()])),
        "offline_access dropped, config order kept"
    );
    assert_eq!(
        saas.grant_types,
        Field::Known(Set(vec![
            "authorization_code_with_pkce".to_string(),
            "refresh_tokens".to_string()
        ]))
    );
    assert_eq!(saas.access_token_lifetime.as_str(), Some("5m"));
    assert_eq!(saas.allow_pkce_without_client_secret, Field::Known(false));
    // A refresh never blanks the secret.
    let refreshed = state_from_app(
        &saas_app(),
        &s,
        ACCOUNT,
        None,
        &PolicyScope::Managed(vec![]),
    )
    .unwrap();
    assert_eq!(refreshed.to_value(), created);
}

#[test]
fn import_equals_create_except_the_secret() {
    let cfg = self_hosted_config();
    let created = created_state(&cfg, &self_hosted_app(), None);
    let excluded: HashSet<String> = [POLICY_LAT.to_string()].into();
    let imported = imported_state(&self_hosted_app(), excluded);
    assert_eq!(imported, created);

    let saas_cfg = saas_login_config();
    let mut created = created_state(&saas_cfg, &saas_app(), Some("s3cret"));
    let imported = imported_state(&saas_app(), HashSet::new());
    created.set(attr::CLIENT_SECRET, Value::Null);
    // Sets compare as sets: the import keeps the API's order.
    assert!(
        imported.semantically_equal(&created),
        "{imported:?}\n{created:?}"
    );
}

#[test]
fn policy_ids_follow_precedence_and_ignore_foreign_entries() {
    let app = self_hosted_app();
    let managed = |ids: &[&str]| PolicyScope::Managed(ids.iter().map(|s| s.to_string()).collect());
    assert_eq!(
        policy_ids_for_state(&app, &managed(&[POLICY_B, POLICY_A])),
        Some(vec![POLICY_A.to_string(), POLICY_B.to_string()]),
        "reorder out of band shows as a different order"
    );
    assert_eq!(
        policy_ids_for_state(&app, &managed(&[POLICY_A, FOREIGN])),
        Some(vec![POLICY_A.to_string()]),
        "a detached managed policy disappears"
    );
    assert_eq!(policy_ids_for_state(&app, &managed(&[])), None);
    let mut lat = app.clone();
    lat.policies.retain(|p| p.id == POLICY_LAT);
    assert_eq!(
        policy_ids_for_state(
            &lat,
            &PolicyScope::Imported {
                excluded: [POLICY_LAT.to_string()].into()
            }
        ),
        None
    );
}

#[test]
fn unsupported_apps_are_named() {
    let mut a = self_hosted_app();
    a.app_type = AppType::Ssh;
    assert_eq!(check_supported(&a), Err(Unsupported::Type("ssh".into())));
    let (_, detail) = Unsupported::Type("ssh".into()).diagnostic(APP_ID);
    assert!(
        detail.contains("\"ssh\"") && detail.contains(APP_ID),
        "{detail}"
    );
    let mut s = saas_app();
    s.saas_app.as_mut().unwrap().auth_type = None;
    assert_eq!(
        check_supported(&s),
        Err(Unsupported::AuthType("saml".into()))
    );
    assert!(check_supported(&saas_app()).is_ok());
}

#[test]
fn create_bodies() {
    let planned = model(&plan(&Value::Null, &self_hosted_config()).planned);
    assert_eq!(
        create_body(&planned),
        json!({
            "type": "self_hosted", "name": "mcp", "domain": "mcp.example.com",
            "auto_redirect_to_identity": false,
            "policies": [{"id": POLICY_A, "precedence": 1}, {"id": POLICY_B, "precedence": 2}]
        })
    );
    let saas_cfg = config(vec![
        (attr::NAME, Value::string("mcp")),
        (attr::TYPE, Value::string(SAAS)),
        (
            attr::SAAS,
            saas_config(vec![(attr::ACCESS_TOKEN_LIFETIME, Value::string("15m"))]),
        ),
    ]);
    let planned = model(&plan(&Value::Null, &saas_cfg).planned);
    let body = create_body(&planned);
    assert_eq!(body["type"], json!("saas"));
    assert_eq!(body.get("domain"), None);
    assert_eq!(body.get("policies"), None);
    assert_eq!(body.get("allowed_idps"), None);
    assert_eq!(body["saas_app"]["auth_type"], json!("oidc"));
    assert_eq!(body["saas_app"]["access_token_lifetime"], json!("15m"));
    assert_eq!(
        body["saas_app"]["allow_pkce_without_client_secret"],
        json!(false)
    );
    assert_eq!(
        body["saas_app"]["redirect_uris"],
        json!(["https://mcp.example.com/oauth/callback"])
    );
}

#[test]
fn update_body_keeps_foreign_fields_and_never_sends_policies() {
    let current = self_hosted_app();
    let mut cfg = self_hosted_config();
    cfg.set(attr::DOMAIN, Value::string("new.example.com"));
    cfg.set(attr::NAME, Value::string("renamed"));
    let prior = created_state(&self_hosted_config(), &current, None);
    let planned = model(&plan(&prior, &cfg).planned);
    let body = update_body(&current, &planned);
    assert_eq!(body.get("policies"), None);
    assert_eq!(body["name"], json!("renamed"));
    assert_eq!(body["domain"], json!("new.example.com"));
    assert_eq!(
        body["destinations"],
        json!([{"type": "public", "uri": "new.example.com"}])
    );
    assert_eq!(body["self_hosted_domains"], json!(["new.example.com"]));
    assert_eq!(body["service_auth_401_redirect"], json!(false));
    assert_eq!(body["app_launcher_visible"], json!(true));
    assert_eq!(
        body.get("allowed_idps"),
        None,
        "[] and absent mean the same"
    );
    // Identity providers added out of band are removed by sending the empty list.
    let mut with_idps = current.clone();
    with_idps.allowed_idps = vec![IDP.into()];
    assert_eq!(update_body(&with_idps, &planned)["allowed_idps"], json!([]));
    assert_eq!(body["session_duration"], json!("24h"));
    assert_eq!(body.get("id"), None);

    // Nothing changed: the body equals what was read, so no PUT is needed.
    let same = model(&plan(&prior, &self_hosted_config()).planned);
    assert_eq!(update_body(&current, &same), current.to_update_body());

    // SaaS: server fields of saas_app are kept, read-only ones dropped.
    let saas_cfg = config(vec![
        (attr::NAME, Value::string("mcp")),
        (attr::TYPE, Value::string(SAAS)),
        (attr::SAAS, saas_config(vec![])),
    ]);
    let saas_prior = created_state(&saas_cfg, &saas_app(), Some("s"));
    let planned = model(&plan(&saas_prior, &saas_cfg).planned);
    let body = update_body(&saas_app(), &planned);
    assert_eq!(body["saas_app"]["custom_claims"], json!([]));
    assert_eq!(body["saas_app"].get("client_id"), None);
    assert_eq!(body["saas_app"]["auth_type"], json!("oidc"));
}

fn link(id: &str, precedence: u32) -> PolicyLink {
    PolicyLink {
        id: PolicyId::new_unchecked(id),
        precedence,
    }
}

#[test]
fn attachments_reconcile_around_foreign_entries() {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    // Reorder ours, keep the foreign entry at 5, detach a removed one.
    let mut links = vec![
        link(POLICY_A, 1),
        link(POLICY_B, 2),
        link(FOREIGN, 5),
        link(POLICY_LAT, 3),
    ];
    let changed = reconcile_attachments(
        &mut links,
        &s(&[POLICY_A, POLICY_B, POLICY_LAT]),
        &s(&[POLICY_B, POLICY_A]),
    );
    assert!(changed);
    assert_eq!(
        links,
        vec![link(POLICY_B, 1), link(POLICY_A, 2), link(FOREIGN, 5)]
    );
    // Already right: no change.
    let mut again = links.clone();
    assert!(!reconcile_attachments(
        &mut again,
        &s(&[POLICY_B, POLICY_A]),
        &s(&[POLICY_B, POLICY_A])
    ));
    assert_eq!(again, links);
}

#[test]
fn ours_in_list_order_stay_where_they_are_around_foreign_entries() {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    // Imported: ours at 1 and 3 around a Linked App Token policy at 2 (the API
    // lists in any order). In list order already: nothing to do, nothing moves.
    let layout = vec![link(POLICY_B, 3), link(POLICY_LAT, 2), link(POLICY_A, 1)];
    let mut links = layout.clone();
    let ours = s(&[POLICY_A, POLICY_B]);
    assert!(!reconcile_attachments(&mut links, &ours, &ours));
    assert_eq!(links, layout, "untouched");
    // Far apart (someone moved ours to 7 and 9): still in order, still untouched.
    let mut far = vec![link(POLICY_A, 7), link(FOREIGN, 8), link(POLICY_B, 9)];
    assert!(!reconcile_attachments(&mut far, &ours, &ours));
    // Not in order any more: ours take the lowest precedences nobody else holds.
    let mut swapped = vec![link(POLICY_A, 3), link(POLICY_LAT, 2), link(POLICY_B, 1)];
    assert!(reconcile_attachments(&mut swapped, &ours, &ours));
    assert_eq!(
        swapped,
        vec![link(POLICY_A, 1), link(POLICY_LAT, 2), link(POLICY_B, 3)]
    );
    // A new policy skips the precedences held by others, who keep theirs.
    let mut held = vec![link(POLICY_A, 1), link(POLICY_LAT, 2), link(FOREIGN, 3)];
    assert!(reconcile_attachments(
        &mut held,
        &s(&[POLICY_A]),
        &s(&[POLICY_A, POLICY_B])
    ));
    assert_eq!(
        held,
        vec![
            link(POLICY_A, 1),
            link(POLICY_LAT, 2),
            link(FOREIGN, 3),
            link(POLICY_B, 4)
        ]
    );
    // A new first policy: ours renumbered around the foreign ones, never onto them.
    let mut first = held.clone();
    assert!(reconcile_attachments(
        &mut first,
        &s(&[POLICY_A, POLICY_B]),
        &s(&[POLICY_B, POLICY_A])
    ));
    assert_eq!(
        first,
        vec![
            link(POLICY_B, 1),
            link(POLICY_LAT, 2),
            link(FOREIGN, 3),
            link(POLICY_A, 4)
        ]
    );
    // Removing one of ours detaches it and leaves the rest where they are.
    let mut removed = vec![link(POLICY_A, 1), link(POLICY_LAT, 2), link(POLICY_B, 3)];
    assert!(reconcile_attachments(
        &mut removed,
        &s(&[POLICY_A, POLICY_B]),
        &s(&[POLICY_B])
    ));
    assert_eq!(removed, vec![link(POLICY_LAT, 2), link(POLICY_B, 3)]);
}

#[test]
fn model_debug_never_prints_the_client_secret() {
    let model = Model {
        name: Field::Known("visible".into()),
        client_secret: Field::Known(Sensitive("cs-very-secret-value".into())),
        ..Default::default()
    };
    for text in [format!("{model:?}"), format!("{model:#?}")] {
        assert!(!text.contains("cs-very-secret-value"), "{text}");
        assert!(
            text.contains("[redacted]") && text.contains("visible"),
            "{text}"
        );
    }
    // Null stays visibly null, so a missing secret is still diagnosable.
    assert!(format!("{:?}", Model::default()).contains("client_secret: Null"));
}

/// A redirect URI known only at apply (another resource's output) leaves the list
/// partly unknown: the plan keeps it exactly as configured, known elements included,
/// and still plans the defaults around it.
#[test]
fn a_partly_unknown_redirect_list_is_planned_as_configured() {
    let uris = Value::List(vec![
        Value::string("https://mcp.example.com/oauth/callback"),
        Value::Unknown,
    ]);
    let cfg = config(vec![
        (attr::NAME, Value::string("mcp")),
        (attr::TYPE, Value::string(SAAS)),
        (
            attr::SAAS,
            saas_config(vec![(attr::REDIRECT_URIS, uris.clone())]),
        ),
    ]);
    let req = plan(&Value::Null, &cfg);
    let saas = req.planned.get(attr::SAAS).expect("saas planned");
    assert_eq!(saas.get(attr::REDIRECT_URIS), Some(&uris));
    assert_eq!(
        saas.get(attr::ALLOW_PKCE_WITHOUT_CLIENT_SECRET),
        Some(&Value::Bool(false))
    );
}
