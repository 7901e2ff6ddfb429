//! The benchmark report: Markdown tables printed to stdout and written between two
//! markers in `docs/performance.md`, leaving the hand-written text around them alone.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use crate::BoxError;
use crate::footprint::{Footprint, Stats};
use crate::machine::Machine;
use crate::scenario::{DEFAULT_RPS, FAST_RPS, Limited, Scale, step};
use crate::shared::{Contended, FanIn, Shape};

pub const BEGIN: &str = "<!-- BEGIN GENERATED: benches/scale.rs (scripts/bench.sh) -->";
pub const END: &str = "<!-- END GENERATED -->";

/// Cloudflare's limit: 1200 requests per 300 s, i.e. 0.25 s per request.
const SECS_PER_REQUEST: f64 = 300.0 / 1200.0;

/// Targets from issue 9 (reported, never asserted).
const GOAL_PLAN_REQUESTS: usize = 30;
const GOAL_RSS_MB: f64 = 30.0;
const GOAL_SCHEMA_MS: f64 = 20.0;
const GOAL_SIZE: usize = 1000;

/// Targets from issue 15 (reported, never asserted).
const GOAL_GAP_MEDIAN_MS: f64 = 50.0;
const GOAL_GAP_MAX_MS: f64 = 150.0;
const GOAL_WRITER_LOSS: f64 = 0.10;
const GOAL_FAN_IN_12X2_PUTS: usize = 12;
const GOAL_FAN_IN_100X5_SHARE: f64 = 0.40;
const GOAL_HEADLINE_REQUESTS: usize = 1200;
/// Requests of the 100 × 5 fan-in apply before the per-app writer (one GET + PUT per
/// attachment), measured by this benchmark at commit `13457b7`.
const BEFORE_100X5_REQUESTS: usize = 1102;

/// Everything one run measured.
pub struct Report {
    pub machine: Machine,
    pub terraform: String,
    pub provider_version: String,
    pub parallelism: usize,
    pub scales: Vec<Scale>,
    pub limited: Option<Limited>,
    /// Fan-in shapes (M policies × k shared apps).
    pub fan_in: Vec<FanIn>,
    /// 20 parallel attaches to one app with a concurrent writer.
    pub contended: Option<Contended>,
    pub footprints: Vec<Footprint>,
    /// Why the peer is missing, when it is.
    pub peer_missing: Option<String>,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `850 ms`, `12.4 s`, `3 min 20 s`.
fn dur(d: Duration) -> String {
    secs(d.as_secs_f64())
}

fn secs(s: f64) -> String {
    if s < 1.0 {
        format!("{:.0} ms", s * 1000.0)
    } else if s < 100.0 {
        format!("{s:.1} s")
    } else {
        let m = (s / 60.0).floor();
        format!("{m:.0} min {:.0} s", s - m * 60.0)
    }
}

fn stats(s: &Stats) -> String {
    format!(
        "{:.1} ms (min {:.1}, max {:.1}, {} runs)",
        ms(s.median),
        ms(s.min),
        ms(s.max),
        s.runs
    )
}

fn mb(kib: u64) -> f64 {
    kib as f64 * 1024.0 / 1e6
}

fn opt_mb(kib: Option<u64>) -> String {
    kib.map_or_else(|| "n/a".to_string(), |k| format!("{:.1} MB", mb(k)))
}

fn ratio(ours: f64, peer: f64) -> String {
    if peer > 0.0 {
        format!("{:.2}", ours / peer)
    } else {
        "n/a".to_string()
    }
}

fn status(met: bool) -> &'static str {
    if met { "**met**" } else { "**not met**" }
}

