//! The API client: CRUD for applications and reusable policies.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use super::app_writer::AppWriters;
use super::cache::{KindCache, Lookup};
use super::config::{ClientConfig, MAX_LIST_PAGES};
use super::error::ApiError;
use super::fresh::FreshList;
use super::ids::{AccountId, AppId, PolicyId};
use super::lock;
use super::models::app::{App, AppFilter, Deleted};
use super::models::policy::{Policy, PolicyBody};
use super::models::timestamp::parse_rfc3339;
use super::transport::{
    Attempt, ClientStats, Request, Success, Transport, detached_from_stop, with_attempts,
};

/// What a create was for, to recognise the object after a lost response.
enum CreateTarget<'a> {
    App(&'a Value),
    Policy(&'a PolicyBody),
}

/// How far a server's `created_at` may lag our clock and still count as "created by
/// our request" when recovering from an ambiguous create.
const CREATE_CLOCK_SKEW: Duration = Duration::from_secs(120);

/// How long the lookup after a possibly committed create may take at most. It runs
/// even while the provider is stopping (else the object would be orphaned), so it
/// needs a bound of its own.
fn recovery_deadline(request_timeout: Duration) -> Duration {
    (request_timeout.saturating_mul(2) + Duration::from_secs(10)).min(Duration::from_secs(120))
}

/// Typed client of the Cloudflare Access API. Cheap to clone; every clone shares one
/// connection pool, rate limiter, read cache, set of per-application writers, set of
/// claimed ids and stop token.
#[derive(Clone, Debug)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) transport: Transport,
    pub(crate) page_size: u32,
    pub(crate) coalesce: bool,
    pub(crate) apps: KindCache<App>,
    pub(crate) policies: KindCache<Policy>,
    /// One writer per application: every PUT of an app goes through it.
    pub(crate) writers: AppWriters,
    /// Ids of objects this process created, adopted, updated or deleted: the lookup
    /// after a lost create never takes one of them.
    pub(crate) claimed: Mutex<HashSet<(String, String)>>,
    /// Creates whose POST is on the wire, per account (see [`CreatesInFlight`]).
    pub(crate) creates: CreatesInFlight,
    /// How long a create-recovery lookup may run.
    pub(crate) recovery_deadline: Duration,
    /// Fresh (never cached) application lists, shared by concurrent deletes.
    pub(crate) fresh_apps: FreshList<App>,
}

fn account_path(account: &str, rest: &str) -> String {
    format!("/accounts/{}/access/{rest}", segment(account))
}

/// Percent-encodes one path segment so an id can never change the path's shape.
fn segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

pub(crate) fn apps_path(account: &str) -> String {
    account_path(account, "apps")
}

pub(crate) fn app_path(account: &str, id: &str) -> String {
    account_path(account, &format!("apps/{}", segment(id)))
}

fn policies_path(account: &str) -> String {
    account_path(account, "policies")
}

fn policy_path(account: &str, id: &str) -> String {
    account_path(account, &format!("policies/{}", segment(id)))
}

pub(crate) fn decode<T: DeserializeOwned>(
    request: &Request<'_>,
    result: Option<Box<RawValue>>,
) -> Result<T, ApiError> {
    let json = result.as_deref().map_or("null", RawValue::get);
    serde_json::from_str(json).map_err(|e| ApiError::Decode {
        method: request.method.as_str().to_owned(),
        path: request.path.clone(),
        message: e.to_string(),
    })
}

/// The answer to a request about one object: decoded and recorded in `cache`, or
/// evicted from it when the object is gone (404), so the snapshot never outlives
/// what the API just said.
pub(crate) fn into_cache<T: DeserializeOwned + Clone>(
    cache: &KindCache<T>,
    account: &str,
    id: &str,
    request: &Request<'_>,
    answer: Result<Success, ApiError>,
) -> Result<T, ApiError> {
    match answer {
        Ok(success) => {
            let item: T = decode(request, success.envelope.result)?;
            cache.put(account, id, item.clone());
            Ok(item)
        }
        Err(e) => {
            if e.is_not_found() {
                cache.remove(account, id);
            }
            Err(e)
        }
    }
}

fn created_since(created_at: Option<&str>, since: OffsetDateTime) -> Option<OffsetDateTime> {
    let created = parse_rfc3339(created_at?)?;
    (created >= since - CREATE_CLOCK_SKEW).then_some(created)
}

