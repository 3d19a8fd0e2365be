//! Terraform's built-in functions over [`Value`]s.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::lang::value::Value;

/// What functions may need from the outside world.
pub struct FuncContext<'a> {
    /// Relative paths given to `file()` / `templatefile()` resolve against this directory
    /// (the stack directory — never the process's working directory).
    pub base_dir: PathBuf,
    /// Renders a template string with the given variables (used by `templatefile`).
    pub render_template: &'a dyn Fn(&str, &BTreeMap<String, Value>) -> Result<Value, String>,
}

/// A function call failure: the message, and which argument (0-based) was at fault, if known.
#[derive(Debug, Clone, PartialEq)]
pub struct FuncError {
    pub message: String,
    pub arg: Option<usize>,
}

/// Calls the function `name`. `try` and `can` are not here: they need unevaluated arguments and
/// live in the evaluator.
pub fn call(name: &str, args: Vec<Value>, ctx: &FuncContext) -> Result<Value, FuncError> {
    let _ = (args, ctx);
    Err(FuncError { message: format!("there is no function named \"{name}\""), arg: None })
}

/// Names of every function `call` knows, for "did you mean" suggestions.
pub fn names() -> &'static [&'static str] {
    &[]
}
