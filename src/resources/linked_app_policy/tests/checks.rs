//! Checks before any write: bad input and bad targets are errors naming the
//! attribute, at plan time when the values are known, else at apply before the first write.

use super::*;

#[tokio::test]
async fn plan_time_errors_name_the_attribute_and_write_nothing() {
    let w = World::new().await;
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            config("p", &[MCP], Some(&[MISSING]), &[]),
            attr::TARGET_APP_IDS,
            "not found",
        ),
        (
            config("p", &[MCP], Some(&[MCP_SAAS]), &[]),
            attr::TARGET_APP_IDS,
            "can only be attached to self-hosted",
        ),
        (
            config("p", &[MCP], Some(&[API, SSH]), &[]),
            attr::TARGET_APP_IDS,
            "\"ssh\"",
        ),
        (
            config("p", &[MISSING], Some(&[API]), &[]),
            attr::LINKED_APP_UIDS,
            "not found",
        ),
        (
            config("p", &[SSH], Some(&[API]), &[]),
            attr::LINKED_APP_UIDS,
            "\"ssh\"",
        ),
        (
            config(
                "p",
                &[MCP],
                Some(&[API, WIKI]),
                &[(attr::PRECEDENCE, Value::int(1))],
            ),
            attr::PRECEDENCE,
            "already used by policy \"Employees\"",
        ),
    ];
    for (cfg, path, needle) in cases {
        let p = w.plan(None, &cfg).await;
        let hit = p.diags.iter().find(|d| {
            d.attribute == Some(AttributePath::root(path))
                && format!("{}: {}", d.summary, d.detail).contains(needle)
        });
        assert!(
            hit.is_some(),
            "expected an error at {path} containing {needle:?}, got {:?}",
            p.diags
        );
    }
    // Validate-time mistakes, no API at all.
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            config(
                "p",
                &[MCP],
                None,
                &[(attr::DECISION, Value::string("allow"))],
            ),
            attr::DECISION,
            "Service Auth",
        ),
        (
            config("p", &[MCP], Some(&[MCP]), &[]),
            attr::TARGET_APP_IDS,
            "both",
        ),
        (
            config("p", &["mcp"], None, &[]),
            attr::LINKED_APP_UIDS,
            "UUID",
        ),
        (
            config("p", &[], None, &[]),
            attr::LINKED_APP_UIDS,
            "at least 1",
        ),
        (
            config(
                "p",
                &[MCP],
                None,
                &[(attr::SESSION_DURATION, Value::string("1 day"))],
            ),
            attr::SESSION_DURATION,
            "duration",
        ),
        (
            config(
                "p",
                &[MCP],
                None,
                &[(
                    attr::PRECEDENCE,
                    Value::Number(Number::parse("1.5").unwrap()),
                )],
            ),
            attr::PRECEDENCE,
            "whole number",
        ),
        (
            config("p", &[MCP], None, &[(attr::PRECEDENCE, Value::int(0))]),
            attr::PRECEDENCE,
            "at least 1",
        ),
        (
            config("p", &[MCP], None, &[(attr::ACCOUNT_ID, Value::string("x"))]),
            attr::ACCOUNT_ID,
            "32 hexadecimal",
        ),
    ];
    for (cfg, path, needle) in cases {
        let mut diags = validate_config(&schema(), &cfg);
        w.resource().await.validate(&ctx(), &cfg, &mut diags).await;
        let hit = diags.iter().find(|d| {
            d.attribute == Some(AttributePath::root(path))
                && format!("{}: {}", d.summary, d.detail).contains(needle)
        });
        assert!(
            hit.is_some(),
            "expected a validate error at {path} containing {needle:?}, got {diags:?}"
        );
    }
    assert_eq!(w.writes(), Vec::<String>::new());
}

#[tokio::test]
async fn unknown_values_at_plan_time_are_checked_before_the_first_write() {
    let w = World::new().await;
    // The target comes from a resource not created yet: unknown at plan time.
    let mut cfg = config("p", &[MCP], None, &[]);
    cfg.set(attr::TARGET_APP_IDS, Value::Set(vec![Value::Unknown]));
    let p = w.plan(None, &cfg).await;
    assert!(!p.diags.has_errors(), "{:?}", p.diags);
    // At apply it turns out to be a SaaS app: refused before anything is written.
    let known = config("p", &[MCP], Some(&[MCP_SAAS]), &[]);
    let mut planned = p.planned.clone();
    planned.set(
        attr::TARGET_APP_IDS,
        known
            .get(attr::TARGET_APP_IDS)
            .cloned()
            .unwrap_or(Value::Null),
    );
    let result = w
        .resource()
        .await
        .create(&ctx(), &known, &planned, &[])
        .await;
    assert!(result.diagnostics.has_errors());
    assert!(result.new_state.is_none());
    assert!(
        result
            .diagnostics
            .iter()
            .any(|d| d.detail.contains("self-hosted"))
    );
    assert_eq!(w.writes(), Vec::<String>::new());
}

#[tokio::test]
async fn precedence_without_targets_is_a_warning() {
    let w = World::new().await;
    let cfg = config("p", &[MCP], None, &[(attr::PRECEDENCE, Value::int(3))]);
    let mut diags = validate_config(&schema(), &cfg);
    w.resource().await.validate(&ctx(), &cfg, &mut diags).await;
    assert!(!diags.has_errors());
    let warning = diags.iter().next().expect("a warning");
    assert_eq!(
        warning.attribute,
        Some(AttributePath::root(attr::PRECEDENCE))
    );
}
