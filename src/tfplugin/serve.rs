//! Running a provider as a Terraform plugin: handshake, AutoMTLS, the gRPC services,
//! signals and shutdown — or the same services in debug (reattach) mode.

use std::io::{self, Write as _};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tonic::transport::Server;
use tonic_health::ServingStatus;

use super::debug;
use super::framework::Provider;
use super::go_plugin::{Broker, Controller, HEALTH_SERVICE, Stdio};
use super::handshake::{self, HandshakeError};
use super::mtls::{self, MtlsError, ServerIdentity};
use super::proto::plugin::{
    grpc_broker_server::GrpcBrokerServer, grpc_controller_server::GrpcControllerServer,
    grpc_stdio_server::GrpcStdioServer,
};
use super::server::ProviderService;
use super::transport::{ListenError, PluginListener, Transport};

/// How to serve.
#[derive(Clone, Debug, Default)]
pub struct ServeOptions {
    /// Debug (reattach) mode: no cookie, no TLS (so a private unix socket only), print
    /// `TF_REATTACH_PROVIDERS`.
    pub debug: bool,
    /// Full provider source address, e.g. `registry.terraform.io/cfaccess/cfaccess`
    /// (the key of the reattach configuration).
    pub provider_address: String,
    /// Unix socket (default) or TCP on 127.0.0.1 (TCP only with TLS).
    pub transport: Transport,
}

