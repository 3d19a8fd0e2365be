//! Root module variables: defaults, `TF_VAR_*`, `.tfvars` files and `-var`/`-var-file`, with
//! Terraform's precedence, type conversion and validation rules.
//!
//! Values of sensitive variables never appear in diagnostics: errors about them point at the
//! variable's declaration rather than at the text that holds the secret.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hcl_edit::expr::{Expression, FuncCall};
use hcl_edit::structure::Structure;
use hcl_edit::template::{Directive, Element, Template};
use hcl_edit::Span as _;
use indexmap::IndexMap;

use crate::addr::ModulePath;
use crate::lang::config::{Config, Expr, Variable};
use crate::lang::diag::{suggest, Diagnostic, Diagnostics, FileId, SourceMap, Span};
use crate::lang::eval::{eval, EvalCtx, NoReferences, Resolver};
use crate::lang::refs::RefRoot;
use crate::lang::types::{self, TypeConstraint};
use crate::lang::value::Value;

#[derive(Clone, Debug, Default)]
pub struct VarInputs {
    /// `-var` and `-var-file` arguments in command-line order.
    pub cli: Vec<VarArg>,
    /// Every `TF_VAR_*` environment variable, the name without the prefix.
    pub env: Vec<(String, String)>,
}

#[derive(Clone, Debug)]
pub enum VarArg {
    /// `-var 'k=v'`, as given.
    Var(String),
    /// `-var-file path`.
    File(PathBuf),
}

/// The values of the root module's variables, converted to their types and marked sensitive
/// where declared so. Warnings (e.g. values for undeclared variables in a .tfvars file) are
/// dropped; use [`collect_root_variables_with_warnings`] to show them.
///
/// `sources` must be (a clone of) `config.sources`, so that spans into the configuration and
/// into the variables files it gains share one map.
pub fn collect_root_variables(
    config: &Config,
    inputs: &VarInputs,
    sources: &mut SourceMap,
) -> Result<BTreeMap<String, Value>, Diagnostics> {
    collect_root_variables_with_warnings(config, inputs, sources).map(|(values, _)| values)
}

/// Like [`collect_root_variables`], also returning warnings.
pub fn collect_root_variables_with_warnings(
    config: &Config,
    inputs: &VarInputs,
    sources: &mut SourceMap,
) -> Result<(BTreeMap<String, Value>, Diagnostics), Diagnostics> {
    let declared = &config.root().variables;
    let mut diags = Diagnostics::new();
    let mut given: BTreeMap<String, Given> = BTreeMap::new();
    let mut failed: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();

    for (name, raw) in &inputs.env {
        // Environment variables for undeclared names are ignored: the environment is shared
        // by every stack the user runs.
        let Some(var) = declared.get(name) else { continue };
        match parse_raw(config, var, raw, &format!("TF_VAR_{name}"), sources) {
            Ok(g) => {
                given.insert(name.clone(), g);
            }
            Err(d) => {
                failed.insert(name.clone());
                diags.extend(d);
            }
        }
    }

    for path in auto_var_files(&config.root_dir) {
        apply_file(config, &path, sources, &mut given, &mut diags);
    }

    for arg in &inputs.cli {
        match arg {
            VarArg::Var(kv) => {
                let Some((name, raw)) = kv.split_once('=') else {
                    diags.push(
                        Diagnostic::error(format!("Invalid -var option \"{kv}\""))
                            .detail("A -var option is written NAME=VALUE.")
                            .help("for example: -var 'region=europe-west1'"),
                    );
                    continue;
                };
                let name = name.trim();
                let Some(var) = declared.get(name) else {
                    let mut d = Diagnostic::error(format!("Value for undeclared variable \"{name}\"")).detail(format!(
                        "A -var option sets \"{name}\", but the root module declares no variable with that name."
                    ));
                    d = match suggest(name, declared.keys().map(String::as_str)) {
                        Some(h) => d.help(h),
                        None => d.help(format!("declare it with variable \"{name}\" {{ }}, or remove the option")),
                    };
                    diags.push(d);
                    continue;
                };
                match parse_raw(config, var, raw, &format!("-var {name}"), sources) {
                    Ok(g) => {
                        given.insert(name.to_string(), g);
                        failed.remove(name);
                    }
                    Err(d) => {
                        failed.insert(name.to_string());
                        diags.extend(d);
                    }
                }
            }
            VarArg::File(path) => apply_file(config, path, sources, &mut given, &mut diags),
        }
    }

    let mut values = BTreeMap::new();
    for (name, var) in declared {
        if failed.contains(name) {
            // Already reported; "no value" on top of "invalid value" would only confuse.
            continue;
        }
        match final_value(config, var, given.remove(name), sources) {
            Ok(v) => {
                values.insert(name.clone(), v.mark_if(var.sensitive));
            }
            Err(d) => diags.push(d),
        }
    }
    if diags.has_errors() {
        return Err(diags);
    }
    Ok((values, diags))
}

