//! `cfaccess_linked_app_policy`: a reusable Access policy (decision `non_identity`,
//! one `linked_app_token` include rule per MCP server app) and its attachments to
//! self-hosted downstream applications.
//!
//! Attachments are edited only through the client's per-application read-modify-write,
//! so other policies on a target keep their ids, order and precedence exactly.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;

use super::import_id;
use crate::api::{Api, ProviderData};
use crate::cloudflare::{
    AccountId, App, AppId, AppType, AttachmentRef, Client, Decision, Policy, PolicyBody, PolicyId,
    PolicyLink, Rule,
};
use crate::common::account::validate_account_id;
use crate::common::duration::keep_equivalent_duration;
use crate::errors;
use crate::tfplugin::validate::parse_go_duration;
use crate::tfplugin::{
    ApplyResult, Attribute, AttributePath, Context, Diagnostics, ImportResult, PlanModifier,
    PlanRequest, ReadResult, Resource, Schema, Validator, Value,
};

/// Terraform type name.
pub const TYPE_NAME: &str = "cfaccess_linked_app_policy";

/// The only decision Linked App Token rules work with (dashboard: Service Auth).
const NON_IDENTITY: &str = "non_identity";

/// The session duration the API documents as its default; a read returning it for a
/// policy created without one is a server default, not drift (#7129 in reverse).
const API_DEFAULT_SESSION_DURATION_SECS: f64 = 86_400.0;

/// Longest session Cloudflare offers for a policy (one month).
const MAX_SESSION_SECS: u64 = 730 * 3600;

mod attr {
    pub const ID: &str = "id";
    pub const NAME: &str = "name";
    pub const LINKED_APP_UIDS: &str = "linked_app_uids";
    pub const TARGET_APP_IDS: &str = "target_app_ids";
    pub const PRECEDENCE: &str = "precedence";
    pub const DECISION: &str = "decision";
    pub const SESSION_DURATION: &str = "session_duration";
    pub const ACCOUNT_ID: &str = "account_id";
    pub const APP_COUNT: &str = "app_count";
}

/// Schema descriptions, shared with the docs page (which must quote them verbatim).
pub mod descriptions {
    pub const RESOURCE: &str = "A reusable Cloudflare Access policy that lets one or more MCP server applications call self-hosted downstream applications with the user's forwarded token (Linked App Token rule, decision `non_identity` / Service Auth), attached to those downstream applications. Other policies on the downstream applications are never modified.";
    pub const ID: &str = "Identifier (UUID) of the reusable Access policy.";
    pub const NAME: &str =
        "Name of the reusable Access policy, as shown in the Zero Trust dashboard.";
    pub const LINKED_APP_UIDS: &str = "IDs (UUIDs) of the Access applications whose tokens this policy accepts: the MCP server applications (self-hosted or SaaS/OIDC), for example `cfaccess_mcp_server_app.mcp.uid`. At least one. The policy gets one `linked_app_token` include rule per ID. Rules added to the policy outside Terraform appear here as descriptive entries, so the plan shows their removal.";
    pub const TARGET_APP_IDS: &str = "IDs (UUIDs) of the self-hosted downstream Access applications this policy is attached to. Omitted: attachments are not managed by this resource. Set: the policy is attached to exactly these applications; attachments added or removed outside Terraform show as drift and are repaired. Other policies on these applications are never modified.";
    pub const PRECEDENCE: &str = "Position of this policy in each target application's policy list (1 = evaluated first); it must be free on every target. Set: the policy sits at this position on every target; a move made outside Terraform shows as drift and the apply moves it back, leaving every other policy where it is. Omitted: the policy is placed after the existing policies of each target when it is attached, and later moves are not drift. Read back as the position the policy holds on every target when they all agree, null when they differ.";
    pub const DECISION: &str = "Policy action. Only `\"non_identity\"` (Service Auth) is accepted: Linked App Token rules work only with it. Defaults to `\"non_identity\"`.";
    pub const SESSION_DURATION: &str = "How long a session authorised by this policy lasts, as a duration such as `\"30m\"` or `\"24h\"` (between `0s` and `730h`). Omitted: nothing is sent and no default is invented, so the application's session duration applies.";
    pub const ACCOUNT_ID: &str = "Cloudflare account ID (32 hexadecimal characters). Defaults to the provider's `account_id`. Changing it forces replacement.";
    pub const APP_COUNT: &str = "Number of Access applications using this policy, as reported by the API (attachments made outside Terraform included).";
}

/// The resource schema.
pub fn schema() -> Schema {
    use descriptions as d;
    Schema::new(
        d::RESOURCE,
        vec![
            Attribute::string(attr::ID)
                .computed()
                .description(d::ID)
                .plan_modifier(PlanModifier::UseStateForUnknown),
            Attribute::string(attr::NAME)
                .required()
                .description(d::NAME)
                .validator(Validator::NotBlank),
            Attribute::string_set(attr::LINKED_APP_UIDS)
                .required()
                .description(d::LINKED_APP_UIDS)
                .validator(Validator::SizeAtLeast(1))
                .validator(Validator::EachUuid),
            Attribute::string_set(attr::TARGET_APP_IDS)
                .optional()
                .description(d::TARGET_APP_IDS)
                .validator(Validator::EachUuid),
            Attribute::number(attr::PRECEDENCE)
                .optional_computed()
                .description(d::PRECEDENCE)
                .validator(Validator::AtLeast(1))
                .validator(Validator::Custom(validate_precedence_integer)),
            Attribute::string(attr::DECISION)
                .optional_computed()
                .description(d::DECISION)
                .validator(Validator::Custom(validate_decision)),
            Attribute::string(attr::SESSION_DURATION)
                .optional()
                .description(d::SESSION_DURATION)
                .validator(Validator::Duration {
                    min_secs: 0,
                    max_secs: MAX_SESSION_SECS,
                }),
            Attribute::string(attr::ACCOUNT_ID)
                .optional_computed()
                .description(d::ACCOUNT_ID)
                .plan_modifier(PlanModifier::UseStateForUnknown)
                .plan_modifier(PlanModifier::RequiresReplace)
                .validator(Validator::Custom(validate_account_id)),
            Attribute::number(attr::APP_COUNT)
                .computed()
                .description(d::APP_COUNT),
        ],
    )
}

