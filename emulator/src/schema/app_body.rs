//! Request bodies of Access applications (spec §2.3–§2.6, §9, §11 #10–#18).

use serde_json::{Map, Value, json};

use super::fields::{Kind, check, copy_known, default};
use crate::envelope::{ApiError, codes};

/// Every app `type` the API knows (TS `ApplicationType`).
pub(crate) const APP_TYPES: &[&str] = &[
    "self_hosted",
    "saas",
    "ssh",
    "vnc",
    "app_launcher",
    "warp",
    "biso",
    "bookmark",
    "dash_sso",
    "infrastructure",
    "rdp",
    "mcp",
    "mcp_portal",
    "proxy_endpoint",
];

/// Types whose request schema requires `domain`.
const DOMAIN_REQUIRED: &[&str] = &["self_hosted", "ssh", "vnc", "rdp", "mcp"];

/// Types served on a hostname: they get `destinations`/`self_hosted_domains` and the
/// cookie and session defaults of §9.
const HOSTED: &[&str] = &["self_hosted", "ssh", "vnc", "rdp", "mcp", "mcp_portal"];

const DESTINATION_TYPES: &[&str] = &[
    "public",
    "private",
    "via_mcp_server_portal",
    "worker",
    "preview_worker",
    "all_workers",
    "all_preview_workers",
];

/// Settable top-level fields (any type) with their JSON types. `type`, `policies` and
/// `saas_app` are handled separately.
const SETTABLE: &[(&str, Kind)] = &[
    ("name", Kind::Str),
    ("domain", Kind::Str),
    ("destinations", Kind::Array),
    ("self_hosted_domains", Kind::StrArray),
    ("session_duration", Kind::Duration),
    ("allowed_idps", Kind::StrArray),
    ("auto_redirect_to_identity", Kind::Bool),
    ("app_launcher_visible", Kind::Bool),
    ("tags", Kind::StrArray),
    ("logo_url", Kind::Str),
    ("custom_deny_message", Kind::Str),
    ("custom_deny_url", Kind::Str),
    ("custom_non_identity_deny_url", Kind::Str),
    ("custom_pages", Kind::StrArray),
    ("enable_binding_cookie", Kind::Bool),
    ("http_only_cookie_attribute", Kind::Bool),
    ("same_site_cookie_attribute", Kind::Str),
    ("path_cookie_attribute", Kind::Bool),
    ("skip_interstitial", Kind::Bool),
    ("service_auth_401_redirect", Kind::Bool),
    ("options_preflight_bypass", Kind::Bool),
    ("cors_headers", Kind::Object),
    ("allow_authenticate_via_warp", Kind::Bool),
    ("allow_iframe", Kind::Bool),
    ("read_service_tokens_from_header", Kind::Str),
    ("eager_redirect_cookie_setting", Kind::Bool),
    ("mfa_config", Kind::Object),
    ("use_clientless_isolation_app_launcher_url", Kind::Bool),
    ("scim_config", Kind::Object),
    ("target_criteria", Kind::Array),
    ("landing_page_design", Kind::Object),
    ("app_launcher_logo_url", Kind::Str),
    ("header_bg_color", Kind::Str),
    ("bg_color", Kind::Str),
    ("footer_links", Kind::Array),
    ("skip_app_launcher_login_page", Kind::Bool),
];

/// Types whose request schema has `oauth_configuration` (Managed OAuth, spec §2.4 and
/// §7.1: self-hosted applications and the MCP app types; Cloudflare's docs name
/// self-hosted applications and MCP server portals).
const OAUTH_TYPES: &[&str] = &["self_hosted", "mcp", "mcp_portal"];

/// Members of `oauth_configuration` (TS `SelfHostedApplication.OAuthConfiguration`).
const OAUTH_MEMBERS: &[(&str, Kind)] = &[
    ("enabled", Kind::Bool),
    ("dynamic_client_registration", Kind::Object),
    ("grant", Kind::Object),
];
const OAUTH_DCR_MEMBERS: &[(&str, Kind)] = &[
    ("enabled", Kind::Bool),
    ("allowed_uris", Kind::StrArray),
    ("allow_any_on_localhost", Kind::Bool),
    ("allow_any_on_loopback", Kind::Bool),
];
const OAUTH_GRANT_MEMBERS: &[(&str, Kind)] = &[
    ("access_token_lifetime", Kind::Duration),
    ("session_duration", Kind::Duration),
];

