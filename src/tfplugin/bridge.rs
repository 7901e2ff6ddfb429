//! The typed bridge between cty [`Value`]s and resource models.
//!
//! A model is a plain struct declared with [`tf_object!`](crate::tf_object): each field
//! names its attribute, and the macro writes the two conversions and a shape check, so
//! no resource spells out `from_value`/`to_value` by hand. A test per resource calls
//! [`check_against_schema`] so a model and its schema cannot drift apart.
//!
//! Attributes are [`Field`]s (null / unknown / known). Collections are `Vec<T>` (a list)
//! or [`Set<T>`] (a set). A collection with an unknown element cannot be a known
//! `Vec`, so inside a `Field` it reads as unknown as a whole; code that needs the known
//! elements of such a plan reads the raw value (the framework writes back only the
//! attributes a handler changed, so nothing is lost on the way).

use std::ops::{Deref, DerefMut};

use super::field::Field;
use super::schema::Schema;
use super::value::{Number, Type, Value};

/// Why a value does not fit a model. Always a provider bug: Terraform sends values
/// that conform to the schema, and the schema check keeps models in line with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BridgeError {
    /// The value has another type than the model field.
    #[error("attribute {path}: expected {expected}, found {found}")]
    Mismatch {
        path: String,
        expected: &'static str,
        found: &'static str,
    },
    /// A collection holds an unknown element (a [`Field`] reads it as unknown).
    #[error("attribute {path}: holds values not known until apply")]
    PartlyUnknown { path: String },
}

impl BridgeError {
    fn expected(expected: &'static str, found: &Value) -> Self {
        BridgeError::Mismatch {
            path: String::new(),
            expected,
            found: kind(found),
        }
    }

    /// This error, one attribute (or index) further out.
    pub fn at(self, step: &str) -> Self {
        let join = |path: String| {
            if path.is_empty() {
                step.to_string()
            } else if path.starts_with('[') {
                format!("{step}{path}")
            } else {
                format!("{step}.{path}")
            }
        };
        match self {
            BridgeError::Mismatch {
                path,
                expected,
                found,
            } => BridgeError::Mismatch {
                path: join(path),
                expected,
                found,
            },
            BridgeError::PartlyUnknown { path } => BridgeError::PartlyUnknown { path: join(path) },
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Unknown => "an unknown value",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::List(_) => "a list",
        Value::Set(_) => "a set",
        Value::Tuple(_) => "a tuple",
        Value::Map(_) => "a map",
        Value::Object(_) => "an object",
        Value::Dynamic(..) => "a dynamic value",
    }
}

/// A Rust type that stands for a cty value of one type.
pub trait TfValue: Sized {
    /// Reads `v` (which conforms to the schema).
    fn from_value(v: &Value) -> Result<Self, BridgeError>;
    /// The cty value.
    fn to_value(&self) -> Value;
    /// Checks that `ty` is the cty type this Rust type stands for; the error names the
    /// first difference.
    fn check_type(ty: &Type) -> Result<(), String>;
}

/// A model of an object: a struct declared with [`tf_object!`](crate::tf_object).
pub trait TfObject: TfValue {
    /// The attribute names, in declaration order.
    const ATTRIBUTES: &'static [&'static str];
}

/// Checks a top-level model against a resource or data source schema: the same
/// attribute names, and every field of the type its attribute has (nested objects
/// included). Called from each resource's tests.
pub fn check_against_schema<M: TfObject>(schema: &Schema) -> Result<(), String> {
    M::check_type(&schema.value_type())
}

/// Reads attribute `name` of object `v` into a field (a missing attribute is null).
/// Used by [`tf_object!`](crate::tf_object).
pub fn member<T: TfValue>(v: &Value, name: &str) -> Result<T, BridgeError> {
    T::from_value(v.get(name).unwrap_or(&Value::Null)).map_err(|e| e.at(name))
}

/// The shape check of one field: [`TfValue::check_type`] of its Rust type.
pub type TypeCheck = fn(&Type) -> Result<(), String>;

