//! Expression evaluation with Terraform's semantics, including unknown ("known after apply")
//! and sensitive values.
//!
//! Mark rules: anything computed from an unknown is unknown; anything computed from a sensitive
//! value is sensitive, but indexing keeps marks where they were (the one secret element of a
//! list stays marked, its neighbours do not). Error messages never show a sensitive value.

use std::collections::BTreeMap;
use std::path::Path;

use hcl_edit::expr::{BinaryOperator, Expression, FuncCall, ObjectKey, Traversal, TraversalOperator, UnaryOperator};
use hcl_edit::template::{Directive, Element, Template};
use hcl_edit::{Decorated, Span as _};

use crate::lang::config::{Body, Expr};
use crate::lang::diag::{suggest, Diagnostic, Diagnostics, FileId, SourceFile, SourceMap, Span};
use crate::lang::functions::{self, Clock, FuncContext};
use crate::lang::limits::MAX_TEMPLATE_DEPTH;
use crate::lang::refs::{classify_traversal, RefRoot};
use crate::lang::value::{Number, Value};
use crate::schema::{Nesting, Schema};

/// Supplies the values of references that live outside the expression.
pub trait Resolver {
    /// `var.x`, `local.x`, resources (the whole object, or a list/map of instance objects under
    /// count/for_each), `module.m` (a map of its outputs), `self`.
    fn resolve(&self, root: &RefRoot, span: Span) -> Result<Value, Diagnostic>;

    /// What `plantimestamp()` and `timestamp()` return here. Both are unknown unless the
    /// resolver belongs to a plan or an apply, which know their times.
    fn clock(&self) -> Clock {
        Clock::default()
    }

    /// What `terraform.workspace` reads: the workspace the run works in. `default` unless the
    /// resolver belongs to a run that knows its workspace.
    fn workspace(&self) -> &str {
        "default"
    }

    /// True in `cairn console`, where the console-only `type()` function exists.
    fn console_mode(&self) -> bool {
        false
    }
}

/// A resolver for places where no references are allowed (variable defaults, tfvars files,
/// template files): every reference is an error.
pub struct NoReferences;

impl Resolver for NoReferences {
    fn resolve(&self, root: &RefRoot, span: Span) -> Result<Value, Diagnostic> {
        Err(Diagnostic::error("Variables not allowed")
            .detail(format!(
                "\"{root}\" cannot be used here: only literal values and functions are allowed in this place."
            ))
            .at(span))
    }
}

pub struct EvalCtx<'a> {
    pub resolver: &'a dyn Resolver,
    pub count_index: Option<i64>,
    pub each: Option<(Value, Value)>,
    /// `path.module`, relative to the stack directory; "." for the root module.
    pub module_dir: String,
    pub root_dir: &'a Path,
    pub sources: &'a SourceMap,
}

/// Evaluates one expression.
pub fn eval(expr: &Expr, ctx: &EvalCtx) -> Result<Value, Diagnostics> {
    Evaluator::new(ctx, expr.span.file).expr(&expr.expr)
}

/// The console's `type(x)`: when `expr` is exactly a call to `type`, the type of its argument
/// as Terraform's console prints it ([`functions::type_string`]); `None` for any other
/// expression, which the console evaluates as usual (where a nested `type` is refused).
pub fn console_type_of(expr: &Expr, ctx: &EvalCtx) -> Option<Result<String, Diagnostics>> {
    let mut inner = &expr.expr;
    while let Expression::Parenthesis(p) = inner {
        inner = p.inner();
    }
    let Expression::FuncCall(fc) = inner else { return None };
    if fc.name.is_namespaced() || fc.name.name.value().as_str() != "type" {
        return None;
    }
    let mut ev = Evaluator::new(ctx, expr.span.file);
    let args: Vec<&Expression> = fc.args.iter().collect();
    let [arg] = args.as_slice() else {
        return Some(Err(err("Invalid function argument")
            .detail(format!("Function \"type\" expects 1 argument(s), {} given.", args.len()))
            .at_opt(ev.sp(fc))
            .into()));
    };
    Some(ev.expr(arg).map(|v| functions::type_string(&v)))
}

/// Evaluates an expression with extra names in scope (e.g. a `dynamic` block's iterator, or
/// template variables).
pub fn eval_with(expr: &Expr, ctx: &EvalCtx, names: &[(&str, Value)]) -> Result<Value, Diagnostics> {
    let mut ev = Evaluator::new(ctx, expr.span.file);
    ev.scope.extend(names.iter().map(|(n, v)| (n.to_string(), v.clone())));
    ev.expr(&expr.expr)
}

/// Evaluates a block body to a map: attributes by name; nested (and dynamic) blocks as lists of
/// maps grouped by block type. Absent attributes are absent from the map.
pub fn eval_body(body: &Body, ctx: &EvalCtx) -> Result<Value, Diagnostics> {
    eval_body_with_schema(body, ctx, None)
}

/// Like [`eval_body`], but nested blocks that `schema` declares as set-nested become
/// [`Value::Set`]s (the schema of each nested block is used for its own nested blocks).
pub fn eval_body_with_schema(body: &Body, ctx: &EvalCtx, schema: Option<&Schema>) -> Result<Value, Diagnostics> {
    let file = body
        .span
        .map(|s| s.file)
        .or_else(|| body.attributes.values().next().map(|a| a.span.file))
        .or_else(|| body.blocks.first().map(|b| b.span.file))
        .or_else(|| body.dynamic_blocks.first().map(|b| b.span.file))
        .unwrap_or(FileId(0));
    Evaluator::new(ctx, file).body(body, schema)
}

type Eval = Result<Value, Diagnostics>;

/// A stand-in file id for templates rendered by `templatefile`, whose text is not in the
/// SourceMap; their diagnostics are turned into messages before they leave the renderer.
const TEMPLATE_FILE: FileId = FileId(u32::MAX);

struct Evaluator<'c, 'a> {
    ctx: &'c EvalCtx<'a>,
    file: FileId,
    /// Names bound by `for` expressions, template `for` directives, `dynamic` iterators and
    /// template variables; innermost last.
    scope: Vec<(String, Value)>,
    /// How many `templatefile` renderings enclose this one: bounded, so a template that renders
    /// itself is an error instead of a stack overflow.
    template_depth: usize,
    /// Set whenever evaluation meets a sensitive value (a result, a traversal's base or any
    /// step of it). `try` and `can` read it around each argument: an argument that *failed*
    /// after touching a secret has told something about the secret, so their answer carries
    /// the mark even though no sensitive value is returned.
    saw_sensitive: bool,
}

fn err(summary: impl Into<String>) -> Diagnostic {
    Diagnostic::error(summary)
}

/// Gathers results, keeping every error rather than only the first.
fn collect_all<T>(results: impl IntoIterator<Item = Result<T, Diagnostics>>) -> Result<Vec<T>, Diagnostics> {
    let mut oks = Vec::new();
    let mut errs = Diagnostics::new();
    for r in results {
        match r {
            Ok(v) => oks.push(v),
            Err(d) => errs.extend(d),
        }
    }
    if errs.is_empty() {
        Ok(oks)
    } else {
        Err(errs)
    }
}

/// Splits off a top-level sensitive mark.
fn unmark(v: Value) -> (Value, bool) {
    let s = v.is_sensitive();
    (v.into_peeled(), s)
}

/// A short description of a value for error messages; never shows sensitive content.
fn describe(v: &Value) -> String {
    if v.contains_sensitive() {
        return format!("a sensitive {}", v.type_name());
    }
    match v {
        Value::String(s) if s.chars().count() <= 40 => format!("the string {s:?}"),
        Value::String(_) => "a string".into(),
        Value::Number(n) => format!("the number {n}"),
        Value::Bool(b) => format!("the bool {b}"),
        Value::Null => "null".into(),
        other => format!("a {}", other.type_name()),
    }
}

/// A number literal's value, read from its source text so that no digit is lost (hcl-edit's
/// own value is an f64 past 64-bit integers: `18446744073709551617`, `0.1` as a binary float).
pub(crate) fn literal_number(n: &hcl_edit::Formatted<hcl_edit::Number>) -> Option<Number> {
    if let Some(repr) = n.as_repr() {
        // A negative literal's text is `-` and the digits, maybe with spaces between.
        let text: String = repr.chars().filter(|c| !c.is_whitespace()).collect();
        if let Ok(x) = Number::parse(&text) {
            return Some(x);
        }
    }
    let v = n.value();
    v.as_i64()
        .map(Number::from)
        .or_else(|| v.as_u64().map(Number::from))
        .or_else(|| v.as_f64().and_then(Number::from_f64))
}

/// A number, or a string converted to one as Terraform converts it (cty's `ParseNumberVal`:
/// no surrounding spaces).
fn to_number(v: &Value) -> Result<Number, String> {
    match v.peel() {
        Value::Number(n) => Ok(n.clone()),
        Value::String(s) => Number::parse(s).map_err(|_| {
            if v.is_sensitive() {
                "a number is required, but the (sensitive) string is not a number".to_string()
            } else {
                format!("a number is required, but {} is not a number", describe(v))
            }
        }),
        Value::Null => Err("a number is required, but the value is null".into()),
        other => Err(format!("a number is required, not a {}", other.type_name())),
    }
}

fn to_bool(v: &Value) -> Result<bool, String> {
    match v.peel() {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s == "true" => Ok(true),
        Value::String(s) if s == "false" => Ok(false),
        Value::Null => Err("a bool is required, but the value is null".into()),
        other => Err(format!("a bool is required, not a {}", other.type_name())),
    }
}

/// Converts a primitive to the string Terraform would interpolate.
fn to_template_string(v: &Value) -> Result<String, String> {
    primitive_string(v).map_err(|other| match other {
        Value::Null => "the value is null; a null value cannot be included in a string (use coalesce() or a conditional to give a default)".into(),
        other => format!("a {} cannot be included in a string; only strings, numbers and bools can (use jsonencode() or join() to turn it into a string)", other.type_name()),
    })
}

/// An object key: strings, and numbers/bools converted to strings.
fn to_key(v: &Value) -> Result<String, String> {
    primitive_string(v).map_err(|other| match other {
        Value::Null => "a key must not be null".into(),
        other => format!("a key must be a string, not a {}", other.type_name()),
    })
}

/// A string, number or bool as Terraform converts it to a string; anything else back as it is.
fn primitive_string(v: &Value) -> Result<String, &Value> {
    match v.peel() {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(other),
    }
}

/// The (key, value) pairs a `for` expression or `dynamic` block iterates over.
fn iteration_items(coll: &Value) -> Option<Vec<(Value, Value)>> {
    match coll {
        Value::List(xs) => Some(xs.iter().enumerate().map(|(i, x)| (Value::from(i as i64), x.clone())).collect()),
        // A set has no keys: Terraform gives the element itself as the key.
        Value::Set(xs) => Some(xs.iter().map(|x| (x.clone(), x.clone())).collect()),
        Value::Map(m) => Some(m.iter().map(|(k, x)| (Value::string(k.clone()), x.clone())).collect()),
        _ => None,
    }
}

impl<'c, 'a> Evaluator<'c, 'a> {
    fn new(ctx: &'c EvalCtx<'a>, file: FileId) -> Self {
        Evaluator { ctx, file, scope: Vec::new(), template_depth: 0, saw_sensitive: false }
    }

    fn sp(&self, node: &impl hcl_edit::Span) -> Option<Span> {
        node.span().map(|r| Span { file: self.file, start: r.start, end: r.end })
    }

