//! The emulator's world: resources of every API, long-running operations and known projects,
//! persisted as one JSON document.
//!
//! Resources are keyed by API (`"secretmanager"`, later `"vpcaccess"`, …) and full resource
//! name. Each write takes the next value of one monotonic generation counter, which is what
//! etags and fingerprints are made of: a resource's etag changes on every write and never
//! repeats, even across restarts (the counter is persisted).

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::operations::Operation;
use super::projects::Projects;

/// The on-disk format version; bump when the layout changes incompatibly.
const DATA_FILE_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StoredResource {
    /// What the API renders (its own JSON shape, enums as strings).
    pub value: Value,
    /// Server-side data that is never rendered as is (a secret version's payload, the next
    /// version number…).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub internal: Value,
    /// The generation of the last write.
    pub generation: u64,
}

impl StoredResource {
    /// The etag of this revision, quoted as Google's APIs quote theirs.
    pub fn etag(&self) -> String {
        etag_of(self.generation)
    }
}

/// The quoted etag for a generation, e.g. `"\"00000000000017\""`.
pub fn etag_of(generation: u64) -> String {
    format!("\"{generation:014x}\"")
}

#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Store {
    #[serde(default = "data_file_version")]
    version: u32,
    generation: u64,
    #[serde(default)]
    pub projects: Projects,
    #[serde(default)]
    resources: BTreeMap<String, BTreeMap<String, StoredResource>>,
    /// Long-running operations of every API, by full operation name.
    #[serde(default)]
    pub operations: BTreeMap<String, Operation>,
    #[serde(skip)]
    dirty: bool,
}

fn data_file_version() -> u32 {
    DATA_FILE_VERSION
}

#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    #[error("cannot read the emulator data file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write the emulator data file {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("the emulator data file {path} is not valid: {message} (delete it to start empty)")]
    Format { path: PathBuf, message: String },
}

impl Store {
    pub fn new() -> Self {
        Store { version: DATA_FILE_VERSION, ..Store::default() }
    }

