//! Fixtures for the library's unit tests: a stack written to a temporary directory, loaded
//! and turned into a graph the way every command does it.

use crate::graph::Graph;

/// The directory the unit tests keep fingerprint keys in (see `private_key_dir_for_tests`).
pub static KEY_DIR: std::sync::Mutex<Option<std::path::PathBuf>> = std::sync::Mutex::new(None);
use crate::lang::config::Config;

/// A loaded stack; the directory lives as long as the value.
pub struct LoadedStack {
    pub config: Config,
    pub graph: Graph,
    _dir: tempfile::TempDir,
}

/// Writes `files` (path → text) into a fresh directory and loads it; panics with the
/// diagnostics if it does not load.
pub fn stack(files: &[(&str, &str)]) -> LoadedStack {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        let path = dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create test dir");
        }
        std::fs::write(path, text).expect("write test file");
    }
    let config = match crate::lang::load::load(dir.path()) {
        Ok(c) => c,
        Err(e) => panic!("the test stack does not load:\n{e}"),
    };
    let graph = match Graph::build(&config) {
        Ok(g) => g,
        Err(d) => panic!("the test stack has no graph:\n{d}"),
    };
    LoadedStack { config, graph, _dir: dir }
}
