//! Token-bucket rate limiter shared by every clone of a client (and so by every
//! resource operation of the provider process). Every HTTP attempt, retries
//! included, takes one token.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::config::{MAX_REQUESTS_PER_SECOND, MIN_REQUESTS_PER_SECOND};
use super::error::ApiError;
use super::lock;

#[derive(Debug)]
struct Bucket {
    /// May go negative: each waiter reserves its token up front, which keeps waiters
    /// in arrival order without a queue.
    tokens: f64,
    refilled_at: Instant,
    /// Set after a 429 so every task holds off, not just the one that was refused.
    paused_until: Option<Instant>,
}

/// A token bucket; `None` rate means unlimited.
#[derive(Debug)]
pub struct RateLimiter {
    rate: Option<f64>,
    burst: f64,
    bucket: Mutex<Bucket>,
}

impl RateLimiter {
    /// `requests_per_second` ≤ 0 or non-finite disables limiting; any other rate is
    /// clamped to [`MIN_REQUESTS_PER_SECOND`]..=[`MAX_REQUESTS_PER_SECOND`], so the wait
    /// for one token (`1 / rate`) is always a representable `Duration`. `burst` is at
    /// least 1.
    pub fn new(requests_per_second: f64, burst: u32) -> Self {
        let rate = (requests_per_second.is_finite() && requests_per_second > 0.0)
            .then(|| requests_per_second.clamp(MIN_REQUESTS_PER_SECOND, MAX_REQUESTS_PER_SECOND));
        let burst = f64::from(burst.max(1));
        RateLimiter {
            rate,
            burst,
            bucket: Mutex::new(Bucket {
                tokens: burst,
                refilled_at: Instant::now(),
                paused_until: None,
            }),
        }
    }

    /// Waits for a token. Ends at once with [`ApiError::Cancelled`] when `stop` fires.
    pub async fn acquire(&self, stop: &CancellationToken) -> Result<(), ApiError> {
        let mut permit = self.acquire_many(1, stop).await?;
        permit.spend();
        Ok(())
    }

    /// Takes `count` tokens at once (the bucket may go negative), or reports a pause.
    fn reserve_tokens(&self, count: f64) -> Reservation {
        let now = Instant::now();
        let mut bucket = lock(&self.bucket);
        if let Some(until) = bucket.paused_until {
            if until > now {
                return Reservation::Paused(until - now);
            }
            bucket.paused_until = None;
        }
        let Some(rate) = self.rate else {
            return Reservation::Granted;
        };
        let elapsed = now
            .saturating_duration_since(bucket.refilled_at)
            .as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(self.burst);
        bucket.refilled_at = now;
        bucket.tokens -= count;
        if bucket.tokens >= 0.0 {
            Reservation::Granted
        } else {
            Reservation::GrantedAfter(Duration::from_secs_f64(-bucket.tokens / rate))
        }
    }

    /// Holds every caller back until `delay` has passed (after a 429 with
    /// `retry-after`), and drops banked tokens so the pause is not followed by a burst.
    pub fn pause_for(&self, delay: Duration) {
        let until = Instant::now() + delay;
        let mut bucket = lock(&self.bucket);
        if bucket.paused_until.is_none_or(|current| current < until) {
            bucket.paused_until = Some(until);
        }
        bucket.tokens = bucket.tokens.min(1.0);
    }
}

impl RateLimiter {
    /// Waits until `count` tokens are available and takes them all together, so the
    /// requests they pay for can then be sent back to back with no wait in between
    /// (the GET and the PUT of a read-modify-write). Tokens left unspent when the
    /// [`Permits`] are dropped go back to the bucket. Ends at once with
    /// [`ApiError::Cancelled`] when `stop` fires.
    pub async fn acquire_many(
        &self,
        count: u32,
        stop: &CancellationToken,
    ) -> Result<Permits<'_>, ApiError> {
        let count = count.max(1);
        loop {
            if stop.is_cancelled() {
                return Err(ApiError::Cancelled);
            }
            match self.reserve_tokens(f64::from(count)) {
                Reservation::Granted => break,
                Reservation::GrantedAfter(delay) => {
                    if let Err(cancelled) = sleep_or_stop(delay, stop).await {
                        // Not spent: give the tokens back for the tasks still waiting.
                        self.refund(count);
                        return Err(cancelled);
                    }
                    break;
                }
                Reservation::Paused(delay) => sleep_or_stop(delay, stop).await?,
            }
        }
        Ok(Permits {
            limiter: self,
            left: count,
        })
    }

    fn refund(&self, count: u32) {
        if count == 0 || self.rate.is_none() {
            return;
        }
        let mut bucket = lock(&self.bucket);
        bucket.tokens = (bucket.tokens + f64::from(count)).min(self.burst);
    }
}

/// Rate-limit tokens already taken from the bucket, spent one per request with
/// [`Permits::spend`]; the unspent ones are returned on drop.
#[derive(Debug)]
pub struct Permits<'a> {
    limiter: &'a RateLimiter,
    left: u32,
}

