//! The local state lock: `cairn.lock` in the state directory, held with `flock`.
//!
//! The kernel releases an `flock` when its holder dies, so "file has a holder written in it but
//! nobody holds the flock" means the holder died without cleaning up: that lock is stale and the
//! next locker takes it over (and reports it through [`FileLockGuard::recovered`]). The holder's
//! [`LockInfo`] is written into the file so that a waiting process can say who it waits for.
//!
//! `flock` belongs to an open file description, so two guards in one process exclude each other
//! just as two processes do.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{LockGuard, LockInfo, StateError};

pub const LOCK_FILE: &str = "cairn.lock";

/// How long to wait between attempts while someone else holds the lock.
const RETRY_INTERVAL: Duration = Duration::from_millis(150);

pub fn lock_path(dir: &Path) -> PathBuf {
    dir.join(LOCK_FILE)
}

/// Holds `cairn.lock`. Dropping it empties the file and releases the flock.
#[derive(Debug)]
pub struct FileLockGuard {
    file: File,
    info: LockInfo,
    /// The holder of a stale lock this guard took over (it died without releasing it).
    pub recovered: Option<LockInfo>,
}

impl LockGuard for FileLockGuard {
    fn info(&self) -> &LockInfo {
        &self.info
    }
    fn recovered_stale(&self) -> Option<&LockInfo> {
        self.recovered.as_ref()
    }
}

impl Drop for FileLockGuard {
    fn drop(&mut self) {
        // Truncating through our own descriptor (never by path) is safe even after a
        // force-unlock replaced the file: it only touches the inode we locked.
        let _ = self.file.set_len(0);
        let _ = self.file.sync_all();
        unlock(&self.file);
    }
}

fn try_flock(file: &File) -> std::io::Result<bool> {
    // SAFETY: flock on a valid, open descriptor owned by `file`.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(true);
    }
    let err = std::io::Error::last_os_error();
    if err.kind() == std::io::ErrorKind::WouldBlock {
        Ok(false)
    } else {
        Err(err)
    }
}

fn unlock(file: &File) {
    // SAFETY: as above; closing the file would release it too, this just does it now.
    unsafe {
        libc::flock(file.as_raw_fd(), libc::LOCK_UN);
    }
}

fn io_err(path: &Path, what: &str, e: std::io::Error) -> StateError {
    StateError::Io { location: path.display().to_string(), reason: format!("{what}: {e}") }
}

fn parse_holder(text: &str) -> Option<LockInfo> {
    if text.trim().is_empty() {
        return None;
    }
    serde_json::from_str(text).ok()
}

/// Stands in for a holder whose record could not be read (it is being written, or damaged).
fn unknown_holder(path: &Path) -> LockInfo {
    LockInfo {
        id: "unknown".into(),
        operation: "unknown".into(),
        who: "unknown".into(),
        host: super::hostname(),
        pid: 0,
        created: format!("unknown (see {})", path.display()),
        ci_run_url: None,
    }
}

/// The LockInfo written in the lock file, if any (whether or not its holder is alive).
pub fn read_holder(dir: &Path) -> Result<Option<LockInfo>, StateError> {
    let path = lock_path(dir);
    let mut file = match open_existing(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(lock_open_error(&path, e)),
    };
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(|e| io_err(&path, "cannot read the lock file", e))?;
    Ok(parse_holder(&text))
}

/// Opens an existing lock file for reading, never through a symlink.
fn open_existing(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW).open(path)
}

/// A symlinked lock file gets its own message: the user must remove it.
fn lock_open_error(path: &Path, e: std::io::Error) -> StateError {
    match e.raw_os_error() {
        Some(libc::ELOOP) => StateError::Io {
            location: path.display().to_string(),
            reason: "the lock file is a symbolic link; Cairn refuses to follow it (remove it and retry)".into(),
        },
        _ => io_err(path, "cannot open the lock file", e),
    }
}

