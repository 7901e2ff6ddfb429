//! Acceptance-test harness: drives the real `terraform` binary against a per-test
//! emulator, the way terraform-plugin-testing drives Go providers.
//!
//! Every test gets its own [`Harness`]: a fresh temporary working directory, its own
//! emulator (library mode, random port, random token, rate limit off unless asked for,
//! the `downstream_demo` seed unless told otherwise), a CLI config whose
//! `dev_overrides` point at the freshly built provider binary (Terraform 1.0.3 needs
//! no `terraform init` then), and an environment that names the emulator through
//! `CLOUDFLARE_API_TOKEN`, `CLOUDFLARE_ACCOUNT_ID` and `CLOUDFLARE_BASE_URL`.
//!
//! Writing a test:
//! ```ignore
//! #[tokio::test]
//! async fn creates_and_replans_empty() -> TestResult {
//!     let h = harness!();                       // skips loudly when terraform is absent (not under CI)
//!     h.write_config(r#"resource "cfaccess_mcp_server_app" "mcp" { name = "x" domain = "x.example.com" }"#)?;
//!     h.apply().await?;
//!     h.assert_empty_plan().await?;
//!     let id = h.state_json().await?.attr("cfaccess_mcp_server_app.mcp", "id")?;
//!     h.import_verify("cfaccess_mcp_server_app.mcp", &id, &[]).await?;
//!     h.destroy_and_pass().await                // destroy: also proves the emulator holds only the seed
//! }
//! ```
//! Rules: tests are `async` (`#[tokio::test]`) and must not block the thread (no
//! `std::thread::sleep`, no blocking HTTP): the emulator is served by the same runtime.
//! Every method that runs terraform returns `Result<_, Failure>`; a `Failure` prints
//! the terraform output and the emulator's request log. When a test panics instead
//! (an `assert!` in the test body), the harness prints its whole transcript on drop.
//!
//! Terraform versions: `make test` runs the suite once per Terraform it finds (the
//! pinned 1.0.3 and the `terraform` on PATH, see `scripts/test.sh`). A test of a newer
//! feature says what it needs, and is skipped with a printed `SKIPPED <test>: <why>` on
//! an older Terraform: `harness!(Harness::builder().min_terraform(1, 5, "import
//! blocks"))`; [`terraform_version`] gives the running version for finer checks.
//!
//! Live mode (`make testacc-live`, `CFACCESS_LIVE=1`): the same harness drives a real
//! account; only tests listed in `live::LIVE_TESTS` run, everything else is skipped
//! with its reason. See `live.rs`.
//!
//! Debugging: `TF_LOG`, `TF_LOG_CORE`, `TF_LOG_PROVIDER` and `TF_LOG_PATH` of the test
//! process are passed through to terraform; `ACC_KEEP_DIRS=1` keeps the working
//! directories.

#![allow(dead_code)] // each test file uses a different subset of the harness

#[path = "live.rs"]
pub mod live;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cfaccess_emulator::{
    DEFAULT_ACCOUNT_ID, Emulator, EmulatorConfig, Fault, FaultKind, LoggedRequest, RateLimit, Seed,
};
use regex::Regex;
use serde_json::Value;
use tokio::io::AsyncReadExt;

/// The provider source address the tests use (`dev_overrides` maps it to the binary).
pub const PROVIDER_SOURCE: &str = "registry.terraform.io/cfaccess/cfaccess";

/// The `terraform { required_providers … }` block prepended by [`Harness::write_config`].
pub const TERRAFORM_BLOCK: &str = r#"terraform {
  required_providers {
    cfaccess = {
      source = "cfaccess/cfaccess"
    }
  }
}
"#;

/// Provider block body used when a test does not give its own: the emulator is fast and
/// unlimited, so the client-side limiter must not slow the test down.
pub const DEFAULT_PROVIDER_BODY: &str = "requests_per_second = 200";

/// Upper bound for one terraform command (override with `ACC_COMMAND_TIMEOUT` seconds);
/// a hang becomes a [`Failure`] instead of a stuck test run. The slowest command of the
/// suite (200 rate-limited creates) takes well under two minutes.
fn command_timeout() -> Duration {
    let secs = std::env::var("ACC_COMMAND_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    Duration::from_secs(secs)
}

/// Output of each command kept in a failure report (the tail is what matters).
const REPORT_TAIL_LINES: usize = 200;

/// What every acceptance test returns.
pub type TestResult = Result<(), Failure>;

/// Builds a [`Harness`], or returns `Ok(())` from the calling test (after a loud message)
/// when no terraform binary exists and `CI` is not set. Under `CI=true` a missing
/// terraform is a failure.
///
/// `harness!()` uses the defaults; `harness!(Harness::builder().rate_limit(…))` takes a
/// builder.
macro_rules! harness {
    () => {
        harness!($crate::support::Harness::builder())
    };
    ($builder:expr) => {
        match $builder.build().await? {
            Some(h) => h,
            None => return Ok(()),
        }
    };
}

// ---------------------------------------------------------------------------------
// Failure and command output
// ---------------------------------------------------------------------------------

/// A failed step: what went wrong plus everything needed to debug it (the command's
/// output and the emulator's request log). `Debug` prints the whole report, so a test
/// returning `Err(Failure)` or calling `.unwrap()` shows it.
pub struct Failure {
    /// One-line description of what was expected.
    pub message: String,
    /// Terraform output, request log, working directory.
    pub report: String,
}

impl Failure {
    /// A failure without harness context (e.g. before the harness exists).
    pub fn msg(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            report: String::new(),
        }
    }
}

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\n{}", self.message, self.report)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Everything one terraform command produced.
#[derive(Clone, Debug)]
pub struct Output {
    /// `terraform` followed by its arguments, for reports.
    pub command: String,
    /// Exit status; -1 when killed by a signal.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// stdout followed by stderr.
    pub fn combined(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// The combined output with Terraform's diagnostic box drawing removed and all
    /// whitespace (including the wrapping of long lines) collapsed to single spaces, so
    /// a regex can match a message however Terraform wrapped it.
    pub fn normalized(&self) -> String {
        normalize(&self.combined())
    }

    /// True when the output shows a Terraform or provider crash. Terraform exits 2 when
    /// it panics, the same code `-detailed-exitcode` uses for "changes present".
    pub fn crash_marker(&self) -> Option<&'static str> {
        const MARKERS: &[&str] = &[
            "Terraform has crashed",
            "panic:",
            "panicked at",
            "goroutine ",
            "crash.log",
            "Plugin did not respond",
            "The plugin encountered an error",
            "plugin exited",
            "rpc error: code = Unavailable",
            "rpc error: code = Unknown",
        ];
        let text = self.combined();
        MARKERS.iter().copied().find(|m| text.contains(m))
    }

    fn report(&self) -> String {
        format!(
            "$ {} (exit {})\n--- stdout (tail) ---\n{}\n--- stderr (tail) ---\n{}\n",
            self.command,
            self.code,
            tail(&self.stdout, REPORT_TAIL_LINES),
            tail(&self.stderr, REPORT_TAIL_LINES)
        )
    }
}

/// Removes `│`/`╷`/`╵` decorations and collapses whitespace.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let line = line.trim_start();
        let line = line.strip_prefix('│').unwrap_or(line);
        if matches!(line.trim(), "╷" | "╵") {
            continue;
        }
        out.push_str(line);
        out.push(' ');
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    if all.len() <= lines {
        return text.to_string();
    }
    format!(
        "[… {} lines omitted …]\n{}",
        all.len() - lines,
        all[all.len() - lines..].join("\n")
    )
}

/// One diagnostic from `terraform validate -json` or `terraform plan -json`.
#[derive(Clone, Debug, Default)]
pub struct Diag {
    /// "error" or "warning".
    pub severity: String,
    pub summary: String,
    pub detail: String,
    /// Resource address the diagnostic belongs to, when Terraform gives one.
    pub address: Option<String>,
    /// The configuration line(s) Terraform showed: for an attribute error this is the
    /// line of that attribute (Terraform maps the attribute path to the config).
    pub snippet_code: Option<String>,
    /// The highlighted part of `snippet_code` (the attribute's expression).
    pub highlight: Option<String>,
    /// `range.start.line` of the diagnostic.
    pub line: Option<u64>,
}

impl Diag {
    fn from_json(d: &Value) -> Diag {
        let s = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
        let snippet = d.get("snippet");
        let code = snippet.and_then(|sn| s(sn.get("code")));
        let highlight = snippet.and_then(|sn| {
            let code = sn.get("code")?.as_str()?;
            let start = usize::try_from(sn.get("highlight_start_offset")?.as_u64()?).ok()?;
            let end = usize::try_from(sn.get("highlight_end_offset")?.as_u64()?).ok()?;
            code.get(start..end).map(str::to_string)
        });
        Diag {
            severity: s(d.get("severity")).unwrap_or_default(),
            summary: s(d.get("summary")).unwrap_or_default(),
            detail: s(d.get("detail")).unwrap_or_default(),
            address: s(d.get("address")),
            snippet_code: code,
            highlight,
            line: d.pointer("/range/start/line").and_then(Value::as_u64),
        }
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == "error"
    }

