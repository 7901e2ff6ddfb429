//! Acceptance tests of `oauth_configuration` (Managed OAuth, issue 18) on
//! `cfaccess_mcp_server_app`, with the real `terraform` binary against the emulator:
//! create and re-plan empty, in-place change, drift in every level planned and
//! repaired, members left out kept without a diff, import round trip (the attribute
//! set or omitted), omitted = not managed, and refusal on `saas` (and of bad values)
//! before any API call.

use serde_json::{Value, json};

use crate::steps::{assert_default_token_headers, each_refused_before_any_write, plan_update_of};
use crate::support::{Harness, Plan, Stage, TestResult};

const ADDR: &str = "cfaccess_mcp_server_app.mcp";

macro_rules! oauth_harness {
    () => {
        match Harness::builder().build().await? {
            Some(h) => h,
            None => return Ok(()),
        }
    };
}

/// A self-hosted MCP server app named `name` with `extra` in its body.
fn self_hosted(name: &str, extra: &str) -> String {
    format!(
        "resource \"cfaccess_mcp_server_app\" \"mcp\" {{\n  name   = \"{name}\"\n  domain = \"{name}.example.com\"\n{extra}\n}}\n"
    )
}

/// `oauth_configuration = { … }` with a DCR block and a grant, `enabled` left out.
fn oauth(lifetime: &str) -> String {
    format!(
        r#"  oauth_configuration = {{
    dynamic_client_registration = {{
      enabled               = true
      allowed_uris          = ["https://claude.ai/api/mcp/auth_callback", "http://localhost:6274/oauth/callback"]
      allow_any_on_loopback = true
    }}
    grant = {{
      access_token_lifetime = "{lifetime}"
      session_duration      = "336h"
    }}
  }}"#
    )
}

/// The app's `oauth_configuration` as the emulator holds it.
fn emu_oauth(h: &Harness, id: &str) -> Value {
    h.emulator()
        .app(h.account_id(), id)
        .and_then(|a| a.get("oauth_configuration").cloned())
        .unwrap_or(Value::Null)
}

/// Top-level attributes of [`ADDR`] whose planned value differs from the prior one.
fn changed_attributes(plan: &Plan) -> Vec<String> {
    let before = plan.before.get(ADDR).cloned().unwrap_or(Value::Null);
    let after = plan.after.get(ADDR).cloned().unwrap_or(Value::Null);
    after
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, v)| before.get(k.as_str()) != Some(v))
        .map(|(k, _)| k.clone())
        .collect()
}

/// Plans the current configuration and requires an in-place update of
/// `oauth_configuration` alone, with nothing "(known after apply)" unless
/// `unknowns_allowed` (members the configuration leaves out of an object the
/// application no longer has are up to the API).
async fn plan_oauth_update_only(h: &Harness, unknowns_allowed: bool) -> TestResult {
    let plan = plan_update_of(h, ADDR).await?;
    assert_eq!(changed_attributes(&plan), vec!["oauth_configuration"]);
    let unknown = plan.after_unknown.get(ADDR).cloned().unwrap_or(Value::Null);
    assert!(
        unknowns_allowed || !unknown.to_string().contains("true"),
        "the update shows (known after apply): {unknown}\nbefore: {}\nafter: {}",
        plan.before.get(ADDR).cloned().unwrap_or(Value::Null)["oauth_configuration"],
        plan.after.get(ADDR).cloned().unwrap_or(Value::Null)["oauth_configuration"]
    );
    Ok(())
}

/// Applies an in-place update of `oauth_configuration` alone (as
/// [`plan_oauth_update_only`] requires it), after which the plan is empty.
async fn apply_oauth_update_only(h: &Harness, unknowns_allowed: bool) -> TestResult {
    plan_oauth_update_only(h, unknowns_allowed).await?;
    h.apply().await?;
    h.assert_empty_plan().await
}

/// Writes `config` and applies it; the plan after it must be empty.
async fn converge(h: &Harness, config: &str) -> TestResult {
    h.write_config(config)?;
    h.apply().await?;
    h.assert_empty_plan().await
}

