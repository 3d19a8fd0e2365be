//! Many stacks under one directory (`cairn stacks`): which directories are stacks, how they
//! depend on each other, which of them changed since a git ref, and running one command
//! across them in dependency order ([`runner`]).
//!
//! Discovery reads only what it needs from each directory's configuration files (backend,
//! local module calls, `terraform_remote_state` data sources), without evaluating or
//! validating them: a stack whose remote modules are not installed yet, or whose variables
//! come from CI secrets, is still found and ordered; its own command reports its problems.

pub mod changes;
pub mod runner;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use hcl_edit::expr::{Expression, ObjectKey};
use hcl_edit::structure::{Block, Body, Structure};
use hcl_edit::Span as _;

use crate::lang::diag::{suggest, Diagnostic, Diagnostics, FileId, SourceMap, Span};
use crate::lang::module_source::{self, ModuleSource};
use crate::ops::OpError;

/// The file beside a stack's configuration that declares the stacks it depends on beyond
/// what its `terraform_remote_state` data sources show. JSON, not HCL: the loader reads every
/// `*.hcl` file of a stack as configuration, and Terraform reads `*.tf.json` only, so neither
/// trips on it.
pub const DECLARATION_FILE: &str = "cairn.stack.json";

/// Directories never searched for stacks: hidden ones (`.cairn/`, `.terraform/`, `.git/`),
/// local state (`state/`, workspaces in `state.d/`, Terraform's `terraform.tfstate.d/`).
/// Directories tagged as caches (`CACHEDIR.TAG`, e.g. cargo's `target/`) are skipped too.
fn skipped_dir(name: &std::ffi::OsStr) -> bool {
    name.as_encoded_bytes().starts_with(b".") || name == "state" || name == "state.d" || name == "terraform.tfstate.d"
}

/// Where a stack keeps the state of its `default` workspace, as its backend block says.
#[derive(Clone, Debug, PartialEq, Eq)]
enum StateLocation {
    /// The local backend's directory (its `path`, else `state/`), relative to the root.
    Local(PathBuf),
    Gcs {
        bucket: String,
        prefix: String,
    },
}

/// One stack: a directory with configuration that no other configuration calls as a module.
#[derive(Clone, Debug)]
pub struct Stack {
    /// Relative to the discovery root, lexically normal (`.` for the root itself).
    pub path: PathBuf,
    /// The directories of the local modules it calls, directly or through other modules
    /// (relative to the root).
    pub modules: BTreeSet<PathBuf>,
    state: Option<StateLocation>,
}

/// Why one stack depends on another, for messages.
#[derive(Clone, Copy, Debug)]
pub enum DependencyReason {
    /// A `data "terraform_remote_state"` block reads the other stack's state.
    RemoteState(Span),
    /// The stack's `cairn.stack.json` names the other stack in `depends_on`.
    Declared(Span),
}

impl DependencyReason {
    fn span(self) -> Span {
        match self {
            DependencyReason::RemoteState(s) | DependencyReason::Declared(s) => s,
        }
    }
}

/// The stacks under a directory and their dependencies.
#[derive(Debug)]
pub struct StackSet {
    /// The directory searched, as given.
    pub root: PathBuf,
    /// Sorted by path.
    pub stacks: Vec<Stack>,
    /// `deps[i]`: the stacks stack `i` depends on, each with the first reason found.
    pub deps: Vec<BTreeMap<usize, DependencyReason>>,
    /// The files the reasons point into.
    pub sources: SourceMap,
    /// What discovery could not decide (a remote state whose location is not literal).
    pub warnings: Diagnostics,
}

impl StackSet {
    /// A stack's directory as the single-stack commands take it: the root joined with its path.
    pub fn dir(&self, i: usize) -> PathBuf {
        normalize(&self.root.join(&self.stacks[i].path))
    }

    /// How a stack is shown: its directory, with `/` separators.
    pub fn display(&self, i: usize) -> String {
        self.dir(i).to_string_lossy().replace('\\', "/")
    }

