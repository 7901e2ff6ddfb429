//! Handler-level tests of `cfaccess_linked_app_policy` against the emulator: each
//! "terraform command" gets a freshly configured provider (as Terraform starts one
//! process per walk), plans run the framework's generic planning then `modify_plan`,
//! and every apply is checked for consistency with its plan.

use std::collections::BTreeSet;
use std::sync::Arc;

use cfaccess_emulator::{DEFAULT_ACCOUNT_ID, Emulator, Fault, FaultKind, Seed, demo_ids};
use serde_json::json;

use super::*;
use crate::resources::test_harness::{
    self as harness, Planned, TOKEN, Workflow, assert_consistent, ctx,
};
use crate::tfplugin::Number;
use crate::tfplugin::plan::fill_nulls;
use crate::tfplugin::validate::validate_config;

const ACC: &str = DEFAULT_ACCOUNT_ID;
const API: &str = demo_ids::INTERNAL_API_APP;
const WIKI: &str = demo_ids::COMPANY_WIKI_APP;
const API_EMPLOYEES: &str = demo_ids::INTERNAL_API_EMPLOYEES_POLICY;
const WIKI_EMPLOYEES: &str = demo_ids::COMPANY_WIKI_EMPLOYEES_POLICY;
/// Self-hosted MCP server app.
const MCP: &str = "6cdc3892-f9f1-4813-a5ce-38c2753e1208";
/// SaaS (OIDC) MCP server app.
const MCP_SAAS: &str = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d";
/// A third self-hosted downstream app, sorting between API and WIKI.
const DOCS: &str = "7d0c5e2a-1b3c-4d5e-8f90-a1b2c3d4e5f6";
/// An SSH app (not a valid target nor linked app).
const SSH: &str = "8b2e3d4c-5f60-4b7c-9d8e-0f1a2b3c4d06";
const MISSING: &str = "0f0e0d0c-0b0a-4909-8807-060504030201";

fn seed() -> Seed {
    let mut seed = Seed::downstream_demo();
    seed.apps.extend([
        json!({"id": MCP, "type": "self_hosted", "name": "MCP server", "domain": "mcp.internal.example.com"}),
        json!({"id": MCP_SAAS, "type": "saas", "name": "MCP server (SaaS)", "saas_app": {
            "auth_type": "oidc", "redirect_uris": ["https://mcp.example.com/callback"],
            "grant_types": ["authorization_code"], "scopes": ["openid", "email"]}}),
        json!({"id": DOCS, "type": "self_hosted", "name": "Docs", "domain": "docs.internal.example.com"}),
        json!({"id": SSH, "type": "ssh", "name": "Bastion", "domain": "ssh.internal.example.com"}),
    ]);
    seed
}

/// One emulator and Terraform's walks over the resource (the shared harness).
struct World {
    emu: Emulator,
    flow: Workflow,
}

impl World {
    async fn new() -> World {
        let emu = harness::emulator(seed()).await;
        let flow = Workflow::new(TYPE_NAME, schema(), emu.base_url());
        World { emu, flow }
    }

    /// A freshly configured provider's resource: one "terraform process".
    async fn resource(&self) -> Arc<dyn Resource> {
        self.flow.resource().await
    }

    /// Like [`World::resource`], talking to the API at `base_url` (a proxy in front
    /// of the emulator).
    async fn resource_at(&self, base_url: &str) -> Arc<dyn Resource> {
        self.flow.resource_at(base_url).await
    }

    /// Terraform's plan walk: refresh `state`, then plan `config` against it.
    async fn plan(&self, state: Option<&Value>, config: &Value) -> Planned {
        self.flow.plan(state, config).await
    }

    /// `terraform apply`; see [`Workflow::apply`].
    async fn apply(&self, state: Option<&Value>, config: &Value) -> (Option<Value>, Diagnostics) {
        self.flow.apply(state, config).await
    }

    /// Apply that must succeed, followed by a plan that must be empty.
    async fn converge(&self, state: Option<&Value>, config: &Value) -> Value {
        self.flow.converge(state, config).await
    }

    async fn destroy(&self, state: &Value) -> Diagnostics {
        self.flow.destroy(state).await
    }

