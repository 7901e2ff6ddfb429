//! `terraform-provider-cfaccess`: started by Terraform as a plugin, or by hand with
//! `--debug`, `--version` or `--help`.

use std::process::ExitCode;
use std::sync::Arc;

use cfaccess::provider::CfAccessProvider;
use cfaccess::tfplugin::logging;
use cfaccess::tfplugin::serve::{ServeOptions, serve};
use cfaccess::tfplugin::transport::Transport;

/// Source address users put in `required_providers`, fully qualified.
const PROVIDER_ADDRESS: &str = "registry.terraform.io/cfaccess/cfaccess";

/// Set to `tcp` to listen on 127.0.0.1 instead of a unix socket.
const TRANSPORT_ENV: &str = "CFACCESS_PLUGIN_TRANSPORT";

const USAGE: &str = "\
terraform-provider-cfaccess: Terraform provider for Cloudflare Access Linked App Token
wiring of MCP servers.

Terraform starts this binary itself; declare the provider in required_providers:

    terraform {
      required_providers {
        cfaccess = { source = \"cfaccess/cfaccess\" }
      }
    }

Usage:
    terraform-provider-cfaccess --debug     serve for a debugger; prints TF_REATTACH_PROVIDERS
    terraform-provider-cfaccess --version   print the version
    terraform-provider-cfaccess --help      print this help

Environment:
    TF_LOG_PROVIDER / TF_LOG     log level (TRACE, DEBUG, INFO, WARN, ERROR)
    CFACCESS_PLUGIN_TRANSPORT    `tcp` to listen on 127.0.0.1 instead of a unix socket
                                 (refused without TLS, e.g. in --debug mode)
";

enum Command {
    Serve { debug: bool },
    Version,
    Help,
}

fn parse_args(args: &[String]) -> Result<Command, String> {
    match args {
        [] => Ok(Command::Serve { debug: false }),
        [flag] => match flag.as_str() {
            "--debug" | "-debug" => Ok(Command::Serve { debug: true }),
            "--version" | "-version" | "version" => Ok(Command::Version),
            "--help" | "-help" | "-h" | "help" => Ok(Command::Help),
            other => Err(format!("unknown argument {other:?}")),
        },
        _ => Err("too many arguments".to_string()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let debug = match parse_args(&args) {
        Ok(Command::Serve { debug }) => debug,
        Ok(Command::Version) => {
            println!("terraform-provider-cfaccess {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Ok(Command::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("error: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };

    logging::init();
    let transport = match std::env::var(TRANSPORT_ENV).as_deref() {
        Ok("tcp") => Transport::Tcp,
        _ => Transport::Unix,
    };
    let opts = ServeOptions {
        debug,
        provider_address: PROVIDER_ADDRESS.to_string(),
        transport,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(serve(Arc::new(CfAccessProvider::new()), opts));
    let code = match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("{e}");
            1
        }
    };
    // Exit now rather than wait for stray tasks (idle streams, a handler still blocked
    // on the network): Terraform kills us two seconds after Shutdown anyway.
    std::process::exit(code);
}
