//! Remote modules as the loader sees them: the lock file beside the stack
//! (`.cairn.modules.lock.json`), the per-stack cache (`.cairn/modules/`), the tree hash that
//! ties one to the other, and [`LockedModules`], the resolver every load uses. It only reads
//! the stack's files; fetching is `crate::install`'s, which implements the same
//! [`ModuleResolver`] for `cairn init`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::diag::Diagnostic;
use super::module_source::{ModuleSource, VersionConstraint};

/// The lock file's name, beside the stack's .tf files (commit it).
pub const LOCK_FILE: &str = ".cairn.modules.lock.json";
/// The cache of fetched packages, one directory per module call (`.cairn/modules/KEY`).
pub const CACHE_DIR: &str = ".cairn/modules";
/// The cache's record of each package's files and their digests: it only serves to name the
/// file that differs when a package no longer matches its locked hash.
pub const MANIFEST: &str = "modules.json";
const FORMAT: u32 = 1;

/// The lock file: per module call (key: the call names joined by `.`, like Terraform's
/// `modules.json`), what was configured and what it resolved to. Sorted, so that it diffs well.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Lock {
    pub format: u32,
    pub modules: BTreeMap<String, LockedModule>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct LockedModule {
    /// The `source` argument as written.
    pub source: String,
    /// The `version` argument as written (registry modules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_constraint: Option<String>,
    /// The registry version chosen (registry modules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The package fetched, pinned: `git::URL?ref=COMMIT` or the archive's URL.
    pub package: String,
    /// The module's directory inside the package, if not its root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subdir: Option<String>,
    /// [`tree_hash`] of the fetched package.
    pub hash: String,
}

impl LockedModule {
    pub fn matches(&self, source: &str, version: Option<&str>) -> bool {
        self.source == source && self.version_constraint.as_deref() == version
    }
}

impl Lock {
    pub fn path(stack_dir: &Path) -> PathBuf {
        stack_dir.join(LOCK_FILE)
    }

    /// `Ok(None)` when the stack has no lock file yet.
    pub fn read(stack_dir: &Path) -> Result<Option<Lock>, String> {
        let path = Lock::path(stack_dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("can't read {}: {e}", path.display())),
        };
        let lock: Lock =
            serde_json::from_str(&text).map_err(|e| format!("{} is not a module lock file: {e}", path.display()))?;
        if lock.format != FORMAT {
            return Err(format!("{} has format {}, which this Cairn does not read", path.display(), lock.format));
        }
        Ok(Some(lock))
    }

    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(&Lock { format: FORMAT, modules: self.modules.clone() })
            .expect("a lock serializes");
        text.push('\n');
        text
    }
}

/// Each package's files and their SHA-256, as fetched (see [`MANIFEST`]).
pub type Manifest = BTreeMap<String, BTreeMap<String, String>>;

pub fn read_manifest(stack_dir: &Path) -> Manifest {
    std::fs::read(stack_dir.join(CACHE_DIR).join(MANIFEST))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// A package's files (relative paths with `/`, sorted, `.git` left out) and each one's SHA-256
/// in hex. Symbolic links count by their target path, so a link can't hide what it points to.
pub fn tree_files(root: &Path) -> std::io::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_name() == ".git" {
                continue;
            }
            let rel = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().replace('\\', "/");
            let kind = entry.file_type()?;
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_symlink() {
                let target = std::fs::read_link(&path)?;
                let digest = Sha256::digest(format!("symlink:{}", target.to_string_lossy()).as_bytes());
                out.insert(rel, hex::encode(digest));
            } else {
                out.insert(rel, hex::encode(Sha256::digest(std::fs::read(&path)?)));
            }
        }
    }
    Ok(out)
}

/// The Go modules "h1:" directory hash (golang.org/x/mod/sumdb/dirhash, which Terraform's
/// provider lock also uses): SHA-256 over one line `HEX  PATH\n` per file, sorted by path,
/// in base64.
pub fn tree_hash(files: &BTreeMap<String, String>) -> String {
    use base64::Engine as _;
    let mut h = Sha256::new();
    for (path, digest) in files {
        h.update(format!("{digest}  {path}\n").as_bytes());
    }
    format!("h1:{}", base64::engine::general_purpose::STANDARD.encode(h.finalize()))
}

