//! The Cloudflare Access API client against the emulator (library mode) and, for
//! wire-level details the emulator cannot show (request headers, raw bytes, odd
//! responses), against a tiny scripted HTTP server.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, LazyLock, Mutex, OnceLock};
use std::time::Duration;

use cfaccess::cloudflare::{
    AccountId, ApiError, App, AppFilter, AppId, Client, ClientConfig, Decision, Deleted, Policy,
    PolicyBody, PolicyId, PolicyLink, Rule, SecretString,
};
use cfaccess_emulator::{
    DEFAULT_ACCOUNT_ID, Emulator, EmulatorConfig, Fault, FaultKind, RateLimit, Seed, demo_ids,
};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const TOKEN: &str = "cfat-test-token-7f3a9c1e5b";
/// The account the scripted servers answer for.
static SCRIPTED_ACC: LazyLock<AccountId> = LazyLock::new(|| AccountId::new_unchecked("acc"));
/// The emulator's account, as the client takes it.
static ACC: LazyLock<AccountId> = LazyLock::new(|| AccountId::new_unchecked(DEFAULT_ACCOUNT_ID));

async fn emulator_with(seed: Option<Seed>) -> Emulator {
    capture_logs();
    Emulator::start(EmulatorConfig {
        token: Some(TOKEN.into()),
        rate_limit: Some(RateLimit::disabled()),
        seed,
        ..Default::default()
    })
    .await
    .unwrap()
}

/// Fast retries, no client-side rate limit; `tweak` adjusts the rest.
fn config(base_url: &str, tweak: impl FnOnce(&mut ClientConfig)) -> ClientConfig {
    capture_logs();
    let mut config = ClientConfig {
        base_url: base_url.to_owned(),
        api_token: SecretString::new(TOKEN),
        requests_per_second: 0.0,
        min_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        request_timeout: Duration::from_secs(10),
        terraform_version: Some("1.0.3".into()),
        ..Default::default()
    };
    tweak(&mut config);
    config
}

fn client(emulator: &Emulator) -> Client {
    client_with(emulator, |_| {})
}

/// The emulator seeded with the downstream demo, and a client of it.
async fn demo() -> (Emulator, Client) {
    let emulator = emulator_with(Some(Seed::downstream_demo())).await;
    let client = client(&emulator);
    (emulator, client)
}

fn client_with(emulator: &Emulator, tweak: impl FnOnce(&mut ClientConfig)) -> Client {
    Client::new(
        config(&emulator.base_url(), tweak),
        CancellationToken::new(),
    )
    .unwrap()
}

/// Paths of the emulator's API as fault globs.
const POLICIES: &str = "/accounts/*/access/policies";
const ANY_POLICY: &str = "/accounts/*/access/policies/*";
const APPS: &str = "/accounts/*/access/apps";
const ANY_APP: &str = "/accounts/*/access/apps/*";

/// A fault on the next `count` requests of `method` to `path` (a glob, see [`Fault`]).
fn fault(method: &str, path: impl Into<String>, kind: FaultKind, count: u32) -> Fault {
    Fault {
        method: Some(method.into()),
        path: path.into(),
        kind,
        count,
    }
}

/// Attaches `policy_id` to `app_id` in the emulator's account.
async fn attach(
    client: &Client,
    app_id: &str,
    policy_id: &str,
    precedence: Option<u32>,
) -> Result<App, ApiError> {
    client
        .attach_policy(
            &ACC,
            &AppId::new_unchecked(app_id),
            &PolicyId::new_unchecked(policy_id),
            precedence,
        )
        .await
}

/// Waits until `sent()` says the request reached the server, stops the client and
/// returns what `task` ended with, failing after 30 s.
async fn stop_once_sent<T>(
    stop: &CancellationToken,
    sent: impl Fn() -> bool,
    task: tokio::task::JoinHandle<T>,
) -> T {
    while !sent() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .unwrap()
        .unwrap()
}

/// Creates an allow policy named `name` in the emulator's account.
async fn new_policy(client: &Client, name: &str) -> Policy {
    client
        .create_policy(&ACC, &allow_policy(name))
        .await
        .unwrap()
}

/// The one object named `name` among `objects`; fails on none or several.
fn the_one_named(objects: Vec<Value>, name: &str) -> Value {
    let mut named: Vec<Value> = objects.into_iter().filter(|o| o["name"] == name).collect();
    assert_eq!(named.len(), 1, "{named:?}");
    named.remove(0)
}

fn allow_policy(name: &str) -> PolicyBody {
    PolicyBody {
        name: name.into(),
        decision: Decision::Allow,
        include: vec![Rule::EmailDomain {
            domain: "example.com".into(),
        }],
        ..Default::default()
    }
}

fn linked_policy(name: &str, app_uid: &str) -> PolicyBody {
    PolicyBody {
        name: name.into(),
        decision: Decision::NonIdentity,
        include: vec![Rule::linked_app_token(app_uid)],
        ..Default::default()
    }
}

fn self_hosted(name: &str) -> Value {
    let domain = format!(
        "{}.internal.example.com",
        name.to_lowercase().replace(' ', "-")
    );
    json!({
        "type": "self_hosted",
        "name": name,
        "domain": domain,
        "destinations": [{"type": "public", "uri": domain}],
    })
}

fn seed_with(apps: usize, policies: usize) -> Seed {
    Seed {
        apps: (0..apps).map(|i| self_hosted(&format!("app {i:03}"))).collect(),
        policies: (0..policies)
            .map(|i| json!({"name": format!("policy {i:03}"), "decision": "allow", "include": [{"everyone": {}}]}))
            .collect(),
        ..Default::default()
    }
}

/// Requests in the emulator log whose path (after `/client/v4`) matches.
fn logged(
    emulator: &Emulator,
    method: &str,
    path_suffix: &str,
) -> Vec<cfaccess_emulator::LoggedRequest> {
    emulator
        .request_log()
        .into_iter()
        .filter(|r| r.method == method && r.path.ends_with(path_suffix))
        .collect()
}

fn links_of(app: &Value) -> BTreeMap<String, u64> {
    app["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap().to_owned(),
                p["precedence"].as_u64().unwrap(),
            )
        })
        .collect()
}

// ----- CRUD ---------------------------------------------------------------------------

#[tokio::test]
async fn app_crud_round_trip_keeps_foreign_fields_and_attachments() {
    let (emulator, client) = demo().await;

    let mut body = self_hosted("Round Trip");
    body["tags"] = json!(["b-tag", "a-tag"]);
    body["service_auth_401_redirect"] = json!(true);
    body["policies"] = json!([{"id": demo_ids::INTERNAL_API_EMPLOYEES_POLICY, "precedence": 1}]);
    let created = client.create_app(&ACC, &body).await.unwrap();
    assert_eq!(created.app_type.as_str(), "self_hosted");
    assert_eq!(created.name.as_deref(), Some("Round Trip"));
    assert_eq!(
        created.domain.as_deref(),
        Some("round-trip.internal.example.com")
    );
    assert!(created.aud.is_some());
    assert_eq!(
        created.policy_links(),
        vec![PolicyLink {
            id: PolicyId::new_unchecked(demo_ids::INTERNAL_API_EMPLOYEES_POLICY),
            precedence: 1
        }]
    );

    let fetched = client.get_app(&ACC, &created.id).await.unwrap();
    assert_eq!(fetched.id, created.id);
    assert_eq!(
        fetched.extra.get("service_auth_401_redirect"),
        Some(&json!(true))
    );

    // An update built from the read: only the name changes, unknown fields and the
    // attachment (not sent) survive.
    let updated = client
        .update_app_with(&ACC, &created.id, |fresh| {
            let mut app = fresh.clone();
            app.name = Some("Round Trip Renamed".into());
            let update = app.to_update_body();
            assert!(update.get("policies").is_none());
            Ok(update)
        })
        .await
        .unwrap();
    assert_eq!(updated.name.as_deref(), Some("Round Trip Renamed"));
    let stored = emulator.app(&ACC, &created.id).unwrap();
    assert_eq!(stored["service_auth_401_redirect"], json!(true));
    assert_eq!(stored["tags"], json!(["a-tag", "b-tag"]));
    assert_eq!(
        links_of(&stored).get(demo_ids::INTERNAL_API_EMPLOYEES_POLICY),
        Some(&1)
    );
    // The coalesced read sees the write.
    let again = client.get_app(&ACC, &created.id).await.unwrap();
    assert_eq!(again.name.as_deref(), Some("Round Trip Renamed"));

    let listed = client
        .list_apps(&ACC, &AppFilter::by_name("Round Trip Renamed"))
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, created.id);
    assert_eq!(
        client
            .list_apps(&ACC, &AppFilter::default())
            .await
            .unwrap()
            .len(),
        3
    );

    assert_eq!(
        client.delete_app(&ACC, &created.id).await.unwrap(),
        Deleted::Now
    );
    assert_eq!(
        client.delete_app(&ACC, &created.id).await.unwrap(),
        Deleted::AlreadyGone
    );
    let gone = client.get_app(&ACC, &created.id).await.unwrap_err();
    assert!(gone.is_not_found(), "{gone}");
    assert!(emulator.app(&ACC, &created.id).is_none());
}

#[tokio::test]
async fn saas_oidc_app_returns_its_secret_once() {
    let emulator = emulator_with(None).await;
    let client = client(&emulator);
    let body = json!({
        "type": "saas",
        "name": "mcp-server",
        "saas_app": {
            "auth_type": "oidc",
            "redirect_uris": ["https://mcp.example.com/callback"],
            "grant_types": ["authorization_code_with_pkce", "refresh_tokens"],
            "scopes": ["openid", "email"],
        }
    });
    let created = client.create_app(&ACC, &body).await.unwrap();
    let saas = created.saas_app.as_ref().unwrap();
    assert_eq!(saas.auth_type.as_deref(), Some("oidc"));
    assert!(saas.client_id.as_deref().is_some_and(|id| !id.is_empty()));
    let secret = saas
        .client_secret
        .as_ref()
        .expect("secret in the create response");
    assert!(!secret.expose().is_empty());
    assert!(!format!("{created:?}").contains(secret.expose()));
    assert_eq!(saas.access_token_lifetime.as_deref(), Some("5m"));

    let read = client.get_app_uncached(&ACC, &created.id).await.unwrap();
    assert!(read.saas_app.as_ref().unwrap().client_secret.is_none());
    // A rename, so that the body differs from the read and is sent.
    let updated = client
        .update_app_with(&ACC, &created.id, |fresh| {
            let mut update = fresh.to_update_body();
            assert!(update["saas_app"].get("client_id").is_none());
            update["name"] = json!("renamed");
            Ok(update)
        })
        .await
        .unwrap();
    assert_eq!(updated.saas_app.unwrap().client_id, saas.client_id);
}

