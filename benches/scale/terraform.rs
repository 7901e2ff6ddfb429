//! Running the real `terraform` against a provider installed through `dev_overrides`
//! (Terraform 1.0.3 then needs no `terraform init`), with the provider wrapped so that
//! each launch reports its peak RSS and CPU time.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::BoxError;

/// Upper bound for one terraform command (`BENCH_COMMAND_TIMEOUT` seconds overrides).
fn command_timeout() -> Duration {
    let secs = std::env::var("BENCH_COMMAND_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3600);
    Duration::from_secs(secs)
}

/// How the provider binary is installed for Terraform.
#[derive(Clone, Debug)]
pub enum Probe {
    /// A symlink to the binary: nothing between Terraform and the provider.
    Direct,
    /// A shell wrapper that `exec`s `/usr/bin/time`, which records the peak RSS and CPU
    /// time of every provider launch.
    Time,
    /// A shell wrapper that `exec`s `perf record` (cpu-clock samples with call graphs)
    /// writing `perf.<pid>.data` into the given directory.
    Perf(PathBuf),
}

/// The provider Terraform should load.
#[derive(Clone, Debug)]
pub struct ProviderInstall {
    /// Source address, e.g. `registry.terraform.io/cfaccess/cfaccess`.
    pub source: String,
    /// File name Terraform looks for in the override directory.
    pub exe_name: String,
    /// The real binary.
    pub binary: PathBuf,
}

/// What the provider processes of one command used (only with [`Probe::Time`]).
#[derive(Clone, Debug, Default)]
pub struct ProviderUsage {
    /// Provider processes Terraform launched.
    pub launches: usize,
    /// Largest peak RSS of any of them, KiB.
    pub peak_rss_kib: Option<u64>,
    /// User + system CPU time summed over all of them.
    pub cpu: Duration,
}

/// One finished terraform command.
#[derive(Debug)]
pub struct Run {
    pub args: String,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub wall: Duration,
    pub provider: ProviderUsage,
    /// CPU time of terraform itself, provider processes excluded (`None` when the
    /// provider's own CPU time is unknown).
    pub terraform_cpu: Option<Duration>,
}

impl Run {
    /// An error carrying the command's output, for unexpected exit codes.
    pub fn unexpected(&self, what: &str) -> BoxError {
        let tail = |s: &str| {
            let lines: Vec<&str> = s.lines().collect();
            lines[lines.len().saturating_sub(40)..].join("\n")
        };
        format!(
            "terraform {} {what} (exit {}):\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.args,
            self.code,
            tail(&self.stdout),
            tail(&self.stderr)
        )
        .into()
    }
}

/// A private Terraform working directory and CLI configuration.
pub struct Workspace {
    _tmp: tempfile::TempDir,
    pub work: PathBuf,
    provider: ProviderInstall,
    plugin_path: PathBuf,
    /// Whether terraform itself runs under `/usr/bin/time` (not with [`Probe::Direct`],
    /// whose timings should include nothing but terraform).
    time_terraform: bool,
    home: PathBuf,
    cli_config: PathBuf,
    probe_dir: PathBuf,
    terraform: PathBuf,
    env: BTreeMap<String, String>,
}

impl Workspace {
    /// Creates the directories, installs the provider (wrapped per `probe`) and writes
    /// a CLI configuration whose `dev_overrides` point at it.
    pub fn new(
        terraform: &Path,
        provider: &ProviderInstall,
        probe: &Probe,
    ) -> Result<Workspace, BoxError> {
        let tmp = tempfile::Builder::new()
            .prefix("cfaccess-bench-")
            .tempdir()?;
        let root = tmp.path().to_path_buf();
        let work = root.join("work");
        let plugins = root.join("plugins");
        let home = root.join("home");
        let probe_dir = root.join("probe");
        for d in [&work, &plugins, &home, &probe_dir] {
            std::fs::create_dir_all(d)?;
        }
        let plugin_path = plugins.join(&provider.exe_name);
        install(provider, &plugin_path, &probe_dir, probe)?;
        let cli_config = root.join("bench.tfrc");
        std::fs::write(
            &cli_config,
            format!(
                "provider_installation {{\n  dev_overrides {{\n    \"{}\" = \"{}\"\n  }}\n  direct {{}}\n}}\n",
                provider.source,
                plugins.display()
            ),
        )?;
        Ok(Workspace {
            _tmp: tmp,
            work,
            provider: provider.clone(),
            plugin_path,
            time_terraform: !matches!(probe, Probe::Direct),
            home,
            cli_config,
            probe_dir,
            terraform: terraform.to_path_buf(),
            env: BTreeMap::new(),
        })
    }

    /// Reinstalls the provider with another probe for the following commands.
    pub fn set_probe(&self, probe: &Probe) -> Result<(), BoxError> {
        std::fs::remove_file(&self.plugin_path)?;
        install(&self.provider, &self.plugin_path, &self.probe_dir, probe)
    }

    /// Sets an environment variable for every later command.
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.insert(key.to_string(), value.to_string());
    }

    /// Writes `main.tf`.
    pub fn write_config(&self, text: &str) -> Result<(), BoxError> {
        std::fs::write(self.work.join("main.tf"), text)?;
        Ok(())
    }

    /// `terraform.tfstate` of the working directory.
    pub fn state_path(&self) -> PathBuf {
        self.work.join("terraform.tfstate")
    }

    /// Runs `terraform <args>` with `extra_env` on top of the workspace environment and
    /// returns whatever it exits with; fails only when it cannot run or times out.
    pub async fn run(&self, args: &[&str], extra_env: &[(&str, &str)]) -> Result<Run, BoxError> {
        for entry in std::fs::read_dir(&self.probe_dir)? {
            std::fs::remove_file(entry?.path())?;
        }
        // terraform runs under /usr/bin/time too: its CPU time includes the provider
        // processes it waited for, which the provider wrapper reports separately.
        let terraform_report = self.probe_dir.join(TERRAFORM_REPORT);
        let mut cmd = if self.time_terraform {
            let mut c = tokio::process::Command::new(TIME);
            c.arg("-f")
                .arg(TIME_FORMAT)
                .arg("-o")
                .arg(&terraform_report)
                .arg(&self.terraform);
            c
        } else {
            tokio::process::Command::new(&self.terraform)
        };
        cmd.args(args)
            .current_dir(&self.work)
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for key in ["PATH", "TMPDIR", "LANG"] {
            if let Some(v) = std::env::var_os(key) {
                cmd.env(key, v);
            }
        }
        cmd.env("HOME", &self.home)
            .env("TF_CLI_CONFIG_FILE", &self.cli_config)
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .env("CHECKPOINT_DISABLE", "1");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let started = Instant::now();
        let output = tokio::time::timeout(command_timeout(), cmd.output())
            .await
            .map_err(|_| format!("terraform {} did not finish in time", args.join(" ")))??;
        let wall = started.elapsed();
        let provider = read_usage(&self.probe_dir)?;
        let total = std::fs::read_to_string(&terraform_report)
            .ok()
            .and_then(|t| parse_report(&t));
        let terraform_cpu = match total {
            Some((_, cpu)) if provider.launches > 0 => Some(cpu.saturating_sub(provider.cpu)),
            _ => None,
        };
        Ok(Run {
            args: args.join(" "),
            // /usr/bin/time exits with the command's status.
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            wall,
            provider,
            terraform_cpu,
        })
    }
}

