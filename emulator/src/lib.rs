//! Offline emulator of the Cloudflare v4 Access API (applications, reusable policies,
//! the Linked App Token edge check), usable as a library from Rust tests and as the
//! `cfaccess-emulator` binary.

mod admin;
mod admin_writers;
mod api;
mod clock;
mod config;
mod duration;
mod edge;
mod envelope;
mod fault;
mod ids;
mod persist;
mod ratelimit;
pub mod read_write;
mod reqlog;
mod schema;
mod server;
mod shared;
mod store;
mod writer;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::SystemTime;

use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use envelope::codes;
use ratelimit::RateLimiter;
use shared::Shared;
use store::{State, StateFile};

pub use config::{DEFAULT_ACCOUNT_ID, EmulatorConfig, RateLimit, Seed, SeedAccount, demo_ids};
pub use fault::{Fault, FaultKind};
pub use writer::{ConcurrentWriter, DEFAULT_WRITER_PREFIX, WriterAttachment, WriterReport};

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
    /// When the emulator had its answer ready (after any injected latency); with
    /// `time`, what read→write gaps are measured from (see [`read_write`]).
    pub responded: SystemTime,
    /// True when the response was never sent (DropAfterCommit fault).
    pub dropped: bool,
}

/// A running emulator. Dropping it stops the server.
pub struct Emulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// Loads the state file when it exists, otherwise builds the state from the seed.
fn initial_state(
    config: &EmulatorConfig,
    accounts: &[String],
) -> Result<(State, bool), EmulatorError> {
    let default_account = accounts.first().map_or(DEFAULT_ACCOUNT_ID, String::as_str);
    if let Some(path) = &config.state_file
        && path.exists()
    {
        let state_error = |message: String| EmulatorError::State {
            path: path.clone(),
            message,
        };
        let bytes = std::fs::read(path).map_err(|e| state_error(e.to_string()))?;
        let file: StateFile =
            serde_json::from_slice(&bytes).map_err(|e| state_error(e.to_string()))?;
        let state = State::from_file(file).map_err(state_error)?;
        return Ok((state, false));
    }
    let mut state = State::default();
    for id in accounts {
        state.accounts.entry(id.clone()).or_default();
    }
    if let Some(seed) = &config.seed {
        state
            .apply_seed(seed, default_account)
            .map_err(EmulatorError::Seed)?;
    }
    Ok((state, true))
}

impl Emulator {
    /// Binds, loads state/seed and starts serving in the background.
    pub async fn start(config: EmulatorConfig) -> Result<Emulator, EmulatorError> {
        let accounts = if config.accounts.is_empty() {
            vec![DEFAULT_ACCOUNT_ID.to_string()]
        } else {
            config.accounts.clone()
        };
        let (mut state, fresh) = initial_state(&config, &accounts)?;
        for id in &accounts {
            state.accounts.entry(id.clone()).or_default();
        }
        let limiter = RateLimiter::new(
            config
                .rate_limit
                .clone()
                .unwrap_or_else(RateLimit::cloudflare_default),
        );
        let shared = Arc::new(Shared::new(
            state,
            limiter,
            config.token.clone(),
            config.state_file.clone(),
            accounts[0].clone(),
        ));
        if fresh {
            // The state file exists from the first moment, seed included.
            shared.persist(&shared.read());
        }
        let addr = config
            .listen
            .unwrap_or_else(|| SocketAddr::from((Ipv4Addr::LOCALHOST, 0)));
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| EmulatorError::Bind { addr, source })?;
        let addr = listener.local_addr()?;
        let (shutdown, rx) = watch::channel(false);
        let app = server::router(shared.clone());
        let task = tokio::spawn(server::serve(listener, app, rx));
        tracing::info!(%addr, "cfaccess-emulator started");
        Ok(Emulator {
            addr,
            shared,
            shutdown,
            task: Some(task),
        })
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

    /// The account seed objects without an account belong to (the first configured one).
    pub fn default_account(&self) -> &str {
        &self.shared.default_account
    }

    /// Every request received under `/client/v4`, oldest first.
    pub fn request_log(&self) -> Vec<LoggedRequest> {
        self.shared.log().snapshot()
    }

    /// Empties the request log.
    pub fn clear_request_log(&self) {
        self.shared.log().clear();
    }

    /// Number of POST/PUT/PATCH/DELETE requests in the log (any status).
    pub fn write_count(&self) -> usize {
        self.shared.log().write_count()
    }

