//! `cairn`: sets up the process (signals, logging, the async runtime) around `cairn::cli::run`,
//! which decides everything else.

use std::io::IsTerminal;
use std::process::ExitCode;

use cairn::cli::{self, Console};

fn main() -> ExitCode {
    // Output piped into `head` and the like: end quietly when the reader goes away, as Unix
    // tools do, instead of failing (and panicking in print!) on a closed pipe.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of one signal before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let parsed = match cli::parse(std::env::args_os()) {
        Ok(parsed) => parsed,
        Err(failure) => {
            failure.print();
            return ExitCode::from(failure.exit_code());
        }
    };
    let no_color_env = std::env::var_os("NO_COLOR").is_some();
    let color = cli::use_color(parsed.no_color, std::io::stdout().is_terminal(), no_color_env);
    cli::init_logging(parsed.verbose, color);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("Error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let mut console = Console::std(color);
    ExitCode::from(runtime.block_on(async {
        let stop = match cli::Stop::listen() {
            Ok(stop) => stop,
            Err(e) => {
                eprintln!("Error: cannot handle SIGINT and SIGTERM: {e}");
                return 1;
            }
        };
        cli::run(parsed, &mut console, stop).await
    }))
}
