//! The Google layer through the binary: no credentials fails fast and says how to fix it;
//! `--emulator` behaves like a real cloud across invocations; `cairn emulator` serves other
//! processes; nothing secret reaches either process's output at -vv.

use std::time::{Duration, Instant};

use crate::support::*;

const SECRET: &str = "sk-live-DO-NOT-PRINT-4242";

const STACK: &str = r#"
provider "google" {
  project = "demo-project"
}

variable "api_key" {
  type      = string
  sensitive = true
}

resource "google_secret_manager_secret" "api" {
  secret_id = "api-key"
  replication {
    auto {}
  }
  labels = { team = "platform" }
}

resource "google_secret_manager_secret_version" "api" {
  secret                 = google_secret_manager_secret.api.id
  secret_data_wo         = var.api_key
  secret_data_wo_version = "1"
}
"#;

fn cairn(args: &[&str], cwd: &std::path::Path, env: &[(&str, &str)]) -> std::process::Output {
    let mut c = std::process::Command::new(cairn_bin());
    c.args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env("TF_VAR_api_key", SECRET)
        .env_remove("CAIRN_GCP_EMULATOR")
        .env_remove("GOOGLE_APPLICATION_CREDENTIALS");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run cairn")
}

#[test]
fn plan_without_credentials_fails_fast_and_says_how_to_fix_it() {
    let s = TestStack::new(&[("main.tf", STACK)]);
    let home = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let o = cairn(
        &["plan", s.path().to_str().unwrap()],
        s.path(),
        &[("HOME", home.path().to_str().unwrap()), ("GCE_METADATA_HOST", "127.0.0.1:9")],
    );
    let took = started.elapsed();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let err = stderr(&o);
    assert!(
        err.contains("gcloud auth application-default login")
            && err.contains("GOOGLE_APPLICATION_CREDENTIALS")
            && err.contains("--emulator"),
        "{err}"
    );
}

#[test]
fn embedded_emulator_keeps_the_cloud_across_invocations() {
    let s = TestStack::new(&[("main.tf", STACK)]);
    let dir = s.path().to_str().unwrap();
    let o = cairn(&["--emulator", "apply", dir, "--auto-approve"], s.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let o = cairn(&["--emulator", "plan", dir, "--detailed-exitcode"], s.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "the emulated cloud persisted: {}{}", stdout(&o), stderr(&o));
    let o = cairn(&["--emulator", "drift", dir], s.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(s.path().join("state/emulator-cloud.json").is_file());
    let o = cairn(&["--emulator", "destroy", dir, "--auto-approve"], s.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
}

#[test]
fn emulator_server_serves_other_processes_without_leaking_secrets() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let data = tempfile::tempdir().unwrap();
    let listen = format!("127.0.0.1:{port}");
    let mut server = std::process::Command::new(cairn_bin())
        .args([
            "emulator",
            "--listen",
            &listen,
            "--data",
            data.path().join("cloud.json").to_str().unwrap(),
            "--operation-duration",
            "100ms",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(&listen).is_err() {
        assert!(Instant::now() < deadline, "the emulator did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let s = TestStack::new(&[("main.tf", STACK)]);
    let dir = s.path().to_str().unwrap();
    let endpoint = format!("http://{listen}");
    let env = [("CAIRN_GCP_EMULATOR", endpoint.as_str())];
    let mut printed = String::new();
    for args in [
        vec!["-vv", "apply", dir, "--auto-approve"],
        vec!["-vv", "plan", dir, "--detailed-exitcode"],
        vec!["-vv", "drift", dir],
    ] {
        let o = cairn(&args, s.path(), &env);
        printed += &stdout(&o);
        printed += &stderr(&o);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}{}", stdout(&o), stderr(&o));
    }
    unsafe { libc::kill(server.id() as i32, libc::SIGINT) };
    std::thread::sleep(Duration::from_millis(300));
    let _ = server.kill();
    let out = server.wait_with_output().unwrap();
    printed += &stdout(&out);
    printed += &stderr(&out);
    let mut bytes = s.state_bytes_without_emulator();
    bytes.extend(printed.as_bytes());
    assert!(!contains(&bytes, SECRET), "a secret leaked into state or output");
}

#[test]
fn the_secrets_example_applies_against_the_embedded_emulator() {
    let s = TestStack::new(&[(
        "main.tf",
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/stacks/secrets-example/main.tf")).unwrap(),
    )]);
    let dir = s.path().to_str().unwrap();
    let o = cairn(&["validate", dir], s.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = cairn(&["--emulator", "apply", dir, "--auto-approve"], s.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("7 added"), "{}", stdout(&o));
    let o = cairn(&["--emulator", "plan", dir, "--detailed-exitcode"], s.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
}
