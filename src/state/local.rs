//! The local state backend: a sled database in the stack's state directory.
//!
//! Layout (`<dir>/cairn.sled`):
//! - `resources`: instance address → [`ResourceInstanceState`] JSON. One key per resource so that
//!   persisting a finished resource during an apply costs that resource's size.
//! - `meta`: `state` → format version, lineage, serial, Cairn version, outputs, check results.
//! - `history`: big-endian key (the serial, or one past the newest key when a new lineage's
//!   serial is lower) → a past version (the newest [`HISTORY_LIMIT`]) as a delta: `{time,
//!   operation, header, full, split, resources}`; its changes, the resources that changed since
//!   the previous record (or every resource when `full`), are in `history_changes`. Records of
//!   earlier Cairn versions hold them inline (`changes`: address → stored JSON, or null when
//!   removed), or the whole state (`{time, operation, state}`, counted as full). Recording a
//!   version costs what changed, not the state's size.
//! - `history_changes`: record key ++ address → the resource's stored JSON as that record set
//!   it, or `null` when it removed it. Kept out of the record because sled loads a tree node
//!   whole: with the changes inline, reading the newest record of a 100,000-resource stack read
//!   every record beside it, hundreds of megabytes each.
//! - `history_base`: address → resource JSON: the version before the oldest record, which its
//!   deltas apply to. Pruning the oldest record folds its delta in (a cost of that delta's size).
//! - `history_pending`: address → one byte (whether it existed at the newest record): the
//!   resources changed since the newest record, marked in the same transaction that changes
//!   them, so the next record lists exactly those without comparing whole states.
//! - `journal`: big-endian sequence → [`JournalEntry`] JSON.
//! - `keys`: `fingerprint-record` → the secret-fingerprint key's id and check value (the key
//!   itself is a file outside the state, see [`super::keyfile`]); `fingerprint` → the key
//!   itself, in states an older Cairn wrote, until a locked command moves it out.
//!
//! sled holds an exclusive file lock on its database for as long as it is open, so the database
//! is opened on first use (commands that never touch state never block others) and closed when
//! the last [`LocalStore`] for the directory in this process is dropped. Stores for the same
//! directory within one process share one open database.
//!
//! Every change is durable before the call returns. Flushing is an fsync, so concurrent callers
//! share flushes (group commit): each change takes a ticket after it is written, and one caller at
//! a time flushes everything written so far while the others wait for a flush that covers their
//! ticket.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Weak};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};
use tokio::sync::{watch, OnceCell};

use super::keyfile;
use super::lock::{self, FileLockGuard};
use super::{
    CheckResult, HistoryEntry, JournalEntry, LockGuard, LockInfo, OutputState, ResourceInstanceState, State,
    StateError, StateStore, FORMAT_VERSION,
};
use crate::addr::InstanceAddr;

pub const DB_DIR: &str = "cairn.sled";
/// How many past state versions `history` keeps.
pub const HISTORY_LIMIT: usize = 50;
/// How long to wait for another process to close the database before giving up.
pub const DEFAULT_OPEN_WAIT: Duration = Duration::from_secs(5);

const META_KEY: &[u8] = b"state";
/// Where Cairn before issue 14 kept the fingerprint key itself; moved out on the first locked
/// command (see [`super::keyfile`]).
const FINGERPRINT_KEY: &[u8] = b"fingerprint";
/// The fingerprint key's [`keyfile::KeyRecord`]: its id and check value, never the key.
const KEY_RECORD: &[u8] = b"fingerprint-record";
/// In `meta` once `history_pending` is complete (a full record was written since): a store an
/// older Cairn wrote did not mark its changes, so its first record by this Cairn is full.
const DELTAS_KEY: &[u8] = b"history-deltas";

/// In `meta` while the pending marks a record consumed are being cleared: that record's key.
/// Clearing them in the record's own transaction pinned a copy of every node it touched until
/// commit (a hundred megabytes at 30,000 resources), so they go in bounded batches after it; a
/// mark left by a crash in between is read against this record (see `record_history`).
const CLEARING_KEY: &[u8] = b"history-marks-clearing";

/// sled's page cache bound. Its default (1 GiB) kept every page an apply wrote or a history
/// record read: at 100,000 resources that alone was most of a gigabyte of the process's peak.
/// Reads of a state are one pass over it, so a small cache costs no repeated decoding.
const PAGE_CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// The state header: everything except the resources.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Meta {
    format_version: u32,
    lineage: String,
    serial: u64,
    cairn_version: String,
    #[serde(default)]
    outputs: BTreeMap<String, OutputState>,
    #[serde(default)]
    check_results: Vec<CheckResult>,
}

impl Meta {
    fn of(state: &State) -> Meta {
        Meta {
            format_version: FORMAT_VERSION,
            lineage: state.lineage.clone(),
            serial: state.serial,
            cairn_version: state.cairn_version.clone(),
            outputs: state.outputs.clone(),
            check_results: state.check_results.clone(),
        }
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Why a transaction stopped: a real error, or the data it planned from changed under it.
enum Abort {
    State(StateError),
    Retry,
}

fn abort<T>(e: StateError) -> Result<T, ConflictableTransactionError<Abort>> {
    Err(ConflictableTransactionError::Abort(Abort::State(e)))
}

/// The open database, shared by every store for one directory in this process.
struct Handle {
    location: String,
    db: sled::Db,
    resources: sled::Tree,
    meta: sled::Tree,
    history: sled::Tree,
    history_changes: sled::Tree,
    history_base: sled::Tree,
    history_pending: sled::Tree,
    journal: sled::Tree,
    keys: sled::Tree,
    /// Key and value bytes this process asked the database to store (what a test of "writes
    /// proportional to the change" counts).
    bytes_written: AtomicU64,
    /// Changes written so far (tickets handed out).
    written: AtomicU64,
    /// One caller flushes at a time.
    flushing: AtomicBool,
    /// The highest ticket known to be on disk.
    flushed: watch::Sender<u64>,
    /// Flushes done (how well group commit batches).
    flushes: AtomicU64,
}

static OPEN: LazyLock<tokio::sync::Mutex<HashMap<PathBuf, Weak<Handle>>>> =
    LazyLock::new(|| tokio::sync::Mutex::new(HashMap::new()));

pub struct LocalStore {
    dir: PathBuf,
    /// Canonical form of `dir`, so that two spellings of one directory share a database.
    canonical: PathBuf,
    open_wait: Duration,
    handle: OnceCell<Arc<Handle>>,
}

impl std::fmt::Debug for LocalStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalStore").field("dir", &self.dir).finish()
    }
}

fn io_error(location: impl std::fmt::Display, what: &str, e: impl std::fmt::Display) -> StateError {
    StateError::Io { location: location.to_string(), reason: format!("{what}: {e}") }
}

impl LocalStore {
    /// A store for the state directory `dir` (created if missing). The database itself is
    /// opened on first use.
    pub fn open(dir: &Path) -> Result<LocalStore, StateError> {
        super::private_fs::create_private_dir(dir)
            .map_err(|e| io_error(dir.display(), "cannot create the state directory", e))?;
        let canonical =
            dir.canonicalize().map_err(|e| io_error(dir.display(), "cannot resolve the state directory", e))?;
        Ok(LocalStore { dir: dir.to_path_buf(), canonical, open_wait: DEFAULT_OPEN_WAIT, handle: OnceCell::new() })
    }