    fn index_of(&self, path: &Path) -> Option<usize> {
        self.stacks.binary_search_by(|s| s.path.as_path().cmp(path)).ok()
    }

    /// The stacks that depend on `i`, directly.
    fn dependents(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        (0..self.stacks.len()).filter(move |&j| self.deps[j].contains_key(&i))
    }

    /// `selected` plus every stack that depends on one of them, directly or not.
    pub fn with_dependents(&self, selected: &BTreeSet<usize>) -> BTreeSet<usize> {
        let mut out = selected.clone();
        let mut todo: Vec<usize> = selected.iter().copied().collect();
        while let Some(i) = todo.pop() {
            for j in self.dependents(i) {
                if out.insert(j) {
                    todo.push(j);
                }
            }
        }
        out
    }

    /// `selected` in the order they run: each after the stacks it depends on, ties by path.
    /// `selected` must hold every dependent of its members (as [`Self::with_dependents`]
    /// gives), so the dependencies between them are direct ones. Errors on a cycle.
    pub fn order(&self, selected: &BTreeSet<usize>) -> Result<Vec<usize>, OpError> {
        let mut waiting: BTreeMap<usize, BTreeSet<usize>> = selected
            .iter()
            .map(|&i| (i, self.deps[i].keys().copied().filter(|d| selected.contains(d)).collect()))
            .collect();
        let mut order = Vec::with_capacity(selected.len());
        // Stacks are sorted by path, so the smallest ready index is the first by path.
        while let Some(next) = waiting.iter().find(|(_, deps)| deps.is_empty()).map(|(&i, _)| i) {
            waiting.remove(&next);
            for deps in waiting.values_mut() {
                deps.remove(&next);
            }
            order.push(next);
        }
        if waiting.is_empty() {
            return Ok(order);
        }
        Err(self.cycle_error(&waiting))
    }

    /// The cycle among stacks that never became ready, named stack by stack.
    fn cycle_error(&self, waiting: &BTreeMap<usize, BTreeSet<usize>>) -> OpError {
        // Every waiting stack waits on another waiting one: walking from the first must repeat.
        let mut path: Vec<usize> = Vec::new();
        let mut at = *waiting.keys().next().expect("a cycle has members");
        while !path.contains(&at) {
            path.push(at);
            at = *waiting[&at].iter().next().expect("a waiting stack waits on another");
        }
        let start = path.iter().position(|&i| i == at).unwrap_or(0);
        let mut cycle: Vec<usize> = path[start..].to_vec();
        cycle.push(at);
        let names: Vec<String> = cycle.iter().map(|&i| self.display(i)).collect();
        let edges: Vec<String> = cycle
            .windows(2)
            .map(|w| {
                let reason = self.deps[w[0]][&w[1]];
                let how = match reason {
                    DependencyReason::RemoteState(_) => "reads the state of",
                    DependencyReason::Declared(_) => "declares depends_on",
                };
                format!(
                    "{} {how} {} ({})",
                    self.display(w[0]),
                    self.display(w[1]),
                    self.sources.location(reason.span())
                )
            })
            .collect();
        let first = self.deps[cycle[0]][&cycle[1]];
        OpError::Diagnostics {
            sources: self.sources.clone(),
            diags: Diagnostics::from(
                Diagnostic::error(format!("The stacks depend on each other in a cycle: {}", names.join(" → ")))
                    .detail(edges.join("\n"))
                    .help("stacks run in dependency order, so one of these dependencies has to go (move the shared outputs into a stack both read)")
                    .at(first.span()),
            ),
        }
    }
}

pub use crate::lang::load::normalize;

/// What discovery reads from one directory's configuration files.
#[derive(Default, Debug)]
struct DirConfig {
    /// The backend block's type and literal arguments (`None` for an argument that is not a
    /// literal string); a `*_override.tf` file's backend replaces the others'.
    backend: Option<(String, BTreeMap<String, Option<String>>)>,
    /// Local module sources, as written.
    local_modules: Vec<String>,
    remote_states: Vec<RemoteStateRef>,
}

