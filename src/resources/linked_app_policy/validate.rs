//! Validation of a configuration before any plan: the attribute validators the schema
//! names, and the cross-attribute checks of [`config`].

use std::collections::BTreeSet;

use super::{NON_IDENTITY, attr};
use crate::tfplugin::{AttributePath, Diagnostics, Value};

/// `decision`: only `non_identity`.
pub(super) fn decision(v: &Value, path: &AttributePath, diags: &mut Diagnostics) {
    if let Some(s) = v.as_str()
        && s != NON_IDENTITY
    {
        diags.attr_error(
            path.clone(),
            "Unsupported decision for a Linked App Token policy",
            format!(
                "Attribute {path} must be \"non_identity\"; got {s:?}. Linked App Token rules work only \
                 with Service Auth (decision \"non_identity\"): with any other decision Cloudflare Access \
                 never accepts the forwarded token. Omit {path} or set it to \"non_identity\"."
            ),
        );
    }
}

/// `precedence`: a whole number that fits the API's position (the `AtLeast(1)`
/// validator reports what is below 1).
pub(super) fn precedence_integer(v: &Value, path: &AttributePath, diags: &mut Diagnostics) {
    if let Value::Number(n) = v
        && n.as_i64().is_none_or(|i| u32::try_from(i).is_err())
        && n.as_f64().is_some_and(|f| f >= 1.0)
    {
        diags.attr_error(
            path.clone(),
            "Invalid precedence",
            format!(
                "Attribute {path} must be a whole number between 1 and {}; got {n}.",
                u32::MAX
            ),
        );
    }
}

/// Cross-attribute checks of a configuration that may hold unknowns (known values
/// only).
pub(super) fn config(config: &Value, diags: &mut Diagnostics) {
    overlap(
        &known_members(config, attr::TARGET_APP_IDS),
        &known_members(config, attr::LINKED_APP_UIDS),
        diags,
    );
    if config.get(attr::PRECEDENCE).is_some_and(|p| !p.is_null())
        && config.get(attr::TARGET_APP_IDS).is_some_and(Value::is_null)
    {
        diags.attr_warning(
            AttributePath::root(attr::PRECEDENCE),
            "precedence has no effect",
            "precedence positions the policy on the applications in target_app_ids; without \
             target_app_ids this resource attaches the policy nowhere.",
        );
    }
}

/// The known members of set attribute `name` of `v` (unknown elements skipped).
pub(super) fn known_members(v: &Value, name: &str) -> BTreeSet<String> {
    v.get(name)
        .map(Value::known_strings)
        .unwrap_or_default()
        .into_iter()
        .collect()
}

/// A downstream app that is also a linked app would accept its own tokens: a
/// configuration mistake.
pub(super) fn overlap(
    targets: &BTreeSet<String>,
    linked: &BTreeSet<String>,
    diags: &mut Diagnostics,
) {
    for id in targets.intersection(linked) {
        diags.attr_error(
            AttributePath::root(attr::TARGET_APP_IDS),
            "Target is also a linked application",
            format!(
                "Application {id} is listed in both target_app_ids and linked_app_uids. target_app_ids \
                 are the downstream applications the MCP server calls; linked_app_uids are the MCP server \
                 applications whose tokens they accept. An application cannot be both."
            ),
        );
    }
}
