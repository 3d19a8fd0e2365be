//! The local state backend: a sled database in the stack's state directory.
//!
//! Layout (`<dir>/cairn.sled`):
//! - `resources`: instance address → [`ResourceInstanceState`] JSON. One key per resource so that
//!   persisting a finished resource during an apply costs that resource's size.
//! - `meta`: `state` → format version, lineage, serial, Cairn version, outputs, check results.
//! - `history`: big-endian serial → `{time, operation, state}` (the newest [`HISTORY_LIMIT`]).
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
    history_record_json, CheckResult, HistoryEntry, HistoryRecord, JournalEntry, LockGuard, LockInfo, OutputState,
    ResourceInstanceState, State, StateError, StateStore, FORMAT_VERSION,
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
    journal: sled::Tree,
    keys: sled::Tree,
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
        let attempt = tokio::task::spawn_blocking(move || sled::Config::new().path(p).open())
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
        journal: tree("journal")?,
        keys: tree("keys")?,
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
        for item in self.resources.iter() {
            let (k, v) = item.map_err(|e| self.err("cannot read resources", e))?;
            let (addr, res) = self.parse_resource(&k, &v)?;
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

    /// The history record of what is stored now, copied from the stored bytes: each resource is
    /// checked to decode (as [`Self::load`] would) but never kept decoded.
    fn stored_history_record(&self, operation: &str) -> Result<Option<(u64, Vec<u8>)>, StateError> {
        let raw = self.meta.get(META_KEY).map_err(|e| self.err("cannot read the state header", e))?;
        let Some(raw) = raw else {
            if self.resources.is_empty() {
                return Ok(None);
            }
            return Err(self.corrupt("meta key \"state\"", "resources are stored but the state header is missing"));
        };
        let serial = self.parse_meta(&raw)?.serial;
        let mut resources = Vec::with_capacity(self.resources.len());
        for item in self.resources.iter() {
            let (k, v) = item.map_err(|e| self.err("cannot read resources", e))?;
            self.parse_resource(&k, &v)?;
            let addr = String::from_utf8(k.to_vec()).map_err(|e| self.corrupt("a resource key", e))?;
            resources.push((addr, v));
        }
        let record = history_record_json(&now(), operation, &raw, resources.iter().map(|(k, v)| (k.as_str(), &v[..])));
        Ok(Some((serial, record)))
    }

    /// A journal entry as its key and value. Entries are keyed by a database-wide sequence (not
    /// the entry's own `seq`, which restarts with every apply), so entries of different applies
    /// never overwrite each other.
    fn journal_record(&self, entry: &JournalEntry) -> Result<([u8; 8], Vec<u8>), StateError> {
        let seq = self.db.generate_id().map_err(|e| self.err("cannot number a journal entry", e))?;
        Ok((seq.to_be_bytes(), to_json(self, "a journal entry", entry)?))
    }

    fn prune_history(&self) -> Result<(), StateError> {
        while self.history.len() > HISTORY_LIMIT {
            self.history.pop_min().map_err(|e| self.err("cannot prune state history", e))?;
        }
        Ok(())
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

    async fn write(&self, state: &State, operation: &str) -> Result<(), StateError> {
        let h = self.handle().await?;
        let mut entries = Vec::with_capacity(state.resources.len());
        for (addr, res) in &state.resources {
            entries.push((addr.to_string(), to_json(&h, "a resource", res)?));
        }
        let keep: HashSet<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
        let meta = to_json(&h, "the state header", &Meta::of(state))?;
        let record =
            history_record_json(&now(), operation, &meta, entries.iter().map(|(k, v)| (k.as_str(), v.as_slice())));
        loop {
            // Transactions cannot scan, so list what to delete first and make the transaction
            // start over if the header (rewritten by every change) moved in between.
            let seen = h.meta.get(META_KEY).map_err(|e| h.err("cannot read the state header", e))?;
            let mut stale = Vec::new();
            for key in h.resources.iter().keys() {
                let key = key.map_err(|e| h.err("cannot read resources", e))?;
                if !keep.contains(String::from_utf8_lossy(&key).as_ref()) {
                    stale.push(key);
                }
            }
            let result = (&h.resources, &h.meta, &h.history).transaction(|(rt, mt, ht)| {
                let current = mt.get(META_KEY)?;
                if current != seen {
                    return Err(ConflictableTransactionError::Abort(Abort::Retry));
                }
                if let Some(raw) = &current {
                    let stored = h.parse_meta(raw).or_else(abort)?;
                    if stored.lineage == state.lineage && state.serial <= stored.serial {
                        return abort(StateError::SerialRegression { current: stored.serial, attempted: state.serial });
                    }
                }
                for key in &stale {
                    rt.remove(key)?;
                }
                for (key, value) in &entries {
                    rt.insert(key.as_bytes(), value.as_slice())?;
                }
                mt.insert(META_KEY, meta.as_slice())?;
                ht.insert(&serial_key(state.serial), record.as_slice())?;
                Ok(())
            });
            match result {
                Ok(()) => break,
                Err(e) => {
                    if !h.tx_error(e)? {
                        break;
                    }
                }
            }
        }
        h.prune_history()?;
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
        let result = (&h.resources, &h.meta, &h.journal).transaction(|(rt, mt, jt)| {
            for (key, value) in &journal {
                jt.insert(key, value.as_slice())?;
            }
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
                None => Meta {
                    format_version: FORMAT_VERSION,
                    lineage: lineage.to_string(),
                    serial,
                    cairn_version: env!("CARGO_PKG_VERSION").to_string(),
                    outputs: BTreeMap::new(),
                    check_results: Vec::new(),
                },
            };
            meta.serial = serial;
            for (key, value) in &encoded {
                match value {
                    Some(v) => rt.insert(key.as_bytes(), v.as_slice())?,
                    None => rt.remove(key.as_bytes())?,
                };
            }
            let raw = serde_json::to_vec(&meta).or_else(|e| abort(h.err("cannot encode the state header", e)))?;
            mt.insert(META_KEY, raw)?;
            Ok(())
        });
        if let Err(e) = result {
            h.tx_error(e)?;
        }
        h.durable().await
    }

    async fn journal_batch(&self, entries: &[JournalEntry]) -> Result<(), StateError> {
        let h = self.handle().await?;
        let mut batch = sled::Batch::default();
        for entry in entries {
            let (key, raw) = h.journal_record(entry)?;
            batch.insert(&key, raw);
        }
        h.journal.apply_batch(batch).map_err(|e| h.err("cannot write the apply journal", e))?;
        h.durable().await
    }

    async fn finish_apply(&self, state: &State) -> Result<(), StateError> {
        let h = self.handle().await?;
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
            mt.insert(META_KEY, raw)?;
            Ok(())
        });
        if let Err(e) = result {
            h.tx_error(e)?;
        }
        // The version recorded is what is stored (the resources written during the apply), not
        // the caller's copy.
        if let Some((serial, record)) = h.stored_history_record("apply")? {
            h.history.insert(serial_key(serial), record).map_err(|e| h.err("cannot record state history", e))?;
            h.prune_history()?;
        }
        h.durable().await
    }

    async fn history(&self) -> Result<Vec<HistoryEntry>, StateError> {
        let h = self.handle().await?;
        let mut out = Vec::new();
        for item in h.history.iter().rev() {
            let (k, v) = item.map_err(|e| h.err("cannot read state history", e))?;
            let record: HistoryRecord = serde_json::from_slice(&v)
                .map_err(|e| h.corrupt(format_args!("history key {}", hex::encode(&k)), e))?;
            out.push(record.entry());
        }
        Ok(out)
    }

    async fn version(&self, serial: u64) -> Result<State, StateError> {
        let h = self.handle().await?;
        let raw = h.history.get(serial_key(serial)).map_err(|e| h.err("cannot read state history", e))?;
        let raw = raw.ok_or(StateError::NoSuchVersion(serial))?;
        let record: HistoryRecord =
            serde_json::from_slice(&raw).map_err(|e| h.corrupt(format_args!("history version {serial}"), e))?;
        Ok(record.state)
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
            dependencies: vec![],
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
