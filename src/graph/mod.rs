//! The dependency graph of a configuration: variables, locals, resources and outputs of every
//! module, with edges from references and `depends_on`.
//!
//! The graph is built per configuration object, not per instance: `count`/`for_each` are
//! expanded while walking it (plan/), and instance-level ordering for apply is derived from the
//! resource-to-resource dependencies computed here.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use petgraph::graph::{DiGraph, NodeIndex};

use crate::addr::{ModulePath, ResourceAddr};
use crate::lang::config::{Config, Expr};
use crate::lang::diag::{suggest, Diagnostic, Diagnostics, Span};
use crate::lang::refs::{body_references, expr_references, RefIndex, RefRoot, Reference};

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Node {
    /// A module's input variable (root variables come from the user; a child's from its call).
    Var(ModulePath, String),
    Local(ModulePath, String),
    Resource(ResourceAddr),
    Output(ModulePath, String),
    /// The `count`/`for_each` of the module block that calls this module (a path without
    /// keys): evaluated in each instance of the caller, before anything inside the module.
    ModuleCall(ModulePath),
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = |m: &ModulePath| if m.is_root() { String::new() } else { format!("{m}.") };
        match self {
            Node::Var(m, n) => write!(f, "{}var.{n}", prefix(m)),
            Node::Local(m, n) => write!(f, "{}local.{n}", prefix(m)),
            Node::Resource(r) => write!(f, "{r}"),
            Node::Output(m, n) => write!(f, "{}output.{n}", prefix(m)),
            Node::ModuleCall(m) => write!(f, "{m} (count/for_each)"),
        }
    }
}

pub struct Graph {
    graph: DiGraph<Node, ()>,
    index: HashMap<Node, NodeIndex>,
    /// Topological order (dependencies first).
    order: Vec<Node>,
    /// Each node's place in `order`: an apply sorts every step's dependency cone by it.
    position: HashMap<Node, usize>,
    /// For each resource, the resources it depends on directly or through locals, variables
    /// and outputs.
    resource_deps: BTreeMap<ResourceAddr, BTreeSet<ResourceAddr>>,
    /// See [`Graph::keyed_deps`].
    keyed_deps: HashMap<ResourceAddr, KeyedDeps>,
}

/// Resources (of the same module) that one resource reads an instance of at a time, each with
/// the indexes that name the instances (and where they are written).
pub type KeyedDeps = BTreeMap<ResourceAddr, Vec<(RefIndex, Span)>>;

