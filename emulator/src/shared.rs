//! State shared by every request handler and the [`crate::Emulator`] handle.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::LoggedRequest;
use crate::edge::Signer;
use crate::fault::FaultSet;
use crate::persist::save_atomic;
use crate::ratelimit::RateLimiter;
use crate::reqlog::RequestLog;
use crate::store::State;
use crate::writer::WriterSet;

pub(crate) struct Shared {
    state: RwLock<State>,
    log: Mutex<RequestLog>,
    faults: Mutex<FaultSet>,
    /// Simulated other teams editing apps (see `crate::writer`).
    writers: Mutex<WriterSet>,
    pub limiter: RateLimiter,
    /// The only bearer token accepted, when configured.
    pub token: Option<String>,
    pub state_file: Option<PathBuf>,
    /// Account that seed objects without an account belong to.
    pub default_account: String,
}

/// A poisoned lock only means another handler panicked; the data is still consistent
/// because every command validates before it changes anything.
fn unpoison<G>(r: Result<G, std::sync::PoisonError<G>>) -> G {
    r.unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    pub fn new(
        state: State,
        limiter: RateLimiter,
        token: Option<String>,
        state_file: Option<PathBuf>,
        default_account: String,
    ) -> Shared {
        Shared {
            state: RwLock::new(state),
            log: Mutex::new(RequestLog::default()),
            faults: Mutex::new(FaultSet::default()),
            writers: Mutex::new(WriterSet::default()),
            limiter,
            token,
            state_file,
            default_account,
        }
    }

    pub fn read(&self) -> RwLockReadGuard<'_, State> {
        unpoison(self.state.read())
    }

    pub fn write(&self) -> RwLockWriteGuard<'_, State> {
        unpoison(self.state.write())
    }

    pub fn log(&self) -> MutexGuard<'_, RequestLog> {
        unpoison(self.log.lock())
    }

    pub fn faults(&self) -> MutexGuard<'_, FaultSet> {
        unpoison(self.faults.lock())
    }

    pub fn writers(&self) -> MutexGuard<'_, WriterSet> {
        unpoison(self.writers.lock())
    }

    pub fn record(&self, entry: LoggedRequest) {
        self.log().push(entry);
    }

    /// Saves `state` to the state file, if one is configured. Called with the write
    /// lock held so saves happen in commit order.
    pub fn persist(&self, state: &State) {
        let Some(path) = &self.state_file else {
            return;
        };
        let result = serde_json::to_vec_pretty(&state.to_file())
            .map_err(std::io::Error::other)
            .and_then(|bytes| save_atomic(path, &bytes));
        if let Err(e) = result {
            tracing::error!(path = %path.display(), error = %e, "cannot save emulator state");
        }
    }

    /// The edge's signing key, generated on first use and shared by every emulator in
    /// the process: RSA key generation is slow in unoptimised test builds (seconds), and
    /// most tests never need a key at all.
    pub fn signer(&self) -> Result<&'static Signer, String> {
        static SIGNER: OnceLock<Result<Signer, String>> = OnceLock::new();
        SIGNER
            .get_or_init(Signer::generate)
            .as_ref()
            .map_err(Clone::clone)
    }
}
