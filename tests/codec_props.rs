//! Property tests of the cty value codec: random types and values (unknowns, nulls,
//! big and odd numbers, dynamic values) survive msgpack and JSON round trips, numbers
//! keep their exact value however they are spelled, JSON decoding tolerates attributes
//! added to or removed from a type, and no input bytes make any decoder panic.

use std::collections::BTreeMap;

use cfaccess::tfplugin::codec::{dynamic_value, json, msgpack, type_json};
use cfaccess::tfplugin::{Number, Type, Value};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------
// Generators

fn attr_name() -> impl Strategy<Value = String> {
    "[a-z_][a-z0-9_]{0,6}"
}

fn arb_type() -> impl Strategy<Value = Type> {
    let leaf = prop_oneof![
        Just(Type::String),
        Just(Type::Number),
        Just(Type::Bool),
        Just(Type::Dynamic),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(Type::list),
            inner.clone().prop_map(Type::set),
            inner.clone().prop_map(Type::map),
            prop::collection::btree_map(attr_name(), inner.clone(), 0..5).prop_map(Type::Object),
            prop::collection::vec(inner, 0..4).prop_map(Type::Tuple),
        ]
    })
}

/// Numbers already in the codec's canonical spelling, so that a decoded value must be
/// exactly equal to the one encoded.
fn canonical_number() -> impl Strategy<Value = Number> {
    prop_oneof![
        any::<i64>().prop_map(Number::from),
        any::<u64>().prop_map(Number::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| Number::parse(&format!("{f}")).unwrap()),
        // Integers beyond 64 bits, and decimals with more digits than an f64 keeps.
        "-?[1-9][0-9]{19,60}".prop_map(|s| Number::parse(&s).unwrap()),
        "-?(0|[1-9][0-9]{0,20})\\.[0-9]{0,30}[1-9]".prop_map(|s| Number::parse(&s).unwrap()),
        // Magnitudes so large or small that the canonical form is scientific.
        (
            "-?[1-9](\\.[0-9]{0,6}[1-9])?",
            any::<bool>(),
            1100u32..200_000
        )
            .prop_map(|(m, neg, e)| Number::parse(&format!(
                "{m}e{}{e}",
                if neg { "-" } else { "" }
            ))
            .unwrap()),
    ]
}

fn arb_string() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[a-z]{0,40}", ".{30,300}"]
}

/// A value conforming to `ty`. Unknowns appear only when `unknowns` is set; `budget`
/// bounds how deeply dynamic values nest further types.
fn arb_value(ty: &Type, unknowns: bool, budget: u32) -> BoxedStrategy<Value> {
    let known: BoxedStrategy<Value> = match ty {
        Type::String => arb_string().prop_map(Value::String).boxed(),
        Type::Number => canonical_number().prop_map(Value::Number).boxed(),
        Type::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Type::List(e) => prop::collection::vec(arb_value(e, unknowns, budget), 0..4)
            .prop_map(Value::List)
            .boxed(),
        Type::Set(e) => prop::collection::vec(arb_value(e, unknowns, budget), 0..4)
            .prop_map(Value::Set)
            .boxed(),
        Type::Map(e) => prop::collection::btree_map(
            "[a-zA-Z0-9 é_-]{0,5}",
            arb_value(e, unknowns, budget),
            0..4,
        )
        .prop_map(Value::Map)
        .boxed(),
        Type::Tuple(ts) => ts
            .iter()
            .map(|t| arb_value(t, unknowns, budget))
            .collect::<Vec<_>>()
            .prop_map(Value::Tuple)
            .boxed(),
        Type::Object(attrs) => attrs
            .iter()
            .map(|(k, t)| {
                let k = k.clone();
                arb_value(t, unknowns, budget).prop_map(move |v| (k.clone(), v))
            })
            .collect::<Vec<_>>()
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect()))
            .boxed(),
        Type::Dynamic if budget == 0 => Just(Value::Null).boxed(),
        Type::Dynamic => arb_type()
            .prop_flat_map(move |t| {
                arb_value(&t, unknowns, budget - 1)
                    .prop_map(move |v| Value::Dynamic(t.clone(), Box::new(v)))
            })
            .boxed(),
    };
    if unknowns {
        prop_oneof![
            1 => Just(Value::Null),
            1 => Just(Value::Unknown),
            6 => known,
        ]
        .boxed()
    } else {
        prop_oneof![1 => Just(Value::Null), 6 => known].boxed()
    }
}

