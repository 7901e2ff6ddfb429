//! The `tfplugin6.Provider` gRPC service on top of the framework traits.
//!
//! This is the one place where wire messages become framework values and back: every
//! `DynamicValue` is decoded against the schema of its type, the generic parts of each
//! RPC run here (schema validators, the plan engine, private-state carry-over, null
//! filling of partial objects), and handlers only see plain [`Value`]s.
//!
//! Domain failures are returned as diagnostics inside a normal response, never as a
//! gRPC status: Terraform turns a status into a generic "plugin error" and, on apply,
//! would lose the partial state the response carries.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};
use tracing::Instrument as _;

use super::codec::dynamic_value;
use super::diag::{Diagnostics, Severity};
use super::diag_proto::{codec_error, diagnostics_to_proto, path_to_proto};
use super::framework::{
    ConfigureRequest, Context, DataSource, PlanRequest, Provider, ReadMode, Resource,
};
use super::proto::tfplugin6::{self as pb, provider_server::ProviderServer};
use super::schema::Schema;
use super::schema_proto::schema_to_proto;
use super::value::{Type, Value};
use super::{plan, validate};

/// Largest message accepted or sent, as terraform-plugin-go allows (tonic's default
/// receive limit of 4 MiB is too small for large states).
pub const MAX_MESSAGE_SIZE: usize = 256 * 1024 * 1024;

struct ResourceEntry {
    handler: Arc<dyn Resource>,
    schema: Schema,
    ty: Type,
}

struct DataSourceEntry {
    handler: Arc<dyn DataSource>,
    schema: Schema,
    ty: Type,
}

/// Serves one [`Provider`] over tfplugin6.
pub struct ProviderService {
    provider: Arc<dyn Provider>,
    provider_schema: Schema,
    provider_ty: Type,
    resources: BTreeMap<String, ResourceEntry>,
    data_sources: BTreeMap<String, DataSourceEntry>,
    schema_response: pb::get_provider_schema::Response,
    stop: CancellationToken,
}

impl ProviderService {
    /// Collects the provider's schemas once; `stop` is handed to every handler and
    /// cancelled by StopProvider.
    pub fn new(provider: Arc<dyn Provider>, stop: CancellationToken) -> Self {
        let provider_schema = provider.schema();
        let resources: BTreeMap<_, _> = provider
            .resources()
            .into_iter()
            .map(|handler| {
                let schema = handler.schema();
                let ty = schema.value_type();
                let entry = ResourceEntry {
                    handler: handler.clone(),
                    schema,
                    ty,
                };
                (handler.type_name().to_string(), entry)
            })
            .collect();
        let data_sources: BTreeMap<_, _> = provider
            .data_sources()
            .into_iter()
            .map(|handler| {
                let schema = handler.schema();
                let ty = schema.value_type();
                let entry = DataSourceEntry {
                    handler: handler.clone(),
                    schema,
                    ty,
                };
                (handler.type_name().to_string(), entry)
            })
            .collect();
        let schema_response = pb::get_provider_schema::Response {
            provider: Some(schema_to_proto(&provider_schema)),
            resource_schemas: resources
                .iter()
                .map(|(name, e)| (name.clone(), schema_to_proto(&e.schema)))
                .collect(),
            data_source_schemas: data_sources
                .iter()
                .map(|(name, e)| (name.clone(), schema_to_proto(&e.schema)))
                .collect(),
            server_capabilities: Some(server_capabilities()),
            ..Default::default()
        };
        ProviderService {
            provider_ty: provider_schema.value_type(),
            provider,
            provider_schema,
            resources,
            data_sources,
            schema_response,
            stop,
        }
    }

    /// The generated tonic service with the message size limits applied.
    pub fn into_grpc(self) -> ProviderServer<Self> {
        ProviderServer::new(self)
            .max_decoding_message_size(MAX_MESSAGE_SIZE)
            .max_encoding_message_size(MAX_MESSAGE_SIZE)
    }

    fn context(&self, rpc: &'static str) -> Context {
        Context {
            stop: self.stop.clone(),
            rpc,
        }
    }

    fn resource(&self, type_name: &str, diags: &mut Diagnostics) -> Option<&ResourceEntry> {
        let found = self.resources.get(type_name);
        if found.is_none() {
            diags.error(
                "Unknown resource type",
                format!(
                    "The {} provider has no resource type {type_name:?}.",
                    self.provider.name()
                ),
            );
        }
        found
    }

