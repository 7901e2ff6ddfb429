//! The per-application writer: every write to an application's `policies` (and every
//! other PUT of an application) goes through the one writer of that (account,
//! application) in this process.
//!
//! The API has no conditional write and a PUT replaces the whole application, so the
//! only protection other writers (the dashboard, other teams, other Terraform runs)
//! have is a short window between our read and our write. The writer keeps that
//! window short and never writes from an old read:
//!
//! - attach, detach and move requests queue on the writer; it takes every request
//!   queued at that moment as one batch, so N attachments to one app cost one GET and
//!   one PUT instead of N of each;
//! - the rate-limit tokens of the GET **and** the PUT are reserved before the GET is
//!   sent, so nothing waits between them;
//! - each request is checked against the fresh read; one that cannot apply (a
//!   precedence clash) fails alone, the others go on; a PUT refused because of one of
//!   them is retried without it;
//! - entries nobody asked to change keep their id and precedence exactly as read;
//! - a PUT is never re-sent: every retry (429, 5xx, timeout, reset connection) starts
//!   again from a fresh GET, bounded by `max_retries`, honouring `retry-after` and the
//!   stop token.
//!
//! Other read-modify-writes of an application ([`Client::modify_attachments`],
//! [`Client::update_app_with`]) hold the same writer for their GET and PUT, so they
//! never interleave with a batch.

mod plan;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;
use serde_json::Value;
use tokio::sync::{OwnedMutexGuard, oneshot};

use super::client::{Client, app_path, decode, into_cache};
use super::error::ApiError;
use super::ids::{AccountId, AppId};
use super::lock;
use super::models::app::{App, PolicyLink};
use super::rate_limit::Permits;
use super::transport::{Attempt, Request, with_attempts};
use plan::{Holds, describe, describe_change, holds, plan_batch, validate};
pub(crate) use plan::{LinkChange, body_with_links, normalised};

/// (account id, application id).
type AppKey = (AccountId, AppId);

// ----- the writers ----------------------------------------------------------------

type Reply = oneshot::Sender<Result<App, ApiError>>;

/// A queued change and where its outcome goes.
struct Pending {
    change: LinkChange,
    reply: Reply,
}

impl Pending {
    fn answer(self, outcome: Result<App, ApiError>) {
        // The caller may have gone (its RPC was dropped); the outcome then has no reader.
        let _ = self.reply.send(outcome);
    }
}

#[derive(Default)]
struct Queue {
    pending: Vec<Pending>,
    /// A task is draining the queue; new requests just join it.
    draining: bool,
}

/// The writer of one application.
#[derive(Default)]
pub(crate) struct AppWriter {
    /// Held for every GET→PUT of this application (a batch, or one caller's edit).
    exclusive: Arc<tokio::sync::Mutex<()>>,
    queue: Mutex<Queue>,
}

impl AppWriter {
    fn take_queued(&self) -> Vec<Pending> {
        std::mem::take(&mut lock(&self.queue).pending)
    }
}

/// One writer per (account, application) in this process.
#[derive(Default)]
pub(crate) struct AppWriters {
    writers: Mutex<HashMap<AppKey, Arc<AppWriter>>>,
}

impl std::fmt::Debug for AppWriters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppWriters").finish_non_exhaustive()
    }
}

impl AppWriters {
    fn get(&self, account: &AccountId, app_id: &AppId) -> Arc<AppWriter> {
        lock(&self.writers)
            .entry((account.to_owned(), app_id.to_owned()))
            .or_default()
            .clone()
    }

    /// Holds the application's writer for a read-modify-write done by the caller.
    pub async fn exclusive(&self, account: &AccountId, app_id: &AppId) -> OwnedMutexGuard<()> {
        let writer = self.get(account, app_id);
        writer.exclusive.clone().lock_owned().await
    }
}

/// Resets a writer's queue if its draining task ends without finishing (a panic, or
/// the runtime shutting down), so later requests start a new drainer instead of
/// waiting forever; the requests it held are answered by their dropped senders.
struct DrainGuard<'a> {
    writer: &'a AppWriter,
    finished: bool,
}

impl Drop for DrainGuard<'_> {
    fn drop(&mut self) {
        if !self.finished {
            let mut queue = lock(&self.writer.queue);
            queue.pending.clear();
            queue.draining = false;
        }
    }
}

