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
    common(s.path(), Registry::standard(GoogleOptions { emulator: Some(emu.endpoint()) }))
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
