//! Errors of the value codec.
//!
//! Every error carries the attribute path at which decoding or encoding failed, so the
//! protocol layer can point a diagnostic at it. Paths are built only when an error
//! unwinds (each level prepends its step), so the success path pays nothing for them.
//! Messages never quote values: a value may be a secret.

use std::fmt;

use crate::tfplugin::diag::{AttributePath, PathStep};
use crate::tfplugin::value::Type;

/// Why a value or type could not be decoded or encoded.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The bytes are not well-formed msgpack or JSON.
    #[error("{}malformed {format}: {detail}", at(path))]
    Malformed {
        path: AttributePath,
        format: &'static str,
        detail: String,
    },
    /// A value does not have the shape its type requires.
    #[error("{}expected {expected}, got {got}", at(path))]
    TypeMismatch {
        path: AttributePath,
        expected: String,
        got: String,
    },
    /// An object arrived without exactly one entry per attribute (msgpack is strict here).
    #[error(
        "{}an object with {expected} attributes is required ({got} given)",
        at(path)
    )]
    AttributeCount {
        path: AttributePath,
        expected: usize,
        got: usize,
    },
    /// An object carries an attribute its type does not declare.
    #[error("{}unsupported attribute {name:?}", at(path))]
    UnsupportedAttribute { path: AttributePath, name: String },
    /// An object names the same attribute twice.
    #[error("{}duplicate attribute {name:?}", at(path))]
    DuplicateAttribute { path: AttributePath, name: String },
    /// A tuple has the wrong number of elements.
    #[error("{}a tuple of {expected} elements is required ({got} given)", at(path))]
    TupleLength {
        path: AttributePath,
        expected: usize,
        got: usize,
    },
    /// A number is not a finite decimal this codec can carry.
    #[error("{}invalid number: {reason}", at(path))]
    InvalidNumber {
        path: AttributePath,
        reason: &'static str,
    },
    /// JSON has no representation for unknown values.
    #[error(
        "{}value is not known yet, and JSON cannot carry unknown values",
        at(path)
    )]
    UnknownInJson { path: AttributePath },
    /// A type description (schema type JSON) is invalid.
    #[error("{}invalid type description: {detail}", at(path))]
    InvalidType { path: AttributePath, detail: String },
    /// The concrete type of a value for a `dynamic` type cannot be worked out.
    #[error("{}cannot infer the type of a dynamic value: {detail}", at(path))]
    UninferableDynamic {
        path: AttributePath,
        detail: &'static str,
    },
    /// Nesting exceeds [`super::MAX_DEPTH`]; refused so hostile input cannot exhaust the stack.
    #[error("{}nesting deeper than {limit} levels", at(path))]
    TooDeep { path: AttributePath, limit: usize },
    /// A string, collection or extension is longer than msgpack can describe.
    #[error("{}value too large to encode", at(path))]
    TooLarge { path: AttributePath },
}

/// The `path` field every variant has, borrowed as `$e` is (shared or mutable).
macro_rules! path_of {
    ($e:expr) => {
        match $e {
            CodecError::Malformed { path, .. }
            | CodecError::TypeMismatch { path, .. }
            | CodecError::AttributeCount { path, .. }
            | CodecError::UnsupportedAttribute { path, .. }
            | CodecError::DuplicateAttribute { path, .. }
            | CodecError::TupleLength { path, .. }
            | CodecError::InvalidNumber { path, .. }
            | CodecError::UnknownInJson { path }
            | CodecError::InvalidType { path, .. }
            | CodecError::UninferableDynamic { path, .. }
            | CodecError::TooDeep { path, .. }
            | CodecError::TooLarge { path } => path,
        }
    };
}

impl CodecError {
    /// Where in the value the problem is (empty for the value as a whole).
    pub fn path(&self) -> &AttributePath {
        path_of!(self)
    }

    /// `Ok` if a tuple has as many elements (`got`) as its type (`expected`), else a
    /// [`CodecError::TupleLength`] at the tuple itself.
    pub(crate) fn check_tuple_length(expected: usize, got: usize) -> Result<(), Self> {
        if expected == got {
            return Ok(());
        }
        Err(CodecError::TupleLength {
            path: Default::default(),
            expected,
            got,
        })
    }

