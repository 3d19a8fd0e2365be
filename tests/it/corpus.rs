//! Issue 12's corpus: one stack per Google type under tests/it/corpus/<type>/, exercising every
//! argument and block, is validated, planned, applied against the in-process emulator, plans
//! nothing afterwards, and is destroyed.

use std::path::Path;

use crate::support::*;
use cairn::emulator::{Emulator, EmulatorConfig};
use cairn::providers::google::GoogleOptions;
use cairn::providers::Registry;

/// Applies the type's corpus stack, plans, destroys.
async fn round_trip(type_name: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/corpus").join(type_name);
    let text = std::fs::read_to_string(dir.join("main.tf")).expect("the corpus stack");
    let emu = Emulator::start(EmulatorConfig::for_tests()).await.expect("start the emulator");
    let s = TestStack::new(&[("main.tf", &text)]);
    let c = common(s.path(), Registry::standard(GoogleOptions { emulator: Some(emu.endpoint()) }));
    cairn::ops::validate(&c).await.unwrap_or_else(|e| panic!("{type_name}: {}", describe(&e)));
    let first = plan(&c).await;
    assert!(first.has_changes(), "{type_name}: the first plan creates");
    apply(&c).await;
    let after = plan(&c).await;
    assert!(!after.has_changes(), "{type_name}: a plan right after apply changes nothing: {:?}", actions(&after));
    destroy(&c).await;
    let gone = plan(&c).await;
    assert!(
        actions(&gone).iter().all(|(_, a)| *a == "create"),
        "{type_name}: after destroy everything is to create again: {:?}",
        actions(&gone)
    );
    emu.shutdown().await;
}

/// Every stack under tests/it/corpus/: a type's directory is all it takes to be covered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_corpus_stack_round_trips() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/corpus");
    let mut types: Vec<String> = std::fs::read_dir(&root)
        .expect("tests/it/corpus")
        .flatten()
        .filter(|e| e.path().join("main.tf").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    types.sort();
    assert!(types.len() >= 5, "{types:?}");
    for t in types {
        round_trip(&t).await;
    }
}

/// The URL map is the one argument of an HTTP proxy that changes in place (`setUrlMap`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_proxy_moves_to_another_url_map_in_place() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/corpus/google_compute_target_http_proxy");
    let text = std::fs::read_to_string(dir.join("main.tf")).expect("the corpus stack");
    let second = "\nresource \"google_compute_url_map\" \"second\" {\n  name            = \"corpus-second\"\n  default_service = google_compute_backend_service.backend.id\n}\n";
    let emu = Emulator::start(EmulatorConfig::for_tests()).await.expect("start the emulator");
    let s = TestStack::new(&[("main.tf", &format!("{text}{second}"))]);
    let c = common(s.path(), Registry::standard(GoogleOptions { emulator: Some(emu.endpoint()) }));
    apply(&c).await;
    s.write(
        "main.tf",
        &format!("{text}{second}").replace("google_compute_url_map.redirect.id", "google_compute_url_map.second.id"),
    );
    let p = plan(&c).await;
    assert_eq!(actions(&p), [("google_compute_target_http_proxy.http".to_string(), "update")]);
    apply(&c).await;
    assert!(!plan(&c).await.has_changes());
    emu.shutdown().await;
}
