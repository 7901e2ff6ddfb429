//! Create, update and the life of attachments: what is written, and that the plan
//! after each apply is empty.

use super::*;

#[tokio::test]
async fn create_attaches_after_existing_policies_and_replans_empty() {
    let w = World::new().await;
    let cfg = config("mcp to api+wiki", &[MCP], Some(&[API, WIKI]), &[]);
    let (state, id) = w.create(&cfg).await;

    assert_eq!(
        state.get(attr::DECISION),
        Some(&Value::string(NON_IDENTITY))
    );
    assert_eq!(state.get(attr::ACCOUNT_ID), Some(&Value::string(ACC)));
    assert_eq!(state.get(attr::APP_COUNT), Some(&Value::int(2)));
    assert_eq!(state.get(attr::SESSION_DURATION), Some(&Value::Null));
    // Omitted in the configuration: the position it landed on, shared by both
    // targets (after their own policy).
    assert_eq!(state.get(attr::PRECEDENCE), Some(&Value::int(2)));

    let policy = w.emu.policy(ACC, &id).expect("policy exists");
    assert_eq!(policy["decision"], json!("non_identity"));
    assert_eq!(
        policy["include"],
        json!([{"linked_app_token": {"app_uid": MCP}}])
    );
    assert!(
        policy.get("session_duration").is_none(),
        "no session_duration invented: {policy}"
    );
    let post = w
        .emu
        .request_log()
        .into_iter()
        .find(|r| r.method == "POST" && r.path.ends_with("/access/policies"))
        .expect("policy POST");
    assert!(
        post.body
            .as_ref()
            .is_some_and(|b| b.get("session_duration").is_none())
    );

    w.assert_after_employees(API, &id, 2);
    w.assert_after_employees(WIKI, &id, 2);
    assert_eq!(w.our_policies().len(), 1);

    assert!(w.destroy(&state).await.is_empty());
    assert!(w.our_policies().is_empty());
    assert_eq!(w.attachments(API), vec![(API_EMPLOYEES.to_string(), 1)]);
    assert_eq!(w.attachments(WIKI), vec![(WIKI_EMPLOYEES.to_string(), 1)]);
}

#[tokio::test]
async fn update_changes_only_the_difference() {
    let w = World::new().await;
    let (state, id) = w
        .create(&config("p", &[MCP], Some(&[API, WIKI]), &[]))
        .await;
    w.emu.clear_request_log();

    // Drop WIKI, add DOCS, rename, add a linked app, set a session duration.
    let cfg = config(
        "renamed",
        &[MCP, MCP_SAAS],
        Some(&[API, DOCS]),
        &[(attr::SESSION_DURATION, Value::string("12h"))],
    );
    let p = w.plan(Some(&state), &cfg).await;
    assert!(
        p.planned
            .get(attr::APP_COUNT)
            .is_some_and(Value::is_unknown)
    );
    let state = w.converge(Some(&state), &cfg).await;
    assert_eq!(id_of(&state), id);
    let policy = w.emu.policy(ACC, &id).expect("policy");
    assert_eq!(policy["name"], json!("renamed"));
    assert_eq!(policy["session_duration"], json!("12h"));
    let mut uids: Vec<&str> = policy["include"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["linked_app_token"]["app_uid"].as_str().unwrap())
        .collect();
    uids.sort();
    assert_eq!(uids, vec![MCP_SAAS, MCP]);
    w.assert_after_employees(API, &id, 2);
    assert_eq!(w.attachments(WIKI), vec![(WIKI_EMPLOYEES.to_string(), 1)]);
    assert_eq!(w.attachments(DOCS), vec![(id.clone(), 1)]);
    // API was neither read-modified nor written: only WIKI and DOCS changed.
    let app_puts: Vec<String> = w
        .writes()
        .into_iter()
        .filter(|l| l.starts_with("PUT") && l.contains("/apps/"))
        .collect();
    assert_eq!(app_puts.len(), 2, "{app_puts:?}");
    assert!(!app_puts.iter().any(|l| l.ends_with(API)));

    // A precedence change moves our policy on every target and nothing else.
    let cfg = config(
        "renamed",
        &[MCP, MCP_SAAS],
        Some(&[API, DOCS]),
        &[
            (attr::SESSION_DURATION, Value::string("12h")),
            (attr::PRECEDENCE, Value::int(7)),
        ],
    );
    let p = w.plan(Some(&state), &cfg).await;
    assert_eq!(
        p.planned.get(attr::APP_COUNT),
        state.get(attr::APP_COUNT),
        "app_count kept: targets unchanged"
    );
    let state = w.converge(Some(&state), &cfg).await;
    w.assert_after_employees(API, &id, 7);
    assert_eq!(w.attachments(DOCS), vec![(id.clone(), 7)]);

    // Clearing session_duration omits it from the PUT (the API then has none).
    let cfg = config(
        "renamed",
        &[MCP, MCP_SAAS],
        Some(&[API, DOCS]),
        &[(attr::PRECEDENCE, Value::int(7))],
    );
    let state = w.converge(Some(&state), &cfg).await;
    assert!(
        w.emu
            .policy(ACC, &id)
            .expect("policy")
            .get("session_duration")
            .is_none()
    );
    assert!(w.destroy(&state).await.is_empty());
}

