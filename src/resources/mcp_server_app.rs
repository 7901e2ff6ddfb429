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

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};

use super::import_id;
use super::recorded::{self, Findings, Stage};
use crate::api::ProviderData;
use crate::cloudflare::{AccountId, ApiError, App, AppId, AppType, PolicyId, PolicyLink};
use crate::common::account::validate_account_id;
use crate::common::duration::keep_equivalent_duration;
use crate::errors;
use crate::tfplugin::validate::parse_go_duration;
use crate::tfplugin::{
    ApplyResult, Attribute, AttributePath, Context, Diagnostics, ImportResult, Nesting,
    PlanModifier, PlanRequest, ReadResult, Resource, Schema, Validator, Value,
};

/// Terraform type name.
pub const TYPE_NAME: &str = "cfaccess_mcp_server_app";

/// `type` of a self-hosted application (the default).
pub const SELF_HOSTED: &str = "self_hosted";
/// `type` of an Access for SaaS application (always OIDC here).
pub const SAAS: &str = "saas";

/// Longest application session Cloudflare offers (one month).
const MAX_SESSION_SECS: u64 = 730 * 3600;

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
const SERVER_ADDED_SCOPE: &str = "offline_access";

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
    pub const ACCOUNT_ID: &str = "account_id";
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
    pub const ACCOUNT_ID: &str = "Cloudflare account ID (32 hexadecimal characters). Defaults to the provider's `account_id`. Changing it forces replacement.";
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
            Attribute::string(attr::ACCOUNT_ID)
                .optional_computed()
                .description(d::ACCOUNT_ID)
                .validator(Validator::Custom(validate_account_id))
                .plan_modifier(stable.clone())
                .plan_modifier(PlanModifier::RequiresReplace),
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
fn oauth_configuration_attribute() -> Attribute {
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

// ----- attribute validators ------------------------------------------------------------

/// An empty collection would be a second spelling of "omitted" that the API cannot
/// tell apart on read; one spelling keeps import and plan unambiguous.
fn validate_not_empty(v: &Value, path: &AttributePath, diags: &mut Diagnostics) {
    if v.elements().is_some_and(<[Value]>::is_empty) {
        diags.attr_error(
            path.clone(),
            "Empty collection",
            format!("Attribute {path} must not be empty: omit the attribute instead."),
        );
    }
}

/// A domain is a hostname with an optional path, never a URL.
fn validate_domain(v: &Value, path: &AttributePath, diags: &mut Diagnostics) {
    let Some(s) = v.as_str() else { return };
    if s.trim().is_empty() {
        return; // NotBlank reports it.
    }
    let problem = if s.contains("://") {
        Some("must be a hostname with an optional path, without a scheme such as \"https://\"")
    } else if s.chars().any(char::is_whitespace) {
        Some("must not contain whitespace")
    } else if s.starts_with('/') || s.starts_with('.') {
        Some("must start with a hostname")
    } else {
        None
    };
    if let Some(problem) = problem {
        diags.attr_error(
            path.clone(),
            "Invalid domain",
            format!("Attribute {path} {problem}, for example \"mcp.example.com\"; got {s:?}."),
        );
    }
}

/// Each redirect URI must be an absolute https URL, or http on a loopback host (native
/// MCP clients listen on localhost), without a fragment (RFC 6749 §3.1.2).
fn validate_redirect_uris(v: &Value, path: &AttributePath, diags: &mut Diagnostics) {
    for (i, el) in v.elements().unwrap_or(&[]).iter().enumerate() {
        let Some(s) = el.as_str() else { continue };
        if let Err(problem) = check_redirect_uri(s) {
            let at = path.index(i);
            diags.attr_error(
                at.clone(),
                "Invalid redirect URI",
                format!(
                    "Attribute {at} {problem}; got {s:?}. Use an absolute https:// URL such as \
                     \"https://mcp.example.com/oauth/callback\" (http:// is allowed only on \
                     localhost, 127.0.0.1 or [::1])."
                ),
            );
        }
    }
}

/// `Ok` when `s` is an acceptable OAuth redirect URI, else what is wrong with it.
pub fn check_redirect_uri(s: &str) -> Result<(), &'static str> {
    let url = url::Url::parse(s).map_err(|_| "is not an absolute URL")?;
    let host = url.host_str().ok_or("has no host")?;
    match url.scheme() {
        "https" => {}
        "http" if matches!(host, "localhost" | "127.0.0.1" | "[::1]") => {}
        "http" => return Err("uses http:// on a host other than localhost"),
        _ => return Err("must use https://"),
    }
    if url.fragment().is_some() {
        return Err("must not contain a fragment (#…)");
    }
    Ok(())
}

/// Each allowed URI of dynamic client registration follows the redirect URI rules;
/// a trailing `/*` (Cloudflare's "every sub-path") is allowed on the path.
fn validate_allowed_uris(v: &Value, path: &AttributePath, diags: &mut Diagnostics) {
    for (i, el) in v.elements().unwrap_or(&[]).iter().enumerate() {
        let Some(s) = el.as_str() else { continue };
        if let Err(problem) = check_redirect_uri(s) {
            let at = path.index(i);
            diags.attr_error(
                at.clone(),
                "Invalid allowed URI",
                format!(
                    "Attribute {at} {problem}; got {s:?}. Use an absolute https:// URL such as \
                     \"https://claude.ai/api/mcp/auth_callback\" (http:// is allowed only on \
                     localhost, 127.0.0.1 or [::1]; a path may end in /* to match every \
                     sub-path)."
                ),
            );
        }
    }
}

/// A Go duration (as the API documents for the Managed OAuth lifetimes) above zero:
/// a lifetime of zero or less could never admit anyone.
fn validate_positive_duration(v: &Value, path: &AttributePath, diags: &mut Diagnostics) {
    let Some(s) = v.as_str() else { return };
    match parse_go_duration(s) {
        None => diags.attr_error(
            path.clone(),
            "Invalid duration",
            format!(
                "Attribute {path} must be a duration such as \"15m\", \"24h\" or \"1h30m\" \
                 (units: ns, us, ms, s, m, h); got {s:?}."
            ),
        ),
        Some(secs) if secs <= 0.0 => diags.attr_error(
            path.clone(),
            "Duration out of range",
            format!("Attribute {path} must be longer than 0s; got {s:?}."),
        ),
        Some(_) => {}
    }
}

fn validate_token_lifetime(v: &Value, path: &AttributePath, diags: &mut Diagnostics) {
    let Some(s) = v.as_str() else { return };
    match token_lifetime_secs(s) {
        None => diags.attr_error(
            path.clone(),
            "Invalid duration",
            format!(
                "Attribute {path} must be a duration in minutes and/or hours such as \"5m\", \
                 \"1h\" or \"1h30m\"; got {s:?}."
            ),
        ),
        Some(secs) if !(60.0..=86_400.0).contains(&secs) => diags.attr_error(
            path.clone(),
            "Duration out of range",
            format!("Attribute {path} must be between 1m and 24h; got {s:?}."),
        ),
        Some(_) => {}
    }
}

/// Seconds of an access token lifetime written with `m` and `h` units only.
fn token_lifetime_secs(s: &str) -> Option<f64> {
    let units_ok = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_digit() || c == 'm' || c == 'h')
        && s.ends_with(['m', 'h'])
        && s.starts_with(|c: char| c.is_ascii_digit());
    if !units_ok {
        return None;
    }
    parse_go_duration(s)
}

// ----- cross-attribute validation -------------------------------------------------------

/// The effective `type` of a configuration: `None` while unknown.
fn config_type(config: &Value) -> Option<String> {
    match config.get(attr::TYPE) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Unknown) => None,
        _ => Some(SELF_HOSTED.to_string()),
    }
}

/// True when the value is set to something known (an unknown may still turn out null).
fn known_non_null(v: Option<&Value>) -> bool {
    v.is_some_and(|v| !v.is_null() && !v.is_unknown())
}

/// Checks that need more than one attribute. Runs on configurations with unknowns:
/// "missing" is reported only for null, "not allowed" only for known values.
pub fn validate_config(config: &Value, diags: &mut Diagnostics) {
    let missing = |name: &str| config.get(name).is_none_or(Value::is_null);
    match config_type(config).as_deref() {
        Some(SELF_HOSTED) => {
            if missing(attr::DOMAIN) {
                diags.attr_error(
                    AttributePath::root(attr::DOMAIN),
                    "Missing domain",
                    "A self-hosted MCP server application needs the hostname it is served on: set \
                     domain, for example domain = \"mcp.example.com\" (or set type = \"saas\" for \
                     an Access for SaaS/OIDC application).",
                );
            }
            if known_non_null(config.get(attr::SAAS)) {
                diags.attr_error(
                    AttributePath::root(attr::SAAS),
                    "saas settings on a self-hosted application",
                    "The saas block applies only to type = \"saas\" (Access for SaaS with OIDC). \
                     Remove it, or set type = \"saas\" and remove domain and session_duration.",
                );
            }
        }
        Some(SAAS) => {
            if missing(attr::SAAS) {
                diags.attr_error(
                    AttributePath::root(attr::SAAS),
                    "Missing saas settings",
                    "A saas MCP server application needs its OIDC settings: set saas = { \
                     redirect_uris = [...], grant_types = [...], scopes = [...] }.",
                );
            }
            if known_non_null(config.get(attr::OAUTH_CONFIGURATION)) {
                diags.attr_error(
                    AttributePath::root(attr::OAUTH_CONFIGURATION),
                    "oauth_configuration on a saas application",
                    "oauth_configuration (Managed OAuth) applies only to type = \"self_hosted\": \
                     Cloudflare offers it on self-hosted applications, while an Access for SaaS \
                     (OIDC) application is an OAuth provider through its saas settings already. \
                     Remove oauth_configuration, or use type = \"self_hosted\".",
                );
            }
            for name in [attr::DOMAIN, attr::SESSION_DURATION] {
                if known_non_null(config.get(name)) {
                    diags.attr_error(
                        AttributePath::root(name),
                        format!("{name} on a saas application"),
                        format!(
                            "{name} applies only to type = \"self_hosted\". Access for SaaS \
                             applications have no hostname or session of their own: remove \
                             {name}, or use type = \"self_hosted\"."
                        ),
                    );
                }
            }
        }
        _ => {}
    }
    let auto_redirect = config
        .get(attr::AUTO_REDIRECT_TO_IDENTITY)
        .and_then(Value::as_bool);
    let idps = config.get(attr::ALLOWED_IDPS).and_then(Value::elements);
    if auto_redirect == Some(true)
        && let Some(idps) = idps
        && idps.len() > 1
    {
        diags.attr_error(
            AttributePath::root(attr::AUTO_REDIRECT_TO_IDENTITY),
            "auto_redirect_to_identity needs a single identity provider",
            format!(
                "auto_redirect_to_identity = true sends users straight to the only allowed \
                 identity provider, but allowed_idps lists {}. Keep one entry in allowed_idps, or \
                 set auto_redirect_to_identity = false.",
                idps.len()
            ),
        );
    }
}

// ----- model ------------------------------------------------------------------------------

/// The `saas` nested object.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SaasModel {
    pub redirect_uris: Option<Vec<String>>,
    pub grant_types: Option<Vec<String>>,
    pub scopes: Option<Vec<String>>,
    pub access_token_lifetime: Option<String>,
    pub allow_pkce_without_client_secret: Option<bool>,
}

/// `oauth_configuration.dynamic_client_registration`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DcrModel {
    pub enabled: Option<bool>,
    pub allowed_uris: Option<Vec<String>>,
    pub allow_any_on_localhost: Option<bool>,
    pub allow_any_on_loopback: Option<bool>,
}

/// `oauth_configuration.grant`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GrantModel {
    pub access_token_lifetime: Option<String>,
    pub session_duration: Option<String>,
}

/// The `oauth_configuration` nested object (Managed OAuth).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OAuthModel {
    pub enabled: Option<bool>,
    pub dynamic_client_registration: Option<DcrModel>,
    pub grant: Option<GrantModel>,
}

/// The resource's state, mirroring the schema. Unknown values read as `None`.
/// `Debug` is written by hand so that `client_secret` never prints.
#[derive(Clone, Default, PartialEq)]
pub struct Model {
    pub id: Option<String>,
    pub uid: Option<String>,
    pub aud: Option<String>,
    pub name: Option<String>,
    pub app_type: Option<String>,
    pub domain: Option<String>,
    pub session_duration: Option<String>,
    pub allowed_idps: Option<Vec<String>>,
    pub auto_redirect_to_identity: Option<bool>,
    pub policy_ids: Option<Vec<String>>,
    pub saas: Option<SaasModel>,
    pub oauth_configuration: Option<OAuthModel>,
    pub account_id: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub inbound_token_header: Option<String>,
    pub downstream_token_header: Option<String>,
    pub downstream_token_prefix: Option<String>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("id", &self.id)
            .field("uid", &self.uid)
            .field("aud", &self.aud)
            .field("name", &self.name)
            .field("app_type", &self.app_type)
            .field("domain", &self.domain)
            .field("session_duration", &self.session_duration)
            .field("allowed_idps", &self.allowed_idps)
            .field("auto_redirect_to_identity", &self.auto_redirect_to_identity)
            .field("policy_ids", &self.policy_ids)
            .field("saas", &self.saas)
            .field("account_id", &self.account_id)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("inbound_token_header", &self.inbound_token_header)
            .field("downstream_token_header", &self.downstream_token_header)
            .field("downstream_token_prefix", &self.downstream_token_prefix)
            .finish()
    }
}

#[cfg(test)]
mod model_debug_tests {
    use super::Model;

    #[test]
    fn model_debug_never_prints_the_client_secret() {
        let model = Model {
            name: Some("visible".into()),
            client_secret: Some("cs-very-secret-value".into()),
            ..Default::default()
        };
        for text in [format!("{model:?}"), format!("{model:#?}")] {
            assert!(!text.contains("cs-very-secret-value"), "{text}");
            assert!(
                text.contains("[redacted]") && text.contains("visible"),
                "{text}"
            );
        }
        // None stays visibly None, so a missing secret is still diagnosable.
        assert!(format!("{:?}", Model::default()).contains("client_secret: None"));
    }
}

fn get_str(v: &Value, name: &str) -> Option<String> {
    v.get(name).and_then(Value::as_str).map(str::to_string)
}

fn get_strings(v: &Value, name: &str) -> Option<Vec<String>> {
    v.get(name)
        .filter(|x| x.elements().is_some())
        .map(Value::known_strings)
}

fn opt_str_value(s: &Option<String>) -> Value {
    Value::opt_string(s.clone())
}

fn opt_set_value(v: &Option<Vec<String>>) -> Value {
    v.as_ref()
        .map_or(Value::Null, |items| Value::string_set(items.clone()))
}

fn opt_list_value(v: &Option<Vec<String>>) -> Value {
    v.as_ref()
        .map_or(Value::Null, |items| Value::string_list(items.clone()))
}

fn opt_bool_value(b: Option<bool>) -> Value {
    b.map_or(Value::Null, Value::Bool)
}

impl SaasModel {
    pub fn from_value(v: &Value) -> Option<SaasModel> {
        if !matches!(v, Value::Object(_)) {
            return None;
        }
        Some(SaasModel {
            redirect_uris: get_strings(v, attr::REDIRECT_URIS),
            grant_types: get_strings(v, attr::GRANT_TYPES),
            scopes: get_strings(v, attr::SCOPES),
            access_token_lifetime: get_str(v, attr::ACCESS_TOKEN_LIFETIME),
            allow_pkce_without_client_secret: v
                .get(attr::ALLOW_PKCE_WITHOUT_CLIENT_SECRET)
                .and_then(Value::as_bool),
        })
    }

    pub fn to_value(&self) -> Value {
        Value::object([
            (attr::REDIRECT_URIS, opt_list_value(&self.redirect_uris)),
            (attr::GRANT_TYPES, opt_set_value(&self.grant_types)),
            (attr::SCOPES, opt_set_value(&self.scopes)),
            (
                attr::ACCESS_TOKEN_LIFETIME,
                opt_str_value(&self.access_token_lifetime),
            ),
            (
                attr::ALLOW_PKCE_WITHOUT_CLIENT_SECRET,
                opt_bool_value(self.allow_pkce_without_client_secret),
            ),
        ])
    }
}

impl DcrModel {
    pub fn from_value(v: &Value) -> Option<DcrModel> {
        if !matches!(v, Value::Object(_)) {
            return None;
        }
        Some(DcrModel {
            enabled: v.get(attr::ENABLED).and_then(Value::as_bool),
            allowed_uris: get_strings(v, attr::ALLOWED_URIS),
            allow_any_on_localhost: v.get(attr::ALLOW_ANY_ON_LOCALHOST).and_then(Value::as_bool),
            allow_any_on_loopback: v.get(attr::ALLOW_ANY_ON_LOOPBACK).and_then(Value::as_bool),
        })
    }

    pub fn to_value(&self) -> Value {
        Value::object([
            (attr::ENABLED, opt_bool_value(self.enabled)),
            (attr::ALLOWED_URIS, opt_list_value(&self.allowed_uris)),
            (
                attr::ALLOW_ANY_ON_LOCALHOST,
                opt_bool_value(self.allow_any_on_localhost),
            ),
            (
                attr::ALLOW_ANY_ON_LOOPBACK,
                opt_bool_value(self.allow_any_on_loopback),
            ),
        ])
    }
}

impl GrantModel {
    pub fn from_value(v: &Value) -> Option<GrantModel> {
        if !matches!(v, Value::Object(_)) {
            return None;
        }
        Some(GrantModel {
            access_token_lifetime: get_str(v, attr::ACCESS_TOKEN_LIFETIME),
            session_duration: get_str(v, attr::SESSION_DURATION),
        })
    }

    pub fn to_value(&self) -> Value {
        Value::object([
            (
                attr::ACCESS_TOKEN_LIFETIME,
                opt_str_value(&self.access_token_lifetime),
            ),
            (
                attr::SESSION_DURATION,
                opt_str_value(&self.session_duration),
            ),
        ])
    }
}

impl OAuthModel {
    pub fn from_value(v: &Value) -> Option<OAuthModel> {
        if !matches!(v, Value::Object(_)) {
            return None;
        }
        Some(OAuthModel {
            enabled: v.get(attr::ENABLED).and_then(Value::as_bool),
            dynamic_client_registration: v
                .get(attr::DYNAMIC_CLIENT_REGISTRATION)
                .and_then(DcrModel::from_value),
            grant: v.get(attr::GRANT).and_then(GrantModel::from_value),
        })
    }

    pub fn to_value(&self) -> Value {
        Value::object([
            (attr::ENABLED, opt_bool_value(self.enabled)),
            (
                attr::DYNAMIC_CLIENT_REGISTRATION,
                self.dynamic_client_registration
                    .as_ref()
                    .map_or(Value::Null, DcrModel::to_value),
            ),
            (
                attr::GRANT,
                self.grant
                    .as_ref()
                    .map_or(Value::Null, GrantModel::to_value),
            ),
        ])
    }
}

impl Model {
    pub fn from_value(v: &Value) -> Model {
        Model {
            id: get_str(v, attr::ID),
            uid: get_str(v, attr::UID),
            aud: get_str(v, attr::AUD),
            name: get_str(v, attr::NAME),
            app_type: get_str(v, attr::TYPE),
            domain: get_str(v, attr::DOMAIN),
            session_duration: get_str(v, attr::SESSION_DURATION),
            allowed_idps: get_strings(v, attr::ALLOWED_IDPS),
            auto_redirect_to_identity: v
                .get(attr::AUTO_REDIRECT_TO_IDENTITY)
                .and_then(Value::as_bool),
            policy_ids: get_strings(v, attr::POLICY_IDS),
            saas: v.get(attr::SAAS).and_then(SaasModel::from_value),
            oauth_configuration: v
                .get(attr::OAUTH_CONFIGURATION)
                .and_then(OAuthModel::from_value),
            account_id: get_str(v, attr::ACCOUNT_ID),
            client_id: get_str(v, attr::CLIENT_ID),
            client_secret: get_str(v, attr::CLIENT_SECRET),
            inbound_token_header: get_str(v, attr::INBOUND_TOKEN_HEADER),
            downstream_token_header: get_str(v, attr::DOWNSTREAM_TOKEN_HEADER),
            downstream_token_prefix: get_str(v, attr::DOWNSTREAM_TOKEN_PREFIX),
        }
    }

    pub fn to_value(&self) -> Value {
        Value::object([
            (attr::ID, opt_str_value(&self.id)),
            (attr::UID, opt_str_value(&self.uid)),
            (attr::AUD, opt_str_value(&self.aud)),
            (attr::NAME, opt_str_value(&self.name)),
            (attr::TYPE, opt_str_value(&self.app_type)),
            (attr::DOMAIN, opt_str_value(&self.domain)),
            (
                attr::SESSION_DURATION,
                opt_str_value(&self.session_duration),
            ),
            (attr::ALLOWED_IDPS, opt_set_value(&self.allowed_idps)),
            (
                attr::AUTO_REDIRECT_TO_IDENTITY,
                opt_bool_value(self.auto_redirect_to_identity),
            ),
            (attr::POLICY_IDS, opt_list_value(&self.policy_ids)),
            (
                attr::SAAS,
                self.saas.as_ref().map_or(Value::Null, SaasModel::to_value),
            ),
            (
                attr::OAUTH_CONFIGURATION,
                self.oauth_configuration
                    .as_ref()
                    .map_or(Value::Null, OAuthModel::to_value),
            ),
            (attr::ACCOUNT_ID, opt_str_value(&self.account_id)),
            (attr::CLIENT_ID, opt_str_value(&self.client_id)),
            (attr::CLIENT_SECRET, opt_str_value(&self.client_secret)),
            (
                attr::INBOUND_TOKEN_HEADER,
                opt_str_value(&self.inbound_token_header),
            ),
            (
                attr::DOWNSTREAM_TOKEN_HEADER,
                opt_str_value(&self.downstream_token_header),
            ),
            (
                attr::DOWNSTREAM_TOKEN_PREFIX,
                opt_str_value(&self.downstream_token_prefix),
            ),
        ])
    }

    fn is_saas(&self) -> bool {
        self.app_type.as_deref() == Some(SAAS)
    }
}

