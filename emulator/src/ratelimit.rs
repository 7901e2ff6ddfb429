//! Per-token sliding-window rate limit (spec §1.5, §11 #20).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use axum::http::{HeaderMap, HeaderName, HeaderValue};

use crate::clock::format_rfc1123;
use crate::config::RateLimit;

/// Outcome of one request against the limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Counted; `remaining` more requests fit in the window until `reset`.
    Allowed {
        limit: u32,
        remaining: u32,
        reset: SystemTime,
    },
    /// Over the limit; retry after this many seconds.
    Limited {
        limit: u32,
        retry_after_secs: u64,
        reset: SystemTime,
    },
    /// No limit configured.
    Unlimited,
}

impl Decision {
    /// Adds the `x-ratelimit-*` headers.
    pub fn apply_headers(&self, headers: &mut HeaderMap) {
        let (limit, remaining, reset) = match self {
            Decision::Allowed {
                limit,
                remaining,
                reset,
            } => (*limit, *remaining, *reset),
            Decision::Limited { limit, reset, .. } => (*limit, 0, *reset),
            Decision::Unlimited => return,
        };
        let reset = time::OffsetDateTime::from(reset);
        let pairs = [
            ("x-ratelimit-limit", limit.to_string()),
            ("x-ratelimit-remaining", remaining.to_string()),
            ("x-ratelimit-reset", format_rfc1123(reset)),
        ];
        for (name, value) in pairs {
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.insert(HeaderName::from_static(name), v);
            }
        }
    }
}

/// Longest window honoured; longer ones are shortened to it, so `Instant + window`
/// can never overflow.
const MAX_WINDOW: Duration = Duration::from_secs(86_400);

/// Windows kept before stale ones are swept (principals with no request in the
/// current window): without the sweep every distinct token ever seen would stay.
const SWEEP_AT: usize = 1024;

/// Most principals tracked at once. Beyond it (a flood of distinct tokens within one
/// window) the least recently seen are forgotten, which only makes the limit laxer
/// for them.
const MAX_PRINCIPALS: usize = 10_000;

#[derive(Debug, Default)]
struct Windows {
    by_principal: HashMap<String, VecDeque<Instant>>,
    /// Size at which the next sweep runs (amortised: at least twice what survived).
    sweep_at: usize,
}

/// Request timestamps per principal within the current window.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    limit: Option<RateLimit>,
    windows: Mutex<Windows>,
}

impl RateLimiter {
    pub fn new(limit: RateLimit) -> RateLimiter {
        let limit = (!limit.is_disabled()).then(|| RateLimit {
            requests: limit.requests,
            per: limit.per.min(MAX_WINDOW),
        });
        RateLimiter {
            limit,
            windows: Mutex::new(Windows {
                by_principal: HashMap::new(),
                sweep_at: SWEEP_AT,
            }),
        }
    }

    /// Principals currently tracked.
    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.windows
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .by_principal
            .len()
    }

    /// Counts a request of `principal` at `now`, unless it is over the limit.
    pub fn check(&self, principal: &str, now: Instant) -> Decision {
        let Some(limit) = &self.limit else {
            return Decision::Unlimited;
        };
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.by_principal.len() >= windows.sweep_at
            && !windows.by_principal.contains_key(principal)
        {
            windows.sweep(now, limit.per);
        }
        let window = windows
            .by_principal
            .entry(principal.to_string())
            .or_default();
        while window
            .front()
            .is_some_and(|t| now.duration_since(*t) >= limit.per)
        {
            window.pop_front();
        }
        let wall = SystemTime::now();
        let until_free = |oldest: Option<&Instant>| -> Duration {
            oldest.map_or(limit.per, |t| {
                (*t + limit.per).saturating_duration_since(now)
            })
        };
        let used = u32::try_from(window.len()).unwrap_or(u32::MAX);
        if used < limit.requests {
            window.push_back(now);
            let reset = wall + until_free(window.front());
            Decision::Allowed {
                limit: limit.requests,
                remaining: limit.requests - used - 1,
                reset,
            }
        } else {
            let wait = until_free(window.front());
            let retry_after_secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            Decision::Limited {
                limit: limit.requests,
                retry_after_secs: retry_after_secs.max(1),
                reset: wall + wait,
            }
        }
    }
}

