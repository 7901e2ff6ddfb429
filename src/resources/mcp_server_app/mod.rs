//! `cfaccess_mcp_server_app`: the Access application that represents an MCP server,
//! self-hosted (Access forwards the user's JWT) or Access for SaaS with OIDC (the MCP
//! client does OAuth against Access), plus the user-facing policies attached to it.
//!
//! Design points (each beats a known bug of the official provider, see anchors §2):
//! - one normalisation path ([`state_from_app`]) for create, update, read and import,
//!   so an imported app has exactly the state a create produces (#6231);
//! - attachments are projected to ids ordered by precedence (#5811) and only the
//!   policies listed in `policy_ids` are managed: foreign attachments keep their id and
//!   precedence and never cause a diff (tf-migrate PR 310);
//! - updates are a PUT of the application as read with our fields overwritten, never
//!   carrying `policies`; attachments go through the client's read-modify-write;
//! - server defaults of fields left unset (session duration, token lifetime, `[]` for
//!   sets, `false` for booleans) are stored without a diff (#5495, #7238);
//! - fields of the other type are refused before any write (#5491).

mod attachments;
mod body;
mod crud;
mod plan;
mod state;
#[cfg(test)]
mod tests;
mod validate;

pub use attachments::reconcile_attachments;
pub use body::{create_body, to_send, update_body};
pub use crud::McpServerAppResource;
pub use plan::plan_fixed_values;
pub use state::{PolicyScope, Unsupported, check_supported, state_after_write, state_from_app};
pub use validate::{check_redirect_uri, validate_config};
use {state::*, validate::*};

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};

use super::import_id;
use super::recorded::{self, Findings, Stage};
use crate::api::{Api, ProviderData};
use crate::cloudflare::models::app::{AppBody, SaasAppBody};
use crate::cloudflare::{AccountId, ApiError, App, AppId, AppType, PolicyId, PolicyLink};
use crate::common::account::replacing_account_id_attribute;
use crate::common::duration::keep_equivalent_duration;
use crate::errors::{self, ApiResultExt};
use crate::tfplugin::bridge::{Sensitive, Set, TfValue};
use crate::tfplugin::validate::parse_go_duration;
use crate::tfplugin::{
    Attribute, AttributePath, Context, Create, Diagnostics, Failure, Field, Nesting, Outcome, Plan,
    PlanModifier, ReadMode, Saved, Schema, TypedResource, Update, Validator, Value,
};

/// Terraform type name.
pub const TYPE_NAME: &str = "cfaccess_mcp_server_app";

/// `type` of a self-hosted application (the default).
pub const SELF_HOSTED: &str = "self_hosted";
/// `type` of an Access for SaaS application (always OIDC here).
pub const SAAS: &str = "saas";

/// Longest application session Cloudflare offers (one month).
pub(super) const MAX_SESSION_SECS: u64 = 730 * 3600;

/// OAuth grant types Access for SaaS (OIDC) accepts.
pub const GRANT_TYPES: &[&str] = &[
    "authorization_code",
    "authorization_code_with_pkce",
    "refresh_tokens",
    "hybrid",
    "implicit",
];
/// OIDC scopes a user may request. `offline_access` is left out on purpose: the API
/// adds it by itself when refresh tokens are granted.
pub const SCOPES: &[&str] = &["openid", "groups", "email", "profile"];
/// Scope the API adds on its own; never part of the state.
pub(super) const SERVER_ADDED_SCOPE: &str = "offline_access";

