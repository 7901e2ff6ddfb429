//! Validation and normalisation of request bodies: what the API accepts, the defaults it
//! fills in, and the error it answers otherwise. Pure functions; account-level checks
//! (existence of referenced objects) live in the store.

pub(crate) mod app_body;
pub(crate) mod fields;
pub(crate) mod policy_body;
pub(crate) mod rules;