/// Reads a `.tfvars` (HCL) or `.tfvars.json` file. Values must be literals: no references and
/// no function calls.
///
/// `is_sensitive` names the sensitive variables: a file that sets one (or, when it cannot be
/// parsed, that mentions one) is added to `sources` unquotable, so that no diagnostic about
/// it — a syntax error anywhere in it included — prints a line that may hold the secret.
pub fn load_tfvars(
    path: &Path,
    sources: &mut SourceMap,
    is_sensitive: &dyn Fn(&str) -> bool,
) -> Result<IndexMap<String, (Value, Span)>, Diagnostics> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            return Err(Diagnostic::error(format!("Can't read variables file \"{}\"", path.display()))
                .detail(e.to_string())
                .help("check the path given to -var-file")
                .into())
        }
    };
    let is_json = path.to_string_lossy().ends_with(".json");
    let parsed = if is_json { None } else { Some(hcl_edit::parser::parse_body(&text)) };
    let holds_secret = match &parsed {
        Some(Ok(body)) => body.attributes().any(|a| is_sensitive(a.key.value().as_str())),
        // Unparsed: any word of the file naming a sensitive variable counts.
        _ => text.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-')).any(is_sensitive),
    };
    let file = if holds_secret {
        sources.add_unquotable(path, path.display().to_string(), text.clone())
    } else {
        sources.add(path, path.display().to_string(), text.clone())
    };
    let Some(parsed) = parsed else {
        return load_tfvars_json(&text, file);
    };
    let body = match parsed {
        Ok(b) => b,
        Err(e) => {
            let offset = e.location().offset();
            return Err(Diagnostic::error("Syntax error in variables file")
                .detail(e.message().to_string())
                .at(Span { file, start: offset, end: offset + 1 })
                .into());
        }
    };
    let mut out = IndexMap::new();
    let mut diags = Diagnostics::new();
    let base = path.parent().unwrap_or(Path::new("."));
    for s in body.iter() {
        match s {
            Structure::Block(b) => {
                let r = b.ident.span().unwrap_or(0..0);
                diags.push(
                    Diagnostic::error("Unexpected block in variables file")
                        .detail("A variables file contains only NAME = VALUE lines.")
                        .at(Span { file, start: r.start, end: r.end }),
                );
            }
            Structure::Attribute(a) => {
                let r = a.value.span().unwrap_or(0..0);
                let span = Span { file, start: r.start, end: r.end };
                let expr = Expr { expr: a.value.clone(), span };
                match literal_value(&expr, base, sources) {
                    Ok(v) => {
                        out.insert(a.key.value().as_str().to_string(), (v, span));
                    }
                    Err(d) => diags.extend(d),
                }
            }
        }
    }
    if diags.has_errors() {
        return Err(diags);
    }
    Ok(out)
}

