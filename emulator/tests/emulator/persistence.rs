//! `state_file`: everything survives a restart; the seed applies only to a new file.

use cfaccess_emulator::{Emulator, EmulatorConfig, EmulatorError, Seed};
use serde_json::json;

use super::common::*;

#[tokio::test]
async fn state_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let config = EmulatorConfig {
        state_file: Some(path.clone()),
        seed: Some(Seed::downstream_demo()),
        ..fast_config()
    };
    let api = Api::with(config.clone()).await;
    assert!(path.exists(), "the seeded state is written at start");
    let mcp = api.saas_oidc("mcp").await;
    let linked = api.linked_policy("mcp can call", &id(&mcp)).await;
    let internal = api
        .get("/apps?name=Internal%20API&exact=true")
        .await
        .ok(200)[0]
        .clone();
    let mut links: Vec<serde_json::Value> = internal["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| json!({"id": p["id"], "precedence": p["precedence"]}))
        .collect();
    links.push(json!({"id": id(&linked), "precedence": 2}));
    let body = json!({"type": "self_hosted", "name": "Internal API", "domain": "api.internal.example.com", "policies": links});
    api.put(&format!("/apps/{}", id(&internal)), body)
        .await
        .ok(200);
    assert!(api.emu.mutate_policy(ACC, &id(&linked), |p| p["name"] =
        json!("renamed out of band")));
    let apps_before = api.emu.apps(ACC);
    let policies_before = api.emu.policies(ACC);
    api.emu.shutdown().await;

    // Restart on the same file, with a seed that must be ignored.
    let api = Api::with(EmulatorConfig {
        seed: Some(Seed {
            apps: vec![json!({"type": "self_hosted", "domain": "ignored.example.com"})],
            ..Seed::default()
        }),
        ..config
    })
    .await;
    assert_eq!(api.emu.apps(ACC), apps_before);
    assert_eq!(api.emu.policies(ACC), policies_before);
    let linked_after = api.get_ok(&format!("/policies/{}", id(&linked))).await;
    assert_eq!(linked_after["app_count"], json!(1));
    assert_eq!(linked_after["name"], json!("renamed out of band"));
    // The invariants were rebuilt: the attached policy still cannot be deleted, the
    // domain is still taken, the secret was never stored.
    api.delete(&format!("/policies/{}", id(&linked)))
        .await
        .err(409, 19001);
    api.post(
        "/apps",
        json!({"type": "self_hosted", "domain": "api.internal.example.com"}),
    )
    .await
    .err(400, 19006);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains(mcp["saas_app"]["client_secret"].as_str().unwrap()));
    let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(parsed["version"], json!(1));
}

#[tokio::test]
async fn corrupt_state_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    std::fs::write(&path, b"{ not json").unwrap();
    let err = Emulator::start(EmulatorConfig {
        state_file: Some(path),
        ..fast_config()
    })
    .await
    .unwrap_err();
    assert!(matches!(err, EmulatorError::State { .. }), "{err}");
}

#[tokio::test]
async fn invalid_seed_is_an_error() {
    let seed = Seed {
        policies: vec![json!({"name": "no decision", "include": [{"everyone": {}}]})],
        ..Seed::default()
    };
    let err = Emulator::start(EmulatorConfig {
        seed: Some(seed),
        ..fast_config()
    })
    .await
    .unwrap_err();
    assert!(matches!(err, EmulatorError::Seed(_)), "{err}");
}

#[tokio::test]
async fn seed_objects_keep_their_ids_and_may_reference_each_other() {
    let mcp_id = "0d1a2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b";
    let seed = Seed {
        apps: vec![
            json!({"id": mcp_id, "type": "self_hosted", "name": "mcp", "domain": "mcp.example.com",
                   "aud": "a".repeat(64)}),
            json!({"type": "self_hosted", "name": "api", "domain": "api.example.com",
                   "policies": [{"id": "5d0c2e1e-1a0a-4a34-9d53-8d7a4a0b7f11", "precedence": 1}]}),
        ],
        policies: vec![
            json!({"id": "5d0c2e1e-1a0a-4a34-9d53-8d7a4a0b7f11", "name": "linked",
                              "decision": "non_identity", "include": [{"linked_app_token": {"app_uid": mcp_id}}]}),
        ],
        accounts: [(
            "11111111111111111111111111111111".to_string(),
            cfaccess_emulator::SeedAccount {
                apps: vec![json!({"type": "self_hosted", "domain": "other.example.com"})],
                policies: vec![],
            },
        )]
        .into(),
    };
    let api = Api::with(EmulatorConfig {
        seed: Some(seed),
        ..fast_config()
    })
    .await;
    let mcp = api.emu.app(ACC, mcp_id).unwrap();
    assert_eq!(mcp["aud"], json!("a".repeat(64)));
    let p = api
        .emu
        .policy(ACC, "5d0c2e1e-1a0a-4a34-9d53-8d7a4a0b7f11")
        .unwrap();
    assert_eq!(p["app_count"], json!(1));
    assert_eq!(api.emu.apps("11111111111111111111111111111111").len(), 1);
}
