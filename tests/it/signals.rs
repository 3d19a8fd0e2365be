//! Issue 14 §4: SIGTERM (what CI runners send on cancel) and Ctrl-C, in every phase of a command
//! that holds the state lock. The real binary, signalled with `kill`.

use std::io::Read;
use std::os::unix::io::FromRawFd;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::*;

/// Four health checks whose creates take 2 s each (the embedded emulator's operations).
const HEALTH_CHECKS: &str = r#"
provider "google" {
  project = "demo-project"
}

resource "google_compute_health_check" "hc" {
  count = 4
  name  = "hc-${count.index}"
  http_health_check {
    port = 80
  }
}
"#;

const TWO_DATA: &str =
    "resource \"terraform_data\" \"a\" {\n  input = 1\n}\n\nresource \"terraform_data\" \"b\" {\n  input = 2\n}\n";

/// A running cairn whose stdout and stderr are collected as they come.
struct Running {
    child: Child,
    out: Arc<Mutex<String>>,
    err: Arc<Mutex<String>>,
}

impl Running {
    fn spawn(mut cmd: Command) -> Running {
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn cairn");
        let out = collect(child.stdout.take().expect("stdout"));
        let err = collect(child.stderr.take().expect("stderr"));
        Running { child, out, err }
    }

    fn all(&self) -> String {
        format!("{}{}", self.out.lock().unwrap(), self.err.lock().unwrap())
    }

    /// Waits until the output holds `needle` `times` times.
    fn wait_for(&mut self, needle: &str, times: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.all().matches(needle).count() < times {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("cairn ended ({status}) before printing {needle:?} {times} times:\n{}", self.all());
            }
            assert!(Instant::now() < deadline, "no {needle:?} x{times} within 60 s:\n{}", self.all());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid");
        // SAFETY: kill(2) with the pid of a child this test spawned and has not reaped yet.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0, "kill: {}", std::io::Error::last_os_error());
    }

    /// Waits for the exit (killing it after `limit`, which fails the test) and returns its exit
    /// code (None: ended by a signal), stdout and stderr.
    fn finish(mut self, limit: Duration) -> (Option<i32>, String, String) {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("cairn still running {limit:?} after the signal:\n{}", self.all());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // The readers end with the pipes; give them a moment to take the last bytes.
        std::thread::sleep(Duration::from_millis(100));
        let out = self.out.lock().unwrap().clone();
        let err = self.err.lock().unwrap().clone();
        (status.code(), out, err)
    }
}

fn collect(mut from: impl Read + Send + 'static) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let into = text.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 {
                break;
            }
            into.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    text
}

fn cairn(args: &[&str], cwd: &Path) -> Command {
    let mut cmd = Command::new(cairn_bin());
    cmd.args(args).current_dir(cwd).env("NO_COLOR", "1").env_remove("CAIRN_GCP_EMULATOR");
    cmd
}

fn emulated(args: &[&str], cwd: &Path) -> std::process::Output {
    let mut all = vec!["--emulator"];
    all.extend_from_slice(args);
    cairn(&all, cwd).output().expect("run cairn")
}

/// The lock is free and was released, not left to be taken over: a plan takes it at once
/// with no word of a stale lock.
fn assert_lock_released(dir: &str, cwd: &Path, emulator: bool) {
    let lock = Path::new(dir).join("state").join("cairn.lock");
    if let Ok(meta) = std::fs::metadata(&lock) {
        assert_eq!(meta.len(), 0, "the lock file still names a holder: {:?}", std::fs::read_to_string(&lock));
    }
    let o = if emulator { emulated(&["plan", dir], cwd) } else { run_cairn(&["plan", dir], cwd) };
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{}{err}", stdout(&o));
    assert!(!err.contains("stale state lock"), "the lock was left held by the signalled process:\n{err}");
}

fn state_list(dir: &str, cwd: &Path) -> Vec<String> {
    let o = run_cairn(&["-C", dir, "state", "list"], cwd);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    stdout(&o).lines().map(str::to_string).collect()
}

fn apply_two_at_a_time(dir: &str, cwd: &Path) -> Running {
    let mut r = Running::spawn(cairn(&["--emulator", "apply", dir, "--auto-approve", "--parallelism", "2"], cwd));
    r.wait_for("Creating...", 2);
    r
}

#[test]
fn sigterm_during_an_apply_finishes_the_steps_in_flight_persists_and_releases_the_lock() {
    let s = TestStack::new(&[("main.tf", HEALTH_CHECKS)]);
    let dir = s.path().to_str().unwrap().to_string();
    let r = apply_two_at_a_time(&dir, s.path());
    r.signal(libc::SIGTERM);
    let (code, _, err) = r.finish(Duration::from_secs(30));
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("Interrupt received: no new steps will start"), "{err}");
    assert!(err.contains("Apply interrupted: 2 added, 0 changed, 0 destroyed; 0 failed, 2 skipped."), "{err}");
    assert!(!err.contains("Still in flight when stopped"), "{err}");
    assert_eq!(state_list(&dir, s.path()).len(), 2);
    assert_lock_released(&dir, s.path(), true);

    // Nothing was left in the journal: the next apply creates the other two and adopts none.
    let o = emulated(&["apply", &dir, "--auto-approve"], s.path());
    let all = format!("{}{}", stdout(&o), stderr(&o));
    assert_eq!(o.status.code(), Some(0), "{all}");
    assert!(!all.contains("adopting"), "{all}");
    assert!(all.contains("Apply complete! Resources: 2 added"), "{all}");
}

