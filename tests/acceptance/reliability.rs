//! The reliability matrix (issue 7): the provider loses nothing on a bad day.
//!
//! - Faults at every API call of every CRUD path of the MCP wiring (an MCP server app
//!   plus a linked policy attached to downstream apps): a burst of 500, 502, 503 and
//!   429-with-retry-after on one call is retried and the apply succeeds; a persistent
//!   500 fails the apply with a clear error, leaves no object untracked, and once the
//!   fault clears the next apply converges with no duplicate and no orphan (checked
//!   against the emulator).
//! - A response lost after a committed create/attach/delete: no duplicate.
//! - 200 linked policies under an emulator rate limit of 40 requests / 10 s: zero errors.
//! - 20 policies attaching to one app with `-parallelism=10`, five rounds: no lost
//!   attachment, pre-existing policies untouched.
//! - SIGINT mid-apply: terraform and the provider stop promptly, the next apply
//!   converges.
//!
//! `docs/reliability.md` lists every scenario with what it proves.

use std::collections::BTreeSet;
use std::time::Duration;

use cfaccess_emulator::{FaultKind, LoggedRequest, RateLimit, demo_ids};
use serde_json::Value;

use crate::support::{Failure, Harness, TestResult, extended_seed, format_request, seed_ids};

const API: &str = demo_ids::INTERNAL_API_APP;
const WIKI: &str = demo_ids::COMPANY_WIKI_APP;
/// A self-hosted seed app without policies, used as a third downstream app.
const EXTRA: &str = seed_ids::MCP_SELF_HOSTED_APP;
const APP: &str = "cfaccess_mcp_server_app.mcp";
const POLICY: &str = "cfaccess_linked_app_policy.p";

// ---------------------------------------------------------------------------------
// The wiring under test
// ---------------------------------------------------------------------------------

/// Which configuration of the wiring is applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Version {
    /// MCP app `<app>`, policy `<policy>` attached to API and WIKI.
    V1,
    /// Both renamed, policy with a session duration, attached to WIKI and EXTRA
    /// (detached from API).
    V2,
}

struct Wiring {
    app: String,
    policy: String,
}

impl Wiring {
    fn new(h: &Harness) -> Wiring {
        Wiring {
            app: h.name("rel-mcp"),
            policy: h.name("rel-policy"),
        }
    }

    fn config(&self, v: Version) -> String {
        let (suffix, targets, extra) = match v {
            Version::V1 => ("", [API, WIKI], ""),
            Version::V2 => ("-v2", [WIKI, EXTRA], "\n  session_duration = \"12h\""),
        };
        format!(
            r#"
resource "cfaccess_mcp_server_app" "mcp" {{
  name   = "{app}{suffix}"
  domain = "{app}.example.com"
}}

resource "cfaccess_linked_app_policy" "p" {{
  name            = "{policy}{suffix}"
  linked_app_uids = [cfaccess_mcp_server_app.mcp.uid]
  target_app_ids  = ["{t0}", "{t1}"]{extra}
}}
"#,
            app = self.app,
            policy = self.policy,
            t0 = targets[0],
            t1 = targets[1],
        )
    }

    /// The targets a version attaches the policy to, and the apps it must not be on.
    fn targets(v: Version) -> (&'static [&'static str], &'static [&'static str]) {
        match v {
            Version::V1 => (&[API, WIKI], &[EXTRA]),
            Version::V2 => (&[WIKI, EXTRA], &[API]),
        }
    }

    fn names(&self, v: Version) -> (String, String) {
        let suffix = if v == Version::V2 { "-v2" } else { "" };
        (
            format!("{}{suffix}", self.app),
            format!("{}{suffix}", self.policy),
        )
    }
}

fn harness_builder() -> crate::support::HarnessBuilder {
    Harness::builder().seed(Some(extended_seed()))
}

/// Ids of the emulator's non-seed apps and policies.
fn our_objects(h: &Harness) -> (BTreeSet<String>, BTreeSet<String>) {
    let ids = |v: Vec<Value>, seed: &BTreeSet<String>| -> BTreeSet<String> {
        v.iter()
            .filter_map(|o| o.get("id").and_then(Value::as_str).map(str::to_string))
            .filter(|id| !seed.contains(id))
            .collect()
    };
    (
        ids(h.emulator().apps(h.account_id()), h.seed_app_ids()),
        ids(h.emulator().policies(h.account_id()), h.seed_policy_ids()),
    )
}

