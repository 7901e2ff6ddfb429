//! Behaviour of the codec as Terraform sees it: wire bytes from the protocol notes and
//! go-cty, strictness of msgpack objects, leniency of JSON, and error paths.

use super::*;
use crate::tfplugin::diag::AttributePath;
use crate::tfplugin::value::Number;

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn unhex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

fn num(s: &str) -> Value {
    Value::Number(Number::parse(s).unwrap())
}

fn id_name() -> Type {
    Type::object([("id", Type::String), ("name", Type::String)])
}

#[test]
fn spec_example_object_with_unknown_id() {
    let v = Value::object([("id", Value::Unknown), ("name", Value::string("x"))]);
    let bytes = msgpack::encode(&v, &id_name()).unwrap();
    assert_eq!(hex(&bytes), "82 a2 69 64 d4 00 00 a4 6e 61 6d 65 a1 78");
    assert_eq!(msgpack::decode(&bytes, &id_name()).unwrap(), v);
}

#[test]
fn every_extension_decodes_as_unknown() {
    // Refined unknown (ext 12) as Terraform >= 1.6 sends it: not null, prefix "ab".
    let refined = unhex("c7 07 0c 82 01 c2 02 a2 61 62");
    assert_eq!(
        msgpack::decode(&refined, &Type::String).unwrap(),
        Value::Unknown
    );
    for ext in [
        "d4 00 00",
        "d4 05 07",
        "d5 0c 81 01",
        "d6 01 00 00 00 00",
        "d7 00 00 00 00 00 00 00 00 00",
        "d8 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
        "c7 00 00",
        "c8 00 01 0c c0",
        "c9 00 00 00 00 0c",
    ] {
        for ty in [
            Type::Number,
            Type::Dynamic,
            Type::list(Type::Bool),
            id_name(),
        ] {
            assert_eq!(
                msgpack::decode(&unhex(ext), &ty).unwrap(),
                Value::Unknown,
                "{ext} as {ty:?}"
            );
        }
    }
    // Inside a known object, next to other attributes, with a refinement payload.
    let obj = unhex("82 a2 69 64 c7 03 0c 81 01 c2 a4 6e 61 6d 65 a1 78");
    assert_eq!(
        msgpack::decode(&obj, &id_name()).unwrap(),
        Value::object([("id", Value::Unknown), ("name", Value::string("x"))])
    );
    // A truncated extension is malformed, not unknown.
    assert!(msgpack::decode(&unhex("c7 05 0c 81"), &Type::String).is_err());
}

#[test]
fn known_set_with_unknown_element_differs_from_unknown_set() {
    let ty = Type::set(Type::String);
    let partly = Value::Set(vec![Value::string("a"), Value::Unknown]);
    let bytes = msgpack::encode(&partly, &ty).unwrap();
    assert_eq!(hex(&bytes), "92 a1 61 d4 00 00");
    let back = msgpack::decode(&bytes, &ty).unwrap();
    assert_eq!(back, partly);
    assert!(!back.is_unknown());
    assert!(!back.is_wholly_known());

    let whole = msgpack::decode(&unhex("d4 00 00"), &ty).unwrap();
    assert!(whole.is_unknown());
    assert_ne!(whole, back);
    assert_eq!(msgpack::decode(&[0xc0], &ty).unwrap(), Value::Null);
    assert_eq!(msgpack::decode(&[0x90], &ty).unwrap(), Value::Set(vec![]));
}

