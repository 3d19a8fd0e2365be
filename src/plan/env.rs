//! The values a walk has produced so far — variables, locals, resource instances, outputs — and
//! the [`Resolver`] that lets expressions in one module see them.
//!
//! Plan fills it with planned values (unknown where the apply decides); apply keeps it and
//! replaces planned values with real ones as resources complete, re-evaluating the locals and
//! variables in a resource's dependency cone just before running it.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, OnceLock};

use crate::addr::{InstanceKey, ModulePath, ResourceAddr};
use crate::graph::{Graph, Node};
use crate::lang::config::{Config, ResourceBlock};
use crate::lang::diag::{Diagnostic, Diagnostics, Span};
use crate::lang::eval::{eval, EvalCtx, Resolver};
use crate::lang::functions::Clock;
use crate::lang::refs::RefRoot;
use crate::lang::types;
use crate::lang::value::Value;

#[derive(Clone, Debug, PartialEq)]
pub enum Expansion {
    Single,
    Count(usize),
    ForEach(Vec<String>),
}

impl Expansion {
    pub fn keys(&self) -> Vec<InstanceKey> {
        match self {
            Expansion::Single => vec![InstanceKey::None],
            Expansion::Count(n) => (0..*n as i64).map(InstanceKey::Int).collect(),
            Expansion::ForEach(ks) => ks.iter().cloned().map(InstanceKey::Str).collect(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Instances {
    pub expansion: Expansion,
    values: BTreeMap<InstanceKey, Value>,
    /// [`Self::to_value`], built on first use and kept current by [`Self::insert`]: each of a
    /// `for_each` resource's N instances that reads another's (`config[each.key]`) would
    /// otherwise rebuild that resource's whole map, N² work (at 100,000 resources, minutes).
    whole: OnceLock<Value>,
}

impl Instances {
    pub fn new(expansion: Expansion) -> Self {
        Instances { expansion, values: BTreeMap::new(), whole: OnceLock::new() }
    }

    pub fn values(&self) -> &BTreeMap<InstanceKey, Value> {
        &self.values
    }

    /// Sets one instance's value, updating the whole value in place when it was built (its
    /// map is not shared then: references keep what they index, not the whole).
    pub fn insert(&mut self, key: InstanceKey, value: Value) {
        if let Some(whole) = self.whole.get_mut() {
            let updated = match (whole, &key) {
                (Value::Map(m), InstanceKey::Str(k)) if m.contains_key(k) => {
                    Arc::make_mut(m).insert(k.clone(), value.clone());
                    true
                }
                (Value::List(xs), InstanceKey::Int(i)) => match usize::try_from(*i).ok().and_then(|i| xs.get_mut(i)) {
                    Some(slot) => {
                        *slot = value.clone();
                        true
                    }
                    None => false,
                },
                (w, InstanceKey::None) if self.expansion == Expansion::Single => {
                    *w = value.clone();
                    true
                }
                _ => false,
            };
            if !updated {
                self.whole = OnceLock::new();
            }
        }
        self.values.insert(key, value);
    }

    /// How references see the resource: an object, a list (count) or a map (for_each).
    pub fn to_value(&self) -> Value {
        self.whole.get_or_init(|| self.build_value()).clone()
    }

    fn build_value(&self) -> Value {
        let get = |k: &InstanceKey| self.values.get(k).cloned().unwrap_or_else(Value::unknown);
        match &self.expansion {
            Expansion::Single => get(&InstanceKey::None),
            Expansion::Count(_) => Value::List(self.expansion.keys().iter().map(get).collect()),
            Expansion::ForEach(_) => Value::object(
                self.expansion
                    .keys()
                    .iter()
                    .map(|k| {
                        (
                            match k {
                                InstanceKey::Str(s) => s.clone(),
                                _ => String::new(),
                            },
                            get(k),
                        )
                    })
                    .collect(),
            ),
        }
    }
}

/// How a module block with `count`/`for_each` expanded in one instance of its caller.
#[derive(Clone, Debug)]
pub struct ModuleExpansion {
    pub expansion: Expansion,
    /// The map `each.value` reads in the call's arguments (for_each only).
    pub each: Option<Value>,
}

/// Values are keyed by module *instance* path (`module.svc["a"]`); the configuration and the
/// graph by module path without keys.
#[derive(Default)]
pub struct Env {
    /// Module calls with `count`/`for_each`, by (calling module instance, call name). A call
    /// without them has its one unkeyed instance and no entry.
    pub module_calls: HashMap<(ModulePath, String), ModuleExpansion>,
    pub vars: HashMap<(ModulePath, String), Value>,
    pub locals: HashMap<(ModulePath, String), Value>,
    pub outputs: HashMap<(ModulePath, String), Value>,
    pub resources: HashMap<ResourceAddr, Instances>,
    /// What `plantimestamp()` and `timestamp()` return in this walk: set by the plan (its
    /// time), kept by the apply that continues it (which also lets `timestamp()` read the
    /// wall clock). The default, as `validate` has it, knows neither.
    pub clock: Clock,
    /// What lets [`Env::refresh_cone`] skip values nothing changed under.
    freshness: Freshness,
}

/// During an apply, when each resource last got a value and when each variable, local and
/// output instance was last evaluated, on one counter. Values other than resources' change only
/// when a resource they read does, so a step re-evaluates only the part of its cone that
/// reads a resource completed since: without this every step of a 500-instance `for_each`
/// re-evaluated the 500-entry map it expands over (at 100,000 resources, most of the apply).
#[derive(Default)]
struct Freshness {
    tick: u64,
    /// Resource at its configuration address (module path without keys) → tick of its newest
    /// value.
    changed: HashMap<ResourceAddr, u64>,
    /// (node, module instance) → tick of its last evaluation.
    evaluated: HashMap<(Node, ModulePath), u64>,
}

/// Looks references up in an [`Env`] from inside one module.
pub struct ModuleScope<'a> {
    pub env: &'a Env,
    pub config: &'a Config,
    pub module: &'a ModulePath,
}

impl Resolver for ModuleScope<'_> {
    fn clock(&self) -> Clock {
        self.env.clock
    }

    fn workspace(&self) -> &str {
        &self.config.workspace
    }

    fn resolve(&self, root: &RefRoot, span: Span) -> Result<Value, Diagnostic> {
        let key = |n: &String| (self.module.clone(), n.clone());
        match root {
            RefRoot::Var(n) => Ok(self.env.vars.get(&key(n)).cloned().unwrap_or_else(Value::unknown)),
            RefRoot::Local(n) => Ok(self.env.locals.get(&key(n)).cloned().unwrap_or_else(Value::unknown)),
            RefRoot::Resource { mode, type_name, name } => {
                let addr = ResourceAddr {
                    module: self.module.clone(),
                    mode: *mode,
                    type_name: type_name.clone(),
                    name: name.clone(),
                };
                Ok(self.env.resources.get(&addr).map(Instances::to_value).unwrap_or_else(Value::unknown))
            }
            RefRoot::Module(name) => {
                let Some(m) = self.config.module(&self.module.child(name)) else {
                    return Err(Diagnostic::error(format!("Reference to undeclared module \"{name}\"")).at(span));
                };
                let outputs = |child: &ModulePath| {
                    Value::object(
                        m.outputs
                            .keys()
                            .map(|o| {
                                let v = self.env.outputs.get(&(child.clone(), o.clone()));
                                (o.clone(), v.cloned().unwrap_or_else(Value::unknown))
                            })
                            .collect(),
                    )
                };
                let expanded = self.config.module_call(&self.module.child(name)).is_some_and(|c| c.is_expanded());
                if !expanded {
                    return Ok(outputs(&self.module.child(name)));
                }
                // `module.svc` of a call with count is a list of its instances' outputs, with
                // for_each a map of them (by key).
                let Some(e) = self.env.module_calls.get(&(self.module.clone(), name.clone())) else {
                    return Ok(Value::unknown());
                };
                let mut instances = Instances::new(e.expansion.clone());
                for k in e.expansion.keys() {
                    let v = outputs(&self.module.child_instance(name, k.clone()));
                    instances.insert(k, v);
                }
                Ok(instances.to_value())
            }
            other => Err(Diagnostic::error(format!("{} is not available here", describe(other))).at(span)),
        }
    }
}

fn describe(r: &RefRoot) -> &'static str {
    match r {
        RefRoot::CountIndex => "count.index (only inside a resource or module block with count)",
        RefRoot::EachKey | RefRoot::EachValue => {
            "each.key / each.value (only inside a resource or module block with for_each)"
        }
        RefRoot::SelfRef => "self",
        _ => "this reference",
    }
}

/// `path.module` for a module: its directory relative to the stack directory.
pub fn module_dir_display(config: &Config, module: &ModulePath) -> String {
    let Some(m) = config.module(module) else { return ".".into() };
    if module.is_root() {
        return ".".into();
    }
    relative(&config.root_dir, &m.dir)
}

fn relative(base: &Path, p: &Path) -> String {
    match p.strip_prefix(base) {
        Ok(r) if r.as_os_str().is_empty() => ".".into(),
        Ok(r) => r.display().to_string(),
        Err(_) => p.display().to_string(),
    }
}

pub fn ctx<'a>(config: &'a Config, scope: &'a ModuleScope<'a>, module_dir: String) -> EvalCtx<'a> {
    EvalCtx {
        resolver: scope,
        count_index: None,
        each: None,
        module_dir,
        root_dir: &config.root_dir,
        sources: &config.sources,
    }
}

