//! Issue 18, critical-path scheduling: the apply starts the step that heads the longest chain
//! of expected time first, and reports the critical path it measured (in `ApplyOutcome`, the
//! text report and `apply -json`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::*;
use cairn::apply::{ApplyEvent, Interrupt, Progress};
use cairn::cli::run::dispatch;
use cairn::cli::{parse, Console};
use cairn::emulator::{Emulator, EmulatorConfig};
use cairn::ops;
use cairn::providers::google::GoogleOptions;
use cairn::providers::Registry;

/// The roadmap's database and connector, with secrets nothing waits for: the secrets sort
/// first (google_secret… < google_sql…), so a FIFO queue would start them first.
const STACK: &str = r#"
provider "google" {
  project = "netra-staging"
  region  = "us-central1"
}

resource "google_secret_manager_secret" "s" {
  for_each  = toset(["a", "b", "c"])
  secret_id = "app-${each.key}"
  replication {
    auto {}
  }
}

resource "google_vpc_access_connector" "staging" {
  name          = "staging-connector"
  region        = "us-central1"
  network       = "staging-vpc"
  ip_cidr_range = "10.1.0.0/28"
  machine_type  = "e2-micro"
  min_instances = 2
  max_instances = 10
}

resource "google_sql_database_instance" "db" {
  name                = "netra-staging-db"
  database_version    = "POSTGRES_14"
  region              = "us-central1"
  deletion_protection = false

  settings {
    tier = "db-f1-micro"
  }
}

resource "google_sql_database" "netra" {
  name     = "netra_db"
  instance = google_sql_database_instance.db.name
}

resource "random_password" "netra_user" {
  length  = 32
  special = false
}

resource "google_sql_user" "netra" {
  name                = "netra_user"
  instance            = google_sql_database_instance.db.name
  password_wo         = random_password.netra_user.result
  password_wo_version = "1"
}
"#;

#[derive(Default)]
struct Started(Mutex<Vec<String>>);

impl Progress for Started {
    fn event(&self, e: ApplyEvent) {
        if let ApplyEvent::Started { addr, .. } = e {
            self.0.lock().unwrap().push(addr.to_string());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_apply_reports_the_stack_s_real_chain_as_its_critical_path() {
    let operation = Duration::from_millis(400);
    let emu = Emulator::start(EmulatorConfig { operation_duration: operation, ..EmulatorConfig::for_tests() })
        .await
        .expect("emulator");
    let s = TestStack::new(&[("main.tf", STACK)]);
    let c =
        common(s.path(), Registry::standard(GoogleOptions { emulator: Some(emu.endpoint()), ..Default::default() }));
    let r = apply(&c).await;
    let outcome = r.outcome.as_ref().expect("the apply ran");
    let cp = outcome.critical_path.as_ref().expect("steps ran, so there is a critical path");
    let chain: Vec<String> = cp.chain.iter().map(|s| s.addr.to_string()).collect();

    // The database instance, then what waits on it: two SQL Admin operations one after the
    // other, longer than the connector's one or a secret's none.
    assert_eq!(chain[0], "google_sql_database_instance.db", "{chain:?}");
    assert_eq!(chain.len(), 2, "{chain:?}");
    assert!(["google_sql_database.netra", "google_sql_user.netra"].contains(&chain[1].as_str()), "{chain:?}");
    for pair in cp.chain.windows(2) {
        let after = r.plan.changes.iter().find(|c| c.addr == pair[1].addr).expect("a planned change");
        assert!(after.dependencies.contains(&pair[0].addr), "{} does not wait for {}", pair[1].addr, pair[0].addr);
    }
    assert_eq!(cp.length, cp.chain.iter().map(|s| s.elapsed).sum::<Duration>());
    assert!(cp.length >= operation * 2, "two operations in a row: {cp:?}");
    assert!(cp.length <= cp.wall, "no chain is longer than the apply: {cp:?}");
    assert!(cp.chain.iter().all(|s| s.action == cairn::plan::Action::Create), "{cp:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_parallelism_one_the_database_starts_before_the_secrets_ahead_of_it() {
    let emu = Emulator::start(EmulatorConfig::for_tests()).await.expect("emulator");
    let s = TestStack::new(&[("main.tf", STACK)]);
    let c =
        common(s.path(), Registry::standard(GoogleOptions { emulator: Some(emu.endpoint()), ..Default::default() }));
    let started = Arc::new(Started::default());
    let mut args = apply_args(&c);
    args.plan.parallelism = 1;
    args.progress = started.clone();
    let r = ops::apply(args, &mut |_| true).await.unwrap_or_else(|e| panic!("apply failed: {}", describe(&e)));
    assert!(r.outcome.as_ref().is_some_and(|o| o.failed.is_empty()));
    let order = started.0.lock().unwrap().clone();
    // The instance heads 10 min + 15 s of expected time, the connector 2 min, the password
    // (before the user) 10 s, a secret 1 s: that order, then what the instance freed.
    assert_eq!(
        order[..4],
        [
            "google_sql_database_instance.db",
            "google_vpc_access_connector.staging",
            "google_sql_database.netra",
            "random_password.netra_user",
        ],
        "{order:?}"
    );
    assert_eq!(order[4], "google_sql_user.netra", "{order:?}");
    assert!(order[5..].iter().all(|a| a.starts_with("google_secret_manager_secret.s[")), "{order:?}");
}

/// A command line in-process against the built-in providers, with what it printed.
async fn cairn(args: &[&str]) -> (u8, String, String) {
    let mut all = vec!["cairn"];
    all.extend_from_slice(args);
    let cli = parse(all.iter().map(std::ffi::OsString::from)).expect("command line");
    let (mut console, captured) = Console::captured("", false);
    let code = dispatch(cli, &mut console, Registry::builtin(), &Interrupt::new()).await.expect("the command runs");
    (code, captured.stdout(), captured.stderr())
}

const CHAIN: &str = r#"
resource "terraform_data" "a" {
  input = "one"
}

resource "terraform_data" "b" {
  input = terraform_data.a.output
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_text_report_and_apply_json_show_the_critical_path() {
    let s = TestStack::new(&[("main.tf", CHAIN)]);
    let dir = s.path().to_str().unwrap();
    let (code, out, err) = cairn(&["apply", "-auto-approve", dir]).await;
    assert_eq!(code, 0, "{out}{err}");
    let line = regex::Regex::new(
        r"(?m)^Critical path \d+\.\d s \(terraform_data\.a → terraform_data\.b\); apply took \d+\.\d s$",
    )
    .unwrap();
    assert!(line.is_match(&out), "{out}");

    // Nothing to do: no steps, no critical path.
    let (code, out, err) = cairn(&["apply", "-auto-approve", dir]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(!out.contains("Critical path"), "{out}");

    let s = TestStack::new(&[("main.tf", CHAIN)]);
    let dir = s.path().to_str().unwrap();
    let (code, out, err) = cairn(&["apply", "-json", "-auto-approve", dir]).await;
    assert_eq!(code, 0, "{out}{err}");
    let summary: serde_json::Value = out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON"))
        .rfind(|m| m["type"] == "change_summary" && m["changes"]["operation"] == "apply")
        .expect("the apply's change_summary");
    let cp = &summary["cairn_critical_path"];
    let chain: Vec<&str> =
        cp["chain"].as_array().unwrap().iter().map(|s| s["resource"]["addr"].as_str().unwrap()).collect();
    assert_eq!(chain, ["terraform_data.a", "terraform_data.b"], "{summary}");
    assert!(cp["length_seconds"].as_f64().unwrap() <= cp["wall_seconds"].as_f64().unwrap(), "{summary}");
}
