//! Changes made outside Terraform: each shows in the plan, and the apply repairs it.

use super::*;

/// A change made outside Terraform to the policy `id`, seen by `World`.
type Mutation = Box<dyn Fn(&World, &str)>;

/// The out-of-band edit `edit` of the policy's fields (the policy must exist).
fn edit_policy(edit: fn(&mut serde_json::Value)) -> Mutation {
    Box::new(move |w, id| assert!(w.emu.mutate_policy(ACC, id, edit)))
}

#[tokio::test]
async fn every_drift_shows_in_plan_and_apply_repairs_it() {
    let w = World::new().await;
    let cfg = config(
        "drift",
        &[MCP],
        Some(&[API, WIKI]),
        &[(attr::SESSION_DURATION, Value::string("24h"))],
    );
    let (mut state, id) = w.create(&cfg).await;
    let expected_include = json!([{"linked_app_token": {"app_uid": MCP}}]);

    let drifts: Vec<(&str, Mutation)> = vec![
        (
            "decision changed",
            edit_policy(|p| p["decision"] = json!("allow")),
        ),
        (
            "linked app changed",
            edit_policy(|p| p["include"] = json!([{"linked_app_token": {"app_uid": MCP_SAAS}}])),
        ),
        (
            "rule added",
            edit_policy(|p| {
                p["include"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"everyone": {}}))
            }),
        ),
        (
            "exclude rule added",
            edit_policy(|p| p["exclude"] = json!([{"ip": {"ip": "10.0.0.0/8"}}])),
        ),
        (
            "session_duration changed",
            edit_policy(|p| p["session_duration"] = json!("12h")),
        ),
        (
            "detached from a target",
            Box::new(|w, _| {
                assert!(w.emu.set_attachments_out_of_band(
                    ACC,
                    WIKI,
                    vec![(WIKI_EMPLOYEES.to_string(), 1)]
                ));
            }),
        ),
        (
            "attached to an extra app",
            Box::new(|w, id| {
                assert!(
                    w.emu
                        .set_attachments_out_of_band(ACC, DOCS, vec![(id.to_string(), 3)])
                );
            }),
        ),
    ];
    for (what, mutate) in drifts {
        mutate(&w, &id);
        let p = w.plan(Some(&state), &cfg).await;
        assert!(!p.diags.has_errors(), "{what}: {:?}", p.diags);
        assert!(
            p.has_changes(),
            "{what}: drift not shown\nprior   {:?}\nplanned {:?}",
            p.prior,
            p.planned
        );
        state = w.converge(Some(&state), &cfg).await;
        assert_eq!(id_of(&state), id, "{what}: repaired in place");
        let policy = w.emu.policy(ACC, &id).expect("policy");
        assert_eq!(policy["decision"], json!("non_identity"), "{what}");
        assert_eq!(policy["include"], expected_include, "{what}");
        assert_eq!(policy["exclude"], json!([]), "{what}");
        assert_eq!(policy["session_duration"], json!("24h"), "{what}");
        assert_eq!(
            w.attachments(API),
            vec![(API_EMPLOYEES.to_string(), 1), (id.clone(), 2)],
            "{what}"
        );
        assert_eq!(
            w.attachments(WIKI)[0],
            (WIKI_EMPLOYEES.to_string(), 1),
            "{what}"
        );
        assert!(w.attachments(WIKI).iter().any(|(p, _)| p == &id), "{what}");
        assert!(w.attachments(DOCS).is_empty(), "{what}");
    }

    // The policy deleted in the dashboard: refresh drops it, the plan re-creates it.
    assert!(w.emu.delete_policy_out_of_band(ACC, &id));
    let p = w.plan(Some(&state), &cfg).await;
    assert!(p.prior.is_null(), "a deleted policy leaves the state");
    let mut state = w.converge(None, &cfg).await;
    let new_id = id_of(&state);
    assert_ne!(new_id, id);
    assert_eq!(w.our_policies().len(), 1);

    // A target app deleted in the dashboard: the plan shows the attachment as gone
    // and names the app in a warning (an error would block the plan Terraform runs
    // before a destroy); the apply stops with an error before any write.
    assert!(w.emu.delete_app_out_of_band(ACC, WIKI));
    for _ in 0..2 {
        let p = w.plan(Some(&state), &cfg).await;
        assert_eq!(strings(&p.prior, attr::TARGET_APP_IDS), set(&[API]));
        assert_eq!(strings(&p.planned, attr::TARGET_APP_IDS), set(&[API, WIKI]));
        assert!(p.has_changes());
        assert!(!p.diags.has_errors(), "{:?}", p.diags);
        let warning = p
            .diags
            .iter()
            .find(|d| d.detail.contains(WIKI))
            .expect("a warning names the deleted app");
        assert_eq!(warning.severity, crate::tfplugin::Severity::Warning);
        assert_eq!(
            warning.attribute,
            Some(AttributePath::root(attr::TARGET_APP_IDS))
        );
        assert!(
            warning.summary.contains("not found") && warning.detail.contains("deleted outside"),
            "{warning:?}"
        );
        w.emu.clear_request_log();
        let (after, diags) = w.apply(Some(&state), &cfg).await;
        let err = diags
            .iter()
            .find(|d| d.detail.contains(WIKI))
            .expect("apply names the deleted app");
        assert_eq!(err.severity, crate::tfplugin::Severity::Error);
        assert_eq!(w.writes(), Vec::<String>::new(), "refused before any write");
        // Terraform keeps what the failed apply returned; the next plan is the same.
        state = after.expect("state kept");
    }
    // A target that never was one is still an error at plan time.
    let typo = config("drift", &[MCP], Some(&[API, MISSING]), &[]);
    let p = w.plan(Some(&state), &typo).await;
    assert!(p.diags.has_errors(), "{:?}", p.diags);
    // Destroy needs nothing from the configuration.
    assert!(w.destroy(&state).await.is_empty());
    assert!(w.our_policies().is_empty());
    assert_eq!(w.attachments(API), vec![(API_EMPLOYEES.to_string(), 1)]);
}
