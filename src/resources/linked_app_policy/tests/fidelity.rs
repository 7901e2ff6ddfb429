//! Precedence as state and the private record, without the emulator.

use std::collections::BTreeMap;

use super::*;
use crate::cloudflare::AppId;
use crate::resources::linked_app_policy::fidelity::{
    Recorded, common_precedence, planned_precedence,
};
use crate::resources::linked_app_policy::state::sorted_set;
use crate::tfplugin::Field;
use crate::tfplugin::bridge::Set;

#[test]
fn common_precedence_needs_every_target_to_agree() {
    let at = |pairs: &[(&str, u32)]| -> BTreeMap<AppId, u32> {
        pairs
            .iter()
            .map(|(a, p)| (AppId::new_unchecked(*a), *p))
            .collect()
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
    let prior = Model {
        id: "me".into(),
        target_app_ids: sorted_set(["t1"]),
        precedence: Field::Known(2),
        ..Default::default()
    };
    let plan = |configured: Field<u32>, targets: Field<Set<String>>, prior: Option<&Model>| {
        let config = Model {
            precedence: configured,
            target_app_ids: targets.clone(),
            ..Default::default()
        };
        let planned = Model {
            target_app_ids: targets,
            precedence: Field::Unknown,
            ..prior.cloned().unwrap_or_default()
        };
        planned_precedence(prior, &config, &planned).unwrap_or(planned.precedence)
    };
    let t1 = sorted_set(["t1"]);
    assert_eq!(plan(Field::Null, t1.clone(), Some(&prior)), Field::Known(2));
    assert_eq!(
        plan(Field::Null, sorted_set(["t1", "t2"]), Some(&prior)),
        Field::Unknown,
        "a new target may land elsewhere"
    );
    // A set with an unknown element reads as unknown.
    assert_eq!(
        plan(Field::Null, Field::Unknown, Some(&prior)),
        Field::Unknown
    );
    assert_eq!(
        plan(Field::Null, Field::Null, Some(&prior)),
        Field::Known(2)
    );
    assert_eq!(
        plan(Field::Null, t1.clone(), None),
        Field::Unknown,
        "create: where it lands"
    );
    assert_eq!(
        plan(Field::Null, Field::Null, None),
        Field::Null,
        "create without targets: never attached"
    );
    // Set or unknown in the configuration: left as Terraform proposed it.
    assert_eq!(
        plan(Field::Known(4), t1.clone(), Some(&prior)),
        Field::Unknown
    );
    assert_eq!(
        planned_precedence(
            Some(&prior),
            &Model {
                precedence: Field::Unknown,
                ..Default::default()
            },
            &prior
        ),
        None
    );
}

#[test]
fn recorded_private_state_round_trips() {
    let model = Model {
        target_app_ids: sorted_set(["t"]),
        precedence: Field::Known(3),
        linked_app_uids: sorted_set(["l"]),
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
