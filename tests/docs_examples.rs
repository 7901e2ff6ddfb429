//! Docs never drift from code, and every example works.
//!
//! - Every attribute of the provider, resource and data source schemas has a line in its
//!   page (`docs/index.md`, `docs/resources/<name>.md`, `docs/data-sources/<name>.md`) in
//!   the Terraform Registry layout written by tfplugindocs:
//!   `- \`name\` (Type[, Sensitive]) <description>`, under `### Required`,
//!   `### Optional` or `### Read-Only` of the page's `## Schema` section, nested
//!   attributes under `### Nested Schema for \`parent\`` (with `Required:` /
//!   `Optional:` / `Read-Only:` markers). The line holds the schema's description
//!   verbatim; sensitive attributes say `Sensitive`; attributes that force replacement
//!   say so. Pages document no attribute the schema lacks.
//! - Every directory under `examples/` passes `terraform fmt -check` and, with this
//!   build of the provider under dev_overrides (no `terraform init`), `terraform validate`.
//! - Each resource and data source has its registry-layout example files, import
//!   examples name a resource declared in the example, and local links in the docs resolve.

#[allow(dead_code)] // the release helpers are for tests/release.rs and the acceptance crate
#[path = "docs/support.rs"]
mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cfaccess::provider::CfAccessProvider;
use cfaccess::tfplugin::{AttrType, Attribute, Mode, Provider, Schema};

use support::{copy_files, output_text, repo_root, run_terraform, write_dev_overrides_config};

// ----- the page checker ------------------------------------------------------------------

/// The schema section a documented attribute sits in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Section {
    Required,
    Optional,
    ReadOnly,
}

impl Section {
    fn of(mode: Mode) -> Section {
        match mode {
            Mode::Required => Section::Required,
            Mode::Optional | Mode::OptionalComputed => Section::Optional,
            Mode::Computed => Section::ReadOnly,
        }
    }

    fn heading(self) -> &'static str {
        match self {
            Section::Required => "Required",
            Section::Optional => "Optional",
            Section::ReadOnly => "Read-Only",
        }
    }
}

/// One `- \`name\` …` line of a page's schema section.
#[derive(Debug)]
struct DocLine {
    name: String,
    section: Option<Section>,
    text: String,
}

/// The attribute lines of a page's `## Schema` section, by block: `""` for the top
/// level, the dotted path of the parent (`saas`) for nested schemas.
#[derive(Debug, Default)]
struct SchemaDoc {
    blocks: BTreeMap<String, Vec<DocLine>>,
}

fn section_marker(line: &str) -> Option<Section> {
    let t = line
        .trim()
        .trim_start_matches('#')
        .trim()
        .trim_end_matches(':')
        .trim();
    match t {
        "Required" => Some(Section::Required),
        "Optional" => Some(Section::Optional),
        "Read-Only" | "Read-only" => Some(Section::ReadOnly),
        _ => None,
    }
}

fn nested_heading(line: &str) -> Option<String> {
    if !line.starts_with('#') {
        return None;
    }
    let rest = &line[line.find("Nested Schema for `")? + "Nested Schema for `".len()..];
    Some(rest[..rest.find('`')?].to_string())
}

fn parse_schema_doc(page: &str) -> Option<SchemaDoc> {
    let mut lines = page.lines().skip_while(|l| l.trim_end() != "## Schema");
    lines.next()?;
    let mut doc = SchemaDoc::default();
    let mut block = String::new();
    let mut section = None;
    doc.blocks.insert(block.clone(), Vec::new());
    for line in lines {
        if line.starts_with("## ") {
            break;
        }
        if let Some(parent) = nested_heading(line) {
            block = parent;
            section = None;
            doc.blocks.entry(block.clone()).or_default();
        } else if let Some(s) = section_marker(line) {
            section = Some(s);
        } else if let Some(rest) = line.strip_prefix("- `")
            && let Some(end) = rest.find('`')
        {
            doc.blocks.entry(block.clone()).or_default().push(DocLine {
                name: rest[..end].to_string(),
                section,
                text: line.to_string(),
            });
        }
    }
    Some(doc)
}

