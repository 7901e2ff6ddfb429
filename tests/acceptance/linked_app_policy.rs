//! Acceptance tests of `cfaccess_linked_app_policy` (issue 6) with the real `terraform`
//! binary against the emulator: the seed scenario in both MCP modes with the edge
//! check, 20 policies on one app in parallel, partial failure and recovery, checks
//! before any write, every drift, import round trips and refusals, delete with
//! attachments made outside Terraform.

use serde_json::{Value, json};

use cfaccess_emulator::{FaultKind, Seed};

use crate::steps::{
    API, API_EMPLOYEES, MCP, WIKI, WIKI_EMPLOYEES, create_out_of_band, our_policies,
    reimport_in_place,
};
use crate::support::{Failure, Harness, State, TestResult, extended_seed, seed_ids};

/// A third self-hosted downstream app; sorts between API (4b…) and WIKI (9e…), so it
/// is the second one attached.
const DOCS: &str = "7d0c5e2a-1b3c-4d5e-8f90-a1b2c3d4e5f6";
const ADDR: &str = "cfaccess_linked_app_policy.p";

const SAAS_BLOCK: &str = r#"  saas = {
    redirect_uris = ["https://mcp.example.com/oauth/callback"]
    grant_types   = ["authorization_code_with_pkce"]
    scopes        = ["openid", "email"]
  }"#;

/// The extended seed plus a "Docs" self-hosted app with no policy.
fn seed() -> Seed {
    let mut seed = extended_seed();
    seed.apps.push(json!({
        "id": DOCS, "type": "self_hosted", "name": "Docs", "domain": "docs.internal.example.com",
    }));
    seed
}

async fn harness_with_seed() -> Result<Option<Harness>, crate::support::Failure> {
    Harness::builder().seed(Some(seed())).build().await
}

macro_rules! policy_harness {
    () => {
        match harness_with_seed().await? {
            Some(h) => h,
            None => return Ok(()),
        }
    };
}

/// One `cfaccess_linked_app_policy.p` block.
fn policy_config(name: &str, linked: &[&str], targets: Option<&[&str]>, extra: &str) -> String {
    policy_block("p", name, linked, targets, extra)
}