/// `change` made in the dashboard to app `id` (named `name`) where the configuration
/// does not manage it: it is no diff, and an unrelated update
/// (`session_duration = "12h"`) applies cleanly after it. The caller checks what the
/// application kept.
async fn unmanaged_change_is_no_diff(
    h: &Harness,
    id: &str,
    name: &str,
    change: impl FnOnce(&mut Value),
) -> TestResult {
    h.check(
        h.emulator().mutate_app(h.account_id(), id, change),
        "change the application out of band",
    )?;
    h.assert_empty_plan().await?;
    converge(h, &self_hosted(name, "  session_duration = \"12h\"")).await
}

#[tokio::test]
async fn oauth_lifecycle_drift_and_import() -> TestResult {
    let h = oauth_harness!();
    let name = h.name("mcp-oauth");
    converge(&h, &self_hosted(&name, &oauth("15m"))).await?;
    let state = h.state_json().await?;
    let id = state.attr(ADDR, "id")?;
    assert_eq!(
        state.value(ADDR, "oauth_configuration.enabled"),
        Some(&json!(true))
    );
    assert_eq!(
        state.attr(ADDR, "oauth_configuration.grant.access_token_lifetime")?,
        "15m"
    );
    // Members left out hold what the API returned (here: nothing), without a diff.
    assert_eq!(
        state.value(
            ADDR,
            "oauth_configuration.dynamic_client_registration.allow_any_on_localhost"
        ),
        Some(&Value::Null)
    );
    let sent = emu_oauth(&h, &id);
    assert_eq!(sent["enabled"], json!(true), "{sent}");
    assert_eq!(
        sent["dynamic_client_registration"]["allowed_uris"],
        json!([
            "https://claude.ai/api/mcp/auth_callback",
            "http://localhost:6274/oauth/callback"
        ])
    );
    assert_eq!(
        sent["dynamic_client_registration"]["allow_any_on_loopback"],
        json!(true)
    );
    assert_eq!(sent["grant"]["session_duration"], json!("336h"));
    // The header contract does not change with Managed OAuth.
    assert_default_token_headers(&state, ADDR)?;

    // In place: a member changes, nothing else is touched.
    h.write_config(&self_hosted(&name, &oauth("5m")))?;
    apply_oauth_update_only(&h, false).await?;
    assert_eq!(
        emu_oauth(&h, &id)["grant"]["access_token_lifetime"],
        json!("5m")
    );

    // Drift in a member of every level, made in the dashboard: planned and repaired.
    h.emulator().mutate_app(h.account_id(), &id, |a| {
        let o = &mut a["oauth_configuration"];
        o["enabled"] = json!(false);
        o["dynamic_client_registration"]["allowed_uris"] = json!(["https://evil.example.com/cb"]);
        o["grant"]["session_duration"] = json!("1h");
    });
    assert_eq!(h.plan_exit_code().await?, 2);
    apply_oauth_update_only(&h, false).await?;
    let repaired = emu_oauth(&h, &id);
    assert_eq!(repaired["enabled"], json!(true), "{repaired}");
    assert_eq!(
        repaired["dynamic_client_registration"]["allowed_uris"][0],
        json!("https://claude.ai/api/mcp/auth_callback")
    );
    assert_eq!(repaired["grant"]["session_duration"], json!("336h"));

    // The whole object removed outside Terraform: planned and put back.
    h.emulator().mutate_app(h.account_id(), &id, |a| {
        if let Some(obj) = a.as_object_mut() {
            obj.remove("oauth_configuration");
        }
    });
    assert_eq!(h.plan_exit_code().await?, 2);
    apply_oauth_update_only(&h, true).await?;
    assert_eq!(
        emu_oauth(&h, &id)["grant"]["session_duration"],
        json!("336h")
    );

    // A member the configuration leaves out is not managed: its change is no diff,
    // and the next update keeps it.
    h.emulator().mutate_app(h.account_id(), &id, |a| {
        a["oauth_configuration"]["dynamic_client_registration"]["allow_any_on_localhost"] =
            json!(true);
    });
    h.assert_empty_plan().await?;
    converge(&h, &self_hosted(&name, &oauth("10m"))).await?;
    assert_eq!(
        emu_oauth(&h, &id)["dynamic_client_registration"]["allow_any_on_localhost"],
        json!(true)
    );

    // Import gives the same state and an empty plan.
    h.import_verify(ADDR, &id, &[]).await?;

    // Removing the attribute stops managing it: nothing is planned, sent or
    // repaired, and the application keeps its settings. The state still shows them
    // (refreshed on read), as an import with that configuration would.
    converge(&h, &self_hosted(&name, "")).await?;
    assert_eq!(
        h.state_json()
            .await?
            .value(ADDR, "oauth_configuration.grant.access_token_lifetime"),
        Some(&json!("10m"))
    );
    assert_eq!(emu_oauth(&h, &id)["enabled"], json!(true));
    h.import_verify(ADDR, &id, &[]).await?;
    unmanaged_change_is_no_diff(&h, &id, &name, |a| {
        a["oauth_configuration"]["enabled"] = json!(false);
    })
    .await?;
    assert_eq!(emu_oauth(&h, &id)["enabled"], json!(false), "not repaired");

    h.destroy_and_pass().await
}

