//! Plan fidelity (issue 16) with the real `terraform` binary: `precedence` round-trips
//! through import whether the configuration sets it or not, a pinned precedence moved
//! outside Terraform is planned and repaired without touching other policies, a
//! Service Auth policy mixing rule kinds is treated the same way by both resources, and
//! `terraform destroy` works, with no extra flag, after a target application or the MCP
//! server application was deleted outside Terraform.

use serde_json::{Value, json};

use cfaccess_emulator::Seed;

use crate::steps::{
    API, API_EMPLOYEES, MCP, WIKI, WIKI_EMPLOYEES, create_out_of_band, our_policies,
    reimport_in_place,
};
use crate::support::{Harness, TestResult, extended_seed};

const PINNED: &str = "cfaccess_linked_app_policy.pinned";
const FREE: &str = "cfaccess_linked_app_policy.free";

fn seed() -> Seed {
    extended_seed()
}

macro_rules! fidelity_harness {
    () => {
        match Harness::builder().seed(Some(seed())).build().await? {
            Some(h) => h,
            None => return Ok(()),
        }
    };
}

/// A `cfaccess_linked_app_policy.<label>` block; `extra` holds further lines.
fn policy(label: &str, linked: &str, targets: &[&str], extra: &str) -> String {
    let targets = targets
        .iter()
        .map(|t| t.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "resource \"cfaccess_linked_app_policy\" {label:?} {{\n  name            = \"{label}\"\n  linked_app_uids = [{linked}]\n  target_app_ids  = [{targets}]\n{extra}}}\n"
    )
}

fn quoted(id: &str) -> String {
    format!("{id:?}")
}

/// `terraform destroy` with no extra flag, which must succeed.
async fn plain_destroy(h: &Harness) -> TestResult {
    h.run_ok(&["destroy", "-auto-approve", "-input=false", "-no-color"])
        .await?;
    let left = h.state_json().await?;
    let managed: Vec<&str> = left
        .addresses()
        .into_iter()
        .filter(|a| !a.starts_with("data."))
        .collect();
    h.check(managed.is_empty(), format!("state still holds {managed:?}"))
}

/// After `id` was deleted outside Terraform while the configuration still lists it:
/// the plan shows the change (exit 2) with the warning `title` naming `id`, and an
/// apply fails with that error before any write.
async fn gone_is_warned_and_refused(h: &Harness, what: &str, title: &str, id: &str) -> TestResult {
    let out = h
        .run(&["plan", "-detailed-exitcode", "-input=false", "-no-color"])
        .await?;
    let text = out.normalized();
    h.check(
        out.code == 2 && text.contains("Warning") && text.contains(title) && text.contains(id),
        format!(
            "plan must show the gone {what} with a warning (exit {}):\n{text}",
            out.code
        ),
    )?;
    let writes = h.emulator().write_count();
    h.apply_expect_error(&format!("{title}.*{id}")).await?;
    h.check(
        h.emulator().write_count() == writes,
        "the failed apply wrote nothing",
    )
}

/// Policy `name` linking the MCP app, attached to API and the wiki, with `extra` lines.
fn on_api_and_wiki(name: &str, extra: &str) -> String {
    policy(name, &quoted(MCP), &[&quoted(API), &quoted(WIKI)], extra)
}

/// Policy "free", created after "pinned" so that its position follows the existing ones.
fn free_after_pinned(extra: &str) -> String {
    on_api_and_wiki(
        "free",
        &format!("  depends_on      = [cfaccess_linked_app_policy.pinned]\n{extra}"),
    )
}

#[tokio::test]
async fn import_round_trips_precedence_set_and_unset() -> TestResult {
    let h = fidelity_harness!();
    // "free" is created after "pinned", so its position (after the existing ones) is
    // the same on both targets.
    let pinned = on_api_and_wiki("pinned", "  precedence      = 3\n");
    h.write_config(&format!("{pinned}\n{}", free_after_pinned("")))?;
    h.apply().await?;
    h.assert_empty_plan().await?;
    let state = h.state_json().await?;
    h.check(
        state.value(PINNED, "precedence") == Some(&json!(3)),
        format!("pinned precedence: {:?}", state.value(PINNED, "precedence")),
    )?;
    let free_at = state
        .value(FREE, "precedence")
        .and_then(Value::as_u64)
        .ok_or_else(|| h.failure("the provider's position is read into state", None))?;
    let pinned_id = state.attr(PINNED, "id")?;
    let free_id = state.attr(FREE, "id")?;
    h.check(
        h.attachments(API)
            == vec![
                (API_EMPLOYEES.to_string(), 1),
                (pinned_id.clone(), 3),
                (free_id.clone(), free_at),
            ],
        format!("API attachments: {:?}", h.attachments(API)),
    )?;

    // Import: the same object, no ignore list, and an empty plan — precedence set
    // (pinned) and unset (free).
    reimport_in_place(&h, PINNED, &pinned_id).await?;
    reimport_in_place(&h, FREE, &free_id).await?;

    // The other way round: pinned loses its precedence line (the provider now chooses,
    // it stays where it is), free pins the position it holds. Import, then an empty
    // plan again.
    let unpinned = on_api_and_wiki("pinned", "");
    h.write_config(&format!(
        "{unpinned}\n{}",
        free_after_pinned(&format!("  precedence      = {free_at}\n"))
    ))?;
    h.assert_empty_plan().await?;
    reimport_in_place(&h, PINNED, &pinned_id).await?;
    reimport_in_place(&h, FREE, &format!("{}/{free_id}", h.account_id())).await?;

    h.destroy_and_pass().await
}

