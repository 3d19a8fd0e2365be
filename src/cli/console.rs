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
    input: Box<dyn BufRead + Send>,
}

impl Console {
    /// Standard output, standard error and standard input.
    pub fn std(color: bool) -> Self {
        Console {
            color,
            interactive: std::io::stdin().is_terminal(),
            out: Box::new(std::io::stdout()),
            err: Box::new(std::io::stderr()),
            input: Box::new(std::io::BufReader::new(std::io::stdin())),
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
            input: Box::new(std::io::Cursor::new(input.as_bytes().to_vec())),
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

    /// One line of input as typed (line ending included); empty at end of input.
    pub fn read_line(&mut self) -> String {
        let mut answer = String::new();
        let _ = self.input.read_line(&mut answer);
        answer
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
