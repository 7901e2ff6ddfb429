//! Provider-level acceptance tests (issue 2): real Terraform 1.0.3 loads the provider
//! through `dev_overrides`, validates and plans, and the provider configuration errors
//! read well.

use serde_json::Value;

use crate::support::{Harness, TestResult};

/// A config that needs the API during plan: a data source lookup of a seed app.
const LOOKUP: &str = r#"
data "cfaccess_access_application" "wiki" {
  name = "Company wiki"
}
"#;

/// Sets `var` in the environment Terraform (and so the provider) runs with, then writes
/// the [`LOOKUP`] configuration.
fn lookup_with_env(h: &Harness, var: &str, value: &str) -> TestResult {
    h.set_env(var, Some(value));
    h.write_config(LOOKUP)
}

#[tokio::test]
async fn validate_and_plan_with_an_empty_provider_block() -> TestResult {
    let h = harness!();
    h.write_config(r#"provider "cfaccess" {}"#)?;
    let out = h.validate().await?;
    h.check(
        out.normalized().contains("The configuration is valid"),
        format!("validate did not report success: {}", out.normalized()),
    )?;
    h.check(
        out.normalized()
            .contains("Provider development overrides are in effect"),
        "validate did not go through dev_overrides",
    )?;
    h.check(
        h.plan_exit_code().await? == 0,
        "plan of an empty configuration must propose no change",
    )?;
    h.check(
        h.emulator().write_count() == 0,
        "an empty plan wrote to the API",
    )
}

#[tokio::test]
async fn provider_schema_is_served_to_terraform() -> TestResult {
    let h = harness!();
    h.write_config(r#"provider "cfaccess" {}"#)?;
    let out = h.run_ok(&["providers", "schema", "-json"]).await?;
    let doc: Value = serde_json::from_str(&out.stdout)
        .map_err(|e| h.failure(format!("schema is not JSON: {e}"), Some(&out)))?;
    let schema = doc
        .pointer("/provider_schemas/registry.terraform.io~1cfaccess~1cfaccess")
        .ok_or_else(|| {
            h.failure(
                "our provider is missing from `terraform providers schema -json`",
                Some(&out),
            )
        })?;
    let attrs = schema
        .pointer("/provider/block/attributes")
        .cloned()
        .unwrap_or(Value::Null);
    for name in [
        "api_token",
        "account_id",
        "base_url",
        "max_retries",
        "request_timeout",
        "requests_per_second",
    ] {
        h.check(
            attrs.get(name).is_some(),
            format!("provider attribute {name} missing: {attrs}"),
        )?;
    }
    h.check(
        attrs.pointer("/api_token/sensitive") == Some(&Value::Bool(true)),
        "api_token must be sensitive",
    )?;
    for (kind, name) in [
        ("resource_schemas", "cfaccess_mcp_server_app"),
        ("resource_schemas", "cfaccess_linked_app_policy"),
        ("data_source_schemas", "cfaccess_access_application"),
    ] {
        h.check(
            schema.get(kind).and_then(|k| k.get(name)).is_some(),
            format!("{kind} lacks {name}"),
        )?;
    }
    Ok(())
}

#[tokio::test]
async fn missing_token_names_attribute_and_env_var() -> TestResult {
    let h = harness!();
    h.set_env("CLOUDFLARE_API_TOKEN", None);
    h.write_config(&format!("provider \"cfaccess\" {{}}\n{LOOKUP}"))?;
    h.plan_expect_error(
        r"Error: .*(api_token.*CLOUDFLARE_API_TOKEN|CLOUDFLARE_API_TOKEN.*api_token)",
    )
    .await?;
    h.check(
        h.emulator().request_log().is_empty(),
        "no request may reach the API without a token",
    )
}

#[tokio::test]
async fn blank_token_attribute_is_refused_at_validate() -> TestResult {
    let h = harness!();
    h.write_config(&format!(
        "provider \"cfaccess\" {{\n  api_token = \"  \"\n}}\n{LOOKUP}"
    ))?;
    h.validate_expect_error(r"api_token").await?;
    Ok(())
}

#[tokio::test]
async fn token_in_provider_block_is_used() -> TestResult {
    let h = harness!();
    h.set_env("CLOUDFLARE_API_TOKEN", None);
    h.write_config(&format!(
        "provider \"cfaccess\" {{\n  api_token = \"{}\"\n  requests_per_second = 200\n}}\n{LOOKUP}",
        h.token()
    ))?;
    h.apply().await?;
    let state = h.state_json().await?;
    let id = state.attr("data.cfaccess_access_application.wiki", "id")?;
    h.check(
        id == cfaccess_emulator::demo_ids::COMPANY_WIKI_APP,
        format!("looked up the wrong app: {id}"),
    )
}

#[tokio::test]
async fn bad_token_fails_plan_with_a_clear_403() -> TestResult {
    let h = harness!();
    let wrong = format!("wrong-{}", crate::support::random_hex(24));
    lookup_with_env(&h, "CLOUDFLARE_API_TOKEN", &wrong)?;
    let out = h.plan_expect_error(r"403").await?;
    let text = out.normalized();
    h.check(
        text.to_lowercase().contains("auth"),
        format!("the 403 error should say it is an authentication problem: {text}"),
    )?;
    h.check(!text.contains(&wrong), "the error message leaked the token")?;
    h.check(
        h.emulator().write_count() == 0,
        "a refused token still wrote",
    )
}

#[tokio::test]
async fn unreachable_base_url_fails_with_a_clear_error() -> TestResult {
    let h = harness!();
    // A port that was free a moment ago: nothing listens there.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0")
            .map_err(|e| h.failure(format!("bind: {e}"), None))?;
        l.local_addr()
            .map_err(|e| h.failure(format!("addr: {e}"), None))?
            .port()
    };
    let url = format!("http://127.0.0.1:{port}/client/v4");
    h.set_provider_body("requests_per_second = 200\n  max_retries = 1");
    lookup_with_env(&h, "CLOUDFLARE_BASE_URL", &url)?;
    let out = h
        .plan_expect_error(&format!(
            r"(?i)127\.0\.0\.1:{port}|connect|unreachable|refused"
        ))
        .await?;
    let text = out.normalized().to_lowercase();
    h.check(
        text.contains("connect") || text.contains("refused") || text.contains("unreachable"),
        format!("the error should say the API could not be reached: {text}"),
    )?;
    h.check(
        !text.contains(&h.token().to_lowercase()),
        "the error message leaked the token",
    )
}

#[tokio::test]
async fn unknown_account_is_refused_with_403() -> TestResult {
    let h = harness!();
    lookup_with_env(
        &h,
        "CLOUDFLARE_ACCOUNT_ID",
        "0123456789abcdef0123456789abcdef",
    )?;
    h.plan_expect_error(r"403").await?;
    h.check(
        h.emulator().write_count() == 0,
        "a refused account still wrote",
    )
}

/// `CLOUDFLARE_BASE_URL` is read only at configure: a cleartext URL is refused there,
/// naming `base_url` and saying why, before any request carries the token.
#[tokio::test]
async fn a_cleartext_base_url_from_the_environment_is_refused_at_configure() -> TestResult {
    let h = harness!();
    lookup_with_env(
        &h,
        "CLOUDFLARE_BASE_URL",
        "http://api.example.net/client/v4",
    )?;
    let stage = h.expect_invalid(r"(?i)cleartext", "base_url").await?;
    h.check(
        stage == crate::support::Stage::Plan,
        format!("refused at {stage:?}; the variable is read at configure (plan)"),
    )?;
    h.check(
        h.emulator().request_log().is_empty(),
        "a request was sent before the base_url was refused",
    )
}

#[tokio::test]
async fn malformed_provider_settings_are_refused_at_validate() -> TestResult {
    let h = harness!();
    for (body, attr) in [
        ("account_id = \"not-an-account\"", "account_id"),
        ("base_url = \"ftp://example.com\"", "base_url"),
        (
            "base_url = \"http://api.example.net/client/v4\"",
            "base_url",
        ),
        ("requests_per_second = 0", "requests_per_second"),
        ("requests_per_second = 1e-300", "requests_per_second"),
        ("request_timeout = \"soon\"", "request_timeout"),
        ("max_retries = -1", "max_retries"),
    ] {
        h.write_config(&format!("provider \"cfaccess\" {{\n  {body}\n}}\n{LOOKUP}"))?;
        h.expect_invalid(attr, attr).await?;
    }
    Ok(())
}
