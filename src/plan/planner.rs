//! Making a plan: refresh what state knows, walk the configuration in dependency order, and
//! decide an action per resource instance.
//!
//! Reads only: nothing here calls a mutating provider method (import blocks read the object
//! they adopt, as Terraform's plan-time import does).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use crate::addr::{AnyAddr, AttrPath, Dependencies, InstanceAddr, InstanceKey, ModulePath, ResourceAddr};
use crate::graph::{Graph, Node};
use crate::lang::config::{Config, ResourceBlock, ResourceMode};
use crate::lang::diag::{Diagnostic, Diagnostics};
use crate::lang::eval::{eval, Resolver};
use crate::lang::limits::MAX_INSTANCES;
use crate::lang::value::SecretStrings;
use crate::lang::value::Value;
use crate::plan::env::{
    ctx, instance_ctx, module_dir_display, Env, Expansion, Instances, ModuleExpansion, ModuleScope,
};
use crate::plan::instance::{plan_instance, InstanceInput};
use crate::plan::model::*;
use crate::providers::{CallContext, PlannedObject, ReadPurpose, ReadRequest, Registry, ResourceType};
use crate::schema::diff::changed_paths_with_schema;
use crate::schema::propose::propose;
use crate::schema::validate::argument_span;
use crate::schema::{validate, Schema};
use crate::state::{codec, CheckResult, CheckStatus, JournalEntry, State};

mod data;
pub(crate) use data::{data_state, read_data_source};

pub struct PlanOptions {
    pub mode: PlanMode,
    pub refresh: bool,
    pub targets: Vec<AnyAddr>,
    pub replace: Vec<InstanceAddr>,
    pub parallelism: usize,
    /// `cairn validate`: no state, unknown variables allowed, no provider calls.
    pub validate_only: bool,
    /// References see the refreshed (live) objects rather than the planned ones: what
    /// `cairn check` evaluates health against.
    pub live_values: bool,
    /// What `plantimestamp()` returns: a saved plan's time when `apply PLANFILE` plans again,
    /// so that it applies the values that were reviewed. `None`: the time this plan starts.
    pub plan_time: Option<chrono::DateTime<chrono::Utc>>,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            mode: PlanMode::Normal,
            refresh: true,
            targets: Vec::new(),
            replace: Vec::new(),
            parallelism: 10,
            validate_only: false,
            live_values: false,
            plan_time: None,
        }
    }
}

pub struct PlanInput<'a> {
    pub config: &'a Config,
    pub graph: &'a Graph,
    pub registry: &'a Registry,
    /// Root variables, converted and marked (sensitive ones already wrapped).
    pub variables: BTreeMap<String, Value>,
    pub state: State,
    pub fingerprint_key: [u8; 32],
    /// Steps of an interrupted apply that may have left objects behind.
    pub open_journal: Vec<JournalEntry>,
    /// Evaluated provider blocks by configuration (`google`, `google.other`).
    pub provider_configs: BTreeMap<String, Value>,
}

/// What the plan walk produced besides the plan: the environment, which apply continues from.
pub struct PlanResult {
    pub plan: Plan,
    pub env: Env,
    pub warnings: Diagnostics,
}

pub fn schema_of<'r>(registry: &'r Registry, type_name: &str) -> Option<&'r Arc<dyn ResourceType>> {
    registry.get(type_name)
}

/// Decodes a stored instance into a Value with its schema's sensitive marks.
pub fn decode_instance(schema: &Schema, r: &crate::state::ResourceInstanceState) -> Value {
    codec::decode(&r.attributes, &r.sensitive_fingerprints, schema)
}

pub async fn plan(mut input: PlanInput<'_>, opts: &PlanOptions) -> Result<PlanResult, Diagnostics> {
    let config = input.config;
    let key = input.fingerprint_key;
    let fingerprint = move |v: &Value| codec::fingerprint(&key, v);
    let (lineage, serial) = (input.state.lineage.clone(), input.state.serial);

    // 1. Moved blocks rename state entries before anything is compared.
    let mut state = std::mem::take(&mut input.state);
    let moved_from = apply_moved(config, &mut state)?;
    // 2. Decode stored instances.
    let mut prior = decode_prior(&state, input.registry)?;
    if !opts.validate_only {
        check_orphan_configurations(config, &state, &input.provider_configs)?;
    }
    // 3. Refresh: one read_many per type, bounded concurrency.
    let refreshed = if opts.refresh && !opts.validate_only && !prior.is_empty() {
        refresh_prior(&input, &state, &mut prior, opts, &fingerprint).await?
    } else {
        Refreshed::default()
    };
    // 4. Walk the configuration.
    let targets = target_closure(input.graph, &opts.targets);
    let read = WalkInput {
        input: &input,
        state: &state,
        prior: &prior,
        opts,
        fingerprint: &fingerprint,
        moved_from: &moved_from,
        targets: targets.as_ref(),
    };
    let walked = Walk::new(read).run().await?;
    let Walked { env, mut changes, planned_instances, missing, mut warnings, data_reads } = walked;
    let module_instances = all_module_instances(config, &env);
    let mut diags = Diagnostics::new();
    // 5. Instances in state that the configuration no longer has.
    if !opts.validate_only {
        changes.extend(orphan_deletes(
            config,
            &state,
            &prior,
            &planned_instances,
            &module_instances,
            targets.as_ref(),
            &moved_from,
            &mut diags,
        ));
    }
    // 6. Destroy mode turns everything into deletes; refresh-only changes nothing.
    match opts.mode {
        PlanMode::Destroy => {
            // The walk's changes are let go of first: at 100,000 instances, holding them while
            // the deletes are built was the destroy plan's peak.
            drop(std::mem::take(&mut changes));
            changes = destroy_deletes(config, &state, &prior, targets.as_ref(), &mut diags)
        }
        PlanMode::RefreshOnly => {
            for c in changes.iter_mut() {
                c.action = Action::NoOp;
            }
            changes.retain(|c| c.before.is_some());
        }
        PlanMode::Normal => {}
    }
    refuse_prevented_deletes(&changes, config, input.registry, &mut diags);
    check_across_resources(&changes, config, input.registry, &mut diags);
    if diags.has_errors() {
        return Err(diags);
    }
    warn_replaced_while_in_use(&mut changes, &state);
    // 7. Outputs and checks.
    let output_changes = output_changes(config, &state, &env, opts.mode);
    let checks = evaluate_checks_with_missing(config, &env, &missing, &mut diags);

    let (vars, sensitive_vars) = split_variables(&input.variables);
    let plan = Plan {
        mode: opts.mode,
        lineage,
        serial,
        config_hash: config_hash(config),
        variables: vars,
        sensitive_variables: sensitive_vars,
        changes,
        drift: refreshed.drift,
        output_changes,
        checks,
        prior_state: {
            let stored_data = data::stored_data_entries(&state);
            let rebuilt = rebuild_prior_state(state, &prior, &refreshed.changed, input.registry, &key);
            data::with_data_reads(rebuilt, stored_data, data_reads)
        },
        targets: opts.targets.iter().map(|t| t.to_string()).collect(),
        warnings: warnings.0.iter().chain(diags.0.iter()).map(|d| d.summary.clone()).collect(),
        plan_time: env.clock.plan_time,
    };
    warnings.extend(diags);
    Ok(PlanResult { plan, env, warnings })
}

/// Decodes every stored instance into a value with its schema's marks.
fn decode_prior(state: &State, registry: &Registry) -> Result<BTreeMap<InstanceAddr, Value>, Diagnostics> {
    let mut diags = Diagnostics::new();
    let mut prior = BTreeMap::new();
    // Data entries are not refreshed or planned against: every plan reads them anew.
    for (addr, r) in state.resources.iter().filter(|(a, _)| a.resource.mode == ResourceMode::Managed) {
        let Some(rt) = registry.get(&r.type_name) else {
            diags.push(
                Diagnostic::error(format!(
                    "The state holds {addr} of type \"{}\", which this version of Cairn does not support",
                    r.type_name
                ))
                .help("use a Cairn version that supports it, or remove it from state with `cairn state rm`"),
            );
            continue;
        };
        prior.insert(addr.clone(), decode_instance(rt.schema(), r));
    }
    if diags.has_errors() {
        return Err(diags);
    }
    Ok(prior)
}

/// What a refresh found.
#[derive(Default)]
struct Refreshed {
    /// Changes someone made outside Cairn.
    drift: Vec<Drift>,
    /// Instances whose live object differs from what state recorded (drift or not), so whose
    /// stored form must be written again.
    changed: BTreeSet<InstanceAddr>,
}

/// Replaces each prior value with the live object (removing the ones that are gone) and
/// reports drift.
async fn refresh_prior(
    input: &PlanInput<'_>,
    state: &State,
    prior: &mut BTreeMap<InstanceAddr, Value>,
    opts: &PlanOptions,
    fingerprint: &dyn Fn(&Value) -> String,
) -> Result<Refreshed, Diagnostics> {
    let mut out = Refreshed::default();
    let live = refresh(input, state, prior, opts.parallelism, read_purpose(opts)).await?;
    for (addr, now) in live {
        let Some(before) = prior.remove(&addr) else { continue };
        let r = &state.resources[&addr];
        let Some(rt) = input.registry.get(&r.type_name) else { continue };
        let schema = rt.schema();
        let drifted = |action, after, changed_paths| Drift {
            addr: addr.clone(),
            type_name: r.type_name.clone(),
            provider: r.provider.clone(),
            action,
            before: before.clone(),
            after,
            changed_paths,
        };
        match now {
            None => {
                out.drift.push(drifted(Action::Delete, None, vec![]));
                out.changed.insert(addr);
            }
            Some(now) => {
                // A provider may read a secret back unmarked: the schema says what is secret,
                // so drift reports, check blocks and the plan never see it bare.
                let now = schema.mark_sensitive(now);
                let mut changed = changed_paths_with_schema(schema, &before, &now, fingerprint);
                // Drift is a change someone made: attributes only the API sets (status,
                // fingerprints, expiry) move on their own and are refreshed silently.
                changed.retain(|p| schema.attribute_at(p).is_none_or(|a| !(a.computed && !a.optional && !a.required)));
                changed.sort();
                if !changed.is_empty() {
                    out.drift.push(drifted(Action::Update, Some(unread_as_before(&before, &now)), changed));
                }
                if now != before {
                    out.changed.insert(addr.clone());
                }
                prior.insert(addr, now);
            }
        }
    }
    Ok(out)
}

/// The graph walk's result.
struct Walked {
    env: Env,
    changes: Vec<ResourceChange>,
    /// Every instance the configuration has (whatever its action).
    planned_instances: BTreeSet<InstanceAddr>,
    /// `cairn check`: instances that do not exist (null to check blocks).
    missing: BTreeSet<InstanceAddr>,
    warnings: Diagnostics,
    /// Data instances read during this plan, as state records them.
    data_reads: BTreeMap<InstanceAddr, crate::state::ResourceInstanceState>,
}

