//! The go-plugin handshake: how a process launched by Terraform proves it is a
//! Terraform plugin, agrees on the protocol version and says where it listens.

/// Environment variable carrying the magic cookie.
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
/// The cookie value Terraform sets for every provider (fixed since Terraform 0.12).
pub const MAGIC_COOKIE_VALUE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
/// go-plugin's own protocol version (the first handshake field).
pub const CORE_PROTOCOL_VERSION: u32 = 1;
/// The only tfplugin major version this provider speaks.
pub const PLUGIN_PROTOCOL_VERSION: u32 = 6;

/// What a person running the binary by hand sees.
pub const NOT_A_PLUGIN_MESSAGE: &str = "This binary is a plugin. These are not meant to be \
executed directly. Please execute the program that consumes these plugins, which will \
load any plugins automatically.\n\n\
terraform-provider-cfaccess is a Terraform provider: declare it in a configuration's \
required_providers block and run `terraform`. To debug it, run it with --debug; see --help.";

/// Why the handshake cannot proceed.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    /// Not started by Terraform (missing or wrong magic cookie).
    #[error("{NOT_A_PLUGIN_MESSAGE}")]
    NotLaunchedByTerraform,
    /// Terraform offered no protocol version we speak.
    #[error(
        "this provider speaks plugin protocol 6, but Terraform offered {offered:?}; \
         Terraform 0.15.0 or later is required"
    )]
    UnsupportedProtocol { offered: String },
}

/// Checks the magic cookie in the environment.
pub fn check_magic_cookie() -> Result<(), HandshakeError> {
    cookie_ok(std::env::var(MAGIC_COOKIE_KEY).ok().as_deref())
}

fn cookie_ok(value: Option<&str>) -> Result<(), HandshakeError> {
    match value {
        Some(v) if v == MAGIC_COOKIE_VALUE => Ok(()),
        _ => Err(HandshakeError::NotLaunchedByTerraform),
    }
}

/// Picks the protocol version from `PLUGIN_PROTOCOL_VERSIONS`.
pub fn negotiate_protocol_version() -> Result<u32, HandshakeError> {
    negotiate(std::env::var("PLUGIN_PROTOCOL_VERSIONS").ok().as_deref())
}

/// `offered` is a comma-separated, unordered list of major versions. Absent means the
/// client predates negotiation and uses the plugin's default, which for us is 6.
fn negotiate(offered: Option<&str>) -> Result<u32, HandshakeError> {
    let Some(list) = offered.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(PLUGIN_PROTOCOL_VERSION);
    };
    let speaks_ours = list
        .split(',')
        .filter_map(|v| v.trim().parse::<u32>().ok())
        .any(|v| v == PLUGIN_PROTOCOL_VERSION);
    if speaks_ours {
        Ok(PLUGIN_PROTOCOL_VERSION)
    } else {
        Err(HandshakeError::UnsupportedProtocol {
            offered: list.to_string(),
        })
    }
}

/// The single line printed to stdout once the listener accepts connections:
/// `CORE|APP|NETWORK|ADDRESS|grpc|SERVER-CERT`. `server_cert` is empty without TLS.
pub fn handshake_line(version: u32, network: &str, address: &str, server_cert: &str) -> String {
    format!("{CORE_PROTOCOL_VERSION}|{version}|{network}|{address}|grpc|{server_cert}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_must_match_exactly() {
        assert!(cookie_ok(Some(MAGIC_COOKIE_VALUE)).is_ok());
        assert!(cookie_ok(None).is_err());
        assert!(cookie_ok(Some("")).is_err());
        assert!(cookie_ok(Some(&MAGIC_COOKIE_VALUE[1..])).is_err());
    }

    #[test]
    fn negotiation_picks_six_or_fails() {
        assert_eq!(negotiate(Some("5,6")).unwrap(), 6);
        assert_eq!(negotiate(Some("6")).unwrap(), 6);
        assert_eq!(negotiate(Some(" 6 , 5 ")).unwrap(), 6);
        assert_eq!(negotiate(None).unwrap(), 6);
        let err = negotiate(Some("4,5")).unwrap_err();
        assert!(err.to_string().contains("4,5"));
        assert!(negotiate(Some("7")).is_err());
    }

    #[test]
    fn line_has_six_fields() {
        let line = handshake_line(6, "unix", "/tmp/x.sock", "QUJD");
        assert_eq!(line, "1|6|unix|/tmp/x.sock|grpc|QUJD");
        assert_eq!(
            handshake_line(6, "tcp", "127.0.0.1:10000", ""),
            "1|6|tcp|127.0.0.1:10000|grpc|"
        );
    }

    #[test]
    fn friendly_message_says_what_the_binary_is() {
        let msg = HandshakeError::NotLaunchedByTerraform.to_string();
        assert!(msg.starts_with("This binary is a plugin."));
        assert!(msg.contains("--debug"));
    }
}
