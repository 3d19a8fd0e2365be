//! Realistic benchmark (issue 18): 1,000 Google resources across the supported types, against
//! the emulator in realistic mode (latency distributions, operation durations per type,
//! per-project rate quotas answered with the real refusals), one time scale compressing it
//! all so real-world minutes run in seconds with the same ratios.
//!
//! For each quota setting (the defaults, where the quota allows; a tight project with a tenth
//! of them, where it does not) and each concurrency variant (Cairn's default; a fixed 10 as
//! Terraform runs), it times the real binary through create (apply), a no-op plan, refresh
//! and destroy, and reports each phase's seconds (scaled back to real time too), requests
//! and quota refusals. Variants are one table: a variant whose flags this build does not
//! know is reported as a usage error, not a crash.
//!
//! Run: `cargo bench --bench realistic`. Knobs: CAIRN_BENCH_TIME_SCALE (default 0.01),
//! CAIRN_BENCH_RESOURCES (default 1000, rounded to the stack's proportions),
//! CAIRN_BENCH_TIGHT_QUOTA_SCALE (default 0.1). Timing is reported, never asserted.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cairn::emulator::realistic::{ApiCounts, RealisticConfig};
use cairn::emulator::{Emulator, EmulatorConfig, EmulatorHandle};

/// Concurrency variants, side by side in every quota setting: (label, extra arguments of
/// every phase).
const VARIANTS: &[(&str, &[&str])] = &[
    ("cairn default", &[]),
    // Terraform's behaviour: ten operations at once, whatever the API answers.
    ("fixed 10 (terraform)", &["--parallelism=10", "--parallelism-fixed"]),
];

/// The phases, in order, each its own process: (label, arguments).
const PHASES: &[(&str, &[&str])] = &[
    ("create", &["apply", "-auto-approve"]),
    ("no-op plan", &["plan"]),
    ("refresh", &["refresh"]),
    ("destroy", &["destroy", "-auto-approve"]),
];

const PROJECT: &str = "bench-realistic";

/// The share of each type in the stack, per 1,000 resources. What a platform team's project
/// holds: secrets and their versions, a load balancer's health checks, backend services,
/// addresses and URL maps, log sinks and alert policies; no Cloud SQL instance or connector,
/// whose minutes-long creation would measure the cloud, not the tool.
const SHARES: &[(&str, usize)] = &[
    ("secret", 200),
    ("version", 200),
    ("health_check", 150),
    ("backend", 150),
    ("address", 100),
    ("url_map", 50),
    ("sink", 100),
    ("alert", 50),
];

fn stack(total: usize) -> (String, usize) {
    let n = |kind: &str| {
        let share = SHARES.iter().find(|(k, _)| *k == kind).map(|s| s.1).unwrap_or(0);
        (share * total).div_ceil(1000)
    };
    let count = SHARES.iter().map(|(k, _)| n(k)).sum();
    // URL maps and versions point at resources of the same index; keep them within range.
    let url_maps = n("url_map").min(n("backend"));
    let versions = n("version").min(n("secret"));
    let text = format!(
        r#"
provider "google" {{
  project = "{PROJECT}"
}}

resource "google_secret_manager_secret" "s" {{
  count     = {secrets}
  secret_id = "bench-secret-${{count.index}}"
  labels    = {{ team = "platform" }}
  replication {{
    auto {{}}
  }}
}}

resource "google_secret_manager_secret_version" "v" {{
  count       = {versions}
  secret      = google_secret_manager_secret.s[count.index].id
  secret_data = "value-${{count.index}}"
}}

resource "google_compute_health_check" "hc" {{
  count = {hcs}
  name  = "bench-hc-${{count.index}}"
  tcp_health_check {{
    port = 8080
  }}
}}

resource "google_compute_backend_service" "bs" {{
  count         = {backends}
  name          = "bench-bs-${{count.index}}"
  health_checks = [google_compute_health_check.hc[count.index % {hcs}].id]
}}

resource "google_compute_global_address" "ip" {{
  count = {addresses}
  name  = "bench-ip-${{count.index}}"
}}

resource "google_compute_url_map" "um" {{
  count           = {url_maps}
  name            = "bench-um-${{count.index}}"
  default_service = google_compute_backend_service.bs[count.index].id
}}

resource "google_logging_project_sink" "sink" {{
  count       = {sinks}
  name        = "bench-sink-${{count.index}}"
  destination = "storage.googleapis.com/bench-logs-${{count.index}}"
  filter      = "severity>=ERROR"
}}

resource "google_monitoring_alert_policy" "alert" {{
  count        = {alerts}
  display_name = "bench alert ${{count.index}}"
  combiner     = "OR"
  conditions {{
    display_name = "uptime check failing"
    condition_threshold {{
      filter          = "resource.type = \"uptime_url\" AND metric.type = \"monitoring.googleapis.com/uptime_check/check_passed\""
      comparison      = "COMPARISON_GT"
      threshold_value = 1
      duration        = "300s"
      aggregations {{
        alignment_period   = "1200s"
        per_series_aligner = "ALIGN_NEXT_OLDER"
      }}
    }}
  }}
}}
"#,
        secrets = n("secret"),
        hcs = n("health_check").max(1),
        backends = n("backend"),
        addresses = n("address"),
        sinks = n("sink"),
        alerts = n("alert"),
    );
    (text, count)
}