/// Whether the lock file names a holder that no longer holds the flock (it died). The next
/// [`acquire`] takes such a lock over.
pub fn is_stale(dir: &Path) -> Result<bool, StateError> {
    let path = lock_path(dir);
    let mut file = match open_existing(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(lock_open_error(&path, e)),
    };
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(|e| io_err(&path, "cannot read the lock file", e))?;
    if text.trim().is_empty() {
        return Ok(false);
    }
    let free = try_flock(&file).map_err(|e| io_err(&path, "cannot probe the lock", e))?;
    if free {
        unlock(&file);
    }
    Ok(free)
}

/// Takes the lock, waiting up to `timeout` for the current holder to release it.
pub async fn acquire(dir: &Path, info: LockInfo, timeout: Duration) -> Result<FileLockGuard, StateError> {
    let path = lock_path(dir);
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(guard) = try_acquire(&path, &info)? {
            return Ok(guard);
        }
        let now = Instant::now();
        if now >= deadline {
            let holder = read_holder(dir)?.unwrap_or_else(|| unknown_holder(&path));
            return Err(StateError::Locked(Box::new(holder)));
        }
        tokio::time::sleep(RETRY_INTERVAL.min(deadline - now)).await;
    }
}

/// One attempt: `Ok(None)` when someone else holds the lock.
fn try_acquire(path: &Path, info: &LockInfo) -> Result<Option<FileLockGuard>, StateError> {
    // Never through a symlink: a planted `cairn.lock -> ~/.bashrc` would have its target
    // truncated and overwritten with the lock record.
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(super::private_fs::FILE_MODE)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| lock_open_error(path, e))?;
    // An existing lock file made under a looser umask.
    file.set_permissions(std::fs::Permissions::from_mode(super::private_fs::FILE_MODE))
        .map_err(|e| io_err(path, "cannot restrict the lock file", e))?;
    if !try_flock(&file).map_err(|e| io_err(path, "cannot lock", e))? {
        return Ok(None);
    }
    // A force-unlock may have removed the file between our open and our flock; then we hold a
    // lock on an orphaned inode while a newer locker may hold the real file. Retry on the file
    // that is there now.
    let ours = file.metadata().map_err(|e| io_err(path, "cannot inspect the lock file", e))?;
    match std::fs::metadata(path) {
        Ok(current) if current.dev() == ours.dev() && current.ino() == ours.ino() => {}
        _ => {
            unlock(&file);
            return Ok(None);
        }
    }
    let mut previous = String::new();
    file.read_to_string(&mut previous).map_err(|e| io_err(path, "cannot read the lock file", e))?;
    let recovered = parse_holder(&previous);
    let record =
        serde_json::to_string_pretty(info).map_err(|e| io_err(path, "cannot encode the lock record", e.into()))?;
    file.set_len(0).map_err(|e| io_err(path, "cannot truncate the lock file", e))?;
    file.seek(SeekFrom::Start(0)).map_err(|e| io_err(path, "cannot write the lock file", e))?;
    file.write_all(record.as_bytes()).map_err(|e| io_err(path, "cannot write the lock file", e))?;
    file.sync_all().map_err(|e| io_err(path, "cannot sync the lock file", e))?;
    Ok(Some(FileLockGuard { file, info: info.clone(), recovered }))
}

