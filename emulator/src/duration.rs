//! Go-style duration strings (`24h`, `1h30m`, `15m`, `300ms`) as the API takes them.

/// Parses a Go duration into seconds; `None` when it is not one.
pub(crate) fn parse_go_duration(s: &str) -> Option<f64> {
    let body = s.strip_prefix('+').unwrap_or(s);
    if body == "0" {
        return Some(0.0);
    }
    if body.is_empty() {
        return None;
    }
    let mut total = 0.0;
    let mut rest = body;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return None;
        }
        let value: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += value * scale;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::parse_go_duration;

    #[test]
    fn parses_go_durations() {
        assert_eq!(parse_go_duration("24h"), Some(86400.0));
        assert_eq!(parse_go_duration("1h30m"), Some(5400.0));
        assert_eq!(parse_go_duration("5m"), Some(300.0));
        assert_eq!(parse_go_duration("300ms"), Some(0.3));
        assert_eq!(parse_go_duration("0"), Some(0.0));
        assert_eq!(parse_go_duration("1.5h"), Some(5400.0));
        for bad in ["", "24", "h", "24d", "1h 30m", "-", "abc"] {
            assert_eq!(parse_go_duration(bad), None, "{bad}");
        }
    }
}
