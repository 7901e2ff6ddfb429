//! The data-source RPCs: validate and read.

use super::call::Call;
use super::rpc::Rpc;
use super::wire::complete;
use crate::tfplugin::proto::tfplugin6 as pb;

impl Rpc for pb::validate_data_resource_config::Request {
    async fn handle(self, call: &mut Call<'_, Self::Response>) -> Option<()> {
        let entry = call.data_source(&self.type_name)?;
        call.validate(entry, self.config.as_ref(), "configuration")
            .await
    }
}

impl Rpc for pb::read_data_source::Request {
    async fn handle(self, call: &mut Call<'_, Self::Response>) -> Option<()> {
        let entry = call.data_source(&self.type_name)?;
        let config = call.decode(self.config.as_ref(), &entry.ty, "configuration")?;
        let (state, read_diags) = entry.handler.read(&call.ctx, &config).await;
        call.diags.extend(read_diags);
        match state {
            Some(state) => {
                let state = complete(&entry.schema, state);
                if let Some(dv) = call.encode(&state, &entry.ty, "data source state") {
                    call.resp.state = Some(dv);
                }
            }
            None if !call.diags.has_errors() => call.diags.error(
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
