//! The emulator's data: accounts holding apps and reusable policies in their canonical
//! stored form, the indexes that keep invariants cheap (`app_count`, duplicate domains),
//! and the rendering of API responses from that form.

mod apps;
mod file;
mod ordered;
mod out_of_band;
mod policies;
mod view;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Map, Value};

pub(crate) use apps::Origin;
pub(crate) use file::StateFile;
use ordered::Ordered;

use crate::envelope::{ApiError, codes};
use crate::schema::policy_body::linked_app_uids;

/// App types a `linked_app_token.app_uid` may name (spec §3.4, §11 #23).
const LINKABLE_SOURCE_TYPES: &[&str] = &["self_hosted", "saas", "mcp", "mcp_portal"];

/// One attachment of a policy to an app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Link {
    pub id: String,
    pub precedence: u32,
}

/// An Access application as stored: every response field except `policies`, the
/// ordered attachments, and the app's own (legacy app-scoped) policies.
#[derive(Debug, Clone)]
pub(crate) struct App {
    pub fields: Map<String, Value>,
    /// Sorted by precedence.
    pub links: Vec<Link>,
    pub scoped: BTreeMap<String, Map<String, Value>>,
}

impl App {
    pub fn str_field(&self, key: &str) -> Option<&str> {
        self.fields.get(key).and_then(Value::as_str)
    }

    pub fn app_type(&self) -> &str {
        self.str_field("type").unwrap_or_default()
    }

    /// The audiences a token issued for this app carries: the `aud` tag, and for an
    /// OIDC SaaS app its `client_id` (what its OAuth access tokens are issued for).
    pub fn token_audience(&self) -> Option<&str> {
        if self.app_type() == "saas" {
            let saas = self.fields.get("saas_app");
            if let Some(client_id) = saas
                .and_then(|s| s.get("client_id"))
                .and_then(Value::as_str)
            {
                return Some(client_id);
            }
        }
        self.str_field("aud")
    }
}

/// All objects of one account.
#[derive(Debug, Clone, Default)]
pub(crate) struct Account {
    pub apps: Ordered<App>,
    pub policies: Ordered<Map<String, Value>>,
    /// Reusable policy id → ids of the apps that link it.
    usage: HashMap<String, BTreeSet<String>>,
    /// `domain` → id of the self_hosted app that uses it.
    domains: HashMap<String, String>,
}

/// Every account the emulator serves.
#[derive(Debug, Clone, Default)]
pub(crate) struct State {
    pub accounts: BTreeMap<String, Account>,
}

impl State {
    pub fn account(&self, id: &str) -> Option<&Account> {
        self.accounts.get(id)
    }

    pub fn account_mut(&mut self, id: &str) -> Option<&mut Account> {
        self.accounts.get_mut(id)
    }

    /// Finds an app by id in any account (the edge knows no account).
    pub fn find_app(&self, app_id: &str) -> Option<(&Account, &App)> {
        self.accounts
            .values()
            .find_map(|acc| acc.apps.get(app_id).map(|app| (acc, app)))
    }
}

impl Account {
    /// Number of apps linking reusable policy `id`.
    pub fn app_count(&self, id: &str) -> usize {
        self.usage.get(id).map_or(0, BTreeSet::len)
    }