impl Env {
    /// Evaluates one non-resource node into the env (variables of child modules, locals,
    /// outputs). Root variables must already be present.
    pub fn eval_node(&mut self, config: &Config, node: &Node) -> Result<(), Diagnostics> {
        self.eval_node_near(config, node, &ModulePath::root(), None)
    }

    /// Sets one resource instance's value during an apply (a step completed), so that values
    /// reading the resource are evaluated again before the next step that reads them.
    pub fn set_instance(&mut self, resource: &ResourceAddr, key: InstanceKey, value: Value) {
        if let Some(inst) = self.resources.get_mut(resource) {
            inst.insert(key, value);
        }
        self.freshness.tick += 1;
        let of_config = ResourceAddr { module: resource.module.without_keys(), ..resource.clone() };
        self.freshness.changed.insert(of_config, self.freshness.tick);
    }

    /// [`Env::eval_node`] in only the module instances that share their calling instances with
    /// `near` (a resource's module instance): what that resource can see. An apply step
    /// refreshes these, not every instance of every module in its cone. With `changed_since`
    /// (the tick of the newest value among the resources `node` reads), an instance evaluated
    /// at or after it is kept as it is.
    fn eval_node_near(
        &mut self,
        config: &Config,
        node: &Node,
        near: &ModulePath,
        changed_since: Option<u64>,
    ) -> Result<(), Diagnostics> {
        let (module, name) = match node {
            Node::Var(m, n) | Node::Local(m, n) | Node::Output(m, n) => (m, n),
            Node::Resource(_) | Node::ModuleCall(_) => return Ok(()),
        };
        let shared = module.0.iter().zip(&near.0).take_while(|(a, b)| a.name == b.name).count();
        let mut diags = Diagnostics::new();
        let instances = self.module_instances(config, module);
        for instance in instances.into_iter().filter(|i| i.0[..shared] == near.0[..shared]) {
            let stamp = (node.clone(), instance.clone());
            if let Some(since) = changed_since {
                if self.freshness.evaluated.get(&stamp).is_some_and(|&at| at >= since) {
                    continue;
                }
            }
            let done = match node {
                Node::Var(..) => self.eval_var(config, &instance, name),
                Node::Local(..) => self.eval_local(config, &instance, name),
                _ => self.eval_output(config, &instance, name),
            };
            match done {
                Ok(()) if changed_since.is_some() => {
                    self.freshness.evaluated.insert(stamp, self.freshness.tick);
                }
                Ok(()) => {}
                Err(d) => diags.extend(d),
            }
        }
        if diags.has_errors() {
            return Err(diags);
        }
        Ok(())
    }

