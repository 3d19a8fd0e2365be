//! Conformance of the emulator's Compute API: the official google-cloud-compute-v1 clients
//! (HealthChecks, BackendServices, SslCertificates, UrlMaps, TargetHttpsProxies,
//! GlobalOperations) round-trip every served method through it, including the legacy error
//! envelope's 412 and 400 cases and operations that fail (the compute poller returns Ok for
//! those: the error is in the operation), plus raw HTTP checks for what the SDK hides.

use std::time::{Duration, Instant};

use crate::support::emulator_http;
use cairn::emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use google_cloud_auth::credentials::anonymous;
use google_cloud_compute_v1::client::{
    BackendServices, GlobalOperations, HealthChecks, SslCertificates, TargetHttpsProxies, UrlMaps,
};
use google_cloud_compute_v1::model::{
    health_check, operation, ssl_certificate_managed_ssl_certificate as managed, BackendService, HTTPHealthCheck,
    HealthCheck, Operation, SslCertificate, SslCertificateManagedSslCertificate, TCPHealthCheck,
    TargetHttpsProxiesSetSslCertificatesRequest, TargetHttpsProxy, UrlMap, UrlMapReference,
};
use google_cloud_gax::error::rpc::StatusDetails;
use google_cloud_gax::exponential_backoff::ExponentialBackoffBuilder;
use google_cloud_gax::retry_policy::NeverRetry;
use google_cloud_lro::Poller;
use serde_json::{json, Value};

const P: &str = "acme";
const LINK: &str = "https://www.googleapis.com/compute/v1/projects/acme/global";

async fn start_with(duration: Duration, scenario: Option<Value>) -> (EmulatorHandle, Option<tempfile::TempDir>) {
    let mut cfg = EmulatorConfig::for_tests();
    cfg.operation_duration = duration;
    let dir = scenario.map(|s| {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("scenario.json");
        std::fs::write(&path, s.to_string()).expect("write scenario");
        cfg.scenario = Some(path);
        dir
    });
    (Emulator::start(cfg).await.expect("emulator starts"), dir)
}

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

struct Clients {
    hc: HealthChecks,
    bs: BackendServices,
    sc: SslCertificates,
    um: UrlMaps,
    tp: TargetHttpsProxies,
    ops: GlobalOperations,
}

async fn clients(emu: &EmulatorHandle) -> Clients {
    Clients {
        hc: client!(HealthChecks, emu),
        bs: client!(BackendServices, emu),
        sc: client!(SslCertificates, emu),
        um: client!(UrlMaps, emu),
        tp: client!(TargetHttpsProxies, emu),
        ops: client!(GlobalOperations, emu),
    }
}

/// A finished, successful operation.
fn succeeded(result: Result<Operation, google_cloud_gax::error::Error>) -> Operation {
    let op = result.expect("the operation call succeeds");
    assert_eq!(op.status, Some(operation::Status::Done), "{op:?}");
    op.to_result().expect("the operation did not fail")
}