impl Client {
    /// Builds a client. When `stop` is cancelled, waits (backoff, rate limiter) and
    /// in-flight reads end at once with [`ApiError::Cancelled`] and no further request
    /// is started; a write already sent runs to its end (bounded by
    /// `request_timeout`) so its outcome is known.
    pub fn new(config: ClientConfig, stop: CancellationToken) -> Result<Client, ApiError> {
        if !(1..=1000).contains(&config.page_size) {
            return Err(ApiError::InvalidConfig(
                "page_size must be between 1 and 1000".into(),
            ));
        }
        let transport = Transport::new(&config, stop)?;
        let recovery_deadline = recovery_deadline(config.request_timeout);
        Ok(Client {
            inner: Arc::new(Inner {
                transport,
                page_size: config.page_size,
                coalesce: config.effective_coalesce_reads(),
                apps: KindCache::default(),
                policies: KindCache::default(),
                writers: AppWriters::default(),
                claimed: Mutex::default(),
                creates: CreatesInFlight::default(),
                recovery_deadline,
                fresh_apps: FreshList::default(),
            }),
        })
    }

    /// Request counters since the client was built.
    pub fn stats(&self) -> ClientStats {
        self.inner.transport.stats()
    }

    /// Whether `get_app` / `get_policy` are served from per-account snapshots.
    pub fn coalesces_reads(&self) -> bool {
        self.inner.coalesce
    }

    /// Forgets every cached snapshot (the next read lists again).
    pub fn clear_cache(&self) {
        self.inner.apps.clear();
        self.inner.policies.clear();
    }

    /// Marks `id` (an application or policy of `account`) as belonging to a resource
    /// of this process: the lookup after a create whose answer was lost never adopts
    /// it. Objects this client creates, adopts, updates or deletes are marked already.
    pub fn claim(&self, account: &AccountId, id: &str) {
        lock(&self.inner.claimed).insert((account.to_string(), id.to_owned()));
    }

    fn is_claimed(&self, account: &AccountId, id: &str) -> bool {
        lock(&self.inner.claimed).contains(&(account.to_string(), id.to_owned()))
    }

    pub(crate) async fn execute(&self, request: &Request<'_>) -> Result<Success, ApiError> {
        self.inner.transport.execute(request).await
    }

