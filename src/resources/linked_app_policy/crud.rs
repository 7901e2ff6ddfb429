//! The handlers: create, read, update, delete and import, each "get model → call
//! API → set state". A failure that leaves something written saves it as partial
//! state, so nothing is lost or orphaned.

use async_trait::async_trait;

use super::attachments::{Convergence, current_app_count, detach_everywhere, positions};
use super::checks::before_apply;
use super::fidelity::{Positions, Recorded, common_precedence, configured_precedence};
use super::policy::import_refusal;
use super::{LinkedAppPolicyResource, Model, NON_IDENTITY, TYPE_NAME, schema, state, validate};
use crate::api::Api;
use crate::cloudflare::{App, PolicyId};
use crate::errors::{self, ApiResultExt};
use crate::resources::import_id;
use crate::tfplugin::{
    Context, Create, Diagnostics, Failure, Field, Outcome, Plan, ReadMode, Saved, Schema,
    TypedResource, Update, Value,
};

/// A state and the record Terraform keeps with it (see [`Recorded`]).
fn saved(state: Model, pinned: Option<u32>) -> Saved<Model> {
    let state = state.settled();
    let private = Recorded::of(&state, pinned).to_private();
    Saved::new(state).with_private(private)
}

/// `result` with `warnings` (gathered before it) in front of its diagnostics.
fn after<T>(warnings: Diagnostics, result: Outcome<Saved<T>, T>) -> Outcome<Saved<T>, T> {
    match result {
        Ok(s) => Ok(Saved {
            warnings: {
                let mut w = warnings;
                w.extend(s.warnings);
                w
            },
            ..s
        }),
        Err(f) => Err(f.after(warnings)),
    }
}

#[async_trait]
impl TypedResource for LinkedAppPolicyResource {
    type Model = Model;

    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn validate(&self, _ctx: &Context, config: &Value, diags: &mut Diagnostics) {
        validate::config(config, diags);
    }

    async fn modify_plan(&self, _ctx: &Context, plan: &mut Plan<Model>, diags: &mut Diagnostics) {
        self.plan(plan, diags).await;
    }

    async fn create(&self, ctx: &Context, req: Create<Model>) -> Outcome<Saved<Model>, Model> {
        let api = self.api(&req.planned)?;
        let pinned = configured_precedence(&req.config);
        // Values unknown at plan time are known now: check again before the first write.
        let (warnings, apps) = before_apply(&api, None, &req.planned, pinned).await?;
        after(
            warnings,
            self.create_checked(ctx, &api, req.planned, pinned, &apps)
                .await,
        )
    }

    async fn read(
        &self,
        _ctx: &Context,
        current: Model,
        private: &[u8],
        mode: ReadMode,
    ) -> Outcome<Option<Saved<Model>>, Model> {
        let Some(id) = current.policy_id() else {
            return Ok(None);
        };
        let api = self.api(&current)?;
        let policy = match api.client.get_policy(&api.account_id, &id).await {
            Ok(p) => p,
            Err(e) if e.is_not_found() => {
                tracing::info!(tf_resource_type = TYPE_NAME, policy_id = %id, "policy gone; dropping from state");
                return Ok(None);
            }
            Err(e) => return Err(errors::api_error(&format!("read policy {id}"), &e).into()),
        };
        let positions = positions(&api, &id).await?;
        let state = state::refreshed(&current, &policy, positions, &api.account_id);
        // The record is what Terraform saved before this read: kept as it is, except
        // right after an import and for a state saved before records were kept, whose
        // precedence was always the configured one.
        let private = match (mode, Recorded::from_private(private)) {
            (ReadMode::Refresh, Some(_)) => Vec::new(),
            _ => Recorded::of(&current, current.precedence()).to_private(),
        };
        Ok(Some(Saved::new(state).with_private(private)))
    }

    async fn update(&self, ctx: &Context, req: Update<Model>) -> Outcome<Saved<Model>, Model> {
        let Some(id) = req.prior.policy_id() else {
            return Err(Failure::error(
                "Missing policy ID",
                "The prior state has no policy ID. This is a bug in the provider.",
            ));
        };
        let api = self.api(&req.prior)?;
        let pinned = configured_precedence(&req.config);
        let (warnings, apps) = before_apply(&api, Some(&req.prior), &req.planned, pinned).await?;
        let updated = self
            .update_checked(ctx, &api, &id, &req, pinned, &apps)
            .await;
        after(warnings, updated)
    }

