//! Issue 14 §5, for every API: an apply killed while its creates are in flight, rerun at once
//! or once they have finished, adopts what the killed apply created — its plan already says so,
//! once per object — creates nothing twice and converges to an empty plan.
//!
//! APIs with long-running operations run against the embedded emulator (`--emulator`, whose
//! operations take 2 s): the kill lands while an operation is pending. The synchronous APIs
//! (Secret Manager, Logging) answer at once, so the kill must land between the server's commit
//! and the client's read of the answer: those run against an in-process emulator whose answers
//! are delayed, and the kill comes as soon as the emulated cloud holds the new object.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

const PROVIDER: &str = r#"
provider "google" {
  project = "demo-project"
  region  = "us-central1"
}
"#;

/// A kill-and-rerun case: `setup` is applied to completion first (what the creates need),
/// then `added` is applied and killed while the creates of `adopted` are in flight.
struct Case {
    setup: &'static str,
    added: &'static str,
    adopted: &'static [&'static str],
}

fn cairn_cmd(args: &[&str], cwd: &Path, endpoint: Option<&str>) -> Command {
    let mut c = Command::new(cairn_bin());
    match endpoint {
        Some(e) => {
            c.env("CAIRN_GCP_EMULATOR", e);
        }
        None => {
            c.arg("--emulator").env_remove("CAIRN_GCP_EMULATOR");
        }
    }
    c.args(args).current_dir(cwd).env("NO_COLOR", "1");
    c
}

fn cairn(args: &[&str], cwd: &Path, endpoint: Option<&str>) -> Output {
    cairn_cmd(args, cwd, endpoint).output().expect("run cairn")
}

fn spawn_apply(dir: &str, cwd: &Path, endpoint: Option<&str>) -> Child {
    cairn_cmd(&["apply", dir, "--auto-approve", "--parallelism", "2"], cwd, endpoint)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn")
}

fn setup(case: &Case, s: &TestStack, endpoint: Option<&str>) -> String {
    let dir = s.path().to_str().unwrap().to_string();
    if !case.setup.is_empty() {
        s.write("main.tf", &format!("{PROVIDER}{}", case.setup));
        let o = cairn(&["apply", &dir, "--auto-approve", "--parallelism", "2"], s.path(), endpoint);
        assert_eq!(o.status.code(), Some(0), "setup: {}{}", stdout(&o), stderr(&o));
    }
    s.write("main.tf", &format!("{PROVIDER}{}{}", case.setup, case.added));
    dir
}

/// After the kill: the rerun's plan (when `plan_first`) and its apply adopt each of
/// `case.adopted` and say so once; nothing is created twice; the next plan is empty.
fn rerun_converges(case: &Case, s: &TestStack, dir: &str, endpoint: Option<&str>, plan_first: bool) {
    let recorded_before = cairn(&["-C", dir, "state", "list"], s.path(), endpoint);
    let recorded_before = stdout(&recorded_before);
    for addr in case.adopted {
        assert!(
            !recorded_before.lines().any(|l| l == *addr),
            "the kill came too late: {addr} was already recorded:\n{recorded_before}"
        );
    }
    if plan_first {
        let o = cairn(&["plan", dir], s.path(), endpoint);
        let all = format!("{}{}", stdout(&o), stderr(&o));
        assert_eq!(o.status.code(), Some(0), "{all}");
        for addr in case.adopted {
            let adopting = format!("{addr}: adopting");
            assert_eq!(all.matches(&adopting).count(), 1, "the plan adopts {addr}, said once:\n{all}");
            assert!(!all.contains(&format!("{addr} will be created")), "{all}");
        }
    }
    let o = cairn(&["apply", dir, "--auto-approve", "--parallelism", "2"], s.path(), endpoint);
    let all = format!("{}{}", stdout(&o), stderr(&o));
    assert_eq!(o.status.code(), Some(0), "{all}");
    assert!(!all.contains("already exists"), "{all}");
    for addr in case.adopted {
        let adopting = format!("{addr}: adopting");
        assert_eq!(all.matches(&adopting).count(), 1, "{addr} adopted once, said once:\n{all}");
    }
    let o = cairn(&["plan", dir, "--detailed-exitcode"], s.path(), endpoint);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
}