/// Attribute names.
pub mod attr {
    pub const ID: &str = "id";
    pub const UID: &str = "uid";
    pub const AUD: &str = "aud";
    pub const NAME: &str = "name";
    pub const TYPE: &str = "type";
    pub const DOMAIN: &str = "domain";
    pub const SESSION_DURATION: &str = "session_duration";
    pub const ALLOWED_IDPS: &str = "allowed_idps";
    pub const AUTO_REDIRECT_TO_IDENTITY: &str = "auto_redirect_to_identity";
    pub const POLICY_IDS: &str = "policy_ids";
    pub const SAAS: &str = "saas";
    pub const REDIRECT_URIS: &str = "redirect_uris";
    pub const GRANT_TYPES: &str = "grant_types";
    pub const SCOPES: &str = "scopes";
    pub const ACCESS_TOKEN_LIFETIME: &str = "access_token_lifetime";
    pub const ALLOW_PKCE_WITHOUT_CLIENT_SECRET: &str = "allow_pkce_without_client_secret";
    pub const ACCOUNT_ID: &str = crate::common::account::ATTRIBUTE;
    pub const CLIENT_ID: &str = "client_id";
    pub const CLIENT_SECRET: &str = "client_secret";
    pub const INBOUND_TOKEN_HEADER: &str = "inbound_token_header";
    pub const DOWNSTREAM_TOKEN_HEADER: &str = "downstream_token_header";
    pub const DOWNSTREAM_TOKEN_PREFIX: &str = "downstream_token_prefix";
    pub const OAUTH_CONFIGURATION: &str = "oauth_configuration";
    pub const ENABLED: &str = "enabled";
    pub const DYNAMIC_CLIENT_REGISTRATION: &str = "dynamic_client_registration";
    pub const ALLOWED_URIS: &str = "allowed_uris";
    pub const ALLOW_ANY_ON_LOCALHOST: &str = "allow_any_on_localhost";
    pub const ALLOW_ANY_ON_LOOPBACK: &str = "allow_any_on_loopback";
    pub const GRANT: &str = "grant";
}