    /// How long to wait for another process to release the database (default 5 s).
    pub fn with_open_wait(mut self, wait: Duration) -> Self {
        self.open_wait = wait;
        self
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether `cairn.lock` names a holder that died without releasing it (the next `lock`
    /// takes it over). [`StateStore::lock_holder`] reports such a holder too.
    pub fn lock_is_stale(&self) -> Result<bool, StateError> {
        lock::is_stale(&self.dir)
    }

    async fn handle(&self) -> Result<Arc<Handle>, StateError> {
        self.handle.get_or_try_init(|| open_shared(&self.dir, &self.canonical, self.open_wait)).await.cloned()
    }
}

async fn open_shared(dir: &Path, canonical: &Path, wait: Duration) -> Result<Arc<Handle>, StateError> {
    let mut open = OPEN.lock().await;
    open.retain(|_, h| h.strong_count() > 0);
    if let Some(h) = open.get(canonical).and_then(Weak::upgrade) {
        return Ok(h);
    }
    let h = Arc::new(open_db(dir, wait).await?);
    open.insert(canonical.to_path_buf(), Arc::downgrade(&h));
    Ok(h)
}

fn is_lock_conflict(e: &sled::Error) -> bool {
    match e {
        sled::Error::Io(io) => {
            let text = io.to_string();
            io.kind() == std::io::ErrorKind::WouldBlock
                || text.contains("could not acquire lock")
                || text.contains("WouldBlock")
                || text.contains("temporarily unavailable")
        }
        _ => false,
    }
}

async fn open_db(dir: &Path, wait: Duration) -> Result<Handle, StateError> {
    let path = dir.join(DB_DIR);
    let location = path.display().to_string();
    let deadline = Instant::now() + wait;
    let db = loop {
        let p = path.clone();
        let attempt =
            tokio::task::spawn_blocking(move || sled::Config::new().path(p).cache_capacity(PAGE_CACHE_BYTES).open())
                .await
                .map_err(|e| io_error(&location, "opening the state database failed", e))?;
        match attempt {
            Ok(db) => break db,
            Err(e) if is_lock_conflict(&e) => {
                if Instant::now() >= deadline {
                    return Err(match lock::read_holder(dir).ok().flatten() {
                        Some(holder) => StateError::Locked(Box::new(holder)),
                        None => io_error(
                            &location,
                            "the state database is in use by another Cairn process",
                            format!("still busy after {}s; wait for it to finish and retry", wait.as_secs_f32()),
                        ),
                    });
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(io_error(&location, "cannot open the state database", e)),
        }
    };
    // sled creates its files with the process umask; the directory is 0700 already, and its
    // files are made 0600 too so that a copy or a loosened directory does not expose them.
    super::private_fs::tighten(&path).map_err(|e| io_error(&location, "cannot restrict the state files", e))?;
    let tree = |name: &str| db.open_tree(name).map_err(|e| io_error(&location, &format!("cannot open tree {name}"), e));
    Ok(Handle {
        resources: tree("resources")?,
        meta: tree("meta")?,
        history: tree("history")?,
        history_changes: tree("history_changes")?,
        history_base: tree("history_base")?,
        history_pending: tree("history_pending")?,
        journal: tree("journal")?,
        keys: tree("keys")?,
        bytes_written: AtomicU64::new(0),
        written: AtomicU64::new(0),
        flushing: AtomicBool::new(false),
        flushed: watch::Sender::new(0),
        flushes: AtomicU64::new(0),
        location,
        db,
    })
}

/// Clears the flusher role however the flush ends (including the caller being cancelled), and
/// wakes waiters so that one of them takes over if the flush did not cover them.
struct FlusherRole<'a>(&'a Handle);

impl Drop for FlusherRole<'_> {
    fn drop(&mut self) {
        self.0.flushing.store(false, Ordering::SeqCst);
        self.0.flushed.send_modify(|_| {});
    }
}

impl Handle {
    fn err(&self, what: &str, e: impl std::fmt::Display) -> StateError {
        io_error(&self.location, what, e)
    }

    fn corrupt(&self, what: impl std::fmt::Display, reason: impl std::fmt::Display) -> StateError {
        StateError::Corrupt { location: format!("{} ({what})", self.location), reason: reason.to_string() }
    }

    fn tx_error(&self, e: TransactionError<Abort>) -> Result<bool, StateError> {
        match e {
            TransactionError::Abort(Abort::State(e)) => Err(e),
            TransactionError::Abort(Abort::Retry) => Ok(true),
            TransactionError::Storage(e) => Err(self.err("state write failed", e)),
        }
    }

    fn parse_meta(&self, raw: &[u8]) -> Result<Meta, StateError> {
        let json: serde_json::Value = serde_json::from_slice(raw).map_err(|e| self.corrupt("meta key \"state\"", e))?;
        // Checked before the full parse: a newer format may not parse, and "upgrade Cairn" is
        // the useful message then.
        if let Some(found) = json.get("format_version").and_then(|v| v.as_u64()) {
            if found > u64::from(FORMAT_VERSION) {
                return Err(StateError::TooNew {
                    found: u32::try_from(found).unwrap_or(u32::MAX),
                    supported: FORMAT_VERSION,
                });
            }
        }
        serde_json::from_value(json).map_err(|e| self.corrupt("meta key \"state\"", e))
    }

    fn parse_resource(&self, key: &[u8], raw: &[u8]) -> Result<(InstanceAddr, ResourceInstanceState), StateError> {
        let name = String::from_utf8_lossy(key).into_owned();
        let addr: InstanceAddr = serde_json::from_value(serde_json::Value::String(name.clone()))
            .map_err(|e| self.corrupt(format_args!("resource key {name:?}"), e))?;
        let res = serde_json::from_slice(raw).map_err(|e| self.corrupt(format_args!("resource {name}"), e))?;
        Ok((addr, res))
    }

    fn load(&self) -> Result<Option<State>, StateError> {
        let raw = self.meta.get(META_KEY).map_err(|e| self.err("cannot read the state header", e))?;
        let Some(raw) = raw else {
            if self.resources.is_empty() {
                return Ok(None);
            }
            return Err(self.corrupt("meta key \"state\"", "resources are stored but the state header is missing"));
        };
        let meta = self.parse_meta(&raw)?;
        let mut resources = BTreeMap::new();
        // Shared as they are read: every instance of a resource has the same list, decoded
        // once per instance but kept once.
        let mut shared = super::SharedDependencies::default();
        for item in self.resources.iter() {
            let (k, v) = item.map_err(|e| self.err("cannot read resources", e))?;
            let (addr, mut res) = self.parse_resource(&k, &v)?;
            shared.share(&mut res.dependencies);
            resources.insert(addr, res);
        }
        Ok(Some(State {
            format_version: meta.format_version,
            lineage: meta.lineage,
            serial: meta.serial,
            cairn_version: meta.cairn_version,
            resources,
            outputs: meta.outputs,
            check_results: meta.check_results,
        }))
    }

    /// A journal entry as its key and value. Entries are keyed by a database-wide sequence (not
    /// the entry's own `seq`, which restarts with every apply), so entries of different applies
    /// never overwrite each other.
    fn journal_record(&self, entry: &JournalEntry) -> Result<([u8; 8], Vec<u8>), StateError> {
        let seq = self.db.generate_id().map_err(|e| self.err("cannot number a journal entry", e))?;
        Ok((seq.to_be_bytes(), to_json(self, "a journal entry", entry)?))
    }

    fn wrote(&self, bytes: usize) {
        self.bytes_written.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    fn history_err(&self, e: impl std::fmt::Display) -> StateError {
        self.err("cannot record state history", e)
    }

    fn parse_record(&self, key: &[u8], raw: &[u8]) -> Result<StoredRecord, StateError> {
        serde_json::from_slice(raw).map_err(|e| self.corrupt(format_args!("history key {}", hex::encode(key)), e))
    }

    /// The key for a new record: its serial, unless a record with a key that high exists (a
    /// state of another lineage was written over this one): records stay in the order written,
    /// which is the order their deltas apply in.
    fn next_history_key(&self, serial: u64) -> Result<[u8; 8], StateError> {
        let last = self.history.last().map_err(|e| self.history_err(e))?;
        let after = last.and_then(|(k, _)| key_number(&k)).map_or(0, |n| n + 1);
        Ok(serial_key(serial.max(after)))
    }

    /// How many resources the newest record's version holds. A delta record states it: only
    /// that field is decoded (the record of a 100,000-resource create is hundreds of megabytes
    /// of changes); an older Cairn's whole-state record is read whole.
    fn newest_resource_count(&self) -> Result<i64, StateError> {
        #[derive(Deserialize)]
        struct Count {
            #[serde(default)]
            resources: Option<usize>,
        }
        let Some((k, v)) = self.history.last().map_err(|e| self.history_err(e))? else {
            return Ok(self.history_base.len() as i64);
        };
        let count = serde_json::from_slice::<Count>(&v)
            .map_err(|e| self.corrupt(format_args!("history key {}", hex::encode(&k)), e))?;
        match count.resources {
            Some(n) => Ok(n as i64),
            None => Ok(self.parse_record(&k, &v)?.resource_count() as i64),
        }
    }

    /// A split record's changes, from `history_changes`.
    fn split_values(&self, key: &[u8]) -> Result<Vec<(String, Option<serde_json::Value>)>, StateError> {
        let mut out = Vec::new();
        for item in self.history_changes.scan_prefix(key) {
            let (k, v) = item.map_err(|e| self.err("cannot read state history", e))?;
            let addr = String::from_utf8_lossy(&k[key.len()..]).into_owned();
            let value: serde_json::Value =
                serde_json::from_slice(&v).map_err(|e| self.corrupt(format_args!("history resource {addr}"), e))?;
            out.push((addr, Some(value).filter(|v| !v.is_null())));
        }
        Ok(out)
    }

    /// Removes the `history_changes` entries in `range`, a bounded batch at a time.
    fn remove_changes(&self, range: std::ops::Range<Vec<u8>>) -> Result<(), sled::Error> {
        let mut batch = BoundedBatch::new(&self.history_changes);
        for item in self.history_changes.range(range) {
            batch.remove(item?.0)?;
        }
        batch.finish()
    }

    /// Records the stored state as a history version: the resources marked pending since the
    /// newest record (or all of them, the first time on a store an older Cairn wrote), each
    /// checked to decode as [`Self::load`] would. Called under the state lock, after the change
    /// it records is stored; a crash before it leaves the marks, and the next record covers them.
    fn record_history(&self, operation: &str) -> Result<(), StateError> {
        let Some(header) = self.meta.get(META_KEY).map_err(|e| self.err("cannot read the state header", e))? else {
            return Ok(());
        };
        let serial = self.parse_meta(&header)?.serial;
        let deltas = self.meta.get(DELTAS_KEY).map_err(|e| self.history_err(e))?.is_some();
        let mut pending = Vec::new();
        for item in self.history_pending.iter() {
            pending.push(item.map_err(|e| self.history_err(e))?);
        }
        // A crash while the previous record's marks were being cleared left some: whether each
        // resource existed is then what that record says (a mark keeps its first value, which
        // may predate the record); recording it again is harmless, records hold values.
        let clearing = self.meta.get(CLEARING_KEY).map_err(|e| self.history_err(e))?;
        let existed_at_newest = |addr: &[u8], mark: &[u8]| -> Result<bool, StateError> {
            if let Some(newest) = &clearing {
                let k = [&newest[..], addr].concat();
                if let Some(v) = self.history_changes.get(k).map_err(|e| self.history_err(e))? {
                    return Ok(&*v != b"null");
                }
            }
            Ok(mark.first() == Some(&1))
        };
        let key = self.next_history_key(serial)?;
        // The changes are written under the record's key as they are read, in bounded batches,
        // before the record that makes them visible.
        let mut record = HistoryChanges::new(self, key)?;
        let count = if deltas {
            let mut count = self.newest_resource_count()?;
            for (key, existed) in &pending {
                let value = self.resources.get(key).map_err(|e| self.err("cannot read resources", e))?;
                if let Some(v) = &value {
                    self.parse_resource(key, v)?;
                }
                count += i64::from(value.is_some()) - i64::from(existed_at_newest(key, existed)?);
                record.push(key, value.as_deref())?;
            }
            count.max(0) as u64
        } else {
            let mut count = 0;
            for item in self.resources.iter() {
                let (k, v) = item.map_err(|e| self.err("cannot read resources", e))?;
                self.parse_resource(&k, &v)?;
                record.push(&k, Some(&v))?;
                count += 1;
            }
            count
        };
        record.finish()?;
        let record = history_record_json(&now(), operation, &header, !deltas, count);
        let result = (&self.history, &self.meta).transaction(|(ht, mt)| {
            ht.insert(&key, record.as_slice())?;
            mt.insert(CLEARING_KEY, &key[..])?;
            if !deltas {
                mt.insert(DELTAS_KEY, &b"1"[..])?;
            }
            Ok::<_, ConflictableTransactionError<Abort>>(())
        });
        if let Err(e) = result {
            self.tx_error(e)?;
        }
        self.wrote(key.len() + record.len());
        let mut cleared = BoundedBatch::new(&self.history_pending);
        for (k, _) in pending {
            cleared.remove(k).map_err(|e| self.history_err(e))?;
        }
        cleared.finish().map_err(|e| self.history_err(e))?;
        self.meta.remove(CLEARING_KEY).map_err(|e| self.history_err(e))?;
        self.prune_history()
    }

    /// Drops the oldest records beyond [`HISTORY_LIMIT`], folding each into `history_base`
    /// first. A crash between the two applies the record twice, which changes nothing: a record
    /// holds values, not differences.
    fn prune_history(&self) -> Result<(), StateError> {
        let prune_err = |e: sled::Error| self.err("cannot prune state history", e);
        while self.history.len() > HISTORY_LIMIT {
            let Some((key, raw)) = self.history.first().map_err(prune_err)? else { break };
            let record = self.parse_record(&key, &raw)?;
            if record.is_full() {
                self.history_base.clear().map_err(prune_err)?;
            }
            // Folded in bounded batches: a crash part-way folds the whole record again, which is
            // harmless for the same reason.
            let mut batch = BoundedBatch::new(&self.history_base);
            if record.split {
                // Straight from the stored bytes.
                for item in self.history_changes.scan_prefix(&key) {
                    let (k, v) = item.map_err(prune_err)?;
                    let addr = &k[key.len()..];
                    if &*v == b"null" {
                        batch.remove(addr).map_err(prune_err)?;
                    } else {
                        self.wrote(addr.len() + v.len());
                        batch.insert(addr, v).map_err(prune_err)?;
                    }
                }
            } else {
                let values = record
                    .into_values()
                    .map_err(|e| self.corrupt(format_args!("history key {}", hex::encode(&key)), e))?;
                for (addr, value) in values {
                    match value {
                        Some(v) => {
                            let bytes = serde_json::to_vec(&v).map_err(|e| self.history_err(e))?;
                            self.wrote(addr.len() + bytes.len());
                            batch.insert(addr.as_bytes(), bytes).map_err(prune_err)?;
                        }
                        None => batch.remove(addr.as_bytes()).map_err(prune_err)?,
                    }
                }
            }
            batch.finish().map_err(prune_err)?;
            self.history.remove(&key).map_err(prune_err)?;
            // A crash here leaves changes no record names: the next record clears them.
            self.remove_changes(key.to_vec()..key_after(&key)).map_err(prune_err)?;
        }
        Ok(())
    }

    /// The version recorded with `serial` (the newest such record): the nearest full record at
    /// or before it (or `history_base`) with the deltas up to it applied.
    fn version(&self, serial: u64) -> Result<State, StateError> {
        let mut keys = Vec::new();
        for item in self.history.iter() {
            let (k, v) = item.map_err(|e| self.err("cannot read state history", e))?;
            let peek: RecordSerial = serde_json::from_slice(&v)
                .map_err(|e| self.corrupt(format_args!("history key {}", hex::encode(&k)), e))?;
            keys.push((k, peek.serial() == Some(serial)));
        }
        let target = keys.iter().rposition(|(_, hit)| *hit).ok_or(StateError::NoSuchVersion(serial))?;
        // Newest first, back to a full record.
        let mut chain = Vec::new();
        for (k, _) in keys[..=target].iter().rev() {
            let raw = self.history.get(k).map_err(|e| self.err("cannot read state history", e))?;
            let raw = raw.ok_or_else(|| self.corrupt("history", "a record vanished while being read"))?;
            let record = self.parse_record(k, &raw)?;
            let full = record.is_full();
            chain.push((k.clone(), record));
            if full {
                break;
            }
        }
        let mut resources = BTreeMap::new();
        if !chain.last().is_some_and(|(_, r)| r.is_full()) {
            for item in self.history_base.iter() {
                let (k, v) = item.map_err(|e| self.err("cannot read state history", e))?;
                let (addr, res) = self.parse_resource(&k, &v)?;
                resources.insert(addr, res);
            }
        }
        let (_, newest) = chain.first().expect("the target is in the chain");
        let mut state = newest
            .header_state()
            .ok_or_else(|| self.corrupt(format_args!("history version {serial}"), "the record has no state header"))?;
        for (k, record) in chain.into_iter().rev() {
            let bad = |e: serde_json::Error| self.corrupt(format_args!("history key {}", hex::encode(&k)), e);
            let values = if record.split { self.split_values(&k)? } else { record.into_values().map_err(bad)? };
            for (addr, value) in values {
                let name = addr.clone();
                let addr: InstanceAddr = serde_json::from_value(serde_json::Value::String(addr)).map_err(bad)?;
                match value {
                    Some(v) => {
                        let res = serde_json::from_value(v)
                            .map_err(|e| self.corrupt(format_args!("history resource {name}"), e))?;
                        resources.insert(addr, res);
                    }
                    None => {
                        resources.remove(&addr);
                    }
                }
            }
        }
        state.resources = resources;
        Ok(state)
    }

    /// Returns once everything this caller wrote is on disk, sharing flushes with concurrent
    /// callers.
    async fn durable(&self) -> Result<(), StateError> {
        // The ticket is taken after the write: any flush that starts after the ticket exists
        // (and so reads a target >= ticket) covers the write.
        let ticket = self.written.fetch_add(1, Ordering::SeqCst) + 1;
        let mut flushed = self.flushed.subscribe();
        loop {
            if *flushed.borrow_and_update() >= ticket {
                return Ok(());
            }
            if self.flushing.compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
                let role = FlusherRole(self);
                let target = self.written.load(Ordering::SeqCst);
                let db = self.db.clone();
                let result = tokio::task::spawn_blocking(move || db.flush()).await;
                match result {
                    Ok(Ok(_)) => {
                        self.flushes.fetch_add(1, Ordering::Relaxed);
                        self.flushed.send_modify(|e| *e = (*e).max(target));
                    }
                    Ok(Err(e)) => return Err(self.err("cannot flush state to disk", e)),
                    Err(e) => return Err(self.err("cannot flush state to disk", e)),
                }
                drop(role);
            } else if flushed.changed().await.is_err() {
                return Err(self.err("cannot flush state to disk", "the database was closed"));
            }
        }
    }
}

fn serial_key(serial: u64) -> [u8; 8] {
    serial.to_be_bytes()
}

fn key_number(key: &[u8]) -> Option<u64> {
    <[u8; 8]>::try_from(key).ok().map(u64::from_be_bytes)
}

/// How many `history_changes` entries one write batch holds: a record of any size is written
/// (and pruned) in bounded memory.
const CHANGES_BATCH: usize = 1000;

/// Writes to one tree in batches of [`CHANGES_BATCH`]: a change of any size in bounded
/// memory. Each batch is atomic on its own, not the whole: callers make a partial one harmless.
struct BoundedBatch<'t> {
    tree: &'t sled::Tree,
    batch: sled::Batch,
    len: usize,
}

impl<'t> BoundedBatch<'t> {
    fn new(tree: &'t sled::Tree) -> Self {
        BoundedBatch { tree, batch: sled::Batch::default(), len: 0 }
    }

