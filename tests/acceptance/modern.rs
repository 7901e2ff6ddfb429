//! Workflows of current Terraform (issue 17), each skipped with a printed reason on a
//! Terraform too old for it (the pinned 1.0.3 has none of them):
//! - `import {}` blocks with `terraform plan -generate-config-out`, for both resources:
//!   the generated configuration applies with 0 changes and reproduces the state;
//! - `moved {}` blocks between resource addresses: nothing is created, destroyed or
//!   written;
//! - `terraform test` of `examples/mcp-linked-apps` (its `tests/*.tftest.hcl`) against
//!   the emulator, both MCP modes, with the wiring proven through the Access edge;
//! - `terraform init` from a filesystem mirror holding the `scripts/release.sh` zip,
//!   with the lock file's `h1:` hash checked against one computed here.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::release_support::{packaged_binary, write_mirror_config, zip_h1};
use crate::support::{Harness, TestResult, json_diff, repo_root};

const API: &str = cfaccess_emulator::demo_ids::INTERNAL_API_APP;
const WIKI: &str = cfaccess_emulator::demo_ids::COMPANY_WIKI_APP;
const MCP: &str = "cfaccess_mcp_server_app.mcp";
const POLICY: &str = "cfaccess_linked_app_policy.mcp_to_downstream";

/// An MCP server app and a linked policy that admits its token on both seed apps.
fn wiring(mcp_label: &str, policy_label: &str) -> String {
    format!(
        r#"resource "cfaccess_mcp_server_app" "{mcp_label}" {{
  name   = "Modern MCP server"
  domain = "modern-mcp.example.com"
}}

resource "cfaccess_linked_app_policy" "{policy_label}" {{
  name            = "Modern MCP server may call"
  linked_app_uids = [cfaccess_mcp_server_app.{mcp_label}.uid]
  target_app_ids  = ["{API}", "{WIKI}"]
}}
"#
    )
}

#[tokio::test]
async fn import_blocks_generate_configuration_that_applies_with_no_changes() -> TestResult {
    let h = harness!(Harness::builder().min_terraform(
        1,
        5,
        "import blocks and plan -generate-config-out"
    ));
    h.write_config(&wiring("mcp", "mcp_to_downstream"))?;
    h.apply().await?;
    let created = h.state_json().await?;
    let mcp_id = created.attr(MCP, "id")?;
    let policy_id = created.attr(POLICY, "id")?;

    // The objects exist but Terraform forgets them, as in a project adopting objects
    // made elsewhere; the configuration holds nothing but import blocks.
    h.run_ok(&["state", "rm", "-no-color", MCP, POLICY]).await?;
    h.write_config(&format!(
        "import {{\n  to = {MCP}\n  id = \"{mcp_id}\"\n}}\n\nimport {{\n  to = {POLICY}\n  id = \"{}/{policy_id}\"\n}}\n",
        h.account_id()
    ))?;
    let generated = h.dir().join("generated.tf");
    let plan = h
        .run(&[
            "plan",
            "-input=false",
            "-no-color",
            "-generate-config-out=generated.tf",
        ])
        .await?;
    h.check(
        plan.code == 0,
        format!("plan -generate-config-out failed (exit {})", plan.code),
    )?;
    let text = std::fs::read_to_string(&generated)
        .map_err(|e| h.failure(format!("no generated.tf: {e}"), Some(&plan)))?;
    for block in [
        "resource \"cfaccess_mcp_server_app\" \"mcp\"",
        "resource \"cfaccess_linked_app_policy\" \"mcp_to_downstream\"",
    ] {
        h.check(
            text.contains(block),
            format!("generated.tf lacks {block}:\n{text}"),
        )?;
    }
    h.check(
        plan.normalized()
            .contains("Plan: 2 to import, 0 to add, 0 to change, 0 to destroy."),
        "the plan with the generated configuration must only import both objects",
    )?;

    let apply = h.apply().await?;
    h.check(
        apply
            .normalized()
            .contains("Apply complete! Resources: 2 imported, 0 added, 0 changed, 0 destroyed."),
        "applying the generated configuration must import both objects and change nothing",
    )?;
    h.assert_empty_plan().await?;

    // Import reproduces exactly what the original configuration created.
    let imported = h.state_json().await?;
    for addr in [MCP, POLICY] {
        let (Some(a), Some(b)) = (created.get(addr), imported.get(addr)) else {
            return h.fail(format!("{addr} missing from a state"));
        };
        let diff = json_diff(a, b);
        h.check(
            diff.is_empty(),
            format!(
                "imported {addr} differs from the created one:\n  {}",
                diff.join("\n  ")
            ),
        )?;
    }
    h.destroy_and_pass().await
}