impl Permits<'_> {
    /// Spends one token; `false` when none is left (the caller then waits for one).
    pub fn spend(&mut self) -> bool {
        if self.left == 0 {
            return false;
        }
        self.left -= 1;
        true
    }
}

impl Drop for Permits<'_> {
    fn drop(&mut self) {
        self.limiter.refund(self.left);
    }
}

enum Reservation {
    Granted,
    GrantedAfter(Duration),
    Paused(Duration),
}

/// Sleeps, unless `stop` fires first.
pub async fn sleep_or_stop(delay: Duration, stop: &CancellationToken) -> Result<(), ApiError> {
    if delay.is_zero() {
        return if stop.is_cancelled() {
            Err(ApiError::Cancelled)
        } else {
            Ok(())
        };
    }
    tokio::select! {
        _ = stop.cancelled() => Err(ApiError::Cancelled),
        _ = tokio::time::sleep(delay) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asserts that at least `ms` milliseconds passed since `start`.
    fn assert_waited(start: Instant, ms: u64) {
        let waited = start.elapsed();
        assert!(waited >= Duration::from_millis(ms), "{waited:?}");
    }

    #[tokio::test]
    async fn spends_the_burst_then_paces_at_the_rate() {
        let limiter = RateLimiter::new(50.0, 3);
        let stop = CancellationToken::new();
        let start = Instant::now();
        for _ in 0..3 {
            limiter.acquire(&stop).await.unwrap();
        }
        for _ in 0..10 {
            limiter.acquire(&stop).await.unwrap();
        }
        // The burst is free; 10 more tokens at 50/s cannot take less than 200 ms.
        assert_waited(start, 195);
    }

    #[tokio::test]
    async fn pause_holds_everyone_back() {
        let limiter = RateLimiter::new(0.0, 1);
        let stop = CancellationToken::new();
        limiter.pause_for(Duration::from_millis(300));
        let start = Instant::now();
        limiter.acquire(&stop).await.unwrap();
        assert_waited(start, 295);
        // No rate: unlimited afterwards (nothing to wait for, so no reservation).
        for _ in 0..100 {
            assert!(matches!(limiter.reserve_tokens(1.0), Reservation::Granted));
        }
    }

    #[test]
    fn absurd_rates_cannot_panic() {
        // 1e-300 requests per second used to overflow Duration::from_secs_f64(1 / rate).
        for rate in [1e-300, f64::MIN_POSITIVE, 1e-9, 1e300, f64::MAX] {
            let limiter = RateLimiter::new(rate, 1);
            for _ in 0..3 {
                match limiter.reserve_tokens(1.0) {
                    Reservation::Granted => {}
                    Reservation::GrantedAfter(wait) => {
                        assert!(wait <= Duration::from_secs(201), "{rate}: {wait:?}")
                    }
                    Reservation::Paused(_) => unreachable!(),
                }
            }
        }
        for off in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(RateLimiter::new(off, 1).rate.is_none(), "{off}");
        }
    }

    #[tokio::test]
    async fn a_multi_permit_reservation_waits_once_then_spends_without_waiting() {
        let limiter = RateLimiter::new(20.0, 1);
        let stop = CancellationToken::new();
        // Empty the bucket, so two tokens cost two refill periods (100 ms at 20/s).
        // Every wait below is measured from before the bucket emptied: lower bounds
        // that a loaded machine can only lengthen.
        let start = Instant::now();
        limiter.acquire(&stop).await.unwrap();
        let mut permits = limiter.acquire_many(2, &stop).await.unwrap();
        assert_waited(start, 95);
        assert!(permits.spend());
        assert!(permits.spend());
        assert!(!permits.spend());
        // The two tokens were both taken up front: the next single token waits its
        // own full period behind them, not less. Measured from the empty bucket, so a
        // test thread descheduled in between cannot shorten the wait it sees.
        drop(permits);
        limiter.acquire(&stop).await.unwrap();
        assert_waited(start, 145);
    }

    #[tokio::test]
    async fn unspent_permits_go_back_to_the_bucket() {
        let limiter = RateLimiter::new(1.0, 2);
        let stop = CancellationToken::new();
        let mut permits = limiter.acquire_many(2, &stop).await.unwrap();
        assert!(permits.spend());
        drop(permits);
        // One token came back: granted at once instead of after a second.
        assert!(matches!(limiter.reserve_tokens(1.0), Reservation::Granted));
        assert!(matches!(
            limiter.reserve_tokens(1.0),
            Reservation::GrantedAfter(_)
        ));
    }

    #[tokio::test]
    async fn cancellation_ends_a_wait() {
        let limiter = RateLimiter::new(0.001, 1);
        let stop = CancellationToken::new();
        limiter.acquire(&stop).await.unwrap();
        let waiter = {
            let stop = stop.clone();
            tokio::spawn(async move { limiter.acquire(&stop).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        stop.cancel();
        let result = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(result, Err(ApiError::Cancelled)));
    }
}