    fn span_between(&self, start: Option<usize>, end: Option<usize>) -> Option<Span> {
        Some(Span { file: self.file, start: start?, end: end? })
    }

    fn lookup(&self, name: &str) -> Option<&Value> {
        self.scope.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    fn expr(&mut self, expr: &Expression) -> Eval {
        let r = self.expr_unobserved(expr);
        if let Ok(v) = &r {
            self.observe(v);
        }
        r
    }

    /// Notes that evaluation has met `v` (see [`Evaluator::saw_sensitive`]).
    fn observe(&mut self, v: &Value) {
        if !self.saw_sensitive && v.contains_sensitive() {
            self.saw_sensitive = true;
        }
    }

    fn expr_unobserved(&mut self, expr: &Expression) -> Eval {
        match expr {
            Expression::Null(_) => Ok(Value::Null),
            Expression::Bool(b) => Ok(Value::Bool(*b.value())),
            Expression::Number(n) => match literal_number(n) {
                Some(x) => Ok(Value::Number(x)),
                None => {
                    Err(err("Invalid number").detail("This number cannot be represented.").at_opt(self.sp(expr)).into())
                }
            },
            Expression::String(s) => Ok(Value::String(s.value().clone())),
            Expression::Array(items) => {
                Ok(Value::List(collect_all(items.iter().map(|e| self.expr(e)).collect::<Vec<_>>())?))
            }
            Expression::Object(obj) => self.object(obj),
            Expression::StringTemplate(t) => self.template_value(t),
            Expression::HeredocTemplate(h) => self.template_value(&h.template),
            Expression::Parenthesis(p) => self.expr(p.inner()),
            Expression::Variable(v) => self.variable(v),
            Expression::Conditional(c) => {
                let cond = self.expr(&c.cond_expr)?;
                let (cond, s) = unmark(cond);
                if cond.is_unknown() {
                    return Ok(Value::unknown().mark_if(s));
                }
                let b = match &cond {
                    Value::Null => {
                        return Err(err("Null condition")
                            .detail("The condition value is null. Conditions must either be true or false.")
                            .at_opt(self.sp(&c.cond_expr))
                            .into())
                    }
                    v => to_bool(v).map_err(|m| {
                        Diagnostics::from(
                            err("Incorrect condition type")
                                .detail(format!("The condition expression must be of type bool: {m}."))
                                .at_opt(self.sp(&c.cond_expr)),
                        )
                    })?,
                };
                let (chosen_expr, other_expr) =
                    if b { (&c.true_expr, &c.false_expr) } else { (&c.false_expr, &c.true_expr) };
                let chosen = self.expr(chosen_expr)?;
                // HCL unifies the two results' types: a number or bool against a string
                // becomes a string (`true ? 12 : "hello"` is "12"). The other result only
                // lends its type, so its errors and the secrets it reads do not count.
                let chosen = if matches!(chosen.peel(), Value::Number(_) | Value::Bool(_)) {
                    let saw = self.saw_sensitive;
                    let depth = self.scope.len();
                    let other = self.expr(other_expr);
                    self.scope.truncate(depth);
                    self.saw_sensitive = saw;
                    match other {
                        Ok(o)
                            if matches!(o.peel(), Value::String(_))
                                || std::mem::discriminant(o.peel()) != std::mem::discriminant(chosen.peel())
                                    && matches!(o.peel(), Value::Number(_) | Value::Bool(_)) =>
                        {
                            let marked = chosen.is_sensitive();
                            crate::lang::types::convert(
                                chosen.into_peeled(),
                                &crate::lang::types::TypeConstraint::String,
                            )
                            .map_err(|m| {
                                Diagnostics::from(
                                    err("Inconsistent conditional result types").detail(m).at_opt(self.sp(chosen_expr)),
                                )
                            })?
                            .mark_if(marked)
                        }
                        _ => chosen,
                    }
                } else {
                    chosen
                };
                Ok(chosen.mark_if(s))
            }
            Expression::FuncCall(f) => self.call(f),
            Expression::Traversal(t) => self.traversal(t),
            Expression::UnaryOp(u) => {
                let v = self.expr(&u.expr)?;
                let (v, s) = unmark(v);
                if v.is_unknown() {
                    return Ok(Value::unknown().mark_if(s));
                }
                let out = match u.operator.value() {
                    UnaryOperator::Neg => to_number(&v).map(|n| Value::Number(n.neg())),
                    UnaryOperator::Not => to_bool(&v).map(|b| Value::Bool(!b)),
                };
                out.map(|v| v.mark_if(s)).map_err(|m| {
                    let op = match u.operator.value() {
                        UnaryOperator::Neg => "-",
                        UnaryOperator::Not => "!",
                    };
                    err("Invalid operand")
                        .detail(format!("Unsuitable value for the \"{op}\" operator: {m}."))
                        .at_opt(self.sp(&u.expr))
                        .into()
                })
            }
            Expression::BinaryOp(b) => self.binary(b),
            Expression::ForExpr(f) => {
                let depth = self.scope.len();
                let r = self.for_expr(f);
                self.scope.truncate(depth);
                r
            }
        }
    }

    fn object(&mut self, obj: &hcl_edit::expr::Object) -> Eval {
        let mut out = BTreeMap::new();
        let mut errs = Diagnostics::new();
        let mut unknown = false;
        let mut sensitive = false;
        for (k, v) in obj.iter() {
            let key = match k {
                ObjectKey::Ident(id) => Some(id.value().as_str().to_string()),
                ObjectKey::Expression(e) => match self.expr(e) {
                    Ok(kv) if kv.is_unknown() => {
                        unknown = true;
                        sensitive |= kv.is_sensitive();
                        None
                    }
                    Ok(kv) => {
                        sensitive |= kv.is_sensitive();
                        match to_key(&kv) {
                            Ok(k) => Some(k),
                            Err(m) => {
                                errs.push(err("Invalid object key").detail(format!("{m}.")).at_opt(self.sp(e)));
                                None
                            }
                        }
                    }
                    Err(d) => {
                        errs.extend(d);
                        None
                    }
                },
            };
            match self.expr(v.expr()) {
                Ok(val) => {
                    if let Some(key) = key {
                        // Later keys win, as in Terraform.
                        out.insert(key, val);
                    }
                }
                Err(d) => errs.extend(d),
            }
        }
        if !errs.is_empty() {
            return Err(errs);
        }
        if unknown {
            return Ok(Value::unknown().mark_if(sensitive));
        }
        Ok(Value::object(out).mark_if(sensitive))
    }

    fn variable(&mut self, v: &Decorated<hcl_edit::Ident>) -> Eval {
        let name = v.value().as_str();
        if let Some(val) = self.lookup(name) {
            return Ok(val.clone());
        }
        let span = self.sp(v);
        match name {
            "self" => self.resolve(&RefRoot::SelfRef, span),
            "var" | "local" | "module" | "data" | "count" | "each" | "path" | "terraform" => {
                Err(err("Invalid reference")
                    .detail(format!(
                "The \"{name}\" object cannot be used on its own; access one of its attributes, like {name}.{}.",
                example_attr(name)
            ))
                    .at_opt(span)
                    .into())
            }
            _ => {
                let mut d = err(format!("Unknown name \"{name}\""))
                    .detail(format!("There is no variable named \"{name}\" in this scope."))
                    .at_opt(span);
                let in_scope: Vec<&str> = self.scope.iter().map(|(n, _)| n.as_str()).collect();
                d = match suggest(name, in_scope) {
                    Some(s) => d.help(s),
                    None => d.help(format!("to use the text \"{name}\" itself, quote it: \"{name}\"; a resource reference needs a type and a name, like TYPE.NAME")),
                };
                Err(d.into())
            }
        }
    }

    fn resolve(&self, root: &RefRoot, span: Option<Span>) -> Eval {
        let at = |d: Diagnostic| Diagnostics::from(d.at_opt(span));
        match root {
            RefRoot::CountIndex => match self.ctx.count_index {
                Some(i) => Ok(Value::from(i)),
                None => Err(at(err("Reference to \"count\" in non-counted context")
                    .detail("The \"count\" object can only be used in \"resource\" and \"data\" blocks, and only when the \"count\" argument is set."))),
            },
            RefRoot::EachKey | RefRoot::EachValue => match &self.ctx.each {
                Some((k, v)) => Ok(if *root == RefRoot::EachKey { k.clone() } else { v.clone() }),
                None => Err(at(err("Reference to \"each\" in context without for_each")
                    .detail("The \"each\" object can only be used in \"resource\" and \"data\" blocks, and only when the \"for_each\" argument is set."))),
            },
            RefRoot::PathModule => Ok(Value::string(self.ctx.module_dir.clone())),
            RefRoot::PathRoot => Ok(Value::string(".")),
            RefRoot::PathCwd => {
                let dir = if self.ctx.root_dir.is_absolute() {
                    self.ctx.root_dir.to_path_buf()
                } else {
                    std::env::current_dir().map(|c| c.join(self.ctx.root_dir)).unwrap_or_else(|_| self.ctx.root_dir.to_path_buf())
                };
                Ok(Value::string(dir.display().to_string()))
            }
            RefRoot::TerraformWorkspace => Ok(Value::string(self.ctx.resolver.workspace())),
            RefRoot::Iterator(name) => self.lookup(name).cloned().ok_or_else(|| at(err(format!("Unknown name \"{name}\"")))),
            other => {
                let span = span.unwrap_or(Span { file: self.file, start: 0, end: 0 });
                self.ctx.resolver.resolve(other, span).map_err(|d| Diagnostics::from(d.at_opt(Some(span))))
            }
        }
    }

    fn traversal(&mut self, t: &Traversal) -> Eval {
        let ops = &t.operators[..];
        let (base, rest) = match &t.expr {
            Expression::Variable(root) => {
                let name = root.value().as_str();
                if self.lookup(name).is_some() {
                    (self.variable(root)?, ops)
                } else {
                    match classify_traversal(name, ops) {
                        Some((ref_root, consumed)) => {
                            let start = root.span().map(|r| r.start);
                            let end = match consumed {
                                0 => root.span().map(|r| r.end),
                                n => ops.get(n - 1).and_then(|o| o.span()).map(|r| r.end),
                            };
                            let span = self.span_between(start, end);
                            (self.resolve(&ref_root, span)?, ops.get(consumed..).unwrap_or(&[]))
                        }
                        None => return Err(self.invalid_root(root, ops).into()),
                    }
                }
            }
            other => (self.expr(other)?, ops),
        };
        self.apply_ops(base, rest)
    }

    fn invalid_root(&self, root: &Decorated<hcl_edit::Ident>, ops: &[Decorated<TraversalOperator>]) -> Diagnostic {
        let name = root.value().as_str();
        let first_attr = match ops.first().map(|o| o.value()) {
            Some(TraversalOperator::GetAttr(a)) => Some(a.value().as_str().to_string()),
            _ => None,
        };
        let span = self.span_between(
            root.span().map(|r| r.start),
            ops.first().and_then(|o| o.span()).map(|r| r.end).or(root.span().map(|r| r.end)),
        );
        let valid: &[&str] = match name {
            "count" => &["index"],
            "each" => &["key", "value"],
            "path" => &["module", "root", "cwd"],
            "terraform" => &["workspace"],
            _ => &[],
        };
        if !valid.is_empty() {
            let list = valid.iter().map(|a| format!("{name}.{a}")).collect::<Vec<_>>().join(", ");
            let mut d = err(format!("Invalid \"{name}\" attribute"))
                .detail(format!("The \"{name}\" object has only these attributes: {list}."))
                .at_opt(span);
            if let Some(s) = first_attr.as_deref().and_then(|a| suggest(a, valid.iter().copied())) {
                d = d.help(s);
            }
            return d;
        }
        match name {
            "var" | "local" | "module" | "data" => err("Invalid reference")
                .detail(format!(
                    "A reference to \"{name}\" must be followed by a name, like {name}.{}.",
                    example_attr(name)
                ))
                .at_opt(span),
            _ => err(format!("Unknown name \"{name}\""))
                .detail(format!("There is no variable named \"{name}\"; a resource reference is written TYPE.NAME."))
                .at_opt(span),
        }
    }

    fn apply_ops(&mut self, mut v: Value, ops: &[Decorated<TraversalOperator>]) -> Eval {
        let mut i = 0;
        while let Some(op) = ops.get(i) {
            // The step below may fail on what it finds here (a missing attribute of a secret
            // object), which `try`/`can` must not turn into an unmarked answer. A step looks
            // only at the container it steps into, not at marked values inside it.
            if v.is_sensitive() {
                self.saw_sensitive = true;
            }
            let span = self.sp(op);
            match op.value() {
                TraversalOperator::GetAttr(name) => v = self.get_attr(v, name.value().as_str(), span)?,
                TraversalOperator::Index(e) => {
                    let key = self.expr(e)?;
                    v = self.index(v, key, span)?;
                }
                TraversalOperator::LegacyIndex(n) => v = self.index(v, Value::from(*n.value()), span)?,
                TraversalOperator::FullSplat(_) => {
                    let rest = ops.get(i + 1..).unwrap_or(&[]);
                    return self.splat(v, rest);
                }
                TraversalOperator::AttrSplat(_) => {
                    // An attribute-only splat applies only the attribute accesses right after it
                    // to each element; later operators apply to the resulting list.
                    let mut j = i + 1;
                    while matches!(ops.get(j).map(|o| o.value()), Some(TraversalOperator::GetAttr(_))) {
                        j += 1;
                    }
                    v = self.splat(v, ops.get(i + 1..j).unwrap_or(&[]))?;
                    i = j;
                    continue;
                }
            }
            i += 1;
        }
        Ok(v)
    }

    fn splat(&mut self, v: Value, per_element: &[Decorated<TraversalOperator>]) -> Eval {
        let (v, s) = unmark(v);
        let items = match v {
            Value::Unknown(_) => return Ok(Value::unknown().mark_if(s)),
            Value::Null => return Ok(Value::List(vec![]).mark_if(s)),
            Value::List(xs) | Value::Set(xs) => xs,
            // A splat on a single value treats it as a one-element list.
            other => vec![other],
        };
        let out = collect_all(items.into_iter().map(|x| self.apply_ops(x, per_element)).collect::<Vec<_>>())?;
        Ok(Value::List(out).mark_if(s))
    }

    fn get_attr(&self, v: Value, name: &str, span: Option<Span>) -> Eval {
        let (v, s) = unmark(v);
        let fail = |d: Diagnostic| -> Eval { Err(d.at_opt(span).into()) };
        match v {
            Value::Unknown(_) => Ok(Value::unknown().mark_if(s)),
            Value::Null => fail(err("Attempt to get attribute from null value").detail(format!(
                "This value is null, so it does not have any attributes (looking for \"{name}\")."
            ))),
            Value::Map(m) => match m.get(name).cloned() {
                Some(x) => Ok(x.mark_if(s)),
                None => {
                    let mut d = err("Unsupported attribute").detail(format!("This object does not have an attribute named \"{name}\"."));
                    if !s {
                        if let Some(h) = suggest(name, m.keys().map(String::as_str)) {
                            d = d.help(h);
                        }
                    }
                    fail(d)
                }
            },
            Value::List(_) | Value::Set(_) => fail(
                err("Unsupported attribute")
                    .detail(format!("This value is a {}, which does not have attributes; \"{name}\" must be taken from its elements.", v.type_name()))
                    .help(format!("use [0].{name} for one element, or [*].{name} for a list of it from every element")),
            ),
            other => fail(err("Unsupported attribute").detail(format!("Can't access attribute \"{name}\" on a {} value.", other.type_name()))),
        }
    }

    fn index(&self, v: Value, key: Value, span: Option<Span>) -> Eval {
        let (v, s) = unmark(v);
        let (key, ks) = unmark(key);
        let s_all = s || ks;
        let fail = |d: Diagnostic| -> Eval { Err(d.at_opt(span).into()) };
        if v.is_unknown() || key.is_unknown() {
            return Ok(Value::unknown().mark_if(s_all));
        }
        if key.is_null() {
            return fail(err("Invalid index").detail("Can't use a null value as an index."));
        }
        match v {
            Value::Null => fail(err("Attempt to index null value").detail("This value is null, so it does not have any indices.")),
            Value::List(mut xs) => {
                let n = match to_number(&key) {
                    Ok(n) => n,
                    Err(_) => return fail(err("Invalid index").detail(format!("A list is indexed by a whole number, not by {}.", describe(&key.mark_if(ks))))),
                };
                if !n.is_integer() {
                    return fail(err("Invalid index").detail("A list index must be a whole number."));
                }
                let len = xs.len();
                let Some(i) = n.to_u64().and_then(|i| usize::try_from(i).ok()).filter(|i| *i < len) else {
                    let shown = if ks { "The index".to_string() } else { format!("Index {n}") };
                    let valid = if len == 0 { "it is empty".to_string() } else { format!("valid indexes are 0 to {}", len - 1) };
                    return fail(err("Invalid index").detail(format!("{shown} is out of range: the list has {len} element{} ({valid}).", if len == 1 { "" } else { "s" })));
                };
                Ok(xs.swap_remove(i).mark_if(s_all))
            }
            Value::Set(_) => fail(
                err("Invalid index")
                    .detail("Elements of a set are identified only by their value and don't have any separate index or key to select with.")
                    .help("convert it with tolist() first, or use a for expression to find the element you need"),
            ),
            Value::Map(m) => {
                let k = match to_key(&key) {
                    Ok(k) => k,
                    Err(msg) => return fail(err("Invalid index").detail(format!("{msg}."))),
                };
                match m.get(&k).cloned() {
                    Some(x) => Ok(x.mark_if(s_all)),
                    None => {
                        let shown = if ks { "The given key".to_string() } else { format!("The key {k:?}") };
                        let mut d = err("Invalid index").detail(format!("{shown} does not identify an element in this map."));
                        if !s_all {
                            if let Some(h) = suggest(&k, m.keys().map(String::as_str)) {
                                d = d.help(h);
                            }
                        }
                        fail(d)
                    }
                }
            }
            other => fail(err("Invalid index").detail(format!("A {} value does not have any indices.", other.type_name()))),
        }
    }

    fn binary(&mut self, b: &hcl_edit::expr::BinaryOp) -> Eval {
        use BinaryOperator::*;
        let op = *b.operator.value();
        let lhs = self.expr(&b.lhs_expr)?;
        // && and || short-circuit on a known, non-sensitive left operand (Terraform 1.12+).
        if matches!(op, And | Or) && !lhs.is_unknown() {
            if let Ok(l) = to_bool(&lhs) {
                if (op == And && !l) || (op == Or && l) {
                    return Ok(Value::Bool(l).mark_if(lhs.is_sensitive()));
                }
            }
        }
        let rhs = self.expr(&b.rhs_expr)?;
        let sensitive = match op {
            Eq | NotEq => lhs.contains_sensitive() || rhs.contains_sensitive(),
            _ => lhs.is_sensitive() || rhs.is_sensitive(),
        };
        let unknown = match op {
            Eq | NotEq => lhs.contains_unknown() || rhs.contains_unknown(),
            _ => lhs.is_unknown() || rhs.is_unknown(),
        };
        if unknown {
            return Ok(Value::unknown().mark_if(sensitive));
        }
        let operand_err = |side: &Expression, m: String| -> Diagnostics {
            err("Invalid operand")
                .detail(format!("Unsuitable value for the \"{}\" operator: {m}.", op.as_str()))
                .at_opt(self.sp(side))
                .into()
        };
        let num = |v: &Value, side: &Expression| to_number(v).map_err(|m| operand_err(side, m));
        let boolean = |v: &Value, side: &Expression| to_bool(v).map_err(|m| operand_err(side, m));
        let out = match op {
            Eq => Value::Bool(lhs.same_as(&rhs)),
            NotEq => Value::Bool(!lhs.same_as(&rhs)),
            And => Value::Bool(boolean(&lhs, &b.lhs_expr)? && boolean(&rhs, &b.rhs_expr)?),
            Or => Value::Bool(boolean(&lhs, &b.lhs_expr)? || boolean(&rhs, &b.rhs_expr)?),
            Less | LessEq | Greater | GreaterEq => {
                let (l, r) = (num(&lhs, &b.lhs_expr)?, num(&rhs, &b.rhs_expr)?);
                Value::Bool(match op {
                    Less => l < r,
                    LessEq => l <= r,
                    Greater => l > r,
                    _ => l >= r,
                })
            }
            Plus | Minus | Mul | Div | Mod => {
                let (l, r) = (num(&lhs, &b.lhs_expr)?, num(&rhs, &b.rhs_expr)?);
                let result = match op {
                    Plus => l.add(&r),
                    Minus => l.sub(&r),
                    Mul => l.mul(&r),
                    Div => l.div(&r),
                    _ => l.rem(&r),
                };
                // HCL's wording for an operator whose cty function fails (`0 / 0`).
                Value::Number(result.map_err(|e| {
                    Diagnostics::from(err("Operation failed").detail(format!("Error during operation: {e}.")).at_opt(
                        self.span_between(b.lhs_expr.span().map(|r| r.start), b.rhs_expr.span().map(|r| r.end)),
                    ))
                })?)
            }
        };
        Ok(out.mark_if(sensitive))
    }

    fn for_expr(&mut self, f: &hcl_edit::expr::ForExpr) -> Eval {
        let coll = self.expr(&f.intro.collection_expr)?;
        let (coll, mut sensitive) = unmark(coll);
        if coll.is_unknown() {
            return Ok(Value::unknown().mark_if(sensitive));
        }
        let Some(items) = iteration_items(&coll) else {
            let what = if coll.is_null() { "null".to_string() } else { format!("a {}", coll.type_name()) };
            return Err(err("Iteration over non-iterable value")
                .detail(format!(
                    "A 'for' expression needs a list, set, map or object to iterate over; this value is {what}."
                ))
                .at_opt(self.sp(&f.intro.collection_expr))
                .into());
        };
        let key_var = f.intro.key_var.as_ref().map(|k| k.value().as_str().to_string());
        let value_var = f.intro.value_var.value().as_str().to_string();
        let depth = self.scope.len();
        let mut tuple = Vec::new();
        let mut object: BTreeMap<String, Value> = BTreeMap::new();
        let mut groups: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        let mut unknown = false;
        for (k, v) in items {
            self.scope.truncate(depth);
            if let Some(kv) = &key_var {
                self.scope.push((kv.clone(), k));
            }
            self.scope.push((value_var.clone(), v));
            if let Some(cond) = &f.cond {
                let c = self.expr(&cond.expr)?;
                let (c, cs) = unmark(c);
                sensitive |= cs;
                if c.is_unknown() {
                    unknown = true;
                    continue;
                }
                let keep = to_bool(&c).map_err(|m| {
                    Diagnostics::from(
                        err("Invalid 'for' condition")
                            .detail(format!("The 'if' clause must give true or false: {m}."))
                            .at_opt(self.sp(&cond.expr)),
                    )
                })?;
                if !keep {
                    continue;
                }
            }
            match &f.key_expr {
                None => tuple.push(self.expr(&f.value_expr)?),
                Some(key_expr) => {
                    let key = self.expr(key_expr)?;
                    let (key, ks) = unmark(key);
                    sensitive |= ks;
                    let value = self.expr(&f.value_expr)?;
                    if key.is_unknown() {
                        unknown = true;
                        continue;
                    }
                    let key = to_key(&key).map_err(|m| {
                        Diagnostics::from(err("Invalid object key").detail(format!("{m}.")).at_opt(self.sp(key_expr)))
                    })?;
                    if f.grouping {
                        groups.entry(key).or_default().push(value);
                    } else {
                        match object.entry(key) {
                            std::collections::btree_map::Entry::Vacant(slot) => {
                                slot.insert(value);
                            }
                            std::collections::btree_map::Entry::Occupied(taken) => {
                                let shown =
                                    if ks { "the same key".to_string() } else { format!("the key {:?}", taken.key()) };
                                return Err(err("Duplicate object key")
                                    .detail(format!("Two different items produced {shown} in this 'for' expression."))
                                    .help("if duplicates are expected, add an ellipsis (...) after the value expression to group the values by key")
                                    .at_opt(self.sp(key_expr))
                                    .into());
                            }
                        }
                    }
                }
            }
        }
        self.scope.truncate(depth);
        if unknown {
            return Ok(Value::unknown().mark_if(sensitive));
        }
        let out = match (&f.key_expr, f.grouping) {
            (None, _) => Value::List(tuple),
            (Some(_), true) => Value::object(groups.into_iter().map(|(k, vs)| (k, Value::List(vs))).collect()),
            (Some(_), false) => Value::object(object),
        };
        Ok(out.mark_if(sensitive))
    }

    fn template_value(&mut self, t: &Template) -> Eval {
        // A template that is exactly one interpolation yields the value itself, unconverted.
        if let (1, Some(Element::Interpolation(i))) = (t.len(), t.get(0)) {
            return self.expr(&i.expr);
        }
        let mut out = String::new();
        let mut state = TemplateState::default();
        self.render(t, (false, false), (false, false), &mut out, &mut state)?;
        if state.unknown {
            return Ok(Value::unknown().mark_if(state.sensitive));
        }
        Ok(Value::String(out).mark_if(state.sensitive))
    }

    /// Renders template elements. `outer_prev`/`outer_next` are the (strip_start, strip_end)
    /// markers of the tags around this template, which trim whitespace from its first and last
    /// literal.
    fn render(
        &mut self,
        t: &Template,
        outer_prev: (bool, bool),
        outer_next: (bool, bool),
        out: &mut String,
        st: &mut TemplateState,
    ) -> Result<(), Diagnostics> {
        let elements: Vec<&Element> = t.iter().collect();
        let mut errs = Diagnostics::new();
        for (i, el) in elements.iter().enumerate() {
            let prev =
                if i == 0 { outer_prev } else { elements.get(i - 1).map(|e| element_strip(e)).unwrap_or_default() };
            let next = elements.get(i + 1).map(|e| element_strip(e)).unwrap_or(outer_next);
            let r = match el {
                Element::Literal(lit) => {
                    out.push_str(strip_literal(lit.value(), prev.1, next.0));
                    Ok(())
                }
                Element::Interpolation(interp) => self.interpolate(&interp.expr, out, st),
                Element::Directive(d) => match d.as_ref() {
                    Directive::If(d) => self.render_if(d, out, st),
                    Directive::For(d) => {
                        let depth = self.scope.len();
                        let r = self.render_for(d, out, st);
                        self.scope.truncate(depth);
                        r
                    }
                },
            };
            if let Err(d) = r {
                errs.extend(d);
            }
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs)
        }
    }

