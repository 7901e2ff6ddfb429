//! The `type` of an Access application.

/// An application's `type`. The provider creates only `self_hosted` and `saas`
/// applications but reads every type; a type this code does not know is kept as sent.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AppType {
    /// `self_hosted`
    SelfHosted,
    /// `saas`
    Saas,
    /// `ssh`
    Ssh,
    /// `vnc`
    Vnc,
    /// `app_launcher`
    AppLauncher,
    /// `warp`
    Warp,
    /// `biso`
    Biso,
    /// `bookmark`
    Bookmark,
    /// `dash_sso`
    DashSso,
    /// `infrastructure`
    Infrastructure,
    /// `rdp`
    Rdp,
    /// `mcp`
    Mcp,
    /// `mcp_portal`
    McpPortal,
    /// A type this code does not know (or none: the empty string), kept as sent.
    Other(String),
}

/// An application read without a `type` has the empty one, as before the enum.
impl Default for AppType {
    fn default() -> Self {
        AppType::Other(String::new())
    }
}

impl AppType {
    /// The wire value.
    pub fn as_str(&self) -> &str {
        match self {
            AppType::SelfHosted => "self_hosted",
            AppType::Saas => "saas",
            AppType::Ssh => "ssh",
            AppType::Vnc => "vnc",
            AppType::AppLauncher => "app_launcher",
            AppType::Warp => "warp",
            AppType::Biso => "biso",
            AppType::Bookmark => "bookmark",
            AppType::DashSso => "dash_sso",
            AppType::Infrastructure => "infrastructure",
            AppType::Rdp => "rdp",
            AppType::Mcp => "mcp",
            AppType::McpPortal => "mcp_portal",
            AppType::Other(other) => other,
        }
    }

    /// Reads a wire value; unknown values become [`AppType::Other`].
    pub fn parse(value: &str) -> AppType {
        match value {
            "self_hosted" => AppType::SelfHosted,
            "saas" => AppType::Saas,
            "ssh" => AppType::Ssh,
            "vnc" => AppType::Vnc,
            "app_launcher" => AppType::AppLauncher,
            "warp" => AppType::Warp,
            "biso" => AppType::Biso,
            "bookmark" => AppType::Bookmark,
            "dash_sso" => AppType::DashSso,
            "infrastructure" => AppType::Infrastructure,
            "rdp" => AppType::Rdp,
            "mcp" => AppType::Mcp,
            "mcp_portal" => AppType::McpPortal,
            other => AppType::Other(other.to_owned()),
        }
    }
}

wire_string!(AppType);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn known_and_unknown_types_round_trip_unchanged() {
        for wire in ["self_hosted", "saas", "mcp_portal", "quantum_tunnel", ""] {
            let kind: AppType = serde_json::from_value(json!(wire)).unwrap();
            assert_eq!(kind.as_str(), wire);
            assert_eq!(serde_json::to_value(&kind).unwrap(), json!(wire));
        }
        assert_eq!(AppType::parse("saas"), AppType::Saas);
        assert_eq!(
            AppType::parse("quantum_tunnel"),
            AppType::Other("quantum_tunnel".into())
        );
        assert_eq!(AppType::default().as_str(), "");
    }
}
