//! Read coalescing: a per-process snapshot of all apps / all policies of an account.
//!
//! The first lookup of a kind in an account lists every object of that kind once
//! (concurrent first lookups share that one list) and later lookups are served from
//! memory. Writes made through the client update the snapshot; writes that complete
//! while the list is still in flight are journaled and replayed over the list result,
//! so a slow list can never resurrect an older version. Entries live as long as the
//! client, i.e. never longer than the provider process.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use super::error::ApiError;
use super::lock;

/// Result of a cached lookup.
#[derive(Debug)]
pub(crate) enum Lookup<T> {
    /// The object is in the snapshot.
    Hit(T),
    /// The snapshot is loaded and does not hold the id (it may be newer than the
    /// snapshot, so callers fall back to a direct GET).
    Miss,
}

#[derive(Debug)]
struct SlotData<T> {
    items: Option<HashMap<String, T>>,
    loading: bool,
    /// Writes seen while a load was in flight: `Some` = upsert, `None` = removal.
    journal: Vec<(String, Option<T>)>,
}

#[derive(Debug)]
struct Slot<T> {
    /// Held by the one task that loads; others queue on it and then read the result.
    gate: tokio::sync::Mutex<()>,
    data: Mutex<SlotData<T>>,
}

impl<T> Slot<T> {
    fn data(&self) -> MutexGuard<'_, SlotData<T>> {
        lock(&self.data)
    }
}

/// Snapshots of one object kind, per account.
#[derive(Debug)]
pub(crate) struct KindCache<T> {
    accounts: Mutex<HashMap<String, Arc<Slot<T>>>>,
}

impl<T> Default for KindCache<T> {
    fn default() -> Self {
        KindCache {
            accounts: Mutex::new(HashMap::new()),
        }
    }
}

/// Resets the `loading` flag if a load is abandoned (its task cancelled or dropped).
struct LoadingGuard<'a, T> {
    slot: &'a Slot<T>,
    armed: bool,
}

impl<T> Drop for LoadingGuard<'_, T> {
    fn drop(&mut self) {
        if self.armed {
            let mut data = self.slot.data();
            data.loading = false;
            data.journal.clear();
        }
    }
}

impl<T: Clone> KindCache<T> {
    fn slot(&self, account: &str) -> Arc<Slot<T>> {
        let mut accounts = lock(&self.accounts);
        accounts
            .entry(account.to_owned())
            .or_insert_with(|| {
                Arc::new(Slot {
                    gate: tokio::sync::Mutex::new(()),
                    data: Mutex::new(SlotData {
                        items: None,
                        loading: false,
                        journal: Vec::new(),
                    }),
                })
            })
            .clone()
    }

    /// Runs `scan` over every object of the account (loading the snapshot with `load`
    /// if needed) without cloning them; `scan` runs under a short synchronous lock.
    pub async fn scan<F, Fut, R>(
        &self,
        account: &str,
        load: F,
        scan: impl FnOnce(&mut dyn Iterator<Item = &T>) -> R,
    ) -> Result<R, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<(String, T)>, ApiError>>,
    {
        self.with_snapshot(account, load, |items| {
            scan(&mut items.into_iter().flat_map(HashMap::values))
        })
        .await
    }

    /// One object, loading the snapshot with `load` if needed.
    pub async fn get<F, Fut>(&self, account: &str, id: &str, load: F) -> Result<Lookup<T>, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<(String, T)>, ApiError>>,
    {
        self.with_snapshot(account, load, |items| {
            match items.and_then(|items| items.get(id)) {
                Some(item) => Lookup::Hit(item.clone()),
                None => Lookup::Miss,
            }
        })
        .await
    }

    /// Runs `read` over the account's snapshot (loaded with `load` if needed) under a
    /// short synchronous lock.
    async fn with_snapshot<F, Fut, R>(
        &self,
        account: &str,
        load: F,
        read: impl FnOnce(Option<&HashMap<String, T>>) -> R,
    ) -> Result<R, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<(String, T)>, ApiError>>,
    {
        let slot = self.slot(account);
        self.ensure_loaded(&slot, load).await?;
        let data = slot.data();
        Ok(read(data.items.as_ref()))
    }

