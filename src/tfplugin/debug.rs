//! Debug (reattach) mode: the provider runs on its own, typically under a debugger,
//! and Terraform attaches to it through `TF_REATTACH_PROVIDERS` instead of launching it.
//!
//! No magic cookie and no TLS (Terraform's reattach client sets no TLS config).
//! `"Test": true` and `"ProtocolVersion": 6` are both required by Terraform 1.0.x for a
//! protocol-6 provider: without `Test` its go-plugin reports version 0 (treated as 5).

use serde_json::json;

/// The reattach configuration JSON for one provider.
pub fn reattach_json(provider_address: &str, pid: u32, network: &str, address: &str) -> String {
    json!({
        provider_address: {
            "Protocol": "grpc",
            "ProtocolVersion": 6,
            "Pid": pid,
            "Test": true,
            "Addr": { "Network": network, "String": address },
        }
    })
    .to_string()
}

/// `TF_REATTACH_PROVIDERS='…'`, quoted for POSIX shells so it can be pasted as is.
pub fn reattach_env_line(provider_address: &str, pid: u32, network: &str, address: &str) -> String {
    let json = reattach_json(provider_address, pid, network, address);
    format!("TF_REATTACH_PROVIDERS='{}'", json.replace('\'', r"'\''"))
}

/// The text printed to stdout once the provider listens in debug mode.
pub fn banner(env_line: &str) -> String {
    format!(
        "Provider started in debug mode. To attach Terraform, set this in the shell that \
         runs terraform:\n\n\texport {env_line}\n\n(or prefix a single command with it). \
         Terraform neither starts nor stops this process; press Ctrl-C here to stop it.\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reattach_json_has_the_shape_terraform_parses() {
        let j: serde_json::Value = serde_json::from_str(&reattach_json(
            "registry.terraform.io/cfaccess/cfaccess",
            42,
            "unix",
            "/tmp/p.sock",
        ))
        .unwrap();
        let p = &j["registry.terraform.io/cfaccess/cfaccess"];
        assert_eq!(p["Protocol"], "grpc");
        assert_eq!(p["ProtocolVersion"], 6);
        assert_eq!(p["Pid"], 42);
        assert_eq!(p["Test"], true);
        assert_eq!(p["Addr"]["Network"], "unix");
        assert_eq!(p["Addr"]["String"], "/tmp/p.sock");
    }

    #[test]
    fn env_line_is_single_quoted_and_escapes_quotes() {
        let line = reattach_env_line("a/b/c", 1, "unix", "/tmp/it's.sock");
        assert!(line.starts_with("TF_REATTACH_PROVIDERS='{"));
        assert!(line.ends_with("}'"));
        assert!(line.contains(r"it'\''s"));
    }
}