    /// Every page of a list endpoint, `per_page` always sent explicitly.
    async fn list_all<T: DeserializeOwned>(
        &self,
        path: String,
        query: Vec<(&'static str, String)>,
        id_of: fn(&T) -> &str,
    ) -> Result<Vec<T>, ApiError> {
        let per_page = u64::from(self.inner.page_size);
        let mut items: Vec<T> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut page: u64 = 1;
        loop {
            let mut request = Request::new(Method::GET, path.clone());
            request.query = query.clone();
            request.query.push(("page", page.to_string()));
            request.query.push(("per_page", per_page.to_string()));
            let success = self.execute(&request).await?;
            let info = success.envelope.result_info.clone().unwrap_or_default();
            // Split the page into its entries' raw text first, so that one odd entry
            // is skipped alone instead of failing the whole page.
            let entries: Vec<&RawValue> = match success.envelope.result.as_deref() {
                None => Vec::new(),
                Some(raw) => match serde_json::from_str::<Option<Vec<&RawValue>>>(raw.get()) {
                    Ok(entries) => entries.unwrap_or_default(),
                    Err(_) => {
                        return Err(ApiError::Decode {
                            method: "GET".into(),
                            path,
                            message: "list result is not an array".into(),
                        });
                    }
                },
            };
            let received = entries.len() as u64;
            let mut new_on_page = 0;
            for entry in entries {
                match serde_json::from_str::<T>(entry.get()) {
                    Ok(item) => {
                        if seen.insert(id_of(&item).to_owned()) {
                            new_on_page += 1;
                            items.push(item);
                        }
                    }
                    // One odd object must not make every read fail; a get of that id
                    // falls back to a direct GET and reports its own error.
                    Err(e) => {
                        tracing::warn!(path = %path, page, error = %e, "skipping an undecodable list entry")
                    }
                }
            }
            let effective_per_page = info.per_page.filter(|p| *p > 0).unwrap_or(per_page);
            let last = received == 0
                || received < effective_per_page
                || info
                    .total_count
                    .is_some_and(|total| page * effective_per_page >= total);
            if last {
                break;
            }
            if new_on_page == 0 {
                // A server that ignores `page` would loop forever.
                tracing::warn!(path = %path, page, "list page repeated earlier entries; stopping");
                break;
            }
            if page >= MAX_LIST_PAGES {
                // A server that keeps inventing entries would otherwise be listed
                // forever, into memory. Partial lists are never used: they would make
                // objects look deleted.
                return Err(ApiError::Decode {
                    method: "GET".into(),
                    path,
                    message: format!(
                        "the list did not end after {MAX_LIST_PAGES} pages of {per_page}; \
                         refusing to read more"
                    ),
                });
            }
            page += 1;
        }
        Ok(items)
    }

    // ----- applications -------------------------------------------------------------

    /// Lists applications (every page). The filter is sent to the API and checked
    /// again locally, since servers differ in how they match.
    pub async fn list_apps(
        &self,
        account: &AccountId,
        filter: &AppFilter,
    ) -> Result<Vec<App>, ApiError> {
        let apps: Vec<App> = self
            .list_all(apps_path(account), filter.query(), |a: &App| &a.id)
            .await?;
        Ok(apps.into_iter().filter(|app| filter.accepts(app)).collect())
    }

    pub(crate) async fn load_all_apps(
        &self,
        account: &AccountId,
    ) -> Result<Vec<(String, App)>, ApiError> {
        let apps: Vec<App> = self
            .list_all(apps_path(account), Vec::new(), |a: &App| &a.id)
            .await?;
        Ok(keyed(apps))
    }

    /// One application. With coalescing on, served from the account's app snapshot
    /// (listed once); ids missing from it fall back to a direct GET.
    pub async fn get_app(&self, account: &AccountId, id: &AppId) -> Result<App, ApiError> {
        let load = || self.load_all_apps(account);
        if let Some(app) = self.cached(&self.inner.apps, account, id, load).await? {
            return Ok(app);
        }
        self.get_app_uncached(account, id).await
    }

    /// One application by a direct GET (never the snapshot); refreshes the snapshot.
    pub async fn get_app_uncached(&self, account: &AccountId, id: &AppId) -> Result<App, ApiError> {
        let request = Request::new(Method::GET, app_path(account, id));
        let answer = self.execute(&request).await;
        into_cache(&self.inner.apps, account, id, &request, answer)
    }

    /// Creates an application (`POST`, 201). The body is sent as given. If the
    /// request dies without a response, the app is looked up by name before any
    /// retry, so a retry never creates a duplicate. An app adopted that way lacks
    /// `saas_app.client_secret` (Cloudflare returns it only in the create response).
    pub async fn create_app(&self, account: &AccountId, body: &Value) -> Result<App, ApiError> {
        let request = Request::new(Method::POST, apps_path(account)).with_body(body);
        let result = self
            .create_with_recovery(account, &request, CreateTarget::App(body))
            .await?;
        let read_back = |id: String| async move {
            self.get_app_uncached(account, &AppId::new_unchecked(id))
                .await
        };
        self.created(account, &request, result, &self.inner.apps, read_back)
            .await
    }

    async fn find_created_app(
        &self,
        account: &AccountId,
        body: &Value,
        since: OffsetDateTime,
    ) -> Result<Option<App>, ApiError> {
        let filter = match (
            body.get("name").and_then(Value::as_str),
            body.get("domain").and_then(Value::as_str),
        ) {
            (Some(name), _) => AppFilter::by_name(name),
            (None, Some(domain)) => AppFilter {
                domain: Some(domain.to_owned()),
                exact: Some(true),
                ..Default::default()
            },
            (None, None) => {
                tracing::warn!(
                    "ambiguous application create without name or domain: cannot look it up"
                );
                return Ok(None);
            }
        };
        let candidates: Vec<App> = self
            .list_apps(account, &filter)
            .await?
            .into_iter()
            .filter(|app| app.matches_create_body(body))
            .filter(|app| created_since(app.created_at.as_deref(), since).is_some())
            .filter(|app| !self.is_claimed(account, &app.id))
            .collect();
        let found = one_candidate("application", candidates, |app| app.id.as_str())?;
        if let Some(app) = &found {
            tracing::warn!(
                app_id = %app.id,
                "adopted an application created by a request whose response was lost; a SaaS client_secret cannot be recovered"
            );
        }
        Ok(found)
    }

    /// Deletes an application; 404 is [`Deleted::AlreadyGone`].
    pub async fn delete_app(&self, account: &AccountId, id: &AppId) -> Result<Deleted, ApiError> {
        let _writer = self.inner.writers.exclusive(account, id).await;
        self.claim(account, id);
        let request = Request::new(Method::DELETE, app_path(account, id));
        let outcome = match self.execute(&request).await {
            Ok(_) => Deleted::Now,
            Err(e) if e.is_not_found() => Deleted::AlreadyGone,
            Err(e) => return Err(e),
        };
        self.inner.apps.remove(account, id);
        Ok(outcome)
    }

    // ----- reusable policies --------------------------------------------------------

    /// Lists reusable policies (every page).
    pub async fn list_policies(&self, account: &AccountId) -> Result<Vec<Policy>, ApiError> {
        self.list_all(policies_path(account), Vec::new(), |p: &Policy| &p.id)
            .await
    }

    async fn load_all_policies(
        &self,
        account: &AccountId,
    ) -> Result<Vec<(String, Policy)>, ApiError> {
        Ok(keyed(self.list_policies(account).await?))
    }

    /// One reusable policy, coalesced like [`Client::get_app`].
    pub async fn get_policy(&self, account: &AccountId, id: &PolicyId) -> Result<Policy, ApiError> {
        let load = || self.load_all_policies(account);
        if let Some(policy) = self.cached(&self.inner.policies, account, id, load).await? {
            return Ok(policy);
        }
        self.get_policy_uncached(account, id).await
    }

    /// One reusable policy by a direct GET; refreshes the snapshot.
    pub async fn get_policy_uncached(
        &self,
        account: &AccountId,
        id: &PolicyId,
    ) -> Result<Policy, ApiError> {
        let request = Request::new(Method::GET, policy_path(account, id));
        let answer = self.execute(&request).await;
        into_cache(&self.inner.policies, account, id, &request, answer)
    }

    /// Creates a reusable policy (`POST`, 201), safe against lost responses like
    /// [`Client::create_app`] (looked up by name, decision and rules).
    pub async fn create_policy(
        &self,
        account: &AccountId,
        body: &PolicyBody,
    ) -> Result<Policy, ApiError> {
        let json = body.to_value();
        let request = Request::new(Method::POST, policies_path(account)).with_body(&json);
        let result = self
            .create_with_recovery(account, &request, CreateTarget::Policy(body))
            .await?;
        let read_back = |id: String| async move {
            self.get_policy_uncached(account, &PolicyId::new_unchecked(id))
                .await
        };
        self.created(account, &request, result, &self.inner.policies, read_back)
            .await
    }

    async fn find_created_policy(
        &self,
        account: &AccountId,
        body: &PolicyBody,
        since: OffsetDateTime,
    ) -> Result<Option<Policy>, ApiError> {
        let mut candidates: Vec<Policy> = self
            .list_policies(account)
            .await?
            .into_iter()
            .filter(|policy| policy.matches_body(body))
            .filter(|policy| created_since(policy.created_at.as_deref(), since).is_some())
            .filter(|policy| !self.is_claimed(account, &policy.id))
            // A policy some application uses is not one our lost POST just made (a
            // create attaches nothing).
            .filter(|policy| policy.app_count.is_none_or(|n| n == 0))
            .collect();
        if candidates.iter().any(|p| p.app_count.is_none()) {
            // The API did not say how many apps use them: look for ourselves.
            let apps = self.list_apps(account, &AppFilter::default()).await?;
            let attached: HashSet<&str> = apps
                .iter()
                .flat_map(|app| app.policies.iter().map(|p| p.id.as_str()))
                .collect();
            candidates.retain(|policy| !attached.contains(policy.id.as_str()));
        }
        let found = one_candidate("policy", candidates, |policy| policy.id.as_str())?;
        if let Some(policy) = &found {
            tracing::warn!(policy_id = %policy.id, "adopted a policy created by a request whose response was lost");
        }
        Ok(found)
    }

    /// Replaces a reusable policy (`PUT`, full replacement; unmanaged fields come from
    /// `body.extra`).
    pub async fn update_policy(
        &self,
        account: &AccountId,
        id: &PolicyId,
        body: &PolicyBody,
    ) -> Result<Policy, ApiError> {
        self.claim(account, id);
        let json = body.to_value();
        let request = Request::new(Method::PUT, policy_path(account, id)).with_body(&json);
        let answer = self.execute(&request).await;
        into_cache(&self.inner.policies, account, id, &request, answer)
    }

    /// Deletes a reusable policy; 404 is [`Deleted::AlreadyGone`]. A 409 (still
    /// attached, typically racing a detach) is retried up to `max_retries` times.
    pub async fn delete_policy(
        &self,
        account: &AccountId,
        id: &PolicyId,
    ) -> Result<Deleted, ApiError> {
        self.claim(account, id);
        let mut request = Request::new(Method::DELETE, policy_path(account, id));
        request.retry_conflict = true;
        let outcome = match self.execute(&request).await {
            Ok(_) => Deleted::Now,
            Err(e) if e.is_not_found() => Deleted::AlreadyGone,
            Err(e) => return Err(e),
        };
        self.inner.policies.remove(account, id);
        Ok(outcome)
    }

    /// With coalescing on, the object from the account's snapshot of its kind (listed
    /// once with `load`). `None` when coalescing is off, the snapshot lacks the id, or
    /// the list failed: the caller then reads the object by a direct GET.
    async fn cached<T, F, Fut>(
        &self,
        cache: &KindCache<T>,
        account: &AccountId,
        id: &str,
        load: F,
    ) -> Result<Option<T>, ApiError>
    where
        T: AccessObject,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<(String, T)>, ApiError>>,
    {
        if !self.inner.coalesce {
            return Ok(None);
        }
        match cache.get(account, id, load).await {
            Ok(Lookup::Hit(object)) => Ok(Some(object)),
            Ok(Lookup::Miss) => Ok(None),
            Err(ApiError::Cancelled) => Err(ApiError::Cancelled),
            Err(e) => {
                let kinds = T::KINDS;
                tracing::warn!(error = %e, "listing {kinds} failed; reading one by one");
                Ok(None)
            }
        }
    }

    // ----- ambiguous creates --------------------------------------------------------

    /// The object a create answered with: decoded from the response or, when the body
    /// does not decode but names an id, read back by that id; then claimed and cached.
    async fn created<T, F>(
        &self,
        account: &AccountId,
        request: &Request<'_>,
        result: Option<Box<RawValue>>,
        cache: &KindCache<T>,
        read_back: impl FnOnce(String) -> F,
    ) -> Result<T, ApiError>
    where
        T: AccessObject,
        F: Future<Output = Result<T, ApiError>>,
    {
        let id = id_in(result.as_deref());
        let object: T = match decode(request, result) {
            Ok(object) => object,
            Err(e) => {
                let id = id.ok_or(e.clone())?;
                let kind = T::KIND;
                tracing::warn!(kind, %id, error = %e, "the create response did not decode; reading the {kind} by id");
                read_back(id.clone())
                    .await
                    .map_err(|read| undecodable(id, request, &e, &read))?
            }
        };
        self.claim(account, object.id());
        cache.put(account, object.id(), object.clone());
        Ok(object)
    }

    /// Looks for the object a lost create may have made; returns it as JSON. Runs to
    /// its end even when the provider is stopping (a committed object that is not
    /// found is orphaned), bounded by its own deadline; waits first for the other
    /// creates of this process whose answers are still on the way, so their objects
    /// are claimed before the candidates are weighed.
    async fn find_created(
        &self,
        account: &AccountId,
        target: &CreateTarget<'_>,
        since: OffsetDateTime,
    ) -> Result<Option<Box<RawValue>>, ApiError> {
        let deadline = self.inner.recovery_deadline;
        let lookup = async {
            self.inner.creates.settled(account).await;
            let found = match target {
                CreateTarget::App(body) => self
                    .find_created_app(account, body, since)
                    .await?
                    .map(|app| serde_json::value::to_raw_value(&app)),
                CreateTarget::Policy(body) => self
                    .find_created_policy(account, body, since)
                    .await?
                    .map(|policy| serde_json::value::to_raw_value(&policy)),
            };
            found.transpose().map_err(|e| ApiError::Decode {
                method: "GET".into(),
                path: account_path(account, ""),
                message: e.to_string(),
            })
        };
        match tokio::time::timeout(deadline, detached_from_stop(lookup)).await {
            Ok(found) => found,
            Err(_) => Err(ApiError::Timeout {
                method: "GET".into(),
                path: account_path(account, ""),
                after: deadline,
                attempts: 1,
            }),
        }
    }

    /// POSTs `request` and returns the `result` JSON. Retries that are certain not to
    /// duplicate (429, 971, connect failures) go straight out again, while failures
    /// after which the server may have created the object (no response, 5xx) first
    /// look for an object matching `target` created since the first attempt started.
    /// That lookup also runs when the provider is told to stop.
    async fn create_with_recovery(
        &self,
        account: &AccountId,
        request: &Request<'_>,
        target: CreateTarget<'_>,
    ) -> Result<Option<Box<RawValue>>, ApiError> {
        let find = |since| self.find_created(account, &target, since);
        let transport = &self.inner.transport;
        let since = OffsetDateTime::now_utc();
        let mut attempt = 1;
        let mut maybe_created = false;
        loop {
            let outcome = {
                let _on_the_wire = self.inner.creates.start(account);
                let outcome = transport.attempt(request, attempt).await;
                // Claimed before the in-flight mark drops, so that a lookup waiting
                // for this create sees the object as taken.
                if let Attempt::Done(Ok(success)) = &outcome
                    && let Some(id) = id_in(success.envelope.result.as_deref())
                {
                    self.claim(account, &id);
                }
                outcome
            };
            match outcome {
                Attempt::Done(Ok(success)) => return Ok(success.envelope.result),
                Attempt::Done(Err(error)) => {
                    // After a lost response, a 4xx (say a duplicate-domain 400) may be
                    // caused by our own earlier attempt having succeeded; and when the
                    // provider is stopping, the object must still be found.
                    if maybe_created && let Some(found) = find(since).await? {
                        return Ok(Some(found));
                    }
                    return Err(with_attempts(error, attempt));
                }
                Attempt::Retryable {
                    error,
                    retry_after,
                    ambiguous,
                } => {
                    maybe_created |= ambiguous;
                    if attempt > transport.max_retries {
                        if maybe_created && let Some(found) = find(since).await? {
                            return Ok(Some(found));
                        }
                        return Err(with_attempts(error, attempt));
                    }
                    // Wait first, and not less than one backoff step when the server
                    // may be acting on it: a request that timed out on our side may
                    // still be committing.
                    let settle = if ambiguous {
                        transport.min_backoff
                    } else {
                        Duration::ZERO
                    };
                    if let Err(stopped) = transport
                        .wait_before_retry(request, attempt, retry_after, &error, settle)
                        .await
                    {
                        if maybe_created {
                            tokio::time::sleep(settle).await;
                            if let Some(found) = find(since).await? {
                                return Ok(Some(found));
                            }
                        }
                        return Err(stopped);
                    }
                    if ambiguous && let Some(found) = find(since).await? {
                        return Ok(Some(found));
                    }
                    attempt += 1;
                }
            }
        }
    }
}

/// An application or a policy, as [`Client::created`] and [`Client::cached`] hand
/// them back: what it is called in logs and its id.
trait AccessObject: DeserializeOwned + Clone {
    /// `application` or `policy`.
    const KIND: &'static str;
    /// `applications` or `policies`.
    const KINDS: &'static str;
    fn id(&self) -> &str;
}

impl AccessObject for App {
    const KIND: &'static str = "application";
    const KINDS: &'static str = "applications";
    fn id(&self) -> &str {
        &self.id
    }
}

impl AccessObject for Policy {
    const KIND: &'static str = "policy";
    const KINDS: &'static str = "policies";
    fn id(&self) -> &str {
        &self.id
    }
}

/// `objects` keyed by id, as a snapshot holds them.
fn keyed<T: AccessObject>(objects: Vec<T>) -> Vec<(String, T)> {
    objects
        .into_iter()
        .map(|object| (object.id().to_owned(), object))
        .collect()
}

/// The `id` of a create's `result`, read on its own so it survives a body that does
/// not decode as a whole.
fn id_in(result: Option<&RawValue>) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct IdOnly {
        id: String,
    }
    let parsed: IdOnly = serde_json::from_str(result?.get()).ok()?;
    (!parsed.id.is_empty()).then_some(parsed.id)
}