    fn insert(&mut self, key: impl Into<sled::IVec>, value: impl Into<sled::IVec>) -> Result<(), sled::Error> {
        self.batch.insert(key, value);
        self.added()
    }

    fn remove(&mut self, key: impl Into<sled::IVec>) -> Result<(), sled::Error> {
        self.batch.remove(key);
        self.added()
    }

    fn added(&mut self) -> Result<(), sled::Error> {
        self.len += 1;
        if self.len == CHANGES_BATCH {
            self.len = 0;
            self.tree.apply_batch(std::mem::take(&mut self.batch))?;
        }
        Ok(())
    }

    fn finish(self) -> Result<(), sled::Error> {
        self.tree.apply_batch(self.batch)
    }
}

/// A new record's changes, written to `history_changes` under its key as they are read.
struct HistoryChanges<'a> {
    handle: &'a Handle,
    key: [u8; 8],
    batch: BoundedBatch<'a>,
}

impl<'a> HistoryChanges<'a> {
    /// Starts a record's changes. Entries under no record's key are cleared first: after the
    /// newest record's (a crash came between writing a record's changes and the record) or
    /// before the oldest's (a crash came while pruning a record).
    fn new(handle: &'a Handle, key: [u8; 8]) -> Result<Self, StateError> {
        let err = |e| handle.history_err(e);
        let record_key = |r: Option<(sled::IVec, sled::IVec)>| r.and_then(|(k, _)| key_number(&k));
        let oldest = record_key(handle.history.first().map_err(err)?);
        let newest = record_key(handle.history.last().map_err(err)?);
        if let Some(oldest) = oldest {
            handle.remove_changes(Vec::new()..oldest.to_be_bytes().to_vec()).map_err(err)?;
        }
        let after_newest = newest.map_or_else(Vec::new, |n| (n + 1).to_be_bytes().to_vec());
        handle.remove_changes(after_newest..vec![0xff; 9]).map_err(err)?;
        Ok(HistoryChanges { handle, key, batch: BoundedBatch::new(&handle.history_changes) })
    }

    /// One change: the address and the stored resource's JSON, or None for one removed.
    fn push(&mut self, addr: &[u8], value: Option<&[u8]>) -> Result<(), StateError> {
        let k = [&self.key[..], addr].concat();
        let v = value.unwrap_or(b"null");
        self.handle.wrote(k.len() + v.len());
        self.batch.insert(k, v).map_err(|e| self.handle.history_err(e))
    }

    fn finish(self) -> Result<(), StateError> {
        self.batch.finish().map_err(|e| self.handle.history_err(e))
    }
}

/// A key after every `history_changes` key that starts with `prefix`: the addresses after it
/// are UTF-8, which never holds a 0xff byte.
fn key_after(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    end.push(0xff);
    end
}

/// A history record (its changes are in `history_changes`).
fn history_record_json(time: &str, operation: &str, header: &[u8], full: bool, resources: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(header.len() + 128);
    out.extend_from_slice(b"{\"time\":");
    serde_json::to_writer(&mut out, time).expect("a string encodes");
    out.extend_from_slice(b",\"operation\":");
    serde_json::to_writer(&mut out, operation).expect("a string encodes");
    out.extend_from_slice(b",\"header\":");
    out.extend_from_slice(header.trim_ascii());
    out.extend_from_slice(format!(",\"full\":{full},\"split\":true,\"resources\":{resources}}}").as_bytes());
    out
}

/// A stored history record: a delta (this Cairn) or a whole state (an older one).
#[derive(Deserialize)]
struct StoredRecord {
    time: String,
    operation: String,
    /// An older Cairn's record: the whole state.
    #[serde(default)]
    state: Option<State>,
    #[serde(default)]
    header: Option<Meta>,
    #[serde(default)]
    resources: Option<usize>,
    #[serde(default)]
    full: bool,
    /// The changes are in `history_changes` (this Cairn), not inline (earlier versions).
    #[serde(default)]
    split: bool,
    #[serde(default)]
    changes: serde_json::Map<String, serde_json::Value>,
}

