//! Workspaces (Terraform's CLI workspaces): several states for one stack, one of them selected.
//!
//! The selection is remembered per stack in `.cairn/environment` (Terraform's
//! `.terraform/environment`) and overridden by `TF_WORKSPACE`. Where each workspace keeps its
//! state is the backend's business ([`super::backend::Workspaces`]): the local backend keeps
//! `default` in its state directory and every other workspace in `state.d/NAME/` (Terraform's
//! `terraform.tfstate.d/NAME/`); the gcs backend names its objects after the workspace
//! (`PREFIX/NAME.state.json`, as Terraform's keeps `PREFIX/NAME.tfstate`).

use std::path::{Path, PathBuf};

use super::backend::Workspaces;
use super::StateError;

/// The workspace every stack has, which cannot be deleted.
pub const DEFAULT: &str = "default";
/// Selects the workspace for one run, over the remembered selection (Terraform's variable).
pub const ENV_VAR: &str = "TF_WORKSPACE";
/// Where the selected workspace is remembered, relative to the stack directory.
pub const SELECTED_FILE: &str = ".cairn/environment";

#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error(
        "The workspace name \"{0}\" is not allowed. The name must contain only URL safe characters, and no path separators."
    )]
    InvalidName(String),
    #[error("Invalid workspace name set using {ENV_VAR}: \"{0}\" (a name contains only URL safe characters, and no path separators)")]
    InvalidEnvName(String),
    #[error("{path} names the workspace \"{name}\", which is not a valid workspace name; select another with cairn workspace select NAME")]
    InvalidSelection { path: PathBuf, name: String },
    #[error("cannot {what} {path}: {reason}")]
    Io { what: &'static str, path: PathBuf, reason: String },
}

/// Terraform's rule (`validWorkspaceName`): the name is its own URL path escape, so it is safe
/// as a file name and an object name. `.` and `..` pass that rule but would name a directory
/// other than the workspace's own; the empty name names nothing.
pub fn valid_name(name: &str) -> bool {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-_.~$&+:=@".contains(c);
    !name.is_empty() && name != "." && name != ".." && name.chars().all(allowed)
}

/// The workspace a command in `stack_dir` works in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selected {
    pub name: String,
    /// Chosen by `TF_WORKSPACE`, not by `cairn workspace select`.
    pub overridden: bool,
}

/// `TF_WORKSPACE` if set, else the remembered selection, else `default`.
pub fn selected(stack_dir: &Path) -> Result<Selected, WorkspaceError> {
    if let Some(name) = std::env::var(ENV_VAR).ok().filter(|v| !v.is_empty()) {
        if !valid_name(&name) {
            return Err(WorkspaceError::InvalidEnvName(name));
        }
        return Ok(Selected { name, overridden: true });
    }
    let path = stack_dir.join(SELECTED_FILE);
    let name = match std::fs::read_to_string(&path) {
        Ok(text) => text.trim().to_string(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => DEFAULT.to_string(),
        Err(e) => return Err(WorkspaceError::Io { what: "read", path, reason: e.to_string() }),
    };
    if name.is_empty() {
        return Ok(Selected { name: DEFAULT.to_string(), overridden: false });
    }
    if !valid_name(&name) {
        return Err(WorkspaceError::InvalidSelection { path, name });
    }
    Ok(Selected { name, overridden: false })
}

/// Remembers `name` as the stack's selected workspace.
pub fn remember(stack_dir: &Path, name: &str) -> Result<(), WorkspaceError> {
    if !valid_name(name) {
        return Err(WorkspaceError::InvalidName(name.to_string()));
    }
    let path = stack_dir.join(SELECTED_FILE);
    let io = |what, e: std::io::Error| WorkspaceError::Io { what, path: path.clone(), reason: e.to_string() };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| io("create the directory of", e))?;
    }
    std::fs::write(&path, format!("{name}\n")).map_err(|e| io("write", e))
}

/// The workspaces that have a state, `default` first (it always exists), then by name.
pub async fn list(workspaces: &Workspaces) -> Result<Vec<String>, StateError> {
    let mut names = match workspaces {
        Workspaces::Local { others, .. } => match std::fs::read_dir(others) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(StateError::Io { location: others.display().to_string(), reason: e.to_string() }),
            Ok(entries) => entries
                .flatten()
                .filter(|e| e.path().is_dir())
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .filter(|n| valid_name(n))
                .collect(),
        },
        Workspaces::Gcs(settings) => super::gcs::GcsStore::new(settings.clone()).workspace_names().await?,
    };
    names.retain(|n| n != DEFAULT);
    names.sort();
    names.dedup();
    names.insert(0, DEFAULT.to_string());
    Ok(names)
}

/// Removes a workspace's state and everything kept with it (history, journal, key record).
/// The caller has checked that it may: not `default`, not the selected one, empty or forced.
pub async fn delete(workspaces: &Workspaces, name: &str) -> Result<(), StateError> {
    if name == DEFAULT || !valid_name(name) {
        return Err(StateError::Io {
            location: format!("workspace \"{name}\""),
            reason: "the default workspace cannot be deleted".into(),
        });
    }
    match workspaces {
        Workspaces::Local { others, .. } => {
            let dir = others.join(name);
            std::fs::remove_dir_all(&dir)
                .map_err(|e| StateError::Io { location: dir.display().to_string(), reason: e.to_string() })
        }
        Workspaces::Gcs(settings) => super::gcs::GcsStore::new(settings.for_workspace(name)).delete_workspace().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_their_own_url_path_escape() {
        for ok in ["default", "dev", "prod-eu_1", "a.b", "v1~x", "team@x", "a+b", "k=v:1"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", ".", "..", "a/b", "a b", "a?b", "a;b", "a,b", "a%b", "ü", "a\\b", "a#b"] {
            assert!(!valid_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn the_remembered_selection_is_read_back_and_defaults_to_default() {
        // TF_WORKSPACE would win over the file: this test leaves it to the CLI tests.
        if std::env::var_os(ENV_VAR).is_some() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(selected(dir.path()).unwrap(), Selected { name: DEFAULT.into(), overridden: false });
        remember(dir.path(), "staging").unwrap();
        assert_eq!(selected(dir.path()).unwrap().name, "staging");
        assert!(matches!(remember(dir.path(), "a/b"), Err(WorkspaceError::InvalidName(_))));
        std::fs::write(dir.path().join(SELECTED_FILE), "../x\n").unwrap();
        assert!(matches!(selected(dir.path()), Err(WorkspaceError::InvalidSelection { .. })));
    }
}