    /// The instances of configuration module `module` (a path without keys), as far as the
    /// module calls on the way have been expanded: none below a call not expanded yet (or that
    /// could not be).
    pub fn module_instances(&self, config: &Config, module: &ModulePath) -> Vec<ModulePath> {
        let mut out = vec![ModulePath::root()];
        let mut static_path = ModulePath::root();
        for step in &module.0 {
            let expanded = config
                .module(&static_path)
                .and_then(|m| m.module_calls.get(&step.name))
                .is_some_and(|c| c.is_expanded());
            static_path = static_path.child(&step.name);
            out = out
                .into_iter()
                .flat_map(|parent| {
                    if !expanded {
                        return vec![parent.child(&step.name)];
                    }
                    let keys = self
                        .module_calls
                        .get(&(parent.clone(), step.name.clone()))
                        .map(|e| e.expansion.keys())
                        .unwrap_or_default();
                    keys.into_iter().map(|k| parent.child_instance(&step.name, k)).collect()
                })
                .collect();
        }
        out
    }

    /// A child module instance's variable: the call's argument, evaluated in the calling
    /// instance with this instance's `count.index` / `each`, or the variable's default.
    fn eval_var(&mut self, config: &Config, module: &ModulePath, name: &String) -> Result<(), Diagnostics> {
        let Some((parent, call_name)) = module.parent() else { return Ok(()) };
        let Some(var) = config.module(module).and_then(|m| m.variables.get(name)) else { return Ok(()) };
        let call = config.module(&parent).and_then(|m| m.module_calls.get(call_name));
        let given = call.and_then(|c| c.inputs.get(name));
        let value = match given {
            Some(attr) => {
                let scope = ModuleScope { env: self, config, module: &parent };
                let mut c = ctx(config, &scope, module_dir_display(config, &parent));
                let each_map =
                    self.module_calls.get(&(parent.clone(), call_name.to_string())).and_then(|e| e.each.as_ref());
                match module.last_key() {
                    InstanceKey::Int(i) if call.is_some_and(|c| c.count.is_some()) => c.count_index = Some(*i),
                    InstanceKey::Str(k) if call.is_some_and(|c| c.for_each.is_some()) => {
                        let v = each_map.and_then(|m| m.get(k)).cloned().unwrap_or_else(|| Value::string(k.clone()));
                        c.each = Some((Value::string(k.clone()), v));
                    }
                    _ => {}
                }
                let v = eval_expr(&attr.expr, &c)?;
                types::convert(v, &var.ty).map_err(|e| {
                    Diagnostics::from(
                        Diagnostic::error(format!("Invalid value for module argument \"{name}\": {e}"))
                            .at(attr.expr.span)
                            .help(format!("the variable is declared with type {}", var.ty)),
                    )
                })?
            }
            None => match &var.default {
                Some(d) => {
                    let scope = ModuleScope { env: self, config, module };
                    let c = ctx(config, &scope, module_dir_display(config, module));
                    let v = eval(d, &c)?;
                    types::convert(v, &var.ty).map_err(|e| {
                        Diagnostics::from(
                            Diagnostic::error(format!("Invalid default for variable \"{name}\": {e}")).at(d.span),
                        )
                    })?
                }
                None => Value::unknown(),
            },
        };
        if value.is_null() && !var.nullable {
            return Err(Diagnostic::error(format!("Invalid value for variable \"{name}\": it is not nullable"))
                .at_opt(given.map(|a| a.span))
                .at(var.span)
                .help("pass a non-null value, or set `nullable = true` in the variable block")
                .into());
        }
        self.vars.insert((module.clone(), name.clone()), value.mark_if(var.sensitive));
        Ok(())
    }

