//! `--changed-since REF`: the files that differ from a git ref, and the stacks they touch.
//!
//! The changed files are those of `git diff REF...HEAD` (what a pull request changes: from
//! the merge base of REF and HEAD, so commits that landed on REF meanwhile do not count),
//! plus uncommitted changes (staged, unstaged and untracked files), so that a run before
//! committing selects what the same run in CI will after. Renames count at both paths.
//! Through the `git` command, as module installation fetches git sources.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{normalize, pathdiff, skipped_dir, StackSet};
use crate::ops::OpError;

/// Runs git in `dir`; stdout on success, else git's own message.
fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run git ({e}); --changed-since needs the git command"))?;
    if out.status.success() {
        return Ok(out.stdout);
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let message = stderr.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("\n");
    Err(if message.is_empty() { out.status.to_string() } else { message })
}

/// NUL-separated paths (`-z`) as paths relative to the repository's top.
fn paths(out: &[u8]) -> impl Iterator<Item = PathBuf> + '_ {
    out.split(|&b| b == 0).filter(|p| !p.is_empty()).map(|p| PathBuf::from(String::from_utf8_lossy(p).as_ref()))
}

/// The files changed since `reference`, relative to `root` (a file outside it starts with
/// `..`).
pub fn changed_files(root: &Path, reference: &str) -> Result<BTreeSet<PathBuf>, OpError> {
    let fail = |what: String| OpError::msg(format!("--changed-since {reference}: {what}"));
    let prefix = git(root, &["rev-parse", "--show-prefix"])
        .map_err(|e| fail(format!("{} is not inside a git repository ({e})", root.display())))?;
    let prefix = PathBuf::from(String::from_utf8_lossy(&prefix).trim());
    let commit = format!("{reference}^{{commit}}");
    if git(root, &["rev-parse", "--verify", "--quiet", "--end-of-options", &commit]).is_err() {
        return Err(fail(format!(
            "no such commit in the git repository of {} (a branch, tag or commit; in CI, fetch it first, e.g. actions/checkout with fetch-depth: 0)",
            root.display()
        )));
    }
    let range = format!("{reference}...HEAD");
    let committed = git(root, &["diff", "--name-only", "--no-renames", "--no-relative", "-z", &range, "--"])
        .map_err(|e| fail(format!("git diff {range} failed: {e}")))?;
    let uncommitted = git(root, &["diff", "--name-only", "--no-renames", "--no-relative", "-z", "HEAD", "--"])
        .map_err(|e| fail(format!("git diff HEAD failed: {e}")))?;
    let untracked = git(root, &["ls-files", "--others", "--exclude-standard", "--full-name", "-z"])
        .map_err(|e| fail(format!("git ls-files failed: {e}")))?;
    Ok(paths(&committed)
        .chain(paths(&uncommitted))
        .chain(paths(&untracked))
        .map(|p| pathdiff(&normalize(&p), &normalize(&prefix)))
        .collect())
}

/// Whether `file` lies in `dir` (both relative to the root, lexically normal), not in one of
/// the directories discovery skips (state, hidden ones).
fn lies_in(file: &Path, dir: &Path) -> bool {
    let below = if dir == Path::new(".") {
        if file.starts_with("..") {
            return false;
        }
        file
    } else {
        match file.strip_prefix(dir) {
            Ok(rest) => rest,
            Err(_) => return false,
        }
    };
    // The last component is the file itself; only the directories above it are skipped ones.
    let dirs: Vec<_> = below.components().collect();
    dirs.iter().take(dirs.len().saturating_sub(1)).all(|c| !skipped_dir(c.as_os_str()))
}

/// The stacks a set of changed files touches: a file belongs to the deepest stack or local
/// module directory holding it; a module's change touches every stack that calls it, directly
/// or through other modules.
pub fn touched_stacks(set: &StackSet, changed: &BTreeSet<PathBuf>) -> BTreeSet<usize> {
    let modules: BTreeSet<&PathBuf> = set.stacks.iter().flat_map(|s| s.modules.iter()).collect();
    let owners: Vec<&Path> =
        set.stacks.iter().map(|s| s.path.as_path()).chain(modules.iter().map(|m| m.as_path())).collect();
    let mut touched = BTreeSet::new();
    for file in changed {
        let owner = owners.iter().filter(|o| lies_in(file, o)).max_by_key(|o| {
            if **o == Path::new(".") {
                0
            } else {
                o.components().count()
            }
        });
        let Some(owner) = owner else { continue };
        for (i, s) in set.stacks.iter().enumerate() {
            if s.path == *owner || s.modules.contains(*owner) {
                touched.insert(i);
            }
        }
    }
    touched
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_lies_in_its_directory_but_not_in_skipped_ones() {
        assert!(lies_in(Path::new("a/main.tf"), Path::new("a")));
        assert!(lies_in(Path::new("a/files/x.sh"), Path::new("a")));
        assert!(!lies_in(Path::new("ab/main.tf"), Path::new("a")));
        assert!(!lies_in(Path::new("a/state/x"), Path::new("a")));
        assert!(!lies_in(Path::new("a/.cairn/x"), Path::new("a")));
        assert!(lies_in(Path::new("main.tf"), Path::new(".")));
        assert!(!lies_in(Path::new("../modules/x/main.tf"), Path::new(".")));
        assert!(lies_in(Path::new("../modules/x/main.tf"), Path::new("../modules/x")));
    }
}
