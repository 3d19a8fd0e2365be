//! Conformance of the emulator's Serverless VPC Access API: the official SDK client (and its
//! LRO poller) round-trips every method it has; patch, which the SDK does not offer, and the
//! string-enum wire format are checked over raw HTTP.

use std::time::Duration;

use crate::support::emulator_http;
use cairn::emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use google_cloud_auth::credentials::anonymous;
use google_cloud_gax::error::rpc::Code;
use google_cloud_gax::exponential_backoff::ExponentialBackoffBuilder;
use google_cloud_gax::retry_policy::NeverRetry;
use google_cloud_lro::Poller;
use google_cloud_vpcaccess_v1::client::VpcAccessService;
use google_cloud_vpcaccess_v1::model::{connector, Connector};
use serde_json::{json, Value};

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

async fn client(emu: &EmulatorHandle) -> VpcAccessService {
    let backoff = ExponentialBackoffBuilder::new()
        .with_initial_delay(Duration::from_millis(10))
        .with_maximum_delay(Duration::from_millis(20))
        .build()
        .expect("backoff");
    VpcAccessService::builder()
        .with_endpoint(emu.endpoint())
        .with_credentials(anonymous::Builder::new().build())
        .with_retry_policy(NeverRetry)
        .with_polling_backoff_policy(backoff)
        .build()
        .await
        .expect("client builds")
}

fn network_connector(min: i32, max: i32) -> Connector {
    Connector::new()
        .set_network("default")
        .set_ip_cidr_range("10.8.0.0/28")
        .set_min_throughput(min)
        .set_max_throughput(max)
}