impl Report {
    /// The generated Markdown block (without the markers).
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        self.header(&mut out);
        self.scale_table(&mut out);
        self.coalescing_table(&mut out);
        self.limit_table(&mut out);
        self.shared_tables(&mut out);
        self.footprint_table(&mut out);
        self.goals_table(&mut out);
        out
    }

    fn header(&self, out: &mut String) {
        let m = &self.machine;
        let _ = writeln!(
            out,
            "Measured {} on {} CPUs ({}), {} RAM, Linux {}, load average {} at the start; {}; {} at commit `{}` (release build). Terraform runs with `-parallelism={}` against the emulator in library mode (in-process, rate limit off); the provider block sets `requests_per_second = {}` so the emulator, not the client-side limiter, is measured.\n",
            m.date,
            m.cpus,
            m.cpu_model,
            m.memory,
            m.kernel,
            m.load,
            self.terraform,
            self.provider_version,
            m.commit,
            self.parallelism,
            FAST_RPS
        );
    }

    fn scale_table(&self, out: &mut String) {
        section(
            out,
            "API requests and wall time",
            "N `cfaccess_linked_app_policy` resources over M = N/5 seeded self-hosted apps (plus one seeded MCP server app); every policy links the MCP app and sets `target_app_ids` to one app, so each app carries 5 attachments. \"At 1200/300 s\" is requests × 0.25 s, the least time a real account needs for those requests under Cloudflare's limit. Provider RSS and CPU come from `/usr/bin/time` wrapping every provider process Terraform launched for the command (RSS: the largest; CPU: user + system, summed); Terraform CPU is terraform's own, provider processes excluded.",
        );
        table_head(
            out,
            "| N | M | command | API requests | GET | POST | PUT | DELETE | requests / resource | wall | at 1200/300 s | provider peak RSS | provider CPU | Terraform CPU | check |",
            "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        );
        for s in &self.scales {
            for st in &s.steps {
                let r = &st.requests;
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} | {} | {} | {:.2} | {} | {} | {} | {} | {} | {} |",
                    s.n,
                    s.m,
                    st.label,
                    r.total,
                    r.method("GET"),
                    r.method("POST"),
                    r.method("PUT"),
                    r.method("DELETE"),
                    r.total as f64 / s.n as f64,
                    dur(st.wall),
                    secs(r.total as f64 * SECS_PER_REQUEST),
                    opt_mb(st.provider.peak_rss_kib),
                    if st.provider.launches > 0 {
                        dur(st.provider.cpu)
                    } else {
                        "n/a".to_string()
                    },
                    st.terraform_cpu.map_or_else(|| "n/a".to_string(), dur),
                    st.note
                );
            }
        }
        out.push('\n');
    }

    fn coalescing_table(&self, out: &mut String) {
        section(
            out,
            "Read coalescing",
            "The same no-change plan with `CFACCESS_DISABLE_READ_COALESCING=1` in Terraform's environment (inherited by the provider), which makes every read a GET of its own.",
        );
        table_head(
            out,
            "| N | requests, coalescing on | requests, off | off ÷ on | wall, on | wall, off | at 1200/300 s, on | at 1200/300 s, off |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|",
        );
        for s in &self.scales {
            let (Some(on), Some(off)) = (s.step(step::PLAN), s.step(step::PLAN_UNCOALESCED)) else {
                continue;
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                s.n,
                on.requests.total,
                off.requests.total,
                ratio(off.requests.total as f64, on.requests.total as f64),
                dur(on.wall),
                dur(off.wall),
                secs(on.requests.total as f64 * SECS_PER_REQUEST),
                secs(off.requests.total as f64 * SECS_PER_REQUEST)
            );
        }
        out.push('\n');
    }

    fn limit_table(&self, out: &mut String) {
        section(
            out,
            "Under Cloudflare's rate limit",
            &format!(
                "A real account allows 1200 requests per 300 s (4 requests/s); the provider's limiter defaults to {DEFAULT_RPS} requests/s with a burst of 10, so an apply needs at least requests ÷ 4 s and, with the default limiter, about requests ÷ {DEFAULT_RPS} s. The measured run, an apply and then a destroy of the same policies, compresses time: the emulator enforces 1200 requests per 300 s ÷ k and the provider sends {DEFAULT_RPS} × k requests/s, the same race between limiter and limit k times faster."
            ),
        );
        table_head(
            out,
            &format!(
                "| N | apply requests (no limit) | ÷ 4 req/s | ÷ {DEFAULT_RPS} req/s (default limiter) |"
            ),
            "|---:|---:|---:|---:|",
        );
        for s in &self.scales {
            if let Some(apply) = s.step(step::APPLY) {
                let n = apply.requests.total as f64;
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} |",
                    s.n,
                    apply.requests.total,
                    secs(n / 4.0),
                    secs(n / DEFAULT_RPS)
                );
            }
        }
        out.push('\n');
        match &self.limited {
            Some(l) => {
                table_head(
                    out,
                    "| N | command | k | emulator limit | provider rate | API requests | requests / resource | 429 responses | wall | wall × k (real-account estimate) | converged |",
                    "|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---|",
                );
                let runs = [
                    (
                        "apply",
                        Some(&l.apply),
                        "yes: every policy created and attached",
                    ),
                    (
                        "destroy",
                        l.destroy.as_ref(),
                        "yes: every policy and attachment gone",
                    ),
                ];
                for (command, run, done) in runs {
                    let Some(run) = run else {
                        let _ = writeln!(
                            out,
                            "| {} | {command} | | | | | | | | | not run (the apply did not converge) |",
                            l.n
                        );
                        continue;
                    };
                    let _ = writeln!(
                        out,
                        "| {} | {command} | {} | 1200 / {} | {} req/s | {} | {:.2} | {} | {} | {} | {} |",
                        l.n,
                        l.scale,
                        dur(l.window),
                        l.provider_rps,
                        run.requests.total,
                        run.requests.total as f64 / l.n.max(1) as f64,
                        run.requests.throttled,
                        dur(run.wall),
                        secs(run.wall.as_secs_f64() * l.scale),
                        if run.succeeded { done } else { "no" }
                    );
                }
            }
            None => {
                let _ = writeln!(out, "(rate-limited apply not run: `BENCH_LIMITED_N=0`)");
            }
        }
        out.push('\n');
    }

    fn shared_tables(&self, out: &mut String) {
        if self.fan_in.is_empty() && self.contended.is_none() {
            return;
        }
        section(
            out,
            "Shared apps: fan-in and a concurrent writer",
            &format!(
                "Fan-in: M `cfaccess_linked_app_policy` resources, each linking its own seeded MCP server app and attached to the same k seeded apps (M × k attachments); every shared app starts with another team's policy at precedence 1, and the check requires it still there afterwards with every attachment made. \"Limits\" off: emulator rate limit off, `requests_per_second = {FAST_RPS}` (the real-account estimate is then requests × 0.25 s); time ×k: Cloudflare's limit compressed k times and the provider's default limiter × k, as in the rate-limited run above (the estimate is then wall × k). \"App PUTs\" and \"app GETs\" are `PUT`/`GET /apps/{{id}}`; the read→write gap of a PUT is its arrival minus the answer to the latest GET of the same app (`cfaccess_emulator::read_write`); a stale PUT is one with no GET of its app answered since that app's previous PUT."
            ),
        );
        if !self.fan_in.is_empty() {
            table_head(
                out,
                "| M × k | limits | attachments | API requests | GET | POST | PUT | 429 | app GETs | app PUTs | app PUTs / attachment | stale PUTs | read→write gap median / p90 / max | wall | real-account estimate | no-change plan requests | check |",
                "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|",
            );
            for f in &self.fan_in {
                let r = &f.requests;
                let _ = writeln!(
                    out,
                    "| {} × {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.2} | {} | {} | {} | {} | {} | {} |",
                    f.shape.m,
                    f.shape.k,
                    f.time_scale.map_or_else(
                        || "off; 1000 req/s".to_string(),
                        |k| format!(
                            "1200 / {} and {} req/s (time ×{k})",
                            secs(300.0 / k),
                            DEFAULT_RPS * k
                        )
                    ),
                    f.shape.attachments(),
                    r.total,
                    r.method("GET"),
                    r.method("POST"),
                    r.method("PUT"),
                    r.throttled,
                    f.writes.gets,
                    f.writes.puts,
                    f.writes.puts as f64 / f.shape.attachments() as f64,
                    f.writes.stale,
                    gaps(f.writes.gaps),
                    dur(f.wall),
                    estimate(f),
                    f.plan_requests
                        .map_or_else(|| "not run".to_string(), |n| n.to_string()),
                    check(&f.check)
                );
            }
            out.push('\n');
        }
        if let Some(c) = &self.contended {
            let _ = writeln!(
                out,
                "Concurrent writer: {} policies attach to one shared app with `-parallelism={}` under the provider's **default** limiter ({DEFAULT_RPS} requests/s, burst 10; emulator limit 1200/300 s) while the emulator's concurrent writer attaches a policy of its own to the same app every {} ms; the first app PUT answers 503. \"Lost\" counts the writer's attachments that are no longer on the app after the apply.\n",
                c.policies,
                self.parallelism,
                c.writer_interval.as_millis()
            );
            table_head(
                out,
                "| policies | API requests | app GETs | app PUTs | 503 | stale PUTs | read→write gap median / p90 / max | writer's attachments | lost | lost % | wall | check |",
                "|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---|",
            );
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.1}% | {} | {} |",
                c.policies,
                c.requests.total,
                c.writes.gets,
                c.writes.puts,
                c.refused,
                c.writes.stale,
                gaps(c.writes.gaps),
                c.writer_attached,
                c.writer_lost,
                loss(c) * 100.0,
                dur(c.wall),
                check(&c.check)
            );
            out.push('\n');
        }
        self.shared_goals(out);
    }

    fn shared_goals(&self, out: &mut String) {
        let _ = writeln!(out, "#### Goals of issue 15\n");
        table_head(out, "| goal | measured | status |", "|---|---|---|");
        let c = self.contended.as_ref();
        let gap = c.and_then(|c| c.writes.gaps);
        goal(
            out,
            &format!(
                "20 parallel attaches at the default limiter: read→write gap ≤ {GOAL_GAP_MEDIAN_MS} ms median, ≤ {GOAL_GAP_MAX_MS} ms max (before: 571 ms median)"
            ),
            &gap.map_or("not run".to_string(), |g| gaps(Some(g))),
            gap.map(|g| ms(g.median) <= GOAL_GAP_MEDIAN_MS && ms(g.max) <= GOAL_GAP_MAX_MS),
        );
        let stale: Option<usize> = (c.is_some() || !self.fan_in.is_empty()).then(|| {
            c.map_or(0, |c| c.writes.stale)
                + self.fan_in.iter().map(|f| f.writes.stale).sum::<usize>()
        });
        goal(
            out,
            "no PUT without a fresh GET before it (before: the retry after a 503 re-sent the old body)",
            &stale.map_or("not run".to_string(), |n| {
                format!("{n} stale PUTs in all runs above")
            }),
            stale.map(|n| n == 0),
        );
        goal(
            out,
            &format!(
                "at most {:.0}% of a concurrent writer's attachments lost (before: 48 of 80, 60%)",
                GOAL_WRITER_LOSS * 100.0
            ),
            &c.map_or("not run".to_string(), |c| {
                format!(
                    "{} of {} ({:.1}%)",
                    c.writer_lost,
                    c.writer_attached,
                    loss(c) * 100.0
                )
            }),
            c.map(|c| loss(c) <= GOAL_WRITER_LOSS),
        );
        let find = |m: usize, k: usize, limited: bool| {
            self.fan_in
                .iter()
                .find(|f| f.shape == Shape { m, k } && f.time_scale.is_some() == limited)
        };
        let f12 = find(12, 2, false);
        goal(
            out,
            &format!(
                "fan-in 12 × 2: at most {GOAL_FAN_IN_12X2_PUTS} app PUTs (before: 24 PUTs, 63 requests)"
            ),
            &f12.map_or("not run".to_string(), |f| {
                format!("{} app PUTs, {} requests", f.writes.puts, f.requests.total)
            }),
            f12.map(|f| f.writes.puts <= GOAL_FAN_IN_12X2_PUTS && f.check.is_ok()),
        );
        let share = |f: &FanIn| f.requests.total as f64 / BEFORE_100X5_REQUESTS as f64;
        let (fast, limited) = (find(100, 5, false), find(100, 5, true));
        goal(
            out,
            &format!(
                "fan-in 100 × 5: at most {:.0}% of the requests before (before: {BEFORE_100X5_REQUESTS}, whatever the limiter); status from the run under the rate limit with the default limiter, when run",
                GOAL_FAN_IN_100X5_SHARE * 100.0
            ),
            &both_runs(fast, limited, &|f| {
                format!("{} requests ({:.1}%)", f.requests.total, share(f) * 100.0)
            }),
            limited
                .or(fast)
                .map(|f| share(f) <= GOAL_FAN_IN_100X5_SHARE && f.check.is_ok()),
        );
        let (fast, limited) = (find(100, 20, false), find(100, 20, true));
        goal(
            out,
            &format!(
                "headline 100 × 20 (2,000 attachments) in one apply within one rate-limit window: at most {GOAL_HEADLINE_REQUESTS} requests (one GET + PUT per attachment: about 4,100; measured before: 4102); status from the run under the rate limit, when run"
            ),
            &both_runs(fast, limited, &|f| {
                format!(
                    "{} requests ({} app PUTs, {} × 429), real-account estimate {}",
                    f.requests.total,
                    f.writes.puts,
                    f.requests.throttled,
                    estimate(f)
                )
            }),
            limited.or(fast).map(|f| {
                f.requests.total <= GOAL_HEADLINE_REQUESTS
                    && f.requests.throttled == 0
                    && f.check.is_ok()
            }),
        );
        let big = self.scales.iter().find(|s| s.n == GOAL_SIZE);
        let plan = big.and_then(|s| s.step(step::PLAN));
        goal(
            out,
            &format!("no regression: no-change plan of N={GOAL_SIZE} costs 2 requests"),
            &plan.map_or(format!("N={GOAL_SIZE} not run"), |p| {
                format!("{} requests", p.requests.total)
            }),
            plan.map(|p| p.requests.total <= 2),
        );
        let apply = big.and_then(|s| Some((s, s.step(step::APPLY)?)));
        goal(
            out,
            "no regression: one policy per app costs at most 3 requests per policy (apply of N=1000: 3 per create plus the plan's 2 list requests; 3002 before)",
            &apply.map_or(format!("N={GOAL_SIZE} not run"), |(s, a)| {
                format!(
                    "{} requests, {:.3} per policy",
                    a.requests.total,
                    a.requests.total as f64 / s.n as f64
                )
            }),
            apply.map(|(s, a)| a.requests.total <= 3 * s.n + 2),
        );
        let checks: Vec<&Result<(), String>> = self
            .fan_in
            .iter()
            .map(|f| &f.check)
            .chain(c.map(|c| &c.check))
            .collect();
        goal(
            out,
            "pre-existing policies never dropped or moved (checked after each apply above, not between its requests)",
            &if checks.is_empty() {
                "not run".to_string()
            } else {
                format!(
                    "{} of {} runs kept every pre-existing policy in place with every attachment made",
                    checks.iter().filter(|c| c.is_ok()).count(),
                    checks.len()
                )
            },
            (!checks.is_empty()).then(|| checks.iter().all(|c| c.is_ok())),
        );
        out.push('\n');
    }

    fn footprint_table(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "### Provider footprint, next to a Go peer (under {})\n",
            self.terraform
        );
        let Some(ours) = self.footprints.first() else {
            return;
        };
        let peer = self.footprints.get(1);
        let _ = writeln!(
            out,
            "Handshake timings launch the binary as go-plugin does (magic cookie, `PLUGIN_PROTOCOL_VERSIONS=6`, a fresh P-521 `PLUGIN_CLIENT_CERT`), read the handshake line, connect over mutual TLS presenting that certificate and call `GetProviderSchema`; interleaved runs, one warm-up each. `terraform validate` runs on a configuration holding only the provider's `required_providers` entry and an empty provider block (installed through `dev_overrides`), run by {}.\n",
            self.terraform
        );
        match (peer, &self.peer_missing) {
            (Some(p), _) => {
                let _ = writeln!(
                    out,
                    "Peer: `{}` from the PyPI wheel `workato-terraform-provider==0.16.0` (linux_amd64 payload), built with {}. Its network calls are never made: it is only launched, asked for its schema, and validated.\n",
                    p.label,
                    if p.libraries.is_empty() {
                        "HashiCorp's plugin libraries".to_string()
                    } else {
                        p.libraries.join(", ")
                    }
                );
            }
            (None, Some(why)) => {
                let _ = writeln!(out, "Peer not measured: {why}.\n");
            }
            (None, None) => {}
        }
        let peer_label = peer.map_or("peer", |p| p.label.as_str());
        let _ = writeln!(out, "| | {} | {} | ours ÷ peer |", ours.label, peer_label);
        let _ = writeln!(out, "|---|---|---|---:|");
        let row = |out: &mut String,
                   name: &str,
                   f: &dyn Fn(&Footprint) -> String,
                   r: Option<(f64, f64)>| {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                name,
                f(ours),
                peer.map_or_else(|| "n/a".to_string(), f),
                r.map_or_else(|| "".to_string(), |(a, b)| ratio(a, b))
            );
        };
        let pr = |f: &dyn Fn(&Footprint) -> f64| peer.map(|p| (f(ours), f(p)));
        row(
            out,
            "binary size",
            &|f| format!("{:.1} MB", f.binary_bytes as f64 / 1e6),
            pr(&|f| f.binary_bytes as f64),
        );
        row(
            out,
            "protocol announced (5 offered / 6 offered)",
            &|f| format!("{} / {}", f.protocol_offered_5, f.protocol_offered_6),
            None,
        );
        row(
            out,
            "schema served",
            &|f| {
                format!(
                    "{} resources, {} data sources, {:.1} kB",
                    f.resource_types,
                    f.data_source_types,
                    f.schema_bytes as f64 / 1e3
                )
            },
            pr(&|f| f.schema_bytes as f64),
        );
        row(
            out,
            "process start → handshake line (median)",
            &|f| stats(&f.to_handshake),
            pr(&|f| ms(f.to_handshake.median)),
        );
        row(
            out,
            "process start → `GetProviderSchema` answered (median)",
            &|f| stats(&f.to_schema),
            pr(&|f| ms(f.to_schema.median)),
        );
        row(
            out,
            "peak RSS once the schema is served (VmHWM)",
            &|f| opt_mb(f.rss_after_schema_kib),
            pr(&|f| f.rss_after_schema_kib.map_or(0.0, mb)),
        );
        row(
            out,
            "of which private (RssAnon; the rest is the binary's pages in the page cache)",
            &|f| opt_mb(f.anon_after_schema_kib),
            pr(&|f| f.anon_after_schema_kib.map_or(0.0, mb)),
        );
        row(
            out,
            "`terraform validate` wall (median)",
            &|f| stats(&f.validate_wall),
            pr(&|f| ms(f.validate_wall.median)),
        );
        row(
            out,
            "provider peak RSS during `terraform validate`",
            &|f| {
                format!(
                    "{} ({} launch{})",
                    opt_mb(f.validate_rss_kib),
                    f.validate_launches,
                    if f.validate_launches == 1 { "" } else { "es" }
                )
            },
            pr(&|f| f.validate_rss_kib.map_or(0.0, mb)),
        );
        out.push('\n');
    }

    fn goals_table(&self, out: &mut String) {
        let _ = writeln!(out, "### Goals\n");
        table_head(out, "| goal | measured | status |", "|---|---|---|");
        let big = self.scales.iter().find(|s| s.n == GOAL_SIZE);
        let not_run = format!("N={GOAL_SIZE} not run");

        let plan = big.and_then(|s| Some((s, s.step(step::PLAN)?, s.step(step::PLAN_UNCOALESCED))));
        let (measured, met) = match plan {
            Some((s, p, off)) => (
                format!(
                    "{} requests ({} objects: {}× fewer than one GET per object{})",
                    p.requests.total,
                    s.n + s.m + 1,
                    ratio((s.n + s.m + 1) as f64, p.requests.total as f64),
                    off.map_or(String::new(), |o| format!(
                        "; {} with coalescing off",
                        o.requests.total
                    ))
                ),
                Some(p.requests.total <= GOAL_PLAN_REQUESTS),
            ),
            None => (not_run.clone(), None),
        };
        goal(
            out,
            &format!("no-change plan of N={GOAL_SIZE} ≤ {GOAL_PLAN_REQUESTS} API requests"),
            &measured,
            met,
        );

        let rss = big
            .and_then(|s| s.step(step::PLAN))
            .and_then(|st| st.provider.peak_rss_kib);
        goal(
            out,
            &format!(
                "provider peak RSS ≤ {GOAL_RSS_MB} MB during the no-change plan of N={GOAL_SIZE}"
            ),
            &rss.map_or(not_run.clone(), |k| format!("{:.1} MB", mb(k))),
            rss.map(|k| mb(k) <= GOAL_RSS_MB),
        );

        let ours = self.footprints.first();
        let peer = self.footprints.get(1);
        goal(
            out,
            &format!("handshake-to-schema ≤ {GOAL_SCHEMA_MS} ms"),
            &ours.map_or("n/a".to_string(), |f| {
                format!("{:.1} ms (median)", ms(f.to_schema.median))
            }),
            ours.map(|f| ms(f.to_schema.median) <= GOAL_SCHEMA_MS),
        );
        let both = ours.zip(peer);
        goal(
            out,
            "handshake-to-schema ≤ 1/2 of the Go peer's",
            &both.map_or("peer not measured".to_string(), |(o, p)| {
                format!(
                    "{:.1} ms vs {:.1} ms: {}×",
                    ms(o.to_schema.median),
                    ms(p.to_schema.median),
                    ratio(ms(o.to_schema.median), ms(p.to_schema.median))
                )
            }),
            both.map(|(o, p)| o.to_schema.median * 2 <= p.to_schema.median),
        );
        let rss_pair = both.and_then(|(o, p)| Some((o.validate_rss_kib?, p.validate_rss_kib?)));
        goal(
            out,
            "provider RSS ≤ 1/3 of the Go peer's (`terraform validate`)",
            &rss_pair.map_or("peer not measured".to_string(), |(o, p)| {
                format!(
                    "{:.1} MB vs {:.1} MB: {}×",
                    mb(o),
                    mb(p),
                    ratio(o as f64, p as f64)
                )
            }),
            rss_pair.map(|(o, p)| o * 3 <= p),
        );

        let limited = self.limited.as_ref().filter(|l| l.n >= GOAL_SIZE);
        goal(
            out,
            &format!("apply of N={GOAL_SIZE} within the rate limit, zero 429 failures"),
            &match (&self.limited, limited) {
                (_, Some(l)) => format!(
                    "{} requests, {} × 429, converged: {} (time ×{}: about {} on a real account)",
                    l.apply.requests.total,
                    l.apply.requests.throttled,
                    if l.apply.succeeded { "yes" } else { "no" },
                    l.scale,
                    secs(l.apply.wall.as_secs_f64() * l.scale)
                ),
                (Some(l), None) => format!("only N={} run", l.n),
                (None, None) => "not run".to_string(),
            },
            limited.map(|l| l.apply.succeeded && l.apply.requests.throttled == 0),
        );
        out.push('\n');
    }
}

