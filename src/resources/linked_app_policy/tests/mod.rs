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
use crate::tfplugin::plan::fill_nulls;
use crate::tfplugin::validate::validate_config;
use crate::tfplugin::{AttributePath, Number, Resource};

mod checks;
mod delete_import;
mod drift;
mod failures;
mod fidelity;
mod lifecycle;
mod precedence;
mod unit;

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

    /// A create that must converge: the state and the policy's id.
    async fn create(&self, config: &Value) -> (Value, String) {
        let state = self.converge(None, config).await;
        let id = id_of(&state);
        (state, id)
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

    /// Asserts `app`'s policy list: its seeded employees policy first, then policy
    /// `id` at `at`.
    #[track_caller]
    fn assert_after_employees(&self, app: &str, id: &str, at: u64) {
        assert_eq!(
            self.attachments(app),
            vec![(employees_of(app).to_string(), 1), (id.to_string(), at)]
        );
    }

    /// Moves policy `id` to `at` on `app` outside Terraform, behind the app's seeded
    /// employees policy.
    #[track_caller]
    fn move_out_of_band(&self, app: &str, id: &str, at: u32) {
        assert!(self.emu.set_attachments_out_of_band(
            ACC,
            app,
            vec![(employees_of(app).to_string(), 1), (id.to_string(), at)]
        ));
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

    /// The PUTs among [`World::writes`].
    fn puts(&self) -> Vec<String> {
        self.writes()
            .into_iter()
            .filter(|l| l.starts_with("PUT"))
            .collect()
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

/// The seeded employees policy of `app` (API or WIKI), first in its list.
fn employees_of(app: &str) -> &'static str {
    match app {
        API => API_EMPLOYEES,
        WIKI => WIKI_EMPLOYEES,
        other => panic!("{other} has no seeded policy"),
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