/// Removes the lock whose ID is `id`. The old holder (if alive) keeps an flock on the removed
/// file only, so the next locker creates and locks a fresh file.
pub fn force_unlock(dir: &Path, id: &str) -> Result<LockInfo, StateError> {
    let path = lock_path(dir);
    match read_holder(dir)? {
        Some(held) if held.id == id => {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err(&path, "cannot remove the lock file", e)),
            }
            Ok(held)
        }
        held => Err(StateError::NoSuchLock { given: id.to_string(), held: held.map(Box::new) }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(op: &str) -> LockInfo {
        LockInfo::for_current_process(op)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn second_locker_in_same_process_times_out_naming_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let first = acquire(dir.path(), info("apply"), Duration::from_secs(1)).await.unwrap();
        assert!(first.recovered.is_none());
        let started = Instant::now();
        let err = acquire(dir.path(), info("plan"), Duration::from_millis(400)).await.unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(400));
        match err {
            StateError::Locked(holder) => {
                assert_eq!(holder.id, first.info().id);
                assert_eq!(holder.operation, "apply");
            }
            other => panic!("expected Locked, got {other:?}"),
        }
        assert!(!is_stale(dir.path()).unwrap(), "a live lock is not stale");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn waiting_locker_gets_the_lock_when_released() {
        let dir = tempfile::tempdir().unwrap();
        let first = acquire(dir.path(), info("apply"), Duration::from_secs(1)).await.unwrap();
        let path = dir.path().to_path_buf();
        let waiter = tokio::spawn(async move { acquire(&path, info("plan"), Duration::from_secs(5)).await });
        tokio::time::sleep(Duration::from_millis(300)).await;
        drop(first);
        let second = waiter.await.unwrap().unwrap();
        assert_eq!(second.info().operation, "plan");
        assert!(second.recovered.is_none(), "a released lock is not a recovered one");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn released_lock_leaves_an_empty_file() {
        let dir = tempfile::tempdir().unwrap();
        let guard = acquire(dir.path(), info("apply"), Duration::from_secs(1)).await.unwrap();
        assert_eq!(read_holder(dir.path()).unwrap().unwrap().id, guard.info().id);
        drop(guard);
        assert_eq!(read_holder(dir.path()).unwrap(), None);
        assert!(!is_stale(dir.path()).unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stale_lock_is_detected_and_recovered() {
        let dir = tempfile::tempdir().unwrap();
        let dead = LockInfo { pid: 999_999, ..info("apply") };
        std::fs::write(lock_path(dir.path()), serde_json::to_string(&dead).unwrap()).unwrap();
        assert!(is_stale(dir.path()).unwrap());
        assert_eq!(read_holder(dir.path()).unwrap().unwrap().id, dead.id);

        let guard = acquire(dir.path(), info("plan"), Duration::from_millis(200)).await.unwrap();
        assert_eq!(guard.recovered.as_ref().map(|h| h.id.as_str()), Some(dead.id.as_str()));
        assert_eq!(guard.recovered_stale().map(|h| h.pid), Some(999_999));
        assert_eq!(read_holder(dir.path()).unwrap().unwrap().id, guard.info().id);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn force_unlock_needs_the_right_id() {
        let dir = tempfile::tempdir().unwrap();
        let guard = acquire(dir.path(), info("apply"), Duration::from_secs(1)).await.unwrap();
        let id = guard.info().id.clone();

        match force_unlock(dir.path(), "not-the-id").unwrap_err() {
            StateError::NoSuchLock { given, held } => {
                assert_eq!(given, "not-the-id");
                assert_eq!(held.map(|h| h.id), Some(id.clone()));
            }
            other => panic!("expected NoSuchLock, got {other:?}"),
        }

        assert_eq!(force_unlock(dir.path(), &id).unwrap().id, id);
        // The old guard still has its flock on the removed inode; a new locker must not care.
        let next = acquire(dir.path(), info("plan"), Duration::from_millis(200)).await.unwrap();
        drop(guard);
        assert_eq!(
            read_holder(dir.path()).unwrap().unwrap().id,
            next.info().id,
            "old guard's drop must not clear the new lock"
        );

        match force_unlock(dir.path(), &id).unwrap_err() {
            StateError::NoSuchLock { held, .. } => assert_eq!(held.map(|h| h.id), Some(next.info().id.clone())),
            other => panic!("expected NoSuchLock, got {other:?}"),
        }
    }

    #[test]
    fn force_unlock_without_a_lock_reports_none_held() {
        let dir = tempfile::tempdir().unwrap();
        match force_unlock(dir.path(), "x").unwrap_err() {
            StateError::NoSuchLock { held: None, .. } => {}
            other => panic!("expected NoSuchLock with nothing held, got {other:?}"),
        }
    }
}
