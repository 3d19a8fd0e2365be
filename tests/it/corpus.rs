//! The corpus (issue 12): one stack per Google type under `tests/it/corpus/<type>/`, setting
//! every top-level argument and nested block at least once. Each validates, plans, applies
//! against the in-process emulator, plans empty afterwards, and destroys. Where an argument
//! can only be set once something else exists (a secret's `version_aliases` name versions),
//! the directory's `update.tf` is the same stack one step later: it replaces `main.tf`, is
//! applied in place, and must plan empty too.

use std::path::Path;

use crate::support::*;
use cairn::emulator::{Emulator, EmulatorConfig};
use cairn::plan::Action;
use cairn::providers::google::GoogleOptions;
use cairn::providers::Registry;

/// Each change's address, action, changed and replace paths, and the values at those paths.
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

async fn round_trip(type_name: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/corpus").join(type_name);
    let main_tf = std::fs::read_to_string(dir.join("main.tf")).expect("the corpus stack");
    let emu = Emulator::start(EmulatorConfig::for_tests()).await.expect("start the emulator");
    let s = TestStack::new(&[("main.tf", &main_tf)]);
    let c =
        common(s.path(), Registry::standard(GoogleOptions { emulator: Some(emu.endpoint()), ..Default::default() }));

    if let Err(e) = cairn::ops::validate(&c).await {
        panic!("{type_name}: validate failed: {}", describe(&e));
    }
    let p = plan(&c).await;
    assert!(
        p.changes.iter().any(|ch| ch.action == Action::Create && ch.addr.to_string().starts_with(type_name)),
        "{type_name}: {:?}",
        actions(&p)
    );
    apply(&c).await;
    let again = plan(&c).await;
    assert!(!again.has_changes(), "{type_name}: the plan after apply is not empty: {}", what_changes(&again));
    if let Ok(update_tf) = std::fs::read_to_string(dir.join("update.tf")) {
        s.write("main.tf", &update_tf);
        let p = plan(&c).await;
        assert!(
            p.changes.iter().any(|ch| ch.action == Action::Update),
            "{type_name}: update.tf changes something in place: {:?}",
            actions(&p)
        );
        apply(&c).await;
        let again = plan(&c).await;
        assert!(!again.has_changes(), "{type_name}: the plan after the update is not empty: {}", what_changes(&again));
    }
    let gone = destroy(&c).await;
    if let Some(o) = &gone.outcome {
        assert!(o.failed.is_empty(), "{type_name}: destroy failures: {:?}", o.failed);
    }
    let after = plan(&c).await;
    assert!(
        after.changes.iter().filter(|ch| ch.action == Action::Create).count() == p.changes.len(),
        "{type_name}: after destroy everything is to create again: {:?}",
        actions(&after)
    );
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

/// A rotation period changed in place is sent with the nested mask path
/// `rotation.rotationPeriod` (the real API accepts it; the rotation time is left alone).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_rotation_period_updates_in_place() {
    let stack = |period: &str| {
        format!(
            r#"
provider "google" {{
  project = "cairn-test"
}}

resource "google_secret_manager_secret" "s" {{
  secret_id = "rotated"
  replication {{
    auto {{}}
  }}
  topics {{
    name = "projects/cairn-test/topics/secret-events"
  }}
  rotation {{
    next_rotation_time = "2030-06-01T00:00:00Z"
    rotation_period    = "{period}"
  }}
}}
"#
        )
    };
    let emu = Emulator::start(EmulatorConfig::for_tests()).await.expect("start the emulator");
    let s = TestStack::new(&[("main.tf", &stack("3600s"))]);
    let c =
        common(s.path(), Registry::standard(GoogleOptions { emulator: Some(emu.endpoint()), ..Default::default() }));
    apply(&c).await;
    s.write("main.tf", &stack("7200s"));
    let p = plan(&c).await;
    assert_eq!(actions(&p), [("google_secret_manager_secret.s".to_string(), "update")], "{}", what_changes(&p));
    apply(&c).await;
    let again = plan(&c).await;
    assert!(!again.has_changes(), "{}", what_changes(&again));
}

/// The URL map is the one argument of an HTTP proxy that changes in place (`setUrlMap`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_proxy_moves_to_another_url_map_in_place() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/corpus/google_compute_target_http_proxy");
    let text = std::fs::read_to_string(dir.join("main.tf")).expect("the corpus stack");
    let second = "\nresource \"google_compute_url_map\" \"second\" {\n  name            = \"corpus-second\"\n  default_service = google_compute_backend_service.backend.id\n}\n";
    let emu = Emulator::start(EmulatorConfig::for_tests()).await.expect("start the emulator");
    let s = TestStack::new(&[("main.tf", &format!("{text}{second}"))]);
    let c =
        common(s.path(), Registry::standard(GoogleOptions { emulator: Some(emu.endpoint()), ..Default::default() }));
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

/// A Google type without a corpus stack is a type whose arguments nobody has applied.
#[test]
fn every_google_type_has_a_corpus_stack() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/corpus");
    let registry = Registry::standard(GoogleOptions { emulator: None, ..Default::default() });
    let missing: Vec<String> = registry
        .type_names()
        .filter(|t| t.starts_with("google_"))
        .filter(|t| !root.join(t).join("main.tf").is_file())
        .map(str::to_string)
        .collect();
    assert!(missing.is_empty(), "no tests/it/corpus/<type>/main.tf for {missing:?}");
}
