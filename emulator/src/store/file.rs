//! The persisted form of the state (`--state FILE`, `GET/PUT /__emulator/state`) and
//! the import of seed objects.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::apps::Origin;
use super::{Account, App, Link, State, sort_links};
use crate::config::{Seed, SeedAccount};
use crate::schema::app_body::parse_policy_entries;

/// Version of the state file layout.
const VERSION: u32 = 1;

/// The whole state as JSON: apps keep their stored fields, attachments as
/// `[{id, precedence}]` and their app-scoped policies.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StateFile {
    pub version: u32,
    pub accounts: BTreeMap<String, AccountFile>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct AccountFile {
    pub apps: Vec<AppFile>,
    pub policies: Vec<Map<String, Value>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AppFile {
    pub fields: Map<String, Value>,
    #[serde(default)]
    pub policies: Vec<LinkFile>,
    #[serde(default)]
    pub scoped_policies: Vec<Map<String, Value>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct LinkFile {
    pub id: String,
    pub precedence: u32,
}

fn id_of(fields: &Map<String, Value>) -> Option<String> {
    fields.get("id").and_then(Value::as_str).map(str::to_string)
}

impl State {
    /// The state in its file form.
    pub fn to_file(&self) -> StateFile {
        let accounts = self
            .accounts
            .iter()
            .map(|(id, acc)| {
                let apps = acc
                    .apps
                    .values()
                    .map(|app| AppFile {
                        fields: app.fields.clone(),
                        policies: app
                            .links
                            .iter()
                            .map(|l| LinkFile {
                                id: l.id.clone(),
                                precedence: l.precedence,
                            })
                            .collect(),
                        scoped_policies: app.scoped.values().cloned().collect(),
                    })
                    .collect();
                let policies = acc.policies.values().cloned().collect();
                (id.clone(), AccountFile { apps, policies })
            })
            .collect();
        StateFile {
            version: VERSION,
            accounts,
        }
    }

    /// Rebuilds a state (and its indexes) from the file form. Attachments to unknown
    /// policies are dropped with a warning.
    pub fn from_file(file: StateFile) -> Result<State, String> {
        if file.version != VERSION {
            return Err(format!(
                "unsupported state version {} (expected {VERSION})",
                file.version
            ));
        }
        let mut state = State::default();
        for (account_id, acc_file) in file.accounts {
            let mut acc = Account::default();
            for policy in acc_file.policies {
                let id = id_of(&policy).ok_or("a policy has no id")?;
                acc.policies.insert(id, policy);
            }
            for app_file in acc_file.apps {
                let id = id_of(&app_file.fields).ok_or("an app has no id")?;
                let mut scoped = BTreeMap::new();
                for p in app_file.scoped_policies {
                    let pid = id_of(&p).ok_or("an app-scoped policy has no id")?;
                    scoped.insert(pid, p);
                }
                let mut links: Vec<Link> = app_file
                    .policies
                    .into_iter()
                    .filter(|l| {
                        let known = acc.policies.contains(&l.id) || scoped.contains_key(&l.id);
                        if !known {
                            tracing::warn!(app = %id, policy = %l.id, "state file: attachment to unknown policy dropped");
                        }
                        known
                    })
                    .map(|l| Link { id: l.id, precedence: l.precedence })
                    .collect();
                sort_links(&mut links);
                let app = App {
                    fields: app_file.fields,
                    links,
                    scoped,
                };
                acc.store_app(&id, None, app);
            }
            state.accounts.insert(account_id, acc);
        }
        Ok(state)
    }

    /// Creates seed objects through the API rules: apps without attachments first, then
    /// policies (which may link those apps), then the apps' attachments.
    pub fn apply_seed(&mut self, seed: &Seed, default_account: &str) -> Result<(), String> {
        let mut all: Vec<(&str, SeedAccount)> = vec![(
            default_account,
            SeedAccount {
                apps: seed.apps.clone(),
                policies: seed.policies.clone(),
            },
        )];
        all.extend(seed.accounts.iter().map(|(k, v)| (k.as_str(), v.clone())));
        for (account_id, objects) in all {
            let acc = self.accounts.entry(account_id.to_string()).or_default();
            let mut pending = Vec::new();
            for (i, app) in objects.apps.iter().enumerate() {
                let mut body = app.clone();
                let policies = body.as_object_mut().and_then(|o| o.remove("policies"));
                let created = acc
                    .create_app(&body, Origin::Import)
                    .map_err(|e| format!("account {account_id} app #{i}: {}", e.message))?;
                if let Some(Value::Array(items)) = policies {
                    pending.push((created.id, items));
                }
            }
            for (i, policy) in objects.policies.iter().enumerate() {
                acc.create_policy(policy, Origin::Import)
                    .map_err(|e| format!("account {account_id} policy #{i}: {}", e.message))?;
            }
            for (app_id, items) in pending {
                let entries = parse_policy_entries(&items)
                    .map_err(|e| format!("account {account_id} app {app_id}: {}", e.message))?;
                acc.set_app_policies(&app_id, entries)
                    .map_err(|e| format!("account {account_id} app {app_id}: {}", e.message))?;
            }
        }
        Ok(())
    }
}
