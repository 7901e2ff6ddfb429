//! Access applications (`/accounts/{account_id}/access/apps`).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::app_type::AppType;
use super::lenient::{null_as_default, opt_u32, value_as_u64};
use crate::cloudflare::ids::{AppId, PolicyId};
use crate::cloudflare::secret::{RedactedMap, SecretString};

/// An application as the API returns it. Fields the provider reads are typed; every
/// other field is kept in `extra` so that a full-replacement PUT built from a read
/// ([`App::to_update_body`]) never drops something another tool set.
#[derive(Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct App {
    /// Application UUID; the value `linked_app_token.app_uid` expects.
    pub id: AppId,
    /// Undocumented duplicate of `id` seen in API examples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Audience tag (64 hex) used as the `aud` claim of the app's JWTs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `type`: `self_hosted`, `saas`, `mcp`, … (any value accepted on read).
    #[serde(rename = "type", default, deserialize_with = "null_as_default")]
    pub app_type: AppType,
    /// Primary domain (self-hosted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Session duration (Go duration string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_duration: Option<String>,
    /// Allowed identity provider UUIDs; empty means all.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub allowed_idps: Vec<String>,
    /// Skip the IdP picker when exactly one IdP is allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_redirect_to_identity: Option<bool>,
    /// Attached policies, as the API expands them (ascending precedence).
    #[serde(default, deserialize_with = "null_as_default")]
    pub policies: Vec<AttachedPolicy>,
    /// SaaS settings (`type: saas`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saas_app: Option<SaasApp>,
    /// Creation time (RFC 3339), server-set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Last update time (RFC 3339), server-set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// Every other field, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

// Field by field, with `extra` as keys only: an unknown field may hold a secret.
debug_redacted!(App {
    id, uid, aud, name, app_type, domain, session_duration, allowed_idps,
    auto_redirect_to_identity, policies, saas_app, created_at, updated_at,
} redacted { extra });

/// Top-level keys of an application that are never sent back.
const APP_READ_ONLY: &[&str] = &["id", "uid", "aud", "created_at", "updated_at"];
/// Keys of `saas_app` that are server-generated.
const SAAS_READ_ONLY: &[&str] = &[
    "client_id",
    "client_secret",
    "public_key",
    "created_at",
    "updated_at",
];

impl App {
    /// Attachments projected to `{id, precedence}`, in the order read. Entries the
    /// API returned without a precedence come after every entry that has one: the
    /// first gets one more than the highest precedence present, the next one more
    /// again, in the order read. (Their list position could collide with a precedence
    /// that is present, and a PUT carrying that list would move or be refused.)
    pub fn policy_links(&self) -> Vec<PolicyLink> {
        let mut next = self
            .policies
            .iter()
            .filter_map(|entry| entry.precedence)
            .max()
            .unwrap_or(0);
        self.policies
            .iter()
            .map(|entry| PolicyLink {
                id: entry.id.clone(),
                precedence: entry.precedence.unwrap_or_else(|| {
                    next = next.saturating_add(1);
                    next
                }),
            })
            .collect()
    }

    /// Attached policy ids in ascending precedence (ties keep the API's order), as
    /// [`App::policy_links`] numbers them.
    pub fn policy_ids_by_precedence(&self) -> Vec<PolicyId> {
        let mut links = self.policy_links();
        // A stable sort: equal precedences keep the order read.
        links.sort_by_key(|link| link.precedence);
        links.into_iter().map(|link| link.id).collect()
    }

    /// The full settable object as read, for a `PUT` (a full replacement): read-only
    /// keys stripped and **`policies` omitted**, which leaves attachments untouched.
    /// Attachment changes go through [`crate::cloudflare::Client::modify_attachments`].
    pub fn to_update_body(&self) -> Value {
        let mut body = match serde_json::to_value(self) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        for key in APP_READ_ONLY {
            body.remove(*key);
        }
        body.remove("policies");
        if let Some(Value::Object(saas)) = body.get_mut("saas_app") {
            for key in SAAS_READ_ONLY {
                saas.remove(*key);
            }
        }
        Value::Object(body)
    }