fn validate_decision(v: &Value, path: &AttributePath, diags: &mut Diagnostics) {
    if let Some(s) = v.as_str()
        && s != NON_IDENTITY
    {
        diags.attr_error(
            path.clone(),
            "Unsupported decision for a Linked App Token policy",
            format!(
                "Attribute {path} must be \"non_identity\"; got {s:?}. Linked App Token rules work only \
                 with Service Auth (decision \"non_identity\"): with any other decision Cloudflare Access \
                 never accepts the forwarded token. Omit {path} or set it to \"non_identity\"."
            ),
        );
    }
}

fn validate_precedence_integer(v: &Value, path: &AttributePath, diags: &mut Diagnostics) {
    if let Value::Number(n) = v
        && n.as_i64().is_none_or(|i| u32::try_from(i).is_err())
        && n.as_f64().is_some_and(|f| f >= 1.0)
    {
        diags.attr_error(
            path.clone(),
            "Invalid precedence",
            format!(
                "Attribute {path} must be a whole number between 1 and {}; got {n}.",
                u32::MAX
            ),
        );
    }
}

// ----- model ----------------------------------------------------------------------

/// The resource's values once known (apply, read, import). Computed attributes that
/// are still unknown in a plan are `None`.
#[derive(Clone, Debug, Default, PartialEq)]
struct Model {
    id: Option<String>,
    name: String,
    /// Linked app UUIDs; in state, descriptive entries for foreign rules (see
    /// [`foreign_rule_entry`]).
    linked_app_uids: BTreeSet<String>,
    /// `None`: attachments not managed.
    target_app_ids: Option<BTreeSet<String>>,
    precedence: Option<u32>,
    decision: Option<String>,
    session_duration: Option<String>,
    account_id: Option<String>,
    app_count: Option<i64>,
}

impl Model {
    /// Reads a plan or state object whose configured attributes are known.
    fn from_value(v: &Value) -> Result<Model, String> {
        let name = match v.get(attr::NAME) {
            Some(Value::String(s)) => s.clone(),
            other => return Err(format!("name is not a known string ({other:?})")),
        };
        let linked_app_uids = match v.get(attr::LINKED_APP_UIDS) {
            Some(set @ (Value::Set(_) | Value::List(_))) if set.is_wholly_known() => {
                set.known_strings().into_iter().collect()
            }
            other => return Err(format!("linked_app_uids is not a known set ({other:?})")),
        };
        let target_app_ids = match v.get(attr::TARGET_APP_IDS) {
            None | Some(Value::Null) => None,
            Some(set @ (Value::Set(_) | Value::List(_))) if set.is_wholly_known() => {
                Some(set.known_strings().into_iter().collect())
            }
            Some(other) => return Err(format!("target_app_ids is not a known set ({other:?})")),
        };
        let precedence = match v.get(attr::PRECEDENCE) {
            // Unknown in a plan: computed at apply (see `plan_precedence`).
            None | Some(Value::Null) | Some(Value::Unknown) => None,
            Some(Value::Number(n)) => Some(
                n.as_i64()
                    .and_then(|i| u32::try_from(i).ok())
                    .filter(|p| *p >= 1)
                    .ok_or_else(|| format!("precedence {n} is not a whole number ≥ 1"))?,
            ),
            Some(other) => return Err(format!("precedence is not a known number ({other:?})")),
        };
        let opt_string = |name: &str| v.get(name).and_then(Value::as_str).map(str::to_string);
        Ok(Model {
            id: opt_string(attr::ID),
            name,
            linked_app_uids,
            target_app_ids,
            precedence,
            decision: opt_string(attr::DECISION),
            session_duration: opt_string(attr::SESSION_DURATION),
            account_id: opt_string(attr::ACCOUNT_ID),
            app_count: v.get(attr::APP_COUNT).and_then(Value::as_i64),
        })
    }

    /// The state object (every attribute present; sets sorted).
    fn to_value(&self) -> Value {
        Value::object([
            (attr::ID, Value::opt_string(self.id.clone())),
            (attr::NAME, Value::string(self.name.clone())),
            (
                attr::LINKED_APP_UIDS,
                Value::string_set(self.linked_app_uids.iter().cloned()),
            ),
            (
                attr::TARGET_APP_IDS,
                self.target_app_ids
                    .as_ref()
                    .map_or(Value::Null, |t| Value::string_set(t.iter().cloned())),
            ),
            (
                attr::PRECEDENCE,
                self.precedence
                    .map_or(Value::Null, |p| Value::int(i64::from(p))),
            ),
            (attr::DECISION, Value::opt_string(self.decision.clone())),
            (
                attr::SESSION_DURATION,
                Value::opt_string(self.session_duration.clone()),
            ),
            (attr::ACCOUNT_ID, Value::opt_string(self.account_id.clone())),
            (
                attr::APP_COUNT,
                self.app_count.map_or(Value::Null, Value::int),
            ),
        ])
    }

    /// The request body: our exact include list (one rule per uid, sorted), no
    /// exclude/require, `session_duration` only when set; unmanaged fields of
    /// `current` (approval settings, MFA, …) carried over.
    fn policy_body(&self, current: Option<&Policy>) -> PolicyBody {
        let mut body = current.map(Policy::to_body).unwrap_or_default();
        body.name = self.name.clone();
        body.decision = Decision::NonIdentity;
        body.include = self
            .linked_app_uids
            .iter()
            .map(Rule::linked_app_token)
            .collect();
        body.exclude = Vec::new();
        body.require = Vec::new();
        body.session_duration = self.session_duration.clone();
        body
    }

    /// True when the policy object itself (not its attachments) must be rewritten.
    fn policy_differs(&self, planned: &Model) -> bool {
        self.name != planned.name
            || self.linked_app_uids != planned.linked_app_uids
            || self.decision.as_deref() != Some(NON_IDENTITY)
            || self.session_duration != planned.session_duration
    }
}

/// How a rule other than `linked_app_token` (or any exclude/require rule) found in
/// the policy appears in `linked_app_uids`: never a UUID, so it can never equal a
/// configuration and the plan shows its removal.
fn foreign_rule_entry(section: &str, rule: &Rule) -> String {
    format!("unmanaged {section} rule: {}", rule.to_value())
}

/// `linked_app_uids` as the policy holds them, foreign rules included.
fn linked_uids_of(policy: &Policy) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for rule in &policy.include {
        match rule {
            Rule::LinkedAppToken { app_uid } => out.insert(app_uid.clone()),
            other => out.insert(foreign_rule_entry("include", other)),
        };
    }
    for rule in &policy.exclude {
        out.insert(foreign_rule_entry("exclude", rule));
    }
    for rule in &policy.require {
        out.insert(foreign_rule_entry("require", rule));
    }
    out
}