    /// A template's operand (an interpolation, an `%{if}` condition, a `%{for}` collection): its
    /// sensitivity marks the whole result, and an unknown one makes the whole result unknown
    /// (`None`: nothing more to render from it).
    fn template_operand(&mut self, e: &Expression, st: &mut TemplateState) -> Result<Option<Value>, Diagnostics> {
        let (v, sensitive) = unmark(self.expr(e)?);
        st.sensitive |= sensitive;
        if v.is_unknown() {
            st.unknown = true;
            return Ok(None);
        }
        Ok(Some(v))
    }

    fn interpolate(&mut self, e: &Expression, out: &mut String, st: &mut TemplateState) -> Result<(), Diagnostics> {
        let Some(v) = self.template_operand(e, st)? else {
            return Ok(());
        };
        let s = to_template_string(&v).map_err(|m| {
            Diagnostics::from(
                err("Invalid template interpolation value")
                    .detail(format!("Cannot include this value in a string: {m}."))
                    .at_opt(self.sp(e)),
            )
        })?;
        out.push_str(&s);
        Ok(())
    }

    fn render_if(
        &mut self,
        d: &hcl_edit::template::IfDirective,
        out: &mut String,
        st: &mut TemplateState,
    ) -> Result<(), Diagnostics> {
        let Some(cond) = self.template_operand(&d.if_expr.cond_expr, st)? else {
            return Ok(());
        };
        let b = to_bool(&cond).map_err(|m| {
            Diagnostics::from(
                err("Invalid template condition")
                    .detail(format!("The %{{if}} condition must be true or false: {m}."))
                    .at_opt(self.sp(&d.if_expr.cond_expr)),
            )
        })?;
        let if_strip = strip_pair(d.if_expr.strip);
        let endif_strip = strip_pair(d.endif_expr.strip);
        match (&d.else_expr, b) {
            (Some(e), true) => self.render(&d.if_expr.template, if_strip, strip_pair(e.strip), out, st),
            (None, true) => self.render(&d.if_expr.template, if_strip, endif_strip, out, st),
            (Some(e), false) => self.render(&e.template, strip_pair(e.strip), endif_strip, out, st),
            (None, false) => Ok(()),
        }
    }

