//! Changes made "in the dashboard", behind the provider's back (drift tests). They work
//! on the same form GET returns and keep the invariants (`app_count`, domain index,
//! attachments pointing at existing policies), but skip the API's validation.

use serde_json::{Map, Value, json};

use super::{Account, App, Link, sort_links};
use crate::clock::now_rfc3339;

impl Account {
    /// Gives `f` the app as GET returns it and stores the result. Attachments are
    /// re-read from `policies` (entries that are ids or objects with `id` and optional
    /// `precedence`); entries naming no existing policy are dropped.
    pub fn mutate_app(&mut self, id: &str, f: impl FnOnce(&mut Value)) -> bool {
        let Some(app) = self.apps.get(id) else {
            return false;
        };
        let mut value = self.render_app(app);
        f(&mut value);
        self.store_app_value(id, value)
    }

    /// Stores an app given in its GET form (see [`Account::mutate_app`]).
    pub fn store_app_value(&mut self, id: &str, value: Value) -> bool {
        let Value::Object(mut fields) = value else {
            return false;
        };
        let Some(old) = self.apps.get(id).cloned() else {
            return false;
        };
        let policies = fields.remove("policies");
        fields.insert("id".into(), json!(id));
        fields.insert("uid".into(), json!(id));
        if fields.get("updated_at") == old.fields.get("updated_at") {
            fields.insert("updated_at".into(), json!(now_rfc3339()));
        }
        let mut links = Vec::new();
        for (i, item) in policies
            .as_ref()
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let Some(pid) = item
                .as_str()
                .or_else(|| item.get("id").and_then(Value::as_str))
            else {
                continue;
            };
            if !self.policies.contains(pid) && !old.scoped.contains_key(pid) {
                tracing::warn!(
                    app = id,
                    policy = pid,
                    "out-of-band attachment to unknown policy dropped"
                );
                continue;
            }
            let position = u32::try_from(i + 1).unwrap_or(u32::MAX);
            let precedence = item
                .get("precedence")
                .and_then(Value::as_u64)
                .and_then(|p| u32::try_from(p).ok())
                .unwrap_or(position);
            links.push(Link {
                id: pid.to_string(),
                precedence,
            });
        }
        self.commit_app(id, old, fields, links);
        true
    }

    /// Replaces the attachments of an app; `false` when the app or a policy is unknown.
    pub fn set_attachments(&mut self, app_id: &str, links: Vec<(String, u32)>) -> bool {
        let Some(old) = self.apps.get(app_id).cloned() else {
            return false;
        };
        if links
            .iter()
            .any(|(id, _)| !self.policies.contains(id) && !old.scoped.contains_key(id))
        {
            return false;
        }
        let links = links
            .into_iter()
            .map(|(id, precedence)| Link { id, precedence })
            .collect();
        let mut fields = old.fields.clone();
        fields.insert("updated_at".into(), json!(now_rfc3339()));
        self.commit_app(app_id, old, fields, links);
        true
    }

    fn commit_app(&mut self, id: &str, old: App, fields: Map<String, Value>, mut links: Vec<Link>) {
        sort_links(&mut links);
        let scoped = old
            .scoped
            .iter()
            .filter(|(pid, _)| links.iter().any(|l| &l.id == *pid))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let app = App {
            fields,
            links,
            scoped,
        };
        self.store_app(id, Some(&old), app);
    }

    /// Gives `f` the policy as GET returns it and stores the result (`app_count` and
    /// `reusable` stay computed).
    pub fn mutate_policy(&mut self, id: &str, f: impl FnOnce(&mut Value)) -> bool {
        let Some(fields) = self.policies.get(id) else {
            return false;
        };
        let mut value = self.render_policy(fields);
        f(&mut value);
        self.store_policy_value(id, value)
    }

    /// Stores a policy given in its GET form.
    pub fn store_policy_value(&mut self, id: &str, value: Value) -> bool {
        let Value::Object(mut fields) = value else {
            return false;
        };
        let Some(old) = self.policies.get(id) else {
            return false;
        };
        fields.remove("app_count");
        fields.remove("reusable");
        fields.insert("id".into(), json!(id));
        if fields.get("updated_at") == old.get("updated_at") {
            fields.insert("updated_at".into(), json!(now_rfc3339()));
        }
        self.policies.insert(id.to_string(), fields);
        true
    }

    /// Deletes a reusable policy even while attached, detaching it everywhere first.
    pub fn delete_policy_out_of_band(&mut self, id: &str) -> bool {
        if !self.policies.contains(id) {
            return false;
        }
        for app_id in self.apps_using(id) {
            if let Some(app) = self.apps.get_mut(&app_id) {
                app.links.retain(|l| l.id != id);
            }
        }
        self.usage.remove(id);
        self.policies.remove(id);
        true
    }
}