/// Ids the state tracks for the app and the policy (absent ones are skipped).
async fn tracked(h: &Harness) -> Result<(BTreeSet<String>, BTreeSet<String>), Failure> {
    let state = h.state_json().await?;
    let mut apps = BTreeSet::new();
    let mut policies = BTreeSet::new();
    for (addr, values) in &state.resources {
        let Some(id) = values.get("id").and_then(Value::as_str) else {
            continue;
        };
        if addr.starts_with("cfaccess_mcp_server_app.") {
            apps.insert(id.to_string());
        } else if addr.starts_with("cfaccess_linked_app_policy.") {
            policies.insert(id.to_string());
        }
    }
    Ok((apps, policies))
}

/// Every object of ours in the emulator is tracked by the state (nothing orphaned),
/// and there is at most one app and one policy (nothing duplicated).
async fn assert_no_orphans_or_duplicates(h: &Harness, when: &str) -> TestResult {
    let (apps, policies) = our_objects(h);
    let (t_apps, t_policies) = tracked(h).await?;
    h.check(
        apps.len() <= 1 && policies.len() <= 1,
        format!("{when}: duplicates in the emulator: apps {apps:?}, policies {policies:?}"),
    )?;
    h.check(
        apps.is_subset(&t_apps) && policies.is_subset(&t_policies),
        format!("{when}: objects exist that the state does not track (orphans): apps {apps:?} vs state {t_apps:?}, policies {policies:?} vs state {t_policies:?}"),
    )
}

/// The `name` of the emulator's `object` (`what` it is) is `expected`.
fn check_name(h: &Harness, what: &str, object: &Value, expected: &str) -> TestResult {
    h.check(
        object.get("name").and_then(Value::as_str) == Some(expected),
        format!("{what} name is not {expected}: {object}"),
    )
}

/// The emulator holds exactly the wiring of `v`: one app and one policy, both in the
/// state, with the version's names and rules; the policy attached exactly once to each
/// target and to nothing else; the seed policies untouched. And the plan is empty.
async fn assert_converged(h: &Harness, w: &Wiring, v: Version) -> TestResult {
    h.assert_empty_plan().await?;
    let state = h.state_json().await?;
    let app_id = state.attr(APP, "id")?;
    let policy_id = state.attr(POLICY, "id")?;
    let (apps, policies) = our_objects(h);
    h.check(
        apps == BTreeSet::from([app_id.clone()]) && policies == BTreeSet::from([policy_id.clone()]),
        format!("the emulator must hold exactly the app {app_id} and the policy {policy_id}; it holds apps {apps:?}, policies {policies:?}"),
    )?;
    let (app_name, policy_name) = w.names(v);
    let app = h
        .emulator()
        .app(h.account_id(), &app_id)
        .unwrap_or(Value::Null);
    check_name(h, "app", &app, &app_name)?;
    let policy = h
        .emulator()
        .policy(h.account_id(), &policy_id)
        .unwrap_or(Value::Null);
    check_name(h, "policy", &policy, &policy_name)?;
    h.check(
        policy.get("decision").and_then(Value::as_str) == Some("non_identity"),
        format!("policy decision: {policy}"),
    )?;
    let include = policy.get("include").cloned().unwrap_or(Value::Null);
    h.check(
        include == serde_json::json!([{"linked_app_token": {"app_uid": app_id}}]),
        format!("policy include must be one linked_app_token rule for {app_id}: {include}"),
    )?;
    let (on, off) = Wiring::targets(v);
    for target in on {
        let links = h.attachments(target);
        let ours = links.iter().filter(|(id, _)| *id == policy_id).count();
        h.check(
            ours == 1,
            format!("policy {policy_id} must be attached exactly once to {target}: {links:?}"),
        )?;
    }
    for other in off {
        let links = h.attachments(other);
        h.check(
            !links.iter().any(|(id, _)| *id == policy_id),
            format!("policy {policy_id} must not be attached to {other}: {links:?}"),
        )?;
    }
    assert_seed_policies_in_place(h)
}

