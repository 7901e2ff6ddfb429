//! RFC 3339 timestamps as Cloudflare writes them (`2026-08-20T09:59:00Z`,
//! optionally with fractional seconds or a numeric offset).

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// Parses an RFC 3339 date-time; `None` when it is not one.
pub fn parse_rfc3339(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    let (date_part, rest) = text.split_at_checked(10)?;
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    let mut date_fields = date_part.split('-');
    let year: i32 = date_fields.next()?.parse().ok()?;
    let month: u8 = date_fields.next()?.parse().ok()?;
    let day: u8 = date_fields.next()?.parse().ok()?;
    let date = Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()?;

    let (clock, offset) = split_offset(rest)?;
    let (hms, fraction) = match clock.split_once('.') {
        Some((hms, fraction)) => (hms, Some(fraction)),
        None => (clock, None),
    };
    let mut hms_fields = hms.split(':');
    let hour: u8 = hms_fields.next()?.parse().ok()?;
    let minute: u8 = hms_fields.next()?.parse().ok()?;
    let second: u8 = hms_fields.next()?.parse().ok()?;
    if hms_fields.next().is_some() {
        return None;
    }
    let nanos = match fraction {
        Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            let kept: String = digits.chars().take(9).collect();
            let scale = 10u32.pow(9 - kept.len() as u32);
            kept.parse::<u32>().ok()? * scale
        }
        Some(_) => return None,
        None => 0,
    };
    // A leap second (":60") is folded into the next-lower second; ordering is all we need.
    let time = Time::from_hms_nano(hour, minute, second.min(59), nanos).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_offset(offset))
}

fn split_offset(rest: &str) -> Option<(&str, UtcOffset)> {
    if let Some(clock) = rest.strip_suffix(['Z', 'z']) {
        return Some((clock, UtcOffset::UTC));
    }
    let sign_at = rest.rfind(['+', '-'])?;
    let (clock, offset) = rest.split_at(sign_at);
    let negative = offset.starts_with('-');
    let (hours, minutes) = offset[1..].split_once(':')?;
    let hours: i8 = hours.parse().ok()?;
    let minutes: i8 = minutes.parse().ok()?;
    let (hours, minutes) = if negative {
        (-hours, -minutes)
    } else {
        (hours, minutes)
    };
    Some((clock, UtcOffset::from_hms(hours, minutes, 0).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_cloudflare_uses() {
        let plain = parse_rfc3339("2026-08-20T09:59:00Z").unwrap();
        assert_eq!(plain.unix_timestamp(), 1_787_219_940);
        let frac = parse_rfc3339("2026-08-20T09:59:00.250Z").unwrap();
        assert_eq!(
            frac.unix_timestamp_nanos() - plain.unix_timestamp_nanos(),
            250_000_000
        );
        let offset = parse_rfc3339("2026-08-20T11:59:00+02:00").unwrap();
        assert_eq!(offset, plain);
        let negative = parse_rfc3339("2026-08-20T04:29:00-05:30").unwrap();
        assert_eq!(negative, plain);
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "2026-08-20",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "2026-08-20T09:59Z",
        ] {
            assert!(parse_rfc3339(bad).is_none(), "{bad}");
        }
    }
}