/// Everything wrong between `schema` and the page text `page` (named `label`).
fn page_problems(label: &str, page: &str, schema: &Schema) -> Vec<String> {
    let mut problems = Vec::new();
    if !schema.description.is_empty() && !page.contains(&schema.description) {
        problems.push(format!(
            "{label}: the schema description is not on the page verbatim: {:?}",
            schema.description
        ));
    }
    let Some(doc) = parse_schema_doc(page) else {
        problems.push(format!("{label}: no \"## Schema\" section"));
        return problems;
    };
    let mut expected_blocks = vec![String::new()];
    check_block(
        label,
        &doc,
        "",
        &schema.attributes,
        &mut expected_blocks,
        &mut problems,
    );
    for block in doc.blocks.keys() {
        if !expected_blocks.contains(block) {
            problems.push(format!(
                "{label}: documents a nested schema `{block}` that the schema does not have"
            ));
        }
    }
    problems
}

fn check_block(
    label: &str,
    doc: &SchemaDoc,
    block: &str,
    attributes: &[Attribute],
    expected_blocks: &mut Vec<String>,
    problems: &mut Vec<String>,
) {
    let empty = Vec::new();
    let lines = doc.blocks.get(block).unwrap_or(&empty);
    let path_of = |name: &str| {
        if block.is_empty() {
            name.to_string()
        } else {
            format!("{block}.{name}")
        }
    };
    for attr in attributes {
        let path = path_of(&attr.name);
        let found: Vec<&DocLine> = lines.iter().filter(|l| l.name == attr.name).collect();
        let [line] = found.as_slice() else {
            if found.is_empty() {
                let place = if block.is_empty() {
                    "## Schema".to_string()
                } else {
                    format!("### Nested Schema for `{block}`")
                };
                problems.push(format!(
                    "{label}: attribute `{path}` is not documented; add under {place} / {}: - `{}` (…) {}",
                    Section::of(attr.mode).heading(),
                    attr.name,
                    attr.description
                ));
            } else {
                problems.push(format!(
                    "{label}: attribute `{path}` is documented {} times",
                    found.len()
                ));
            }
            continue;
        };
        if attr.description.trim().is_empty() {
            problems.push(format!(
                "{label}: attribute `{path}` has no description in the schema"
            ));
        } else if !line.text.contains(&attr.description) {
            problems.push(format!(
                "{label}: attribute `{path}`: the page's line does not hold the schema description verbatim\n    schema: {}\n    page:   {}",
                attr.description, line.text
            ));
        }
        let want = Section::of(attr.mode);
        if line.section != Some(want) {
            problems.push(format!(
                "{label}: attribute `{path}` is listed under {:?}, expected {}",
                line.section.map(Section::heading),
                want.heading()
            ));
        }
        if attr.sensitive && !line.text.contains("Sensitive") {
            problems.push(format!(
                "{label}: attribute `{path}` is sensitive but its line does not say \"Sensitive\""
            ));
        }
        if attr.requires_replace() && !line.text.to_ascii_lowercase().contains("replace") {
            problems.push(format!(
                "{label}: attribute `{path}` forces replacement but its line does not say so"
            ));
        }
        if let AttrType::Nested {
            attributes: nested, ..
        } = &attr.ty
        {
            if !doc.blocks.contains_key(&path) {
                problems.push(format!("{label}: nested attribute `{path}` has no \"### Nested Schema for `{path}`\" section"));
            }
            expected_blocks.push(path.clone());
            check_block(label, doc, &path, nested, expected_blocks, problems);
        }
    }
    for line in lines {
        if !attributes.iter().any(|a| a.name == line.name) {
            problems.push(format!(
                "{label}: documents `{}` which the schema does not have",
                path_of(&line.name)
            ));
        }
    }
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: cannot read ({e})", path.display()))
}

fn assert_no_problems(what: &str, problems: Vec<String>) {
    assert!(
        problems.is_empty(),
        "{what}: {} problem(s):\n- {}\n(run scripts/docs.sh after fixing)",
        problems.len(),
        problems.join("\n- ")
    );
}

fn short_name(type_name: &str) -> &str {
    type_name.strip_prefix("cfaccess_").unwrap_or(type_name)
}

// ----- docs match the schemas ------------------------------------------------------------

