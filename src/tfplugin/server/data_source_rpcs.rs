//! The data-source RPCs: validate and read.

use super::ProviderService;
use super::provider_rpcs::checked_config;
use super::rpc::{Rpc, Shape as _};
use super::wire::{complete, decode, encode};
use crate::tfplugin::diag::Diagnostics;
use crate::tfplugin::proto::tfplugin6 as pb;

impl Rpc for pb::validate_data_resource_config::Request {
    async fn handle(
        self,
        service: &ProviderService,
        _resp: &mut Self::Response,
        diags: &mut Diagnostics,
    ) -> Option<()> {
        let ctx = service.context(Self::NAME);
        let entry = service.data_source(&self.type_name, diags)?;
        let config = checked_config(
            self.config.as_ref(),
            &entry.schema,
            &entry.ty,
            "configuration",
            diags,
        )?;
        entry.handler.validate(&ctx, &config, diags).await;
        Some(())
    }
}

impl Rpc for pb::read_data_source::Request {
    async fn handle(
        self,
        service: &ProviderService,
        resp: &mut Self::Response,
        diags: &mut Diagnostics,
    ) -> Option<()> {
        let ctx = service.context(Self::NAME);
        let entry = service.data_source(&self.type_name, diags)?;
        let config = decode(self.config.as_ref(), &entry.ty, "configuration", diags)?;
        let (state, read_diags) = entry.handler.read(&ctx, &config).await;
        diags.extend(read_diags);
        match state {
            Some(state) => {
                let state = complete(&entry.schema, state);
                if let Some(dv) = encode(&state, &entry.ty, "data source state", diags) {
                    resp.state = Some(dv);
                }
            }
            None if !diags.has_errors() => diags.error(
                "Data source returned nothing",
                format!(
                    "Reading {} finished without an error but produced no value. This is \
                     a bug in the provider.",
                    self.type_name
                ),
            ),
            None => {}
        }
        Some(())
    }
}
