//! Plan modification: the values this resource plans itself (`decision`, `app_count`,
//! `precedence`, the default account), then the checks against the API that an apply
//! would fail on, before anything is written.

use super::checks::{PlannedSets, WritePlan, check_before_write};
use super::fidelity::{Recorded, Stage, configured_precedence, plan_precedence, same_targets};
use super::{LinkedAppPolicyResource, Model, NON_IDENTITY};
use crate::tfplugin::{Diagnostics, Field, Plan};

impl LinkedAppPolicyResource {
    /// [`crate::tfplugin::TypedResource::modify_plan`] of this resource.
    pub(super) async fn plan(&self, plan: &mut Plan<Model>, diags: &mut Diagnostics) {
        // Owned fixed value: planning it (instead of Terraform's sticky prior) makes a
        // decision changed in the dashboard show as drift.
        if plan.config.decision.is_null() {
            plan.planned.decision = Field::Known(NON_IDENTITY.to_string());
        }
        // app_count moves only when attachments move (#5608).
        if let Some(prior) = &plan.prior {
            plan.planned.app_count = if same_targets(&plan.planned, Some(prior)) {
                prior.app_count.clone()
            } else {
                Field::Unknown
            };
        }
        plan_precedence(plan);
        if !self.data.is_ready() {
            return;
        }
        self.data
            .plan_default_account(plan.is_create(), &mut plan.planned.account_id);
        if plan.planned.account_id.is_unknown() {
            return;
        }
        let api = match self.api(&plan.planned) {
            Ok(api) => api,
            Err(d) => return diags.extend(d),
        };
        let sets = PlannedSets::of_plan(plan);
        let write = WritePlan::between(
            plan.prior.as_ref(),
            &sets,
            configured_precedence(&plan.config),
        );
        let recorded = Recorded::from_private(&plan.private);
        let (checks, _) =
            check_before_write(&api, &write, &sets, Stage::Plan(recorded.as_ref())).await;
        diags.extend(checks);
    }
}