impl Graph {
    /// Builds the graph, reporting undeclared references and cycles.
    pub fn build(config: &Config) -> Result<Graph, Diagnostics> {
        let mut diags = Diagnostics::new();
        let mut graph = DiGraph::new();
        let mut index = HashMap::new();
        let mut spans: HashMap<Node, Span> = HashMap::new();

        for (path, module) in &config.modules {
            for v in module.variables.values() {
                let n = Node::Var(path.clone(), v.name.clone());
                spans.insert(n.clone(), v.span);
                index.insert(n.clone(), graph.add_node(n));
            }
            for l in module.locals.values() {
                let n = Node::Local(path.clone(), l.name.clone());
                spans.insert(n.clone(), l.span);
                index.insert(n.clone(), graph.add_node(n));
            }
            for r in module.resources.values() {
                let n = Node::Resource(ResourceAddr {
                    module: path.clone(),
                    mode: r.mode,
                    type_name: r.type_name.clone(),
                    name: r.name.clone(),
                });
                spans.insert(n.clone(), r.span);
                index.insert(n.clone(), graph.add_node(n));
            }
            for o in module.outputs.values() {
                let n = Node::Output(path.clone(), o.name.clone());
                spans.insert(n.clone(), o.span);
                index.insert(n.clone(), graph.add_node(n));
            }
            if let Some(call) = config.module_call(path) {
                let n = Node::ModuleCall(path.clone());
                spans.insert(n.clone(), call.span);
                index.insert(n.clone(), graph.add_node(n));
            }
        }

        let mut edges: Vec<(Node, Node)> = Vec::new();
        let mut keyed_deps = HashMap::new();
        for (path, module) in &config.modules {
            // Everything inside a module waits for what its call depends on.
            let inherited = module_call_depends_on(config, path, &mut diags);
            for l in module.locals.values() {
                let me = Node::Local(path.clone(), l.name.clone());
                for dep in resolve_all(config, path, &expr_references(&l.expr), &mut diags) {
                    edges.push((dep, me.clone()));
                }
            }
            for r in module.resources.values() {
                let me = Node::Resource(ResourceAddr {
                    module: path.clone(),
                    mode: r.mode,
                    type_name: r.type_name.clone(),
                    name: r.name.clone(),
                });
                let mut refs = body_references(&r.body);
                let body_refs = refs.len();
                for e in r.count.iter().chain(r.for_each.iter()).chain(r.lifecycle.replace_triggered_by.iter()) {
                    refs.extend(expr_references(e));
                }
                for c in r.lifecycle.preconditions.iter().chain(r.lifecycle.postconditions.iter()) {
                    refs.extend(expr_references(&c.condition).into_iter().filter(|x| x.root != RefRoot::SelfRef));
                }
                let depends_on = depends_on_refs(&r.depends_on, &mut diags);
                refs.extend(depends_on.iter().filter(|r| !matches!(r.root, RefRoot::Module(_))).cloned());
                if let Node::Resource(me) = &me {
                    let keyed = keyed_references(path, me, &refs[..body_refs], &refs[body_refs..]);
                    if !keyed.is_empty() {
                        keyed_deps.insert(me.clone(), keyed);
                    }
                }
                let mut deps = resolve_all(config, path, &refs, &mut diags);
                deps.extend(resolve_depends_on(config, path, &depends_on, &mut diags));
                for dep in deps {
                    if dep != me {
                        edges.push((dep, me.clone()));
                    } else {
                        diags.push(Diagnostic::error(format!("Self-referential block: {me} refers to itself")).at(r.span).help("a resource cannot use its own attributes in its arguments; use `self` only in postconditions"));
                    }
                }
                for dep in &inherited {
                    edges.push((dep.clone(), me.clone()));
                }
            }
            for o in module.outputs.values() {
                let me = Node::Output(path.clone(), o.name.clone());
                let mut refs = expr_references(&o.expr);
                refs.extend(depends_on_refs(&o.depends_on, &mut diags));
                for dep in resolve_all(config, path, &refs, &mut diags) {
                    edges.push((dep, me.clone()));
                }
            }
            // A child module's variables are evaluated in the parent's scope from the call.
            if let Some((parent, name)) = path.parent() {
                if let Some(call) = config.modules.get(&parent).and_then(|m| m.module_calls.get(name)) {
                    // Which instances the module has is known before anything in it is
                    // evaluated (in each of them).
                    let expansion = Node::ModuleCall(path.clone());
                    let call_refs: Vec<Reference> =
                        call.count.iter().chain(&call.for_each).flat_map(expr_references).collect();
                    for dep in resolve_all(config, &parent, &call_refs, &mut diags) {
                        edges.push((dep, expansion.clone()));
                    }
                    if parent.parent().is_some() {
                        edges.push((Node::ModuleCall(parent.clone()), expansion.clone()));
                    }
                    let inside = module
                        .variables
                        .keys()
                        .map(|v| Node::Var(path.clone(), v.clone()))
                        .chain(module.locals.keys().map(|l| Node::Local(path.clone(), l.clone())))
                        .chain(module.outputs.keys().map(|o| Node::Output(path.clone(), o.clone())))
                        .chain(module.resources.values().map(|r| {
                            Node::Resource(ResourceAddr {
                                module: path.clone(),
                                mode: r.mode,
                                type_name: r.type_name.clone(),
                                name: r.name.clone(),
                            })
                        }));
                    for n in inside {
                        edges.push((expansion.clone(), n));
                    }
                    for (input, attr) in &call.inputs {
                        let me = Node::Var(path.clone(), input.clone());
                        if !index.contains_key(&me) {
                            let declared: Vec<&str> = module.variables.keys().map(String::as_str).collect();
                            let mut d = Diagnostic::error(format!(
                                "Unsupported argument \"{input}\": module \"{name}\" has no variable named \"{input}\""
                            ))
                            .at(attr.name_span);
                            d = match suggest(input, declared.iter().copied()) {
                                Some(s) => d.help(s),
                                None => d.help(format!(
                                    "the module declares: {}",
                                    if declared.is_empty() { "no variables".into() } else { declared.join(", ") }
                                )),
                            };
                            diags.push(d);
                            continue;
                        }
                        for dep in resolve_all(config, &parent, &expr_references(&attr.expr), &mut diags) {
                            edges.push((dep, me.clone()));
                        }
                    }
                    for v in module.variables.values() {
                        if v.default.is_none() && !call.inputs.contains_key(&v.name) {
                            diags.push(
                                Diagnostic::error(format!(
                                    "Missing required argument \"{}\" for module \"{name}\"",
                                    v.name
                                ))
                                .at(call.span)
                                .help(format!("add `{} = …` to the module block; the variable has no default", v.name)),
                            );
                        }
                    }
                }
            }
        }
        for (a, b) in edges {
            if let (Some(&ia), Some(&ib)) = (index.get(&a), index.get(&b)) {
                if !graph.contains_edge(ia, ib) {
                    graph.add_edge(ia, ib, ());
                }
            }
        }
        if diags.has_errors() {
            return Err(diags);
        }

        let order = match petgraph::algo::toposort(&graph, None) {
            Ok(o) => o.into_iter().map(|i| graph[i].clone()).collect::<Vec<_>>(),
            Err(_) => {
                for cycle in find_cycles(&graph) {
                    let names: Vec<String> = cycle.iter().map(|i| graph[*i].to_string()).collect();
                    let first = &graph[cycle[0]];
                    diags.push(
                        Diagnostic::error(format!("Cycle: {} → {}", names.join(" → "), names[0]))
                            .at_opt(spans.get(first).copied())
                            .help("break the cycle by removing one of these references (or a depends_on)"),
                    );
                }
                return Err(diags);
            }
        };

        let position = order.iter().enumerate().map(|(i, n)| (n.clone(), i)).collect();
        let mut g = Graph { graph, index, order, position, resource_deps: BTreeMap::new(), keyed_deps };
        let through_values;
        (g.resource_deps, through_values) = g.compute_resource_deps();
        // A dependency also reached through a local, variable or output is read whole there.
        g.keyed_deps.retain(|r, keyed| {
            if let Some(whole) = through_values.get(r) {
                keyed.retain(|d, _| !whole.contains(d));
            }
            !keyed.is_empty()
        });
        Ok(g)
    }

