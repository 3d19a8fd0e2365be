//! The `gcs` backend: state in a Cloud Storage bucket, where a team's CI runners and people
//! share it, as with Terraform's backend of the same name.
//!
//! Objects under `<prefix>/`, named after the workspace (`default`, or the one selected with
//! `cairn workspace select`), as Terraform's gcs backend keeps `<prefix>/<workspace>.tfstate`:
//!
//! - `default.state.json`: the state document. Every write is conditional on the generation
//!   this process last read (`ifGenerationMatch`), so a writer that lost its lock fails with a
//!   precondition error instead of replacing newer state.
//! - `default.lock`: the lock. Created only if absent (generation 0), rewritten on its own
//!   generation while held (the heartbeat that makes a dead holder recognisable), deleted only
//!   on its generation.
//! - `default.delta/<first>-<last>.json`: resource changes persisted during an apply, each
//!   naming the state generation it builds on. An apply uploads these small objects, not the
//!   whole state per resource (Pulumi's lesson in peers.md); loading replays them, and the end
//!   of the apply folds them into one new document.
//! - `default.journal/<apply id>/<n>.json`: the apply journal, in batches.
//! - `default.history/<serial>.json`: earlier versions, for `cairn state history/restore`.
//! - `default.key-record.json`: the fingerprint key's id and check value. The key itself is
//!   a file outside the bucket (see [`super::keyfile`]), so that whoever can read the state
//!   objects cannot test guesses of a secret against its fingerprints.
//! - `default.key`: the key itself, in states an older Cairn wrote, until a locked command
//!   moves it out.
//!
//! Reads and writes go through Google's Cloud Storage client (`google-cloud-storage`), which
//! speaks the JSON API for them. Deleting, listing and reading metadata are gRPC-only calls in
//! that crate (`StorageControl`); Cairn makes those three through the JSON API itself, so one
//! protocol serves production buckets and the fake-gcs-server the tests run against.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use google_cloud_auth::credentials::{CacheableResource, Credentials};
use google_cloud_storage::client::Storage;
use google_cloud_storage::model_ext::KeyAes256;
use serde::{Deserialize, Serialize};

use super::keyfile;
use super::{
    HistoryEntry, HistoryRecord, HistoryRecordRef, JournalEntry, LockGuard, LockInfo, ResourceInstanceState, State,
    StateError, StateStore, FORMAT_VERSION,
};
use crate::addr::InstanceAddr;
use crate::google_auth::CredentialSource;

/// How many past state versions `history` keeps.
pub const HISTORY_LIMIT: usize = 50;
/// How often a held lock is rewritten.
pub const RENEW_INTERVAL: Duration = Duration::from_secs(30);
/// A lock not renewed for this long belongs to a holder that is gone.
pub const STALE_AFTER: Duration = Duration::from_secs(120);
const DEFAULT_ENDPOINT: &str = "https://storage.googleapis.com";

/// The `backend "gcs"` settings, resolved.
#[derive(Clone, Debug)]
pub struct GcsSettings {
    pub bucket: String,
    /// Folder of the state objects, without a trailing slash (may be empty).
    pub prefix: String,
    pub credentials: CredentialSource,
    pub impersonate_service_account: Option<String>,
    /// A customer-supplied AES-256 key the objects are encrypted with.
    pub encryption_key: Option<[u8; 32]>,
    /// The storage endpoint (`storage_custom_endpoint`, or STORAGE_EMULATOR_HOST).
    pub endpoint: Option<String>,
    /// The workspace whose objects this store reads and writes (`default` unless selected).
    pub workspace: String,
}

impl GcsSettings {
    pub fn location(&self) -> String {
        let folder = if self.prefix.is_empty() {
            format!("gs://{}", self.bucket)
        } else {
            format!("gs://{}/{}", self.bucket, self.prefix)
        };
        if self.workspace == super::workspace::DEFAULT {
            folder
        } else {
            format!("{folder} (workspace \"{}\")", self.workspace)
        }
    }

    /// The same settings for another workspace's objects.
    pub fn for_workspace(&self, workspace: &str) -> GcsSettings {
        GcsSettings { workspace: workspace.to_string(), ..self.clone() }
    }

    fn object(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}/{name}", self.prefix)
        }
    }
}

/// The JSON API endpoint for an emulator address as STORAGE_EMULATOR_HOST gives it (`host:port`
/// or a URL), the way Google's storage clients read that variable.
pub fn emulator_endpoint(host: &str) -> String {
    let host = host.trim().trim_end_matches('/');
    if host.starts_with("http://") || host.starts_with("https://") {
        host.to_string()
    } else {
        format!("http://{host}")
    }
}

/// What a conditional request can answer besides success.
enum Refused {
    /// 412: the object's generation is not the one the request was conditional on.
    Precondition,
    Failed(StateError),
}

impl From<StateError> for Refused {
    fn from(e: StateError) -> Self {
        Refused::Failed(e)
    }
}

/// The Cloud Storage calls the backend makes.
struct Api {
    storage: Storage,
    http: reqwest::Client,
    credentials: Credentials,
    endpoint: String,
    bucket: String,
    location: String,
    key: Option<[u8; 32]>,
}

impl Api {
    async fn connect(settings: &GcsSettings) -> Result<Api, StateError> {
        let location = settings.location();
        let fail = |what: &str, e: &dyn std::fmt::Display| StateError::Io {
            location: location.clone(),
            reason: format!("{what}: {e}"),
        };
        let mut credentials = crate::google_auth::credentials(&settings.credentials)
            .map_err(|e| fail("no credentials for the state bucket", &e))?;
        if let Some(sa) = &settings.impersonate_service_account {
            credentials = google_cloud_auth::credentials::impersonated::Builder::from_source_credentials(credentials)
                .with_target_principal(sa.clone())
                .build()
                .map_err(|e| fail(&format!("cannot impersonate {sa}"), &e))?;
        }
        let endpoint = settings.endpoint.clone().unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
        let storage = Storage::builder()
            .with_endpoint(endpoint.clone())
            .with_credentials(credentials.clone())
            .build()
            .await
            .map_err(|e| fail("cannot create the Cloud Storage client", &e))?;
        Ok(Api {
            storage,
            http: reqwest::Client::new(),
            credentials,
            endpoint: endpoint.trim_end_matches('/').to_string(),
            bucket: settings.bucket.clone(),
            location,
            key: settings.encryption_key,
        })
    }

