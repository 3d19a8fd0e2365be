//! Issue 5's load balancer and log sinks end to end (roadmap 3.4, 3.5 and 5.2): the managed
//! certificate, health checks, backend services, URL map and HTTPS proxy, and the two log
//! sinks — created against the emulator, a no-op plan after, drift made through the compute
//! SDK, a certificate swap with create_before_destroy, list-based refresh, and the roadmap's
//! own health check timings refused by `cairn validate`. Also: every plan-time rule of these
//! types as a malformed stack, and the Terraform documentation's examples.
//!
//! Emulator assumptions: the emulator serves compute (global healthChecks, backendServices,
//! sslCertificates, urlMaps, targetHttpsProxies, globalOperations) and logging sinks for any
//! project without a scenario file; a compute operation may finish asynchronously.

use std::path::Path;

use crate::support::*;
use cairn::emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use cairn::ops;
use cairn::plan::{Action, PlanMode};
use cairn::providers::google::GoogleOptions;
use cairn::providers::Registry;

const PROJECT: &str = "netra-staging";

/// The roadmap's load balancer and monitoring sinks. Timings: the roadmap asks for a 60 s
/// timeout with a 30 s interval, which the API refuses; the stack uses the valid reading
/// (30 s timeout every 60 s) that still tolerates the 600 s startup with unhealthy_threshold 5.
const STACK: &str = r#"
provider "google" {
  project = "netra-staging"
}

variable "cert_name" {
  type    = string
  default = "staging-netrasystems-ai-cert"
}

variable "domains" {
  type    = list(string)
  default = ["staging.netrasystems.ai", "api-staging.netrasystems.ai"]
}

resource "google_compute_managed_ssl_certificate" "staging" {
  name = var.cert_name
  managed {
    domains = var.domains
  }
  lifecycle {
    create_before_destroy = true
  }
}

resource "google_compute_health_check" "backend" {
  name                = "staging-backend-health-check"
  timeout_sec         = 30
  check_interval_sec  = 60
  unhealthy_threshold = 5
  healthy_threshold   = 2
  http_health_check {
    request_path = "/health"
  }
}

resource "google_compute_health_check" "auth" {
  name                = "staging-auth-health-check"
  timeout_sec         = 30
  check_interval_sec  = 60
  unhealthy_threshold = 5
  healthy_threshold   = 2
  http_health_check {
    request_path = "/auth/health"
  }
}

resource "google_compute_backend_service" "backend" {
  name                  = "staging-backend-service"
  protocol              = "HTTP"
  timeout_sec           = 600
  load_balancing_scheme = "EXTERNAL"
  health_checks         = [google_compute_health_check.backend.id]
}

resource "google_compute_backend_service" "auth" {
  name                  = "staging-auth-service"
  protocol              = "HTTP"
  timeout_sec           = 600
  load_balancing_scheme = "EXTERNAL"
  health_checks         = [google_compute_health_check.auth.name]
}

resource "google_compute_url_map" "staging" {
  name            = "staging-url-map"
  default_service = google_compute_backend_service.backend.id

  host_rule {
    hosts        = ["api-staging.netrasystems.ai"]
    path_matcher = "api"
  }

  host_rule {
    hosts        = ["staging.netrasystems.ai"]
    path_matcher = "web"
  }

  path_matcher {
    name            = "api"
    default_service = google_compute_backend_service.backend.self_link
    path_rule {
      paths   = ["/auth/*"]
      service = google_compute_backend_service.auth.id
    }
  }

  path_matcher {
    name            = "web"
    default_service = google_compute_backend_service.backend.name
    path_rule {
      paths   = ["/auth/*"]
      service = google_compute_backend_service.auth.name
    }
  }
}

resource "google_compute_target_https_proxy" "staging" {
  name             = "staging-https-proxy"
  url_map          = google_compute_url_map.staging.id
  ssl_certificates = [google_compute_managed_ssl_certificate.staging.id]
}

resource "google_logging_project_sink" "vpc_connector" {
  name        = "vpc-connector-monitoring"
  destination = "bigquery.googleapis.com/projects/netra-staging/datasets/infrastructure_monitoring"
  filter      = "resource.type=vpc_access_connector"
  bigquery_options {
    use_partitioned_tables = true
  }
}

