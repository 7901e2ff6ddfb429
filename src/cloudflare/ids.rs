//! Identifier newtypes: an account id, an application id and a policy id are
//! different types, so one can never be passed where another is expected.
//!
//! [`AccountId::parse`], [`AppId::parse`] and [`PolicyId::parse`] are the one place
//! their shape is checked (for input a user typed). What the API sends is taken as
//! it is: Cloudflare's answers are decoded whatever the id looks like, and written
//! back as the plain string.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a string is not an id of the kind asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Not 32 hexadecimal characters.
    #[error("an account id must be 32 hexadecimal characters; got {0:?}")]
    Account(String),
    /// Not an 8-4-4-4-12 hexadecimal UUID.
    #[error(
        "{kind} id must be a UUID such as \"6cdc3892-f9f1-4813-a5ce-38c2753e1208\"; got {value:?}"
    )]
    Uuid {
        /// `an application` or `a policy`.
        kind: &'static str,
        /// The string refused.
        value: String,
    },
}

/// True for a 32-character hexadecimal Cloudflare account identifier.
fn is_account_id(s: &str) -> bool {
    s.len() == 32 && s.chars().all(|c| c.is_ascii_hexdigit())
}

/// True for the canonical 8-4-4-4-12 hexadecimal UUID form (36 characters; the
/// braced, URN and undashed spellings the `uuid` crate also reads are refused).
fn is_uuid(s: &str) -> bool {
    s.len() == 36 && uuid::Uuid::try_parse(s).is_ok()
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $check:expr, $refuse:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Checks the shape of an id from user input.
            pub fn parse(value: &str) -> Result<Self, IdError> {
                let check: fn(&str) -> bool = $check;
                let refuse: fn(&str) -> IdError = $refuse;
                if check(value) {
                    Ok($name(value.to_owned()))
                } else {
                    Err(refuse(value))
                }
            }

            /// Wraps an id that is already validated or comes from the API (an
            /// answer, or Terraform state that was written from one), unchecked.
            pub fn new_unchecked(value: impl Into<String>) -> Self {
                $name(value.into())
            }

            /// The id as sent on the wire.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        /// An id reads as its string wherever a `&str` is wanted (paths, logs); the
        /// other way round takes [`Self::parse`] or [`Self::new_unchecked`].
        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        /// Any string decodes: the API is the judge of its own ids.
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                String::deserialize(deserializer).map($name)
            }
        }
    };
}

id_type!(
    /// A Cloudflare account id (32 hexadecimal characters).
    AccountId,
    is_account_id,
    |value| IdError::Account(value.to_owned())
);

id_type!(
    /// An Access application id (a UUID).
    AppId,
    is_uuid,
    |value| IdError::Uuid {
        kind: "an application",
        value: value.to_owned(),
    }
);

id_type!(
    /// A reusable Access policy id (a UUID).
    PolicyId,
    is_uuid,
    |value| IdError::Uuid {
        kind: "a policy",
        value: value.to_owned(),
    }
);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parse_checks_the_shape_once() {
        let account = "023e105f4ecef8ad9ca31a8372d0c353";
        assert_eq!(AccountId::parse(account).unwrap().as_str(), account);
        assert_eq!(
            AccountId::parse("023e105f"),
            Err(IdError::Account("023e105f".into()))
        );
        assert!(AccountId::parse("023e105f4ecef8ad9ca31a8372d0c35g").is_err());

        let uuid = "6cdc3892-f9f1-4813-a5ce-38c2753e1208";
        assert_eq!(AppId::parse(uuid).unwrap().to_string(), uuid);
        assert_eq!(PolicyId::parse(uuid).unwrap().as_str(), uuid);
        for bad in [
            "",
            "6cdc3892f9f14813a5ce38c2753e1208",
            "6cdc3892-f9f1-4813-a5ce-38c2753e12089",
            "{6cdc3892-f9f1-4813-a5ce-38c2753e1208}",
        ] {
            assert!(AppId::parse(bad).is_err(), "{bad}");
            assert!(PolicyId::parse(bad).is_err(), "{bad}");
        }
        let error = PolicyId::parse("p1").unwrap_err().to_string();
        assert!(
            error.contains("a policy id must be a UUID") && error.contains("\"p1\""),
            "{error}"
        );
    }

    #[test]
    fn any_string_from_the_api_decodes_and_is_written_back_plain() {
        for wire in [
            "6cdc3892-f9f1-4813-a5ce-38c2753e1208",
            "app-1",
            "",
            "legacy id",
        ] {
            let app: AppId = serde_json::from_value(json!(wire)).unwrap();
            assert_eq!(app, wire);
            assert_eq!(serde_json::to_value(&app).unwrap(), json!(wire));
            let policy: PolicyId = serde_json::from_value(json!(wire)).unwrap();
            assert_eq!(serde_json::to_value(&policy).unwrap(), json!(wire));
        }
    }
}
