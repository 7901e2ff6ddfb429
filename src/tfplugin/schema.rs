//! Schemas declared as data: every attribute carries its description, its mode, its
//! validators and its plan modifiers side by side, as in terraform-plugin-framework.

use std::collections::BTreeMap;

use super::diag::{AttributePath, Diagnostics};
use super::value::{Type, Value};

/// Whether the user sets an attribute, the provider does, or both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Required,
    Optional,
    Computed,
    OptionalComputed,
}

impl Mode {
    pub fn required(self) -> bool {
        self == Mode::Required
    }
    pub fn optional(self) -> bool {
        matches!(self, Mode::Optional | Mode::OptionalComputed)
    }
    pub fn computed(self) -> bool {
        matches!(self, Mode::Computed | Mode::OptionalComputed)
    }
}

/// How a nested attribute nests its object(s).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nesting {
    Single,
    List,
    Set,
    Map,
}

/// The type of an attribute: a plain cty type, or nested attributes (`nested_type`).
#[derive(Clone, Debug)]
pub enum AttrType {
    Plain(Type),
    Nested {
        nesting: Nesting,
        attributes: Vec<Attribute>,
    },
}

/// Plan-time behaviour attached to an attribute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlanModifier {
    /// On update, a computed value that would become unknown keeps its prior value.
    UseStateForUnknown,
    /// A change of this attribute (prior vs planned) replaces the resource.
    RequiresReplace,
}

/// A check of a known configuration value. Unknown values (and unknown elements of
/// collections) are never checked: they come from other resources and are checked
/// again once known.
#[derive(Clone)]
pub enum Validator {
    /// The string must be one of these values.
    OneOf(Vec<&'static str>),
    /// The string must be a UUID (8-4-4-4-12 hex).
    Uuid,
    /// Every known element of the collection must be a UUID.
    EachUuid,
    /// The string must be a Go-style duration (`30m`, `24h`, `1h30m`) within bounds in seconds.
    Duration { min_secs: u64, max_secs: u64 },
    /// The string must not be empty (after trimming).
    NotBlank,
    /// The collection must have at least this many elements.
    SizeAtLeast(usize),
    /// Every known element of the collection must be one of these values.
    EachOneOf(Vec<&'static str>),
    /// A list must not hold the same known value twice.
    UniqueElements,
    /// The integer must be at least this.
    AtLeast(i64),
    /// Anything else: a function that adds diagnostics for a known value at a path.
    Custom(fn(&Value, &AttributePath, &mut Diagnostics)),
}

impl std::fmt::Debug for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Validator::OneOf(v) => write!(f, "OneOf({v:?})"),
            Validator::Uuid => f.write_str("Uuid"),
            Validator::EachUuid => f.write_str("EachUuid"),
            Validator::Duration { min_secs, max_secs } => {
                write!(f, "Duration({min_secs}..={max_secs})")
            }
            Validator::NotBlank => f.write_str("NotBlank"),
            Validator::SizeAtLeast(n) => write!(f, "SizeAtLeast({n})"),
            Validator::EachOneOf(v) => write!(f, "EachOneOf({v:?})"),
            Validator::UniqueElements => f.write_str("UniqueElements"),
            Validator::AtLeast(n) => write!(f, "AtLeast({n})"),
            Validator::Custom(_) => f.write_str("Custom"),
        }
    }
}

/// One attribute of a schema.
#[derive(Clone, Debug)]
pub struct Attribute {
    pub name: String,
    pub ty: AttrType,
    pub description: String,
    pub mode: Mode,
    pub sensitive: bool,
    pub deprecated: Option<String>,
    pub plan_modifiers: Vec<PlanModifier>,
    pub validators: Vec<Validator>,
    /// Declared to Terraform as a nested *block* (`saas { … }`) instead of a nested
    /// attribute (`saas = { … }`). Terraform 1.0.3 panics while planning a create when
    /// a resource has a single nested *attribute* (`objchange.proposedNewNestedType`
    /// reads attributes of the null prior object), so nested values that must work on
    /// 1.0.x are blocks. The value shape (object or null) is the same either way.
    pub block: bool,
}

impl Attribute {
    fn new(name: &str, ty: AttrType) -> Self {
        Attribute {
            name: name.to_string(),
            ty,
            description: String::new(),
            mode: Mode::Optional,
            sensitive: false,
            deprecated: None,
            plan_modifiers: Vec::new(),
            validators: Vec::new(),
            block: false,
        }
    }

