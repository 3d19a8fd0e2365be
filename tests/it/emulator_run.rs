//! Conformance of the emulator's Cloud Run Admin API v2: the official SDK clients (`Services`,
//! `Revisions`, and their LRO pollers) round-trip every method, including failed operations, a
//! revision that never becomes ready (from a scenario), and an IAM policy etag conflict.

use std::time::Duration;

use cairn::emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use google_cloud_auth::credentials::anonymous;
use google_cloud_gax::error::rpc::Code;
use google_cloud_gax::exponential_backoff::ExponentialBackoffBuilder;
use google_cloud_gax::retry_policy::NeverRetry;
use google_cloud_lro::Poller;
use google_cloud_run_v2::client::{Revisions, Services};
use google_cloud_run_v2::model::{
    condition, Container, ContainerPort, EnvVar, Probe, RevisionTemplate, Service, TrafficTargetAllocationType,
    VpcAccess,
};
use serde_json::json;

const PARENT: &str = "projects/acme/locations/us-central1";

async fn start_with(scenario: Option<&str>) -> (EmulatorHandle, Option<tempfile::TempDir>) {
    let mut cfg = EmulatorConfig::for_tests();
    let dir = scenario.map(|text| {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("scenario.json");
        std::fs::write(&path, text).expect("write scenario");
        cfg.scenario = Some(path);
        dir
    });
    (Emulator::start(cfg).await.expect("emulator starts"), dir)
}

fn backoff() -> google_cloud_gax::exponential_backoff::ExponentialBackoff {
    ExponentialBackoffBuilder::new()
        .with_initial_delay(Duration::from_millis(10))
        .with_maximum_delay(Duration::from_millis(20))
        .build()
        .expect("backoff")
}

async fn services(emu: &EmulatorHandle) -> Services {
    Services::builder()
        .with_endpoint(emu.endpoint())
        .with_credentials(anonymous::Builder::new().build())
        .with_retry_policy(NeverRetry)
        .with_polling_backoff_policy(backoff())
        .build()
        .await
        .expect("services client builds")
}

async fn revisions(emu: &EmulatorHandle) -> Revisions {
    Revisions::builder()
        .with_endpoint(emu.endpoint())
        .with_credentials(anonymous::Builder::new().build())
        .with_retry_policy(NeverRetry)
        .with_polling_backoff_policy(backoff())
        .build()
        .await
        .expect("revisions client builds")
}

fn hello(image: &str) -> Service {
    Service::new().set_template(RevisionTemplate::new().set_containers([Container::new().set_image(image)]))
}