#[derive(Debug)]
struct RemoteStateRef {
    name: String,
    backend: Option<String>,
    /// `config`'s literal string arguments; `None` when `config` is not an object literal.
    config: Option<BTreeMap<String, Option<String>>>,
    span: Span,
}

fn literal(e: &Expression) -> Option<String> {
    match e {
        Expression::String(s) => Some(s.value().to_string()),
        _ => None,
    }
}

/// The configuration file names of a directory, as the loader picks them (`*.tf`,
/// `*.tf.json`, `*.hcl`, not hidden), sorted with override files last.
fn config_files(dir: &Path) -> Result<Vec<String>, OpError> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| OpError::msg(format!("cannot list directory {}: {e}", dir.display())))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| OpError::msg(format!("cannot list directory {}: {e}", dir.display())))?;
        let raw = entry.file_name();
        if !crate::lang::load::is_config_file_name(raw.as_encoded_bytes()) {
            continue;
        }
        let Some(name) = raw.to_str() else {
            return Err(OpError::msg(format!(
                "the file name {} is not UTF-8 (rename it: Cairn reads every .tf and .hcl file of a stack)",
                entry.path().display()
            )));
        };
        if std::fs::metadata(entry.path()).map(|m| m.is_file()).unwrap_or(false) {
            names.push(name.to_string());
        }
    }
    names.sort();
    names.sort_by_key(|n| crate::lang::load::is_override_file(n));
    Ok(names)
}

/// Reads what discovery needs from a directory's configuration files; syntax errors are
/// reported located.
fn read_dir_config(dir: &Path, names: &[String], sources: &mut SourceMap) -> Result<DirConfig, OpError> {
    let mut config = DirConfig::default();
    let mut diags = Diagnostics::new();
    for name in names {
        let path = dir.join(name);
        let text =
            std::fs::read_to_string(&path).map_err(|e| OpError::msg(format!("cannot read {}: {e}", path.display())))?;
        let file = sources.add(&path, normalize(&path).display().to_string(), text);
        let text = &sources.get(file).text;
        let body = if crate::lang::load_json::is_json_config(name) {
            match crate::lang::load_json::parse(file, text) {
                Ok(b) => b,
                Err(d) => {
                    diags.extend(d);
                    continue;
                }
            }
        } else {
            match hcl_edit::parser::parse_body(text) {
                Ok(b) => b,
                Err(e) => {
                    let at = e.location().offset();
                    diags.push(Diagnostic::error("Syntax error").detail(e.message().to_string()).at(Span {
                        file,
                        start: at,
                        end: at + 1,
                    }));
                    continue;
                }
            }
        };
        read_body(file, &body, &mut config);
    }
    if diags.has_errors() {
        return Err(OpError::Diagnostics { sources: sources.clone(), diags });
    }
    Ok(config)
}

fn attr<'b>(body: &'b Body, name: &str) -> Option<&'b hcl_edit::structure::Attribute> {
    body.iter().find_map(|s| match s {
        Structure::Attribute(a) if a.key.value().as_str() == name => Some(a),
        _ => None,
    })
}

fn blocks<'b>(body: &'b Body, kind: &'b str) -> impl Iterator<Item = &'b Block> + 'b {
    body.iter().filter_map(move |s| match s {
        Structure::Block(b) if b.ident.value().as_str() == kind => Some(b),
        _ => None,
    })
}

