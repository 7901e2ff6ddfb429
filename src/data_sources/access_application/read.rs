//! Reading the data source: which lookup the configuration asks for, the API call that
//! finds the candidates, and the exact match that must be unique.

use std::sync::Arc;

use async_trait::async_trait;

use super::{AccessApplication, TYPE_NAME, attr};
use crate::api::{Api, ProviderData};
use crate::cloudflare::{AccountId, App, AppFilter, AppId, same_domain};
use crate::errors::ApiResultExt;
use crate::tfplugin::bridge::TfValue;
use crate::tfplugin::{
    AttributePath, Context, Diagnostics, Failure, Field, Outcome, Saved, Schema, TypedDataSource,
    Value,
};

const MISSING_KEY: (&str, &str) = (
    "Missing lookup attribute",
    "Set exactly one of id, name and domain to say which Access application to look up.",
);

/// Exactly one lookup key must be set (an unknown value counts as set).
pub fn validate_config(config: &AccessApplication, diags: &mut Diagnostics) {
    let set: Vec<&str> = [
        (attr::ID, &config.id),
        (attr::NAME, &config.name),
        (attr::DOMAIN, &config.domain),
    ]
    .into_iter()
    .filter(|(_, field)| !field.is_null())
    .map(|(name, _)| name)
    .collect();
    match set.as_slice() {
        [_] => {}
        [] => diags.error(MISSING_KEY.0, MISSING_KEY.1),
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
    Id(AppId),
    Name(String),
    Domain(String),
}

impl Lookup {
    /// The lookup of a validated, wholly known configuration.
    pub fn from_config(config: &AccessApplication) -> Option<Lookup> {
        // The schema's validator checked the id's shape.
        let id = config.id.as_str().map(AppId::new_unchecked);
        id.map(Lookup::Id)
            .or_else(|| config.name.as_str().map(|n| Lookup::Name(n.to_string())))
            .or_else(|| {
                config
                    .domain
                    .as_str()
                    .map(|d| Lookup::Domain(d.to_string()))
            })
    }

    fn describe(&self) -> String {
        match self {
            Lookup::Id(v) => format!("id = {:?}", v.as_str()),
            Lookup::Name(v) => format!("name = {v:?}"),
            Lookup::Domain(v) => format!("domain = {v:?}"),
        }
    }

    /// The exact comparison, applied on top of the API's filter (which may match
    /// substrings).
    pub fn matches(&self, app: &App) -> bool {
        match self {
            Lookup::Id(id) => app.id.eq_ignore_ascii_case(id),
            Lookup::Name(name) => app.name.as_deref() == Some(name.as_str()),
            Lookup::Domain(domain) => app
                .domain
                .as_deref()
                .is_some_and(|d| same_domain(d, domain)),
        }
    }

    /// What the API returns for this lookup, before the exact comparison: the app
    /// itself (none when it does not exist) or a filtered list.
    async fn candidates(&self, api: &Api) -> Result<Vec<App>, Diagnostics> {
        let filter = match self {
            Lookup::Id(id) => {
                return match api.client.get_app(&api.account_id, id).await {
                    Err(e) if e.is_not_found() => Ok(Vec::new()),
                    read => Ok(vec![
                        read.failed_to(|| format!("read Access application {id}"))?,
                    ]),
                };
            }
            Lookup::Name(name) => AppFilter::by_name(name.clone()),
            // Hostnames compare case-insensitively, which the API's exact filter may
            // not do: list everything and match here.
            Lookup::Domain(_) => AppFilter::default(),
        };
        let apps = api
            .client
            .list_apps(&api.account_id, &filter)
            .await
            .failed_to(|| format!("list Access applications with {}", self.describe()))?;
        Ok(apps)
    }

    /// The one candidate that matches exactly; zero or several are an error.
    fn the_one<'a>(&self, found: &'a [App], account: &AccountId) -> Result<&'a App, Diagnostics> {
        let error = |summary: &str, detail: String| {
            let mut diags = Diagnostics::new();
            diags.error(summary, detail);
            diags
        };
        let matches: Vec<&App> = found.iter().filter(|app| self.matches(app)).collect();
        match matches.as_slice() {
            [app] => Ok(app),
            [] => Err(error(
                "No matching Access application",
                format!(
                    "Found 0 Access applications with {} in account {account}; expected \
                     exactly one.",
                    self.describe()
                ),
            )),
            several => {
                let ids: Vec<String> = several
                    .iter()
                    .map(|a| format!("{} ({:?})", a.id, a.name.as_deref().unwrap_or("")))
                    .collect();
                Err(error(
                    "Several matching Access applications",
                    format!(
                        "Found {} Access applications with {} in account {account}: {}; expected \
                         exactly one. Look the application up by id instead.",
                        several.len(),
                        self.describe(),
                        ids.join(", ")
                    ),
                ))
            }
        }
    }
}

/// The data source state for `app`.
pub fn state_for(app: &App, account_id: &str) -> AccessApplication {
    AccessApplication {
        id: Field::Known(app.id.to_string()),
        uid: Field::Known(app.uid.clone().unwrap_or_else(|| app.id.to_string())),
        name: app.name.clone().into(),
        app_type: Field::Known(app.app_type.as_str().to_string()),
        domain: app.domain.clone().into(),
        aud: app.aud.clone().into(),
        account_id: account_id.into(),
        policy_ids: Field::Known(
            app.policy_ids_by_precedence()
                .iter()
                .map(ToString::to_string)
                .collect(),
        ),
    }
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
impl TypedDataSource for AccessApplicationDataSource {
    type Model = AccessApplication;

    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        super::schema()
    }

    async fn validate(&self, _ctx: &Context, config: &Value, diags: &mut Diagnostics) {
        // Terraform sends values of the schema's type, which the model test keeps in
        // line; the read reports a value that does not fit as a provider bug.
        if let Ok(config) = AccessApplication::from_value(config) {
            validate_config(&config, diags);
        }
    }

    async fn read(
        &self,
        _ctx: &Context,
        config: AccessApplication,
    ) -> Outcome<Saved<AccessApplication>, AccessApplication> {
        let mut diags = Diagnostics::new();
        validate_config(&config, &mut diags);
        if diags.has_errors() {
            return Err(diags.into());
        }
        let lookup = Lookup::from_config(&config)
            .ok_or_else(|| Failure::error(MISSING_KEY.0, MISSING_KEY.1))?;
        let api = self.data.api(&config.account_id.to_value())?;
        let found = lookup.candidates(&api).await?;
        let app = lookup.the_one(&found, &api.account_id)?;
        tracing::debug!(tf_data_source = TYPE_NAME, app_id = %app.id, "found Access application");
        Ok(Saved::new(state_for(app, &api.account_id)))
    }
}