#[tokio::test]
async fn policy_crud_round_trip() {
    let (emulator, client) = demo().await;

    let body = linked_policy("mcp can call api", demo_ids::COMPANY_WIKI_APP);
    let created = client.create_policy(&ACC, &body).await.unwrap();
    assert_eq!(created.decision, Decision::NonIdentity);
    assert_eq!(
        created.include,
        vec![Rule::linked_app_token(demo_ids::COMPANY_WIKI_APP)]
    );
    assert_eq!(created.session_duration, None);
    assert_eq!(created.reusable, Some(true));
    let sent = &logged(&emulator, "POST", "/access/policies")[0];
    assert!(
        sent.body
            .as_ref()
            .unwrap()
            .get("session_duration")
            .is_none()
    );

    let fetched = client.get_policy(&ACC, &created.id).await.unwrap();
    assert_eq!(fetched.name, "mcp can call api");

    let mut update = fetched.to_body();
    update.session_duration = Some("30m".into());
    update.require = vec![Rule::Email {
        email: "a@example.com".into(),
    }];
    let updated = client
        .update_policy(&ACC, &created.id, &update)
        .await
        .unwrap();
    assert_eq!(updated.session_duration.as_deref(), Some("30m"));
    assert_eq!(
        client.get_policy(&ACC, &created.id).await.unwrap().require,
        update.require
    );

    let all = client.list_policies(&ACC).await.unwrap();
    assert_eq!(all.len(), 3);

    assert_eq!(
        client.delete_policy(&ACC, &created.id).await.unwrap(),
        Deleted::Now
    );
    assert_eq!(
        client.delete_policy(&ACC, &created.id).await.unwrap(),
        Deleted::AlreadyGone
    );
    assert!(
        client
            .get_policy(&ACC, &created.id)
            .await
            .unwrap_err()
            .is_not_found()
    );
}

#[tokio::test]
async fn not_found_is_its_own_error() {
    let (_emulator, client) = demo().await;
    let missing = "00000000-0000-4000-8000-000000000000";
    for err in [
        client
            .get_app(&ACC, &AppId::new_unchecked(missing))
            .await
            .unwrap_err(),
        client
            .get_app_uncached(&ACC, &AppId::new_unchecked(missing))
            .await
            .unwrap_err(),
        client
            .get_policy(&ACC, &PolicyId::new_unchecked(missing))
            .await
            .unwrap_err(),
        client
            .update_policy(&ACC, &PolicyId::new_unchecked(missing), &allow_policy("x"))
            .await
            .unwrap_err(),
    ] {
        assert!(err.is_not_found(), "{err}");
        assert_eq!(err.status(), Some(404));
        assert!(err.to_string().contains(missing), "{err}");
    }
    assert_eq!(
        client
            .delete_app(&ACC, &AppId::new_unchecked(missing))
            .await
            .unwrap(),
        Deleted::AlreadyGone
    );
    // A validation failure is not a 404 and carries the API's code and message.
    let err = client
        .create_policy(
            &ACC,
            &linked_policy("bad", "11111111-1111-4111-8111-111111111111"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert!(err.cf_errors().iter().any(|e| e.code == 12130), "{err}");
    assert!(err.to_string().contains("POST /accounts/"), "{err}");
}

#[tokio::test]
async fn unknown_rule_kinds_survive_read_and_rewrite() {
    let (emulator, client) = demo().await;
    let future_rule = json!({"future_rule": {"alpha": [1, 2, {"b": null}], "beta": "x"}});
    let legacy_okta = json!({"okta": {"connection_id": "c", "email": "e@example.com"}});
    assert!(
        emulator.mutate_policy(&ACC, demo_ids::INTERNAL_API_EMPLOYEES_POLICY, |p| {
            p["include"]
                .as_array_mut()
                .unwrap()
                .push(future_rule.clone());
            p["exclude"] = json!([legacy_okta.clone()]);
        })
    );
    let policy = client
        .get_policy(
            &ACC,
            &PolicyId::new_unchecked(demo_ids::INTERNAL_API_EMPLOYEES_POLICY),
        )
        .await
        .unwrap();
    assert_eq!(
        policy.include[0],
        Rule::EmailDomain {
            domain: "example.com".into()
        }
    );
    assert_eq!(policy.include[1], Rule::Other(future_rule.clone()));
    assert_eq!(policy.exclude, vec![Rule::Other(legacy_okta.clone())]);
    let body = policy.to_body().to_value();
    assert_eq!(body["include"][1], future_rule);
    assert_eq!(body["exclude"][0], legacy_okta);
}

// ----- pagination and coalescing -----------------------------------------------------

#[tokio::test]
async fn lists_follow_every_page() {
    let emulator = emulator_with(Some(seed_with(5, 7))).await;
    let client = client_with(&emulator, |c| c.page_size = 2);

    let policies = client.list_policies(&ACC).await.unwrap();
    assert_eq!(policies.len(), 7);
    assert_eq!(
        policies.iter().map(|p| &p.id).collect::<HashSet<_>>().len(),
        7
    );
    let pages = logged(&emulator, "GET", "/access/policies");
    let queries: Vec<&str> = pages.iter().map(|r| r.query.as_deref().unwrap()).collect();
    assert_eq!(
        queries,
        [
            "page=1&per_page=2",
            "page=2&per_page=2",
            "page=3&per_page=2",
            "page=4&per_page=2"
        ]
    );

    emulator.clear_request_log();
    let apps = client.list_apps(&ACC, &AppFilter::default()).await.unwrap();
    assert_eq!(apps.len(), 5);
    assert_eq!(logged(&emulator, "GET", "/access/apps").len(), 3);

    // The default page size is the API maximum, always sent.
    emulator.clear_request_log();
    let default_client = client_with(&emulator, |_| {});
    default_client
        .list_apps(&ACC, &AppFilter::default())
        .await
        .unwrap();
    assert_eq!(
        logged(&emulator, "GET", "/access/apps")[0].query.as_deref(),
        Some("page=1&per_page=1000")
    );
}

#[tokio::test]
async fn coalesced_gets_cost_one_shared_list() {
    let emulator = emulator_with(Some(seed_with(5, 7))).await;
    let client = client_with(&emulator, |c| c.page_size = 2);
    let ids: Vec<String> = emulator
        .policies(&ACC)
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    emulator.clear_request_log();

    // Concurrent first gets: one list (4 pages), no single GETs.
    let tasks: Vec<_> = ids
        .iter()
        .cloned()
        .map(|id| {
            let client = client.clone();
            tokio::spawn(
                async move { client.get_policy(&ACC, &PolicyId::new_unchecked(&id)).await },
            )
        })
        .collect();
    for (task, id) in tasks.into_iter().zip(&ids) {
        assert_eq!(&task.await.unwrap().unwrap().id, id);
    }
    let log = emulator.request_log();
    assert_eq!(
        log.len(),
        4,
        "{:?}",
        log.iter().map(|r| (&r.method, &r.path)).collect::<Vec<_>>()
    );
    assert!(log.iter().all(|r| r.path.ends_with("/access/policies")));

    // Writes keep the snapshot current without further reads.
    let created = new_policy(&client, "fresh").await;
    let mut body = created.to_body();
    body.name = "fresh renamed".into();
    client
        .update_policy(&ACC, &created.id, &body)
        .await
        .unwrap();
    emulator.clear_request_log();
    assert_eq!(
        client.get_policy(&ACC, &created.id).await.unwrap().name,
        "fresh renamed"
    );
    assert!(emulator.request_log().is_empty());
    client.delete_policy(&ACC, &created.id).await.unwrap();
    emulator.clear_request_log();
    assert!(
        client
            .get_policy(&ACC, &created.id)
            .await
            .unwrap_err()
            .is_not_found()
    );
    // A snapshot miss falls back to one direct GET.
    assert_eq!(emulator.request_log().len(), 1);

    // Disabled coalescing: one GET per call.
    let direct = client_with(&emulator, |c| c.coalesce_reads = false);
    emulator.clear_request_log();
    for id in &ids {
        direct
            .get_policy(&ACC, &PolicyId::new_unchecked(id))
            .await
            .unwrap();
    }
    assert_eq!(emulator.request_log().len(), ids.len());
}

#[tokio::test]
async fn apps_with_policy_reads_the_app_snapshot() {
    let (emulator, client) = demo().await;
    let policy = new_policy(&client, "shared").await;
    attach(&client, demo_ids::INTERNAL_API_APP, &policy.id, Some(5))
        .await
        .unwrap();
    attach(&client, demo_ids::COMPANY_WIKI_APP, &policy.id, None)
        .await
        .unwrap();
    let found = client.apps_with_policy(&ACC, &policy.id).await.unwrap();
    let mut pairs: Vec<(String, u32)> = found
        .iter()
        .map(|r| (r.app_id.to_string(), r.precedence))
        .collect();
    pairs.sort();
    let mut expected = vec![
        (demo_ids::INTERNAL_API_APP.to_owned(), 5),
        (demo_ids::COMPANY_WIKI_APP.to_owned(), 2),
    ];
    expected.sort();
    assert_eq!(pairs, expected);
    assert!(found.iter().all(|r| r.app_type.as_str() == "self_hosted"));

    // Detaching updates the snapshot; a second lookup costs nothing.
    client
        .detach_policy(
            &ACC,
            &AppId::new_unchecked(demo_ids::COMPANY_WIKI_APP),
            &policy.id,
        )
        .await
        .unwrap();
    emulator.clear_request_log();
    let found = client.apps_with_policy(&ACC, &policy.id).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].app_id, demo_ids::INTERNAL_API_APP);
    assert!(emulator.request_log().is_empty());
}