    /// The next generation; every write of anything takes one.
    pub fn next_generation(&mut self) -> u64 {
        self.generation += 1;
        self.dirty = true;
        self.generation
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub fn get(&self, api: &str, name: &str) -> Option<&StoredResource> {
        self.resources.get(api).and_then(|m| m.get(name))
    }

    pub fn contains(&self, api: &str, name: &str) -> bool {
        self.get(api, name).is_some()
    }

    /// Writes a resource (create or replace) and returns the stored revision.
    pub fn put(&mut self, api: &str, name: &str, value: Value, internal: Value) -> &StoredResource {
        let generation = self.next_generation();
        let slot = self
            .resources
            .entry(api.to_string())
            .or_default()
            .entry(name.to_string())
            .or_insert(StoredResource { value: Value::Null, internal: Value::Null, generation });
        *slot = StoredResource { value, internal, generation };
        slot
    }

    pub fn remove(&mut self, api: &str, name: &str) -> Option<StoredResource> {
        let removed = self.resources.get_mut(api).and_then(|m| m.remove(name));
        if removed.is_some() {
            self.next_generation();
        }
        removed
    }

    /// Removes every resource whose name starts with `prefix` (children of a deleted parent).
    pub fn remove_prefix(&mut self, api: &str, prefix: &str) -> usize {
        let Some(map) = self.resources.get_mut(api) else {
            return 0;
        };
        let doomed: Vec<String> = map
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, _)| k.clone())
            .collect();
        for name in &doomed {
            map.remove(name);
        }
        if !doomed.is_empty() {
            self.next_generation();
        }
        doomed.len()
    }

    /// Resources of `api` whose name is `prefix` followed by one more path segment, in name
    /// order (e.g. prefix `projects/1/secrets/` lists secrets but not their versions).
    pub fn children<'a>(
        &'a self,
        api: &str,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a String, &'a StoredResource)> + 'a {
        self.resources
            .get(api)
            .into_iter()
            .flat_map(move |m| m.range(prefix.to_string()..))
            .take_while(move |(k, _)| k.starts_with(prefix))
            .filter(move |(k, _)| !k[prefix.len()..].contains('/'))
    }

    /// Every resource of an API, in name order.
    pub fn all<'a>(&'a self, api: &str) -> impl Iterator<Item = (&'a String, &'a StoredResource)> {
        self.resources.get(api).into_iter().flat_map(|m| m.iter())
    }

    /// Marks a change made outside `put`/`remove` (projects, operations) for persistence.
    pub fn mark_dirty(&mut self) {
        self.dirty = true;
    }

    /// True once after any change since the last call.
    pub fn take_dirty(&mut self) -> bool {
        std::mem::replace(&mut self.dirty, false)
    }

    pub fn is_empty(&self) -> bool {
        self.resources.values().all(|m| m.is_empty()) && self.operations.is_empty()
    }

    /// Loads a data file; `Ok(None)` when it does not exist or is empty.
    pub fn load(path: &Path) -> Result<Option<Store>, PersistError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(PersistError::Read { path: path.to_path_buf(), source }),
        };
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            return Ok(None);
        }
        let store: Store = serde_json::from_slice(&bytes)
            .map_err(|e| PersistError::Format { path: path.to_path_buf(), message: e.to_string() })?;
        if store.version != DATA_FILE_VERSION {
            return Err(PersistError::Format {
                path: path.to_path_buf(),
                message: format!("format version {} is not the supported version {DATA_FILE_VERSION}", store.version),
            });
        }
        Ok(Some(store))
    }

    /// The document `save` writes, serialised while the caller holds the store.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serialising maps of strings and JSON values cannot fail.
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, fsync, rename. A reader
/// (or a crash) sees the old document or the new one, never half of one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), PersistError> {
    let err = |source| PersistError::Write { path: path.to_path_buf(), source };
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or_else(|| Path::new("."));
    let file_name =
        path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "emulator-data.json".to_string());
    let tmp = dir.join(format!(".{file_name}.tmp-{}", std::process::id()));
    // The data holds secret payloads: owner-only whatever the umask, and never written
    // through a symlink planted at the temporary name.
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .or_else(|e| {
            // A temporary file left by a crashed run of this same pid: replace it.
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                std::fs::remove_file(&tmp)?;
                std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)
            } else {
                Err(e)
            }
        })
        .map_err(err)?;
    file.write_all(bytes).map_err(err)?;
    file.sync_all().map_err(err)?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn generations_are_monotonic_and_etags_change_on_every_write() {
        let mut store = Store::new();
        let first = store.put("sm", "projects/1/secrets/a", json!({"x": 1}), Value::Null).etag();
        let second = store.put("sm", "projects/1/secrets/a", json!({"x": 2}), Value::Null).etag();
        assert_ne!(first, second);
        assert!(first.starts_with('"') && first.ends_with('"'));
        store.remove("sm", "projects/1/secrets/a");
        let third = store.put("sm", "projects/1/secrets/a", json!({}), Value::Null).generation;
        assert_eq!(third, 4, "a removal also takes a generation");
    }

    #[test]
    fn children_lists_one_level_and_remove_prefix_deletes_a_subtree() {
        let mut store = Store::new();
        for name in [
            "projects/1/secrets/a",
            "projects/1/secrets/a/versions/1",
            "projects/1/secrets/a/versions/2",
            "projects/1/secrets/b",
            "projects/2/secrets/c",
        ] {
            store.put("sm", name, json!({}), Value::Null);
        }
        let secrets: Vec<_> = store.children("sm", "projects/1/secrets/").map(|(k, _)| k.clone()).collect();
        assert_eq!(secrets, ["projects/1/secrets/a", "projects/1/secrets/b"]);
        assert_eq!(store.remove_prefix("sm", "projects/1/secrets/a/"), 2);
        assert!(store.contains("sm", "projects/1/secrets/a"));
        assert_eq!(store.children("sm", "projects/1/secrets/a/versions/").count(), 0);
    }

    /// The data file holds secret payloads: 0600 under the usual umask 022 (the process
    /// umask is set to that common default, which other tests do not depend on).
    #[test]
    fn data_file_is_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        // SAFETY: umask only swaps the process's file-creation mask.
        unsafe { libc::umask(0o022) };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.json");
        write_atomic(&path, b"{}").unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        // A stale temporary file from an earlier crash is replaced, not written through.
        let stale = dir.path().join(format!(".data.json.tmp-{}", std::process::id()));
        std::fs::write(&stale, "old").unwrap();
        write_atomic(&path, b"{\"a\": 1}").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"a\": 1}");
        assert!(!stale.exists());
    }

    #[test]
    fn persists_atomically_and_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.json");
        assert_eq!(Store::load(&path).unwrap(), None, "a missing file is an empty start");
        let mut store = Store::new();
        store.projects.insert("p", "123456789012");
        store.put("sm", "projects/123456789012/secrets/a", json!({"labels": {"a": "b"}}), json!({"next": 2}));
        write_atomic(&path, &store.to_bytes()).unwrap();
        let loaded = Store::load(&path).unwrap().unwrap();
        assert_eq!(
            loaded.get("sm", "projects/123456789012/secrets/a"),
            store.get("sm", "projects/123456789012/secrets/a")
        );
        assert_eq!(loaded.generation(), store.generation());
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
    }

    #[test]
    fn a_corrupt_data_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.json");
        std::fs::write(&path, "{not json").unwrap();
        let err = Store::load(&path).unwrap_err().to_string();
        assert!(err.contains("not valid") && err.contains("delete it"), "{err}");
        std::fs::write(&path, "  \n").unwrap();
        assert_eq!(Store::load(&path).unwrap(), None, "an empty file is an empty start");
    }
}
