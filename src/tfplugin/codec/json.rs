//! cty values as JSON: `DynamicValue.json` and `UpgradeResourceState.raw_state.json`.
//!
//! Same shapes as msgpack, except that a `dynamic` value is `{"value": …, "type": …}`
//! and unknown values cannot be written. Decoding is lenient in the ways cty's JSON
//! decoder is (it reads state written by older schema versions and by other tools):
//! absent object attributes become null, a string is accepted where a number or bool
//! is expected (`"12"`, `"true"`), and a number or bool where a string is expected.
//! Beyond cty, attributes the type does not declare are ignored rather than refused,
//! as state JSON may still carry attributes a schema has dropped.

use std::collections::BTreeMap;

use super::decimal;
use super::error::CodecError;
use super::json_reader::JsonReader;
use super::{check_depth, infer_type, type_json, type_name, value_kind};
use crate::tfplugin::value::{Type, Value};

/// Decodes JSON `bytes` as a value of type `ty` (see the module docs for the leniency).
pub fn decode(bytes: &[u8], ty: &Type) -> Result<Value, CodecError> {
    let mut r = JsonReader::new(bytes);
    let v = value(&mut r, ty, 0)?;
    r.finish()?;
    Ok(v)
}

/// Encodes `v` as JSON for type `ty`, as go-cty writes it (object attributes sorted,
/// numbers in full precision). Unknown values anywhere are refused.
///
/// The same conveniences as [`super::msgpack::encode`] apply: list/set/tuple and
/// map/object values are interchangeable, absent attributes are written as null, and
/// unwrapped values for a `dynamic` type get their type inferred.
pub fn encode(v: &Value, ty: &Type) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::with_capacity(64);
    write_value(&mut out, v, ty, 0)?;
    Ok(out)
}

// ---------------------------------------------------------------------------------
// Decoding

fn mismatch(r: &mut JsonReader<'_>, ty: &Type) -> CodecError {
    CodecError::mismatch(type_name(ty), r.next_kind())
}

fn value(r: &mut JsonReader<'_>, ty: &Type, depth: usize) -> Result<Value, CodecError> {
    let next = r.peek()?;
    if next == b'n' {
        r.literal("null")?;
        return Ok(Value::Null);
    }
    match ty {
        Type::String => match next {
            b'"' => Ok(Value::String(r.string()?.into_owned())),
            b'-' | b'0'..=b'9' => Ok(Value::String(r.number()?.to_owned())),
            b't' | b'f' => Ok(Value::String(r.boolean()?.to_string())),
            _ => Err(mismatch(r, ty)),
        },
        Type::Number => match next {
            b'-' | b'0'..=b'9' => Ok(Value::Number(decimal::number_from_text(r.number()?)?)),
            b'"' => {
                let text = r.string()?;
                decimal::number_from_text(&text)
                    .map(Value::Number)
                    .map_err(|_| CodecError::mismatch(type_name(ty), "a non-numeric string"))
            }
            _ => Err(mismatch(r, ty)),
        },
        Type::Bool => match next {
            b't' | b'f' => Ok(Value::Bool(r.boolean()?)),
            b'"' => match r.string()?.as_ref() {
                "true" | "1" => Ok(Value::Bool(true)),
                "false" | "0" => Ok(Value::Bool(false)),
                _ => Err(CodecError::mismatch(
                    type_name(ty),
                    "a string other than \"true\" or \"false\"",
                )),
            },
            _ => Err(mismatch(r, ty)),
        },
        Type::List(ety) => sequence(r, ty, ety, depth).map(Value::List),
        Type::Set(ety) => sequence(r, ty, ety, depth).map(Value::Set),
        Type::Tuple(etys) => tuple(r, ty, etys, depth),
        Type::Map(ety) => map(r, ty, ety, depth),
        Type::Object(attrs) => object(r, ty, attrs, depth),
        Type::Dynamic => dynamic(r, depth),
    }
}

/// Calls `item` for each comma-separated item between `open` and `close`, with its
/// index; a value that does not start with `open` is a type mismatch.
fn each_item<'a>(
    r: &mut JsonReader<'a>,
    ty: &Type,
    (open, close): (u8, u8),
    mut item: impl FnMut(&mut JsonReader<'a>, usize) -> Result<(), CodecError>,
) -> Result<(), CodecError> {
    if r.peek()? != open {
        return Err(mismatch(r, ty));
    }
    r.expect(open)?;
    if r.eat(close) {
        return Ok(());
    }
    let mut i = 0;
    loop {
        item(r, i)?;
        i += 1;
        if !r.eat(b',') {
            return r.expect(close);
        }
    }
}

