//! One function per command. Each composes the stages (lang → graph → plan → apply → state)
//! and nothing more; rendering and exit codes belong to the CLI.

mod apply;
mod console;
mod init;
mod inspect;
mod plan;
mod state_cmds;
mod taint;
mod workspace;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use apply::{apply, apply_asking, ApplyArgs, ApplyResult};
pub use console::{console_scope, ConsoleScope};
pub use init::init;
pub use inspect::{
    fmt, graph, output, provider_schemas, providers, show, show_saved, show_state, validate, validate_located,
    FmtResult, OutputValue, ProviderTree, SavedPlan,
};
pub use plan::{plan, GeneratedConfig, PlanArgs, PlanOutput};
pub use state_cmds::{
    force_unlock, import, state_history, state_list, state_migrate, state_mv, state_pull, state_rekey, state_restore,
    state_rm, state_show, Migrated, Rekeyed,
};
pub use taint::{set_tainted, TaintOutcome};
pub use workspace::{
    workspace_delete, workspace_list, workspace_new, workspace_select, workspace_show, Selection, WorkspaceList,
};

use crate::graph::Graph;
use crate::lang::config::{Backend, Config};
use crate::lang::diag::{Diagnostic, Diagnostics, SourceMap};
use crate::lang::eval::eval_body;
use crate::lang::value::Value;
use crate::lang::vars::VarInputs;
use crate::providers::Registry;
pub use crate::state::backend::{gcs_settings_from_env, GcsArgs, StateBackend, Workspaces};
use crate::state::gcs::GcsStore;
use crate::state::local::LocalStore;
use crate::state::workspace as workspaces_of;
use crate::state::{LockGuard, LockInfo, StateError, StateStore};

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// Problems in the user's input, with the sources needed to show where.
    #[error("{}", .diags)]
    Diagnostics { sources: SourceMap, diags: Diagnostics },
    /// Boxed: a state error is large and rare, and every `Result` of this crate's commands
    /// would otherwise carry its size.
    #[error(transparent)]
    State(Box<StateError>),
    #[error("{0}")]
    Message(String),
    #[error("interrupted")]
    Interrupted,
}

impl From<StateError> for OpError {
    fn from(e: StateError) -> Self {
        OpError::State(Box::new(e))
    }
}

impl OpError {
    pub fn msg(m: impl Into<String>) -> Self {
        OpError::Message(m.into())
    }
    fn diags(sources: &SourceMap, diags: Diagnostics) -> Self {
        OpError::Diagnostics { sources: sources.clone(), diags }
    }
}

/// What every command that reads a stack needs.
#[derive(Clone)]
pub struct Common {
    /// The stack directory; every relative path in the stack resolves against it.
    pub dir: PathBuf,
    pub vars: VarInputs,
    pub lock_timeout: Duration,
    /// Hold the state lock (`-lock=false` turns it off, as in Terraform).
    pub lock: bool,
    pub registry: Registry,
}

impl Common {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Common {
            dir: dir.into(),
            vars: VarInputs::default(),
            lock_timeout: Duration::ZERO,
            lock: true,
            registry: Registry::builtin(),
        }
    }
}

pub struct Stack {
    pub config: Config,
    pub graph: Graph,
}

pub fn load_stack(dir: &Path) -> Result<Stack, OpError> {
    if !dir.is_dir() {
        return Err(OpError::msg(format!(
            "stack directory {} does not exist (pass the directory holding your .tf/.hcl files with -C DIR)",
            dir.display()
        )));
    }
    let mut config = init::load_installing(dir)?;
    config.workspace = selected_workspace(dir)?.name;
    shape_json_bodies(&mut config)?;
    let providers = crate::providers::configuration::check(&config);
    if providers.has_errors() {
        return Err(OpError::diags(&config.sources, providers));
    }
    let graph = Graph::build(&config).map_err(|d| OpError::diags(&config.sources, d))?;
    Ok(Stack { config, graph })
}

