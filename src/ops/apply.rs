use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::plan::parse_instances;
use super::plan::{plan_locked, PlanArgs};
use super::*;
use crate::apply::{ApplyInput, ApplyOutcome, Interrupt, Progress};
use crate::lang::vars::VarArg;
use crate::plan::file::{PlanFile, PlanFileError, PlanKey};
use crate::plan::Plan;

pub struct ApplyArgs {
    pub plan: PlanArgs,
    /// Apply this saved plan instead of planning now.
    pub planfile: Option<PathBuf>,
    /// Apply `planfile` only if its changes are the ones in this plan, which a reviewer
    /// approved (`--reviewed-plan`). The reviewed plan itself need not be applicable.
    pub reviewed_planfile: Option<PathBuf>,
    pub interrupt: Interrupt,
    pub progress: Arc<dyn Progress>,
    /// How often to report a step that is still running.
    pub heartbeat: Duration,
}

pub struct ApplyResult {
    /// The plan. Once applied, its prior state and its changes' prior values are gone (the
    /// apply took and released them, see [`crate::apply::apply`]): `outcome.state` is the state.
    pub plan: Plan,
    /// None when there was nothing to do or the plan was not approved.
    pub outcome: Option<ApplyOutcome>,
    pub approved: bool,
    pub warnings: Diagnostics,
    pub sources: SourceMap,
}

/// Plans (or loads a saved plan), asks `confirm`, and applies — all under one state lock.
pub async fn apply(args: ApplyArgs, confirm: &mut (dyn FnMut(&Plan) -> bool + Send)) -> Result<ApplyResult, OpError> {
    apply_asking(args, async |plan: &Plan| confirm(plan)).await
}

/// [`apply`] with a confirmation that waits without blocking the runtime (a person at the
/// prompt), so that a signal can cancel the command while it waits.
pub async fn apply_asking(
    args: ApplyArgs,
    mut confirm: impl AsyncFnMut(&Plan) -> bool,
) -> Result<ApplyResult, OpError> {
    if args.reviewed_planfile.is_some() && args.planfile.is_none() {
        return Err(OpError::msg(
            "--reviewed-plan compares a saved plan with the reviewed one: make a fresh plan with `cairn plan -out FRESH` and run `cairn apply FRESH --reviewed-plan REVIEWED`",
        ));
    }
    let stack = load_stack(&args.plan.common.dir)?;
    let store = open_store(&stack.config)?;
    let operation = if args.plan.mode == crate::plan::PlanMode::Destroy { "destroy" } else { "apply" };
    let _guard = lock_unless_disabled(&store, operation, &args.plan.common).await?;

    let (result, sources, variables, from_file) = match &args.planfile {
        None => {
            let (r, s, v) = plan_locked(&stack, &store, &args.plan, None, None).await?;
            (r, s, v, false)
        }
        Some(path) => {
            // Everything about the files is checked before any provider is configured.
            refuse_other_workspace(path, &stack.config.workspace)?;
            let secret = store.fingerprint_key().await?;
            let key = PlanKey::derive(&secret);
            let pf = read_signed(path, &key, "saved", &store).await?;
            let reviewed = match &args.reviewed_planfile {
                Some(reviewed_path) => {
                    let reviewed = read_signed(reviewed_path, &key, "reviewed", &store).await?;
                    refuse_unreviewed(path, reviewed_path, &crate::plan::review::differences(&reviewed, &pf))?;
                    Some((reviewed_path, reviewed))
                }
                None => None,
            };
            check_saved_plan(&pf, &stack, &store).await?;
            let mut plan_args = PlanArgs::new(args.plan.common.clone());
            plan_args.mode = pf.mode;
            plan_args.refresh = false;
            plan_args.targets = pf.targets.clone();
            plan_args.replace = pf.replace.clone();
            plan_args.parallelism = args.plan.parallelism;
            // The re-plan tells the saved plan's time, so values built from plantimestamp()
            // are the ones that were reviewed, however long ago that was.
            plan_args.plan_time = pf.plan_timestamp;
            // The saved (non-sensitive) values win; sensitive ones must be supplied again.
            for (k, v) in &pf.variables {
                let text = match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                plan_args.common.vars.cli.push(VarArg::Var(format!("{k}={text}")));
            }
            let (r, s, v) = plan_locked(&stack, &store, &plan_args, None, Some(pf.prior_state.clone())).await?;
            // What would be applied is the re-plan: every value it writes must be the
            // reviewed plan's, and the saved plan's.
            let now = PlanFile::from_plan(&r.plan, &parse_instances(&pf.replace)?, false, &secret);
            if let Some((reviewed_path, reviewed)) = &reviewed {
                refuse_unreviewed(path, reviewed_path, &crate::plan::review::differences(reviewed, &now))?;
            }
            let differences = crate::plan::review::differences(&pf, &now);
            if !differences.is_empty() {
                let mut msg = format!(
                    "the saved plan {} no longer matches what the configuration produces; nothing was applied. Differences (saved plan as \"reviewed\", now as \"fresh\"):",
                    path.display()
                );
                for d in &differences {
                    msg.push_str("\n  - ");
                    msg.push_str(d);
                }
                msg.push_str("\nMake a new plan.");
                return Err(OpError::msg(msg));
            }
            (r, s, v, true)
        }
    };
    let mut plan = result.plan;
    let warnings = result.warnings;
    // A saved plan that only records drift is still applied, so that state takes it in.
    let records_drift = from_file && !plan.drift.is_empty();
    if !(plan.has_changes() || records_drift) {
        return Ok(ApplyResult { plan, outcome: None, approved: true, warnings, sources });
    }
    if !from_file && !confirm(&plan).await {
        return Ok(ApplyResult { plan, outcome: None, approved: false, warnings, sources });
    }
    let key = store.fingerprint_key().await?;
    let provider_configs = provider_configs(&stack.config, &variables)?;
    let input = ApplyInput {
        config: &stack.config,
        graph: &stack.graph,
        registry: &args.plan.common.registry,
        env: result.env,
        store: store.clone(),
        fingerprint_key: key,
        provider_configs,
        parallelism: args.plan.parallelism,
        interrupt: args.interrupt.clone(),
        progress: args.progress.clone(),
        heartbeat: args.heartbeat,
    };
    let outcome = crate::apply::apply(input, &mut plan).await.map_err(|d| OpError::diags(&sources, d))?;
    Ok(ApplyResult { plan, outcome: Some(outcome), approved: true, warnings, sources })
}