/// Calls `item` for each element of an array, with its index.
fn each_element<'a>(
    r: &mut JsonReader<'a>,
    ty: &Type,
    mut item: impl FnMut(&mut JsonReader<'a>, usize) -> Result<(), CodecError>,
) -> Result<(), CodecError> {
    each_item(r, ty, (b'[', b']'), |r, i| {
        item(r, i).map_err(|e| e.in_element_of(ty, i))
    })
}

/// Calls `entry` for each member of an object with its key; the callback reads (or
/// skips) the member's value.
fn each_member<'a>(
    r: &mut JsonReader<'a>,
    ty: &Type,
    mut entry: impl FnMut(&mut JsonReader<'a>, std::borrow::Cow<'a, str>) -> Result<(), CodecError>,
) -> Result<(), CodecError> {
    each_item(r, ty, (b'{', b'}'), |r, _| {
        let key = r.string()?;
        r.expect(b':')?;
        entry(r, key)
    })
}

fn sequence(
    r: &mut JsonReader<'_>,
    ty: &Type,
    ety: &Type,
    depth: usize,
) -> Result<Vec<Value>, CodecError> {
    check_depth(depth + 1)?;
    let mut items = Vec::new();
    each_element(r, ty, |r, _| {
        items.push(value(r, ety, depth + 1)?);
        Ok(())
    })?;
    Ok(items)
}

fn tuple(
    r: &mut JsonReader<'_>,
    ty: &Type,
    etys: &[Type],
    depth: usize,
) -> Result<Value, CodecError> {
    check_depth(depth + 1)?;
    let mut items = Vec::with_capacity(etys.len());
    let mut count = 0;
    each_element(r, ty, |r, i| {
        count = i + 1;
        match etys.get(i) {
            Some(ety) => {
                items.push(value(r, ety, depth + 1)?);
                Ok(())
            }
            None => r.skip_value(),
        }
    })?;
    CodecError::check_tuple_length(etys.len(), count)?;
    Ok(Value::Tuple(items))
}

fn map(r: &mut JsonReader<'_>, ty: &Type, ety: &Type, depth: usize) -> Result<Value, CodecError> {
    check_depth(depth + 1)?;
    let mut entries = BTreeMap::new();
    each_member(r, ty, |r, key| {
        let v = value(r, ety, depth + 1).map_err(|e| e.in_key(&key))?;
        entries.insert(key.into_owned(), v);
        Ok(())
    })?;
    Ok(Value::Map(entries))
}

fn object(
    r: &mut JsonReader<'_>,
    ty: &Type,
    attrs: &BTreeMap<String, Type>,
    depth: usize,
) -> Result<Value, CodecError> {
    check_depth(depth + 1)?;
    let mut values = BTreeMap::new();
    each_member(r, ty, |r, key| match attrs.get_key_value(key.as_ref()) {
        Some((name, aty)) => {
            let v = value(r, aty, depth + 1).map_err(|e| e.in_attr(name))?;
            values.insert(name.clone(), v);
            Ok(())
        }
        None => r.skip_value(),
    })?;
    if values.len() < attrs.len() {
        for name in attrs.keys() {
            if !values.contains_key(name) {
                values.insert(name.clone(), Value::Null);
            }
        }
    }
    Ok(Value::Object(values))
}

/// `{"value": …, "type": …}` in either order; the value is decoded once its type is
/// known.
fn dynamic(r: &mut JsonReader<'_>, depth: usize) -> Result<Value, CodecError> {
    check_depth(depth + 1)?;
    let mut ty: Option<Type> = None;
    let mut body: Option<(usize, usize)> = None;
    each_member(r, &Type::Dynamic, |r, key| match key.as_ref() {
        "type" => {
            ty = Some(type_json::read_type(r, depth + 1)?);
            Ok(())
        }
        "value" => {
            let start = r.position();
            r.skip_value()?;
            body = Some((start, r.position()));
            Ok(())
        }
        _ => Err(CodecError::malformed(
            "JSON",
            "a dynamic value may only have the keys \"type\" and \"value\"",
        )),
    })?;
    let (Some(ty), Some((start, end))) = (ty, body) else {
        return Err(CodecError::malformed(
            "JSON",
            "a dynamic value needs both \"type\" and \"value\"",
        ));
    };
    let mut inner = JsonReader::new(r.slice(start, end));
    let v = value(&mut inner, &ty, depth + 1)?;
    inner.finish()?;
    Ok(Value::Dynamic(ty, Box::new(v)))
}

