//! The release artifacts work the way a user of a private registry installs them:
//! `scripts/release.sh` packages the provider (here the binary cargo built for the test,
//! via `CFACCESS_RELEASE_BINARY`, so no second full release build is needed; the zip,
//! manifest and checksum logic are the script's), the zip goes into a packed filesystem
//! mirror, and `terraform init` + `terraform plan` run against an emulator.
//!
//! This runs once, on the pinned Terraform (1.0.3). The same install on current
//! Terraform (with a full apply/destroy cycle and the lock file's `h1:` hash) is the
//! acceptance test `modern::init_from_a_filesystem_mirror_of_the_release_zip_locks_its_h1_hash`,
//! which `make test` runs on every newer Terraform it finds.

#[allow(dead_code)]
#[path = "docs/support.rs"]
mod support;

use std::path::Path;
use std::process::Command;

use cfaccess_emulator::{DEFAULT_ACCOUNT_ID, Emulator, EmulatorConfig, RateLimit, Seed};

use support::{
    output_text, packaged_binary, repo_root, run_terraform, write_mirror_config, zip_h1,
};

const VERSION: &str = env!("CARGO_PKG_VERSION");
const TOKEN: &str = "release-test-token";

/// Runs `cmd` (`what` it does, for the messages), which must succeed.
fn succeeded(cmd: &mut Command, what: &str) -> std::process::Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what} did not run: {e}"));
    assert!(out.status.success(), "{what} failed\n{}", output_text(&out));
    out
}

fn release_into(dist: &Path, binary: &Path) {
    let mut cmd = Command::new("bash");
    cmd.arg(repo_root().join("scripts/release.sh"))
        .arg(VERSION)
        .env("DIST_DIR", dist)
        .env("CFACCESS_RELEASE_BINARY", binary)
        .env("SOURCE_DATE_EPOCH", "1767225600")
        .env_remove("GPG_FINGERPRINT");
    succeeded(&mut cmd, "scripts/release.sh");
}

/// `<hex>  <file>` lines of the SHA256SUMS file, as a map file → hex.
fn checksums(text: &str) -> std::collections::BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| {
            l.split_once("  ")
                .map(|(h, f)| (f.to_string(), h.to_string()))
        })
        .collect()
}

#[test]
fn release_zip_installs_from_a_filesystem_mirror_and_plans() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dist = tmp.path().join("dist");
    let binary = packaged_binary(tmp.path());
    release_into(&dist, &binary);

    // The artifact set the Registry expects, and nothing else.
    let zip = format!("terraform-provider-cfaccess_{VERSION}_linux_amd64.zip");
    let manifest = format!("terraform-provider-cfaccess_{VERSION}_manifest.json");
    let sums = format!("terraform-provider-cfaccess_{VERSION}_SHA256SUMS");
    let mut files: Vec<String> = std::fs::read_dir(&dist)
        .expect("read dist")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut expected = vec![zip.clone(), manifest.clone(), sums.clone()];
    expected.sort();
    assert_eq!(files, expected);

    let manifest_json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dist.join(&manifest)).expect("read manifest"),
    )
    .expect("manifest is JSON");
    assert_eq!(
        manifest_json,
        serde_json::json!({"version": 1, "metadata": {"protocol_versions": ["6.0"]}})
    );

    let sums_text = std::fs::read_to_string(dist.join(&sums)).expect("read SHA256SUMS");
    let sums_map = checksums(&sums_text);
    assert_eq!(sums_map.keys().cloned().collect::<Vec<_>>(), {
        let mut v = vec![zip.clone(), manifest.clone()];
        v.sort();
        v
    });
    succeeded(
        Command::new("sha256sum")
            .args(["--check", "--strict", &sums])
            .current_dir(&dist),
        "sha256sum --check of the SHA256SUMS file against the files",
    );

    // A packed filesystem mirror, as a private registry mirror would serve it.
    let cli_config = write_mirror_config(tmp.path(), &dist, &zip).expect("fill the mirror");

    let work = tmp.path().join("config");
    std::fs::create_dir_all(&work).expect("create config dir");
    std::fs::write(
        work.join("main.tf"),
        format!(
            r#"terraform {{
  required_providers {{
    cfaccess = {{
      source  = "cfaccess/cfaccess"
      version = "= {VERSION}"
    }}
  }}
}}

data "cfaccess_access_application" "api" {{
  name = "Internal API"
}}

resource "cfaccess_mcp_server_app" "mcp" {{
  name   = "MCP server"
  domain = "mcp.internal.example.com"
}}

resource "cfaccess_linked_app_policy" "mcp_to_api" {{
  name            = "Allow requests from the MCP server"
  linked_app_uids = [cfaccess_mcp_server_app.mcp.uid]
  target_app_ids  = [data.cfaccess_access_application.api.id]
}}

output "api_domain" {{
  value = data.cfaccess_access_application.api.domain
}}
"#
        ),
    )
    .expect("write main.tf");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let emulator = runtime
        .block_on(Emulator::start(EmulatorConfig {
            token: Some(TOKEN.into()),
            rate_limit: Some(RateLimit::disabled()),
            seed: Some(Seed::downstream_demo()),
            ..Default::default()
        }))
        .expect("start emulator");
    let env = [
        ("CLOUDFLARE_BASE_URL", emulator.base_url()),
        ("CLOUDFLARE_API_TOKEN", TOKEN.to_string()),
        ("CLOUDFLARE_ACCOUNT_ID", DEFAULT_ACCOUNT_ID.to_string()),
    ];

    let init = run_terraform(
        &work,
        &cli_config,
        &["init", "-input=false", "-no-color"],
        &env,
    );
    let init_text = output_text(&init);
    assert!(
        init.status.success(),
        "terraform init from the mirror failed\n{init_text}"
    );
    assert!(
        init_text.contains(&format!("Installing cfaccess/cfaccess v{VERSION}")),
        "{init_text}"
    );

    // The lock file's h1: hash is Terraform's hash of the package it installed: it must
    // be the hash of our zip's contents (Go's dirhash.Hash1 over the zip entries).
    let lock = std::fs::read_to_string(work.join(".terraform.lock.hcl"))
        .expect("terraform init writes a lock file");
    let h1 = zip_h1(&dist.join(&zip)).unwrap_or_else(|e| panic!("hashing the zip: {e}"));
    assert!(
        lock.contains(&format!("\"{h1}\"")),
        "lock file lacks {h1} (the hash of the released zip)\n{lock}"
    );

    let plan = run_terraform(
        &work,
        &cli_config,
        &["plan", "-input=false", "-no-color", "-detailed-exitcode"],
        &env,
    );
    let plan_text = output_text(&plan);
    assert_eq!(
        plan.status.code(),
        Some(2),
        "plan should propose changes\n{plan_text}"
    );
    assert!(
        !plan_text.contains("crash"),
        "terraform crashed\n{plan_text}"
    );
    assert!(
        plan_text.contains("cfaccess_mcp_server_app.mcp will be created"),
        "{plan_text}"
    );
    assert!(
        plan_text.contains("cfaccess_linked_app_policy.mcp_to_api will be created"),
        "{plan_text}"
    );
    assert!(
        plan_text.contains("api.internal.example.com"),
        "the data source did not read the emulator\n{plan_text}"
    );

    // The provider from the zip talked to the API (the data source) and wrote nothing.
    let log = emulator.request_log();
    assert!(
        log.iter().any(|r| r.method == "GET"),
        "no API request reached the emulator"
    );
    assert_eq!(emulator.write_count(), 0, "a plan must not write: {log:#?}");
    drop(emulator);
    drop(runtime);
}