/// Why serving stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Not launched by Terraform, or no common protocol version.
    #[error(transparent)]
    Handshake(#[from] HandshakeError),
    /// AutoMTLS could not be set up.
    #[error(transparent)]
    Tls(#[from] MtlsError),
    /// No socket to listen on.
    #[error(transparent)]
    Listen(#[from] ListenError),
    /// The gRPC server failed.
    #[error("gRPC server error: {0}")]
    Grpc(#[from] tonic::transport::Error),
    /// The handshake line could not be written.
    #[error("could not write to stdout: {0}")]
    Stdout(#[source] io::Error),
    /// Signal handlers could not be installed.
    #[error("could not install signal handlers: {0}")]
    Signals(#[source] io::Error),
}

/// Once shutdown starts, how long open streams get to close before we stop anyway
/// (go-plugin kills the process two seconds after asking it to exit).
const SHUTDOWN_GRACE: Duration = Duration::from_millis(750);

/// Serves `provider` until Terraform shuts it down (managed mode) or until interrupted
/// (debug mode). Returns once the server has stopped; the caller should then exit.
pub async fn serve(provider: Arc<dyn Provider>, opts: ServeOptions) -> Result<(), ServeError> {
    if opts.debug {
        serve_debug(provider, &opts).await
    } else {
        serve_managed(provider, &opts).await
    }
}

async fn serve_managed(provider: Arc<dyn Provider>, opts: &ServeOptions) -> Result<(), ServeError> {
    handshake::check_magic_cookie()?;
    let version = handshake::negotiate_protocol_version()?;
    let shutdown = CancellationToken::new();
    // Installed first: from now on SIGINT no longer kills us (Terraform coordinates
    // the stop through StopProvider and waits for in-flight applies).
    watch_signals(shutdown.clone(), false)?;
    watch_parent(shutdown.clone());

    // TLS iff Terraform gave us its certificate (TF_DISABLE_PLUGIN_TLS removes it).
    let tls = match std::env::var("PLUGIN_CLIENT_CERT") {
        Ok(pem) if !pem.trim().is_empty() => {
            let client_cert = mtls::parse_client_cert(&pem)?;
            let identity = ServerIdentity::generate()?;
            let config = mtls::server_config(&identity, client_cert)?;
            Some((
                tokio_rustls::TlsAcceptor::from(config),
                identity.handshake_field(),
            ))
        }
        _ => {
            tracing::warn!("PLUGIN_CLIENT_CERT is not set: serving without TLS");
            None
        }
    };
    let (acceptor, cert_field) = match tls {
        Some((a, f)) => (Some(a), f),
        None => (None, String::new()),
    };

    // Without TLS the socket's permissions are the only protection: unix only.
    let listener = Arc::new(match acceptor {
        Some(_) => PluginListener::bind(opts.transport).await?,
        None => PluginListener::bind_without_tls(opts.transport).await?,
    });
    let router = services(provider, shutdown.clone()).await;
    let incoming = listener.clone().incoming(acceptor);

    // The listener is bound, so connections queue from here on: announce it. This is
    // the only line this process ever writes to stdout.
    let line = handshake::handshake_line(
        version,
        listener.network(),
        &listener.address(),
        &cert_field,
    );
    announce(&line)?;
    tracing::debug!(network = listener.network(), address = %listener.address(), "plugin listening");

    let result = run_until_shutdown(router, incoming, shutdown).await;
    listener.remove_socket();
    result
}

async fn serve_debug(provider: Arc<dyn Provider>, opts: &ServeOptions) -> Result<(), ServeError> {
    let shutdown = CancellationToken::new();
    watch_signals(shutdown.clone(), true)?;
    // Terraform's reattach client speaks no TLS: a private unix socket only.
    let listener = Arc::new(PluginListener::bind_without_tls(opts.transport).await?);
    let router = services(provider, shutdown.clone()).await;
    let incoming = listener.clone().incoming(None);
    let env_line = debug::reattach_env_line(
        &opts.provider_address,
        std::process::id(),
        listener.network(),
        &listener.address(),
    );
    announce(&debug::banner(&env_line))?;
    let result = run_until_shutdown(router, incoming, shutdown).await;
    listener.remove_socket();
    result
}

/// All gRPC services of a plugin process.
async fn services(
    provider: Arc<dyn Provider>,
    shutdown: CancellationToken,
) -> tonic::transport::server::Router {
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_service_status(HEALTH_SERVICE, ServingStatus::Serving)
        .await;
    // In-flight handlers also see the process stopping.
    let stop = shutdown.child_token();
    Server::builder()
        .add_service(health_service)
        .add_service(ProviderService::new(provider, stop).into_grpc())
        .add_service(GrpcControllerServer::new(Controller::new(shutdown.clone())))
        .add_service(GrpcBrokerServer::new(Broker::new(shutdown.clone())))
        .add_service(GrpcStdioServer::new(Stdio::new(shutdown)))
}

async fn run_until_shutdown(
    router: tonic::transport::server::Router,
    incoming: tokio_stream::wrappers::ReceiverStream<Result<super::transport::Conn, io::Error>>,
    shutdown: CancellationToken,
) -> Result<(), ServeError> {
    let serving = router.serve_with_incoming_shutdown(incoming, shutdown.clone().cancelled_owned());
    tokio::pin!(serving);
    tokio::select! {
        result = &mut serving => result.map_err(ServeError::from),
        _ = async {
            shutdown.cancelled().await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => {
            tracing::debug!("connections still open after shutdown grace; stopping anyway");
            Ok(())
        }
    }
}

fn announce(text: &str) -> Result<(), ServeError> {
    let mut out = io::stdout().lock();
    writeln!(out, "{text}").map_err(ServeError::Stdout)?;
    out.flush().map_err(ServeError::Stdout)
}

/// How often the parent process is checked.
#[cfg(unix)]
const PARENT_POLL: Duration = Duration::from_secs(1);

/// Shuts down when Terraform goes away without telling us. A Terraform that crashes
/// (or is killed) never calls Shutdown, and since SIGINT is ignored the provider would
/// otherwise live on as an orphan; being re-parented is the sign.
#[cfg(unix)]
fn watch_parent(shutdown: CancellationToken) {
    let parent = std::os::unix::process::parent_id();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(PARENT_POLL) => {}
            }
            if std::os::unix::process::parent_id() != parent {
                tracing::warn!("Terraform exited without stopping the provider; shutting down");
                shutdown.cancel();
                return;
            }
        }
    });
}

#[cfg(not(unix))]
fn watch_parent(_shutdown: CancellationToken) {}

/// SIGTERM always shuts down. SIGINT shuts down in debug mode only: in managed mode
/// Ctrl-C reaches Terraform and us alike, and Terraform stops us through StopProvider
/// after in-flight applies have returned their state.
#[cfg(unix)]
fn watch_signals(shutdown: CancellationToken, interrupt_stops: bool) -> Result<(), ServeError> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).map_err(ServeError::Signals)?;
    let mut int = signal(SignalKind::interrupt()).map_err(ServeError::Signals)?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = term.recv() => {
                    tracing::debug!("SIGTERM received; shutting down");
                    shutdown.cancel();
                    return;
                }
                _ = int.recv() => {
                    if interrupt_stops {
                        tracing::debug!("interrupt received; shutting down");
                        shutdown.cancel();
                        return;
                    }
                    tracing::debug!("interrupt ignored; Terraform coordinates the stop");
                }
            }
        }
    });
    Ok(())
}

#[cfg(not(unix))]
fn watch_signals(shutdown: CancellationToken, interrupt_stops: bool) -> Result<(), ServeError> {
    tokio::spawn(async move {
        loop {
            if tokio::signal::ctrl_c().await.is_err() {
                return;
            }
            if interrupt_stops {
                shutdown.cancel();
                return;
            }
        }
    });
    Ok(())
}
