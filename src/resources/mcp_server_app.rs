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

use crate::cloudflare::{ApiError, App, PolicyLink, Rule};
use crate::errors;
use crate::provider::{ProviderData, is_account_id};
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
    pub const POLICY_IDS: &str = "IDs (UUIDs) of the reusable Access policies that decide who may use the MCP server (typically `allow` policies), in evaluation order: each policy's precedence is its position in the list (first = 1). Only the listed policies are managed: policies attached by others, such as a `cfaccess_linked_app_policy` that targets this application, keep their place and cause no diff, but must not hold a precedence this list needs. A policy removed from the list is detached. Omit the attribute to manage no attachments (an empty list is refused).";
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

// ----- attribute validators ------------------------------------------------------------

fn validate_account_id(v: &Value, path: &AttributePath, diags: &mut Diagnostics) {
    if let Some(s) = v.as_str()
        && !is_account_id(s)
    {
        diags.attr_error(
            path.clone(),
            "Invalid account ID",
            format!(
                "Attribute {path} must be a Cloudflare account ID: 32 hexadecimal characters, as \
                 shown in the dashboard URL; got {s:?}."
            ),
        );
    }
}

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

/// The resource's state, mirroring the schema. Unknown values read as `None`.
#[derive(Clone, Debug, Default, PartialEq)]
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
    pub account_id: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub inbound_token_header: Option<String>,
    pub downstream_token_header: Option<String>,
    pub downstream_token_prefix: Option<String>,
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

/// True when two durations mean the same time (`"24h"` and `"1440m"`).
fn same_duration(a: &str, b: &str) -> bool {
    a == b
        || matches!((parse_go_duration(a), parse_go_duration(b)), (Some(x), Some(y)) if (x - y).abs() < 1e-9)
}

/// The API value, or the basis value when the API's is only a rewriting of it.
fn keep_equivalent_duration(api: Option<&str>, basis: Option<&String>) -> Option<String> {
    match (api, basis) {
        (Some(a), Some(b)) if same_duration(a, b) => Some(b.clone()),
        (Some(a), _) => Some(a.to_string()),
        (None, _) => None,
    }
}

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

/// Attached policy ids in ascending precedence (ties keep the API's order).
pub fn ids_by_precedence(app: &App) -> Vec<String> {
    let mut links: Vec<(usize, PolicyLink)> = app.policy_links().into_iter().enumerate().collect();
    links.sort_by(|(ia, a), (ib, b)| a.precedence.cmp(&b.precedence).then(ia.cmp(ib)));
    links.into_iter().map(|(_, l)| l.id).collect()
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
    let attached = ids_by_precedence(app);
    let ids: Vec<String> = match scope {
        PolicyScope::Managed(managed) => attached
            .into_iter()
            .filter(|id| managed.contains(id))
            .collect(),
        PolicyScope::Imported { excluded } => attached
            .into_iter()
            .filter(|id| !excluded.contains(id))
            .collect(),
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
    match app.app_type.as_str() {
        SELF_HOSTED => Ok(()),
        SAAS => {
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
    let app_type = app.app_type.clone();
    let saas_type = app_type == SAAS;
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
            basis.session_duration.as_ref(),
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
                basis_saas.access_token_lifetime.as_ref(),
            ),
            allow_pkce_without_client_secret: Some(
                api.allow_pkce_without_client_secret.unwrap_or(false),
            ),
        })
    } else {
        None
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
        id: Some(app.id.clone()),
        uid: Some(app.uid.clone().unwrap_or_else(|| app.id.clone())),
        aud: app.aud.clone().or_else(|| basis.aud.clone()),
        name: app.name.clone().or_else(|| basis.name.clone()),
        app_type: Some(app_type),
        domain,
        session_duration,
        allowed_idps: normalise_set(&app.allowed_idps, basis.allowed_idps.as_ref()),
        auto_redirect_to_identity: Some(app.auto_redirect_to_identity.unwrap_or(false)),
        policy_ids: policy_ids_for_state(app, scope),
        saas,
        account_id: Some(account_id.to_string()),
        client_id,
        client_secret,
        inbound_token_header: headers.map(|h| h.0.to_string()),
        downstream_token_header: headers.map(|h| h.1.to_string()),
        downstream_token_prefix: headers.map(|h| h.2.to_string()),
    })
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
            id: id.clone(),
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

/// The POST body for `planned`. Only fields the user manages are sent, so everything
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

