//! The provider's own RPCs: validating and applying its configuration.

use super::call::Call;
use super::rpc::Rpc;
use crate::tfplugin::framework::ConfigureRequest;
use crate::tfplugin::proto::tfplugin6 as pb;

impl Rpc for pb::validate_provider_config::Request {
    async fn handle(self, call: &mut Call<'_, Self::Response>) -> Option<()> {
        let service = call.service;
        call.validate(
            &service.provider,
            self.config.as_ref(),
            "provider configuration",
        )
        .await
    }
}

impl Rpc for pb::configure_provider::Request {
    async fn handle(self, call: &mut Call<'_, Self::Response>) -> Option<()> {
        let config = call.decode(
            self.config.as_ref(),
            &call.service.provider.ty,
            "provider configuration",
        )?;
        let request = ConfigureRequest {
            config,
            terraform_version: self.terraform_version,
        };
        call.diags.extend(
            call.service
                .provider
                .handler
                .configure(&call.ctx, request)
                .await,
        );
        Some(())
    }
}
