//! cty values as msgpack, the wire form of `DynamicValue.msgpack`, compatible with
//! go-cty's `cty/msgpack` (the format Terraform reads and writes):
//!
//! | cty            | msgpack                                                        |
//! |----------------|----------------------------------------------------------------|
//! | null           | nil                                                            |
//! | unknown        | fixext1 type 0 payload 0 (`d4 00 00`); any extension on decode |
//! | string         | str                                                            |
//! | number         | int / uint, float64, or decimal text when neither is exact     |
//! | bool           | bool                                                           |
//! | list/set/tuple | array                                                          |
//! | map            | map with string keys                                           |
//! | object         | map with exactly one entry per attribute, sorted by name       |
//! | dynamic        | `[type JSON as bin, value]`; a wholly unknown one is the ext   |
//!
//! The decoder reads the bytes in place (no intermediate tree) and is guided by the
//! type, so an extension (unknown) or nil (null) is recognised at any depth, including
//! as an element of a known set.

use std::collections::BTreeMap;

use super::decimal::{self, Wire};
use super::error::CodecError;
use super::{check_depth, infer_type, type_json, type_name, value_kind};
use crate::tfplugin::value::{Number, Type, Value};

const FORMAT: &str = "msgpack";

/// The encoding of a wholly unknown value: fixext1, extension type 0, one zero byte.
const UNKNOWN: [u8; 3] = [0xd4, 0x00, 0x00];

/// Decodes msgpack `bytes` as a value of type `ty`.
///
/// Any msgpack extension decodes as [`Value::Unknown`] (refinements, extension 12, are
/// dropped); nil decodes as [`Value::Null`]. Objects must carry exactly their type's
/// attributes. Trailing bytes after the value are refused.
pub fn decode(bytes: &[u8], ty: &Type) -> Result<Value, CodecError> {
    let mut d = Decoder { buf: bytes, pos: 0 };
    let v = d.value(ty, 0)?;
    if d.pos != bytes.len() {
        return Err(CodecError::malformed(
            FORMAT,
            format!("{} unexpected bytes after the value", bytes.len() - d.pos),
        ));
    }
    Ok(v)
}

/// Encodes `v` as msgpack for type `ty`.
///
/// The value must conform to the type, with these conveniences: a list, set or tuple
/// value may stand for any of those types, a map or object value for either of those;
/// attributes absent from an object value are written as null; a value for a `dynamic`
/// type that is not wrapped in [`Value::Dynamic`] gets its type inferred.
pub fn encode(v: &Value, ty: &Type) -> Result<Vec<u8>, CodecError> {
    let mut e = Encoder {
        out: Vec::with_capacity(64),
    };
    e.value(v, ty, 0)?;
    Ok(e.out)
}

// ---------------------------------------------------------------------------------
// Decoding

struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
}

fn truncated() -> CodecError {
    CodecError::malformed(FORMAT, "unexpected end of input")
}

fn is_ext(marker: u8) -> bool {
    matches!(marker, 0xc7..=0xc9 | 0xd4..=0xd8)
}

/// What a marker introduces, for type-mismatch messages.
fn marker_kind(marker: u8) -> &'static str {
    match marker {
        0x00..=0x7f | 0xcc..=0xd3 | 0xe0..=0xff => "integer",
        0x80..=0x8f | 0xde | 0xdf => "map",
        0x90..=0x9f | 0xdc | 0xdd => "array",
        0xa0..=0xbf | 0xd9..=0xdb => "string",
        0xc0 => "nil",
        0xc2 | 0xc3 => "bool",
        0xc4..=0xc6 => "binary",
        0xca | 0xcb => "float",
        0xc7..=0xc9 | 0xd4..=0xd8 => "extension",
        0xc1 => "reserved marker 0xc1",
    }
}

impl<'a> Decoder<'a> {
    fn peek(&self) -> Result<u8, CodecError> {
        self.buf.get(self.pos).copied().ok_or_else(truncated)
    }

    fn byte(&mut self) -> Result<u8, CodecError> {
        let b = self.peek()?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        let end = self.pos.checked_add(n).ok_or_else(truncated)?;
        let s = self.buf.get(self.pos..end).ok_or_else(truncated)?;
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], CodecError> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn u8(&mut self) -> Result<usize, CodecError> {
        self.byte().map(usize::from)
    }