    fn io(&self, what: impl std::fmt::Display, e: impl std::fmt::Display) -> StateError {
        StateError::Io { location: self.location.clone(), reason: format!("{what}: {e}") }
    }

    fn bucket_path(&self) -> String {
        format!("projects/_/buckets/{}", self.bucket)
    }

    fn key(&self) -> Result<Option<KeyAes256>, StateError> {
        self.key.map(|k| KeyAes256::new(&k).map_err(|e| self.io("the encryption_key cannot be used", e))).transpose()
    }

    /// An object's bytes and generation, or `None` when it does not exist.
    async fn read(&self, name: &str) -> Result<Option<(Vec<u8>, i64)>, StateError> {
        let mut request = self.storage.read_object(self.bucket_path(), name);
        if let Some(k) = self.key()? {
            request = request.set_key(k);
        }
        let mut response = match request.send().await {
            Ok(r) => r,
            Err(e) if e.http_status_code() == Some(404) => return Ok(None),
            Err(e) => return Err(self.io(format!("cannot read {name}"), describe(&e))),
        };
        let generation = response.object().generation;
        let mut bytes = Vec::new();
        while let Some(chunk) = response.next().await {
            let chunk = chunk.map_err(|e| self.io(format!("cannot read {name}"), describe(&e)))?;
            bytes.extend_from_slice(&chunk);
        }
        Ok(Some((bytes, generation)))
    }

    /// Writes an object; with `if_generation` the write happens only if the object's generation
    /// is that one (0: only if it does not exist). Returns the new generation.
    async fn write(&self, name: &str, body: String, if_generation: Option<i64>) -> Result<i64, Refused> {
        // A checksum known up front travels in the metadata part of the upload and is checked
        // by the server (the client's streaming alternative adds a trailing part).
        let crc = crc32c::crc32c(body.as_bytes());
        let mut request = self
            .storage
            .write_object(self.bucket_path(), name, body)
            .set_content_type("application/json")
            .with_known_crc32c(crc);
        if let Some(g) = if_generation {
            request = request.set_if_generation_match(g);
        }
        if let Some(k) = self.key()? {
            request = request.set_key(k);
        }
        match request.send_unbuffered().await {
            Ok(object) => Ok(object.generation),
            Err(e) if e.http_status_code() == Some(412) => Err(Refused::Precondition),
            Err(e) => Err(Refused::Failed(self.io(format!("cannot write {name}"), describe(&e)))),
        }
    }

    async fn auth_headers(&self) -> Result<reqwest::header::HeaderMap, StateError> {
        match self.credentials.headers(Default::default()).await {
            Ok(CacheableResource::New { data, .. }) => Ok(data),
            Ok(CacheableResource::NotModified) => Ok(reqwest::header::HeaderMap::new()),
            Err(e) => Err(self.io("cannot authenticate to Cloud Storage", e)),
        }
    }

    fn object_url(&self, name: &str) -> Result<reqwest::Url, StateError> {
        let mut url = reqwest::Url::parse(&self.endpoint)
            .map_err(|e| self.io(format!("bad storage endpoint {}", self.endpoint), e))?;
        url.path_segments_mut().map_err(|_| self.io("bad storage endpoint", &self.endpoint))?.extend([
            "storage",
            "v1",
            "b",
            &self.bucket,
            "o",
            name,
        ]);
        Ok(url)
    }

