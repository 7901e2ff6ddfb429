//! Types the fuzz targets decode against: the first input byte picks one, so the
//! fuzzer explores primitives, collections, dynamic values and a provider-shaped object.

use cfaccess::tfplugin::codec::msgpack;
use cfaccess::tfplugin::{Type, Value};

/// The type the first byte of `data` picks, and the bytes after it (`None` when empty).
pub fn split_input(data: &[u8]) -> Option<(Type, &[u8])> {
    let (&selector, bytes) = data.split_first()?;
    Some((pick_type(selector), bytes))
}

/// A decoded value must encode as msgpack and decode to itself.
pub fn assert_msgpack_round_trip(v: &Value, ty: &Type) {
    let packed = msgpack::encode(v, ty).expect("a decoded value encodes as msgpack");
    assert_eq!(&msgpack::decode(&packed, ty).expect("re-decodes"), v);
}

/// The type selected by `selector`.
pub fn pick_type(selector: u8) -> Type {
    let types = [
        Type::String,
        Type::Number,
        Type::Bool,
        Type::Dynamic,
        Type::list(Type::String),
        Type::set(Type::Number),
        Type::map(Type::Dynamic),
        Type::Tuple(vec![Type::String, Type::Bool, Type::Number]),
        provider_like(),
        Type::list(provider_like()),
    ];
    types[usize::from(selector) % types.len()].clone()
}

/// Shaped like a resource schema: nested objects, sets, lists of objects, a dynamic.
fn provider_like() -> Type {
    Type::object([
        ("id", Type::String),
        ("name", Type::String),
        ("tags", Type::set(Type::String)),
        (
            "saas",
            Type::object([
                ("grant_types", Type::list(Type::String)),
                ("scopes", Type::set(Type::String)),
                ("lifetime", Type::Number),
            ]),
        ),
        (
            "policies",
            Type::list(Type::object([
                ("id", Type::String),
                ("precedence", Type::Number),
            ])),
        ),
        ("meta", Type::Dynamic),
        ("labels", Type::map(Type::object([("on", Type::Bool)]))),
    ])
}
