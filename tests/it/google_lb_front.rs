//! Issue 13's load balancer front end and serverless backends end to end against the
//! emulator: serverless NEGs behind a backend service, a global forwarding rule on a reserved
//! address, in-place updates (labels, target), list-based refresh, the plan-time rules (as
//! malformed stacks, located at the offending attribute), and the provider's documentation
//! examples for the two types.

use std::path::Path;

use crate::support::*;
use cairn::emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use cairn::ops;
use cairn::plan::Action;
use cairn::providers::google::GoogleOptions;
use cairn::providers::Registry;

const PROJECT: &str = "netra-staging";

async fn emulator() -> EmulatorHandle {
    Emulator::start(EmulatorConfig::for_tests()).await.expect("start the emulator")
}

/// A GET straight to the emulator: (status, body).
async fn get(emu: &EmulatorHandle, path: &str) -> (u16, serde_json::Value) {
    let (status, _, body) = emulator_http(emu, "GET", path, None).await;
    (status, body)
}

/// Each change's address, action and changed paths.
fn what_changes(p: &cairn::plan::Plan) -> String {
    let mut out = String::new();
    for ch in p.changes.iter().filter(|ch| ch.action != Action::NoOp) {
        out.push_str(&format!("\n{} {:?}: replace {:?}", ch.addr, ch.action, ch.replace_paths));
        for path in &ch.changed_paths {
            let top = path.top().unwrap_or_default();
            let at = |v: &Option<cairn::lang::value::Value>| v.as_ref().and_then(|v| v.get(top)).cloned();
            out.push_str(&format!("\n  {path}: {:?} -> {:?}", at(&ch.before), at(&ch.after)));
        }
    }
    out
}

fn stack_common(s: &TestStack, emu: &EmulatorHandle) -> ops::Common {
    common(s.path(), Registry::standard(GoogleOptions { emulator: Some(emu.endpoint()), ..Default::default() }))
}

