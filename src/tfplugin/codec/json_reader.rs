//! A small pull reader over JSON text, shared by the value and type decoders.
//!
//! The decoders are driven by the expected type, so they need tokens rather than a
//! document tree; reading in place also keeps numbers as their exact text (serde_json
//! would round them to f64 unless built with `arbitrary_precision`, which changes
//! behaviour for every crate in the build). Skipping a value is iterative, so ignored
//! attributes cannot exhaust the stack however deeply they nest.

use std::borrow::Cow;

use super::error::CodecError;

const FORMAT: &str = "JSON";

/// A cursor over JSON text.
pub(crate) struct JsonReader<'a> {
    buf: &'a [u8],
    pos: usize,
}

fn malformed(detail: impl Into<String>) -> CodecError {
    CodecError::malformed(FORMAT, detail)
}

impl<'a> JsonReader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        JsonReader { buf, pos: 0 }
    }

    /// Byte offset of the cursor.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    /// The text between two offsets previously returned by [`Self::position`].
    pub(crate) fn slice(&self, start: usize, end: usize) -> &'a [u8] {
        self.buf.get(start..end).unwrap_or_default()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.buf.get(self.pos) {
            self.pos += 1;
        }
    }

    /// The next significant byte, without consuming it.
    pub(crate) fn peek(&mut self) -> Result<u8, CodecError> {
        self.skip_ws();
        self.buf
            .get(self.pos)
            .copied()
            .ok_or_else(|| malformed("unexpected end of input"))
    }

    /// Consumes `b` if it is the next significant byte.
    pub(crate) fn eat(&mut self, b: u8) -> bool {
        self.skip_ws();
        if self.buf.get(self.pos) == Some(&b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Consumes `b` or fails.
    pub(crate) fn expect(&mut self, b: u8) -> Result<(), CodecError> {
        if self.eat(b) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("'{}'", char::from(b))))
        }
    }

    fn unexpected(&mut self, wanted: &str) -> CodecError {
        self.skip_ws();
        match self.buf.get(self.pos) {
            None => malformed(format!("unexpected end of input, expected {wanted}")),
            Some(&b) => malformed(format!(
                "unexpected {} at offset {}, expected {wanted}",
                describe_byte(b),
                self.pos
            )),
        }
    }

    /// Succeeds when only whitespace remains.
    pub(crate) fn finish(&mut self) -> Result<(), CodecError> {
        self.skip_ws();
        if self.pos == self.buf.len() {
            Ok(())
        } else {
            Err(malformed(format!(
                "unexpected trailing data at offset {}",
                self.pos
            )))
        }
    }

    /// The kind of the next value, for type-mismatch messages.
    pub(crate) fn next_kind(&mut self) -> &'static str {
        match self.peek() {
            Ok(b'{') => "object",
            Ok(b'[') => "array",
            Ok(b'"') => "string",
            Ok(b't' | b'f') => "bool",
            Ok(b'n') => "null",
            Ok(b'-' | b'0'..=b'9') => "number",
            _ => "invalid JSON",
        }
    }

    /// Consumes the literal `word` (`true`, `false`, `null`).
    pub(crate) fn literal(&mut self, word: &str) -> Result<(), CodecError> {
        self.skip_ws();
        let end = self.pos + word.len();
        if self.buf.get(self.pos..end) == Some(word.as_bytes()) {
            self.pos = end;
            Ok(())
        } else {
            Err(self.unexpected(word))
        }
    }

    /// Reads `true` or `false`.
    pub(crate) fn boolean(&mut self) -> Result<bool, CodecError> {
        match self.peek()? {
            b't' => self.literal("true").map(|()| true),
            _ => self.literal("false").map(|()| false),
        }
    }

    /// Reads a number, returning its exact text (strict JSON grammar).
    pub(crate) fn number(&mut self) -> Result<&'a str, CodecError> {
        self.skip_ws();
        let start = self.pos;
        let digits = |r: &mut Self| {
            let from = r.pos;
            while r.buf.get(r.pos).is_some_and(u8::is_ascii_digit) {
                r.pos += 1;
            }
            r.pos - from
        };
        if self.buf.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        match self.buf.get(self.pos) {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return Err(self.unexpected("a digit")),
        }
        if self.buf.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if digits(self) == 0 {
                return Err(self.unexpected("a digit after '.'"));
            }
        }
        if let Some(b'e' | b'E') = self.buf.get(self.pos) {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.buf.get(self.pos) {
                self.pos += 1;
            }
            if digits(self) == 0 {
                return Err(self.unexpected("a digit in the exponent"));
            }
        }
        // Only ASCII was consumed, so this cannot fail; the fallback keeps it panic-free.
        std::str::from_utf8(&self.buf[start..self.pos]).map_err(|_| malformed("invalid number"))
    }

    /// Reads a string, borrowing it from the input when it has no escapes.
    pub(crate) fn string(&mut self) -> Result<Cow<'a, str>, CodecError> {
        self.expect(b'"')?;
        let start = self.pos;
        // Fast path: scan to the closing quote; most strings have no escapes.
        loop {
            match self.buf.get(self.pos) {
                None => return Err(malformed("unterminated string")),
                Some(b'"') => {
                    let s = utf8(&self.buf[start..self.pos])?;
                    self.pos += 1;
                    return Ok(Cow::Borrowed(s));
                }
                Some(b'\\') => break,
                Some(&b) if b < 0x20 => return Err(malformed("control character in string")),
                Some(_) => self.pos += 1,
            }
        }
        let mut out = String::with_capacity(self.pos - start + 16);
        out.push_str(utf8(&self.buf[start..self.pos])?);
        loop {
            let run = self.pos;
            while let Some(&b) = self.buf.get(self.pos) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            out.push_str(utf8(&self.buf[run..self.pos])?);
            match self.buf.get(self.pos) {
                None => return Err(malformed("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(Cow::Owned(out));
                }
                Some(b'\\') => {
                    self.pos += 1;
                    self.escape(&mut out)?;
                }
                Some(_) => return Err(malformed("control character in string")),
            }
        }
    }

    /// Decodes one escape sequence (after the backslash) into `out`.
    fn escape(&mut self, out: &mut String) -> Result<(), CodecError> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or_else(|| malformed("unterminated string"))?;
        self.pos += 1;
        let c = match b {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let first = self.hex4()?;
                if (0xD800..0xDC00).contains(&first) {
                    // A high surrogate must be followed by an escaped low surrogate to
                    // form one character; otherwise it is replaced, as Go's decoder does.
                    let save = self.pos;
                    if self.buf.get(self.pos..self.pos + 2) == Some(b"\\u") {
                        self.pos += 2;
                        let second = self.hex4()?;
                        if (0xDC00..0xE000).contains(&second) {
                            let code = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
                            out.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
                            return Ok(());
                        }
                        self.pos = save;
                    }
                    '\u{FFFD}'
                } else {
                    char::from_u32(first).unwrap_or('\u{FFFD}')
                }
            }
            other => {
                return Err(malformed(format!(
                    "invalid escape {} in string",
                    describe_byte(other)
                )));
            }
        };
        out.push(c);
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, CodecError> {
        let digits = self
            .buf
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| malformed("truncated \\u escape"))?;
        let mut v = 0u32;
        for &d in digits {
            let n = char::from(d)
                .to_digit(16)
                .ok_or_else(|| malformed("invalid \\u escape"))?;
            v = v * 16 + n;
        }
        self.pos += 4;
        Ok(v)
    }

    /// Skips one complete value of any shape, checking its syntax.
    pub(crate) fn skip_value(&mut self) -> Result<(), CodecError> {
        // Open containers, innermost last: b'[' or b'{'.
        let mut open: Vec<u8> = Vec::new();
        loop {
            // Expecting a value.
            match self.peek()? {
                b'{' => {
                    self.pos += 1;
                    if !self.eat(b'}') {
                        open.push(b'{');
                        self.string()?;
                        self.expect(b':')?;
                        continue;
                    }
                }
                b'[' => {
                    self.pos += 1;
                    if !self.eat(b']') {
                        open.push(b'[');
                        continue;
                    }
                }
                b'"' => {
                    self.string()?;
                }
                b't' => self.literal("true")?,
                b'f' => self.literal("false")?,
                b'n' => self.literal("null")?,
                _ => {
                    self.number()?;
                }
            }
            // A value is complete: close containers until one wants another value.
            loop {
                let Some(&container) = open.last() else {
                    return Ok(());
                };
                if self.eat(b',') {
                    if container == b'{' {
                        self.string()?;
                        self.expect(b':')?;
                    }
                    break;
                }
                let close = if container == b'{' { b'}' } else { b']' };
                self.expect(close)?;
                open.pop();
            }
        }
    }
}