    fn data_source(&self, type_name: &str, diags: &mut Diagnostics) -> Option<&DataSourceEntry> {
        let found = self.data_sources.get(type_name);
        if found.is_none() {
            diags.error(
                "Unknown data source type",
                format!(
                    "The {} provider has no data source type {type_name:?}.",
                    self.provider.name()
                ),
            );
        }
        found
    }
}

/// What this server announces. Schemas never depend on configuration, so Terraform ≥
/// 1.6 may use a cached copy; destroy plans and moves are not needed.
fn server_capabilities() -> pb::ServerCapabilities {
    pb::ServerCapabilities {
        plan_destroy: false,
        get_provider_schema_optional: true,
        move_resource_state: false,
        generate_resource_config: false,
    }
}

/// Runs one RPC inside a span carrying the hclog fields Terraform users grep for.
async fn traced<T>(
    rpc: &'static str,
    type_field: Option<(&'static str, &str)>,
    body: impl Future<Output = T>,
) -> T {
    let span = tracing::info_span!(
        "tfplugin6",
        tf_rpc = rpc,
        tf_req_id = %uuid::Uuid::new_v4(),
        tf_resource_type = tracing::field::Empty,
        tf_data_source_type = tracing::field::Empty,
    );
    if let Some((field, value)) = type_field {
        span.record(field, value);
    }
    async move {
        let started = Instant::now();
        tracing::debug!("Received request");
        let out = body.await;
        let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        tracing::debug!(tf_req_duration_ms = ms, "Served request");
        out
    }
    .instrument(span)
    .await
}

/// [`traced`], and a panic inside `body` becomes an error diagnostic in the response
/// `on_panic` builds, instead of a broken stream: the RPC fails cleanly (with the
/// state Terraform sent kept, where the response carries state) and the provider
/// keeps serving every other RPC. The release profile unwinds (no `panic = "abort"`)
/// for this.
async fn guarded<T>(
    rpc: &'static str,
    type_field: Option<(&'static str, &str)>,
    body: impl Future<Output = T>,
    on_panic: impl FnOnce(Vec<pb::Diagnostic>) -> T,
) -> T {
    use futures::FutureExt as _;
    traced(rpc, type_field, async move {
        match std::panic::AssertUnwindSafe(body).catch_unwind().await {
            Ok(out) => out,
            Err(payload) => {
                let message = panic_message(payload.as_ref());
                let mut diags = Diagnostics::new();
                diags.error(
                    "Provider bug: internal error",
                    format!(
                        "The provider hit an internal error (a panic) while serving {rpc} \
                         and abandoned this operation; other operations are not affected. \
                         Please report it with this message: {message}"
                    ),
                );
                on_panic(finish_diagnostics(&diags))
            }
        }
    })
    .await
}

/// The text of a panic payload (`panic!` with a literal or a formatted message).
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_string());
    // A message is for a bug report, not a dump.
    text.chars().take(500).collect()
}

/// Logs each diagnostic (never values: summaries and paths only) and converts them.
fn finish_diagnostics(diags: &Diagnostics) -> Vec<pb::Diagnostic> {
    for d in diags.iter() {
        let attribute = d
            .attribute
            .as_ref()
            .map(|p| p.to_string())
            .unwrap_or_default();
        match d.severity {
            Severity::Error => tracing::error!(
                diagnostic_severity = "ERROR",
                diagnostic_summary = %d.summary,
                diagnostic_attribute = %attribute,
                "Response contains error diagnostic"
            ),
            Severity::Warning => tracing::warn!(
                diagnostic_severity = "WARNING",
                diagnostic_summary = %d.summary,
                diagnostic_attribute = %attribute,
                "Response contains warning diagnostic"
            ),
        }
    }
    diagnostics_to_proto(diags)
}

/// Decodes an optional `DynamicValue` (absent = null); on failure adds a diagnostic
/// and returns `None`.
fn decode(
    dv: Option<&pb::DynamicValue>,
    ty: &Type,
    what: &str,
    diags: &mut Diagnostics,
) -> Option<Value> {
    let Some(dv) = dv else {
        return Some(Value::Null);
    };
    match dynamic_value::decode(&dv.msgpack, &dv.json, ty) {
        Ok(v) => Some(v),
        Err(e) => {
            diags.0.push(codec_error(what, &e));
            None
        }
    }
}

/// Encodes a value as msgpack; on failure adds a diagnostic and returns `None`.
fn encode(v: &Value, ty: &Type, what: &str, diags: &mut Diagnostics) -> Option<pb::DynamicValue> {
    match dynamic_value::encode(v, ty) {
        Ok(msgpack) => Some(pb::DynamicValue {
            msgpack,
            json: Vec::new(),
        }),
        Err(e) => {
            diags.0.push(codec_error(what, &e));
            None
        }
    }
}

