//! The simulated concurrent writer (another team attaching its own policies to a shared
//! app on a timer), and the request log's read→write timing, through the library, the
//! admin API and the command line.

use std::time::Duration;

use cfaccess_emulator::read_write::{Spread, app_writes};
use cfaccess_emulator::{ConcurrentWriter, demo_ids};
use reqwest::Method;
use serde_json::{Value, json};

use super::common::*;

const API_APP: &str = demo_ids::INTERNAL_API_APP;

async fn demo() -> Api {
    Api::demo().await
}

fn attachment_ids(app: &Value) -> Vec<String> {
    app["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect()
}

/// Polls until the writer has made `n` attachments (bounded, the machine may be busy).
async fn wait_for_attachments(api: &Api, n: usize) {
    for _ in 0..200 {
        if api.emu.concurrent_writers()[0].attached.len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the writer did not make {n} attachments in 2 s");
}

#[tokio::test]
async fn writer_attaches_its_own_policies_after_the_existing_ones() {
    let api = demo().await;
    let before = api.emu.app(ACC, API_APP).unwrap();
    let original = before["policies"][0].clone();
    let id = api
        .emu
        .start_concurrent_writer(ConcurrentWriter {
            max_attachments: Some(3),
            ..ConcurrentWriter::new(API_APP, Duration::from_millis(5))
        })
        .unwrap();
    assert_eq!(id, 0);
    wait_for_attachments(&api, 3).await;
    // It stops by itself after max_attachments.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let report = &api.emu.concurrent_writers()[0];
    assert_eq!(report.attached.len(), 3);
    assert!(!report.running);
    assert!(report.lost.is_empty());
    assert_eq!(report.surviving(), 3);
    let names: Vec<&str> = report.attached.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "concurrent-writer 1",
            "concurrent-writer 2",
            "concurrent-writer 3"
        ]
    );
    let precedences: Vec<u32> = report.attached.iter().map(|a| a.precedence).collect();
    assert_eq!(precedences, [2, 3, 4], "after the seed policy at 1");
    let app = api.emu.app(ACC, API_APP).unwrap();
    assert_eq!(app["policies"][0]["id"], original["id"]);
    assert_eq!(app["policies"][0]["precedence"], json!(1));
    let mut want = vec![original["id"].as_str().unwrap().to_string()];
    want.extend(report.attached.iter().map(|a| a.policy_id.clone()));
    assert_eq!(attachment_ids(&app), want);
    // Its policies are real reusable policies that the API lists.
    let listed = api.get_ok("/policies").await;
    let writer_policies = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| {
            p["name"]
                .as_str()
                .unwrap()
                .starts_with("concurrent-writer ")
        })
        .count();
    assert_eq!(writer_policies, 3);
    // Its writes are not in the request log (another team, another token).
    assert!(api.emu.request_log().iter().all(|r| r.method == "GET"));
}

