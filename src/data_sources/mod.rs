//! Data sources, one file each.

use std::sync::Arc;

use crate::provider::ProviderData;
use crate::tfplugin::DataSource;

/// Every data source type the provider serves.
pub fn all(data: &Arc<ProviderData>) -> Vec<Arc<dyn DataSource>> {
    let _ = data;
    vec![]
}