/// Handlers may return objects with only the attributes they know; the msgpack object
/// encoding needs every attribute, so the rest become null.
fn complete(schema: &Schema, v: Value) -> Value {
    if matches!(v, Value::Object(_)) {
        plan::fill_nulls(schema, &v)
    } else {
        v
    }
}

/// Prefixed to the private state of an imported object: Terraform hands it to the
/// ReadResource that completes the import, which is how that read knows it is one
/// ([`ReadMode::Import`]) rather than guessing from the state's shape.
const IMPORT_MARK: &[u8] = b"\0tfplugin-import\0";

/// `returned` unless it is empty, in which case the input private state is kept:
/// Terraform stores whatever comes back, so an empty answer would wipe it.
fn keep_private(returned: Vec<u8>, input: Vec<u8>) -> Vec<u8> {
    if returned.is_empty() { input } else { returned }
}

/// A msgpack null, for responses that must carry a (null) value.
fn null_value() -> pb::DynamicValue {
    pb::DynamicValue {
        msgpack: vec![0xc0],
        json: Vec::new(),
    }
}

#[tonic::async_trait]
impl pb::provider_server::Provider for ProviderService {
    async fn get_metadata(
        &self,
        _req: Request<pb::get_metadata::Request>,
    ) -> Result<Response<pb::get_metadata::Response>, Status> {
        let resp = traced("GetMetadata", None, async {
            pb::get_metadata::Response {
                server_capabilities: Some(server_capabilities()),
                resources: self
                    .resources
                    .keys()
                    .map(|n| pb::get_metadata::ResourceMetadata {
                        type_name: n.clone(),
                    })
                    .collect(),
                data_sources: self
                    .data_sources
                    .keys()
                    .map(|n| pb::get_metadata::DataSourceMetadata {
                        type_name: n.clone(),
                    })
                    .collect(),
                ..Default::default()
            }
        })
        .await;
        Ok(Response::new(resp))
    }

    async fn get_provider_schema(
        &self,
        _req: Request<pb::get_provider_schema::Request>,
    ) -> Result<Response<pb::get_provider_schema::Response>, Status> {
        let resp = traced("GetProviderSchema", None, async {
            self.schema_response.clone()
        })
        .await;
        Ok(Response::new(resp))
    }

    async fn get_resource_identity_schemas(
        &self,
        _req: Request<pb::get_resource_identity_schemas::Request>,
    ) -> Result<Response<pb::get_resource_identity_schemas::Response>, Status> {
        // No resource of this provider declares an identity.
        Ok(Response::new(Default::default()))
    }

    async fn get_functions(
        &self,
        _req: Request<pb::get_functions::Request>,
    ) -> Result<Response<pb::get_functions::Response>, Status> {
        // This provider defines no functions.
        Ok(Response::new(Default::default()))
    }

    async fn validate_provider_config(
        &self,
        req: Request<pb::validate_provider_config::Request>,
    ) -> Result<Response<pb::validate_provider_config::Response>, Status> {
        let req = req.into_inner();
        let resp = guarded(
            "ValidateProviderConfig",
            None,
            async {
                let mut diags = Diagnostics::new();
                let ctx = self.context("ValidateProviderConfig");
                if let Some(config) = decode(
                    req.config.as_ref(),
                    &self.provider_ty,
                    "provider configuration",
                    &mut diags,
                ) {
                    diags.extend(validate::validate_config(&self.provider_schema, &config));
                    self.provider.validate(&ctx, &config, &mut diags).await;
                }
                pb::validate_provider_config::Response {
                    diagnostics: finish_diagnostics(&diags),
                }
            },
            |diagnostics| pb::validate_provider_config::Response { diagnostics },
        )
        .await;
        Ok(Response::new(resp))
    }

    async fn validate_resource_config(
        &self,
        req: Request<pb::validate_resource_config::Request>,
    ) -> Result<Response<pb::validate_resource_config::Response>, Status> {
        let req = req.into_inner();
        let field = Some(("tf_resource_type", req.type_name.as_str()));
        let resp = guarded(
            "ValidateResourceConfig",
            field,
            async {
                let mut diags = Diagnostics::new();
                let ctx = self.context("ValidateResourceConfig");
                if let Some(entry) = self.resource(&req.type_name, &mut diags)
                    && let Some(config) =
                        decode(req.config.as_ref(), &entry.ty, "configuration", &mut diags)
                {
                    diags.extend(validate::validate_config(&entry.schema, &config));
                    entry.handler.validate(&ctx, &config, &mut diags).await;
                }
                pb::validate_resource_config::Response {
                    diagnostics: finish_diagnostics(&diags),
                }
            },
            |diagnostics| pb::validate_resource_config::Response { diagnostics },
        )
        .await;
        Ok(Response::new(resp))
    }

