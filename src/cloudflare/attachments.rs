//! Attaching reusable policies to applications.
//!
//! The API has no attach endpoint: an application's `policies` list is replaced by a
//! PUT of the whole application. Every change therefore is a read-modify-write on the
//! application's writer ([`super::app_writer`]): a fresh GET (never the snapshot), the
//! edit, a PUT that carries every entry we did not mean to touch with its precedence
//! exactly as read (foreign reusable and legacy app-scoped entries alike, as
//! `{id, precedence}` links — never the expanded objects, which the API rejects), and
//! a check that the returned application holds the result. Attaches and detaches of
//! one application that are waiting at the same time share one GET and one PUT.

use serde_json::Value;

use super::app_writer::{LinkChange, body_with_links, normalised};
use super::client::Client;
use super::error::ApiError;
use super::ids::{AccountId, AppId, PolicyId};
use super::models::app::{App, AppFilter, AttachmentRef, PolicyLink};

impl Client {
    /// Read-modify-write of one application's attachments on its writer.
    ///
    /// `edit` gets the current links (`{id, precedence}` projected from a fresh GET,
    /// every entry included) and returns whether it changed them. Unchanged → no write,
    /// the fresh app is returned. Changed → the list is validated, sent with the full
    /// application as read, and the result verified (one re-read if the PUT response
    /// does not show it). A retry (429, 5xx, timeout) reads again and calls `edit`
    /// again on the new read; an old body is never re-sent.
    pub async fn modify_attachments<F>(
        &self,
        account: &AccountId,
        app_id: &AppId,
        mut edit: F,
    ) -> Result<App, ApiError>
    where
        F: FnMut(&mut Vec<PolicyLink>) -> Result<bool, ApiError>,
    {
        self.rewrite_app(account, app_id, |app| {
            let mut links = app.policy_links();
            if !edit(&mut links)? {
                return Ok(None);
            }
            let wanted = normalised(&links);
            Ok(Some((body_with_links(app, &wanted), Some(wanted))))
        })
        .await
    }

    /// A full-replacement PUT of an application built from a fresh read on its writer:
    /// `build` gets the application as it is now and returns the body to send (without
    /// `policies` the attachments stay as they are). A body equal to what is there
    /// already is not sent. A retry (429, 5xx, timeout) reads again and calls `build`
    /// again; an old body is never re-sent.
    pub async fn update_app_with<F>(
        &self,
        account: &AccountId,
        app_id: &AppId,
        mut build: F,
    ) -> Result<App, ApiError>
    where
        F: FnMut(&App) -> Result<Value, ApiError>,
    {
        self.claim(account, app_id);
        self.rewrite_app(account, app_id, |app| {
            let body = build(app)?;
            if body == app.to_update_body() {
                return Ok(None);
            }
            let wanted = body
                .get("policies")
                .and_then(|links| serde_json::from_value::<Vec<PolicyLink>>(links.clone()).ok());
            Ok(Some((body, wanted)))
        })
        .await
    }

    /// Attaches `policy_id` to the application at `precedence` (`None` = one more
    /// than the highest precedence in use). Already attached at that precedence (or
    /// anywhere, when `None`) → no write. Precedence held by another policy →
    /// [`ApiError::PrecedenceConflict`], nothing sent.
    pub async fn attach_policy(
        &self,
        account: &AccountId,
        app_id: &AppId,
        policy_id: &PolicyId,
        precedence: Option<u32>,
    ) -> Result<App, ApiError> {
        let change = LinkChange::Attach {
            policy_id: policy_id.to_owned(),
            precedence,
        };
        self.change_attachments(account, app_id, change).await
    }

    /// Detaches `policy_id`. Not attached → `Ok(Some(app))` without a write;
    /// application gone → `Ok(None)`.
    pub async fn detach_policy(
        &self,
        account: &AccountId,
        app_id: &AppId,
        policy_id: &PolicyId,
    ) -> Result<Option<App>, ApiError> {
        let change = LinkChange::Detach {
            policy_id: policy_id.to_owned(),
        };
        let result = self.change_attachments(account, app_id, change).await;
        match result {
            Ok(app) => Ok(Some(app)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Applications that have `policy_id` attached, from the (coalesced) app list.
    pub async fn apps_with_policy(
        &self,
        account: &AccountId,
        policy_id: &PolicyId,
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
        account: &AccountId,
        policy_id: &PolicyId,
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
/// A precedence the API left out is read as [`App::policy_links`] reads it.
fn attachments_of(
    apps: &mut dyn Iterator<Item = &App>,
    policy_id: &PolicyId,
) -> Vec<AttachmentRef> {
    let mut found: Vec<AttachmentRef> = apps
        .filter_map(|app| {
            // Only apps that list the policy pay for the projection.
            if !app.policies.iter().any(|p| &p.id == policy_id) {
                return None;
            }
            let link = app
                .policy_links()
                .into_iter()
                .find(|l| &l.id == policy_id)?;
            Some(AttachmentRef {
                app_id: app.id.clone(),
                app_name: app.name.clone(),
                app_type: app.app_type.clone(),
                precedence: link.precedence,
            })
        })
        .collect();
    found.sort_by(|a, b| a.app_id.cmp(&b.app_id));
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_precedence_is_one_more_than_the_highest_not_the_position() {
        let app: App = serde_json::from_value(serde_json::json!({
            "id": "a", "type": "self_hosted",
            "policies": [{"id": "bare"}, {"id": "x", "precedence": 5}, {"id": "y", "precedence": 2}]
        }))
        .unwrap();
        let found = attachments_of(&mut std::iter::once(&app), &PolicyId::new_unchecked("bare"));
        assert_eq!(found.len(), 1);
        // Position 1 would clash with nothing here but is not what the API means;
        // the highest present is 5.
        assert_eq!(found[0].precedence, 6);
        assert_eq!(
            attachments_of(&mut std::iter::once(&app), &PolicyId::new_unchecked("x"))[0].precedence,
            5
        );
        assert!(
            attachments_of(&mut std::iter::once(&app), &PolicyId::new_unchecked("nope")).is_empty()
        );
    }
}