/// How one GET→PUT round ended.
enum RoundEnd {
    /// Every request of the round was answered.
    Answered,
    /// A transient failure: start again from a fresh GET.
    Retry(Transient),
    /// The PUT was refused (4xx); `changers` made changes in it. Nobody answered yet.
    Refused {
        error: ApiError,
        changers: Vec<usize>,
    },
}

impl Client {
    /// Queues `change` on the application's writer and waits for its own outcome: the
    /// application as written (or as read, when nothing needed writing).
    pub(crate) async fn change_attachments(
        &self,
        account: &AccountId,
        app_id: &AppId,
        change: LinkChange,
    ) -> Result<App, ApiError> {
        let writer = self.inner.writers.get(account, app_id);
        let (reply, outcome) = oneshot::channel();
        let start = {
            let mut queue = lock(&writer.queue);
            queue.pending.push(Pending { change, reply });
            !std::mem::replace(&mut queue.draining, true)
        };
        if start {
            // A task of its own, so that a caller dropped mid-batch (Terraform
            // cancelling one RPC) does not take the other requests of its batch down.
            let client = self.clone();
            let (account, app_id) = (account.to_owned(), app_id.to_owned());
            tokio::spawn(async move { client.drain(&writer, &account, &app_id).await });
        }
        outcome
            .await
            .unwrap_or_else(|_| {
                Err(ApiError::AttachmentNotApplied {
                    app_id: app_id.to_string(),
                    message: "the application's writer stopped before answering; read the application to see what it holds".into(),
                })
            })
    }

    async fn drain(&self, writer: &AppWriter, account: &AccountId, app_id: &AppId) {
        let mut guard = DrainGuard {
            writer,
            finished: false,
        };
        loop {
            let _exclusive = writer.exclusive.lock().await;
            // Let requests sent in the same instant (parallel resources) join.
            tokio::task::yield_now().await;
            let batch = {
                let mut queue = lock(&writer.queue);
                if queue.pending.is_empty() {
                    queue.draining = false;
                    guard.finished = true;
                    return;
                }
                std::mem::take(&mut queue.pending)
            };
            self.write_batch(account, app_id, Some(writer), batch).await;
        }
    }

    /// Writes `live` (and, with `writer`, whatever queues on it before each GET) in as
    /// few GET→PUT rounds as possible, answering every request.
    async fn write_batch(
        &self,
        account: &AccountId,
        app_id: &AppId,
        writer: Option<&AppWriter>,
        mut live: Vec<Pending>,
    ) {
        let transport = &self.inner.transport;
        let mut attempt: u32 = 1;
        loop {
            if live.is_empty() {
                return;
            }
            let permits = match transport.reserve(2).await {
                Ok(permits) => permits,
                Err(e) => return answer_all(live, &e),
            };
            if let Some(writer) = writer {
                live.extend(writer.take_queued());
            }
            tracing::debug!(
                app_id = app_id.as_str(),
                requests = live.len(),
                attempt,
                "attachment batch"
            );
            match self
                .batch_round(account, app_id, &mut live, permits, attempt)
                .await
            {
                RoundEnd::Answered => return,
                RoundEnd::Retry(transient) => {
                    if let Err(e) = self
                        .wait_for_retry(account, app_id, attempt, transient)
                        .await
                    {
                        return answer_all(live, &e);
                    }
                    attempt += 1;
                }
                RoundEnd::Refused { error, changers } => {
                    let culprit = if changers.len() == 1 {
                        Some(changers[0])
                    } else {
                        named_in(&error, &live, &changers)
                    };
                    match culprit {
                        Some(index) => {
                            tracing::warn!(app_id = app_id.as_str(), policy_id = live[index].change.policy_id(), error = %error, "the API refused one attachment of a batch; retrying the others");
                            live.remove(index).answer(Err(error));
                        }
                        None => {
                            // Cannot tell which request the API refused: one at a time,
                            // each from its own fresh read.
                            tracing::warn!(app_id = app_id.as_str(), error = %error, "the API refused a batch of attachments; retrying them one by one");
                            for pending in live {
                                Box::pin(self.write_batch(account, app_id, None, vec![pending]))
                                    .await;
                            }
                            return;
                        }
                    }
                }
            }
        }
    }