/// The first difference between what was fetched and what is there now, for a message.
pub fn first_difference(expected: &BTreeMap<String, String>, actual: &BTreeMap<String, String>) -> Option<String> {
    for (path, digest) in actual {
        match expected.get(path) {
            None => return Some(format!("{path} was added")),
            Some(d) if d != digest => return Some(format!("{path} was changed")),
            _ => {}
        }
    }
    expected.keys().find(|p| !actual.contains_key(*p)).map(|p| format!("{p} was removed"))
}

/// One remote module call the loader needs a directory for.
pub struct ModuleRequest<'a> {
    /// The call's names from the root, joined by `.` (`app.network`).
    pub key: String,
    pub source_text: &'a str,
    pub source: &'a ModuleSource,
    pub version_text: Option<&'a str>,
    pub version: Option<&'a VersionConstraint>,
}

/// Where a remote module is: the package's root (a local call inside the package must stay in
/// it) and the module's directory.
pub struct ResolvedModule {
    pub package_root: PathBuf,
    pub dir: PathBuf,
}

/// A problem with a remote module, placed by the loader at the `source` argument, or at
/// `version` when `at_version`.
pub struct ModuleProblem {
    pub at_version: bool,
    pub diagnostic: Diagnostic,
}

impl ModuleProblem {
    pub fn source(d: Diagnostic) -> Self {
        ModuleProblem { at_version: false, diagnostic: d }
    }
}

/// Maps a remote module call to a directory. The loader asks; it never fetches.
pub trait ModuleResolver {
    fn resolve(&mut self, request: &ModuleRequest) -> Result<ResolvedModule, ModuleProblem>;
}

/// The package directory of a call in the cache.
pub fn cache_dir(stack_dir: &Path, key: &str) -> PathBuf {
    stack_dir.join(CACHE_DIR).join(key)
}

/// Why a cached package can't be used as locked.
pub enum CacheState {
    Missing,
    Differs(String),
}

/// Checks a cached package against its locked hash, naming the first file that differs when
/// the cache's manifest still knows it.
pub fn verify_cached(stack_dir: &Path, key: &str, locked: &LockedModule) -> Result<PathBuf, CacheState> {
    let root = cache_dir(stack_dir, key);
    if !root.is_dir() {
        return Err(CacheState::Missing);
    }
    let files = tree_files(&root).map_err(|e| CacheState::Differs(format!("it can't be read ({e})")))?;
    if tree_hash(&files) == locked.hash {
        return Ok(root);
    }
    let what = read_manifest(stack_dir)
        .get(key)
        .filter(|m| tree_hash(m) == locked.hash)
        .and_then(|m| first_difference(m, &files))
        .map(|d| format!("{}/{d}", root.display()))
        .unwrap_or_else(|| format!("the files under {}", root.display()));
    Err(CacheState::Differs(what))
}

/// The module's directory inside a package root.
pub fn module_dir(root: &Path, subdir: Option<&str>) -> PathBuf {
    match subdir {
        Some(s) => root.join(s),
        None => root.to_path_buf(),
    }
}

/// The resolver of every load: the lock and the cache, offline. A call missing from either is
/// recorded in `missing` (so that a command can install on first use); a call whose source or
/// version changed since it was locked, or whose cached files no longer hash to the lock, is
/// an error that asks for `cairn init`.
pub struct LockedModules {
    stack_dir: PathBuf,
    lock: Result<Option<Lock>, String>,
    /// Calls that are not installed yet (no lock file, no entry, or no cached package).
    pub missing: Vec<String>,
}

impl LockedModules {
    pub fn new(stack_dir: &Path) -> Self {
        LockedModules { stack_dir: stack_dir.to_path_buf(), lock: Lock::read(stack_dir), missing: Vec::new() }
    }
}

