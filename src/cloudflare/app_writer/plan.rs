//! The pure part of the writer: what a batch of attach/detach/move requests does to
//! one fresh read of an application's `policies`, checked before anything is sent.

use std::collections::HashSet;

use serde_json::Value;

use crate::cloudflare::error::ApiError;
use crate::cloudflare::ids::PolicyId;
use crate::cloudflare::models::app::{App, PolicyLink};

/// One change to an application's attachments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LinkChange {
    /// Attach `policy_id` at `precedence` (`None`: one more than the highest in use,
    /// or nothing when it is attached already); moves it when attached elsewhere.
    Attach {
        policy_id: PolicyId,
        precedence: Option<u32>,
    },
    /// Detach `policy_id` (nothing when it is not attached).
    Detach { policy_id: PolicyId },
}

impl LinkChange {
    pub(crate) fn policy_id(&self) -> &str {
        match self {
            LinkChange::Attach { policy_id, .. } | LinkChange::Detach { policy_id } => policy_id,
        }
    }

    /// Applies the change to `links`; `Ok(true)` when they changed.
    fn apply(&self, app_id: &str, links: &mut Vec<PolicyLink>) -> Result<bool, ApiError> {
        let invalid = |message: String| ApiError::InvalidAttachments {
            app_id: app_id.to_owned(),
            message,
        };
        if self.policy_id().is_empty() {
            return Err(invalid("a policy id is empty".into()));
        }
        match self {
            LinkChange::Detach { policy_id } => {
                let before = links.len();
                links.retain(|l| &l.id != policy_id);
                Ok(links.len() != before)
            }
            LinkChange::Attach {
                policy_id,
                precedence,
            } => {
                let current = links.iter().position(|l| &l.id == policy_id);
                let wanted = match (*precedence, current) {
                    (Some(0), _) => {
                        return Err(invalid(format!(
                            "policy {policy_id} has precedence 0; precedences start at 1"
                        )));
                    }
                    (None, Some(_)) => return Ok(false),
                    (Some(p), Some(index)) if links[index].precedence == p => return Ok(false),
                    (Some(p), _) => p,
                    (None, None) => next_precedence(links),
                };
                if let Some(holder) = PolicyLink::holder_of(links, wanted, Some(policy_id)) {
                    return Err(ApiError::PrecedenceConflict {
                        app_id: app_id.to_owned(),
                        precedence: wanted,
                        holder: holder.id.to_string(),
                    });
                }
                match current {
                    Some(index) => links[index].precedence = wanted,
                    None => links.push(PolicyLink {
                        id: policy_id.clone(),
                        precedence: wanted,
                    }),
                }
                Ok(true)
            }
        }
    }

    /// True when `app` shows this change in effect.
    pub(crate) fn visible_in(&self, links: &[PolicyLink]) -> bool {
        let found = links.iter().find(|l| l.id == self.policy_id());
        match self {
            LinkChange::Detach { .. } => found.is_none(),
            LinkChange::Attach {
                precedence: None, ..
            } => found.is_some(),
            LinkChange::Attach {
                precedence: Some(p),
                ..
            } => found.is_some_and(|l| l.precedence == *p),
        }
    }
}

/// One more than the highest precedence in `links` (1 when empty).
fn next_precedence(links: &[PolicyLink]) -> u32 {
    links
        .iter()
        .map(|l| l.precedence)
        .max()
        .unwrap_or(0)
        .saturating_add(1)
}

/// The changes of a batch applied, in queue order, to one fresh read.
#[derive(Debug)]
pub(crate) struct BatchPlan {
    /// The list to send (sorted by precedence).
    pub links: Vec<PolicyLink>,
    /// Per change: `None` when it applies (or is already in effect), else why not.
    pub refused: Vec<Option<ApiError>>,
    /// Indexes of the changes that changed the list when applied.
    pub changers: Vec<usize>,
    /// Whether the list differs from the one read.
    pub changed: bool,
}

/// Applies `changes` to `read` in order. A change that cannot apply is refused alone
/// and leaves the list as it was; entries no change names are never touched.
pub(crate) fn plan_batch(app_id: &str, read: &[PolicyLink], changes: &[LinkChange]) -> BatchPlan {
    let mut links = read.to_vec();
    let mut refused = Vec::with_capacity(changes.len());
    let mut changers = Vec::new();
    for (index, change) in changes.iter().enumerate() {
        let mut attempt = links.clone();
        match change.apply(app_id, &mut attempt) {
            Ok(true) => {
                links = attempt;
                changers.push(index);
                refused.push(None);
            }
            Ok(false) => refused.push(None),
            Err(e) => refused.push(Some(e)),
        }
    }
    let links = normalised(&links);
    let changed = links != normalised(read);
    BatchPlan {
        links,
        refused,
        changers,
        changed,
    }
}

