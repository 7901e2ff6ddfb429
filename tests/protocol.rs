//! Protocol tests: a tonic client plays Terraform against
//! - the real provider binary, launched as go-plugin launches it (magic cookie,
//!   `PLUGIN_PROTOCOL_VERSIONS=5,6`, a P-521 `PLUGIN_CLIENT_CERT`) and reached over
//!   mutual TLS; and
//! - an in-process echo provider whose schema uses every cty type, served by the same
//!   `ProviderService`, for the RPC plumbing that the Cloudflare resources cannot show
//!   without an API.

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::atomic::Ordering;
use std::time::Duration;

use cfaccess::tfplugin::codec::{msgpack, type_json};
use cfaccess::tfplugin::diag_proto::{diagnostic_from_proto, path_from_proto};
use cfaccess::tfplugin::proto::plugin::grpc_broker_client::GrpcBrokerClient;
use cfaccess::tfplugin::proto::plugin::grpc_controller_client::GrpcControllerClient;
use cfaccess::tfplugin::proto::plugin::grpc_stdio_client::GrpcStdioClient;
use cfaccess::tfplugin::proto::plugin::{self as goplugin};
use cfaccess::tfplugin::proto::tfplugin6 as pb;
use cfaccess::tfplugin::proto::tfplugin6::provider_client::ProviderClient;
use cfaccess::tfplugin::{AttributePath, Diagnostic, Number, Severity, Type, Value};
use support::certs::{ClientIdentity, Presenting, client_config, client_config_for};
use support::plugin::{Plugin, terraform_command};
use support::{Address, echo};
use tonic::transport::Channel;

// ---------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------

/// The provider binary, launched with AutoMTLS on, plus the identity Terraform would hold.
struct Managed {
    plugin: Plugin,
    client: ClientIdentity,
}

impl Managed {
    fn start() -> Managed {
        Self::start_with(|_| {})
    }

    fn start_with(extra: impl FnOnce(&mut std::process::Command)) -> Managed {
        let client = ClientIdentity::terraform_like();
        let mut cmd = terraform_command(Some(&client));
        extra(&mut cmd);
        let plugin = Plugin::start(cmd);
        Managed { plugin, client }
    }

    fn tls(&self, presenting: Presenting<'_>) -> std::sync::Arc<rustls::ClientConfig> {
        client_config(&self.plugin.handshake.server_cert_der(), presenting)
    }

    /// A channel as Terraform opens it: TLS, presenting the certificate it handed over.
    async fn channel(&self) -> Channel {
        support::channel(
            &self.plugin.handshake.addr,
            Some(self.tls(Presenting::Cert(&self.client))),
        )
        .await
        .expect("Terraform's client must be able to connect")
    }

    async fn provider(&self) -> ProviderClient<Channel> {
        ProviderClient::new(self.channel().await)
    }

    /// Asks the plugin to exit the way go-plugin's `Kill` does.
    async fn shutdown(&mut self) {
        let mut controller = GrpcControllerClient::new(self.channel().await);
        controller.shutdown(goplugin::Empty {}).await.unwrap();
    }
}

fn dv(bytes: Vec<u8>) -> Option<pb::DynamicValue> {
    Some(pb::DynamicValue {
        msgpack: bytes,
        json: Vec::new(),
    })
}

fn encode(v: &Value, ty: &Type) -> Option<pb::DynamicValue> {
    dv(msgpack::encode(v, ty).unwrap())
}

fn decode(dv: &Option<pb::DynamicValue>, ty: &Type) -> Value {
    let dv = dv.as_ref().expect("response must carry a value");
    assert!(dv.json.is_empty(), "responses are msgpack only");
    msgpack::decode(&dv.msgpack, ty).unwrap()
}

fn diags(list: &[pb::Diagnostic]) -> Vec<Diagnostic> {
    list.iter().map(diagnostic_from_proto).collect()
}

fn errors(list: &[pb::Diagnostic]) -> Vec<Diagnostic> {
    diags(list)
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .collect()
}

/// The message of an RPC that must answer normally (a gRPC status fails the test).
fn answer<T>(reply: Result<tonic::Response<T>, tonic::Status>) -> T {
    reply.expect("a normal response").into_inner()
}

#[track_caller]
fn assert_no_diagnostics(list: &[pb::Diagnostic]) {
    assert!(list.is_empty(), "{list:?}");
}

#[track_caller]
fn assert_no_errors(list: &[pb::Diagnostic]) {
    assert!(errors(list).is_empty(), "{list:?}");
}

/// `GetProviderSchema`, the first RPC of every Terraform command.
async fn get_schema(
    client: &mut ProviderClient<Channel>,
) -> Result<pb::get_provider_schema::Response, tonic::Status> {
    client
        .get_provider_schema(pb::get_provider_schema::Request {})
        .await
        .map(tonic::Response::into_inner)
}

/// Connects to `addr` (over `tls` when given) and asks for the schema; a failure to
/// connect or a refused RPC comes back as its message.
async fn schema_via(
    addr: &Address,
    tls: Option<std::sync::Arc<rustls::ClientConfig>>,
) -> Result<pb::get_provider_schema::Response, String> {
    let channel = support::channel(addr, tls)
        .await
        .map_err(|e| e.to_string())?;
    get_schema(&mut ProviderClient::new(channel))
        .await
        .map_err(|e| e.to_string())
}