    /// Sends a JSON API request, retrying what Cloud Storage asks to be retried.
    async fn send(
        &self,
        what: &str,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, StateError> {
        let mut delay = Duration::from_millis(200);
        for attempt in 1.. {
            let headers = self.auth_headers().await?;
            let result = build(&self.http).headers(headers).timeout(Duration::from_secs(60)).send().await;
            let retry = match &result {
                Ok(r) => matches!(r.status().as_u16(), 429 | 500 | 502 | 503 | 504),
                Err(e) => e.is_connect() || e.is_timeout(),
            };
            if !retry || attempt == 5 {
                return result.map_err(|e| self.io(what, e));
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
        unreachable!("the loop returns on its last attempt")
    }

    /// Deletes an object, if `if_generation` only that generation. `Ok(false)`: it was gone.
    async fn delete(&self, name: &str, if_generation: Option<i64>) -> Result<bool, Refused> {
        let mut url = self.object_url(name)?;
        if let Some(g) = if_generation {
            url.query_pairs_mut().append_pair("ifGenerationMatch", &g.to_string());
        }
        let response = self.send(&format!("cannot delete {name}"), |c| c.delete(url.clone())).await?;
        match response.status().as_u16() {
            200..=299 => Ok(true),
            404 => Ok(false),
            412 => Err(Refused::Precondition),
            code => Err(Refused::Failed(self.io(format!("cannot delete {name}"), http_failure(code, response).await))),
        }
    }

    /// The names and generations of the objects whose name starts with `prefix`, in name order.
    async fn list(&self, prefix: &str) -> Result<Vec<(String, i64)>, StateError> {
        #[derive(Deserialize)]
        struct Page {
            #[serde(default)]
            items: Vec<Item>,
            #[serde(default, rename = "nextPageToken")]
            next_page_token: Option<String>,
        }
        #[derive(Deserialize)]
        struct Item {
            name: String,
            #[serde(default)]
            generation: Option<String>,
        }
        let mut base = reqwest::Url::parse(&self.endpoint)
            .map_err(|e| self.io(format!("bad storage endpoint {}", self.endpoint), e))?;
        base.path_segments_mut().map_err(|_| self.io("bad storage endpoint", &self.endpoint))?.extend([
            "storage",
            "v1",
            "b",
            &self.bucket,
            "o",
        ]);
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut url = base.clone();
            url.query_pairs_mut()
                .append_pair("prefix", prefix)
                .append_pair("fields", "items(name,generation),nextPageToken");
            if let Some(t) = &token {
                url.query_pairs_mut().append_pair("pageToken", t);
            }
            let response = self.send(&format!("cannot list {prefix}"), |c| c.get(url.clone())).await?;
            let code = response.status().as_u16();
            if !(200..=299).contains(&code) {
                return Err(self.io(format!("cannot list {prefix}"), http_failure(code, response).await));
            }
            let page: Page = response.json().await.map_err(|e| self.io(format!("cannot list {prefix}"), e))?;
            for item in page.items {
                let generation = item.generation.and_then(|g| g.parse().ok()).unwrap_or_default();
                out.push((item.name, generation));
            }
            match page.next_page_token.filter(|t| !t.is_empty()) {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        out.sort();
        Ok(out)
    }
}

fn describe(e: &google_cloud_storage::Error) -> String {
    match e.http_status_code() {
        Some(403) => format!("{e} (the credentials lack access to the bucket: grant roles/storage.objectAdmin on it)"),
        Some(404) => format!("{e} (does the bucket exist?)"),
        _ => e.to_string(),
    }
}

async fn http_failure(code: u16, response: reqwest::Response) -> String {
    let body = response.text().await.unwrap_or_default();
    let message = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.pointer("/error/message").and_then(|m| m.as_str()).map(str::to_string))
        .unwrap_or(body);
    match code {
        403 => format!(
            "HTTP 403: {message} (the credentials lack access to the bucket: grant roles/storage.objectAdmin on it)"
        ),
        _ => format!("HTTP {code}: {message}"),
    }
}

/// The lock object's content: who holds it, and when they last said so.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct LockRecord {
    #[serde(flatten)]
    info: LockInfo,
    /// When the holder last rewrote the lock (RFC 3339).
    renewed: String,
}

/// Resource changes persisted during an apply, on top of the document generation they name.
/// Written from the persister's borrowed batch (`C` a slice), read back owned.
#[derive(Serialize, Deserialize)]
struct Delta<C = Vec<(InstanceAddr, Option<ResourceInstanceState>)>> {
    lineage: String,
    base_generation: i64,
    first_serial: u64,
    last_serial: u64,
    changes: C,
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// How long the lock is renewed and when it counts as abandoned (shorter in tests).
#[derive(Clone, Copy, Debug)]
pub struct LockTiming {
    pub renew_every: Duration,
    pub stale_after: Duration,
    /// How often a waiting process looks again.
    pub poll: Duration,
}

impl Default for LockTiming {
    fn default() -> Self {
        LockTiming { renew_every: RENEW_INTERVAL, stale_after: STALE_AFTER, poll: Duration::from_secs(1) }
    }
}

pub struct GcsStore {
    settings: GcsSettings,
    api: tokio::sync::OnceCell<Arc<Api>>,
    /// The state document generation this process last read or wrote (0: it did not exist).
    /// Document writes are conditional on it.
    generation: Mutex<Option<i64>>,
    /// Set when the lock this process held was taken by someone else.
    lock_lost: Arc<AtomicBool>,
    journal_batches: AtomicU64,
    timing: LockTiming,
}

impl GcsStore {
    pub fn new(settings: GcsSettings) -> GcsStore {
        GcsStore {
            settings,
            api: tokio::sync::OnceCell::new(),
            generation: Mutex::new(None),
            lock_lost: Arc::new(AtomicBool::new(false)),
            journal_batches: AtomicU64::new(0),
            timing: LockTiming::default(),
        }
    }

    pub fn with_lock_timing(mut self, timing: LockTiming) -> Self {
        self.timing = timing;
        self
    }

    pub fn settings(&self) -> &GcsSettings {
        &self.settings
    }

    /// Whether the lock this store took was taken over by another run (its renewal was refused).
    pub fn lock_lost(&self) -> bool {
        self.lock_lost.load(Ordering::SeqCst)
    }

    async fn api(&self) -> Result<Arc<Api>, StateError> {
        self.api.get_or_try_init(|| async { Api::connect(&self.settings).await.map(Arc::new) }).await.cloned()
    }

    fn name(&self, suffix: &str) -> String {
        self.settings.object(&format!("{}.{suffix}", self.settings.workspace))
    }

    /// A damaged object of this workspace (`suffix`: `state.json`, `lock`, …).
    fn corrupt(&self, suffix: &str, reason: impl std::fmt::Display) -> StateError {
        self.corrupt_object(&self.name(suffix), reason)
    }

    /// A damaged object, by its full name in the bucket.
    fn corrupt_object(&self, name: &str, reason: impl std::fmt::Display) -> StateError {
        StateError::Corrupt { location: format!("gs://{}/{name}", self.settings.bucket), reason: reason.to_string() }
    }

    fn seen_generation(&self) -> Option<i64> {
        *self.generation.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set_generation(&self, g: i64) {
        *self.generation.lock().unwrap_or_else(|p| p.into_inner()) = Some(g);
    }

    fn check_lock(&self) -> Result<(), StateError> {
        if self.lock_lost.load(Ordering::SeqCst) {
            return Err(StateError::Superseded {
                location: self.settings.location(),
                detail:
                    "this process's state lock was taken over by another run (its renewals stopped getting through); \
                         nothing more is written"
                        .into(),
            });
        }
        Ok(())
    }

    fn superseded(&self, seen: i64) -> StateError {
        StateError::Superseded {
            location: self.settings.location(),
            detail: format!(
                "the state changed since this process read it (generation {seen}); another run wrote it, so this one \
                 must have lost its lock. Nothing was overwritten"
            ),
        }
    }

    /// The document as stored, and its generation (0 when there is none).
    async fn read_document(&self, api: &Api) -> Result<(Option<State>, i64), StateError> {
        match api.read(&self.name("state.json")).await? {
            None => Ok((None, 0)),
            Some((bytes, generation)) => {
                let state = parse_state(&bytes).map_err(|reason| self.corrupt("state.json", reason))?;
                Ok((Some(state), generation))
            }
        }
    }

    /// The deltas written on top of document `generation`, in serial order, with their object
    /// names; deltas built on another generation are leftovers (folded in already, or written
    /// by a run that lost its lock) and are skipped.
    async fn deltas(&self, api: &Api, generation: i64) -> Result<(Vec<Delta>, Vec<(String, i64)>), StateError> {
        let objects = api.list(&format!("{}/", self.name("delta"))).await?;
        let mut deltas = Vec::new();
        for (name, _) in &objects {
            let Some((bytes, _)) = api.read(name).await? else { continue };
            let delta: Delta = serde_json::from_slice(&bytes).map_err(|e| self.corrupt_object(name, e))?;
            if delta.base_generation == generation {
                deltas.push(delta);
            }
        }
        deltas.sort_by_key(|d| d.first_serial);
        Ok((deltas, objects))
    }

    /// The current state: the document with the apply's deltas replayed on it, its generation,
    /// and every delta object present (replayed or left over).
    async fn current(&self, api: &Api) -> Result<(Option<State>, i64, Vec<(String, i64)>), StateError> {
        let (doc, generation) = self.read_document(api).await?;
        let (deltas, objects) = self.deltas(api, generation).await?;
        Ok((replay(doc, deltas), generation, objects))
    }

    /// Replaces the document (conditional on the generation this process saw), records the
    /// version in history and removes the deltas it folded in.
    async fn commit(
        &self,
        api: &Api,
        state: &State,
        operation: &str,
        folded: &[(String, i64)],
    ) -> Result<(), StateError> {
        self.check_lock()?;
        let seen = self.seen_generation().unwrap_or(0);
        let body = serde_json::to_string_pretty(state).map_err(|e| api.io("cannot encode the state", e))?;
        let generation = match api.write(&self.name("state.json"), body, Some(seen)).await {
            Ok(g) => g,
            Err(Refused::Precondition) => return Err(self.superseded(seen)),
            Err(Refused::Failed(e)) => return Err(e),
        };
        self.set_generation(generation);
        let record = HistoryRecordRef { time: now(), operation, state };
        let body = serde_json::to_string(&record).map_err(|e| api.io("cannot encode a history version", e))?;
        let name = format!("{}/{:020}.json", self.name("history"), state.serial);
        match api.write(&name, body, None).await {
            Ok(_) => {}
            Err(Refused::Precondition) => {}
            Err(Refused::Failed(e)) => return Err(e),
        }
        for (name, g) in folded {
            // Only the generation that was read: a delta rewritten since is not ours to drop.
            match api.delete(name, Some(*g)).await {
                Ok(_) | Err(Refused::Precondition) => {}
                Err(Refused::Failed(e)) => return Err(e),
            }
        }
        self.prune_history(api).await
    }

    async fn prune_history(&self, api: &Api) -> Result<(), StateError> {
        let versions = api.list(&format!("{}/", self.name("history"))).await?;
        if versions.len() > HISTORY_LIMIT {
            for (name, g) in &versions[..versions.len() - HISTORY_LIMIT] {
                match api.delete(name, Some(*g)).await {
                    Ok(_) | Err(Refused::Precondition) => {}
                    Err(Refused::Failed(e)) => return Err(e),
                }
            }
        }
        Ok(())
    }

    async fn read_lock(&self, api: &Api) -> Result<Option<(LockRecord, i64)>, StateError> {
        match api.read(&self.name("lock")).await? {
            None => Ok(None),
            Some((bytes, generation)) => {
                let record = serde_json::from_slice::<LockRecord>(&bytes).map_err(|e| self.corrupt("lock", e))?;
                Ok(Some((record, generation)))
            }
        }
    }

    /// Whether the holder is gone: a process on this host that no longer runs, or a lock not
    /// renewed within the grace period.
    fn is_stale(&self, record: &LockRecord) -> bool {
        if record.info.host == super::hostname() && record.info.pid != 0 && !process_alive(record.info.pid) {
            return true;
        }
        match chrono::DateTime::parse_from_rfc3339(&record.renewed) {
            Ok(t) => {
                let age = chrono::Utc::now().signed_duration_since(t.with_timezone(&chrono::Utc));
                age.to_std().map(|a| a > self.timing.stale_after).unwrap_or(false)
            }
            Err(_) => false,
        }
    }

    /// Folds what an interrupted apply persisted as deltas into the document, so that reads
    /// stop replaying them. Runs under the lock, before the holder reads the state.
    async fn fold_leftovers(&self, api: &Api) -> Result<(), StateError> {
        let (doc, generation) = self.read_document(api).await?;
        let (deltas, objects) = self.deltas(api, generation).await?;
        if objects.is_empty() {
            return Ok(());
        }
        self.set_generation(generation);
        let doc_serial = doc.as_ref().map(|s| s.serial);
        match replay(doc, deltas) {
            Some(state) if Some(state.serial) != doc_serial => {
                self.commit(api, &state, "recovered after an interrupted apply", &objects).await
            }
            // Only leftovers of an earlier fold, or of a run that lost its lock: drop them.
            _ => {
                for (name, g) in &objects {
                    match api.delete(name, Some(*g)).await {
                        Ok(_) | Err(Refused::Precondition) => {}
                        Err(Refused::Failed(e)) => return Err(e),
                    }
                }
                Ok(())
            }
        }
    }

    /// The workspaces with a state document under the prefix (Terraform's gcs backend lists
    /// its `*.tfstate` objects the same way), in name order.
    pub async fn workspace_names(&self) -> Result<Vec<String>, StateError> {
        let api = self.api().await?;
        let folder = self.settings.object("");
        Ok(api
            .list(&folder)
            .await?
            .into_iter()
            .filter_map(|(name, _)| {
                let rest = name.strip_prefix(&folder)?;
                rest.strip_suffix(".state.json").filter(|w| !w.contains('/')).map(str::to_string)
            })
            .collect())
    }

    /// Deletes this workspace's objects: deltas, journal, history and key record first, the
    /// state document last, so that a deletion cut short still lists the workspace and can be
    /// run again.
    pub async fn delete_workspace(&self) -> Result<(), StateError> {
        for folder in ["delta", "journal", "history"] {
            self.delete_all(&format!("{}/", self.name(folder))).await?;
        }
        let api = self.api().await?;
        for suffix in ["key-record.json", "key", "lock", "state.json"] {
            match api.delete(&self.name(suffix), None).await {
                // An unconditional delete has no precondition to fail.
                Ok(_) | Err(Refused::Precondition) => {}
                Err(Refused::Failed(e)) => return Err(e),
            }
        }
        Ok(())
    }

    async fn delete_all(&self, prefix: &str) -> Result<(), StateError> {
        let api = self.api().await?;
        for (name, g) in api.list(prefix).await? {
            match api.delete(&name, Some(g)).await {
                Ok(_) | Err(Refused::Precondition) => {}
                Err(Refused::Failed(e)) => return Err(e),
            }
        }
        Ok(())
    }

    /// Whether the current lock's holder is gone (see [`LockTiming`]).
    pub async fn lock_is_stale(&self) -> Result<bool, StateError> {
        let api = self.api().await?;
        Ok(self.read_lock(&api).await?.is_some_and(|(r, _)| self.is_stale(&r)))
    }
}

/// Applies deltas, in serial order, to the document they were written on.
fn replay(doc: Option<State>, deltas: Vec<Delta>) -> Option<State> {
    let mut state = doc;
    for d in deltas {
        let s = state.get_or_insert_with(|| State { lineage: d.lineage.clone(), serial: 0, ..State::new() });
        if s.lineage != d.lineage || d.first_serial <= s.serial {
            continue;
        }
        for (addr, r) in d.changes {
            match r {
                Some(r) => s.resources.insert(addr, r),
                None => s.resources.remove(&addr),
            };
        }
        s.serial = d.last_serial;
    }
    state
}

fn process_alive(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else { return false };
    // SAFETY: signal 0 only checks whether the process exists and may be signalled.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

fn parse_state(bytes: &[u8]) -> Result<State, String> {
    let raw: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let version = raw.get("format_version").and_then(|v| v.as_u64()).unwrap_or(0);
    if version > u64::from(FORMAT_VERSION) {
        return Err(format!(
            "format version {version} is newer than this Cairn understands ({FORMAT_VERSION}); upgrade Cairn"
        ));
    }
    serde_json::from_value(raw).map_err(|e| format!("not a Cairn state: {e}"))
}

struct GcsLock {
    info: LockInfo,
    recovered: Option<LockInfo>,
    api: Arc<Api>,
    name: String,
    lost: Arc<AtomicBool>,
    renewer: tokio::task::JoinHandle<()>,
}

/// Deletes the lock if it is still this holder's: read back, our ID in it, and deleted on the
/// generation read (a renewal that was in flight when the renewer stopped may have moved it on;
/// anyone else's lock fails the precondition, and servers that do not enforce it, like
/// fake-gcs-server, are covered by the ID check).
async fn release(api: &Api, name: &str, id: &str) {
    if let Ok(Some((bytes, current))) = api.read(name).await {
        if serde_json::from_slice::<LockRecord>(&bytes).is_ok_and(|r| r.info.id == id) {
            let _ = api.delete(name, Some(current)).await;
        }
    }
}

impl LockGuard for GcsLock {
    fn info(&self) -> &LockInfo {
        &self.info
    }
    fn recovered_stale(&self) -> Option<&LockInfo> {
        self.recovered.as_ref()
    }
}

impl Drop for GcsLock {
    fn drop(&mut self) {
        self.renewer.abort();
        if self.lost.load(Ordering::SeqCst) {
            // Taken over: the lock object is the new holder's.
            return;
        }
        let api = self.api.clone();
        let name = self.name.clone();
        let id = self.info.id.clone();
        let release_now = {
            let (name, id) = (name.clone(), id.clone());
            async move { release(&api, &name, &id).await }
        };
        // Drop cannot await. On the multi-threaded runtime the command runs on, block this
        // worker while the others drive the request; elsewhere (a single-threaded test
        // runtime) a helper thread with its own runtime does it.
        match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(|| h.block_on(release_now));
            }
            _ => {
                let api = self.api.clone();
                let name = self.name.clone();
                let _ = std::thread::spawn(move || {
                    if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                        rt.block_on(async move {
                            // A fresh connection pool: the original runtime's connections are
                            // served by tasks that cannot run while it is blocked here.
                            let fresh = Api { http: reqwest::Client::new(), ..clone_api(&api) };
                            release(&fresh, &name, &id).await;
                        });
                    }
                })
                .join();
            }
        }
    }
}

fn clone_api(api: &Api) -> Api {
    Api {
        storage: api.storage.clone(),
        http: api.http.clone(),
        credentials: api.credentials.clone(),
        endpoint: api.endpoint.clone(),
        bucket: api.bucket.clone(),
        location: api.location.clone(),
        key: api.key,
    }
}

#[async_trait]
impl StateStore for GcsStore {
    fn location(&self) -> String {
        self.settings.location()
    }

    async fn lock(&self, info: LockInfo, timeout: Duration) -> Result<Box<dyn LockGuard>, StateError> {
        let api = self.api().await?;
        let name = self.name("lock");
        let deadline = tokio::time::Instant::now() + timeout;
        let mut recovered = None;
        let mut vanished = 0;
        let generation = loop {
            let record = LockRecord { info: info.clone(), renewed: now() };
            let body = serde_json::to_string(&record).map_err(|e| api.io("cannot encode the lock", e))?;
            match api.write(&name, body.clone(), Some(0)).await {
                Ok(g) => break g,
                Err(Refused::Failed(e)) => return Err(e),
                Err(Refused::Precondition) => {}
            }
            // Someone holds it, or held it a moment ago: the object may be gone by the time we
            // look (terraform#30149), which only means it is free to try again.
            let Some((held, held_generation)) = self.read_lock(&api).await? else {
                vanished += 1;
                if vanished > 50 {
                    return Err(api.io(
                        "cannot take the state lock",
                        "the lock object keeps being created and deleted by others",
                    ));
                }
                continue;
            };
            if self.is_stale(&held) {
                match api.write(&name, body, Some(held_generation)).await {
                    Ok(g) => {
                        recovered = Some(held.info);
                        break g;
                    }
                    Err(Refused::Precondition) => continue,
                    Err(Refused::Failed(e)) => return Err(e),
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(StateError::Locked(Box::new(held.info)));
            }
            tokio::time::sleep(self.timing.poll.min(deadline.saturating_duration_since(tokio::time::Instant::now())))
                .await;
        };
        self.lock_lost.store(false, Ordering::SeqCst);
        self.fold_leftovers(&api).await?;
        let generation = Arc::new(Mutex::new(generation));
        let renewer = {
            let api = api.clone();
            let name = name.clone();
            let info = info.clone();
            let generation = generation.clone();
            let lost = self.lock_lost.clone();
            let every = self.timing.renew_every;
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    let current = *generation.lock().unwrap_or_else(|p| p.into_inner());
                    let record = LockRecord { info: info.clone(), renewed: now() };
                    let Ok(body) = serde_json::to_string(&record) else { continue };
                    match api.write(&name, body, Some(current)).await {
                        Ok(g) => *generation.lock().unwrap_or_else(|p| p.into_inner()) = g,
                        Err(Refused::Precondition) => {
                            tracing::warn!(lock = %info.id, "the state lock was taken over by another run");
                            lost.store(true, Ordering::SeqCst);
                            return;
                        }
                        // A failed renewal is retried at the next tick; the lock only goes
                        // stale after several.
                        Err(Refused::Failed(e)) => tracing::warn!(error = %e, "cannot renew the state lock"),
                    }
                }
            })
        };
        Ok(Box::new(GcsLock { info, recovered, api, name, lost: self.lock_lost.clone(), renewer }))
    }