#[test]
fn provider_page_documents_every_provider_attribute() {
    let provider = CfAccessProvider::new();
    let path = repo_root().join("docs/index.md");
    let problems = match read(&path) {
        Ok(page) => page_problems("docs/index.md", &page, &provider.schema()),
        Err(e) => vec![e],
    };
    assert_no_problems("provider docs", problems);
}

/// The problems of the pages `docs/{dir}/<short type name>.md` against their schemas.
fn pages_problems(dir: &str, pages: impl Iterator<Item = (&'static str, Schema)>) -> Vec<String> {
    let mut problems = Vec::new();
    for (type_name, schema) in pages {
        let rel = format!("docs/{dir}/{}.md", short_name(type_name));
        match read(&repo_root().join(&rel)) {
            Ok(page) => problems.extend(page_problems(&rel, &page, &schema)),
            Err(e) => problems.push(e),
        }
    }
    problems
}

#[test]
fn resource_pages_document_every_attribute() {
    let provider = CfAccessProvider::new();
    let resources = provider.resources();
    assert!(!resources.is_empty(), "the provider registers no resources");
    let pages = resources.iter().map(|r| (r.type_name(), r.schema()));
    assert_no_problems("resource docs", pages_problems("resources", pages));
}

#[test]
fn data_source_pages_document_every_attribute() {
    let provider = CfAccessProvider::new();
    let data_sources = provider.data_sources();
    assert!(
        !data_sources.is_empty(),
        "the provider registers no data sources"
    );
    let pages = data_sources.iter().map(|d| (d.type_name(), d.schema()));
    assert_no_problems("data source docs", pages_problems("data-sources", pages));
}

// The checker itself must catch drift, or the tests above prove nothing.
#[test]
fn page_checker_reports_drift() {
    use cfaccess::tfplugin::{Nesting, PlanModifier};
    let schema = Schema::new(
        "A thing.",
        vec![
            Attribute::string("name")
                .required()
                .description("Name of the thing."),
            Attribute::string("secret")
                .optional()
                .sensitive()
                .description("The secret."),
            Attribute::string("kind")
                .optional_computed()
                .plan_modifier(PlanModifier::RequiresReplace)
                .description("Kind."),
            Attribute::string("id")
                .computed()
                .description("Identifier."),
            Attribute::nested(
                "saas",
                Nesting::Single,
                vec![
                    Attribute::string_list("scopes")
                        .optional()
                        .description("OIDC scopes."),
                ],
            )
            .optional()
            .description("SaaS settings."),
        ],
    );
    let good = "A thing.\n\n## Schema\n\n### Required\n\n- `name` (String) Name of the thing.\n\n### Optional\n\n\
        - `kind` (String) Kind. Changing it forces replacement.\n- `saas` (Attributes) SaaS settings. (see below)\n- `secret` (String, Sensitive) The secret.\n\n\
        ### Read-Only\n\n- `id` (String) Identifier.\n\n<a id=\"nestedatt--saas\"></a>\n### Nested Schema for `saas`\n\nOptional:\n\n\
        - `scopes` (List of String) OIDC scopes.\n\n## Import\n\n- `name` is not a schema line here\n";
    let mut schema_with_other_saas_description = schema.clone();
    schema_with_other_saas_description.attributes[4].description = "Other settings.".into();
    assert_eq!(page_problems("good", good, &schema), Vec::<String>::new());

    let cases = [
        (
            good.replace("Name of the thing.", "Name."),
            "not hold the schema description",
        ),
        (
            good.replace("- `id` (String) Identifier.\n", ""),
            "`id` is not documented",
        ),
        (good.replace(", Sensitive", ""), "sensitive"),
        (
            good.replace(" Changing it forces replacement.", ""),
            "forces replacement",
        ),
        (
            good.replace("### Read-Only", "### Optional"),
            "expected Read-Only",
        ),
        (
            good.replace(
                "- `scopes` (List of String) OIDC scopes.",
                "- `scope` (List of String) OIDC scopes.",
            ),
            "`saas.scope` which the schema does not have",
        ),
        (
            good.replace("Nested Schema for `saas`", "Nested Schema for `sas`"),
            "nested schema `sas`",
        ),
        (good.replace("A thing.\n", ""), "schema description"),
        (
            good.replace("## Schema", "## Attributes"),
            "no \"## Schema\" section",
        ),
    ];
    for (page, expected) in cases {
        let problems = page_problems("case", &page, &schema);
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "expected a problem containing {expected:?}, got {problems:#?}"
        );
    }
    // A nested attribute's own description is checked like any other.
    let problems = page_problems("case", good, &schema_with_other_saas_description);
    assert!(
        problems.iter().any(|p| p.contains("`saas`")),
        "{problems:#?}"
    );
}