    /// Summary and detail, whitespace-collapsed.
    pub fn message(&self) -> String {
        normalize(&format!("{}: {}", self.summary, self.detail))
    }

    /// True when the diagnostic names `attr` (its last path segment, e.g. `grant_types`
    /// for `saas.grant_types`) in its message or in the configuration line it points at.
    pub fn names_attribute(&self, attr: &str) -> bool {
        let leaf = attr.rsplit('.').next().unwrap_or(attr);
        let leaf = leaf.split('[').next().unwrap_or(leaf);
        self.message().contains(leaf)
            || self
                .snippet_code
                .as_deref()
                .is_some_and(|c| contains_word(c, leaf))
    }

    /// True when the configuration line Terraform attached is the attribute's own line
    /// (the provider returned an attribute path that Terraform could resolve).
    pub fn points_at_attribute(&self, attr: &str) -> bool {
        let leaf = attr.rsplit('.').next().unwrap_or(attr);
        let leaf = leaf.split('[').next().unwrap_or(leaf);
        self.snippet_code
            .as_deref()
            .is_some_and(|c| contains_word(c, leaf))
    }
}

fn contains_word(haystack: &str, word: &str) -> bool {
    haystack.match_indices(word).any(|(i, _)| {
        let before = haystack[..i].chars().next_back();
        let after = haystack[i + word.len()..].chars().next();
        let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !ident(before) && !ident(after)
    })
}

/// At which command a bad configuration was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Validate,
    Plan,
}

// ---------------------------------------------------------------------------------
// Plan and state views
// ---------------------------------------------------------------------------------

/// A saved plan as `terraform show -json` renders it.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Address → actions (`["create"]`, `["update"]`, `["delete","create"]`,
    /// `["create","delete"]`, `["delete"]`, `["no-op"]`, `["read"]`).
    pub actions: BTreeMap<String, Vec<String>>,
    /// Address → `change.after_unknown` (true where a value is "(known after apply)").
    pub after_unknown: BTreeMap<String, Value>,
    /// Address → `change.after`.
    pub after: BTreeMap<String, Value>,
    /// Address → `change.before`.
    pub before: BTreeMap<String, Value>,
    /// Address → actions of `resource_drift` (changes made outside Terraform).
    pub drift: BTreeMap<String, Vec<String>>,
    /// The whole JSON document.
    pub raw: Value,
}

impl Plan {
    fn from_json(raw: Value) -> Plan {
        let mut plan = Plan {
            actions: BTreeMap::new(),
            after_unknown: BTreeMap::new(),
            after: BTreeMap::new(),
            before: BTreeMap::new(),
            drift: BTreeMap::new(),
            raw: Value::Null,
        };
        for (addr, change) in changes_by_address(&raw, "resource_changes") {
            plan.actions.insert(addr.clone(), actions_of(&change));
            plan.after_unknown
                .insert(addr.clone(), field(&change, "after_unknown"));
            plan.after.insert(addr.clone(), field(&change, "after"));
            plan.before.insert(addr, field(&change, "before"));
        }
        for (addr, change) in changes_by_address(&raw, "resource_drift") {
            plan.drift.insert(addr, actions_of(&change));
        }
        plan.raw = raw;
        plan
    }

    /// Actions planned for `addr` (`None` when the address is not in the plan).
    pub fn actions_of(&self, addr: &str) -> Option<Vec<&str>> {
        self.actions
            .get(addr)
            .map(|a| a.iter().map(String::as_str).collect())
    }

    /// True when every planned change is a no-op (or a data source read).
    pub fn is_empty(&self) -> bool {
        self.actions
            .values()
            .all(|a| a.iter().all(|x| x == "no-op" || x == "read"))
    }

    /// True when `attr` (top-level) of `addr` is unknown in the plan.
    pub fn is_unknown(&self, addr: &str, attr: &str) -> bool {
        self.after_unknown
            .get(addr)
            .and_then(|u| u.get(attr))
            .is_some_and(|v| v == &Value::Bool(true))
    }

    /// Addresses whose actions are not a pure no-op.
    pub fn changed(&self) -> BTreeMap<&str, Vec<&str>> {
        self.actions
            .iter()
            .filter(|(_, a)| !a.iter().all(|x| x == "no-op" || x == "read"))
            .map(|(k, a)| (k.as_str(), a.iter().map(String::as_str).collect()))
            .collect()
    }
}

/// The elements of the array `key` of `v` (none when it is absent).
fn array_items<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> + use<'a> {
    v.get(key).and_then(Value::as_array).into_iter().flatten()
}

/// `key` of `v`, null when absent.
fn field(v: &Value, key: &str) -> Value {
    v.get(key).cloned().unwrap_or(Value::Null)
}

/// Address and `change` of each entry of the plan's array `key` that has an address.
fn changes_by_address<'a>(
    raw: &'a Value,
    key: &str,
) -> impl Iterator<Item = (String, Value)> + use<'a> {
    array_items(raw, key).filter_map(|rc| {
        let addr = rc.get("address").and_then(Value::as_str)?;
        Some((addr.to_string(), field(rc, "change")))
    })
}

fn actions_of(change: &Value) -> Vec<String> {
    change
        .get("actions")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// State as `terraform show -json` renders it: every resource (root and child modules,
/// managed and data) by address.
#[derive(Clone, Debug)]
pub struct State {
    /// Address → `values`.
    pub resources: BTreeMap<String, Value>,
    /// Address → `sensitive_values` (see the 1.0.3 pitfall: often empty).
    pub sensitive: BTreeMap<String, Value>,
    pub raw: Value,
}

impl State {
    fn from_json(raw: Value) -> State {
        let mut state = State {
            resources: BTreeMap::new(),
            sensitive: BTreeMap::new(),
            raw: Value::Null,
        };
        if let Some(root) = raw.pointer("/values/root_module") {
            collect_module(root, &mut state);
        }
        state.raw = raw;
        state
    }

    /// The values of `addr`.
    pub fn get(&self, addr: &str) -> Option<&Value> {
        self.resources.get(addr)
    }

    /// A string attribute (dotted path, e.g. `saas.client_id`) of `addr`, or a
    /// failure naming what is missing.
    pub fn attr(&self, addr: &str, path: &str) -> Result<String, Failure> {
        let values = self.get(addr).ok_or_else(|| {
            Failure::msg(format!(
                "{addr} is not in the state; state: {}",
                self.addresses_text()
            ))
        })?;
        let v = get_path(values, path)
            .ok_or_else(|| Failure::msg(format!("{addr}.{path} is not in the state: {values}")))?;
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| Failure::msg(format!("{addr}.{path} is not a string: {v}")))
    }

    /// Any attribute (dotted path) of `addr`.
    pub fn value(&self, addr: &str, path: &str) -> Option<&Value> {
        self.get(addr).and_then(|v| get_path(v, path))
    }

    /// Managed resource addresses.
    pub fn addresses(&self) -> Vec<&str> {
        self.resources.keys().map(String::as_str).collect()
    }

    fn addresses_text(&self) -> String {
        format!("{:?}", self.addresses())
    }
}

fn collect_module(module: &Value, state: &mut State) {
    for r in array_items(module, "resources") {
        if let Some(addr) = r.get("address").and_then(Value::as_str) {
            state.resources.insert(addr.to_string(), field(r, "values"));
            state
                .sensitive
                .insert(addr.to_string(), field(r, "sensitive_values"));
        }
    }
    for child in array_items(module, "child_modules") {
        collect_module(child, state);
    }
}

/// Follows a dotted path (`a.b.0.c`) through objects and arrays.
pub fn get_path<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .filter(|s| !s.is_empty())
        .try_fold(v, |cur, seg| match cur {
            Value::Object(m) => m.get(seg),
            Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        })
}

/// Removes a dotted path from a JSON value (no-op when absent).
fn remove_path(v: &mut Value, path: &str) {
    let (parent, leaf) = match path.rsplit_once('.') {
        Some((p, l)) => (Some(p), l),
        None => (None, path),
    };
    let target = match parent {
        Some(p) => p.split('.').try_fold(&mut *v, |cur, seg| match cur {
            Value::Object(m) => m.get_mut(seg),
            Value::Array(a) => seg.parse::<usize>().ok().and_then(move |i| a.get_mut(i)),
            _ => None,
        }),
        None => Some(v),
    };
    if let Some(Value::Object(m)) = target {
        m.remove(leaf);
    }
}

