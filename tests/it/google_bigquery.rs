//! Issue 15's BigQuery dataset end to end against the in-process emulator: create with the
//! API's defaults, an in-place update, drift on an access change made outside, the access list
//! kept when the configuration manages none, import, and destroy.

use crate::support::*;
use cairn::emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use cairn::ops;
use cairn::plan::PlanMode;
use cairn::providers::google::GoogleOptions;
use cairn::providers::Registry;
use google_cloud_bigquery_v2::client::DatasetService;
use google_cloud_bigquery_v2::model::{Access, Dataset};

const PROJECT: &str = "netra-staging";

fn stack(description: &str, access: &str) -> String {
    format!(
        r#"
provider "google" {{
  project = "{PROJECT}"
}}

resource "google_bigquery_dataset" "monitoring" {{
  dataset_id                  = "infrastructure_monitoring"
  friendly_name               = "Infrastructure monitoring"
  description                 = "{description}"
  default_table_expiration_ms = 2592000000
  delete_contents_on_destroy  = true
  labels = {{
    purpose = "log-sinks"
  }}
{access}}}
"#
    )
}

const ACCESS: &str = r#"  access {
    role          = "OWNER"
    special_group = "projectOwners"
  }
  access {
    role           = "WRITER"
    user_by_email  = "sink-writer@netra-staging.iam.gserviceaccount.com"
  }
"#;

fn stack_common(s: &TestStack, emu: &EmulatorHandle) -> ops::Common {
    common(s.path(), Registry::standard(GoogleOptions { emulator: Some(emu.endpoint()), ..Default::default() }))
}

async fn sdk(emu: &EmulatorHandle) -> DatasetService {
    DatasetService::builder()
        .with_endpoint(emu.endpoint())
        .with_credentials(google_cloud_auth::credentials::anonymous::Builder::new().build())
        .with_retry_policy(google_cloud_gax::retry_policy::NeverRetry)
        .build()
        .await
        .expect("BigQuery client")
}

async fn live(bq: &DatasetService) -> Dataset {
    bq.get_dataset().set_project_id(PROJECT).set_dataset_id("infrastructure_monitoring").send().await.expect("get")
}