/// Sorted by precedence, then id.
pub(crate) fn normalised(links: &[PolicyLink]) -> Vec<PolicyLink> {
    let mut sorted = links.to_vec();
    sorted.sort_by(|a, b| {
        a.precedence
            .cmp(&b.precedence)
            .then_with(|| a.id.cmp(&b.id))
    });
    sorted
}

/// Checks a list before it is sent: the API rejects duplicates and precedence < 1,
/// and an empty id would detach something by accident.
pub(crate) fn validate(app_id: &str, links: &[PolicyLink]) -> Result<(), ApiError> {
    let invalid = |message: String| ApiError::InvalidAttachments {
        app_id: app_id.to_owned(),
        message,
    };
    let mut ids = HashSet::new();
    for (index, link) in links.iter().enumerate() {
        if link.id.is_empty() {
            return Err(invalid("a policy id is empty".into()));
        }
        if link.precedence == 0 {
            return Err(invalid(format!(
                "policy {} has precedence 0; precedences start at 1",
                link.id
            )));
        }
        if !ids.insert(link.id.as_str()) {
            return Err(invalid(format!("policy {} is listed twice", link.id)));
        }
        // Against the entries before it, so the first of a pair is named first.
        if let Some(other) = PolicyLink::holder_of(&links[..index], link.precedence, None) {
            return Err(invalid(format!(
                "policies {} and {} both have precedence {}",
                other.id, link.id, link.precedence
            )));
        }
    }
    Ok(())
}

/// How closely an application read back matches the list we sent.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Holds {
    Exactly,
    /// Same policies in the same order, different precedence numbers (a server that
    /// compacts gaps); the resource will see the numbers on its next read.
    Renumbered,
    No,
}

pub(crate) fn holds(app: &App, wanted: &[PolicyLink]) -> Holds {
    let have = normalised(&app.policy_links());
    if have == wanted {
        return Holds::Exactly;
    }
    let have_ids: Vec<&str> = have.iter().map(|l| l.id.as_str()).collect();
    let wanted_ids: Vec<&str> = wanted.iter().map(|l| l.id.as_str()).collect();
    if have_ids == wanted_ids {
        Holds::Renumbered
    } else {
        Holds::No
    }
}

pub(crate) fn describe(links: &[PolicyLink]) -> String {
    let parts: Vec<String> = links
        .iter()
        .map(|l| format!("{}@{}", l.id, l.precedence))
        .collect();
    format!("[{}]", parts.join(", "))
}

/// `app`'s settable fields as read with `links` as its whole `policies` list.
pub(crate) fn body_with_links(app: &App, links: &[PolicyLink]) -> Value {
    let mut body = app.to_update_body();
    if let Value::Object(map) = &mut body {
        let links_json = serde_json::to_value(links).unwrap_or(Value::Array(Vec::new()));
        map.insert("policies".into(), links_json);
    }
    body
}

