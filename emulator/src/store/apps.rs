//! Application commands: create, full replacement, delete, and the resolution of the
//! `policies` array into attachments.

use std::collections::{BTreeMap, HashSet};

use base64::Engine;
use serde_json::{Map, Value, json};

use super::{Account, App, Link, sort_links};
use crate::clock::now_rfc3339;
use crate::envelope::{ApiError, codes};
use crate::ids::{is_object_id, new_uuid, random_hex};
use crate::schema::app_body::{PolicyEntry, normalize_app};
use crate::schema::policy_body::normalize_policy;

/// Where a create request comes from: the API generates every server field; a seed or
/// an imported object keeps the ids and timestamps it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    Api,
    Import,
}

/// Result of a successful app create.
#[derive(Debug, Clone)]
pub(crate) struct CreatedApp {
    pub id: String,
    /// OIDC `client_secret`, present only in the create response (§11 #9).
    pub client_secret: Option<String>,
}

type Scoped = BTreeMap<String, Map<String, Value>>;

impl Account {
    /// `POST /apps`.
    pub fn create_app(&mut self, body: &Value, origin: Origin) -> Result<CreatedApp, ApiError> {
        let parsed = normalize_app(body)?;
        let preset = match origin {
            Origin::Import => body.as_object(),
            Origin::Api => None,
        };
        let id = match preset.and_then(|p| p.get("id")) {
            Some(Value::String(id)) if is_object_id(id) && !self.apps.contains(id) => id.clone(),
            Some(other) => {
                return Err(ApiError::invalid(format!(
                    "id {other} is not a free UUID in this account"
                )));
            }
            None => new_uuid(),
        };
        self.check_domain(&parsed.app_type, &parsed.fields, None)?;
        let now = now_rfc3339();
        let (links, scoped) = match parsed.policies {
            Some(entries) => self.resolve_links(&parsed.app_type, entries, &Scoped::new(), &now)?,
            None => (Vec::new(), Scoped::new()),
        };
        let mut fields = parsed.fields;
        let client_secret = finish_server_fields(&mut fields, &id, None, preset, &now);
        let app = App {
            fields,
            links,
            scoped,
        };
        self.store_app(&id, None, app);
        Ok(CreatedApp { id, client_secret })
    }

    /// `PUT /apps/{id}`: full replacement (§11 #10).
    pub fn replace_app(&mut self, id: &str, body: &Value) -> Result<(), ApiError> {
        let Some(existing) = self.apps.get(id) else {
            return Err(ApiError::not_found("application", id));
        };
        let parsed = normalize_app(body)?;
        if parsed.app_type != existing.app_type() {
            return Err(ApiError::bad_request(
                codes::TYPE_CHANGE,
                format!(
                    "access.api.error.invalid_type_change: the type of an application cannot change ({} → {}); create a new application instead",
                    existing.app_type(),
                    parsed.app_type
                ),
            ));
        }
        self.check_domain(&parsed.app_type, &parsed.fields, Some(id))?;
        let now = now_rfc3339();
        let (links, scoped) = match parsed.policies {
            Some(entries) => {
                self.resolve_links(&parsed.app_type, entries, &existing.scoped, &now)?
            }
            None => (existing.links.clone(), existing.scoped.clone()),
        };
        let mut fields = parsed.fields;
        finish_server_fields(&mut fields, id, Some(&existing.fields), None, &now);
        let old = existing.clone();
        let app = App {
            fields,
            links,
            scoped,
        };
        self.store_app(id, Some(&old), app);
        Ok(())
    }

    /// Replaces only the attachments (seed import, where policies load after apps).
    pub fn set_app_policies(
        &mut self,
        id: &str,
        entries: Vec<PolicyEntry>,
    ) -> Result<(), ApiError> {
        let Some(existing) = self.apps.get(id) else {
            return Err(ApiError::not_found("application", id));
        };
        let app_type = existing.app_type().to_string();
        let (links, scoped) =
            self.resolve_links(&app_type, entries, &existing.scoped, &now_rfc3339())?;
        let old_links = existing.links.clone();
        self.apply_usage(id, &old_links, &links);
        if let Some(app) = self.apps.get_mut(id) {
            app.links = links;
            app.scoped = scoped;
        }
        Ok(())
    }

    /// `DELETE /apps/{id}`. Policies naming it in `linked_app_token` keep the dangling
    /// id (§11 #5); its app-scoped policies go with it.
    pub fn delete_app(&mut self, id: &str) -> Result<(), ApiError> {
        let Some(app) = self.apps.remove(id) else {
            return Err(ApiError::not_found("application", id));
        };
        self.apply_usage(id, &app.links, &[]);
        self.reindex_domain(id, Some(&app), None);
        Ok(())
    }