    /// Ids of the apps linking reusable policy `id`.
    pub fn apps_using(&self, id: &str) -> Vec<String> {
        self.usage
            .get(id)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// A reusable policy as the policies endpoints return it.
    pub fn render_policy(&self, fields: &Map<String, Value>) -> Value {
        serde_json::to_value(self.policy_view(fields)).unwrap_or_default()
    }

    /// One attachment of `app` expanded to the full policy object with `precedence`.
    pub fn render_link(&self, app: &App, link: &Link) -> Option<Value> {
        self.link_view(app, link)
            .map(|v| serde_json::to_value(v).unwrap_or_default())
    }

    /// An app as GET returns it: stored fields plus expanded `policies`.
    pub fn render_app(&self, app: &App) -> Value {
        serde_json::to_value(self.app_view(app)).unwrap_or_default()
    }

    /// 12130 unless every `app_uid` names an existing app that can issue tokens.
    fn check_linked_apps(&self, uids: &[String]) -> Result<(), ApiError> {
        for uid in uids {
            match self.apps.get(uid) {
                Some(app) if LINKABLE_SOURCE_TYPES.contains(&app.app_type()) => {}
                Some(app) => {
                    return Err(ApiError::bad_request(
                        codes::LINKED_APP_MISSING,
                        format!(
                            "linked app must be an existing app: {uid} is a {} application; linked_app_token needs a self_hosted or saas (OIDC) application",
                            app.app_type()
                        ),
                    ));
                }
                None => {
                    return Err(ApiError::bad_request(
                        codes::LINKED_APP_MISSING,
                        "linked app must be an existing app",
                    ));
                }
            }
        }
        Ok(())
    }

    /// 19002 when a policy holding `linked_app_token` would sit on a non-self_hosted app.
    fn check_attachable(
        app_type: &str,
        policy_id: &str,
        fields: &Map<String, Value>,
    ) -> Result<(), ApiError> {
        if app_type != "self_hosted" && !linked_app_uids(fields).is_empty() {
            return Err(ApiError::bad_request(
                codes::LINKED_POLICY_ON_NON_SELF_HOSTED,
                format!(
                    "linked_app_token policies can only be attached to self_hosted applications (policy {policy_id}, application type {app_type})"
                ),
            ));
        }
        Ok(())
    }

    /// Stores `app` under `app_id` in place of `old` (`None` for a new app), keeping the
    /// policy usage sets and the domain index in step with it.
    fn store_app(&mut self, app_id: &str, old: Option<&App>, app: App) {
        self.apply_usage(app_id, old.map_or(&[][..], |o| &o.links), &app.links);
        self.reindex_domain(app_id, old, Some(&app));
        self.apps.insert(app_id.to_string(), app);
    }

    /// Moves `app_id` from the usage sets of `old` links to those of `new` links.
    fn apply_usage(&mut self, app_id: &str, old: &[Link], new: &[Link]) {
        for link in old {
            if let Some(set) = self.usage.get_mut(&link.id) {
                set.remove(app_id);
                if set.is_empty() {
                    self.usage.remove(&link.id);
                }
            }
        }
        for link in new {
            if self.policies.contains(&link.id) {
                self.usage
                    .entry(link.id.clone())
                    .or_default()
                    .insert(app_id.to_string());
            }
        }
    }

    /// Re-points the domain index of `app_id` from its old fields to its new ones.
    fn reindex_domain(&mut self, app_id: &str, old: Option<&App>, new: Option<&App>) {
        if let Some(d) = old.and_then(self_hosted_domain)
            && self.domains.get(d).is_some_and(|owner| owner == app_id)
        {
            self.domains.remove(d);
        }
        if let Some(d) = new.and_then(self_hosted_domain) {
            self.domains.insert(d.to_string(), app_id.to_string());
        }
    }

    /// 19006 when `domain` is used by another self_hosted app (§11 #17).
    fn check_domain(
        &self,
        app_type: &str,
        fields: &Map<String, Value>,
        own_id: Option<&str>,
    ) -> Result<(), ApiError> {
        if app_type != "self_hosted" {
            return Ok(());
        }
        let Some(domain) = fields.get("domain").and_then(Value::as_str) else {
            return Ok(());
        };
        match self.domains.get(domain) {
            Some(owner) if Some(owner.as_str()) != own_id => Err(ApiError::bad_request(
                codes::DUPLICATE_DOMAIN,
                format!(
                    "access.api.error.duplicate_domain: domain {domain} is already used by application {owner}"
                ),
            )),
            _ => Ok(()),
        }
    }
}

fn self_hosted_domain(app: &App) -> Option<&str> {
    (app.app_type() == "self_hosted")
        .then(|| app.str_field("domain"))
        .flatten()
}

/// Sorts links by precedence (ties keep their order).
fn sort_links(links: &mut [Link]) {
    links.sort_by_key(|l| l.precedence);
}