/// The shape check of an object: `fields` are (attribute name, check of its type).
/// Used by [`tf_object!`](crate::tf_object).
pub fn check_object(ty: &Type, fields: &[(&str, TypeCheck)]) -> Result<(), String> {
    let Type::Object(attrs) = ty else {
        return Err(format!("expected an object type, the schema has {ty:?}"));
    };
    for name in attrs.keys() {
        if !fields.iter().any(|(f, _)| f == name) {
            return Err(format!("schema attribute {name:?} has no model field"));
        }
    }
    for (name, check) in fields {
        let Some(attr_ty) = attrs.get(*name) else {
            return Err(format!("model field {name:?} is not a schema attribute"));
        };
        check(attr_ty).map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(())
}

fn same_type(expected: Type, ty: &Type) -> Result<(), String> {
    if *ty == expected {
        Ok(())
    } else {
        Err(format!(
            "the model holds {expected:?}, the schema has {ty:?}"
        ))
    }
}

impl<T: TfValue> TfValue for Field<T> {
    fn from_value(v: &Value) -> Result<Self, BridgeError> {
        match v {
            Value::Null => Ok(Field::Null),
            Value::Unknown => Ok(Field::Unknown),
            other => match T::from_value(other) {
                Ok(t) => Ok(Field::Known(t)),
                Err(BridgeError::PartlyUnknown { .. }) => Ok(Field::Unknown),
                Err(e) => Err(e),
            },
        }
    }

    fn to_value(&self) -> Value {
        match self {
            Field::Null => Value::Null,
            Field::Unknown => Value::Unknown,
            Field::Known(t) => t.to_value(),
        }
    }

    fn check_type(ty: &Type) -> Result<(), String> {
        T::check_type(ty)
    }
}

/// A primitive: `read` takes the Rust value out of a known cty value (`None` when it
/// is not one), `write` makes the cty value, `ty` is the cty type.
macro_rules! primitive {
    ($rust:ty, $ty:expr, $expected:literal, read: $read:expr, write: $write:expr $(,)?) => {
        impl TfValue for $rust {
            fn from_value(v: &Value) -> Result<Self, BridgeError> {
                let read: fn(&Value) -> Option<$rust> = $read;
                read(v).ok_or_else(|| BridgeError::expected($expected, v))
            }
            fn to_value(&self) -> Value {
                let write: fn(&$rust) -> Value = $write;
                write(self)
            }
            fn check_type(ty: &Type) -> Result<(), String> {
                same_type($ty, ty)
            }
        }
    };
}

primitive!(String, Type::String, "a string",
    read: |v| v.as_str().map(str::to_string),
    write: |s| Value::String(s.clone()));
primitive!(bool, Type::Bool, "a bool", read: Value::as_bool, write: |b| Value::Bool(*b));
primitive!(Number, Type::Number, "a number",
    read: |v| match v {
        Value::Number(n) => Some(n.clone()),
        _ => None,
    },
    write: |n| Value::Number(n.clone()));
primitive!(i64, Type::Number, "an integer", read: Value::as_i64, write: |i| Value::int(*i));
primitive!(u32, Type::Number, "a whole number from 0 to 4294967295",
    read: |v| v.as_i64().and_then(|i| u32::try_from(i).ok()),
    write: |u| Value::int(i64::from(*u)));

/// The value of a sensitive attribute: its `Debug` never shows it, so a model holding
/// one can derive `Debug` and still be logged.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Sensitive<T>(pub T);

impl<T> Sensitive<T> {
    /// The value itself, for the one place that must send or store it.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> std::fmt::Debug for Sensitive<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<T: TfValue> TfValue for Sensitive<T> {
    fn from_value(v: &Value) -> Result<Self, BridgeError> {
        T::from_value(v).map(Sensitive)
    }
    fn to_value(&self) -> Value {
        self.0.to_value()
    }
    fn check_type(ty: &Type) -> Result<(), String> {
        T::check_type(ty)
    }
}

/// The raw value: for the rare attribute whose shape a model does not capture.
impl TfValue for Value {
    fn from_value(v: &Value) -> Result<Self, BridgeError> {
        Ok(v.clone())
    }
    fn to_value(&self) -> Value {
        self.clone()
    }
    fn check_type(_: &Type) -> Result<(), String> {
        Ok(())
    }
}

fn elements_of<T: TfValue>(v: &Value, expected: &'static str) -> Result<Vec<T>, BridgeError> {
    let items = v
        .elements()
        .ok_or_else(|| BridgeError::expected(expected, v))?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            if !item.is_wholly_known() {
                return Err(BridgeError::PartlyUnknown {
                    path: format!("[{i}]"),
                });
            }
            T::from_value(item).map_err(|e| e.at(&format!("[{i}]")))
        })
        .collect()
}

