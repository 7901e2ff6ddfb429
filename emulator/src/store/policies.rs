//! Reusable policy commands and the legacy app-scoped policy endpoints.

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::apps::Origin;
use super::{Account, Link, sort_links};
use crate::clock::now_rfc3339;
use crate::envelope::{ApiError, codes};
use crate::ids::{is_object_id, new_uuid};
use crate::schema::policy_body::normalize_policy;

/// The server-owned fields of a replaced policy: its id, the `created_at` it had (now
/// when it had none) and a new `updated_at`.
fn stamp_replaced(fields: &mut Map<String, Value>, id: &str, existing: &Map<String, Value>) {
    let created = existing
        .get("created_at")
        .cloned()
        .unwrap_or_else(|| json!(now_rfc3339()));
    fields.insert("id".into(), json!(id));
    fields.insert("created_at".into(), created);
    fields.insert("updated_at".into(), json!(now_rfc3339()));
}

fn body_object(body: &Value) -> Result<&Map<String, Value>, ApiError> {
    body.as_object()
        .ok_or_else(|| ApiError::invalid("request body must be a JSON object"))
}

impl Account {
    /// `POST /policies`.
    pub fn create_policy(&mut self, body: &Value, origin: Origin) -> Result<String, ApiError> {
        let src = body_object(body)?;
        let parsed = normalize_policy(src)?;
        self.check_linked_apps(&parsed.linked_app_uids)?;
        let now = now_rfc3339();
        let mut fields = parsed.fields;
        let (id, created, updated) = match origin {
            Origin::Api => (new_uuid(), json!(now), json!(now)),
            Origin::Import => {
                let id = match src.get("id") {
                    Some(Value::String(id)) if is_object_id(id) && !self.policies.contains(id) => {
                        id.clone()
                    }
                    Some(other) => {
                        return Err(ApiError::invalid(format!(
                            "id {other} is not a free UUID in this account"
                        )));
                    }
                    None => new_uuid(),
                };
                let ts = |k: &str| {
                    src.get(k)
                        .filter(|v| v.is_string())
                        .cloned()
                        .unwrap_or_else(|| json!(now))
                };
                (id, ts("created_at"), ts("updated_at"))
            }
        };
        fields.insert("id".into(), json!(id));
        fields.insert("created_at".into(), created);
        fields.insert("updated_at".into(), updated);
        self.policies.insert(id.clone(), fields);
        Ok(id)
    }

    /// `PUT /policies/{id}`: full replacement; attachments are untouched.
    pub fn replace_policy(&mut self, id: &str, body: &Value) -> Result<(), ApiError> {
        let Some(existing) = self.policies.get(id) else {
            return Err(ApiError::not_found("policy", id));
        };
        let parsed = normalize_policy(body_object(body)?)?;
        self.check_linked_apps(&parsed.linked_app_uids)?;
        let mut fields = parsed.fields;
        for app_id in self.apps_using(id) {
            if let Some(app) = self.apps.get(&app_id) {
                Account::check_attachable(app.app_type(), id, &fields)?;
            }
        }
        stamp_replaced(&mut fields, id, existing);
        self.policies.insert(id.to_string(), fields);
        Ok(())
    }