impl StoredRecord {
    /// Whether the record stands alone (no earlier record or base is needed to read it).
    fn is_full(&self) -> bool {
        self.full || self.state.is_some()
    }

    fn resource_count(&self) -> usize {
        match &self.state {
            Some(state) => state.resources.len(),
            None => self.resources.unwrap_or(self.changes.len()),
        }
    }

    /// The state header of the version (resources left empty).
    fn header_state(&self) -> Option<State> {
        if let Some(state) = &self.state {
            return Some(State { resources: BTreeMap::new(), ..state.clone() });
        }
        let m = self.header.clone()?;
        Some(State {
            format_version: m.format_version,
            lineage: m.lineage,
            serial: m.serial,
            cairn_version: m.cairn_version,
            resources: BTreeMap::new(),
            outputs: m.outputs,
            check_results: m.check_results,
        })
    }

    fn entry(self) -> Option<HistoryEntry> {
        let resources = self.resource_count();
        let (serial, lineage) = match (self.state, self.header) {
            (Some(state), _) => (state.serial, state.lineage),
            (None, Some(m)) => (m.serial, m.lineage),
            (None, None) => return None,
        };
        Some(HistoryEntry { serial, lineage, time: self.time, operation: self.operation, resources })
    }

    /// Address → resource JSON (null: removed), as the record sets them.
    fn into_values(self) -> Result<Vec<(String, Option<serde_json::Value>)>, serde_json::Error> {
        match self.state {
            Some(state) => state
                .resources
                .into_iter()
                .map(|(addr, res)| Ok((addr.to_string(), Some(serde_json::to_value(res)?))))
                .collect(),
            None => Ok(self.changes.into_iter().map(|(addr, v)| (addr, Some(v).filter(|v| !v.is_null()))).collect()),
        }
    }
}

/// Just a record's serial, read without decoding the resources.
#[derive(Deserialize)]
struct RecordSerial {
    #[serde(default)]
    header: Option<SerialOnly>,
    #[serde(default)]
    state: Option<SerialOnly>,
}

#[derive(Deserialize)]
struct SerialOnly {
    serial: u64,
}

impl RecordSerial {
    fn serial(&self) -> Option<u64> {
        self.header.as_ref().or(self.state.as_ref()).map(|s| s.serial)
    }
}

/// Marks a resource changed since the newest history record; the first mark keeps whether it
/// existed then. Returns the bytes written.
fn mark_pending(
    pt: &sled::transaction::TransactionalTree,
    key: &[u8],
    existed: bool,
) -> Result<usize, ConflictableTransactionError<Abort>> {
    if pt.get(key)?.is_some() {
        return Ok(0);
    }
    pt.insert(key, &[u8::from(existed)][..])?;
    Ok(key.len() + 1)
}

fn to_json<T: Serialize>(h: &Handle, what: &str, v: &T) -> Result<Vec<u8>, StateError> {
    serde_json::to_vec(v).map_err(|e| h.err(&format!("cannot encode {what}"), e))
}

#[async_trait]
impl StateStore for LocalStore {
    fn location(&self) -> String {
        self.dir.display().to_string()
    }

    async fn lock(&self, info: LockInfo, timeout: Duration) -> Result<Box<dyn LockGuard>, StateError> {
        let guard: FileLockGuard = lock::acquire(&self.dir, info, timeout).await?;
        Ok(Box::new(guard))
    }

    /// The holder written in `cairn.lock`, even when it is stale (see [`LocalStore::lock_is_stale`]).
    async fn lock_holder(&self) -> Result<Option<LockInfo>, StateError> {
        lock::read_holder(&self.dir)
    }

    async fn force_unlock(&self, id: &str) -> Result<LockInfo, StateError> {
        lock::force_unlock(&self.dir, id)
    }

    async fn load(&self) -> Result<Option<State>, StateError> {
        self.handle().await?.load()
    }

    async fn serial(&self) -> Result<u64, StateError> {
        let h = self.handle().await?;
        let raw = h.meta.get(META_KEY).map_err(|e| h.err("cannot read the state header", e))?;
        raw.map_or(Ok(0), |raw| h.parse_meta(&raw).map(|m| m.serial))
    }

    /// Stores only the resources that differ from what is stored (each is compared with its
    /// stored bytes), so `state rm` of one resource of 100,000 writes that removal, the header
    /// and a small history record.
    async fn write(&self, state: &State, operation: &str) -> Result<(), StateError> {
        let h = self.handle().await?;
        let mut entries = Vec::with_capacity(state.resources.len());
        for (addr, res) in &state.resources {
            entries.push((addr.to_string(), to_json(&h, "a resource", res)?));
        }
        let keep: HashSet<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
        let meta = to_json(&h, "the state header", &Meta::of(state))?;
        loop {
            // Transactions cannot scan, so list what to change first and make the transaction
            // start over if the header (rewritten by every change) moved in between.
            let seen = h.meta.get(META_KEY).map_err(|e| h.err("cannot read the state header", e))?;
            let mut stale = Vec::new();
            for key in h.resources.iter().keys() {
                let key = key.map_err(|e| h.err("cannot read resources", e))?;
                if !keep.contains(String::from_utf8_lossy(&key).as_ref()) {
                    stale.push(key);
                }
            }
            let mut changed = Vec::new();
            for (key, value) in &entries {
                let stored = h.resources.get(key.as_bytes()).map_err(|e| h.err("cannot read resources", e))?;
                if stored.as_deref() != Some(value.as_slice()) {
                    changed.push((key, value));
                }
            }
            let written = std::cell::Cell::new(0);
            let result = (&h.resources, &h.meta, &h.history_pending).transaction(|(rt, mt, pt)| {
                let current = mt.get(META_KEY)?;
                if current != seen {
                    return Err(ConflictableTransactionError::Abort(Abort::Retry));
                }
                match &current {
                    Some(raw) => {
                        let stored = h.parse_meta(raw).or_else(abort)?;
                        if stored.lineage == state.lineage && state.serial <= stored.serial {
                            return abort(StateError::SerialRegression {
                                current: stored.serial,
                                attempted: state.serial,
                            });
                        }
                    }
                    // A new store: every change to it is marked, so its records are deltas from
                    // the start.
                    None => mt.insert(DELTAS_KEY, &b"1"[..]).map(drop)?,
                }
                let mut bytes = 0;
                for key in &stale {
                    let existed = rt.remove(key)?.is_some();
                    bytes += mark_pending(pt, key, existed)?;
                }
                for (key, value) in &changed {
                    let existed = rt.insert(key.as_bytes(), value.as_slice())?.is_some();
                    bytes += key.len() + value.len() + mark_pending(pt, key.as_bytes(), existed)?;
                }
                mt.insert(META_KEY, meta.as_slice())?;
                written.set(bytes + META_KEY.len() + meta.len());
                Ok(())
            });
            match result {
                Ok(()) => {
                    h.wrote(written.get());
                    break;
                }
                Err(e) => {
                    if !h.tx_error(e)? {
                        break;
                    }
                }
            }
        }
        h.record_history(operation)?;
        h.durable().await
    }

    /// One transaction and one durable flush for the whole batch: the apply persister hands
    /// over every resource that completed since its last write.
    async fn write_resources(
        &self,
        lineage: &str,
        first_serial: u64,
        changes: &[(InstanceAddr, Option<ResourceInstanceState>)],
    ) -> Result<(), StateError> {
        self.write_batch(lineage, first_serial, &[], changes, &[]).await
    }

    /// One transaction over the journal, the resources and the header, and one durable flush:
    /// a closing entry is never on disk without the resource it follows, and an apply step
    /// costs the persister one flush per batch instead of one per kind of write.
    async fn write_batch(
        &self,
        lineage: &str,
        first_serial: u64,
        opening: &[JournalEntry],
        changes: &[(InstanceAddr, Option<ResourceInstanceState>)],
        closing: &[JournalEntry],
    ) -> Result<(), StateError> {
        if opening.is_empty() && changes.is_empty() && closing.is_empty() {
            return Ok(());
        }
        let h = self.handle().await?;
        let mut journal = Vec::with_capacity(opening.len() + closing.len());
        for entry in opening.iter().chain(closing) {
            journal.push(h.journal_record(entry)?);
        }
        let mut encoded = Vec::with_capacity(changes.len());
        for (addr, r) in changes {
            encoded.push((addr.to_string(), r.as_ref().map(|r| to_json(&h, "a resource", r)).transpose()?));
        }
        let serial = (first_serial + changes.len() as u64).saturating_sub(1);
        let written = std::cell::Cell::new(0);
        let result = (&h.resources, &h.meta, &h.journal, &h.history_pending).transaction(|(rt, mt, jt, pt)| {
            let mut bytes = 0;
            for (key, value) in &journal {
                jt.insert(key, value.as_slice())?;
                bytes += key.len() + value.len();
            }
            written.set(bytes);
            if encoded.is_empty() {
                return Ok(());
            }
            let mut meta = match mt.get(META_KEY)? {
                Some(raw) => {
                    let stored = h.parse_meta(&raw).or_else(abort)?;
                    if stored.lineage != lineage {
                        return abort(h.corrupt(
                            "meta key \"state\"",
                            format!(
                                "the stored state has lineage {} but this write is for lineage {lineage}: it belongs to a \
                                 different state history; re-run the plan against this state",
                                stored.lineage
                            ),
                        ));
                    }
                    if first_serial <= stored.serial {
                        return abort(StateError::SerialRegression { current: stored.serial, attempted: first_serial });
                    }
                    stored
                }
                None => {
                    // A new store: every change to it is marked, so its records are deltas from
                    // the start.
                    mt.insert(DELTAS_KEY, &b"1"[..])?;
                    Meta {
                    format_version: FORMAT_VERSION,
                    lineage: lineage.to_string(),
                    serial,
                    cairn_version: env!("CARGO_PKG_VERSION").to_string(),
                    outputs: BTreeMap::new(),
                    check_results: Vec::new(),
                }
                }
            };
            meta.serial = serial;
            for (key, value) in &encoded {
                let existed = match value {
                    Some(v) => {
                        bytes += key.len() + v.len();
                        rt.insert(key.as_bytes(), v.as_slice())?
                    }
                    None => rt.remove(key.as_bytes())?,
                }
                .is_some();
                bytes += mark_pending(pt, key.as_bytes(), existed)?;
            }
            let raw = serde_json::to_vec(&meta).or_else(|e| abort(h.err("cannot encode the state header", e)))?;
            written.set(bytes + META_KEY.len() + raw.len());
            mt.insert(META_KEY, raw)?;
            Ok(())
        });
        if let Err(e) = result {
            h.tx_error(e)?;
        }
        h.wrote(written.get());
        h.durable().await
    }

