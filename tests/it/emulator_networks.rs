//! The emulator's VPC networks and subnetworks through the official google-cloud-compute-v1
//! clients: insert (waited on as operations), get, list, the network's subnetworks, the
//! refusals the API makes (legacy and auto-mode networks, overlapping ranges, a network still
//! in use), and the scenario seeding of both.

use std::time::Duration;

use cairn::emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use google_cloud_auth::credentials::anonymous;
use google_cloud_compute_v1::client::{Networks, Subnetworks};
use google_cloud_compute_v1::model::{operation, subnetwork, Network, Operation, Subnetwork, SubnetworkSecondaryRange};
use google_cloud_gax::exponential_backoff::ExponentialBackoffBuilder;
use google_cloud_gax::retry_policy::NeverRetry;
use google_cloud_lro::Poller;
use serde_json::json;

const P: &str = "acme";
const LINK: &str = "https://www.googleapis.com/compute/v1/projects/acme";

macro_rules! client {
    ($ty:ty, $emu:expr) => {
        <$ty>::builder()
            .with_endpoint($emu.endpoint())
            .with_credentials(anonymous::Builder::new().build())
            .with_retry_policy(NeverRetry)
            .with_polling_backoff_policy(
                ExponentialBackoffBuilder::new()
                    .with_initial_delay(Duration::from_millis(10))
                    .with_maximum_delay(Duration::from_millis(50))
                    .build()
                    .expect("backoff"),
            )
            .build()
            .await
            .expect("client builds")
    };
}

fn done(result: Result<Operation, google_cloud_gax::error::Error>) -> Operation {
    let op = result.expect("the operation");
    assert_eq!(op.status, Some(operation::Status::Done));
    assert!(op.error.is_none(), "{:?}", op.error);
    op
}

fn refused<T: std::fmt::Debug>(result: Result<T, google_cloud_gax::error::Error>) -> String {
    let e = result.expect_err("refused");
    e.status().map(|s| s.message.clone()).unwrap_or_else(|| e.to_string())
}

async fn emulator() -> EmulatorHandle {
    Emulator::start(EmulatorConfig::for_tests()).await.expect("emulator starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn networks_and_subnetworks_round_trip_through_the_sdk() {
    let emu = emulator().await;
    let networks = client!(Networks, emu);
    let subnetworks = client!(Subnetworks, emu);

    let legacy = Network::new().set_name("legacy");
    let message = refused(networks.insert().set_project(P).set_body(legacy).poller().until_done().await);
    assert!(message.contains("autoCreateSubnetworks"), "{message}");
    let auto = Network::new().set_name("auto").set_auto_create_subnetworks(true);
    let message = refused(networks.insert().set_project(P).set_body(auto).poller().until_done().await);
    assert!(message.contains("custom-mode networks only"), "{message}");

    let vpc = Network::new().set_name("vpc").set_auto_create_subnetworks(false).set_description("the VPC");
    done(networks.insert().set_project(P).set_body(vpc).poller().until_done().await);
    let got = networks.get().set_project(P).set_network("vpc").send().await.expect("the network");
    assert_eq!(got.self_link.as_deref(), Some(format!("{LINK}/global/networks/vpc").as_str()));
    assert_eq!((got.mtu, got.description.as_deref()), (Some(1460), Some("the VPC")));
    assert!(got.id.is_some_and(|id| id > 0) && got.subnetworks.is_empty());

    let subnet = Subnetwork::new()
        .set_name("app")
        .set_network("global/networks/vpc")
        .set_ip_cidr_range("10.0.0.0/20")
        .set_private_ip_google_access(true)
        .set_secondary_ip_ranges([SubnetworkSecondaryRange::new()
            .set_range_name("pods")
            .set_ip_cidr_range("10.8.0.0/16")]);
    let insert = subnetworks.insert().set_project(P).set_region("us-central1").set_body(subnet);
    done(insert.poller().until_done().await);
    let got = subnetworks.get().set_project(P).set_region("us-central1").set_subnetwork("app").send().await.unwrap();
    assert_eq!(got.network.as_deref(), Some(format!("{LINK}/global/networks/vpc").as_str()));
    assert_eq!(got.gateway_address.as_deref(), Some("10.0.0.1"));
    assert_eq!(got.stack_type, Some(subnetwork::StackType::Ipv4Only));
    assert_eq!(got.private_ip_google_access, Some(true));
    assert_eq!(got.secondary_ip_ranges[0].range_name.as_deref(), Some("pods"));
    assert!(got.fingerprint.is_some_and(|f| !f.is_empty()));

    let clash = Subnetwork::new().set_name("other").set_network("vpc").set_ip_cidr_range("10.8.4.0/24");
    let message = refused(
        subnetworks.insert().set_project(P).set_region("europe-west1").set_body(clash).poller().until_done().await,
    );
    assert!(message.contains("conflicts with existing subnetwork"), "{message}");

    let listed = subnetworks.list().set_project(P).set_region("us-central1").send().await.unwrap();
    assert_eq!(listed.items.len(), 1);
    let network = networks.get().set_project(P).set_network("vpc").send().await.unwrap();
    assert_eq!(network.subnetworks, vec![format!("{LINK}/regions/us-central1/subnetworks/app")]);
    let all = networks.list().set_project(P).send().await.unwrap();
    assert_eq!(all.items.iter().map(|n| n.name.clone().unwrap_or_default()).collect::<Vec<_>>(), ["vpc"]);

    let message = refused(networks.delete().set_project(P).set_network("vpc").poller().until_done().await);
    assert!(message.contains("is already being used by"), "{message}");
    done(
        subnetworks.delete().set_project(P).set_region("us-central1").set_subnetwork("app").poller().until_done().await,
    );
    done(networks.delete().set_project(P).set_network("vpc").poller().until_done().await);
    let gone = networks.get().set_project(P).set_network("vpc").send().await.expect_err("deleted");
    assert_eq!(gone.http_status_code(), Some(404));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scenario_seeds_networks_then_their_subnetworks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scenario.json");
    let scenario = json!({"compute": {
        "networks": [{"project": P, "name": "staging-vpc", "autoCreateSubnetworks": false}],
        "subnetworks": [{"project": P, "region": "us-central1", "name": "staging-subnet",
                         "network": "staging-vpc", "ipCidrRange": "10.0.0.0/20"}]
    }});
    std::fs::write(&path, scenario.to_string()).unwrap();
    let mut cfg = EmulatorConfig::for_tests();
    cfg.scenario = Some(path.clone());
    let emu = Emulator::start(cfg).await.expect("emulator starts");
    let networks = client!(Networks, emu);
    let got = networks.get().set_project(P).set_network("staging-vpc").send().await.unwrap();
    assert_eq!(got.subnetworks, vec![format!("{LINK}/regions/us-central1/subnetworks/staging-subnet")]);

    let no_region = json!({"compute": {
        "networks": [{"project": P, "name": "vpc", "autoCreateSubnetworks": false}],
        "subnetworks": [{"project": P, "name": "s", "network": "vpc", "ipCidrRange": "10.0.0.0/20"}]
    }});
    std::fs::write(&path, no_region.to_string()).unwrap();
    let mut cfg = EmulatorConfig::for_tests();
    cfg.scenario = Some(path);
    let err = match Emulator::start(cfg).await {
        Ok(_) => panic!("a subnetwork needs its region"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("compute.subnetworks[0] (s): region is required"), "{err}");
}
