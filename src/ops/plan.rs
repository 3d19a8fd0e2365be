use std::path::PathBuf;
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
}

pub async fn plan(args: PlanArgs) -> Result<PlanOutput, OpError> {
    let stack = load_stack(&args.common.dir)?;
    // Inputs are checked before the state is touched.
    let (variables, _) = root_variables(&stack.config, &args.common.vars)?;
    let store = open_store(&stack.config)?;
    let operation = match args.mode {
        PlanMode::RefreshOnly => "drift",
        _ => "plan",
    };
    let _guard = lock_unless_disabled(&store, operation, &args.common).await?;
    let (result, sources, _) = plan_locked(&stack, &store, &args, Some(variables), None).await?;
    if let Some(out) = &args.out {
        let replace = parse_instances(&args.replace)?;
        let secret = store.fingerprint_key().await?;
        let key = crate::plan::file::PlanKey::derive(&secret);
        let mut pf = crate::plan::file::PlanFile::from_plan(&result.plan, &replace, args.refresh, &secret);
        pf.stack = Some(crate::plan::file::stack_label(&args.common.dir));
        // Read again under the same lock: what the apply will find if nothing moves meanwhile.
        pf.state_digest = crate::plan::file::state_digest(store.load().await?.as_ref());
        crate::plan::file::write(out, &pf, &key)
            .map_err(|e| OpError::msg(format!("cannot write plan file {}: {e}", out.display())))?;
    }
    let module_dirs = stack.config.modules.iter().map(|(p, m)| (p.clone(), m.dir.clone())).collect();
    Ok(PlanOutput { plan: result.plan, warnings: result.warnings, sources, module_dirs })
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