    async fn delete(
        &self,
        ctx: &Context,
        prior: Model,
        _private: &[u8],
    ) -> Outcome<Diagnostics, Model> {
        let Some(id) = prior.policy_id() else {
            return Ok(Diagnostics::new());
        };
        let api = self.api(&prior)?;
        // Two rounds: an attachment made by someone else between our detach and the
        // DELETE (the API answers 409 once the client's own retries are spent) is
        // detached too, so a delete never fails on "still attached".
        for round in 1..=2 {
            detach_everywhere(ctx, &api, &id).await?;
            match api.client.delete_policy(&api.account_id, &id).await {
                Ok(outcome) => {
                    tracing::info!(tf_resource_type = TYPE_NAME, policy_id = %id, ?outcome, "policy deleted");
                    break;
                }
                Err(e) if e.status() == Some(409) && round == 1 => {
                    tracing::info!(tf_resource_type = TYPE_NAME, policy_id = %id, "policy still attached somewhere; detaching again");
                }
                Err(e) => return Err(errors::api_error(&format!("delete policy {id}"), &e).into()),
            }
        }
        Ok(Diagnostics::new())
    }

    async fn import(&self, _ctx: &Context, import_id: &str) -> Outcome<Saved<Model>, Model> {
        let (account, policy_id) = import_id::parse(import_id, "policy")?;
        let api = self.data.api(&Value::opt_string(account))?;
        let account = &api.account_id;
        let policy_id = PolicyId::new_unchecked(policy_id);
        let policy = match api.client.get_policy(account, &policy_id).await {
            Ok(p) => p,
            Err(e) if e.is_not_found() => {
                return Err(Failure::error(
                    "Cannot import: policy not found",
                    format!(
                        "No reusable Access policy with ID {policy_id} exists in account {account}."
                    ),
                ));
            }
            Err(e) => {
                return Err(errors::api_error(&format!("read policy {policy_id}"), &e).into());
            }
        };
        if let Some(why) = import_refusal(&policy) {
            return Err(Failure::error(
                "Cannot import: not a Linked App Token policy",
                format!(
                    "Policy {:?} ({policy_id}) cannot be managed as {TYPE_NAME}: {why}",
                    policy.name
                ),
            ));
        }
        let positions = positions(&api, &policy_id).await?;
        tracing::info!(tf_resource_type = TYPE_NAME, policy_id = %policy_id, "imported");
        Ok(Saved::new(state::imported(&policy, positions, account)))
    }
}

impl LinkedAppPolicyResource {
    /// Creates the policy planned as `plan` and attaches it, once the checks passed.
    async fn create_checked(
        &self,
        ctx: &Context,
        api: &Api,
        plan: Model,
        pinned: Option<u32>,
        apps: &[App],
    ) -> Outcome<Saved<Model>, Model> {
        let policy = match api
            .client
            .create_policy(&api.account_id, &plan.policy_body(None))
            .await
        {
            Ok(p) => p,
            Err(e) => {
                let failure = Failure::from(errors::api_error(
                    &format!("create policy {:?}", plan.name.as_str().unwrap_or_default()),
                    &e,
                ));
                // The policy exists although its answer could not be read: keep its id
                // (attached nowhere yet) so it is tracked, not orphaned.
                return Err(match e.created_id() {
                    Some(id) => failure
                        .with_partial(state::unread_creation(&plan, id, &api.account_id), None),
                    None => failure,
                });
            }
        };
        tracing::info!(tf_resource_type = TYPE_NAME, policy_id = %policy.id, "policy created");

        let targets = plan.targets();
        let mut state = Model {
            id: Field::Known(policy.id.to_string()),
            account_id: Field::Known(api.account_id.to_string()),
            decision: Field::Known(NON_IDENTITY.to_string()),
            ..plan
        };
        let mut attached = Positions::new();
        if let Some(wanted) = &targets {
            let converge = Convergence {
                api,
                policy_id: &policy.id,
                wanted,
                precedence: pinned,
                move_existing: false,
                names: apps,
            };
            let (now, attach_diags) = converge.run(ctx, Positions::new()).await;
            attached = now;
            if attach_diags.has_errors() {
                // The policy exists: record it with the attachments that exist, so the
                // next apply attaches the rest instead of creating a second policy.
                state.app_count = Field::Known(attached.len() as i64);
                state.precedence = pinned.or(common_precedence(&attached, None)).into();
                state.set_targets(attached);
                return Err(Failure::from(attach_diags).with_partial(state.settled(), None));
            }
        }
        // What a refresh will read: the configured position, else the one the
        // policy landed on everywhere (null where the targets differ or are none).
        state.precedence = pinned.or(common_precedence(&attached, None)).into();
        // The policy is new, so the only applications that can hold it are the ones
        // this create attached it to: its count needs no second read of the policy
        // (which would be a quarter of the requests of a create).
        state.app_count = Field::Known(attached.len() as i64);
        Ok(saved(state, pinned))
    }