/// The cty type of a schema block as Terraform derives it from the wire schema.
fn block_type(schema: &pb::Schema) -> Type {
    fn attr_type(a: &pb::schema::Attribute) -> Type {
        match &a.nested_type {
            None => type_json::decode(&a.r#type).unwrap(),
            Some(obj) => {
                let inner = Type::Object(
                    obj.attributes
                        .iter()
                        .map(|a| (a.name.clone(), attr_type(a)))
                        .collect(),
                );
                use pb::schema::object::NestingMode;
                match NestingMode::try_from(obj.nesting).unwrap() {
                    NestingMode::Single => inner,
                    NestingMode::List => Type::list(inner),
                    NestingMode::Set => Type::set(inner),
                    NestingMode::Map => Type::map(inner),
                    NestingMode::Invalid => panic!("invalid nesting for {}", a.name),
                }
            }
        }
    }
    fn object_of_block(block: &pb::schema::Block) -> Type {
        use pb::schema::nested_block::NestingMode;
        let attrs = block
            .attributes
            .iter()
            .map(|a| (a.name.clone(), attr_type(a)));
        let blocks = block.block_types.iter().map(|b| {
            let inner = object_of_block(b.block.as_ref().unwrap());
            let ty = match NestingMode::try_from(b.nesting).unwrap() {
                NestingMode::Single | NestingMode::Group => inner,
                NestingMode::List => Type::list(inner),
                NestingMode::Set => Type::set(inner),
                NestingMode::Map => Type::map(inner),
                NestingMode::Invalid => panic!("invalid nesting for block {}", b.type_name),
            };
            (b.type_name.clone(), ty)
        });
        Type::Object(attrs.chain(blocks).collect())
    }
    object_of_block(schema.block.as_ref().unwrap())
}

/// An object of type `ty` with every attribute null except those in `set`.
fn object_with(ty: &Type, set: &[(&str, Value)]) -> Value {
    let Type::Object(attrs) = ty else {
        panic!("{ty:?} is not an object type")
    };
    let mut obj: BTreeMap<String, Value> = attrs.keys().map(|k| (k.clone(), Value::Null)).collect();
    for (k, v) in set {
        assert!(obj.contains_key(*k), "no attribute {k}");
        obj.insert(k.to_string(), v.clone());
    }
    Value::Object(obj)
}

/// A provider config object where every attribute is null except `set`.
fn provider_config(ty: &Type, set: &[(&str, Value)]) -> Value {
    object_with(ty, set)
}

async fn provider_type(client: &mut ProviderClient<Channel>) -> Type {
    let schema = get_schema(client).await.unwrap();
    block_type(schema.provider.as_ref().unwrap())
}

/// Go's layout `2006-01-02T15:04:05.000000Z07:00` with a `Z` zone.
fn is_hclog_timestamp(s: &str) -> bool {
    regex::Regex::new(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$")
        .expect("the timestamp pattern compiles")
        .is_match(s)
}

// ---------------------------------------------------------------------------------
// The real binary: handshake, AutoMTLS, go-plugin services
// ---------------------------------------------------------------------------------

#[test]
fn run_by_hand_it_explains_itself_and_exits_1() {
    let out = std::process::Command::new(support::plugin::BINARY)
        .env_remove(support::plugin::MAGIC_COOKIE_KEY)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "nothing may go to stdout");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("This binary is a plugin."),
        "stderr: {stderr}"
    );

    // A wrong cookie is no better than none.
    let out = std::process::Command::new(support::plugin::BINARY)
        .env(support::plugin::MAGIC_COOKIE_KEY, "not-the-cookie")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
}

#[test]
fn a_client_offering_only_protocol_5_is_refused() {
    let out = terraform_command(None)
        .env("PLUGIN_PROTOCOL_VERSIONS", "4,5")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("protocol 6"));
}

#[test]
fn version_and_help_flags() {
    let out = std::process::Command::new(support::plugin::BINARY)
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("terraform-provider-cfaccess {}", env!("CARGO_PKG_VERSION"))
    );
    let out = std::process::Command::new(support::plugin::BINARY)
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--debug"));
    let out = std::process::Command::new(support::plugin::BINARY)
        .arg("--bogus")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test]
async fn handshake_announces_protocol_6_over_a_unix_socket_with_the_tls_cert() {
    let managed = Managed::start();
    let hs = &managed.plugin.handshake;
    assert_eq!(hs.core_version, "1");
    assert_eq!(hs.app_version, "6");
    assert_eq!(hs.addr.network, "unix");
    assert!(std::path::Path::new(&hs.addr.address).exists());
    assert_eq!(hs.protocol, "grpc");
    assert!(
        hs.cert_field.len() > 50,
        "go-plugin ignores short cert fields"
    );
    assert!(!hs.cert_field.contains('='), "padding breaks go-plugin");
    // The certificate parses, and a client that trusts only it verifies `localhost`.
    get_schema(&mut managed.provider().await).await.unwrap();
}

#[tokio::test]
async fn clients_without_terraforms_key_are_refused() {
    let managed = Managed::start();
    let addr = &managed.plugin.handshake.addr;
    let stranger = ClientIdentity::terraform_like();

    let attempts = [
        ("no certificate", managed.tls(Presenting::Nothing)),
        (
            "another P-521 certificate",
            managed.tls(Presenting::Cert(&stranger)),
        ),
        (
            "Terraform's certificate without its key",
            managed.tls(Presenting::Impostor {
                cert: &managed.client,
                key_of: &stranger,
            }),
        ),
    ];
    for (what, tls) in attempts {
        let outcome = schema_via(addr, Some(tls)).await;
        assert!(
            outcome.is_err(),
            "a client presenting {what} must not complete an RPC"
        );
    }

    // A plaintext client gets nowhere either.
    let plain = schema_via(addr, None).await;
    assert!(plain.is_err());

    // Each refusal happened for its own reason; the impostor's certificate matched, so
    // only the CertificateVerify signature check (P-521/SHA-512) could catch it.
    let reasons = [
        "peer sent no certificates",
        "ApplicationVerificationFailure",
        "BadSignature",
    ];
    let log = managed.plugin.stderr_when(Duration::from_secs(10), |log| {
        reasons.iter().all(|r| log.contains(r))
    });
    for reason in reasons {
        assert!(log.contains(reason), "no refusal for {reason:?} in {log}");
    }

    // The refusals did not wedge the server: Terraform's own client still works, over
    // TLS 1.3 and TLS 1.2 alike (each has its own signature verification path).
    for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
        let tls = client_config_for(
            &managed.plugin.handshake.server_cert_der(),
            Presenting::Cert(&managed.client),
            &[version],
        );
        let schema = schema_via(addr, Some(tls)).await.unwrap();
        assert!(schema.provider.is_some());
    }
}

#[tokio::test]
async fn shutdown_makes_the_process_exit_promptly() {
    let mut managed = Managed::start();
    managed.shutdown().await;
    // go-plugin waits two seconds after Shutdown before killing the process; that is the
    // protocol's deadline, not a speed target.
    let status = managed.plugin.wait_exit(Duration::from_secs(2));
    assert!(
        status.is_some_and(|s| s.success()),
        "must exit cleanly within go-plugin's 2 s grace; got {status:?}"
    );
    assert_eq!(managed.plugin.stdout_after_handshake(), "");
    assert!(
        !std::path::Path::new(&managed.plugin.handshake.addr.address).exists(),
        "the socket file is removed on exit"
    );
}