/// Kills the apply 1.2 s in (the embedded emulator's operations take 2 s), waits `pause`, and
/// reruns.
fn kill_during_operations_then_rerun(case: &Case, pause: Duration) {
    let s = TestStack::new(&[]);
    let dir = setup(case, &s, None);
    let mut child = spawn_apply(&dir, s.path(), None);
    std::thread::sleep(Duration::from_millis(1200));
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    std::thread::sleep(pause);
    rerun_converges(case, &s, &dir, None, !pause.is_zero());
}

const AT_ONCE: Duration = Duration::ZERO;
const LATER: Duration = Duration::from_secs(3);

const SQL_INSTANCE: &str = r#"
resource "google_sql_database_instance" "db" {
  name                = "recover-db"
  database_version    = "POSTGRES_14"
  region              = "us-central1"
  deletion_protection = false
  settings {
    tier = "db-f1-micro"
  }
}
"#;

const SQL_INSTANCE_CASE: Case = Case { setup: "", added: SQL_INSTANCE, adopted: &["google_sql_database_instance.db"] };

#[test]
fn sql_instance_rerun_at_once_after_a_kill_adopts_it() {
    kill_during_operations_then_rerun(&SQL_INSTANCE_CASE, AT_ONCE);
}

#[test]
fn sql_instance_later_rerun_after_a_kill_plans_its_adoption() {
    kill_during_operations_then_rerun(&SQL_INSTANCE_CASE, LATER);
}

/// A database and a user are created by operations on their instance, which runs one at a
/// time (the other waits, busy): each is killed alone.
const SQL_DATABASE_CASE: Case = Case {
    setup: SQL_INSTANCE,
    added: r#"
resource "google_sql_database" "d" {
  name     = "recover_db"
  instance = google_sql_database_instance.db.name
}
"#,
    adopted: &["google_sql_database.d"],
};

#[test]
fn sql_database_rerun_at_once_after_a_kill_adopts_it() {
    kill_during_operations_then_rerun(&SQL_DATABASE_CASE, AT_ONCE);
}

#[test]
fn sql_database_later_rerun_after_a_kill_plans_its_adoption() {
    kill_during_operations_then_rerun(&SQL_DATABASE_CASE, LATER);
}

const SQL_USER_CASE: Case = Case {
    setup: SQL_INSTANCE,
    added: r#"
resource "google_sql_user" "u" {
  name     = "recover_user"
  instance = google_sql_database_instance.db.name
  password = "not-a-real-password"
}
"#,
    adopted: &["google_sql_user.u"],
};

/// The user's journaled name used to be `NAME/HOST/INSTANCE`, which import refuses: the rerun
/// failed with "already exists" and so did every later one.
#[test]
fn sql_user_rerun_at_once_after_a_kill_adopts_it() {
    kill_during_operations_then_rerun(&SQL_USER_CASE, AT_ONCE);
}

#[test]
fn sql_user_later_rerun_after_a_kill_plans_its_adoption() {
    kill_during_operations_then_rerun(&SQL_USER_CASE, LATER);
}

const CONNECTOR_CASE: Case = Case {
    setup: "",
    added: r#"
resource "google_vpc_access_connector" "c" {
  name          = "recover-connector"
  region        = "us-central1"
  network       = "default"
  ip_cidr_range = "10.8.0.0/28"
  min_instances = 2
  max_instances = 3
}
"#,
    adopted: &["google_vpc_access_connector.c"],
};

#[test]
fn vpc_connector_rerun_at_once_after_a_kill_adopts_it() {
    kill_during_operations_then_rerun(&CONNECTOR_CASE, AT_ONCE);
}

#[test]
fn vpc_connector_later_rerun_after_a_kill_plans_its_adoption() {
    kill_during_operations_then_rerun(&CONNECTOR_CASE, LATER);
}

const RUN_CASE: Case = Case {
    setup: "",
    added: r#"
resource "google_cloud_run_v2_service" "s" {
  name                = "recover-service"
  location            = "us-central1"
  deletion_protection = false
  template {
    containers {
      image = "us-docker.pkg.dev/cloudrun/container/hello"
    }
  }
}
"#,
    adopted: &["google_cloud_run_v2_service.s"],
};

