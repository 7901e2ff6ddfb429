//! Terraform-side pieces shared by the provider, its resources and its data source:
//! one definition each of what would otherwise be written once per type.

pub mod account;
pub mod duration;
