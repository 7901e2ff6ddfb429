//! The one emulator test harness of the resources' handler tests: Terraform's walks
//! (refresh, plan, apply, import, destroy) driven through the value-level handlers the
//! server calls, against the emulator in library mode.
//!
//! Like Terraform, every walk gets a freshly configured provider (one plugin process
//! per command, so the client's read snapshot lives for one walk), private state is
//! carried per object as Terraform carries it (a handler returning none keeps what it
//! was given), and the read after an import is told it is one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cfaccess_emulator::{DEFAULT_ACCOUNT_ID, Emulator, EmulatorConfig, RateLimit, Seed};
use tokio_util::sync::CancellationToken;

use crate::cloudflare::AccountId;
use crate::provider::CfAccessProvider;
use crate::tfplugin::plan::{fill_nulls, plan_resource_change};
use crate::tfplugin::validate::validate_config;
use crate::tfplugin::{
    ConfigureRequest, Context, Diagnostics, PlanRequest, Provider, ReadMode, Resource, Schema,
    Value,
};

/// The API token the harness's emulators accept.
pub(crate) const TOKEN: &str = "handler-test-token";

/// A handler context.
pub(crate) fn ctx() -> Context {
    Context {
        stop: CancellationToken::new(),
        rpc: "test",
    }
}

/// An emulator holding `seed`, with rate limiting off.
pub(crate) async fn emulator(seed: Seed) -> Emulator {
    Emulator::start(EmulatorConfig {
        token: Some(TOKEN.into()),
        rate_limit: Some(RateLimit::disabled()),
        seed: Some(seed),
        ..Default::default()
    })
    .await
    .expect("emulator starts")
}

/// A configured provider process talking to the API at `base_url`.
pub(crate) async fn provider_at(base_url: &str) -> CfAccessProvider {
    let provider = CfAccessProvider::new();
    let config = fill_nulls(
        &crate::provider::provider_schema(),
        &Value::object([
            ("api_token", Value::string(TOKEN)),
            ("account_id", Value::string(DEFAULT_ACCOUNT_ID)),
            ("base_url", Value::string(base_url)),
            ("max_retries", Value::int(1)),
            ("request_timeout", Value::string("10s")),
            ("requests_per_second", Value::int(1000)),
        ]),
    );
    let diags = provider
        .configure(
            &ctx(),
            ConfigureRequest {
                config,
                terraform_version: "1.0.3".into(),
            },
        )
        .await;
    assert!(!diags.has_errors(), "{diags:?}");
    provider
}

/// A direct API client on `emu` and its account: for arranging objects "outside
/// Terraform" (the dashboard, another team) in a test.
pub(crate) fn client(emu: &Emulator) -> (crate::cloudflare::Client, AccountId) {
    let client = crate::cloudflare::Client::new(
        crate::cloudflare::ClientConfig::new(
            emu.base_url(),
            crate::cloudflare::SecretString::new(TOKEN),
        ),
        CancellationToken::new(),
    )
    .expect("client");
    (client, AccountId::new_unchecked(DEFAULT_ACCOUNT_ID))
}

/// Terraform's ProposedNewObject (1.0.3): the configuration, with computed attributes
/// the configuration leaves null taken from the prior state.
pub(crate) fn proposed(schema: &Schema, prior: &Value, config: &Value) -> Value {
    let mut out = config.clone();
    if prior.is_null() {
        return out;
    }
    for a in &schema.attributes {
        let c = config.get(&a.name).cloned().unwrap_or(Value::Null);
        if a.mode.computed() && c.is_null() {
            out.set(&a.name, prior.get(&a.name).cloned().unwrap_or(Value::Null));
        }
    }
    out
}

/// "Provider produced inconsistent result after apply": every known planned value
/// comes back the same (sets as sets, at any depth), and the state is wholly known.
pub(crate) fn assert_consistent(planned: &Value, state: &Value) {
    assert!(state.is_wholly_known(), "state holds unknowns: {state:?}");
    fn walk(planned: &Value, state: &Value, path: &str) {
        match (planned, state) {
            (Value::Unknown, _) => {}
            (Value::Object(p), Value::Object(s)) => {
                for (k, v) in p {
                    walk(v, s.get(k).unwrap_or(&Value::Null), &format!("{path}.{k}"));
                }
            }
            (p, s) => assert!(
                p.semantically_equal(s),
                "inconsistent result: {path} was {p:?}, now {s:?}"
            ),
        }
    }
    walk(planned, state, "");
}

