use std::path::Path;

use super::*;
use crate::addr::{AnyAddr, InstanceAddr, InstanceKey};
use crate::state::{keyfile, HistoryEntry, LockInfo, ResourceInstanceState, State};

async fn load_required(store: &Arc<dyn StateStore>) -> Result<State, OpError> {
    store
        .load()
        .await?
        .ok_or_else(|| OpError::msg(format!("no state at {} (nothing has been applied yet)", store.location())))
}

fn matching(state: &State, addr: &AnyAddr) -> Vec<InstanceAddr> {
    state
        .resources
        .keys()
        .filter(|a| {
            addr.contains(a)
                || matches!(addr, AnyAddr::Instance(i) if i.key == InstanceKey::None && i.resource == a.resource)
        })
        .cloned()
        .collect()
}

fn parse(addr: &str) -> Result<AnyAddr, OpError> {
    addr.parse::<AnyAddr>().map_err(|e| OpError::msg(e.to_string()))
}

pub async fn state_list(dir: &Path, filter: Option<&str>) -> Result<Vec<InstanceAddr>, OpError> {
    let store = open_store_for_dir(dir)?;
    let state = store.load().await?.unwrap_or_default();
    let f = filter.map(parse).transpose()?;
    Ok(state.resources.keys().filter(|a| f.as_ref().is_none_or(|f| f.contains(a))).cloned().collect())
}