#[test]
fn cloud_run_service_rerun_at_once_after_a_kill_adopts_it() {
    kill_during_operations_then_rerun(&RUN_CASE, AT_ONCE);
}

#[test]
fn cloud_run_service_later_rerun_after_a_kill_plans_its_adoption() {
    kill_during_operations_then_rerun(&RUN_CASE, LATER);
}

/// Regional compute.
const NEG_CASE: Case = Case {
    setup: "",
    added: r#"
resource "google_compute_region_network_endpoint_group" "n" {
  count  = 2
  name   = "recover-neg-${count.index}"
  region = "us-central1"
  cloud_run {
    service = "recover-service"
  }
}
"#,
    adopted: &[
        "google_compute_region_network_endpoint_group.n[0]",
        "google_compute_region_network_endpoint_group.n[1]",
    ],
};

#[test]
fn region_neg_rerun_at_once_after_a_kill_adopts_them() {
    kill_during_operations_then_rerun(&NEG_CASE, AT_ONCE);
}

#[test]
fn region_neg_later_rerun_after_a_kill_plans_their_adoption() {
    kill_during_operations_then_rerun(&NEG_CASE, LATER);
}

/// Global compute, at the end of a chain of references.
const FORWARDING_RULE_CASE: Case = Case {
    setup: r#"
resource "google_compute_health_check" "hc" {
  name = "recover-hc"
  http_health_check {
    port = 80
  }
}

resource "google_compute_backend_service" "b" {
  name          = "recover-backend"
  health_checks = [google_compute_health_check.hc.id]
}

resource "google_compute_url_map" "m" {
  name            = "recover-map"
  default_service = google_compute_backend_service.b.id
}

resource "google_compute_target_http_proxy" "p" {
  name    = "recover-proxy"
  url_map = google_compute_url_map.m.id
}
"#,
    added: r#"
resource "google_compute_global_forwarding_rule" "f" {
  name       = "recover-rule"
  target     = google_compute_target_http_proxy.p.id
  port_range = "80"
}
"#,
    adopted: &["google_compute_global_forwarding_rule.f"],
};

#[test]
fn global_forwarding_rule_rerun_at_once_after_a_kill_adopts_it() {
    kill_during_operations_then_rerun(&FORWARDING_RULE_CASE, AT_ONCE);
}

#[test]
fn global_forwarding_rule_later_rerun_after_a_kill_plans_its_adoption() {
    kill_during_operations_then_rerun(&FORWARDING_RULE_CASE, LATER);
}

/// How long the in-process emulator holds each answer back: the kill comes within it.
const ANSWER_DELAY: Duration = Duration::from_millis(1500);