/// The error for a create whose object exists but can be read neither from the
/// response nor by id.
fn undecodable(id: String, request: &Request<'_>, decode: &ApiError, read: &ApiError) -> ApiError {
    ApiError::CreatedUndecodable {
        id,
        method: request.method.as_str().to_owned(),
        path: request.path.clone(),
        message: format!("{decode}; reading it by id failed too: {read}"),
    }
}

/// No candidate, exactly one, or an error naming every one.
fn one_candidate<T>(
    kind: &str,
    candidates: Vec<T>,
    id_of: fn(&T) -> &str,
) -> Result<Option<T>, ApiError> {
    if candidates.len() > 1 {
        let mut ids: Vec<String> = candidates.iter().map(|c| id_of(c).to_owned()).collect();
        ids.sort();
        tracing::error!(
            kind,
            ?ids,
            "several objects match a create whose answer was lost; adopting none"
        );
        return Err(ApiError::AmbiguousCreate {
            kind: kind.to_owned(),
            ids,
        });
    }
    Ok(candidates.into_iter().next())
}

/// Creates of this process whose POST is on the wire, per account. A lookup after a
/// lost create waits until the others have their answers (and have claimed their
/// objects), so it cannot take an object another resource is about to receive.
#[derive(Debug, Default)]
pub(crate) struct CreatesInFlight {
    counts: Mutex<HashMap<String, usize>>,
    settled: tokio::sync::Notify,
}