/// Schema descriptions, quoted verbatim by `docs/resources/mcp_server_app.md`.
pub mod descriptions {
    pub const RESOURCE: &str = "The Cloudflare Access application that represents an MCP server, either self-hosted (Access authenticates the user in front of the server and forwards a JWT in `Cf-Access-Jwt-Assertion`) or Access for SaaS with OIDC (the MCP client does OAuth against Access and the server receives an access token). Its `uid` is what a `cfaccess_linked_app_policy` lists in `linked_app_uids` so the MCP server can call self-hosted downstream applications on behalf of the user.";
    pub const ID: &str = "Identifier (UUID) of the Access application.";
    pub const UID: &str = "The value a Linked App Token rule takes (`linked_app_uids` of `cfaccess_linked_app_policy`, `linked_app_token.app_uid` in the API); equal to `id`.";
    pub const AUD: &str = "Audience (AUD) tag of the application: the `aud` claim of the tokens Access issues for it.";
    pub const NAME: &str =
        "Name of the application, as shown in the Zero Trust dashboard and the App Launcher.";
    pub const TYPE: &str = "Deployment mode: `\"self_hosted\"` (Access sits in front of the MCP server and forwards the user's JWT) or `\"saas\"` (Access for SaaS with OIDC: the MCP client does OAuth against Access). Defaults to `\"self_hosted\"`. Changing it forces replacement.";
    pub const DOMAIN: &str = "Hostname, optionally with a path, the self-hosted MCP server is served on, for example `mcp.example.com`. Required when `type` is `\"self_hosted\"`; not allowed when it is `\"saas\"`.";
    pub const SESSION_DURATION: &str = "How long a user's session lasts before Access asks them to log in again, as a duration such as `\"30m\"` or `\"24h\"` (between `0s` and `730h`). Self-hosted applications only. Omitted: the API's default (`\"24h\"`) applies and is kept in state without a diff.";
    pub const ALLOWED_IDPS: &str = "IDs (UUIDs) of the identity providers users may log in with. Omit the attribute to allow all identity providers (an empty set is refused, so that \"all\" has one spelling).";
    pub const AUTO_REDIRECT_TO_IDENTITY: &str = "Skip the identity provider picker and send users straight to the login page of the only allowed identity provider (use it with exactly one entry in `allowed_idps`). Defaults to `false`.";
    pub const POLICY_IDS: &str = "IDs (UUIDs) of the reusable Access policies that decide who may use the MCP server (typically `allow` policies), in evaluation order: the first listed is evaluated first. Only the listed policies are managed: policies attached by others, such as a `cfaccess_linked_app_policy` that targets this application, keep their id and precedence and cause no diff. While the listed policies are attached in list order their precedences are left as they are (they need not be 1, 2, …); when the list changes, they take, in list order, the lowest precedences no other policy holds (1, 2, … when there is none). A policy removed from the list is detached. Omit the attribute to manage no attachments (an empty list is refused).";
    pub const SAAS: &str = "Access for SaaS (OIDC) settings. Required when `type` is `\"saas\"`; not allowed when it is `\"self_hosted\"`.";
    pub const REDIRECT_URIS: &str = "OAuth redirect (callback) URIs the MCP client may use, at least one. Each must be an absolute `https://` URL, or an `http://` URL on `localhost`, `127.0.0.1` or `[::1]`, without a fragment.";
    pub const GRANT_TYPES: &str = "OAuth grant types the MCP client may use, at least one of `authorization_code`, `authorization_code_with_pkce`, `refresh_tokens`, `hybrid`, `implicit`.";
    pub const SCOPES: &str = "OIDC scopes the MCP client may request, at least one of `openid`, `groups`, `email`, `profile`. Cloudflare adds `offline_access` by itself when `refresh_tokens` is granted; it is not shown here.";
    pub const ACCESS_TOKEN_LIFETIME: &str = "Lifetime of the access tokens Access issues, in minutes and/or hours such as `\"5m\"`, `\"1h\"` or `\"1h30m\"` (between `1m` and `24h`). Omitted: the API's default (`\"5m\"`) applies and is kept in state without a diff.";
    pub const ALLOW_PKCE_WITHOUT_CLIENT_SECRET: &str = "Let clients that use PKCE redeem an authorization code without the client secret (public clients, such as desktop MCP clients). Defaults to `false`.";
    pub use crate::common::account::RESOURCE_DESCRIPTION as ACCOUNT_ID;
    pub const CLIENT_ID: &str = "OIDC client ID of a `saas` application; null for `self_hosted`.";
    pub const CLIENT_SECRET: &str = "OIDC client secret of a `saas` application. Cloudflare returns it only when the application is created, so it is kept in state from then on and never blanked by a refresh. Null for `self_hosted` applications and after `terraform import` (the API cannot return it).";
    pub const INBOUND_TOKEN_HEADER: &str = "Request header in which the MCP server receives the user's credential: `Cf-Access-Jwt-Assertion` (self-hosted) or `Authorization` (SaaS/OIDC).";
    pub const DOWNSTREAM_TOKEN_HEADER: &str = "Request header in which the MCP server forwards the user's credential to downstream applications protected by a `cfaccess_linked_app_policy`: `Cf-Access-Token` (self-hosted) or `Authorization` (SaaS/OIDC).";
    pub const DOWNSTREAM_TOKEN_PREFIX: &str = "Text the MCP server puts before the credential in `downstream_token_header`: empty (self-hosted) or `\"Bearer \"` (SaaS/OIDC).";
    pub const OAUTH_CONFIGURATION: &str = "Managed OAuth, a beta feature at Cloudflare: Access acts as the OAuth 2.0 authorization server of this self-hosted application, so MCP clients that follow the MCP authorization spec (RFC 8707 resource indicators, dynamic client registration) can log in without a browser session. The MCP server still receives the user's JWT in `Cf-Access-Jwt-Assertion` and forwards it in `Cf-Access-Token`. Self-hosted applications only: refused when `type` is `\"saas\"`. Omitted: nothing is sent or managed, and the application's Managed OAuth settings are left as they are (so removing the attribute does not turn Managed OAuth off; set `enabled = false` for that); the state still shows them, refreshed on every read and never a diff, when it held them already (after an import, or once the configuration stops setting the attribute), and null otherwise.";
    pub const OAUTH_ENABLED: &str = "Whether Access handles OAuth for the application. Defaults to `true`, Cloudflare's default when `oauth_configuration` is present.";
    pub const DYNAMIC_CLIENT_REGISTRATION: &str = "Dynamic client registration (RFC 7591), through which MCP clients register themselves with Access. Omitted: the application's settings are kept in state without a diff and not managed.";
    pub const DCR_ENABLED: &str = "Whether MCP clients may register themselves. Omitted: the API's value is kept in state without a diff.";
    pub const ALLOWED_URIS: &str = "Redirect (callback) URIs that dynamically registered clients may use, for example the OAuth callback of each MCP client. Each must be an absolute `https://` URL, or an `http://` URL on `localhost`, `127.0.0.1` or `[::1]`, without a fragment; a path may end in `/*` to match every sub-path. Omitted: the API's value is kept in state without a diff.";
    pub const ALLOW_ANY_ON_LOCALHOST: &str = "Allow any client whose redirect URIs are on `localhost`. Omitted: the API's value is kept in state without a diff.";
    pub const ALLOW_ANY_ON_LOOPBACK: &str = "Allow any client whose redirect URIs are on `127.0.0.1`. Omitted: the API's value is kept in state without a diff.";
    pub const GRANT: &str = "Lifetimes of what Access issues to OAuth clients. Omitted: the application's settings are kept in state without a diff and not managed.";
    pub const OAUTH_ACCESS_TOKEN_LIFETIME: &str = "Lifetime of the OAuth access tokens Access issues, as a positive duration such as `\"15m\"` (units: ns, us, ms, s, m, h). Cloudflare documents a 15-minute default; omitted, the API's value is kept in state without a diff.";
    pub const OAUTH_SESSION_DURATION: &str = "How long an OAuth grant (its refresh token) stays valid before the user must log in again, as a positive duration such as `\"336h\"` (units: ns, us, ms, s, m, h). Omitted: the API's value is kept in state without a diff.";
}

