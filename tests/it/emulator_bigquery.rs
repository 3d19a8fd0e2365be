//! Conformance of the emulator's BigQuery API v2 datasets: the official SDK client
//! (`DatasetService`) round-trips every method — insert (and a 409 on a duplicate), get (404),
//! list with paging, patch, update, delete, undelete — and an `If-Match` etag conflict (412).

use axum::http::header::{HeaderName, HeaderValue};
use cairn::emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use google_cloud_auth::credentials::anonymous;
use google_cloud_bigquery_v2::client::DatasetService;
use google_cloud_bigquery_v2::model::{Access, Dataset, DatasetReference};
use google_cloud_gax::options::RequestOptionsBuilder;
use google_cloud_gax::retry_policy::NeverRetry;

const PROJECT: &str = "acme";

async fn start() -> EmulatorHandle {
    Emulator::start(EmulatorConfig::for_tests()).await.expect("emulator starts")
}

async fn client(emu: &EmulatorHandle) -> DatasetService {
    DatasetService::builder()
        .with_endpoint(emu.endpoint())
        .with_credentials(anonymous::Builder::new().build())
        .with_retry_policy(NeverRetry)
        .build()
        .await
        .expect("dataset client builds")
}

fn dataset(id: &str) -> Dataset {
    Dataset::new().set_dataset_reference(DatasetReference::new().set_dataset_id(id).set_project_id(PROJECT))
}

fn status_of(e: &google_cloud_gax::error::Error) -> (Option<u16>, String) {
    (e.http_status_code(), e.status().map(|s| s.message.clone()).unwrap_or_else(|| e.to_string()))
}

