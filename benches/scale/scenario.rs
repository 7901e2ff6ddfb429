//! The Terraform lifecycle at one size against the in-process emulator: apply (create),
//! a no-change plan with and without read coalescing, a plan after 1% out-of-band
//! drift, destroy; and an apply and a destroy under a time-compressed Cloudflare rate
//! limit.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use cfaccess_emulator::{Emulator, EmulatorConfig, LoggedRequest, RateLimit, Seed};

use crate::BoxError;
use crate::terraform::{Probe, ProviderInstall, ProviderUsage, Run, Workspace};
use crate::workload::{
    Workload, check_applied, check_destroyed, detach, planned_updates, policy_ids,
};

/// The token the emulator accepts and the provider sends.
pub const TOKEN: &str = "bench-token-0123456789abcdef";

/// Requests per second the provider may send to the emulator: the schema's maximum,
/// so that the emulator, not the client-side limiter, is measured.
pub const FAST_RPS: f64 = 1000.0;

/// The provider's default client-side rate (`ClientConfig::default()`).
pub const DEFAULT_RPS: f64 = 3.5;

/// API requests of one command.
#[derive(Clone, Debug, Default)]
pub struct Requests {
    pub total: usize,
    pub by_method: BTreeMap<String, usize>,
    /// Responses with status 429.
    pub throttled: usize,
}

impl Requests {
    pub fn of(log: &[LoggedRequest]) -> Requests {
        let mut r = Requests {
            total: log.len(),
            ..Default::default()
        };
        for entry in log {
            *r.by_method.entry(entry.method.clone()).or_default() += 1;
            if entry.status == 429 {
                r.throttled += 1;
            }
        }
        r
    }

    pub fn method(&self, m: &str) -> usize {
        self.by_method.get(m).copied().unwrap_or(0)
    }
}

/// What one command cost.
#[derive(Clone, Debug)]
pub struct Step {
    pub label: &'static str,
    pub requests: Requests,
    pub wall: Duration,
    pub provider: ProviderUsage,
    pub terraform_cpu: Option<std::time::Duration>,
    pub note: String,
}

/// Which step of [`Scale::steps`] is which.
pub mod step {
    pub const APPLY: &str = "apply (create)";
    pub const PLAN: &str = "plan, no change";
    pub const PLAN_UNCOALESCED: &str = "plan, no change, coalescing off";
    pub const PLAN_DRIFT: &str = "plan after 1% drift";
    pub const DESTROY: &str = "destroy";
}

/// All steps at one size.
#[derive(Clone, Debug)]
pub struct Scale {
    pub n: usize,
    pub m: usize,
    pub steps: Vec<Step>,
}

impl Scale {
    pub fn step(&self, label: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.label == label)
    }
}

/// An emulator requiring [`TOKEN`], holding `seed`, enforcing `limit`.
pub async fn seeded_emulator(seed: Seed, limit: RateLimit) -> Result<Emulator, BoxError> {
    Ok(Emulator::start(EmulatorConfig {
        token: Some(TOKEN.to_string()),
        rate_limit: Some(limit),
        seed: Some(seed),
        ..Default::default()
    })
    .await?)
}

/// An emulator holding the workload's apps, and a workspace whose provider talks to it.
async fn setup(
    terraform: &Path,
    provider: &ProviderInstall,
    workload: &Workload,
    limit: RateLimit,
    rps: f64,
) -> Result<(Emulator, Workspace), BoxError> {
    let emulator = seeded_emulator(workload.seed(), limit).await?;
    let ws = emulator_workspace(
        terraform,
        provider,
        &Probe::Time,
        &emulator,
        &workload.config(rps),
    )?;
    Ok((emulator, ws))
}

/// A workspace holding `config`, its provider pointed at `emulator` with [`TOKEN`].
pub fn emulator_workspace(
    terraform: &Path,
    provider: &ProviderInstall,
    probe: &Probe,
    emulator: &Emulator,
    config: &str,
) -> Result<Workspace, BoxError> {
    let mut ws = Workspace::new(terraform, provider, probe)?;
    ws.set_env("CLOUDFLARE_API_TOKEN", TOKEN);
    ws.set_env("CLOUDFLARE_ACCOUNT_ID", emulator.default_account());
    ws.set_env("CLOUDFLARE_BASE_URL", &emulator.base_url());
    ws.write_config(config)?;
    Ok(ws)
}