    async fn journal_batch(&self, entries: &[JournalEntry]) -> Result<(), StateError> {
        let h = self.handle().await?;
        let mut batch = sled::Batch::default();
        for entry in entries {
            let (key, raw) = h.journal_record(entry)?;
            h.wrote(key.len() + raw.len());
            batch.insert(&key, raw);
        }
        h.journal.apply_batch(batch).map_err(|e| h.err("cannot write the apply journal", e))?;
        h.durable().await
    }

    async fn finish_apply(&self, state: &State) -> Result<(), StateError> {
        let h = self.handle().await?;
        let written = std::cell::Cell::new(0);
        let result = h.meta.transaction(|mt| {
            let meta = match mt.get(META_KEY)? {
                Some(raw) => {
                    let stored = h.parse_meta(&raw).or_else(abort)?;
                    super::check_apply_follows(&stored.lineage, stored.serial, state, |reason| {
                        h.corrupt("meta key \"state\"", reason)
                    })
                    .or_else(abort)?;
                    Meta {
                        serial: state.serial,
                        cairn_version: state.cairn_version.clone(),
                        outputs: state.outputs.clone(),
                        check_results: state.check_results.clone(),
                        ..stored
                    }
                }
                None => Meta::of(state),
            };
            let raw = serde_json::to_vec(&meta).or_else(|e| abort(h.err("cannot encode the state header", e)))?;
            written.set(META_KEY.len() + raw.len());
            mt.insert(META_KEY, raw)?;
            Ok(())
        });
        if let Err(e) = result {
            h.tx_error(e)?;
        }
        h.wrote(written.get());
        // The version recorded is what is stored (the resources written during the apply), not
        // the caller's copy; only the resources the apply changed are read.
        h.record_history("apply")?;
        h.durable().await
    }

    async fn history(&self) -> Result<Vec<HistoryEntry>, StateError> {
        let h = self.handle().await?;
        let mut out = Vec::new();
        for item in h.history.iter().rev() {
            let (k, v) = item.map_err(|e| h.err("cannot read state history", e))?;
            let entry = h.parse_record(&k, &v)?.entry();
            out.push(entry.ok_or_else(|| {
                h.corrupt(format_args!("history key {}", hex::encode(&k)), "the record has no state header")
            })?);
        }
        Ok(out)
    }

    async fn version(&self, serial: u64) -> Result<State, StateError> {
        self.handle().await?.version(serial)
    }

    async fn journal(&self, entry: &JournalEntry) -> Result<(), StateError> {
        self.journal_batch(std::slice::from_ref(entry)).await
    }

    async fn open_journal(&self) -> Result<Vec<JournalEntry>, StateError> {
        let h = self.handle().await?;
        let mut journal = Vec::new();
        for item in h.journal.iter() {
            let (k, v) = item.map_err(|e| h.err("cannot read the apply journal", e))?;
            let entry: JournalEntry = serde_json::from_slice(&v)
                .map_err(|e| h.corrupt(format_args!("journal key {}", hex::encode(&k)), e))?;
            journal.push(entry);
        }
        Ok(super::open_entries(journal))
    }

    async fn clear_journal(&self, apply_id: &str) -> Result<(), StateError> {
        let h = self.handle().await?;
        let mut batch = sled::Batch::default();
        for item in h.journal.iter() {
            let (k, v) = item.map_err(|e| h.err("cannot read the apply journal", e))?;
            // An unreadable entry cannot be attributed to an apply; it stays (and open_journal
            // keeps reporting it) rather than being silently dropped.
            if let Ok(entry) = serde_json::from_slice::<JournalEntry>(&v) {
                if entry.apply_id == apply_id {
                    batch.remove(k);
                }
            }
        }
        h.journal.apply_batch(batch).map_err(|e| h.err("cannot clear the apply journal", e))?;
        h.durable().await
    }

    async fn adopt_fingerprint_key(&self, key: [u8; 32]) -> Result<(), StateError> {
        let h = self.handle().await?;
        let location = self.location();
        let refuse = || {
            h.corrupt(
                "keys",
                "this state already has a different fingerprint key: it holds another state's history; migrate into an empty backend",
            )
        };
        loop {
            let stored = h.stored_key()?;
            if stored.record.is_some() || stored.legacy.is_some() {
                return match keyfile::resolve(&location, &stored)? {
                    keyfile::Resolved::Key(existing) if existing == key => Ok(()),
                    _ => Err(refuse()),
                };
            }
            let record = keyfile::KeyRecord::new(&key);
            keyfile::ensure_key_file(&keyfile::key_path(&record.id)?, &key, &location)?;
            if h.insert_key_record(&record)? {
                return h.durable().await;
            }
        }
    }

    async fn clear_journals(&self) -> Result<(), StateError> {
        let h = self.handle().await?;
        h.journal.clear().map_err(|e| h.err("cannot clear the apply journal", e))?;
        h.durable().await
    }

    async fn fingerprint_key(&self) -> Result<[u8; 32], StateError> {
        let h = self.handle().await?;
        let location = self.location();
        loop {
            if let keyfile::Resolved::Key(key) = keyfile::resolve(&location, &h.stored_key()?)? {
                return Ok(key);
            }
            if h.load()?.is_some_and(|state| state.resources.values().any(|r| !r.sensitive_fingerprints.is_empty())) {
                return Err(keyfile::KeyError::Orphaned { state: location }.into());
            }
            let (key, record) = keyfile::create(&location)?;
            // Fingerprints made with this key may be stored next; its record must survive a
            // crash first. Losing the race to another creator: theirs is the key.
            if h.insert_key_record(&record)? {
                h.durable().await?;
                return Ok(key);
            }
        }
    }

    async fn move_fingerprint_key_out(&self) -> Result<Option<String>, StateError> {
        let h = self.handle().await?;
        let location = self.location();
        let Some((record, at)) = keyfile::move_out(&location, &h.stored_key()?)? else { return Ok(None) };
        // The record and the removal of the key land together: a crash leaves either the old
        // layout or the new one (the file, written first, is harmless alone).
        let mut batch = sled::Batch::default();
        batch.insert(KEY_RECORD, record.to_json());
        batch.remove(FINGERPRINT_KEY);
        h.keys.apply_batch(batch).map_err(|e| h.err("cannot store the fingerprint key record", e))?;
        h.durable().await?;
        Ok(Some(keyfile::moved_note(&location, &at)))
    }

    async fn stored_fingerprint_key(&self) -> Result<keyfile::Stored, StateError> {
        self.handle().await?.stored_key()
    }

    async fn replace_fingerprint_key_record(&self, record: &keyfile::KeyRecord) -> Result<(), StateError> {
        let h = self.handle().await?;
        // Together: a crash leaves the old record or the new one, never a mix.
        let mut batch = sled::Batch::default();
        batch.insert(KEY_RECORD, record.to_json());
        batch.remove(FINGERPRINT_KEY);
        h.keys.apply_batch(batch).map_err(|e| h.err("cannot store the fingerprint key record", e))?;
        h.durable().await
    }
}

impl Handle {
    /// The key record, and the key itself if an older Cairn stored it here.
    fn stored_key(&self) -> Result<keyfile::Stored, StateError> {
        let record = self.keys.get(KEY_RECORD).map_err(|e| self.err("cannot read the fingerprint key record", e))?;
        let record = record
            .map(|raw| keyfile::KeyRecord::parse(&raw, "keys/fingerprint-record").map_err(|e| self.corrupt("keys", e)))
            .transpose()?;
        let legacy = self.keys.get(FINGERPRINT_KEY).map_err(|e| self.err("cannot read the fingerprint key", e))?;
        let legacy = legacy
            .map(|raw| {
                <[u8; 32]>::try_from(&raw[..]).map_err(|_| {
                    self.corrupt("keys/fingerprint", format!("the key is {} bytes long, expected 32", raw.len()))
                })
            })
            .transpose()?;
        Ok(keyfile::Stored { record, legacy })
    }

