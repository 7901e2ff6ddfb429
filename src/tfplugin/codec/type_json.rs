//! cty type constraints as JSON, the form of `Schema.Attribute.type` and of the type
//! half of a `dynamic` value: `"string"`, `"number"`, `"bool"`, `"dynamic"`,
//! `["list",T]`, `["set",T]`, `["map",T]`, `["object",{"name":T,…}]` (an optional third
//! element listing optional attributes is accepted and ignored), `["tuple",[T,…]]`.

use std::collections::BTreeMap;

use super::check_depth;
use super::error::CodecError;
use super::json_reader::JsonReader;
use crate::tfplugin::value::Type;

/// The JSON bytes of `ty`, as go-cty writes them (object attributes sorted by name).
pub fn encode(ty: &Type) -> Vec<u8> {
    let mut out = Vec::with_capacity(16);
    write_type(&mut out, ty);
    out
}

/// Parses a type constraint from its JSON bytes.
pub fn decode(bytes: &[u8]) -> Result<Type, CodecError> {
    decode_nested(bytes, 0)
}

/// Parses type JSON found `depth` levels deep inside a value, so that the depth limit
/// covers values and the types they carry together.
pub(crate) fn decode_nested(bytes: &[u8], depth: usize) -> Result<Type, CodecError> {
    let mut r = JsonReader::new(bytes);
    let ty = read_type(&mut r, depth)?;
    r.finish()?;
    Ok(ty)
}

pub(crate) fn write_type(out: &mut Vec<u8>, ty: &Type) {
    match ty {
        Type::String => out.extend_from_slice(b"\"string\""),
        Type::Number => out.extend_from_slice(b"\"number\""),
        Type::Bool => out.extend_from_slice(b"\"bool\""),
        Type::Dynamic => out.extend_from_slice(b"\"dynamic\""),
        Type::List(e) => write_collection(out, "list", e),
        Type::Set(e) => write_collection(out, "set", e),
        Type::Map(e) => write_collection(out, "map", e),
        Type::Object(attrs) => {
            out.extend_from_slice(b"[\"object\",{");
            for (i, (name, aty)) in attrs.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                super::json::write_json_string(out, name);
                out.push(b':');
                write_type(out, aty);
            }
            out.extend_from_slice(b"}]");
        }
        Type::Tuple(elems) => {
            out.extend_from_slice(b"[\"tuple\",[");
            for (i, ety) in elems.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_type(out, ety);
            }
            out.extend_from_slice(b"]]");
        }
    }
}

fn write_collection(out: &mut Vec<u8>, kind: &str, elem: &Type) {
    out.extend_from_slice(b"[\"");
    out.extend_from_slice(kind.as_bytes());
    out.extend_from_slice(b"\",");
    write_type(out, elem);
    out.push(b']');
}

/// Reads one type description at the reader's cursor.
pub(crate) fn read_type(r: &mut JsonReader<'_>, depth: usize) -> Result<Type, CodecError> {
    check_depth(depth)?;
    match r.peek()? {
        b'"' => {
            let name = r.string()?;
            match name.as_ref() {
                "string" => Ok(Type::String),
                "number" => Ok(Type::Number),
                "bool" => Ok(Type::Bool),
                "dynamic" => Ok(Type::Dynamic),
                other => Err(CodecError::invalid_type(format!(
                    "unknown primitive type {}",
                    quoted_prefix(other)
                ))),
            }
        }
        b'[' => {
            r.expect(b'[')?;
            if r.peek()? != b'"' {
                return Err(CodecError::invalid_type("a type kind name is required"));
            }
            let kind = r.string()?;
            r.expect(b',')?;
            let ty = match kind.as_ref() {
                "list" => Type::list(read_type(r, depth + 1)?),
                "set" => Type::set(read_type(r, depth + 1)?),
                "map" => Type::map(read_type(r, depth + 1)?),
                "object" => {
                    let attrs = read_attributes(r, depth + 1)?;
                    if r.eat(b',') {
                        skip_optional_attribute_names(r)?;
                    }
                    Type::Object(attrs)
                }
                "tuple" => Type::Tuple(read_tuple_elements(r, depth + 1)?),
                other => {
                    return Err(CodecError::invalid_type(format!(
                        "unknown type kind {}",
                        quoted_prefix(other)
                    )));
                }
            };
            r.expect(b']')?;
            Ok(ty)
        }
        _ => Err(CodecError::invalid_type(format!(
            "expected a type name or [kind, …], got {}",
            r.next_kind()
        ))),
    }
}

