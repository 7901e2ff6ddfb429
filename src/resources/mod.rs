//! Managed resources, one folder each: schema, model, validation, plan and CRUD.

mod import_id;
pub mod linked_app_policy;
pub mod mcp_server_app;
mod recorded;
#[cfg(test)]
mod test_harness;

use std::sync::Arc;

use crate::api::ProviderData;
use crate::tfplugin::{Resource, Typed};

/// Every resource type the provider serves.
pub fn all(data: &Arc<ProviderData>) -> Vec<Arc<dyn Resource>> {
    vec![
        Arc::new(Typed(linked_app_policy::LinkedAppPolicyResource::new(
            data.clone(),
        ))),
        Arc::new(Typed(mcp_server_app::McpServerAppResource::new(
            data.clone(),
        ))),
    ]
}
