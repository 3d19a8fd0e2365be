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
pub mod lang;
pub mod ops;
pub mod plan;
pub mod providers;
pub mod schema;
pub mod state;
#[cfg(test)]
pub(crate) mod testing;
