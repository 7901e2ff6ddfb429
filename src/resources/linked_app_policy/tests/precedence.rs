//! `precedence`: configured (read back, a move is drift) or left to the provider
//! (its choice, never drift).

use super::*;

#[tokio::test]
async fn a_configured_precedence_is_read_back_and_a_move_is_drift() {
    let w = World::new().await;
    let cfg = config(
        "pinned",
        &[MCP],
        Some(&[API, WIKI]),
        &[(attr::PRECEDENCE, Value::int(3))],
    );
    let (state, id) = w.create(&cfg).await;
    assert_eq!(state.get(attr::PRECEDENCE), Some(&Value::int(3)));

    // Moved on one target: the targets disagree, read null, the plan moves it back
    // there and writes nothing else.
    w.move_out_of_band(WIKI, &id, 5);
    let p = w.plan(Some(&state), &cfg).await;
    assert_eq!(p.prior.get(attr::PRECEDENCE), Some(&Value::Null));
    assert_eq!(p.planned.get(attr::PRECEDENCE), Some(&Value::int(3)));
    w.emu.clear_request_log();
    let state = w.converge(Some(&state), &cfg).await;
    w.assert_after_employees(WIKI, &id, 3);
    w.assert_after_employees(API, &id, 3);
    let app_puts = w.puts();
    assert_eq!(app_puts.len(), 1, "only WIKI is written: {app_puts:?}");

    // Moved on both: read as the new common value, repaired the same way.
    for app in [(API, API_EMPLOYEES), (WIKI, WIKI_EMPLOYEES)] {
        assert!(w.emu.set_attachments_out_of_band(
            ACC,
            app.0,
            vec![(app.1.to_string(), 1), (id.clone(), 6)]
        ));
    }
    let p = w.plan(Some(&state), &cfg).await;
    assert_eq!(p.prior.get(attr::PRECEDENCE), Some(&Value::int(6)));
    let state = w.converge(Some(&state), &cfg).await;
    assert_eq!(w.attachments(API)[1], (id.clone(), 3));

    // Its slot taken by another policy while it was moved: a warning at plan (what
    // Terraform recorded moved, the configuration did not), an error at apply with
    // nothing written.
    assert!(w.emu.set_attachments_out_of_band(
        ACC,
        API,
        vec![(API_EMPLOYEES.to_string(), 3), (id.clone(), 4)]
    ));
    let p = w.plan(Some(&state), &cfg).await;
    assert!(!p.diags.has_errors(), "{:?}", p.diags);
    assert!(
        p.diags.iter().any(
            |d| d.attribute == Some(AttributePath::root(attr::PRECEDENCE))
                && d.detail.contains("already used by policy")
        ),
        "{:?}",
        p.diags
    );
    w.emu.clear_request_log();
    let (state, diags) = w.apply(Some(&state), &cfg).await;
    assert!(diags.has_errors());
    assert_eq!(w.writes(), Vec::<String>::new());
    // Asking for that taken slot anew is an error at plan time.
    let taken = config(
        "pinned",
        &[MCP],
        Some(&[API, WIKI]),
        &[(attr::PRECEDENCE, Value::int(1))],
    );
    assert!(w.plan(state.as_ref(), &taken).await.diags.has_errors());
    assert!(w.destroy(&state.expect("state")).await.is_empty());
    assert_eq!(w.attachments(API), vec![(API_EMPLOYEES.to_string(), 3)]);
}

#[tokio::test]
async fn an_omitted_precedence_is_the_providers_choice_and_never_drift() {
    let w = World::new().await;
    let cfg = config("free", &[MCP], Some(&[API, WIKI]), &[]);
    let (state, id) = w.create(&cfg).await;
    assert_eq!(state.get(attr::PRECEDENCE), Some(&Value::int(2)));
    // Moved out of band: the refresh reads the new place, the plan is empty.
    w.move_out_of_band(WIKI, &id, 4);
    let p = w.plan(Some(&state), &cfg).await;
    assert_eq!(p.prior.get(attr::PRECEDENCE), Some(&Value::Null));
    assert!(!p.has_changes());
    let state = p.prior;
    // A new target: known after apply, and what a refresh reads.
    let cfg = config("free", &[MCP], Some(&[API, WIKI, DOCS]), &[]);
    let p = w.plan(Some(&state), &cfg).await;
    assert_eq!(p.planned.get(attr::PRECEDENCE), Some(&Value::Unknown));
    let state = w.converge(Some(&state), &cfg).await;
    assert_eq!(state.get(attr::PRECEDENCE), Some(&Value::Null));
    assert_eq!(w.attachments(DOCS), vec![(id.clone(), 1)]);
    assert_eq!(w.attachments(WIKI)[1], (id.clone(), 4), "not moved back");
    // Back to one target: the remaining position is common again.
    let cfg = config("free", &[MCP], Some(&[DOCS]), &[]);
    let state = w.converge(Some(&state), &cfg).await;
    assert_eq!(state.get(attr::PRECEDENCE), Some(&Value::int(1)));
    // Setting it to where it is writes nothing; a config that drops it again plans
    // nothing either.
    let pinned = config(
        "free",
        &[MCP],
        Some(&[DOCS]),
        &[(attr::PRECEDENCE, Value::int(1))],
    );
    let p = w.plan(Some(&state), &pinned).await;
    assert!(!p.has_changes());
    assert!(w.destroy(&state).await.is_empty());
}
