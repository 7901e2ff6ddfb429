//! A simulated concurrent writer: another team editing a shared app while the client
//! under test runs. Every `interval` it creates one reusable policy of its own (named
//! `{name_prefix} {n}`, so they are countable) and attaches it after the app's
//! existing policies, the way a dashboard user or another Terraform configuration
//! would. Its writes bypass the API (not logged, not rate-limited: they use another
//! token), and it remembers what it attached so a test can count how many of its
//! attachments a read-modify-write of the client dropped.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::shared::Shared;
use crate::store::Origin;

/// Default prefix of the writer's policy names.
pub const DEFAULT_WRITER_PREFIX: &str = "concurrent-writer";

/// Configuration of one [`ConcurrentWriter`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConcurrentWriter {
    /// Account of the app; `None` = the emulator's default account.
    pub account: Option<String>,
    /// The shared app it edits.
    pub app_id: String,
    /// Time between two attachments (the first one happens one interval after start).
    pub interval: Duration,
    /// Its policies are named `{name_prefix} {n}` (n from 1).
    pub name_prefix: String,
    /// Stops after this many attachments; `None` = until stopped.
    pub max_attachments: Option<u32>,
}

impl ConcurrentWriter {
    /// A writer attaching one policy to `app_id` every `interval`, until stopped.
    pub fn new(app_id: impl Into<String>, interval: Duration) -> ConcurrentWriter {
        ConcurrentWriter {
            account: None,
            app_id: app_id.into(),
            interval,
            name_prefix: DEFAULT_WRITER_PREFIX.to_string(),
            max_attachments: None,
        }
    }

    /// Parses the `--concurrent-writer APP_ID:INTERVAL_MS[:COUNT]` command-line form.
    pub fn parse_cli(spec: &str) -> Result<ConcurrentWriter, String> {
        let parts: Vec<&str> = spec.split(':').collect();
        let (app, interval, count) = match parts.as_slice() {
            [app, interval] => (*app, *interval, None),
            [app, interval, count] => (*app, *interval, Some(*count)),
            _ => {
                return Err(format!(
                    "concurrent writer '{spec}': expected APP_ID:INTERVAL_MS[:COUNT]"
                ));
            }
        };
        if app.is_empty() {
            return Err(format!("concurrent writer '{spec}': APP_ID is empty"));
        }
        let ms: u64 = interval
            .trim_end_matches("ms")
            .parse()
            .ok()
            .filter(|ms| *ms > 0)
            .ok_or_else(|| {
                format!("concurrent writer '{spec}': INTERVAL_MS must be a positive number")
            })?;
        let max_attachments = count
            .map(|c| {
                c.parse::<u32>()
                    .ok()
                    .filter(|c| *c > 0)
                    .ok_or_else(|| format!("concurrent writer '{spec}': bad COUNT '{c}'"))
            })
            .transpose()?;
        Ok(ConcurrentWriter {
            max_attachments,
            ..ConcurrentWriter::new(app, Duration::from_millis(ms))
        })
    }
}

/// One policy the writer created and attached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriterAttachment {
    /// Id of the writer's reusable policy.
    pub policy_id: String,
    /// Its name, `{name_prefix} {n}`.
    pub name: String,
    /// The precedence it was attached at (after every policy the app had then).
    pub precedence: u32,
    /// When it was attached.
    pub time: SystemTime,
}

/// What a writer did, and how much of it is still in place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriterReport {
    /// Index of the writer (order of start).
    pub id: usize,
    /// Its configuration.
    pub writer: ConcurrentWriter,
    /// Every attachment it made, oldest first.
    pub attached: Vec<WriterAttachment>,
    /// Ids of its policies that are no longer attached to the app (someone's write
    /// dropped them; the writer itself never detaches).
    pub lost: Vec<String>,
    /// Why it stopped early (app gone, account unknown), if it did.
    pub error: Option<String>,
    /// False once stopped, finished or failed.
    pub running: bool,
}

