//! The configuration model: what a stack's files say, with source spans, before evaluation.
//!
//! Produced by [`crate::lang::load`]; consumed by graph/ (references), plan/ and apply/
//! (evaluation through [`crate::lang::eval`]). Expressions are kept as hcl-edit syntax trees
//! because hcl-edit keeps byte spans, which diagnostics need.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use indexmap::IndexMap;

use crate::addr::{ModulePath, ResourceAddr};
use crate::lang::diag::{Diagnostics, SourceMap, Span};
use crate::lang::types::TypeConstraint;

/// An expression as written, with its location.
#[derive(Clone, Debug)]
pub struct Expr {
    pub expr: hcl_edit::expr::Expression,
    pub span: Span,
}

/// A whole stack: the root module and every module it calls, flattened by module path.
#[derive(Debug)]
pub struct Config {
    /// The stack directory: every relative path in the stack resolves against it.
    pub root_dir: PathBuf,
    pub sources: SourceMap,
    /// Keyed by module path; the root module has the empty path.
    pub modules: BTreeMap<ModulePath, Module>,
    /// `terraform { backend "…" { … } }` of the root module.
    pub backend: Option<Backend>,
    /// Problems found while loading that do not stop Cairn (e.g. a backend block in a child
    /// module, which is ignored).
    pub warnings: Diagnostics,
    /// The workspace this run works in, which `terraform.workspace` reads: `default` as
    /// loaded; `ops::load_stack` sets the selected one.
    pub workspace: String,
}

impl Config {
    pub fn root(&self) -> &Module {
        &self.modules[&ModulePath::root()]
    }
    /// The module `path` is an instance of (keys are ignored: every instance of a call has the
    /// same configuration).
    pub fn module(&self, path: &ModulePath) -> Option<&Module> {
        self.modules.get(&path.without_keys())
    }
    pub fn resource(&self, addr: &ResourceAddr) -> Option<&ResourceBlock> {
        self.module(&addr.module)?.resources.get(&addr.local_key())
    }
    /// The module block that calls `path` (None for the root module).
    pub fn module_call(&self, path: &ModulePath) -> Option<&ModuleCall> {
        let (parent, name) = path.parent()?;
        self.module(&parent)?.module_calls.get(name)
    }
    /// The provider configuration that serves a resource or data block of module `module`:
    /// a root configuration's key (`google`, `google.other`; see
    /// [`crate::addr::ProviderConfigAddr`]), since only the root declares configurations.
    ///
    /// Terraform's rules: the block's `provider` argument, else the default configuration of
    /// the provider its type is named after (`google_…` → `google`); a child module's
    /// configuration is what its call's `providers` argument maps it to, and a default
    /// configuration not mapped there is the caller's own (implicit inheritance). The loader
    /// has refused every reference that would not resolve, so this never guesses.
    pub fn provider_config_of(&self, module: &ModulePath, block: &ResourceBlock) -> String {
        let mut local = block.provider.clone().unwrap_or_else(|| implied_provider(&block.type_name).to_string());
        let mut path = module.clone();
        while let Some((parent, name)) = path.parent() {
            let call = self.modules.get(&parent).and_then(|m| m.module_calls.get(name));
            if let Some(entry) = call.and_then(|c| c.providers.iter().find(|e| e.child == local)) {
                local = entry.parent.clone();
            }
            path = parent;
        }
        local
    }
    /// `path.module` for a module: its directory relative to the stack directory ("." for the
    /// root module).
    pub fn path_module(&self, path: &ModulePath) -> String {
        let Some(m) = self.module(path) else { return ".".into() };
        match m.dir.strip_prefix(&self.root_dir) {
            Ok(rel) if rel.as_os_str().is_empty() => ".".into(),
            Ok(rel) => rel.display().to_string(),
            Err(_) => m.dir.display().to_string(),
        }
    }
}