fn changes(p: &cairn::plan::Plan) -> Vec<(String, Vec<String>)> {
    p.changes
        .iter()
        .filter(|c| c.action != cairn::plan::Action::NoOp)
        .map(|c| (c.addr.to_string(), c.changed_paths.iter().map(|x| x.to_string()).collect()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_monitoring_dataset_life_cycle() {
    let emu = Emulator::start(EmulatorConfig::for_tests()).await.expect("emulator");
    let bq = sdk(&emu).await;

    // Without access blocks: the API's default access list, which a later update keeps.
    let s = TestStack::new(&[("main.tf", &stack("sink destination", ""))]);
    let c = stack_common(&s, &emu);
    apply(&c).await;
    let d = live(&bq).await;
    assert_eq!(d.location, "US");
    assert_eq!(d.access.len(), 4, "the default access list: {:?}", d.access);
    assert_eq!(d.labels.get("purpose").map(String::as_str), Some("log-sinks"));
    assert_eq!(d.default_table_expiration_ms, Some(2_592_000_000));
    let p = plan(&c).await;
    assert!(!p.has_changes(), "a refresh right after apply plans nothing: {:?}", changes(&p));

    // A grant made outside (as an iam_member would) survives an update of another field.
    let mut access = d.access.clone();
    access.push(Access::new().set_role("READER").set_group_by_email("analysts@netrasystems.ai"));
    bq.patch_dataset()
        .set_project_id(PROJECT)
        .set_dataset_id("infrastructure_monitoring")
        .set_dataset(Dataset::new().set_access(access))
        .send()
        .await
        .expect("out-of-band grant");
    s.write("main.tf", &stack("where the staging sinks write", ""));
    let p = plan(&c).await;
    assert_eq!(actions(&p), vec![("google_bigquery_dataset.monitoring".to_string(), "update")]);
    apply(&c).await;
    let d = live(&bq).await;
    assert_eq!(d.description.as_deref(), Some("where the staging sinks write"));
    assert_eq!(d.access.len(), 5, "the unmanaged access list is kept: {:?}", d.access);
    assert!(!plan(&c).await.has_changes());

    // Managed access: the configuration's list replaces the live one.
    s.write("main.tf", &stack("where the staging sinks write", ACCESS));
    apply(&c).await;
    let d = live(&bq).await;
    let members: Vec<(String, String)> =
        d.access.iter().map(|a| (a.role.clone(), format!("{}{}", a.special_group, a.user_by_email))).collect();
    assert_eq!(
        members,
        vec![
            ("OWNER".to_string(), "projectOwners".to_string()),
            ("WRITER".to_string(), "sink-writer@netra-staging.iam.gserviceaccount.com".to_string())
        ]
    );
    assert!(!plan(&c).await.has_changes());

    // Drift: a member added outside shows as a change of access.
    let mut access = d.access.clone();
    access.push(Access::new().set_role("READER").set_domain("netrasystems.ai"));
    bq.patch_dataset()
        .set_project_id(PROJECT)
        .set_dataset_id("infrastructure_monitoring")
        .set_dataset(Dataset::new().set_access(access))
        .send()
        .await
        .expect("out-of-band access change");
    let drift = plan_mode(&c, PlanMode::RefreshOnly).await;
    let paths: Vec<String> = drift.drift.iter().flat_map(|d| d.changed_paths.iter().map(|p| p.to_string())).collect();
    assert!(paths.iter().any(|p| p.starts_with("access")), "{paths:?}");
    apply(&c).await;
    assert_eq!(live(&bq).await.access.len(), 2, "the apply restores the configured access");

    // Import into a fresh state, by each documented id form.
    for id in [
        format!("projects/{PROJECT}/datasets/infrastructure_monitoring"),
        format!("{PROJECT}/infrastructure_monitoring"),
        "infrastructure_monitoring".to_string(),
    ] {
        let fresh = TestStack::new(&[
            ("main.tf", &stack("where the staging sinks write", ACCESS)),
            ("imports.tf", &format!("import {{\n  to = google_bigquery_dataset.monitoring\n  id = \"{id}\"\n}}\n")),
        ]);
        let fc = stack_common(&fresh, &emu);
        let p = plan(&fc).await;
        // The import reads the dataset; as in Terraform, the Terraform-only
        // delete_contents_on_destroy (false after an import) is the one thing left to update.
        let acts = actions(&p);
        assert!(acts.iter().all(|(_, a)| !a.contains("create") && !a.contains("delete")), "{id}: {acts:?}");
        assert_eq!(
            changes(&p),
            vec![("google_bigquery_dataset.monitoring".to_string(), vec!["delete_contents_on_destroy".to_string()])],
            "{id}"
        );
        assert!(p.changes.iter().any(|c| c.addr.to_string() == "google_bigquery_dataset.monitoring"), "{id}");
    }

    destroy(&c).await;
    let gone = bq.get_dataset().set_project_id(PROJECT).set_dataset_id("infrastructure_monitoring").send().await;
    assert_eq!(gone.expect_err("destroyed").http_status_code(), Some(404));
    emu.shutdown().await;
}

/// A member of `dataset` (an expression: a reference orders it after the dataset).
fn member_of(dataset: &str, name: &str, role: &str, member: &str) -> String {
    format!(
        r#"
resource "google_bigquery_dataset_iam_member" "{name}" {{
  dataset_id = {dataset}
  role       = "{role}"
  member     = "{member}"
}}
"#
    )
}

/// A member of the monitoring dataset, from a stack that does not manage the dataset.
fn member(name: &str, role: &str, member: &str) -> String {
    let provider = format!("provider \"google\" {{\n  project = \"{PROJECT}\"\n}}\n");
    provider + &member_of("\"infrastructure_monitoring\"", name, role, member)
}

/// The live access entries as `ROLE kind:value` strings, sorted.
fn entries(d: &Dataset) -> Vec<String> {
    let mut out: Vec<String> = d
        .access
        .iter()
        .map(|a| {
            let who = [
                ("user", &a.user_by_email),
                ("group", &a.group_by_email),
                ("domain", &a.domain),
                ("special", &a.special_group),
                ("iam", &a.iam_member),
            ]
            .into_iter()
            .find(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}:{v}"))
            .unwrap_or_default();
            format!("{} {who}", a.role)
        })
        .collect();
    out.sort();
    out
}

const DATASET: &str = "google_bigquery_dataset.monitoring.dataset_id";
const SINK_WRITER: &str = "serviceAccount:service-1@gcp-sa-logging.iam.gserviceaccount.com";

/// Issue 15: the sinks' writer identities granted on the dataset. Members of one dataset
/// created in one apply (in parallel) all survive, as do members of two applies racing; a
/// refresh reads the dataset once for all its members; a destroy removes only its own entry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dataset_iam_members_edit_the_access_list_without_losing_each_other() {
    let emu = Emulator::start(EmulatorConfig::for_tests()).await.expect("emulator");
    let bq = sdk(&emu).await;
    // Every answer late: the parallel read-modify-writes overlap, and all but one are stale.
    emu.set_latency(std::time::Duration::from_millis(40));

    let a_tf = [
        stack("sink destination", ""),
        member_of(DATASET, "sink", "roles/bigquery.dataEditor", SINK_WRITER),
        member_of(DATASET, "analysts", "roles/bigquery.dataViewer", "group:analysts@netrasystems.ai"),
        member_of(DATASET, "company", "roles/bigquery.dataViewer", "domain:netrasystems.ai"),
    ]
    .concat();
    let a = TestStack::new(&[("main.tf", &a_tf)]);
    let ac = stack_common(&a, &emu);
    emu.clear_requests();
    apply(&ac).await;
    let stale = emu.requests().iter().filter(|r| r.method == "PUT" && r.status == 412).count();
    assert!(stale >= 1, "the parallel members raced: {:?}", emu.requests());
    let d = live(&bq).await;
    let want = |extra: &[&str]| {
        let mut w: Vec<String> = [
            "OWNER special:projectOwners",
            "OWNER user:cairn-emulator@netra-staging.iam.gserviceaccount.com",
            "READER special:projectReaders",
            "WRITER special:projectWriters",
            "READER group:analysts@netrasystems.ai",
            "READER domain:netrasystems.ai",
            "WRITER user:service-1@gcp-sa-logging.iam.gserviceaccount.com",
        ]
        .iter()
        .chain(extra)
        .map(|s| s.to_string())
        .collect();
        w.sort();
        w
    };
    assert_eq!(entries(&d), want(&[]));
    assert!(!plan(&ac).await.has_changes(), "the dataset keeps the members' entries; the members find theirs");

    // Refresh: one read of the dataset for the dataset, one for all three of its members.
    emu.clear_requests();
    let _ = plan(&ac).await;
    let reads: Vec<String> = emu
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/bigquery/"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    let get = format!("GET /bigquery/v2/projects/{PROJECT}/datasets/infrastructure_monitoring");
    assert_eq!(reads, vec![get.clone(), get], "one GET per type for the one dataset");

    // Two applies at once, each granting one more member on the same dataset.
    let b = TestStack::new(&[("main.tf", &member("ops", "roles/bigquery.dataOwner", "user:ops@netrasystems.ai"))]);
    let c =
        TestStack::new(&[("main.tf", &member("auditor", "roles/bigquery.dataViewer", "user:audit@netrasystems.ai"))]);
    let (bc, cc) = (stack_common(&b, &emu), stack_common(&c, &emu));
    tokio::join!(apply(&bc), apply(&cc));
    let both = ["OWNER user:ops@netrasystems.ai", "READER user:audit@netrasystems.ai"];
    assert_eq!(entries(&live(&bq).await), want(&both));
    assert!(!plan(&bc).await.has_changes() && !plan(&cc).await.has_changes() && !plan(&ac).await.has_changes());

    // Drift: the grant removed outside reads as gone, and the apply puts it back.
    let mut access = live(&bq).await.access;
    access.retain(|x| x.user_by_email != "ops@netrasystems.ai");
    bq.patch_dataset()
        .set_project_id(PROJECT)
        .set_dataset_id("infrastructure_monitoring")
        .set_dataset(Dataset::new().set_access(access))
        .send()
        .await
        .expect("out-of-band revoke");
    assert_eq!(actions(&plan(&bc).await), vec![("google_bigquery_dataset_iam_member.ops".to_string(), "create")]);
    apply(&bc).await;
    assert_eq!(entries(&live(&bq).await), want(&both));

    // Destroy removes only its own entry.
    destroy(&bc).await;
    assert_eq!(entries(&live(&bq).await), want(&both[1..]));

    // Import by the page's id form.
    let fresh = TestStack::new(&[
        ("main.tf", &member("auditor", "roles/bigquery.dataViewer", "user:audit@netrasystems.ai")),
        (
            "imports.tf",
            &format!(
                "import {{\n  to = google_bigquery_dataset_iam_member.auditor\n  id = \"projects/{PROJECT}/datasets/infrastructure_monitoring roles/bigquery.dataViewer user:audit@netrasystems.ai\"\n}}\n"
            ),
        ),
    ]);
    let p = plan(&stack_common(&fresh, &emu)).await;
    assert!(actions(&p).iter().all(|(_, a)| !a.contains("create")), "{:?}", actions(&p));

    destroy(&cc).await;
    destroy(&ac).await;
    emu.shutdown().await;
}

/// Done-when 5: each BigQuery plan-time rule (the dataset's and the member's own, and the one
/// across them) is refused at plan time with a located diagnostic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bigquery_rule_has_a_located_diagnostic_at_plan_time() {
    let emu = Emulator::start(EmulatorConfig::for_tests()).await.expect("emulator");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/malformed_google");
    let mut names: Vec<String> = std::fs::read_dir(&root)
        .expect("malformed_google fixtures")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("bq_"))
        .collect();
    names.sort();
    assert!(names.len() >= 11, "{names:?}");
    for name in names {
        // Relative paths keep snapshots free of machine-specific prefixes.
        let dir = format!("tests/fixtures/malformed_google/{name}");
        let c = common(
            std::path::Path::new(&dir),
            Registry::standard(GoogleOptions { emulator: Some(emu.endpoint()), ..Default::default() }),
        );
        let err = match ops::plan(ops::PlanArgs::new(c)).await {
            Err(e) => describe(&e),
            Ok(p) => panic!("{name}: expected an error, got {:?}", actions(&p.plan)),
        };
        let _ = std::fs::remove_dir_all(format!("{dir}/state"));
        let located = regex::Regex::new(&format!(r"{dir}/main\.tf:\d+:\d+")).unwrap();
        assert!(located.is_match(&err), "{name}: diagnostic has no file:line:col:\n{err}");
        insta::assert_snapshot!(format!("malformed_google__{name}"), err);
    }
    assert!(emu.requests().iter().all(|r| r.method == "GET"), "a refused plan writes nothing");
    emu.shutdown().await;
}

