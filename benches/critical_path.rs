//! Critical-path benchmark (issue 18, "done when" 2): applies the staging stack against the
//! embedded emulator, as stacks/staging/demo.sh does (the roadmap's broken environment, fixed
//! by one apply), and compares the apply's wall time with its critical path, the longest chain
//! of measured step durations, which no schedule can beat. Target: wall ≤ 1.2 × critical path.
//!
//! Run: `cargo bench --bench critical_path` (`--profile dev` reuses the debug build); the
//! emulator runs in realistic mode at CAIRN_BENCH_TIME_SCALE (default 0.01).
//! CAIRN_BENCH_PARALLELISM (default `10,2`) lists the `--parallelism` bounds to run with: at
//! Terraform's 10 the staging stack's ready steps mostly all run at once; at 2 more are ready
//! than may run, which is where the order of the ready queue shows.
//! Timing is reported, never asserted: a benchmark informs, CI decides.
//!
//! On the 2-core development machine (embedded emulator, every operation 2 s): 1.00× at 10,
//! 1.11× at 2, 2.01× at 1 (a single lane can only sum the work); the same applies with a FIFO
//! ready queue, before critical-path scheduling, took 1.37× at 2 and 2.26× at 1.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The emulator the apply runs against, in one place: the embedded one (`--emulator`) seeded
/// from the staging scenario, in realistic mode (per-API latency, each type's operation
/// durations — a Cloud SQL instance about 12 minutes —, rate quotas), compressed by
/// CAIRN_BENCH_TIME_SCALE (default 0.01: real minutes run as fractions of a second each).
/// Words in CAIRN_BENCH_EMULATOR_ARGS are added after these.
fn emulator_args(scenario: &Path) -> Vec<OsString> {
    let time_scale = std::env::var("CAIRN_BENCH_TIME_SCALE").unwrap_or_else(|_| "0.01".into());
    let mut args: Vec<OsString> = vec![
        "--emulator".into(),
        "--emulator-scenario".into(),
        scenario.into(),
        "--emulator-realistic".into(),
        "--emulator-time-scale".into(),
        time_scale.into(),
    ];
    if let Ok(extra) = std::env::var("CAIRN_BENCH_EMULATOR_ARGS") {
        args.extend(extra.split_whitespace().map(OsString::from));
    }
    args
}

/// A scratch copy of stacks/ and modules/ with an empty state directory: the stack's backend
/// points at ../../state/staging, and the repository's own state must never be touched.
fn scratch(repo: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_tree(&repo.join("stacks"), &dir.path().join("stacks"));
    copy_tree(&repo.join("modules"), &dir.path().join("modules"));
    std::fs::create_dir_all(dir.path().join("state")).expect("state directory");
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir").flatten() {
        let name = e.file_name();
        if name == "state" {
            continue;
        }
        if e.path().is_dir() {
            copy_tree(&e.path(), &to.join(&name));
        } else {
            std::fs::copy(e.path(), to.join(&name)).expect("copy");
        }
    }
}

/// What `apply -json` said about its critical path (the change summary's
/// `cairn_critical_path`).
struct Measured {
    process_seconds: f64,
    wall_seconds: f64,
    length_seconds: f64,
    chain: Vec<(String, f64)>,
}

fn apply(bin: &Path, root: &Path, parallelism: usize) -> Result<Measured, String> {
    let stack: PathBuf = root.join("stacks/staging");
    let scenario = stack.join("scenarios/broken-staging.json");
    let started = Instant::now();
    let out = Command::new(bin)
        .args(emulator_args(&scenario))
        .arg("apply")
        .arg("-json")
        .arg("-auto-approve")
        .arg(format!("-parallelism={parallelism}"))
        .arg(&stack)
        .current_dir(root)
        // The fingerprint key goes with the scratch copy, not into the user's data directory.
        .env("XDG_DATA_HOME", root.join(".keys"))
        .output()
        .map_err(|e| format!("cannot run cairn: {e}"))?;
    let process_seconds = started.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("apply exited {:?}:\n{stdout}{}", out.status.code(), String::from_utf8_lossy(&out.stderr)));
    }
    let summary = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .rfind(|m| m["type"] == "change_summary" && m["changes"]["operation"] == "apply")
        .ok_or("no change_summary for the apply")?;
    let cp = &summary["cairn_critical_path"];
    let seconds = |v: &serde_json::Value| v.as_f64().ok_or(format!("no critical path in {summary}"));
    let chain = cp["chain"]
        .as_array()
        .ok_or(format!("no critical path in {summary}"))?
        .iter()
        .map(|s| Ok((s["resource"]["addr"].as_str().unwrap_or("?").to_string(), seconds(&s["seconds"])?)))
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Measured {
        process_seconds,
        wall_seconds: seconds(&cp["wall_seconds"])?,
        length_seconds: seconds(&cp["length_seconds"])?,
        chain,
    })
}

fn main() {
    let bin = Path::new(env!("CARGO_BIN_EXE_cairn"));
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bounds: Vec<usize> = std::env::var("CAIRN_BENCH_PARALLELISM")
        .unwrap_or_else(|_| "10,2".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let shown: Vec<String> =
        emulator_args(Path::new("SCENARIO")).iter().map(|a| a.to_string_lossy().into_owned()).collect();
    println!("staging apply against `cairn {}`", shown.join(" "));
    println!("{:>11} {:>10} {:>13} {:>8} {:>12}", "parallelism", "apply (s)", "critical (s)", "ratio", "target");
    for parallelism in bounds {
        let dir = scratch(repo);
        match apply(bin, dir.path(), parallelism) {
            Ok(m) => {
                let ratio = m.wall_seconds / m.length_seconds.max(f64::EPSILON);
                let verdict = if ratio <= 1.2 { "≤ 1.2 ok" } else { "> 1.2 MISSED" };
                println!(
                    "{parallelism:>11} {:>10.2} {:>13.2} {:>7.2}× {verdict:>12}   (process {:.2} s)",
                    m.wall_seconds, m.length_seconds, ratio, m.process_seconds
                );
                let chain: Vec<String> = m.chain.iter().map(|(a, s)| format!("{a} {s:.2} s")).collect();
                println!("     critical path: {}", chain.join(" → "));
            }
            Err(e) => println!("{parallelism:>11} failed: {e}"),
        }
    }
}
