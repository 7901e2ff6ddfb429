//! `cfaccess_linked_app_policy`: a reusable Access policy (decision `non_identity`,
//! one `linked_app_token` include rule per MCP server app) and its attachments to
//! self-hosted downstream applications.
//!
//! Attachments are edited only through the client's per-application read-modify-write,
//! so other policies on a target keep their ids, order and precedence exactly.
//!
//! Here: the schema (as data) and the model. Beside it: `crud` (the handlers),
//! `plan` (plan modification), `checks` (what is checked against the API before any
//! write), `attachments` (converging the policy's attachments across targets),
//! `state` (the state built from what the API returns), `policy` (the policy object
//! itself), `validate` and `fidelity` (precedence as state, and the private record).

mod attachments;
mod checks;
mod crud;
mod fidelity;
mod plan;
mod policy;
mod state;
mod validate;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use crate::api::{Api, ProviderData};
use crate::common::account::replacing_account_id_attribute;
use crate::tfplugin::bridge::Set;
use crate::tfplugin::{Attribute, Diagnostics, Field, PlanModifier, Schema, Validator, Value};

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
    pub const ACCOUNT_ID: &str = crate::common::account::ATTRIBUTE;
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
    pub use crate::common::account::RESOURCE_DESCRIPTION as ACCOUNT_ID;
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
                .validator(Validator::Custom(validate::precedence_integer)),
            Attribute::string(attr::DECISION)
                .optional_computed()
                .description(d::DECISION)
                .validator(Validator::Custom(validate::decision)),
            Attribute::string(attr::SESSION_DURATION)
                .optional()
                .description(d::SESSION_DURATION)
                .validator(Validator::Duration {
                    min_secs: 0,
                    max_secs: MAX_SESSION_SECS,
                }),
            replacing_account_id_attribute(),
            Attribute::number(attr::APP_COUNT)
                .computed()
                .description(d::APP_COUNT),
        ],
    )
}

crate::tf_object! {
    /// The resource's configuration, plan and state. In a state every attribute is
    /// known (see [`Model::settled`]).
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct Model {
        id: Field<String> = attr::ID,
        name: Field<String> = attr::NAME,
        /// Linked app UUIDs; in state, descriptive entries for foreign rules (see
        /// [`policy::foreign_rule_entry`]).
        linked_app_uids: Field<Set<String>> = attr::LINKED_APP_UIDS,
        /// Null: attachments not managed.
        target_app_ids: Field<Set<String>> = attr::TARGET_APP_IDS,
        precedence: Field<u32> = attr::PRECEDENCE,
        decision: Field<String> = attr::DECISION,
        session_duration: Field<String> = attr::SESSION_DURATION,
        account_id: Field<String> = attr::ACCOUNT_ID,
        app_count: Field<i64> = attr::APP_COUNT,
    }
}

/// The `cfaccess_linked_app_policy` resource.
pub struct LinkedAppPolicyResource {
    data: Arc<ProviderData>,
}

impl LinkedAppPolicyResource {
    /// A resource served through `data`.
    pub fn new(data: Arc<ProviderData>) -> Self {
        LinkedAppPolicyResource { data }
    }

    /// The client and account for `model` (its `account_id`, else the provider's:
    /// unknown at plan time means the provider default).
    fn api(&self, model: &Model) -> Result<Api, Diagnostics> {
        self.data.api(&Value::opt_string(model.account_id.as_str()))
    }
}
