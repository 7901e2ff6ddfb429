//! Framework [`Schema`]s to tfplugin6 `Schema` messages.
//!
//! Plain attributes carry `type` (the JSON of their cty type), nested attributes carry
//! `nested_type` only — setting both makes Terraform 1.0.3 panic. Attributes declared
//! with [`Attribute::as_block`] become nested blocks (`block_types`), because 1.0.3
//! also panics planning a create with a single nested attribute. Descriptions are
//! Markdown.

use super::codec::type_json;
use super::proto::tfplugin6 as pb;
use super::schema::{AttrType, Attribute, Mode, Nesting, Schema};

/// The wire form of a provider, resource or data source schema.
pub fn schema_to_proto(schema: &Schema) -> pb::Schema {
    pb::Schema {
        version: schema.version,
        block: Some(block_to_proto(
            schema.version,
            &schema.description,
            &schema.attributes,
        )),
    }
}

fn block_to_proto(version: i64, description: &str, attributes: &[Attribute]) -> pb::schema::Block {
    pb::schema::Block {
        version,
        attributes: attributes
            .iter()
            .filter(|a| !a.block)
            .map(attribute_to_proto)
            .collect(),
        block_types: attributes
            .iter()
            .filter(|a| a.block)
            .filter_map(nested_block_to_proto)
            .collect(),
        description: description.to_string(),
        description_kind: pb::StringKind::Markdown as i32,
        deprecated: false,
        deprecation_message: String::new(),
    }
}

fn nested_block_to_proto(attr: &Attribute) -> Option<pb::schema::NestedBlock> {
    use pb::schema::nested_block::NestingMode;
    let AttrType::Nested {
        nesting,
        attributes,
    } = &attr.ty
    else {
        return None;
    };
    let nesting = match nesting {
        Nesting::Single => NestingMode::Single,
        Nesting::List => NestingMode::List,
        Nesting::Set => NestingMode::Set,
        Nesting::Map => NestingMode::Map,
    };
    Some(pb::schema::NestedBlock {
        type_name: attr.name.clone(),
        block: Some(block_to_proto(0, &attr.description, attributes)),
        nesting: nesting as i32,
        min_items: 0,
        max_items: 0,
    })
}

fn attribute_to_proto(attr: &Attribute) -> pb::schema::Attribute {
    let (ty, nested_type) = match &attr.ty {
        AttrType::Plain(t) => (type_json::encode(t), None),
        AttrType::Nested {
            nesting,
            attributes,
        } => (
            Vec::new(),
            Some(pb::schema::Object {
                attributes: attributes.iter().map(attribute_to_proto).collect(),
                nesting: nesting_to_proto(*nesting) as i32,
                ..Default::default()
            }),
        ),
    };
    pb::schema::Attribute {
        name: attr.name.clone(),
        r#type: ty,
        nested_type,
        description: attr.description.clone(),
        required: attr.mode == Mode::Required,
        optional: attr.mode.optional(),
        computed: attr.mode.computed(),
        sensitive: attr.sensitive,
        description_kind: pb::StringKind::Markdown as i32,
        deprecated: attr.deprecated.is_some(),
        write_only: false,
        deprecation_message: attr.deprecated.clone().unwrap_or_default(),
    }
}

fn nesting_to_proto(n: Nesting) -> pb::schema::object::NestingMode {
    use pb::schema::object::NestingMode;
    match n {
        Nesting::Single => NestingMode::Single,
        Nesting::List => NestingMode::List,
        Nesting::Set => NestingMode::Set,
        Nesting::Map => NestingMode::Map,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Schema {
        let mut s = Schema::new(
            "A *thing*.",
            vec![
                Attribute::string("id").computed().description("Id."),
                Attribute::string("name").required().description("Name."),
                Attribute::string("token")
                    .optional()
                    .sensitive()
                    .deprecated("Use name.")
                    .description("Token."),
                Attribute::nested(
                    "saas",
                    Nesting::Single,
                    vec![
                        Attribute::string_set("grant_types")
                            .optional_computed()
                            .description("Grants."),
                    ],
                )
                .optional()
                .description("SaaS."),
            ],
        );
        s.version = 2;
        s
    }

    #[test]
    fn block_declared_attributes_become_nested_blocks() {
        let mut s = sample();
        s.attributes = s
            .attributes
            .into_iter()
            .map(|a| if a.name == "saas" { a.as_block() } else { a })
            .collect();
        let block = schema_to_proto(&s).block.unwrap();
        assert!(block.attributes.iter().all(|a| a.name != "saas"));
        assert_eq!(block.block_types.len(), 1);
        let saas = &block.block_types[0];
        assert_eq!(saas.type_name, "saas");
        assert_eq!(
            saas.nesting,
            pb::schema::nested_block::NestingMode::Single as i32
        );
        let inner = saas.block.as_ref().unwrap();
        assert_eq!(inner.description, "SaaS.");
        assert_eq!(inner.attributes[0].name, "grant_types");
    }

    #[test]
    fn plain_and_nested_attributes_never_carry_both_type_forms() {
        let wire = schema_to_proto(&sample());
        assert_eq!(wire.version, 2);
        let block = wire.block.unwrap();
        assert_eq!(block.description_kind, pb::StringKind::Markdown as i32);
        let by_name = |n: &str| block.attributes.iter().find(|a| a.name == n).unwrap();

        let id = by_name("id");
        assert_eq!(id.r#type, b"\"string\"");
        assert!(id.nested_type.is_none());
        assert!(id.computed && !id.optional && !id.required);

        let name = by_name("name");
        assert!(name.required && !name.optional && !name.computed);

        let token = by_name("token");
        assert!(token.sensitive && token.deprecated);
        assert_eq!(token.deprecation_message, "Use name.");

        let saas = by_name("saas");
        assert!(
            saas.r#type.is_empty(),
            "nested attributes must not set `type`"
        );
        let nested = saas.nested_type.as_ref().unwrap();
        assert_eq!(
            nested.nesting,
            pb::schema::object::NestingMode::Single as i32
        );
        let grants = &nested.attributes[0];
        assert_eq!(grants.r#type, br#"["set","string"]"#);
        assert!(grants.optional && grants.computed);
        assert_eq!(grants.description_kind, pb::StringKind::Markdown as i32);
    }
}
