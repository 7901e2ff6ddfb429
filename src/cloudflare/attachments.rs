//! Attaching reusable policies to applications.
//!
//! The API has no attach endpoint: an application's `policies` list is replaced by a
//! PUT of the whole application. Every change therefore is a read-modify-write under
//! a per-(account, application) lock: a fresh GET (never the snapshot), the edit,
//! a PUT that carries every entry we did not mean to touch with its precedence
//! exactly as read (foreign reusable and legacy app-scoped entries alike, as
//! `{id, precedence}` links — never the expanded objects, which the API rejects), and
//! a check that the returned application holds the result.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::OwnedMutexGuard;

use super::client::Client;
use super::error::ApiError;
use super::lock;
use super::models::app::{App, AppFilter, AttachmentRef, PolicyLink};

/// (account id, application id).
type AppKey = (String, String);

/// One async lock per (account, application).
#[derive(Debug, Default)]
pub(crate) struct AppLocks {
    locks: Mutex<HashMap<AppKey, Arc<tokio::sync::Mutex<()>>>>,
}

impl AppLocks {
    pub async fn lock(&self, account: &str, app_id: &str) -> OwnedMutexGuard<()> {
        let lock = {
            let mut locks = lock(&self.locks);
            locks
                .entry((account.to_owned(), app_id.to_owned()))
                .or_default()
                .clone()
        };
        lock.lock_owned().await
    }
}

/// Checks a list before it is sent: the API rejects duplicates and precedence < 1,
/// and an empty id would detach something by accident.
fn validate(app_id: &str, links: &[PolicyLink]) -> Result<(), ApiError> {
    let invalid = |message: String| ApiError::InvalidAttachments {
        app_id: app_id.to_owned(),
        message,
    };
    let mut ids = HashSet::new();
    let mut precedences = HashMap::new();
    for link in links {
        if link.id.is_empty() {
            return Err(invalid("a policy id is empty".into()));
        }
        if link.precedence == 0 {
            return Err(invalid(format!(
                "policy {} has precedence 0; precedences start at 1",
                link.id
            )));
        }
        if !ids.insert(link.id.as_str()) {
            return Err(invalid(format!("policy {} is listed twice", link.id)));
        }
        if let Some(other) = precedences.insert(link.precedence, link.id.as_str()) {
            return Err(invalid(format!(
                "policies {other} and {} both have precedence {}",
                link.id, link.precedence
            )));
        }
    }
    Ok(())
}

/// Sorted (id, precedence) pairs, for comparisons that ignore order.
fn normalised(links: &[PolicyLink]) -> Vec<PolicyLink> {
    let mut sorted = links.to_vec();
    sorted.sort_by(|a, b| {
        a.precedence
            .cmp(&b.precedence)
            .then_with(|| a.id.cmp(&b.id))
    });
    sorted
}