fn utf8(bytes: &[u8]) -> Result<&str, CodecError> {
    std::str::from_utf8(bytes).map_err(|_| malformed("string is not valid UTF-8"))
}

fn describe_byte(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("'{}'", char::from(b))
    } else {
        format!("byte 0x{b:02x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_with_and_without_escapes() {
        let mut r = JsonReader::new(br#" "plain" "a\"b\\c\/\n\u00e9\ud83d\ude00" "\ud800x""#);
        assert!(matches!(r.string().unwrap(), Cow::Borrowed("plain")));
        assert_eq!(r.string().unwrap(), "a\"b\\c/\n\u{e9}\u{1F600}");
        assert_eq!(r.string().unwrap(), "\u{FFFD}x");
        r.finish().unwrap();
        for bad in [
            &b"\"abc"[..],
            b"\"a\\x\"",
            b"\"\x01\"",
            b"\"\\u12\"",
            b"\"\xff\"",
        ] {
            assert!(JsonReader::new(bad).string().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn numbers_keep_their_text() {
        let mut r = JsonReader::new(b"123456789012345678901234567890 -0.5e-10 1E+400");
        assert_eq!(r.number().unwrap(), "123456789012345678901234567890");
        assert_eq!(r.number().unwrap(), "-0.5e-10");
        assert_eq!(r.number().unwrap(), "1E+400");
        for bad in ["-", "01", "1.", ".5", "1e", "+1"] {
            let mut r = JsonReader::new(bad.as_bytes());
            let ok = r.number().is_ok() && r.finish().is_ok();
            assert!(!ok, "{bad:?} must be refused");
        }
    }

    #[test]
    fn skips_nested_values_without_recursion() {
        let mut r = JsonReader::new(br#"{"a":[1,{"b":null},"x"],"c":{}} 7"#);
        r.skip_value().unwrap();
        assert_eq!(r.number().unwrap(), "7");
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        let mut r = JsonReader::new(deep.as_bytes());
        r.skip_value().unwrap();
        r.finish().unwrap();
        for bad in ["[1,]", "{\"a\" 1}", "[1 2]", "{1:2}", "[", "{\"a\":1,}"] {
            assert!(
                JsonReader::new(bad.as_bytes()).skip_value().is_err(),
                "{bad:?}"
            );
        }
    }
}
