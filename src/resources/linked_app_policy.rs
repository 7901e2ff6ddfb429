//! `cfaccess_linked_app_policy`: a reusable Access policy (decision `non_identity`,
//! one `linked_app_token` include rule per MCP server app) and its attachments to
//! self-hosted downstream applications.
//!
//! Attachments are edited only through the client's per-application read-modify-write,
//! so other policies on a target keep their ids, order and precedence exactly.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;

use crate::cloudflare::{ApiError, App, Client, Decision, Policy, PolicyBody, Rule};
use crate::errors;
use crate::provider::{Api, ProviderData, is_account_id};
use crate::tfplugin::validate::{is_uuid, parse_go_duration};
use crate::tfplugin::{
    ApplyResult, Attribute, AttributePath, Context, Diagnostics, ImportResult, PlanModifier,
    PlanRequest, ReadResult, Resource, Schema, Validator, Value,
};

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
    pub const ACCOUNT_ID: &str = "account_id";
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
    pub const PRECEDENCE: &str = "Position of this policy in each target application's policy list (1 = evaluated first); it must be free on every target. Omitted: the policy is placed after the existing policies of each target when it is attached. Applied when attaching and when changed; not checked for drift.";
    pub const DECISION: &str = "Policy action. Only `\"non_identity\"` (Service Auth) is accepted: Linked App Token rules work only with it. Defaults to `\"non_identity\"`.";
    pub const SESSION_DURATION: &str = "How long a session authorised by this policy lasts, as a duration such as `\"30m\"` or `\"24h\"`. Omitted: nothing is sent and no default is invented, so the application's session duration applies.";
    pub const ACCOUNT_ID: &str = "Cloudflare account ID (32 hexadecimal characters). Defaults to the provider's `account_id`. Changing it forces replacement.";
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
                .optional()
                .description(d::PRECEDENCE)
                .validator(Validator::AtLeast(1))
                .validator(Validator::Custom(validate_precedence_integer)),
            Attribute::string(attr::DECISION)
                .optional_computed()
                .description(d::DECISION)
                .validator(Validator::Custom(validate_decision)),
            Attribute::string(attr::SESSION_DURATION)
                .optional()
                .description(d::SESSION_DURATION)
                .validator(Validator::Duration {
                    min_secs: 0,
                    max_secs: MAX_SESSION_SECS,
                }),
            Attribute::string(attr::ACCOUNT_ID)
                .optional_computed()
                .description(d::ACCOUNT_ID)
                .plan_modifier(PlanModifier::UseStateForUnknown)
                .plan_modifier(PlanModifier::RequiresReplace)
                .validator(Validator::Custom(validate_account_id)),
            Attribute::number(attr::APP_COUNT)
                .computed()
                .description(d::APP_COUNT),
        ],
    )
}

fn validate_decision(v: &Value, path: &AttributePath, diags: &mut Diagnostics) {
    if let Some(s) = v.as_str()
        && s != NON_IDENTITY
    {
        diags.attr_error(
            path.clone(),
            "Unsupported decision for a Linked App Token policy",
            format!(
                "Attribute {path} must be \"non_identity\"; got {s:?}. Linked App Token rules work only \
                 with Service Auth (decision \"non_identity\"): with any other decision Cloudflare Access \
                 never accepts the forwarded token. Omit {path} or set it to \"non_identity\"."
            ),
        );
    }
}

fn validate_precedence_integer(v: &Value, path: &AttributePath, diags: &mut Diagnostics) {
    if let Value::Number(n) = v
        && n.as_i64().is_none_or(|i| u32::try_from(i).is_err())
        && n.as_f64().is_some_and(|f| f >= 1.0)
    {
        diags.attr_error(
            path.clone(),
            "Invalid precedence",
            format!(
                "Attribute {path} must be a whole number between 1 and {}; got {n}.",
                u32::MAX
            ),
        );
    }
}

fn validate_account_id(v: &Value, path: &AttributePath, diags: &mut Diagnostics) {
    if let Some(s) = v.as_str()
        && !is_account_id(s)
    {
        diags.attr_error(
            path.clone(),
            "Invalid account ID",
            format!(
                "Attribute {path} must be a Cloudflare account ID: 32 hexadecimal characters, as shown \
                 in the dashboard URL; got {s:?}."
            ),
        );
    }
}

/// The resource.
pub struct LinkedAppPolicyResource {
    data: Arc<ProviderData>,
}

impl LinkedAppPolicyResource {
    /// A resource served through `data`.
    pub fn new(data: Arc<ProviderData>) -> Self {
        LinkedAppPolicyResource { data }
    }
}

#[async_trait]
impl Resource for LinkedAppPolicyResource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    // Interim: behaviour lands in the next commit; until then every write fails loudly.
    async fn create(
        &self,
        _ctx: &Context,
        _config: &Value,
        _planned: &Value,
        _private: &[u8],
    ) -> ApplyResult {
        let mut diagnostics = Diagnostics::new();
        diagnostics.error("cfaccess_linked_app_policy: not implemented yet", "");
        ApplyResult {
            diagnostics,
            ..Default::default()
        }
    }

    async fn read(&self, _ctx: &Context, current: &Value, _private: &[u8]) -> ReadResult {
        ReadResult {
            new_state: Some(current.clone()),
            ..Default::default()
        }
    }

    async fn update(
        &self,
        _ctx: &Context,
        prior: &Value,
        _config: &Value,
        _planned: &Value,
        _private: &[u8],
    ) -> ApplyResult {
        let mut diagnostics = Diagnostics::new();
        diagnostics.error("cfaccess_linked_app_policy: not implemented yet", "");
        ApplyResult {
            new_state: Some(prior.clone()),
            diagnostics,
            ..Default::default()
        }
    }

    async fn delete(&self, _ctx: &Context, _prior: &Value, _private: &[u8]) -> Diagnostics {
        let mut diagnostics = Diagnostics::new();
        diagnostics.error("cfaccess_linked_app_policy: not implemented yet", "");
        diagnostics
    }

    async fn import(&self, _ctx: &Context, _id: &str) -> ImportResult {
        let mut diagnostics = Diagnostics::new();
        diagnostics.error("cfaccess_linked_app_policy: not implemented yet", "");
        ImportResult {
            diagnostics,
            ..Default::default()
        }
    }
}

#[allow(dead_code)]
fn _uses(
    _: (
        &Api,
        &Client,
        &App,
        &Policy,
        &PolicyBody,
        &Rule,
        &Decision,
        &ApiError,
        &BTreeSet<String>,
    ),
) {
    let _ = (
        is_uuid,
        parse_go_duration,
        errors::api_error,
        API_DEFAULT_SESSION_DURATION_SECS,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_is_consistent() {
        assert_eq!(schema().internal_problems(), Vec::<String>::new());
    }
}
