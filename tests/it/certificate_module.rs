//! modules/managed-certificate as a user calls it (tests/fixtures/certificate_module: the
//! module by its relative source path, its certificate on an HTTPS proxy), against the
//! in-process emulator: a change of domains replaces the certificate under
//! create_before_destroy without colliding with the old one's name.
//!
//! Nothing here depends on the certificate's provisioning status: the emulator decides when a
//! managed certificate becomes ACTIVE.

use std::path::{Path, PathBuf};

use crate::support::*;
use cairn::emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use cairn::ops;
use cairn::providers::google::GoogleOptions;
use cairn::providers::Registry;

const PROJECT: &str = "netra-staging";
const FIXTURE: &str = "tests/fixtures/certificate_module";
const MODULE: &str = "modules/managed-certificate";

/// A scratch tree laid out as the repository, so the fixture's `../../../modules/…` source
/// resolves to a copy of the real module and the state stays out of the repository.
struct Tree {
    _dir: tempfile::TempDir,
    stack: PathBuf,
}

fn tree() -> Tree {
    let dir = tempfile::tempdir().unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    for sub in [FIXTURE, MODULE] {
        let to = dir.path().join(sub);
        std::fs::create_dir_all(&to).unwrap();
        for e in std::fs::read_dir(repo.join(sub)).unwrap().flatten() {
            if e.path().is_file() {
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
    }
    let stack = dir.path().join(FIXTURE);
    Tree { _dir: dir, stack }
}

fn stack_common(t: &Tree, emu: &EmulatorHandle, domains: &str) -> ops::Common {
    let registry = Registry::standard(GoogleOptions { emulator: Some(emu.endpoint()), ..Default::default() });
    with_vars(common(&t.stack, registry), &[&format!("domains={domains}")])
}

/// The name the module gives a certificate for these domains: the prefix, then the first 8 hex
/// digits of the SHA-256 of the sorted domains joined by commas.
fn expected_name(domains: &[&str]) -> String {
    use sha2::Digest;
    let mut sorted = domains.to_vec();
    sorted.sort();
    let digest = sha2::Sha256::digest(sorted.join(",").as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("staging-netrasystems-ai-cert-{}", &hex[..8])
}

async fn certificate_names(emu: &EmulatorHandle) -> Vec<String> {
    let certs = google_cloud_compute_v1::client::SslCertificates::builder()
        .with_endpoint(emu.endpoint())
        .with_credentials(google_cloud_auth::credentials::anonymous::Builder::new().build())
        .with_retry_policy(google_cloud_gax::retry_policy::NeverRetry)
        .build()
        .await
        .expect("compute SDK client");
    let mut names: Vec<String> =
        certs.list().set_project(PROJECT).send().await.unwrap().items.into_iter().filter_map(|c| c.name).collect();
    names.sort();
    names
}

async fn proxy_certificates(emu: &EmulatorHandle) -> Vec<String> {
    let proxies = google_cloud_compute_v1::client::TargetHttpsProxies::builder()
        .with_endpoint(emu.endpoint())
        .with_credentials(google_cloud_auth::credentials::anonymous::Builder::new().build())
        .with_retry_policy(google_cloud_gax::retry_policy::NeverRetry)
        .build()
        .await
        .expect("compute SDK client");
    proxies
        .get()
        .set_project(PROJECT)
        .set_target_https_proxy("staging-https-proxy")
        .send()
        .await
        .expect("the proxy exists")
        .ssl_certificates
}

const CERT: &str = "module.certificate.google_compute_managed_ssl_certificate.this";
const PROXY: &str = "google_compute_target_https_proxy.staging";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_of_domains_replaces_the_certificate_without_a_name_collision() {
    let emu = Emulator::start(EmulatorConfig::for_tests()).await.expect("start the emulator");
    let t = tree();
    let a = ["staging.netrasystems.ai", "api-staging.netrasystems.ai"];
    let b = ["staging.netrasystems.ai", "api-staging.netrasystems.ai", "auth-staging.netrasystems.ai"];
    let first = stack_common(&t, &emu, r#"["staging.netrasystems.ai","api-staging.netrasystems.ai"]"#);
    apply(&first).await;
    assert_eq!(certificate_names(&emu).await, vec![expected_name(&a)]);

    // The same domains in another order are the same certificate.
    let reordered = stack_common(&t, &emu, r#"["api-staging.netrasystems.ai","staging.netrasystems.ai"]"#);
    let p = plan(&reordered).await;
    assert!(!p.has_changes(), "reordering the domains changes nothing: {:?}", actions(&p));

    let second = stack_common(
        &t,
        &emu,
        r#"["staging.netrasystems.ai","api-staging.netrasystems.ai","auth-staging.netrasystems.ai"]"#,
    );
    let p = plan(&second).await;
    let mut acts = actions(&p);
    acts.sort();
    assert_eq!(
        acts,
        vec![(PROXY.to_string(), "update"), (CERT.to_string(), "create,delete")],
        "create_before_destroy: the new certificate, the proxy moved onto it, then the old one deleted"
    );
    apply(&second).await;

    assert_eq!(certificate_names(&emu).await, vec![expected_name(&b)], "the old certificate is gone");
    let on_proxy = proxy_certificates(&emu).await;
    assert_eq!(on_proxy.len(), 1, "{on_proxy:?}");
    assert!(on_proxy[0].ends_with(&format!("/global/sslCertificates/{}", expected_name(&b))), "{on_proxy:?}");
    let p = plan(&second).await;
    assert!(!p.has_changes(), "a second plan is empty: {:?}", actions(&p));
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_prefix_that_leaves_no_room_for_the_hash_is_refused() {
    let emu = Emulator::start(EmulatorConfig::for_tests()).await.expect("start the emulator");
    let t = tree();
    let main = t.stack.join("main.tf");
    let text = std::fs::read_to_string(&main).unwrap();
    let long = "a".repeat(55);
    std::fs::write(&main, text.replace("\"staging-netrasystems-ai-cert\"", &format!("\"{long}\""))).unwrap();
    let c = stack_common(&t, &emu, r#"["staging.netrasystems.ai"]"#);
    let err = match ops::plan(ops::PlanArgs::new(c)).await {
        Ok(_) => panic!("a 55-character prefix makes a 64-character name, over the limit"),
        Err(e) => describe(&e),
    };
    // The module's own validation says why; where module variables' validation blocks are not
    // evaluated, the certificate's name rule refuses the 64-character name it makes.
    assert!(
        err.contains("at most 54 lowercase letters, digits and hyphens")
            || (err.contains("must be 1 to 63 characters") && err.contains(&format!("{long}-"))),
        "{err}"
    );
    assert!(certificate_names(&emu).await.is_empty(), "nothing was created");
    emu.shutdown().await;
}
