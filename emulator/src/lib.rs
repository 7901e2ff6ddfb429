//! Offline emulator of the Cloudflare v4 Access API (applications, reusable policies,
//! the Linked App Token edge check), usable as a library from Rust tests and as the
//! `cfaccess-emulator` binary.

mod config;
mod fault;

use std::net::SocketAddr;
use std::time::SystemTime;

use serde_json::Value;

pub use config::{DEFAULT_ACCOUNT_ID, EmulatorConfig, RateLimit, Seed, SeedAccount, demo_ids};
pub use fault::{Fault, FaultKind};

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Address that was requested.
        addr: SocketAddr,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The state file exists but could not be read or parsed.
    #[error("cannot load state file {path}: {message}")]
    State {
        /// State file path.
        path: std::path::PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A seed object was refused by the API rules.
    #[error("invalid seed: {0}")]
    Seed(String),
    /// Any other I/O failure.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

/// One request received under `/client/v4`.
#[derive(Clone, Debug)]
pub struct LoggedRequest {
    /// HTTP method, upper case.
    pub method: String,
    /// Full request path without the query string, e.g. `/client/v4/accounts/…/access/apps`.
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// Status the emulator produced (also for dropped connections).
    pub status: u16,
    /// Request body parsed as JSON (a non-JSON body is kept as a JSON string).
    pub body: Option<Value>,
    /// When the request arrived.
    pub time: SystemTime,
    /// True when the response was never sent (DropAfterCommit fault).
    pub dropped: bool,
}

/// A running emulator. Dropping it stops the server.
pub struct Emulator {
    addr: SocketAddr,
}

impl Emulator {
    /// Binds, loads state/seed and starts serving in the background.
    pub async fn start(config: EmulatorConfig) -> Result<Emulator, EmulatorError> {
        let _ = config;
        todo!()
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// API base URL for the provider, `http://127.0.0.1:PORT/client/v4`.
    pub fn base_url(&self) -> String {
        format!("http://{}/client/v4", self.addr)
    }

    /// Admin API root, `http://127.0.0.1:PORT/__emulator`.
    pub fn admin_url(&self) -> String {
        format!("http://{}/__emulator", self.addr)
    }

    /// Every request received under `/client/v4`, oldest first.
    pub fn request_log(&self) -> Vec<LoggedRequest> {
        todo!()
    }

    /// Empties the request log.
    pub fn clear_request_log(&self) {
        todo!()
    }

    /// Number of POST/PUT/PATCH/DELETE requests in the log (any status).
    pub fn write_count(&self) -> usize {
        todo!()
    }

    /// Adds a fault (matched after those added earlier).
    pub fn add_fault(&self, fault: Fault) {
        let _ = fault;
        todo!()
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        todo!()
    }

    /// Apps of an account as the list endpoint returns them (policies expanded).
    pub fn apps(&self, account_id: &str) -> Vec<Value> {
        let _ = account_id;
        todo!()
    }

    /// Reusable policies of an account as the list endpoint returns them.
    pub fn policies(&self, account_id: &str) -> Vec<Value> {
        let _ = account_id;
        todo!()
    }

    /// One app as GET returns it.
    pub fn app(&self, account_id: &str, id: &str) -> Option<Value> {
        let _ = (account_id, id);
        todo!()
    }

    /// One reusable policy as GET returns it.
    pub fn policy(&self, account_id: &str, id: &str) -> Option<Value> {
        let _ = (account_id, id);
        todo!()
    }

    /// Changes an app out of band (drift tests): `f` gets the app as GET returns it.
    pub fn mutate_app(&self, account_id: &str, id: &str, f: impl FnOnce(&mut Value)) -> bool {
        let _ = (account_id, id, f);
        todo!()
    }

    /// Changes a reusable policy out of band: `f` gets the policy as GET returns it.
    pub fn mutate_policy(&self, account_id: &str, id: &str, f: impl FnOnce(&mut Value)) -> bool {
        let _ = (account_id, id, f);
        todo!()
    }

    /// Deletes an app out of band.
    pub fn delete_app_out_of_band(&self, account_id: &str, id: &str) -> bool {
        let _ = (account_id, id);
        todo!()
    }

    /// Deletes a reusable policy out of band, detaching it from every app.
    pub fn delete_policy_out_of_band(&self, account_id: &str, id: &str) -> bool {
        let _ = (account_id, id);
        todo!()
    }

    /// Replaces an app's attachments out of band with `(policy id, precedence)` links.
    pub fn set_attachments_out_of_band(
        &self,
        account_id: &str,
        app_id: &str,
        links: Vec<(String, u32)>,
    ) -> bool {
        let _ = (account_id, app_id, links);
        todo!()
    }

    /// Stops the server and waits for it.
    pub async fn shutdown(self) {
        todo!()
    }
}