/// Runs the `validation` blocks of a module's variables. Conditions that are not known yet are
/// skipped (they are checked again once the value is known).
pub fn check_variable_validations(
    config: &Config,
    module: &ModulePath,
    values: &BTreeMap<String, Value>,
    sources: &SourceMap,
) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let Some(m) = config.module(module) else { return diags };
    for (name, var) in &m.variables {
        if var.validations.is_empty() {
            continue;
        }
        let Some(value) = values.get(name) else { continue };
        let resolver = OnlySelf { name, value };
        let ctx = EvalCtx {
            resolver: &resolver,
            count_index: None,
            each: None,
            module_dir: config.path_module(module),
            root_dir: &config.root_dir,
            sources,
        };
        for rule in &var.validations {
            let cond = match eval(&rule.condition, &ctx) {
                Ok(c) => c,
                Err(d) => {
                    diags.extend(d);
                    continue;
                }
            };
            if cond.is_unknown() {
                continue;
            }
            let ok = match cond.peel() {
                Value::Bool(b) => *b,
                other => {
                    diags.push(
                        Diagnostic::error("Invalid validation result")
                            .detail(format!(
                                "A validation condition must give true or false, not a {}.",
                                other.type_name()
                            ))
                            .at(rule.condition.span),
                    );
                    continue;
                }
            };
            if ok {
                continue;
            }
            let message = match eval(&rule.error_message, &ctx) {
                Ok(m) if m.is_sensitive() => {
                    "The error message included a sensitive value, so it is not shown.".to_string()
                }
                Ok(m) => match m.as_str() {
                    Some(s) => s.to_string(),
                    None if m.is_unknown() => "The error message is not known yet.".to_string(),
                    None => format!("(the error message is a {}, not a string)", m.type_name()),
                },
                Err(d) => {
                    diags.extend(d);
                    "The error message could not be evaluated.".to_string()
                }
            };
            diags.push(
                Diagnostic::error(format!("Invalid value for variable \"{name}\""))
                    .detail(format!(
                        "{message}\n\nThis was checked by the validation rule at {}.",
                        sources.location(rule.span)
                    ))
                    .at(var.span),
            );
        }
    }
    diags
}

/// A value given for a variable, and where it came from.
struct Given {
    value: Value,
    /// Where the value is written; `None` when it must not be shown (sensitive variables).
    span: Option<Span>,
    /// For messages: "-var region", "terraform.tfvars", …
    origin: String,
}

/// Resolves only `var.<name>`: validation conditions may refer only to their own variable.
struct OnlySelf<'a> {
    name: &'a str,
    value: &'a Value,
}

impl Resolver for OnlySelf<'_> {
    fn resolve(&self, root: &RefRoot, span: Span) -> Result<Value, Diagnostic> {
        match root {
            RefRoot::Var(n) if n == self.name => Ok(self.value.clone()),
            other => Err(Diagnostic::error("Invalid reference in variable validation")
                .detail(format!("The condition for variable \"{}\" can only refer to the variable itself (var.{}), not \"{other}\".", self.name, self.name))
                .at(span)),
        }
    }
}

/// terraform.tfvars(.json), then *.auto.tfvars(.json) in lexical order.
fn auto_var_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for name in ["terraform.tfvars", "terraform.tfvars.json"] {
        let p = root.join(name);
        if p.is_file() {
            out.push(p);
        }
    }
    let mut autos: Vec<String> = std::fs::read_dir(root)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| n.ends_with(".auto.tfvars") || n.ends_with(".auto.tfvars.json"))
                .collect()
        })
        .unwrap_or_default();
    autos.sort();
    out.extend(autos.into_iter().map(|n| root.join(n)).filter(|p| p.is_file()));
    out
}

fn apply_file(
    config: &Config,
    path: &Path,
    sources: &mut SourceMap,
    given: &mut BTreeMap<String, Given>,
    diags: &mut Diagnostics,
) {
    let declared = &config.root().variables;
    let is_sensitive = |name: &str| declared.get(name).is_some_and(|v| v.sensitive);
    let values = match load_tfvars(path, sources, &is_sensitive) {
        Ok(v) => v,
        Err(d) => {
            diags.extend(d);
            return;
        }
    };
    for (name, (value, span)) in values {
        match declared.get(&name) {
            Some(var) => {
                let span = if var.sensitive { None } else { Some(span) };
                given.insert(name, Given { value, span, origin: path.display().to_string() });
            }
            None => {
                let mut d = Diagnostic::warning(format!("Value for undeclared variable \"{name}\""))
                    .detail(format!(
                        "The root module does not declare a variable named \"{name}\", so this value is ignored."
                    ))
                    .at(span);
                if let Some(h) = suggest(&name, declared.keys().map(String::as_str)) {
                    d = d.help(h);
                }
                diags.push(d);
            }
        }
    }
}

