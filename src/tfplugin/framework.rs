//! The small framework resources are written against: a [`Provider`] owning
//! [`Resource`]s and [`DataSource`]s, each a schema plus async handlers.
//!
//! The gRPC server (see [`super::server`]) decodes requests against the schemas, runs the
//! generic parts (schema validators, the plan rules of [`super::plan`], private state
//! carry-over, import's null filling) and calls these handlers only for what is specific
//! to a resource.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use super::diag::{AttributePath, Diagnostics};
use super::schema::Schema;
use super::value::{RedactedValue, Value};

/// Per-request context handed to every handler.
#[derive(Clone, Debug)]
pub struct Context {
    /// Cancelled when Terraform calls StopProvider (or the process shuts down): long
    /// waits must end and handlers return what they have (partial state included).
    pub stop: CancellationToken,
    /// The RPC being served, for logs.
    pub rpc: &'static str,
}

/// Input of [`Provider::configure`]. `Debug` shows the configuration's shape only
/// (it holds credentials).
#[derive(Clone)]
pub struct ConfigureRequest {
    /// The provider configuration; during plan it may hold unknown values.
    pub config: Value,
    pub terraform_version: String,
}

/// What a plan handler sees and may change. `Debug` redacts values (see
/// [`RedactedValue`]).
#[derive(Clone)]
pub struct PlanRequest {
    /// Prior state; `Value::Null` when creating.
    pub prior: Value,
    /// The configuration (may hold unknowns).
    pub config: Value,
    /// The plan so far: the framework has already applied the generic rules (computed
    /// attributes unknown where they may change, attribute plan modifiers).
    pub planned: Value,
    /// Paths whose change forces replacement; the framework fills it from
    /// `RequiresReplace` modifiers, handlers may add more.
    pub requires_replace: Vec<AttributePath>,
    /// Private state carried from the prior state into the plan (echoed by default).
    pub private: Vec<u8>,
}

impl PlanRequest {
    /// True when the resource is being created.
    pub fn is_create(&self) -> bool {
        self.prior.is_null()
    }
}

/// Why [`Resource::read`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadMode {
    /// A refresh of a state Terraform saved.
    Refresh,
    /// The read that completes an import: the state is what
    /// [`Resource::import`] returned (the framework marks it in private state, which
    /// Terraform hands from ImportResourceState to ReadResource).
    Import,
}

/// Outcome of create and update: the new state (possibly partial on error) and private
/// state. `new_state` must be `Some` whenever a remote object exists, *even when
/// diagnostics hold errors*, so Terraform saves what was done.
#[derive(Clone, Default)]
pub struct ApplyResult {
    pub new_state: Option<Value>,
    pub private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

/// Outcome of read: `None` when the remote object is gone (Terraform drops it from
/// state and plans a create).
#[derive(Clone, Default)]
pub struct ReadResult {
    pub new_state: Option<Value>,
    pub private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

/// Outcome of import: a partial state (attributes not set are filled with null by the
/// framework) that Terraform then passes to read.
#[derive(Clone, Default)]
pub struct ImportResult {
    pub state: Option<Value>,
    pub private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

// Configuration and state may hold sensitive attributes (an API token, a client
// secret) and this layer does not know which, so these types print values redacted.

impl fmt::Debug for ConfigureRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigureRequest")
            .field("config", &RedactedValue(&self.config))
            .field("terraform_version", &self.terraform_version)
            .finish()
    }
}

impl fmt::Debug for PlanRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlanRequest")
            .field("prior", &RedactedValue(&self.prior))
            .field("config", &RedactedValue(&self.config))
            .field("planned", &RedactedValue(&self.planned))
            .field("requires_replace", &self.requires_replace)
            .field("private_len", &self.private.len())
            .finish()
    }
}

fn result_debug(
    f: &mut fmt::Formatter<'_>,
    name: &str,
    state: &Option<Value>,
    private: &[u8],
    diagnostics: &Diagnostics,
) -> fmt::Result {
    f.debug_struct(name)
        .field("state", &state.as_ref().map(RedactedValue))
        .field("private_len", &private.len())
        .field("diagnostics", diagnostics)
        .finish()
}

impl fmt::Debug for ApplyResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        result_debug(
            f,
            "ApplyResult",
            &self.new_state,
            &self.private,
            &self.diagnostics,
        )
    }
}

impl fmt::Debug for ReadResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        result_debug(
            f,
            "ReadResult",
            &self.new_state,
            &self.private,
            &self.diagnostics,
        )
    }
}

impl fmt::Debug for ImportResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        result_debug(
            f,
            "ImportResult",
            &self.state,
            &self.private,
            &self.diagnostics,
        )
    }
}

