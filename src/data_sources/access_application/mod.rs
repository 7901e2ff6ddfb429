//! `cfaccess_access_application`: looks up one existing Access application (of any
//! type) by exactly one of `id`, `name` or `domain`, typically a downstream app managed
//! elsewhere that a `cfaccess_linked_app_policy` should target.

mod read;

pub use read::{AccessApplicationDataSource, Lookup, state_for, validate_config};

use crate::common::account::account_id_attribute;
use crate::tfplugin::{Attribute, Field, Schema, Validator};

/// Terraform type name.
pub const TYPE_NAME: &str = "cfaccess_access_application";

/// Attribute names.
pub mod attr {
    pub const ID: &str = "id";
    pub const NAME: &str = "name";
    pub const DOMAIN: &str = "domain";
    pub const ACCOUNT_ID: &str = crate::common::account::ATTRIBUTE;
    pub const UID: &str = "uid";
    pub const TYPE: &str = "type";
    pub const AUD: &str = "aud";
    pub const POLICY_IDS: &str = "policy_ids";
}

/// Schema descriptions, quoted verbatim by `docs/data-sources/access_application.md`.
pub mod descriptions {
    pub const DATA_SOURCE: &str = "Looks up one existing Cloudflare Access application of any type by exactly one of `id`, `name` or `domain` (exact match), for example a self-hosted downstream application managed elsewhere that a `cfaccess_linked_app_policy` should target. Zero or several matches are an error.";
    pub const ID: &str = "ID (UUID) of the application. Set exactly one of `id`, `name` and `domain`; the other two are filled in from the application found.";
    pub const NAME: &str = "Exact name of the application (case-sensitive). Set exactly one of `id`, `name` and `domain`.";
    pub const DOMAIN: &str = "Exact domain of the application, such as `api.example.com` (case-insensitive; a trailing `/` is ignored). Set exactly one of `id`, `name` and `domain`. Applications without a domain (most SaaS applications) cannot be found this way.";
    pub const ACCOUNT_ID: &str = "Cloudflare account ID (32 hexadecimal characters) to search. Defaults to the provider's `account_id`.";
    pub const UID: &str = "The value a Linked App Token rule takes for this application (`linked_app_uids` of `cfaccess_linked_app_policy`); equal to `id`.";
    pub const TYPE: &str = "Application type as the API reports it, such as `self_hosted`, `saas`, `mcp` or `mcp_portal`. Only `self_hosted` applications can be targets of a `cfaccess_linked_app_policy`.";
    pub const AUD: &str = "Audience (AUD) tag of the application: the `aud` claim of the tokens Access issues for it.";
    pub const POLICY_IDS: &str = "IDs of every policy attached to the application, in precedence order (first = evaluated first), whoever manages them.";
}

/// The data source schema.
pub fn schema() -> Schema {
    use descriptions as d;
    Schema::new(
        d::DATA_SOURCE,
        vec![
            Attribute::string(attr::ID)
                .optional_computed()
                .description(d::ID)
                .validator(Validator::Uuid),
            Attribute::string(attr::NAME)
                .optional_computed()
                .description(d::NAME)
                .validator(Validator::NotBlank),
            Attribute::string(attr::DOMAIN)
                .optional_computed()
                .description(d::DOMAIN)
                .validator(Validator::NotBlank),
            account_id_attribute(d::ACCOUNT_ID),
            Attribute::string(attr::UID).computed().description(d::UID),
            Attribute::string(attr::TYPE)
                .computed()
                .description(d::TYPE),
            Attribute::string(attr::AUD).computed().description(d::AUD),
            Attribute::string_list(attr::POLICY_IDS)
                .computed()
                .description(d::POLICY_IDS),
        ],
    )
}

crate::tf_object! {
    /// The data source's configuration and result. `id`, `name` and `domain` are the
    /// lookup keys (exactly one set); the result fills in every attribute.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct AccessApplication {
        pub id: Field<String> = attr::ID,
        pub name: Field<String> = attr::NAME,
        pub domain: Field<String> = attr::DOMAIN,
        pub account_id: Field<String> = attr::ACCOUNT_ID,
        pub uid: Field<String> = attr::UID,
        pub app_type: Field<String> = attr::TYPE,
        pub aud: Field<String> = attr::AUD,
        pub policy_ids: Field<Vec<String>> = attr::POLICY_IDS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tfplugin::bridge::check_against_schema;

    #[test]
    fn schema_is_consistent() {
        assert_eq!(schema().internal_problems(), Vec::<String>::new());
    }

    #[test]
    fn the_model_matches_the_schema() {
        assert_eq!(check_against_schema::<AccessApplication>(&schema()), Ok(()));
    }
}