/// How closely an application read back matches the list we sent.
fn holds(app: &App, wanted: &[PolicyLink]) -> Holds {
    let have = normalised(&app.policy_links());
    if have == wanted {
        return Holds::Exactly;
    }
    let have_ids: Vec<&str> = have.iter().map(|l| l.id.as_str()).collect();
    let wanted_ids: Vec<&str> = wanted.iter().map(|l| l.id.as_str()).collect();
    if have_ids == wanted_ids {
        Holds::Renumbered
    } else {
        Holds::No
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Holds {
    Exactly,
    /// Same policies in the same order, different precedence numbers (a server that
    /// compacts gaps); the resource will see the numbers on its next read.
    Renumbered,
    No,
}

impl Client {
    /// Read-modify-write of one application's attachments under its lock.
    ///
    /// `edit` gets the current links (`{id, precedence}` projected from a fresh GET,
    /// every entry included) and returns whether it changed them. Unchanged → no write,
    /// the fresh app is returned. Changed → the list is validated, sent with the full
    /// application as read, and the result verified (one re-read if the PUT response
    /// does not show it).
    pub async fn modify_attachments<F>(
        &self,
        account: &str,
        app_id: &str,
        edit: F,
    ) -> Result<App, ApiError>
    where
        F: FnOnce(&mut Vec<PolicyLink>) -> Result<bool, ApiError>,
    {
        let _guard = self.inner.app_locks.lock(account, app_id).await;
        let app = self.get_app_uncached(account, app_id).await?;
        let before = app.policy_links();
        let mut links = before.clone();
        if !edit(&mut links)? {
            return Ok(app);
        }
        validate(app_id, &links)?;
        let wanted = normalised(&links);
        let dropped: Vec<&str> = before
            .iter()
            .filter(|old| !wanted.iter().any(|new| new.id == old.id))
            .map(|old| old.id.as_str())
            .collect();
        tracing::debug!(
            app_id,
            attached = wanted.len(),
            ?dropped,
            "writing policy attachments"
        );

        let mut body = app.to_update_body();
        if let Value::Object(map) = &mut body {
            let links_json = serde_json::to_value(&wanted).unwrap_or(Value::Array(Vec::new()));
            map.insert("policies".into(), links_json);
        }
        let written = self.put_app(account, app_id, &body).await?;
        match holds(&written, &wanted) {
            Holds::Exactly => return Ok(written),
            Holds::Renumbered => {
                tracing::warn!(app_id, "the API renumbered policy precedences");
                return Ok(written);
            }
            Holds::No => {}
        }
        let reread = self.get_app_uncached(account, app_id).await?;
        match holds(&reread, &wanted) {
            Holds::Exactly => Ok(reread),
            Holds::Renumbered => {
                tracing::warn!(app_id, "the API renumbered policy precedences");
                Ok(reread)
            }
            Holds::No => Err(ApiError::AttachmentNotApplied {
                app_id: app_id.to_owned(),
                message: format!(
                    "sent {}, read back {}",
                    describe(&wanted),
                    describe(&normalised(&reread.policy_links()))
                ),
            }),
        }
    }

    /// Attaches `policy_id` to the application at `precedence` (`None` = one more
    /// than the highest precedence in use). Already attached at that precedence (or
    /// anywhere, when `None`) → no write. Precedence held by another policy →
    /// [`ApiError::PrecedenceConflict`], nothing sent.
    pub async fn attach_policy(
        &self,
        account: &str,
        app_id: &str,
        policy_id: &str,
        precedence: Option<u32>,
    ) -> Result<App, ApiError> {
        self.modify_attachments(account, app_id, |links| {
            let current = links.iter().position(|l| l.id == policy_id);
            let wanted = match (precedence, current) {
                (None, Some(_)) => return Ok(false),
                (Some(p), Some(index)) if links[index].precedence == p => return Ok(false),
                (Some(p), _) => p,
                (None, None) => links
                    .iter()
                    .map(|l| l.precedence)
                    .max()
                    .unwrap_or(0)
                    .saturating_add(1),
            };
            if let Some(holder) = links
                .iter()
                .find(|l| l.precedence == wanted && l.id != policy_id)
            {
                return Err(ApiError::PrecedenceConflict {
                    app_id: app_id.to_owned(),
                    precedence: wanted,
                    holder: holder.id.clone(),
                });
            }
            match current {
                Some(index) => links[index].precedence = wanted,
                None => links.push(PolicyLink {
                    id: policy_id.to_owned(),
                    precedence: wanted,
                }),
            }
            Ok(true)
        })
        .await
    }

    /// Detaches `policy_id`. Not attached → `Ok(Some(app))` without a write;
    /// application gone → `Ok(None)`.
    pub async fn detach_policy(
        &self,
        account: &str,
        app_id: &str,
        policy_id: &str,
    ) -> Result<Option<App>, ApiError> {
        let result = self
            .modify_attachments(account, app_id, |links| {
                let before = links.len();
                links.retain(|l| l.id != policy_id);
                Ok(links.len() != before)
            })
            .await;
        match result {
            Ok(app) => Ok(Some(app)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Applications that have `policy_id` attached, from the (coalesced) app list.
    pub async fn apps_with_policy(
        &self,
        account: &str,
        policy_id: &str,
    ) -> Result<Vec<AttachmentRef>, ApiError> {
        let found = if self.inner.coalesce {
            self.inner
                .apps
                .scan(
                    account,
                    || self.load_all_apps(account),
                    |apps| attachments_of(apps, policy_id),
                )
                .await?
        } else {
            let apps = self.load_all_apps(account).await?;
            attachments_of(&mut apps.iter().map(|(_, app)| app), policy_id)
        };
        Ok(found)
    }

    /// Applications that have `policy_id` attached, from a list sent after this call
    /// began (never the snapshot), so attachments made outside this process are seen.
    /// With read coalescing on, concurrent callers share one such list
    /// ([`FreshList`](super::fresh::FreshList)); with it off, every call lists alone.
    pub async fn apps_with_policy_now(
        &self,
        account: &str,
        policy_id: &str,
    ) -> Result<Vec<AttachmentRef>, ApiError> {
        let every_app = AppFilter::default();
        let list = || self.list_apps(account, &every_app);
        let apps = if self.inner.coalesce {
            self.inner.fresh_apps.get(account, list).await?
        } else {
            std::sync::Arc::new(list().await?)
        };
        Ok(attachments_of(&mut apps.iter(), policy_id))
    }
}

/// The apps among `apps` that list `policy_id`, with its precedence there, by app id.
fn attachments_of(apps: &mut dyn Iterator<Item = &App>, policy_id: &str) -> Vec<AttachmentRef> {
    let mut found: Vec<AttachmentRef> = apps
        .filter_map(|app| {
            let index = app.policies.iter().position(|p| p.id == policy_id)?;
            let precedence = app.policies[index]
                .precedence
                .unwrap_or_else(|| u32::try_from(index + 1).unwrap_or(u32::MAX));
            Some(AttachmentRef {
                app_id: app.id.clone(),
                app_name: app.name.clone(),
                app_type: app.app_type.clone(),
                precedence,
            })
        })
        .collect();
    found.sort_by(|a, b| a.app_id.cmp(&b.app_id));
    found
}

fn describe(links: &[PolicyLink]) -> String {
    let parts: Vec<String> = links
        .iter()
        .map(|l| format!("{}@{}", l.id, l.precedence))
        .collect();
    format!("[{}]", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(id: &str, precedence: u32) -> PolicyLink {
        PolicyLink {
            id: id.into(),
            precedence,
        }
    }

    #[test]
    fn validation_rejects_what_the_api_would() {
        assert!(validate("a", &[link("x", 1), link("y", 2)]).is_ok());
        assert!(validate("a", &[link("x", 0)]).is_err());
        assert!(validate("a", &[link("x", 1), link("x", 2)]).is_err());
        assert!(validate("a", &[link("x", 1), link("y", 1)]).is_err());
        assert!(validate("a", &[link("", 1)]).is_err());
    }

    #[test]
    fn verification_levels() {
        let app: App = serde_json::from_value(serde_json::json!({
            "id": "a", "type": "self_hosted",
            "policies": [{"id": "x", "precedence": 1}, {"id": "y", "precedence": 2}]
        }))
        .unwrap();
        assert_eq!(
            holds(&app, &normalised(&[link("y", 2), link("x", 1)])),
            Holds::Exactly
        );
        assert_eq!(
            holds(&app, &normalised(&[link("x", 1), link("y", 5)])),
            Holds::Renumbered
        );
        assert_eq!(holds(&app, &normalised(&[link("x", 1)])), Holds::No);
        assert_eq!(
            holds(&app, &normalised(&[link("y", 1), link("x", 2)])),
            Holds::No
        );
    }
}
