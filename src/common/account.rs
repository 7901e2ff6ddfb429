//! The `account_id` attribute, which the provider and every resource and data source
//! take.

use crate::cloudflare::AccountId;
use crate::tfplugin::{Attribute, AttributePath, Diagnostics, PlanModifier, Validator, Value};

/// Name of the attribute in every schema that has it.
pub const ATTRIBUTE: &str = "account_id";

/// The optional `account_id` attribute, validated, that defaults to the provider's
/// (what the data source takes).
pub fn account_id_attribute(description: &str) -> Attribute {
    Attribute::string(ATTRIBUTE)
        .optional_computed()
        .description(description)
        .validator(Validator::Custom(validate_account_id))
}

/// Description of a resource's `account_id` (the docs quote it verbatim).
pub const RESOURCE_DESCRIPTION: &str = "Cloudflare account ID (32 hexadecimal characters). Defaults to the provider's `account_id`. Changing it forces replacement.";

/// A resource's `account_id` attribute: as [`account_id_attribute`], kept from state
/// while the configuration leaves it unknown, and changing it forces replacement
/// (an object cannot move between accounts).
pub fn replacing_account_id_attribute() -> Attribute {
    account_id_attribute(RESOURCE_DESCRIPTION)
        .plan_modifier(PlanModifier::UseStateForUnknown)
        .plan_modifier(PlanModifier::RequiresReplace)
}

/// True for a Cloudflare account identifier (see [`AccountId::parse`]).
pub fn is_account_id(s: &str) -> bool {
    AccountId::parse(s).is_ok()
}

/// Attribute validator of every `account_id`: a known value must be an account ID.
pub fn validate_account_id(v: &Value, path: &AttributePath, diags: &mut Diagnostics) {
    if let Some(s) = v.as_str()
        && !is_account_id(s)
    {
        diags.attr_error(
            path.clone(),
            "Invalid account ID",
            format!(
                "Attribute {path} must be a Cloudflare account ID: 32 hexadecimal characters, as \
                 shown in the dashboard URL; got {s:?}."
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_are_32_hex_characters_with_the_path_in_the_error() {
        assert!(is_account_id("023e105f4ecef8ad9ca31a8372d0c353"));
        assert!(!is_account_id("023e105f4ecef8ad9ca31a8372d0c35"));
        assert!(!is_account_id("023e105f4ecef8ad9ca31a8372d0c35g"));
        let mut diags = Diagnostics::new();
        let path = AttributePath::root("account_id");
        validate_account_id(&Value::Unknown, &path, &mut diags);
        validate_account_id(&Value::Null, &path, &mut diags);
        assert!(diags.is_empty());
        validate_account_id(&Value::string("acc"), &path, &mut diags);
        assert_eq!(diags.0.len(), 1);
        assert_eq!(diags.0[0].attribute, Some(path));
        assert!(diags.0[0].detail.contains("\"acc\""));
    }
}