    /// Every node, dependencies first.
    pub fn order(&self) -> &[Node] {
        &self.order
    }

    /// A node's place in [`Self::order`].
    pub fn position(&self, node: &Node) -> Option<usize> {
        self.position.get(node).copied()
    }

    /// Resources that `addr` depends on (directly or through non-resource nodes).
    pub fn resource_deps(&self, addr: &ResourceAddr) -> impl Iterator<Item = &ResourceAddr> {
        self.resource_deps.get(addr).into_iter().flatten()
    }

    /// The dependencies of `addr` (all in its own module) that each of its instances reads
    /// one instance of, named by an index written in its arguments (`config[each.key]`): an
    /// instance depends on the instances its indexes evaluate to, not on every instance.
    /// Only dependencies that no other path reaches: not read whole or through a splat,
    /// nor through a local, variable or output, nor from `count`, `for_each`, `depends_on`,
    /// `replace_triggered_by` or a condition.
    pub fn keyed_deps(&self, addr: &ResourceAddr) -> Option<&KeyedDeps> {
        self.keyed_deps.get(addr)
    }

    /// Direct dependencies of a node.
    pub fn direct_deps(&self, node: &Node) -> Vec<&Node> {
        let Some(&i) = self.index.get(node) else { return Vec::new() };
        self.graph.neighbors_directed(i, petgraph::Direction::Incoming).map(|j| &self.graph[j]).collect()
    }

