//! Converging the policy's attachments across its targets, and reading where it is
//! attached.

use std::collections::BTreeSet;

use super::TYPE_NAME;
use super::attr;
use super::checks::describe_app;
use super::fidelity::Positions;
use crate::api::Api;
use crate::cloudflare::{ApiError, App, AppId, AttachmentRef, PolicyId};
use crate::errors;
use crate::tfplugin::{AttributePath, Context, Diagnostics};

/// One convergence of the policy's attachments: which policy, on which targets, at
/// which position, through which client and account.
pub(super) struct Convergence<'a> {
    pub(super) api: &'a Api,
    pub(super) policy_id: &'a PolicyId,
    /// The applications the policy must be on, exactly.
    pub(super) wanted: &'a BTreeSet<AppId>,
    /// The configured position; `None` places it after the existing policies.
    pub(super) precedence: Option<u32>,
    /// Whether the pinned position changed, so the policy moves where it is already.
    pub(super) move_existing: bool,
    /// Applications already read, to name them in messages.
    pub(super) names: &'a [App],
}

impl Convergence<'_> {
    /// Attaches/detaches so the policy is on exactly `wanted`, starting from
    /// `attached`. Returns where it is attached afterwards, with its precedence on
    /// each, and one diagnostic per failure.
    ///
    /// Every application's change is sent at once (each app's edit is independent,
    /// and the client's per-app writer batches the changes that wait on one app
    /// together, so many policies fanning in onto the same apps share each GET and
    /// PUT); a failure on one app leaves the others' outcomes standing. Nothing is
    /// sent once stopped.
    pub(super) async fn run(
        &self,
        ctx: &Context,
        mut attached: Positions,
    ) -> (Positions, Diagnostics) {
        let Convergence {
            api,
            policy_id,
            wanted,
            precedence,
            move_existing,
            names,
        } = *self;
        let (client, account) = (&api.client, &api.account_id);
        let mut diags = Diagnostics::new();
        let path = AttributePath::root(attr::TARGET_APP_IDS);
        let extra: Vec<AppId> = attached
            .keys()
            .filter(|id| !wanted.contains(*id))
            .cloned()
            .collect();
        // A pinned position that changed moves the policy on the targets it is on already.
        let moving = move_existing && precedence.is_some();
        let to_attach: Vec<&AppId> = wanted
            .iter()
            .filter(|app_id| moving || !attached.contains_key(*app_id))
            .collect();
        if extra.is_empty() && to_attach.is_empty() {
            return (attached, diags);
        }
        if ctx.stop.is_cancelled() {
            diags.error(
                "Operation cancelled",
                format!(
                    "Stopped before changing the attachments of policy {policy_id}: nothing was sent."
                ),
            );
            return (attached, diags);
        }
        tracing::debug!(
            tf_resource_type = TYPE_NAME,
            policy_id = policy_id.as_str(),
            detach = extra.len(),
            attach_or_move = to_attach.len(),
            "changing attachments on every application at once"
        );
        let detaches = futures::future::join_all(
            extra
                .iter()
                .map(|app_id| client.detach_policy(account, app_id, policy_id)),
        );
        let attaches = futures::future::join_all(
            to_attach
                .iter()
                .map(|app_id| client.attach_policy(account, app_id, policy_id, precedence)),
        );
        let (detached, attached_now) = futures::future::join(detaches, attaches).await;
        // `change` completes "Failed to …", e.g. "detach policy P from".
        let failed = |change: String, app_id: &AppId, e: &ApiError| {
            errors::api_error_at(
                &format!("{change} application {}", app_label(names, app_id)),
                e,
                Some(path.clone()),
            )
        };
        for (app_id, outcome) in extra.iter().zip(detached) {
            match outcome {
                Ok(_) => {
                    tracing::info!(tf_resource_type = TYPE_NAME, policy_id = policy_id.as_str(), app_id = %app_id, "detached");
                    attached.remove(app_id);
                }
                Err(e) => diags.0.push(failed(
                    format!("detach policy {policy_id} from"),
                    app_id,
                    &e,
                )),
            }
        }
        for (app_id, outcome) in to_attach.into_iter().zip(attached_now) {
            match outcome {
                Ok(app) => {
                    tracing::info!(tf_resource_type = TYPE_NAME, policy_id = policy_id.as_str(), app_id = %app_id, ?precedence, "attached");
                    // Where the API says it is (a server may renumber); the client has
                    // verified the write, so it is there.
                    let at = app
                        .policy_links()
                        .into_iter()
                        .find(|l| &l.id == policy_id)
                        .map_or(precedence.unwrap_or(u32::MAX), |l| l.precedence);
                    attached.insert(app_id.clone(), at);
                }
                Err(e) => diags
                    .0
                    .push(failed(format!("attach policy {policy_id} to"), app_id, &e)),
            }
        }
        (attached, diags)
    }
}

fn app_label(apps: &[App], id: &AppId) -> String {
    apps.iter()
        .find(|a| &a.id == id)
        .map_or_else(|| id.to_string(), describe_app)
}

/// Application → the policy's precedence there.
fn positions_of(found: Vec<AttachmentRef>) -> Positions {
    found
        .into_iter()
        .map(|a| (a.app_id, a.precedence))
        .collect()
}

/// Where the policy is attached now (the client's snapshot of the account).
pub(super) async fn positions(api: &Api, policy_id: &PolicyId) -> Result<Positions, Diagnostics> {
    api.client
        .apps_with_policy(&api.account_id, policy_id)
        .await
        .map(positions_of)
        .map_err(|e| {
            errors::api_error(
                &format!("list the applications using policy {policy_id}"),
                &e,
            )
            .into()
        })
}

/// Detaches `policy_id` from every application that holds it, found by a fresh list
/// (not the snapshot), so attachments made outside Terraform are included. Deletes
/// running side by side share that list (see `Client::apps_with_policy_now`).
pub(super) async fn detach_everywhere(
    ctx: &Context,
    api: &Api,
    policy_id: &PolicyId,
) -> Result<(), Diagnostics> {
    let holders = match api
        .client
        .apps_with_policy_now(&api.account_id, policy_id)
        .await
    {
        Ok(found) => positions_of(found),
        Err(e) => {
            return Err(errors::api_error(
                &format!("list the applications using policy {policy_id}"),
                &e,
            )
            .into());
        }
    };
    let nowhere = Convergence {
        api,
        policy_id,
        wanted: &BTreeSet::new(),
        precedence: None,
        move_existing: false,
        names: &[],
    };
    let (_, diags) = nowhere.run(ctx, holders).await;
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok(())
    }
}

/// The API's count of applications using the policy, read after our writes; falls
/// back to the applications seen holding it.
pub(super) async fn current_app_count(api: &Api, policy_id: &PolicyId, fallback: usize) -> i64 {
    match api
        .client
        .get_policy_uncached(&api.account_id, policy_id)
        .await
    {
        Ok(policy) => {
            if let Some(n) = super::state::app_count(&policy) {
                return n;
            }
        }
        Err(e) => {
            tracing::debug!(policy_id = policy_id.as_str(), error = %e, "re-reading the policy for app_count failed")
        }
    }
    match api
        .client
        .apps_with_policy(&api.account_id, policy_id)
        .await
    {
        Ok(apps) => apps.len() as i64,
        Err(_) => fallback as i64,
    }
}