    async fn validate_data_resource_config(
        &self,
        req: Request<pb::validate_data_resource_config::Request>,
    ) -> Result<Response<pb::validate_data_resource_config::Response>, Status> {
        let req = req.into_inner();
        let field = Some(("tf_data_source_type", req.type_name.as_str()));
        let resp = guarded(
            "ValidateDataResourceConfig",
            field,
            async {
                let mut diags = Diagnostics::new();
                let ctx = self.context("ValidateDataResourceConfig");
                if let Some(entry) = self.data_source(&req.type_name, &mut diags)
                    && let Some(config) =
                        decode(req.config.as_ref(), &entry.ty, "configuration", &mut diags)
                {
                    diags.extend(validate::validate_config(&entry.schema, &config));
                    entry.handler.validate(&ctx, &config, &mut diags).await;
                }
                pb::validate_data_resource_config::Response {
                    diagnostics: finish_diagnostics(&diags),
                }
            },
            |diagnostics| pb::validate_data_resource_config::Response { diagnostics },
        )
        .await;
        Ok(Response::new(resp))
    }

    async fn upgrade_resource_state(
        &self,
        req: Request<pb::upgrade_resource_state::Request>,
    ) -> Result<Response<pb::upgrade_resource_state::Response>, Status> {
        let req = req.into_inner();
        let field = Some(("tf_resource_type", req.type_name.as_str()));
        let resp = guarded(
            "UpgradeResourceState",
            field,
            async {
                let mut diags = Diagnostics::new();
                let upgraded = self.upgrade_state(&req, &mut diags);
                pb::upgrade_resource_state::Response {
                    upgraded_state: upgraded,
                    diagnostics: finish_diagnostics(&diags),
                }
            },
            |diagnostics| pb::upgrade_resource_state::Response {
                upgraded_state: None,
                diagnostics,
            },
        )
        .await;
        Ok(Response::new(resp))
    }

    async fn configure_provider(
        &self,
        req: Request<pb::configure_provider::Request>,
    ) -> Result<Response<pb::configure_provider::Response>, Status> {
        let req = req.into_inner();
        let resp = guarded(
            "ConfigureProvider",
            None,
            async {
                let mut diags = Diagnostics::new();
                let ctx = self.context("ConfigureProvider");
                if let Some(config) = decode(
                    req.config.as_ref(),
                    &self.provider_ty,
                    "provider configuration",
                    &mut diags,
                ) {
                    let request = ConfigureRequest {
                        config,
                        terraform_version: req.terraform_version.clone(),
                    };
                    diags.extend(self.provider.configure(&ctx, request).await);
                }
                pb::configure_provider::Response {
                    diagnostics: finish_diagnostics(&diags),
                }
            },
            |diagnostics| pb::configure_provider::Response { diagnostics },
        )
        .await;
        Ok(Response::new(resp))
    }

    async fn read_resource(
        &self,
        req: Request<pb::read_resource::Request>,
    ) -> Result<Response<pb::read_resource::Response>, Status> {
        let req = req.into_inner();
        let type_name = req.type_name.clone();
        // On a panic, answer with what Terraform sent: the object stays in state.
        let (kept_state, kept_private) = (req.current_state.clone(), req.private.clone());
        let resp = guarded(
            "ReadResource",
            Some(("tf_resource_type", type_name.as_str())),
            self.read(req),
            |diagnostics| pb::read_resource::Response {
                new_state: kept_state,
                private: kept_private,
                diagnostics,
                ..Default::default()
            },
        )
        .await;
        Ok(Response::new(resp))
    }

    async fn plan_resource_change(
        &self,
        req: Request<pb::plan_resource_change::Request>,
    ) -> Result<Response<pb::plan_resource_change::Response>, Status> {
        let req = req.into_inner();
        let type_name = req.type_name.clone();
        let kept_private = req.prior_private.clone();
        let resp = guarded(
            "PlanResourceChange",
            Some(("tf_resource_type", type_name.as_str())),
            self.plan(req),
            |diagnostics| pb::plan_resource_change::Response {
                planned_private: kept_private,
                diagnostics,
                ..Default::default()
            },
        )
        .await;
        Ok(Response::new(resp))
    }

