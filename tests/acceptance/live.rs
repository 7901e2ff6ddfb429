//! Live mode (`make testacc-live`, `CFACCESS_LIVE=1`): the acceptance tests that need
//! nothing but the public API run against the account `CLOUDFLARE_API_TOKEN` /
//! `CLOUDFLARE_ACCOUNT_ID` name, at `CLOUDFLARE_BASE_URL` (default Cloudflare's API).
//!
//! How a shared account is kept safe:
//! - Only tests listed in [`LIVE_TESTS`] run; every other test prints why it is skipped
//!   (fault injection, out-of-band edits and request-log assertions need the emulator).
//!   A new test is skipped until someone lists it here, so nothing unvetted ever runs
//!   against a real account.
//! - Every object the harness or a test creates carries a per-test prefix
//!   (`<run prefix><6 hex>-`): the harness writes `name = "…"` literals of the
//!   configuration with it and creates its own prefixed copies of the seed apps and
//!   policies through the public API. Ids and names are translated both ways, so a
//!   test sees the seed ids and names it would see against the emulator, and its
//!   configuration can only ever reach the prefixed copies.
//! - Every prefixed object of a test is deleted when its harness is dropped (also after
//!   a failure or a panic); `scripts/testacc-live.sh` sweeps the whole run prefix at the
//!   end, which also catches a test process that was killed.
//! - `example.com` in configurations becomes `<6 hex>.<zone>`, so every test's domains
//!   are its own (Cloudflare refuses a domain another app uses); set
//!   `CFACCESS_LIVE_ZONE` to a zone of the account (Cloudflare only accepts self-hosted
//!   domains of the account's zones), else `example.com` stays the zone.

use std::collections::BTreeMap;

use regex::Regex;
use serde_json::{Value, json};

use super::random_hex;
use cfaccess_emulator::Seed;

/// Tests vetted for live mode: they drive terraform and read state, nothing else.
pub const LIVE_TESTS: &[&str] = &[
    "provider::provider_schema_is_served_to_terraform",
    "provider::blank_token_attribute_is_refused_at_validate",
    "provider::token_in_provider_block_is_used",
    "modern::import_blocks_generate_configuration_that_applies_with_no_changes",
    "modern::moved_blocks_rename_both_resources_without_touching_the_objects",
];

/// Why the tests of a module cannot run live; tests of other modules get a generic
/// reason.
const MODULE_REASONS: &[(&str, &str)] = &[
    (
        "reliability",
        "needs the emulator's fault injection (lost responses, 5xx, 429) or its rate limiter",
    ),
    (
        "secrets",
        "scans the emulator's request log and injects faults",
    ),
    (
        "linked_app_policy",
        "edits attachments out of band or injects faults through the emulator",
    ),
    (
        "mcp_server_app",
        "edits apps out of band and reads the emulator's request log",
    ),
    (
        "bad_input",
        "asserts through the emulator's request log that nothing was written",
    ),
    (
        "access_application",
        "needs seed apps of every type (SSH, SaaS, mcp) with fixed ids",
    ),
    (
        "provider",
        "checks error paths against the emulator (its request log, a wrong token or account, an empty seed)",
    ),
    (
        "modern",
        "needs the emulator's Access edge or a local release mirror",
    ),
];

/// `Some(reason)` when `test` (`module::name`) must not run live.
pub fn skip_reason(test: &str) -> Option<String> {
    if LIVE_TESTS.contains(&test) {
        return None;
    }
    let module = test.split("::").next().unwrap_or(test);
    let why = MODULE_REASONS
        .iter()
        .find(|(m, _)| *m == module)
        .map(|(_, why)| (*why).to_string())
        .unwrap_or_else(|| {
            "not listed in LIVE_TESTS (tests/acceptance/live.rs); only vetted tests run against a real account".to_string()
        });
    Some(why)
}

/// What live mode needs from the environment.
#[derive(Clone, Debug)]
pub struct LiveConfig {
    pub token: String,
    pub account_id: String,
    /// `…/client/v4`.
    pub base_url: String,
    /// Prefix of everything this run creates, e.g. `cfacc-live-1a2b3c-`.
    pub run_prefix: String,
    /// A zone of the account that replaces `example.com` in configurations.
    pub zone: Option<String>,
}