    /// For each resource, the resources it depends on (see [`Self::resource_deps`]), and
    /// those of them it reaches through some other node (a local, variable, output or module
    /// expansion) rather than by a reference of its own.
    #[allow(clippy::type_complexity)]
    fn compute_resource_deps(
        &self,
    ) -> (BTreeMap<ResourceAddr, BTreeSet<ResourceAddr>>, HashMap<ResourceAddr, BTreeSet<ResourceAddr>>) {
        // Transitive "nearest resource" dependencies, in topological order so each node's set is
        // ready when its dependents need it.
        let mut reach: HashMap<NodeIndex, BTreeSet<ResourceAddr>> = HashMap::new();
        let mut out = BTreeMap::new();
        let mut through_values = HashMap::new();
        for node in &self.order {
            let i = self.index[node];
            let (mut direct, mut through) = (BTreeSet::new(), BTreeSet::new());
            for j in self.graph.neighbors_directed(i, petgraph::Direction::Incoming) {
                match &self.graph[j] {
                    Node::Resource(r) => {
                        direct.insert(r.clone());
                    }
                    _ => through.extend(reach.get(&j).into_iter().flatten().cloned()),
                }
            }
            let mut set = direct;
            if let Node::Resource(r) = node {
                set.extend(through.iter().cloned());
                out.insert(r.clone(), set.clone());
                if !through.is_empty() {
                    through_values.insert(r.clone(), through);
                }
            } else {
                set.extend(through);
            }
            reach.insert(i, set);
        }
        (out, through_values)
    }

    /// Graphviz DOT of the configuration's resources (and, with `all`, every node).
    pub fn to_dot(&self, all: bool) -> String {
        let mut s = String::from("digraph cairn {\n  rankdir = \"RL\";\n  node [shape = box];\n");
        if all {
            for node in &self.order {
                s.push_str(&format!("  {:?};\n", node.to_string()));
            }
            for e in self.graph.edge_indices() {
                if let Some((a, b)) = self.graph.edge_endpoints(e) {
                    s.push_str(&format!("  {:?} -> {:?};\n", self.graph[b].to_string(), self.graph[a].to_string()));
                }
            }
        } else {
            for (r, deps) in &self.resource_deps {
                s.push_str(&format!("  {:?};\n", r.to_string()));
                for d in deps {
                    s.push_str(&format!("  {:?} -> {:?};\n", r.to_string(), d.to_string()));
                }
            }
        }
        s.push_str("}\n");
        s
    }
}

/// Nodes named by `depends_on` entries of the enclosing module calls (all ancestors).
/// The resources of module `path` that `me` reads one instance of at a time: those every
/// reference to which, among `body` (its arguments), carries an index, and which `other` (its
/// count, for_each, depends_on, replace_triggered_by and conditions) does not name.
fn keyed_references(path: &ModulePath, me: &ResourceAddr, body: &[Reference], other: &[Reference]) -> KeyedDeps {
    let addr = |r: &Reference| resource_addr(path, &r.root);
    let mut keyed = KeyedDeps::new();
    let mut whole = BTreeSet::new();
    for r in body {
        match (addr(r), &r.index) {
            (Some(a), Some(index)) => keyed.entry(a).or_default().push((index.clone(), r.span)),
            (Some(a), None) => {
                whole.insert(a);
            }
            (None, _) => {}
        }
    }
    whole.extend(other.iter().filter_map(addr));
    keyed.retain(|a, _| !whole.contains(a) && a != me);
    keyed
}

fn module_call_depends_on(config: &Config, path: &ModulePath, diags: &mut Diagnostics) -> Vec<Node> {
    let mut out = Vec::new();
    let mut cur = path.clone();
    while let Some((parent, name)) = cur.parent() {
        let name = name.to_string();
        if let Some(call) = config.modules.get(&parent).and_then(|m| m.module_calls.get(&name)) {
            let refs = depends_on_refs(&call.depends_on, diags);
            out.extend(resolve_depends_on(config, &parent, &refs, diags));
        }
        cur = parent;
    }
    out
}