    /// A string attribute.
    pub fn string(name: &str) -> Self {
        Self::new(name, AttrType::Plain(Type::String))
    }
    /// A bool attribute.
    pub fn bool(name: &str) -> Self {
        Self::new(name, AttrType::Plain(Type::Bool))
    }
    /// A number attribute.
    pub fn number(name: &str) -> Self {
        Self::new(name, AttrType::Plain(Type::Number))
    }
    /// A set of strings.
    pub fn string_set(name: &str) -> Self {
        Self::new(name, AttrType::Plain(Type::set(Type::String)))
    }
    /// A list of strings.
    pub fn string_list(name: &str) -> Self {
        Self::new(name, AttrType::Plain(Type::list(Type::String)))
    }
    /// Any plain cty type.
    pub fn typed(name: &str, ty: Type) -> Self {
        Self::new(name, AttrType::Plain(ty))
    }
    /// A nested attribute (`nested_type`) holding `attributes`.
    pub fn nested(name: &str, nesting: Nesting, attributes: Vec<Attribute>) -> Self {
        Self::new(
            name,
            AttrType::Nested {
                nesting,
                attributes,
            },
        )
    }

    pub fn required(self) -> Self {
        self.with_mode(Mode::Required)
    }
    pub fn optional(self) -> Self {
        self.with_mode(Mode::Optional)
    }
    pub fn computed(self) -> Self {
        self.with_mode(Mode::Computed)
    }
    pub fn optional_computed(self) -> Self {
        self.with_mode(Mode::OptionalComputed)
    }
    fn with_mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }
    pub fn description(mut self, d: &str) -> Self {
        self.description = d.to_string();
        self
    }
    pub fn deprecated(mut self, msg: &str) -> Self {
        self.deprecated = Some(msg.to_string());
        self
    }
    pub fn plan_modifier(mut self, m: PlanModifier) -> Self {
        self.plan_modifiers.push(m);
        self
    }
    pub fn validator(mut self, v: Validator) -> Self {
        self.validators.push(v);
        self
    }
    /// Declares a nested attribute as a nested block (see [`Attribute::block`]).
    pub fn as_block(mut self) -> Self {
        self.block = true;
        self
    }

    /// The cty type of this attribute's value.
    pub fn value_type(&self) -> Type {
        match &self.ty {
            AttrType::Plain(t) => t.clone(),
            AttrType::Nested {
                nesting,
                attributes,
            } => {
                let obj = object_type(attributes);
                match nesting {
                    Nesting::Single => obj,
                    Nesting::List => Type::list(obj),
                    Nesting::Set => Type::set(obj),
                    Nesting::Map => Type::map(obj),
                }
            }
        }
    }

    pub fn requires_replace(&self) -> bool {
        self.plan_modifiers.contains(&PlanModifier::RequiresReplace)
    }
}

/// The object type of a list of attributes.
pub fn object_type(attributes: &[Attribute]) -> Type {
    Type::Object(
        attributes
            .iter()
            .map(|a| (a.name.clone(), a.value_type()))
            .collect::<BTreeMap<_, _>>(),
    )
}

/// The schema of a provider, resource or data source.
#[derive(Clone, Debug, Default)]
pub struct Schema {
    /// State schema version (resources only).
    pub version: i64,
    /// Markdown description shown in docs.
    pub description: String,
    pub attributes: Vec<Attribute>,
}

impl Schema {
    pub fn new(description: &str, attributes: Vec<Attribute>) -> Self {
        Schema {
            version: 0,
            description: description.to_string(),
            attributes,
        }
    }

    /// The object type of the whole schema.
    pub fn value_type(&self) -> Type {
        object_type(&self.attributes)
    }

    /// A top-level attribute by name.
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// Checks the schema's own consistency (what Terraform ≥ 1.1 checks when it loads a
    /// provider): every attribute has a description and a coherent mode, names are
    /// unique and lower-case. Returns the problems found.
    pub fn internal_problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        check_attributes(&self.attributes, "", &mut out);
        out
    }
}

fn check_attributes(attrs: &[Attribute], prefix: &str, out: &mut Vec<String>) {
    let mut seen = std::collections::BTreeSet::new();
    for a in attrs {
        let full = format!("{prefix}{}", a.name);
        if !seen.insert(a.name.as_str()) {
            out.push(format!("{full}: duplicate attribute name"));
        }
        if a.name.is_empty()
            || !a
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            out.push(format!(
                "{full}: name must be lower-case letters, digits and underscores"
            ));
        }
        if a.description.trim().is_empty() {
            out.push(format!("{full}: missing description"));
        }
        if a.mode == Mode::Computed && !a.validators.is_empty() {
            out.push(format!(
                "{full}: computed-only attributes cannot have validators"
            ));
        }
        if a.block
            && !matches!(
                a.ty,
                AttrType::Nested {
                    nesting: Nesting::Single | Nesting::List,
                    ..
                }
            )
        {
            out.push(format!(
                "{full}: only single or list nested attributes can be declared as blocks"
            ));
        }
        if a.block && a.mode != Mode::Optional {
            out.push(format!(
                "{full}: a nested block is optional by nature; declare it optional"
            ));
        }
        if let AttrType::Nested { attributes, .. } = &a.ty {
            check_attributes(attributes, &format!("{full}."), out);
        }
    }
}
