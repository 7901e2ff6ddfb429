//! The plan values this resource owns.

use super::*;

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
pub(super) fn plan_oauth_configuration(
    config: Option<&Value>,
    prior: Option<&Value>,
    planned: &mut Value,
) {
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
pub(super) fn fill_omitted_members(value: &mut Value, prior: Option<&Value>) {
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