/// GNU time, which reports the peak RSS and CPU time of the command it runs.
const TIME: &str = "/usr/bin/time";
/// `maxrss_kib user_secs sys_secs`.
const TIME_FORMAT: &str = "%M %U %S";
/// Report file of the terraform process itself; provider launches write `time.<pid>`.
const TERRAFORM_REPORT: &str = "terraform.time";

/// Puts the provider (or a wrapper around it) at `target`.
fn install(
    provider: &ProviderInstall,
    target: &Path,
    probe_dir: &Path,
    probe: &Probe,
) -> Result<(), BoxError> {
    let binary = provider.binary.canonicalize()?;
    let quoted = |p: &Path| -> Result<String, BoxError> {
        let s = p.to_str().ok_or("non-UTF-8 path")?;
        if s.contains('\'') {
            return Err(format!("path {s:?} contains a single quote").into());
        }
        Ok(format!("'{s}'"))
    };
    let exec = match probe {
        Probe::Direct => {
            std::os::unix::fs::symlink(&binary, target)?;
            return Ok(());
        }
        // `exec` keeps the shell's pid, so `$$` names this launch uniquely.
        Probe::Time => format!(
            "exec {TIME} -f '{TIME_FORMAT}' -o {}/time.$$ {} \"$@\"",
            quoted(probe_dir)?,
            quoted(&binary)?
        ),
        Probe::Perf(dir) => format!(
            "exec perf record -q -e cpu-clock -F 999 -g -o {}/perf.$$.data -- {} \"$@\"",
            quoted(dir)?,
            quoted(&binary)?
        ),
    };
    std::fs::write(target, format!("#!/bin/sh\n{exec}\n"))?;
    std::fs::set_permissions(target, std::fs::Permissions::from_mode(0o755))?;
    Ok(())
}

/// Sums the `/usr/bin/time` reports left by the provider wrapper (`time.<pid>`).
fn read_usage(dir: &Path) -> Result<ProviderUsage, BoxError> {
    let mut usage = ProviderUsage::default();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if !path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("time."))
        {
            continue;
        }
        let Some((rss, cpu)) = parse_report(&std::fs::read_to_string(path)?) else {
            continue;
        };
        usage.launches += 1;
        usage.peak_rss_kib = Some(usage.peak_rss_kib.map_or(rss, |p| p.max(rss)));
        usage.cpu += cpu;
    }
    Ok(usage)
}

/// `(maxrss KiB, user + system CPU)` from a [`TIME_FORMAT`] report, whose last line
/// holds the numbers (a first line may say the process was killed by a signal).
fn parse_report(text: &str) -> Option<(u64, Duration)> {
    let last = text.lines().rev().find(|l| !l.trim().is_empty())?;
    let fields: Vec<&str> = last.split_whitespace().collect();
    let [rss, user, sys] = fields[..] else {
        return None;
    };
    let secs = |s: &str| s.parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0);
    Some((
        rss.parse().ok()?,
        Duration::from_secs_f64(secs(user)? + secs(sys)?),
    ))
}

/// `terraform version`'s first line, e.g. `Terraform v1.0.3`.
pub async fn version(terraform: &Path) -> String {
    let out = tokio::process::Command::new(terraform)
        .arg("version")
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .await;
    match out {
        Ok(o) => String::from_utf8_lossy(&o.stdout)
            .lines()
            .next()
            .unwrap_or("unknown")
            .to_string(),
        Err(e) => format!("unknown ({e})"),
    }
}
