//! Secrets never leak (issue 7): with `TF_LOG=trace` written to `TF_LOG_PATH`, neither
//! the API token nor a SaaS app's `client_secret` appears in terraform's log (which also
//! carries the provider's stderr and its JSON logs), in any command's output, in error
//! messages or in plan output; both attributes are sensitive in the schema and
//! `terraform show` prints `(sensitive value)`.

use cfaccess_emulator::FaultKind;
use serde_json::Value;

use crate::support::{Harness, TestResult};

const WIKI: &str = cfaccess_emulator::demo_ids::COMPANY_WIKI_APP;

fn config(names: &(String, String, String), scopes: &str) -> String {
    let (saas, hosted, policy) = names;
    format!(
        r#"
resource "cfaccess_mcp_server_app" "saas" {{
  name = "{saas}"
  type = "saas"
  saas = {{
    redirect_uris = ["https://{saas}.example.com/oauth/callback"]
    grant_types   = ["authorization_code_with_pkce", "refresh_tokens"]
    scopes        = [{scopes}]
  }}
}}

resource "cfaccess_mcp_server_app" "hosted" {{
  name   = "{hosted}"
  domain = "{hosted}.example.com"
}}

resource "cfaccess_linked_app_policy" "p" {{
  name            = "{policy}"
  linked_app_uids = [cfaccess_mcp_server_app.saas.uid, cfaccess_mcp_server_app.hosted.uid]
  target_app_ids  = ["{WIKI}"]
}}
"#
    )
}

/// `client_secret` of `addr` as the state file stores it.
fn secret_in_state_file(h: &Harness, addr_name: &str) -> Option<String> {
    let text = std::fs::read_to_string(h.dir().join("terraform.tfstate")).ok()?;
    let state: Value = serde_json::from_str(&text).ok()?;
    state.get("resources")?.as_array()?.iter().find_map(|r| {
        if r.get("type")?.as_str()? != "cfaccess_mcp_server_app"
            || r.get("name")?.as_str()? != addr_name
        {
            return None;
        }
        r.pointer("/instances/0/attributes/client_secret")?
            .as_str()
            .map(str::to_string)
    })
}

#[tokio::test]
async fn token_and_client_secret_never_leak() -> TestResult {
    secrets_scenario(false).await
}

/// The same with the token written in the provider block instead of the environment,
/// so Terraform itself handles it (as a sensitive provider attribute).
#[tokio::test]
async fn token_in_provider_block_never_leaks() -> TestResult {
    secrets_scenario(true).await
}

async fn secrets_scenario(token_in_config: bool) -> TestResult {
    let h = harness!();
    if token_in_config {
        h.set_env("CLOUDFLARE_API_TOKEN", None);
        h.set_provider_body(&format!(
            "api_token = \"{}\"\n  requests_per_second = 200",
            h.token()
        ));
    }
    let log_path = h.root().join("terraform-trace.log");
    h.set_env("TF_LOG", Some("trace"));
    h.set_env("TF_LOG_PATH", Some(&log_path.to_string_lossy()));
    let names = (
        h.name("sec-saas"),
        h.name("sec-hosted"),
        h.name("sec-policy"),
    );

    h.write_config(&config(&names, r#""openid", "email""#))?;
    h.validate().await?;
    h.apply().await?;
    let secret = secret_in_state_file(&h, "saas").filter(|s| !s.is_empty());
    let Some(secret) = secret else {
        return h.fail("the saas app has no client_secret in state: nothing to protect, the test would prove nothing");
    };
    h.check(
        secret.len() >= 16,
        format!("implausibly short client_secret ({} chars)", secret.len()),
    )?;
    h.assert_empty_plan().await?;

    // An in-place update of the saas app: the plan shows the app, never the secret.
    h.write_config(&config(&names, r#""openid", "email", "profile""#))?;
    let plan = h.run_ok(&["plan", "-input=false", "-no-color"]).await?;
    h.check(
        plan.stdout.contains("cfaccess_mcp_server_app.saas"),
        "the plan should show the saas app change",
    )?;
    h.apply().await?;
    h.run_ok(&["plan", "-refresh-only", "-input=false", "-no-color"])
        .await?;

    // The human `show` masks it.
    let show = h.show().await?;
    let line = show
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("client_secret"))
        .unwrap_or("");
    h.check(
        line.contains("(sensitive value)"),
        format!("`terraform show` must print client_secret as (sensitive value), got {line:?}"),
    )?;

    // The schema marks both secrets sensitive.
    let schema = h.run_ok(&["providers", "schema", "-json"]).await?;
    let doc: Value = serde_json::from_str(&schema.stdout)
        .map_err(|e| h.failure(format!("schema JSON: {e}"), Some(&schema)))?;
    let p = doc
        .pointer("/provider_schemas/registry.terraform.io~1cfaccess~1cfaccess")
        .cloned()
        .unwrap_or(Value::Null);
    h.check(
        p.pointer("/provider/block/attributes/api_token/sensitive") == Some(&Value::Bool(true)),
        "api_token must be sensitive",
    )?;
    h.check(
        p.pointer(
            "/resource_schemas/cfaccess_mcp_server_app/block/attributes/client_secret/sensitive",
        ) == Some(&Value::Bool(true)),
        "client_secret must be sensitive",
    )?;

    // An error path: every app write fails; the error text carries neither secret.
    h.fault(
        "PUT",
        "/accounts/*/access/apps/*",
        FaultKind::Status(500),
        u32::MAX,
    );
    if token_in_config {
        h.set_provider_body(&format!(
            "api_token = \"{}\"\n  requests_per_second = 200\n  max_retries = 1",
            h.token()
        ));
    } else {
        h.set_provider_body("requests_per_second = 200\n  max_retries = 1");
    }
    h.write_config(&config(&names, r#""openid""#))?;
    h.apply_expect_error("500").await?;
    h.emulator().clear_faults();
    h.apply().await?;

    // A refused token: its error names the problem, not the token.
    if !token_in_config {
        let wrong = format!("wrong-{}", crate::support::random_hex(24));
        h.set_env("CLOUDFLARE_API_TOKEN", Some(&wrong));
        let refused = h.plan_expect_error("403").await?;
        h.check(
            !refused.combined().contains(&wrong),
            "the 403 error printed the token that was refused",
        )?;
        h.set_env("CLOUDFLARE_API_TOKEN", Some(h.token()));
    }
    h.destroy().await?;

    let log = std::fs::read_to_string(&log_path)
        .map_err(|e| h.failure(format!("no TF_LOG_PATH file: {e}"), None))?;
    // The log must really hold the provider's trace output, or its cleanliness proves
    // nothing.
    h.check(
        log.contains("provider.terraform-provider-cfaccess"),
        "the trace log holds no provider output",
    )?;
    h.check(
        log.contains("ApplyResourceChange"),
        "the trace log holds no ApplyResourceChange traffic",
    )?;
    let outputs = h.transcript_text();
    for (what, text) in [
        ("terraform's TF_LOG=trace log", &log),
        ("command output", &outputs),
    ] {
        for (name, value) in [("API token", h.token()), ("client_secret", secret.as_str())] {
            if let Some(at) = text.find(value) {
                let start = text[..at]
                    .char_indices()
                    .rev()
                    .nth(200)
                    .map_or(0, |(i, _)| i);
                let excerpt = &text[start..(at + value.len()).min(text.len())];
                return h.fail(format!("the {name} appears in {what}:\n…{excerpt}"));
            }
        }
    }
    Ok(())
}