/// The headers an MCP server of `app_type` reads and writes:
/// `(inbound header, downstream header, downstream prefix)`.
pub fn token_headers(app_type: &str) -> Option<(&'static str, &'static str, &'static str)> {
    match app_type {
        SELF_HOSTED => Some(("Cf-Access-Jwt-Assertion", "Cf-Access-Token", "")),
        SAAS => Some(("Authorization", "Authorization", "Bearer ")),
        _ => None,
    }
}

/// The resource schema.
pub fn schema() -> Schema {
    use descriptions as d;
    let stable = PlanModifier::UseStateForUnknown;
    Schema::new(
        d::RESOURCE,
        vec![
            Attribute::string(attr::ID)
                .computed()
                .description(d::ID)
                .plan_modifier(stable.clone()),
            Attribute::string(attr::UID)
                .computed()
                .description(d::UID)
                .plan_modifier(stable.clone()),
            Attribute::string(attr::AUD)
                .computed()
                .description(d::AUD)
                .plan_modifier(stable.clone()),
            Attribute::string(attr::NAME)
                .required()
                .description(d::NAME)
                .validator(Validator::NotBlank),
            Attribute::string(attr::TYPE)
                .optional_computed()
                .description(d::TYPE)
                .validator(Validator::OneOf(vec![SELF_HOSTED, SAAS]))
                .plan_modifier(PlanModifier::RequiresReplace),
            Attribute::string(attr::DOMAIN)
                .optional()
                .description(d::DOMAIN)
                .validator(Validator::NotBlank)
                .validator(Validator::Custom(validate_domain)),
            Attribute::string(attr::SESSION_DURATION)
                .optional_computed()
                .description(d::SESSION_DURATION)
                .validator(Validator::Duration {
                    min_secs: 0,
                    max_secs: MAX_SESSION_SECS,
                })
                .plan_modifier(stable.clone()),
            Attribute::string_set(attr::ALLOWED_IDPS)
                .optional()
                .description(d::ALLOWED_IDPS)
                .validator(Validator::Custom(validate_not_empty))
                .validator(Validator::EachUuid),
            Attribute::bool(attr::AUTO_REDIRECT_TO_IDENTITY)
                .optional_computed()
                .description(d::AUTO_REDIRECT_TO_IDENTITY),
            Attribute::string_list(attr::POLICY_IDS)
                .optional()
                .description(d::POLICY_IDS)
                .validator(Validator::Custom(validate_not_empty))
                .validator(Validator::EachUuid)
                .validator(Validator::UniqueElements),
            Attribute::nested(
                attr::SAAS,
                Nesting::Single,
                vec![
                    Attribute::string_list(attr::REDIRECT_URIS)
                        .required()
                        .description(d::REDIRECT_URIS)
                        .validator(Validator::SizeAtLeast(1))
                        .validator(Validator::UniqueElements)
                        .validator(Validator::Custom(validate_redirect_uris)),
                    Attribute::string_set(attr::GRANT_TYPES)
                        .required()
                        .description(d::GRANT_TYPES)
                        .validator(Validator::SizeAtLeast(1))
                        .validator(Validator::EachOneOf(GRANT_TYPES.to_vec())),
                    Attribute::string_set(attr::SCOPES)
                        .required()
                        .description(d::SCOPES)
                        .validator(Validator::SizeAtLeast(1))
                        .validator(Validator::EachOneOf(SCOPES.to_vec())),
                    Attribute::string(attr::ACCESS_TOKEN_LIFETIME)
                        .optional_computed()
                        .description(d::ACCESS_TOKEN_LIFETIME)
                        .validator(Validator::Custom(validate_token_lifetime))
                        .plan_modifier(stable.clone()),
                    Attribute::bool(attr::ALLOW_PKCE_WITHOUT_CLIENT_SECRET)
                        .optional_computed()
                        .description(d::ALLOW_PKCE_WITHOUT_CLIENT_SECRET),
                ],
            )
            // Optional+Computed rather than Optional: for a non-computed nested
            // attribute whose configuration is null, Terraform 1.0.3 panics computing
            // the proposed new state (`proposedNewNestedType` reads attributes of the
            // null config; hashicorp/terraform#29701, fixed in 1.0.9), while computed
            // ones are taken whole. `plan_fixed_values` plans it null when unset, so it
            // behaves as a plain optional attribute and keeps the `saas = { … }` syntax.
            .optional_computed()
            .description(d::SAAS),
            oauth_configuration_attribute(),
            replacing_account_id_attribute(),
            Attribute::string(attr::CLIENT_ID)
                .computed()
                .description(d::CLIENT_ID)
                .plan_modifier(stable.clone()),
            Attribute::string(attr::CLIENT_SECRET)
                .computed()
                .sensitive()
                .description(d::CLIENT_SECRET)
                .plan_modifier(stable),
            Attribute::string(attr::INBOUND_TOKEN_HEADER)
                .computed()
                .description(d::INBOUND_TOKEN_HEADER),
            Attribute::string(attr::DOWNSTREAM_TOKEN_HEADER)
                .computed()
                .description(d::DOWNSTREAM_TOKEN_HEADER),
            Attribute::string(attr::DOWNSTREAM_TOKEN_PREFIX)
                .computed()
                .description(d::DOWNSTREAM_TOKEN_PREFIX),
        ],
    )
}

