//! Failures in the middle of an apply: what was written is saved as partial state,
//! and the next apply finishes the job without duplicating anything.

use super::*;

#[tokio::test]
async fn failed_second_attach_keeps_what_exists_and_the_next_apply_finishes() {
    let w = World::new().await;
    let cfg = config("three targets", &[MCP], Some(&[API, DOCS, WIKI]), &[]);
    // The three attaches go out at once; the one to DOCS (the middle one in id
    // order) is refused, the other two stand.
    w.emu.add_fault(Fault {
        method: Some("PUT".into()),
        path: format!("/accounts/*/access/apps/{DOCS}"),
        kind: FaultKind::Status(400),
        count: 1,
    });
    let (state, diags) = w.apply(None, &cfg).await;
    let state = state.expect("partial state is returned");
    let id = id_of(&state);
    assert!(diags.has_errors());
    let err = diags
        .iter()
        .find(|d| d.detail.contains("\"Docs\""))
        .expect("error names the app");
    assert_eq!(
        err.attribute,
        Some(AttributePath::root(attr::TARGET_APP_IDS))
    );
    assert_eq!(strings(&state, attr::TARGET_APP_IDS), set(&[API, WIKI]));
    assert_eq!(w.our_policies().len(), 1);
    assert!(w.attachments(DOCS).is_empty());

    // The next apply plans an update (not a second policy) and attaches the rest.
    let p = w.plan(Some(&state), &cfg).await;
    assert!(p.has_changes());
    assert_eq!(p.planned.get(attr::ID), Some(&Value::string(id.clone())));
    let state = w.converge(Some(&state), &cfg).await;
    assert_eq!(id_of(&state), id);
    assert_eq!(w.our_policies().len(), 1);
    assert_eq!(w.attachments(DOCS), vec![(id.clone(), 1)]);
    w.assert_after_employees(API, &id, 2);
    w.assert_after_employees(WIKI, &id, 2);
}