    /// Adds a fault (matched after those added earlier).
    pub fn add_fault(&self, fault: Fault) {
        self.shared.faults().add(fault);
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.shared.faults().clear();
    }

    /// Faults still active (with their remaining counts).
    pub fn faults(&self) -> Vec<Fault> {
        self.shared.faults().list()
    }

    /// Apps of an account as the list endpoint returns them (policies expanded).
    pub fn apps(&self, account_id: &str) -> Vec<Value> {
        let state = self.shared.read();
        state
            .account(account_id)
            .map(|acc| acc.apps.values().map(|a| acc.render_app(a)).collect())
            .unwrap_or_default()
    }

    /// Reusable policies of an account as the list endpoint returns them.
    pub fn policies(&self, account_id: &str) -> Vec<Value> {
        let state = self.shared.read();
        state
            .account(account_id)
            .map(|acc| {
                acc.policies
                    .values()
                    .map(|p| acc.render_policy(p))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// One app as GET returns it.
    pub fn app(&self, account_id: &str, id: &str) -> Option<Value> {
        let state = self.shared.read();
        let acc = state.account(account_id)?;
        acc.apps.get(id).map(|a| acc.render_app(a))
    }

    /// One reusable policy as GET returns it.
    pub fn policy(&self, account_id: &str, id: &str) -> Option<Value> {
        let state = self.shared.read();
        let acc = state.account(account_id)?;
        acc.policies.get(id).map(|p| acc.render_policy(p))
    }

    /// Runs `f` on an account under the write lock and saves the state if it changed.
    fn change(&self, account_id: &str, f: impl FnOnce(&mut store::Account) -> bool) -> bool {
        let mut state = self.shared.write();
        let changed = state.account_mut(account_id).is_some_and(f);
        if changed {
            self.shared.persist(&state);
        }
        changed
    }

    /// Changes an app out of band (drift tests): `f` gets the app as GET returns it and
    /// may change any field, including `policies` (re-read as `{id, precedence}`
    /// entries; unknown policy ids are dropped). `id`/`uid` cannot change; `updated_at`
    /// is bumped unless `f` sets it. Not logged, not rate-limited. `false` if unknown.
    pub fn mutate_app(&self, account_id: &str, id: &str, f: impl FnOnce(&mut Value)) -> bool {
        self.change(account_id, |acc| acc.mutate_app(id, f))
    }

    /// Changes a reusable policy out of band: `f` gets the policy as GET returns it
    /// (`app_count` and `reusable` stay computed).
    pub fn mutate_policy(&self, account_id: &str, id: &str, f: impl FnOnce(&mut Value)) -> bool {
        self.change(account_id, |acc| acc.mutate_policy(id, f))
    }

    /// Deletes an app out of band.
    pub fn delete_app_out_of_band(&self, account_id: &str, id: &str) -> bool {
        self.change(account_id, |acc| acc.delete_app(id).is_ok())
    }

    /// Deletes a reusable policy out of band, detaching it from every app.
    pub fn delete_policy_out_of_band(&self, account_id: &str, id: &str) -> bool {
        self.change(account_id, |acc| acc.delete_policy_out_of_band(id))
    }

    /// Replaces an app's attachments out of band with `(policy id, precedence)` links;
    /// `false` when the app or one of the policies does not exist.
    pub fn set_attachments_out_of_band(
        &self,
        account_id: &str,
        app_id: &str,
        links: Vec<(String, u32)>,
    ) -> bool {
        self.change(account_id, |acc| acc.set_attachments(app_id, links))
    }

    /// Starts a [`ConcurrentWriter`] (another team attaching its own policies to an app
    /// on a timer) and returns its id. Needs a Tokio runtime; fails when the app does
    /// not exist. It runs until [`Emulator::stop_concurrent_writers`] or shutdown.
    pub fn start_concurrent_writer(&self, writer: ConcurrentWriter) -> Result<usize, String> {
        self.shared.writers().start(&self.shared, writer)
    }

    /// Stops every concurrent writer; their reports stay available.
    pub fn stop_concurrent_writers(&self) {
        self.shared.writers().stop_all();
    }

    /// What each concurrent writer attached and which of those attachments are gone
    /// from its app now.
    pub fn concurrent_writers(&self) -> Vec<WriterReport> {
        self.shared.writers().reports(&self.shared)
    }

    /// Stops the server and waits for it.
    pub async fn shutdown(mut self) {
        self.shared.writers().clear();
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.shared.writers().clear();
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