/// [`resolve_all`] for `depends_on`, where `module.x` means every resource in that module and
/// in the modules it calls (as in Terraform), not just the values of its outputs: a module
/// without outputs is still waited for.
fn resolve_depends_on(config: &Config, module: &ModulePath, refs: &[Reference], diags: &mut Diagnostics) -> Vec<Node> {
    let mut out = resolve_all(config, module, refs, diags);
    for r in refs {
        let RefRoot::Module(name) = &r.root else { continue };
        let child = module.child(name);
        for (path, m) in config.modules.range(child.clone()..).take_while(|(p, _)| p.starts_with(&child)) {
            out.extend(m.resources.values().map(|b| {
                Node::Resource(ResourceAddr {
                    module: path.clone(),
                    mode: b.mode,
                    type_name: b.type_name.clone(),
                    name: b.name.clone(),
                })
            }));
        }
    }
    out
}

fn depends_on_refs(exprs: &[Expr], diags: &mut Diagnostics) -> Vec<Reference> {
    let mut out = Vec::new();
    for e in exprs {
        let refs = expr_references(e);
        let ok = refs.len() == 1
            && matches!(
                refs[0].root,
                RefRoot::Resource { .. } | RefRoot::Module(_) | RefRoot::Var(_) | RefRoot::Local(_)
            );
        if !ok {
            diags.push(Diagnostic::error("Invalid depends_on reference").at(e.span).help(
                "depends_on takes references to resources or modules, e.g. depends_on = [random_id.x, module.db]",
            ));
        }
        out.extend(refs);
    }
    out
}

/// Maps references made inside `module` to graph nodes. A name that is not declared has no
/// node: `lang::load` reports every undeclared reference (with its suggestion) before a graph
/// is built, so this is the one place that knows what a reference points at, not whether it
/// may.
/// The resource a reference's root names in `module`, when it names one.
fn resource_addr(module: &ModulePath, root: &RefRoot) -> Option<ResourceAddr> {
    match root {
        RefRoot::Resource { mode, type_name, name } => {
            Some(ResourceAddr { module: module.clone(), mode: *mode, type_name: type_name.clone(), name: name.clone() })
        }
        _ => None,
    }
}

fn resolve_all(config: &Config, module: &ModulePath, refs: &[Reference], diags: &mut Diagnostics) -> Vec<Node> {
    let Some(m) = config.modules.get(module) else { return Vec::new() };
    let mut out = Vec::new();
    for r in refs {
        match &r.root {
            RefRoot::Var(name) if m.variables.contains_key(name) => out.push(Node::Var(module.clone(), name.clone())),
            RefRoot::Local(name) if m.locals.contains_key(name) => out.push(Node::Local(module.clone(), name.clone())),
            RefRoot::Resource { .. } => {
                if let Some(addr) = resource_addr(module, &r.root).filter(|a| m.resources.contains_key(&a.local_key()))
                {
                    out.push(Node::Resource(addr));
                }
            }
            RefRoot::Module(name) if m.module_calls.contains_key(name) => {
                let child = module.child(name);
                let Some(cm) = config.modules.get(&child) else { continue };
                match r.attrs.first() {
                    Some(out_name) if cm.outputs.contains_key(out_name) => {
                        out.push(Node::Output(child, out_name.clone()))
                    }
                    Some(_) => {}
                    None => out.extend(cm.outputs.keys().map(|o| Node::Output(child.clone(), o.clone()))),
                }
            }
            RefRoot::SelfRef => {
                diags.push(
                    Diagnostic::error("Invalid \"self\" reference")
                        .at(r.span)
                        .help("`self` is only available in postconditions"),
                );
            }
            _ => {}
        }
    }
    out
}