    async fn apply_resource_change(
        &self,
        req: Request<pb::apply_resource_change::Request>,
    ) -> Result<Response<pb::apply_resource_change::Response>, Status> {
        let req = req.into_inner();
        let type_name = req.type_name.clone();
        // On a panic, the prior state stays: what the handler did before it is unknown,
        // and keeping the object tracked lets the next refresh find out.
        let (kept_state, kept_private) = (req.prior_state.clone(), req.planned_private.clone());
        let resp = guarded(
            "ApplyResourceChange",
            Some(("tf_resource_type", type_name.as_str())),
            self.apply(req),
            |diagnostics| pb::apply_resource_change::Response {
                new_state: kept_state,
                private: kept_private,
                diagnostics,
                ..Default::default()
            },
        )
        .await;
        Ok(Response::new(resp))
    }

    async fn import_resource_state(
        &self,
        req: Request<pb::import_resource_state::Request>,
    ) -> Result<Response<pb::import_resource_state::Response>, Status> {
        let req = req.into_inner();
        let type_name = req.type_name.clone();
        let resp = guarded(
            "ImportResourceState",
            Some(("tf_resource_type", type_name.as_str())),
            self.import(req),
            |diagnostics| pb::import_resource_state::Response {
                diagnostics,
                ..Default::default()
            },
        )
        .await;
        Ok(Response::new(resp))
    }

    async fn read_data_source(
        &self,
        req: Request<pb::read_data_source::Request>,
    ) -> Result<Response<pb::read_data_source::Response>, Status> {
        let req = req.into_inner();
        let type_name = req.type_name.clone();
        let resp = guarded(
            "ReadDataSource",
            Some(("tf_data_source_type", type_name.as_str())),
            self.read_data(req),
            |diagnostics| pb::read_data_source::Response {
                state: Some(null_value()),
                diagnostics,
                ..Default::default()
            },
        )
        .await;
        Ok(Response::new(resp))
    }

    async fn stop_provider(
        &self,
        _req: Request<pb::stop_provider::Request>,
    ) -> Result<Response<pb::stop_provider::Response>, Status> {
        traced("StopProvider", None, async {
            tracing::info!("StopProvider: cancelling in-flight and future operations");
            self.stop.cancel();
        })
        .await;
        Ok(Response::new(pb::stop_provider::Response {
            error: String::new(),
        }))
    }
}

impl ProviderService {
    fn upgrade_state(
        &self,
        req: &pb::upgrade_resource_state::Request,
        diags: &mut Diagnostics,
    ) -> Option<pb::DynamicValue> {
        let entry = self.resource(&req.type_name, diags)?;
        let raw = req.raw_state.clone().unwrap_or_default();
        if raw.json.is_empty() {
            if raw.flatmap.is_empty() {
                diags.error(
                    "Missing resource state",
                    "Terraform sent no stored state to upgrade.",
                );
            } else {
                diags.error(
                    "Unsupported state format",
                    "This resource's state was written by Terraform 0.11 or earlier \
                     (flatmap format), which this provider cannot read. Remove it from \
                     the state and import it again.",
                );
            }
            return None;
        }
        let current = entry.schema.version;
        if req.version != current {
            // The framework has no state migrations yet: every schema is at its first
            // version, so any other number is state this build cannot interpret.
            diags.error(
                "Unsupported resource state version",
                format!(
                    "The stored state of this {} was written with schema version {}, \
                     but this provider version only reads version {current}. Use a \
                     provider version that matches the state.",
                    req.type_name, req.version
                ),
            );
            return None;
        }
        // JSON decoding fills attributes missing from older state with null and drops
        // attributes no longer in the schema, as cty's own decoder does.
        let state = match super::codec::json::decode(&raw.json, &entry.ty) {
            Ok(v) => v,
            Err(e) => {
                diags.0.push(codec_error("stored state", &e));
                return None;
            }
        };
        let state = complete(&entry.schema, state);
        encode(&state, &entry.ty, "upgraded state", diags)
    }

