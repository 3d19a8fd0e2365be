//! Scale benchmark: generates stacks of built-in resources and times the real binary on them,
//! each phase in its own process so peak memory (max RSS) is per phase.
//!
//! Run: `cargo bench --bench scale` (sizes: CAIRN_BENCH_SIZES=1000,10000).
//! Targets for 10,000 resources on 2 cores: validate < 1 s, no-op plan < 2 s, apply < 15 s,
//! peak memory < 500 MB. Timing is reported, never asserted: a benchmark informs, CI decides.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn stack(n: usize) -> String {
    format!(
        r#"
variable "n" {{
  type    = number
  default = {n}
}}

locals {{
  prefix = "bench"
  labels = {{ team = "platform", managed_by = "cairn" }}
}}

resource "random_id" "seed" {{
  count       = 10
  byte_length = 4
}}

resource "terraform_data" "item" {{
  count = var.n - 10
  input = {{
    name   = "${{local.prefix}}-${{count.index}}"
    seed   = random_id.seed[count.index % 10].hex
    labels = local.labels
  }}
}}
"#
    )
}

struct Measure {
    wall: Duration,
    max_rss_kb: i64,
    code: i32,
}

// The child is reaped with wait4 (for its own peak RSS), which clippy cannot see.
#[allow(clippy::zombie_processes)]
fn run(bin: &Path, args: &[&str], cwd: &Path) -> Measure {
    let start = Instant::now();
    let child = Command::new(bin)
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        // The fingerprint key goes with the scratch stack, not into the user's data directory.
        .env("XDG_DATA_HOME", cwd.join(".keys"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn cairn");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // wait4 gives this child's own peak RSS, unaffected by earlier phases.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert!(r == pid, "wait4 failed");
    let wall = start.elapsed();
    let code = if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { -1 };
    Measure { wall, max_rss_kb: usage.ru_maxrss, code }
}

fn main() {
    let bin = Path::new(env!("CARGO_BIN_EXE_cairn"));
    let sizes: Vec<usize> = std::env::var("CAIRN_BENCH_SIZES")
        .unwrap_or_else(|_| "1000,10000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    // `cargo bench` passes --bench; nothing else is accepted.
    println!("{:>7}  {:<16} {:>10} {:>12}", "size", "phase", "seconds", "peak MB");
    for n in sizes {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("main.tf"), stack(n)).unwrap();
        let d = dir.path().to_str().unwrap();
        let phases: Vec<(&str, Vec<&str>, i32)> = vec![
            ("validate", vec!["validate", d], 0),
            ("plan (empty)", vec!["plan", d, "--detailed-exitcode"], 2),
            ("apply", vec!["apply", d, "--auto-approve"], 0),
            ("plan (no-op)", vec!["plan", d, "--detailed-exitcode"], 0),
            ("plan -refresh=false", vec!["plan", d, "--refresh=false", "--detailed-exitcode"], 0),
            ("destroy", vec!["destroy", d, "--auto-approve"], 0),
        ];
        for (name, args, expect) in phases {
            let m = run(bin, &args, dir.path());
            let mark = if m.code == expect { "" } else { "  (unexpected exit code)" };
            println!(
                "{:>7}  {:<16} {:>10.3} {:>12.1}{mark}",
                n,
                name,
                m.wall.as_secs_f64(),
                m.max_rss_kb as f64 / 1024.0
            );
        }
    }
}