/// A `-var` or `TF_VAR_` value: a literal string for string variables, otherwise an HCL
/// expression (falling back to a string for `any` when it isn't one).
fn parse_raw(
    config: &Config,
    var: &Variable,
    raw: &str,
    origin: &str,
    sources: &mut SourceMap,
) -> Result<Given, Diagnostics> {
    // As in Terraform, primitive types take the text as given (and convert it later, so
    // `-var count=3` is the number 3); only collection, structural and `any` types parse HCL.
    if matches!(var.ty, TypeConstraint::String | TypeConstraint::Number | TypeConstraint::Bool) {
        let span = if var.sensitive {
            None
        } else {
            let file = sources.add(Path::new(origin), format!("<{origin}>"), raw.to_string());
            Some(Span { file, start: 0, end: raw.len() })
        };
        return Ok(Given { value: Value::string(raw), span, origin: origin.to_string() });
    }
    let parsed = hcl_edit::parser::parse_expr(raw.trim());
    let parsed = match parsed {
        Ok(e) if var.ty == TypeConstraint::Any && !is_literal_shape(&e) => {
            return Ok(Given { value: Value::string(raw), span: None, origin: origin.to_string() })
        }
        Ok(e) => e,
        Err(_) if var.ty == TypeConstraint::Any => {
            return Ok(Given { value: Value::string(raw), span: None, origin: origin.to_string() })
        }
        Err(e) => {
            let mut d = Diagnostic::error(format!("Invalid value for variable \"{}\"", var.name)).detail(format!(
                "The value given by {origin} is not a valid expression for a {} variable: {}.",
                var.ty,
                e.message()
            ));
            if !var.sensitive {
                let file = sources.add(Path::new(origin), format!("<{origin}>"), raw.trim().to_string());
                let offset = e.location().offset();
                d = d.at(Span { file, start: offset, end: offset + 1 });
            } else {
                d = d.at(var.span);
            }
            return Err(d.into());
        }
    };
    // Sensitive values get no source entry, so no rendering can ever show their text.
    let span = if var.sensitive {
        None
    } else {
        let text = raw.trim().to_string();
        let len = text.len();
        let file = sources.add(Path::new(origin), format!("<{origin}>"), text);
        Some(Span { file, start: 0, end: len })
    };
    let expr = Expr { expr: parsed, span: span.unwrap_or(var.span) };
    match literal_value(&expr, &config.root_dir, sources) {
        Ok(value) => Ok(Given { value, span, origin: origin.to_string() }),
        Err(_) if var.sensitive => Err(Diagnostic::error(format!("Invalid value for variable \"{}\"", var.name))
            .detail(format!("The value given by {origin} is not a valid {} value (the variable is sensitive, so the value is not shown).", var.ty))
            .at(var.span)
            .into()),
        Err(d) => Err(d),
    }
}

/// Whether a `-var` value for an `any` variable reads as an HCL value rather than plain text
/// (`foo` and `a.b` are text; `[1]`, `{a=1}`, `"x"`, `true`, `3` are values).
fn is_literal_shape(e: &Expression) -> bool {
    !matches!(
        e,
        Expression::Variable(_)
            | Expression::Traversal(_)
            | Expression::FuncCall(_)
            | Expression::BinaryOp(_)
            | Expression::Conditional(_)
            | Expression::ForExpr(_)
    )
}

/// Evaluates a literal expression: references and function calls are refused.
fn literal_value(expr: &Expr, base: &Path, sources: &SourceMap) -> Result<Value, Diagnostics> {
    if let Some(call) = find_call(&expr.expr) {
        let r = call.span().unwrap_or(0..0);
        return Err(Diagnostic::error("Function calls not allowed")
            .detail("Values here must be literals: functions can't be called.")
            .at(Span { file: expr.span.file, start: r.start, end: r.end })
            .into());
    }
    let ctx = EvalCtx {
        resolver: &NoReferences,
        count_index: None,
        each: None,
        module_dir: ".".into(),
        root_dir: base,
        sources,
    };
    eval(expr, &ctx)
}