// ----- retries, rate limits, cancellation --------------------------------------------

#[tokio::test]
async fn server_errors_are_retried_until_success() {
    let (emulator, client) = demo().await;
    emulator.add_fault(fault("GET", ANY_POLICY, FaultKind::Status(500), 2));
    let policy = client
        .get_policy_uncached(
            &ACC,
            &PolicyId::new_unchecked(demo_ids::INTERNAL_API_EMPLOYEES_POLICY),
        )
        .await
        .unwrap();
    assert_eq!(policy.name, "Employees");
    let statuses: Vec<u16> = emulator.request_log().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [500, 500, 200]);
    assert_eq!(client.stats().retries, 2);

    // A 500 on create: nothing was committed, so after looking (and finding nothing)
    // the POST is sent again and exactly one policy results.
    emulator.clear_request_log();
    emulator.add_fault(fault("POST", POLICIES, FaultKind::Status(500), 1));
    let created = new_policy(&client, "after 500").await;
    let only = the_one_named(emulator.policies(&ACC), "after 500");
    assert_eq!(only["id"], json!(created.id));
    assert_eq!(logged(&emulator, "POST", "/access/policies").len(), 2);

    // Retries are bounded.
    let bounded = client_with(&emulator, |c| c.max_retries = 2);
    emulator.add_fault(fault("GET", ANY_APP, FaultKind::Status(503), u32::MAX));
    let err = bounded
        .get_app_uncached(&ACC, &AppId::new_unchecked(demo_ids::INTERNAL_API_APP))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert!(err.to_string().contains("after 3 attempts"), "{err}");
}

#[tokio::test]
async fn rate_limited_requests_wait_for_retry_after() {
    let emulator = emulator_with(Some(Seed::downstream_demo())).await;
    // Backoff steps far below one second, so only retry-after can explain the wait.
    let client = client_with(&emulator, |c| {
        c.min_backoff = Duration::from_millis(1);
        c.max_backoff = Duration::from_millis(5);
    });
    emulator.add_fault(fault(
        "GET",
        ANY_APP,
        FaultKind::RateLimited {
            retry_after_secs: 1,
        },
        1,
    ));
    let app = client
        .get_app_uncached(&ACC, &AppId::new_unchecked(demo_ids::INTERNAL_API_APP))
        .await
        .unwrap();
    assert_eq!(app.id, demo_ids::INTERNAL_API_APP);
    let log = emulator.request_log();
    assert_eq!(log.iter().map(|r| r.status).collect::<Vec<_>>(), [429, 200]);
    let gap = log[1].time.duration_since(log[0].time).unwrap();
    // retry-after (1 s) plus at most 10 % jitter; the upper bound only guards against
    // the header being ignored in favour of a long backoff, not speed.
    assert!(gap >= Duration::from_millis(990), "retried after {gap:?}");
    assert!(gap < Duration::from_secs(5), "retried after {gap:?}");
    assert_eq!(client.stats().throttled, 1);
}

#[tokio::test]
async fn client_limiter_keeps_concurrent_tasks_under_the_server_limit() {
    let emulator = Emulator::start(EmulatorConfig {
        token: Some(TOKEN.into()),
        rate_limit: Some(RateLimit {
            requests: 5,
            per: Duration::from_secs(1),
        }),
        seed: Some(Seed::downstream_demo()),
        ..Default::default()
    })
    .await
    .unwrap();
    let client = client_with(&emulator, |c| {
        c.requests_per_second = 3.0;
        c.rate_limit_burst = 1;
    });
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                for _ in 0..3 {
                    client
                        .get_app_uncached(&ACC, &AppId::new_unchecked(demo_ids::INTERNAL_API_APP))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let log = emulator.request_log();
    assert_eq!(log.len(), 12);
    assert!(
        log.iter().all(|r| r.status == 200),
        "a request was throttled by the server"
    );
    assert_eq!(client.stats().throttled, 0);
}

#[tokio::test]
async fn cancellation_ends_a_backoff_wait() {
    let emulator = emulator_with(Some(Seed::downstream_demo())).await;
    let stop = CancellationToken::new();
    let client = Client::new(
        config(&emulator.base_url(), |c| {
            c.max_retry_after = Duration::from_secs(600)
        }),
        stop.clone(),
    )
    .unwrap();
    emulator.add_fault(Fault {
        method: None,
        path: "/accounts/*/access/apps/*".into(),
        kind: FaultKind::RateLimited {
            retry_after_secs: 300,
        },
        count: u32::MAX,
    });
    let task = {
        let client = client.clone();
        tokio::spawn(async move {
            client
                .get_app_uncached(&ACC, &AppId::new_unchecked(demo_ids::INTERNAL_API_APP))
                .await
        })
    };
    // The guard is far shorter than the 300 s wait that cancellation must cut short.
    let result = stop_once_sent(&stop, || !emulator.request_log().is_empty(), task).await;
    assert!(matches!(result, Err(ApiError::Cancelled)), "{result:?}");
    assert_eq!(emulator.request_log().len(), 1);
    // Once stopped, nothing more is sent.
    assert!(
        client
            .get_policy(&ACC, &PolicyId::new_unchecked("x"))
            .await
            .unwrap_err()
            .is_cancelled()
    );
    assert_eq!(emulator.request_log().len(), 1);
}

// ----- ambiguous creates ---------------------------------------------------------------

#[tokio::test]
async fn lost_create_responses_never_duplicate() {
    let (emulator, client) = demo().await;

    emulator.add_fault(fault("POST", POLICIES, FaultKind::DropAfterCommit, 1));
    let policy = client
        .create_policy(
            &ACC,
            &linked_policy("dropped once", demo_ids::COMPANY_WIKI_APP),
        )
        .await
        .unwrap();
    let only = the_one_named(emulator.policies(&ACC), "dropped once");
    assert_eq!(only["id"], json!(policy.id));
    assert_eq!(logged(&emulator, "POST", "/access/policies").len(), 1);

    emulator.add_fault(fault("POST", APPS, FaultKind::DropAfterCommit, 1));
    let app = client
        .create_app(&ACC, &self_hosted("Dropped App"))
        .await
        .unwrap();
    let only = the_one_named(emulator.apps(&ACC), "Dropped App");
    assert_eq!(only["id"], json!(app.id));
    assert_eq!(logged(&emulator, "POST", "/access/apps").len(), 1);
    // The adopted object is in the snapshot like any created one.
    assert_eq!(client.get_app(&ACC, &app.id).await.unwrap().id, app.id);
}

#[tokio::test]
async fn an_older_object_with_the_same_name_is_not_adopted() {
    let (emulator, client) = demo().await;
    // The seeded "Employees" policies are identical in content but older than our
    // request.
    for id in [
        demo_ids::INTERNAL_API_EMPLOYEES_POLICY,
        demo_ids::COMPANY_WIKI_EMPLOYEES_POLICY,
    ] {
        assert!(emulator.mutate_policy(&ACC, id, |p| {
            p["created_at"] = json!("2020-01-01T00:00:00Z");
        }));
    }
    emulator.add_fault(fault("POST", POLICIES, FaultKind::Status(502), 1));
    let mut body = allow_policy("Employees");
    body.include = vec![Rule::EmailDomain {
        domain: "example.com".into(),
    }];
    let created = client.create_policy(&ACC, &body).await.unwrap();
    assert_ne!(created.id, demo_ids::INTERNAL_API_EMPLOYEES_POLICY);
    assert_ne!(created.id, demo_ids::COMPANY_WIKI_EMPLOYEES_POLICY);
}

#[tokio::test]
async fn create_recovery_never_adopts_an_object_this_process_created() {
    let (emulator, client) = demo().await;
    let body = allow_policy("twin");
    // Another resource of this process created an identical policy a moment ago.
    let sibling = client.create_policy(&ACC, &body).await.unwrap();
    // Our POST fails with a 500 (nothing committed, but it might have been): the
    // lookup sees only the sibling's policy, which it must leave alone.
    emulator.add_fault(fault("POST", POLICIES, FaultKind::Status(500), 1));
    let ours = client.create_policy(&ACC, &body).await.unwrap();
    assert_ne!(ours.id, sibling.id, "adopted the sibling's policy");
    let twins: Vec<Value> = emulator
        .policies(&ACC)
        .into_iter()
        .filter(|p| p["name"] == "twin")
        .collect();
    assert_eq!(twins.len(), 2);

    // The same for applications.
    let app_body = self_hosted("Twin App");
    let sibling = client.create_app(&ACC, &app_body).await.unwrap();
    emulator.add_fault(fault("POST", APPS, FaultKind::Status(500), 1));
    // The lookup must not take the sibling; the POST sent again is then refused for
    // the domain the sibling holds, which is the honest outcome.
    match client.create_app(&ACC, &app_body).await {
        Ok(app) => assert_ne!(app.id, sibling.id, "adopted the sibling's application"),
        Err(e) => assert_eq!(e.status(), Some(400), "{e}"),
    }
    assert_eq!(logged(&emulator, "POST", "/access/apps").len(), 3);
}

#[tokio::test]
async fn create_recovery_never_adopts_a_policy_attached_to_an_app() {
    let (emulator, client) = demo().await;
    // Another process created the same policy and attached it to an app.
    let elsewhere = client_with(&emulator, |_| {});
    let body = allow_policy("in use");
    let theirs = elsewhere.create_policy(&ACC, &body).await.unwrap();
    attach(&elsewhere, demo_ids::COMPANY_WIKI_APP, &theirs.id, None)
        .await
        .unwrap();
    emulator.add_fault(fault("POST", POLICIES, FaultKind::Status(502), 1));
    let ours = client.create_policy(&ACC, &body).await.unwrap();
    assert_ne!(ours.id, theirs.id, "adopted a policy an application uses");
    // The same when the API leaves app_count out: the apps themselves are checked.
    let emulator_policy = emulator.policy(&ACC, &theirs.id).unwrap();
    assert_eq!(emulator_policy["app_count"], json!(1));
}

#[tokio::test]
async fn create_recovery_with_two_candidates_adopts_neither_and_names_both() {
    let (emulator, client) = demo().await;
    let body = allow_policy("contested");
    // Another process made the same policy just now and has not attached it yet.
    let theirs = client_with(&emulator, |_| {})
        .create_policy(&ACC, &body)
        .await
        .unwrap();
    emulator.add_fault(fault("POST", POLICIES, FaultKind::DropAfterCommit, 1));
    let err = client.create_policy(&ACC, &body).await.unwrap_err();
    let ours = emulator
        .policies(&ACC)
        .into_iter()
        .find(|p| p["name"] == "contested" && p["id"] != json!(theirs.id))
        .expect("our POST was committed");
    let ours = ours["id"].as_str().unwrap();
    match &err {
        ApiError::AmbiguousCreate { ids, .. } => {
            let mut expected = vec![theirs.id.to_string(), ours.to_owned()];
            expected.sort();
            assert_eq!(ids, &expected);
        }
        other => panic!("expected an ambiguous create, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains(theirs.id.as_str()) && text.contains(ours),
        "{text}"
    );
    // Nothing was sent again.
    assert_eq!(logged(&emulator, "POST", "/access/policies").len(), 2);
}

#[tokio::test]
async fn without_app_count_the_apps_show_which_candidate_is_in_use() {
    // A policy list that leaves app_count out: the lookup lists the applications and
    // leaves the candidate one of them uses alone, so the POST is sent again.
    let (base, seen) = scripted::serve(|n, raw| {
        let line = raw.request_line().to_owned();
        if n == 0 {
            assert!(line.starts_with("POST"), "{line}");
            return scripted::json(502, json!({"success": false, "errors": [{"code": 0, "message": "bad gateway"}], "messages": [], "result": null}));
        }
        let now = now_rfc3339();
        if line.starts_with("POST") {
            return scripted::json(200, ok_envelope(policy_json("ours", "n", &now)));
        }
        if line.contains("/policies?") {
            let mut theirs = policy_json("theirs", "n", &now);
            theirs.as_object_mut().unwrap().remove("app_count");
            return scripted::json(200, list_envelope(vec![theirs]));
        }
        if line.contains("/apps?") {
            return scripted::json(200, list_envelope(vec![json!({"id": "app-1", "type": "self_hosted",
                "policies": [{"id": "theirs", "precedence": 1}]})]));
        }
        panic!("unexpected request {line}")
    })
    .await;
    let client = scripted_client(&base);
    let body = everyone_allowed("n");
    let policy = client.create_policy(&SCRIPTED_ACC, &body).await.unwrap();
    assert_eq!(policy.id, "ours");
    let lines: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|r| {
            r.request_line()
                .split('?')
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert!(
        lines.iter().any(|l| l.contains("/access/apps")),
        "{lines:?}"
    );
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("POST")).count(),
        2,
        "{lines:?}"
    );
}

#[tokio::test]
async fn an_undecodable_create_response_still_yields_the_id() {
    // The POST is accepted but its result does not decode as a policy; reading the
    // policy by id afterwards gives the object.
    let (base, _) = scripted::serve(|_, raw| {
        if raw.request_line().starts_with("POST") {
            return scripted::json(200, ok_envelope(json!({"id": "made-1", "include": "??"})));
        }
        scripted::json(
            200,
            ok_envelope(policy_json("made-1", "n", "2026-01-01T00:00:00Z")),
        )
    })
    .await;
    let client = scripted_client(&base);
    let body = everyone_allowed("n");
    assert_eq!(
        client.create_policy(&SCRIPTED_ACC, &body).await.unwrap().id,
        "made-1"
    );

    // When the read by id does not decode either, the error carries the id.
    let (base, seen) = scripted::serve(|_, _| {
        scripted::json(200, ok_envelope(json!({"id": "made-2", "include": "??"})))
    })
    .await;
    let client = scripted_client(&base);
    let err = client
        .create_policy(&SCRIPTED_ACC, &body)
        .await
        .unwrap_err();
    assert_eq!(err.created_id(), Some("made-2"), "{err:?}");
    assert!(err.to_string().contains("made-2"), "{err}");
    // One POST, one GET of the id: never a second POST.
    let lines: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.request_line().to_owned())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].starts_with("POST") && lines[1].starts_with("GET"),
        "{lines:?}"
    );
    assert!(lines[1].contains("/policies/made-2"), "{lines:?}");
}

