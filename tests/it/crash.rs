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
