//! The executor: carries out a plan's changes in dependency order with bounded parallelism.
//!
//! Invariants kept here:
//! - every mutating provider call is journaled (durably) before it is sent;
//! - state is persisted after every resource that completes, through a persister that
//!   batches concurrent completions into one write (cost grows with the batch, not the state);
//! - a failure stops only the failed resource's dependents; independent work finishes;
//! - the first interrupt stops scheduling and lets in-flight work finish.

mod persist;
pub mod progress;
mod schedule;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::addr::{InstanceAddr, ModulePath};
use crate::graph::{Graph, Node};
use crate::lang::config::{Config, ResourceMode};
use crate::lang::diag::{Diagnostic, Diagnostics};
use crate::lang::value::{SecretStrings, Value};
use crate::plan::env::{instance_ctx, Env, ModuleScope};
use crate::plan::instance::{check_consistent, plan_instance, InstanceInput};
use crate::plan::planner::expand_for_apply;
use crate::plan::{Action, Plan, PlanMode, ResourceChange};
use crate::providers::{CallContext, ExpectedDurations, Registry, ResourceType};
use crate::schema::validate;
use crate::state::{
    codec, CheckResult, JournalEntry, JournalStatus, OutputState, ResourceInstanceState, State, StateStore,
};

pub use progress::{ApplyEvent, Lines, Progress, Silent};

/// Shared between the command and the signal handler. Its level: 1 = stop scheduling, 2 = stop
/// now. Its phase says what a signal does: before the first step starts (planning, the approval
/// prompt) it cancels the whole operation, which has changed nothing yet; once steps may be in
/// flight it only raises the level, so that they finish and are recorded.
#[derive(Clone, Default)]
pub struct Interrupt(Arc<InterruptState>);

#[derive(Default)]
struct InterruptState {
    level: std::sync::atomic::AtomicU8,
    phase: std::sync::atomic::AtomicU8,
}

const PREPARING: u8 = 0;
const PROMPTING: u8 = 1;
const APPLYING: u8 = 2;
const CANCELLED: u8 = 3;

/// What a signal did to the operation.
#[derive(Debug, PartialEq, Eq)]
pub enum Signalled {
    /// Nothing had started: the operation is to be dropped (`at_prompt`: while asking for
    /// approval).
    Cancel { at_prompt: bool },
    /// Steps may be in flight: the level rose to this.
    Raised(u8),
}

impl Interrupt {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn raise(&self) -> u8 {
        use std::sync::atomic::Ordering::SeqCst;
        // Saturating: the 256th signal must not wrap the level back to "carry on".
        let before = self.0.level.fetch_update(SeqCst, SeqCst, |l| Some(l.saturating_add(1)));
        before.unwrap_or_else(|l| l).saturating_add(1)
    }
    pub fn level(&self) -> u8 {
        self.0.level.load(std::sync::atomic::Ordering::SeqCst)
    }
    fn move_phase(&self, from: u8, to: u8) -> bool {
        use std::sync::atomic::Ordering::SeqCst;
        self.0.phase.compare_exchange(from, to, SeqCst, SeqCst).is_ok()
    }
    /// A signal arrived. One atomic step decides between cancelling and raising, so a signal
    /// that races [`Interrupt::begin_applying`] either cancels before any step starts or lets
    /// the steps that started finish.
    pub fn signal(&self) -> Signalled {
        use std::sync::atomic::Ordering::SeqCst;
        let level = self.raise();
        loop {
            match self.0.phase.load(SeqCst) {
                APPLYING => return Signalled::Raised(level),
                CANCELLED => return Signalled::Cancel { at_prompt: false },
                phase if self.move_phase(phase, CANCELLED) => {
                    return Signalled::Cancel { at_prompt: phase == PROMPTING }
                }
                _ => {}
            }
        }
    }
    /// Marks the approval prompt as showing (or no longer), for what a signal then says.
    pub fn prompting(&self, showing: bool) {
        if showing {
            self.move_phase(PREPARING, PROMPTING);
        } else {
            self.move_phase(PROMPTING, PREPARING);
        }
    }
    /// Steps are about to start: from now on a signal lets them finish. False when a signal
    /// already cancelled the operation, which must then start nothing.
    pub fn begin_applying(&self) -> bool {
        self.move_phase(PREPARING, APPLYING) || self.move_phase(PROMPTING, APPLYING) || self.applying()
    }
    /// Resolves once a signal has arrived.
    pub async fn signalled(&self) {
        wait_for_level(self, 1).await
    }
    fn applying(&self) -> bool {
        self.0.phase.load(std::sync::atomic::Ordering::SeqCst) == APPLYING
    }
}

pub struct ApplyInput<'a> {
    pub config: &'a Config,
    pub graph: &'a Graph,
    pub registry: &'a Registry,
    /// The environment the plan walk produced (planned values, unknown where pending).
    pub env: Env,
    pub store: Arc<dyn StateStore>,
    pub fingerprint_key: [u8; 32],
    pub provider_configs: BTreeMap<String, Value>,
    pub parallelism: usize,
    pub interrupt: Interrupt,
    pub progress: Arc<dyn Progress>,
    /// How often to report that a step is still running.
    pub heartbeat: Duration,
}

#[derive(Debug, Default)]
pub struct ApplyOutcome {
    pub succeeded: Vec<(InstanceAddr, Action)>,
    pub failed: Vec<(InstanceAddr, String)>,
    pub skipped: Vec<InstanceAddr>,
    /// Steps still running when a second interrupt stopped Cairn (recorded in the journal).
    pub abandoned: Vec<InstanceAddr>,
    pub interrupted: bool,
    pub outputs: BTreeMap<String, (Value, bool)>,
    pub checks: Vec<CheckResult>,
    pub state: State,
    /// The longest chain of dependent steps by measured duration, and the apply's wall time;
    /// None when no step ran (or a second interrupt abandoned steps in flight).
    pub critical_path: Option<CriticalPath>,
}

/// An apply's critical path: the chain of steps, each waiting for the one before it, whose
/// measured durations sum to the most. No schedule finishes sooner, so `wall` against `length`
/// says what the schedule cost.
#[derive(Debug, Clone, PartialEq)]
pub struct CriticalPath {
    pub chain: Vec<CriticalStep>,
    /// The sum of the chain's durations.
    pub length: Duration,
    /// The apply's wall time, from its start to its last state write.
    pub wall: Duration,
}

