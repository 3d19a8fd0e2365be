//! State: what Cairn last knew about the resources it manages.
//!
//! The model is versioned (format_version, lineage, serial). Secrets never reach it: a
//! sensitive attribute is stored as null plus a keyed fingerprint (`sensitive_fingerprints`),
//! and a write-only attribute is not stored at all. Backends implement [`StateStore`]; the
//! local backend keeps one sled key per resource so that persisting a completed resource costs
//! that resource's size, not the whole state's.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::addr::InstanceAddr;

pub mod backend;
pub mod codec;
pub mod gcs;
pub mod keyfile;
pub mod local;
pub mod lock;
pub mod private_fs;
pub mod workspace;

pub const FORMAT_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub format_version: u32,
    /// Identifies one state's history; a saved plan is only valid for the lineage it saw.
    pub lineage: String,
    /// Bumped on every write; never goes back.
    pub serial: u64,
    pub cairn_version: String,
    pub resources: BTreeMap<InstanceAddr, ResourceInstanceState>,
    #[serde(default)]
    pub outputs: BTreeMap<String, OutputState>,
    #[serde(default)]
    pub check_results: Vec<CheckResult>,
}

impl State {
    pub fn new() -> Self {
        State {
            format_version: FORMAT_VERSION,
            lineage: uuid::Uuid::new_v4().to_string(),
            serial: 0,
            cairn_version: env!("CARGO_PKG_VERSION").to_string(),
            resources: BTreeMap::new(),
            outputs: BTreeMap::new(),
            check_results: Vec::new(),
        }
    }
}

impl State {
    /// Makes equal dependency lists one shared list (see [`crate::addr::Dependencies`]): a
    /// decoded state has each instance's own copy.
    pub fn share_dependencies(&mut self) {
        let mut shared = SharedDependencies::default();
        for r in self.resources.values_mut() {
            shared.share(&mut r.dependencies);
        }
    }
}

/// Equal dependency lists seen so far, to replace later equal ones with (one copy each).
#[derive(Default)]
pub(crate) struct SharedDependencies(std::collections::HashSet<crate::addr::Dependencies>);

impl SharedDependencies {
    pub fn share(&mut self, deps: &mut crate::addr::Dependencies) {
        match self.0.get(deps) {
            Some(seen) => *deps = seen.clone(),
            None => {
                self.0.insert(deps.clone());
            }
        }
    }
}

impl Default for State {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResourceInstanceState {
    #[serde(rename = "type")]
    pub type_name: String,
    /// The provider configuration that manages it (`google`, `google.other`: see
    /// [`crate::addr::ProviderConfigAddr`]); stored as Terraform's
    /// `provider["registry.terraform.io/hashicorp/google"].other`. Refresh, update and the
    /// delete of an orphan go through this configuration, not the one the block names now.
    #[serde(with = "crate::addr::recorded_provider")]
    pub provider: String,
    /// The attributes, as JSON; sensitive leaves are null and write-only ones absent. Shared:
    /// a state, the plan's prior state and an apply's working state hold the same documents.
    #[serde(with = "shared_json")]
    pub attributes: Arc<serde_json::Value>,
    /// Attribute path (`settings[0].password`) → keyed fingerprint of a sensitive value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sensitive_fingerprints: BTreeMap<String, String>,
    /// Resources this one depended on when it was last applied (deletes run in reverse order).
    #[serde(default, with = "crate::addr::shared_dependencies")]
    pub dependencies: crate::addr::Dependencies,
    #[serde(default)]
    pub create_before_destroy: bool,
    /// Created but a later step failed: the next plan replaces it.
    #[serde(default)]
    pub tainted: bool,
    /// An object replaced with create_before_destroy whose delete has not happened yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deposed: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutputState {
    /// Null when sensitive: sensitive outputs are recomputed, never stored.
    pub value: serde_json::Value,
    pub sensitive: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CheckStatus {
    Pass,
    Fail,
    /// Could not be decided (a value is not known until apply).
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    /// `check.name` (module-qualified).
    pub address: String,
    pub status: CheckStatus,
    /// The failing asserts' error messages.
    #[serde(default)]
    pub messages: Vec<String>,
}

/// Who holds a lock: enough to find them and decide whether the lock is stale.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LockInfo {
    pub id: String,
    pub operation: String,
    pub who: String,
    pub host: String,
    pub pid: u32,
    pub created: String,
    #[serde(default)]
    pub ci_run_url: Option<String>,
}

impl LockInfo {
    /// Describes the current process running `operation`.
    pub fn for_current_process(operation: &str) -> Self {
        LockInfo {
            id: uuid::Uuid::new_v4().to_string(),
            operation: operation.to_string(),
            who: std::env::var("USER").or_else(|_| std::env::var("USERNAME")).unwrap_or_else(|_| "unknown".into()),
            host: hostname(),
            pid: std::process::id(),
            created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ci_run_url: ci_run_url(),
        }
    }
}

impl std::fmt::Display for LockInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ID {}, held by {}@{} (pid {}) running `{}` since {}",
            self.id, self.who, self.host, self.pid, self.operation, self.created
        )?;
        if let Some(url) = &self.ci_run_url {
            write!(f, " ({url})")?;
        }
        Ok(())
    }
}

pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown".into())
}

fn ci_run_url() -> Option<String> {
    let server = std::env::var("GITHUB_SERVER_URL").ok()?;
    let repo = std::env::var("GITHUB_REPOSITORY").ok()?;
    let run = std::env::var("GITHUB_RUN_ID").ok()?;
    Some(format!("{server}/{repo}/actions/runs/{run}"))
}

/// One entry of the apply journal, written (durably) before the step it describes starts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// Identifies one apply run.
    pub apply_id: String,
    pub seq: u64,
    pub addr: InstanceAddr,
    /// `create`, `update`, `delete`.
    pub action: String,
    pub type_name: String,
    /// The cloud-side name the step creates or touches, so an interrupted apply can find it.
    pub cloud_name: Option<String>,
    pub operation_id: Option<String>,
    pub status: JournalStatus,
    pub time: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum JournalStatus {
    Started,
    Succeeded,
    Failed,
}

/// Entries of applies that did not finish, from a whole journal in the order written: each
/// `Started` not followed by an outcome for the same apply and address.
pub(crate) fn open_entries(journal: impl IntoIterator<Item = JournalEntry>) -> Vec<JournalEntry> {
    let mut open: BTreeMap<(String, String), (usize, JournalEntry)> = BTreeMap::new();
    for (order, entry) in journal.into_iter().enumerate() {
        let slot = (entry.apply_id.clone(), entry.addr.to_string());
        match entry.status {
            JournalStatus::Started => {
                open.insert(slot, (order, entry));
            }
            JournalStatus::Succeeded | JournalStatus::Failed => {
                open.remove(&slot);
            }
        }
    }
    let mut entries: Vec<_> = open.into_values().collect();
    entries.sort_by_key(|(order, _)| *order);
    entries.into_iter().map(|(_, e)| e).collect()
}

/// A stored past version: the state and what wrote it, when.
#[derive(Serialize, Deserialize)]
pub(crate) struct HistoryRecord {
    pub time: String,
    pub operation: String,
    pub state: State,
}

/// [`HistoryRecord`]'s encoding over a borrowed state: writing a version never copies it.
#[derive(Serialize)]
pub(crate) struct HistoryRecordRef<'a> {
    pub time: String,
    pub operation: &'a str,
    pub state: &'a State,
}

impl HistoryRecord {
    pub fn entry(self) -> HistoryEntry {
        HistoryEntry {
            resources: self.state.resources.len(),
            serial: self.state.serial,
            lineage: self.state.lineage,
            time: self.time,
            operation: self.operation,
        }
    }
}