/// The legacy envelope as the SDK surfaces it: (HTTP status, errors[0].reason, message). The
/// SDK turns `errors[0]` into an ErrorInfo detail; with no `status` string the code is UNKNOWN.
fn failure<T: std::fmt::Debug>(result: Result<T, google_cloud_gax::error::Error>) -> (u16, String, String) {
    let err = result.expect_err("the call should fail");
    let http = err.http_status_code().unwrap_or_else(|| panic!("an HTTP error, got {err:?}"));
    let status = err.status().unwrap_or_else(|| panic!("a parsed error body, got {err:?}"));
    let reason = status
        .details
        .iter()
        .find_map(|d| match d {
            StatusDetails::ErrorInfo(info) => Some(info.reason.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("an errors[0].reason, got {status:?}"));
    (http, reason, status.message.clone())
}

fn tcp_check(name: &str) -> HealthCheck {
    HealthCheck::new()
        .set_name(name)
        .set_type(health_check::Type::Tcp)
        .set_tcp_health_check(TCPHealthCheck::new().set_port(443))
}

fn managed_cert(name: &str, domain: &str) -> SslCertificate {
    SslCertificate::new().set_name(name).set_managed(SslCertificateManagedSslCertificate::new().set_domains([domain]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_method_round_trips_through_the_sdk() {
    let (emu, _dir) = start_with(Duration::from_millis(50), None).await;
    let c = clients(&emu).await;

    // Health checks: insert, get, list, patch, update.
    let op = succeeded(c.hc.insert().set_project(P).set_body(tcp_check("hc")).poller().until_done().await);
    assert_eq!(op.operation_type.as_deref(), Some("insert"));
    assert_eq!(op.target_link.as_deref(), Some(format!("{LINK}/healthChecks/hc").as_str()));
    assert_eq!(op.progress, Some(100));
    assert!(op.end_time.is_some() && op.insert_time.is_some() && op.id.is_some());
    let hc = c.hc.get().set_project(P).set_health_check("hc").send().await.expect("get hc");
    assert_eq!(op.target_id, hc.id);
    assert_eq!(hc.r#type, Some(health_check::Type::Tcp));
    assert_eq!((hc.check_interval_sec, hc.timeout_sec), (Some(5), Some(5)));
    assert_eq!((hc.healthy_threshold, hc.unhealthy_threshold), (Some(2), Some(2)));
    assert_eq!(hc.self_link.as_deref(), Some(format!("{LINK}/healthChecks/hc").as_str()));
    assert!(hc.creation_timestamp.is_some());
    succeeded(c.hc.insert().set_project(P).set_body(tcp_check("hc-2")).poller().until_done().await);
    let listed = c.hc.list().set_project(P).send().await.expect("list hc");
    let names: Vec<_> = listed.items.iter().filter_map(|h| h.name.clone()).collect();
    assert_eq!(names, ["hc", "hc-2"]);
    let page = c.hc.list().set_project(P).set_max_results(1u32).send().await.expect("page 1");
    assert_eq!(page.items.len(), 1);
    let page2 =
        c.hc.list()
            .set_project(P)
            .set_max_results(1u32)
            .set_page_token(page.next_page_token.clone().expect("a token"))
            .send()
            .await
            .expect("page 2");
    assert_eq!(page2.items[0].name.as_deref(), Some("hc-2"));
    let filtered = c.hc.list().set_project(P).set_filter("name = \"hc-2\"").send().await.expect("filter");
    assert_eq!(filtered.items.len(), 1);

    let op = succeeded(
        c.hc.patch()
            .set_project(P)
            .set_health_check("hc")
            .set_body(HealthCheck::new().set_description("patched"))
            .poller()
            .until_done()
            .await,
    );
    assert_eq!(op.operation_type.as_deref(), Some("patch"));
    let op = succeeded(
        c.hc.update()
            .set_project(P)
            .set_health_check("hc")
            .set_body(
                HealthCheck::new()
                    .set_name("hc")
                    .set_http_health_check(HTTPHealthCheck::new().set_port(8080))
                    .set_check_interval_sec(10)
                    .set_timeout_sec(10),
            )
            .poller()
            .until_done()
            .await,
    );
    assert_eq!(op.operation_type.as_deref(), Some("update"));
    let hc = c.hc.get().set_project(P).set_health_check("hc").send().await.expect("get hc");
    assert_eq!(hc.r#type, Some(health_check::Type::Http), "PUT replaces the resource");
    assert!(hc.tcp_health_check.is_none() && hc.description.is_none());
    let http = hc.http_health_check.expect("http block");
    assert_eq!((http.port, http.request_path.as_deref()), (Some(8080), Some("/")));

    // Backend services, with fingerprints.
    succeeded(
        c.bs.insert()
            .set_project(P)
            .set_body(BackendService::new().set_name("web").set_health_checks([format!("{LINK}/healthChecks/hc")]))
            .poller()
            .until_done()
            .await,
    );
    let bs = c.bs.get().set_project(P).set_backend_service("web").send().await.expect("get bs");
    assert_eq!(bs.timeout_sec, Some(30));
    assert_eq!(bs.port_name.as_deref(), Some("http"));
    let stale = bs.fingerprint.clone().expect("a fingerprint");
    succeeded(
        c.bs.patch()
            .set_project(P)
            .set_backend_service("web")
            .set_body(BackendService::new().set_fingerprint(stale.clone()).set_timeout_sec(60))
            .poller()
            .until_done()
            .await,
    );
    let (status, reason, _) = failure(
        c.bs.patch()
            .set_project(P)
            .set_backend_service("web")
            .set_body(BackendService::new().set_fingerprint(stale.clone()).set_timeout_sec(90))
            .send()
            .await,
    );
    assert_eq!((status, reason.as_str()), (412, "conditionNotMet"));
    let bs = c.bs.get().set_project(P).set_backend_service("web").send().await.expect("get bs");
    assert_eq!(bs.timeout_sec, Some(60));
    let (status, reason, _) = failure(
        c.bs.update()
            .set_project(P)
            .set_backend_service("web")
            .set_body(bs.clone().set_fingerprint(stale))
            .send()
            .await,
    );
    assert_eq!((status, reason.as_str()), (412, "conditionNotMet"));
    succeeded(
        c.bs.update()
            .set_project(P)
            .set_backend_service("web")
            .set_body(bs.clone().set_timeout_sec(15))
            .poller()
            .until_done()
            .await,
    );
    let listed = c.bs.list().set_project(P).send().await.expect("list bs");
    assert_eq!(listed.items.len(), 1);
    assert_eq!(listed.items[0].timeout_sec, Some(15));

    // Certificates: a managed one provisions; with no load balancer in front of it, its domain
    // is not visible (its activation: a_managed_certificate_activates_once_a_forwarding_rule_serves_it).
    succeeded(
        c.sc.insert().set_project(P).set_body(managed_cert("cert", "www.example.com")).poller().until_done().await,
    );
    let cert = c.sc.get().set_project(P).set_ssl_certificate("cert").send().await.expect("get cert");
    let m = cert.managed.clone().expect("managed");
    assert_eq!(m.status, Some(managed::Status::Provisioning));
    assert_eq!(m.domain_status.get("www.example.com"), Some(&managed::DomainStatus::Provisioning));
    tokio::time::sleep(Duration::from_millis(150)).await;
    let cert = c.sc.get().set_project(P).set_ssl_certificate("cert").send().await.expect("get cert");
    let m = cert.managed.clone().expect("managed");
    assert_eq!(m.status, Some(managed::Status::Provisioning), "nothing serves it");
    assert_eq!(m.domain_status.get("www.example.com"), Some(&managed::DomainStatus::FailedNotVisible));
    succeeded(
        c.sc.insert().set_project(P).set_body(managed_cert("cert-2", "api.example.com")).poller().until_done().await,
    );
    assert_eq!(c.sc.list().set_project(P).send().await.expect("list certs").items.len(), 2);

    // URL maps.
    succeeded(
        c.um.insert()
            .set_project(P)
            .set_body(UrlMap::new().set_name("web").set_default_service("global/backendServices/web"))
            .poller()
            .until_done()
            .await,
    );
    succeeded(
        c.um.insert()
            .set_project(P)
            .set_body(UrlMap::new().set_name("web-2").set_default_service(format!("{LINK}/backendServices/web")))
            .poller()
            .until_done()
            .await,
    );
    let um = c.um.get().set_project(P).set_url_map("web").send().await.expect("get um");
    assert_eq!(um.default_service.as_deref(), Some(format!("{LINK}/backendServices/web").as_str()));
    let stale = um.fingerprint.clone().expect("a fingerprint");
    succeeded(
        c.um.patch()
            .set_project(P)
            .set_url_map("web")
            .set_body(UrlMap::new().set_description("d").set_fingerprint(stale.clone()))
            .poller()
            .until_done()
            .await,
    );
    let (status, reason, _) = failure(
        c.um.update().set_project(P).set_url_map("web").set_body(um.clone().set_fingerprint(stale)).send().await,
    );
    assert_eq!((status, reason.as_str()), (412, "conditionNotMet"));
    let um = c.um.get().set_project(P).set_url_map("web").send().await.expect("get um");
    succeeded(c.um.update().set_project(P).set_url_map("web").set_body(um).poller().until_done().await);
    assert_eq!(c.um.list().set_project(P).send().await.expect("list um").items.len(), 2);

    // Target HTTPS proxies and the set* actions (no /global/ in their paths).
    succeeded(
        c.tp.insert()
            .set_project(P)
            .set_body(
                TargetHttpsProxy::new()
                    .set_name("web")
                    .set_url_map("global/urlMaps/web")
                    .set_ssl_certificates([format!("{LINK}/sslCertificates/cert")]),
            )
            .poller()
            .until_done()
            .await,
    );
    let op = succeeded(
        c.tp.set_url_map()
            .set_project(P)
            .set_target_https_proxy("web")
            .set_body(UrlMapReference::new().set_url_map(format!("{LINK}/urlMaps/web-2")))
            .poller()
            .until_done()
            .await,
    );
    assert_eq!(op.operation_type.as_deref(), Some("setUrlMap"));
    let op = succeeded(
        c.tp.set_ssl_certificates()
            .set_project(P)
            .set_target_https_proxy("web")
            .set_body(TargetHttpsProxiesSetSslCertificatesRequest::new().set_ssl_certificates([
                format!("{LINK}/sslCertificates/cert"),
                format!("{LINK}/sslCertificates/cert-2"),
            ]))
            .poller()
            .until_done()
            .await,
    );
    assert_eq!(op.operation_type.as_deref(), Some("setSslCertificates"));
    let tp = c.tp.get().set_project(P).set_target_https_proxy("web").send().await.expect("get tp");
    assert_eq!(tp.url_map.as_deref(), Some(format!("{LINK}/urlMaps/web-2").as_str()));
    assert_eq!(tp.ssl_certificates.len(), 2);
    let stale = tp.fingerprint.clone().expect("a fingerprint");
    succeeded(
        c.tp.patch()
            .set_project(P)
            .set_target_https_proxy("web")
            .set_body(TargetHttpsProxy::new().set_description("front"))
            .poller()
            .until_done()
            .await,
    );
    let (status, reason, _) = failure(
        c.tp.patch()
            .set_project(P)
            .set_target_https_proxy("web")
            .set_body(TargetHttpsProxy::new().set_fingerprint(stale))
            .send()
            .await,
    );
    assert_eq!((status, reason.as_str()), (412, "conditionNotMet"));
    let sixteen: Vec<String> = (0..16).map(|_| format!("{LINK}/sslCertificates/cert")).collect();
    let (status, reason, message) = failure(
        c.tp.set_ssl_certificates()
            .set_project(P)
            .set_target_https_proxy("web")
            .set_body(TargetHttpsProxiesSetSslCertificatesRequest::new().set_ssl_certificates(sixteen))
            .send()
            .await,
    );
    assert_eq!((status, reason.as_str()), (400, "invalid"));
    assert!(message.contains("at most 15"), "{message}");
    assert_eq!(c.tp.list().set_project(P).send().await.expect("list tp").items.len(), 1);

    // Deleting what is in use is refused, synchronously.
    for (result, noun, user) in [
        (
            c.hc.delete().set_project(P).set_health_check("hc").send().await,
            "health_check 'projects/acme/global/healthChecks/hc",
            "backendServices/web",
        ),
        (
            c.bs.delete().set_project(P).set_backend_service("web").send().await,
            "backend_service 'projects/acme/global/backendServices/web",
            "urlMaps/web",
        ),
        (
            c.um.delete().set_project(P).set_url_map("web-2").send().await,
            "url_map 'projects/acme/global/urlMaps/web-2",
            "targetHttpsProxies/web",
        ),
        (
            c.sc.delete().set_project(P).set_ssl_certificate("cert").send().await,
            "ssl_certificate 'projects/acme/global/sslCertificates/cert",
            "targetHttpsProxies/web",
        ),
    ] {
        let (status, reason, message) = failure(result);
        assert_eq!((status, reason.as_str()), (400, "resourceInUseByAnotherResource"), "{message}");
        let resource = noun.replace(' ', " resource ");
        assert!(
            message.starts_with(&format!("The {resource}' is already being used by 'projects/acme/global/{user}")),
            "{message}"
        );
    }

    // Global operations: get, list, wait, delete.
    let listed = c.ops.list().set_project(P).send().await.expect("list operations");
    assert!(listed.items.len() >= 15, "{}", listed.items.len());
    let name = listed.items[0].name.clone().expect("an operation name");
    let got = c.ops.get().set_project(P).set_operation(&name).send().await.expect("get operation");
    assert_eq!(got.status, Some(operation::Status::Done));
    let waited = c.ops.wait().set_project(P).set_operation(&name).send().await.expect("wait");
    assert_eq!(waited.name.as_deref(), Some(name.as_str()));
    c.ops.delete().set_project(P).set_operation(&name).send().await.expect("delete operation");
    let (status, reason, message) = failure(c.ops.get().set_project(P).set_operation(&name).send().await);
    assert_eq!((status, reason.as_str()), (404, "notFound"));
    assert_eq!(message, format!("The resource 'projects/acme/global/operations/{name}' was not found"));

    // Deleting in dependency order works; then the resources are gone.
    succeeded(c.tp.delete().set_project(P).set_target_https_proxy("web").poller().until_done().await);
    for um in ["web", "web-2"] {
        succeeded(c.um.delete().set_project(P).set_url_map(um).poller().until_done().await);
    }
    succeeded(c.bs.delete().set_project(P).set_backend_service("web").poller().until_done().await);
    for hc in ["hc", "hc-2"] {
        succeeded(c.hc.delete().set_project(P).set_health_check(hc).poller().until_done().await);
    }
    for sc in ["cert", "cert-2"] {
        succeeded(c.sc.delete().set_project(P).set_ssl_certificate(sc).poller().until_done().await);
    }
    let (status, reason, message) = failure(c.hc.get().set_project(P).set_health_check("hc").send().await);
    assert_eq!(
        (status, reason.as_str(), message.as_str()),
        (404, "notFound", "The resource 'projects/acme/global/healthChecks/hc' was not found")
    );
    assert!(c.hc.list().set_project(P).send().await.expect("list").items.is_empty());
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_errors_come_back_in_the_legacy_envelope() {
    let (emu, _dir) = start_with(Duration::from_millis(50), None).await;
    let c = clients(&emu).await;
    let (status, reason, message) = failure(c.hc.insert().set_project(P).set_body(tcp_check("Bad_Name")).send().await);
    assert_eq!((status, reason.as_str()), (400, "invalid"));
    assert!(message.starts_with("Invalid value for field 'resource.name': 'Bad_Name'."), "{message}");
    let (_, _, message) =
        failure(c.hc.insert().set_project(P).set_body(tcp_check("hc").set_timeout_sec(10)).send().await);
    assert_eq!(
        message,
        "Invalid value for field 'resource.timeoutSec': '10'. TimeoutSec should be less than checkIntervalSec."
    );
    let (status, _, _) =
        failure(c.hc.insert().set_project(P).set_body(HealthCheck::new().set_name("none")).send().await);
    assert_eq!(status, 400, "a health check needs exactly one protocol block");
    let both = tcp_check("both").set_http_health_check(HTTPHealthCheck::new());
    assert_eq!(failure(c.hc.insert().set_project(P).set_body(both).send().await).0, 400);
    succeeded(c.hc.insert().set_project(P).set_body(tcp_check("hc")).poller().until_done().await);
    let (status, reason, message) = failure(c.hc.insert().set_project(P).set_body(tcp_check("hc")).send().await);
    assert_eq!(
        (status, reason.as_str(), message.as_str()),
        (409, "alreadyExists", "The resource 'projects/acme/global/healthChecks/hc' already exists")
    );
    let (status, _, message) = failure(
        c.bs.insert()
            .set_project(P)
            .set_body(BackendService::new().set_name("bs").set_health_checks(["global/healthChecks/missing"]))
            .send()
            .await,
    );
    assert_eq!(
        (status, message.as_str()),
        (404, "The resource 'projects/acme/global/healthChecks/missing' was not found")
    );
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_go_pending_running_done_and_wait_blocks_until_done() {
    let (emu, _dir) = start_with(Duration::from_millis(600), None).await;
    let c = clients(&emu).await;
    let first = c.hc.insert().set_project(P).set_body(tcp_check("hc")).send().await.expect("insert");
    assert_eq!(first.status, Some(operation::Status::Pending));
    assert_eq!(first.progress, Some(0));
    let name = first.name.clone().expect("a name");
    let (status, ..) = failure(c.hc.get().set_project(P).set_health_check("hc").send().await);
    assert_eq!(status, 404, "the resource appears when the operation is DONE");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let running = c.ops.get().set_project(P).set_operation(&name).send().await.expect("get op");
    assert_eq!(running.status, Some(operation::Status::Running));
    assert!(running.start_time.is_some() && running.end_time.is_none());
    let (status, ..) = failure(c.hc.insert().set_project(P).set_body(tcp_check("hc")).send().await);
    assert_eq!(status, 409, "a pending insert already holds the name");
    let t = Instant::now();
    let done = c.ops.wait().set_project(P).set_operation(&name).send().await.expect("wait");
    assert_eq!(done.status, Some(operation::Status::Done));
    assert!(t.elapsed() >= Duration::from_millis(250), "wait blocked until the operation was due ({:?})", t.elapsed());
    c.hc.get().set_project(P).set_health_check("hc").send().await.expect("now it exists");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_operation_is_done_with_an_error_that_to_result_reports() {
    let message = "The health_check resource 'projects/acme/global/healthChecks/hc' is already being used by 'projects/acme/global/backendServices/elsewhere'";
    let (emu, _dir) = start_with(
        Duration::from_millis(50),
        Some(json!({
            "compute": {
                "healthChecks": [{"project": P, "name": "hc", "tcpHealthCheck": {"port": 80}}],
                "failOperations": [{"project": P, "operationType": "delete", "target": "healthChecks/hc",
                    "code": "RESOURCE_IN_USE_BY_ANOTHER_RESOURCE", "message": message, "times": 1}]
            }
        })),
    )
    .await;
    let c = clients(&emu).await;
    let op =
        c.hc.delete().set_project(P).set_health_check("hc").poller().until_done().await.expect("the poller returns Ok");
    assert_eq!(op.status, Some(operation::Status::Done));
    assert_eq!(op.http_error_status_code, Some(400));
    assert_eq!(op.http_error_message.as_deref(), Some("BAD REQUEST"));
    let errors = &op.error.as_ref().expect("an error").errors;
    assert_eq!(errors[0].code.as_deref(), Some("RESOURCE_IN_USE_BY_ANOTHER_RESOURCE"));
    assert_eq!(errors[0].message.as_deref(), Some(message));
    assert!(op.clone().to_result().is_err(), "to_result reports the failure");
    c.hc.get().set_project(P).set_health_check("hc").send().await.expect("a failed delete deletes nothing");
    succeeded(c.hc.delete().set_project(P).set_health_check("hc").poller().until_done().await);
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stuck_certificate_scenario_keeps_certificates_provisioning() {
    let (emu, _dir) = start_with(
        Duration::from_millis(50),
        Some(json!({
            "compute": {"sslCertificates": [
                {"project": P, "name": "broken", "managed": {"domains": ["a.example.com", "b.example.com"],
                    "domainStatus": {"b.example.com": "FAILED_NOT_VISIBLE"}}},
                {"project": P, "name": "stuck", "managed": {"domains": ["c.example.com"]}, "stuck": true},
                {"project": P, "name": "fine", "managed": {"domains": ["d.example.com"]}}
            ],
            "backendServices": [{"project": P, "name": "bs"}],
            "urlMaps": [{"project": P, "name": "um", "defaultService": "bs"}],
            "targetHttpsProxies": [{"project": P, "name": "px", "urlMap": "um", "sslCertificates": ["fine"]}],
            "forwardingRules": [{"project": P, "name": "fr", "target": "global/targetHttpsProxies/px"}]}
        })),
    )
    .await;
    let c = clients(&emu).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    let get = |name: &'static str| {
        let sc = c.sc.clone();
        async move {
            sc.get().set_project(P).set_ssl_certificate(name).send().await.expect("get cert").managed.expect("managed")
        }
    };
    let broken = get("broken").await;
    assert_eq!(broken.status, Some(managed::Status::Provisioning));
    assert_eq!(broken.domain_status.get("b.example.com"), Some(&managed::DomainStatus::FailedNotVisible));
    assert_eq!(broken.domain_status.get("a.example.com"), Some(&managed::DomainStatus::Provisioning));
    assert_eq!(get("stuck").await.status, Some(managed::Status::Provisioning));
    assert_eq!(get("fine").await.status, Some(managed::Status::Active));
    emu.shutdown().await;
}

async fn http(emu: &EmulatorHandle, method: &str, target: &str, body: Option<Value>) -> (u16, Value) {
    let (status, _, value) = emulator_http(emu, method, target, body).await;
    (status, value)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wire_format_uses_strings_for_ids_and_enums() {
    let (emu, _dir) = start_with(Duration::ZERO, None).await;
    let (status, op) = http(
        &emu,
        "POST",
        "/compute/v1/projects/acme/global/healthChecks?alt=json",
        Some(json!({"name": "hc", "httpHealthCheck": {}})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(op["kind"], "compute#operation");
    assert!(op["id"].is_string() && op["targetId"].is_string(), "{op}");
    assert_eq!(op["status"], "DONE");
    assert!(op["selfLink"]
        .as_str()
        .unwrap()
        .starts_with("https://www.googleapis.com/compute/v1/projects/acme/global/operations/operation-"));
    let (_, hc) = http(&emu, "GET", "/compute/v1/projects/acme/global/healthChecks/hc", None).await;
    assert_eq!(hc["type"], "HTTP");
    assert_eq!(hc["httpHealthCheck"]["proxyHeader"], "NONE");
    assert!(hc["id"].as_str().unwrap().parse::<u64>().is_ok());
    let (status, body) = http(
        &emu,
        "POST",
        "/compute/v1/projects/acme/global/targetHttpsProxies/x/setUrlMap",
        Some(json!({"urlMap": "u"})),
    )
    .await;
    assert_eq!(status, 404, "setUrlMap has no /global/ segment: {body}");
    let (status, body) = http(&emu, "GET", "/compute/v1/projects/acme/global/urlMaps/missing", None).await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({"error": {"code": 404, "message": "The resource 'projects/acme/global/urlMaps/missing' was not found",
        "errors": [{"domain": "global", "message": "The resource 'projects/acme/global/urlMaps/missing' was not found", "reason": "notFound"}]}})
    );
    let (status, body) =
        http(&emu, "PATCH", "/compute/v1/projects/acme/global/sslCertificates/x", Some(json!({}))).await;
    assert_eq!(status, 404, "certificates are immutable: {body}");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_addresses_round_trip_through_the_sdk() {
    use google_cloud_compute_v1::client::GlobalAddresses;
    use google_cloud_compute_v1::model::{address, Address, GlobalSetLabelsRequest};

    let (emu, _dir) = start_with(Duration::from_millis(50), None).await;
    let ga = client!(GlobalAddresses, emu);
    let get = |name: &'static str| ga.get().set_project(P).set_address(name).send();

    let op = succeeded(
        ga.insert()
            .set_project(P)
            .set_body(Address::new().set_name("lb-ip").set_description("the HTTPS load balancer"))
            .poller()
            .until_done()
            .await,
    );
    assert_eq!(op.operation_type.as_deref(), Some("insert"));
    assert_eq!(op.target_link.as_deref(), Some(format!("{LINK}/addresses/lb-ip").as_str()));
    let a = get("lb-ip").await.expect("get");
    assert_eq!(op.target_id, a.id);
    assert_eq!(a.kind.as_deref(), Some("compute#address"));
    assert_eq!(a.address.as_deref(), Some("203.0.113.1"));
    assert_eq!(a.address_type, Some(address::AddressType::External));
    assert_eq!(a.ip_version, Some(address::IpVersion::Ipv4));
    assert_eq!(a.status, Some(address::Status::Reserved));
    assert_eq!(a.self_link.as_deref(), Some(format!("{LINK}/addresses/lb-ip").as_str()));
    assert!(a.creation_timestamp.is_some() && a.labels.is_empty());
    let first_fingerprint = a.label_fingerprint.clone().expect("a label fingerprint");

    succeeded(
        ga.insert()
            .set_project(P)
            .set_body(Address::new().set_name("lb-ip-v6").set_ip_version(address::IpVersion::Ipv6))
            .poller()
            .until_done()
            .await,
    );
    let v6 = get("lb-ip-v6").await.expect("get v6");
    assert_eq!(v6.address.as_deref(), Some("2001:db8:1::"));
    let listed = ga.list().set_project(P).send().await.expect("list");
    let names: Vec<_> = listed.items.iter().filter_map(|a| a.name.clone()).collect();
    assert_eq!(names, ["lb-ip", "lb-ip-v6"]);

    // setLabels: the current fingerprint sets them and moves the fingerprint; the old one is 412.
    let labels = GlobalSetLabelsRequest::new().set_labels([("env", "staging")]);
    let op = succeeded(
        ga.set_labels()
            .set_project(P)
            .set_resource("lb-ip")
            .set_body(labels.clone().set_label_fingerprint(first_fingerprint.clone()))
            .poller()
            .until_done()
            .await,
    );
    assert_eq!(op.operation_type.as_deref(), Some("setLabels"));
    let a = get("lb-ip").await.expect("get labelled");
    assert_eq!(a.labels.get("env").map(String::as_str), Some("staging"));
    assert_ne!(a.label_fingerprint.as_ref(), Some(&first_fingerprint));
    let (status, reason, _) = failure(
        ga.set_labels()
            .set_project(P)
            .set_resource("lb-ip")
            .set_body(labels.set_label_fingerprint(first_fingerprint))
            .send()
            .await,
    );
    assert_eq!((status, reason.as_str()), (412, "conditionNotMet"));

    // 409 on a duplicate name, 404 on a missing address.
    let (status, reason, message) =
        failure(ga.insert().set_project(P).set_body(Address::new().set_name("lb-ip")).send().await);
    assert_eq!(
        (status, reason.as_str(), message.as_str()),
        (409, "alreadyExists", "The resource 'projects/acme/global/addresses/lb-ip' already exists")
    );
    let (status, reason, _) = failure(get("missing").await);
    assert_eq!((status, reason.as_str()), (404, "notFound"));
    let (status, _, _) = failure(
        ga.insert()
            .set_project(P)
            .set_body(Address::new().set_name("bad").set_address_type(address::AddressType::Internal))
            .send()
            .await,
    );
    assert_eq!(status, 400, "an internal address needs a purpose and a network");

    let op = succeeded(ga.delete().set_project(P).set_address("lb-ip").poller().until_done().await);
    assert_eq!(op.operation_type.as_deref(), Some("delete"));
    assert_eq!(failure(get("lb-ip").await).0, 404);
    assert_eq!(failure(ga.delete().set_project(P).set_address("lb-ip").send().await).0, 404);
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_documented_fields_round_trip_and_unknown_ones_are_refused() {
    let (emu, _dir) = start_with(Duration::ZERO, None).await;
    let global = "/compute/v1/projects/acme/global";
    let hc = json!({"name": "grpc", "grpcTlsHealthCheck": {"port": 443, "grpcServiceName": "svc"},
        "sourceRegions": ["us-central1", "us-east1", "europe-west1"], "checkIntervalSec": 30, "timeoutSec": 10});
    let (status, op) = http(&emu, "POST", &format!("{global}/healthChecks"), Some(hc)).await;
    assert_eq!(status, 200, "{op}");
    let (_, got) = http(&emu, "GET", &format!("{global}/healthChecks/grpc"), None).await;
    assert_eq!(got["grpcTlsHealthCheck"], json!({"port": 443, "grpcServiceName": "svc"}), "{got}");
    assert_eq!(got["sourceRegions"], json!(["us-central1", "us-east1", "europe-west1"]));
    assert_eq!(got["type"], "GRPC_WITH_TLS");

    let bs = json!({"name": "be", "healthChecks": [format!("{LINK}/healthChecks/grpc")],
        "loadBalancingScheme": "EXTERNAL_MANAGED",
        "iap": {"enabled": true, "oauth2ClientId": "id", "oauth2ClientSecret": "secret"},
        "localityLbPolicies": [{"policy": {"name": "RING_HASH"}}, {"customPolicy": {"name": "x", "data": "{}"}}],
        "outlierDetection": {"consecutiveErrors": 5, "interval": {"seconds": "10", "nanos": 0}}});
    let (status, op) = http(&emu, "POST", &format!("{global}/backendServices"), Some(bs)).await;
    assert_eq!(status, 200, "{op}");
    let (_, got) = http(&emu, "GET", &format!("{global}/backendServices/be"), None).await;
    assert_eq!(got["iap"]["oauth2ClientId"], "id", "{got}");
    assert_eq!(got["localityLbPolicies"][1]["customPolicy"]["name"], "x");
    assert_eq!(got["outlierDetection"]["interval"]["seconds"], "10");

    let redirect = json!({"hostRedirect": "example.com", "httpsRedirect": true, "stripQuery": false});
    let um = json!({"name": "um", "defaultUrlRedirect": redirect,
        "hostRules": [{"hosts": ["example.com"], "pathMatcher": "pm"}],
        "pathMatchers": [{"name": "pm", "defaultUrlRedirect": redirect,
            "routeRules": [{"priority": 1, "matchRules": [{"prefixMatch": "/a"}], "urlRedirect": redirect}]}],
        "tests": [{"host": "example.com", "path": "/a", "expectedOutputUrl": "https://example.com/a", "expectedRedirectResponseCode": 301}]});
    let (status, op) = http(&emu, "POST", &format!("{global}/urlMaps"), Some(um)).await;
    assert_eq!(status, 200, "{op}");
    let (_, got) = http(&emu, "GET", &format!("{global}/urlMaps/um"), None).await;
    assert_eq!(got["pathMatchers"][0]["routeRules"][0]["matchRules"][0]["prefixMatch"], "/a", "{got}");
    assert_eq!(got["tests"][0]["expectedRedirectResponseCode"], 301);
    assert_eq!(got["defaultUrlRedirect"]["hostRedirect"], "example.com");

    let typo =
        json!({"name": "typo", "pathMatchers": [{"name": "pm", "routeRules": [{"priority": 1, "matchRule": []}]}]});
    let (status, err) = http(&emu, "POST", &format!("{global}/urlMaps"), Some(typo)).await;
    assert_eq!(status, 400);
    assert_eq!(
        err["error"]["message"],
        "Invalid JSON payload received. Unknown name \"matchRule\" at 'resource.path_matchers[0].route_rules[0]': Cannot find field."
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn region_network_endpoint_groups_round_trip_through_the_sdk() {
    use google_cloud_compute_v1::client::{RegionNetworkEndpointGroups, RegionOperations};
    use google_cloud_compute_v1::model::{network_endpoint_group, NetworkEndpointGroup, NetworkEndpointGroupCloudRun};

    const R: &str = "us-central1";
    let failing = "Cloud Run service 'gone' was not found in region us-central1";
    let (emu, _dir) = start_with(
        Duration::from_millis(50),
        Some(json!({"compute": {"failOperations": [{"project": P, "operationType": "insert",
            "target": "regions/us-central1/networkEndpointGroups/broken", "code": "INVALID_ARGUMENT",
            "message": failing, "times": 1}]}})),
    )
    .await;
    let negs = client!(RegionNetworkEndpointGroups, emu);
    let ops = client!(RegionOperations, emu);
    let serverless = |name: &str, service: &str| {
        NetworkEndpointGroup::new()
            .set_name(name)
            .set_network_endpoint_type(network_endpoint_group::NetworkEndpointType::Serverless)
            .set_cloud_run(NetworkEndpointGroupCloudRun::new().set_service(service))
    };
    let link = format!("https://www.googleapis.com/compute/v1/projects/{P}/regions/{R}");

    let op = succeeded(
        negs.insert()
            .set_project(P)
            .set_region(R)
            .set_body(serverless("api", "netra-backend"))
            .poller()
            .until_done()
            .await,
    );
    assert_eq!(op.target_link.as_deref(), Some(format!("{link}/networkEndpointGroups/api").as_str()));
    assert_eq!(op.region.as_deref(), Some(link.as_str()), "a region operation");
    let got = negs.get().set_project(P).set_region(R).set_network_endpoint_group("api").send().await.expect("get");
    assert_eq!(got.kind.as_deref(), Some("compute#networkEndpointGroup"));
    assert_eq!(got.region.as_deref(), Some(link.as_str()));
    assert_eq!(got.cloud_run.as_ref().and_then(|c| c.service.as_deref()), Some("netra-backend"));
    assert_eq!(got.network_endpoint_type, Some(network_endpoint_group::NetworkEndpointType::Serverless));
    assert_eq!(op.target_id, got.id);

    // The region operation itself, by get and by wait.
    let name = op.name.clone().expect("operation name");
    let fetched =
        ops.get().set_project(P).set_region(R).set_operation(&name).send().await.expect("regionOperations.get");
    assert_eq!(fetched.status, Some(operation::Status::Done));
    let waited =
        ops.wait().set_project(P).set_region(R).set_operation(&name).send().await.expect("regionOperations.wait");
    assert_eq!(waited.name, Some(name.clone()));
    let listed = ops.list().set_project(P).set_region(R).send().await.expect("regionOperations.list");
    assert!(listed.items.iter().any(|o| o.name.as_deref() == Some(name.as_str())));

    let (status, reason, message) =
        failure(negs.insert().set_project(P).set_region(R).set_body(serverless("api", "netra-backend")).send().await);
    assert_eq!(
        (status, reason.as_str(), message.as_str()),
        (
            409,
            "alreadyExists",
            "The resource 'projects/acme/regions/us-central1/networkEndpointGroups/api' already exists"
        )
    );
    let (status, _, message) = failure(
        negs.insert()
            .set_project(P)
            .set_region(R)
            .set_body(
                NetworkEndpointGroup::new()
                    .set_name("bare")
                    .set_network_endpoint_type(network_endpoint_group::NetworkEndpointType::Serverless),
            )
            .send()
            .await,
    );
    assert_eq!(status, 400);
    assert!(message.contains("must specify one of cloudRun, appEngine or cloudFunction"), "{message}");

    succeeded(
        negs.insert().set_project(P).set_region(R).set_body(serverless("web", "web")).poller().until_done().await,
    );
    let page = negs.list().set_project(P).set_region(R).set_max_results(1u32).send().await.expect("list");
    assert_eq!(page.items.len(), 1);
    let token = page.next_page_token.clone().expect("a second page");
    let page2 = negs.list().set_project(P).set_region(R).set_page_token(token).send().await.expect("list page 2");
    assert_eq!(page2.items.len(), 1);
    let elsewhere = negs.list().set_project(P).set_region("europe-west1").send().await.expect("list elsewhere");
    assert!(elsewhere.items.is_empty());

    // A failed operation: DONE with the error, and nothing created.
    let op = negs
        .insert()
        .set_project(P)
        .set_region(R)
        .set_body(serverless("broken", "gone"))
        .poller()
        .until_done()
        .await
        .expect("the poller returns Ok");
    assert_eq!(op.http_error_status_code, Some(400));
    assert_eq!(op.error.as_ref().expect("an error").errors[0].message.as_deref(), Some(failing));
    let (status, _, _) =
        failure(negs.get().set_project(P).set_region(R).set_network_endpoint_group("broken").send().await);
    assert_eq!(status, 404);

    succeeded(negs.delete().set_project(P).set_region(R).set_network_endpoint_group("web").poller().until_done().await);
    let (status, _, message) =
        failure(negs.get().set_project(P).set_region(R).set_network_endpoint_group("web").send().await);
    assert_eq!(
        (status, message.as_str()),
        (404, "The resource 'projects/acme/regions/us-central1/networkEndpointGroups/web' was not found")
    );
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_forwarding_rules_round_trip_through_the_sdk() {
    use google_cloud_compute_v1::client::{GlobalAddresses, GlobalForwardingRules, TargetHttpProxies};
    use google_cloud_compute_v1::model::{
        forwarding_rule, Address, ForwardingRule, GlobalSetLabelsRequest, TargetHttpProxy, TargetReference,
    };

    let failing = "The forwarding rule could not be repointed";
    let (emu, _dir) = start_with(
        Duration::from_millis(50),
        Some(json!({"compute": {"failOperations": [{"project": P, "operationType": "setTarget",
            "target": "forwardingRules/front", "code": "RESOURCE_NOT_READY", "message": failing, "times": 1}]}})),
    )
    .await;
    let c = clients(&emu).await;
    let fr = client!(GlobalForwardingRules, emu);
    let proxies = client!(TargetHttpProxies, emu);
    let addresses = client!(GlobalAddresses, emu);
    succeeded(c.bs.insert().set_project(P).set_body(BackendService::new().set_name("bs")).poller().until_done().await);
    succeeded(
        c.um.insert()
            .set_project(P)
            .set_body(UrlMap::new().set_name("um").set_default_service(format!("{LINK}/backendServices/bs")))
            .poller()
            .until_done()
            .await,
    );
    for px in ["px", "px2"] {
        let body = TargetHttpProxy::new().set_name(px).set_url_map(format!("{LINK}/urlMaps/um"));
        succeeded(proxies.insert().set_project(P).set_body(body).poller().until_done().await);
    }
    succeeded(addresses.insert().set_project(P).set_body(Address::new().set_name("ip")).poller().until_done().await);

    let body = ForwardingRule::new()
        .set_name("front")
        .set_target(format!("{LINK}/targetHttpProxies/px"))
        .set_ip_address(format!("{LINK}/addresses/ip"))
        .set_port_range("80")
        .set_load_balancing_scheme(forwarding_rule::LoadBalancingScheme::ExternalManaged);
    let op = succeeded(fr.insert().set_project(P).set_body(body.clone()).poller().until_done().await);
    assert_eq!(op.target_link.as_deref(), Some(format!("{LINK}/forwardingRules/front").as_str()));
    let got = fr.get().set_project(P).set_forwarding_rule("front").send().await.expect("get");
    assert_eq!(got.ip_address.as_deref(), Some("203.0.113.1"), "the API returns the address's number");
    assert_eq!(got.port_range.as_deref(), Some("80-80"));
    assert_eq!(got.ip_protocol, Some(forwarding_rule::IPProtocol::Tcp));
    assert_eq!(got.load_balancing_scheme, Some(forwarding_rule::LoadBalancingScheme::ExternalManaged));
    let fingerprint = got.label_fingerprint.clone().expect("a label fingerprint");

    let (status, reason, _) = failure(fr.insert().set_project(P).set_body(body).send().await);
    assert_eq!((status, reason.as_str()), (409, "alreadyExists"));
    let (status, _, message) = failure(
        fr.insert()
            .set_project(P)
            .set_body(ForwardingRule::new().set_name("x").set_target(format!("{LINK}/targetHttpProxies/nope")))
            .send()
            .await,
    );
    assert_eq!(
        (status, message.as_str()),
        (404, "The resource 'projects/acme/global/targetHttpProxies/nope' was not found")
    );

    // setLabels needs the current fingerprint.
    let labels = GlobalSetLabelsRequest::new().set_labels([("env", "staging")]);
    let with = |fp| labels.clone().set_label_fingerprint(fp);
    succeeded(
        fr.set_labels()
            .set_project(P)
            .set_resource("front")
            .set_body(with(fingerprint.clone()))
            .poller()
            .until_done()
            .await,
    );
    let got = fr.get().set_project(P).set_forwarding_rule("front").send().await.expect("get");
    assert_eq!(got.labels.get("env").map(String::as_str), Some("staging"));
    let (status, reason, _) =
        failure(fr.set_labels().set_project(P).set_resource("front").set_body(with(fingerprint)).send().await);
    assert_eq!((status, reason.as_str()), (412, "conditionNotMet"));

    // setTarget: the first one fails (scenario), as an operation; the second repoints.
    let to = TargetReference::new().set_target(format!("{LINK}/targetHttpProxies/px2"));
    let op = fr
        .set_target()
        .set_project(P)
        .set_forwarding_rule("front")
        .set_body(to.clone())
        .poller()
        .until_done()
        .await
        .expect("the poller returns Ok");
    assert_eq!(op.error.as_ref().expect("an error").errors[0].message.as_deref(), Some(failing));
    let got = fr.get().set_project(P).set_forwarding_rule("front").send().await.expect("get");
    assert_eq!(got.target.as_deref(), Some(format!("{LINK}/targetHttpProxies/px").as_str()), "unchanged");
    succeeded(fr.set_target().set_project(P).set_forwarding_rule("front").set_body(to).poller().until_done().await);
    let got = fr.get().set_project(P).set_forwarding_rule("front").send().await.expect("get");
    assert_eq!(got.target.as_deref(), Some(format!("{LINK}/targetHttpProxies/px2").as_str()));

    // patch changes the scheme.
    let scheme = ForwardingRule::new().set_load_balancing_scheme(forwarding_rule::LoadBalancingScheme::External);
    succeeded(fr.patch().set_project(P).set_forwarding_rule("front").set_body(scheme).poller().until_done().await);
    let got = fr.get().set_project(P).set_forwarding_rule("front").send().await.expect("get");
    assert_eq!(got.load_balancing_scheme, Some(forwarding_rule::LoadBalancingScheme::External));

    let listed = fr.list().set_project(P).send().await.expect("list");
    assert_eq!(listed.items.len(), 1);
    let (status, reason, _) = failure(proxies.delete().set_project(P).set_target_http_proxy("px2").send().await);
    assert_eq!((status, reason.as_str()), (400, "resourceInUseByAnotherResource"));
    succeeded(fr.delete().set_project(P).set_forwarding_rule("front").poller().until_done().await);
    let (status, _, _) = failure(fr.get().set_project(P).set_forwarding_rule("front").send().await);
    assert_eq!(status, 404);
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_managed_certificate_activates_once_a_forwarding_rule_serves_it() {
    use google_cloud_compute_v1::client::GlobalForwardingRules;
    use google_cloud_compute_v1::model::ForwardingRule;

    let (emu, _dir) = start_with(Duration::from_millis(50), None).await;
    let c = clients(&emu).await;
    let fr = client!(GlobalForwardingRules, emu);
    let status = |name: &'static str| {
        let sc = c.sc.clone();
        async move {
            sc.get().set_project(P).set_ssl_certificate(name).send().await.expect("get cert").managed.expect("managed")
        }
    };
    succeeded(
        c.sc.insert().set_project(P).set_body(managed_cert("cert", "www.example.com")).poller().until_done().await,
    );
    succeeded(c.bs.insert().set_project(P).set_body(BackendService::new().set_name("bs")).poller().until_done().await);
    let um = UrlMap::new().set_name("um").set_default_service(format!("{LINK}/backendServices/bs"));
    succeeded(c.um.insert().set_project(P).set_body(um).poller().until_done().await);
    let proxy = TargetHttpsProxy::new()
        .set_name("px")
        .set_url_map(format!("{LINK}/urlMaps/um"))
        .set_ssl_certificates([format!("{LINK}/sslCertificates/cert")]);
    succeeded(c.tp.insert().set_project(P).set_body(proxy).poller().until_done().await);
    tokio::time::sleep(Duration::from_millis(150)).await;
    let m = status("cert").await;
    assert_eq!(m.status, Some(managed::Status::Provisioning), "on a proxy nothing sends traffic to");
    assert_eq!(m.domain_status.get("www.example.com"), Some(&managed::DomainStatus::FailedNotVisible));

    let rule = ForwardingRule::new()
        .set_name("https")
        .set_target(format!("{LINK}/targetHttpsProxies/px"))
        .set_port_range("443");
    succeeded(fr.insert().set_project(P).set_body(rule).poller().until_done().await);
    let deadline = Instant::now() + Duration::from_secs(5);
    let active = loop {
        let cert = c.sc.get().set_project(P).set_ssl_certificate("cert").send().await.expect("get cert");
        if cert.managed.as_ref().and_then(|m| m.status.clone()) == Some(managed::Status::Active) {
            break cert;
        }
        assert!(Instant::now() < deadline, "the certificate never became ACTIVE");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(active.subject_alternative_names, ["www.example.com"]);
    assert_eq!(
        active.managed.as_ref().and_then(|m| m.domain_status.get("www.example.com").cloned()),
        Some(managed::DomainStatus::Active)
    );
    assert!(active.expire_time.is_some());
    emu.shutdown().await;
}