/// One `cfaccess_linked_app_policy.<label>` block.
fn policy_block(
    label: &str,
    name: &str,
    linked: &[&str],
    targets: Option<&[&str]>,
    extra: &str,
) -> String {
    let list = |ids: &[&str]| {
        ids.iter()
            .map(|i| format!("{i:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let targets = targets.map_or(String::new(), |t| {
        format!("  target_app_ids  = [{}]\n", list(t))
    });
    format!(
        "resource \"cfaccess_linked_app_policy\" {label:?} {{\n  name            = {name:?}\n  linked_app_uids = [{}]\n{targets}{extra}\n}}\n",
        list(linked)
    )
}

/// Writes `config`, applies it and returns the id of the policy at [`ADDR`].
async fn apply_policy(h: &Harness, config: &str) -> Result<String, crate::support::Failure> {
    h.write_config(config)?;
    h.apply().await?;
    h.id_in_state(ADDR).await
}

fn employees(policy: &str) -> (String, u64) {
    (policy.to_string(), 1)
}

/// Logs a user into `app` at the emulated edge and returns the app token.
async fn login(h: &Harness, app: &str) -> Result<String, crate::support::Failure> {
    let resp = reqwest::Client::new()
        .post(format!("{}/edge/login", h.emulator().admin_url()))
        .bearer_auth(h.token())
        .json(&json!({"app_id": app, "email": "alice@example.com"}))
        .send()
        .await
        .map_err(|e| h.failure(format!("edge login: {e}"), None))?;
    let body: Value = resp
        .json()
        .await
        .map_err(|e| h.failure(format!("edge login body: {e}"), None))?;
    body["token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| h.failure(format!("edge login returned no token: {body}"), None))
}

/// What the emulated edge of `app` answers to `token`, forwarded the way the MCP
/// server does it: `Cf-Access-Token` (self-hosted) or `Authorization: Bearer` (SaaS).
async fn edge_status(
    h: &Harness,
    app: &str,
    token: &str,
    bearer: bool,
) -> Result<u16, crate::support::Failure> {
    let req = reqwest::Client::new().get(format!("{}/edge/{app}", h.emulator().admin_url()));
    let req = if bearer {
        req.header("Authorization", format!("Bearer {token}"))
    } else {
        req.header("Cf-Access-Token", token)
    };
    let resp = req
        .send()
        .await
        .map_err(|e| h.failure(format!("edge: {e}"), None))?;
    Ok(resp.status().as_u16())
}

/// The issue's seed scenario: one MCP server app (created by `cfaccess_mcp_server_app`),
/// "Internal API" and "Company wiki" looked up by name, one linked policy on both.
async fn seed_scenario(saas: bool) -> TestResult {
    let h = policy_harness!();
    let mcp_block = if saas {
        format!(
            "resource \"cfaccess_mcp_server_app\" \"mcp\" {{\n  name = {:?}\n  type = \"saas\"\n{SAAS_BLOCK}\n}}\n",
            h.name("mcp-saas")
        )
    } else {
        format!(
            "resource \"cfaccess_mcp_server_app\" \"mcp\" {{\n  name   = {:?}\n  domain = \"{}.example.com\"\n}}\n",
            h.name("mcp"),
            h.name("mcp")
        )
    };
    h.write_config(&format!(
        r#"{mcp_block}
data "cfaccess_access_application" "api" {{
  name = "Internal API"
}}

data "cfaccess_access_application" "wiki" {{
  name = "Company wiki"
}}

resource "cfaccess_linked_app_policy" "p" {{
  name            = "Allow requests from MCP server"
  linked_app_uids = [cfaccess_mcp_server_app.mcp.uid]
  target_app_ids  = [data.cfaccess_access_application.api.id, data.cfaccess_access_application.wiki.id]
}}
"#
    ))?;
    h.apply().await?;
    h.assert_empty_plan().await?;

    let state = h.state_json().await?;
    let id = state.attr(ADDR, "id")?;
    let mcp_id = state.attr("cfaccess_mcp_server_app.mcp", "id")?;
    h.check(
        state.attr(ADDR, "decision")? == "non_identity",
        "decision is non_identity",
    )?;
    h.check(
        state.value(ADDR, "session_duration") == Some(&Value::Null),
        "session_duration stays null (never defaulted)",
    )?;
    let policy = h
        .emulator()
        .policy(h.account_id(), &id)
        .ok_or_else(|| h.failure("policy missing", None))?;
    h.check(
        policy["include"] == json!([{"linked_app_token": {"app_uid": mcp_id}}])
            && policy["decision"] == json!("non_identity"),
        format!("policy body: {policy}"),
    )?;
    h.check_attachments(
        API,
        &[employees(API_EMPLOYEES), (id.clone(), 2)],
        "Internal API attachments",
    )?;
    h.check_attachments(
        WIKI,
        &[employees(WIKI_EMPLOYEES), (id.clone(), 2)],
        "Company wiki attachments",
    )?;

    // The flow: a token minted for the MCP server app passes on both targets, and not
    // on an app without the policy.
    let token = login(&h, &mcp_id).await?;
    for target in [API, WIKI] {
        h.check(
            edge_status(&h, target, &token, saas).await? == 200,
            format!("edge of {target} refuses the MCP token"),
        )?;
    }
    for other in [DOCS, MCP] {
        h.check(
            edge_status(&h, other, &token, saas).await? == 403,
            format!("edge of {other} accepts the MCP token without the policy"),
        )?;
    }

    // Import round trip in place (the MCP app stays in state): same object, empty plan.
    reimport_in_place(&h, ADDR, &id).await?;
    reimport_in_place(&h, ADDR, &format!("{}/{id}", h.account_id())).await?;

    h.destroy().await?;
    for target in [API, WIKI, DOCS] {
        h.check(
            edge_status(&h, target, &token, saas).await? == 403,
            format!("edge of {target} still accepts the MCP token after destroy"),
        )?;
    }
    Ok(())
}

#[tokio::test]
async fn seed_scenario_self_hosted_mcp_server() -> TestResult {
    seed_scenario(false).await
}

#[tokio::test]
async fn seed_scenario_saas_mcp_server() -> TestResult {
    seed_scenario(true).await
}

#[tokio::test]
async fn twenty_policies_attach_to_one_app_in_parallel() -> TestResult {
    let h = policy_harness!();
    let before = h.attachments(API);
    h.write_config(&format!(
        r#"resource "cfaccess_linked_app_policy" "many" {{
  count           = 20
  name            = "parallel ${{count.index}}"
  linked_app_uids = ["{MCP}"]
  target_app_ids  = ["{API}"]
}}
"#
    ))?;
    h.apply_with(&["-parallelism=10"]).await?;
    h.assert_empty_plan().await?;

    let state = h.state_json().await?;
    let mut ids = std::collections::BTreeSet::new();
    for i in 0..20 {
        ids.insert(state.attr(&format!("cfaccess_linked_app_policy.many[{i}]"), "id")?);
    }
    h.check(
        ids.len() == 20,
        format!("20 distinct policies expected, got {ids:?}"),
    )?;
    let after = h.attachments(API);
    h.check(
        after.first() == before.first() && before == vec![employees(API_EMPLOYEES)],
        format!("the pre-existing policy moved or changed: before {before:?}, after {after:?}"),
    )?;
    let attached: std::collections::BTreeSet<String> =
        after[1..].iter().map(|(id, _)| id.clone()).collect();
    h.check(
        attached == ids && after.len() == 21,
        format!("not all 20 attached: {after:?}"),
    )?;
    let precedences: std::collections::BTreeSet<u64> = after.iter().map(|(_, p)| *p).collect();
    h.check(
        precedences.len() == 21,
        format!("duplicate precedences: {after:?}"),
    )?;
    h.check_attachments(
        WIKI,
        &[employees(WIKI_EMPLOYEES)],
        "an app that is not a target was modified",
    )?;
    h.destroy_and_pass().await
}

