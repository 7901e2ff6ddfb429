//! Runs the attribute validators of a schema over a configuration.
//!
//! Configurations seen at validate and plan time may hold unknown values (references to
//! attributes of resources not yet created), including unknown elements inside known
//! collections. Validators only ever look at known values; the same configuration is
//! validated again once the unknowns are resolved.

use super::diag::{AttributePath, Diagnostics};
use super::schema::{AttrType, Attribute, Nesting, Schema, Validator};
use super::value::Value;

/// Checks every attribute validator of `schema` against `config`.
pub fn validate_config(schema: &Schema, config: &Value) -> Diagnostics {
    let mut diags = Diagnostics::new();
    validate_attributes(
        &schema.attributes,
        config,
        &AttributePath::default(),
        &mut diags,
    );
    diags
}

fn validate_attributes(
    attrs: &[Attribute],
    obj: &Value,
    base: &AttributePath,
    diags: &mut Diagnostics,
) {
    for attr in attrs {
        let path = base.attr(&attr.name);
        let Some(v) = obj.get(&attr.name) else {
            continue;
        };
        if v.is_null() || v.is_unknown() {
            continue;
        }
        for validator in &attr.validators {
            run_validator(validator, v, &path, diags);
        }
        if let AttrType::Nested {
            nesting,
            attributes,
        } = &attr.ty
        {
            match nesting {
                Nesting::Single => validate_attributes(attributes, v, &path, diags),
                Nesting::List | Nesting::Set => {
                    for (i, el) in v.elements().unwrap_or(&[]).iter().enumerate() {
                        validate_attributes(attributes, el, &path.index(i), diags);
                    }
                }
                Nesting::Map => {
                    if let Value::Map(m) = v {
                        for (k, el) in m {
                            validate_attributes(attributes, el, &path.key(k), diags);
                        }
                    }
                }
            }
        }
    }
}

/// Runs one validator on a known, non-null value.
pub fn run_validator(
    validator: &Validator,
    v: &Value,
    path: &AttributePath,
    diags: &mut Diagnostics,
) {
    match validator {
        Validator::OneOf(allowed) => {
            if let Some(s) = v.as_str() {
                check_one_of(s, allowed, path, diags);
            }
        }
        Validator::EachOneOf(allowed) => {
            for (i, el) in v.elements().unwrap_or(&[]).iter().enumerate() {
                if let Some(s) = el.as_str() {
                    check_one_of(s, allowed, &element_path(v, path, i), diags);
                }
            }
        }
        Validator::Uuid => {
            if let Some(s) = v.as_str() {
                check_uuid(s, path, diags);
            }
        }
        Validator::EachUuid => {
            for (i, el) in v.elements().unwrap_or(&[]).iter().enumerate() {
                if let Some(s) = el.as_str() {
                    check_uuid(s, &element_path(v, path, i), diags);
                }
            }
        }
        Validator::Duration { min_secs, max_secs } => {
            if let Some(s) = v.as_str() {
                match parse_go_duration(s) {
                    None => diags.attr_error(
                        path.clone(),
                        "Invalid duration",
                        format!(
                            "Attribute {path} must be a duration such as \"30m\", \"24h\" or \"1h30m\" \
                             (units: ns, us, ms, s, m, h); got {s:?}."
                        ),
                    ),
                    Some(secs) if secs < *min_secs as f64 || secs > *max_secs as f64 => diags.attr_error(
                        path.clone(),
                        "Duration out of range",
                        format!(
                            "Attribute {path} must be between {} and {}; got {s:?}.",
                            human_secs(*min_secs),
                            human_secs(*max_secs)
                        ),
                    ),
                    Some(_) => {}
                }
            }
        }
        Validator::NotBlank => {
            if v.as_str().is_some_and(|s| s.trim().is_empty()) {
                diags.attr_error(
                    path.clone(),
                    "Empty value",
                    format!("Attribute {path} must not be empty."),
                );
            }
        }
        Validator::SizeAtLeast(n) => {
            if let Some(els) = v.elements()
                && els.len() < *n
            {
                diags.attr_error(
                    path.clone(),
                    "Too few elements",
                    format!(
                        "Attribute {path} must hold at least {n} element(s); got {}.",
                        els.len()
                    ),
                );
            }
        }
        Validator::UniqueElements => {
            let els = v.elements().unwrap_or(&[]);
            for (i, el) in els.iter().enumerate() {
                if !el.is_wholly_known() || el.is_null() {
                    continue;
                }
                if let Some(first) = els[..i].iter().position(|e| e == el) {
                    let shown = el
                        .as_str()
                        .map_or_else(|| format!("{el:?}"), |s| format!("{s:?}"));
                    diags.attr_error(
                        path.index(i),
                        "Duplicate element",
                        format!("Attribute {path} lists {shown} twice (elements {first} and {i}); each value may appear once."),
                    );
                }
            }
        }
        Validator::AtLeast(min) => {
            if let Value::Number(n) = v {
                let ok = n.as_i64().map_or_else(
                    || n.as_f64().is_some_and(|f| f >= *min as f64),
                    |i| i >= *min,
                );
                if !ok {
                    diags.attr_error(
                        path.clone(),
                        "Value too small",
                        format!("Attribute {path} must be at least {min}; got {n}."),
                    );
                }
            }
        }
        Validator::Custom(f) => f(v, path, diags),
    }
}

