//! One function per command. Each composes the stages (lang → graph → plan → apply → state)
//! and nothing more; rendering and exit codes belong to the CLI.

mod apply;
mod inspect;
mod plan;
mod state_cmds;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use apply::{apply, check_reviewed_plan, ApplyArgs, ApplyResult};
pub use inspect::{fmt, graph, output, show, show_saved, validate, FmtResult, OutputValue, SavedPlan};
pub use plan::{plan, PlanArgs, PlanOutput};
pub use state_cmds::{
    force_unlock, import, state_history, state_list, state_migrate, state_mv, state_pull, state_restore, state_rm,
    state_show, Migrated,
};

use crate::google_auth::CredentialSource;
use crate::graph::Graph;
use crate::lang::config::{Backend, Config};
use crate::lang::diag::{Diagnostic, Diagnostics, SourceMap};
use crate::lang::eval::eval_body;
use crate::lang::value::Value;
use crate::lang::vars::VarInputs;
use crate::providers::Registry;
use crate::state::gcs::{GcsSettings, GcsStore};
use crate::state::local::LocalStore;
use crate::state::{LockGuard, LockInfo, StateError, StateStore};

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// Problems in the user's input, with the sources needed to show where.
    #[error("{}", .diags)]
    Diagnostics { sources: SourceMap, diags: Diagnostics },
    #[error(transparent)]
    State(#[from] StateError),
    #[error("{0}")]
    Message(String),
    #[error("interrupted")]
    Interrupted,
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
    pub registry: Registry,
}