/// Applies with the attach to Docs failing once, and checks that the state records the
/// attachments that do exist (API and the wiki); returns that state.
async fn apply_with_docs_attach_failing(h: &Harness) -> Result<State, Failure> {
    h.fault(
        "PUT",
        format!("/accounts/*/access/apps/{DOCS}"),
        FaultKind::Status(400),
        1,
    );
    h.apply_expect_error(r#"attach policy .* to application "Docs""#)
        .await?;
    let state = h.state_json().await?;
    let targets = state
        .value(ADDR, "target_app_ids")
        .cloned()
        .unwrap_or(Value::Null);
    h.check(
        targets == json!([API, WIKI]) || targets == json!([WIKI, API]),
        format!("state must record the attachments that exist: {targets}"),
    )?;
    Ok(state)
}

#[tokio::test]
async fn failed_attach_on_create_is_recorded_and_the_next_apply_converges() -> TestResult {
    let h = policy_harness!();
    h.write_config(&policy_config(
        "three targets",
        &[MCP],
        Some(&[API, DOCS, WIKI]),
        "",
    ))?;
    // Terraform saved the policy (tainted, as for any create that failed part-way)
    // with the attachments that exist.
    let state = apply_with_docs_attach_failing(&h).await?;
    let first_id = state.attr(ADDR, "id")?;
    h.check(our_policies(&h).len() == 1, "exactly one policy exists")?;
    h.check(h.attachments(DOCS).is_empty(), "Docs was not attached")?;

    // The next apply finishes the job: nothing orphaned, nothing duplicated.
    h.apply().await?;
    h.assert_empty_plan().await?;
    let id = h.id_in_state(ADDR).await?;
    let ours = our_policies(&h);
    h.check(
        ours.len() == 1,
        format!("one policy expected after recovery: {ours:?}"),
    )?;
    if id != first_id {
        h.check(
            h.emulator().policy(h.account_id(), &first_id).is_none(),
            "the replaced policy was deleted",
        )?;
    }
    h.check_attachments(DOCS, &[(id.clone(), 1)], "Docs")?;
    h.check_attachments(API, &[employees(API_EMPLOYEES), (id.clone(), 2)], "API")?;
    h.check_attachments(WIKI, &[employees(WIKI_EMPLOYEES), (id, 2)], "wiki")?;
    h.destroy_and_pass().await
}

#[tokio::test]
async fn failed_attach_on_update_is_recorded_and_the_next_apply_finishes_in_place() -> TestResult {
    let h = policy_harness!();
    let id = apply_policy(&h, &policy_config("grows", &[MCP], Some(&[API]), "")).await?;

    h.write_config(&policy_config(
        "grows",
        &[MCP],
        Some(&[API, DOCS, WIKI]),
        "",
    ))?;
    apply_with_docs_attach_failing(&h).await?;
    let actions = h.plan_actions().await?;
    h.check(
        actions.get(ADDR) == Some(&vec!["update".to_string()]),
        format!("the next plan must update in place: {actions:?}"),
    )?;
    h.apply().await?;
    h.assert_empty_plan().await?;
    h.check(h.id_in_state(ADDR).await? == id, "same policy")?;
    h.check(our_policies(&h).len() == 1, "one policy")?;
    h.check_attachments(DOCS, &[(id.clone(), 1)], "Docs attached")?;
    h.check_attachments(
        WIKI,
        &[employees(WIKI_EMPLOYEES), (id, 2)],
        "wiki attached after Employees",
    )?;
    h.destroy_and_pass().await
}

#[tokio::test]
async fn a_target_known_only_at_apply_is_still_checked_before_any_write() -> TestResult {
    let h = policy_harness!();
    // The target is a SaaS app created in the same apply: unknown at plan time.
    h.write_config(&format!(
        "resource \"cfaccess_mcp_server_app\" \"other\" {{\n  name = {:?}\n  type = \"saas\"\n{SAAS_BLOCK}\n}}\n\n{}",
        h.name("saas-target"),
        policy_config("late target", &[MCP], None, "  target_app_ids = [cfaccess_mcp_server_app.other.id]")
    ))?;
    h.emulator().clear_request_log();
    h.apply_expect_error(r"(?i)can only be attached to self-hosted")
        .await?;
    let policy_writes: Vec<String> = h
        .emulator()
        .request_log()
        .iter()
        .filter(|r| r.path.contains("/access/policies") && r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    h.check(
        policy_writes.is_empty(),
        format!("a refused policy was written: {policy_writes:?}"),
    )?;
    h.check(our_policies(&h).is_empty(), "no policy exists")?;
    // Terraform 1.0's destroy plans the whole configuration first, so the refused
    // policy leaves the configuration before the SaaS app is destroyed.
    let config = h.config_text();
    let app_only = &config[..config
        .find("resource \"cfaccess_linked_app_policy\"")
        .unwrap_or(config.len())];
    h.write_raw_config(app_only)?;
    h.destroy_and_pass().await
}

#[tokio::test]
async fn every_drift_is_planned_and_repaired() -> TestResult {
    let h = policy_harness!();
    let acc = h.account_id().to_string();
    let id = apply_policy(
        &h,
        &policy_config(
            "drift",
            &[MCP],
            Some(&[API, WIKI]),
            "  session_duration = \"24h\"",
        ),
    )
    .await?;
    let emu = h.emulator();

    type Drift<'a> = (&'a str, Box<dyn Fn() -> bool + 'a>);
    let drifts: Vec<Drift<'_>> = vec![
        (
            "decision changed in the dashboard",
            Box::new(|| emu.mutate_policy(&acc, &id, |p| p["decision"] = json!("allow"))),
        ),
        (
            "linked app changed",
            Box::new(|| {
                emu.mutate_policy(&acc, &id, |p| {
                    p["include"] = json!([{"linked_app_token": {"app_uid": seed_ids::SAAS_APP}}]);
                })
            }),
        ),
        (
            "rule added",
            Box::new(|| {
                emu.mutate_policy(&acc, &id, |p| {
                    p["include"]
                        .as_array_mut()
                        .unwrap()
                        .push(json!({"everyone": {}}))
                })
            }),
        ),
        (
            "require rule added",
            Box::new(|| {
                emu.mutate_policy(&acc, &id, |p| {
                    p["require"] = json!([{"email_domain": {"domain": "example.com"}}])
                })
            }),
        ),
        (
            "session_duration changed",
            Box::new(|| emu.mutate_policy(&acc, &id, |p| p["session_duration"] = json!("12h"))),
        ),
        (
            "detached from a target",
            Box::new(|| {
                emu.set_attachments_out_of_band(&acc, WIKI, vec![(WIKI_EMPLOYEES.to_string(), 1)])
            }),
        ),
        (
            "attached to an extra app",
            Box::new(|| emu.set_attachments_out_of_band(&acc, DOCS, vec![(id.clone(), 5)])),
        ),
    ];
    for (what, mutate) in &drifts {
        h.check(
            mutate(),
            format!("{what}: the emulator refused the out-of-band change"),
        )?;
        h.check(
            h.plan_exit_code().await? == 2,
            format!("{what}: plan -detailed-exitcode shows no change"),
        )?;
        h.apply().await?;
        h.check(
            h.plan_exit_code().await? == 0,
            format!("{what}: not repaired by apply"),
        )?;
        let policy = emu
            .policy(&acc, &id)
            .ok_or_else(|| h.failure(format!("{what}: policy gone"), None))?;
        h.check(
            policy["decision"] == json!("non_identity")
                && policy["include"] == json!([{"linked_app_token": {"app_uid": MCP}}])
                && policy["require"] == json!([])
                && policy["session_duration"] == json!("24h"),
            format!("{what}: policy not restored: {policy}"),
        )?;
        h.check(
            h.attachments(API) == vec![employees(API_EMPLOYEES), (id.clone(), 2)],
            format!("{what}: API attachments {:?}", h.attachments(API)),
        )?;
        let wiki = h.attachments(WIKI);
        h.check(
            wiki.first() == Some(&employees(WIKI_EMPLOYEES))
                && wiki.iter().any(|(p, _)| p == &id)
                && wiki.len() == 2,
            format!("{what}: wiki attachments {wiki:?}"),
        )?;
        h.check(
            h.attachments(DOCS).is_empty(),
            format!("{what}: extra attachment not removed"),
        )?;
    }

    // Deleted in the dashboard: re-created.
    h.check(
        emu.delete_policy_out_of_band(&acc, &id),
        "delete out of band",
    )?;
    h.check(
        h.plan_exit_code().await? == 2,
        "a deleted policy must plan a create",
    )?;
    h.apply().await?;
    h.assert_empty_plan().await?;
    let new_id = h.id_in_state(ADDR).await?;
    h.check(
        new_id != id && our_policies(&h).len() == 1,
        "re-created once",
    )?;

    // A target app deleted in the dashboard: the plan shows the attachment as gone and
    // names the app in a warning; an apply that still lists it stops with the error.
    h.check(
        emu.delete_app_out_of_band(&acc, WIKI),
        "delete app out of band",
    )?;
    let out = h
        .run(&["plan", "-detailed-exitcode", "-input=false", "-no-color"])
        .await?;
    h.check(
        out.code == 2 && out.normalized().contains("Target application not found"),
        format!("plan must warn about {WIKI}: {}", out.normalized()),
    )?;
    h.apply_expect_error(&format!("Target application not found.*{WIKI}"))
        .await?;
    // Dropping it from the configuration converges.
    h.write_config(&policy_config(
        "drift",
        &[MCP],
        Some(&[API]),
        "  session_duration = \"24h\"",
    ))?;
    h.apply().await?;
    h.assert_empty_plan().await?;
    h.run_ok(&["destroy", "-auto-approve", "-input=false", "-no-color"])
        .await?;
    h.check(our_policies(&h).is_empty(), "destroyed")?;
    h.check_attachments(
        API,
        &[employees(API_EMPLOYEES)],
        "API back to its own policy",
    )
}

#[tokio::test]
async fn without_target_app_ids_attachments_are_not_managed() -> TestResult {
    let h = policy_harness!();
    let id = apply_policy(&h, &policy_config("unmanaged", &[MCP], None, "")).await?;
    h.check(
        h.emulator()
            .set_attachments_out_of_band(h.account_id(), DOCS, vec![(id.clone(), 1)]),
        "attach out of band",
    )?;
    h.assert_empty_plan().await?;
    h.check(h.attachments(DOCS) == vec![(id, 1)], "left alone")?;
    // Delete still detaches it, so it never fails on "still attached".
    h.destroy_and_pass().await
}

#[tokio::test]
async fn delete_detaches_attachments_made_outside_terraform() -> TestResult {
    let h = policy_harness!();
    let id = apply_policy(&h, &policy_config("p", &[MCP], Some(&[API]), "")).await?;
    let acc = h.account_id().to_string();
    h.check(
        h.emulator()
            .set_attachments_out_of_band(&acc, DOCS, vec![(id.clone(), 3)]),
        "attach DOCS",
    )?;
    h.check(
        h.emulator().set_attachments_out_of_band(
            &acc,
            WIKI,
            vec![(WIKI_EMPLOYEES.to_string(), 1), (id.clone(), 2)],
        ),
        "attach WIKI",
    )?;
    // destroy() also checks that every seed app has exactly its original attachments.
    h.destroy().await?;
    h.check(our_policies(&h).is_empty(), "policy deleted")?;
    Ok(())
}

#[tokio::test]
async fn import_round_trips_and_refuses_other_policies() -> TestResult {
    let h = policy_harness!();
    let id = apply_policy(
        &h,
        &policy_config(
            "imported",
            &[MCP, seed_ids::SAAS_APP],
            Some(&[API, WIKI]),
            "  session_duration = \"12h\"",
        ),
    )
    .await?;
    h.import_verify(ADDR, &id, &[]).await?;
    h.import_verify(ADDR, &format!("{}/{id}", h.account_id()), &[])
        .await?;

    // #7129: a Service Auth policy made elsewhere without a session duration imports
    // with none, and a configuration without one plans nothing.
    let made_id = create_out_of_band(
        &h,
        "policies",
        json!({"name": "made in the dashboard", "decision": "non_identity",
               "include": [{"linked_app_token": {"app_uid": MCP}}]}),
    )
    .await?;
    h.check(
        h.emulator()
            .set_attachments_out_of_band(h.account_id(), DOCS, vec![(made_id.clone(), 1)]),
        "attach the dashboard policy to Docs",
    )?;
    let both = format!(
        "{}\n{}",
        policy_config(
            "imported",
            &[MCP, seed_ids::SAAS_APP],
            Some(&[API, WIKI]),
            "  session_duration = \"12h\""
        ),
        policy_block("made", "made in the dashboard", &[MCP], Some(&[DOCS]), "")
    );
    h.write_config(&both)?;
    h.import("cfaccess_linked_app_policy.made", &made_id)
        .await?;
    let state = h.state_json().await?;
    h.check(
        state.value("cfaccess_linked_app_policy.made", "session_duration") == Some(&Value::Null),
        "imported session_duration must stay null",
    )?;
    h.assert_empty_plan().await?;

    // Refusals, with the reason (terraform import needs the address in the configuration).
    h.write_config(&format!(
        "{both}\n{}",
        policy_block("other", "other", &[MCP], None, "")
    ))?;
    h.import_expect_error(
        "cfaccess_linked_app_policy.other",
        API_EMPLOYEES,
        r#"(?i)decision is "allow".*non_identity"#,
    )
    .await?;
    h.check(
        h.emulator().mutate_policy(h.account_id(), &made_id, |p| {
            p["include"]
                .as_array_mut()
                .unwrap()
                .push(json!({"email_domain": {"domain": "example.com"}}));
        }),
        "add a rule",
    )?;
    h.import_expect_error(
        "cfaccess_linked_app_policy.other",
        &made_id,
        r"(?i)rules other than linked_app_token.*email_domain",
    )
    .await?;
    h.destroy_and_pass().await
}