// ----- registry layout -------------------------------------------------------------------

#[test]
fn every_type_has_registry_layout_examples_and_pages() {
    let root = repo_root();
    let provider = CfAccessProvider::new();
    let mut problems = Vec::new();
    let mut need = |rel: String| {
        if !root.join(&rel).is_file() {
            problems.push(format!("missing {rel}"));
        }
    };
    need("examples/provider/provider.tf".into());
    need("docs/index.md".into());
    need("terraform-registry-manifest.json".into());
    for r in provider.resources() {
        let name = r.type_name();
        need(format!("examples/resources/{name}/resource.tf"));
        need(format!("examples/resources/{name}/import.sh"));
        need(format!("docs/resources/{}.md", short_name(name)));
    }
    for d in provider.data_sources() {
        let name = d.type_name();
        need(format!("examples/data-sources/{name}/data-source.tf"));
        need(format!("docs/data-sources/{}.md", short_name(name)));
    }
    let manifest =
        std::fs::read_to_string(root.join("terraform-registry-manifest.json")).unwrap_or_default();
    let manifest: serde_json::Value = serde_json::from_str(&manifest).unwrap_or_default();
    if manifest != serde_json::json!({"version": 1, "metadata": {"protocol_versions": ["6.0"]}}) {
        problems.push(format!(
            "terraform-registry-manifest.json must declare protocol 6.0 only, got {manifest}"
        ));
    }
    assert_no_problems("registry layout", problems);
}

/// `resource "<type>" "<name>"` / `data "<type>" "<name>"` declarations of a config.
fn declarations(config: &str) -> Vec<(String, String, String)> {
    config
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let kind = words.next()?;
            if kind != "resource" && kind != "data" {
                return None;
            }
            let ty = words.next()?.trim_matches('"');
            let name = words.next()?.trim_matches('"');
            Some((kind.to_string(), ty.to_string(), name.to_string()))
        })
        .collect()
}

#[test]
fn import_examples_name_a_declared_resource() {
    let root = repo_root();
    let provider = CfAccessProvider::new();
    let mut problems = Vec::new();
    for r in provider.resources() {
        let dir = root.join("examples/resources").join(r.type_name());
        let (Ok(script), Ok(config)) =
            (read(&dir.join("import.sh")), read(&dir.join("resource.tf")))
        else {
            problems.push(format!(
                "{}: import.sh or resource.tf missing",
                dir.display()
            ));
            continue;
        };
        let declared = declarations(&config);
        let imports: Vec<&str> = script
            .lines()
            .filter(|l| l.trim_start().starts_with("terraform import "))
            .collect();
        if imports.is_empty() {
            problems.push(format!(
                "{}/import.sh has no `terraform import` command",
                r.type_name()
            ));
        }
        for line in imports {
            let address = line.split_whitespace().nth(2).unwrap_or("");
            let ok = address.split_once('.').is_some_and(|(ty, name)| {
                ty == r.type_name()
                    && declared
                        .iter()
                        .any(|(k, t, n)| k == "resource" && t == ty && n == name)
            });
            if !ok {
                problems.push(format!(
                    "{}/import.sh imports `{address}`, which resource.tf does not declare",
                    r.type_name()
                ));
            }
        }
    }
    assert_no_problems("import examples", problems);
}

// ----- examples: fmt and validate --------------------------------------------------------

fn tf_dirs(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut has_tf = false;
    let mut subdirs = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if !entry.file_name().to_string_lossy().starts_with('.') {
                subdirs.push(path);
            }
        } else if path.extension().is_some_and(|e| e == "tf") {
            has_tf = true;
        }
    }
    if has_tf {
        out.push(dir.to_path_buf());
    }
    subdirs.sort();
    for d in subdirs {
        tf_dirs(&d, out);
    }
}