pub(crate) fn describe_change(change: &LinkChange) -> String {
    match change {
        LinkChange::Attach {
            policy_id,
            precedence: Some(p),
        } => format!("attaching policy {policy_id} at precedence {p}"),
        LinkChange::Attach {
            policy_id,
            precedence: None,
        } => format!("attaching policy {policy_id}"),
        LinkChange::Detach { policy_id } => format!("detaching policy {policy_id}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(id: &str, precedence: u32) -> PolicyLink {
        PolicyLink {
            id: PolicyId::new_unchecked(id),
            precedence,
        }
    }

    fn attach(id: &str, precedence: Option<u32>) -> LinkChange {
        LinkChange::Attach {
            policy_id: PolicyId::new_unchecked(id),
            precedence,
        }
    }

    fn detach(id: &str) -> LinkChange {
        LinkChange::Detach {
            policy_id: PolicyId::new_unchecked(id),
        }
    }

    #[test]
    fn validation_rejects_what_the_api_would() {
        assert!(validate("a", &[link("x", 1), link("y", 2)]).is_ok());
        assert!(validate("a", &[link("x", 0)]).is_err());
        assert!(validate("a", &[link("x", 1), link("x", 2)]).is_err());
        assert!(validate("a", &[link("x", 1), link("y", 1)]).is_err());
        assert!(validate("a", &[link("", 1)]).is_err());
    }

    #[test]
    fn verification_levels() {
        let app: App = serde_json::from_value(serde_json::json!({
            "id": "a", "type": "self_hosted",
            "policies": [{"id": "x", "precedence": 1}, {"id": "y", "precedence": 2}]
        }))
        .unwrap();
        assert_eq!(
            holds(&app, &normalised(&[link("y", 2), link("x", 1)])),
            Holds::Exactly
        );
        assert_eq!(
            holds(&app, &normalised(&[link("x", 1), link("y", 5)])),
            Holds::Renumbered
        );
        assert_eq!(holds(&app, &normalised(&[link("x", 1)])), Holds::No);
        assert_eq!(
            holds(&app, &normalised(&[link("y", 1), link("x", 2)])),
            Holds::No
        );
    }

    #[test]
    fn a_batch_applies_every_change_to_one_read_and_keeps_foreign_entries() {
        let read = [link("foreign-a", 1), link("foreign-b", 5), link("mine", 3)];
        let plan = plan_batch(
            "app",
            &read,
            &[
                attach("p1", Some(2)),
                attach("p2", None),
                attach("p3", None),
                detach("mine"),
            ],
        );
        assert!(plan.refused.iter().all(Option::is_none));
        assert!(plan.changed);
        assert_eq!(plan.changers, [0, 1, 2, 3]);
        assert_eq!(
            plan.links,
            [
                link("foreign-a", 1),
                link("p1", 2),
                link("foreign-b", 5),
                link("p2", 6),
                link("p3", 7),
            ]
        );
    }

    #[test]
    fn a_clashing_request_fails_alone_and_changes_nothing() {
        let read = [link("foreign", 2)];
        let plan = plan_batch(
            "app",
            &read,
            &[
                attach("a", Some(1)),
                attach("b", Some(2)),
                attach("c", Some(1)),
                attach("d", Some(0)),
                attach("", None),
                attach("e", Some(3)),
            ],
        );
        assert!(plan.refused[0].is_none());
        match &plan.refused[1] {
            Some(ApiError::PrecedenceConflict {
                precedence, holder, ..
            }) => assert_eq!((*precedence, holder.as_str()), (2, "foreign")),
            other => panic!("expected a clash with the foreign entry, got {other:?}"),
        }
        // Clashes with a request earlier in the same batch, which applied.
        match &plan.refused[2] {
            Some(ApiError::PrecedenceConflict { holder, .. }) => assert_eq!(holder, "a"),
            other => panic!("expected a clash with a, got {other:?}"),
        }
        assert!(matches!(
            plan.refused[3],
            Some(ApiError::InvalidAttachments { .. })
        ));
        assert!(matches!(
            plan.refused[4],
            Some(ApiError::InvalidAttachments { .. })
        ));
        assert!(plan.refused[5].is_none());
        assert_eq!(plan.changers, [0, 5]);
        assert_eq!(plan.links, [link("a", 1), link("foreign", 2), link("e", 3)]);
    }

    #[test]
    fn requests_already_in_effect_change_nothing() {
        let read = [link("x", 1), link("mine", 4)];
        let plan = plan_batch(
            "app",
            &read,
            &[
                attach("mine", Some(4)),
                attach("mine", None),
                detach("absent"),
            ],
        );
        assert!(!plan.changed);
        assert!(plan.changers.is_empty());
        assert!(plan.refused.iter().all(Option::is_none));
    }

    #[test]
    fn a_move_changes_only_the_moved_policy() {
        let read = [link("x", 1), link("mine", 4), link("y", 9)];
        let plan = plan_batch("app", &read, &[attach("mine", Some(2))]);
        assert_eq!(plan.links, [link("x", 1), link("mine", 2), link("y", 9)]);
        // Moving onto a held precedence is refused, never a swap.
        let plan = plan_batch("app", &read, &[attach("mine", Some(9))]);
        assert!(matches!(
            plan.refused[0],
            Some(ApiError::PrecedenceConflict { .. })
        ));
        assert!(!plan.changed);
    }

    #[test]
    fn changes_are_checked_on_the_list_read_back() {
        let have = [link("a", 1), link("b", 3)];
        assert!(attach("a", None).visible_in(&have));
        assert!(attach("b", Some(3)).visible_in(&have));
        assert!(!attach("b", Some(2)).visible_in(&have));
        assert!(!attach("c", None).visible_in(&have));
        assert!(detach("c").visible_in(&have));
        assert!(!detach("a").visible_in(&have));
    }
}
