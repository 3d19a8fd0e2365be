use std::path::{Path, PathBuf};

use super::*;
use crate::addr::ModulePath;
use crate::plan::planner::{PlanInput, PlanOptions};
use crate::plan::Plan;
use crate::state::State;

/// Checks a stack without state, credentials or variable values: syntax, references, types,
/// schemas and the rules the APIs would only enforce at apply time. `Ok` holds the warnings.
pub async fn validate(common: &Common) -> Result<Diagnostics, OpError> {
    validate_located(common).await.map(|(warnings, _)| warnings)
}

/// [`validate`], with the sources its warnings point into (`validate -json` prints ranges).
pub async fn validate_located(common: &Common) -> Result<(Diagnostics, SourceMap), OpError> {
    let stack = load_stack(&common.dir)?;
    // Variables are unknown unless they have defaults: validation must hold for any value.
    let mut variables = BTreeMap::new();
    let mut env = crate::plan::env::Env::default();
    let root = ModulePath::root();
    for v in stack.config.root().variables.values() {
        let value = match &v.default {
            Some(d) => {
                let scope = crate::plan::env::ModuleScope { env: &env, config: &stack.config, module: &root };
                let ctx = crate::plan::env::ctx(&stack.config, &scope, ".".into());
                let raw = crate::lang::eval::eval(d, &ctx).map_err(|e| OpError::diags(&stack.config.sources, e))?;
                crate::lang::types::convert(raw, &v.ty).map_err(|e| {
                    OpError::diags(
                        &stack.config.sources,
                        Diagnostic::error(format!("Invalid default for variable \"{}\": {e}", v.name))
                            .at(d.span)
                            .into(),
                    )
                })?
            }
            None => Value::unknown(),
        };
        env.vars.insert((root.clone(), v.name.clone()), value.clone());
        variables.insert(v.name.clone(), value.mark_if(v.sensitive));
    }
    let d = crate::lang::vars::check_variable_validations(&stack.config, &root, &variables, &stack.config.sources);
    if d.has_errors() {
        return Err(OpError::diags(&stack.config.sources, d));
    }
    let input = PlanInput {
        config: &stack.config,
        graph: &stack.graph,
        registry: &common.registry,
        variables,
        state: State::new(),
        fingerprint_key: [0; 32],
        open_journal: vec![],
        provider_configs: BTreeMap::new(),
    };
    let opts = PlanOptions { validate_only: true, refresh: false, ..PlanOptions::default() };
    let result =
        crate::plan::planner::plan(input, &opts).await.map_err(|d| OpError::diags(&stack.config.sources, d))?;
    Ok((result.warnings, stack.config.sources.clone()))
}

pub struct FmtResult {
    /// Files whose formatting changed (or, with `check`, would change).
    pub changed: Vec<PathBuf>,
}

/// Formats `.tf`, `.hcl` and `.tfvars` files in place (or only reports, with `check`); with
/// `recursive`, those of subdirectories too, except hidden ones (`.cairn` holds installed
/// modules, `.git` is not the user's to format).
pub fn fmt(paths: &[PathBuf], check: bool, recursive: bool) -> Result<FmtResult, OpError> {
    fn collect(dir: &Path, recursive: bool, files: &mut Vec<PathBuf>) -> Result<(), OpError> {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| OpError::msg(format!("cannot read {}: {e}", dir.display())))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for f in entries {
            let hidden = f.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.'));
            if f.is_dir() {
                if recursive && !hidden {
                    collect(&f, recursive, files)?;
                }
            } else if matches!(f.extension().and_then(|e| e.to_str()), Some("tf" | "hcl" | "tfvars")) {
                files.push(f);
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            collect(p, recursive, &mut files)?;
        } else {
            files.push(p.clone());
        }
    }
    let mut changed = Vec::new();
    let mut errors = Vec::new();
    for f in files {
        let text =
            std::fs::read_to_string(&f).map_err(|e| OpError::msg(format!("cannot read {}: {e}", f.display())))?;
        match crate::lang::fmt::format_source(&text) {
            Ok(out) if out != text => {
                if !check {
                    std::fs::write(&f, out).map_err(|e| OpError::msg(format!("cannot write {}: {e}", f.display())))?;
                }
                changed.push(f);
            }
            Ok(_) => {}
            Err(e) => errors.push(format!("{}: {e}", f.display())),
        }
    }
    if !errors.is_empty() {
        return Err(OpError::msg(errors.join("\n")));
    }
    Ok(FmtResult { changed })
}

pub fn graph(dir: &Path, all: bool) -> Result<String, OpError> {
    let stack = load_stack(dir)?;
    Ok(stack.graph.to_dot(all))
}

pub struct OutputValue {
    pub name: String,
    pub value: serde_json::Value,
    pub sensitive: bool,
}

/// Root outputs recorded by the last apply. Sensitive outputs were never stored.
pub async fn output(dir: &Path, name: Option<&str>) -> Result<Vec<OutputValue>, OpError> {
    let store = open_store_for_dir(dir)?;
    let state = store.load().await?.unwrap_or_default();
    let mut out: Vec<OutputValue> = state
        .outputs
        .iter()
        .map(|(k, o)| OutputValue { name: k.clone(), value: o.value.clone(), sensitive: o.sensitive })
        .collect();
    if let Some(n) = name {
        out.retain(|o| o.name == n);
        if out.is_empty() {
            let names: Vec<&str> = state.outputs.keys().map(String::as_str).collect();
            return Err(OpError::msg(format!(
                "output \"{n}\" not found{}",
                crate::lang::diag::suggest(n, names.iter().copied()).map(|s| format!("; {s}")).unwrap_or_else(|| {
                    if names.is_empty() {
                        "; the state has no outputs (run `cairn apply` first)".into()
                    } else {
                        format!("; outputs: {}", names.join(", "))
                    }
                })
            )));
        }
    }
    Ok(out)
}

