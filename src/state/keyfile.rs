//! The secret-fingerprint key, kept apart from the fingerprints it makes.
//!
//! A state stores an HMAC fingerprint of each sensitive value. Whoever holds both the
//! fingerprints and the key can test guesses of a secret offline, so the key never lives in
//! the state: it is a file of its own (64 hex digits and a newline, mode 0600), by default
//! `$XDG_DATA_HOME/cairn/keys/<key id>.key` (`~/.local/share/cairn/keys/` without
//! XDG_DATA_HOME), or wherever [`KEY_FILE_ENV`] points (CI, where the key is a secret of the
//! pipeline). The state keeps only a [`KeyRecord`]: the key's id, which names the default
//! file, and a check value that tells the right key from a wrong one without revealing it.
//!
//! States written before the key moved out keep it inside the state (the local backend's
//! `keys/fingerprint`, the gcs backend's `default.key`); that "legacy" key is still used by a
//! command that does not hold the lock, and moved to the file by one that does.

use std::fs::{DirBuilder, File, Permissions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Names the key file to use instead of the default one (for every state this process opens).
pub const KEY_FILE_ENV: &str = "CAIRN_FINGERPRINT_KEY_FILE";

/// What the check value is an HMAC of; versioned so that a future scheme cannot be confused.
const CHECK_CONTEXT: &[u8] = b"cairn fingerprint key check v1";

/// What a state stores about its fingerprint key: never the key itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    /// Names the default key file (`<id>.key`); a UUID, so states never share a file.
    pub id: String,
    /// HMAC-SHA256 of [`CHECK_CONTEXT`] under the key, hex: recognises the right key (the HMAC
    /// of a constant says nothing about the key, nor about any secret).
    pub check: String,
}

impl KeyRecord {
    pub fn new(key: &[u8; 32]) -> KeyRecord {
        KeyRecord { id: uuid::Uuid::new_v4().to_string(), check: hex::encode(check_mac(key).finalize().into_bytes()) }
    }

    /// Whether `key` is the key this record was made for (compared in constant time).
    pub fn matches(&self, key: &[u8; 32]) -> bool {
        hex::decode(&self.check).is_ok_and(|expected| check_mac(key).verify_slice(&expected).is_ok())
    }

    /// Reads a stored record; `what` names where it was stored, for the error.
    pub fn parse(raw: &[u8], what: &str) -> Result<KeyRecord, String> {
        let record: KeyRecord = serde_json::from_slice(raw).map_err(|e| format!("{what} is not a key record: {e}"))?;
        // The id becomes a file name: anything but a UUID could walk out of the key directory.
        if uuid::Uuid::parse_str(&record.id).is_err() {
            return Err(format!("{what} names key id {:?}, which is not a UUID", record.id));
        }
        Ok(record)
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a key record encodes")
    }
}

fn check_mac(key: &[u8; 32]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(CHECK_CONTEXT);
    mac
}

