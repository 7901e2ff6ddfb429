//! The emulated Access edge for the Linked App Token flow check (spec §4, §6, §11 #22):
//! it issues RS256 user JWTs for an app, publishes its keys, and decides whether a
//! request to a self-hosted app is admitted by the app's attached policies.

mod evaluate;
mod jwt;

pub(crate) use evaluate::{EdgeDecision, evaluate};
pub(crate) use jwt::{ISSUER, Signer, subject_for};