    fn render_for(
        &mut self,
        d: &hcl_edit::template::ForDirective,
        out: &mut String,
        st: &mut TemplateState,
    ) -> Result<(), Diagnostics> {
        let f = &d.for_expr;
        let Some(coll) = self.template_operand(&f.collection_expr, st)? else {
            return Ok(());
        };
        let Some(items) = iteration_items(&coll) else {
            return Err(err("Iteration over non-iterable value")
                .detail(format!(
                    "A %{{for}} directive needs a list, set, map or object to iterate over; this value is a {}.",
                    coll.type_name()
                ))
                .at_opt(self.sp(&f.collection_expr))
                .into());
        };
        let depth = self.scope.len();
        for (k, v) in items {
            self.scope.truncate(depth);
            if let Some(kv) = &f.key_var {
                self.scope.push((kv.value().as_str().to_string(), k));
            }
            self.scope.push((f.value_var.value().as_str().to_string(), v));
            self.render(&f.template, strip_pair(f.strip), strip_pair(d.endfor_expr.strip), out, st)?;
        }
        self.scope.truncate(depth);
        Ok(())
    }

    fn call(&mut self, fc: &FuncCall) -> Eval {
        let name = fc.name.name.value().as_str();
        let call_span = self.sp(fc);
        if fc.name.is_namespaced() {
            let full =
                fc.name.namespace.iter().map(|n| n.value().as_str()).chain([name]).collect::<Vec<_>>().join("::");
            return Err(err(format!("Unsupported function \"{full}\""))
                .detail("Provider-defined functions are not supported by Cairn.")
                .at_opt(call_span)
                .into());
        }
        let arg_exprs: Vec<&Expression> = fc.args.iter().collect();
        match name {
            "try" => return self.call_try(&arg_exprs, call_span),
            "can" => return self.call_can(&arg_exprs, call_span),
            "templatestring" => return self.call_templatestring(&arg_exprs, call_span),
            // The console shows `type(x)` itself (see [`console_type_of`]); anywhere else it is
            // unknown, and inside a larger console expression it is refused, as in Terraform.
            "type" if self.ctx.resolver.console_mode() => {
                return Err(err("Invalid use of type function")
                    .detail("The console-only \"type\" function cannot be used as part of an expression.")
                    .at_opt(call_span)
                    .into())
            }
            _ => {}
        }
        let known = functions::names();
        if !known.is_empty() && !known.contains(&name) {
            let mut d = err(format!("Call to unknown function \"{name}\""))
                .detail(format!("There is no function named \"{name}\"."))
                .at_opt(self.sp(&fc.name.name));
            if let Some(h) = suggest(name, known.iter().copied().chain(["try", "can"])) {
                d = d.help(h);
            }
            return Err(d.into());
        }
        let mut args = collect_all(arg_exprs.iter().map(|e| self.expr(e)).collect::<Vec<_>>())?;
        let mut arg_spans: Vec<Option<Span>> = arg_exprs.iter().map(|e| self.sp(*e)).collect();
        let mut spread_sensitive = false;
        if fc.args.expand_final() {
            let last_span = arg_spans.pop().flatten();
            let Some(last) = args.pop() else {
                return Err(err("Invalid expanding argument")
                    .detail("\"...\" needs an argument to expand.")
                    .at_opt(call_span)
                    .into());
            };
            let (last, s) = unmark(last);
            spread_sensitive = s;
            match last {
                Value::Unknown(_) => return Ok(Value::unknown().mark_if(s)),
                Value::List(xs) | Value::Set(xs) => {
                    arg_spans.extend(xs.iter().map(|_| last_span));
                    args.extend(xs);
                }
                other => {
                    return Err(err("Invalid expanding argument")
                        .detail(format!(
                            "The expanding argument (indicated by ...) must be a list, set or tuple, not a {}.",
                            other.type_name()
                        ))
                        .at_opt(last_span)
                        .into())
                }
            }
        }
        let any_sensitive = spread_sensitive || args.iter().any(Value::contains_sensitive);
        // Terraform functions return an unknown result when any argument is wholly unknown;
        // `issensitive` answers from the mark alone.
        if name != "issensitive" && args.iter().any(Value::is_unknown) {
            let keep_mark = name == "sensitive" || (any_sensitive && name != "nonsensitive");
            return Ok(Value::unknown().mark_if(keep_mark));
        }
        let render = |text: &str, vars: &BTreeMap<String, Value>| self.render_template_text(text, vars);
        let fctx = FuncContext {
            base_dir: self.ctx.root_dir.to_path_buf(),
            render_template: &render,
            clock: self.ctx.resolver.clock(),
        };
        match functions::call(name, args, &fctx) {
            Ok(v) => {
                let unmarking = matches!(name, "nonsensitive" | "issensitive");
                if any_sensitive && !unmarking && !v.contains_sensitive() {
                    Ok(v.sensitive())
                } else {
                    Ok(v)
                }
            }
            Err(e) => {
                let span = e.arg.and_then(|i| arg_spans.get(i).copied().flatten()).or(call_span);
                // The function's message is already Terraform's whole sentence ("Invalid value
                // for "x" parameter: …." or "Call to function "f" failed: …."), as HCL words it.
                let detail = if any_sensitive {
                    format!(
                        "Call to function \"{name}\" failed: the details are hidden because an argument is sensitive."
                    )
                } else {
                    e.message
                };
                let summary = if e.arg.is_some() { "Invalid function argument" } else { "Error in function call" };
                Err(err(summary).detail(detail).at_opt(span).into())
            }
        }
    }

