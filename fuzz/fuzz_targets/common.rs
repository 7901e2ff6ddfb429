//! Types the fuzz targets decode against: the first input byte picks one, so the
//! fuzzer explores primitives, collections, dynamic values and a provider-shaped object.

use cfaccess::tfplugin::Type;

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
