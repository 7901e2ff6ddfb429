//! What is checked against the API before any write (at plan time, and again at
//! apply before the first write, when values unknown at plan time are known): the
//! targets exist, are self-hosted and have the configured position free; the linked
//! applications exist and can issue tokens.

use std::collections::BTreeSet;

use super::fidelity::{Findings, Stage};
use super::validate::{known_members, overlap};
use super::{Model, attr};
use crate::api::Api;
use crate::cloudflare::{App, AppId, AppType, PolicyId, PolicyLink};
use crate::errors;
use crate::tfplugin::{AttributePath, Diagnostics, Field, Plan, Value};

/// The known members of the planned sets. A plan's may hold unknown elements (decided
/// at apply), which are skipped: they are checked again at apply.
#[derive(Debug, Default)]
pub(super) struct PlannedSets {
    pub(super) targets: BTreeSet<String>,
    pub(super) linked: BTreeSet<String>,
}

impl PlannedSets {
    /// The sets of a wholly known model (an apply's plan).
    pub(super) fn of(model: &Model) -> PlannedSets {
        PlannedSets {
            targets: model
                .target_app_ids
                .known()
                .map(|t| t.iter().cloned().collect())
                .unwrap_or_default(),
            linked: model.linked(),
        }
    }

    /// The sets of a plan, whose known elements a model cannot hold when others are
    /// unknown: those are read from the raw plan.
    pub(super) fn of_plan(plan: &Plan<Model>) -> PlannedSets {
        PlannedSets::known_in(&plan.planned, plan.raw_planned())
    }

    /// The sets of `planned`, with the known elements of a set it reads as unknown
    /// taken from `raw` (the same plan as a value).
    pub(super) fn known_in(planned: &Model, raw: &Value) -> PlannedSets {
        let known = |field: &Field<_>, name: &str| match field {
            Field::Unknown => known_members(raw, name),
            _ => BTreeSet::new(),
        };
        let mut sets = PlannedSets::of(planned);
        sets.targets
            .extend(known(&planned.target_app_ids, attr::TARGET_APP_IDS));
        sets.linked
            .extend(known(&planned.linked_app_uids, attr::LINKED_APP_UIDS));
        sets
    }
}

/// What a write is about to do, i.e. what must be checked against the API first.
#[derive(Debug, Default)]
pub(super) struct WritePlan {
    /// Targets that will be attached (not attached before).
    pub(super) new_targets: Vec<AppId>,
    /// Targets whose slot `precedence` must be free.
    pub(super) precedence_targets: Vec<AppId>,
    pub(super) precedence: Option<u32>,
    /// Linked uids that are new in the policy.
    pub(super) new_linked: Vec<String>,
    /// Our own policy id (a slot it already holds is free for it).
    pub(super) own_id: Option<PolicyId>,
}

impl WritePlan {
    /// From the prior state (`None` on create), the planned sets and the configured
    /// precedence (`None` when omitted: the planned value is then the provider's,
    /// never a write).
    pub(super) fn between(
        prior: Option<&Model>,
        planned: &PlannedSets,
        precedence: Option<u32>,
    ) -> WritePlan {
        let prior_sets = prior.map(PlannedSets::of).unwrap_or_default();
        let precedence_changed = prior.is_some_and(|p| p.precedence() != precedence);
        let new_targets: Vec<AppId> = planned
            .targets
            .difference(&prior_sets.targets)
            .map(|id| AppId::new_unchecked(id.as_str()))
            .collect();
        let precedence_targets = match precedence {
            None => Vec::new(),
            Some(_) if precedence_changed => planned
                .targets
                .iter()
                .map(|id| AppId::new_unchecked(id.as_str()))
                .collect(),
            Some(_) => new_targets.clone(),
        };
        WritePlan {
            new_targets,
            precedence_targets,
            precedence,
            new_linked: planned
                .linked
                .difference(&prior_sets.linked)
                .cloned()
                .collect(),
            own_id: prior.and_then(Model::policy_id),
        }
    }
}

/// How an application is named in messages.
pub(super) fn describe_app(app: &App) -> String {
    match app.name.as_deref() {
        Some(name) if !name.is_empty() => format!("{name:?} ({})", app.id),
        _ => app.id.to_string(),
    }
}

/// How an attached policy is named in messages: its name when the API expanded it.
fn attached_policy_name(app: &App, policy_id: &PolicyId) -> String {
    let name = app
        .policies
        .iter()
        .find(|p| &p.id == policy_id)
        .and_then(|p| p.rest.get("name"))
        .and_then(serde_json::Value::as_str);
    match name {
        Some(n) => format!("{n:?} ({policy_id})"),
        None => policy_id.to_string(),
    }
}

/// Checks before an apply's first write: `Err` with the errors (warnings in front)
/// when one fails; else the warnings and the applications read, for messages later.
pub(super) async fn before_apply(
    api: &Api,
    prior: Option<&Model>,
    planned: &Model,
    precedence: Option<u32>,
) -> Result<(Diagnostics, Vec<App>), Diagnostics> {
    let sets = PlannedSets::of(planned);
    let write = WritePlan::between(prior, &sets, precedence);
    let (checks, apps) = check_before_write(api, &write, &sets, Stage::Apply).await;
    if checks.has_errors() {
        Err(checks)
    } else {
        Ok((checks, apps))
    }
}