    async fn lock_holder(&self) -> Result<Option<LockInfo>, StateError> {
        let api = self.api().await?;
        Ok(self.read_lock(&api).await?.map(|(r, _)| r.info))
    }

    async fn force_unlock(&self, id: &str) -> Result<LockInfo, StateError> {
        let api = self.api().await?;
        loop {
            let Some((held, generation)) = self.read_lock(&api).await? else {
                return Err(StateError::NoSuchLock { given: id.to_string(), held: None });
            };
            if held.info.id != id {
                return Err(StateError::NoSuchLock { given: id.to_string(), held: Some(Box::new(held.info)) });
            }
            match api.delete(&self.name("lock"), Some(generation)).await {
                Ok(_) => return Ok(held.info),
                // Renewed between the read and the delete: look again.
                Err(Refused::Precondition) => continue,
                Err(Refused::Failed(e)) => return Err(e),
            }
        }
    }

    async fn load(&self) -> Result<Option<State>, StateError> {
        let api = self.api().await?;
        let (mut state, generation, _) = self.current(&api).await?;
        self.set_generation(generation);
        if let Some(state) = &mut state {
            state.share_dependencies();
        }
        Ok(state)
    }

    async fn write(&self, state: &State, operation: &str) -> Result<(), StateError> {
        let api = self.api().await?;
        let (stored, generation, objects) = self.current(&api).await?;
        match self.seen_generation() {
            Some(seen) if seen != generation => return Err(self.superseded(seen)),
            None => self.set_generation(generation),
            _ => {}
        }
        if let Some(stored) = &stored {
            if stored.lineage == state.lineage && state.serial <= stored.serial {
                return Err(StateError::SerialRegression { current: stored.serial, attempted: state.serial });
            }
        }
        self.commit(&api, state, operation, &objects).await
    }