    async fn read(&self, req: pb::read_resource::Request) -> pb::read_resource::Response {
        let mut diags = Diagnostics::new();
        let ctx = self.context("ReadResource");
        let mut resp = pb::read_resource::Response {
            // Until something better is known, answer with what Terraform sent, so an
            // early failure never drops the object from state.
            new_state: req.current_state.clone(),
            private: req.private.clone(),
            ..Default::default()
        };
        let Some(entry) = self.resource(&req.type_name, &mut diags) else {
            resp.diagnostics = finish_diagnostics(&diags);
            return resp;
        };
        let Some(current) = decode(
            req.current_state.as_ref(),
            &entry.ty,
            "current state",
            &mut diags,
        ) else {
            resp.diagnostics = finish_diagnostics(&diags);
            return resp;
        };
        if current.is_null() {
            resp.new_state = Some(null_value());
            return resp;
        }
        let (mode, private) = match req.private.strip_prefix(IMPORT_MARK) {
            Some(own) => (ReadMode::Import, own.to_vec()),
            None => (ReadMode::Refresh, req.private.clone()),
        };
        let result = entry.handler.read(&ctx, &current, &private, mode).await;
        diags.extend(result.diagnostics);
        let new_state = match result.new_state {
            Some(v) => complete(&entry.schema, v),
            // On errors Terraform keeps the old state anyway; say so explicitly.
            None if diags.has_errors() => current,
            // Gone: Terraform drops it from state and plans a create.
            None => Value::Null,
        };
        if let Some(dv) = encode(&new_state, &entry.ty, "refreshed state", &mut diags) {
            resp.new_state = Some(dv);
        }
        // The import mark never outlives the read that completes the import.
        resp.private = keep_private(result.private, private);
        resp.diagnostics = finish_diagnostics(&diags);
        resp
    }

    async fn plan(
        &self,
        req: pb::plan_resource_change::Request,
    ) -> pb::plan_resource_change::Response {
        let mut diags = Diagnostics::new();
        let ctx = self.context("PlanResourceChange");
        let mut resp = pb::plan_resource_change::Response {
            planned_private: req.prior_private.clone(),
            ..Default::default()
        };
        let Some(entry) = self.resource(&req.type_name, &mut diags) else {
            resp.diagnostics = finish_diagnostics(&diags);
            return resp;
        };
        let prior = decode(
            req.prior_state.as_ref(),
            &entry.ty,
            "prior state",
            &mut diags,
        );
        let proposed = decode(
            req.proposed_new_state.as_ref(),
            &entry.ty,
            "proposed new state",
            &mut diags,
        );
        let config = decode(req.config.as_ref(), &entry.ty, "configuration", &mut diags);
        let (Some(prior), Some(proposed), Some(config)) = (prior, proposed, config) else {
            resp.diagnostics = finish_diagnostics(&diags);
            return resp;
        };
        if proposed.is_null() {
            // A destroy plan (only sent to providers announcing plan_destroy, which we
            // do not, but harmless): nothing to decide.
            resp.planned_state = Some(null_value());
            resp.diagnostics = finish_diagnostics(&diags);
            return resp;
        }
        let (planned, requires_replace) =
            plan::plan_resource_change(&entry.schema, &prior, &proposed, &config);
        let creating = prior.is_null();
        let mut request = PlanRequest {
            prior,
            config,
            planned,
            requires_replace,
            private: req.prior_private,
        };
        entry
            .handler
            .modify_plan(&ctx, &mut request, &mut diags)
            .await;
        let planned = complete(&entry.schema, request.planned);
        resp.planned_state = encode(&planned, &entry.ty, "planned state", &mut diags);
        if !creating {
            // Replacement paths mean nothing on create (Terraform ignores them there).
            let mut seen = Vec::new();
            for path in request.requires_replace {
                if !seen.contains(&path) {
                    seen.push(path);
                }
            }
            resp.requires_replace = seen.iter().map(path_to_proto).collect();
        }
        resp.planned_private = request.private;
        resp.diagnostics = finish_diagnostics(&diags);
        resp
    }

    async fn apply(
        &self,
        req: pb::apply_resource_change::Request,
    ) -> pb::apply_resource_change::Response {
        let mut diags = Diagnostics::new();
        let ctx = self.context("ApplyResourceChange");
        let mut resp = pb::apply_resource_change::Response {
            new_state: req.prior_state.clone(),
            private: req.planned_private.clone(),
            ..Default::default()
        };
        let Some(entry) = self.resource(&req.type_name, &mut diags) else {
            resp.diagnostics = finish_diagnostics(&diags);
            return resp;
        };
        let prior = decode(
            req.prior_state.as_ref(),
            &entry.ty,
            "prior state",
            &mut diags,
        );
        let planned = decode(
            req.planned_state.as_ref(),
            &entry.ty,
            "planned state",
            &mut diags,
        );
        let config = decode(req.config.as_ref(), &entry.ty, "configuration", &mut diags);
        let (Some(prior), Some(planned), Some(config)) = (prior, planned, config) else {
            resp.diagnostics = finish_diagnostics(&diags);
            return resp;
        };
        let private = req.planned_private;

        let (new_state, new_private) = if planned.is_null() {
            diags.extend(entry.handler.delete(&ctx, &prior, &private).await);
            if diags.has_errors() {
                // The object may still exist: keep it in state so the next run retries.
                (prior, private)
            } else {
                (Value::Null, Vec::new())
            }
        } else {
            let creating = prior.is_null();
            let result = if creating {
                entry
                    .handler
                    .create(&ctx, &config, &planned, &private)
                    .await
            } else {
                entry
                    .handler
                    .update(&ctx, &prior, &config, &planned, &private)
                    .await
            };
            diags.extend(result.diagnostics);
            let state = match result.new_state {
                Some(v) => complete(&entry.schema, v),
                None => {
                    if !diags.has_errors() {
                        diags.error(
                            "Provider returned no state",
                            format!(
                                "The {} {} handler finished without an error but returned \
                                 no state. This is a bug in the provider.",
                                req.type_name,
                                if creating { "create" } else { "update" }
                            ),
                        );
                    }
                    // A failed create leaves nothing to track; a failed update keeps
                    // the prior object.
                    if creating { Value::Null } else { prior }
                }
            };
            (state, keep_private(result.private, private))
        };
        if let Some(dv) = encode(&new_state, &entry.ty, "new state", &mut diags) {
            resp.new_state = Some(dv);
        }
        resp.private = new_private;
        resp.diagnostics = finish_diagnostics(&diags);
        resp
    }

