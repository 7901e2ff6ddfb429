//! cty values and types as plain Rust data.
//!
//! Terraform speaks cty: every value travelling over tfplugin6 is typed by the schema,
//! may be null, and may be *unknown* (not yet computed). [`Value`] mirrors that model
//! closely enough for the codec in [`super::codec`] to round-trip anything Terraform
//! sends, while staying convenient for resource code to read and build.

use std::collections::BTreeMap;
use std::fmt;

/// A cty type constraint, as used by schemas and by the codec to interpret msgpack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Type {
    String,
    Number,
    Bool,
    /// `"dynamic"`: the concrete type travels with the value.
    Dynamic,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    Object(BTreeMap<String, Type>),
    Tuple(Vec<Type>),
}

impl Type {
    /// `list(elem)`.
    pub fn list(elem: Type) -> Type {
        Type::List(Box::new(elem))
    }
    /// `set(elem)`.
    pub fn set(elem: Type) -> Type {
        Type::Set(Box::new(elem))
    }
    /// `map(elem)`.
    pub fn map(elem: Type) -> Type {
        Type::Map(Box::new(elem))
    }
    /// `object({...})` from `(name, type)` pairs.
    pub fn object<I, S>(attrs: I) -> Type
    where
        I: IntoIterator<Item = (S, Type)>,
        S: Into<String>,
    {
        Type::Object(named(attrs))
    }
}

/// An arbitrary-precision cty number, kept as its canonical decimal text.
///
/// Terraform numbers are big decimals; resource code only ever needs small integers,
/// but the protocol layer must carry any number through unchanged, so the text form is
/// the source of truth and conversions are checked.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Number(String);

impl Number {
    /// Parses a decimal number (`-12`, `3.25`, `1e400`, `123456789012345678901234567890`).
    /// Returns `None` when `text` is not a finite decimal.
    pub fn parse(text: &str) -> Option<Number> {
        let t = text.trim();
        let body = t.strip_prefix(['-', '+']).unwrap_or(t);
        let (mantissa, exponent) = match body.find(['e', 'E']) {
            Some(i) => (&body[..i], Some(&body[i + 1..])),
            None => (body, None),
        };
        let mut parts = mantissa.splitn(2, '.');
        let int_part = parts.next().unwrap_or("");
        let frac_part = parts.next();
        let digits_ok = |s: &str| s.chars().all(|c| c.is_ascii_digit());
        if int_part.is_empty() && frac_part.is_none_or(str::is_empty) {
            return None;
        }
        if !digits_ok(int_part) || !frac_part.is_none_or(digits_ok) {
            return None;
        }
        if let Some(e) = exponent {
            let e = e.strip_prefix(['+', '-']).unwrap_or(e);
            if e.is_empty() || !digits_ok(e) {
                return None;
            }
        }
        Some(Number(canonical(t)))
    }

    /// The canonical decimal text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The value as an `i64`, when it is an integer that fits.
    pub fn as_i64(&self) -> Option<i64> {
        self.0.parse::<i64>().ok()
    }

    /// The value as an `f64` (may round).
    pub fn as_f64(&self) -> Option<f64> {
        self.0.parse::<f64>().ok().filter(|f| f.is_finite())
    }
}

/// Normalises decimal text so that equal numbers written differently compare equal in
/// the common cases (`1.0` vs `1`, `+5` vs `5`, `-0` vs `0`). Exponent forms are kept as
/// written apart from case: Terraform never sends them for values our schemas use.
fn canonical(text: &str) -> String {
    let (neg, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if body.contains(['e', 'E']) {
        let lower = body.to_ascii_lowercase();
        return if neg { format!("-{lower}") } else { lower };
    }
    let (int_part, frac_part) = match body.split_once('.') {
        Some((i, f)) => (i, f.trim_end_matches('0')),
        None => (body, ""),
    };
    let int_part = int_part.trim_start_matches('0');
    let int_part = if int_part.is_empty() { "0" } else { int_part };
    let mut out = String::with_capacity(body.len() + 1);
    let zero = int_part == "0" && frac_part.is_empty();
    if neg && !zero {
        out.push('-');
    }
    out.push_str(int_part);
    if !frac_part.is_empty() {
        out.push('.');
        out.push_str(frac_part);
    }
    out
}

impl From<i64> for Number {
    fn from(v: i64) -> Self {
        Number(v.to_string())
    }
}

impl From<u64> for Number {
    fn from(v: u64) -> Self {
        Number(v.to_string())
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A cty value. Collections keep their elements in the order received; set equality is
/// order-insensitive (see [`Value::semantically_equal`]).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    /// Not known until apply. Refinements (msgpack ext 12) are accepted and dropped.
    Unknown,
    Bool(bool),
    Number(Number),
    String(String),
    List(Vec<Value>),
    Set(Vec<Value>),
    Tuple(Vec<Value>),
    Map(BTreeMap<String, Value>),
    Object(BTreeMap<String, Value>),
    /// A value of a `dynamic` attribute, carrying its concrete type.
    Dynamic(Type, Box<Value>),
}

/// `Debug` of a value's shape without its content: object keys, collection sizes,
/// null/unknown and booleans show; strings and numbers print as `[redacted]`. For
/// types that carry configuration or state, which may hold sensitive attributes
/// (this layer does not know which).
pub struct RedactedValue<'a>(pub &'a Value);

impl std::fmt::Debug for RedactedValue<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Value::Null => f.write_str("Null"),
            Value::Unknown => f.write_str("Unknown"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(_) | Value::String(_) => f.write_str("[redacted]"),
            Value::List(items) | Value::Set(items) | Value::Tuple(items) => f
                .debug_list()
                .entries(items.iter().map(RedactedValue))
                .finish(),
            Value::Map(attrs) | Value::Object(attrs) => f
                .debug_map()
                .entries(attrs.iter().map(|(k, v)| (k, RedactedValue(v))))
                .finish(),
            Value::Dynamic(_, inner) => RedactedValue(inner).fmt(f),
        }
    }
}