// ----- normalisation: one path from an API app to state -------------------------------------

fn domain_key(d: &str) -> String {
    d.trim().trim_end_matches('/').to_ascii_lowercase()
}

/// A set as the API returns it: empty = null (unset), same members as the basis = the
/// basis (its order), otherwise the API's members.
fn normalise_set(api: &[String], basis: Option<&Vec<String>>) -> Option<Vec<String>> {
    if api.is_empty() {
        return basis.filter(|b| b.is_empty()).cloned();
    }
    let api_set: BTreeSet<&str> = api.iter().map(String::as_str).collect();
    match basis {
        Some(b) if b.iter().map(String::as_str).collect::<BTreeSet<_>>() == api_set => {
            Some(b.clone())
        }
        _ => {
            let mut unique: Vec<String> = Vec::new();
            for item in api {
                if !unique.contains(item) {
                    unique.push(item.clone());
                }
            }
            Some(unique)
        }
    }
}

/// A list the API may reorder without meaning anything by it: the same elements as the
/// basis → the basis.
fn normalise_unordered_list(api: &[String], basis: Option<&Vec<String>>) -> Option<Vec<String>> {
    if api.is_empty() {
        return basis.filter(|b| b.is_empty()).cloned();
    }
    if let Some(b) = basis {
        let mut x = b.clone();
        let mut y = api.to_vec();
        x.sort();
        y.sort();
        if x == y {
            return Some(b.clone());
        }
    }
    Some(api.to_vec())
}

/// How `policy_ids` is derived from the attachments read.
#[derive(Clone, Debug, PartialEq)]
pub enum PolicyScope {
    /// Normal read: the managed ids that are still attached, in precedence order.
    Managed(Vec<String>),
    /// Import: every attached policy except these (Linked App Token service-auth
    /// policies, owned by `cfaccess_linked_app_policy`).
    Imported { excluded: HashSet<String> },
}

fn policy_ids_for_state(app: &App, scope: &PolicyScope) -> Option<Vec<String>> {
    let attached = app.policy_ids_by_precedence().into_iter().map(String::from);
    let ids: Vec<String> = match scope {
        PolicyScope::Managed(managed) => attached.filter(|id| managed.contains(id)).collect(),
        PolicyScope::Imported { excluded } => {
            attached.filter(|id| !excluded.contains(id)).collect()
        }
    };
    (!ids.is_empty()).then_some(ids)
}

/// Why an application cannot be represented by this resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unsupported {
    /// `type` other than self_hosted/saas.
    Type(String),
    /// A saas app whose `saas_app.auth_type` is not oidc (SAML).
    AuthType(String),
}

impl Unsupported {
    fn diagnostic(&self, app_id: &str) -> (String, String) {
        match self {
            Unsupported::Type(t) => (
                "Unsupported application type".to_string(),
                format!(
                    "Access application {app_id} has type {t:?}; cfaccess_mcp_server_app manages \
                     only \"self_hosted\" and \"saas\" (OIDC) applications. Use the \
                     cfaccess_access_application data source to refer to it instead."
                ),
            ),
            Unsupported::AuthType(a) => (
                "Unsupported SaaS application".to_string(),
                format!(
                    "Access application {app_id} is a SaaS application with auth_type {a:?}; \
                     cfaccess_mcp_server_app manages only OIDC SaaS applications (auth_type \
                     \"oidc\"). Use the cfaccess_access_application data source to refer to it \
                     instead."
                ),
            ),
        }
    }
}

/// Checks that `app` is a type this resource manages.
pub fn check_supported(app: &App) -> Result<(), Unsupported> {
    match &app.app_type {
        AppType::SelfHosted => Ok(()),
        AppType::Saas => {
            // The API assumes SAML when auth_type is missing.
            let auth = app
                .saas_app
                .as_ref()
                .and_then(|s| s.auth_type.clone())
                .unwrap_or_else(|| "saml".to_string());
            if auth == "oidc" {
                Ok(())
            } else {
                Err(Unsupported::AuthType(auth))
            }
        }
        other => Err(Unsupported::Type(other.to_string())),
    }
}

/// A member the API may return as null: null (or absent) means "not reported", so the
/// basis value stays (the plan after a write, the prior state on a read); a concrete
/// value, even a different one, is taken as it is, so real drift shows.
fn or_basis<T: Clone>(api: Option<T>, basis: Option<&T>) -> Option<T> {
    api.or_else(|| basis.cloned())
}

/// `oauth_configuration` for the state. Read only when the basis has it (the
/// configuration sets it, or the state held it already), or on import when the
/// application has one; `None` otherwise, whatever the application holds. Every member
/// of the response may be null: see [`or_basis`].
fn oauth_for_state(app: &App, basis: Option<&OAuthModel>, importing: bool) -> Option<OAuthModel> {
    let api = app.oauth_configuration();
    let basis = match basis {
        Some(b) => b.clone(),
        None if importing && api.is_some() => OAuthModel::default(),
        None => return None,
    };
    let Some(api) = api else {
        // Removed from the application (outside Terraform): Managed OAuth is off.
        return Some(OAuthModel {
            enabled: Some(false),
            ..OAuthModel::default()
        });
    };
    let dynamic_client_registration = match api.dynamic_client_registration {
        Some(a) => {
            let b = basis
                .dynamic_client_registration
                .clone()
                .unwrap_or_default();
            Some(DcrModel {
                enabled: or_basis(a.enabled, b.enabled.as_ref()),
                allowed_uris: match a.allowed_uris {
                    Some(uris) => normalise_unordered_list(&uris, b.allowed_uris.as_ref()),
                    None => b.allowed_uris.clone(),
                },
                allow_any_on_localhost: or_basis(
                    a.allow_any_on_localhost,
                    b.allow_any_on_localhost.as_ref(),
                ),
                allow_any_on_loopback: or_basis(
                    a.allow_any_on_loopback,
                    b.allow_any_on_loopback.as_ref(),
                ),
            })
        }
        None => basis.dynamic_client_registration.clone(),
    };
    let grant = match api.grant {
        Some(a) => {
            let b = basis.grant.clone().unwrap_or_default();
            let duration = |api: Option<String>, basis: Option<&String>| {
                or_basis(
                    keep_equivalent_duration(api.as_deref(), basis.map(String::as_str)),
                    basis,
                )
            };
            Some(GrantModel {
                access_token_lifetime: duration(
                    a.access_token_lifetime,
                    b.access_token_lifetime.as_ref(),
                ),
                session_duration: duration(a.session_duration, b.session_duration.as_ref()),
            })
        }
        None => basis.grant.clone(),
    };
    Some(OAuthModel {
        // Cloudflare documents `true` for an object without `enabled`.
        enabled: Some(or_basis(api.enabled, basis.enabled.as_ref()).unwrap_or(true)),
        dynamic_client_registration,
        grant,
    })
}

/// The state for `app`. `basis` is the prior state (read), the plan (create, update)
/// or the empty model (import): wherever the API value only rewrites the basis value,
/// the basis value is kept. `secret` is a client secret from a create response.
pub fn state_from_app(
    app: &App,
    basis: &Model,
    account_id: &str,
    secret: Option<String>,
    scope: &PolicyScope,
) -> Result<Model, Unsupported> {
    check_supported(app)?;
    let app_type = app.app_type.as_str().to_owned();
    let saas_type = app.app_type == AppType::Saas;
    let headers = token_headers(&app_type);
    let basis_saas = basis.saas.clone().unwrap_or_default();

    let domain = if saas_type {
        // SaaS apps may carry a generated domain (the OIDC endpoint host); it is not
        // something the user sets.
        None
    } else {
        match (&app.domain, &basis.domain) {
            (Some(a), Some(b)) if domain_key(a) == domain_key(b) => Some(b.clone()),
            (a, _) => a.clone(),
        }
    };
    let session_duration = if saas_type {
        None
    } else {
        keep_equivalent_duration(
            app.session_duration.as_deref(),
            basis.session_duration.as_deref(),
        )
    };
    let saas = if saas_type {
        let api = app.saas_app.clone().unwrap_or_default();
        let scopes: Vec<String> = api
            .scopes
            .iter()
            .filter(|s| {
                s.as_str() != SERVER_ADDED_SCOPE
                    || basis_saas
                        .scopes
                        .as_ref()
                        .is_some_and(|b| b.iter().any(|x| x == SERVER_ADDED_SCOPE))
            })
            .cloned()
            .collect();
        Some(SaasModel {
            redirect_uris: normalise_unordered_list(
                &api.redirect_uris,
                basis_saas.redirect_uris.as_ref(),
            ),
            grant_types: normalise_set(&api.grant_types, basis_saas.grant_types.as_ref()),
            scopes: normalise_set(&scopes, basis_saas.scopes.as_ref()),
            access_token_lifetime: keep_equivalent_duration(
                api.access_token_lifetime.as_deref(),
                basis_saas.access_token_lifetime.as_deref(),
            ),
            allow_pkce_without_client_secret: Some(
                api.allow_pkce_without_client_secret.unwrap_or(false),
            ),
        })
    } else {
        None
    };
    let oauth_configuration = if saas_type {
        None
    } else {
        let importing = matches!(scope, PolicyScope::Imported { .. });
        oauth_for_state(app, basis.oauth_configuration.as_ref(), importing)
    };
    let client_id = if saas_type {
        app.saas_app
            .as_ref()
            .and_then(|s| s.client_id.clone())
            .or_else(|| basis.client_id.clone())
    } else {
        None
    };
    let client_secret = if saas_type {
        secret.or_else(|| basis.client_secret.clone())
    } else {
        None
    };
    Ok(Model {
        id: Some(app.id.to_string()),
        uid: Some(app.uid.clone().unwrap_or_else(|| app.id.to_string())),
        aud: app.aud.clone().or_else(|| basis.aud.clone()),
        name: app.name.clone().or_else(|| basis.name.clone()),
        app_type: Some(app_type),
        domain,
        session_duration,
        allowed_idps: normalise_set(&app.allowed_idps, basis.allowed_idps.as_ref()),
        auto_redirect_to_identity: Some(app.auto_redirect_to_identity.unwrap_or(false)),
        policy_ids: policy_ids_for_state(app, scope),
        saas,
        oauth_configuration,
        account_id: Some(account_id.to_string()),
        client_id,
        client_secret,
        inbound_token_header: headers.map(|h| h.0.to_string()),
        downstream_token_header: headers.map(|h| h.1.to_string()),
        downstream_token_prefix: headers.map(|h| h.2.to_string()),
    })
}

/// [`state_from_app`] for the answer to a create or update, `basis` being the plan and
/// `planned` / `config` the values Terraform sent with it. For `oauth_configuration`:
/// - an answer without the object (absent or null: an API or fake that does not echo
///   it) says nothing about it, so the planned object stays;
/// - the write sent only what the configuration sets (see [`to_send`]), so it cannot
///   have changed the rest: every part the configuration leaves out stays as planned
///   where the plan knows it; a later refresh reads the API's value.
pub fn state_after_write(
    app: &App,
    basis: &Model,
    account_id: &str,
    secret: Option<String>,
    scope: &PolicyScope,
    config: &Value,
    planned: &Value,
) -> Result<Model, Unsupported> {
    let mut state = state_from_app(app, basis, account_id, secret, scope)?;
    if state.app_type.as_deref() == Some(SELF_HOSTED) {
        if app.oauth_configuration().is_none() && basis.oauth_configuration.is_some() {
            state.oauth_configuration = basis.oauth_configuration.clone();
        }
        let planned_oauth = planned
            .get(attr::OAUTH_CONFIGURATION)
            .unwrap_or(&Value::Null);
        let mut sent = config
            .get(attr::OAUTH_CONFIGURATION)
            .cloned()
            .unwrap_or(Value::Null);
        // `enabled` is sent whenever the object is: planned `true` when omitted.
        if matches!(sent, Value::Object(_))
            && let Some(enabled) = planned_oauth.get(attr::ENABLED)
        {
            sent.set(attr::ENABLED, enabled.clone());
        }
        let mut oauth = state
            .oauth_configuration
            .as_ref()
            .map_or(Value::Null, OAuthModel::to_value);
        keep_unsent(&mut oauth, planned_oauth, &sent);
        state.oauth_configuration = OAuthModel::from_value(&oauth);
    }
    Ok(state)
}

/// Sets every part of `state` that `sent` (the configuration) leaves null to its
/// `planned` value, where the plan knows it; parts the configuration sets keep what
/// the API answered.
fn keep_unsent(state: &mut Value, planned: &Value, sent: &Value) {
    if sent.is_null() {
        if planned.is_wholly_known() {
            *state = planned.clone();
        } else if let Value::Object(members) = planned
            && matches!(state, Value::Object(_))
        {
            for (name, member) in members {
                if let Some(slot) = state.get_mut(name) {
                    keep_unsent(slot, member, &Value::Null);
                }
            }
        }
        return;
    }
    if let Value::Object(members) = sent
        && matches!(state, Value::Object(_))
    {
        for (name, member) in members {
            if let Some(slot) = state.get_mut(name) {
                keep_unsent(slot, planned.get(name).unwrap_or(&Value::Null), member);
            }
        }
    }
}

// ----- request bodies -------------------------------------------------------------------------

fn json_strings(items: &Option<Vec<String>>) -> Json {
    Json::Array(
        items
            .iter()
            .flatten()
            .map(|s| Json::String(s.clone()))
            .collect(),
    )
}

/// `policies` for a create: `{id, precedence}` links, precedence = 1-based position.
fn policy_links_for(ids: &[String]) -> Vec<PolicyLink> {
    ids.iter()
        .enumerate()
        .map(|(i, id)| PolicyLink {
            id: PolicyId::new_unchecked(id.as_str()),
            precedence: u32::try_from(i + 1).unwrap_or(u32::MAX),
        })
        .collect()
}

/// Writes the managed `saas_app` fields into `saas_app` (an object as read, or empty).
fn put_saas_fields(saas_app: &mut Map<String, Json>, saas: &SaasModel) {
    saas_app.insert("auth_type".into(), json!("oidc"));
    saas_app.insert("redirect_uris".into(), json_strings(&saas.redirect_uris));
    saas_app.insert("grant_types".into(), json_strings(&saas.grant_types));
    saas_app.insert("scopes".into(), json_strings(&saas.scopes));
    if let Some(lifetime) = &saas.access_token_lifetime {
        saas_app.insert("access_token_lifetime".into(), json!(lifetime));
    }
    saas_app.insert(
        "allow_pkce_without_client_secret".into(),
        json!(saas.allow_pkce_without_client_secret.unwrap_or(false)),
    );
}

/// Writes the members of `oauth` that are set into `target` (the object as read, or
/// empty); members left unset keep what `target` holds, unknown members included.
fn put_oauth_fields(target: &mut Map<String, Json>, oauth: &OAuthModel) {
    if let Some(enabled) = oauth.enabled {
        target.insert("enabled".into(), json!(enabled));
    }
    let mut nested = |key: &str, fill: &dyn Fn(&mut Map<String, Json>)| {
        let mut obj = match target.remove(key) {
            Some(Json::Object(map)) => map,
            _ => Map::new(),
        };
        fill(&mut obj);
        target.insert(key.into(), Json::Object(obj));
    };
    if let Some(dcr) = &oauth.dynamic_client_registration {
        nested("dynamic_client_registration", &|obj| {
            if let Some(enabled) = dcr.enabled {
                obj.insert("enabled".into(), json!(enabled));
            }
            if dcr.allowed_uris.is_some() {
                obj.insert("allowed_uris".into(), json_strings(&dcr.allowed_uris));
            }
            if let Some(b) = dcr.allow_any_on_localhost {
                obj.insert("allow_any_on_localhost".into(), json!(b));
            }
            if let Some(b) = dcr.allow_any_on_loopback {
                obj.insert("allow_any_on_loopback".into(), json!(b));
            }
        });
    }
    if let Some(grant) = &oauth.grant {
        nested("grant", &|obj| {
            if let Some(d) = &grant.access_token_lifetime {
                obj.insert("access_token_lifetime".into(), json!(d));
            }
            if let Some(d) = &grant.session_duration {
                obj.insert("session_duration".into(), json!(d));
            }
        });
    }
}

/// The model the create and update bodies are built from: `planned`, with
/// `oauth_configuration` reduced to what the configuration sets (its members, and
/// `enabled` as planned), or `None` when the configuration leaves it out, whatever the
/// plan shows (the prior object of an application that does not manage it). What is
/// sent follows the configuration, never a value only shown in the plan.
pub fn to_send(planned: &Model, config: &Value) -> Model {
    let oauth_configuration = config
        .get(attr::OAUTH_CONFIGURATION)
        .and_then(OAuthModel::from_value)
        .map(|mut oauth| {
            oauth.enabled = planned
                .oauth_configuration
                .as_ref()
                .and_then(|p| p.enabled)
                .or(oauth.enabled);
            oauth
        });
    Model {
        oauth_configuration,
        ..planned.clone()
    }
}

/// The POST body for `planned` (built by [`to_send`]). Only fields the user manages are sent, so everything
/// else takes the API's defaults (among them `service_auth_401_redirect`, which suits
/// an MCP server fronted by a login page). `policies` is included so the application
/// never exists, even briefly, without its policies, and one request does it all.
pub fn create_body(planned: &Model) -> Json {
    let mut body = Map::new();
    let app_type = planned.app_type.as_deref().unwrap_or(SELF_HOSTED);
    body.insert("type".into(), json!(app_type));
    body.insert(
        "name".into(),
        json!(planned.name.clone().unwrap_or_default()),
    );
    if app_type == SELF_HOSTED {
        if let Some(domain) = &planned.domain {
            body.insert("domain".into(), json!(domain));
        }
        if let Some(sd) = &planned.session_duration {
            body.insert("session_duration".into(), json!(sd));
        }
        if let Some(oauth) = &planned.oauth_configuration {
            let mut obj = Map::new();
            put_oauth_fields(&mut obj, oauth);
            body.insert("oauth_configuration".into(), Json::Object(obj));
        }
    }
    if planned.allowed_idps.is_some() {
        body.insert("allowed_idps".into(), json_strings(&planned.allowed_idps));
    }
    body.insert(
        "auto_redirect_to_identity".into(),
        json!(planned.auto_redirect_to_identity.unwrap_or(false)),
    );
    if app_type == SAAS {
        let mut saas_app = Map::new();
        put_saas_fields(&mut saas_app, &planned.saas.clone().unwrap_or_default());
        body.insert("saas_app".into(), Json::Object(saas_app));
    }
    if let Some(ids) = planned.policy_ids.as_ref().filter(|ids| !ids.is_empty()) {
        let links = serde_json::to_value(policy_links_for(ids)).unwrap_or(Json::Array(vec![]));
        body.insert("policies".into(), links);
    }
    Json::Object(body)
}

/// Replaces `old` by `new` in the public hosts derived from the domain, so a domain
/// change does not leave `destinations` / `self_hosted_domains` pointing at the old
/// host (the API derives one from the other).
fn move_domain(body: &mut Map<String, Json>, old: &str, new: &str) {
    if let Some(Json::Array(dests)) = body.get_mut("destinations") {
        for d in dests.iter_mut() {
            let public = d
                .get("type")
                .and_then(Json::as_str)
                .is_none_or(|t| t == "public");
            if public
                && d.get("uri").and_then(Json::as_str).map(domain_key) == Some(domain_key(old))
                && let Some(obj) = d.as_object_mut()
            {
                obj.insert("uri".into(), json!(new));
            }
        }
    }
    if let Some(Json::Array(domains)) = body.get_mut("self_hosted_domains") {
        for d in domains.iter_mut() {
            if d.as_str().map(domain_key) == Some(domain_key(old)) {
                *d = json!(new);
            }
        }
    }
}

/// The PUT body for `planned` (built by [`to_send`]): the application exactly as read (fields we do not manage included,
/// `policies` left out so attachments are untouched), with our fields overwritten.
pub fn update_body(app: &App, planned: &Model) -> Json {
    let mut body = match app.to_update_body() {
        Json::Object(map) => map,
        _ => Map::new(),
    };
    if let Some(name) = &planned.name {
        body.insert("name".into(), json!(name));
    }
    if app.app_type == AppType::SelfHosted {
        if let Some(domain) = &planned.domain {
            if let Some(old) = app.domain.as_deref()
                && domain_key(old) != domain_key(domain)
            {
                move_domain(&mut body, old, domain);
            }
            body.insert("domain".into(), json!(domain));
        }
        if let Some(sd) = &planned.session_duration {
            body.insert("session_duration".into(), json!(sd));
        }
        // Omitted from the configuration: sent back exactly as read.
        if let Some(oauth) = &planned.oauth_configuration {
            let mut obj = match body.remove("oauth_configuration") {
                Some(Json::Object(map)) => map,
                _ => Map::new(),
            };
            put_oauth_fields(&mut obj, oauth);
            body.insert("oauth_configuration".into(), Json::Object(obj));
        }
    }
    // Null means "all identity providers", which the API spells as an empty list (or
    // leaves out).
    if planned.allowed_idps.is_some() || body.contains_key("allowed_idps") {
        body.insert("allowed_idps".into(), json_strings(&planned.allowed_idps));
    }
    body.insert(
        "auto_redirect_to_identity".into(),
        json!(planned.auto_redirect_to_identity.unwrap_or(false)),
    );
    if app.app_type == AppType::Saas {
        let mut saas_app = match body.remove("saas_app") {
            Some(Json::Object(map)) => map,
            _ => Map::new(),
        };
        put_saas_fields(&mut saas_app, &planned.saas.clone().unwrap_or_default());
        body.insert("saas_app".into(), Json::Object(saas_app));
    }
    Json::Object(body)
}

// ----- attachments ----------------------------------------------------------------------------

