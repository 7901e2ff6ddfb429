//! The provider's own RPCs: validating and applying its configuration.

use super::ProviderService;
use super::rpc::{Rpc, Shape as _};
use crate::tfplugin::diag::Diagnostics;
use crate::tfplugin::framework::ConfigureRequest;
use crate::tfplugin::proto::tfplugin6 as pb;
use crate::tfplugin::schema::Schema;
use crate::tfplugin::validate;
use crate::tfplugin::value::{Type, Value};

use super::wire::decode;

/// Decodes a configuration and runs the schema validators on it; `None` (with a
/// diagnostic) if it does not decode. The handler's own `validate` runs after this.
pub(super) fn checked_config(
    config: Option<&pb::DynamicValue>,
    schema: &Schema,
    ty: &Type,
    what: &str,
    diags: &mut Diagnostics,
) -> Option<Value> {
    let config = decode(config, ty, what, diags)?;
    diags.extend(validate::validate_config(schema, &config));
    Some(config)
}

impl Rpc for pb::validate_provider_config::Request {
    async fn handle(
        self,
        service: &ProviderService,
        _resp: &mut Self::Response,
        diags: &mut Diagnostics,
    ) -> Option<()> {
        let ctx = service.context(Self::NAME);
        let config = checked_config(
            self.config.as_ref(),
            &service.provider_schema,
            &service.provider_ty,
            "provider configuration",
            diags,
        )?;
        service.provider.validate(&ctx, &config, diags).await;
        Some(())
    }
}

impl Rpc for pb::configure_provider::Request {
    async fn handle(
        self,
        service: &ProviderService,
        _resp: &mut Self::Response,
        diags: &mut Diagnostics,
    ) -> Option<()> {
        let ctx = service.context(Self::NAME);
        let config = decode(
            self.config.as_ref(),
            &service.provider_ty,
            "provider configuration",
            diags,
        )?;
        let request = ConfigureRequest {
            config,
            terraform_version: self.terraform_version,
        };
        diags.extend(service.provider.configure(&ctx, request).await);
        Some(())
    }
}
