//! The cty value codec: how [`Value`]s and [`Type`]s travel over tfplugin6.
//!
//! - [`msgpack`]: the wire format of `DynamicValue.msgpack`, byte-compatible with
//!   go-cty's `cty/msgpack` (unknowns as msgpack extensions, objects with exactly one
//!   entry per attribute, `dynamic` as `[type JSON, value]`).
//! - [`json`]: cty's JSON form (`DynamicValue.json`, `UpgradeResourceState.raw_state`),
//!   decoded leniently like cty's JSON decoder.
//! - [`type_json`]: schema type constraints as JSON (`"string"`, `["list","string"]`…).
//! - [`dynamic_value`]: picks the right decoder for a `DynamicValue` message.
//!
//! Numbers keep full precision; see the private `decimal` module for their canonical spelling.

mod decimal;
pub mod dynamic_value;
pub mod error;
pub mod json;
mod json_reader;
pub mod msgpack;
#[cfg(test)]
mod tests;
pub mod type_json;

pub use error::CodecError;

use crate::tfplugin::value::{Type, Value};

/// Deepest nesting of collections, objects and types the decoders accept. Real schemas
/// nest a handful of levels; the limit exists so that hostile input cannot overflow the
/// stack of the recursive decoders.
pub const MAX_DEPTH: usize = 128;

/// Fails once `depth` exceeds [`MAX_DEPTH`].
fn check_depth(depth: usize) -> Result<(), CodecError> {
    if depth > MAX_DEPTH {
        Err(CodecError::too_deep())
    } else {
        Ok(())
    }
}

/// A type as cty names it in messages (`list of string`, `object`).
fn type_name(ty: &Type) -> String {
    match ty {
        Type::String => "string".into(),
        Type::Number => "number".into(),
        Type::Bool => "bool".into(),
        Type::Dynamic => "dynamic".into(),
        Type::List(e) => format!("list of {}", type_name(e)),
        Type::Set(e) => format!("set of {}", type_name(e)),
        Type::Map(e) => format!("map of {}", type_name(e)),
        Type::Object(_) => "object".into(),
        Type::Tuple(_) => "tuple".into(),
    }
}

/// The kind of a value, for messages (never the value itself: it may be secret).
fn value_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Unknown => "unknown value",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::List(_) => "list",
        Value::Set(_) => "set",
        Value::Tuple(_) => "tuple",
        Value::Map(_) => "map",
        Value::Object(_) => "object",
        Value::Dynamic(..) => "dynamic value",
    }
}

/// The concrete type of a value written to a `dynamic` attribute without a
/// [`Value::Dynamic`] wrapper. Nulls and unknowns give `dynamic`; a collection takes the
/// one type its non-null, known elements share (`dynamic` when it has none).
fn infer_type(v: &Value, depth: usize) -> Result<Type, CodecError> {
    check_depth(depth)?;
    Ok(match v {
        Value::Null | Value::Unknown => Type::Dynamic,
        Value::Bool(_) => Type::Bool,
        Value::Number(_) => Type::Number,
        Value::String(_) => Type::String,
        Value::Dynamic(t, _) => t.clone(),
        Value::Tuple(items) => Type::Tuple(
            items
                .iter()
                .enumerate()
                .map(|(i, e)| infer_type(e, depth + 1).map_err(|err| err.in_index(i)))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(attrs) => Type::Object(
            attrs
                .iter()
                .map(|(k, e)| {
                    infer_type(e, depth + 1)
                        .map(|t| (k.clone(), t))
                        .map_err(|err| err.in_attr(k))
                })
                .collect::<Result<_, _>>()?,
        ),
        Value::List(items) => Type::list(common_type(items.iter(), depth)?),
        Value::Set(items) => Type::set(common_type(items.iter(), depth)?),
        Value::Map(m) => Type::map(common_type(m.values(), depth)?),
    })
}

fn common_type<'v>(
    items: impl Iterator<Item = &'v Value>,
    depth: usize,
) -> Result<Type, CodecError> {
    let mut found: Option<Type> = None;
    for item in items {
        if matches!(item, Value::Null | Value::Unknown) {
            continue;
        }
        let t = infer_type(item, depth + 1)?;
        match &found {
            None => found = Some(t),
            Some(prev) if *prev == t => {}
            Some(_) => {
                return Err(CodecError::UninferableDynamic {
                    path: Default::default(),
                    detail: "collection elements have different types; wrap the value in \
                             Value::Dynamic with an explicit type",
                });
            }
        }
    }
    Ok(found.unwrap_or(Type::Dynamic))
}