fn read_body(file: FileId, body: &Body, config: &mut DirConfig) {
    for terraform in blocks(body, "terraform") {
        for backend in blocks(&terraform.body, "backend") {
            let Some(kind) = backend.labels.first() else { continue };
            let args = backend
                .body
                .iter()
                .filter_map(|s| match s {
                    Structure::Attribute(a) => Some((a.key.value().to_string(), literal(&a.value))),
                    Structure::Block(_) => None,
                })
                .collect();
            config.backend = Some((kind.as_str().to_string(), args));
        }
    }
    for module in blocks(body, "module") {
        let source = attr(&module.body, "source").and_then(|a| literal(&a.value));
        if let Some(source) = source {
            if let Ok(ModuleSource::Local(rel)) = module_source::parse(&source) {
                config.local_modules.push(rel);
            }
        }
    }
    for data in blocks(body, "data") {
        if data.labels.first().map(|l| l.as_str()) != Some("terraform_remote_state") {
            continue;
        }
        let name = data.labels.get(1).map(|l| l.as_str().to_string()).unwrap_or_default();
        let backend = attr(&data.body, "backend").and_then(|a| literal(&a.value));
        let config_arg = attr(&data.body, "config").map(|a| match &a.value {
            Expression::Object(obj) => Some(
                obj.iter()
                    .filter_map(|(k, v)| {
                        let key = match k {
                            ObjectKey::Ident(i) => i.value().to_string(),
                            ObjectKey::Expression(Expression::String(s)) => s.value().to_string(),
                            ObjectKey::Expression(_) => return None,
                        };
                        Some((key, literal(v.expr())))
                    })
                    .collect(),
            ),
            _ => None,
        });
        let span = Span {
            file,
            start: data.ident.span().map(|r| r.start).unwrap_or(0),
            end: data.labels.last().and_then(|l| l.span()).map(|r| r.end).unwrap_or(0),
        };
        config.remote_states.push(RemoteStateRef {
            name,
            backend,
            config: config_arg.unwrap_or(Some(BTreeMap::new())),
            span,
        });
    }
}

/// Finds the stacks under `root` and their dependencies.
pub fn discover(root: &Path) -> Result<StackSet, OpError> {
    if !root.is_dir() {
        return Err(OpError::msg(format!("{} is not a directory", root.display())));
    }
    let mut sources = SourceMap::new();
    let mut dirs: BTreeMap<PathBuf, DirConfig> = BTreeMap::new();
    let mut declarations: Vec<PathBuf> = Vec::new();
    let walker = walkdir::WalkDir::new(root).follow_links(false).sort_by_file_name().into_iter().filter_entry(|e| {
        e.depth() == 0
            || !e.file_type().is_dir()
            || !(skipped_dir(e.file_name()) || e.path().join("CACHEDIR.TAG").is_file())
    });
    for entry in walker {
        let entry = entry.map_err(|e| OpError::msg(format!("cannot search {} for stacks: {e}", root.display())))?;
        let rel = normalize(entry.path().strip_prefix(root).unwrap_or(entry.path()));
        if entry.file_type().is_file() && entry.file_name() == DECLARATION_FILE {
            declarations.push(rel.parent().map(normalize).unwrap_or_else(|| PathBuf::from(".")));
            continue;
        }
        if !entry.file_type().is_dir() {
            continue;
        }
        let names = config_files(entry.path())?;
        if names.is_empty() {
            continue;
        }
        let config = read_dir_config(entry.path(), &names, &mut sources)?;
        dirs.insert(rel, config);
    }
    // A directory some configuration calls as a local module is a module, not a stack.
    let called: BTreeSet<PathBuf> =
        dirs.iter().flat_map(|(dir, c)| c.local_modules.iter().map(move |m| normalize(&dir.join(m)))).collect();
    let stack_paths: Vec<PathBuf> = dirs.keys().filter(|d| !called.contains(*d)).cloned().collect();

    let mut stacks = Vec::new();
    // Per stack: the directories whose remote state data sources it evaluates.
    let mut remote_refs: Vec<Vec<PathBuf>> = Vec::new();
    // Module directories outside the searched tree (or not yet read): read on first use.
    let mut module_configs: BTreeMap<PathBuf, Option<DirConfig>> = BTreeMap::new();
    for path in &stack_paths {
        let config = &dirs[path];
        let state = state_location(path, config.backend.as_ref());
        // The modules the stack calls, through other modules too.
        let mut modules = BTreeSet::new();
        let mut todo: Vec<PathBuf> = config.local_modules.iter().map(|m| normalize(&path.join(m))).collect();
        while let Some(m) = todo.pop() {
            if !modules.insert(m.clone()) {
                continue;
            }
            if !dirs.contains_key(&m) && !module_configs.contains_key(&m) {
                let on_disk = root.join(&m);
                let read = match config_files(&on_disk) {
                    Ok(names) if !names.is_empty() => Some(read_dir_config(&on_disk, &names, &mut sources)?),
                    // A missing module is the stack's own command's error to report.
                    _ => None,
                };
                module_configs.insert(m.clone(), read);
            }
            let mc = dirs.get(&m).or_else(|| module_configs.get(&m).and_then(Option::as_ref));
            if let Some(mc) = mc {
                todo.extend(mc.local_modules.iter().map(|c| normalize(&m.join(c))));
            }
        }
        // Remote state data sources of the stack and of every module it calls.
        let mut refs = vec![path.clone()];
        refs.extend(modules.iter().cloned());
        remote_refs.push(refs);
        stacks.push(Stack { path: path.clone(), modules, state });
    }

    let mut set = StackSet {
        root: root.to_path_buf(),
        deps: vec![BTreeMap::new(); stacks.len()],
        stacks,
        sources,
        warnings: Diagnostics::new(),
    };
    for (i, refs) in remote_refs.iter().enumerate() {
        for dir in refs {
            let config = dirs.get(dir).or_else(|| module_configs.get(dir).and_then(Option::as_ref));
            let Some(config) = config else { continue };
            for r in &config.remote_states {
                match remote_location(&set.stacks[i].path, r) {
                    Some(location) => {
                        let target = set.stacks.iter().position(|s| s.state.as_ref() == Some(&location));
                        if let Some(t) = target.filter(|&t| t != i) {
                            set.deps[i].entry(t).or_insert(DependencyReason::RemoteState(r.span));
                        }
                    }
                    None => set.warnings.push(
                        Diagnostic::warning(format!(
                            "Cannot tell which stack data.terraform_remote_state.{} reads",
                            r.name
                        ))
                        .detail("Its backend and config are not literal strings, so `cairn stacks` cannot match them with a stack's backend block.")
                        .help(format!("if it reads another stack's state, name that stack in depends_on in {}", set.dir(i).join(DECLARATION_FILE).display()))
                        .at(r.span),
                    ),
                }
            }
        }
    }
    for dir in declarations {
        read_declaration(&mut set, &dir, &called)?;
    }
    Ok(set)
}