impl LiveConfig {
    /// `Ok(None)` unless `CFACCESS_LIVE=1`; an error when live mode is asked for but
    /// the token, account or run prefix is missing.
    pub fn from_env() -> Result<Option<LiveConfig>, String> {
        if std::env::var("CFACCESS_LIVE").ok().as_deref() != Some("1") {
            return Ok(None);
        }
        let need = |k: &str| {
            std::env::var(k)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| format!("CFACCESS_LIVE=1 needs {k}"))
        };
        let run_prefix = need("CFACCESS_LIVE_PREFIX")?;
        if !Regex::new(r"^cfacc-[a-z0-9-]{4,40}-$")
            .map_err(|e| e.to_string())?
            .is_match(&run_prefix)
        {
            return Err(format!(
                "CFACCESS_LIVE_PREFIX must look like cfacc-<run id>- (got {run_prefix:?})"
            ));
        }
        Ok(Some(LiveConfig {
            token: need("CLOUDFLARE_API_TOKEN")?,
            account_id: need("CLOUDFLARE_ACCOUNT_ID")?,
            base_url: std::env::var("CLOUDFLARE_BASE_URL")
                .ok()
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| "https://api.cloudflare.com/client/v4".to_string())
                .trim_end_matches('/')
                .to_string(),
            run_prefix,
            zone: std::env::var("CFACCESS_LIVE_ZONE")
                .ok()
                .filter(|v| !v.is_empty()),
        }))
    }
}

/// A thin client of the public Access API for the harness's own objects.
#[derive(Clone)]
struct Api {
    http: reqwest::Client,
    cfg: LiveConfig,
}

impl Api {
    fn new(cfg: &LiveConfig) -> Result<Api, String> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .map_err(|e| format!("http client: {e}"))?;
        Ok(Api {
            http,
            cfg: cfg.clone(),
        })
    }

    fn url(&self, path: &str) -> String {
        format!(
            "{}/accounts/{}/access/{path}",
            self.cfg.base_url, self.cfg.account_id
        )
    }

    /// Creates one object of `kind` (`apps` or `policies`); the created object.
    async fn create(&self, kind: &str, body: &Value) -> Result<Value, String> {
        let doc = self.call(reqwest::Method::POST, kind, Some(body)).await?;
        Ok(doc.get("result").cloned().unwrap_or(Value::Null))
    }

    /// One request; the whole response envelope when it succeeded.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, String> {
        let mut req = self
            .http
            .request(method.clone(), self.url(path))
            .bearer_auth(&self.cfg.token);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| format!("{method} {path}: {e}"))?;
        let status = resp.status();
        let doc: Value = resp.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            // The envelope's errors, never the request (it may hold the token).
            return Err(format!(
                "{method} {path}: HTTP {status}: {}",
                doc.get("errors").cloned().unwrap_or(Value::Null)
            ));
        }
        Ok(doc)
    }

    /// Every object of `kind` (`apps` or `policies`), all pages.
    async fn list(&self, kind: &str) -> Result<Vec<Value>, String> {
        let mut out = Vec::new();
        for page in 1..=1000 {
            let path = format!("{kind}?page={page}&per_page=100");
            let doc = self.call(reqwest::Method::GET, &path, None).await?;
            let items = doc
                .get("result")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let total_pages = doc
                .pointer("/result_info/total_pages")
                .and_then(Value::as_u64)
                .unwrap_or(1);
            let empty = items.is_empty();
            out.extend(items);
            if empty || page >= total_pages {
                break;
            }
        }
        Ok(out)
    }
}

fn name_of(v: &Value) -> &str {
    v.get("name").and_then(Value::as_str).unwrap_or("")
}

fn id_of(v: &Value) -> Option<String> {
    v.get("id").and_then(Value::as_str).map(str::to_string)
}