/// The staging shape: two Cloud Run services behind serverless NEGs, one backend service
/// each, a URL map, a managed certificate on an HTTPS proxy, and the forwarding rule on 443.
fn front_stack(labels: &str, proxy: &str) -> String {
    format!(
        r#"
provider "google" {{
  project = "netra-staging"
}}

resource "google_compute_region_network_endpoint_group" "backend" {{
  name   = "staging-backend-neg"
  region = "us-central1"
  cloud_run {{
    service = "netra-backend-staging"
  }}
}}

resource "google_compute_region_network_endpoint_group" "auth" {{
  name   = "staging-auth-neg"
  region = "us-central1"
  cloud_run {{
    service = "auth-staging"
  }}
}}

resource "google_compute_backend_service" "backend" {{
  name                  = "staging-backend-service"
  protocol              = "HTTPS"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  backend {{
    group = google_compute_region_network_endpoint_group.backend.id
  }}
}}

resource "google_compute_backend_service" "auth" {{
  name                  = "staging-auth-service"
  protocol              = "HTTPS"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  backend {{
    group = google_compute_region_network_endpoint_group.auth.self_link
  }}
}}

resource "google_compute_url_map" "staging" {{
  name            = "staging-url-map"
  default_service = google_compute_backend_service.backend.id
  host_rule {{
    hosts        = ["api-staging.netrasystems.ai"]
    path_matcher = "api"
  }}
  path_matcher {{
    name            = "api"
    default_service = google_compute_backend_service.backend.id
    path_rule {{
      paths   = ["/auth/*"]
      service = google_compute_backend_service.auth.id
    }}
  }}
}}

resource "google_compute_managed_ssl_certificate" "staging" {{
  name = "staging-cert"
  managed {{
    domains = ["api-staging.netrasystems.ai"]
  }}
}}

resource "google_compute_target_https_proxy" "staging" {{
  name             = "staging-https-proxy"
  url_map          = google_compute_url_map.staging.id
  ssl_certificates = [google_compute_managed_ssl_certificate.staging.id]
}}

resource "google_compute_target_https_proxy" "standby" {{
  name             = "staging-https-proxy-standby"
  url_map          = google_compute_url_map.staging.id
  ssl_certificates = [google_compute_managed_ssl_certificate.staging.id]
}}

resource "google_compute_global_address" "lb" {{
  name = "staging-lb-ip"
}}

resource "google_compute_global_forwarding_rule" "https" {{
  name                  = "staging-https"
  target                = google_compute_target_https_proxy.{proxy}.id
  ip_address            = google_compute_global_address.lb.id
  port_range            = "443"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  labels                = {labels}
}}
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serverless_backends_behind_a_forwarding_rule_apply_update_in_place_and_destroy() {
    let emu = emulator().await;
    let s = TestStack::new(&[("main.tf", &front_stack("{ env = \"staging\" }", "staging"))]);
    let c = stack_common(&s, &emu);
    let p = plan(&c).await;
    assert_eq!(p.changes.iter().filter(|ch| ch.action == Action::Create).count(), 10, "{:?}", actions(&p));
    apply(&c).await;
    let again = plan(&c).await;
    assert!(!again.has_changes(), "the plan after apply is empty: {}", what_changes(&again));

    // The API resolved the address reference to its number; the backend services hold the NEGs.
    let (status, rule) =
        get(&emu, &format!("/compute/v1/projects/{PROJECT}/global/forwardingRules/staging-https")).await;
    assert_eq!(status, 200);
    assert_eq!(rule["IPAddress"], "203.0.113.1");
    assert_eq!(rule["labels"]["env"], "staging");
    let (_, bs) =
        get(&emu, &format!("/compute/v1/projects/{PROJECT}/global/backendServices/staging-auth-service")).await;
    assert_eq!(
        bs["backends"][0]["group"],
        format!("https://www.googleapis.com/compute/v1/projects/{PROJECT}/regions/us-central1/networkEndpointGroups/staging-auth-neg")
    );

    // Labels and the target change in place.
    s.write("main.tf", &front_stack("{ env = \"staging\", tier = \"front\" }", "standby"));
    let p = plan(&c).await;
    let rule_change: Vec<_> = actions(&p).into_iter().filter(|(a, _)| a.contains("forwarding_rule")).collect();
    assert_eq!(
        rule_change,
        [("google_compute_global_forwarding_rule.https".to_string(), "update")],
        "{:?}",
        actions(&p)
    );
    assert_eq!(p.changes.iter().filter(|ch| ch.action != Action::NoOp).count(), 1, "{:?}", actions(&p));
    apply(&c).await;
    let again = plan(&c).await;
    assert!(!again.has_changes(), "the plan after the update is empty: {}", what_changes(&again));
    let (_, rule) = get(&emu, &format!("/compute/v1/projects/{PROJECT}/global/forwardingRules/staging-https")).await;
    assert!(
        rule["target"].as_str().is_some_and(|t| t.ends_with("/targetHttpsProxies/staging-https-proxy-standby")),
        "{rule}"
    );
    assert_eq!(rule["labels"]["tier"], "front");

    // A region change replaces the NEG (through its backend service's reference).
    let moved = front_stack("{ env = \"staging\", tier = \"front\" }", "standby").replacen(
        "region = \"us-central1\"\n  cloud_run {\n    service = \"auth-staging\"",
        "region = \"us-east1\"\n  cloud_run {\n    service = \"auth-staging\"",
        1,
    );
    s.write("main.tf", &moved);
    let p = plan(&c).await;
    assert!(
        p.changes.iter().any(|ch| ch.addr.to_string() == "google_compute_region_network_endpoint_group.auth"
            && matches!(ch.action, Action::DeleteThenCreate | Action::CreateThenDelete)),
        "{:?}",
        actions(&p)
    );

    destroy(&c).await;
    let (status, _) = get(
        &emu,
        &format!("/compute/v1/projects/{PROJECT}/regions/us-central1/networkEndpointGroups/staging-backend-neg"),
    )
    .await;
    assert_eq!(status, 404);
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_of_many_negs_and_forwarding_rules_is_one_list_call_per_type() {
    const N: usize = 6;
    let emu = emulator().await;
    let mut text = String::from("provider \"google\" {\n  project = \"netra-staging\"\n}\n");
    text.push_str(
        r#"
resource "google_compute_backend_service" "bs" {
  name                  = "many-bs"
  load_balancing_scheme = "EXTERNAL_MANAGED"
}

resource "google_compute_url_map" "um" {
  name            = "many-um"
  default_service = google_compute_backend_service.bs.id
}

resource "google_compute_target_http_proxy" "px" {
  name    = "many-px"
  url_map = google_compute_url_map.um.id
}
"#,
    );
    for i in 0..N {
        text.push_str(&format!(
            r#"
resource "google_compute_region_network_endpoint_group" "n{i}" {{
  name   = "many-neg-{i}"
  region = "us-central1"
  cloud_run {{
    service = "svc-{i}"
  }}
}}

resource "google_compute_global_forwarding_rule" "f{i}" {{
  name       = "many-fr-{i}"
  target     = google_compute_target_http_proxy.px.id
  port_range = "{port}"
}}
"#,
            port = 8000 + i
        ));
    }
    let s = TestStack::new(&[("main.tf", &text)]);
    let c = stack_common(&s, &emu);
    apply(&c).await;
    emu.clear_requests();
    let p = plan(&c).await;
    assert!(!p.has_changes(), "{}", what_changes(&p));
    let reqs = emu.requests();
    assert!(reqs.iter().all(|r| r.method == "GET"), "a plan never mutates");
    let paths: Vec<&str> = reqs.iter().map(|r| r.path.as_str()).collect();
    for list in [
        format!("/compute/v1/projects/{PROJECT}/regions/us-central1/networkEndpointGroups"),
        format!("/compute/v1/projects/{PROJECT}/global/forwardingRules"),
    ] {
        assert_eq!(paths.iter().filter(|p| **p == list).count(), 1, "{list}: {paths:?}");
        assert!(!paths.iter().any(|p| p.starts_with(&format!("{list}/"))), "no GET per object: {paths:?}");
    }
    emu.shutdown().await;
}

fn front_cases() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/malformed_google");
    let mut names: Vec<String> = std::fs::read_dir(&root)
        .expect("malformed_google fixtures")
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("front_"))
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_front_end_rule_has_a_located_diagnostic_at_plan_time() {
    let emu = emulator().await;
    let names = front_cases();
    assert!(names.len() >= 6, "{names:?}");
    for name in names {
        let dir = format!("tests/fixtures/malformed_google/{name}");
        let c = common(
            Path::new(&dir),
            Registry::standard(GoogleOptions { emulator: Some(emu.endpoint()), ..Default::default() }),
        );
        let err = match ops::plan(ops::PlanArgs::new(c)).await {
            Err(e) => describe(&e),
            Ok(_) => panic!("{name}: expected an error"),
        };
        let _ = std::fs::remove_dir_all(format!("{dir}/state"));
        let located = regex::Regex::new(&format!(r"{dir}/main\.tf:\d+:\d+")).unwrap();
        assert!(located.is_match(&err), "{name}: diagnostic has no file:line:col:\n{err}");
        insta::assert_snapshot!(format!("malformed_google__{name}"), err);
    }
    emu.shutdown().await;
}

/// A rule spanning resources points at the attribute to change, in the instance it names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cross_resource_violation_is_located_at_the_offending_attribute() {
    let emu = emulator().await;
    for (name, line, says) in [
        (
            "front_scheme_mismatch",
            "main.tf:45:3",
            "uses load_balancing_scheme \"EXTERNAL_MANAGED\", but the backend service behind it",
        ),
        ("front_serverless_health_checks", "main.tf:23:3", "has health_checks, but its backend"),
    ] {
        let dir = format!("tests/fixtures/malformed_google/{name}");
        let c = common(
            Path::new(&dir),
            Registry::standard(GoogleOptions { emulator: Some(emu.endpoint()), ..Default::default() }),
        );
        let err = match ops::plan(ops::PlanArgs::new(c)).await {
            Err(e) => describe(&e),
            Ok(r) => panic!(
                "{name}: expected an error: {:#?}",
                r.plan.changes.iter().map(|c| (c.addr.to_string(), c.after.clone())).collect::<Vec<_>>()
            ),
        };
        let _ = std::fs::remove_dir_all(format!("{dir}/state"));
        assert!(err.contains(says), "{name}: {err}");
        assert!(err.contains(&format!("{dir}/{line}")), "{name}: located at {line}: {err}");
    }
    emu.shutdown().await;
}

/// The provider's documentation examples for the two types (tests/it/doc_examples/lb_*.tf,
/// credited in each file): each validates and plans against the emulator, and applies when
/// every type it uses is supported, with an empty plan after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documentation_examples_plan_and_apply() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/doc_examples");
    let mut files: Vec<_> = std::fs::read_dir(&root)
        .expect("doc_examples")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("lb_")))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "{files:?}");
    let registry = Registry::standard(GoogleOptions { emulator: None, ..Default::default() });
    for path in files {
        let label = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).expect("example");
        let unsupported: Vec<String> = text
            .lines()
            .filter_map(|l| l.strip_prefix("resource \"")?.split('"').next().map(str::to_string))
            .filter(|t| !registry.type_names().any(|n| n == t))
            .collect();
        assert!(
            unsupported.iter().all(|t| t == "google_cloud_run_v2_service"),
            "{label}: only the coming Cloud Run type may be missing: {unsupported:?}"
        );
        if !unsupported.is_empty() {
            continue;
        }
        let emu = emulator().await;
        let s = TestStack::new(&[
            ("main.tf", &text),
            ("provider.tf", "provider \"google\" {\n  project = \"netra-staging\"\n}\n"),
        ]);
        let c = stack_common(&s, &emu);
        if let Err(e) = ops::validate(&c).await {
            panic!("{label}: {}", describe(&e));
        }
        let p = plan(&c).await;
        assert!(
            !p.changes.is_empty() && p.changes.iter().all(|ch| ch.action == Action::Create),
            "{label}: {:?}",
            actions(&p)
        );
        apply(&c).await;
        let again = plan(&c).await;
        assert!(!again.has_changes(), "{label}: the plan after apply is not empty: {}", what_changes(&again));
        emu.shutdown().await;
    }
}
