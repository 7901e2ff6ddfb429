//! Plan fidelity of `cfaccess_linked_app_policy`: `precedence` as state (read back
//! from where the policy sits, planned when the configuration leaves it to the
//! provider) and the private record of what Terraform last saved, which tells a
//! check failing on drift (a warning at plan time, so a destroy always plans) from one
//! failing on new configuration (an error).

use std::collections::{BTreeMap, BTreeSet};

use super::{Model, attr};
use crate::resources::recorded;
use crate::tfplugin::{PlanRequest, Value};

/// How a failed check of this resource is reported (see [`recorded::Stage`]).
pub(super) type Stage<'a> = recorded::Stage<'a, Recorded>;
/// Diagnostics of this resource's checks before a write (see [`recorded::Findings`]).
pub(super) type Findings<'a> = recorded::Findings<'a, Recorded>;

impl Findings<'_> {
    /// Whether `id` is a target Terraform last recorded.
    pub(super) fn recorded_target(&self, id: &str) -> bool {
        self.recorded().is_some_and(|r| r.targets.contains(id))
    }
}

/// The precedence to record from the positions the policy holds (application id →
/// precedence): the common one when every application agrees, `None` when they
/// differ. No position at all says nothing, so `kept` (the prior value) stays.
pub(super) fn common_precedence(
    positions: &BTreeMap<String, u32>,
    kept: Option<u32>,
) -> Option<u32> {
    let mut values = positions.values();
    let Some(first) = values.next() else {
        return kept;
    };
    values.all(|p| p == first).then_some(*first)
}

/// A known configured precedence; `None` when the configuration omits it or it is
/// not known yet.
pub(super) fn configured_precedence(config: &Value) -> Option<u32> {
    config
        .get(attr::PRECEDENCE)
        .and_then(Value::as_i64)
        .and_then(|p| u32::try_from(p).ok())
        .filter(|p| *p >= 1)
}

/// Plans `precedence` when the configuration leaves it null (Optional + Computed):
/// the provider chose the position, so a move is not drift and the prior value stays
/// as long as the targets stay; targets that change may move it, so it is then known
/// only after apply. Never a value the next refresh would contradict.
pub(super) fn plan_precedence(req: &mut PlanRequest) {
    if req
        .config
        .get(attr::PRECEDENCE)
        .is_none_or(|v| !v.is_null())
    {
        // Set (Terraform plans the configured value) or unknown: nothing to choose.
        return;
    }
    let planned_targets = req
        .planned
        .get(attr::TARGET_APP_IDS)
        .cloned()
        .unwrap_or(Value::Null);
    let prior = if req.is_create() {
        Value::Null
    } else {
        req.prior
            .get(attr::PRECEDENCE)
            .cloned()
            .unwrap_or(Value::Null)
    };
    let no_targets =
        planned_targets.is_null() || planned_targets.elements().is_some_and(<[Value]>::is_empty);
    let same_targets = !req.is_create()
        && planned_targets.is_wholly_known()
        && planned_targets
            .semantically_equal(req.prior.get(attr::TARGET_APP_IDS).unwrap_or(&Value::Null));
    let value = if no_targets || same_targets {
        prior
    } else {
        Value::Unknown
    };
    req.planned.set(attr::PRECEDENCE, value);
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
            targets: state.target_app_ids.clone().unwrap_or_default(),
            precedence: pinned,
            linked: state.linked_app_uids.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_precedence_needs_every_target_to_agree() {
        let at = |pairs: &[(&str, u32)]| -> BTreeMap<String, u32> {
            pairs.iter().map(|(a, p)| (a.to_string(), *p)).collect()
        };
        assert_eq!(common_precedence(&at(&[("a", 2), ("b", 2)]), None), Some(2));
        assert_eq!(common_precedence(&at(&[("a", 2), ("b", 3)]), Some(2)), None);
        assert_eq!(
            common_precedence(&at(&[]), Some(7)),
            Some(7),
            "no attachment says nothing: the prior value stays"
        );
    }

    #[test]
    fn precedence_plan_keeps_the_prior_value_only_while_the_targets_stay() {
        let prior = Value::object([
            (attr::ID, Value::string("me")),
            (attr::TARGET_APP_IDS, Value::string_set(["t1"])),
            (attr::PRECEDENCE, Value::int(2)),
        ]);
        let req = |config_precedence: Value, targets: Value, prior: &Value| {
            let mut planned = if prior.is_null() {
                Value::object([(attr::ID, Value::Unknown)])
            } else {
                prior.clone()
            };
            planned.set(attr::TARGET_APP_IDS, targets.clone());
            planned.set(attr::PRECEDENCE, Value::Unknown);
            let mut r = PlanRequest {
                prior: prior.clone(),
                config: Value::object([
                    (attr::PRECEDENCE, config_precedence),
                    (attr::TARGET_APP_IDS, targets),
                ]),
                planned,
                requires_replace: vec![],
                private: vec![],
            };
            plan_precedence(&mut r);
            r.planned.get(attr::PRECEDENCE).cloned()
        };
        let t1 = Value::string_set(["t1"]);
        assert_eq!(req(Value::Null, t1.clone(), &prior), Some(Value::int(2)));
        assert_eq!(
            req(Value::Null, Value::string_set(["t1", "t2"]), &prior),
            Some(Value::Unknown),
            "a new target may land elsewhere"
        );
        assert_eq!(
            req(Value::Null, Value::Set(vec![Value::Unknown]), &prior),
            Some(Value::Unknown)
        );
        assert_eq!(req(Value::Null, Value::Null, &prior), Some(Value::int(2)));
        assert_eq!(
            req(Value::Null, t1.clone(), &Value::Null),
            Some(Value::Unknown),
            "create: where it lands"
        );
        assert_eq!(
            req(Value::Null, Value::Null, &Value::Null),
            Some(Value::Null),
            "create without targets: never attached"
        );
        // Set or unknown in the configuration: left as Terraform proposed it.
        assert_eq!(req(Value::int(4), t1.clone(), &prior), Some(Value::Unknown));
    }

    #[test]
    fn recorded_private_state_round_trips() {
        let model = Model {
            target_app_ids: Some(["t".to_string()].into()),
            precedence: Some(3),
            linked_app_uids: ["l".to_string()].into(),
            ..Default::default()
        };
        let recorded = Recorded::of(&model, Some(3));
        assert_eq!(
            Recorded::from_private(&recorded.to_private()),
            Some(recorded)
        );
        assert_eq!(Recorded::from_private(&[]), None);
        assert_eq!(Recorded::from_private(b"not json"), None);
    }
}