/// Applies `case` against an in-process emulator whose answers come `ANSWER_DELAY` after the
/// change, kills the apply as soon as the emulated cloud holds a name ending in each of
/// `created` (in `api`), waits `pause`, and reruns. Returns the names `api` holds at the end.
fn kill_between_commit_and_answer_then_rerun(case: &Case, api: &str, created: &[&str], pause: Duration) -> Vec<String> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emu =
        rt.block_on(cairn::emulator::Emulator::start(cairn::emulator::EmulatorConfig::for_tests())).expect("emulator");
    let endpoint = emu.endpoint();
    let s = TestStack::new(&[]);
    let dir = setup(case, &s, Some(&endpoint));
    emu.set_latency(ANSWER_DELAY);
    let mut child = spawn_apply(&dir, s.path(), Some(&endpoint));
    let deadline = Instant::now() + Duration::from_secs(30);
    while !created.iter().all(|end| emu.names(api).iter().any(|n| n.ends_with(end))) {
        assert!(Instant::now() < deadline, "the apply never created {created:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    emu.set_latency(Duration::ZERO);
    std::thread::sleep(pause);
    rerun_converges(case, &s, &dir, Some(&endpoint), true);
    let names = emu.names(api);
    rt.block_on(emu.shutdown());
    names
}

const SECRET_CASE: Case = Case {
    setup: "",
    added: r#"
resource "google_secret_manager_secret" "s" {
  count     = 2
  secret_id = "recover-secret-${count.index}"
  replication {
    auto {}
  }
}
"#,
    adopted: &["google_secret_manager_secret.s[0]", "google_secret_manager_secret.s[1]"],
};

#[test]
fn secrets_rerun_after_a_kill_before_the_answer_adopts_them() {
    kill_between_commit_and_answer_then_rerun(
        &SECRET_CASE,
        "secretmanager",
        &["/secrets/recover-secret-0", "/secrets/recover-secret-1"],
        AT_ONCE,
    );
}

const SINK_CASE: Case = Case {
    setup: "",
    added: r#"
resource "google_logging_project_sink" "k" {
  name                   = "recover-sink"
  destination            = "storage.googleapis.com/recover-bucket"
  unique_writer_identity = true
}
"#,
    adopted: &["google_logging_project_sink.k"],
};

/// A secret version's number is the server's: the journal holds its secret, and the rerun
/// adopts the version added since whose payload is the planned one (compared in memory).
const SECRET_VERSION_CASE: Case = Case {
    setup: r#"
resource "google_secret_manager_secret" "s" {
  secret_id = "recover-versioned"
  replication {
    auto {}
  }
}
"#,
    added: r#"
resource "google_secret_manager_secret_version" "v" {
  secret      = google_secret_manager_secret.s.id
  secret_data = "recovered-payload"
}
"#,
    adopted: &["google_secret_manager_secret_version.v"],
};

fn one_version_after_a_kill_before_the_answer(pause: Duration) {
    let names = kill_between_commit_and_answer_then_rerun(
        &SECRET_VERSION_CASE,
        "secretmanager",
        &["/secrets/recover-versioned/versions/1"],
        pause,
    );
    let versions: Vec<_> = names.iter().filter(|n| n.contains("/secrets/recover-versioned/versions/")).collect();
    assert_eq!(versions.len(), 1, "exactly one version: {versions:?}");
}

#[test]
fn secret_version_rerun_at_once_after_a_kill_before_the_answer_adopts_it() {
    one_version_after_a_kill_before_the_answer(AT_ONCE);
}

#[test]
fn secret_version_later_rerun_after_a_kill_before_the_answer_adopts_it() {
    one_version_after_a_kill_before_the_answer(LATER);
}

#[test]
fn logging_sink_rerun_after_a_kill_before_the_answer_adopts_it() {
    kill_between_commit_and_answer_then_rerun(&SINK_CASE, "logging", &["/sinks/recover-sink"], AT_ONCE);
}

/// A journaled name whose read fails for another reason than "not found" (here a name the
/// import refuses, as the SQL user's journaled names once were) is not silently planned as a
/// create: the plan warns with the address, the name and the error, and still creates.
#[test]
fn a_journaled_name_that_cannot_be_read_is_said_not_swallowed() {
    use cairn::addr::{InstanceKey, ModulePath, ResourceAddr};
    use cairn::state::{JournalEntry, JournalStatus, StateStore};
    let s = TestStack::new(&[]);
    s.write(
        "main.tf",
        &format!(
            "{PROVIDER}\nresource \"google_secret_manager_secret\" \"s\" {{\n  secret_id = \"journaled\"\n  replication {{\n    auto {{}}\n  }}\n}}\n"
        ),
    );
    let addr =
        ResourceAddr::managed(ModulePath::root(), "google_secret_manager_secret", "s").instance(InstanceKey::None);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = cairn::state::local::LocalStore::open(&s.path().join("state")).unwrap();
        store
            .journal(&JournalEntry {
                apply_id: "killed".into(),
                seq: 0,
                addr: addr.clone(),
                action: "create".into(),
                type_name: "google_secret_manager_secret".into(),
                cloud_name: Some("not/a/secret".into()),
                operation_id: None,
                status: JournalStatus::Started,
                time: chrono::Utc::now().to_rfc3339(),
            })
            .await
            .unwrap();
    });
    let dir = s.path().to_str().unwrap();
    let o = cairn(&["plan", dir], s.path(), None);
    let all = format!("{}{}", stdout(&o), stderr(&o));
    assert_eq!(o.status.code(), Some(0), "{all}");
    assert!(
        all.contains("google_secret_manager_secret.s: an interrupted apply was creating \"not/a/secret\", and reading it failed:")
            && all.contains("is not projects/PROJECT/secrets/SECRET_ID"),
        "{all}"
    );
    assert!(all.contains("google_secret_manager_secret.s will be created"), "{all}");
}
