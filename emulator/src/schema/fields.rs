//! Type checks for individual JSON fields of request bodies.

use serde_json::{Map, Value};

use crate::duration::parse_go_duration;
use crate::envelope::ApiError;

/// The JSON type a settable field must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Bool,
    Str,
    StrArray,
    Object,
    Array,
    /// A Go duration string such as `24h`.
    Duration,
}

/// Checks `value` against `kind`, naming `path` in the error.
pub(crate) fn check(path: &str, value: &Value, kind: Kind) -> Result<(), ApiError> {
    let ok = match kind {
        Kind::Bool => value.is_boolean(),
        Kind::Str => value.is_string(),
        Kind::StrArray => value
            .as_array()
            .is_some_and(|a| a.iter().all(Value::is_string)),
        Kind::Object => value.is_object(),
        Kind::Array => value.is_array(),
        Kind::Duration => {
            return match value.as_str() {
                Some(s) if parse_go_duration(s).is_some() => Ok(()),
                Some(s) => Err(ApiError::invalid(format!(
                    "{path}: '{s}' is not a valid duration (use units such as 30m or 24h)"
                ))),
                None => Err(ApiError::invalid(format!(
                    "{path}: must be a duration string"
                ))),
            };
        }
    };
    if ok {
        Ok(())
    } else {
        let expected = match kind {
            Kind::Bool => "a boolean",
            Kind::Str => "a string",
            Kind::StrArray => "an array of strings",
            Kind::Object => "an object",
            Kind::Array => "an array",
            Kind::Duration => "a duration string",
        };
        Err(ApiError::invalid(format!("{path}: must be {expected}")))
    }
}

/// Copies every known, non-null key of `src` into `dst` after checking its type;
/// unknown keys are ignored (the emulator's choice for top-level keys, §11 #21).
pub(crate) fn copy_known(
    src: &Map<String, Value>,
    known: &[(&str, Kind)],
    dst: &mut Map<String, Value>,
) -> Result<(), ApiError> {
    for (key, kind) in known {
        if let Some(value) = src.get(*key) {
            if value.is_null() {
                continue;
            }
            check(key, value, *kind)?;
            dst.insert((*key).to_string(), value.clone());
        }
    }
    Ok(())
}

/// Sets `key` to `value` unless present.
pub(crate) fn default(dst: &mut Map<String, Value>, key: &str, value: Value) {
    dst.entry(key.to_string()).or_insert(value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn checks_kinds() {
        assert!(check("a", &json!(true), Kind::Bool).is_ok());
        assert!(check("a", &json!("x"), Kind::Bool).is_err());
        assert!(check("a", &json!(["x", "y"]), Kind::StrArray).is_ok());
        assert!(check("a", &json!(["x", 1]), Kind::StrArray).is_err());
        assert!(check("a", &json!("24h"), Kind::Duration).is_ok());
        let err = check("session_duration", &json!("1 day"), Kind::Duration).unwrap_err();
        assert!(err.message.contains("session_duration"));
    }

    #[test]
    fn copy_known_ignores_unknown_and_null() {
        let src = json!({"name": "x", "bogus": 1, "tags": null});
        let mut dst = Map::new();
        copy_known(
            src.as_object().unwrap(),
            &[("name", Kind::Str), ("tags", Kind::StrArray)],
            &mut dst,
        )
        .unwrap();
        assert_eq!(Value::Object(dst), json!({"name": "x"}));
    }
}
