//! terraform-provider-cfaccess: declarative, drift-aware Cloudflare Access wiring for
//! MCP servers (Linked App Token policies).
//!
//! Layers, each knowing only the one below it:
//! - [`tfplugin`]: the Terraform plugin protocol and a small resource framework;
//! - [`cloudflare`]: the typed Access API client;
//! - [`provider`], [`resources`], [`data_sources`]: the Terraform types, one file each;
//! - [`errors`]: the single place client errors become diagnostics.

pub mod api;
pub mod cloudflare;
pub mod common;
pub mod data_sources;
pub mod errors;
pub mod provider;
pub mod resources;
pub mod tfplugin;