    /// One small object per batch, whatever the size of the state.
    async fn write_resources(
        &self,
        lineage: &str,
        first_serial: u64,
        changes: &[(InstanceAddr, Option<ResourceInstanceState>)],
    ) -> Result<(), StateError> {
        if changes.is_empty() {
            return Ok(());
        }
        self.check_lock()?;
        let api = self.api().await?;
        let base_generation = match self.seen_generation() {
            Some(g) => g,
            None => {
                self.load().await?;
                self.seen_generation().unwrap_or(0)
            }
        };
        let last_serial = first_serial + changes.len() as u64 - 1;
        let delta = Delta { lineage: lineage.to_string(), base_generation, first_serial, last_serial, changes };
        let body = serde_json::to_string(&delta).map_err(|e| api.io("cannot encode resource changes", e))?;
        let name = format!("{}/{first_serial:020}-{last_serial:020}.json", self.name("delta"));
        match api.write(&name, body, Some(0)).await {
            Ok(_) => Ok(()),
            Err(Refused::Precondition) => Err(StateError::Superseded {
                location: self.settings.location(),
                detail: format!("serials {first_serial}..{last_serial} were already written by another run; this one must have lost its lock"),
            }),
            Err(Refused::Failed(e)) => Err(e),
        }
    }

    async fn finish_apply(&self, state: &State) -> Result<(), StateError> {
        let api = self.api().await?;
        let (stored, generation, objects) = self.current(&api).await?;
        if let Some(seen) = self.seen_generation() {
            if seen != generation {
                return Err(self.superseded(seen));
            }
        }
        self.set_generation(generation);
        let merged = match stored {
            Some(stored) => {
                super::check_apply_follows(&stored.lineage, stored.serial, state, |reason| {
                    self.corrupt("state.json", reason)
                })?;
                // What is stored (the resources written during the apply) is what the version
                // records, with the apply's outputs and check results.
                State {
                    serial: state.serial,
                    cairn_version: state.cairn_version.clone(),
                    outputs: state.outputs.clone(),
                    check_results: state.check_results.clone(),
                    ..stored
                }
            }
            None => state.clone(),
        };
        self.commit(&api, &merged, "apply", &objects).await
    }