/// `oauth_configuration`. Every level is Optional+Computed, for the reason given at
/// `saas` (Terraform 1.0.3 panics on a null non-computed nested attribute, and the
/// inner objects would be nested attributes of that kind too), and because members the
/// user leaves out hold whatever the API returns. [`plan_oauth_configuration`] plans
/// each level itself: null (or the prior object, unmanaged) when omitted, the prior
/// value (or unknown on first use) for an omitted member, `true` for an omitted
/// `enabled`.
pub(super) fn oauth_configuration_attribute() -> Attribute {
    use descriptions as d;
    Attribute::nested(
        attr::OAUTH_CONFIGURATION,
        Nesting::Single,
        vec![
            Attribute::bool(attr::ENABLED)
                .optional_computed()
                .description(d::OAUTH_ENABLED),
            Attribute::nested(
                attr::DYNAMIC_CLIENT_REGISTRATION,
                Nesting::Single,
                vec![
                    Attribute::bool(attr::ENABLED)
                        .optional_computed()
                        .description(d::DCR_ENABLED),
                    Attribute::string_list(attr::ALLOWED_URIS)
                        .optional_computed()
                        .description(d::ALLOWED_URIS)
                        .validator(Validator::UniqueElements)
                        .validator(Validator::Custom(validate_allowed_uris)),
                    Attribute::bool(attr::ALLOW_ANY_ON_LOCALHOST)
                        .optional_computed()
                        .description(d::ALLOW_ANY_ON_LOCALHOST),
                    Attribute::bool(attr::ALLOW_ANY_ON_LOOPBACK)
                        .optional_computed()
                        .description(d::ALLOW_ANY_ON_LOOPBACK),
                ],
            )
            .optional_computed()
            .description(d::DYNAMIC_CLIENT_REGISTRATION),
            Attribute::nested(
                attr::GRANT,
                Nesting::Single,
                vec![
                    Attribute::string(attr::ACCESS_TOKEN_LIFETIME)
                        .optional_computed()
                        .description(d::OAUTH_ACCESS_TOKEN_LIFETIME)
                        .validator(Validator::Custom(validate_positive_duration)),
                    Attribute::string(attr::SESSION_DURATION)
                        .optional_computed()
                        .description(d::OAUTH_SESSION_DURATION)
                        .validator(Validator::Custom(validate_positive_duration)),
                ],
            )
            .optional_computed()
            .description(d::GRANT),
        ],
    )
    .optional_computed()
    .description(d::OAUTH_CONFIGURATION)
}