pub async fn state_show(dir: &Path, addr: &str) -> Result<(InstanceAddr, ResourceInstanceState), OpError> {
    let store = open_store_for_dir(dir)?;
    let state = load_required(&store).await?;
    let a = parse(addr)?;
    let hits = matching(&state, &a);
    match hits.as_slice() {
        [one] => Ok((one.clone(), state.resources[one].clone())),
        [] => {
            Err(OpError::msg(format!("no resource instance {addr} in state; `cairn state list` shows what is there")))
        }
        many => Err(OpError::msg(format!(
            "{addr} matches {} instances; name one: {}",
            many.len(),
            many.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// The whole state as JSON (secrets were never in it).
pub async fn state_pull(dir: &Path) -> Result<State, OpError> {
    let store = open_store_for_dir(dir)?;
    load_required(&store).await
}

pub async fn state_rm(
    dir: &Path,
    addrs: &[String],
    lock_timeout: std::time::Duration,
) -> Result<Vec<InstanceAddr>, OpError> {
    let store = open_store_for_dir(dir)?;
    let _g = lock(&store, "state rm", lock_timeout).await?;
    let mut state = load_required(&store).await?;
    let mut removed = Vec::new();
    for a in addrs {
        let hits = matching(&state, &parse(a)?);
        if hits.is_empty() {
            return Err(OpError::msg(format!("no resource instance {a} in state; nothing was removed")));
        }
        for h in hits {
            state.resources.remove(&h);
            removed.push(h);
        }
    }
    state.serial += 1;
    store.write(&state, "state rm").await?;
    Ok(removed)
}

pub async fn state_mv(
    dir: &Path,
    from: &str,
    to: &str,
    lock_timeout: std::time::Duration,
) -> Result<Vec<(InstanceAddr, InstanceAddr)>, OpError> {
    let store = open_store_for_dir(dir)?;
    let _g = lock(&store, "state mv", lock_timeout).await?;
    let mut state = load_required(&store).await?;
    let (f, t) = (parse(from)?, parse(to)?);
    let hits = matching(&state, &f);
    if hits.is_empty() {
        return Err(OpError::msg(format!("no resource instance {from} in state")));
    }
    let mut moves = Vec::new();
    for old in hits {
        let Some(new) = f.move_instance(&old, &t) else {
            return Err(OpError::msg(format!("cannot move {from} to {to}: move a module to a module, a resource to a resource, an instance to an instance")));
        };
        if old.resource.type_name != new.resource.type_name {
            return Err(OpError::msg(format!("cannot move {old} to {new}: the resource types differ")));
        }
        if state.resources.contains_key(&new) {
            return Err(OpError::msg(format!("cannot move {old} to {new}: {new} already exists in state")));
        }
        moves.push((old, new));
    }
    for (old, new) in &moves {
        if let Some(r) = state.resources.remove(old) {
            state.resources.insert(new.clone(), r);
        }
    }
    state.serial += 1;
    store.write(&state, "state mv").await?;
    Ok(moves)
}

pub async fn state_history(dir: &Path) -> Result<Vec<HistoryEntry>, OpError> {
    let store = open_store_for_dir(dir)?;
    Ok(store.history().await?)
}

/// Makes an earlier version current again (as a new serial, so history only moves forward).
pub async fn state_restore(dir: &Path, serial: u64, lock_timeout: std::time::Duration) -> Result<State, OpError> {
    let store = open_store_for_dir(dir)?;
    let _g = lock(&store, "state restore", lock_timeout).await?;
    let current = store.load().await?.unwrap_or_default();
    let mut old = store.version(serial).await?;
    old.serial = current.serial + 1;
    old.lineage = current.lineage.clone();
    store.write(&old, &format!("state restore {serial}")).await?;
    Ok(old)
}

pub async fn force_unlock(dir: &Path, id: &str) -> Result<LockInfo, OpError> {
    let store = open_store_for_dir(dir)?;
    Ok(store.force_unlock(id).await?)
}

/// `cairn import ADDR ID`: reads an existing object and records it in state.
pub async fn import(common: &Common, addr: &str, id: &str) -> Result<InstanceAddr, OpError> {
    let stack = load_stack(&common.dir)?;
    let store = open_store(&stack.config)?;
    let _g = lock_unless_disabled(&store, "import", common).await?;
    let target = match parse(addr)? {
        AnyAddr::Instance(i) => i,
        AnyAddr::Resource(r) => r.instance(InstanceKey::None),
        AnyAddr::Module(_) => {
            return Err(OpError::msg("import needs a resource address, e.g. google_secret_manager_secret.db"))
        }
    };
    let Some(block) = stack.config.resource(&target.resource) else {
        return Err(OpError::msg(format!(
            "{} has no resource block in the configuration; add `resource \"{}\" \"{}\" {{ … }}` first",
            target.resource, target.resource.type_name, target.resource.name
        )));
    };
    // The configuration the block selects: the import reads, and later plans manage, the
    // object through it.
    let provider = stack.config.provider_config_of(&target.resource.module, block);
    let rt = common
        .registry
        .resource_type_for(&block.type_name, &provider)
        .ok_or_else(|| OpError::msg(format!("unsupported resource type {}", block.type_name)))?;
    let mut state = store.load().await?.unwrap_or_default();
    if state.resources.contains_key(&target) {
        return Err(OpError::msg(format!(
            "{target} is already managed by Cairn; use `cairn state rm` first to import a different object"
        )));
    }
    let (variables, _) = root_variables(&stack.config, &common.vars)?;
    let providers = provider_configs(&stack.config, &variables)?;
    let cc = crate::providers::CallContext::new(providers.get(&provider).cloned().unwrap_or(Value::Null));
    let v = rt
        .import(&cc, id)
        .await
        .map_err(|e| OpError::msg(format!("cannot import {target} with id \"{id}\": {}", e.message)))?;
    let v = rt.schema().keep_client_only(&Value::Null, v);
    let key = store.fingerprint_key().await?;
    let (attributes, sensitive_fingerprints) = crate::state::codec::encode(&v, rt.schema(), &key);
    state.resources.insert(
        target.clone(),
        ResourceInstanceState {
            type_name: block.type_name.clone(),
            provider,
            attributes: attributes.into(),
            sensitive_fingerprints,
            dependencies: vec![].into(),
            create_before_destroy: false,
            tainted: false,
            deposed: None,
        },
    );
    state.serial += 1;
    store.write(&state, "import").await?;
    Ok(target)
}

/// What `cairn state migrate` copied.
#[derive(Debug)]
pub struct Migrated {
    pub from: String,
    pub to: String,
    pub serial: u64,
    pub resources: usize,
    /// Earlier versions copied into the destination's history.
    pub versions: usize,
    /// The destination already held exactly this state.
    pub already: bool,
}

/// Copies the state at `from` (a local state directory or `gs://bucket/prefix`) into the
/// stack's configured backend, with its history and fingerprint key, holding both locks.
pub async fn state_migrate(dir: &Path, from: &str, lock_timeout: std::time::Duration) -> Result<Migrated, OpError> {
    let source = open_backend(&parse_backend_location(dir, from)?)?;
    let dest = open_store_for_dir(dir)?;
    if source.location() == dest.location() {
        return Err(OpError::msg(format!(
            "the stack's backend is already {}: point its backend block (or a backend_override.tf) at the new location, then run migrate --from the old one",
            dest.location()
        )));
    }
    let _source_lock = lock(&source, "state migrate", lock_timeout).await?;
    let _dest_lock = lock(&dest, "state migrate", lock_timeout).await?;
    if !source.open_journal().await?.is_empty() {
        return Err(OpError::msg(format!(
            "an apply on {} was interrupted; run `cairn apply` against it first so that nothing in flight is lost, then migrate",
            source.location()
        )));
    }
    let state = load_required(&source).await?;
    let summary = |versions, already| Migrated {
        from: source.location(),
        to: dest.location(),
        serial: state.serial,
        resources: state.resources.len(),
        versions,
        already,
    };
    if let Some(existing) = dest.load().await? {
        if existing.lineage == state.lineage && existing.serial == state.serial {
            return Ok(summary(0, true));
        }
        return Err(OpError::msg(format!(
            "{} already holds a state (lineage {}, serial {}); migrate into an empty backend, or move that state away first",
            dest.location(),
            existing.lineage,
            existing.serial
        )));
    }
    // Fingerprints of secrets in the state were made with the source's key.
    dest.adopt_fingerprint_key(source.fingerprint_key().await?).await?;
    let mut versions = 0;
    let mut history = source.history().await?;
    history.reverse();
    for h in history.iter().filter(|h| h.lineage == state.lineage && h.serial < state.serial) {
        let version = source.version(h.serial).await?;
        dest.write(&version, &h.operation).await?;
        versions += 1;
    }
    dest.write(&state, "state migrate").await?;
    Ok(summary(versions, false))
}

/// What `cairn state rekey` did.
pub struct Rekeyed {
    pub location: String,
    /// Where the new key file is, and why there.
    pub key_file: keyfile::KeyPath,
    /// Fingerprints dropped (one per stored sensitive value).
    pub dropped: usize,
    /// Why the old key could not be used; None when it could (`--force`) or there was none.
    pub old_key_lost: Option<String>,
}

/// `cairn state rekey`: a new fingerprint key (its file and the state's record of it) for a
/// state whose key is lost for good, under the lock. The stored fingerprints go with the old
/// key (each sensitive value then plans as changed once, and the next apply sends it again);
/// plan files signed with the old key are refused from then on. A key that still works is
/// replaced only with `force`.
pub async fn state_rekey(dir: &Path, force: bool, lock_timeout: std::time::Duration) -> Result<Rekeyed, OpError> {
    let store = open_store_for_dir(dir)?;
    let _g = lock_leaving_the_key(&store, "state rekey", lock_timeout).await?;
    let location = store.location();
    let (old, old_key_lost) = match keyfile::old_key(&location, &store.stored_fingerprint_key().await?) {
        Ok(keyfile::OldKey::Usable(key)) if force => (Some(key), None),
        Ok(keyfile::OldKey::Usable(_)) => {
            return Err(OpError::msg(format!(
                "the fingerprint key of the state at {location} is present and valid: there is nothing to recover. `cairn state rekey --force` replaces it all the same (every sensitive value then plans as changed once, and plan files saved before are refused)"
            )))
        }
        Ok(keyfile::OldKey::Lost { why }) => (None, Some(why.to_string())),
        Ok(keyfile::OldKey::Never) => (None, None),
        Err(e) if force => (None, Some(e.to_string())),
        Err(e) => {
            return Err(OpError::msg(format!(
                "{e}. The key may still be usable once that is fixed; `cairn state rekey --force` replaces it all the same"
            )))
        }
    };
    // An interrupted apply's journal stays: it holds no fingerprints, and the next apply
    // (which needs a key, so cannot come first) recovers what it left in flight.
    // The new key file first (alone it is harmless), then the fingerprints go, then the
    // record: a crash before the record is stored leaves the old key as it was, and
    // `state rekey` is simply run again.
    let (_, record, key_file) = keyfile::rekeyed(&location, old.as_ref()).map_err(crate::state::StateError::from)?;
    let mut dropped = 0;
    if let Some(mut state) = store.load().await? {
        dropped = keyfile::drop_fingerprints(&mut state);
        if dropped > 0 {
            state.serial += 1;
            store.write(&state, "state rekey").await?;
        }
    }
    store.replace_fingerprint_key_record(&record).await?;
    Ok(Rekeyed { location, key_file, dropped, old_key_lost })
}

/// `--from` of `state migrate`: `gs://bucket/prefix` or a local state directory (relative
/// paths are taken from the current directory, as a shell user expects).
fn parse_backend_location(dir: &Path, from: &str) -> Result<StateBackend, OpError> {
    if let Some(rest) = from.strip_prefix("gs://") {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(OpError::msg(format!("{from}: no bucket; write gs://BUCKET/PREFIX")));
        }
        return gcs_settings_from_env(bucket, prefix.trim_matches('/'), None)
            .map(StateBackend::Gcs)
            .map_err(OpError::msg);
    }
    let path = Path::new(from);
    if !path.is_dir() {
        return Err(OpError::msg(format!(
            "{from} is not a state directory (for the local backend give the directory holding cairn.sled, e.g. {}; for Cloud Storage gs://BUCKET/PREFIX)",
            dir.join("state").display()
        )));
    }
    Ok(StateBackend::Local(path.to_path_buf()))
}