    async fn history(&self) -> Result<Vec<HistoryEntry>, StateError> {
        let api = self.api().await?;
        let mut out = Vec::new();
        for (name, _) in api.list(&format!("{}/", self.name("history"))).await?.into_iter().rev() {
            let Some((bytes, _)) = api.read(&name).await? else { continue };
            let record: HistoryRecord = serde_json::from_slice(&bytes).map_err(|e| self.corrupt_object(&name, e))?;
            out.push(record.entry());
        }
        Ok(out)
    }

    async fn version(&self, serial: u64) -> Result<State, StateError> {
        let api = self.api().await?;
        let name = format!("{}/{serial:020}.json", self.name("history"));
        let (bytes, _) = api.read(&name).await?.ok_or(StateError::NoSuchVersion(serial))?;
        let record: HistoryRecord = serde_json::from_slice(&bytes).map_err(|e| self.corrupt_object(&name, e))?;
        Ok(record.state)
    }

    async fn journal(&self, entry: &JournalEntry) -> Result<(), StateError> {
        self.journal_batch(std::slice::from_ref(entry)).await
    }

    async fn journal_batch(&self, entries: &[JournalEntry]) -> Result<(), StateError> {
        let Some(first) = entries.first() else { return Ok(()) };
        let api = self.api().await?;
        let n = self.journal_batches.fetch_add(1, Ordering::SeqCst);
        let name = format!("{}/{}/{n:08}-{}.json", self.name("journal"), first.apply_id, uuid::Uuid::new_v4().simple());
        let body = serde_json::to_string(entries).map_err(|e| api.io("cannot encode journal entries", e))?;
        match api.write(&name, body, Some(0)).await {
            Ok(_) => Ok(()),
            Err(Refused::Precondition) => {
                Err(api.io("cannot write the apply journal", format!("{name} already exists")))
            }
            Err(Refused::Failed(e)) => Err(e),
        }
    }

