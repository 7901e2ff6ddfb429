//! Generates the gRPC code for tfplugin6 and the go-plugin services.
//!
//! The `.proto` files are parsed by `protox` (pure Rust), so a fresh machine needs no
//! system `protoc`; the resulting descriptor set is handed to tonic-prost-build.

use std::error::Error;

const PROTO_DIR: &str = "proto";
const PROTOS: &[&str] = &["proto/tfplugin6.proto", "proto/go_plugin.proto"];

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed={PROTO_DIR}");
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }

    let descriptors = protox::compile(PROTOS, [PROTO_DIR])?;

    tonic_prost_build::configure()
        .build_server(true)
        // The client side serves the protocol tests (a tonic client playing Terraform).
        .build_client(true)
        // RPCs this provider does not implement answer `Unimplemented`, which Terraform
        // reports as "Unsupported plugin method" and newer clients probe for.
        .generate_default_stubs(true)
        .compile_fds(descriptors)?;
    Ok(())
}