/// A list.
impl<T: TfValue> TfValue for Vec<T> {
    fn from_value(v: &Value) -> Result<Self, BridgeError> {
        elements_of(v, "a list")
    }
    fn to_value(&self) -> Value {
        Value::List(self.iter().map(T::to_value).collect())
    }
    fn check_type(ty: &Type) -> Result<(), String> {
        match ty {
            Type::List(elem) => T::check_type(elem),
            other => Err(format!("the model holds a list, the schema has {other:?}")),
        }
    }
}

/// The elements of a cty set, in the order Terraform sent them (which carries no
/// meaning: compare with [`Set::same_members`] or sort).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Set<T>(pub Vec<T>);

impl<T: PartialEq> Set<T> {
    /// True when both hold the same members, order and repeats aside.
    pub fn same_members(&self, other: &Set<T>) -> bool {
        self.0.iter().all(|x| other.0.contains(x)) && other.0.iter().all(|x| self.0.contains(x))
    }
}

impl<T> Deref for Set<T> {
    type Target = Vec<T>;
    fn deref(&self) -> &Vec<T> {
        &self.0
    }
}

impl<T> DerefMut for Set<T> {
    fn deref_mut(&mut self) -> &mut Vec<T> {
        &mut self.0
    }
}

impl<T> From<Vec<T>> for Set<T> {
    fn from(v: Vec<T>) -> Self {
        Set(v)
    }
}

impl<T> FromIterator<T> for Set<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Set(iter.into_iter().collect())
    }
}

impl<T: TfValue> TfValue for Set<T> {
    fn from_value(v: &Value) -> Result<Self, BridgeError> {
        elements_of(v, "a set").map(Set)
    }
    fn to_value(&self) -> Value {
        Value::Set(self.0.iter().map(T::to_value).collect())
    }
    fn check_type(ty: &Type) -> Result<(), String> {
        match ty {
            Type::Set(elem) => T::check_type(elem),
            other => Err(format!("the model holds a set, the schema has {other:?}")),
        }
    }
}