#[test]
fn numbers_keep_full_precision() {
    let ty = Type::Number;
    let big = "123456789012345678901234567890";
    let bytes = msgpack::encode(&num(big), &ty).unwrap();
    // Too big for any msgpack integer: travels as its decimal text, like go-cty.
    assert_eq!(bytes[0], 0xa0 | 30);
    assert_eq!(&bytes[1..], big.as_bytes());
    assert_eq!(msgpack::decode(&bytes, &ty).unwrap(), num(big));

    // 0.1 round-trips through float64 with the same shortest digits.
    let bytes = msgpack::encode(&num("0.1"), &ty).unwrap();
    assert_eq!(bytes[0], 0xcb);
    assert_eq!(f64::from_be_bytes(bytes[1..9].try_into().unwrap()), 0.1);
    assert_eq!(msgpack::decode(&bytes, &ty).unwrap(), num("0.1"));

    // A string that is far beyond f64 range, in the form go-cty writes it.
    let mut huge = vec![0xda, 0x01, 0x91];
    huge.extend_from_slice(format!("1{}", "0".repeat(400)).as_bytes());
    let v = msgpack::decode(&huge, &ty).unwrap();
    let Value::Number(n) = &v else {
        panic!("{v:?}")
    };
    assert_eq!(n.as_str().len(), 401);
    assert_eq!(msgpack::encode(&v, &ty).unwrap(), huge);
    // The exponent spelling of the same number decodes to the same value.
    let mut short = vec![0xa5];
    short.extend_from_slice(b"1e400");
    assert_eq!(msgpack::decode(&short, &ty).unwrap(), v);
    // Values built from exponent text are written canonically.
    assert_eq!(msgpack::encode(&num("1e400"), &ty).unwrap(), huge);

    // Every integer width go-cty may send.
    for (wire, want) in [
        ("7f", "127"),
        ("ff", "-1"),
        ("e0", "-32"),
        ("cc ff", "255"),
        ("cd 01 00", "256"),
        ("ce 00 01 00 00", "65536"),
        ("cf ff ff ff ff ff ff ff ff", "18446744073709551615"),
        ("d0 80", "-128"),
        ("d1 80 00", "-32768"),
        ("d2 80 00 00 00", "-2147483648"),
        ("d3 80 00 00 00 00 00 00 00", "-9223372036854775808"),
        ("ca 3f c0 00 00", "1.5"),
        ("cb 3f b9 99 99 99 99 99 9a", "0.1"),
        ("a4 2e 32 35 30", "0.25"),
    ] {
        assert_eq!(
            msgpack::decode(&unhex(wire), &ty).unwrap(),
            num(want),
            "{wire}"
        );
    }
    for (value, wire) in [
        ("0", "00"),
        ("127", "7f"),
        ("128", "cc 80"),
        ("-1", "ff"),
        ("-32", "e0"),
        ("-33", "d0 df"),
        ("-129", "d1 ff 7f"),
        ("65535", "cd ff ff"),
        ("4294967296", "cf 00 00 00 01 00 00 00 00"),
        ("-9223372036854775808", "d3 80 00 00 00 00 00 00 00"),
        ("18446744073709551615", "cf ff ff ff ff ff ff ff ff"),
        ("1e3", "cd 03 e8"),
    ] {
        assert_eq!(
            hex(&msgpack::encode(&num(value), &ty).unwrap()),
            wire,
            "{value}"
        );
    }
    // Infinity and NaN cannot be carried by Number.
    assert!(msgpack::decode(&unhex("cb 7f f0 00 00 00 00 00 00"), &ty).is_err());
    assert!(msgpack::decode(&unhex("cb 7f f8 00 00 00 00 00 01"), &ty).is_err());
    assert!(msgpack::decode(&unhex("a3 61 62 63"), &ty).is_err());

    // JSON carries the exact text both ways.
    let json = format!("[{big},0.1,-1.5e-3,1e400]");
    let v = json::decode(json.as_bytes(), &Type::list(Type::Number)).unwrap();
    assert_eq!(
        v,
        Value::List(vec![num(big), num("0.1"), num("-0.0015"), num("1e400")]).normalized_for_test()
    );
    let out = String::from_utf8(json::encode(&v, &Type::list(Type::Number)).unwrap()).unwrap();
    assert_eq!(out, format!("[{big},0.1,-0.0015,1{}]", "0".repeat(400)));
}

/// Test helper: numbers in the codec's canonical spelling.
trait Normalized {
    fn normalized_for_test(self) -> Value;
}

impl Normalized for Value {
    fn normalized_for_test(self) -> Value {
        match self {
            Value::Number(n) => Value::Number(decimal::number_from_text(n.as_str()).unwrap()),
            Value::List(v) => Value::List(v.into_iter().map(|e| e.normalized_for_test()).collect()),
            other => other,
        }
    }
}

