//! Scale and footprint benchmark with the real `terraform`: API requests and wall time
//! of apply / plan / drift plan / destroy for N = 10, 100, 1000 linked policies against
//! the in-process emulator, read coalescing on and off, an apply under a time-compressed
//! Cloudflare rate limit, and the provider's footprint next to a Go provider built on
//! HashiCorp's plugin libraries. Prints Markdown tables and writes them into
//! `docs/performance.md`. No assertions on time: goals are reported as met or not.
//!
//! Normally run by `scripts/bench.sh` (`make bench`). Environment:
//! - `BENCH_SIZES=10,100,1000` sizes N (M = N/5 target apps);
//! - `BENCH_LIMITED_N` size of the rate-limited apply (default: the largest N; 0 skips),
//!   `BENCH_TIME_SCALE=10` its time compression;
//! - `BENCH_PEER` path of the peer binary (skipped when unset);
//! - `BENCH_PROVIDER` provider binary (default: the one cargo built for this bench);
//! - `TERRAFORM` (default `.tools/bin/terraform`);
//! - `BENCH_SCHEMA_RUNS=20`, `BENCH_VALIDATE_RUNS=7`, `BENCH_PARALLELISM=10`;
//! - `BENCH_OUTPUT` page to update (default `docs/performance.md`; `-` for none);
//! - `BENCH_FAN_IN=12x2,100x5,100x20` fan-in shapes (M policies × k shared apps; empty
//!   or `0` skips them), `BENCH_FAN_IN_LIMITED=100x5,100x20` the same under the
//!   time-compressed rate limit (`BENCH_TIME_SCALE`) with the provider's default
//!   limiter, `BENCH_SHARED=0` skips the concurrent-writer run;
//! - `BENCH_FOOTPRINT=0` / `BENCH_SCALE=0` skip a part; `BENCH_PERF_DIR` runs the
//!   provider under `perf record` (one `perf.<pid>.data` per launch) instead of timing
//!   it during the steps named in `BENCH_PERF_STEP` (default `plan`; also `apply`,
//!   `plan-uncoalesced`, `drift`, `destroy`).

#[path = "scale/footprint.rs"]
mod footprint;
#[path = "scale/machine.rs"]
mod machine;
#[path = "scale/plugin.rs"]
mod plugin;
#[path = "scale/report.rs"]
mod report;
#[path = "scale/scenario.rs"]
mod scenario;
#[path = "scale/shared.rs"]
mod shared;
#[path = "../tests/support/mod.rs"]
mod support;
#[path = "scale/terraform.rs"]
mod terraform;
#[path = "scale/tls.rs"]
mod tls;
#[path = "scale/workload.rs"]
mod workload;

use std::path::PathBuf;

use footprint::Subject;
use terraform::ProviderInstall;

/// Error type of the whole benchmark: it reports and exits.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

const OUR_SOURCE: &str = "registry.terraform.io/cfaccess/cfaccess";
const PEER_SOURCE: &str = "registry.terraform.io/local/workato";
const PEER_EXE: &str = "terraform-provider-workato_v0.16.0";

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn enabled(key: &str) -> bool {
    std::env::var(key).map_or(true, |v| v.trim() != "0")
}

fn sizes() -> Result<Vec<usize>, BoxError> {
    let text = std::env::var("BENCH_SIZES").unwrap_or_else(|_| "10,100,1000".to_string());
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("BENCH_SIZES: {s:?} is not a positive number").into())
        })
        .collect()
}

fn fan_in_shapes(key: &str, default: &str) -> Result<Vec<shared::Shape>, BoxError> {
    let text = std::env::var(key).unwrap_or_else(|_| default.to_string());
    if text.trim() == "0" {
        return Ok(Vec::new());
    }
    text.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(shared::Shape::parse)
        .collect()
}