/// `12.3 / 20.1 / 40.0 ms` (median / p90 / max), or `n/a`.
fn gaps(spread: Option<cfaccess_emulator::read_write::Spread>) -> String {
    spread.map_or_else(
        || "n/a".to_string(),
        |s| {
            format!(
                "{:.1} / {:.1} / {:.1} ms",
                ms(s.median),
                ms(s.p90),
                ms(s.max)
            )
        },
    )
}

/// The least time a real account needs: requests × 0.25 s with the limit off, the
/// compressed run's wall × k otherwise.
fn estimate(f: &FanIn) -> String {
    match f.time_scale {
        None => secs(f.requests.total as f64 * SECS_PER_REQUEST),
        Some(k) => secs(f.wall.as_secs_f64() * k),
    }
}

/// `under the limit: …; limit off: …` for the runs that exist.
fn both_runs(
    fast: Option<&FanIn>,
    limited: Option<&FanIn>,
    f: &dyn Fn(&FanIn) -> String,
) -> String {
    match (fast, limited) {
        (None, None) => "not run".to_string(),
        (Some(a), None) => format!("limit off: {}", f(a)),
        (None, Some(b)) => format!("under the limit: {}", f(b)),
        (Some(a), Some(b)) => format!("under the limit: {}; limit off: {}", f(b), f(a)),
    }
}

