//! Decimal text of cty numbers: one canonical spelling, and the msgpack wire choice.
//!
//! cty numbers are arbitrary-precision. The codec keeps them as decimal text and gives
//! every number a single canonical spelling, so that a value read from msgpack or JSON
//! and written back compares equal however the sender spelled it (`1e3`, `1000`,
//! `1000.0`): plain decimal (as Go's `big.Float.Text('f', -1)` prints, which is what
//! cty writes), except that numbers needing more than [`MAX_PADDING`] padding zeros are
//! written in scientific form so that a tiny input such as `"1e999999999"` cannot
//! expand into a gigabyte of zeros.

use std::borrow::Cow;

use super::error::CodecError;
use crate::tfplugin::value::Number;

/// Most zeros a canonical plain spelling may pad with (`1e1024` is plain, `1e1025` not).
/// Every finite f64 is plain under this limit (5e-324 needs 323 zeros).
pub(crate) const MAX_PADDING: i64 = 1024;

/// Largest decimal exponent accepted; far beyond what cty itself accepts (its
/// `big.Float` has a binary exponent range of about ±2^31), yet small enough that
/// exponent arithmetic cannot overflow.
const MAX_EXPONENT: i64 = 1_000_000_000_000_000;

/// How a number travels in msgpack, mirroring go-cty's marshaller: integers that fit a
/// 64-bit integer as integers, other numbers whose decimal text round-trips through an
/// f64 as float64, everything else as its decimal text.
#[derive(Debug, PartialEq)]
pub(crate) enum Wire<'a> {
    Int(i64),
    Uint(u64),
    Float(f64),
    Text(Cow<'a, str>),
}

/// Picks the msgpack representation of `n`.
pub(crate) fn classify(n: &Number) -> Result<Wire<'_>, CodecError> {
    let text = n.as_str();
    // Fast path for the overwhelmingly common small integer.
    if let Ok(i) = text.parse::<i64>() {
        return Ok(Wire::Int(i));
    }
    if let Ok(u) = text.parse::<u64>() {
        return Ok(Wire::Uint(u));
    }
    let canonical = canonicalize(text)?;
    if canonical.contains('e') {
        return Ok(Wire::Text(canonical));
    }
    if !canonical.contains('.') {
        if let Ok(i) = canonical.parse::<i64>() {
            return Ok(Wire::Int(i));
        }
        if let Ok(u) = canonical.parse::<u64>() {
            return Ok(Wire::Uint(u));
        }
        return Ok(Wire::Text(canonical));
    }
    if let Ok(f) = canonical.parse::<f64>()
        && f.is_finite()
        && format!("{f}") == canonical
    {
        return Ok(Wire::Float(f));
    }
    Ok(Wire::Text(canonical))
}

/// The canonical spelling of `n` (what JSON output carries).
pub(crate) fn canonical_text(n: &Number) -> Result<Cow<'_, str>, CodecError> {
    canonicalize(n.as_str())
}

/// A [`Number`] from decimal text in any spelling cty accepts.
pub(crate) fn number_from_text(text: &str) -> Result<Number, CodecError> {
    let canonical = canonicalize(text)?;
    Number::parse(&canonical).ok_or_else(|| CodecError::invalid_number("not a decimal number"))
}

/// A [`Number`] from a float, spelled with the fewest digits that round-trip (as Go's
/// `strconv`/`big.Float` 'f' -1 formatting does; Rust's `Display` for f64 is the same
/// shortest plain form).
pub(crate) fn number_from_f64(f: f64) -> Result<Number, CodecError> {
    if !f.is_finite() {
        return Err(CodecError::invalid_number(
            "infinite and NaN numbers are not supported",
        ));
    }
    number_from_text(&format!("{f}"))
}

/// True for text that is already a canonical integer (`0`, `42`, `-7`), the common
/// case, which then needs no rewriting.
fn is_canonical_integer(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    match digits.as_bytes() {
        [] => false,
        [b'0'] => digits.len() == text.len(),
        [first, rest @ ..] => (b'1'..=b'9').contains(first) && rest.iter().all(u8::is_ascii_digit),
    }
}

/// Rewrites decimal text (`[+-]digits[.digits][e[+-]digits]`, either side of the point
/// may be empty but not both) into its canonical spelling.
pub(crate) fn canonicalize(text: &str) -> Result<Cow<'_, str>, CodecError> {
    if is_canonical_integer(text) {
        return Ok(Cow::Borrowed(text));
    }
    let (negative, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (int_part.is_empty() && frac_part.is_empty())
        || !all_digits(int_part)
        || !all_digits(frac_part)
    {
        return Err(CodecError::invalid_number("not a decimal number"));
    }
    let exponent = match exponent {
        Some(e) => parse_exponent(e)?,
        None => 0,
    };

    // The significant digits, without leading or trailing zeros; the number is
    // `digits × 10^shift`.
    let mut digits = String::with_capacity(int_part.len() + frac_part.len());
    for b in int_part.bytes().chain(frac_part.bytes()) {
        if !(digits.is_empty() && b == b'0') {
            digits.push(char::from(b));
        }
    }
    if digits.is_empty() {
        return Ok(Cow::Borrowed("0"));
    }
    let significant = digits.trim_end_matches('0').len();
    let trailing_zeros = digits.len() - significant;
    digits.truncate(significant);
    // Input lengths are far below 2^62, so these conversions and sums cannot overflow.
    let shift = exponent - len_i64(frac_part) + len_i64_from(trailing_zeros);

    let mut out = String::with_capacity(digits.len() + 8);
    if negative {
        out.push('-');
    }
    let n = len_i64(&digits);
    if (0..=MAX_PADDING).contains(&shift) {
        out.push_str(&digits);
        push_zeros(&mut out, shift);
    } else if shift < 0 && n + shift > 0 {
        let point = usize::try_from(n + shift).unwrap_or(digits.len());
        out.push_str(&digits[..point]);
        out.push('.');
        out.push_str(&digits[point..]);
    } else if shift < 0 && -(n + shift) <= MAX_PADDING {
        out.push_str("0.");
        push_zeros(&mut out, -(n + shift));
        out.push_str(&digits);
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push_str(&(shift + n - 1).to_string());
    }
    Ok(Cow::Owned(out))
}