    fn eval_local(&mut self, config: &Config, module: &ModulePath, name: &String) -> Result<(), Diagnostics> {
        let Some(local) = config.module(module).and_then(|m| m.locals.get(name)) else { return Ok(()) };
        let scope = ModuleScope { env: self, config, module };
        let c = ctx(config, &scope, module_dir_display(config, module));
        let v = eval_expr(&local.expr, &c)?;
        self.locals.insert((module.clone(), name.clone()), v);
        Ok(())
    }

    fn eval_output(&mut self, config: &Config, module: &ModulePath, name: &String) -> Result<(), Diagnostics> {
        let Some(out) = config.module(module).and_then(|m| m.outputs.get(name)) else { return Ok(()) };
        let scope = ModuleScope { env: self, config, module };
        let c = ctx(config, &scope, module_dir_display(config, module));
        let v = eval_expr(&out.expr, &c)?;
        if v.contains_sensitive() && !out.sensitive {
            return Err(Diagnostic::error(format!("Output \"{name}\" refers to sensitive values"))
                .at(out.expr.span)
                .help("add `sensitive = true` to the output block to confirm it may carry secrets (its value is then redacted)")
                .into());
        }
        self.outputs.insert((module.clone(), name.clone()), v.mark_if(out.sensitive));
        Ok(())
    }

