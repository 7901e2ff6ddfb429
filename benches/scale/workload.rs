//! The benchmark's account and configuration: N `cfaccess_linked_app_policy`
//! resources over M = N/5 seeded self-hosted apps, each policy linking one seeded MCP
//! server app and attached to one target app.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use cfaccess_emulator::{Emulator, Seed};
use serde_json::{Value, json};

use crate::BoxError;

/// Policies attached to each target app.
pub const POLICIES_PER_APP: usize = 5;

/// Resource type and name in the generated configuration.
const RESOURCE: &str = "cfaccess_linked_app_policy.p";

/// One benchmark size.
#[derive(Clone, Debug)]
pub struct Workload {
    /// Policies (Terraform resources).
    pub n: usize,
    /// Target apps.
    pub m: usize,
    /// Id (= uid in the emulator) of the MCP server app every policy links.
    pub mcp_app: String,
    /// Ids of the target apps; policy `i` targets `targets[i % m]`.
    pub targets: Vec<String>,
}

impl Workload {
    pub fn new(n: usize) -> Workload {
        let m = (n / POLICIES_PER_APP).max(1);
        Workload {
            n,
            m,
            mcp_app: uuid::Uuid::new_v4().to_string(),
            targets: (0..m).map(|_| uuid::Uuid::new_v4().to_string()).collect(),
        }
    }

    /// The M target apps and the MCP server app; no policies (Terraform creates them).
    pub fn seed(&self) -> Seed {
        let mut apps = vec![self_hosted_app(
            &self.mcp_app,
            "bench MCP server".to_string(),
            "mcp.bench.example.com".to_string(),
        )];
        apps.extend(self.targets.iter().enumerate().map(|(i, id)| {
            self_hosted_app(
                id,
                format!("bench app {i:05}"),
                format!("app-{i:05}.bench.example.com"),
            )
        }));
        Seed {
            apps,
            ..Default::default()
        }
    }

    /// `main.tf`: the provider with `requests_per_second = rps` and N policies.
    pub fn config(&self, rps: f64) -> String {
        let targets = self
            .targets
            .iter()
            .map(|t| format!("    \"{t}\",\n"))
            .collect::<String>();
        format!(
            r#"{header}
locals {{
  mcp_app = "{mcp}"
  targets = [
{targets}  ]
}}

resource "cfaccess_linked_app_policy" "p" {{
  count           = {n}
  name            = "bench policy ${{count.index}}"
  linked_app_uids = [local.mcp_app]
  target_app_ids  = [local.targets[count.index % {m}]]
}}
"#,
            header = provider_header(rps),
            mcp = self.mcp_app,
            n = self.n,
            m = self.m,
        )
    }

    /// Terraform address of policy `i`.
    pub fn address(i: usize) -> String {
        format!("{RESOURCE}[{i}]")
    }

    /// The target app of policy `i`.
    pub fn target_of(&self, i: usize) -> &str {
        &self.targets[i % self.m]
    }

    /// 1% of the policies (at least one), spread over the whole range.
    pub fn drift_indices(&self) -> Vec<usize> {
        let k = (self.n / 100).max(1);
        (0..k).map(|j| j * self.n / k).collect()
    }
}

/// A seed self-hosted app named `name` at `domain`, without policies.
pub fn self_hosted_app(id: &str, name: String, domain: String) -> Value {
    Seed::self_hosted_app(id, &name, &domain)
}

/// The `terraform` and `provider` blocks of a benchmark's `main.tf`, the provider's
/// client limiter at `rps`.
pub fn provider_header(rps: f64) -> String {
    format!(
        r#"terraform {{
  required_providers {{
    cfaccess = {{
      source = "cfaccess/cfaccess"
    }}
  }}
}}

provider "cfaccess" {{
  requests_per_second = {rps}
}}
"#
    )
}

/// Policy ids by `count.index`, read from the local state file.
pub fn policy_ids(state_path: &Path) -> Result<BTreeMap<usize, String>, BoxError> {
    let state: Value = serde_json::from_slice(&std::fs::read(state_path)?)?;
    let mut ids = BTreeMap::new();
    for resource in state
        .get("resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|r| r.get("type") == Some(&json!("cfaccess_linked_app_policy")))
    {
        for instance in resource
            .get("instances")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let index = instance.get("index_key").and_then(Value::as_u64);
            let id = instance.pointer("/attributes/id").and_then(Value::as_str);
            if let (Some(index), Some(id)) = (index, id) {
                ids.insert(usize::try_from(index)?, id.to_string());
            }
        }
    }
    Ok(ids)
}

/// `(policy id, precedence)` attachments of an app as the emulator holds them.
pub fn attachments(emulator: &Emulator, account: &str, app_id: &str) -> Vec<(String, u32)> {
    emulator
        .app(account, app_id)
        .and_then(|app| app.get("policies").cloned())
        .and_then(|p| p.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|p| {
            let id = p.get("id")?.as_str()?.to_string();
            let precedence = u32::try_from(p.get("precedence")?.as_u64()?).ok()?;
            Some((id, precedence))
        })
        .collect()
}

/// Checks that the account holds exactly the workload's policies, each attached to its
/// own target app.
pub fn check_applied(
    emulator: &Emulator,
    account: &str,
    workload: &Workload,
    ids: &BTreeMap<usize, String>,
) -> Result<(), BoxError> {
    if ids.len() != workload.n || emulator.policies(account).len() != workload.n {
        return Err(format!(
            "expected {} policies, state has {} and the account {}",
            workload.n,
            ids.len(),
            emulator.policies(account).len()
        )
        .into());
    }
    let mut by_app: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (i, id) in ids {
        by_app
            .entry(workload.target_of(*i))
            .or_default()
            .insert(id.clone());
    }
    for (app, want) in by_app {
        let have: BTreeSet<String> = attachments(emulator, account, app)
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        if have != want {
            return Err(format!("app {app} has attachments {have:?}, expected {want:?}").into());
        }
    }
    Ok(())
}

/// Detaches policy `policy_id` from `app_id` out of band, as someone in the dashboard
/// would; the other attachments keep their precedence.
pub fn detach(
    emulator: &Emulator,
    account: &str,
    app_id: &str,
    policy_id: &str,
) -> Result<(), BoxError> {
    let links: Vec<(String, u32)> = attachments(emulator, account, app_id)
        .into_iter()
        .filter(|(id, _)| id != policy_id)
        .collect();
    if emulator.set_attachments_out_of_band(account, app_id, links) {
        Ok(())
    } else {
        Err(format!("cannot detach {policy_id} from {app_id}").into())
    }
}

/// Addresses a plain-text plan says it will update in place.
pub fn planned_updates(plan_stdout: &str) -> BTreeSet<String> {
    plan_stdout
        .lines()
        .filter_map(|l| {
            let rest = l.trim().strip_prefix("# ")?;
            let addr = rest.strip_suffix(" will be updated in-place")?;
            Some(addr.to_string())
        })
        .collect()
}

/// Checks that the account holds no policies and no attachments any more.
pub fn check_destroyed(
    emulator: &Emulator,
    account: &str,
    workload: &Workload,
) -> Result<(), BoxError> {
    let left = emulator.policies(account).len();
    let attached: usize = workload
        .targets
        .iter()
        .map(|t| attachments(emulator, account, t).len())
        .sum();
    if left != 0 || attached != 0 {
        return Err(
            format!("after destroy: {left} policies and {attached} attachments left").into(),
        );
    }
    Ok(())
}
