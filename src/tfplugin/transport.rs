//! Where the plugin listens and what it hands to the gRPC server: a unix socket (the
//! go-plugin default on Unix) or TCP on 127.0.0.1, optionally wrapped in TLS.
//!
//! TLS handshakes run in their own tasks so a slow or refused client never holds up
//! the next one; only connections that completed the handshake reach tonic.

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
#[cfg(unix)]
use tokio::net::UnixListener;
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_stream::wrappers::ReceiverStream;

/// Which kind of socket to listen on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Transport {
    /// A unix domain socket in `PLUGIN_UNIX_SOCKET_DIR` or the temp directory (TCP on
    /// platforms without unix sockets, as go-plugin does).
    #[default]
    Unix,
    /// TCP on 127.0.0.1, on a port within `PLUGIN_MIN_PORT..=PLUGIN_MAX_PORT`.
    Tcp,
}

/// Why the listener could not be created.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    /// No port in the allowed range could be bound.
    #[error("no free TCP port on 127.0.0.1 between {min} and {max}")]
    NoFreePort { min: u16, max: u16 },
    /// `PLUGIN_MIN_PORT`/`PLUGIN_MAX_PORT` are not a valid range.
    #[error("invalid plugin port range {0}")]
    BadPortRange(String),
    /// Creating the socket failed.
    #[error("could not listen on {what}: {source}")]
    Io {
        what: String,
        #[source]
        source: io::Error,
    },
}

/// Anything a gRPC connection can run over.
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

/// One accepted connection (plain or TLS), as tonic consumes it.
pub struct Conn(Box<dyn Io>);

impl Conn {
    /// Wraps any stream.
    pub fn new(io: impl Io) -> Self {
        Conn(Box::new(io))
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_shutdown(cx)
    }
}

impl tonic::transport::server::Connected for Conn {
    type ConnectInfo = ();
    fn connect_info(&self) -> Self::ConnectInfo {}
}

/// A bound listener plus what the handshake line must say about it.
pub enum PluginListener {
    #[cfg(unix)]
    Unix {
        listener: UnixListener,
        path: PathBuf,
    },
    Tcp(TcpListener),
}

impl PluginListener {
    /// Binds a listener of the requested kind.
    pub async fn bind(transport: Transport) -> Result<Self, ListenError> {
        match transport {
            #[cfg(unix)]
            Transport::Unix => Self::bind_unix(),
            #[cfg(not(unix))]
            Transport::Unix => Self::bind_tcp().await,
            Transport::Tcp => Self::bind_tcp().await,
        }
    }

    #[cfg(unix)]
    fn bind_unix() -> Result<Self, ListenError> {
        let dir = std::env::var_os("PLUGIN_UNIX_SOCKET_DIR")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        // A fresh random name: several providers (and several runs) share the directory.
        let path = dir.join(format!(
            "tf-provider-cfaccess-{}.sock",
            uuid::Uuid::new_v4()
        ));
        let listener = UnixListener::bind(&path).map_err(|source| ListenError::Io {
            what: path.display().to_string(),
            source,
        })?;
        restrict_socket_permissions(&path);
        Ok(PluginListener::Unix { listener, path })
    }

    async fn bind_tcp() -> Result<Self, ListenError> {
        let (min, max) = port_range()?;
        for port in min..=max {
            if let Ok(listener) = TcpListener::bind(("127.0.0.1", port)).await {
                return Ok(PluginListener::Tcp(listener));
            }
        }
        Err(ListenError::NoFreePort { min, max })
    }