/// How one phase went.
enum Outcome {
    Done {
        wall: Duration,
        requests: u64,
        throttled: u64,
        /// "api:n" for each API that refused.
        by_api: String,
    },
    /// This build does not know a variant's flag (the line clap printed).
    Usage(String),
    Failed {
        code: i32,
        last_line: String,
    },
}

fn run_phase(bin: &Path, emu: &EmulatorHandle, dir: &Path, args: &[&str], extra: &[&str]) -> Outcome {
    emu.reset_realistic_counts();
    let start = Instant::now();
    let out = Command::new(bin)
        .args(args)
        .args(extra)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("CAIRN_GCP_EMULATOR", emu.endpoint())
        // The fingerprint key goes with the scratch stack, not into the user's data directory.
        .env("XDG_DATA_HOME", dir.join(".keys"))
        .stdin(Stdio::null())
        .output()
        .expect("spawn cairn");
    let wall = start.elapsed();
    let counts = emu.realistic_counts().unwrap_or_default();
    let total = |f: fn(&ApiCounts) -> u64| counts.values().map(f).sum::<u64>();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        // Which APIs refused: where the quota bit.
        let by_api = counts
            .iter()
            .filter(|(_, c)| c.throttled > 0)
            .map(|(api, c)| format!("{api}:{}", c.throttled))
            .collect::<Vec<_>>()
            .join(" ");
        return Outcome::Done { wall, requests: total(|c| c.requests), throttled: total(|c| c.throttled), by_api };
    }
    if let Some(line) = stderr.lines().find(|l| l.contains("unexpected argument") || l.contains("unrecognized")) {
        return Outcome::Usage(line.trim().to_string());
    }
    let last_line = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_string();
    Outcome::Failed { code: out.status.code().unwrap_or(-1), last_line }
}

fn env_f64(name: &str, default: f64) -> f64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).filter(|v: &f64| v.is_finite() && *v > 0.0).unwrap_or(default)
}

fn main() {
    // `cargo bench` passes --bench; nothing else is accepted.
    let bin = Path::new(env!("CARGO_BIN_EXE_cairn"));
    let time_scale = env_f64("CAIRN_BENCH_TIME_SCALE", 0.01);
    let tight = env_f64("CAIRN_BENCH_TIGHT_QUOTA_SCALE", 0.1);
    let total: usize = std::env::var("CAIRN_BENCH_RESOURCES").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let (text, count) = stack(total);
    let quota_settings = [("quota allows (default quotas)", 1.0), ("quota does not (tight project)", tight)];

    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    println!(
        "realistic benchmark: {count} Google resources, time scale {time_scale} (a real minute = {:.2} s), tight quota scale {tight}",
        60.0 * time_scale
    );
    println!(
        "{:<32} {:<22} {:<11} {:>9} {:>11} {:>9} {:>9}  429s by API",
        "quota", "variant", "phase", "seconds", "real (min)", "requests", "429s"
    );
    let bench_start = Instant::now();
    for (quota_label, quota_scale) in quota_settings {
        for (variant, extra) in VARIANTS {
            // A fresh cloud and a fresh stack for each run: quota windows, counts and state
            // start empty.
            let cfg = RealisticConfig { time_scale, quota_scale, ..RealisticConfig::default() };
            let emu = runtime
                .block_on(Emulator::start(EmulatorConfig { realistic: Some(cfg), ..EmulatorConfig::for_tests() }))
                .expect("emulator starts");
            let dir = tempfile::tempdir().expect("tempdir");
            std::fs::write(dir.path().join("main.tf"), &text).expect("write stack");
            let mut skip_rest = false;
            for (phase, args) in PHASES {
                if skip_rest {
                    println!("{quota_label:<32} {variant:<22} {phase:<11} {:>9}", "skipped");
                    continue;
                }
                match run_phase(bin, &emu, dir.path(), args, extra) {
                    Outcome::Done { wall, requests, throttled, by_api } => {
                        let real_minutes = wall.as_secs_f64() / time_scale / 60.0;
                        println!(
                            "{quota_label:<32} {variant:<22} {phase:<11} {:>9.2} {:>11.1} {requests:>9} {throttled:>9}  {by_api}",
                            wall.as_secs_f64(),
                            real_minutes
                        );
                    }
                    Outcome::Usage(line) => {
                        println!("{quota_label:<32} {variant:<22} {phase:<11} usage error, not in this build: {line}");
                        skip_rest = true;
                    }
                    Outcome::Failed { code, last_line } => {
                        println!("{quota_label:<32} {variant:<22} {phase:<11} failed (exit {code}): {last_line}");
                        // A failed create leaves nothing meaningful to plan or refresh; destroy
                        // still cleans up what was made.
                        if *phase == "create" {
                            let _ = run_phase(bin, &emu, dir.path(), &["destroy", "-auto-approve"], extra);
                            skip_rest = true;
                        }
                    }
                }
            }
            runtime.block_on(emu.shutdown());
        }
    }
    println!("total {:.1} s", bench_start.elapsed().as_secs_f64());
}
