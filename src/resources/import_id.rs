//! Import ids: `<account_id>/<object_id>` or `<object_id>`, the same for every
//! resource.

use crate::tfplugin::Diagnostics;

/// Parses an import id of the form `<account_id>/<object_id>` or `<object_id>`.
/// Returns `(account_id, object_id)`; `None` account = the provider's default.
pub fn parse(id: &str, example_kind: &str) -> Result<(Option<String>, String), Diagnostics> {
    let bad = || {
        let mut d = Diagnostics::new();
        d.error(
            "Invalid import ID",
            format!(
                "Expected \"<account_id>/<{example_kind}_id>\" or \"<{example_kind}_id>\" (the {example_kind} UUID, with the provider's account), got {id:?}."
            ),
        );
        d
    };
    let parts: Vec<&str> = id.trim().split('/').collect();
    let (account, object) = match parts.as_slice() {
        [object] => (None, *object),
        [account, object] => (Some(account.to_string()), *object),
        _ => return Err(bad()),
    };
    if !crate::tfplugin::validate::is_uuid(object) {
        return Err(bad());
    }
    if let Some(acc) = &account
        && !crate::common::account::is_account_id(acc)
    {
        return Err(bad());
    }
    Ok((account, object.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_ids() {
        let app = "6cdc3892-f9f1-4813-a5ce-38c2753e1208";
        assert_eq!(parse(app, "app").ok(), Some((None, app.to_string())));
        let with_acc = format!("023e105f4ecef8ad9ca31a8372d0c353/{app}");
        assert_eq!(
            parse(&with_acc, "app").ok(),
            Some((
                Some("023e105f4ecef8ad9ca31a8372d0c353".to_string()),
                app.to_string()
            ))
        );
        for bad in [
            "",
            "x",
            "a/b/c",
            "accounts/023e105f4ecef8ad9ca31a8372d0c353/6cdc3892-f9f1-4813-a5ce-38c2753e1208",
        ] {
            assert!(parse(bad, "app").is_err(), "{bad}");
        }
    }
}
