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

impl Fault {
    /// Parses the `--fault METHOD:PATH:KIND:COUNT` command-line form: METHOD is a method
    /// or `*`; KIND is a status (`503`), `ratelimit=SECS`, `latency=MS` or `drop`;
    /// COUNT is a number or `persistent`.
    pub fn parse_cli(spec: &str) -> Result<Fault, String> {
        let parts: Vec<&str> = spec.split(':').collect();
        let [method, path, kind, count] = parts.as_slice() else {
            return Err(format!("fault '{spec}': expected METHOD:PATH:KIND:COUNT"));
        };
        let method = match *method {
            "*" | "" | "ANY" | "any" => None,
            m => Some(m.to_ascii_uppercase()),
        };
        if !path.starts_with('/') {
            return Err(format!("fault '{spec}': PATH must start with '/'"));
        }
        let kind = if *kind == "drop" {
            FaultKind::DropAfterCommit
        } else if let Some(ms) = kind.strip_prefix("latency=") {
            let ms: u64 = ms
                .trim_end_matches("ms")
                .parse()
                .map_err(|_| format!("fault '{spec}': bad latency"))?;
            FaultKind::Latency(Duration::from_millis(ms))
        } else if let Some(secs) = kind.strip_prefix("ratelimit=") {
            let secs = secs
                .parse()
                .map_err(|_| format!("fault '{spec}': bad retry-after"))?;
            FaultKind::RateLimited {
                retry_after_secs: secs,
            }
        } else {
            let status: u16 = kind
                .parse()
                .map_err(|_| format!("fault '{spec}': unknown kind '{kind}'"))?;
            if !(400..=599).contains(&status) {
                return Err(format!("fault '{spec}': status must be 400..599"));
            }
            FaultKind::Status(status)
        };
        let count = match *count {
            "persistent" | "*" | "inf" => u32::MAX,
            n => n
                .parse()
                .map_err(|_| format!("fault '{spec}': bad count '{n}'"))?,
        };
        Ok(Fault {
            method,
            path: (*path).to_string(),
            kind,
            count,
        })
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.count > 0
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && glob_match(&self.path, path)
    }
}

/// What the faults decided for one request.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct FaultAction {
    /// Sum of matching latency faults.
    pub delay: Duration,
    /// The first matching non-latency fault.
    pub terminal: Option<FaultKind>,
}

/// Active faults in the order they were added.
#[derive(Debug, Default)]
pub(crate) struct FaultSet {
    faults: Vec<Fault>,
}

impl FaultSet {
    pub fn add(&mut self, fault: Fault) {
        self.faults.push(fault);
    }

    pub fn clear(&mut self) {
        self.faults.clear();
    }

    pub fn list(&self) -> Vec<Fault> {
        self.faults.clone()
    }

    /// Consumes one hit of every matching latency fault and of the first matching
    /// terminal fault; exhausted faults are removed.
    pub fn take(&mut self, method: &str, path: &str) -> FaultAction {
        let mut action = FaultAction::default();
        for fault in &mut self.faults {
            if !fault.matches(method, path) {
                continue;
            }
            match &fault.kind {
                FaultKind::Latency(d) => action.delay += *d,
                kind if action.terminal.is_none() => action.terminal = Some(kind.clone()),
                _ => continue,
            }
            if fault.count != u32::MAX {
                fault.count -= 1;
            }
        }
        self.faults.retain(|f| f.count > 0);
        action
    }
}

/// Matches `path` against a glob where `*` is one segment and `**` any number of them.
pub(crate) fn glob_match(pattern: &str, path: &str) -> bool {
    let pat: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match_segments(&pat, &segs)
}

fn match_segments(pat: &[&str], segs: &[&str]) -> bool {
    match pat.split_first() {
        None => segs.is_empty(),
        Some((&"**", rest)) => (0..=segs.len()).any(|i| match_segments(rest, &segs[i..])),
        Some((p, rest)) => match segs.split_first() {
            Some((s, srest)) => (*p == "*" || p == s) && match_segments(rest, srest),
            None => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match(
            "/accounts/*/access/policies",
            "/accounts/abc/access/policies"
        ));
        assert!(glob_match(
            "/accounts/*/access/policies",
            "/accounts/abc/access/policies/"
        ));
        assert!(!glob_match(
            "/accounts/*/access/policies",
            "/accounts/abc/access/policies/x"
        ));
        assert!(glob_match(
            "/accounts/*/access/**",
            "/accounts/abc/access/apps/x/policies"
        ));
        assert!(glob_match("/**", "/anything/at/all"));
        assert!(glob_match(
            "/accounts/**/policies",
            "/accounts/a/access/apps/b/policies"
        ));
        assert!(!glob_match(
            "/accounts/*/access/apps",
            "/accounts/a/access/policies"
        ));
    }

    #[test]
    fn counts_down_and_latency_stacks() {
        let mut set = FaultSet::default();
        set.add(Fault {
            method: Some("POST".into()),
            path: "/a/*".into(),
            kind: FaultKind::Status(503),
            count: 2,
        });
        set.add(Fault {
            method: None,
            path: "/**".into(),
            kind: FaultKind::Latency(Duration::from_millis(5)),
            count: u32::MAX,
        });
        let a = set.take("post", "/a/b");
        assert_eq!(a.terminal, Some(FaultKind::Status(503)));
        assert_eq!(a.delay, Duration::from_millis(5));
        assert_eq!(set.take("GET", "/a/b").terminal, None);
        assert_eq!(
            set.take("POST", "/a/b").terminal,
            Some(FaultKind::Status(503))
        );
        assert_eq!(set.take("POST", "/a/b").terminal, None);
        assert_eq!(set.list().len(), 1);
    }

    #[test]
    fn parses_cli_form() {
        let f = Fault::parse_cli("POST:/accounts/*/access/policies:503:2").unwrap();
        assert_eq!(
            (f.method.as_deref(), f.kind, f.count),
            (Some("POST"), FaultKind::Status(503), 2)
        );
        let f = Fault::parse_cli("*:/**:latency=250:persistent").unwrap();
        assert_eq!(
            (f.method, f.kind, f.count),
            (
                None,
                FaultKind::Latency(Duration::from_millis(250)),
                u32::MAX
            )
        );
        let f = Fault::parse_cli("put:/accounts/*/access/apps/*:drop:1").unwrap();
        assert_eq!(f.kind, FaultKind::DropAfterCommit);
        let f = Fault::parse_cli("GET:/**:ratelimit=7:3").unwrap();
        assert_eq!(
            f.kind,
            FaultKind::RateLimited {
                retry_after_secs: 7
            }
        );
        for bad in [
            "POST:/x:503",
            "POST:x:503:1",
            "POST:/x:boom:1",
            "POST:/x:200:1",
            "POST:/x:503:many",
        ] {
            assert!(Fault::parse_cli(bad).is_err(), "{bad}");
        }
    }
}