/// A fresh random key.
pub fn fresh_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
    key
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "the fingerprint key of the state at {state} is missing: looked for {} ({}). The state's fingerprints of sensitive values can only be compared with it. Copy that file (mode 0600) from the machine that last applied this state, or point {KEY_FILE_ENV} at a copy of it. Cairn does not make a new key for a state that has fingerprints on its own: they could never match again. If the key is lost for good, `cairn state rekey` makes a new one and drops the fingerprints (every sensitive value then plans as changed once, and the next apply sends it again)",
        path.display(),
        origin
    )]
    Missing { state: String, path: PathBuf, origin: &'static str },
    #[error(
        "the state at {state} has fingerprints of sensitive values but no fingerprint key at all (no key record, no key in the state); Cairn does not make a new key for a state that has fingerprints: they could never match again. Restore the state from a backup or a copy that has its key record, or run `cairn state rekey` to make a new key and drop the fingerprints (every sensitive value then plans as changed once)"
    )]
    Orphaned { state: String },
    #[error("the fingerprint key in {} ({}) is not the key of the state at {state}: it belongs to another state. Point {KEY_FILE_ENV} at this state's key file, or, if that key is lost for good, run `cairn state rekey`", path.display(), origin)]
    Wrong { state: String, path: PathBuf, origin: &'static str },
    #[error("the state at {state} holds a fingerprint key record and an older in-state key that do not match; it is damaged")]
    Mismatch { state: String },
    #[error("the fingerprint key file {} has mode {mode:04o}: it must be readable by its owner only (like an SSH private key); run `chmod 600 {}`", path.display(), path.display())]
    Exposed { path: PathBuf, mode: u32 },
    #[error("the fingerprint key file {} is damaged: {reason}", path.display())]
    Malformed { path: PathBuf, reason: String },
    #[error("the fingerprint key file {}: {what}: {source}", path.display())]
    Io { path: PathBuf, what: &'static str, source: std::io::Error },
    #[error("{KEY_FILE_ENV} points at {}, which holds the state's current key: to replace it, point {KEY_FILE_ENV} at a path that does not exist yet (the new key is written there) or at the pipeline's new key", path.display())]
    SameKey { path: PathBuf },
    #[error("no place for the fingerprint key: neither XDG_DATA_HOME nor HOME is set; set {KEY_FILE_ENV} to the key file's path")]
    NoHome,
}

/// Where a state's key file is, and why there.
#[derive(Clone, Debug)]
pub struct KeyPath {
    pub path: PathBuf,
    /// How the path was chosen, for messages.
    pub origin: &'static str,
    /// The per-user key directory, which Cairn owns and keeps 0700 (not so a directory the
    /// user named through the environment).
    owned_dir: bool,
}

/// The key file for the key with `id`: [`KEY_FILE_ENV`] if set, else the per-user key directory.
pub fn key_path(id: &str) -> Result<KeyPath, KeyError> {
    if let Some(p) = std::env::var_os(KEY_FILE_ENV).filter(|p| !p.is_empty()) {
        return Ok(KeyPath { path: PathBuf::from(p), origin: "from CAIRN_FINGERPRINT_KEY_FILE", owned_dir: false });
    }
    Ok(KeyPath { path: default_key_dir()?.join(format!("{id}.key")), origin: "the default location", owned_dir: true })
}

/// `$XDG_DATA_HOME/cairn/keys`, else `$HOME/.local/share/cairn/keys` (the XDG base directory
/// rules: a relative XDG_DATA_HOME is ignored).
pub fn default_key_dir() -> Result<PathBuf, KeyError> {
    let non_empty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(data) = non_empty("XDG_DATA_HOME").filter(|p| p.is_absolute()) {
        return Ok(data.join("cairn").join("keys"));
    }
    let home = non_empty("HOME").ok_or(KeyError::NoHome)?;
    Ok(home.join(".local").join("share").join("cairn").join("keys"))
}

const KEY_TEXT_LEN: u64 = 64;

/// Reads a key file; `Ok(None)` when it does not exist. Refused when anyone but its owner may
/// read it, or when it is not exactly 64 hex digits (and an optional newline).
pub fn read_key(at: &KeyPath) -> Result<Option<[u8; 32]>, KeyError> {
    let path = &at.path;
    let io = |what, source| KeyError::Io { path: path.clone(), what, source };
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io("cannot open it", e)),
    };
    let meta = file.metadata().map_err(|e| io("cannot read its metadata", e))?;
    if !meta.is_file() {
        return Err(KeyError::Malformed { path: path.clone(), reason: "it is not a regular file".into() });
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(KeyError::Exposed { path: path.clone(), mode });
    }
    let len = meta.len();
    if len != KEY_TEXT_LEN && len != KEY_TEXT_LEN + 1 {
        return Err(KeyError::Malformed {
            path: path.clone(),
            reason: format!("it is {len} bytes long; a key file holds 64 hex digits and a newline"),
        });
    }
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(|e| io("cannot read it", e))?;
    let digits = text.strip_suffix('\n').unwrap_or(&text);
    let bytes = hex::decode(digits).map_err(|e| KeyError::Malformed {
        path: path.clone(),
        reason: format!("it does not hold 64 hex digits ({e})"),
    })?;
    let key = <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| KeyError::Malformed {
        path: path.clone(),
        reason: format!("it holds {} bytes; a key is 32", bytes.len()),
    })?;
    Ok(Some(key))
}

/// Makes sure the key file at `at` holds `key`: creates it (0600, whole or not at all, never
/// through a symlink, never replacing a file), or checks the one already there.
pub fn ensure_key_file(at: &KeyPath, key: &[u8; 32], state: &str) -> Result<(), KeyError> {
    if let Some(existing) = read_key(at)? {
        return if &existing == key {
            Ok(())
        } else {
            Err(KeyError::Wrong { state: state.to_string(), path: at.path.clone(), origin: at.origin })
        };
    }
    let path = &at.path;
    let io = |what, source| KeyError::Io { path: path.clone(), what, source };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    DirBuilder::new().recursive(true).mode(0o700).create(&dir).map_err(|e| io("cannot create its directory", e))?;
    if at.owned_dir {
        tighten_dir(&dir).map_err(|e| io("cannot restrict its directory to its owner", e))?;
    }
    // A temporary file is created 0600 with O_EXCL, filled and synced, then linked to the final
    // name: the link fails if anything (a file, a symlink) is there already, so a racing
    // creator's key is never replaced and no symlink is followed.
    let mut tmp = tempfile::Builder::new()
        .prefix(".cairn-key-")
        .permissions(Permissions::from_mode(0o600))
        .tempfile_in(&dir)
        .map_err(|e| io("cannot create a temporary file beside it", e))?;
    tmp.write_all(format!("{}\n", hex::encode(key)).as_bytes()).map_err(|e| io("cannot write it", e))?;
    tmp.as_file().sync_all().map_err(|e| io("cannot write it", e))?;
    match tmp.persist_noclobber(path) {
        Ok(_) => {}
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
            // Another process created it first: it must hold the same key.
            return match read_key(at)? {
                Some(existing) if &existing == key => Ok(()),
                Some(_) => Err(KeyError::Wrong { state: state.to_string(), path: at.path.clone(), origin: at.origin }),
                None => Err(KeyError::Malformed {
                    path: path.clone(),
                    reason: "something that is not a key file (a dangling symlink?) is in its place".into(),
                }),
            };
        }
        Err(e) => return Err(io("cannot put it in place", e.error)),
    }
    File::open(&dir).and_then(|d| d.sync_all()).map_err(|e| io("cannot sync its directory", e))?;
    Ok(())
}