    fn attachments(&self, app: &str) -> Vec<(String, u64)> {
        let app = self.emu.app(ACC, app).expect("app exists");
        app["policies"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .map(|p| {
                        (
                            p["id"].as_str().unwrap_or_default().to_string(),
                            p["precedence"].as_u64().unwrap_or(0),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn our_policies(&self) -> Vec<serde_json::Value> {
        self.emu
            .policies(ACC)
            .into_iter()
            .filter(|p| {
                let id = p["id"].as_str().unwrap_or_default();
                id != API_EMPLOYEES && id != WIKI_EMPLOYEES
            })
            .collect()
    }

    fn writes(&self) -> Vec<String> {
        harness::writes(&self.emu)
    }

    async fn edge(&self, login_app: &str, target_app: &str, bearer: bool) -> u16 {
        let http = reqwest::Client::new();
        let login: serde_json::Value = http
            .post(format!("{}/edge/login", self.emu.admin_url()))
            .bearer_auth(TOKEN)
            .json(&json!({"app_id": login_app, "email": "alice@example.com"}))
            .send()
            .await
            .expect("login")
            .json()
            .await
            .expect("login json");
        let token = login["token"].as_str().expect("token").to_string();
        let req = http.get(format!("{}/edge/{target_app}", self.emu.admin_url()));
        let req = if bearer {
            req.header("Authorization", format!("Bearer {token}"))
        } else {
            req.header("Cf-Access-Token", token)
        };
        req.send().await.expect("edge").status().as_u16()
    }
}

fn config(name: &str, linked: &[&str], targets: Option<&[&str]>, extra: &[(&str, Value)]) -> Value {
    let mut partial = Value::object([
        (attr::NAME, Value::string(name)),
        (
            attr::LINKED_APP_UIDS,
            Value::string_set(linked.iter().copied()),
        ),
        (
            attr::TARGET_APP_IDS,
            targets.map_or(Value::Null, |t| Value::string_set(t.iter().copied())),
        ),
    ]);
    for (k, v) in extra {
        partial.set(k, v.clone());
    }
    fill_nulls(&schema(), &partial)
}

fn strings(v: &Value, name: &str) -> BTreeSet<String> {
    v.get(name)
        .map(Value::known_strings)
        .unwrap_or_default()
        .into_iter()
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn id_of(state: &Value) -> String {
    state
        .get(attr::ID)
        .and_then(Value::as_str)
        .expect("id")
        .to_string()
}

#[tokio::test]
async fn create_attaches_after_existing_policies_and_replans_empty() {
    let w = World::new().await;
    let cfg = config("mcp to api+wiki", &[MCP], Some(&[API, WIKI]), &[]);
    let state = w.converge(None, &cfg).await;
    let id = id_of(&state);

    assert_eq!(
        state.get(attr::DECISION),
        Some(&Value::string(NON_IDENTITY))
    );
    assert_eq!(state.get(attr::ACCOUNT_ID), Some(&Value::string(ACC)));
    assert_eq!(state.get(attr::APP_COUNT), Some(&Value::int(2)));
    assert_eq!(state.get(attr::SESSION_DURATION), Some(&Value::Null));
    // Omitted in the configuration: the position it landed on, shared by both
    // targets (after their own policy).
    assert_eq!(state.get(attr::PRECEDENCE), Some(&Value::int(2)));

    let policy = w.emu.policy(ACC, &id).expect("policy exists");
    assert_eq!(policy["decision"], json!("non_identity"));
    assert_eq!(
        policy["include"],
        json!([{"linked_app_token": {"app_uid": MCP}}])
    );
    assert!(
        policy.get("session_duration").is_none(),
        "no session_duration invented: {policy}"
    );
    let post = w
        .emu
        .request_log()
        .into_iter()
        .find(|r| r.method == "POST" && r.path.ends_with("/access/policies"))
        .expect("policy POST");
    assert!(
        post.body
            .as_ref()
            .is_some_and(|b| b.get("session_duration").is_none())
    );

    assert_eq!(
        w.attachments(API),
        vec![(API_EMPLOYEES.to_string(), 1), (id.clone(), 2)]
    );
    assert_eq!(
        w.attachments(WIKI),
        vec![(WIKI_EMPLOYEES.to_string(), 1), (id.clone(), 2)]
    );
    assert_eq!(w.our_policies().len(), 1);

    assert!(w.destroy(&state).await.is_empty());
    assert!(w.our_policies().is_empty());
    assert_eq!(w.attachments(API), vec![(API_EMPLOYEES.to_string(), 1)]);
    assert_eq!(w.attachments(WIKI), vec![(WIKI_EMPLOYEES.to_string(), 1)]);
}

#[tokio::test]
async fn plan_time_errors_name_the_attribute_and_write_nothing() {
    let w = World::new().await;
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            config("p", &[MCP], Some(&[MISSING]), &[]),
            attr::TARGET_APP_IDS,
            "not found",
        ),
        (
            config("p", &[MCP], Some(&[MCP_SAAS]), &[]),
            attr::TARGET_APP_IDS,
            "can only be attached to self-hosted",
        ),
        (
            config("p", &[MCP], Some(&[API, SSH]), &[]),
            attr::TARGET_APP_IDS,
            "\"ssh\"",
        ),
        (
            config("p", &[MISSING], Some(&[API]), &[]),
            attr::LINKED_APP_UIDS,
            "not found",
        ),
        (
            config("p", &[SSH], Some(&[API]), &[]),
            attr::LINKED_APP_UIDS,
            "\"ssh\"",
        ),
        (
            config(
                "p",
                &[MCP],
                Some(&[API, WIKI]),
                &[(attr::PRECEDENCE, Value::int(1))],
            ),
            attr::PRECEDENCE,
            "already used by policy \"Employees\"",
        ),
    ];
    for (cfg, path, needle) in cases {
        let p = w.plan(None, &cfg).await;
        let hit = p.diags.iter().find(|d| {
            d.attribute == Some(AttributePath::root(path))
                && format!("{}: {}", d.summary, d.detail).contains(needle)
        });
        assert!(
            hit.is_some(),
            "expected an error at {path} containing {needle:?}, got {:?}",
            p.diags
        );
    }
    // Validate-time mistakes, no API at all.
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            config(
                "p",
                &[MCP],
                None,
                &[(attr::DECISION, Value::string("allow"))],
            ),
            attr::DECISION,
            "Service Auth",
        ),
        (
            config("p", &[MCP], Some(&[MCP]), &[]),
            attr::TARGET_APP_IDS,
            "both",
        ),
        (
            config("p", &["mcp"], None, &[]),
            attr::LINKED_APP_UIDS,
            "UUID",
        ),
        (
            config("p", &[], None, &[]),
            attr::LINKED_APP_UIDS,
            "at least 1",
        ),
        (
            config(
                "p",
                &[MCP],
                None,
                &[(attr::SESSION_DURATION, Value::string("1 day"))],
            ),
            attr::SESSION_DURATION,
            "duration",
        ),
        (
            config(
                "p",
                &[MCP],
                None,
                &[(
                    attr::PRECEDENCE,
                    Value::Number(Number::parse("1.5").unwrap()),
                )],
            ),
            attr::PRECEDENCE,
            "whole number",
        ),
        (
            config("p", &[MCP], None, &[(attr::PRECEDENCE, Value::int(0))]),
            attr::PRECEDENCE,
            "at least 1",
        ),
        (
            config("p", &[MCP], None, &[(attr::ACCOUNT_ID, Value::string("x"))]),
            attr::ACCOUNT_ID,
            "32 hexadecimal",
        ),
    ];
    for (cfg, path, needle) in cases {
        let mut diags = validate_config(&schema(), &cfg);
        w.resource().await.validate(&ctx(), &cfg, &mut diags).await;
        let hit = diags.iter().find(|d| {
            d.attribute == Some(AttributePath::root(path))
                && format!("{}: {}", d.summary, d.detail).contains(needle)
        });
        assert!(
            hit.is_some(),
            "expected a validate error at {path} containing {needle:?}, got {diags:?}"
        );
    }
    assert_eq!(w.writes(), Vec::<String>::new());
}

#[tokio::test]
async fn unknown_values_at_plan_time_are_checked_before_the_first_write() {
    let w = World::new().await;
    // The target comes from a resource not created yet: unknown at plan time.
    let mut cfg = config("p", &[MCP], None, &[]);
    cfg.set(attr::TARGET_APP_IDS, Value::Set(vec![Value::Unknown]));
    let p = w.plan(None, &cfg).await;
    assert!(!p.diags.has_errors(), "{:?}", p.diags);
    // At apply it turns out to be a SaaS app: refused before anything is written.
    let known = config("p", &[MCP], Some(&[MCP_SAAS]), &[]);
    let mut planned = p.planned.clone();
    planned.set(
        attr::TARGET_APP_IDS,
        known
            .get(attr::TARGET_APP_IDS)
            .cloned()
            .unwrap_or(Value::Null),
    );
    let result = w
        .resource()
        .await
        .create(&ctx(), &known, &planned, &[])
        .await;
    assert!(result.diagnostics.has_errors());
    assert!(result.new_state.is_none());
    assert!(
        result
            .diagnostics
            .iter()
            .any(|d| d.detail.contains("self-hosted"))
    );
    assert_eq!(w.writes(), Vec::<String>::new());
}

#[tokio::test]
async fn failed_second_attach_keeps_what_exists_and_the_next_apply_finishes() {
    let w = World::new().await;
    let cfg = config("three targets", &[MCP], Some(&[API, DOCS, WIKI]), &[]);
    // The three attaches go out at once; the one to DOCS (the middle one in id
    // order) is refused, the other two stand.
    w.emu.add_fault(Fault {
        method: Some("PUT".into()),
        path: format!("/accounts/*/access/apps/{DOCS}"),
        kind: FaultKind::Status(400),
        count: 1,
    });
    let (state, diags) = w.apply(None, &cfg).await;
    let state = state.expect("partial state is returned");
    let id = id_of(&state);
    assert!(diags.has_errors());
    let err = diags
        .iter()
        .find(|d| d.detail.contains("\"Docs\""))
        .expect("error names the app");
    assert_eq!(
        err.attribute,
        Some(AttributePath::root(attr::TARGET_APP_IDS))
    );
    assert_eq!(strings(&state, attr::TARGET_APP_IDS), set(&[API, WIKI]));
    assert_eq!(w.our_policies().len(), 1);
    assert!(w.attachments(DOCS).is_empty());

    // The next apply plans an update (not a second policy) and attaches the rest.
    let p = w.plan(Some(&state), &cfg).await;
    assert!(p.has_changes());
    assert_eq!(p.planned.get(attr::ID), Some(&Value::string(id.clone())));
    let state = w.converge(Some(&state), &cfg).await;
    assert_eq!(id_of(&state), id);
    assert_eq!(w.our_policies().len(), 1);
    assert_eq!(w.attachments(DOCS), vec![(id.clone(), 1)]);
    assert_eq!(
        w.attachments(API),
        vec![(API_EMPLOYEES.to_string(), 1), (id.clone(), 2)]
    );
    assert_eq!(
        w.attachments(WIKI),
        vec![(WIKI_EMPLOYEES.to_string(), 1), (id, 2)]
    );
}

#[tokio::test]
async fn twenty_policies_on_one_app_in_parallel_leave_the_existing_one_alone() {
    let w = World::new().await;
    let before = w.attachments(API);
    let r = w.resource().await;
    let mut planned_all = Vec::new();
    for i in 0..20 {
        let cfg = config(&format!("parallel {i:02}"), &[MCP], Some(&[API]), &[]);
        let p = w.plan(None, &cfg).await;
        assert!(!p.diags.has_errors(), "{:?}", p.diags);
        planned_all.push((cfg, p.planned));
    }
    let c = ctx();
    let results = futures::future::join_all(
        planned_all
            .iter()
            .map(|(cfg, planned)| r.create(&c, cfg, planned, &[])),
    )
    .await;
    let mut ids = BTreeSet::new();
    for (res, (_, planned)) in results.iter().zip(&planned_all) {
        assert!(!res.diagnostics.has_errors(), "{:?}", res.diagnostics);
        let s = res.new_state.as_ref().expect("state");
        assert_consistent(planned, s);
        ids.insert(id_of(s));
    }
    assert_eq!(ids.len(), 20);
    let after = w.attachments(API);
    assert_eq!(
        after[0], before[0],
        "the pre-existing policy keeps its id and precedence"
    );
    assert_eq!(after.len(), 21);
    let attached: BTreeSet<String> = after[1..].iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(attached, ids);
    let precedences: BTreeSet<u64> = after.iter().map(|(_, p)| *p).collect();
    assert_eq!(precedences.len(), 21, "precedences are unique: {after:?}");
    assert_eq!(w.attachments(WIKI), vec![(WIKI_EMPLOYEES.to_string(), 1)]);
}

#[tokio::test]
async fn update_changes_only_the_difference() {
    let w = World::new().await;
    let state = w
        .converge(None, &config("p", &[MCP], Some(&[API, WIKI]), &[]))
        .await;
    let id = id_of(&state);
    w.emu.clear_request_log();

    // Drop WIKI, add DOCS, rename, add a linked app, set a session duration.
    let cfg = config(
        "renamed",
        &[MCP, MCP_SAAS],
        Some(&[API, DOCS]),
        &[(attr::SESSION_DURATION, Value::string("12h"))],
    );
    let p = w.plan(Some(&state), &cfg).await;
    assert!(
        p.planned
            .get(attr::APP_COUNT)
            .is_some_and(Value::is_unknown)
    );
    let state = w.converge(Some(&state), &cfg).await;
    assert_eq!(id_of(&state), id);
    let policy = w.emu.policy(ACC, &id).expect("policy");
    assert_eq!(policy["name"], json!("renamed"));
    assert_eq!(policy["session_duration"], json!("12h"));
    let mut uids: Vec<&str> = policy["include"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["linked_app_token"]["app_uid"].as_str().unwrap())
        .collect();
    uids.sort();
    assert_eq!(uids, vec![MCP_SAAS, MCP]);
    assert_eq!(
        w.attachments(API),
        vec![(API_EMPLOYEES.to_string(), 1), (id.clone(), 2)]
    );
    assert_eq!(w.attachments(WIKI), vec![(WIKI_EMPLOYEES.to_string(), 1)]);
    assert_eq!(w.attachments(DOCS), vec![(id.clone(), 1)]);
    // API was neither read-modified nor written: only WIKI and DOCS changed.
    let app_puts: Vec<String> = w
        .writes()
        .into_iter()
        .filter(|l| l.starts_with("PUT") && l.contains("/apps/"))
        .collect();
    assert_eq!(app_puts.len(), 2, "{app_puts:?}");
    assert!(!app_puts.iter().any(|l| l.ends_with(API)));

    // A precedence change moves our policy on every target and nothing else.
    let cfg = config(
        "renamed",
        &[MCP, MCP_SAAS],
        Some(&[API, DOCS]),
        &[
            (attr::SESSION_DURATION, Value::string("12h")),
            (attr::PRECEDENCE, Value::int(7)),
        ],
    );
    let p = w.plan(Some(&state), &cfg).await;
    assert_eq!(
        p.planned.get(attr::APP_COUNT),
        state.get(attr::APP_COUNT),
        "app_count kept: targets unchanged"
    );
    let state = w.converge(Some(&state), &cfg).await;
    assert_eq!(
        w.attachments(API),
        vec![(API_EMPLOYEES.to_string(), 1), (id.clone(), 7)]
    );
    assert_eq!(w.attachments(DOCS), vec![(id.clone(), 7)]);

    // Clearing session_duration omits it from the PUT (the API then has none).
    let cfg = config(
        "renamed",
        &[MCP, MCP_SAAS],
        Some(&[API, DOCS]),
        &[(attr::PRECEDENCE, Value::int(7))],
    );
    let state = w.converge(Some(&state), &cfg).await;
    assert!(
        w.emu
            .policy(ACC, &id)
            .expect("policy")
            .get("session_duration")
            .is_none()
    );
    assert!(w.destroy(&state).await.is_empty());
}

#[tokio::test]
async fn every_drift_shows_in_plan_and_apply_repairs_it() {
    let w = World::new().await;
    let cfg = config(
        "drift",
        &[MCP],
        Some(&[API, WIKI]),
        &[(attr::SESSION_DURATION, Value::string("24h"))],
    );
    let mut state = w.converge(None, &cfg).await;
    let id = id_of(&state);
    let expected_include = json!([{"linked_app_token": {"app_uid": MCP}}]);

    type Mutation = Box<dyn Fn(&World, &str)>;
    let drifts: Vec<(&str, Mutation)> = vec![
        (
            "decision changed",
            Box::new(|w, id| {
                assert!(
                    w.emu
                        .mutate_policy(ACC, id, |p| p["decision"] = json!("allow"))
                );
            }),
        ),
        (
            "linked app changed",
            Box::new(|w, id| {
                assert!(w.emu.mutate_policy(ACC, id, |p| {
                    p["include"] = json!([{"linked_app_token": {"app_uid": MCP_SAAS}}]);
                }));
            }),
        ),
        (
            "rule added",
            Box::new(|w, id| {
                assert!(w.emu.mutate_policy(ACC, id, |p| {
                    p["include"]
                        .as_array_mut()
                        .unwrap()
                        .push(json!({"everyone": {}}));
                }));
            }),
        ),
        (
            "exclude rule added",
            Box::new(|w, id| {
                assert!(w.emu.mutate_policy(ACC, id, |p| p["exclude"] =
                    json!([{"ip": {"ip": "10.0.0.0/8"}}])));
            }),
        ),
        (
            "session_duration changed",
            Box::new(|w, id| {
                assert!(
                    w.emu
                        .mutate_policy(ACC, id, |p| p["session_duration"] = json!("12h"))
                );
            }),
        ),
        (
            "detached from a target",
            Box::new(|w, _| {
                assert!(w.emu.set_attachments_out_of_band(
                    ACC,
                    WIKI,
                    vec![(WIKI_EMPLOYEES.to_string(), 1)]
                ));
            }),
        ),
        (
            "attached to an extra app",
            Box::new(|w, id| {
                assert!(
                    w.emu
                        .set_attachments_out_of_band(ACC, DOCS, vec![(id.to_string(), 3)])
                );
            }),
        ),
    ];
    for (what, mutate) in drifts {
        mutate(&w, &id);
        let p = w.plan(Some(&state), &cfg).await;
        assert!(!p.diags.has_errors(), "{what}: {:?}", p.diags);
        assert!(
            p.has_changes(),
            "{what}: drift not shown\nprior   {:?}\nplanned {:?}",
            p.prior,
            p.planned
        );
        state = w.converge(Some(&state), &cfg).await;
        assert_eq!(id_of(&state), id, "{what}: repaired in place");
        let policy = w.emu.policy(ACC, &id).expect("policy");
        assert_eq!(policy["decision"], json!("non_identity"), "{what}");
        assert_eq!(policy["include"], expected_include, "{what}");
        assert_eq!(policy["exclude"], json!([]), "{what}");
        assert_eq!(policy["session_duration"], json!("24h"), "{what}");
        assert_eq!(
            w.attachments(API),
            vec![(API_EMPLOYEES.to_string(), 1), (id.clone(), 2)],
            "{what}"
        );
        assert_eq!(
            w.attachments(WIKI)[0],
            (WIKI_EMPLOYEES.to_string(), 1),
            "{what}"
        );
        assert!(w.attachments(WIKI).iter().any(|(p, _)| p == &id), "{what}");
        assert!(w.attachments(DOCS).is_empty(), "{what}");
    }

    // The policy deleted in the dashboard: refresh drops it, the plan re-creates it.
    assert!(w.emu.delete_policy_out_of_band(ACC, &id));
    let p = w.plan(Some(&state), &cfg).await;
    assert!(p.prior.is_null(), "a deleted policy leaves the state");
    let mut state = w.converge(None, &cfg).await;
    let new_id = id_of(&state);
    assert_ne!(new_id, id);
    assert_eq!(w.our_policies().len(), 1);

    // A target app deleted in the dashboard: the plan shows the attachment as gone
    // and names the app in a warning (an error would block the plan Terraform runs
    // before a destroy); the apply stops with an error before any write.
    assert!(w.emu.delete_app_out_of_band(ACC, WIKI));
    for _ in 0..2 {
        let p = w.plan(Some(&state), &cfg).await;
        assert_eq!(strings(&p.prior, attr::TARGET_APP_IDS), set(&[API]));
        assert_eq!(strings(&p.planned, attr::TARGET_APP_IDS), set(&[API, WIKI]));
        assert!(p.has_changes());
        assert!(!p.diags.has_errors(), "{:?}", p.diags);
        let warning = p
            .diags
            .iter()
            .find(|d| d.detail.contains(WIKI))
            .expect("a warning names the deleted app");
        assert_eq!(warning.severity, crate::tfplugin::Severity::Warning);
        assert_eq!(
            warning.attribute,
            Some(AttributePath::root(attr::TARGET_APP_IDS))
        );
        assert!(
            warning.summary.contains("not found") && warning.detail.contains("deleted outside"),
            "{warning:?}"
        );
        w.emu.clear_request_log();
        let (after, diags) = w.apply(Some(&state), &cfg).await;
        let err = diags
            .iter()
            .find(|d| d.detail.contains(WIKI))
            .expect("apply names the deleted app");
        assert_eq!(err.severity, crate::tfplugin::Severity::Error);
        assert_eq!(w.writes(), Vec::<String>::new(), "refused before any write");
        // Terraform keeps what the failed apply returned; the next plan is the same.
        state = after.expect("state kept");
    }
    // A target that never was one is still an error at plan time.
    let typo = config("drift", &[MCP], Some(&[API, MISSING]), &[]);
    let p = w.plan(Some(&state), &typo).await;
    assert!(p.diags.has_errors(), "{:?}", p.diags);
    // Destroy needs nothing from the configuration.
    assert!(w.destroy(&state).await.is_empty());
    assert!(w.our_policies().is_empty());
    assert_eq!(w.attachments(API), vec![(API_EMPLOYEES.to_string(), 1)]);
}

#[tokio::test]
async fn a_configured_precedence_is_read_back_and_a_move_is_drift() {
    let w = World::new().await;
    let cfg = config(
        "pinned",
        &[MCP],
        Some(&[API, WIKI]),
        &[(attr::PRECEDENCE, Value::int(3))],
    );
    let state = w.converge(None, &cfg).await;
    let id = id_of(&state);
    assert_eq!(state.get(attr::PRECEDENCE), Some(&Value::int(3)));

    // Moved on one target: the targets disagree, read null, the plan moves it back
    // there and writes nothing else.
    assert!(w.emu.set_attachments_out_of_band(
        ACC,
        WIKI,
        vec![(WIKI_EMPLOYEES.to_string(), 1), (id.clone(), 5)]
    ));
    let p = w.plan(Some(&state), &cfg).await;
    assert_eq!(p.prior.get(attr::PRECEDENCE), Some(&Value::Null));
    assert_eq!(p.planned.get(attr::PRECEDENCE), Some(&Value::int(3)));
    w.emu.clear_request_log();
    let state = w.converge(Some(&state), &cfg).await;
    assert_eq!(
        w.attachments(WIKI),
        vec![(WIKI_EMPLOYEES.to_string(), 1), (id.clone(), 3)]
    );
    assert_eq!(
        w.attachments(API),
        vec![(API_EMPLOYEES.to_string(), 1), (id.clone(), 3)]
    );
    let app_puts: Vec<String> = w
        .writes()
        .into_iter()
        .filter(|l| l.starts_with("PUT"))
        .collect();
    assert_eq!(app_puts.len(), 1, "only WIKI is written: {app_puts:?}");

    // Moved on both: read as the new common value, repaired the same way.
    for app in [(API, API_EMPLOYEES), (WIKI, WIKI_EMPLOYEES)] {
        assert!(w.emu.set_attachments_out_of_band(
            ACC,
            app.0,
            vec![(app.1.to_string(), 1), (id.clone(), 6)]
        ));
    }
    let p = w.plan(Some(&state), &cfg).await;
    assert_eq!(p.prior.get(attr::PRECEDENCE), Some(&Value::int(6)));
    let state = w.converge(Some(&state), &cfg).await;
    assert_eq!(w.attachments(API)[1], (id.clone(), 3));

    // Its slot taken by another policy while it was moved: a warning at plan (what
    // Terraform recorded moved, the configuration did not), an error at apply with
    // nothing written.
    assert!(w.emu.set_attachments_out_of_band(
        ACC,
        API,
        vec![(API_EMPLOYEES.to_string(), 3), (id.clone(), 4)]
    ));
    let p = w.plan(Some(&state), &cfg).await;
    assert!(!p.diags.has_errors(), "{:?}", p.diags);
    assert!(
        p.diags.iter().any(
            |d| d.attribute == Some(AttributePath::root(attr::PRECEDENCE))
                && d.detail.contains("already used by policy")
        ),
        "{:?}",
        p.diags
    );
    w.emu.clear_request_log();
    let (state, diags) = w.apply(Some(&state), &cfg).await;
    assert!(diags.has_errors());
    assert_eq!(w.writes(), Vec::<String>::new());
    // Asking for that taken slot anew is an error at plan time.
    let taken = config(
        "pinned",
        &[MCP],
        Some(&[API, WIKI]),
        &[(attr::PRECEDENCE, Value::int(1))],
    );
    assert!(w.plan(state.as_ref(), &taken).await.diags.has_errors());
    assert!(w.destroy(&state.expect("state")).await.is_empty());
    assert_eq!(w.attachments(API), vec![(API_EMPLOYEES.to_string(), 3)]);
}

#[tokio::test]
async fn an_omitted_precedence_is_the_providers_choice_and_never_drift() {
    let w = World::new().await;
    let cfg = config("free", &[MCP], Some(&[API, WIKI]), &[]);
    let state = w.converge(None, &cfg).await;
    let id = id_of(&state);
    assert_eq!(state.get(attr::PRECEDENCE), Some(&Value::int(2)));
    // Moved out of band: the refresh reads the new place, the plan is empty.
    assert!(w.emu.set_attachments_out_of_band(
        ACC,
        WIKI,
        vec![(WIKI_EMPLOYEES.to_string(), 1), (id.clone(), 4)]
    ));
    let p = w.plan(Some(&state), &cfg).await;
    assert_eq!(p.prior.get(attr::PRECEDENCE), Some(&Value::Null));
    assert!(!p.has_changes());
    let state = p.prior;
    // A new target: known after apply, and what a refresh reads.
    let cfg = config("free", &[MCP], Some(&[API, WIKI, DOCS]), &[]);
    let p = w.plan(Some(&state), &cfg).await;
    assert_eq!(p.planned.get(attr::PRECEDENCE), Some(&Value::Unknown));
    let state = w.converge(Some(&state), &cfg).await;
    assert_eq!(state.get(attr::PRECEDENCE), Some(&Value::Null));
    assert_eq!(w.attachments(DOCS), vec![(id.clone(), 1)]);
    assert_eq!(w.attachments(WIKI)[1], (id.clone(), 4), "not moved back");
    // Back to one target: the remaining position is common again.
    let cfg = config("free", &[MCP], Some(&[DOCS]), &[]);
    let state = w.converge(Some(&state), &cfg).await;
    assert_eq!(state.get(attr::PRECEDENCE), Some(&Value::int(1)));
    // Setting it to where it is writes nothing; a config that drops it again plans
    // nothing either.
    let pinned = config(
        "free",
        &[MCP],
        Some(&[DOCS]),
        &[(attr::PRECEDENCE, Value::int(1))],
    );
    let p = w.plan(Some(&state), &pinned).await;
    assert!(!p.has_changes());
    assert!(w.destroy(&state).await.is_empty());
}

#[tokio::test]
async fn unmanaged_attachments_are_left_alone() {
    let w = World::new().await;
    let cfg = config("unmanaged", &[MCP], None, &[]);
    let state = w.converge(None, &cfg).await;
    let id = id_of(&state);
    assert_eq!(state.get(attr::TARGET_APP_IDS), Some(&Value::Null));
    assert!(
        w.emu
            .set_attachments_out_of_band(ACC, DOCS, vec![(id.clone(), 1)])
    );
    let p = w.plan(Some(&state), &cfg).await;
    assert!(
        !p.has_changes(),
        "attachments made elsewhere are not drift when target_app_ids is omitted"
    );
    assert_eq!(p.prior.get(attr::APP_COUNT), Some(&Value::int(1)));
    // Delete still detaches it first.
    assert!(w.destroy(&p.prior).await.is_empty());
    assert!(w.attachments(DOCS).is_empty());
    assert!(w.our_policies().is_empty());
}

#[tokio::test]
async fn delete_detaches_out_of_band_attachments_and_tolerates_a_gone_policy() {
    let w = World::new().await;
    let state = w
        .converge(None, &config("p", &[MCP], Some(&[API]), &[]))
        .await;
    let id = id_of(&state);
    // Attached out of band to DOCS (after Terraform last read it) and to WIKI.
    assert!(
        w.emu
            .set_attachments_out_of_band(ACC, DOCS, vec![(id.clone(), 4)])
    );
    assert!(w.emu.set_attachments_out_of_band(
        ACC,
        WIKI,
        vec![(WIKI_EMPLOYEES.to_string(), 1), (id.clone(), 2)]
    ));
    let diags = w.destroy(&state).await;
    assert!(diags.is_empty(), "{diags:?}");
    assert!(w.our_policies().is_empty());
    assert!(w.attachments(DOCS).is_empty());
    assert_eq!(w.attachments(WIKI), vec![(WIKI_EMPLOYEES.to_string(), 1)]);
    assert_eq!(w.attachments(API), vec![(API_EMPLOYEES.to_string(), 1)]);
    // Deleting again (already gone) is success.
    assert!(w.destroy(&state).await.is_empty());
}

#[tokio::test]
async fn import_equals_create_and_refuses_foreign_policies() {
    let w = World::new().await;
    for cfg in [
        config(
            "imp",
            &[MCP, MCP_SAAS],
            Some(&[API, WIKI]),
            &[(attr::SESSION_DURATION, Value::string("12h"))],
        ),
        config("imp-unattached", &[MCP], None, &[]),
        config(
            "imp-pinned",
            &[MCP],
            Some(&[API, WIKI]),
            &[(attr::PRECEDENCE, Value::int(4))],
        ),
    ] {
        let created = w.converge(None, &cfg).await;
        let id = id_of(&created);
        for import_id in [id.clone(), format!("{ACC}/{id}")] {
            let imported = w.flow.import(&import_id).await.expect("import");
            assert!(
                imported.semantically_equal(&created),
                "import != create\nimport {imported:?}\ncreate {created:?}"
            );
            let p = w.plan(Some(&imported), &cfg).await;
            assert!(!p.has_changes());
            // The same object under a configuration without precedence: the
            // provider's choice, so nothing to plan either.
            let mut unpinned = cfg.clone();
            unpinned.set(attr::PRECEDENCE, Value::Null);
            let p = w.plan(Some(&imported), &unpinned).await;
            assert!(!p.has_changes(), "{:?}\n{:?}", p.prior, p.planned);
        }
    }

    // #7129: a non_identity policy without session_duration imports with none, and a
    // config without it plans nothing.
    let client_policy = w.resource().await;
    let _ = client_policy;
    let made = reqwest::Client::new()
        .post(format!(
            "{}/accounts/{ACC}/access/policies",
            w.emu.base_url()
        ))
        .bearer_auth(TOKEN)
        .json(
            &json!({"name": "made in the dashboard", "decision": "non_identity",
                      "include": [{"linked_app_token": {"app_uid": MCP}}]}),
        )
        .send()
        .await
        .expect("create");
    let made: serde_json::Value = made.json().await.expect("json");
    let made_id = made["result"]["id"].as_str().expect("id").to_string();
    let imported = w.flow.import(&made_id).await.expect("import");
    assert_eq!(imported.get(attr::SESSION_DURATION), Some(&Value::Null));
    let p = w
        .plan(
            Some(&imported),
            &config("made in the dashboard", &[MCP], None, &[]),
        )
        .await;
    assert!(
        !p.has_changes(),
        "prior {:?}\nplanned {:?}",
        p.prior,
        p.planned
    );

    // Refusals.
    let r = w.resource().await;
    let refused = r.import(&ctx(), API_EMPLOYEES).await;
    let d = refused.diagnostics.iter().next().expect("refused");
    assert!(
        d.detail.contains("\"allow\"") && d.detail.contains("non_identity"),
        "{d:?}"
    );
    assert!(w.emu.mutate_policy(ACC, &made_id, |p| {
        p["include"]
            .as_array_mut()
            .unwrap()
            .push(json!({"email_domain": {"domain": "example.com"}}));
    }));
    let r = w.resource().await;
    let refused = r.import(&ctx(), &made_id).await;
    let d = refused.diagnostics.iter().next().expect("refused");
    assert!(d.detail.contains("email_domain"), "{d:?}");
    // A Service Auth policy mixing a linked_app_token rule with another kind of rule
    // is general purpose (Policy::is_linked_app_token): refused, with the reason.
    assert!(w.emu.mutate_policy(ACC, &made_id, |p| {
        p["include"] =
            json!([{"linked_app_token": {"app_uid": MCP}}, {"any_valid_service_token": {}}]);
    }));
    let r = w.resource().await;
    let refused = r.import(&ctx(), &made_id).await;
    let d = refused.diagnostics.iter().next().expect("refused");
    assert!(d.detail.contains("any_valid_service_token"), "{d:?}");
    let refused = r.import(&ctx(), MISSING).await;
    assert!(
        refused
            .diagnostics
            .iter()
            .any(|d| d.summary.contains("not found"))
    );
    let refused = r.import(&ctx(), "not-an-id").await;
    assert!(refused.diagnostics.has_errors());
}

#[tokio::test]
async fn edge_accepts_the_mcp_token_only_where_the_policy_is_attached() {
    let w = World::new().await;
    // Self-hosted MCP server: Cf-Access-Token. SaaS MCP server: Authorization: Bearer.
    let cfg = config("edge", &[MCP, MCP_SAAS], Some(&[API, WIKI]), &[]);
    assert_eq!(w.edge(MCP, API, false).await, 403, "refused before apply");
    let state = w.converge(None, &cfg).await;
    for target in [API, WIKI] {
        assert_eq!(
            w.edge(MCP, target, false).await,
            200,
            "self-hosted MCP → {target}"
        );
        assert_eq!(
            w.edge(MCP_SAAS, target, true).await,
            200,
            "SaaS MCP → {target}"
        );
    }
    assert_eq!(w.edge(MCP, DOCS, false).await, 403, "no policy on DOCS");
    assert!(w.destroy(&state).await.is_empty());
    for target in [API, WIKI, DOCS] {
        assert_eq!(
            w.edge(MCP, target, false).await,
            403,
            "after destroy → {target}"
        );
        assert_eq!(
            w.edge(MCP_SAAS, target, true).await,
            403,
            "after destroy → {target}"
        );
    }
}

#[tokio::test]
async fn delete_tries_again_after_a_conflict_once_retries_are_spent() {
    let w = World::new().await;
    let state = w
        .converge(None, &config("p", &[MCP], Some(&[API]), &[]))
        .await;
    let id = id_of(&state);
    // max_retries = 1: the client's two attempts both get 409, as when someone attaches
    // the policy again between our detach and the DELETE.
    w.emu.add_fault(Fault {
        method: Some("DELETE".into()),
        path: format!("/accounts/*/access/policies/{id}"),
        kind: FaultKind::Status(409),
        count: 2,
    });
    let diags = w.destroy(&state).await;
    assert!(diags.is_empty(), "{diags:?}");
    assert!(w.our_policies().is_empty());
    let deletes = w
        .writes()
        .into_iter()
        .filter(|l| l.starts_with("DELETE"))
        .count();
    assert_eq!(deletes, 3, "two refused attempts, then a second round");
}

#[tokio::test]
async fn precedence_without_targets_is_a_warning() {
    let w = World::new().await;
    let cfg = config("p", &[MCP], None, &[(attr::PRECEDENCE, Value::int(3))]);
    let mut diags = validate_config(&schema(), &cfg);
    w.resource().await.validate(&ctx(), &cfg, &mut diags).await;
    assert!(!diags.has_errors());
    let warning = diags.iter().next().expect("a warning");
    assert_eq!(
        warning.attribute,
        Some(AttributePath::root(attr::PRECEDENCE))
    );
}

#[tokio::test]
async fn parallel_deletes_share_fresh_app_lists_and_still_find_out_of_band_attachments() {
    let w = World::new().await;
    let mut states = Vec::new();
    for i in 0..12 {
        let cfg = config(&format!("bulk {i:02}"), &[MCP], Some(&[API]), &[]);
        states.push(w.converge(None, &cfg).await);
    }
    // Attached to DOCS out of band after Terraform last read them: only a list sent
    // after the delete began can know.
    let out_of_band: Vec<(String, u32)> = states
        .iter()
        .enumerate()
        .map(|(i, s)| (id_of(s), i as u32 + 1))
        .collect();
    assert!(w.emu.set_attachments_out_of_band(ACC, DOCS, out_of_band));
    w.emu.clear_request_log();

    let r = w.resource().await;
    let c = ctx();
    let results = futures::future::join_all(states.iter().map(|s| r.delete(&c, s, &[]))).await;
    for diags in &results {
        assert!(diags.is_empty(), "{diags:?}");
    }
    assert!(w.our_policies().is_empty());
    assert!(w.attachments(DOCS).is_empty());
    assert_eq!(w.attachments(API), vec![(API_EMPLOYEES.to_string(), 1)]);
    let app_lists = w
        .emu
        .request_log()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/access/apps"))
        .count();
    assert!(
        (1..12).contains(&app_lists),
        "12 concurrent deletes sent {app_lists} application lists"
    );
}

/// A proxy in front of the emulator at `upstream` (its `base_url`) that forwards every
/// request and garbles the `include` of the policy in the answers to a policy create
/// and to a read of one policy by id: the create is committed, but neither its answer
/// nor the read after it decodes. Returns the proxy's base URL.
async fn garbling_policy_proxy(upstream: String) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("proxy binds");
    let base = format!("http://{}/client/v4", listener.local_addr().expect("addr"));
    let origin = upstream.trim_end_matches("/client/v4").to_string();
    let http = reqwest::Client::new();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (origin, http) = (origin.clone(), http.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                loop {
                    // One request: the head, then `content-length` bytes of body.
                    let head_end = loop {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        let mut chunk = [0u8; 4096];
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                    let mut lines = head.split("\r\n");
                    let mut request_line = lines.next().unwrap_or_default().split(' ');
                    let method = request_line.next().unwrap_or_default().to_string();
                    let path = request_line.next().unwrap_or_default().to_string();
                    let headers: Vec<(String, String)> = lines
                        .filter_map(|l| l.split_once(':'))
                        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                        .collect();
                    let header = |name: &str| {
                        headers
                            .iter()
                            .find(|(k, _)| k == name)
                            .map(|(_, v)| v.clone())
                    };
                    let length: usize = header("content-length")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    while buf.len() < head_end + length {
                        let mut chunk = [0u8; 4096];
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let body: Vec<u8> = buf.drain(..head_end + length).skip(head_end).collect();
                    let mut forward = http.request(
                        reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
                        format!("{origin}{path}"),
                    );
                    for name in ["authorization", "content-type"] {
                        if let Some(v) = header(name) {
                            forward = forward.header(name, v);
                        }
                    }
                    let Ok(answer) = forward.body(body).send().await else {
                        return;
                    };
                    let status = answer.status().as_u16();
                    let mut text = answer.text().await.unwrap_or_default();
                    let route = path.split('?').next().unwrap_or_default();
                    let policy_answer = (method == "POST" && route.ends_with("/access/policies"))
                        || (method == "GET"
                            && route
                                .rsplit_once("/access/policies/")
                                .is_some_and(|(_, id)| !id.contains('/')));
                    if policy_answer
                        && let Ok(mut envelope) = serde_json::from_str::<serde_json::Value>(&text)
                        && let Some(result) = envelope.get_mut("result")
                        && result.is_object()
                    {
                        result["include"] = json!("??");
                        text = envelope.to_string();
                    }
                    let reply = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{text}",
                        text.len()
                    );
                    if socket.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    base
}

#[tokio::test]
async fn a_create_whose_answer_does_not_decode_keeps_the_policy_as_partial_state() {
    let w = World::new().await;
    let cfg = config("undecodable", &[MCP], Some(&[API, WIKI]), &[]);
    let p = w.plan(None, &cfg).await;
    assert!(!p.diags.has_errors(), "{:?}", p.diags);
    let proxy = garbling_policy_proxy(w.emu.base_url()).await;
    let result = w
        .resource_at(&proxy)
        .await
        .create(&ctx(), &cfg, &p.planned, &p.private)
        .await;

    // The policy exists although neither the create's answer nor the read by id
    // decoded: its id is the partial state, so it is tracked and not orphaned.
    let made = w.our_policies();
    assert_eq!(made.len(), 1, "exactly one policy created: {made:?}");
    let made_id = made[0]["id"].as_str().expect("id").to_string();
    assert!(result.diagnostics.has_errors());
    let err = result
        .diagnostics
        .iter()
        .find(|d| d.detail.contains(&made_id))
        .unwrap_or_else(|| panic!("the error names the created id: {:?}", result.diagnostics));
    assert!(
        err.detail.contains("could not be decoded"),
        "{}",
        err.detail
    );
    let state = fill_nulls(&schema(), &result.new_state.expect("partial state"));
    assert_eq!(id_of(&state), made_id);
    assert_eq!(state.get(attr::NAME), Some(&Value::string("undecodable")));
    assert_eq!(state.get(attr::ACCOUNT_ID), Some(&Value::string(ACC)));
    assert_eq!(
        state.get(attr::DECISION),
        Some(&Value::string(NON_IDENTITY))
    );
    // Attached nowhere yet, and recorded so.
    assert_eq!(strings(&state, attr::TARGET_APP_IDS), set(&[]));
    assert_eq!(state.get(attr::APP_COUNT), Some(&Value::int(0)));
    assert_eq!(w.attachments(API), vec![(API_EMPLOYEES.to_string(), 1)]);
    assert_eq!(w.attachments(WIKI), vec![(WIKI_EMPLOYEES.to_string(), 1)]);
    assert!(
        w.writes().iter().all(|r| !r.starts_with("PUT")),
        "nothing attached after the failed create: {:?}",
        w.writes()
    );

    // Terraform keeps the object (tainted): the next apply destroys it and creates
    // the policy again. Nothing is left behind, and no second policy exists.
    assert!(w.destroy(&state).await.is_empty());
    assert!(w.our_policies().is_empty());
    let state = w.converge(None, &cfg).await;
    let now = w.our_policies();
    assert_eq!(now.len(), 1, "{now:?}");
    assert_ne!(id_of(&state), made_id);
    assert_eq!(
        w.attachments(API),
        vec![(API_EMPLOYEES.to_string(), 1), (id_of(&state), 2)]
    );
}

#[tokio::test]
async fn an_update_failing_on_one_target_records_what_the_others_did() {
    let w = World::new().await;
    let pinned = |p: i64, targets: &[&str]| {
        config(
            "moving",
            &[MCP],
            Some(targets),
            &[(attr::PRECEDENCE, Value::int(p))],
        )
    };
    let state = w.converge(None, &pinned(5, &[API, WIKI])).await;
    let id = id_of(&state);

    // One update: detach from API, move on WIKI, attach to DOCS, all sent at once;
    // the move on WIKI is refused.
    w.emu.add_fault(Fault {
        method: Some("PUT".into()),
        path: format!("/accounts/*/access/apps/{WIKI}"),
        kind: FaultKind::Status(400),
        count: 1,
    });
    let cfg = pinned(6, &[WIKI, DOCS]);
    let (state, diags) = w.apply(Some(&state), &cfg).await;
    let state = state.expect("partial state is returned");
    let errors: Vec<_> = diags
        .iter()
        .filter(|d| d.detail.contains("Failed"))
        .collect();
    assert_eq!(errors.len(), 1, "{diags:?}");
    assert!(
        errors[0].detail.contains("\"Company wiki\""),
        "{}",
        errors[0].detail
    );
    assert_eq!(
        errors[0].attribute,
        Some(AttributePath::root(attr::TARGET_APP_IDS))
    );
    // The other targets' outcomes stand, and the state says where the policy is: on
    // WIKI (still at 5) and DOCS (at 6), not on API; the targets disagree, so the
    // precedence is null, never a value one of them does not hold.
    assert_eq!(w.attachments(API), vec![(API_EMPLOYEES.to_string(), 1)]);
    assert_eq!(w.attachments(DOCS), vec![(id.clone(), 6)]);
    assert_eq!(
        w.attachments(WIKI),
        vec![(WIKI_EMPLOYEES.to_string(), 1), (id.clone(), 5)]
    );
    assert_eq!(strings(&state, attr::TARGET_APP_IDS), set(&[WIKI, DOCS]));
    assert_eq!(state.get(attr::PRECEDENCE), Some(&Value::Null));
    let p = w.plan(Some(&state), &cfg).await;
    assert!(
        p.prior.semantically_equal(&state),
        "the refresh reads what the failed apply recorded:\nrecorded  {state:?}\nrefreshed {:?}",
        p.prior
    );

    // The next apply moves the one left behind and touches nothing else.
    w.emu.clear_request_log();
    let state = w.converge(Some(&state), &cfg).await;
    assert_eq!(state.get(attr::PRECEDENCE), Some(&Value::int(6)));
    assert_eq!(
        w.attachments(WIKI),
        vec![(WIKI_EMPLOYEES.to_string(), 1), (id.clone(), 6)]
    );
    assert_eq!(w.attachments(DOCS), vec![(id, 6)]);
    assert_eq!(w.attachments(API), vec![(API_EMPLOYEES.to_string(), 1)]);
    let puts: Vec<String> = w
        .writes()
        .into_iter()
        .filter(|l| l.starts_with("PUT"))
        .collect();
    assert_eq!(puts.len(), 1, "only WIKI is written: {puts:?}");
}