#[tokio::test]
async fn sigint_is_ignored_in_managed_mode_and_sigterm_stops() {
    let mut managed = Managed::start();
    let mut client = managed.provider().await;
    managed.plugin.signal("INT");
    // Terraform coordinates the stop itself; the provider must keep serving.
    get_schema(&mut client)
        .await
        .expect("still serving after SIGINT");
    assert!(managed.plugin.child.try_wait().unwrap().is_none());
    managed.plugin.signal("TERM");
    let status = managed.plugin.wait_exit(Duration::from_secs(10));
    assert!(status.is_some(), "SIGTERM must stop the provider");
}

#[test]
fn a_provider_orphaned_by_a_crashed_terraform_exits() {
    // A stand-in for Terraform that launches the provider and dies without calling
    // Shutdown (as a panicking Terraform does).
    let client = ClientIdentity::terraform_like();
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg("\"$0\" & sleep 1")
        .arg(support::plugin::BINARY)
        .env("PLUGIN_UNIX_SOCKET_DIR", dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    support::plugin::terraform_env(&mut cmd, Some(&client));
    let mut parent = cmd.spawn().unwrap();
    let stdout = parent.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let _ = tx.send(Some(line));
        // EOF once every holder of the pipe, the provider included, has exited.
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut reader, &mut rest);
        let _ = tx.send(None);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(60))
        .unwrap()
        .expect("handshake line");
    let socket = support::plugin::Handshake::parse(&line).addr.address;
    assert!(std::path::Path::new(&socket).exists());
    assert!(parent.wait().unwrap().success());

    // Generous liveness bound: the provider polls for its parent once a second.
    let eof = rx.recv_timeout(Duration::from_secs(30));
    assert_eq!(eof, Ok(None), "the orphaned provider must exit");
    assert!(
        !std::path::Path::new(&socket).exists(),
        "it exits cleanly, removing its socket"
    );
}

#[tokio::test]
async fn health_broker_and_stdio_services_answer() {
    let managed = Managed::start();
    let channel = managed.channel().await;

    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    let status = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "plugin".to_string(),
        })
        .await
        .unwrap()
        .into_inner()
        .status;
    assert_eq!(
        status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );

    // The broker stream opens and idles; so does stdio.
    let mut broker = GrpcBrokerClient::new(channel.clone());
    let (_tx, rx) = tokio::sync::mpsc::channel::<goplugin::ConnInfo>(1);
    broker
        .start_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .expect("broker stream opens");
    let mut stdio = GrpcStdioClient::new(channel);
    stdio.stream_stdio(()).await.expect("stdio stream opens");
}

#[tokio::test]
async fn tcp_transport_binds_127_0_0_1_within_the_port_range() {
    let managed = Managed::start_with(|cmd| {
        cmd.env("CFACCESS_PLUGIN_TRANSPORT", "tcp")
            .env("PLUGIN_MIN_PORT", "42100")
            .env("PLUGIN_MAX_PORT", "42199");
    });
    let addr = &managed.plugin.handshake.addr;
    assert_eq!(addr.network, "tcp");
    let sock: std::net::SocketAddr = addr.address.parse().unwrap();
    assert!(sock.ip().is_loopback());
    assert!(
        (42100..=42199).contains(&sock.port()),
        "port {}",
        sock.port()
    );
    get_schema(&mut managed.provider().await).await.unwrap();
}

#[tokio::test]
async fn without_a_client_certificate_it_serves_plaintext_on_a_private_unix_socket() {
    // TF_DISABLE_PLUGIN_TLS: Terraform sets no PLUGIN_CLIENT_CERT.
    let plugin = Plugin::start(terraform_command(None));
    assert_eq!(plugin.handshake.cert_field, "");
    assert_eq!(plugin.handshake.addr.network, "unix");
    assert_private_socket(&plugin.handshake.addr.address);
    schema_via(&plugin.handshake.addr, None).await.unwrap();
}

/// The socket sits alone in a directory of mode 0700, so no other user can reach it.
fn assert_private_socket(socket: &str) {
    use std::os::unix::fs::PermissionsExt;
    let socket = std::path::Path::new(socket);
    let dir = socket.parent().expect("socket in a directory");
    let mode = std::fs::metadata(dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "directory {} has mode {mode:o}", dir.display());
    let entries: Vec<_> = std::fs::read_dir(dir).unwrap().collect();
    assert_eq!(entries.len(), 1, "the directory holds only the socket");
}

/// Runs the binary with `cmd`'s environment and expects it to refuse to serve: a
/// non-zero exit, nothing on stdout, and `why` on stderr.
fn assert_refuses_to_serve(mut cmd: std::process::Command, why: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = cmd
        .env("PLUGIN_UNIX_SOCKET_DIR", dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success(), "{:?}", out.status);
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(why), "{stderr}");
}

#[tokio::test]
async fn tcp_without_tls_is_refused() {
    // TF_DISABLE_PLUGIN_TLS together with the TCP transport.
    let mut cmd = terraform_command(None);
    cmd.env("CFACCESS_PLUGIN_TRANSPORT", "tcp");
    assert_refuses_to_serve(
        cmd,
        "refusing to serve the plugin protocol over TCP without TLS",
    );
}

#[tokio::test]
async fn debug_mode_over_tcp_is_refused() {
    let mut cmd = std::process::Command::new(support::plugin::BINARY);
    cmd.arg("--debug")
        .env_remove(support::plugin::MAGIC_COOKIE_KEY)
        .env_remove("PLUGIN_CLIENT_CERT")
        .env("CFACCESS_PLUGIN_TRANSPORT", "tcp");
    assert_refuses_to_serve(cmd, "over TCP without TLS");
}

#[tokio::test]
async fn logs_are_hclog_json_lines_on_stderr() {
    let mut managed = Managed::start_with(|cmd| {
        cmd.env("TF_LOG_PROVIDER", "DEBUG");
    });
    get_schema(&mut managed.provider().await).await.unwrap();
    managed.shutdown().await;
    managed.plugin.wait_exit(Duration::from_secs(10));
    let stderr = managed.plugin.stderr();
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(!lines.is_empty());
    for line in &lines {
        let level = line["@level"].as_str().unwrap();
        assert!(
            ["trace", "debug", "info", "warn", "error"].contains(&level),
            "{line}"
        );
        assert!(line["@message"].is_string(), "{line}");
        assert!(
            line["@module"]
                .as_str()
                .unwrap()
                .starts_with("provider.terraform-provider-cfaccess"),
            "{line}"
        );
        let ts = line["@timestamp"].as_str().unwrap();
        assert!(
            is_hclog_timestamp(ts),
            "timestamp {ts:?} is not in hclog's layout"
        );
    }
    let served = lines
        .iter()
        .find(|l| l["tf_rpc"] == "GetProviderSchema" && l["@message"] == "Served request")
        .expect("a log line for the served GetProviderSchema");
    assert_eq!(served["@level"], "debug");
    assert!(served["tf_req_id"].is_string());
    assert!(served["tf_req_duration_ms"].is_u64());
}

