//! Launching a provider binary the way go-plugin does and timing it until its schema
//! has been served: process start → handshake line → mutual-TLS gRPC connection →
//! `GetProviderSchema` answered.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use base64::Engine as _;
use cfaccess::tfplugin::proto::plugin::Empty;
use cfaccess::tfplugin::proto::plugin::grpc_controller_client::GrpcControllerClient;
use cfaccess::tfplugin::proto::tfplugin6 as pb;
use cfaccess::tfplugin::proto::tfplugin6::provider_client::ProviderClient;
use prost::Message as _;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

use crate::BoxError;
use crate::support::certs::ClientIdentity;
use crate::support::{Address, channel};
use crate::tls::client_config;

/// go-plugin's handshake cookie for Terraform providers.
const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
const MAGIC_COOKIE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

/// How long go-plugin waits for a handshake line.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(60);

/// One launch of a provider, timed.
#[derive(Clone, Debug)]
pub struct SchemaTiming {
    /// Process start until the handshake line was read.
    pub to_handshake: Duration,
    /// Process start until `GetProviderSchema` was answered.
    pub to_schema: Duration,
    /// Size of the encoded `GetProviderSchema` response.
    pub schema_bytes: usize,
    /// Managed resource types in the schema.
    pub resource_types: usize,
    /// Data source types in the schema.
    pub data_source_types: usize,
    /// Peak resident set size (VmHWM) of the process once the schema was served, KiB.
    pub peak_rss_kib: Option<u64>,
    /// Its private (anonymous) part at that moment (RssAnon), KiB; the rest is pages of
    /// the binary and libraries, shared through the page cache.
    pub anon_rss_kib: Option<u64>,
}

/// The protocol version `binary` announces when Terraform offers only `offered`
/// (e.g. `"6"`), without connecting to it.
pub async fn announced_protocol(binary: &Path, offered: &str) -> Result<String, BoxError> {
    let identity = ClientIdentity::terraform_like();
    let socket_dir = tempfile::tempdir()?;
    let mut child = command(binary, &identity, socket_dir.path(), offered).spawn()?;
    let line = read_handshake(&mut child).await;
    let _ = child.kill().await;
    let line = line?;
    let fields = split_handshake(&line)?;
    Ok(fields[1].to_string())
}

/// Launches `binary` with protocol 6 offered and AutoMTLS on, fetches its schema over
/// mutual TLS, then asks it to shut down as Terraform does.
pub async fn handshake_to_schema(binary: &Path) -> Result<SchemaTiming, BoxError> {
    // Terraform generates its certificate before it launches the plugin.
    let identity = ClientIdentity::terraform_like();
    let socket_dir = tempfile::tempdir()?;
    let mut cmd = command(binary, &identity, socket_dir.path(), "6");

    let started = Instant::now();
    let mut child = cmd.spawn()?;
    let line = read_handshake(&mut child).await?;
    let to_handshake = started.elapsed();
    let fields = split_handshake(&line)?;
    let address = Address {
        network: fields[2].to_string(),
        address: fields[3].to_string(),
    };
    let server_cert = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(fields[5].trim_end_matches('='))
        .map_err(|e| format!("handshake certificate is not base64: {e}"))?;
    let tls = client_config(&server_cert, &identity)?;
    let channel = channel(&address, Some(tls)).await?;
    let mut provider = ProviderClient::new(channel.clone())
        .max_decoding_message_size(256 << 20)
        .max_encoding_message_size(256 << 20);
    let schema = provider
        .get_provider_schema(pb::get_provider_schema::Request {})
        .await?
        .into_inner();
    let to_schema = started.elapsed();

    let pid = child.id();
    let peak_rss_kib = pid.and_then(|p| proc_status_kib(p, "VmHWM:"));
    let anon_rss_kib = pid.and_then(|p| proc_status_kib(p, "RssAnon:"));
    let timing = SchemaTiming {
        to_handshake,
        to_schema,
        schema_bytes: schema.encoded_len(),
        resource_types: schema.resource_schemas.len(),
        data_source_types: schema.data_source_schemas.len(),
        peak_rss_kib,
        anon_rss_kib,
    };

    let mut controller = GrpcControllerClient::new(channel);
    let _ = controller.shutdown(Empty {}).await;
    if tokio::time::timeout(Duration::from_secs(5), child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
    Ok(timing)
}

/// The environment Terraform gives a plugin, and nothing else (no credentials).
fn command(
    binary: &Path,
    identity: &ClientIdentity,
    socket_dir: &Path,
    offered: &str,
) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(binary);
    cmd.env_clear()
        .env(MAGIC_COOKIE_KEY, MAGIC_COOKIE)
        .env("PLUGIN_PROTOCOL_VERSIONS", offered)
        .env("PLUGIN_CLIENT_CERT", &identity.cert_pem)
        .env("PLUGIN_MIN_PORT", "10000")
        .env("PLUGIN_MAX_PORT", "25000")
        .env("PLUGIN_UNIX_SOCKET_DIR", socket_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    cmd
}

/// Reads the first stdout line, then keeps draining stdout in the background so the
/// plugin can never block on a full pipe.
async fn read_handshake(child: &mut tokio::process::Child) -> Result<String, BoxError> {
    let stdout = child.stdout.take().ok_or("plugin stdout is not piped")?;
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    tokio::time::timeout(HANDSHAKE_TIMEOUT, reader.read_line(&mut line))
        .await
        .map_err(|_| "no handshake line within 60 s")??;
    tokio::spawn(async move {
        let mut sink = Vec::new();
        let _ = reader.read_to_end(&mut sink).await;
    });
    if line.trim().is_empty() {
        return Err("the plugin exited without a handshake line".into());
    }
    Ok(line)
}

/// The six `|`-separated fields of a go-plugin handshake line.
fn split_handshake(line: &str) -> Result<Vec<&str>, BoxError> {
    let fields: Vec<&str> = line.trim_end().splitn(6, '|').collect();
    if fields.len() != 6 || fields[4] != "grpc" {
        return Err(format!("not a go-plugin gRPC handshake line: {line:?}").into());
    }
    Ok(fields)
}

/// A `kB` field of `/proc/<pid>/status` (e.g. `VmHWM:`), KiB.
fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}