/// Set elements have no index Terraform can show, so errors point at the set itself.
fn element_path(collection: &Value, path: &AttributePath, i: usize) -> AttributePath {
    match collection {
        Value::Set(_) => path.clone(),
        _ => path.index(i),
    }
}

fn check_one_of(s: &str, allowed: &[&str], path: &AttributePath, diags: &mut Diagnostics) {
    if !allowed.contains(&s) {
        let list = allowed
            .iter()
            .map(|a| format!("{a:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        diags.attr_error(
            path.clone(),
            "Invalid value",
            format!("Attribute {path} must be one of {list}; got {s:?}."),
        );
    }
}

fn check_uuid(s: &str, path: &AttributePath, diags: &mut Diagnostics) {
    if !is_uuid(s) {
        diags.attr_error(
            path.clone(),
            "Invalid ID",
            format!(
                "Attribute {path} must be a Cloudflare Access UUID such as \
                 \"6cdc3892-f9f1-4813-a5ce-38c2753e1208\"; got {s:?}."
            ),
        );
    }
}

/// True for the canonical 8-4-4-4-12 hexadecimal UUID form.
pub fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Parses a Go `time.ParseDuration` string into seconds. Returns `None` when malformed.
pub fn parse_go_duration(s: &str) -> Option<f64> {
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Some(0.0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num = &rest[..num_len];
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return None;
        }
        let value: f64 = num.parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += value * scale;
    }
    Some(if neg { -total } else { total })
}

fn human_secs(secs: u64) -> String {
    match secs {
        s if s % 3600 == 0 && s > 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 && s > 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tfplugin::schema::Attribute;

    fn schema() -> Schema {
        Schema::new(
            "t",
            vec![
                Attribute::string("decision")
                    .optional()
                    .description("d")
                    .validator(Validator::OneOf(vec!["non_identity"])),
                Attribute::string_set("ids")
                    .optional()
                    .description("d")
                    .validator(Validator::EachUuid),
                Attribute::string_list("order")
                    .optional()
                    .description("d")
                    .validator(Validator::UniqueElements),
                Attribute::string("ttl")
                    .optional()
                    .description("d")
                    .validator(Validator::Duration {
                        min_secs: 60,
                        max_secs: 86400,
                    }),
            ],
        )
    }

    #[test]
    fn unknowns_are_skipped_and_known_values_checked() {
        let cfg = Value::object([
            ("decision", Value::Unknown),
            (
                "ids",
                Value::Set(vec![Value::Unknown, Value::string("nope")]),
            ),
            ("order", Value::Null),
            ("ttl", Value::Unknown),
        ]);
        let d = validate_config(&schema(), &cfg);
        assert_eq!(d.0.len(), 1, "{d:?}");
        assert_eq!(d.0[0].attribute, Some(AttributePath::root("ids")));
        assert!(d.0[0].detail.contains("\"nope\""));
    }

    #[test]
    fn each_validator_reports_with_path() {
        let cfg = Value::object([
            ("decision", Value::string("allow")),
            (
                "ids",
                Value::string_set(["6cdc3892-f9f1-4813-a5ce-38c2753e1208"]),
            ),
            ("order", Value::string_list(["a", "b", "a"])),
            ("ttl", Value::string("25h")),
        ]);
        let d = validate_config(&schema(), &cfg);
        let paths: Vec<String> = d
            .iter()
            .map(|x| x.attribute.clone().unwrap_or_default().to_string())
            .collect();
        assert_eq!(paths, vec!["decision", "order[2]", "ttl"]);
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("24h"), Some(86400.0));
        assert_eq!(parse_go_duration("1h30m"), Some(5400.0));
        assert_eq!(parse_go_duration("300ms"), Some(0.3));
        assert_eq!(parse_go_duration("0"), Some(0.0));
        for bad in ["", "24", "h", "1d", "1.2.3h", "5 m", "abc"] {
            assert_eq!(parse_go_duration(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn uuids() {
        assert!(is_uuid("6cdc3892-f9f1-4813-a5ce-38c2753e1208"));
        assert!(!is_uuid("6cdc3892f9f14813a5ce38c2753e1208"));
        assert!(!is_uuid("6cdc3892-f9f1-4813-a5ce-38c2753e120g"));
    }
}