#[tokio::test]
async fn unmanaged_attachments_are_left_alone() {
    let w = World::new().await;
    let cfg = config("unmanaged", &[MCP], None, &[]);
    let (state, id) = w.create(&cfg).await;
    assert_eq!(state.get(attr::TARGET_APP_IDS), Some(&Value::Null));
    assert!(
        w.emu
            .set_attachments_out_of_band(ACC, DOCS, vec![(id.clone(), 1)])
    );
    let p = w.plan(Some(&state), &cfg).await;
    assert!(
        !p.has_changes(),
        "attachments made elsewhere are not drift when target_app_ids is omitted"
    );
    assert_eq!(p.prior.get(attr::APP_COUNT), Some(&Value::int(1)));
    // Delete still detaches it first.
    assert!(w.destroy(&p.prior).await.is_empty());
    assert!(w.attachments(DOCS).is_empty());
    assert!(w.our_policies().is_empty());
}

#[tokio::test]
async fn twenty_policies_on_one_app_in_parallel_leave_the_existing_one_alone() {
    let w = World::new().await;
    let before = w.attachments(API);
    let r = w.resource().await;
    let mut planned_all = Vec::new();
    for i in 0..20 {
        let cfg = config(&format!("parallel {i:02}"), &[MCP], Some(&[API]), &[]);
        let p = w.plan(None, &cfg).await;
        assert!(!p.diags.has_errors(), "{:?}", p.diags);
        planned_all.push((cfg, p.planned));
    }
    let c = ctx();
    let results = futures::future::join_all(
        planned_all
            .iter()
            .map(|(cfg, planned)| r.create(&c, cfg, planned, &[])),
    )
    .await;
    let mut ids = BTreeSet::new();
    for (res, (_, planned)) in results.iter().zip(&planned_all) {
        assert!(!res.diagnostics.has_errors(), "{:?}", res.diagnostics);
        let s = res.new_state.as_ref().expect("state");
        assert_consistent(planned, s);
        ids.insert(id_of(s));
    }
    assert_eq!(ids.len(), 20);
    let after = w.attachments(API);
    assert_eq!(
        after[0], before[0],
        "the pre-existing policy keeps its id and precedence"
    );
    assert_eq!(after.len(), 21);
    let attached: BTreeSet<String> = after[1..].iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(attached, ids);
    let precedences: BTreeSet<u64> = after.iter().map(|(_, p)| *p).collect();
    assert_eq!(precedences.len(), 21, "precedences are unique: {after:?}");
    assert_eq!(w.attachments(WIKI), vec![(WIKI_EMPLOYEES.to_string(), 1)]);
}

#[tokio::test]
async fn edge_accepts_the_mcp_token_only_where_the_policy_is_attached() {
    let w = World::new().await;
    // Self-hosted MCP server: Cf-Access-Token. SaaS MCP server: Authorization: Bearer.
    let cfg = config("edge", &[MCP, MCP_SAAS], Some(&[API, WIKI]), &[]);
    assert_eq!(w.edge(MCP, API, false).await, 403, "refused before apply");
    let state = w.converge(None, &cfg).await;
    for target in [API, WIKI] {
        assert_eq!(
            both_tokens_at(&w, target).await,
            (200, 200),
            "self-hosted and SaaS MCP → {target}"
        );
    }
    assert_eq!(w.edge(MCP, DOCS, false).await, 403, "no policy on DOCS");
    assert!(w.destroy(&state).await.is_empty());
    for target in [API, WIKI, DOCS] {
        assert_eq!(
            both_tokens_at(&w, target).await,
            (403, 403),
            "after destroy → {target}"
        );
    }
}

/// The edge's answers at `target` to the self-hosted MCP app's token (in the
/// `Cf-Access-Token` header) and to the SaaS one's (as a bearer token).
async fn both_tokens_at(w: &World, target: &str) -> (u16, u16) {
    (
        w.edge(MCP, target, false).await,
        w.edge(MCP_SAAS, target, true).await,
    )
}