/// Where a stack's backend keeps its `default` workspace; `None` for a backend Cairn does not
/// have or whose arguments are not literal (the stack's own command reports that).
fn state_location(stack: &Path, backend: Option<&(String, BTreeMap<String, Option<String>>)>) -> Option<StateLocation> {
    let Some((kind, args)) = backend else { return Some(StateLocation::Local(normalize(&stack.join("state")))) };
    match kind.as_str() {
        "local" => match args.get("path") {
            None => Some(StateLocation::Local(normalize(&stack.join("state")))),
            Some(Some(p)) => Some(StateLocation::Local(normalize(&stack.join(p)))),
            Some(None) => None,
        },
        "gcs" => {
            let bucket = args.get("bucket")?.clone()?;
            let prefix = match args.get("prefix") {
                None => String::new(),
                Some(p) => p.clone()?.trim_matches('/').to_string(),
            };
            Some(StateLocation::Gcs { bucket, prefix })
        }
        _ => None,
    }
}

/// The state a `terraform_remote_state` block reads, its local path taken relative to the
/// stack that evaluates it (Terraform resolves it against the root module, even when a
/// called module holds the block). `None` when it is not written in literals.
fn remote_location(stack: &Path, r: &RemoteStateRef) -> Option<StateLocation> {
    let config = r.config.as_ref()?;
    let get = |k: &str| config.get(k).cloned();
    match r.backend.as_deref()? {
        "local" => Some(StateLocation::Local(normalize(&stack.join(get("path")??)))),
        "gcs" => {
            let bucket = get("bucket")??;
            let prefix = match get("prefix") {
                None => String::new(),
                Some(p) => p?.trim_matches('/').to_string(),
            };
            Some(StateLocation::Gcs { bucket, prefix })
        }
        _ => None,
    }
}