    fn u16(&mut self) -> Result<usize, CodecError> {
        self.array().map(|a| usize::from(u16::from_be_bytes(a)))
    }

    fn u32(&mut self) -> Result<usize, CodecError> {
        let n = u32::from_be_bytes(self.array()?);
        usize::try_from(n).map_err(|_| truncated())
    }

    fn mismatch(&self, ty: &Type, marker: u8) -> CodecError {
        CodecError::mismatch(type_name(ty), marker_kind(marker))
    }

    /// Capacity to reserve for `n` announced items: every item takes at least one byte,
    /// so a lying length cannot make us allocate more than the input's size.
    fn capacity_for(&self, n: usize) -> usize {
        n.min(self.buf.len() - self.pos)
    }

    fn value(&mut self, ty: &Type, depth: usize) -> Result<Value, CodecError> {
        let marker = self.peek()?;
        if is_ext(marker) {
            self.skip_ext()?;
            return Ok(Value::Unknown);
        }
        if marker == 0xc0 {
            self.pos += 1;
            return Ok(Value::Null);
        }
        match ty {
            Type::String => match self.str_bytes()? {
                Some(bytes) => Ok(Value::String(utf8(bytes)?.to_owned())),
                None => Err(self.mismatch(ty, marker)),
            },
            Type::Number => self.number(ty, marker).map(Value::Number),
            Type::Bool => match marker {
                0xc2 | 0xc3 => {
                    self.pos += 1;
                    Ok(Value::Bool(marker == 0xc3))
                }
                _ => Err(self.mismatch(ty, marker)),
            },
            Type::List(ety) => self.sequence(ty, ety, depth).map(Value::List),
            Type::Set(ety) => self.sequence(ty, ety, depth).map(Value::Set),
            Type::Tuple(etys) => self.tuple(ty, etys, depth),
            Type::Map(ety) => self.map(ty, ety, depth),
            Type::Object(attrs) => self.object(ty, attrs, depth),
            Type::Dynamic => self.dynamic(depth),
        }
    }

    /// Skips an extension (an unknown value); refinements inside are not needed.
    fn skip_ext(&mut self) -> Result<(), CodecError> {
        let len = match self.byte()? {
            0xd4 => 1,
            0xd5 => 2,
            0xd6 => 4,
            0xd7 => 8,
            0xd8 => 16,
            0xc7 => self.u8()?,
            0xc8 => self.u16()?,
            _ => self.u32()?,
        };
        // The extension type byte, then the payload.
        self.take(1 + len).map(|_| ())
    }

