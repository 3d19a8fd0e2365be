//! `cairn console`: Terraform's REPL. Values are shown as Terraform's console shows them
//! (`internal/repl/format.go`): HCL-like, one element a line, sets as `toset([...])`,
//! multi-line strings as heredocs, and never the inside of a sensitive value.

use super::console::Console;
use super::diagnostics::render_diagnostics;
use crate::lang::console_format::format_value;
use crate::ops::{ConsoleScope, OpError};

const PROMPT: &str = "> ";

/// Reads expressions until `exit` or the end of input, printing each value. At a terminal
/// an error is shown and the session goes on; reading a pipe or file, the first error ends
/// it with exit 1 (a script must not read on past a failure).
pub async fn run_console(scope: &mut ConsoleScope, console: &mut Console) -> u8 {
    let interactive = console.interactive;
    loop {
        if interactive {
            console.out(PROMPT);
            console.flush();
        }
        let line = console.read_line().await;
        if line.is_empty() {
            // End of input: at a terminal, end the prompt's line first.
            if interactive {
                console.outln("");
            }
            return 0;
        }
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        if text == "exit" {
            return 0;
        }
        match scope.eval(text) {
            Ok(v) => console.outln(&format_value(&v, 0)),
            Err(e) => {
                match &e {
                    OpError::Diagnostics { sources, diags } => {
                        console.err(&render_diagnostics(sources, diags, console.color))
                    }
                    other => console.errln(&format!("Error: {other}")),
                }
                if !interactive {
                    return 1;
                }
            }
        }
    }
}
