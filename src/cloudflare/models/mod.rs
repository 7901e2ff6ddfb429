//! Typed request and response bodies of the Access API.

pub mod app;
pub mod app_type;
pub(crate) mod lenient;
pub mod policy;
pub mod rule;
pub(crate) mod timestamp;
