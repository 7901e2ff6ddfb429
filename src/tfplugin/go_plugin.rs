//! The go-plugin services Terraform's plugin client talks to besides tfplugin6:
//! GRPCController (shutdown), GRPCBroker and GRPCStdio (idle streams: this provider
//! opens no side channels and writes nothing to stdout), and gRPC health.

use std::pin::Pin;

use futures::{Stream, StreamExt};
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status, Streaming};

use super::proto::plugin::{
    self as pb, grpc_broker_server::GrpcBroker, grpc_controller_server::GrpcController,
    grpc_stdio_server::GrpcStdio,
};

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// The health service name go-plugin clients check.
pub const HEALTH_SERVICE: &str = "plugin";

/// `plugin.GRPCController`: `Shutdown` asks the process to exit. The answer goes out
/// first; the server then stops (see `serve`), since the client kills the process if it
/// has not exited two seconds later.
pub struct Controller {
    shutdown: CancellationToken,
}

impl Controller {
    /// A controller that cancels `shutdown` when asked to stop.
    pub fn new(shutdown: CancellationToken) -> Self {
        Controller { shutdown }
    }
}

#[tonic::async_trait]
impl GrpcController for Controller {
    async fn shutdown(&self, _req: Request<pb::Empty>) -> Result<Response<pb::Empty>, Status> {
        tracing::debug!("GRPCController.Shutdown received; exiting");
        self.shutdown.cancel();
        Ok(Response::new(pb::Empty {}))
    }
}

/// `plugin.GRPCBroker`: the client always opens the stream; we never offer side
/// connections, so it only idles until the client or the server goes away.
pub struct Broker {
    shutdown: CancellationToken,
}

impl Broker {
    /// A broker whose streams end when `shutdown` is cancelled.
    pub fn new(shutdown: CancellationToken) -> Self {
        Broker { shutdown }
    }
}

#[tonic::async_trait]
impl GrpcBroker for Broker {
    async fn start_stream(
        &self,
        req: Request<Streaming<pb::ConnInfo>>,
    ) -> Result<Response<BoxStream<pb::ConnInfo>>, Status> {
        let mut inbound = req.into_inner();
        let client_gone = CancellationToken::new();
        let gone = client_gone.clone();
        tokio::spawn(async move {
            // Nothing to act on: we never asked for connections.
            while let Some(Ok(_)) = inbound.next().await {}
            gone.cancel();
        });
        let shutdown = self.shutdown.clone();
        let idle =
            futures::stream::pending::<Result<pb::ConnInfo, Status>>().take_until(async move {
                tokio::select! {
                    _ = client_gone.cancelled() => {},
                    _ = shutdown.cancelled() => {},
                }
            });
        Ok(Response::new(Box::pin(idle)))
    }
}

/// `plugin.GRPCStdio`: the provider never writes to stdout/stderr except logs, which
/// Terraform reads from the process's stderr directly; the stream stays open and empty.
pub struct Stdio {
    shutdown: CancellationToken,
}

impl Stdio {
    /// A stdio service whose stream ends when `shutdown` is cancelled.
    pub fn new(shutdown: CancellationToken) -> Self {
        Stdio { shutdown }
    }
}

#[tonic::async_trait]
impl GrpcStdio for Stdio {
    async fn stream_stdio(
        &self,
        _req: Request<()>,
    ) -> Result<Response<BoxStream<pb::StdioData>>, Status> {
        let shutdown = self.shutdown.clone().cancelled_owned();
        let idle = futures::stream::pending::<Result<pb::StdioData, Status>>().take_until(shutdown);
        Ok(Response::new(Box::pin(idle)))
    }
}