/// Settable `saas_app` fields for OIDC apps (spec §2.5).
const SAAS_OIDC: &[(&str, Kind)] = &[
    ("redirect_uris", Kind::StrArray),
    ("grant_types", Kind::StrArray),
    ("scopes", Kind::StrArray),
    ("access_token_lifetime", Kind::Duration),
    ("allow_pkce_without_client_secret", Kind::Bool),
    ("refresh_token_options", Kind::Object),
    ("app_launcher_url", Kind::Str),
    ("group_filter_regex", Kind::Str),
    ("custom_claims", Kind::Array),
    ("hybrid_and_implicit_options", Kind::Object),
];

/// Settable `saas_app` fields for SAML apps.
const SAAS_SAML: &[(&str, Kind)] = &[
    ("sp_entity_id", Kind::Str),
    ("consumer_service_url", Kind::Str),
    ("name_id_format", Kind::Str),
    ("custom_attributes", Kind::Array),
    ("default_relay_state", Kind::Str),
    ("name_id_transform_jsonata", Kind::Str),
    ("saml_attribute_transform_jsonata", Kind::Str),
];

const GRANT_TYPES: &[&str] = &[
    "authorization_code",
    "authorization_code_with_pkce",
    "refresh_tokens",
    "hybrid",
    "implicit",
];
const SCOPES: &[&str] = &["openid", "groups", "email", "profile", "offline_access"];

/// One entry of an app's `policies` request array (spec §2.6).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PolicyEntry {
    /// `{id, precedence}` or a bare id: a reusable policy (or this app's own
    /// app-scoped policy).
    Link { id: String, precedence: u32 },
    /// A full policy body: an app-scoped policy, created when it has no `id`.
    Inline {
        id: Option<String>,
        precedence: u32,
        body: Map<String, Value>,
    },
}

impl PolicyEntry {
    pub fn precedence(&self) -> u32 {
        match self {
            PolicyEntry::Link { precedence, .. } | PolicyEntry::Inline { precedence, .. } => {
                *precedence
            }
        }
    }
}

/// A validated app body: stored fields with defaults (no server-generated ids) and the
/// requested attachments (`None` = key omitted).
#[derive(Debug, Clone)]
pub(crate) struct AppBody {
    pub app_type: String,
    pub fields: Map<String, Value>,
    pub policies: Option<Vec<PolicyEntry>>,
}

/// Validates an app request body and fills the defaults of §9.
pub(crate) fn normalize_app(body: &Value) -> Result<AppBody, ApiError> {
    let Some(body) = body.as_object() else {
        return Err(ApiError::invalid("request body must be a JSON object"));
    };
    let app_type = match body.get("type") {
        Some(Value::String(t)) if APP_TYPES.contains(&t.as_str()) && t != "dash_sso" => t.clone(),
        Some(Value::String(t)) => {
            return Err(ApiError::invalid(format!(
                "type: '{t}' is not a valid application type"
            )));
        }
        Some(v) if !v.is_null() => return Err(ApiError::invalid("type: must be a string")),
        _ => return Err(ApiError::invalid("type is required")),
    };
    let mut fields = Map::new();
    fields.insert("type".into(), json!(app_type));
    copy_known(body, SETTABLE, &mut fields)?;

    let hosted = HOSTED.contains(&app_type.as_str());
    if hosted {
        derive_hosts(&app_type, &mut fields)?;
    }
    match body.get("oauth_configuration") {
        None | Some(Value::Null) => {}
        Some(_) if !OAUTH_TYPES.contains(&app_type.as_str()) => {
            return Err(ApiError::invalid(format!(
                "oauth_configuration: not supported on {app_type} applications (only {})",
                OAUTH_TYPES.join(", ")
            )));
        }
        Some(v) => {
            check("oauth_configuration", v, Kind::Object)?;
            fields.insert(
                "oauth_configuration".into(),
                Value::Object(normalize_oauth(v)?),
            );
        }
    }
    if app_type == "saas" {
        let saas = match body.get("saas_app") {
            Some(v) if !v.is_null() => {
                check("saas_app", v, Kind::Object)?;
                normalize_saas_app(v)?
            }
            _ => normalize_saas_app(&json!({}))?,
        };
        fields.insert("saas_app".into(), Value::Object(saas));
    }

    if let Some(Value::Array(tags)) = fields.get_mut("tags") {
        tags.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    }
    let name = fields.get("domain").cloned().unwrap_or_else(|| json!(""));
    default(&mut fields, "name", name);
    default(&mut fields, "allowed_idps", json!([]));
    default(&mut fields, "tags", json!([]));
    default(&mut fields, "app_launcher_visible", json!(true));
    default(&mut fields, "auto_redirect_to_identity", json!(false));
    if hosted {
        default(&mut fields, "session_duration", json!("24h"));
        default(&mut fields, "http_only_cookie_attribute", json!(true));
        default(&mut fields, "enable_binding_cookie", json!(false));
        default(&mut fields, "path_cookie_attribute", json!(false));
    }

    let policies = match body.get("policies") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(parse_policy_entries(items)?),
        Some(_) => return Err(ApiError::invalid("policies: must be an array")),
    };
    Ok(AppBody {
        app_type,
        fields,
        policies,
    })
}

