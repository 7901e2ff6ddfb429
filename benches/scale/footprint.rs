//! Provider footprint, ours next to the Go peer: binary size, start-to-handshake and
//! handshake-to-schema latency, `terraform validate` of a configuration holding only
//! the provider block, and the provider's peak RSS during that validate.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::BoxError;
use crate::plugin::{SchemaTiming, announced_protocol, handshake_to_schema};
use crate::terraform::{Probe, ProviderInstall, Workspace};

/// A provider to measure.
#[derive(Clone, Debug)]
pub struct Subject {
    /// Short name for the tables.
    pub label: String,
    /// How Terraform installs it.
    pub install: ProviderInstall,
    /// `terraform { required_providers }` source and provider block name.
    pub source: String,
    pub local_name: String,
}

/// Everything measured for one provider.
#[derive(Clone, Debug)]
pub struct Footprint {
    pub label: String,
    pub binary_bytes: u64,
    /// Plugin libraries found in the binary (`hashicorp/…@vX.Y.Z`), Go binaries only.
    pub libraries: Vec<String>,
    /// Protocol announced when only 5 is offered, when only 6 is offered.
    pub protocol_offered_5: String,
    pub protocol_offered_6: String,
    /// Median / minimum / maximum over the runs.
    pub to_handshake: Stats,
    pub to_schema: Stats,
    pub schema_bytes: usize,
    pub resource_types: usize,
    pub data_source_types: usize,
    /// Largest VmHWM seen right after the schema was served, KiB.
    pub rss_after_schema_kib: Option<u64>,
    /// Largest private (anonymous) RSS seen at the same moments, KiB.
    pub anon_after_schema_kib: Option<u64>,
    pub validate_wall: Stats,
    /// Largest provider peak RSS over the validate runs with the `time` wrapper, KiB.
    pub validate_rss_kib: Option<u64>,
    pub validate_launches: usize,
}

/// Summary of repeated timings.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    pub median: Duration,
    pub min: Duration,
    pub max: Duration,
    pub runs: usize,
}

impl Stats {
    pub fn of(samples: &[Duration]) -> Stats {
        let mut s = samples.to_vec();
        s.sort();
        if s.is_empty() {
            return Stats::default();
        }
        let mid = s.len() / 2;
        let median = if s.len() % 2 == 1 {
            s[mid]
        } else {
            (s[mid - 1] + s[mid]) / 2
        };
        Stats {
            median,
            min: s[0],
            max: s[s.len() - 1],
            runs: s.len(),
        }
    }
}

/// Measures every subject; the handshake runs are interleaved so that both providers
/// see the same machine conditions.
pub async fn measure(
    terraform: &Path,
    subjects: &[Subject],
    schema_runs: usize,
    validate_runs: usize,
) -> Result<Vec<Footprint>, BoxError> {
    let mut timings: Vec<Vec<SchemaTiming>> = vec![Vec::new(); subjects.len()];
    // One untimed launch each first: page cache and dynamic loader warm for everyone.
    for s in subjects {
        handshake_to_schema(&s.install.binary).await?;
    }
    for _ in 0..schema_runs {
        for (i, s) in subjects.iter().enumerate() {
            timings[i].push(handshake_to_schema(&s.install.binary).await?);
        }
    }
    let mut out = Vec::new();
    for (s, t) in subjects.iter().zip(timings) {
        eprintln!("footprint: terraform validate with {}", s.label);
        let (validate_wall, validate_rss_kib, validate_launches) =
            validate(terraform, s, validate_runs).await?;
        let last = t.last().ok_or("no schema runs")?;
        out.push(Footprint {
            label: s.label.clone(),
            binary_bytes: std::fs::metadata(&s.install.binary)?.len(),
            libraries: plugin_libraries(&s.install.binary)?,
            protocol_offered_5: announced_protocol(&s.install.binary, "5")
                .await
                .unwrap_or_else(|e| format!("refused ({})", first_line(&e.to_string()))),
            protocol_offered_6: announced_protocol(&s.install.binary, "6")
                .await
                .unwrap_or_else(|e| format!("refused ({})", first_line(&e.to_string()))),
            to_handshake: Stats::of(&t.iter().map(|x| x.to_handshake).collect::<Vec<_>>()),
            to_schema: Stats::of(&t.iter().map(|x| x.to_schema).collect::<Vec<_>>()),
            schema_bytes: last.schema_bytes,
            resource_types: last.resource_types,
            data_source_types: last.data_source_types,
            rss_after_schema_kib: t.iter().filter_map(|x| x.peak_rss_kib).max(),
            anon_after_schema_kib: t.iter().filter_map(|x| x.anon_rss_kib).max(),
            validate_wall,
            validate_rss_kib,
            validate_launches,
        });
    }
    Ok(out)
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// `terraform validate` of a configuration holding only the provider block: median wall
/// time over `runs` without a wrapper, then the peak RSS over three runs with one.
async fn validate(
    terraform: &Path,
    subject: &Subject,
    runs: usize,
) -> Result<(Stats, Option<u64>, usize), BoxError> {
    let config = format!(
        "terraform {{\n  required_providers {{\n    {name} = {{\n      source = \"{source}\"\n    }}\n  }}\n}}\n\nprovider \"{name}\" {{}}\n",
        name = subject.local_name,
        source = subject.source,
    );
    let args = ["validate", "-no-color"];
    let direct = Workspace::new(terraform, &subject.install, &Probe::Direct)?;
    direct.write_config(&config)?;
    let mut walls = Vec::new();
    // The first run is a warm-up (Terraform reads and caches nothing between runs, but
    // the page cache does).
    for i in 0..=runs {
        let run = direct.run(&args, &[]).await?;
        if run.code != 0 {
            return Err(run.unexpected("failed"));
        }
        if i > 0 {
            walls.push(run.wall);
        }
    }
    let wrapped = Workspace::new(terraform, &subject.install, &Probe::Time)?;
    wrapped.write_config(&config)?;
    let mut rss = None;
    let mut launches = 0;
    for _ in 0..3 {
        let run = wrapped.run(&args, &[]).await?;
        if run.code != 0 {
            return Err(run.unexpected("failed"));
        }
        launches = launches.max(run.provider.launches);
        rss = rss.max(run.provider.peak_rss_kib);
    }
    if launches == 0 {
        return Err(format!(
            "terraform validate never launched {} through the wrapper",
            subject.label
        )
        .into());
    }
    Ok((Stats::of(&walls), rss, launches))
}

/// HashiCorp plugin libraries compiled into a Go binary, from the module paths its
/// debug strings keep (`github.com/hashicorp/<name>@v<version>/…`).
fn plugin_libraries(binary: &PathBuf) -> Result<Vec<String>, BoxError> {
    let bytes = std::fs::read(binary)?;
    let needle = b"github.com/hashicorp/";
    let mut found = BTreeSet::new();
    let mut at = 0;
    while let Some(pos) = find(&bytes[at..], needle) {
        let start = at + pos + needle.len();
        let end = bytes[start..]
            .iter()
            .position(|b| !(b.is_ascii_alphanumeric() || b"-_./@".contains(b)))
            .map_or(bytes.len(), |p| start + p);
        if let Ok(text) = std::str::from_utf8(&bytes[start..end])
            && let Some((name, rest)) = text.split_once("@v")
            && (name.starts_with("terraform-plugin-") || name == "go-plugin")
        {
            let version: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            found.insert(format!("{name} v{}", version.trim_end_matches('.')));
        }
        at = end.max(start);
    }
    Ok(found.into_iter().collect())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