#[tokio::test]
async fn a_pinned_precedence_moved_outside_terraform_is_planned_and_repaired() -> TestResult {
    let h = fidelity_harness!();
    let pinned = on_api_and_wiki("pinned", "  precedence      = 3\n");
    let free = free_after_pinned("");
    h.write_config(&format!("{pinned}\n{free}"))?;
    h.apply().await?;
    let state = h.state_json().await?;
    let pinned_id = state.attr(PINNED, "id")?;
    let free_id = state.attr(FREE, "id")?;
    let acc = h.account_id().to_string();

    // In the dashboard: on the wiki, the pinned policy goes to 7 and the free one to 5.
    h.check(
        h.emulator().set_attachments_out_of_band(
            &acc,
            WIKI,
            vec![
                (WIKI_EMPLOYEES.to_string(), 1),
                (free_id.clone(), 5),
                (pinned_id.clone(), 7),
            ],
        ),
        "move out of band",
    )?;
    let plan = h.plan().await?;
    h.check(
        plan.actions_of(PINNED) == Some(vec!["update"]),
        format!(
            "the pinned policy's move must plan an update: {:?}",
            plan.actions
        ),
    )?;
    h.check(
        plan.actions_of(FREE) == Some(vec!["no-op"]),
        format!(
            "a move of a policy without precedence is not drift: {:?}",
            plan.actions
        ),
    )?;
    let before = plan.before.get(PINNED).cloned().unwrap_or(Value::Null);
    let after = plan.after.get(PINNED).cloned().unwrap_or(Value::Null);
    let diff = crate::support::json_diff(&before, &after);
    h.check(
        diff.len() == 1 && diff[0].contains("precedence") && after["precedence"] == json!(3),
        format!("only precedence changes, back to 3: {diff:?}"),
    )?;

    h.emulator().clear_request_log();
    h.apply().await?;
    h.assert_empty_plan().await?;
    h.check(
        h.attachments(WIKI)
            == vec![
                (WIKI_EMPLOYEES.to_string(), 1),
                (pinned_id.clone(), 3),
                (free_id.clone(), 5),
            ],
        format!("wiki after repair: {:?}", h.attachments(WIKI)),
    )?;
    h.check(
        h.attachments(API)
            == vec![
                (API_EMPLOYEES.to_string(), 1),
                (pinned_id.clone(), 3),
                (free_id.clone(), 4),
            ],
        format!("API untouched: {:?}", h.attachments(API)),
    )?;
    let puts: Vec<String> = h
        .emulator()
        .request_log()
        .iter()
        .filter(|r| crate::support::is_write(&r.method))
        .map(crate::support::format_request)
        .collect();
    h.check(
        puts.len() == 1 && puts[0].contains(WIKI),
        format!("the repair writes the wiki only, once: {puts:?}"),
    )?;
    h.destroy_and_pass().await
}