impl Windows {
    /// Drops windows with no request younger than `per`, then, if still at
    /// [`MAX_PRINCIPALS`], the least recently active ones down to half of it.
    fn sweep(&mut self, now: Instant, per: Duration) {
        self.by_principal.retain(|_, window| {
            window
                .back()
                .is_some_and(|last| now.saturating_duration_since(*last) < per)
        });
        if self.by_principal.len() >= MAX_PRINCIPALS {
            let mut last_seen: Vec<(Instant, String)> = self
                .by_principal
                .iter()
                .filter_map(|(k, w)| w.back().map(|t| (*t, k.clone())))
                .collect();
            last_seen.sort();
            // Down to half, so a flood sorts once per MAX_PRINCIPALS / 2 new tokens.
            let excess = self.by_principal.len() - MAX_PRINCIPALS / 2;
            for (_, key) in last_seen.into_iter().take(excess) {
                self.by_principal.remove(&key);
            }
        }
        self.sweep_at = (self.by_principal.len() * 2).clamp(SWEEP_AT, MAX_PRINCIPALS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A limiter allowing `requests` per `per_secs` seconds.
    fn limiter(requests: u32, per_secs: u64) -> RateLimiter {
        RateLimiter::new(RateLimit {
            requests,
            per: Duration::from_secs(per_secs),
        })
    }

    #[test]
    fn sliding_window_per_principal() {
        let rl = limiter(2, 10);
        let t0 = Instant::now();
        assert!(matches!(
            rl.check("a", t0),
            Decision::Allowed { remaining: 1, .. }
        ));
        assert!(matches!(
            rl.check("a", t0 + Duration::from_secs(4)),
            Decision::Allowed { remaining: 0, .. }
        ));
        match rl.check("a", t0 + Duration::from_secs(5)) {
            Decision::Limited {
                retry_after_secs, ..
            } => assert_eq!(retry_after_secs, 5),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            rl.check("b", t0 + Duration::from_secs(5)),
            Decision::Allowed { .. }
        ));
        // The first request leaves the window at t0+10.
        assert!(matches!(
            rl.check("a", t0 + Duration::from_secs(10)),
            Decision::Allowed { remaining: 0, .. }
        ));
        assert!(matches!(
            rl.check("a", t0 + Duration::from_millis(13_500)),
            Decision::Limited {
                retry_after_secs: 1,
                ..
            }
        ));
    }

    #[test]
    fn windows_of_idle_principals_are_evicted() {
        let rl = limiter(5, 10);
        let t0 = Instant::now();
        for i in 0..SWEEP_AT {
            rl.check(&format!("token-{i}"), t0);
        }
        assert_eq!(rl.tracked(), SWEEP_AT);
        // A window later, the next new principal triggers a sweep of all idle ones.
        rl.check("late", t0 + Duration::from_secs(11));
        assert_eq!(rl.tracked(), 1);
    }

    #[test]
    fn a_flood_of_tokens_within_one_window_stays_bounded() {
        let rl = limiter(5, 300);
        let t0 = Instant::now();
        for i in 0..(MAX_PRINCIPALS * 2) {
            rl.check(&format!("token-{i}"), t0 + Duration::from_micros(i as u64));
        }
        assert!(rl.tracked() <= MAX_PRINCIPALS, "{}", rl.tracked());
        // The most recent principal is still limited as before.
        let last = format!("token-{}", MAX_PRINCIPALS * 2 - 1);
        assert!(matches!(
            rl.check(&last, t0 + Duration::from_secs(1)),
            Decision::Allowed { remaining: 3, .. }
        ));
    }

    #[test]
    fn a_huge_window_cannot_overflow() {
        let rl = RateLimiter::new(RateLimit {
            requests: 1,
            per: Duration::from_secs(u64::MAX),
        });
        let t0 = Instant::now();
        assert!(matches!(rl.check("a", t0), Decision::Allowed { .. }));
        match rl.check("a", t0) {
            Decision::Limited {
                retry_after_secs, ..
            } => assert!(retry_after_secs <= 86_400),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn disabled_is_unlimited() {
        let rl = RateLimiter::new(RateLimit::disabled());
        for _ in 0..5000 {
            assert_eq!(rl.check("a", Instant::now()), Decision::Unlimited);
        }
    }
}
