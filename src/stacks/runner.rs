//! Runs one command (plan, apply, drift, check) on each selected stack, as a child process of
//! the same binary: a stack starts once every selected stack it depends on has finished
//! successfully; stacks with no path between them run at the same time, up to a bound.
//!
//! Child processes rather than calls into `ops`: each stack's run is exactly the
//! single-stack command (its own embedded emulator, state lock, variables from its own
//! `*.tfvars`, exit code), its output is captured whole and shown as one block, and one
//! stack's failure, however it happens, cannot take the others down.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::task::JoinSet;

use super::StackSet;
use crate::apply::Interrupt;

/// A program to run each stack's command with instead of this binary, given the same
/// arguments (global flags, the command, the stack's directory, its flags): a wrapper that
/// sets per-stack credentials or records timings, then runs cairn.
pub const PROGRAM_ENV: &str = "CAIRN_STACKS_PROGRAM";

/// The command run on each stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Plan,
    Apply,
    Drift,
    Check,
}

impl Operation {
    pub fn name(self) -> &'static str {
        match self {
            Operation::Plan => "plan",
            Operation::Apply => "apply",
            Operation::Drift => "drift",
            Operation::Check => "check",
        }
    }

    /// What an exit code means for this command, as the summary shows it.
    fn result(self, code: i32) -> &'static str {
        match (self, code) {
            (Operation::Plan, 0) => "no changes",
            (Operation::Plan, 2) => "changes",
            (Operation::Apply, 0) => "applied",
            (Operation::Drift, 0) => "in sync",
            (Operation::Drift, 2) => "drift",
            (Operation::Check, 0) => "healthy",
            (Operation::Check, 2) => "failing",
            _ => "failed",
        }
    }

    /// Whether the stack's command succeeded (exit 2 is a finding, not a failure, for every
    /// command but apply).
    fn succeeded(self, code: i32) -> bool {
        code == 0 || (code == 2 && self != Operation::Apply)
    }
}

/// How each stack's command is run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub operation: Operation,
    /// Stacks running at once, at most.
    pub parallelism: usize,
    /// The program: this binary.
    pub program: PathBuf,
    /// Arguments before the subcommand (`--emulator`, `-v`).
    pub global_args: Vec<OsString>,
    /// Arguments after the stack's directory.
    pub args: Vec<OsString>,
}

/// How one stack's run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The command exited with this code.
    Exited(i32),
    /// It could not be started, or a signal ended it.
    Broken(String),
    /// Not run: this selected stack it depends on did not succeed (`None`: interrupted).
    Skipped(Option<usize>),
}

/// One stack's run.
#[derive(Clone, Debug)]
pub struct StackRun {
    pub stack: usize,
    pub outcome: Outcome,
    /// Since the first stack started.
    pub started: Duration,
    pub took: Duration,
    /// Standard output and standard error, interleaved line by line as they came.
    pub output: Vec<u8>,
}

impl StackRun {
    pub fn succeeded(&self, op: Operation) -> bool {
        matches!(self.outcome, Outcome::Exited(c) if op.succeeded(c))
    }

    /// The summary's word for it.
    pub fn result(&self, op: Operation, set: &StackSet) -> String {
        match &self.outcome {
            Outcome::Exited(c) if op.result(*c) == "failed" => format!("failed (exit {c})"),
            Outcome::Exited(c) => op.result(*c).to_string(),
            Outcome::Broken(why) => format!("failed ({why})"),
            Outcome::Skipped(Some(dep)) => format!("skipped: {} did not succeed", set.display(*dep)),
            Outcome::Skipped(None) => "skipped: interrupted".to_string(),
        }
    }
}

/// Every selected stack's run, in run order, and how many ran at once at most.
#[derive(Debug)]
pub struct RunReport {
    pub runs: Vec<StackRun>,
    pub peak: usize,
}

impl RunReport {
    /// The exit code of the whole run, as the single command's: 1 when a stack failed or was
    /// skipped, else 2 when one found something (changes with `detailed` for plan; drift;
    /// failing checks), else 0.
    pub fn exit_code(&self, op: Operation, detailed: bool) -> u8 {
        if self.runs.iter().any(|r| !r.succeeded(op)) {
            return 1;
        }
        let found = self.runs.iter().any(|r| r.outcome == Outcome::Exited(2));
        match op {
            Operation::Plan if found && detailed => 2,
            Operation::Drift | Operation::Check if found => 2,
            _ => 0,
        }
    }
}

enum Status {
    Waiting,
    Running,
    Finished(bool),
}

