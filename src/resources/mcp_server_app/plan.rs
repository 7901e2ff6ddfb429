//! The plan values this resource owns.

use super::*;

/// The plan values this resource owns (see the module docs of `plan`: Optional+Computed
/// attributes left out of the configuration otherwise keep their prior value, which
/// would hide drift of a value we default).
pub fn plan_fixed_values(plan: &mut Plan<Model>) {
    let creating = plan.is_create();
    let app_type = match &plan.config.app_type {
        Field::Known(t) => Some(t.clone()),
        Field::Unknown => None,
        Field::Null => Some(SELF_HOSTED.to_string()),
    };
    let prior_type = plan.prior.as_ref().and_then(|p| p.app_type.as_str());
    let planned = &mut plan.planned;
    planned.app_type = app_type.clone().map_or(Field::Unknown, Field::Known);
    // The generic rules compared `type` before it was set here (it was unknown then),
    // so the replacement decision for `type` is made again from the final value.
    let type_path = AttributePath::root(attr::TYPE);
    plan.requires_replace.retain(|p| p != &type_path);
    if !creating && app_type.as_deref().is_none_or(|t| Some(t) != prior_type) {
        plan.requires_replace.push(type_path);
    }
    let headers = app_type.as_deref().and_then(token_headers);
    let header = |pick: fn((&'static str, &'static str, &'static str)) -> &'static str| {
        headers.map_or(Field::Unknown, |h| Field::Known(pick(h).to_string()))
    };
    planned.inbound_token_header = header(|h| h.0);
    planned.downstream_token_header = header(|h| h.1);
    planned.downstream_token_prefix = header(|h| h.2);
    if plan.config.auto_redirect_to_identity.is_null() {
        planned.auto_redirect_to_identity = Field::Known(false);
    }
    if plan.config.saas.is_null() {
        planned.saas = Field::Null;
    }
    // The prior object is shown while the configuration omits it, unless the
    // application is (re)created or becomes another type.
    let oauth_prior = match &plan.prior {
        Some(prior)
            if app_type.as_deref() == Some(SELF_HOSTED) && prior_type == Some(SELF_HOSTED) =>
        {
            prior.oauth_configuration.known()
        }
        _ => None,
    };
    // A list with unknown elements reads as unknown here and is not changed, so the
    // framework keeps it as Terraform planned it (see `Plan`).
    planned.oauth_configuration =
        plan_oauth_configuration(&plan.config.oauth_configuration, oauth_prior);
    let pkce_unset = plan
        .config
        .saas
        .known()
        .is_none_or(|s| s.allow_pkce_without_client_secret.is_null());
    if pkce_unset && let Some(saas) = planned.saas.known_mut() {
        saas.allow_pkce_without_client_secret = Field::Known(false);
    }
    let same_type = !creating && app_type.is_some() && prior_type == app_type.as_deref();
    match app_type.as_deref() {
        Some(SAAS) => {
            planned.session_duration = Field::Null;
            if same_type && let Some(prior) = &plan.prior {
                // Stable for the application's life; the secret is never re-issued
                // (and stays null after an import).
                if !prior.client_id.is_null() {
                    planned.client_id = prior.client_id.clone();
                }
                planned.client_secret = prior.client_secret.clone();
            }
        }
        Some(SELF_HOSTED) => {
            planned.client_id = Field::Null;
            planned.client_secret = Field::Null;
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
    config: &Field<OAuthModel>,
    prior: Option<&OAuthModel>,
) -> Field<OAuthModel> {
    let config = match config {
        Field::Null => return prior.cloned().into(),
        Field::Unknown => return Field::Unknown,
        Field::Known(c) => c,
    };
    let mut value = config.to_value();
    let prior = prior.map(TfValue::to_value);
    fill_omitted_members(&mut value, prior.as_ref());
    if config.enabled.is_null() {
        value.set(attr::ENABLED, Value::Bool(true));
    }
    // Built from known members and unknowns only, so it always fits the model.
    Field::from_value(&value).unwrap_or(Field::Unknown)
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