/// One harness's footprint in the live account.
pub struct LiveAccount {
    api: Api,
    /// Everything this harness creates starts with it.
    prefix: String,
    /// Seed id → id of the prefixed live copy.
    ids: Vec<(String, String)>,
    /// The live seed apps' `(policy id, precedence)` lists right after seeding.
    seed_attachments: BTreeMap<String, Vec<(String, u64)>>,
    /// Replaces `example.com`: `<6 hex>.<zone>` (the zone defaults to `example.com`),
    /// so every test's domains are its own (Cloudflare refuses a domain already used).
    domain: String,
    name_re: Regex,
}

impl LiveAccount {
    /// Creates prefixed copies of the seed's policies and apps (with their
    /// attachments) through the public API.
    pub async fn start(cfg: &LiveConfig, seed: Option<&Seed>) -> Result<LiveAccount, String> {
        let hex = random_hex(6);
        let mut account = LiveAccount {
            api: Api::new(cfg)?,
            prefix: format!("{}{hex}-", cfg.run_prefix),
            domain: format!("{hex}.{}", cfg.zone.as_deref().unwrap_or("example.com")),
            ids: Vec::new(),
            seed_attachments: BTreeMap::new(),
            name_re: Regex::new(r#"(\bname\s*=\s*")([^"]*)"#).map_err(|e| e.to_string())?,
        };
        let Some(seed) = seed else {
            return Ok(account);
        };
        if let Err(e) = account.create_seed(seed).await {
            account.delete_ours().await;
            return Err(format!("live seed: {e}"));
        }
        Ok(account)
    }

    async fn create_seed(&mut self, seed: &Seed) -> Result<(), String> {
        for p in &seed.policies {
            let mut body = p.clone();
            self.prepare(&mut body);
            let created = self.api.create("policies", &body).await?;
            if let (Some(from), Some(to)) = (id_of(p), id_of(&created)) {
                self.ids.push((from, to));
            }
        }
        for a in &seed.apps {
            let mut body = a.clone();
            self.prepare(&mut body);
            if let Some(policies) = body.get_mut("policies").and_then(Value::as_array_mut) {
                for p in policies.iter_mut() {
                    let live = p
                        .get("id")
                        .and_then(Value::as_str)
                        .map(|id| self.to_live_ids(id));
                    if let Some(live) = live {
                        p["id"] = json!(live);
                    }
                }
            }
            let created = self.api.create("apps", &body).await?;
            if let (Some(from), Some(to)) = (id_of(a), id_of(&created)) {
                self.seed_attachments
                    .insert(to.clone(), super::attachments_of(&created));
                self.ids.push((from, to));
            }
        }
        Ok(())
    }

    /// A seed object as a create request: no id, a prefixed name, the live zone.
    fn prepare(&self, body: &mut Value) {
        if let Some(obj) = body.as_object_mut() {
            obj.remove("id");
            let name = obj.get("name").and_then(Value::as_str).unwrap_or("seed");
            let name = format!("{}{name}", self.prefix);
            obj.insert("name".into(), json!(name));
        }
        let text = self.zone_to_live(&body.to_string());
        if let Ok(v) = serde_json::from_str(&text) {
            *body = v;
        }
    }

    /// This harness's prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn to_live_ids(&self, text: &str) -> String {
        self.ids
            .iter()
            .fold(text.to_string(), |t, (seed, live)| t.replace(seed, live))
    }