impl ModuleResolver for LockedModules {
    fn resolve(&mut self, request: &ModuleRequest) -> Result<ResolvedModule, ModuleProblem> {
        let not_installed = |why: String| {
            ModuleProblem::source(
                Diagnostic::error(format!("Module \"{}\" is not installed", request.key))
                    .detail(format!("{why}; its source \"{}\" is fetched by cairn init.", request.source_text))
                    .help("run cairn init in the stack directory (once fetched, modules work offline)"),
            )
        };
        let lock = match &self.lock {
            Err(e) => {
                return Err(ModuleProblem::source(
                    Diagnostic::error("Unreadable module lock file")
                        .detail(format!("{e}."))
                        .help("fix or delete the lock file, then run cairn init -upgrade"),
                ))
            }
            Ok(None) => {
                self.missing.push(request.key.clone());
                return Err(not_installed(format!("The stack has no {LOCK_FILE}")));
            }
            Ok(Some(lock)) => lock,
        };
        let Some(locked) = lock.modules.get(&request.key) else {
            self.missing.push(request.key.clone());
            return Err(not_installed(format!("{LOCK_FILE} has no entry for it")));
        };
        if !locked.matches(request.source_text, request.version_text) {
            let (at_version, was) = if locked.source != request.source_text {
                (false, format!("source \"{}\"", locked.source))
            } else {
                (true, format!("version \"{}\"", locked.version_constraint.as_deref().unwrap_or("(none)")))
            };
            return Err(ModuleProblem {
                at_version,
                diagnostic: Diagnostic::error(format!("Module \"{}\" changed since it was installed", request.key))
                    .detail(format!("{LOCK_FILE} locks it with {was}, which the configuration no longer says."))
                    .help("run cairn init to fetch the module as configured and update the lock file"),
            });
        }
        match verify_cached(&self.stack_dir, &request.key, locked) {
            Ok(root) => Ok(ResolvedModule { dir: module_dir(&root, locked.subdir.as_deref()), package_root: root }),
            Err(CacheState::Missing) => {
                self.missing.push(request.key.clone());
                Err(not_installed(format!("{} is missing", cache_dir(&self.stack_dir, &request.key).display())))
            }
            Err(CacheState::Differs(what)) => Err(ModuleProblem::source(
                Diagnostic::error(format!("Module \"{}\" does not match its locked hash", request.key))
                    .detail(format!(
                        "The cached copy was modified: {what}. {LOCK_FILE} locks {} with {}; Cairn does not use a module whose files differ from what was locked.",
                        locked.package, locked.hash
                    ))
                    .help("run cairn init to fetch the locked version again (edit a module in its own repository, not in .cairn/modules)"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_hash_is_gos_dirhash_h1() {
        // dirhash.Hash1 over one file "a" holding "x\n": the line is "HEX(sha256)  a\n".
        let mut files = BTreeMap::new();
        files.insert("a".to_string(), hex::encode(Sha256::digest(b"x\n")));
        let line = format!("{}  a\n", files["a"]);
        use base64::Engine as _;
        let expected =
            format!("h1:{}", base64::engine::general_purpose::STANDARD.encode(Sha256::digest(line.as_bytes())));
        assert_eq!(tree_hash(&files), expected);
    }

    #[test]
    fn differences_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("sub/.git")).unwrap();
        std::fs::write(dir.path().join("main.tf"), "a").unwrap();
        std::fs::write(dir.path().join("sub/x.tf"), "b").unwrap();
        std::fs::write(dir.path().join("sub/.git/HEAD"), "ignored").unwrap();
        let before = tree_files(dir.path()).unwrap();
        assert_eq!(before.keys().collect::<Vec<_>>(), ["main.tf", "sub/x.tf"]);
        std::fs::write(dir.path().join("sub/x.tf"), "c").unwrap();
        let after = tree_files(dir.path()).unwrap();
        assert_ne!(tree_hash(&before), tree_hash(&after));
        assert_eq!(first_difference(&before, &after).as_deref(), Some("sub/x.tf was changed"));
        std::fs::remove_file(dir.path().join("main.tf")).unwrap();
        let gone = tree_files(dir.path()).unwrap();
        assert_eq!(first_difference(&after, &gone).as_deref(), Some("main.tf was removed"));
    }
}