fn service_name(id: &str) -> String {
    format!("{PARENT}/services/{id}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_round_trip_create_get_list_update_delete_through_the_sdk_and_its_poller() {
    let (emu, _dir) = start_with(None).await;
    let run = services(&emu).await;

    let first = run
        .create_service()
        .set_parent(PARENT)
        .set_service_id("api")
        .set_service(hello("us-docker.pkg.dev/cloudrun/container/hello"))
        .send()
        .await
        .expect("create starts");
    assert!(!first.done, "the operation is still running");
    let meta: Service = first.metadata.as_ref().expect("metadata").to_msg().expect("the metadata is the Service");
    assert_eq!(meta.name, service_name("api"));
    assert!(meta.reconciling);

    let creating = run.get_service().set_name(service_name("api")).send().await.expect("get");
    assert!(creating.reconciling);
    assert_eq!(creating.generation, 1);
    assert!(creating.latest_created_revision.starts_with(&format!("{}/revisions/api-00001-", service_name("api"))));
    assert!(creating.uri.starts_with("https://api-") && creating.uri.ends_with("-uc.a.run.app"), "{}", creating.uri);

    let op = run.get_operation().set_name(first.name.clone()).send().await.expect("operations.get");
    assert_eq!(op.name, first.name);
    let waited = run
        .wait_operation()
        .set_name(first.name.clone())
        .set_timeout(google_cloud_wkt::Duration::clamp(5, 0))
        .send()
        .await
        .expect("operations.wait");
    assert!(waited.done, "wait answers once the operation is done");

    let ready = run.get_service().set_name(service_name("api")).send().await.expect("get");
    assert!(!ready.reconciling);
    assert_eq!(ready.observed_generation, 1);
    let terminal = ready.terminal_condition.as_ref().expect("terminal condition");
    assert_eq!((terminal.r#type.as_str(), &terminal.state), ("Ready", &condition::State::ConditionSucceeded));
    assert_eq!(ready.latest_ready_revision, ready.latest_created_revision);
    assert_eq!(ready.traffic_statuses.len(), 1);
    assert_eq!(ready.traffic_statuses[0].r#type, TrafficTargetAllocationType::Latest);
    assert_eq!(ready.traffic_statuses[0].percent, 100);
    let container = &ready.template.as_ref().expect("template").containers[0];
    assert_eq!(container.ports[0].container_port, 8080, "the API's default port");
    assert!(!ready.etag.is_empty());

    // Created and finished in one go by the poller, with the things the staging stack sets.
    let auth = run
        .create_service()
        .set_parent(PARENT)
        .set_service_id("auth")
        .set_service(
            Service::new().set_labels([("env", "staging")]).set_template(
                RevisionTemplate::new()
                    .set_timeout(google_cloud_wkt::Duration::clamp(600, 0))
                    .set_vpc_access(
                        VpcAccess::new()
                            .set_connector(format!("{PARENT}/connectors/staging-connector"))
                            .set_egress(google_cloud_run_v2::model::vpc_access::VpcEgress::AllTraffic),
                    )
                    .set_containers([Container::new()
                        .set_image("gcr.io/acme/auth:1")
                        .set_ports([ContainerPort::new().set_container_port(8081)])
                        .set_env([EnvVar::new().set_name("MODE").set_value("staging")])
                        .set_startup_probe(
                            Probe::new()
                                .set_timeout_seconds(5)
                                .set_period_seconds(10)
                                .set_failure_threshold(60)
                                .set_http_get(
                                    google_cloud_run_v2::model::HTTPGetAction::new().set_path("/auth/health"),
                                ),
                        )]),
            ),
        )
        .poller()
        .until_done()
        .await
        .expect("the poller finishes the create");
    let template = auth.template.as_ref().expect("template");
    assert_eq!(
        template.vpc_access.as_ref().map(|v| v.egress.clone()),
        Some(google_cloud_run_v2::model::vpc_access::VpcEgress::AllTraffic)
    );
    let probe = template.containers[0].startup_probe.as_ref().expect("probe");
    let http = probe.http_get().expect("http probe");
    assert_eq!((http.path.as_str(), http.port), ("/auth/health", 8081), "the probe port follows the container's");
    assert_eq!(template.timeout.as_ref().map(|d| d.seconds()), Some(600));

    let page = run.list_services().set_parent(PARENT).set_page_size(1).send().await.expect("list");
    assert_eq!(page.services.len(), 1);
    assert!(!page.next_page_token.is_empty());
    let rest = run
        .list_services()
        .set_parent(PARENT)
        .set_page_size(1)
        .set_page_token(page.next_page_token.clone())
        .send()
        .await
        .expect("list page 2");
    assert_eq!(rest.services.len(), 1);
    assert!(rest.next_page_token.is_empty());
    let everywhere = run.list_services().set_parent("projects/acme/locations/-").send().await.expect("list all");
    assert_eq!(everywhere.services.len(), 2);

    // An env change: one update, a new revision, a new etag.
    let mut changed = auth.clone();
    changed.template.as_mut().expect("template").containers[0].env =
        vec![EnvVar::new().set_name("MODE").set_value("production")];
    let updated =
        run.update_service().set_service(changed).poller().until_done().await.expect("the poller finishes the update");
    assert_eq!(updated.generation, 2);
    assert_ne!(updated.latest_ready_revision, auth.latest_ready_revision);
    assert!(updated.latest_ready_revision.contains("/revisions/auth-00002-"), "{}", updated.latest_ready_revision);
    assert_ne!(updated.etag, auth.etag);
    assert_eq!(
        updated.template.as_ref().expect("template").containers[0].env[0].value(),
        Some(&"production".to_string())
    );

    // A masked update touches only the masked field.
    let masked = run
        .update_service()
        .set_service(
            Service::new().set_name(service_name("auth")).set_labels([("env", "prod")]).set_description("ignored"),
        )
        .set_update_mask(google_cloud_wkt::FieldMask::default().set_paths(["labels"]))
        .poller()
        .until_done()
        .await
        .expect("masked update");
    assert_eq!(masked.labels.get("env").map(String::as_str), Some("prod"));
    assert!(masked.description.is_empty());
    assert_eq!(masked.latest_created_revision, updated.latest_created_revision, "no template change, no revision");

    // A stale etag on delete is refused; the current one deletes.
    let err = run
        .delete_service()
        .set_name(service_name("auth"))
        .set_etag(auth.etag.clone())
        .send()
        .await
        .expect_err("stale etag");
    assert_eq!((err.status().map(|s| s.code), err.http_status_code()), (Some(Code::Aborted), Some(409)));
    let deleted = run
        .delete_service()
        .set_name(service_name("auth"))
        .set_etag(masked.etag.clone())
        .poller()
        .until_done()
        .await
        .expect("the poller finishes the delete");
    assert_eq!(deleted.name, service_name("auth"));
    assert!(deleted.delete_time.is_some());
    let err = run.get_service().set_name(service_name("auth")).send().await.expect_err("deleted");
    assert_eq!((err.status().map(|s| s.code), err.http_status_code()), (Some(Code::NotFound), Some(404)));
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_only_and_invalid_services_change_nothing() {
    let (emu, _dir) = start_with(None).await;
    let run = services(&emu).await;

    let checked = run
        .create_service()
        .set_parent(PARENT)
        .set_service_id("api")
        .set_service(hello("gcr.io/acme/api:1"))
        .set_validate_only(true)
        .send()
        .await
        .expect("validate only");
    assert!(checked.done);
    let err = run.get_service().set_name(service_name("api")).send().await.expect_err("nothing was created");
    assert_eq!(err.status().map(|s| s.code), Some(Code::NotFound));

    let probe_too_slow = Probe::new()
        .set_timeout_seconds(20)
        .set_period_seconds(10)
        .set_tcp_socket(google_cloud_run_v2::model::TCPSocketAction::new());
    for (id, service, needle) in [
        ("no-image", Service::new().set_template(RevisionTemplate::new().set_containers([Container::new()])), "image"),
        (
            "slow-probe",
            Service::new().set_template(
                RevisionTemplate::new()
                    .set_containers([Container::new().set_image("i").set_startup_probe(probe_too_slow)]),
            ),
            "timeout_seconds (20) must be less than or equal to period_seconds (10)",
        ),
        (
            "long-timeout",
            hello("i").set_template(
                RevisionTemplate::new()
                    .set_timeout(google_cloud_wkt::Duration::clamp(3601, 0))
                    .set_containers([Container::new().set_image("i")]),
            ),
            "between 1s and 3600s",
        ),
        ("Bad_Id", hello("i"), "service_id"),
    ] {
        let err = run
            .create_service()
            .set_parent(PARENT)
            .set_service_id(id)
            .set_service(service)
            .send()
            .await
            .expect_err("invalid create");
        let status = err.status().expect("AIP status");
        assert_eq!((status.code, err.http_status_code()), (Code::InvalidArgument, Some(400)), "{id}");
        assert!(status.message.contains(needle), "{id}: {}", status.message);
    }
    assert!(run.list_operations().set_name(PARENT).send().await.expect("operations.list").operations.is_empty());

    // Unknown fields get the API's own refusal (raw HTTP: the SDK cannot send one).
    let (status, _, body) = crate::support::emulator_http(
        &emu,
        "POST",
        &format!("/v2/{PARENT}/services?serviceId=raw"),
        Some(json!({"template": {"containers": [{"image": "i", "imagePullPolicy": "Always"}]}})),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["status"], "INVALID_ARGUMENT");
    assert_eq!(
        body["error"]["message"],
        "Invalid JSON payload received. Unknown name \"imagePullPolicy\" at 'service.template.containers[0]': Cannot find field."
    );
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revision_that_never_becomes_ready_fails_the_operation_with_its_condition() {
    let scenario = json!({"run": {"revisionsNeverReady": [
        {"project": "acme", "location": "us-central1", "service": "worker"}
    ]}});
    let (emu, _dir) = start_with(Some(&scenario.to_string())).await;
    let run = services(&emu).await;

    let err = run
        .create_service()
        .set_parent(PARENT)
        .set_service_id("worker")
        .set_service(hello("gcr.io/acme/worker:1"))
        .poller()
        .until_done()
        .await
        .expect_err("the revision never becomes ready");
    let status = err.status().expect("the operation's status");
    assert_eq!(status.code, Code::FailedPrecondition);
    assert!(status.message.starts_with("Revision 'worker-00001-"), "{}", status.message);
    assert!(
        status.message.contains(
            "is not ready and cannot serve traffic. The user-provided container failed to start and listen on the port defined provided by the PORT=8080 environment variable"
        ),
        "{}",
        status.message
    );

    let service = run.get_service().set_name(service_name("worker")).send().await.expect("the service exists");
    let terminal = service.terminal_condition.as_ref().expect("terminal condition");
    assert_eq!(terminal.state, condition::State::ConditionFailed);
    assert_eq!(terminal.message, status.message);
    assert!(service.latest_ready_revision.is_empty(), "nothing ever became ready");
    assert!(!service.reconciling);

    let revision = revisions(&emu)
        .await
        .get_revision()
        .set_name(service.latest_created_revision.clone())
        .send()
        .await
        .expect("the failed revision");
    let ready = revision.conditions.iter().find(|c| c.r#type == "Ready").expect("a Ready condition");
    assert_eq!(ready.state, condition::State::ConditionFailed);
    assert!(status.message.ends_with(&ready.message), "the operation carries the revision's message");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revisions_list_get_delete_and_operations_list_get_delete() {
    let (emu, _dir) = start_with(None).await;
    let run = services(&emu).await;
    let revs = revisions(&emu).await;

    let v1 = run
        .create_service()
        .set_parent(PARENT)
        .set_service_id("api")
        .set_service(hello("gcr.io/acme/api:1"))
        .poller()
        .until_done()
        .await
        .expect("create");
    let v2 = run
        .update_service()
        .set_service(hello("gcr.io/acme/api:2").set_name(service_name("api")))
        .poller()
        .until_done()
        .await
        .expect("update");
    assert_ne!(v1.latest_ready_revision, v2.latest_ready_revision);

    let listed = revs.list_revisions().set_parent(service_name("api")).send().await.expect("revisions.list");
    let names: Vec<&str> = listed.revisions.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, [v2.latest_ready_revision.as_str(), v1.latest_ready_revision.as_str()], "newest first");
    let old = revs.get_revision().set_name(v1.latest_ready_revision.clone()).send().await.expect("revisions.get");
    assert_eq!(old.service, service_name("api"));
    assert_eq!(old.containers[0].image, "gcr.io/acme/api:1");
    assert!(old.conditions.iter().any(|c| c.r#type == "Ready" && c.state == condition::State::ConditionSucceeded));

    let err = revs.delete_revision().set_name(v2.latest_ready_revision.clone()).send().await.expect_err("serving");
    assert_eq!(err.status().map(|s| s.code), Some(Code::FailedPrecondition));
    let gone = revs
        .delete_revision()
        .set_name(v1.latest_ready_revision.clone())
        .poller()
        .until_done()
        .await
        .expect("an old revision can go");
    assert_eq!(gone.name, v1.latest_ready_revision);
    let err = revs.get_revision().set_name(v1.latest_ready_revision.clone()).send().await.expect_err("deleted");
    assert_eq!(err.status().map(|s| s.code), Some(Code::NotFound));

    let ops = run.list_operations().set_name(PARENT).send().await.expect("operations.list");
    assert_eq!(ops.operations.len(), 3, "create, update, revision delete");
    assert!(ops.operations.iter().all(|o| o.done));
    let from_revisions = revs.list_operations().set_name(PARENT).send().await.expect("operations.list (Revisions)");
    assert_eq!(from_revisions.operations.len(), 3);
    let one = run.get_operation().set_name(ops.operations[0].name.clone()).send().await.expect("operations.get");
    assert_eq!(one.name, ops.operations[0].name);
    run.delete_operation().set_name(one.name.clone()).send().await.expect("operations.delete");
    let err = run.get_operation().set_name(one.name.clone()).send().await.expect_err("deleted operation");
    assert_eq!(err.status().map(|s| s.code), Some(Code::NotFound));
    assert_eq!(run.list_operations().set_name(PARENT).send().await.expect("list").operations.len(), 2);
    emu.shutdown().await;
}

/// The policy with `member` added to roles/run.invoker, as a read-modify-write client edits it
/// (through JSON: the policy type lives in google-cloud-iam-v1, which this crate does not name).
fn with<P: serde::Serialize + serde::de::DeserializeOwned>(policy: P, member: &str) -> P {
    let mut value = serde_json::to_value(policy).expect("a policy serializes");
    let bindings = value.as_object_mut().expect("an object").entry("bindings").or_insert_with(|| json!([]));
    let bindings = bindings.as_array_mut().expect("a list");
    match bindings.iter_mut().find(|b| b["role"] == "roles/run.invoker") {
        Some(b) => b["members"].as_array_mut().expect("members").push(json!(member)),
        None => bindings.push(json!({"role": "roles/run.invoker", "members": [member]})),
    }
    serde_json::from_value(value).expect("a policy deserializes")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_iam_writers_conflict_on_the_etag_and_both_members_survive_a_retry() {
    let (emu, _dir) = start_with(None).await;
    let (alice, bob) = (services(&emu).await, services(&emu).await);
    alice
        .create_service()
        .set_parent(PARENT)
        .set_service_id("api")
        .set_service(hello("gcr.io/acme/api:1"))
        .poller()
        .until_done()
        .await
        .expect("create");
    let name = service_name("api");

    let read_a = alice.get_iam_policy().set_resource(name.clone()).send().await.expect("alice reads");
    let read_b = bob.get_iam_policy().set_resource(name.clone()).send().await.expect("bob reads");
    assert_eq!(read_a.etag, read_b.etag);
    assert!(read_a.bindings.is_empty());

    let set_a = alice
        .set_iam_policy()
        .set_resource(name.clone())
        .set_policy(with(read_a, "serviceAccount:lb@acme.iam.gserviceaccount.com"))
        .send()
        .await
        .expect("the first writer wins");
    assert_ne!(set_a.etag, read_b.etag);

    let err = bob
        .set_iam_policy()
        .set_resource(name.clone())
        .set_policy(with(read_b, "allUsers"))
        .send()
        .await
        .expect_err("the second writer's etag is stale");
    assert_eq!((err.status().map(|s| s.code), err.http_status_code()), (Some(Code::Aborted), Some(409)));

    let reread = bob.get_iam_policy().set_resource(name.clone()).send().await.expect("bob re-reads");
    let retried = bob
        .set_iam_policy()
        .set_resource(name.clone())
        .set_policy(with(reread, "allUsers"))
        .send()
        .await
        .expect("the retry succeeds");
    let members = &retried.bindings.iter().find(|b| b.role == "roles/run.invoker").expect("invoker").members;
    assert_eq!(members, &["allUsers", "serviceAccount:lb@acme.iam.gserviceaccount.com"]);

    let tested = alice
        .test_iam_permissions()
        .set_resource(name.clone())
        .set_permissions(["run.routes.invoke", "compute.instances.get"])
        .send()
        .await
        .expect("testIamPermissions");
    assert_eq!(tested.permissions, ["run.routes.invoke"]);
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_services_start_on_the_scenario_configuration() {
    let scenario = json!({"run": {"services": [
        {"project": "acme", "location": "us-central1", "id": "netra-backend-staging", "service": {"template": {
            "containers": [{"image": "gcr.io/acme/backend:1"}],
            "vpcAccess": {"connector": "projects/acme/locations/us-central1/connectors/old-connector", "egress": "PRIVATE_RANGES_ONLY"}}}}
    ]}});
    let (emu, _dir) = start_with(Some(&scenario.to_string())).await;
    let run = services(&emu).await;
    let seeded = run.get_service().set_name(service_name("netra-backend-staging")).send().await.expect("seeded");
    let vpc = seeded.template.as_ref().and_then(|t| t.vpc_access.as_ref()).expect("vpc access");
    assert!(vpc.connector.ends_with("/connectors/old-connector"));
    assert_eq!(vpc.egress, google_cloud_run_v2::model::vpc_access::VpcEgress::PrivateRangesOnly);
    assert_eq!(seeded.terminal_condition.as_ref().map(|c| c.state.clone()), Some(condition::State::ConditionSucceeded));
    assert!(!seeded.latest_ready_revision.is_empty());
    emu.shutdown().await;
}