    /// Re-evaluates the non-resource nodes a resource depends on, in dependency order, so that
    /// values produced by resources applied so far flow into it.
    pub fn refresh_cone(&mut self, config: &Config, graph: &Graph, resource: &ResourceAddr) -> Result<(), Diagnostics> {
        let of_config = ResourceAddr { module: resource.module.without_keys(), ..resource.clone() };
        let mut stack = vec![Node::Resource(of_config)];
        let mut seen = std::collections::HashSet::new();
        let mut cone = Vec::new();
        while let Some(n) = stack.pop() {
            for d in graph.direct_deps(&n) {
                if matches!(d, Node::Resource(_)) || !seen.insert(d.clone()) {
                    continue;
                }
                cone.push(d.clone());
                stack.push(d.clone());
            }
        }
        cone.sort_by_key(|n| graph.position(n).unwrap_or(usize::MAX));
        // In dependency order, each node's newest input: the newest value among the resources
        // it reads directly or through the cone's other nodes.
        let mut newest: HashMap<&Node, u64> = HashMap::new();
        for n in &cone {
            let mut since = 0;
            for d in graph.direct_deps(n) {
                let at = match d {
                    Node::Resource(r) => self.freshness.changed.get(r).copied().unwrap_or(0),
                    other => newest.get(other).copied().unwrap_or(0),
                };
                since = since.max(at);
            }
            newest.insert(n, since);
            self.eval_node_near(config, n, &resource.module, Some(since))?;
        }
        Ok(())
    }
}

/// The `EvalCtx` for one instance of a resource.
pub fn instance_ctx<'a>(
    config: &'a Config,
    scope: &'a ModuleScope<'a>,
    module: &ModulePath,
    key: &InstanceKey,
    for_each_values: Option<&Value>,
    block: &ResourceBlock,
) -> EvalCtx<'a> {
    let mut c = ctx(config, scope, module_dir_display(config, module));
    match key {
        InstanceKey::Int(i) if block.count.is_some() => c.count_index = Some(*i),
        InstanceKey::Str(k) if block.for_each.is_some() => {
            let v = for_each_values.and_then(|m| m.get(k)).cloned().unwrap_or_else(|| Value::string(k.clone()));
            c.each = Some((Value::string(k.clone()), v));
        }
        _ => {}
    }
    c
}

/// Evaluates an expression, keeping secrets that exist but were not kept (withheld) distinct
/// from values that are not known yet: when every unknown the expression reads is withheld,
/// its unknown result is withheld too. Without this, `"postgres://u:${random_password.p.result}@h"`
/// would read as "(known after apply)" on every plan after the one that created the password.
pub fn eval_expr(expr: &crate::lang::config::Expr, ctx: &EvalCtx<'_>) -> Result<Value, Diagnostics> {
    let v = eval(expr, ctx)?;
    if !has_pending(&v) {
        return Ok(v);
    }
    let refs = crate::lang::refs::expr_references(expr);
    Ok(settle_withheld(v, &refs, ctx))
}