    fn call_try(&mut self, args: &[&Expression], call_span: Option<Span>) -> Eval {
        if args.is_empty() {
            return Err(err("Invalid function argument")
                .detail("try() needs at least one argument.")
                .at_opt(call_span)
                .into());
        }
        // The answer depends on every argument tried before the one returned: one that failed
        // while reading a secret (`try(var.secret.missing, "x")`) tells that the secret lacks
        // what it looked for, so the answer is as sensitive as what the failures touched.
        let outer_saw = std::mem::replace(&mut self.saw_sensitive, false);
        let mut decided_by_secret = false;
        let mut failures = Vec::new();
        let mut answer = None;
        for a in args {
            self.saw_sensitive = false;
            let depth = self.scope.len();
            let r = self.expr(a);
            self.scope.truncate(depth);
            match r {
                // A later error could still surface once the value is known, so the result
                // can't be decided yet.
                Ok(v) if v.contains_unknown() => {
                    answer = Some(Value::unknown().mark_if(v.contains_sensitive() || decided_by_secret));
                    break;
                }
                Ok(v) => {
                    answer = Some(v.mark_if(decided_by_secret));
                    break;
                }
                Err(d) => {
                    decided_by_secret |= self.saw_sensitive;
                    failures.extend(d.0);
                }
            }
        }
        self.saw_sensitive = outer_saw || decided_by_secret || answer.as_ref().is_some_and(Value::contains_sensitive);
        if let Some(v) = answer {
            return Ok(v);
        }
        let mut detail = String::from("Call to function \"try\" failed: no expression succeeded:");
        for d in failures.iter().filter(|d| d.is_error()) {
            detail.push_str(&format!("\n- {}", d.summary));
            if let Some(x) = &d.detail {
                detail.push_str(&format!(" ({})", x.trim_end_matches('.')));
            }
            if let Some(s) =
                d.span.filter(|s| s.file != TEMPLATE_FILE && (s.file.0 as usize) < self.ctx.sources.files().count())
            {
                detail.push_str(&format!(" at {}", self.ctx.sources.location(s)));
            }
        }
        detail.push_str("\nAt least one expression must produce a successful result.");
        Err(err("Error in function call").detail(detail).at_opt(call_span).into())
    }

    /// `templatestring(ref, vars)`: renders a template held elsewhere. Its first argument must
    /// be a reference (`local.t`, `var.t["k"]`), not an inline template, as Terraform requires
    /// (internal/lang/funcs/string.go, MakeTemplateStringFunc).
    fn call_templatestring(&mut self, args: &[&Expression], call_span: Option<Span>) -> Eval {
        let arg_err = |i: usize, span: Option<Span>, msg: String| -> Diagnostics {
            let name = if i == 0 { "template" } else { "vars" };
            err("Invalid function argument")
                .detail(format!("Invalid value for \"{name}\" parameter: {msg}."))
                .at_opt(span.or(call_span))
                .into()
        };
        let [template_expr, vars_expr] = args else {
            let detail = if args.len() < 2 {
                format!(
                    "Function \"templatestring\" expects 2 argument(s). Missing value for \"{}\".",
                    if args.is_empty() { "template" } else { "vars" }
                )
            } else {
                "Function \"templatestring\" expects only 2 argument(s).".to_string()
            };
            return Err(err(if args.len() < 2 {
                "Not enough function arguments"
            } else {
                "Too many function arguments"
            })
            .detail(detail)
            .at_opt(call_span)
            .into());
        };
        let template_span = self.sp(*template_expr);
        fn is_reference(e: &Expression) -> bool {
            match e {
                Expression::Variable(_) => true,
                Expression::Traversal(t) => is_reference(&t.expr),
                Expression::Parenthesis(p) => is_reference(p.inner()),
                _ => false,
            }
        }
        let shape_error = match template_expr {
            Expression::StringTemplate(t)
                if t.iter().count() == 1 && matches!(t.iter().next(), Some(Element::Interpolation(_))) =>
            {
                Some("invalid template expression: templatestring is only for rendering templates retrieved dynamically from elsewhere; to treat the inner expression as template syntax, write the reference expression directly without any template interpolation syntax")
            }
            Expression::String(_) => Some("invalid template expression: templatestring is only for rendering templates retrieved dynamically from elsewhere, and so does not support providing a literal template; consider using a template string expression instead"),
            Expression::HeredocTemplate(h) if h.template.iter().all(|e| matches!(e, Element::Literal(_))) => Some("invalid template expression: templatestring is only for rendering templates retrieved dynamically from elsewhere, and so does not support providing a literal template; consider using a template string expression instead"),
            Expression::StringTemplate(_) | Expression::HeredocTemplate(_) => Some("invalid template expression: templatestring is only for rendering templates retrieved dynamically from elsewhere; to render an inline template, consider using a plain template string expression"),
            e if !is_reference(e) => Some("invalid template expression: must be a direct reference to a single string from elsewhere, containing valid Terraform template syntax"),
            _ => None,
        };
        if let Some(msg) = shape_error {
            return Err(arg_err(0, template_span, msg.to_string()));
        }
        let template = self.expr(template_expr)?;
        let vars = self.expr(vars_expr)?;
        let (template, template_secret) = unmark(template);
        let (vars, vars_secret) = vars.unmark_deep();
        if template.is_unknown() || vars.contains_unknown() {
            return Ok(Value::unknown().mark_if(template_secret || vars_secret));
        }
        let Value::String(text) = template else {
            return Err(arg_err(0, template_span, "invalid template value: a string is required".into()));
        };
        let Value::Map(vars) = vars else {
            return Err(arg_err(1, self.sp(*vars_expr), "invalid vars value: must be a map".into()));
        };
        for key in vars.keys() {
            if hcl_edit::Ident::try_new(key.as_str()).is_err() {
                return Err(arg_err(1, self.sp(*vars_expr), format!("invalid template variable name {key:?}: must start with a letter, followed by zero or more letters, digits, and underscores")));
            }
        }
        let rendered = self.render_template_text(&text, &vars).map_err(|e| {
            Diagnostics::from(
                err("Error in function call")
                    .detail(format!("Call to function \"templatestring\" failed: {e}."))
                    .at_opt(call_span),
            )
        })?;
        let (rendered, rendered_secret) = rendered.unmark_deep();
        let rendered =
            crate::lang::types::convert(rendered, &crate::lang::types::TypeConstraint::String).map_err(|e| {
                Diagnostics::from(
                    err("Error in function call")
                        .detail(format!("Call to function \"templatestring\" failed: invalid template result: {e}."))
                        .at_opt(call_span),
                )
            })?;
        Ok(rendered.mark_if(template_secret || vars_secret || rendered_secret))
    }

    fn call_can(&mut self, args: &[&Expression], call_span: Option<Span>) -> Eval {
        let [a] = args else {
            return Err(err("Invalid function argument")
                .detail(format!("can() takes exactly one argument, {} given.", args.len()))
                .at_opt(call_span)
                .into());
        };
        let outer_saw = std::mem::replace(&mut self.saw_sensitive, false);
        let depth = self.scope.len();
        let r = self.expr(a);
        self.scope.truncate(depth);
        let touched_secret = self.saw_sensitive;
        self.saw_sensitive |= outer_saw;
        // Whether an expression succeeds can tell something about a secret it reads
        // (`can(regex("^a", var.token))`), so, as in Terraform, the answer is as sensitive as
        // everything its evaluation met — including through `for` variables, which no
        // reference names.
        match r {
            Ok(v) => {
                let answer = if v.contains_unknown() { Value::unknown() } else { Value::Bool(true) };
                Ok(answer.mark_if(touched_secret || v.contains_sensitive()))
            }
            Err(_) => Ok(Value::Bool(false).mark_if(touched_secret)),
        }
    }