resource "google_logging_project_sink" "cloud_sql" {
  name        = "cloud-sql-monitoring"
  destination = "bigquery.googleapis.com/projects/netra-staging/datasets/infrastructure_monitoring"
  filter      = "resource.type=cloud_sql_database"
}

output "certificate_id" {
  value = google_compute_managed_ssl_certificate.staging.id
}
"#;

const RESOURCES: usize = 9;

async fn emulator() -> EmulatorHandle {
    Emulator::start(EmulatorConfig::for_tests()).await.expect("start the emulator")
}

fn stack_common(s: &TestStack, emu: &EmulatorHandle, vars: &[&str]) -> ops::Common {
    with_vars(
        common(s.path(), Registry::standard(GoogleOptions { emulator: Some(emu.endpoint()), ..Default::default() })),
        vars,
    )
}

fn offline(dir: &Path) -> ops::Common {
    common(dir, Registry::standard(GoogleOptions { emulator: None, ..Default::default() }))
}

async fn backend_services(emu: &EmulatorHandle) -> google_cloud_compute_v1::client::BackendServices {
    google_cloud_compute_v1::client::BackendServices::builder()
        .with_endpoint(emu.endpoint())
        .with_credentials(google_cloud_auth::credentials::anonymous::Builder::new().build())
        .with_retry_policy(google_cloud_gax::retry_policy::NeverRetry)
        .build()
        .await
        .expect("compute SDK client")
}

async fn ssl_certificates(emu: &EmulatorHandle) -> google_cloud_compute_v1::client::SslCertificates {
    google_cloud_compute_v1::client::SslCertificates::builder()
        .with_endpoint(emu.endpoint())
        .with_credentials(google_cloud_auth::credentials::anonymous::Builder::new().build())
        .with_retry_policy(google_cloud_gax::retry_policy::NeverRetry)
        .build()
        .await
        .expect("compute SDK client")
}

async fn target_https_proxies(emu: &EmulatorHandle) -> google_cloud_compute_v1::client::TargetHttpsProxies {
    google_cloud_compute_v1::client::TargetHttpsProxies::builder()
        .with_endpoint(emu.endpoint())
        .with_credentials(google_cloud_auth::credentials::anonymous::Builder::new().build())
        .with_retry_policy(google_cloud_gax::retry_policy::NeverRetry)
        .build()
        .await
        .expect("compute SDK client")
}

