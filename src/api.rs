//! What a configured provider hands to resources and data sources: one client and the
//! account to work in. Kept apart from the provider (the registry of types) so that
//! resources depend on this and the provider on them, never both ways.

use std::sync::RwLock;

use crate::cloudflare::{AccountId, Client};
use crate::tfplugin::{AttributePath, Diagnostic, Diagnostics, Field, Severity, Value};

/// Environment variable for `api_token`.
pub const ENV_API_TOKEN: &str = "CLOUDFLARE_API_TOKEN";
/// Environment variable for `account_id`.
pub const ENV_ACCOUNT_ID: &str = "CLOUDFLARE_ACCOUNT_ID";
/// Environment variable for `base_url`.
pub const ENV_BASE_URL: &str = "CLOUDFLARE_BASE_URL";

/// What a configured provider hands to resources: one client (one connection pool,
/// one rate limiter, one read cache for the whole process) and the default account.
#[derive(Clone)]
pub struct Api {
    pub client: Client,
    /// The account the resource works in: its own `account_id` or the provider's.
    pub account_id: AccountId,
}

enum ConfigState {
    /// ConfigureProvider has not run (e.g. `terraform validate`).
    Unconfigured,
    /// The configuration held values unknown until apply; API calls must wait.
    Deferred(String),
    Ready {
        client: Client,
        account_id: Option<String>,
    },
}

/// Provider-wide state shared by all resources and data sources.
pub struct ProviderData {
    state: RwLock<ConfigState>,
}

impl ProviderData {
    /// Unconfigured provider data (ConfigureProvider has not run).
    pub(crate) fn new() -> Self {
        ProviderData {
            state: RwLock::new(ConfigState::Unconfigured),
        }
    }

    /// True once the provider holds a usable client (false during validate, and during
    /// a plan whose provider configuration depends on unknown values).
    pub fn is_ready(&self) -> bool {
        matches!(*self.read_state(), ConfigState::Ready { .. })
    }

    /// The client and the account to use for a resource whose `account_id` attribute
    /// holds `resource_account` (null = the provider's default).
    pub fn api(&self, resource_account: &Value) -> Result<Api, Diagnostics> {
        let state = self.read_state();
        let (client, default_account) = match &*state {
            ConfigState::Ready { client, account_id } => (client.clone(), account_id.clone()),
            ConfigState::Deferred(why) => {
                return Err(error(
                    None,
                    "Provider configuration not known yet",
                    format!(
                        "The cfaccess provider configuration depends on values that are not known until apply ({why}), so the Cloudflare API cannot be called yet."
                    ),
                ));
            }
            ConfigState::Unconfigured => {
                return Err(error(None, "Provider not configured", "The cfaccess provider was used before ConfigureProvider ran; this is a bug in the provider or in Terraform.".to_string()));
            }
        };
        let account_id = match resource_account {
            Value::String(s) if !s.is_empty() => s.clone(),
            Value::Unknown => {
                return Err(error(
                    Some(AttributePath::root("account_id")),
                    "Account not known yet",
                    "account_id is not known until apply, so the Cloudflare API cannot be called for this resource yet.".to_string(),
                ));
            }
            _ => default_account.ok_or_else(|| {
                error(
                    Some(AttributePath::root("account_id")),
                    "Missing Cloudflare account",
                    format!("Set account_id on this resource, or account_id in the provider block, or the {ENV_ACCOUNT_ID} environment variable."),
                )
            })?,
        };
        // Both sources were checked by their schema validators before any call.
        Ok(Api {
            client,
            account_id: AccountId::new_unchecked(account_id),
        })
    }

    /// On a create whose planned `account_id` is unknown because the configuration
    /// leaves it out, plans the provider's default account instead, so the plan shows
    /// the account rather than "(known after apply)". A no-op while the provider
    /// configuration is not known.
    pub fn plan_default_account(&self, is_create: bool, planned: &mut Field<String>) {
        if is_create
            && planned.is_unknown()
            && let Ok(api) = self.api(&Value::Null)
        {
            *planned = Field::Known(api.account_id.to_string());
        }
    }

    fn read_state(&self) -> std::sync::RwLockReadGuard<'_, ConfigState> {
        // A panic while holding the lock cannot leave ConfigState half-written (it is
        // replaced whole), so a poisoned lock is still safe to read.
        self.state
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// ConfigureProvider saw values unknown until apply (named in `why`).
    pub(crate) fn defer(&self, why: String) {
        self.set_state(ConfigState::Deferred(why));
    }

    /// ConfigureProvider made a client; `account_id` is the default account.
    pub(crate) fn set_ready(&self, client: Client, account_id: Option<String>) {
        self.set_state(ConfigState::Ready { client, account_id });
    }

    fn set_state(&self, s: ConfigState) {
        *self
            .state
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = s;
    }
}

fn error(path: Option<AttributePath>, summary: &str, detail: String) -> Diagnostics {
    Diagnostics(vec![Diagnostic {
        severity: Severity::Error,
        summary: summary.to_string(),
        detail,
        attribute: path,
    }])
}