#[tokio::test]
async fn oauth_omitted_is_neither_sent_nor_managed() -> TestResult {
    let h = oauth_harness!();
    let name = h.name("mcp-plain");
    converge(&h, &self_hosted(&name, "")).await?;
    let id = h.id_in_state(ADDR).await?;
    assert_eq!(emu_oauth(&h, &id), Value::Null, "nothing sent");
    h.import_verify(ADDR, &id, &[]).await?;

    // Someone enables Managed OAuth in the dashboard: not ours, no diff, kept.
    unmanaged_change_is_no_diff(&h, &id, &name, |a| {
        a["oauth_configuration"] = json!({"enabled": true, "grant": {"session_duration": "24h"}});
    })
    .await?;
    assert_eq!(
        emu_oauth(&h, &id)["grant"]["session_duration"],
        json!("24h")
    );

    // `enabled` alone: the default of the other members is whatever the API keeps.
    converge(
        &h,
        &self_hosted(
            &name,
            "  session_duration = \"12h\"\n  oauth_configuration = {\n    enabled = false\n  }",
        ),
    )
    .await?;
    assert_eq!(emu_oauth(&h, &id)["enabled"], json!(false));
    h.import_verify(ADDR, &id, &[]).await?;

    h.destroy_and_pass().await
}

#[tokio::test]
async fn oauth_refused_on_saas_and_bad_values_before_any_call() -> TestResult {
    let h = oauth_harness!();
    let saas = r#"resource "cfaccess_mcp_server_app" "mcp" {
  name = "x"
  type = "saas"
  saas = {
    redirect_uris = ["https://mcp.example.com/oauth/callback"]
    grant_types   = ["authorization_code_with_pkce"]
    scopes        = ["openid"]
  }
  oauth_configuration = {
    enabled = true
  }
}
"#;
    h.write_config(saas)?;
    let calls = h.emulator().request_log().len();
    let stage = h
        .expect_invalid(
            "applies only to type = \"self_hosted\"",
            "oauth_configuration",
        )
        .await?;
    assert_eq!(stage, Stage::Validate);
    assert_eq!(
        h.emulator().request_log().len(),
        calls,
        "validate called the API"
    );

    let cases: Vec<(String, &str, &str)> = vec![
        (
            self_hosted(
                "x",
                "  oauth_configuration = {\n    dynamic_client_registration = {\n      allowed_uris = [\"http://mcp.example.com/cb\"]\n    }\n  }",
            ),
            "allowed_uris",
            "http:// on a host other than localhost",
        ),
        (
            self_hosted(
                "x",
                "  oauth_configuration = {\n    dynamic_client_registration = {\n      allowed_uris = [\"/relative/cb\"]\n    }\n  }",
            ),
            "allowed_uris",
            "not an absolute URL",
        ),
        (
            self_hosted(
                "x",
                "  oauth_configuration = {\n    grant = {\n      access_token_lifetime = \"15 minutes\"\n    }\n  }",
            ),
            "access_token_lifetime",
            "must be a duration",
        ),
        (
            self_hosted(
                "x",
                "  oauth_configuration = {\n    grant = {\n      session_duration = \"0s\"\n    }\n  }",
            ),
            "session_duration",
            "longer than 0s",
        ),
    ];
    each_refused_before_any_write(&h, cases).await
}

