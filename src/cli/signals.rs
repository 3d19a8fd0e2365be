//! SIGINT (Ctrl-C) and SIGTERM (what CI runners send to cancel a job) are handled alike. Before
//! anything has started to change (loading, planning, refreshing, the approval prompt) a signal
//! cancels the command: its future is dropped, which releases the state lock, and it exits 1.
//! Once an apply's steps may be in flight, the first signal stops scheduling and lets them
//! finish and be recorded; a second stops at once, leaving them to the journal.
//!
//! SIGHUP keeps its default disposition, as in Terraform: handling it would also override
//! `nohup`, which runs an apply on purpose past the end of its terminal session.

use std::io::Write;

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

use super::run::interrupt_message;
use crate::apply::{Interrupt, Signalled};

/// The signals a command listens to, and the interrupt they raise.
pub struct Stop {
    pub interrupt: Interrupt,
    /// One message per cancelling signal: whether it came at the approval prompt.
    cancelled: mpsc::UnboundedReceiver<bool>,
}

impl Stop {
    /// Handles SIGINT and SIGTERM for the rest of the process. Must run inside the runtime.
    pub fn listen() -> std::io::Result<Stop> {
        let mut sigint = signal(SignalKind::interrupt())?;
        let mut sigterm = signal(SignalKind::terminate())?;
        let interrupt = Interrupt::new();
        let shared = interrupt.clone();
        let (tx, cancelled) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                let received = tokio::select! {
                    s = sigint.recv() => s,
                    s = sigterm.recv() => s,
                };
                if received.is_none() {
                    return;
                }
                match shared.signal() {
                    Signalled::Cancel { at_prompt } => {
                        let _ = tx.send(at_prompt);
                    }
                    // Not through the console, which the command holds; a closed stderr must
                    // not end the handler either.
                    Signalled::Raised(level) => {
                        let _ = writeln!(std::io::stderr(), "{}", interrupt_message(level));
                    }
                }
            }
        });
        Ok(Stop { interrupt, cancelled })
    }

    /// No signal handling: for running a command inside another program (a test), whose own
    /// signal dispositions stay as they were.
    pub fn unhandled() -> Stop {
        let (_, cancelled) = mpsc::unbounded_channel();
        Stop { interrupt: Interrupt::new(), cancelled }
    }

    /// Whether a cancelling signal arrived that nobody has acted on yet (with whether it came at
    /// the approval prompt): the command may finish in the same instant, having seen the
    /// interrupt and started nothing, before [`Stop::cancelled`] is polled.
    pub fn cancelled_meanwhile(&mut self) -> Option<bool> {
        self.cancelled.try_recv().ok()
    }

    /// Resolves when a signal cancels the command, with whether it came at the approval
    /// prompt; never, when signals are not handled.
    pub async fn cancelled(&mut self) -> bool {
        match self.cancelled.recv().await {
            Some(at_prompt) => at_prompt,
            None => std::future::pending().await,
        }
    }
}
