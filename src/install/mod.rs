//! `cairn init`: installs the stack's remote modules (git, archives, registries) into the
//! per-stack cache and writes the lock file (`lang::module_lock`). The loader asks this
//! installer for each remote call's directory, so modules that fetched modules call are
//! installed too, and relative calls inside a package resolve within it.
//!
//! A call whose lock entry still matches its configuration keeps its locked package: its cache
//! is reused when it hashes to the lock, fetched again (the pinned commit or archive) when it
//! is missing or modified, and refused if what arrives no longer hashes to the lock. `upgrade`
//! resolves every call afresh (newest allowed registry version, the ref's current commit).

mod fetch;

use std::path::{Path, PathBuf};

pub use fetch::INSECURE_HOSTS_ENV;

use crate::lang::config::Config;
use crate::lang::diag::Diagnostic;
use crate::lang::load::LoadError;
use crate::lang::module_lock::{
    self, cache_dir, module_dir, tree_files, tree_hash, verify_cached, Lock, LockedModule, Manifest, ModuleProblem,
    ModuleRequest, ModuleResolver, ResolvedModule,
};
use crate::lang::module_source::{ModuleSource, VersionConstraint};

/// What `cairn init` did, one line per remote module call.
#[derive(Debug, Default)]
pub struct InstallReport {
    pub lines: Vec<String>,
    /// The lock file was written with every remote call resolved.
    pub lock_written: bool,
}

