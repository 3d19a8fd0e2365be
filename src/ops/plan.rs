use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::*;
use crate::addr::{AnyAddr, InstanceAddr};
use crate::plan::planner::{PlanInput, PlanOptions, PlanResult};
use crate::plan::{Plan, PlanMode};

pub struct PlanArgs {
    pub common: Common,
    pub mode: PlanMode,
    pub refresh: bool,
    pub targets: Vec<String>,
    pub replace: Vec<String>,
    pub parallelism: usize,
    /// Save the plan here (`-out`).
    pub out: Option<PathBuf>,
    /// Evaluate references against live objects (for `cairn check`).
    pub live_values: bool,
    /// What `plantimestamp()` returns: a saved plan's time, when applying it. `None`: now.
    pub plan_time: Option<chrono::DateTime<chrono::Utc>>,
    /// `-generate-config-out`: write the configuration of objects that import blocks adopt
    /// without a resource block into this new file of the stack, then plan with it.
    pub generate_config_out: Option<PathBuf>,
}

impl PlanArgs {
    pub fn new(common: Common) -> Self {
        PlanArgs {
            common,
            mode: PlanMode::Normal,
            refresh: true,
            targets: vec![],
            replace: vec![],
            parallelism: 10,
            out: None,
            live_values: false,
            plan_time: None,
            generate_config_out: None,
        }
    }
}

pub struct PlanOutput {
    pub plan: Plan,
    pub warnings: Diagnostics,
    pub sources: SourceMap,
    /// Each module of the configuration and the directory it was loaded from: the health report
    /// puts the checks of several calls of one module into one section.
    pub module_dirs: Vec<(crate::addr::ModulePath, PathBuf)>,
    /// What `-generate-config-out` wrote; `None` when it was not asked for or no import block
    /// lacked a resource block.
    pub generated: Option<GeneratedConfig>,
}

/// The file `-generate-config-out` wrote and each resource block in it.
pub struct GeneratedConfig {
    pub file: PathBuf,
    pub resources: Vec<(InstanceAddr, String)>,
}

pub async fn plan(args: PlanArgs) -> Result<PlanOutput, OpError> {
    let mut stack = load_stack(&args.common.dir)?;
    let generate_into = match &args.generate_config_out {
        Some(file) => Some(generated_file_path(&args.common.dir, file)?),
        None => None,
    };
    // Inputs are checked before the state is touched.
    let (mut variables, _) = root_variables(&stack.config, &args.common.vars)?;
    let store = open_store(&stack.config)?;
    let operation = match args.mode {
        PlanMode::RefreshOnly => "drift",
        _ => "plan",
    };
    let _guard = lock_unless_disabled(&store, operation, &args.common).await?;
    let mut generated = None;
    if let Some(file) = generate_into {
        generated = generate_config(&stack, &args.common.registry, &variables, &file).await?;
        if generated.is_some() {
            // The plan proceeds with the generated configuration, as Terraform's does.
            stack = load_stack(&args.common.dir)?;
            variables = root_variables(&stack.config, &args.common.vars)?.0;
        }
    }
    let (result, sources, _) = plan_locked(&stack, &store, &args, Some(variables), None).await?;
    if let Some(out) = &args.out {
        let replace = parse_instances(&args.replace)?;
        let secret = store.fingerprint_key().await?;
        let key = crate::plan::file::PlanKey::derive(&secret);
        let mut pf = crate::plan::file::PlanFile::from_plan(&result.plan, &replace, args.refresh, &secret);
        pf.stack = Some(crate::plan::file::stack_label(&args.common.dir));
        pf.workspace = Some(stack.config.workspace.clone());
        // Read again under the same lock: what the apply will find if nothing moves meanwhile.
        pf.state_digest = crate::plan::file::state_digest(store.load().await?.as_ref());
        crate::plan::file::write(out, &pf, &key)
            .map_err(|e| OpError::msg(format!("cannot write plan file {}: {e}", out.display())))?;
    }
    let module_dirs = stack.config.modules.iter().map(|(p, m)| (p.clone(), m.dir.clone())).collect();
    Ok(PlanOutput { plan: result.plan, warnings: result.warnings, sources, module_dirs, generated })
}

/// Where `-generate-config-out` writes: FILE relative to the stack directory (Terraform's is
/// relative to its working directory, which `-chdir` makes the stack's), a new `.tf` file
/// directly in it, since the plan goes on to read it as part of the root module.
fn generated_file_path(dir: &Path, file: &Path) -> Result<PathBuf, OpError> {
    let path = if file.is_absolute() { file.to_path_buf() } else { dir.join(file) };
    if path.exists() {
        return Err(OpError::msg(format!(
            "Target generated file already exists: {}. Cairn can only write generated configuration into a new file: choose a different target location, or move the existing configuration out of it and delete it.",
            file.display()
        )));
    }
    let in_stack = path.parent().and_then(|p| p.canonicalize().ok()) == dir.canonicalize().ok();
    if !in_stack || path.extension().and_then(|e| e.to_str()) != Some("tf") {
        return Err(OpError::msg(format!(
            "-generate-config-out={}: name a new .tf file directly in the stack directory {}, which the plan then reads as part of the configuration",
            file.display(),
            dir.display()
        )));
    }
    Ok(path)
}