// ---------------------------------------------------------------------------------
// Encoding

/// Writes a JSON object of `(name, value, type)` members; `locate` places a member's
/// error at its map key or attribute name.
fn write_members<'v>(
    out: &mut Vec<u8>,
    members: impl Iterator<Item = (&'v str, &'v Value, &'v Type)>,
    depth: usize,
    locate: impl Fn(CodecError, &str) -> CodecError,
) -> Result<(), CodecError> {
    out.push(b'{');
    for (i, (name, item, ty)) in members.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_json_string(out, name);
        out.push(b':');
        write_value(out, item, ty, depth + 1).map_err(|e| locate(e, name))?;
    }
    out.push(b'}');
    Ok(())
}

fn write_value(out: &mut Vec<u8>, v: &Value, ty: &Type, depth: usize) -> Result<(), CodecError> {
    check_depth(depth)?;
    match (v, ty) {
        (Value::Unknown, _) => {
            return Err(CodecError::UnknownInJson {
                path: Default::default(),
            });
        }
        (Value::Null, _) => out.extend_from_slice(b"null"),
        (Value::Dynamic(vty, inner), Type::Dynamic) => write_dynamic(out, inner, vty, depth)?,
        (Value::Dynamic(vty, inner), _) if vty == ty => write_value(out, inner, ty, depth)?,
        (_, Type::Dynamic) => {
            let vty = infer_type(v, depth)?;
            write_dynamic(out, v, &vty, depth)?;
        }
        (Value::String(s), Type::String) => write_json_string(out, s),
        (Value::Number(n), Type::Number) => {
            out.extend_from_slice(decimal::canonical_text(n)?.as_bytes());
        }
        (Value::Bool(b), Type::Bool) => {
            out.extend_from_slice(if *b { b"true" } else { b"false" });
        }
        (
            Value::List(items) | Value::Set(items) | Value::Tuple(items),
            Type::List(ety) | Type::Set(ety),
        ) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item, ety, depth + 1).map_err(|e| e.in_element_of(ty, i))?;
            }
            out.push(b']');
        }
        (Value::List(items) | Value::Set(items) | Value::Tuple(items), Type::Tuple(etys)) => {
            CodecError::check_tuple_length(etys.len(), items.len())?;
            out.push(b'[');
            for (i, (item, ety)) in items.iter().zip(etys).enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item, ety, depth + 1).map_err(|e| e.in_index(i))?;
            }
            out.push(b']');
        }
        (Value::Map(entries) | Value::Object(entries), Type::Map(ety)) => {
            let members = entries.iter().map(|(k, item)| (k.as_str(), item, &**ety));
            write_members(out, members, depth, CodecError::in_key)?;
        }
        (Value::Map(entries) | Value::Object(entries), Type::Object(attrs)) => {
            if let Some(extra) = entries.keys().find(|k| !attrs.contains_key(*k)) {
                return Err(CodecError::UnsupportedAttribute {
                    path: Default::default(),
                    name: extra.clone(),
                });
            }
            let members = attrs.iter().map(|(name, aty)| {
                let item = entries.get(name).unwrap_or(&Value::Null);
                (name.as_str(), item, aty)
            });
            write_members(out, members, depth, CodecError::in_attr)?;
        }
        _ => return Err(CodecError::mismatch(type_name(ty), value_kind(v))),
    }
    Ok(())
}

fn write_dynamic(out: &mut Vec<u8>, v: &Value, vty: &Type, depth: usize) -> Result<(), CodecError> {
    out.extend_from_slice(b"{\"value\":");
    write_value(out, v, vty, depth + 1)?;
    out.extend_from_slice(b",\"type\":");
    type_json::write_type(out, vty);
    out.push(b'}');
    Ok(())
}

/// Writes `s` as a JSON string literal.
pub(crate) fn write_json_string(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[run..i]);
        if escape.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        } else {
            out.extend_from_slice(escape);
        }
        run = i + 1;
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
}
