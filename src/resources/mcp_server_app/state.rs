//! One normalisation path from an API application to state.

use super::*;

pub(super) use crate::cloudflare::same_domain;

/// A set as the API returns it: empty = null (unset), same members as the basis = the
/// basis (its order), otherwise the API's members.
pub(super) fn normalise_set(api: &[String], basis: Option<&Vec<String>>) -> Option<Vec<String>> {
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
pub(super) fn normalise_unordered_list(
    api: &[String],
    basis: Option<&Vec<String>>,
) -> Option<Vec<String>> {
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

pub(super) fn policy_ids_for_state(app: &App, scope: &PolicyScope) -> Option<Vec<String>> {
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
    pub(super) fn diagnostic(&self, app_id: &str) -> (String, String) {
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
pub(super) fn or_basis<T: Clone>(api: Option<T>, basis: &Field<T>) -> Field<T> {
    api.or_else(|| basis.known().cloned()).into()
}

/// A list field's known elements, the basis of a normalisation.
fn list_basis(f: &Field<Vec<String>>) -> Option<&Vec<String>> {
    f.known()
}

/// A set field's known members, the basis of a normalisation.
fn set_basis(f: &Field<Set<String>>) -> Option<&Vec<String>> {
    f.known().map(|s| &s.0)
}

/// `oauth_configuration` for the state. Read only when the basis has it (the
/// configuration sets it, or the state held it already), or on import when the
/// application has one; null otherwise, whatever the application holds. Every member
/// of the response may be null: see [`or_basis`].
pub(super) fn oauth_for_state(
    app: &App,
    basis: Option<&OAuthModel>,
    importing: bool,
) -> Field<OAuthModel> {
    let api = app.oauth_configuration();
    let basis = match basis {
        Some(b) => b.clone(),
        None if importing && api.is_some() => OAuthModel::default(),
        None => return Field::Null,
    };
    let Some(api) = api else {
        // Removed from the application (outside Terraform): Managed OAuth is off.
        return Field::Known(OAuthModel {
            enabled: Field::Known(false),
            ..OAuthModel::default()
        });
    };
    let dynamic_client_registration = match api.dynamic_client_registration {
        Some(a) => {
            let b = basis
                .dynamic_client_registration
                .known()
                .cloned()
                .unwrap_or_default();
            Field::Known(DcrModel {
                enabled: or_basis(a.enabled, &b.enabled),
                allowed_uris: match a.allowed_uris {
                    Some(uris) => normalise_unordered_list(&uris, list_basis(&b.allowed_uris)),
                    None => b.allowed_uris.known().cloned(),
                }
                .into(),
                allow_any_on_localhost: or_basis(
                    a.allow_any_on_localhost,
                    &b.allow_any_on_localhost,
                ),
                allow_any_on_loopback: or_basis(a.allow_any_on_loopback, &b.allow_any_on_loopback),
            })
        }
        // Not reported: the plan's value, without what it left for apply to decide.
        None => known_only(&basis.dynamic_client_registration),
    };
    let grant = match api.grant {
        Some(a) => {
            let b = basis.grant.known().cloned().unwrap_or_default();
            let duration = |api: Option<String>, basis: &Field<String>| {
                or_basis(
                    keep_equivalent_duration(api.as_deref(), basis.as_str()),
                    basis,
                )
            };
            Field::Known(GrantModel {
                access_token_lifetime: duration(a.access_token_lifetime, &b.access_token_lifetime),
                session_duration: duration(a.session_duration, &b.session_duration),
            })
        }
        None => known_only(&basis.grant),
    };
    Field::Known(OAuthModel {
        // Cloudflare documents `true` for an object without `enabled`.
        enabled: Field::Known(
            or_basis(api.enabled, &basis.enabled)
                .into_known()
                .unwrap_or(true),
        ),
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
    let basis_saas = basis.saas.known().cloned().unwrap_or_default();

    let domain = if saas_type {
        // SaaS apps may carry a generated domain (the OIDC endpoint host); it is not
        // something the user sets.
        None
    } else {
        match (&app.domain, basis.domain.known()) {
            (Some(a), Some(b)) if same_domain(a, b) => Some(b.clone()),
            (a, _) => a.clone(),
        }
    };
    let session_duration = if saas_type {
        None
    } else {
        keep_equivalent_duration(
            app.session_duration.as_deref(),
            basis.session_duration.as_str(),
        )
    };
    let saas = if saas_type {
        let api = app.saas_app.clone().unwrap_or_default();
        let keep_server_scope = set_basis(&basis_saas.scopes)
            .is_some_and(|b| b.iter().any(|x| x == SERVER_ADDED_SCOPE));
        let scopes: Vec<String> = api
            .scopes
            .iter()
            .filter(|s| s.as_str() != SERVER_ADDED_SCOPE || keep_server_scope)
            .cloned()
            .collect();
        Field::Known(SaasModel {
            redirect_uris: normalise_unordered_list(
                &api.redirect_uris,
                list_basis(&basis_saas.redirect_uris),
            )
            .into(),
            grant_types: normalise_set(&api.grant_types, set_basis(&basis_saas.grant_types))
                .map(Set)
                .into(),
            scopes: normalise_set(&scopes, set_basis(&basis_saas.scopes))
                .map(Set)
                .into(),
            access_token_lifetime: keep_equivalent_duration(
                api.access_token_lifetime.as_deref(),
                basis_saas.access_token_lifetime.as_str(),
            )
            .into(),
            allow_pkce_without_client_secret: Field::Known(
                api.allow_pkce_without_client_secret.unwrap_or(false),
            ),
        })
    } else {
        Field::Null
    };
    let oauth_configuration = if saas_type {
        Field::Null
    } else {
        let importing = matches!(scope, PolicyScope::Imported { .. });
        oauth_for_state(app, basis.oauth_configuration.known(), importing)
    };
    let client_id = if saas_type {
        app.saas_app
            .as_ref()
            .and_then(|s| s.client_id.clone())
            .or_else(|| basis.client_id.known().cloned())
    } else {
        None
    };
    let client_secret = if saas_type {
        secret.or_else(|| basis.client_secret.known().map(|s| s.expose().clone()))
    } else {
        None
    };
    Ok(Model {
        id: Field::Known(app.id.to_string()),
        uid: Field::Known(app.uid.clone().unwrap_or_else(|| app.id.to_string())),
        aud: app
            .aud
            .clone()
            .or_else(|| basis.aud.known().cloned())
            .into(),
        name: app
            .name
            .clone()
            .or_else(|| basis.name.known().cloned())
            .into(),
        app_type: Field::Known(app_type),
        domain: domain.into(),
        session_duration: session_duration.into(),
        allowed_idps: normalise_set(&app.allowed_idps, set_basis(&basis.allowed_idps))
            .map(Set)
            .into(),
        auto_redirect_to_identity: Field::Known(app.auto_redirect_to_identity.unwrap_or(false)),
        policy_ids: policy_ids_for_state(app, scope).into(),
        saas,
        oauth_configuration,
        account_id: Field::Known(account_id.to_string()),
        client_id: client_id.into(),
        client_secret: client_secret.map(Sensitive).into(),
        inbound_token_header: headers.map(|h| h.0.to_string()).into(),
        downstream_token_header: headers.map(|h| h.1.to_string()).into(),
        downstream_token_prefix: headers.map(|h| h.2.to_string()).into(),
    })
}

/// [`state_from_app`] for the answer to a create or update, `basis` being the plan and
/// `planned` / `config` the models Terraform sent with it. For `oauth_configuration`:
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
    config: &Model,
    planned: &Model,
) -> Result<Model, Unsupported> {
    let mut state = state_from_app(app, basis, account_id, secret, scope)?;
    if state.app_type.as_str() == Some(SELF_HOSTED) {
        if app.oauth_configuration().is_none() && basis.oauth_configuration.is_known() {
            state.oauth_configuration = known_only(&basis.oauth_configuration);
        }
        let planned_oauth = planned.oauth_configuration.to_value();
        let mut sent = config.oauth_configuration.to_value();
        // `enabled` is sent whenever the object is: planned `true` when omitted.
        if matches!(sent, Value::Object(_))
            && let Some(enabled) = planned_oauth.get(attr::ENABLED)
        {
            sent.set(attr::ENABLED, enabled.clone());
        }
        let mut oauth = state.oauth_configuration.to_value();
        keep_unsent(&mut oauth, &planned_oauth, &sent);
        // Only planned (known) values were copied in, so the model holds them.
        state.oauth_configuration = Field::from_value(&oauth).unwrap_or(Field::Null);
    }
    Ok(state)
}

/// Sets every part of `state` that `sent` (the configuration) leaves null to its
/// `planned` value, where the plan knows it; parts the configuration sets keep what
/// the API answered.
pub(super) fn keep_unsent(state: &mut Value, planned: &Value, sent: &Value) {
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
