//! Issue 13's Cloud Run half, end to end against the in-process emulator: the roadmap's two
//! services on the staging connector with secrets as env and the Cloud SQL instance mounted;
//! updates in place with a new revision; a location change replaces; drift made with the
//! official client; deletion_protection; a revision that never becomes ready; refresh cost;
//! and two IAM members written at once.

use std::path::Path;

use crate::support::*;
use cairn::emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use cairn::ops;
use cairn::plan::{Action, PlanMode};
use cairn::providers::google::GoogleOptions;
use cairn::providers::Registry;
use google_cloud_lro::Poller as _;
use google_cloud_run_v2::client::Services;

const PROJECT: &str = "netra-staging";
const CONNECTOR: &str = "projects/netra-staging/locations/us-central1/connectors/staging-connector";

/// The roadmap's services. `env` is the backend's ENVIRONMENT value, `location` the backend's
/// region, `protect` both services' deletion_protection.
fn stack(env: &str, location: &str, protect: bool) -> String {
    let service = |name: &str, location: &str, env: &str, health: &str, extra_env: &str| {
        format!(
            r#"
resource "google_cloud_run_v2_service" "{name}" {{
  name                = "{name}-staging"
  location            = "{location}"
  ingress             = "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"
  deletion_protection = {protect}

  template {{
    timeout = "600s"
    scaling {{
      min_instance_count = 1
      max_instance_count = 5
    }}
    vpc_access {{
      connector = "{CONNECTOR}"
      egress    = "PRIVATE_RANGES_ONLY"
    }}
    volumes {{
      name = "cloudsql"
      cloud_sql_instance {{
        instances = ["{PROJECT}:us-central1:staging-shared-postgres"]
      }}
    }}
    containers {{
      image = "gcr.io/{PROJECT}/{name}:latest"
      ports {{
        container_port = 8080
      }}
      env {{
        name  = "ENVIRONMENT"
        value = "{env}"
      }}
{extra_env}
      volume_mounts {{
        name       = "cloudsql"
        mount_path = "/cloudsql"
      }}
      startup_probe {{
        period_seconds    = 10
        timeout_seconds   = 5
        failure_threshold = 60
        http_get {{
          path = "{health}"
        }}
      }}
    }}
  }}
}}
"#
        )
    };
    let secret_env = r#"      env {
        name = "DATABASE_PASSWORD"
        value_source {
          secret_key_ref {
            secret  = google_secret_manager_secret.db_password.secret_id
            version = "latest"
          }
        }
      }"#;
    format!(
        r#"
provider "google" {{
  project = "{PROJECT}"
  region  = "us-central1"
}}

resource "google_secret_manager_secret" "db_password" {{
  secret_id = "postgres-password-staging"
  replication {{
    auto {{}}
  }}
}}

resource "google_secret_manager_secret_version" "db_password" {{
  secret      = google_secret_manager_secret.db_password.id
  secret_data = "not-a-real-password"
}}
{backend}{auth}
resource "google_cloud_run_v2_service_iam_member" "lb_backend" {{
  name     = google_cloud_run_v2_service.backend.name
  location = google_cloud_run_v2_service.backend.location
  role     = "roles/run.invoker"
  member   = "serviceAccount:lb@{PROJECT}.iam.gserviceaccount.com"
}}

resource "google_cloud_run_v2_service_iam_member" "all_backend" {{
  name     = google_cloud_run_v2_service.backend.name
  location = google_cloud_run_v2_service.backend.location
  role     = "roles/run.invoker"
  member   = "allUsers"
}}
"#,
        backend = service("backend", location, env, "/health", secret_env),
        auth = service("auth", "us-central1", "staging", "/auth/health", ""),
    )
}

async fn emulator_with(scenario: Option<&Path>) -> EmulatorHandle {
    let mut cfg = EmulatorConfig::for_tests();
    cfg.scenario = scenario.map(Path::to_path_buf);
    Emulator::start(cfg).await.expect("start the emulator")
}