fn terraform_path() -> PathBuf {
    std::env::var_os("TERRAFORM")
        .filter(|p| !p.is_empty())
        .map_or_else(|| repo_root().join(".tools/bin/terraform"), PathBuf::from)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let sizes = sizes()?;
    let load = machine::Machine::load_average();
    let terraform = terraform_path();
    if !terraform.is_file() {
        return Err(format!(
            "terraform not found at {} (run `make terraform` or set TERRAFORM)",
            terraform.display()
        )
        .into());
    }
    let ours = ProviderInstall {
        source: OUR_SOURCE.to_string(),
        exe_name: "terraform-provider-cfaccess".to_string(),
        binary: std::env::var_os("BENCH_PROVIDER").map_or_else(
            || PathBuf::from(env!("CARGO_BIN_EXE_terraform-provider-cfaccess")),
            PathBuf::from,
        ),
    };
    let parallelism = env_or("BENCH_PARALLELISM", 10usize);
    eprintln!(
        "bench: terraform {}, provider {}",
        terraform.display(),
        ours.binary.display()
    );

    let mut scales = Vec::new();
    let mut limited = None;
    if enabled("BENCH_SCALE") {
        for &n in &sizes {
            scales.push(scenario::run_scale(&terraform, &ours, n, parallelism).await?);
        }
        let limited_n = env_or("BENCH_LIMITED_N", sizes.iter().copied().max().unwrap_or(0));
        if limited_n > 0 {
            let scale = env_or("BENCH_TIME_SCALE", 10.0f64).max(1.0);
            limited = Some(
                scenario::run_limited(&terraform, &ours, limited_n, parallelism, scale).await?,
            );
        }
    }

    let mut fan_in = Vec::new();
    for shape in fan_in_shapes("BENCH_FAN_IN", "12x2,100x5,100x20")? {
        fan_in.push(shared::run_fan_in(&terraform, &ours, shape, parallelism, None).await?);
    }
    let fan_in_scale = env_or("BENCH_TIME_SCALE", 10.0f64).max(1.0);
    for shape in fan_in_shapes("BENCH_FAN_IN_LIMITED", "100x5,100x20")? {
        fan_in.push(
            shared::run_fan_in(&terraform, &ours, shape, parallelism, Some(fan_in_scale)).await?,
        );
    }
    let mut contended = None;
    if enabled("BENCH_SHARED") {
        contended = Some(
            shared::run_contended(
                &terraform,
                &ours,
                20,
                std::time::Duration::from_millis(150),
                parallelism,
            )
            .await?,
        );
    }

    let mut footprints = Vec::new();
    let mut peer_missing = None;
    if enabled("BENCH_FOOTPRINT") {
        let mut subjects = vec![Subject {
            label: "terraform-provider-cfaccess (Rust)".to_string(),
            install: ours.clone(),
            source: "cfaccess/cfaccess".to_string(),
            local_name: "cfaccess".to_string(),
        }];
        match std::env::var_os("BENCH_PEER").filter(|p| !p.is_empty()) {
            Some(peer) => subjects.push(Subject {
                label: format!("{PEER_EXE} (Go)"),
                install: ProviderInstall {
                    source: PEER_SOURCE.to_string(),
                    exe_name: PEER_EXE.to_string(),
                    binary: PathBuf::from(peer),
                },
                source: "local/workato".to_string(),
                local_name: "workato".to_string(),
            }),
            None => peer_missing = Some("BENCH_PEER is not set".to_string()),
        }
        eprintln!("footprint: handshake-to-schema runs");
        footprints = footprint::measure(
            &terraform,
            &subjects,
            env_or("BENCH_SCHEMA_RUNS", 20usize).max(1),
            env_or("BENCH_VALIDATE_RUNS", 7usize).max(1),
        )
        .await?;
    }

    let report = report::Report {
        machine: machine::Machine::describe(&repo_root(), load),
        terraform: terraform::version(&terraform).await,
        provider_version: format!("terraform-provider-cfaccess {}", env!("CARGO_PKG_VERSION")),
        parallelism,
        scales,
        limited,
        fan_in,
        contended,
        footprints,
        peer_missing,
    };
    let markdown = report.markdown();
    println!("{markdown}");
    let output = std::env::var("BENCH_OUTPUT").unwrap_or_default();
    if output != "-" {
        let path = if output.is_empty() {
            repo_root().join("docs/performance.md")
        } else {
            PathBuf::from(output)
        };
        report::write_into(&path, &markdown)?;
        eprintln!("bench: wrote {}", path.display());
    }
    Ok(())
}
