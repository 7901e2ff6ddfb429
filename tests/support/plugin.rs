//! Launching the provider binary as go-plugin does, and reading its handshake.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use base64::Engine as _;

use super::Address;
use super::certs::ClientIdentity;

pub const BINARY: &str = env!("CARGO_BIN_EXE_terraform-provider-cfaccess");
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
pub const MAGIC_COOKIE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

/// The six fields of a go-plugin handshake line.
#[derive(Debug)]
pub struct Handshake {
    pub core_version: String,
    pub app_version: String,
    pub addr: Address,
    pub protocol: String,
    /// Raw base64 of the server certificate (empty without TLS).
    pub cert_field: String,
}

impl Handshake {
    /// Parses a handshake line exactly as go-plugin 1.4.1 does: six `|`-separated
    /// fields, the certificate decoded with unpadded standard base64.
    pub fn parse(line: &str) -> Handshake {
        let parts: Vec<&str> = line.trim_end_matches(['\r', '\n']).splitn(6, '|').collect();
        assert_eq!(parts.len(), 6, "handshake line {line:?} must have 6 fields");
        Handshake {
            core_version: parts[0].to_string(),
            app_version: parts[1].to_string(),
            addr: Address {
                network: parts[2].to_string(),
                address: parts[3].to_string(),
            },
            protocol: parts[4].to_string(),
            cert_field: parts[5].to_string(),
        }
    }

    /// The server certificate's DER, decoded the way Go's `RawStdEncoding` does.
    pub fn server_cert_der(&self) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(&self.cert_field)
            .expect("server certificate must be unpadded standard base64")
    }
}

/// A running provider process.
pub struct Plugin {
    pub child: Child,
    pub handshake: Handshake,
    stdout_rest: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    _socket_dir: tempfile::TempDir,
}

/// The environment Terraform gives a provider: magic cookie, protocol versions 5 and 6
/// and, when `client` is given, the AutoMTLS client certificate. Variables that could
/// change the provider's behaviour are removed.
pub fn terraform_command(client: Option<&ClientIdentity>) -> Command {
    let mut cmd = Command::new(BINARY);
    terraform_env(&mut cmd, client);
    cmd
}

/// Sets the environment of [`terraform_command`] on any command.
pub fn terraform_env(cmd: &mut Command, client: Option<&ClientIdentity>) {
    for var in [
        "CLOUDFLARE_API_TOKEN",
        "CLOUDFLARE_ACCOUNT_ID",
        "CLOUDFLARE_BASE_URL",
        "TF_LOG",
        "TF_LOG_PROVIDER",
        "PLUGIN_CLIENT_CERT",
        "PLUGIN_MIN_PORT",
        "PLUGIN_MAX_PORT",
        "CFACCESS_PLUGIN_TRANSPORT",
    ] {
        cmd.env_remove(var);
    }
    cmd.env(MAGIC_COOKIE_KEY, MAGIC_COOKIE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5,6");
    if let Some(id) = client {
        cmd.env("PLUGIN_CLIENT_CERT", &id.cert_pem);
    }
}

impl Plugin {
    /// Starts `cmd` and waits for its handshake line (go-plugin waits up to a minute).
    pub fn start(mut cmd: Command) -> Plugin {
        let socket_dir = tempfile::tempdir().unwrap();
        cmd.env("PLUGIN_UNIX_SOCKET_DIR", socket_dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("provider binary must start");
        let stderr = drain(child.stderr.take().unwrap());
        let (tx, rx) = mpsc::channel();
        let stdout_rest = Arc::new(Mutex::new(String::new()));
        let rest = stdout_rest.clone();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut first = String::new();
            let _ = reader.read_line(&mut first);
            let _ = tx.send(first);
            let mut tail = String::new();
            let _ = reader.read_to_string(&mut tail);
            rest.lock().unwrap().push_str(&tail);
        });
        let line = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) if !line.is_empty() => line,
            other => {
                let _ = child.kill();
                panic!(
                    "no handshake line ({other:?}); stderr: {}",
                    stderr.lock().unwrap()
                );
            }
        };
        Plugin {
            child,
            handshake: Handshake::parse(&line),
            stdout_rest,
            stderr,
            _socket_dir: socket_dir,
        }
    }

    /// Everything written to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits up to `limit` for stderr to satisfy `ready`, then returns it (satisfied or
    /// not, for the caller's assertion). The process logs an event a little after the
    /// client has seen it (a refused TLS client fails before the server writes why).
    pub fn stderr_when(&self, limit: Duration, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let text = self.stderr();
            if ready(&text) || Instant::now() >= deadline {
                return text;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything written to stdout after the handshake line (must stay empty).
    pub fn stdout_after_handshake(&self) -> String {
        self.stdout_rest.lock().unwrap().clone()
    }

    /// Waits up to `limit` for the process to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends a signal by name (`INT`, `TERM`) with the system `kill` utility.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Plugin {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Collects a pipe into a shared string on a background thread.
pub fn drain(pipe: impl Read + Send + 'static) -> Arc<Mutex<String>> {
    let out = Arc::new(Mutex::new(String::new()));
    let sink = out.clone();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap_or(0) > 0 {
            sink.lock().unwrap().push_str(&line);
            line.clear();
        }
    });
    out
}