    /// One fresh GET, every request checked and applied, one PUT, the result checked.
    async fn batch_round(
        &self,
        account: &AccountId,
        app_id: &AppId,
        live: &mut Vec<Pending>,
        mut permits: Permits<'_>,
        attempt: u32,
    ) -> RoundEnd {
        let app = match self
            .read_for_write(account, app_id, attempt, &mut permits)
            .await
        {
            Ok(app) => app,
            Err(Step::Retry(transient)) => return RoundEnd::Retry(transient),
            Err(Step::Fail(e)) => {
                answer_all(std::mem::take(live), &e);
                return RoundEnd::Answered;
            }
        };
        let read = app.policy_links();
        let changes: Vec<LinkChange> = live.iter().map(|p| p.change.clone()).collect();
        let plan = plan_batch(app_id, &read, &changes);
        // Requests that cannot apply fail alone, now; the rest go on. A refused change
        // left the list as it was, so the plan holds for the rest as it is: only the
        // changers' indexes move to their places among the requests kept.
        let mut kept = Vec::with_capacity(live.len());
        let mut changers = Vec::with_capacity(plan.changers.len());
        for (index, (pending, refused)) in std::mem::take(live)
            .into_iter()
            .zip(plan.refused)
            .enumerate()
        {
            match refused {
                Some(e) => pending.answer(Err(e)),
                None => {
                    if plan.changers.contains(&index) {
                        changers.push(kept.len());
                    }
                    kept.push(pending);
                }
            }
        }
        *live = kept;
        if !plan.changed {
            for pending in std::mem::take(live) {
                pending.answer(Ok(app.clone()));
            }
            return RoundEnd::Answered;
        }
        if let Err(e) = validate(app_id, &plan.links) {
            answer_all(std::mem::take(live), &e);
            return RoundEnd::Answered;
        }
        let wanted = plan.links;
        tracing::debug!(
            app_id = app_id.as_str(),
            requests = live.len(),
            attached = wanted.len(),
            "writing policy attachments"
        );
        let body = body_with_links(&app, &wanted);
        let written = match self
            .write_read(account, app_id, &body, attempt, &mut permits)
            .await
        {
            Ok(written) => written,
            Err(Step::Retry(transient)) => return RoundEnd::Retry(transient),
            Err(Step::Fail(e)) if is_refusal(&e) => {
                return RoundEnd::Refused { error: e, changers };
            }
            Err(Step::Fail(e)) => {
                answer_all(std::mem::take(live), &e);
                return RoundEnd::Answered;
            }
        };
        match written {
            Some(written) if shows(app_id, &written, &wanted) => {
                for pending in std::mem::take(live) {
                    pending.answer(Ok(written.clone()));
                }
                RoundEnd::Answered
            }
            _ => self.verify_each(account, app_id, live).await,
        }
    }

    /// The PUT response did not show every change: reads the application again and
    /// answers each request by whether its own change is there (another writer may
    /// have changed other entries meanwhile).
    async fn verify_each(
        &self,
        account: &AccountId,
        app_id: &AppId,
        live: &mut Vec<Pending>,
    ) -> RoundEnd {
        let reread = match self.get_app_uncached(account, app_id).await {
            Ok(app) => app,
            Err(e) => {
                answer_all(std::mem::take(live), &e);
                return RoundEnd::Answered;
            }
        };
        let have = reread.policy_links();
        let pending = std::mem::take(live);
        let last_of: HashMap<&str, usize> = pending
            .iter()
            .enumerate()
            .map(|(i, p)| (p.change.policy_id(), i))
            .collect();
        let verdicts: Vec<bool> = pending
            .iter()
            .enumerate()
            .map(|(i, p)| {
                // A change superseded in the same batch (attach, then detach) counts
                // as done when the last change of its policy is.
                let last = last_of.get(p.change.policy_id()).copied().unwrap_or(i);
                pending[last].change.visible_in(&have)
            })
            .collect();
        for (pending, ok) in pending.into_iter().zip(verdicts) {
            if ok {
                pending.answer(Ok(reread.clone()));
            } else {
                let message = format!(
                    "{} not in effect after the write; read back {}",
                    describe_change(&pending.change),
                    describe(&normalised(&have))
                );
                pending.answer(Err(ApiError::AttachmentNotApplied {
                    app_id: app_id.to_string(),
                    message,
                }));
            }
        }
        RoundEnd::Answered
    }