    /// A configuration as it must reach the live account: seed ids become the ids
    /// of the live copies, every `name = "…"` string gets the prefix (lookups of seed
    /// apps by name then find the copies), `example.com` becomes the live domain. A
    /// name that is not a string (`name = var.x`) is not reached: tests listed in
    /// [`LIVE_TESTS`] write names as strings.
    pub fn config_to_live(&self, text: &str) -> String {
        let text = self.to_live_ids(text);
        let prefix = regex::escape(&self.prefix);
        let already = Regex::new(&format!("^{prefix}")).ok();
        let text = self
            .name_re
            .replace_all(&text, |c: &regex::Captures<'_>| {
                let value = &c[2];
                if already.as_ref().is_some_and(|re| re.is_match(value)) {
                    c[0].to_string()
                } else {
                    // Also before an interpolation: the object's name starts with it.
                    format!("{}{}{value}", &c[1], self.prefix)
                }
            })
            .into_owned();
        self.zone_to_live(&text)
    }

    /// A command-line argument (an import id, an address) as it must reach terraform.
    pub fn arg_to_live(&self, arg: &str) -> String {
        self.zone_to_live(&self.to_live_ids(arg))
    }

    fn zone_to_live(&self, text: &str) -> String {
        text.replace("example.com", &self.domain)
    }

    /// Terraform output as the test expects it: live ids become seed ids again, the
    /// prefix disappears, the zone is `example.com` again.
    pub fn text_for_test(&self, text: &str) -> String {
        self.ids
            .iter()
            .fold(text.to_string(), |t, (seed, live)| t.replace(live, seed))
            .replace(&self.domain, "example.com")
            .replace(&self.prefix, "")
    }

    /// After a destroy: nothing prefixed is left but the seed copies, and those kept
    /// exactly their attachments.
    pub async fn check_only_seed_left(&self) -> Result<(), String> {
        let seed_live: Vec<&String> = self.ids.iter().map(|(_, l)| l).collect();
        let mut extra = Vec::new();
        let apps = self.api.list("apps").await?;
        for kind in ["apps", "policies"] {
            let objects = if kind == "apps" {
                apps.clone()
            } else {
                self.api.list(kind).await?
            };
            for o in objects {
                let ours = name_of(&o).starts_with(&self.prefix);
                let seed = id_of(&o).is_some_and(|id| seed_live.contains(&&id));
                if ours && !seed {
                    extra.push(format!("{kind}: {}", name_of(&o)));
                }
            }
        }
        if !extra.is_empty() {
            return Err(format!(
                "after destroy the account still holds objects of this test: {extra:?}"
            ));
        }
        for (app_id, original) in &self.seed_attachments {
            let now = apps
                .iter()
                .find(|a| id_of(a).as_deref() == Some(app_id))
                .map(super::attachments_of);
            if now.as_ref() != Some(original) {
                return Err(format!(
                    "seed copy {app_id} attachments changed: was {original:?}, now {now:?}"
                ));
            }
        }
        Ok(())
    }

    /// Deletes every object whose name starts with this harness's prefix.
    pub async fn delete_ours(&self) {
        if let Err(e) = delete_prefixed(&self.api, &self.prefix).await {
            eprintln!("live cleanup of {}: {e}", self.prefix);
        }
    }

    /// [`LiveAccount::delete_ours`] from a synchronous context (the harness's `Drop`,
    /// which runs inside the test's runtime): on a thread with a runtime of its own.
    pub fn delete_ours_blocking(&self) {
        let cfg = self.api.cfg.clone();
        let prefix = self.prefix.clone();
        let thread_prefix = prefix.clone();
        let joined = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            // A client of this runtime: the harness's pools connections on the test's
            // runtime, which is blocked in this join.
            let api = Api::new(&cfg)?;
            rt.block_on(delete_prefixed(&api, &thread_prefix))
        })
        .join();
        match joined {
            Ok(Ok(n)) if n > 0 => eprintln!("live cleanup: deleted {n} objects named {prefix}*"),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => eprintln!("live cleanup of {prefix}* failed: {e}"),
            Err(_) => eprintln!("live cleanup of {prefix}* panicked"),
        }
    }
}

/// Deletes the apps, then the reusable policies, whose names start with `prefix`
/// (apps first: a policy still attached to an app cannot be deleted). Returns how many.
async fn delete_prefixed(api: &Api, prefix: &str) -> Result<usize, String> {
    let mut deleted = 0;
    let mut errors = Vec::new();
    for kind in ["apps", "policies"] {
        for o in api.list(kind).await? {
            if !name_of(&o).starts_with(prefix) {
                continue;
            }
            let Some(id) = id_of(&o) else { continue };
            match api
                .call(reqwest::Method::DELETE, &format!("{kind}/{id}"), None)
                .await
            {
                Ok(_) => deleted += 1,
                Err(e) => errors.push(e),
            }
        }
    }
    if errors.is_empty() {
        Ok(deleted)
    } else {
        Err(errors.join("; "))
    }
}