impl Common {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Common {
            dir: dir.into(),
            vars: VarInputs::default(),
            lock_timeout: Duration::ZERO,
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
    let config =
        crate::lang::load::load(dir).map_err(|e| OpError::Diagnostics { sources: e.sources, diags: e.diagnostics })?;
    let graph = Graph::build(&config).map_err(|d| OpError::diags(&config.sources, d))?;
    Ok(Stack { config, graph })
}

/// Where a stack's state lives.
#[derive(Clone, Debug)]
pub enum StateBackend {
    /// A directory: the local backend's `path` resolved against the stack directory, or
    /// `state/` inside it.
    Local(PathBuf),
    Gcs(GcsSettings),
}

/// The gcs backend's arguments (Terraform's, where Cairn has the feature).
const GCS_ARGUMENTS: &[&str] = &[
    "bucket",
    "prefix",
    "credentials",
    "access_token",
    "impersonate_service_account",
    "encryption_key",
    "storage_custom_endpoint",
];

/// Resolves the stack's backend block (and the environment variables Terraform's backends read).
pub fn state_backend(root_dir: &Path, backend: Option<&Backend>, sources: &SourceMap) -> Result<StateBackend, OpError> {
    let Some(b) = backend else { return Ok(StateBackend::Local(root_dir.join("state"))) };
    let fail = |d: Diagnostic| OpError::diags(sources, d.into());
    let mut args = BTreeMap::new();
    for (name, attr) in &b.attributes {
        let allowed: &[&str] = if b.kind == "local" { &["path"] } else { GCS_ARGUMENTS };
        if !allowed.contains(&name.as_str()) {
            let mut d = Diagnostic::error(format!("Unsupported argument \"{name}\" in the {} backend", b.kind))
                .detail(format!("The {} backend takes: {}.", b.kind, allowed.join(", ")))
                .at(attr.span);
            if let Some(h) = crate::lang::diag::suggest(name, allowed.iter().copied()) {
                d = d.help(h);
            }
            return Err(fail(d));
        }
        match &attr.expr.expr {
            hcl_edit::expr::Expression::String(s) => {
                args.insert(name.as_str(), (s.value().to_string(), attr.expr.span));
            }
            _ => {
                return Err(fail(
                    Diagnostic::error(format!("The backend's {name} must be a literal string"))
                        .at(attr.expr.span)
                        .help("backend settings cannot use variables or functions (the backend is read before anything is evaluated)"),
                ))
            }
        }
    }
    if b.kind == "local" {
        return Ok(StateBackend::Local(match args.get("path") {
            None => root_dir.join("state"),
            Some((p, _)) => {
                let p = Path::new(p);
                if p.is_absolute() {
                    p.to_path_buf()
                } else {
                    root_dir.join(p)
                }
            }
        }));
    }
    let Some((bucket, _)) = args.get("bucket").cloned() else {
        return Err(fail(
            Diagnostic::error("The gcs backend needs a bucket")
                .at(b.span)
                .help("add bucket = \"<name of the state bucket>\" (create the bucket once: gcloud storage buckets create gs://NAME --uniform-bucket-level-access)"),
        ));
    };
    let prefix = match args.get("prefix") {
        Some((p, span)) if p.starts_with('/') => {
            return Err(fail(
                Diagnostic::error("The gcs backend's prefix must not start with \"/\"")
                    .at(*span)
                    .help("write it as a relative folder, e.g. prefix = \"stacks/staging\""),
            ))
        }
        Some((p, _)) => p.trim_end_matches('/').to_string(),
        None => String::new(),
    };
    let arg = |name: &str| args.get(name).map(|(v, _)| v.clone());
    let given = GcsArgs {
        credentials: arg("credentials"),
        access_token: arg("access_token"),
        impersonate_service_account: arg("impersonate_service_account"),
        encryption_key: arg("encryption_key"),
        storage_custom_endpoint: arg("storage_custom_endpoint"),
    };
    gcs_settings_from_env(&bucket, &prefix, Some(&given)).map(StateBackend::Gcs).map_err(|message| {
        let span = args.get("encryption_key").map_or(b.span, |(_, s)| *s);
        fail(
            Diagnostic::error(message).at(span).help(
                "generate one with: openssl rand -base64 32 (and keep it safe: without it the state cannot be read)",
            ),
        )
    })
}

/// The gcs backend's arguments as written in a backend block.
#[derive(Clone, Debug, Default)]
pub struct GcsArgs {
    pub credentials: Option<String>,
    pub access_token: Option<String>,
    pub impersonate_service_account: Option<String>,
    pub encryption_key: Option<String>,
    pub storage_custom_endpoint: Option<String>,
}

/// gcs settings from given arguments, falling back to the environment variables Terraform's
/// gcs backend reads, and to STORAGE_EMULATOR_HOST as Google's storage clients do. The only
/// error is an unusable encryption key.
pub fn gcs_settings_from_env(bucket: &str, prefix: &str, given: Option<&GcsArgs>) -> Result<GcsSettings, String> {
    let given = given.cloned().unwrap_or_default();
    let env = |names: &[&str]| names.iter().find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()));
    let emulator = env(&["STORAGE_EMULATOR_HOST"]);
    let endpoint = given
        .storage_custom_endpoint
        .or_else(|| env(&["GOOGLE_BACKEND_STORAGE_CUSTOM_ENDPOINT", "GOOGLE_STORAGE_CUSTOM_ENDPOINT"]))
        .or_else(|| emulator.as_deref().map(crate::state::gcs::emulator_endpoint));
    let credentials = if let Some(token) = given.access_token.or_else(|| env(&["GOOGLE_OAUTH_ACCESS_TOKEN"])) {
        CredentialSource::AccessToken(token)
    } else if let Some(c) = given.credentials.or_else(|| env(&["GOOGLE_BACKEND_CREDENTIALS", "GOOGLE_CREDENTIALS"])) {
        if c.trim_start().starts_with('{') {
            CredentialSource::Json(c)
        } else {
            CredentialSource::File(PathBuf::from(c))
        }
    } else if emulator.is_some() || endpoint.as_deref().is_some_and(|e| e.starts_with("http://")) {
        // Emulators take no credentials (and plain HTTP reaches no real Google endpoint).
        CredentialSource::Anonymous
    } else {
        CredentialSource::ApplicationDefault
    };
    let encryption_key = match given.encryption_key.or_else(|| env(&["GOOGLE_ENCRYPTION_KEY"])) {
        None => None,
        Some(k) => {
            use base64::Engine;
            let bad = || "The gcs backend's encryption_key is not a base64-encoded 32-byte key".to_string();
            let raw = base64::engine::general_purpose::STANDARD.decode(k.trim()).map_err(|_| bad())?;
            Some(<[u8; 32]>::try_from(raw.as_slice()).map_err(|_| bad())?)
        }
    };
    let impersonate_service_account = given
        .impersonate_service_account
        .or_else(|| env(&["GOOGLE_BACKEND_IMPERSONATE_SERVICE_ACCOUNT", "GOOGLE_IMPERSONATE_SERVICE_ACCOUNT"]));
    Ok(GcsSettings {
        bucket: bucket.to_string(),
        prefix: prefix.to_string(),
        credentials,
        impersonate_service_account,
        encryption_key,
        endpoint,
    })
}