    /// `templatefile`'s renderer: the template sees only the variables it is given (and
    /// functions), never the module's references.
    fn render_template_text(&self, text: &str, vars: &BTreeMap<String, Value>) -> Result<Value, String> {
        if self.template_depth >= MAX_TEMPLATE_DEPTH {
            return Err(format!(
                "templates are nested more than {MAX_TEMPLATE_DEPTH} deep; does a template render itself?"
            ));
        }
        let template = hcl_edit::parser::parse_template(text).map_err(|e| {
            format!(
                "template syntax error at line {}, column {}: {}",
                e.location().line(),
                e.location().column(),
                e.message()
            )
        })?;
        // A template's function calls tell the same time as the expression that renders it.
        let scope = TemplateScope(self.ctx.resolver.clock());
        let ctx = EvalCtx {
            resolver: &scope,
            count_index: None,
            each: None,
            module_dir: self.ctx.module_dir.clone(),
            root_dir: self.ctx.root_dir,
            sources: self.ctx.sources,
        };
        let mut ev = Evaluator::new(&ctx, TEMPLATE_FILE);
        ev.scope = vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        ev.template_depth = self.template_depth + 1;
        ev.template_value(&template).map_err(|ds| {
            let file = SourceFile::new("template".into(), "template".into(), text.to_string());
            ds.0.iter()
                .map(|d| {
                    let at = d.span.filter(|s| s.file == TEMPLATE_FILE).map(|s| {
                        let (l, c) = file.line_col(s.start);
                        format!(" (template line {l}, column {c})")
                    });
                    let detail =
                        d.detail.as_deref().map(|x| format!(": {}", x.trim_end_matches('.'))).unwrap_or_default();
                    format!("{}{detail}{}", d.summary, at.unwrap_or_default())
                })
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    fn body(&mut self, body: &Body, schema: Option<&Schema>) -> Eval {
        let mut out: BTreeMap<String, Value> = BTreeMap::new();
        let mut errs = Diagnostics::new();
        for (name, attr) in &body.attributes {
            match self.expr(&attr.expr.expr) {
                Ok(v) => {
                    out.insert(name.clone(), v);
                }
                Err(d) => errs.extend(d),
            }
        }
        // None means "unknown": a dynamic block over an unknown collection.
        let mut blocks: BTreeMap<String, Option<Vec<Value>>> = BTreeMap::new();
        for block in &body.blocks {
            let child = schema.and_then(|s| s.blocks.get(block.type_name.as_str())).map(|b| &b.block);
            match self.body(&block.body, child) {
                Ok(v) => {
                    if let Some(list) = blocks.entry(block.type_name.clone()).or_insert_with(|| Some(Vec::new())) {
                        list.push(v);
                    }
                }
                Err(d) => errs.extend(d),
            }
        }
        for dynamic in &body.dynamic_blocks {
            let depth = self.scope.len();
            let r = self.dynamic(dynamic, schema);
            self.scope.truncate(depth);
            match r {
                Ok(Some(items)) => {
                    if let Some(list) = blocks.entry(dynamic.type_name.clone()).or_insert_with(|| Some(Vec::new())) {
                        list.extend(items);
                    }
                }
                Ok(None) => {
                    blocks.insert(dynamic.type_name.clone(), None);
                }
                Err(d) => errs.extend(d),
            }
        }
        if !errs.is_empty() {
            return Err(errs);
        }
        for (name, items) in blocks {
            let is_set = schema.and_then(|s| s.blocks.get(name.as_str())).is_some_and(|b| b.nesting == Nesting::Set);
            let v = match items {
                None => Value::unknown(),
                Some(items) if is_set => Value::set(items),
                Some(items) => Value::List(items),
            };
            out.insert(name, v);
        }
        Ok(Value::object(out))
    }

    /// Expands a `dynamic` block; `None` when its `for_each` is not known yet.
    fn dynamic(
        &mut self,
        d: &crate::lang::config::DynamicBlock,
        schema: Option<&Schema>,
    ) -> Result<Option<Vec<Value>>, Diagnostics> {
        let coll = self.expr(&d.for_each.expr)?;
        if coll.is_sensitive() {
            return Err(err("Invalid dynamic for_each value")
                .detail("The for_each value is sensitive; it can't be used to decide how many blocks to generate, because that would disclose it.")
                .help("wrap it in nonsensitive() if the collection itself is not secret")
                .at(d.for_each.span)
                .into());
        }
        if coll.is_unknown() {
            return Ok(None);
        }
        let Some(items) = iteration_items(&coll) else {
            let what = if coll.is_null() { "null".to_string() } else { format!("a {}", coll.type_name()) };
            return Err(err("Invalid dynamic for_each value")
                .detail(format!("for_each must be a list, set, map or object; this value is {what}."))
                .at(d.for_each.span)
                .into());
        };
        let child = schema.and_then(|s| s.blocks.get(d.type_name.as_str())).map(|b| &b.block);
        let depth = self.scope.len();
        let mut out = Vec::new();
        let mut errs = Diagnostics::new();
        for (k, v) in items {
            self.scope.truncate(depth);
            self.scope.push((d.iterator.clone(), Value::map([("key", k), ("value", v)])));
            match self.body(&d.content, child) {
                Ok(v) => out.push(v),
                Err(e) => errs.extend(e),
            }
        }
        self.scope.truncate(depth);
        if errs.is_empty() {
            Ok(Some(out))
        } else {
            Err(errs)
        }
    }
}

/// Template variables only: a template rendered by `templatefile` sees nothing else.
struct TemplateScope(Clock);

impl Resolver for TemplateScope {
    fn clock(&self) -> Clock {
        self.0
    }

    fn resolve(&self, root: &RefRoot, span: Span) -> Result<Value, Diagnostic> {
        Err(err("Invalid reference in template")
            .detail(format!("\"{root}\" is not available in a template file; pass the value to templatefile() in its variables map instead."))
            .at(span))
    }
}

#[derive(Default)]
struct TemplateState {
    unknown: bool,
    sensitive: bool,
}

fn strip_pair(s: hcl_edit::template::Strip) -> (bool, bool) {
    (s.strip_start(), s.strip_end())
}

/// The (strip before, strip after) markers of an element as seen by its neighbours.
fn element_strip(e: &Element) -> (bool, bool) {
    match e {
        Element::Literal(_) => (false, false),
        Element::Interpolation(i) => strip_pair(i.strip),
        Element::Directive(d) => match d.as_ref() {
            Directive::If(d) => (d.if_expr.strip.strip_start(), d.endif_expr.strip.strip_end()),
            Directive::For(d) => (d.for_expr.strip.strip_start(), d.endfor_expr.strip.strip_end()),
        },
    }
}

/// Trims spaces (and one line break) next to a `~` strip marker.
fn strip_literal(mut s: &str, trim_start: bool, trim_end: bool) -> &str {
    let is_space = |c: char| c.is_whitespace() && c != '\r' && c != '\n';
    if trim_start {
        s = s.trim_start_matches(is_space);
        s = s.strip_prefix("\r\n").or_else(|| s.strip_prefix('\n')).unwrap_or(s);
    }
    if trim_end {
        s = s.trim_end_matches(is_space);
        s = s.strip_suffix("\r\n").or_else(|| s.strip_suffix('\n')).unwrap_or(s);
    }
    s
}

fn example_attr(root: &str) -> &'static str {
    match root {
        "var" | "local" | "module" => "example",
        "data" => "TYPE.NAME",
        "count" => "index",
        "each" => "key",
        "path" => "module",
        "terraform" => "workspace",
        _ => "example",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Refs(BTreeMap<String, Value>);

    impl Resolver for Refs {
        fn resolve(&self, root: &RefRoot, span: Span) -> Result<Value, Diagnostic> {
            self.0
                .get(&root.to_string())
                .cloned()
                .ok_or_else(|| Diagnostic::error(format!("Reference to undeclared {root}")).at(span))
        }
    }

    fn refs() -> Refs {
        let mut m = BTreeMap::new();
        m.insert("var.s".to_string(), Value::string("hello"));
        m.insert("var.n".to_string(), Value::from(3));
        m.insert("var.pw".to_string(), Value::string("hunter2").sensitive());
        m.insert("var.u".to_string(), Value::unknown());
        m.insert("var.l".to_string(), Value::List(vec!["a".into(), "b".into(), "c".into()]));
        m.insert("var.mixed".to_string(), Value::List(vec!["open".into(), Value::string("s3cret").sensitive()]));
        m.insert("var.m".to_string(), Value::map([("alpha", Value::from(1)), ("beta", Value::from(2))]));
        m.insert(
            "var.objs".to_string(),
            Value::List(vec![Value::map([("id", Value::from("x1"))]), Value::map([("id", Value::from("x2"))])]),
        );
        m.insert("var.set".to_string(), Value::set(vec!["q".into(), "p".into()]));
        m.insert("var.null".to_string(), Value::Null);
        m.insert("var.secret_map".to_string(), Value::map([("k", Value::from("v"))]).sensitive());
        m.insert("var.secret_idx".to_string(), Value::from(1).sensitive());
        m.insert("var.empty_secret".to_string(), Value::string("").sensitive());
        m.insert("var.secret_list".to_string(), Value::List(vec!["only".into()]).sensitive());
        m.insert("var.secret_objs".to_string(), Value::List(vec![Value::map([("id", Value::from("i"))])]).sensitive());
        m.insert("google_x.y".to_string(), Value::map([("id", Value::from("proj/y")), ("name", Value::from("y"))]));
        m.insert("data.t.n".to_string(), Value::map([("v", Value::from(7))]));
        m.insert("module.m".to_string(), Value::map([("out", Value::from("o"))]));
        Refs(m)
    }

    /// A resolver with no references, only a clock.
    struct Clocked(Clock);

    impl Resolver for Clocked {
        fn resolve(&self, root: &RefRoot, span: Span) -> Result<Value, Diagnostic> {
            NoReferences.resolve(root, span)
        }
        fn clock(&self) -> Clock {
            self.0
        }
    }

    fn eval_at(clock: Clock, src: &str) -> Value {
        let mut sources = SourceMap::new();
        let file = sources.add(Path::new("expr.tf"), "expr.tf".into(), src.to_string());
        let parsed = hcl_edit::parser::parse_expr(src).expect("parses");
        let expr = Expr { expr: parsed, span: Span { file, start: 0, end: src.len() } };
        let resolver = Clocked(clock);
        let ctx = EvalCtx {
            resolver: &resolver,
            count_index: None,
            each: None,
            module_dir: ".".into(),
            root_dir: Path::new("."),
            sources: &sources,
        };
        match eval(&expr, &ctx) {
            Ok(v) => v,
            Err(d) => panic!("{src:?} failed:\n{}", sources.render_all_plain(&d)),
        }
    }

    /// The console's resolver: no references, `type()` allowed.
    struct Console;

    impl Resolver for Console {
        fn resolve(&self, root: &RefRoot, span: Span) -> Result<Value, Diagnostic> {
            NoReferences.resolve(root, span)
        }
        fn console_mode(&self) -> bool {
            true
        }
    }

    fn console(src: &str) -> (Option<Result<String, String>>, Result<Value, String>) {
        let mut sources = SourceMap::new();
        let file = sources.add(Path::new("console"), "console".into(), src.to_string());
        let parsed = hcl_edit::parser::parse_expr(src).expect("parses");
        let expr = Expr { expr: parsed, span: Span { file, start: 0, end: src.len() } };
        let resolver = Console;
        let ctx = EvalCtx {
            resolver: &resolver,
            count_index: None,
            each: None,
            module_dir: ".".into(),
            root_dir: Path::new("."),
            sources: &sources,
        };
        let shown = console_type_of(&expr, &ctx).map(|r| r.map_err(|d| sources.render_all_plain(&d)));
        let value = eval(&expr, &ctx).map_err(|d| sources.render_all_plain(&d));
        (shown, value)
    }

    #[test]
    fn type_is_the_consoles_alone() {
        let (shown, _) = console(r#"type({a = [1, "x"]})"#);
        assert_eq!(shown, Some(Ok("object({\n    a: tuple([\n        number,\n        string,\n    ]),\n})".into())));
        // Inside a larger expression it is refused, as Terraform refuses it.
        let (shown, value) = console("length(type(1))");
        assert!(shown.is_none());
        assert!(value.expect_err("refused").contains("cannot be used as part of an expression"));
        // Outside the console there is no such function.
        let e = fail("type(1)");
        assert!(e.contains("There is no function named \"type\""), "{e}");
    }

    #[test]
    fn templatestring_renders_a_referenced_template() {
        assert_eq!(ok(r#"templatestring(var.s, {})"#), Value::string("hello"));
        let e = fail(r#"templatestring("${var.s}", {})"#);
        assert!(e.contains("without any template interpolation syntax"), "{e}");
        // A secret template gives a secret result.
        assert!(ok(r#"templatestring(var.pw, {})"#).is_sensitive());
        assert!(ok(r#"templatestring(var.u, {})"#).is_unknown());
    }

    #[test]
    fn the_resolvers_clock_reaches_the_time_functions() {
        let plan = Clock::planning(Clock::now());
        // One value everywhere in one evaluation, and usable by the other time functions.
        let same = eval_at(
            plan,
            r#"plantimestamp() == plantimestamp() && timecmp(plantimestamp(), timeadd(plantimestamp(), "1s")) == -1"#,
        );
        assert_eq!(same, Value::Bool(true));
        // timestamp() is unknown while planning, and so is everything built from it.
        assert!(eval_at(plan, r#"formatdate("YYYY", timestamp())"#).is_unknown());
        assert!(eval_at(Clock::applying(plan.plan_time), r#"formatdate("YYYY", timestamp())"#).as_str().is_some());
        // A resolver that says nothing about time knows neither.
        assert!(eval_at(Clock::default(), "plantimestamp()").is_unknown());
    }

    fn run(src: &str, count: Option<i64>, each: Option<(Value, Value)>) -> (SourceMap, Result<Value, Diagnostics>) {
        let mut sources = SourceMap::new();
        let file = sources.add(Path::new("expr.tf"), "expr.tf".into(), src.to_string());
        let parsed = match hcl_edit::parser::parse_expr(src) {
            Ok(e) => e,
            Err(e) => panic!("test expression {src:?} does not parse: {e}"),
        };
        let expr = Expr { expr: parsed, span: Span { file, start: 0, end: src.len() } };
        let r = refs();
        let ctx = EvalCtx {
            resolver: &r,
            count_index: count,
            each,
            module_dir: "modules/app".into(),
            root_dir: Path::new("stack"),
            sources: &sources,
        };
        let out = eval(&expr, &ctx);
        (sources, out)
    }

    fn ok(src: &str) -> Value {
        match run(src, None, None) {
            (_, Ok(v)) => v,
            (s, Err(d)) => panic!("{src:?} failed:\n{}", s.render_all_plain(&d)),
        }
    }

    /// The first diagnostic, rendered, plus its `line:col`.
    fn fail(src: &str) -> String {
        match run(src, None, None) {
            (_, Ok(v)) => panic!("{src:?} should fail, gave {v}"),
            (s, Err(d)) => s.render_all_plain(&d),
        }
    }

    fn s(x: &str) -> Value {
        Value::string(x)
    }

    #[test]
    fn literals_and_collections() {
        assert_eq!(ok("null"), Value::Null);
        assert_eq!(ok("true"), Value::Bool(true));
        assert_eq!(ok("1.5"), Value::from(1.5));
        assert_eq!(ok("\"a\\nb\""), s("a\nb"));
        assert_eq!(ok("[1, \"x\", [true]]"), Value::List(vec![1.into(), "x".into(), Value::List(vec![true.into()])]));
        assert_eq!(
            ok("{ a = 1, \"b\" = 2, (var.s) = 3 }"),
            Value::map([("a", Value::from(1)), ("b", 2.into()), ("hello", 3.into())])
        );
        assert_eq!(ok("(1)"), Value::from(1));
    }

    #[test]
    fn arithmetic_and_comparison_follow_terraform_rules() {
        assert_eq!(ok("1 + 2 * 3"), Value::from(7));
        assert_eq!(ok("\"5\" + 1"), Value::from(6));
        assert_eq!(ok("7 % 4"), Value::from(3));
        assert_eq!(ok("10 / 4"), Value::from(2.5));
        assert_eq!(ok("-var.n"), Value::from(-3));
        assert_eq!(ok("1 == \"1\""), Value::Bool(false));
        assert_eq!(ok("[1, 2] == [1, 2]"), Value::Bool(true));
        assert_eq!(ok("{a = 1} != {a = 2}"), Value::Bool(true));
        assert_eq!(ok("\"10\" > 9"), Value::Bool(true));
        assert_eq!(ok("!false && (true || false)"), Value::Bool(true));
        // Short-circuit: the right side is never evaluated.
        assert_eq!(ok("false && var.missing"), Value::Bool(false));
        assert_eq!(ok("true || var.missing"), Value::Bool(true));
        // Terraform: `1 / 0` is +Inf, `0 / 0` fails with go-cty's text, `x % 0` is x.
        assert_eq!(ok("1 / 0").to_string(), "+Inf");
        assert_eq!(ok("-1 / 0").to_string(), "-Inf");
        assert!(fail("0 / 0").contains("Error during operation: can't divide zero by zero or infinity by infinity."));
        assert_eq!(ok("5 % 0"), Value::from(5));
        // Arbitrary-precision decimals, as cty's big.Float: 0.1 + 0.2 is 0.3 (issue 17).
        assert_eq!(ok("0.1 + 0.2 == 0.3"), Value::Bool(true));
        assert_eq!(ok("0.1 + 0.2").to_string(), "0.3");
        assert_eq!(ok("\"=${0.1 + 0.2}\""), s("=0.3"));
        assert_eq!(ok("9007199254740993 + 0").to_string(), "9007199254740993");
        assert_eq!(ok("9007199254740993 == 9007199254740992"), Value::Bool(false));
        assert_eq!(ok("\"=${1e30}\""), s("=1000000000000000000000000000000"));
        assert_eq!(ok("18446744073709551617 - 1").to_string(), "18446744073709551616");
        assert_eq!(ok("\"9007199254740993\" + 0").to_string(), "9007199254740993");
        assert!(fail("\" 5\" + 1").contains("is not a number"));
        assert_eq!(ok("-5 % 3"), Value::from(-2));
        assert!(fail("\"abc\" + 1").contains("the string \"abc\" is not a number"));
        assert!(fail("!1").contains("Invalid operand"));
    }

    #[test]
    fn conditionals_are_lazy_and_checked() {
        assert_eq!(ok("var.n > 2 ? \"big\" : var.missing"), s("big"));
        assert_eq!(ok("\"true\" ? 1 : 2"), Value::from(1));
        assert!(fail("null ? 1 : 2").contains("Null condition"));
        assert!(fail("[] ? 1 : 2").contains("Incorrect condition type"));
    }

    #[test]
    fn references_and_special_roots() {
        assert_eq!(ok("google_x.y.id"), s("proj/y"));
        assert_eq!(ok("data.t.n.v"), Value::from(7));
        assert_eq!(ok("module.m.out"), s("o"));
        assert_eq!(ok("path.module"), s("modules/app"));
        assert_eq!(ok("path.root"), s("."));
        assert_eq!(ok("terraform.workspace"), s("default"));
        let (_, v) = run("count.index * 2", Some(4), None);
        assert_eq!(v.unwrap(), Value::from(8));
        let (_, v) = run("\"${each.key}=${each.value}\"", None, Some((s("k"), s("v"))));
        assert_eq!(v.unwrap(), s("k=v"));
        assert!(fail("count.index").contains("Reference to \"count\" in non-counted context"));
        assert!(fail("each.value").contains("without for_each"));
        assert!(fail("path.modul").contains("did you mean \"module\"?"));
    }

    #[test]
    fn bad_names_explain_themselves() {
        insta::assert_snapshot!(fail("foo"), @r#"
        Error: Unknown name "foo"
          --> expr.tf:1:1
           | foo
           | ^^^
          There is no variable named "foo" in this scope.
          help: to use the text "foo" itself, quote it: "foo"; a resource reference needs a type and a name, like TYPE.NAME
        "#);
        assert!(fail("var").contains("The \"var\" object cannot be used on its own"));
        assert!(fail("[for item in var.l : itme]").contains("did you mean \"item\"?"));
    }

    #[test]
    fn indexing_and_attributes() {
        assert_eq!(ok("var.l[1]"), s("b"));
        assert_eq!(ok("var.l.2"), s("c"));
        assert_eq!(ok("var.l[\"0\"]"), s("a"));
        assert_eq!(ok("var.m[\"alpha\"]"), Value::from(1));
        assert_eq!(ok("var.m.beta"), Value::from(2));
        assert_eq!(ok("var.objs[1].id"), s("x2"));
        insta::assert_snapshot!(fail("var.l[5]"), @r"
        Error: Invalid index
          --> expr.tf:1:6
           | var.l[5]
           |      ^^^
          Index 5 is out of range: the list has 3 elements (valid indexes are 0 to 2).
        ");
        insta::assert_snapshot!(fail("var.m.alpah"), @r#"
        Error: Unsupported attribute
          --> expr.tf:1:6
           | var.m.alpah
           |      ^^^^^^
          This object does not have an attribute named "alpah".
          help: did you mean "alpha"?
        "#);
        assert!(fail("var.m[\"gamma\"]").contains("The key \"gamma\" does not identify an element"));
        assert!(fail("var.objs.id").contains("use [0].id for one element, or [*].id"));
        assert!(fail("var.null.x").contains("Attempt to get attribute from null value"));
        assert!(fail("var.set[0]").contains("tolist()"));
        assert!(fail("var.s[0]").contains("does not have any indices"));
    }

    #[test]
    fn splats() {
        assert_eq!(ok("var.objs[*].id"), Value::List(vec![s("x1"), s("x2")]));
        assert_eq!(ok("var.objs.*.id"), Value::List(vec![s("x1"), s("x2")]));
        // An attribute splat stops at the first index; a full splat does not.
        assert_eq!(ok("var.objs.*.id[1]"), s("x2"));
        assert_eq!(ok("[[1, 2], [3, 4]][*][0]"), Value::List(vec![1.into(), 3.into()]));
        assert_eq!(ok("google_x.y[*].name"), Value::List(vec![s("y")]));
        assert_eq!(ok("var.null[*].id"), Value::List(vec![]));
        assert_eq!(ok("var.u[*].id"), Value::unknown());
    }

    #[test]
    fn for_expressions() {
        assert_eq!(ok("[for i, x in var.l : \"${i}${x}\" if x != \"b\"]"), Value::List(vec![s("0a"), s("2c")]));
        assert_eq!(ok("{for k, v in var.m : v => k}"), Value::map([("1", s("alpha")), ("2", s("beta"))]));
        assert_eq!(ok("[for x in var.set : x]"), Value::List(vec![s("p"), s("q")]));
        assert_eq!(
            ok("{for o in [{k = \"a\", v = 1}, {k = \"b\", v = 2}, {k = \"a\", v = 3}] : o.k => o.v...}"),
            Value::map([("a", Value::List(vec![1.into(), 3.into()])), ("b", Value::List(vec![2.into()]))])
        );
        insta::assert_snapshot!(fail("{for o in [{k = \"a\"}, {k = \"a\"}] : o.k => o}"), @r#"
        Error: Duplicate object key
          --> expr.tf:1:36
           | {for o in [{k = "a"}, {k = "a"}] : o.k => o}
           |                                    ^^^
          Two different items produced the key "a" in this 'for' expression.
          help: if duplicates are expected, add an ellipsis (...) after the value expression to group the values by key
        "#);
        assert!(fail("[for x in 5 : x]").contains("this value is a number"));
        assert_eq!(ok("[for x in var.u : x]"), Value::unknown());
        assert_eq!(ok("[for x in var.l : x if var.u]"), Value::unknown());
    }

    #[test]
    fn templates_and_directives() {
        assert_eq!(ok("\"${var.s}, ${var.n}!\""), s("hello, 3!"));
        // A lone interpolation keeps the value's type.
        assert_eq!(ok("\"${var.l}\""), ok("var.l"));
        assert_eq!(ok("\"%{if var.n > 2}big%{else}small%{endif}\""), s("big"));
        assert_eq!(ok("\"%{for x in var.l}${x};%{endfor}\""), s("a;b;c;"));
        assert_eq!(ok("\"%{for k, v in var.m}${k}=${v} %{endfor}\""), s("alpha=1 beta=2 "));
        assert_eq!(ok("\"a  ${~ var.s ~}  b\""), s("ahellob"));
        assert_eq!(ok("\"$${literal} %%{x}\""), s("${literal} %{x}"));
        assert_eq!(ok("<<EOT\nline ${var.n}\nEOT"), s("line 3\n"));
        assert_eq!(ok("<<-EOT\n    indented\n      more\n    EOT"), s("indented\n  more\n"));
        assert_eq!(ok("<<EOT\n%{ for x in var.l ~}\n- ${x}\n%{ endfor ~}\nEOT"), s("- a\n- b\n- c\n"));
        assert_eq!(ok("\"a\n%{~ if true ~}\nb\n%{~ endif ~}\nc\""), s("abc"));
        assert_eq!(ok("\"%{ if false }x%{ else }y%{ endif }\""), s("y"));
        assert!(fail("\"x${var.null}\"").contains("null value cannot be included"));
        assert!(fail("\"x${var.l}\"").contains("a list cannot be included in a string"));
        assert_eq!(ok("\"a${var.u}\""), Value::unknown());
        assert_eq!(ok("\"%{if var.u}x%{endif}\""), Value::unknown());
    }

    #[test]
    fn templatefile_renderer_sees_only_its_variables() {
        let sources = SourceMap::new();
        let r = refs();
        let ctx = EvalCtx {
            resolver: &r,
            count_index: None,
            each: None,
            module_dir: ".".into(),
            root_dir: Path::new("."),
            sources: &sources,
        };
        let ev = Evaluator::new(&ctx, FileId(0));
        let mut vars = BTreeMap::new();
        vars.insert("name".to_string(), s("web"));
        vars.insert("ports".to_string(), Value::List(vec![80.into(), 443.into()]));
        let out = ev.render_template_text("host ${name}:%{ for p in ports }${p} %{ endfor }", &vars);
        assert_eq!(out, Ok(s("host web:80 443 ")));
        let e = ev.render_template_text("x\n${var.s}", &vars).expect_err("no module references in templates");
        assert!(e.contains("not available in a template file") && e.contains("line 2, column 3"), "{e}");
        assert!(ev.render_template_text("${", &vars).expect_err("syntax").contains("template syntax error"));
    }

    #[test]
    fn unknown_propagates() {
        for src in [
            "var.u + 1",
            "var.u == 1",
            "[var.u] == [1]",
            "-var.u",
            "var.u ? 1 : 2",
            "var.u.attr",
            "var.u[0]",
            "var.l[var.u]",
            "{(var.u) = 1}",
        ] {
            assert_eq!(ok(src), Value::unknown(), "{src}");
        }
        // Unknown inside a collection stays inside.
        assert_eq!(ok("[1, var.u]"), Value::List(vec![1.into(), Value::unknown()]));
    }

    #[test]
    fn sensitive_marks_propagate_and_stay_put() {
        for src in [
            "var.pw",
            "\"x${var.pw}\"",
            "var.pw == \"a\"",
            "[var.pw] == [\"a\"]",
            "var.secret_map.k",
            "var.secret_map[\"k\"]",
            "var.pw != \"\" ? 1 : 2",
        ] {
            assert!(ok(src).is_sensitive(), "{src} should be sensitive");
        }
        // Indexing a list with one sensitive element: that element keeps its mark, others don't.
        assert!(ok("var.mixed[1]").is_sensitive());
        assert!(!ok("var.mixed[0]").is_sensitive());
        assert!(!ok("var.mixed").is_sensitive());
        assert!(ok("var.mixed").contains_sensitive());
        // Sensitivity of a branch survives the conditional.
        assert!(ok("true ? var.pw : \"\"").is_sensitive());
        assert!(ok("[for x in var.mixed : x]").contains_sensitive());
    }

    #[test]
    fn errors_never_show_sensitive_values() {
        for src in [
            "var.pw + 1",
            "var.secret_map.nope",
            "var.secret_map[\"nope\"]",
            "var.l[var.pw]",
            "{for x in [var.pw, var.pw] : x => 1}",
            "var.pw ? 1 : 2",
        ] {
            let msg = fail(src);
            assert!(!msg.contains("hunter2") && !msg.contains("\"k\""), "{src}: {msg}");
        }
    }

    #[test]
    fn try_and_can() {
        assert_eq!(ok("try(var.m.nope, var.m.alpha, 0)"), Value::from(1));
        assert_eq!(ok("try(var.u, 0)"), Value::unknown());
        assert_eq!(ok("can(var.m.alpha)"), Value::Bool(true));
        assert_eq!(ok("can(var.m.nope)"), Value::Bool(false));
        assert_eq!(ok("can(var.u)"), Value::unknown());
        // Scopes are restored after a failed attempt.
        assert_eq!(ok("[for x in var.l : try([for y in [1] : y.nope][0], x)]"), ok("var.l"));
        let msg = fail("try(var.m.nope, var.l[9])");
        assert!(msg.contains("no expression succeeded"), "{msg}");
        assert!(
            msg.contains("Unsupported attribute") && msg.contains("Invalid index") && msg.contains("expr.tf:1:"),
            "{msg}"
        );
        assert!(fail("can(1, 2)").contains("exactly one argument"));
    }

    #[test]
    fn can_keeps_the_sensitive_mark_of_what_it_tests() {
        // Success and failure of an expression over a secret both tell something about it.
        for src in [
            "can(var.pw)",
            "can(var.secret_map.k)",
            "can(var.pw + 1)",
            "can(var.secret_map.nope)",
            "can(regex(\"^h\", var.pw))",
        ] {
            assert!(ok(src).is_sensitive(), "{src} should be sensitive");
        }
        assert_eq!(ok("can(var.pw + 1)").into_peeled(), Value::Bool(false));
        assert_eq!(ok("can(var.pw)").into_peeled(), Value::Bool(true));
        // Nothing secret read: no mark.
        for src in ["can(var.m.alpha)", "can(var.m.nope)", "can(var.mixed[0])"] {
            assert!(!ok(src).contains_sensitive(), "{src} should not be sensitive");
        }
    }

    #[test]
    fn every_way_of_deciding_on_a_secret_marks_the_answer() {
        // Each expression's result is chosen or computed by looking at a secret, even where the
        // value returned is not itself secret: the mark must sit on the whole answer.
        for src in [
            // try: the returned argument's mark, and the marks of the failures before it.
            "try(var.pw, \"x\")",
            "try(var.secret_map.nope, \"x\")",
            "try(var.secret_map.nope, var.pw)",
            "try(var.secret_map.nope, [var.pw, \"a\"])",
            "try(var.secret_map.nope, var.u)",
            "try(var.pw + 1, 0)",
            "try(regex(\"^x\", var.pw), \"none\")",
            "[for x in [var.secret_map] : try(x.nope, \"d\")][0]",
            "[for x in [var.secret_map] : can(x.nope)][0]",
            // conditionals, operators, for-expressions
            "var.pw == \"\" ? \"a\" : \"b\"",
            "!(var.pw == \"x\")",
            "var.pw != \"\" && true",
            "[for x in var.mixed : \"y\" if x == \"s3cret\"]",
            "{for k, v in var.secret_map : k => v}",
            "[for x in var.secret_list : 1]",
            // indexing and splats
            "var.l[var.secret_idx]",
            "var.secret_list[*]",
            "var.secret_objs[*].id",
            "var.secret_objs[0].id",
            // functions
            "coalesce(var.empty_secret, \"x\")",
            "coalescelist([var.empty_secret], [\"x\"])",
            "lookup(var.secret_map, \"nope\", \"d\")",
            "lookup({a = 1}, var.pw, 0)",
            "one(var.secret_list)",
            "element(var.l, var.secret_idx)",
            "element([[var.pw, \"a\"], [var.pw, \"b\"]], var.secret_idx)",
            "index([\"hunter2\", \"x\"], var.pw)",
            "keys(var.secret_map)",
            "values(var.secret_map)",
            "length(var.secret_list)",
            "length([var.pw])",
            "distinct([var.pw, \"hunter2\"])",
            "tostring(var.pw)",
            "jsonencode({a = var.pw})",
            "jsonencode([var.pw, \"a\"])",
            "zipmap([var.pw], [var.pw])",
            "zipmap([var.pw], [1])",
            "slice(var.l, 0, var.secret_idx)",
            "contains(var.l, var.pw)",
            "merge(var.secret_map, {b = 1})",
            "concat(var.secret_list, [\"x\"])",
            "tolist(var.secret_list)",
            "toset([var.pw, \"a\"])",
            "format(\"%s\", var.pw)",
            "sum([var.secret_idx, 1])",
            // templates
            "\"%{if var.pw == \"x\"}a%{else}b%{endif}\"",
            "\"%{for c in var.secret_list}${c}%{endfor}\"",
            "\"%{for c in var.mixed}%{if c == \"s3cret\"}!%{endif}%{endfor}\"",
        ] {
            assert!(ok(src).is_sensitive(), "{src} should be sensitive, got {:?}", ok(src));
        }
        // Not deciding on a secret leaves no mark: a step into a list that holds one.
        for src in ["try(var.mixed[0], \"x\")", "try(var.m.nope, \"x\")", "can(var.mixed[0])", "try(var.mixed[5], 1)"] {
            assert!(!ok(src).contains_sensitive(), "{src} should not be sensitive");
        }
        // try still returns the first success.
        assert_eq!(ok("try(var.secret_map.nope, \"x\")").into_peeled(), s("x"));
    }

    #[test]
    fn function_calls_report_at_the_call() {
        // functions.rs is implemented elsewhere; whatever it answers, errors carry a location.
        let msg = fail("nosuchfunction(1)");
        assert!(msg.contains("expr.tf:1:1"), "{msg}");
        assert!(fail("provider::google::x(1)").contains("Provider-defined functions are not supported"));
        assert!(fail("max(5...)").contains("must be a list, set or tuple"));
        assert_eq!(ok("max(var.u...)"), Value::unknown());
        assert_eq!(ok("max(var.u, 1)"), Value::unknown());
        assert!(ok("max(var.u, var.pw)").is_sensitive());
    }

    #[test]
    fn function_calls_with_real_functions() {
        assert_eq!(ok("max([1, 5, 3]...)"), Value::from(5));
        assert_eq!(ok("upper(\"a\")"), s("A"));
        assert!(ok("upper(var.pw)").is_sensitive());
        assert!(fail("lenght(var.l)").contains("did you mean \"length\"?"));
    }

    #[test]
    fn dynamic_blocks_and_schema_nesting() {
        use crate::lang::config::{Attribute, DynamicBlock, NestedBlock};
        use crate::schema::{AttrType, Attribute as SAttr, BlockType};
        let mut sources = SourceMap::new();
        let text = "var.rules\nrule.value\nrule.key\n\"fixed\"\n";
        let file = sources.add(Path::new("b.tf"), "b.tf".into(), text.to_string());
        let ex = |start: usize, src: &str| Expr {
            expr: hcl_edit::parser::parse_expr(src).expect("parses"),
            span: Span { file, start, end: start + src.len() },
        };
        let attr = |name: &str, e: Expr| Attribute { name: name.into(), span: e.span, name_span: e.span, expr: e };
        let mut content = Body::default();
        content.attributes.insert("port".into(), attr("port", ex(10, "rule.value")));
        content.attributes.insert("index".into(), attr("index", ex(21, "rule.key")));
        let mut fixed = Body::default();
        fixed.attributes.insert("port".into(), attr("port", ex(30, "\"fixed\"")));
        let mut body = Body::default();
        body.attributes.insert("name".into(), attr("name", ex(30, "\"fixed\"")));
        body.blocks.push(NestedBlock {
            type_name: "rule".into(),
            labels: vec![],
            body: fixed,
            span: Span { file, start: 0, end: 1 },
        });
        body.dynamic_blocks.push(DynamicBlock {
            type_name: "rule".into(),
            for_each: ex(0, "var.rules"),
            iterator: "rule".into(),
            content,
            span: Span { file, start: 0, end: 1 },
        });
        let mut r = refs();
        r.0.insert("var.rules".into(), Value::List(vec![s("80"), s("443")]));
        let ctx = EvalCtx {
            resolver: &r,
            count_index: None,
            each: None,
            module_dir: ".".into(),
            root_dir: Path::new("."),
            sources: &sources,
        };
        let got = eval_body(&body, &ctx).expect("body evaluates");
        let rules = got.get("rule").and_then(Value::as_list).expect("rule blocks").to_vec();
        assert_eq!(rules.len(), 3);
        assert_eq!(rules[1], Value::map([("port", s("80")), ("index", 0.into())]));
        assert!(matches!(got.get("rule"), Some(Value::List(_))));
        let schema =
            Schema::new().block("rule", BlockType::set(Schema::new().attr("port", SAttr::optional(AttrType::String))));
        let got = eval_body_with_schema(&body, &ctx, Some(&schema)).expect("body evaluates");
        assert!(matches!(got.get("rule"), Some(Value::Set(_))));
        // Unknown for_each: the whole block list is unknown.
        r.0.insert("var.rules".into(), Value::unknown());
        let ctx = EvalCtx {
            resolver: &r,
            count_index: None,
            each: None,
            module_dir: ".".into(),
            root_dir: Path::new("."),
            sources: &sources,
        };
        assert_eq!(eval_body(&body, &ctx).expect("evaluates").get("rule"), Some(&Value::unknown()));
        r.0.insert("var.rules".into(), Value::List(vec![s("1")]).sensitive());
        let ctx = EvalCtx {
            resolver: &r,
            count_index: None,
            each: None,
            module_dir: ".".into(),
            root_dir: Path::new("."),
            sources: &sources,
        };
        let e = eval_body(&body, &ctx).expect_err("sensitive for_each is refused");
        assert_eq!(sources.location(e.0[0].span.expect("has span")), "b.tf:1:1");
    }
}