/// Edits an application's attachment list so our ids (`wanted`) are attached in list
/// order; entries we manage (`previous` ∪ `wanted`) are the only ones touched, every
/// other entry keeps its id and precedence. Returns whether anything changed.
///
/// Our attached policies already in list order are left exactly where they are,
/// whatever their precedences (a policy removed from the list is only detached): an
/// application whose own policies sit at 1 and 3 around someone else's at 2 is as the
/// list asks.
/// Otherwise ours take, in list order, the lowest precedences no other entry holds
/// (1, 2, … when we are alone): never a precedence another policy holds, so nobody
/// else's policy is moved, renumbered or refused.
pub fn reconcile_attachments(
    links: &mut Vec<PolicyLink>,
    previous: &[String],
    wanted: &[String],
) -> bool {
    let managed: HashSet<&str> = previous
        .iter()
        .chain(wanted.iter())
        .map(String::as_str)
        .collect();
    let wanted_set: HashSet<&str> = wanted.iter().map(String::as_str).collect();
    let mut ours: Vec<(usize, &PolicyLink)> = links
        .iter()
        .enumerate()
        .filter(|(_, l)| wanted_set.contains(l.id.as_str()))
        .collect();
    ours.sort_by(|(ia, a), (ib, b)| a.precedence.cmp(&b.precedence).then(ia.cmp(ib)));
    let stale = links
        .iter()
        .any(|l| managed.contains(l.id.as_str()) && !wanted_set.contains(l.id.as_str()));
    if ours.iter().map(|(_, l)| &l.id).eq(wanted.iter()) {
        // Ours are where the list wants them: at most a removed one to detach.
        links.retain(|l| !managed.contains(l.id.as_str()) || wanted_set.contains(l.id.as_str()));
        return stale;
    }
    let mut next: Vec<PolicyLink> = links
        .iter()
        .filter(|l| !managed.contains(l.id.as_str()))
        .cloned()
        .collect();
    let held: HashSet<u32> = next.iter().map(|l| l.precedence).collect();
    let mut precedence = 0u32;
    for id in wanted {
        precedence = precedence.saturating_add(1);
        while held.contains(&precedence) && precedence < u32::MAX {
            precedence += 1;
        }
        next.push(PolicyLink {
            id: PolicyId::new_unchecked(id.as_str()),
            precedence,
        });
    }
    let sorted = |v: &[PolicyLink]| {
        let mut v = v.to_vec();
        v.sort();
        v
    };
    let changed = sorted(&next) != sorted(links);
    next.sort_by(|a, b| {
        a.precedence
            .cmp(&b.precedence)
            .then_with(|| a.id.cmp(&b.id))
    });
    *links = next;
    changed
}

// ----- the resource -----------------------------------------------------------------------

/// The resource.
pub struct McpServerAppResource {
    data: Arc<ProviderData>,
}

impl McpServerAppResource {
    /// A resource served through `data`.
    pub fn new(data: Arc<ProviderData>) -> Self {
        McpServerAppResource { data }
    }

    /// Ids of the attached Linked App Token policies, which import leaves out of
    /// `policy_ids`: [`Policy::is_linked_app_token`](crate::cloudflare::Policy::is_linked_app_token),
    /// the definition `cfaccess_linked_app_policy` imports by, so exactly the policies
    /// that resource can own. A policy mixing other rules in is general purpose: it is
    /// listed (and that resource refuses to import it).
    async fn linked_app_policy_ids(
        &self,
        client: &crate::cloudflare::Client,
        account: &AccountId,
        app: &App,
    ) -> Result<HashSet<String>, ApiError> {
        let mut out = HashSet::new();
        for entry in &app.policies {
            let is_lat = match entry.expanded_policy() {
                Some(policy) => policy.is_linked_app_token(),
                None => match client.get_policy(account, &entry.id).await {
                    Ok(p) => p.is_linked_app_token(),
                    Err(e) if e.is_not_found() => false,
                    Err(e) => return Err(e),
                },
            };
            if is_lat {
                out.insert(entry.id.to_string());
            }
        }
        Ok(out)
    }

    /// Plan-time checks against the API: every listed policy exists and suits the app
    /// type. Attachments need no check: ours are placed around everyone else's.
    async fn check_policies_against_api(&self, req: &PlanRequest, diags: &mut Diagnostics) {
        if !self.data.is_ready() {
            return;
        }
        let Some(wanted_value) = req.planned.get(attr::POLICY_IDS) else {
            return;
        };
        let account_value = if req.is_create() {
            req.config
                .get(attr::ACCOUNT_ID)
                .cloned()
                .unwrap_or(Value::Null)
        } else {
            req.prior
                .get(attr::ACCOUNT_ID)
                .cloned()
                .unwrap_or(Value::Null)
        };
        if account_value.is_unknown() {
            return;
        }
        let api = match self.data.api(&account_value) {
            Ok(api) => api,
            Err(d) => {
                diags.extend(d);
                return;
            }
        };
        // Only known ids can be checked; unknown ones are checked at apply.
        let ids: Vec<(usize, String)> = wanted_value
            .elements()
            .unwrap_or(&[])
            .iter()
            .enumerate()
            .filter_map(|(i, el)| el.as_str().map(|id| (i, id.to_string())))
            .collect();
        let recorded = if req.is_create() {
            None
        } else {
            recorded::load::<Recorded>(&req.private)
        };
        let mut found = Findings::new(Stage::Plan(recorded.as_ref()));
        let saas = Model::from_value(&req.planned).is_saas();
        check_policies(&api.client, &api.account_id, &ids, saas, &mut found).await;
        diags.extend(found.diags);
    }
}

/// What Terraform last saved of an application (create, update, import): a check
/// that fails on a policy listed here failed because the policy changed outside
/// Terraform since (see [`recorded`]).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
struct Recorded {
    #[serde(default)]
    policy_ids: BTreeSet<String>,
}

impl Recorded {
    fn of(state: &Model) -> Recorded {
        Recorded {
            policy_ids: state.policy_ids.iter().flatten().cloned().collect(),
        }
    }
}

/// Checks that the policies `ids` (index in `policy_ids`, id) exist and, on a `saas`
/// application, are not Linked App Token policies. One read per policy.
async fn check_policies(
    client: &crate::cloudflare::Client,
    account: &AccountId,
    ids: &[(usize, String)],
    saas: bool,
    found: &mut Findings<'_, Recorded>,
) {
    for (i, id) in ids {
        let path = AttributePath::root(attr::POLICY_IDS).index(*i);
        let recorded = found.recorded().is_some_and(|r| r.policy_ids.contains(id));
        match client
            .get_policy(account, &PolicyId::new_unchecked(id.as_str()))
            .await
        {
            // Not an ownership question: any linked_app_token rule, even in a policy
            // mixing other rules, is refused on non-self-hosted apps.
            Ok(policy) if saas && policy.has_linked_app_token_rule() => found.push(
                path,
                "Linked App Token policy on a SaaS application",
                format!(
                    "Policy {id} ({:?}) is a Linked App Token (Service Auth) policy; \
                     Cloudflare applies those only to self-hosted applications, so it \
                     cannot protect this saas application. List user-facing (allow) \
                     policies here.",
                    policy.name
                ),
                recorded,
            ),
            Ok(_) => {}
            Err(e) if e.is_not_found() => {
                let detail = if recorded {
                    format!(
                        "Policy {id} in policy_ids no longer exists in account {account}: it was \
                         deleted outside Terraform, so it no longer protects this application. \
                         Remove it from policy_ids (or list the policy that replaces it)."
                    )
                } else {
                    format!(
                        "No reusable Access policy {id} exists in account {account}. policy_ids \
                         takes the ids of reusable policies (for example \
                         cloudflare_zero_trust_access_policy.<name>.id)."
                    )
                };
                found.push(path, "Policy not found", detail, recorded);
            }
            Err(e) => found.diags.0.push(errors::api_error_at(
                &format!("look up policy {id}"),
                &e,
                Some(path),
            )),
        }
    }
}

#[async_trait]
impl Resource for McpServerAppResource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn validate(&self, _ctx: &Context, config: &Value, diags: &mut Diagnostics) {
        validate_config(config, diags);
    }

    async fn modify_plan(&self, _ctx: &Context, req: &mut PlanRequest, diags: &mut Diagnostics) {
        plan_fixed_values(req);
        self.data.plan_default_account(req);
        self.check_policies_against_api(req, diags).await;
    }

    async fn create(
        &self,
        _ctx: &Context,
        config: &Value,
        planned: &Value,
        _private: &[u8],
    ) -> ApplyResult {
        let mut diagnostics = Diagnostics::new();
        let account_value = config.get(attr::ACCOUNT_ID).cloned().unwrap_or(Value::Null);
        let api = match self.data.api(&account_value) {
            Ok(api) => api,
            Err(d) => {
                return ApplyResult {
                    diagnostics: d,
                    ..Default::default()
                };
            }
        };
        let plan = Model::from_value(planned);
        let wanted = plan.policy_ids.clone().unwrap_or_default();
        // Checked again before the POST, as update does: ids unknown at plan time (a
        // policy created in the same run) could not be checked then.
        let ids: Vec<(usize, String)> = wanted.iter().cloned().enumerate().collect();
        let mut found = Findings::new(Stage::Apply);
        check_policies(
            &api.client,
            &api.account_id,
            &ids,
            plan.is_saas(),
            &mut found,
        )
        .await;
        if found.diags.has_errors() {
            return ApplyResult {
                diagnostics: found.diags,
                ..Default::default()
            };
        }
        let body = create_body(&to_send(&plan, config));
        let name = plan.name.clone().unwrap_or_default();
        let mut app = match api.client.create_app(&api.account_id, &body).await {
            Ok(app) => app,
            Err(e) => {
                diagnostics.0.push(errors::api_error(
                    &format!("create Access application {name:?}"),
                    &e,
                ));
                // The application exists although its answer could not be read: keep
                // its id so Terraform tracks (and can destroy) it.
                let new_state = e.created_id().map(|id| {
                    Model {
                        id: Some(id.to_owned()),
                        uid: Some(id.to_owned()),
                        account_id: Some(api.account_id.to_string()),
                        ..plan.clone()
                    }
                    .to_value()
                });
                return ApplyResult {
                    new_state,
                    diagnostics,
                    ..Default::default()
                };
            }
        };
        tracing::info!(tf_resource_type = TYPE_NAME, app_id = %app.id, app_type = %app.app_type, "created Access application");
        let secret = app
            .saas_app
            .as_ref()
            .and_then(|s| s.client_secret.as_ref())
            .map(|s| s.expose().to_string());
        if plan.is_saas() && secret.is_none() {
            diagnostics.warning(
                "OIDC client secret not available",
                format!(
                    "Application {} was created, but the API response carried no client secret \
                     (for example because the response was lost and the application was found \
                     again by name). client_secret stays null; rotate the secret in the Zero \
                     Trust dashboard if the MCP client needs it.",
                    app.id
                ),
            );
        }
        let attached = app.policy_ids_by_precedence();
        if wanted.iter().any(|id| !attached.iter().any(|a| a == id)) {
            // Some servers answer a create without the expanded attachments.
            match api.client.get_app_uncached(&api.account_id, &app.id).await {
                Ok(fresh) => app = fresh,
                Err(e) => diagnostics.0.push(errors::api_error(
                    &format!("read application {} after creating it", app.id),
                    &e,
                )),
            }
        }
        let state = match state_after_write(
            &app,
            &plan,
            &api.account_id,
            secret,
            &PolicyScope::Managed(wanted),
            config,
            planned,
        ) {
            Ok(state) => state,
            Err(unsupported) => {
                // The API answered with another type than we sent; keep the id so
                // Terraform tracks (and can destroy) the object.
                let (summary, detail) = unsupported.diagnostic(&app.id);
                diagnostics.error(summary, detail);
                Model {
                    id: Some(app.id.to_string()),
                    uid: Some(app.id.to_string()),
                    account_id: Some(api.account_id.to_string()),
                    ..plan.clone()
                }
            }
        };
        ApplyResult {
            new_state: Some(state.to_value()),
            private: recorded::store(&Recorded::of(&state)),
            diagnostics,
        }
    }

    async fn read(
        &self,
        _ctx: &Context,
        current: &Value,
        private: &[u8],
        _mode: crate::tfplugin::ReadMode,
    ) -> ReadResult {
        let mut diagnostics = Diagnostics::new();
        let prior = Model::from_value(current);
        let account_value = current
            .get(attr::ACCOUNT_ID)
            .cloned()
            .unwrap_or(Value::Null);
        let api = match self.data.api(&account_value) {
            Ok(api) => api,
            Err(d) => {
                return ReadResult {
                    new_state: Some(current.clone()),
                    private: private.to_vec(),
                    diagnostics: d,
                };
            }
        };
        let Some(app_id) = prior.id.clone() else {
            diagnostics.error("Missing application id in state", "The state of this cfaccess_mcp_server_app has no id; remove it from state and import it again.");
            return ReadResult {
                new_state: Some(current.clone()),
                private: private.to_vec(),
                diagnostics,
            };
        };
        let app = match api
            .client
            .get_app(&api.account_id, &AppId::new_unchecked(app_id.as_str()))
            .await
        {
            Ok(app) => app,
            Err(e) if e.is_not_found() => {
                tracing::info!(tf_resource_type = TYPE_NAME, app_id = %app_id, "application gone; removing from state");
                return ReadResult {
                    new_state: None,
                    private: Vec::new(),
                    diagnostics,
                };
            }
            Err(e) => {
                diagnostics.0.push(errors::api_error(
                    &format!("read Access application {app_id}"),
                    &e,
                ));
                return ReadResult {
                    new_state: Some(current.clone()),
                    private: private.to_vec(),
                    diagnostics,
                };
            }
        };
        // `name` is required, so only an import hands read a state without it.
        let importing = prior.name.is_none();
        let scope = if importing {
            match self
                .linked_app_policy_ids(&api.client, &api.account_id, &app)
                .await
            {
                Ok(excluded) => PolicyScope::Imported { excluded },
                Err(e) => {
                    diagnostics.0.push(errors::api_error(
                        &format!("read the policies attached to application {app_id}"),
                        &e,
                    ));
                    return ReadResult {
                        new_state: Some(current.clone()),
                        private: private.to_vec(),
                        diagnostics,
                    };
                }
            }
        } else {
            PolicyScope::Managed(prior.policy_ids.clone().unwrap_or_default())
        };
        match state_from_app(&app, &prior, &api.account_id, None, &scope) {
            Ok(state) => {
                // An import is recorded as it reads; a state saved before records were
                // kept is recorded as Terraform saved it (before this refresh).
                let private = if importing {
                    recorded::store(&Recorded::of(&state))
                } else if recorded::load::<Recorded>(private).is_none() {
                    recorded::store(&Recorded::of(&prior))
                } else {
                    private.to_vec()
                };
                ReadResult {
                    new_state: Some(state.to_value()),
                    private,
                    diagnostics,
                }
            }
            Err(unsupported) => {
                let (summary, detail) = unsupported.diagnostic(&app_id);
                diagnostics.error(summary, detail);
                ReadResult {
                    new_state: Some(current.clone()),
                    private: private.to_vec(),
                    diagnostics,
                }
            }
        }
    }

    async fn update(
        &self,
        _ctx: &Context,
        prior: &Value,
        config: &Value,
        planned: &Value,
        private: &[u8],
    ) -> ApplyResult {
        let mut diagnostics = Diagnostics::new();
        let prior_model = Model::from_value(prior);
        let plan = Model::from_value(planned);
        let keep_prior = |diagnostics: Diagnostics| ApplyResult {
            new_state: Some(prior.clone()),
            private: private.to_vec(),
            diagnostics,
        };
        let account_value = prior.get(attr::ACCOUNT_ID).cloned().unwrap_or(Value::Null);
        let api = match self.data.api(&account_value) {
            Ok(api) => api,
            Err(d) => return keep_prior(d),
        };
        let Some(app_id) = prior_model.id.clone() else {
            diagnostics.error("Missing application id in state", "The state of this cfaccess_mcp_server_app has no id; remove it from state and import it again.");
            return keep_prior(diagnostics);
        };
        let client = &api.client;
        let account = &api.account_id;

        // A direct read (not the snapshot) for the checks before any write and to tell
        // whether anything needs writing; the PUT itself is built on the writer's own
        // fresh read below, so this read never feeds a body.
        let current = match client
            .get_app_uncached(account, &AppId::new_unchecked(app_id.as_str()))
            .await
        {
            Ok(app) => app,
            Err(e) => {
                let action = if e.is_not_found() {
                    format!(
                        "update Access application {app_id}: it was deleted outside Terraform (run terraform apply again to re-create it)"
                    )
                } else {
                    format!("read Access application {app_id} before updating it")
                };
                diagnostics.0.push(errors::api_error(&action, &e));
                return keep_prior(diagnostics);
            }
        };
        let previous = prior_model.policy_ids.clone().unwrap_or_default();
        let wanted = plan.policy_ids.clone().unwrap_or_default();
        // Checked again before any write (a policy may have been deleted since the
        // plan, or was unknown then): the ones not attached now, which a read of the
        // application does not vouch for.
        let attached: HashSet<String> = current.policies.iter().map(|p| p.id.to_string()).collect();
        let unvouched: Vec<(usize, String)> = wanted
            .iter()
            .enumerate()
            .filter(|(_, id)| !attached.contains(*id))
            .map(|(i, id)| (i, id.clone()))
            .collect();
        let mut found = Findings::new(Stage::Apply);
        check_policies(client, account, &unvouched, plan.is_saas(), &mut found).await;
        if found.diags.has_errors() {
            diagnostics.extend(found.diags);
            return keep_prior(diagnostics);
        }
        let attachments_change =
            reconcile_attachments(&mut current.policy_links(), &previous, &wanted);

        let send = to_send(&plan, config);
        let body = update_body(&current, &send);
        let mut app = current.clone();
        if body != current.to_update_body() {
            // Built again from the writer's own fresh read, so nothing another writer
            // changed since `current` is overwritten (and a retry reads again).
            let rebuild = |fresh: &App| Ok(update_body(fresh, &send));
            match client
                .update_app_with(account, &AppId::new_unchecked(app_id.as_str()), rebuild)
                .await
            {
                Ok(updated) => {
                    tracing::info!(tf_resource_type = TYPE_NAME, app_id = %app_id, "updated Access application");
                    app = updated;
                    // The PUT carried no `policies`, so the attachments are as read; an
                    // answer that leaves them out says nothing about them: read again
                    // rather than record them as gone.
                    let shown: HashSet<&str> = app.policies.iter().map(|p| p.id.as_str()).collect();
                    if !attachments_change
                        && current
                            .policies
                            .iter()
                            .any(|p| !shown.contains(p.id.as_str()))
                    {
                        match client
                            .get_app_uncached(account, &AppId::new_unchecked(app_id.as_str()))
                            .await
                        {
                            Ok(fresh) => app = fresh,
                            Err(e) => diagnostics.0.push(errors::api_error(
                                &format!("read application {app_id} after updating it"),
                                &e,
                            )),
                        }
                    }
                }
                Err(e) => {
                    diagnostics.0.push(errors::api_error(
                        &format!("update Access application {app_id}"),
                        &e,
                    ));
                    return keep_prior(diagnostics);
                }
            }
        }

        let mut scope_ids = wanted.clone();
        if attachments_change {
            let result = client
                .modify_attachments(account, &AppId::new_unchecked(app_id.as_str()), |links| {
                    Ok(reconcile_attachments(links, &previous, &wanted))
                })
                .await;
            match result {
                Ok(updated) => {
                    tracing::info!(tf_resource_type = TYPE_NAME, app_id = %app_id, policies = wanted.len(), "reconciled policy attachments");
                    app = updated;
                }
                Err(e) => {
                    diagnostics.0.push(errors::api_error_at(
                        &format!("attach policy_ids to application {app_id}"),
                        &e,
                        Some(AttributePath::root(attr::POLICY_IDS)),
                    ));
                    // State shows every managed policy still attached, so the next plan
                    // repeats what did not happen.
                    scope_ids = previous.iter().chain(wanted.iter()).cloned().collect();
                }
            }
        }

        let basis = Model {
            client_secret: prior_model.client_secret.clone(),
            ..plan.clone()
        };
        match state_after_write(
            &app,
            &basis,
            account,
            None,
            &PolicyScope::Managed(scope_ids),
            config,
            planned,
        ) {
            Ok(state) => ApplyResult {
                new_state: Some(state.to_value()),
                private: recorded::store(&Recorded::of(&state)),
                diagnostics,
            },
            Err(unsupported) => {
                let (summary, detail) = unsupported.diagnostic(&app_id);
                diagnostics.error(summary, detail);
                keep_prior(diagnostics)
            }
        }
    }

    async fn delete(&self, _ctx: &Context, prior: &Value, _private: &[u8]) -> Diagnostics {
        let mut diagnostics = Diagnostics::new();
        let account_value = prior.get(attr::ACCOUNT_ID).cloned().unwrap_or(Value::Null);
        let api = match self.data.api(&account_value) {
            Ok(api) => api,
            Err(d) => return d,
        };
        let Some(app_id) = get_str(prior, attr::ID) else {
            return diagnostics;
        };
        match api
            .client
            .delete_app(&api.account_id, &AppId::new_unchecked(app_id.as_str()))
            .await
        {
            Ok(outcome) => {
                tracing::info!(tf_resource_type = TYPE_NAME, app_id = %app_id, ?outcome, "deleted Access application");
            }
            Err(e) => diagnostics.0.push(errors::api_error(
                &format!("delete Access application {app_id}"),
                &e,
            )),
        }
        diagnostics
    }

    async fn import(&self, _ctx: &Context, id: &str) -> ImportResult {
        let mut diagnostics = Diagnostics::new();
        let (account, app_id) = match import_id::parse(id, "app") {
            Ok(parsed) => parsed,
            Err(d) => {
                return ImportResult {
                    diagnostics: d,
                    ..Default::default()
                };
            }
        };
        let account_value = Value::opt_string(account);
        let api = match self.data.api(&account_value) {
            Ok(api) => api,
            Err(d) => {
                return ImportResult {
                    diagnostics: d,
                    ..Default::default()
                };
            }
        };
        let app = match api
            .client
            .get_app(&api.account_id, &AppId::new_unchecked(app_id.as_str()))
            .await
        {
            Ok(app) => app,
            Err(e) if e.is_not_found() => {
                diagnostics.error(
                    "Cannot import non-existent application",
                    format!(
                        "No Access application {app_id} exists in account {}. Check the id (the \
                         application UUID from the Zero Trust dashboard or the API) and the \
                         account.",
                        api.account_id
                    ),
                );
                return ImportResult {
                    diagnostics,
                    ..Default::default()
                };
            }
            Err(e) => {
                diagnostics.0.push(errors::api_error(
                    &format!("read Access application {app_id} to import it"),
                    &e,
                ));
                return ImportResult {
                    diagnostics,
                    ..Default::default()
                };
            }
        };
        if let Err(unsupported) = check_supported(&app) {
            let (summary, detail) = unsupported.diagnostic(&app_id);
            diagnostics.error(summary, detail);
            return ImportResult {
                diagnostics,
                ..Default::default()
            };
        }
        tracing::info!(tf_resource_type = TYPE_NAME, app_id = %app_id, "importing Access application");
        // Read fills the rest; a state without `name` tells it this is an import.
        let state = Value::object([
            (attr::ID, Value::string(app_id)),
            (attr::ACCOUNT_ID, Value::string(api.account_id)),
        ]);
        ImportResult {
            state: Some(state),
            private: Vec::new(),
            diagnostics,
        }
    }
}

