//! Cairn: infrastructure as code for Google Cloud, in Terraform's language.
//!
//! See ARCHITECTURE.md for the map of this crate.

pub mod addr;
pub mod cli;
pub mod lang;
pub mod plan;
pub mod providers;
pub mod state;
