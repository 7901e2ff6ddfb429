//! The state this resource saves: the ids a state holds, read once, and the states
//! built from what the API returns (a refresh, an import).

use std::collections::BTreeSet;

use super::fidelity::{Positions, common_precedence};
use super::policy::{linked_uids_of, session_from_api};
use super::{Model, NON_IDENTITY};
use crate::cloudflare::{AccountId, AppId, Policy, PolicyId};
use crate::tfplugin::Field;
use crate::tfplugin::bridge::Set;

/// A set attribute holding `items`, sorted.
pub(super) fn sorted_set<S: Into<String>>(
    items: impl IntoIterator<Item = S>,
) -> Field<Set<String>> {
    let sorted: BTreeSet<String> = items.into_iter().map(Into::into).collect();
    Field::Known(sorted.into_iter().collect())
}

/// Re-sorts a set attribute (null and unknown stay).
fn resorted(set: Field<Set<String>>) -> Field<Set<String>> {
    match set {
        Field::Known(items) => sorted_set(items.0),
        other => other,
    }
}

/// Null for what is not known (only null or known values are saved).
fn known_or_null<T>(field: Field<T>) -> Field<T> {
    match field {
        Field::Unknown => Field::Null,
        other => other,
    }
}

impl Model {
    /// This model as a state: sets sorted, and anything still unknown (a computed
    /// value no step of this apply decided) null.
    pub(super) fn settled(self) -> Model {
        Model {
            id: known_or_null(self.id),
            name: known_or_null(self.name),
            linked_app_uids: known_or_null(resorted(self.linked_app_uids)),
            target_app_ids: known_or_null(resorted(self.target_app_ids)),
            precedence: known_or_null(self.precedence),
            decision: known_or_null(self.decision),
            session_duration: known_or_null(self.session_duration),
            account_id: known_or_null(self.account_id),
            app_count: known_or_null(self.app_count),
        }
    }

    /// The policy's id; `None` before it exists.
    pub(super) fn policy_id(&self) -> Option<PolicyId> {
        self.id.as_str().map(PolicyId::new_unchecked)
    }

    /// The known `target_app_ids`; `None` when attachments are not managed.
    pub(super) fn targets(&self) -> Option<BTreeSet<AppId>> {
        self.target_app_ids.known().map(|t| {
            t.iter()
                .map(|id| AppId::new_unchecked(id.as_str()))
                .collect()
        })
    }

    /// The known `precedence`, if any.
    pub(super) fn precedence(&self) -> Option<u32> {
        self.precedence.known().copied()
    }

    /// Records the attachments `positions` as the targets.
    pub(super) fn set_targets(&mut self, positions: Positions) {
        self.target_app_ids = sorted_set(positions.into_keys());
    }
}

/// The state of a policy just created from `plan` whose answer could not be read:
/// its id, attached nowhere yet.
pub(super) fn unread_creation(plan: &Model, id: &str, account: &AccountId) -> Model {
    Model {
        id: Field::Known(id.to_owned()),
        account_id: Field::Known(account.to_string()),
        decision: Field::Known(NON_IDENTITY.to_string()),
        app_count: Field::Known(0),
        target_app_ids: plan.target_app_ids.clone().map(|_| Set::default()),
        ..plan.clone()
    }
    .settled()
}

/// `prior` refreshed from `policy` and the applications holding it.
pub(super) fn refreshed(
    prior: &Model,
    policy: &Policy,
    positions: Positions,
    account: &AccountId,
) -> Model {
    let mut state = prior.clone();
    state.account_id = Field::Known(account.to_string());
    state.name = Field::Known(policy.name.clone());
    state.decision = Field::Known(policy.decision.as_str().to_string());
    state.linked_app_uids = sorted_set(linked_uids_of(policy));
    state.session_duration = session_from_api(
        prior.session_duration.as_str(),
        policy.session_duration.as_deref(),
    )
    .into();
    let count = positions.len() as i64;
    if !prior.target_app_ids.is_null() {
        state.precedence = common_precedence(&positions, prior.precedence()).into();
        state.set_targets(positions);
    }
    state.app_count = Field::Known(app_count(policy).unwrap_or(count));
    state.settled()
}

/// The state an import of `policy`, attached at `positions`, records: what a create
/// of the same configuration would.
pub(super) fn imported(policy: &Policy, positions: Positions, account: &AccountId) -> Model {
    Model {
        id: Field::Known(policy.id.to_string()),
        name: Field::Known(policy.name.clone()),
        linked_app_uids: sorted_set(linked_uids_of(policy)),
        // As a read does: the position shared by every attachment, else null.
        precedence: common_precedence(&positions, None).into(),
        decision: Field::Known(policy.decision.as_str().to_string()),
        session_duration: policy.session_duration.clone().into(),
        account_id: Field::Known(account.to_string()),
        app_count: Field::Known(app_count(policy).unwrap_or(positions.len() as i64)),
        // Attached nowhere → null, as a create without target_app_ids records.
        target_app_ids: if positions.is_empty() {
            Field::Null
        } else {
            sorted_set(positions.into_keys())
        },
    }
}

/// The API's count of applications using `policy`, when it reports one.
pub(super) fn app_count(policy: &Policy) -> Option<i64> {
    policy.app_count.and_then(|n| i64::try_from(n).ok())
}