/// The plan values this resource owns (see the module docs of `plan`: Optional+Computed
/// attributes left out of the configuration otherwise keep their prior value, which
/// would hide drift of a value we default).
pub fn plan_fixed_values(req: &mut PlanRequest) {
    if req.planned.is_null() {
        return;
    }
    let creating = req.is_create();
    let app_type = config_type(&req.config);
    let planned = &mut req.planned;
    match &app_type {
        Some(t) => planned.set(attr::TYPE, Value::string(t.clone())),
        None => planned.set(attr::TYPE, Value::Unknown),
    }
    // The generic rules compared `type` before it was set here (it was unknown then),
    // so the replacement decision for `type` is made again from the final value.
    let type_path = AttributePath::root(attr::TYPE);
    req.requires_replace.retain(|p| p != &type_path);
    let prior_type = req.prior.get(attr::TYPE).and_then(Value::as_str);
    if !creating && app_type.as_deref().is_none_or(|t| Some(t) != prior_type) {
        req.requires_replace.push(type_path);
    }
    let headers = app_type.as_deref().and_then(token_headers);
    for (name, value) in [
        (attr::INBOUND_TOKEN_HEADER, headers.map(|h| h.0)),
        (attr::DOWNSTREAM_TOKEN_HEADER, headers.map(|h| h.1)),
        (attr::DOWNSTREAM_TOKEN_PREFIX, headers.map(|h| h.2)),
    ] {
        planned.set(name, value.map_or(Value::Unknown, Value::string));
    }
    if req
        .config
        .get(attr::AUTO_REDIRECT_TO_IDENTITY)
        .is_none_or(Value::is_null)
    {
        planned.set(attr::AUTO_REDIRECT_TO_IDENTITY, Value::Bool(false));
    }
    if req.config.get(attr::SAAS).is_none_or(Value::is_null) {
        planned.set(attr::SAAS, Value::Null);
    }
    // The prior object is shown while the configuration omits it, unless the
    // application is (re)created or becomes another type.
    let oauth_prior =
        if !creating && app_type.as_deref() == Some(SELF_HOSTED) && prior_type == Some(SELF_HOSTED)
        {
            req.prior.get(attr::OAUTH_CONFIGURATION)
        } else {
            None
        };
    plan_oauth_configuration(
        req.config.get(attr::OAUTH_CONFIGURATION),
        oauth_prior,
        planned,
    );
    let pkce_unset = req
        .config
        .get(attr::SAAS)
        .and_then(|s| s.get(attr::ALLOW_PKCE_WITHOUT_CLIENT_SECRET))
        .is_none_or(Value::is_null);
    if pkce_unset
        && let Some(saas) = planned.get_mut(attr::SAAS)
        && matches!(saas, Value::Object(_))
    {
        saas.set(attr::ALLOW_PKCE_WITHOUT_CLIENT_SECRET, Value::Bool(false));
    }
    let same_type = !creating
        && app_type.is_some()
        && req.prior.get(attr::TYPE).and_then(Value::as_str) == app_type.as_deref();
    match app_type.as_deref() {
        Some(SAAS) => {
            planned.set(attr::SESSION_DURATION, Value::Null);
            if same_type {
                // Stable for the application's life; the secret is never re-issued
                // (and stays null after an import).
                for name in [attr::CLIENT_ID, attr::CLIENT_SECRET] {
                    let prior = req.prior.get(name).cloned().unwrap_or(Value::Null);
                    if !(name == attr::CLIENT_ID && prior.is_null()) {
                        planned.set(name, prior);
                    }
                }
            }
        }
        Some(SELF_HOSTED) => {
            planned.set(attr::CLIENT_ID, Value::Null);
            planned.set(attr::CLIENT_SECRET, Value::Null);
        }
        _ => {}
    }
}

/// Plans `oauth_configuration` (see [`oauth_configuration_attribute`]). Left out of the
/// configuration, it is not managed: null, or the prior object (`prior`, the state of
/// the same self-hosted application) unchanged, so an imported application, or one
/// whose configuration stopped setting it, shows what it holds without a diff; it is
/// never sent (see [`to_send`]). Set, it is the configuration with each omitted member
/// taken from the prior state, or unknown when there is no prior object (the API fills
/// it at apply), and an omitted `enabled` planned `true`.
fn plan_oauth_configuration(config: Option<&Value>, prior: Option<&Value>, planned: &mut Value) {
    let config = config.unwrap_or(&Value::Null);
    let prior = prior.filter(|p| matches!(p, Value::Object(_)));
    if config.is_null() {
        planned.set(
            attr::OAUTH_CONFIGURATION,
            prior.cloned().unwrap_or(Value::Null),
        );
        return;
    }
    if config.is_unknown() {
        planned.set(attr::OAUTH_CONFIGURATION, Value::Unknown);
        return;
    }
    let mut value = config.clone();
    fill_omitted_members(&mut value, prior);
    if config.get(attr::ENABLED).is_none_or(Value::is_null) {
        value.set(attr::ENABLED, Value::Bool(true));
    }
    planned.set(attr::OAUTH_CONFIGURATION, value);
}

/// Replaces every null member of the configuration object `value` by the prior
/// member (or unknown without a prior object), recursing into nested objects.
fn fill_omitted_members(value: &mut Value, prior: Option<&Value>) {
    let Value::Object(members) = value else {
        return;
    };
    for (name, member) in members.iter_mut() {
        let prior_member = prior.map(|p| p.get(name).unwrap_or(&Value::Null));
        if member.is_null() {
            *member = prior_member.cloned().unwrap_or(Value::Unknown);
        } else if matches!(member, Value::Object(_)) {
            fill_omitted_members(
                member,
                prior_member.filter(|p| matches!(p, Value::Object(_))),
            );
        }
    }
}

/// Scaffolding shared by this resource's test modules.
#[cfg(test)]
mod test_support {
    use super::*;
    use crate::tfplugin::plan::{fill_nulls, plan_resource_change};
    use crate::tfplugin::validate::validate_config as run_validators;

    /// A configuration object: every schema attribute, null unless given.
    pub(super) fn config(pairs: Vec<(&str, Value)>) -> Value {
        fill_nulls(&schema(), &Value::object(pairs))
    }

    /// What ValidateResourceConfig reports offline: the generic validators, then this
    /// resource's cross-attribute checks.
    pub(super) fn all_diags(cfg: &Value) -> Diagnostics {
        let mut d = run_validators(&schema(), cfg);
        validate_config(cfg, &mut d);
        d
    }

    /// The attribute path of every diagnostic, in order.
    pub(super) fn paths(d: &Diagnostics) -> Vec<String> {
        d.iter()
            .map(|x| x.attribute.clone().unwrap_or_default().to_string())
            .collect()
    }

    /// Terraform's proposed new state (1.0.3 ProposedNew): config, with computed
    /// attributes the config leaves null taken from the prior state (`saas`, computed,
    /// is taken whole from the config when set).
    pub(super) fn proposed(prior: &Value, cfg: &Value) -> Value {
        let mut out = cfg.clone();
        if prior.is_null() {
            return out;
        }
        for a in schema().attributes {
            let c = cfg.get(&a.name).cloned().unwrap_or(Value::Null);
            if a.mode.computed() && c.is_null() {
                out.set(&a.name, prior.get(&a.name).cloned().unwrap_or(Value::Null));
            }
        }
        out
    }

    /// The plan as the server computes it offline: generic rules, then this resource's.
    pub(super) fn plan(prior: &Value, cfg: &Value) -> PlanRequest {
        let (planned, requires_replace) =
            plan_resource_change(&schema(), prior, &proposed(prior, cfg), cfg);
        let mut req = PlanRequest {
            prior: prior.clone(),
            config: cfg.clone(),
            planned,
            requires_replace,
            private: Vec::new(),
        };
        plan_fixed_values(&mut req);
        req
    }
}

/// Managed OAuth (`oauth_configuration`): validation, plan, state and request bodies.
#[cfg(test)]
mod oauth_tests {
    use super::test_support::{all_diags, config, paths, plan};
    use super::*;
    use crate::tfplugin::plan::fill_nulls;

    const APP_ID: &str = "6cdc3892-f9f1-4813-a5ce-38c2753e1208";
    const ACCOUNT: &str = "023e105f4ecef8ad9ca31a8372d0c353";

    /// A self-hosted configuration with `oauth_configuration = oauth`.
    fn with_oauth(oauth: Value) -> Value {
        config(vec![
            (attr::NAME, Value::string("mcp")),
            (attr::DOMAIN, Value::string("mcp.example.com")),
            (attr::OAUTH_CONFIGURATION, oauth),
        ])
    }

    /// An `oauth_configuration` object with every member given (null unless set).
    fn oauth(enabled: Value, dcr: Value, grant: Value) -> Value {
        Value::object([
            (attr::ENABLED, enabled),
            (attr::DYNAMIC_CLIENT_REGISTRATION, dcr),
            (attr::GRANT, grant),
        ])
    }

    fn dcr(uris: Value, localhost: Value) -> Value {
        Value::object([
            (attr::ENABLED, Value::Bool(true)),
            (attr::ALLOWED_URIS, uris),
            (attr::ALLOW_ANY_ON_LOCALHOST, localhost),
            (attr::ALLOW_ANY_ON_LOOPBACK, Value::Null),
        ])
    }

    fn grant(lifetime: Value, session: Value) -> Value {
        Value::object([
            (attr::ACCESS_TOKEN_LIFETIME, lifetime),
            (attr::SESSION_DURATION, session),
        ])
    }

    fn app_with(oauth: Option<serde_json::Value>) -> App {
        let mut app = json!({
            "id": APP_ID, "uid": APP_ID, "name": "mcp", "type": "self_hosted",
            "domain": "mcp.example.com", "session_duration": "24h", "policies": [],
            "tags": ["kept"]
        });
        if let Some(o) = oauth {
            app["oauth_configuration"] = o;
        }
        serde_json::from_value(app).unwrap()
    }

    fn managed() -> PolicyScope {
        PolicyScope::Managed(Vec::new())
    }

    #[test]
    fn valid_oauth_configurations_pass() {
        let full = with_oauth(oauth(
            Value::Bool(true),
            dcr(
                Value::string_list([
                    "https://claude.ai/api/mcp/auth_callback",
                    "https://chatgpt.com/connector/oauth/*",
                    "http://localhost:6274/oauth/callback",
                    "http://127.0.0.1:19876/mcp/oauth/callback",
                    "http://[::1]:8080/cb",
                ]),
                Value::Bool(false),
            ),
            grant(Value::string("15m"), Value::string("336h")),
        ));
        assert!(!all_diags(&full).has_errors(), "{:?}", all_diags(&full));
        let minimal = with_oauth(oauth(Value::Null, Value::Null, Value::Null));
        assert!(!all_diags(&minimal).has_errors());
        let go_units = with_oauth(oauth(
            Value::Null,
            Value::Null,
            grant(Value::string("1h30m"), Value::string("90000ms")),
        ));
        assert!(!all_diags(&go_units).has_errors());
    }

    #[test]
    fn oauth_on_saas_is_refused_with_its_path() {
        let saas = |oauth_value: Value| {
            config(vec![
                (attr::NAME, Value::string("mcp")),
                (attr::TYPE, Value::string(SAAS)),
                (
                    attr::SAAS,
                    Value::object([
                        (
                            attr::REDIRECT_URIS,
                            Value::string_list(["https://a.example.com/cb"]),
                        ),
                        (attr::GRANT_TYPES, Value::string_set(["authorization_code"])),
                        (attr::SCOPES, Value::string_set(["openid"])),
                        (attr::ACCESS_TOKEN_LIFETIME, Value::Null),
                        (attr::ALLOW_PKCE_WITHOUT_CLIENT_SECRET, Value::Null),
                    ]),
                ),
                (attr::OAUTH_CONFIGURATION, oauth_value),
            ])
        };
        let d = all_diags(&saas(oauth(Value::Bool(true), Value::Null, Value::Null)));
        assert_eq!(paths(&d), vec![attr::OAUTH_CONFIGURATION.to_string()]);
        assert!(d.0[0].detail.contains("type = \"self_hosted\""));
        // Unknown (from another resource) is not judged yet; null is fine.
        assert!(!all_diags(&saas(Value::Unknown)).has_errors());
        assert!(!all_diags(&saas(Value::Null)).has_errors());
    }

    #[test]
    fn allowed_uris_and_durations_are_checked_with_paths() {
        let d = all_diags(&with_oauth(oauth(
            Value::Null,
            dcr(
                Value::List(vec![
                    Value::string("https://ok.example.com/cb"),
                    Value::string("http://mcp.example.com/cb"),
                    Value::Unknown,
                    Value::string("com.example.app:/oauth/callback"),
                    Value::string("https://ok.example.com/cb#frag"),
                    Value::string("not a url"),
                ]),
                Value::Null,
            ),
            grant(Value::string("15 minutes"), Value::string("-1h")),
        )));
        let base = "oauth_configuration.dynamic_client_registration.allowed_uris";
        assert_eq!(
            paths(&d),
            vec![
                format!("{base}[1]"),
                format!("{base}[3]"),
                format!("{base}[4]"),
                format!("{base}[5]"),
                "oauth_configuration.grant.access_token_lifetime".to_string(),
                "oauth_configuration.grant.session_duration".to_string(),
            ],
            "{d:?}"
        );
        assert!(d.0[0].detail.contains("other than localhost"));
        assert!(d.0[4].detail.contains("must be a duration"));
        assert!(d.0[5].detail.contains("longer than 0s"));
        let dup = all_diags(&with_oauth(oauth(
            Value::Null,
            dcr(
                Value::string_list(["https://a.example.com/cb", "https://a.example.com/cb"]),
                Value::Null,
            ),
            Value::Null,
        )));
        assert!(dup.has_errors());
        let zero = all_diags(&with_oauth(oauth(
            Value::Null,
            Value::Null,
            grant(Value::string("0s"), Value::Null),
        )));
        assert_eq!(
            paths(&zero),
            vec!["oauth_configuration.grant.access_token_lifetime".to_string()]
        );
    }

    fn planned(prior: &Value, cfg: &Value) -> Value {
        plan(prior, cfg).planned
    }

    #[test]
    fn plan_fills_omitted_members_from_prior_or_leaves_them_unknown() {
        let cfg = with_oauth(oauth(
            Value::Null,
            dcr(
                Value::string_list(["https://a.example.com/cb"]),
                Value::Null,
            ),
            Value::Null,
        ));
        // Create: `enabled` defaults to true, the rest is up to the API.
        let create = planned(&Value::Null, &cfg);
        let o = create.get(attr::OAUTH_CONFIGURATION).unwrap();
        assert_eq!(o.get(attr::ENABLED), Some(&Value::Bool(true)));
        assert_eq!(o.get(attr::GRANT), Some(&Value::Unknown));
        let d = o.get(attr::DYNAMIC_CLIENT_REGISTRATION).unwrap();
        assert_eq!(d.get(attr::ALLOW_ANY_ON_LOCALHOST), Some(&Value::Unknown));
        assert_eq!(
            d.get(attr::ALLOWED_URIS),
            Some(&Value::string_list(["https://a.example.com/cb"]))
        );

        // The state the API produced (nulls included) plans without a change.
        let app = app_with(Some(json!({
            "enabled": null,
            "dynamic_client_registration": {"enabled": true, "allowed_uris": ["https://a.example.com/cb"],
                                            "allow_any_on_localhost": null, "allow_any_on_loopback": false},
            "grant": {"access_token_lifetime": "15m", "session_duration": null}
        })));
        let plan_model = Model::from_value(&create);
        let state = state_from_app(&app, &plan_model, ACCOUNT, None, &managed())
            .unwrap()
            .to_value();
        let prior = fill_nulls(&schema(), &state);
        let again = planned(&prior, &cfg);
        assert_eq!(
            again.get(attr::OAUTH_CONFIGURATION),
            prior.get(attr::OAUTH_CONFIGURATION),
            "no diff for members the API returned as null or defaulted"
        );

        // Drift of `enabled` is planned back to true although the config omits it.
        let mut drifted = prior.clone();
        if let Some(o) = drifted.get_mut(attr::OAUTH_CONFIGURATION) {
            o.set(attr::ENABLED, Value::Bool(false));
        }
        let repaired = planned(&drifted, &cfg);
        assert_eq!(
            repaired
                .get(attr::OAUTH_CONFIGURATION)
                .and_then(|o| o.get(attr::ENABLED)),
            Some(&Value::Bool(true))
        );

        // Omitted: not managed. The prior object is shown unchanged (no diff after an
        // import or once the configuration stops setting it); a create plans null.
        let kept = planned(&prior, &with_oauth(Value::Null));
        assert_eq!(
            kept.get(attr::OAUTH_CONFIGURATION),
            prior.get(attr::OAUTH_CONFIGURATION)
        );
        let none = planned(&Value::Null, &with_oauth(Value::Null));
        assert_eq!(none.get(attr::OAUTH_CONFIGURATION), Some(&Value::Null));
        // Replaced by a saas application: nothing of the old object is planned.
        let mut saas_cfg = with_oauth(Value::Null);
        saas_cfg.set(attr::TYPE, Value::string(SAAS));
        saas_cfg.set(attr::DOMAIN, Value::Null);
        let replaced = planned(&prior, &saas_cfg);
        assert_eq!(replaced.get(attr::OAUTH_CONFIGURATION), Some(&Value::Null));
    }

    #[test]
    fn what_is_sent_follows_the_configuration_not_the_plan() {
        let prior_oauth = Model {
            oauth_configuration: Some(OAuthModel {
                enabled: Some(true),
                dynamic_client_registration: Some(DcrModel {
                    enabled: Some(true),
                    allowed_uris: Some(vec!["https://a/cb".into()]),
                    allow_any_on_localhost: Some(true),
                    allow_any_on_loopback: None,
                }),
                grant: None,
            }),
            ..Model::default()
        };
        // Omitted: the object shown in the plan is not sent.
        let send = to_send(&prior_oauth, &with_oauth(Value::Null));
        assert_eq!(send.oauth_configuration, None);
        assert!(create_body(&send).get("oauth_configuration").is_none());
        // Set: the configured members, and `enabled` as planned; members only filled
        // from the prior state are not sent.
        let cfg = with_oauth(oauth(
            Value::Null,
            dcr(Value::string_list(["https://a/cb"]), Value::Null),
            Value::Null,
        ));
        let send = to_send(&prior_oauth, &cfg);
        assert_eq!(
            send.oauth_configuration,
            Some(OAuthModel {
                enabled: Some(true),
                dynamic_client_registration: Some(DcrModel {
                    enabled: Some(true),
                    allowed_uris: Some(vec!["https://a/cb".into()]),
                    allow_any_on_localhost: None,
                    allow_any_on_loopback: None,
                }),
                grant: None,
            })
        );
    }

    #[test]
    fn state_is_managed_only_when_configured_or_imported() {
        let api = json!({"enabled": true, "grant": {"session_duration": "24h"}});
        let basis_none = Model::default();
        // Not in the configuration: never in state, whatever the app holds.
        let st = state_from_app(
            &app_with(Some(api.clone())),
            &basis_none,
            ACCOUNT,
            None,
            &managed(),
        )
        .unwrap();
        assert_eq!(st.oauth_configuration, None);
        // Import adopts it when the app has one, and only then.
        let imported = PolicyScope::Imported {
            excluded: HashSet::new(),
        };
        let st =
            state_from_app(&app_with(Some(api)), &basis_none, ACCOUNT, None, &imported).unwrap();
        assert_eq!(
            st.oauth_configuration,
            Some(OAuthModel {
                enabled: Some(true),
                dynamic_client_registration: None,
                grant: Some(GrantModel {
                    access_token_lifetime: None,
                    session_duration: Some("24h".into()),
                }),
            })
        );
        let st = state_from_app(&app_with(None), &basis_none, ACCOUNT, None, &imported).unwrap();
        assert_eq!(st.oauth_configuration, None);
    }

    /// [`state_after_write`] with the configuration `oauth_configuration = config_oauth`
    /// and `planned` as the plan.
    fn after_write(app: &App, planned: &Model, config_oauth: Value) -> Model {
        let cfg = with_oauth(config_oauth);
        state_after_write(
            app,
            planned,
            ACCOUNT,
            None,
            &managed(),
            &cfg,
            &fill_nulls(&schema(), &planned.to_value()),
        )
        .unwrap()
    }

    /// A plan for `oauth_configuration` with a member of every kind set.
    fn full_plan() -> Model {
        Model {
            app_type: Some(SELF_HOSTED.into()),
            oauth_configuration: Some(OAuthModel {
                enabled: Some(false),
                dynamic_client_registration: Some(DcrModel {
                    enabled: Some(true),
                    allowed_uris: Some(vec!["https://client.example.com/cb".into()]),
                    allow_any_on_localhost: Some(true),
                    allow_any_on_loopback: Some(false),
                }),
                grant: Some(GrantModel {
                    access_token_lifetime: Some("15m".into()),
                    session_duration: Some("336h".into()),
                }),
            }),
            ..Model::default()
        }
    }

    /// `full_plan`'s object as a configuration.
    fn full_config() -> Value {
        full_plan()
            .oauth_configuration
            .map_or(Value::Null, |o| o.to_value())
    }