/// Fills `domain`, `destinations` and `self_hosted_domains` from each other (§11 #18).
fn derive_hosts(app_type: &str, fields: &mut Map<String, Value>) -> Result<(), ApiError> {
    let mut public_uris = Vec::new();
    if let Some(dests) = fields.get("destinations").and_then(Value::as_array) {
        for (i, d) in dests.iter().enumerate() {
            let kind = d.get("type").and_then(Value::as_str).unwrap_or("public");
            if !DESTINATION_TYPES.contains(&kind) {
                return Err(ApiError::invalid(format!(
                    "destinations[{i}].type: '{kind}' is not a valid destination type"
                )));
            }
            if kind == "public" {
                match d.get("uri").and_then(Value::as_str) {
                    Some(uri) if !uri.is_empty() => public_uris.push(uri.to_string()),
                    _ => {
                        return Err(ApiError::invalid(format!(
                            "destinations[{i}].uri is required for public destinations"
                        )));
                    }
                }
            }
        }
    }
    if fields.contains_key("destinations") {
        // `self_hosted_domains` is ignored when `destinations` is present (TS docs).
        fields.insert("self_hosted_domains".into(), json!(public_uris));
    } else if let Some(domains) = fields.get("self_hosted_domains").and_then(Value::as_array) {
        public_uris = domains
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
        let dests: Vec<Value> = public_uris
            .iter()
            .map(|u| json!({"type": "public", "uri": u}))
            .collect();
        fields.insert("destinations".into(), json!(dests));
    }
    let domain_given = fields
        .get("domain")
        .and_then(Value::as_str)
        .is_some_and(|d| !d.is_empty());
    if !domain_given {
        match public_uris.first() {
            Some(first) => {
                fields.insert("domain".into(), json!(first));
            }
            None if DOMAIN_REQUIRED.contains(&app_type) => {
                return Err(ApiError::invalid(format!(
                    "domain is required for {app_type} applications (or give a public destination)"
                )));
            }
            None => {
                fields.remove("domain");
            }
        }
    }
    if let Some(domain) = fields
        .get("domain")
        .and_then(Value::as_str)
        .map(str::to_string)
        && !fields.contains_key("destinations")
    {
        fields.insert(
            "destinations".into(),
            json!([{"type": "public", "uri": domain}]),
        );
        fields.insert("self_hosted_domains".into(), json!([domain]));
    }
    Ok(())
}

/// Validates `oauth_configuration` and fills the one default Cloudflare documents
/// (`enabled: true` when left out). Nothing else is invented: members not sent stay
/// absent, and nested objects are stored as sent after their members' types are
/// checked. Members the schema does not know are kept, as the object is stored whole.
fn normalize_oauth(value: &Value) -> Result<Map<String, Value>, ApiError> {
    let mut out = value.as_object().cloned().unwrap_or_default();
    check_members(&out, "oauth_configuration", OAUTH_MEMBERS)?;
    for (key, members) in [
        ("dynamic_client_registration", OAUTH_DCR_MEMBERS),
        ("grant", OAUTH_GRANT_MEMBERS),
    ] {
        if let Some(Value::Object(nested)) = out.get(key) {
            check_members(nested, &format!("oauth_configuration.{key}"), members)?;
        }
    }
    // A null member reads as left out.
    out.retain(|_, v| !v.is_null());
    default(&mut out, "enabled", json!(true));
    Ok(out)
}