fn count(p: &cairn::plan::Plan, action: Action) -> usize {
    p.changes.iter().filter(|c| c.action == action).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_roadmaps_load_balancer_and_sinks_converge() {
    let emu = emulator().await;
    let s = TestStack::new(&[("main.tf", STACK)]);
    let c = stack_common(&s, &emu, &[]);

    let p = plan(&c).await;
    assert_eq!(count(&p, Action::Create), RESOURCES, "{:?}", actions(&p));
    apply(&c).await;

    let bs = backend_services(&emu).await;
    for name in ["staging-backend-service", "staging-auth-service"] {
        let live =
            bs.get().set_project(PROJECT).set_backend_service(name).send().await.expect("backend service exists");
        assert_eq!(live.timeout_sec, Some(600), "{name}");
        assert_eq!(live.health_checks.len(), 1, "{name}");
    }
    let certs = ssl_certificates(&emu).await;
    let cert = certs
        .get()
        .set_project(PROJECT)
        .set_ssl_certificate("staging-netrasystems-ai-cert")
        .send()
        .await
        .expect("certificate exists");
    let domains = cert.managed.as_ref().map(|m| m.domains.clone()).unwrap_or_default();
    assert_eq!(domains, vec!["staging.netrasystems.ai".to_string(), "api-staging.netrasystems.ai".to_string()]);

    // Names, ids and self links in the configuration all match the API's self links.
    let p = plan(&c).await;
    assert!(!p.has_changes(), "a no-op plan right after apply: {:?}", actions(&p));
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_timeout_changed_out_of_band_is_drift() {
    let emu = emulator().await;
    let s = TestStack::new(&[("main.tf", STACK)]);
    let c = stack_common(&s, &emu, &[]);
    apply(&c).await;

    // Someone runs `gcloud compute backend-services update staging-backend-service --timeout=30s`.
    let bs = backend_services(&emu).await;
    let live = bs.get().set_project(PROJECT).set_backend_service("staging-backend-service").send().await.unwrap();
    let mut changed = serde_json::to_value(&live).unwrap();
    changed["timeoutSec"] = 30.into();
    let body: google_cloud_compute_v1::model::BackendService = serde_json::from_value(changed).unwrap();
    bs.update()
        .set_project(PROJECT)
        .set_backend_service("staging-backend-service")
        .set_body(body)
        .send()
        .await
        .expect("out-of-band update");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    let drift = plan_mode(&c, PlanMode::RefreshOnly).await;
    let found: Vec<(String, Vec<String>)> = drift
        .drift
        .iter()
        .map(|d| (d.addr.to_string(), d.changed_paths.iter().map(|p| p.to_string()).collect()))
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "google_compute_backend_service.backend");
    assert!(found[0].1.contains(&"timeout_sec".to_string()), "{found:?}");

    // The normal plan puts it back in place; the fingerprint read at refresh makes the PUT go through.
    let p = plan(&c).await;
    assert_eq!(actions(&p), vec![("google_compute_backend_service.backend".to_string(), "update")]);
    apply(&c).await;
    let live = bs.get().set_project(PROJECT).set_backend_service("staging-backend-service").send().await.unwrap();
    assert_eq!(live.timeout_sec, Some(600));
    assert!(plan_mode(&c, PlanMode::RefreshOnly).await.drift.is_empty());
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_the_certificates_domains_swaps_it_without_an_in_use_error() {
    let emu = emulator().await;
    let s = TestStack::new(&[("main.tf", STACK)]);
    let c = stack_common(&s, &emu, &[]);
    apply(&c).await;

    let next = stack_common(
        &s,
        &emu,
        &[
            "cert_name=staging-netrasystems-ai-cert-v2",
            r#"domains=["staging.netrasystems.ai","api-staging.netrasystems.ai","auth-staging.netrasystems.ai"]"#,
        ],
    );
    let p = plan(&next).await;
    let mut acts = actions(&p);
    acts.sort();
    assert_eq!(
        acts,
        vec![
            ("google_compute_managed_ssl_certificate.staging".to_string(), "create,delete"),
            ("google_compute_target_https_proxy.staging".to_string(), "update"),
        ],
        "create_before_destroy: the new certificate first, then the proxy, then the old one goes"
    );
    apply(&next).await;

    let certs = ssl_certificates(&emu).await;
    let names: Vec<String> =
        certs.list().set_project(PROJECT).send().await.unwrap().items.into_iter().filter_map(|c| c.name).collect();
    assert_eq!(names, vec!["staging-netrasystems-ai-cert-v2".to_string()], "the old certificate is gone");
    let proxies = target_https_proxies(&emu).await;
    let proxy = proxies.get().set_project(PROJECT).set_target_https_proxy("staging-https-proxy").send().await.unwrap();
    assert_eq!(proxy.ssl_certificates.len(), 1);
    assert!(
        proxy.ssl_certificates[0].ends_with("/global/sslCertificates/staging-netrasystems-ai-cert-v2"),
        "{:?}",
        proxy.ssl_certificates
    );
    assert!(!plan(&next).await.has_changes());
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_costs_one_list_call_per_type() {
    let emu = emulator().await;
    let many = (0..6)
        .map(|i| {
            format!(
                r#"
resource "google_compute_health_check" "extra{i}" {{
  name = "extra-hc-{i}"
  tcp_health_check {{
    port = 5432
  }}
}}

resource "google_compute_backend_service" "extra{i}" {{
  name          = "extra-bs-{i}"
  health_checks = [google_compute_health_check.extra{i}.id]
}}

resource "google_compute_managed_ssl_certificate" "extra{i}" {{
  name = "extra-cert-{i}"
  managed {{
    domains = ["h{i}.netrasystems.ai"]
  }}
}}
"#
            )
        })
        .collect::<String>();
    let s = TestStack::new(&[("main.tf", STACK), ("extra.tf", &many)]);
    let c = stack_common(&s, &emu, &[]);
    apply(&c).await;

    emu.clear_requests();
    let p = plan(&c).await;
    assert!(!p.has_changes(), "{:?}", actions(&p));
    let reqs = emu.requests();
    assert!(
        reqs.iter().all(|r| r.method == "GET"),
        "a plan never mutates: {:?}",
        reqs.iter().map(|r| (&r.method, &r.path)).collect::<Vec<_>>()
    );
    let gets: Vec<&str> = reqs.iter().map(|r| r.path.as_str()).collect();
    for collection in ["healthChecks", "backendServices", "sslCertificates", "urlMaps", "targetHttpsProxies"] {
        let list = format!("/compute/v1/projects/{PROJECT}/global/{collection}");
        assert_eq!(gets.iter().filter(|p| **p == list).count(), 1, "{collection}: {gets:?}");
        let single = format!("{list}/");
        assert!(!gets.iter().any(|p| p.starts_with(&single)), "refresh must not GET each {collection}: {gets:?}");
    }
    assert_eq!(gets.iter().filter(|p| p.ends_with(&format!("/projects/{PROJECT}/sinks"))).count(), 1, "{gets:?}");
    assert_eq!(gets.len(), 6, "one list per type for {} resources: {gets:?}", RESOURCES + 18);
    emu.shutdown().await;
}

#[tokio::test]
async fn the_roadmaps_health_check_timings_fail_validate() {
    let roadmap = r#"
provider "google" {
  project = "netra-staging"
}

resource "google_compute_health_check" "backend" {
  name                = "staging-backend-health-check"
  timeout_sec         = 60
  check_interval_sec  = 30
  unhealthy_threshold = 5
  healthy_threshold   = 2
  http_health_check {
    request_path = "/health"
  }
}
"#;
    let s = TestStack::new(&[("main.tf", roadmap)]);
    let err = match ops::validate(&offline(s.path())).await {
        Ok(d) if d.has_errors() => panic!("validate returned diagnostics instead of an error: {d:?}"),
        Ok(_) => panic!("the roadmap's 60/30 timings must not validate"),
        Err(e) => describe(&e),
    };
    assert!(
        err.contains("timeout_sec (60) must be less than or equal to check_interval_sec (30): a health check cannot wait longer for an answer than the interval between checks"),
        "{err}"
    );
    assert!(err.contains("main.tf:8:"), "the diagnostic points at timeout_sec: {err}");
}

fn malformed_cases() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/malformed_google");
    let mut names: Vec<String> = std::fs::read_dir(&root)
        .expect("malformed_google fixtures")
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| ["hc_", "cert_", "lb_", "sink_"].iter().any(|p| n.starts_with(p)))
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_load_balancer_and_sink_rule_has_a_located_diagnostic() {
    let names = malformed_cases();
    assert!(names.len() >= 40, "{} cases", names.len());
    for name in names {
        // Relative paths keep snapshots free of machine-specific prefixes.
        let dir = format!("tests/fixtures/malformed_google/{name}");
        let err = match ops::validate(&offline(Path::new(&dir))).await {
            Err(e) => e,
            Ok(d) => panic!("{name}: expected an error, got {d:?}"),
        };
        let rendered = describe(&err);
        let located = regex::Regex::new(&format!(r"{dir}/main\.tf:\d+:\d+")).unwrap();
        assert!(located.is_match(&rendered), "{name}: diagnostic has no file:line:col:\n{rendered}");
        insta::assert_snapshot!(format!("malformed_google__{name}"), rendered);
    }
}

/// The documentation's examples, each as its own stack.
fn doc_examples() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/provider_docs");
    let mut out = Vec::new();
    for t in std::fs::read_dir(&root).expect("provider_docs fixtures").flatten() {
        for f in std::fs::read_dir(t.path()).expect("type dir").flatten() {
            if f.path().extension().is_some_and(|e| e == "tf") {
                let label = format!("{}/{}", t.file_name().to_string_lossy(), f.file_name().to_string_lossy());
                out.push((label, std::fs::read_to_string(f.path()).expect("read example")));
            }
        }
    }
    out.sort();
    out
}

const DOC_PROVIDER: &str = "provider \"google\" {\n  project = \"netra-staging\"\n}\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documentations_examples_validate() {
    let examples = doc_examples();
    assert!(examples.len() >= 15, "{}", examples.len());
    for (label, text) in examples {
        let s = TestStack::new(&[("main.tf", &text), ("provider.tf", DOC_PROVIDER)]);
        if let Err(e) = ops::validate(&offline(s.path())).await {
            panic!("{label}: {}", describe(&e));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documentations_examples_plan_against_the_emulator() {
    let emu = emulator().await;
    for (label, text) in doc_examples() {
        let s = TestStack::new(&[("main.tf", &text), ("provider.tf", DOC_PROVIDER)]);
        let c = stack_common(&s, &emu, &[]);
        let p = match ops::plan(ops::PlanArgs::new(c.clone())).await {
            Ok(r) => r.plan,
            Err(e) => panic!("{label}: {}", describe(&e)),
        };
        assert!(p.changes.iter().all(|ch| ch.action == Action::Create), "{label}: {:?}", actions(&p));
        assert!(!p.changes.is_empty(), "{label}");
    }
    emu.shutdown().await;
}

/// The HTTPS load balancer's global IP, with its name and labels as variables.
const ADDRESS_STACK: &str = r#"
provider "google" {
  project = "netra-staging"
}

variable "name" {
  type    = string
  default = "staging-lb-ip"
}

variable "env" {
  type    = string
  default = "staging"
}

resource "google_compute_global_address" "lb" {
  name   = var.name
  labels = { env = var.env }
}

output "lb_ip" {
  value = google_compute_global_address.lb.address
}
"#;

async fn global_addresses(emu: &EmulatorHandle) -> google_cloud_compute_v1::client::GlobalAddresses {
    google_cloud_compute_v1::client::GlobalAddresses::builder()
        .with_endpoint(emu.endpoint())
        .with_credentials(google_cloud_auth::credentials::anonymous::Builder::new().build())
        .with_retry_policy(google_cloud_gax::retry_policy::NeverRetry)
        .build()
        .await
        .expect("compute SDK client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_global_address_updates_labels_in_place_and_replaces_on_rename() {
    let emu = emulator().await;
    let s = TestStack::new(&[("main.tf", ADDRESS_STACK)]);
    let c = stack_common(&s, &emu, &[]);
    let addr = "google_compute_global_address.lb".to_string();

    let p = plan(&c).await;
    assert_eq!(actions(&p), vec![(addr.clone(), "create")]);
    apply(&c).await;
    let ga = global_addresses(&emu).await;
    let live = ga.get().set_project(PROJECT).set_address("staging-lb-ip").send().await.expect("address exists");
    assert_eq!(live.address.as_deref(), Some("203.0.113.1"));
    assert_eq!(live.labels.get("env").map(String::as_str), Some("staging"), "labels are set after the insert");
    assert!(!plan(&c).await.has_changes(), "a no-op plan right after apply");

    // A label set outside Cairn is not Cairn's to remove (labels are non-authoritative).
    let fingerprint = live.label_fingerprint.clone().expect("a label fingerprint");
    let mut labels = live.labels.clone();
    labels.insert("owner".into(), "netops".into());
    ga.set_labels()
        .set_project(PROJECT)
        .set_resource("staging-lb-ip")
        .set_body(
            google_cloud_compute_v1::model::GlobalSetLabelsRequest::new()
                .set_labels(labels)
                .set_label_fingerprint(fingerprint),
        )
        .send()
        .await
        .expect("out-of-band setLabels");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(!plan(&c).await.has_changes(), "a foreign label is no diff");

    // A label change is an in-place setLabels that keeps the foreign label and the address.
    let relabelled = stack_common(&s, &emu, &["env=prod"]);
    let p = plan(&relabelled).await;
    assert_eq!(actions(&p), vec![(addr.clone(), "update")]);
    apply(&relabelled).await;
    let live = ga.get().set_project(PROJECT).set_address("staging-lb-ip").send().await.expect("still there");
    assert_eq!(live.address.as_deref(), Some("203.0.113.1"), "updated in place, not replaced");
    assert_eq!(live.labels.get("env").map(String::as_str), Some("prod"));
    assert_eq!(live.labels.get("owner").map(String::as_str), Some("netops"));
    assert!(!plan(&relabelled).await.has_changes());

    // A new name replaces.
    let renamed = stack_common(&s, &emu, &["env=prod", "name=staging-lb-ip-v2"]);
    let p = plan(&renamed).await;
    assert_eq!(actions(&p), vec![(addr.clone(), "delete,create")]);
    apply(&renamed).await;
    let names: Vec<String> =
        ga.list().set_project(PROJECT).send().await.unwrap().items.into_iter().filter_map(|a| a.name).collect();
    assert_eq!(names, vec!["staging-lb-ip-v2".to_string()]);
    assert!(!plan(&renamed).await.has_changes());

    destroy(&renamed).await;
    assert!(ga.list().set_project(PROJECT).send().await.unwrap().items.is_empty(), "destroy removes the address");
    emu.shutdown().await;
}