    #[test]
    fn a_write_answer_without_the_oauth_key_keeps_the_plan_and_a_read_does_not() {
        let planned = full_plan();
        // The create/update answer leaves the object out, or returns it as null: it
        // says nothing about it, so the planned object stays and the apply is
        // consistent with its plan.
        let absent = app_with(None);
        assert!(!absent.extra.contains_key("oauth_configuration"));
        let st = after_write(&absent, &planned, full_config());
        assert_eq!(st.oauth_configuration, planned.oauth_configuration);
        let null = app_with(Some(serde_json::Value::Null));
        let st = after_write(&null, &planned, full_config());
        assert_eq!(st.oauth_configuration, planned.oauth_configuration);
        // A refresh reads what the API returns, absent and null included: Managed
        // OAuth removed, which shows as drift.
        for app in [&absent, &null] {
            let st = state_from_app(app, &planned, ACCOUNT, None, &managed()).unwrap();
            assert_eq!(st.oauth_configuration.and_then(|o| o.enabled), Some(false));
        }
        // Not configured and not planned: nothing kept, whatever the answer.
        let st = after_write(&absent, &Model::default(), Value::Null);
        assert_eq!(st.oauth_configuration, None);
    }

    #[test]
    fn null_members_in_a_write_answer_keep_the_plan() {
        let planned = full_plan();
        let all_null = json!({
            "enabled": null,
            "dynamic_client_registration": {"enabled": null, "allowed_uris": null,
                                            "allow_any_on_localhost": null, "allow_any_on_loopback": null},
            "grant": {"access_token_lifetime": null, "session_duration": null}
        });
        let nested_null =
            json!({"enabled": null, "dynamic_client_registration": null, "grant": null});
        for answer in [all_null, nested_null, json!({})] {
            let st = after_write(&app_with(Some(answer.clone())), &planned, full_config());
            assert_eq!(
                st.oauth_configuration, planned.oauth_configuration,
                "{answer}"
            );
        }
        // A concrete different value is the API's answer, taken as it is.
        let st = after_write(
            &app_with(Some(
                json!({"enabled": true, "grant": {"access_token_lifetime": "5m"}}),
            )),
            &planned,
            full_config(),
        );
        let o = st.oauth_configuration.unwrap();
        assert_eq!(o.enabled, Some(true));
        assert_eq!(
            o.grant.and_then(|g| g.access_token_lifetime),
            Some("5m".to_string())
        );
    }

    #[test]
    fn parts_the_configuration_leaves_out_stay_as_planned_after_a_write() {
        // The configuration omits the object; the plan shows the prior one (import).
        let planned = full_plan();
        let changed_since = app_with(Some(
            json!({"enabled": true, "grant": {"session_duration": "1h"}}),
        ));
        let st = after_write(&changed_since, &planned, Value::Null);
        assert_eq!(st.oauth_configuration, planned.oauth_configuration);
        // The configuration sets only `grant`: the rest was not sent, so a value that
        // changed between plan and apply stays as planned until the next refresh;
        // `enabled` (sent, planned `true`) and the grant are the API's.
        let mut planned = full_plan();
        if let Some(o) = planned.oauth_configuration.as_mut() {
            o.enabled = Some(true);
        }
        let cfg = oauth(
            Value::Null,
            Value::Null,
            grant(Value::string("15m"), Value::string("336h")),
        );
        let answer = app_with(Some(json!({
            "enabled": true,
            "dynamic_client_registration": {"enabled": true, "allowed_uris": ["https://other/cb"]},
            "grant": {"access_token_lifetime": "0.25h", "session_duration": "336h"}
        })));
        let st = after_write(&answer, &planned, cfg);
        assert_eq!(st.oauth_configuration, planned.oauth_configuration);
    }

    #[test]
    fn state_reads_nulls_defaults_and_rewrites_without_drift() {
        let basis = Model {
            oauth_configuration: Some(OAuthModel {
                enabled: Some(true),
                dynamic_client_registration: Some(DcrModel {
                    enabled: Some(false),
                    allowed_uris: Some(vec!["https://b/cb".into(), "https://a/cb".into()]),
                    allow_any_on_localhost: Some(true),
                    allow_any_on_loopback: None,
                }),
                grant: Some(GrantModel {
                    access_token_lifetime: Some("15m".into()),
                    session_duration: Some("336h".into()),
                }),
            }),
            ..Model::default()
        };
        let app = app_with(Some(json!({
            "dynamic_client_registration": {"enabled": null, "allowed_uris": ["https://a/cb", "https://b/cb"],
                                            "allow_any_on_localhost": true, "allow_any_on_loopback": true},
            "grant": {"access_token_lifetime": "0.25h", "session_duration": "336h0m0s"}
        })));
        let st = state_from_app(&app, &basis, ACCOUNT, None, &managed()).unwrap();
        let mut want = basis.oauth_configuration.clone().unwrap();
        // Unset by the user: the API's value.
        if let Some(d) = want.dynamic_client_registration.as_mut() {
            d.allow_any_on_loopback = Some(true);
        }
        assert_eq!(st.oauth_configuration, Some(want));

        // A member the API returns as null (or leaves out) is not reported: the prior
        // value stays, at every level.
        let quiet = app_with(Some(json!({
            "enabled": null,
            "dynamic_client_registration": {"allowed_uris": null, "allow_any_on_localhost": null},
            "grant": null
        })));
        let st = state_from_app(&quiet, &basis, ACCOUNT, None, &managed()).unwrap();
        assert_eq!(st.oauth_configuration, basis.oauth_configuration);

        // Real drift stays visible: concrete values that differ, a URI gone, a list
        // emptied, the object removed.
        let drifted = app_with(Some(json!({
            "enabled": false,
            "dynamic_client_registration": {"enabled": true, "allowed_uris": ["https://a/cb"],
                                            "allow_any_on_localhost": false},
            "grant": {"access_token_lifetime": "1h", "session_duration": "336h"}
        })));
        let st = state_from_app(&drifted, &basis, ACCOUNT, None, &managed())
            .unwrap()
            .oauth_configuration
            .unwrap();
        assert_eq!(st.enabled, Some(false));
        let d = st.dynamic_client_registration.unwrap();
        assert_eq!(d.enabled, Some(true));
        assert_eq!(d.allowed_uris, Some(vec!["https://a/cb".to_string()]));
        assert_eq!(d.allow_any_on_localhost, Some(false));
        let g = st.grant.unwrap();
        assert_eq!(g.access_token_lifetime, Some("1h".to_string()));
        let emptied = app_with(Some(
            json!({"dynamic_client_registration": {"allowed_uris": []}}),
        ));
        let st = state_from_app(&emptied, &basis, ACCOUNT, None, &managed()).unwrap();
        assert_eq!(
            st.oauth_configuration
                .and_then(|o| o.dynamic_client_registration)
                .map(|d| d.allowed_uris),
            Some(None)
        );
        let removed = state_from_app(&app_with(None), &basis, ACCOUNT, None, &managed()).unwrap();
        assert_eq!(
            removed.oauth_configuration,
            Some(OAuthModel {
                enabled: Some(false),
                ..OAuthModel::default()
            })
        );
    }

    #[test]
    fn bodies_send_only_what_is_set_and_keep_the_rest_as_read() {
        let plan = Model {
            name: Some("mcp".into()),
            app_type: Some(SELF_HOSTED.into()),
            domain: Some("mcp.example.com".into()),
            oauth_configuration: Some(OAuthModel {
                enabled: Some(true),
                dynamic_client_registration: Some(DcrModel {
                    allowed_uris: Some(vec!["https://a/cb".into()]),
                    ..DcrModel::default()
                }),
                grant: None,
            }),
            ..Model::default()
        };
        let body = create_body(&plan);
        assert_eq!(
            body["oauth_configuration"],
            json!({"enabled": true, "dynamic_client_registration": {"allowed_uris": ["https://a/cb"]}})
        );
        let without = create_body(&Model {
            oauth_configuration: None,
            ..plan.clone()
        });
        assert!(without.get("oauth_configuration").is_none());

        let current = app_with(Some(json!({
            "enabled": false, "beta_member": "kept",
            "dynamic_client_registration": {"enabled": true, "allowed_uris": ["https://old/cb"],
                                            "allow_any_on_loopback": true},
            "grant": {"session_duration": "24h"}
        })));
        let body = update_body(&current, &plan);
        assert_eq!(
            body["oauth_configuration"],
            json!({
                "enabled": true, "beta_member": "kept",
                "dynamic_client_registration": {"enabled": true, "allowed_uris": ["https://a/cb"],
                                                "allow_any_on_loopback": true},
                "grant": {"session_duration": "24h"}
            })
        );
        assert_eq!(body["tags"], json!(["kept"]));
        // Omitted: the object goes back exactly as read.
        let body = update_body(
            &current,
            &Model {
                oauth_configuration: None,
                ..plan
            },
        );
        assert_eq!(
            body["oauth_configuration"],
            current.to_update_body()["oauth_configuration"]
        );
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{all_diags, config, paths, plan};
    use super::*;

    const POLICY_A: &str = "a38ab4d4-336d-4f49-9e97-eff8550c13fa";
    const POLICY_B: &str = "5d0c2e1e-1a0a-4a34-9d53-8d7a4a0b7f11";
    const POLICY_LAT: &str = "0f4a2c1e-9b8d-4e7f-a6c5-3d2e1f0a9b8c";
    const FOREIGN: &str = "7c6b5a49-3827-4615-9f4e-2d3c4b5a6978";
    const IDP: &str = "11111111-2222-4333-8444-555555555555";
    const ACCOUNT: &str = "023e105f4ecef8ad9ca31a8372d0c353";
    const APP_ID: &str = "6cdc3892-f9f1-4813-a5ce-38c2753e1208";

    fn saas_config(pairs: Vec<(&str, Value)>) -> Value {
        let mut v = Value::object([
            (
                attr::REDIRECT_URIS,
                Value::string_list(["https://mcp.example.com/oauth/callback"]),
            ),
            (
                attr::GRANT_TYPES,
                Value::string_set(["authorization_code_with_pkce", "refresh_tokens"]),
            ),
            (attr::SCOPES, Value::string_set(["openid", "email"])),
            (attr::ACCESS_TOKEN_LIFETIME, Value::Null),
            (attr::ALLOW_PKCE_WITHOUT_CLIENT_SECRET, Value::Null),
        ]);
        for (k, x) in pairs {
            v.set(k, x);
        }
        v
    }

    fn app(json: serde_json::Value) -> App {
        serde_json::from_value(json).unwrap()
    }

    fn self_hosted_app() -> App {
        app(json!({
            "id": APP_ID, "uid": APP_ID, "aud": "aa".repeat(32), "name": "mcp",
            "type": "self_hosted", "domain": "mcp.example.com", "session_duration": "24h",
            "allowed_idps": [], "auto_redirect_to_identity": false,
            "app_launcher_visible": true, "service_auth_401_redirect": false,
            "destinations": [{"type": "public", "uri": "mcp.example.com"}],
            "self_hosted_domains": ["mcp.example.com"],
            "policies": [
                {"id": POLICY_B, "precedence": 2, "reusable": true, "decision": "allow", "include": [{"everyone": {}}]},
                {"id": POLICY_A, "precedence": 1, "reusable": true, "decision": "allow", "include": [{"everyone": {}}]},
                {"id": POLICY_LAT, "precedence": 3, "reusable": true, "decision": "non_identity",
                 "include": [{"linked_app_token": {"app_uid": "9e2d4a61-3c7b-4f18-a0d5-6b8e1c2f7a02"}}]}
            ]
        }))
    }

    fn saas_app() -> App {
        app(json!({
            "id": APP_ID, "uid": APP_ID, "aud": "bb".repeat(32), "name": "mcp",
            "type": "saas", "domain": "team.cloudflareaccess.com/cdn-cgi/access/sso/oidc/cid",
            "allowed_idps": [IDP], "auto_redirect_to_identity": true,
            "saas_app": {
                "auth_type": "oidc", "client_id": "cid", "public_key": "pk",
                "redirect_uris": ["https://mcp.example.com/oauth/callback"],
                "grant_types": ["refresh_tokens", "authorization_code_with_pkce"],
                "scopes": ["email", "offline_access", "openid"],
                "access_token_lifetime": "5m", "custom_claims": []
            },
            "policies": []
        }))
    }

    #[test]
    fn schema_is_consistent() {
        assert_eq!(schema().internal_problems(), Vec::<String>::new());
        assert!(
            schema()
                .attribute(attr::CLIENT_SECRET)
                .is_some_and(|a| a.sensitive)
        );
        assert!(schema().attribute(attr::TYPE).unwrap().requires_replace());
        assert!(
            schema()
                .attribute(attr::ACCOUNT_ID)
                .unwrap()
                .requires_replace()
        );
    }

    #[test]
    fn valid_configurations_pass() {
        let sh = config(vec![
            (attr::NAME, Value::string("mcp")),
            (attr::DOMAIN, Value::string("mcp.example.com")),
            (attr::SESSION_DURATION, Value::string("12h")),
            (attr::ALLOWED_IDPS, Value::string_set([IDP])),
            (attr::AUTO_REDIRECT_TO_IDENTITY, Value::Bool(true)),
            (attr::POLICY_IDS, Value::string_list([POLICY_A, POLICY_B])),
        ]);
        assert!(all_diags(&sh).is_empty(), "{:?}", all_diags(&sh));
        let saas = config(vec![
            (attr::NAME, Value::string("mcp")),
            (attr::TYPE, Value::string(SAAS)),
            (
                attr::SAAS,
                saas_config(vec![(
                    attr::REDIRECT_URIS,
                    Value::string_list(["https://a.example.com/cb", "http://localhost:8976/cb"]),
                )]),
            ),
        ]);
        assert!(all_diags(&saas).is_empty(), "{:?}", all_diags(&saas));
    }

    #[test]
    fn cross_attribute_errors_carry_paths() {
        let no_domain = config(vec![(attr::NAME, Value::string("mcp"))]);
        assert_eq!(paths(&all_diags(&no_domain)), vec!["domain"]);

        let saas_on_self_hosted = config(vec![
            (attr::NAME, Value::string("mcp")),
            (attr::DOMAIN, Value::string("mcp.example.com")),
            (attr::SAAS, saas_config(vec![])),
        ]);
        assert_eq!(paths(&all_diags(&saas_on_self_hosted)), vec!["saas"]);

        let saas_without_settings = config(vec![
            (attr::NAME, Value::string("mcp")),
            (attr::TYPE, Value::string(SAAS)),
            (attr::DOMAIN, Value::string("mcp.example.com")),
            (attr::SESSION_DURATION, Value::string("1h")),
        ]);
        assert_eq!(
            paths(&all_diags(&saas_without_settings)),
            vec!["saas", "domain", "session_duration"]
        );

        let two_idps = config(vec![
            (attr::NAME, Value::string("mcp")),
            (attr::DOMAIN, Value::string("mcp.example.com")),
            (
                attr::ALLOWED_IDPS,
                Value::string_set([IDP, "21111111-2222-4333-8444-555555555555"]),
            ),
            (attr::AUTO_REDIRECT_TO_IDENTITY, Value::Bool(true)),
        ]);
        assert_eq!(
            paths(&all_diags(&two_idps)),
            vec!["auto_redirect_to_identity"]
        );
    }

    #[test]
    fn unknowns_are_not_judged() {
        let cfg = config(vec![
            (attr::NAME, Value::Unknown),
            (attr::TYPE, Value::Unknown),
            (attr::POLICY_IDS, Value::List(vec![Value::Unknown])),
        ]);
        assert!(all_diags(&cfg).is_empty(), "{:?}", all_diags(&cfg));
        let unknown_domain = config(vec![
            (attr::NAME, Value::string("mcp")),
            (attr::DOMAIN, Value::Unknown),
        ]);
        assert!(all_diags(&unknown_domain).is_empty());
    }

    #[test]
    fn attribute_validators_carry_paths() {
        let cfg = config(vec![
            (attr::NAME, Value::string("mcp")),
            (attr::TYPE, Value::string(SAAS)),
            (
                attr::SAAS,
                saas_config(vec![
                    (
                        attr::REDIRECT_URIS,
                        Value::string_list([
                            "https://ok.example.com/cb",
                            "http://evil.example.com/cb",
                        ]),
                    ),
                    (
                        attr::GRANT_TYPES,
                        Value::string_set(["authorization_code", "password"]),
                    ),
                    (
                        attr::SCOPES,
                        Value::string_set(["openid", "offline_access"]),
                    ),
                    (attr::ACCESS_TOKEN_LIFETIME, Value::string("30s")),
                ]),
            ),
            (
                attr::POLICY_IDS,
                Value::string_list([POLICY_A, "nope", POLICY_A]),
            ),
            (attr::ALLOWED_IDPS, Value::Set(vec![])),
            (attr::ACCOUNT_ID, Value::string("abc")),
        ]);
        let d = all_diags(&cfg);
        let mut got = paths(&d);
        got.sort();
        assert_eq!(
            got,
            vec![
                "account_id",
                "allowed_idps",
                "policy_ids[1]",
                "policy_ids[2]",
                "saas.access_token_lifetime",
                "saas.grant_types",
                "saas.redirect_uris[1]",
                "saas.scopes",
            ]
        );
        let text: String = d.iter().map(|x| x.detail.clone()).collect();
        assert!(text.contains("\"password\""), "{text}");
        assert!(text.contains("\"offline_access\""), "{text}");
        assert!(text.contains("omit the attribute"), "{text}");
    }

    #[test]
    fn durations_and_redirects() {
        assert_eq!(token_lifetime_secs("5m"), Some(300.0));
        assert_eq!(token_lifetime_secs("1h30m"), Some(5400.0));
        for bad in ["30s", "5", "m5", "5ms", "1d", "", "-5m"] {
            assert_eq!(token_lifetime_secs(bad), None, "{bad}");
        }
        assert!(check_redirect_uri("https://mcp.example.com/cb").is_ok());
        assert!(check_redirect_uri("http://127.0.0.1:33418/callback").is_ok());
        assert!(check_redirect_uri("http://[::1]/cb").is_ok());
        assert!(check_redirect_uri("http://mcp.example.com/cb").is_err());
        assert!(check_redirect_uri("cursor://callback").is_err());
        assert!(check_redirect_uri("/relative").is_err());
        assert!(check_redirect_uri("https://x.example.com/cb#frag").is_err());
    }

    fn unknown_paths(v: &Value, base: &str, out: &mut Vec<String>) {
        match v {
            Value::Unknown => out.push(base.to_string()),
            Value::Object(m) => {
                for (k, x) in m {
                    unknown_paths(x, &format!("{base}.{k}"), out);
                }
            }
            _ => {}
        }
    }

    fn self_hosted_config() -> Value {
        config(vec![
            (attr::NAME, Value::string("mcp")),
            (attr::DOMAIN, Value::string("mcp.example.com")),
            (attr::POLICY_IDS, Value::string_list([POLICY_A, POLICY_B])),
        ])
    }

    #[test]
    fn create_plan_predicts_what_it_can() {
        let req = plan(&Value::Null, &self_hosted_config());
        let p = &req.planned;
        assert_eq!(p.get(attr::TYPE), Some(&Value::string(SELF_HOSTED)));
        assert_eq!(
            p.get(attr::INBOUND_TOKEN_HEADER),
            Some(&Value::string("Cf-Access-Jwt-Assertion"))
        );
        assert_eq!(
            p.get(attr::DOWNSTREAM_TOKEN_HEADER),
            Some(&Value::string("Cf-Access-Token"))
        );
        assert_eq!(
            p.get(attr::DOWNSTREAM_TOKEN_PREFIX),
            Some(&Value::string(""))
        );
        assert_eq!(p.get(attr::CLIENT_ID), Some(&Value::Null));
        assert_eq!(p.get(attr::CLIENT_SECRET), Some(&Value::Null));
        assert_eq!(
            p.get(attr::AUTO_REDIRECT_TO_IDENTITY),
            Some(&Value::Bool(false))
        );
        let mut unknown = Vec::new();
        unknown_paths(p, "", &mut unknown);
        assert_eq!(
            unknown,
            vec![".account_id", ".aud", ".id", ".session_duration", ".uid"]
        );

        let saas = config(vec![
            (attr::NAME, Value::string("mcp")),
            (attr::TYPE, Value::string(SAAS)),
            (attr::SAAS, saas_config(vec![])),
        ]);
        let req = plan(&Value::Null, &saas);
        let p = &req.planned;
        assert_eq!(p.get(attr::SESSION_DURATION), Some(&Value::Null));
        assert_eq!(
            p.get(attr::DOWNSTREAM_TOKEN_PREFIX),
            Some(&Value::string("Bearer "))
        );
        assert_eq!(
            p.get(attr::SAAS)
                .and_then(|s| s.get(attr::ALLOW_PKCE_WITHOUT_CLIENT_SECRET)),
            Some(&Value::Bool(false))
        );
        let mut unknown = Vec::new();
        unknown_paths(p, "", &mut unknown);
        assert_eq!(
            unknown,
            vec![
                ".account_id",
                ".aud",
                ".client_id",
                ".client_secret",
                ".id",
                ".saas.access_token_lifetime",
                ".uid"
            ]
        );
    }

    /// State after creating `cfg` against `app`, as create computes it.
    fn created_state(cfg: &Value, app: &App, secret: Option<&str>) -> Value {
        let planned = Model::from_value(&plan(&Value::Null, cfg).planned);
        let scope = PolicyScope::Managed(planned.policy_ids.clone().unwrap_or_default());
        state_from_app(app, &planned, ACCOUNT, secret.map(str::to_string), &scope)
            .unwrap()
            .to_value()
    }

    #[test]
    fn update_plan_has_no_unknowns_and_type_change_replaces() {
        let prior = created_state(&self_hosted_config(), &self_hosted_app(), None);
        // Unchanged: the plan is the prior state.
        let same = plan(&prior, &self_hosted_config());
        assert_eq!(same.planned, prior);
        assert!(same.requires_replace.is_empty());
        // A rename: nothing else becomes "known after apply".
        let mut renamed = self_hosted_config();
        renamed.set(attr::NAME, Value::string("mcp-2"));
        let req = plan(&prior, &renamed);
        let mut unknown = Vec::new();
        unknown_paths(&req.planned, "", &mut unknown);
        assert!(unknown.is_empty(), "{unknown:?}");
        assert!(req.requires_replace.is_empty());
        // Removing `type = "saas"` from the configuration means self_hosted: replace.
        let saas_cfg = config(vec![
            (attr::NAME, Value::string("mcp")),
            (attr::TYPE, Value::string(SAAS)),
            (attr::SAAS, saas_config(vec![])),
        ]);
        let saas_prior = created_state(&saas_cfg, &saas_app(), Some("s3cret"));
        let req = plan(&saas_prior, &self_hosted_config());
        assert!(
            req.requires_replace
                .contains(&AttributePath::root(attr::TYPE))
        );
        assert_eq!(
            req.planned.get(attr::TYPE),
            Some(&Value::string(SELF_HOSTED))
        );
        // A saas update keeps the secret and client id known.
        let mut saas_renamed = saas_cfg.clone();
        saas_renamed.set(attr::NAME, Value::string("mcp-2"));
        let req = plan(&saas_prior, &saas_renamed);
        assert_eq!(
            req.planned.get(attr::CLIENT_SECRET),
            Some(&Value::string("s3cret"))
        );
        let mut unknown = Vec::new();
        unknown_paths(&req.planned, "", &mut unknown);
        assert!(unknown.is_empty(), "{unknown:?}");
        // Removing auto_redirect_to_identity from the config plans the default back.
        let mut on = self_hosted_config();
        on.set(attr::AUTO_REDIRECT_TO_IDENTITY, Value::Bool(true));
        let mut prior_on = prior.clone();
        prior_on.set(attr::AUTO_REDIRECT_TO_IDENTITY, Value::Bool(true));
        let req = plan(&prior_on, &self_hosted_config());
        assert_eq!(
            req.planned.get(attr::AUTO_REDIRECT_TO_IDENTITY),
            Some(&Value::Bool(false))
        );
    }

    #[test]
    fn after_import_the_saas_secret_stays_null_without_unknowns() {
        let saas_cfg = config(vec![
            (attr::NAME, Value::string("mcp")),
            (attr::TYPE, Value::string(SAAS)),
            (attr::SAAS, saas_config(vec![])),
        ]);
        let imported = state_from_app(
            &saas_app(),
            &Model::default(),
            ACCOUNT,
            None,
            &PolicyScope::Imported {
                excluded: HashSet::new(),
            },
        )
        .unwrap()
        .to_value();
        let mut renamed = saas_cfg;
        renamed.set(attr::NAME, Value::string("other"));
        let req = plan(&imported, &renamed);
        assert_eq!(req.planned.get(attr::CLIENT_SECRET), Some(&Value::Null));
        assert_eq!(
            req.planned.get(attr::CLIENT_ID),
            Some(&Value::string("cid"))
        );
    }

    #[test]
    fn state_normalises_server_rewrites() {
        let mut cfg = self_hosted_config();
        cfg.set(attr::SESSION_DURATION, Value::string("1440m"));
        cfg.set(attr::DOMAIN, Value::string("MCP.example.com"));
        let s = Model::from_value(&created_state(&cfg, &self_hosted_app(), None));
        assert_eq!(s.session_duration.as_deref(), Some("1440m"));
        assert_eq!(s.domain.as_deref(), Some("MCP.example.com"));
        assert_eq!(s.allowed_idps, None, "[] from the API is the unset set");
        assert_eq!(s.auto_redirect_to_identity, Some(false));
        assert_eq!(s.policy_ids, Some(vec![POLICY_A.into(), POLICY_B.into()]));
        assert_eq!(s.uid.as_deref(), Some(APP_ID));
        assert_eq!(s.client_id, None);

        // Real drift is kept.
        let mut drifted = self_hosted_app();
        drifted.session_duration = Some("1h".into());
        drifted.domain = Some("other.example.com".into());
        let s = Model::from_value(&created_state(&cfg, &drifted, None));
        assert_eq!(s.session_duration.as_deref(), Some("1h"));
        assert_eq!(s.domain.as_deref(), Some("other.example.com"));
    }

    #[test]
    fn saas_state_hides_server_details_and_keeps_the_secret() {
        let cfg = config(vec![
            (attr::NAME, Value::string("mcp")),
            (attr::TYPE, Value::string(SAAS)),
            (attr::ALLOWED_IDPS, Value::string_set([IDP])),
            (attr::AUTO_REDIRECT_TO_IDENTITY, Value::Bool(true)),
            (attr::SAAS, saas_config(vec![])),
        ]);
        let created = created_state(&cfg, &saas_app(), Some("s3cret"));
        let s = Model::from_value(&created);
        assert_eq!(s.domain, None, "a SaaS app's generated domain is not state");
        assert_eq!(s.client_id.as_deref(), Some("cid"));
        assert_eq!(s.client_secret.as_deref(), Some("s3cret"));
        let saas = s.saas.clone().unwrap();
        assert_eq!(
            saas.scopes,
            Some(vec!["openid".to_string(), "email".to_string()]),
            "offline_access dropped, config order kept"
        );
        assert_eq!(
            saas.grant_types,
            Some(vec![
                "authorization_code_with_pkce".to_string(),
                "refresh_tokens".to_string()
            ])
        );
        assert_eq!(saas.access_token_lifetime.as_deref(), Some("5m"));
        assert_eq!(saas.allow_pkce_without_client_secret, Some(false));
        // A refresh never blanks the secret.
        let refreshed = state_from_app(
            &saas_app(),
            &s,
            ACCOUNT,
            None,
            &PolicyScope::Managed(vec![]),
        )
        .unwrap();
        assert_eq!(refreshed.to_value(), created);
    }

    #[test]
    fn import_equals_create_except_the_secret() {
        let cfg = self_hosted_config();
        let created = created_state(&cfg, &self_hosted_app(), None);
        let excluded: HashSet<String> = [POLICY_LAT.to_string()].into();
        let imported = state_from_app(
            &self_hosted_app(),
            &Model::default(),
            ACCOUNT,
            None,
            &PolicyScope::Imported { excluded },
        )
        .unwrap()
        .to_value();
        assert_eq!(imported, created);

        let saas_cfg = config(vec![
            (attr::NAME, Value::string("mcp")),
            (attr::TYPE, Value::string(SAAS)),
            (attr::ALLOWED_IDPS, Value::string_set([IDP])),
            (attr::AUTO_REDIRECT_TO_IDENTITY, Value::Bool(true)),
            (attr::SAAS, saas_config(vec![])),
        ]);
        let mut created = created_state(&saas_cfg, &saas_app(), Some("s3cret"));
        let imported = state_from_app(
            &saas_app(),
            &Model::default(),
            ACCOUNT,
            None,
            &PolicyScope::Imported {
                excluded: HashSet::new(),
            },
        )
        .unwrap()
        .to_value();
        created.set(attr::CLIENT_SECRET, Value::Null);
        // Sets compare as sets: the import keeps the API's order.
        assert!(
            imported.semantically_equal(&created),
            "{imported:?}\n{created:?}"
        );
    }

    #[test]
    fn policy_ids_follow_precedence_and_ignore_foreign_entries() {
        let app = self_hosted_app();
        let managed =
            |ids: &[&str]| PolicyScope::Managed(ids.iter().map(|s| s.to_string()).collect());
        assert_eq!(
            policy_ids_for_state(&app, &managed(&[POLICY_B, POLICY_A])),
            Some(vec![POLICY_A.to_string(), POLICY_B.to_string()]),
            "reorder out of band shows as a different order"
        );
        assert_eq!(
            policy_ids_for_state(&app, &managed(&[POLICY_A, FOREIGN])),
            Some(vec![POLICY_A.to_string()]),
            "a detached managed policy disappears"
        );
        assert_eq!(policy_ids_for_state(&app, &managed(&[])), None);
        let mut lat = app.clone();
        lat.policies.retain(|p| p.id == POLICY_LAT);
        assert_eq!(
            policy_ids_for_state(
                &lat,
                &PolicyScope::Imported {
                    excluded: [POLICY_LAT.to_string()].into()
                }
            ),
            None
        );
    }

    #[test]
    fn unsupported_apps_are_named() {
        let mut a = self_hosted_app();
        a.app_type = AppType::Ssh;
        assert_eq!(check_supported(&a), Err(Unsupported::Type("ssh".into())));
        let (_, detail) = Unsupported::Type("ssh".into()).diagnostic(APP_ID);
        assert!(
            detail.contains("\"ssh\"") && detail.contains(APP_ID),
            "{detail}"
        );
        let mut s = saas_app();
        s.saas_app.as_mut().unwrap().auth_type = None;
        assert_eq!(
            check_supported(&s),
            Err(Unsupported::AuthType("saml".into()))
        );
        assert!(check_supported(&saas_app()).is_ok());
    }

    #[test]
    fn create_bodies() {
        let planned = Model::from_value(&plan(&Value::Null, &self_hosted_config()).planned);
        assert_eq!(
            create_body(&planned),
            json!({
                "type": "self_hosted", "name": "mcp", "domain": "mcp.example.com",
                "auto_redirect_to_identity": false,
                "policies": [{"id": POLICY_A, "precedence": 1}, {"id": POLICY_B, "precedence": 2}]
            })
        );
        let saas_cfg = config(vec![
            (attr::NAME, Value::string("mcp")),
            (attr::TYPE, Value::string(SAAS)),
            (
                attr::SAAS,
                saas_config(vec![(attr::ACCESS_TOKEN_LIFETIME, Value::string("15m"))]),
            ),
        ]);
        let planned = Model::from_value(&plan(&Value::Null, &saas_cfg).planned);
        let body = create_body(&planned);
        assert_eq!(body["type"], json!("saas"));
        assert_eq!(body.get("domain"), None);
        assert_eq!(body.get("policies"), None);
        assert_eq!(body.get("allowed_idps"), None);
        assert_eq!(body["saas_app"]["auth_type"], json!("oidc"));
        assert_eq!(body["saas_app"]["access_token_lifetime"], json!("15m"));
        assert_eq!(
            body["saas_app"]["allow_pkce_without_client_secret"],
            json!(false)
        );
        assert_eq!(
            body["saas_app"]["redirect_uris"],
            json!(["https://mcp.example.com/oauth/callback"])
        );
    }

    #[test]
    fn update_body_keeps_foreign_fields_and_never_sends_policies() {
        let current = self_hosted_app();
        let mut cfg = self_hosted_config();
        cfg.set(attr::DOMAIN, Value::string("new.example.com"));
        cfg.set(attr::NAME, Value::string("renamed"));
        let prior = created_state(&self_hosted_config(), &current, None);
        let planned = Model::from_value(&plan(&prior, &cfg).planned);
        let body = update_body(&current, &planned);
        assert_eq!(body.get("policies"), None);
        assert_eq!(body["name"], json!("renamed"));
        assert_eq!(body["domain"], json!("new.example.com"));
        assert_eq!(
            body["destinations"],
            json!([{"type": "public", "uri": "new.example.com"}])
        );
        assert_eq!(body["self_hosted_domains"], json!(["new.example.com"]));
        assert_eq!(body["service_auth_401_redirect"], json!(false));
        assert_eq!(body["app_launcher_visible"], json!(true));
        assert_eq!(
            body.get("allowed_idps"),
            None,
            "[] and absent mean the same"
        );
        // Identity providers added out of band are removed by sending the empty list.
        let mut with_idps = current.clone();
        with_idps.allowed_idps = vec![IDP.into()];
        assert_eq!(update_body(&with_idps, &planned)["allowed_idps"], json!([]));
        assert_eq!(body["session_duration"], json!("24h"));
        assert_eq!(body.get("id"), None);

        // Nothing changed: the body equals what was read, so no PUT is needed.
        let same = Model::from_value(&plan(&prior, &self_hosted_config()).planned);
        assert_eq!(update_body(&current, &same), current.to_update_body());

        // SaaS: server fields of saas_app are kept, read-only ones dropped.
        let saas_cfg = config(vec![
            (attr::NAME, Value::string("mcp")),
            (attr::TYPE, Value::string(SAAS)),
            (attr::SAAS, saas_config(vec![])),
        ]);
        let saas_prior = created_state(&saas_cfg, &saas_app(), Some("s"));
        let planned = Model::from_value(&plan(&saas_prior, &saas_cfg).planned);
        let body = update_body(&saas_app(), &planned);
        assert_eq!(body["saas_app"]["custom_claims"], json!([]));
        assert_eq!(body["saas_app"].get("client_id"), None);
        assert_eq!(body["saas_app"]["auth_type"], json!("oidc"));
    }

    fn link(id: &str, precedence: u32) -> PolicyLink {
        PolicyLink {
            id: PolicyId::new_unchecked(id),
            precedence,
        }
    }

    #[test]
    fn attachments_reconcile_around_foreign_entries() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        // Reorder ours, keep the foreign entry at 5, detach a removed one.
        let mut links = vec![
            link(POLICY_A, 1),
            link(POLICY_B, 2),
            link(FOREIGN, 5),
            link(POLICY_LAT, 3),
        ];
        let changed = reconcile_attachments(
            &mut links,
            &s(&[POLICY_A, POLICY_B, POLICY_LAT]),
            &s(&[POLICY_B, POLICY_A]),
        );
        assert!(changed);
        assert_eq!(
            links,
            vec![link(POLICY_B, 1), link(POLICY_A, 2), link(FOREIGN, 5)]
        );
        // Already right: no change.
        let mut again = links.clone();
        assert!(!reconcile_attachments(
            &mut again,
            &s(&[POLICY_B, POLICY_A]),
            &s(&[POLICY_B, POLICY_A])
        ));
        assert_eq!(again, links);
    }

