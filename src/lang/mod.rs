//! HCL → Config, and expression evaluation with unknown and sensitive values.

pub mod config;
pub mod console_format;
pub mod diag;
pub mod duration;
pub mod eval;
pub mod fmt;
pub mod functions;
pub mod limits;
pub mod load;
pub mod load_json;
pub mod module_lock;
pub mod module_source;
pub mod number;
pub mod refs;
pub mod types;
pub mod value;
pub mod vars;