fn check(result: &Result<(), String>) -> String {
    match result {
        Ok(()) => "every attachment made, other policies in place".to_string(),
        Err(e) => format!("**failed**: {e}"),
    }
}

fn loss(c: &Contended) -> f64 {
    if c.writer_attached == 0 {
        0.0
    } else {
        c.writer_lost as f64 / c.writer_attached as f64
    }
}

/// A `### title` heading and the paragraph under it.
fn section(out: &mut String, title: &str, intro: &str) {
    let _ = writeln!(out, "### {title}\n");
    let _ = writeln!(out, "{intro}\n");
}

/// A Markdown table's header row (`| a | b |`) and its alignment row (`|---:|---|`).
fn table_head(out: &mut String, header: &str, align: &str) {
    let _ = writeln!(out, "{header}");
    let _ = writeln!(out, "{align}");
}

fn goal(out: &mut String, goal: &str, measured: &str, met: Option<bool>) {
    let _ = writeln!(
        out,
        "| {goal} | {measured} | {} |",
        met.map_or("not measured", status)
    );
}

/// Replaces the generated block of `path` (or writes a fresh page holding only it).
pub fn write_into(path: &Path, block: &str) -> Result<(), BoxError> {
    let generated = format!("{BEGIN}\n{block}{END}\n");
    let page = match std::fs::read_to_string(path) {
        Ok(text) => match (text.find(BEGIN), text.find(END)) {
            (Some(b), Some(e)) if b < e => {
                let after = &text[e + END.len()..];
                format!(
                    "{}{generated}{}",
                    &text[..b],
                    after.strip_prefix('\n').unwrap_or(after)
                )
            }
            _ => format!("{}\n{generated}", text.trim_end()),
        },
        Err(_) => format!("# Performance\n\n{generated}"),
    };
    std::fs::write(path, page)?;
    Ok(())
}