/// A managed resource type.
#[async_trait]
pub trait Resource: Send + Sync + 'static {
    /// Full type name, e.g. `cfaccess_linked_app_policy`.
    fn type_name(&self) -> &'static str;

    /// The schema; called once per process and cached.
    fn schema(&self) -> Schema;

    /// Cross-attribute validation of a configuration that may hold unknowns (attribute
    /// validators in the schema have already run). Skip anything unknown.
    async fn validate(&self, _ctx: &Context, _config: &Value, _diags: &mut Diagnostics) {}

    /// Resource-specific planning after the generic rules; may consult the API.
    ///
    /// Never called for a destroy (a null proposed state is planned null by the
    /// framework), so checks that guard writes never run for a resource planned for
    /// deletion. Terraform does plan the whole configuration before every destroy,
    /// though (a normal plan, 1.0 through 1.11), with nothing telling the provider so:
    /// a check that fails only because the remote world changed should be a warning
    /// here and an error at apply, or it blocks `terraform destroy`.
    async fn modify_plan(&self, _ctx: &Context, _req: &mut PlanRequest, _diags: &mut Diagnostics) {}

    /// Creates the remote object(s) from `planned` (config values + unknown computed).
    async fn create(
        &self,
        ctx: &Context,
        config: &Value,
        planned: &Value,
        private: &[u8],
    ) -> ApplyResult;

    /// Refreshes `current` from the API. `private` is what Terraform saved with it
    /// (the import's own private state in [`ReadMode::Import`]).
    async fn read(
        &self,
        ctx: &Context,
        current: &Value,
        private: &[u8],
        mode: ReadMode,
    ) -> ReadResult;

    /// Updates the remote object(s) from `prior` to `planned`.
    async fn update(
        &self,
        ctx: &Context,
        prior: &Value,
        config: &Value,
        planned: &Value,
        private: &[u8],
    ) -> ApplyResult;

    /// Deletes the remote object(s). An object already gone is success.
    async fn delete(&self, ctx: &Context, prior: &Value, private: &[u8]) -> Diagnostics;

    /// Turns an import id into a partial state for read.
    async fn import(&self, ctx: &Context, id: &str) -> ImportResult;
}

/// A data source type.
#[async_trait]
pub trait DataSource: Send + Sync + 'static {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    async fn validate(&self, _ctx: &Context, _config: &Value, _diags: &mut Diagnostics) {}
    /// Reads the data source; returns the full, wholly known state object.
    async fn read(&self, ctx: &Context, config: &Value) -> (Option<Value>, Diagnostics);
}

/// The provider: its own schema and configuration, and the types it serves.
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// Short provider name, e.g. `cfaccess` (used in the reattach address and logs).
    fn name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    async fn validate(&self, _ctx: &Context, _config: &Value, _diags: &mut Diagnostics) {}
    async fn configure(&self, ctx: &Context, req: ConfigureRequest) -> Diagnostics;
    fn resources(&self) -> Vec<Arc<dyn Resource>>;
    fn data_sources(&self) -> Vec<Arc<dyn DataSource>>;
}

#[cfg(test)]
mod debug_tests {
    use super::*;

    /// Every framework type that carries configuration or state, formatted: no string
    /// value (an api_token, a client_secret) shows, the shape does.
    #[test]
    fn values_are_redacted_in_debug_output() {
        const SECRET: &str = "very-secret-0123456789";
        let value = Value::object([
            ("api_token", Value::string(SECRET)),
            ("tags", Value::string_set([SECRET])),
            ("count", Value::int(424242)),
            ("enabled", Value::Bool(true)),
        ]);
        let printed = [
            format!(
                "{:#?}",
                ConfigureRequest {
                    config: value.clone(),
                    terraform_version: "1.0.3".into(),
                }
            ),
            format!(
                "{:?}",
                PlanRequest {
                    prior: value.clone(),
                    config: value.clone(),
                    planned: value.clone(),
                    requires_replace: Vec::new(),
                    private: SECRET.as_bytes().to_vec(),
                }
            ),
            format!(
                "{:?}",
                ApplyResult {
                    new_state: Some(value.clone()),
                    ..Default::default()
                }
            ),
            format!(
                "{:?}",
                ReadResult {
                    new_state: Some(value.clone()),
                    ..Default::default()
                }
            ),
            format!(
                "{:?}",
                ImportResult {
                    state: Some(value.clone()),
                    ..Default::default()
                }
            ),
        ];
        for text in printed {
            assert!(!text.contains(SECRET), "{text}");
            assert!(!text.contains("424242"), "{text}");
            assert!(
                text.contains("api_token") && text.contains("[redacted]"),
                "{text}"
            );
        }
        assert!(format!("{:?}", RedactedValue(&value)).contains("\"enabled\": true"));
    }
}
