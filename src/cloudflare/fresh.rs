//! Fresh lists shared by the callers that wait for them together.
//!
//! Some decisions must see the API as it is now, not a snapshot: deleting a policy has
//! to find every application holding it, attachments made outside Terraform included.
//! A `terraform destroy` of many policies runs such lookups side by side, and each
//! would list every application of the account. [`FreshList`] lets the callers that
//! ask while another list is still running share the *next* list: one request serves
//! the whole group, and every caller still gets a list that was sent after it asked,
//! so nobody sees older data than a list of its own would have shown.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use super::error::ApiError;
use super::lock;

type Shared<T> = Result<Arc<Vec<T>>, ApiError>;

/// One list request and the callers that joined it before it was sent.
struct Round<T> {
    result: Mutex<Option<Shared<T>>>,
}

/// The rounds of one account: at most one list is sent at a time.
struct Queue<T> {
    /// Held by the caller that sends a round's list.
    sender: tokio::sync::Mutex<()>,
    /// The round that has not been sent yet; callers arriving now join it.
    open: Mutex<Option<Arc<Round<T>>>>,
}

/// Fresh lists per account, shared by concurrent callers.
pub(crate) struct FreshList<T> {
    accounts: Mutex<HashMap<String, Arc<Queue<T>>>>,
}

impl<T> Default for FreshList<T> {
    fn default() -> Self {
        FreshList {
            accounts: Mutex::new(HashMap::new()),
        }
    }
}

impl<T> std::fmt::Debug for FreshList<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FreshList").finish_non_exhaustive()
    }
}

impl<T> FreshList<T> {
    fn queue(&self, account: &str) -> Arc<Queue<T>> {
        lock(&self.accounts)
            .entry(account.to_owned())
            .or_insert_with(|| {
                Arc::new(Queue {
                    sender: tokio::sync::Mutex::new(()),
                    open: Mutex::new(None),
                })
            })
            .clone()
    }

    /// Every object of `account`, from a list `load` sent after this call began, shared
    /// with the other callers that joined the same round. Errors are shared too.
    pub async fn get<F, Fut>(&self, account: &str, load: F) -> Shared<T>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<T>, ApiError>>,
    {
        let queue = self.queue(account);
        let round = lock(&queue.open)
            .get_or_insert_with(|| {
                Arc::new(Round {
                    result: Mutex::new(None),
                })
            })
            .clone();
        let _sender = queue.sender.lock().await;
        if let Some(done) = lock(&round.result).as_ref() {
            return done.clone();
        }
        // Close the round to newcomers before sending: they wait for the next one,
        // whose list starts after they arrived. (If an earlier sender of this round was
        // cancelled mid-list, the round is closed already and this caller sends it.)
        {
            let mut open = lock(&queue.open);
            if open.as_ref().is_some_and(|r| Arc::ptr_eq(r, &round)) {
                *open = None;
            }
        }
        let result = load().await.map(Arc::new);
        *lock(&round.result) = Some(result.clone());
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// A "server" whose list returns the version current when the list was sent.
    struct Server {
        version: AtomicUsize,
        lists: AtomicUsize,
    }

    impl Server {
        async fn list(&self) -> Result<Vec<usize>, ApiError> {
            self.lists.fetch_add(1, Ordering::SeqCst);
            let seen = self.version.load(Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok(vec![seen])
        }
    }

    #[tokio::test]
    async fn concurrent_callers_share_lists_and_never_see_data_older_than_their_call() {
        let server = Arc::new(Server {
            version: AtomicUsize::new(0),
            lists: AtomicUsize::new(0),
        });
        let fresh: Arc<FreshList<usize>> = Arc::new(FreshList::default());
        let mut tasks = Vec::new();
        for i in 0..40 {
            let (server, fresh) = (server.clone(), fresh.clone());
            tasks.push(tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(i * 2)).await;
                // A write just before the lookup: the lookup must see it.
                let wrote = server.version.fetch_add(1, Ordering::SeqCst) + 1;
                let got = fresh.get("acc", || server.list()).await.unwrap();
                (wrote, got[0])
            }));
        }
        for task in tasks {
            let (wrote, seen) = task.await.unwrap();
            assert!(
                seen >= wrote,
                "saw version {seen}, older than its own write {wrote}"
            );
        }
        let lists = server.lists.load(Ordering::SeqCst);
        assert!(
            lists < 40,
            "40 callers sent {lists} lists: nothing was shared"
        );
        assert!(
            lists >= 2,
            "callers arriving mid-list must wait for a newer list"
        );
    }

    #[tokio::test]
    async fn a_sequential_caller_always_sends_its_own_list() {
        let server = Server {
            version: AtomicUsize::new(0),
            lists: AtomicUsize::new(0),
        };
        let fresh: FreshList<usize> = FreshList::default();
        for _ in 0..3 {
            fresh.get("acc", || server.list()).await.unwrap();
        }
        assert_eq!(server.lists.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn errors_are_shared_and_the_next_round_lists_again() {
        let fresh: Arc<FreshList<usize>> = Arc::new(FreshList::default());
        let calls = Arc::new(AtomicUsize::new(0));
        let failing = |calls: Arc<AtomicUsize>| async move {
            calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            Err::<Vec<usize>, _>(ApiError::InvalidConfig("boom".into()))
        };
        let a = {
            let (fresh, calls) = (fresh.clone(), calls.clone());
            tokio::spawn(async move { fresh.get("acc", || failing(calls)).await })
        };
        tokio::time::sleep(Duration::from_millis(5)).await;
        let (b, c) = tokio::join!(
            fresh.get("acc", || failing(calls.clone())),
            fresh.get("acc", || failing(calls.clone()))
        );
        assert!(a.await.unwrap().is_err());
        assert!(b.is_err() && c.is_err());
        // a's round, then one round shared by b and c.
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        let ok = fresh.get("acc", || async { Ok(vec![7]) }).await.unwrap();
        assert_eq!(*ok, vec![7]);
    }

    #[tokio::test]
    async fn a_cancelled_sender_leaves_the_round_to_the_next_caller() {
        let fresh: Arc<FreshList<usize>> = Arc::new(FreshList::default());
        let slow = {
            let fresh = fresh.clone();
            tokio::spawn(async move {
                fresh
                    .get("acc", || async {
                        tokio::time::sleep(Duration::from_secs(30)).await;
                        Ok(vec![1])
                    })
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        let waiter = {
            let fresh = fresh.clone();
            tokio::spawn(async move { fresh.get("acc", || async { Ok(vec![2]) }).await })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        slow.abort();
        let got = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("waiter finished")
            .unwrap()
            .unwrap();
        assert_eq!(*got, vec![2]);
    }

    #[tokio::test]
    async fn accounts_do_not_share_lists() {
        let fresh: FreshList<&'static str> = FreshList::default();
        let (a, b) = tokio::join!(
            fresh.get("a", || async { Ok(vec!["a"]) }),
            fresh.get("b", || async { Ok(vec!["b"]) })
        );
        assert_eq!(*a.unwrap(), vec!["a"]);
        assert_eq!(*b.unwrap(), vec!["b"]);
    }
}
