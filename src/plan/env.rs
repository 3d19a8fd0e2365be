//! The values a walk has produced so far — variables, locals, resource instances, outputs — and
//! the [`Resolver`] that lets expressions in one module see them.
//!
//! Plan fills it with planned values (unknown where the apply decides); apply keeps it and
//! replaces planned values with real ones as resources complete, re-evaluating the locals and
//! variables in a resource's dependency cone just before running it.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

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
    pub values: BTreeMap<InstanceKey, Value>,
}

impl Instances {
    /// How references see the resource: an object, a list (count) or a map (for_each).
    pub fn to_value(&self) -> Value {
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
                let instances = Instances {
                    expansion: e.expansion.clone(),
                    values: e
                        .expansion
                        .keys()
                        .into_iter()
                        .map(|k| {
                            let v = outputs(&self.module.child_instance(name, k.clone()));
                            (k, v)
                        })
                        .collect(),
                };
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
        self.eval_node_near(config, node, &ModulePath::root())
    }

    /// [`Env::eval_node`] in only the module instances that share their calling instances with
    /// `near` (a resource's module instance): what that resource can see. An apply step
    /// refreshes these, not every instance of every module in its cone.
    fn eval_node_near(&mut self, config: &Config, node: &Node, near: &ModulePath) -> Result<(), Diagnostics> {
        let (module, name) = match node {
            Node::Var(m, n) | Node::Local(m, n) | Node::Output(m, n) => (m, n),
            Node::Resource(_) | Node::ModuleCall(_) => return Ok(()),
        };
        let shared = module.0.iter().zip(&near.0).take_while(|(a, b)| a.name == b.name).count();
        let mut diags = Diagnostics::new();
        let instances = self.module_instances(config, module);
        for instance in instances.into_iter().filter(|i| i.0[..shared] == near.0[..shared]) {
            let done = match node {
                Node::Var(..) => self.eval_var(config, &instance, name),
                Node::Local(..) => self.eval_local(config, &instance, name),
                _ => self.eval_output(config, &instance, name),
            };
            if let Err(d) = done {
                diags.extend(d);
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
        let position: HashMap<&Node, usize> = graph.order().iter().enumerate().map(|(i, n)| (n, i)).collect();
        cone.sort_by_key(|n| position.get(n).copied().unwrap_or(usize::MAX));
        for n in &cone {
            self.eval_node_near(config, n, &resource.module)?;
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
