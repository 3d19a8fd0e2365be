//! Terraform's JSON configuration syntax (issue 17, done-when 3): a `.tf.json` stack and a
//! mixed `.tf` + `.tf.json` stack plan exactly like their HCL twin, and what goes wrong in a
//! JSON file is located in it.

use std::path::Path;

use cairn::cli::render::{text::plan_text, RenderOptions};
use cairn::emulator::{Emulator, EmulatorConfig};
use cairn::ops;
use cairn::providers::google::GoogleOptions;
use cairn::providers::Registry;

use crate::support::*;

/// A fixture stack copied into a fresh directory (plans must not leave files in the tree).
fn twin(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/json_twins").join(name), dir.path());
    dir
}

fn copy(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_and_mixed_stacks_plan_exactly_like_their_hcl_twin() {
    let emu = Emulator::start(EmulatorConfig::for_tests()).await.expect("start the emulator");
    let mut rendered = Vec::new();
    for name in ["hcl", "json", "mixed"] {
        let dir = twin(name);
        let c = common(
            dir.path(),
            Registry::standard(GoogleOptions { emulator: Some(emu.endpoint()), ..Default::default() }),
        );
        let p = plan(&c).await;
        rendered.push(plan_text(&p, &RenderOptions { color: false }));
    }
    let hcl = &rendered[0];
    // The twin exercises what the JSON mapping has to get right: labels as nested keys, a
    // provider-schema nested block with a dynamic block inside, templates with escapes,
    // references read from strings (depends_on, import/moved addresses, a type), lifecycle.
    for expected in [
        "random_id.imported will be imported",
        "google_secret_manager_secret.app[\"api-key\"]",
        "europe-west4",
        "twin-",
        "literal",
        "terraform_data.service[\"auth\"]",
        "random_id.shard[1]",
    ] {
        assert!(hcl.contains(expected), "the HCL plan lacks {expected:?}:\n{hcl}");
    }
    assert_eq!(&rendered[1], hcl, "the .tf.json stack plans unlike its HCL twin");
    assert_eq!(&rendered[2], hcl, "the mixed stack plans unlike its HCL twin");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_evaluation_error_in_a_json_file_points_into_it() {
    let s = TestStack::new(&[(
        "main.tf.json",
        r#"{
  "resource": {
    "random_id": {
      "a": {
        "count": "${-1}",
        "byte_length": 4
      }
    }
  }
}
"#,
    )]);
    let err = match ops::plan(ops::PlanArgs::new(common(s.path(), Registry::builtin()))).await {
        Ok(_) => panic!("a negative count plans"),
        Err(e) => describe(&e),
    };
    assert!(err.contains("main.tf.json:5:18"), "{err}");
}

#[test]
fn fmt_leaves_json_files_alone_and_validate_locates_json_syntax_errors() {
    let s =
        TestStack::new(&[("main.tf.json", "{\"locals\":   {\"a\":1}}\n"), ("other.tf", "locals {\n     b = 2\n}\n")]);
    let o = run_cairn(&["fmt", s.path().to_str().unwrap()], s.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(s.path().join("main.tf.json")).unwrap(), "{\"locals\":   {\"a\":1}}\n");
    assert_eq!(std::fs::read_to_string(s.path().join("other.tf")).unwrap(), "locals {\n  b = 2\n}\n");

    s.write("main.tf.json", "{\"locals\": {\"a\": 1,}}\n");
    let o = run_cairn(&["validate", s.path().to_str().unwrap()], s.path());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("main.tf.json:1:"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
}