/// Installs every remote module of the stack at `stack_dir` and writes the lock file; the
/// configuration is loaded along the way (its errors, the installer's among them, are
/// returned). Runs on a thread of its own, with its own runtime for HTTP, so it may be called
/// from synchronous and asynchronous code alike.
pub fn install(stack_dir: &Path, upgrade: bool) -> Result<(Config, InstallReport), (Box<LoadError>, InstallReport)> {
    std::thread::scope(|s| {
        s.spawn(|| install_here(stack_dir, upgrade)).join().unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
}

fn install_here(stack_dir: &Path, upgrade: bool) -> Result<(Config, InstallReport), (Box<LoadError>, InstallReport)> {
    let mut installer = Installer {
        stack_dir: stack_dir.to_path_buf(),
        upgrade,
        old: Lock::read(stack_dir),
        new: Lock::default(),
        manifest: module_lock::read_manifest(stack_dir),
        http: None,
        report: InstallReport::default(),
        failed: false,
    };
    let loaded = crate::lang::load::load_with(stack_dir, &mut installer);
    {
        if let Err(e) = installer.save() {
            let mut report = installer.report;
            report.lines.push(format!("Error: {e}"));
            let err = match loaded {
                Err(e) => e,
                Ok(c) => Box::new(LoadError {
                    sources: c.sources,
                    diagnostics: crate::lang::diag::Diagnostics(vec![Diagnostic::error(e)]),
                    backend: c.backend,
                }),
            };
            return Err((err, report));
        }
    }
    match loaded {
        Ok(c) => Ok((c, installer.report)),
        Err(e) => Err((e, installer.report)),
    }
}

struct Installer {
    stack_dir: PathBuf,
    upgrade: bool,
    old: Result<Option<Lock>, String>,
    new: Lock,
    manifest: Manifest,
    /// Started on the first download: a stack whose modules are all cached needs no runtime.
    http: Option<fetch::Http>,
    report: InstallReport,
    /// Some call could not be installed: the lock file is left as it was.
    failed: bool,
}

/// Why a call could not be installed, and whether it is about the `version` argument.
struct Failure {
    at_version: bool,
    summary: String,
    detail: String,
    help: Option<String>,
}

impl Failure {
    fn source(summary: impl Into<String>, detail: impl Into<String>) -> Self {
        Failure { at_version: false, summary: summary.into(), detail: detail.into(), help: None }
    }
}

impl Installer {
    fn http(&mut self) -> Result<&fetch::Http, String> {
        if self.http.is_none() {
            self.http = Some(fetch::Http::new()?);
        }
        Ok(self.http.as_ref().expect("just set"))
    }

    fn locked(&self, request: &ModuleRequest) -> Option<LockedModule> {
        if self.upgrade {
            return None;
        }
        let lock = self.old.as_ref().ok()?.as_ref()?;
        lock.modules.get(&request.key).filter(|l| l.matches(request.source_text, request.version_text)).cloned()
    }

    fn install(&mut self, request: &ModuleRequest) -> Result<ResolvedModule, Failure> {
        let key = request.key.clone();
        if let Some(locked) = self.locked(request) {
            if let Ok(root) = verify_cached(&self.stack_dir, &key, &locked) {
                self.report.lines.push(format!("- {key}: {} (cached, {})", request.source_text, describe(&locked)));
                self.new.modules.insert(key, locked.clone());
                return Ok(ResolvedModule { dir: module_dir(&root, locked.subdir.as_deref()), package_root: root });
            }
            // The lock pins what to fetch; what arrives must be what was locked.
            let (package, _) =
                fetch::package_of(&locked.package).map_err(|e| Failure::source("Invalid module lock entry", e))?;
            let http = self.http().map_err(|e| Failure::source("Module download failed", e))?;
            let fetched = fetch::fetch_package(http, &package)
                .map_err(|e| Failure::source(format!("Can't fetch module \"{key}\""), e))?;
            let files = tree_files(fetched.dir.path())
                .map_err(|e| Failure::source("Can't read the fetched module", e.to_string()))?;
            let hash = tree_hash(&files);
            if hash != locked.hash {
                return Err(Failure {
                    at_version: false,
                    summary: format!("Module \"{key}\" does not match its locked hash"),
                    detail: format!(
                        "{} was fetched again for the lock file, but its files hash to {hash}, and {} locks {}. The package changed at its source (a moved tag, a republished archive).",
                        locked.package,
                        module_lock::LOCK_FILE,
                        locked.hash
                    ),
                    help: Some("if the change is expected, run cairn init -upgrade to lock what the source serves now".into()),
                });
            }
            self.report.lines.push(format!("- {key}: {} (fetched again, {})", request.source_text, describe(&locked)));
            return self.store(key, fetched, files, locked);
        }
        let (package, subdir, version) = match request.source {
            ModuleSource::Remote(r) => (r.package.clone(), r.subdir.clone(), None),
            ModuleSource::Registry(m) => self.resolve_registry(m, request.version)?,
            ModuleSource::Local(_) => unreachable!("the loader resolves local sources itself"),
        };
        let http = self.http().map_err(|e| Failure::source("Module download failed", e))?;
        let fetched = fetch::fetch_package(http, &package)
            .map_err(|e| Failure::source(format!("Can't fetch module \"{key}\" from {package}"), e))?;
        let files = tree_files(fetched.dir.path())
            .map_err(|e| Failure::source("Can't read the fetched module", e.to_string()))?;
        let locked = LockedModule {
            source: request.source_text.to_string(),
            version_constraint: request.version_text.map(str::to_string),
            version,
            package: fetched.pinned.clone(),
            subdir,
            hash: tree_hash(&files),
        };
        self.report.lines.push(format!("- {key}: {} ({})", request.source_text, describe(&locked)));
        self.store(key, fetched, files, locked)
    }

    /// Picks the newest version the constraint allows (the newest release without one) and
    /// asks the registry where that version's package is.
    fn resolve_registry(
        &mut self,
        m: &crate::lang::module_source::RegistrySource,
        constraint: Option<&VersionConstraint>,
    ) -> Result<(crate::lang::module_source::Package, Option<String>, Option<String>), Failure> {
        let http = self.http().map_err(|e| Failure::source("Module download failed", e))?;
        let (base, mut versions) =
            http.registry_versions(m).map_err(|e| Failure::source(format!("Can't list the versions of {m}"), e))?;
        versions.sort();
        let chosen = match constraint {
            Some(c) => c.best(&versions),
            None => versions.iter().filter(|v| v.pre.is_empty()).max(),
        };
        let Some(chosen) = chosen.cloned() else {
            let listed: Vec<String> = versions.iter().map(ToString::to_string).collect();
            return Err(Failure {
                at_version: constraint.is_some(),
                summary: format!("No version of {m} matches"),
                detail: format!(
                    "The registry has {}.",
                    if listed.is_empty() {
                        "no versions of this module".to_string()
                    } else {
                        format!("versions {}", listed.join(", "))
                    }
                ),
                help: Some("change the version constraint to allow one of the available versions".into()),
            });
        };
        let location = http
            .registry_location(&base, m, &chosen.to_string())
            .map_err(|e| Failure::source(format!("Can't download {m} {chosen}"), e))?;
        let (package, sub) = fetch::package_of(&location).map_err(|e| {
            Failure::source(
                format!("Can't download {m} {chosen}"),
                format!("The registry's download location is not usable: {e}"),
            )
        })?;
        let subdir = match (sub, &m.subdir) {
            (Some(a), Some(b)) => Some(format!("{a}/{b}")),
            (a, b) => a.or_else(|| b.clone()),
        };
        Ok((package, subdir, Some(chosen.to_string())))
    }

    /// Moves a fetched package into the cache (replacing what was there) and records it.
    fn store(
        &mut self,
        key: String,
        fetched: fetch::Fetched,
        files: std::collections::BTreeMap<String, String>,
        locked: LockedModule,
    ) -> Result<ResolvedModule, Failure> {
        let root = cache_dir(&self.stack_dir, &key);
        let place =
            |e: std::io::Error| Failure::source("Can't write the module cache", format!("{}: {e}", root.display()));
        if root.exists() {
            std::fs::remove_dir_all(&root).map_err(place)?;
        }
        std::fs::create_dir_all(root.parent().unwrap_or(&root)).map_err(place)?;
        move_dir(fetched.dir.path(), &root).map_err(place)?;
        self.manifest.insert(key.clone(), files);
        let dir = module_dir(&root, locked.subdir.as_deref());
        self.new.modules.insert(key, locked);
        Ok(ResolvedModule { dir, package_root: root })
    }

    /// Writes the lock file and the cache's manifest, and removes cached packages no call
    /// uses any more. After a failure, the calls that were installed replace their entries
    /// and the others keep theirs (their cached packages are untouched), so that lock and
    /// cache still agree.
    fn save(&mut self) -> Result<(), String> {
        let had_lock = matches!(self.old, Ok(Some(_)));
        if self.new.modules.is_empty() && !had_lock {
            return Ok(());
        }
        if self.failed {
            if let Ok(Some(old)) = &self.old {
                for (k, v) in &old.modules {
                    self.new.modules.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
        }
        let lock_path = Lock::path(&self.stack_dir);
        write_atomically(&lock_path, self.new.to_json().as_bytes())?;
        let cache = self.stack_dir.join(module_lock::CACHE_DIR);
        self.manifest.retain(|k, _| self.new.modules.contains_key(k));
        if cache.is_dir() {
            if let Ok(entries) = std::fs::read_dir(&cache) {
                for e in entries.flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    if !self.failed && e.path().is_dir() && !self.new.modules.contains_key(&name) {
                        let _ = std::fs::remove_dir_all(e.path());
                    }
                }
            }
            let manifest = serde_json::to_string_pretty(&self.manifest).expect("a manifest serializes");
            write_atomically(&cache.join(module_lock::MANIFEST), manifest.as_bytes())?;
        }
        self.report.lock_written = !self.failed;
        Ok(())
    }
}

impl ModuleResolver for Installer {
    fn resolve(&mut self, request: &ModuleRequest) -> Result<ResolvedModule, ModuleProblem> {
        self.install(request).map_err(|f| {
            self.failed = true;
            let mut d = Diagnostic::error(f.summary).detail(f.detail);
            if let Some(h) = f.help {
                d = d.help(h);
            }
            ModuleProblem { at_version: f.at_version, diagnostic: d }
        })
    }
}

fn describe(l: &LockedModule) -> String {
    match &l.version {
        Some(v) => format!("version {v}, {}", l.hash),
        None => format!("{}, {}", l.package, l.hash),
    }
}

/// Written beside and renamed into place, so that a reader sees the old file or the new one;
/// with ordinary permissions (the lock file is committed, and holds no secret).
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("can't write {}: {e}", path.display());
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    std::fs::write(&tmp, bytes).map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)
}

/// Renames a directory, or copies it when the temporary directory is on another file system.
fn move_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    if std::fs::rename(from, to).is_ok() {
        return Ok(());
    }
    copy_dir(from, to)
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let target = to.join(e.file_name());
        let kind = e.file_type()?;
        if kind.is_dir() {
            copy_dir(&e.path(), &target)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(e.path())?, &target)?;
        } else {
            std::fs::copy(e.path(), &target)?;
        }
    }
    Ok(())
}