fn stack_common(s: &TestStack, emu: &EmulatorHandle) -> ops::Common {
    common(s.path(), Registry::standard(GoogleOptions { emulator: Some(emu.endpoint()), ..Default::default() }))
}

async fn run_sdk(emu: &EmulatorHandle) -> Services {
    Services::builder()
        .with_endpoint(emu.endpoint())
        .with_credentials(google_cloud_auth::credentials::anonymous::Builder::new().build())
        .with_retry_policy(google_cloud_gax::retry_policy::NeverRetry)
        .build()
        .await
        .expect("Cloud Run client")
}

fn service_name(id: &str, location: &str) -> String {
    format!("projects/{PROJECT}/locations/{location}/services/{id}")
}

fn what_changes(p: &cairn::plan::Plan) -> String {
    let mut out = String::new();
    for ch in p.changes.iter().filter(|ch| ch.action != Action::NoOp) {
        out.push_str(&format!(
            "\n{} {:?}: {:?}",
            ch.addr,
            ch.action,
            ch.changed_paths.iter().map(|p| p.to_string()).collect::<Vec<_>>()
        ));
    }
    out
}

fn change<'p>(p: &'p cairn::plan::Plan, addr: &str) -> &'p cairn::plan::ResourceChange {
    p.changes
        .iter()
        .find(|c| c.addr.to_string() == addr)
        .unwrap_or_else(|| panic!("no change for {addr}: {:?}", actions(p)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_staging_services_life_cycle() {
    let emu = emulator_with(None).await;
    let run = run_sdk(&emu).await;
    let s = TestStack::new(&[("main.tf", &stack("staging", "us-central1", true))]);
    let c = stack_common(&s, &emu);
    apply(&c).await;

    let backend = service_name("backend-staging", "us-central1");
    let live = run.get_service().set_name(backend.clone()).send().await.expect("the backend exists");
    let template = live.template.clone().unwrap_or_default();
    let vpc = template.vpc_access.clone().unwrap_or_default();
    assert_eq!(vpc.connector, CONNECTOR);
    assert_eq!(vpc.egress.name(), Some("PRIVATE_RANGES_ONLY"));
    assert_eq!(template.timeout.map(|d| d.seconds()), Some(600));
    let env: Vec<String> = template.containers[0].env.iter().map(|e| e.name.clone()).collect();
    assert!(env.contains(&"DATABASE_PASSWORD".to_string()), "{env:?}");
    let first_revision = live.latest_ready_revision.clone();
    assert!(!first_revision.is_empty());
    let p = plan(&c).await;
    assert!(!p.has_changes(), "a refresh right after apply plans nothing: {}", what_changes(&p));

    // An env change: one in-place update, one PATCH, a new ready revision.
    s.write("main.tf", &stack("staging-2", "us-central1", true));
    let p = plan(&c).await;
    assert_eq!(actions(&p), vec![("google_cloud_run_v2_service.backend".to_string(), "update")]);
    emu.clear_requests();
    apply(&c).await;
    let patches: Vec<_> = emu.requests().into_iter().filter(|r| r.method == "PATCH").collect();
    assert_eq!(patches.len(), 1, "one update: {patches:?}");
    assert!(patches[0].query.contains("updateMask=template"), "{:?}", patches[0].query);
    let live = run.get_service().set_name(backend.clone()).send().await.unwrap();
    assert_ne!(live.latest_ready_revision, first_revision, "the update made a new revision");
    assert!(!plan(&c).await.has_changes());

    // A location change replaces — which deletion_protection refuses, with the fix.
    s.write("main.tf", &stack("staging-2", "us-east1", true));
    let e = match ops::plan(ops::PlanArgs::new(c.clone())).await {
        Err(e) => e,
        Ok(_) => panic!("a protected service is not replaced"),
    };
    let text = describe(&e);
    assert!(
        text.contains("deletion_protection = true")
            && text.contains("set deletion_protection = false and apply, then destroy"),
        "{text}"
    );

    // Drift made with the official client: the connector and egress of auth-staging.
    s.write("main.tf", &stack("staging-2", "us-central1", true));
    let auth = service_name("auth-staging", "us-central1");
    let live = run.get_service().set_name(auth.clone()).send().await.unwrap();
    let mut j = serde_json::to_value(&live).unwrap();
    j["template"]["vpcAccess"] = serde_json::json!({
        "connector": "projects/netra-staging/locations/us-central1/connectors/old-connector",
        "egress": "ALL_TRAFFIC"
    });
    let body: google_cloud_run_v2::model::Service = serde_json::from_value(j).unwrap();
    run.update_service().set_service(body).poller().until_done().await.expect("out-of-band update");
    let drift = plan_mode(&c, PlanMode::RefreshOnly).await;
    let found: Vec<(String, Vec<String>)> = drift
        .drift
        .iter()
        .map(|d| (d.addr.to_string(), d.changed_paths.iter().map(|p| p.to_string()).collect()))
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "google_cloud_run_v2_service.auth");
    let paths = found[0].1.join(" ");
    assert!(paths.contains("vpc_access[0].connector") && paths.contains("vpc_access[0].egress"), "{paths}");
    let p = plan(&c).await;
    assert_eq!(actions(&p), vec![("google_cloud_run_v2_service.auth".to_string(), "update")]);
    apply(&c).await;
    let live = run.get_service().set_name(auth.clone()).send().await.unwrap();
    assert_eq!(live.template.unwrap_or_default().vpc_access.unwrap_or_default().connector, CONNECTOR);

    // Destroy: refused while protected, then works after deletion_protection = false.
    let mut args = ops::PlanArgs::new(c.clone());
    args.mode = PlanMode::Destroy;
    let e = match ops::plan(args).await {
        Err(e) => e,
        Ok(_) => panic!("destroying protected services is refused"),
    };
    assert!(describe(&e).contains("set deletion_protection = false and apply, then destroy"), "{}", describe(&e));
    s.write("main.tf", &stack("staging-2", "us-central1", false));
    let p = plan(&c).await;
    let ch = change(&p, "google_cloud_run_v2_service.backend");
    assert_eq!(ch.action, Action::Update, "only the Terraform-only flag changes");
    emu.clear_requests();
    apply(&c).await;
    assert!(emu.requests().iter().all(|r| r.method != "PATCH"), "deletion_protection is never sent");

    // Now a location change plans a replace.
    s.write("main.tf", &stack("staging-2", "us-east1", false));
    let p = plan(&c).await;
    let ch = change(&p, "google_cloud_run_v2_service.backend");
    assert!(ch.action.is_replace(), "{:?}", ch.action);
    assert_eq!(ch.replace_paths.iter().map(|p| p.to_string()).collect::<Vec<_>>(), vec!["location".to_string()]);

    s.write("main.tf", &stack("staging-2", "us-central1", false));
    destroy(&c).await;
    assert!(run.get_service().set_name(backend).send().await.is_err(), "destroyed");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revision_that_never_becomes_ready_fails_apply_with_its_message() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("scenario.json");
    std::fs::write(
        &scenario,
        serde_json::json!({"run": {"revisionsNeverReady": [
            {"project": PROJECT, "location": "us-central1", "service": "auth-staging"}
        ]}})
        .to_string(),
    )
    .unwrap();
    let emu = emulator_with(Some(&scenario)).await;
    let s = TestStack::new(&[("main.tf", &stack("staging", "us-central1", false))]);
    let c = stack_common(&s, &emu);
    let r = ops::apply(apply_args(&c), &mut |_| true).await.unwrap_or_else(|e| panic!("{}", describe(&e)));
    let failed = r.outcome.expect("the apply ran").failed;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].0.to_string(), "google_cloud_run_v2_service.auth");
    let text = &failed[0].1;
    assert!(text.contains("auth-staging") && text.contains("is not ready and cannot serve traffic"), "{text}");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refreshing_services_and_members_costs_one_call_per_location_and_service() {
    let emu = emulator_with(None).await;
    let s = TestStack::new(&[("main.tf", &stack("staging", "us-central1", false))]);
    let c = stack_common(&s, &emu);
    apply(&c).await;
    emu.clear_requests();
    assert!(!plan(&c).await.has_changes());
    let run: Vec<_> = emu.requests().into_iter().filter(|r| r.path.contains("/services")).collect();
    let lists = run.iter().filter(|r| r.method == "GET" && r.path.ends_with("/services")).count();
    let policies = run.iter().filter(|r| r.path.ends_with(":getIamPolicy")).count();
    let gets =
        run.iter().filter(|r| r.method == "GET" && r.path.contains("/services/") && !r.path.contains(':')).count();
    assert_eq!((lists, policies, gets), (1, 1, 0), "{:?}", run.iter().map(|r| &r.path).collect::<Vec<_>>());
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_members_added_at_once_both_survive() {
    let emu = emulator_with(None).await;
    let run = run_sdk(&emu).await;
    let s = TestStack::new(&[("main.tf", &stack("staging", "us-central1", false))]);
    let c = stack_common(&s, &emu);
    apply(&c).await;
    let policy =
        run.get_iam_policy().set_resource(service_name("backend-staging", "us-central1")).send().await.unwrap();
    let invokers: Vec<String> =
        policy.bindings.iter().filter(|b| b.role == "roles/run.invoker").flat_map(|b| b.members.clone()).collect();
    assert!(invokers.contains(&"allUsers".to_string()), "{invokers:?}");
    assert!(invokers.contains(&format!("serviceAccount:lb@{PROJECT}.iam.gserviceaccount.com")), "{invokers:?}");
    let state = s.state_bytes();
    assert!(contains(&state, "roles/run.invoker/allUsers"));
    // Deleting one member keeps the other.
    let without_all = stack("staging", "us-central1", false).replace(
        "resource \"google_cloud_run_v2_service_iam_member\" \"all_backend\"",
        "resource \"google_cloud_run_v2_service_iam_member\" \"all_gone\"",
    );
    let only_lb = without_all.split("resource \"google_cloud_run_v2_service_iam_member\" \"all_gone\"").next().unwrap();
    s.write("main.tf", only_lb);
    apply(&c).await;
    let policy =
        run.get_iam_policy().set_resource(service_name("backend-staging", "us-central1")).send().await.unwrap();
    let invokers: Vec<String> = policy.bindings.iter().flat_map(|b| b.members.clone()).collect();
    assert_eq!(invokers, vec![format!("serviceAccount:lb@{PROJECT}.iam.gserviceaccount.com")]);
    emu.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// Plan-time rules: every one has a malformed stack with a located diagnostic.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_cloud_run_rule_has_a_located_diagnostic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/malformed_google");
    let mut names: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("run_"))
        .collect();
    names.sort();
    assert!(names.len() >= 6, "{names:?}");
    for name in names {
        let dir = format!("tests/fixtures/malformed_google/{name}");
        let c = common(Path::new(&dir), Registry::standard(GoogleOptions { emulator: None, ..Default::default() }));
        let rendered = match ops::validate(&c).await {
            Ok(d) if d.has_errors() => panic!("{name}: validate returned errors as Ok"),
            Ok(_) => panic!("{name}: expected an error"),
            Err(e) => describe(&e),
        };
        let located = regex::Regex::new(&format!(r"{}/main\.tf:\d+:\d+", regex::escape(&dir))).unwrap();
        assert!(located.is_match(&rendered), "{name}: no file:line:col in\n{rendered}");
        insta::assert_snapshot!(format!("malformed_google__{name}"), rendered);
    }
}

