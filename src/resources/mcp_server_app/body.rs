//! The request bodies of create and update.

use super::*;

/// The strings of a list field (none when null or unknown).
pub(super) fn list_strings(items: &Field<Vec<String>>) -> Vec<String> {
    items.known().cloned().unwrap_or_default()
}

/// The members of a set field (none when null or unknown).
pub(super) fn set_strings(items: &Field<Set<String>>) -> Vec<String> {
    items.known().map(|s| s.0.clone()).unwrap_or_default()
}

/// A JSON array of `items`.
fn json_strings(items: Vec<String>) -> Json {
    Json::Array(items.into_iter().map(Json::String).collect())
}

/// `policies` for a create: `{id, precedence}` links, precedence = 1-based position.
pub(super) fn policy_links_for(ids: &[String]) -> Vec<PolicyLink> {
    ids.iter()
        .enumerate()
        .map(|(i, id)| PolicyLink {
            id: PolicyId::new_unchecked(id.as_str()),
            precedence: u32::try_from(i + 1).unwrap_or(u32::MAX),
        })
        .collect()
}

/// Sets the managed `saas_app` fields of `saas_app` (as read, or empty).
pub(super) fn put_saas_fields(saas_app: &mut SaasAppBody, saas: &SaasModel) {
    saas_app.auth_type = Some("oidc".into());
    saas_app.redirect_uris = Some(list_strings(&saas.redirect_uris));
    saas_app.grant_types = Some(set_strings(&saas.grant_types));
    saas_app.scopes = Some(set_strings(&saas.scopes));
    if let Some(lifetime) = saas.access_token_lifetime.known() {
        saas_app.access_token_lifetime = Some(lifetime.clone());
    }
    saas_app.allow_pkce_without_client_secret = Some(
        *saas
            .allow_pkce_without_client_secret
            .known()
            .unwrap_or(&false),
    );
}

