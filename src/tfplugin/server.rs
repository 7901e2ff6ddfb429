//! The `tfplugin6.Provider` gRPC service on top of the framework traits.
//!
//! This is the one place where wire messages become framework values and back: every
//! `DynamicValue` is decoded against the schema of its type, the generic parts of each
//! RPC run here (schema validators, the plan engine, private-state carry-over, null
//! filling of partial objects), and handlers only see plain
//! [`Value`](super::value::Value)s.
//!
//! Domain failures are returned as diagnostics inside a normal response, never as a
//! gRPC status: Terraform turns a status into a generic "plugin error" and, on apply,
//! would lose the partial state the response carries.
//!
//! The submodules each hold one part: `rpc` runs every RPC the same way (span,
//! panic guard, diagnostics), `call` is what a handler works with, `wire` converts
//! values, and `provider_rpcs`, `resource_rpcs` and `data_source_rpcs` hold the
//! per-RPC handlers.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use super::diag::Diagnostics;
use super::framework::{Context, DataSource, Provider, Resource};
use super::proto::tfplugin6::{self as pb, provider_server::ProviderServer};
use super::schema::Schema;
use super::schema_proto::schema_to_proto;
use super::value::Type;

mod call;
mod data_source_rpcs;
mod provider_rpcs;
mod resource_rpcs;
mod rpc;
mod wire;

#[cfg(test)]
mod panic_tests;

use rpc::{serve, traced};

/// Largest message accepted or sent, as terraform-plugin-go allows (tonic's default
/// receive limit of 4 MiB is too small for large states).
pub const MAX_MESSAGE_SIZE: usize = 256 * 1024 * 1024;

/// A registered resource or data source: its handler, schema and value type.
struct Entry<H: ?Sized> {
    handler: Arc<H>,
    schema: Schema,
    ty: Type,
}

/// Serves one [`Provider`] over tfplugin6.
pub struct ProviderService {
    provider: Entry<dyn Provider>,
    resources: BTreeMap<String, Entry<dyn Resource>>,
    data_sources: BTreeMap<String, Entry<dyn DataSource>>,
    schema_response: pb::get_provider_schema::Response,
    stop: CancellationToken,
}

/// Indexes handlers by type name, with their schema and value type computed once.
fn registry<H: ?Sized>(
    handlers: Vec<Arc<H>>,
    describe: impl Fn(&H) -> (&'static str, Schema),
) -> BTreeMap<String, Entry<H>> {
    handlers
        .into_iter()
        .map(|handler| {
            let (name, schema) = describe(&handler);
            let ty = schema.value_type();
            let entry = Entry {
                handler,
                schema,
                ty,
            };
            (name.to_string(), entry)
        })
        .collect()
}

/// The wire schemas of a registry, by type name.
fn schemas_to_proto<H: ?Sized>(
    entries: &BTreeMap<String, Entry<H>>,
) -> std::collections::HashMap<String, pb::Schema> {
    entries
        .iter()
        .map(|(name, e)| (name.clone(), schema_to_proto(&e.schema)))
        .collect()
}

impl ProviderService {
    /// Collects the provider's schemas once; `stop` is handed to every handler and
    /// cancelled by StopProvider.
    pub fn new(provider: Arc<dyn Provider>, stop: CancellationToken) -> Self {
        let schema = provider.schema();
        let resources = registry(provider.resources(), |h| (h.type_name(), h.schema()));
        let data_sources = registry(provider.data_sources(), |h| (h.type_name(), h.schema()));
        let schema_response = pb::get_provider_schema::Response {
            provider: Some(schema_to_proto(&schema)),
            resource_schemas: schemas_to_proto(&resources),
            data_source_schemas: schemas_to_proto(&data_sources),
            server_capabilities: Some(server_capabilities()),
            ..Default::default()
        };
        ProviderService {
            provider: Entry {
                handler: provider,
                ty: schema.value_type(),
                schema,
            },
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

    fn resource(&self, type_name: &str, diags: &mut Diagnostics) -> Option<&Entry<dyn Resource>> {
        lookup(
            &self.resources,
            "resource",
            self.provider.handler.name(),
            type_name,
            diags,
        )
    }

    fn data_source(
        &self,
        type_name: &str,
        diags: &mut Diagnostics,
    ) -> Option<&Entry<dyn DataSource>> {
        lookup(
            &self.data_sources,
            "data source",
            self.provider.handler.name(),
            type_name,
            diags,
        )
    }
}

/// The entry for `type_name`, or an "Unknown … type" error diagnostic.
fn lookup<'a, H: ?Sized>(
    entries: &'a BTreeMap<String, Entry<H>>,
    kind: &str,
    provider: &str,
    type_name: &str,
    diags: &mut Diagnostics,
) -> Option<&'a Entry<H>> {
    let found = entries.get(type_name);
    if found.is_none() {
        diags.error(
            format!("Unknown {kind} type"),
            format!("The {provider} provider has no {kind} type {type_name:?}."),
        );
    }
    found
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

/// Each guarded RPC is `serve` with the handler its request type implements (see
/// `rpc::Rpc`); only the metadata, schema and stop RPCs answer directly.
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
        serve(self, req).await
    }

    async fn validate_resource_config(
        &self,
        req: Request<pb::validate_resource_config::Request>,
    ) -> Result<Response<pb::validate_resource_config::Response>, Status> {
        serve(self, req).await
    }

    async fn validate_data_resource_config(
        &self,
        req: Request<pb::validate_data_resource_config::Request>,
    ) -> Result<Response<pb::validate_data_resource_config::Response>, Status> {
        serve(self, req).await
    }

    async fn upgrade_resource_state(
        &self,
        req: Request<pb::upgrade_resource_state::Request>,
    ) -> Result<Response<pb::upgrade_resource_state::Response>, Status> {
        serve(self, req).await
    }

    async fn configure_provider(
        &self,
        req: Request<pb::configure_provider::Request>,
    ) -> Result<Response<pb::configure_provider::Response>, Status> {
        serve(self, req).await
    }

    async fn read_resource(
        &self,
        req: Request<pb::read_resource::Request>,
    ) -> Result<Response<pb::read_resource::Response>, Status> {
        serve(self, req).await
    }

    async fn plan_resource_change(
        &self,
        req: Request<pb::plan_resource_change::Request>,
    ) -> Result<Response<pb::plan_resource_change::Response>, Status> {
        serve(self, req).await
    }

    async fn apply_resource_change(
        &self,
        req: Request<pb::apply_resource_change::Request>,
    ) -> Result<Response<pb::apply_resource_change::Response>, Status> {
        serve(self, req).await
    }

    async fn import_resource_state(
        &self,
        req: Request<pb::import_resource_state::Request>,
    ) -> Result<Response<pb::import_resource_state::Response>, Status> {
        serve(self, req).await
    }

    async fn read_data_source(
        &self,
        req: Request<pb::read_data_source::Request>,
    ) -> Result<Response<pb::read_data_source::Response>, Status> {
        serve(self, req).await
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