impl Value {
    /// A string value.
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    /// `Some(s)` → string, `None` → null.
    pub fn opt_string(s: Option<impl Into<String>>) -> Value {
        s.map_or(Value::Null, |s| Value::String(s.into()))
    }

    /// An integer number.
    pub fn int(i: i64) -> Value {
        Value::Number(Number::from(i))
    }

    /// An object from `(name, value)` pairs.
    pub fn object<I, S>(attrs: I) -> Value
    where
        I: IntoIterator<Item = (S, Value)>,
        S: Into<String>,
    {
        Value::Object(named(attrs))
    }

    /// A set of strings.
    pub fn string_set<I, S>(items: I) -> Value
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Value::Set(items.into_iter().map(|s| Value::String(s.into())).collect())
    }

    /// A list of strings.
    pub fn string_list<I, S>(items: I) -> Value
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Value::List(items.into_iter().map(|s| Value::String(s.into())).collect())
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self, Value::Unknown)
    }

    /// True when this value and everything inside it is known.
    pub fn is_wholly_known(&self) -> bool {
        match self {
            Value::Unknown => false,
            Value::List(v) | Value::Set(v) | Value::Tuple(v) => {
                v.iter().all(Value::is_wholly_known)
            }
            Value::Map(m) | Value::Object(m) => m.values().all(Value::is_wholly_known),
            Value::Dynamic(_, v) => v.is_wholly_known(),
            _ => true,
        }
    }

    /// An attribute of an object (`None` for non-objects and missing names).
    pub fn get(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Object(m) | Value::Map(m) => m.get(name),
            _ => None,
        }
    }

    /// Mutable access to an attribute of an object.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Value> {
        match self {
            Value::Object(m) | Value::Map(m) => m.get_mut(name),
            _ => None,
        }
    }

    /// Sets an attribute of an object; does nothing on non-objects.
    pub fn set(&mut self, name: &str, v: Value) {
        if let Value::Object(m) | Value::Map(m) = self {
            m.insert(name.to_string(), v);
        }
    }

    /// The string inside, if this is a known string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The bool inside, if this is a known bool.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The number inside as i64, if this is a known integer that fits.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    /// Elements of a list, set or tuple.
    pub fn elements(&self) -> Option<&[Value]> {
        match self {
            Value::List(v) | Value::Set(v) | Value::Tuple(v) => Some(v),
            _ => None,
        }
    }

    /// Known string elements of a list or set, in order; unknown or null elements skipped.
    pub fn known_strings(&self) -> Vec<String> {
        self.elements()
            .unwrap_or(&[])
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    }

    /// Equality where sets compare as sets (order and duplicates ignored) at any depth.
    pub fn semantically_equal(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Set(a), Value::Set(b)) => {
                a.iter().all(|x| b.iter().any(|y| x.semantically_equal(y)))
                    && b.iter().all(|y| a.iter().any(|x| x.semantically_equal(y)))
            }
            (Value::List(a), Value::List(b)) | (Value::Tuple(a), Value::Tuple(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.semantically_equal(y))
            }
            (Value::Map(a), Value::Map(b)) | (Value::Object(a), Value::Object(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .all(|(k, x)| b.get(k).is_some_and(|y| x.semantically_equal(y)))
            }
            (Value::Dynamic(ta, a), Value::Dynamic(tb, b)) => ta == tb && a.semantically_equal(b),
            _ => self == other,
        }
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

/// A name-keyed map from `(name, item)` pairs, for the object constructors.
fn named<T, I, S>(pairs: I) -> BTreeMap<String, T>
where
    I: IntoIterator<Item = (S, T)>,
    S: Into<String>,
{
    pairs.into_iter().map(|(k, v)| (k.into(), v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_parse_and_canonical_form() {
        assert_eq!(Number::parse("1.50").unwrap().as_str(), "1.5");
        assert_eq!(Number::parse("007").unwrap().as_str(), "7");
        assert_eq!(Number::parse("-0").unwrap().as_str(), "0");
        assert_eq!(Number::parse("+5").unwrap().as_str(), "5");
        assert_eq!(Number::parse("1E3").unwrap().as_str(), "1e3");
        let big = "123456789012345678901234567890";
        assert_eq!(Number::parse(big).unwrap().as_str(), big);
        assert_eq!(Number::parse(big).unwrap().as_i64(), None);
        for bad in ["", "-", ".", "1.2.3", "abc", "1e", "NaN", "inf"] {
            assert!(Number::parse(bad).is_none(), "{bad:?} must not parse");
        }
    }

    #[test]
    fn sets_compare_without_order() {
        let a = Value::string_set(["a", "b"]);
        let b = Value::string_set(["b", "a"]);
        assert!(a.semantically_equal(&b));
        assert_ne!(a, b);
        assert!(!a.semantically_equal(&Value::string_set(["a"])));
        assert!(
            !Value::string_list(["a", "b"]).semantically_equal(&Value::string_list(["b", "a"]))
        );
    }

    #[test]
    fn wholly_known_looks_inside() {
        let v = Value::object([("a", Value::List(vec![Value::Unknown]))]);
        assert!(!v.is_wholly_known());
        assert!(Value::object([("a", Value::Null)]).is_wholly_known());
    }
}
