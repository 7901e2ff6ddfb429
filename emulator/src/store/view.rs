//! Borrowing serialisers of the response forms. List pages serialise straight from the
//! stored maps instead of building a `Value` per object: at 1,000 apps per page the
//! clones, not the JSON writing, dominated the response time.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Value};

use super::{Account, App, Link};

/// An app as GET returns it: stored fields plus expanded `policies`.
pub(crate) struct AppView<'a> {
    pub acc: &'a Account,
    pub app: &'a App,
}

/// A reusable policy with its computed `app_count` and `reusable: true`.
pub(crate) struct PolicyView<'a> {
    pub fields: &'a Map<String, Value>,
    pub app_count: usize,
}

/// An attachment expanded to the policy object with `precedence` and `reusable`.
pub(crate) struct LinkView<'a> {
    pub fields: &'a Map<String, Value>,
    pub precedence: u32,
    pub reusable: bool,
}

struct LinksView<'a> {
    acc: &'a Account,
    app: &'a App,
}

impl Account {
    pub fn app_view<'a>(&'a self, app: &'a App) -> AppView<'a> {
        AppView { acc: self, app }
    }

    pub fn policy_view<'a>(&self, fields: &'a Map<String, Value>) -> PolicyView<'a> {
        let id = fields.get("id").and_then(Value::as_str).unwrap_or_default();
        PolicyView {
            fields,
            app_count: self.app_count(id),
        }
    }

    pub fn link_view<'a>(&'a self, app: &'a App, link: &Link) -> Option<LinkView<'a>> {
        let (fields, reusable) = match self.policies.get(&link.id) {
            Some(p) => (p, true),
            None => (app.scoped.get(&link.id)?, false),
        };
        Some(LinkView {
            fields,
            precedence: link.precedence,
            reusable,
        })
    }
}

/// Serialises `fields` minus `skip`, then the extra entries.
fn serialize_with<S: Serializer>(
    serializer: S,
    fields: &Map<String, Value>,
    skip: &[&str],
    extra: impl FnOnce(&mut S::SerializeMap) -> Result<(), S::Error>,
) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(None)?;
    for (k, v) in fields {
        if !skip.contains(&k.as_str()) {
            map.serialize_entry(k, v)?;
        }
    }
    extra(&mut map)?;
    map.end()
}

impl Serialize for AppView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_with(s, &self.app.fields, &["policies"], |m| {
            m.serialize_entry(
                "policies",
                &LinksView {
                    acc: self.acc,
                    app: self.app,
                },
            )
        })
    }
}

impl Serialize for LinksView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for link in &self.app.links {
            if let Some(view) = self.acc.link_view(self.app, link) {
                seq.serialize_element(&view)?;
            }
        }
        seq.end()
    }
}

impl Serialize for LinkView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_with(s, self.fields, &["precedence", "reusable"], |m| {
            m.serialize_entry("precedence", &self.precedence)?;
            m.serialize_entry("reusable", &self.reusable)
        })
    }
}

impl Serialize for PolicyView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_with(s, self.fields, &["app_count", "reusable"], |m| {
            m.serialize_entry("app_count", &self.app_count)?;
            m.serialize_entry("reusable", &true)
        })
    }
}
