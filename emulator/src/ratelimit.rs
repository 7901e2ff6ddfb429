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

/// Request timestamps per principal within the current window.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    limit: Option<RateLimit>,
    windows: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl RateLimiter {
    pub fn new(limit: RateLimit) -> RateLimiter {
        let limit = (!limit.is_disabled()).then_some(limit);
        RateLimiter {
            limit,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a request of `principal` at `now`, unless it is over the limit.
    pub fn check(&self, principal: &str, now: Instant) -> Decision {
        let Some(limit) = &self.limit else {
            return Decision::Unlimited;
        };
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let window = windows.entry(principal.to_string()).or_default();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliding_window_per_principal() {
        let rl = RateLimiter::new(RateLimit {
            requests: 2,
            per: Duration::from_secs(10),
        });
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
    fn disabled_is_unlimited() {
        let rl = RateLimiter::new(RateLimit::disabled());
        for _ in 0..5000 {
            assert_eq!(rl.check("a", Instant::now()), Decision::Unlimited);
        }
    }
}
