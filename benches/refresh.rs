//! Cost of a Terraform-style refresh through the API client, with and without read
//! coalescing: for N reusable policies attached across N/5 self-hosted apps, every
//! policy is "refreshed" the way `cfaccess_linked_app_policy` reads it (`get_policy`
//! plus `apps_with_policy`), ten at a time like `terraform plan -parallelism=10`.
//!
//! Runs against the in-process emulator with its rate limit off and the client's
//! limiter off, so the numbers are API calls and local overhead, not throttling.
//! `cargo bench --bench refresh` (optionally `-- 10 100` to pick sizes).

use std::time::{Duration, Instant};

use cfaccess::cloudflare::{AccountId, Client, ClientConfig, PolicyId, SecretString};
use cfaccess_emulator::{DEFAULT_ACCOUNT_ID, Emulator, EmulatorConfig, RateLimit, Seed};
use futures::StreamExt;
use serde_json::json;
use tokio_util::sync::CancellationToken;

const POLICIES_PER_APP: usize = 5;
const PARALLELISM: usize = 10;

struct Row {
    n: usize,
    coalesced: bool,
    calls: usize,
    pages: usize,
    wall: Duration,
}

fn seed(n: usize) -> (Seed, Vec<String>) {
    let (policy_ids, policies) = Seed::allow_policies(n, |i| format!("bench policy {i:04}"));
    let apps = policy_ids
        .chunks(POLICIES_PER_APP)
        .enumerate()
        .map(|(i, chunk)| {
            let domain = format!("app-{i:04}.bench.example.com");
            let links: Vec<_> = chunk
                .iter()
                .enumerate()
                .map(|(p, id)| json!({"id": id, "precedence": p + 1}))
                .collect();
            json!({"type": "self_hosted", "name": format!("bench app {i:04}"), "domain": domain,
                   "destinations": [{"type": "public", "uri": domain}], "policies": links})
        })
        .collect();
    (
        Seed {
            apps,
            policies,
            ..Default::default()
        },
        policy_ids,
    )
}

async fn refresh(n: usize, coalesced: bool) -> Result<Row, Box<dyn std::error::Error>> {
    let (seed, policy_ids) = seed(n);
    let emulator = Emulator::start(EmulatorConfig {
        rate_limit: Some(RateLimit::disabled()),
        seed: Some(seed),
        ..Default::default()
    })
    .await?;
    let config = ClientConfig {
        requests_per_second: 0.0,
        coalesce_reads: coalesced,
        ..ClientConfig::new(emulator.base_url(), SecretString::new("bench-token"))
    };
    let client = Client::new(config, CancellationToken::new())?;
    emulator.clear_request_log();

    let account = &AccountId::parse(DEFAULT_ACCOUNT_ID)?;
    let started = Instant::now();
    let results: Vec<_> = futures::stream::iter(policy_ids.iter())
        .map(|id| {
            let client = client.clone();
            async move {
                let policy = client
                    .get_policy(account, &PolicyId::new_unchecked(id.as_str()))
                    .await?;
                let apps = client.apps_with_policy(account, &policy.id).await?;
                if apps.len() != 1 {
                    return Err(
                        format!("policy {id} found on {} apps, expected 1", apps.len()).into(),
                    );
                }
                Ok::<_, Box<dyn std::error::Error>>(())
            }
        })
        .buffer_unordered(PARALLELISM)
        .collect()
        .await;
    let wall = started.elapsed();
    for result in results {
        result?;
    }

    let log = emulator.request_log();
    let pages = log
        .iter()
        .filter(|r| r.path.ends_with("/access/policies") || r.path.ends_with("/access/apps"))
        .count();
    let row = Row {
        n,
        coalesced: client.coalesces_reads(),
        calls: log.len(),
        pages,
        wall,
    };
    emulator.shutdown().await;
    Ok(row)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `cargo bench` passes `--bench`; any numeric arguments pick the sizes.
    let mut sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    if sizes.is_empty() {
        sizes = vec![10, 100, 1000];
    }
    println!(
        "refresh of N linked policies (get_policy + apps_with_policy each) over N/{POLICIES_PER_APP} apps, parallelism {PARALLELISM}"
    );
    println!(
        "{:>6} {:>11} {:>10} {:>11} {:>12} {:>14}",
        "N", "coalescing", "API calls", "list pages", "wall (ms)", "calls/policy"
    );
    for &n in &sizes {
        for coalesced in [true, false] {
            let row = refresh(n, coalesced).await?;
            println!(
                "{:>6} {:>11} {:>10} {:>11} {:>12.1} {:>14.2}",
                row.n,
                if row.coalesced { "on" } else { "off" },
                row.calls,
                row.pages,
                row.wall.as_secs_f64() * 1000.0,
                row.calls as f64 / row.n as f64
            );
        }
    }
    Ok(())
}
