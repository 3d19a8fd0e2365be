//! Where a command's output goes and its confirmation comes from: the process's terminal, or
//! buffers a test reads back.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::{Arc, Mutex, PoisonError};

pub struct Console {
    /// Colours in rendered plans and diagnostics.
    pub color: bool,
    /// Whether a person can answer the approval prompt.
    pub interactive: bool,
    out: Box<dyn Write + Send>,
    err: Box<dyn Write + Send>,
    input: Input,
}

/// Where answers come from.
enum Input {
    /// The process's standard input, read on a thread of its own so that waiting for a person
    /// never blocks the runtime (a signal must be able to cancel the wait).
    Stdin,
    Buffer(std::io::Cursor<Vec<u8>>),
}

impl Console {
    /// Standard output, standard error and standard input.
    pub fn std(color: bool) -> Self {
        Console {
            color,
            interactive: std::io::stdin().is_terminal(),
            out: Box::new(std::io::stdout()),
            err: Box::new(std::io::stderr()),
            input: Input::Stdin,
        }
    }

    /// Output into buffers, `input` as what a person types; never colours.
    pub fn captured(input: &str, interactive: bool) -> (Self, Captured) {
        let captured = Captured::default();
        let console = Console {
            color: false,
            interactive,
            out: Box::new(SharedBuf(captured.out.clone())),
            err: Box::new(SharedBuf(captured.err.clone())),
            input: Input::Buffer(std::io::Cursor::new(input.as_bytes().to_vec())),
        };
        (console, captured)
    }

    // A closed stdout or stderr (`cairn plan | head`) ends the process through SIGPIPE; where
    // there is no such signal, output that cannot be written is dropped rather than turned into
    // a failure of the command.
    pub fn out(&mut self, text: &str) {
        let _ = self.out.write_all(text.as_bytes());
    }

    pub fn outln(&mut self, text: &str) {
        let _ = writeln!(self.out, "{text}");
    }

    pub fn err(&mut self, text: &str) {
        let _ = self.err.write_all(text.as_bytes());
    }

    pub fn errln(&mut self, text: &str) {
        let _ = writeln!(self.err, "{text}");
    }

    pub fn flush(&mut self) {
        let _ = self.out.flush();
    }

    /// One line of input as typed (line ending included); empty at end of input or when it
    /// cannot be read.
    pub async fn read_line(&mut self) -> String {
        match &mut self.input {
            Input::Buffer(buffer) => {
                let mut answer = String::new();
                let _ = buffer.read_line(&mut answer);
                answer
            }
            Input::Stdin => {
                // A plain thread, not `spawn_blocking`: if the wait is cancelled the read stays
                // blocked, and the runtime would wait for a blocking task at shutdown.
                let (tx, rx) = tokio::sync::oneshot::channel();
                let spawned = std::thread::Builder::new().name("cairn-stdin".into()).spawn(move || {
                    let mut answer = String::new();
                    let _ = std::io::stdin().lock().read_line(&mut answer);
                    let _ = tx.send(answer);
                });
                match spawned {
                    Ok(_) => rx.await.unwrap_or_default(),
                    Err(_) => String::new(),
                }
            }
        }
    }
}

/// What a captured console received.
#[derive(Clone, Default)]
pub struct Captured {
    out: Arc<Mutex<Vec<u8>>>,
    err: Arc<Mutex<Vec<u8>>>,
}

impl Captured {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.err.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