#[test]
fn msgpack_objects_need_exactly_their_attributes() {
    let ty = Type::object([("inner", id_name()), ("n", Type::Number)]);
    // inner is missing "name".
    let missing = unhex("82 a5 69 6e 6e 65 72 81 a2 69 64 a1 61 a1 6e 01");
    let e = msgpack::decode(&missing, &ty).unwrap_err();
    assert_eq!(
        e.to_string(),
        "at .inner: an object with 2 attributes is required (1 given)"
    );
    assert_eq!(e.path(), &AttributePath::root("inner"));

    // inner has an extra "zzz" instead of "name".
    let extra = unhex("82 a5 69 6e 6e 65 72 82 a2 69 64 a1 61 a3 7a 7a 7a a1 62 a1 6e 01");
    let e = msgpack::decode(&extra, &ty).unwrap_err();
    assert_eq!(e.to_string(), "at .inner: unsupported attribute \"zzz\"");

    // The same attribute twice.
    let dup = unhex("82 a5 69 6e 6e 65 72 82 a2 69 64 a1 61 a2 69 64 a1 62 a1 6e 01");
    let e = msgpack::decode(&dup, &ty).unwrap_err();
    assert!(matches!(e, CodecError::DuplicateAttribute { .. }), "{e}");

    // And the encoder always writes every attribute, nulls included, sorted by name.
    let v = Value::object([("n", Value::int(1))]);
    let bytes = msgpack::encode(&v, &ty).unwrap();
    assert_eq!(hex(&bytes), "82 a5 69 6e 6e 65 72 c0 a1 6e 01");
    assert_eq!(
        msgpack::decode(&bytes, &ty).unwrap(),
        Value::object([("inner", Value::Null), ("n", Value::int(1))])
    );
    let typo = Value::object([("nn", Value::int(1))]);
    let e = msgpack::encode(&typo, &ty).unwrap_err();
    assert_eq!(e.to_string(), "unsupported attribute \"nn\"");
}

#[test]
fn json_objects_tolerate_missing_and_extra_attributes() {
    let ty = Type::object([("inner", id_name()), ("n", Type::Number)]);
    let v = json::decode(
        br#"{"inner":{"id":"a","gone":{"deep":[1,{"x":null}]}},"old_attr":true}"#,
        &ty,
    )
    .unwrap();
    assert_eq!(
        v,
        Value::object([
            (
                "inner",
                Value::object([("id", Value::string("a")), ("name", Value::Null)])
            ),
            ("n", Value::Null),
        ])
    );
    // The result is complete, so it encodes to msgpack as Terraform requires.
    let bytes = msgpack::encode(&v, &ty).unwrap();
    assert_eq!(msgpack::decode(&bytes, &ty).unwrap(), v);
    assert_eq!(
        String::from_utf8(json::encode(&v, &ty).unwrap()).unwrap(),
        r#"{"inner":{"id":"a","name":null},"n":null}"#
    );
}

