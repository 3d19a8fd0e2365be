//! Loads a stack directory (and the local modules it calls) into the [`Config`] model.
//!
//! Only the language's own blocks and meta-arguments are checked here; resource arguments are
//! left for the schema validator. Every problem is reported with its location, and loading
//! carries on after an error so that one run shows as many problems as possible.

pub use super::duration::parse_duration;
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use hcl_edit::expr::{Expression, TraversalOperator};
use hcl_edit::structure::{Block, Structure};
use hcl_edit::template::Element;
use hcl_edit::Span as _;
use indexmap::IndexMap;

use crate::addr::{AnyAddr, AttrPath, InstanceAddr, InstanceKey, ModulePath, ResourceAddr};
use crate::lang::config::*;
use crate::lang::diag::{suggest, Diagnostic, Diagnostics, FileId, SourceMap, Span};
use crate::lang::module_lock::{LockedModules, ModuleRequest, ModuleResolver};
use crate::lang::module_source::{self, ModuleSource, VersionConstraint};
use crate::lang::refs::{self, RefRoot};
use crate::lang::types;

/// Loading failed; `sources` lets the caller render the diagnostics with their source lines.
#[derive(Debug)]
pub struct LoadError {
    pub sources: SourceMap,
    pub diagnostics: Diagnostics,
    /// The root module's backend, when it could be read: state commands still find the state
    /// of a stack whose configuration is broken.
    pub backend: Option<Backend>,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.sources.render_all_plain(&self.diagnostics))
    }
}

impl std::error::Error for LoadError {}

/// Reads every `*.tf` and `*.hcl` file of `root_dir` (not recursively, in name order), and the
/// modules they call: local ones from their directories, remote ones from the stack's module
/// cache as its lock file pins them (see `module_lock`).
pub fn load(root_dir: &Path) -> Result<Config, Box<LoadError>> {
    load_with(root_dir, &mut LockedModules::new(&normalize(root_dir)))
}

/// [`load`], with remote module sources mapped to directories by `resolver` (`cairn init`'s
/// installer fetches them; [`LockedModules`] only reads the cache).
pub fn load_with(root_dir: &Path, resolver: &mut dyn ModuleResolver) -> Result<Config, Box<LoadError>> {
    let root_dir = normalize(root_dir);
    let mut loader = Loader {
        sources: SourceMap::new(),
        diags: Diagnostics::new(),
        modules: BTreeMap::new(),
        backend: None,
        resolver,
        packages: BTreeMap::new(),
    };
    if !root_dir.is_dir() {
        loader.diags.push(
            Diagnostic::error(format!("Stack directory \"{}\" not found", root_dir.display()))
                .help("pass the directory that holds the stack's .tf files"),
        );
        return Err(Box::new(LoadError { sources: loader.sources, diagnostics: loader.diags, backend: None }));
    }
    let ancestors = vec![std::fs::canonicalize(&root_dir).unwrap_or_else(|_| root_dir.clone())];
    let files = loader.load_module(&root_dir, ModulePath::root(), &ancestors);
    loader.check_passed_providers();
    if files == 0 {
        loader.diags.push(
            Diagnostic::error(format!("No configuration files in \"{}\"", root_dir.display()))
                .help("a stack directory needs at least one .tf file"),
        );
    }
    let Loader { sources, mut diags, modules, backend, .. } = loader;
    check_removed_blocks(&modules, &mut diags);
    let (errors, warnings): (Vec<_>, Vec<_>) = diags.0.into_iter().partition(Diagnostic::is_error);
    if !errors.is_empty() {
        let mut all = Diagnostics(errors);
        all.extend(Diagnostics(warnings));
        return Err(Box::new(LoadError { sources, diagnostics: all, backend }));
    }
    Ok(Config { root_dir, sources, modules, backend, warnings: Diagnostics(warnings), workspace: "default".into() })
}

/// `required_version` checked against the Terraform language version Cairn implements
/// (Terraform's diagnostic, naming the constraint and the version): `None` when it allows it.
pub fn unmet_required_version(constraint: &str, span: Span) -> Option<Diagnostic> {
    let implemented = crate::version::TERRAFORM_LANGUAGE_VERSION;
    match allows(constraint, implemented) {
        Err(d) => Some(d.at(span)),
        Ok(true) => None,
        Ok(false) => Some(
            Diagnostic::error("Unsupported Terraform Core version")
                .detail(format!(
                    "This configuration does not support Terraform version {implemented}, the Terraform language version Cairn implements (it requires \"{constraint}\"). To proceed, either update this version constraint or run the configuration with a Terraform version that it allows. Version constraints are normally set for good reason, so updating the constraint may lead to other errors or unexpected behavior."
                ))
                .at(span),
        ),
    }
}

/// A provider version constraint (`required_providers`, or a provider block's legacy
/// `version`) checked against the version of that provider Cairn implements. `None` when it
/// allows it, or when Cairn does not ship the provider (which is refused elsewhere, once).
pub fn unmet_provider_version(provider: &str, constraint: &str, span: Span) -> Option<Diagnostic> {
    if provider == "terraform" {
        return Some(
            Diagnostic::error("Invalid version constraint for a built-in provider")
                .detail("The \"terraform\" provider is built into Terraform (and Cairn) and has no version of its own, so a version constraint cannot select one.")
                .help("remove version from the \"terraform\" entry (required_version constrains the Terraform version)")
                .at(span),
        );
    }
    let implemented = crate::version::provider_version(provider)?;
    match allows(constraint, implemented) {
        Err(d) => Some(d.at(span)),
        Ok(true) => None,
        Ok(false) => Some(
            Diagnostic::error(format!("Unsupported provider version for \"{provider}\""))
                .detail(format!(
                    "This configuration requires provider hashicorp/{provider} \"{constraint}\", but Cairn's built-in \"{provider}\" provider implements version {implemented} (the version whose resources and behaviour it follows), which this constraint does not allow."
                ))
                .help(format!("update the constraint if this configuration works with hashicorp/{provider} {implemented}"))
                .at(span),
        ),
    }
}

/// Whether a Terraform version constraint allows `version` (module_source's one parser of
/// Terraform's constraint syntax), or the diagnostic for a constraint that does not parse.
fn allows(constraint: &str, version: &str) -> Result<bool, Diagnostic> {
    let c = VersionConstraint::parse(constraint).map_err(|e| {
        Diagnostic::error("Invalid version constraint")
            .detail(format!("This string does not use correct version constraint syntax: {e}."))
    })?;
    let v = module_source::parse_version(version).expect("Cairn's own versions are valid semver");
    Ok(c.matches(&v))
}

/// A `removed` block names what left the configuration: Terraform refuses one whose resource
/// (or module call) is still declared, since the two would contradict each other.
fn check_removed_blocks(modules: &BTreeMap<ModulePath, Module>, diags: &mut Diagnostics) {
    for (path, module) in modules {
        for r in &module.removed {
            let still = match r.from.prefixed(path) {
                AnyAddr::Resource(a) => {
                    modules.get(&a.module).is_some_and(|m| m.resources.contains_key(&a.local_key()))
                }
                AnyAddr::Module(m) => modules.contains_key(&m),
                AnyAddr::Instance(_) => false,
            };
            if still {
                diags.push(
                    Diagnostic::error("Removed object still exists")
                        .detail(format!(
                            "This removed block says {} left the configuration, but it is still declared.",
                            r.from.prefixed(path)
                        ))
                        .help("delete its block (or this removed block, to keep managing it)")
                        .at(r.from_span),
                );
            }
        }
    }
}

/// Whether a directory entry's name is one the loader reads as configuration: `*.tf`,
/// `*.tf.json` or `*.hcl`, not hidden (bytes, so that a non-UTF-8 name can still be reported).
pub fn is_config_file_name(name: &[u8]) -> bool {
    !name.starts_with(b".") && (name.ends_with(b".tf") || name.ends_with(b".hcl") || name.ends_with(b".tf.json"))
}

/// Terraform's naming rule for override files.
pub fn is_override_file(name: &str) -> bool {
    let stem = name
        .strip_suffix(".tf.json")
        .or_else(|| name.strip_suffix(".tf"))
        .or_else(|| name.strip_suffix(".hcl"))
        .unwrap_or(name);
    stem == "override" || stem.ends_with("_override")
}

/// Joins and removes `.` and `..` components lexically, leading `..` kept, so that displayed
/// paths stay short (`stacks/demo/modules/net/main.tf`, not `stacks/demo/./modules/net/main.tf`);
/// no file system access, so a module that is not there yet still has one name.
pub fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                let last_is_normal = matches!(out.components().next_back(), Some(Component::Normal(_)));
                if last_is_normal {
                    out.pop();
                } else {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        out
    }
}

const TOP_LEVEL_BLOCKS: &[&str] = &[
    "terraform",
    "provider",
    "variable",
    "locals",
    "resource",
    "data",
    "output",
    "module",
    "check",
    "moved",
    "removed",
    "import",
];
const RESERVED_VARIABLE_NAMES: &[&str] =
    &["source", "version", "providers", "count", "for_each", "lifecycle", "depends_on", "locals"];

struct Loader<'r> {
    sources: SourceMap,
    diags: Diagnostics,
    modules: BTreeMap<ModulePath, Module>,
    backend: Option<Backend>,
    resolver: &'r mut dyn ModuleResolver,
    /// The package root of every module that came from a remote source (and of the local
    /// modules it calls): a local call inside a package must stay inside it.
    packages: BTreeMap<ModulePath, PathBuf>,
}

/// The block-level pieces of a meta block's body, with duplicates already reported.
struct Parts<'b> {
    attrs: IndexMap<String, &'b hcl_edit::structure::Attribute>,
    blocks: Vec<&'b Block>,
}

