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

// Issue 14 §2: inputs that crashed, hung or silently changed meaning. Each must end with a
// located error and exit 1 — never a panic (101), an abort (134) or a stack overflow.

/// Runs `args` in the stack and expects exit 1 with every `needles` in stderr.
fn refused(s: &TestStack, args: &[&str], needles: &[&str]) {
    let mut all = args.to_vec();
    let dir = s.path().to_str().unwrap().to_string();
    all.push(&dir);
    let o = run_cairn(&all, s.path());
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{args:?}: {}{err}", stdout(&o));
    assert!(!err.contains("panicked"), "{err}");
    for needle in needles {
        assert!(err.contains(needle), "{args:?}: missing {needle:?} in\n{err}");
    }
}

#[test]
fn format_with_a_huge_precision_is_a_located_error() {
    let s = TestStack::new(&[("main.tf", "output \"x\" {\n  value = format(\"%.70000f\", 1)\n}\n")]);
    refused(&s, &["plan"], &["main.tf:2", "precision 70000"]);
}

#[test]
fn a_template_that_renders_itself_is_an_error_not_a_stack_overflow() {
    let s = TestStack::new(&[
        ("main.tf", "output \"x\" {\n  value = templatefile(\"loop.tpl\", {})\n}\n"),
        ("loop.tpl", "again: ${templatefile(\"loop.tpl\", {})}\n"),
    ]);
    refused(&s, &["plan"], &["main.tf:2", "nested more than 16 deep"]);
}

#[test]
fn a_huge_count_is_refused_before_anything_is_allocated() {
    for count in ["9e15", "100001"] {
        let s = TestStack::new(&[(
            "main.tf",
            &format!("resource \"terraform_data\" \"a\" {{\n  count = {count}\n}}\n") as &str,
        )]);
        refused(&s, &["plan"], &["main.tf:2", "more than the 100000 one resource may have"]);
        refused(&s, &["validate"], &["main.tf:2", "more than the 100000"]);
    }
}

#[test]
fn a_count_past_2_pow_53_is_refused_not_turned_into_zero() {
    // 1e19 used to become 0 instances: with instances in state, a plan to destroy them all.
    let s = TestStack::new(&[("main.tf", "resource \"terraform_data\" \"a\" {\n  count = 1\n}\n")]);
    let dir = s.path().to_str().unwrap().to_string();
    let o = run_cairn(&["apply", &dir, "--auto-approve"], s.path());
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    for count in ["1e19", "-1", "1.5", "-1e19"] {
        s.write("main.tf", &format!("resource \"terraform_data\" \"a\" {{\n  count = {count}\n}}\n"));
        refused(&s, &["plan"], &["main.tf:2", "Invalid count argument", "whole number"]);
    }
}

#[test]
fn a_huge_for_each_is_refused() {
    let s = TestStack::new(&[(
        "main.tf",
        "resource \"terraform_data\" \"a\" {\n  for_each = toset([for i in setproduct(range(1000), range(1000)) : join(\"-\", i)])\n}\n",
    )]);
    refused(&s, &["plan"], &["main.tf:2", "more than the 100000 one resource may have"]);
}

#[test]
fn cidrsubnet_with_newbits_that_would_wrap_is_a_located_error() {
    let s = TestStack::new(&[("main.tf", "output \"x\" {\n  value = cidrsubnet(\"10.0.0.0/24\", 4294967295, 0)\n}\n")]);
    refused(&s, &["plan"], &["main.tf:2", "insufficient address space"]);
}

#[cfg(unix)]
#[test]
fn a_tf_file_with_a_non_utf8_name_is_an_error_not_skipped() {
    use std::os::unix::ffi::OsStrExt;
    let s = TestStack::new(&[("main.tf", "resource \"terraform_data\" \"a\" {}\n")]);
    let odd = s.path().join(std::ffi::OsStr::from_bytes(b"b\xe9.tf"));
    std::fs::write(&odd, "resource \"terraform_data\" \"b\" {}\n").unwrap();
    refused(&s, &["validate"], &["is not UTF-8", "b\u{FFFD}.tf"]);
    refused(&s, &["plan"], &["is not UTF-8"]);
}

#[cfg(unix)]
#[test]
fn a_tf_file_that_cannot_be_opened_is_an_error_not_skipped() {
    // A dangling symlink named like a configuration file: before, file_type() said "symlink"
    // and the file was dropped without a word (a linked file was dropped the same way).
    let s = TestStack::new(&[("main.tf", "resource \"terraform_data\" \"a\" {}\n")]);
    std::os::unix::fs::symlink(s.path().join("nowhere.tf"), s.path().join("linked.tf")).unwrap();
    refused(&s, &["validate"], &["Can't read", "linked.tf"]);
}

#[cfg(unix)]
#[test]
fn a_symlinked_tf_file_is_read() {
    let s = TestStack::new(&[("main.tf", "resource \"terraform_data\" \"a\" {}\n")]);
    let shared = tempfile::tempdir().unwrap();
    std::fs::write(shared.path().join("shared.tf"), "output \"x\" {\n  value = nosuchfunction()\n}\n").unwrap();
    std::os::unix::fs::symlink(shared.path().join("shared.tf"), s.path().join("shared.tf")).unwrap();
    refused(&s, &["validate"], &["nosuchfunction"]);
}

#[cfg(unix)]
#[test]
fn a_non_utf8_tf_var_is_an_error_not_a_panic() {
    use std::os::unix::ffi::OsStrExt;
    let s = TestStack::new(&[("main.tf", "variable \"name\" {\n  default = \"x\"\n}\n")]);
    let o = std::process::Command::new(cairn_bin())
        .args(["plan", s.path().to_str().unwrap()])
        .env("NO_COLOR", "1")
        .env("TF_VAR_name", std::ffi::OsStr::from_bytes(b"caf\xe9"))
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{}{err}", stdout(&o));
    assert!(err.contains("TF_VAR_name") && err.contains("not UTF-8"), "{err}");
}

#[test]
fn a_plan_file_format_version_past_u32_is_too_new_not_wrapped() {
    // 2^32 + 1 used to wrap to format 1 in an `as u32` and be read as a current plan.
    let s = TestStack::new(&[("main.tf", "resource \"terraform_data\" \"a\" {}\n")]);
    let dir = s.path().to_str().unwrap().to_string();
    let plan = s.path().join("p.cairnplan");
    let o = run_cairn(&["plan", &dir, "-out", plan.to_str().unwrap()], s.path());
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&plan).unwrap()).unwrap();
    v["format_version"] = serde_json::json!(4294967297u64);
    std::fs::write(&plan, serde_json::to_vec(&v).unwrap()).unwrap();
    let o = run_cairn(&["apply", plan.to_str().unwrap()], s.path());
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{}{err}", stdout(&o));
    assert!(err.contains("newer Cairn"), "{err}");
}