    async fn open_journal(&self) -> Result<Vec<JournalEntry>, StateError> {
        let api = self.api().await?;
        let mut journal = Vec::new();
        for (name, _) in api.list(&format!("{}/", self.name("journal"))).await? {
            let Some((bytes, _)) = api.read(&name).await? else { continue };
            let batch: Vec<JournalEntry> = serde_json::from_slice(&bytes).map_err(|e| self.corrupt_object(&name, e))?;
            journal.extend(batch);
        }
        Ok(super::open_entries(journal))
    }

    async fn clear_journal(&self, apply_id: &str) -> Result<(), StateError> {
        self.delete_all(&format!("{}/{apply_id}/", self.name("journal"))).await
    }

    async fn clear_journals(&self) -> Result<(), StateError> {
        self.delete_all(&format!("{}/", self.name("journal"))).await
    }

    async fn adopt_fingerprint_key(&self, key: [u8; 32]) -> Result<(), StateError> {
        let api = self.api().await?;
        let location = self.location();
        loop {
            let stored = self.stored_key(&api).await?;
            if stored.record.is_some() || stored.legacy.is_some() {
                return match keyfile::resolve(&location, &stored)? {
                    keyfile::Resolved::Key(existing) if existing == key => Ok(()),
                    _ => Err(self.corrupt(
                        "key-record.json",
                        "this state already has a different fingerprint key: it holds another state's history; migrate into an empty prefix",
                    )),
                };
            }
            let record = keyfile::KeyRecord::new(&key);
            keyfile::ensure_key_file(&keyfile::key_path(&record.id)?, &key, &location)?;
            if self.insert_key_record(&api, &record).await? {
                return Ok(());
            }
        }
    }

    async fn fingerprint_key(&self) -> Result<[u8; 32], StateError> {
        let api = self.api().await?;
        let location = self.location();
        loop {
            if let keyfile::Resolved::Key(key) = keyfile::resolve(&location, &self.stored_key(&api).await?)? {
                return Ok(key);
            }
            if self.load().await?.is_some_and(|s| s.resources.values().any(|r| !r.sensitive_fingerprints.is_empty())) {
                return Err(keyfile::KeyError::Orphaned { state: location }.into());
            }
            let (key, record) = keyfile::create(&location)?;
            // Losing the race to another creator: theirs is the key.
            if self.insert_key_record(&api, &record).await? {
                return Ok(key);
            }
        }
    }

    async fn move_fingerprint_key_out(&self) -> Result<Option<String>, StateError> {
        let api = self.api().await?;
        let location = self.location();
        let stored = self.stored_key(&api).await?;
        let had_record = stored.record.is_some();
        let Some((record, at)) = keyfile::move_out(&location, &stored)? else { return Ok(None) };
        // Record first, then the key object goes: a crash between the two leaves both, which
        // the next locked command finishes.
        if !had_record && !self.insert_key_record(&api, &record).await? {
            return Err(self.corrupt(
                "key-record.json",
                "another process stored a key record while this one moved the key out; run the command again",
            ));
        }
        let name = self.name("key");
        match api.delete(&name, None).await {
            Ok(_) => {}
            Err(Refused::Precondition) => {}
            Err(Refused::Failed(e)) => return Err(e),
        }
        Ok(Some(keyfile::moved_note(&location, &at)))
    }

