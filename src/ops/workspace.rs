//! `cairn workspace list|show|new|select|delete`: Terraform's workspace commands, with its
//! refusals and messages (internal/command/workspace_*.go).

use std::path::Path;
use std::time::Duration;

use super::{lock, open_backend, selected_workspace, OpError, Workspaces};
use crate::lang::config::ResourceMode;
use crate::state::workspace::{self as ws, Selected, DEFAULT};
use crate::state::State;

/// The stack's workspaces, from its backend block; like the state commands, these work on a
/// configuration with errors as long as its backend block can be read.
fn stack_workspaces(dir: &Path) -> Result<Workspaces, OpError> {
    if !dir.is_dir() {
        return Err(OpError::msg(format!(
            "stack directory {} does not exist (pass the directory holding your .tf/.hcl files with -C DIR)",
            dir.display()
        )));
    }
    match crate::lang::load::load(dir) {
        Ok(config) => super::workspaces(dir, config.backend.as_ref(), &config.sources),
        Err(e) => super::workspaces(dir, e.backend.as_ref(), &e.sources),
    }
}

fn invalid_name(name: &str) -> OpError {
    OpError::msg(ws::WorkspaceError::InvalidName(name.to_string()).to_string())
}

fn does_not_exist(name: &str) -> OpError {
    OpError::msg(format!(
        "Workspace \"{name}\" doesn't exist.\n\nYou can create this workspace with the \"new\" subcommand or include the \"-or-create\" flag with the \"select\" subcommand."
    ))
}

/// Every workspace with a state (`default` first), and the selected one.
pub struct WorkspaceList {
    pub names: Vec<String>,
    pub selected: Selected,
}

pub async fn workspace_list(dir: &Path) -> Result<WorkspaceList, OpError> {
    let all = stack_workspaces(dir)?;
    let selected = selected_workspace(dir)?;
    let mut names = ws::list(&all).await?;
    // TF_WORKSPACE may name a workspace with no state yet: it is the one commands use.
    if !names.contains(&selected.name) {
        names.push(selected.name.clone());
    }
    Ok(WorkspaceList { names, selected })
}

pub fn workspace_show(dir: &Path) -> Result<Selected, OpError> {
    selected_workspace(dir)
}

/// Creates a workspace's state (empty), under its lock, unless another run made it meanwhile.
async fn create(all: &Workspaces, name: &str, lock_timeout: Duration) -> Result<(), OpError> {
    let store = open_backend(&all.backend(name))?;
    let _guard = lock(&store, "workspace new", lock_timeout).await?;
    if store.load().await?.is_none() {
        store.write(&State::new(), "workspace new").await?;
    }
    Ok(())
}

/// `workspace new NAME`: creates the workspace and selects it.
pub async fn workspace_new(dir: &Path, name: &str, lock_timeout: Duration) -> Result<(), OpError> {
    if !ws::valid_name(name) {
        return Err(invalid_name(name));
    }
    let selected = selected_workspace(dir)?;
    if selected.overridden && selected.name != name {
        return Err(OpError::msg(
            "The workspace is currently overridden using the TF_WORKSPACE environment variable. You cannot create a new workspace when using this setting.\n\nTo create a new workspace, either unset this environment variable or update it to match the workspace name you are trying to create, and then run this command again.",
        ));
    }
    let all = stack_workspaces(dir)?;
    if ws::list(&all).await?.iter().any(|n| n == name) {
        return Err(OpError::msg(format!("Workspace \"{name}\" already exists")));
    }
    create(&all, name, lock_timeout).await?;
    ws::remember(dir, name).map_err(|e| OpError::msg(e.to_string()))
}

/// What `workspace select` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Selection {
    /// The workspace was selected already: nothing changed.
    Already,
    Switched,
    /// `-or-create` made it.
    Created,
}

pub async fn workspace_select(
    dir: &Path,
    name: &str,
    or_create: bool,
    lock_timeout: Duration,
) -> Result<Selection, OpError> {
    let selected = selected_workspace(dir)?;
    if selected.overridden {
        return Err(OpError::msg(
            "The selected workspace is currently overridden using the TF_WORKSPACE environment variable.\n\nTo select a new workspace, either update this environment variable or unset it and then run this command again.",
        ));
    }
    if !ws::valid_name(name) {
        return Err(invalid_name(name));
    }
    let all = stack_workspaces(dir)?;
    let exists = ws::list(&all).await?.iter().any(|n| n == name);
    if name == selected.name {
        return Ok(Selection::Already);
    }
    let outcome = match (exists, or_create) {
        (true, _) => Selection::Switched,
        (false, true) => {
            create(&all, name, lock_timeout).await?;
            Selection::Created
        }
        (false, false) => return Err(does_not_exist(name)),
    };
    ws::remember(dir, name).map_err(|e| OpError::msg(e.to_string()))?;
    Ok(outcome)
}

/// `workspace delete NAME`; returns the resource instances the deleted state tracked (only
/// with `force`).
pub async fn workspace_delete(
    dir: &Path,
    name: &str,
    force: bool,
    take_lock: bool,
    lock_timeout: Duration,
) -> Result<Vec<String>, OpError> {
    let all = stack_workspaces(dir)?;
    if !ws::list(&all).await?.iter().any(|n| n == name) {
        return Err(does_not_exist(name));
    }
    let selected = selected_workspace(dir)?;
    if name == selected.name {
        return Err(OpError::msg(format!(
            "Workspace \"{name}\" is your active workspace.\n\nYou cannot delete the currently active workspace. Please switch to another workspace and try again."
        )));
    }
    if name == DEFAULT {
        return Err(OpError::msg(
            "can't delete default state: every stack has the \"default\" workspace, and it cannot be deleted",
        ));
    }
    let tracked = {
        let store = open_backend(&all.backend(name))?;
        let _guard = match take_lock {
            true => Some(lock(&store, "workspace delete", lock_timeout).await?),
            false => None,
        };
        let state = store.load().await?.unwrap_or_default();
        let tracked: Vec<String> = state
            .resources
            .keys()
            .filter(|a| a.resource.mode == ResourceMode::Managed)
            .map(|a| a.to_string())
            .collect();
        if !tracked.is_empty() && !force {
            let list: String = tracked.iter().map(|a| format!("\n  - {a}")).collect();
            return Err(OpError::msg(format!(
                "Workspace is not empty\n\nWorkspace \"{name}\" is currently tracking the following resource instances:{list}\n\nDeleting this workspace would cause Cairn to lose track of any associated remote objects, which would then require you to delete them manually outside of Cairn. You should destroy these objects with Cairn before deleting the workspace.\n\nIf you want to delete this workspace anyway, and have Cairn forget about these managed objects, use the -force option to disable this safety check."
            )));
        }
        // The lock and the store (a local one holds its directory open) go before the
        // deletion, as in Terraform, which cannot remove a locked local state on Windows.
        tracked
    };
    ws::delete(&all, name).await?;
    Ok(tracked)
}