#[tokio::test]
async fn the_lookup_after_a_lost_create_runs_even_when_the_provider_stops() {
    let stop = CancellationToken::new();
    let stopper = stop.clone();
    let (base, seen) = scripted::serve(move |n, raw| {
        if n == 0 {
            // Terraform stops the provider while our POST is on the wire; the
            // connection dies without an answer.
            stopper.cancel();
            return scripted::Reply::Hangup;
        }
        assert!(
            raw.request_line().starts_with("GET"),
            "{}",
            raw.request_line()
        );
        let now = now_rfc3339();
        scripted::json(
            200,
            list_envelope(vec![policy_json("committed", "n", &now)]),
        )
    })
    .await;
    let client = Client::new(config(&base, |_| {}), stop.clone()).unwrap();
    let body = everyone_allowed("n");
    let policy = tokio::time::timeout(
        Duration::from_secs(30),
        client.create_policy(&SCRIPTED_ACC, &body),
    )
    .await
    .expect("the lookup is bounded")
    .unwrap();
    assert_eq!(policy.id, "committed");
    assert!(stop.is_cancelled());
    assert_eq!(seen.lock().unwrap().len(), 2);
    // After that, the stop holds for everything else.
    assert!(
        client
            .get_policy_uncached(&SCRIPTED_ACC, &PolicyId::new_unchecked("x"))
            .await
            .unwrap_err()
            .is_cancelled()
    );
}

// ----- attachments -----------------------------------------------------------------------

