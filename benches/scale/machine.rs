//! The machine and toolchain a benchmark ran on, for the report header.

use std::path::Path;

/// Facts printed above the tables.
#[derive(Clone, Debug)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub memory: String,
    pub kernel: String,
    pub date: String,
    pub commit: String,
    /// `/proc/loadavg`'s 1/5/15-minute load averages when the run started: other work
    /// on the machine shows in wall times.
    pub load: String,
}

impl Machine {
    /// The current load averages, e.g. `0.52 0.40 0.31`.
    pub fn load_average() -> String {
        std::fs::read_to_string("/proc/loadavg").map_or_else(
            |_| "unknown".to_string(),
            |s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        )
    }

    /// Describes this machine; `load` is [`Machine::load_average`] taken at the start.
    pub fn describe(repo: &Path, load: String) -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|l| l.split_once(':'))
            .map_or_else(|| "unknown".to_string(), |(_, m)| m.trim().to_string());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .map_or_else(
                || "unknown".to_string(),
                |kib| format!("{:.1} GiB", kib / 1024.0 / 1024.0),
            );
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map_or_else(|_| "unknown".to_string(), |s| s.trim().to_string());
        let date = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| "unknown".to_string());
        let commit = std::process::Command::new("git")
            .args(["rev-parse", "--short", "HEAD"])
            .current_dir(repo)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map_or_else(
                || "unknown".to_string(),
                |o| String::from_utf8_lossy(&o.stdout).trim().to_string(),
            );
        Machine {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model,
            memory,
            kernel,
            date,
            commit,
            load,
        }
    }
}