#[test]
fn json_converts_primitives_like_cty() {
    let ty = Type::object([
        ("b", Type::Bool),
        ("n", Type::Number),
        ("s", Type::String),
        ("t", Type::String),
    ]);
    let v = json::decode(br#"{"b":"true","n":"12.50","s":42.0,"t":false}"#, &ty).unwrap();
    assert_eq!(
        v,
        Value::object([
            ("b", Value::Bool(true)),
            ("n", num("12.5")),
            ("s", Value::string("42.0")),
            ("t", Value::string("false")),
        ])
    );
    let e = json::decode(br#"{"b":"yes"}"#, &ty).unwrap_err();
    assert!(e.to_string().starts_with("at .b: expected bool"), "{e}");
    let e = json::decode(br#"{"n":"twelve"}"#, &ty).unwrap_err();
    assert!(e.to_string().starts_with("at .n: expected number"), "{e}");
}

/// `e` is the error for an integer at `saas.grant_types[2]`, where a string belongs:
/// its message and its path both name the place.
pub(super) fn assert_third_grant_type_is_not_a_string(e: &CodecError) {
    assert_eq!(
        e.to_string(),
        "at .saas.grant_types[2]: expected string, got integer"
    );
    assert_eq!(
        e.path(),
        &AttributePath::root("saas").attr("grant_types").index(2)
    );
}

#[test]
fn errors_carry_attribute_paths() {
    let ty = Type::object([(
        "saas",
        Type::object([
            ("grant_types", Type::list(Type::String)),
            ("tags", Type::map(Type::Bool)),
        ]),
    )]);
    // grant_types = ["a", "b", 5]
    let bytes = unhex(
        "81 a4 73 61 61 73 82 ab 67 72 61 6e 74 5f 74 79 70 65 73 93 a1 61 a1 62 05 a4 74 61 67 73 80",
    );
    let e = msgpack::decode(&bytes, &ty).unwrap_err();
    assert_third_grant_type_is_not_a_string(&e);

    let e = json::decode(br#"{"saas":{"tags":{"env":"nope"}}}"#, &ty).unwrap_err();
    assert_eq!(
        e.to_string(),
        "at .saas.tags[\"env\"]: expected bool, got a string other than \"true\" or \"false\""
    );

    let v = Value::object([(
        "saas",
        Value::object([(
            "grant_types",
            Value::List(vec![Value::string("a"), Value::int(3)]),
        )]),
    )]);
    let e = msgpack::encode(&v, &ty).unwrap_err();
    assert_eq!(
        e.to_string(),
        "at .saas.grant_types[1]: expected string, got number"
    );
    let e = json::encode(
        &Value::object([(
            "saas",
            Value::object([("grant_types", Value::List(vec![Value::Unknown]))]),
        )]),
        &ty,
    )
    .unwrap_err();
    assert!(matches!(e, CodecError::UnknownInJson { .. }));
    assert_eq!(
        e.to_string(),
        "at .saas.grant_types[0]: value is not known yet, and JSON cannot carry unknown values"
    );
}

#[test]
fn dynamic_values_carry_their_type() {
    let ty = Type::object([("d", Type::Dynamic)]);
    let v = Value::object([(
        "d",
        Value::Dynamic(
            Type::list(Type::String),
            Box::new(Value::string_list(["x"])),
        ),
    )]);
    let bytes = msgpack::encode(&v, &ty).unwrap();
    // {"d": [bin("[\"list\",\"string\"]"), ["x"]]}
    let mut want = unhex("81 a1 64 92 c4 11");
    want.extend_from_slice(br#"["list","string"]"#);
    want.extend_from_slice(&unhex("91 a1 78"));
    assert_eq!(hex(&bytes), hex(&want));
    assert_eq!(msgpack::decode(&bytes, &ty).unwrap(), v);
    // Terraform may send the type as str rather than bin.
    let mut as_str = unhex("81 a1 64 92 b1");
    as_str.extend_from_slice(br#"["list","string"]"#);
    as_str.extend_from_slice(&unhex("91 a1 78"));
    assert_eq!(msgpack::decode(&as_str, &ty).unwrap(), v);

    // Wholly unknown and null dynamic values are the plain ext / nil.
    let unknown = Value::object([("d", Value::Unknown)]);
    assert_eq!(
        hex(&msgpack::encode(&unknown, &ty).unwrap()),
        "81 a1 64 d4 00 00"
    );
    assert_eq!(
        msgpack::decode(&unhex("81 a1 64 d4 00 00"), &ty).unwrap(),
        unknown
    );
    assert_eq!(
        msgpack::decode(&unhex("81 a1 64 c0"), &ty).unwrap(),
        Value::object([("d", Value::Null)])
    );
    // An unknown of known type keeps its type.
    let typed_unknown = Value::Dynamic(Type::String, Box::new(Value::Unknown));
    let bytes = msgpack::encode(&typed_unknown, &Type::Dynamic).unwrap();
    assert_eq!(
        msgpack::decode(&bytes, &Type::Dynamic).unwrap(),
        typed_unknown
    );

    // Unwrapped values get their type inferred.
    let bytes = msgpack::encode(&Value::string("x"), &Type::Dynamic).unwrap();
    assert_eq!(
        msgpack::decode(&bytes, &Type::Dynamic).unwrap(),
        Value::Dynamic(Type::String, Box::new(Value::string("x")))
    );

    // JSON: {"value":…,"type":…} in either order.
    let json_out = json::encode(&v, &ty).unwrap();
    assert_eq!(
        String::from_utf8(json_out.clone()).unwrap(),
        r#"{"d":{"value":["x"],"type":["list","string"]}}"#
    );
    assert_eq!(json::decode(&json_out, &ty).unwrap(), v);
    let reordered = br#"{"d":{"type":["list","string"],"value":["x"]}}"#;
    assert_eq!(json::decode(reordered, &ty).unwrap(), v);
    assert!(json::decode(br#"{"d":{"value":["x"]}}"#, &ty).is_err());
    assert!(json::decode(br#"{"d":{"type":"string","value":"x","z":1}}"#, &ty).is_err());
    assert!(json::decode(br#"{"d":{"type":"number","value":"x"}}"#, &ty).is_err());

    // Malformed dynamic wrappers.
    assert!(msgpack::decode(&unhex("91 a8 22 73 74 72 69 6e 67 22"), &Type::Dynamic).is_err());
    assert!(msgpack::decode(&unhex("92 01 a1 78"), &Type::Dynamic).is_err());
    assert!(msgpack::decode(&unhex("92 a3 22 78 22 a1 78"), &Type::Dynamic).is_err());
}

#[test]
fn collections_and_tuples() {
    let ty = Type::object([
        ("l", Type::list(Type::Number)),
        ("m", Type::map(Type::String)),
        ("t", Type::Tuple(vec![Type::String, Type::Bool])),
    ]);
    let v = Value::object([
        (
            "l",
            Value::List(vec![Value::int(1), Value::Null, Value::Unknown]),
        ),
        (
            "m",
            Value::Map(
                [
                    ("a".to_string(), Value::string("x")),
                    ("b".to_string(), Value::Unknown),
                ]
                .into(),
            ),
        ),
        (
            "t",
            Value::Tuple(vec![Value::string("s"), Value::Bool(false)]),
        ),
    ]);
    let bytes = msgpack::encode(&v, &ty).unwrap();
    assert_eq!(msgpack::decode(&bytes, &ty).unwrap(), v);

    let e = msgpack::decode(
        &unhex("91 a1 73"),
        &Type::Tuple(vec![Type::String, Type::Bool]),
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "a tuple of 2 elements is required (1 given)");
    let e = json::decode(
        br#"["s",true,1]"#,
        &Type::Tuple(vec![Type::String, Type::Bool]),
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "a tuple of 2 elements is required (3 given)");
    assert!(msgpack::decode(&unhex("81 01 a1 78"), &Type::map(Type::String)).is_err());

    // Large collections use the 16- and 32-bit headers.
    let many: Vec<Value> = (0..70_000).map(Value::int).collect();
    let lty = Type::list(Type::Number);
    let bytes = msgpack::encode(&Value::List(many.clone()), &lty).unwrap();
    assert_eq!(bytes[0], 0xdd);
    assert_eq!(msgpack::decode(&bytes, &lty).unwrap(), Value::List(many));
    let long = "é".repeat(40_000);
    let bytes = msgpack::encode(&Value::string(long.clone()), &Type::String).unwrap();
    assert_eq!(bytes[0], 0xdb);
    assert_eq!(
        msgpack::decode(&bytes, &Type::String).unwrap(),
        Value::string(long)
    );
}

#[test]
fn malformed_input_is_an_error_not_a_panic() {
    let ty = id_name();
    for bytes in [
        &[][..],
        &[0x82],
        &[0xc1],
        &[0x82, 0xa2, b'i'],
        &[0xdf, 0xff, 0xff, 0xff, 0xff],
        &[0xdd, 0xff, 0xff, 0xff, 0xff],
    ] {
        assert!(msgpack::decode(bytes, &ty).is_err(), "{bytes:?}");
    }
    // Trailing bytes after a complete value.
    assert!(msgpack::decode(&[0xc0, 0xc0], &ty).is_err());
    assert!(json::decode(b"null x", &ty).is_err());
    assert!(json::decode(b"", &ty).is_err());
    // Invalid UTF-8 in a string.
    assert!(msgpack::decode(&[0xa1, 0xff], &Type::String).is_err());
    // Wrong kinds.
    let e = msgpack::decode(&[0xc3], &ty).unwrap_err();
    assert_eq!(e.to_string(), "expected object, got bool");
}

#[test]
fn hostile_nesting_is_refused() {
    // A list nested far deeper than MAX_DEPTH, written as type JSON inside a dynamic value.
    let depth = MAX_DEPTH * 4;
    let type_json = "[\"list\",".repeat(depth) + "\"string\"" + &"]".repeat(depth);
    let mut bytes = vec![0x92, 0xc5];
    bytes.extend_from_slice(&u16::try_from(type_json.len()).unwrap().to_be_bytes());
    bytes.extend_from_slice(type_json.as_bytes());
    bytes.push(0xc0);
    let e = msgpack::decode(&bytes, &Type::Dynamic).unwrap_err();
    assert!(matches!(e, CodecError::TooDeep { .. }), "{e}");

    // Dynamic values nested inside dynamic values count against the same limit.
    let mut nested = Vec::new();
    for _ in 0..depth {
        nested.extend_from_slice(&unhex("92 a9"));
        nested.extend_from_slice(b"\"dynamic\"");
    }
    nested.push(0xc0);
    let e = msgpack::decode(&nested, &Type::Dynamic).unwrap_err();
    assert!(matches!(e, CodecError::TooDeep { .. }), "{e}");

    let mut json_nested = String::new();
    for _ in 0..depth {
        json_nested.push_str(r#"{"type":"dynamic","value":"#);
    }
    json_nested.push_str("null");
    json_nested.push_str(&"}".repeat(depth));
    let e = json::decode(json_nested.as_bytes(), &Type::Dynamic).unwrap_err();
    assert!(matches!(e, CodecError::TooDeep { .. }), "{e}");
}

#[test]
fn json_strings_escape_and_unescape() {
    let s = "quote\" back\\ nl\n tab\t ctl\u{1} é 😀";
    let out = json::encode(&Value::string(s), &Type::String).unwrap();
    assert_eq!(
        String::from_utf8(out.clone()).unwrap(),
        "\"quote\\\" back\\\\ nl\\n tab\\t ctl\\u0001 é 😀\""
    );
    assert_eq!(json::decode(&out, &Type::String).unwrap(), Value::string(s));
}

#[test]
fn infers_types_of_unwrapped_dynamic_values() {
    let v = Value::object([
        ("a", Value::string_list(["x", "y"])),
        ("b", Value::Null),
        ("c", Value::Tuple(vec![Value::int(1), Value::Bool(true)])),
    ]);
    assert_eq!(
        infer_type(&v, 0).unwrap(),
        Type::object([
            ("a", Type::list(Type::String)),
            ("b", Type::Dynamic),
            ("c", Type::Tuple(vec![Type::Number, Type::Bool])),
        ])
    );
    let mixed = Value::List(vec![Value::int(1), Value::string("x")]);
    assert!(matches!(
        infer_type(&mixed, 0),
        Err(CodecError::UninferableDynamic { .. })
    ));
}

#[test]
fn errors_inside_sets_point_at_the_set() {
    let ty = Type::object([("uids", Type::set(Type::String))]);
    // uids = ["a", 7]
    let bytes = unhex("81 a4 75 69 64 73 92 a1 61 07");
    let e = msgpack::decode(&bytes, &ty).unwrap_err();
    assert_eq!(e.to_string(), "at .uids: expected string, got integer");
    assert_eq!(e.path(), &AttributePath::root("uids"));
    let e = json::decode(br#"{"uids":["a",[]]}"#, &ty).unwrap_err();
    assert_eq!(e.to_string(), "at .uids: expected string, got array");
    let v = Value::object([("uids", Value::Set(vec![Value::Bool(true)]))]);
    assert_eq!(
        msgpack::encode(&v, &ty).unwrap_err().to_string(),
        "at .uids: expected string, got bool"
    );
}