/// [`eval_expr`] for a whole block body.
pub fn eval_body_expr(body: &crate::lang::config::Body, ctx: &EvalCtx<'_>) -> Result<Value, Diagnostics> {
    let v = crate::lang::eval::eval_body(body, ctx)?;
    if !has_pending(&v) {
        return Ok(v);
    }
    let refs = crate::lang::refs::body_references(body);
    Ok(settle_withheld(v, &refs, ctx))
}

fn settle_withheld(v: Value, refs: &[crate::lang::refs::Reference], ctx: &EvalCtx<'_>) -> Value {
    let mut any_withheld = false;
    for r in refs {
        let Ok(root) = ctx.resolver.resolve(&r.root, r.span) else { continue };
        let mut cur = &root;
        for a in &r.attrs {
            match cur.get(a) {
                Some(next) => cur = next,
                None => break,
            }
        }
        if has_pending(cur) {
            return v;
        }
        any_withheld |= has_withheld(cur);
    }
    if any_withheld {
        pending_to_withheld(v)
    } else {
        v
    }
}

pub fn has_pending(v: &Value) -> bool {
    match v {
        Value::Unknown(crate::lang::value::Unknown::Pending) => true,
        Value::Sensitive(x) => has_pending(x),
        Value::List(xs) | Value::Set(xs) => xs.iter().any(has_pending),
        Value::Map(m) => m.values().any(has_pending),
        _ => false,
    }
}

pub fn has_withheld(v: &Value) -> bool {
    match v {
        Value::Unknown(crate::lang::value::Unknown::Withheld { .. }) => true,
        Value::Sensitive(x) => has_withheld(x),
        Value::List(xs) | Value::Set(xs) => xs.iter().any(has_withheld),
        Value::Map(m) => m.values().any(has_withheld),
        _ => false,
    }
}

fn pending_to_withheld(v: Value) -> Value {
    match v {
        Value::Unknown(crate::lang::value::Unknown::Pending) => {
            Value::Unknown(crate::lang::value::Unknown::Withheld { fingerprint: None }).sensitive()
        }
        Value::Sensitive(x) => pending_to_withheld(*x).sensitive(),
        Value::List(xs) => Value::List(xs.into_iter().map(pending_to_withheld).collect()),
        Value::Set(xs) => Value::Set(xs.into_iter().map(pending_to_withheld).collect()),
        Value::Map(m) => {
            Value::object(Arc::unwrap_or_clone(m).into_iter().map(|(k, x)| (k, pending_to_withheld(x))).collect())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole value, once built, follows every insert as a fresh build would.
    #[test]
    fn a_resources_whole_value_follows_inserts() {
        let expansions =
            [Expansion::Single, Expansion::Count(3), Expansion::ForEach(vec!["a".into(), "b".into(), "c".into()])];
        for expansion in expansions {
            let mut inst = Instances::new(expansion.clone());
            let keys = expansion.keys();
            assert_eq!(inst.to_value(), inst.build_value(), "{expansion:?} before any value");
            for (i, key) in keys.iter().enumerate() {
                let held = inst.to_value();
                inst.insert(key.clone(), Value::string(format!("v{i}")));
                assert_eq!(inst.to_value(), inst.build_value(), "{expansion:?} after {key:?}");
                assert_ne!(held, inst.to_value(), "a value read before the insert is the old one");
                drop(held);
                inst.insert(key.clone(), Value::string(format!("w{i}")));
                assert_eq!(inst.to_value(), inst.build_value(), "{expansion:?} after replacing {key:?}");
            }
            // A key outside the expansion drops the whole value rather than mis-placing it.
            inst.insert(InstanceKey::Int(99), Value::Null);
            assert_eq!(inst.to_value(), inst.build_value(), "{expansion:?} after an outside key");
        }
    }
}