/// Reads one `cairn.stack.json`: `{"depends_on": ["../network", …]}`, each path relative to
/// the directory of the file and naming a stack under the root.
fn read_declaration(set: &mut StackSet, dir: &Path, modules: &BTreeSet<PathBuf>) -> Result<(), OpError> {
    use jsonc_parser::ast::{ObjectPropName, Value as Json};
    let path = set.root.join(dir).join(DECLARATION_FILE);
    let text =
        std::fs::read_to_string(&path).map_err(|e| OpError::msg(format!("cannot read {}: {e}", path.display())))?;
    let file = set.sources.add(&path, normalize(&path).display().to_string(), text);
    let fail = |set: &StackSet, d: Diagnostic| OpError::Diagnostics {
        sources: set.sources.clone(),
        diags: Diagnostics::from(d),
    };
    let at = |r: jsonc_parser::common::Range| Span { file, start: r.start, end: r.end.max(r.start + 1) };
    let whole = Span { file, start: 0, end: 1 };
    let Some(stack) = set.index_of(dir) else {
        let why = if modules.contains(dir) {
            "is a module (another configuration calls it with a local source), not a stack"
        } else {
            "holds no configuration files (*.tf, *.tf.json, *.hcl), so it is not a stack"
        };
        return Err(fail(
            set,
            Diagnostic::error(format!("{DECLARATION_FILE} beside no stack"))
                .detail(format!("{} {why}.", normalize(&set.root.join(dir)).display()))
                .help(format!("move {DECLARATION_FILE} into the directory of the stack it describes"))
                .at(whole),
        ));
    };
    let options = crate::lang::load_json::strict_json_options();
    let text = set.sources.get(file).text.clone();
    let parsed = match jsonc_parser::parse_to_ast(&text, &Default::default(), &options) {
        Ok(p) => p,
        Err(e) => {
            let d = Diagnostic::error("Invalid JSON syntax").detail(format!("{}.", e.kind())).at(at(e.range()));
            return Err(fail(set, d));
        }
    };
    let shape = "A stack declaration is an object: {\"depends_on\": [\"../network\"]}.";
    let Some(Json::Object(obj)) = &parsed.value else {
        return Err(fail(set, Diagnostic::error("Incorrect JSON value type").detail(shape).at(whole)));
    };
    for prop in &obj.properties {
        let (key, key_range) = match &prop.name {
            ObjectPropName::String(s) => (s.value.to_string(), s.range),
            ObjectPropName::Word(w) => (w.value.to_string(), w.range),
        };
        if key != "depends_on" {
            let mut d = Diagnostic::error(format!("Unsupported property \"{key}\""))
                .detail(format!("{shape} It has no other properties."))
                .at(at(key_range));
            if let Some(h) = suggest(&key, ["depends_on"]) {
                d = d.help(h);
            }
            return Err(fail(set, d));
        }
        let Json::Array(items) = &prop.value else {
            return Err(fail(
                set,
                Diagnostic::error("depends_on must be an array of stack paths").detail(shape).at(at(obj.range)),
            ));
        };
        for item in &items.elements {
            let Json::StringLit(s) = item else {
                return Err(fail(
                    set,
                    Diagnostic::error("depends_on holds stack paths, as strings").detail(shape).at(at(items.range)),
                ));
            };
            let target = normalize(&dir.join(s.value.as_ref()));
            let span = at(s.range);
            match set.index_of(&target) {
                Some(t) if t == stack => {
                    return Err(fail(set, Diagnostic::error("A stack cannot depend on itself").at(span)));
                }
                Some(t) => {
                    set.deps[stack].entry(t).or_insert(DependencyReason::Declared(span));
                }
                None => {
                    let shown = normalize(&set.root.join(&target));
                    let candidates: Vec<String> = set
                        .stacks
                        .iter()
                        .map(|s| pathdiff(&s.path, dir).to_string_lossy().replace('\\', "/"))
                        .collect();
                    let mut d = Diagnostic::error(format!("depends_on names \"{}\", which is not a stack", s.value))
                        .detail(format!(
                            "{} is not a directory with configuration files under {} (or it is a module another stack calls).",
                            shown.display(),
                            set.root.display()
                        ))
                        .at(span);
                    if let Some(h) = suggest(&s.value, candidates.iter().map(String::as_str)) {
                        d = d.help(h);
                    }
                    return Err(fail(set, d));
                }
            }
        }
    }
    Ok(())
}

