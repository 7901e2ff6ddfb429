//! `cfaccess_access_application`: looks up one existing Access application (of any
//! type) by exactly one of `id`, `name` or `domain`, typically a downstream app managed
//! elsewhere that a `cfaccess_linked_app_policy` should target.

use std::sync::Arc;

use async_trait::async_trait;

use crate::api::ProviderData;
use crate::cloudflare::{App, AppFilter, AppId};
use crate::common::account::validate_account_id;
use crate::errors;
use crate::tfplugin::{
    Attribute, AttributePath, Context, DataSource, Diagnostics, Schema, Validator, Value,
};

/// Terraform type name.
pub const TYPE_NAME: &str = "cfaccess_access_application";

/// Attribute names.
pub mod attr {
    pub const ID: &str = "id";
    pub const NAME: &str = "name";
    pub const DOMAIN: &str = "domain";
    pub const ACCOUNT_ID: &str = "account_id";
    pub const UID: &str = "uid";
    pub const TYPE: &str = "type";
    pub const AUD: &str = "aud";
    pub const POLICY_IDS: &str = "policy_ids";
}

/// The lookup keys, of which exactly one must be set.
const KEYS: [&str; 3] = [attr::ID, attr::NAME, attr::DOMAIN];

/// Schema descriptions, quoted verbatim by `docs/data-sources/access_application.md`.
pub mod descriptions {
    pub const DATA_SOURCE: &str = "Looks up one existing Cloudflare Access application of any type by exactly one of `id`, `name` or `domain` (exact match), for example a self-hosted downstream application managed elsewhere that a `cfaccess_linked_app_policy` should target. Zero or several matches are an error.";
    pub const ID: &str = "ID (UUID) of the application. Set exactly one of `id`, `name` and `domain`; the other two are filled in from the application found.";
    pub const NAME: &str = "Exact name of the application (case-sensitive). Set exactly one of `id`, `name` and `domain`.";
    pub const DOMAIN: &str = "Exact domain of the application, such as `api.example.com` (case-insensitive; a trailing `/` is ignored). Set exactly one of `id`, `name` and `domain`. Applications without a domain (most SaaS applications) cannot be found this way.";
    pub const ACCOUNT_ID: &str = "Cloudflare account ID (32 hexadecimal characters) to search. Defaults to the provider's `account_id`.";
    pub const UID: &str = "The value a Linked App Token rule takes for this application (`linked_app_uids` of `cfaccess_linked_app_policy`); equal to `id`.";
    pub const TYPE: &str = "Application type as the API reports it, such as `self_hosted`, `saas`, `mcp` or `mcp_portal`. Only `self_hosted` applications can be targets of a `cfaccess_linked_app_policy`.";
    pub const AUD: &str = "Audience (AUD) tag of the application: the `aud` claim of the tokens Access issues for it.";
    pub const POLICY_IDS: &str = "IDs of every policy attached to the application, in precedence order (first = evaluated first), whoever manages them.";
}

/// The data source schema.
pub fn schema() -> Schema {
    use descriptions as d;
    Schema::new(
        d::DATA_SOURCE,
        vec![
            Attribute::string(attr::ID)
                .optional_computed()
                .description(d::ID)
                .validator(Validator::Uuid),
            Attribute::string(attr::NAME)
                .optional_computed()
                .description(d::NAME)
                .validator(Validator::NotBlank),
            Attribute::string(attr::DOMAIN)
                .optional_computed()
                .description(d::DOMAIN)
                .validator(Validator::NotBlank),
            Attribute::string(attr::ACCOUNT_ID)
                .optional_computed()
                .description(d::ACCOUNT_ID)
                .validator(Validator::Custom(validate_account_id)),
            Attribute::string(attr::UID).computed().description(d::UID),
            Attribute::string(attr::TYPE)
                .computed()
                .description(d::TYPE),
            Attribute::string(attr::AUD).computed().description(d::AUD),
            Attribute::string_list(attr::POLICY_IDS)
                .computed()
                .description(d::POLICY_IDS),
        ],
    )
}

/// Exactly one lookup key must be set (an unknown value counts as set).
pub fn validate_config(config: &Value, diags: &mut Diagnostics) {
    let set: Vec<&str> = KEYS
        .into_iter()
        .filter(|k| config.get(k).is_some_and(|v| !v.is_null()))
        .collect();
    match set.as_slice() {
        [_] => {}
        [] => diags.error(
            "Missing lookup attribute",
            "Set exactly one of id, name and domain to say which Access application to look up.",
        ),
        [_, rest @ ..] => {
            for extra in rest {
                diags.attr_error(
                    AttributePath::root(extra),
                    "Conflicting lookup attributes",
                    format!(
                        "Set exactly one of id, name and domain; this configuration sets {}.",
                        set.join(", ")
                    ),
                );
            }
        }
    }
}

/// The lookup a configuration asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    Id(String),
    Name(String),
    Domain(String),
}

impl Lookup {
    /// The lookup of a validated, wholly known configuration.
    pub fn from_config(config: &Value) -> Option<Lookup> {
        let get = |k: &str| config.get(k).and_then(Value::as_str).map(str::to_string);
        get(attr::ID)
            .map(Lookup::Id)
            .or_else(|| get(attr::NAME).map(Lookup::Name))
            .or_else(|| get(attr::DOMAIN).map(Lookup::Domain))
    }