#[derive(Debug, Default)]
pub struct Module {
    pub path: ModulePath,
    /// Directory the module was loaded from (`path.module`).
    pub dir: PathBuf,
    pub providers: Vec<ProviderBlock>,
    pub variables: IndexMap<String, Variable>,
    pub locals: IndexMap<String, Local>,
    /// Keyed by `type.name`.
    pub resources: IndexMap<String, ResourceBlock>,
    pub outputs: IndexMap<String, Output>,
    pub module_calls: IndexMap<String, ModuleCall>,
    pub checks: IndexMap<String, CheckBlock>,
    pub moved: Vec<Moved>,
    pub removed: Vec<Removed>,
    pub imports: Vec<ImportBlock>,
    /// `terraform { required_version = "…" }`, as written.
    pub required_version: Option<String>,
    /// `terraform { required_providers { google = { source, version } } }`.
    pub required_providers: IndexMap<String, RequiredProvider>,
}

/// The provider a resource type belongs to when its block names none: the type name's first
/// word (`google_sql_user` → `google`), as in Terraform.
pub fn implied_provider(type_name: &str) -> &str {
    type_name.split('_').next().unwrap_or(type_name)
}

#[derive(Clone, Debug)]
pub struct RequiredProvider {
    pub source: Option<String>,
    pub version: Option<String>,
    /// `configuration_aliases = [google.other]`: the aliased configurations the module's
    /// caller must pass (`google.other`), each with where it is written.
    pub configuration_aliases: Vec<(String, Span)>,
    /// The whole entry (`google = { … }`).
    pub span: Span,
    /// Where `source` and `version` are written, to point at each.
    pub source_span: Option<Span>,
    pub version_span: Option<Span>,
}