fn read_attributes(
    r: &mut JsonReader<'_>,
    depth: usize,
) -> Result<BTreeMap<String, Type>, CodecError> {
    let mut attrs = BTreeMap::new();
    r.expect(b'{')?;
    if r.eat(b'}') {
        return Ok(attrs);
    }
    loop {
        let name = r.string()?.into_owned();
        r.expect(b':')?;
        let ty = read_type(r, depth).map_err(|e| e.in_attr(&name))?;
        attrs.insert(name, ty);
        if !r.eat(b',') {
            r.expect(b'}')?;
            return Ok(attrs);
        }
    }
}

/// The optional-attribute list only matters to Terraform's own type conversion; a
/// provider sees fully-populated objects, so the names are checked for shape and dropped.
fn skip_optional_attribute_names(r: &mut JsonReader<'_>) -> Result<(), CodecError> {
    r.expect(b'[')?;
    if r.eat(b']') {
        return Ok(());
    }
    loop {
        r.string()?;
        if !r.eat(b',') {
            return r.expect(b']');
        }
    }
}

fn read_tuple_elements(r: &mut JsonReader<'_>, depth: usize) -> Result<Vec<Type>, CodecError> {
    let mut elems = Vec::new();
    r.expect(b'[')?;
    if r.eat(b']') {
        return Ok(elems);
    }
    loop {
        let i = elems.len();
        elems.push(read_type(r, depth).map_err(|e| e.in_index(i))?);
        if !r.eat(b',') {
            r.expect(b']')?;
            return Ok(elems);
        }
    }
}

/// Quotes at most the first few characters of a name from the input, so that an
/// error message stays short whatever arrives.
fn quoted_prefix(s: &str) -> String {
    const LIMIT: usize = 32;
    match s.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{:?}…", &s[..cut]),
        None => format!("{s:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::MAX_DEPTH;
    use super::*;

    fn round_trip(json: &str, ty: Type) {
        assert_eq!(decode(json.as_bytes()).unwrap(), ty, "decoding {json}");
        assert_eq!(
            String::from_utf8(encode(&ty)).unwrap(),
            json,
            "encoding {ty:?}"
        );
    }

    #[test]
    fn every_kind_round_trips() {
        round_trip("\"string\"", Type::String);
        round_trip("\"number\"", Type::Number);
        round_trip("\"bool\"", Type::Bool);
        round_trip("\"dynamic\"", Type::Dynamic);
        round_trip("[\"list\",\"string\"]", Type::list(Type::String));
        round_trip(
            "[\"set\",[\"map\",\"bool\"]]",
            Type::set(Type::map(Type::Bool)),
        );
        round_trip(
            "[\"object\",{\"a\":\"string\",\"b\":[\"list\",\"number\"]}]",
            Type::object([("b", Type::list(Type::Number)), ("a", Type::String)]),
        );
        round_trip("[\"object\",{}]", Type::object::<_, String>([]));
        round_trip(
            "[\"tuple\",[\"string\",\"bool\"]]",
            Type::Tuple(vec![Type::String, Type::Bool]),
        );
        round_trip("[\"tuple\",[]]", Type::Tuple(vec![]));
    }

    #[test]
    fn optional_attribute_list_is_accepted_and_ignored() {
        let ty = decode(br#" [ "object" , { "a" : "string" , "b":"bool" } , ["b"] ] "#).unwrap();
        assert_eq!(ty, Type::object([("a", Type::String), ("b", Type::Bool)]));
    }

    #[test]
    fn invalid_descriptions_are_refused() {
        for bad in [
            "",
            "\"str\"",
            "\"string\" x",
            "[\"list\"]",
            "[\"list\",\"string\",\"x\"]",
            "[\"wat\",\"string\"]",
            "[1,\"string\"]",
            "{}",
            "[\"object\",[]]",
            "[\"object\",{\"a\":\"string\"},[1]]",
            "[\"tuple\",\"string\"]",
            "null",
        ] {
            assert!(decode(bad.as_bytes()).is_err(), "{bad:?} must be refused");
        }
        let e = decode(br#"["object",{"a":["list","strin"]}]"#).unwrap_err();
        assert!(
            e.to_string().starts_with("at .a: invalid type description"),
            "{e}"
        );
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let deep = "[\"list\",".repeat(10_000) + "\"string\"" + &"]".repeat(10_000);
        assert!(matches!(
            decode(deep.as_bytes()),
            Err(CodecError::TooDeep { .. })
        ));
        let ok = "[\"list\",".repeat(MAX_DEPTH) + "\"string\"" + &"]".repeat(MAX_DEPTH);
        assert!(decode(ok.as_bytes()).is_ok());
    }
}