    /// The bytes of a str or bin at the cursor (cty accepts both for strings), or
    /// `None` without consuming anything when the next item is neither.
    fn str_bytes(&mut self) -> Result<Option<&'a [u8]>, CodecError> {
        let marker = self.peek()?;
        let len = match marker {
            0xa0..=0xbf => {
                self.pos += 1;
                usize::from(marker & 0x1f)
            }
            0xd9 | 0xc4 => {
                self.pos += 1;
                self.u8()?
            }
            0xda | 0xc5 => {
                self.pos += 1;
                self.u16()?
            }
            0xdb | 0xc6 => {
                self.pos += 1;
                self.u32()?
            }
            _ => return Ok(None),
        };
        self.take(len).map(Some)
    }

    fn number(&mut self, ty: &Type, marker: u8) -> Result<Number, CodecError> {
        let n = match marker {
            0x00..=0x7f => {
                self.pos += 1;
                Number::from(i64::from(marker))
            }
            0xe0..=0xff => {
                self.pos += 1;
                Number::from(i64::from(i8::from_be_bytes([marker])))
            }
            0xca..=0xd3 => {
                self.pos += 1;
                match marker {
                    0xcc => Number::from(u64::from(self.byte()?)),
                    0xcd => Number::from(u64::from(u16::from_be_bytes(self.array()?))),
                    0xce => Number::from(u64::from(u32::from_be_bytes(self.array()?))),
                    0xcf => Number::from(u64::from_be_bytes(self.array()?)),
                    0xd0 => Number::from(i64::from(i8::from_be_bytes(self.array()?))),
                    0xd1 => Number::from(i64::from(i16::from_be_bytes(self.array()?))),
                    0xd2 => Number::from(i64::from(i32::from_be_bytes(self.array()?))),
                    0xd3 => Number::from(i64::from_be_bytes(self.array()?)),
                    // go-cty widens float32 to float64 and keeps that value's digits.
                    0xca => decimal::number_from_f64(f64::from(f32::from_be_bytes(self.array()?)))?,
                    _ => decimal::number_from_f64(f64::from_be_bytes(self.array()?))?,
                }
            }
            _ => match self.str_bytes()? {
                Some(text) => decimal::number_from_text(utf8(text)?)?,
                None => return Err(self.mismatch(ty, marker)),
            },
        };
        Ok(n)
    }

    /// Reads an array header, returning the element count.
    fn array_len(&mut self, ty: &Type) -> Result<usize, CodecError> {
        self.header_len(ty, [0x90, 0xdc, 0xdd])
    }

    /// Reads a map header, returning the entry count.
    fn map_len(&mut self, ty: &Type) -> Result<usize, CodecError> {
        self.header_len(ty, [0x80, 0xde, 0xdf])
    }

    /// Reads a container header in one of its three forms: `fix` (the count in the
    /// marker's low four bits), `len16` or `len32` (the count follows).
    fn header_len(&mut self, ty: &Type, [fix, len16, len32]: [u8; 3]) -> Result<usize, CodecError> {
        let marker = self.peek()?;
        match marker {
            m if m & 0xf0 == fix => {
                self.pos += 1;
                Ok(usize::from(marker & 0x0f))
            }
            m if m == len16 => {
                self.pos += 1;
                self.u16()
            }
            m if m == len32 => {
                self.pos += 1;
                self.u32()
            }
            _ => Err(self.mismatch(ty, marker)),
        }
    }

    /// A map key or attribute name.
    fn key(&mut self) -> Result<&'a str, CodecError> {
        let marker = self.peek()?;
        match self.str_bytes()? {
            Some(bytes) => utf8(bytes),
            None => Err(CodecError::malformed(
                FORMAT,
                format!("map key must be a string, got {}", marker_kind(marker)),
            )),
        }
    }

    fn sequence(&mut self, ty: &Type, ety: &Type, depth: usize) -> Result<Vec<Value>, CodecError> {
        check_depth(depth + 1)?;
        let n = self.array_len(ty)?;
        let mut items = Vec::with_capacity(self.capacity_for(n));
        for i in 0..n {
            items.push(
                self.value(ety, depth + 1)
                    .map_err(|e| e.in_element_of(ty, i))?,
            );
        }
        Ok(items)
    }

    fn tuple(&mut self, ty: &Type, etys: &[Type], depth: usize) -> Result<Value, CodecError> {
        check_depth(depth + 1)?;
        let n = self.array_len(ty)?;
        CodecError::check_tuple_length(etys.len(), n)?;
        let mut items = Vec::with_capacity(n);
        for (i, ety) in etys.iter().enumerate() {
            items.push(self.value(ety, depth + 1).map_err(|e| e.in_index(i))?);
        }
        Ok(Value::Tuple(items))
    }

    fn map(&mut self, ty: &Type, ety: &Type, depth: usize) -> Result<Value, CodecError> {
        check_depth(depth + 1)?;
        let n = self.map_len(ty)?;
        let mut entries = BTreeMap::new();
        for _ in 0..n {
            let key = self.key()?;
            let v = self.value(ety, depth + 1).map_err(|e| e.in_key(key))?;
            entries.insert(key.to_owned(), v);
        }
        Ok(Value::Map(entries))
    }

    fn object(
        &mut self,
        ty: &Type,
        attrs: &BTreeMap<String, Type>,
        depth: usize,
    ) -> Result<Value, CodecError> {
        check_depth(depth + 1)?;
        let n = self.map_len(ty)?;
        if n != attrs.len() {
            return Err(CodecError::AttributeCount {
                path: Default::default(),
                expected: attrs.len(),
                got: n,
            });
        }
        let mut values = BTreeMap::new();
        for _ in 0..n {
            let name = self.key()?;
            let Some((owned_name, aty)) = attrs.get_key_value(name) else {
                return Err(CodecError::UnsupportedAttribute {
                    path: Default::default(),
                    name: name.to_owned(),
                });
            };
            let v = self.value(aty, depth + 1).map_err(|e| e.in_attr(name))?;
            if values.insert(owned_name.clone(), v).is_some() {
                return Err(CodecError::DuplicateAttribute {
                    path: Default::default(),
                    name: name.to_owned(),
                });
            }
        }
        Ok(Value::Object(values))
    }

    /// `[type JSON, value]` (nil and extensions were handled by the caller).
    fn dynamic(&mut self, depth: usize) -> Result<Value, CodecError> {
        check_depth(depth + 1)?;
        let n = self.array_len(&Type::Dynamic)?;
        if n != 2 {
            return Err(CodecError::malformed(
                FORMAT,
                format!("a dynamic value must be a [type, value] array, got {n} elements"),
            ));
        }
        let marker = self.peek()?;
        let Some(type_bytes) = self.str_bytes()? else {
            return Err(CodecError::malformed(
                FORMAT,
                format!(
                    "the type of a dynamic value must be JSON bytes, got {}",
                    marker_kind(marker)
                ),
            ));
        };
        let ty = type_json::decode_nested(type_bytes, depth + 1)?;
        let v = self.value(&ty, depth + 1)?;
        Ok(Value::Dynamic(ty, Box::new(v)))
    }
}