/// Marks one create as on the wire until dropped.
pub(crate) struct OnTheWire<'a> {
    creates: &'a CreatesInFlight,
    account: String,
}

impl CreatesInFlight {
    fn start(&self, account: &str) -> OnTheWire<'_> {
        *lock(&self.counts).entry(account.to_owned()).or_default() += 1;
        OnTheWire {
            creates: self,
            account: account.to_owned(),
        }
    }

    fn busy(&self, account: &str) -> bool {
        lock(&self.counts).get(account).is_some_and(|n| *n > 0)
    }

    /// Returns once no create of `account` is on the wire.
    async fn settled(&self, account: &str) {
        loop {
            let notified = self.settled.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if !self.busy(account) {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for OnTheWire<'_> {
    fn drop(&mut self) {
        {
            let mut counts = lock(&self.creates.counts);
            if let Some(n) = counts.get_mut(&self.account) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    counts.remove(&self.account);
                }
            }
        }
        self.creates.settled.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_cannot_reshape_paths() {
        assert_eq!(
            app_path("acc", "../../zones"),
            "/accounts/acc/access/apps/..%2F..%2Fzones"
        );
        assert_eq!(
            policy_path("a b", "p?x=1"),
            "/accounts/a%20b/access/policies/p%3Fx%3D1"
        );
    }

    #[tokio::test]
    async fn a_lookup_waits_for_the_creates_still_on_the_wire() {
        let creates = Arc::new(CreatesInFlight::default());
        let on_the_wire = creates.start("acc");
        let waiter = {
            let creates = creates.clone();
            tokio::spawn(async move { creates.settled("acc").await })
        };
        // Another account's creates do not hold it up.
        tokio::time::timeout(Duration::from_secs(5), creates.settled("other"))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished(), "the lookup went ahead of an answer");
        drop(on_the_wire);
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap();
        assert!(!creates.busy("acc"));
    }

    #[test]
    fn several_candidates_are_an_error_naming_each() {
        let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(one_candidate("policy", ids(&[]), |s| s).unwrap(), None);
        assert_eq!(
            one_candidate("policy", ids(&["a"]), |s| s).unwrap(),
            Some("a".to_string())
        );
        let err = one_candidate("policy", ids(&["z", "a"]), |s| s).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("a and z"), "{text}");
        assert!(matches!(err, ApiError::AmbiguousCreate { .. }));
    }

    #[test]
    fn the_id_of_a_result_is_read_on_its_own() {
        let raw = serde_json::value::to_raw_value(&serde_json::json!({"id": "x", "include": "??"}))
            .unwrap();
        assert_eq!(id_in(Some(&raw)), Some("x".into()));
        let raw = serde_json::value::to_raw_value(&serde_json::json!({"id": ""})).unwrap();
        assert_eq!(id_in(Some(&raw)), None);
        assert_eq!(id_in(None), None);
    }

    #[test]
    fn created_since_applies_the_skew_margin() {
        let since = parse_rfc3339("2026-08-20T10:00:00Z").unwrap();
        assert!(created_since(Some("2026-08-20T10:00:05Z"), since).is_some());
        assert!(created_since(Some("2026-08-20T09:59:00Z"), since).is_some());
        assert!(created_since(Some("2026-08-20T09:50:00Z"), since).is_none());
        assert!(created_since(None, since).is_none());
        assert!(created_since(Some("garbage"), since).is_none());
    }
}