    /// True when this app looks like the one a create `body` asked for (same name,
    /// type, domain and SaaS auth type where the body states them).
    pub fn matches_create_body(&self, body: &Value) -> bool {
        let wanted = |key: &str| body.get(key).and_then(Value::as_str);
        if wanted("name") != self.name.as_deref() {
            return false;
        }
        if let Some(kind) = wanted("type")
            && kind != self.app_type.as_str()
        {
            return false;
        }
        if let Some(domain) = wanted("domain")
            && !self
                .domain
                .as_deref()
                .is_some_and(|d| super::domain::same_domain(d, domain))
        {
            return false;
        }
        if let Some(auth_type) = body
            .get("saas_app")
            .and_then(|saas| saas.get("auth_type"))
            .and_then(Value::as_str)
            && self.saas_app.as_ref().and_then(|s| s.auth_type.as_deref()) != Some(auth_type)
        {
            return false;
        }
        true
    }
}

/// One entry of an application's `policies` as read: a reusable policy (or a legacy
/// app-scoped one) expanded by the API.
#[derive(Clone, PartialEq, Default, Serialize)]
pub struct AttachedPolicy {
    /// Policy UUID.
    pub id: PolicyId,
    /// Precedence within the app (1 = evaluated first).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub precedence: Option<u32>,
    /// `true` for reusable policies; absent for legacy app-scoped ones.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reusable: Option<bool>,
    /// The expanded policy fields (`name`, `decision`, `include`, …), kept verbatim.
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

impl AttachedPolicy {
    /// The policy as the API expanded it in the application's list, when it did (the
    /// entry carries a `decision`); `None` for a bare `{id, precedence}` link, which
    /// needs a policy read instead.
    pub fn expanded_policy(&self) -> Option<super::policy::Policy> {
        self.rest.get("decision")?;
        let mut object = self.rest.clone();
        object.insert("id".into(), Value::String(self.id.to_string()));
        serde_json::from_value(Value::Object(object)).ok()
    }
}

// The expanded fields (`rest`) as keys only, like [`App`]'s `extra`.
debug_redacted!(AttachedPolicy { id, precedence, reusable } redacted { rest });

impl<'de> Deserialize<'de> for AttachedPolicy {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Entries may be bare UUID strings (request form 2, echoed by some fakes) or
        // objects; accept both.
        match Value::deserialize(deserializer)? {
            Value::String(id) => Ok(AttachedPolicy {
                id: PolicyId::new_unchecked(id),
                ..Default::default()
            }),
            Value::Object(mut map) => {
                let id = match map.remove("id") {
                    Some(Value::String(id)) => PolicyId::new_unchecked(id),
                    _ => PolicyId::default(),
                };
                let precedence = map
                    .remove("precedence")
                    .as_ref()
                    .and_then(value_as_u64)
                    .and_then(|p| u32::try_from(p).ok());
                let reusable = match map.remove("reusable") {
                    Some(Value::Bool(b)) => Some(b),
                    Some(other) if !other.is_null() => {
                        map.insert("reusable".into(), other);
                        None
                    }
                    _ => None,
                };
                Ok(AttachedPolicy {
                    id,
                    precedence,
                    reusable,
                    rest: map,
                })
            }
            other => Err(serde::de::Error::custom(format!(
                "application policy entry must be a string or an object, got {}",
                kind_of(&other)
            ))),
        }
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The request form of an attachment: `{"id": …, "precedence": …}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PolicyLink {
    /// Policy UUID.
    pub id: PolicyId,
    /// Precedence (≥ 1, unique within the app).
    #[serde(deserialize_with = "required_u32")]
    pub precedence: u32,
}

impl PolicyLink {
    /// The entry of `links` that holds `precedence`, other than `except` (the policy
    /// being placed): the one precedence-clash check. The API refuses two entries with
    /// one precedence, and this provider never moves someone else's entry to make room.
    pub fn holder_of<'a>(
        links: &'a [PolicyLink],
        precedence: u32,
        except: Option<&PolicyId>,
    ) -> Option<&'a PolicyLink> {
        links
            .iter()
            .find(|link| link.precedence == precedence && Some(&link.id) != except)
    }
}

fn required_u32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    opt_u32(deserializer)?
        .ok_or_else(|| serde::de::Error::custom("precedence must be a positive integer"))
}

/// `saas_app` of a SaaS application (OIDC fields typed; SAML and newer fields kept in
/// `extra`).
#[derive(Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SaasApp {
    /// `oidc` or `saml` (the API assumes `saml` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_type: Option<String>,
    /// OIDC client id (server-generated, stable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// OIDC client secret: present only in the create response; never serialised.
    #[serde(default, skip_serializing)]
    pub client_secret: Option<SecretString>,
    /// Access public certificate (server-generated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// Permitted OAuth callbacks.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub redirect_uris: Vec<String>,
    /// OAuth grant types.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub grant_types: Vec<String>,
    /// OIDC scopes.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub scopes: Vec<String>,
    /// Access token lifetime (server default "5m").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_lifetime: Option<String>,
    /// Allow PKCE clients to skip the client secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_pkce_without_client_secret: Option<bool>,
    /// Every other field, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

// `client_secret` redacted (by [`SecretString`]) and `extra` as keys only.
debug_redacted!(SaasApp {
    auth_type, client_id, client_secret, public_key, redirect_uris, grant_types, scopes,
    access_token_lifetime, allow_pkce_without_client_secret,
} redacted { extra });

/// Server-side filters of `GET /access/apps`. Empty fields are not sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppFilter {
    /// Name (substring unless `exact`).
    pub name: Option<String>,
    /// Domain (substring unless `exact`).
    pub domain: Option<String>,
    /// Audience tag.
    pub aud: Option<String>,
    /// Search across fields.
    pub search: Option<String>,
    /// Exact instead of substring match on name/domain.
    pub exact: Option<bool>,
}

impl AppFilter {
    /// An exact-name filter.
    pub fn by_name(name: impl Into<String>) -> Self {
        AppFilter {
            name: Some(name.into()),
            exact: Some(true),
            ..Default::default()
        }
    }

    /// True when nothing is filtered.
    pub fn is_empty(&self) -> bool {
        self == &AppFilter::default()
    }

    pub(crate) fn query(&self) -> Vec<(&'static str, String)> {
        let mut query = Vec::new();
        let pairs = [
            ("name", &self.name),
            ("domain", &self.domain),
            ("aud", &self.aud),
            ("search", &self.search),
        ];
        for (key, value) in pairs {
            if let Some(value) = value {
                query.push((key, value.clone()));
            }
        }
        if let Some(exact) = self.exact {
            query.push(("exact", exact.to_string()));
        }
        query
    }

    /// Client-side check of the same filter (servers differ in how they match).
    pub fn accepts(&self, app: &App) -> bool {
        let exact = self.exact.unwrap_or(false);
        let text_matches = |wanted: &Option<String>, have: Option<&str>| match wanted {
            None => true,
            Some(wanted) => match have {
                None => false,
                Some(have) if exact => have == wanted,
                Some(have) => have.to_lowercase().contains(&wanted.to_lowercase()),
            },
        };
        text_matches(&self.name, app.name.as_deref())
            && text_matches(&self.domain, app.domain.as_deref())
            && self
                .aud
                .as_ref()
                .is_none_or(|aud| app.aud.as_deref() == Some(aud))
    }
}

/// Outcome of a delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    /// The object existed and was deleted by this call.
    Now,
    /// The API answered 404: somebody else deleted it first.
    AlreadyGone,
}

/// One application that has a given policy attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentRef {
    /// Application UUID.
    pub app_id: AppId,
    /// Application name.
    pub app_name: Option<String>,
    /// Application `type`.
    pub app_type: AppType,
    /// Precedence of the policy in that application.
    pub precedence: u32,
}

/// `oauth_configuration` of a self-hosted application (Managed OAuth, beta at
/// Cloudflare): Access acts as the OAuth authorization server of the application.
///
/// Read leniently from [`App::extra`], so the object keeps round-tripping verbatim
/// (members added by Cloudflare later included) through [`App::to_update_body`]: every
/// member may be null or missing, and a member of an unexpected JSON type reads as
/// `None` rather than failing the whole application.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OAuthConfiguration {
    /// Whether Access handles OAuth for the application; the API documents `true`
    /// when the object is present and the member omitted.
    pub enabled: Option<bool>,
    /// Dynamic client registration (RFC 7591) settings.
    pub dynamic_client_registration: Option<DynamicClientRegistration>,
    /// Token lifetimes of the grants Access issues.
    pub grant: Option<OAuthGrant>,
}

/// `oauth_configuration.dynamic_client_registration`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DynamicClientRegistration {
    /// Whether clients may register themselves.
    pub enabled: Option<bool>,
    /// Redirect URIs dynamically registered clients may use.
    pub allowed_uris: Option<Vec<String>>,
    /// Any redirect URI on `localhost` is allowed.
    pub allow_any_on_localhost: Option<bool>,
    /// Any redirect URI on `127.0.0.1` is allowed.
    pub allow_any_on_loopback: Option<bool>,
}

/// `oauth_configuration.grant`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OAuthGrant {
    /// Lifetime of the access tokens (Go duration string).
    pub access_token_lifetime: Option<String>,
    /// How long the grant (refresh) stays valid (Go duration string).
    pub session_duration: Option<String>,
}

fn json_bool(v: &Value, key: &str) -> Option<bool> {
    v.get(key).and_then(Value::as_bool)
}

fn json_string(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

impl OAuthConfiguration {
    /// Reads the object as the API returns it; `None` unless `v` is an object.
    pub fn from_json(v: &Value) -> Option<OAuthConfiguration> {
        v.as_object()?;
        Some(OAuthConfiguration {
            enabled: json_bool(v, "enabled"),
            dynamic_client_registration: v
                .get("dynamic_client_registration")
                .and_then(DynamicClientRegistration::from_json),
            grant: v.get("grant").and_then(OAuthGrant::from_json),
        })
    }
}

impl DynamicClientRegistration {
    /// Reads the object as the API returns it; `None` unless `v` is an object.
    pub fn from_json(v: &Value) -> Option<DynamicClientRegistration> {
        v.as_object()?;
        Some(DynamicClientRegistration {
            enabled: json_bool(v, "enabled"),
            allowed_uris: v.get("allowed_uris").and_then(Value::as_array).map(|uris| {
                uris.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            }),
            allow_any_on_localhost: json_bool(v, "allow_any_on_localhost"),
            allow_any_on_loopback: json_bool(v, "allow_any_on_loopback"),
        })
    }
}

impl OAuthGrant {
    /// Reads the object as the API returns it; `None` unless `v` is an object.
    pub fn from_json(v: &Value) -> Option<OAuthGrant> {
        v.as_object()?;
        Some(OAuthGrant {
            access_token_lifetime: json_string(v, "access_token_lifetime"),
            session_duration: json_string(v, "session_duration"),
        })
    }
}

impl App {
    /// The application's `oauth_configuration`, or `None` when the API returned none
    /// (absent, null or not an object). The raw object stays in `extra`.
    pub fn oauth_configuration(&self) -> Option<OAuthConfiguration> {
        self.extra
            .get("oauth_configuration")
            .and_then(OAuthConfiguration::from_json)
    }
}

/// What the provider sends to create or replace (`PUT`) an application: the fields it
/// models, typed, and every other field in `extra`, verbatim as read, so a replacement
/// never drops something another tool set. [`AppBody::from_app`] starts from a read
/// (read-only fields stripped and `policies` left out, as [`App::to_update_body`]); a
/// create starts from [`AppBody::default`]. A field that is `None` is not sent (or, from
/// a read, sent as `extra` holds it: a value of another shape than modelled stays there
/// untouched unless the field is set).
#[derive(Clone, Default, PartialEq)]
pub struct AppBody {
    pub app_type: Option<AppType>,
    pub name: Option<String>,
    pub domain: Option<String>,
    pub session_duration: Option<String>,
    pub allowed_idps: Option<Vec<String>>,
    pub auto_redirect_to_identity: Option<bool>,
    pub saas_app: Option<SaasAppBody>,
    /// Managed OAuth settings: an object whose members are set one by one over what
    /// was read (Cloudflare adds members to it; none may be dropped).
    pub oauth_configuration: Option<Map<String, Value>>,
    /// Attachments, sent on create only (a `PUT` leaves them untouched without them).
    pub policies: Option<Vec<PolicyLink>>,
    /// Every other field.
    pub extra: Map<String, Value>,
}

/// The `saas_app` object of an [`AppBody`]: the OIDC fields the provider sets, typed,
/// the rest as read.
#[derive(Clone, Default, PartialEq)]
pub struct SaasAppBody {
    pub auth_type: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub grant_types: Option<Vec<String>>,
    pub scopes: Option<Vec<String>>,
    pub access_token_lifetime: Option<String>,
    pub allow_pkce_without_client_secret: Option<bool>,
    /// Every other member (server-generated ones stripped).
    pub extra: Map<String, Value>,
}

/// Takes `key` out of `map` when its value has the shape `T`; anything else (null
/// included) stays in `map`, to be sent back as read.
fn take<T: serde::de::DeserializeOwned>(map: &mut Map<String, Value>, key: &str) -> Option<T> {
    let value = map.get(key).filter(|v| !v.is_null())?;
    let typed = serde_json::from_value(value.clone()).ok()?;
    map.remove(key);
    Some(typed)
}

/// Writes `value` at `key` of `out`, when there is one.
fn put<T: Serialize>(out: &mut Map<String, Value>, key: &str, value: Option<&T>) {
    if let Some(v) = value.and_then(|v| serde_json::to_value(v).ok()) {
        out.insert(key.to_string(), v);
    }
}

impl AppBody {
    /// The replacement body of `app` as read: every settable field, typed where
    /// modelled.
    pub fn from_app(app: &App) -> AppBody {
        let mut extra = match app.to_update_body() {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        AppBody {
            app_type: take(&mut extra, "type"),
            name: take(&mut extra, "name"),
            domain: take(&mut extra, "domain"),
            session_duration: take(&mut extra, "session_duration"),
            allowed_idps: take(&mut extra, "allowed_idps"),
            auto_redirect_to_identity: take(&mut extra, "auto_redirect_to_identity"),
            saas_app: take(&mut extra, "saas_app").map(SaasAppBody::from_map),
            oauth_configuration: take(&mut extra, "oauth_configuration"),
            policies: None,
            extra,
        }
    }

    /// The JSON sent: `extra`, with every typed field that is set written over it.
    pub fn to_json(&self) -> Value {
        let mut out = self.extra.clone();
        put(&mut out, "type", self.app_type.as_ref());
        put(&mut out, "name", self.name.as_ref());
        put(&mut out, "domain", self.domain.as_ref());
        put(&mut out, "session_duration", self.session_duration.as_ref());
        put(&mut out, "allowed_idps", self.allowed_idps.as_ref());
        put(
            &mut out,
            "auto_redirect_to_identity",
            self.auto_redirect_to_identity.as_ref(),
        );
        put(
            &mut out,
            "saas_app",
            self.saas_app.as_ref().map(SaasAppBody::to_json).as_ref(),
        );
        put(
            &mut out,
            "oauth_configuration",
            self.oauth_configuration.as_ref(),
        );
        put(&mut out, "policies", self.policies.as_ref());
        Value::Object(out)
    }
}

impl SaasAppBody {
    /// The object as read.
    fn from_map(mut extra: Map<String, Value>) -> SaasAppBody {
        SaasAppBody {
            auth_type: take(&mut extra, "auth_type"),
            redirect_uris: take(&mut extra, "redirect_uris"),
            grant_types: take(&mut extra, "grant_types"),
            scopes: take(&mut extra, "scopes"),
            access_token_lifetime: take(&mut extra, "access_token_lifetime"),
            allow_pkce_without_client_secret: take(&mut extra, "allow_pkce_without_client_secret"),
            extra,
        }
    }

    /// The JSON sent, as [`AppBody::to_json`].
    pub fn to_json(&self) -> Value {
        let mut out = self.extra.clone();
        put(&mut out, "auth_type", self.auth_type.as_ref());
        put(&mut out, "redirect_uris", self.redirect_uris.as_ref());
        put(&mut out, "grant_types", self.grant_types.as_ref());
        put(&mut out, "scopes", self.scopes.as_ref());
        put(
            &mut out,
            "access_token_lifetime",
            self.access_token_lifetime.as_ref(),
        );
        put(
            &mut out,
            "allow_pkce_without_client_secret",
            self.allow_pkce_without_client_secret.as_ref(),
        );
        Value::Object(out)
    }
}

/// Field by field, with `extra` as keys only (as [`App`]).
impl fmt::Debug for AppBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppBody")
            .field("app_type", &self.app_type)
            .field("name", &self.name)
            .field("domain", &self.domain)
            .field("session_duration", &self.session_duration)
            .field("allowed_idps", &self.allowed_idps)
            .field("auto_redirect_to_identity", &self.auto_redirect_to_identity)
            .field("saas_app", &self.saas_app)
            .field(
                "oauth_configuration",
                &self.oauth_configuration.as_ref().map(RedactedMap),
            )
            .field("policies", &self.policies)
            .field("extra", &RedactedMap(&self.extra))
            .finish()
    }
}

// Field by field, with `extra` as keys only.
debug_redacted!(SaasAppBody {
    auth_type, redirect_uris, grant_types, scopes, access_token_lifetime,
    allow_pkce_without_client_secret,
} redacted { extra });

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> App {
        serde_json::from_value(json!({
            "id": "app-1", "uid": "app-1", "aud": "abc", "name": "internal-api",
            "type": "self_hosted", "domain": "api.example.com",
            "created_at": "2026-08-20T09:59:00Z", "updated_at": "2026-08-20T09:59:00Z",
            "session_duration": "24h", "allowed_idps": null,
            "service_auth_401_redirect": true,
            "destinations": [{"type": "public", "uri": "api.example.com"}],
            "policies": [
                {"id": "p1", "precedence": 1, "reusable": true, "name": "mine", "decision": "non_identity",
                 "include": [{"linked_app_token": {"app_uid": "x"}}]},
                {"id": "legacy", "precedence": 3, "name": "app scoped", "decision": "allow"},
                "bare-uuid"
            ]
        }))
        .unwrap()
    }

    #[test]
    fn policies_project_to_links() {
        let app = sample();
        assert_eq!(
            app.policy_links(),
            vec![
                PolicyLink {
                    id: PolicyId::new_unchecked("p1"),
                    precedence: 1
                },
                PolicyLink {
                    id: PolicyId::new_unchecked("legacy"),
                    precedence: 3
                },
                // No precedence: after the highest present (3), not position 3.
                PolicyLink {
                    id: PolicyId::new_unchecked("bare-uuid"),
                    precedence: 4
                },
            ]
        );
        assert_eq!(app.policies[0].reusable, Some(true));
        assert_eq!(app.policies[0].rest["decision"], json!("non_identity"));
    }

    #[test]
    fn policy_ids_come_in_precedence_order_ties_as_read() {
        let app: App = serde_json::from_value(json!({
            "id": "a", "type": "self_hosted",
            "policies": [{"id": "c", "precedence": 3}, {"id": "a", "precedence": 1},
                         {"id": "tie-1", "precedence": 2}, {"id": "tie-2", "precedence": 2},
                         "bare"]
        }))
        .unwrap();
        assert_eq!(
            app.policy_ids_by_precedence(),
            ["a", "tie-1", "tie-2", "c", "bare"]
        );
    }

    #[test]
    fn the_holder_of_a_precedence_is_anyone_but_the_policy_placed() {
        let link = |id: &str, precedence| PolicyLink {
            id: PolicyId::new_unchecked(id),
            precedence,
        };
        let links = [link("a", 1), link("b", 2)];
        assert_eq!(PolicyLink::holder_of(&links, 2, None), Some(&links[1]));
        let a = PolicyId::new_unchecked("a");
        assert_eq!(PolicyLink::holder_of(&links, 1, Some(&a)), None);
        assert_eq!(PolicyLink::holder_of(&links, 2, Some(&a)), Some(&links[1]));
        assert_eq!(PolicyLink::holder_of(&links, 3, None), None);
    }

    #[test]
    fn expanded_entries_read_as_policies() {
        let app = sample();
        let expanded = app.policies[0].expanded_policy().expect("expanded");
        assert_eq!(expanded.id, "p1");
        assert!(expanded.is_linked_app_token());
        assert_eq!(
            app.policies[2].expanded_policy(),
            None,
            "a bare link needs a read"
        );
    }

    #[test]
    fn update_body_keeps_unknown_fields_and_omits_policies() {
        let body = sample().to_update_body();
        assert_eq!(
            body,
            json!({
                "name": "internal-api", "type": "self_hosted", "domain": "api.example.com",
                "session_duration": "24h", "service_auth_401_redirect": true,
                "destinations": [{"type": "public", "uri": "api.example.com"}]
            })
        );
    }

    #[test]
    fn saas_secret_never_serialised_or_debug_printed() {
        let app: App = serde_json::from_value(json!({
            "id": "s", "type": "saas", "name": "mcp",
            "saas_app": {"auth_type": "oidc", "client_id": "cid", "client_secret": "very-secret",
                          "public_key": "pk", "redirect_uris": ["https://cb"], "custom_claims": []}
        }))
        .unwrap();
        let saas = app.saas_app.as_ref().unwrap();
        assert_eq!(
            saas.client_secret.as_ref().map(SecretString::expose),
            Some("very-secret")
        );
        assert!(!format!("{app:?}").contains("very-secret"));
        assert!(!serde_json::to_string(&app).unwrap().contains("very-secret"));
        assert_eq!(
            app.to_update_body()["saas_app"],
            json!({"auth_type": "oidc", "redirect_uris": ["https://cb"], "custom_claims": []})
        );
    }

    #[test]
    fn create_body_matching() {
        let app = sample();
        assert!(app.matches_create_body(
            &json!({"name": "internal-api", "type": "self_hosted", "domain": "API.example.com/"})
        ));
        assert!(!app.matches_create_body(&json!({"name": "internal-api", "type": "saas"})));
        assert!(!app.matches_create_body(&json!({"name": "other", "type": "self_hosted"})));
        assert!(
            !app.matches_create_body(
                &json!({"name": "internal-api", "domain": "other.example.com"})
            )
        );
    }

    #[test]
    fn filter_query_and_local_check() {
        let filter = AppFilter::by_name("internal-api");
        assert_eq!(
            filter.query(),
            vec![
                ("name", "internal-api".to_owned()),
                ("exact", "true".to_owned())
            ]
        );
        assert!(filter.accepts(&sample()));
        assert!(!AppFilter::by_name("internal").accepts(&sample()));
        assert!(
            AppFilter {
                name: Some("INTERNAL".into()),
                ..Default::default()
            }
            .accepts(&sample())
        );
    }

    #[test]
    fn oauth_configuration_is_read_leniently_and_round_trips_verbatim() {
        let app: App = serde_json::from_value(json!({
            "id": "a", "type": "self_hosted", "domain": "mcp.example.com",
            "oauth_configuration": {
                "enabled": null, "future_member": {"x": 1},
                "dynamic_client_registration": {
                    "enabled": true, "allowed_uris": ["https://a/cb", 7],
                    "allow_any_on_localhost": "yes", "allow_any_on_loopback": null
                },
                "grant": null
            }
        }))
        .unwrap();
        let oauth = app.oauth_configuration().unwrap();
        assert_eq!(oauth.enabled, None);
        assert_eq!(oauth.grant, None);
        let dcr = oauth.dynamic_client_registration.unwrap();
        assert_eq!(dcr.enabled, Some(true));
        assert_eq!(dcr.allowed_uris, Some(vec!["https://a/cb".to_string()]));
        assert_eq!(dcr.allow_any_on_localhost, None, "wrong type reads as None");
        assert_eq!(dcr.allow_any_on_loopback, None);
        // The raw object, unknown members and nulls included, goes back unchanged.
        let body = app.to_update_body();
        assert_eq!(
            body["oauth_configuration"]["future_member"],
            json!({"x": 1})
        );
        assert_eq!(
            body["oauth_configuration"]["dynamic_client_registration"]["allowed_uris"],
            json!(["https://a/cb", 7])
        );
        let none: App = serde_json::from_value(
            json!({"id": "b", "type": "self_hosted", "oauth_configuration": null}),
        )
        .unwrap();
        assert_eq!(none.oauth_configuration(), None);
    }

    #[test]
    fn an_app_body_sends_back_what_was_read_and_keeps_odd_shapes() {
        let mut saas: App = serde_json::from_value(json!({
            "id": "app-2", "type": "saas", "name": "oidc",
            "saas_app": {"auth_type": "oidc", "client_id": "cid", "client_secret": "s",
                         "redirect_uris": ["https://a/cb"], "custom_claims": [{"name": "x"}],
                         "access_token_lifetime": null},
            "oauth_configuration": {"enabled": true, "future": 1},
            "auto_redirect_to_identity": false
        }))
        .unwrap();
        saas.extra.insert("domain".into(), json!(7));
        for app in [sample(), saas] {
            let body = AppBody::from_app(&app);
            assert_eq!(body.to_json(), app.to_update_body(), "{body:?}");
        }
        // A typed field set over a value of another shape replaces it.
        let mut odd = sample();
        odd.extra
            .insert("auto_redirect_to_identity".into(), json!("yes"));
        odd.auto_redirect_to_identity = None;
        let mut body = AppBody::from_app(&odd);
        assert_eq!(body.auto_redirect_to_identity, None);
        body.auto_redirect_to_identity = Some(true);
        assert_eq!(body.to_json()["auto_redirect_to_identity"], json!(true));
        assert!(body.to_json().get("policies").is_none());
    }
}