    async fn import(
        &self,
        req: pb::import_resource_state::Request,
    ) -> pb::import_resource_state::Response {
        let mut diags = Diagnostics::new();
        let ctx = self.context("ImportResourceState");
        let mut resp = pb::import_resource_state::Response::default();
        let Some(entry) = self.resource(&req.type_name, &mut diags) else {
            resp.diagnostics = finish_diagnostics(&diags);
            return resp;
        };
        let result = entry.handler.import(&ctx, &req.id).await;
        diags.extend(result.diagnostics);
        match result.state {
            Some(state) => {
                let state = complete(&entry.schema, state);
                if let Some(dv) = encode(&state, &entry.ty, "imported state", &mut diags) {
                    resp.imported_resources
                        .push(pb::import_resource_state::ImportedResource {
                            type_name: req.type_name.clone(),
                            state: Some(dv),
                            private: [IMPORT_MARK, &result.private].concat(),
                            identity: None,
                        });
                }
            }
            None if !diags.has_errors() => diags.error(
                "Nothing to import",
                format!(
                    "The import of {} {:?} produced no object. This is a bug in the \
                     provider.",
                    req.type_name, req.id
                ),
            ),
            None => {}
        }
        resp.diagnostics = finish_diagnostics(&diags);
        resp
    }

    async fn read_data(
        &self,
        req: pb::read_data_source::Request,
    ) -> pb::read_data_source::Response {
        let mut diags = Diagnostics::new();
        let ctx = self.context("ReadDataSource");
        let mut resp = pb::read_data_source::Response {
            state: Some(null_value()),
            ..Default::default()
        };
        let Some(entry) = self.data_source(&req.type_name, &mut diags) else {
            resp.diagnostics = finish_diagnostics(&diags);
            return resp;
        };
        let Some(config) = decode(req.config.as_ref(), &entry.ty, "configuration", &mut diags)
        else {
            resp.diagnostics = finish_diagnostics(&diags);
            return resp;
        };
        let (state, read_diags) = entry.handler.read(&ctx, &config).await;
        diags.extend(read_diags);
        match state {
            Some(state) => {
                let state = complete(&entry.schema, state);
                if let Some(dv) = encode(&state, &entry.ty, "data source state", &mut diags) {
                    resp.state = Some(dv);
                }
            }
            None if !diags.has_errors() => diags.error(
                "Data source returned nothing",
                format!(
                    "Reading {} finished without an error but produced no value. This is \
                     a bug in the provider.",
                    req.type_name
                ),
            ),
            None => {}
        }
        resp.diagnostics = finish_diagnostics(&diags);
        resp
    }
}

#[cfg(test)]
mod panic_tests {
    use super::*;
    use crate::tfplugin::framework::{ApplyResult, ImportResult, ReadResult};
    use crate::tfplugin::schema::Attribute;

    /// A resource whose handlers panic when `name` is "boom".
    struct Fragile;

    fn boom(v: &Value) -> bool {
        v.get("name").and_then(Value::as_str) == Some("boom")
    }