/// Outcome of a plan walk.
pub(crate) struct Planned {
    /// The refreshed prior state (null when creating or when the object is gone).
    pub(crate) prior: Value,
    /// The planned state (null when validation or the refresh failed).
    pub(crate) planned: Value,
    pub(crate) requires_replace: Vec<crate::tfplugin::AttributePath>,
    pub(crate) diags: Diagnostics,
    /// The planned private state.
    pub(crate) private: Vec<u8>,
}

impl Planned {
    /// True when Terraform would show a change (create, update or replace).
    pub(crate) fn has_changes(&self) -> bool {
        self.prior.is_null() || !self.planned.semantically_equal(&self.prior)
    }

    /// True when the plan replaces the object.
    pub(crate) fn replaces(&self) -> bool {
        !self.requires_replace.is_empty()
    }
}

/// Terraform's walks over one resource type, with private state kept per object id.
pub(crate) struct Workflow {
    type_name: &'static str,
    schema: Schema,
    base_url: String,
    private: Mutex<HashMap<String, Vec<u8>>>,
}

impl Workflow {
    /// Walks over resource `type_name` (whose schema is `schema`) against the API at
    /// `base_url`.
    pub(crate) fn new(type_name: &'static str, schema: Schema, base_url: String) -> Self {
        Workflow {
            type_name,
            schema,
            base_url,
            private: Mutex::default(),
        }
    }

    /// The resource of a freshly configured provider: one "terraform process".
    pub(crate) async fn resource(&self) -> Arc<dyn Resource> {
        self.resource_at(&self.base_url).await
    }

    /// Like [`Workflow::resource`], talking to the API at `base_url` (a proxy in
    /// front of the emulator).
    pub(crate) async fn resource_at(&self, base_url: &str) -> Arc<dyn Resource> {
        provider_at(base_url)
            .await
            .resources()
            .into_iter()
            .find(|r| r.type_name() == self.type_name)
            .expect("resource registered")
    }

    /// The private state Terraform holds for `state`'s object.
    pub(crate) fn private_of(&self, state: &Value) -> Vec<u8> {
        let id = state.get("id").and_then(Value::as_str).unwrap_or("");
        let map = self.private.lock().unwrap_or_else(|e| e.into_inner());
        map.get(id).cloned().unwrap_or_default()
    }

    /// Stores what a handler returned for `state` (empty: what was there stays).
    fn keep_private(&self, state: &Value, returned: Vec<u8>) {
        if let Some(id) = state.get("id").and_then(Value::as_str)
            && !returned.is_empty()
        {
            let mut map = self.private.lock().unwrap_or_else(|e| e.into_inner());
            map.insert(id.to_string(), returned);
        }
    }

    /// ValidateResourceConfig: the schema's validators, then the resource's.
    pub(crate) async fn validate(&self, config: &Value) -> Diagnostics {
        let mut diags = validate_config(&self.schema, config);
        self.resource()
            .await
            .validate(&ctx(), config, &mut diags)
            .await;
        diags
    }

    /// A refresh of `state`: the new state (`None`: gone) and the diagnostics.
    pub(crate) async fn refresh(&self, state: &Value) -> (Option<Value>, Diagnostics) {
        let read = self
            .resource()
            .await
            .read(&ctx(), state, &self.private_of(state), ReadMode::Refresh)
            .await;
        let refreshed = read.new_state.map(|s| fill_nulls(&self.schema, &s));
        if let Some(s) = &refreshed {
            self.keep_private(s, read.private);
        }
        (refreshed, read.diagnostics)
    }

    /// Plans `config` against `prior` (already refreshed), as PlanResourceChange does.
    pub(crate) async fn plan_refreshed(&self, prior: &Value, config: &Value) -> Planned {
        let mut diags = self.validate(config).await;
        let private = self.private_of(prior);
        if diags.has_errors() {
            return Planned {
                prior: prior.clone(),
                planned: Value::Null,
                requires_replace: Vec::new(),
                diags,
                private,
            };
        }
        let (planned, requires_replace) = plan_resource_change(
            &self.schema,
            prior,
            &proposed(&self.schema, prior, config),
            config,
        );
        let mut req = PlanRequest {
            prior: prior.clone(),
            config: config.clone(),
            planned,
            requires_replace,
            private,
        };
        self.resource()
            .await
            .modify_plan(&ctx(), &mut req, &mut diags)
            .await;
        Planned {
            prior: prior.clone(),
            planned: req.planned,
            requires_replace: req.requires_replace,
            diags,
            private: req.private,
        }
    }