#[tokio::test]
async fn the_dataset_client_round_trips_every_method() {
    let emu = start().await;
    let c = client(&emu).await;

    let created = c
        .insert_dataset()
        .set_project_id(PROJECT)
        .set_dataset(
            dataset("infrastructure_monitoring")
                .set_description("log sinks")
                .set_labels([("env", "staging")])
                .set_default_table_expiration_ms(3_600_000_i64),
        )
        .send()
        .await
        .expect("insert");
    assert_eq!(created.id, "acme:infrastructure_monitoring");
    assert_eq!(created.location, "US", "the default location");
    assert!(!created.etag.is_empty() && created.creation_time > 0 && created.last_modified_time > 0);
    let roles: Vec<(&str, &str)> = created
        .access
        .iter()
        .map(|a| {
            (
                a.role.as_str(),
                if a.special_group.is_empty() { a.user_by_email.as_str() } else { a.special_group.as_str() },
            )
        })
        .collect();
    assert!(roles.contains(&("OWNER", "projectOwners")) && roles.contains(&("READER", "projectReaders")), "{roles:?}");
    assert!(
        roles.contains(&("WRITER", "projectWriters")) && roles.iter().any(|(r, m)| *r == "OWNER" && m.contains('@'))
    );
    assert_eq!(created.default_table_expiration_ms, Some(3_600_000));

    let dup = c
        .insert_dataset()
        .set_project_id(PROJECT)
        .set_dataset(dataset("infrastructure_monitoring"))
        .send()
        .await
        .expect_err("a duplicate");
    assert_eq!(status_of(&dup), (Some(409), "Already Exists: Dataset acme:infrastructure_monitoring".to_string()));

    let missing = c.get_dataset().set_project_id(PROJECT).set_dataset_id("nope").send().await.expect_err("404");
    assert_eq!(status_of(&missing), (Some(404), "Not found: Dataset acme:nope".to_string()));

    let bad =
        c.insert_dataset().set_project_id(PROJECT).set_dataset(dataset("has-dash")).send().await.expect_err("400");
    assert_eq!(bad.http_status_code(), Some(400));
    assert!(status_of(&bad).1.starts_with("Invalid dataset ID \"has-dash\""), "{bad}");

    let got =
        c.get_dataset().set_project_id(PROJECT).set_dataset_id("infrastructure_monitoring").send().await.expect("get");
    assert_eq!(got.etag, created.etag);
    assert_eq!(got.description.as_deref(), Some("log sinks"));

    // Patch: only what is sent changes; `access` is replaced whole.
    let access = vec![
        Access::new().set_role("OWNER").set_special_group("projectOwners"),
        Access::new()
            .set_role("roles/bigquery.dataEditor")
            .set_iam_member("serviceAccount:w@p.iam.gserviceaccount.com"),
    ];
    let patched = c
        .patch_dataset()
        .set_project_id(PROJECT)
        .set_dataset_id("infrastructure_monitoring")
        .set_dataset(Dataset::new().set_friendly_name("Monitoring").set_access(access))
        .send()
        .await
        .expect("patch");
    assert_ne!(patched.etag, created.etag, "every write changes the etag");
    assert_eq!(patched.description.as_deref(), Some("log sinks"));
    assert_eq!(patched.friendly_name.as_deref(), Some("Monitoring"));
    assert_eq!(patched.access.len(), 2);
    assert_eq!(patched.access[1].role, "WRITER", "IAM roles come back in the basic form");

    // An etag conflict: a write naming the old etag is refused with 412; the current one passes.
    let stale = c
        .update_dataset()
        .set_project_id(PROJECT)
        .set_dataset_id("infrastructure_monitoring")
        .set_dataset(dataset("infrastructure_monitoring").set_description("stale"))
        .with_custom_header(HeaderName::from_static("if-match"), HeaderValue::from_str(&created.etag).unwrap())
        .send()
        .await
        .expect_err("a stale etag");
    assert_eq!(status_of(&stale), (Some(412), "Precondition check failed.".to_string()));
    let updated = c
        .update_dataset()
        .set_project_id(PROJECT)
        .set_dataset_id("infrastructure_monitoring")
        .set_dataset(dataset("infrastructure_monitoring").set_description("replaced"))
        .with_custom_header(HeaderName::from_static("if-match"), HeaderValue::from_str(&patched.etag).unwrap())
        .send()
        .await
        .expect("update with the current etag");
    assert_eq!(updated.description.as_deref(), Some("replaced"));
    assert!(updated.friendly_name.is_none() && updated.labels.is_empty(), "PUT replaces: {updated:?}");
    assert_eq!(updated.access.len(), 2, "an absent access list is kept");

    // List: the reduced form, paged.
    for id in ["b_one", "b_two"] {
        c.insert_dataset().set_project_id(PROJECT).set_dataset(dataset(id)).send().await.expect("insert");
    }
    let first = c.list_datasets().set_project_id(PROJECT).set_max_results(2_u32).send().await.expect("list");
    assert_eq!(first.datasets.len(), 2);
    assert!(!first.next_page_token.is_empty());
    let rest = c
        .list_datasets()
        .set_project_id(PROJECT)
        .set_max_results(2_u32)
        .set_page_token(first.next_page_token.clone())
        .send()
        .await
        .expect("list page 2");
    let mut ids: Vec<String> = first.datasets.iter().chain(&rest.datasets).map(|d| d.id.clone()).collect();
    ids.sort();
    assert_eq!(ids, ["acme:b_one", "acme:b_two", "acme:infrastructure_monitoring"]);
    assert!(rest.next_page_token.is_empty());

    c.delete_dataset()
        .set_project_id(PROJECT)
        .set_dataset_id("b_one")
        .set_delete_contents(true)
        .send()
        .await
        .expect("delete");
    let gone = c.get_dataset().set_project_id(PROJECT).set_dataset_id("b_one").send().await.expect_err("deleted");
    assert_eq!(gone.http_status_code(), Some(404));
    let back = c.undelete_dataset().set_project_id(PROJECT).set_dataset_id("b_one").send().await.expect("undelete");
    assert_eq!(back.id, "acme:b_one");
    emu.shutdown().await;
}
