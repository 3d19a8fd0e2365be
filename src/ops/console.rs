//! `cairn console`: expressions evaluated in the root module's scope, against the stack's
//! state (as last recorded: nothing is refreshed or written), variables and locals.

use super::plan::{plan_locked, PlanArgs};
use super::*;
use crate::addr::ModulePath;
use crate::lang::config::Expr;
use crate::lang::diag::Span;
use crate::plan::env::{Env, ModuleScope};
use crate::plan::PlanMode;

/// The evaluated root scope of a stack, ready for expressions.
pub struct ConsoleScope {
    stack: Stack,
    env: Env,
    /// The stack's sources and every line evaluated so far (diagnostics quote them).
    pub sources: SourceMap,
}

/// Loads the stack and evaluates its variables, locals and outputs against the stored state,
/// without the lock (nothing is written) and without refreshing.
pub async fn console_scope(common: Common) -> Result<ConsoleScope, OpError> {
    let stack = load_stack(&common.dir)?;
    let store = open_store(&stack.config)?;
    let mut args = PlanArgs::new(common);
    args.mode = PlanMode::RefreshOnly;
    args.refresh = false;
    let (mut result, sources, _) = plan_locked(&stack, &store, &args, None, None).await?;
    // Resources read as state records them (Terraform's console evaluates against state), not
    // as this configuration would plan them (an input changed since the apply is unknown).
    for (addr, r) in &result.plan.prior_state.resources {
        let (Some(rt), Some(instances)) =
            (args.common.registry.get(&r.type_name), result.env.resources.get_mut(&addr.resource))
        else {
            continue;
        };
        if r.deposed.is_none() {
            instances.insert(addr.key.clone(), crate::plan::planner::decode_instance(rt.schema(), r));
        }
    }
    Ok(ConsoleScope { stack, env: result.env, sources })
}

impl ConsoleScope {
    /// Evaluates one line of input. Errors are diagnostics located in the line (shown as
    /// `<console-input>:1:COL`).
    pub fn eval(&mut self, text: &str) -> Result<Value, OpError> {
        let text = text.trim();
        let file =
            self.sources.add(std::path::Path::new("<console-input>"), "<console-input>".to_string(), text.to_string());
        let parsed = hcl_edit::parser::parse_expr(text).map_err(|e| {
            let offset = e.location().offset();
            OpError::diags(
                &self.sources,
                Diagnostic::error("Invalid expression")
                    .detail(e.message().to_string())
                    .at(Span { file, start: offset, end: (offset + 1).min(text.len()).max(offset) })
                    .into(),
            )
        })?;
        let expr = Expr { expr: parsed, span: Span { file, start: 0, end: text.len() } };
        let mut problems = Diagnostics::new();
        for r in crate::lang::refs::expr_references(&expr) {
            if let Some(d) = undeclared(self.stack.config.root(), &r) {
                problems.push(d);
            }
        }
        if !problems.is_empty() {
            return Err(OpError::diags(&self.sources, problems));
        }
        let root = ModulePath::root();
        let scope = ModuleScope { env: &self.env, config: &self.stack.config, module: &root };
        let mut ctx = crate::plan::env::ctx(&self.stack.config, &scope, ".".into());
        ctx.sources = &self.sources;
        crate::lang::eval::eval(&expr, &ctx).map_err(|d| OpError::diags(&self.sources, d))
    }
}

/// A reference the root module does not declare, or one only a block gives a value (the
/// planner's environment would read either as unknown rather than refuse it).
fn undeclared(root: &crate::lang::config::Module, r: &crate::lang::refs::Reference) -> Option<Diagnostic> {
    use crate::lang::diag::suggest;
    use crate::lang::refs::RefRoot;
    let (summary, detail, suggestion) = match &r.root {
        RefRoot::Var(n) if !root.variables.contains_key(n) => (
            "Reference to undeclared input variable",
            format!("An input variable named \"{n}\" is not declared in the root module."),
            suggest(n, root.variables.keys().map(String::as_str)),
        ),
        RefRoot::Local(n) if !root.locals.contains_key(n) => (
            "Reference to undeclared local value",
            format!("A local value named \"{n}\" is not declared in the root module."),
            suggest(n, root.locals.keys().map(String::as_str)),
        ),
        RefRoot::Resource { .. } => {
            let key = r.root.to_string();
            if root.resources.contains_key(&key) {
                return None;
            }
            (
                "Reference to undeclared resource",
                format!("{key} is not declared in the root module."),
                suggest(&key, root.resources.keys().map(String::as_str)),
            )
        }
        RefRoot::Module(n) if !root.module_calls.contains_key(n) => (
            "Reference to undeclared module",
            format!("No module call named \"{n}\" is declared in the root module."),
            suggest(n, root.module_calls.keys().map(String::as_str)),
        ),
        RefRoot::CountIndex | RefRoot::EachKey | RefRoot::EachValue | RefRoot::SelfRef | RefRoot::Iterator(_) => (
            "Invalid reference",
            format!("{} has a value only inside a block that gives it one, not in the console.", r.root),
            None,
        ),
        _ => return None,
    };
    let d = Diagnostic::error(summary).detail(detail).at(r.span);
    Some(match suggestion {
        Some(h) => d.help(h),
        None => d,
    })
}