/// Why a policy cannot be managed by this resource (import), if it cannot: `None`
/// exactly when [`Policy::is_linked_app_token`] holds, the definition
/// `cfaccess_mcp_server_app` also uses to leave such policies to this resource.
fn import_refusal(policy: &Policy) -> Option<String> {
    if policy.is_linked_app_token() {
        return None;
    }
    if policy.decision != Decision::NonIdentity {
        return Some(format!(
            "its decision is {:?}. This resource manages only Linked App Token policies, whose \
             decision must be \"non_identity\" (Service Auth): Linked App Token rules work only with it.",
            policy.decision.as_str()
        ));
    }
    let foreign: Vec<String> = policy
        .include
        .iter()
        .filter(|r| !matches!(r, Rule::LinkedAppToken { .. }))
        .map(|r| format!("include {}", r.kind()))
        .chain(
            policy
                .exclude
                .iter()
                .map(|r| format!("exclude {}", r.kind())),
        )
        .chain(
            policy
                .require
                .iter()
                .map(|r| format!("require {}", r.kind())),
        )
        .collect();
    if !foreign.is_empty() {
        return Some(format!(
            "it has rules other than linked_app_token ({}). This resource manages policies whose only \
             rules are linked_app_token include rules; importing this one would make the next apply \
             remove the other rules. Manage it with a general-purpose Access policy resource instead.",
            foreign.join(", ")
        ));
    }
    Some("it has no linked_app_token rule.".to_string())
}

/// The session duration to keep in state: the API's, except where it is only a
/// restatement of the prior value (same duration written differently) or the API's
/// documented default for a policy created without one.
fn session_from_api(prior: Option<&str>, api: Option<&str>) -> Option<String> {
    match (prior, api) {
        (None, Some(a)) if parse_go_duration(a) == Some(API_DEFAULT_SESSION_DURATION_SECS) => None,
        _ => keep_equivalent_duration(api, prior),
    }
}

/// `account_id` for [`ProviderData::api`]: unknown (provider default not known at
/// plan time) means the provider default.
fn account_arg(v: &Value) -> Value {
    match v.get(attr::ACCOUNT_ID) {
        Some(Value::String(s)) => Value::string(s.clone()),
        _ => Value::Null,
    }
}

fn set_of(v: Option<&Value>) -> BTreeSet<String> {
    v.map(Value::known_strings)
        .unwrap_or_default()
        .into_iter()
        .collect()
}

mod fidelity;
use fidelity::{
    Findings, Recorded, Stage, common_precedence, configured_precedence, plan_precedence,
};

// ----- checks before any write ----------------------------------------------------

/// What a write is about to do, i.e. what must be checked against the API first.
#[derive(Debug, Default)]
struct WritePlan {
    /// Targets that will be attached (not attached before).
    new_targets: Vec<String>,
    /// Targets whose slot `precedence` must be free.
    precedence_targets: Vec<String>,
    precedence: Option<u32>,
    /// Linked uids that are new in the policy.
    new_linked: Vec<String>,
    /// Our own policy id (a slot it already holds is free for it).
    own_id: Option<String>,
}

impl WritePlan {
    /// From the prior state (`Null` on create), a planned object whose set elements
    /// may be partly unknown (unknown ones are skipped) and the configured precedence
    /// (`None` when omitted: the planned value is then the provider's, never a write).
    fn between(prior: &Value, planned: &Value, precedence: Option<u32>) -> WritePlan {
        let creating = prior.is_null();
        let prior_targets = set_of(prior.get(attr::TARGET_APP_IDS));
        let prior_linked = set_of(prior.get(attr::LINKED_APP_UIDS));
        let planned_targets = match planned.get(attr::TARGET_APP_IDS) {
            Some(v @ (Value::Set(_) | Value::List(_))) => set_of(Some(v)),
            _ => BTreeSet::new(),
        };
        let prior_precedence = prior.get(attr::PRECEDENCE).and_then(Value::as_i64);
        let precedence_changed = !creating && prior_precedence != precedence.map(i64::from);
        let new_targets: Vec<String> = planned_targets
            .difference(&prior_targets)
            .cloned()
            .collect();
        let precedence_targets = match precedence {
            None => Vec::new(),
            Some(_) if precedence_changed => planned_targets.iter().cloned().collect(),
            Some(_) => new_targets.clone(),
        };
        WritePlan {
            new_targets,
            precedence_targets,
            precedence,
            new_linked: set_of(planned.get(attr::LINKED_APP_UIDS))
                .difference(&prior_linked)
                .cloned()
                .collect(),
            own_id: prior
                .get(attr::ID)
                .and_then(Value::as_str)
                .map(str::to_string),
        }
    }
}

/// How an application is named in messages.
fn describe_app(app: &App) -> String {
    match app.name.as_deref() {
        Some(name) if !name.is_empty() => format!("{name:?} ({})", app.id),
        _ => app.id.to_string(),
    }
}

/// How an attached policy is named in messages: its name when the API expanded it.
fn attached_policy_name(app: &App, policy_id: &str) -> String {
    let name = app
        .policies
        .iter()
        .find(|p| p.id == policy_id)
        .and_then(|p| p.rest.get("name"))
        .and_then(serde_json::Value::as_str);
    match name {
        Some(n) => format!("{n:?} ({policy_id})"),
        None => policy_id.to_string(),
    }
}

/// Checks every precondition of `plan` against the API (coalesced reads only).
/// Returns the diagnostics and, for messages later, the names of the apps read.
async fn check_before_write(
    client: &Client,
    account: &AccountId,
    plan: &WritePlan,
    planned: &Value,
    stage: Stage<'_>,
) -> (Diagnostics, Vec<App>) {
    let mut found = Findings::new(stage);
    let mut seen = Vec::new();
    let targets_path = AttributePath::root(attr::TARGET_APP_IDS);
    let linked_path = AttributePath::root(attr::LINKED_APP_UIDS);

    check_overlap(planned, &mut found.diags);

    let mut to_read: BTreeSet<String> = plan.new_targets.iter().cloned().collect();
    to_read.extend(plan.precedence_targets.iter().cloned());
    for target in &to_read {
        let recorded_target = found.recorded_target(target);
        let app = match client
            .get_app(account, &AppId::new_unchecked(target.as_str()))
            .await
        {
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
                    targets_path.clone(),
                    "Target application not found",
                    detail,
                    recorded_target,
                );
                continue;
            }
            Err(e) => {
                found.diags.0.push(errors::api_error_at(
                    &format!("read target application {target}"),
                    &e,
                    Some(targets_path.clone()),
                ));
                continue;
            }
        };
        if app.app_type != AppType::SelfHosted {
            found.push(
                targets_path.clone(),
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
            && let Some(holder) = PolicyLink::holder_of(
                &app.policy_links(),
                p,
                plan.own_id.as_deref().map(PolicyId::new_unchecked).as_ref(),
            )
            .cloned()
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
        seen.push(app);
    }

    for uid in &plan.new_linked {
        let recorded_uid = found.recorded().is_some_and(|r| r.linked.contains(uid));
        match client.get_app(account, &AppId::new_unchecked(uid.as_str())).await {
            Ok(app) if matches!(app.app_type, AppType::SelfHosted | AppType::Saas) => seen.push(app),
            Ok(app) => found.push(
                linked_path.clone(),
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
                linked_path.clone(),
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
                Some(linked_path.clone()),
            )),
        }
    }
    (found.diags, seen)
}

