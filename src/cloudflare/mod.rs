//! Typed client of the Cloudflare Access API (applications, reusable policies and
//! their attachments). Knows nothing of Terraform.
//!
//! What it does for its callers:
//! - one `reqwest` (rustls) connection pool, bearer auth, a `User-Agent` naming the
//!   provider and Terraform versions;
//! - v4 envelope decoding; failures become [`ApiError`] with status, every Cloudflare
//!   code and message, method and path (never the token);
//! - retries with full-jitter exponential backoff on 429,
//!   code 971, 5xx, connection errors and timeouts; 409 on policy delete (the wait
//!   the server asks for, in any of its headers, is honoured);
//! - a token-bucket rate limiter shared by every clone of the [`Client`];
//! - creates that survive a lost response without duplicating the object or taking
//!   someone else's;
//! - one writer per application: attachment edits batched into one fresh
//!   read-modify-write that keeps every foreign entry, retried from a new read;
//! - read coalescing: `get_*` served from one paginated list per account and kind.

mod app_writer;
mod attachments;
mod cache;
mod client;
pub mod config;
pub mod envelope;
pub mod error;
mod fresh;
pub mod ids;
pub mod models;
mod rate_limit;
pub mod secret;
mod transport;

pub use client::Client;
pub use config::{
    BaseUrlError, ClientConfig, DEFAULT_BASE_URL, DISABLE_READ_COALESCING_ENV, MAX_LIST_PAGES,
    MAX_REQUESTS_PER_SECOND, MAX_RESPONSE_BYTES, MIN_REQUESTS_PER_SECOND, check_base_url,
};
pub use error::{ApiError, CfMessage};
pub use ids::{AccountId, AppId, IdError, PolicyId};
pub use models::app::{
    App, AppFilter, AttachedPolicy, AttachmentRef, Deleted, PolicyLink, SaasApp,
};
pub use models::app_type::AppType;
pub use models::domain::{domain_key, same_domain};
pub use models::policy::{Decision, Policy, PolicyBody};
pub use models::rule::Rule;
pub use secret::SecretString;
pub use transport::ClientStats;

/// Locks `mutex`, also when a panic poisoned it: every value guarded in this client
/// is replaced or edited in single steps, so a panicking holder cannot leave it
/// half-written, and one failed RPC must not make the others fail.
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
