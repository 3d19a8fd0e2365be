//! Apply progress events, and the sinks that show them.

use std::time::Duration;

use crate::addr::InstanceAddr;
use crate::plan::Action;

#[derive(Clone, Debug)]
pub enum ApplyEvent {
    Started { addr: InstanceAddr, action: Action },
    /// Emitted periodically while a step runs.
    Still { addr: InstanceAddr, action: Action, elapsed: Duration },
    /// A provider's own progress note ("waiting for operation …").
    Message { addr: InstanceAddr, message: String },
    Finished { addr: InstanceAddr, action: Action, elapsed: Duration },
    Failed { addr: InstanceAddr, message: String },
}

pub trait Progress: Send + Sync {
    fn event(&self, e: ApplyEvent);
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
/// `addr: Creation complete after 12s`.
pub struct Lines {
    pub color: bool,
}

impl Progress for Lines {
    fn event(&self, e: ApplyEvent) {
        use owo_colors::OwoColorize;
        let line = match e {
            ApplyEvent::Started { addr, action } => format!("{addr}: {}...", verb(action).0),
            ApplyEvent::Still { addr, action, elapsed } => format!("{addr}: {}... [{}s elapsed]", still(action), elapsed.as_secs()),
            ApplyEvent::Message { addr, message } => format!("{addr}: {message}"),
            ApplyEvent::Finished { addr, action, elapsed } => format!("{addr}: {} after {}s", verb(action).1, elapsed.as_secs()),
            ApplyEvent::Failed { addr, message } => {
                let m = format!("{addr}: failed: {message}");
                if self.color { format!("{}", m.red()) } else { m }
            }
        };
        let line = if self.color && !line.contains("failed") { format!("{}", line.bold()) } else { line };
        eprintln!("{line}");
    }
}