    /// The GET of a read-modify-write, paid from `permits`, never retried here.
    async fn read_for_write(
        &self,
        account: &AccountId,
        app_id: &AppId,
        attempt: u32,
        permits: &mut Permits<'_>,
    ) -> Result<App, Step> {
        let transport = &self.inner.transport;
        let request = Request::new(Method::GET, app_path(account, app_id));
        match transport.attempt_with(&request, attempt, permits).await {
            // `with_attempts` leaves a decode error as it is.
            Attempt::Done(answer) => {
                into_cache(&self.inner.apps, account, app_id, &request, answer)
                    .map_err(|e| Step::Fail(with_attempts(e, attempt)))
            }
            // Nothing was written yet, so a failed read is never ambiguous.
            Attempt::Retryable {
                error, retry_after, ..
            } => Err(Step::Retry(Transient {
                error,
                retry_after,
                ambiguous: false,
                method: Method::GET,
            })),
        }
    }

    /// The PUT of a read-modify-write, paid from `permits`, never re-sent. `Ok(None)`:
    /// accepted, but the response did not decode as an application.
    async fn write_read(
        &self,
        account: &AccountId,
        app_id: &AppId,
        body: &Value,
        attempt: u32,
        permits: &mut Permits<'_>,
    ) -> Result<Option<App>, Step> {
        let transport = &self.inner.transport;
        let request = Request::new(Method::PUT, app_path(account, app_id)).with_body(body);
        match transport.attempt_with(&request, attempt, permits).await {
            Attempt::Done(Ok(success)) => match decode::<App>(&request, success.envelope.result) {
                Ok(app) => {
                    self.inner.apps.put(account, app_id, app.clone());
                    Ok(Some(app))
                }
                Err(e) => {
                    tracing::warn!(app_id = app_id.as_str(), error = %e, "the application PUT was accepted but its response did not decode; reading it back");
                    Ok(None)
                }
            },
            Attempt::Done(Err(e)) => {
                if e.is_not_found() {
                    self.inner.apps.remove(account, app_id);
                }
                Err(Step::Fail(with_attempts(e, attempt)))
            }
            Attempt::Retryable {
                error,
                retry_after,
                ambiguous,
            } => Err(Step::Retry(Transient {
                error,
                retry_after,
                ambiguous,
                method: Method::PUT,
            })),
        }
    }

    /// A read-modify-write of one application under its writer, for edits that are
    /// not a queued attach/detach: `build` gets every fresh read and returns the PUT
    /// body (`None`: nothing to write) and, when the body sets `policies`, the links
    /// that must read back. Any retry starts from a new GET and calls `build` again.
    pub(crate) async fn rewrite_app<F>(
        &self,
        account: &AccountId,
        app_id: &AppId,
        mut build: F,
    ) -> Result<App, ApiError>
    where
        F: FnMut(&App) -> Result<Option<(Value, Option<Vec<PolicyLink>>)>, ApiError>,
    {
        let _writer = self.inner.writers.exclusive(account, app_id).await;
        let transport = &self.inner.transport;
        let mut attempt: u32 = 1;
        loop {
            let mut permits = transport.reserve(2).await?;
            let step = async {
                let app = self
                    .read_for_write(account, app_id, attempt, &mut permits)
                    .await?;
                let Some((body, wanted)) = build(&app).map_err(Step::Fail)? else {
                    return Ok(app);
                };
                if let Some(wanted) = &wanted {
                    validate(app_id, wanted).map_err(Step::Fail)?;
                }
                let written = self
                    .write_read(account, app_id, &body, attempt, &mut permits)
                    .await?;
                self.check_written(account, app_id, written, wanted.as_deref())
                    .await
                    .map_err(Step::Fail)
            };
            match step.await {
                Ok(app) => return Ok(app),
                Err(Step::Fail(e)) => return Err(e),
                Err(Step::Retry(transient)) => {
                    self.wait_for_retry(account, app_id, attempt, transient)
                        .await?;
                    attempt += 1;
                }
            }
        }
    }

    /// The application after an accepted PUT: the response when it shows `wanted`
    /// (or when no list was sent), else one re-read that must show it.
    async fn check_written(
        &self,
        account: &AccountId,
        app_id: &AppId,
        written: Option<App>,
        wanted: Option<&[PolicyLink]>,
    ) -> Result<App, ApiError> {
        let Some(wanted) = wanted else {
            return match written {
                Some(app) => Ok(app),
                None => self.get_app_uncached(account, app_id).await,
            };
        };
        let wanted = normalised(wanted);
        if let Some(app) = written.filter(|app| shows(app_id, app, &wanted)) {
            return Ok(app);
        }
        let reread = self.get_app_uncached(account, app_id).await?;
        if shows(app_id, &reread, &wanted) {
            return Ok(reread);
        }
        Err(ApiError::AttachmentNotApplied {
            app_id: app_id.to_string(),
            message: format!(
                "sent {}, read back {}",
                describe(&wanted),
                describe(&normalised(&reread.policy_links()))
            ),
        })
    }
}

