//! Done-when 6: a corpus of malformed stacks, each with a located diagnostic, exit 1 and no
//! panic. The rendered messages are snapshot-tested.

use std::path::Path;

use crate::support::*;
use cairn::ops::{self, PlanArgs};
use cairn::providers::Registry;

fn corpus() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/malformed");
    let mut names: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_malformed_stack_gets_a_located_diagnostic() {
    let names = corpus();
    assert!(names.len() >= 25, "the corpus must hold at least 25 stacks, has {}", names.len());
    // Tests run from the package root: relative paths keep snapshots free of machine-specific
    // prefixes.
    for name in names {
        let dir = format!("tests/fixtures/malformed/{name}");
        // A stack is main.tf, or main.tf.json for Terraform's JSON syntax.
        let file = if Path::new(&format!("{dir}/main.tf")).exists() { "main.tf" } else { "main.tf.json" };
        let text = std::fs::read_to_string(format!("{dir}/{file}")).unwrap();
        let c = common(Path::new(&dir), Registry::builtin());
        let result = if text.starts_with("# mode: plan") {
            ops::plan(PlanArgs::new(c)).await.map(|_| ())
        } else {
            ops::validate(&c).await.map(|_| ())
        };
        let err = match result {
            Ok(()) => panic!("{name}: expected an error"),
            Err(e) => e,
        };
        let rendered = describe(&err);
        assert!(rendered.contains(&format!("{dir}/{file}:")), "{name}: diagnostic has no file:line:col:\n{rendered}");
        insta::assert_snapshot!(format!("malformed__{name}"), rendered);
        // State directories created by plan-mode cases are not part of the corpus.
        let _ = std::fs::remove_dir_all(format!("{dir}/state"));
    }
}

#[test]
fn the_binary_exits_1_without_panicking() {
    for name in corpus() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/malformed").join(&name);
        let tmp = tempfile::tempdir().unwrap();
        copy_tree(&src, tmp.path());
        let dir = tmp.path();
        let o = run_cairn(&["plan", dir.to_str().unwrap()], dir);
        assert_eq!(o.status.code(), Some(1), "{name}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{name} panicked: {}", stderr(&o));
        let located = stderr(&o).contains("main.tf:") || stderr(&o).contains("main.tf.json:");
        assert!(located, "{name}: no location in: {}", stderr(&o));
    }
}

fn copy_tree(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_tree(&e.path(), &target);
        } else if e.file_name() != "state" {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}
