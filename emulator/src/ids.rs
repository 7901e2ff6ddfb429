//! Generation and recognition of the identifiers Cloudflare uses.

use rand::RngCore;

/// A new random UUID (the form of app and policy ids).
pub(crate) fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `n` random bytes as lower-case hex (`aud`, `client_id`, secrets).
pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex(&buf)
}

/// Lower-case hex of `data`.
pub(crate) fn hex(data: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(data.len() * 2);
    for b in data {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// A hyphenated UUID such as `f174e90a-fafe-4643-bbbc-4a0ed4fc8415`.
pub(crate) fn is_uuid(s: &str) -> bool {
    s.len() == 36 && uuid::Uuid::parse_str(s).is_ok()
}

/// 32 hex characters (Cloudflare's tag-style identifier, used for account ids).
pub(crate) fn is_hex32(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// An identifier that may appear in an app or policy path segment.
pub(crate) fn is_object_id(s: &str) -> bool {
    is_uuid(s) || is_hex32(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_have_cloudflare_shapes() {
        assert!(is_uuid(&new_uuid()));
        let aud = random_hex(32);
        assert_eq!(aud.len(), 64);
        assert!(aud.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(random_hex(32), aud);
    }

    #[test]
    fn recognises_ids() {
        assert!(is_object_id("023e105f4ecef8ad9ca31a8372d0c353"));
        assert!(is_object_id("f174e90a-fafe-4643-bbbc-4a0ed4fc8415"));
        assert!(!is_object_id("not-an-id"));
        assert!(!is_object_id("f174e90afafe4643bbbc4a0ed4fc8415aa"));
        assert!(!is_uuid("023e105f4ecef8ad9ca31a8372d0c353"));
    }
}
