//! Delete (every attachment found, retried on a conflict) and import (equal to a
//! create; foreign policies refused).

use super::*;

#[tokio::test]
async fn delete_detaches_out_of_band_attachments_and_tolerates_a_gone_policy() {
    let w = World::new().await;
    let (state, id) = w.create(&config("p", &[MCP], Some(&[API]), &[])).await;
    // Attached out of band to DOCS (after Terraform last read it) and to WIKI.
    assert!(
        w.emu
            .set_attachments_out_of_band(ACC, DOCS, vec![(id.clone(), 4)])
    );
    w.move_out_of_band(WIKI, &id, 2);
    let diags = w.destroy(&state).await;
    assert!(diags.is_empty(), "{diags:?}");
    assert!(w.our_policies().is_empty());
    assert!(w.attachments(DOCS).is_empty());
    assert_eq!(w.attachments(WIKI), vec![(WIKI_EMPLOYEES.to_string(), 1)]);
    assert_eq!(w.attachments(API), vec![(API_EMPLOYEES.to_string(), 1)]);
    // Deleting again (already gone) is success.
    assert!(w.destroy(&state).await.is_empty());
}

#[tokio::test]
async fn delete_tries_again_after_a_conflict_once_retries_are_spent() {
    let w = World::new().await;
    let (state, id) = w.create(&config("p", &[MCP], Some(&[API]), &[])).await;
    // max_retries = 1: the client's two attempts both get 409, as when someone attaches
    // the policy again between our detach and the DELETE.
    w.emu.add_fault(Fault {
        method: Some("DELETE".into()),
        path: format!("/accounts/*/access/policies/{id}"),
        kind: FaultKind::Status(409),
        count: 2,
    });
    let diags = w.destroy(&state).await;
    assert!(diags.is_empty(), "{diags:?}");
    assert!(w.our_policies().is_empty());
    let deletes = w
        .writes()
        .into_iter()
        .filter(|l| l.starts_with("DELETE"))
        .count();
    assert_eq!(deletes, 3, "two refused attempts, then a second round");
}

#[tokio::test]
async fn parallel_deletes_share_fresh_app_lists_and_still_find_out_of_band_attachments() {
    let w = World::new().await;
    let mut states = Vec::new();
    for i in 0..12 {
        let cfg = config(&format!("bulk {i:02}"), &[MCP], Some(&[API]), &[]);
        states.push(w.converge(None, &cfg).await);
    }
    // Attached to DOCS out of band after Terraform last read them: only a list sent
    // after the delete began can know.
    let out_of_band: Vec<(String, u32)> = states
        .iter()
        .enumerate()
        .map(|(i, s)| (id_of(s), i as u32 + 1))
        .collect();
    assert!(w.emu.set_attachments_out_of_band(ACC, DOCS, out_of_band));
    w.emu.clear_request_log();

    let r = w.resource().await;
    let c = ctx();
    let results = futures::future::join_all(states.iter().map(|s| r.delete(&c, s, &[]))).await;
    for diags in &results {
        assert!(diags.is_empty(), "{diags:?}");
    }
    assert!(w.our_policies().is_empty());
    assert!(w.attachments(DOCS).is_empty());
    assert_eq!(w.attachments(API), vec![(API_EMPLOYEES.to_string(), 1)]);
    let app_lists = w
        .emu
        .request_log()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/access/apps"))
        .count();
    assert!(
        (1..12).contains(&app_lists),
        "12 concurrent deletes sent {app_lists} application lists"
    );
}

#[tokio::test]
async fn import_equals_create_and_refuses_foreign_policies() {
    let w = World::new().await;
    for cfg in [
        config(
            "imp",
            &[MCP, MCP_SAAS],
            Some(&[API, WIKI]),
            &[(attr::SESSION_DURATION, Value::string("12h"))],
        ),
        config("imp-unattached", &[MCP], None, &[]),
        config(
            "imp-pinned",
            &[MCP],
            Some(&[API, WIKI]),
            &[(attr::PRECEDENCE, Value::int(4))],
        ),
    ] {
        let created = w.converge(None, &cfg).await;
        let id = id_of(&created);
        for import_id in [id.clone(), format!("{ACC}/{id}")] {
            let imported = w.flow.import(&import_id).await.expect("import");
            assert!(
                imported.semantically_equal(&created),
                "import != create\nimport {imported:?}\ncreate {created:?}"
            );
            let p = w.plan(Some(&imported), &cfg).await;
            assert!(!p.has_changes());
            // The same object under a configuration without precedence: the
            // provider's choice, so nothing to plan either.
            let mut unpinned = cfg.clone();
            unpinned.set(attr::PRECEDENCE, Value::Null);
            let p = w.plan(Some(&imported), &unpinned).await;
            assert!(!p.has_changes(), "{:?}\n{:?}", p.prior, p.planned);
        }
    }

    // #7129: a non_identity policy without session_duration imports with none, and a
    // config without it plans nothing.
    let client_policy = w.resource().await;
    let _ = client_policy;
    let made = reqwest::Client::new()
        .post(format!(
            "{}/accounts/{ACC}/access/policies",
            w.emu.base_url()
        ))
        .bearer_auth(TOKEN)
        .json(
            &json!({"name": "made in the dashboard", "decision": "non_identity",
                      "include": [{"linked_app_token": {"app_uid": MCP}}]}),
        )
        .send()
        .await
        .expect("create");
    let made: serde_json::Value = made.json().await.expect("json");
    let made_id = made["result"]["id"].as_str().expect("id").to_string();
    let imported = w.flow.import(&made_id).await.expect("import");
    assert_eq!(imported.get(attr::SESSION_DURATION), Some(&Value::Null));
    let p = w
        .plan(
            Some(&imported),
            &config("made in the dashboard", &[MCP], None, &[]),
        )
        .await;
    assert!(
        !p.has_changes(),
        "prior {:?}\nplanned {:?}",
        p.prior,
        p.planned
    );

    // Refusals.
    let r = w.resource().await;
    let refused = r.import(&ctx(), API_EMPLOYEES).await;
    let d = refused.diagnostics.iter().next().expect("refused");
    assert!(
        d.detail.contains("\"allow\"") && d.detail.contains("non_identity"),
        "{d:?}"
    );
    assert!(w.emu.mutate_policy(ACC, &made_id, |p| {
        p["include"]
            .as_array_mut()
            .unwrap()
            .push(json!({"email_domain": {"domain": "example.com"}}));
    }));
    let r = w.resource().await;
    let refused = r.import(&ctx(), &made_id).await;
    let d = refused.diagnostics.iter().next().expect("refused");
    assert!(d.detail.contains("email_domain"), "{d:?}");
    // A Service Auth policy mixing a linked_app_token rule with another kind of rule
    // is general purpose (Policy::is_linked_app_token): refused, with the reason.
    assert!(w.emu.mutate_policy(ACC, &made_id, |p| {
        p["include"] =
            json!([{"linked_app_token": {"app_uid": MCP}}, {"any_valid_service_token": {}}]);
    }));
    let r = w.resource().await;
    let refused = r.import(&ctx(), &made_id).await;
    let d = refused.diagnostics.iter().next().expect("refused");
    assert!(d.detail.contains("any_valid_service_token"), "{d:?}");
    let refused = r.import(&ctx(), MISSING).await;
    assert!(
        refused
            .diagnostics
            .iter()
            .any(|d| d.summary.contains("not found"))
    );
    let refused = r.import(&ctx(), "not-an-id").await;
    assert!(refused.diagnostics.has_errors());
}