    fn describe(&self) -> String {
        match self {
            Lookup::Id(v) => format!("id = {v:?}"),
            Lookup::Name(v) => format!("name = {v:?}"),
            Lookup::Domain(v) => format!("domain = {v:?}"),
        }
    }

    /// The exact comparison, applied on top of the API's filter (which may match
    /// substrings).
    pub fn matches(&self, app: &App) -> bool {
        let domain_key = |d: &str| d.trim().trim_end_matches('/').to_ascii_lowercase();
        match self {
            Lookup::Id(id) => app.id.eq_ignore_ascii_case(id),
            Lookup::Name(name) => app.name.as_deref() == Some(name.as_str()),
            Lookup::Domain(domain) => app
                .domain
                .as_deref()
                .is_some_and(|d| domain_key(d) == domain_key(domain)),
        }
    }
}

/// The data source state for `app`.
pub fn state_for(app: &App, account_id: &str) -> Value {
    Value::object([
        (attr::ID, Value::string(app.id.to_string())),
        (
            attr::UID,
            Value::string(app.uid.clone().unwrap_or_else(|| app.id.to_string())),
        ),
        (attr::NAME, Value::opt_string(app.name.clone())),
        (attr::TYPE, Value::string(app.app_type.as_str())),
        (attr::DOMAIN, Value::opt_string(app.domain.clone())),
        (attr::AUD, Value::opt_string(app.aud.clone())),
        (attr::ACCOUNT_ID, Value::string(account_id)),
        (
            attr::POLICY_IDS,
            Value::string_list(app.policy_ids_by_precedence()),
        ),
    ])
}

/// The data source.
pub struct AccessApplicationDataSource {
    data: Arc<ProviderData>,
}

impl AccessApplicationDataSource {
    /// A data source served through `data`.
    pub fn new(data: Arc<ProviderData>) -> Self {
        AccessApplicationDataSource { data }
    }
}

#[async_trait]
impl DataSource for AccessApplicationDataSource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn validate(&self, _ctx: &Context, config: &Value, diags: &mut Diagnostics) {
        validate_config(config, diags);
    }

    async fn read(&self, _ctx: &Context, config: &Value) -> (Option<Value>, Diagnostics) {
        let mut diags = Diagnostics::new();
        validate_config(config, &mut diags);
        if diags.has_errors() {
            return (None, diags);
        }
        let Some(lookup) = Lookup::from_config(config) else {
            diags.error(
                "Missing lookup attribute",
                "Set exactly one of id, name and domain to say which Access application to look up.",
            );
            return (None, diags);
        };
        let account_value = config.get(attr::ACCOUNT_ID).cloned().unwrap_or(Value::Null);
        let api = match self.data.api(&account_value) {
            Ok(api) => api,
            Err(d) => return (None, d),
        };
        let account = &api.account_id;
        let found: Vec<App> = match &lookup {
            Lookup::Id(id) => match api
                .client
                .get_app(account, &AppId::new_unchecked(id.as_str()))
                .await
            {
                Ok(app) => vec![app],
                Err(e) if e.is_not_found() => Vec::new(),
                Err(e) => {
                    diags.0.push(errors::api_error(
                        &format!("read Access application {id}"),
                        &e,
                    ));
                    return (None, diags);
                }
            },
            Lookup::Name(_) | Lookup::Domain(_) => {
                let filter = match &lookup {
                    Lookup::Name(name) => AppFilter::by_name(name.clone()),
                    // Hostnames compare case-insensitively, which the API's
                    // exact filter may not do: list everything and match here.
                    Lookup::Domain(_) | Lookup::Id(_) => AppFilter::default(),
                };
                match api.client.list_apps(account, &filter).await {
                    Ok(apps) => apps,
                    Err(e) => {
                        diags.0.push(errors::api_error(
                            &format!("list Access applications with {}", lookup.describe()),
                            &e,
                        ));
                        return (None, diags);
                    }
                }
            }
        };
        let matches: Vec<&App> = found.iter().filter(|app| lookup.matches(app)).collect();
        match matches.as_slice() {
            [app] => {
                tracing::debug!(tf_data_source = TYPE_NAME, app_id = %app.id, "found Access application");
                (Some(state_for(app, account)), diags)
            }
            [] => {
                diags.error(
                    "No matching Access application",
                    format!(
                        "Found 0 Access applications with {} in account {account}; expected \
                         exactly one.",
                        lookup.describe()
                    ),
                );
                (None, diags)
            }
            several => {
                let ids: Vec<String> = several
                    .iter()
                    .map(|a| format!("{} ({:?})", a.id, a.name.as_deref().unwrap_or("")))
                    .collect();
                diags.error(
                    "Several matching Access applications",
                    format!(
                        "Found {} Access applications with {} in account {account}: {}; expected \
                         exactly one. Look the application up by id instead.",
                        several.len(),
                        lookup.describe(),
                        ids.join(", ")
                    ),
                );
                (None, diags)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_is_consistent() {
        assert_eq!(schema().internal_problems(), Vec::<String>::new());
    }
}
