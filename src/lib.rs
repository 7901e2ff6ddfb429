//! terraform-provider-cfaccess: declarative, drift-aware Cloudflare Access wiring for
//! MCP servers (Linked App Token policies).

pub mod tfplugin;
