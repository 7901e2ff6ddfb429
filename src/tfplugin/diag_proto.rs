//! Diagnostics and attribute paths to and from their tfplugin6 messages.

use super::codec::CodecError;
use super::diag::{AttributePath, Diagnostic, Diagnostics, PathStep, Severity};
use super::proto::tfplugin6 as pb;

/// The wire form of every diagnostic, in order.
pub fn diagnostics_to_proto(diags: &Diagnostics) -> Vec<pb::Diagnostic> {
    diags.iter().map(diagnostic_to_proto).collect()
}

/// The wire form of one diagnostic.
pub fn diagnostic_to_proto(d: &Diagnostic) -> pb::Diagnostic {
    let severity = match d.severity {
        Severity::Error => pb::diagnostic::Severity::Error,
        Severity::Warning => pb::diagnostic::Severity::Warning,
    };
    pb::Diagnostic {
        severity: severity as i32,
        summary: d.summary.clone(),
        detail: d.detail.clone(),
        // An empty path would make Terraform point at the whole block; leave it out.
        attribute: d
            .attribute
            .as_ref()
            .filter(|p| !p.is_empty())
            .map(path_to_proto),
    }
}

/// The wire form of an attribute path.
pub fn path_to_proto(path: &AttributePath) -> pb::AttributePath {
    use pb::attribute_path::{Step, step::Selector};
    let steps = path
        .0
        .iter()
        .map(|step| Step {
            selector: Some(match step {
                PathStep::Attribute(name) => Selector::AttributeName(name.clone()),
                PathStep::Key(key) => Selector::ElementKeyString(key.clone()),
                PathStep::Index(i) => Selector::ElementKeyInt(*i),
            }),
        })
        .collect();
    pb::AttributePath { steps }
}

/// An attribute path read back from the wire; steps without a selector are skipped.
pub fn path_from_proto(path: &pb::AttributePath) -> AttributePath {
    use pb::attribute_path::step::Selector;
    AttributePath(
        path.steps
            .iter()
            .filter_map(|s| s.selector.as_ref())
            .map(|sel| match sel {
                Selector::AttributeName(name) => PathStep::Attribute(name.clone()),
                Selector::ElementKeyString(key) => PathStep::Key(key.clone()),
                Selector::ElementKeyInt(i) => PathStep::Index(*i),
            })
            .collect(),
    )
}

/// A diagnostic read back from the wire (used by clients and tests).
pub fn diagnostic_from_proto(d: &pb::Diagnostic) -> Diagnostic {
    let severity = if d.severity == pb::diagnostic::Severity::Warning as i32 {
        Severity::Warning
    } else {
        Severity::Error
    };
    Diagnostic {
        severity,
        summary: d.summary.clone(),
        detail: d.detail.clone(),
        attribute: d.attribute.as_ref().map(path_from_proto),
    }
}

/// An error diagnostic for a value that could not be decoded or encoded, pointing at
/// the attribute where the codec failed. `what` names the value (`"configuration"`,
/// `"prior state"`…) so the user knows which input was at fault.
pub fn codec_error(what: &str, err: &CodecError) -> Diagnostic {
    let path = err.path();
    Diagnostic {
        severity: Severity::Error,
        summary: format!("Invalid {what}"),
        detail: format!(
            "The provider could not process the {what} it received or produced: {err}. \
             This is a bug in the provider or an incompatible Terraform version; please \
             report it."
        ),
        attribute: (!path.is_empty()).then(|| path.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip_through_the_wire_form() {
        let path = AttributePath::root("saas").attr("redirect_uris").index(2);
        let wire = path_to_proto(&path);
        assert_eq!(wire.steps.len(), 3);
        assert_eq!(path_from_proto(&wire), path);
        let keyed = AttributePath::root("tags").key("env");
        assert_eq!(path_from_proto(&path_to_proto(&keyed)), keyed);
    }

    #[test]
    fn severities_and_paths_are_carried() {
        let mut diags = Diagnostics::new();
        diags.attr_error(AttributePath::root("account_id"), "Bad", "detail");
        diags.warning("Careful", "");
        let wire = diagnostics_to_proto(&diags);
        assert_eq!(wire[0].severity, pb::diagnostic::Severity::Error as i32);
        assert_eq!(wire[0].summary, "Bad");
        assert_eq!(wire[0].detail, "detail");
        assert!(wire[0].attribute.is_some());
        assert_eq!(wire[1].severity, pb::diagnostic::Severity::Warning as i32);
        assert!(wire[1].attribute.is_none());
        let back: Vec<Diagnostic> = wire.iter().map(diagnostic_from_proto).collect();
        assert_eq!(back, diags.0);
    }
}
