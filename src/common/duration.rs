//! Durations the API may rewrite (`"24h"` read back as `"1440m"`): the user's spelling
//! is kept while it means the same time, so a rewrite is never a diff.

use crate::tfplugin::validate::parse_go_duration;

/// True when two durations mean the same time (`"24h"` and `"1440m"`).
pub fn same_duration(a: &str, b: &str) -> bool {
    a == b
        || matches!((parse_go_duration(a), parse_go_duration(b)), (Some(x), Some(y)) if (x - y).abs() < 1e-9)
}

/// The API's value, or `basis` (the configuration's or the prior state's spelling)
/// when the API's is only a rewriting of it.
pub fn keep_equivalent_duration(api: Option<&str>, basis: Option<&str>) -> Option<String> {
    match (api, basis) {
        (Some(a), Some(b)) if same_duration(a, b) => Some(b.to_string()),
        (Some(a), _) => Some(a.to_string()),
        (None, _) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_basis_spelling_survives_a_rewrite_and_only_a_rewrite() {
        assert!(same_duration("24h", "1440m"));
        assert!(!same_duration("24h", "12h"));
        assert_eq!(
            keep_equivalent_duration(Some("1440m"), Some("24h")).as_deref(),
            Some("24h")
        );
        assert_eq!(
            keep_equivalent_duration(Some("12h"), Some("24h")).as_deref(),
            Some("12h")
        );
        assert_eq!(
            keep_equivalent_duration(Some("5m"), None).as_deref(),
            Some("5m")
        );
        assert_eq!(keep_equivalent_duration(None, Some("5m")), None);
    }
}