/// A downstream app that is also a linked app would accept its own tokens: a
/// configuration mistake (known values only).
fn check_overlap(config: &Value, diags: &mut Diagnostics) {
    let targets = set_of(config.get(attr::TARGET_APP_IDS));
    let linked = set_of(config.get(attr::LINKED_APP_UIDS));
    for id in targets.intersection(&linked) {
        diags.attr_error(
            AttributePath::root(attr::TARGET_APP_IDS),
            "Target is also a linked application",
            format!(
                "Application {id} is listed in both target_app_ids and linked_app_uids. target_app_ids \
                 are the downstream applications the MCP server calls; linked_app_uids are the MCP server \
                 applications whose tokens they accept. An application cannot be both."
            ),
        );
    }
}

fn app_label(apps: &[App], id: &str) -> String {
    apps.iter()
        .find(|a| a.id == id)
        .map_or_else(|| id.to_string(), describe_app)
}

/// The API's count of applications using the policy, read after our writes; falls
/// back to the applications seen holding it.
async fn current_app_count(
    client: &Client,
    account: &AccountId,
    policy_id: &PolicyId,
    fallback: usize,
) -> i64 {
    match client.get_policy_uncached(account, policy_id).await {
        Ok(policy) => {
            if let Some(n) = policy.app_count.and_then(|n| i64::try_from(n).ok()) {
                return n;
            }
        }
        Err(e) => {
            tracing::debug!(policy_id = policy_id.as_str(), error = %e, "re-reading the policy for app_count failed")
        }
    }
    match client.apps_with_policy(account, policy_id).await {
        Ok(apps) => apps.len() as i64,
        Err(_) => fallback as i64,
    }
}