#[tokio::test]
async fn a_mixed_service_auth_policy_is_general_purpose_in_both_resources() -> TestResult {
    let h = fidelity_harness!();
    let app_name = h.name("downstream");
    let app = |policy_ids: &str| {
        format!(
            "resource \"cfaccess_mcp_server_app\" \"app\" {{\n  name   = {app_name:?}\n  domain = \"{app_name}.example.com\"\n{policy_ids}}}\n"
        )
    };
    let lat = policy("lat", &quoted(MCP), &["cfaccess_mcp_server_app.app.id"], "");
    h.write_config(&format!("{}\n{lat}", app("")))?;
    h.apply().await?;
    let state = h.state_json().await?;
    let app_id = state.attr("cfaccess_mcp_server_app.app", "id")?;
    let lat_id = state.attr("cfaccess_linked_app_policy.lat", "id")?;

    // Made in the dashboard: Service Auth accepting the MCP server's token *or* any
    // service token, first on the application.
    let mixed_id = create_out_of_band(
        &h,
        "policies",
        json!({"name": "tokens and MCP", "decision": "non_identity",
               "include": [{"linked_app_token": {"app_uid": MCP}}, {"any_valid_service_token": {}}]}),
    )
    .await?;
    h.check(
        h.emulator().set_attachments_out_of_band(
            h.account_id(),
            &app_id,
            vec![(mixed_id.clone(), 1), (lat_id.clone(), 2)],
        ),
        "attach the mixed policy",
    )?;

    // cfaccess_linked_app_policy does not take it, and says why.
    h.write_config(&format!(
        "{}\n{lat}\n{}",
        app(""),
        policy("other", &quoted(MCP), &[], "")
    ))?;
    h.import_expect_error(
        "cfaccess_linked_app_policy.other",
        &mixed_id,
        r"(?i)rules other than linked_app_token.*any_valid_service_token",
    )
    .await?;

    // cfaccess_mcp_server_app imports it as one of the application's own policies and
    // leaves the pure Linked App Token policy to its resource: an empty plan.
    let listed = app(&format!("  policy_ids = [{}]\n", quoted(&mixed_id)));
    h.write_config(&format!("{listed}\n{lat}"))?;
    h.run_ok(&["state", "rm", "-no-color", "cfaccess_mcp_server_app.app"])
        .await?;
    h.import("cfaccess_mcp_server_app.app", &app_id).await?;
    let imported = h.state_json().await?;
    h.check(
        imported.value("cfaccess_mcp_server_app.app", "policy_ids") == Some(&json!([mixed_id])),
        format!(
            "policy_ids after import: {:?}",
            imported.value("cfaccess_mcp_server_app.app", "policy_ids")
        ),
    )?;
    h.assert_empty_plan().await?;

    plain_destroy(&h).await?;
    let url = format!(
        "{}/accounts/{}/access/policies/{mixed_id}",
        h.emulator().base_url(),
        h.account_id()
    );
    reqwest::Client::new()
        .delete(url)
        .bearer_auth(h.token())
        .send()
        .await
        .map_err(|e| h.failure(format!("delete the mixed policy: {e}"), None))?;
    h.assert_emulator_empty_of_ours()
}

#[tokio::test]
async fn destroy_after_a_target_app_was_deleted_outside_terraform() -> TestResult {
    let h = fidelity_harness!();
    // A downstream application made in the dashboard, then a policy on it and on API.
    let reports = create_out_of_band(
        &h,
        "apps",
        json!({"type": "self_hosted", "name": "Reports", "domain": "reports.internal.example.com"}),
    )
    .await?;
    let config = policy(
        "p",
        &quoted(MCP),
        &[&quoted(API), &quoted(&reports)],
        "  precedence      = 4\n",
    );
    h.write_config(&config)?;
    h.apply().await?;
    let id = h.id_in_state("cfaccess_linked_app_policy.p").await?;

    h.check(
        h.emulator()
            .delete_app_out_of_band(h.account_id(), &reports),
        "delete the target out of band",
    )?;
    // The plan shows the attachment as gone and names the application; an apply
    // that still lists it stops before any write.
    gone_is_warned_and_refused(&h, "attachment", "Target application not found", &reports).await?;
    // Destroy, with no extra flag, works anyway.
    plain_destroy(&h).await?;
    h.check(our_policies(&h).is_empty(), "policy deleted")?;
    h.check(
        h.emulator().policy(h.account_id(), &id).is_none(),
        "policy gone",
    )?;
    h.check_attachments(
        API,
        &[(API_EMPLOYEES.to_string(), 1)],
        "API back to its own policy",
    )?;
    h.assert_emulator_empty_of_ours()
}

#[tokio::test]
async fn destroy_after_the_mcp_app_was_deleted_outside_terraform() -> TestResult {
    let h = fidelity_harness!();
    let name = h.name("mcp");
    // One policy linked through the resource, one to a literal MCP app id made in the
    // dashboard; both MCP apps are then deleted out of band.
    let dashboard_mcp = create_out_of_band(
        &h,
        "apps",
        json!({"type": "self_hosted", "name": "Dashboard MCP", "domain": "mcp2.internal.example.com"}),
    )
    .await?;
    h.write_config(&format!(
        "resource \"cfaccess_mcp_server_app\" \"mcp\" {{\n  name   = {name:?}\n  domain = \"{name}.example.com\"\n}}\n\n{}\n{}",
        policy(
            "via_resource",
            "cfaccess_mcp_server_app.mcp.uid",
            &[&quoted(API), &quoted(WIKI)],
            ""
        ),
        policy(
            "literal",
            &quoted(&dashboard_mcp),
            &[&quoted(WIKI)],
            "  precedence      = 9\n"
        ),
    ))?;
    h.apply().await?;
    h.assert_empty_plan().await?;
    let mcp_id = h.id_in_state("cfaccess_mcp_server_app.mcp").await?;
    for app in [&mcp_id, &dashboard_mcp] {
        h.check(
            h.emulator().delete_app_out_of_band(h.account_id(), app),
            "delete the MCP app out of band",
        )?;
    }
    // The plan re-creates the MCP app; it does not fail.
    let code = h.plan_exit_code().await?;
    h.check(code == 2, "the deleted MCP app is planned again")?;
    plain_destroy(&h).await?;
    h.check(our_policies(&h).is_empty(), "policies deleted")?;
    h.assert_emulator_empty_of_ours()
}

