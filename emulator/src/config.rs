//! Start-up configuration of the emulator: listen address, auth, accounts, rate limit,
//! persistence and seed data.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The account id the emulator serves when no account is configured (the id used in
/// Cloudflare's own API examples).
pub const DEFAULT_ACCOUNT_ID: &str = "023e105f4ecef8ad9ca31a8372d0c353";

/// How an [`crate::Emulator`] is started. `Default` gives a random port on 127.0.0.1,
/// any bearer token, the default account, Cloudflare's rate limit, no persistence and
/// no seed.
#[derive(Clone, Debug, Default)]
pub struct EmulatorConfig {
    /// Address to bind; `None` = `127.0.0.1:0` (the OS picks a free port).
    pub listen: Option<SocketAddr>,
    /// `Some(t)`: only `Authorization: Bearer t` is accepted; other tokens get 403 code
    /// 10000. `None`: any non-empty bearer token (or X-Auth-Email + X-Auth-Key) is accepted.
    pub token: Option<String>,
    /// Account ids the token may use; empty = `[DEFAULT_ACCOUNT_ID]`. Requests naming
    /// another well-formed account id get 403 code 10000.
    pub accounts: Vec<String>,
    /// `None` = Cloudflare's default (1200 requests per 300 s, sliding window, per token);
    /// use [`RateLimit::disabled`] to switch it off.
    pub rate_limit: Option<RateLimit>,
    /// Load state from this file at start (when it exists) and save it atomically after
    /// every write. When the file exists the seed is not applied.
    pub state_file: Option<PathBuf>,
    /// Objects that exist before the first request.
    pub seed: Option<Seed>,
}

/// A sliding-window request limit per token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed within any window of length `per`.
    pub requests: u32,
    /// Window length.
    pub per: Duration,
}

impl RateLimit {
    /// Cloudflare's documented API limit: 1200 requests per 5 minutes.
    pub fn cloudflare_default() -> RateLimit {
        RateLimit {
            requests: 1200,
            per: Duration::from_secs(300),
        }
    }

    /// No limit at all (for tests that need speed).
    pub fn disabled() -> RateLimit {
        RateLimit {
            requests: u32::MAX,
            per: Duration::ZERO,
        }
    }

    /// True when this value means "no limit" (zero window or unbounded request count).
    pub fn is_disabled(&self) -> bool {
        self.per.is_zero() || self.requests == u32::MAX
    }
}

/// Objects that exist when the emulator starts, written as the API accepts them
/// (request bodies) or returns them (responses): `id`, `aud`, `created_at` … are kept
/// when present, generated otherwise. Apps reference policies by id in `policies`
/// (`[{id, precedence}]` or bare ids), so policies that apps use must carry an `id`.
///
/// `apps` and `policies` belong to the default account (the first configured account);
/// `accounts` holds objects of other accounts keyed by account id.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(default)]
pub struct Seed {
    /// Apps of the default account.
    pub apps: Vec<Value>,
    /// Reusable policies of the default account.
    pub policies: Vec<Value>,
    /// Objects of other accounts.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub accounts: BTreeMap<String, SeedAccount>,
}

/// Seed objects of one account.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(default)]
pub struct SeedAccount {
    /// Apps of this account.
    pub apps: Vec<Value>,
    /// Reusable policies of this account.
    pub policies: Vec<Value>,
}

/// Fixed ids of [`Seed::downstream_demo`] objects, so docs and examples can name them.
pub mod demo_ids {
    /// "Internal API" self-hosted app.
    pub const INTERNAL_API_APP: &str = "4b1c7f0e-8a52-4d0b-9d3e-1f6a2c9e5b01";
    /// "Company wiki" self-hosted app.
    pub const COMPANY_WIKI_APP: &str = "9e2d4a61-3c7b-4f18-a0d5-6b8e1c2f7a02";
    /// "Employees" policy attached to "Internal API".
    pub const INTERNAL_API_EMPLOYEES_POLICY: &str = "c3a5e8b2-71d4-4e09-8f6a-2b9d0c4e1a03";
    /// "Employees" policy attached to "Company wiki".
    pub const COMPANY_WIKI_EMPLOYEES_POLICY: &str = "d7f1b3c9-25e8-4a6d-b0c2-8e4f6a1d3b04";
}

impl Seed {
    /// A seed self-hosted app `name` at `domain` (its public destination; 24h
    /// sessions), without policies.
    pub fn self_hosted_app(id: &str, name: &str, domain: &str) -> Value {
        serde_json::json!({
            "id": id,
            "type": "self_hosted",
            "name": name,
            "domain": domain,
            "destinations": [{"type": "public", "uri": domain}],
            "session_duration": "24h",
        })
    }

    /// A seed reusable policy `name` allowing `email_domain example.com`.
    pub fn allow_policy(id: &str, name: &str) -> Value {
        serde_json::json!({
            "id": id,
            "name": name,
            "decision": "allow",
            "include": [{"email_domain": {"domain": "example.com"}}],
        })
    }

    /// `n` seed policies like [`Seed::allow_policy`] with fresh ids, the `i`th named
    /// `name(i)`, and their ids in the same order, for attaching them to seed apps.
    pub fn allow_policies(n: usize, name: impl Fn(usize) -> String) -> (Vec<String>, Vec<Value>) {
        let ids: Vec<String> = (0..n).map(|_| crate::ids::new_uuid()).collect();
        let policies = ids
            .iter()
            .enumerate()
            .map(|(i, id)| Self::allow_policy(id, &name(i)))
            .collect();
        (ids, policies)
    }

    /// Two self-hosted downstream apps, "Internal API" (`api.internal.example.com`) and
    /// "Company wiki" (`wiki.internal.example.com`), each with its own reusable `allow`
    /// policy "Employees" (`email_domain example.com`) attached at precedence 1.
    pub fn downstream_demo() -> Seed {
        let app = |id: &str, name: &str, domain: &str, policy: &str| {
            let mut app = Seed::self_hosted_app(id, name, domain);
            app["policies"] = serde_json::json!([{"id": policy, "precedence": 1}]);
            app
        };
        let policy = |id: &str| Seed::allow_policy(id, "Employees");
        Seed {
            apps: vec![
                app(
                    demo_ids::INTERNAL_API_APP,
                    "Internal API",
                    "api.internal.example.com",
                    demo_ids::INTERNAL_API_EMPLOYEES_POLICY,
                ),
                app(
                    demo_ids::COMPANY_WIKI_APP,
                    "Company wiki",
                    "wiki.internal.example.com",
                    demo_ids::COMPANY_WIKI_EMPLOYEES_POLICY,
                ),
            ],
            policies: vec![
                policy(demo_ids::INTERNAL_API_EMPLOYEES_POLICY),
                policy(demo_ids::COMPANY_WIKI_EMPLOYEES_POLICY),
            ],
            accounts: BTreeMap::new(),
        }
    }
}