    #[test]
    fn ours_in_list_order_stay_where_they_are_around_foreign_entries() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        // Imported: ours at 1 and 3 around a Linked App Token policy at 2 (the API
        // lists in any order). In list order already: nothing to do, nothing moves.
        let layout = vec![link(POLICY_B, 3), link(POLICY_LAT, 2), link(POLICY_A, 1)];
        let mut links = layout.clone();
        let ours = s(&[POLICY_A, POLICY_B]);
        assert!(!reconcile_attachments(&mut links, &ours, &ours));
        assert_eq!(links, layout, "untouched");
        // Far apart (someone moved ours to 7 and 9): still in order, still untouched.
        let mut far = vec![link(POLICY_A, 7), link(FOREIGN, 8), link(POLICY_B, 9)];
        assert!(!reconcile_attachments(&mut far, &ours, &ours));
        // Not in order any more: ours take the lowest precedences nobody else holds.
        let mut swapped = vec![link(POLICY_A, 3), link(POLICY_LAT, 2), link(POLICY_B, 1)];
        assert!(reconcile_attachments(&mut swapped, &ours, &ours));
        assert_eq!(
            swapped,
            vec![link(POLICY_A, 1), link(POLICY_LAT, 2), link(POLICY_B, 3)]
        );
        // A new policy skips the precedences held by others, who keep theirs.
        let mut held = vec![link(POLICY_A, 1), link(POLICY_LAT, 2), link(FOREIGN, 3)];
        assert!(reconcile_attachments(
            &mut held,
            &s(&[POLICY_A]),
            &s(&[POLICY_A, POLICY_B])
        ));
        assert_eq!(
            held,
            vec![
                link(POLICY_A, 1),
                link(POLICY_LAT, 2),
                link(FOREIGN, 3),
                link(POLICY_B, 4)
            ]
        );
        // A new first policy: ours renumbered around the foreign ones, never onto them.
        let mut first = held.clone();
        assert!(reconcile_attachments(
            &mut first,
            &s(&[POLICY_A, POLICY_B]),
            &s(&[POLICY_B, POLICY_A])
        ));
        assert_eq!(
            first,
            vec![
                link(POLICY_B, 1),
                link(POLICY_LAT, 2),
                link(FOREIGN, 3),
                link(POLICY_A, 4)
            ]
        );
        // Removing one of ours detaches it and leaves the rest where they are.
        let mut removed = vec![link(POLICY_A, 1), link(POLICY_LAT, 2), link(POLICY_B, 3)];
        assert!(reconcile_attachments(
            &mut removed,
            &s(&[POLICY_A, POLICY_B]),
            &s(&[POLICY_B])
        ));
        assert_eq!(removed, vec![link(POLICY_LAT, 2), link(POLICY_B, 3)]);
    }
}

/// Handlers driven the way the server drives them, against the emulator in library
/// mode. Every "terraform command" gets a freshly configured provider, as a new plugin
/// process would (the client's read snapshot lives for one process).
#[cfg(test)]
mod emulator_tests {
    use super::test_support::{config as cfg, proposed};
    use super::*;
    use crate::provider::{CfAccessProvider, provider_schema};
    use crate::tfplugin::plan::{fill_nulls, plan_resource_change};
    use crate::tfplugin::validate::validate_config as run_validators;
    use crate::tfplugin::{ConfigureRequest, Provider};
    use cfaccess_emulator::{
        DEFAULT_ACCOUNT_ID, Emulator, EmulatorConfig, RateLimit, Seed, demo_ids,
    };
    use tokio_util::sync::CancellationToken;

    const TOKEN: &str = "emulator-test-token";
    const ALLOW_1: &str = "1a1a1a1a-0000-4000-8000-000000000001";
    const ALLOW_2: &str = "2b2b2b2b-0000-4000-8000-000000000002";
    const FOREIGN: &str = "3c3c3c3c-0000-4000-8000-000000000003";
    const LAT: &str = "4d4d4d4d-0000-4000-8000-000000000004";

    fn ctx() -> Context {
        Context {
            stop: CancellationToken::new(),
            rpc: "test",
        }
    }

    async fn emulator() -> Emulator {
        let mut seed = Seed::downstream_demo();
        let allow = |id: &str, name: &str| {
            json!({"id": id, "name": name, "decision": "allow",
                   "include": [{"email_domain": {"domain": "example.com"}}]})
        };
        seed.policies.push(allow(ALLOW_1, "allow one"));
        seed.policies.push(allow(ALLOW_2, "allow two"));
        seed.policies.push(allow(FOREIGN, "someone else's"));
        seed.policies.push(
            json!({"id": LAT, "name": "wiki may call", "decision": "non_identity",
            "include": [{"linked_app_token": {"app_uid": demo_ids::COMPANY_WIKI_APP}}]}),
        );
        Emulator::start(EmulatorConfig {
            token: Some(TOKEN.into()),
            rate_limit: Some(RateLimit::disabled()),
            seed: Some(seed),
            ..Default::default()
        })
        .await
        .unwrap()
    }

    /// A configured provider process.
    struct Process {
        resource: Arc<dyn Resource>,
        data_source: Arc<dyn crate::tfplugin::DataSource>,
    }

    async fn process(emu: &Emulator) -> Process {
        process_at(&emu.base_url()).await
    }

    /// A configured provider process talking to the API at `base_url`.
    async fn process_at(base_url: &str) -> Process {
        let provider = CfAccessProvider::new();
        let config = fill_nulls(
            &provider_schema(),
            &Value::object([
                ("api_token", Value::string(TOKEN)),
                ("account_id", Value::string(DEFAULT_ACCOUNT_ID)),
                ("base_url", Value::string(base_url)),
                ("requests_per_second", Value::int(1000)),
                ("max_retries", Value::int(1)),
            ]),
        );
        let d = provider
            .configure(
                &ctx(),
                ConfigureRequest {
                    config,
                    terraform_version: "1.0.3".into(),
                },
            )
            .await;
        assert!(!d.has_errors(), "{d:?}");
        let resource = provider
            .resources()
            .into_iter()
            .find(|r| r.type_name() == TYPE_NAME)
            .unwrap();
        let data_source = provider
            .data_sources()
            .into_iter()
            .find(|r| r.type_name() == crate::data_sources::access_application::TYPE_NAME)
            .unwrap();
        Process {
            resource,
            data_source,
        }
    }

    struct Planned {
        req: PlanRequest,
        diags: Diagnostics,
    }

    impl Planned {
        fn is_noop(&self, prior: &Value) -> bool {
            self.req.planned == *prior
        }
        fn replaces(&self) -> bool {
            !self.req.requires_replace.is_empty()
        }
    }

    async fn validate(p: &Process, cfg: &Value) -> Diagnostics {
        let mut d = run_validators(&schema(), cfg);
        p.resource.validate(&ctx(), cfg, &mut d).await;
        d
    }

    async fn plan(p: &Process, prior: &Value, cfg: &Value) -> Planned {
        plan_with(p, prior, cfg, Vec::new()).await
    }

    /// [`plan`] with the private state Terraform passes along.
    async fn plan_with(p: &Process, prior: &Value, cfg: &Value, private: Vec<u8>) -> Planned {
        let d = validate(p, cfg).await;
        assert!(!d.has_errors(), "{d:?}");
        let (planned, requires_replace) =
            plan_resource_change(&schema(), prior, &proposed(prior, cfg), cfg);
        let mut req = PlanRequest {
            prior: prior.clone(),
            config: cfg.clone(),
            planned,
            requires_replace,
            private,
        };
        let mut diags = Diagnostics::new();
        p.resource.modify_plan(&ctx(), &mut req, &mut diags).await;
        Planned { req, diags }
    }

    /// Checks Terraform's apply contract: every known planned value is kept.
    fn assert_consistent(planned: &Value, state: &Value, path: &str) {
        match (planned, state) {
            (Value::Unknown, s) => assert!(s.is_wholly_known(), "{path}: unknown after apply"),
            (Value::Object(p), Value::Object(s)) => {
                for (k, v) in p {
                    assert_consistent(v, s.get(k).unwrap_or(&Value::Null), &format!("{path}.{k}"));
                }
            }
            (p, s) => assert!(
                p.semantically_equal(s),
                "{path}: planned {p:?}, applied {s:?}"
            ),
        }
    }