/// A proxy in front of the emulator at `upstream` (its `base_url`) that forwards every
/// request and garbles the `include` of the policy in the answers to a policy create
/// and to a read of one policy by id: the create is committed, but neither its answer
/// nor the read after it decodes. Returns the proxy's base URL.
async fn garbling_policy_proxy(upstream: String) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("proxy binds");
    let base = format!("http://{}/client/v4", listener.local_addr().expect("addr"));
    let origin = upstream.trim_end_matches("/client/v4").to_string();
    let http = reqwest::Client::new();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (origin, http) = (origin.clone(), http.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                loop {
                    // One request: the head, then `content-length` bytes of body.
                    let head_end = loop {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        let mut chunk = [0u8; 4096];
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                    let mut lines = head.split("\r\n");
                    let mut request_line = lines.next().unwrap_or_default().split(' ');
                    let method = request_line.next().unwrap_or_default().to_string();
                    let path = request_line.next().unwrap_or_default().to_string();
                    let headers: Vec<(String, String)> = lines
                        .filter_map(|l| l.split_once(':'))
                        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                        .collect();
                    let header = |name: &str| {
                        headers
                            .iter()
                            .find(|(k, _)| k == name)
                            .map(|(_, v)| v.clone())
                    };
                    let length: usize = header("content-length")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    while buf.len() < head_end + length {
                        let mut chunk = [0u8; 4096];
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let body: Vec<u8> = buf.drain(..head_end + length).skip(head_end).collect();
                    let mut forward = http.request(
                        reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
                        format!("{origin}{path}"),
                    );
                    for name in ["authorization", "content-type"] {
                        if let Some(v) = header(name) {
                            forward = forward.header(name, v);
                        }
                    }
                    let Ok(answer) = forward.body(body).send().await else {
                        return;
                    };
                    let status = answer.status().as_u16();
                    let mut text = answer.text().await.unwrap_or_default();
                    let route = path.split('?').next().unwrap_or_default();
                    let policy_answer = (method == "POST" && route.ends_with("/access/policies"))
                        || (method == "GET"
                            && route
                                .rsplit_once("/access/policies/")
                                .is_some_and(|(_, id)| !id.contains('/')));
                    if policy_answer
                        && let Ok(mut envelope) = serde_json::from_str::<serde_json::Value>(&text)
                        && let Some(result) = envelope.get_mut("result")
                        && result.is_object()
                    {
                        result["include"] = json!("??");
                        text = envelope.to_string();
                    }
                    let reply = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{text}",
                        text.len()
                    );
                    if socket.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    base
}

#[tokio::test]
async fn a_create_whose_answer_does_not_decode_keeps_the_policy_as_partial_state() {
    let w = World::new().await;
    let cfg = config("undecodable", &[MCP], Some(&[API, WIKI]), &[]);
    let p = w.plan(None, &cfg).await;
    assert!(!p.diags.has_errors(), "{:?}", p.diags);
    let proxy = garbling_policy_proxy(w.emu.base_url()).await;
    let result = w
        .resource_at(&proxy)
        .await
        .create(&ctx(), &cfg, &p.planned, &p.private)
        .await;

    // The policy exists although neither the create's answer nor the read by id
    // decoded: its id is the partial state, so it is tracked and not orphaned.
    let made = w.our_policies();
    assert_eq!(made.len(), 1, "exactly one policy created: {made:?}");
    let made_id = made[0]["id"].as_str().expect("id").to_string();
    assert!(result.diagnostics.has_errors());
    let err = result
        .diagnostics
        .iter()
        .find(|d| d.detail.contains(&made_id))
        .unwrap_or_else(|| panic!("the error names the created id: {:?}", result.diagnostics));
    assert!(
        err.detail.contains("could not be decoded"),
        "{}",
        err.detail
    );
    let state = fill_nulls(&schema(), &result.new_state.expect("partial state"));
    assert_eq!(id_of(&state), made_id);
    assert_eq!(state.get(attr::NAME), Some(&Value::string("undecodable")));
    assert_eq!(state.get(attr::ACCOUNT_ID), Some(&Value::string(ACC)));
    assert_eq!(
        state.get(attr::DECISION),
        Some(&Value::string(NON_IDENTITY))
    );
    // Attached nowhere yet, and recorded so.
    assert_eq!(strings(&state, attr::TARGET_APP_IDS), set(&[]));
    assert_eq!(state.get(attr::APP_COUNT), Some(&Value::int(0)));
    assert_eq!(w.attachments(API), vec![(API_EMPLOYEES.to_string(), 1)]);
    assert_eq!(w.attachments(WIKI), vec![(WIKI_EMPLOYEES.to_string(), 1)]);
    assert!(
        w.writes().iter().all(|r| !r.starts_with("PUT")),
        "nothing attached after the failed create: {:?}",
        w.writes()
    );

    // Terraform keeps the object (tainted): the next apply destroys it and creates
    // the policy again. Nothing is left behind, and no second policy exists.
    assert!(w.destroy(&state).await.is_empty());
    assert!(w.our_policies().is_empty());
    let state = w.converge(None, &cfg).await;
    let now = w.our_policies();
    assert_eq!(now.len(), 1, "{now:?}");
    assert_ne!(id_of(&state), made_id);
    w.assert_after_employees(API, &id_of(&state), 2);
}

#[tokio::test]
async fn an_update_failing_on_one_target_records_what_the_others_did() {
    let w = World::new().await;
    let pinned = |p: i64, targets: &[&str]| {
        config(
            "moving",
            &[MCP],
            Some(targets),
            &[(attr::PRECEDENCE, Value::int(p))],
        )
    };
    let (state, id) = w.create(&pinned(5, &[API, WIKI])).await;

    // One update: detach from API, move on WIKI, attach to DOCS, all sent at once;
    // the move on WIKI is refused.
    w.emu.add_fault(Fault {
        method: Some("PUT".into()),
        path: format!("/accounts/*/access/apps/{WIKI}"),
        kind: FaultKind::Status(400),
        count: 1,
    });
    let cfg = pinned(6, &[WIKI, DOCS]);
    let (state, diags) = w.apply(Some(&state), &cfg).await;
    let state = state.expect("partial state is returned");
    let errors: Vec<_> = diags
        .iter()
        .filter(|d| d.detail.contains("Failed"))
        .collect();
    assert_eq!(errors.len(), 1, "{diags:?}");
    assert!(
        errors[0].detail.contains("\"Company wiki\""),
        "{}",
        errors[0].detail
    );
    assert_eq!(
        errors[0].attribute,
        Some(AttributePath::root(attr::TARGET_APP_IDS))
    );
    // The other targets' outcomes stand, and the state says where the policy is: on
    // WIKI (still at 5) and DOCS (at 6), not on API; the targets disagree, so the
    // precedence is null, never a value one of them does not hold.
    assert_eq!(w.attachments(API), vec![(API_EMPLOYEES.to_string(), 1)]);
    assert_eq!(w.attachments(DOCS), vec![(id.clone(), 6)]);
    w.assert_after_employees(WIKI, &id, 5);
    assert_eq!(strings(&state, attr::TARGET_APP_IDS), set(&[WIKI, DOCS]));
    assert_eq!(state.get(attr::PRECEDENCE), Some(&Value::Null));
    let p = w.plan(Some(&state), &cfg).await;
    assert!(
        p.prior.semantically_equal(&state),
        "the refresh reads what the failed apply recorded:\nrecorded  {state:?}\nrefreshed {:?}",
        p.prior
    );

    // The next apply moves the one left behind and touches nothing else.
    w.emu.clear_request_log();
    let state = w.converge(Some(&state), &cfg).await;
    assert_eq!(state.get(attr::PRECEDENCE), Some(&Value::int(6)));
    w.assert_after_employees(WIKI, &id, 6);
    assert_eq!(w.attachments(DOCS), vec![(id, 6)]);
    assert_eq!(w.attachments(API), vec![(API_EMPLOYEES.to_string(), 1)]);
    let puts = w.puts();
    assert_eq!(puts.len(), 1, "only WIKI is written: {puts:?}");
}