async fn http(emu: &EmulatorHandle, method: &str, target: &str, body: Option<Value>) -> (u16, Value) {
    let (status, _, value) = emulator_http(emu, method, target, body).await;
    (status, value)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_get_list_delete_round_trip_through_the_sdk_and_its_poller() {
    let (emu, _dir) = start_with(None).await;
    let vpc = client(&emu).await;

    let first = vpc
        .create_connector()
        .set_parent(PARENT)
        .set_connector_id("conn-a")
        .set_connector(network_connector(300, 400))
        .send()
        .await
        .expect("create starts");
    assert!(!first.done, "the operation is still running");
    let meta: google_cloud_vpcaccess_v1::model::OperationMetadata =
        first.metadata.as_ref().expect("metadata").to_msg().expect("OperationMetadata");
    assert_eq!(meta.method, "google.cloud.vpcaccess.v1.VpcAccessService.CreateConnector");
    assert_eq!(meta.target, format!("{PARENT}/connectors/conn-a"));
    assert!(meta.create_time.is_some() && meta.end_time.is_none());

    let creating = vpc.get_connector().set_name(format!("{PARENT}/connectors/conn-a")).send().await.expect("get");
    assert_eq!(creating.state, connector::State::Creating);

    let op = vpc.get_operation().set_name(first.name.clone()).send().await.expect("operations.get");
    assert_eq!(op.name, first.name);

    let ready = vpc
        .create_connector()
        .set_parent(PARENT)
        .set_connector_id("conn-b")
        .set_connector(
            Connector::new()
                .set_subnet(connector::Subnet::new().set_name("serverless"))
                .set_min_instances(2)
                .set_max_instances(3),
        )
        .poller()
        .until_done()
        .await
        .expect("the poller finishes the create");
    assert_eq!(ready.name, format!("{PARENT}/connectors/conn-b"));
    assert_eq!(ready.state, connector::State::Ready);
    assert_eq!((ready.min_instances, ready.max_instances), (2, 3));
    assert_eq!(ready.machine_type, "e2-micro");
    assert_eq!(ready.subnet.as_ref().map(|s| s.project_id.as_str()), Some("acme"));
    assert!(ready.network.is_empty());

    tokio::time::sleep(Duration::from_millis(80)).await;
    let a = vpc.get_connector().set_name(format!("{PARENT}/connectors/conn-a")).send().await.expect("get a");
    assert_eq!(a.state, connector::State::Ready);
    assert_eq!((a.min_instances, a.max_instances), (3, 4), "instances follow throughput ÷ 100");
    assert_eq!((a.min_throughput, a.max_throughput), (300, 400));

    let page = vpc.list_connectors().set_parent(PARENT).set_page_size(1).send().await.expect("list");
    assert_eq!(page.connectors.len(), 1);
    assert!(!page.next_page_token.is_empty());
    let rest = vpc
        .list_connectors()
        .set_parent(PARENT)
        .set_page_size(1)
        .set_page_token(page.next_page_token.clone())
        .send()
        .await
        .expect("list page 2");
    assert_eq!(rest.connectors.len(), 1);
    assert!(rest.next_page_token.is_empty());
    assert_ne!(page.connectors[0].name, rest.connectors[0].name);

    let ops = vpc.list_operations().set_name(PARENT).send().await.expect("operations.list");
    assert_eq!(ops.operations.len(), 2);
    assert!(ops.operations.iter().all(|o| o.done));

    vpc.delete_connector()
        .set_name(format!("{PARENT}/connectors/conn-a"))
        .poller()
        .until_done()
        .await
        .expect("the poller finishes the delete");
    let (code, http_status) = {
        let err =
            vpc.get_connector().set_name(format!("{PARENT}/connectors/conn-a")).send().await.expect_err("deleted");
        (err.status().map(|s| s.code), err.http_status_code())
    };
    assert_eq!((code, http_status), (Some(Code::NotFound), Some(404)));
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_surface_as_errors_in_the_sdk() {
    let (emu, _dir) = start_with(None).await;
    let vpc = client(&emu).await;

    let err = vpc
        .create_connector()
        .set_parent(PARENT)
        .set_connector_id("no-max")
        .set_connector(Connector::new().set_network("default").set_ip_cidr_range("10.8.0.0/28"))
        .poller()
        .until_done()
        .await
        .expect_err("a connector without a maximum fails inside the operation");
    let status = err.status().expect("the operation's status");
    assert_eq!(status.code, Code::InvalidArgument);
    assert_eq!(status.message, "A Connector must specify either max_throughput or max_instances.");

    for (id, body, needle) in [
        ("Bad_Id", network_connector(200, 300), "connector_id"),
        ("wide", network_connector(200, 300).set_ip_cidr_range("10.8.0.0/24"), "/28"),
        ("both", network_connector(200, 300).set_subnet(connector::Subnet::new().set_name("s")), "not both"),
        ("big", network_connector(200, 1100), "max_throughput"),
    ] {
        let err = vpc
            .create_connector()
            .set_parent(PARENT)
            .set_connector_id(id)
            .set_connector(body)
            .send()
            .await
            .expect_err("invalid create");
        let status = err.status().expect("AIP status");
        assert_eq!(status.code, Code::InvalidArgument, "{id}");
        assert!(status.message.contains(needle), "{id}: {}", status.message);
    }

    vpc.create_connector()
        .set_parent(PARENT)
        .set_connector_id("dup")
        .set_connector(network_connector(200, 300))
        .poller()
        .until_done()
        .await
        .expect("create");
    let err = vpc
        .create_connector()
        .set_parent(PARENT)
        .set_connector_id("dup")
        .set_connector(network_connector(200, 300))
        .send()
        .await
        .expect_err("duplicate");
    assert_eq!(err.status().map(|s| s.code), Some(Code::AlreadyExists));

    let err = vpc.get_connector().set_name(format!("{PARENT}/connectors/missing")).send().await.expect_err("missing");
    let status = err.status().expect("AIP status");
    assert_eq!((status.code, status.message.as_str()), (Code::NotFound, "The connector is not found."));
    let err =
        vpc.get_operation().set_name(format!("{PARENT}/operations/nope")).send().await.expect_err("missing operation");
    assert_eq!(err.status().map(|s| s.code), Some(Code::NotFound));
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patch_wire_format_states_and_scenarios_over_raw_http() {
    let scenario = r#"{"vpcaccess": {"connectors": [
        {"project": "acme", "location": "us-central1", "id": "broken", "network": "default",
         "ipCidrRange": "10.8.0.0/28", "state": "ERROR"},
        {"project": "acme", "location": "us-central1", "id": "stuck", "network": "default",
         "ipCidrRange": "10.8.0.16/28", "state": "CREATING", "pinned": true},
        {"project": "acme", "location": "us-central1", "id": "ready", "subnet": {"name": "s"},
         "minInstances": 2, "maxInstances": 3}
    ]}}"#;
    let (emu, _dir) = start_with(Some(scenario)).await;
    let base = format!("/v1/{PARENT}/connectors");

    let (status, broken) = http(&emu, "GET", &format!("{base}/broken"), None).await;
    assert_eq!((status, broken["state"].as_str()), (200, Some("ERROR")));
    assert!(broken.get("subnet").is_none() && broken.get("connectedProjects").is_none());
    let (_, ints) = http(&emu, "GET", &format!("{base}/broken?%24alt=json%3Benum-encoding%3Dint"), None).await;
    assert_eq!(ints["state"], 4);

    let (status, err) = http(
        &emu,
        "PATCH",
        &format!("{base}/ready?updateMask=ipCidrRange"),
        Some(json!({"ipCidrRange": "10.9.0.0/28"})),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(err["error"]["status"], "INVALID_ARGUMENT");
    assert!(err["error"].get("errors").is_none(), "AIP envelope");

    let (status, op) = http(
        &emu,
        "PATCH",
        &format!("{base}/ready?updateMask=max_instances,machineType"),
        Some(json!({"maxInstances": 6, "machineType": "e2-standard-4", "network": "ignored"})),
    )
    .await;
    assert_eq!(status, 200, "{op}");
    assert_eq!(op["metadata"]["method"], "google.cloud.vpcaccess.v1.VpcAccessService.UpdateConnector");
    assert!(op.get("done").is_none());
    let (_, updating) = http(&emu, "GET", &format!("{base}/ready"), None).await;
    assert_eq!(updating["state"], "UPDATING");
    tokio::time::sleep(Duration::from_millis(80)).await;
    let (_, done) = http(&emu, "GET", &format!("/v1/{}", op["name"].as_str().unwrap()), None).await;
    assert_eq!(done["done"], true);
    assert_eq!(done["response"]["@type"], "type.googleapis.com/google.cloud.vpcaccess.v1.Connector");
    assert_eq!(done["response"]["state"], "READY");
    assert_eq!(done["response"]["maxInstances"], 6);
    assert_eq!(done["response"]["machineType"], "e2-standard-4");
    assert!(done["metadata"]["endTime"].is_string());

    let (status, _) = http(&emu, "PATCH", &format!("{base}/stuck"), Some(json!({"maxInstances": 5}))).await;
    assert_eq!(status, 400, "a connector that is not READY cannot be updated");
    let (_, stuck) = http(&emu, "GET", &format!("{base}/stuck"), None).await;
    assert_eq!(stuck["state"], "CREATING", "pinned");

    let (status, op) = http(&emu, "DELETE", &format!("{base}/broken"), None).await;
    assert_eq!(status, 200);
    assert_eq!(op["metadata"]["method"], "google.cloud.vpcaccess.v1.VpcAccessService.DeleteConnector");
    tokio::time::sleep(Duration::from_millis(80)).await;
    let (_, done) = http(&emu, "GET", &format!("/v1/{}", op["name"].as_str().unwrap()), None).await;
    assert_eq!(done["response"], json!({"@type": "type.googleapis.com/google.protobuf.Empty"}));
    let (status, gone) = http(&emu, "GET", &format!("{base}/broken"), None).await;
    assert_eq!(status, 404);
    assert_eq!(gone, json!({"error": {"code": 404, "message": "The connector is not found.", "status": "NOT_FOUND"}}));
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documented_fields_round_trip_and_unknown_ones_are_refused() {
    let (emu, _dir) = start_with(None).await;
    let base = format!("/v1/{PARENT}/connectors");
    let body = json!({"subnet": {"name": "sub", "projectId": "host"}, "minInstances": 2, "maxInstances": 4,
        "machineType": "e2-standard-4"});
    let (status, op) = http(&emu, "POST", &format!("{base}?connectorId=nested"), Some(body)).await;
    assert_eq!(status, 200, "{op}");
    let (_, got) = http(&emu, "GET", &format!("{base}/nested"), None).await;
    assert_eq!(got["subnet"], json!({"name": "sub", "projectId": "host"}));
    assert_eq!((got["machineType"].as_str(), got["maxInstances"].as_i64()), (Some("e2-standard-4"), Some(4)));

    let typo = json!({"subnet": {"name": "sub", "project": "host"}, "maxInstances": 3});
    let (status, err) = http(&emu, "POST", &format!("{base}?connectorId=typo"), Some(typo)).await;
    assert_eq!(status, 400);
    assert_eq!(
        err["error"]["message"],
        "Invalid JSON payload received. Unknown name \"project\" at 'connector.subnet': Cannot find field."
    );
}
