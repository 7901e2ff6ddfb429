//! Plan fidelity of `cfaccess_linked_app_policy`: `precedence` as state (read back
//! from where the policy sits, planned when the configuration leaves it to the
//! provider) and the private record of what Terraform last saved, which tells a
//! check failing on drift (a warning at plan time, so a destroy always plans) from one
//! failing on new configuration (an error).

use std::collections::{BTreeMap, BTreeSet};

use super::Model;
use crate::cloudflare::AppId;
use crate::resources::recorded;
use crate::tfplugin::{Field, Plan};

/// How a failed check of this resource is reported (see [`recorded::Stage`]).
pub(super) type Stage<'a> = recorded::Stage<'a, Recorded>;
/// Diagnostics of this resource's checks before a write (see [`recorded::Findings`]).
pub(super) type Findings<'a> = recorded::Findings<'a, Recorded>;

/// Where the policy is attached: application → its precedence there.
pub(super) type Positions = BTreeMap<AppId, u32>;

impl Findings<'_> {
    /// Whether `id` is a target Terraform last recorded.
    pub(super) fn recorded_target(&self, id: &AppId) -> bool {
        self.recorded()
            .is_some_and(|r| r.targets.contains(id.as_str()))
    }
}

/// The precedence to record from the positions the policy holds: the common one
/// when every application agrees, `None` when they differ. No position at all says
/// nothing, so `kept` (the prior value) stays.
pub(super) fn common_precedence(positions: &Positions, kept: Option<u32>) -> Option<u32> {
    let mut values = positions.values();
    let Some(first) = values.next() else {
        return kept;
    };
    values.all(|p| p == first).then_some(*first)
}

/// A known configured precedence; `None` when the configuration omits it or it is
/// not known yet.
pub(super) fn configured_precedence(config: &Model) -> Option<u32> {
    config.precedence.known().copied().filter(|p| *p >= 1)
}

/// True when the planned targets are known and the prior state's (`None`: a create
/// has none to keep).
pub(super) fn same_targets(planned: &Model, prior: Option<&Model>) -> bool {
    let Some(prior) = prior else {
        return false;
    };
    match (&planned.target_app_ids, &prior.target_app_ids) {
        (Field::Known(a), Field::Known(b)) => a.same_members(b),
        (Field::Null, Field::Null) => true,
        _ => false,
    }
}

/// Plans `precedence` when the configuration leaves it null (Optional + Computed):
/// the provider chose the position, so a move is not drift and the prior value stays
/// as long as the targets stay; targets that change may move it, so it is then known
/// only after apply. Never a value the next refresh would contradict.
pub(super) fn plan_precedence(plan: &mut Plan<Model>) {
    if let Some(value) = planned_precedence(plan.prior.as_ref(), &plan.config, &plan.planned) {
        plan.planned.precedence = value;
    }
}

/// The precedence [`plan_precedence`] plans; `None` leaves Terraform's (the
/// configuration sets it, or it is unknown: nothing to choose).
pub(super) fn planned_precedence(
    prior: Option<&Model>,
    config: &Model,
    planned: &Model,
) -> Option<Field<u32>> {
    if !config.precedence.is_null() {
        return None;
    }
    let no_targets = match &planned.target_app_ids {
        Field::Null => true,
        Field::Known(targets) => targets.is_empty(),
        Field::Unknown => false,
    };
    Some(if no_targets || same_targets(planned, prior) {
        prior.map_or(Field::Null, |p| p.precedence.clone())
    } else {
        Field::Unknown
    })
}

/// The attachments and linked applications of the state Terraform last saved from a
/// create, update or import (kept in the resource's private state; a refresh never
/// changes it). A plan-time check that fails on one of these values failed because
/// the world moved since, not because the configuration asks for something new.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub(super) struct Recorded {
    #[serde(default)]
    pub(super) targets: BTreeSet<String>,
    /// The precedence the configuration pinned (never the provider's own choice).
    #[serde(default)]
    pub(super) precedence: Option<u32>,
    #[serde(default)]
    pub(super) linked: BTreeSet<String>,
}

impl Recorded {
    /// What `state` records, with `pinned` the configured precedence, if any.
    pub(super) fn of(state: &Model, pinned: Option<u32>) -> Recorded {
        Recorded {
            targets: state
                .target_app_ids
                .known()
                .map(|t| t.iter().cloned().collect())
                .unwrap_or_default(),
            precedence: pinned,
            linked: state.linked(),
        }
    }

    /// Reads private state; `None` when there is none (a state written before this
    /// was kept) or it cannot be read.
    pub(super) fn from_private(private: &[u8]) -> Option<Recorded> {
        recorded::load(private)
    }

    pub(super) fn to_private(&self) -> Vec<u8> {
        recorded::store(self)
    }
}