    /// `unix` or `tcp`, as in the handshake line and the reattach configuration.
    pub fn network(&self) -> &'static str {
        match self {
            #[cfg(unix)]
            PluginListener::Unix { .. } => "unix",
            PluginListener::Tcp(_) => "tcp",
        }
    }

    /// The socket path or `127.0.0.1:port`.
    pub fn address(&self) -> String {
        match self {
            #[cfg(unix)]
            PluginListener::Unix { path, .. } => path.display().to_string(),
            PluginListener::Tcp(l) => l
                .local_addr()
                .map(|a| a.to_string())
                .unwrap_or_else(|_| "127.0.0.1:0".to_string()),
        }
    }

    /// The unix socket file to remove at exit, if any.
    pub fn socket_path(&self) -> Option<&Path> {
        match self {
            #[cfg(unix)]
            PluginListener::Unix { path, .. } => Some(path),
            PluginListener::Tcp(_) => None,
        }
    }

    async fn accept(&self) -> io::Result<Conn> {
        match self {
            #[cfg(unix)]
            PluginListener::Unix { listener, .. } => {
                listener.accept().await.map(|(s, _)| Conn::new(s))
            }
            PluginListener::Tcp(listener) => {
                let (s, _) = listener.accept().await?;
                // gRPC frames are small and latency-bound.
                let _ = s.set_nodelay(true);
                Ok(Conn::new(s))
            }
        }
    }

    /// The stream of connections for tonic: plain, or TLS-terminated with `tls` (only
    /// connections whose handshake succeeded are yielded). The accept loop runs until
    /// the returned stream is dropped.
    pub fn incoming(
        self: Arc<Self>,
        tls: Option<TlsAcceptor>,
    ) -> ReceiverStream<Result<Conn, io::Error>> {
        let (tx, rx) = mpsc::channel(16);
        tokio::spawn(async move {
            loop {
                let conn = tokio::select! {
                    _ = tx.closed() => return,
                    conn = self.accept() => conn,
                };
                let conn = match conn {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!(error = %e, "accepting a plugin connection failed");
                        // Avoid a hot loop on persistent errors such as EMFILE.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                match &tls {
                    None => {
                        if tx.send(Ok(conn)).await.is_err() {
                            return;
                        }
                    }
                    Some(acceptor) => {
                        let acceptor = acceptor.clone();
                        let tx = tx.clone();
                        tokio::spawn(async move {
                            if let Some(c) = tls_handshake(&acceptor, conn).await {
                                let _ = tx.send(Ok(c)).await;
                            }
                        });
                    }
                }
            }
        });
        ReceiverStream::new(rx)
    }
}

/// How long a client may take to complete the TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

async fn tls_handshake(acceptor: &TlsAcceptor, conn: Conn) -> Option<Conn> {
    match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(conn)).await {
        Ok(Ok(tls)) => {
            tracing::debug!("TLS connection established; client certificate verified");
            Some(Conn::new(tls))
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "refused a plugin connection: TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::warn!("refused a plugin connection: TLS handshake timed out");
            None
        }
    }
}

/// Only our own user may connect: the socket is the provider's whole API.
#[cfg(unix)]
fn restrict_socket_permissions(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
        tracing::warn!(error = %e, "could not restrict the plugin socket permissions");
    }
}

/// `PLUGIN_MIN_PORT`..=`PLUGIN_MAX_PORT`, defaulting to go-plugin's 10000..=25000.
fn port_range() -> Result<(u16, u16), ListenError> {
    parse_port_range(
        std::env::var("PLUGIN_MIN_PORT").ok().as_deref(),
        std::env::var("PLUGIN_MAX_PORT").ok().as_deref(),
    )
}

fn parse_port_range(min: Option<&str>, max: Option<&str>) -> Result<(u16, u16), ListenError> {
    let parse = |v: Option<&str>, default: u16| -> Result<u16, ListenError> {
        match v.map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(default),
            Some(s) => s
                .parse::<u16>()
                .map_err(|_| ListenError::BadPortRange(format!("{s:?}"))),
        }
    };
    let (lo, hi) = (parse(min, 10000)?, parse(max, 25000)?);
    if lo > hi || lo == 0 {
        return Err(ListenError::BadPortRange(format!("{lo}..{hi}")));
    }
    Ok((lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_range_defaults_and_validation() {
        assert_eq!(parse_port_range(None, None).unwrap(), (10000, 25000));
        assert_eq!(
            parse_port_range(Some("20000"), Some("20010")).unwrap(),
            (20000, 20010)
        );
        assert!(parse_port_range(Some("300"), Some("200")).is_err());
        assert!(parse_port_range(Some("x"), None).is_err());
        assert!(parse_port_range(Some("0"), None).is_err());
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn unix_listener_reports_its_socket() {
        let l = PluginListener::bind(Transport::Unix).await.unwrap();
        assert_eq!(l.network(), "unix");
        let path = l.socket_path().unwrap().to_path_buf();
        assert!(path.exists());
        assert_eq!(l.address(), path.display().to_string());
        drop(l);
        let _ = std::fs::remove_file(path);
    }
}
