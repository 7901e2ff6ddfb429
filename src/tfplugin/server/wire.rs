//! Wire values to framework values and back, with failures as diagnostics.

use crate::tfplugin::codec::dynamic_value;
use crate::tfplugin::diag::Diagnostics;
use crate::tfplugin::diag_proto::codec_error;
use crate::tfplugin::plan;
use crate::tfplugin::proto::tfplugin6 as pb;
use crate::tfplugin::schema::Schema;
use crate::tfplugin::value::{Type, Value};

/// Decodes an optional `DynamicValue` (absent = null); on failure adds a diagnostic
/// and returns `None`.
pub(super) fn decode(
    dv: Option<&pb::DynamicValue>,
    ty: &Type,
    what: &str,
    diags: &mut Diagnostics,
) -> Option<Value> {
    let Some(dv) = dv else {
        return Some(Value::Null);
    };
    match dynamic_value::decode(&dv.msgpack, &dv.json, ty) {
        Ok(v) => Some(v),
        Err(e) => {
            diags.0.push(codec_error(what, &e));
            None
        }
    }
}

/// Encodes a value as msgpack; on failure adds a diagnostic and returns `None`.
pub(super) fn encode(
    v: &Value,
    ty: &Type,
    what: &str,
    diags: &mut Diagnostics,
) -> Option<pb::DynamicValue> {
    match dynamic_value::encode(v, ty) {
        Ok(msgpack) => Some(pb::DynamicValue {
            msgpack,
            json: Vec::new(),
        }),
        Err(e) => {
            diags.0.push(codec_error(what, &e));
            None
        }
    }
}

/// Handlers may return objects with only the attributes they know; the msgpack object
/// encoding needs every attribute, so the rest become null.
pub(super) fn complete(schema: &Schema, v: Value) -> Value {
    if matches!(v, Value::Object(_)) {
        plan::fill_nulls(schema, &v)
    } else {
        v
    }
}

/// `returned` unless it is empty, in which case the input private state is kept:
/// Terraform stores whatever comes back, so an empty answer would wipe it.
pub(super) fn keep_private(returned: Vec<u8>, input: Vec<u8>) -> Vec<u8> {
    if returned.is_empty() { input } else { returned }
}

/// A msgpack null, for responses that must carry a (null) value.
pub(super) fn null_value() -> pb::DynamicValue {
    pb::DynamicValue {
        msgpack: vec![0xc0],
        json: Vec::new(),
    }
}
