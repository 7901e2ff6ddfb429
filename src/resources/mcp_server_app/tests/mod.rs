//! Tests of `cfaccess_mcp_server_app`, by topic.

mod emulator;
mod oauth;
mod support;
mod unit;