/// The PUT body: the application exactly as read (fields we do not manage included,
/// `policies` left out so attachments are untouched), with our fields overwritten.
pub fn update_body(app: &App, planned: &Model) -> Json {
    let mut body = match app.to_update_body() {
        Json::Object(map) => map,
        _ => Map::new(),
    };
    if let Some(name) = &planned.name {
        body.insert("name".into(), json!(name));
    }
    if app.app_type == SELF_HOSTED {
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
    if app.app_type == SAAS {
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

/// A precedence our list needs is held by a policy we do not manage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrecedenceClash {
    /// Index in `policy_ids`.
    pub index: usize,
    pub precedence: u32,
    /// Our policy that needs the precedence.
    pub ours: String,
    /// The foreign policy that holds it.
    pub holder: String,
}

impl PrecedenceClash {
    fn push(&self, app_id: &str, diags: &mut Diagnostics) {
        diags.attr_error(
            AttributePath::root(attr::POLICY_IDS).index(self.index),
            "Policy precedence already taken",
            format!(
                "Policy {} is at position {} of policy_ids, so it needs precedence {} on \
                 application {app_id}, but that precedence is held by policy {}, which this \
                 resource does not manage (for example a cfaccess_linked_app_policy targeting \
                 this application). Give that policy another precedence, or reorder policy_ids; \
                 foreign attachments are never moved or detached.",
                self.ours,
                self.index + 1,
                self.precedence,
                self.holder
            ),
        );
    }
}

/// Edits an application's attachment list: our ids (`wanted`, precedence = position)
/// replace every entry we manage (`previous` ∪ `wanted`); other entries stay as they
/// are. Returns whether anything changed, or the clash that makes it impossible.
pub fn reconcile_attachments(
    links: &mut Vec<PolicyLink>,
    previous: &[String],
    wanted: &[String],
) -> Result<bool, PrecedenceClash> {
    let managed: HashSet<&str> = previous
        .iter()
        .chain(wanted.iter())
        .map(String::as_str)
        .collect();
    let mut next: Vec<PolicyLink> = links
        .iter()
        .filter(|l| !managed.contains(l.id.as_str()))
        .cloned()
        .collect();
    for (index, link) in policy_links_for(wanted).into_iter().enumerate() {
        if let Some(holder) = next.iter().find(|l| l.precedence == link.precedence) {
            return Err(PrecedenceClash {
                index,
                precedence: link.precedence,
                ours: link.id,
                holder: holder.id.clone(),
            });
        }
        next.push(link);
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
    Ok(changed)
}

/// True for a Service Auth policy made of Linked App Token rules: those belong to
/// `cfaccess_linked_app_policy`, so an import leaves them out of `policy_ids`.
fn is_linked_app_policy(decision: Option<&str>, include: &[Rule]) -> bool {
    decision == Some("non_identity")
        && include
            .iter()
            .any(|r| matches!(r, Rule::LinkedAppToken { .. }))
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

    /// Ids of the attached Linked App Token policies (import leaves them out).
    async fn linked_app_policy_ids(
        &self,
        client: &crate::cloudflare::Client,
        account: &str,
        app: &App,
    ) -> Result<HashSet<String>, ApiError> {
        let mut out = HashSet::new();
        for entry in &app.policies {
            let expanded = entry.rest.get("decision").is_some();
            let is_lat = if expanded {
                let include: Vec<Rule> = entry
                    .rest
                    .get("include")
                    .cloned()
                    .and_then(|v| serde_json::from_value(v).ok())
                    .unwrap_or_default();
                is_linked_app_policy(entry.rest.get("decision").and_then(Json::as_str), &include)
            } else {
                match client.get_policy(account, &entry.id).await {
                    Ok(p) => is_linked_app_policy(Some(p.decision.as_str()), &p.include),
                    Err(e) if e.is_not_found() => false,
                    Err(e) => return Err(e),
                }
            };
            if is_lat {
                out.insert(entry.id.clone());
            }
        }
        Ok(out)
    }

    /// Plan-time checks against the API: every listed policy exists (and suits the
    /// app type), and no foreign attachment holds a precedence the list needs.
    async fn check_policies_against_api(&self, req: &PlanRequest, diags: &mut Diagnostics) {
        if !self.data.is_ready() {
            return;
        }
        let planned = Model::from_value(&req.planned);
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
        for (i, el) in wanted_value.elements().unwrap_or(&[]).iter().enumerate() {
            let Some(id) = el.as_str() else { continue };
            let path = AttributePath::root(attr::POLICY_IDS).index(i);
            match api.client.get_policy(&api.account_id, id).await {
                Ok(policy) => {
                    if planned.is_saas()
                        && is_linked_app_policy(Some(policy.decision.as_str()), &policy.include)
                    {
                        diags.attr_error(
                            path,
                            "Linked App Token policy on a SaaS application",
                            format!(
                                "Policy {id} ({:?}) is a Linked App Token (Service Auth) policy; \
                                 Cloudflare applies those only to self-hosted applications, so it \
                                 cannot protect this saas application. List user-facing (allow) \
                                 policies here.",
                                policy.name
                            ),
                        );
                    }
                }
                Err(e) if e.is_not_found() => diags.attr_error(
                    path,
                    "Policy not found",
                    format!(
                        "No reusable Access policy {id} exists in account {}. policy_ids takes \
                         the ids of reusable policies (for example \
                         cloudflare_zero_trust_access_policy.<name>.id).",
                        api.account_id
                    ),
                ),
                Err(e) => diags.0.push(errors::api_error_at(
                    &format!("look up policy {id}"),
                    &e,
                    Some(path),
                )),
            }
        }
        if req.is_create() || diags.has_errors() {
            return;
        }
        // Only known ids can be checked for clashes; unknown ones are checked at apply.
        let Some(wanted) = planned
            .policy_ids
            .clone()
            .filter(|w| w.len() == wanted_value.elements().map_or(0, <[Value]>::len))
        else {
            return;
        };
        let Some(app_id) = get_str(&req.prior, attr::ID) else {
            return;
        };
        let previous = get_strings(&req.prior, attr::POLICY_IDS).unwrap_or_default();
        // A failed lookup (the app gone) is left to read and apply to report.
        if let Ok(app) = api.client.get_app(&api.account_id, &app_id).await {
            let mut links = app.policy_links();
            if let Err(clash) = reconcile_attachments(&mut links, &previous, &wanted) {
                clash.push(&app_id, diags);
            }
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
        let body = create_body(&plan);
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
                        account_id: Some(api.account_id.clone()),
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
        let wanted = plan.policy_ids.clone().unwrap_or_default();
        let attached = ids_by_precedence(&app);
        if wanted.iter().any(|id| !attached.contains(id)) {
            // Some servers answer a create without the expanded attachments.
            match api.client.get_app_uncached(&api.account_id, &app.id).await {
                Ok(fresh) => app = fresh,
                Err(e) => diagnostics.0.push(errors::api_error(
                    &format!("read application {} after creating it", app.id),
                    &e,
                )),
            }
        }
        let state = match state_from_app(
            &app,
            &plan,
            &api.account_id,
            secret,
            &PolicyScope::Managed(wanted),
        ) {
            Ok(state) => state,
            Err(unsupported) => {
                // The API answered with another type than we sent; keep the id so
                // Terraform tracks (and can destroy) the object.
                let (summary, detail) = unsupported.diagnostic(&app.id);
                diagnostics.error(summary, detail);
                Model {
                    id: Some(app.id.clone()),
                    uid: Some(app.id.clone()),
                    account_id: Some(api.account_id.clone()),
                    ..plan.clone()
                }
            }
        };
        ApplyResult {
            new_state: Some(state.to_value()),
            private: Vec::new(),
            diagnostics,
        }
    }

    async fn read(&self, _ctx: &Context, current: &Value, private: &[u8]) -> ReadResult {
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
        let app = match api.client.get_app(&api.account_id, &app_id).await {
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
            Ok(state) => ReadResult {
                new_state: Some(state.to_value()),
                private: private.to_vec(),
                diagnostics,
            },
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
        _config: &Value,
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
        let account = api.account_id.as_str();

        // A fresh read: the PUT replaces the whole object, so it must carry what is
        // there now, not what a cached list saw.
        let current = match client.get_app_uncached(account, &app_id).await {
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
        // Refuse before any write when a foreign attachment holds a needed precedence.
        let mut probe = current.policy_links();
        let attachments_change = match reconcile_attachments(&mut probe, &previous, &wanted) {
            Ok(changed) => changed,
            Err(clash) => {
                clash.push(&app_id, &mut diagnostics);
                return keep_prior(diagnostics);
            }
        };

        let body = update_body(&current, &plan);
        let mut app = current.clone();
        if body != current.to_update_body() {
            // Built again from the writer's own fresh read, so nothing another writer
            // changed since `current` is overwritten (and a retry reads again).
            let rebuild = |fresh: &App| Ok(update_body(fresh, &plan));
            match client.update_app_with(account, &app_id, rebuild).await {
                Ok(updated) => {
                    tracing::info!(tf_resource_type = TYPE_NAME, app_id = %app_id, "updated Access application");
                    app = updated;
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
            let mut clash = None;
            let result = client
                .modify_attachments(account, &app_id, |links| {
                    reconcile_attachments(links, &previous, &wanted).map_err(|c| {
                        let err = ApiError::PrecedenceConflict {
                            app_id: app_id.clone(),
                            precedence: c.precedence,
                            holder: c.holder.clone(),
                        };
                        clash = Some(c);
                        err
                    })
                })
                .await;
            match result {
                Ok(updated) => {
                    tracing::info!(tf_resource_type = TYPE_NAME, app_id = %app_id, policies = wanted.len(), "reconciled policy attachments");
                    app = updated;
                }
                Err(e) => {
                    match clash {
                        Some(c) => c.push(&app_id, &mut diagnostics),
                        None => diagnostics.0.push(errors::api_error_at(
                            &format!("attach policy_ids to application {app_id}"),
                            &e,
                            Some(AttributePath::root(attr::POLICY_IDS)),
                        )),
                    }
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
        match state_from_app(
            &app,
            &basis,
            account,
            None,
            &PolicyScope::Managed(scope_ids),
        ) {
            Ok(state) => ApplyResult {
                new_state: Some(state.to_value()),
                private: private.to_vec(),
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
        match api.client.delete_app(&api.account_id, &app_id).await {
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
        let (account, app_id) = match errors::parse_import_id(id, "app") {
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
        let app = match api.client.get_app(&api.account_id, &app_id).await {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tfplugin::plan::{fill_nulls, plan_resource_change};
    use crate::tfplugin::validate::validate_config as run_validators;

    const POLICY_A: &str = "a38ab4d4-336d-4f49-9e97-eff8550c13fa";
    const POLICY_B: &str = "5d0c2e1e-1a0a-4a34-9d53-8d7a4a0b7f11";
    const POLICY_LAT: &str = "0f4a2c1e-9b8d-4e7f-a6c5-3d2e1f0a9b8c";
    const FOREIGN: &str = "7c6b5a49-3827-4615-9f4e-2d3c4b5a6978";
    const IDP: &str = "11111111-2222-4333-8444-555555555555";
    const ACCOUNT: &str = "023e105f4ecef8ad9ca31a8372d0c353";
    const APP_ID: &str = "6cdc3892-f9f1-4813-a5ce-38c2753e1208";

    /// A configuration object: every schema attribute, null unless given.
    fn config(pairs: Vec<(&str, Value)>) -> Value {
        fill_nulls(&schema(), &Value::object(pairs))
    }

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

    fn all_diags(cfg: &Value) -> Diagnostics {
        let mut d = run_validators(&schema(), cfg);
        validate_config(cfg, &mut d);
        d
    }

    fn paths(d: &Diagnostics) -> Vec<String> {
        d.iter()
            .map(|x| x.attribute.clone().unwrap_or_default().to_string())
            .collect()
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
        assert!(same_duration("24h", "1440m"));
        assert!(!same_duration("24h", "12h"));
    }

    /// The plan as the server computes it: generic rules, then this resource's.
    fn plan(prior: &Value, cfg: &Value) -> PlanRequest {
        // Terraform 1.0.3's proposed new state: config values, prior values for
        // computed attributes left null (sticky); `saas` (computed) is taken whole.
        let mut proposed = cfg.clone();
        if !prior.is_null() {
            for a in schema().attributes {
                let c = cfg.get(&a.name).cloned().unwrap_or(Value::Null);
                if a.mode.computed() && c.is_null() {
                    proposed.set(&a.name, prior.get(&a.name).cloned().unwrap_or(Value::Null));
                }
            }
        }
        let (planned, requires_replace) = plan_resource_change(&schema(), prior, &proposed, cfg);
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
        let include: Vec<Rule> = vec![Rule::linked_app_token("x")];
        assert!(is_linked_app_policy(Some("non_identity"), &include));
        assert!(!is_linked_app_policy(Some("allow"), &include));
    }

    #[test]
    fn unsupported_apps_are_named() {
        let mut a = self_hosted_app();
        a.app_type = "ssh".into();
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
            id: id.into(),
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
        )
        .unwrap();
        assert!(changed);
        assert_eq!(
            links,
            vec![link(POLICY_B, 1), link(POLICY_A, 2), link(FOREIGN, 5)]
        );
        // Already right: no change.
        let mut again = links.clone();
        assert!(
            !reconcile_attachments(
                &mut again,
                &s(&[POLICY_B, POLICY_A]),
                &s(&[POLICY_B, POLICY_A])
            )
            .unwrap()
        );
        // A foreign entry holding a needed precedence is a clash naming both.
        let mut clash = vec![link(FOREIGN, 2)];
        let err = reconcile_attachments(&mut clash, &[], &s(&[POLICY_A, POLICY_B])).unwrap_err();
        assert_eq!(
            err,
            PrecedenceClash {
                index: 1,
                precedence: 2,
                ours: POLICY_B.into(),
                holder: FOREIGN.into()
            }
        );
        let mut d = Diagnostics::new();
        err.push(APP_ID, &mut d);
        assert_eq!(paths(&d), vec!["policy_ids[1]"]);
        assert!(d.0[0].detail.contains(POLICY_B) && d.0[0].detail.contains(FOREIGN));
        assert_eq!(clash, vec![link(FOREIGN, 2)], "nothing edited on a clash");
    }
}

/// Handlers driven the way the server drives them, against the emulator in library
/// mode. Every "terraform command" gets a freshly configured provider, as a new plugin
/// process would (the client's read snapshot lives for one process).
#[cfg(test)]
mod emulator_tests {
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
        let provider = CfAccessProvider::new();
        let config = fill_nulls(
            &provider_schema(),
            &Value::object([
                ("api_token", Value::string(TOKEN)),
                ("account_id", Value::string(DEFAULT_ACCOUNT_ID)),
                ("base_url", Value::string(emu.base_url())),
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

    /// Terraform's proposed new state (1.0.3 ProposedNew): config, with computed
    /// attributes the config leaves null taken from the prior state (`saas`, computed,
    /// is taken whole from the config when set).
    fn proposed(prior: &Value, cfg: &Value) -> Value {
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
        let d = validate(p, cfg).await;
        assert!(!d.has_errors(), "{d:?}");
        let (planned, requires_replace) =
            plan_resource_change(&schema(), prior, &proposed(prior, cfg), cfg);
        let mut req = PlanRequest {
            prior: prior.clone(),
            config: cfg.clone(),
            planned,
            requires_replace,
            private: Vec::new(),
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
                    .read(&ctx(), prior, &[])
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
            &p.resource.read(&ctx(), state, &[]).await.new_state.unwrap(),
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
        let Some(refreshed) = p.resource.read(&ctx(), state, &[]).await.new_state else {
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
        let read = p.resource.read(&ctx(), &partial, &r.private).await;
        if read.diagnostics.has_errors() {
            return Err(read.diagnostics);
        }
        Ok(fill_nulls(&schema(), &read.new_state.unwrap()))
    }

    fn cfg(pairs: Vec<(&str, Value)>) -> Value {
        fill_nulls(&schema(), &Value::object(pairs))
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
                .read(&ctx(), &state6, &[])
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
    async fn validation_errors_write_nothing_and_clashes_are_refused() {
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

        // A foreign policy holding a precedence we need: refused at plan time with both
        // ids named, and refused again at apply without a write.
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
        let p = process(&emu).await;
        let planned = plan(&p, &state, &two).await;
        let text: String = planned.diags.iter().map(|d| d.detail.clone()).collect();
        assert!(text.contains(ALLOW_2) && text.contains(FOREIGN), "{text}");
        let writes = emu.write_count();
        let mut forced = planned.req.planned.clone();
        forced.set(attr::POLICY_IDS, Value::string_list([ALLOW_1, ALLOW_2]));
        let r = p.resource.update(&ctx(), &state, &two, &forced, &[]).await;
        assert!(r.diagnostics.has_errors());
        assert_eq!(emu.write_count(), writes, "clash refused before any write");
        assert_eq!(emu_links(&emu, &id), links(&[(ALLOW_1, 1), (FOREIGN, 2)]));
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
                DEFAULT_ACCOUNT_ID,
                &json!({"type": "ssh", "name": "bastion", "domain": "ssh.example.com"}),
            )
            .await
            .unwrap();
        let saml = client
            .create_app(
                DEFAULT_ACCOUNT_ID,
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