/// Elementary cycles, one per strongly connected component, as node paths.
fn find_cycles(graph: &DiGraph<Node, ()>) -> Vec<Vec<NodeIndex>> {
    let mut cycles = Vec::new();
    for scc in petgraph::algo::tarjan_scc(graph) {
        let is_cycle = scc.len() > 1 || graph.contains_edge(scc[0], scc[0]);
        if !is_cycle {
            continue;
        }
        let members: BTreeSet<NodeIndex> = scc.iter().copied().collect();
        // Walk from the smallest-named node along edges inside the component until we return.
        let start = *scc.iter().min_by_key(|i| graph[**i].to_string()).unwrap_or(&scc[0]);
        let mut path = vec![start];
        let mut seen = BTreeSet::from([start]);
        let mut cur = start;
        loop {
            let next = graph
                .neighbors_directed(cur, petgraph::Direction::Outgoing)
                .filter(|n| members.contains(n))
                .min_by_key(|n| (if *n == start { 0 } else { 1 }, graph[*n].to_string()));
            match next {
                Some(n) if n == start => break,
                Some(n) if seen.insert(n) => {
                    path.push(n);
                    cur = n;
                }
                _ => break,
            }
        }
        cycles.push(path);
    }
    cycles
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::stack;

    fn position(g: &Graph, name: &str) -> usize {
        g.order().iter().position(|n| n.to_string() == name).unwrap_or_else(|| panic!("{name} is not in the graph"))
    }

    fn deps(g: &Graph, r: &str) -> Vec<String> {
        let addr = g
            .order()
            .iter()
            .find_map(|n| match n {
                Node::Resource(a) if a.to_string() == r => Some(a.clone()),
                _ => None,
            })
            .unwrap();
        g.resource_deps(&addr).map(ToString::to_string).collect()
    }

    const MODULES: &[(&str, &str)] = &[
        (
            "main.tf",
            r#"
variable "prefix" { default = "x" }
locals { name = "${var.prefix}-${terraform_data.base.id}" }
resource "terraform_data" "base" {}
resource "terraform_data" "uses_local" { input = local.name }
resource "terraform_data" "ordered" { depends_on = [terraform_data.uses_local] }
module "child" {
  source = "./child"
  seed   = terraform_data.base.output
}
resource "terraform_data" "after_module" { input = module.child.result }
output "final" { value = terraform_data.after_module.id }
"#,
        ),
        (
            "child/main.tf",
            r#"
variable "seed" {}
resource "terraform_data" "inner" { input = var.seed }
output "result" { value = terraform_data.inner.output }
"#,
        ),
    ];

    #[test]
    fn resource_dependencies_pass_through_locals_variables_and_module_outputs() {
        let s = stack(MODULES);
        assert_eq!(deps(&s.graph, "terraform_data.base"), Vec::<String>::new());
        assert_eq!(deps(&s.graph, "terraform_data.uses_local"), vec!["terraform_data.base"]);
        assert_eq!(
            deps(&s.graph, "terraform_data.ordered"),
            vec!["terraform_data.uses_local"],
            "depends_on is an edge"
        );
        assert_eq!(deps(&s.graph, "module.child.terraform_data.inner"), vec!["terraform_data.base"]);
        assert_eq!(deps(&s.graph, "terraform_data.after_module"), vec!["module.child.terraform_data.inner"]);
    }

    #[test]
    fn the_order_puts_every_dependency_first() {
        let s = stack(MODULES);
        for node in s.graph.order() {
            for dep in s.graph.direct_deps(node) {
                assert!(
                    position(&s.graph, &dep.to_string()) < position(&s.graph, &node.to_string()),
                    "{dep} must come before {node}"
                );
            }
        }
        assert!(position(&s.graph, "module.child.output.result") < position(&s.graph, "terraform_data.after_module"));
    }

    #[test]
    fn a_cycle_is_reported_as_a_readable_path() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("main.tf"),
            r#"
resource "terraform_data" "a" { input = terraform_data.b.id }
resource "terraform_data" "b" { input = local.via }
locals { via = terraform_data.a.id }
"#,
        )
        .unwrap();
        let config = crate::lang::load::load(dir.path()).expect("loads");
        let err = Graph::build(&config).err().expect("a cycle").to_string();
        assert!(err.starts_with("Cycle: "), "{err}");
        for part in ["terraform_data.a", "terraform_data.b", "local.via"] {
            assert!(err.contains(part), "the cycle names {part}: {err}");
        }
    }

    #[test]
    fn dot_output_names_resources_and_their_edges() {
        let s = stack(MODULES);
        let dot = s.graph.to_dot(false);
        assert!(dot.starts_with("digraph cairn {"), "{dot}");
        assert!(dot.contains("\"terraform_data.uses_local\" -> \"terraform_data.base\""), "{dot}");
        assert!(!dot.contains("local.name"), "without --all only resources: {dot}");
    }
}
