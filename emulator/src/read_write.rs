//! Read-modify-write analysis of a request log: for every PUT of an application, how
//! long after the last GET of that application it arrived (the window in which another
//! writer's change is lost), and whether a GET of it was answered after the previous
//! PUT of the same application (otherwise the body was built from a stale read, e.g. a
//! retry re-sending an old body).

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use crate::LoggedRequest;

/// One `PUT /accounts/{acc}/access/apps/{id}` seen through the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppWrite {
    /// The application written.
    pub app_id: String,
    /// When the PUT arrived.
    pub time: SystemTime,
    /// Status the emulator answered it with.
    pub status: u16,
    /// PUT arrival minus the answer to the latest successful GET of the same app
    /// answered before it; `None` when there was no such GET at all.
    pub gap: Option<Duration>,
    /// True when a successful GET of the app was answered after the previous PUT of
    /// that app was answered (or there was no previous PUT) and before this PUT arrived.
    pub fresh_read: bool,
}

/// The application id of `/client/v4/accounts/{acc}/access/apps/{id}` (no sub-path).
pub fn app_id_of(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/client/v4/accounts/")?;
    let segs: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    match segs.as_slice() {
        [_acc, "access", "apps", id] if !id.is_empty() => Some(id),
        _ => None,
    }
}

/// Every app PUT of `log` in arrival order, with its read→write gap and whether it
/// was built on a fresh read.
pub fn app_writes(log: &[LoggedRequest]) -> Vec<AppWrite> {
    let mut entries: Vec<&LoggedRequest> = log.iter().collect();
    entries.sort_by_key(|r| r.time);
    let reads: Vec<(&str, SystemTime)> = entries
        .iter()
        .filter(|r| r.method == "GET" && (200..300).contains(&r.status))
        .filter_map(|r| Some((app_id_of(&r.path)?, r.responded)))
        .collect();
    let mut previous_put: HashMap<&str, SystemTime> = HashMap::new();
    let mut writes = Vec::new();
    for put in entries.iter().filter(|r| r.method == "PUT") {
        let Some(app) = app_id_of(&put.path) else {
            continue;
        };
        let last_read = reads
            .iter()
            .filter(|(id, answered)| *id == app && *answered <= put.time)
            .map(|(_, answered)| *answered)
            .max();
        let fresh_read = match (last_read, previous_put.get(app)) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(read), Some(prev)) => read >= *prev,
        };
        writes.push(AppWrite {
            app_id: app.to_string(),
            time: put.time,
            status: put.status,
            gap: last_read.map(|r| put.time.duration_since(r).unwrap_or_default()),
            fresh_read,
        });
        previous_put.insert(app, put.responded);
    }
    writes
}

/// Median, 90th percentile and maximum of some durations (nearest-rank).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spread {
    /// How many values.
    pub count: usize,
    /// 50th percentile.
    pub median: Duration,
    /// 90th percentile.
    pub p90: Duration,
    /// Largest value.
    pub max: Duration,
}

impl Spread {
    /// `None` for no values.
    pub fn of(values: impl IntoIterator<Item = Duration>) -> Option<Spread> {
        let mut v: Vec<Duration> = values.into_iter().collect();
        if v.is_empty() {
            return None;
        }
        v.sort();
        let rank = |q: f64| {
            let i = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
            v[i - 1]
        };
        Some(Spread {
            count: v.len(),
            median: rank(0.5),
            p90: rank(0.9),
            max: v[v.len() - 1],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: &str, path: &str, status: u16, at_ms: u64, took_ms: u64) -> LoggedRequest {
        let time = SystemTime::UNIX_EPOCH + Duration::from_millis(at_ms);
        LoggedRequest {
            method: method.into(),
            path: path.into(),
            query: None,
            status,
            body: None,
            time,
            responded: time + Duration::from_millis(took_ms),
            dropped: false,
        }
    }

    const A: &str = "/client/v4/accounts/acc/access/apps/a";
    const B: &str = "/client/v4/accounts/acc/access/apps/b";

    #[test]
    fn paths() {
        assert_eq!(app_id_of(A), Some("a"));
        assert_eq!(
            app_id_of("/client/v4/accounts/acc/access/apps/a/"),
            Some("a")
        );
        assert_eq!(app_id_of("/client/v4/accounts/acc/access/apps"), None);
        assert_eq!(
            app_id_of("/client/v4/accounts/acc/access/apps/a/policies"),
            None
        );
        assert_eq!(app_id_of("/client/v4/accounts/acc/access/policies/a"), None);
    }

    #[test]
    fn gaps_and_stale_retries() {
        let log = vec![
            req("GET", A, 200, 0, 2),
            req("GET", B, 200, 1, 2),
            req("PUT", A, 503, 10, 1),  // gap 8 ms, fresh
            req("PUT", A, 200, 20, 1),  // retry without a new read: stale
            req("GET", A, 200, 30, 2),  // answered at 32
            req("PUT", A, 200, 35, 1),  // gap 3 ms, fresh
            req("PUT", B, 200, 100, 1), // gap 97 ms, fresh (first PUT of b)
            req(
                "PUT",
                "/client/v4/accounts/acc/access/policies/p",
                200,
                101,
                1,
            ),
        ];
        let writes = app_writes(&log);
        let summary: Vec<(&str, u16, Option<u64>, bool)> = writes
            .iter()
            .map(|w| {
                (
                    w.app_id.as_str(),
                    w.status,
                    w.gap.map(|g| g.as_millis() as u64),
                    w.fresh_read,
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("a", 503, Some(8), true),
                ("a", 200, Some(18), false),
                ("a", 200, Some(3), true),
                ("b", 200, Some(97), true),
            ]
        );
        // A PUT with no GET before it at all is never fresh.
        let writes = app_writes(&[req("PUT", A, 200, 0, 1)]);
        assert_eq!((writes[0].gap, writes[0].fresh_read), (None, false));
    }

    #[test]
    fn spread() {
        let ms = Duration::from_millis;
        assert_eq!(Spread::of(Vec::new()), None);
        let s = Spread::of((1..=10).map(ms)).unwrap();
        assert_eq!(
            (s.count, s.median, s.p90, s.max),
            (10, ms(5), ms(9), ms(10))
        );
        let s = Spread::of([ms(7)]).unwrap();
        assert_eq!((s.median, s.p90, s.max), (ms(7), ms(7), ms(7)));
    }
}