// ----- model ------------------------------------------------------------------------------

crate::tf_object! {
    /// The `saas` nested object.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct SaasModel {
        pub redirect_uris: Field<Vec<String>> = attr::REDIRECT_URIS,
        pub grant_types: Field<Set<String>> = attr::GRANT_TYPES,
        pub scopes: Field<Set<String>> = attr::SCOPES,
        pub access_token_lifetime: Field<String> = attr::ACCESS_TOKEN_LIFETIME,
        pub allow_pkce_without_client_secret: Field<bool> = attr::ALLOW_PKCE_WITHOUT_CLIENT_SECRET,
    }
}

crate::tf_object! {
    /// `oauth_configuration.dynamic_client_registration`.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct DcrModel {
        pub enabled: Field<bool> = attr::ENABLED,
        pub allowed_uris: Field<Vec<String>> = attr::ALLOWED_URIS,
        pub allow_any_on_localhost: Field<bool> = attr::ALLOW_ANY_ON_LOCALHOST,
        pub allow_any_on_loopback: Field<bool> = attr::ALLOW_ANY_ON_LOOPBACK,
    }
}

crate::tf_object! {
    /// `oauth_configuration.grant`.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct GrantModel {
        pub access_token_lifetime: Field<String> = attr::ACCESS_TOKEN_LIFETIME,
        pub session_duration: Field<String> = attr::SESSION_DURATION,
    }
}

crate::tf_object! {
    /// The `oauth_configuration` nested object (Managed OAuth).
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct OAuthModel {
        pub enabled: Field<bool> = attr::ENABLED,
        pub dynamic_client_registration: Field<DcrModel> = attr::DYNAMIC_CLIENT_REGISTRATION,
        pub grant: Field<GrantModel> = attr::GRANT,
    }
}

crate::tf_object! {
    /// The resource's state, configuration and plan, mirroring the schema.
    /// `client_secret` is [`Sensitive`], so `Debug` never prints it.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct Model {
        pub id: Field<String> = attr::ID,
        pub uid: Field<String> = attr::UID,
        pub aud: Field<String> = attr::AUD,
        pub name: Field<String> = attr::NAME,
        pub app_type: Field<String> = attr::TYPE,
        pub domain: Field<String> = attr::DOMAIN,
        pub session_duration: Field<String> = attr::SESSION_DURATION,
        pub allowed_idps: Field<Set<String>> = attr::ALLOWED_IDPS,
        pub auto_redirect_to_identity: Field<bool> = attr::AUTO_REDIRECT_TO_IDENTITY,
        pub policy_ids: Field<Vec<String>> = attr::POLICY_IDS,
        pub saas: Field<SaasModel> = attr::SAAS,
        pub oauth_configuration: Field<OAuthModel> = attr::OAUTH_CONFIGURATION,
        pub account_id: Field<String> = attr::ACCOUNT_ID,
        pub client_id: Field<String> = attr::CLIENT_ID,
        pub client_secret: Field<Sensitive<String>> = attr::CLIENT_SECRET,
        pub inbound_token_header: Field<String> = attr::INBOUND_TOKEN_HEADER,
        pub downstream_token_header: Field<String> = attr::DOWNSTREAM_TOKEN_HEADER,
        pub downstream_token_prefix: Field<String> = attr::DOWNSTREAM_TOKEN_PREFIX,
    }
}

impl Model {
    fn is_saas(&self) -> bool {
        self.app_type.as_str() == Some(SAAS)
    }
}

/// `m` with every unknown value (at any depth) null: a plan's "known after apply"
/// parts that no answer filled, in a state that must be wholly known.
fn known_only<M: TfValue + Default>(m: &M) -> M {
    fn strip(v: &mut Value) {
        match v {
            Value::Unknown => *v = Value::Null,
            Value::Object(members) => members.values_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v = m.to_value();
    strip(&mut v);
    // Only unknowns became null, so the value still fits the model.
    M::from_value(&v).unwrap_or_default()
}