    /// Updates the policy `id` from `req.prior` to `req.planned`, once the checks
    /// passed: the policy object when it differs, then its attachments.
    async fn update_checked(
        &self,
        ctx: &Context,
        api: &Api,
        id: &PolicyId,
        req: &Update<Model>,
        pinned: Option<u32>,
        apps: &[App],
    ) -> Outcome<Saved<Model>, Model> {
        let (prior, plan) = (&req.prior, &req.planned);
        let account = &api.account_id;
        if prior.policy_differs(plan) {
            let current = api
                .client
                .get_policy_uncached(account, id)
                .await
                .failed_to(|| format!("read policy {id} before updating it"))?;
            api.client
                .update_policy(account, id, &plan.policy_body(Some(&current)))
                .await
                .failed_to(|| format!("update policy {id}"))?;
            tracing::info!(tf_resource_type = TYPE_NAME, policy_id = %id, "policy updated");
        }
        let mut state = Model {
            name: plan.name.clone(),
            linked_app_uids: plan.linked_app_uids.clone(),
            decision: Field::Known(NON_IDENTITY.to_string()),
            session_duration: plan.session_duration.clone(),
            // Known in the plan: the configured value, or the prior one kept while the
            // targets stay. Unknown: the targets change and the configuration leaves
            // the position to the provider, so it is read from where the policy lands.
            precedence: plan.precedence.clone(),
            ..prior.clone()
        };
        let precedence_after_apply = plan.precedence.is_unknown();

        if let Some(wanted) = plan.targets() {
            let attached = match positions(api, id).await {
                Ok(p) => p,
                Err(d) => {
                    state.app_count = prior.app_count.clone();
                    state.precedence = prior.precedence.clone();
                    return Err(Failure::from(d).with_partial(state.settled(), None));
                }
            };
            // A configured position differing from the recorded one (a change, or a
            // move outside Terraform read as another value or as null) moves the
            // policy on every target where it is elsewhere; nothing else moves.
            let converge = Convergence {
                api,
                policy_id: id,
                wanted: &wanted,
                precedence: pinned,
                move_existing: pinned.is_some() && pinned != prior.precedence(),
                names: apps,
            };
            let (attached, attach_diags) = converge.run(ctx, attached).await;
            if precedence_after_apply || attach_diags.has_errors() {
                state.precedence = common_precedence(&attached, prior.precedence()).into();
            }
            if attach_diags.has_errors() {
                state.app_count = Field::Known(attached.len() as i64);
                state.set_targets(attached);
                return Err(Failure::from(attach_diags).with_partial(state.settled(), None));
            }
        } else if precedence_after_apply {
            // Not planned unknown without targets; keep what a refresh would.
            state.precedence = prior.precedence.clone();
        }
        state.target_app_ids = plan.target_app_ids.clone();
        state.app_count = match &plan.app_count {
            Field::Known(n) => Field::Known(*n),
            _ => {
                let fallback = plan.targets().map_or(0, |t| t.len());
                Field::Known(current_app_count(api, id, fallback).await)
            }
        };
        Ok(saved(state, pinned))
    }
}
