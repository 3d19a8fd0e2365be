//! HCL → Config, and expression evaluation with unknown and sensitive values.

pub mod config;
pub mod diag;
pub mod fmt;
pub mod functions;
pub mod types;
pub mod value;
pub mod refs;
pub mod eval;
pub mod load;
pub mod vars;
