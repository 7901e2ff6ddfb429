//! Timestamps in the form Cloudflare returns them.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Now, as RFC 3339 UTC with microsecond precision (`2026-08-20T09:59:00.123456Z`).
pub(crate) fn now_rfc3339() -> String {
    format_rfc3339(OffsetDateTime::now_utc())
}

/// RFC 3339 UTC with microsecond precision.
pub(crate) fn format_rfc3339(t: OffsetDateTime) -> String {
    let micros = t.microsecond();
    let truncated = t.replace_microsecond(micros).unwrap_or(t);
    truncated
        .format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_string())
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// RFC 1123 date (`Thu, 20 Aug 2026 09:59:00 GMT`), the form of `x-ratelimit-reset`.
pub(crate) fn format_rfc1123(t: OffsetDateTime) -> String {
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    t.to_offset(time::UtcOffset::UTC)
        .format(&fmt)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let t = OffsetDateTime::from_unix_timestamp(1_787_219_940).unwrap();
        assert_eq!(format_rfc3339(t), "2026-08-20T09:59:00Z");
        assert_eq!(format_rfc1123(t), "Thu, 20 Aug 2026 09:59:00 GMT");
        assert!(now_rfc3339().ends_with('Z'));
    }
}