/// Lists every differing path of two JSON values.
pub fn json_diff(a: &Value, b: &Value) -> Vec<String> {
    let mut out = Vec::new();
    diff_into("", a, b, &mut out);
    out
}

fn diff_into(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                diff_into(
                    &p,
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (ea, eb)) in x.iter().zip(y).enumerate() {
                diff_into(&format!("{path}.{i}"), ea, eb, out);
            }
        }
        _ if a != b => out.push(format!("{path}: {a} != {b}")),
        _ => {}
    }
}

// ---------------------------------------------------------------------------------
// Locating terraform and the provider
// ---------------------------------------------------------------------------------

/// The repository root (the root crate's manifest directory).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `$TERRAFORM`, else `<repo>/.tools/bin/terraform`, if it exists.
pub fn terraform_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("TERRAFORM").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return Some(if p.components().count() == 1 {
            which(&p).unwrap_or(p)
        } else {
            p
        });
    }
    let local = repo_root().join(".tools/bin/terraform");
    local.is_file().then_some(local)
}

fn which(name: &Path) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The provider binary cargo built for these tests.
pub fn provider_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_terraform-provider-cfaccess"))
}

fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

/// A Terraform CLI version, ordered the way releases are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TfVersion {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
}

impl TfVersion {
    /// Parses `1.11.4`, `v1.0.3` or `1.6.0-beta1` (the pre-release suffix is ignored).
    pub fn parse(text: &str) -> Option<TfVersion> {
        let text = text.trim().trim_start_matches('v');
        let core = text.split(['-', '+']).next()?;
        let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
        Some(TfVersion {
            major: parts.next()??,
            minor: parts.next()??,
            patch: parts.next().flatten().unwrap_or(0),
        })
    }

    /// True when this version is `major.minor` or newer.
    pub fn at_least(&self, major: u64, minor: u64) -> bool {
        (self.major, self.minor) >= (major, minor)
    }
}

impl fmt::Display for TfVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// The version of the terraform the tests run ([`terraform_path`]), asked once per
/// test process (`terraform version -json`, which every 1.x prints).
pub fn terraform_version() -> Result<TfVersion, String> {
    static VERSION: std::sync::OnceLock<Result<TfVersion, String>> = std::sync::OnceLock::new();
    VERSION
        .get_or_init(|| {
            let path = terraform_path().ok_or("terraform not found")?;
            let out = std::process::Command::new(&path)
                .args(["version", "-json"])
                .env("CHECKPOINT_DISABLE", "1")
                .stdin(Stdio::null())
                .output()
                .map_err(|e| format!("cannot run {}: {e}", path.display()))?;
            let text = String::from_utf8_lossy(&out.stdout);
            serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| {
                    v.get("terraform_version")
                        .and_then(Value::as_str)
                        .and_then(TfVersion::parse)
                })
                .ok_or_else(|| format!("cannot read the version of {}: {text}", path.display()))
        })
        .clone()
}

/// The running test's name (`module::test`): libtest names each test's thread after it.
pub fn current_test_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("unknown test")
        .to_string()
}

/// Prints that the running test is skipped and why, past libtest's output capture
/// (which would hide an `eprintln!` of a passing test), so every skip shows in the
/// `make test` log.
pub fn print_skip(reason: &str) {
    use std::io::Write as _;
    let line = format!("SKIPPED {}: {reason}\n", current_test_name());
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// Fixed ids of the extra apps in [`extended_seed`].
pub mod seed_ids {
    /// A self-hosted app standing in for an MCP server (a valid `linked_app_uids` entry).
    pub const MCP_SELF_HOSTED_APP: &str = "6cdc3892-f9f1-4813-a5ce-38c2753e1208";
    /// An Access for SaaS (OIDC) app.
    pub const SAAS_APP: &str = "7a1d2c3b-4e5f-4a6b-8c7d-9e0f1a2b3c05";
    /// A browser-rendered SSH app.
    pub const SSH_APP: &str = "8b2e3d4c-5f60-4b7c-9d8e-0f1a2b3c4d06";
    /// An app of Cloudflare's first-class `mcp` type.
    pub const MCP_TYPE_APP: &str = "9c3f4e5d-6071-4c8d-8e9f-1a2b3c4d5e07";
}

/// `Seed::downstream_demo()` plus one app of each kind the bad-input cases need: a
/// self-hosted "MCP server", a SaaS app, an SSH app and an `mcp`-type app.
pub fn extended_seed() -> Seed {
    let mut seed = Seed::downstream_demo();
    seed.apps.extend([
        serde_json::json!({
            "id": seed_ids::MCP_SELF_HOSTED_APP, "type": "self_hosted", "name": "Seed MCP server",
            "domain": "mcp.internal.example.com",
        }),
        serde_json::json!({
            "id": seed_ids::SAAS_APP, "type": "saas", "name": "Seed SaaS app",
            "saas_app": {
                "auth_type": "oidc", "redirect_uris": ["https://saas.example.com/callback"],
                "grant_types": ["authorization_code"], "scopes": ["openid"],
            },
        }),
        serde_json::json!({
            "id": seed_ids::SSH_APP, "type": "ssh", "name": "Seed bastion",
            "domain": "ssh.internal.example.com",
        }),
        serde_json::json!({
            "id": seed_ids::MCP_TYPE_APP, "type": "mcp", "name": "Seed MCP-type app",
            "domain": "mcp-type.internal.example.com",
        }),
    ]);
    seed
}

/// A random lowercase hex string of `n` characters.
pub fn random_hex(n: usize) -> String {
    let mut s = String::new();
    while s.len() < n {
        s.push_str(&uuid::Uuid::new_v4().simple().to_string());
    }
    s.truncate(n);
    s
}

// ---------------------------------------------------------------------------------
// The harness
// ---------------------------------------------------------------------------------

/// Options for [`Harness`]; `Harness::builder()` gives the defaults.
#[derive(Clone, Debug)]
pub struct HarnessBuilder {
    token: String,
    rate_limit: RateLimit,
    seed: Option<Seed>,
    accounts: Vec<String>,
    min_terraform: Option<(TfVersion, String)>,
}

impl HarnessBuilder {
    /// API token the emulator accepts (default: random).
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = token.into();
        self
    }

    /// Emulator rate limit (default: off).
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = limit;
        self
    }

    /// Seed data (default: `Seed::downstream_demo()`); `None` = empty account.
    pub fn seed(mut self, seed: Option<Seed>) -> Self {
        self.seed = seed;
        self
    }

    /// Account ids the token may use (default: the emulator's default account). The
    /// first one becomes `CLOUDFLARE_ACCOUNT_ID`.
    pub fn accounts(mut self, accounts: Vec<String>) -> Self {
        self.accounts = accounts;
        self
    }

    /// The test needs Terraform `major.minor` or newer (for `why`, e.g. "import
    /// blocks"); on an older one [`HarnessBuilder::build`] prints the reason and skips.
    pub fn min_terraform(mut self, major: u64, minor: u64, why: &str) -> Self {
        self.min_terraform = Some((
            TfVersion {
                major,
                minor,
                patch: 0,
            },
            why.to_string(),
        ));
        self
    }

    /// Starts the emulator and prepares the working directory. `Ok(None)` when the
    /// test is skipped, after printing why: terraform is absent outside CI, it is older
    /// than [`HarnessBuilder::min_terraform`], or live mode cannot run the test.
    pub async fn build(self) -> Result<Option<Harness>, Failure> {
        let Some(terraform) = terraform_path() else {
            let msg = "terraform not found: set $TERRAFORM or run `make terraform` (scripts/install-terraform.sh installs 1.0.3 into .tools/bin)";
            if is_ci() {
                return Err(Failure::msg(format!(
                    "{msg}; CI is set, so a missing terraform is a failure"
                )));
            }
            // Past libtest's capture: an `eprintln!` would vanish from a passing test.
            print_skip(msg);
            return Ok(None);
        };
        if let Some((min, why)) = &self.min_terraform {
            let have = terraform_version().map_err(Failure::msg)?;
            if have < *min {
                print_skip(&format!(
                    "needs Terraform >= {}.{} ({why}); running {have}",
                    min.major, min.minor
                ));
                return Ok(None);
            }
        }
        if let Some(live) = live::LiveConfig::from_env().map_err(Failure::msg)? {
            if let Some(reason) = live::skip_reason(&current_test_name()) {
                print_skip(&format!("live mode: {reason}"));
                return Ok(None);
            }
            return Harness::start_live(self, terraform, live).await.map(Some);
        }
        Harness::start(self, terraform).await.map(Some)
    }
}

/// One command that was run, for the failure transcript.
#[derive(Clone, Debug)]
struct Entry {
    output: Output,
}

/// What [`Harness::assemble`] needs besides the working directory it creates.
struct Assembly {
    terraform: PathBuf,
    token: String,
    account_id: String,
    base_url: String,
    seed_app_ids: BTreeSet<String>,
    seed_policy_ids: BTreeSet<String>,
    seed_attachments: BTreeMap<String, Vec<(String, u64)>>,
    emulator: Option<Emulator>,
    live: Option<live::LiveAccount>,
}

