//! Data sources, one folder each.

pub mod access_application;

use std::sync::Arc;

use crate::api::ProviderData;
use crate::tfplugin::{DataSource, Typed};

/// Every data source type the provider serves.
pub fn all(data: &Arc<ProviderData>) -> Vec<Arc<dyn DataSource>> {
    vec![Arc::new(Typed(
        access_application::AccessApplicationDataSource::new(data.clone()),
    ))]
}
