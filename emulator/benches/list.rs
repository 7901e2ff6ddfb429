//! Loads 10,000 apps + 10,000 reusable policies (each app with one attached policy) and
//! reports how long list pages of 1,000 take over HTTP, plus the process RSS.
//! Run: `cargo bench -p cfaccess-emulator --bench list`. Prints numbers, asserts no timing.

use std::time::{Duration, Instant};

use cfaccess_emulator::{DEFAULT_ACCOUNT_ID, Emulator, EmulatorConfig, RateLimit, Seed};
use serde_json::{Value, json};

const OBJECTS: usize = 10_000;
const SAMPLES: usize = 7;

fn seed() -> Seed {
    let (policy_ids, policies) = Seed::allow_policies(OBJECTS, |i| format!("policy-{i:05}"));
    let apps = policy_ids
        .iter()
        .enumerate()
        .map(|(i, pid)| {
            json!({"type": "self_hosted", "name": format!("app-{i:05}"), "domain": format!("app{i}.internal.example.com"),
                   "policies": [{"id": pid, "precedence": 1}]})
        })
        .collect();
    Seed {
        apps,
        policies,
        ..Seed::default()
    }
}

fn rss_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

async fn time_get(client: &reqwest::Client, url: &str) -> (Duration, usize, Value) {
    let mut samples = Vec::with_capacity(SAMPLES);
    let mut last = (0, Value::Null);
    for _ in 0..SAMPLES {
        let started = Instant::now();
        let resp = client
            .get(url)
            .bearer_auth("bench")
            .send()
            .await
            .expect("request");
        let bytes = resp.bytes().await.expect("body");
        samples.push(started.elapsed());
        let body: Value = serde_json::from_slice(&bytes).expect("json");
        last = (bytes.len(), body["result_info"].clone());
    }
    samples.sort();
    (samples[SAMPLES / 2], last.0, last.1)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let rss_before = rss_kib("VmRSS:").unwrap_or(0);
        let seed = seed();
        let started = Instant::now();
        let emu = Emulator::start(EmulatorConfig {
            seed: Some(seed),
            rate_limit: Some(RateLimit::disabled()),
            ..EmulatorConfig::default()
        })
        .await
        .expect("emulator starts");
        println!("loaded {OBJECTS} apps + {OBJECTS} policies in {:?}", started.elapsed());
        let client = reqwest::Client::new();
        let base = format!("{}/accounts/{DEFAULT_ACCOUNT_ID}/access", emu.base_url());
        for (label, url) in [
            ("apps page 1 of 10 (per_page=1000)", format!("{base}/apps?per_page=1000&page=1")),
            ("apps page 10 of 10 (per_page=1000)", format!("{base}/apps?per_page=1000&page=10")),
            ("apps filtered name=app-09 (per_page=1000)", format!("{base}/apps?per_page=1000&name=app-09")),
            ("policies page 5 (per_page=1000)", format!("{base}/policies?per_page=1000&page=5")),
            ("single app GET", format!("{base}/apps/{}", emu.apps(DEFAULT_ACCOUNT_ID)[4321]["id"].as_str().unwrap_or_default())),
        ] {
            let (median, bytes, info) = time_get(&client, &url).await;
            println!("{label:<45} median {median:>10.2?} over {SAMPLES} runs, {bytes} bytes, result_info {info}");
        }
        let rss = rss_kib("VmRSS:").unwrap_or(0);
        let hwm = rss_kib("VmHWM:").unwrap_or(0);
        println!(
            "RSS now {} MiB (before load {} MiB, peak {} MiB; includes the seed JSON and the client)",
            rss / 1024,
            rss_before / 1024,
            hwm / 1024
        );
        emu.shutdown().await;
    });
}
