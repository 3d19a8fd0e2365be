//! Scale benchmark: generates stacks of built-in resources and times the real binary on them,
//! each phase in its own process so peak memory (max RSS) is per phase.
//!
//! Run: `cargo bench --bench scale` (sizes: CAIRN_BENCH_SIZES=1000,10000,100000; shapes:
//! CAIRN_BENCH_SHAPES=count,modules,modules-xref, default count,modules).
//! Targets on 2 cores: 10,000 resources: validate < 1 s, no-op plan < 2 s, apply < 15 s, peak
//! memory < 500 MB; 100,000 resources: no-op plan ≤ 10 s, peak memory ≤ 1.5 GB. Timing is
//! reported, never asserted: a benchmark informs, CI decides.
//!
//! Measured (release, 2 shared cores, seconds / peak MB; `modules`: 100 services at 100k):
//!
//! | shape   | size    | validate   | plan (empty) | apply        | no-op plan  | -refresh=false | destroy      |
//! |---------|---------|------------|--------------|--------------|-------------|----------------|--------------|
//! | count   | 1,000   | 0.04 / 24  | 0.02 / 28    | 0.10 / 52    | 0.03 / 37   | 0.03 / 36      | 0.09 / 50    |
//! | count   | 10,000  | 0.05 / 42  | 0.10 / 55    | 0.95 / 183   | 0.33 / 124  | 0.27 / 124     | 0.94 / 173   |
//! | count   | 100,000 | 0.53 / 215 | 1.34 / 313   | 13.5 / 1,169 | 3.84 / 1,012| 3.25 / 1,009   | 13.9 / 1,137 |
//! | modules | 1,000   | 0.01 / 26  | 0.02 / 30    | 0.16 / 52    | 0.04 / 38   | 0.04 / 38      | 0.10 / 51    |
//! | modules | 10,000  | 0.07 / 51  | 0.13 / 67    | 1.81 / 194   | 0.36 / 138  | 0.32 / 137     | 1.05 / 175   |
//! | modules | 100,000 | 0.82 / 296 | 1.79 / 430   | 36.2 / 1,300 | 4.80 / 1,142| 3.88 / 1,136   | 16.1 / 1,215 |
//!
//! Apply and destroy at 100,000 were 1.7–2.1 GB until the local state's history kept each
//! version's changes one key per resource (sled reads a tree node whole, and the history
//! node held whole versions of hundreds of megabytes, more with every apply), cleared the
//! marks a version consumed in bounded batches (one 100,000-write transaction pinned a copy of
//! every node it touched) and bounded sled's page cache (1 GiB by default). The `modules`
//! destroy then still peaked at 1,628 MB: the apply now takes the plan's prior state as its
//! working state and drops each change's prior value once its steps finish, the destroy plan
//! lets go of the walk's changes before building its deletes, the plan text joins each
//! change's lines as they are made, schemas without secrets no longer rebuild every refreshed
//! object, and a running apply hands freed pages back to the system four times a second
//! (`cairn::memory`; glibc kept them in per-thread arenas, a fifth of the peak). Capping glibc
//! at two arenas instead cut 0.2 GB but slowed every apply by 40%. The `modules` 100,000 apply
//! varies between 34 and 58 s from run to run on this shared machine; no-op plans stay within
//! a few percent. Before this benchmark had
//! the module shape, `modules` at 1,000 took 1.3 s and 425 MB for a no-op plan (every instance
//! reading another `for_each` resource rebuilt its whole map) and each apply step re-evaluated
//! its module's `for_each` map (now cached, and re-evaluated only when a resource it reads
//! changed). `modules-xref` (each endpoint reads its config instance) was quadratic in state
//! size: an instance recorded every instance of each resource it reads. An index written in
//! the arguments (`config[each.key]`) now names the one instance it reads (`Graph::keyed_deps`),
//! so each endpoint depends on its own config alone, as the apply orders it and state records it.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// The flat shape: one `count`ed resource (kept as it was, so that runs stay comparable).
fn count_stack(n: usize) -> String {
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

/// How many resources each instance of the `service` module holds in the module shape.
const PER_SERVICE: usize = 1000;

/// The shape of a large real stack: a `shared` module, a `service` module called with
/// `for_each` over a map of services (one per [`PER_SERVICE`] resources), each holding two
/// resources per item with `for_each` over a map, the second referring to the first, outputs
/// from every instance, and a root resource that reads them all. `n` counts the `service`
/// resources; the stack has 11 more (10 in `shared`, the root `catalog`).
fn module_stack(dir: &Path, n: usize, xref: bool) {
    let services = n.div_ceil(PER_SERVICE).max(1);
    let per_service = n / services / 2;
    let root = format!(
        r#"
locals {{
  services = {{
    for i in range({services}) : format("svc-%03d", i) => {{
      tier  = i % 3 == 0 ? "gold" : "silver"
      items = {per_service}
    }}
  }}
}}

module "shared" {{
  source = "./modules/shared"
  labels = {{ team = "platform", managed_by = "cairn" }}
}}

module "service" {{
  source   = "./modules/service"
  for_each = local.services
  name     = each.key
  tier     = each.value.tier
  items    = each.value.items
  seeds    = module.shared.seeds
  labels   = module.shared.labels
}}

resource "terraform_data" "catalog" {{
  input = {{ for name, svc in module.service : name => svc.endpoint_count }}
}}

output "services" {{
  value = length(module.service)
}}

output "catalog" {{
  value = terraform_data.catalog.output
}}
"#
    );
    let shared = r#"
variable "labels" {
  type = map(string)
}

resource "terraform_data" "seed" {
  for_each = { for i in range(10) : "seed-${i}" => i }
  input    = "seed-${each.value}"
}

output "seeds" {
  value = [for k in sort(keys(terraform_data.seed)) : terraform_data.seed[k].output]
}

output "labels" {
  value = merge(var.labels, { layer = "shared" })
}
"#;
    let service = r#"
variable "name" {
  type = string
}

variable "tier" {
  type = string
}

variable "items" {
  type = number
}

variable "seeds" {
  type = list(string)
}

variable "labels" {
  type = map(string)
}

locals {
  items = { for i in range(var.items) : format("item-%04d", i) => i }
}

resource "terraform_data" "config" {
  for_each = local.items
  input = {
    name   = "${var.name}-${each.key}"
    tier   = var.tier
    seed   = var.seeds[each.value % length(var.seeds)]
    labels = merge(var.labels, { service = var.name })
  }
}

resource "terraform_data" "endpoint" {
  for_each = local.items
  input = {
    config = XREF
    port   = 8000 + each.value
  }
}

output "endpoint_count" {
  value = length(terraform_data.endpoint)
}
"#;
    // With `xref`, each endpoint reads its own config instance, and depends on it alone; the
    // plain shape names the config without reading it.
    let service = service.replace(
        "XREF",
        if xref { "terraform_data.config[each.key].output.name" } else { "\"${var.name}-${each.key}\"" },
    );
    std::fs::write(dir.join("main.tf"), root).unwrap();
    for (name, text) in [("shared", shared), ("service", service.as_str())] {
        let m = dir.join("modules").join(name);
        std::fs::create_dir_all(&m).unwrap();
        std::fs::write(m.join("main.tf"), text).unwrap();
    }
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
    let shapes: Vec<String> = std::env::var("CAIRN_BENCH_SHAPES")
        .unwrap_or_else(|_| "count,modules".into())
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    // `cargo bench` passes --bench; nothing else is accepted.
    println!("{:<8} {:>7}  {:<20} {:>10} {:>12}", "shape", "size", "phase", "seconds", "peak MB");
    for shape in &shapes {
        for &n in &sizes {
            bench_stack(bin, shape, n);
        }
    }
}

fn bench_stack(bin: &Path, shape: &str, n: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    match shape {
        "count" => std::fs::write(dir.path().join("main.tf"), count_stack(n)).unwrap(),
        "modules" => module_stack(dir.path(), n, false),
        "modules-xref" => module_stack(dir.path(), n, true),
        other => panic!("CAIRN_BENCH_SHAPES: unknown shape {other:?} (count, modules, modules-xref)"),
    }
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
            "{:<8} {:>7}  {:<20} {:>10.3} {:>12.1}{mark}",
            shape,
            n,
            name,
            m.wall.as_secs_f64(),
            m.max_rss_kb as f64 / 1024.0
        );
    }
}