/// Checks every precondition of `plan` against the API (coalesced reads only).
/// Returns the diagnostics and, for messages later, the apps read.
pub(super) async fn check_before_write(
    api: &Api,
    plan: &WritePlan,
    planned: &PlannedSets,
    stage: Stage<'_>,
) -> (Diagnostics, Vec<App>) {
    let mut found = Findings::new(stage);
    let mut seen = Vec::new();
    overlap(&planned.targets, &planned.linked, &mut found.diags);

    let mut to_read: BTreeSet<&AppId> = plan.new_targets.iter().collect();
    to_read.extend(plan.precedence_targets.iter());
    for target in to_read {
        if let Some(app) = check_target(api, plan, target, &mut found).await {
            seen.push(app);
        }
    }
    for uid in &plan.new_linked {
        if let Some(app) = check_linked(api, uid, &mut found).await {
            seen.push(app);
        }
    }
    (found.diags, seen)
}

/// Checks one target; returns it when it was read.
async fn check_target(
    api: &Api,
    plan: &WritePlan,
    target: &AppId,
    found: &mut Findings<'_>,
) -> Option<App> {
    let account = &api.account_id;
    let targets_path = AttributePath::root(attr::TARGET_APP_IDS);
    let recorded_target = found.recorded_target(target);
    let app = match api.client.get_app(account, target).await {
        Ok(app) => app,
        Err(e) if e.is_not_found() => {
            let detail = if recorded_target {
                format!(
                    "Application {target} in target_app_ids no longer exists in account {account}: \
                     it was deleted outside Terraform, so the policy's attachment to it is gone. \
                     Remove it from target_app_ids (or restore the application)."
                )
            } else {
                format!(
                    "No Access application with ID {target} exists in account {account}. It may have \
                     been deleted outside Terraform: remove it from target_app_ids, or use the ID of \
                     an existing self-hosted application."
                )
            };
            found.push(
                targets_path,
                "Target application not found",
                detail,
                recorded_target,
            );
            return None;
        }
        Err(e) => {
            found.diags.0.push(errors::api_error_at(
                &format!("read target application {target}"),
                &e,
                Some(targets_path),
            ));
            return None;
        }
    };
    if app.app_type != AppType::SelfHosted {
        found.push(
            targets_path,
            "Target application is not self-hosted",
            format!(
                "Application {} in target_app_ids has type {:?}. Linked App Token policies can only be attached to \
                 self-hosted applications (type \"self_hosted\"); Cloudflare Access does not apply \
                 them to SaaS, SSH, VNC, MCP or other application types.",
                describe_app(&app),
                app.app_type.as_str()
            ),
            recorded_target,
        );
    } else if let Some(p) = plan.precedence
        && plan.precedence_targets.contains(target)
        && let Some(holder) =
            PolicyLink::holder_of(&app.policy_links(), p, plan.own_id.as_ref()).cloned()
    {
        let recorded_slot =
            recorded_target && found.recorded().is_some_and(|r| r.precedence == Some(p));
        found.push(
            AttributePath::root(attr::PRECEDENCE),
            "Precedence already in use",
            format!(
                "Precedence {p} on application {} is already used by policy {}. Choose a precedence \
                 that is free on every target, or omit precedence to place this policy after the \
                 existing ones. Other policies are never moved by this resource.",
                describe_app(&app),
                attached_policy_name(&app, &holder.id)
            ),
            recorded_slot,
        );
    }
    Some(app)
}

/// Checks one new linked application; returns it when it can issue tokens.
async fn check_linked(api: &Api, uid: &str, found: &mut Findings<'_>) -> Option<App> {
    let account = &api.account_id;
    let linked_path = AttributePath::root(attr::LINKED_APP_UIDS);
    let recorded_uid = found.recorded().is_some_and(|r| r.linked.contains(uid));
    match api
        .client
        .get_app(account, &AppId::new_unchecked(uid))
        .await
    {
        Ok(app) if matches!(app.app_type, AppType::SelfHosted | AppType::Saas) => return Some(app),
        Ok(app) => found.push(
            linked_path,
            "Linked application has an unsupported type",
            format!(
                "Application {} in linked_app_uids has type {:?}. A Linked App Token rule accepts \
                 tokens issued for a self-hosted or SaaS (OIDC) Access application: use the ID of \
                 your MCP server's application.",
                describe_app(&app),
                app.app_type.as_str()
            ),
            recorded_uid,
        ),
        Err(e) if e.is_not_found() => found.push(
            linked_path,
            "Linked application not found",
            format!(
                "No Access application with ID {uid} exists in account {account}. linked_app_uids \
                 must hold IDs of existing self-hosted or SaaS Access applications (the MCP server \
                 applications)."
            ),
            recorded_uid,
        ),
        Err(e) => found.diags.0.push(errors::api_error_at(
            &format!("read linked application {uid}"),
            &e,
            Some(linked_path),
        )),
    }
    None
}