/// A saved plan, for display.
pub fn show(planfile: &Path) -> Result<Plan, OpError> {
    let pf = crate::plan::file::read_for_display(planfile).map_err(|e| OpError::msg(e.to_string()))?;
    Ok(pf.to_plan())
}

/// A saved plan and the stack it was made for (None for plans older than that record).
pub struct SavedPlan {
    pub plan: Plan,
    pub stack: Option<String>,
}

/// A saved plan with what `cairn show --format markdown` needs to name it.
pub fn show_saved(planfile: &Path) -> Result<SavedPlan, OpError> {
    let pf = crate::plan::file::read_for_display(planfile).map_err(|e| OpError::msg(e.to_string()))?;
    Ok(SavedPlan { plan: pf.to_plan(), stack: pf.stack.clone() })
}

/// The stack's current state for `cairn show` (None: nothing has been applied yet).
pub async fn show_state(dir: &Path) -> Result<Option<State>, OpError> {
    let store = open_store_for_dir(dir)?;
    Ok(store.load().await?)
}

/// One module of the configuration and the providers it requires, as `terraform providers`
/// prints them: the module's own requirements (with their version constraints), then its
/// calls.
#[derive(Debug, PartialEq, Eq)]
pub struct ProviderTree {
    /// `.` for the root module, `module.NAME` for a call.
    pub name: String,
    /// `(source address, version constraint)`, by source address.
    pub providers: Vec<(String, Option<String>)>,
    pub children: Vec<ProviderTree>,
}

/// The provider requirements of the configuration, module by module, and the providers the
/// state's resources were managed through (source addresses, sorted).
pub async fn providers(dir: &Path) -> Result<(ProviderTree, Vec<String>), OpError> {
    let stack = load_stack(dir)?;
    let config = &stack.config;
    fn tree(config: &crate::lang::config::Config, path: &ModulePath, name: String) -> ProviderTree {
        let module = config.module(path);
        let mut required: BTreeMap<String, Option<String>> = BTreeMap::new();
        if let Some(m) = module {
            // The local names the module's resources use, then what `required_providers`
            // says of them (a source, a version constraint).
            for r in m.resources.values() {
                let local = r
                    .provider
                    .clone()
                    .unwrap_or_else(|| crate::lang::config::implied_provider(&r.type_name).to_string());
                let local = local.split('.').next().unwrap_or(&local).to_string();
                required.entry(source_of(m, &local)).or_insert(None);
            }
            for p in &m.providers {
                required.entry(source_of(m, &p.name)).or_insert(None);
            }
            for (local, req) in &m.required_providers {
                let version = req.version.clone();
                let entry = required.entry(source_of(m, local)).or_insert(None);
                if version.is_some() {
                    *entry = version;
                }
            }
        }
        let children = module
            .map(|m| {
                m.module_calls.keys().map(|call| tree(config, &path.child(call), format!("module.{call}"))).collect()
            })
            .unwrap_or_default();
        ProviderTree { name, providers: required.into_iter().collect(), children }
    }
    fn source_of(m: &crate::lang::config::Module, local: &str) -> String {
        match m.required_providers.get(local).and_then(|r| r.source.clone()) {
            Some(source) if source.matches('/').count() == 1 => format!("registry.terraform.io/{source}"),
            Some(source) => source,
            None => crate::addr::ProviderConfigAddr::default_for(local).source_address(),
        }
    }
    let root = tree(config, &ModulePath::root(), ".".into());
    let store = open_store(config)?;
    let state = store.load().await?.unwrap_or_default();
    let in_state: std::collections::BTreeSet<String> = state
        .resources
        .values()
        .map(|r| crate::addr::ProviderConfigAddr::parse(&r.provider).source_address())
        .collect();
    Ok((root, in_state.into_iter().collect()))
}

/// The providers `providers schema -json` describes: those the configuration requires and the
/// state was managed through (as `terraform providers schema` does), each with the provider
/// Cairn ships for its source address.
pub async fn provider_schemas(
    dir: &Path,
) -> Result<Vec<(String, std::sync::Arc<dyn crate::providers::Provider>)>, OpError> {
    fn sources(t: &ProviderTree, out: &mut std::collections::BTreeSet<String>) {
        out.extend(t.providers.iter().map(|(s, _)| s.clone()));
        for c in &t.children {
            sources(c, out);
        }
    }
    let (tree, in_state) = providers(dir).await?;
    let mut all = std::collections::BTreeSet::new();
    sources(&tree, &mut all);
    all.extend(in_state);
    let registry = crate::providers::Registry::for_schemas();
    all.into_iter()
        .map(|source| {
            // A provider Cairn ships answers to its own source address only: `hashicorp/aws`
            // is not served by anything here, whatever its last segment.
            let name = source.rsplit('/').next().unwrap_or(&source);
            match registry.provider(name) {
                Some(p) if crate::addr::ProviderConfigAddr::default_for(name).source_address() == source => {
                    Ok((source, p.clone()))
                }
                _ => Err(OpError::Message(format!(
                    "the configuration requires provider {source}, which Cairn does not ship; Cairn implements \
                     registry.terraform.io/hashicorp/google, registry.terraform.io/hashicorp/random and \
                     terraform.io/builtin/terraform"
                ))),
            }
        })
        .collect()
}