/// A directory for local files that go with the stack's state (the embedded emulator's data):
/// the state directory of a local backend, `.cairn/` in the stack for a remote one.
pub fn local_data_dir(config: &Config) -> Result<PathBuf, OpError> {
    Ok(match state_backend(&config.root_dir, config.backend.as_ref(), &config.sources)? {
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

pub fn open_store(config: &Config) -> Result<Arc<dyn StateStore>, OpError> {
    open_backend(&state_backend(&config.root_dir, config.backend.as_ref(), &config.sources)?)
}

/// Opens the state store of a stack directory even when its configuration has errors (state
/// commands must work on a broken config), as long as its backend block can be read.
pub fn open_store_for_dir(dir: &Path) -> Result<Arc<dyn StateStore>, OpError> {
    match crate::lang::load::load(dir) {
        Ok(config) => open_store(&config),
        Err(e) => open_backend(&state_backend(dir, e.backend.as_ref(), &e.sources)?),
    }
}

pub async fn lock(
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
/// value only).
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
        if p.alias.is_some() {
            continue;
        }
        let root = crate::addr::ModulePath::root();
        let scope = crate::plan::env::ModuleScope { env: &env, config, module: &root };
        let ctx = crate::plan::env::ctx(config, &scope, ".".into());
        let v = eval_body(&p.body, &ctx).map_err(|d| OpError::diags(&config.sources, d))?;
        out.insert(p.name.clone(), v);
    }
    Ok(out)
}

/// Configures every provider whose resource types the configuration (or its state) uses, in
/// name order, stopping at the first that cannot be used (e.g. no credentials).
pub async fn configure_providers(
    config: &Config,
    registry: &Registry,
    configs: &BTreeMap<String, Value>,
) -> Result<(), OpError> {
    let mut used = std::collections::BTreeSet::new();
    for m in config.modules.values() {
        for r in m.resources.values() {
            if let Some(p) = registry.provider_of(&r.type_name) {
                used.insert(p.to_string());
            }
        }
    }
    for name in used {
        if let Some(p) = registry.provider(&name) {
            let cfg = configs.get(&name).cloned().unwrap_or(Value::Null);
            p.configure(&cfg).await.map_err(|e| OpError::msg(format!("provider \"{name}\": {}", e.message)))?;
        }
    }
    Ok(())
}

/// The environment's TF_VAR_ variables.
pub fn env_vars() -> Vec<(String, String)> {
    std::env::vars().filter_map(|(k, v)| k.strip_prefix("TF_VAR_").map(|n| (n.to_string(), v))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given(f: impl FnOnce(&mut GcsArgs)) -> GcsArgs {
        let mut a = GcsArgs::default();
        f(&mut a);
        a
    }

    // The environment may carry GOOGLE_* variables on a developer's machine; every case here
    // gives the argument that decides it, which wins over the environment.
    #[test]
    fn gcs_arguments_choose_the_credentials_and_endpoint() {
        let s = gcs_settings_from_env("b", "p", Some(&given(|a| a.access_token = Some("tok".into())))).unwrap();
        assert!(matches!(s.credentials, CredentialSource::AccessToken(t) if t == "tok"));
        let s = gcs_settings_from_env(
            "b",
            "p",
            Some(&given(|a| a.credentials = Some("{\"type\":\"service_account\"}".into()))),
        )
        .unwrap();
        assert!(matches!(s.credentials, CredentialSource::Json(_)));
        let s =
            gcs_settings_from_env("b", "p", Some(&given(|a| a.credentials = Some("/keys/ci.json".into())))).unwrap();
        assert!(matches!(s.credentials, CredentialSource::File(p) if p == Path::new("/keys/ci.json")));
        let s = gcs_settings_from_env(
            "b",
            "p",
            Some(&given(|a| a.storage_custom_endpoint = Some("http://127.0.0.1:4443".into()))),
        )
        .unwrap();
        assert_eq!(s.endpoint.as_deref(), Some("http://127.0.0.1:4443"));
        let env_credentials = ["GOOGLE_OAUTH_ACCESS_TOKEN", "GOOGLE_BACKEND_CREDENTIALS", "GOOGLE_CREDENTIALS"]
            .iter()
            .any(|v| std::env::var_os(v).is_some());
        if !env_credentials {
            assert!(
                matches!(s.credentials, CredentialSource::Anonymous),
                "a plain-HTTP endpoint is an emulator: no credentials"
            );
        }
        let s = gcs_settings_from_env(
            "b",
            "p",
            Some(&given(|a| a.impersonate_service_account = Some("sa@p.iam.gserviceaccount.com".into()))),
        )
        .unwrap();
        assert_eq!(s.impersonate_service_account.as_deref(), Some("sa@p.iam.gserviceaccount.com"));
    }

    #[test]
    fn an_encryption_key_must_be_32_bytes_of_base64() {
        use base64::Engine;
        let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        let s = gcs_settings_from_env("b", "p", Some(&given(|a| a.encryption_key = Some(key)))).unwrap();
        assert_eq!(s.encryption_key, Some([7u8; 32]));
        for bad in ["c2hvcnQ=", "not base64!", ""] {
            let e = gcs_settings_from_env("b", "p", Some(&given(|a| a.encryption_key = Some(bad.into())))).unwrap_err();
            assert!(e.contains("32-byte"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn the_local_backend_path_resolves_against_the_stack() {
        let config = |text: &str| {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("main.tf"), text).unwrap();
            let c = crate::lang::load::load(dir.path()).unwrap();
            (dir, c)
        };
        let (_dir, c) = config("terraform {\n  backend \"local\" {\n    path = \"../shared/state\"\n  }\n}\n");
        match state_backend(&c.root_dir, c.backend.as_ref(), &c.sources).unwrap() {
            StateBackend::Local(p) => assert_eq!(p, c.root_dir.join("../shared/state")),
            other => panic!("{other:?}"),
        }
        let (_d, c) = config("resource \"terraform_data\" \"a\" {}\n");
        assert!(
            matches!(state_backend(&c.root_dir, None, &c.sources).unwrap(), StateBackend::Local(p) if p.ends_with("state"))
        );
    }
}