/// A past version of the state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub serial: u64,
    pub lineage: String,
    pub time: String,
    /// What wrote it (`apply`, `state rm`, …).
    pub operation: String,
    pub resources: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("state is locked: {0}")]
    Locked(Box<LockInfo>),
    #[error("no lock with ID {given} is held on this state{}", held.as_ref().map(|h| format!(" (the current lock is {h})")).unwrap_or_default())]
    NoSuchLock { given: String, held: Option<Box<LockInfo>> },
    #[error("the state at {location} is damaged: {reason}")]
    Corrupt { location: String, reason: String },
    #[error("state format version {found} is newer than this Cairn understands ({supported}); upgrade Cairn")]
    TooNew { found: u32, supported: u32 },
    #[error("state write refused: it would move serial from {current} back to {attempted}")]
    SerialRegression { current: u64, attempted: u64 },
    #[error("no state version with serial {0} in history")]
    NoSuchVersion(u64),
    #[error("state write refused at {location}: {detail}")]
    Superseded { location: String, detail: String },
    #[error("state storage error at {location}: {reason}")]
    Io { location: String, reason: String },
    #[error(transparent)]
    Key(#[from] keyfile::KeyError),
}

/// Whether an apply's final state may follow the stored one: same lineage, newer serial.
/// `corrupt` builds the backend's error for a foreign lineage (it knows where it looked).
pub(crate) fn check_apply_follows(
    stored_lineage: &str,
    stored_serial: u64,
    state: &State,
    corrupt: impl FnOnce(String) -> StateError,
) -> Result<(), StateError> {
    if stored_lineage != state.lineage {
        return Err(corrupt(format!(
            "the stored state has lineage {stored_lineage} but the apply finished with lineage {}: it belongs to a different state history",
            state.lineage
        )));
    }
    if state.serial <= stored_serial {
        return Err(StateError::SerialRegression { current: stored_serial, attempted: state.serial });
    }
    Ok(())
}

/// Held while a command writes state. Dropping it releases the lock.
pub trait LockGuard: Send + Sync {
    fn info(&self) -> &LockInfo;
    /// The holder of a stale lock this guard took over (it died without releasing it), so the
    /// caller can warn about a possibly interrupted run.
    fn recovered_stale(&self) -> Option<&LockInfo> {
        None
    }
}

/// Where state lives. One writer at a time: writers hold the lock from [`StateStore::lock`].
#[async_trait]
pub trait StateStore: Send + Sync {
    /// Human-readable location (`stacks/staging/state`, `gs://bucket/prefix`).
    fn location(&self) -> String;

    /// Takes the lock, waiting up to `timeout` for a holder to release it. A lock whose holder
    /// is provably gone (same host, dead process) is taken over with a warning.
    async fn lock(&self, info: LockInfo, timeout: Duration) -> Result<Box<dyn LockGuard>, StateError>;
    /// Who holds the lock now, if anyone.
    async fn lock_holder(&self) -> Result<Option<LockInfo>, StateError>;
    async fn force_unlock(&self, id: &str) -> Result<LockInfo, StateError>;

    /// The current state, or `None` when nothing was ever written.
    async fn load(&self) -> Result<Option<State>, StateError>;
    /// The current state's serial (0 when nothing was ever written), for a caller that needs
    /// nothing else. The default loads the state; a store that keeps a header reads only that.
    async fn serial(&self) -> Result<u64, StateError> {
        Ok(self.load().await?.map_or(0, |s| s.serial))
    }
    /// Replaces the whole state (after `state rm`, `state mv`, restore …) and records a history
    /// version. `operation` names the writer.
    async fn write(&self, state: &State, operation: &str) -> Result<(), StateError>;
    /// Persists one resource's change during an apply: `None` removes it. Cost grows with the
    /// resource's size only. `serial` must be greater than the stored one.
    async fn write_resource(
        &self,
        lineage: &str,
        serial: u64,
        addr: &InstanceAddr,
        resource: Option<&ResourceInstanceState>,
    ) -> Result<(), StateError> {
        self.write_resources(lineage, serial, &[(addr.clone(), resource.cloned())]).await
    }
    /// Persists several resources' changes at once (one durable write for the batch). Serials
    /// `first_serial ..= first_serial + changes.len() - 1` are consumed; the stored serial ends
    /// at the last.
    async fn write_resources(
        &self,
        lineage: &str,
        first_serial: u64,
        changes: &[(InstanceAddr, Option<ResourceInstanceState>)],
    ) -> Result<(), StateError>;
    /// Records the end of an apply: outputs, check results, and a history version.
    async fn finish_apply(&self, state: &State) -> Result<(), StateError>;