impl WriterReport {
    /// Attachments still in place.
    pub fn surviving(&self) -> usize {
        self.attached.len() - self.lost.len()
    }

    /// Share of its attachments lost, 0.0 when it made none.
    pub fn loss_ratio(&self) -> f64 {
        if self.attached.is_empty() {
            0.0
        } else {
            self.lost.len() as f64 / self.attached.len() as f64
        }
    }

    /// The admin API's view.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "account": self.writer.account,
            "app_id": self.writer.app_id,
            "interval_ms": self.writer.interval.as_millis(),
            "name_prefix": self.writer.name_prefix,
            "max_attachments": self.writer.max_attachments,
            "attached": self.attached.iter().map(|a| json!({
                "policy_id": a.policy_id,
                "name": a.name,
                "precedence": a.precedence,
                "time": crate::clock::format_rfc3339(time::OffsetDateTime::from(a.time)),
            })).collect::<Vec<_>>(),
            "attached_count": self.attached.len(),
            "lost": self.lost,
            "lost_count": self.lost.len(),
            "surviving": self.surviving(),
            "error": self.error,
            "running": self.running,
        })
    }
}

/// Progress shared between a writer's task and the handles that report on it.
#[derive(Debug, Default)]
struct Progress {
    attached: Vec<WriterAttachment>,
    error: Option<String>,
    done: bool,
}

#[derive(Debug)]
struct Running {
    writer: ConcurrentWriter,
    account: String,
    progress: Arc<Mutex<Progress>>,
    task: JoinHandle<()>,
}

/// The writers of one emulator.
#[derive(Debug, Default)]
pub(crate) struct WriterSet {
    writers: Vec<Running>,
}

fn unpoison<G>(r: Result<G, std::sync::PoisonError<G>>) -> G {
    r.unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn progress(p: &Mutex<Progress>) -> MutexGuard<'_, Progress> {
    unpoison(p.lock())
}

impl WriterSet {
    /// Starts `writer` on the current Tokio runtime; returns its id.
    pub fn start(
        &mut self,
        shared: &Arc<Shared>,
        writer: ConcurrentWriter,
    ) -> Result<usize, String> {
        if writer.interval.is_zero() {
            return Err("the interval must be positive".into());
        }
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| "a concurrent writer needs a Tokio runtime".to_string())?;
        let account = writer
            .account
            .clone()
            .unwrap_or_else(|| shared.default_account.clone());
        {
            let state = shared.read();
            let known = state
                .account(&account)
                .is_some_and(|acc| acc.apps.contains(&writer.app_id));
            if !known {
                return Err(format!(
                    "no application {} in account {account}",
                    writer.app_id
                ));
            }
        }
        let progress = Arc::new(Mutex::new(Progress::default()));
        let task = runtime.spawn(run(
            Arc::downgrade(shared),
            writer.clone(),
            account.clone(),
            progress.clone(),
        ));
        self.writers.push(Running {
            writer,
            account,
            progress,
            task,
        });
        Ok(self.writers.len() - 1)
    }

    /// Stops every writer (their records stay for [`WriterSet::reports`]).
    pub fn stop_all(&mut self) {
        for w in &self.writers {
            w.task.abort();
            progress(&w.progress).done = true;
        }
    }

    /// Stops and forgets every writer.
    pub fn clear(&mut self) {
        self.stop_all();
        self.writers.clear();
    }

    /// A report per writer, with losses computed against `shared`'s current state.
    pub fn reports(&self, shared: &Shared) -> Vec<WriterReport> {
        let state = shared.read();
        self.writers
            .iter()
            .enumerate()
            .map(|(id, w)| {
                let p = progress(&w.progress);
                let attached_now: Vec<String> = state
                    .account(&w.account)
                    .and_then(|acc| acc.apps.get(&w.writer.app_id))
                    .map(|app| app.links.iter().map(|l| l.id.clone()).collect())
                    .unwrap_or_default();
                let lost = p
                    .attached
                    .iter()
                    .filter(|a| !attached_now.contains(&a.policy_id))
                    .map(|a| a.policy_id.clone())
                    .collect();
                WriterReport {
                    id,
                    writer: w.writer.clone(),
                    attached: p.attached.clone(),
                    lost,
                    error: p.error.clone(),
                    running: !p.done && !w.task.is_finished(),
                }
            })
            .collect()
    }
}