fn find_call(e: &Expression) -> Option<&FuncCall> {
    match e {
        Expression::FuncCall(f) => Some(f),
        Expression::Array(a) => a.iter().find_map(find_call),
        Expression::Object(o) => o.iter().find_map(|(k, v)| {
            let from_key = match k {
                hcl_edit::expr::ObjectKey::Expression(k) => find_call(k),
                hcl_edit::expr::ObjectKey::Ident(_) => None,
            };
            from_key.or_else(|| find_call(v.expr()))
        }),
        Expression::StringTemplate(t) => find_call_template(t),
        Expression::HeredocTemplate(h) => find_call_template(&h.template),
        Expression::Parenthesis(p) => find_call(p.inner()),
        Expression::Conditional(c) => {
            find_call(&c.cond_expr).or_else(|| find_call(&c.true_expr)).or_else(|| find_call(&c.false_expr))
        }
        Expression::Traversal(t) => find_call(&t.expr),
        Expression::UnaryOp(u) => find_call(&u.expr),
        Expression::BinaryOp(b) => find_call(&b.lhs_expr).or_else(|| find_call(&b.rhs_expr)),
        Expression::ForExpr(f) => find_call(&f.intro.collection_expr).or_else(|| find_call(&f.value_expr)),
        _ => None,
    }
}

fn find_call_template(t: &Template) -> Option<&FuncCall> {
    t.iter().find_map(|el| match el {
        Element::Literal(_) => None,
        Element::Interpolation(i) => find_call(&i.expr),
        Element::Directive(d) => match d.as_ref() {
            Directive::If(d) => find_call(&d.if_expr.cond_expr),
            Directive::For(d) => find_call(&d.for_expr.collection_expr),
        },
    })
}

fn load_tfvars_json(text: &str, file: FileId) -> Result<IndexMap<String, (Value, Span)>, Diagnostics> {
    let whole = Span { file, start: 0, end: text.len() };
    let json: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        let offset = text.split('\n').take(e.line().saturating_sub(1)).map(|l| l.len() + 1).sum::<usize>()
            + e.column().saturating_sub(1);
        Diagnostics::from(Diagnostic::error("Syntax error in variables file").detail(e.to_string()).at(Span {
            file,
            start: offset,
            end: offset + 1,
        }))
    })?;
    let serde_json::Value::Object(map) = json else {
        return Err(Diagnostic::error("Invalid variables file")
            .detail("A .tfvars.json file holds one JSON object of variable names to values.")
            .at(whole)
            .into());
    };
    Ok(map
        .iter()
        .map(|(k, v)| {
            let key = format!("\"{k}\"");
            let span = text.find(&key).map(|start| Span { file, start, end: start + key.len() }).unwrap_or(whole);
            (k.clone(), (Value::from_json(v), span))
        })
        .collect())
}