/// A plan file signed with this state's key. A signature that fails on a plan made for
/// another state says so, with both lineages.
async fn read_signed(path: &Path, key: &PlanKey, what: &str, store: &Arc<dyn StateStore>) -> Result<PlanFile, OpError> {
    match crate::plan::file::read(path, key) {
        Ok(pf) => Ok(pf),
        Err(e @ PlanFileError::BadSignature { .. }) => {
            // What the file says of itself is unauthenticated, but only used to word the refusal.
            let claimed = crate::plan::file::read_for_display(path).ok();
            let current = store.load().await?.map(|s| s.lineage);
            match (claimed, current) {
                (Some(claimed), Some(current)) if claimed.lineage != current => Err(OpError::msg(format!(
                    "the {what} plan: {e} (it names state {}, this stack's state is {})",
                    short(&claimed.lineage),
                    short(&current)
                ))),
                (Some(claimed), _) if claimed.signing_key_check.as_ref().is_some_and(|c| *c != key.check()) => {
                    Err(OpError::msg(format!(
                        "the {what} plan: {} was signed with a fingerprint key this state no longer uses: the key was replaced (`cairn state rekey`, or CAIRN_FINGERPRINT_KEY_FILE now names another key file) after the plan was made; nothing was applied: make a new plan with `cairn plan -out`",
                        path.display()
                    )))
                }
                _ => Err(OpError::msg(format!("the {what} plan: {e}"))),
            }
        }
        Err(e) => Err(OpError::msg(format!("the {what} plan: {e}"))),
    }
}

/// A plan made in another workspace describes another state: Terraform's refusal, in its
/// words. Read before the signature is checked (each workspace's state may sign with its own
/// key), so what the file says of itself is unauthenticated — and only ever used to refuse.
fn refuse_other_workspace(path: &Path, current: &str) -> Result<(), OpError> {
    let planned = crate::plan::file::read_for_display(path).ok().and_then(|pf| pf.workspace);
    match planned {
        Some(planned) if planned != current => Err(OpError::msg(format!(
            "The plan file describes changes to the {planned:?} workspace, but the {current:?} workspace is currently in use.\n\n\
             Applying this plan with the incorrect workspace selected could result in state being stored in an unexpected location, \
             or a downstream error when Cairn attempts to apply a plan using the other workspace's state.\n\n\
             If you'd like to continue to use the plan file, you must run \"cairn workspace select {planned}\" to select the correct workspace.\n\
             In future make sure the selected workspace is not changed between creating and applying a plan file."
        ))),
        _ => Ok(()),
    }
}

fn refuse_unreviewed(fresh: &Path, reviewed: &Path, differences: &[String]) -> Result<(), OpError> {
    if differences.is_empty() {
        return Ok(());
    }
    let mut msg = format!(
        "the fresh plan {} does not make the changes of the reviewed plan {}; nothing was applied. Differences:",
        fresh.display(),
        reviewed.display()
    );
    for d in differences {
        msg.push_str("\n  - ");
        msg.push_str(d);
    }
    msg.push_str("\nWhat would be applied now is not what was reviewed: review a new plan (for example, push to the pull request again) before applying.");
    Err(OpError::msg(msg))
}

/// A saved plan applies only to the configuration and state it was made from: the same
/// lineage and serial, and the same content (a state edited without a serial bump moved too).
async fn check_saved_plan(pf: &PlanFile, stack: &Stack, store: &Arc<dyn StateStore>) -> Result<(), OpError> {
    let hash = crate::plan::planner::config_hash(&stack.config);
    if hash != pf.config_hash {
        return Err(OpError::msg("the saved plan was made from a different configuration: the stack's files changed since `cairn plan -out`; make a new plan"));
    }
    let stored = store.load().await?;
    let digest = crate::plan::file::state_digest(stored.as_ref());
    let state = stored.unwrap_or_default();
    let (lineage, serial) = (state.lineage.clone(), state.serial);
    let fresh = state.resources.is_empty() && serial == 0;
    if !(fresh && pf.serial == 0) && (lineage != pf.lineage || serial != pf.serial) {
        return Err(OpError::msg(format!(
            "the saved plan is stale: it was made against state {} serial {}, but the state is now {} serial {} (another apply or state command ran since); make a new plan",
            short(&pf.lineage),
            pf.serial,
            short(&lineage),
            serial
        )));
    }
    if digest != pf.state_digest {
        return Err(OpError::msg(format!(
            "the saved plan is stale: the state {} serial {} was changed since `cairn plan -out` without its serial moving (an edited or restored state); make a new plan",
            short(&lineage),
            serial
        )));
    }
    Ok(())
}

fn short(lineage: &str) -> &str {
    lineage.get(..8).unwrap_or(lineage)
}
