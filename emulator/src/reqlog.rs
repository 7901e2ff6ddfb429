//! The log of requests received under `/client/v4`.

use std::collections::{BTreeMap, VecDeque};

use serde_json::{Value, json};

use crate::LoggedRequest;
use crate::clock::format_rfc3339;

/// Oldest entries are dropped beyond this many, so a long-running emulator stays small.
const CAPACITY: usize = 100_000;

#[derive(Debug, Default)]
pub(crate) struct RequestLog {
    entries: VecDeque<LoggedRequest>,
}

/// True for methods that change state.
pub(crate) fn is_write(method: &str) -> bool {
    matches!(method, "POST" | "PUT" | "PATCH" | "DELETE")
}

impl RequestLog {
    pub fn push(&mut self, entry: LoggedRequest) {
        if self.entries.len() >= CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    pub fn snapshot(&self) -> Vec<LoggedRequest> {
        self.entries.iter().cloned().collect()
    }

    pub fn clear(&mut self) -> usize {
        let n = self.entries.len();
        self.entries.clear();
        n
    }

    pub fn write_count(&self) -> usize {
        self.entries.iter().filter(|e| is_write(&e.method)).count()
    }

    /// The admin API's view: entries plus counts by method and status.
    pub fn to_json(&self) -> Value {
        let mut by_method: BTreeMap<String, usize> = BTreeMap::new();
        let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
        let requests: Vec<Value> = self
            .entries
            .iter()
            .map(|e| {
                *by_method.entry(e.method.clone()).or_default() += 1;
                *by_status.entry(e.status.to_string()).or_default() += 1;
                json!({
                    "method": e.method,
                    "path": e.path,
                    "query": e.query,
                    "status": e.status,
                    "body": e.body,
                    "time": format_rfc3339(time::OffsetDateTime::from(e.time)),
                    "responded": format_rfc3339(time::OffsetDateTime::from(e.responded)),
                    "elapsed_us": e.responded.duration_since(e.time).unwrap_or_default().as_micros() as u64,
                    "dropped": e.dropped,
                })
            })
            .collect();
        json!({
            "count": requests.len(),
            "writes": self.write_count(),
            "by_method": by_method,
            "by_status": by_status,
            "requests": requests,
        })
    }
}