/// Declares a model struct whose fields map to object attributes by name, and
/// implements [`TfValue`] and [`TfObject`] for it:
///
/// ```
/// use cfaccess::tf_object;
/// use cfaccess::tfplugin::{Field, bridge::{Set, TfValue}, Value};
///
/// tf_object! {
///     /// A team.
///     #[derive(Clone, Debug, Default, PartialEq)]
///     pub struct Team {
///         /// Its name.
///         pub name: Field<String> = "name",
///         /// Rust names may differ from attribute names.
///         pub kind: Field<String> = "type",
///         pub members: Field<Set<String>> = "members",
///     }
/// }
///
/// let team = Team::from_value(&Value::object([
///     ("name", Value::string("core")),
///     ("type", Value::Unknown),
///     ("members", Value::Null),
/// ]))
/// .unwrap();
/// assert_eq!(team.name, Field::Known("core".to_string()));
/// assert!(team.kind.is_unknown() && team.members.is_null());
/// ```
#[macro_export]
macro_rules! tf_object {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $(
                $(#[$fmeta:meta])*
                $fvis:vis $field:ident : $fty:ty = $attr:expr
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $( $(#[$fmeta])* $fvis $field: $fty, )*
        }

        impl $crate::tfplugin::bridge::TfObject for $name {
            const ATTRIBUTES: &'static [&'static str] = &[$($attr),*];
        }

        impl $crate::tfplugin::bridge::TfValue for $name {
            fn from_value(
                v: &$crate::tfplugin::Value,
            ) -> ::std::result::Result<Self, $crate::tfplugin::bridge::BridgeError> {
                if !matches!(v, $crate::tfplugin::Value::Object(_)) {
                    return Err($crate::tfplugin::bridge::BridgeError::Mismatch {
                        path: String::new(),
                        expected: "an object",
                        found: "another value",
                    });
                }
                Ok($name {
                    $( $field: $crate::tfplugin::bridge::member(v, $attr)?, )*
                })
            }

            fn to_value(&self) -> $crate::tfplugin::Value {
                $crate::tfplugin::Value::object([
                    $( ($attr, $crate::tfplugin::bridge::TfValue::to_value(&self.$field)), )*
                ])
            }

            fn check_type(ty: &$crate::tfplugin::Type) -> ::std::result::Result<(), String> {
                $crate::tfplugin::bridge::check_object(ty, &[
                    $( ($attr, <$fty as $crate::tfplugin::bridge::TfValue>::check_type
                        as $crate::tfplugin::bridge::TypeCheck), )*
                ])
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tfplugin::{Attribute, Nesting};

    crate::tf_object! {
        #[derive(Clone, Debug, Default, PartialEq)]
        struct Inner {
            on: Field<bool> = "on",
            uris: Field<Vec<String>> = "uris",
        }
    }

    crate::tf_object! {
        #[derive(Clone, Debug, Default, PartialEq)]
        struct Outer {
            id: Field<String> = "id",
            kind: Field<String> = "type",
            tags: Field<Set<String>> = "tags",
            rank: Field<u32> = "rank",
            inner: Field<Inner> = "inner",
        }
    }

    fn schema() -> Schema {
        Schema::new(
            "test",
            vec![
                Attribute::string("id").computed(),
                Attribute::string("type").required(),
                Attribute::string_set("tags").optional(),
                Attribute::number("rank").optional(),
                Attribute::nested(
                    "inner",
                    Nesting::Single,
                    vec![
                        Attribute::bool("on").optional(),
                        Attribute::string_list("uris").optional(),
                    ],
                )
                .optional(),
            ],
        )
    }

    #[test]
    fn values_round_trip_through_models_with_all_three_states() {
        let v = Value::object([
            ("id", Value::Unknown),
            ("type", Value::string("x")),
            ("tags", Value::string_set(["b", "a"])),
            ("rank", Value::int(3)),
            (
                "inner",
                Value::object([("on", Value::Null), ("uris", Value::string_list(["u"]))]),
            ),
        ]);
        let m = Outer::from_value(&v).unwrap();
        assert!(m.id.is_unknown());
        assert_eq!(m.kind.as_str(), Some("x"));
        assert_eq!(m.rank, Field::Known(3));
        let inner = m.inner.known().unwrap();
        assert!(inner.on.is_null());
        assert_eq!(m.to_value(), v);
    }

    #[test]
    fn a_collection_with_an_unknown_element_reads_as_unknown() {
        let v = Value::object([
            ("type", Value::string("x")),
            ("tags", Value::Set(vec![Value::string("a"), Value::Unknown])),
        ]);
        let m = Outer::from_value(&v).unwrap();
        assert!(m.tags.is_unknown());
        // Missing attributes read as null.
        assert!(m.inner.is_null() && m.rank.is_null());
    }

    #[test]
    fn mismatches_name_the_attribute() {
        let v = Value::object([(
            "inner",
            Value::object([("uris", Value::List(vec![Value::Bool(true)]))]),
        )]);
        let err = Outer::from_value(&v).unwrap_err();
        assert_eq!(
            err.to_string(),
            "attribute inner.uris[0]: expected a string, found a bool"
        );
        let err = Outer::from_value(&Value::object([("rank", Value::int(-1))])).unwrap_err();
        assert!(err.to_string().starts_with("attribute rank:"), "{err}");
    }

    #[test]
    fn the_schema_check_finds_every_kind_of_drift() {
        assert_eq!(check_against_schema::<Outer>(&schema()), Ok(()));
        let mut missing = schema();
        missing
            .attributes
            .push(Attribute::string("extra").optional());
        assert!(
            check_against_schema::<Outer>(&missing)
                .unwrap_err()
                .contains("\"extra\"")
        );
        let mut wrong = schema();
        wrong.attributes[2] = Attribute::string_list("tags").optional();
        assert!(
            check_against_schema::<Outer>(&wrong)
                .unwrap_err()
                .starts_with("tags:")
        );
        let mut nested = schema();
        nested.attributes[4] = Attribute::nested(
            "inner",
            Nesting::Single,
            vec![Attribute::bool("on").optional()],
        )
        .optional();
        assert!(
            check_against_schema::<Outer>(&nested)
                .unwrap_err()
                .contains("uris")
        );
    }
}
