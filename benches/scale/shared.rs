//! Shared downstream apps (issue 15): the fan-in shape (M policies, each linking its own
//! MCP server app, all attached to the same k apps) and the concurrent-writer run (20
//! parallel attaches to one app at the provider's default limiter while another team
//! attaches a policy of its own every 150 ms, plus one 503 on a PUT). Both report app
//! PUTs and the read→write gaps measured on the emulator's request log.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use cfaccess_emulator::read_write::{AppWrite, Spread, app_id_of, app_writes};
use cfaccess_emulator::{
    ConcurrentWriter, Emulator, Fault, FaultKind, LoggedRequest, RateLimit, Seed,
};
use serde_json::json;

use crate::BoxError;
use crate::scenario::{DEFAULT_RPS, FAST_RPS, Requests, emulator_workspace, seeded_emulator};
use crate::terraform::{Probe, ProviderInstall, Run, Workspace};
use crate::workload::{attachments, policy_ids, provider_header, self_hosted_app};

/// M policies × k shared apps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    pub m: usize,
    pub k: usize,
}

impl Shape {
    /// `12x2` → 12 policies × 2 apps.
    pub fn parse(text: &str) -> Result<Shape, BoxError> {
        let (m, k) = text
            .trim()
            .split_once(['x', 'X', '×'])
            .ok_or_else(|| format!("fan-in shape {text:?}: expected MxK, e.g. 12x2"))?;
        let num = |s: &str| {
            s.trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("fan-in shape {text:?}: {s:?} is not a positive number"))
        };
        Ok(Shape {
            m: num(m)?,
            k: num(k)?,
        })
    }

    pub fn attachments(self) -> usize {
        self.m * self.k
    }
}

