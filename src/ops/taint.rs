//! `cairn taint` / `cairn untaint`: mark (or unmark) one managed instance in state for
//! replacement; the planner plans a tainted instance as a replace ("is tainted, so must be
//! replaced").

use std::path::Path;
use std::time::Duration;

use super::*;
use crate::addr::InstanceAddr;
use crate::lang::config::ResourceMode;

/// What a taint or untaint did.
#[derive(Debug, PartialEq, Eq)]
pub enum TaintOutcome {
    Marked(InstanceAddr),
    /// Not in state, and `-allow-missing` said that is fine.
    Missing(InstanceAddr),
}

/// Sets `tainted` on one instance (`taint` when true, `untaint` when false), under the lock
/// unless `lock` is false.
pub async fn set_tainted(
    dir: &Path,
    addr: &str,
    tainted: bool,
    allow_missing: bool,
    lock_state: bool,
    lock_timeout: Duration,
) -> Result<TaintOutcome, OpError> {
    let target = super::plan::parse_instances(std::slice::from_ref(&addr.to_string()))
        .map_err(|e| OpError::msg(e.to_string().replace("--replace", if tainted { "taint" } else { "untaint" })))?
        .remove(0);
    if target.resource.mode == ResourceMode::Data {
        return Err(OpError::msg(format!(
            "Taint only applies to managed resources: {target} is a data resource, which is read anew on every plan"
        )));
    }
    let store = open_store_for_dir(dir)?;
    let operation = if tainted { "taint" } else { "untaint" };
    let _guard = if lock_state { Some(lock(&store, operation, lock_timeout).await?) } else { None };
    let mut state = store.load().await?.unwrap_or_default();
    let Some(instance) = state.resources.get_mut(&target) else {
        if allow_missing {
            return Ok(TaintOutcome::Missing(target));
        }
        let verb = if tainted { "marked as tainted" } else { "untainted" };
        return Err(OpError::msg(format!(
            "No such resource instance: {target} was not found in state, so it cannot be {verb} (`cairn state list` shows what is there)"
        )));
    };
    if !tainted && !instance.tainted {
        return Err(OpError::msg(format!(
            "Resource instance is not tainted: {target} is not currently tainted, and so it cannot be untainted"
        )));
    }
    if instance.deposed.is_some() {
        return Err(OpError::msg(format!(
            "{target} is a deposed object waiting for its delete (create_before_destroy): the next apply removes it"
        )));
    }
    if instance.tainted == tainted {
        // Already so: nothing to write, and saved plans stay valid.
        return Ok(TaintOutcome::Marked(target));
    }
    instance.tainted = tainted;
    state.serial += 1;
    store.write(&state, &format!("{operation} {target}")).await?;
    Ok(TaintOutcome::Marked(target))
}
