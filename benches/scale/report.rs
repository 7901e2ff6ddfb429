//! The benchmark report: Markdown tables printed to stdout and written between two
//! markers in `docs/performance.md`, leaving the hand-written text around them alone.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use crate::BoxError;
use crate::footprint::{Footprint, Stats};
use crate::machine::Machine;
use crate::scenario::{DEFAULT_RPS, FAST_RPS, Limited, Scale, step};

pub const BEGIN: &str = "<!-- BEGIN GENERATED: benches/scale.rs (scripts/bench.sh) -->";
pub const END: &str = "<!-- END GENERATED -->";

/// Cloudflare's limit: 1200 requests per 300 s, i.e. 0.25 s per request.
const SECS_PER_REQUEST: f64 = 300.0 / 1200.0;

/// Targets from issue 9 (reported, never asserted).
const GOAL_PLAN_REQUESTS: usize = 30;
const GOAL_RSS_MB: f64 = 30.0;
const GOAL_SCHEMA_MS: f64 = 20.0;
const GOAL_SIZE: usize = 1000;

/// Everything one run measured.
pub struct Report {
    pub machine: Machine,
    pub terraform: String,
    pub provider_version: String,
    pub parallelism: usize,
    pub scales: Vec<Scale>,
    pub limited: Option<Limited>,
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
        let _ = writeln!(out, "### API requests and wall time\n");
        let _ = writeln!(
            out,
            "N `cfaccess_linked_app_policy` resources over M = N/5 seeded self-hosted apps (plus one seeded MCP server app); every policy links the MCP app and sets `target_app_ids` to one app, so each app carries 5 attachments. \"At 1200/300 s\" is requests × 0.25 s, the least time a real account needs for those requests under Cloudflare's limit. Provider RSS and CPU come from `/usr/bin/time` wrapping every provider process Terraform launched for the command (RSS: the largest; CPU: user + system, summed); Terraform CPU is terraform's own, provider processes excluded.\n"
        );
        let _ = writeln!(
            out,
            "| N | M | command | API requests | GET | POST | PUT | DELETE | requests / resource | wall | at 1200/300 s | provider peak RSS | provider CPU | Terraform CPU | check |"
        );
        let _ = writeln!(
            out,
            "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
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
        let _ = writeln!(out, "### Read coalescing\n");
        let _ = writeln!(
            out,
            "The same no-change plan with `CFACCESS_DISABLE_READ_COALESCING=1` in Terraform's environment (inherited by the provider), which makes every read a GET of its own.\n"
        );
        let _ = writeln!(
            out,
            "| N | requests, coalescing on | requests, off | off ÷ on | wall, on | wall, off | at 1200/300 s, on | at 1200/300 s, off |"
        );
        let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|---:|");
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
        let _ = writeln!(out, "### Under Cloudflare's rate limit\n");
        let _ = writeln!(
            out,
            "A real account allows 1200 requests per 300 s (4 requests/s); the provider's limiter defaults to {DEFAULT_RPS} requests/s with a burst of 10, so an apply needs at least requests ÷ 4 s and, with the default limiter, about requests ÷ {DEFAULT_RPS} s. The measured run, an apply and then a destroy of the same policies, compresses time: the emulator enforces 1200 requests per 300 s ÷ k and the provider sends {DEFAULT_RPS} × k requests/s, the same race between limiter and limit k times faster.\n"
        );
        let _ = writeln!(
            out,
            "| N | apply requests (no limit) | ÷ 4 req/s | ÷ {DEFAULT_RPS} req/s (default limiter) |"
        );
        let _ = writeln!(out, "|---:|---:|---:|---:|");
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
                let _ = writeln!(
                    out,
                    "| N | command | k | emulator limit | provider rate | API requests | requests / resource | 429 responses | wall | wall × k (real-account estimate) | converged |"
                );
                let _ = writeln!(out, "|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---|");
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

    fn footprint_table(&self, out: &mut String) {
        let _ = writeln!(out, "### Provider footprint, next to a Go peer\n");
        let Some(ours) = self.footprints.first() else {
            return;
        };
        let peer = self.footprints.get(1);
        let _ = writeln!(
            out,
            "Handshake timings launch the binary as go-plugin does (magic cookie, `PLUGIN_PROTOCOL_VERSIONS=6`, a fresh P-521 `PLUGIN_CLIENT_CERT`), read the handshake line, connect over mutual TLS presenting that certificate and call `GetProviderSchema`; interleaved runs, one warm-up each. `terraform validate` runs on a configuration holding only the provider's `required_providers` entry and an empty provider block (installed through `dev_overrides`); Terraform 1.0.3 launches the provider once for it and asks only for the schema.\n"
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
        let _ = writeln!(out, "| goal | measured | status |");
        let _ = writeln!(out, "|---|---|---|");
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