#[test]
fn a_second_sigterm_stops_at_once_and_the_next_apply_converges() {
    let s = TestStack::new(&[("main.tf", HEALTH_CHECKS)]);
    let dir = s.path().to_str().unwrap().to_string();
    let r = apply_two_at_a_time(&dir, s.path());
    let first = Instant::now();
    r.signal(libc::SIGTERM);
    std::thread::sleep(Duration::from_millis(100));
    r.signal(libc::SIGTERM);
    let (code, _, err) = r.finish(Duration::from_secs(30));
    // The creates take 2 s: ending well before that means they were not waited for.
    assert!(first.elapsed() < Duration::from_millis(1500), "took {:?}:\n{err}", first.elapsed());
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("Second interrupt: stopping now."), "{err}");
    assert_eq!(err.matches("Still in flight when stopped (recorded in the journal)").count(), 2, "{err}");
    assert!(err.contains("Apply interrupted:"), "{err}");

    let o = emulated(&["apply", &dir, "--auto-approve", "--parallelism", "2"], s.path());
    let all = format!("{}{}", stdout(&o), stderr(&o));
    assert_eq!(o.status.code(), Some(0), "{all}");
    assert!(!all.contains("stale state lock"), "{all}");
    assert_eq!(state_list(&dir, s.path()).len(), 4);
    let o = emulated(&["plan", &dir, "--detailed-exitcode"], s.path());
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
}

/// A pseudo-terminal (master, slave), so that standard input is a terminal and the approval
/// prompt is shown. The master is kept open: the prompt's read then blocks, as a person's does.
fn pty() -> (std::fs::File, std::fs::File) {
    // SAFETY: the POSIX pseudo-terminal calls, on descriptors checked and owned here.
    unsafe {
        let master = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        assert!(master >= 0, "posix_openpt: {}", std::io::Error::last_os_error());
        assert_eq!(libc::grantpt(master), 0);
        assert_eq!(libc::unlockpt(master), 0);
        let mut name = [0 as libc::c_char; 256];
        assert_eq!(libc::ptsname_r(master, name.as_mut_ptr(), name.len()), 0);
        let slave = libc::open(name.as_ptr(), libc::O_RDWR | libc::O_NOCTTY);
        assert!(slave >= 0, "open the pty slave: {}", std::io::Error::last_os_error());
        (std::fs::File::from_raw_fd(master), std::fs::File::from_raw_fd(slave))
    }
}

fn signal_at_the_prompt(signal: libc::c_int) {
    let s = TestStack::new(&[("main.tf", TWO_DATA)]);
    let dir = s.path().to_str().unwrap().to_string();
    let (_master, slave) = pty();
    let mut cmd = cairn(&["apply", &dir], s.path());
    cmd.stdin(Stdio::from(slave));
    let mut r = Running::spawn(cmd);
    r.wait_for("Enter a value: ", 1);
    let sent = Instant::now();
    r.signal(signal);
    let (code, out, err) = r.finish(Duration::from_secs(10));
    assert!(sent.elapsed() < Duration::from_secs(3), "the prompt kept waiting {:?}", sent.elapsed());
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(out.ends_with("Enter a value: \nApply cancelled.\n"), "{out}");
    assert!(!out.contains("Apply complete"), "{out}");
    assert!(state_list(&dir, s.path()).is_empty());
    assert_lock_released(&dir, s.path(), false);
}

#[test]
fn sigint_at_the_approval_prompt_cancels_at_once_and_releases_the_lock() {
    signal_at_the_prompt(libc::SIGINT);
}

#[test]
fn sigterm_at_the_approval_prompt_cancels_at_once_and_releases_the_lock() {
    signal_at_the_prompt(libc::SIGTERM);
}

/// A Google endpoint that accepts connections and never answers: a refresh against it hangs
/// (holding the state lock) until the command is stopped.
fn silent_endpoint() -> (std::net::TcpListener, String) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}

#[test]
fn sigterm_while_planning_stops_promptly_and_releases_the_lock() {
    let s = TestStack::new(&[("main.tf", HEALTH_CHECKS)]);
    let dir = s.path().to_str().unwrap().to_string();
    let o = emulated(&["apply", &dir, "--auto-approve", "--parallelism", "4"], s.path());
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));

    let (listener, url) = silent_endpoint();
    let mut cmd = cairn(&["plan", &dir], s.path());
    cmd.env("CAIRN_GCP_EMULATOR", &url);
    let r = Running::spawn(cmd);
    // The refresh has reached the endpoint: the plan holds the lock and waits for an answer.
    let (_held, _) = listener.accept().expect("the refresh connects");
    let sent = Instant::now();
    r.signal(libc::SIGTERM);
    let (code, out, err) = r.finish(Duration::from_secs(10));
    assert!(sent.elapsed() < Duration::from_secs(3), "took {:?}", sent.elapsed());
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(err.contains("Interrupt received: operation stopped before it changed anything."), "{err}");
    assert_lock_released(&dir, s.path(), true);
}

/// `cairn emulator` runs until a signal: SIGINT or SIGTERM ends it through its graceful
/// shutdown (exit 0), never through the cancel that other commands get.
#[test]
fn the_standalone_emulator_stops_gracefully_on_sigint_and_sigterm() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let s = TestStack::new(&[]);
        let mut r = Running::spawn(cairn(&["emulator", "--listen", "127.0.0.1:0"], s.path()));
        r.wait_for("Cairn emulator listening on", 1);
        r.signal(signal);
        let (code, out, err) = r.finish(Duration::from_secs(10));
        assert_eq!(code, Some(0), "signal {signal}: {out}{err}");
        assert!(!err.contains("Interrupt received"), "{err}");
    }
}
