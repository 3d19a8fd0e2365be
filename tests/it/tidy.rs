//! The layering ARCHITECTURE.md promises, checked on the source text (like rust-analyzer's
//! `tidy`): what a module must not reach is listed here, so a violation fails a test instead
//! of waiting for a reviewer.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `file:line: text` under `src/<dir>` whose code (comments aside) mentions `needle`.
fn mentions(dir: &str, needle: &str) -> Vec<String> {
    mentions_where(dir, needle, true)
}

/// [`mentions`], in code outside `#[cfg(test)]` modules (which sit at the end of a file).
fn mentions_outside_tests(dir: &str, needle: &str) -> Vec<String> {
    mentions_where(dir, needle, false)
}

fn mentions_where(dir: &str, needle: &str, in_tests: bool) -> Vec<String> {
    let mut files = Vec::new();
    let root = src().join(dir);
    if root.is_file() {
        files.push(root);
    } else {
        rust_files(&root, &mut files);
    }
    let mut hits = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for (i, line) in text.lines().enumerate() {
            if !in_tests && line.trim() == "#[cfg(test)]" {
                break;
            }
            let code = line.split("//").next().unwrap_or("");
            if code.contains(needle) {
                hits.push(format!("{}:{}: {}", f.strip_prefix(src()).unwrap().display(), i + 1, line.trim()));
            }
        }
    }
    hits
}

/// (module directory, what it must not mention, why)
const RULES: &[(&str, &str, &str)] = &[
    ("providers", "crate::plan", "providers adjust a proposal; the core plans (plan::instance)"),
    ("providers", "crate::apply", "providers are called by apply, never the other way"),
    ("state", "crate::providers", "state stores values by schema (crate::schema), whoever provides them"),
    ("lang", "crate::providers", "the language knows schemas, not providers"),
    ("ops", "crate::providers::google", "commands reach Google only through the registry and google_auth"),
    ("state", "crate::plan", "state is below the planner"),
    ("lang", "crate::plan", "the language is below the planner"),
    ("lang", "crate::install", "the loader reads the module cache and lock; only the installer fetches"),
    ("install", "crate::plan", "installing modules is below planning"),
    ("install", "crate::providers", "installing modules needs no provider"),
    ("schema", "crate::plan", "schema, propose and diff are below the planner"),
    ("schema", "crate::providers", "schema, propose and diff are below the providers"),
    ("graph", "crate::plan", "the graph is below the planner"),
    ("plan", "crate::apply", "planning never applies"),
    ("plan", "crate::ops", "the planner does not call commands"),
    (
        "emulator",
        "crate::providers",
        "the emulator is the provider's test oracle: sharing code would hide a bug in both",
    ),
];

/// Google-specific code lives only in providers/google/, the emulator, google_auth and the
/// gcs backend.
const GOOGLE_FREE: &[&str] = &["lang", "graph", "plan", "apply", "schema", "addr.rs"];

#[test]
fn layers_import_only_downwards() {
    let mut problems = Vec::new();
    for (dir, needle, why) in RULES {
        for hit in mentions(dir, needle) {
            problems.push(format!("{hit}\n    src/{dir}/ must not use {needle}: {why}"));
        }
    }
    // Tests may stand in for the core; the types themselves never propose.
    for hit in mentions_outside_tests("providers", "schema::propose::propose") {
        problems.push(format!("{hit}\n    a resource type adjusts the core's proposal, it does not make one"));
    }
    for dir in GOOGLE_FREE {
        for needle in ["google_cloud_", "google_auth", "providers::google"] {
            for hit in mentions(dir, needle) {
                problems.push(format!("{hit}\n    src/{dir} knows nothing about Google Cloud"));
            }
        }
    }
    assert!(problems.is_empty(), "layering violations:\n{}", problems.join("\n"));
}

#[test]
fn main_is_a_thin_wrapper_over_the_library() {
    let main = std::fs::read_to_string(src().join("main.rs")).unwrap();
    let lines = main.lines().count();
    assert!(lines < 80, "src/main.rs has {lines} lines; logic belongs in cli::run, where tests reach it");
}

#[test]
fn production_code_does_not_use_the_tests_emulator_settings() {
    let hits: Vec<String> =
        mentions("", "EmulatorConfig::for_tests").into_iter().filter(|h| !h.starts_with("emulator/mod.rs")).collect();
    assert!(hits.is_empty(), "production code uses the tests' emulator settings:\n{}", hits.join("\n"));
}