#[cfg(test)]
mod page_cap_tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    /// A server that answers every list request with one full page holding an object
    /// never seen before, and never a total: a list that does not end on its own.
    async fn endless_server() -> (String, Arc<std::sync::atomic::AtomicU64>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/client/v4", listener.local_addr().unwrap());
        let served = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = served.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let counter = counter.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 8192];
                    loop {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(_) => {}
                        }
                        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let body = format!(
                            r#"{{"success":true,"errors":[],"messages":[],"result":[{{"id":"app-{n}","type":"self_hosted"}}],"result_info":{{"per_page":1}}}}"#
                        );
                        let reply = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if socket.write_all(reply.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (base, served)
    }

    #[tokio::test]
    async fn a_list_that_never_ends_is_refused_at_the_page_cap() {
        let (base, served) = endless_server().await;
        let client = Client::new(
            ClientConfig {
                base_url: base,
                api_token: "t".into(),
                requests_per_second: 0.0,
                page_size: 1,
                max_retries: 0,
                ..Default::default()
            },
            CancellationToken::new(),
        )
        .unwrap();
        let error = client
            .list_apps(&AccountId::new_unchecked("acc"), &AppFilter::default())
            .await
            .unwrap_err();
        let text = error.to_string();
        assert!(text.contains("did not end after 1000 pages"), "{text}");
        assert_eq!(
            served.load(std::sync::atomic::Ordering::SeqCst),
            MAX_LIST_PAGES
        );
    }
}