#[tokio::test]
async fn moved_blocks_rename_both_resources_without_touching_the_objects() -> TestResult {
    let h = harness!(Harness::builder().min_terraform(1, 1, "moved blocks"));
    h.write_config(&wiring("old", "old"))?;
    h.apply().await?;
    let before = h.state_json().await?;
    let mcp_id = before.attr("cfaccess_mcp_server_app.old", "id")?;
    let policy_id = before.attr("cfaccess_linked_app_policy.old", "id")?;

    // New names, one of them into a for_each instance; the references follow.
    let renamed = wiring("mcp", "single").replace(
        "resource \"cfaccess_linked_app_policy\" \"single\" {",
        "resource \"cfaccess_linked_app_policy\" \"by_server\" {\n  for_each = toset([\"modern\"])",
    );
    h.write_config(&format!(
        "{renamed}\nmoved {{\n  from = cfaccess_mcp_server_app.old\n  to   = cfaccess_mcp_server_app.mcp\n}}\n\nmoved {{\n  from = cfaccess_linked_app_policy.old\n  to   = cfaccess_linked_app_policy.by_server[\"modern\"]\n}}\n"
    ))?;
    let plan = h.plan().await?;
    for addr in [MCP, "cfaccess_linked_app_policy.by_server[\"modern\"]"] {
        h.check(
            plan.actions_of(addr) == Some(vec!["no-op"]),
            format!(
                "{addr} must only move (no-op), plan has {:?}",
                plan.actions_of(addr)
            ),
        )?;
    }
    let writes_before = (!h.is_live()).then(|| h.emulator().write_count());
    let apply = h.apply().await?;
    h.check(
        apply
            .normalized()
            .contains("Resources: 0 added, 0 changed, 0 destroyed."),
        "a move must not add, change or destroy anything",
    )?;
    if let Some(n) = writes_before {
        h.check(
            h.emulator().write_count() == n,
            "a move must not write to the API",
        )?;
    }
    let after = h.state_json().await?;
    h.check(
        after.attr(MCP, "id")? == mcp_id
            && after.attr("cfaccess_linked_app_policy.by_server[\"modern\"]", "id")? == policy_id,
        "the moved resources must keep their objects",
    )?;
    h.check(
        after.get("cfaccess_mcp_server_app.old").is_none(),
        "the old address must be gone from the state",
    )?;
    h.assert_empty_plan().await?;
    h.destroy_and_pass().await
}

/// Copies `examples/mcp-linked-apps` (its `.tf` files and `tests/`) into `dir`.
fn copy_example(dir: &Path) -> std::io::Result<()> {
    fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(to)?;
        for entry in std::fs::read_dir(from)? {
            let entry = entry?;
            let target = to.join(entry.file_name());
            if entry.file_type()?.is_dir() {
                copy_tree(&entry.path(), &target)?;
            } else if entry.file_name() != "README.md" {
                std::fs::copy(entry.path(), target)?;
            }
        }
        Ok(())
    }
    copy_tree(&repo_root().join("examples/mcp-linked-apps"), dir)
}

#[tokio::test]
async fn terraform_test_of_the_example_module_passes_and_its_edge_check_bites() -> TestResult {
    let h = harness!(Harness::builder().min_terraform(1, 6, "terraform test"));
    copy_example(h.dir()).map_err(|e| h.failure(format!("copy the example: {e}"), None))?;
    // Installs the test's helper module (tests/edge); providers come from
    // dev_overrides, so no `terraform init`.
    h.run_ok(&["get", "-no-color"]).await?;
    let out = h.run(&["test", "-no-color"]).await?;
    h.check(
        out.code == 0 && out.normalized().contains("Success! 4 passed, 0 failed."),
        format!("terraform test of the example failed (exit {})", out.code),
    )?;
    for run in [
        "run \"self_hosted_edge\"... pass",
        "run \"saas_edge\"... pass",
    ] {
        h.check(out.stdout.contains(run), format!("missing {run:?}"))?;
    }
    // `terraform test` destroyed what it created.
    h.assert_emulator_empty_of_ours()?;

    // The edge check is not a formality: with the linked policy admitting a decoy
    // MCP app's tokens instead, the user's token is refused and the test fails.
    let main = h.dir().join("main.tf");
    let text = std::fs::read_to_string(&main)
        .map_err(|e| h.failure(format!("read main.tf: {e}"), None))?;
    let sabotaged = text.replace(
        "linked_app_uids = [cfaccess_mcp_server_app.mcp.uid]",
        "linked_app_uids = [cfaccess_mcp_server_app.decoy.uid]",
    );
    h.check(
        sabotaged != text,
        "the example's linked_app_uids line changed",
    )?;
    std::fs::write(
        &main,
        format!(
            "{sabotaged}\nresource \"cfaccess_mcp_server_app\" \"decoy\" {{\n  name   = \"Decoy MCP server\"\n  domain = \"decoy.internal.example.com\"\n}}\n"
        ),
    )
    .map_err(|e| h.failure(format!("write main.tf: {e}"), None))?;
    let out = h.run(&["test", "-no-color"]).await?;
    h.check(
        out.code != 0
            && out.stdout.contains("run \"self_hosted_edge\"... fail")
            && out.normalized().contains("edge check failed"),
        "with the policy linked to another app the edge check must fail",
    )?;
    h.assert_emulator_empty_of_ours()?;
    Ok(())
}