/// The nested blocks of resources written in `.tf.json` files, which only the resource
/// types' schemas tell from arguments (see `lang::load_json`).
fn shape_json_bodies(config: &mut Config) -> Result<(), OpError> {
    if !crate::lang::load_json::has_json_files(config) {
        return Ok(());
    }
    let registry = crate::providers::Registry::for_schemas();
    let schema_of = |mode: crate::lang::config::ResourceMode, type_name: &str| match mode {
        crate::lang::config::ResourceMode::Managed => registry.get(type_name).map(|t| t.schema().clone()),
        crate::lang::config::ResourceMode::Data => registry.data_source(type_name).map(|d| d.schema().clone()),
    };
    let diags = crate::lang::load_json::shape_resource_bodies(config, &schema_of);
    if diags.has_errors() {
        return Err(OpError::diags(&config.sources, diags));
    }
    Ok(())
}

/// Where each workspace of the stack keeps its state; see [`crate::state::backend::workspaces`].
pub fn workspaces(root_dir: &Path, backend: Option<&Backend>, sources: &SourceMap) -> Result<Workspaces, OpError> {
    crate::state::backend::workspaces(root_dir, backend).map_err(|d| OpError::diags(sources, d))
}

/// The workspace commands in `dir` work in: `TF_WORKSPACE`, else the one `cairn workspace
/// select` remembered, else `default`.
pub fn selected_workspace(dir: &Path) -> Result<workspaces_of::Selected, OpError> {
    workspaces_of::selected(dir).map_err(|e| OpError::msg(e.to_string()))
}

/// Where the selected workspace of the stack keeps its state.
pub fn state_backend(root_dir: &Path, backend: Option<&Backend>, sources: &SourceMap) -> Result<StateBackend, OpError> {
    let selected = selected_workspace(root_dir)?;
    Ok(workspaces(root_dir, backend, sources)?.backend(&selected.name))
}

/// A directory for local files that go with the stack's state (the embedded emulator's data):
/// the state directory of a local backend, `.cairn/` in the stack for a remote one. It is the
/// `default` workspace's: the emulated cloud is one per stack, as the real one is one for
/// every workspace.
pub fn local_data_dir(config: &Config) -> Result<PathBuf, OpError> {
    let default =
        workspaces(&config.root_dir, config.backend.as_ref(), &config.sources)?.backend(workspaces_of::DEFAULT);
    Ok(match default {
        StateBackend::Local(dir) => dir,
        StateBackend::Gcs(_) => config.root_dir.join(".cairn"),
    })
}

pub fn open_backend(backend: &StateBackend) -> Result<Arc<dyn StateStore>, OpError> {
    Ok(match backend {
        StateBackend::Local(dir) => Arc::new(LocalStore::open(dir)?),
        StateBackend::Gcs(settings) => Arc::new(GcsStore::new(settings.clone())),
    })
}

/// The state of the workspace the configuration was loaded for (`config.workspace`).
pub fn open_store(config: &Config) -> Result<Arc<dyn StateStore>, OpError> {
    let all = workspaces(&config.root_dir, config.backend.as_ref(), &config.sources)?;
    open_backend(&all.backend(&config.workspace))
}

/// Opens the selected workspace's state store of a stack directory even when its
/// configuration has errors (state commands must work on a broken config), as long as its
/// backend block can be read.
pub fn open_store_for_dir(dir: &Path) -> Result<Arc<dyn StateStore>, OpError> {
    match crate::lang::load::load(dir) {
        Ok(config) => open_backend(&state_backend(dir, config.backend.as_ref(), &config.sources)?),
        Err(e) => open_backend(&state_backend(dir, e.backend.as_ref(), &e.sources)?),
    }
}

pub async fn lock(
    store: &Arc<dyn StateStore>,
    operation: &str,
    timeout: Duration,
) -> Result<Box<dyn LockGuard>, OpError> {
    let guard = lock_leaving_the_key(store, operation, timeout).await?;
    // Only a lock holder may change where the key lives: a reader would race the writer.
    if let Some(note) = store.move_fingerprint_key_out().await? {
        eprintln!("Note: {note}");
    }
    Ok(guard)
}

/// [`lock`], unless the command line said `-lock=false`.
pub async fn lock_unless_disabled(
    store: &Arc<dyn StateStore>,
    operation: &str,
    common: &Common,
) -> Result<Option<Box<dyn LockGuard>>, OpError> {
    if !common.lock {
        return Ok(None);
    }
    lock(store, operation, common.lock_timeout).await.map(Some)
}