    /// Stores `record` if the state has none yet; `false` when another writer stored one first.
    fn insert_key_record(&self, record: &keyfile::KeyRecord) -> Result<bool, StateError> {
        let swapped = self
            .keys
            .compare_and_swap(KEY_RECORD, None as Option<&[u8]>, Some(record.to_json()))
            .map_err(|e| self.err("cannot store the fingerprint key record", e))?;
        Ok(swapped.is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::{InstanceKey, ModulePath, ResourceAddr};
    use crate::state::JournalStatus;
    use serde_json::json;

    fn addr(i: i64) -> InstanceAddr {
        ResourceAddr::managed(ModulePath::root(), "terraform_data", "x").instance(InstanceKey::Int(i))
    }

    fn res(n: i64) -> ResourceInstanceState {
        ResourceInstanceState {
            type_name: "terraform_data".into(),
            provider: "terraform".into(),
            attributes: json!({ "id": format!("id-{n}"), "input": n }).into(),
            sensitive_fingerprints: BTreeMap::new(),
            dependencies: vec![].into(),
            create_before_destroy: false,
            tainted: false,
            deposed: None,
        }
    }

    fn sample_state(serial: u64, n: i64) -> State {
        let mut s = State::new();
        s.serial = serial;
        for i in 0..n {
            s.resources.insert(addr(i), res(i));
        }
        s.outputs.insert("ip".into(), OutputState { value: json!("10.0.0.1"), sensitive: false });
        s
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn empty_store_loads_none() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(&dir.path().join("state")).unwrap();
        assert!(dir.path().join("state").is_dir());
        assert_eq!(store.load().await.unwrap(), None);
        assert!(store.history().await.unwrap().is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn write_load_round_trip_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let state = sample_state(1, 3);
        {
            let store = LocalStore::open(dir.path()).unwrap();
            store.write(&state, "test").await.unwrap();
            assert_eq!(store.load().await.unwrap().as_ref(), Some(&state));
        }
        let store = LocalStore::open(dir.path()).unwrap();
        assert_eq!(store.load().await.unwrap(), Some(state.clone()));

        // A replacement drops resources that are no longer present.
        let mut smaller = state.clone();
        smaller.serial = 2;
        smaller.resources.remove(&addr(1));
        store.write(&smaller, "state rm").await.unwrap();
        assert_eq!(store.load().await.unwrap(), Some(smaller));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn equal_dependency_lists_load_as_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = sample_state(1, 4);
        for (i, r) in state.resources.values_mut().enumerate() {
            // Separately allocated lists, two of them equal.
            r.dependencies = if i < 3 { vec![addr(9), addr(8)] } else { vec![addr(7)] }.into();
        }
        let store = LocalStore::open(dir.path()).unwrap();
        store.write(&state, "test").await.unwrap();
        let loaded = store.load().await.unwrap().unwrap();
        assert_eq!(loaded, state, "sharing keeps the values");
        let deps: Vec<_> = loaded.resources.values().map(|r| r.dependencies.clone()).collect();
        assert!(std::sync::Arc::ptr_eq(&deps[0], &deps[1]) && std::sync::Arc::ptr_eq(&deps[0], &deps[2]));
        assert!(!std::sync::Arc::ptr_eq(&deps[0], &deps[3]));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stores_for_one_directory_share_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let a = LocalStore::open(dir.path()).unwrap().with_open_wait(Duration::from_millis(200));
        let b = LocalStore::open(&dir.path().join(".")).unwrap().with_open_wait(Duration::from_millis(200));
        a.write(&sample_state(1, 1), "test").await.unwrap();
        assert_eq!(b.load().await.unwrap().map(|s| s.serial), Some(1));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn write_refuses_serial_regression_in_the_same_lineage() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        let state = sample_state(5, 1);
        store.write(&state, "test").await.unwrap();
        let mut older = state.clone();
        older.serial = 5;
        match store.write(&older, "test").await.unwrap_err() {
            StateError::SerialRegression { current: 5, attempted: 5 } => {}
            other => panic!("expected SerialRegression, got {other:?}"),
        }
        // Another lineage replaces it (a different state pushed deliberately).
        let other = sample_state(1, 2);
        store.write(&other, "push").await.unwrap();
        assert_eq!(store.load().await.unwrap(), Some(other));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn write_resource_checks_serial_and_lineage() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        store.write_resource("L1", 1, &addr(0), Some(&res(0))).await.unwrap();
        store.write_resource("L1", 2, &addr(1), Some(&res(1))).await.unwrap();
        let loaded = store.load().await.unwrap().unwrap();
        assert_eq!((loaded.lineage.as_str(), loaded.serial, loaded.resources.len()), ("L1", 2, 2));
        assert!(loaded.outputs.is_empty());

        match store.write_resource("L1", 2, &addr(2), Some(&res(2))).await.unwrap_err() {
            StateError::SerialRegression { current: 2, attempted: 2 } => {}
            other => panic!("expected SerialRegression, got {other:?}"),
        }
        match store.write_resource("L2", 9, &addr(2), Some(&res(2))).await.unwrap_err() {
            StateError::Corrupt { reason, .. } => assert!(reason.contains("L1") && reason.contains("L2"), "{reason}"),
            other => panic!("expected a lineage error, got {other:?}"),
        }
        store.write_resource("L1", 3, &addr(0), None).await.unwrap();
        let loaded = store.load().await.unwrap().unwrap();
        assert_eq!(loaded.resources.keys().cloned().collect::<Vec<_>>(), vec![addr(1)]);
        assert_eq!(loaded.serial, 3);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn corrupt_values_name_their_key() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        store.write(&sample_state(1, 1), "test").await.unwrap();
        let h = store.handle().await.unwrap();
        h.resources.insert(addr(7).to_string().as_bytes(), &b"{not json"[..]).unwrap();
        match store.load().await.unwrap_err() {
            StateError::Corrupt { location, reason } => {
                assert!(location.contains("terraform_data.x[7]"), "{location}");
                assert!(reason.contains("line 1 column"), "the serde error should be kept: {reason}");
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
        h.resources.remove(addr(7).to_string().as_bytes()).unwrap();
        h.meta.insert(META_KEY, &b"[1,2"[..]).unwrap();
        match store.load().await.unwrap_err() {
            StateError::Corrupt { location, .. } => assert!(location.contains("meta key \"state\""), "{location}"),
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn newer_format_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        let h = store.handle().await.unwrap();
        let future = json!({"format_version": FORMAT_VERSION + 1, "lineage": "L", "serial": 3, "new_field": {"x": 1}});
        h.meta.insert(META_KEY, serde_json::to_vec(&future).unwrap()).unwrap();
        let too_new = |e: StateError| matches!(e, StateError::TooNew { found, supported } if found == FORMAT_VERSION + 1 && supported == FORMAT_VERSION);
        assert!(too_new(store.load().await.unwrap_err()));
        assert!(too_new(store.write_resource("L", 4, &addr(0), Some(&res(0))).await.unwrap_err()));
        assert!(too_new(store.write(&sample_state(9, 0), "test").await.unwrap_err()));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn history_lists_newest_first_prunes_and_returns_versions() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        let mut state = sample_state(0, 0);
        for serial in 1..=(HISTORY_LIMIT as u64 + 5) {
            state.serial = serial;
            state.resources.insert(addr(serial as i64), res(serial as i64));
            store.write(&state, &format!("op{serial}")).await.unwrap();
        }
        let history = store.history().await.unwrap();
        assert_eq!(history.len(), HISTORY_LIMIT);
        assert_eq!(history[0].serial, HISTORY_LIMIT as u64 + 5);
        assert_eq!(history[0].operation, format!("op{}", HISTORY_LIMIT + 5));
        assert_eq!(history[0].resources, HISTORY_LIMIT + 5);
        assert_eq!(history.last().map(|h| h.serial), Some(6));
        assert!(history.windows(2).all(|w| w[0].serial > w[1].serial));

        let v10 = store.version(10).await.unwrap();
        assert_eq!((v10.serial, v10.resources.len()), (10, 10));
        assert!(matches!(store.version(5).await.unwrap_err(), StateError::NoSuchVersion(5)));
    }

    /// Every retained version reads back as it was written, through deltas, removals, a state
    /// of another lineage written over it, and the folding of pruned records into the base.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_retained_version_reads_back_through_deltas_and_pruning() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        let mut expected = BTreeMap::new();
        let mut state = sample_state(0, 4);
        for serial in 1..=(HISTORY_LIMIT as u64 + 12) {
            let i = serial as i64;
            if serial == 30 {
                // Pushed deliberately: another lineage with a lower serial.
                state = sample_state(3, 2);
                store.write(&state, "push").await.unwrap();
                expected.insert((state.lineage.clone(), 3), state.clone());
                continue;
            }
            if serial % 3 == 0 {
                // An apply: a change and a removal through the persister's path.
                let lineage = state.lineage.clone();
                let first = state.serial + 1;
                let mut changed = res(i);
                changed.tainted = true;
                let removed = state.resources.keys().next().cloned().unwrap();
                store
                    .write_resources(&lineage, first, &[(addr(i % 7), Some(changed.clone())), (removed.clone(), None)])
                    .await
                    .unwrap();
                state.resources.insert(addr(i % 7), changed);
                state.resources.remove(&removed);
                state.serial = first + 2;
                state.outputs.insert("n".into(), OutputState { value: json!(i), sensitive: false });
                store.finish_apply(&state).await.unwrap();
            } else {
                state.serial += 1;
                state.resources.insert(addr(100 + i), res(i));
                store.write(&state, &format!("op{serial}")).await.unwrap();
            }
            expected.insert((state.lineage.clone(), state.serial), state.clone());
        }
        let history = store.history().await.unwrap();
        assert_eq!(history.len(), HISTORY_LIMIT);
        assert!(history.iter().any(|e| e.lineage != state.lineage), "both lineages are retained");
        let mut seen = HashSet::new();
        for entry in &history {
            let want = &expected[&(entry.lineage.clone(), entry.serial)];
            assert_eq!(entry.resources, want.resources.len(), "version {}", entry.serial);
            // A serial both lineages used reads back as the newer version.
            if seen.insert(entry.serial) {
                assert_eq!(store.version(entry.serial).await.unwrap(), *want, "version {}", entry.serial);
            }
        }
        assert_eq!(store.load().await.unwrap().as_ref(), Some(&state));
    }

    /// A store an older Cairn wrote holds whole states in its history: they read back as they
    /// are, the first record this Cairn adds is whole (the older one did not mark its changes),
    /// later ones are deltas, and pruning the old records keeps every version readable.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn whole_state_records_of_an_older_cairn_stay_readable() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        let h = store.handle().await.unwrap();
        let mut state = sample_state(1, 3);
        let mut expected = BTreeMap::new();
        for serial in 1..=3u64 {
            state.serial = serial;
            state.resources.insert(addr(10 + serial as i64), res(serial as i64));
            for (a, r) in &state.resources {
                h.resources.insert(a.to_string().as_bytes(), serde_json::to_vec(r).unwrap()).unwrap();
            }
            h.meta.insert(META_KEY, serde_json::to_vec(&Meta::of(&state)).unwrap()).unwrap();
            let old = crate::state::HistoryRecordRef { time: now(), operation: "apply", state: &state };
            h.history.insert(serial_key(serial), serde_json::to_vec(&old).unwrap()).unwrap();
            expected.insert(serial, state.clone());
        }
        // Changed behind the history's back, as an interrupted apply of an older Cairn would.
        state.resources.insert(addr(50), res(50));
        h.resources.insert(addr(50).to_string().as_bytes(), serde_json::to_vec(&res(50)).unwrap()).unwrap();
        assert_eq!(store.version(2).await.unwrap(), expected[&2]);

        for round in 0..(HISTORY_LIMIT as u64 + 3) {
            let lineage = state.lineage.clone();
            let serial = 4 + 2 * round;
            store.write_resource(&lineage, serial, &addr(serial as i64), Some(&res(0))).await.unwrap();
            state.resources.insert(addr(serial as i64), res(0));
            state.serial = serial + 1;
            store.finish_apply(&state).await.unwrap();
            expected.insert(state.serial, state.clone());
            if round == 0 {
                let first = h.history.last().unwrap().unwrap();
                assert!(
                    h.parse_record(&first.0, &first.1).unwrap().full,
                    "the first record after an older Cairn is whole"
                );
            }
            if round == 1 {
                let second = h.history.last().unwrap().unwrap();
                assert!(!h.parse_record(&second.0, &second.1).unwrap().is_full(), "then deltas");
            }
        }
        for entry in store.history().await.unwrap() {
            assert_eq!(store.version(entry.serial).await.unwrap(), expected[&entry.serial], "version {}", entry.serial);
        }
    }

    /// Delta records of the Cairn before `history_changes` hold their changes inline: they read
    /// back, later records keep their changes apart, and pruning folds both kinds.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn inline_delta_records_of_an_earlier_cairn_stay_readable() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        let h = store.handle().await.unwrap();
        let mut state = sample_state(1, 2);
        store.write(&state, "import").await.unwrap();
        let mut expected = BTreeMap::from([(1, state.clone())]);
        // Two records as the earlier Cairn wrote them, each setting one resource inline.
        for serial in 2..=3u64 {
            state.serial = serial;
            state.resources.insert(addr(serial as i64 * 10), res(serial as i64));
            let r = serde_json::to_vec(&res(serial as i64)).unwrap();
            h.resources.insert(addr(serial as i64 * 10).to_string().as_bytes(), r.clone()).unwrap();
            let header = serde_json::to_vec(&Meta::of(&state)).unwrap();
            h.meta.insert(META_KEY, header.clone()).unwrap();
            let changes = serde_json::Map::from_iter([(
                addr(serial as i64 * 10).to_string(),
                serde_json::from_slice::<serde_json::Value>(&r).unwrap(),
            )]);
            let record = json!({
                "time": now(), "operation": "apply", "full": false, "resources": state.resources.len(),
                "header": serde_json::from_slice::<serde_json::Value>(&header).unwrap(), "changes": changes,
            });
            h.history.insert(serial_key(serial), serde_json::to_vec(&record).unwrap()).unwrap();
            expected.insert(serial, state.clone());
        }
        for round in 0..(HISTORY_LIMIT as u64 + 2) {
            let serial = 4 + 2 * round;
            store.write_resource(&state.lineage.clone(), serial, &addr(round as i64 % 5), Some(&res(7))).await.unwrap();
            state.resources.insert(addr(round as i64 % 5), res(7));
            state.serial = serial + 1;
            store.finish_apply(&state).await.unwrap();
            expected.insert(state.serial, state.clone());
            let (k, v) = h.history.last().unwrap().unwrap();
            let newest = h.parse_record(&k, &v).unwrap();
            assert!(newest.split && newest.changes.is_empty(), "the changes are kept apart");
            for entry in store.history().await.unwrap() {
                let want = &expected[&entry.serial];
                assert_eq!(entry.resources, want.resources.len(), "version {}", entry.serial);
                assert_eq!(store.version(entry.serial).await.unwrap(), *want, "version {}", entry.serial);
            }
        }
        // Pruned records took their changes with them: one record's worth is left per record.
        let records = h.history.len();
        let prefixes: HashSet<Vec<u8>> = h.history_changes.iter().map(|item| item.unwrap().0[..8].to_vec()).collect();
        assert!(prefixes.len() <= records, "{} change prefixes for {records} records", prefixes.len());
    }

    /// A crash after a record is written but before the marks it consumed are all cleared:
    /// the next record counts each resource once, and changes a crash left under no record are
    /// dropped before the next record's are written.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn marks_and_changes_a_crash_left_are_counted_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        let h = store.handle().await.unwrap();
        let mut state = sample_state(1, 3);
        store.write(&state, "import").await.unwrap();
        // An apply creates addr(10) and removes addr(0).
        store.write_resources(&state.lineage.clone(), 2, &[(addr(10), Some(res(10))), (addr(0), None)]).await.unwrap();
        state.resources.insert(addr(10), res(10));
        state.resources.remove(&addr(0));
        state.serial = 4;
        store.finish_apply(&state).await.unwrap();
        assert_eq!(store.history().await.unwrap()[0].resources, 3);
        // As if the clearing of that record's marks had not happened, plus the changes of a
        // record whose own write never landed.
        let (newest, _) = h.history.last().unwrap().unwrap();
        h.meta.insert(CLEARING_KEY, &newest[..]).unwrap();
        h.history_pending.insert(addr(10).to_string().as_bytes(), &[0u8][..]).unwrap();
        let orphan = [&serial_key(99)[..], addr(77).to_string().as_bytes()].concat();
        h.history_changes.insert(orphan.clone(), &b"null"[..]).unwrap();
        // And a change a crash while pruning left behind the record it belonged to.
        let pruned = [&serial_key(0)[..], addr(78).to_string().as_bytes()].concat();
        h.history_changes.insert(pruned.clone(), &b"null"[..]).unwrap();

        // The next apply changes addr(1) only.
        store.write_resource(&state.lineage.clone(), 5, &addr(1), Some(&res(11))).await.unwrap();
        state.resources.insert(addr(1), res(11));
        state.serial = 6;
        store.finish_apply(&state).await.unwrap();
        let history = store.history().await.unwrap();
        assert_eq!((history[0].serial, history[0].resources), (6, 3), "{history:?}");
        assert_eq!(store.version(6).await.unwrap(), state);
        assert!(h.history_changes.get(&orphan).unwrap().is_none(), "the orphaned change was dropped");
        assert!(h.history_changes.get(&pruned).unwrap().is_none(), "the pruned record's change was dropped");
        assert!(h.meta.get(CLEARING_KEY).unwrap().is_none());
        assert!(h.history_pending.is_empty());
    }

    /// Changing one resource of a large state writes that resource (and the header, the journal,
    /// a history record of that change), not the state: the cost must not grow with its size.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn changing_one_resource_of_a_large_state_writes_bytes_of_that_change() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        let h = store.handle().await.unwrap();
        let mut state = sample_state(1, 5000);
        let before = h.bytes_written.load(Ordering::Relaxed);
        store.write(&state, "import").await.unwrap();
        let whole = h.bytes_written.load(Ordering::Relaxed) - before;
        assert!(whole > 5000 * 60, "the import wrote the state: {whole} bytes");

        let cost = |from: u64| h.bytes_written.load(Ordering::Relaxed) - from;
        // Applies, each changing one resource (enough of them to prune history too). The one
        // that pushes the import's record out of history folds it into the base, copying what
        // the import wrote once: every change is written twice in all, never the state again.
        let import_ages_out = HISTORY_LIMIT as i64 - 1;
        for round in 0..(HISTORY_LIMIT as i64 + 5) {
            let from = h.bytes_written.load(Ordering::Relaxed);
            let lineage = state.lineage.clone();
            let mut changed = res(round);
            changed.attributes = json!({"id": "changed", "input": round}).into();
            let started = entry("a", 0, round, JournalStatus::Started);
            let done = entry("a", 1, round, JournalStatus::Succeeded);
            store
                .write_batch(&lineage, state.serial + 1, &[started], &[(addr(round), Some(changed.clone()))], &[done])
                .await
                .unwrap();
            state.resources.insert(addr(round), changed);
            state.serial += 2;
            store.finish_apply(&state).await.unwrap();
            if round == import_ages_out {
                assert!(cost(from) < whole, "folding the import's record wrote {} bytes", cost(from));
            } else {
                assert!(cost(from) < 4096, "apply {round} changed one resource and wrote {} bytes", cost(from));
            }
        }
        // A no-change replacement, and `state rm` of one resource.
        let from = h.bytes_written.load(Ordering::Relaxed);
        state.serial += 1;
        store.write(&state, "refresh").await.unwrap();
        state.serial += 1;
        state.resources.remove(&addr(4321));
        store.write(&state, "state rm").await.unwrap();
        assert!(cost(from) < 4096, "two whole-state writes changing one resource wrote {} bytes", cost(from));
        assert_eq!(store.load().await.unwrap().as_ref(), Some(&state));
        assert_eq!(store.version(state.serial).await.unwrap(), state);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn finish_apply_records_outputs_and_a_version() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        let base = sample_state(1, 0);
        store.write(&base, "init").await.unwrap();
        store.write_resource(&base.lineage, 2, &addr(0), Some(&res(0))).await.unwrap();
        store.write_resource(&base.lineage, 3, &addr(1), Some(&res(1))).await.unwrap();
        let mut done = sample_state(4, 2);
        done.lineage = base.lineage.clone();
        done.outputs.insert("name".into(), OutputState { value: json!("web"), sensitive: false });
        done.check_results.push(CheckResult {
            address: "check.up".into(),
            status: super::super::CheckStatus::Pass,
            messages: vec![],
        });
        store.finish_apply(&done).await.unwrap();

        let loaded = store.load().await.unwrap().unwrap();
        assert_eq!(loaded, done);
        let history = store.history().await.unwrap();
        assert_eq!((history[0].serial, history[0].operation.as_str(), history[0].resources), (4, "apply", 2));
        assert_eq!(store.version(4).await.unwrap(), done);
        match store.finish_apply(&done).await.unwrap_err() {
            StateError::SerialRegression { current: 4, attempted: 4 } => {}
            other => panic!("expected SerialRegression, got {other:?}"),
        }
    }

    fn entry(apply: &str, seq: u64, i: i64, status: JournalStatus) -> JournalEntry {
        JournalEntry {
            apply_id: apply.into(),
            seq,
            addr: addr(i),
            action: "create".into(),
            type_name: "terraform_data".into(),
            cloud_name: Some(format!("name-{i}")),
            operation_id: None,
            status,
            time: now(),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn open_journal_reports_started_steps_without_outcome() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        use JournalStatus::*;
        for e in [
            entry("a1", 0, 0, Started),
            entry("a1", 1, 1, Started),
            entry("a1", 2, 0, Succeeded),
            entry("a2", 0, 0, Started),
            entry("a2", 1, 0, Failed),
            entry("a2", 2, 2, Started),
        ] {
            store.journal(&e).await.unwrap();
        }
        let open = store.open_journal().await.unwrap();
        assert_eq!(open.iter().map(|e| (e.apply_id.as_str(), e.seq)).collect::<Vec<_>>(), [("a1", 1), ("a2", 2)]);
        assert!(open.iter().all(|e| e.status == Started));

        store.clear_journal("a1").await.unwrap();
        let open = store.open_journal().await.unwrap();
        assert_eq!(open.iter().map(|e| e.apply_id.as_str()).collect::<Vec<_>>(), ["a2"]);
        store.clear_journal("a2").await.unwrap();
        assert!(store.open_journal().await.unwrap().is_empty());
        assert!(store.handle().await.unwrap().journal.is_empty());
    }

    /// One batch: entries opened, resources written, entries closed; a refused resource write
    /// (wrong lineage) writes none of the batch, so no step reads as closed without its result.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn write_batch_stores_journal_and_resources_together_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        let initial = sample_state(1, 1);
        let lineage = initial.lineage.as_str();
        store.write(&initial, "test").await.unwrap();
        use JournalStatus::*;
        store.write_batch(lineage, 2, &[entry("a1", 0, 0, Started)], &[], &[]).await.unwrap();
        store
            .write_batch(
                lineage,
                3,
                &[entry("a1", 1, 1, Started)],
                &[(addr(5), Some(res(5)))],
                &[entry("a1", 2, 0, Succeeded)],
            )
            .await
            .unwrap();
        let open = store.open_journal().await.unwrap();
        assert_eq!(open.iter().map(|e| e.seq).collect::<Vec<_>>(), [1]);
        let state = store.load().await.unwrap().unwrap();
        assert_eq!((state.serial, state.resources.contains_key(&addr(5))), (3, true));
        assert_eq!(store.serial().await.unwrap(), 3, "the header alone says the serial");

        let refused =
            store.write_batch("other", 4, &[], &[(addr(6), Some(res(6)))], &[entry("a1", 3, 1, Succeeded)]).await;
        assert!(refused.is_err());
        assert_eq!(store.open_journal().await.unwrap().len(), 1, "the closing entry was not written");
        assert!(!store.load().await.unwrap().unwrap().resources.contains_key(&addr(6)));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn fingerprint_key_is_stable_per_state() {
        let dir = tempfile::tempdir().unwrap();
        let key = {
            let store = LocalStore::open(&dir.path().join("a")).unwrap();
            let k = store.fingerprint_key().await.unwrap();
            assert_eq!(store.fingerprint_key().await.unwrap(), k);
            k
        };
        assert_ne!(key, [0u8; 32]);
        let again = LocalStore::open(&dir.path().join("a")).unwrap().fingerprint_key().await.unwrap();
        assert_eq!(again, key);
        let other = LocalStore::open(&dir.path().join("b")).unwrap().fingerprint_key().await.unwrap();
        assert_ne!(other, key);
    }

    /// The key is a file of its own: the state keeps only its record, never its bytes.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_key_lives_outside_the_state() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        let key = store.fingerprint_key().await.unwrap();
        let h = store.handle().await.unwrap();
        let stored = h.stored_key().unwrap();
        let record = stored.record.expect("a record");
        assert_eq!(stored.legacy, None);
        assert!(record.matches(&key));
        let at = keyfile::key_path(&record.id).unwrap();
        assert_eq!(keyfile::read_key(&at).unwrap(), Some(key));
        drop((h, store));
        let mut bytes = Vec::new();
        collect(dir.path(), &mut bytes);
        assert!(!bytes.windows(32).any(|w| w == key), "the key's bytes are in the state directory");
        assert!(!bytes.windows(64).any(|w| w == hex::encode(key).as_bytes()));
    }

    fn collect(p: &Path, out: &mut Vec<u8>) {
        if p.is_dir() {
            for e in std::fs::read_dir(p).unwrap() {
                collect(&e.unwrap().path(), out);
            }
        } else {
            out.extend(std::fs::read(p).unwrap());
        }
    }

    /// A state an older Cairn wrote keeps its key inside: read as it is until a locked command
    /// moves it out, and the same key afterwards.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_in_state_key_is_used_as_is_and_moved_out_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        let old = keyfile::fresh_key();
        let h = store.handle().await.unwrap();
        h.keys.insert(FINGERPRINT_KEY, &old[..]).unwrap();
        assert_eq!(store.fingerprint_key().await.unwrap(), old);
        let stored = h.stored_key().unwrap();
        assert!(stored.record.is_none() && stored.legacy == Some(old), "reading moved nothing");

        let note = store.move_fingerprint_key_out().await.unwrap().expect("moved");
        assert!(note.contains("Moved the fingerprint key") && note.contains(".key"), "{note}");
        let stored = h.stored_key().unwrap();
        assert_eq!(stored.legacy, None);
        let record = stored.record.expect("a record");
        assert_eq!(keyfile::read_key(&keyfile::key_path(&record.id).unwrap()).unwrap(), Some(old));
        assert_eq!(store.fingerprint_key().await.unwrap(), old);
        assert_eq!(store.move_fingerprint_key_out().await.unwrap(), None, "said once");
    }

