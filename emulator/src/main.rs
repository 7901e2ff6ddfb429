//! `cfaccess-emulator`: the Cloudflare Access API emulator as a standalone server.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use cfaccess_emulator::{ConcurrentWriter, Emulator, EmulatorConfig, Fault, RateLimit, Seed};

const HELP: &str = "\
cfaccess-emulator: offline emulator of the Cloudflare v4 Access API

USAGE:
    cfaccess-emulator [OPTIONS]

OPTIONS:
    --listen ADDR          address to listen on [default: 127.0.0.1:8787]; port 0 picks a free port
    --state FILE           load state from FILE at start (if it exists) and save it atomically after every write
    --seed FILE            JSON seed ({\"apps\": [...], \"policies\": [...], \"accounts\": {ID: {...}}}),
                           applied when there is no state file yet
    --seed-demo            seed the downstream demo apps \"Internal API\" and \"Company wiki\"
    --token TOKEN          accept only this bearer token (default: any non-empty bearer token)
    --account ID           account id to serve (repeatable) [default: 023e105f4ecef8ad9ca31a8372d0c353]
    --rate-limit N/SECS    requests per window per token [default: 1200/300]; `off` disables it;
                           SECS at most 86400 (one day)
    --fault SPEC           inject a fault (repeatable): METHOD:PATH:KIND:COUNT, e.g.
                           POST:/accounts/*/access/policies:503:2
                           PUT:/accounts/*/access/apps/*:drop:1
                           *:/**:latency=200:persistent      GET:/**:ratelimit=5:3
    --concurrent-writer SPEC
                           simulate another team editing an app (repeatable): APP_ID:INTERVAL_MS[:COUNT]
                           attaches a new policy of its own (\"concurrent-writer N\") every INTERVAL_MS;
                           GET /__emulator/writers reports which of them were lost
    -h, --help             print this help
    -V, --version          print the version

On start it prints one line to stdout: `cfaccess-emulator listening on http://HOST:PORT`.
Point the provider at http://HOST:PORT/client/v4. Logs go to stderr (RUST_LOG=debug for more).
";

/// Longest accepted `--rate-limit` window. Cloudflare's is 300 s; a day is already
/// far beyond any test, and bounding it keeps every `Instant + window` representable.
const MAX_RATE_WINDOW_SECS: u64 = 86_400;

/// The warning printed when the emulator listens beyond loopback, if it does.
fn exposure_warning(listen: SocketAddr) -> Option<String> {
    (!listen.ip().is_loopback()).then(|| {
        format!(
            "listening on {listen}, which is reachable from other machines: the emulator \
             is a test tool without TLS, and anyone who can reach it can use its API (and, \
             without --token, its admin API, which can replace the whole state)"
        )
    })
}

/// What the command line asked for.
struct Args {
    config: EmulatorConfig,
    faults: Vec<Fault>,
    writers: Vec<ConcurrentWriter>,
}

fn parse_rate_limit(v: &str) -> Result<RateLimit, String> {
    if v == "off" {
        return Ok(RateLimit::disabled());
    }
    let (n, secs) = v
        .split_once('/')
        .ok_or_else(|| format!("--rate-limit '{v}': expected N/SECS or off"))?;
    let requests: u32 = n
        .parse()
        .map_err(|_| format!("--rate-limit '{v}': bad request count"))?;
    let secs: u64 = secs
        .parse()
        .map_err(|_| format!("--rate-limit '{v}': bad window"))?;
    if requests == 0 || secs == 0 {
        return Err(format!(
            "--rate-limit '{v}': both numbers must be positive (or use off)"
        ));
    }
    if secs > MAX_RATE_WINDOW_SECS {
        return Err(format!(
            "--rate-limit '{v}': the window may be at most {MAX_RATE_WINDOW_SECS} seconds (one day)"
        ));
    }
    Ok(RateLimit {
        requests,
        per: Duration::from_secs(secs),
    })
}

fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut config = EmulatorConfig {
        listen: Some(SocketAddr::from(([127, 0, 0, 1], 8787))),
        ..EmulatorConfig::default()
    };
    let mut faults = Vec::new();
    let mut writers = Vec::new();
    let mut seed_file: Option<PathBuf> = None;
    let mut seed_demo = false;
    while let Some(arg) = argv.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| argv.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => {
                print!("{HELP}");
                return Ok(None);
            }
            "-V" | "--version" => {
                println!("cfaccess-emulator {}", env!("CARGO_PKG_VERSION"));
                return Ok(None);
            }
            "--listen" => {
                let v = value("--listen")?;
                config.listen = Some(
                    v.parse()
                        .map_err(|_| format!("--listen '{v}': expected HOST:PORT"))?,
                );
            }
            "--state" => config.state_file = Some(PathBuf::from(value("--state")?)),
            "--seed" => seed_file = Some(PathBuf::from(value("--seed")?)),
            "--seed-demo" => seed_demo = true,
            "--token" => config.token = Some(value("--token")?),
            "--account" => config.accounts.push(value("--account")?),
            "--rate-limit" => config.rate_limit = Some(parse_rate_limit(&value("--rate-limit")?)?),
            "--fault" => faults.push(Fault::parse_cli(&value("--fault")?)?),
            "--concurrent-writer" => {
                writers.push(ConcurrentWriter::parse_cli(&value("--concurrent-writer")?)?)
            }
            other => return Err(format!("unknown argument '{other}' (see --help)")),
        }
    }
    let mut seed: Option<Seed> = None;
    if let Some(path) = seed_file {
        let bytes = std::fs::read(&path).map_err(|e| format!("--seed {}: {e}", path.display()))?;
        seed = Some(
            serde_json::from_slice(&bytes)
                .map_err(|e| format!("--seed {}: {e}", path.display()))?,
        );
    }
    if seed_demo {
        let demo = Seed::downstream_demo();
        let merged = seed.get_or_insert_with(Seed::default);
        merged.apps.extend(demo.apps);
        merged.policies.extend(demo.policies);
    }
    config.seed = seed;
    Ok(Some(Args {
        config,
        faults,
        writers,
    }))
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(a)) => a,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cfaccess-emulator: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(warning) = args.config.listen.and_then(exposure_warning) {
        tracing::warn!("{warning}");
    }
    let emulator = match Emulator::start(args.config).await {
        Ok(e) => e,
        Err(e) => {
            eprintln!("cfaccess-emulator: {e}");
            return ExitCode::FAILURE;
        }
    };
    for fault in args.faults {
        emulator.add_fault(fault);
    }
    for writer in args.writers {
        if let Err(e) = emulator.start_concurrent_writer(writer) {
            eprintln!("cfaccess-emulator: --concurrent-writer: {e}");
            return ExitCode::from(2);
        }
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "cfaccess-emulator listening on http://{}",
        emulator.addr()
    );
    let _ = out.flush();
    drop(out);
    wait_for_signal().await;
    emulator.shutdown().await;
    ExitCode::SUCCESS
}

/// Ctrl-C or SIGTERM.
async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<Args>, String> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn parses_flags() {
        let a = parse(&[
            "--listen",
            "127.0.0.1:0",
            "--token",
            "t",
            "--account",
            "a",
            "--account=b",
            "--rate-limit",
            "10/5",
            "--seed-demo",
            "--fault",
            "POST:/**:503:1",
            "--concurrent-writer",
            "4b1c7f0e-8a52-4d0b-9d3e-1f6a2c9e5b01:150:80",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(a.config.listen.unwrap().port(), 0);
        assert_eq!(a.config.token.as_deref(), Some("t"));
        assert_eq!(a.config.accounts, vec!["a", "b"]);
        assert_eq!(
            a.config.rate_limit,
            Some(RateLimit {
                requests: 10,
                per: Duration::from_secs(5)
            })
        );
        assert_eq!(a.config.seed.unwrap().apps.len(), 2);
        assert_eq!(a.faults.len(), 1);
        assert_eq!(a.writers.len(), 1);
        assert_eq!(a.writers[0].max_attachments, Some(80));
        let off = parse(&["--rate-limit", "off"]).unwrap().unwrap();
        assert!(off.config.rate_limit.unwrap().is_disabled());
    }

    #[test]
    fn refuses_bad_flags() {
        for bad in [
            &["--bogus"][..],
            &["--listen"],
            &["--listen", "nope"],
            &["--rate-limit", "5"],
            &["--rate-limit", "0/5"],
            &["--rate-limit", "1/18446744073709551615"],
            &["--rate-limit", "1/86401"],
            &["--rate-limit", "99999999999/5"],
            &["--rate-limit", "/"],
            &["--rate-limit", "1/-5"],
            &["--listen", "127.0.0.1:99999"],
            &["--token"],
            &["--concurrent-writer", "app"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        assert!(parse(&["--rate-limit", "1/86400"]).is_ok());
    }

    #[test]
    fn arbitrary_arguments_never_panic() {
        // Every flag with awkward values, and odd spellings, in sequence.
        let values = [
            "",
            "=",
            "/",
            "0",
            "-1",
            "1/0",
            "1/1e9",
            "4294967296/1",
            "1/1/1",
            "off=",
            "::1",
            "[::1]:0",
            "0.0.0.0:0",
            "\u{0}",
            "ünï/cödé",
            "*:*:*:*",
            "POST:/**:503:x",
        ];
        let flags = [
            "--listen",
            "--state",
            "--seed",
            "--token",
            "--account",
            "--rate-limit",
            "--fault",
            "--seed-demo",
            "--bogus",
            "-V=",
            "--=",
        ];
        for flag in flags {
            for value in values {
                let _ = parse(&[flag, value]);
                let _ = parse(&[&format!("{flag}={value}")]);
            }
        }
    }

    #[test]
    fn listening_beyond_loopback_warns() {
        let warn = |s: &str| exposure_warning(s.parse().unwrap());
        assert!(warn("127.0.0.1:8787").is_none());
        assert!(warn("[::1]:8787").is_none());
        for exposed in ["0.0.0.0:8787", "[::]:8787", "192.168.1.5:80"] {
            let text = warn(exposed).expect(exposed);
            assert!(text.contains("reachable from other machines"), "{text}");
        }
    }
}
