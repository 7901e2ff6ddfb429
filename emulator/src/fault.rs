//! Fault injection: make matching requests fail, slow down, or lose their response.

use std::time::Duration;

/// One injected fault: the next `count` requests whose method and path match get `kind`.
#[derive(Clone, Debug)]
pub struct Fault {
    /// HTTP method (case-insensitive); `None` = any method.
    pub method: Option<String>,
    /// Glob matched against the path after `/client/v4`, e.g.
    /// `/accounts/*/access/policies`: `*` matches one segment, `**` the rest.
    pub path: String,
    /// What happens to a matching request.
    pub kind: FaultKind,
    /// How many matching requests it hits; `u32::MAX` = persistent.
    pub count: u32,
}

/// The effect of a [`Fault`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// Answer with this status and an error envelope; nothing is committed.
    /// 429 behaves like `RateLimited { retry_after_secs: 1 }`.
    Status(u16),
    /// 429 with `retry-after` and error code 971; nothing is committed.
    RateLimited {
        /// Value of the `retry-after` header.
        retry_after_secs: u64,
    },
    /// Wait, then handle the request normally.
    Latency(Duration),
    /// Perform the request (commit the write), then close the connection without
    /// sending any response.
    DropAfterCommit,
}