/// A per-test Terraform working directory wired to its own emulator (or, in live
/// mode, to the real account, see `live.rs`).
pub struct Harness {
    /// `None` in live mode.
    emulator: Option<Emulator>,
    /// `Some` in live mode.
    live: Option<live::LiveAccount>,
    terraform: PathBuf,
    tmp: Option<tempfile::TempDir>,
    root: PathBuf,
    work: PathBuf,
    cli_config: PathBuf,
    token: String,
    account_id: String,
    seed_app_ids: BTreeSet<String>,
    seed_policy_ids: BTreeSet<String>,
    seed_attachments: BTreeMap<String, Vec<(String, u64)>>,
    env: Mutex<BTreeMap<String, Option<String>>>,
    provider_body: Mutex<String>,
    config: Mutex<String>,
    transcript: Mutex<Vec<Entry>>,
}

impl Harness {
    /// Defaults: random token, rate limit off, `downstream_demo` seed, default account.
    pub fn builder() -> HarnessBuilder {
        HarnessBuilder {
            token: format!("acc-token-{}", random_hex(32)),
            rate_limit: RateLimit::disabled(),
            seed: Some(Seed::downstream_demo()),
            accounts: Vec::new(),
            min_terraform: None,
        }
    }

    /// A harness with the defaults. Panics when terraform is missing; use `harness!()`
    /// to skip instead outside CI.
    pub async fn new() -> Harness {
        match Harness::builder().build().await {
            Ok(Some(h)) => h,
            Ok(None) => panic!("terraform not found (use harness!() to skip outside CI)"),
            Err(e) => panic!("{e:?}"),
        }
    }

    async fn start(b: HarnessBuilder, terraform: PathBuf) -> Result<Harness, Failure> {
        let emulator = Emulator::start(EmulatorConfig {
            token: Some(b.token.clone()),
            accounts: b.accounts.clone(),
            rate_limit: Some(b.rate_limit.clone()),
            seed: b.seed.clone(),
            ..Default::default()
        })
        .await
        .map_err(|e| Failure::msg(format!("emulator did not start: {e}")))?;
        let account_id = b
            .accounts
            .first()
            .cloned()
            .unwrap_or_else(|| DEFAULT_ACCOUNT_ID.to_string());
        let seed_apps = emulator.apps(&account_id);
        let seed_policies = emulator.policies(&account_id);
        let seed_attachments = seed_apps
            .iter()
            .filter_map(|a| Some((id_of(a)?, attachments_of(a))))
            .collect();
        let base_url = emulator.base_url();
        Harness::assemble(Assembly {
            terraform,
            token: b.token,
            account_id,
            base_url,
            seed_app_ids: seed_apps.iter().filter_map(id_of).collect(),
            seed_policy_ids: seed_policies.iter().filter_map(id_of).collect(),
            seed_attachments,
            emulator: Some(emulator),
            live: None,
        })
    }

    /// Live mode: no emulator; prefixed copies of the seed in the real account.
    async fn start_live(
        b: HarnessBuilder,
        terraform: PathBuf,
        cfg: live::LiveConfig,
    ) -> Result<Harness, Failure> {
        let account = live::LiveAccount::start(&cfg, b.seed.as_ref())
            .await
            .map_err(Failure::msg)?;
        let seed = b.seed.clone().unwrap_or_default();
        Harness::assemble(Assembly {
            terraform,
            token: cfg.token.clone(),
            account_id: cfg.account_id.clone(),
            base_url: cfg.base_url.clone(),
            // The ids the test knows: the seed's (translated to the live copies).
            seed_app_ids: seed.apps.iter().filter_map(id_of).collect(),
            seed_policy_ids: seed.policies.iter().filter_map(id_of).collect(),
            seed_attachments: BTreeMap::new(),
            emulator: None,
            live: Some(account),
        })
    }

    fn assemble(a: Assembly) -> Result<Harness, Failure> {
        let tmp = tempfile::Builder::new()
            .prefix("cfaccess-acc-")
            .tempdir()
            .map_err(|e| Failure::msg(format!("temp dir: {e}")))?;
        let root = tmp.path().to_path_buf();
        let work = root.join("work");
        let plugins = root.join("plugins");
        let home = root.join("home");
        for d in [&work, &plugins, &home] {
            std::fs::create_dir_all(d)
                .map_err(|e| Failure::msg(format!("mkdir {}: {e}", d.display())))?;
        }
        // A directory holding only our binary, so dev_overrides cannot pick up anything
        // else cargo leaves next to it.
        let binary = provider_binary();
        std::os::unix::fs::symlink(&binary, plugins.join("terraform-provider-cfaccess"))
            .map_err(|e| Failure::msg(format!("symlink provider {}: {e}", binary.display())))?;
        let cli_config = root.join("dev.tfrc");
        let tfrc = format!(
            "provider_installation {{\n  dev_overrides {{\n    \"{PROVIDER_SOURCE}\" = \"{}\"\n  }}\n  direct {{}}\n}}\n",
            plugins.display()
        );
        std::fs::write(&cli_config, tfrc)
            .map_err(|e| Failure::msg(format!("write dev.tfrc: {e}")))?;

        let mut env = BTreeMap::new();
        env.insert("CLOUDFLARE_API_TOKEN".to_string(), Some(a.token.clone()));
        env.insert(
            "CLOUDFLARE_ACCOUNT_ID".to_string(),
            Some(a.account_id.clone()),
        );
        env.insert("CLOUDFLARE_BASE_URL".to_string(), Some(a.base_url));

        let h = Harness {
            seed_app_ids: a.seed_app_ids,
            seed_policy_ids: a.seed_policy_ids,
            seed_attachments: a.seed_attachments,
            emulator: a.emulator,
            live: a.live,
            terraform: a.terraform,
            tmp: Some(tmp),
            root,
            work,
            cli_config,
            token: a.token,
            account_id: a.account_id,
            env: Mutex::new(env),
            provider_body: Mutex::new(DEFAULT_PROVIDER_BODY.to_string()),
            config: Mutex::new(String::new()),
            transcript: Mutex::new(Vec::new()),
        };
        if std::env::var_os("ACC_KEEP_DIRS").is_some() {
            eprintln!("acceptance working directory: {}", h.root.display());
        }
        Ok(h)
    }

    // --- accessors ---------------------------------------------------------------

    /// The test's emulator. Live mode has none: a test that uses it is not listed in
    /// `live::LIVE_TESTS`, so it never gets here; this panic names the mistake if it
    /// does.
    pub fn emulator(&self) -> &Emulator {
        match &self.emulator {
            Some(e) => e,
            None => panic!(
                "{} uses the emulator, which live mode does not have: remove it from LIVE_TESTS (tests/acceptance/live.rs)",
                current_test_name()
            ),
        }
    }

    /// True when this harness drives the real account of `make testacc-live`.
    pub fn is_live(&self) -> bool {
        self.live.is_some()
    }

    /// The API token the emulator accepts (and the provider gets through the env).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// `CLOUDFLARE_ACCOUNT_ID` of this harness.
    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    /// The terraform working directory.
    pub fn dir(&self) -> &Path {
        &self.work
    }

    /// The harness's private scratch root (holds `work/`, `home/`, `dev.tfrc`).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `prefix-<8 random hex>`: names that never collide between tests or runs.
    pub fn name(&self, prefix: &str) -> String {
        format!("{prefix}-{}", random_hex(8))
    }

    /// Ids of the seed apps (present before the test started).
    pub fn seed_app_ids(&self) -> &BTreeSet<String> {
        &self.seed_app_ids
    }

    /// Ids of the seed policies.
    pub fn seed_policy_ids(&self) -> &BTreeSet<String> {
        &self.seed_policy_ids
    }

    /// Sets (or with `None` removes) an environment variable for every later terraform
    /// command, e.g. `set_env("CLOUDFLARE_API_TOKEN", None)`.
    pub fn set_env(&self, key: &str, value: Option<&str>) {
        lock(&self.env).insert(key.to_string(), value.map(str::to_string));
    }

    /// Body of the `provider "cfaccess" {}` block that [`Harness::write_config`] adds
    /// (default [`DEFAULT_PROVIDER_BODY`]).
    pub fn set_provider_body(&self, body: &str) {
        *lock(&self.provider_body) = body.to_string();
    }

    // --- configuration -------------------------------------------------------------