#[derive(Clone, Debug)]
pub struct Backend {
    pub kind: String,
    pub attributes: IndexMap<String, Attribute>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct ProviderBlock {
    pub name: String,
    pub alias: Option<String>,
    pub body: Body,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Variable {
    pub name: String,
    pub ty: TypeConstraint,
    pub default: Option<Expr>,
    pub description: Option<String>,
    pub sensitive: bool,
    pub nullable: bool,
    pub validations: Vec<Condition>,
    pub span: Span,
}

/// A `validation`, `precondition`, `postcondition` or check `assert` block.
#[derive(Clone, Debug)]
pub struct Condition {
    pub condition: Expr,
    pub error_message: Expr,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Local {
    pub name: String,
    pub expr: Expr,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceMode {
    Managed,
    Data,
}

#[derive(Clone, Debug)]
pub struct ResourceBlock {
    pub mode: ResourceMode,
    pub type_name: String,
    pub name: String,
    pub count: Option<Expr>,
    pub for_each: Option<Expr>,
    pub depends_on: Vec<Expr>,
    /// `provider = google.other`, as written (`google`, `google.other`), and where.
    pub provider: Option<String>,
    pub provider_span: Option<Span>,
    pub lifecycle: Lifecycle,
    pub timeouts: Timeouts,
    /// Arguments and nested blocks, minus the meta-arguments above.
    pub body: Body,
    /// The block header (`resource "type" "name"`).
    pub span: Span,
    pub type_span: Span,
}

#[derive(Clone, Debug, Default)]
pub struct Lifecycle {
    pub prevent_destroy: bool,
    pub create_before_destroy: bool,
    pub ignore_changes: IgnoreChanges,
    /// References whose change replaces this resource.
    pub replace_triggered_by: Vec<Expr>,
    pub preconditions: Vec<Condition>,
    pub postconditions: Vec<Condition>,
    pub span: Option<Span>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub enum IgnoreChanges {
    #[default]
    None,
    All,
    /// Attribute paths such as `labels` or `settings[0].tier`, as written.
    Paths(Vec<(crate::addr::AttrPath, Span)>),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Timeouts {
    pub create: Option<Duration>,
    pub update: Option<Duration>,
    pub delete: Option<Duration>,
    pub read: Option<Duration>,
}

/// The body of a resource, provider or nested block.
#[derive(Clone, Debug, Default)]
pub struct Body {
    pub attributes: IndexMap<String, Attribute>,
    pub blocks: Vec<NestedBlock>,
    /// `dynamic "name" { for_each = … content { … } }` blocks, expanded at evaluation.
    pub dynamic_blocks: Vec<DynamicBlock>,
    pub span: Option<Span>,
}

#[derive(Clone, Debug)]
pub struct Attribute {
    pub name: String,
    pub expr: Expr,
    /// The whole `name = value` line.
    pub span: Span,
    pub name_span: Span,
}

#[derive(Clone, Debug)]
pub struct NestedBlock {
    pub type_name: String,
    pub labels: Vec<String>,
    pub body: Body,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct DynamicBlock {
    pub type_name: String,
    pub for_each: Expr,
    /// The iterator's name (`iterator = x`), default: the block type.
    pub iterator: String,
    pub content: Body,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Output {
    pub name: String,
    pub expr: Expr,
    pub description: Option<String>,
    pub sensitive: bool,
    pub depends_on: Vec<Expr>,
    pub preconditions: Vec<Condition>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct ModuleCall {
    pub name: String,
    pub source: String,
    pub source_span: Span,
    /// `source` resolved to a directory.
    pub dir: PathBuf,
    /// Input variables passed to the module.
    pub inputs: IndexMap<String, Attribute>,
    /// `count` / `for_each` (at most one): the call makes one module instance per index or key.
    pub count: Option<Expr>,
    pub for_each: Option<Expr>,
    pub depends_on: Vec<Expr>,
    /// `providers = { google = google.other }`: which of the caller's configurations each of
    /// the module's configurations is.
    pub providers: Vec<PassedProvider>,
    pub span: Span,
}

/// One `providers` entry of a module call: `google.x = google.y`.
#[derive(Clone, Debug)]
pub struct PassedProvider {
    /// The configuration inside the called module (`google`, `google.x`).
    pub child: String,
    /// The caller's configuration it is (`google`, `google.y`).
    pub parent: String,
    pub child_span: Span,
    pub parent_span: Span,
}

impl ModuleCall {
    /// True when the call has `count` or `for_each`, so that its instances are keyed and
    /// `module.NAME` is a list or a map of them.
    pub fn is_expanded(&self) -> bool {
        self.count.is_some() || self.for_each.is_some()
    }
}

#[derive(Clone, Debug)]
pub struct CheckBlock {
    pub name: String,
    pub asserts: Vec<Condition>,
    pub span: Span,
}

/// `moved { from = … to = … }`, addresses as written (relative to the declaring module).
#[derive(Clone, Debug)]
pub struct Moved {
    pub from: crate::addr::AnyAddr,
    pub to: crate::addr::AnyAddr,
    pub from_span: Span,
    pub to_span: Span,
    pub span: Span,
}

/// `import { to = … id = … }`.
#[derive(Clone, Debug)]
pub struct ImportBlock {
    /// The target; with `for_each`, the resource's address with no key (the key is `key`).
    pub to: crate::addr::InstanceAddr,
    pub id: Expr,
    /// `for_each` (a map, a set of strings or a tuple, known before planning) and the
    /// expression in `to`'s brackets that names each element's instance (`[each.key]`).
    pub for_each: Option<ImportForEach>,
    pub to_span: Span,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct ImportForEach {
    pub for_each: Expr,
    pub key: Expr,
}

/// A `removed` block: the resource (or every resource of the module) left the configuration,
/// and state lets go of it, deleting the objects (`destroy = true`, the default) or leaving
/// them in the cloud (`lifecycle { destroy = false }`).
#[derive(Clone, Debug)]
pub struct Removed {
    /// A resource or module address, without instance keys.
    pub from: crate::addr::AnyAddr,
    pub destroy: bool,
    pub from_span: Span,
    pub span: Span,
}
