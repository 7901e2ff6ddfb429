//! Managed resources, one file each: schema, validation, plan and CRUD together.

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
        Arc::new(linked_app_policy::LinkedAppPolicyResource::new(
            data.clone(),
        )),
        Arc::new(Typed(mcp_server_app::McpServerAppResource::new(
            data.clone(),
        ))),
    ]
}