fn typed_value(unknowns: bool) -> impl Strategy<Value = (Type, Value)> {
    arb_type().prop_flat_map(move |t| {
        let v = arb_value(&t, unknowns, 2);
        (Just(t), v)
    })
}

fn object_type_and_value() -> impl Strategy<Value = (BTreeMap<String, Type>, Value)> {
    prop::collection::btree_map(attr_name(), arb_type(), 1..6).prop_flat_map(|attrs| {
        let v = arb_value(&Type::Object(attrs.clone()), false, 2)
            .prop_filter("a known object", |v| matches!(v, Value::Object(_)));
        (Just(attrs), v)
    })
}

// ---------------------------------------------------------------------------------
// An independent reading of decimal text, to compare numbers by value.

/// `(negative, significant digits, exponent)` with `value = ±digits × 10^exponent`.
fn decimal_key(text: &str) -> (bool, String, i64) {
    let (neg, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (mantissa, exp) = match body.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i64>().unwrap()),
        None => (body, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all = format!("{int}{frac}");
    let trimmed = all.trim_start_matches('0');
    let significant = trimmed.trim_end_matches('0');
    if significant.is_empty() {
        return (false, String::new(), 0);
    }
    let exponent = exp - frac.len() as i64 + (trimmed.len() - significant.len()) as i64;
    (neg, significant.to_string(), exponent)
}

fn number_of(v: &Value) -> &Number {
    match v {
        Value::Number(n) => n,
        other => panic!("not a number: {other:?}"),
    }
}

// ---------------------------------------------------------------------------------
// Properties

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn msgpack_round_trips((ty, v) in typed_value(true)) {
        let bytes = msgpack::encode(&v, &ty).unwrap();
        let back = msgpack::decode(&bytes, &ty).unwrap();
        prop_assert_eq!(&back, &v);
        prop_assert_eq!(msgpack::encode(&back, &ty).unwrap(), bytes.clone());
        prop_assert_eq!(dynamic_value::decode(&bytes, b"ignored", &ty).unwrap(), v);
    }

    #[test]
    fn json_round_trips((ty, v) in typed_value(false)) {
        let text = json::encode(&v, &ty).unwrap();
        prop_assert!(std::str::from_utf8(&text).is_ok());
        let back = json::decode(&text, &ty).unwrap();
        prop_assert_eq!(&back, &v);
        prop_assert_eq!(dynamic_value::decode(&[], &text, &ty).unwrap(), v);
    }

    #[test]
    fn json_refuses_unknowns_and_msgpack_keeps_them((ty, v) in typed_value(true)) {
        match json::encode(&v, &ty) {
            Ok(_) => prop_assert!(v.is_wholly_known()),
            Err(_) => prop_assert!(!v.is_wholly_known()),
        }
    }

    #[test]
    fn type_json_round_trips(ty in arb_type()) {
        let text = type_json::encode(&ty);
        prop_assert_eq!(type_json::decode(&text).unwrap(), ty);
    }

    #[test]
    fn numbers_keep_their_value_however_spelled(
        text in "[+-]?[0-9]{0,25}(\\.[0-9]{0,25})?([eE][+-]?[0-9]{1,4})?"
    ) {
        let Some(n) = Number::parse(&text) else { return Ok(()) };
        let v = Value::Number(n);
        let from_msgpack = msgpack::decode(&msgpack::encode(&v, &Type::Number).unwrap(), &Type::Number).unwrap();
        let from_json = json::decode(&json::encode(&v, &Type::Number).unwrap(), &Type::Number).unwrap();
        let want = decimal_key(&text);
        prop_assert_eq!(decimal_key(number_of(&from_msgpack).as_str()), want.clone());
        prop_assert_eq!(decimal_key(number_of(&from_json).as_str()), want);
        // Canonical: a second trip changes nothing.
        prop_assert_eq!(
            msgpack::decode(&msgpack::encode(&from_msgpack, &Type::Number).unwrap(), &Type::Number).unwrap(),
            from_msgpack.clone()
        );
        prop_assert_eq!(from_json, from_msgpack);
    }

    #[test]
    fn json_tolerates_added_and_removed_attributes((attrs, v) in object_type_and_value()) {
        let text = json::encode(&v, &Type::Object(attrs.clone())).unwrap();

        // A newer schema with one more attribute: it reads as null.
        let mut wider = attrs.clone();
        wider.insert("zz_added_later".into(), Type::list(Type::String));
        let mut want = v.clone();
        want.set("zz_added_later", Value::Null);
        prop_assert_eq!(json::decode(&text, &Type::Object(wider)).unwrap(), want);

        // A schema that dropped an attribute: the stale key is ignored.
        let mut narrower = attrs.clone();
        let dropped = narrower.keys().next().unwrap().clone();
        narrower.remove(&dropped);
        let Value::Object(mut want) = v.clone() else { unreachable!() };
        want.remove(&dropped);
        prop_assert_eq!(json::decode(&text, &Type::Object(narrower.clone())).unwrap(), Value::Object(want));

        // msgpack is strict about both.
        let bytes = msgpack::encode(&v, &Type::Object(attrs)).unwrap();
        prop_assert!(msgpack::decode(&bytes, &Type::Object(narrower)).is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic(ty in arb_type(), bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(v) = msgpack::decode(&bytes, &ty) {
            let again = msgpack::encode(&v, &ty).unwrap();
            prop_assert_eq!(msgpack::decode(&again, &ty).unwrap(), v);
        }
        if let Ok(v) = json::decode(&bytes, &ty) {
            let again = json::encode(&v, &ty).unwrap();
            prop_assert_eq!(json::decode(&again, &ty).unwrap(), v);
        }
        if let Ok(t) = type_json::decode(&bytes) {
            prop_assert_eq!(type_json::decode(&type_json::encode(&t)).unwrap(), t);
        }
        let _ = dynamic_value::decode(&bytes, &bytes, &ty);
        let _ = dynamic_value::decode(&[], &bytes, &ty);
    }

    #[test]
    fn damaged_encodings_never_panic(
        (ty, v) in typed_value(true),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = msgpack::encode(&v, &ty).unwrap();
        let mut text = json::encode(&v, &ty).unwrap_or_else(|_| b"{}".to_vec());
        let _ = msgpack::decode(&bytes[..cut.index(bytes.len() + 1)], &ty);
        let _ = json::decode(&text[..cut.index(text.len() + 1)], &ty);
        for (at, b) in edits {
            let i = at.index(bytes.len());
            bytes[i] = b;
            let j = at.index(text.len());
            text[j] = b;
        }
        // Whatever a decoder still accepts must be a value that round-trips.
        for target in [&ty, &Type::Dynamic] {
            if let Ok(v) = msgpack::decode(&bytes, target) {
                let again = msgpack::encode(&v, target).unwrap();
                prop_assert_eq!(msgpack::decode(&again, target).unwrap(), v);
            }
            if let Ok(v) = json::decode(&text, target) {
                let again = json::encode(&v, target).unwrap();
                prop_assert_eq!(json::decode(&again, target).unwrap(), v);
            }
        }
    }

    #[test]
    fn json_shaped_noise_never_panics(text in "[\\[\\]{}\",:0-9a-z.eE+\\-\\\\ ]{0,120}", ty in arb_type()) {
        let _ = json::decode(text.as_bytes(), &ty);
        let _ = json::decode(text.as_bytes(), &Type::Dynamic);
        let _ = type_json::decode(text.as_bytes());
    }
}