/// Attaches/detaches so the policy is on exactly `wanted`, starting from `attached`
/// (application id → the policy's precedence there). Returns where it is attached
/// afterwards, with its precedence on each, and one diagnostic per failure.
///
/// Every application's change is sent at once (each app's edit is independent, and
/// the client's per-app writer batches the changes that wait on one app together, so
/// many policies fanning in onto the same apps share each GET and PUT); a failure on
/// one app leaves the others' outcomes standing. Nothing is sent once stopped.
#[allow(clippy::too_many_arguments)]
async fn converge_attachments(
    ctx: &Context,
    client: &Client,
    account: &AccountId,
    policy_id: &PolicyId,
    mut attached: BTreeMap<String, u32>,
    wanted: &BTreeSet<String>,
    precedence: Option<u32>,
    move_existing: bool,
    names: &[App],
) -> (BTreeMap<String, u32>, Diagnostics) {
    let mut diags = Diagnostics::new();
    let path = AttributePath::root(attr::TARGET_APP_IDS);
    let extra: Vec<String> = attached
        .keys()
        .filter(|id| !wanted.contains(*id))
        .cloned()
        .collect();
    // A pinned position that changed moves the policy on the targets it is on already.
    let moving = move_existing && precedence.is_some();
    let to_attach: Vec<&String> = wanted
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
    let detaches = futures::future::join_all(extra.iter().map(|app_id| async move {
        let app_id = AppId::new_unchecked(app_id.as_str());
        client.detach_policy(account, &app_id, policy_id).await
    }));
    let attaches = futures::future::join_all(to_attach.iter().map(|app_id| async move {
        let app_id = AppId::new_unchecked(app_id.as_str());
        client
            .attach_policy(account, &app_id, policy_id, precedence)
            .await
    }));
    let (detached, attached_now) = futures::future::join(detaches, attaches).await;
    for (app_id, outcome) in extra.iter().zip(detached) {
        match outcome {
            Ok(_) => {
                tracing::info!(tf_resource_type = TYPE_NAME, policy_id = policy_id.as_str(), app_id = %app_id, "detached");
                attached.remove(app_id);
            }
            Err(e) => diags.0.push(errors::api_error_at(
                &format!(
                    "detach policy {policy_id} from application {}",
                    app_label(names, app_id)
                ),
                &e,
                Some(path.clone()),
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
            Err(e) => diags.0.push(errors::api_error_at(
                &format!(
                    "attach policy {policy_id} to application {}",
                    app_label(names, app_id)
                ),
                &e,
                Some(path.clone()),
            )),
        }
    }
    (attached, diags)
}

/// Application id → the policy's precedence there.
fn positions_of(found: Vec<AttachmentRef>) -> BTreeMap<String, u32> {
    found
        .into_iter()
        .map(|a| (a.app_id.into(), a.precedence))
        .collect()
}

/// Detaches `policy_id` from every application that holds it, found by a fresh list
/// (not the snapshot), so attachments made outside Terraform are included. Deletes
/// running side by side share that list (see `Client::apps_with_policy_now`).
async fn detach_everywhere(
    ctx: &Context,
    client: &Client,
    account: &AccountId,
    policy_id: &PolicyId,
) -> Result<(), Diagnostics> {
    let holders = match client.apps_with_policy_now(account, policy_id).await {
        Ok(found) => positions_of(found),
        Err(e) => {
            return Err(errors::api_error(
                &format!("list the applications using policy {policy_id}"),
                &e,
            )
            .into());
        }
    };
    let (_, diags) = converge_attachments(
        ctx,
        client,
        account,
        policy_id,
        holders,
        &BTreeSet::new(),
        None,
        false,
        &[],
    )
    .await;
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok(())
    }
}

// ----- the resource ---------------------------------------------------------------

/// The `cfaccess_linked_app_policy` resource.
pub struct LinkedAppPolicyResource {
    data: Arc<ProviderData>,
}

impl LinkedAppPolicyResource {
    /// A resource served through `data`.
    pub fn new(data: Arc<ProviderData>) -> Self {
        LinkedAppPolicyResource { data }
    }

    fn api_for(&self, v: &Value, diags: &mut Diagnostics) -> Option<Api> {
        match self.data.api(&account_arg(v)) {
            Ok(api) => Some(api),
            Err(d) => {
                diags.extend(d);
                None
            }
        }
    }
}

fn model_or_error(v: &Value, what: &str, diags: &mut Diagnostics) -> Option<Model> {
    match Model::from_value(v) {
        Ok(m) => Some(m),
        Err(e) => {
            diags.error(
                "Unexpected value",
                format!("The {what} of {TYPE_NAME} could not be read ({e}). This is a bug in the provider."),
            );
            None
        }
    }
}

#[async_trait]
impl Resource for LinkedAppPolicyResource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn validate(&self, _ctx: &Context, config: &Value, diags: &mut Diagnostics) {
        check_overlap(config, diags);
        if config.get(attr::PRECEDENCE).is_some_and(|p| !p.is_null())
            && config.get(attr::TARGET_APP_IDS).is_some_and(Value::is_null)
        {
            diags.attr_warning(
                AttributePath::root(attr::PRECEDENCE),
                "precedence has no effect",
                "precedence positions the policy on the applications in target_app_ids; without \
                 target_app_ids this resource attaches the policy nowhere.",
            );
        }
    }

    async fn modify_plan(&self, _ctx: &Context, req: &mut PlanRequest, diags: &mut Diagnostics) {
        if req.planned.is_null() {
            return;
        }
        // Owned fixed value: planning it (instead of Terraform's sticky prior) makes a
        // decision changed in the dashboard show as drift.
        if req.config.get(attr::DECISION).is_none_or(Value::is_null) {
            req.planned.set(attr::DECISION, Value::string(NON_IDENTITY));
        }
        // app_count moves only when attachments move (#5608).
        if !req.is_create() {
            let planned_targets = req
                .planned
                .get(attr::TARGET_APP_IDS)
                .cloned()
                .unwrap_or(Value::Null);
            let prior_targets = req
                .prior
                .get(attr::TARGET_APP_IDS)
                .cloned()
                .unwrap_or(Value::Null);
            let count = if planned_targets.is_wholly_known()
                && planned_targets.semantically_equal(&prior_targets)
            {
                req.prior
                    .get(attr::APP_COUNT)
                    .cloned()
                    .unwrap_or(Value::Unknown)
            } else {
                Value::Unknown
            };
            req.planned.set(attr::APP_COUNT, count);
        }
        plan_precedence(req);
        if !self.data.is_ready() {
            return;
        }
        self.data.plan_default_account(req);
        if req
            .planned
            .get(attr::ACCOUNT_ID)
            .is_some_and(Value::is_unknown)
        {
            return;
        }
        let Some(api) = self.api_for(&req.planned, diags) else {
            return;
        };
        let plan = WritePlan::between(&req.prior, &req.planned, configured_precedence(&req.config));
        let recorded = Recorded::from_private(&req.private);
        let (checks, _) = check_before_write(
            &api.client,
            &api.account_id,
            &plan,
            &req.planned,
            Stage::Plan(recorded.as_ref()),
        )
        .await;
        diags.extend(checks);
    }

    async fn create(
        &self,
        ctx: &Context,
        config: &Value,
        planned: &Value,
        _private: &[u8],
    ) -> ApplyResult {
        let mut diags = Diagnostics::new();
        let Some(plan) = model_or_error(planned, "plan", &mut diags) else {
            return ApplyResult {
                diagnostics: diags,
                ..Default::default()
            };
        };
        let Some(api) = self.api_for(planned, &mut diags) else {
            return ApplyResult {
                diagnostics: diags,
                ..Default::default()
            };
        };
        let account = &api.account_id;
        // Values unknown at plan time are known now: check again before the first write.
        let wanted_precedence = configured_precedence(config);
        let write = WritePlan::between(&Value::Null, planned, wanted_precedence);
        let (checks, apps) =
            check_before_write(&api.client, account, &write, planned, Stage::Apply).await;
        if checks.has_errors() {
            return ApplyResult {
                diagnostics: checks,
                ..Default::default()
            };
        }
        diags.extend(checks);

        let body = plan.policy_body(None);
        let created = api.client.create_policy(account, &body).await;
        let policy = match created {
            Ok(p) => p,
            Err(e) => {
                diags.0.push(errors::api_error(
                    &format!("create policy {:?}", plan.name),
                    &e,
                ));
                // The policy exists although its answer could not be read: keep its id
                // (attached nowhere yet) so it is tracked, not orphaned.
                let new_state = e.created_id().map(|id| {
                    let mut state = plan.clone();
                    state.id = Some(id.to_owned());
                    state.account_id = Some(api.account_id.to_string());
                    state.decision = Some(NON_IDENTITY.to_string());
                    state.app_count = Some(0);
                    state.target_app_ids = plan.target_app_ids.as_ref().map(|_| BTreeSet::new());
                    state.to_value()
                });
                return ApplyResult {
                    new_state,
                    diagnostics: diags,
                    ..Default::default()
                };
            }
        };
        tracing::info!(tf_resource_type = TYPE_NAME, policy_id = %policy.id, "policy created");

        let mut state = plan.clone();
        state.id = Some(policy.id.to_string());
        state.account_id = Some(api.account_id.to_string());
        state.decision = Some(NON_IDENTITY.to_string());
        let mut attached = BTreeMap::new();
        if let Some(wanted) = &plan.target_app_ids {
            let (now, attach_diags) = converge_attachments(
                ctx,
                &api.client,
                account,
                &policy.id,
                BTreeMap::new(),
                wanted,
                wanted_precedence,
                false,
                &apps,
            )
            .await;
            attached = now;
            if attach_diags.has_errors() {
                // The policy exists: record it with the attachments that exist, so the
                // next apply attaches the rest instead of creating a second policy.
                state.app_count = Some(attached.len() as i64);
                state.precedence = wanted_precedence.or(common_precedence(&attached, None));
                state.target_app_ids = Some(attached.into_keys().collect());
                diags.extend(attach_diags);
                return ApplyResult {
                    new_state: Some(state.to_value()),
                    diagnostics: diags,
                    ..Default::default()
                };
            }
        }
        // What a refresh will read: the configured position, else the one the
        // policy landed on everywhere (null where the targets differ or are none).
        state.precedence = wanted_precedence.or(common_precedence(&attached, None));
        // The policy is new, so the only applications that can hold it are the ones
        // this create attached it to: its count needs no second read of the policy
        // (which would be a quarter of the requests of a create).
        state.app_count = Some(attached.len() as i64);
        ApplyResult {
            new_state: Some(state.to_value()),
            private: Recorded::of(&state, wanted_precedence).to_private(),
            diagnostics: diags,
        }
    }

    async fn read(
        &self,
        _ctx: &Context,
        current: &Value,
        private: &[u8],
        _mode: crate::tfplugin::ReadMode,
    ) -> ReadResult {
        let mut diags = Diagnostics::new();
        let unchanged = |diagnostics| ReadResult {
            new_state: Some(current.clone()),
            diagnostics,
            ..Default::default()
        };
        let Some(prior) = model_or_error(current, "state", &mut diags) else {
            return unchanged(diags);
        };
        let Some(id) = prior.id.clone() else {
            return ReadResult {
                new_state: None,
                ..Default::default()
            };
        };
        let Some(api) = self.api_for(current, &mut diags) else {
            return unchanged(diags);
        };
        let account = &api.account_id;
        let policy = match api
            .client
            .get_policy(account, &PolicyId::new_unchecked(id.as_str()))
            .await
        {
            Ok(p) => p,
            Err(e) if e.is_not_found() => {
                tracing::info!(tf_resource_type = TYPE_NAME, policy_id = %id, "policy gone; dropping from state");
                return ReadResult {
                    new_state: None,
                    ..Default::default()
                };
            }
            Err(e) => {
                diags
                    .0
                    .push(errors::api_error(&format!("read policy {id}"), &e));
                return unchanged(diags);
            }
        };
        let attachments = match api
            .client
            .apps_with_policy(account, &PolicyId::new_unchecked(id.as_str()))
            .await
        {
            Ok(a) => a,
            Err(e) => {
                diags.0.push(errors::api_error(
                    &format!("list the applications using policy {id}"),
                    &e,
                ));
                return unchanged(diags);
            }
        };
        let mut state = prior.clone();
        state.account_id = Some(api.account_id.to_string());
        state.name = policy.name.clone();
        state.decision = Some(policy.decision.as_str().to_string());
        state.linked_app_uids = linked_uids_of(&policy);
        state.session_duration = session_from_api(
            prior.session_duration.as_deref(),
            policy.session_duration.as_deref(),
        );
        let count = attachments.len() as i64;
        if prior.target_app_ids.is_some() {
            let positions = positions_of(attachments);
            state.precedence = common_precedence(&positions, prior.precedence);
            state.target_app_ids = Some(positions.into_keys().collect());
        }
        state.app_count = Some(
            policy
                .app_count
                .and_then(|n| i64::try_from(n).ok())
                .unwrap_or(count),
        );
        // A state saved before the record was kept: what Terraform saved (before this
        // refresh) is the record; its precedence was always the configured one.
        let private = match Recorded::from_private(private) {
            Some(_) => Vec::new(),
            None => Recorded::of(&prior, prior.precedence).to_private(),
        };
        ReadResult {
            new_state: Some(state.to_value()),
            private,
            diagnostics: diags,
        }
    }

    async fn update(
        &self,
        ctx: &Context,
        prior_value: &Value,
        config: &Value,
        planned: &Value,
        _private: &[u8],
    ) -> ApplyResult {
        let mut diags = Diagnostics::new();
        let unchanged = |diagnostics| ApplyResult {
            new_state: Some(prior_value.clone()),
            diagnostics,
            ..Default::default()
        };
        let (Some(prior), Some(plan)) = (
            model_or_error(prior_value, "prior state", &mut diags),
            model_or_error(planned, "plan", &mut diags),
        ) else {
            return unchanged(diags);
        };
        let Some(id) = prior.id.clone() else {
            diags.error(
                "Missing policy ID",
                "The prior state has no policy ID. This is a bug in the provider.",
            );
            return unchanged(diags);
        };
        let Some(api) = self.api_for(prior_value, &mut diags) else {
            return unchanged(diags);
        };
        let account = &api.account_id;
        let wanted_precedence = configured_precedence(config);
        let write = WritePlan::between(prior_value, planned, wanted_precedence);
        let (checks, apps) =
            check_before_write(&api.client, account, &write, planned, Stage::Apply).await;
        if checks.has_errors() {
            return unchanged(checks);
        }
        diags.extend(checks);

        let mut state = prior.clone();
        if prior.policy_differs(&plan) {
            let current = match api
                .client
                .get_policy_uncached(account, &PolicyId::new_unchecked(id.as_str()))
                .await
            {
                Ok(p) => p,
                Err(e) => {
                    diags.0.push(errors::api_error(
                        &format!("read policy {id} before updating it"),
                        &e,
                    ));
                    return unchanged(diags);
                }
            };
            if let Err(e) = api
                .client
                .update_policy(
                    account,
                    &PolicyId::new_unchecked(id.as_str()),
                    &plan.policy_body(Some(&current)),
                )
                .await
            {
                diags
                    .0
                    .push(errors::api_error(&format!("update policy {id}"), &e));
                return unchanged(diags);
            }
            tracing::info!(tf_resource_type = TYPE_NAME, policy_id = %id, "policy updated");
        }
        state.name = plan.name.clone();
        state.linked_app_uids = plan.linked_app_uids.clone();
        state.decision = Some(NON_IDENTITY.to_string());
        state.session_duration = plan.session_duration.clone();
        // Known in the plan: the configured value, or the prior one kept while the
        // targets stay. Unknown: the targets change and the configuration leaves the
        // position to the provider, so it is read from where the policy lands.
        let precedence_after_apply = planned.get(attr::PRECEDENCE).is_some_and(Value::is_unknown);
        state.precedence = plan.precedence;

        if let Some(wanted) = &plan.target_app_ids {
            let attached = match api
                .client
                .apps_with_policy(account, &PolicyId::new_unchecked(id.as_str()))
                .await
            {
                Ok(list) => positions_of(list),
                Err(e) => {
                    diags.0.push(errors::api_error(
                        &format!("list the applications using policy {id}"),
                        &e,
                    ));
                    state.app_count = prior.app_count;
                    state.precedence = prior.precedence;
                    return ApplyResult {
                        new_state: Some(state.to_value()),
                        diagnostics: diags,
                        ..Default::default()
                    };
                }
            };
            // A configured position differing from the recorded one (a change, or a
            // move outside Terraform read as another value or as null) moves the
            // policy on every target where it is elsewhere; nothing else moves.
            let move_existing =
                wanted_precedence.is_some() && wanted_precedence != prior.precedence;
            let (attached, attach_diags) = converge_attachments(
                ctx,
                &api.client,
                account,
                &PolicyId::new_unchecked(id.as_str()),
                attached,
                wanted,
                wanted_precedence,
                move_existing,
                &apps,
            )
            .await;
            if precedence_after_apply || attach_diags.has_errors() {
                state.precedence = common_precedence(&attached, prior.precedence);
            }
            if attach_diags.has_errors() {
                state.app_count = Some(attached.len() as i64);
                state.target_app_ids = Some(attached.into_keys().collect());
                diags.extend(attach_diags);
                return ApplyResult {
                    new_state: Some(state.to_value()),
                    diagnostics: diags,
                    ..Default::default()
                };
            }
        } else if precedence_after_apply {
            // Not planned unknown without targets; keep what a refresh would.
            state.precedence = prior.precedence;
        }
        state.target_app_ids = plan.target_app_ids.clone();
        state.app_count = match plan.app_count {
            Some(n) => Some(n),
            None => {
                let fallback = state.target_app_ids.as_ref().map_or(0, BTreeSet::len);
                Some(
                    current_app_count(
                        &api.client,
                        account,
                        &PolicyId::new_unchecked(id.as_str()),
                        fallback,
                    )
                    .await,
                )
            }
        };
        ApplyResult {
            new_state: Some(state.to_value()),
            private: Recorded::of(&state, wanted_precedence).to_private(),
            diagnostics: diags,
        }
    }

    async fn delete(&self, ctx: &Context, prior_value: &Value, _private: &[u8]) -> Diagnostics {
        let mut diags = Diagnostics::new();
        let Some(id) = prior_value
            .get(attr::ID)
            .and_then(Value::as_str)
            .map(str::to_string)
        else {
            return diags;
        };
        let Some(api) = self.api_for(prior_value, &mut diags) else {
            return diags;
        };
        let account = &api.account_id;
        // Two rounds: an attachment made by someone else between our detach and the
        // DELETE (the API answers 409 once the client's own retries are spent) is
        // detached too, so a delete never fails on "still attached".
        for round in 1..=2 {
            if let Err(d) = detach_everywhere(
                ctx,
                &api.client,
                account,
                &PolicyId::new_unchecked(id.as_str()),
            )
            .await
            {
                diags.extend(d);
                return diags;
            }
            match api
                .client
                .delete_policy(account, &PolicyId::new_unchecked(id.as_str()))
                .await
            {
                Ok(outcome) => {
                    tracing::info!(tf_resource_type = TYPE_NAME, policy_id = %id, ?outcome, "policy deleted");
                    break;
                }
                Err(e) if e.status() == Some(409) && round == 1 => {
                    tracing::info!(tf_resource_type = TYPE_NAME, policy_id = %id, "policy still attached somewhere; detaching again");
                }
                Err(e) => {
                    diags
                        .0
                        .push(errors::api_error(&format!("delete policy {id}"), &e));
                    break;
                }
            }
        }
        diags
    }

    async fn import(&self, _ctx: &Context, import_id: &str) -> ImportResult {
        let mut diags = Diagnostics::new();
        let (account, policy_id) = match import_id::parse(import_id, "policy") {
            Ok(parts) => parts,
            Err(d) => {
                return ImportResult {
                    diagnostics: d,
                    ..Default::default()
                };
            }
        };
        let api = match self.data.api(&Value::opt_string(account)) {
            Ok(api) => api,
            Err(d) => {
                return ImportResult {
                    diagnostics: d,
                    ..Default::default()
                };
            }
        };
        let account = &api.account_id;
        let policy = match api
            .client
            .get_policy(account, &PolicyId::new_unchecked(policy_id.as_str()))
            .await
        {
            Ok(p) => p,
            Err(e) if e.is_not_found() => {
                diags.error(
                    "Cannot import: policy not found",
                    format!(
                        "No reusable Access policy with ID {policy_id} exists in account {account}."
                    ),
                );
                return ImportResult {
                    diagnostics: diags,
                    ..Default::default()
                };
            }
            Err(e) => {
                diags
                    .0
                    .push(errors::api_error(&format!("read policy {policy_id}"), &e));
                return ImportResult {
                    diagnostics: diags,
                    ..Default::default()
                };
            }
        };
        if let Some(why) = import_refusal(&policy) {
            diags.error(
                "Cannot import: not a Linked App Token policy",
                format!(
                    "Policy {:?} ({policy_id}) cannot be managed as {TYPE_NAME}: {why}",
                    policy.name
                ),
            );
            return ImportResult {
                diagnostics: diags,
                ..Default::default()
            };
        }
        let attached: BTreeMap<String, u32> = match api
            .client
            .apps_with_policy(account, &PolicyId::new_unchecked(policy_id.as_str()))
            .await
        {
            Ok(list) => positions_of(list),
            Err(e) => {
                diags.0.push(errors::api_error(
                    &format!("list the applications using policy {policy_id}"),
                    &e,
                ));
                return ImportResult {
                    diagnostics: diags,
                    ..Default::default()
                };
            }
        };
        let state = Model {
            id: Some(policy.id.to_string()),
            name: policy.name.clone(),
            linked_app_uids: linked_uids_of(&policy),
            // Attached nowhere → null, as a create without target_app_ids records.
            target_app_ids: (!attached.is_empty()).then(|| attached.keys().cloned().collect()),
            // As a read does: the position shared by every attachment, else null.
            precedence: common_precedence(&attached, None),
            decision: Some(policy.decision.as_str().to_string()),
            session_duration: policy.session_duration.clone(),
            account_id: Some(api.account_id.to_string()),
            app_count: Some(
                policy
                    .app_count
                    .and_then(|n| i64::try_from(n).ok())
                    .unwrap_or(attached.len() as i64),
            ),
        };
        tracing::info!(tf_resource_type = TYPE_NAME, policy_id = %policy_id, "imported");
        ImportResult {
            state: Some(state.to_value()),
            diagnostics: diags,
            ..Default::default()
        }
    }
}