#[tokio::test]
async fn a_put_from_a_stale_read_shows_as_a_loss_and_in_the_log() {
    let api = demo().await;
    let stale = api.get_ok(&format!("/apps/{API_APP}")).await;
    api.emu
        .start_concurrent_writer(ConcurrentWriter {
            max_attachments: Some(2),
            ..ConcurrentWriter::new(API_APP, Duration::from_millis(5))
        })
        .unwrap();
    wait_for_attachments(&api, 2).await;
    // A client PUTs the app back as it read it before the writer's attachments.
    let links: Vec<Value> = stale["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| json!({"id": p["id"], "precedence": p["precedence"]}))
        .collect();
    let mut body = stale.clone();
    body["policies"] = json!(links);
    api.put(&format!("/apps/{API_APP}"), body.clone())
        .await
        .ok(200);
    let report = &api.emu.concurrent_writers()[0];
    assert_eq!(report.lost.len(), 2, "{report:?}");
    assert_eq!(report.surviving(), 0);
    assert!((report.loss_ratio() - 1.0).abs() < f64::EPSILON);

    // The log: one GET, then a PUT built on it; a second PUT without a new read is stale.
    api.put(&format!("/apps/{API_APP}"), body).await.ok(200);
    let log = api.emu.request_log();
    assert!(log.iter().all(|r| r.responded >= r.time));
    let writes = app_writes(&log);
    assert_eq!(writes.len(), 2);
    assert!(writes[0].fresh_read && !writes[1].fresh_read, "{writes:?}");
    assert!(writes[0].gap.unwrap() >= Duration::from_millis(5));
    assert!(writes[1].gap.unwrap() >= writes[0].gap.unwrap());
    let spread = Spread::of(writes.iter().filter_map(|w| w.gap)).unwrap();
    assert_eq!(spread.count, 2);
    assert_eq!(spread.max, writes[1].gap.unwrap());
}

#[tokio::test]
async fn stop_keeps_the_report_and_unknown_apps_are_refused() {
    let api = demo().await;
    let err = api
        .emu
        .start_concurrent_writer(ConcurrentWriter::new(
            "00000000-0000-4000-8000-000000000000",
            Duration::from_millis(5),
        ))
        .unwrap_err();
    assert!(err.contains("no application"), "{err}");
    api.emu
        .start_concurrent_writer(ConcurrentWriter::new(API_APP, Duration::from_millis(5)))
        .unwrap();
    wait_for_attachments(&api, 1).await;
    api.emu.stop_concurrent_writers();
    let made = api.emu.concurrent_writers()[0].attached.len();
    tokio::time::sleep(Duration::from_millis(40)).await;
    let report = &api.emu.concurrent_writers()[0];
    assert!(!report.running);
    assert_eq!(report.attached.len(), made, "nothing after stop");
    // The app being deleted under it stops a writer with an error.
    api.emu
        .start_concurrent_writer(ConcurrentWriter::new(
            demo_ids::COMPANY_WIKI_APP,
            Duration::from_millis(5),
        ))
        .unwrap();
    assert!(
        api.emu
            .delete_app_out_of_band(ACC, demo_ids::COMPANY_WIKI_APP)
    );
    for _ in 0..100 {
        if !api.emu.concurrent_writers()[1].running {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let report = &api.emu.concurrent_writers()[1];
    assert!(!report.running);
    assert!(
        report
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("no longer exists")
    );
}

#[tokio::test]
async fn admin_api_starts_reports_and_stops_writers() {
    let api = demo().await;
    let (status, body) = api
        .admin(
            Method::POST,
            "/writers",
            Some(
                &json!({"app_id": API_APP, "interval_ms": 5, "count": 2, "name_prefix": "team-b"}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["app_id"], json!(API_APP));
    assert_eq!(body["interval_ms"], json!(5));
    wait_for_attachments(&api, 2).await;
    let (status, list) = api.admin(Method::GET, "/writers", None).await;
    assert_eq!(status, 200);
    let w = &list["writers"][0];
    assert_eq!(w["attached_count"], json!(2));
    assert_eq!(w["attached"][1]["name"], json!("team-b 2"));
    assert_eq!(w["lost_count"], json!(0));
    assert_eq!(w["surviving"], json!(2));
    // Someone drops one of them: the report counts it as lost.
    let keep: Vec<Value> = api.emu.app(ACC, API_APP).unwrap()["policies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] != json!("team-b 1"))
        .map(|p| json!({"id": p["id"], "precedence": p["precedence"]}))
        .collect();
    let path = format!("/accounts/{ACC}/apps/{API_APP}/attachments");
    assert_eq!(
        api.admin(Method::PUT, &path, Some(&json!(keep))).await.0,
        200
    );
    let (status, stopped) = api.admin(Method::DELETE, "/writers", None).await;
    assert_eq!(status, 200);
    assert_eq!(stopped["writers"][0]["lost_count"], json!(1));
    assert_eq!(stopped["writers"][0]["running"], json!(false));
    let (_, after) = api.admin(Method::GET, "/writers", None).await;
    assert_eq!(after["writers"], json!([]));
    for bad in [
        json!({"app_id": API_APP, "interval_ms": 0}),
        json!({"app_id": API_APP}),
        json!({"app_id": API_APP, "interval_ms": 5, "count": 0}),
        json!({"app_id": API_APP, "interval_ms": 5, "bogus": 1}),
    ] {
        assert_eq!(
            api.admin(Method::POST, "/writers", Some(&bad)).await.0,
            400,
            "{bad}"
        );
    }
    let unknown = json!({"app_id": "nope", "interval_ms": 5});
    assert_eq!(
        api.admin(Method::POST, "/writers", Some(&unknown)).await.0,
        404
    );
    // The request log's JSON carries the answer time.
    api.get("/apps").await.ok(200);
    let (_, log) = api.admin(Method::GET, "/requests", None).await;
    let entry = &log["requests"][0];
    assert!(
        entry["responded"].is_string() && entry["elapsed_us"].is_u64(),
        "{entry}"
    );
}
