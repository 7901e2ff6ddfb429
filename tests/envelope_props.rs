//! Property tests (bounded fuzzing) of the Cloudflare v4 envelope parser: it never
//! panics on arbitrary bytes or arbitrary JSON, and reads back every well-formed
//! envelope exactly, however the API spells the optional parts.
//!
//! The number of cases comes from `PROPTEST_CASES` (proptest's default 256 otherwise);
//! `.ci/run` bounds it.

use cfaccess::cloudflare::CfMessage;
use cfaccess::cloudflare::envelope::{CODE_THROTTLED, Envelope};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Arbitrary JSON values up to a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    json_tree(true)
}

/// JSON values whose text form reads back identically (serde_json's default float
/// parsing may differ in the last digit, which is not the envelope parser's concern).
fn exact_json_value() -> impl Strategy<Value = Value> {
    json_tree(false)
}

fn json_tree(floats: bool) -> impl Strategy<Value = Value> {
    let float = any::<f64>()
        .prop_filter("finite", |f| f.is_finite())
        .prop_map(Value::from);
    let float = if floats {
        float.boxed()
    } else {
        Just(Value::Null).boxed()
    };
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        float,
        ".{0,24}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{0,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<String, Value>>())),
        ]
    })
}

/// JSON objects that look like envelopes, with every field possibly of the wrong type.
fn envelope_like() -> impl Strategy<Value = Value> {
    (
        prop::option::of(json_value()),
        prop::option::of(json_value()),
        prop::option::of(json_value()),
        prop::option::of(json_value()),
        prop::option::of(json_value()),
    )
        .prop_map(|(success, errors, messages, result, info)| {
            let mut m = Map::new();
            for (k, v) in [
                ("success", success),
                ("errors", errors),
                ("messages", messages),
                ("result", result),
                ("result_info", info),
            ] {
                if let Some(v) = v {
                    m.insert(k.to_string(), v);
                }
            }
            Value::Object(m)
        })
}

fn message() -> impl Strategy<Value = CfMessage> {
    (
        prop_oneof![Just(CODE_THROTTLED), 1000i64..20_000, any::<i64>()],
        ".{0,40}",
    )
        .prop_map(|(code, message)| CfMessage { code, message })
}

/// How a well-formed number may be spelled by the API or a proxy in front of it.
#[derive(Clone, Copy, Debug)]
enum NumberSpelling {
    Integer,
    Float,
    Text,
}

fn spell(n: u32, how: NumberSpelling) -> Value {
    match how {
        NumberSpelling::Integer => json!(n),
        NumberSpelling::Float => json!(f64::from(n)),
        NumberSpelling::Text => json!(n.to_string()),
    }
}

fn spelling() -> impl Strategy<Value = NumberSpelling> {
    prop_oneof![
        Just(NumberSpelling::Integer),
        Just(NumberSpelling::Float),
        Just(NumberSpelling::Text)
    ]
}

proptest! {
    // Failures are shrunk and printed; no regression files in the source tree.
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = Envelope::parse(&bytes);
    }

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,256}") {
        let _ = Envelope::parse(text.as_bytes());
    }

    #[test]
    fn arbitrary_json_never_panics_and_non_objects_are_refused(v in json_value()) {
        let parsed = Envelope::parse(v.to_string().as_bytes());
        if !v.is_object() {
            prop_assert!(parsed.is_none(), "a non-object parsed as an envelope: {v}");
        }
    }

    #[test]
    fn envelope_shaped_json_never_panics(v in envelope_like()) {
        if let Some(env) = Envelope::parse(v.to_string().as_bytes()) {
            // Whatever was read must be consistent with the input.
            if let Some(s) = env.success {
                prop_assert_eq!(v.get("success"), Some(&Value::Bool(s)));
            }
            prop_assert_eq!(env.is_throttled(), env.errors.iter().any(|e| e.code == CODE_THROTTLED));
        }
    }

    #[test]
    fn truncated_envelopes_never_panic(v in envelope_like(), cut in any::<prop::sample::Index>()) {
        let text = v.to_string();
        let at = cut.index(text.len() + 1);
        let _ = Envelope::parse(&text.as_bytes()[..at]);
    }

    #[test]
    fn well_formed_envelopes_round_trip(
        success in any::<bool>(),
        errors in prop::collection::vec(message(), 0..4),
        messages in prop::collection::vec(message(), 0..3),
        result in exact_json_value(),
        info in prop::option::of((1u32..1000, 1u32..=1000, 0u32..1000, 0u32..100_000, spelling())),
        errors_null in any::<bool>(),
        extra in prop::collection::btree_map("x_[a-z]{1,8}", json_value(), 0..3),
    ) {
        let mut body = Map::new();
        body.insert("success".into(), json!(success));
        let errors_json = if errors.is_empty() && errors_null {
            Value::Null
        } else {
            json!(errors.iter().map(|e| json!({"code": e.code, "message": e.message})).collect::<Vec<_>>())
        };
        body.insert("errors".into(), errors_json);
        body.insert("messages".into(), json!(messages.iter().map(|e| json!({"code": e.code, "message": e.message})).collect::<Vec<_>>()));
        body.insert("result".into(), result.clone());
        if let Some((page, per_page, count, total, how)) = info {
            body.insert("result_info".into(), json!({
                "page": spell(page, how), "per_page": spell(per_page, how),
                "count": spell(count, how), "total_count": spell(total, how),
            }));
        }
        for (k, v) in extra {
            body.insert(k, v);
        }
        let text = Value::Object(body).to_string();
        let env = Envelope::parse(text.as_bytes());
        prop_assert!(env.is_some(), "a well-formed envelope was refused: {text}");
        let env = env.unwrap();
        prop_assert_eq!(env.success, Some(success));
        prop_assert_eq!(&env.errors, &errors);
        prop_assert_eq!(&env.messages, &messages);
        let decoded: Value = serde_json::from_str(env.result_json()).unwrap();
        prop_assert_eq!(&decoded, &result);
        prop_assert_eq!(env.is_throttled(), errors.iter().any(|e| e.code == CODE_THROTTLED));
        match info {
            None => prop_assert!(env.result_info.is_none()),
            Some((page, per_page, count, total, _)) => {
                let ri = env.result_info.clone();
                prop_assert!(ri.is_some());
                let ri = ri.unwrap();
                prop_assert_eq!(ri.page, Some(u64::from(page)));
                prop_assert_eq!(ri.per_page, Some(u64::from(per_page)));
                prop_assert_eq!(ri.count, Some(u64::from(count)));
                prop_assert_eq!(ri.total_count, Some(u64::from(total)));
            }
        }
    }
}

#[test]
fn deeply_nested_input_is_refused_without_overflowing_the_stack() {
    for depth in [200usize, 10_000, 100_000] {
        let text = format!("{{\"result\":{}{}}}", "[".repeat(depth), "]".repeat(depth));
        let _ = Envelope::parse(text.as_bytes());
        let text = format!("{}{}", "{\"a\":".repeat(depth), "}".repeat(depth));
        let _ = Envelope::parse(text.as_bytes());
    }
}

#[test]
fn proxy_error_pages_are_not_envelopes() {
    for body in [
        "<html><body>502 Bad Gateway</body></html>",
        "",
        "null",
        "\"error\"",
        "[{\"success\":false}]",
    ] {
        assert!(Envelope::parse(body.as_bytes()).is_none(), "{body:?}");
    }
}