    /// `terraform apply` of `cfg` over `prior` (create or update), then a refresh and a
    /// second plan that must be empty. Returns the state.
    async fn apply(emu: &Emulator, prior: &Value, cfg: &Value) -> Value {
        let p = process(emu).await;
        let refreshed = if prior.is_null() {
            Value::Null
        } else {
            fill_nulls(
                &schema(),
                &p.resource
                    .read(&ctx(), prior, &[], crate::tfplugin::ReadMode::Refresh)
                    .await
                    .new_state
                    .unwrap_or(Value::Null),
            )
        };
        let planned = plan(&p, &refreshed, cfg).await;
        assert!(!planned.diags.has_errors(), "{:?}", planned.diags);
        let p = process(emu).await;
        let result = if refreshed.is_null() || planned.replaces() {
            if !refreshed.is_null() {
                let d = p.resource.delete(&ctx(), &refreshed, &[]).await;
                assert!(!d.has_errors(), "{d:?}");
            }
            let create_plan = plan(&p, &Value::Null, cfg).await;
            let r = p
                .resource
                .create(&ctx(), cfg, &create_plan.req.planned, &[])
                .await;
            assert!(!r.diagnostics.has_errors(), "{:?}", r.diagnostics);
            let state = fill_nulls(&schema(), &r.new_state.unwrap());
            assert_consistent(&create_plan.req.planned, &state, "");
            state
        } else {
            let r = p
                .resource
                .update(&ctx(), &refreshed, cfg, &planned.req.planned, &[])
                .await;
            assert!(!r.diagnostics.has_errors(), "{:?}", r.diagnostics);
            let state = fill_nulls(&schema(), &r.new_state.unwrap());
            assert_consistent(&planned.req.planned, &state, "");
            state
        };
        assert!(result.is_wholly_known());
        assert_empty_plan(emu, &result, cfg).await;
        result
    }

    /// `terraform plan` after a refresh shows no change (and writes nothing).
    async fn assert_empty_plan(emu: &Emulator, state: &Value, cfg: &Value) {
        let writes = emu.write_count();
        let p = process(emu).await;
        let refreshed = fill_nulls(
            &schema(),
            &p.resource
                .read(&ctx(), state, &[], crate::tfplugin::ReadMode::Refresh)
                .await
                .new_state
                .unwrap(),
        );
        assert_eq!(&refreshed, state, "refresh changed the state");
        let planned = plan(&p, &refreshed, cfg).await;
        assert!(!planned.diags.has_errors(), "{:?}", planned.diags);
        assert!(
            planned.is_noop(&refreshed),
            "plan not empty:\n{:?}\nvs\n{refreshed:?}",
            planned.req.planned
        );
        assert_eq!(emu.write_count(), writes, "plan wrote to the API");
    }

    /// `terraform plan` after a refresh: true when it shows changes.
    async fn plan_shows_changes(emu: &Emulator, state: &Value, cfg: &Value) -> bool {
        let p = process(emu).await;
        let Some(refreshed) = p
            .resource
            .read(&ctx(), state, &[], crate::tfplugin::ReadMode::Refresh)
            .await
            .new_state
        else {
            return true;
        };
        let refreshed = fill_nulls(&schema(), &refreshed);
        !plan(&p, &refreshed, cfg).await.is_noop(&refreshed)
    }

    async fn import(emu: &Emulator, id: &str) -> Result<Value, Diagnostics> {
        let p = process(emu).await;
        let r = p.resource.import(&ctx(), id).await;
        if r.diagnostics.has_errors() {
            return Err(r.diagnostics);
        }
        let partial = fill_nulls(&schema(), &r.state.unwrap());
        let read = p
            .resource
            .read(
                &ctx(),
                &partial,
                &r.private,
                crate::tfplugin::ReadMode::Import,
            )
            .await;
        if read.diagnostics.has_errors() {
            return Err(read.diagnostics);
        }
        Ok(fill_nulls(&schema(), &read.new_state.unwrap()))
    }

    fn saas(pairs: Vec<(&str, Value)>) -> Value {
        let mut v = Value::object([
            (
                attr::REDIRECT_URIS,
                Value::string_list(["https://mcp.example.com/oauth/callback"]),
            ),
            (
                attr::GRANT_TYPES,
                Value::string_set(["authorization_code_with_pkce", "refresh_tokens"]),
            ),
            (
                attr::SCOPES,
                Value::string_set(["openid", "email", "profile"]),
            ),
            (attr::ACCESS_TOKEN_LIFETIME, Value::Null),
            (attr::ALLOW_PKCE_WITHOUT_CLIENT_SECRET, Value::Null),
        ]);
        for (k, x) in pairs {
            v.set(k, x);
        }
        v
    }

    fn id_of(state: &Value) -> String {
        get_str(state, attr::ID).unwrap()
    }

    fn emu_app(emu: &Emulator, id: &str) -> serde_json::Value {
        emu.app(DEFAULT_ACCOUNT_ID, id).unwrap()
    }

