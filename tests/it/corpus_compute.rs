//! Issue 12's corpus stacks for the load balancer's compute types (tests/it/corpus/<type>/):
//! each sets every top-level argument and nested block of its type at least once. Each stack
//! validates, plans, applies against the emulator, plans empty (every field is sent and read
//! back under its API name), and destroys.

use std::path::Path;

use crate::support::*;
use cairn::addr::{AttrPath, PathStep};
use cairn::emulator::{Emulator, EmulatorConfig};
use cairn::lang::value::Value;
use cairn::ops;
use cairn::plan::Action;
use cairn::providers::google::GoogleOptions;
use cairn::providers::Registry;

fn at_path<'a>(v: &'a Value, path: &AttrPath) -> Option<&'a Value> {
    path.0.iter().try_fold(v, |v, step| match step {
        PathStep::Attr(name) => v.get(name),
        PathStep::Index(i) => v.as_list().and_then(|l| l.get(usize::try_from(*i).ok()?)),
    })
}

/// Drops from a stack the lines setting an attribute named in `leave_out`, and the whole
/// block of a resource given there as `type.name`.
fn without(text: &str, leave_out: &[&str]) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let first = words.next();
        if first == Some("resource") {
            let (t, n) = (words.next().unwrap_or("").trim_matches('"'), words.next().unwrap_or("").trim_matches('"'));
            skipping = leave_out.contains(&format!("{t}.{n}").as_str());
        }
        let dropped = skipping || first.is_some_and(|a| leave_out.contains(&a));
        if !dropped {
            out.push_str(line);
            out.push('\n');
        }
        if line == "}" {
            skipping = false;
        }
    }
    out
}

/// The corpus stack of `type_name` round trips, without what `leave_out` names (see
/// [`without`]: for what the emulator does not serve yet).
async fn round_trip(type_name: &str, leave_out: &[&str]) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/corpus").join(type_name).join("main.tf");
    let text = without(&std::fs::read_to_string(&path).expect("the corpus stack"), leave_out);
    let s = TestStack::new(&[("main.tf", &text)]);
    if let Err(e) = ops::validate(&common(s.path(), Registry::standard(GoogleOptions { emulator: None }))).await {
        panic!("{type_name}: validate: {}", describe(&e));
    }
    let emu = Emulator::start(EmulatorConfig::for_tests()).await.expect("start the emulator");
    let c = common(s.path(), Registry::standard(GoogleOptions { emulator: Some(emu.endpoint()) }));
    let p = plan(&c).await;
    assert!(
        p.changes.iter().any(|ch| ch.type_name == type_name) && p.changes.iter().all(|ch| ch.action == Action::Create),
        "{type_name}: {:?}",
        actions(&p)
    );
    apply(&c).await;
    let p = plan(&c).await;
    let drift: Vec<String> = p
        .changes
        .iter()
        .filter(|ch| ch.action != Action::NoOp)
        .flat_map(|ch| {
            ch.changed_paths.iter().map(move |path| {
                let at = |v: &Option<Value>| v.as_ref().and_then(|v| at_path(v, path)).map(Value::to_json);
                format!("{} {path}: {:?} -> {:?}", ch.addr, at(&ch.before), at(&ch.after))
            })
        })
        .collect();
    assert!(drift.is_empty(), "{type_name}: a no-op plan right after apply, not:\n{}", drift.join("\n"));
    destroy(&c).await;
    let p = plan(&c).await;
    assert!(p.changes.iter().all(|ch| ch.action == Action::Create), "{type_name}: destroy removed everything");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the emulator to serve backendServices.setSecurityPolicy and setEdgeSecurityPolicy (issue 12)"]
async fn backend_service_corpus_round_trips() {
    round_trip("google_compute_backend_service", &[]).await;
}

/// Every other field of the corpus, until the emulator attaches security policies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_service_corpus_without_security_policies_round_trips() {
    round_trip("google_compute_backend_service", &["security_policy", "edge_security_policy"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn url_map_corpus_round_trips() {
    round_trip("google_compute_url_map", &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the emulator to take Certificate Manager URLs in targetHttpsProxies' sslCertificates (issue 12)"]
async fn target_https_proxy_corpus_round_trips() {
    round_trip("google_compute_target_https_proxy", &[]).await;
}

/// Every other field of the corpus, until the emulator takes Certificate Manager certificates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_https_proxy_corpus_without_certificate_manager_certificates_round_trips() {
    round_trip("google_compute_target_https_proxy", &["google_compute_target_https_proxy.certificate_manager"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_ssl_certificate_corpus_round_trips() {
    round_trip("google_compute_managed_ssl_certificate", &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_address_corpus_round_trips() {
    round_trip("google_compute_global_address", &[]).await;
}