#[tokio::test]
async fn debug_mode_prints_reattach_config_and_serves_without_tls() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(support::plugin::BINARY)
        .arg("--debug")
        .env_remove(support::plugin::MAGIC_COOKIE_KEY)
        .env_remove("PLUGIN_CLIENT_CERT")
        .env_remove("CFACCESS_PLUGIN_TRANSPORT")
        .env("PLUGIN_UNIX_SOCKET_DIR", dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("TF_REATTACH_PROVIDERS=") {
                let _ = tx.send(line);
            }
        }
    });
    let line = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("reattach line");
    let json = line
        .split_once("TF_REATTACH_PROVIDERS='")
        .and_then(|(_, rest)| rest.strip_suffix('\''))
        .expect("single-quoted JSON");
    let config: serde_json::Value = serde_json::from_str(json).unwrap();
    let entry = &config["registry.terraform.io/cfaccess/cfaccess"];
    assert_eq!(entry["Protocol"], "grpc");
    assert_eq!(entry["ProtocolVersion"], 6);
    assert_eq!(entry["Test"], true);
    assert_eq!(entry["Pid"], child.id());
    assert_eq!(entry["Addr"]["Network"], "unix");
    let addr = Address {
        network: "unix".to_string(),
        address: entry["Addr"]["String"].as_str().unwrap().to_string(),
    };
    assert_private_socket(&addr.address);
    let socket_dir = std::path::Path::new(&addr.address)
        .parent()
        .unwrap()
        .to_path_buf();
    assert_eq!(
        socket_dir.parent(),
        Some(dir.path()),
        "a fresh directory per run"
    );
    schema_via(&addr, None).await.unwrap();

    // Unlike managed mode, Ctrl-C stops a debug server.
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    assert!(!socket_dir.exists(), "socket and directory removed at exit");
}

// ---------------------------------------------------------------------------------
// The real binary: tfplugin6 RPCs of the cfaccess provider
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn schema_describes_the_provider_both_resources_and_the_data_source() {
    let managed = Managed::start();
    let mut client = managed.provider().await;
    let schema = get_schema(&mut client).await.unwrap();
    assert_no_diagnostics(&schema.diagnostics);

    let provider = schema
        .provider
        .as_ref()
        .expect("provider schema is mandatory");
    let names: Vec<&str> = provider
        .block
        .as_ref()
        .unwrap()
        .attributes
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    for expected in [
        "api_token",
        "account_id",
        "base_url",
        "max_retries",
        "request_timeout",
        "requests_per_second",
    ] {
        assert!(names.contains(&expected), "provider lacks {expected}");
    }
    let token = provider
        .block
        .as_ref()
        .unwrap()
        .attributes
        .iter()
        .find(|a| a.name == "api_token")
        .unwrap();
    assert!(token.sensitive && token.optional);

    let resources: Vec<&String> = schema.resource_schemas.keys().collect();
    assert!(resources.contains(&&"cfaccess_mcp_server_app".to_string()));
    assert!(resources.contains(&&"cfaccess_linked_app_policy".to_string()));
    assert!(
        schema
            .data_source_schemas
            .contains_key("cfaccess_access_application")
    );

    fn check_attrs(owner: &str, attrs: &[pb::schema::Attribute]) {
        for a in attrs {
            let at = format!("{owner}.{}", a.name);
            assert!(!a.description.trim().is_empty(), "{at} has no description");
            assert_eq!(a.description_kind, pb::StringKind::Markdown as i32, "{at}");
            assert!(
                a.r#type.is_empty() != a.nested_type.is_none(),
                "{at} must carry exactly one of type and nested_type"
            );
            assert!(a.required || a.optional || a.computed, "{at} has no mode");
            assert!(!(a.required && (a.optional || a.computed)), "{at}");
            if let Some(obj) = &a.nested_type {
                check_attrs(&at, &obj.attributes);
            } else {
                type_json::decode(&a.r#type).unwrap_or_else(|e| panic!("{at}: {e}"));
            }
        }
    }
    let all = std::iter::once(("provider".to_string(), provider))
        .chain(schema.resource_schemas.iter().map(|(k, v)| (k.clone(), v)))
        .chain(
            schema
                .data_source_schemas
                .iter()
                .map(|(k, v)| (k.clone(), v)),
        );
    fn check_block(owner: &str, block: &pb::schema::Block) {
        assert!(
            !block.description.trim().is_empty(),
            "{owner} has no description"
        );
        assert_eq!(block.description_kind, pb::StringKind::Markdown as i32);
        check_attrs(owner, &block.attributes);
        for nested in &block.block_types {
            check_block(
                &format!("{owner}.{}", nested.type_name),
                nested.block.as_ref().unwrap(),
            );
        }
    }
    for (owner, s) in all {
        check_block(&owner, s.block.as_ref().unwrap());
    }

    // GetMetadata (Terraform >= 1.6) lists the same types.
    let meta = answer(client.get_metadata(pb::get_metadata::Request {}).await);
    let mut listed: Vec<String> = meta.resources.into_iter().map(|r| r.type_name).collect();
    listed.sort();
    let mut declared: Vec<String> = schema.resource_schemas.keys().cloned().collect();
    declared.sort();
    assert_eq!(listed, declared);
    assert_eq!(meta.data_sources.len(), schema.data_source_schemas.len());
}

#[tokio::test]
async fn provider_config_validation_points_at_the_attribute() {
    let managed = Managed::start();
    let mut client = managed.provider().await;
    let ty = provider_type(&mut client).await;
    let validate = |config: &Value| pb::validate_provider_config::Request {
        config: encode(config, &ty),
    };

    let bad = provider_config(
        &ty,
        &[
            ("account_id", Value::string("not-an-account")),
            ("api_token", Value::Unknown),
        ],
    );
    let resp = answer(client.validate_provider_config(validate(&bad)).await);
    let errs = errors(&resp.diagnostics);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].attribute, Some(AttributePath::root("account_id")));

    // Unknown values (from other resources) are skipped, never flagged.
    let unknowns = provider_config(
        &ty,
        &[
            ("account_id", Value::Unknown),
            ("api_token", Value::Unknown),
            ("base_url", Value::Unknown),
        ],
    );
    let resp = answer(client.validate_provider_config(validate(&unknowns)).await);
    assert_no_errors(&resp.diagnostics);
}

