//! Issue 16's Google data sources, read through `Registry::standard` against the in-process
//! emulator: each finds what an apply made (with one read per data source, counted from the
//! emulator's request records), a missing object is a `not_found` error with the provider's
//! message, and a secret version's payload comes back marked sensitive.

use crate::support::*;
use cairn::emulator::{Emulator, EmulatorConfig, EmulatorHandle, RequestRecord};
use cairn::lang::value::Value;
use cairn::providers::google::GoogleOptions;
use cairn::providers::{CallContext, ProviderError, Registry};

const PROJECT: &str = "netra-staging";

const STACK: &str = r#"
provider "google" {
  project = "netra-staging"
  region  = "us-central1"
}

variable "payload" {
  type      = string
  sensitive = true
  default   = "s3cret-payload"
}

resource "google_secret_manager_secret" "db" {
  secret_id = "db-password"
  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_version" "db" {
  secret      = google_secret_manager_secret.db.id
  secret_data = var.payload
}

resource "google_sql_database_instance" "db" {
  name                = "netra-staging-db"
  database_version    = "POSTGRES_14"
  region              = "us-central1"
  deletion_protection = false
  settings {
    tier = "db-f1-micro"
  }
}

resource "google_vpc_access_connector" "staging" {
  name          = "staging-connector"
  region        = "us-central1"
  network       = "staging-vpc"
  ip_cidr_range = "10.1.0.0/28"
  min_instances = 2
  max_instances = 3
}

resource "google_cloud_run_v2_service" "api" {
  name                = "api-staging"
  location            = "us-central1"
  deletion_protection = false
  template {
    containers {
      image = "gcr.io/netra-staging/api:latest"
    }
  }
}

resource "google_bigquery_dataset" "monitoring" {
  dataset_id    = "infrastructure_monitoring"
  friendly_name = "Infrastructure monitoring"
}

resource "google_compute_global_address" "lb" {
  name = "staging-lb-ip"
}

resource "google_monitoring_notification_channel" "oncall" {
  display_name = "Staging on-call"
  type         = "email"
  labels       = { email_address = "oncall@netrasystems.ai" }
  user_labels  = { team = "platform" }
}
"#;

async fn applied() -> (EmulatorHandle, TestStack) {
    let emu = Emulator::start(EmulatorConfig::for_tests()).await.expect("start the emulator");
    let s = TestStack::new(&[("main.tf", STACK)]);
    apply(&common(s.path(), registry(&emu))).await;
    (emu, s)
}

fn registry(emu: &EmulatorHandle) -> Registry {
    Registry::standard(GoogleOptions { emulator: Some(emu.endpoint()), ..Default::default() })
}

fn ctx() -> CallContext {
    CallContext::new(Value::map([("project", Value::from(PROJECT)), ("region", Value::from("us-central1"))]))
}

fn config(args: &[(&str, Value)]) -> Value {
    Value::map(args.iter().cloned())
}

/// Reads `data_source` with `args` on a fresh registry (so that building clients is not
/// counted against a shared one), returning the result and the requests it made.
async fn read(
    emu: &EmulatorHandle,
    data_source: &str,
    args: &[(&str, Value)],
) -> (Result<Value, ProviderError>, Vec<RequestRecord>) {
    let r = registry(emu);
    let ds = r.data_source(data_source).unwrap_or_else(|| panic!("no data source {data_source}"));
    emu.clear_requests();
    let out = ds.read(&ctx(), &config(args)).await;
    (out, emu.requests())
}

fn text<'a>(v: &'a Value, attr: &str) -> &'a str {
    v.get(attr).and_then(|x| x.peel().as_str()).unwrap_or_else(|| panic!("{attr} is not a string in {v:?}"))
}