/// What a walk reads: the plan's input, the (moved, refreshed) state it starts from, and
/// the options.
struct WalkInput<'w> {
    input: &'w PlanInput<'w>,
    state: &'w State,
    prior: &'w BTreeMap<InstanceAddr, Value>,
    opts: &'w PlanOptions,
    fingerprint: &'w dyn Fn(&Value) -> String,
    moved_from: &'w BTreeMap<InstanceAddr, InstanceAddr>,
    targets: Option<&'w Targets>,
}

/// Walks the configuration graph in dependency order: evaluates variables, locals and outputs,
/// expands each resource and plans each of its instances.
struct Walk<'w> {
    read: WalkInput<'w>,
    /// Import blocks: target instance → id (a string, marked sensitive when computed from a
    /// secret).
    imports: BTreeMap<InstanceAddr, Value>,
    /// Objects an interrupted apply created but did not record, by the address they were for.
    recovered: BTreeMap<InstanceAddr, &'w JournalEntry>,
    actions_by_resource: HashMap<ResourceAddr, Vec<Action>>,
    env: Env,
    changes: Vec<ResourceChange>,
    planned_instances: BTreeSet<InstanceAddr>,
    missing: BTreeSet<InstanceAddr>,
    warnings: Diagnostics,
    diags: Diagnostics,
    data_reads: BTreeMap<InstanceAddr, crate::state::ResourceInstanceState>,
}

/// One resource block being planned, with what its instances share.
struct ResourceWalk<'r> {
    addr: &'r ResourceAddr,
    block: &'r ResourceBlock,
    rt: Arc<dyn ResourceType>,
    provider: String,
    dependencies: Dependencies,
    triggered: bool,
    in_target: bool,
    /// The map `each.value` reads (for_each only).
    each: Option<Value>,
}

impl<'w> Walk<'w> {
    fn new(read: WalkInput<'w>) -> Self {
        let input = read.input;
        let mut env = Env::default();
        // One time for the whole plan; `validate` makes no plan, so has none (Terraform's
        // plantimestamp() is unknown there).
        if !read.opts.validate_only {
            env.clock = crate::lang::functions::Clock::planning(
                read.opts.plan_time.unwrap_or_else(crate::lang::functions::Clock::now),
            );
        }
        for (k, v) in &input.variables {
            env.vars.insert((ModulePath::root(), k.clone()), v.clone());
        }
        for v in input.config.root().variables.values() {
            env.vars.entry((ModulePath::root(), v.name.clone())).or_insert_with(Value::unknown);
        }
        let mut diags = Diagnostics::new();
        let imports = import_targets(input.config, &mut env, &mut diags);
        let recovered = input
            .open_journal
            .iter()
            .filter(|e| e.action == "create" && !read.prior.contains_key(&e.addr))
            .map(|e| (e.addr.clone(), e))
            .collect();
        Walk {
            read,
            imports,
            recovered,
            actions_by_resource: HashMap::new(),
            env,
            changes: Vec::new(),
            planned_instances: BTreeSet::new(),
            missing: BTreeSet::new(),
            // The loader's warnings (a deprecated provider `version`, a backend block in a
            // child module) reach the user with the plan's own.
            warnings: input.config.warnings.clone(),
            diags,
            data_reads: BTreeMap::new(),
        }
    }

    async fn run(mut self) -> Result<Walked, Diagnostics> {
        if self.diags.has_errors() {
            // A broken import block (its targets unknown) would only add noise to a walk.
            return Err(self.diags);
        }
        let config = self.read.input.config;
        for node in self.read.input.graph.order() {
            match node {
                Node::Resource(raddr) => {
                    for module in self.env.module_instances(config, &raddr.module) {
                        self.resource(&ResourceAddr { module, ..raddr.clone() }).await;
                    }
                }
                Node::ModuleCall(path) => self.module_call(path),
                other => {
                    if let Err(d) = self.env.eval_node(config, other) {
                        self.diags.extend(d);
                    }
                }
            }
        }
        if self.diags.has_errors() {
            return Err(self.diags);
        }
        self.warnings.extend(self.diags);
        Ok(Walked {
            env: self.env,
            changes: self.changes,
            planned_instances: self.planned_instances,
            missing: self.missing,
            warnings: self.warnings,
            data_reads: self.data_reads,
        })
    }

    /// Expands a module block's `count`/`for_each` in each instance of its caller.
    fn module_call(&mut self, path: &ModulePath) {
        let config = self.read.input.config;
        let Some(call) = config.module_call(path).filter(|c| c.is_expanded()) else { return };
        let Some((parent, name)) = path.parent() else { return };
        for caller in self.env.module_instances(config, &parent) {
            let what = caller.child(name).to_string();
            let expanded = expand(
                config,
                &self.env,
                &caller,
                &what,
                call.count.as_ref(),
                call.for_each.as_ref(),
                self.read.opts.validate_only,
            );
            match expanded {
                Ok((expansion, each)) => {
                    self.env.module_calls.insert((caller, name.to_string()), ModuleExpansion { expansion, each });
                }
                Err(d) => self.diags.extend(d),
            }
        }
    }

    /// Checks a resource block (in one module instance), expands it and plans each instance.
    async fn resource(&mut self, raddr: &ResourceAddr) {
        let (config, registry) = (self.read.input.config, self.read.input.registry);
        if raddr.mode == ResourceMode::Data {
            return self.data_resource(raddr).await;
        }
        let Some(block) = config.resource(raddr) else { return };
        let provider = config.provider_config_of(&raddr.module, block);
        if registry.get(&block.type_name).is_some() && registry.resource_type_for(&block.type_name, &provider).is_none()
        {
            self.diags.push(
                Diagnostic::error(format!("Invalid provider configuration for {}", block.type_name))
                    .detail(format!(
                        "{raddr} would be served by provider configuration {provider}, which has no type \"{}\".",
                        block.type_name
                    ))
                    .at_opt(block.provider_span)
                    .at(block.span),
            );
            return;
        }
        let Some(rt) = registry.resource_type_for(&block.type_name, &provider) else {
            let names: Vec<&str> = registry.type_names().collect();
            self.diags.push(
                Diagnostic::error(format!("Unsupported resource type \"{}\"", block.type_name))
                    .at(block.type_span)
                    .help(
                        crate::lang::diag::suggest(&block.type_name, names.iter().copied())
                            .unwrap_or_else(|| format!("supported types: {}", names.join(", "))),
                    ),
            );
            return;
        };
        let Some((expansion, each)) = self.checked_expansion(raddr, block, rt.schema()) else { return };
        let dependencies = self.instance_dependencies(raddr);
        let r = ResourceWalk {
            addr: raddr,
            block,
            provider,
            dependencies,
            triggered: replace_triggered(block, raddr, &self.actions_by_resource),
            in_target: self.read.targets.is_none_or(|t| t.contains(raddr)),
            each,
            rt,
        };
        let mut instances = Instances::new(expansion.clone());
        for key in expansion.keys() {
            let iaddr = raddr.instance(key.clone());
            self.planned_instances.insert(iaddr.clone());
            if let Some(value) = self.instance(&r, &key, iaddr).await {
                instances.insert(key, value);
            }
        }
        self.env.resources.insert(raddr.clone(), instances);
    }

    /// A resource or data block's structure checked against `schema` (unknown arguments,
    /// missing required ones), then its count/for_each expanded in module instance
    /// `raddr.module`. None when either failed: the reasons are in the diagnostics.
    fn checked_expansion(
        &mut self,
        raddr: &ResourceAddr,
        block: &ResourceBlock,
        schema: &Schema,
    ) -> Option<(Expansion, Option<Value>)> {
        let structure = validate::check_structure(&block.body, schema, block.span);
        let had_errors = structure.has_errors();
        self.diags.extend(structure);
        if had_errors {
            return None;
        }
        let (config, what) = (self.read.input.config, raddr.to_string());
        let (count, for_each) = (block.count.as_ref(), block.for_each.as_ref());
        match expand(config, &self.env, &raddr.module, &what, count, for_each, self.read.opts.validate_only) {
            Ok(e) => Some(e),
            Err(d) => {
                self.diags.extend(d);
                None
            }
        }
    }

    /// One instance's arguments (of a resource or a data block) evaluated, converted to the
    /// schema's types and checked, with every problem recorded. `None`: they could not be
    /// evaluated; `Some(Err(placeholder))`: they are invalid, or this is `validate`, which
    /// stops here with the computed attributes unknown.
    fn instance_config(
        &mut self,
        module: &ModulePath,
        key: &InstanceKey,
        each: Option<&Value>,
        block: &ResourceBlock,
        schema: &Schema,
    ) -> Option<Result<Value, Value>> {
        let config = self.read.input.config;
        let scope = ModuleScope { env: &self.env, config, module };
        let c = instance_ctx(config, &scope, module, key, each, block);
        let conf = crate::plan::env::eval_body_expr(&block.body, &c)
            .and_then(|raw| validate::conform(&block.body, raw, schema, block.span));
        let conf = match conf {
            Ok(v) => v,
            Err(d) => {
                self.diags.extend(d);
                return None;
            }
        };
        let vd = validate::check_values(&block.body, &conf, schema, block.span);
        let bad = vd.has_errors();
        self.diags.extend(vd);
        if bad || self.read.opts.validate_only {
            return Some(Err(placeholder(schema, &conf)));
        }
        Some(Ok(conf))
    }