    /// `DELETE /policies/{id}`: refused with 409 while attached (§11 #1).
    pub fn delete_policy(&mut self, id: &str) -> Result<(), ApiError> {
        if !self.policies.contains(id) {
            return Err(ApiError::not_found("policy", id));
        }
        let used = self.app_count(id);
        if used > 0 {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                codes::POLICY_IN_USE,
                format!("access.api.error.conflict: policy is used by {used} application(s)"),
            ));
        }
        self.policies.remove(id);
        Ok(())
    }

    /// `GET /apps/{app_id}/policies`: the app's attachments, expanded, by precedence.
    pub fn app_policies(&self, app_id: &str) -> Result<Vec<Value>, ApiError> {
        let app = self
            .apps
            .get(app_id)
            .ok_or_else(|| ApiError::not_found("application", app_id))?;
        Ok(app
            .links
            .iter()
            .filter_map(|l| self.render_link(app, l))
            .collect())
    }

    /// `GET /apps/{app_id}/policies/{policy_id}`.
    pub fn app_policy(&self, app_id: &str, policy_id: &str) -> Result<Value, ApiError> {
        let app = self
            .apps
            .get(app_id)
            .ok_or_else(|| ApiError::not_found("application", app_id))?;
        app.links
            .iter()
            .find(|l| l.id == policy_id)
            .and_then(|l| self.render_link(app, l))
            .ok_or_else(|| ApiError::not_found("policy", policy_id))
    }

    /// `POST /apps/{app_id}/policies`: a new app-scoped policy (precedence defaults to
    /// after the last attachment).
    pub fn create_scoped_policy(&mut self, app_id: &str, body: &Value) -> Result<String, ApiError> {
        let app = self
            .apps
            .get(app_id)
            .ok_or_else(|| ApiError::not_found("application", app_id))?;
        let src = body_object(body)?;
        let default_precedence = app
            .links
            .iter()
            .map(|l| l.precedence)
            .max()
            .unwrap_or(0)
            .saturating_add(1);
        let precedence = scoped_precedence(src, default_precedence)?;
        if app.links.iter().any(|l| l.precedence == precedence) {
            return Err(ApiError::precedence(format!(
                "precedence {precedence} is already used in this application"
            )));
        }
        let parsed = normalize_policy(src)?;
        self.check_linked_apps(&parsed.linked_app_uids)?;
        let id = new_uuid();
        let now = now_rfc3339();
        let mut fields = parsed.fields;
        fields.insert("id".into(), json!(id));
        fields.insert("created_at".into(), json!(now));
        fields.insert("updated_at".into(), json!(now));
        Account::check_attachable(app.app_type(), &id, &fields)?;
        if let Some(app) = self.apps.get_mut(app_id) {
            app.scoped.insert(id.clone(), fields);
            app.links.push(Link {
                id: id.clone(),
                precedence,
            });
            sort_links(&mut app.links);
        }
        Ok(id)
    }

    /// `PUT /apps/{app_id}/policies/{policy_id}` for an app-scoped policy. Reusable
    /// policies must be changed at the account level.
    pub fn replace_scoped_policy(
        &mut self,
        app_id: &str,
        policy_id: &str,
        body: &Value,
    ) -> Result<(), ApiError> {
        let app = self
            .apps
            .get(app_id)
            .ok_or_else(|| ApiError::not_found("application", app_id))?;
        let Some(existing) = app.scoped.get(policy_id) else {
            return Err(not_scoped(
                app.links.iter().any(|l| l.id == policy_id),
                policy_id,
            ));
        };
        let src = body_object(body)?;
        let current = app
            .links
            .iter()
            .find(|l| l.id == policy_id)
            .map_or(1, |l| l.precedence);
        let precedence = scoped_precedence(src, current)?;
        if app
            .links
            .iter()
            .any(|l| l.precedence == precedence && l.id != policy_id)
        {
            return Err(ApiError::precedence(format!(
                "precedence {precedence} is already used in this application"
            )));
        }
        let parsed = normalize_policy(src)?;
        self.check_linked_apps(&parsed.linked_app_uids)?;
        let mut fields = parsed.fields;
        stamp_replaced(&mut fields, policy_id, existing);
        Account::check_attachable(app.app_type(), policy_id, &fields)?;
        if let Some(app) = self.apps.get_mut(app_id) {
            app.scoped.insert(policy_id.to_string(), fields);
            for link in app.links.iter_mut().filter(|l| l.id == policy_id) {
                link.precedence = precedence;
            }
            sort_links(&mut app.links);
        }
        Ok(())
    }

    /// `DELETE /apps/{app_id}/policies/{policy_id}` for an app-scoped policy.
    pub fn delete_scoped_policy(&mut self, app_id: &str, policy_id: &str) -> Result<(), ApiError> {
        let app = self
            .apps
            .get_mut(app_id)
            .ok_or_else(|| ApiError::not_found("application", app_id))?;
        if app.scoped.remove(policy_id).is_none() {
            let linked = app.links.iter().any(|l| l.id == policy_id);
            return Err(not_scoped(linked, policy_id));
        }
        app.links.retain(|l| l.id != policy_id);
        Ok(())
    }
}

fn not_scoped(linked_reusable: bool, policy_id: &str) -> ApiError {
    if linked_reusable {
        ApiError::invalid(format!(
            "policy {policy_id} is a reusable policy: change it with /accounts/{{account_id}}/access/policies/{policy_id} and detach it with PUT /accounts/{{account_id}}/access/apps/{{app_id}}"
        ))
    } else {
        ApiError::not_found("policy", policy_id)
    }
}

fn scoped_precedence(src: &Map<String, Value>, default: u32) -> Result<u32, ApiError> {
    match src.get("precedence") {
        None | Some(Value::Null) => Ok(default),
        Some(p) => match p.as_i64() {
            Some(n) if n >= 1 => {
                u32::try_from(n).map_err(|_| ApiError::precedence("precedence is too large"))
            }
            Some(n) => Err(ApiError::precedence(format!(
                "precedence must be at least 1, got {n}"
            ))),
            None => Err(ApiError::precedence("precedence must be an integer")),
        },
    }
}
