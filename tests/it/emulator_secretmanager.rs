//! Conformance of the emulator's Secret Manager API: the official SDK client round-trips every
//! method through it (if Google's generated client cannot, the emulator is wrong), plus raw
//! HTTP checks for what the SDK hides (string enums, envelopes, wire formats).

use std::time::{Duration, Instant};

use crate::support::emulator_http;
use cairn::emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use google_cloud_auth::credentials::anonymous;
use google_cloud_gax::error::rpc::Code;
use google_cloud_gax::retry_policy::NeverRetry;
use google_cloud_secretmanager_v1::client::SecretManagerService;
use google_cloud_secretmanager_v1::model::{replication, secret_version::State, Replication, Secret, SecretPayload};
use google_cloud_wkt::FieldMask;
use serde_json::{json, Value};

async fn start() -> EmulatorHandle {
    Emulator::start(EmulatorConfig::for_tests()).await.expect("emulator starts")
}

async fn client(emu: &EmulatorHandle) -> SecretManagerService {
    SecretManagerService::builder()
        .with_endpoint(emu.endpoint())
        .with_credentials(anonymous::Builder::new().build())
        .with_retry_policy(NeverRetry)
        .build()
        .await
        .expect("client builds")
}

fn automatic() -> Replication {
    Replication::new().set_automatic(replication::Automatic::new())
}

async fn create(sm: &SecretManagerService, parent: &str, id: &str) -> Secret {
    sm.create_secret()
        .set_parent(parent)
        .set_secret_id(id)
        .set_secret(Secret::new().set_replication(automatic()))
        .send()
        .await
        .expect("create secret")
}

async fn add(sm: &SecretManagerService, secret: &str, data: &'static str) -> String {
    sm.add_secret_version()
        .set_parent(secret)
        .set_payload(SecretPayload::new().set_data(data))
        .send()
        .await
        .expect("add version")
        .name
}

/// The SDK's view of a failed call: (code, HTTP status, message).
fn failure<T: std::fmt::Debug>(result: Result<T, google_cloud_gax::error::Error>) -> (Code, Option<u16>, String) {
    let err = result.expect_err("the call should fail");
    let status = err.status().unwrap_or_else(|| panic!("a service error with a status, got {err:?}"));
    (status.code, err.http_status_code(), status.message.clone())
}