fn tighten_dir(dir: &Path) -> std::io::Result<()> {
    let meta = std::fs::symlink_metadata(dir)?;
    if meta.is_dir() && meta.mode() & 0o7777 != 0o700 {
        std::fs::set_permissions(dir, Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// What a backend found stored about its key.
pub struct Stored {
    pub record: Option<KeyRecord>,
    /// The key itself, as states written before it moved out kept it.
    pub legacy: Option<[u8; 32]>,
}

/// What a backend must do to come up with its key.
pub enum Resolved {
    Key([u8; 32]),
    /// No key exists yet: make one, unless the state already has fingerprints.
    None,
}

/// The key of a state from what its backend stores, without changing anything.
pub fn resolve(state: &str, stored: &Stored) -> Result<Resolved, KeyError> {
    match &stored.record {
        Some(record) => {
            let at = key_path(&record.id)?;
            match read_key(&at)? {
                Some(key) if record.matches(&key) => Ok(Resolved::Key(key)),
                Some(_) => Err(KeyError::Wrong { state: state.to_string(), path: at.path, origin: at.origin }),
                // A move out that stopped before it removed the old copy.
                None => match stored.legacy {
                    Some(key) if record.matches(&key) => Ok(Resolved::Key(key)),
                    _ => Err(KeyError::Missing { state: state.to_string(), path: at.path, origin: at.origin }),
                },
            }
        }
        None => Ok(stored.legacy.map_or(Resolved::None, Resolved::Key)),
    }
}

/// A new key for a state that has none: its file written, and the record to store.
pub fn create(state: &str) -> Result<([u8; 32], KeyRecord), KeyError> {
    let key = match std::env::var_os(KEY_FILE_ENV).filter(|p| !p.is_empty()) {
        // A key supplied by the environment (a CI secret) is the key to use.
        Some(_) => read_key(&key_path("")?)?.unwrap_or_else(fresh_key),
        None => fresh_key(),
    };
    let record = KeyRecord::new(&key);
    ensure_key_file(&key_path(&record.id)?, &key, state)?;
    Ok((key, record))
}

/// Where the key is to be moved out of the state: the record to store (the existing one, or a
/// new one) after the file is written. `None`: nothing to move.
pub fn move_out(state: &str, stored: &Stored) -> Result<Option<(KeyRecord, KeyPath)>, KeyError> {
    let Some(legacy) = stored.legacy else { return Ok(None) };
    let record = match &stored.record {
        Some(r) if r.matches(&legacy) => r.clone(),
        Some(_) => return Err(KeyError::Mismatch { state: state.to_string() }),
        None => KeyRecord::new(&legacy),
    };
    let at = key_path(&record.id)?;
    ensure_key_file(&at, &legacy, state)?;
    Ok(Some((record, at)))
}

/// What `cairn state rekey` found of the state's old key.
pub enum OldKey {
    /// It still works (only `--force` replaces it).
    Usable([u8; 32]),
    /// It cannot be had back; `why` says what is wrong with it.
    Lost { why: KeyError },
    /// The state never had one.
    Never,
}

/// The state of the old key, from what the backend stores; errors that do not prove the key
/// lost (a key file open to others, an unreadable file) are returned: fix them, or rekey with
/// `--force`.
pub fn old_key(state: &str, stored: &Stored) -> Result<OldKey, KeyError> {
    match resolve(state, stored) {
        Ok(Resolved::Key(key)) => Ok(OldKey::Usable(key)),
        Ok(Resolved::None) => Ok(OldKey::Never),
        Err(
            why @ (KeyError::Missing { .. }
            | KeyError::Orphaned { .. }
            | KeyError::Wrong { .. }
            | KeyError::Mismatch { .. }
            | KeyError::Malformed { .. }),
        ) => Ok(OldKey::Lost { why }),
        Err(e) => Err(e),
    }
}

/// The new key of `cairn state rekey`, its file written: a fresh key, or the one the file
/// [`KEY_FILE_ENV`] names holds (a pipeline's key), unless that is the old key itself.
pub fn rekeyed(state: &str, old: Option<&[u8; 32]>) -> Result<([u8; 32], KeyRecord, KeyPath), KeyError> {
    let key = match std::env::var_os(KEY_FILE_ENV).filter(|p| !p.is_empty()) {
        Some(_) => {
            let at = key_path("")?;
            match read_key(&at)? {
                Some(k) if Some(&k) == old => return Err(KeyError::SameKey { path: at.path }),
                Some(k) => k,
                None => fresh_key(),
            }
        }
        None => fresh_key(),
    };
    let record = KeyRecord::new(&key);
    let at = key_path(&record.id)?;
    ensure_key_file(&at, &key, state)?;
    Ok((key, record, at))
}

/// What `cairn state rekey` leaves where a fingerprint was: it marks a secret as stored but
/// compared with nothing (so it reads as changed, once), and is no HMAC (never hex), so it can
/// match no value.
pub const REKEYED: &str = "rekeyed";

/// Replaces every stored fingerprint of `state` by [`REKEYED`]; the number replaced. The old
/// fingerprints go with their key: under the new key they could only ever mismatch, and kept
/// they would let whoever finds the old key test guesses against them.
pub fn drop_fingerprints(state: &mut super::State) -> usize {
    let mut n = 0;
    for r in state.resources.values_mut() {
        for fp in r.sensitive_fingerprints.values_mut() {
            if fp != REKEYED {
                *fp = REKEYED.to_string();
                n += 1;
            }
        }
    }
    n
}

/// What a command says once, when it moved a state's key out.
pub fn moved_note(state: &str, at: &KeyPath) -> String {
    format!(
        "Moved the fingerprint key of the state at {state} out of the state into {} ({}). Keep that file (mode 0600) wherever this state is planned or applied, or set {KEY_FILE_ENV} to a copy: without it the state's fingerprints of sensitive values cannot be compared. Copies of the state made before this moment still contain the key.",
        at.path.display(),
        at.origin
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(path: PathBuf) -> KeyPath {
        KeyPath { path, origin: "test", owned_dir: false }
    }

    #[test]
    fn a_record_recognises_its_key_only() {
        let key = fresh_key();
        let record = KeyRecord::new(&key);
        assert!(record.matches(&key));
        assert!(!record.matches(&fresh_key()));
        assert!(!KeyRecord { check: "zz".into(), ..record.clone() }.matches(&key));
        assert_eq!(KeyRecord::parse(&record.to_json(), "r").unwrap(), record);
        let escaping = KeyRecord { id: "../../etc/x".into(), ..record };
        assert!(KeyRecord::parse(&escaping.to_json(), "r").unwrap_err().contains("not a UUID"));
    }

    #[test]
    fn key_files_are_written_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let file = at(dir.path().join("sub/k.key"));
        let key = fresh_key();
        ensure_key_file(&file, &key, "s").unwrap();
        assert_eq!(std::fs::metadata(&file.path).unwrap().mode() & 0o777, 0o600);
        assert_eq!(read_key(&file).unwrap(), Some(key));
        ensure_key_file(&file, &key, "s").unwrap();
        assert!(matches!(ensure_key_file(&file, &fresh_key(), "s"), Err(KeyError::Wrong { .. })));
        assert_eq!(read_key(&at(dir.path().join("none"))).unwrap(), None);
    }

    #[test]
    fn exposed_or_misshapen_key_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = at(dir.path().join("k.key"));
        ensure_key_file(&file, &fresh_key(), "s").unwrap();
        std::fs::set_permissions(&file.path, Permissions::from_mode(0o640)).unwrap();
        let e = read_key(&file).unwrap_err();
        assert!(e.to_string().contains("mode 0640") && e.to_string().contains("chmod 600"), "{e}");
        std::fs::set_permissions(&file.path, Permissions::from_mode(0o400)).unwrap();
        assert!(read_key(&file).unwrap().is_some(), "read-only for the owner is fine");
        for (text, says) in [("abc\n", "4 bytes long"), (&"zz".repeat(32)[..], "64 hex digits")] {
            let p = dir.path().join("bad.key");
            std::fs::write(&p, text).unwrap();
            std::fs::set_permissions(&p, Permissions::from_mode(0o600)).unwrap();
            let e = read_key(&at(p)).unwrap_err().to_string();
            assert!(e.contains(says), "{e}");
        }
    }

    #[test]
    fn a_symlink_in_the_key_files_place_is_never_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        let link = dir.path().join("k.key");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        // The link dangles: reading finds no key, creating must not create the link's target.
        assert!(ensure_key_file(&at(link), &fresh_key(), "s").is_err());
        assert!(!target.exists());
    }
}
