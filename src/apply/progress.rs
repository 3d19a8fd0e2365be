//! Apply progress events, and the sinks that show them.

use std::time::Duration;

use crate::addr::InstanceAddr;
use crate::plan::Action;

#[derive(Clone, Debug)]
pub enum ApplyEvent {
    Started {
        addr: InstanceAddr,
        action: Action,
        /// The object's `id` before the step (updates and deletes), when known and not secret.
        id: Option<String>,
    },
    /// Emitted periodically while a step runs.
    Still { addr: InstanceAddr, action: Action, elapsed: Duration },
    /// A provider's own progress note ("waiting for operation …").
    Message { addr: InstanceAddr, message: String },
    Finished {
        addr: InstanceAddr,
        action: Action,
        elapsed: Duration,
        /// The object's `id` after the step (before it, for a delete), when known and not secret.
        id: Option<String>,
    },
    Failed {
        addr: InstanceAddr,
        action: Action,
        /// Since the step started (zero when it could not start).
        elapsed: Duration,
        message: String,
    },
}

pub trait Progress: Send + Sync {
    fn event(&self, e: ApplyEvent);
}

/// An object's `id` attribute as the machine-readable UI names it (`id_key`/`id_value`): only
/// a known string that is not secret.
pub fn object_id(object: Option<&crate::lang::value::Value>) -> Option<String> {
    let id = object?.get("id")?;
    if id.contains_sensitive() {
        return None;
    }
    id.as_str().filter(|s| !s.is_empty()).map(str::to_string)
}

/// Discards events (tests, benchmarks).
pub struct Silent;

impl Progress for Silent {
    fn event(&self, _: ApplyEvent) {}
}

fn verb(a: Action) -> (&'static str, &'static str) {
    match a {
        Action::Create => ("Creating", "Creation complete"),
        Action::Update => ("Modifying", "Modifications complete"),
        Action::Delete => ("Destroying", "Destruction complete"),
        Action::Forget => ("Forgetting", "Removed from state (the object is kept)"),
        _ => ("Reading", "Read complete"),
    }
}

fn still(a: Action) -> &'static str {
    match a {
        Action::Create => "Still creating",
        Action::Update => "Still modifying",
        Action::Delete => "Still destroying",
        _ => "Still reading",
    }
}

/// Terraform-style lines on stderr: `addr: Creating...`, `addr: Still creating... [10s elapsed]`,
/// `addr: Creation complete after 12s`. A provider's own notes are shown at most every few
/// seconds per resource, so fast polling does not flood the terminal.
pub struct Lines {
    pub color: bool,
    last_note: std::sync::Mutex<std::collections::HashMap<InstanceAddr, std::time::Instant>>,
}

impl Lines {
    pub fn new(color: bool) -> Self {
        Lines { color, last_note: Default::default() }
    }

    fn note_due(&self, addr: &InstanceAddr) -> bool {
        const EVERY: Duration = Duration::from_secs(5);
        let Ok(mut last) = self.last_note.lock() else { return true };
        let now = std::time::Instant::now();
        match last.get(addr) {
            Some(t) if now.duration_since(*t) < EVERY => false,
            _ => {
                last.insert(addr.clone(), now);
                true
            }
        }
    }
}

impl Progress for Lines {
    fn event(&self, e: ApplyEvent) {
        use owo_colors::OwoColorize;
        if let ApplyEvent::Message { addr, .. } = &e {
            if !self.note_due(addr) {
                return;
            }
        }
        let line = match e {
            ApplyEvent::Started { addr, action, .. } => format!("{addr}: {}...", verb(action).0),
            ApplyEvent::Still { addr, action, elapsed } => {
                format!("{addr}: {}... [{}s elapsed]", still(action), elapsed.as_secs())
            }
            ApplyEvent::Message { addr, message } => format!("{addr}: {message}"),
            ApplyEvent::Finished { addr, action, elapsed, .. } => {
                format!("{addr}: {} after {}s", verb(action).1, elapsed.as_secs())
            }
            ApplyEvent::Failed { addr, message, .. } => {
                let m = format!("{addr}: failed: {message}");
                if self.color {
                    format!("{}", m.red())
                } else {
                    m
                }
            }
        };
        let line = if self.color && !line.contains("failed") { format!("{}", line.bold()) } else { line };
        eprintln!("{line}");
    }
}