    async fn stored_fingerprint_key(&self) -> Result<keyfile::Stored, StateError> {
        let api = self.api().await?;
        self.stored_key(&api).await
    }

    async fn replace_fingerprint_key_record(&self, record: &keyfile::KeyRecord) -> Result<(), StateError> {
        let api = self.api().await?;
        // Record first, then the in-state key: a crash between leaves a legacy key that does
        // not match the record, which `state rekey` (run again) replaces.
        let body = String::from_utf8(record.to_json()).expect("JSON is UTF-8");
        match api.write(&self.name("key-record.json"), body, None).await {
            Ok(_) => {}
            Err(Refused::Precondition) => {
                return Err(self.corrupt("key-record.json", "Cloud Storage refused an unconditional write"))
            }
            Err(Refused::Failed(e)) => return Err(e),
        }
        match api.delete(&self.name("key"), None).await {
            Ok(_) | Err(Refused::Precondition) => Ok(()),
            Err(Refused::Failed(e)) => Err(e),
        }
    }
}

impl GcsStore {
    /// The key record (`default.key-record.json`), and the key itself (`default.key`) if an
    /// older Cairn stored it in the bucket.
    async fn stored_key(&self, api: &Api) -> Result<keyfile::Stored, StateError> {
        let record = match api.read(&self.name("key-record.json")).await? {
            Some((bytes, _)) => Some(
                keyfile::KeyRecord::parse(&bytes, &self.name("key-record.json"))
                    .map_err(|e| self.corrupt("key-record.json", e))?,
            ),
            None => None,
        };
        let legacy =
            match api.read(&self.name("key")).await? {
                Some((bytes, _)) => {
                    let text = String::from_utf8_lossy(&bytes);
                    let raw = hex::decode(text.trim()).map_err(|e| self.corrupt("key", e))?;
                    Some(<[u8; 32]>::try_from(raw.as_slice()).map_err(|_| {
                        self.corrupt("key", format!("the key is {} bytes long, expected 32", raw.len()))
                    })?)
                }
                None => None,
            };
        Ok(keyfile::Stored { record, legacy })
    }

    /// Stores `record` if the state has none yet; `false` when another writer stored one first.
    async fn insert_key_record(&self, api: &Api, record: &keyfile::KeyRecord) -> Result<bool, StateError> {
        let body = String::from_utf8(record.to_json()).expect("JSON is UTF-8");
        match api.write(&self.name("key-record.json"), body, Some(0)).await {
            Ok(_) => Ok(true),
            Err(Refused::Precondition) => Ok(false),
            Err(Refused::Failed(e)) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(prefix: &str) -> GcsSettings {
        GcsSettings {
            bucket: "b".into(),
            prefix: prefix.into(),
            credentials: CredentialSource::Anonymous,
            impersonate_service_account: None,
            encryption_key: None,
            endpoint: None,
            workspace: "default".into(),
        }
    }

    #[test]
    fn emulator_hosts_are_read_as_googles_clients_read_them() {
        assert_eq!(emulator_endpoint("localhost:4443"), "http://localhost:4443");
        assert_eq!(emulator_endpoint("http://127.0.0.1:9000/"), "http://127.0.0.1:9000");
        assert_eq!(emulator_endpoint("https://gcs.test"), "https://gcs.test");
    }

    #[test]
    fn objects_live_under_the_prefix() {
        assert_eq!(settings("stacks/staging").object("default.lock"), "stacks/staging/default.lock");
        assert_eq!(settings("").object("default.lock"), "default.lock");
        assert_eq!(settings("stacks/staging").location(), "gs://b/stacks/staging");
        assert_eq!(settings("").location(), "gs://b");
        let dev = settings("stacks/staging").for_workspace("dev");
        assert_eq!(GcsStore::new(dev.clone()).name("state.json"), "stacks/staging/dev.state.json");
        assert_eq!(dev.location(), "gs://b/stacks/staging (workspace \"dev\")");
    }

    #[test]
    fn a_newer_or_foreign_document_is_refused_with_the_reason() {
        let newer = serde_json::json!({ "format_version": FORMAT_VERSION + 1, "lineage": "l", "serial": 1 });
        let e = parse_state(&serde_json::to_vec(&newer).unwrap()).unwrap_err();
        assert!(e.contains("upgrade Cairn"), "{e}");
        let e = parse_state(b"{\"version\": 4, \"terraform_version\": \"1.9.0\"}").unwrap_err();
        assert!(e.contains("not a Cairn state"), "{e}");
        assert!(parse_state(b"garbage").unwrap_err().contains("not JSON"));
    }

    #[test]
    fn a_lock_is_stale_when_its_process_is_gone_or_its_renewals_stopped() {
        let store = GcsStore::new(settings("p"));
        let mut info = LockInfo::for_current_process("apply");
        let fresh = LockRecord { info: info.clone(), renewed: now() };
        assert!(!store.is_stale(&fresh), "this very process holds it");
        info.pid = 999_999_999;
        assert!(store.is_stale(&LockRecord { info: info.clone(), renewed: now() }), "no such process on this host");
        info.host = "another-host".into();
        assert!(
            !store.is_stale(&LockRecord { info: info.clone(), renewed: now() }),
            "another host's process cannot be probed"
        );
        let old = (chrono::Utc::now() - chrono::Duration::minutes(3)).to_rfc3339();
        assert!(store.is_stale(&LockRecord { info, renewed: old }), "no renewal for longer than the grace period");
    }
}