    /// The instances a resource (or data) instance in module instance `raddr.module` depends
    /// on: a dependency in this module instance, or in one it shares callers with, is that
    /// instance's; in a sibling call's module, every instance of it.
    pub(super) fn instance_dependencies(&self, raddr: &ResourceAddr) -> Dependencies {
        let config = self.read.input.config;
        let of_config = ResourceAddr { module: raddr.module.without_keys(), ..raddr.clone() };
        self.read
            .input
            .graph
            .resource_deps(&of_config)
            .flat_map(|d| {
                let shared = d.module.0.iter().zip(&of_config.module.0).take_while(|(a, b)| a == b).count();
                self.env
                    .module_instances(config, &d.module)
                    .into_iter()
                    .filter(|m| m.0[..shared] == raddr.module.0[..shared])
                    .flat_map(|module| {
                        let d = ResourceAddr { module, ..d.clone() };
                        self.env
                            .resources
                            .get(&d)
                            .map(|i| i.expansion.keys().into_iter().map(|k| d.instance(k)).collect::<Vec<_>>())
                            .unwrap_or_default()
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// What instance `key` of `raddr` depends on: `whole` (every instance of each resource
    /// it reads, [`Self::instance_dependencies`]), except that a resource it reads one instance
    /// at a time (`config[each.key]`, see [`Graph::keyed_deps`]) contributes only the
    /// instances its indexes name here. With `for_each` resources reading each other by key,
    /// that keeps dependencies (in the plan, the apply's order and state) linear, not N², and
    /// lets each instance start as soon as its own dependencies are done. Any index that does
    /// not evaluate here to a known key of that resource's expansion keeps the whole resource.
    pub(super) fn keyed_dependencies(
        &self,
        raddr: &ResourceAddr,
        block: &ResourceBlock,
        key: &InstanceKey,
        each: Option<&Value>,
        whole: &Dependencies,
    ) -> Dependencies {
        let of_config = ResourceAddr { module: raddr.module.without_keys(), ..raddr.clone() };
        let Some(keyed) = self.read.input.graph.keyed_deps(&of_config) else { return whole.clone() };
        let config = self.read.input.config;
        let scope = ModuleScope { env: &self.env, config, module: &raddr.module };
        let ctx = instance_ctx(config, &scope, &raddr.module, key, each, block);
        let mut narrowed: BTreeMap<ResourceAddr, BTreeSet<InstanceAddr>> = BTreeMap::new();
        'dependency: for (dep, indexes) in keyed {
            let dep = ResourceAddr { module: raddr.module.clone(), ..dep.clone() };
            let Some(instances) = self.env.resources.get(&dep) else { continue };
            let mut named = BTreeSet::new();
            for (index, span) in indexes {
                let value = match index {
                    crate::lang::refs::RefIndex::Number(n) => Value::from(*n),
                    crate::lang::refs::RefIndex::Expr(e) => {
                        match eval(&crate::lang::config::Expr { expr: e.clone(), span: *span }, &ctx) {
                            Ok(v) => v,
                            Err(_) => continue 'dependency,
                        }
                    }
                };
                let key = match &instances.expansion {
                    Expansion::Count(_) => value.as_i64().map(InstanceKey::Int),
                    Expansion::ForEach(_) => value.as_str().map(|k| InstanceKey::Str(k.to_string())),
                    Expansion::Single => None,
                };
                // A key the resource does not have fails the evaluation of the arguments.
                let Some(key) = key.filter(|k| instances.values().contains_key(k)) else { continue 'dependency };
                named.insert(dep.instance(key));
            }
            narrowed.insert(dep, named);
        }
        if narrowed.is_empty() {
            return whole.clone();
        }
        let mut deps: Vec<InstanceAddr> =
            whole.iter().filter(|d| !narrowed.contains_key(&d.resource)).cloned().collect();
        deps.extend(narrowed.into_values().flatten());
        deps.into()
    }

    /// Plans one instance; returns the value references to it read (None when it could not be
    /// planned: the reason is in the diagnostics).
    async fn instance(&mut self, r: &ResourceWalk<'_>, key: &InstanceKey, iaddr: InstanceAddr) -> Option<Value> {
        let (config, block, schema) = (self.read.input.config, r.block, r.rt.schema());
        let conf = match self.instance_config(&r.addr.module, key, r.each.as_ref(), block, schema)? {
            Ok(conf) => conf,
            Err(placeholder) => return Some(placeholder),
        };

        let (before, importing) = self.prior_object(r, &iaddr, &conf).await.ok()?;
        let tainted = self.read.state.resources.get(&iaddr).is_some_and(|s| s.tainted);
        let by_request = self.read.opts.replace.contains(&iaddr);

        let refresh_only = self.read.opts.mode == PlanMode::RefreshOnly;
        let (action, reason, after, changed, replace_paths, warnings) = if !r.in_target || refresh_only {
            // Outside --target, and everywhere in refresh-only mode: what exists stays as it is
            // (so outputs and checks read the refreshed objects, as Terraform's refresh-only
            // does); what does not is not known (and references to it read unknown).
            let Some(before) = before.as_ref() else { return Some(Value::unknown()) };
            (Action::NoOp, None, Some(before.clone()), vec![], vec![], vec![])
        } else {
            let input = InstanceInput {
                prior: before.as_ref(),
                config: &conf,
                force_replace: tainted || by_request || r.triggered,
                ignore_changes: &block.lifecycle.ignore_changes,
                fingerprint: self.read.fingerprint,
            };
            let d = match plan_instance(&*r.rt, &input) {
                Ok(d) => d,
                Err(e) => {
                    let message = SecretStrings::of([&conf]).redact(&e.message);
                    self.diags.push(Diagnostic::error(format!("{iaddr}: {message}")).at(block.span));
                    return None;
                }
            };
            let reason = if tainted {
                Some(ActionReason::ReplaceBecauseTainted)
            } else if by_request {
                Some(ActionReason::ReplaceByRequest)
            } else if r.triggered {
                Some(ActionReason::ReplaceByTriggers)
            } else if d.action.is_replace() {
                Some(ActionReason::ReplaceBecauseCannotUpdate)
            } else {
                None
            };
            let action = if d.action.is_replace() && block.lifecycle.create_before_destroy {
                Action::CreateThenDelete
            } else {
                d.action
            };
            (action, reason, Some(d.planned), d.changed, d.replace_paths, d.warnings)
        };
        if action != Action::NoOp && before.as_ref().is_some_and(holds_rekeyed_secret) {
            self.warnings.push(Diagnostic::warning(format!(
                "{iaddr}: its sensitive values lost their fingerprints to `cairn state rekey`; they plan as changed and this apply sends them again"
            )));
        }
        if r.in_target && !self.read.opts.live_values {
            if let Some(d) = withheld_needed(&*r.rt, action, &conf, &changed, &iaddr, block, config, &self.env) {
                self.diags.push(d);
                return None;
            }
        }
        if action.is_replace() && block.lifecycle.prevent_destroy {
            self.diags.push(prevent_destroy_error(&iaddr, block));
        }
        // Health checks read what exists. An object that does not exist keeps its planned value
        // here (so expressions that use it still evaluate) and is null to check blocks (so a
        // check can say "missing").
        if self.read.opts.live_values && before.is_none() {
            self.missing.insert(iaddr.clone());
        }
        let value = match (&before, self.read.opts.live_values) {
            (Some(b), true) => b.clone(),
            _ => after.clone().unwrap_or(Value::Null),
        };
        self.actions_by_resource.entry(r.addr.clone()).or_default().push(action);
        self.changes.push(ResourceChange {
            previous_addr: self.read.moved_from.get(&iaddr).cloned(),
            addr: iaddr,
            type_name: block.type_name.clone(),
            provider: r.provider.clone(),
            action,
            reason,
            before,
            after,
            changed_paths: changed,
            replace_paths,
            importing,
            dependencies: self.keyed_dependencies(r.addr, block, key, r.each.as_ref(), &r.dependencies),
            create_before_destroy: block.lifecycle.create_before_destroy,
            warnings,
        });
        Some(value)
    }

    /// The object an instance starts from: what state (refreshed) holds, or the object an
    /// import block names, or one an interrupted apply created for it. With the import id
    /// when adopting. Err when an import failed (reported).
    async fn prior_object(
        &mut self,
        r: &ResourceWalk<'_>,
        iaddr: &InstanceAddr,
        conf: &Value,
    ) -> Result<(Option<Value>, Option<Value>), ()> {
        if let Some(v) = self.read.prior.get(iaddr) {
            return Ok((Some(v.clone()), None));
        }
        let cc = || call_context(self.read.input, &r.provider, r.block, read_purpose(self.read.opts));
        if let Some(id_value) = self.imports.get(iaddr) {
            let id = id_value.as_str().expect("import_targets keeps string ids only");
            return match r.rt.import(&cc(), id).await {
                Ok(v) => Ok((Some(r.rt.schema().keep_client_only(&Value::Null, v)), Some(id_value.clone()))),
                Err(e) => {
                    // The provider's message may quote the id it was given: a secret id is
                    // neither named nor passed through.
                    let message = if id_value.is_sensitive() {
                        format!("Cannot import {iaddr} (id (sensitive value)): the provider refused the id")
                    } else {
                        format!("Cannot import {iaddr} (id \"{id}\"): {}", e.message)
                    };
                    self.diags.push(Diagnostic::error(message).at_opt(import_span(self.read.input.config, iaddr)));
                    Err(())
                }
            };
        }
        if let Some(entry) = self.recovered.get(iaddr).copied() {
            let Some(name) = entry.cloud_name.as_deref() else { return Ok((None, None)) };
            match r.rt.find_interrupted_create(&cc(), name, &entry.time, conf, conf).await {
                Ok(Some(v)) => {
                    // A journaled secret's version is adopted by its own name.
                    let adopted = v.get("name").and_then(Value::as_str).unwrap_or(name).to_string();
                    self.warnings.push(Diagnostic::warning(format!(
                        "{iaddr}: adopting \"{adopted}\", created by an apply that was interrupted"
                    )));
                    return Ok((Some(r.rt.schema().keep_client_only(&Value::Null, v)), Some(Value::from(adopted))));
                }
                // The interrupted create never took effect: create it.
                Ok(None) => {}
                // Planned as a create all the same, with a warning rather than an error: the
                // apply adopts the object if the API then says it exists (or finds it before
                // creating, for a type whose API cannot say so), and an error here would stop
                // every plan for as long as the read fails, with no apply to close the
                // journal. Silence hid a read that always failed.
                Err(e) => self.warnings.push(Diagnostic::warning(format!(
                    "{iaddr}: an interrupted apply was creating \"{name}\", and reading it failed: {}; planning a create (if \"{name}\" made it, the apply adopts it)",
                    SecretStrings::of([conf]).redact(&e.message)
                ))),
            }
        }
        Ok((None, None))
    }
}

/// Whether a stored value holds a secret whose fingerprint `cairn state rekey` dropped.
fn holds_rekeyed_secret(v: &Value) -> bool {
    match v {
        Value::Unknown(crate::lang::value::Unknown::Withheld { fingerprint: Some(f) }) => {
            f == crate::state::keyfile::REKEYED
        }
        Value::Sensitive(inner) => holds_rekeyed_secret(inner),
        Value::List(xs) | Value::Set(xs) => xs.iter().any(holds_rekeyed_secret),
        Value::Map(m) => m.values().any(holds_rekeyed_secret),
        _ => false,
    }
}

/// Deletes for the instances in state that the configuration no longer has.
#[allow(clippy::too_many_arguments)] // what the walk produced, each read once; a struct would only rename them
fn orphan_deletes(
    config: &Config,
    state: &State,
    prior: &BTreeMap<InstanceAddr, Value>,
    planned: &BTreeSet<InstanceAddr>,
    module_instances: &BTreeSet<ModulePath>,
    targets: Option<&Targets>,
    moved_from: &BTreeMap<InstanceAddr, InstanceAddr>,
    diags: &mut Diagnostics,
) -> Vec<ResourceChange> {
    let mut out = Vec::new();
    for (addr, before) in prior {
        if planned.contains(addr) || targets.is_some_and(|t| !t.contains(&addr.resource)) {
            continue;
        }
        let block = config.resource(&addr.resource);
        let reason = match block {
            _ if !module_instances.contains(&addr.resource.module) => ActionReason::DeleteBecauseNoModule,
            None => ActionReason::DeleteBecauseNoResourceConfig,
            Some(_) if matches!(addr.key, InstanceKey::Int(_)) => ActionReason::DeleteBecauseCountIndex,
            Some(_) => ActionReason::DeleteBecauseEachKey,
        };
        if let Some(b) = block.filter(|b| b.lifecycle.prevent_destroy) {
            diags.push(prevent_destroy_error(addr, b));
        }
        let mut change =
            delete_change(addr, &state.resources[addr], before, Some(reason), moved_from.get(addr).cloned());
        if removed_keeps_object(config, addr) {
            change.action = Action::Forget;
            change.reason = None;
        }
        out.push(change);
    }
    out
}

/// Whether a `removed` block with `lifecycle { destroy = false }` covers `addr`: state lets go
/// of it and the object stays in the cloud.
fn removed_keeps_object(config: &Config, addr: &InstanceAddr) -> bool {
    config.modules.iter().any(|(path, m)| m.removed.iter().any(|r| !r.destroy && r.from.prefixed(path).contains(addr)))
}

/// `cairn destroy`: a delete for every (targeted) instance state holds.
fn destroy_deletes(
    config: &Config,
    state: &State,
    prior: &BTreeMap<InstanceAddr, Value>,
    targets: Option<&Targets>,
    diags: &mut Diagnostics,
) -> Vec<ResourceChange> {
    let mut out = Vec::new();
    for (addr, before) in prior {
        if targets.is_some_and(|t| !t.contains(&addr.resource)) {
            continue;
        }
        if let Some(b) = config.resource(&addr.resource).filter(|b| b.lifecycle.prevent_destroy) {
            diags.push(prevent_destroy_error(addr, b));
        }
        let mut change = delete_change(addr, &state.resources[addr], before, None, None);
        if removed_keeps_object(config, addr) {
            change.action = Action::Forget;
        }
        out.push(change);
    }
    out
}

/// How the root module's outputs change.
fn output_changes(config: &Config, state: &State, env: &Env, mode: PlanMode) -> Vec<OutputChange> {
    let mut out = Vec::new();
    for (name, output) in &config.root().outputs {
        let after = env.outputs.get(&(ModulePath::root(), name.clone())).cloned();
        let before = state.outputs.get(name).map(|o| {
            if o.sensitive {
                Value::Unknown(crate::lang::value::Unknown::Withheld { fingerprint: None }).sensitive()
            } else {
                Value::from_json(&o.value)
            }
        });
        let after = if mode == PlanMode::Destroy { None } else { after };
        let action = match (&before, &after) {
            (None, Some(_)) => Action::Create,
            (Some(_), None) => Action::Delete,
            (Some(b), Some(a)) if output.sensitive || b.same_as(a) => Action::NoOp,
            (Some(_), Some(_)) => Action::Update,
            (None, None) => continue,
        };
        out.push(OutputChange { name: name.clone(), action, before, after, sensitive: output.sensitive });
    }
    for name in state.outputs.keys().filter(|n| !config.root().outputs.contains_key(*n)) {
        out.push(OutputChange {
            name: name.clone(),
            action: Action::Delete,
            before: Some(Value::Null),
            after: None,
            sensitive: false,
        });
    }
    out
}

/// Deleting an object that another object still uses fails at the API ("in use by another
/// resource") halfway through an apply. Say so before anything runs, with the fix.
fn warn_replaced_while_in_use(changes: &mut [ResourceChange], state: &State) {
    // Only the replaced instances' users are looked for (most plans replace nothing): each
    // staying change's dependencies are read where they are, never copied (a copy of every
    // instance's list was the largest allocation of a 100,000-instance no-op plan).
    let replaced: BTreeSet<&InstanceAddr> =
        changes.iter().filter(|c| c.action == Action::DeleteThenCreate).map(|c| &c.addr).collect();
    if replaced.is_empty() {
        return;
    }
    let mut users_of: BTreeMap<InstanceAddr, Vec<String>> = BTreeMap::new();
    for c in changes
        .iter()
        .filter(|c| !matches!(c.action, Action::Delete | Action::DeleteThenCreate | Action::CreateThenDelete))
    {
        let recorded = state.resources.get(&c.addr).map(|r| &r.dependencies[..]).unwrap_or_default();
        let used: BTreeSet<&InstanceAddr> =
            c.dependencies.iter().chain(recorded).filter(|d| replaced.contains(d)).collect();
        for d in used {
            users_of.entry(d.clone()).or_default().push(c.addr.to_string());
        }
    }
    for c in changes.iter_mut().filter(|c| c.action == Action::DeleteThenCreate) {
        let users = users_of.remove(&c.addr).unwrap_or_default();
        if !users.is_empty() {
            c.warnings.push(format!(
                "{} must be replaced, but {} still use{} it: deleting it first will fail if the API refuses to delete objects in use. Add `lifecycle {{ create_before_destroy = true }}` to {} so the replacement is created and switched to before the old one is deleted.",
                c.addr,
                users.join(", "),
                if users.len() == 1 { "s" } else { "" },
                c.addr
            ));
        }
    }
}

/// A step that would have to send a secret Cairn did not keep (a generated password whose
/// consumer was not created in the apply that generated it) cannot succeed; say so at plan
/// time, naming where the value comes from and how to get a fresh one.
#[allow(clippy::too_many_arguments)]
fn withheld_needed(
    rt: &dyn ResourceType,
    action: Action,
    conf: &Value,
    changed: &[AttrPath],
    addr: &InstanceAddr,
    block: &ResourceBlock,
    config: &Config,
    env: &Env,
) -> Option<Diagnostic> {
    use crate::plan::env::has_withheld;
    let schema = rt.schema();
    let attrs = conf.as_map()?;
    let needed: Vec<&str> = attrs
        .iter()
        .filter(|(name, v)| {
            if !has_withheld(v) {
                return false;
            }
            match action {
                Action::Create | Action::DeleteThenCreate | Action::CreateThenDelete => true,
                Action::Update => {
                    let write_only = schema.attributes.get(name.as_str()).is_some_and(|a| a.write_only);
                    let version_changed = changed.iter().any(|p| p.top() == Some(&format!("{name}_version")));
                    changed.iter().any(|p| p.top() == Some(name.as_str())) || (write_only && version_changed)
                }
                _ => false,
            }
        })
        .map(|(name, _)| name.as_str())
        .collect();
    let first = needed.first()?;
    let scope = ModuleScope { env, config, module: &addr.resource.module };
    let mut sources: Vec<String> = crate::lang::refs::body_references(&block.body)
        .into_iter()
        .filter(|r| {
            let Ok(v) = scope.resolve(&r.root, r.span) else { return false };
            let mut cur = &v;
            for a in &r.attrs {
                match cur.get(a) {
                    Some(next) => cur = next,
                    None => break,
                }
            }
            has_withheld(cur)
        })
        .map(|r| std::iter::once(r.root.to_string()).chain(r.attrs.iter().cloned()).collect::<Vec<_>>().join("."))
        .collect();
    sources.sort();
    sources.dedup();
    let attr_span = block.body.attributes.get(*first).map(|a| a.span).unwrap_or(block.span);
    if sources.iter().any(|s| s.starts_with("data.terraform_remote_state.")) {
        return Some(
            Diagnostic::error(format!("{addr} needs the value of {}, a sensitive output of another stack, which Cairn does not store", sources.join(", ")))
                .at(attr_span)
                .detail("Cairn keeps no sensitive output's value in state (only its name), so terraform_remote_state cannot read it: the value is sensitive and unknown.")
                .help("share the secret through Secret Manager instead: store it there in the other stack and read it here with data \"google_secret_manager_secret_version\""),
        );
    }
    Some(
        Diagnostic::error(format!("{addr} needs the value of {}, which Cairn does not keep after the apply that generated it", if sources.is_empty() { format!("argument \"{first}\"") } else { sources.join(", ") }))
            .at(attr_span)
            .detail("Generated secrets (random_password results and values built from them) are available only to the apply that creates them; this step was not done then, so the value no longer exists anywhere Cairn can read it.")
            .help("generate a fresh value for it and for everything that uses it in one apply: `cairn apply --replace=ADDRESS` with the generating resource's address, and bump the `*_wo_version` of the other consumers so they receive it too"),
    )
}

fn delete_change(
    addr: &InstanceAddr,
    r: &crate::state::ResourceInstanceState,
    before: &Value,
    reason: Option<ActionReason>,
    previous_addr: Option<InstanceAddr>,
) -> ResourceChange {
    ResourceChange {
        addr: addr.clone(),
        previous_addr,
        type_name: r.type_name.clone(),
        provider: r.provider.clone(),
        action: Action::Delete,
        reason,
        before: Some(before.clone()),
        after: None,
        changed_paths: vec![],
        replace_paths: vec![],
        importing: None,
        dependencies: r.dependencies.clone(),
        create_before_destroy: r.create_before_destroy,
        warnings: vec![],
    }
}

/// Stand-in for an instance in validate mode: the config with computed attributes unknown.
fn placeholder(schema: &Schema, conf: &Value) -> Value {
    propose(schema, None, conf, false).planned
}

/// The map `each.value` reads for an instance being applied (None without for_each).
pub fn expand_for_apply(
    config: &Config,
    env: &Env,
    raddr: &ResourceAddr,
    block: &ResourceBlock,
) -> Result<Option<Value>, Diagnostics> {
    let what = raddr.to_string();
    expand(config, env, &raddr.module, &what, block.count.as_ref(), block.for_each.as_ref(), false).map(|e| e.1)
}

/// Expands the count/for_each of a resource or module block (`raddr` names it in messages),
/// evaluated in module instance `module`. Returns the expansion and, for for_each, the map
/// each.value reads.
fn expand(
    config: &Config,
    env: &Env,
    module: &ModulePath,
    raddr: &str,
    count: Option<&crate::lang::config::Expr>,
    for_each: Option<&crate::lang::config::Expr>,
    validate_only: bool,
) -> Result<(Expansion, Option<Value>), Diagnostics> {
    let scope = ModuleScope { env, config, module };
    let c = ctx(config, &scope, module_dir_display(config, module));
    if let Some(count) = count {
        let v = eval(count, &c)?;
        if v.is_unknown() {
            if validate_only {
                return Ok((Expansion::Count(1), None));
            }
            return Err(Diagnostic::error(format!("Invalid count argument for {raddr}"))
                .at(count.span)
                .detail("The \"count\" value depends on resource attributes that cannot be determined until apply, so Cairn cannot predict how many instances will be created.")
                .help("use values known before apply (variables, locals of known values), or create the resources this depends on first with `--target`")
                .into());
        }
        if v.is_sensitive() {
            return Err(Diagnostic::error("Invalid count argument: sensitive values cannot be used as count")
                .at(count.span)
                .into());
        }
        let Some(n) = v.as_number() else {
            return Err(Diagnostic::error(format!(
                "Invalid count argument: expected a whole number of 0 or more, got {}",
                v.type_name()
            ))
            .at(count.span)
            .into());
        };
        // Checked before any conversion: a cast would turn 1e19 into 0 instances (and plan to
        // destroy them all) and 9e15 into an allocation that aborts the process.
        let n = match n.to_i64().map(usize::try_from) {
            Some(Ok(n)) if n <= MAX_INSTANCES => n,
            Some(Ok(_)) => {
                return Err(Diagnostic::error(format!(
                    "Invalid count argument: {n} instances is more than the {MAX_INSTANCES} one resource may have",
                ))
                .at(count.span)
                .into())
            }
            _ => {
                return Err(Diagnostic::error(format!(
                    "Invalid count argument: expected a whole number of 0 or more, got {n}"
                ))
                .at(count.span)
                .into())
            }
        };
        return Ok((Expansion::Count(n), None));
    }
    if let Some(fe) = for_each {
        let v = eval(fe, &c)?;
        // Keys become addresses, so they must not be secret; values may carry secrets (each.value
        // keeps their marks), as in Terraform.
        let sensitive_keys =
            v.is_sensitive() || matches!(v.peel(), Value::Set(items) if items.iter().any(Value::contains_sensitive));
        if sensitive_keys {
            return Err(Diagnostic::error("Invalid for_each argument: sensitive values, or values derived from sensitive values, cannot be used as for_each arguments")
                .at(fe.span)
                .help("instance keys appear in plans and state; use nonsensitive() only if the keys are not secret")
                .into());
        }
        let unknown_err = || {
            Diagnostics::from(
                Diagnostic::error(format!("Invalid for_each argument for {raddr}"))
                    .at(fe.span)
                    .detail("The \"for_each\" keys depend on resource attributes that cannot be determined until apply, so Cairn cannot predict how many instances will be created.")
                    .help("use a map whose keys are known before apply (values may be unknown), or create the resources this depends on first with `--target`"),
            )
        };
        let size = match v.peel() {
            Value::Map(m) => m.len(),
            Value::Set(items) => items.len(),
            _ => 0,
        };
        if size > MAX_INSTANCES {
            return Err(Diagnostic::error(format!(
                "Invalid for_each argument: {size} instances is more than the {MAX_INSTANCES} one resource may have"
            ))
            .at(fe.span)
            .into());
        }
        match &v {
            Value::Unknown(_) if validate_only => return Ok((Expansion::ForEach(vec!["<unknown>".into()]), None)),
            Value::Unknown(_) => return Err(unknown_err()),
            Value::Map(m) => return Ok((Expansion::ForEach(m.keys().cloned().collect()), Some(v.clone()))),
            Value::Set(items) => {
                let mut keys = Vec::new();
                for it in items {
                    match it {
                        Value::String(s) => keys.push(s.clone()),
                        Value::Unknown(_) if validate_only => keys.push("<unknown>".into()),
                        Value::Unknown(_) => return Err(unknown_err()),
                        other => {
                            return Err(Diagnostic::error(format!(
                                "Invalid for_each set argument: elements must be strings, found {}",
                                other.type_name()
                            ))
                            .at(fe.span)
                            .help("convert the elements with toset([for x in …: tostring(x)])")
                            .into())
                        }
                    }
                }
                let map = Value::object(keys.iter().map(|k| (k.clone(), Value::string(k.clone()))).collect());
                return Ok((Expansion::ForEach(keys), Some(map)));
            }
            Value::List(_) => {
                return Err(Diagnostic::error(
                    "Invalid for_each argument: a list is not allowed, use a map or a set of strings",
                )
                .at(fe.span)
                .help("wrap it in toset(…) if the elements are unique strings")
                .into())
            }
            Value::Null => {
                return Err(Diagnostic::error("Invalid for_each argument: the value is null")
                    .at(fe.span)
                    .help("use an empty map {} for no instances")
                    .into())
            }
            other => {
                return Err(Diagnostic::error(format!(
                    "Invalid for_each argument: expected a map or a set of strings, got {}",
                    other.type_name()
                ))
                .at(fe.span)
                .into())
            }
        }
    }
    Ok((Expansion::Single, None))
}

fn replace_triggered(
    block: &ResourceBlock,
    raddr: &ResourceAddr,
    actions: &HashMap<ResourceAddr, Vec<Action>>,
) -> bool {
    block.lifecycle.replace_triggered_by.iter().any(|e| {
        crate::lang::refs::expr_references(e).iter().any(|r| match &r.root {
            crate::lang::refs::RefRoot::Resource { mode, type_name, name } => {
                let a = ResourceAddr {
                    module: raddr.module.clone(),
                    mode: *mode,
                    type_name: type_name.clone(),
                    name: name.clone(),
                };
                actions.get(&a).is_some_and(|acts| acts.iter().any(|x| !matches!(x, Action::NoOp | Action::Read)))
            }
            _ => false,
        })
    })
}

/// The provider's `deletion_policy` (a client-only attribute, the way the Google provider
/// defines it): an object whose stored policy is PREVENT is not deleted or replaced. Checked on
/// the prior value, as the provider does: changing the policy is an apply of its own.
fn refuse_prevented_deletes(changes: &[ResourceChange], config: &Config, registry: &Registry, diags: &mut Diagnostics) {
    for c in changes {
        if !c.action.deletes() {
            continue;
        }
        let protection = registry.get(&c.type_name).and_then(|t| t.protection_attribute());
        if let Some(attr) = protection {
            if c.before.as_ref().and_then(|b| b.get(attr)).and_then(Value::as_bool) == Some(true) {
                let verb = if c.action.is_replace() { "replaced" } else { "destroyed" };
                diags.push(
                    Diagnostic::error(format!(
                        "Instance cannot be {verb}: {} has {attr} = true in state, but the plan calls for it to be {verb}",
                        c.addr
                    ))
                    .at_opt(config.resource(&c.addr.resource).map(|b| b.span))
                    .help(format!("set {attr} = false and apply, then destroy")),
                );
                continue;
            }
        }
        let policy = c.before.as_ref().and_then(|b| b.get(DELETION_POLICY)).and_then(Value::as_str);
        if policy != Some("PREVENT") {
            continue;
        }
        let verb = if c.action.is_replace() { "replaced" } else { "destroyed" };
        diags.push(
            Diagnostic::error(format!(
                "Instance cannot be {verb}: {} has deletion_policy = \"PREVENT\" in state, but the plan calls for it to be {verb}",
                c.addr
            ))
            .at_opt(config.resource(&c.addr.resource).map(|b| b.span))
            .help("to continue, apply deletion_policy = \"DELETE\" (or \"ABANDON\" to keep the object and forget it) first, or narrow the plan with --target"),
        );
    }
}

/// Each provider's rules across its objects ([`Provider::check_across`]), located in the
/// configuration of the instance each broken rule names.
fn check_across_resources(changes: &[ResourceChange], config: &Config, registry: &Registry, diags: &mut Diagnostics) {
    for (name, provider) in registry.providers() {
        let objects: Vec<PlannedObject<'_>> = changes
            .iter()
            .filter(|c| crate::addr::ProviderConfigAddr::parse(&c.provider).provider == name)
            .filter_map(|c| {
                let value = c.after.as_ref()?;
                let body = config.resource(&c.addr.resource).map(|b| &b.body);
                Some(PlannedObject { addr: &c.addr, type_name: &c.type_name, value, body })
            })
            .collect();
        if objects.is_empty() {
            continue;
        }
        // A rule's message may quote a value; none of the objects' secrets may show.
        let secrets = SecretStrings::of(objects.iter().map(|o| o.value));
        for v in provider.check_across(&objects) {
            let span = config.resource(&v.addr.resource).map(|b| argument_span(&b.body, &v.path, b.span));
            diags.push(Diagnostic::error(secrets.redact(&v.message)).at_opt(span).help(secrets.redact(&v.help)));
        }
    }
}

/// The attribute through which a provider says what deleting an object means (`DELETE`, the
/// default; `ABANDON`, forget it and leave it in the cloud; `PREVENT`, refuse).
pub const DELETION_POLICY: &str = "deletion_policy";

fn prevent_destroy_error(addr: &InstanceAddr, block: &ResourceBlock) -> Diagnostic {
    Diagnostic::error(format!("Instance cannot be destroyed: {addr} has lifecycle.prevent_destroy set, but the plan calls for it to be destroyed"))
        .at_opt(block.lifecycle.span)
        .at(block.span)
        .help("to continue, set prevent_destroy = false, or narrow the plan with --target")
}

/// The configuration that refreshes an instance: the one its block selects now (as in
/// Terraform, a changed `provider` argument reads through the new one), or for an orphan the
/// one state recorded, which created it.
fn refresh_configuration(config: &Config, addr: &InstanceAddr, r: &crate::state::ResourceInstanceState) -> String {
    match config.resource(&addr.resource) {
        Some(block) => config.provider_config_of(&addr.resource.module, block),
        None => r.provider.clone(),
    }
}

/// An orphan is refreshed and deleted through the configuration that created it; when the
/// stack no longer has that configuration, nothing else may stand in (Terraform's rule).
fn check_orphan_configurations(
    config: &Config,
    state: &State,
    provider_configs: &BTreeMap<String, Value>,
) -> Result<(), Diagnostics> {
    let mut diags = Diagnostics::new();
    for (addr, r) in &state.resources {
        if config.resource(&addr.resource).is_some() {
            continue;
        }
        let recorded = crate::addr::ProviderConfigAddr::parse(&r.provider);
        // A default configuration always exists, declared or not.
        if recorded.alias.is_none() || provider_configs.contains_key(&r.provider) {
            continue;
        }
        diags.push(
            Diagnostic::error("Provider configuration not present")
                .detail(format!(
                    "To work with {addr} (orphan) its original provider configuration at {} is required, but it has been removed. This occurs when a provider configuration is removed while objects created by that provider still exist in the state.",
                    recorded.to_terraform()
                ))
                .help(format!(
                    "re-add the provider \"{}\" block with alias = \"{}\" to destroy {addr}, after which you can remove the provider configuration again",
                    recorded.provider,
                    recorded.alias.as_deref().unwrap_or_default()
                )),
        );
    }
    if diags.has_errors() {
        return Err(diags);
    }
    Ok(())
}

/// Health checks (`live_values`) may read attributes that a plan leaves unknown.
fn read_purpose(opts: &PlanOptions) -> ReadPurpose {
    if opts.live_values {
        ReadPurpose::Health
    } else {
        ReadPurpose::Plan
    }
}

fn call_context(input: &PlanInput<'_>, provider: &str, block: &ResourceBlock, purpose: ReadPurpose) -> CallContext {
    let mut cc = CallContext::new(input.provider_configs.get(provider).cloned().unwrap_or(Value::Null));
    cc.purpose = purpose;
    if let Some(t) = block.timeouts.read {
        cc.timeout = t;
    }
    cc
}

/// What `--target` selects: the resource instances the addresses name (a module call without a
/// key names all its instances), plus every instance of the resources they depend on.
pub(crate) struct Targets {
    named: Vec<AnyAddr>,
    /// Configuration resources (paths without keys) the named ones depend on.
    dependencies: BTreeSet<ResourceAddr>,
}

impl Targets {
    /// True when the instances of `r` (a resource in one module instance) are targeted.
    fn contains(&self, r: &ResourceAddr) -> bool {
        let of_config = ResourceAddr { module: r.module.without_keys(), ..r.clone() };
        self.dependencies.contains(&of_config) || self.named.iter().any(|t| targets_resource(t, r))
    }
}

fn targets_resource(t: &AnyAddr, r: &ResourceAddr) -> bool {
    match t {
        AnyAddr::Module(m) => r.module.within(m),
        AnyAddr::Resource(a) | AnyAddr::Instance(InstanceAddr { resource: a, .. }) => {
            AnyAddr::Resource(a.clone()).contains(&r.instance(InstanceKey::None))
        }
    }
}

/// `--target` addresses plus everything they depend on; `None` when not targeting.
fn target_closure(graph: &Graph, targets: &[AnyAddr]) -> Option<Targets> {
    if targets.is_empty() {
        return None;
    }
    let mut named = BTreeSet::new();
    for node in graph.order() {
        if let Node::Resource(r) = node {
            let hit = targets.iter().any(|t| match t {
                AnyAddr::Module(m) => r.module == m.without_keys() || r.module.starts_with(&m.without_keys()),
                AnyAddr::Resource(a) | AnyAddr::Instance(InstanceAddr { resource: a, .. }) => {
                    ResourceAddr { module: a.module.without_keys(), ..a.clone() } == *r
                }
            });
            if hit {
                named.insert(r.clone());
            }
        }
    }
    let mut dependencies = BTreeSet::new();
    let mut stack: Vec<ResourceAddr> = named.iter().cloned().collect();
    while let Some(r) = stack.pop() {
        for d in graph.resource_deps(&r) {
            if dependencies.insert(d.clone()) {
                stack.push(d.clone());
            }
        }
    }
    Some(Targets { named: targets.to_vec(), dependencies })
}

/// Every module instance the walk expanded (the root included).
fn all_module_instances(config: &Config, env: &Env) -> BTreeSet<ModulePath> {
    config.modules.keys().flat_map(|m| env.module_instances(config, m)).collect()
}

/// Import blocks: target instance → evaluated id (a string; sensitive when computed from one).
fn import_targets(config: &Config, env: &mut Env, diags: &mut Diagnostics) -> BTreeMap<InstanceAddr, Value> {
    let mut out = BTreeMap::new();
    for (path, module) in &config.modules {
        for imp in &module.imports {
            let to = match AnyAddr::Instance(imp.to.clone()).prefixed(path) {
                AnyAddr::Instance(i) => i,
                _ => continue,
            };
            if config.resource(&to.resource).is_none() {
                diags.push(
                    Diagnostic::error(format!("Import target {to} has no resource block")).at(imp.to_span).help(
                        format!(
                            "add a `resource \"{}\" \"{}\"` block describing the object being imported",
                            to.resource.type_name, to.resource.name
                        ),
                    ),
                );
                continue;
            }
            let scope = ModuleScope { env, config, module: path };
            let mut c = ctx(config, &scope, module_dir_display(config, path));
            let Some(fe) = &imp.for_each else {
                if let Some(id) = import_id(&imp.id, &c, diags) {
                    out.insert(to, id);
                }
                continue;
            };
            let elements = match eval(&fe.for_each, &c) {
                Ok(v) => import_for_each_elements(&v, fe.for_each.span, diags),
                Err(d) => {
                    diags.extend(d);
                    continue;
                }
            };
            for (each_key, each_value) in elements {
                c.each = Some((each_key, each_value));
                let key = match eval(&fe.key, &c) {
                    Ok(k) => match (k.as_str(), k.as_number()) {
                        (Some(s), _) => InstanceKey::Str(s.to_string()),
                        (None, Some(n)) if k.is_wholly_known() => match n.to_i64() {
                            Some(i) => InstanceKey::Int(i),
                            None => {
                                diags.push(
                                    Diagnostic::error(
                                        "Invalid import instance key: a number key must be a whole number",
                                    )
                                    .at(fe.key.span),
                                );
                                continue;
                            }
                        },
                        _ => {
                            diags.push(
                                Diagnostic::error("Invalid import instance key: it must be a string or a whole number known before planning")
                                    .at(fe.key.span),
                            );
                            continue;
                        }
                    },
                    Err(d) => {
                        diags.extend(d);
                        continue;
                    }
                };
                let target = InstanceAddr { resource: to.resource.clone(), key };
                let Some(id) = import_id(&imp.id, &c, diags) else { continue };
                if out.insert(target.clone(), id).is_some() {
                    diags.push(
                        Diagnostic::error(format!("Duplicate import target {target}"))
                            .detail("Two elements of this import's for_each name the same instance.")
                            .help("index \"to\" by something unique to each element, such as each.key")
                            .at(imp.to_span),
                    );
                }
            }
        }
    }
    out
}

/// The root module's import blocks whose target has no resource block, with their ids (a
/// string; sensitive when computed from one): what `plan -generate-config-out` writes
/// configuration for, as Terraform does. Ids see the root variables, as the walk's do.
pub fn imports_without_resource(
    config: &Config,
    variables: &BTreeMap<String, Value>,
) -> Result<Vec<(InstanceAddr, Value, crate::lang::diag::Span)>, Diagnostics> {
    let root = ModulePath::root();
    let mut env = Env::default();
    for (k, v) in variables {
        env.vars.insert((root.clone(), k.clone()), v.clone());
    }
    let mut diags = Diagnostics::new();
    let mut out = Vec::new();
    for imp in &config.root().imports {
        if config.resource(&imp.to.resource).is_some() {
            continue;
        }
        if imp.for_each.is_some() {
            diags.push(
                Diagnostic::error(format!(
                    "Cannot generate configuration for {}: the import block has for_each",
                    imp.to
                ))
                .at(imp.span)
                .help("write the resource block yourself, or import each instance with its own import block"),
            );
            continue;
        }
        let scope = ModuleScope { env: &env, config, module: &root };
        let c = ctx(config, &scope, module_dir_display(config, &root));
        if let Some(id) = import_id(&imp.id, &c, &mut diags) {
            out.push((imp.to.clone(), id, imp.span));
        }
    }
    diags.into_result().map(|_| out)
}

/// One import id: a string known before planning, marked sensitive when computed from one.
fn import_id(
    e: &crate::lang::config::Expr,
    c: &crate::lang::eval::EvalCtx<'_>,
    diags: &mut Diagnostics,
) -> Option<Value> {
    match eval(e, c) {
        Ok(v) => match v.as_str() {
            Some(s) if v.is_wholly_known() => {
                let id = Value::from(s);
                Some(if v.contains_sensitive() { id.sensitive() } else { id })
            }
            _ => {
                diags.push(Diagnostic::error("Invalid import id: it must be a string known before apply").at(e.span));
                None
            }
        },
        Err(d) => {
            diags.extend(d);
            None
        }
    }
}

/// An import block's `for_each` elements as (each.key, each.value): a map's entries, a set of
/// strings' elements (key and value alike), or a tuple's (index and element), as Terraform's
/// import for_each accepts.
fn import_for_each_elements(v: &Value, span: crate::lang::diag::Span, diags: &mut Diagnostics) -> Vec<(Value, Value)> {
    let refuse = |diags: &mut Diagnostics, why: &str| {
        diags.push(Diagnostic::error(format!("Invalid for_each argument: {why}")).at(span));
        Vec::new()
    };
    if v.contains_sensitive() {
        return refuse(diags, "sensitive values can't decide which instances are imported");
    }
    if !v.is_wholly_known() {
        return refuse(diags, "it must be known before planning");
    }
    let elements: Vec<(Value, Value)> = match v {
        Value::Map(m) => m.iter().map(|(k, x)| (Value::from(k.as_str()), x.clone())).collect(),
        Value::Set(xs) => {
            if let Some(bad) = xs.iter().find(|x| x.as_str().is_none()) {
                return refuse(diags, &format!("a set's elements must be strings, found {}", bad.type_name()));
            }
            xs.iter().map(|x| (x.clone(), x.clone())).collect()
        }
        Value::List(xs) => {
            xs.iter().enumerate().map(|(i, x)| (Value::from(i64::try_from(i).unwrap_or(i64::MAX)), x.clone())).collect()
        }
        Value::Null => return refuse(diags, "the value is null"),
        other => {
            return refuse(diags, &format!("expected a map, a set of strings or a tuple, got {}", other.type_name()))
        }
    };
    if elements.len() > crate::lang::limits::MAX_INSTANCES {
        return refuse(
            diags,
            &format!(
                "{} elements is more than the {} one resource may have",
                elements.len(),
                crate::lang::limits::MAX_INSTANCES
            ),
        );
    }
    elements
}

fn import_span(config: &Config, addr: &InstanceAddr) -> Option<crate::lang::diag::Span> {
    config
        .modules
        .values()
        .flat_map(|m| m.imports.iter())
        .find(|i| i.to.resource.type_name == addr.resource.type_name && i.to.resource.name == addr.resource.name)
        .map(|i| i.span)
}

/// Applies moved blocks to state; returns new address → previous address.
fn apply_moved(config: &Config, state: &mut State) -> Result<BTreeMap<InstanceAddr, InstanceAddr>, Diagnostics> {
    let mut diags = Diagnostics::new();
    let mut moved = BTreeMap::new();
    for (path, module) in &config.modules {
        for m in &module.moved {
            let from = m.from.prefixed(path);
            let to = m.to.prefixed(path);
            let kinds_match = matches!(
                (&from, &to),
                (AnyAddr::Module(_), AnyAddr::Module(_))
                    | (AnyAddr::Resource(_), AnyAddr::Resource(_))
                    | (AnyAddr::Instance(_), AnyAddr::Instance(_))
                    | (AnyAddr::Resource(_), AnyAddr::Instance(_))
                    | (AnyAddr::Instance(_), AnyAddr::Resource(_))
            );
            if !kinds_match {
                diags.push(
                    Diagnostic::error(format!("Invalid moved block: cannot move {from} to {to}"))
                        .at(m.span)
                        .help("move a module to a module, or a resource to a resource"),
                );
                continue;
            }
            let type_of = |a: &AnyAddr| match a {
                AnyAddr::Resource(r) => Some(r.type_name.clone()),
                AnyAddr::Instance(i) => Some(i.resource.type_name.clone()),
                AnyAddr::Module(_) => None,
            };
            if type_of(&from) != type_of(&to) {
                diags.push(
                    Diagnostic::error(format!("Invalid moved block: resource type mismatch between {from} and {to}"))
                        .at(m.to_span)
                        .help("a moved block can rename a resource but not change its type"),
                );
                continue;
            }
            let still_declared = match &from {
                AnyAddr::Resource(r) => config.resource(r).is_some(),
                // `module.a` is still declared while a block calls it without count/for_each;
                // `module.a[0]` may be moved to `module.a["x"]` when the call changes.
                AnyAddr::Module(mp) => {
                    *mp.last_key() == InstanceKey::None && config.module_call(mp).is_some_and(|c| !c.is_expanded())
                }
                AnyAddr::Instance(_) => false,
            };
            if still_declared {
                diags.push(
                    Diagnostic::error(format!(
                        "Moved object still exists: {from} is still declared in the configuration"
                    ))
                    .at(m.from_span)
                    .help("remove or rename the old block; a moved block records that it was renamed"),
                );
                continue;
            }
            let hits: Vec<InstanceAddr> = state.resources.keys().filter(|a| from.contains(a)).cloned().collect();
            for old in hits {
                let Some(new) = from.move_instance(&old, &to) else { continue };
                if state.resources.contains_key(&new) {
                    continue;
                }
                if let Some(r) = state.resources.remove(&old) {
                    state.resources.insert(new.clone(), r);
                    moved.insert(new, old);
                }
            }
        }
    }
    if diags.has_errors() {
        return Err(diags);
    }
    Ok(moved)
}

async fn refresh(
    input: &PlanInput<'_>,
    state: &State,
    prior: &BTreeMap<InstanceAddr, Value>,
    parallelism: usize,
    purpose: ReadPurpose,
) -> Result<Vec<(InstanceAddr, Option<Value>)>, Diagnostics> {
    // One read_many per type and configuration: each configuration reads its own objects.
    let mut by_type: BTreeMap<(String, String), Vec<ReadRequest>> = BTreeMap::new();
    for (addr, v) in prior {
        let r = &state.resources[addr];
        let provider = refresh_configuration(input.config, addr, r);
        by_type
            .entry((provider, r.type_name.clone()))
            .or_default()
            .push(ReadRequest { addr: addr.clone(), prior: v.clone() });
    }
    let sem = Arc::new(tokio::sync::Semaphore::new(parallelism.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for ((provider, type_name), reqs) in by_type {
        let Some(rt) = input.registry.resource_type_for(&type_name, &provider) else { continue };
        let mut cc = CallContext::new(input.provider_configs.get(&provider).cloned().unwrap_or(Value::Null));
        cc.purpose = purpose;
        let sem = sem.clone();
        set.spawn(async move {
            let _permit = sem.acquire_owned().await;
            let started = std::time::Instant::now();
            let res = rt.read_many(&cc, &reqs).await;
            tracing::info!(resource_type = %type_name, instances = reqs.len(), elapsed_ms = started.elapsed().as_millis() as u64, ok = res.is_ok(), "refreshed");
            (type_name, reqs, res)
        });
    }
    let mut out = Vec::new();
    let mut diags = Diagnostics::new();
    while let Some(joined) = set.join_next().await {
        let Ok((type_name, reqs, res)) = joined else {
            diags.push(Diagnostic::error("a refresh task failed unexpectedly"));
            continue;
        };
        match res {
            Ok(values) if values.len() == reqs.len() => {
                let schema = input.registry.get(&type_name).map(|rt| rt.schema());
                for (req, v) in reqs.into_iter().zip(values) {
                    let v = match (schema, v) {
                        (Some(schema), Some(v)) => Some(schema.keep_client_only(&req.prior, v)),
                        (_, v) => v,
                    };
                    out.push((req.addr, v));
                }
            }
            Ok(_) => diags.push(Diagnostic::error(format!(
                "refreshing {type_name}: the provider returned the wrong number of objects"
            ))),
            Err(e) => diags.push(
                Diagnostic::error(format!(
                    "Refreshing {type_name} ({} instances) failed{}: {}",
                    reqs.len(),
                    e.method.as_ref().map(|m| format!(" in {m}")).unwrap_or_default(),
                    e.message
                ))
                .help("check credentials and connectivity, or plan with --refresh=false to skip reading live objects"),
            ),
        }
    }
    if diags.has_errors() {
        return Err(diags);
    }
    Ok(out)
}

pub fn evaluate_checks(config: &Config, env: &Env, diags: &mut Diagnostics) -> Vec<CheckResult> {
    evaluate_checks_with_missing(config, env, &BTreeSet::new(), diags)
}

/// Resolves like [`ModuleScope`], except that instances which do not exist read as null.
struct CheckScope<'a> {
    inner: ModuleScope<'a>,
    missing: &'a BTreeSet<InstanceAddr>,
}

impl Resolver for CheckScope<'_> {
    fn workspace(&self) -> &str {
        self.inner.workspace()
    }

    fn resolve(&self, root: &crate::lang::refs::RefRoot, span: crate::lang::diag::Span) -> Result<Value, Diagnostic> {
        if let crate::lang::refs::RefRoot::Resource { mode, type_name, name } = root {
            let addr = ResourceAddr {
                module: self.inner.module.clone(),
                mode: *mode,
                type_name: type_name.clone(),
                name: name.clone(),
            };
            if let Some(found) = self.inner.env.resources.get(&addr) {
                let mut inst = Instances::new(found.expansion.clone());
                for (k, v) in found.values() {
                    let missing = self.missing.contains(&addr.instance(k.clone()));
                    inst.insert(k.clone(), if missing { Value::Null } else { v.clone() });
                }
                // A for_each/count resource whose instances are all missing reads as absent keys.
                return Ok(match inst.to_value() {
                    Value::Map(m) => {
                        Value::object(Arc::unwrap_or_clone(m).into_iter().filter(|(_, v)| !v.is_null()).collect())
                    }
                    other => other,
                });
            }
        }
        self.inner.resolve(root, span)
    }

    fn clock(&self) -> crate::lang::functions::Clock {
        self.inner.clock()
    }
}

/// The root module, then each module call in the order it is written, depth first: the order
/// in which a reader meets them, and the order the health report lists their checks.
fn modules_in_declaration_order(config: &Config) -> Vec<(&ModulePath, &crate::lang::config::Module)> {
    fn walk<'a>(
        config: &'a Config,
        path: &ModulePath,
        out: &mut Vec<(&'a ModulePath, &'a crate::lang::config::Module)>,
    ) {
        let Some((path, module)) = config.modules.get_key_value(path) else { return };
        out.push((path, module));
        for name in module.module_calls.keys() {
            walk(config, &path.child(name), out);
        }
    }
    let mut out = Vec::new();
    walk(config, &ModulePath::root(), &mut out);
    // Anything a walk from the root does not reach still has its checks evaluated.
    for (path, module) in &config.modules {
        if !out.iter().any(|(p, _)| *p == path) {
            out.push((path, module));
        }
    }
    out
}

pub fn evaluate_checks_with_missing(
    config: &Config,
    env: &Env,
    missing: &BTreeSet<InstanceAddr>,
    diags: &mut Diagnostics,
) -> Vec<CheckResult> {
    let mut out = Vec::new();
    for (module_path, module) in modules_in_declaration_order(config) {
        for path in &env.module_instances(config, module_path) {
            for check in module.checks.values() {
                let address = if path.is_root() {
                    format!("check.{}", check.name)
                } else {
                    format!("{path}.check.{}", check.name)
                };
                let scope = CheckScope { inner: ModuleScope { env, config, module: path }, missing };
                let c = crate::lang::eval::EvalCtx {
                    resolver: &scope,
                    count_index: None,
                    each: None,
                    module_dir: module_dir_display(config, path),
                    root_dir: &config.root_dir,
                    sources: &config.sources,
                };
                let mut status = CheckStatus::Pass;
                let mut messages = Vec::new();
                for a in &check.asserts {
                    match eval(&a.condition, &c) {
                        Ok(v) if v.is_unknown() => {
                            if status == CheckStatus::Pass {
                                status = CheckStatus::Unknown;
                            }
                        }
                        Ok(v) => match v.as_bool() {
                            Some(true) => {}
                            Some(false) => {
                                status = CheckStatus::Fail;
                                let msg = eval(&a.error_message, &c)
                                    .ok()
                                    .map(|m| {
                                        if m.contains_sensitive() {
                                            "(error message refers to sensitive values)".to_string()
                                        } else {
                                            m.as_str().map(str::to_string).unwrap_or_else(|| m.to_string())
                                        }
                                    })
                                    .unwrap_or_else(|| "assertion failed".into());
                                messages.push(msg);
                            }
                            None => diags.push(
                                Diagnostic::error(format!(
                                    "Invalid check condition in {address}: expected a bool, got {}",
                                    v.type_name()
                                ))
                                .at(a.condition.span),
                            ),
                        },
                        Err(d) => diags.extend(d),
                    }
                }
                out.push(CheckResult { address, status, messages });
            }
        }
    }
    out
}

fn split_variables(vars: &BTreeMap<String, Value>) -> (BTreeMap<String, Value>, Vec<String>) {
    let mut plain = BTreeMap::new();
    let mut sensitive = Vec::new();
    for (k, v) in vars {
        if v.contains_sensitive() {
            sensitive.push(k.clone());
        } else {
            plain.insert(k.clone(), v.clone());
        }
    }
    (plain, sensitive)
}

/// Hash of every source file (path and content), so a saved plan can tell the configuration
/// changed.
pub fn config_hash(config: &Config) -> String {
    use sha2::{Digest, Sha256};
    let mut files: Vec<(String, &str)> = config
        .sources
        .files()
        .filter(|(_, f)| {
            f.path.extension().is_some_and(|e| e == "tf" || e == "hcl")
                || f.path.to_string_lossy().ends_with(".tf.json")
        })
        .map(|(_, f)| {
            let rel = f
                .path
                .strip_prefix(&config.root_dir)
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| f.path.display().to_string());
            (rel, f.text.as_str())
        })
        .collect();
    files.sort();
    let mut h = Sha256::new();
    for (p, t) in files {
        h.update(p.as_bytes());
        h.update([0]);
        h.update(t.as_bytes());
        h.update([0]);
    }
    hex::encode(h.finalize())
}

/// The state the plan starts from after moves and refresh, in stored form: what was stored,
/// less what is gone, with the instances whose live object differs encoded again.
fn rebuild_prior_state(
    mut state: State,
    prior: &BTreeMap<InstanceAddr, Value>,
    changed: &BTreeSet<InstanceAddr>,
    registry: &Registry,
    key: &[u8; 32],
) -> State {
    state.resources.retain(|a, _| prior.contains_key(a));
    for addr in changed {
        let (Some(r), Some(v)) = (state.resources.get_mut(addr), prior.get(addr)) else { continue };
        if let Some(rt) = registry.get(&r.type_name) {
            let (attrs, fps) = codec::encode(v, rt.schema(), key);
            r.attributes = attrs.into();
            r.sensitive_fingerprints = fps;
        }
    }
    state
}

/// The live object as a drift report shows it: an attribute the read left unknown (one only a
/// health read fills in) was not read, so it shows as it was rather than as a change.
fn unread_as_before(before: &Value, now: &Value) -> Value {
    match (before, now) {
        (Value::Map(b), Value::Map(n)) => Value::object(
            n.iter()
                .map(|(k, v)| match v {
                    Value::Unknown(crate::lang::value::Unknown::Pending) => {
                        (k.clone(), b.get(k).cloned().unwrap_or(Value::Null))
                    }
                    _ => (k.clone(), v.clone()),
                })
                .collect(),
        ),
        _ => now.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{stack, LoadedStack};

    const KEY: [u8; 32] = [7; 32];

    #[test]
    fn replaced_instance_names_each_user_once() {
        use crate::cli::render::fixtures::{addr, change};
        let mut changes = vec![
            change("random_id.a", Action::DeleteThenCreate, None, None),
            change("random_id.b", Action::DeleteThenCreate, None, None),
            change("terraform_data.x", Action::NoOp, None, None),
            change("terraform_data.y", Action::Update, None, None),
            change("terraform_data.gone", Action::Delete, None, None),
        ];
        let deps: Dependencies = vec![addr("random_id.a")].into();
        changes[2].dependencies = deps.clone();
        changes[4].dependencies = deps.clone();
        // y depends on `a` only as recorded in state, x both now and as recorded.
        let mut state = State::new();
        for user in ["terraform_data.x", "terraform_data.y"] {
            let mut r = change(user, Action::Create, None, None).recorded(
                &crate::schema::Schema::default(),
                &Value::Null,
                &KEY,
            );
            r.dependencies = deps.clone();
            state.resources.insert(addr(user), r);
        }
        warn_replaced_while_in_use(&mut changes, &state);
        assert_eq!(changes[0].warnings.len(), 1);
        assert!(
            changes[0].warnings[0].contains("but terraform_data.x, terraform_data.y still use it"),
            "{}",
            changes[0].warnings[0]
        );
        assert!(changes[1].warnings.is_empty(), "{:?}", changes[1].warnings);
    }

    async fn plan_with(s: &LoadedStack, state: State, opts: &PlanOptions) -> Result<PlanResult, Diagnostics> {
        let registry = Registry::builtin();
        let input = PlanInput {
            config: &s.config,
            graph: &s.graph,
            registry: &registry,
            variables: BTreeMap::new(),
            state,
            fingerprint_key: KEY,
            open_journal: Vec::new(),
            provider_configs: BTreeMap::new(),
        };
        plan(input, opts).await
    }

    /// The state an apply of `plan` would leave, with `id`s filled in.
    fn applied(plan: &Plan) -> State {
        let registry = Registry::builtin();
        let mut state = State::new();
        for (n, c) in plan.changes.iter().enumerate() {
            let Some(after) = &c.after else { continue };
            let mut v = after.clone();
            let m = v.map_mut().unwrap();
            for (k, x) in m.iter_mut() {
                if x.is_unknown() {
                    *x = if k == "id" { Value::string(format!("id-{n}")) } else { Value::Null };
                }
            }
            let schema = registry.get(&c.type_name).unwrap().schema();
            state.resources.insert(c.addr.clone(), c.recorded(schema, &v, &KEY));
        }
        state
    }

    /// The state after applying the stack until nothing changes (values known only after
    /// one apply feed the next plan).
    async fn converged(s: &LoadedStack) -> State {
        let mut state = State::new();
        for _ in 0..3 {
            let r = plan_with(s, state.clone(), &PlanOptions::default()).await.unwrap();
            if r.plan.changes.iter().all(|c| c.action == Action::NoOp) {
                return state;
            }
            state = applied(&r.plan);
        }
        panic!("the stack does not converge");
    }

    fn actions(p: &Plan) -> Vec<(String, Action, Option<ActionReason>)> {
        p.changes.iter().map(|c| (c.addr.to_string(), c.action, c.reason)).collect()
    }

    #[tokio::test]
    async fn an_instance_that_reads_another_resource_by_its_own_key_depends_on_that_instance_alone() {
        let s = stack(&[(
            "main.tf",
            r#"
locals {
  names = toset(["x", "y", "z"])
}
resource "terraform_data" "config" {
  for_each = local.names
  input    = each.key
}
resource "terraform_data" "seed" {
  count = 2
  input = count.index
}
resource "terraform_data" "endpoint" {
  for_each = local.names
  input = {
    config = terraform_data.config[each.key].output
    first  = terraform_data.seed.0.output
    other  = terraform_data.seed[length(each.key) == 1 ? 1 : 0].output
  }
}
resource "terraform_data" "everywhere" {
  for_each = local.names
  # Read whole once (through the splat): every instance of config, as before.
  input = [terraform_data.config[each.key].output, terraform_data.config[*]]
}
locals {
  via_local = terraform_data.seed
}
resource "terraform_data" "through_local" {
  count = 2
  input = [terraform_data.seed[count.index].output, local.via_local]
}
resource "terraform_data" "for_variable" {
  count = 1
  input = [for k in local.names : terraform_data.config[k].output]
}
"#,
        )]);
        let r = plan_with(&s, State::new(), &PlanOptions::default()).await.unwrap();
        let deps = |addr: &str| -> Vec<String> {
            let c = r.plan.changes.iter().find(|c| c.addr.to_string() == addr).expect("planned");
            c.dependencies.iter().map(ToString::to_string).collect()
        };
        assert_eq!(
            deps("terraform_data.endpoint[\"y\"]"),
            vec!["terraform_data.config[\"y\"]", "terraform_data.seed[0]", "terraform_data.seed[1]"]
        );
        let all_config =
            vec!["terraform_data.config[\"x\"]", "terraform_data.config[\"y\"]", "terraform_data.config[\"z\"]"];
        assert_eq!(deps("terraform_data.everywhere[\"x\"]"), all_config);
        assert_eq!(deps("terraform_data.through_local[1]"), vec!["terraform_data.seed[0]", "terraform_data.seed[1]"]);
        assert_eq!(deps("terraform_data.for_variable[0]"), all_config);
    }

    const STACK: &str = r#"
resource "terraform_data" "a" {
  input = "alpha"
}
resource "terraform_data" "b" {
  count = 2
  input = "${terraform_data.a.id}-${count.index}"
}
output "b_inputs" {
  value = terraform_data.b[*].input
}
"#;

    #[tokio::test]
    async fn a_new_stack_plans_creates_with_values_known_after_apply() {
        let s = stack(&[("main.tf", STACK)]);
        let r = plan_with(&s, State::new(), &PlanOptions::default()).await.unwrap();
        assert_eq!(
            actions(&r.plan),
            vec![
                ("terraform_data.a".into(), Action::Create, None),
                ("terraform_data.b[0]".into(), Action::Create, None),
                ("terraform_data.b[1]".into(), Action::Create, None),
            ]
        );
        let b0 = &r.plan.changes[1];
        assert!(b0.after.as_ref().unwrap().get("input").is_some_and(Value::is_unknown), "a.id is not known yet");
        assert_eq!(b0.dependencies.iter().map(ToString::to_string).collect::<Vec<_>>(), vec!["terraform_data.a"]);
        assert_eq!(r.plan.output_changes.len(), 1);
        assert_eq!(r.plan.output_changes[0].action, Action::Create);
    }

    #[tokio::test]
    async fn an_applied_stack_plans_nothing_and_a_removed_instance_is_deleted_with_its_reason() {
        let s = stack(&[("main.tf", STACK)]);
        let state = converged(&s).await;

        let again = plan_with(&s, state.clone(), &PlanOptions::default()).await.unwrap();
        assert!(again.plan.changes.iter().all(|c| c.action == Action::NoOp), "{:?}", actions(&again.plan));
        assert!(again.plan.drift.is_empty());
        assert_eq!(again.plan.prior_state.resources, state.resources, "an unchanged refresh keeps the stored form");

        let fewer = stack(&[("main.tf", &STACK.replace("count = 2", "count = 1"))]);
        let r = plan_with(&fewer, state.clone(), &PlanOptions::default()).await.unwrap();
        let deletes: Vec<_> = actions(&r.plan).into_iter().filter(|a| a.1 != Action::NoOp).collect();
        assert_eq!(
            deletes,
            vec![("terraform_data.b[1]".into(), Action::Delete, Some(ActionReason::DeleteBecauseCountIndex))]
        );

        let gone = stack(&[("main.tf", "resource \"terraform_data\" \"a\" {\n  input = \"alpha\"\n}\n")]);
        let r = plan_with(&gone, state, &PlanOptions::default()).await.unwrap();
        assert!(actions(&r.plan).contains(&(
            "terraform_data.b[0]".into(),
            Action::Delete,
            Some(ActionReason::DeleteBecauseNoResourceConfig)
        )));
        assert_eq!(r.plan.output_changes.iter().map(|o| (o.name.as_str(), o.action)).collect::<Vec<_>>(), vec![]);
    }

    #[tokio::test]
    async fn destroy_and_refresh_only_modes() {
        let s = stack(&[("main.tf", STACK)]);
        let state = converged(&s).await;

        let destroy = PlanOptions { mode: PlanMode::Destroy, ..PlanOptions::default() };
        let r = plan_with(&s, state.clone(), &destroy).await.unwrap();
        assert_eq!(r.plan.changes.len(), 3);
        assert!(r.plan.changes.iter().all(|c| c.action == Action::Delete));

        let changed = stack(&[("main.tf", &STACK.replace("alpha", "beta"))]);
        let refresh_only = PlanOptions { mode: PlanMode::RefreshOnly, ..PlanOptions::default() };
        let r = plan_with(&changed, state, &refresh_only).await.unwrap();
        assert!(r.plan.changes.iter().all(|c| c.action == Action::NoOp), "{:?}", actions(&r.plan));
    }

    #[tokio::test]
    async fn moved_blocks_rename_state_and_unknown_types_in_state_are_refused() {
        let s = stack(&[("main.tf", STACK)]);
        let state = converged(&s).await;

        let renamed = STACK.replace("\"a\" {", "\"first\" {").replace("terraform_data.a.id", "terraform_data.first.id")
            + "moved {\n  from = terraform_data.a\n  to   = terraform_data.first\n}\n";
        let r = plan_with(&stack(&[("main.tf", &renamed)]), state.clone(), &PlanOptions::default()).await.unwrap();
        let first = r.plan.changes.iter().find(|c| c.addr.to_string() == "terraform_data.first").unwrap();
        assert_eq!(
            (first.action, first.previous_addr.as_ref().map(ToString::to_string)),
            (Action::NoOp, Some("terraform_data.a".into()))
        );

        let mut foreign = state;
        foreign.resources.values_mut().next().unwrap().type_name = "google_compute_instance".into();
        let err = plan_with(&s, foreign, &PlanOptions::default()).await.err().expect("refused");
        let d = &err.0[0];
        assert!(d.summary.contains("google_compute_instance"), "{}", d.summary);
        assert!(d.help.as_deref().is_some_and(|h| h.contains("cairn state rm")), "{:?}", d.help);
    }

    #[tokio::test]
    async fn an_untargeted_instance_that_does_not_exist_reads_as_unknown() {
        let s = stack(&[("main.tf", STACK)]);
        let targeted = PlanOptions { targets: vec!["terraform_data.a".parse().unwrap()], ..PlanOptions::default() };
        let r = plan_with(&s, State::new(), &targeted).await.unwrap();
        assert_eq!(actions(&r.plan), vec![("terraform_data.a".into(), Action::Create, None)]);
        let b: ResourceAddr = match "terraform_data.b".parse::<AnyAddr>().unwrap() {
            AnyAddr::Resource(b) => b,
            other => panic!("{other}"),
        };
        let values = r.env.resources[&b].values();
        assert_eq!(values.len(), 2, "both instances have a value for references to read");
        assert!(values.values().all(Value::is_unknown));
    }
}