#[test]
fn examples_are_formatted_and_valid() {
    let root = repo_root();
    let mut dirs = Vec::new();
    tf_dirs(&root.join("examples"), &mut dirs);
    assert!(
        dirs.iter().any(|d| d.ends_with("examples/mcp-linked-apps"))
            && dirs.iter().any(|d| d.ends_with("examples/provider")),
        "examples/provider and examples/mcp-linked-apps must exist; found {dirs:?}"
    );
    let scratch = tempfile::tempdir().expect("temp dir");
    let cli_config = write_dev_overrides_config(scratch.path());
    let mut problems = Vec::new();
    let mut validated = 0;
    for (i, dir) in dirs.iter().enumerate() {
        let rel = dir.strip_prefix(&root).unwrap_or(dir).display().to_string();
        let fmt = run_terraform(dir, &cli_config, &["fmt", "-check", "-diff", "."], &[]);
        if !fmt.status.success() {
            problems.push(format!(
                "{rel}: terraform fmt -check failed\n{}",
                output_text(&fmt)
            ));
        }

        let config: String = std::fs::read_dir(dir)
            .expect("read example dir")
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "tf"))
            .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n");
        let foreign: Vec<String> = declarations(&config)
            .into_iter()
            .filter(|(_, ty, _)| !ty.starts_with("cfaccess_"))
            .map(|(k, t, _)| format!("{k} {t}"))
            .collect();
        if !foreign.is_empty() {
            // Other providers cannot be installed offline; fmt above still checked it.
            println!("{rel}: not validated (uses {})", foreign.join(", "));
            continue;
        }
        let work = scratch.path().join(format!("example-{i}"));
        std::fs::create_dir_all(&work).expect("create work dir");
        copy_files(dir, &work);
        if !config.contains("required_providers") {
            // A bare resource.tf relies on the user's required_providers block; without
            // one Terraform would look for hashicorp/cfaccess.
            std::fs::write(
                work.join("zz_docs_test_providers.tf"),
                "terraform {\n  required_providers {\n    cfaccess = {\n      source = \"cfaccess/cfaccess\"\n    }\n  }\n}\n",
            )
            .expect("write providers file");
        }
        if config
            .lines()
            .any(|l| l.trim_start().starts_with("module "))
        {
            let get = run_terraform(&work, &cli_config, &["get", "-no-color"], &[]);
            if !get.status.success() {
                problems.push(format!(
                    "{rel}: terraform get failed\n{}",
                    output_text(&get)
                ));
                continue;
            }
        }
        let validate = run_terraform(&work, &cli_config, &["validate", "-no-color"], &[]);
        if validate.status.success() {
            validated += 1;
        } else {
            problems.push(format!(
                "{rel}: terraform validate failed\n{}",
                output_text(&validate)
            ));
        }
    }
    assert_no_problems("examples", problems);
    assert!(
        validated >= 2,
        "only {validated} example dirs were validated"
    );
}

// ----- links -----------------------------------------------------------------------------

fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            markdown_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
}

/// Targets of inline links `[text](target)` in a markdown text.
fn link_targets(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("](") {
        rest = &rest[i + 2..];
        if let Some(end) = rest.find(')') {
            out.push(rest[..end].trim().to_string());
            rest = &rest[end..];
        }
    }
    out
}

#[test]
fn local_links_in_docs_resolve() {
    let root = repo_root();
    let mut files = vec![root.join("README.md"), root.join("CHANGELOG.md")];
    markdown_files(&root.join("docs"), &mut files);
    markdown_files(&root.join("examples"), &mut files);
    let mut problems = Vec::new();
    for file in &files {
        let text = match read(file) {
            Ok(t) => t,
            Err(e) => {
                problems.push(e);
                continue;
            }
        };
        for target in link_targets(&text) {
            if target.is_empty()
                || target.starts_with('#')
                || target.contains("://")
                || target.starts_with("mailto:")
            {
                continue;
            }
            let path = target.split('#').next().unwrap_or("");
            let resolved = file.parent().unwrap_or(&root).join(path);
            if !resolved.exists() {
                let rel = file
                    .strip_prefix(&root)
                    .unwrap_or(file)
                    .display()
                    .to_string();
                problems.push(format!("{rel}: link to {target} does not resolve"));
            }
        }
    }
    assert_no_problems("links", problems);
}
