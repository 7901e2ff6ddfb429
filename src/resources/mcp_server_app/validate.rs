//! Attribute validators and the cross-attribute checks of a configuration.

use super::*;

/// An empty collection would be a second spelling of "omitted" that the API cannot
/// tell apart on read; one spelling keeps import and plan unambiguous.
pub(super) fn validate_not_empty(v: &Value, path: &AttributePath, diags: &mut Diagnostics) {
    if v.elements().is_some_and(<[Value]>::is_empty) {
        diags.attr_error(
            path.clone(),
            "Empty collection",
            format!("Attribute {path} must not be empty: omit the attribute instead."),
        );
    }
}

/// A domain is a hostname with an optional path, never a URL.
pub(super) fn validate_domain(v: &Value, path: &AttributePath, diags: &mut Diagnostics) {
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
pub(super) fn validate_redirect_uris(v: &Value, path: &AttributePath, diags: &mut Diagnostics) {
    check_each_uri(
        v,
        path,
        diags,
        "Invalid redirect URI",
        "Use an absolute https:// URL such as \"https://mcp.example.com/oauth/callback\" \
         (http:// is allowed only on localhost, 127.0.0.1 or [::1]).",
    );
}

/// Reports each element of the list `v` that [`check_redirect_uri`] refuses, with
/// `summary` and `advice`.
fn check_each_uri(
    v: &Value,
    path: &AttributePath,
    diags: &mut Diagnostics,
    summary: &str,
    advice: &str,
) {
    for (i, el) in v.elements().unwrap_or(&[]).iter().enumerate() {
        let Some(s) = el.as_str() else { continue };
        if let Err(problem) = check_redirect_uri(s) {
            let at = path.index(i);
            diags.attr_error(
                at.clone(),
                summary,
                format!("Attribute {at} {problem}; got {s:?}. {advice}"),
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
pub(super) fn validate_allowed_uris(v: &Value, path: &AttributePath, diags: &mut Diagnostics) {
    check_each_uri(
        v,
        path,
        diags,
        "Invalid allowed URI",
        "Use an absolute https:// URL such as \"https://claude.ai/api/mcp/auth_callback\" \
         (http:// is allowed only on localhost, 127.0.0.1 or [::1]; a path may end in /* to \
         match every sub-path).",
    );
}

/// A Go duration (as the API documents for the Managed OAuth lifetimes) above zero:
/// a lifetime of zero or less could never admit anyone.
pub(super) fn validate_positive_duration(v: &Value, path: &AttributePath, diags: &mut Diagnostics) {
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

pub(super) fn validate_token_lifetime(v: &Value, path: &AttributePath, diags: &mut Diagnostics) {
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
pub(super) fn token_lifetime_secs(s: &str) -> Option<f64> {
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
pub(super) fn config_type(config: &Value) -> Option<String> {
    match config.get(attr::TYPE) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Unknown) => None,
        _ => Some(SELF_HOSTED.to_string()),
    }
}

/// True when the value is set to something known (an unknown may still turn out null).
pub(super) fn known_non_null(v: Option<&Value>) -> bool {
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
