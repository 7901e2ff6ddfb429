//! The `cfaccess-emulator` binary: flags, the "listening on" line, and the token check.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::Value;

use super::common::{ACC, json_of};

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(args: &[&str]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cfaccess-emulator"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("cfaccess-emulator listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_string();
    (Child(child), url)
}

/// Runs the binary to its exit (a bad flag or `--help`), its output captured.
fn run(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_cfaccess-emulator"))
        .args(args)
        .output()
        .unwrap()
}

#[tokio::test]
async fn binary_serves_the_demo_seed_with_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let state_arg = state.to_str().unwrap();
    let (child, url) = spawn(&[
        "--listen",
        "127.0.0.1:0",
        "--seed-demo",
        "--token",
        "secret",
        "--rate-limit",
        "off",
        "--state",
        state_arg,
        "--fault",
        "DELETE:/**:503:1",
    ]);
    let client = reqwest::Client::new();
    let apps_url = format!("{url}/client/v4/accounts/{ACC}/access/apps");
    let ok: Value = json_of(client.get(&apps_url).bearer_auth("secret")).await;
    assert_eq!(ok["result"].as_array().unwrap().len(), 2);
    let denied = client
        .get(&apps_url)
        .bearer_auth("other")
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status().as_u16(), 403);
    let id = ok["result"][0]["id"].as_str().unwrap();
    let faulted = client
        .delete(format!("{apps_url}/{id}"))
        .bearer_auth("secret")
        .send()
        .await
        .unwrap();
    assert_eq!(faulted.status().as_u16(), 503);
    drop(child);
    assert!(state.exists());
}

#[test]
fn help_and_bad_flags() {
    let out = run(&["--help"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--listen",
        "--state",
        "--seed",
        "--seed-demo",
        "--token",
        "--account",
        "--rate-limit",
        "--fault",
        "--concurrent-writer",
    ] {
        assert!(text.contains(flag), "{flag} documented");
    }
    let bad = run(&["--nope"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[tokio::test]
async fn binary_runs_a_concurrent_writer() {
    let app = cfaccess_emulator::demo_ids::INTERNAL_API_APP;
    let spec = format!("{app}:10:2");
    let (_child, url) = spawn(&[
        "--listen",
        "127.0.0.1:0",
        "--seed-demo",
        "--concurrent-writer",
        &spec,
    ]);
    let client = reqwest::Client::new();
    let mut attached = Value::Null;
    for _ in 0..300 {
        let writers: Value = json_of(client.get(format!("{url}/__emulator/writers"))).await;
        attached = writers["writers"][0]["attached_count"].clone();
        if attached == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(attached, 2);
}

#[test]
fn concurrent_writer_on_an_unknown_app_is_refused() {
    let bad = run(&[
        "--listen",
        "127.0.0.1:0",
        "--concurrent-writer",
        "00000000-0000-4000-8000-000000000000:10",
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no application"));
}
