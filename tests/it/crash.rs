//! Done-when 5: kill -9 at random points during an apply; the state survives and a rerun
//! converges with nothing duplicated.

use std::time::Duration;

use crate::support::*;

const STACK: &str = r#"
variable "n" {
  type    = number
  default = 200
}

resource "random_id" "a" {
  count       = var.n
  byte_length = 8
}

resource "terraform_data" "b" {
  count = var.n
  input = random_id.a[count.index].hex
}
"#;

fn serial(dir: &str, cwd: &std::path::Path) -> Option<u64> {
    let o = run_cairn(&["-C", dir, "state", "pull"], cwd);
    if !o.status.success() {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).ok()?;
    v.get("serial").and_then(|s| s.as_u64())
}

#[test]
fn kill_nine_during_apply_never_loses_state() {
    let s = TestStack::new(&[("main.tf", STACK)]);
    let dir = s.path().to_str().unwrap().to_string();
    let mut last_serial = 0u64;
    let mut last_ids: std::collections::BTreeMap<String, String> = Default::default();
    // Kill points spread over a run (deterministic pseudo-random, so failures reproduce).
    let mut seed: u64 = 0x2545F4914F6CDD1D;
    for round in 0..10 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = Duration::from_millis(20 + seed % 400);
        let mut child = std::process::Command::new(cairn_bin())
            .args(["apply", &dir, "--auto-approve"])
            .env("NO_COLOR", "1")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();

        // The state opens, its serial never goes back, and what it recorded is still there.
        let serial_now = serial(&dir, s.path()).unwrap_or(0);
        assert!(serial_now >= last_serial, "round {round}: serial went back from {last_serial} to {serial_now}");
        last_serial = serial_now;
        let o = run_cairn(&["-C", &dir, "state", "pull"], s.path());
        if o.status.success() {
            let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
            let res = v["resources"].as_object().cloned().unwrap_or_default();
            for (addr, id) in &last_ids {
                let now = res.get(addr).and_then(|r| r["attributes"]["id"].as_str()).map(str::to_string);
                assert_eq!(
                    now.as_deref(),
                    Some(id.as_str()),
                    "round {round}: {addr} was recorded and then lost or changed"
                );
            }
            for (addr, r) in res {
                if let Some(id) = r["attributes"]["id"].as_str() {
                    last_ids.insert(addr, id.to_string());
                }
            }
        }
    }
    // A rerun converges: everything exists exactly once and the next plan is empty.
    let o = run_cairn(&["apply", &dir, "--auto-approve"], s.path());
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let o = run_cairn(&["-C", &dir, "state", "list"], s.path());
    let listed: Vec<String> = stdout(&o).lines().map(str::to_string).collect();
    assert_eq!(listed.len(), 400);
    let unique: std::collections::BTreeSet<_> = listed.iter().collect();
    assert_eq!(unique.len(), 400);
    let o = run_cairn(&["plan", &dir, "--detailed-exitcode"], s.path());
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    // What was recorded before the crashes survived the converging apply unchanged.
    let o = run_cairn(&["-C", &dir, "state", "pull"], s.path());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for (addr, id) in &last_ids {
        assert_eq!(v["resources"][addr]["attributes"]["id"].as_str(), Some(id.as_str()), "{addr} changed after rerun");
    }
}

/// Four health checks whose creates take 2 s each (the embedded emulator's operations), two at
/// a time.
const HEALTH_CHECKS: &str = r#"
provider "google" {
  project = "demo-project"
}

resource "google_compute_health_check" "hc" {
  count = 4
  name  = "hc-${count.index}"
  http_health_check {
    port = 80
  }
}
"#;

fn cairn_emulated(args: &[&str], cwd: &std::path::Path) -> std::process::Output {
    std::process::Command::new(cairn_bin())
        .arg("--emulator")
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env_remove("CAIRN_GCP_EMULATOR")
        .output()
        .expect("run cairn")
}

/// Issue 14 §5: killed while creates' operations are in flight, the very next apply finds the
/// objects (waiting for the pending operations), adopts them, says so once per object, and
/// creates nothing twice.
#[test]
fn a_rerun_at_once_after_a_kill_during_pending_operations_adopts_what_was_created() {
    kill_during_pending_creates_then_rerun(Duration::ZERO);
}

/// The same, rerun once the operations have finished: the plan adopts them, and the warning
/// that says so is printed once.
#[test]
fn a_later_rerun_after_a_kill_during_pending_operations_adopts_and_says_so_once() {
    kill_during_pending_creates_then_rerun(Duration::from_secs(3));
}

fn kill_during_pending_creates_then_rerun(pause: Duration) {
    let s = TestStack::new(&[("main.tf", HEALTH_CHECKS)]);
    let dir = s.path().to_str().unwrap().to_string();
    let mut child = std::process::Command::new(cairn_bin())
        .args(["--emulator", "apply", &dir, "--auto-approve", "--parallelism", "2"])
        .current_dir(s.path())
        .env("NO_COLOR", "1")
        .env_remove("CAIRN_GCP_EMULATOR")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    std::thread::sleep(Duration::from_millis(1200));
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    std::thread::sleep(pause);

    let o = cairn_emulated(&["apply", &dir, "--auto-approve", "--parallelism", "2"], s.path());
    let (out, err) = (stdout(&o), stderr(&o));
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    assert!(!out.contains("already exists") && !err.contains("already exists"), "{out}{err}");
    let all = format!("{out}{err}");
    for i in 0..2 {
        let adopted = format!("google_compute_health_check.hc[{i}]: adopting");
        assert_eq!(all.matches(&adopted).count(), 1, "hc[{i}] adopted once, said once:\n{all}");
    }
    let o = run_cairn(&["-C", &dir, "state", "list"], s.path());
    assert_eq!(stdout(&o).lines().count(), 4, "{}", stdout(&o));
    let o = cairn_emulated(&["plan", &dir, "--detailed-exitcode"], s.path());
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
}