#[tokio::test]
async fn configure_accepts_known_unknown_and_null_values() {
    let managed = Managed::start();
    let mut client = managed.provider().await;
    let ty = provider_type(&mut client).await;
    let configure = |config: Value| pb::configure_provider::Request {
        terraform_version: "1.0.3".to_string(),
        config: encode(&config, &ty),
        client_capabilities: None,
    };

    // During plan the token may come from a resource not yet created.
    let resp = answer(
        client
            .configure_provider(configure(provider_config(
                &ty,
                &[("api_token", Value::Unknown)],
            )))
            .await,
    );
    assert_no_errors(&resp.diagnostics);

    // Known values configure the client (no API call is made at configure time).
    let resp = answer(
        client
            .configure_provider(configure(provider_config(
                &ty,
                &[
                    ("api_token", Value::string("token-value")),
                    (
                        "account_id",
                        Value::string("023e105f4ecef8ad9ca31a8372d0c353"),
                    ),
                    ("base_url", Value::string("http://127.0.0.1:9/client/v4")),
                    ("max_retries", Value::int(2)),
                ],
            )))
            .await,
    );
    assert_no_errors(&resp.diagnostics);

    // All null and no environment: a clear error naming the attribute and the variable.
    let resp = answer(
        client
            .configure_provider(configure(provider_config(&ty, &[])))
            .await,
    );
    let errs = errors(&resp.diagnostics);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].attribute, Some(AttributePath::root("api_token")));
    assert!(errs[0].detail.contains("CLOUDFLARE_API_TOKEN"));
    assert!(!format!("{errs:?}").contains("token-value"));
}