    /// Writes `main.tf`: the given HCL, preceded by the `terraform { required_providers }`
    /// block unless it has one, and by `provider "cfaccess" { <provider body> }` unless
    /// it configures the provider itself.
    pub fn write_config(&self, hcl: &str) -> Result<(), Failure> {
        let mut text = String::new();
        if !hcl.contains("required_providers") {
            text.push_str(TERRAFORM_BLOCK);
            text.push('\n');
        }
        if !Regex::new(r#"provider\s+"cfaccess"\s*\{"#).is_ok_and(|re| re.is_match(hcl)) {
            text.push_str(&format!(
                "provider \"cfaccess\" {{\n  {}\n}}\n\n",
                lock(&self.provider_body)
            ));
        }
        text.push_str(hcl);
        text.push('\n');
        self.write_raw_config(&text)
    }

    /// Writes `main.tf` exactly as given.
    pub fn write_raw_config(&self, text: &str) -> Result<(), Failure> {
        std::fs::write(self.work.join("main.tf"), self.to_live(text))
            .map_err(|e| self.failure(format!("write main.tf: {e}"), None))?;
        *lock(&self.config) = text.to_string();
        Ok(())
    }

    /// Writes `name` (e.g. `moved.tf`, `tests/x.tftest.hcl`) into the working directory,
    /// translated for the live account in live mode like `main.tf`.
    pub fn write_file(&self, name: &str, text: &str) -> Result<(), Failure> {
        let path = self.work.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| self.failure(format!("mkdir {}: {e}", parent.display()), None))?;
        }
        std::fs::write(&path, self.to_live(text))
            .map_err(|e| self.failure(format!("write {name}: {e}"), None))
    }

    /// A configuration as terraform must see it: unchanged against the emulator, with
    /// the live copies' ids, prefixed names and the live zone in live mode.
    fn to_live(&self, text: &str) -> String {
        match &self.live {
            Some(l) => l.config_to_live(text),
            None => text.to_string(),
        }
    }

    /// The `main.tf` last written.
    pub fn config_text(&self) -> String {
        lock(&self.config).clone()
    }

    // --- running terraform -------------------------------------------------------------

    /// Runs `terraform <args>` in the working directory and returns its output whatever
    /// the exit code; fails only on a crash or a timeout.
    pub async fn run(&self, args: &[&str]) -> Result<Output, Failure> {
        self.run_in(&self.work, args).await
    }

    async fn run_in(&self, dir: &Path, args: &[&str]) -> Result<Output, Failure> {
        let running = self.spawn_in(dir, args)?;
        let out = match running.wait(command_timeout()).await {
            Ok(out) => self.output_for_test(out),
            Err(partial) => {
                self.record(&partial);
                return Err(self.failure(
                    format!(
                        "{} did not finish within {:?} (killed)",
                        partial.command,
                        command_timeout()
                    ),
                    Some(&partial),
                ));
            }
        };
        self.record(&out);
        if let Some(marker) = out.crash_marker() {
            return Err(self.failure(
                format!("{} crashed (output contains {marker:?})", out.command),
                Some(&out),
            ));
        }
        Ok(out)
    }

    /// Terraform's output as the test expects it (live mode: seed ids and names).
    fn output_for_test(&self, mut out: Output) -> Output {
        if let Some(l) = &self.live {
            out.stdout = l.text_for_test(&out.stdout);
            out.stderr = l.text_for_test(&out.stderr);
        }
        out
    }

    fn command(&self, dir: &Path, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(&self.terraform);
        let args: Vec<String> = match &self.live {
            Some(l) => args.iter().map(|a| l.arg_to_live(a)).collect(),
            None => args.iter().map(|a| a.to_string()).collect(),
        };
        cmd.args(&args)
            .current_dir(dir)
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            // Its own process group, so an interrupt can reach terraform and the
            // provider together, as Ctrl-C in a terminal does.
            .process_group(0);
        for key in [
            "PATH",
            "TMPDIR",
            "LANG",
            "TF_LOG",
            "TF_LOG_CORE",
            "TF_LOG_PROVIDER",
            "TF_LOG_PATH",
            "RUST_BACKTRACE",
        ] {
            if let Some(v) = std::env::var_os(key) {
                cmd.env(key, v);
            }
        }
        cmd.env("HOME", self.root.join("home"))
            .env("TF_CLI_CONFIG_FILE", &self.cli_config)
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .env("CHECKPOINT_DISABLE", "1");
        for (k, v) in lock(&self.env).iter() {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        cmd
    }

    fn record(&self, out: &Output) {
        lock(&self.transcript).push(Entry {
            output: out.clone(),
        });
    }

    /// Runs a command that must succeed (exit 0).
    pub async fn run_ok(&self, args: &[&str]) -> Result<Output, Failure> {
        let out = self.run(args).await?;
        if out.code != 0 {
            return Err(self.failure(
                format!("`{}` failed with exit code {}", out.command, out.code),
                Some(&out),
            ));
        }
        Ok(out)
    }

    /// `terraform validate -no-color`, must succeed.
    pub async fn validate(&self) -> Result<Output, Failure> {
        self.run_ok(&["validate", "-no-color"]).await
    }

    /// `terraform apply -auto-approve`, must succeed.
    pub async fn apply(&self) -> Result<Output, Failure> {
        self.apply_with(&[]).await
    }

    /// `terraform apply -auto-approve <extra>` (e.g. `-parallelism=10`), must succeed.
    pub async fn apply_with(&self, extra: &[&str]) -> Result<Output, Failure> {
        let mut args = vec!["apply", "-auto-approve", "-input=false", "-no-color"];
        args.extend_from_slice(extra);
        self.run_ok(&args).await
    }

    /// `terraform apply` that must fail with an error whose (normalised) text matches
    /// `pattern`; returns the output.
    pub async fn apply_expect_error(&self, pattern: &str) -> Result<Output, Failure> {
        self.apply_expect_error_with(&[], pattern).await
    }

    /// As [`Harness::apply_expect_error`] with extra arguments.
    pub async fn apply_expect_error_with(
        &self,
        extra: &[&str],
        pattern: &str,
    ) -> Result<Output, Failure> {
        let mut args = vec!["apply", "-auto-approve", "-input=false", "-no-color"];
        args.extend_from_slice(extra);
        let out = self.run(&args).await?;
        self.expect_error_output(out, pattern)
    }

    /// `terraform plan` that must fail with an error matching `pattern`.
    pub async fn plan_expect_error(&self, pattern: &str) -> Result<Output, Failure> {
        let out = self.run(&["plan", "-input=false", "-no-color"]).await?;
        self.expect_error_output(out, pattern)
    }

    /// `terraform validate` that must fail with an error matching `pattern`.
    pub async fn validate_expect_error(&self, pattern: &str) -> Result<Output, Failure> {
        let out = self.run(&["validate", "-no-color"]).await?;
        self.expect_error_output(out, pattern)
    }

    fn expect_error_output(&self, out: Output, pattern: &str) -> Result<Output, Failure> {
        let re = Regex::new(pattern)
            .map_err(|e| self.failure(format!("bad regex {pattern:?}: {e}"), None))?;
        if out.code == 0 {
            return Err(self.failure(
                format!(
                    "`{}` succeeded but an error matching /{pattern}/ was expected",
                    out.command
                ),
                Some(&out),
            ));
        }
        if !re.is_match(&out.normalized()) {
            return Err(self.failure(
                format!(
                    "`{}` failed, but not with an error matching /{pattern}/",
                    out.command
                ),
                Some(&out),
            ));
        }
        Ok(out)
    }

    /// `terraform plan -detailed-exitcode`, whatever its exit code.
    async fn detailed_plan(&self) -> Result<Output, Failure> {
        self.run(&["plan", "-detailed-exitcode", "-input=false", "-no-color"])
            .await
    }

    /// `terraform plan -detailed-exitcode`: 0 = no changes, 2 = changes; any other code
    /// (or a crash, which also exits 2) is a failure.
    pub async fn plan_exit_code(&self) -> Result<i32, Failure> {
        let out = self.detailed_plan().await?;
        match out.code {
            0 | 2 => Ok(out.code),
            c => Err(self.failure(format!("`{}` errored (exit {c})", out.command), Some(&out))),
        }
    }

    /// Fails unless a plan proposes no change.
    pub async fn assert_empty_plan(&self) -> Result<(), Failure> {
        self.expect_plan(false).await
    }

    /// Fails unless a plan proposes some change.
    pub async fn assert_nonempty_plan(&self) -> Result<(), Failure> {
        self.expect_plan(true).await
    }

    /// Fails unless a plan proposes some change (`changes`) or none (`!changes`).
    async fn expect_plan(&self, changes: bool) -> Result<(), Failure> {
        let out = self.detailed_plan().await?;
        let expected = if changes {
            "a non-empty plan"
        } else {
            "an empty plan"
        };
        let problem = match (out.code, changes) {
            (2, true) | (0, false) => return Ok(()),
            (0, true) => "terraform plans no changes".to_string(),
            (2, false) => "terraform plans changes".to_string(),
            (c, _) => format!("plan errored (exit {c})"),
        };
        Err(self.failure(format!("expected {expected}, but {problem}"), Some(&out)))
    }

    /// A saved plan (`plan -out`) rendered by `show -json`.
    pub async fn plan(&self) -> Result<Plan, Failure> {
        self.saved_plan(&[]).await
    }

    /// Address → planned actions, e.g. `["update"]`, `["delete","create"]`, `["no-op"]`.
    pub async fn plan_actions(&self) -> Result<BTreeMap<String, Vec<String>>, Failure> {
        Ok(self.plan().await?.actions)
    }

    /// `plan -refresh-only` saved and rendered: `drift` holds what changed outside
    /// Terraform.
    pub async fn refresh_only_plan(&self) -> Result<Plan, Failure> {
        self.saved_plan(&["-refresh-only"]).await
    }

    async fn saved_plan(&self, extra: &[&str]) -> Result<Plan, Failure> {
        let file = format!("plan-{}.tfplan", random_hex(6));
        let out_arg = format!("-out={file}");
        let mut args = vec!["plan", "-input=false", "-no-color", out_arg.as_str()];
        args.extend_from_slice(extra);
        self.run_ok(&args).await?;
        let shown = self.run_ok(&["show", "-json", "-no-color", &file]).await?;
        let _ = std::fs::remove_file(self.work.join(&file));
        let raw: Value = serde_json::from_str(&shown.stdout).map_err(|e| {
            self.failure(
                format!("`terraform show -json` of the plan is not JSON: {e}"),
                Some(&shown),
            )
        })?;
        Ok(Plan::from_json(raw))
    }

    /// The current state (`terraform show -json`).
    pub async fn state_json(&self) -> Result<State, Failure> {
        self.state_in(&self.work).await
    }

    async fn state_in(&self, dir: &Path) -> Result<State, Failure> {
        let out = self.run_in(dir, &["show", "-json", "-no-color"]).await?;
        if out.code != 0 {
            return Err(self.failure("`terraform show -json` failed", Some(&out)));
        }
        let raw: Value = serde_json::from_str(&out.stdout).map_err(|e| {
            self.failure(
                format!("`terraform show -json` is not JSON: {e}"),
                Some(&out),
            )
        })?;
        Ok(State::from_json(raw))
    }

    /// `terraform show` (human form), must succeed.
    pub async fn show(&self) -> Result<Output, Failure> {
        self.run_ok(&["show", "-no-color"]).await
    }

    /// `terraform import ADDR ID` in the working directory, must succeed.
    pub async fn import(&self, addr: &str, id: &str) -> Result<Output, Failure> {
        self.run_ok(&["import", "-input=false", "-no-color", addr, id])
            .await
    }

    /// `terraform import` that must fail with an error matching `pattern`.
    pub async fn import_expect_error(
        &self,
        addr: &str,
        id: &str,
        pattern: &str,
    ) -> Result<Output, Failure> {
        let out = self
            .run(&["import", "-input=false", "-no-color", addr, id])
            .await?;
        self.expect_error_output(out, pattern)
    }

    /// terraform-plugin-testing's ImportStateVerify: imports `id` as `addr` into a
    /// fresh working directory holding the same configuration, then requires the
    /// imported object to equal the one in this directory's state (no attribute
    /// ignored except the dotted paths in `ignore`, e.g. `saas.client_secret`) and a
    /// plan there to be empty. Returns the imported values.
    pub async fn import_verify(
        &self,
        addr: &str,
        id: &str,
        ignore: &[&str],
    ) -> Result<Value, Failure> {
        let created = self.state_json().await?.get(addr).cloned().ok_or_else(|| {
            self.failure(
                format!("{addr} is not in the state, nothing to compare an import with"),
                None,
            )
        })?;
        let dir = self.root.join(format!("import-{}", random_hex(6)));
        std::fs::create_dir_all(&dir).map_err(|e| self.failure(format!("mkdir: {e}"), None))?;
        std::fs::write(dir.join("main.tf"), self.to_live(&self.config_text()))
            .map_err(|e| self.failure(format!("write: {e}"), None))?;
        let out = self
            .run_in(&dir, &["import", "-input=false", "-no-color", addr, id])
            .await?;
        if out.code != 0 {
            return Err(self.failure(format!("import of {addr} ({id}) failed"), Some(&out)));
        }
        let imported = self
            .state_in(&dir)
            .await?
            .get(addr)
            .cloned()
            .ok_or_else(|| {
                self.failure(
                    format!("{addr} missing from the state after import"),
                    Some(&out),
                )
            })?;
        let (mut a, mut b) = (created, imported.clone());
        for path in ignore {
            remove_path(&mut a, path);
            remove_path(&mut b, path);
        }
        let diff = json_diff(&a, &b);
        if !diff.is_empty() {
            return Err(self.failure(
                format!(
                    "imported {addr} differs from the created one (created != imported):\n  {}",
                    diff.join("\n  ")
                ),
                None,
            ));
        }
        let plan = self
            .run_in(
                &dir,
                &["plan", "-detailed-exitcode", "-input=false", "-no-color"],
            )
            .await?;
        if plan.code != 0 {
            return Err(self.failure(
                format!(
                    "plan after importing {addr} is not empty (exit {})",
                    plan.code
                ),
                Some(&plan),
            ));
        }
        Ok(imported)
    }

    /// The `id` the state holds for resource `addr`.
    pub async fn id_in_state(&self, addr: &str) -> Result<String, Failure> {
        self.state_json().await?.attr(addr, "id")
    }

    /// The end of a lifecycle test: [`Harness::destroy`] and its checks, then the test
    /// has passed.
    pub async fn destroy_and_pass(&self) -> TestResult {
        self.destroy().await.map(drop)
    }

    /// `terraform destroy`, then checks that the state is empty and that the emulator
    /// holds nothing but the seed objects with their original attachments.
    pub async fn destroy(&self) -> Result<Output, Failure> {
        let out = self
            .run_ok(&["destroy", "-auto-approve", "-input=false", "-no-color"])
            .await?;
        let state = self.state_json().await?;
        let managed: Vec<&str> = state
            .addresses()
            .into_iter()
            .filter(|a| !a.starts_with("data.") && !a.contains(".data."))
            .collect();
        if !managed.is_empty() {
            return Err(self.failure(
                format!("state still holds {managed:?} after destroy"),
                Some(&out),
            ));
        }
        match &self.live {
            Some(l) => l
                .check_only_seed_left()
                .await
                .map_err(|e| self.failure(e, Some(&out)))?,
            None => self.assert_emulator_empty_of_ours()?,
        }
        Ok(out)
    }

    /// The emulator holds no app or policy other than the seed ones, and every seed app
    /// has exactly the attachments it started with.
    pub fn assert_emulator_empty_of_ours(&self) -> Result<(), Failure> {
        let apps = self.emulator().apps(&self.account_id);
        let policies = self.emulator().policies(&self.account_id);
        let extra_apps = not_in_seed(&apps, &self.seed_app_ids);
        let extra_policies = not_in_seed(&policies, &self.seed_policy_ids);
        if !extra_apps.is_empty() || !extra_policies.is_empty() {
            return Err(self.failure(
                format!("the emulator still holds objects that are not seed objects: apps {extra_apps:?}, policies {extra_policies:?}"),
                None,
            ));
        }
        self.assert_seed_untouched()
    }

    /// Every seed app still has exactly its original `(policy id, precedence)` list.
    pub fn assert_seed_untouched(&self) -> Result<(), Failure> {
        for (app_id, original) in &self.seed_attachments {
            let now = self
                .emulator()
                .app(&self.account_id, app_id)
                .map(|a| attachments_of(&a));
            if now.as_ref() != Some(original) {
                return Err(self.failure(
                    format!("seed app {app_id} attachments changed: was {original:?}, now {now:?}"),
                    None,
                ));
            }
        }
        Ok(())
    }

    /// `(policy id, precedence)` attachments of an app as the emulator holds them.
    pub fn attachments(&self, app_id: &str) -> Vec<(String, u64)> {
        self.emulator()
            .app(&self.account_id, app_id)
            .map(|a| attachments_of(&a))
            .unwrap_or_default()
    }

    /// Fails unless the app's attachments are exactly `expected` (policy id, precedence),
    /// saying `what` was expected and what the app holds.
    pub fn check_attachments(
        &self,
        app_id: &str,
        expected: &[(String, u64)],
        what: &str,
    ) -> Result<(), Failure> {
        let now = self.attachments(app_id);
        self.check(now == expected, format!("{what}: {now:?}"))
    }

    // --- diagnostics and bad input -------------------------------------------------------

    /// `terraform validate -json` diagnostics (errors and warnings).
    pub async fn validate_diagnostics(&self) -> Result<(Output, Vec<Diag>), Failure> {
        let out = self.run(&["validate", "-json", "-no-color"]).await?;
        let doc: Value = serde_json::from_str(&out.stdout).map_err(|e| {
            self.failure(
                format!("`terraform validate -json` is not JSON: {e}"),
                Some(&out),
            )
        })?;
        let diags = doc
            .get("diagnostics")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(Diag::from_json)
            .collect();
        Ok((out, diags))
    }

    /// `terraform plan -json` diagnostics (machine-readable UI lines of type
    /// `diagnostic`).
    pub async fn plan_diagnostics(&self) -> Result<(Output, Vec<Diag>), Failure> {
        let out = self
            .run(&["plan", "-json", "-input=false", "-no-color"])
            .await?;
        let diags = out
            .stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v.get("type").and_then(Value::as_str) == Some("diagnostic"))
            .filter_map(|v| v.get("diagnostic").map(Diag::from_json))
            .collect();
        Ok((out, diags))
    }

    /// The bad-input check: the current configuration must be refused by `validate` or,
    /// failing that, by `plan`, with an error whose message matches `pattern` and that
    /// names `attr` (in its text or its configuration line); the emulator must have
    /// received no write at all. Returns the stage that refused it.
    pub async fn expect_invalid(&self, pattern: &str, attr: &str) -> Result<Stage, Failure> {
        let re = Regex::new(pattern)
            .map_err(|e| self.failure(format!("bad regex {pattern:?}: {e}"), None))?;
        let writes_before = self.emulator().write_count();
        let (out, diags) = self.validate_diagnostics().await?;
        let (stage, out, diags) = if diags.iter().any(Diag::is_error) {
            (Stage::Validate, out, diags)
        } else {
            let (out, diags) = self.plan_diagnostics().await?;
            if !diags.iter().any(Diag::is_error) {
                return Err(self.failure(
                    format!("the configuration was accepted by validate and plan; expected an error matching /{pattern}/ naming {attr}"),
                    Some(&out),
                ));
            }
            (Stage::Plan, out, diags)
        };
        let errors: Vec<&Diag> = diags.iter().filter(|d| d.is_error()).collect();
        let matching = errors.iter().find(|d| re.is_match(&d.message()));
        let Some(diag) = matching else {
            let got: Vec<String> = errors.iter().map(|d| d.message()).collect();
            return Err(self.failure(
                format!("{stage:?} failed, but no error matches /{pattern}/; errors: {got:#?}"),
                Some(&out),
            ));
        };
        if !diag.names_attribute(attr) {
            return Err(self.failure(
                format!(
                    "the error does not name the attribute {attr:?}: {:?} (config line: {:?})",
                    diag.message(),
                    diag.snippet_code
                ),
                Some(&out),
            ));
        }
        let writes: Vec<String> = self
            .emulator()
            .request_log()
            .iter()
            .filter(|r| is_write(&r.method))
            .map(format_request)
            .collect();
        if self.emulator().write_count() != writes_before || !writes.is_empty() {
            return Err(self.failure(
                format!("a refused configuration still wrote to the API: {writes:?}"),
                Some(&out),
            ));
        }
        Ok(stage)
    }

    // --- interrupts ------------------------------------------------------------------------

    /// Starts `terraform apply -auto-approve <extra>` in the background.
    pub fn spawn_apply(&self, extra: &[&str]) -> Result<Running, Failure> {
        let mut args = vec!["apply", "-auto-approve", "-input=false", "-no-color"];
        args.extend_from_slice(extra);
        self.spawn_in(&self.work, &args)
    }

    /// Starts `terraform <args>` in `dir`, collecting its output as it arrives.
    fn spawn_in(&self, dir: &Path, args: &[&str]) -> Result<Running, Failure> {
        let mut child = self.command(dir, args).spawn().map_err(|e| {
            self.failure(
                format!("cannot run {}: {e}", self.terraform.display()),
                None,
            )
        })?;
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let pump = |pipe: Option<Box<dyn tokio::io::AsyncRead + Unpin + Send>>,
                    buf: Arc<Mutex<String>>| {
            tokio::spawn(async move {
                let Some(mut pipe) = pipe else { return };
                let mut chunk = [0u8; 8192];
                while let Ok(n) = pipe.read(&mut chunk).await {
                    if n == 0 {
                        break;
                    }
                    lock(&buf).push_str(&String::from_utf8_lossy(&chunk[..n]));
                }
            })
        };
        let out_task = pump(
            child.stdout.take().map(|p| Box::new(p) as _),
            stdout.clone(),
        );
        let err_task = pump(
            child.stderr.take().map(|p| Box::new(p) as _),
            stderr.clone(),
        );
        Ok(Running {
            child,
            stdout,
            stderr,
            tasks: vec![out_task, err_task],
            command: format!("terraform {}", args.join(" ")),
        })
    }

    /// Records the output of a background command and fails on a crash.
    pub fn finish(&self, out: &Output) -> Result<(), Failure> {
        self.record(out);
        if let Some(marker) = out.crash_marker() {
            return Err(self.failure(
                format!("{} crashed (output contains {marker:?})", out.command),
                Some(out),
            ));
        }
        Ok(())
    }

    // --- reports -------------------------------------------------------------------------

    /// Everything every terraform command of this harness printed (stdout and
    /// stderr), in order.
    pub fn transcript_text(&self) -> String {
        lock(&self.transcript)
            .iter()
            .map(|e| {
                format!(
                    "$ {}\n{}\n{}\n",
                    e.output.command, e.output.stdout, e.output.stderr
                )
            })
            .collect()
    }

    /// The emulator's request log, one `METHOD path?query -> status` line each.
    pub fn request_log_text(&self) -> String {
        let Some(emulator) = &self.emulator else {
            return "(live mode: no request log)".to_string();
        };
        emulator
            .request_log()
            .iter()
            .map(format_request)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// A failure carrying `out` (or else the last command's output), the emulator's
    /// request log and the working directory.
    pub fn failure(&self, message: impl Into<String>, out: Option<&Output>) -> Failure {
        let last = out
            .cloned()
            .or_else(|| lock(&self.transcript).last().map(|e| e.output.clone()));
        let mut report = String::new();
        if let Some(o) = last {
            report.push_str(&o.report());
        }
        report.push_str(&format!("--- main.tf ---\n{}\n", self.config_text()));
        report.push_str(&format!(
            "--- emulator request log ---\n{}\n",
            tail(&self.request_log_text(), REPORT_TAIL_LINES)
        ));
        report.push_str(&format!(
            "--- working directory: {} ---\n",
            self.work.display()
        ));
        Failure {
            message: message.into(),
            report,
        }
    }

    /// A test-level failure with the harness context (for custom checks).
    pub fn fail<T>(&self, message: impl Into<String>) -> Result<T, Failure> {
        Err(self.failure(message, None))
    }

    /// Checks `cond`, failing with `message` and the harness context otherwise.
    pub fn check(&self, cond: bool, message: impl Into<String>) -> Result<(), Failure> {
        if cond { Ok(()) } else { self.fail(message) }
    }

    /// Adds an emulator fault.
    pub fn fault(&self, method: &str, path: impl Into<String>, kind: FaultKind, count: u32) {
        self.emulator().add_fault(Fault {
            method: Some(method.to_string()),
            path: path.into(),
            kind,
            count,
        });
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        // Live mode: whatever the test did and however it ended, nothing of it stays.
        if let Some(l) = &self.live {
            l.delete_ours_blocking();
        }
        if std::thread::panicking() {
            let transcript = lock(&self.transcript);
            eprintln!(
                "===== acceptance harness transcript ({} commands) =====",
                transcript.len()
            );
            for e in transcript.iter() {
                eprintln!("{}", e.output.report());
            }
            eprintln!("--- main.tf ---\n{}", lock(&self.config));
            eprintln!(
                "--- emulator request log ---\n{}",
                tail(&self.request_log_text(), REPORT_TAIL_LINES)
            );
        }
        if std::env::var_os("ACC_KEEP_DIRS").is_some()
            && let Some(tmp) = self.tmp.take()
        {
            let kept = tmp.keep();
            eprintln!("kept acceptance working directory {}", kept.display());
        }
    }
}