/// Writes the members of `oauth` that are set into `target` (the object as read, or
/// empty); members left unset keep what `target` holds, unknown members included.
pub(super) fn put_oauth_fields(target: &mut Map<String, Json>, oauth: &OAuthModel) {
    if let Some(enabled) = oauth.enabled.known() {
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
    if let Some(dcr) = oauth.dynamic_client_registration.known() {
        nested("dynamic_client_registration", &|obj| {
            if let Some(enabled) = dcr.enabled.known() {
                obj.insert("enabled".into(), json!(enabled));
            }
            if dcr.allowed_uris.is_known() {
                obj.insert(
                    "allowed_uris".into(),
                    json_strings(list_strings(&dcr.allowed_uris)),
                );
            }
            if let Some(b) = dcr.allow_any_on_localhost.known() {
                obj.insert("allow_any_on_localhost".into(), json!(b));
            }
            if let Some(b) = dcr.allow_any_on_loopback.known() {
                obj.insert("allow_any_on_loopback".into(), json!(b));
            }
        });
    }
    if let Some(grant) = oauth.grant.known() {
        nested("grant", &|obj| {
            if let Some(d) = grant.access_token_lifetime.known() {
                obj.insert("access_token_lifetime".into(), json!(d));
            }
            if let Some(d) = grant.session_duration.known() {
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
pub fn to_send(planned: &Model, config: &Model) -> Model {
    let oauth_configuration = match config.oauth_configuration.known() {
        Some(oauth) => {
            let mut oauth = oauth.clone();
            if let Some(enabled) = planned
                .oauth_configuration
                .known()
                .and_then(|p| p.enabled.known())
            {
                oauth.enabled = Field::Known(*enabled);
            }
            Field::Known(oauth)
        }
        None => Field::Null,
    };
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
    let app_type = planned.app_type.as_str().unwrap_or(SELF_HOSTED);
    let mut body = AppBody {
        app_type: Some(if app_type == SAAS {
            AppType::Saas
        } else {
            AppType::SelfHosted
        }),
        name: Some(planned.name.as_str().unwrap_or_default().to_string()),
        auto_redirect_to_identity: Some(
            *planned.auto_redirect_to_identity.known().unwrap_or(&false),
        ),
        ..AppBody::default()
    };
    if app_type == SELF_HOSTED {
        body.domain = planned.domain.known().cloned();
        body.session_duration = planned.session_duration.known().cloned();
        if let Some(oauth) = planned.oauth_configuration.known() {
            let mut obj = Map::new();
            put_oauth_fields(&mut obj, oauth);
            body.oauth_configuration = Some(obj);
        }
    }
    if planned.allowed_idps.is_known() {
        body.allowed_idps = Some(set_strings(&planned.allowed_idps));
    }
    if app_type == SAAS {
        let mut saas_app = SaasAppBody::default();
        put_saas_fields(
            &mut saas_app,
            &planned.saas.known().cloned().unwrap_or_default(),
        );
        body.saas_app = Some(saas_app);
    }
    if let Some(ids) = planned.policy_ids.known().filter(|ids| !ids.is_empty()) {
        body.policies = Some(policy_links_for(ids));
    }
    body.to_json()
}

/// Replaces `old` by `new` in the public hosts derived from the domain, so a domain
/// change does not leave `destinations` / `self_hosted_domains` pointing at the old
/// host (the API derives one from the other).
pub(super) fn move_domain(body: &mut Map<String, Json>, old: &str, new: &str) {
    if let Some(Json::Array(dests)) = body.get_mut("destinations") {
        for d in dests.iter_mut() {
            let public = d
                .get("type")
                .and_then(Json::as_str)
                .is_none_or(|t| t == "public");
            if public
                && d.get("uri")
                    .and_then(Json::as_str)
                    .is_some_and(|u| same_domain(u, old))
                && let Some(obj) = d.as_object_mut()
            {
                obj.insert("uri".into(), json!(new));
            }
        }
    }
    if let Some(Json::Array(domains)) = body.get_mut("self_hosted_domains") {
        for d in domains.iter_mut() {
            if d.as_str().is_some_and(|u| same_domain(u, old)) {
                *d = json!(new);
            }
        }
    }
}

/// The PUT body for `planned` (built by [`to_send`]): the application exactly as read (fields we do not manage included,
/// `policies` left out so attachments are untouched), with our fields overwritten.
pub fn update_body(app: &App, planned: &Model) -> Json {
    let mut body = AppBody::from_app(app);
    if let Some(name) = planned.name.known() {
        body.name = Some(name.clone());
    }
    if app.app_type == AppType::SelfHosted {
        if let Some(domain) = planned.domain.known() {
            if let Some(old) = app.domain.as_deref()
                && !same_domain(old, domain)
            {
                move_domain(&mut body.extra, old, domain);
            }
            body.domain = Some(domain.clone());
        }
        if let Some(sd) = planned.session_duration.known() {
            body.session_duration = Some(sd.clone());
        }
        // Omitted from the configuration: sent back exactly as read.
        if let Some(oauth) = planned.oauth_configuration.known() {
            let mut obj = body.oauth_configuration.take().unwrap_or_default();
            put_oauth_fields(&mut obj, oauth);
            body.oauth_configuration = Some(obj);
        }
    }
    // Null means "all identity providers", which the API spells as an empty list (or
    // leaves out).
    if planned.allowed_idps.is_known()
        || body.allowed_idps.is_some()
        || body.extra.contains_key("allowed_idps")
    {
        body.allowed_idps = Some(set_strings(&planned.allowed_idps));
    }
    body.auto_redirect_to_identity =
        Some(*planned.auto_redirect_to_identity.known().unwrap_or(&false));
    if app.app_type == AppType::Saas {
        let mut saas_app = body.saas_app.take().unwrap_or_default();
        put_saas_fields(
            &mut saas_app,
            &planned.saas.known().cloned().unwrap_or_default(),
        );
        body.saas_app = Some(saas_app);
    }
    body.to_json()
}