/// Done-when 5: the provider's documentation examples for the dataset that use only supported
/// types (tests/it/doc_examples/bigquery_*.tf, credited in each file) plan against the
/// emulator, apply, and plan empty after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documentation_examples_plan_and_apply() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/doc_examples");
    let mut files: Vec<_> = std::fs::read_dir(&root)
        .expect("doc_examples")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("bigquery_")))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no tests/it/doc_examples/bigquery_*.tf");
    for path in files {
        let label = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).expect("example");
        let emu = Emulator::start(EmulatorConfig::for_tests()).await.expect("emulator");
        let s = TestStack::new(&[
            ("main.tf", &text),
            ("provider.tf", &format!("provider \"google\" {{\n  project = \"{PROJECT}\"\n}}\n")),
        ]);
        let c = stack_common(&s, &emu);
        if let Err(e) = ops::validate(&c).await {
            panic!("{label}: {}", describe(&e));
        }
        let p = plan(&c).await;
        assert!(
            !p.changes.is_empty() && p.changes.iter().all(|ch| ch.action == cairn::plan::Action::Create),
            "{label}: {:?}",
            actions(&p)
        );
        apply(&c).await;
        let again = plan(&c).await;
        assert!(!again.has_changes(), "{label}: {:?}", changes(&again));
        destroy(&c).await;
        emu.shutdown().await;
    }
}