fn the_reads(requests: &[RequestRecord]) -> Vec<String> {
    requests.iter().map(|r| format!("{} {}", r.method, r.path)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_data_source_reads_what_an_apply_made_with_one_call() {
    let (emu, _s) = applied().await;

    let (v, reqs) = read(&emu, "google_sql_database_instance", &[("name", Value::from("netra-staging-db"))]).await;
    let v = v.expect("the instance");
    assert_eq!(text(&v, "project"), PROJECT);
    assert_eq!(text(&v, "database_version"), "POSTGRES_14");
    assert!(!text(&v, "connection_name").is_empty());
    let tier = v.get("settings").and_then(|s| s.as_list()).and_then(|s| s.first()).map(|s| text(s, "tier"));
    assert_eq!(tier, Some("db-f1-micro"));
    assert_eq!(the_reads(&reqs).len(), 1, "one GET: {:?}", the_reads(&reqs));

    let (v, reqs) = read(&emu, "google_vpc_access_connector", &[("name", Value::from("staging-connector"))]).await;
    let v = v.expect("the connector");
    assert_eq!(text(&v, "region"), "us-central1", "the provider's region");
    assert_eq!(text(&v, "ip_cidr_range"), "10.1.0.0/28");
    assert_eq!(text(&v, "id"), "projects/netra-staging/locations/us-central1/connectors/staging-connector");
    assert_eq!(reqs.len(), 1, "{:?}", the_reads(&reqs));

    let (v, reqs) = read(
        &emu,
        "google_cloud_run_v2_service",
        &[("name", Value::from("api-staging")), ("location", Value::from("us-central1"))],
    )
    .await;
    let v = v.expect("the service");
    assert!(text(&v, "uri").starts_with("https://"), "{:?}", v.get("uri"));
    assert_eq!(reqs.len(), 1, "{:?}", the_reads(&reqs));

    let (v, reqs) =
        read(&emu, "google_bigquery_dataset", &[("dataset_id", Value::from("infrastructure_monitoring"))]).await;
    let v = v.expect("the dataset");
    assert_eq!(text(&v, "friendly_name"), "Infrastructure monitoring");
    assert_eq!(text(&v, "project"), PROJECT);
    assert_eq!(reqs.len(), 1, "{:?}", the_reads(&reqs));

    let (v, reqs) = read(&emu, "google_compute_global_address", &[("name", Value::from("staging-lb-ip"))]).await;
    let v = v.expect("the address");
    assert!(!text(&v, "address").is_empty());
    assert_eq!(text(&v, "status"), "RESERVED");
    assert!(text(&v, "self_link").ends_with("/projects/netra-staging/global/addresses/staging-lb-ip"));
    assert_eq!(reqs.len(), 1, "{:?}", the_reads(&reqs));

    let (v, reqs) = read(
        &emu,
        "google_monitoring_notification_channel",
        &[
            ("display_name", Value::from("Staging on-call")),
            ("user_labels", Value::map([("team", Value::from("platform"))])),
        ],
    )
    .await;
    let v = v.expect("the channel");
    assert_eq!(text(&v, "type"), "email");
    assert!(text(&v, "name").starts_with("projects/netra-staging/notificationChannels/"));
    assert_eq!(reqs.len(), 1, "one filtered listing: {:?}", the_reads(&reqs));
    assert!(reqs[0].query.contains("filter="), "{:?}", reqs[0].query);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_versions_payload_is_sensitive() {
    let (emu, _s) = applied().await;

    let (v, reqs) = read(&emu, "google_secret_manager_secret_version", &[("secret", Value::from("db-password"))]).await;
    let v = v.expect("the latest version");
    let data = v.get("secret_data").expect("secret_data");
    assert!(data.is_sensitive(), "the payload is marked: {data:?}");
    assert_eq!(data.peel().as_str(), Some("s3cret-payload"));
    assert_eq!(text(&v, "version"), "1", "latest resolves to the version's number");
    // The API names the project by number, and the data source keeps the API's name.
    let name = text(&v, "name");
    assert!(name.starts_with("projects/") && name.ends_with("/secrets/db-password/versions/1"), "{name}");
    assert_eq!(text(&v, "project"), PROJECT);
    assert_eq!(v.get("enabled"), Some(&Value::Bool(true)));
    let reads = the_reads(&reqs);
    assert_eq!(reads.len(), 2, "the version's GET, then its access: {reads:?}");
    assert!(reads[0].ends_with("/versions/latest") && reads[1].ends_with("/versions/1:access"), "{reads:?}");

    let (v, _) = read(
        &emu,
        "google_secret_manager_secret_version",
        &[
            ("secret", Value::from("projects/netra-staging/secrets/db-password")),
            ("version", Value::from("1")),
            ("is_secret_data_base64", Value::Bool(true)),
        ],
    )
    .await;
    let v = v.expect("version 1 by full secret name");
    assert_eq!(v.get("secret_data"), Some(&Value::from("czNjcmV0LXBheWxvYWQ=").sensitive()));

    let (v, reqs) = read(
        &emu,
        "google_secret_manager_secret_version",
        &[("secret", Value::from("db-password")), ("fetch_secret_data", Value::Bool(false))],
    )
    .await;
    assert_eq!(v.expect("metadata only").get("secret_data"), Some(&Value::Null));
    assert_eq!(reqs.len(), 1, "no access: {:?}", the_reads(&reqs));

    let (e, _) = read(
        &emu,
        "google_secret_manager_secret_version",
        &[("secret", Value::from("db-password")), ("version", Value::from("7"))],
    )
    .await;
    let e = e.expect_err("no version 7");
    assert!(e.not_found);
    assert_eq!(e.message, "projects/netra-staging/secrets/db-password/versions/7 not found");
    assert!(!e.message.contains("s3cret"));
}

/// A data source, its arguments, and the name its "not found" gives.
type Case<'a> = (&'a str, &'a [(&'a str, Value)], &'a str);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_object_is_not_found_with_its_name() {
    let emu = Emulator::start(EmulatorConfig::for_tests()).await.expect("start the emulator");
    let cases: [Case; 6] = [
        ("google_sql_database_instance", &[("name", Value::from("nope"))], "projects/netra-staging/instances/nope"),
        (
            "google_vpc_access_connector",
            &[("name", Value::from("nope")), ("region", Value::from("europe-west1"))],
            "projects/netra-staging/locations/europe-west1/connectors/nope",
        ),
        (
            "google_cloud_run_v2_service",
            &[("name", Value::from("nope")), ("location", Value::from("us-central1"))],
            "projects/netra-staging/locations/us-central1/services/nope",
        ),
        (
            "google_bigquery_dataset",
            &[("dataset_id", Value::from("nope")), ("project", Value::from("other-project"))],
            "projects/other-project/datasets/nope",
        ),
        (
            "google_compute_global_address",
            &[("name", Value::from("nope"))],
            "projects/netra-staging/global/addresses/nope",
        ),
        (
            "google_secret_manager_secret_version",
            &[("secret", Value::from("nope"))],
            "projects/netra-staging/secrets/nope/versions/latest",
        ),
    ];
    for (data_source, args, id) in cases {
        let (out, _) = read(&emu, data_source, args).await;
        let e = out.expect_err(data_source);
        assert!(e.not_found, "{data_source}: {e:?}");
        assert_eq!(e.message, format!("{id} not found"), "{data_source}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_channel_filter_must_match_exactly_one() {
    let (emu, s) = applied().await;
    let ds = "google_monitoring_notification_channel";

    let (e, _) = read(&emu, ds, &[("display_name", Value::from("Nobody"))]).await;
    let e = e.expect_err("no match");
    assert!(e.not_found);
    assert_eq!(e.message, r#"No NotificationChannel found using filter: display_name="Nobody""#);

    let (e, reqs) = read(&emu, ds, &[("labels", Value::map([("email_address", Value::from("x@y.z"))]))]).await;
    assert_eq!(
        e.expect_err("no display_name or type").message,
        "At least one of display_name or type must be provided"
    );
    assert!(reqs.is_empty(), "refused before any call: {:?}", the_reads(&reqs));

    s.write(
        "second.tf",
        r#"
resource "google_monitoring_notification_channel" "backup" {
  display_name = "Staging backup"
  type         = "email"
  labels       = { email_address = "backup@netrasystems.ai" }
}
"#,
    );
    apply(&common(s.path(), registry(&emu))).await;
    let (e, _) = read(&emu, ds, &[("type", Value::from("email"))]).await;
    let e = e.expect_err("two email channels");
    assert!(!e.not_found);
    assert_eq!(e.message, r#"Found more than one 1 NotificationChannel matching specified filter: type="email""#);
    let (v, _) =
        read(&emu, ds, &[("type", Value::from("email")), ("display_name", Value::from("Staging backup"))]).await;
    let labels = v.expect("one match").get("labels").cloned();
    assert_eq!(labels.and_then(|l| l.get("email_address").cloned()), Some(Value::from("backup@netrasystems.ai")));
}

/// An emulator seeded with the staging network and its subnetwork.
async fn with_staging_network() -> (EmulatorHandle, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scenario.json");
    let scenario = serde_json::json!({"compute": {
        "networks": [{"project": PROJECT, "name": "staging-vpc", "description": "staging",
                      "autoCreateSubnetworks": false}],
        "subnetworks": [{"project": PROJECT, "region": "us-central1", "name": "staging-subnet",
                         "network": "staging-vpc", "ipCidrRange": "10.0.0.0/20", "privateIpGoogleAccess": true,
                         "secondaryIpRanges": [{"rangeName": "pods", "ipCidrRange": "10.8.0.0/16"}]}]
    }});
    std::fs::write(&path, scenario.to_string()).unwrap();
    let mut cfg = EmulatorConfig::for_tests();
    cfg.scenario = Some(path);
    (Emulator::start(cfg).await.expect("start the emulator"), dir)
}

const SUBNET_LINK: &str =
    "https://www.googleapis.com/compute/v1/projects/netra-staging/regions/us-central1/subnetworks/staging-subnet";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_staging_network_and_its_subnetwork() {
    let (emu, _dir) = with_staging_network().await;

    let (v, reqs) = read(&emu, "google_compute_network", &[("name", Value::from("staging-vpc"))]).await;
    let v = v.expect("the network");
    assert_eq!(text(&v, "id"), "projects/netra-staging/global/networks/staging-vpc");
    assert_eq!(text(&v, "description"), "staging");
    assert_eq!(v.get("subnetworks_self_links"), Some(&Value::List(vec![Value::from(SUBNET_LINK)])));
    let id = text(&v, "network_id");
    assert!(!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()), "{id}");
    assert_eq!(text(&v, "numeric_id"), id);
    assert_eq!(v.get("gateway_ipv4"), Some(&Value::Null), "custom-mode networks have no gateway");
    assert_eq!(reqs.len(), 1, "{:?}", the_reads(&reqs));

    let (v, reqs) = read(&emu, "google_compute_subnetwork", &[("name", Value::from("staging-subnet"))]).await;
    let v = v.expect("the subnetwork in the provider's region");
    assert_eq!(text(&v, "region"), "us-central1");
    assert_eq!(text(&v, "ip_cidr_range"), "10.0.0.0/20");
    assert_eq!(text(&v, "gateway_address"), "10.0.0.1");
    assert_eq!(text(&v, "self_link"), SUBNET_LINK);
    assert!(text(&v, "network").ends_with("/projects/netra-staging/global/networks/staging-vpc"));
    assert_eq!(v.get("private_ip_google_access"), Some(&Value::Bool(true)));
    let pods = Value::map([("range_name", Value::from("pods")), ("ip_cidr_range", Value::from("10.8.0.0/16"))]);
    assert_eq!(v.get("secondary_ip_range"), Some(&Value::List(vec![pods])));
    assert_eq!(reqs.len(), 1, "{:?}", the_reads(&reqs));

    // A self link wins over name and region.
    let (by_link, _) = read(
        &emu,
        "google_compute_subnetwork",
        &[("self_link", Value::from(SUBNET_LINK)), ("region", Value::from("europe-west1"))],
    )
    .await;
    let by_link = by_link.expect("by self link");
    assert_eq!(text(&by_link, "name"), "staging-subnet");
    assert_eq!(text(&by_link, "region"), "us-central1");

    let (e, _) = read(&emu, "google_compute_network", &[("name", Value::from("nope"))]).await;
    let e = e.expect_err("no such network");
    assert!(e.not_found);
    assert_eq!(e.message, "projects/netra-staging/global/networks/nope not found");
    let (e, _) = read(
        &emu,
        "google_compute_subnetwork",
        &[("name", Value::from("nope")), ("region", Value::from("asia-east1"))],
    )
    .await;
    let e = e.expect_err("no such subnetwork");
    assert!(e.not_found);
    assert_eq!(e.message, "projects/netra-staging/regions/asia-east1/subnetworks/nope not found");
    let (e, reqs) = read(&emu, "google_compute_subnetwork", &[]).await;
    assert_eq!(
        e.expect_err("nothing names it").message,
        "google_compute_subnetwork: one of `name` or `self_link` must be set"
    );
    assert!(reqs.is_empty());
}

/// A second stack that manages nothing of the first: it reads what the first made (and the
/// scenario's network) through every Google data source, and one data source waits for a
/// resource of its own.
const READER: &str = r#"
provider "google" {
  project = "netra-staging"
  region  = "us-central1"
}

data "google_project" "this" {}
data "google_client_config" "me" {}
data "google_sql_database_instance" "db" {
  name = "netra-staging-db"
}
data "google_vpc_access_connector" "staging" {
  name = "staging-connector"
}
data "google_cloud_run_v2_service" "api" {
  name     = "api-staging"
  location = "us-central1"
}
data "google_bigquery_dataset" "monitoring" {
  dataset_id = "infrastructure_monitoring"
}
data "google_compute_global_address" "lb" {
  name = "staging-lb-ip"
}
data "google_monitoring_notification_channel" "oncall" {
  display_name = "Staging on-call"
}
data "google_compute_network" "vpc" {
  name = "staging-vpc"
}
data "google_compute_subnetwork" "subnet" {
  name = "staging-subnet"
}
data "google_secret_manager_secret_version" "db" {
  secret = "db-password"
}

resource "google_compute_global_address" "reader" {
  name = "reader-ip"
}

# Waits for the address this stack creates: read at apply.
data "google_compute_global_address" "late" {
  name       = "reader-ip"
  depends_on = [google_compute_global_address.reader]
}

output "project_number" { value = data.google_project.this.number }
output "project_name" { value = data.google_project.this.name }
output "caller_project" { value = data.google_client_config.me.project }
output "db_version" { value = data.google_sql_database_instance.db.database_version }
output "connector_range" { value = data.google_vpc_access_connector.staging.ip_cidr_range }
output "api_uri" { value = data.google_cloud_run_v2_service.api.uri }
output "dataset_name" { value = data.google_bigquery_dataset.monitoring.friendly_name }
output "lb_status" { value = data.google_compute_global_address.lb.status }
output "oncall_type" { value = data.google_monitoring_notification_channel.oncall.type }
output "vpc_subnets" { value = data.google_compute_network.vpc.subnetworks_self_links }
output "subnet_range" { value = data.google_compute_subnetwork.subnet.ip_cidr_range }
output "payload_length" {
  value     = length(data.google_secret_manager_secret_version.db.secret_data)
  sensitive = true
}
output "late_status" { value = data.google_compute_global_address.late.status }
"#;

/// Which data source a request of the reader's plan is for (None: not a data read).
fn read_of(r: &RequestRecord) -> Option<&'static str> {
    let p = r.path.as_str();
    let kinds: [(&str, &'static str); 11] = [
        ("/v3/projects/netra-staging", "google_project"),
        ("/instances/netra-staging-db", "google_sql_database_instance"),
        ("/connectors/staging-connector", "google_vpc_access_connector"),
        ("/services/api-staging", "google_cloud_run_v2_service"),
        ("/datasets/infrastructure_monitoring", "google_bigquery_dataset"),
        ("/global/addresses/staging-lb-ip", "google_compute_global_address"),
        ("/notificationChannels", "google_monitoring_notification_channel"),
        ("/global/networks/staging-vpc", "google_compute_network"),
        ("/subnetworks/staging-subnet", "google_compute_subnetwork"),
        ("/secrets/db-password/versions/", "google_secret_manager_secret_version"),
        ("/global/addresses/reader-ip", "google_compute_global_address (late)"),
    ];
    // Monitoring's paths start with the project's (`/v3/projects/netra-staging/…`).
    let matches = |part: &str| if part.starts_with("/v3/projects/") { p == part } else { p.contains(part) };
    (r.method == "GET").then(|| kinds.iter().find(|(part, _)| matches(part)).map(|(_, k)| *k))?
}

fn count_reads(requests: &[RequestRecord]) -> std::collections::BTreeMap<&'static str, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for r in requests {
        *counts.entry(read_of(r).unwrap_or("(other)")).or_insert(0) += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stack_reads_each_google_data_source_once_per_plan_through_hcl() {
    let (emu, _dir) = with_staging_network().await;
    let writer = TestStack::new(&[("main.tf", STACK)]);
    apply(&common(writer.path(), registry(&emu))).await;
    let reader = TestStack::new(&[("main.tf", READER)]);
    let c = common(reader.path(), registry(&emu));

    emu.clear_requests();
    let p = plan(&c).await;
    let counts = count_reads(&emu.requests());
    let once = [
        "google_project",
        "google_sql_database_instance",
        "google_vpc_access_connector",
        "google_cloud_run_v2_service",
        "google_bigquery_dataset",
        "google_compute_global_address",
        "google_monitoring_notification_channel",
        "google_compute_network",
        "google_compute_subnetwork",
    ];
    for kind in once {
        assert_eq!(counts.get(kind), Some(&1), "{kind}: one read per plan: {counts:?}");
    }
    assert_eq!(
        counts.get("google_secret_manager_secret_version"),
        Some(&2),
        "the version's GET and its access: {counts:?}"
    );
    assert_eq!(counts.get("google_compute_global_address (late)"), None, "deferred: {counts:?}");
    assert_eq!(counts.get("(other)"), None, "nothing else is read at plan time: {counts:?}");
    assert_eq!(
        actions(&p),
        vec![
            ("google_compute_global_address.reader".to_string(), "create"),
            ("data.google_compute_global_address.late".to_string(), "read"),
        ]
    );

    emu.clear_requests();
    let r = apply(&c).await;
    let counts = count_reads(&emu.requests());
    assert!(counts.contains_key("google_compute_global_address (late)"), "read at apply: {counts:?}");
    let out = r.outcome.expect("applied").outputs;
    let text = |name: &str| out[name].0.peel().as_str().map(str::to_string).unwrap_or_else(|| panic!("{name}"));
    assert_eq!(text("project_number"), cairn::emulator::projects::derive_number(PROJECT));
    assert_eq!(text("project_name"), PROJECT);
    assert_eq!(text("caller_project"), PROJECT);
    assert_eq!(text("db_version"), "POSTGRES_14");
    assert_eq!(text("connector_range"), "10.1.0.0/28");
    assert!(text("api_uri").starts_with("https://"));
    assert_eq!(text("dataset_name"), "Infrastructure monitoring");
    assert_eq!(text("lb_status"), "RESERVED");
    assert_eq!(text("oncall_type"), "email");
    assert_eq!(out["vpc_subnets"].0, Value::List(vec![Value::from(SUBNET_LINK)]));
    assert_eq!(text("subnet_range"), "10.0.0.0/20");
    assert_eq!(text("late_status"), "RESERVED", "the deferred read, resolved at apply");
    assert!(out["payload_length"].0.is_sensitive());
    let mut bytes = Vec::new();
    collect_bytes(reader.path(), &mut bytes);
    assert!(!contains(&bytes, "s3cret-payload"), "the payload never reaches the reader's state");

    // The next plan reads every data source again, once each (the late one too, now known),
    // and has nothing to do.
    emu.clear_requests();
    let p = plan(&c).await;
    let counts = count_reads(&emu.requests());
    for kind in once.iter().chain(&["google_compute_global_address (late)"]) {
        assert_eq!(counts.get(kind), Some(&1), "{kind}: {counts:?}");
    }
    assert!(actions(&p).is_empty(), "{:?}", actions(&p));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_project_data_source_reads_resource_manager() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scenario.json");
    let scenario = serde_json::json!({
        "projects": [{"id": PROJECT, "number": "123456789012"}],
        "cloudresourcemanager": {"projects": [{"id": PROJECT, "displayName": "Netra staging",
                                               "parent": "folders/4242", "labels": {"env": "staging"}}]}
    });
    std::fs::write(&path, scenario.to_string()).unwrap();
    let mut cfg = EmulatorConfig::for_tests();
    cfg.scenario = Some(path);
    let emu = Emulator::start(cfg).await.expect("start the emulator");

    let (v, reqs) = read(&emu, "google_project", &[]).await;
    let v = v.expect("the provider's project");
    assert_eq!(text(&v, "project_id"), PROJECT);
    assert_eq!(text(&v, "id"), "projects/netra-staging");
    assert_eq!(text(&v, "number"), "123456789012");
    assert_eq!(text(&v, "name"), "Netra staging");
    assert_eq!(text(&v, "folder_id"), "4242");
    assert_eq!(v.get("org_id"), Some(&Value::Null));
    let labels = Value::map([("env", Value::from("staging"))]);
    assert_eq!(v.get("labels"), Some(&labels));
    assert_eq!(v.get("effective_labels"), Some(&labels));
    assert_eq!(the_reads(&reqs), vec!["GET /v3/projects/netra-staging".to_string()]);

    let (v, _) = read(&emu, "google_project", &[("project_id", Value::from("other-project"))]).await;
    assert_eq!(text(&v.expect("any project the emulator owns"), "name"), "other-project");

    let (e, _) = read(&emu, "google_project", &[("project_id", Value::from("Not_A_Project"))]).await;
    let e = e.expect_err("no such project");
    assert!(e.message.contains("(or it may not exist)"), "{}", e.message);
    assert_eq!(e.method.as_deref(), Some("cloudresourcemanager.projects.get"));
}
