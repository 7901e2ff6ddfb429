//! [`Field`]: one attribute's value as Terraform holds it — null, unknown, or known.
//!
//! Terraform distinguishes an attribute the configuration leaves out (null) from one
//! whose value is decided only at apply (unknown). `Option` cannot say both, and
//! collapsing them is how providers plan spurious diffs, so models hold every attribute
//! as a `Field`, like terraform-plugin-framework's `types.String`.

/// A tri-state attribute value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Field<T> {
    /// Not set (left out of the configuration, or absent in state).
    #[default]
    Null,
    /// Not known until apply.
    Unknown,
    /// A known value.
    Known(T),
}

impl<T> Field<T> {
    /// True when null.
    pub fn is_null(&self) -> bool {
        matches!(self, Field::Null)
    }

    /// True when unknown.
    pub fn is_unknown(&self) -> bool {
        matches!(self, Field::Unknown)
    }

    /// True when known.
    pub fn is_known(&self) -> bool {
        matches!(self, Field::Known(_))
    }

    /// The known value, if any.
    pub fn known(&self) -> Option<&T> {
        match self {
            Field::Known(v) => Some(v),
            _ => None,
        }
    }

    /// Mutable access to the known value, if any.
    pub fn known_mut(&mut self) -> Option<&mut T> {
        match self {
            Field::Known(v) => Some(v),
            _ => None,
        }
    }

    /// The known value, if any, by value.
    pub fn into_known(self) -> Option<T> {
        match self {
            Field::Known(v) => Some(v),
            _ => None,
        }
    }

    /// Borrows the inside: `&Field<T>` → `Field<&T>`.
    pub fn as_ref(&self) -> Field<&T> {
        match self {
            Field::Null => Field::Null,
            Field::Unknown => Field::Unknown,
            Field::Known(v) => Field::Known(v),
        }
    }

    /// Maps a known value, keeping null and unknown.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Field<U> {
        match self {
            Field::Null => Field::Null,
            Field::Unknown => Field::Unknown,
            Field::Known(v) => Field::Known(f(v)),
        }
    }

    /// This field when it is known or unknown, otherwise (null) `other`: how a
    /// default fills an attribute the configuration leaves out.
    pub fn or(self, other: Field<T>) -> Field<T> {
        match self {
            Field::Null => other,
            set => set,
        }
    }
}

impl<T: Default> Field<T> {
    /// The known value or `T::default()` (null and unknown alike).
    pub fn known_or_default(self) -> T {
        self.into_known().unwrap_or_default()
    }
}

impl Field<String> {
    /// The known string, borrowed.
    pub fn as_str(&self) -> Option<&str> {
        self.known().map(String::as_str)
    }
}

impl<T> From<Option<T>> for Field<T> {
    /// `Some` is known, `None` null (never unknown).
    fn from(v: Option<T>) -> Self {
        v.map_or(Field::Null, Field::Known)
    }
}

impl From<&str> for Field<String> {
    fn from(v: &str) -> Self {
        Field::Known(v.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_states_stay_apart() {
        let null: Field<u32> = Field::Null;
        let unknown: Field<u32> = Field::Unknown;
        let known = Field::Known(7);
        assert!(null.is_null() && !null.is_unknown() && !null.is_known());
        assert!(unknown.is_unknown() && !unknown.is_null() && !unknown.is_known());
        assert_eq!(known.known(), Some(&7));
        assert_eq!(unknown.clone().map(|v| v + 1), Field::Unknown);
        assert_eq!(known.clone().map(|v| v + 1), Field::Known(8));
        // A default fills only what is null: an unknown stays unknown.
        assert_eq!(null.clone().or(Field::Known(1)), Field::Known(1));
        assert_eq!(unknown.clone().or(Field::Known(1)), Field::Unknown);
        assert_eq!(known.clone().or(Field::Known(1)), Field::Known(7));
        assert_eq!(Field::from(None::<u32>), Field::Null);
        assert_eq!(Field::from(Some(3)), Field::Known(3));
        assert_eq!(unknown.known_or_default(), 0);
    }
}
