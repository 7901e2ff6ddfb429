//! What a handler works with: one RPC in progress, with helpers that report their
//! failures into its diagnostics.

use futures::future::BoxFuture;

use super::wire;
use super::{Entry, ProviderService};
use crate::tfplugin::diag::Diagnostics;
use crate::tfplugin::framework::{Context, DataSource, Provider, Resource};
use crate::tfplugin::proto::tfplugin6 as pb;
use crate::tfplugin::validate;
use crate::tfplugin::value::{Type, Value};

/// One RPC in progress: what its handler reads (the service, a context) and fills
/// (the response and the diagnostics).
pub(super) struct Call<'a, R> {
    pub(super) service: &'a ProviderService,
    pub(super) ctx: Context,
    pub(super) resp: R,
    pub(super) diags: Diagnostics,
}

impl<'a, R> Call<'a, R> {
    /// The registered resource `type_name`, or an error diagnostic.
    pub(super) fn resource(&mut self, type_name: &str) -> Option<&'a Entry<dyn Resource>> {
        self.service.resource(type_name, &mut self.diags)
    }

    /// The registered data source `type_name`, or an error diagnostic.
    pub(super) fn data_source(&mut self, type_name: &str) -> Option<&'a Entry<dyn DataSource>> {
        self.service.data_source(type_name, &mut self.diags)
    }

    /// [`wire::decode`] into this call's diagnostics.
    pub(super) fn decode(
        &mut self,
        dv: Option<&pb::DynamicValue>,
        ty: &Type,
        what: &str,
    ) -> Option<Value> {
        wire::decode(dv, ty, what, &mut self.diags)
    }

    /// Decodes each `(value, what)` pair, all of them (so every failure is reported),
    /// and returns them only if all decoded.
    pub(super) fn decode_all<const N: usize>(
        &mut self,
        ty: &Type,
        values: [(Option<&pb::DynamicValue>, &str); N],
    ) -> Option<[Value; N]> {
        let decoded = values.map(|(dv, what)| self.decode(dv, ty, what));
        let all: Vec<Value> = decoded.into_iter().collect::<Option<_>>()?;
        all.try_into().ok()
    }

    /// [`wire::encode`] into this call's diagnostics.
    pub(super) fn encode(&mut self, v: &Value, ty: &Type, what: &str) -> Option<pb::DynamicValue> {
        wire::encode(v, ty, what, &mut self.diags)
    }

    /// Decodes a configuration, runs the schema's validators on it, then the
    /// handler's own checks; `None` (with a diagnostic) if it does not decode.
    pub(super) async fn validate<H: Validate + ?Sized>(
        &mut self,
        entry: &Entry<H>,
        config: Option<&pb::DynamicValue>,
        what: &str,
    ) -> Option<()> {
        let config = self.decode(config, &entry.ty, what)?;
        self.diags
            .extend(validate::validate_config(&entry.schema, &config));
        entry
            .handler
            .validate(&self.ctx, &config, &mut self.diags)
            .await;
        Some(())
    }
}

/// The check every kind of handler (provider, resource, data source) may add after
/// the schema's validators.
pub(super) trait Validate: Send + Sync {
    /// The handler's own `validate`.
    fn validate<'a>(
        &'a self,
        ctx: &'a Context,
        config: &'a Value,
        diags: &'a mut Diagnostics,
    ) -> BoxFuture<'a, ()>;
}

/// Implements [`Validate`] for each handler trait object by calling its `validate`.
macro_rules! validate_by {
    ($($handler:ident),*) => {$(
        impl Validate for dyn $handler {
            fn validate<'a>(
                &'a self,
                ctx: &'a Context,
                config: &'a Value,
                diags: &'a mut Diagnostics,
            ) -> BoxFuture<'a, ()> {
                $handler::validate(self, ctx, config, diags)
            }
        }
    )*};
}

validate_by!(Provider, Resource, DataSource);