#[tokio::test]
async fn upgrade_state_carries_big_numbers_and_fills_missing_attributes() {
    let managed = Managed::start();
    let mut client = managed.provider().await;
    let schema = get_schema(&mut client).await.unwrap();
    let (type_name, res_schema) = schema
        .resource_schemas
        .iter()
        .find(|(_, s)| {
            let Type::Object(attrs) = block_type(s) else {
                return false;
            };
            attrs.values().any(|t| *t == Type::Number)
        })
        .expect("a resource with a number attribute");
    let ty = block_type(res_schema);
    let Type::Object(attrs) = &ty else {
        unreachable!()
    };
    let number_attr = attrs.iter().find(|(_, t)| **t == Type::Number).unwrap().0;
    let big = "123456789012345678901234567890";
    // State JSON from an older provider build: only `id` and the number are present.
    let raw = format!(r#"{{"id":"abc","{number_attr}":{big}}}"#);
    let resp = answer(
        client
            .upgrade_resource_state(pb::upgrade_resource_state::Request {
                type_name: type_name.clone(),
                version: res_schema.version,
                raw_state: Some(pb::RawState {
                    json: raw.into_bytes(),
                    flatmap: Default::default(),
                }),
            })
            .await,
    );
    assert_no_diagnostics(&resp.diagnostics);
    let state = decode(&resp.upgraded_state, &ty);
    assert_eq!(state.get("id"), Some(&Value::string("abc")));
    assert_eq!(
        state.get(number_attr),
        Some(&Value::Number(Number::parse(big).unwrap()))
    );
    let Value::Object(fields) = &state else {
        panic!()
    };
    assert_eq!(fields.len(), attrs.len(), "every attribute present");
    assert!(
        fields
            .iter()
            .all(|(k, v)| k == "id" || k == number_attr || v.is_null())
    );

    // A state version this build does not know is an error diagnostic, not a status.
    let resp = answer(
        client
            .upgrade_resource_state(pb::upgrade_resource_state::Request {
                type_name: type_name.clone(),
                version: res_schema.version + 7,
                raw_state: Some(pb::RawState {
                    json: br#"{"id":"abc"}"#.to_vec(),
                    flatmap: Default::default(),
                }),
            })
            .await,
    );
    assert_eq!(errors(&resp.diagnostics).len(), 1);
}

// ---------------------------------------------------------------------------------
// In-process echo provider: every cty type and the RPC plumbing
// ---------------------------------------------------------------------------------

async fn echo_client() -> (echo::EchoServer, ProviderClient<Channel>) {
    let server = echo::start().await;
    let channel = support::channel(&server.addr, None).await.unwrap();
    (server, ProviderClient::new(channel))
}

/// A `PlanResourceChange` of the echo resource.
fn echo_plan(
    prior: Option<pb::DynamicValue>,
    proposed: Option<pb::DynamicValue>,
    config: Option<pb::DynamicValue>,
    prior_private: &[u8],
) -> pb::plan_resource_change::Request {
    pb::plan_resource_change::Request {
        type_name: echo::RESOURCE.to_string(),
        prior_state: prior,
        proposed_new_state: proposed,
        config,
        prior_private: prior_private.to_vec(),
        ..Default::default()
    }
}

/// An `ApplyResourceChange` of the echo resource.
fn echo_apply(
    prior: Option<pb::DynamicValue>,
    planned: Option<pb::DynamicValue>,
    config: Option<pb::DynamicValue>,
    planned_private: &[u8],
) -> pb::apply_resource_change::Request {
    pb::apply_resource_change::Request {
        type_name: echo::RESOURCE.to_string(),
        prior_state: prior,
        planned_state: planned,
        config,
        planned_private: planned_private.to_vec(),
        ..Default::default()
    }
}

fn echo_type() -> Type {
    echo::all_types_schema().value_type()
}

/// Hand-written msgpack, byte for byte what go-cty sends, for an `echo_all` object:
/// unknowns as `d4 00 00` and as a refined unknown (ext 12), a number too big for i64
/// and f64 as a decimal string, a float64, a u64, a dynamic value as
/// `[type JSON, value]`, and every collection and nesting kind.
fn go_cty_msgpack_of_every_type() -> Vec<u8> {
    use rmp::encode::*;
    let mut w = Vec::new();
    let unknown = |w: &mut Vec<u8>| w.extend_from_slice(&[0xd4, 0x00, 0x00]);
    let obj_x = |w: &mut Vec<u8>, x: Option<&str>| {
        write_map_len(w, 1).unwrap();
        write_str(w, "x").unwrap();
        match x {
            Some(s) => write_str(w, s).unwrap(),
            None => write_nil(w).unwrap(),
        }
    };
    write_map_len(&mut w, 14).unwrap();
    // Attributes in go-cty's (sorted) order.
    write_str(&mut w, "b").unwrap();
    write_bool(&mut w, true).unwrap();
    write_str(&mut w, "d").unwrap();
    write_array_len(&mut w, 2).unwrap();
    write_bin(&mut w, br#"["list","string"]"#).unwrap();
    write_array_len(&mut w, 2).unwrap();
    write_str(&mut w, "a").unwrap();
    unknown(&mut w);
    write_str(&mut w, "id").unwrap();
    write_nil(&mut w).unwrap();
    write_str(&mut w, "l").unwrap();
    write_array_len(&mut w, 2).unwrap();
    write_str(&mut w, "x").unwrap();
    // Refined unknown (Terraform >= 1.6): ext 12 whose payload is {1: false}
    // ("definitely not null").
    write_ext_meta(&mut w, 3, 12).unwrap();
    write_map_len(&mut w, 1).unwrap();
    write_uint(&mut w, 1).unwrap();
    write_bool(&mut w, false).unwrap();
    write_str(&mut w, "m").unwrap();
    write_map_len(&mut w, 2).unwrap();
    write_str(&mut w, "k1").unwrap();
    write_bool(&mut w, true).unwrap();
    write_str(&mut w, "k2").unwrap();
    write_nil(&mut w).unwrap();
    write_str(&mut w, "n").unwrap();
    write_str(&mut w, "123456789012345678901234567890.5").unwrap();
    write_str(&mut w, "nl").unwrap();
    write_array_len(&mut w, 2).unwrap();
    obj_x(&mut w, Some("ok"));
    write_map_len(&mut w, 1).unwrap();
    write_str(&mut w, "x").unwrap();
    unknown(&mut w);
    write_str(&mut w, "nm").unwrap();
    write_map_len(&mut w, 1).unwrap();
    write_str(&mut w, "k").unwrap();
    obj_x(&mut w, None);
    write_str(&mut w, "ns").unwrap();
    obj_x(&mut w, Some("ok"));
    write_str(&mut w, "nset").unwrap();
    write_array_len(&mut w, 1).unwrap();
    obj_x(&mut w, Some("fine"));
    write_str(&mut w, "o").unwrap();
    write_map_len(&mut w, 2).unwrap();
    write_str(&mut w, "a").unwrap();
    write_str(&mut w, "q").unwrap();
    write_str(&mut w, "b").unwrap();
    write_array_len(&mut w, 2).unwrap();
    write_sint(&mut w, -1).unwrap();
    write_uint(&mut w, u64::MAX).unwrap();
    write_str(&mut w, "s").unwrap();
    write_str(&mut w, "héllo").unwrap();
    write_str(&mut w, "st").unwrap();
    write_array_len(&mut w, 3).unwrap();
    write_sint(&mut w, 1).unwrap();
    write_f64(&mut w, 2.5).unwrap();
    write_sint(&mut w, -7).unwrap();
    write_str(&mut w, "t").unwrap();
    write_array_len(&mut w, 3).unwrap();
    write_str(&mut w, "z").unwrap();
    write_sint(&mut w, 3).unwrap();
    write_bool(&mut w, false).unwrap();
    w
}

/// The value [`go_cty_msgpack_of_every_type`] describes (`id` as given).
fn every_type_value(id: Value) -> Value {
    let num = |s: &str| Value::Number(Number::parse(s).unwrap());
    let x = |v: Value| Value::object([("x", v)]);
    Value::object([
        ("id", id),
        ("s", Value::string("héllo")),
        ("n", num("123456789012345678901234567890.5")),
        ("b", Value::Bool(true)),
        (
            "d",
            Value::Dynamic(
                Type::list(Type::String),
                Box::new(Value::List(vec![Value::string("a"), Value::Unknown])),
            ),
        ),
        ("l", Value::List(vec![Value::string("x"), Value::Unknown])),
        ("st", Value::Set(vec![num("1"), num("2.5"), num("-7")])),
        (
            "m",
            Value::Map(BTreeMap::from([
                ("k1".to_string(), Value::Bool(true)),
                ("k2".to_string(), Value::Null),
            ])),
        ),
        (
            "o",
            Value::object([
                ("a", Value::string("q")),
                (
                    "b",
                    Value::List(vec![num("-1"), num("18446744073709551615")]),
                ),
            ]),
        ),
        (
            "t",
            Value::Tuple(vec![Value::string("z"), num("3"), Value::Bool(false)]),
        ),
        ("ns", x(Value::string("ok"))),
        (
            "nl",
            Value::List(vec![x(Value::string("ok")), x(Value::Unknown)]),
        ),
        ("nset", Value::Set(vec![x(Value::string("fine"))])),
        (
            "nm",
            Value::Map(BTreeMap::from([("k".to_string(), x(Value::Null))])),
        ),
    ])
}

#[tokio::test]
async fn every_cty_type_round_trips_through_plan_resource_change() {
    let (_server, mut client) = echo_client().await;
    let ty = echo_type();
    let wire = go_cty_msgpack_of_every_type();
    assert_eq!(
        msgpack::decode(&wire, &ty).unwrap(),
        every_type_value(Value::Null),
        "the codec reads go-cty's bytes"
    );
    let resp = answer(
        client
            .plan_resource_change(echo_plan(dv(vec![0xc0]), dv(wire.clone()), dv(wire), b""))
            .await,
    );
    assert_no_diagnostics(&resp.diagnostics);
    // Config values come back untouched (unknowns, big numbers, dynamic included);
    // the computed `id` becomes unknown on create.
    let planned = decode(&resp.planned_state, &ty);
    assert!(
        planned.semantically_equal(&every_type_value(Value::Unknown)),
        "planned {planned:?}"
    );
    let bytes = &resp.planned_state.as_ref().unwrap().msgpack;
    assert!(
        bytes.windows(3).any(|w| w == [0xd4, 0x00, 0x00]),
        "unknowns are written as go-cty writes them"
    );
    assert!(resp.requires_replace.is_empty());
}

#[tokio::test]
async fn read_resource_round_trips_a_wholly_known_value_and_echoes_private() {
    let (_server, mut client) = echo_client().await;
    let ty = echo_type();
    let mut state = every_type_value(Value::string("id-1"));
    // State is wholly known: replace the unknowns.
    state.set("l", Value::string_list(["x", "y"]));
    state.set(
        "d",
        Value::Dynamic(
            Type::list(Type::String),
            Box::new(Value::string_list(["a"])),
        ),
    );
    state.set(
        "nl",
        Value::List(vec![Value::object([("x", Value::string("ok"))])]),
    );
    let resp = answer(
        client
            .read_resource(pb::read_resource::Request {
                type_name: echo::RESOURCE.to_string(),
                current_state: encode(&state, &ty),
                private: b"opaque-private".to_vec(),
                ..Default::default()
            })
            .await,
    );
    assert_no_diagnostics(&resp.diagnostics);
    assert!(decode(&resp.new_state, &ty).semantically_equal(&state));
    assert_eq!(
        resp.private, b"opaque-private",
        "private state survives a read"
    );

    // A vanished object reads as null so Terraform plans a create.
    let mut gone = state.clone();
    gone.set("id", Value::string("gone"));
    let resp = answer(
        client
            .read_resource(pb::read_resource::Request {
                type_name: echo::RESOURCE.to_string(),
                current_state: encode(&gone, &ty),
                private: Vec::new(),
                ..Default::default()
            })
            .await,
    );
    assert_no_diagnostics(&resp.diagnostics);
    assert_eq!(decode(&resp.new_state, &ty), Value::Null);
}

fn echo_object(set: &[(&str, Value)]) -> Value {
    object_with(&echo_type(), set)
}

#[tokio::test]
async fn validation_diagnostics_carry_nested_attribute_paths() {
    let (_server, mut client) = echo_client().await;
    let ty = echo_type();
    let x = |s: &str| Value::object([("x", Value::string(s))]);
    let config = echo_object(&[
        ("s", Value::string("invalid")),
        (
            "nl",
            Value::List(vec![
                x("ok"),
                x("bad"),
                Value::object([("x", Value::Unknown)]),
            ]),
        ),
        (
            "nm",
            Value::Map(BTreeMap::from([("key".to_string(), x("worse"))])),
        ),
    ]);
    let resp = answer(
        client
            .validate_resource_config(pb::validate_resource_config::Request {
                type_name: echo::RESOURCE.to_string(),
                config: encode(&config, &ty),
                client_capabilities: None,
            })
            .await,
    );
    let mut paths: Vec<String> = resp
        .diagnostics
        .iter()
        .map(|d| path_from_proto(d.attribute.as_ref().unwrap()).to_string())
        .collect();
    paths.sort();
    assert_eq!(paths, vec!["nl[1].x", "nm[\"key\"].x", "s"]);
    // The wire steps are the ones Terraform resolves against the configuration.
    let nl = resp
        .diagnostics
        .iter()
        .find(|d| path_from_proto(d.attribute.as_ref().unwrap()).to_string() == "nl[1].x")
        .unwrap();
    use pb::attribute_path::step::Selector;
    let steps: Vec<&Selector> = nl
        .attribute
        .as_ref()
        .unwrap()
        .steps
        .iter()
        .map(|s| s.selector.as_ref().unwrap())
        .collect();
    assert_eq!(
        steps,
        vec![
            &Selector::AttributeName("nl".into()),
            &Selector::ElementKeyInt(1),
            &Selector::AttributeName("x".into()),
        ]
    );
}

#[tokio::test]
async fn create_fills_missing_attributes_with_null_and_stores_private() {
    let (_server, mut client) = echo_client().await;
    let ty = echo_type();
    let planned = echo_object(&[("id", Value::Unknown), ("s", Value::string("partial"))]);
    let config = echo_object(&[("s", Value::string("partial"))]);
    let resp = answer(
        client
            .apply_resource_change(echo_apply(
                dv(vec![0xc0]),
                encode(&planned, &ty),
                encode(&config, &ty),
                b"",
            ))
            .await,
    );
    assert_no_diagnostics(&resp.diagnostics);
    let state = decode(&resp.new_state, &ty);
    assert_eq!(state, echo_object(&[("id", Value::string("created"))]));
    assert_eq!(resp.private, b"from-create");
}

#[tokio::test]
async fn plan_echoes_prior_private_and_update_keeps_it() {
    let (_server, mut client) = echo_client().await;
    let ty = echo_type();
    let prior = echo_object(&[("id", Value::string("i")), ("s", Value::string("a"))]);
    let config = echo_object(&[("s", Value::string("b"))]);
    let proposed = echo_object(&[("id", Value::string("i")), ("s", Value::string("b"))]);
    let plan = answer(
        client
            .plan_resource_change(echo_plan(
                encode(&prior, &ty),
                encode(&proposed, &ty),
                encode(&config, &ty),
                b"keep-me",
            ))
            .await,
    );
    assert_no_diagnostics(&plan.diagnostics);
    assert_eq!(plan.planned_private, b"keep-me");
    let planned = decode(&plan.planned_state, &ty);
    assert_eq!(planned.get("s"), Some(&Value::string("b")));
    // Computed-only `id` null in config: on an update it may change, so unknown.
    assert_eq!(planned.get("id"), Some(&Value::Unknown));

    let applied = answer(
        client
            .apply_resource_change(echo_apply(
                encode(&prior, &ty),
                encode(&proposed, &ty),
                encode(&config, &ty),
                &plan.planned_private,
            ))
            .await,
    );
    assert_no_diagnostics(&applied.diagnostics);
    assert_eq!(decode(&applied.new_state, &ty), proposed);
    assert_eq!(applied.private, b"keep-me");
}

#[tokio::test]
async fn destroy_deletes_and_returns_null_but_a_failed_delete_keeps_the_object() {
    let (server, mut client) = echo_client().await;
    let ty = echo_type();
    let destroy =
        |prior: &Value| echo_apply(encode(prior, &ty), dv(vec![0xc0]), dv(vec![0xc0]), b"p");
    let prior = echo_object(&[("id", Value::string("i"))]);
    let resp = answer(client.apply_resource_change(destroy(&prior)).await);
    assert_no_diagnostics(&resp.diagnostics);
    assert_eq!(decode(&resp.new_state, &ty), Value::Null);
    assert_eq!(server.calls.deletes.load(Ordering::SeqCst), 1);

    let stuck = echo_object(&[
        ("id", Value::string("i")),
        ("s", Value::string("undeletable")),
    ]);
    let resp = answer(client.apply_resource_change(destroy(&stuck)).await);
    assert_eq!(errors(&resp.diagnostics).len(), 1);
    assert_eq!(
        decode(&resp.new_state, &ty),
        stuck,
        "still in state for a retry"
    );
    assert_eq!(resp.private, b"p");
}

#[tokio::test]
async fn import_returns_a_null_filled_object_with_private() {
    let (_server, mut client) = echo_client().await;
    let ty = echo_type();
    let resp = answer(
        client
            .import_resource_state(pb::import_resource_state::Request {
                type_name: echo::RESOURCE.to_string(),
                id: "imp-1".to_string(),
                ..Default::default()
            })
            .await,
    );
    assert_no_diagnostics(&resp.diagnostics);
    assert_eq!(resp.imported_resources.len(), 1);
    let imported = &resp.imported_resources[0];
    assert_eq!(imported.type_name, echo::RESOURCE);
    // The framework marks the import in the private state (opaque to Terraform); the
    // read that completes the import gets the resource's own bytes back.
    assert!(imported.private.ends_with(b"imported"));
    assert_eq!(
        decode(&imported.state, &ty),
        echo_object(&[("id", Value::string("imp-1"))])
    );
    let read = client
        .read_resource(pb::read_resource::Request {
            type_name: echo::RESOURCE.to_string(),
            current_state: imported.state.clone(),
            private: imported.private.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(read.diagnostics.is_empty());
    assert_eq!(read.private, b"imported");
}

#[tokio::test]
async fn data_sources_validate_and_read() {
    let (_server, mut client) = echo_client().await;
    let ty = Type::object([("input", Type::String), ("output", Type::String)]);
    let config = Value::object([("input", Value::string("v")), ("output", Value::Null)]);
    let resp = answer(
        client
            .validate_data_resource_config(pb::validate_data_resource_config::Request {
                type_name: echo::DATA_SOURCE.to_string(),
                config: encode(&config, &ty),
            })
            .await,
    );
    assert_no_diagnostics(&resp.diagnostics);
    let resp = answer(
        client
            .read_data_source(pb::read_data_source::Request {
                type_name: echo::DATA_SOURCE.to_string(),
                config: encode(&config, &ty),
                ..Default::default()
            })
            .await,
    );
    assert_no_diagnostics(&resp.diagnostics);
    assert_eq!(
        decode(&resp.state, &ty),
        Value::object([
            ("input", Value::string("v")),
            ("output", Value::string("read:v"))
        ])
    );
}

#[tokio::test]
async fn bad_input_is_a_diagnostic_never_a_grpc_status() {
    let (_server, mut client) = echo_client().await;
    // Unknown type name.
    let resp = answer(
        client
            .validate_resource_config(pb::validate_resource_config::Request {
                type_name: "echo_nope".to_string(),
                config: dv(vec![0xc0]),
                client_capabilities: None,
            })
            .await,
    );
    assert_eq!(
        errors(&resp.diagnostics)[0].summary,
        "Unknown resource type"
    );
    // Malformed msgpack (an object with too few attributes).
    let resp = answer(
        client
            .plan_resource_change(echo_plan(
                dv(vec![0xc0]),
                dv(vec![0x81, 0xa1, b's', 0xa1, b'x']),
                dv(vec![0xc0]),
                b"",
            ))
            .await,
    );
    assert!(!errors(&resp.diagnostics).is_empty());
}

#[tokio::test]
async fn stop_provider_cancels_in_flight_work_which_returns_partial_state() {
    let (server, mut client) = echo_client().await;
    let ty = echo_type();
    let planned = echo_object(&[("id", Value::Unknown), ("s", Value::string("block"))]);
    let config = echo_object(&[("s", Value::string("block"))]);
    let mut applier = client.clone();
    let req = echo_apply(
        dv(vec![0xc0]),
        encode(&planned, &ty),
        encode(&config, &ty),
        b"",
    );
    let in_flight = tokio::spawn(async move { applier.apply_resource_change(req).await });

    let stop = answer(client.stop_provider(pb::stop_provider::Request {}).await);
    assert_eq!(stop.error, "");
    let resp = in_flight
        .await
        .unwrap()
        .expect("a normal response")
        .into_inner();
    assert_eq!(errors(&resp.diagnostics)[0].summary, "Interrupted");
    assert_eq!(
        decode(&resp.new_state, &ty),
        echo_object(&[("id", Value::string("partial"))]),
        "the partial state reaches Terraform"
    );
    drop(server);
}

#[tokio::test]
async fn configure_and_large_messages() {
    let (server, mut client) = echo_client().await;
    let pty = Type::object([("token", Type::String)]);
    let resp = answer(
        client
            .configure_provider(pb::configure_provider::Request {
                terraform_version: "1.0.3".into(),
                config: encode(&Value::object([("token", Value::Unknown)]), &pty),
                client_capabilities: None,
            })
            .await,
    );
    assert_no_diagnostics(&resp.diagnostics);
    assert_eq!(server.calls.configures.load(Ordering::SeqCst), 1);

    // Well above tonic's 4 MiB default limit, both ways (Terraform's client accepts
    // up to 2 GiB; tonic's client needs to be told).
    let mut client = client.max_decoding_message_size(64 * 1024 * 1024);
    let ty = echo_type();
    let big = "x".repeat(6 * 1024 * 1024);
    let state = echo_object(&[
        ("id", Value::string("i")),
        ("s", Value::string(big.clone())),
    ]);
    let resp = answer(
        client
            .read_resource(pb::read_resource::Request {
                type_name: echo::RESOURCE.to_string(),
                current_state: encode(&state, &ty),
                ..Default::default()
            })
            .await,
    );
    assert_eq!(
        decode(&resp.new_state, &ty).get("s"),
        Some(&Value::string(big))
    );
}

#[tokio::test]
async fn optional_rpcs_answer_empty_or_unimplemented() {
    let (_server, mut client) = echo_client().await;
    let functions = answer(client.get_functions(pb::get_functions::Request {}).await);
    assert!(functions.functions.is_empty());
    let identities = answer(
        client
            .get_resource_identity_schemas(pb::get_resource_identity_schemas::Request {})
            .await,
    );
    assert!(identities.identity_schemas.is_empty());
    let status = client
        .validate_ephemeral_resource_config(pb::validate_ephemeral_resource_config::Request {
            type_name: "x".into(),
            config: None,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unimplemented);
}