/// The seed "Employees" policies are still attached to their apps at precedence 1.
fn assert_seed_policies_in_place(h: &Harness) -> TestResult {
    for (app, policy) in [
        (API, demo_ids::INTERNAL_API_EMPLOYEES_POLICY),
        (WIKI, demo_ids::COMPANY_WIKI_EMPLOYEES_POLICY),
    ] {
        let links = h.attachments(app);
        h.check(
            links.iter().any(|(id, p)| id == policy && *p == 1),
            format!(
                "seed policy {policy} is no longer attached to {app} at precedence 1: {links:?}"
            ),
        )?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// Fault matrix
// ---------------------------------------------------------------------------------

/// The CRUD phase a fault is injected into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// First apply of V1.
    Create,
    /// Apply of V2 over V1.
    Update,
    /// Destroy of V2.
    Delete,
}

/// The request a fault hits (path relative to `/client/v4`).
#[derive(Clone, Copy, Debug)]
enum Target {
    /// `/accounts/*/access/apps` (create, and the list that serves coalesced reads).
    Apps,
    /// `/accounts/*/access/policies` (create, and the list).
    Policies,
    /// One seed downstream app.
    App(&'static str),
    /// The MCP server app this test created.
    McpApp,
    /// The policy this test created.
    Policy,
}

impl Target {
    fn glob(self, app_id: Option<&str>, policy_id: Option<&str>) -> String {
        match self {
            Target::Apps => "/accounts/*/access/apps".to_string(),
            Target::Policies => "/accounts/*/access/policies".to_string(),
            Target::App(id) => format!("/accounts/*/access/apps/{id}"),
            Target::McpApp => format!("/accounts/*/access/apps/{}", app_id.unwrap_or("*")),
            Target::Policy => format!("/accounts/*/access/policies/{}", policy_id.unwrap_or("*")),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// 500, 502, 503 and a 429 with `retry-after: 1`, one after the other.
    TransientBurst,
    /// 500 until the test clears it.
    Persistent500,
}

/// Statuses of the transient burst, in the order the emulator serves them.
const BURST: [u16; 4] = [500, 502, 503, 429];

async fn run_phase(h: &Harness, phase: Phase) -> Result<crate::support::Output, Failure> {
    match phase {
        Phase::Create | Phase::Update => h.apply().await,
        Phase::Delete => h.destroy().await,
    }
}

/// The names of the emulator's policies that start with `prefix`, duplicates kept.
fn policy_names_with(h: &Harness, prefix: &str) -> Vec<String> {
    h.emulator()
        .policies(h.account_id())
        .iter()
        .filter_map(|p| p.get("name").and_then(Value::as_str))
        .filter(|n| n.starts_with(prefix))
        .map(str::to_string)
        .collect()
}

/// `count` linked-app policies for the seed's MCP app, named `{prefix}-{index}`.
fn counted_policies(count: usize, prefix: &str) -> String {
    format!(
        r#"
resource "cfaccess_linked_app_policy" "p" {{
  count           = {count}
  name            = "{prefix}-${{count.index}}"
  linked_app_uids = ["{mcp}"]
}}
"#,
        mcp = seed_ids::MCP_SELF_HOSTED_APP
    )
}

/// Brings the world to `phase`'s starting point without faults; returns the version
/// the run of the phase converges to.
async fn prepare_phase(h: &Harness, w: &Wiring, phase: Phase) -> Result<Version, Failure> {
    match phase {
        Phase::Create => {
            h.write_config(&w.config(Version::V1))?;
            Ok(Version::V1)
        }
        Phase::Update => {
            h.write_config(&w.config(Version::V1))?;
            h.apply().await?;
            h.write_config(&w.config(Version::V2))?;
            Ok(Version::V2)
        }
        Phase::Delete => {
            h.write_config(&w.config(Version::V2))?;
            h.apply().await?;
            Ok(Version::V2)
        }
    }
}

/// The phase's command, whatever its exit code (the caller judges the outcome).
async fn run_phase_unchecked(h: &Harness, phase: Phase) -> Result<crate::support::Output, Failure> {
    let command = match phase {
        Phase::Delete => "destroy",
        Phase::Create | Phase::Update => "apply",
    };
    h.run(&[command, "-auto-approve", "-input=false", "-no-color"])
        .await
}

/// After the phase: nothing of ours left after a delete, else the `after` world.
async fn assert_phase_reached(h: &Harness, w: &Wiring, phase: Phase, after: Version) -> TestResult {
    if phase == Phase::Delete {
        let (apps, policies) = our_objects(h);
        h.check(
            apps.is_empty() && policies.is_empty(),
            format!("left behind: {apps:?} {policies:?}"),
        )
    } else {
        assert_converged(h, w, after).await
    }
}

fn matching<'a>(
    log: &'a [LoggedRequest],
    method: &str,
    glob_re: &regex::Regex,
) -> Vec<&'a LoggedRequest> {
    log.iter()
        .filter(|r| r.method.eq_ignore_ascii_case(method) && glob_re.is_match(&r.path))
        .collect()
}

/// The path glob as a regex over the full `/client/v4/...` path.
fn glob_regex(glob: &str) -> regex::Regex {
    let body = glob
        .split('/')
        .map(|seg| {
            if seg == "*" {
                "[^/]+".to_string()
            } else {
                regex::escape(seg)
            }
        })
        .collect::<Vec<_>>()
        .join("/");
    regex::Regex::new(&format!("^/client/v4{body}/?$"))
        .unwrap_or_else(|e| panic!("bad glob {glob}: {e}"))
}

async fn fault_scenario(phase: Phase, method: &str, target: Target, mode: Mode) -> TestResult {
    let h = harness!(harness_builder());
    let w = Wiring::new(&h);
    if mode == Mode::Persistent500 {
        // Few retries: the point is the failure, not the backoff.
        h.set_provider_body("requests_per_second = 200\n  max_retries = 2");
    }
    let after = prepare_phase(&h, &w, phase).await?;
    let state = h.state_json().await?;
    let app_id = state.attr(APP, "id").ok();
    let policy_id = state.attr(POLICY, "id").ok();
    let glob = target.glob(app_id.as_deref(), policy_id.as_deref());
    let glob_re = glob_regex(&glob);
    let mark = h.emulator().request_log().len();

    match mode {
        Mode::TransientBurst => {
            for status in BURST {
                let kind = if status == 429 {
                    FaultKind::RateLimited {
                        retry_after_secs: 1,
                    }
                } else {
                    FaultKind::Status(status)
                };
                h.fault(method, &glob, kind, 1);
            }
            run_phase(&h, phase).await?;
            let log = h.emulator().request_log();
            let hits = matching(&log[mark..], method, &glob_re);
            let statuses: Vec<u16> = hits.iter().map(|r| r.status).collect();
            h.check(
                statuses.len() > BURST.len() && statuses[..BURST.len()] == BURST && (200..300).contains(&statuses[BURST.len()]),
                format!("{method} {glob}: expected {BURST:?} then a success (the same call retried), got {statuses:?}"),
            )?;
        }
        Mode::Persistent500 => {
            h.fault(method, &glob, FaultKind::Status(500), u32::MAX);
            let out = run_phase_unchecked(&h, phase).await?;
            let log = h.emulator().request_log();
            h.check(
                !matching(&log[mark..], method, &glob_re).is_empty(),
                format!("the fault on {method} {glob} was never hit"),
            )?;
            // A failing list read may be served by single GETs instead (the client's
            // documented fallback); then the run may succeed, and must be right.
            let list_read = method == "GET" && matches!(target, Target::Apps | Target::Policies);
            if out.code == 0 && !list_read {
                return h.fail(format!(
                    "{phase:?} succeeded although every {method} {glob} answered 500"
                ));
            }
            let text = out.normalized();
            if out.code != 0 {
                h.check(
                    text.contains("500")
                        && text.contains(method)
                        && (text.contains("Cloudflare API") || text.contains("HTTP 500")),
                    format!("the error must say which call failed with HTTP 500: {text}"),
                )?;
            }
            h.check(!text.contains(h.token()), "the output leaked the API token")?;
            assert_no_orphans_or_duplicates(&h, "after the faulty run").await?;
            h.emulator().clear_faults();
            if out.code != 0 {
                run_phase(&h, phase).await?;
            }
        }
    }
    // After a delete, `destroy()` already proved the emulator holds only the seed again.
    assert_phase_reached(&h, &w, phase, after).await?;
    assert_no_orphans_or_duplicates(&h, "at the end").await
}

/// One module per fault point, with both modes.
macro_rules! fault_matrix {
    ($($name:ident: $phase:ident, $method:literal, $target:expr;)*) => {
        $(
            mod $name {
                use super::*;

                #[tokio::test]
                async fn transient_500_502_503_429_is_retried() -> TestResult {
                    fault_scenario(Phase::$phase, $method, $target, Mode::TransientBurst).await
                }

                #[tokio::test]
                async fn persistent_500_fails_cleanly_then_converges() -> TestResult {
                    fault_scenario(Phase::$phase, $method, $target, Mode::Persistent500).await
                }
            }
        )*
    };
}

fault_matrix! {
    // create: plan-time reads, the app, the policy, each attach (read then write)
    create_list_apps: Create, "GET", Target::Apps;
    create_app: Create, "POST", Target::Apps;
    create_policy: Create, "POST", Target::Policies;
    create_attach_read_api: Create, "GET", Target::App(API);
    create_attach_api: Create, "PUT", Target::App(API);
    create_attach_wiki: Create, "PUT", Target::App(WIKI);
    // update: refresh reads, the app, the policy, attach the new target, detach the old
    update_list_policies: Update, "GET", Target::Policies;
    update_app: Update, "PUT", Target::McpApp;
    update_policy: Update, "PUT", Target::Policy;
    update_attach_extra: Update, "PUT", Target::App(EXTRA);
    update_detach_api: Update, "PUT", Target::App(API);
    // delete: refresh reads, each detach, the policy, the app
    delete_list_apps: Delete, "GET", Target::Apps;
    delete_detach_wiki: Delete, "PUT", Target::App(WIKI);
    delete_detach_extra: Delete, "PUT", Target::App(EXTRA);
    delete_policy: Delete, "DELETE", Target::Policy;
    delete_app: Delete, "DELETE", Target::McpApp;
}

// ---------------------------------------------------------------------------------
// Lost responses
// ---------------------------------------------------------------------------------

/// The emulator commits the request, then closes the connection without answering.
/// Whether the run retries into success or fails, the next apply (or destroy) must
/// converge with exactly one object of each kind.
async fn dropped_response(phase: Phase, method: &str, target: Target) -> TestResult {
    let h = harness!(harness_builder());
    let w = Wiring::new(&h);
    let after = prepare_phase(&h, &w, phase).await?;
    let state = h.state_json().await?;
    let glob = target.glob(
        state.attr(APP, "id").ok().as_deref(),
        state.attr(POLICY, "id").ok().as_deref(),
    );
    let mark = h.emulator().request_log().len();
    h.fault(method, &glob, FaultKind::DropAfterCommit, 1);
    let first = run_phase_unchecked(&h, phase).await?;
    let log = h.emulator().request_log();
    h.check(
        log[mark..].iter().any(|r| r.dropped),
        format!(
            "the {method} {glob} response was never dropped:\n{}",
            log[mark..]
                .iter()
                .map(format_request)
                .collect::<Vec<_>>()
                .join("\n")
        ),
    )?;
    assert_no_orphans_or_duplicates(&h, "after the lost response").await?;
    if first.code != 0 {
        run_phase(&h, phase).await?;
    }
    assert_phase_reached(&h, &w, phase, after).await?;
    if phase == Phase::Delete {
        h.assert_emulator_empty_of_ours()?;
    }
    assert_no_orphans_or_duplicates(&h, "at the end").await
}

/// One test per lost response.
macro_rules! lost_responses {
    ($($name:ident: $phase:ident, $method:literal, $target:expr;)*) => {
        $(
            #[tokio::test]
            async fn $name() -> TestResult {
                dropped_response(Phase::$phase, $method, $target).await
            }
        )*
    };
}

lost_responses! {
    lost_response_after_app_create_makes_no_duplicate: Create, "POST", Target::Apps;
    lost_response_after_policy_create_makes_no_duplicate: Create, "POST", Target::Policies;
    lost_response_after_attach_makes_no_duplicate_attachment: Create, "PUT", Target::App(WIKI);
    lost_response_after_policy_update_converges: Update, "PUT", Target::Policy;
    lost_response_after_policy_delete_converges: Delete, "DELETE", Target::Policy;
}

// ---------------------------------------------------------------------------------
// Rate limit
// ---------------------------------------------------------------------------------

/// Cloudflare's 1200 requests / 300 s scaled to 40 / 10 s. The client's limiter
/// (burst 10 + `requests_per_second` × window) must keep every 10 s window under 40:
/// 10 + 2.5 × 10 = 35.
#[tokio::test]
async fn two_hundred_policies_under_the_rate_limit_without_errors() -> TestResult {
    let h = harness!(harness_builder().rate_limit(RateLimit {
        requests: 40,
        per: Duration::from_secs(10)
    }));
    h.set_provider_body("requests_per_second = 2.5");
    let prefix = h.name("rl");
    h.write_config(&counted_policies(200, &prefix))?;
    h.apply_with(&["-parallelism=10"]).await?;
    let log = h.emulator().request_log();
    let limited: Vec<String> = log
        .iter()
        .filter(|r| r.status == 429)
        .map(format_request)
        .collect();
    h.check(limited.is_empty(), format!("{} requests were rate limited although requests_per_second fits the limit: {limited:?}", limited.len()))?;
    let failed: Vec<String> = log
        .iter()
        .filter(|r| r.status >= 400)
        .map(format_request)
        .collect();
    h.check(failed.is_empty(), format!("requests failed: {failed:?}"))?;
    let ours: BTreeSet<String> = policy_names_with(&h, &prefix).into_iter().collect();
    h.check(
        ours.len() == 200,
        format!(
            "expected 200 distinct policies, the emulator holds {}",
            ours.len()
        ),
    )?;
    let state = h.state_json().await?;
    h.check(
        state
            .addresses()
            .iter()
            .filter(|a| a.starts_with("cfaccess_linked_app_policy.p["))
            .count()
            == 200,
        "state must track 200 policies",
    )?;
    // Refresh of 200 policies is coalesced into list calls: cheap even under the limit.
    h.assert_empty_plan().await?;
    // The limit was really enforced: a burst past it straight at the emulator is refused.
    let client = reqwest::Client::new();
    let url = format!(
        "{}/accounts/{}/access/policies?per_page=1",
        h.emulator().base_url(),
        h.account_id()
    );
    let mut refused = 0;
    for _ in 0..45 {
        let resp = client
            .get(&url)
            .bearer_auth(h.token())
            .send()
            .await
            .map_err(|e| h.failure(format!("direct request: {e}"), None))?;
        refused += usize::from(resp.status().as_u16() == 429);
    }
    h.check(
        refused > 0,
        "45 back-to-back requests were all accepted: the emulator's 40/10 s limit was not in force",
    )
}

// ---------------------------------------------------------------------------------
// Concurrency
// ---------------------------------------------------------------------------------

/// 20 policies attach to the same app at once (`-parallelism=10`), five rounds of apply
/// and destroy: every attachment lands, none is lost to a concurrent read-modify-write,
/// and the app's pre-existing policy keeps its place.
#[tokio::test]
async fn twenty_policies_attach_to_one_app_in_parallel_five_times() -> TestResult {
    let h = harness!(harness_builder());
    let before = h.attachments(WIKI);
    h.check(
        !before.is_empty(),
        "the seed wiki app should start with its Employees policy",
    )?;
    for round in 1..=5 {
        let prefix = h.name(&format!("conc{round}"));
        h.write_config(&format!(
            r#"
resource "cfaccess_linked_app_policy" "p" {{
  count           = 20
  name            = "{prefix}-${{count.index}}"
  linked_app_uids = ["{mcp}"]
  target_app_ids  = ["{WIKI}"]
}}
"#,
            mcp = seed_ids::MCP_SELF_HOSTED_APP
        ))?;
        h.apply_with(&["-parallelism=10"]).await?;
        let state = h.state_json().await?;
        let ids: BTreeSet<String> = (0..20)
            .map(|i| state.attr(&format!("cfaccess_linked_app_policy.p[{i}]"), "id"))
            .collect::<Result<_, _>>()?;
        h.check(
            ids.len() == 20,
            format!(
                "round {round}: 20 distinct policies expected, got {}",
                ids.len()
            ),
        )?;
        let links = h.attachments(WIKI);
        let attached: BTreeSet<String> = links
            .iter()
            .map(|(id, _)| id.clone())
            .filter(|id| ids.contains(id))
            .collect();
        let missing: Vec<&String> = ids.difference(&attached).collect();
        h.check(
            missing.is_empty(),
            format!(
                "round {round}: {} attachments lost: {missing:?}; app holds {links:?}",
                missing.len()
            ),
        )?;
        h.check(
            links.len() == before.len() + 20,
            format!(
                "round {round}: the app holds {} links, expected {}",
                links.len(),
                before.len() + 20
            ),
        )?;
        let precedences: BTreeSet<u64> = links.iter().map(|(_, p)| *p).collect();
        h.check(
            precedences.len() == links.len(),
            format!("round {round}: duplicate precedences: {links:?}"),
        )?;
        for original in &before {
            h.check(
                links.contains(original),
                format!(
                    "round {round}: pre-existing link {original:?} moved or vanished: {links:?}"
                ),
            )?;
        }
        h.assert_empty_plan().await?;
        h.destroy().await?;
        h.check(
            h.attachments(WIKI) == before,
            format!("round {round}: after destroy the app must hold exactly its original links"),
        )?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// Interrupt
// ---------------------------------------------------------------------------------

/// SIGINT to the terraform process group while creates hang in the API (a 120 s
/// latency fault): terraform asks the provider to stop, the provider cancels its
/// in-flight work and returns, and terraform exits long before the latency would have
/// ended. With the fault gone, the next apply converges without duplicates.
#[tokio::test]
async fn interrupt_mid_apply_stops_promptly_and_next_apply_converges() -> TestResult {
    let h = harness!(harness_builder());
    let prefix = h.name("intr");
    h.write_config(&counted_policies(6, &prefix))?;
    let latency = Duration::from_secs(120);
    h.fault(
        "POST",
        "/accounts/*/access/policies",
        FaultKind::Latency(latency),
        u32::MAX,
    );
    let mut running = h.spawn_apply(&["-parallelism=3"])?;
    if !running
        .wait_for_stdout("Creating...", Duration::from_secs(60))
        .await
    {
        let out = running
            .wait(Duration::from_secs(5))
            .await
            .unwrap_or_else(|o| o);
        return Err(h.failure("apply never started creating", Some(&out)));
    }
    // Let the creates reach the emulator and hang there.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    running.interrupt().await?;
    let out = match running.wait(Duration::from_secs(30)).await {
        Ok(out) => out,
        Err(partial) => {
            return Err(h.failure(
                format!("terraform did not stop within 30 s of SIGINT (the API latency is {latency:?}): the provider does not cancel in-flight work"),
                Some(&partial),
            ));
        }
    };
    h.finish(&out)?;
    h.check(
        out.code != 0,
        "an interrupted apply must not report success",
    )?;
    h.check(
        out.normalized().contains("Interrupt received"),
        format!("terraform did not see the interrupt: {}", out.normalized()),
    )?;
    h.emulator().clear_faults();
    h.apply().await?;
    h.assert_empty_plan().await?;
    let names = policy_names_with(&h, &prefix);
    let unique: BTreeSet<&String> = names.iter().collect();
    h.check(
        names.len() == 6 && unique.len() == 6,
        format!("expected exactly 6 distinct policies after recovery, found {names:?}"),
    )?;
    let state = h.state_json().await?;
    let tracked: BTreeSet<String> = (0..6)
        .map(|i| state.attr(&format!("cfaccess_linked_app_policy.p[{i}]"), "id"))
        .collect::<Result<_, _>>()?;
    let (_, ours) = our_objects(&h);
    h.check(
        tracked == ours,
        format!("state {tracked:?} and emulator {ours:?} disagree"),
    )?;
    h.destroy_and_pass().await
}
