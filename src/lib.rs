//! Cairn: infrastructure as code for Google Cloud, in Terraform's language.
//!
//! See ARCHITECTURE.md for the map of this crate.

pub mod addr;
pub mod apply;
pub mod cli;
pub mod emulator;
#[cfg(test)]
mod fuzz;
pub mod google_auth;
pub mod graph;
pub mod install;
pub mod lang;
pub mod memory;
pub mod ops;
pub mod plan;
pub mod providers;
pub mod schema;
pub mod stacks;
pub mod state;
#[cfg(test)]
pub(crate) mod testing;
pub mod version;

/// Unit tests that open a state make fingerprint keys, which live in the user's data
/// directory: they go to a directory of this test run instead, set before any test thread
/// starts (and removed at exit).
#[cfg(test)]
#[ctor::ctor]
fn private_key_dir_for_tests() {
    let dir = tempfile::Builder::new().prefix("cairn-test-keys-").tempdir().expect("a key directory").keep();
    std::env::set_var("XDG_DATA_HOME", &dir);
    std::env::remove_var(state::keyfile::KEY_FILE_ENV);
    *testing::KEY_DIR.lock().unwrap() = Some(dir);
}

#[cfg(test)]
#[ctor::dtor]
fn remove_key_dir_for_tests() {
    if let Some(dir) = testing::KEY_DIR.lock().ok().and_then(|mut d| d.take()) {
        let _ = std::fs::remove_dir_all(dir);
    }
}