/// A terraform command running in the background (see [`Harness::spawn_apply`]).
pub struct Running {
    child: tokio::process::Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    command: String,
}

impl Running {
    /// stdout so far.
    pub fn stdout_so_far(&self) -> String {
        lock(&self.stdout).clone()
    }

    /// Waits until stdout contains `needle` (true) or the process exits or `limit`
    /// passes (false).
    pub async fn wait_for_stdout(&mut self, needle: &str, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if lock(&self.stdout).contains(needle) {
                return true;
            }
            if matches!(self.child.try_wait(), Ok(Some(_)))
                || tokio::time::Instant::now() >= deadline
            {
                return lock(&self.stdout).contains(needle);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends SIGINT to terraform's whole process group (terraform and its provider
    /// plugins), as Ctrl-C in a terminal does.
    pub async fn interrupt(&self) -> Result<(), Failure> {
        let Some(pid) = self.child.id() else {
            return Err(Failure::msg(
                "terraform already exited before the interrupt",
            ));
        };
        let status = tokio::process::Command::new("kill")
            .args(["-INT", "--", &format!("-{pid}")])
            .status()
            .await
            .map_err(|e| Failure::msg(format!("kill: {e}")))?;
        if !status.success() {
            return Err(Failure::msg(format!("kill -INT -{pid} failed: {status}")));
        }
        Ok(())
    }

    /// Waits for the process to exit (at most `limit`; then it is killed and `Err`).
    pub async fn wait(mut self, limit: Duration) -> Result<Output, Output> {
        let pgid = self.child.id();
        let status = tokio::time::timeout(limit, self.child.wait()).await;
        let timed_out = !matches!(status, Ok(Ok(_)));
        if timed_out {
            // The whole group: terraform and the provider processes it started.
            if let Some(pgid) = pgid {
                kill_group(pgid).await;
            }
            let _ = self.child.kill().await;
        }
        // Provider processes inherit terraform's stdout/stderr. When terraform dies
        // without stopping them (a crash, a kill) they keep the pipes open, so EOF may
        // never come: give the pumps a moment, then kill what is left of the group
        // (it still exists, since a member holds the pipe) and stop reading.
        let mut pumps = Pumps(std::mem::take(&mut self.tasks));
        if tokio::time::timeout(Duration::from_secs(3), &mut pumps)
            .await
            .is_err()
        {
            if let Some(pgid) = pgid {
                kill_group(pgid).await;
            }
            if tokio::time::timeout(Duration::from_secs(2), &mut pumps)
                .await
                .is_err()
            {
                pumps.abort();
            }
        }
        let code = match status {
            Ok(Ok(s)) => s.code().unwrap_or(-1),
            _ => -1,
        };
        let out = Output {
            command: self.command.clone(),
            code,
            stdout: lock(&self.stdout).clone(),
            stderr: lock(&self.stderr).clone(),
        };
        if timed_out { Err(out) } else { Ok(out) }
    }
}

// ---------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------

/// SIGKILL to a process group we created (terraform's, see `process_group(0)`).
async fn kill_group(pgid: u32) {
    let _ = tokio::process::Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await;
}

/// Waits for every pump task; abortable as a whole.
struct Pumps(Vec<tokio::task::JoinHandle<()>>);

impl Pumps {
    fn abort(&self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

impl std::future::Future for Pumps {
    type Output = ();
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        let tasks = &mut self.0;
        let mut i = 0;
        while i < tasks.len() {
            match std::pin::Pin::new(&mut tasks[i]).poll(cx) {
                std::task::Poll::Ready(_) => {
                    tasks.swap_remove(i);
                }
                std::task::Poll::Pending => i += 1,
            }
        }
        if tasks.is_empty() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn id_of(v: &Value) -> Option<String> {
    v.get("id").and_then(Value::as_str).map(str::to_string)
}

/// `id (name)` of each object whose id is not among the seed's `seed_ids`.
fn not_in_seed(objects: &[Value], seed_ids: &BTreeSet<String>) -> Vec<String> {
    objects
        .iter()
        .filter(|o| id_of(o).is_none_or(|id| !seed_ids.contains(&id)))
        .map(|o| {
            format!(
                "{} ({})",
                id_of(o).unwrap_or_default(),
                o.get("name").and_then(Value::as_str).unwrap_or("")
            )
        })
        .collect()
}

/// `(policy id, precedence)` pairs of an app object, in the order the API lists them.
pub fn attachments_of(app: &Value) -> Vec<(String, u64)> {
    app.get("policies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let id = p.get("id").and_then(Value::as_str)?.to_string();
            let precedence = p.get("precedence").and_then(Value::as_u64).unwrap_or(0);
            Some((id, precedence))
        })
        .collect()
}

/// True for methods that change state.
pub fn is_write(method: &str) -> bool {
    matches!(method, "POST" | "PUT" | "PATCH" | "DELETE")
}

/// `METHOD path?query -> status [dropped]`.
pub fn format_request(r: &LoggedRequest) -> String {
    let query = r
        .query
        .as_deref()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    let dropped = if r.dropped { " [response dropped]" } else { "" };
    format!(
        "{} {}{} -> {}{}",
        r.method, r.path, query, r.status, dropped
    )
}

/// Requests in the log matching `method` (None = any) whose path matches `path_re`.
pub fn requests_matching<'a>(
    log: &'a [LoggedRequest],
    method: Option<&str>,
    path_re: &str,
) -> Vec<&'a LoggedRequest> {
    let re = Regex::new(path_re).ok();
    log.iter()
        .filter(|r| method.is_none_or(|m| r.method.eq_ignore_ascii_case(m)))
        .filter(|r| re.as_ref().is_some_and(|re| re.is_match(&r.path)))
        .collect()
}

#[cfg(test)]
mod self_tests {
    use super::*;

    #[test]
    fn normalize_strips_boxes_and_wrapping() {
        let text = "╷\n│ Error: Missing Cloudflare API token\n│ \n│ Set api_token in the provider block or\n│ the CLOUDFLARE_API_TOKEN environment variable.\n╵\n";
        assert_eq!(
            normalize(text),
            "Error: Missing Cloudflare API token Set api_token in the provider block or the CLOUDFLARE_API_TOKEN environment variable."
        );
    }

    #[test]
    fn crash_markers_are_found() {
        let out = Output {
            command: "terraform plan".into(),
            code: 2,
            stdout: String::new(),
            stderr: "panic: runtime error\ngoroutine 1 [running]:".into(),
        };
        assert_eq!(out.crash_marker(), Some("panic:"));
        let ok = Output {
            command: "terraform plan".into(),
            code: 2,
            stdout: "Plan: 1 to add".into(),
            stderr: String::new(),
        };
        assert_eq!(ok.crash_marker(), None);
    }

    #[test]
    fn plan_json_is_read() {
        let raw = serde_json::json!({
            "resource_changes": [
                {"address": "a.x", "change": {"actions": ["delete", "create"], "after_unknown": {"id": true}, "after": {"name": "n"}}},
                {"address": "a.y", "change": {"actions": ["no-op"]}}
            ],
            "resource_drift": [{"address": "a.y", "change": {"actions": ["update"]}}]
        });
        let plan = Plan::from_json(raw);
        assert_eq!(plan.actions_of("a.x"), Some(vec!["delete", "create"]));
        assert!(plan.is_unknown("a.x", "id"));
        assert!(!plan.is_unknown("a.x", "name"));
        assert!(!plan.is_empty());
        assert_eq!(plan.changed().len(), 1);
        assert_eq!(plan.drift.get("a.y"), Some(&vec!["update".to_string()]));
    }

    #[test]
    fn state_json_is_read_with_child_modules() {
        let raw = serde_json::json!({"values": {"root_module": {
            "resources": [{"address": "a.x", "values": {"id": "1", "saas": {"client_id": "c"}}}],
            "child_modules": [{"resources": [{"address": "module.m.a.y", "values": {"id": "2"}}]}]
        }}});
        let state = State::from_json(raw);
        assert_eq!(state.attr("a.x", "id").unwrap(), "1");
        assert_eq!(state.attr("a.x", "saas.client_id").unwrap(), "c");
        assert_eq!(state.attr("module.m.a.y", "id").unwrap(), "2");
        assert!(state.attr("a.z", "id").is_err());
    }

    #[test]
    fn diff_and_remove_path() {
        let a = serde_json::json!({"id": "1", "saas": {"client_secret": "s", "scopes": ["a"]}});
        let mut b =
            serde_json::json!({"id": "1", "saas": {"client_secret": null, "scopes": ["b"]}});
        assert_eq!(json_diff(&a, &b).len(), 2);
        let mut a2 = a.clone();
        remove_path(&mut a2, "saas.client_secret");
        remove_path(&mut b, "saas.client_secret");
        assert_eq!(
            json_diff(&a2, &b),
            vec!["saas.scopes.0: \"a\" != \"b\"".to_string()]
        );
    }

    #[test]
    fn diag_names_attributes() {
        let d = Diag::from_json(&serde_json::json!({
            "severity": "error", "summary": "Invalid decision", "detail": "Linked App Token needs Service Auth",
            "snippet": {"code": "  decision = \"allow\"", "highlight_start_offset": 13, "highlight_end_offset": 20}
        }));
        assert!(d.names_attribute("decision"));
        assert!(d.points_at_attribute("decision"));
        assert!(!d.names_attribute("precedence"));
        assert_eq!(d.highlight.as_deref(), Some("\"allow\""));
        assert!(contains_word("a saas.grant_types = 1", "grant_types"));
        assert!(!contains_word("grant_typesx", "grant_types"));
    }
}