    async fn history(&self) -> Result<Vec<HistoryEntry>, StateError>;
    async fn version(&self, serial: u64) -> Result<State, StateError>;

    /// Appends to the apply journal; durable before it returns.
    async fn journal(&self, entry: &JournalEntry) -> Result<(), StateError>;
    /// Appends several entries with one durable write. The default appends them one by one.
    async fn journal_batch(&self, entries: &[JournalEntry]) -> Result<(), StateError> {
        for e in entries {
            self.journal(e).await?;
        }
        Ok(())
    }
    /// One batch of an apply's writes, in this order: `opening` journal entries (each must be
    /// durable before its call is sent), resource `changes` (as [`Self::write_resources`]), and
    /// `closing` entries (each closes a step whose result is among `changes` or an earlier
    /// batch). Durable when it returns. The default writes the three parts one after another; a
    /// store that can make a closing entry durable atomically with the resources it follows may
    /// do it all in one write.
    async fn write_batch(
        &self,
        lineage: &str,
        first_serial: u64,
        opening: &[JournalEntry],
        changes: &[(InstanceAddr, Option<ResourceInstanceState>)],
        closing: &[JournalEntry],
    ) -> Result<(), StateError> {
        if !opening.is_empty() {
            self.journal_batch(opening).await?;
        }
        self.write_resources(lineage, first_serial, changes).await?;
        if !closing.is_empty() {
            self.journal_batch(closing).await?;
        }
        Ok(())
    }
    /// Entries of applies that did not finish (no `Succeeded`/`Failed` for a `Started`).
    async fn open_journal(&self) -> Result<Vec<JournalEntry>, StateError>;
    async fn clear_journal(&self, apply_id: &str) -> Result<(), StateError>;
    /// Clears the journal of every apply: after a complete apply the plan it carried out has
    /// accounted for what earlier, interrupted applies left open.
    async fn clear_journals(&self) -> Result<(), StateError>;

    /// The key for secret fingerprints; kept apart from the state (see [`keyfile`]) so that
    /// the state alone cannot be used to test guesses of a secret. Made (with its file) for a
    /// state that has none yet; never made anew for a state that has fingerprints.
    async fn fingerprint_key(&self) -> Result<[u8; 32], StateError>;
    /// Moves a key that an older Cairn kept inside the state out to its key file, and removes
    /// it from the state. Called by commands that hold the lock. Returns what to tell the user
    /// when it moved the key.
    async fn move_fingerprint_key_out(&self) -> Result<Option<String>, StateError>;
    /// Adopts another store's fingerprint key (state migration: the fingerprints in the state
    /// were made with it). Refused when this store already has a different key.
    async fn adopt_fingerprint_key(&self, key: [u8; 32]) -> Result<(), StateError>;
    /// What the state stores about its key (the record, and an in-state key an older Cairn
    /// kept), for `cairn state rekey`.
    async fn stored_fingerprint_key(&self) -> Result<keyfile::Stored, StateError>;
    /// Makes `record` the state's key record whatever was there, and removes an in-state key:
    /// `cairn state rekey`, under the lock, once the fingerprints are dropped.
    async fn replace_fingerprint_key_record(&self, record: &keyfile::KeyRecord) -> Result<(), StateError>;
}

/// (De)serializes a shared JSON document as the document itself (serde's `rc` feature would
/// do the same, at the price of rebuilding every crate that uses serde).
mod shared_json {
    use std::sync::Arc;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &Arc<serde_json::Value>, s: S) -> Result<S::Ok, S::Error> {
        v.as_ref().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Arc<serde_json::Value>, D::Error> {
        serde_json::Value::deserialize(d).map(Arc::new)
    }
}