    /// A lost key is an error that says where it was looked for; no new key is made for it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lost_key_is_reported_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        store.fingerprint_key().await.unwrap();
        let h = store.handle().await.unwrap();
        let record = h.stored_key().unwrap().record.unwrap();
        let at = keyfile::key_path(&record.id).unwrap();
        std::fs::remove_file(&at.path).unwrap();
        let e = store.fingerprint_key().await.unwrap_err().to_string();
        assert!(e.contains("is missing") && e.contains(&*at.path.to_string_lossy()), "{e}");
        assert!(e.contains(keyfile::KEY_FILE_ENV), "{e}");
        assert!(!at.path.exists(), "no key was made in its place");

        // Fingerprints without any key at all (no record either): the same refusal.
        h.keys.remove(KEY_RECORD).unwrap();
        let mut state = sample_state(1, 1);
        for r in state.resources.values_mut() {
            r.sensitive_fingerprints.insert("input".into(), "fp".into());
        }
        store.write(&state, "test").await.unwrap();
        let e = store.fingerprint_key().await.unwrap_err().to_string();
        assert!(e.contains("has fingerprints of sensitive values but no fingerprint key"), "{e}");
        assert!(h.stored_key().unwrap().record.is_none());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn locks_exclude_other_stores_in_the_same_process() {
        let dir = tempfile::tempdir().unwrap();
        let a = LocalStore::open(dir.path()).unwrap();
        let b = LocalStore::open(dir.path()).unwrap();
        let guard = a.lock(LockInfo::for_current_process("apply"), Duration::from_secs(1)).await.unwrap();
        assert!(guard.recovered_stale().is_none());
        match b.lock(LockInfo::for_current_process("apply"), Duration::from_millis(300)).await {
            Err(StateError::Locked(holder)) => assert_eq!(holder.id, guard.info().id),
            Err(other) => panic!("expected Locked, got {other:?}"),
            Ok(_) => panic!("second store got the lock while the first held it"),
        }
        assert_eq!(b.lock_holder().await.unwrap().map(|h| h.id), Some(guard.info().id.clone()));
        assert!(!b.lock_is_stale().unwrap());
        let id = guard.info().id.clone();
        assert!(matches!(b.force_unlock("wrong").await, Err(StateError::NoSuchLock { .. })));
        assert_eq!(b.force_unlock(&id).await.unwrap().id, id);
        let second = b.lock(LockInfo::for_current_process("apply"), Duration::from_millis(300)).await.unwrap();
        drop(guard);
        assert_eq!(b.lock_holder().await.unwrap().map(|h| h.id), Some(second.info().id.clone()));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn database_held_elsewhere_reports_the_lock_holder() {
        let dir = tempfile::tempdir().unwrap();
        // Stands in for another process: an independent sled handle holds the database's file lock.
        let other = sled::open(dir.path().join(DB_DIR)).unwrap();
        let store = LocalStore::open(dir.path()).unwrap().with_open_wait(Duration::from_millis(300));
        match store.load().await.unwrap_err() {
            StateError::Io { reason, .. } => assert!(reason.contains("another Cairn process"), "{reason}"),
            e => panic!("expected Io naming another process, got {e:?}"),
        }
        let holder = LockInfo::for_current_process("apply");
        std::fs::write(lock::lock_path(dir.path()), serde_json::to_string(&holder).unwrap()).unwrap();
        let store = LocalStore::open(dir.path()).unwrap().with_open_wait(Duration::from_millis(300));
        match store.load().await.unwrap_err() {
            StateError::Locked(h) => assert_eq!(h.id, holder.id),
            e => panic!("expected Locked, got {e:?}"),
        }
        drop(other);
        // Once the other side closes, the store opens (the lazy open retries).
        let store = LocalStore::open(dir.path()).unwrap().with_open_wait(Duration::from_secs(5));
        assert_eq!(store.load().await.unwrap(), None);
    }

    const ABORT_DIR_ENV: &str = "CAIRN_TEST_ABORT_AFTER_WRITES_DIR";

    /// The writes must be on disk when the calls return: a child process writes and then dies
    /// at once (no destructors, no final flush, like kill -9); the parent must find everything.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_survive_abrupt_process_death() {
        if let Ok(dir) = std::env::var(ABORT_DIR_ENV) {
            let store = LocalStore::open(Path::new(&dir)).unwrap();
            for i in 0..200 {
                store.write_resource("L", i as u64 + 1, &addr(i), Some(&res(i))).await.unwrap();
            }
            store.journal(&entry("a1", 0, 0, JournalStatus::Started)).await.unwrap();
            std::process::abort();
        }
        let dir = tempfile::tempdir().unwrap();
        let exe = std::env::current_exe().unwrap();
        let status = std::process::Command::new(exe)
            .args(["--exact", "state::local::tests::writes_survive_abrupt_process_death", "--test-threads", "1"])
            .env(ABORT_DIR_ENV, dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(!status.success(), "the child should have died");
        let store = LocalStore::open(dir.path()).unwrap();
        let state = store.load().await.unwrap().unwrap();
        assert_eq!((state.serial, state.resources.len()), (200, 200));
        assert_eq!(store.open_journal().await.unwrap().len(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn group_commit_throughput() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(LocalStore::open(dir.path()).unwrap());
        // Serials must reach the store in increasing order; tasks that lose a race retry with a
        // fresh serial, as an engine running steps concurrently would.
        let next_serial = Arc::new(AtomicU64::new(1));
        let retries = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for t in 0..10i64 {
            let (store, next_serial, retries) = (store.clone(), next_serial.clone(), retries.clone());
            tasks.push(tokio::spawn(async move {
                for i in 0..1000i64 {
                    let n = t * 1000 + i;
                    loop {
                        let serial = next_serial.fetch_add(1, Ordering::SeqCst);
                        match store.write_resource("L", serial, &addr(n), Some(&res(n))).await {
                            Ok(()) => break,
                            Err(StateError::SerialRegression { .. }) => {
                                retries.fetch_add(1, Ordering::SeqCst);
                            }
                            Err(e) => panic!("write_resource failed: {e}"),
                        }
                    }
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let elapsed = started.elapsed();
        let h = store.handle().await.unwrap();
        println!(
            "group commit: 10,000 write_resource calls from 10 tasks in {elapsed:?} ({} serial retries, {} flushes covered {} writes)",
            retries.load(Ordering::SeqCst),
            h.flushes.load(Ordering::SeqCst),
            h.written.load(Ordering::SeqCst)
        );
        assert_eq!(h.resources.len(), 10_000);
        let state = store.load().await.unwrap().unwrap();
        assert_eq!(state.resources.len(), 10_000);
        assert_eq!(state.serial, next_serial.load(Ordering::SeqCst) - 1);
        assert!(*h.flushed.borrow() >= 10_000, "every write must be covered by a flush");
    }
}