fn parse_exponent(text: &str) -> Result<i64, CodecError> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() {
        return Err(CodecError::invalid_number("not a decimal number"));
    }
    let mut value: i64 = 0;
    for b in digits.bytes() {
        if !b.is_ascii_digit() {
            return Err(CodecError::invalid_number("not a decimal number"));
        }
        value = value.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if value > MAX_EXPONENT {
        return Err(CodecError::invalid_number("exponent out of range"));
    }
    Ok(if negative { -value } else { value })
}

fn len_i64(s: &str) -> i64 {
    len_i64_from(s.len())
}

fn len_i64_from(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn push_zeros(out: &mut String, count: i64) {
    for _ in 0..count {
        out.push('0');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        canonicalize(s).unwrap().into_owned()
    }

    fn num(s: &str) -> Number {
        Number::parse(s).unwrap()
    }

    #[test]
    fn canonical_spellings() {
        let cases = [
            ("0", "0"),
            ("-0", "0"),
            ("+0.000", "0"),
            ("0e999999", "0"),
            ("42", "42"),
            ("-42", "-42"),
            ("+42", "42"),
            ("007", "7"),
            ("1.50", "1.5"),
            (".5", "0.5"),
            ("5.", "5"),
            ("1e3", "1000"),
            ("1E+3", "1000"),
            ("1.5e1", "15"),
            ("15e-1", "1.5"),
            ("1e-3", "0.001"),
            ("-0.00120e2", "-0.12"),
            (
                "123456789012345678901234567890",
                "123456789012345678901234567890",
            ),
            ("1e1025", "1e1025"),
            ("1.5e2000", "1.5e2000"),
            ("-25e-2000", "-2.5e-1999"),
        ];
        for (input, want) in cases {
            assert_eq!(canon(input), want, "canonical form of {input:?}");
        }
        let plain_1e400 = canon("1e400");
        assert_eq!(plain_1e400.len(), 401);
        assert!(plain_1e400.starts_with("10000") && plain_1e400.bytes().skip(1).all(|b| b == b'0'));
        assert_eq!(canon("1e1024").len(), 1025);
    }

    #[test]
    fn canonical_form_is_a_fixed_point() {
        for s in ["1e1025", "-2.5e-1999", "0.001", "1000", "123.456"] {
            let once = canon(s);
            assert_eq!(canon(&once), once);
            assert_eq!(Number::parse(&once).unwrap().as_str(), once);
        }
    }

    #[test]
    fn rejects_non_decimals() {
        for bad in [
            "",
            "-",
            "+",
            ".",
            "e5",
            "1e",
            "1e+",
            "1.2.3",
            "abc",
            "0x10",
            "inf",
            "NaN",
            " 1",
            "1e99999999999999999999",
        ] {
            assert!(canonicalize(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn wire_choice_matches_go_cty() {
        assert_eq!(classify(&num("5")).unwrap(), Wire::Int(5));
        assert_eq!(
            classify(&num("-9223372036854775808")).unwrap(),
            Wire::Int(i64::MIN)
        );
        assert_eq!(
            classify(&num("18446744073709551615")).unwrap(),
            Wire::Uint(u64::MAX)
        );
        assert_eq!(classify(&num("1e3")).unwrap(), Wire::Int(1000));
        assert_eq!(classify(&num("0.1")).unwrap(), Wire::Float(0.1));
        assert_eq!(classify(&num("-2.5")).unwrap(), Wire::Float(-2.5));
        assert_eq!(
            classify(&num("18446744073709551616")).unwrap(),
            Wire::Text("18446744073709551616".into())
        );
        // More digits than an f64 holds: must travel as text to keep them.
        assert_eq!(
            classify(&num("0.12345678901234567890123")).unwrap(),
            Wire::Text("0.12345678901234567890123".into())
        );
        assert_eq!(
            classify(&num("1e2000")).unwrap(),
            Wire::Text("1e2000".into())
        );
    }

    #[test]
    fn floats_use_shortest_round_trip_digits() {
        assert_eq!(number_from_f64(0.1).unwrap().as_str(), "0.1");
        assert_eq!(
            number_from_f64(0.1 + 0.2).unwrap().as_str(),
            "0.30000000000000004"
        );
        assert_eq!(
            number_from_f64(1e21).unwrap().as_str(),
            "1000000000000000000000"
        );
        assert_eq!(number_from_f64(-0.0).unwrap().as_str(), "0");
        assert_eq!(
            number_from_f64(f64::from(0.1f32)).unwrap().as_str(),
            "0.10000000149011612"
        );
        assert!(number_from_f64(f64::INFINITY).is_err());
        assert!(number_from_f64(f64::NAN).is_err());
    }
}
