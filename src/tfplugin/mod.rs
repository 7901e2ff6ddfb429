//! The Terraform plugin protocol layer (tfplugin6 over go-plugin) and a small framework
//! for writing resources. Nothing here knows about Cloudflare.

pub mod bridge;
pub mod codec;
pub mod debug;
pub mod diag;
pub mod diag_proto;
pub mod field;
pub mod framework;
pub mod go_plugin;
pub mod handshake;
pub mod logging;
pub mod mtls;
pub mod plan;
pub mod proto;
pub mod schema;
pub mod schema_proto;
pub mod serve;
pub mod server;
pub mod transport;
pub mod typed;
pub mod validate;
pub mod value;

pub use diag::{AttributePath, Diagnostic, Diagnostics, PathStep, Severity};
pub use field::Field;
pub use framework::{
    ApplyResult, ConfigureRequest, Context, DataSource, ImportResult, PlanRequest, Provider,
    ReadMode, ReadResult, Resource,
};
pub use schema::{AttrType, Attribute, Mode, Nesting, PlanModifier, Schema, Validator};
pub use typed::{
    Create, Failure, Outcome, Plan, Saved, Typed, TypedDataSource, TypedResource, Update,
};
pub use value::{Number, Type, Value};