/// Resources hold these futures across `.await` points in boxed `Send` futures; a
/// closure-based helper once made them `Send` only for one specific lifetime, so
/// this module checks the higher-ranked form the callers need.
#[cfg(test)]
mod send_checks {
    use std::future::Future;
    use std::pin::Pin;

    use super::*;
    use crate::cloudflare::models::app::PolicyLink;

    type Boxed<'a, T> = Pin<Box<dyn Future<Output = Result<T, ApiError>> + Send + 'a>>;

    #[allow(dead_code)]
    fn create_app<'a>(c: &'a Client, a: &'a AccountId, b: &'a Value) -> Boxed<'a, App> {
        Box::pin(c.create_app(a, b))
    }
    #[allow(dead_code)]
    fn create_policy<'a>(c: &'a Client, a: &'a AccountId, b: &'a PolicyBody) -> Boxed<'a, Policy> {
        Box::pin(c.create_policy(a, b))
    }
    #[allow(dead_code)]
    fn reads<'a>(
        c: &'a Client,
        a: &'a AccountId,
        app: &'a AppId,
        id: &'a PolicyId,
    ) -> Vec<Boxed<'a, ()>> {
        vec![
            Box::pin(async move { c.get_app(a, app).await.map(drop) }),
            Box::pin(async move { c.get_policy(a, id).await.map(drop) }),
            Box::pin(async move { c.apps_with_policy(a, id).await.map(drop) }),
            Box::pin(async move { c.list_apps(a, &AppFilter::default()).await.map(drop) }),
            Box::pin(async move { c.list_policies(a).await.map(drop) }),
        ]
    }
    #[allow(dead_code)]
    fn writes<'a>(
        c: &'a Client,
        a: &'a AccountId,
        app: &'a AppId,
        id: &'a PolicyId,
        p: &'a PolicyBody,
    ) -> Vec<Boxed<'a, ()>> {
        vec![
            Box::pin(async move { c.update_policy(a, id, p).await.map(drop) }),
            Box::pin(async move { c.delete_app(a, app).await.map(drop) }),
            Box::pin(async move { c.delete_policy(a, id).await.map(drop) }),
            Box::pin(async move { c.attach_policy(a, app, id, None).await.map(drop) }),
            Box::pin(async move { c.detach_policy(a, app, id).await.map(drop) }),
            Box::pin(async move {
                c.modify_attachments(a, app, |links: &mut Vec<PolicyLink>| Ok(!links.is_empty()))
                    .await
                    .map(drop)
            }),
            Box::pin(async move {
                c.update_app_with(a, app, |app: &App| Ok(app.to_update_body()))
                    .await
                    .map(drop)
            }),
        ]
    }
}