fn final_value(
    config: &Config,
    var: &Variable,
    given: Option<Given>,
    sources: &SourceMap,
) -> Result<Value, Diagnostic> {
    let name = &var.name;
    let default = |sources: &SourceMap| -> Result<Option<Value>, Diagnostic> {
        let Some(d) = &var.default else { return Ok(None) };
        let ctx = EvalCtx {
            resolver: &NoReferences,
            count_index: None,
            each: None,
            module_dir: ".".into(),
            root_dir: &config.root_dir,
            sources,
        };
        let v = eval(d, &ctx).map_err(|ds| {
            ds.0.into_iter().next().unwrap_or_else(|| Diagnostic::error("Invalid default value").at(d.span))
        })?;
        types::convert(v, &var.ty).map(Some).map_err(|m| {
            Diagnostic::error(format!("Invalid default value for variable \"{name}\""))
                .detail(format!("The default is not a valid {}: {m}.", var.ty))
                .at(d.span)
        })
    };
    let Some(g) = given else {
        return match default(sources)? {
            Some(v) => Ok(v),
            None => Err(Diagnostic::error(format!("No value for required variable \"{name}\""))
                .detail(format!("The root module variable \"{name}\" has no default, and no value was given for it."))
                .help(format!("set it with -var '{name}=…', TF_VAR_{name}, or a .tfvars file"))
                .at(var.span)),
        };
    };
    if g.value.is_null() && !var.nullable {
        return match default(sources)? {
            Some(v) => Ok(v),
            None => Err(Diagnostic::error(format!("Invalid value for variable \"{name}\""))
                .detail(format!(
                    "{} sets \"{name}\" to null, but the variable is declared with nullable = false.",
                    g.origin
                ))
                .at(g.span.unwrap_or(var.span))),
        };
    }
    types::convert(g.value, &var.ty).map_err(|m| {
        let why = if var.sensitive { "the value is sensitive, so it is not shown".to_string() } else { m };
        Diagnostic::error(format!("Invalid value for variable \"{name}\""))
            .detail(format!(
                "The value from {} is not a valid {} for the variable declared at {}: {why}.",
                g.origin,
                var.ty,
                sources.location(var.span)
            ))
            .at(g.span.unwrap_or(var.span))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::load::load;

    struct Stack {
        dir: tempfile::TempDir,
        config: Config,
    }

    fn stack(files: &[(&str, &str)]) -> Stack {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).expect("write");
        }
        let config = match load(dir.path()) {
            Ok(c) => c,
            Err(e) => panic!("load failed:\n{e}"),
        };
        Stack { dir, config }
    }

    fn inputs(cli: Vec<VarArg>, env: &[(&str, &str)]) -> VarInputs {
        VarInputs { cli, env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() }
    }

    fn collect(s: &Stack, i: &VarInputs) -> Result<(BTreeMap<String, Value>, Diagnostics), String> {
        let mut sources = s.config.sources.clone();
        collect_root_variables_with_warnings(&s.config, i, &mut sources)
            .map_err(|d| sources.render_all_plain(&d).replace(&s.dir.path().display().to_string(), "stack"))
    }

    fn var(s: &str) -> VarArg {
        VarArg::Var(s.to_string())
    }

    const LAYERED: &str = "variable \"a\" {\n  default = \"default\"\n}\nvariable \"b\" {\n  default = \"default\"\n}\nvariable \"c\" {\n  default = \"default\"\n}\nvariable \"d\" {\n  default = \"default\"\n}\nvariable \"e\" {\n  default = \"default\"\n}\nvariable \"f\" {\n  default = \"default\"\n}\n";

    #[test]
    fn precedence_is_default_env_tfvars_auto_then_cli() {
        let s = stack(&[
            ("main.tf", LAYERED),
            ("terraform.tfvars", "b = \"tfvars\"\nc = \"tfvars\"\nd = \"tfvars\"\ne = \"tfvars\"\nf = \"tfvars\"\n"),
            ("a.auto.tfvars", "c = \"a.auto\"\nd = \"a.auto\"\ne = \"a.auto\"\nf = \"a.auto\"\n"),
            ("b.auto.tfvars", "d = \"b.auto\"\ne = \"b.auto\"\nf = \"b.auto\"\n"),
            ("extra.tfvars", "e = \"file\"\nf = \"file\"\n"),
        ]);
        let extra = s.dir.path().join("extra.tfvars");
        let i = inputs(
            vec![var("f=first"), VarArg::File(extra), var("f=cli")],
            &[("b", "env"), ("a", "\"env-a\""), ("zzz", "ignored")],
        );
        let (values, warnings) = collect(&s, &i).expect("collects");
        assert!(warnings.is_empty(), "{warnings:?}");
        let got: Vec<(&str, &str)> = values.iter().map(|(k, v)| (k.as_str(), v.as_str().unwrap_or("?"))).collect();
        // `a` comes from the environment (as an HCL string), `b` is overridden by terraform.tfvars.
        assert_eq!(
            got,
            [("a", "env-a"), ("b", "tfvars"), ("c", "a.auto"), ("d", "b.auto"), ("e", "file"), ("f", "cli")]
        );
    }

    #[test]
    fn cli_values_are_strings_for_string_variables_and_hcl_otherwise() {
        let mut s = stack(&[("main.tf", "variable \"s\" {}\nvariable \"any\" {}\nvariable \"word\" {}\n")]);
        if let Some(root) = s.config.modules.get_mut(&ModulePath::root()) {
            if let Some(v) = root.variables.get_mut("s") {
                v.ty = TypeConstraint::String;
            }
        }
        let i = inputs(vec![var("s=[1, 2]"), var("any=[1, 2]"), var("word=hello world")], &[]);
        let (values, _) = collect(&s, &i).expect("collects");
        assert_eq!(values["s"], Value::string("[1, 2]"));
        assert_eq!(values["any"], Value::List(vec![1.into(), 2.into()]));
        assert_eq!(values["word"], Value::string("hello world"));
    }

    #[test]
    fn required_variables_need_a_value() {
        let s = stack(&[("main.tf", "variable \"region\" {\n}\n")]);
        insta::assert_snapshot!(collect(&s, &inputs(vec![], &[])).expect_err("required"), @r#"
        Error: No value for required variable "region"
          --> stack/main.tf:1:1
           | variable "region" {
           | ^^^^^^^^^^^^^^^^^
          The root module variable "region" has no default, and no value was given for it.
          help: set it with -var 'region=…', TF_VAR_region, or a .tfvars file
        "#);
    }

    #[test]
    fn undeclared_names() {
        let s = stack(&[
            ("main.tf", "variable \"region\" {\n  default = \"x\"\n}\n"),
            ("terraform.tfvars", "regoin = \"eu\"\n"),
        ]);
        let (_, warnings) = collect(&s, &inputs(vec![], &[("other", "1")])).expect("warning only");
        assert_eq!(warnings.0.len(), 1);
        assert!(!warnings.has_errors());
        assert_eq!(warnings.0[0].help.as_deref(), Some("did you mean \"region\"?"));
        let msg = collect(&s, &inputs(vec![var("regoin=eu")], &[])).expect_err("undeclared -var");
        assert!(
            msg.contains("Value for undeclared variable \"regoin\"") && msg.contains("did you mean \"region\"?"),
            "{msg}"
        );
        assert!(collect(&s, &inputs(vec![var("region")], &[])).expect_err("no =").contains("NAME=VALUE"));
    }

    #[test]
    fn nullable_false_rejects_null_or_uses_default() {
        let s = stack(&[("main.tf", "variable \"a\" {\n  nullable = false\n  default = \"d\"\n}\nvariable \"b\" {\n  nullable = false\n}\nvariable \"c\" {\n  default = \"d\"\n}\n")]);
        let msg = collect(&s, &inputs(vec![var("a=null"), var("b=null"), var("c=null")], &[]))
            .expect_err("b is not nullable");
        assert!(msg.contains("nullable = false") && msg.contains("Invalid value for variable \"b\""), "{msg}");
        let (values, _) = collect(&s, &inputs(vec![var("a=null"), var("b=1"), var("c=null")], &[])).expect("ok");
        assert_eq!(values["a"], Value::string("d"));
        assert_eq!(values["c"], Value::Null);
    }

    #[test]
    fn sensitive_variables_are_marked_and_never_shown() {
        let s = stack(&[("main.tf", "variable \"pw\" {\n  sensitive = true\n}\n")]);
        let (values, _) = collect(&s, &inputs(vec![var("pw=\"hunter2\"")], &[])).expect("ok");
        assert!(values["pw"].is_sensitive());
        let mut s = s;
        if let Some(v) = s.config.modules.get_mut(&ModulePath::root()).and_then(|m| m.variables.get_mut("pw")) {
            v.ty = TypeConstraint::List(Box::new(TypeConstraint::String));
        }
        let msg = collect(&s, &inputs(vec![var("pw=[hunter2 ")], &[])).expect_err("bad value");
        assert!(msg.contains("stack/main.tf:1:1"), "{msg}");
        assert_eq!(msg.matches("Error:").count(), 1, "no second 'no value' error: {msg}");
        let msg = collect(&s, &inputs(vec![var("pw=[hunter2]")], &[])).expect_err("reference in value");
        assert!(msg.contains("the variable is sensitive"), "{msg}");
        assert!(!msg.contains("hunter2"), "{msg}");
    }

    #[test]
    fn tfvars_files_take_literals_only() {
        let s =
            stack(&[("main.tf", "variable \"a\" {\n  default = 1\n}\n"), ("terraform.tfvars", "a = upper(\"x\")\n")]);
        insta::assert_snapshot!(collect(&s, &inputs(vec![], &[])).expect_err("function call"), @r#"
        Error: Function calls not allowed
          --> stack/terraform.tfvars:1:5
           | a = upper("x")
           |     ^^^^^^^^^^
          Values here must be literals: functions can't be called.
        "#);
        let s = stack(&[("main.tf", "variable \"a\" {\n  default = 1\n}\n"), ("terraform.tfvars", "a = var.b\n")]);
        assert!(collect(&s, &inputs(vec![], &[])).expect_err("reference").contains("Variables not allowed"));
        let s = stack(&[
            ("main.tf", "variable \"a\" {\n  default = 1\n}\n"),
            ("x.auto.tfvars.json", "{\"a\": {\"k\": [1, 2]}}"),
        ]);
        let (values, _) = collect(&s, &inputs(vec![], &[])).expect("json");
        assert_eq!(values["a"], Value::map([("k", Value::List(vec![1.into(), 2.into()]))]));
        let mut sources = SourceMap::new();
        assert!(load_tfvars(&s.dir.path().join("missing.tfvars"), &mut sources, &|_| false).is_err());
        std::fs::write(s.dir.path().join("ok.tfvars"), "x = [1, \"two\", { a = true }]\ny = 1 + 2\n").expect("write");
        let vals = load_tfvars(&s.dir.path().join("ok.tfvars"), &mut sources, &|_| false).expect("loads");
        assert_eq!(vals["y"].0, Value::from(3));
        assert_eq!(sources.location(vals["x"].1).rsplit('/').next(), Some("ok.tfvars:1:5"));
    }

    #[test]
    fn validations_run_and_skip_unknowns() {
        let s = stack(&[(
            "main.tf",
            "variable \"size\" {\n  validation {\n    condition = var.size > 3\n    error_message = \"Size must be more than 3.\"\n  }\n}\n",
        )]);
        let root = ModulePath::root();
        let mut values = BTreeMap::new();
        values.insert("size".to_string(), Value::from(2));
        let d = check_variable_validations(&s.config, &root, &values, &s.config.sources);
        assert_eq!(d.0.len(), 1);
        let shown = s.config.sources.render_plain(&d.0[0]).replace(&s.dir.path().display().to_string(), "stack");
        insta::assert_snapshot!(shown, @r#"
        Error: Invalid value for variable "size"
          --> stack/main.tf:1:1
           | variable "size" {
           | ^^^^^^^^^^^^^^^
          Size must be more than 3.
          
          This was checked by the validation rule at stack/main.tf:2:3.
        "#);
        values.insert("size".to_string(), Value::from(5));
        assert!(check_variable_validations(&s.config, &root, &values, &s.config.sources).is_empty());
        values.insert("size".to_string(), Value::unknown());
        assert!(check_variable_validations(&s.config, &root, &values, &s.config.sources).is_empty());
        values.insert("size".to_string(), Value::from(1).sensitive());
        let d = check_variable_validations(&s.config, &root, &values, &s.config.sources);
        assert_eq!(d.0.len(), 1);
    }

    #[test]
    fn validation_messages_with_secrets_are_withheld() {
        let s = stack(&[(
            "main.tf",
            "variable \"pw\" {\n  sensitive = true\n  validation {\n    condition = var.pw != \"bad\"\n    error_message = \"got ${var.pw}\"\n  }\n}\n",
        )]);
        let mut values = BTreeMap::new();
        values.insert("pw".to_string(), Value::string("bad").sensitive());
        let d = check_variable_validations(&s.config, &ModulePath::root(), &values, &s.config.sources);
        let shown = s.config.sources.render_all_plain(&d);
        assert!(shown.contains("sensitive value, so it is not shown") && !shown.contains("got bad"), "{shown}");
    }
}
