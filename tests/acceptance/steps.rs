//! Scenario steps shared by several acceptance test files.

use serde_json::Value;

use crate::support::{Failure, Harness, Plan, State, TestResult, seed_ids};

/// The demo seed's "Internal API" app.
pub const API: &str = cfaccess_emulator::demo_ids::INTERNAL_API_APP;
/// The demo seed's "Company wiki" app.
pub const WIKI: &str = cfaccess_emulator::demo_ids::COMPANY_WIKI_APP;
/// "Internal API"'s own "Employees" policy, attached at precedence 1.
pub const API_EMPLOYEES: &str = cfaccess_emulator::demo_ids::INTERNAL_API_EMPLOYEES_POLICY;
/// "Company wiki"'s own "Employees" policy, attached at precedence 1.
pub const WIKI_EMPLOYEES: &str = cfaccess_emulator::demo_ids::COMPANY_WIKI_EMPLOYEES_POLICY;
/// The extended seed's self-hosted app standing in for an MCP server.
pub const MCP: &str = seed_ids::MCP_SELF_HOSTED_APP;

/// `terraform state rm` then `terraform import` of `addr` in place (the other
/// resources stay in state): the imported object must equal the one Terraform held,
/// attribute for attribute with no ignore list, and the plan must be empty.
pub async fn reimport_in_place(h: &Harness, addr: &str, import_id: &str) -> TestResult {
    let before = h
        .state_json()
        .await?
        .get(addr)
        .cloned()
        .ok_or_else(|| h.failure(format!("{addr} not in state"), None))?;
    h.run_ok(&["state", "rm", "-no-color", addr]).await?;
    h.import(addr, import_id).await?;
    let after = h
        .state_json()
        .await?
        .get(addr)
        .cloned()
        .unwrap_or(Value::Null);
    let diff = crate::support::json_diff(&before, &after);
    h.check(
        diff.is_empty(),
        format!("imported {addr} differs from the one Terraform held: {diff:?}"),
    )?;
    h.assert_empty_plan().await
}

/// Each `(config, attribute, pattern)` case is refused with an error matching
/// `pattern` at `attribute` (as [`Harness::expect_invalid`] checks it), and none of
/// them wrote to the API.
pub async fn each_refused_before_any_write(
    h: &Harness,
    cases: Vec<(String, &str, &str)>,
) -> TestResult {
    for (config, attr, pattern) in cases {
        h.write_config(&config)?;
        h.expect_invalid(pattern, attr).await?;
    }
    assert_eq!(h.emulator().write_count(), 0);
    Ok(())
}

/// The policies of ours in the emulator (every non-seed policy).
pub fn our_policies(h: &Harness) -> Vec<Value> {
    h.emulator()
        .policies(h.account_id())
        .into_iter()
        .filter(|p| {
            !h.seed_policy_ids()
                .contains(p["id"].as_str().unwrap_or_default())
        })
        .collect()
}

/// Plans the current configuration and requires an in-place update of `addr`.
pub async fn plan_update_of(h: &Harness, addr: &str) -> Result<Plan, Failure> {
    let plan = h.plan().await?;
    assert_eq!(
        plan.actions_of(addr),
        Some(vec!["update"]),
        "{:?}",
        plan.actions
    );
    Ok(plan)
}

/// The default header contract of an MCP server app: Access checks
/// `Cf-Access-Jwt-Assertion` and hands the server its token in `Cf-Access-Token`.
pub fn assert_default_token_headers(state: &State, addr: &str) -> TestResult {
    assert_eq!(
        state.attr(addr, "inbound_token_header")?,
        "Cf-Access-Jwt-Assertion"
    );
    assert_eq!(
        state.attr(addr, "downstream_token_header")?,
        "Cf-Access-Token"
    );
    Ok(())
}

/// A POST to the Access API as another tool (the dashboard) would send it; returns
/// the new object's id.
pub async fn create_out_of_band(
    h: &Harness,
    collection: &str,
    body: Value,
) -> Result<String, Failure> {
    let url = format!(
        "{}/accounts/{}/access/{collection}",
        h.emulator().base_url(),
        h.account_id()
    );
    let made: Value = reqwest::Client::new()
        .post(url)
        .bearer_auth(h.token())
        .json(&body)
        .send()
        .await
        .map_err(|e| h.failure(format!("create {collection}: {e}"), None))?
        .json()
        .await
        .map_err(|e| h.failure(format!("create {collection} body: {e}"), None))?;
    made["result"]["id"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| h.failure(format!("create {collection} returned no id: {made}"), None))
}