/// Deletes everything the run named by `CFACCESS_LIVE_PREFIX` left behind (the
/// script's final sweep; an ignored test, run explicitly by `scripts/testacc-live.sh`).
#[tokio::test]
#[ignore = "run by scripts/testacc-live.sh after the live suite"]
async fn live_sweep() {
    let cfg = match LiveConfig::from_env() {
        Ok(Some(cfg)) => cfg,
        Ok(None) => panic!("live_sweep needs CFACCESS_LIVE=1"),
        Err(e) => panic!("{e}"),
    };
    let api = Api::new(&cfg).unwrap_or_else(|e| panic!("{e}"));
    let n = delete_prefixed(&api, &cfg.run_prefix)
        .await
        .unwrap_or_else(|e| panic!("sweep of {}*: {e}", cfg.run_prefix));
    eprintln!("live sweep: deleted {n} objects named {}*", cfg.run_prefix);
    let left: Vec<String> = [api.list("apps").await, api.list("policies").await]
        .into_iter()
        .flat_map(|r| r.unwrap_or_default())
        .map(|o| name_of(&o).to_string())
        .filter(|n| n.starts_with(&cfg.run_prefix))
        .collect();
    assert!(left.is_empty(), "left after the sweep: {left:?}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_tests_run_live_and_the_others_say_why() {
        assert_eq!(
            skip_reason("provider::provider_schema_is_served_to_terraform"),
            None
        );
        assert!(
            skip_reason("reliability::interrupt_mid_apply_stops_promptly_and_next_apply_converges")
                .is_some_and(|r| r.contains("fault"))
        );
        assert!(skip_reason("newfile::anything").is_some_and(|r| r.contains("LIVE_TESTS")));
    }

    /// A renamed test would otherwise drop out of live mode silently (skipped with the
    /// generic reason), leaving `make testacc-live` green and emptier.
    #[test]
    fn every_live_test_names_an_acceptance_test() {
        for test in LIVE_TESTS {
            let (module, name) = test.split_once("::").expect("module::name");
            let path = super::super::repo_root().join(format!("tests/acceptance/{module}.rs"));
            let source = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{test}: cannot read {}: {e}", path.display()));
            assert!(
                source.contains(&format!("async fn {name}(")),
                "{test} is in LIVE_TESTS but {} has no such test",
                path.display()
            );
        }
    }

    fn account() -> LiveAccount {
        let cfg = LiveConfig {
            token: "t".into(),
            account_id: "a".into(),
            base_url: "http://127.0.0.1:1/client/v4".into(),
            run_prefix: "cfacc-live-test-".into(),
            zone: Some("corp.example.net".into()),
        };
        LiveAccount {
            api: Api::new(&cfg).expect("client"),
            prefix: "cfacc-live-test-abc123-".into(),
            ids: vec![("seed-app".into(), "live-app".into())],
            seed_attachments: BTreeMap::new(),
            domain: "abc123.corp.example.net".into(),
            name_re: Regex::new(r#"(\bname\s*=\s*")([^"]*)"#).expect("regex"),
        }
    }

    #[test]
    fn configurations_reach_only_prefixed_objects_and_outputs_read_as_seed() {
        let a = account();
        let config = "data \"x\" \"w\" {\n  name = \"Company wiki\"\n}\nresource \"y\" \"z\" {\n  name   = \"MCP ${var.x}\"\n  domain = \"mcp.example.com\"\n  target_app_ids = [\"seed-app\"]\n}\n";
        let live = a.config_to_live(config);
        assert!(
            live.contains("name = \"cfacc-live-test-abc123-Company wiki\""),
            "{live}"
        );
        assert!(live.contains("\"mcp.abc123.corp.example.net\""), "{live}");
        assert!(live.contains("[\"live-app\"]"), "{live}");
        // Already prefixed names are left alone; interpolated ones get the prefix too.
        assert_eq!(a.config_to_live(&live), live);
        assert!(
            live.contains("name   = \"cfacc-live-test-abc123-MCP ${var.x}\""),
            "{live}"
        );
        assert_eq!(a.arg_to_live("acct/seed-app"), "acct/live-app");
        let out = "live-app cfacc-live-test-abc123-Company wiki mcp.abc123.corp.example.net";
        assert_eq!(
            a.text_for_test(out),
            "seed-app Company wiki mcp.example.com"
        );
    }
}