// ---------------------------------------------------------------------------------------------
// The provider's documentation examples that use only supported types (the others need
// google_project, google_secret_manager_secret_iam_member, google-beta, buckets, Filestore or
// a mesh): each plans, applies, plans empty and destroys against the emulator.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documentations_cloud_run_examples_apply() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/doc_examples");
    let mut examples: Vec<_> = std::fs::read_dir(&root)
        .expect("tests/it/doc_examples")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("cloudrunv2_")))
        .collect();
    examples.sort();
    assert!(examples.len() >= 4, "{examples:?}");
    let emu = emulator_with(None).await;
    for path in examples {
        let label = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# From GoogleCloudPlatform/magic-modules"), "{label}: credit the source");
        let provider = format!("provider \"google\" {{\n  project = \"{PROJECT}\"\n  region  = \"us-central1\"\n}}\n");
        let s = TestStack::new(&[("main.tf", &text), ("provider.tf", &provider)]);
        let c = stack_common(&s, &emu);
        let p = match ops::plan(ops::PlanArgs::new(c.clone())).await {
            Ok(r) => r.plan,
            Err(e) => panic!("{label}: {}", describe(&e)),
        };
        assert!(!p.changes.is_empty() && p.changes.iter().all(|ch| ch.action == Action::Create), "{label}");
        apply(&c).await;
        let again = plan(&c).await;
        assert!(!again.has_changes(), "{label}: {}", what_changes(&again));
        let gone = destroy(&c).await;
        assert!(gone.outcome.is_some_and(|o| o.failed.is_empty()), "{label}: destroy");
    }
    emu.shutdown().await;
}

