//! Acceptance tests: the real `terraform` binary (1.0.3 from `.tools/bin`, or
//! `$TERRAFORM`) drives the provider binary cargo builds for this test crate, through
//! `dev_overrides`, against a per-test emulator. See `acceptance/support.rs`.
//!
//! Run only these with `make testacc` (or `cargo test --test acceptance`).

#[macro_use]
#[path = "acceptance/support.rs"]
mod support;

/// The release helpers shared with `tests/release.rs` (the mirror install).
#[allow(dead_code)]
#[path = "docs/support.rs"]
mod release_support;

#[path = "acceptance/access_application.rs"]
mod access_application;
#[path = "acceptance/bad_input.rs"]
mod bad_input;
#[path = "acceptance/fidelity.rs"]
mod fidelity;
#[path = "acceptance/linked_app_policy.rs"]
mod linked_app_policy;
#[path = "acceptance/mcp_server_app.rs"]
mod mcp_server_app;
#[path = "acceptance/modern.rs"]
mod modern;
#[path = "acceptance/oauth.rs"]
mod oauth;
#[path = "acceptance/provider.rs"]
mod provider;
#[path = "acceptance/reliability.rs"]
mod reliability;
#[path = "acceptance/secrets.rs"]
mod secrets;
#[path = "acceptance/shared_apps.rs"]
mod shared_apps;
#[path = "acceptance/steps.rs"]
mod steps;