    #[async_trait::async_trait]
    impl Resource for Fragile {
        fn type_name(&self) -> &'static str {
            "test_fragile"
        }
        fn schema(&self) -> Schema {
            Schema::new(
                "test",
                vec![
                    Attribute::string("id").computed().description("id"),
                    Attribute::string("name").required().description("name"),
                ],
            )
        }
        async fn create(&self, _: &Context, _: &Value, planned: &Value, _: &[u8]) -> ApplyResult {
            if boom(planned) {
                panic!("create exploded");
            }
            ApplyResult {
                new_state: Some(planned.clone()),
                ..Default::default()
            }
        }
        async fn read(&self, _: &Context, current: &Value, _: &[u8], _: ReadMode) -> ReadResult {
            if boom(current) {
                // A formatted message: the payload is a String, not a &str.
                let what = "read";
                panic!("{what} exploded");
            }
            ReadResult {
                new_state: Some(current.clone()),
                ..Default::default()
            }
        }
        async fn update(
            &self,
            _: &Context,
            _: &Value,
            _: &Value,
            p: &Value,
            _: &[u8],
        ) -> ApplyResult {
            ApplyResult {
                new_state: Some(p.clone()),
                ..Default::default()
            }
        }
        async fn delete(&self, _: &Context, _: &Value, _: &[u8]) -> Diagnostics {
            Diagnostics::new()
        }
        async fn import(&self, _: &Context, _: &str) -> ImportResult {
            ImportResult::default()
        }
    }

    struct TestProvider;

    #[async_trait::async_trait]
    impl Provider for TestProvider {
        fn name(&self) -> &'static str {
            "test"
        }
        fn schema(&self) -> Schema {
            Schema::new("test", Vec::new())
        }
        async fn configure(&self, _: &Context, _: ConfigureRequest) -> Diagnostics {
            panic!("configure exploded");
        }
        fn resources(&self) -> Vec<Arc<dyn Resource>> {
            vec![Arc::new(Fragile)]
        }
        fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
            Vec::new()
        }
    }

    fn state(name: &str) -> pb::DynamicValue {
        let ty = Fragile.schema().value_type();
        let v = Value::object([("id", Value::string("1")), ("name", Value::string(name))]);
        pb::DynamicValue {
            msgpack: dynamic_value::encode(&v, &ty).unwrap(),
            json: Vec::new(),
        }
    }

    fn errors(diags: &[pb::Diagnostic]) -> Vec<String> {
        diags
            .iter()
            .filter(|d| d.severity == pb::diagnostic::Severity::Error as i32)
            .map(|d| format!("{}: {}", d.summary, d.detail))
            .collect()
    }

    #[tokio::test]
    async fn a_panicking_handler_fails_its_rpc_only_and_the_provider_keeps_serving() {
        use pb::provider_server::Provider as _;
        let service = ProviderService::new(Arc::new(TestProvider), CancellationToken::new());

        // ReadResource panics: an error diagnostic, and the state Terraform sent is
        // answered back so the object stays in state.
        let sent = state("boom");
        let resp = service
            .read_resource(Request::new(pb::read_resource::Request {
                type_name: "test_fragile".into(),
                current_state: Some(sent.clone()),
                private: b"keep".to_vec(),
                ..Default::default()
            }))
            .await
            .expect("a response, not a gRPC error")
            .into_inner();
        let errs = errors(&resp.diagnostics);
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(errs[0].contains("ReadResource") && errs[0].contains("read exploded"));
        assert_eq!(resp.new_state, Some(sent));
        assert_eq!(resp.private, b"keep".to_vec());

        // ApplyResourceChange (a create) panics: an error, the prior (null) state kept.
        let resp = service
            .apply_resource_change(Request::new(pb::apply_resource_change::Request {
                type_name: "test_fragile".into(),
                prior_state: Some(null_value()),
                planned_state: Some(state("boom")),
                config: Some(state("boom")),
                ..Default::default()
            }))
            .await
            .expect("a response")
            .into_inner();
        assert_eq!(errors(&resp.diagnostics).len(), 1);
        assert_eq!(resp.new_state, Some(null_value()));

        // ConfigureProvider panics inside the provider itself: still only a diagnostic.
        let resp = service
            .configure_provider(Request::new(pb::configure_provider::Request {
                config: Some(null_value()),
                ..Default::default()
            }))
            .await
            .expect("a response")
            .into_inner();
        assert!(errors(&resp.diagnostics)[0].contains("configure exploded"));

        // The same service goes on serving: a healthy read works.
        let fine = state("fine");
        let resp = service
            .read_resource(Request::new(pb::read_resource::Request {
                type_name: "test_fragile".into(),
                current_state: Some(fine.clone()),
                ..Default::default()
            }))
            .await
            .expect("a response")
            .into_inner();
        assert!(errors(&resp.diagnostics).is_empty());
        assert_eq!(resp.new_state, Some(fine));
    }
}