#[tokio::test]
async fn init_from_a_filesystem_mirror_of_the_release_zip_locks_its_h1_hash() -> TestResult {
    let h = harness!(Harness::builder().min_terraform(
        1,
        5,
        "the mirror install on 1.0.3 is tests/release.rs's"
    ));
    let version = env!("CARGO_PKG_VERSION");
    let dist = h.root().join("dist");
    let binary = packaged_binary(h.root());
    let release = Command::new("bash")
        .arg(repo_root().join("scripts/release.sh"))
        .arg(version)
        .env("DIST_DIR", &dist)
        .env("CFACCESS_RELEASE_BINARY", &binary)
        .env("SOURCE_DATE_EPOCH", "1767225600")
        .env_remove("GPG_FINGERPRINT")
        .output()
        .map_err(|e| h.failure(format!("scripts/release.sh: {e}"), None))?;
    h.check(
        release.status.success(),
        format!(
            "scripts/release.sh failed: {}",
            String::from_utf8_lossy(&release.stderr)
        ),
    )?;
    let zip = format!("terraform-provider-cfaccess_{version}_linux_amd64.zip");
    let cli_config = write_mirror_config(h.root(), &dist, &zip)
        .map_err(|e| h.failure(format!("fill the mirror: {e}"), None))?;
    // The mirror instead of dev_overrides: the provider runs from the installed zip.
    h.set_env("TF_CLI_CONFIG_FILE", cli_config.to_str());

    h.write_config(&format!(
        "terraform {{\n  required_providers {{\n    cfaccess = {{\n      source  = \"cfaccess/cfaccess\"\n      version = \"= {version}\"\n    }}\n  }}\n}}\n\n{}",
        wiring("mcp", "mcp_to_downstream")
    ))?;
    let init = h.run_ok(&["init", "-input=false", "-no-color"]).await?;
    h.check(
        init.stdout
            .contains(&format!("Installing cfaccess/cfaccess v{version}")),
        "terraform init must install our provider from the mirror",
    )?;
    let lock = std::fs::read_to_string(h.dir().join(".terraform.lock.hcl"))
        .map_err(|e| h.failure(format!("terraform init wrote no lock file: {e}"), None))?;
    let h1 = zip_h1(&dist.join(&zip)).map_err(|e| h.failure(e, None))?;
    let locked: Vec<&str> = lock
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("\"h1:"))
        .collect();
    h.check(
        locked == vec![format!("\"{h1}\",").as_str()],
        format!("the lock file must hold exactly the h1 hash of the zip, {h1}:\n{lock}"),
    )?;

    // The installed provider works: a full cycle on this Terraform.
    h.apply().await?;
    h.assert_empty_plan().await?;
    let state: Value = h.state_json().await?.raw;
    h.check(
        state.to_string().contains("modern-mcp.example.com"),
        "the state holds the MCP app",
    )?;
    h.destroy_and_pass().await
}

/// Runs `scripts/test.sh` (what `make test` and CI run) with stand-ins: `cargo` records
/// its arguments and the `TERRAFORM` it got (and fails when `TERRAFORM` is `fail_on`),
/// and each `terraform` answers `version` as the given version, or fails when `None`.
/// Returns (exit code, stdout + stderr, the recorded cargo calls).
fn run_test_script(
    pinned: Option<&str>,
    on_path: Option<Option<&str>>,
    extra_env: &[(&str, &str)],
    fail_on: &str,
) -> (i32, String, Vec<String>) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let write_exec = |path: &Path, text: &str| {
        std::fs::write(path, text).expect("write stand-in");
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    };
    let fake_terraform = |path: &Path, version: Option<&str>| match version {
        Some(v) => write_exec(
            path,
            &format!("#!/bin/sh\necho 'Terraform v{v}'\necho 'on linux_amd64'\n"),
        ),
        None => write_exec(
            path,
            "#!/bin/sh\necho 'tfenv: no version set' >&2\nexit 1\n",
        ),
    };
    let pinned_path = dir.path().join("pinned-terraform");
    fake_terraform(&pinned_path, pinned);
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).expect("mkdir");
    if let Some(version) = on_path {
        fake_terraform(&bin.join("terraform"), version);
    }
    let calls = dir.path().join("calls");
    let cargo = dir.path().join("cargo");
    write_exec(
        &cargo,
        &format!(
            "#!/bin/sh\necho \"TERRAFORM=$TERRAFORM $*\" >> '{}'\necho \"test result: ok ($TERRAFORM)\"\n[ \"$TERRAFORM\" != '{}' ]\n",
            calls.display(),
            fail_on.replace("@dir", &dir.path().display().to_string())
        ),
    );
    let mut cmd = Command::new("bash");
    cmd.arg(repo_root().join("scripts/test.sh"))
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("TERRAFORM", &pinned_path)
        .env("CARGO", &cargo)
        .env_remove("TERRAFORM_EXTRA")
        .env_remove("TEST_THREADS");
    for (k, v) in extra_env {
        let v = v.replace("@dir", &dir.path().display().to_string());
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run scripts/test.sh");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
    .replace(&dir.path().display().to_string(), "@dir");
    let recorded = std::fs::read_to_string(&calls)
        .unwrap_or_default()
        .lines()
        .map(|l| l.replace(&dir.path().display().to_string(), "@dir"))
        .collect();
    (out.status.code().unwrap_or(-1), text, recorded)
}