/// Checks the type of every known, non-null member of `obj`, naming `prefix.member`.
fn check_members(
    obj: &Map<String, Value>,
    prefix: &str,
    known: &[(&str, Kind)],
) -> Result<(), ApiError> {
    for (key, kind) in known {
        if let Some(v) = obj.get(*key).filter(|v| !v.is_null()) {
            check(&format!("{prefix}.{key}"), v, *kind)?;
        }
    }
    Ok(())
}

/// Validates `saas_app` and fills its defaults; computed fields (`client_id`,
/// `public_key`, timestamps) are added by the store.
fn normalize_saas_app(value: &Value) -> Result<Map<String, Value>, ApiError> {
    let src = value.as_object().cloned().unwrap_or_default();
    let auth_type = match src.get("auth_type") {
        None | Some(Value::Null) => "saml".to_string(),
        Some(Value::String(t)) if t == "oidc" || t == "saml" => t.clone(),
        Some(_) => {
            return Err(ApiError::invalid(
                "saas_app.auth_type: must be \"saml\" or \"oidc\"",
            ));
        }
    };
    let mut out = Map::new();
    out.insert("auth_type".into(), json!(auth_type));
    if auth_type == "oidc" {
        copy_known(&src, SAAS_OIDC, &mut out).map_err(prefix_saas)?;
        check_enum(&out, "grant_types", GRANT_TYPES)?;
        check_enum(&out, "scopes", SCOPES)?;
        if let Some(lifetime) = out.get("access_token_lifetime").and_then(Value::as_str) {
            let secs = crate::duration::parse_go_duration(lifetime).unwrap_or(0.0);
            if !(60.0..=86400.0).contains(&secs) {
                return Err(ApiError::invalid(
                    "saas_app.access_token_lifetime: must be between 1m and 24h",
                ));
            }
        }
        default(&mut out, "access_token_lifetime", json!("5m"));
    } else {
        copy_known(&src, SAAS_SAML, &mut out).map_err(prefix_saas)?;
    }
    Ok(out)
}

fn prefix_saas(mut e: ApiError) -> ApiError {
    e.message = format!("saas_app.{}", e.message);
    e
}

fn check_enum(map: &Map<String, Value>, key: &str, allowed: &[&str]) -> Result<(), ApiError> {
    for v in map.get(key).and_then(Value::as_array).into_iter().flatten() {
        let s = v.as_str().unwrap_or_default();
        if !allowed.contains(&s) {
            return Err(ApiError::invalid(format!(
                "saas_app.{key}: '{s}' is not one of {}",
                allowed.join(", ")
            )));
        }
    }
    Ok(())
}