/// `BENCH_PERF_DIR` set: the provider runs under `perf record` during the steps named
/// in `BENCH_PERF_STEP` (comma-separated `apply`, `plan`, `plan-uncoalesced`, `drift`,
/// `destroy`; default `plan`), whose RSS and CPU columns are then empty.
fn perf_probe(label: &str) -> Option<Probe> {
    let dir = std::env::var_os("BENCH_PERF_DIR").filter(|d| !d.is_empty())?;
    let key = match label {
        step::APPLY => "apply",
        step::PLAN => "plan",
        step::PLAN_UNCOALESCED => "plan-uncoalesced",
        step::PLAN_DRIFT => "drift",
        step::DESTROY => "destroy",
        _ => return None,
    };
    let wanted = std::env::var("BENCH_PERF_STEP").unwrap_or_else(|_| "plan".to_string());
    wanted
        .split(',')
        .any(|w| w.trim() == key)
        .then(|| Probe::Perf(dir.into()))
}

/// Runs the command of step `label` with an empty request log and returns it with the
/// requests it caused.
async fn measured(
    ws: &Workspace,
    emulator: &Emulator,
    label: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Result<(Run, Requests), BoxError> {
    let profiled = perf_probe(label);
    if let Some(probe) = &profiled {
        ws.set_probe(probe)?;
    }
    emulator.clear_request_log();
    let run = ws.run(args, env).await;
    if profiled.is_some() {
        ws.set_probe(&Probe::Time)?;
    }
    Ok((run?, Requests::of(&emulator.request_log())))
}

fn step(label: &'static str, run: &Run, requests: Requests, note: String) -> Step {
    Step {
        label,
        requests,
        wall: run.wall,
        provider: run.provider.clone(),
        terraform_cpu: run.terraform_cpu,
        note,
    }
}

/// The whole lifecycle for N policies, rate limit off.
pub async fn run_scale(
    terraform: &Path,
    provider: &ProviderInstall,
    n: usize,
    parallelism: usize,
) -> Result<Scale, BoxError> {
    let workload = Workload::new(n);
    let (emulator, ws) = setup(
        terraform,
        provider,
        &workload,
        RateLimit::disabled(),
        FAST_RPS,
    )
    .await?;
    let account = emulator.default_account().to_string();
    let par = format!("-parallelism={parallelism}");
    let mut steps = Vec::new();

    eprintln!("N={n}: apply");
    let apply = ["apply", "-auto-approve", "-input=false", "-no-color", &par];
    let (run, requests) = measured(&ws, &emulator, step::APPLY, &apply, &[]).await?;
    if run.code != 0 {
        return Err(run.unexpected("failed"));
    }
    let ids = policy_ids(&ws.state_path())?;
    check_applied(&emulator, &account, &workload, &ids)?;
    steps.push(step(
        step::APPLY,
        &run,
        requests,
        format!("{n} policies, {n} attachments"),
    ));

    let plan = [
        "plan",
        "-detailed-exitcode",
        "-input=false",
        "-no-color",
        &par,
    ];
    for (label, env) in [
        (step::PLAN, &[][..]),
        (
            step::PLAN_UNCOALESCED,
            &[("CFACCESS_DISABLE_READ_COALESCING", "1")][..],
        ),
    ] {
        eprintln!("N={n}: {label}");
        let (run, requests) = measured(&ws, &emulator, label, &plan, env).await?;
        if run.code != 0 {
            return Err(run.unexpected("was expected to report no changes"));
        }
        steps.push(step(label, &run, requests, "no changes".to_string()));
    }

    eprintln!("N={n}: drift");
    let drifted = workload.drift_indices();
    for &i in &drifted {
        let id = ids.get(&i).ok_or("policy missing from state")?;
        detach(&emulator, &account, workload.target_of(i), id)?;
    }
    let (run, requests) = measured(&ws, &emulator, step::PLAN_DRIFT, &plan, &[]).await?;
    if run.code != 2 {
        return Err(run.unexpected("was expected to report changes"));
    }
    let expected: BTreeSet<String> = drifted.iter().map(|&i| Workload::address(i)).collect();
    let reported = planned_updates(&run.stdout);
    if reported != expected {
        return Err(run.unexpected(&format!(
            "planned updates {reported:?}, expected exactly {expected:?}"
        )));
    }
    steps.push(step(
        step::PLAN_DRIFT,
        &run,
        requests,
        format!(
            "{} detached out of band, {} reported",
            drifted.len(),
            reported.len()
        ),
    ));

    eprintln!("N={n}: destroy");
    let (run, requests) = measured(&ws, &emulator, step::DESTROY, &destroy_args(&par), &[]).await?;
    if run.code != 0 {
        return Err(run.unexpected("failed"));
    }
    check_destroyed(&emulator, &account, &workload)?;
    steps.push(step(step::DESTROY, &run, requests, format!("{n} deleted")));

    emulator.shutdown().await;
    Ok(Scale {
        n,
        m: workload.m,
        steps,
    })
}

/// An apply under Cloudflare's limit, compressed in time.
#[derive(Clone, Debug)]
pub struct Limited {
    pub n: usize,
    /// Time compression factor: the emulator allows 1200 requests per 300 s / `scale`
    /// and the provider sends `DEFAULT_RPS × scale` per second.
    pub scale: f64,
    pub provider_rps: f64,
    pub window: Duration,
    pub apply: LimitedRun,
    /// Not run when the apply did not converge.
    pub destroy: Option<LimitedRun>,
}

/// `terraform destroy` without prompts, at the given `-parallelism=` flag.
fn destroy_args(parallelism: &str) -> [&str; 5] {
    [
        "destroy",
        "-auto-approve",
        "-input=false",
        "-no-color",
        parallelism,
    ]
}

/// One command of the rate-limited run.
#[derive(Clone, Debug)]
pub struct LimitedRun {
    pub requests: Requests,
    pub wall: Duration,
    /// Apply: every policy created and attached. Destroy: nothing left behind.
    pub succeeded: bool,
}

/// Applies N policies, then destroys them, with the emulator enforcing 1200 requests
/// per `300 s / scale` and the provider limited to its default rate × `scale`: the same
/// race between limiter and limit as on a real account, `scale` times faster.
pub async fn run_limited(
    terraform: &Path,
    provider: &ProviderInstall,
    n: usize,
    parallelism: usize,
    scale: f64,
) -> Result<Limited, BoxError> {
    let workload = Workload::new(n);
    let window = Duration::from_secs_f64(300.0 / scale);
    let rps = DEFAULT_RPS * scale;
    let (emulator, ws) = setup(
        terraform,
        provider,
        &workload,
        RateLimit {
            requests: 1200,
            per: window,
        },
        rps,
    )
    .await?;
    let account = emulator.default_account().to_string();
    let par = format!("-parallelism={parallelism}");
    eprintln!("N={n}: rate-limited apply (time ×{scale})");
    let apply = ["apply", "-auto-approve", "-input=false", "-no-color", &par];
    let (run, requests) = measured(&ws, &emulator, "rate-limited apply", &apply, &[]).await?;
    let succeeded = run.code == 0
        && policy_ids(&ws.state_path())
            .and_then(|ids| check_applied(&emulator, &account, &workload, &ids))
            .is_ok();
    if !succeeded {
        eprintln!(
            "{}",
            run.unexpected("did not converge under the rate limit")
        );
    }
    let apply = LimitedRun {
        requests,
        wall: run.wall,
        succeeded,
    };

    // Deletes queue on the limiter here, so the ones waiting together share their
    // fresh application lists: the destroy's request count shows it.
    let destroy = if succeeded {
        eprintln!("N={n}: rate-limited destroy (time ×{scale})");
        let (run, requests) = measured(
            &ws,
            &emulator,
            "rate-limited destroy",
            &destroy_args(&par),
            &[],
        )
        .await?;
        let succeeded = run.code == 0 && check_destroyed(&emulator, &account, &workload).is_ok();
        if !succeeded {
            eprintln!("{}", run.unexpected("did not finish under the rate limit"));
        }
        Some(LimitedRun {
            requests,
            wall: run.wall,
            succeeded,
        })
    } else {
        None
    };
    emulator.shutdown().await;
    Ok(Limited {
        n,
        scale,
        provider_rps: rps,
        window,
        apply,
        destroy,
    })
}
