//! tfplugin6 `DynamicValue { bytes msgpack = 1; bytes json = 2; }`.
//!
//! Terraform always sends msgpack; JSON appears only in some paths (and in what other
//! tools send), so decoding follows Terraform's own client rule: msgpack if present,
//! else JSON if present, else null. Responses should always be msgpack, because
//! Terraform does not consistently accept JSON responses.

use super::error::CodecError;
use super::{json, msgpack};
use crate::tfplugin::value::{Type, Value};

/// Decodes a `DynamicValue` of type `ty` from its two byte fields: `msgpack` when
/// non-empty, otherwise `json` when non-empty, otherwise [`Value::Null`].
pub fn decode(msgpack: &[u8], json: &[u8], ty: &Type) -> Result<Value, CodecError> {
    if !msgpack.is_empty() {
        msgpack::decode(msgpack, ty)
    } else if !json.is_empty() {
        json::decode(json, ty)
    } else {
        Ok(Value::Null)
    }
}

/// The bytes for the `msgpack` field of a `DynamicValue` response (the `json` field
/// stays empty); the same as [`msgpack::encode`].
pub fn encode(v: &Value, ty: &Type) -> Result<Vec<u8>, CodecError> {
    msgpack::encode(v, ty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msgpack_wins_then_json_then_null() {
        let ty = Type::String;
        // msgpack "a" and JSON "b": msgpack is used.
        assert_eq!(
            decode(&[0xa1, b'a'], b"\"b\"", &ty).unwrap(),
            Value::string("a")
        );
        assert_eq!(decode(&[], b"\"b\"", &ty).unwrap(), Value::string("b"));
        assert_eq!(decode(&[], &[], &ty).unwrap(), Value::Null);
        // A broken msgpack field is an error, not a reason to fall back to JSON.
        assert!(decode(&[0xa5], b"\"b\"", &ty).is_err());
        assert_eq!(encode(&Value::string("a"), &ty).unwrap(), vec![0xa1, b'a']);
    }
}
