//! Application domains as Access compares them.

/// The form in which two application domains are compared: surrounding white space
/// and a trailing `/` dropped, lowercased (hostnames are case-insensitive, and the
/// API echoes a domain with or without the slash it was sent with).
pub fn domain_key(domain: &str) -> String {
    domain.trim().trim_end_matches('/').to_ascii_lowercase()
}

/// True when `a` and `b` name the same application domain (see [`domain_key`]).
pub fn same_domain(a: &str, b: &str) -> bool {
    domain_key(a) == domain_key(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_white_space_and_a_trailing_slash_do_not_count() {
        assert_eq!(domain_key(" Wiki.Example.COM/ "), "wiki.example.com");
        assert!(same_domain("wiki.example.com", "WIKI.example.com/"));
        assert!(!same_domain("wiki.example.com", "wiki.example.com/docs"));
        assert!(!same_domain("wiki.example.com", "wiki.example.org"));
    }
}