/// Reads each object that a root import block adopts without a resource block, writes its
/// configuration into `file`, and says what it wrote. Nothing is written when any read fails.
async fn generate_config(
    stack: &Stack,
    registry: &crate::providers::Registry,
    variables: &BTreeMap<String, Value>,
    file: &Path,
) -> Result<Option<GeneratedConfig>, OpError> {
    let sources = &stack.config.sources;
    let targets = crate::plan::planner::imports_without_resource(&stack.config, variables)
        .map_err(|d| OpError::diags(sources, d))?;
    if targets.is_empty() {
        return Ok(None);
    }
    let provider_configs = provider_configs(&stack.config, variables)?;
    let mut diags = Diagnostics::new();
    let mut resources = Vec::new();
    for (addr, id_value, span) in &targets {
        let type_name = &addr.resource.type_name;
        let Some(provider) = registry.provider_of(type_name).map(str::to_string) else {
            diags.push(
                crate::lang::diag::Diagnostic::error(format!(
                    "Cannot generate configuration for {addr}: there is no resource type {type_name:?}"
                ))
                .at(*span),
            );
            continue;
        };
        let config = provider_configs.get(&provider).cloned().unwrap_or(Value::Null);
        if let Some(p) = registry.provider_for(&crate::addr::ProviderConfigAddr::default_for(provider.clone())) {
            p.configure(&config).await.map_err(|e| OpError::msg(format!("provider \"{provider}\": {}", e.message)))?;
        }
        let Some(rt) = registry.resource_type_for(type_name, &provider) else { continue };
        let id = id_value.as_str().unwrap_or_default();
        match rt.import(&crate::providers::CallContext::new(config), id).await {
            Ok(object) => {
                let schema = rt.schema();
                let object = schema.mark_sensitive(schema.keep_client_only(&Value::Null, object));
                resources.push(crate::plan::genconfig::resource_config(addr, id_value, schema, &object));
            }
            Err(e) => {
                // The provider's message may quote the id: a secret id is neither named nor passed.
                let message = if id_value.contains_sensitive() {
                    format!("Cannot import {addr} (id (sensitive value)): the provider refused the id")
                } else {
                    format!("Cannot import {addr} (id \"{id}\"): {}", e.message)
                };
                diags.push(crate::lang::diag::Diagnostic::error(message).at(*span));
            }
        }
    }
    if diags.has_errors() {
        return Err(OpError::diags(sources, diags));
    }
    let text = crate::plan::genconfig::file_text(&resources)
        .map_err(|e| OpError::msg(format!("the generated configuration does not parse ({e}); please report this")))?;
    std::fs::write(file, text).map_err(|e| OpError::msg(format!("cannot write {}: {e}", file.display())))?;
    Ok(Some(GeneratedConfig {
        file: file.to_path_buf(),
        resources: resources.into_iter().map(|r| (r.addr, r.block)).collect(),
    }))
}

pub(crate) fn parse_targets(ts: &[String]) -> Result<Vec<AnyAddr>, OpError> {
    ts.iter().map(|t| t.parse::<AnyAddr>().map_err(|e| OpError::msg(format!("--target: {e}")))).collect()
}

pub(crate) fn parse_instances(ts: &[String]) -> Result<Vec<InstanceAddr>, OpError> {
    ts.iter()
        .map(|t| match t.parse::<AnyAddr>() {
            Ok(AnyAddr::Instance(i)) => Ok(i),
            Ok(AnyAddr::Resource(r)) => Ok(r.instance(crate::addr::InstanceKey::None)),
            Ok(AnyAddr::Module(_)) => {
                Err(OpError::msg(format!("--replace {t}: give a resource instance, not a module")))
            }
            Err(e) => Err(OpError::msg(format!("--replace: {e}"))),
        })
        .collect()
}

/// Plans with the lock already held. `state_override` replaces the stored state (a saved
/// plan's refreshed prior state).
pub(crate) async fn plan_locked(
    stack: &Stack,
    store: &Arc<dyn StateStore>,
    args: &PlanArgs,
    fixed_variables: Option<BTreeMap<String, Value>>,
    state_override: Option<crate::state::State>,
) -> Result<(PlanResult, SourceMap, BTreeMap<String, Value>), OpError> {
    let (variables, sources) = match fixed_variables {
        Some(v) => (v, stack.config.sources.clone()),
        None => root_variables(&stack.config, &args.common.vars)?,
    };
    let state = match state_override {
        Some(s) => s,
        None => store.load().await?.unwrap_or_default(),
    };
    let key = store.fingerprint_key().await?;
    let open_journal = store.open_journal().await?;
    let provider_configs = provider_configs(&stack.config, &variables)?;
    configure_providers(&stack.config, &args.common.registry, &provider_configs).await?;
    let opts = PlanOptions {
        mode: args.mode,
        refresh: args.refresh,
        targets: parse_targets(&args.targets)?,
        replace: parse_instances(&args.replace)?,
        parallelism: args.parallelism,
        validate_only: false,
        live_values: args.live_values,
        plan_time: args.plan_time,
    };
    let input = PlanInput {
        config: &stack.config,
        graph: &stack.graph,
        registry: &args.common.registry,
        variables: variables.clone(),
        state,
        fingerprint_key: key,
        open_journal,
        provider_configs,
    };
    let result = crate::plan::planner::plan(input, &opts).await.map_err(|d| OpError::diags(&sources, d))?;
    Ok((result, sources, variables))
}
