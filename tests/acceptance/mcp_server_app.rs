//! Acceptance tests of `cfaccess_mcp_server_app` (issue 5) with the real `terraform`
//! binary against the emulator: both types created and re-planned empty, every managed
//! field updated in place without "(known after apply)" noise, type change replaces,
//! drift detected and repaired, out-of-band delete re-created, import round trips,
//! foreign attachments left alone (ours placed around them), bad input refused before
//! any write, destroy.

use serde_json::{Value, json};

use cfaccess_emulator::Seed;
use cfaccess_emulator::demo_ids::{COMPANY_WIKI_EMPLOYEES_POLICY, INTERNAL_API_EMPLOYEES_POLICY};

use crate::steps::{assert_default_token_headers, each_refused_before_any_write, plan_update_of};
use crate::support::{Harness, TestResult, extended_seed, seed_ids};

const ADDR: &str = "cfaccess_mcp_server_app.mcp";
/// Two user-facing allow policies of the seed.
const P1: &str = INTERNAL_API_EMPLOYEES_POLICY;
const P2: &str = COMPANY_WIKI_EMPLOYEES_POLICY;
/// A policy some other tool attaches to our app: the Linked App Token policy a
/// `cfaccess_linked_app_policy` would attach so another MCP server may call this one.
/// (Import leaves such policies out of `policy_ids`; it adopts every other one.)
const FOREIGN: &str = "3c3c3c3c-0000-4000-8000-000000000003";

fn seed() -> Seed {
    let mut seed = extended_seed();
    seed.policies.push(json!({
        "id": FOREIGN, "name": "seed MCP server may call", "decision": "non_identity",
        "include": [{"linked_app_token": {"app_uid": seed_ids::MCP_SELF_HOSTED_APP}}],
    }));
    seed
}

macro_rules! app_harness {
    () => {
        match Harness::builder().seed(Some(seed())).build().await? {
            Some(h) => h,
            None => return Ok(()),
        }
    };
}

/// `resource "cfaccess_mcp_server_app" "mcp" { <body> }`.
fn app(body: &str) -> String {
    format!("resource \"cfaccess_mcp_server_app\" \"mcp\" {{\n{body}\n}}\n")
}

fn self_hosted(name: &str, extra: &str) -> String {
    app(&format!(
        "  name   = \"{name}\"\n  domain = \"{name}.example.com\"\n{extra}"
    ))
}

fn saas(name: &str, saas_body: &str, extra: &str) -> String {
    app(&format!(
        "  name = \"{name}\"\n  type = \"saas\"\n  saas = {{\n{saas_body}\n  }}\n{extra}"
    ))
}

