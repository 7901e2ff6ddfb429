//! Code generated from `proto/` by `build.rs`: the tfplugin6 messages and service, and
//! the go-plugin services (package `plugin`).

/// tfplugin6 (protocol 6.10): messages, the `Provider` server trait and a client.
#[allow(clippy::all, clippy::pedantic, missing_docs, rustdoc::all)]
pub mod tfplugin6 {
    include!(concat!(env!("OUT_DIR"), "/tfplugin6.rs"));
}

/// go-plugin's GRPCController, GRPCBroker and GRPCStdio.
#[allow(clippy::all, clippy::pedantic, missing_docs, rustdoc::all)]
pub mod plugin {
    include!(concat!(env!("OUT_DIR"), "/plugin.rs"));
}