impl Drop for WriterSet {
    fn drop(&mut self) {
        self.stop_all();
    }
}

async fn run(
    shared: std::sync::Weak<Shared>,
    writer: ConcurrentWriter,
    account: String,
    progress_of: Arc<Mutex<Progress>>,
) {
    let mut ticker = tokio::time::interval_at(
        tokio::time::Instant::now() + writer.interval,
        writer.interval,
    );
    // A tick missed while the machine was busy is not made up in a burst.
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut n: u32 = 0;
    loop {
        if writer.max_attachments.is_some_and(|max| n >= max) {
            break;
        }
        ticker.tick().await;
        let Some(shared) = shared.upgrade() else {
            break;
        };
        n += 1;
        let name = format!("{} {n}", writer.name_prefix);
        match attach_one(&shared, &account, &writer.app_id, &name) {
            Ok((policy_id, precedence)) => {
                tracing::debug!(app = %writer.app_id, policy = %policy_id, precedence, "concurrent writer attached its policy");
                progress(&progress_of).attached.push(WriterAttachment {
                    policy_id,
                    name,
                    precedence,
                    time: SystemTime::now(),
                });
            }
            Err(e) => {
                tracing::warn!(app = %writer.app_id, error = %e, "concurrent writer stopped");
                progress(&progress_of).error = Some(e);
                break;
            }
        }
    }
    progress(&progress_of).done = true;
}

/// Creates the writer's policy and attaches it after the app's current policies, in
/// one step under the state lock (another client sees it entirely or not at all).
fn attach_one(
    shared: &Shared,
    account: &str,
    app_id: &str,
    name: &str,
) -> Result<(String, u32), String> {
    let mut state = shared.write();
    let acc = state
        .account_mut(account)
        .ok_or_else(|| format!("no account {account}"))?;
    let precedence = acc
        .apps
        .get(app_id)
        .ok_or_else(|| format!("application {app_id} no longer exists"))?
        .links
        .iter()
        .map(|l| l.precedence)
        .max()
        .unwrap_or(0)
        + 1;
    let body = json!({
        "name": name,
        "decision": "allow",
        "include": [{"email_domain": {"domain": "other-team.example.com"}}],
    });
    let policy_id = acc
        .create_policy(&body, Origin::Api)
        .map_err(|e| format!("cannot create its policy: {e:?}"))?;
    let mut links: Vec<(String, u32)> = acc
        .apps
        .get(app_id)
        .map(|app| {
            app.links
                .iter()
                .map(|l| (l.id.clone(), l.precedence))
                .collect()
        })
        .unwrap_or_default();
    links.push((policy_id.clone(), precedence));
    if !acc.set_attachments(app_id, links) {
        return Err(format!("cannot attach its policy to {app_id}"));
    }
    shared.persist(&state);
    Ok((policy_id, precedence))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cli_form() {
        let w = ConcurrentWriter::parse_cli("app-1:150").unwrap();
        assert_eq!(w.app_id, "app-1");
        assert_eq!(w.interval, Duration::from_millis(150));
        assert_eq!(w.max_attachments, None);
        assert_eq!(w.name_prefix, DEFAULT_WRITER_PREFIX);
        let w = ConcurrentWriter::parse_cli("app-1:20ms:80").unwrap();
        assert_eq!(
            (w.interval, w.max_attachments),
            (Duration::from_millis(20), Some(80))
        );
        for bad in [
            "app", ":150", "app:0", "app:x", "app:10:0", "app:10:x", "a:1:2:3",
        ] {
            assert!(ConcurrentWriter::parse_cli(bad).is_err(), "{bad}");
        }
    }
}
