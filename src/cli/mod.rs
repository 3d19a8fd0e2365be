//! The command-line edge: how plans, drift, checks and diagnostics are shown to people and tools.

pub mod diagnostics;
pub mod render;
