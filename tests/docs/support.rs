//! Shared helpers of the docs/examples and release test crates (the acceptance crate uses
//! the release part): locating the repository, Terraform and the provider binary, running
//! Terraform the way a user would, and installing the release zip from a mirror.

use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Terraform registry address of this provider (`source = "cfaccess/cfaccess"`).
pub const PROVIDER_ADDRESS: &str = "registry.terraform.io/cfaccess/cfaccess";

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Terraform CLI the tests run: `$TERRAFORM`, else `.tools/bin/terraform`.
///
/// Panics with the command that installs it when it is missing: these tests check what
/// Terraform itself accepts, so they cannot stand in for it.
pub fn terraform() -> PathBuf {
    let path = std::env::var_os("TERRAFORM")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".tools/bin/terraform"));
    assert!(
        path.exists(),
        "Terraform not found at {}: run scripts/install-terraform.sh or set $TERRAFORM",
        path.display()
    );
    path
}

/// The provider binary cargo built for this test run.
pub fn provider_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_terraform-provider-cfaccess"))
}

/// Writes a CLI configuration that serves this provider from the directory holding the
/// test build (dev_overrides: Terraform 1.0.3 then needs no `terraform init`).
pub fn write_dev_overrides_config(dir: &Path) -> PathBuf {
    let binary = provider_binary();
    let bin_dir = binary
        .parent()
        .expect("the provider binary has a parent directory");
    let config = format!(
        "provider_installation {{\n  dev_overrides {{\n    \"{PROVIDER_ADDRESS}\" = \"{}\"\n  }}\n  direct {{}}\n}}\n",
        bin_dir.display()
    );
    let path = dir.join("dev.tfrc");
    std::fs::write(&path, config).expect("write CLI config");
    path
}

/// How long one Terraform command may run before it is killed.
const TERRAFORM_TIMEOUT: Duration = Duration::from_secs(300);

/// Runs `terraform <args>` in `dir` with the given CLI config and extra environment,
/// non-interactively and without calling HashiCorp's checkpoint service.
///
/// Output goes to files, not pipes, and Terraform runs in its own process group that is
/// killed afterwards: when Terraform crashes, its provider processes outlive it holding
/// any inherited pipe open, and a pipe reader would wait forever.
pub fn run_terraform(
    dir: &Path,
    cli_config: &Path,
    args: &[&str],
    env: &[(&str, String)],
) -> Output {
    let stdout = tempfile::tempfile().expect("temp file for stdout");
    let stderr = tempfile::tempfile().expect("temp file for stderr");
    let mut cmd = Command::new(terraform());
    cmd.args(args)
        .current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", cli_config)
        .env("TF_IN_AUTOMATION", "1")
        .env("CHECKPOINT_DISABLE", "1")
        .env_remove("TF_LOG")
        .env_remove("TF_CLI_ARGS")
        .stdin(Stdio::null())
        .stdout(stdout.try_clone().expect("clone stdout file"))
        .stderr(stderr.try_clone().expect("clone stderr file"))
        .process_group(0);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run terraform {args:?}: {e}"));
    let deadline = Instant::now() + TERRAFORM_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for terraform") {
            break status;
        }
        if Instant::now() > deadline {
            kill_group(child.id());
            panic!("terraform {args:?} did not finish within {TERRAFORM_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    kill_group(child.id());
    Output {
        status,
        stdout: read_all(stdout),
        stderr: read_all(stderr),
    }
}

/// Kills what is left of the process group `pgid` (providers orphaned by a crash).
fn kill_group(pgid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .status();
}

fn read_all(mut file: std::fs::File) -> Vec<u8> {
    let mut bytes = Vec::new();
    file.seek(SeekFrom::Start(0)).expect("rewind output file");
    file.read_to_end(&mut bytes).expect("read output file");
    bytes
}

/// stdout and stderr of a command, for failure messages.
pub fn output_text(out: &Output) -> String {
    format!(
        "exit status: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Copies the regular files of `from` (not subdirectories) into `to`.
pub fn copy_files(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read example dir") {
        let entry = entry.expect("dir entry");
        if entry.file_type().expect("file type").is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy example file");
        }
    }
}

/// The test build of the provider without its debug info (about a sixth of the size),
/// copied into `dir`, so zipping and unzipping it stays quick; the unstripped binary when
/// the copy or `strip` fails.
pub fn packaged_binary(dir: &Path) -> PathBuf {
    let copy = dir.join("terraform-provider-cfaccess");
    let binary = provider_binary();
    if std::fs::copy(&binary, &copy).is_err() {
        return binary;
    }
    match Command::new("strip")
        .arg("--strip-debug")
        .arg(&copy)
        .status()
    {
        Ok(s) if s.success() => copy,
        _ => binary,
    }
}

/// Terraform's `h1:` hash of a provider zip (Go's `dirhash.Hash1`): sha256 over the
/// sorted lines `<sha256 hex of file>  <file name>\n` of the zip's files, base64.
pub fn zip_h1(zip: &Path) -> Result<String, String> {
    let out = Command::new("python3")
        .arg("-c")
        .arg(
            "import base64, hashlib, sys, zipfile\n\
             z = zipfile.ZipFile(sys.argv[1])\n\
             names = sorted(n for n in z.namelist() if not n.endswith('/'))\n\
             lines = ''.join(hashlib.sha256(z.read(n)).hexdigest() + '  ' + n + '\\n' for n in names)\n\
             print('h1:' + base64.b64encode(hashlib.sha256(lines.encode()).digest()).decode())",
        )
        .arg(zip)
        .output()
        .map_err(|e| format!("python3: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Copies the release `zip` from `dist` into a packed filesystem mirror under `dir` (the
/// layout a private registry mirror serves) and writes `dir/mirror.tfrc`, a CLI config
/// that installs this provider from the mirror only. Returns the config's path.
pub fn write_mirror_config(dir: &Path, dist: &Path, zip: &str) -> std::io::Result<PathBuf> {
    let mirror = dir.join("mirror");
    let pkg_dir = mirror.join(PROVIDER_ADDRESS);
    std::fs::create_dir_all(&pkg_dir)?;
    std::fs::copy(dist.join(zip), pkg_dir.join(zip))?;
    let cli_config = dir.join("mirror.tfrc");
    std::fs::write(
        &cli_config,
        format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"{PROVIDER_ADDRESS}\"]\n  }}\n  direct {{\n    exclude = [\"{PROVIDER_ADDRESS}\"]\n  }}\n}}\n",
            mirror.display()
        ),
    )?;
    Ok(cli_config)
}