/// Runs `order`'s stacks (a run order from [`StackSet::order`]); `finished` sees each
/// stack's run as it ends. A signal (the parent's `interrupt`) starts no new stack and is
/// passed on to the running ones, which stop as their single command would.
pub async fn run(
    set: &StackSet,
    order: &[usize],
    opts: &RunOptions,
    interrupt: &Interrupt,
    mut finished: impl FnMut(&StackRun),
) -> RunReport {
    // From here a signal does not cancel this command: it is passed on to the children, and
    // this waits for them.
    interrupt.begin_applying();
    let selected: BTreeSet<usize> = order.iter().copied().collect();
    let deps: Vec<Vec<usize>> =
        order.iter().map(|&i| set.deps[i].keys().copied().filter(|d| selected.contains(d)).collect()).collect();
    let position = |stack: usize| order.iter().position(|&s| s == stack).expect("a selected stack");
    let mut status: Vec<Status> = order.iter().map(|_| Status::Waiting).collect();
    let mut runs: Vec<Option<StackRun>> = order.iter().map(|_| None).collect();
    let mut running: JoinSet<(usize, StackRun)> = JoinSet::new();
    let mut pids: Vec<(usize, u32)> = Vec::new();
    let mut forwarded = 0u8;
    let mut peak = 0;
    let start = Instant::now();
    loop {
        // Skip what waits on a stack that did not succeed (run order: dependencies first).
        for p in 0..order.len() {
            if !matches!(status[p], Status::Waiting) {
                continue;
            }
            let failed = deps[p].iter().find(|&&d| matches!(status[position(d)], Status::Finished(false)));
            let because = match failed {
                Some(&d) => Some(Some(d)),
                None if interrupt.level() > 0 => Some(None),
                None => None,
            };
            if let Some(because) = because {
                let run = StackRun {
                    stack: order[p],
                    outcome: Outcome::Skipped(because),
                    started: start.elapsed(),
                    took: Duration::ZERO,
                    output: Vec::new(),
                };
                finished(&run);
                runs[p] = Some(run);
                status[p] = Status::Finished(false);
            }
        }
        for p in 0..order.len() {
            if running.len() >= opts.parallelism.max(1) {
                break;
            }
            let ready = matches!(status[p], Status::Waiting)
                && deps[p].iter().all(|&d| matches!(status[position(d)], Status::Finished(true)));
            if !ready {
                continue;
            }
            status[p] = Status::Running;
            let mut command = tokio::process::Command::new(&opts.program);
            command
                .args(&opts.global_args)
                .arg(opts.operation.name())
                .arg(set.dir(order[p]))
                .args(&opts.args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            // Its own process group: a Ctrl-C at the terminal reaches this process only, which
            // passes it on once (a second one would stop the child's apply at once).
            #[cfg(unix)]
            command.process_group(0);
            let stack = order[p];
            let started = start.elapsed();
            match command.spawn() {
                Ok(child) => {
                    if let Some(pid) = child.id() {
                        pids.push((p, pid));
                    }
                    running.spawn(async move {
                        let (outcome, output) = wait(child).await;
                        (p, StackRun { stack, outcome, started, took: start.elapsed() - started, output })
                    });
                }
                Err(e) => {
                    let run = StackRun {
                        stack,
                        outcome: Outcome::Broken(format!("cannot start {}: {e}", opts.program.display())),
                        started,
                        took: Duration::ZERO,
                        output: Vec::new(),
                    };
                    finished(&run);
                    runs[p] = Some(run);
                    status[p] = Status::Finished(false);
                }
            }
        }
        peak = peak.max(running.len());
        if running.is_empty() {
            if status.iter().any(|s| matches!(s, Status::Waiting)) {
                // A spawn failure just finished a stack: its dependents are skipped next round.
                continue;
            }
            break;
        }
        let joined = tokio::select! {
            joined = running.join_next() => joined,
            _ = tokio::time::sleep(Duration::from_millis(100)), if interrupt.level() == forwarded => None,
            _ = std::future::ready(()), if interrupt.level() > forwarded => None,
        };
        if interrupt.level() > forwarded {
            forwarded = interrupt.level();
            #[cfg(unix)]
            for (_, pid) in &pids {
                // SAFETY: kill(2) on a child this process started and has not reaped.
                unsafe {
                    libc::kill(*pid as libc::pid_t, libc::SIGINT);
                }
            }
        }
        if let Some(joined) = joined {
            let (p, run) = match joined {
                Ok(done) => done,
                Err(e) => {
                    // The waiting task itself failed: nothing more is known of that stack.
                    tracing::warn!("a stack's run ended abnormally: {e}");
                    continue;
                }
            };
            pids.retain(|(q, _)| *q != p);
            status[p] = Status::Finished(run.succeeded(opts.operation));
            finished(&run);
            runs[p] = Some(run);
        }
    }
    RunReport { runs: runs.into_iter().flatten().collect(), peak }
}

/// Collects a child's output (both streams, line by line in arrival order) and its end.
async fn wait(mut child: tokio::process::Child) -> (Outcome, Vec<u8>) {
    let mut output = Vec::new();
    let mut out = child.stdout.take().map(|s| BufReader::new(s).split(b'\n'));
    let mut err = child.stderr.take().map(|s| BufReader::new(s).split(b'\n'));
    while out.is_some() || err.is_some() {
        let line = tokio::select! {
            l = async { out.as_mut().expect("open").next_segment().await }, if out.is_some() => (0, l),
            l = async { err.as_mut().expect("open").next_segment().await }, if err.is_some() => (1, l),
        };
        match line {
            (_, Ok(Some(mut bytes))) => {
                bytes.push(b'\n');
                output.extend_from_slice(&bytes);
            }
            (0, _) => out = None,
            (_, _) => err = None,
        }
    }
    let outcome = match child.wait().await {
        Ok(status) => match status.code() {
            Some(c) => Outcome::Exited(c),
            None => Outcome::Broken(format!("ended by {status}")),
        },
        Err(e) => Outcome::Broken(format!("cannot wait for it: {e}")),
    };
    (outcome, output)
}

/// The table printed after every stack has run.
pub fn summary(set: &StackSet, op: Operation, report: &RunReport, parallelism: usize) -> String {
    let rows: Vec<[String; 4]> = report
        .runs
        .iter()
        .map(|r| {
            let (started, took) = match r.outcome {
                Outcome::Skipped(_) => ("-".to_string(), "-".to_string()),
                _ => (format!("+{:.1}s", r.started.as_secs_f64()), format!("{:.1}s", r.took.as_secs_f64())),
            };
            [set.display(r.stack), r.result(op, set), started, took]
        })
        .collect();
    let header = ["STACK".to_string(), "RESULT".to_string(), "STARTED".to_string(), "TOOK".to_string()];
    let mut widths = [0usize; 4];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |row: &[String; 4]| {
        let cells: Vec<String> = row.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect();
        format!("{}\n", cells.join("  ").trim_end())
    };
    let mut text = format!("\ncairn stacks {}: {} stacks\n\n", op.name(), report.runs.len());
    text.push_str(&line(&header));
    for row in &rows {
        text.push_str(&line(row));
    }
    text.push_str(&format!("\nAt most {} ran at once (--parallelism {parallelism}).\n", report.peak));
    text
}

/// One stack's block of output: a header line, then what its command printed.
pub fn block(set: &StackSet, op: Operation, run: &StackRun) -> String {
    let mut text = format!("── {} · {} {} ──\n", set.display(run.stack), op.name(), run.result(op, set));
    text.push_str(&String::from_utf8_lossy(&run.output));
    if !run.output.is_empty() && !run.output.ends_with(b"\n") {
        text.push('\n');
    }
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> (tempfile::TempDir, StackSet) {
        let dir = tempfile::tempdir().unwrap();
        for name in ["a", "b"] {
            std::fs::create_dir_all(dir.path().join(name)).unwrap();
            std::fs::write(dir.path().join(name).join("main.tf"), "variable \"x\" {\n  default = 1\n}\n").unwrap();
        }
        let set = super::super::discover(dir.path()).unwrap();
        (dir, set)
    }

    fn report(outcomes: &[Outcome]) -> RunReport {
        let runs = outcomes
            .iter()
            .enumerate()
            .map(|(i, o)| StackRun {
                stack: i,
                outcome: o.clone(),
                started: Duration::from_millis(100 * i as u64),
                took: Duration::from_millis(1500),
                output: Vec::new(),
            })
            .collect();
        RunReport { runs, peak: 2 }
    }

    #[test]
    fn exit_codes_follow_the_single_commands() {
        use Outcome::*;
        let found = report(&[Exited(0), Exited(2)]);
        assert_eq!(found.exit_code(Operation::Plan, false), 0);
        assert_eq!(found.exit_code(Operation::Plan, true), 2);
        assert_eq!(found.exit_code(Operation::Drift, false), 2);
        assert_eq!(found.exit_code(Operation::Check, false), 2);
        // apply has no "found something": 2 is not one of its codes, so it is a failure.
        assert_eq!(found.exit_code(Operation::Apply, false), 1);
        assert_eq!(report(&[Exited(0), Exited(0)]).exit_code(Operation::Drift, false), 0);
        for broken in [Exited(1), Broken("ended by signal: 9".into()), Skipped(Some(0)), Skipped(None)] {
            assert_eq!(report(&[Exited(2), broken.clone()]).exit_code(Operation::Plan, true), 1, "{broken:?}");
        }
    }

    #[test]
    fn the_summary_is_a_table_with_each_result() {
        let (_dir, set) = set();
        let r = report(&[Outcome::Exited(1), Outcome::Skipped(Some(0))]);
        let text = summary(&set, Operation::Apply, &r, 3);
        let a = set.display(0);
        assert!(text.contains("cairn stacks apply: 2 stacks"), "{text}");
        let row = text.lines().find(|l| l.starts_with(&a)).unwrap_or_default();
        assert!(row.contains("failed (exit 1)") && row.contains("+0.0s") && row.ends_with("1.5s"), "{text}");
        assert!(text.contains(&format!("skipped: {a} did not succeed")), "{text}");
        assert!(text.contains("At most 2 ran at once (--parallelism 3)."), "{text}");
        let block = block(&set, Operation::Check, &StackRun { output: b"ok".to_vec(), ..r.runs[0].clone() });
        assert_eq!(block, format!("── {a} · check failed (exit 1) ──\nok\n\n"));
    }
}