/// A saas app `x` with valid OIDC settings but for `key`, which is set to `value` (HCL).
fn oidc_with(key: &str, value: &str) -> String {
    let mut settings = vec![
        ("redirect_uris", r#"["https://x.example.com/cb"]"#),
        ("grant_types", r#"["authorization_code"]"#),
        ("scopes", r#"["openid"]"#),
    ];
    match settings.iter_mut().find(|(k, _)| *k == key) {
        Some(setting) => setting.1 = value,
        None => settings.push((key, value)),
    }
    let lines: Vec<String> = settings
        .iter()
        .map(|(k, v)| format!("    {k:<13} = {v}"))
        .collect();
    saas("x", &lines.join("\n"), "")
}

const SAAS_BODY: &str = r#"    redirect_uris = ["https://mcp.example.com/oauth/callback"]
    grant_types   = ["authorization_code_with_pkce", "refresh_tokens"]
    scopes        = ["openid", "email", "profile"]"#;

/// The app as the emulator holds it.
fn emu_app(h: &Harness, id: &str) -> Value {
    h.emulator().app(h.account_id(), id).unwrap_or(Value::Null)
}

/// The `policy_ids` line listing `ids` in order.
fn policy_ids(ids: &[&str]) -> String {
    let quoted: Vec<String> = ids.iter().map(|id| format!("\"{id}\"")).collect();
    format!("  policy_ids = [{}]", quoted.join(", "))
}

fn links(pairs: &[(&str, u64)]) -> Vec<(String, u64)> {
    pairs.iter().map(|(i, p)| (i.to_string(), *p)).collect()
}

/// Paths of every `true` leaf of a plan's `after_unknown`.
fn unknown_leaves(v: &Value, base: &str, out: &mut Vec<String>) {
    match v {
        Value::Bool(true) => out.push(base.to_string()),
        Value::Object(m) => {
            for (k, x) in m {
                unknown_leaves(x, &format!("{base}.{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                unknown_leaves(x, &format!("{base}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// Plans `config`, requires a single in-place update of [`ADDR`] with nothing
/// "(known after apply)", applies it, and requires an empty plan afterwards.
async fn update_in_place(h: &Harness, config: &str) -> TestResult {
    h.write_config(config)?;
    let plan = plan_update_of(h, ADDR).await?;
    let mut unknown = Vec::new();
    unknown_leaves(
        plan.after_unknown.get(ADDR).unwrap_or(&Value::Null),
        "",
        &mut unknown,
    );
    assert!(
        unknown.is_empty(),
        "an update that does not touch them shows {unknown:?} as (known after apply)"
    );
    h.apply().await?;
    h.assert_empty_plan().await
}

#[tokio::test]
async fn self_hosted_lifecycle() -> TestResult {
    let h = app_harness!();
    let name = h.name("mcp");
    h.write_config(&self_hosted(&name, &policy_ids(&[P1, P2])))?;
    h.apply().await?;
    h.assert_empty_plan().await?;
    let state = h.state_json().await?;
    let id = state.attr(ADDR, "id")?;
    assert_eq!(state.attr(ADDR, "uid")?, id);
    assert_eq!(state.attr(ADDR, "type")?, "self_hosted");
    assert_eq!(state.attr(ADDR, "session_duration")?, "24h");
    assert_default_token_headers(&state, ADDR)?;
    assert_eq!(state.value(ADDR, "client_secret"), Some(&Value::Null));
    assert_eq!(h.attachments(&id), links(&[(P1, 1), (P2, 2)]));

    // A policy attached by someone else is left alone and causes no diff.
    h.emulator().set_attachments_out_of_band(
        h.account_id(),
        &id,
        vec![(P1.into(), 1), (P2.into(), 2), (FOREIGN.into(), 9)],
    );
    h.assert_empty_plan().await?;

    // Each managed field, in place.
    let renamed = format!("{name}-2");
    let cfg = |extra: &str| {
        app(&format!(
            "  name   = \"{renamed}\"\n  domain = \"{name}.example.com\"\n  policy_ids = [\"{P1}\", \"{P2}\"]\n{extra}"
        ))
    };
    update_in_place(&h, &cfg("")).await?;
    assert_eq!(emu_app(&h, &id)["name"], json!(renamed));
    update_in_place(
        &h,
        &app(&format!(
            "  name   = \"{renamed}\"\n  domain = \"{name}-new.example.com\"\n  policy_ids = [\"{P1}\", \"{P2}\"]"
        )),
    )
    .await?;
    assert_eq!(
        emu_app(&h, &id)["domain"],
        json!(format!("{name}-new.example.com"))
    );
    let cfg = |extra: &str| {
        app(&format!(
            "  name   = \"{renamed}\"\n  domain = \"{name}-new.example.com\"\n{extra}"
        ))
    };
    update_in_place(
        &h,
        &cfg(&format!(
            "  session_duration = \"12h\"\n  policy_ids = [\"{P1}\", \"{P2}\"]"
        )),
    )
    .await?;
    assert_eq!(emu_app(&h, &id)["session_duration"], json!("12h"));
    let idp = "11111111-2222-4333-8444-555555555555";
    update_in_place(
        &h,
        &cfg(&format!(
            "  session_duration = \"12h\"\n  allowed_idps = [\"{idp}\"]\n  auto_redirect_to_identity = true\n  policy_ids = [\"{P1}\", \"{P2}\"]"
        )),
    )
    .await?;
    assert_eq!(emu_app(&h, &id)["allowed_idps"], json!([idp]));
    assert_eq!(emu_app(&h, &id)["auto_redirect_to_identity"], json!(true));
    // Reorder: precedence follows, the foreign policy keeps its place.
    let final_cfg = cfg(&format!(
        "  session_duration = \"12h\"\n  allowed_idps = [\"{idp}\"]\n  auto_redirect_to_identity = true\n  policy_ids = [\"{P2}\", \"{P1}\"]"
    ));
    update_in_place(&h, &final_cfg).await?;
    assert_eq!(h.attachments(&id), links(&[(P2, 1), (P1, 2), (FOREIGN, 9)]));

    // Out-of-band change of a managed field: plan exits 2, apply repairs it.
    h.emulator().mutate_app(h.account_id(), &id, |a| {
        a["name"] = json!("changed by hand");
        a["session_duration"] = json!("1h");
    });
    assert_eq!(h.plan_exit_code().await?, 2);
    h.apply().await?;
    h.assert_empty_plan().await?;
    assert_eq!(emu_app(&h, &id)["name"], json!(renamed));
    assert_eq!(emu_app(&h, &id)["session_duration"], json!("12h"));
    // Out-of-band reorder of managed policies is drift too.
    h.emulator().set_attachments_out_of_band(
        h.account_id(),
        &id,
        vec![(P1.into(), 1), (P2.into(), 2), (FOREIGN.into(), 9)],
    );
    assert_eq!(h.plan_exit_code().await?, 2);
    h.apply().await?;
    assert_eq!(h.attachments(&id), links(&[(P2, 1), (P1, 2), (FOREIGN, 9)]));
    // Fields we do not manage never cause a diff, and updates keep them.
    h.emulator().mutate_app(h.account_id(), &id, |a| {
        a["app_launcher_visible"] = json!(false);
        a["tags"] = json!(["team-a"]);
    });
    h.assert_empty_plan().await?;

    // Import round trip: same state, empty plan.
    h.import_verify(ADDR, &id, &[]).await?;
    h.import_verify(ADDR, &format!("{}/{id}", h.account_id()), &[])
        .await?;

    // Out-of-band delete: re-created by the next apply.
    h.emulator().delete_app_out_of_band(h.account_id(), &id);
    assert_eq!(
        h.plan_actions().await?.get(ADDR).cloned(),
        Some(vec!["create".to_string()])
    );
    h.apply().await?;
    h.assert_empty_plan().await?;
    let new_id = h.id_in_state(ADDR).await?;
    assert_ne!(new_id, id);
    assert_eq!(h.attachments(&new_id), links(&[(P2, 1), (P1, 2)]));

    h.destroy_and_pass().await
}

#[tokio::test]
async fn saas_lifecycle() -> TestResult {
    let h = app_harness!();
    let name = h.name("mcp-oidc");
    h.write_config(&saas(&name, SAAS_BODY, &policy_ids(&[P1])))?;
    h.apply().await?;
    h.assert_empty_plan().await?;
    let state = h.state_json().await?;
    let id = state.attr(ADDR, "id")?;
    let secret = state.attr(ADDR, "client_secret")?;
    assert!(!secret.is_empty());
    assert!(!state.attr(ADDR, "client_id")?.is_empty());
    assert_eq!(state.attr(ADDR, "saas.access_token_lifetime")?, "5m");
    assert_eq!(state.attr(ADDR, "inbound_token_header")?, "Authorization");
    assert_eq!(state.attr(ADDR, "downstream_token_prefix")?, "Bearer ");
    assert_eq!(state.value(ADDR, "domain"), Some(&Value::Null));
    assert_eq!(state.value(ADDR, "session_duration"), Some(&Value::Null));
    // Sensitive in the human rendering.
    let shown = h.show().await?;
    assert!(!shown.stdout.contains(&secret), "client_secret printed");

    // Every saas field in place; the secret survives (no "known after apply").
    let body = r#"    redirect_uris = ["https://mcp.example.com/cb2", "http://localhost:6274/cb"]
    grant_types   = ["authorization_code"]
    scopes        = ["openid"]
    access_token_lifetime            = "15m"
    allow_pkce_without_client_secret = true"#;
    let cfg = saas(&name, body, &policy_ids(&[P1]));
    update_in_place(&h, &cfg).await?;
    let state = h.state_json().await?;
    assert_eq!(state.attr(ADDR, "client_secret")?, secret);
    let saas_app = &emu_app(&h, &id)["saas_app"];
    assert_eq!(saas_app["access_token_lifetime"], json!("15m"));
    assert_eq!(saas_app["allow_pkce_without_client_secret"], json!(true));
    assert_eq!(saas_app["grant_types"], json!(["authorization_code"]));

    // Drift in the saas settings.
    h.emulator().mutate_app(h.account_id(), &id, |a| {
        a["saas_app"]["scopes"] = json!(["openid", "groups"]);
        a["saas_app"]["access_token_lifetime"] = json!("1h");
    });
    assert_eq!(h.plan_exit_code().await?, 2);
    h.apply().await?;
    h.assert_empty_plan().await?;
    assert_eq!(
        emu_app(&h, &id)["saas_app"]["access_token_lifetime"],
        json!("15m")
    );

    // Import: equal but for the secret, which the API cannot return (documented).
    let imported = h.import_verify(ADDR, &id, &["client_secret"]).await?;
    assert_eq!(
        imported.get("client_secret"),
        Some(&Value::Null),
        "{imported}"
    );

    // Changing the type plans a replacement.
    h.write_config(&self_hosted(&name, ""))?;
    assert_eq!(
        h.plan_actions().await?.get(ADDR).cloned(),
        Some(vec!["delete".to_string(), "create".to_string()])
    );
    h.apply().await?;
    h.assert_empty_plan().await?;
    let state = h.state_json().await?;
    assert_eq!(state.attr(ADDR, "type")?, "self_hosted");
    assert_ne!(state.attr(ADDR, "id")?, id);
    assert!(emu_app(&h, &id).is_null(), "the saas app was deleted");

    h.destroy_and_pass().await
}

#[tokio::test]
async fn bad_input_is_refused_before_any_write() -> TestResult {
    let h = app_harness!();
    let cases: Vec<(String, &str, &str)> = vec![
        (
            app("  name = \"x\""),
            "domain",
            "self-hosted MCP server application needs the hostname",
        ),
        (
            app("  name = \"x\"\n  type = \"saas\""),
            "saas",
            "needs its OIDC settings",
        ),
        (
            self_hosted("x", &format!("  saas = {{\n{SAAS_BODY}\n  }}")),
            "saas",
            "applies only to type = \"saas\"",
        ),
        (
            saas("x", SAAS_BODY, "  domain = \"x.example.com\""),
            "domain",
            "applies only to type = \"self_hosted\"",
        ),
        (
            oidc_with("grant_types", r#"["password"]"#),
            "grant_types",
            "must be one of .*\"password\"",
        ),
        (
            oidc_with("scopes", r#"["openid", "admin"]"#),
            "scopes",
            "must be one of .*\"admin\"",
        ),
        (
            oidc_with("redirect_uris", r#"["http://x.example.com/cb"]"#),
            "redirect_uris",
            "http:// on a host other than localhost",
        ),
        (
            oidc_with("access_token_lifetime", r#""30s""#),
            "access_token_lifetime",
            "minutes and/or hours",
        ),
        (
            self_hosted("x", "  session_duration = \"1 day\""),
            "session_duration",
            "must be a duration",
        ),
        (
            self_hosted("x", &policy_ids(&[P1, P1])),
            "policy_ids",
            "twice",
        ),
        (
            self_hosted("x", "  policy_ids = [\"employees\"]"),
            "policy_ids",
            "must be a Cloudflare Access UUID",
        ),
        (
            self_hosted("x", "  allowed_idps = [\"okta\"]"),
            "allowed_idps",
            "must be a Cloudflare Access UUID",
        ),
        (
            self_hosted("x", "  allowed_idps = []"),
            "allowed_idps",
            "must not be empty",
        ),
        (
            self_hosted("x", "  type = \"ssh\""),
            "type",
            "must be one of",
        ),
        (
            self_hosted("x", "  account_id = \"nope\""),
            "account_id",
            "32 hexadecimal characters",
        ),
        // Needs the API: checked at plan time, still before any write.
        (
            self_hosted(
                "x",
                "  policy_ids = [\"9f9f9f9f-0000-4000-8000-00000000dead\"]",
            ),
            "policy_ids",
            "No reusable Access policy",
        ),
    ];
    each_refused_before_any_write(&h, cases).await
}

#[tokio::test]
async fn foreign_policies_keep_their_place_and_imports_of_other_types_fail() -> TestResult {
    let h = app_harness!();
    let name = h.name("mcp");
    h.write_config(&self_hosted(&name, &policy_ids(&[P1])))?;
    h.apply().await?;
    let id = h.id_in_state(ADDR).await?;
    h.emulator().set_attachments_out_of_band(
        h.account_id(),
        &id,
        vec![(P1.into(), 1), (FOREIGN.into(), 2)],
    );
    // The foreign policy holds the precedence a second policy of ours would take at
    // position 2: ours goes after it, and it keeps its id and precedence. Reordered,
    // ours swap around it.
    for (ours, expected) in [
        ([P1, P2], [(P1, 1), (FOREIGN, 2), (P2, 3)]),
        ([P2, P1], [(P2, 1), (FOREIGN, 2), (P1, 3)]),
    ] {
        h.write_config(&self_hosted(&name, &policy_ids(&ours)))?;
        h.apply().await?;
        assert_eq!(h.attachments(&id), links(&expected));
        h.assert_empty_plan().await?;
    }

    // Imports of apps this resource cannot manage fail with the type named.
    h.write_config(&format!(
        "{}\nresource \"cfaccess_mcp_server_app\" \"other\" {{\n  name   = \"bastion\"\n  domain = \"ssh.internal.example.com\"\n}}\n",
        self_hosted(&name, &policy_ids(&[P1]))
    ))?;
    h.import_expect_error(
        "cfaccess_mcp_server_app.other",
        seed_ids::SSH_APP,
        "type \"ssh\"",
    )
    .await?;
    h.import_expect_error(
        "cfaccess_mcp_server_app.other",
        seed_ids::MCP_TYPE_APP,
        "type \"mcp\"",
    )
    .await?;
    h.import_expect_error(
        "cfaccess_mcp_server_app.other",
        "9f9f9f9f-0000-4000-8000-00000000dead",
        "non-existent",
    )
    .await?;
    h.write_config(&self_hosted(&name, &policy_ids(&[P1])))?;
    h.destroy_and_pass().await
}