    fn emu_links(emu: &Emulator, id: &str) -> Vec<(String, u64)> {
        emu_app(emu, id)["policies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["id"].as_str().unwrap().to_string(),
                    p["precedence"].as_u64().unwrap(),
                )
            })
            .collect()
    }

    fn links(pairs: &[(&str, u64)]) -> Vec<(String, u64)> {
        pairs.iter().map(|(i, p)| (i.to_string(), *p)).collect()
    }

    #[tokio::test]
    async fn create_plan_shows_the_provider_account_id() {
        let emu = emulator().await;
        let p = process(&emu).await;
        let config = cfg(vec![
            (attr::NAME, Value::string("mcp")),
            (attr::DOMAIN, Value::string("mcp.example.com")),
        ]);
        let planned = plan(&p, &Value::Null, &config).await;
        assert!(!planned.diags.has_errors(), "{:?}", planned.diags);
        assert_eq!(
            planned.req.planned.get(attr::ACCOUNT_ID),
            Some(&Value::string(DEFAULT_ACCOUNT_ID))
        );
    }

    #[tokio::test]
    async fn self_hosted_lifecycle() {
        let emu = emulator().await;
        let mut config = cfg(vec![
            (attr::NAME, Value::string("mcp")),
            (attr::DOMAIN, Value::string("mcp.example.com")),
            (attr::POLICY_IDS, Value::string_list([ALLOW_1, ALLOW_2])),
        ]);
        let state = apply(&emu, &Value::Null, &config).await;
        let id = id_of(&state);
        assert_eq!(get_str(&state, attr::UID).as_deref(), Some(id.as_str()));
        assert_eq!(
            get_str(&state, attr::SESSION_DURATION).as_deref(),
            Some("24h")
        );
        assert_eq!(
            get_str(&state, attr::ACCOUNT_ID).as_deref(),
            Some(DEFAULT_ACCOUNT_ID)
        );
        assert_eq!(emu_links(&emu, &id), links(&[(ALLOW_1, 1), (ALLOW_2, 2)]));
        let posts: Vec<_> = emu
            .request_log()
            .into_iter()
            .filter(|r| r.method == "POST")
            .collect();
        assert_eq!(posts.len(), 1, "one atomic create");
        assert_eq!(
            posts[0].body.as_ref().unwrap()["policies"],
            json!([{"id": ALLOW_1, "precedence": 1}, {"id": ALLOW_2, "precedence": 2}])
        );

        // A policy attached by someone else (a linked_app_policy targeting this app).
        assert!(emu.set_attachments_out_of_band(
            DEFAULT_ACCOUNT_ID,
            &id,
            vec![(ALLOW_1.into(), 1), (ALLOW_2.into(), 2), (LAT.into(), 7)]
        ));
        assert_empty_plan(&emu, &state, &config).await;

        // Each managed field updated in place; the foreign attachment stays put.
        config.set(attr::NAME, Value::string("mcp renamed"));
        config.set(attr::DOMAIN, Value::string("mcp2.example.com"));
        config.set(attr::SESSION_DURATION, Value::string("12h"));
        config.set(attr::AUTO_REDIRECT_TO_IDENTITY, Value::Bool(false));
        config.set(attr::POLICY_IDS, Value::string_list([ALLOW_2, ALLOW_1]));
        let state2 = apply(&emu, &state, &config).await;
        assert_eq!(id_of(&state2), id, "updated in place");
        let app = emu_app(&emu, &id);
        assert_eq!(app["name"], json!("mcp renamed"));
        assert_eq!(app["domain"], json!("mcp2.example.com"));
        assert_eq!(
            app["destinations"],
            json!([{"type": "public", "uri": "mcp2.example.com"}])
        );
        assert_eq!(app["session_duration"], json!("12h"));
        assert_eq!(
            emu_links(&emu, &id),
            links(&[(ALLOW_2, 1), (ALLOW_1, 2), (LAT, 7)])
        );
        // No PUT carried `policies` except through the attachment edit, which kept LAT.
        for r in emu.request_log().iter().filter(|r| r.method == "PUT") {
            if let Some(p) = r.body.as_ref().and_then(|b| b.get("policies")) {
                assert!(
                    p.to_string().contains(LAT),
                    "a PUT dropped the foreign policy: {p}"
                );
            }
        }

        // Dropping a policy from the list detaches only it.
        config.set(attr::POLICY_IDS, Value::string_list([ALLOW_2]));
        let state3 = apply(&emu, &state2, &config).await;
        assert_eq!(emu_links(&emu, &id), links(&[(ALLOW_2, 1), (LAT, 7)]));

        // Out-of-band changes to managed fields show as drift and apply repairs them.
        emu.mutate_app(DEFAULT_ACCOUNT_ID, &id, |a| {
            a["name"] = json!("hijacked");
            a["session_duration"] = json!("1h");
        });
        assert!(plan_shows_changes(&emu, &state3, &config).await);
        let state4 = apply(&emu, &state3, &config).await;
        assert_eq!(emu_app(&emu, &id)["name"], json!("mcp renamed"));
        assert_eq!(emu_app(&emu, &id)["session_duration"], json!("12h"));
        // Out-of-band detach of a managed policy is drift too.
        emu.set_attachments_out_of_band(DEFAULT_ACCOUNT_ID, &id, vec![(LAT.into(), 7)]);
        assert!(plan_shows_changes(&emu, &state4, &config).await);
        let state5 = apply(&emu, &state4, &config).await;
        assert_eq!(emu_links(&emu, &id), links(&[(ALLOW_2, 1), (LAT, 7)]));
        // Fields we do not manage never cause a diff.
        emu.mutate_app(DEFAULT_ACCOUNT_ID, &id, |a| {
            a["app_launcher_visible"] = json!(false);
            a["tags"] = json!(["x"]);
        });
        assert_empty_plan(&emu, &state5, &config).await;
        // ... and an update keeps them.
        config.set(attr::NAME, Value::string("mcp again"));
        let state6 = apply(&emu, &state5, &config).await;
        assert_eq!(emu_app(&emu, &id)["app_launcher_visible"], json!(false));
        assert_eq!(emu_app(&emu, &id)["tags"], json!(["x"]));

        // Import round trip: the same state as the one Terraform holds.
        assert_eq!(import(&emu, &id).await.unwrap(), state6);
        assert_eq!(
            import(&emu, &format!("{DEFAULT_ACCOUNT_ID}/{id}"))
                .await
                .unwrap(),
            state6
        );

        // Out-of-band delete: read drops it, apply re-creates it.
        emu.delete_app_out_of_band(DEFAULT_ACCOUNT_ID, &id);
        let p = process(&emu).await;
        assert!(
            p.resource
                .read(&ctx(), &state6, &[], crate::tfplugin::ReadMode::Refresh)
                .await
                .new_state
                .is_none()
        );
        let recreated = apply(&emu, &Value::Null, &config).await;
        assert_ne!(id_of(&recreated), id);

        // Destroy leaves nothing of ours; a second delete (already gone) is fine.
        let d = p.resource.delete(&ctx(), &recreated, &[]).await;
        assert!(!d.has_errors(), "{d:?}");
        let d = p.resource.delete(&ctx(), &recreated, &[]).await;
        assert!(!d.has_errors(), "{d:?}");
        assert_eq!(
            emu.apps(DEFAULT_ACCOUNT_ID).len(),
            2,
            "only the seed apps remain"
        );
    }

    #[tokio::test]
    async fn saas_lifecycle_and_import() {
        let emu = emulator().await;
        let mut config = cfg(vec![
            (attr::NAME, Value::string("mcp-oidc")),
            (attr::TYPE, Value::string(SAAS)),
            (attr::SAAS, saas(vec![])),
            (attr::POLICY_IDS, Value::string_list([ALLOW_1])),
        ]);
        let state = apply(&emu, &Value::Null, &config).await;
        let id = id_of(&state);
        let secret = get_str(&state, attr::CLIENT_SECRET);
        assert!(secret.as_deref().is_some_and(|s| !s.is_empty()));
        assert!(get_str(&state, attr::CLIENT_ID).is_some());
        assert_eq!(
            state
                .get(attr::SAAS)
                .and_then(|s| s.get(attr::ACCESS_TOKEN_LIFETIME)),
            Some(&Value::string("5m"))
        );
        assert_eq!(
            get_str(&state, attr::DOWNSTREAM_TOKEN_PREFIX).as_deref(),
            Some("Bearer ")
        );
        assert_eq!(get_str(&state, attr::DOMAIN), None);

        // Update every saas field in place; the secret survives.
        config.set(
            attr::SAAS,
            saas(vec![
                (
                    attr::REDIRECT_URIS,
                    Value::string_list(["https://mcp.example.com/cb2", "http://localhost:6274/cb"]),
                ),
                (attr::GRANT_TYPES, Value::string_set(["authorization_code"])),
                (attr::SCOPES, Value::string_set(["openid"])),
                (attr::ACCESS_TOKEN_LIFETIME, Value::string("15m")),
                (attr::ALLOW_PKCE_WITHOUT_CLIENT_SECRET, Value::Bool(true)),
            ]),
        );
        let state2 = apply(&emu, &state, &config).await;
        assert_eq!(id_of(&state2), id);
        assert_eq!(get_str(&state2, attr::CLIENT_SECRET), secret);
        let saas_app = &emu_app(&emu, &id)["saas_app"];
        assert_eq!(saas_app["access_token_lifetime"], json!("15m"));
        assert_eq!(saas_app["allow_pkce_without_client_secret"], json!(true));
        assert_eq!(saas_app["grant_types"], json!(["authorization_code"]));

        // Out-of-band saas change is drift.
        emu.mutate_app(DEFAULT_ACCOUNT_ID, &id, |a| {
            a["saas_app"]["scopes"] = json!(["openid", "groups"]);
        });
        assert!(plan_shows_changes(&emu, &state2, &config).await);
        let state3 = apply(&emu, &state2, &config).await;

        // Import: equal but for the secret, which the API cannot return.
        let imported = import(&emu, &id).await.unwrap();
        let mut expected = state3.clone();
        expected.set(attr::CLIENT_SECRET, Value::Null);
        assert!(
            imported.semantically_equal(&expected),
            "{imported:?}\n{expected:?}"
        );
        assert_empty_plan(&emu, &imported, &config).await;

        // Changing the type plans a replacement.
        let p = process(&emu).await;
        let to_self_hosted = cfg(vec![
            (attr::NAME, Value::string("mcp-oidc")),
            (attr::DOMAIN, Value::string("mcp.example.com")),
        ]);
        assert!(plan(&p, &state3, &to_self_hosted).await.replaces());
    }

    #[tokio::test]
    async fn validation_errors_write_nothing_and_ours_go_around_foreign_policies() {
        let emu = emulator().await;
        let p = process(&emu).await;
        let cases = vec![
            (cfg(vec![(attr::NAME, Value::string("x"))]), "domain"),
            (
                cfg(vec![
                    (attr::NAME, Value::string("x")),
                    (attr::TYPE, Value::string(SAAS)),
                ]),
                "saas",
            ),
            (
                cfg(vec![
                    (attr::NAME, Value::string("x")),
                    (attr::DOMAIN, Value::string("x.example.com")),
                    (attr::SAAS, saas(vec![])),
                ]),
                "saas",
            ),
            (
                cfg(vec![
                    (attr::NAME, Value::string("x")),
                    (attr::DOMAIN, Value::string("x.example.com")),
                    (attr::SESSION_DURATION, Value::string("1 day")),
                ]),
                "session_duration",
            ),
            (
                cfg(vec![
                    (attr::NAME, Value::string("x")),
                    (attr::DOMAIN, Value::string("x.example.com")),
                    (attr::POLICY_IDS, Value::string_list([ALLOW_1, ALLOW_1])),
                ]),
                "policy_ids[1]",
            ),
            (
                cfg(vec![
                    (attr::NAME, Value::string("x")),
                    (attr::DOMAIN, Value::string("x.example.com")),
                    (attr::ALLOWED_IDPS, Value::string_set(["okta"])),
                ]),
                "allowed_idps",
            ),
            (
                cfg(vec![
                    (attr::NAME, Value::string("x")),
                    (attr::TYPE, Value::string(SAAS)),
                    (
                        attr::SAAS,
                        saas(vec![(attr::SCOPES, Value::string_set(["admin"]))]),
                    ),
                ]),
                "saas.scopes",
            ),
        ];
        for (config, path) in cases {
            let d = validate(&p, &config).await;
            let got: Vec<String> = d
                .iter()
                .map(|x| x.attribute.clone().unwrap_or_default().to_string())
                .collect();
            assert_eq!(got, vec![path.to_string()], "{d:?}");
        }
        // Plan-time checks that need the API: an unknown policy, a Linked App Token
        // policy on a SaaS app.
        let missing = cfg(vec![
            (attr::NAME, Value::string("x")),
            (attr::DOMAIN, Value::string("x.example.com")),
            (
                attr::POLICY_IDS,
                Value::string_list([ALLOW_1, "9f9f9f9f-0000-4000-8000-00000000dead"]),
            ),
        ]);
        let planned = plan(&p, &Value::Null, &missing).await;
        assert_eq!(
            planned
                .diags
                .iter()
                .map(|d| d.attribute.clone().unwrap_or_default().to_string())
                .collect::<Vec<_>>(),
            vec!["policy_ids[1]"]
        );
        let lat_on_saas = cfg(vec![
            (attr::NAME, Value::string("x")),
            (attr::TYPE, Value::string(SAAS)),
            (attr::SAAS, saas(vec![])),
            (attr::POLICY_IDS, Value::string_list([LAT])),
        ]);
        let planned = plan(&p, &Value::Null, &lat_on_saas).await;
        assert!(
            planned
                .diags
                .iter()
                .any(|d| d.summary.contains("Linked App Token")),
            "{:?}",
            planned.diags
        );
        assert_eq!(emu.write_count(), 0, "validation and plan wrote nothing");
        // The same ids unknown at plan time (a policy created in the same run) and
        // known at apply: refused by create before the POST, with the same paths.
        for (config, path, summary) in [
            (&missing, "policy_ids[1]", "Policy not found"),
            (&lat_on_saas, "policy_ids[0]", "Linked App Token"),
        ] {
            let mut unknown_at_plan = config.clone();
            unknown_at_plan.set(attr::POLICY_IDS, Value::Unknown);
            let planned = plan(&p, &Value::Null, &unknown_at_plan).await;
            assert!(!planned.diags.has_errors(), "{:?}", planned.diags);
            let mut at_apply = planned.req.planned.clone();
            at_apply.set(
                attr::POLICY_IDS,
                config.get(attr::POLICY_IDS).cloned().unwrap_or(Value::Null),
            );
            let r = p.resource.create(&ctx(), config, &at_apply, &[]).await;
            assert!(r.new_state.is_none(), "nothing created, nothing tracked");
            let errors: Vec<(String, String)> = r
                .diagnostics
                .iter()
                .map(|d| {
                    (
                        d.attribute.clone().unwrap_or_default().to_string(),
                        d.summary.clone(),
                    )
                })
                .collect();
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert_eq!(errors[0].0, path);
            assert!(errors[0].1.contains(summary), "{errors:?}");
        }
        assert_eq!(emu.write_count(), 0, "create refused before any write");

        // A foreign policy holding a precedence the next policy of ours would take:
        // ours goes after it, the foreign one keeps its place, the plan after is empty.
        let config = cfg(vec![
            (attr::NAME, Value::string("mcp")),
            (attr::DOMAIN, Value::string("mcp.example.com")),
            (attr::POLICY_IDS, Value::string_list([ALLOW_1])),
        ]);
        let state = apply(&emu, &Value::Null, &config).await;
        let id = id_of(&state);
        emu.set_attachments_out_of_band(
            DEFAULT_ACCOUNT_ID,
            &id,
            vec![(ALLOW_1.into(), 1), (FOREIGN.into(), 2)],
        );
        let mut two = config.clone();
        two.set(attr::POLICY_IDS, Value::string_list([ALLOW_1, ALLOW_2]));
        let state = apply(&emu, &state, &two).await;
        assert_eq!(
            emu_links(&emu, &id),
            links(&[(ALLOW_1, 1), (FOREIGN, 2), (ALLOW_2, 3)])
        );
        // Reordered: ours swap around it; it stays at 2.
        let mut swapped = config.clone();
        swapped.set(attr::POLICY_IDS, Value::string_list([ALLOW_2, ALLOW_1]));
        apply(&emu, &state, &swapped).await;
        assert_eq!(
            emu_links(&emu, &id),
            links(&[(ALLOW_2, 1), (FOREIGN, 2), (ALLOW_1, 3)])
        );
    }

    #[tokio::test]
    async fn a_policy_deleted_outside_terraform_warns_at_plan_and_stops_the_apply() {
        let emu = emulator().await;
        let config = cfg(vec![
            (attr::NAME, Value::string("mcp")),
            (attr::DOMAIN, Value::string("mcp.example.com")),
            (attr::POLICY_IDS, Value::string_list([ALLOW_1, ALLOW_2])),
        ]);
        let p = process(&emu).await;
        let create_plan = plan(&p, &Value::Null, &config).await;
        let created = p
            .resource
            .create(&ctx(), &config, &create_plan.req.planned, &[])
            .await;
        assert!(
            !created.diagnostics.has_errors(),
            "{:?}",
            created.diagnostics
        );
        assert!(!created.private.is_empty(), "create records what it saved");
        let state = fill_nulls(&schema(), &created.new_state.unwrap());
        let id = id_of(&state);
        assert!(emu.delete_policy_out_of_band(DEFAULT_ACCOUNT_ID, ALLOW_2));

        let p = process(&emu).await;
        let read = p
            .resource
            .read(
                &ctx(),
                &state,
                &created.private,
                crate::tfplugin::ReadMode::Refresh,
            )
            .await;
        let refreshed = fill_nulls(&schema(), &read.new_state.unwrap());
        assert_eq!(
            get_strings(&refreshed, attr::POLICY_IDS),
            Some(vec![ALLOW_1.to_string()])
        );
        // Terraform keeps the private state when read answers none.
        let private = if read.private.is_empty() {
            created.private.clone()
        } else {
            read.private
        };
        let planned = plan_with(&p, &refreshed, &config, private.clone()).await;
        assert!(!planned.diags.has_errors(), "{:?}", planned.diags);
        let warning = planned.diags.iter().next().expect("a warning");
        assert!(warning.summary.contains("Policy not found"), "{warning:?}");
        assert!(warning.detail.contains(ALLOW_2), "{warning:?}");
        assert_eq!(
            warning.attribute.clone().unwrap_or_default().to_string(),
            "policy_ids[1]"
        );
        // Without the record (a policy id the configuration asks for anew) it is an
        // error, as before.
        let unrecorded = plan_with(&p, &refreshed, &config, Vec::new()).await;
        assert!(unrecorded.diags.has_errors(), "{:?}", unrecorded.diags);
        // Apply stops before any write.
        let writes = emu.write_count();
        let r = p
            .resource
            .update(&ctx(), &refreshed, &config, &planned.req.planned, &private)
            .await;
        assert!(r.diagnostics.has_errors(), "{:?}", r.diagnostics);
        assert!(
            r.diagnostics
                .iter()
                .any(|d| d.summary == "Policy not found" && d.detail.contains(ALLOW_2)),
            "{:?}",
            r.diagnostics
        );
        assert_eq!(emu.write_count(), writes, "nothing written");
        assert_eq!(emu_links(&emu, &id), links(&[(ALLOW_1, 1)]));
        // A destroy plans nothing to check and deletes.
        let mut destroy = PlanRequest {
            prior: refreshed.clone(),
            config: Value::Null,
            planned: Value::Null,
            requires_replace: vec![],
            private,
        };
        let mut d = Diagnostics::new();
        p.resource.modify_plan(&ctx(), &mut destroy, &mut d).await;
        assert!(d.is_empty(), "{d:?}");
        let d = p.resource.delete(&ctx(), &refreshed, &[]).await;
        assert!(!d.has_errors(), "{d:?}");
        assert!(emu.app(DEFAULT_ACCOUNT_ID, &id).is_none());
    }

    #[tokio::test]
    async fn import_around_a_linked_policy_plans_nothing_and_moves_nobody() {
        let emu = emulator().await;
        let config = cfg(vec![
            (attr::NAME, Value::string("mcp")),
            (attr::DOMAIN, Value::string("mcp.example.com")),
            (attr::POLICY_IDS, Value::string_list([ALLOW_1, ALLOW_2])),
        ]);
        let state = apply(&emu, &Value::Null, &config).await;
        let id = id_of(&state);
        // Ours at 1 and 3, a Linked App Token policy (owned elsewhere) at 2.
        let layout = links(&[(ALLOW_1, 1), (LAT, 2), (ALLOW_2, 3)]);
        emu.set_attachments_out_of_band(
            DEFAULT_ACCOUNT_ID,
            &id,
            layout.iter().map(|(i, p)| (i.clone(), *p as u32)).collect(),
        );
        let imported = import(&emu, &id).await.unwrap();
        assert_eq!(
            get_strings(&imported, attr::POLICY_IDS),
            Some(vec![ALLOW_1.to_string(), ALLOW_2.to_string()])
        );
        assert_empty_plan(&emu, &imported, &config).await;
        // Another change applies without renumbering anyone.
        let mut renamed = config.clone();
        renamed.set(attr::NAME, Value::string("mcp renamed"));
        let state = apply(&emu, &imported, &renamed).await;
        assert_eq!(emu_links(&emu, &id), layout);
        // A real change to the list places ours around the linked policy.
        let mut reordered = renamed.clone();
        reordered.set(attr::POLICY_IDS, Value::string_list([ALLOW_2, ALLOW_1]));
        apply(&emu, &state, &reordered).await;
        assert_eq!(
            emu_links(&emu, &id),
            links(&[(ALLOW_2, 1), (LAT, 2), (ALLOW_1, 3)])
        );
    }

    /// An API that never echoes `oauth_configuration` and answers a PUT without the
    /// application's `policies` (both keys absent): [`scripted_api`].
    async fn terse_api() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        scripted_api(None, None).await
    }

    /// A scripted API on a bare HTTP/1.1 socket: answers by method and path, counts
    /// requests. A GET of the application carries `oauth_configuration = read_oauth`,
    /// the answer to a POST or PUT `written_oauth` (the key absent for `None`); only
    /// a GET lists the `policies`.
    async fn scripted_api(
        read_oauth: Option<serde_json::Value>,
        written_oauth: Option<serde_json::Value>,
    ) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/client/v4", listener.local_addr().unwrap());
        let count = Arc::new(AtomicUsize::new(0));
        let seen = count.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                seen.fetch_add(1, Ordering::SeqCst);
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let head_end = loop {
                    if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break at;
                    }
                    match socket.read(&mut chunk).await {
                        Ok(0) | Err(_) => break 0,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.trim()
                            .eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse().ok())?
                    })
                    .unwrap_or(0);
                let mut body_len = buf.len().saturating_sub(head_end + 4);
                while body_len < length {
                    match socket.read(&mut chunk).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => body_len += n,
                    }
                }
                let line = head.lines().next().unwrap_or_default().to_string();
                let mut app = json!({
                    "id": APP_ID, "uid": APP_ID, "aud": "aud-tag", "name": "mcp",
                    "type": "self_hosted", "domain": "mcp.example.com",
                    "session_duration": "24h", "auto_redirect_to_identity": false,
                });
                let (status, result) = if line.starts_with("GET ") && line.contains("/policies/") {
                    (
                        200,
                        json!({"id": ALLOW_1, "name": "allow one", "decision": "allow",
                                 "include": [{"email_domain": {"domain": "example.com"}}]}),
                    )
                } else if line.starts_with("GET ") && line.contains(APP_ID) {
                    app["policies"] = json!([{"id": ALLOW_1, "precedence": 1}]);
                    if let Some(o) = &read_oauth {
                        app["oauth_configuration"] = o.clone();
                    }
                    (200, app)
                } else if (line.starts_with("PUT ") && line.contains(APP_ID))
                    || (line.starts_with("POST ") && line.contains("/access/apps "))
                {
                    if let Some(o) = &written_oauth {
                        app["oauth_configuration"] = o.clone();
                    }
                    (200, app)
                } else {
                    (404, serde_json::Value::Null)
                };
                let body = json!({"success": status == 200, "errors": [], "messages": [],
                                  "result": result})
                .to_string();
                let response = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            }
        });
        (base, count)
    }

    const APP_ID: &str = "5e5e5e5e-0000-4000-8000-000000000005";

    /// `oauth_configuration` with every member set, as a configuration.
    fn full_oauth_config(lifetime: &str) -> Value {
        Value::object([
            (attr::ENABLED, Value::Bool(false)),
            (
                attr::DYNAMIC_CLIENT_REGISTRATION,
                Value::object([
                    (attr::ENABLED, Value::Bool(true)),
                    (
                        attr::ALLOWED_URIS,
                        Value::string_list(["https://claude.ai/api/mcp/auth_callback"]),
                    ),
                    (attr::ALLOW_ANY_ON_LOCALHOST, Value::Bool(true)),
                    (attr::ALLOW_ANY_ON_LOOPBACK, Value::Bool(false)),
                ]),
            ),
            (
                attr::GRANT,
                Value::object([
                    (attr::ACCESS_TOKEN_LIFETIME, Value::string(lifetime)),
                    (attr::SESSION_DURATION, Value::string("336h")),
                ]),
            ),
        ])
    }

    #[tokio::test]
    async fn write_answers_with_null_oauth_members_keep_the_plan() {
        let nulls = json!({
            "enabled": null,
            "dynamic_client_registration": {"enabled": null, "allowed_uris": null,
                                            "allow_any_on_localhost": null, "allow_any_on_loopback": null},
            "grant": null
        });
        let (base, _requests) = scripted_api(Some(nulls.clone()), Some(nulls)).await;
        let p = process_at(&base).await;
        let with = |lifetime: &str| {
            cfg(vec![
                (attr::NAME, Value::string("mcp")),
                (attr::DOMAIN, Value::string("mcp.example.com")),
                (attr::OAUTH_CONFIGURATION, full_oauth_config(lifetime)),
            ])
        };
        // Create: the POST answer reports every member as null.
        let config = with("15m");
        let planned = plan(&p, &Value::Null, &config).await;
        assert!(!planned.diags.has_errors(), "{:?}", planned.diags);
        let r = p
            .resource
            .create(&ctx(), &config, &planned.req.planned, &[])
            .await;
        assert!(!r.diagnostics.has_errors(), "{:?}", r.diagnostics);
        let state = fill_nulls(&schema(), &r.new_state.unwrap());
        assert_consistent(&planned.req.planned, &state, "");
        assert_eq!(
            state.get(attr::OAUTH_CONFIGURATION),
            Some(&full_oauth_config("15m"))
        );
        // A refresh reporting nothing either keeps the state, so the plan is empty.
        let read = p
            .resource
            .read(
                &ctx(),
                &state,
                &r.private,
                crate::tfplugin::ReadMode::Refresh,
            )
            .await;
        assert!(!read.diagnostics.has_errors(), "{:?}", read.diagnostics);
        let refreshed = fill_nulls(&schema(), &read.new_state.unwrap());
        assert_eq!(
            refreshed.get(attr::OAUTH_CONFIGURATION),
            state.get(attr::OAUTH_CONFIGURATION)
        );
        let same = plan(&p, &refreshed, &config).await;
        assert_eq!(
            same.req.planned.get(attr::OAUTH_CONFIGURATION),
            refreshed.get(attr::OAUTH_CONFIGURATION)
        );
        // Update: the PUT answer reports every member as null too.
        let config = with("5m");
        let planned = plan(&p, &refreshed, &config).await;
        let r = p
            .resource
            .update(
                &ctx(),
                &refreshed,
                &config,
                &planned.req.planned,
                &read.private,
            )
            .await;
        assert!(!r.diagnostics.has_errors(), "{:?}", r.diagnostics);
        let state = fill_nulls(&schema(), &r.new_state.unwrap());
        assert_consistent(&planned.req.planned, &state, "");
        assert_eq!(
            state.get(attr::OAUTH_CONFIGURATION),
            Some(&full_oauth_config("5m"))
        );
    }

    #[tokio::test]
    async fn a_write_answer_with_a_null_oauth_object_keeps_the_plan() {
        let (base, _requests) = scripted_api(None, Some(serde_json::Value::Null)).await;
        let p = process_at(&base).await;
        let config = cfg(vec![
            (attr::NAME, Value::string("mcp")),
            (attr::DOMAIN, Value::string("mcp.example.com")),
            (attr::OAUTH_CONFIGURATION, full_oauth_config("15m")),
        ]);
        let planned = plan(&p, &Value::Null, &config).await;
        let r = p
            .resource
            .create(&ctx(), &config, &planned.req.planned, &[])
            .await;
        assert!(!r.diagnostics.has_errors(), "{:?}", r.diagnostics);
        let state = fill_nulls(&schema(), &r.new_state.unwrap());
        assert_consistent(&planned.req.planned, &state, "");
    }

    #[tokio::test]
    async fn an_update_answer_without_oauth_or_policies_keeps_the_plan() {
        let (base, _requests) = terse_api().await;
        let p = process_at(&base).await;
        // The state before: ALLOW_1 attached, no Managed OAuth in the configuration.
        let base_cfg = vec![
            (attr::NAME, Value::string("mcp")),
            (attr::DOMAIN, Value::string("mcp.example.com")),
            (attr::POLICY_IDS, Value::string_list([ALLOW_1])),
        ];
        let imported = Value::object([
            (attr::ID, Value::string(APP_ID)),
            (attr::ACCOUNT_ID, Value::string(DEFAULT_ACCOUNT_ID)),
        ]);
        let read = p
            .resource
            .read(
                &ctx(),
                &fill_nulls(&schema(), &imported),
                &[],
                crate::tfplugin::ReadMode::Refresh,
            )
            .await;
        assert!(!read.diagnostics.has_errors(), "{:?}", read.diagnostics);
        let prior = fill_nulls(&schema(), &read.new_state.unwrap());
        assert_eq!(
            get_strings(&prior, attr::POLICY_IDS),
            Some(vec![ALLOW_1.to_string()])
        );
        // Managed OAuth turned on: the update's PUT answer has neither key.
        let mut with_oauth = base_cfg.clone();
        with_oauth.push((
            attr::OAUTH_CONFIGURATION,
            Value::object([(attr::ENABLED, Value::Bool(true))]),
        ));
        let config = cfg(with_oauth);
        let planned = plan(&p, &prior, &config).await;
        assert!(!planned.diags.has_errors(), "{:?}", planned.diags);
        let r = p
            .resource
            .update(&ctx(), &prior, &config, &planned.req.planned, &[])
            .await;
        assert!(!r.diagnostics.has_errors(), "{:?}", r.diagnostics);
        let state = fill_nulls(&schema(), &r.new_state.unwrap());
        assert_consistent(&planned.req.planned, &state, "");
        assert_eq!(
            get_strings(&state, attr::POLICY_IDS),
            Some(vec![ALLOW_1.to_string()]),
            "attachments read again, not recorded as gone"
        );
        assert_eq!(
            state
                .get(attr::OAUTH_CONFIGURATION)
                .and_then(|o| o.get(attr::ENABLED)),
            Some(&Value::Bool(true))
        );
        // A later refresh reads what the API returns: no Managed OAuth, which shows.
        let refreshed = p
            .resource
            .read(
                &ctx(),
                &state,
                &r.private,
                crate::tfplugin::ReadMode::Refresh,
            )
            .await;
        let refreshed = fill_nulls(&schema(), &refreshed.new_state.unwrap());
        assert_eq!(
            refreshed
                .get(attr::OAUTH_CONFIGURATION)
                .and_then(|o| o.get(attr::ENABLED)),
            Some(&Value::Bool(false))
        );
    }

    #[tokio::test]
    async fn import_lists_a_mixed_service_auth_policy_and_skips_only_pure_linked_ones() {
        let emu = emulator().await;
        // Service Auth with a linked_app_token rule *and* a service-token rule: not a
        // Linked App Token policy (cfaccess_linked_app_policy refuses to import it),
        // so the application's import lists it like any other policy.
        let client = crate::cloudflare::Client::new(
            crate::cloudflare::ClientConfig::new(
                emu.base_url(),
                crate::cloudflare::SecretString::new(TOKEN),
            ),
            CancellationToken::new(),
        )
        .unwrap();
        let mixed_body = crate::cloudflare::PolicyBody {
            name: "service tokens and the wiki".into(),
            decision: crate::cloudflare::Decision::NonIdentity,
            include: vec![
                crate::cloudflare::Rule::linked_app_token(demo_ids::COMPANY_WIKI_APP),
                crate::cloudflare::Rule::AnyValidServiceToken,
            ],
            ..Default::default()
        };
        let mixed = client
            .create_policy(&AccountId::new_unchecked(DEFAULT_ACCOUNT_ID), &mixed_body)
            .await
            .unwrap();
        assert!(!mixed.is_linked_app_token() && mixed.has_linked_app_token_rule());
        emu.set_attachments_out_of_band(
            DEFAULT_ACCOUNT_ID,
            demo_ids::INTERNAL_API_APP,
            vec![
                (demo_ids::INTERNAL_API_EMPLOYEES_POLICY.into(), 1),
                (mixed.id.to_string(), 2),
                (LAT.into(), 3),
            ],
        );
        let state = import(&emu, demo_ids::INTERNAL_API_APP).await.unwrap();
        assert_eq!(
            get_strings(&state, attr::POLICY_IDS),
            Some(vec![
                demo_ids::INTERNAL_API_EMPLOYEES_POLICY.to_string(),
                mixed.id.to_string()
            ])
        );
        let config = cfg(vec![
            (attr::NAME, Value::string("Internal API")),
            (attr::DOMAIN, Value::string("api.internal.example.com")),
            (
                attr::POLICY_IDS,
                Value::string_list([demo_ids::INTERNAL_API_EMPLOYEES_POLICY, &mixed.id]),
            ),
        ]);
        assert_empty_plan(&emu, &state, &config).await;
    }

    #[tokio::test]
    async fn import_refuses_other_types_and_skips_linked_app_policies() {
        let emu = emulator().await;
        // A seed app with an allow policy and a Linked App Token policy attached:
        // import manages the allow policy only.
        emu.set_attachments_out_of_band(
            DEFAULT_ACCOUNT_ID,
            demo_ids::INTERNAL_API_APP,
            vec![
                (demo_ids::INTERNAL_API_EMPLOYEES_POLICY.into(), 1),
                (LAT.into(), 2),
            ],
        );
        let state = import(&emu, demo_ids::INTERNAL_API_APP).await.unwrap();
        assert_eq!(
            get_strings(&state, attr::POLICY_IDS),
            Some(vec![demo_ids::INTERNAL_API_EMPLOYEES_POLICY.to_string()])
        );
        assert_eq!(get_str(&state, attr::NAME).as_deref(), Some("Internal API"));
        let config = cfg(vec![
            (attr::NAME, Value::string("Internal API")),
            (attr::DOMAIN, Value::string("api.internal.example.com")),
            (
                attr::POLICY_IDS,
                Value::string_list([demo_ids::INTERNAL_API_EMPLOYEES_POLICY]),
            ),
        ]);
        assert_empty_plan(&emu, &state, &config).await;

        // Other types: a clear error naming the type.
        let p = process(&emu).await;
        let client = crate::cloudflare::Client::new(
            crate::cloudflare::ClientConfig::new(
                emu.base_url(),
                crate::cloudflare::SecretString::new(TOKEN),
            ),
            CancellationToken::new(),
        )
        .unwrap();
        let ssh = client
            .create_app(
                &AccountId::new_unchecked(DEFAULT_ACCOUNT_ID),
                &json!({"type": "ssh", "name": "bastion", "domain": "ssh.example.com"}),
            )
            .await
            .unwrap();
        let saml = client
            .create_app(
                &AccountId::new_unchecked(DEFAULT_ACCOUNT_ID),
                &json!({"type": "saas", "name": "crm", "saas_app": {"auth_type": "saml"}}),
            )
            .await
            .unwrap();
        let r = p.resource.import(&ctx(), &ssh.id).await;
        let text: String = r.diagnostics.iter().map(|d| d.detail.clone()).collect();
        assert!(text.contains("\"ssh\""), "{text}");
        let r = p.resource.import(&ctx(), &saml.id).await;
        let text: String = r.diagnostics.iter().map(|d| d.detail.clone()).collect();
        assert!(text.contains("saml"), "{text}");
        let r = p.resource.import(&ctx(), "not-an-id").await;
        assert!(r.diagnostics.has_errors());
        let r = p
            .resource
            .import(&ctx(), "9f9f9f9f-0000-4000-8000-00000000dead")
            .await;
        assert!(
            r.diagnostics
                .iter()
                .any(|d| d.summary.contains("non-existent"))
        );
    }

    #[tokio::test]
    async fn data_source_lookups() {
        let emu = emulator().await;
        let p = process(&emu).await;
        use crate::data_sources::access_application::schema as ds_schema;
        let ds_cfg =
            |k: &str, v: &str| fill_nulls(&ds_schema(), &Value::object([(k, Value::string(v))]));
        let by = |k: &'static str, v: &'static str| {
            let p = &p;
            let c = ds_cfg(k, v);
            async move { p.data_source.read(&ctx(), &c).await }
        };
        for (k, v) in [
            ("id", demo_ids::COMPANY_WIKI_APP),
            ("name", "Company wiki"),
            ("domain", "wiki.internal.example.com"),
        ] {
            let (state, d) = by(k, v).await;
            assert!(!d.has_errors(), "{d:?}");
            let state = state.unwrap();
            assert_eq!(
                get_str(&state, "id").as_deref(),
                Some(demo_ids::COMPANY_WIKI_APP)
            );
            assert_eq!(
                get_str(&state, "uid").as_deref(),
                Some(demo_ids::COMPANY_WIKI_APP)
            );
            assert_eq!(get_str(&state, "type").as_deref(), Some("self_hosted"));
            assert_eq!(get_str(&state, "name").as_deref(), Some("Company wiki"));
            assert_eq!(
                get_str(&state, "domain").as_deref(),
                Some("wiki.internal.example.com")
            );
            assert!(get_str(&state, "aud").is_some());
            assert_eq!(
                get_strings(&state, "policy_ids"),
                Some(vec![demo_ids::COMPANY_WIKI_EMPLOYEES_POLICY.to_string()])
            );
            assert!(state.is_wholly_known());
        }
        // Substring matches of the API's filters do not count.
        let (state, d) = by("name", "Company").await;
        assert!(state.is_none());
        let text: String = d.iter().map(|x| x.detail.clone()).collect();
        assert!(
            text.contains("Found 0") && text.contains("name = \"Company\""),
            "{text}"
        );
        let (_, d) = by("id", "9f9f9f9f-0000-4000-8000-00000000dead").await;
        assert!(d.iter().any(|x| x.detail.contains("Found 0")));
        // Several apps with one name.
        let twin = cfg(vec![
            (attr::NAME, Value::string("twin")),
            (attr::DOMAIN, Value::string("twin1.example.com")),
        ]);
        apply(&emu, &Value::Null, &twin).await;
        let mut twin2 = twin.clone();
        twin2.set(attr::DOMAIN, Value::string("twin2.example.com"));
        apply(&emu, &Value::Null, &twin2).await;
        let p2 = process(&emu).await;
        let (state, d) = p2.data_source.read(&ctx(), &ds_cfg("name", "twin")).await;
        assert!(state.is_none());
        let text: String = d.iter().map(|x| x.detail.clone()).collect();
        assert!(text.contains("Found 2"), "{text}");
        // Exactly one key.
        let mut both = ds_cfg("name", "twin");
        both.set("domain", Value::string("twin1.example.com"));
        let mut d = Diagnostics::new();
        p2.data_source.validate(&ctx(), &both, &mut d).await;
        assert_eq!(d.0.len(), 1);
        assert_eq!(d.0[0].attribute, Some(AttributePath::root("domain")));
        let mut d = Diagnostics::new();
        p2.data_source
            .validate(
                &ctx(),
                &fill_nulls(&ds_schema(), &Value::object::<[(&str, Value); 0], &str>([])),
                &mut d,
            )
            .await;
        assert!(d.has_errors());
        assert!(d.0[0].detail.contains("id, name and domain"));
    }
}