    fn path_mut(&mut self) -> &mut AttributePath {
        path_of!(self)
    }

    /// Prepends `step` to the error's path; called by each enclosing level as the error
    /// travels outwards.
    pub(crate) fn within(mut self, step: PathStep) -> Self {
        self.path_mut().0.insert(0, step);
        self
    }

    /// Prepends an attribute step.
    pub(crate) fn in_attr(self, name: &str) -> Self {
        self.within(PathStep::Attribute(name.to_string()))
    }

    /// Prepends an index step.
    pub(crate) fn in_index(self, i: usize) -> Self {
        self.within(PathStep::Index(i64::try_from(i).unwrap_or(i64::MAX)))
    }

    /// Prepends the step to element `i` of a collection or tuple of type `ty`. Set
    /// elements have no index Terraform could resolve (a set is unordered, and the
    /// protocol's paths cannot name an element by value), so an error inside a set
    /// points at the set itself, as Terraform's own SDKs do.
    pub(crate) fn in_element_of(self, ty: &Type, i: usize) -> Self {
        if matches!(ty, Type::Set(_)) {
            self
        } else {
            self.in_index(i)
        }
    }

    /// Prepends a map-key step.
    pub(crate) fn in_key(self, key: &str) -> Self {
        self.within(PathStep::Key(key.to_string()))
    }

    pub(crate) fn malformed(format: &'static str, detail: impl Into<String>) -> Self {
        CodecError::Malformed {
            path: AttributePath::default(),
            format,
            detail: detail.into(),
        }
    }

    pub(crate) fn mismatch(expected: String, got: impl Into<String>) -> Self {
        CodecError::TypeMismatch {
            path: AttributePath::default(),
            expected,
            got: got.into(),
        }
    }

    pub(crate) fn invalid_type(detail: impl Into<String>) -> Self {
        CodecError::InvalidType {
            path: AttributePath::default(),
            detail: detail.into(),
        }
    }

    pub(crate) fn invalid_number(reason: &'static str) -> Self {
        CodecError::InvalidNumber {
            path: AttributePath::default(),
            reason,
        }
    }

    pub(crate) fn too_deep() -> Self {
        CodecError::TooDeep {
            path: AttributePath::default(),
            limit: super::MAX_DEPTH,
        }
    }

    pub(crate) fn too_large() -> Self {
        CodecError::TooLarge {
            path: AttributePath::default(),
        }
    }
}

/// `"at .a.b[2]: "` for a non-empty path, nothing for the root.
fn at(path: &AttributePath) -> String {
    if path.is_empty() {
        return String::new();
    }
    let mut out = String::from("at ");
    // Writing into a String cannot fail.
    let _ = write_path(&mut out, path);
    out.push_str(": ");
    out
}

/// Renders a path as `.saas.grant_types[2]` / `.tags["env"]`: unlike
/// [`AttributePath`]'s own display, every attribute step starts with a dot, which reads
/// unambiguously inside a sentence.
fn write_path(out: &mut impl fmt::Write, path: &AttributePath) -> fmt::Result {
    for step in &path.0 {
        match step {
            PathStep::Attribute(a) => write!(out, ".{a}")?,
            PathStep::Key(k) => write!(out, "[{k:?}]")?,
            PathStep::Index(i) => write!(out, "[{i}]")?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_the_path() {
        let e = CodecError::mismatch("string".into(), "integer")
            .in_index(2)
            .in_attr("grant_types")
            .in_attr("saas");
        crate::tfplugin::codec::tests::assert_third_grant_type_is_not_a_string(&e);
    }

    #[test]
    fn root_errors_have_no_location_prefix() {
        let e = CodecError::mismatch("bool".into(), "string");
        assert_eq!(e.to_string(), "expected bool, got string");
        let e = CodecError::too_deep().in_key("k");
        assert_eq!(
            e.to_string(),
            format!(
                "at [\"k\"]: nesting deeper than {} levels",
                super::super::MAX_DEPTH
            )
        );
    }
}
