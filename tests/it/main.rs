//! Cairn's one integration test binary. Modules by concern; `support` has the shared pieces.

mod support;

/// Fingerprint keys live outside the state, in the user's data directory: every test (and
/// every `cairn` it runs, which inherits the environment) keeps them in a directory of this
/// test run instead, set before any test thread starts. Removed at exit.
#[ctor::ctor]
fn private_key_dir() {
    let dir = tempfile::Builder::new()
        .prefix("test-keys-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("a key directory for the tests")
        .keep();
    std::env::set_var("XDG_DATA_HOME", &dir);
    std::env::remove_var(cairn::state::keyfile::KEY_FILE_ENV);
    *TEST_KEY_DIR.lock().unwrap() = Some(dir);
}

static TEST_KEY_DIR: std::sync::Mutex<Option<std::path::PathBuf>> = std::sync::Mutex::new(None);

#[ctor::dtor]
fn remove_key_dir() {
    if let Some(dir) = TEST_KEY_DIR.lock().ok().and_then(|mut d| d.take()) {
        let _ = std::fs::remove_dir_all(dir);
    }
}

mod adaptive_limits;
mod audit;
mod certificate_module;
mod ci_markdown;
mod cli_commands;
mod corpus;
mod crash;
mod critical_path;
mod data_sources;
mod deletion_policy;
mod drift;
mod emulator_bigquery;
mod emulator_compute;
mod emulator_logging;
mod emulator_monitoring;
mod emulator_networks;
mod emulator_realistic;
mod emulator_run;
mod emulator_secretmanager;
mod emulator_sqladmin;
mod emulator_vpcaccess;
mod engine;
mod gcs;
mod generate_config;
mod google_bigquery;
mod google_cli;
mod google_data;
mod google_lb;
mod google_lb_front;
mod google_monitoring;
mod google_run;
mod google_secrets;
mod google_sql_vpc;
mod ignored;
mod json_config;
mod json_ui;
mod keys;
mod lifecycle;
mod locking;
mod malformed;
mod metric_filters;
mod module_expansion;
mod module_sources;
mod numbers;
mod planfile;
mod provider_aliases;
mod recovery;
mod removed_import;
mod secrets;
mod signals;
mod stacks;
mod staging;
mod tidy;
mod time_functions;
mod version_constraints;
mod workspaces;