/// `to` relative to `from` (both relative to the same root, lexically normal).
fn pathdiff(to: &Path, from: &Path) -> PathBuf {
    let to: Vec<_> = to.components().filter(|c| !matches!(c, std::path::Component::CurDir)).collect();
    let from: Vec<_> = from.components().filter(|c| !matches!(c, std::path::Component::CurDir)).collect();
    let common = to.iter().zip(&from).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for c in &to[common..] {
        out.push(c.as_os_str());
    }
    if out.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        out
    }
}

/// The stacks to run: all of them, or with `changed_since` those whose files or local
/// modules changed since that git ref, plus every stack depending on one; in run order.
pub fn select(set: &StackSet, changed_since: Option<&str>) -> Result<Vec<usize>, OpError> {
    // The whole graph is ordered, and so checked for cycles, whatever is selected.
    let everything = set.order(&(0..set.stacks.len()).collect())?;
    let Some(reference) = changed_since else { return Ok(everything) };
    let changed = changes::changed_files(&set.root, reference)?;
    let touched = changes::touched_stacks(set, &changed);
    set.order(&set.with_dependents(&touched))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let p = dir.path().join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        dir
    }

    fn names(set: &StackSet, order: &[usize]) -> Vec<String> {
        order.iter().map(|&i| set.stacks[i].path.display().to_string()).collect()
    }

    #[test]
    fn modules_are_not_stacks_and_hidden_and_state_dirs_are_skipped() {
        let t = tree(&[
            ("app/main.tf", "module \"m\" {\n  source = \"../modules/m\"\n}\n"),
            ("modules/m/main.tf", "module \"n\" {\n  source = \"../n\"\n}\n"),
            ("modules/n/main.tf", "variable \"x\" {}\n"),
            ("app/.cairn/modules/x/main.tf", "variable \"x\" {}\n"),
            ("app/state/junk.tf", "variable \"x\" {}\n"),
            ("tagged/CACHEDIR.TAG", "Signature: 8a477f597d28d172789f06886806bc55\n"),
            ("tagged/x/main.tf", "variable \"x\" {}\n"),
            ("net/main.tf.json", "{\"variable\": {\"x\": {}}}\n"),
            ("README.md", "hello\n"),
        ]);
        let set = discover(t.path()).unwrap();
        assert_eq!(names(&set, &set.order(&(0..set.stacks.len()).collect()).unwrap()), ["app", "net"]);
        let app = &set.stacks[set.index_of(Path::new("app")).unwrap()];
        assert_eq!(app.modules, BTreeSet::from([PathBuf::from("modules/m"), PathBuf::from("modules/n")]));
    }

    #[test]
    fn remote_state_and_declarations_order_the_stacks() {
        let t = tree(&[
            ("network/main.tf", "output \"x\" {\n  value = 1\n}\n"),
            (
                "db/main.tf",
                "terraform {\n  backend \"gcs\" {\n    bucket = \"b\"\n    prefix = \"db/\"\n  }\n}\n\ndata \"terraform_remote_state\" \"net\" {\n  backend = \"local\"\n  config = {\n    path = \"../network/state\"\n  }\n}\n",
            ),
            (
                "app/main.tf",
                "data \"terraform_remote_state\" \"db\" {\n  backend = \"gcs\"\n  config = {\n    bucket = \"b\"\n    prefix = \"/db\"\n  }\n}\n",
            ),
            ("aaa/main.tf", "variable \"x\" {\n  default = 1\n}\n"),
            ("aaa/cairn.stack.json", "{\"depends_on\": [\"../app\"]}\n"),
        ]);
        let set = discover(t.path()).unwrap();
        let all = (0..set.stacks.len()).collect();
        assert_eq!(names(&set, &set.order(&all).unwrap()), ["network", "db", "app", "aaa"]);
        let db = set.index_of(Path::new("db")).unwrap();
        let selected = set.with_dependents(&BTreeSet::from([db]));
        assert_eq!(names(&set, &set.order(&selected).unwrap()), ["db", "app", "aaa"]);
    }

    #[test]
    fn a_cycle_is_named_with_where_each_dependency_comes_from() {
        let t = tree(&[
            ("a/main.tf", "data \"terraform_remote_state\" \"b\" {\n  backend = \"local\"\n  config = { path = \"../b/state\" }\n}\n"),
            ("b/main.tf", "variable \"x\" {\n  default = 1\n}\n"),
            ("b/cairn.stack.json", "{\n  \"depends_on\": [\"../a\"]\n}\n"),
        ]);
        let set = discover(t.path()).unwrap();
        let OpError::Diagnostics { sources, diags } = set.order(&(0..2).collect()).unwrap_err() else { panic!() };
        let text = sources.render_all_plain(&diags);
        assert!(text.contains("in a cycle: "), "{text}");
        assert!(text.contains("a reads the state of ") && text.contains("b declares depends_on "), "{text}");
        assert!(text.contains("main.tf:1:1"), "{text}");
    }

    #[test]
    fn bad_declarations_are_located() {
        let cases = [
            ("{\"depends_on\": [\"../nope\"]}", "is not a stack", ":1:17"),
            ("{\"depend_on\": []}", "Unsupported property \"depend_on\"", ":1:2"),
            ("{\"depends_on\": [\"../b\",]}", "Invalid JSON syntax", ":1:"),
            ("{\"depends_on\": [\".\"]}", "cannot depend on itself", ":1:17"),
        ];
        for (json, want, loc) in cases {
            let t = tree(&[
                ("a/main.tf", "variable \"x\" {\n  default = 1\n}\n"),
                ("b/main.tf", "variable \"x\" {\n  default = 1\n}\n"),
                ("a/cairn.stack.json", json),
            ]);
            let OpError::Diagnostics { sources, diags } = discover(t.path()).unwrap_err() else { panic!("{json}") };
            let text = sources.render_all_plain(&diags);
            assert!(text.contains(want) && text.contains(&format!("cairn.stack.json{loc}")), "{json}: {text}");
        }
        let t = tree(&[
            ("a/main.tf", "module \"m\" {\n  source = \"../m\"\n}\n"),
            ("m/main.tf", "variable \"x\" {}\n"),
            ("m/cairn.stack.json", "{}"),
        ]);
        let OpError::Diagnostics { sources, diags } = discover(t.path()).unwrap_err() else { panic!() };
        assert!(sources.render_all_plain(&diags).contains("is a module"));
    }

    #[test]
    fn a_syntax_error_is_located_and_an_unreadable_remote_state_warns() {
        let t = tree(&[("a/main.tf", "resource \"x\" {\n")]);
        let OpError::Diagnostics { sources, diags } = discover(t.path()).unwrap_err() else { panic!() };
        assert!(sources.render_all_plain(&diags).contains("a/main.tf:"));
        let t = tree(&[(
            "a/main.tf",
            "variable \"p\" {}\ndata \"terraform_remote_state\" \"x\" {\n  backend = \"local\"\n  config = { path = var.p }\n}\n",
        )]);
        let set = discover(t.path()).unwrap();
        assert_eq!(set.warnings.0.len(), 1);
        assert!(set.sources.render_all_plain(&set.warnings).contains("main.tf:2:1"));
    }

    #[test]
    fn relative_paths_between_stacks() {
        assert_eq!(pathdiff(Path::new("a/b"), Path::new("a/c")), PathBuf::from("../b"));
        assert_eq!(pathdiff(Path::new("x"), Path::new(".")), PathBuf::from("x"));
        assert_eq!(normalize(Path::new("./a/../../b")), PathBuf::from("../b"));
    }
}