/// The emulator's raw answer, which must be JSON (as the real API's is).
async fn http(emu: &EmulatorHandle, method: &str, target: &str, body: Option<Value>) -> (u16, Value) {
    let (status, head, value) = emulator_http(emu, method, target, body).await;
    assert!(head.to_ascii_lowercase().contains("content-type: application/json"), "{head}");
    (status, value)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_method_round_trips_through_the_sdk() {
    let emu = start().await;
    let sm = client(&emu).await;

    let created = sm
        .create_secret()
        .set_parent("projects/acme")
        .set_secret_id("db-password")
        .set_secret(
            Secret::new()
                .set_replication(automatic())
                .set_labels([("team", "core")])
                .set_annotations([("owner", "platform")]),
        )
        .send()
        .await
        .expect("create");
    let number = cairn::emulator::projects::derive_number("acme");
    let name = format!("projects/{number}/secrets/db-password");
    assert_eq!(created.name, name, "names carry the project number");
    assert!(created.create_time.is_some());
    assert!(created.etag.starts_with('"') && created.etag.ends_with('"'));
    assert_eq!(created.labels.get("team").map(String::as_str), Some("core"));

    let got = sm.get_secret().set_name("projects/acme/secrets/db-password").send().await.expect("get by id");
    assert_eq!(got, created);
    let got = sm.get_secret().set_name(&name).send().await.expect("get by number");
    assert_eq!(got.name, name);

    create(&sm, "projects/acme", "api-key").await;
    let page1 = sm.list_secrets().set_parent("projects/acme").set_page_size(1).send().await.expect("list");
    assert_eq!(page1.secrets.len(), 1);
    assert_eq!(page1.total_size, 2);
    assert_eq!(page1.secrets[0].name, format!("projects/{number}/secrets/api-key"), "newest first");
    assert!(!page1.next_page_token.is_empty());
    let page2 = sm
        .list_secrets()
        .set_parent("projects/acme")
        .set_page_size(1)
        .set_page_token(page1.next_page_token.clone())
        .send()
        .await
        .expect("list page 2");
    assert_eq!(page2.secrets[0].name, name);
    assert!(page2.next_page_token.is_empty());
    let filtered =
        sm.list_secrets().set_parent("projects/acme").set_filter("labels.team=core").send().await.expect("filter");
    assert_eq!(filtered.secrets.iter().map(|s| s.name.clone()).collect::<Vec<_>>(), std::slice::from_ref(&name));

    let patched = sm
        .update_secret()
        .set_secret(
            Secret::new()
                .set_name(&name)
                .set_labels([("team", "data"), ("env", "prod")])
                .set_annotations([("ignored", "because-unmasked")]),
        )
        .set_update_mask(FieldMask::default().set_paths(["labels"]))
        .send()
        .await
        .expect("patch");
    assert_eq!(patched.labels.len(), 2);
    assert_eq!(patched.annotations.get("owner").map(String::as_str), Some("platform"));
    assert_ne!(patched.etag, created.etag, "a write changes the etag");

    let v1 = sm
        .add_secret_version()
        .set_parent(&name)
        .set_payload(SecretPayload::new().set_data("token-v1").set_data_crc32c(3113634025_i64))
        .send()
        .await
        .expect("add version with checksum");
    assert_eq!(v1.name, format!("{name}/versions/1"));
    assert_eq!(v1.state, State::Enabled);
    assert!(v1.client_specified_payload_checksum);
    assert!(v1.replication_status.is_some());
    let v2 = add(&sm, &name, "token-v2").await;
    assert_eq!(v2, format!("{name}/versions/2"));

    let latest = sm.get_secret_version().set_name(format!("{name}/versions/latest")).send().await.expect("get latest");
    assert_eq!(latest.name, v2);
    let first = sm.get_secret_version().set_name(&v1.name).send().await.expect("get v1");
    assert_eq!(first.state, State::Enabled);
    assert!(first.client_specified_payload_checksum);

    let versions = sm.list_secret_versions().set_parent(&name).send().await.expect("list versions");
    assert_eq!(versions.versions.iter().map(|v| v.name.clone()).collect::<Vec<_>>(), [v2.clone(), v1.name.clone()]);
    assert_eq!(versions.total_size, 2);

    let access = sm.access_secret_version().set_name(format!("{name}/versions/latest")).send().await.expect("access");
    let payload = access.payload.expect("a payload");
    assert_eq!(&payload.data[..], b"token-v2");
    assert_eq!(payload.data_crc32c, Some(i64::from(crc32c::crc32c(b"token-v2"))));
    assert_eq!(access.name, v2);

    let disabled = sm.disable_secret_version().set_name(&v2).send().await.expect("disable");
    assert_eq!(disabled.state, State::Disabled);
    let (code, http, message) =
        failure(sm.access_secret_version().set_name(format!("{name}/versions/latest")).send().await);
    assert_eq!((code, http), (Code::FailedPrecondition, Some(400)));
    assert_eq!(message, format!("Secret Version [{v2}] is in DISABLED state."));
    let enabled = sm
        .enable_secret_version()
        .set_name(&v2)
        .set_etag(disabled.etag.clone())
        .send()
        .await
        .expect("enable with etag");
    assert_eq!(enabled.state, State::Enabled);

    let destroyed = sm.destroy_secret_version().set_name(&v1.name).send().await.expect("destroy");
    assert_eq!(destroyed.state, State::Destroyed);
    assert!(destroyed.destroy_time.is_some());
    let (code, _, message) = failure(sm.access_secret_version().set_name(&v1.name).send().await);
    assert_eq!(code, Code::FailedPrecondition);
    assert!(message.contains("DESTROYED"), "{message}");
    let only_enabled =
        sm.list_secret_versions().set_parent(&name).set_filter("state:ENABLED").send().await.expect("filtered");
    assert_eq!(
        only_enabled.versions.iter().map(|v| (v.name.clone(), v.state.clone())).collect::<Vec<_>>(),
        [(v2.clone(), State::Enabled)]
    );
    // As on the real API, a filtered list carries no totalSize (discovery: "0 when filter is set").
    assert_eq!(only_enabled.total_size, 0);
    let disabled_only = sm.disable_secret_version().set_name(&v2).send().await.expect("disable again");
    assert_eq!(disabled_only.state, State::Disabled);
    let none = sm
        .list_secret_versions()
        .set_parent(&name)
        .set_filter("state:ENABLED")
        .send()
        .await
        .expect("filtered, none left");
    assert!(none.versions.is_empty() && none.next_page_token.is_empty(), "{none:?}");
    sm.enable_secret_version().set_name(&v2).send().await.expect("enable again");

    let current = sm.get_secret().set_name(&name).send().await.expect("get");
    sm.delete_secret().set_name(&name).set_etag(current.etag).send().await.expect("delete with etag");
    let (code, http, _) = failure(sm.get_secret().set_name(&name).send().await);
    assert_eq!((code, http), (Code::NotFound, Some(404)));
    let (code, _, _) = failure(sm.get_secret_version().set_name(&v2).send().await);
    assert_eq!(code, Code::NotFound, "versions go with their secret");

    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_reach_the_sdk_with_the_right_code_and_message() {
    let emu = start().await;
    let sm = client(&emu).await;
    let number = cairn::emulator::projects::derive_number("errs");

    let (code, http, message) = failure(sm.get_secret().set_name("projects/errs/secrets/nope").send().await);
    assert_eq!((code, http), (Code::NotFound, Some(404)));
    assert_eq!(message, format!("Secret [projects/{number}/secrets/nope] not found."));

    let empty = create(&sm, "projects/errs", "empty").await;
    let (code, _, message) =
        failure(sm.access_secret_version().set_name(format!("{}/versions/latest", empty.name)).send().await);
    assert_eq!(code, Code::NotFound);
    assert_eq!(message, format!("Secret [projects/{number}/secrets/empty] not found or has no versions."));

    let (code, http, message) = failure(
        sm.create_secret()
            .set_parent("projects/errs")
            .set_secret_id("empty")
            .set_secret(Secret::new().set_replication(automatic()))
            .send()
            .await,
    );
    assert_eq!((code, http), (Code::AlreadyExists, Some(409)));
    assert!(message.contains("already exists"), "{message}");

    for bad_id in ["has space", "dots.not.allowed", &"x".repeat(256)] {
        let (code, _, _) = failure(
            sm.create_secret()
                .set_parent("projects/errs")
                .set_secret_id(bad_id)
                .set_secret(Secret::new().set_replication(automatic()))
                .send()
                .await,
        );
        assert_eq!(code, Code::InvalidArgument, "{bad_id}");
    }
    let (code, _, message) = failure(
        sm.create_secret().set_parent("projects/errs").set_secret_id("norepl").set_secret(Secret::new()).send().await,
    );
    assert_eq!(code, Code::InvalidArgument);
    assert!(message.contains("replication"), "{message}");
    let (code, _, _) = failure(
        sm.create_secret()
            .set_parent("projects/errs")
            .set_secret_id("noreplicas")
            .set_secret(
                Secret::new().set_replication(Replication::new().set_user_managed(replication::UserManaged::new())),
            )
            .send()
            .await,
    );
    assert_eq!(code, Code::InvalidArgument);
    let user_managed = sm
        .create_secret()
        .set_parent("projects/errs")
        .set_secret_id("pinned")
        .set_secret(
            Secret::new().set_replication(
                Replication::new().set_user_managed(
                    replication::UserManaged::new()
                        .set_replicas([replication::user_managed::Replica::new().set_location("us-east1")]),
                ),
            ),
        )
        .send()
        .await
        .expect("user-managed replication");
    let v = add(&sm, &user_managed.name, "x").await;
    let got = sm.get_secret_version().set_name(&v).send().await.expect("version");
    assert!(got.replication_status.is_some());

    let (code, http, message) = failure(
        sm.update_secret().set_secret(Secret::new().set_name(&empty.name).set_labels([("a", "b")])).send().await,
    );
    assert_eq!((code, http), (Code::InvalidArgument, Some(400)));
    assert!(message.contains("update_mask"), "{message}");
    let (code, _, message) = failure(
        sm.update_secret()
            .set_secret(Secret::new().set_name(&empty.name).set_replication(automatic()))
            .set_update_mask(FieldMask::default().set_paths(["replication"]))
            .send()
            .await,
    );
    assert_eq!(code, Code::InvalidArgument);
    assert!(message.contains("immutable"), "{message}");

    let (code, http, message) = failure(
        sm.add_secret_version()
            .set_parent(&empty.name)
            .set_payload(SecretPayload::new().set_data("token-v1").set_data_crc32c(1_i64))
            .send()
            .await,
    );
    assert_eq!((code, http), (Code::InvalidArgument, Some(400)));
    assert!(message.contains("Checksum mismatch"), "{message}");
    let versions = sm.list_secret_versions().set_parent(&empty.name).send().await.expect("list");
    assert!(versions.versions.is_empty(), "a rejected payload adds no version");

    let (code, http, _) = failure(sm.delete_secret().set_name(&empty.name).set_etag("\"stale\"").send().await);
    assert_eq!((code, http), (Code::Aborted, Some(409)));
    let (code, _, _) = failure(
        sm.update_secret()
            .set_secret(Secret::new().set_name(&empty.name).set_etag("\"stale\""))
            .set_update_mask(FieldMask::default().set_paths(["labels"]))
            .send()
            .await,
    );
    assert_eq!(code, Code::Aborted);
    let v1 = add(&sm, &empty.name, "x").await;
    let (code, http, _) = failure(sm.disable_secret_version().set_name(&v1).set_etag("\"stale\"").send().await);
    assert_eq!((code, http), (Code::Aborted, Some(409)));
    let (code, _, message) =
        failure(sm.get_secret_version().set_name(format!("{}/versions/9", empty.name)).send().await);
    assert_eq!(code, Code::NotFound);
    assert!(message.contains("versions/9"), "{message}");
    sm.destroy_secret_version().set_name(&v1).send().await.expect("destroy");
    let (code, _, _) = failure(sm.enable_secret_version().set_name(&v1).send().await);
    assert_eq!(code, Code::FailedPrecondition, "a destroyed version cannot come back");

    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regional_secrets_are_served() {
    let emu = start().await;
    let sm = client(&emu).await;
    let secret = sm
        .create_secret()
        .set_parent("projects/reg/locations/europe-west1")
        .set_secret_id("regional")
        .set_secret(Secret::new())
        .send()
        .await
        .expect("regional create");
    let number = cairn::emulator::projects::derive_number("reg");
    assert_eq!(secret.name, format!("projects/{number}/locations/europe-west1/secrets/regional"));
    let v = add(&sm, &secret.name, "eu").await;
    let access = sm.access_secret_version().set_name(&v).send().await.expect("access");
    assert_eq!(&access.payload.expect("payload").data[..], b"eu");
    let listed = sm.list_secrets().set_parent("projects/reg/locations/europe-west1").send().await.expect("list");
    assert_eq!(listed.secrets.len(), 1);
    let global = sm.list_secrets().set_parent("projects/reg").send().await.expect("list global");
    assert!(global.secrets.is_empty(), "regional secrets are not global ones");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enums_are_strings_unless_ints_are_asked_for_and_wire_formats_hold() {
    let emu = start().await;
    let (status, secret) = http(
        &emu,
        "POST",
        "/v1/projects/wire/secrets?secretId=s&alt=json&prettyPrint=false",
        Some(json!({"replication": {"automatic": {}}})),
    )
    .await;
    assert_eq!(status, 200, "{secret}");
    let name = secret["name"].as_str().expect("name").to_string();
    let create_time = secret["createTime"].as_str().expect("createTime");
    let fraction = create_time.split('.').nth(1).expect("fractional seconds");
    assert_eq!(fraction.len(), 10, "nanoseconds and Z: {create_time}");
    assert!(fraction.ends_with('Z'));

    let (status, version) = http(
        &emu,
        "POST",
        &format!("/v1/{name}:addVersion?alt=json"),
        Some(json!({"payload": {"data": "dG9rZW4tdjE=", "dataCrc32c": "3113634025"}})),
    )
    .await;
    assert_eq!(status, 200, "{version}");
    assert_eq!(version["state"], "ENABLED");
    assert_eq!(version["clientSpecifiedPayloadChecksum"], true);
    assert_eq!(version["replicationStatus"], json!({"automatic": {}}));
    assert!(version.get("destroyTime").is_none(), "absent fields are omitted: {version}");

    let (_, as_ints) =
        http(&emu, "GET", &format!("/v1/{name}/versions/1?%24alt=json%3Benum-encoding%3Dint"), None).await;
    assert_eq!(as_ints["state"], 1);
    let (_, as_ints) = http(&emu, "GET", &format!("/v1/{name}/versions?$alt=json;enum-encoding=int"), None).await;
    assert_eq!(as_ints["versions"][0]["state"], 1);
    let (_, as_strings) = http(&emu, "GET", &format!("/v1/{name}/versions?fields=versions&$apiVersion=v1"), None).await;
    assert_eq!(as_strings["versions"][0]["state"], "ENABLED");
    assert_eq!(as_strings["totalSize"], 1);

    let (_, access) = http(&emu, "GET", &format!("/v1/{name}/versions/latest:access"), None).await;
    assert_eq!(access["payload"], json!({"data": "dG9rZW4tdjE=", "dataCrc32c": "3113634025"}), "int64 as a string");

    let (_, destroyed) = http(&emu, "POST", &format!("/v1/{name}/versions/1:destroy"), None).await;
    assert_eq!(destroyed["state"], "DESTROYED");
    assert!(destroyed["destroyTime"].is_string());

    let (status, empty_list) = http(&emu, "GET", "/v1/projects/nobody/secrets", None).await;
    assert_eq!((status, empty_list), (200, json!({})), "no defaults on the wire");

    let (status, err) = http(&emu, "PATCH", &format!("/v1/{name}"), Some(json!({"labels": {"a": "b"}}))).await;
    assert_eq!(status, 400);
    assert_eq!(err["error"]["status"], "INVALID_ARGUMENT");
    let (status, err) = http(
        &emu,
        "POST",
        "/v1/projects/wire/secrets?secretId=u",
        Some(json!({"replication": {"automatic": {}}, "bogus": 1})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(err["error"]["message"].as_str().unwrap_or("").contains("bogus"));
    let (status, err) = http(
        &emu,
        "POST",
        "/v1/projects/wire/secrets?secretId=u",
        Some(json!({"replication": {"automatic": {}}, "labels": {"Upper": "x"}})),
    )
    .await;
    assert_eq!(status, 400, "{err}");
    let (status, err) = http(&emu, "GET", "/v9/somewhere/else", None).await;
    assert_eq!(status, 404);
    assert_eq!(err["error"]["status"], "NOT_FOUND");
    let (status, err) = http(&emu, "GET", &format!("/v1/{name}:getIamPolicy"), None).await;
    assert_eq!(status, 501, "{err}");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_are_injected_in_the_api_envelope_without_executing() {
    let emu = start().await;
    let sm = client(&emu).await;
    emu.set_fault_rate(1.0);
    let (code, http_status, message) = failure(
        sm.create_secret()
            .set_parent("projects/faulty")
            .set_secret_id("s")
            .set_secret(Secret::new().set_replication(automatic()))
            .send()
            .await,
    );
    assert!(
        matches!((code, http_status), (Code::Unavailable, Some(503)) | (Code::ResourceExhausted, Some(429))),
        "{code:?} {http_status:?}"
    );
    assert!(message.contains("injected"), "{message}");
    let mut statuses = std::collections::BTreeSet::new();
    for _ in 0..20 {
        let (status, body) = http(&emu, "GET", "/v1/projects/faulty/secrets/s", None).await;
        assert!(matches!(body["error"]["status"].as_str(), Some("UNAVAILABLE" | "RESOURCE_EXHAUSTED")), "{body}");
        assert_eq!(body["error"]["code"], status);
        statuses.insert(status);
    }
    assert_eq!(statuses.into_iter().collect::<Vec<_>>(), [429, 503], "both kinds of fault occur");
    assert!(emu.requests().iter().all(|r| r.faulted));

    emu.set_fault_rate(0.0);
    let (code, _, _) = failure(sm.get_secret().set_name("projects/faulty/secrets/s").send().await);
    assert_eq!(code, Code::NotFound, "the faulted create was never executed");

    emu.clear_requests();
    emu.set_fault_rate(0.3);
    for _ in 0..200 {
        http(&emu, "GET", "/v1/projects/faulty/secrets", None).await;
    }
    let faulted = emu.requests().iter().filter(|r| r.faulted).count();
    assert!((35..=85).contains(&faulted), "about 30% of 200 requests faulted, got {faulted}");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data_file = dir.path().join("emulator.json");
    let cfg = EmulatorConfig { data_file: Some(data_file.clone()), ..EmulatorConfig::for_tests() };

    let emu = Emulator::start(cfg.clone()).await.expect("start");
    let sm = client(&emu).await;
    let secret = create(&sm, "projects/keep", "kept").await;
    add(&sm, &secret.name, "persisted-value").await;
    assert!(data_file.exists(), "saved after every mutation, not only at shutdown");
    emu.shutdown().await;

    let emu = Emulator::start(cfg).await.expect("restart");
    let sm = client(&emu).await;
    let again = sm.get_secret().set_name("projects/keep/secrets/kept").send().await.expect("get after restart");
    assert_eq!(again, secret, "same secret, same etag");
    let access =
        sm.access_secret_version().set_name(format!("{}/versions/latest", secret.name)).send().await.expect("access");
    assert_eq!(&access.payload.expect("payload").data[..], b"persisted-value");
    let v2 = add(&sm, &secret.name, "next").await;
    assert!(v2.ends_with("/versions/2"), "numbering continues: {v2}");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenarios_seed_broken_secrets_and_pinned_project_numbers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let scenario = dir.path().join("scenario.json");
    std::fs::write(
        &scenario,
        json!({
            "description": "staging as found",
            "projects": [{"id": "acme-staging", "number": "123456789012"}],
            "secretmanager": {"secrets": [
                {"project": "acme-staging", "id": "db-password", "labels": {"team": "core"},
                 "versions": [{"data": "old"}, {"data": "new", "state": "DISABLED"}]},
                {"project": "acme-staging", "id": "api-key"}
            ]}
        })
        .to_string(),
    )
    .expect("write scenario");
    let cfg = EmulatorConfig { scenario: Some(scenario.clone()), ..EmulatorConfig::for_tests() };
    let emu = Emulator::start(cfg).await.expect("start with scenario");
    let sm = client(&emu).await;

    let db = sm.get_secret().set_name("projects/acme-staging/secrets/db-password").send().await.expect("seeded");
    assert_eq!(db.name, "projects/123456789012/secrets/db-password");
    let (code, _, message) = failure(
        sm.access_secret_version().set_name("projects/acme-staging/secrets/db-password/versions/latest").send().await,
    );
    assert_eq!(code, Code::FailedPrecondition);
    assert_eq!(message, "Secret Version [projects/123456789012/secrets/db-password/versions/2] is in DISABLED state.");
    let old = sm
        .access_secret_version()
        .set_name("projects/123456789012/secrets/db-password/versions/1")
        .send()
        .await
        .expect("version 1 is enabled");
    assert_eq!(&old.payload.expect("payload").data[..], b"old");
    let (code, _, message) = failure(
        sm.access_secret_version().set_name("projects/acme-staging/secrets/api-key/versions/latest").send().await,
    );
    assert_eq!(code, Code::NotFound);
    assert!(message.contains("has no versions"), "{message}");
    emu.shutdown().await;

    std::fs::write(&scenario, r#"{"secretmanager": {"secrets": [{"project": "p", "idd": "x"}]}}"#).expect("write");
    let err = Emulator::start(EmulatorConfig { scenario: Some(scenario), ..EmulatorConfig::for_tests() })
        .await
        .expect_err("a typo in a scenario is an error");
    assert!(err.to_string().contains("idd"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_recorded_and_latency_is_added() {
    let emu = start().await;
    let sm = client(&emu).await;
    let secret = create(&sm, "projects/rec", "s").await;
    let _ = sm.get_secret().set_name("projects/rec/secrets/missing").send().await;
    let records = emu.requests();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].method, "POST");
    assert_eq!(records[0].path, "/v1/projects/rec/secrets");
    assert!(records[0].query.contains("secretId=s"), "{}", records[0].query);
    assert!(records[0].query.contains("%24alt=json%3Benum-encoding%3Dint"), "{}", records[0].query);
    assert_eq!((records[0].status, records[0].faulted), (200, false));
    assert_eq!((records[1].method.as_str(), records[1].status), ("GET", 404));
    emu.clear_requests();
    assert!(emu.requests().is_empty());

    emu.set_latency(Duration::from_millis(150));
    let started = Instant::now();
    sm.get_secret().set_name(&secret.name).send().await.expect("get");
    assert!(started.elapsed() >= Duration::from_millis(150));
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_mask_paths_and_documented_fields_round_trip() {
    let emu = start().await;
    let sm = client(&emu).await;
    let (status, created) = http(
        &emu,
        "POST",
        "/v1/projects/acme/secrets?secretId=rotating",
        Some(json!({
            "replication": {"userManaged": {"replicas": [{"location": "us-east1", "customerManagedEncryption": {"kmsKeyName": "k"}}]}},
            "topics": [{"name": "projects/acme/topics/t"}],
            "rotation": {"nextRotationTime": "2030-01-01T00:00:00Z", "rotationPeriod": "3600s"},
        })),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["replication"]["userManaged"]["replicas"][0]["customerManagedEncryption"]["kmsKeyName"], "k");
    let name = created["name"].as_str().unwrap().to_string();

    // The provider's rotation update: one leaf masked, through the official client.
    let next = google_cloud_wkt::Timestamp::try_from("2031-06-01T00:00:00Z").unwrap();
    let rotation = google_cloud_secretmanager_v1::model::Rotation::new()
        .set_next_rotation_time(next)
        .set_rotation_period(google_cloud_wkt::Duration::clamp(60, 0));
    let patched = sm
        .update_secret()
        .set_secret(Secret::new().set_name(&name).set_rotation(rotation))
        .set_update_mask(FieldMask::default().set_paths(["rotation.next_rotation_time"]))
        .send()
        .await
        .expect("a nested mask path is accepted");
    let rotation = patched.rotation.expect("rotation");
    assert_eq!(rotation.next_rotation_time.map(String::from).as_deref(), Some("2031-06-01T00:00:00Z"));
    assert_eq!(rotation.rotation_period.map(|d| d.seconds()), Some(3600), "the unmasked leaf is untouched");

    let (status, err) = http(
        &emu,
        "POST",
        "/v1/projects/acme/secrets?secretId=typo",
        Some(json!({"replication": {"automatic": {}}, "rotation": {"rotationPeriodSeconds": 60}})),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        err["error"]["message"],
        "Invalid JSON payload received. Unknown name \"rotationPeriodSeconds\" at 'secret.rotation': Cannot find field."
    );
    let (status, err) =
        http(&emu, "PATCH", &format!("/v1/{name}?updateMask=rotation.bogus"), Some(json!({"rotation": {}}))).await;
    assert_eq!((status, err["error"]["status"].as_str()), (400, Some("INVALID_ARGUMENT")), "{err}");
}