/// `make test` on a machine whose `terraform` on PATH does not answer `version` (a
/// version-manager shim with no version selected), or has none: the suite still runs
/// on the pinned Terraform, and says why no second version was used, instead of
/// `set -eo pipefail` ending the script silently before any test.
#[test]
fn make_test_runs_on_the_pinned_terraform_whatever_is_on_path() {
    for on_path in [Some(None), None, Some(Some("1.0.3"))] {
        let (code, text, calls) = run_test_script(Some("1.0.3"), on_path, &[], "");
        assert_eq!(code, 0, "PATH terraform {on_path:?}:\n{text}");
        assert_eq!(
            calls,
            vec![
                "TERRAFORM=@dir/pinned-terraform test --workspace --no-fail-fast -- --test-threads=4"
            ],
            "PATH terraform {on_path:?}:\n{text}"
        );
        assert!(
            text.contains("Terraform versions for the acceptance suite: 1.0.3"),
            "{text}"
        );
    }
    let (_, text, _) = run_test_script(Some("1.0.3"), Some(None), &[], "");
    assert!(
        text.contains("does not answer `version` like a terraform"),
        "{text}"
    );

    // A broken pinned terraform, or a broken TERRAFORM_EXTRA someone asked for, is an
    // error that says so, and no test runs.
    let (code, text, calls) = run_test_script(None, None, &[], "");
    assert!(code != 0 && calls.is_empty(), "{text}");
    assert!(
        text.contains("pinned-terraform does not answer `version`"),
        "{text}"
    );
    for (on_path, extra, why) in [
        (
            None,
            "@dir/missing-terraform",
            "is not an executable terraform",
        ),
        (
            Some(None),
            "@dir/bin/terraform",
            "does not answer `version`",
        ),
    ] {
        let (code, text, calls) =
            run_test_script(Some("1.0.3"), on_path, &[("TERRAFORM_EXTRA", extra)], "");
        assert!(code != 0 && calls.is_empty(), "{text}");
        assert!(
            text.contains(&format!("TERRAFORM_EXTRA={extra} {why}")),
            "{text}"
        );
    }
}

/// With another Terraform on PATH, `make test` runs the acceptance suite on it first,
/// then everything on the pinned one, so the log ends with cargo's summary of the full
/// run; a failure of the first run still fails the script, after both ran.
#[test]
fn make_test_runs_the_acceptance_suite_on_a_second_terraform_first() {
    let (code, text, calls) = run_test_script(Some("1.0.3"), Some(Some("1.11.4")), &[], "");
    assert_eq!(code, 0, "{text}");
    assert_eq!(
        calls,
        vec![
            "TERRAFORM=@dir/bin/terraform test --test acceptance --no-fail-fast -- --test-threads=4",
            "TERRAFORM=@dir/pinned-terraform test --workspace --no-fail-fast -- --test-threads=4",
        ],
        "{text}"
    );
    assert!(
        text.contains("1.0.3 (@dir/pinned-terraform), 1.11.4 (@dir/bin/terraform)"),
        "the versions of both runs must be named:\n{text}"
    );
    assert!(
        text.trim_end()
            .ends_with("test result: ok (@dir/pinned-terraform)"),
        "the log must end with the full run's summary:\n{text}"
    );

    let (code, text, calls) = run_test_script(
        Some("1.0.3"),
        Some(Some("1.11.4")),
        &[],
        "@dir/bin/terraform",
    );
    assert_eq!(calls.len(), 2, "{text}");
    assert_ne!(
        code, 0,
        "a failure on the second Terraform must fail make test:\n{text}"
    );
}