#[cfg(test)]
#[path = "tests/mod.rs"]
mod handler_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_is_consistent() {
        assert_eq!(schema().internal_problems(), Vec::<String>::new());
        let s = schema();
        let replace: Vec<&str> = s
            .attributes
            .iter()
            .filter(|a| a.requires_replace())
            .map(|a| a.name.as_str())
            .collect();
        assert_eq!(replace, vec![attr::ACCOUNT_ID]);
        assert!(
            !s.attribute(attr::SESSION_DURATION)
                .is_some_and(|a| a.mode.computed()),
            "never defaulted"
        );
    }

    fn policy(v: serde_json::Value) -> Policy {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn session_duration_normalisation() {
        assert_eq!(session_from_api(None, None), None);
        assert_eq!(
            session_from_api(Some("24h"), None),
            None,
            "removed in the dashboard: drift"
        );
        assert_eq!(
            session_from_api(None, Some("24h")),
            None,
            "the API default is not drift"
        );
        assert_eq!(session_from_api(None, Some("12h")), Some("12h".into()));
        assert_eq!(
            session_from_api(Some("1440m"), Some("24h")),
            Some("1440m".into())
        );
        assert_eq!(
            session_from_api(Some("24h"), Some("12h")),
            Some("12h".into())
        );
    }

    #[test]
    fn foreign_rules_and_decisions_never_look_like_our_configuration() {
        let ours = policy(
            serde_json::json!({"id": "p", "name": "n", "decision": "non_identity",
            "include": [{"linked_app_token": {"app_uid": "b"}}, {"linked_app_token": {"app_uid": "a"}}]}),
        );
        assert_eq!(
            linked_uids_of(&ours),
            ["a", "b"].iter().map(|s| s.to_string()).collect()
        );
        assert_eq!(import_refusal(&ours), None);

        let extra = policy(serde_json::json!({"id": "p", "decision": "non_identity",
            "include": [{"linked_app_token": {"app_uid": "a"}}, {"everyone": {}}],
            "require": [{"email_domain": {"domain": "example.com"}}]}));
        let uids = linked_uids_of(&extra);
        assert_eq!(uids.len(), 3);
        assert!(
            uids.contains("unmanaged include rule: {\"everyone\":{}}"),
            "{uids:?}"
        );
        assert!(uids.iter().any(|u| u.starts_with("unmanaged require rule")));
        let why = import_refusal(&extra).unwrap();
        assert!(
            why.contains("include everyone") && why.contains("require email_domain"),
            "{why}"
        );

        let allow = policy(serde_json::json!({"id": "p", "decision": "allow",
            "include": [{"linked_app_token": {"app_uid": "a"}}]}));
        assert!(import_refusal(&allow).unwrap().contains("\"allow\""));
    }

    #[test]
    fn request_body_is_exact_and_keeps_unmanaged_fields() {
        let model = Model {
            name: "n".into(),
            linked_app_uids: ["b", "a"].iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        let body = model.policy_body(None).to_value();
        assert_eq!(
            body,
            serde_json::json!({"name": "n", "decision": "non_identity",
                "include": [{"linked_app_token": {"app_uid": "a"}}, {"linked_app_token": {"app_uid": "b"}}],
                "exclude": [], "require": []})
        );
        let current = policy(
            serde_json::json!({"id": "p", "name": "old", "decision": "allow",
            "include": [{"everyone": {}}], "exclude": [{"ip": {"ip": "10.0.0.0/8"}}],
            "session_duration": "12h", "approval_required": true, "app_count": 3}),
        );
        let body = Model {
            session_duration: Some("30m".into()),
            ..model
        }
        .policy_body(Some(&current))
        .to_value();
        assert_eq!(body["approval_required"], serde_json::json!(true));
        assert_eq!(body["exclude"], serde_json::json!([]));
        assert_eq!(body["session_duration"], serde_json::json!("30m"));
        assert!(body.get("app_count").is_none());
    }

    #[test]
    fn write_plan_checks_only_what_changes() {
        let state = Value::object([
            (attr::ID, Value::string("me")),
            (attr::TARGET_APP_IDS, Value::string_set(["t1", "t2"])),
            (attr::LINKED_APP_UIDS, Value::string_set(["l1"])),
            (attr::PRECEDENCE, Value::int(5)),
        ]);
        let same_precedence = Value::object([
            (
                attr::TARGET_APP_IDS,
                Value::Set(vec![
                    Value::string("t1"),
                    Value::string("t3"),
                    Value::Unknown,
                ]),
            ),
            (attr::LINKED_APP_UIDS, Value::string_set(["l1", "l2"])),
            (attr::PRECEDENCE, Value::int(5)),
        ]);
        let w = WritePlan::between(&state, &same_precedence, Some(5));
        assert_eq!(w.new_targets, vec!["t3".to_string()]);
        assert_eq!(w.precedence_targets, vec!["t3".to_string()]);
        assert_eq!(w.new_linked, vec!["l2".to_string()]);
        assert_eq!(w.own_id.as_deref(), Some("me"));

        let mut moved = same_precedence.clone();
        moved.set(attr::PRECEDENCE, Value::int(6));
        let w = WritePlan::between(&state, &moved, Some(6));
        assert_eq!(
            w.precedence_targets,
            vec!["t1".to_string(), "t3".to_string()]
        );

        let w = WritePlan::between(&Value::Null, &state, Some(5));
        assert_eq!(w.new_targets.len(), 2);
        assert_eq!(w.own_id, None);

        // Omitted in the configuration, the planned (computed) value is the
        // provider's: it is never a position to check or write.
        let w = WritePlan::between(&state, &moved, None);
        assert!(w.precedence_targets.is_empty());
        assert_eq!(w.precedence, None);
    }

    #[test]
    fn decision_and_precedence_validators() {
        let mut d = Diagnostics::new();
        validate_decision(
            &Value::string("non_identity"),
            &AttributePath::root("decision"),
            &mut d,
        );
        assert!(d.is_empty());
        validate_decision(
            &Value::string("allow"),
            &AttributePath::root("decision"),
            &mut d,
        );
        assert!(d.iter().next().unwrap().detail.contains("Service Auth"));
        let mut d = Diagnostics::new();
        let path = AttributePath::root("precedence");
        validate_precedence_integer(&Value::int(3), &path, &mut d);
        assert!(d.is_empty());
        validate_precedence_integer(
            &Value::Number(crate::tfplugin::Number::parse("2.5").unwrap()),
            &path,
            &mut d,
        );
        validate_precedence_integer(
            &Value::Number(crate::tfplugin::Number::parse("99999999999").unwrap()),
            &path,
            &mut d,
        );
        assert_eq!(d.0.len(), 2);
    }

    #[test]
    fn model_round_trips() {
        let m = Model {
            id: Some("i".into()),
            name: "n".into(),
            linked_app_uids: ["a".to_string()].into(),
            target_app_ids: Some(BTreeSet::new()),
            precedence: Some(3),
            decision: Some(NON_IDENTITY.into()),
            session_duration: None,
            account_id: Some("acc".into()),
            app_count: Some(0),
        };
        assert_eq!(Model::from_value(&m.to_value()).unwrap(), m);
    }
}