/// The seeded account: M MCP server apps, k shared apps each carrying one policy of
/// another team at precedence 1.
struct FanInWorkload {
    shape: Shape,
    mcp_apps: Vec<String>,
    targets: Vec<String>,
    foreign: Vec<String>,
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl FanInWorkload {
    fn new(shape: Shape) -> FanInWorkload {
        FanInWorkload {
            shape,
            mcp_apps: (0..shape.m).map(|_| uuid()).collect(),
            targets: (0..shape.k).map(|_| uuid()).collect(),
            foreign: (0..shape.k).map(|_| uuid()).collect(),
        }
    }

    fn seed(&self) -> Seed {
        let mut apps: Vec<_> = self
            .mcp_apps
            .iter()
            .enumerate()
            .map(|(i, id)| {
                self_hosted_app(
                    id,
                    format!("bench MCP server {i:04}"),
                    format!("mcp-{i:04}.bench.example.com"),
                )
            })
            .collect();
        apps.extend(self.targets.iter().zip(&self.foreign).enumerate().map(
            |(i, (id, foreign))| {
                let mut app = self_hosted_app(
                    id,
                    format!("shared app {i:03}"),
                    format!("shared-{i:03}.bench.example.com"),
                );
                app["policies"] = json!([{"id": foreign, "precedence": 1}]);
                app
            },
        ));
        let policies = self
            .foreign
            .iter()
            .enumerate()
            .map(|(i, id)| {
                json!({
                    "id": id,
                    "name": format!("other team {i:03}"),
                    "decision": "allow",
                    "include": [{"email_domain": {"domain": "example.com"}}],
                })
            })
            .collect();
        Seed {
            apps,
            policies,
            ..Default::default()
        }
    }

    fn config(&self, rps: f64) -> String {
        let list = |ids: &[String]| {
            ids.iter()
                .map(|t| format!("    \"{t}\",\n"))
                .collect::<String>()
        };
        format!(
            r#"{header}
locals {{
  mcp_apps = [
{mcps}  ]
  targets = [
{targets}  ]
}}

resource "cfaccess_linked_app_policy" "p" {{
  count           = {m}
  name            = "fan-in policy ${{count.index}}"
  linked_app_uids = [local.mcp_apps[count.index]]
  target_app_ids  = local.targets
}}
"#,
            header = provider_header(rps),
            mcps = list(&self.mcp_apps),
            targets = list(&self.targets),
            m = self.shape.m,
        )
    }

    /// The apply's outcome: [`Self::check`] on the policies in state when it succeeded.
    fn check_apply(
        &self,
        run: &Run,
        ws: &Workspace,
        emulator: &Emulator,
        account: &str,
    ) -> Result<Result<(), String>, BoxError> {
        if run.code != 0 {
            eprintln!("{}", run.unexpected("failed"));
            return Ok(Err(format!("apply exited {}", run.code)));
        }
        let ids: BTreeSet<String> = policy_ids(&ws.state_path())?.into_values().collect();
        Ok(self.check(emulator, account, &ids))
    }

    /// Every shared app holds its foreign policy at precedence 1 and all M policies.
    fn check(
        &self,
        emulator: &Emulator,
        account: &str,
        ids: &BTreeSet<String>,
    ) -> Result<(), String> {
        if ids.len() != self.shape.m {
            return Err(format!(
                "state holds {} policies, expected {}",
                ids.len(),
                self.shape.m
            ));
        }
        for (app, foreign) in self.targets.iter().zip(&self.foreign) {
            let links = attachments(emulator, account, app);
            if !links.contains(&(foreign.clone(), 1)) {
                return Err(format!(
                    "app {app}: the other team's policy moved or vanished: {links:?}"
                ));
            }
            let have: BTreeSet<String> = links.into_iter().map(|(id, _)| id).collect();
            let missing = ids.difference(&have).count();
            if missing > 0 {
                return Err(format!("app {app}: {missing} attachments missing"));
            }
        }
        Ok(())
    }
}

/// How one apply wrote to apps.
#[derive(Clone, Debug)]
pub struct AppWrites {
    /// `PUT /apps/{id}` requests (any status).
    pub puts: usize,
    /// `GET /apps/{id}` requests.
    pub gets: usize,
    /// PUTs not preceded by a GET of the app answered after its previous PUT.
    pub stale: usize,
    /// Read→write gaps of the PUTs.
    pub gaps: Option<Spread>,
}

impl AppWrites {
    fn of(log: &[LoggedRequest]) -> AppWrites {
        let writes: Vec<AppWrite> = app_writes(log);
        AppWrites {
            puts: writes.len(),
            gets: log
                .iter()
                .filter(|r| r.method == "GET" && app_id_of(&r.path).is_some())
                .count(),
            stale: writes.iter().filter(|w| !w.fresh_read).count(),
            gaps: Spread::of(writes.iter().filter_map(|w| w.gap)),
        }
    }
}

/// One fan-in run.
#[derive(Clone, Debug)]
pub struct FanIn {
    pub shape: Shape,
    /// `None`: rate limit off, fast client limiter. `Some(k)`: Cloudflare's limit
    /// compressed k times (1200 requests per 300 s / k) and the provider's default
    /// limiter × k, as in the rate-limited scale run.
    pub time_scale: Option<f64>,
    pub requests: Requests,
    pub writes: AppWrites,
    pub wall: Duration,
    /// Requests of the following no-change plan.
    pub plan_requests: Option<usize>,
    /// `Ok` when every attachment landed and the foreign policies stayed in place.
    pub check: Result<(), String>,
}

/// Applies M policies onto k shared apps, then a no-change plan: with the rate limit
/// off and a fast client limiter (`time_scale` = `None`), or under Cloudflare's limit
/// and the provider's default limiter, both `time_scale` times faster.
pub async fn run_fan_in(
    terraform: &Path,
    provider: &ProviderInstall,
    shape: Shape,
    parallelism: usize,
    time_scale: Option<f64>,
) -> Result<FanIn, BoxError> {
    let workload = FanInWorkload::new(shape);
    let (limit, rps) = match time_scale {
        None => (RateLimit::disabled(), FAST_RPS),
        Some(k) => (
            RateLimit {
                requests: 1200,
                per: Duration::from_secs_f64(300.0 / k),
            },
            DEFAULT_RPS * k,
        ),
    };
    let emulator = seeded_emulator(workload.seed(), limit).await?;
    let account = emulator.default_account().to_string();
    let config = workload.config(rps);
    let ws = emulator_workspace(terraform, provider, &Probe::Direct, &emulator, &config)?;
    let par = format!("-parallelism={parallelism}");
    eprintln!(
        "fan-in {}x{}{}: apply",
        shape.m,
        shape.k,
        time_scale.map_or(String::new(), |k| format!(" (rate-limited, time ×{k})"))
    );
    emulator.clear_request_log();
    let run = ws
        .run(
            &["apply", "-auto-approve", "-input=false", "-no-color", &par],
            &[],
        )
        .await?;
    let log = emulator.request_log();
    let check = workload.check_apply(&run, &ws, &emulator, &account)?;
    let mut plan_requests = None;
    if check.is_ok() {
        eprintln!("fan-in {}x{}: plan", shape.m, shape.k);
        emulator.clear_request_log();
        let plan = ws
            .run(
                &[
                    "plan",
                    "-detailed-exitcode",
                    "-input=false",
                    "-no-color",
                    &par,
                ],
                &[],
            )
            .await?;
        if plan.code == 0 {
            plan_requests = Some(emulator.request_log().len());
        } else {
            eprintln!("{}", plan.unexpected("was expected to report no changes"));
        }
    }
    emulator.shutdown().await;
    Ok(FanIn {
        shape,
        time_scale,
        requests: Requests::of(&log),
        writes: AppWrites::of(&log),
        wall: run.wall,
        plan_requests,
        check,
    })
}

/// The concurrent-writer run.
#[derive(Clone, Debug)]
pub struct Contended {
    pub policies: usize,
    pub writer_interval: Duration,
    pub requests: Requests,
    pub writes: AppWrites,
    pub wall: Duration,
    /// PUTs answered with the injected 503.
    pub refused: usize,
    pub writer_attached: usize,
    pub writer_lost: usize,
    /// `Ok` when all our attachments landed and the app's own policy kept its place.
    pub check: Result<(), String>,
}

/// 20 (`policies`) parallel attaches to one app with the provider's default limiter
/// while a concurrent writer attaches a policy every `interval`, one app PUT answering
/// 503.
pub async fn run_contended(
    terraform: &Path,
    provider: &ProviderInstall,
    policies: usize,
    interval: Duration,
    parallelism: usize,
) -> Result<Contended, BoxError> {
    let workload = FanInWorkload::new(Shape { m: policies, k: 1 });
    let emulator = seeded_emulator(workload.seed(), RateLimit::cloudflare_default()).await?;
    let account = emulator.default_account().to_string();
    // The provider's defaults: no requests_per_second in the provider block.
    let config = workload
        .config(FAST_RPS)
        .replace(&format!("  requests_per_second = {FAST_RPS}\n"), "");
    let ws = emulator_workspace(terraform, provider, &Probe::Direct, &emulator, &config)?;
    let app = workload.targets[0].clone();
    emulator.add_fault(Fault {
        method: Some("PUT".into()),
        path: format!("/accounts/*/access/apps/{app}"),
        kind: FaultKind::Status(503),
        count: 1,
    });
    emulator.start_concurrent_writer(ConcurrentWriter::new(app.clone(), interval))?;
    eprintln!("shared app: {policies} parallel attaches with a concurrent writer");
    emulator.clear_request_log();
    let par = format!("-parallelism={parallelism}");
    let run = ws
        .run(
            &["apply", "-auto-approve", "-input=false", "-no-color", &par],
            &[],
        )
        .await;
    emulator.stop_concurrent_writers();
    let run = run?;
    let log = emulator.request_log();
    let report = emulator
        .concurrent_writers()
        .into_iter()
        .next()
        .ok_or("the concurrent writer left no report")?;
    let check = workload.check_apply(&run, &ws, &emulator, &account)?;
    emulator.shutdown().await;
    Ok(Contended {
        policies,
        writer_interval: interval,
        requests: Requests::of(&log),
        writes: AppWrites::of(&log),
        wall: run.wall,
        refused: log
            .iter()
            .filter(|r| r.method == "PUT" && r.status == 503)
            .count(),
        writer_attached: report.attached.len(),
        writer_lost: report.lost.len(),
        check,
    })
}