#[tokio::test]
async fn twenty_concurrent_attaches_to_one_app_all_land() {
    let (emulator, client) = demo().await;
    let app_id = demo_ids::INTERNAL_API_APP;
    let foreign = demo_ids::INTERNAL_API_EMPLOYEES_POLICY;

    let mut ids = Vec::new();
    for i in 0..20 {
        let policy = client
            .create_policy(
                &ACC,
                &linked_policy(&format!("linked {i}"), demo_ids::COMPANY_WIKI_APP),
            )
            .await
            .unwrap();
        ids.push(policy.id);
    }
    emulator.clear_request_log();

    let tasks: Vec<_> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let client = client.clone();
            let id = id.clone();
            tokio::spawn(async move { attach(&client, app_id, &id, Some(i as u32 + 2)).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }

    let links = links_of(&emulator.app(&ACC, app_id).unwrap());
    assert_eq!(links.len(), 21);
    assert_eq!(
        links.get(foreign),
        Some(&1),
        "the pre-existing policy moved or vanished"
    );
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(links.get(id.as_str()), Some(&(i as u64 + 2)), "policy {i}");
    }
    // Attaches waiting together shared a GET and a PUT: fewer PUTs than attaches.
    let puts = logged(&emulator, "PUT", app_id);
    assert!(
        !puts.is_empty() && puts.len() < 20,
        "{} PUTs for 20 attaches",
        puts.len()
    );
    assert_fresh_read_before_every_put(&emulator, app_id);
    // Every PUT carried links only (never expanded policy objects), and kept the
    // foreign entry at its precedence.
    for put in &puts {
        let policies = put.body.as_ref().unwrap()["policies"].as_array().unwrap();
        for entry in policies {
            let keys: HashSet<&str> = entry
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(keys, HashSet::from(["id", "precedence"]));
        }
        assert!(policies.contains(&json!({"id": foreign, "precedence": 1})));
    }

    // Without a precedence: appended after the highest, still all distinct.
    let mut more = Vec::new();
    for i in 0..5 {
        more.push(
            client
                .create_policy(&ACC, &allow_policy(&format!("appended {i}")))
                .await
                .unwrap()
                .id,
        );
    }
    let tasks: Vec<_> = more
        .iter()
        .map(|id| {
            let client = client.clone();
            let id = id.clone();
            tokio::spawn(async move { attach(&client, app_id, &id, None).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let links = links_of(&emulator.app(&ACC, app_id).unwrap());
    let appended: HashSet<u64> = more.iter().map(|id| links[id.as_str()]).collect();
    assert_eq!(appended, (22..=26).collect());

    // Concurrent detaches of half of them leave the rest exactly as they were.
    let tasks: Vec<_> = ids
        .iter()
        .step_by(2)
        .map(|id| {
            let client = client.clone();
            let id = id.clone();
            tokio::spawn(async move {
                client
                    .detach_policy(&ACC, &AppId::new_unchecked(app_id), &id)
                    .await
            })
        })
        .collect();
    for task in tasks {
        assert!(task.await.unwrap().unwrap().is_some());
    }
    let after = links_of(&emulator.app(&ACC, app_id).unwrap());
    assert_eq!(after.len(), 16);
    for (id, precedence) in &links {
        let detached = ids.iter().step_by(2).any(|d| d == id);
        assert_eq!(
            after.get(id),
            if detached { None } else { Some(precedence) }
        );
    }
}

/// Every PUT of `app_id` in the log follows its own GET of the app (no PUT without a
/// fresh read since the previous PUT).
fn assert_fresh_read_before_every_put(emulator: &Emulator, app_id: &str) {
    let mut read_since_put = false;
    for entry in emulator
        .request_log()
        .into_iter()
        .filter(|r| r.path.ends_with(&format!("/access/apps/{app_id}")))
    {
        match entry.method.as_str() {
            "GET" => read_since_put = true,
            "PUT" => {
                assert!(
                    read_since_put,
                    "a PUT of {app_id} without a fresh GET before it"
                );
                read_since_put = false;
            }
            _ => {}
        }
    }
}

#[tokio::test]
async fn attach_and_detach_write_only_when_needed() {
    let (emulator, client) = demo().await;
    let app_id = demo_ids::INTERNAL_API_APP;
    let policy = new_policy(&client, "mine").await;
    let app = attach(&client, app_id, &policy.id, Some(3)).await.unwrap();
    assert!(app.policy_links().contains(&PolicyLink {
        id: policy.id.clone(),
        precedence: 3
    }));

    let writes = emulator.write_count();
    // Same precedence again, or no precedence: already attached.
    attach(&client, app_id, &policy.id, Some(3)).await.unwrap();
    attach(&client, app_id, &policy.id, None).await.unwrap();
    // Precedence held by another policy: refused before any write.
    let err = attach(&client, app_id, &policy.id, Some(1))
        .await
        .unwrap_err();
    match &err {
        ApiError::PrecedenceConflict {
            app_id: a,
            precedence,
            holder,
        } => {
            assert_eq!(a, app_id);
            assert_eq!(*precedence, 1);
            assert_eq!(holder, demo_ids::INTERNAL_API_EMPLOYEES_POLICY);
        }
        other => panic!("expected a precedence conflict, got {other:?}"),
    }
    // Not attached to the wiki; an unknown app counts as gone.
    assert!(
        client
            .detach_policy(
                &ACC,
                &AppId::new_unchecked(demo_ids::COMPANY_WIKI_APP),
                &policy.id
            )
            .await
            .unwrap()
            .is_some()
    );
    let missing = "00000000-0000-4000-8000-000000000000";
    assert!(
        client
            .detach_policy(&ACC, &AppId::new_unchecked(missing), &policy.id)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(emulator.write_count(), writes);

    // Moving to a free precedence is one write that keeps the other entry.
    let moved = attach(&client, app_id, &policy.id, Some(7)).await.unwrap();
    assert_eq!(
        moved.policy_links(),
        vec![
            PolicyLink {
                id: PolicyId::new_unchecked(demo_ids::INTERNAL_API_EMPLOYEES_POLICY),
                precedence: 1
            },
            PolicyLink {
                id: policy.id.clone(),
                precedence: 7
            },
        ]
    );
    assert_eq!(emulator.write_count(), writes + 1);

    // A policy still attached is refused (409) after bounded retries; once detached it
    // deletes.
    let stubborn = client_with(&emulator, |c| c.max_retries = 1);
    let err = stubborn.delete_policy(&ACC, &policy.id).await.unwrap_err();
    assert_eq!(err.status(), Some(409), "{err}");
    client
        .detach_policy(&ACC, &AppId::new_unchecked(app_id), &policy.id)
        .await
        .unwrap();
    assert_eq!(
        client.delete_policy(&ACC, &policy.id).await.unwrap(),
        Deleted::Now
    );
}

#[tokio::test]
async fn modify_attachments_keeps_foreign_and_legacy_entries() {
    let (emulator, client) = demo().await;
    let app = client
        .create_app(&ACC, &self_hosted("Legacy Holder"))
        .await
        .unwrap();
    // A legacy app-scoped policy, created the old way.
    let http = reqwest::Client::new();
    let response: Value = http
        .post(format!("{}/accounts/{}/access/apps/{}/policies", emulator.base_url(), *ACC, app.id))
        .bearer_auth(TOKEN)
        .json(&json!({"name": "legacy", "decision": "allow", "precedence": 4, "include": [{"everyone": {}}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(response["success"], json!(true), "{response}");
    let legacy_id = response["result"]["id"].as_str().unwrap().to_owned();

    let mine = new_policy(&client, "reusable").await;
    let written = client
        .modify_attachments(&ACC, &app.id, |links| {
            assert_eq!(
                links,
                &vec![PolicyLink {
                    id: PolicyId::new_unchecked(legacy_id.as_str()),
                    precedence: 4
                }]
            );
            links.push(PolicyLink {
                id: mine.id.clone(),
                precedence: 1,
            });
            Ok(true)
        })
        .await
        .unwrap();
    let expected = vec![
        PolicyLink {
            id: mine.id.clone(),
            precedence: 1,
        },
        PolicyLink {
            id: PolicyId::new_unchecked(legacy_id.as_str()),
            precedence: 4,
        },
    ];
    assert_eq!(written.policy_links(), expected);
    assert_eq!(
        App::policy_links(&client.get_app_uncached(&ACC, &app.id).await.unwrap()),
        expected
    );

    // An edit that would send duplicates is refused without a write.
    let writes = emulator.write_count();
    let err = client
        .modify_attachments(&ACC, &app.id, |links| {
            links.push(PolicyLink {
                id: PolicyId::new_unchecked("other"),
                precedence: 4,
            });
            Ok(true)
        })
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::InvalidAttachments { .. }), "{err}");
    assert_eq!(emulator.write_count(), writes);
}

#[tokio::test]
async fn attaching_to_a_deleted_app_is_not_found() {
    let (emulator, client) = demo().await;
    let policy = new_policy(&client, "orphan").await;
    assert!(emulator.delete_app_out_of_band(&ACC, demo_ids::COMPANY_WIKI_APP));
    let err = attach(&client, demo_ids::COMPANY_WIKI_APP, &policy.id, None)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

// ----- the per-application writer -------------------------------------------------------

/// `ids.len()` new reusable policies, created one by one.
async fn policies(client: &Client, prefix: &str, count: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..count {
        ids.push(
            client
                .create_policy(&ACC, &allow_policy(&format!("{prefix} {i}")))
                .await
                .unwrap()
                .id
                .into(),
        );
    }
    ids
}

/// Holds the app's writer busy: the next GET of `app_id` answers after 300 ms, and
/// a first attach is started, so requests sent meanwhile queue up as one batch.
async fn occupy_writer(
    emulator: &Emulator,
    client: &Client,
    app_id: &str,
    policy_id: &str,
) -> tokio::task::JoinHandle<Result<App, ApiError>> {
    let delay = Duration::from_millis(300);
    emulator.add_fault(fault(
        "GET",
        format!("/accounts/*/access/apps/{app_id}"),
        FaultKind::Latency(delay),
        1,
    ));
    let first = {
        let (client, app_id, policy_id) = (client.clone(), app_id.to_owned(), policy_id.to_owned());
        tokio::spawn(async move { attach(&client, &app_id, &policy_id, None).await })
    };
    while logged(emulator, "GET", app_id).is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    first
}

/// Every PUT body in `bodies` carries `foreign` at `precedence`, exactly as read.
fn assert_every_put_keeps(bodies: &[Vec<Value>], foreign: &str, precedence: u32) {
    for body in bodies {
        assert!(
            body.contains(&json!({"id": foreign, "precedence": precedence})),
            "{body:?}"
        );
    }
}

/// A client of `emulator` that waits exactly `backoff` before each retry, long enough
/// for another writer to act in between.
fn client_with_fixed_backoff(emulator: &Emulator, backoff: Duration) -> Client {
    client_with(emulator, |c| {
        c.min_backoff = backoff;
        c.max_backoff = backoff;
    })
}

/// Spawns one `attach_policy` per `(policy id, precedence)` request on `app_id`, all at
/// once, so that they queue behind whatever write is in flight.
fn spawn_attaches(
    client: &Client,
    account: &str,
    app_id: &str,
    requests: Vec<(String, Option<u32>)>,
) -> Vec<tokio::task::JoinHandle<Result<App, ApiError>>> {
    requests
        .into_iter()
        .map(|(id, precedence)| {
            let client = client.clone();
            let (account, app_id) = (account.to_owned(), app_id.to_owned());
            tokio::spawn(async move {
                client
                    .attach_policy(
                        &AccountId::new_unchecked(&account),
                        &AppId::new_unchecked(&app_id),
                        &PolicyId::new_unchecked(&id),
                        precedence,
                    )
                    .await
            })
        })
        .collect()
}

/// What each spawned request returned, in request order.
async fn outcomes_of(
    tasks: Vec<tokio::task::JoinHandle<Result<App, ApiError>>>,
) -> Vec<Result<App, ApiError>> {
    futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect()
}

/// The `policies` of every PUT of `app_id`, in order.
fn put_bodies(emulator: &Emulator, app_id: &str) -> Vec<Vec<Value>> {
    logged(emulator, "PUT", app_id)
        .iter()
        .filter_map(|put| put.body.as_ref()?["policies"].as_array().cloned())
        .collect()
}

#[tokio::test]
async fn fan_in_of_twelve_policies_onto_two_shared_apps_costs_at_most_twelve_puts() {
    let (emulator, client) = demo().await;
    let apps = [demo_ids::INTERNAL_API_APP, demo_ids::COMPANY_WIKI_APP];
    let ids = policies(&client, "fan-in", 12).await;
    let before: Vec<BTreeMap<String, u64>> = apps
        .iter()
        .map(|app| links_of(&emulator.app(&ACC, app).unwrap()))
        .collect();
    emulator.clear_request_log();
    let tasks: Vec<_> = ids
        .iter()
        .flat_map(|id| apps.iter().map(move |app| (id.clone(), *app)))
        .map(|(id, app)| {
            let client = client.clone();
            tokio::spawn(async move { attach(&client, app, &id, None).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let puts = emulator
        .request_log()
        .iter()
        .filter(|r| r.method == "PUT")
        .count();
    assert!(puts <= 12, "{puts} PUTs for 24 attachments");
    for (app, before) in apps.iter().zip(before) {
        let after = links_of(&emulator.app(&ACC, app).unwrap());
        assert_eq!(after.len(), before.len() + 12);
        for (id, precedence) in &before {
            assert_eq!(after.get(id), Some(precedence), "a foreign policy moved");
        }
        assert_fresh_read_before_every_put(&emulator, app);
    }
}

#[tokio::test]
async fn a_clashing_request_fails_alone_and_the_rest_of_its_batch_lands() {
    let (emulator, client) = demo().await;
    let app_id = demo_ids::INTERNAL_API_APP;
    let foreign = demo_ids::INTERNAL_API_EMPLOYEES_POLICY;
    let ids = policies(&client, "batch", 5).await;
    emulator.clear_request_log();

    // The first attach holds the writer while four more queue behind it.
    let first = occupy_writer(&emulator, &client, app_id, &ids[0]).await;
    let wanted = [(1, Some(5)), (2, Some(1)), (3, Some(6)), (4, None)];
    let requests = wanted.iter().map(|&(i, p)| (ids[i].clone(), p)).collect();
    let tasks = spawn_attaches(&client, &ACC, app_id, requests);
    first.await.unwrap().unwrap();
    let outcomes = outcomes_of(tasks).await;

    // Precedence 1 is the foreign policy's: that request alone fails, naming it.
    match &outcomes[1] {
        Err(ApiError::PrecedenceConflict {
            precedence, holder, ..
        }) => assert_eq!((*precedence, holder.as_str()), (1, foreign)),
        other => panic!("expected a precedence conflict, got {other:?}"),
    }
    for i in [0, 2, 3] {
        assert!(outcomes[i].is_ok(), "request {i}: {:?}", outcomes[i]);
    }
    let links = links_of(&emulator.app(&ACC, app_id).unwrap());
    assert_eq!(links.get(foreign), Some(&1));
    assert_eq!(links.get(&ids[0]), Some(&2));
    assert_eq!(links.get(&ids[1]), Some(&5));
    assert_eq!(links.get(&ids[2]), None);
    assert_eq!(links.get(&ids[3]), Some(&6));
    assert_eq!(links.get(&ids[4]), Some(&7));
    // One PUT for the first attach, one for the three that queued behind it.
    let bodies = put_bodies(&emulator, app_id);
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert_fresh_read_before_every_put(&emulator, app_id);
    assert_every_put_keeps(&bodies, foreign, 1);
}

#[tokio::test]
async fn a_put_refused_for_one_request_is_retried_without_it() {
    let (emulator, client) = demo().await;
    let app_id = demo_ids::INTERNAL_API_APP;
    let foreign = demo_ids::INTERNAL_API_EMPLOYEES_POLICY;
    let ids = policies(&client, "refused", 4).await;
    // Deleted out of band: the API refuses any PUT that names it.
    let gone = ids[1].clone();
    assert!(emulator.delete_policy_out_of_band(&ACC, &gone));
    emulator.clear_request_log();

    let first = occupy_writer(&emulator, &client, app_id, &ids[0]).await;
    let tasks = spawn_attaches(
        &client,
        &ACC,
        app_id,
        vec![
            // Clashes with the foreign policy: answered before the PUT, so the
            // requests behind it sit one place earlier among those sent.
            (ids[3].clone(), Some(1)),
            (gone.clone(), None),
            (ids[2].clone(), None),
        ],
    );
    first.await.unwrap().unwrap();
    let outcomes = outcomes_of(tasks).await;
    assert!(
        matches!(outcomes[0], Err(ApiError::PrecedenceConflict { .. })),
        "{:?}",
        outcomes[0]
    );
    let refused = outcomes[1].as_ref().unwrap_err();
    assert_eq!(refused.status(), Some(400), "{refused}");
    assert!(outcomes[2].is_ok(), "{:?}", outcomes[2]);

    let links = links_of(&emulator.app(&ACC, app_id).unwrap());
    assert_eq!(links.get(foreign), Some(&1));
    assert!(links.contains_key(&ids[0]) && links.contains_key(&ids[2]));
    assert!(!links.contains_key(&gone) && !links.contains_key(&ids[3]));
    // first attach; the batch naming the deleted policy (refused); the batch without it.
    let bodies = put_bodies(&emulator, app_id);
    assert_eq!(bodies.len(), 3, "{bodies:?}");
    let names = |body: &Vec<Value>, id: &str| body.iter().any(|l| l["id"] == json!(id));
    assert!(names(&bodies[1], &gone) && names(&bodies[1], &ids[2]));
    assert!(!names(&bodies[2], &gone) && names(&bodies[2], &ids[2]));
    assert_fresh_read_before_every_put(&emulator, app_id);
    assert_every_put_keeps(&bodies, foreign, 1);
}

#[tokio::test]
async fn the_put_of_a_read_modify_write_follows_its_read_without_a_rate_limit_wait() {
    let emulator = emulator_with(Some(Seed::downstream_demo())).await;
    // One request a second and no burst: a PUT paying for its own token after the GET
    // would wait about a second behind the read it was built on.
    let client = client_with(&emulator, |c| {
        c.requests_per_second = 1.0;
        c.rate_limit_burst = 1;
    });
    let app_id = demo_ids::INTERNAL_API_APP;
    client
        .detach_policy(
            &ACC,
            &AppId::new_unchecked(app_id),
            &PolicyId::new_unchecked(demo_ids::INTERNAL_API_EMPLOYEES_POLICY),
        )
        .await
        .unwrap()
        .expect("the application exists");
    client
        .update_app_with(&ACC, &AppId::new_unchecked(app_id), |fresh| {
            let mut body = fresh.to_update_body();
            body["name"] = json!("renamed");
            Ok(body)
        })
        .await
        .unwrap();
    let log = emulator.request_log();
    let methods: Vec<&str> = log.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(methods, ["GET", "PUT", "GET", "PUT"]);
    for pair in log.chunks(2) {
        let gap = pair[1].time.duration_since(pair[0].time).unwrap();
        assert!(
            gap < Duration::from_millis(500),
            "the PUT waited {gap:?} after the read it was built on"
        );
    }
}

#[tokio::test]
async fn a_503_on_a_put_is_retried_from_a_fresh_read_never_with_the_old_body() {
    let emulator = emulator_with(Some(Seed::downstream_demo())).await;
    // Backoff long enough for another writer to act between the 503 and the retry.
    let client = client_with_fixed_backoff(&emulator, Duration::from_millis(400));
    let app_id = demo_ids::INTERNAL_API_APP;
    let foreign = demo_ids::INTERNAL_API_EMPLOYEES_POLICY;
    let other_team = demo_ids::COMPANY_WIKI_EMPLOYEES_POLICY;
    let mine = policies(&client, "retried", 1).await.remove(0);
    emulator.clear_request_log();
    emulator.add_fault(fault(
        "PUT",
        format!("/accounts/*/access/apps/{app_id}"),
        FaultKind::Status(503),
        1,
    ));
    let attach = {
        let (client, mine) = (client.clone(), mine.clone());
        tokio::spawn(async move { attach(&client, app_id, &mine, None).await })
    };
    // Another writer attaches its policy while we back off after the 503.
    while logged(&emulator, "PUT", app_id).is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(emulator.set_attachments_out_of_band(
        &ACC,
        app_id,
        vec![(foreign.to_owned(), 1), (other_team.to_owned(), 9)]
    ));
    attach.await.unwrap().unwrap();

    let app_requests: Vec<(String, u16)> = emulator
        .request_log()
        .into_iter()
        .filter(|r| r.path.ends_with(&format!("/access/apps/{app_id}")))
        .map(|r| (r.method, r.status))
        .collect();
    let expected: Vec<(String, u16)> = [("GET", 200), ("PUT", 503), ("GET", 200), ("PUT", 200)]
        .iter()
        .map(|(m, s)| (m.to_string(), *s))
        .collect();
    assert_eq!(app_requests, expected);
    let bodies = put_bodies(&emulator, app_id);
    assert_ne!(bodies[0], bodies[1], "the retry re-sent the old body");
    // The retry was built from the second read: the other writer's policy is kept.
    let links = links_of(&emulator.app(&ACC, app_id).unwrap());
    assert_eq!(
        links.get(other_team),
        Some(&9),
        "the other writer's policy was dropped"
    );
    assert_eq!(links.get(foreign), Some(&1));
    assert_eq!(links.get(&mine), Some(&10));
    assert_every_put_keeps(&bodies, foreign, 1);
}

#[tokio::test]
async fn update_app_with_builds_every_attempt_from_a_fresh_read() {
    let emulator = emulator_with(Some(Seed::downstream_demo())).await;
    let client = client_with_fixed_backoff(&emulator, Duration::from_millis(300));
    let app_id = demo_ids::INTERNAL_API_APP;
    emulator.clear_request_log();
    emulator.add_fault(fault(
        "PUT",
        format!("/accounts/*/access/apps/{app_id}"),
        FaultKind::Status(502),
        1,
    ));
    let reads = Arc::new(Mutex::new(Vec::new()));
    let update = {
        let (client, reads) = (client.clone(), reads.clone());
        tokio::spawn(async move {
            client
                .update_app_with(&ACC, &AppId::new_unchecked(app_id), |fresh| {
                    reads
                        .lock()
                        .unwrap()
                        .push(fresh.extra.get("custom_deny_message").cloned());
                    let mut body = fresh.to_update_body();
                    body["session_duration"] = json!("12h");
                    Ok(body)
                })
                .await
        })
    };
    while logged(&emulator, "PUT", app_id).is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Someone else edits a field we do not manage during our backoff.
    assert!(emulator.mutate_app(&ACC, app_id, |app| {
        app["custom_deny_message"] = json!("set by another team");
    }));
    let updated = update.await.unwrap().unwrap();
    assert_eq!(updated.session_duration.as_deref(), Some("12h"));
    let stored = emulator.app(&ACC, app_id).unwrap();
    assert_eq!(stored["custom_deny_message"], json!("set by another team"));
    assert_eq!(
        *reads.lock().unwrap(),
        [None, Some(json!("set by another team"))]
    );
    assert_fresh_read_before_every_put(&emulator, app_id);
    // Nothing to change: no PUT at all.
    let puts = logged(&emulator, "PUT", app_id).len();
    client
        .update_app_with(&ACC, &AppId::new_unchecked(app_id), |fresh| {
            Ok(fresh.to_update_body())
        })
        .await
        .unwrap();
    assert_eq!(logged(&emulator, "PUT", app_id).len(), puts);
}

#[tokio::test]
async fn a_refusal_that_names_no_policy_is_narrowed_down_one_request_at_a_time() {
    // A server that refuses any PUT naming policy "bad" without saying which entry it
    // objects to: the other requests of the batch must still land, and "bad" alone
    // fails with the server's error.
    let stored = Arc::new(Mutex::new(json!([{"id": "foreign", "precedence": 1}])));
    let state = stored.clone();
    let (base, seen) = scripted::serve(move |_, raw| {
        let app = |links: Value| {
            json!({"id": "a1", "type": "self_hosted", "name": "n", "domain": "n.example.com",
                   "policies": links})
        };
        if raw.request_line().starts_with("PUT") {
            let body: Value = serde_json::from_slice(&raw.body).unwrap();
            if body["policies"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l["id"] == "bad")
            {
                return scripted::json(
                    400,
                    json!({"success": false, "messages": [], "result": null,
                    "errors": [{"code": 12130, "message": "access.api.error.invalid_policy"}]}),
                );
            }
            *state.lock().unwrap() = body["policies"].clone();
            return scripted::json(200, ok_envelope(app(body["policies"].clone())));
        }
        let links = state.lock().unwrap().clone();
        scripted::json(200, ok_envelope(app(links)))
    })
    .await;
    let client = scripted_client(&base);
    let requests = ["good-1", "bad", "good-2"].map(|id| (id.to_owned(), None));
    let tasks = spawn_attaches(&client, "acc", "a1", requests.to_vec());
    let outcomes = outcomes_of(tasks).await;
    assert!(outcomes[0].is_ok(), "{:?}", outcomes[0]);
    assert_eq!(outcomes[1].as_ref().unwrap_err().status(), Some(400));
    assert!(outcomes[2].is_ok(), "{:?}", outcomes[2]);
    let ids: HashSet<String> = stored
        .lock()
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        ids,
        HashSet::from(["foreign", "good-1", "good-2"].map(String::from))
    );
    // Every PUT carried the foreign entry as read, and followed a GET of its own.
    let mut read_since_put = false;
    for raw in seen.lock().unwrap().iter() {
        if raw.request_line().starts_with("GET") {
            read_since_put = true;
        } else {
            assert!(read_since_put, "a PUT without a fresh GET before it");
            read_since_put = false;
            let body: Value = serde_json::from_slice(&raw.body).unwrap();
            assert!(
                body["policies"]
                    .as_array()
                    .unwrap()
                    .contains(&json!({"id": "foreign", "precedence": 1})),
                "{body}"
            );
        }
    }
}

#[tokio::test]
async fn a_missing_precedence_reads_as_one_more_than_the_highest() {
    // An API answer whose entries lack precedence: they come after every numbered one,
    // and a write keeps them there instead of colliding with a numbered entry.
    let app = json!({"id": "a1", "type": "self_hosted", "name": "n", "domain": "n.example.com",
        "policies": [{"id": "bare-1"}, {"id": "numbered", "precedence": 2}, {"id": "bare-2"}]});
    let (base, seen) = scripted::serve(move |_, raw| {
        if raw.request_line().starts_with("PUT") {
            let body: Value = serde_json::from_slice(&raw.body).unwrap();
            let mut echoed = app.clone();
            echoed["policies"] = body["policies"].clone();
            return scripted::json(200, ok_envelope(echoed));
        }
        if raw.request_line().contains("/apps?") {
            return scripted::json(200, list_envelope(vec![app.clone()]));
        }
        scripted::json(200, ok_envelope(app.clone()))
    })
    .await;
    let client = scripted_client(&base);
    let found = client
        .apps_with_policy(&SCRIPTED_ACC, &PolicyId::new_unchecked("bare-1"))
        .await
        .unwrap();
    assert_eq!(found[0].precedence, 3);
    client
        .attach_policy(
            &SCRIPTED_ACC,
            &AppId::new_unchecked("a1"),
            &PolicyId::new_unchecked("new"),
            None,
        )
        .await
        .unwrap();
    let put = seen
        .lock()
        .unwrap()
        .iter()
        .find(|r| r.request_line().starts_with("PUT"))
        .cloned()
        .unwrap();
    let body: Value = serde_json::from_slice(&put.body).unwrap();
    assert_eq!(
        body["policies"],
        json!([{"id": "numbered", "precedence": 2}, {"id": "bare-1", "precedence": 3},
               {"id": "bare-2", "precedence": 4}, {"id": "new", "precedence": 5}])
    );
}

// ----- secrets -------------------------------------------------------------------------

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

static LOGS: OnceLock<Captured> = OnceLock::new();

/// Every test of this binary logs (all targets but the emulator, at TRACE) into one
/// process-wide buffer, installed before the test's first request. A global
/// subscriber is used because a per-test one misses callsites that other tests'
/// threads registered first; the token check therefore covers every test's logs.
fn capture_logs() -> &'static Captured {
    use tracing_subscriber::layer::SubscriberExt;

    LOGS.get_or_init(|| {
        let captured = Captured::default();
        let filter = tracing_subscriber::filter::Targets::new()
            .with_default(tracing::Level::TRACE)
            .with_target(
                "cfaccess_emulator",
                tracing::level_filters::LevelFilter::OFF,
            );
        let subscriber = tracing_subscriber::registry().with(filter).with(
            tracing_subscriber::fmt::layer()
                .with_writer(captured.clone())
                .with_ansi(false),
        );
        tracing::subscriber::set_global_default(subscriber).unwrap();
        captured
    })
}

#[tokio::test]
async fn the_token_never_appears_in_logs_or_errors() {
    let captured = capture_logs();
    let (emulator, client) = demo().await;
    let wrong_token = "cfat-wrong-token-2b8d4f6a";
    let wrong = Client::new(
        ClientConfig {
            api_token: SecretString::new(wrong_token),
            ..config(&emulator.base_url(), |_| {})
        },
        CancellationToken::new(),
    )
    .unwrap();

    let mut errors: Vec<ApiError> = Vec::new();
    emulator.add_fault(fault("GET", ANY_POLICY, FaultKind::Status(500), 1));
    emulator.add_fault(fault("POST", POLICIES, FaultKind::DropAfterCommit, 1));
    client
        .get_policy_uncached(
            &ACC,
            &PolicyId::new_unchecked(demo_ids::INTERNAL_API_EMPLOYEES_POLICY),
        )
        .await
        .unwrap();
    let created = new_policy(&client, "logged").await;
    attach(&client, demo_ids::INTERNAL_API_APP, &created.id, None)
        .await
        .unwrap();
    errors.push(
        client
            .get_app(
                &ACC,
                &AppId::new_unchecked("00000000-0000-4000-8000-000000000000"),
            )
            .await
            .unwrap_err(),
    );
    errors.push(
        client
            .create_policy(&ACC, &linked_policy("bad", "nope"))
            .await
            .unwrap_err(),
    );
    errors.push(
        wrong
            .get_app_uncached(&ACC, &AppId::new_unchecked(demo_ids::INTERNAL_API_APP))
            .await
            .unwrap_err(),
    );
    errors.push(wrong.list_policies(&ACC).await.unwrap_err());
    assert_eq!(errors[2].status(), Some(403));

    let unreachable = Client::new(
        config("http://127.0.0.1:1/client/v4", |c| c.max_retries = 1),
        CancellationToken::new(),
    )
    .unwrap();
    errors.push(
        unreachable
            .get_policy_uncached(&ACC, &PolicyId::new_unchecked("p"))
            .await
            .unwrap_err(),
    );
    assert!(
        matches!(errors.last(), Some(ApiError::Transport { .. })),
        "{:?}",
        errors.last()
    );

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for secret in [TOKEN, wrong_token] {
        assert!(!logs.contains(secret), "token leaked into the logs");
        for err in &errors {
            assert!(!err.to_string().contains(secret), "token in {err}");
            assert!(!format!("{err:?}").contains(secret), "token in {err:?}");
        }
        assert!(!format!("{client:?}").contains(secret));
        assert!(!format!("{wrong:?}").contains(secret));
    }
    // The debug lines that are there say what was called and how it went.
    let request_line = logs
        .lines()
        .find(|l| {
            l.contains("cloudflare api request")
                && l.contains("status=500")
                && l.contains("method=GET")
        })
        .unwrap_or_else(|| panic!("no debug line for the failed attempt in:\n{logs}"));
    for field in ["method=GET", "path=/accounts/", "attempt=1", "latency_ms="] {
        assert!(
            request_line.contains(field),
            "{field} missing in {request_line}"
        );
    }
    assert!(logs.contains("attempt=2"));
}

// ----- wire details, against a scripted server ----------------------------------------

mod scripted {
    //! An HTTP/1.1 server that answers each request from a script and records the raw
    //! request bytes. Every response closes the connection.

    use std::sync::{Arc, Mutex};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    /// One recorded request.
    #[derive(Clone, Debug)]
    pub struct Raw {
        pub head: String,
        pub body: Vec<u8>,
    }

    impl Raw {
        pub fn request_line(&self) -> &str {
            self.head.lines().next().unwrap_or_default()
        }
        pub fn header(&self, name: &str) -> Option<String> {
            self.head.lines().skip(1).find_map(|line| {
                let (key, value) = line.split_once(':')?;
                key.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| value.trim().to_owned())
            })
        }
    }

    /// What to do with request number `n` (0-based).
    pub enum Reply {
        Respond {
            status: u16,
            headers: Vec<(&'static str, String)>,
            body: String,
        },
        /// Read the request, then close without answering.
        Hangup,
        /// Read the request, then keep the connection open without answering.
        Stall,
    }

    pub fn json(status: u16, body: serde_json::Value) -> Reply {
        Reply::Respond {
            status,
            headers: vec![],
            body: body.to_string(),
        }
    }

    type Script = dyn Fn(usize, &Raw) -> Reply + Send + Sync;

    pub async fn serve(
        script: impl Fn(usize, &Raw) -> Reply + Send + Sync + 'static,
    ) -> (String, Arc<Mutex<Vec<Raw>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/client/v4", listener.local_addr().unwrap());
        let seen: Arc<Mutex<Vec<Raw>>> = Arc::default();
        let record = seen.clone();
        let script: Arc<Script> = Arc::new(script);
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                // One task per connection, so a stalled exchange does not block the
                // client's next connection.
                tokio::spawn(handle(socket, record.clone(), script.clone()));
            }
        });
        (base, seen)
    }

    async fn handle(mut socket: TcpStream, record: Arc<Mutex<Vec<Raw>>>, script: Arc<Script>) {
        let mut buffer = Vec::new();
        let mut chunk = [0u8; 4096];
        let head_end = loop {
            if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break at;
            }
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
        let mut raw = Raw {
            head,
            body: buffer[head_end + 4..].to_vec(),
        };
        let length: usize = raw
            .header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        while raw.body.len() < length {
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => raw.body.extend_from_slice(&chunk[..n]),
            }
        }
        let index = {
            let mut seen = record.lock().unwrap();
            seen.push(raw.clone());
            seen.len() - 1
        };
        match script(index, &raw) {
            Reply::Hangup => drop(socket),
            Reply::Stall => {
                tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
                drop(socket);
            }
            Reply::Respond {
                status,
                headers,
                body,
            } => {
                let mut response = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
                    body.len()
                );
                for (key, value) in headers {
                    response.push_str(&format!("{key}: {value}\r\n"));
                }
                response.push_str("\r\n");
                response.push_str(&body);
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            }
        }
    }
}

fn ok_envelope(result: Value) -> Value {
    json!({"success": true, "errors": [], "messages": [], "result": result})
}

fn policy_json(id: &str, name: &str, created_at: &str) -> Value {
    json!({"id": id, "name": name, "decision": "allow", "include": [{"everyone": {}}],
           "exclude": [], "require": [], "created_at": created_at, "reusable": true, "app_count": 0})
}

/// A one-page list answer holding `items`, with `result_info` counting them.
fn list_envelope(items: Vec<Value>) -> Value {
    let count = items.len();
    json!({"success": true, "errors": [], "messages": [], "result": items,
           "result_info": {"page": 1, "per_page": 1000, "count": count, "total_count": count}})
}

/// The current time as the API writes `created_at`: a policy stamped with it counts as
/// created by the request just sent.
fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// A client with the default configuration, talking to a scripted server at `base`.
fn scripted_client(base: &str) -> Client {
    Client::new(config(base, |_| {}), CancellationToken::new()).unwrap()
}

/// The body the create-recovery tests send: `name`, allowing everyone.
fn everyone_allowed(name: &str) -> PolicyBody {
    PolicyBody {
        include: vec![Rule::Everyone],
        ..allow_policy(name)
    }
}

#[tokio::test]
async fn requests_carry_auth_user_agent_and_json_content_type() {
    let (base, seen) = scripted::serve(|_, raw| {
        if raw.request_line().starts_with("GET") {
            scripted::json(200, list_envelope(vec![]))
        } else {
            scripted::json(
                201,
                ok_envelope(policy_json("p1", "n", "2026-01-01T00:00:00Z")),
            )
        }
    })
    .await;
    let client = scripted_client(&base);
    assert!(
        client
            .list_policies(&SCRIPTED_ACC)
            .await
            .unwrap()
            .is_empty()
    );
    let body = everyone_allowed("n");
    client.create_policy(&SCRIPTED_ACC, &body).await.unwrap();

    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen[0].request_line(),
        "GET /client/v4/accounts/acc/access/policies?page=1&per_page=1000 HTTP/1.1"
    );
    for raw in &seen {
        assert_eq!(
            raw.header("authorization").as_deref(),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        assert_eq!(
            raw.header("user-agent").as_deref(),
            Some(
                format!(
                    "terraform-provider-cfaccess/{} (+terraform 1.0.3)",
                    env!("CARGO_PKG_VERSION")
                )
                .as_str()
            )
        );
    }
    assert_eq!(seen[0].header("content-type"), None);
    assert_eq!(
        seen[1].request_line(),
        "POST /client/v4/accounts/acc/access/policies HTTP/1.1"
    );
    assert_eq!(
        seen[1].header("content-type").as_deref(),
        Some("application/json")
    );
    let sent: Value = serde_json::from_slice(&seen[1].body).unwrap();
    assert_eq!(
        sent,
        json!({"name": "n", "decision": "allow", "include": [{"everyone": {}}], "exclude": [], "require": []})
    );
}

#[tokio::test]
async fn throttle_code_971_and_proxy_errors_are_retried() {
    let (base, seen) = scripted::serve(|n, _| match n {
        0 => scripted::json(400, json!({"success": false, "result": null, "messages": [],
            "errors": [{"code": 971, "message": "Please wait and consider throttling your request speed",
                        "documentation_url": "https://developers.cloudflare.com", "source": {"pointer": "/"}}]})),
        1 => scripted::Reply::Respond { status: 502, headers: vec![], body: "<html>Bad gateway</html>".into() },
        2 => scripted::Reply::Hangup,
        _ => scripted::json(200, ok_envelope(policy_json("p1", "n", "2026-01-01T00:00:00Z"))),
    })
    .await;
    let client = scripted_client(&base);
    let policy = client
        .get_policy_uncached(&SCRIPTED_ACC, &PolicyId::new_unchecked("p1"))
        .await
        .unwrap();
    assert_eq!(policy.id, "p1");
    assert_eq!(seen.lock().unwrap().len(), 4);
    let stats = client.stats();
    assert_eq!((stats.requests, stats.retries, stats.throttled), (4, 3, 1));
}

#[tokio::test]
async fn failures_report_every_code_and_non_json_bodies() {
    let (base, _) = scripted::serve(|n, _| match n {
        0 => scripted::json(
            200,
            json!({"success": true, "result": {"id": "a1", "type": "self_hosted"},
            "errors": [], "messages": []}),
        ),
        1 => scripted::json(
            400,
            json!({"success": false, "result": null, "messages": [],
            "errors": [{"code": 11018, "message": "access.api.error.invalid_policy_precedence"},
                       {"code": 12045, "message": "access.api.error.invalid_application_id"}]}),
        ),
        _ => scripted::Reply::Respond {
            status: 403,
            headers: vec![],
            body: "<html>Forbidden by WAF</html>".into(),
        },
    })
    .await;
    let client = scripted_client(&base);
    let err = client
        .update_app_with(&SCRIPTED_ACC, &AppId::new_unchecked("a1"), |_| {
            Ok(json!({"type": "self_hosted", "name": "n"}))
        })
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("PUT /accounts/acc/access/apps/a1"), "{text}");
    assert!(
        text.contains("[11018] access.api.error.invalid_policy_precedence"),
        "{text}"
    );
    assert!(
        text.contains("[12045] access.api.error.invalid_application_id"),
        "{text}"
    );
    let err = client
        .get_app_uncached(&SCRIPTED_ACC, &AppId::new_unchecked("a1"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403));
    assert!(err.to_string().contains("Forbidden by WAF"), "{err}");
    assert!(err.hint().is_some());
}

#[tokio::test]
async fn unknown_rules_are_written_back_byte_for_byte() {
    let rule = r#"{"future_rule":{"alpha":[1,2.5,{"b":null}],"beta":"x"}}"#;
    let stored = format!(
        r#"{{"success":true,"errors":[],"messages":[],"result":{{"id":"p1","name":"n","decision":"bypass","include":[{rule}],"exclude":[],"require":[],"approval_required":false}}}}"#
    );
    let (base, seen) = scripted::serve(move |_, _| scripted::Reply::Respond {
        status: 200,
        headers: vec![],
        body: stored.clone(),
    })
    .await;
    let client = scripted_client(&base);
    let policy = client
        .get_policy_uncached(&SCRIPTED_ACC, &PolicyId::new_unchecked("p1"))
        .await
        .unwrap();
    assert!(matches!(policy.include[0], Rule::Other(_)));
    client
        .update_policy(
            &SCRIPTED_ACC,
            &PolicyId::new_unchecked("p1"),
            &policy.to_body(),
        )
        .await
        .unwrap();
    let put = String::from_utf8(seen.lock().unwrap()[1].body.clone()).unwrap();
    assert!(put.contains(&format!(r#""include":[{rule}]"#)), "{put}");
    assert!(put.contains(r#""approval_required":false"#), "{put}");
}

#[tokio::test]
async fn a_reset_create_is_found_by_its_name_and_age() {
    let (base, seen) = scripted::serve(|n, raw| {
        if n == 0 {
            return scripted::Reply::Hangup;
        }
        assert!(
            raw.request_line().starts_with("GET"),
            "the POST must not be resent: {}",
            raw.request_line()
        );
        let now = now_rfc3339();
        scripted::json(
            200,
            list_envelope(vec![
                policy_json("old", "n", "2020-01-01T00:00:00Z"),
                policy_json("other", "different name", &now),
                policy_json("ours", "n", &now),
            ]),
        )
    })
    .await;
    let client = scripted_client(&base);
    let body = everyone_allowed("n");
    let policy = client.create_policy(&SCRIPTED_ACC, &body).await.unwrap();
    assert_eq!(policy.id, "ours");
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn cancellation_abandons_an_in_flight_read() {
    let (base, seen) = scripted::serve(|_, _| scripted::Reply::Stall).await;
    let stop = CancellationToken::new();
    let client = Client::new(
        config(&base, |c| c.request_timeout = Duration::from_secs(600)),
        stop.clone(),
    )
    .unwrap();
    let task = {
        let client = client.clone();
        tokio::spawn(async move {
            client
                .get_app_uncached(&SCRIPTED_ACC, &AppId::new_unchecked("a1"))
                .await
        })
    };
    // The server has the request and will never answer.
    let result = stop_once_sent(&stop, || !seen.lock().unwrap().is_empty(), task).await;
    assert!(matches!(result, Err(ApiError::Cancelled)), "{result:?}");
}

#[tokio::test]
async fn a_create_that_times_out_is_looked_up_not_resent() {
    // The POST gets no answer within the timeout (the server may still commit it);
    // the list afterwards shows it, so it is adopted and the POST is not repeated.
    let (base, seen) = scripted::serve(|n, raw| {
        if n == 0 {
            return scripted::Reply::Stall;
        }
        assert!(
            raw.request_line().starts_with("GET"),
            "POST resent: {}",
            raw.request_line()
        );
        let now = now_rfc3339();
        scripted::json(200, list_envelope(vec![policy_json("slow", "n", &now)]))
    })
    .await;
    let client = Client::new(
        config(&base, |c| c.request_timeout = Duration::from_millis(300)),
        CancellationToken::new(),
    )
    .unwrap();
    let body = everyone_allowed("n");
    let policy = client.create_policy(&SCRIPTED_ACC, &body).await.unwrap();
    assert_eq!(policy.id, "slow");
    assert_eq!(seen.lock().unwrap().len(), 2);
}