/// Parses the `policies` array: link objects, bare ids (precedence = 1-based position,
/// §11 #12) or inline bodies; precedence ≥ 1 and unique (§11 #13); no mixing of inline
/// and reusable forms (§11 #11).
pub(crate) fn parse_policy_entries(items: &[Value]) -> Result<Vec<PolicyEntry>, ApiError> {
    let mut entries = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let position = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let entry = match item {
            Value::String(id) => PolicyEntry::Link {
                id: id.clone(),
                precedence: position,
            },
            Value::Object(obj) => {
                let precedence = match obj.get("precedence") {
                    None | Some(Value::Null) => position,
                    Some(p) => parse_precedence(i, p)?,
                };
                let id = match obj.get("id") {
                    None | Some(Value::Null) => None,
                    Some(Value::String(s)) => Some(s.clone()),
                    Some(_) => {
                        return Err(ApiError::invalid(format!(
                            "policies[{i}].id: must be a string"
                        )));
                    }
                };
                let inline = ["name", "decision", "include"]
                    .iter()
                    .any(|k| obj.contains_key(*k));
                if inline {
                    let mut body = obj.clone();
                    body.remove("id");
                    body.remove("precedence");
                    PolicyEntry::Inline {
                        id,
                        precedence,
                        body,
                    }
                } else {
                    match id {
                        Some(id) => PolicyEntry::Link { id, precedence },
                        None => {
                            return Err(ApiError::invalid(format!("policies[{i}].id is required")));
                        }
                    }
                }
            }
            _ => {
                return Err(ApiError::invalid(format!(
                    "policies[{i}]: must be a policy id, {{id, precedence}} or a policy object"
                )));
            }
        };
        entries.push(entry);
    }
    let inline = entries
        .iter()
        .any(|e| matches!(e, PolicyEntry::Inline { .. }));
    let linked = entries
        .iter()
        .any(|e| matches!(e, PolicyEntry::Link { .. }));
    if inline && linked {
        return Err(ApiError::bad_request(
            codes::MIXED_POLICIES,
            "access.api.error.invalid_policies: reusable and application-scoped (inline) policies cannot be mixed in one application",
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for e in &entries {
        if !seen.insert(e.precedence()) {
            return Err(ApiError::precedence(format!(
                "precedence {} is used by more than one policy",
                e.precedence()
            )));
        }
    }
    Ok(entries)
}

fn parse_precedence(i: usize, p: &Value) -> Result<u32, ApiError> {
    let n = match p {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 1e15)
                .map(|f| f as i64)
        }),
        _ => None,
    };
    match n {
        Some(n) if n >= 1 => u32::try_from(n)
            .map_err(|_| ApiError::precedence(format!("policies[{i}].precedence is too large"))),
        Some(n) => Err(ApiError::precedence(format!(
            "policies[{i}].precedence must be at least 1, got {n}"
        ))),
        None => Err(ApiError::precedence(format!(
            "policies[{i}].precedence must be an integer"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_hosted_defaults_and_derived_hosts() {
        let app = normalize_app(&json!({
            "type": "self_hosted", "domain": "api.example.com", "tags": ["b", "a"], "unknown": 1
        }))
        .unwrap();
        assert_eq!(app.policies, None);
        assert_eq!(
            Value::Object(app.fields),
            json!({
                "type": "self_hosted", "name": "api.example.com", "domain": "api.example.com",
                "destinations": [{"type": "public", "uri": "api.example.com"}],
                "self_hosted_domains": ["api.example.com"], "tags": ["a", "b"],
                "allowed_idps": [], "app_launcher_visible": true,
                "auto_redirect_to_identity": false, "session_duration": "24h",
                "http_only_cookie_attribute": true, "enable_binding_cookie": false,
                "path_cookie_attribute": false
            })
        );
    }

    #[test]
    fn domain_from_destinations_or_refused() {
        let app = normalize_app(&json!({
            "type": "self_hosted", "name": "x",
            "destinations": [{"type": "private", "cidr": "10.0.0.0/8"}, {"type": "public", "uri": "a.example.com/x"}]
        }))
        .unwrap();
        assert_eq!(app.fields["domain"], json!("a.example.com/x"));
        assert_eq!(
            app.fields["self_hosted_domains"],
            json!(["a.example.com/x"])
        );
        let err = normalize_app(&json!({"type": "self_hosted", "name": "x"})).unwrap_err();
        assert_eq!(err.code, codes::INVALID_REQUEST);
        assert!(err.message.contains("domain"));
    }

    #[test]
    fn saas_oidc_defaults() {
        let app = normalize_app(&json!({
            "type": "saas", "name": "mcp",
            "saas_app": {"auth_type": "oidc", "redirect_uris": ["https://x/cb"], "scopes": ["openid"]}
        }))
        .unwrap();
        assert_eq!(app.fields["saas_app"]["access_token_lifetime"], json!("5m"));
        assert!(!app.fields.contains_key("session_duration"));
        assert!(!app.fields.contains_key("domain"));
        let saml = normalize_app(&json!({"type": "saas", "name": "s"})).unwrap();
        assert_eq!(saml.fields["saas_app"]["auth_type"], json!("saml"));
        let bad = normalize_app(
            &json!({"type": "saas", "saas_app": {"auth_type": "oidc", "scopes": ["root"]}}),
        );
        assert!(bad.is_err());
        let bad = normalize_app(
            &json!({"type": "saas", "saas_app": {"auth_type": "oidc", "access_token_lifetime": "48h"}}),
        );
        assert!(bad.is_err());
    }

    #[test]
    fn type_is_required_and_checked() {
        assert!(normalize_app(&json!({"name": "x"})).is_err());
        assert!(normalize_app(&json!({"type": "webapp"})).is_err());
        assert!(normalize_app(&json!([])).is_err());
        assert!(
            normalize_app(
                &json!({"type": "self_hosted", "domain": "a", "app_launcher_visible": "yes"})
            )
            .is_err()
        );
    }

    #[test]
    fn policy_entries() {
        let e = parse_policy_entries(&[json!("a"), json!({"id": "b", "precedence": 5})]).unwrap();
        assert_eq!(
            e,
            vec![
                PolicyEntry::Link {
                    id: "a".into(),
                    precedence: 1
                },
                PolicyEntry::Link {
                    id: "b".into(),
                    precedence: 5
                }
            ]
        );
        let dup = parse_policy_entries(&[
            json!({"id": "a", "precedence": 1}),
            json!({"id": "b", "precedence": 1}),
        ]);
        assert_eq!(dup.unwrap_err().code, codes::INVALID_PRECEDENCE);
        let zero = parse_policy_entries(&[json!({"id": "a", "precedence": 0})]);
        assert_eq!(zero.unwrap_err().code, codes::INVALID_PRECEDENCE);
        let frac = parse_policy_entries(&[json!({"id": "a", "precedence": 1.5})]);
        assert_eq!(frac.unwrap_err().code, codes::INVALID_PRECEDENCE);
        let mixed = parse_policy_entries(&[
            json!({"id": "a", "precedence": 1}),
            json!({"name": "n", "decision": "allow", "include": [{"everyone": {}}], "precedence": 2}),
        ]);
        assert_eq!(mixed.unwrap_err().code, codes::MIXED_POLICIES);
    }

    #[test]
    fn oauth_configuration_defaults_checks_and_types() {
        let app = normalize_app(&json!({
            "type": "self_hosted", "domain": "mcp.example.com",
            "oauth_configuration": {
                "dynamic_client_registration": {"enabled": true, "allowed_uris": ["https://a/cb"]},
                "grant": {"session_duration": "336h"}, "future": 1
            }
        }))
        .unwrap();
        assert_eq!(
            app.fields["oauth_configuration"],
            json!({
                "enabled": true, "future": 1,
                "dynamic_client_registration": {"enabled": true, "allowed_uris": ["https://a/cb"]},
                "grant": {"session_duration": "336h"}
            }),
            "enabled defaults to true; nothing else is invented"
        );
        let off = normalize_app(&json!({
            "type": "mcp_portal", "name": "p", "oauth_configuration": {"enabled": false}
        }))
        .unwrap();
        assert_eq!(off.fields["oauth_configuration"], json!({"enabled": false}));
        let none = normalize_app(
            &json!({"type": "self_hosted", "domain": "a.example.com", "oauth_configuration": null}),
        )
        .unwrap();
        assert!(!none.fields.contains_key("oauth_configuration"));
        // Only the types that take it.
        for t in ["saas", "ssh", "bookmark"] {
            let err = normalize_app(&json!({
                "type": t, "name": "x", "domain": "x.example.com",
                "oauth_configuration": {"enabled": true}
            }))
            .unwrap_err();
            assert_eq!(err.code, codes::INVALID_REQUEST);
            assert!(
                err.message.contains("oauth_configuration"),
                "{}",
                err.message
            );
        }
        // Member types and durations.
        for (bad, path) in [
            (json!({"enabled": "yes"}), "oauth_configuration.enabled"),
            (json!({"grant": "1h"}), "oauth_configuration.grant"),
            (
                json!({"grant": {"access_token_lifetime": "15 minutes"}}),
                "oauth_configuration.grant.access_token_lifetime",
            ),
            (
                json!({"dynamic_client_registration": {"allowed_uris": "https://a/cb"}}),
                "oauth_configuration.dynamic_client_registration.allowed_uris",
            ),
        ] {
            let err = normalize_app(&json!({
                "type": "self_hosted", "domain": "a.example.com", "oauth_configuration": bad
            }))
            .unwrap_err();
            assert!(err.message.starts_with(path), "{}", err.message);
        }
    }
}