/// A provider reference written as a traversal: `google` or `google.eu`.
fn provider_reference(e: &Expression) -> Option<(String, Option<String>)> {
    match e {
        Expression::Variable(v) => Some((v.value().as_str().to_string(), None)),
        Expression::Traversal(t) => match (&t.expr, &t.operators[..]) {
            (Expression::Variable(v), [op]) => match op.value() {
                TraversalOperator::GetAttr(alias) => {
                    Some((v.value().as_str().to_string(), Some(alias.value().as_str().to_string())))
                }
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}

/// `google` or `google.eu`: the key of a configuration ([`crate::addr::ProviderConfigAddr`]).
fn config_key((name, alias): (String, Option<String>)) -> String {
    match alias {
        Some(a) => format!("{name}.{a}"),
        None => name,
    }
}

fn is_valid_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

impl Loader<'_> {
    fn span(&self, file: FileId, node: &impl hcl_edit::Span) -> Span {
        let r = node.span().unwrap_or(0..0);
        Span { file, start: r.start, end: r.end }
    }

    /// The header of a block: its type and labels, for messages about the block as a whole.
    fn header_span(&self, file: FileId, block: &Block) -> Span {
        let start = block.ident.span().map(|r| r.start).unwrap_or(0);
        let end = block.labels.last().and_then(|l| l.span()).or(block.ident.span()).map(|r| r.end).unwrap_or(start);
        Span { file, start, end }
    }

    /// A whole block. One read from a `.tf.json` file has no span of its own (hcl-edit sets
    /// spans only while parsing HCL): it runs from its type to the end of its last content.
    fn block_span(&self, file: FileId, block: &Block) -> Span {
        if block.span().is_some() {
            return self.span(file, block);
        }
        let header = self.header_span(file, block);
        let end = block.body.iter().last().map(|s| match s {
            Structure::Attribute(a) => self.attr_span(file, a).end,
            Structure::Block(b) => self.block_span(file, b).end,
        });
        Span { end: end.unwrap_or(header.end).max(header.end), ..header }
    }

    /// A whole `name = value` argument (from the name to the value's end for a `.tf.json` one).
    fn attr_span(&self, file: FileId, a: &hcl_edit::structure::Attribute) -> Span {
        if a.span().is_some() {
            return self.span(file, a);
        }
        let key = self.span(file, &a.key);
        Span { end: self.span(file, &a.value).end.max(key.end), ..key }
    }

    fn label_span(&self, file: FileId, block: &Block, i: usize) -> Span {
        match block.labels.get(i) {
            Some(l) => self.span(file, l),
            None => self.header_span(file, block),
        }
    }

    fn expr(&self, file: FileId, e: &Expression) -> Expr {
        Expr { expr: e.clone(), span: self.span(file, e) }
    }

    fn error(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn first_defined(&self, span: Span) -> String {
        format!("The first definition is at {}.", self.sources.location(span))
    }

    /// The configuration files in a directory listing, by name. An entry Cairn cannot list, a
    /// name that is not UTF-8 but ends in `.tf`/`.hcl`, or such a name whose target cannot be
    /// read is an error with its path: skipping it would plan its resources for deletion.
    fn config_file_names(&mut self, dir: &Path, entries: std::fs::ReadDir) -> Vec<String> {
        let mut names = Vec::new();
        for entry in entries {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    self.error(
                        Diagnostic::error(format!("Can't list directory \"{}\"", dir.display())).detail(e.to_string()),
                    );
                    continue;
                }
            };
            let raw = entry.file_name();
            if !is_config_file_name(raw.as_encoded_bytes()) {
                continue;
            }
            let path = entry.path();
            let display = normalize(&path).display().to_string();
            let Some(name) = raw.to_str() else {
                self.error(
                    Diagnostic::error(format!("The file name \"{display}\" is not UTF-8"))
                        .detail("Cairn reads every .tf and .hcl file in a stack and cannot name this one in plans and messages.")
                        .help("rename the file to a UTF-8 name"),
                );
                continue;
            };
            // Follows symbolic links, as Terraform does: a linked .tf file is part of the stack.
            match std::fs::metadata(&path) {
                Ok(meta) if meta.is_file() => names.push(name.to_string()),
                Ok(_) => {}
                Err(e) => {
                    self.error(Diagnostic::error(format!("Can't read \"{display}\"")).detail(e.to_string()));
                }
            }
        }
        names
    }

    /// Loads one module directory; returns how many configuration files it had.
    fn load_module(&mut self, dir: &Path, path: ModulePath, ancestors: &[PathBuf]) -> usize {
        let mut module = Module { path: path.clone(), dir: dir.to_path_buf(), ..Module::default() };
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => {
                self.error(
                    Diagnostic::error(format!("Can't read directory \"{}\"", dir.display())).detail(e.to_string()),
                );
                self.modules.insert(path, module);
                return 0;
            }
        };
        let mut names = self.config_file_names(dir, entries);
        names.sort();
        // Terraform's override files are read after the others and merged into them.
        names.sort_by_key(|n| is_override_file(n));
        let mut calls = Vec::new();
        for name in &names {
            let file_path = dir.join(name);
            let display = normalize(&file_path).display().to_string();
            let text = match std::fs::read(&file_path).map(String::from_utf8) {
                Ok(Ok(t)) => t,
                Ok(Err(_)) => {
                    self.error(
                        Diagnostic::error(format!("\"{display}\" is not UTF-8 text"))
                            .help("configuration files must be saved as UTF-8"),
                    );
                    continue;
                }
                Err(e) => {
                    self.error(Diagnostic::error(format!("Can't read \"{display}\"")).detail(e.to_string()));
                    continue;
                }
            };
            let file = self.sources.add(&file_path, display, text);
            // Terraform's JSON syntax, translated into the syntax tree the HCL parser gives.
            if super::load_json::is_json_config(name) {
                match super::load_json::parse(file, &self.sources.get(file).text) {
                    Ok(body) if is_override_file(name) => self.override_body(file, &body, &module),
                    Ok(body) => self.file_body(file, &body, &mut module, &mut calls),
                    Err(diags) => self.diags.extend(diags),
                }
                continue;
            }
            let parsed = hcl_edit::parser::parse_body(&self.sources.get(file).text);
            match parsed {
                Ok(body) if is_override_file(name) => self.override_body(file, &body, &module),
                Ok(body) => self.file_body(file, &body, &mut module, &mut calls),
                Err(e) => {
                    let offset = e.location().offset();
                    let span = Span { file, start: offset, end: offset + 1 };
                    let d = if e.message().contains("redefined attribute") {
                        Diagnostic::error("Duplicate argument").detail("This argument is already set earlier in the same block; each argument can be set only once.")
                    } else {
                        Diagnostic::error("Syntax error").detail(capitalize(e.message()))
                    };
                    self.error(d.at(span));
                }
            }
        }
        self.check_provider_refs(&mut module);
        self.modules.insert(path.clone(), module);
        for (name, source_span) in calls {
            self.load_child(&path, &name, source_span, ancestors);
        }
        if let Some(module) = self.modules.remove(&path) {
            self.check_references(&module);
            self.modules.insert(path, module);
        }
        names.len()
    }

    fn load_child(&mut self, parent: &ModulePath, name: &str, source_span: Span, ancestors: &[PathBuf]) {
        let Some(call) = self.modules.get(parent).and_then(|m| m.module_calls.get(name)).cloned() else { return };
        let child_path = parent.child(name);
        if !call.dir.is_dir() {
            self.error(
                Diagnostic::error(format!("Module directory \"{}\" not found", call.dir.display()))
                    .detail(format!(
                        "The source of module \"{name}\" resolves to \"{}\", which is not a directory.",
                        call.dir.display()
                    ))
                    .help("module sources are relative to the directory of the file that calls the module")
                    .at(source_span),
            );
            return;
        }
        let canonical = std::fs::canonicalize(&call.dir).unwrap_or_else(|_| call.dir.clone());
        if ancestors.contains(&canonical) {
            self.error(
                Diagnostic::error("Module recursion")
                    .detail(format!("Module \"{name}\" calls the directory \"{}\", which is already being loaded by a calling module; modules can't call themselves.", call.dir.display()))
                    .at(source_span),
            );
            return;
        }
        let mut chain = ancestors.to_vec();
        chain.push(canonical);
        let errors_before = self.diags.errors().count();
        let files = self.load_module(&call.dir, child_path.clone(), &chain);
        if files == 0 {
            self.error(
                Diagnostic::error(format!("Module \"{name}\" has no configuration files"))
                    .detail(format!("\"{}\" contains no .tf files.", call.dir.display()))
                    .at(source_span),
            );
            return;
        }
        if self.diags.errors().count() > errors_before {
            // The child's variables may be incomplete; checking inputs would only add noise.
            return;
        }
        let Some(child) = self.modules.get(&child_path) else { return };
        let mut problems = Vec::new();
        for (input, attr) in &call.inputs {
            if !child.variables.contains_key(input) {
                let mut d = Diagnostic::error("Unsupported argument")
                    .detail(format!("Module \"{name}\" ({}) has no input variable named \"{input}\".", call.source))
                    .at(attr.name_span);
                if let Some(h) = suggest(input, child.variables.keys().map(String::as_str)) {
                    d = d.help(h);
                }
                problems.push(d);
            }
        }
        for (var_name, var) in &child.variables {
            if var.default.is_none() && !call.inputs.contains_key(var_name) {
                problems.push(
                    Diagnostic::error(format!("Missing required argument \"{var_name}\""))
                        .detail(format!(
                            "Module \"{name}\" declares variable \"{var_name}\" at {} without a default, so the module block must set it.",
                            self.sources.location(var.span)
                        ))
                        .help(format!("add {var_name} = … to the module \"{name}\" block"))
                        .at(call.span),
                );
            }
        }
        for d in problems {
            self.error(d);
        }
    }

    fn file_body(
        &mut self,
        file: FileId,
        body: &hcl_edit::structure::Body,
        module: &mut Module,
        calls: &mut Vec<(String, Span)>,
    ) {
        for structure in body.iter() {
            match structure {
                Structure::Attribute(a) => {
                    let name = a.key.value().as_str();
                    self.error(
                        Diagnostic::error("Unsupported argument")
                            .detail(format!("An argument named \"{name}\" is not expected at the top level of a file; arguments belong inside blocks."))
                            .help(format!("to define a named value, put it in a locals block: locals {{ {name} = … }}"))
                            .at(self.span(file, &a.key)),
                    );
                }
                Structure::Block(b) => match b.ident.value().as_str() {
                    "terraform" => self.terraform_block(file, b, module),
                    "provider" => self.provider_block(file, b, module),
                    "variable" => self.variable_block(file, b, module),
                    "locals" => self.locals_block(file, b, module),
                    "resource" => self.resource_block(file, b, ResourceMode::Managed, module),
                    "data" => self.resource_block(file, b, ResourceMode::Data, module),
                    "output" => self.output_block(file, b, module),
                    "module" => {
                        if let Some((name, span)) = self.module_block(file, b, module) {
                            calls.push((name, span));
                        }
                    }
                    "check" => self.check_block(file, b, module),
                    "moved" => self.moved_block(file, b, module),
                    "removed" => self.removed_block(file, b, module),
                    "import" => self.import_block(file, b, module),
                    other => {
                        let mut d = Diagnostic::error("Unsupported block type")
                            .detail(format!("Blocks of type \"{other}\" are not expected here."))
                            .at(self.span(file, &b.ident));
                        if let Some(h) = suggest(other, TOP_LEVEL_BLOCKS.iter().copied()) {
                            d = d.help(h);
                        }
                        self.error(d);
                    }
                },
            }
        }
    }

    /// An override file (`override.tf`, `*_override.tf`). Terraform merges any block of one into
    /// the block it overrides; Cairn supports the use CI relies on, replacing the backend (for
    /// example a runner writing `backend_override.tf` to select the shared state bucket), and
    /// says so for anything else rather than silently ignoring it.
    fn override_body(&mut self, file: FileId, body: &hcl_edit::structure::Body, module: &Module) {
        let unsupported = |d: Diagnostic| {
            d.detail("Cairn applies override files only to the terraform block's backend.")
                .help("move this into a regular .tf file, or rename the file so that it does not end in _override.tf")
        };
        for structure in body.iter() {
            match structure {
                Structure::Block(b) if b.ident.value().as_str() == "terraform" => {
                    for inner in b.body.iter() {
                        match inner {
                            Structure::Block(ib) if ib.ident.value().as_str() == "backend" => {
                                self.backend = None;
                                self.backend(file, ib, module);
                            }
                            Structure::Block(ib) => {
                                let d = unsupported(Diagnostic::error(format!(
                                    "Unsupported \"{}\" block in an override file",
                                    ib.ident.value()
                                )));
                                self.error(d.at(self.span(file, &ib.ident)));
                            }
                            Structure::Attribute(a) => {
                                let d = unsupported(Diagnostic::error(format!(
                                    "Unsupported argument \"{}\" in an override file",
                                    a.key.value()
                                )));
                                self.error(d.at(self.span(file, &a.key)));
                            }
                        }
                    }
                }
                Structure::Block(b) => {
                    let d = unsupported(Diagnostic::error(format!(
                        "Unsupported \"{}\" block in an override file",
                        b.ident.value()
                    )));
                    self.error(d.at(self.span(file, &b.ident)));
                }
                Structure::Attribute(a) => {
                    let d = unsupported(Diagnostic::error(format!(
                        "Unsupported argument \"{}\" in an override file",
                        a.key.value()
                    )));
                    self.error(d.at(self.span(file, &a.key)));
                }
            }
        }
    }

    /// Checks a block's labels; returns them when there are exactly `names.len()`.
    fn labels(&mut self, file: FileId, block: &Block, names: &[&str]) -> Option<Vec<String>> {
        let kind = block.ident.value().as_str();
        let shape = std::iter::once(kind.to_string())
            .chain(names.iter().map(|n| format!("\"{n}\"")))
            .collect::<Vec<_>>()
            .join(" ");
        if block.labels.len() < names.len() {
            let missing = names.get(block.labels.len()).copied().unwrap_or("label");
            self.error(
                Diagnostic::error(format!("Missing {missing} for {kind} block"))
                    .detail(format!("A {kind} block is written {shape} {{ … }}."))
                    .at(self.header_span(file, block)),
            );
            return None;
        }
        if let Some(extra) = block.labels.get(names.len()) {
            let mut d = Diagnostic::error(format!("Extraneous label for {kind} block"))
                .detail(format!("A {kind} block is written {shape} {{ … }}."))
                .at(self.span(file, extra));
            if names.is_empty() {
                d = d.detail(format!("A {kind} block has no labels: {kind} {{ … }}."));
            }
            self.error(d);
            return None;
        }
        let mut out = Vec::new();
        for (label, what) in block.labels.iter().zip(names) {
            let s = label.as_str();
            if !is_valid_name(s) {
                self.error(
                    Diagnostic::error(format!("Invalid {what} \"{s}\""))
                        .detail("A name must start with a letter or underscore and may contain only letters, digits, underscores and dashes.")
                        .at(self.span(file, label)),
                );
                return None;
            }
            out.push(s.to_string());
        }
        Some(out)
    }

    /// Attributes by name (reporting duplicates) and nested blocks of a body.
    fn parts<'b>(&mut self, file: FileId, body: &'b hcl_edit::structure::Body) -> Parts<'b> {
        let mut attrs: IndexMap<String, &hcl_edit::structure::Attribute> = IndexMap::new();
        let mut blocks = Vec::new();
        for s in body.iter() {
            match s {
                Structure::Attribute(a) => {
                    let name = a.key.value().as_str().to_string();
                    if let Some(first) = attrs.get(&name) {
                        let first_span = self.attr_span(file, first);
                        self.error(
                            Diagnostic::error(format!("Duplicate argument \"{name}\""))
                                .detail(self.first_defined(first_span))
                                .at(self.span(file, &a.key)),
                        );
                    } else {
                        attrs.insert(name, a);
                    }
                }
                Structure::Block(b) => blocks.push(b),
            }
        }
        Parts { attrs, blocks }
    }

    fn unexpected_attr(
        &mut self,
        file: FileId,
        attr: &hcl_edit::structure::Attribute,
        context: &str,
        allowed: &[&str],
    ) {
        let name = attr.key.value().as_str();
        let mut d = Diagnostic::error("Unsupported argument")
            .detail(format!("An argument named \"{name}\" is not expected in a {context} block."))
            .at(self.span(file, &attr.key));
        if let Some(h) = suggest(name, allowed.iter().copied()) {
            d = d.help(h);
        } else if !allowed.is_empty() {
            d = d.help(format!("the arguments of a {context} block are: {}", allowed.join(", ")));
        }
        self.error(d);
    }

    fn unexpected_block(&mut self, file: FileId, block: &Block, context: &str, allowed: &[&str]) {
        let name = block.ident.value().as_str();
        let mut d = Diagnostic::error("Unsupported block type")
            .detail(format!("Blocks of type \"{name}\" are not expected in a {context} block."))
            .at(self.span(file, &block.ident));
        if let Some(h) = suggest(name, allowed.iter().copied()) {
            d = d.help(h);
        }
        self.error(d);
    }

    fn literal_string(&mut self, file: FileId, attr: &hcl_edit::structure::Attribute) -> Option<String> {
        match &attr.value {
            Expression::String(s) => Some(s.value().clone()),
            // A heredoc without interpolation is as literal as a quoted string (Terraform
            // accepts `description = <<-EOT … EOT` on a variable).
            Expression::HeredocTemplate(h) if h.template.iter().all(|e| matches!(e, Element::Literal(_))) => Some(
                h.template
                    .iter()
                    .filter_map(|e| match e {
                        Element::Literal(l) => Some(l.value().as_str()),
                        _ => None,
                    })
                    .collect(),
            ),
            other => {
                self.error(
                    Diagnostic::error(format!("\"{}\" must be a literal string", attr.key.value().as_str()))
                        .detail("This argument is read before anything is evaluated, so it can't use references, functions or templates.")
                        .at(self.span(file, other)),
                );
                None
            }
        }
    }

    fn literal_bool(&mut self, file: FileId, attr: &hcl_edit::structure::Attribute) -> Option<bool> {
        match &attr.value {
            Expression::Bool(b) => Some(*b.value()),
            other => {
                self.error(
                    Diagnostic::error(format!("\"{}\" must be true or false", attr.key.value().as_str()))
                        .detail("This argument is read before anything is evaluated, so it must be a literal true or false.")
                        .at(self.span(file, other)),
                );
                None
            }
        }
    }

    fn attribute(&self, file: FileId, a: &hcl_edit::structure::Attribute) -> Attribute {
        Attribute {
            name: a.key.value().as_str().to_string(),
            expr: self.expr(file, &a.value),
            span: self.attr_span(file, a),
            name_span: self.span(file, &a.key),
        }
    }

    /// Converts a body, leaving out the named meta-arguments and meta-blocks (handled by the
    /// caller) and expanding `dynamic` blocks into [`DynamicBlock`]s.
    fn body(
        &mut self,
        file: FileId,
        body: &hcl_edit::structure::Body,
        skip_attrs: &[&str],
        skip_blocks: &[&str],
    ) -> Body {
        let parts = self.parts(file, body);
        let mut out = Body { span: body.span().map(|r| Span { file, start: r.start, end: r.end }), ..Body::default() };
        for (name, a) in &parts.attrs {
            if !skip_attrs.contains(&name.as_str()) {
                out.attributes.insert(name.clone(), self.attribute(file, a));
            }
        }
        for b in parts.blocks {
            let kind = b.ident.value().as_str();
            if skip_blocks.contains(&kind) {
                continue;
            }
            if kind == "dynamic" {
                if let Some(d) = self.dynamic_block(file, b) {
                    out.dynamic_blocks.push(d);
                }
                continue;
            }
            let labels = b.labels.iter().map(|l| l.as_str().to_string()).collect();
            let body = self.body(file, &b.body, &[], &[]);
            out.blocks.push(NestedBlock { type_name: kind.to_string(), labels, body, span: self.block_span(file, b) });
        }
        out
    }

    fn dynamic_block(&mut self, file: FileId, block: &Block) -> Option<DynamicBlock> {
        let [label] = &block.labels[..] else {
            self.error(
                Diagnostic::error("Invalid dynamic block")
                    .detail("A dynamic block has one label, the type of block it generates: dynamic \"setting\" { … }.")
                    .at(self.header_span(file, block)),
            );
            return None;
        };
        let type_name = label.as_str().to_string();
        let parts = self.parts(file, &block.body);
        let mut for_each = None;
        let mut iterator = type_name.clone();
        for (name, a) in &parts.attrs {
            match name.as_str() {
                "for_each" => for_each = Some(self.expr(file, &a.value)),
                "iterator" => match &a.value {
                    Expression::Variable(v) => iterator = v.value().as_str().to_string(),
                    other => self.error(
                        Diagnostic::error("Invalid dynamic iterator name")
                            .detail("The iterator is a name, written without quotes: iterator = rule.")
                            .at(self.span(file, other)),
                    ),
                },
                "labels" => self.error(
                    Diagnostic::error("Unsupported argument")
                        .detail("Cairn's dynamic blocks don't support \"labels\"; the nested blocks of Google Cloud resources have no labels.")
                        .at(self.span(file, &a.key)),
                ),
                _ => self.unexpected_attr(file, a, "dynamic", &["for_each", "iterator", "content"]),
            }
        }
        let mut content = None;
        for b in &parts.blocks {
            if b.ident.value().as_str() == "content" {
                if content.is_some() {
                    self.error(
                        Diagnostic::error("Duplicate content block")
                            .detail("A dynamic block has exactly one content block.")
                            .at(self.span(file, &b.ident)),
                    );
                } else {
                    if !b.labels.is_empty() {
                        self.labels(file, b, &[]);
                    }
                    content = Some(self.body(file, &b.body, &[], &[]));
                }
            } else {
                self.unexpected_block(file, b, "dynamic", &["content"]);
            }
        }
        let header = self.header_span(file, block);
        let Some(for_each) = for_each else {
            self.error(
                Diagnostic::error("Missing for_each in dynamic block")
                    .detail("A dynamic block needs for_each = <collection>.")
                    .at(header),
            );
            return None;
        };
        let Some(content) = content else {
            self.error(
                Diagnostic::error("Missing content block in dynamic block")
                    .detail("A dynamic block needs a content { … } block with the generated block's arguments.")
                    .at(header),
            );
            return None;
        };
        Some(DynamicBlock { type_name, for_each, iterator, content, span: self.block_span(file, block) })
    }

    fn terraform_block(&mut self, file: FileId, block: &Block, module: &mut Module) {
        self.labels(file, block, &[]);
        let parts = self.parts(file, &block.body);
        for (name, a) in &parts.attrs {
            match name.as_str() {
                "required_version" => {
                    module.required_version = self.literal_string(file, a);
                    if let Some(text) = &module.required_version {
                        let span = self.span(file, &a.value);
                        if let Some(d) = unmet_required_version(text, span) {
                            self.error(d);
                        }
                    }
                }
                _ => self.unexpected_attr(file, a, "terraform", &["required_version", "required_providers", "backend"]),
            }
        }
        for b in &parts.blocks {
            match b.ident.value().as_str() {
                "required_providers" => self.required_providers(file, b, module),
                "backend" => self.backend(file, b, module),
                "cloud" => self.error(
                    Diagnostic::error("Unsupported block type")
                        .detail("HCP Terraform (\"cloud\" blocks) is not supported.")
                        .help("use backend \"gcs\" or backend \"local\"")
                        .at(self.span(file, &b.ident)),
                ),
                _ => self.unexpected_block(file, b, "terraform", &["required_providers", "backend"]),
            }
        }
    }

    fn required_providers(&mut self, file: FileId, block: &Block, module: &mut Module) {
        let parts = self.parts(file, &block.body);
        for b in &parts.blocks {
            self.unexpected_block(file, b, "required_providers", &[]);
        }
        for (name, a) in &parts.attrs {
            let span = self.attr_span(file, a);
            let mut req = RequiredProvider {
                source: None,
                version: None,
                configuration_aliases: Vec::new(),
                span,
                source_span: None,
                version_span: None,
            };
            match &a.value {
                Expression::String(s) => {
                    req.version = Some(s.value().clone());
                    req.version_span = Some(self.span(file, &a.value));
                }
                Expression::Object(obj) => {
                    for (k, v) in obj.iter() {
                        let key = match k {
                            hcl_edit::expr::ObjectKey::Ident(i) => i.value().as_str().to_string(),
                            hcl_edit::expr::ObjectKey::Expression(Expression::String(s)) => s.value().clone(),
                            hcl_edit::expr::ObjectKey::Expression(e) => {
                                self.error(Diagnostic::error("Invalid required_providers key").at(self.span(file, e)));
                                continue;
                            }
                        };
                        if key == "configuration_aliases" {
                            req.configuration_aliases = self.configuration_aliases(file, name, v.expr());
                            continue;
                        }
                        let value = match v.expr() {
                            Expression::String(s) => s.value().clone(),
                            other => {
                                self.error(
                                    Diagnostic::error(format!("\"{key}\" must be a literal string"))
                                        .at(self.span(file, other)),
                                );
                                continue;
                            }
                        };
                        let value_span = Some(self.span(file, v.expr()));
                        match key.as_str() {
                            "source" => (req.source, req.source_span) = (Some(value), value_span),
                            "version" => (req.version, req.version_span) = (Some(value), value_span),
                            _ => {
                                let mut d =
                                    Diagnostic::error(format!("Unsupported required_providers attribute \"{key}\""))
                                        .at(self.span(file, v.expr()));
                                if let Some(h) = suggest(&key, ["source", "version", "configuration_aliases"]) {
                                    d = d.help(h);
                                }
                                self.error(d);
                            }
                        }
                    }
                }
                other => self.error(
                    Diagnostic::error("Invalid required_providers entry")
                        .detail(format!("Write {name} = {{ source = \"hashicorp/{name}\", version = \"~> 6.0\" }}."))
                        .at(self.span(file, other)),
                ),
            }
            module.required_providers.insert(name.clone(), req);
        }
    }

    /// `configuration_aliases = [google.eu, google.us]` in the `google` entry: references to
    /// configurations of this provider, each `NAME.ALIAS`.
    fn configuration_aliases(&mut self, file: FileId, provider: &str, expr: &Expression) -> Vec<(String, Span)> {
        let Expression::Array(items) = expr else {
            self.error(
                Diagnostic::error("Invalid configuration_aliases")
                    .detail(format!(
                        "configuration_aliases is a list of provider configurations, like [{provider}.other]."
                    ))
                    .at(self.span(file, expr)),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items.iter() {
            let span = self.span(file, item);
            match provider_reference(item) {
                Some((name, Some(alias))) if name == provider => out.push((format!("{name}.{alias}"), span)),
                // Terraform allows listing the default configuration too; it is always there.
                Some((name, None)) if name == provider => {}
                Some((name, Some(_))) => self.error(
                    Diagnostic::error("Invalid configuration_aliases entry")
                        .detail(format!(
                            "This is the \"{provider}\" entry of required_providers; its aliases are configurations of \"{provider}\", not of \"{name}\"."
                        ))
                        .help(format!("list {name}'s aliases in its own required_providers entry"))
                        .at(span),
                ),
                _ => self.error(
                    Diagnostic::error("Invalid configuration_aliases entry")
                        .detail(format!(
                            "Each entry names a configuration of \"{provider}\" without quotes, like {provider}.other."
                        ))
                        .at(span),
                ),
            }
        }
        out
    }

    fn backend(&mut self, file: FileId, block: &Block, module: &Module) {
        let Some(labels) = self.labels(file, block, &["type"]) else { return };
        let kind = labels.into_iter().next().unwrap_or_default();
        let header = self.header_span(file, block);
        if !module.path.is_root() {
            self.error(
                Diagnostic::warning("Backend configuration ignored")
                    .detail("Only the root module's backend is used; a backend block in a called module has no effect.")
                    .at(header),
            );
            return;
        }
        if !matches!(kind.as_str(), "local" | "gcs") {
            let mut d = Diagnostic::error(format!("Unsupported backend \"{kind}\""))
                .detail("Cairn supports the \"local\" and \"gcs\" backends.")
                .at(self.label_span(file, block, 0));
            if let Some(h) = suggest(&kind, ["local", "gcs"]) {
                d = d.help(h);
            }
            self.error(d);
            return;
        }
        if let Some(first) = &self.backend {
            let detail = self.first_defined(first.span);
            self.error(Diagnostic::error("Duplicate backend configuration").detail(detail).at(header));
            return;
        }
        let body = self.body(file, &block.body, &[], &[]);
        for b in &body.blocks {
            self.error(
                Diagnostic::error("Unsupported block type")
                    .detail(format!("A backend block has only arguments, not \"{}\" blocks.", b.type_name))
                    .at(b.span),
            );
        }
        self.backend = Some(Backend { kind, attributes: body.attributes, span: header });
    }

    fn provider_block(&mut self, file: FileId, block: &Block, module: &mut Module) {
        let Some(labels) = self.labels(file, block, &["name"]) else { return };
        let name = labels.into_iter().next().unwrap_or_default();
        let mut alias = None;
        if let Some(a) = block.body.get_attribute("alias") {
            alias = self.literal_string(file, a);
            if let Some(bad) = alias.as_ref().filter(|a| !is_valid_name(a)) {
                self.error(
                    Diagnostic::error("Invalid provider configuration alias")
                        .detail(format!("An alias is a name (letters, digits, _ and -, not starting with a digit), so that provider = {name}.ALIAS can select it; \"{bad}\" is not."))
                        .at(self.span(file, &a.value)),
                );
                return;
            }
        }
        if let Some(a) = block.body.get_attribute("version") {
            // The legacy in-block constraint: still honoured, with Terraform's deprecation
            // warning. An unknown provider's constraint is left to the unknown-provider error.
            self.error(
                Diagnostic::warning("Version constraints inside provider configuration blocks are deprecated")
                    .detail("Terraform 0.13 and earlier allowed provider version constraints inside the provider configuration block, but that is now deprecated and will be removed in a future version of Terraform. To silence this warning, move the provider version constraint into the required_providers block.")
                    .at(self.span(file, &a.key)),
            );
            if let Some(text) = self.literal_string(file, a) {
                let span = self.span(file, &a.value);
                if let Some(d) = unmet_provider_version(&name, &text, span) {
                    self.error(d);
                }
            }
        }
        let body = self.body(file, &block.body, &["alias", "version"], &[]);
        let span = self.header_span(file, block);
        if !module.path.is_root() {
            // Only the root module declares configurations. Terraform keeps provider blocks in
            // child modules only for "legacy modules" (they make the module impossible to
            // remove, and to call with count or for_each) and tells authors to take them as
            // configuration_aliases instead; dropping one would make its resources with the
            // root's project and region.
            self.error(
                Diagnostic::error("Provider configurations in child modules are not supported")
                    .detail(format!("This \"{name}\" configuration is in module {}; Cairn configures providers only in the root module, as Terraform recommends (provider blocks in called modules are its \"legacy modules\").", module.path))
                    .help(format!("move the provider block to the root module; pass it to the module with providers = {{ {name} = {name}.ALIAS }}, declared in the module's required_providers configuration_aliases"))
                    .at(span),
            );
            return;
        }
        if let Some(first) = module.providers.iter().find(|p| p.name == name && p.alias == alias) {
            let what = match &alias {
                Some(a) => format!("provider \"{name}\" with alias \"{a}\""),
                None => format!("default provider \"{name}\""),
            };
            self.error(
                Diagnostic::error(format!("Duplicate {what} configuration"))
                    .detail(self.first_defined(first.span))
                    .help("give additional configurations an alias = \"…\" and select them with provider = NAME.ALIAS")
                    .at(span),
            );
            return;
        }
        module.providers.push(ProviderBlock { name, alias, body, span });
    }

    /// The planner does not evaluate resource and output conditions yet; accepting them would
    /// let a failing one pass without a word (issue 14 §6), so each is refused where written.
    fn refuse_unenforced_condition(&mut self, file: FileId, block: &Block) {
        let kind = block.ident.value().as_str();
        self.error(
            Diagnostic::error(format!("{kind} blocks are not supported yet"))
                .detail(format!(
                    "Cairn does not evaluate a {kind} yet, so this one would never stop a plan or an apply."
                ))
                .help("use a check block's assert, or a variable validation, which Cairn evaluates")
                .at(self.span(file, &block.ident)),
        );
    }

    fn condition(&mut self, file: FileId, block: &Block) -> Option<Condition> {
        self.labels(file, block, &[])?;
        let kind = block.ident.value().as_str().to_string();
        let parts = self.parts(file, &block.body);
        let mut condition = None;
        let mut message = None;
        for (name, a) in &parts.attrs {
            match name.as_str() {
                "condition" => condition = Some(self.expr(file, &a.value)),
                "error_message" => message = Some(self.expr(file, &a.value)),
                _ => self.unexpected_attr(file, a, &kind, &["condition", "error_message"]),
            }
        }
        for b in &parts.blocks {
            self.unexpected_block(file, b, &kind, &[]);
        }
        let span = self.block_span(file, block);
        let header = self.header_span(file, block);
        match (condition, message) {
            (Some(condition), Some(error_message)) => Some(Condition { condition, error_message, span }),
            (c, _) => {
                let missing = if c.is_none() { "condition" } else { "error_message" };
                self.error(
                    Diagnostic::error(format!("Missing required argument \"{missing}\""))
                        .detail(format!("A {kind} block needs both condition and error_message."))
                        .at(header),
                );
                None
            }
        }
    }

    fn depends_on(&mut self, file: FileId, attr: &hcl_edit::structure::Attribute) -> Vec<Expr> {
        self.reference_list(file, attr, "A depends_on item must be a reference to a resource, data source or module, like google_storage_bucket.logs or module.network.")
    }

    /// A list of plain references (depends_on, replace_triggered_by).
    fn reference_list(&mut self, file: FileId, attr: &hcl_edit::structure::Attribute, explain: &str) -> Vec<Expr> {
        let name = attr.key.value().as_str().to_string();
        let Expression::Array(items) = &attr.value else {
            self.error(
                Diagnostic::error(format!("Invalid {name}"))
                    .detail(format!("{name} must be a list of references, like [google_storage_bucket.logs]."))
                    .at(self.span(file, &attr.value)),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items.iter() {
            match item {
                Expression::Traversal(t) if matches!(t.expr, Expression::Variable(_)) => {
                    out.push(self.expr(file, item))
                }
                _ => self.error(
                    Diagnostic::error(format!("Invalid {name} reference"))
                        .detail(explain.to_string())
                        .help("write the reference without quotes or functions")
                        .at(self.span(file, item)),
                ),
            }
        }
        out
    }

    fn variable_block(&mut self, file: FileId, block: &Block, module: &mut Module) {
        let Some(labels) = self.labels(file, block, &["name"]) else { return };
        let name = labels.into_iter().next().unwrap_or_default();
        let span = self.header_span(file, block);
        if RESERVED_VARIABLE_NAMES.contains(&name.as_str()) {
            self.error(
                Diagnostic::error(format!("Invalid variable name \"{name}\""))
                    .detail(format!(
                        "The name \"{name}\" is reserved because it has a special meaning in module blocks."
                    ))
                    .at(self.label_span(file, block, 0)),
            );
            return;
        }
        let mut default_span = None;
        let mut var = Variable {
            name: name.clone(),
            ty: types::TypeConstraint::Any,
            default: None,
            description: None,
            sensitive: false,
            nullable: true,
            validations: Vec::new(),
            span,
        };
        const ALLOWED: &[&str] = &["type", "default", "description", "sensitive", "nullable", "validation"];
        let parts = self.parts(file, &block.body);
        for (attr_name, a) in &parts.attrs {
            match attr_name.as_str() {
                "type" => match types::parse_type(&a.value) {
                    Ok(t) => var.ty = t,
                    Err(m) => self.error(
                        Diagnostic::error("Invalid type specification")
                            .detail(m)
                            .help("types are written like string, number, bool, list(string), map(number) or object({ name = string })")
                            .at(self.span(file, &a.value)),
                    ),
                },
                "default" => {
                    default_span = Some(self.span(file, &a.value));
                    let e = self.expr(file, &a.value);
                    if let Some(r) = refs::expr_references(&e).first() {
                        self.error(
                            Diagnostic::error("Variables not allowed")
                                .detail(format!("A variable's default can't refer to \"{}\": defaults must be literal values.", r.root))
                                .help("use a local value to compute a value from other values")
                                .at(r.span),
                        );
                    } else {
                        var.default = Some(e);
                    }
                }
                "description" => var.description = self.literal_string(file, a),
                "sensitive" => var.sensitive = self.literal_bool(file, a).unwrap_or(false),
                "nullable" => var.nullable = self.literal_bool(file, a).unwrap_or(true),
                _ => self.unexpected_attr(file, a, "variable", ALLOWED),
            }
        }
        // A sensitive variable's literal default is a secret written in the .tf file: no
        // diagnostic may quote the lines around it (a type error on that very default would).
        if let (true, Some(at)) = (var.sensitive, default_span) {
            self.sources.mark_secret(at);
        }
        for b in &parts.blocks {
            if b.ident.value().as_str() == "validation" {
                if let Some(c) = self.condition(file, b) {
                    for r in refs::expr_references(&c.condition) {
                        if r.root != RefRoot::Var(name.clone()) {
                            self.error(
                                Diagnostic::error("Invalid reference in variable validation")
                                    .detail(format!("The condition for variable \"{name}\" can only refer to the variable itself, using var.{name}; \"{}\" is not allowed here.", r.root))
                                    .at(r.span),
                            );
                        }
                    }
                    var.validations.push(c);
                }
            } else {
                self.unexpected_block(file, b, "variable", ALLOWED);
            }
        }
        if let Some(first) = module.variables.get(&name) {
            self.error(
                Diagnostic::error(format!("Duplicate variable \"{name}\""))
                    .detail(self.first_defined(first.span))
                    .at(span),
            );
            return;
        }
        module.variables.insert(name, var);
    }

    fn locals_block(&mut self, file: FileId, block: &Block, module: &mut Module) {
        if self.labels(file, block, &[]).is_none() {
            return;
        }
        let parts = self.parts(file, &block.body);
        for b in &parts.blocks {
            self.error(
                Diagnostic::error("Unsupported block type")
                    .detail("A locals block contains only name = value arguments.")
                    .help(format!("to define an object, write {} = {{ … }}", b.ident.value().as_str()))
                    .at(self.span(file, &b.ident)),
            );
        }
        for (name, a) in &parts.attrs {
            let span = self.attr_span(file, a);
            if let Some(first) = module.locals.get(name) {
                self.error(
                    Diagnostic::error(format!("Duplicate local value \"{name}\""))
                        .detail(self.first_defined(first.span))
                        .at(self.span(file, &a.key)),
                );
                continue;
            }
            module.locals.insert(name.clone(), Local { name: name.clone(), expr: self.expr(file, &a.value), span });
        }
    }

    fn resource_block(&mut self, file: FileId, block: &Block, mode: ResourceMode, module: &mut Module) {
        let kind = block.ident.value().as_str();
        let Some(labels) = self.labels(file, block, &["type", "name"]) else { return };
        let (type_name, name) = (labels[0].clone(), labels[1].clone());
        let span = self.header_span(file, block);
        let type_span = self.label_span(file, block, 0);
        const META_ATTRS: &[&str] = &["count", "for_each", "depends_on", "provider"];
        const META_BLOCKS: &[&str] = &["lifecycle", "timeouts", "provisioner", "connection"];
        let body = self.body(file, &block.body, META_ATTRS, META_BLOCKS);
        let mut res = ResourceBlock {
            mode,
            type_name: type_name.clone(),
            name: name.clone(),
            count: None,
            for_each: None,
            depends_on: Vec::new(),
            provider: None,
            provider_span: None,
            lifecycle: Lifecycle::default(),
            timeouts: Timeouts::default(),
            body,
            span,
            type_span,
        };
        for s in block.body.iter() {
            match s {
                Structure::Attribute(a) => match a.key.value().as_str() {
                    "count" => res.count = Some(self.expr(file, &a.value)),
                    "for_each" => res.for_each = Some(self.expr(file, &a.value)),
                    "depends_on" => res.depends_on = self.depends_on(file, a),
                    "provider" => {
                        if let Some((p, span)) = self.provider_ref(file, a) {
                            (res.provider, res.provider_span) = (Some(p), Some(span));
                        }
                    }
                    _ => {}
                },
                Structure::Block(b) => match b.ident.value().as_str() {
                    "lifecycle" => {
                        if let Some(first) = res.lifecycle.span {
                            self.error(Diagnostic::error("Duplicate lifecycle block").detail(self.first_defined(first)).at(self.span(file, &b.ident)));
                        } else {
                            res.lifecycle = self.lifecycle(file, b, mode);
                        }
                    }
                    "timeouts" => res.timeouts = self.timeouts(file, b),
                    "provisioner" | "connection" => self.error(
                        Diagnostic::error(format!("{} blocks are not supported", capitalize(b.ident.value().as_str())))
                            .detail("Cairn does not run provisioners; use a startup script, or a separate tool, to configure what you create.")
                            .at(self.span(file, &b.ident)),
                    ),
                    _ => {}
                },
            }
        }
        if let (Some(_), Some(fe)) = (&res.count, &res.for_each) {
            self.error(
                Diagnostic::error("Invalid combination of \"count\" and \"for_each\"")
                    .detail("The \"count\" and \"for_each\" meta-arguments are mutually exclusive; use only one to say how many instances to create.")
                    .at(fe.span),
            );
        }
        if refs::RESERVED_ROOTS.contains(&type_name.as_str()) {
            self.error(
                Diagnostic::error(format!("Invalid resource type \"{type_name}\""))
                    .detail(format!("\"{type_name}\" is a reserved name and can't be used as a resource type."))
                    .at(type_span),
            );
        }
        let key = ResourceAddr { module: module.path.clone(), mode, type_name: type_name.clone(), name: name.clone() }
            .local_key();
        if let Some(first) = module.resources.get(&key) {
            self.error(
                Diagnostic::error(format!("Duplicate {kind} \"{type_name}\" \"{name}\""))
                    .detail(format!(
                        "{} Each {kind} block needs a unique type and name.",
                        self.first_defined(first.span)
                    ))
                    .at(span),
            );
            return;
        }
        module.resources.insert(key, res);
    }

    /// A module call's `providers = { google = google.other, google.eu = google }`: which of
    /// the caller's configurations each of the module's is. Whether each side exists is
    /// checked once every module is loaded ([`Loader::check_passed_providers`]).
    fn module_providers(&mut self, file: FileId, attr: &hcl_edit::structure::Attribute) -> Vec<PassedProvider> {
        let Expression::Object(items) = &attr.value else {
            self.error(
                Diagnostic::error("Invalid providers argument")
                    .detail("A module's providers argument is a map like { google = google.other }.")
                    .at(self.span(file, &attr.value)),
            );
            return Vec::new();
        };
        let mut out: Vec<PassedProvider> = Vec::new();
        for (k, v) in items.iter() {
            let child = match k {
                hcl_edit::expr::ObjectKey::Ident(i) => Some((i.value().as_str().to_string(), None)),
                hcl_edit::expr::ObjectKey::Expression(e) => provider_reference(e),
            };
            let child_span = match k {
                hcl_edit::expr::ObjectKey::Ident(i) => self.span(file, i),
                hcl_edit::expr::ObjectKey::Expression(e) => self.span(file, e),
            };
            let parent_span = self.span(file, v.expr());
            let (Some(child), Some(parent)) = (child, provider_reference(v.expr())) else {
                self.error(
                    Diagnostic::error("Invalid providers entry")
                        .detail("Each entry maps a configuration of the module to one of the caller's, without quotes: google = google.other, or google.eu = google.")
                        .at(Span { end: parent_span.end, ..child_span }),
                );
                continue;
            };
            let (child, parent) = (config_key(child), config_key(parent));
            if let Some(first) = out.iter().find(|p| p.child == child) {
                self.error(
                    Diagnostic::error(format!("Duplicate providers entry for {child}"))
                        .detail(self.first_defined(first.child_span))
                        .at(child_span),
                );
                continue;
            }
            out.push(PassedProvider { child, parent, child_span, parent_span });
        }
        out
    }

    /// `provider = google` or `provider = google.europe`, with where it is written.
    fn provider_ref(&mut self, file: FileId, attr: &hcl_edit::structure::Attribute) -> Option<(String, Span)> {
        let span = self.span(file, &attr.value);
        let parsed = provider_reference(&attr.value).map(config_key);
        if parsed.is_none() {
            let mut d = Diagnostic::error("Invalid provider reference")
                .detail("A provider is selected with its name and optional alias, like provider = google or provider = google.europe.")
                .at(span);
            if let Expression::String(s) = &attr.value {
                d = d.help(format!("remove the quotes: provider = {}", s.value()));
            }
            self.error(d);
        }
        parsed.map(|p| (p, span))
    }

    fn lifecycle(&mut self, file: FileId, block: &Block, mode: ResourceMode) -> Lifecycle {
        let mut lc = Lifecycle { span: Some(self.block_span(file, block)), ..Lifecycle::default() };
        self.labels(file, block, &[]);
        let allowed_attrs: &[&str] = match mode {
            ResourceMode::Managed => {
                &["create_before_destroy", "prevent_destroy", "ignore_changes", "replace_triggered_by"]
            }
            ResourceMode::Data => &[],
        };
        let allowed_blocks = ["precondition", "postcondition"];
        let parts = self.parts(file, &block.body);
        for (name, a) in &parts.attrs {
            if !allowed_attrs.contains(&name.as_str()) {
                let context = if mode == ResourceMode::Data { "data source's lifecycle" } else { "lifecycle" };
                self.unexpected_attr(file, a, context, allowed_attrs);
                continue;
            }
            match name.as_str() {
                "create_before_destroy" => lc.create_before_destroy = self.literal_bool(file, a).unwrap_or(false),
                "prevent_destroy" => lc.prevent_destroy = self.literal_bool(file, a).unwrap_or(false),
                "ignore_changes" => lc.ignore_changes = self.ignore_changes(file, a),
                _ => {
                    lc.replace_triggered_by = self.reference_list(
                        file,
                        a,
                        "A replace_triggered_by item must be a reference to a resource or one of its attributes, like google_compute_instance.app.id.",
                    )
                }
            }
        }
        for b in &parts.blocks {
            match b.ident.value().as_str() {
                "precondition" => {
                    self.refuse_unenforced_condition(file, b);
                    lc.preconditions.extend(self.condition(file, b));
                }
                "postcondition" => {
                    self.refuse_unenforced_condition(file, b);
                    lc.postconditions.extend(self.condition(file, b));
                }
                _ => self.unexpected_block(file, b, "lifecycle", &allowed_blocks),
            }
        }
        lc
    }

    fn ignore_changes(&mut self, file: FileId, attr: &hcl_edit::structure::Attribute) -> IgnoreChanges {
        match &attr.value {
            Expression::Variable(v) if v.value().as_str() == "all" => IgnoreChanges::All,
            Expression::String(s) if s.value() == "all" => IgnoreChanges::All,
            Expression::Array(items) => {
                let mut paths = Vec::new();
                for item in items.iter() {
                    let span = self.span(file, item);
                    let path = match item {
                        Expression::Variable(v) => Some(AttrPath::attr(v.value().as_str())),
                        Expression::String(s) => AttrPath::parse(s.value()),
                        Expression::Traversal(t) => traversal_attr_path(t),
                        _ => None,
                    };
                    match path {
                        Some(p) if !p.0.is_empty() => paths.push((p, span)),
                        _ => self.error(
                            Diagnostic::error("Invalid ignore_changes item")
                                .detail("Each item is an attribute of this resource, like labels, or settings[0].tier.")
                                .at(span),
                        ),
                    }
                }
                IgnoreChanges::Paths(paths)
            }
            other => {
                self.error(
                    Diagnostic::error("Invalid ignore_changes")
                        .detail("ignore_changes is a list of attributes, like [labels, tags], or the keyword all.")
                        .at(self.span(file, other)),
                );
                IgnoreChanges::None
            }
        }
    }

    fn timeouts(&mut self, file: FileId, block: &Block) -> Timeouts {
        let mut t = Timeouts::default();
        self.labels(file, block, &[]);
        const ALLOWED: &[&str] = &["create", "update", "delete", "read"];
        let parts = self.parts(file, &block.body);
        for b in &parts.blocks {
            self.unexpected_block(file, b, "timeouts", &[]);
        }
        for (name, a) in &parts.attrs {
            if !ALLOWED.contains(&name.as_str()) {
                self.unexpected_attr(file, a, "timeouts", ALLOWED);
                continue;
            }
            let Some(text) = self.literal_string(file, a) else { continue };
            let d = match parse_duration(&text) {
                Ok(d) => d,
                Err(m) => {
                    self.error(
                        Diagnostic::error(format!("Invalid duration \"{text}\""))
                            .detail(format!("{}.", capitalize(&m)))
                            .help("write a duration like \"20m\", \"1h30m\" or \"90s\" (units: h, m, s, ms)")
                            .at(self.span(file, &a.value)),
                    );
                    continue;
                }
            };
            match name.as_str() {
                "create" => t.create = Some(d),
                "update" => t.update = Some(d),
                "delete" => t.delete = Some(d),
                _ => t.read = Some(d),
            }
        }
        t
    }

    fn output_block(&mut self, file: FileId, block: &Block, module: &mut Module) {
        let Some(labels) = self.labels(file, block, &["name"]) else { return };
        let name = labels.into_iter().next().unwrap_or_default();
        let span = self.header_span(file, block);
        const ALLOWED: &[&str] = &["value", "description", "sensitive", "depends_on", "precondition"];
        let parts = self.parts(file, &block.body);
        let mut value = None;
        let mut description = None;
        let mut sensitive = false;
        let mut depends_on = Vec::new();
        let mut preconditions = Vec::new();
        for (attr_name, a) in &parts.attrs {
            match attr_name.as_str() {
                "value" => value = Some(self.expr(file, &a.value)),
                "description" => description = self.literal_string(file, a),
                "sensitive" => sensitive = self.literal_bool(file, a).unwrap_or(false),
                "depends_on" => depends_on = self.depends_on(file, a),
                _ => self.unexpected_attr(file, a, "output", ALLOWED),
            }
        }
        for b in &parts.blocks {
            if b.ident.value().as_str() == "precondition" {
                self.refuse_unenforced_condition(file, b);
                preconditions.extend(self.condition(file, b));
            } else {
                self.unexpected_block(file, b, "output", ALLOWED);
            }
        }
        let Some(expr) = value else {
            self.error(
                Diagnostic::error("Missing required argument \"value\"")
                    .detail("An output block needs value = <expression>.")
                    .at(span),
            );
            return;
        };
        if let Some(first) = module.outputs.get(&name) {
            self.error(
                Diagnostic::error(format!("Duplicate output \"{name}\""))
                    .detail(self.first_defined(first.span))
                    .at(span),
            );
            return;
        }
        module
            .outputs
            .insert(name.clone(), Output { name, expr, description, sensitive, depends_on, preconditions, span });
    }

    /// Returns the call's name and source span when the child module should be loaded.
    fn module_block(&mut self, file: FileId, block: &Block, module: &mut Module) -> Option<(String, Span)> {
        let labels = self.labels(file, block, &["name"])?;
        let name = labels.into_iter().next().unwrap_or_default();
        let span = self.header_span(file, block);
        let parts = self.parts(file, &block.body);
        let mut source = None;
        let mut version = None;
        let mut inputs = IndexMap::new();
        let mut depends_on = Vec::new();
        let mut providers = Vec::new();
        let (mut count, mut for_each) = (None, None);
        for (attr_name, a) in &parts.attrs {
            match attr_name.as_str() {
                "source" => source = self.literal_string(file, a).map(|s| (s, self.span(file, &a.value))),
                "version" => version = self.literal_string(file, a).map(|s| (s, self.span(file, &a.value))),
                "count" => count = Some((self.expr(file, &a.value), self.span(file, &a.key))),
                "for_each" => for_each = Some((self.expr(file, &a.value), self.span(file, &a.key))),
                "depends_on" => depends_on = self.depends_on(file, a),
                "providers" => providers = self.module_providers(file, a),
                _ => {
                    inputs.insert(attr_name.clone(), self.attribute(file, a));
                }
            }
        }
        for b in &parts.blocks {
            self.error(
                Diagnostic::error("Unsupported block type")
                    .detail(format!(
                        "A module block only has arguments (the module's inputs), not \"{}\" blocks.",
                        b.ident.value().as_str()
                    ))
                    .at(self.span(file, &b.ident)),
            );
        }
        if let (Some(_), Some((_, fe_span))) = (&count, &for_each) {
            self.error(
                Diagnostic::error("Invalid combination of \"count\" and \"for_each\"")
                    .detail(format!("Module \"{name}\" sets both; the \"count\" and \"for_each\" meta-arguments are mutually-exclusive, only one should be used to be explicit about the number of module instances."))
                    .help("keep one of them")
                    .at(*fe_span),
            );
        }
        let (count, for_each) = (count.map(|c| c.0), for_each.map(|f| f.0));
        let Some((source, source_span)) = source else {
            if !parts.attrs.contains_key("source") {
                self.error(
                    Diagnostic::error("Missing required argument \"source\"")
                        .detail("A module block needs source = \"./path/to/module\".")
                        .at(span),
                );
            }
            return None;
        };
        if let Some(first) = module.module_calls.get(&name) {
            self.error(
                Diagnostic::error(format!("Duplicate module call \"{name}\""))
                    .detail(self.first_defined(first.span))
                    .at(span),
            );
            return None;
        }
        let dir = self.module_call_dir(module, &name, &source, source_span, version);
        // A call whose source could not be resolved is still declared, so that references to
        // it add no second error; it is not loaded.
        let load = dir.is_some();
        module.module_calls.insert(
            name.clone(),
            ModuleCall {
                name: name.clone(),
                source,
                source_span,
                dir: dir.unwrap_or_default(),
                inputs,
                count,
                for_each,
                depends_on,
                providers,
                span,
            },
        );
        load.then_some((name, source_span))
    }

    /// Where a module call's code is: a local path joined to the calling module's directory
    /// (kept inside the package when the caller came from one), or a remote source's cached
    /// package as the resolver finds it.
    fn module_call_dir(
        &mut self,
        module: &Module,
        name: &str,
        source: &str,
        source_span: Span,
        version: Option<(String, Span)>,
    ) -> Option<PathBuf> {
        let parsed = match module_source::parse(source) {
            Ok(p) => p,
            Err(e) => {
                let mut d = Diagnostic::error(e.summary).detail(e.detail).at(source_span);
                if let Some(h) = e.help {
                    d = d.help(h);
                }
                self.error(d);
                return None;
            }
        };
        let constraint = match (&parsed, &version) {
            (ModuleSource::Registry(_), Some((text, span))) => match VersionConstraint::parse(text) {
                Ok(c) => Some(c),
                Err(e) => {
                    self.error(
                        Diagnostic::error("Invalid version constraint")
                            .detail(format!("{e}."))
                            .help("write constraints like \">= 1.2.0, < 2.0.0\" or \"~> 1.2\"")
                            .at(*span),
                    );
                    return None;
                }
            },
            (_, Some((_, span))) => {
                self.error(
                    Diagnostic::error("Version constraint on a non-registry module")
                        .detail(format!("\"version\" applies only to registry modules (NAMESPACE/NAME/PROVIDER); \"{source}\" is not one."))
                        .help("remove version; a git source selects its version with ?ref=TAG in the source")
                        .at(*span),
                );
                return None;
            }
            _ => None,
        };
        let child = module.path.child(name);
        if let ModuleSource::Local(rel) = &parsed {
            let dir = normalize(&module.dir.join(rel));
            if let Some(root) = self.packages.get(&module.path).cloned() {
                if !dir.starts_with(&root) {
                    self.error(
                        Diagnostic::error("Local module path escapes its package")
                            .detail(format!("This module was fetched from a remote source; \"{source}\" leads outside the package it came in ({}).", root.display()))
                            .help("a module from git or a registry can call local paths inside its own repository or archive only")
                            .at(source_span),
                    );
                    return None;
                }
                self.packages.insert(child, root);
            }
            return Some(dir);
        }
        let request = ModuleRequest {
            key: child.0.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join("."),
            source_text: source,
            source: &parsed,
            version_text: version.as_ref().map(|(t, _)| t.as_str()),
            version: constraint.as_ref(),
        };
        match self.resolver.resolve(&request) {
            Ok(resolved) => {
                self.packages.insert(child, normalize(&resolved.package_root));
                Some(resolved.dir)
            }
            Err(problem) => {
                let span = match (&version, problem.at_version) {
                    (Some((_, span)), true) => *span,
                    _ => source_span,
                };
                self.error(problem.diagnostic.at(span));
                None
            }
        }
    }

    fn check_block(&mut self, file: FileId, block: &Block, module: &mut Module) {
        let Some(labels) = self.labels(file, block, &["name"]) else { return };
        let name = labels.into_iter().next().unwrap_or_default();
        let span = self.header_span(file, block);
        let parts = self.parts(file, &block.body);
        for a in parts.attrs.values() {
            self.unexpected_attr(file, a, "check", &["assert"]);
        }
        let mut asserts = Vec::new();
        for b in &parts.blocks {
            match b.ident.value().as_str() {
                "assert" => asserts.extend(self.condition(file, b)),
                "data" => self.error(
                    Diagnostic::error("Nested data blocks in check blocks are not supported")
                        .help(
                            "declare the data source at the top level of the module and refer to it from the assertion",
                        )
                        .at(self.header_span(file, b)),
                ),
                _ => self.unexpected_block(file, b, "check", &["assert"]),
            }
        }
        if asserts.is_empty() && !parts.blocks.iter().any(|b| b.ident.value().as_str() == "assert") {
            self.error(
                Diagnostic::error("Missing assert block")
                    .detail("A check block needs at least one assert { condition = … error_message = … } block.")
                    .at(span),
            );
        }
        if let Some(first) = module.checks.get(&name) {
            self.error(
                Diagnostic::error(format!("Duplicate check \"{name}\""))
                    .detail(self.first_defined(first.span))
                    .at(span),
            );
            return;
        }
        module.checks.insert(name.clone(), CheckBlock { name, asserts, span });
    }

    fn moved_block(&mut self, file: FileId, block: &Block, module: &mut Module) {
        if self.labels(file, block, &[]).is_none() {
            return;
        }
        let span = self.header_span(file, block);
        let parts = self.parts(file, &block.body);
        for b in &parts.blocks {
            self.unexpected_block(file, b, "moved", &[]);
        }
        let mut from = None;
        let mut to = None;
        for (name, a) in &parts.attrs {
            match name.as_str() {
                "from" => from = self.address(file, &a.value).map(|x| (x, self.span(file, &a.value))),
                "to" => to = self.address(file, &a.value).map(|x| (x, self.span(file, &a.value))),
                _ => self.unexpected_attr(file, a, "moved", &["from", "to"]),
            }
        }
        for needed in ["from", "to"] {
            if !parts.attrs.contains_key(needed) {
                self.error(
                    Diagnostic::error(format!("Missing required argument \"{needed}\""))
                        .detail("A moved block needs from = OLD_ADDRESS and to = NEW_ADDRESS.")
                        .at(span),
                );
            }
        }
        let (Some((from, from_span)), Some((to, to_span))) = (from, to) else { return };
        let kind = |a: &AnyAddr| match a {
            AnyAddr::Module(_) => "a module",
            AnyAddr::Resource(_) | AnyAddr::Instance(_) => "a resource",
        };
        if kind(&from) != kind(&to) {
            self.error(
                Diagnostic::error("Invalid moved block")
                    .detail(format!(
                        "\"from\" is {} address but \"to\" is {} address; a move can't change the kind of object.",
                        kind(&from),
                        kind(&to)
                    ))
                    .at(to_span),
            );
            return;
        }
        if let (AnyAddr::Resource(a), AnyAddr::Resource(b))
        | (
            AnyAddr::Instance(InstanceAddr { resource: a, .. }),
            AnyAddr::Instance(InstanceAddr { resource: b, .. }),
        ) = (&from, &to)
        {
            if a.type_name != b.type_name || a.mode != b.mode {
                self.error(
                    Diagnostic::error("Invalid moved block")
                        .detail(format!(
                            "A resource can't move to a different type ({} to {}).",
                            a.type_name, b.type_name
                        ))
                        .at(to_span),
                );
                return;
            }
        }
        if from == to {
            self.error(
                Diagnostic::error("Redundant moved block")
                    .detail("\"from\" and \"to\" are the same address.")
                    .at(to_span),
            );
            return;
        }
        module.moved.push(Moved { from, to, from_span, to_span, span });
    }

    /// `removed { from = ADDRESS  lifecycle { destroy = BOOL } }` (Terraform 1.7).
    fn removed_block(&mut self, file: FileId, block: &Block, module: &mut Module) {
        if self.labels(file, block, &[]).is_none() {
            return;
        }
        let span = self.header_span(file, block);
        let parts = self.parts(file, &block.body);
        let mut destroy = true;
        for b in &parts.blocks {
            match b.ident.value().as_str() {
                "lifecycle" => {
                    let inner = self.parts(file, &b.body);
                    for ib in &inner.blocks {
                        self.unexpected_block(file, ib, "lifecycle", &[]);
                    }
                    for (name, a) in &inner.attrs {
                        match name.as_str() {
                            "destroy" => {
                                if let Some(v) = self.literal_bool(file, a) {
                                    destroy = v;
                                }
                            }
                            _ => self.unexpected_attr(file, a, "lifecycle", &["destroy"]),
                        }
                    }
                }
                "provisioner" | "connection" => self.error(
                    Diagnostic::error(format!("{} blocks are not supported", capitalize(b.ident.value().as_str())))
                        .detail("Cairn runs no provisioners, so a destroy-time provisioner here would never run.")
                        .at(self.span(file, &b.ident)),
                ),
                _ => self.unexpected_block(file, b, "removed", &["lifecycle"]),
            }
        }
        let mut from = None;
        for (name, a) in &parts.attrs {
            match name.as_str() {
                "from" => from = self.address(file, &a.value).map(|x| (x, self.span(file, &a.value))),
                _ => self.unexpected_attr(file, a, "removed", &["from"]),
            }
        }
        if !parts.attrs.contains_key("from") {
            self.error(
                Diagnostic::error("Missing required argument \"from\"")
                    .detail("A removed block needs from = ADDRESS: the resource or module that left the configuration.")
                    .at(span),
            );
        }
        let Some((from, from_span)) = from else { return };
        let keyed_module = |m: &ModulePath| m.0.iter().any(|s| s.key != InstanceKey::None);
        let names_instances = match &from {
            AnyAddr::Instance(_) => true,
            AnyAddr::Resource(r) => keyed_module(&r.module),
            AnyAddr::Module(m) => keyed_module(m),
        };
        if names_instances {
            // Terraform: a removed block forgets every instance of a resource, never one.
            self.error(
                Diagnostic::error("Invalid removed address")
                    .detail("\"from\" names a resource or a module, without an instance key: every instance leaves state together.")
                    .help("write the resource's address without [\u{2026}], or use `cairn state rm ADDRESS[KEY]` for one instance")
                    .at(from_span),
            );
            return;
        }
        module.removed.push(Removed { from, destroy, from_span, span });
    }

    fn import_block(&mut self, file: FileId, block: &Block, module: &mut Module) {
        if self.labels(file, block, &[]).is_none() {
            return;
        }
        let span = self.header_span(file, block);
        let parts = self.parts(file, &block.body);
        for b in &parts.blocks {
            self.unexpected_block(file, b, "import", &[]);
        }
        let mut to = None;
        let mut id = None;
        let mut key = None;
        let for_each = parts.attrs.get("for_each").map(|a| self.expr(file, &a.value));
        for (name, a) in &parts.attrs {
            match name.as_str() {
                "to" if for_each.is_some() => {
                    let to_span = self.span(file, &a.value);
                    // `to = TYPE.NAME[each.key]`: the address, and the expression naming each
                    // element's instance.
                    let split = match &a.value {
                        Expression::Traversal(t) => match t.operators.split_last() {
                            Some((last, rest)) => match last.value() {
                                TraversalOperator::Index(k) => Some((
                                    Expression::Traversal(Box::new(hcl_edit::expr::Traversal::new(
                                        t.expr.clone(),
                                        rest.to_vec(),
                                    ))),
                                    k.clone(),
                                )),
                                _ => None,
                            },
                            None => None,
                        },
                        _ => None,
                    };
                    let Some((addr_expr, key_expr)) = split else {
                        self.error(
                            Diagnostic::error("Invalid import address")
                                .detail("With for_each, \"to\" names one instance per element, like google_storage_bucket.b[each.key].")
                                .at(to_span),
                        );
                        continue;
                    };
                    match traversal_address(&addr_expr) {
                        Ok(AnyAddr::Resource(r)) => {
                            to = Some((r.instance(InstanceKey::None), to_span));
                            key = Some(self.expr(file, &key_expr));
                        }
                        Ok(_) => self.error(
                            Diagnostic::error("Invalid import address")
                                .detail("With for_each, \"to\" is a resource address followed by the instance key, like google_storage_bucket.b[each.key].")
                                .at(to_span),
                        ),
                        Err(why) => self.error(Diagnostic::error("Invalid import address").detail(format!("{why}.")).at(to_span)),
                    }
                }
                "to" => {
                    let to_span = self.span(file, &a.value);
                    match self.address(file, &a.value) {
                        Some(AnyAddr::Instance(i)) => to = Some((i, to_span)),
                        Some(AnyAddr::Resource(r)) => to = Some((r.instance(InstanceKey::None), to_span)),
                        Some(AnyAddr::Module(_)) => self.error(
                            Diagnostic::error("Invalid import address")
                                .detail("\"to\" must name a resource, like google_storage_bucket.logs, not a module.")
                                .at(to_span),
                        ),
                        None => {}
                    }
                }
                "id" => id = Some(self.expr(file, &a.value)),
                "for_each" => {}
                "provider" => self.error(
                    Diagnostic::error(format!("\"{name}\" in import blocks is not supported"))
                        .help("write one import block per resource instance")
                        .at(self.span(file, &a.key)),
                ),
                _ => self.unexpected_attr(file, a, "import", &["to", "id", "for_each"]),
            }
        }
        for needed in ["to", "id"] {
            if !parts.attrs.contains_key(needed) {
                self.error(
                    Diagnostic::error(format!("Missing required argument \"{needed}\""))
                        .detail("An import block needs to = RESOURCE_ADDRESS and id = \"…\".")
                        .at(span),
                );
            }
        }
        if let (Some((to, to_span)), Some(id)) = (to, id) {
            // Variables are known before planning (Terraform ≥ 1.6 allows them too); anything
            // a resource computes is not. `each` is the element, with for_each.
            let each = for_each.is_some();
            let allowed = |root: &refs::RefRoot, each_too: bool| {
                matches!(root, refs::RefRoot::Var(_))
                    || (each_too && matches!(root, refs::RefRoot::EachKey | refs::RefRoot::EachValue))
            };
            let checks = [
                ("import id", Some(&id), each),
                ("for_each", for_each.as_ref(), false),
                ("instance key", key.as_ref(), true),
            ];
            for (what, e, each_too) in checks {
                let Some(e) = e else { continue };
                if let Some(r) = refs::expr_references(e).into_iter().find(|r| !allowed(&r.root, each_too)) {
                    let fine =
                        if each_too { "variables and each.key/each.value are fine" } else { "variables are fine" };
                    self.error(
                        Diagnostic::error(format!("Invalid {what}"))
                            .detail(format!("The {what} of an import block can't refer to \"{}\"; it must be known before planning ({fine}).", r.root))
                            .at(r.span),
                    );
                    return;
                }
            }
            let for_each = match (for_each, key) {
                (Some(for_each), Some(key)) => Some(ImportForEach { for_each, key }),
                _ => None,
            };
            module.imports.push(ImportBlock { to, id, for_each, to_span, span });
        }
    }

    /// Converts an address written as a traversal (`module.a.google_x.y["k"]`) to an [`AnyAddr`].
    fn address(&mut self, file: FileId, e: &Expression) -> Option<AnyAddr> {
        let span = self.span(file, e);
        match traversal_address(e) {
            Ok(a) => Some(a),
            Err(why) => {
                self.error(
                    Diagnostic::error("Invalid address")
                        .detail(format!("{why}."))
                        .help("write an address without quotes, like google_storage_bucket.logs, google_storage_bucket.logs[\"a\"] or module.network")
                        .at(span),
                );
                None
            }
        }
    }

    /// The aliased configurations a module may name: the root's `provider` blocks with an
    /// alias, a child's `configuration_aliases` (which its caller passes), each with where it
    /// is declared.
    fn declared_aliases(module: &Module) -> Vec<(String, Span)> {
        if module.path.is_root() {
            module
                .providers
                .iter()
                .filter_map(|p| Some((format!("{}.{}", p.name, p.alias.as_ref()?), p.span)))
                .collect()
        } else {
            module.required_providers.values().flat_map(|r| r.configuration_aliases.iter().cloned()).collect()
        }
    }

    /// A configuration that `module` names (`google`, `google.eu`) must be one it has: a
    /// default one always is (declared or implied, as in Terraform); an aliased one must be
    /// declared ([`Loader::declared_aliases`]). Located at `span`, the reference.
    fn undeclared_configuration(module: &Module, key: &str, what: &str, span: Span) -> Option<Diagnostic> {
        let addr = crate::addr::ProviderConfigAddr::parse(key);
        let alias = addr.alias.as_ref()?;
        let declared = Self::declared_aliases(module);
        if declared.iter().any(|(k, _)| k == key) {
            return None;
        }
        let name = &addr.provider;
        let how = if module.path.is_root() {
            format!("there is no provider \"{name}\" block with alias = \"{alias}\"")
        } else {
            format!(
                "{} does not list {key} in its required_providers' configuration_aliases, so its callers cannot pass it",
                module.path
            )
        };
        let mut d = Diagnostic::error(format!("Provider configuration \"{key}\" not present"))
            .detail(format!("{what} selects provider {key}, but {how}."))
            .at(span);
        let same_provider: Vec<&str> =
            declared.iter().filter_map(|(k, _)| k.strip_prefix(name.as_str())?.strip_prefix('.')).collect();
        d = match suggest(alias, same_provider.iter().copied()) {
            Some(h) => d.help(h),
            None if same_provider.is_empty() => {
                d.help(format!("{name} has no aliased configurations here; declare one, or use provider = {name}"))
            }
            None => d.help(format!(
                "the configurations of {name} here are: {name}, {}",
                same_provider.iter().map(|a| format!("{name}.{a}")).collect::<Vec<_>>().join(", ")
            )),
        };
        Some(d)
    }

    /// A resource or data block may select a configuration only of its own type's provider,
    /// and only one that exists in its module.
    fn check_provider_refs(&mut self, module: &mut Module) {
        let mut problems = Vec::new();
        for res in module.resources.values() {
            let (Some(p), Some(span)) = (&res.provider, res.provider_span) else { continue };
            let kind = match res.mode {
                ResourceMode::Managed => "Resource",
                ResourceMode::Data => "Data source",
            };
            let what = format!("{kind} \"{}\" \"{}\"", res.type_name, res.name);
            let addr = crate::addr::ProviderConfigAddr::parse(p);
            let owner = implied_provider(&res.type_name);
            if addr.provider != owner {
                // Never routed to another provider: it has no such type, and a google type sent
                // through random's configuration would reach no project at all.
                problems.push(
                    Diagnostic::error(format!("Invalid provider configuration for {}", res.type_name))
                        .detail(format!(
                            "{what} selects provider {p}, a configuration of \"{}\"; a {} type is served only by configurations of \"{owner}\".",
                            addr.provider, res.type_name
                        ))
                        .help(format!("select {owner} or one of its aliases, like provider = {owner}.NAME"))
                        .at(span),
                );
                continue;
            }
            problems.extend(Self::undeclared_configuration(module, p, &what, span));
        }
        if module.path.is_root() {
            // Only a caller can pass these, and the root module has none.
            for (key, span) in module.required_providers.values().flat_map(|r| r.configuration_aliases.iter()) {
                let addr = crate::addr::ProviderConfigAddr::parse(key);
                if !module.providers.iter().any(|p| p.name == addr.provider && p.alias == addr.alias) {
                    problems.push(
                        Diagnostic::error(format!("Provider configuration \"{key}\" not present"))
                            .detail(format!("The root module lists {key} in configuration_aliases, which only a calling module can pass; the root module has no caller."))
                            .help(format!("declare it with provider \"{}\" {{ alias = \"{}\" … }}", addr.provider, addr.alias.as_deref().unwrap_or_default()))
                            .at(*span),
                    );
                }
            }
        }
        for d in problems {
            self.error(d);
        }
    }

    /// Every module call's `providers` entries, against the caller's configurations and the
    /// called module's `configuration_aliases`; and every alias a module asks for is passed.
    /// Runs once every module is loaded, as it needs both sides of each call.
    fn check_passed_providers(&mut self) {
        let mut problems = Vec::new();
        for caller in self.modules.values() {
            for call in caller.module_calls.values() {
                let Some(child) = self.modules.get(&caller.path.child(&call.name)) else { continue };
                for e in &call.providers {
                    let (c, p) = (
                        crate::addr::ProviderConfigAddr::parse(&e.child),
                        crate::addr::ProviderConfigAddr::parse(&e.parent),
                    );
                    if c.provider != p.provider {
                        problems.push(
                            Diagnostic::error("Invalid providers entry")
                                .detail(format!(
                                    "{} is a configuration of \"{}\" and {} one of \"{}\": a module's configuration of a provider can only be one of the same provider.",
                                    e.child, c.provider, e.parent, p.provider
                                ))
                                .at(e.parent_span),
                        );
                        continue;
                    }
                    let what = format!("The providers entry {} of module \"{}\"", e.child, call.name);
                    if let Some(d) = Self::undeclared_configuration(caller, &e.parent, &what, e.parent_span) {
                        problems.push(d);
                    }
                    if c.alias.is_some() && !Self::declared_aliases(child).iter().any(|(k, _)| *k == e.child) {
                        let declared: Vec<String> = Self::declared_aliases(child).into_iter().map(|(k, _)| k).collect();
                        let mut d = Diagnostic::error(format!("Module \"{}\" does not use configuration {}", call.name, e.child))
                            .detail(format!(
                                "{} lists no {} in its required_providers' configuration_aliases, so nothing in it would use this configuration.",
                                caller.path.child(&call.name),
                                e.child
                            ))
                            .at(e.child_span);
                        if let Some(h) = suggest(&e.child, declared.iter().map(String::as_str)) {
                            d = d.help(h);
                        }
                        problems.push(d);
                    }
                }
                for (alias, _) in Self::declared_aliases(child) {
                    if call.providers.iter().any(|e| e.child == alias) {
                        continue;
                    }
                    // Terraform's message: an aliased configuration has no default to inherit.
                    let name = crate::addr::ProviderConfigAddr::parse(&alias).provider;
                    problems.push(
                        Diagnostic::error("Missing required provider configuration")
                            .detail(format!(
                                "The child module requires an additional configuration for provider \"{name}\", with the local name \"{alias}\"; an aliased configuration is never inherited."
                            ))
                            .help(format!("add an entry for {alias} in the \"providers\" argument of module \"{}\", like providers = {{ {alias} = {name} }}", call.name))
                            .at(call.span),
                    );
                }
            }
        }
        for d in problems {
            self.error(d);
        }
    }

    /// Every reference in the module must name something declared, and `count`/`each` may only
    /// be used where they have a value.
    fn check_references(&mut self, module: &Module) {
        let where_ = if module.path.is_root() { "the root module".to_string() } else { module.path.to_string() };
        let mut problems = Vec::new();
        let mut check = |r: &refs::Reference, counted: Option<(bool, bool)>, loader: &Loader| {
            let d = match &r.root {
                RefRoot::Var(n) if !module.variables.contains_key(n) => Some(
                    with_suggestion(
                        Diagnostic::error("Reference to undeclared input variable")
                            .detail(format!("An input variable named \"{n}\" is not declared in {where_}."))
                            .help(format!("declare it with variable \"{n}\" {{ }}")),
                        n,
                        module.variables.keys().map(String::as_str),
                    ),
                ),
                RefRoot::Local(n) if !module.locals.contains_key(n) => Some(with_suggestion(
                    Diagnostic::error("Reference to undeclared local value").detail(format!("A local value named \"{n}\" is not declared in {where_}.")),
                    n,
                    module.locals.keys().map(String::as_str),
                )),
                RefRoot::Resource { mode, type_name, name } => {
                    let key = ResourceAddr { module: module.path.clone(), mode: *mode, type_name: type_name.clone(), name: name.clone() }.local_key();
                    if module.resources.contains_key(&key) {
                        None
                    } else {
                        let what = if *mode == ResourceMode::Data { "data source" } else { "resource" };
                        Some(with_suggestion(
                            Diagnostic::error(format!("Reference to undeclared {what}")).detail(format!("A {what} \"{type_name}\" \"{name}\" is not declared in {where_}.")),
                            &key,
                            module.resources.keys().map(String::as_str),
                        ))
                    }
                }
                RefRoot::Module(n) => match module.module_calls.get(n) {
                    None => Some(with_suggestion(
                        Diagnostic::error("Reference to undeclared module").detail(format!("No module call named \"{n}\" is declared in {where_}.")),
                        n,
                        module.module_calls.keys().map(String::as_str),
                    )),
                    Some(call) if call.is_expanded() && !r.attrs.is_empty() => {
                        let out = &r.attrs[0];
                        let (what, example) = if call.count.is_some() {
                            ("count", format!("module.{n}[0].{out}"))
                        } else {
                            ("for_each", format!("module.{n}[\"KEY\"].{out}"))
                        };
                        Some(
                            Diagnostic::error("Unsupported attribute")
                                .detail(format!("Module \"{n}\" has \"{what}\" set, so module.{n} is a {} of module instances, not one module; it has no attribute \"{out}\".", if what == "count" { "list" } else { "map" }))
                                .help(format!("name one instance, like {example}, or use them all, like [for m in module.{n} : m.{out}]")),
                        )
                    }
                    Some(_) => {
                        let child = loader.modules.get(&module.path.child(n));
                        match (child, r.attrs.first()) {
                            (Some(child), Some(out)) if !child.outputs.contains_key(out) => Some(with_suggestion(
                                Diagnostic::error("Unsupported attribute").detail(format!("Module \"{n}\" has no output named \"{out}\".")),
                                out,
                                child.outputs.keys().map(String::as_str),
                            )),
                            _ => None,
                        }
                    }
                },
                RefRoot::CountIndex if counted.is_none_or(|(c, _)| !c) => Some(
                    Diagnostic::error("Reference to \"count\" in non-counted context")
                        .detail("count.index can only be used in a resource, data or module block that sets the \"count\" argument."),
                ),
                RefRoot::EachKey | RefRoot::EachValue if counted.is_none_or(|(_, f)| !f) => Some(
                    Diagnostic::error("Reference to \"each\" in context without for_each")
                        .detail("each.key and each.value can only be used in a resource, data or module block that sets the \"for_each\" argument."),
                ),
                _ => None,
            };
            if let Some(d) = d {
                problems.push(d.at(r.span));
            }
        };
        for res in module.resources.values() {
            let counted = Some((res.count.is_some(), res.for_each.is_some()));
            let mut all = refs::body_references(&res.body);
            for e in
                res.count.iter().chain(&res.for_each).chain(&res.depends_on).chain(&res.lifecycle.replace_triggered_by)
            {
                all.extend(refs::expr_references(e));
            }
            for c in res.lifecycle.preconditions.iter().chain(&res.lifecycle.postconditions) {
                all.extend(refs::expr_references(&c.condition));
                all.extend(refs::expr_references(&c.error_message));
            }
            for r in &all {
                check(r, counted, self);
            }
        }
        for imp in &module.imports {
            let counted = Some((false, imp.for_each.is_some()));
            let mut all = refs::expr_references(&imp.id);
            if let Some(fe) = &imp.for_each {
                all.extend(refs::expr_references(&fe.for_each));
                all.extend(refs::expr_references(&fe.key));
            }
            for r in &all {
                check(r, counted, self);
            }
        }
        let mut plain: Vec<refs::Reference> = Vec::new();
        for p in &module.providers {
            plain.extend(refs::body_references(&p.body));
        }
        for l in module.locals.values() {
            plain.extend(refs::expr_references(&l.expr));
        }
        for o in module.outputs.values() {
            plain.extend(refs::expr_references(&o.expr));
            for e in &o.depends_on {
                plain.extend(refs::expr_references(e));
            }
            for c in &o.preconditions {
                plain.extend(refs::expr_references(&c.condition));
                plain.extend(refs::expr_references(&c.error_message));
            }
        }
        for call in module.module_calls.values() {
            let counted = Some((call.count.is_some(), call.for_each.is_some()));
            for a in call.inputs.values() {
                for r in refs::expr_references(&a.expr) {
                    check(&r, counted, self);
                }
            }
            for e in call.count.iter().chain(&call.for_each) {
                plain.extend(refs::expr_references(e));
            }
            for e in &call.depends_on {
                plain.extend(refs::expr_references(e));
            }
        }
        for c in module.checks.values() {
            for a in &c.asserts {
                plain.extend(refs::expr_references(&a.condition));
                plain.extend(refs::expr_references(&a.error_message));
            }
        }
        for v in module.variables.values() {
            for c in &v.validations {
                plain.extend(
                    refs::expr_references(&c.error_message).into_iter().filter(|r| matches!(r.root, RefRoot::Var(_))),
                );
            }
        }
        for r in &plain {
            check(r, None, self);
        }
        for d in problems {
            self.error(d);
        }
    }
}

fn with_suggestion<'a>(d: Diagnostic, name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Diagnostic {
    match suggest(name, candidates) {
        Some(h) => d.help(h),
        None => d,
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// `a.b[0]["k"]` as an attribute path (for ignore_changes).
fn traversal_attr_path(t: &hcl_edit::expr::Traversal) -> Option<AttrPath> {
    let Expression::Variable(root) = &t.expr else { return None };
    let mut path = AttrPath::attr(root.value().as_str());
    for op in &t.operators {
        path = match op.value() {
            TraversalOperator::GetAttr(a) => path.join_attr(a.value().as_str()),
            TraversalOperator::LegacyIndex(n) => path.join_index(i64::try_from(*n.value()).ok()?),
            TraversalOperator::Index(Expression::Number(n)) => path.join_index(n.value().as_i64()?),
            TraversalOperator::Index(Expression::String(s)) => path.join_attr(s.value()),
            _ => return None,
        };
    }
    Some(path)
}

/// Converts a traversal like `module.a.type.name["k"]` to an address. Keys must be literals.
fn traversal_address(e: &Expression) -> Result<AnyAddr, String> {
    let (root, ops): (&str, &[hcl_edit::Decorated<TraversalOperator>]) = match e {
        Expression::Traversal(t) => match &t.expr {
            Expression::Variable(v) => (v.value().as_str(), &t.operators[..]),
            _ => return Err("an address starts with a name".into()),
        },
        Expression::Variable(v) => (v.value().as_str(), &[]),
        Expression::String(_) => return Err("an address is written without quotes".into()),
        _ => return Err("expected a resource or module address".into()),
    };
    enum Step {
        Name(String),
        Key(InstanceKey),
    }
    let mut steps = vec![Step::Name(root.to_string())];
    for op in ops {
        steps.push(match op.value() {
            TraversalOperator::GetAttr(a) => Step::Name(a.value().as_str().to_string()),
            TraversalOperator::LegacyIndex(n) => Step::Key(InstanceKey::Int(
                i64::try_from(*n.value()).map_err(|_| "the index is too large".to_string())?,
            )),
            TraversalOperator::Index(Expression::Number(n)) => {
                Step::Key(InstanceKey::Int(n.value().as_i64().ok_or("an index must be a whole number")?))
            }
            TraversalOperator::Index(Expression::String(s)) => Step::Key(InstanceKey::Str(s.value().clone())),
            TraversalOperator::Index(_) => {
                return Err("an instance key must be a literal number or string, like [0] or [\"a\"]".into())
            }
            TraversalOperator::AttrSplat(_) | TraversalOperator::FullSplat(_) => {
                return Err("an address can't contain a splat".into())
            }
        });
    }
    let mut it = steps.into_iter().peekable();
    let mut modules = Vec::new();
    while let Some(Step::Name(n)) = it.peek() {
        if n != "module" {
            break;
        }
        it.next();
        let name = match it.next() {
            Some(Step::Name(m)) => m,
            _ => return Err("\"module\" must be followed by the module's name".into()),
        };
        let key = match it.next_if(|s| matches!(s, Step::Key(_))) {
            Some(Step::Key(k)) => k,
            _ => InstanceKey::None,
        };
        modules.push(crate::addr::ModuleStep { name, key });
    }
    let module = ModulePath(modules);
    let Some(first) = it.next() else { return Ok(AnyAddr::Module(module)) };
    let Step::Name(first) = first else { return Err("expected a resource type".into()) };
    let (mode, type_name) = if first == "data" {
        match it.next() {
            Some(Step::Name(t)) => (ResourceMode::Data, t),
            _ => return Err("\"data\" must be followed by the data source's type and name".into()),
        }
    } else {
        (ResourceMode::Managed, first)
    };
    let Some(Step::Name(name)) = it.next() else {
        return Err(format!("\"{type_name}\" must be followed by the resource's name: {type_name}.NAME"));
    };
    let resource = ResourceAddr { module, mode, type_name, name };
    match it.next() {
        None => Ok(AnyAddr::Resource(resource)),
        Some(Step::Key(key)) => match it.next() {
            None => Ok(AnyAddr::Instance(InstanceAddr { resource, key })),
            Some(_) => Err("an address ends after the instance key; it can't name an attribute".into()),
        },
        Some(Step::Name(a)) => Err(format!("an address names a resource, not an attribute (\".{a}\")")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn write(dir: &Path, files: &[(&str, &str)]) {
        for (name, text) in files {
            let p = dir.join(name);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent).expect("create test dir");
            }
            std::fs::write(p, text).expect("write test file");
        }
    }

    fn load_files(files: &[(&str, &str)]) -> (tempfile::TempDir, Result<Config, Box<LoadError>>) {
        let tmp = tempfile::tempdir().expect("tempdir");
        write(tmp.path(), files);
        let r = load(tmp.path());
        (tmp, r)
    }

    fn ok(files: &[(&str, &str)]) -> Config {
        match load_files(files) {
            (_, Ok(c)) => c,
            (_, Err(e)) => panic!("load failed:\n{e}"),
        }
    }

    /// Rendered diagnostics with the temporary directory replaced by `stack`.
    fn fail(files: &[(&str, &str)]) -> String {
        match load_files(files) {
            (_, Ok(_)) => panic!("load should fail"),
            (tmp, Err(e)) => e.to_string().replace(&tmp.path().display().to_string(), "stack"),
        }
    }

    fn first_location(files: &[(&str, &str)]) -> String {
        match load_files(files) {
            (_, Ok(_)) => panic!("load should fail"),
            (_, Err(e)) => {
                let span = e.diagnostics.0[0].span.expect("diagnostic has a span");
                let loc = e.sources.location(span);
                loc.rsplit('/').next().unwrap_or(&loc).to_string()
            }
        }
    }

    #[test]
    fn a_backend_override_file_replaces_the_stacks_backend() {
        let c = ok(&[
            ("main.tf", "terraform {\n  backend \"local\" {\n    path = \"state\"\n  }\n}\n"),
            ("backend_override.tf", "terraform {\n  backend \"gcs\" {\n    bucket = \"b\"\n  }\n}\n"),
        ]);
        let b = c.backend.expect("backend");
        assert_eq!(b.kind, "gcs");
        assert!(b.attributes.contains_key("bucket"));
        // Read after the regular files whatever their names sort as.
        let c = ok(&[
            ("override.tf", "terraform {\n  backend \"gcs\" {\n    bucket = \"b\"\n  }\n}\n"),
            ("z.tf", "terraform {\n  backend \"local\" {}\n}\n"),
        ]);
        assert_eq!(c.backend.expect("backend").kind, "gcs");
    }

    #[test]
    fn override_files_hold_only_the_backend() {
        let text = fail(&[
            ("main.tf", "resource \"terraform_data\" \"a\" {}\n"),
            ("extra_override.tf", "resource \"terraform_data\" \"a\" {\n  input = 1\n}\n"),
        ]);
        assert!(text.contains("Unsupported \"resource\" block in an override file"), "{text}");
        assert!(text.contains("only to the terraform block's backend"), "{text}");
        assert_eq!(
            first_location(&[("main.tf", ""), ("x_override.tf", "terraform {\n  required_version = \">= 1\"\n}\n")]),
            "x_override.tf:2:3"
        );
    }

    #[test]
    fn a_broken_configuration_still_reports_its_backend() {
        let (_tmp, r) = load_files(&[(
            "main.tf",
            "terraform {\n  backend \"gcs\" {\n    bucket = \"b\"\n  }\n}\nresource \"nope\" {}\n",
        )]);
        let e = r.expect_err("broken");
        assert_eq!(e.backend.expect("backend kept").kind, "gcs");
    }

    const ALL_BLOCKS: &str = r#"
terraform {
  required_providers {
    google = { source = "hashicorp/google", version = "~> 6.0" }
  }
  backend "gcs" {
    bucket = "state-bucket"
    prefix = "demo"
  }
}

provider "google" {
  project = var.project
}


variable "project" {
  description = "Project id"
  sensitive   = false
  nullable    = false
  validation {
    condition     = length(var.project) > 3
    error_message = "Too short."
  }
}

variable "zones" {
  default = ["a", "b"]
}

locals {
  name = "demo-${var.project}"
}

locals {
  zone = var.zones[0]
}

resource "google_storage_bucket" "logs" {
  count    = 2
  name     = "${local.name}-${count.index}"
  location = "EU"
  provider = google
  depends_on = [google_compute_network.net]

  lifecycle {
    prevent_destroy       = true
    create_before_destroy = true
    ignore_changes        = [labels, versioning[0].enabled, "website"]
    replace_triggered_by  = [google_compute_network.net.id]
  }

  timeouts {
    create = "20m"
    delete = "1h30m"
  }

  versioning {
    enabled = true
  }

  dynamic "lifecycle_rule" {
    for_each = var.zones
    iterator = z
    content {
      action {
        type = z.value
      }
    }
  }
}

resource "google_compute_network" "net" {
  for_each = toset(var.zones)
  name     = each.key
  lifecycle {
    ignore_changes = all
  }
}

data "google_project" "this" {
  project_id = var.project
}

output "bucket" {
  value       = google_storage_bucket.logs[0].name
  description = "The bucket"
  sensitive   = true
  depends_on  = [google_storage_bucket.logs]
}

check "health" {
  assert {
    condition     = data.google_project.this.number != ""
    error_message = "no project"
  }
}

moved {
  from = google_storage_bucket.old
  to   = google_storage_bucket.logs
}

moved {
  from = module.a.google_x.y["k"]
  to   = google_x.z[0]
}

import {
  to = google_compute_network.net["a"]
  id = "projects/p/global/networks/a"
}
"#;

    #[test]
    fn a_heredoc_without_interpolation_is_a_literal_description() {
        let c = ok(&[(
            "main.tf",
            "variable \"x\" {\n  type = string\n  description = <<-EOT\n    Two\n    lines.\n  EOT\n}\n",
        )]);
        assert_eq!(c.root().variables["x"].description.as_deref(), Some("Two\nlines.\n"));
        let e = fail(&[("main.tf", "variable \"x\" {\n  description = <<-EOT\n    ${var.y}\n  EOT\n}\n")]);
        assert!(e.contains("must be a literal string"), "{e}");
    }

    #[test]
    fn loads_every_block_kind() {
        let c = ok(&[("main.tf", ALL_BLOCKS)]);
        let root = c.root();
        assert!(c.warnings.is_empty());
        let backend = c.backend.as_ref().expect("backend");
        assert_eq!(backend.kind, "gcs");
        assert_eq!(backend.attributes.keys().collect::<Vec<_>>(), ["bucket", "prefix"]);
        assert_eq!(root.required_providers["google"].source.as_deref(), Some("hashicorp/google"));
        assert_eq!(root.providers.len(), 1);

        let project = &root.variables["project"];
        assert!(!project.nullable);
        assert_eq!(project.description.as_deref(), Some("Project id"));
        assert_eq!(project.validations.len(), 1);
        assert!(root.variables["zones"].default.is_some());
        assert_eq!(root.locals.keys().collect::<Vec<_>>(), ["name", "zone"]);

        let b = &root.resources["google_storage_bucket.logs"];
        assert!(b.count.is_some());
        assert_eq!(b.provider.as_deref(), Some("google"));
        assert_eq!(b.depends_on.len(), 1);
        assert!(b.lifecycle.prevent_destroy && b.lifecycle.create_before_destroy);
        let IgnoreChanges::Paths(paths) = &b.lifecycle.ignore_changes else { panic!("paths expected") };
        let shown: Vec<String> = paths.iter().map(|(p, _)| p.to_string()).collect();
        assert_eq!(shown, ["labels", "versioning[0].enabled", "website"]);
        assert_eq!(b.lifecycle.replace_triggered_by.len(), 1);

        assert_eq!(b.timeouts.create, Some(Duration::from_secs(1200)));
        assert_eq!(b.timeouts.delete, Some(Duration::from_secs(5400)));
        assert_eq!(b.timeouts.update, None);
        // Meta-arguments are not part of the body; ordinary ones and nested blocks are.
        assert_eq!(b.body.attributes.keys().collect::<Vec<_>>(), ["name", "location"]);
        assert_eq!(b.body.blocks.len(), 1);
        assert_eq!(b.body.blocks[0].type_name, "versioning");
        assert_eq!(b.body.dynamic_blocks.len(), 1);
        assert_eq!(b.body.dynamic_blocks[0].iterator, "z");
        assert_eq!(b.body.dynamic_blocks[0].content.blocks[0].type_name, "action");
        assert_eq!(c.sources.location(b.span).rsplit('/').next(), Some("main.tf:39:1"));

        let net = &root.resources["google_compute_network.net"];
        assert!(net.for_each.is_some());
        assert_eq!(net.lifecycle.ignore_changes, IgnoreChanges::All);
        assert_eq!(root.resources["data.google_project.this"].mode, ResourceMode::Data);

        let out = &root.outputs["bucket"];
        assert!(out.sensitive);

        assert_eq!(root.checks["health"].asserts.len(), 1);

        assert_eq!(root.moved[0].from.to_string(), "google_storage_bucket.old");
        assert_eq!(root.moved[1].from.to_string(), "module.a.google_x.y[\"k\"]");
        assert_eq!(root.moved[1].to.to_string(), "google_x.z[0]");
        assert_eq!(root.imports[0].to.to_string(), "google_compute_network.net[\"a\"]");
        assert_eq!(c.path_module(&ModulePath::root()), ".");
    }

    #[test]
    fn files_are_read_in_name_order_and_other_files_ignored() {
        let c = ok(&[
            ("b.tf", "locals {\n  b = 2\n}\n"),
            ("a.tf", "locals {\n  a = 1\n}\n"),
            ("c.hcl", "locals {\n  c = 3\n}\n"),
            ("notes.txt", "not hcl"),
            (".terraform.lock.hcl", "garbage {{{"),
        ]);
        assert_eq!(c.root().locals.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
        let displays: Vec<String> =
            c.sources.files().map(|(_, f)| f.display.rsplit('/').next().unwrap_or("").to_string()).collect();
        assert_eq!(displays, ["a.tf", "b.tf", "c.hcl"]);
    }

    #[test]
    fn syntax_errors_have_locations() {
        assert_eq!(first_location(&[("main.tf", "locals {\n  a = \n}\n")]), "main.tf:2:7");
        let msg = fail(&[("main.tf", "resource \"x\" \"y\" {\n  a = [1, 2\n}\n")]);
        assert!(msg.starts_with("Error: Syntax error\n  --> stack/main.tf:"), "{msg}");
    }

    #[test]
    fn unknown_blocks_and_arguments_suggest_fixes() {
        insta::assert_snapshot!(fail(&[("main.tf", "resorce \"google_x\" \"y\" {\n}\n")]), @r#"
        Error: Unsupported block type
          --> stack/main.tf:1:1
           | resorce "google_x" "y" {
           | ^^^^^^^
          Blocks of type "resorce" are not expected here.
          help: did you mean "resource"?
        "#);
        insta::assert_snapshot!(fail(&[("main.tf", "variable \"x\" {\n  defualt = 1\n}\n")]), @r#"
        Error: Unsupported argument
          --> stack/main.tf:2:3
           |   defualt = 1
           |   ^^^^^^^
          An argument named "defualt" is not expected in a variable block.
          help: did you mean "default"?
        "#);
        assert_eq!(
            first_location(&[(
                "main.tf",
                "resource \"a\" \"b\" {\n  lifecycle {\n    prevent_destroi = true\n  }\n}\n"
            )]),
            "main.tf:3:5"
        );
        assert!(fail(&[("main.tf", "x = 1\n")]).contains("locals { x = … }"));
        assert!(fail(&[("main.tf", "output \"o\" {\n  value = 1\n  sensitiv = true\n}\n")])
            .contains("did you mean \"sensitive\"?"));
    }

    #[test]
    fn duplicates_point_at_the_first_definition() {
        let files = [("a.tf", "resource \"google_x\" \"y\" {\n}\n"), ("b.tf", "\nresource \"google_x\" \"y\" {\n}\n")];
        insta::assert_snapshot!(fail(&files), @r#"
        Error: Duplicate resource "google_x" "y"
          --> stack/b.tf:2:1
           | resource "google_x" "y" {
           | ^^^^^^^^^^^^^^^^^^^^^^^
          The first definition is at stack/a.tf:1:1. Each resource block needs a unique type and name.
        "#);
        assert!(fail(&[("main.tf", "variable \"v\" {}\nvariable \"v\" {}\n")]).contains("Duplicate variable \"v\""));
        assert!(fail(&[("main.tf", "output \"o\" {\n value = 1\n}\noutput \"o\" {\n value = 2\n}\n")])
            .contains("Duplicate output \"o\""));
        assert!(fail(&[("main.tf", "check \"c\" {\n assert {\n condition = true\n error_message = \"x\"\n }\n}\ncheck \"c\" {\n assert {\n condition = true\n error_message = \"x\"\n }\n}\n")]).contains("Duplicate check \"c\""));
        let msg = fail(&[("main.tf", "locals {\n  a = 1\n}\nlocals {\n  a = 2\n}\n")]);
        assert!(
            msg.contains("Duplicate local value \"a\"")
                && msg.contains("main.tf:5:3")
                && msg.contains("first definition is at stack/main.tf:2:3"),
            "{msg}"
        );
        let dup = fail(&[("main.tf", "locals {\n  a = 1\n  a = 2\n}\n")]);
        assert!(dup.contains("Duplicate"), "{dup}");
    }

    #[test]
    fn meta_argument_errors() {
        let count_and_for_each = [("main.tf", "resource \"a\" \"b\" {\n  count = 1\n  for_each = {}\n}\n")];
        assert!(fail(&count_and_for_each).contains("Invalid combination of \"count\" and \"for_each\""));
        assert_eq!(first_location(&count_and_for_each), "main.tf:3:14");
        let bad_duration = [("main.tf", "resource \"a\" \"b\" {\n  timeouts {\n    create = \"20 minutes\"\n  }\n}\n")];
        assert_eq!(first_location(&bad_duration), "main.tf:3:14");
        assert!(fail(&bad_duration).contains("Invalid duration \"20 minutes\""));
        assert!(fail(&[("main.tf", "resource \"a\" \"b\" {\n  lifecycle {\n    prevent_destroy = var.x\n  }\n}\n")])
            .contains("must be true or false"));
        assert!(fail(&[("main.tf", "resource \"a\" \"b\" {\n  provider = \"google.eu\"\n}\n")])
            .contains("remove the quotes: provider = google.eu"));
        assert!(fail(&[("main.tf", "resource \"a\" \"b\" {\n  depends_on = [\"a.c\"]\n}\n")])
            .contains("Invalid depends_on reference"));
        assert!(fail(&[(
            "main.tf",
            "resource \"a\" \"b\" {\n  lifecycle {\n    ignore_changes = [upper(x)]\n  }\n}\n"
        )])
        .contains("Invalid ignore_changes item"));
        assert!(fail(&[("main.tf", "resource \"a\" \"b\" {\n  provisioner \"local-exec\" {\n  }\n}\n")])
            .contains("Provisioner blocks are not supported"));
        assert!(fail(&[("main.tf", "data \"a\" \"b\" {\n  lifecycle {\n    prevent_destroy = true\n  }\n}\n")])
            .contains("data source's lifecycle"));
        assert!(fail(&[("main.tf", "resource \"a\" {\n}\n")]).contains("Missing name for resource block"));
        assert!(fail(&[(
            "main.tf",
            "resource \"google_a\" \"b\" {\n  provider = google.nope\n}\nprovider \"google\" {\n  alias = \"eu\"\n}\n"
        )])
        .contains("Provider configuration \"google.nope\" not present"));
        assert!(fail(&[("main.tf", "resource \"a\" \"b\" {\n  dynamic \"x\" {\n    for_each = []\n  }\n}\n")])
            .contains("Missing content block in dynamic block"));
    }

    #[test]
    fn backend_kinds() {
        insta::assert_snapshot!(fail(&[("main.tf", "terraform {\n  backend \"s3\" {\n  }\n}\n")]), @r#"
        Error: Unsupported backend "s3"
          --> stack/main.tf:2:11
           |   backend "s3" {
           |           ^^^^
          Cairn supports the "local" and "gcs" backends.
        "#);
        let c = ok(&[("main.tf", "terraform {\n  backend \"local\" {\n    path = \"state.db\"\n  }\n}\n")]);
        assert_eq!(c.backend.map(|b| b.kind).as_deref(), Some("local"));
    }

    #[test]
    fn variable_errors() {
        let bad_type = [("main.tf", "variable \"v\" {\n  type = not_a_type(1)\n}\n")];
        assert!(fail(&bad_type).contains("Invalid type specification"));
        assert_eq!(first_location(&bad_type), "main.tf:2:10");
        assert!(fail(&[("main.tf", "variable \"v\" {\n  default = var.w\n}\n")]).contains("Variables not allowed"));
        assert!(fail(&[("main.tf", "variable \"count\" {\n}\n")]).contains("is reserved"));
        let msg = fail(&[("main.tf", "variable \"v\" {\n  validation {\n    condition = var.w != \"\"\n    error_message = \"x\"\n  }\n}\nvariable \"w\" {}\n")]);
        assert!(msg.contains("can only refer to the variable itself"), "{msg}");
        assert!(fail(&[("main.tf", "variable \"v\" {\n  validation {\n    condition = true\n  }\n}\n")])
            .contains("Missing required argument \"error_message\""));
    }

    #[test]
    fn undeclared_references_are_reported() {
        let msg = fail(&[("main.tf", "variable \"project\" {}\nlocals {\n  a = var.projet\n  b = local.c\n  d = google_x.nope.id\n  e = count.index\n}\n")]);
        assert!(
            msg.contains("Reference to undeclared input variable") && msg.contains("did you mean \"project\"?"),
            "{msg}"
        );
        assert!(msg.contains("Reference to undeclared local value"));
        assert!(msg.contains("Reference to undeclared resource"));
        assert!(msg.contains("Reference to \"count\" in non-counted context"));
        assert!(fail(&[("main.tf", "resource \"a\" \"b\" {\n  name = each.key\n}\n")]).contains("without for_each"));
        // Inside dynamic blocks and for expressions, bound names are not references.
        ok(&[("main.tf", "variable \"l\" {}\nresource \"a\" \"b\" {\n  x = [for v in var.l : v.id]\n  dynamic \"d\" {\n    for_each = var.l\n    content {\n      y = d.value\n    }\n  }\n}\n")]);
    }

    #[test]
    fn modules_load_recursively_and_check_inputs() {
        let c = ok(&[
            ("main.tf", "module \"net\" {\n  source = \"./modules/net\"\n  cidr = \"10.0.0.0/8\"\n  providers = { google = google }\n}\noutput \"id\" {\n  value = module.net.id\n}\n"),
            ("modules/net/main.tf", "variable \"cidr\" {}\nvariable \"name\" {\n  default = \"n\"\n}\nmodule \"sub\" {\n  source = \"../sub\"\n}\noutput \"id\" {\n  value = var.cidr\n}\n"),
            ("modules/sub/main.tf", "output \"x\" {\n  value = path.module\n}\n"),
        ]);
        let net = ModulePath::root().child("net");
        assert_eq!(c.modules.len(), 3);
        assert_eq!(c.root().module_calls["net"].inputs.keys().collect::<Vec<_>>(), ["cidr"]);
        assert!(c.module(&net.child("sub")).is_some());
        assert_eq!(c.path_module(&net), "modules/net");
        assert_eq!(c.path_module(&net.child("sub")), "modules/sub");
        let sub_file =
            c.sources.files().map(|(_, f)| f.display.clone()).find(|d| d.ends_with("sub/main.tf")).expect("sub loaded");
        assert!(!sub_file.contains("/./") && !sub_file.contains("/../"), "{sub_file}");
    }

    #[test]
    fn module_errors() {
        let missing = [("main.tf", "module \"m\" {\n  source = \"./nope\"\n}\n")];
        assert!(fail(&missing).contains("Module directory"));
        assert_eq!(first_location(&missing), "main.tf:2:12");
        let remote = [("main.tf", "module \"m\" {\n  source = \"terraform-google-modules/network/google\"\n}\n")];
        // Plain loads never fetch: a remote module without a lock and cache asks for cairn init.
        assert!(fail(&remote).contains("Module \"m\" is not installed"));
        assert_eq!(first_location(&remote), "main.tf:2:12");
        let bad = [("main.tf", "module \"m\" {\n  source = \"hg::https://example.com/repo\"\n}\n")];
        assert!(fail(&bad).contains("Unsupported module source"));
        let both =
            [("main.tf", "module \"m\" {\n  source = \"./m\"\n  count = 2\n  for_each = {}\n}\n"), ("m/main.tf", "")];
        assert!(fail(&both).contains("Invalid combination of \"count\" and \"for_each\""));
        assert_eq!(first_location(&both), "main.tf:4:3");
        let each_in_counted = [
            ("main.tf", "module \"m\" {\n  source = \"./m\"\n  count = 2\n  v = each.key\n}\n"),
            ("m/main.tf", "variable \"v\" {}\n"),
        ];
        assert!(fail(&each_in_counted).contains("Reference to \"each\" in context without for_each"));
        let whole = [
            (
                "main.tf",
                "module \"m\" {\n  source = \"./m\"\n  count = 2\n}\noutput \"o\" {\n  value = module.m.ok\n}\n",
            ),
            ("m/main.tf", "output \"ok\" {\n  value = 1\n}\n"),
        ];
        assert!(fail(&whole).contains("name one instance, like module.m[0].ok"));
        assert_eq!(first_location(&whole), "main.tf:6:11");
        let recursive = [
            ("main.tf", "module \"m\" {\n  source = \"./m\"\n}\n"),
            ("m/main.tf", "module \"again\" {\n  source = \"../\"\n}\n"),
        ];
        assert!(fail(&recursive).contains("Module recursion"));
        let inputs = [
            (
                "main.tf",
                "module \"m\" {\n  source = \"./m\"\n  nmae = 1\n}\noutput \"o\" {\n  value = module.m.nope\n}\n",
            ),
            ("m/main.tf", "variable \"name\" {}\noutput \"ok\" {\n  value = 1\n}\n"),
        ];
        let msg = fail(&inputs);
        assert!(
            msg.contains("has no input variable named \"nmae\"") && msg.contains("did you mean \"name\"?"),
            "{msg}"
        );
        assert!(msg.contains("Missing required argument \"name\""), "{msg}");
        assert!(msg.contains("Module \"m\" has no output named \"nope\""), "{msg}");
    }

    #[test]
    fn check_moved_and_import_errors() {
        assert!(fail(&[("main.tf", "check \"c\" {\n  data \"x\" \"y\" {\n  }\n  assert {\n    condition = true\n    error_message = \"e\"\n  }\n}\n")]).contains("Nested data blocks in check blocks are not supported"));
        assert!(fail(&[("main.tf", "moved {\n  from = \"a.b\"\n  to = a.c\n}\n")]).contains("without quotes"));
        assert!(
            fail(&[("main.tf", "moved {\n  from = a.b[var.k]\n  to = a.c\n}\n")]).contains("literal number or string")
        );
        assert!(fail(&[("main.tf", "moved {\n  from = module.x\n  to = a.c\n}\n")]).contains("can't change the kind"));
        assert!(fail(&[("main.tf", "moved {\n  from = a.b.id\n  to = a.c\n}\n")])
            .contains("names a resource, not an attribute"));
        assert!(fail(&[("main.tf", "moved {\n  from = a.b\n}\n")]).contains("Missing required argument \"to\""));
        let c = ok(&[(
            "main.tf",
            "moved {\n  from = module.old\n  to = module.new\n}\nimport {\n  to = data.x.y\n  id = \"i\"\n}\n",
        )]);
        assert_eq!(c.root().moved[0].to, AnyAddr::Module(ModulePath::of_names(&["new"])));
        assert_eq!(c.root().imports[0].to.key, InstanceKey::None);
        assert!(fail(&[("main.tf", "import {\n  to = module.m\n  id = \"x\"\n}\n")]).contains("not a module"));
    }

    #[test]
    fn missing_or_empty_directories() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let e = load(&tmp.path().join("nope")).expect_err("missing dir");
        assert!(e.diagnostics.0[0].summary.contains("not found"));
        let e = load(tmp.path()).expect_err("empty dir");
        assert!(e.diagnostics.0[0].summary.contains("No configuration files"));
    }

    #[test]
    fn child_backend_is_a_warning() {
        let c = ok(&[
            ("main.tf", "module \"m\" {\n  source = \"./m\"\n}\n"),
            ("m/main.tf", "terraform {\n  backend \"gcs\" {\n  }\n}\n"),
        ]);
        assert_eq!(c.warnings.0.len(), 1);
        assert!(c.backend.is_none());
    }
}
