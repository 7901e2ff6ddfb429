//! Where the plugin listens and what it hands to the gRPC server: a unix socket (the
//! go-plugin default on Unix) or TCP on 127.0.0.1, optionally wrapped in TLS.
//!
//! TLS handshakes run in their own tasks so a slow or refused client never holds up
//! the next one, at most [`MAX_CONCURRENT_TLS_HANDSHAKES`] at a time; only connections
//! that completed the handshake reach tonic.
//!
//! The unix socket is created inside a fresh directory that only our user can enter
//! (mode 0700, created by us, never reused), so no other local user can reach the
//! socket, not even between `bind` and a `chmod`. That matters most without TLS
//! (debug mode, `TF_DISABLE_PLUGIN_TLS`), where the socket is the only barrier between
//! other users and the configured API token.

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
use tokio::sync::{Semaphore, mpsc};
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
    /// The plugin protocol was asked to run over TCP without TLS.
    #[error(
        "refusing to serve the plugin protocol over TCP without TLS: anyone on this \
         machine could connect and act with the configured API token. Use the unix socket \
         transport (unset CFACCESS_PLUGIN_TRANSPORT), or let Terraform set up TLS (unset \
         TF_DISABLE_PLUGIN_TLS)"
    )]
    TcpWithoutTls,
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
        /// The socket, inside `dir`.
        path: PathBuf,
        /// The private (0700) directory created for the socket.
        dir: PathBuf,
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

    /// Binds a listener that will carry the protocol without TLS: a unix socket only
    /// (TCP is refused, see [`ListenError::TcpWithoutTls`]).
    pub async fn bind_without_tls(transport: Transport) -> Result<Self, ListenError> {
        match transport {
            #[cfg(unix)]
            Transport::Unix => Self::bind_unix(),
            _ => Err(ListenError::TcpWithoutTls),
        }
    }

    #[cfg(unix)]
    fn bind_unix() -> Result<Self, ListenError> {
        let base = std::env::var_os("PLUGIN_UNIX_SOCKET_DIR")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        let dir = private_dir(&base)?;
        let path = dir.join("plugin.sock");
        let listener = match UnixListener::bind(&path) {
            Ok(listener) => listener,
            Err(source) => {
                let _ = std::fs::remove_dir(&dir);
                return Err(ListenError::Io {
                    what: path.display().to_string(),
                    source,
                });
            }
        };
        // Belt and braces: the directory already keeps everyone else out.
        restrict_socket_permissions(&path);
        Ok(PluginListener::Unix {
            listener,
            path,
            dir,
        })
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

    /// The unix socket file, if any.
    pub fn socket_path(&self) -> Option<&Path> {
        match self {
            #[cfg(unix)]
            PluginListener::Unix { path, .. } => Some(path),
            PluginListener::Tcp(_) => None,
        }
    }

    /// Removes the unix socket and its private directory (at exit).
    pub fn remove_socket(&self) {
        #[cfg(unix)]
        if let PluginListener::Unix { path, dir, .. } = self {
            let _ = std::fs::remove_file(path);
            let _ = std::fs::remove_dir(dir);
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
        let handshakes = Arc::new(Semaphore::new(MAX_CONCURRENT_TLS_HANDSHAKES));
        self.incoming_limited(tls, handshakes)
    }

    /// [`PluginListener::incoming`] with the handshake slots given: a connection is
    /// accepted only once a slot is free, and holds it until its handshake ends.
    fn incoming_limited(
        self: Arc<Self>,
        tls: Option<TlsAcceptor>,
        handshakes: Arc<Semaphore>,
    ) -> ReceiverStream<Result<Conn, io::Error>> {
        let (tx, rx) = mpsc::channel(16);
        tokio::spawn(async move {
            loop {
                // With TLS, wait for a handshake slot before accepting: connections
                // that stall their handshake then queue in the kernel's backlog
                // instead of costing a task and a TLS state each.
                let slot = match &tls {
                    None => None,
                    Some(_) => tokio::select! {
                        _ = tx.closed() => return,
                        slot = handshakes.clone().acquire_owned() => match slot {
                            Ok(slot) => Some(slot),
                            Err(_) => return,
                        },
                    },
                };
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
                            let handshake = tls_handshake(&acceptor, conn).await;
                            drop(slot);
                            if let Some(c) = handshake {
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

/// TLS handshakes in progress at once. Terraform opens one connection per plugin
/// process; the cap only bounds what a local process hammering the port can cost.
pub const MAX_CONCURRENT_TLS_HANDSHAKES: usize = 8;

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

/// Creates a new directory for the socket under `base`, mode 0700 from the start
/// (`mkdir` with that mode, not a `chmod` after), with a random name. `mkdir` fails
/// rather than reuse an existing path, so a directory planted by someone else is never
/// used.
#[cfg(unix)]
fn private_dir(base: &Path) -> Result<PathBuf, ListenError> {
    use std::os::unix::fs::DirBuilderExt;
    let dir = base.join(format!("tfcfaccess-{}", uuid::Uuid::new_v4().simple()));
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .map_err(|source| ListenError::Io {
            what: dir.display().to_string(),
            source,
        })?;
    // The umask can only remove bits; make sure nothing but 0700 is there.
    restrict_permissions(&dir, 0o700);
    Ok(dir)
}

/// Only our own user may connect: the socket is the provider's whole API.
#[cfg(unix)]
fn restrict_socket_permissions(path: &Path) {
    restrict_permissions(path, 0o600);
}

#[cfg(unix)]
fn restrict_permissions(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)) {
        tracing::warn!(error = %e, path = %path.display(), "could not restrict permissions");
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
        l.remove_socket();
        assert!(!path.exists());
        assert!(
            !path.parent().unwrap().exists(),
            "the private directory goes too"
        );
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn the_socket_lives_in_a_fresh_directory_only_we_can_enter() {
        use std::os::unix::fs::PermissionsExt;
        let l = PluginListener::bind_without_tls(Transport::Unix)
            .await
            .unwrap();
        let path = l.socket_path().unwrap().to_path_buf();
        let dir = path.parent().unwrap();
        let meta = std::fs::metadata(dir).unwrap();
        assert_eq!(
            meta.permissions().mode() & 0o777,
            0o700,
            "{}",
            dir.display()
        );
        let socket_mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(socket_mode & 0o077, 0, "socket mode {socket_mode:o}");
        // Two listeners never share a directory.
        let other = PluginListener::bind(Transport::Unix).await.unwrap();
        assert_ne!(other.socket_path().unwrap().parent(), Some(dir));
        l.remove_socket();
        other.remove_socket();
    }

    #[cfg(unix)]
    #[test]
    fn an_existing_directory_is_never_reused() {
        use std::os::unix::fs::PermissionsExt;
        let base = std::env::temp_dir().join(format!("cfaccess-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir(&base).unwrap();
        std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o777)).unwrap();
        let a = private_dir(&base).unwrap();
        let b = private_dir(&base).unwrap();
        assert_ne!(a, b);
        // mkdir, not mkdir -p: a path that already exists is an error.
        assert!(std::fs::DirBuilder::new().create(&a).is_err());
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[tokio::test]
    async fn tcp_without_tls_is_refused_with_a_clear_message() {
        let err = PluginListener::bind_without_tls(Transport::Tcp)
            .await
            .err()
            .expect("refused");
        let text = err.to_string();
        assert!(text.contains("TCP without TLS"), "{text}");
        assert!(text.contains("CFACCESS_PLUGIN_TRANSPORT"), "{text}");
    }

    #[tokio::test]
    async fn concurrent_tls_handshakes_are_capped() {
        use crate::tfplugin::mtls;
        let identity = mtls::ServerIdentity::generate().unwrap();
        let client_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let client_cert = rcgen::CertificateParams::new(vec!["localhost".into()])
            .unwrap()
            .self_signed(&client_key)
            .unwrap();
        let config = mtls::server_config(&identity, client_cert.der().clone()).unwrap();
        let listener = Arc::new(PluginListener::bind(Transport::Tcp).await.unwrap());
        let addr = listener.address();
        let slots = Arc::new(Semaphore::new(2));
        let _incoming = listener
            .clone()
            .incoming_limited(Some(TlsAcceptor::from(config)), slots.clone());

        // Three clients that connect and never say hello: two hold the two slots, the
        // third waits in the backlog; never more than two handshakes at once.
        let mut stalled = Vec::new();
        for _ in 0..3 {
            stalled.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
        }
        // Polled rather than slept on: on a loaded machine the accept loop may take a
        // while, and a fixed sleep would make the test flaky without making it stricter.
        let reaches = |want: usize| {
            let slots = slots.clone();
            async move {
                let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
                while slots.available_permits() != want {
                    if tokio::time::Instant::now() > deadline {
                        return false;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                true
            }
        };
        assert!(reaches(0).await, "{} slots free", slots.available_permits());
        // One client leaves: its handshake fails, its slot goes to the third client.
        drop(stalled.remove(0));
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(reaches(0).await, "{} slots free", slots.available_permits());
        // Everyone leaves: the slots come back (a failed handshake returns its slot);
        // the accept loop already holds one for the next connection.
        stalled.clear();
        assert!(reaches(1).await, "{} slots free", slots.available_permits());
    }
}