    /// Turns the requested `policies` entries into attachments, validating every rule
    /// before anything changes. Returns the links (sorted by precedence) and the app's
    /// app-scoped policies after the change (unreferenced ones are dropped, as the real
    /// API garbage-collects them).
    pub(super) fn resolve_links(
        &self,
        app_type: &str,
        entries: Vec<PolicyEntry>,
        existing_scoped: &Scoped,
        now: &str,
    ) -> Result<(Vec<Link>, Scoped), ApiError> {
        let mut links = Vec::with_capacity(entries.len());
        let mut scoped = Scoped::new();
        let mut seen = HashSet::new();
        for entry in entries {
            match entry {
                PolicyEntry::Link { id, precedence } => {
                    if let Some(policy) = self.policies.get(&id) {
                        Account::check_attachable(app_type, &id, policy)?;
                    } else if let Some(own) = existing_scoped.get(&id) {
                        Account::check_attachable(app_type, &id, own)?;
                        scoped.insert(id.clone(), own.clone());
                    } else {
                        return Err(unknown_link(&id));
                    }
                    if !seen.insert(id.clone()) {
                        return Err(ApiError::invalid(format!(
                            "policy {id} is listed more than once"
                        )));
                    }
                    links.push(Link { id, precedence });
                }
                PolicyEntry::Inline {
                    id,
                    precedence,
                    body,
                } => {
                    let parsed = normalize_policy(&body)?;
                    self.check_linked_apps(&parsed.linked_app_uids)?;
                    let mut fields = parsed.fields;
                    let id = match id {
                        Some(id) => {
                            let Some(own) = existing_scoped.get(&id) else {
                                if self.policies.contains(&id) {
                                    return Err(ApiError::bad_request(
                                        codes::UNKNOWN_POLICY_LINK,
                                        format!(
                                            "access.api.error.invalid_policy: policy {id} is a reusable policy; attach it as {{\"id\": \"{id}\", \"precedence\": N}} (a full policy object creates or updates an application-scoped policy)"
                                        ),
                                    ));
                                }
                                return Err(unknown_link(&id));
                            };
                            let created =
                                own.get("created_at").cloned().unwrap_or_else(|| json!(now));
                            fields.insert("created_at".into(), created);
                            id
                        }
                        None => {
                            fields.insert("created_at".into(), json!(now));
                            new_uuid()
                        }
                    };
                    fields.insert("id".into(), json!(id));
                    fields.insert("updated_at".into(), json!(now));
                    Account::check_attachable(app_type, &id, &fields)?;
                    if !seen.insert(id.clone()) {
                        return Err(ApiError::invalid(format!(
                            "policy {id} is listed more than once"
                        )));
                    }
                    scoped.insert(id.clone(), fields);
                    links.push(Link { id, precedence });
                }
            }
        }
        sort_links(&mut links);
        Ok((links, scoped))
    }
}

fn unknown_link(id: &str) -> ApiError {
    ApiError::bad_request(
        codes::UNKNOWN_POLICY_LINK,
        format!(
            "access.api.error.invalid_policy: policy {id} is not a reusable policy of this account or an application-scoped policy of this application"
        ),
    )
}

/// Adds the server-generated fields: `id`, `uid`, `aud`, timestamps and, for SaaS apps,
/// `client_id`, `public_key` and the `saas_app` timestamps. Existing values (PUT) or
/// imported ones win over new ones. Returns a new OIDC `client_secret` on create.
fn finish_server_fields(
    fields: &mut Map<String, Value>,
    id: &str,
    existing: Option<&Map<String, Value>>,
    preset: Option<&Map<String, Value>>,
    now: &str,
) -> Option<String> {
    let keep = |key: &str| -> Option<Value> {
        existing
            .and_then(|e| e.get(key))
            .or_else(|| preset.and_then(|p| p.get(key)))
            .filter(|v| v.is_string())
            .cloned()
    };
    fields.insert("id".into(), json!(id));
    fields.insert("uid".into(), json!(id));
    let aud = keep("aud").unwrap_or_else(|| json!(random_hex(32)));
    fields.insert("aud".into(), aud);
    let created = keep("created_at").unwrap_or_else(|| json!(now));
    fields.insert("created_at".into(), created);
    let updated = match existing {
        Some(_) => json!(now),
        None => preset
            .and_then(|p| p.get("updated_at"))
            .filter(|v| v.is_string())
            .cloned()
            .unwrap_or_else(|| json!(now)),
    };
    fields.insert("updated_at".into(), updated);

    let Some(Value::Object(saas)) = fields.get_mut("saas_app") else {
        return None;
    };
    let old_saas = existing
        .and_then(|e| e.get("saas_app"))
        .or_else(|| preset.and_then(|p| p.get("saas_app")))
        .and_then(Value::as_object);
    let keep_saas = |key: &str| {
        old_saas
            .and_then(|s| s.get(key))
            .filter(|v| v.is_string())
            .cloned()
    };
    let oidc = saas.get("auth_type").and_then(Value::as_str) == Some("oidc");
    let mut secret = None;
    if oidc {
        let had_client = keep_saas("client_id");
        saas.insert(
            "client_id".into(),
            had_client.clone().unwrap_or_else(|| json!(random_hex(32))),
        );
        if existing.is_none() && had_client.is_none() {
            secret = Some(random_hex(32));
        }
    }
    let public_key = keep_saas("public_key").unwrap_or_else(|| json!(placeholder_public_key()));
    saas.insert("public_key".into(), public_key);
    saas.insert(
        "created_at".into(),
        keep_saas("created_at").unwrap_or_else(|| json!(now)),
    );
    let saas_updated = match existing {
        Some(_) => json!(now),
        None => keep_saas("updated_at").unwrap_or_else(|| json!(now)),
    };
    saas.insert("updated_at".into(), saas_updated);
    secret
}

/// A PEM-shaped stand-in for the Access certificate of a SaaS app (never used to verify).
fn placeholder_public_key() -> String {
    let mut bytes = [0u8; 48];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
    format!("-----BEGIN CERTIFICATE-----\n{b64}\n-----END CERTIFICATE-----")
}
