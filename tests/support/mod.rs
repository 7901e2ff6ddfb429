//! Test harness playing Terraform's side of the plugin protocol: client certificates,
//! launching the provider binary the way go-plugin does, parsing its handshake, and
//! gRPC channels over unix sockets or TCP, with or without (mutual) TLS.
#![allow(dead_code)]

pub mod certs;
pub mod echo;
pub mod plugin;

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use cfaccess::tfplugin::transport::Conn;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tonic::codegen::Service;
use tonic::codegen::http::Uri;
use tonic::transport::{Channel, Endpoint};

/// Where a plugin listens: `("unix", path)` or `("tcp", "127.0.0.1:port")`.
#[derive(Clone, Debug)]
pub struct Address {
    pub network: String,
    pub address: String,
}

/// Dials a plugin address, optionally running a TLS client handshake on top.
#[derive(Clone)]
pub struct Connector {
    addr: Address,
    tls: Option<tokio_rustls::TlsConnector>,
}

impl Service<Uri> for Connector {
    type Response = TokioIo<Conn>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Self::Response>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _uri: Uri) -> Self::Future {
        let addr = self.addr.clone();
        let tls = self.tls.clone();
        Box::pin(async move {
            let raw = match addr.network.as_str() {
                "unix" => Conn::new(tokio::net::UnixStream::connect(&addr.address).await?),
                "tcp" => Conn::new(tokio::net::TcpStream::connect(&addr.address).await?),
                other => {
                    return Err(io::Error::other(format!("unknown network {other}")));
                }
            };
            let conn = match tls {
                None => raw,
                Some(connector) => {
                    let name = ServerName::try_from("localhost").map_err(io::Error::other)?;
                    Conn::new(connector.connect(name, raw).await?)
                }
            };
            Ok(TokioIo::new(conn))
        })
    }
}

/// A gRPC channel to `addr`, over TLS when `tls` is given. Fails when the connection
/// (including the TLS handshake) cannot be established.
pub async fn channel(
    addr: &Address,
    tls: Option<Arc<rustls::ClientConfig>>,
) -> Result<Channel, tonic::transport::Error> {
    let connector = Connector {
        addr: addr.clone(),
        tls: tls.map(tokio_rustls::TlsConnector::from),
    };
    Endpoint::from_static("http://localhost")
        .connect_with_connector(connector)
        .await
}
