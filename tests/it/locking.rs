//! Done-when 4: one writer per state; waiting, naming the holder, and clearing stale locks.

use std::time::{Duration, Instant};

use crate::support::*;
use cairn::state::{LockInfo, StateStore};

/// A stack whose apply takes a while: each of these resources is cheap, but there are many.
fn slow_stack() -> TestStack {
    TestStack::new(&[(
        "main.tf",
        r#"
resource "terraform_data" "n" {
  count = 5000
  input = "value-${count.index}"
}
"#,
    )])
}

#[test]
fn two_applies_at_once_exactly_one_runs() {
    let s = slow_stack();
    let dir = s.path().to_str().unwrap().to_string();
    let spawn = |timeout: &str| {
        std::process::Command::new(cairn_bin())
            .args(["apply", &dir, "--auto-approve", "--lock-timeout", timeout])
            .env("NO_COLOR", "1")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn")
    };
    let first = spawn("0s");
    // Start the second only once the first holds the lock (the lock file names its holder).
    let lock_file = s.path().join("state/cairn.lock");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::fs::read(&lock_file).map(|b| b.is_empty()).unwrap_or(true) {
        assert!(Instant::now() < deadline, "the first apply never took the lock");
        std::thread::sleep(Duration::from_millis(5));
    }
    let started = Instant::now();
    let second = spawn("500ms");
    let (a, b) = (first.wait_with_output().unwrap(), second.wait_with_output().unwrap());
    let waited = started.elapsed();
    let codes = [a.status.code(), b.status.code()];
    assert!(codes.contains(&Some(0)), "one apply must succeed: {codes:?}\n{}\n{}", stderr(&a), stderr(&b));
    assert!(codes.contains(&Some(1)), "one apply must fail on the lock: {codes:?}\n{}\n{}", stderr(&a), stderr(&b));
    let loser = if a.status.code() == Some(1) { &a } else { &b };
    let msg = stderr(loser);
    assert!(msg.contains("locked") && msg.contains("pid") && msg.contains("apply"), "{msg}");
    if b.status.code() == Some(1) {
        assert!(waited >= Duration::from_millis(450), "the second apply should have waited for --lock-timeout");
    }
    // Exactly the configured instances exist.
    let o = run_cairn(&["-C", &dir, "state", "list"], s.path());
    assert_eq!(stdout(&o).lines().count(), 5000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_lock_is_reported_and_force_unlock_clears_it() {
    let s = example_stack();
    let state_dir = s.path().join("state");
    std::fs::create_dir_all(&state_dir).unwrap();
    // A lock left by a process that no longer holds it.
    let mut info = LockInfo::for_current_process("apply");
    info.pid = 999_999;
    info.host = "ci-runner-7".into();
    std::fs::write(state_dir.join("cairn.lock"), serde_json::to_vec(&info).unwrap()).unwrap();

    let store = cairn::state::local::LocalStore::open(&state_dir).unwrap();
    let holder = store.lock_holder().await.unwrap().expect("holder reported");
    assert_eq!(holder.host, "ci-runner-7");
    assert!(store.lock_is_stale().unwrap());
    drop(store);

    let o = run_cairn(&["-C", s.path().to_str().unwrap(), "force-unlock", "wrong-id"], s.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains(&info.id), "the error names the current lock: {}", stderr(&o));
    let o = run_cairn(&["-C", s.path().to_str().unwrap(), "force-unlock", &info.id], s.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run_cairn(&["apply", s.path().to_str().unwrap(), "--auto-approve"], s.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// Runs the binary under umask 022 (a CI runner's usual default).
fn cairn_umask_022(args: &[&str], cwd: &std::path::Path) -> std::process::Output {
    std::process::Command::new("sh")
        .arg("-c")
        .arg("umask 022 && exec \"$0\" \"$@\"")
        .arg(cairn_bin())
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .output()
        .expect("run cairn")
}

/// Every directory under state/ is 0700 and every file 0600, whatever the umask: the state
/// holds the fingerprint key, the journal and the lock record.
#[test]
fn state_files_are_owner_only_under_umask_022() {
    use std::os::unix::fs::PermissionsExt;
    let s = TestStack::new(&[("main.tf", "resource \"terraform_data\" \"a\" {\n  input = \"x\"\n}\n")]);
    let o = cairn_umask_022(&["apply", ".", "--auto-approve"], s.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let mut seen = 0;
    let mut stack = vec![s.path().join("state")];
    while let Some(p) = stack.pop() {
        let meta = std::fs::symlink_metadata(&p).unwrap();
        let mode = meta.permissions().mode() & 0o777;
        if meta.is_dir() {
            assert_eq!(mode, 0o700, "{}", p.display());
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else {
            assert_eq!(mode, 0o600, "{}", p.display());
            seen += 1;
        }
    }
    assert!(seen >= 2, "the state database and lock file were checked");
    // A state directory made looser by hand is tightened on the next run.
    std::fs::set_permissions(s.path().join("state"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let o = cairn_umask_022(&["plan", "."], s.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let mode = std::fs::metadata(s.path().join("state")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
}

/// A symlinked state/cairn.lock is refused with a clear error, and its target is untouched.
#[test]
fn symlinked_lock_file_is_refused_and_its_target_untouched() {
    let s = TestStack::new(&[("main.tf", "resource \"terraform_data\" \"a\" {\n  input = \"x\"\n}\n")]);
    let target = s.path().join("precious.txt");
    std::fs::write(&target, "do not truncate me\n").unwrap();
    std::fs::create_dir_all(s.path().join("state")).unwrap();
    std::os::unix::fs::symlink(&target, s.path().join("state/cairn.lock")).unwrap();
    for args in [vec!["apply", ".", "--auto-approve"], vec!["plan", "."]] {
        let o = run_cairn(&args, s.path());
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains("cairn.lock") && err.contains("symbolic link"), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "do not truncate me\n");
}