/// A service and its invoker member made outside Cairn (the roadmap's gcloud restore) are
/// adopted with the provider's import ids and plan empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_and_members_made_with_gcloud_import_and_plan_empty() {
    let emu = emulator_with(None).await;
    let s = TestStack::new(&[("main.tf", &stack("staging", "us-central1", false))]);
    let c = stack_common(&s, &emu);
    apply(&c).await;
    // Forget everything, then adopt it again by id.
    let fresh = TestStack::new(&[("main.tf", &stack("staging", "us-central1", false))]);
    let c2 = stack_common(&fresh, &emu);
    let e = ops::import(&c2, "google_cloud_run_v2_service_iam_member.all_backend", "backend-staging roles/run.invoker")
        .await
        .expect_err("a member import id names three things");
    assert!(describe(&e).contains("SERVICE ROLE MEMBER"), "{}", describe(&e));
    for (addr, id) in [
        ("google_secret_manager_secret.db_password", format!("projects/{PROJECT}/secrets/postgres-password-staging")),
        ("google_cloud_run_v2_service.backend", service_name("backend-staging", "us-central1")),
        ("google_cloud_run_v2_service.auth", format!("{PROJECT}/us-central1/auth-staging")),
        (
            "google_cloud_run_v2_service_iam_member.all_backend",
            format!("{} roles/run.invoker allUsers", service_name("backend-staging", "us-central1")),
        ),
        (
            "google_cloud_run_v2_service_iam_member.lb_backend",
            format!(
                "us-central1/backend-staging roles/run.invoker serviceAccount:lb@{PROJECT}.iam.gserviceaccount.com"
            ),
        ),
    ] {
        ops::import(&c2, addr, &id).await.unwrap_or_else(|e| panic!("{addr}: {}", describe(&e)));
    }
    let p = plan(&c2).await;
    // Left: the version (its data cannot be imported), and deletion_protection, which an
    // import sets to the provider's default (true) as Terraform does: a Terraform-only change.
    let left: Vec<(String, Vec<String>)> = p
        .changes
        .iter()
        .filter(|ch| ch.action != Action::NoOp && ch.action != Action::Create)
        .map(|ch| (ch.addr.to_string(), ch.changed_paths.iter().map(|p| p.to_string()).collect()))
        .collect();
    let protection = vec!["deletion_protection".to_string()];
    assert_eq!(
        left,
        vec![
            ("google_cloud_run_v2_service.auth".to_string(), protection.clone()),
            ("google_cloud_run_v2_service.backend".to_string(), protection)
        ],
        "{}",
        what_changes(&p)
    );
    emu.clear_requests();
    apply(&c2).await;
    assert!(emu.requests().iter().all(|r| r.method != "PATCH"), "Terraform-only: nothing sent");
    assert!(!plan(&c2).await.has_changes());
    emu.shutdown().await;
}
