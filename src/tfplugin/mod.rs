//! The Terraform plugin protocol layer (tfplugin6 over go-plugin) and a small framework
//! for writing resources. Nothing here knows about Cloudflare.

pub mod codec;
pub mod diag;
pub mod framework;
pub mod plan;
pub mod proto;
pub mod schema;
pub mod validate;
pub mod value;

pub use diag::{AttributePath, Diagnostic, Diagnostics, PathStep, Severity};
pub use framework::{
    ApplyResult, ConfigureRequest, Context, DataSource, ImportResult, PlanRequest, Provider,
    ReadResult, Resource,
};
pub use schema::{AttrType, Attribute, Mode, Nesting, PlanModifier, Schema, Validator};
pub use value::{Number, Type, Value};