    /// `terraform plan`: refresh `state` (if any), then plan `config` against it.
    pub(crate) async fn plan(&self, state: Option<&Value>, config: &Value) -> Planned {
        let (prior, refresh_diags) = match state {
            Some(s) => {
                let (refreshed, d) = self.refresh(s).await;
                (refreshed.unwrap_or(Value::Null), d)
            }
            None => (Value::Null, Diagnostics::new()),
        };
        if refresh_diags.has_errors() {
            return Planned {
                prior,
                planned: Value::Null,
                requires_replace: Vec::new(),
                diags: refresh_diags,
                private: Vec::new(),
            };
        }
        let mut planned = self.plan_refreshed(&prior, config).await;
        let mut diags = refresh_diags;
        diags.extend(std::mem::take(&mut planned.diags));
        planned.diags = diags;
        planned
    }

    /// `terraform apply`: the plan walk, then the apply walk (a replacement deletes,
    /// then creates from a create plan). Returns the state Terraform would save and
    /// the apply's diagnostics; panics on plan errors, and checks every successful
    /// apply against its plan.
    pub(crate) async fn apply(
        &self,
        state: Option<&Value>,
        config: &Value,
    ) -> (Option<Value>, Diagnostics) {
        let mut plan = self.plan(state, config).await;
        assert!(!plan.diags.has_errors(), "plan failed: {:?}", plan.diags);
        if !plan.has_changes() {
            return (Some(plan.prior), Diagnostics::new());
        }
        let r = self.resource().await;
        if !plan.prior.is_null() && plan.replaces() {
            let d = r
                .delete(&ctx(), &plan.prior, &self.private_of(&plan.prior))
                .await;
            if d.has_errors() {
                return (Some(plan.prior), d);
            }
            plan = self.plan_refreshed(&Value::Null, config).await;
            assert!(!plan.diags.has_errors(), "plan failed: {:?}", plan.diags);
        }
        let result = if plan.prior.is_null() {
            r.create(&ctx(), config, &plan.planned, &plan.private).await
        } else {
            r.update(&ctx(), &plan.prior, config, &plan.planned, &plan.private)
                .await
        };
        let new_state = result.new_state.map(|s| fill_nulls(&self.schema, &s));
        if let Some(s) = &new_state {
            let returned = if result.private.is_empty() {
                plan.private.clone()
            } else {
                result.private
            };
            self.keep_private(s, returned);
        }
        if !result.diagnostics.has_errors() {
            let s = new_state.as_ref().expect("state after a successful apply");
            assert_consistent(&plan.planned, s);
        }
        (new_state, result.diagnostics)
    }

    /// An apply that must succeed, then a refresh that changes nothing and a plan that
    /// must be empty. Returns the state.
    pub(crate) async fn converge(&self, state: Option<&Value>, config: &Value) -> Value {
        let (s, d) = self.apply(state, config).await;
        assert!(!d.has_errors(), "apply failed: {d:?}");
        let s = s.expect("state");
        let again = self.plan(Some(&s), config).await;
        assert!(!again.diags.has_errors(), "{:?}", again.diags);
        assert!(
            again.prior.semantically_equal(&s),
            "refresh after apply changed the state:\napplied   {s:?}\nrefreshed {:?}",
            again.prior
        );
        assert!(
            !again.has_changes(),
            "plan after apply is not empty:\nprior   {:?}\nplanned {:?}",
            again.prior,
            again.planned
        );
        s
    }

    /// `terraform import`: ImportResourceState, then the read that completes it.
    pub(crate) async fn import(&self, id: &str) -> Result<Value, Diagnostics> {
        let r = self.resource().await;
        let imported = r.import(&ctx(), id).await;
        if imported.diagnostics.has_errors() {
            return Err(imported.diagnostics);
        }
        let partial = fill_nulls(&self.schema, &imported.state.expect("imported state"));
        let read = r
            .read(&ctx(), &partial, &imported.private, ReadMode::Import)
            .await;
        if read.diagnostics.has_errors() {
            return Err(read.diagnostics);
        }
        let state = fill_nulls(&self.schema, &read.new_state.expect("state after import"));
        // As the server does: a read returning no private state keeps the import's.
        let private = if read.private.is_empty() {
            imported.private
        } else {
            read.private
        };
        self.keep_private(&state, private);
        Ok(state)
    }

    /// `terraform destroy` of `state`.
    pub(crate) async fn destroy(&self, state: &Value) -> Diagnostics {
        let private = self.private_of(state);
        self.resource().await.delete(&ctx(), state, &private).await
    }
}

/// The writes (POST, PUT, PATCH, DELETE) the emulator has answered, as "METHOD path".
pub(crate) fn writes(emu: &Emulator) -> Vec<String> {
    emu.request_log()
        .into_iter()
        .filter(|r| matches!(r.method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}