fn utf8(bytes: &[u8]) -> Result<&str, CodecError> {
    std::str::from_utf8(bytes)
        .map_err(|_| CodecError::malformed(FORMAT, "string is not valid UTF-8"))
}

// ---------------------------------------------------------------------------------
// Encoding

struct Encoder {
    out: Vec<u8>,
}

impl Encoder {
    fn value(&mut self, v: &Value, ty: &Type, depth: usize) -> Result<(), CodecError> {
        check_depth(depth)?;
        match (v, ty) {
            (Value::Unknown, _) => self.out.extend_from_slice(&UNKNOWN),
            (Value::Null, _) => self.out.push(0xc0),
            (Value::Dynamic(vty, inner), Type::Dynamic) => self.dynamic(inner, vty, depth)?,
            (Value::Dynamic(vty, inner), _) if vty == ty => self.value(inner, ty, depth)?,
            (_, Type::Dynamic) => {
                let vty = infer_type(v, depth)?;
                self.dynamic(v, &vty, depth)?;
            }
            (Value::String(s), Type::String) => self.str(s.as_bytes())?,
            (Value::Number(n), Type::Number) => self.number(n)?,
            (Value::Bool(b), Type::Bool) => self.out.push(if *b { 0xc3 } else { 0xc2 }),
            (
                Value::List(items) | Value::Set(items) | Value::Tuple(items),
                Type::List(ety) | Type::Set(ety),
            ) => {
                self.array_header(items.len())?;
                for (i, item) in items.iter().enumerate() {
                    self.value(item, ety, depth + 1)
                        .map_err(|e| e.in_element_of(ty, i))?;
                }
            }
            (Value::List(items) | Value::Set(items) | Value::Tuple(items), Type::Tuple(etys)) => {
                CodecError::check_tuple_length(etys.len(), items.len())?;
                self.array_header(items.len())?;
                for (i, (item, ety)) in items.iter().zip(etys).enumerate() {
                    self.value(item, ety, depth + 1)
                        .map_err(|e| e.in_index(i))?;
                }
            }
            (Value::Map(entries) | Value::Object(entries), Type::Map(ety)) => {
                self.map_header(entries.len())?;
                for (k, item) in entries {
                    self.str(k.as_bytes())?;
                    self.value(item, ety, depth + 1).map_err(|e| e.in_key(k))?;
                }
            }
            (Value::Map(entries) | Value::Object(entries), Type::Object(attrs)) => {
                self.object(entries, attrs, depth)?;
            }
            _ => return Err(CodecError::mismatch(type_name(ty), value_kind(v))),
        }
        Ok(())
    }

    fn object(
        &mut self,
        entries: &BTreeMap<String, Value>,
        attrs: &BTreeMap<String, Type>,
        depth: usize,
    ) -> Result<(), CodecError> {
        self.map_header(attrs.len())?;
        let mut present = 0;
        // BTreeMap iterates in byte order of the names, the order go-cty sorts them in.
        for (name, aty) in attrs {
            self.str(name.as_bytes())?;
            let item = match entries.get(name) {
                Some(item) => {
                    present += 1;
                    item
                }
                None => &Value::Null,
            };
            self.value(item, aty, depth + 1)
                .map_err(|e| e.in_attr(name))?;
        }
        if present != entries.len() {
            let extra = entries
                .keys()
                .find(|k| !attrs.contains_key(*k))
                .cloned()
                .unwrap_or_default();
            return Err(CodecError::UnsupportedAttribute {
                path: Default::default(),
                name: extra,
            });
        }
        Ok(())
    }

