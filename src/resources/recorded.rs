//! What Terraform last recorded for a resource (kept in its private state, which a
//! refresh never changes) and how a failed plan-time check is reported with it.
//!
//! Terraform plans the whole configuration before every `terraform destroy`, with no
//! sign that a destroy follows. A check that fails on a value Terraform last recorded
//! failed because the world moved since (an object deleted or changed outside
//! Terraform), not because the configuration asks for something new: at plan time it is
//! a warning, so the destroy plans, and at apply an error, before any write.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::tfplugin::{AttributePath, Diagnostics};

/// How a failed check is reported; `R` is the resource's record.
pub(crate) enum Stage<'a, R> {
    /// Plan: a check that fails on a value in the record (`None`: no record) is a
    /// warning.
    Plan(Option<&'a R>),
    /// Apply, before the first write: every failed check is an error.
    Apply,
}

// Derived impls would require `R: Clone`; a reference is always copyable.
impl<R> Clone for Stage<'_, R> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<R> Copy for Stage<'_, R> {}

/// Diagnostics of a resource's checks before a write, errors or warnings by [`Stage`].
pub(crate) struct Findings<'a, R> {
    pub(crate) stage: Stage<'a, R>,
    pub(crate) diags: Diagnostics,
}

impl<'a, R> Findings<'a, R> {
    /// No finding yet.
    pub(crate) fn new(stage: Stage<'a, R>) -> Self {
        Findings {
            stage,
            diags: Diagnostics::new(),
        }
    }

    /// Reports a failed check; `recorded` says whether the value it failed on is one
    /// Terraform last recorded.
    pub(crate) fn push(
        &mut self,
        path: AttributePath,
        summary: &str,
        detail: String,
        recorded: bool,
    ) {
        match self.stage {
            Stage::Plan(_) if recorded => self.diags.attr_warning(
                path,
                format!("{summary} (changed outside Terraform)"),
                format!(
                    "{detail} This changed outside Terraform after it last recorded this \
                     resource: an apply of this configuration stops with this error before any \
                     change, and terraform destroy is not affected."
                ),
            ),
            _ => self.diags.attr_error(path, summary, detail),
        }
    }

    /// The record a plan is checked against; `None` at apply (or without one).
    pub(crate) fn recorded(&self) -> Option<&'a R> {
        match self.stage {
            Stage::Plan(recorded) => recorded,
            Stage::Apply => None,
        }
    }
}

/// Reads a record from private state; `None` when there is none (a state written
/// before records were kept) or it cannot be read.
pub(crate) fn load<R: DeserializeOwned>(private: &[u8]) -> Option<R> {
    if private.is_empty() {
        return None;
    }
    serde_json::from_slice(private).ok()
}

/// A record as private state.
pub(crate) fn store<R: Serialize>(record: &R) -> Vec<u8> {
    // Records are plain data (strings, sets, numbers), which always serialise.
    serde_json::to_vec(record).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Rec {
        ids: Vec<String>,
    }

    #[test]
    fn a_recorded_value_warns_at_plan_and_fails_at_apply() {
        let rec = Rec {
            ids: vec!["p".into()],
        };
        let path = || AttributePath::root("x");
        let mut plan = Findings::new(Stage::Plan(Some(&rec)));
        assert_eq!(plan.recorded(), Some(&rec));
        plan.push(path(), "Gone", "It is gone.".into(), true);
        assert!(!plan.diags.has_errors(), "recorded: a warning at plan");
        assert_eq!(plan.diags.0.len(), 1);
        assert!(
            plan.diags.0[0]
                .summary
                .contains("changed outside Terraform")
        );
        assert!(
            plan.diags.0[0]
                .detail
                .contains("terraform destroy is not affected")
        );
        plan.push(path(), "New", "Asked anew.".into(), false);
        assert!(plan.diags.has_errors(), "not recorded: an error at plan");

        let mut apply = Findings::<Rec>::new(Stage::Apply);
        assert_eq!(apply.recorded(), None);
        apply.push(path(), "Gone", "It is gone.".into(), true);
        assert!(
            apply.diags.has_errors(),
            "every failure is an error at apply"
        );
    }

    #[test]
    fn records_round_trip_through_private_state() {
        let rec = Rec {
            ids: vec!["a".into(), "b".into()],
        };
        assert_eq!(load::<Rec>(&store(&rec)), Some(rec));
        assert_eq!(load::<Rec>(&[]), None);
        assert_eq!(load::<Rec>(b"not json"), None);
    }
}