const APP: &str = "cfaccess_mcp_server_app.mcp";

/// A self-hosted `cfaccess_mcp_server_app.mcp` named `name` listing `policy_ids`.
fn mcp_app(name: &str, policy_ids: &[&str]) -> String {
    let ids = policy_ids
        .iter()
        .map(|p| quoted(p))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "resource \"cfaccess_mcp_server_app\" \"mcp\" {{\n  name       = {name:?}\n  domain     = \"{name}.example.com\"\n  policy_ids = [{ids}]\n}}\n"
    )
}

#[tokio::test]
async fn destroy_after_a_listed_policy_was_deleted_outside_terraform() -> TestResult {
    let h = fidelity_harness!();
    let name = h.name("mcp");
    let doomed = create_out_of_band(
        &h,
        "policies",
        json!({"name": "contractors", "decision": "allow",
               "include": [{"email_domain": {"domain": "contractors.example.com"}}]}),
    )
    .await?;
    h.write_config(&mcp_app(&name, &[API_EMPLOYEES, &doomed]))?;
    h.apply().await?;
    h.assert_empty_plan().await?;
    let id = h.id_in_state(APP).await?;
    h.check_attachments(
        &id,
        &[(API_EMPLOYEES.to_string(), 1), (doomed.clone(), 2)],
        "attached in list order",
    )?;
    h.check(
        h.emulator()
            .delete_policy_out_of_band(h.account_id(), &doomed),
        "delete the policy out of band",
    )?;
    // The plan shows the policy as gone, with a warning naming it; an apply that
    // still lists it stops before any write.
    gone_is_warned_and_refused(&h, "policy", "Policy not found", &doomed).await?;
    // Destroy, with no extra flag, works anyway.
    plain_destroy(&h).await?;
    h.check(
        h.emulator().app(h.account_id(), &id).is_none(),
        "application deleted",
    )?;
    h.assert_emulator_empty_of_ours()
}

#[tokio::test]
async fn import_round_trips_an_app_whose_policies_sit_around_a_linked_policy() -> TestResult {
    let h = fidelity_harness!();
    let name = h.name("mcp");
    // The MCP server app's own policies at 1 and 3, a Linked App Token policy owned by
    // cfaccess_linked_app_policy pinned at 2 between them.
    let lat = policy(
        "lat",
        &quoted(MCP),
        &["cfaccess_mcp_server_app.mcp.id"],
        "  precedence      = 2\n",
    );
    h.write_config(&format!("{}\n{lat}", mcp_app(&name, &[API_EMPLOYEES])))?;
    h.apply().await?;
    h.assert_empty_plan().await?;
    let state = h.state_json().await?;
    let id = state.attr(APP, "id")?;
    let lat_id = state.attr("cfaccess_linked_app_policy.lat", "id")?;
    // A second policy of our own goes after the linked one, which keeps its place.
    h.write_config(&format!(
        "{}\n{lat}",
        mcp_app(&name, &[API_EMPLOYEES, WIKI_EMPLOYEES])
    ))?;
    h.apply().await?;
    let layout = vec![
        (API_EMPLOYEES.to_string(), 1),
        (lat_id.clone(), 2),
        (WIKI_EMPLOYEES.to_string(), 3),
    ];
    h.check(
        h.attachments(&id) == layout,
        format!(
            "ours placed around the linked policy: {:?}",
            h.attachments(&id)
        ),
    )?;
    h.assert_empty_plan().await?;
    // Import reproduces the state with an empty plan and moves nobody.
    let writes = h.emulator().write_count();
    reimport_in_place(&h, APP, &id).await?;
    h.check(
        h.emulator().write_count() == writes,
        "import and plan wrote nothing",
    )?;
    h.check_attachments(&id, &layout, "nobody moved")?;
    plain_destroy(&h).await?;
    h.assert_emulator_empty_of_ours()
}