    fn dynamic(&mut self, v: &Value, vty: &Type, depth: usize) -> Result<(), CodecError> {
        self.array_header(2)?;
        let type_bytes = type_json::encode(vty);
        self.bin(&type_bytes)?;
        self.value(v, vty, depth + 1)
    }

    fn number(&mut self, n: &Number) -> Result<(), CodecError> {
        match decimal::classify(n)? {
            Wire::Int(i) => self.int(i),
            Wire::Uint(u) => self.uint(u),
            Wire::Float(f) => {
                self.tagged(0xcb, &f.to_be_bytes());
            }
            Wire::Text(t) => self.str(t.as_bytes())?,
        }
        Ok(())
    }

    /// A marker byte followed by its payload.
    fn tagged(&mut self, marker: u8, payload: &[u8]) {
        self.out.push(marker);
        self.out.extend_from_slice(payload);
    }

    /// The most compact integer form, as go-cty's encoder (`UseCompactInts`) writes it.
    fn int(&mut self, i: i64) {
        if let Ok(u) = u64::try_from(i) {
            return self.uint(u);
        }
        if i >= -32 {
            self.out.extend_from_slice(&(i as i8).to_be_bytes());
        } else if let Ok(v) = i8::try_from(i) {
            self.tagged(0xd0, &v.to_be_bytes());
        } else if let Ok(v) = i16::try_from(i) {
            self.tagged(0xd1, &v.to_be_bytes());
        } else if let Ok(v) = i32::try_from(i) {
            self.tagged(0xd2, &v.to_be_bytes());
        } else {
            self.tagged(0xd3, &i.to_be_bytes());
        }
    }

    fn uint(&mut self, u: u64) {
        if u < 0x80 {
            self.out.push(u as u8);
        } else if let Ok(v) = u8::try_from(u) {
            self.tagged(0xcc, &[v]);
        } else if let Ok(v) = u16::try_from(u) {
            self.tagged(0xcd, &v.to_be_bytes());
        } else if let Ok(v) = u32::try_from(u) {
            self.tagged(0xce, &v.to_be_bytes());
        } else {
            self.tagged(0xcf, &u.to_be_bytes());
        }
    }

    fn str(&mut self, s: &[u8]) -> Result<(), CodecError> {
        let len = s.len();
        if len < 32 {
            self.out.push(0xa0 | len as u8);
        } else {
            self.sized_header([0xd9, 0xda, 0xdb], len)?;
        }
        self.out.extend_from_slice(s);
        Ok(())
    }

    fn bin(&mut self, b: &[u8]) -> Result<(), CodecError> {
        self.sized_header([0xc4, 0xc5, 0xc6], b.len())?;
        self.out.extend_from_slice(b);
        Ok(())
    }

    fn array_header(&mut self, len: usize) -> Result<(), CodecError> {
        if len < 16 {
            self.out.push(0x90 | len as u8);
            Ok(())
        } else {
            self.sized_header([0, 0xdc, 0xdd], len)
        }
    }

    fn map_header(&mut self, len: usize) -> Result<(), CodecError> {
        if len < 16 {
            self.out.push(0x80 | len as u8);
            Ok(())
        } else {
            self.sized_header([0, 0xde, 0xdf], len)
        }
    }

    /// Writes an 8/16/32-bit length header (`markers[0] == 0` means there is no 8-bit form).
    fn sized_header(&mut self, markers: [u8; 3], len: usize) -> Result<(), CodecError> {
        if markers[0] != 0
            && let Ok(n) = u8::try_from(len)
        {
            self.tagged(markers[0], &[n]);
        } else if let Ok(n) = u16::try_from(len) {
            self.tagged(markers[1], &n.to_be_bytes());
        } else if let Ok(n) = u32::try_from(len) {
            self.tagged(markers[2], &n.to_be_bytes());
        } else {
            return Err(CodecError::too_large());
        }
        Ok(())
    }
}
