//! Page-number paging: 0, 1, exactly per_page and per_page+1 items; bounds; defaults.

use cfaccess_emulator::{EmulatorConfig, Seed};
use serde_json::{Value, json};

use super::common::*;

fn seeded(apps: usize, policies: usize) -> EmulatorConfig {
    let seed = Seed {
        apps: (0..apps)
            .map(|i| json!({"type": "self_hosted", "name": format!("app-{i:03}"), "domain": format!("app{i}.example.com")}))
            .collect(),
        policies: (0..policies)
            .map(|i| json!({"name": format!("policy-{i:03}"), "decision": "allow", "include": [{"everyone": {}}]}))
            .collect(),
        ..Seed::default()
    };
    EmulatorConfig {
        seed: Some(seed),
        ..fast_config()
    }
}

fn info(r: &Resp) -> (usize, usize, usize, usize) {
    r.ok(200);
    let i = &r.body["result_info"];
    let n = |k: &str| i[k].as_u64().unwrap() as usize;
    (n("page"), n("per_page"), n("count"), n("total_count"))
}

fn names(r: &Resp) -> Vec<String> {
    r.result()
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn page_edges_for_apps_and_policies() {
    const PER: usize = 4;
    for n in [0, 1, PER, PER + 1] {
        let api = Api::with(seeded(n, n)).await;
        for (path, prefix) in [("/apps", "app"), ("/policies", "policy")] {
            let p1 = api.get(&format!("{path}?per_page={PER}")).await;
            assert_eq!(info(&p1), (1, PER, n.min(PER), n), "{path} n={n}");
            let expected: Vec<String> = (0..n.min(PER))
                .map(|i| format!("{prefix}-{i:03}"))
                .collect();
            assert_eq!(names(&p1), expected, "creation order");
            let p2 = api.get(&format!("{path}?per_page={PER}&page=2")).await;
            assert_eq!(
                info(&p2),
                (2, PER, n.saturating_sub(PER), n),
                "{path} n={n}"
            );
            if n == PER + 1 {
                assert_eq!(names(&p2), vec![format!("{prefix}-{PER:03}")]);
            }
            let p3 = api.get(&format!("{path}?per_page={PER}&page=3")).await;
            assert_eq!(p3.result(), &json!([]));
        }
    }
}

#[tokio::test]
async fn defaults_and_bounds() {
    let api = Api::with(seeded(30, 120)).await;
    assert_eq!(info(&api.get("/apps").await), (1, 25, 25, 30));
    assert_eq!(info(&api.get("/policies").await), (1, 100, 100, 120));
    assert_eq!(
        info(&api.get("/apps?per_page=1000").await),
        (1, 1000, 30, 30)
    );
    for q in [
        "per_page=0",
        "per_page=1001",
        "page=0",
        "page=-2",
        "per_page=ten",
    ] {
        api.get(&format!("/apps?{q}")).await.err(400, 19000);
        api.get(&format!("/policies?{q}")).await.err(400, 19000);
    }
    let app = api.emu.apps(ACC)[0].clone();
    api.get(&format!("/apps/{}/policies?per_page=1001", id(&app)))
        .await
        .err(400, 19000);
    let empty = api.get(&format!("/apps/{}/policies", id(&app))).await;
    assert_eq!(info(&empty), (1, 200, 0, 0));
    let _: Value = empty.result().clone();
}