    async fn ensure_loaded<F, Fut>(&self, slot: &Slot<T>, load: F) -> Result<(), ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<(String, T)>, ApiError>>,
    {
        if slot.data().items.is_some() {
            return Ok(());
        }
        let _gate = slot.gate.lock().await;
        {
            let mut data = slot.data();
            if data.items.is_some() {
                return Ok(());
            }
            data.loading = true;
            data.journal.clear();
        }
        let mut guard = LoadingGuard { slot, armed: true };
        let loaded = load().await;
        guard.armed = false;
        let mut data = slot.data();
        data.loading = false;
        let journal = std::mem::take(&mut data.journal);
        let listed = loaded?;
        let mut items: HashMap<String, T> = listed.into_iter().collect();
        for (id, change) in journal {
            match change {
                Some(item) => items.insert(id, item),
                None => items.remove(&id),
            };
        }
        data.items = Some(items);
        Ok(())
    }

    /// Records a fresh version of an object (after a create, update or direct GET).
    pub fn put(&self, account: &str, id: &str, item: T) {
        self.apply(account, id, Some(item));
    }

    /// Forgets an object (after a delete or a 404).
    pub fn remove(&self, account: &str, id: &str) {
        self.apply(account, id, None);
    }

    fn apply(&self, account: &str, id: &str, change: Option<T>) {
        let slot = self.slot(account);
        let mut data = slot.data();
        if data.loading {
            data.journal.push((id.to_owned(), change.clone()));
        }
        if let Some(items) = data.items.as_mut() {
            match change {
                Some(item) => items.insert(id.to_owned(), item),
                None => items.remove(id),
            };
        }
    }

    /// Drops every snapshot (the next lookup lists again).
    pub fn clear(&self) {
        let mut accounts = lock(&self.accounts);
        accounts.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn concurrent_first_lookups_share_one_load() {
        let cache = Arc::new(KindCache::<u32>::default());
        let loads = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for i in 0..20 {
            let cache = cache.clone();
            let loads = loads.clone();
            tasks.push(tokio::spawn(async move {
                cache
                    .get("acc", &format!("id{}", i % 5), || async {
                        loads.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(30)).await;
                        Ok((0..4).map(|n| (format!("id{n}"), n)).collect())
                    })
                    .await
            }));
        }
        let mut hits = 0;
        for task in tasks {
            if let Lookup::Hit(_) = task.await.unwrap().unwrap() {
                hits += 1;
            }
        }
        assert_eq!(loads.load(Ordering::SeqCst), 1);
        assert_eq!(hits, 16); // id4 is not in the list
    }

    #[tokio::test]
    async fn writes_during_a_load_win_over_the_list() {
        let cache = Arc::new(KindCache::<u32>::default());
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
        let loader = {
            let cache = cache.clone();
            tokio::spawn(async move {
                cache
                    .get("acc", "a", || async move {
                        let _ = started_tx.send(());
                        let _ = release_rx.await;
                        Ok(vec![("a".to_owned(), 1), ("b".to_owned(), 1)])
                    })
                    .await
            })
        };
        started_rx.await.unwrap();
        cache.put("acc", "a", 2);
        cache.remove("acc", "b");
        release_tx.send(()).unwrap();
        assert!(matches!(loader.await.unwrap().unwrap(), Lookup::Hit(2)));
        let all = cache
            .scan(
                "acc",
                || async { panic!("already loaded") },
                |items| items.copied().collect::<Vec<_>>(),
            )
            .await
            .unwrap();
        assert_eq!(all, vec![2]);
    }

    #[tokio::test]
    async fn failed_load_is_retried_later() {
        let cache = KindCache::<u32>::default();
        let err = cache
            .get("acc", "a", || async { Err(ApiError::Cancelled) })
            .await
            .unwrap_err();
        assert!(err.is_cancelled());
        cache.put("acc", "a", 9); // not loaded: nothing to update
        let found = cache
            .get("acc", "a", || async { Ok(vec![("a".to_owned(), 3)]) })
            .await
            .unwrap();
        assert!(matches!(found, Lookup::Hit(3)));
    }
}
