//! The policy object itself: the request body this resource sends, and how a policy
//! the API returns reads back into `linked_app_uids` and `session_duration`.

use std::collections::BTreeSet;

use super::{API_DEFAULT_SESSION_DURATION_SECS, Model, NON_IDENTITY};
use crate::cloudflare::{Decision, Policy, PolicyBody, Rule};
use crate::common::duration::keep_equivalent_duration;
use crate::tfplugin::validate::parse_go_duration;

impl Model {
    /// The request body: our exact include list (one rule per uid, sorted), no
    /// exclude/require, `session_duration` only when set; unmanaged fields of
    /// `current` (approval settings, MFA, …) carried over.
    pub(super) fn policy_body(&self, current: Option<&Policy>) -> PolicyBody {
        let mut body = current.map(Policy::to_body).unwrap_or_default();
        body.name = self.name.as_str().unwrap_or_default().to_string();
        body.decision = Decision::NonIdentity;
        body.include = self.linked().iter().map(Rule::linked_app_token).collect();
        body.exclude = Vec::new();
        body.require = Vec::new();
        body.session_duration = self.session_duration.known().cloned();
        body
    }

    /// True when the policy object itself (not its attachments) must be rewritten
    /// to become `planned`.
    pub(super) fn policy_differs(&self, planned: &Model) -> bool {
        self.name != planned.name
            || self.linked() != planned.linked()
            || self.decision.as_str() != Some(NON_IDENTITY)
            || self.session_duration != planned.session_duration
    }

    /// The known `linked_app_uids`, sorted (none when null or unknown).
    pub(super) fn linked(&self) -> BTreeSet<String> {
        self.linked_app_uids
            .known()
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// How a rule other than `linked_app_token` (or any exclude/require rule) found in
/// the policy appears in `linked_app_uids`: never a UUID, so it can never equal a
/// configuration and the plan shows its removal.
pub(super) fn foreign_rule_entry(section: &str, rule: &Rule) -> String {
    format!("unmanaged {section} rule: {}", rule.to_value())
}

/// `linked_app_uids` as the policy holds them, foreign rules included.
pub(super) fn linked_uids_of(policy: &Policy) -> BTreeSet<String> {
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
pub(super) fn import_refusal(policy: &Policy) -> Option<String> {
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
pub(super) fn session_from_api(prior: Option<&str>, api: Option<&str>) -> Option<String> {
    match (prior, api) {
        (None, Some(a)) if parse_go_duration(a) == Some(API_DEFAULT_SESSION_DURATION_SECS) => None,
        _ => keep_equivalent_duration(api, prior),
    }
}
