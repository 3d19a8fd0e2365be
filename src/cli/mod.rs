//! The command-line edge: parsing the command line, calling the operation it names, and
//! showing plans, drift, checks and diagnostics to people and tools. `src/main.rs` only sets
//! up the process around [`run()`].

pub mod args;
pub mod console;
pub mod diagnostics;
pub mod render;
pub mod repl;
pub mod run;
pub mod signals;

pub use args::{parse, Cli, ParseFailure};
pub use console::Console;
pub use run::{init_logging, run, use_color};
pub use signals::Stop;