/// `oauth_configuration` as the dashboard sets it in [`oauth_import_with_the_attribute_omitted_plans_nothing`].
fn dashboard_oauth() -> Value {
    json!({
        "enabled": true,
        "dynamic_client_registration": {
            "enabled": true,
            "allowed_uris": ["https://claude.ai/api/mcp/auth_callback"],
            "allow_any_on_localhost": false,
            "allow_any_on_loopback": true
        },
        "grant": {"access_token_lifetime": "15m", "session_duration": "24h"}
    })
}

/// The same object as a configuration, with `lifetime` as the access-token lifetime.
fn dashboard_oauth_config(lifetime: &str) -> String {
    format!(
        r#"  oauth_configuration = {{
    enabled = true
    dynamic_client_registration = {{
      enabled                = true
      allowed_uris           = ["https://claude.ai/api/mcp/auth_callback"]
      allow_any_on_localhost = false
      allow_any_on_loopback  = true
    }}
    grant = {{
      access_token_lifetime = "{lifetime}"
      session_duration      = "24h"
    }}
  }}"#
    )
}

#[tokio::test]
async fn oauth_import_with_the_attribute_omitted_plans_nothing() -> TestResult {
    let h = oauth_harness!();
    // An application whose Managed OAuth was turned on in the dashboard.
    let name = h.name("mcp-import");
    h.write_config(&self_hosted(&name, ""))?;
    h.apply().await?;
    let id = h.id_in_state(ADDR).await?;
    h.emulator().mutate_app(h.account_id(), &id, |a| {
        a["oauth_configuration"] = dashboard_oauth();
    });
    h.run_ok(&["state", "rm", "-no-color", ADDR]).await?;

    // Imported into a configuration that leaves `oauth_configuration` out: the state
    // shows what the application holds, and the plan is empty (nothing to remove).
    h.import(ADDR, &id).await?;
    h.assert_empty_plan().await?;
    let state = h.state_json().await?;
    assert_eq!(
        state.value(ADDR, "oauth_configuration.grant.session_duration"),
        Some(&json!("24h"))
    );
    assert_eq!(
        state.value(
            ADDR,
            "oauth_configuration.dynamic_client_registration.allow_any_on_loopback"
        ),
        Some(&json!(true))
    );

    // Not managed: a dashboard change is no diff, and another change applies
    // cleanly without sending or repairing it.
    unmanaged_change_is_no_diff(&h, &id, &name, |a| {
        a["oauth_configuration"]["grant"]["session_duration"] = json!("48h");
    })
    .await?;
    assert_eq!(
        emu_oauth(&h, &id)["grant"]["session_duration"],
        json!("48h"),
        "not repaired"
    );
    h.emulator().mutate_app(h.account_id(), &id, |a| {
        a["oauth_configuration"]["grant"]["session_duration"] = json!("24h");
    });

    // The configuration sets it as the application holds it: still an empty plan.
    let with = |lifetime: &str| {
        self_hosted(
            &name,
            &format!(
                "  session_duration = \"12h\"\n{}",
                dashboard_oauth_config(lifetime)
            ),
        )
    };
    h.write_config(&with("15m"))?;
    h.assert_empty_plan().await?;
    // (An apply with nothing to do saves the refreshed state to compare with.)
    h.apply().await?;
    h.import_verify(ADDR, &id, &[]).await?;

    // It differs: the update is planned for `oauth_configuration` alone and applied.
    h.write_config(&with("5m"))?;
    apply_oauth_update_only(&h, false).await?;
    assert_eq!(
        emu_oauth(&h, &id)["grant"]["access_token_lifetime"],
        json!("5m")
    );

    h.destroy_and_pass().await
}
