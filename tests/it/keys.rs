//! Issue 14 §3/§4: the secret-fingerprint key is a private file outside the state (so a copy
//! of `state/` cannot be used to test guesses of a secret), states from before move it out
//! with their fingerprints still valid, a lost or exposed key is a clear error, and saved
//! plans are private to their owner whatever the umask.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::secrets::{SECRET, STACK};
use crate::support::*;
use cairn::state::keyfile::{self, KeyRecord, KEY_FILE_ENV};

/// Runs the binary under umask 000 with the stack's secret set and `env` added.
fn cairn_umask0(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c").arg("umask 000; exec \"$0\" \"$@\"").arg(cairn_bin()).args(args);
    cmd.env("TF_VAR_api_key", SECRET).env("NO_COLOR", "1").env_remove(KEY_FILE_ENV);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run cairn")
}

fn ok(o: &Output) {
    assert!(o.status.success(), "cairn failed ({:?}):\n{}{}", o.status.code(), stdout(o), stderr(o));
}

/// Opens the state database in this process. sled releases its file lock from its flusher
/// thread, a moment after the previous handle (ours, a few lines earlier) was dropped: a
/// second open right behind the first can find it still held, so the lock is waited for.
fn db(s: &TestStack) -> sled::Db {
    let path = s.path().join("state").join("cairn.sled");
    let mut attempts = 0;
    loop {
        match sled::open(&path) {
            Ok(db) => return db,
            Err(e) if attempts < 100 && e.to_string().contains("could not acquire lock") => {
                attempts += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => panic!("open the state database: {e}"),
        }
    }
}

fn record(s: &TestStack) -> KeyRecord {
    let raw = db(s).open_tree("keys").unwrap().get("fingerprint-record").unwrap().expect("a key record");
    KeyRecord::parse(&raw, "record").unwrap()
}

fn default_key_file(id: &str) -> PathBuf {
    keyfile::default_key_dir().unwrap().join(format!("{id}.key"))
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn read_key_file(p: &Path) -> [u8; 32] {
    let text = std::fs::read_to_string(p).unwrap();
    hex::decode(text.trim()).unwrap().try_into().unwrap()
}

fn applied_stack() -> (TestStack, String) {
    let s = TestStack::new(&[("main.tf", STACK)]);
    let dir = s.path().to_str().unwrap().to_string();
    ok(&cairn_umask0(&["apply", &dir, "--auto-approve"], &[]));
    (s, dir)
}

/// A copy of `state/` holds fingerprints but not the key: the key is a 0600 file (in a 0700
/// directory) under the user's data directory, even with umask 000.
#[test]
fn a_copy_of_the_state_directory_holds_no_key() {
    let (s, _) = applied_stack();
    let id = record(&s).id;
    let file = default_key_file(&id);
    assert_eq!(mode(&file), 0o600, "{}", file.display());
    assert_eq!(mode(file.parent().unwrap()), 0o700);
    let key = read_key_file(&file);
    assert!(record(&s).matches(&key));
    let bytes = s.state_bytes();
    assert!(contains(&bytes, "fingerprint-record"), "the scan reads the database");
    assert!(!bytes.windows(32).any(|w| w == key), "the key's bytes are in state/");
    assert!(!contains(&bytes, &hex::encode(key)), "the key's hex is in state/");
}

/// A state written before the key moved out (the key inside the sled database, no record, no
/// file) keeps its fingerprints valid: the first locked command moves the key out, says so
/// once, and the unchanged secret plans as unchanged.
#[test]
fn a_state_from_before_moves_its_key_out_and_keeps_its_fingerprints() {
    let (s, dir) = applied_stack();
    // Rewind to the old layout.
    let old = {
        let id = record(&s).id;
        let file = default_key_file(&id);
        let key = read_key_file(&file);
        std::fs::remove_file(&file).unwrap();
        let db = db(&s);
        let keys = db.open_tree("keys").unwrap();
        keys.insert("fingerprint", &key[..]).unwrap();
        keys.remove("fingerprint-record").unwrap();
        db.flush().unwrap();
        key
    };

    let o = cairn_umask0(&["plan", &dir, "--detailed-exitcode"], &[]);
    assert_eq!(o.status.code(), Some(0), "no change for the unchanged secret:\n{}{}", stdout(&o), stderr(&o));
    assert!(stderr(&o).contains("Moved the fingerprint key"), "{}", stderr(&o));
    let moved = record(&s);
    assert!(moved.matches(&old), "the same key, now recorded");
    let file = default_key_file(&moved.id);
    assert_eq!((read_key_file(&file), mode(&file)), (old, 0o600));
    assert_eq!(db(&s).open_tree("keys").unwrap().get("fingerprint").unwrap(), None, "gone from the state");

    let again = cairn_umask0(&["plan", &dir, "--detailed-exitcode"], &[]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(!stderr(&again).contains("Moved"), "said once: {}", stderr(&again));
}

/// A state whose key file is gone is refused with where the key was looked for and how to get
/// it back; no new key is made (it would turn every fingerprint into a silent mismatch).
#[test]
fn a_missing_key_is_a_clear_error_and_no_new_key_is_made() {
    let (s, dir) = applied_stack();
    let file = default_key_file(&record(&s).id);
    std::fs::remove_file(&file).unwrap();
    let o = cairn_umask0(&["plan", &dir], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("fingerprint key") && e.contains("is missing"), "{e}");
    assert!(e.contains(&*file.to_string_lossy()) && e.contains(KEY_FILE_ENV), "{e}");
    assert!(!e.contains("panicked"), "{e}");
    assert!(!file.exists(), "no new key in its place");
}

/// A key file others may read is refused, as ssh refuses such a private key.
#[test]
fn a_key_file_open_to_others_is_refused() {
    let (s, dir) = applied_stack();
    let file = default_key_file(&record(&s).id);
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = cairn_umask0(&["plan", &dir], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("mode 0644") && stderr(&o).contains("chmod 600"), "{}", stderr(&o));
}

/// CI supplies the key through CAIRN_FINGERPRINT_KEY_FILE: a fresh state uses (or makes) that
/// file; without it the state's key is missing; another state's key is refused.
#[test]
fn the_key_file_can_come_from_the_environment() {
    let keys = tempfile::tempdir().unwrap();
    let ci_key = keys.path().join("ci.key");
    let ci = ci_key.to_str().unwrap();
    let s = TestStack::new(&[("main.tf", STACK)]);
    let dir = s.path().to_str().unwrap();
    ok(&cairn_umask0(&["apply", dir, "--auto-approve"], &[(KEY_FILE_ENV, ci)]));
    assert_eq!(mode(&ci_key), 0o600);
    let id = record(&s).id;
    assert!(record(&s).matches(&read_key_file(&ci_key)));
    assert!(!default_key_file(&id).exists(), "nothing in the default location");

    let o = cairn_umask0(&["plan", dir, "--detailed-exitcode"], &[(KEY_FILE_ENV, ci)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = cairn_umask0(&["plan", dir], &[]);
    assert!(stderr(&o).contains("is missing"), "{}", stderr(&o));

    // Another state's key.
    let other = keys.path().join("other.key");
    std::fs::write(&other, format!("{}\n", hex::encode(keyfile::fresh_key()))).unwrap();
    std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o600)).unwrap();
    let o = cairn_umask0(&["plan", dir], &[(KEY_FILE_ENV, other.to_str().unwrap())]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("is not the key of the state"), "{}", stderr(&o));

    // A key provisioned before the state exists (a CI secret) is the one a fresh state takes.
    let s2 = TestStack::new(&[("main.tf", STACK)]);
    ok(&cairn_umask0(&["apply", s2.path().to_str().unwrap(), "--auto-approve"], &[(KEY_FILE_ENV, ci)]));
    assert!(record(&s2).matches(&read_key_file(&ci_key)));
}

/// `plan -out` writes the plan 0600 whatever the umask, and replaces a symlink in its place
/// instead of writing through it.
#[test]
fn saved_plans_are_private_and_never_written_through_a_symlink() {
    let s = TestStack::new(&[("main.tf", STACK)]);
    let dir = s.path().to_str().unwrap();
    let out = s.path().join("p.cairnplan");
    ok(&cairn_umask0(&["plan", dir, "-out", out.to_str().unwrap()], &[]));
    assert_eq!(mode(&out), 0o600);

    let victim = s.path().join("victim.txt");
    std::fs::write(&victim, "untouched").unwrap();
    let link = s.path().join("linked.cairnplan");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    ok(&cairn_umask0(&["plan", dir, "-out", link.to_str().unwrap()], &[]));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched");
    assert!(!std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert_eq!(mode(&link), 0o600);
    let leftovers: Vec<_> = std::fs::read_dir(s.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".cairnplan-"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary files left behind");
}

/// The embedded emulator's data directory (its data file holds secret payloads) is 0700 from
/// the start under umask 000, also before any state command has run (`validate` opens no
/// state) and for a gcs-backed stack, whose emulator data lives in `.cairn/`, not the state.
#[test]
fn the_embedded_emulators_directory_is_private_from_the_start() {
    let s = TestStack::new(&[("main.tf", STACK)]);
    let dir = s.path().to_str().unwrap();
    ok(&cairn_umask0(&["--emulator", "validate", dir], &[]));
    assert_eq!(mode(&s.path().join("state")), 0o700);

    let gcs = TestStack::new(&[(
        "main.tf",
        "terraform {\n  backend \"gcs\" {\n    bucket = \"some-bucket\"\n  }\n}\n\nresource \"terraform_data\" \"a\" {\n  input = \"x\"\n}\n",
    )]);
    ok(&cairn_umask0(&["--emulator", "validate", gcs.path().to_str().unwrap()], &[]));
    assert_eq!(mode(&gcs.path().join(".cairn")), 0o700);
}

/// One sensitive value, sent as an argument: what `state rekey` must make the next apply send
/// again.
const REKEY_STACK: &str = r#"
variable "api_key" {
  type      = string
  sensitive = true
}

resource "terraform_data" "t" {
  input = var.api_key
}
"#;

fn code(o: &Output) -> Option<i32> {
    o.status.code()
}

/// A state whose key file is lost for good: `state rekey` makes a new key (file and record),
/// drops the fingerprints and says what that means; the sensitive value plans as changed once
/// (the plan says why) and the next apply sends it again; a plan file signed with the old key
/// is refused; a key that still works is replaced only with --force.
#[test]
fn state_rekey_recovers_a_state_whose_key_is_lost() {
    let s = TestStack::new(&[("main.tf", REKEY_STACK)]);
    let dir = s.path().to_str().unwrap();
    ok(&cairn_umask0(&["apply", dir, "--auto-approve"], &[]));
    let old = record(&s);
    let old_plan = s.path().join("old.cairnplan");
    ok(&cairn_umask0(&["plan", dir, "-out", old_plan.to_str().unwrap()], &[("TF_VAR_api_key", "a-newer-value")]));
    std::fs::remove_file(default_key_file(&old.id)).unwrap();
    let o = cairn_umask0(&["plan", dir], &[]);
    assert_eq!(code(&o), Some(1));
    assert!(stderr(&o).contains("is missing") && stderr(&o).contains("cairn state rekey"), "{}", stderr(&o));

    let o = cairn_umask0(&["state", "rekey", dir], &[]);
    ok(&o);
    let out = stdout(&o);
    assert!(out.contains("is missing"), "says why the old key could not be used: {out}");
    assert!(out.contains("Dropped 2 stored fingerprint") && out.contains("changed once"), "{out}");
    let new = record(&s);
    assert_ne!(new.id, old.id);
    let file = default_key_file(&new.id);
    assert_eq!(mode(&file), 0o600);
    assert!(new.matches(&read_key_file(&file)));
    assert!(out.contains(&*file.to_string_lossy()), "{out}");

    let o = cairn_umask0(&["plan", dir, "--detailed-exitcode"], &[]);
    let all = format!("{}{}", stdout(&o), stderr(&o));
    assert_eq!(code(&o), Some(2), "the secret plans as changed once:\n{all}");
    assert!(
        all.contains("terraform_data.t: its sensitive values lost their fingerprints to `cairn state rekey`"),
        "{all}"
    );
    assert!(!all.contains(SECRET), "{all}");

    let o = cairn_umask0(&["-C", dir, "apply", old_plan.to_str().unwrap()], &[]);
    assert_eq!(code(&o), Some(1), "a plan signed with the old key: {}{}", stdout(&o), stderr(&o));
    assert!(
        stderr(&o).contains("was signed with a fingerprint key this state no longer uses")
            && stderr(&o).contains("cairn state rekey"),
        "the refusal names the rekey, not an edit: {}",
        stderr(&o)
    );

    ok(&cairn_umask0(&["apply", dir, "--auto-approve"], &[]));
    let o = cairn_umask0(&["plan", dir, "--detailed-exitcode"], &[]);
    assert_eq!(code(&o), Some(0), "sent again, fingerprinted with the new key: {}{}", stdout(&o), stderr(&o));

    // The key works: nothing to recover, unless forced.
    let o = cairn_umask0(&["state", "rekey", dir], &[]);
    assert_eq!(code(&o), Some(1));
    assert!(stderr(&o).contains("present and valid") && stderr(&o).contains("--force"), "{}", stderr(&o));
    assert_eq!(record(&s), new, "nothing changed");
    ok(&cairn_umask0(&["state", "rekey", dir, "--force"], &[]));
    assert_ne!(record(&s).id, new.id);
}

/// With the key in CAIRN_FINGERPRINT_KEY_FILE (CI), the new key goes where it points; pointed
/// at the state's current key, `--force` is refused rather than "rekeying" to the same key.
#[test]
fn state_rekey_writes_the_new_key_where_the_environment_points() {
    let keys = tempfile::tempdir().unwrap();
    let ci_key = keys.path().join("ci.key");
    let ci = ci_key.to_str().unwrap();
    let s = TestStack::new(&[("main.tf", REKEY_STACK)]);
    let dir = s.path().to_str().unwrap();
    ok(&cairn_umask0(&["apply", dir, "--auto-approve"], &[(KEY_FILE_ENV, ci)]));
    let o = cairn_umask0(&["state", "rekey", dir, "--force"], &[(KEY_FILE_ENV, ci)]);
    assert_eq!(code(&o), Some(1));
    assert!(stderr(&o).contains("holds the state's current key"), "{}", stderr(&o));

    std::fs::remove_file(&ci_key).unwrap();
    ok(&cairn_umask0(&["state", "rekey", dir], &[(KEY_FILE_ENV, ci)]));
    assert_eq!(mode(&ci_key), 0o600);
    assert!(record(&s).matches(&read_key_file(&ci_key)));
}