/// Whether `app` holds `wanted`; precedences renumbered by the API (same policies,
/// same order) count, with a warning.
fn shows(app_id: &AppId, app: &App, wanted: &[PolicyLink]) -> bool {
    match holds(app, wanted) {
        Holds::Exactly => true,
        Holds::Renumbered => {
            tracing::warn!(
                app_id = app_id.as_str(),
                "the API renumbered policy precedences"
            );
            true
        }
        Holds::No => false,
    }
}

/// Why a step of a read-modify-write stopped.
enum Step {
    /// Final for this operation.
    Fail(ApiError),
    /// Worth a new round from a fresh GET.
    Retry(Transient),
}

/// A failure worth a new round (429, 5xx, timeout, reset connection).
struct Transient {
    error: ApiError,
    retry_after: Option<Duration>,
    /// The server may have acted on the request (a PUT without a clear answer).
    ambiguous: bool,
    method: Method,
}

impl Client {
    /// Waits before round `attempt + 1`, or gives the final error when the retries
    /// are spent or the provider is stopping.
    async fn wait_for_retry(
        &self,
        account: &AccountId,
        app_id: &AppId,
        attempt: u32,
        transient: Transient,
    ) -> Result<(), ApiError> {
        let transport = &self.inner.transport;
        if attempt > transport.max_retries {
            return Err(with_attempts(transient.error, attempt));
        }
        let logged = Request::new(transient.method, app_path(account, app_id));
        // A PUT that may have been applied gets a moment to settle before the fresh
        // read that decides what is left to do.
        let settle = if transient.ambiguous {
            transport.min_backoff
        } else {
            Duration::ZERO
        };
        transport
            .wait_before_retry(
                &logged,
                attempt,
                transient.retry_after,
                &transient.error,
                settle,
            )
            .await
    }
}

fn answer_all(live: Vec<Pending>, error: &ApiError) {
    for pending in live {
        pending.answer(Err(error.clone()));
    }
}

/// A PUT the API refused for what it carried (not throttling, not a server fault,
/// not a missing application), so dropping one change may let the rest through.
fn is_refusal(error: &ApiError) -> bool {
    matches!(error, ApiError::Api { status, .. } if (400..500).contains(status) && *status != 404 && *status != 429 && *status != 401 && *status != 403)
}

/// The one changer whose policy id the API's error names, if exactly one is named.
fn named_in(error: &ApiError, live: &[Pending], changers: &[usize]) -> Option<usize> {
    let text: String = error
        .cf_errors()
        .iter()
        .map(|m| m.message.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let mut named = changers.iter().copied().filter(|&i| {
        live.get(i)
            .is_some_and(|p| text.contains(p.change.policy_id()))
    });
    let first = named.next()?;
    named.next().is_none().then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloudflare::ids::PolicyId;

    fn attach(id: &str, precedence: Option<u32>) -> LinkChange {
        LinkChange::Attach {
            policy_id: PolicyId::new_unchecked(id),
            precedence,
        }
    }

    #[test]
    fn a_refusal_naming_one_policy_picks_it_out() {
        let error = ApiError::Api {
            status: 400,
            errors: vec![super::super::error::CfMessage {
                code: 12130,
                message: "policy p2 is not a reusable policy of this account".into(),
            }],
            method: "PUT".into(),
            path: "/x".into(),
            attempts: 1,
        };
        let pending = |id: &str| Pending {
            change: attach(id, None),
            reply: oneshot::channel().0,
        };
        let live = vec![pending("p1"), pending("p2"), pending("p3")];
        assert_eq!(named_in(&error, &live, &[0, 1, 2]), Some(1));
        // Not among the changers (say it was a no-op): not picked.
        assert_eq!(named_in(&error, &live, &[0, 2]), None);
        assert!(is_refusal(&error));
        let throttled = ApiError::Api {
            status: 429,
            errors: vec![],
            method: "PUT".into(),
            path: "/x".into(),
            attempts: 1,
        };
        assert!(!is_refusal(&throttled));
    }
}