/// One step of a [`CriticalPath`].
#[derive(Debug, Clone, PartialEq)]
pub struct CriticalStep {
    pub addr: InstanceAddr,
    pub action: Action,
    pub elapsed: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Step {
    /// Create or update (also the create half of a replace).
    Main,
    /// Delete the current object (delete, or the delete half of delete-then-create).
    Delete,
    /// Delete the old object after its replacement exists (create-then-delete).
    DeleteOld,
    /// Record an imported object that needs no change.
    Import,
}

type Key = (usize, Step);

struct Done {
    key: Key,
    result: Result<Option<Produced>, String>,
}

/// What a create, update or import produced: the object, and its record as state keeps it
/// (encoded once, shared by the persisted and the in-memory state).
type Produced = (Value, ResourceInstanceState);

/// How often a running apply hands the memory its finished steps freed back to the system
/// ([`crate::memory`]): a destroy frees prior values and state entries step by step.
const TRIM_EVERY: Duration = Duration::from_millis(250);

/// Carries out `plan`. The apply works on the plan's prior state (taken: `outcome.state` is
/// the state after), and releases each change's prior value once its last step has finished:
/// at 100,000 instances those two are the largest things a destroy holds, and they are no
/// longer needed. A change's addresses, actions and planned values stay.
pub async fn apply(mut input: ApplyInput<'_>, plan: &mut Plan) -> Result<ApplyOutcome, Diagnostics> {
    let apply_started = Instant::now();
    let mode = plan.mode;
    let reads_data = plan_reads_data(plan);
    let mut state = std::mem::take(&mut plan.prior_state);
    let mut outcome = ApplyOutcome::default();
    // The plan's time stays what plantimestamp() says; timestamp() now reads the wall clock.
    input.env.clock = crate::lang::functions::Clock::applying(plan.plan_time);
    if !input.interrupt.begin_applying() {
        // A signal cancelled the command before this started; its caller is being dropped.
        outcome.interrupted = true;
        outcome.skipped = plan.changes.iter().map(|c| c.addr.clone()).collect();
        outcome.state = state;
        return Ok(outcome);
    }

    // A refresh-only apply, or a plan whose refresh changed what state holds, first records
    // the refreshed objects. Only then is the stored state read whole (to compare it; it is not
    // kept: the plan's prior state is the one the apply works on); otherwise its serial is all
    // the apply needs.
    // Data entries of instances the configuration no longer has (all of them, in a destroy)
    // are forgotten, as Terraform does: no change of their own.
    let stale_data = stale_data_entries(plan, &input.env, &state);
    for a in &stale_data {
        state.resources.remove(a);
    }
    let may_record_refresh = mode == PlanMode::RefreshOnly || !plan.drift.is_empty() || plan_moved(plan) || reads_data;
    let (stored_serial, refreshed_differs) = if may_record_refresh {
        match input.store.load().await.map_err(state_diag)? {
            Some(stored) => (stored.serial, stored != state),
            None => (0, false),
        }
    } else {
        (input.store.serial().await.map_err(state_diag)?, false)
    };
    tracing::info!(changes = plan.changes.len(), parallelism = input.parallelism, "apply starting");
    crate::memory::release_free_pages();
    let persister = persist::Persister::spawn(input.store.clone(), state.lineage.clone(), stored_serial);

    if refreshed_differs {
        persister
            .write_state(state.clone(), "apply (refresh)")
            .await
            .map_err(|e| Diagnostics::from(Diagnostic::error(e)))?;
    } else {
        for a in stale_data {
            persister.write_resource(a, None).await.map_err(|e| Diagnostics::from(Diagnostic::error(e)))?;
        }
    }

    let StepGraph { steps, deps, dependents } = step_graph(&plan.changes, &state)?;
    let mut waiting: BTreeMap<Key, usize> = deps.iter().map(|(k, v)| (*k, v.len())).collect();
    // How many of each change's steps have not finished: its prior value is released at zero.
    let mut steps_left = vec![0u8; plan.changes.len()];
    for k in &steps {
        steps_left[k.0] += 1;
    }
    let registry = input.registry;
    let chains =
        schedule::remaining_chains(&steps, &dependents, |k| expected_duration(registry, &plan.changes[k.0], k.1));
    let mut ready = schedule::ReadyQueue::new(chains);
    for k in steps.iter().filter(|k| waiting[k] == 0) {
        ready.push(*k);
    }
    // Every step that ran, with its measured duration, in the order they finished.
    let mut finished: Vec<(Key, Duration)> = Vec::new();
    let mut failed_keys: BTreeSet<Key> = BTreeSet::new();
    let mut skipped: BTreeSet<Key> = BTreeSet::new();
    let mut in_flight: HashMap<Key, Instant> = HashMap::new();
    let mut tasks: tokio::task::JoinSet<Done> = tokio::task::JoinSet::new();
    let apply_id = uuid::Uuid::new_v4().to_string();
    let seq = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let interrupted = Arc::new(interrupted_creates(&*input.store).await.map_err(state_diag)?);
    let mut last_trim = Instant::now();
    let mut heartbeat = tokio::time::interval(input.heartbeat);
    heartbeat.tick().await;

    loop {
        // Schedule what is ready, unless interrupted.
        while input.interrupt.level() == 0 && in_flight.len() < input.parallelism.max(1) {
            let Some(key) = ready.pop() else { break };
            let c = &plan.changes[key.0];
            match start_step(&mut input, c, key, &persister, &apply_id, &seq, &interrupted) {
                Ok(fut) => {
                    in_flight.insert(key, Instant::now());
                    let action = step_action(c.action, key.1);
                    let id = if action == Action::Create { None } else { progress::object_id(c.before.as_ref()) };
                    input.progress.event(ApplyEvent::Started { addr: c.addr.clone(), action, id });
                    tasks.spawn(fut);
                }
                Err(msg) => {
                    input.progress.event(ApplyEvent::Failed {
                        addr: c.addr.clone(),
                        action: step_action(c.action, key.1),
                        elapsed: Duration::ZERO,
                        message: msg.clone(),
                    });
                    outcome.failed.push((c.addr.clone(), msg));
                    failed_keys.insert(key);
                    skip_dependents(key, &dependents, &mut skipped, &mut waiting);
                }
            }
        }
        if in_flight.is_empty() {
            break;
        }
        tokio::select! {
            joined = tasks.join_next() => {
                let Some(joined) = joined else { break };
                let done = match joined {
                    Ok(d) => d,
                    Err(e) => { return Err(Diagnostic::error(format!("an apply task failed unexpectedly: {e}")).into()); }
                };
                let started = in_flight.remove(&done.key);
                let c = &plan.changes[done.key.0];
                let elapsed = started.map(|s| s.elapsed()).unwrap_or_default();
                finished.push((done.key, elapsed));
                match done.result {
                    Ok(new_value) => {
                        let action = step_action(c.action, done.key.1);
                        let id = match &new_value {
                            Some((object, _)) => progress::object_id(Some(object)),
                            None => progress::object_id(c.before.as_ref()),
                        };
                        record_success(&mut input, &mut state, c, done.key.1, new_value);
                        outcome.succeeded.push((c.addr.clone(), action));
                        input.progress.event(ApplyEvent::Finished { addr: c.addr.clone(), action, elapsed, id });
                        steps_left[done.key.0] -= 1;
                        if steps_left[done.key.0] == 0 {
                            plan.changes[done.key.0].before = None;
                        }
                        if last_trim.elapsed() >= TRIM_EVERY {
                            crate::memory::release_free_pages();
                            last_trim = Instant::now();
                        }
                        if let Some(ds) = dependents.get(&done.key) {
                            for d in ds {
                                if let Some(w) = waiting.get_mut(d) {
                                    *w -= 1;
                                    if *w == 0 && !skipped.contains(d) && !failed_keys.contains(d) {
                                        ready.push(*d);
                                    }
                                }
                            }
                        }
                    }
                    Err(msg) => {
                        let action = step_action(c.action, done.key.1);
                        input.progress.event(ApplyEvent::Failed { addr: c.addr.clone(), action, elapsed, message: msg.clone() });
                        outcome.failed.push((c.addr.clone(), msg));
                        failed_keys.insert(done.key);
                        skip_dependents(done.key, &dependents, &mut skipped, &mut waiting);
                    }
                }
            }
            _ = heartbeat.tick() => {
                for (k, t) in &in_flight {
                    input.progress.event(ApplyEvent::Still { addr: plan.changes[k.0].addr.clone(), action: step_action(plan.changes[k.0].action, k.1), elapsed: t.elapsed() });
                }
            }
            _ = wait_for_level(&input.interrupt, 2) => {
                outcome.abandoned = in_flight.keys().map(|k| plan.changes[k.0].addr.clone()).collect();
                outcome.interrupted = true;
                tasks.abort_all();
                persister.close().await;
                outcome.state = state;
                return Ok(outcome);
            }
        }
    }
    outcome.interrupted = input.interrupt.level() > 0;
    let index: HashMap<&InstanceAddr, usize> = plan.changes.iter().enumerate().map(|(i, c)| (&c.addr, i)).collect();
    let done: BTreeSet<Key> = outcome
        .succeeded
        .iter()
        .filter_map(|(a, _)| index.get(a).copied())
        .flat_map(|i| [Step::Main, Step::Delete, Step::DeleteOld, Step::Import].map(|s| (i, s)))
        .collect();
    for k in &steps {
        if skipped.contains(k) || (!done.contains(k) && !failed_keys.contains(k)) {
            let a = plan.changes[k.0].addr.clone();
            if !outcome.skipped.contains(&a)
                && !outcome.failed.iter().any(|(f, _)| f == &a)
                && !outcome.succeeded.iter().any(|(s, _)| s == &a)
            {
                outcome.skipped.push(a);
            }
        }
    }

    // Outputs and checks from the final values.
    let mut diags = final_values(&mut input, mode, &mut outcome);
    // Every value the walk held is read for the last time above: freed before the final state
    // write, whose history record is the largest allocation of a big apply.
    input.env = Env::default();
    crate::memory::release_free_pages();
    state.outputs = stored_outputs(&outcome.outputs);
    state.check_results = outcome.checks.clone();
    match persister.finish(state.clone()).await {
        Ok(s) => state = s,
        Err(e) => diags.push(Diagnostic::error(e)),
    }
    if outcome.failed.is_empty() && !outcome.interrupted {
        // A targeted apply may have left an earlier run's open entries unaddressed.
        let _ = if plan.targets.is_empty() {
            input.store.clear_journals().await
        } else {
            input.store.clear_journal(&apply_id).await
        };
    }
    outcome.state = state;
    outcome.critical_path = critical_path(&plan.changes, &deps, &finished, apply_started.elapsed());
    if diags.has_errors() {
        return Err(diags);
    }
    Ok(outcome)
}

/// What a step is expected to take, for scheduling (see [`schedule`]): the type's figure for
/// the step's mutation; a read (a deferred data source, an import) is one call.
fn expected_duration(registry: &Registry, c: &ResourceChange, step: Step) -> Duration {
    let read = ExpectedDurations::ONE_CALL.create;
    if c.addr.resource.mode == ResourceMode::Data {
        return read;
    }
    let Some(expected) = registry.get(&c.type_name).map(|rt| rt.expected_durations()) else { return read };
    match (step, c.action) {
        // A forget only drops the state entry.
        (Step::Delete, Action::Forget) => Duration::ZERO,
        (Step::Delete | Step::DeleteOld, _) => expected.delete,
        (Step::Main, Action::Update) => expected.update,
        (Step::Main, _) => expected.create,
        (Step::Import, _) => read,
    }
}

/// The apply's critical path from the steps' measured durations ([`schedule::longest_chain`]).
fn critical_path(
    changes: &[ResourceChange],
    deps: &BTreeMap<Key, BTreeSet<Key>>,
    finished: &[(Key, Duration)],
    wall: Duration,
) -> Option<CriticalPath> {
    let chain: Vec<CriticalStep> = schedule::longest_chain(finished, deps)
        .into_iter()
        .map(|((i, step), elapsed)| CriticalStep {
            addr: changes[i].addr.clone(),
            action: step_action(changes[i].action, step),
            elapsed,
        })
        .collect();
    if chain.is_empty() {
        return None;
    }
    let length = chain.iter().map(|s| s.elapsed).sum();
    Some(CriticalPath { chain, length, wall })
}

/// The steps of an apply and what each waits for.
struct StepGraph {
    steps: Vec<Key>,
    /// Step → the steps that must finish first.
    deps: BTreeMap<Key, BTreeSet<Key>>,
    /// Step → the steps waiting for it.
    dependents: BTreeMap<Key, Vec<Key>>,
}

/// Orders the plan's changes: creates and updates after what they depend on; an object is
/// deleted only after everything that used it has let go of it; a replacement is
/// delete-then-create, or create-then-delete under create_before_destroy.
fn step_graph(changes: &[ResourceChange], state: &State) -> Result<StepGraph, Diagnostics> {
    let mut deps: BTreeMap<Key, BTreeSet<Key>> = BTreeMap::new();
    let index: HashMap<&InstanceAddr, usize> = changes.iter().enumerate().map(|(i, c)| (&c.addr, i)).collect();
    for (i, c) in changes.iter().enumerate() {
        match c.action {
            Action::Create | Action::Update => {
                deps.entry((i, Step::Main)).or_default();
            }
            // A forget leaves the object alone: only the state entry goes, in a step of its own.
            Action::Delete | Action::Forget => {
                deps.entry((i, Step::Delete)).or_default();
            }
            Action::DeleteThenCreate => {
                deps.entry((i, Step::Main)).or_default().insert((i, Step::Delete));
                deps.entry((i, Step::Delete)).or_default();
            }
            Action::CreateThenDelete => {
                deps.entry((i, Step::Main)).or_default();
                deps.entry((i, Step::DeleteOld)).or_default().insert((i, Step::Main));
            }
            // A data source's read deferred to apply: a step like a create, after what it uses.
            Action::Read if c.addr.resource.mode == ResourceMode::Data => {
                deps.entry((i, Step::Main)).or_default();
            }
            Action::NoOp | Action::Read => {
                if c.importing.is_some() {
                    deps.entry((i, Step::Import)).or_default();
                }
            }
        }
    }
    let steps: Vec<Key> = deps.keys().copied().collect();
    for (i, c) in changes.iter().enumerate() {
        let old_deps: &[InstanceAddr] = state.resources.get(&c.addr).map(|r| &r.dependencies[..]).unwrap_or_default();
        // Creates and updates wait for what they depend on.
        if deps.contains_key(&(i, Step::Main)) || deps.contains_key(&(i, Step::Import)) {
            let me = if deps.contains_key(&(i, Step::Main)) { (i, Step::Main) } else { (i, Step::Import) };
            for d in c.dependencies.iter() {
                if let Some(&j) = index.get(d) {
                    for s in [Step::Main, Step::Import] {
                        if deps.contains_key(&(j, s)) {
                            deps.get_mut(&me).map(|v| v.insert((j, s)));
                        }
                    }
                }
            }
        }
        // An object is deleted only after everything that used it has let go of it.
        for d in c.dependencies.iter().chain(old_deps.iter()) {
            let Some(&j) = index.get(d) else { continue };
            for (dstep, mine) in
                [(Step::Delete, Step::Delete), (Step::Delete, Step::Main), (Step::DeleteOld, Step::Main)]
            {
                if deps.contains_key(&(j, dstep))
                    && deps.contains_key(&(i, mine))
                    && !(mine == Step::Main
                        && dstep == Step::Delete
                        && changes[j].action == Action::DeleteThenCreate
                        && c.action != Action::Delete)
                {
                    deps.get_mut(&(j, dstep)).map(|v| v.insert((i, mine)));
                }
            }
        }
    }
    if let Some(cycle) = find_cycle(&deps) {
        let names: Vec<String> = cycle.iter().map(|(i, s)| format!("{} ({s:?})", changes[*i].addr)).collect();
        return Err(Diagnostic::error(format!("Cannot order the apply: {}", names.join(" → "))).help("this combination of replacements and create_before_destroy forms a cycle; apply in two steps with --target").into());
    }

    let mut dependents: BTreeMap<Key, Vec<Key>> = BTreeMap::new();
    for (k, ds) in &deps {
        for d in ds {
            dependents.entry(*d).or_default().push(*k);
        }
    }
    Ok(StepGraph { steps, deps, dependents })
}

/// Evaluates outputs and checks from the values the apply produced. An expression that fails
/// because a step failed or was interrupted is not an error of its own.
fn final_values(input: &mut ApplyInput<'_>, mode: PlanMode, outcome: &mut ApplyOutcome) -> Diagnostics {
    let mut diags = Diagnostics::new();
    for node in input.graph.order() {
        if !matches!(node, Node::Resource(_)) {
            if let Err(d) = input.env.eval_node(input.config, node) {
                if outcome.failed.is_empty() && !outcome.interrupted {
                    diags.extend(d);
                }
            }
        }
    }
    if mode != PlanMode::Destroy {
        for (name, out) in &input.config.root().outputs {
            if let Some(v) = input.env.outputs.get(&(ModulePath::root(), name.clone())) {
                outcome.outputs.insert(name.clone(), (v.clone(), out.sensitive));
            }
        }
    }
    let mut check_diags = Diagnostics::new();
    outcome.checks = crate::plan::planner::evaluate_checks(input.config, &input.env, &mut check_diags);
    diags
}

/// Outputs as state keeps them: a sensitive one (declared, or holding a secret) by name only.
fn stored_outputs(outputs: &BTreeMap<String, (Value, bool)>) -> BTreeMap<String, OutputState> {
    outputs
        .iter()
        .map(|(k, (v, sensitive))| {
            let sensitive = *sensitive || v.contains_sensitive();
            (k.clone(), OutputState { value: if sensitive { serde_json::Value::Null } else { v.to_json() }, sensitive })
        })
        .collect()
}

/// The data entries of `state` that no data instance of the plan's configuration owns.
fn stale_data_entries(plan: &Plan, env: &Env, state: &State) -> Vec<InstanceAddr> {
    state
        .resources
        .keys()
        .filter(|a| a.resource.mode == ResourceMode::Data)
        .filter(|a| {
            plan.mode == PlanMode::Destroy
                || !env.resources.get(&a.resource).is_some_and(|i| i.expansion.keys().contains(&a.key))
        })
        .cloned()
        .collect()
}

/// Whether the plan read data sources (their results are in its prior state) or defers reads;
/// either way the stored data entries are replaced by this run's.
fn plan_reads_data(plan: &Plan) -> bool {
    plan.prior_state.resources.keys().any(|a| a.resource.mode == ResourceMode::Data)
        || plan.changes.iter().any(|c| c.addr.resource.mode == ResourceMode::Data)
}

fn plan_moved(plan: &Plan) -> bool {
    plan.changes.iter().any(|c| c.previous_addr.is_some())
}

fn state_diag(e: crate::state::StateError) -> Diagnostics {
    Diagnostic::error(e.to_string()).into()
}

async fn wait_for_level(i: &Interrupt, level: u8) {
    loop {
        if i.level() >= level {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn step_action(a: Action, s: Step) -> Action {
    match s {
        Step::Delete if a == Action::Forget => Action::Forget,
        Step::Delete | Step::DeleteOld => Action::Delete,
        Step::Import => Action::NoOp,
        Step::Main if a.is_replace() => Action::Create,
        Step::Main => a,
    }
}

fn skip_dependents(
    key: Key,
    dependents: &BTreeMap<Key, Vec<Key>>,
    skipped: &mut BTreeSet<Key>,
    waiting: &mut BTreeMap<Key, usize>,
) {
    let mut stack = vec![key];
    while let Some(k) = stack.pop() {
        for d in dependents.get(&k).into_iter().flatten() {
            if skipped.insert(*d) {
                waiting.remove(d);
                stack.push(*d);
            }
        }
    }
}

fn find_cycle(deps: &BTreeMap<Key, BTreeSet<Key>>) -> Option<Vec<Key>> {
    let mut g: petgraph::graphmap::DiGraphMap<Key, ()> = petgraph::graphmap::DiGraphMap::new();
    for (k, ds) in deps {
        g.add_node(*k);
        for d in ds {
            g.add_edge(*d, *k, ());
        }
    }
    petgraph::algo::tarjan_scc(&g).into_iter().find(|scc| scc.len() > 1)
}

/// Evaluates the step's final configuration (values from completed dependencies now known)
/// and returns the future that performs it.
fn start_step(
    input: &mut ApplyInput<'_>,
    c: &ResourceChange,
    key: Key,
    persister: &persist::Persister,
    apply_id: &str,
    seq: &Arc<std::sync::atomic::AtomicU64>,
    interrupted: &Arc<BTreeMap<InstanceAddr, (String, String)>>,
) -> Result<StepFuture, String> {
    if c.addr.resource.mode == ResourceMode::Data {
        return start_read(input, c, key, persister);
    }
    // Through the configuration the plan chose for the change (for a delete, the one that
    // created the object): its own clients, project and region.
    let rt: Arc<dyn ResourceType> = input
        .registry
        .resource_type_for(&c.type_name, &c.provider)
        .ok_or_else(|| format!("unsupported resource type {}", c.type_name))?;
    let block = input.config.resource(&c.addr.resource);
    let mut cc = CallContext::new(input.provider_configs.get(&c.provider).cloned().unwrap_or(Value::Null));
    let defaults = rt.default_timeouts();
    let timeouts = block.map(|b| b.timeouts.clone()).unwrap_or_default();
    let pick = |x: Option<Duration>, d: Option<Duration>| x.or(d).unwrap_or(Duration::from_secs(20 * 60));
    cc.timeout = match key.1 {
        Step::Main if c.action == Action::Update => pick(timeouts.update, defaults.update),
        Step::Main => pick(timeouts.create, defaults.create),
        Step::Delete | Step::DeleteOld => pick(timeouts.delete, defaults.delete),
        Step::Import => pick(timeouts.read, defaults.read),
    };
    let progress = input.progress.clone();
    let addr_for_progress = c.addr.clone();
    cc.progress = Arc::new(move |msg: &str| {
        progress.event(ApplyEvent::Message { addr: addr_for_progress.clone(), message: msg.to_string() })
    });

    let (config_value, planned) = if key.1 == Step::Main {
        let block = block.ok_or_else(|| format!("{} is no longer in the configuration", c.addr))?;
        input.env.refresh_cone(input.config, input.graph, &c.addr.resource).map_err(|d| render(&d))?;
        let for_each = expand_for_apply(input.config, &input.env, &c.addr.resource, block).map_err(|d| render(&d))?;
        let scope = ModuleScope { env: &input.env, config: input.config, module: &c.addr.resource.module };
        let ctx = instance_ctx(input.config, &scope, &c.addr.resource.module, &c.addr.key, for_each.as_ref(), block);
        let raw = crate::plan::env::eval_body_expr(&block.body, &ctx).map_err(|d| render(&d))?;
        let conf = validate::conform(&block.body, raw, rt.schema(), block.span).map_err(|d| render(&d))?;
        let vd = validate::check_values(&block.body, &conf, rt.schema(), block.span);
        if vd.has_errors() {
            return Err(render(&vd));
        }
        let key = input.fingerprint_key;
        let fingerprint = move |v: &Value| codec::fingerprint(&key, v);
        let instance = InstanceInput {
            prior: c.before.as_ref(),
            config: &conf,
            force_replace: c.action.is_replace(),
            ignore_changes: &block.lifecycle.ignore_changes,
            fingerprint: &fingerprint,
        };
        let now =
            plan_instance(&*rt, &instance).map_err(|e| describe_error(&c.addr, &e, &SecretStrings::of([&conf])))?;
        let planned = final_plan(c, now)?;
        if let Some(p) = unknown_argument(&planned, &conf) {
            return Err(format!("argument {p} is still unknown at apply time"));
        }
        (conf, planned)
    } else {
        (Value::Null, Value::Null)
    };

    let action_name = match key.1 {
        Step::Main if c.action == Action::Update => "update",
        Step::Main => "create",
        Step::Delete | Step::DeleteOld => "delete",
        Step::Import => "import",
    };
    let entry = JournalEntry {
        apply_id: apply_id.to_string(),
        seq: seq.fetch_add(1, std::sync::atomic::Ordering::SeqCst),
        addr: c.addr.clone(),
        action: action_name.to_string(),
        type_name: c.type_name.clone(),
        cloud_name: if key.1 == Step::Main {
            rt.cloud_name(&planned)
        } else {
            c.before.as_ref().and_then(|b| rt.cloud_name(b))
        },
        operation_id: None,
        status: JournalStatus::Started,
        time: chrono::Utc::now().to_rfc3339(),
    };
    let persister = persister.clone();
    let key_bytes = input.fingerprint_key;
    // The change travels with the step (its values share their maps with the plan's).
    let change = c.clone();
    let step = key.1;
    // The name an interrupted apply's create of this instance journaled, when the plan creates
    // it again: a create the API refuses as existing is then that create's object.
    let earlier_create =
        (key.1 == Step::Main && c.action != Action::Update).then(|| interrupted.get(&c.addr).cloned()).flatten();
    Ok(Box::pin(async move {
        let (before, addr) = (&change.before, &change.addr);
        let result: Result<Option<Produced>, String> = async {
            if step == Step::Import {
                let v = before.clone().unwrap_or(Value::Null);
                let stored = change.recorded(rt.schema(), &v, &key_bytes);
                persister.write_resource(addr.clone(), Some(stored.clone())).await?;
                return Ok(Some((v, stored)));
            }
            if change.action == Action::Forget {
                // No call: the object stays where it is, and state no longer records it.
                persister.write_resource(addr.clone(), None).await?;
                return Ok(None);
            }
            persister.journal(entry.clone()).await?;
            tracing::debug!(address = %addr, action = %entry.action, "journaled; calling the provider");
            // What the call produced, and the resource write that records it (stored together
            // with the entry that closes the journal).
            let (outcome, write): (Result<Option<Produced>, String>, _) = match step {
                Step::Main => {
                    let res = if change.action == Action::Update {
                        let prior = before.as_ref().unwrap_or(&Value::Null);
                        rt.update(&cc, prior, &planned, &config_value, &change.changed_paths).await
                    } else {
                        // An API that never refuses a duplicate (a secret version) is asked
                        // first what the interrupted create made.
                        let made_before = match &earlier_create {
                            Some((name, since)) if !rt.create_refuses_duplicates() => rt
                                .find_interrupted_create(&cc, name, since, &planned, &config_value)
                                .await
                                .map(|found| {
                                    found.map(|v| {
                                        (cc.progress)(&format!(
                                            "adopting \"{}\", created by an apply that was interrupted",
                                            v.get("name").and_then(Value::as_str).unwrap_or(name)
                                        ));
                                        keep_secrets_sent(rt.schema(), v, &planned)
                                    })
                                }),
                            _ => Ok(None),
                        };
                        match made_before {
                            Err(e) => Err(e),
                            Ok(Some(v)) => Ok(v),
                            Ok(None) => match rt.create(&cc, &planned, &config_value).await {
                            Err(e) if e.already_exists => match &earlier_create {
                                Some((name, _)) => adopt_interrupted_create(rt.as_ref(), &cc, name)
                                    .await
                                    .map(|v| keep_secrets_sent(rt.schema(), v, &planned))
                                    .map_err(|read| {
                                    crate::providers::ProviderError {
                                        message: format!(
                                            "{}; an interrupted apply was creating \"{name}\", and reading it failed: {}",
                                            e.message, read.message
                                        ),
                                        ..e
                                    }
                                }),
                                None => Err(e),
                            },
                            other => other,
                        },
                        }
                    };
                    match res {
                        Ok(v) => {
                            let v = carry_marks(rt.schema().keep_client_only(&planned, v), &planned);
                            let stored = change.recorded(rt.schema(), &v, &key_bytes);
                            let write = Some((addr.clone(), Some(stored.clone())));
                            (Ok(Some((v, stored))), write)
                        }
                        Err(e) => (Err(describe_error(addr, &e, &SecretStrings::of([&planned, &config_value]))), None),
                    }
                }
                Step::Delete | Step::DeleteOld => {
                    match delete_as_policy_says(rt.as_ref(), &cc, before.as_ref()).await {
                        // The old object of a create-then-delete is not in state any more: its
                        // replacement took its address.
                        Ok(()) => (Ok(None), (step == Step::Delete).then(|| (addr.clone(), None))),
                        Err(e) if e.not_found => (Ok(None), (step == Step::Delete).then(|| (addr.clone(), None))),
                        Err(e) => (Err(describe_error(addr, &e, &SecretStrings::of(before.iter()))), None),
                    }
                }
                Step::Import => unreachable!("handled above"),
            };
            let status = if outcome.is_ok() { JournalStatus::Succeeded } else { JournalStatus::Failed };
            let closing = JournalEntry { status, time: chrono::Utc::now().to_rfc3339(), ..entry };
            persister.complete(write, closing).await?;
            outcome
        }
        .await;
        Done { key, result }
    }))
}

type StepFuture = std::pin::Pin<Box<dyn std::future::Future<Output = Done> + Send>>;

/// A data source's read that the plan deferred: its arguments, now that what they refer to
/// is applied, must all be known. A read changes nothing, so it is not journaled; its result
/// is persisted like any completed step.
fn start_read(
    input: &mut ApplyInput<'_>,
    c: &ResourceChange,
    key: Key,
    persister: &persist::Persister,
) -> Result<StepFuture, String> {
    let ds = input
        .registry
        .data_source_for(&c.type_name, &c.provider)
        .ok_or_else(|| format!("unsupported data source {}", c.type_name))?;
    let block = input
        .config
        .resource(&c.addr.resource)
        .ok_or_else(|| format!("{} is no longer in the configuration", c.addr))?;
    input.env.refresh_cone(input.config, input.graph, &c.addr.resource).map_err(|d| render(&d))?;
    let for_each = expand_for_apply(input.config, &input.env, &c.addr.resource, block).map_err(|d| render(&d))?;
    let scope = ModuleScope { env: &input.env, config: input.config, module: &c.addr.resource.module };
    let ctx = instance_ctx(input.config, &scope, &c.addr.resource.module, &c.addr.key, for_each.as_ref(), block);
    let raw = crate::plan::env::eval_body_expr(&block.body, &ctx).map_err(|d| render(&d))?;
    let conf = validate::conform(&block.body, raw, ds.schema(), block.span).map_err(|d| render(&d))?;
    let vd = validate::check_values(&block.body, &conf, ds.schema(), block.span);
    if vd.has_errors() {
        return Err(render(&vd));
    }
    if let Some((name, _)) = conf.as_map().and_then(|m| m.iter().find(|(_, v)| v.contains_unknown())) {
        return Err(format!("{}: argument {name} is still unknown at apply time", c.addr));
    }
    let mut cc = CallContext::new(input.provider_configs.get(&c.provider).cloned().unwrap_or(Value::Null));
    cc.timeout = block.timeouts.read.unwrap_or(Duration::from_secs(20 * 60));
    cc.root_dir = Some(input.config.root_dir.clone());
    let progress = input.progress.clone();
    let addr_for_progress = c.addr.clone();
    cc.progress = Arc::new(move |msg: &str| {
        progress.event(ApplyEvent::Message { addr: addr_for_progress.clone(), message: msg.to_string() })
    });
    let persister = persister.clone();
    let key_bytes = input.fingerprint_key;
    let change = c.clone();
    Ok(Box::pin(async move {
        let addr = &change.addr;
        let result = async {
            let v = crate::plan::planner::read_data_source(&*ds, &cc, &conf)
                .await
                .map_err(|e| describe_error(addr, &e, &SecretStrings::of([&conf])))?;
            let stored = crate::plan::planner::data_state(
                ds.schema(),
                &change.type_name,
                &change.provider,
                &v,
                &change.dependencies,
                &key_bytes,
            );
            persister.write_resource(addr.clone(), Some(stored.clone())).await?;
            Ok(Some((v, stored)))
        }
        .await;
        Done { key, result }
    }))
}

/// The instances whose create an earlier apply journaled and never saw finish, with the cloud
/// name it journaled and when.
async fn interrupted_creates(
    store: &dyn StateStore,
) -> Result<BTreeMap<InstanceAddr, (String, String)>, crate::state::StateError> {
    Ok(store
        .open_journal()
        .await?
        .into_iter()
        .filter(|e| e.action == "create")
        .filter_map(|e| Some((e.addr, (e.cloud_name?, e.time))))
        .collect())
}

/// The object an interrupted apply's create is making under `name`: the API refused the new
/// create because that one exists or is still being created, so it is read by name until it
/// appears (its operation finishes), within the create's timeout, and adopted.
async fn adopt_interrupted_create(
    rt: &dyn ResourceType,
    cc: &CallContext,
    name: &str,
) -> Result<Value, crate::providers::ProviderError> {
    let deadline = Instant::now() + cc.timeout;
    let mut pause = Duration::from_millis(250);
    (cc.progress)(&format!("adopting \"{name}\", created by an apply that was interrupted (waiting for it to exist)"));
    loop {
        match rt.import(cc, name).await {
            Ok(v) => return Ok(v),
            Err(e) if e.not_found && Instant::now() + pause < deadline => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
            Err(e) => return Err(e),
        }
    }
}

/// An adopted object read back by name, with the sensitive arguments the interrupted create
/// sent and no read returns (a SQL user's password): those are what this create sends too, and
/// without them the next plan would set them again, never converging.
fn keep_secrets_sent(schema: &crate::schema::Schema, mut read: Value, planned: &Value) -> Value {
    for (name, attr) in &schema.attributes {
        if !attr.sensitive || attr.write_only {
            continue;
        }
        let sent = planned.get(name).filter(|v| !v.is_null() && !v.contains_unknown());
        let unread = read.get(name).is_none_or(Value::is_null);
        if let (Some(sent), true, Some(m)) = (sent, unread, read.map_mut()) {
            m.insert(name.to_string(), sent.clone());
        }
    }
    read
}

/// Deletes an object as its `deletion_policy` says: ABANDON forgets it without a call (the
/// object stays in the cloud), PREVENT refuses (the plan refuses first; this guards a plan
/// file made before the policy was stored), anything else calls the provider.
async fn delete_as_policy_says(
    rt: &dyn crate::providers::ResourceType,
    cc: &CallContext,
    before: Option<&Value>,
) -> Result<(), crate::providers::ProviderError> {
    let before = before.unwrap_or(&Value::Null);
    match before.get(crate::plan::planner::DELETION_POLICY).and_then(Value::as_str) {
        Some("ABANDON") => {
            tracing::info!(resource_type = rt.name(), "deletion_policy = ABANDON: forgotten, not deleted");
            Ok(())
        }
        Some("PREVENT") => Err(crate::providers::ProviderError::new(
            "deletion_policy = \"PREVENT\" in state: the object is not deleted; apply deletion_policy = \"DELETE\" first",
        )),
        _ => rt.delete(cc, before).await,
    }
}

/// A provider error for the user. An API's message may quote a field of the request (an
/// invalid password, a payload), so every secret the step held is taken out of it.
fn describe_error(addr: &InstanceAddr, e: &crate::providers::ProviderError, secrets: &SecretStrings) -> String {
    let message = secrets.redact(&e.message);
    match &e.method {
        Some(m) => format!("{addr}: {m}: {message}"),
        None => format!("{addr}: {message}"),
    }
}

fn render(d: &Diagnostics) -> String {
    d.errors().map(|e| e.summary.clone()).collect::<Vec<_>>().join("; ")
}

/// Updates the in-memory state and environment after a step succeeded.
fn record_success(
    input: &mut ApplyInput<'_>,
    state: &mut State,
    c: &ResourceChange,
    step: Step,
    produced: Option<Produced>,
) {
    match (step, produced) {
        (Step::Main | Step::Import, Some((v, stored))) => {
            state.resources.insert(c.addr.clone(), stored);
            input.env.set_instance(&c.addr.resource, c.addr.key.clone(), v);
        }
        (Step::Delete, _) => {
            state.resources.remove(&c.addr);
        }
        _ => {}
    }
}

/// Keeps the sensitive marks the plan had on the provider's result.
fn carry_marks(result: Value, planned: &Value) -> Value {
    if planned.is_sensitive() {
        return result.sensitive();
    }
    match (result, planned.peel()) {
        (Value::Map(m), Value::Map(p)) => {
            let mut m = Arc::unwrap_or_clone(m);
            for (k, pv) in p.iter() {
                if let Some(x) = m.remove(k) {
                    m.insert(k.clone(), carry_marks(x, pv));
                }
            }
            Value::object(m)
        }
        (Value::List(xs), Value::List(ps)) => Value::List(
            xs.into_iter()
                .enumerate()
                .map(|(i, x)| match ps.get(i) {
                    Some(p) => carry_marks(x, p),
                    None => x,
                })
                .collect(),
        ),
        (r, _) => r,
    }
}

/// The value a step sends: apply's own plan of the step, which must agree with every value the
/// reviewed plan showed as known, and must not turn an in-place update into a replacement.
fn final_plan(c: &ResourceChange, now: crate::plan::instance::InstancePlan) -> Result<Value, String> {
    let inconsistent = |what: String| {
        format!(
            "{}: provider \"{}\" produced an inconsistent final plan: when planning the step again with the values known at apply time, {what}. This is a bug in the resource type; nothing was sent for this instance",
            c.addr, c.provider
        )
    };
    if c.action == Action::Update && now.action.is_replace() {
        let paths: Vec<String> = now.replace_paths.iter().map(ToString::to_string).collect();
        return Err(inconsistent(format!("it now requires replacement ({})", paths.join(", "))));
    }
    if let Some(planned) = &c.after {
        check_consistent(planned, &now.planned).map_err(|i| inconsistent(format!("attribute {i}")))?;
    }
    Ok(now.planned)
}

/// A configured argument whose value is still unknown (a dependency did not produce it).
/// Withheld secrets are not "unknown" here: they exist, and a provider only sends what changed
/// (the plan refuses a step that would have to send one; see planner::withheld_needed).
fn unknown_argument(_planned: &Value, conf: &Value) -> Option<String> {
    let m = conf.as_map()?;
    m.iter().find(|(_, v)| crate::plan::env::has_pending(v)).map(|(k, _)| k.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(addr: &str, action: Action, deps: &[&str], create_before_destroy: bool) -> ResourceChange {
        let inst = |s: &str| match s.parse::<crate::addr::AnyAddr>().unwrap() {
            crate::addr::AnyAddr::Resource(r) => r.instance(crate::addr::InstanceKey::None),
            other => panic!("{other} is not a resource"),
        };
        ResourceChange {
            addr: inst(addr),
            previous_addr: None,
            type_name: "terraform_data".into(),
            provider: "terraform".into(),
            action,
            reason: None,
            before: None,
            after: None,
            changed_paths: vec![],
            replace_paths: vec![],
            importing: None,
            dependencies: deps.iter().map(|d| inst(d)).collect(),
            create_before_destroy,
            warnings: vec![],
        }
    }

    /// The steps in an order the graph allows, as "address step" strings.
    fn order(changes: &[ResourceChange]) -> Vec<String> {
        let g = step_graph(changes, &State::default()).expect("orderable");
        let mut waiting: BTreeMap<Key, usize> = g.deps.iter().map(|(k, v)| (*k, v.len())).collect();
        let mut out = Vec::new();
        while let Some(k) = waiting.iter().find(|(_, n)| **n == 0).map(|(k, _)| *k) {
            waiting.remove(&k);
            out.push(format!("{} {:?}", changes[k.0].addr, k.1));
            for d in g.dependents.get(&k).into_iter().flatten() {
                *waiting.get_mut(d).unwrap() -= 1;
            }
        }
        assert!(waiting.is_empty(), "steps never ready: {waiting:?}");
        out
    }

    fn before(order: &[String], a: &str, b: &str) -> bool {
        let at = |s: &str| order.iter().position(|x| x == s).unwrap_or_else(|| panic!("no step {s} in {order:?}"));
        at(a) < at(b)
    }

    #[test]
    fn creates_follow_their_dependencies() {
        let o = order(&[
            change("terraform_data.net", Action::Create, &[], false),
            change("terraform_data.db", Action::Create, &["terraform_data.net"], false),
            change("terraform_data.old_user", Action::Delete, &["terraform_data.db"], false),
        ]);
        assert!(before(&o, "terraform_data.net Main", "terraform_data.db Main"), "{o:?}");
        assert_eq!(o.len(), 3);
    }

    #[test]
    fn a_replacement_deletes_first_unless_create_before_destroy() {
        let o = order(&[change("terraform_data.a", Action::DeleteThenCreate, &[], false)]);
        assert_eq!(o, vec!["terraform_data.a Delete", "terraform_data.a Main"]);

        let o = order(&[
            change("terraform_data.cert", Action::CreateThenDelete, &[], true),
            change("terraform_data.proxy", Action::Update, &["terraform_data.cert"], false),
        ]);
        assert!(before(&o, "terraform_data.cert Main", "terraform_data.proxy Main"), "{o:?}");
        assert!(
            before(&o, "terraform_data.proxy Main", "terraform_data.cert DeleteOld"),
            "the old certificate goes only after the proxy stopped using it: {o:?}"
        );
    }

    #[test]
    fn a_deleted_object_waits_for_its_users_to_let_go() {
        let o = order(&[
            change("terraform_data.base", Action::Delete, &[], false),
            change("terraform_data.user", Action::Delete, &["terraform_data.base"], false),
        ]);
        assert_eq!(o, vec!["terraform_data.user Delete", "terraform_data.base Delete"]);
    }

    #[test]
    fn no_ops_are_not_steps_but_imports_are() {
        let mut imported = change("terraform_data.adopted", Action::NoOp, &[], false);
        imported.importing = Some("id-1".into());
        let o = order(&[change("terraform_data.same", Action::NoOp, &[], false), imported]);
        assert_eq!(o, vec!["terraform_data.adopted Import"]);
    }

    #[test]
    fn stored_outputs_keep_secrets_by_name_only() {
        let outputs = BTreeMap::from([
            ("plain".to_string(), (Value::string("x"), false)),
            ("declared".to_string(), (Value::string("y"), true)),
            ("derived".to_string(), (Value::map([("k", Value::string("z").sensitive())]), false)),
        ]);
        let stored = stored_outputs(&outputs);
        assert_eq!(stored["plain"].value, serde_json::json!("x"));
        for name in ["declared", "derived"] {
            assert!(stored[name].sensitive && stored[name].value.is_null(), "{name}");
        }
    }

    #[test]
    fn interrupt_levels_and_step_actions() {
        let i = Interrupt::new();
        assert_eq!(i.level(), 0);
        assert_eq!(i.raise(), 1);
        assert_eq!(i.raise(), 2);
        assert_eq!(step_action(Action::DeleteThenCreate, Step::Main), Action::Create);
        assert_eq!(step_action(Action::CreateThenDelete, Step::DeleteOld), Action::Delete);
        for _ in 0..300 {
            i.raise();
        }
        assert_eq!(i.level(), u8::MAX, "the level saturates instead of wrapping to 0");
    }

    #[test]
    fn a_signal_cancels_until_steps_begin_and_only_raises_the_level_after() {
        let before = Interrupt::new();
        assert_eq!(before.signal(), Signalled::Cancel { at_prompt: false });
        assert!(!before.begin_applying(), "a cancelled operation starts no step");
        assert_eq!(before.signal(), Signalled::Cancel { at_prompt: false });

        let prompt = Interrupt::new();
        prompt.prompting(true);
        assert_eq!(prompt.signal(), Signalled::Cancel { at_prompt: true });
        assert!(!prompt.begin_applying());

        let answered = Interrupt::new();
        answered.prompting(true);
        answered.prompting(false);
        assert!(answered.begin_applying());
        assert!(answered.begin_applying(), "beginning twice is still applying");
        assert_eq!(answered.signal(), Signalled::Raised(1));
        assert_eq!(answered.signal(), Signalled::Raised(2));
    }
}