/// The lock alone: `state rekey` must lock a state whose key is damaged beyond moving.
async fn lock_leaving_the_key(
    store: &Arc<dyn StateStore>,
    operation: &str,
    timeout: Duration,
) -> Result<Box<dyn LockGuard>, OpError> {
    let guard = store.lock(LockInfo::for_current_process(operation), timeout).await?;
    if let Some(stale) = guard.recovered_stale() {
        eprintln!("Warning: took over a stale state lock left by a process that is gone ({stale})");
    }
    tracing::info!(location = %store.location(), lock = %guard.info().id, "state locked");
    Ok(guard)
}

/// Root variables from -var, -var-file, tfvars files and TF_VAR_ variables, checked.
pub fn root_variables(config: &Config, vars: &VarInputs) -> Result<(BTreeMap<String, Value>, SourceMap), OpError> {
    let mut sources = config.sources.clone();
    let values = crate::lang::vars::collect_root_variables(config, vars, &mut sources)
        .map_err(|d| OpError::diags(&sources, d))?;
    let d = crate::lang::vars::check_variable_validations(config, &crate::addr::ModulePath::root(), &values, &sources);
    if d.has_errors() {
        return Err(OpError::diags(&sources, d));
    }
    Ok((values, sources))
}

/// Evaluates the root module's provider blocks (they may use variables and locals of known
/// value only), keyed by configuration (`google`, `google.other`).
pub fn provider_configs(
    config: &Config,
    variables: &BTreeMap<String, Value>,
) -> Result<BTreeMap<String, Value>, OpError> {
    let mut env = crate::plan::env::Env::default();
    for (k, v) in variables {
        env.vars.insert((crate::addr::ModulePath::root(), k.clone()), v.clone());
    }
    let mut out = BTreeMap::new();
    for p in &config.root().providers {
        let root = crate::addr::ModulePath::root();
        let scope = crate::plan::env::ModuleScope { env: &env, config, module: &root };
        let ctx = crate::plan::env::ctx(config, &scope, ".".into());
        let v = eval_body(&p.body, &ctx).map_err(|d| OpError::diags(&config.sources, d))?;
        let key = crate::addr::ProviderConfigAddr { provider: p.name.clone(), alias: p.alias.clone() };
        out.insert(key.to_string(), v);
    }
    Ok(out)
}

/// Configures every provider configuration that the configuration's resources use, in key
/// order (`google`, `google.other`), each through its own instance, stopping at the first
/// that cannot be used (e.g. no credentials). Configurations only orphans in state use are
/// set up when the refresh first calls them.
pub async fn configure_providers(
    config: &Config,
    registry: &Registry,
    configs: &BTreeMap<String, Value>,
) -> Result<(), OpError> {
    let mut used = std::collections::BTreeSet::new();
    for m in config.modules.values() {
        for r in m.resources.values() {
            let provider = match r.mode {
                crate::lang::config::ResourceMode::Managed => registry.provider_of(&r.type_name),
                crate::lang::config::ResourceMode::Data => registry.provider_of_data_source(&r.type_name),
            };
            if provider.is_some() {
                used.insert(config.provider_config_of(&m.path, r));
            }
        }
    }
    for key in used {
        if let Some(p) = registry.provider_for(&crate::addr::ProviderConfigAddr::parse(&key)) {
            let cfg = configs.get(&key).cloned().unwrap_or(Value::Null);
            p.configure(&cfg).await.map_err(|e| OpError::msg(format!("provider \"{key}\": {}", e.message)))?;
        }
    }
    Ok(())
}

/// The environment's TF_VAR_ variables. One whose name or value is not UTF-8 is an error
/// (`std::env::vars` would panic, and skipping it would plan with the default instead).
pub fn env_vars() -> Result<Vec<(String, String)>, OpError> {
    tf_vars(std::env::vars_os())
}

fn tf_vars(
    vars: impl IntoIterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
) -> Result<Vec<(String, String)>, OpError> {
    let mut out = Vec::new();
    for (key, value) in vars {
        if !key.as_encoded_bytes().starts_with(b"TF_VAR_") {
            continue;
        }
        let shown = key.to_string_lossy().into_owned();
        let (Ok(key), Ok(value)) = (key.into_string(), value.into_string()) else {
            return Err(OpError::msg(format!(
                "the environment variable {shown} is not UTF-8 (its name or value); variables must be text"
            )));
        };
        out.push((key["TF_VAR_".len()..].to_string(), value));
    }
    Ok(out)
}
