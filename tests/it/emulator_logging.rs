//! Conformance of the emulator's Logging sinks: the official google-cloud-logging-v2 client
//! (ConfigServiceV2) round-trips every sink method through it, with the AIP error envelope,
//! writer identities and update masks as the real API has them.

use cairn::emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use google_cloud_auth::credentials::anonymous;
use google_cloud_gax::error::rpc::Code;
use google_cloud_gax::retry_policy::NeverRetry;
use google_cloud_logging_v2::client::ConfigServiceV2;
use google_cloud_logging_v2::model::{BigQueryOptions, LogExclusion, LogSink};
use google_cloud_wkt::FieldMask;
use serde_json::json;

async fn start() -> EmulatorHandle {
    Emulator::start(EmulatorConfig::for_tests()).await.expect("emulator starts")
}

async fn client(emu: &EmulatorHandle) -> ConfigServiceV2 {
    ConfigServiceV2::builder()
        .with_endpoint(emu.endpoint())
        .with_credentials(anonymous::Builder::new().build())
        .with_retry_policy(NeverRetry)
        .build()
        .await
        .expect("client builds")
}

fn failure<T: std::fmt::Debug>(result: Result<T, google_cloud_gax::error::Error>) -> (Code, Option<u16>, String) {
    let err = result.expect_err("the call should fail");
    let status = err.status().unwrap_or_else(|| panic!("a service error with a status, got {err:?}"));
    (status.code, err.http_status_code(), status.message.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sink_method_round_trips_through_the_sdk() {
    let emu = start().await;
    let logging = client(&emu).await;
    let number = cairn::emulator::projects::derive_number("acme");

    let created = logging
        .create_sink()
        .set_parent("projects/acme")
        .set_unique_writer_identity(true)
        .set_sink(
            LogSink::new()
                .set_name("audit-to-bq")
                .set_destination("bigquery.googleapis.com/projects/acme/datasets/audit")
                .set_filter("logName:\"cloudaudit.googleapis.com\"")
                .set_description("audit logs")
                .set_exclusions([LogExclusion::new().set_name("no-debug").set_filter("severity<INFO")])
                .set_bigquery_options(BigQueryOptions::new().set_use_partitioned_tables(true)),
        )
        .send()
        .await
        .expect("create");
    assert_eq!(created.name, "audit-to-bq", "the name stays the short id");
    assert_eq!(
        created.writer_identity,
        format!("serviceAccount:service-{number}@gcp-sa-logging.iam.gserviceaccount.com")
    );
    assert!(created.create_time.is_some() && created.update_time.is_some());
    let options = created.bigquery_options().expect("bigquery options");
    assert!(options.use_partitioned_tables && options.uses_timestamp_column_partitioning);
    assert_eq!(created.exclusions.len(), 1);

    let legacy = logging
        .create_sink()
        .set_parent(format!("projects/{number}"))
        .set_sink(LogSink::new().set_name("to-gcs").set_destination("storage.googleapis.com/acme-logs"))
        .send()
        .await
        .expect("create legacy");
    assert_eq!(legacy.writer_identity, "serviceAccount:cloud-logs@system.gserviceaccount.com");

    let (code, http, message) = failure(
        logging
            .create_sink()
            .set_parent("projects/acme")
            .set_sink(LogSink::new().set_name("to-gcs").set_destination("storage.googleapis.com/x"))
            .send()
            .await,
    );
    assert_eq!((code, http, message.as_str()), (Code::AlreadyExists, Some(409), "Sink to-gcs already exists"));
    let (code, http, _) = failure(
        logging
            .create_sink()
            .set_parent("projects/acme")
            .set_sink(LogSink::new().set_name("bad").set_destination("ftp://somewhere"))
            .send()
            .await,
    );
    assert_eq!((code, http), (Code::InvalidArgument, Some(400)));

    let got = logging.get_sink().set_sink_name("projects/acme/sinks/audit-to-bq").send().await.expect("get");
    assert_eq!(got, created);
    let got = logging
        .get_sink()
        .set_sink_name(format!("projects/{number}/sinks/to-gcs"))
        .send()
        .await
        .expect("get by number");
    assert_eq!(got, legacy);

    let page = logging.list_sinks().set_parent("projects/acme").set_page_size(1).send().await.expect("list");
    assert_eq!(page.sinks.len(), 1);
    assert_eq!(page.sinks[0].name, "audit-to-bq");
    let page2 = logging
        .list_sinks()
        .set_parent("projects/acme")
        .set_page_size(1)
        .set_page_token(page.next_page_token.clone())
        .send()
        .await
        .expect("list page 2");
    assert_eq!(page2.sinks[0].name, "to-gcs");
    assert!(page2.next_page_token.is_empty());

    // A masked update changes only the named fields; legacy → unique writer is allowed.
    let updated = logging
        .update_sink()
        .set_sink_name("projects/acme/sinks/to-gcs")
        .set_unique_writer_identity(true)
        .set_update_mask(FieldMask::default().set_paths(["filter", "disabled"]))
        .set_sink(
            LogSink::new()
                .set_name("to-gcs")
                .set_destination("storage.googleapis.com/ignored")
                .set_filter("severity>=ERROR")
                .set_disabled(true),
        )
        .send()
        .await
        .expect("update");
    assert_eq!(updated.filter, "severity>=ERROR");
    assert!(updated.disabled);
    assert_eq!(updated.destination, "storage.googleapis.com/acme-logs", "not in the mask");
    assert!(updated.writer_identity.contains("@gcp-sa-logging.iam.gserviceaccount.com"));
    assert_eq!(updated.create_time, legacy.create_time);
    // Without a mask: destination, filter and includeChildren.
    let updated = logging
        .update_sink()
        .set_sink_name("projects/acme/sinks/to-gcs")
        .set_unique_writer_identity(true)
        .set_sink(LogSink::new().set_name("to-gcs").set_destination("pubsub.googleapis.com/projects/acme/topics/logs"))
        .send()
        .await
        .expect("update without mask");
    assert_eq!(updated.destination, "pubsub.googleapis.com/projects/acme/topics/logs");
    assert!(updated.filter.is_empty(), "the default mask includes filter");
    assert!(updated.disabled, "disabled is not in the default mask");
    let (code, http, _) = failure(
        logging
            .update_sink()
            .set_sink_name("projects/acme/sinks/to-gcs")
            .set_sink(LogSink::new().set_destination("storage.googleapis.com/b"))
            .send()
            .await,
    );
    assert_eq!((code, http), (Code::InvalidArgument, Some(400)), "a unique writer cannot go back to the shared one");

    logging.delete_sink().set_sink_name("projects/acme/sinks/to-gcs").send().await.expect("delete");
    let (code, http, message) = failure(logging.get_sink().set_sink_name("projects/acme/sinks/to-gcs").send().await);
    assert_eq!((code, http, message.as_str()), (Code::NotFound, Some(404), "Sink to-gcs does not exist"));
    let (code, ..) = failure(logging.delete_sink().set_sink_name("projects/acme/sinks/to-gcs").send().await);
    assert_eq!(code, Code::NotFound);
    let (code, ..) = failure(
        logging
            .update_sink()
            .set_sink_name("projects/acme/sinks/nope")
            .set_sink(LogSink::new().set_destination("storage.googleapis.com/b"))
            .send()
            .await,
    );
    assert_eq!(code, Code::NotFound);
    let remaining = logging.list_sinks().set_parent("projects/acme").send().await.expect("list");
    assert_eq!(remaining.sinks.len(), 1);
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_fields_and_mask_paths_round_trip_and_unknown_ones_are_refused() {
    let emu = start().await;
    let sinks = "/v2/projects/acme/sinks";
    let body = json!({"name": "bq", "destination": "bigquery.googleapis.com/projects/acme/datasets/d",
        "exclusions": [{"name": "noisy", "filter": "severity<INFO", "description": "drop debug", "disabled": true}],
        "bigqueryOptions": {"usePartitionedTables": true}});
    let (status, _, created) = crate::support::emulator_http(&emu, "POST", sinks, Some(body)).await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["exclusions"][0]["description"], "drop debug");

    let patch = json!({"bigqueryOptions": {"usePartitionedTables": false}, "description": "ignored"});
    let target = format!("{sinks}/bq?updateMask=bigquery_options.use_partitioned_tables&uniqueWriterIdentity=true");
    let (status, _, patched) = crate::support::emulator_http(&emu, "PATCH", &target, Some(patch)).await;
    assert_eq!(status, 200, "{patched}");
    assert!(patched.get("bigqueryOptions").is_none(), "{patched}");
    assert!(patched.get("description").is_none(), "unmasked fields are untouched");

    let typo = json!({"name": "t", "destination": "pubsub.googleapis.com/projects/acme/topics/t",
        "exclusions": [{"name": "x", "filter": "f", "enabled": false}]});
    let (status, _, err) = crate::support::emulator_http(&emu, "POST", sinks, Some(typo)).await;
    assert_eq!(status, 400);
    assert_eq!(
        err["error"]["message"],
        "Invalid JSON payload received. Unknown name \"enabled\" at 'sink.exclusions[0]': Cannot find field."
    );
    let target = format!("{sinks}/bq?updateMask=bigquery_options.uses_timestamp_column_partitioning");
    let (status, _, _) = crate::support::emulator_http(&emu, "PATCH", &target, Some(json!({}))).await;
    assert_eq!(status, 400, "an output-only leaf cannot be masked");
}
