//! Typed request and response bodies of the Access API.

/// `Display`, `Serialize` and `Deserialize` of an API enum through its wire string
/// (`as_str` / `parse`), so unknown values read into its `Other` arm and go back as sent.
macro_rules! wire_string {
    ($name:ident) => {
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                <String as serde::Deserialize>::deserialize(deserializer).map(|s| $name::parse(&s))
            }
        }
    };
}

/// `Debug` field by field, with the maps of unmodelled fields (`redacted`) shown as
/// keys only: an unknown field may hold a secret.
macro_rules! debug_redacted {
    ($name:ident { $($field:ident),* $(,)? } redacted { $($map:ident),* $(,)? }) => {
        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name))
                    $( .field(stringify!($field), &self.$field) )*
                    $( .field(
                        stringify!($map),
                        &crate::cloudflare::secret::RedactedMap(&self.$map),
                    ) )*
                    .finish()
            }
        }
    };
}

pub mod app;
pub mod app_type;
pub mod domain;
pub(crate) mod lenient;
pub mod policy;
pub mod rule;
pub(crate) mod timestamp;
