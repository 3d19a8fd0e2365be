//! Checking a resource's configuration against its [`Schema`], with spans that point at the
//! offending argument or block.
//!
//! Three passes, in the order the planner runs them: [`check_structure`] on the syntax (before
//! evaluation, so a typo is reported even when values are unknown), [`conform`] to convert the
//! evaluated value to the schema's types, and [`check_values`] for validators and cross-field
//! rules on what is known. Values that are not known yet are skipped; the provider checks them
//! at apply. Sensitive values are never shown in a message.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::addr::{AttrPath, PathStep};
use crate::lang::config::{Body, Expr};
use crate::lang::diag::{suggest, Diagnostic, Diagnostics, Span};
use crate::lang::value::{Number, Value};
use crate::schema::{locate, AttrType, Attribute, Nesting, Rule, Schema, Validator};

/// Checks a resource body's *structure* before evaluation: unknown arguments and blocks (with
/// "did you mean", or the valid names when nothing is close), arguments written as blocks and
/// blocks written as arguments, missing required arguments (at `block_span`), too many or too
/// few nested blocks, and computed-only attributes that cannot be set. Recurses into nested
/// blocks and into `dynamic` blocks' `content`.
pub fn check_structure(body: &Body, schema: &Schema, block_span: Span) -> Diagnostics {
    let mut diags = Diagnostics::new();
    structure(body, schema, block_span, &AttrPath::root(), &mut diags);
    diags
}

/// Checks an evaluated configuration (a map: attribute → value, nested block type → list of
/// maps) against types, validators and cross-field rules. Unknown values are skipped. Errors
/// point at the attribute in `body` (or the block header when nothing closer exists).
///
/// Validators other than `Custom` check scalars; on a list, set or map attribute they check
/// each element. `Custom` validators see the whole attribute value. Nested-block counts are
/// checked here only where `dynamic` blocks made them unknowable before evaluation.
pub fn check_values(body: &Body, value: &Value, schema: &Schema, block_span: Span) -> Diagnostics {
    let mut diags = Diagnostics::new();
    check_object(Some(body), value, schema, block_span, &AttrPath::root(), &mut diags);
    redact_sensitive(diags, value)
}

/// Providers' custom validators and rules see plain values and may quote them ("got \"…\"");
/// every string held under a sensitive mark is replaced in their messages, so that no
/// validator can leak one (issue 14 §3).
fn redact_sensitive(mut diags: Diagnostics, value: &Value) -> Diagnostics {
    crate::lang::value::SecretStrings::of([value]).redact_diagnostics(&mut diags);
    diags
}

/// Converts an evaluated configuration to the schema's types (`"5"` → 5 for a number, a tuple
/// → a set for set attributes, set-nested blocks → [`Value::set`]), keeping marks. The result
/// holds every schema attribute (null when unset) and every block type (an empty list or set
/// when absent); keys the schema does not know are dropped ([`check_structure`] reports them).
pub fn conform(body: &Body, value: Value, schema: &Schema, block_span: Span) -> Result<Value, Diagnostics> {
    let mut diags = Diagnostics::new();
    let out = conform_object(Some(body), value, schema, block_span, &AttrPath::root(), &mut diags);
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok(out)
    }
}

// ---------------------------------------------------------------------------------------------
// Structure

fn settable(a: &Attribute) -> bool {
    a.required || a.optional
}

fn quoted_list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    names.into_iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ")
}

/// " in block \"settings[0]\"" for nested bodies, nothing at the top.
fn context(path: &AttrPath) -> String {
    if path.0.is_empty() {
        " here".to_string()
    } else {
        format!(" in block \"{path}\"")
    }
}

fn structure(body: &Body, schema: &Schema, block_span: Span, path: &AttrPath, diags: &mut Diagnostics) {
    for (name, attr) in &body.attributes {
        let full = path.join_attr(name);
        if let Some(a) = schema.attributes.get(name.as_str()) {
            if !settable(a) {
                diags.push(
                    Diagnostic::error(format!("\"{full}\" cannot be set"))
                        .at(attr.name_span)
                        .detail(format!("\"{name}\" is computed by the provider: it can be read but not configured."))
                        .help(format!("remove the \"{name}\" argument and refer to the resource's {name} attribute where you need it")),
                );
            }
        } else if schema.blocks.contains_key(name.as_str()) {
            diags.push(
                Diagnostic::error(format!("\"{full}\" is a block, not an argument"))
                    .at(attr.name_span)
                    .help(format!(
                        "write it as a block, `{name} {{ … }}`, without `=`; to generate blocks from a collection use `dynamic \"{name}\" {{ for_each = … content {{ … }} }}`"
                    )),
            );
        } else {
            diags.push(unknown_argument(name, schema, path).at(attr.name_span));
        }
    }

    let mut static_spans: BTreeMap<&str, Vec<Span>> = BTreeMap::new();
    for blk in &body.blocks {
        let name = blk.type_name.as_str();
        if let Some(bt) = schema.blocks.get(name) {
            if let Some(label) = blk.labels.first() {
                diags.push(
                    Diagnostic::error(format!("Extraneous label for \"{}\"", path.join_attr(name)))
                        .at(blk.span)
                        .detail(format!("\"{name}\" blocks take no labels, but this one has \"{label}\"."))
                        .help(format!("write `{name} {{ … }}`")),
                );
            }
            let spans = static_spans.entry(name).or_default();
            let nested_path = path.join_attr(name).join_index(spans.len() as i64);
            spans.push(blk.span);
            structure(&blk.body, &bt.block, blk.span, &nested_path, diags);
        } else if schema.attributes.contains_key(name) {
            diags.push(
                Diagnostic::error(format!("\"{}\" is an argument, not a block", path.join_attr(name)))
                    .at(blk.span)
                    .help(format!("write it as an argument: `{name} = …`")),
            );
        } else {
            diags.push(unknown_block(name, schema, path, false).at(blk.span));
        }
    }
    for dynb in &body.dynamic_blocks {
        let name = dynb.type_name.as_str();
        if let Some(bt) = schema.blocks.get(name) {
            structure(&dynb.content, &bt.block, dynb.span, &path.join_attr(name), diags);
        } else if schema.attributes.contains_key(name) {
            diags.push(
                Diagnostic::error(format!("\"{}\" is an argument, not a block", path.join_attr(name)))
                    .at(dynb.span)
                    .detail("`dynamic` blocks generate nested blocks; they cannot set an argument.")
                    .help(format!("compute the value with a `for` expression: `{name} = [for x in … : …]`")),
            );
        } else {
            diags.push(unknown_block(name, schema, path, true).at(dynb.span));
        }
    }

    for (name, a) in &schema.attributes {
        if a.required && !body.attributes.contains_key(*name) {
            let mut d = Diagnostic::error(format!("Missing required argument \"{}\"", path.join_attr(name)))
                .at(block_span)
                .help(format!("add `{name} = …`"));
            if !a.description.is_empty() {
                d = d.detail(format!("\"{name}\": {}", a.description));
            }
            diags.push(d);
        }
    }
    for (name, bt) in &schema.blocks {
        let spans = static_spans.get(name).map(Vec::as_slice).unwrap_or(&[]);
        let has_dynamic = body.dynamic_blocks.iter().any(|d| d.type_name == *name);
        let max = max_blocks(bt.nesting, bt.max_items);
        if let Some(extra) = spans.get(max) {
            diags.push(
                Diagnostic::error(format!("Too many \"{}\" blocks", path.join_attr(name)))
                    .at(*extra)
                    .detail(format!(
                        "At most {max} \"{name}\" block{} allowed{}; found {}.",
                        if max == 1 { " is" } else { "s are" },
                        context(path),
                        spans.len()
                    ))
                    .help(format!(
                        "remove the extra \"{name}\" block{}",
                        if spans.len() - max == 1 { "" } else { "s" }
                    )),
            );
        }
        if !has_dynamic && spans.len() < bt.min_items {
            diags.push(
                Diagnostic::error(format!("Missing required block \"{}\"", path.join_attr(name)))
                    .at(block_span)
                    .detail(format!(
                        "At least {} \"{name}\" block{} required{}; found {}.",
                        bt.min_items,
                        if bt.min_items == 1 { " is" } else { "s are" },
                        context(path),
                        spans.len()
                    ))
                    .help(format!("add `{name} {{ … }}`")),
            );
        }
    }
}

fn max_blocks(nesting: Nesting, max_items: usize) -> usize {
    let max = if max_items == 0 { usize::MAX } else { max_items };
    match nesting {
        Nesting::Single => max.min(1),
        _ => max,
    }
}

fn unknown_argument(name: &str, schema: &Schema, path: &AttrPath) -> Diagnostic {
    let args: Vec<&str> = schema.attributes.iter().filter(|(_, a)| settable(a)).map(|(n, _)| *n).collect();
    let d = Diagnostic::error(format!("Unsupported argument \"{name}\""))
        .detail(format!("An argument named \"{name}\" is not expected{}.", context(path)));
    if let Some(s) = suggest(name, args.iter().copied()) {
        return d.help(s);
    }
    if let Some(s) = suggest(name, schema.blocks.keys().copied()) {
        return d.help(format!("{s} It is a block: write it without `=`"));
    }
    d.help(valid_names(&args, &schema.blocks.keys().copied().collect::<Vec<_>>()))
}

fn unknown_block(name: &str, schema: &Schema, path: &AttrPath, dynamic: bool) -> Diagnostic {
    let blocks: Vec<&str> = schema.blocks.keys().copied().collect();
    let d = Diagnostic::error(format!("Unsupported block type \"{name}\"")).detail(format!(
        "{} of type \"{name}\" is not expected{}.",
        if dynamic { "A dynamic block" } else { "A block" },
        context(path)
    ));
    if let Some(s) = suggest(name, blocks.iter().copied()) {
        return d.help(s);
    }
    if blocks.is_empty() {
        return d.help("this block takes no nested blocks");
    }
    d.help(format!("valid block types: {}", quoted_list(blocks)))
}

fn valid_names(args: &[&str], blocks: &[&str]) -> String {
    let mut s = if args.is_empty() {
        "no arguments are accepted".to_string()
    } else {
        format!("valid arguments: {}", quoted_list(args.iter().copied()))
    };
    if !blocks.is_empty() {
        s.push_str(&format!("; blocks: {}", quoted_list(blocks.iter().copied())));
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Locating things in a body

/// The body and span that produced element `index` of the evaluated blocks of type `name`.
/// Static blocks map by position; a lone `dynamic` block supplies every element's content.
/// With a set (whose order is not source order), only a single candidate is trusted.
fn element_body<'b>(body: &'b Body, name: &str, index: usize, unordered: bool) -> Option<(&'b Body, Span)> {
    let statics: Vec<_> = body.blocks.iter().filter(|b| b.type_name == name).collect();
    let dynamics: Vec<_> = body.dynamic_blocks.iter().filter(|b| b.type_name == name).collect();
    match (statics.as_slice(), dynamics.as_slice()) {
        ([only], []) => Some((&only.body, only.span)),
        ([], [only]) => Some((&only.content, only.span)),
        (_, []) if !unordered => statics.get(index).map(|b| (&b.body, b.span)),
        _ if !unordered => {
            // Static blocks before the first dynamic one keep their positions.
            let first_dynamic = dynamics.iter().map(|d| d.span.start).min().unwrap_or(usize::MAX);
            statics.iter().filter(|b| b.span.start < first_dynamic).nth(index).map(|b| (&b.body, b.span))
        }
        _ => None,
    }
}

fn first_block_span(body: &Body, name: &str) -> Option<Span> {
    body.blocks
        .iter()
        .filter(|b| b.type_name == name)
        .map(|b| b.span)
        .chain(body.dynamic_blocks.iter().filter(|b| b.type_name == name).map(|b| b.span))
        .min_by_key(|s| s.start)
}

/// The span of the whole argument at `path` in a resource's body, or of the closest enclosing
/// block that is written out; `block_span` when nothing on the path is.
pub fn argument_span(body: &Body, path: &AttrPath, block_span: Span) -> Span {
    span_for_path(Some(body), path, block_span, false)
}

/// The span of the argument at `path` (relative to `body`): its name when `name_only`, else
/// the whole `name = value`. Falls back to the closest enclosing block.
fn span_for_path(body: Option<&Body>, path: &AttrPath, fallback: Span, name_only: bool) -> Span {
    let Some(mut b) = body else { return fallback };
    let mut enclosing = fallback;
    let mut steps = path.0.iter().peekable();
    while let Some(step) = steps.next() {
        let PathStep::Attr(name) = step else { return enclosing };
        if let Some(a) = b.attributes.get(name) {
            return if name_only { a.name_span } else { a.span };
        }
        let index = match steps.peek() {
            Some(PathStep::Index(i)) => {
                let i = *i;
                steps.next();
                usize::try_from(i).unwrap_or(0)
            }
            _ => 0,
        };
        match element_body(b, name, index, false) {
            Some((nested, span)) => {
                if steps.peek().is_none() {
                    return span;
                }
                b = nested;
                enclosing = span;
            }
            None => return first_block_span(b, name).unwrap_or(enclosing),
        }
    }
    enclosing
}

// ---------------------------------------------------------------------------------------------
// Types

struct TypeError {
    path: AttrPath,
    message: String,
}

impl TypeError {
    fn diagnostic(self, span: Span) -> Diagnostic {
        Diagnostic::error(format!("Incorrect value type for \"{}\"", self.path)).at(span).detail(self.message)
    }
}

fn describe(v: &Value, sensitive: bool) -> String {
    if sensitive {
        return format!("a {} (sensitive value)", v.type_name());
    }
    match v.peel() {
        Value::String(s) if s.chars().count() <= 60 => format!("the string {s:?}"),
        Value::String(_) => "a string".to_string(),
        Value::Number(n) => format!("the number {n}"),
        Value::Bool(b) => format!("the bool {b}"),
        Value::List(_) => "a list".to_string(),
        Value::Set(_) => "a set".to_string(),
        Value::Map(_) => "an object".to_string(),
        other => other.type_name().to_string(),
    }
}

fn mismatch(expected: &str, v: &Value, path: &AttrPath, sensitive: bool) -> TypeError {
    TypeError {
        path: path.clone(),
        message: format!("{expected} is required, but the value is {}.", describe(v, sensitive)),
    }
}

/// Terraform's string → number conversion (cty's `ParseNumberVal`), exact.
fn parse_number(s: &str) -> Option<Number> {
    Number::parse(s).ok()
}

/// A validator's bound as Terraform prints numbers.
fn format_bound(f: f64) -> String {
    Number::from_f64(f).map(|n| n.to_string()).unwrap_or_else(|| f.to_string())
}

fn conform_value(v: Value, ty: &AttrType, path: &AttrPath, sensitive: bool) -> Result<Value, TypeError> {
    let v = match v {
        Value::Sensitive(inner) => return Ok(conform_value(*inner, ty, path, true)?.sensitive()),
        Value::Unknown(_) | Value::Null => return Ok(v),
        v => v,
    };
    match ty {
        AttrType::Dynamic => Ok(v),
        AttrType::String => match v {
            Value::String(_) => Ok(v),
            Value::Number(n) => Ok(Value::String(n.to_string())),
            Value::Bool(b) => Ok(Value::String(b.to_string())),
            other => Err(mismatch("a string", &other, path, sensitive)),
        },
        AttrType::Number => match v {
            Value::Number(_) => Ok(v),
            Value::String(ref s) => match parse_number(s) {
                Some(n) => Ok(Value::Number(n)),
                None => Err(TypeError {
                    path: path.clone(),
                    message: format!("a number is required, but {} is not a number.", describe(&v, sensitive)),
                }),
            },
            other => Err(mismatch("a number", &other, path, sensitive)),
        },
        AttrType::Bool => match v {
            Value::Bool(_) => Ok(v),
            Value::String(ref s) if s == "true" => Ok(Value::Bool(true)),
            Value::String(ref s) if s == "false" => Ok(Value::Bool(false)),
            other => Err(mismatch("a bool (true or false)", &other, path, sensitive)),
        },
        AttrType::List(elem) | AttrType::Set(elem) => match v {
            Value::List(xs) | Value::Set(xs) => {
                let items = xs
                    .into_iter()
                    .enumerate()
                    .map(|(i, x)| conform_value(x, elem, &path.join_index(i as i64), sensitive))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(if matches!(ty, AttrType::Set(_)) { Value::set(items) } else { Value::List(items) })
            }
            other => {
                Err(mismatch(if matches!(ty, AttrType::Set(_)) { "a set" } else { "a list" }, &other, path, sensitive))
            }
        },
        AttrType::Map(elem) => match v {
            Value::Map(m) => {
                let mut out = BTreeMap::new();
                for (k, x) in Arc::unwrap_or_clone(m) {
                    let converted = conform_value(x, elem, &path.join_attr(&k), sensitive)?;
                    out.insert(k, converted);
                }
                Ok(Value::object(out))
            }
            other => Err(mismatch("a map", &other, path, sensitive)),
        },
    }
}

fn conform_object(
    body: Option<&Body>,
    value: Value,
    schema: &Schema,
    block_span: Span,
    path: &AttrPath,
    diags: &mut Diagnostics,
) -> Value {
    let sensitive = value.is_sensitive();
    let mut fields = match value.into_peeled() {
        Value::Map(m) => Arc::unwrap_or_clone(m),
        Value::Null => BTreeMap::new(),
        v @ Value::Unknown(_) => return v.mark_if(sensitive),
        other => {
            let what = if path.0.is_empty() { "the resource body".to_string() } else { format!("block \"{path}\"") };
            diags.push(
                Diagnostic::error(format!("Incorrect value type for {what}"))
                    .at(block_span)
                    .detail(format!("an object is required, but the value is {}.", describe(&other, sensitive))),
            );
            return Value::Null;
        }
    };
    let mut out = BTreeMap::new();
    for (name, attr) in &schema.attributes {
        let v = fields.remove(*name).unwrap_or(Value::Null);
        let p = path.join_attr(name);
        match conform_value(v, &attr.ty, &p, attr.sensitive) {
            Ok(c) => {
                out.insert(name.to_string(), c);
            }
            Err(e) => {
                let span = span_for_path(body, &AttrPath::attr(name), block_span, false);
                diags.push(e.diagnostic(span));
                out.insert(name.to_string(), Value::Null);
            }
        }
    }
    for (name, bt) in &schema.blocks {
        let v = fields.remove(*name).unwrap_or(Value::Null);
        let p = path.join_attr(name);
        let marked = v.is_sensitive();
        let (items, unordered) =
            match v.into_peeled() {
                Value::Null => (Vec::new(), false),
                u @ Value::Unknown(_) => {
                    out.insert(name.to_string(), u.mark_if(marked));
                    continue;
                }
                Value::List(xs) => (xs, false),
                Value::Set(xs) => (xs, true),
                other => {
                    let span = span_for_path(body, &AttrPath::attr(name), block_span, false);
                    diags.push(Diagnostic::error(format!("Incorrect value type for block \"{p}\"")).at(span).detail(
                        format!("a list of blocks is required, but the value is {}.", describe(&other, marked)),
                    ));
                    continue;
                }
            };
        let converted: Vec<Value> = items
            .into_iter()
            .enumerate()
            .map(|(i, item)| {
                let (eb, es) = match body.and_then(|b| element_body(b, name, i, unordered)) {
                    Some((b, s)) => (Some(b), s),
                    None => (None, body.and_then(|b| first_block_span(b, name)).unwrap_or(block_span)),
                };
                conform_object(eb, item, &bt.block, es, &p.join_index(i as i64), diags)
            })
            .collect();
        let v = match bt.nesting {
            Nesting::Set => Value::set(converted),
            Nesting::Single | Nesting::List => Value::List(converted),
        };
        out.insert(name.to_string(), v.mark_if(marked));
    }
    Value::object(out).mark_if(sensitive)
}

// ---------------------------------------------------------------------------------------------
// Values

fn check_object(
    body: Option<&Body>,
    value: &Value,
    schema: &Schema,
    block_span: Span,
    path: &AttrPath,
    diags: &mut Diagnostics,
) {
    if value.is_unknown() {
        return;
    }
    for (name, attr) in &schema.attributes {
        let v = value.get(name).unwrap_or(&Value::Null);
        let p = path.join_attr(name);
        let written = body.and_then(|b| b.attributes.get(*name));
        let span = written.map(|a| a.span).unwrap_or(block_span);
        if v.is_unknown() {
            continue;
        }
        if v.is_null() {
            // Absent arguments are check_structure's to report; here only explicit nulls.
            if attr.required && (written.is_some() || body.is_none()) {
                diags.push(
                    Diagnostic::error(format!("Missing required argument \"{p}\""))
                        .at(span)
                        .detail(format!("\"{p}\" is required, but its value is null."))
                        .help(format!("give \"{name}\" a value")),
                );
            }
            continue;
        }
        if !settable(attr) {
            continue;
        }
        let sensitive = attr.sensitive || v.contains_sensitive();
        match conform_value(v.clone(), &attr.ty, &p, sensitive) {
            Err(e) => diags.push(e.diagnostic(span)),
            Ok(converted) => run_validators(&converted, attr, &p, (span, written.map(|a| &a.expr)), sensitive, diags),
        }
    }
    for (name, bt) in &schema.blocks {
        let v = value.get(name).unwrap_or(&Value::Null);
        if v.is_unknown() {
            continue;
        }
        let items = v.as_list().unwrap_or(&[]);
        let p = path.join_attr(name);
        let dynamic_span = body.and_then(|b| b.dynamic_blocks.iter().find(|d| d.type_name == *name).map(|d| d.span));
        if dynamic_span.is_some() || body.is_none() {
            let span = dynamic_span.unwrap_or(block_span);
            let max = max_blocks(bt.nesting, bt.max_items);
            if items.len() > max {
                diags.push(
                    Diagnostic::error(format!("Too many \"{p}\" blocks"))
                        .at(span)
                        .detail(format!("At most {max} allowed; the configuration produces {}.", items.len())),
                );
            }
            if items.len() < bt.min_items && items.iter().all(|i| !i.is_unknown()) {
                diags.push(Diagnostic::error(format!("Missing required block \"{p}\"")).at(span).detail(format!(
                    "At least {} required; the configuration produces {}.",
                    bt.min_items,
                    items.len()
                )));
            }
        }
        let unordered = matches!(v.peel(), Value::Set(_));
        for (i, item) in items.iter().enumerate() {
            let (eb, es) = match body.and_then(|b| element_body(b, name, i, unordered)) {
                Some((b, s)) => (Some(b), s),
                None => (None, body.and_then(|b| first_block_span(b, name)).unwrap_or(block_span)),
            };
            check_object(eb, item, &bt.block, es, &p.join_index(i as i64), diags);
        }
    }
    check_rules(body, value, schema, block_span, path, diags);
}

/// `at` is the argument's span and, when it is written in this body, its expression (where a
/// `Located` problem is looked for).
fn run_validators(
    v: &Value,
    attr: &Attribute,
    path: &AttrPath,
    at: (Span, Option<&Expr>),
    sensitive: bool,
    diags: &mut Diagnostics,
) {
    let (span, expr) = at;
    for validator in &attr.validators {
        if let Validator::Located(f) = validator {
            if v.is_wholly_known() {
                for problem in f(v) {
                    let inside =
                        match (problem.within, expr, v.peel().as_str()) {
                            (Some(range), Some(e), Some(s)) => locate::within_expression(&e.expr, s, range)
                                .map(|r| Span { file: e.span.file, start: r.start, end: r.end }),
                            _ => None,
                        };
                    let mut d = Diagnostic::error(format!("\"{path}\" {}", problem.message)).at(inside.unwrap_or(span));
                    if let Some(h) = problem.help {
                        d = d.help(h);
                    }
                    diags.push(d);
                }
            }
            continue;
        }
        if let Validator::Custom(f) = validator {
            if v.is_wholly_known() {
                if let Err(msg) = f(v) {
                    diags.push(Diagnostic::error(format!("\"{path}\" {msg}")).at(span));
                }
            }
            continue;
        }
        let elements: Vec<(AttrPath, &Value)> = match (&attr.ty, v.peel()) {
            (AttrType::List(_) | AttrType::Set(_), Value::List(xs) | Value::Set(xs)) => {
                xs.iter().enumerate().map(|(i, x)| (path.join_index(i as i64), x)).collect()
            }
            (AttrType::Map(_), Value::Map(m)) => m.iter().map(|(k, x)| (path.join_attr(k), x)).collect(),
            _ => vec![(path.clone(), v)],
        };
        for (p, x) in elements {
            if let Err((msg, help)) = check_scalar(validator, x, sensitive || x.contains_sensitive()) {
                let mut d = Diagnostic::error(format!("\"{p}\" {msg}")).at(span);
                if let Some(h) = help {
                    d = d.help(h);
                }
                diags.push(d);
            }
        }
    }
}

/// One validator on one known scalar. The message completes "<attribute> …".
fn check_scalar(validator: &Validator, v: &Value, sensitive: bool) -> Result<(), (String, Option<String>)> {
    let got = |shown: String| if sensitive { String::new() } else { format!("; got {shown}") };
    match validator {
        Validator::OneOf(options) => {
            let Some(s) = v.as_str() else { return Ok(()) };
            if options.contains(&s) {
                return Ok(());
            }
            let help = if sensitive { None } else { suggest(s, options.iter().copied()) };
            Err((format!("must be one of {}{}", quoted_list(options.iter().copied()), got(format!("{s:?}"))), help))
        }
        Validator::Range { min, max } => {
            let Some(exact) = v.as_number() else { return Ok(()) };
            let n = exact.to_f64();
            if n >= *min && n <= *max {
                return Ok(());
            }
            let rule = if *max >= f64::MAX {
                format!("must be at least {}", format_bound(*min))
            } else if *min <= f64::MIN {
                format!("must be at most {}", format_bound(*max))
            } else {
                format!("must be between {} and {}", format_bound(*min), format_bound(*max))
            };
            Err((format!("{rule}{}", got(exact.to_string())), None))
        }
        Validator::Length { min, max } => {
            let Some(s) = v.as_str() else { return Ok(()) };
            let n = s.chars().count();
            if n >= *min && n <= *max {
                return Ok(());
            }
            let rule = if *max == usize::MAX {
                format!("must be at least {min} characters long")
            } else if min == max {
                format!("must be exactly {min} characters long")
            } else {
                format!("must be between {min} and {max} characters long")
            };
            Err((format!("{rule}{}", got(format!("{n} characters"))), None))
        }
        Validator::Pattern { regex, description } => {
            let Some(s) = v.as_str() else { return Ok(()) };
            match regex::Regex::new(&format!("^(?:{regex})$")) {
                Ok(re) if re.is_match(s) => Ok(()),
                Ok(_) => Err((format!("must be {description}{}", got(format!("{s:?}"))), None)),
                Err(_) => Err((
                    format!("cannot be checked: the schema's pattern /{regex}/ is invalid"),
                    Some("this is a bug in Cairn's schema for this resource type; please report it".to_string()),
                )),
            }
        }
        Validator::Custom(f) => f(v).map_err(|m| (m, None)),
        Validator::Located(f) => match f(v).into_iter().next() {
            Some(p) => Err((p.message, p.help)),
            None => Ok(()),
        },
    }
}

/// Whether the (possibly dotted, block-qualified) name is set: `None` when unknown.
fn is_set(value: &Value, name: &str) -> Option<bool> {
    let (head, rest) = match name.split_once('.') {
        Some((h, r)) => (h, Some(r)),
        None => (name, None),
    };
    let v = match value.get(head) {
        None => return Some(false),
        Some(v) => v,
    };
    if v.is_unknown() {
        return None;
    }
    match rest {
        None => Some(match v.peel() {
            Value::Null => false,
            Value::List(xs) | Value::Set(xs) => !xs.is_empty(),
            Value::Map(m) => !m.is_empty(),
            _ => true,
        }),
        Some(rest) => {
            let mut unknown = false;
            for item in v.as_list().unwrap_or(&[]) {
                match is_set(item, rest) {
                    Some(true) => return Some(true),
                    None => unknown = true,
                    Some(false) => {}
                }
            }
            if unknown {
                None
            } else {
                Some(false)
            }
        }
    }
}

fn check_rules(
    body: Option<&Body>,
    value: &Value,
    schema: &Schema,
    block_span: Span,
    path: &AttrPath,
    diags: &mut Diagnostics,
) {
    let display = |n: &str| match AttrPath::parse(n) {
        Some(rel) => AttrPath(path.0.iter().cloned().chain(rel.0).collect()).to_string(),
        None => n.to_string(),
    };
    let displayed = |names: &[&'static str]| names.iter().map(|n| display(n)).collect::<Vec<_>>();
    let name_span = |n: &str| span_for_path(body, &AttrPath::parse(n).unwrap_or_default(), block_span, true);
    for rule in &schema.rules {
        match rule {
            Rule::ExactlyOneOf(names) | Rule::AtMostOneOf(names) | Rule::AtLeastOneOf(names) => {
                let states: Vec<Option<bool>> = names.iter().map(|n| is_set(value, n)).collect();
                let set: Vec<&str> =
                    names.iter().zip(&states).filter(|(_, s)| **s == Some(true)).map(|(n, _)| *n).collect();
                let any_unknown = states.iter().any(Option::is_none);
                let all = displayed(names);
                let listed = quoted_list(all.iter().map(String::as_str));
                let too_many = !matches!(rule, Rule::AtLeastOneOf(_)) && set.len() > 1;
                let too_few = !matches!(rule, Rule::AtMostOneOf(_)) && set.is_empty() && !any_unknown;
                if too_many {
                    let both: Vec<String> = set.iter().map(|n| display(n)).collect();
                    diags.push(
                        Diagnostic::error(format!("Only one of {listed} may be set"))
                            .at(name_span(set[1]))
                            .detail(format!("{} are all set.", quoted_list(both.iter().map(String::as_str))))
                            .help(format!(
                                "keep one of {} and remove the others",
                                quoted_list(both.iter().map(String::as_str))
                            )),
                    );
                }
                if too_few {
                    let what = if matches!(rule, Rule::ExactlyOneOf(_)) { "Exactly one" } else { "At least one" };
                    diags.push(Diagnostic::error(format!("{what} of {listed} must be set")).at(block_span).help(
                        format!("set {}", if all.len() == 1 { listed.clone() } else { format!("one of {listed}") }),
                    ));
                }
            }
            Rule::RequiredWith(first, others) => {
                if is_set(value, first) != Some(true) {
                    continue;
                }
                for other in others {
                    if is_set(value, other) == Some(false) {
                        diags.push(
                            Diagnostic::error(format!(
                                "\"{}\" is required when \"{}\" is set",
                                display(other),
                                display(first)
                            ))
                            .at(name_span(first))
                            .help(format!(
                                "set \"{}\" too, or remove \"{}\"",
                                display(other),
                                display(first)
                            )),
                        );
                    }
                }
            }
            Rule::Custom(check) => {
                for (p, message) in check(value) {
                    diags.push(Diagnostic::error(message).at(span_for_path(body, &p, block_span, false)));
                }
            }
        }
    }
}

/// A tiny HCL → [`Body`] + [`Value`] bridge for tests, independent of the real loader:
/// literals only; the variable `unknown` evaluates to an unknown, `sensitive(x)` marks `x`, and
/// a `dynamic` block's `for_each` literal list expands its `content` once per element.
#[cfg(test)]
pub(crate) mod test_hcl {
    use std::path::Path;

    use hcl_edit::expr::{Expression, ObjectKey};
    use hcl_edit::structure::{Body as HBody, Structure};
    use hcl_edit::Span as _;

    use crate::lang::config::{Attribute, Body, DynamicBlock, Expr, NestedBlock};
    use crate::lang::diag::{FileId, SourceMap, Span};
    use crate::lang::value::Value;

    pub struct Parsed {
        pub sources: SourceMap,
        pub body: Body,
        /// The resource block header.
        pub block_span: Span,
        pub value: Value,
    }

    /// Parses `resource "t" "n" { … }` (the first block of `src`).
    pub fn resource(src: &str) -> Parsed {
        let mut sources = SourceMap::new();
        let file = sources.add(Path::new("main.tf"), "main.tf".into(), src.to_string());
        let hbody = hcl_edit::parser::parse_body(src).expect("test HCL parses");
        let block = hbody.blocks().next().expect("a resource block");
        let start = block.span().map(|r| r.start).unwrap_or(0);
        let end = src[start..].find('{').map(|i| start + i).unwrap_or(start);
        Parsed {
            sources,
            body: convert(&block.body, file),
            block_span: Span { file, start, end },
            value: eval_body(&block.body),
        }
    }

    /// What [`super::check_values`] says of the first resource block of `src` against `schema`,
    /// one `file:line:col: summary` line per diagnostic (no location where it has no span).
    pub fn check(src: &str, schema: &crate::schema::Schema) -> Vec<String> {
        let p = resource(src);
        super::check_values(&p.body, &p.value, schema, p.block_span)
            .0
            .iter()
            .map(|d| match d.span {
                Some(span) => format!("{}: {}", p.sources.location(span), d.summary),
                None => format!(": {}", d.summary),
            })
            .collect()
    }

    fn sp(file: FileId, r: Option<std::ops::Range<usize>>) -> Span {
        let r = r.unwrap_or(0..0);
        Span { file, start: r.start, end: r.end }
    }

    fn expr(file: FileId, e: &Expression) -> Expr {
        Expr { expr: e.clone(), span: sp(file, e.span()) }
    }

    fn convert(b: &HBody, file: FileId) -> Body {
        let mut out = Body::default();
        for s in b.iter() {
            match s {
                Structure::Attribute(a) => {
                    let name = a.key.as_str().to_string();
                    out.attributes.insert(
                        name.clone(),
                        Attribute {
                            name,
                            expr: expr(file, &a.value),
                            span: sp(file, a.span()),
                            name_span: sp(file, a.key.span()),
                        },
                    );
                }
                Structure::Block(bl) if bl.ident.as_str() == "dynamic" => {
                    let type_name = bl.labels.first().map(|l| l.as_str().to_string()).unwrap_or_default();
                    let for_each = bl.body.get_attribute("for_each").map(|a| expr(file, &a.value)).expect("for_each");
                    let content =
                        bl.body.get_blocks("content").next().map(|c| convert(&c.body, file)).unwrap_or_default();
                    out.dynamic_blocks.push(DynamicBlock {
                        type_name: type_name.clone(),
                        for_each,
                        iterator: type_name,
                        content,
                        span: sp(file, bl.span()),
                    });
                }
                Structure::Block(bl) => out.blocks.push(NestedBlock {
                    type_name: bl.ident.as_str().to_string(),
                    labels: bl.labels.iter().map(|l| l.as_str().to_string()).collect(),
                    body: convert(&bl.body, file),
                    span: sp(file, bl.span()),
                }),
            }
        }
        out
    }

    fn eval_body(b: &HBody) -> Value {
        let mut m = std::collections::BTreeMap::new();
        for s in b.iter() {
            match s {
                Structure::Attribute(a) => {
                    m.insert(a.key.as_str().to_string(), eval(&a.value));
                }
                Structure::Block(bl) => {
                    let (name, items) = if bl.ident.as_str() == "dynamic" {
                        let name = bl.labels.first().map(|l| l.as_str().to_string()).unwrap_or_default();
                        let n = bl.body.get_attribute("for_each").and_then(|a| a.value.as_array().map(|a| a.len()));
                        let content =
                            bl.body.get_blocks("content").next().map(|c| eval_body(&c.body)).unwrap_or(Value::Null);
                        match n {
                            Some(n) => (name, vec![content; n]),
                            None => {
                                m.insert(name, Value::unknown());
                                continue;
                            }
                        }
                    } else {
                        (bl.ident.as_str().to_string(), vec![eval_body(&bl.body)])
                    };
                    let entry = m.entry(name).or_insert_with(|| Value::List(Vec::new()));
                    if let Value::List(xs) = entry {
                        xs.extend(items);
                    }
                }
            }
        }
        Value::object(m)
    }

    pub fn eval(e: &Expression) -> Value {
        match e {
            Expression::Null(_) => Value::Null,
            Expression::Bool(b) => Value::Bool(*b.value()),
            Expression::Number(n) => crate::lang::eval::literal_number(n).map_or(Value::Null, Value::Number),
            Expression::String(s) => Value::String(s.value().to_string()),
            Expression::Array(a) => Value::List(a.iter().map(eval).collect()),
            Expression::Object(o) => Value::object(
                o.iter()
                    .map(|(k, v)| {
                        let key = match k {
                            ObjectKey::Ident(i) => i.as_str().to_string(),
                            ObjectKey::Expression(e) => eval(e).as_str().unwrap_or_default().to_string(),
                        };
                        (key, eval(v.expr()))
                    })
                    .collect(),
            ),
            Expression::FuncCall(f) if f.name.name.as_str() == "sensitive" => {
                f.args.iter().next().map(eval).unwrap_or(Value::Null).sensitive()
            }
            _ => Value::unknown(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_hcl::resource;
    use super::*;
    use crate::schema::BlockType;
    use std::sync::Arc;

    fn schema() -> Schema {
        Schema::new()
            .attr(
                "name",
                Attribute::required(AttrType::String).validate(Validator::Pattern {
                    regex: "[a-z][a-z0-9-]*",
                    description: "lowercase letters, digits and hyphens, starting with a letter",
                }),
            )
            .attr(
                "tier",
                Attribute::optional(AttrType::String).validate(Validator::OneOf(vec!["small", "medium", "large"])),
            )
            .attr("size", Attribute::optional(AttrType::Number).validate(Validator::Range { min: 1.0, max: 300.0 }))
            .attr(
                "replicas",
                Attribute::optional(AttrType::Number).validate(Validator::Range { min: 0.0, max: f64::MAX }),
            )
            .attr("code", Attribute::optional(AttrType::String).validate(Validator::Length { min: 2, max: 4 }))
            .attr(
                "password",
                Attribute::optional(AttrType::String)
                    .sensitive()
                    .validate(Validator::Length { min: 8, max: usize::MAX }),
            )
            .attr("enabled", Attribute::optional(AttrType::Bool))
            .attr(
                "tags",
                Attribute::optional(AttrType::Set(Box::new(AttrType::String)))
                    .validate(Validator::OneOf(vec!["a", "b"])),
            )
            .attr("ports", Attribute::optional(AttrType::List(Box::new(AttrType::Number))))
            .attr(
                "labels",
                Attribute::optional(AttrType::Map(Box::new(AttrType::String)))
                    .validate(Validator::Length { min: 1, max: 5 }),
            )
            .attr(
                "even",
                Attribute::optional(AttrType::Number).validate(Validator::Custom(Arc::new(|v: &Value| {
                    if v.as_i64().is_some_and(|n| n % 2 == 0) {
                        Ok(())
                    } else {
                        Err("must be an even number".to_string())
                    }
                }))),
            )
            .attr("self_link", Attribute::computed(AttrType::String))
            .block(
                "settings",
                BlockType::single(
                    Schema::new()
                        .attr(
                            "disk_size",
                            Attribute::optional(AttrType::Number).validate(Validator::Range { min: 10.0, max: 100.0 }),
                        )
                        .attr("edition", Attribute::required(AttrType::String))
                        .block(
                            "flag",
                            BlockType {
                                nesting: Nesting::List,
                                min_items: 0,
                                max_items: 0,
                                force_new: false,
                                block: Schema::new().attr("value", Attribute::required(AttrType::String)),
                            },
                        ),
                ),
            )
            .block(
                "rule",
                BlockType::set(
                    Schema::new()
                        .attr("port", Attribute::required(AttrType::Number))
                        .attr("protocol", Attribute::optional(AttrType::String)),
                )
                .min_items(1)
                .max_items(3),
            )
    }

    /// Runs `f`, renders its diagnostics with locations.
    fn render(src: &str, f: impl Fn(&super::test_hcl::Parsed) -> Diagnostics) -> Vec<String> {
        let parsed = resource(src);
        let diags = f(&parsed);
        diags
            .0
            .iter()
            .map(|d| {
                let at = d.span.map(|s| parsed.sources.location(s)).unwrap_or_default();
                format!(
                    "{at}: {} | {} | {}",
                    d.summary,
                    d.detail.clone().unwrap_or_default(),
                    d.help.clone().unwrap_or_default()
                )
            })
            .collect()
    }

    fn structure_of(src: &str) -> Vec<String> {
        render(src, |p| check_structure(&p.body, &schema(), p.block_span))
    }

    fn values_of(src: &str) -> Vec<String> {
        render(src, |p| check_values(&p.body, &p.value, &schema(), p.block_span))
    }

    const MIN_OK: &str = "  name = \"db\"\n  rule {\n    port = 1\n  }\n";

    fn res(body: &str) -> String {
        format!("resource \"t\" \"n\" {{\n{body}}}\n")
    }

    #[test]
    fn valid_configuration_has_no_diagnostics() {
        let src = res(&format!("{MIN_OK}  tier = \"small\"\n  settings {{\n    edition = \"x\"\n    flag {{\n      value = \"v\"\n    }}\n  }}\n"));
        assert_eq!(structure_of(&src), Vec::<String>::new());
        assert_eq!(values_of(&src), Vec::<String>::new());
    }

    #[test]
    fn unknown_argument_suggests_close_name() {
        let out = structure_of(&res(&format!("{MIN_OK}  tierr = \"small\"\n")));
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(out[0].starts_with("main.tf:6:3: Unsupported argument \"tierr\""), "{out:?}");
        assert!(out[0].contains("did you mean \"tier\"?"), "{out:?}");
    }

    #[test]
    fn unknown_argument_without_close_name_lists_valid_ones() {
        let out = structure_of(&res(&format!("{MIN_OK}  zzzz = 1\n")));
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(out[0].contains("valid arguments: \"name\", \"tier\""), "{out:?}");
        assert!(out[0].contains("blocks: \"settings\", \"rule\""), "{out:?}");
        assert!(!out[0].contains("\"self_link\""), "computed-only attributes are not offered: {out:?}");
    }

    #[test]
    fn nested_unknown_argument_and_block() {
        let out = structure_of(&res(&format!(
            "{MIN_OK}  settings {{\n    edition = \"x\"\n    disk_sise = 3\n    flagg {{\n    }}\n  }}\n"
        )));
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(out[0].starts_with("main.tf:8:5: Unsupported argument \"disk_sise\""), "{out:?}");
        assert!(out[0].contains("in block \"settings[0]\""), "{out:?}");
        assert!(out[0].contains("did you mean \"disk_size\"?"), "{out:?}");
        assert!(out[1].starts_with("main.tf:9:5: Unsupported block type \"flagg\""), "{out:?}");
        assert!(out[1].contains("did you mean \"flag\"?"), "{out:?}");
    }

    #[test]
    fn argument_as_block_and_block_as_argument() {
        let out = structure_of(&res(&format!("{MIN_OK}  settings = {{}}\n  tier {{\n  }}\n")));
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(out[0].starts_with("main.tf:6:3: \"settings\" is a block, not an argument"), "{out:?}");
        assert!(out[1].starts_with("main.tf:7:3: \"tier\" is an argument, not a block"), "{out:?}");
        assert!(out[1].contains("tier = …"), "{out:?}");
    }

    #[test]
    fn missing_required_points_at_block_header() {
        let out = structure_of(&res("  tier = \"small\"\n"));
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(out[0].starts_with("main.tf:1:1: Missing required argument \"name\""), "{out:?}");
        assert!(out[1].starts_with("main.tf:1:1: Missing required block \"rule\""), "{out:?}");
        let nested = structure_of(&res(&format!("{MIN_OK}  settings {{\n  }}\n")));
        assert_eq!(nested.len(), 1, "{nested:?}");
        assert!(nested[0].starts_with("main.tf:6:3: Missing required argument \"settings[0].edition\""), "{nested:?}");
    }

    #[test]
    fn too_many_blocks() {
        let two_settings = "  settings {\n    edition = \"a\"\n  }\n  settings {\n    edition = \"b\"\n  }\n";
        let out = structure_of(&res(&format!("{MIN_OK}{two_settings}")));
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(out[0].starts_with("main.tf:9:3: Too many \"settings\" blocks"), "{out:?}");
        let rules = "  rule {\n    port = 2\n  }\n".repeat(3);
        let out = structure_of(&res(&format!("{MIN_OK}{rules}")));
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(out[0].contains("At most 3 \"rule\" blocks are allowed here; found 4."), "{out:?}");
    }

    #[test]
    fn computed_only_cannot_be_set() {
        let out = structure_of(&res(&format!("{MIN_OK}  self_link = \"x\"\n")));
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(out[0].starts_with("main.tf:6:3: \"self_link\" cannot be set"), "{out:?}");
    }

    #[test]
    fn dynamic_blocks_are_checked_and_counted_after_evaluation() {
        let src = res("  name = \"db\"\n  dynamic \"rule\" {\n    for_each = [1, 2, 3, 4]\n    content {\n      port = \"x\"\n      prot = 1\n    }\n  }\n");
        let out = structure_of(&src);
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(out[0].starts_with("main.tf:7:7: Unsupported argument \"prot\""), "{out:?}");
        let out = values_of(&src);
        assert!(out.iter().any(|d| d.starts_with("main.tf:3:3: Too many \"rule\" blocks")), "{out:?}");
        assert!(out.iter().any(|d| d.starts_with("main.tf:6:7: Incorrect value type for \"rule[0].port\"")), "{out:?}");
        let unknown_count = res(
            "  name = \"db\"\n  dynamic \"rule\" {\n    for_each = var.x\n    content {\n      port = 1\n    }\n  }\n",
        );
        assert_eq!(values_of(&unknown_count), Vec::<String>::new());
    }

    #[test]
    fn one_of_reports_options_and_suggestion() {
        let out = values_of(&res(&format!("{MIN_OK}  tier = \"smal\"\n")));
        assert_eq!(out, vec!["main.tf:6:3: \"tier\" must be one of \"small\", \"medium\", \"large\"; got \"smal\" |  | did you mean \"small\"?".to_string()]);
    }

    #[test]
    fn range_and_length_and_pattern() {
        let out = values_of(&res(
            "  name = \"9db\"\n  rule {\n    port = 1\n  }\n  size = 301\n  replicas = -1\n  code = \"abcde\"\n",
        ));
        assert_eq!(
            out,
            vec![
                "main.tf:2:3: \"name\" must be lowercase letters, digits and hyphens, starting with a letter; got \"9db\" |  | ",
                "main.tf:6:3: \"size\" must be between 1 and 300; got 301 |  | ",
                "main.tf:7:3: \"replicas\" must be at least 0; got -1 |  | ",
                "main.tf:8:3: \"code\" must be between 2 and 4 characters long; got 5 characters |  | ",
            ]
        );
    }

    #[test]
    fn validators_apply_to_collection_elements_and_custom_sees_whole_value() {
        let out = values_of(&res(&format!(
            "{MIN_OK}  tags = [\"a\", \"c\"]\n  labels = {{ ok = \"v\", bad = \"toolong\" }}\n  even = 3\n"
        )));
        assert_eq!(
            out,
            vec![
                "main.tf:6:3: \"tags[1]\" must be one of \"a\", \"b\"; got \"c\" |  | ",
                "main.tf:7:3: \"labels.bad\" must be between 1 and 5 characters long; got 7 characters |  | ",
                "main.tf:8:3: \"even\" must be an even number |  | ",
            ]
        );
    }

    #[test]
    fn nested_block_values_point_inside_the_block() {
        let out = values_of(&res(&format!("{MIN_OK}  settings {{\n    edition = \"x\"\n    disk_size = 5\n  }}\n")));
        assert_eq!(out, vec!["main.tf:8:5: \"settings[0].disk_size\" must be between 10 and 100; got 5 |  | "]);
    }

    #[test]
    fn sensitive_values_are_never_printed() {
        let out = values_of(&res(&format!("{MIN_OK}  password = \"hunter2\"\n  code = sensitive(\"abcdefgh\")\n  tier = sensitive(\"secret-tier\")\n  size = sensitive(\"not-a-number\")\n")));
        let joined = out.join("\n");
        assert_eq!(out.len(), 4, "{joined}");
        for secret in ["hunter2", "abcdefgh", "secret-tier", "not-a-number", "got 7", "got 8"] {
            assert!(!joined.contains(secret), "{secret} leaked: {joined}");
        }
        assert!(joined.contains("\"password\" must be at least 8 characters long"), "{joined}");
        assert!(joined.contains("(sensitive value)"), "{joined}");
    }

    #[test]
    fn unknown_values_are_skipped_and_explicit_null_required_is_reported() {
        let out = values_of(&res(
            "  name = null\n  rule {\n    port = 1\n  }\n  size = var.unknown\n  tags = [\"a\", var.x]\n",
        ));
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(out[0].starts_with("main.tf:2:3: Missing required argument \"name\""), "{out:?}");
    }

    fn rules_schema(rule: Rule) -> Schema {
        Schema::new()
            .attr("a", Attribute::optional(AttrType::String))
            .attr("b", Attribute::optional(AttrType::String))
            .attr("c", Attribute::optional(AttrType::String))
            .block("blk", BlockType::list(Schema::new().attr("x", Attribute::optional(AttrType::String))))
            .rule(rule)
    }

    fn rule_out(rule: Rule, body: &str) -> Vec<String> {
        let s = rules_schema(rule);
        render(&res(body), |p| check_values(&p.body, &p.value, &s, p.block_span))
    }

    #[test]
    fn exactly_one_of() {
        let r = || Rule::ExactlyOneOf(vec!["a", "b", "blk.x"]);
        assert_eq!(rule_out(r(), "  a = \"1\"\n"), Vec::<String>::new());
        assert_eq!(rule_out(r(), "  blk {\n    x = \"1\"\n  }\n"), Vec::<String>::new());
        let none = rule_out(r(), "  c = \"1\"\n");
        assert_eq!(none.len(), 1);
        assert!(none[0].starts_with("main.tf:1:1: Exactly one of \"a\", \"b\", \"blk.x\" must be set"), "{none:?}");
        let two = rule_out(r(), "  a = \"1\"\n  b = \"2\"\n");
        assert_eq!(two.len(), 1);
        assert!(
            two[0]
                .starts_with("main.tf:3:3: Only one of \"a\", \"b\", \"blk.x\" may be set | \"a\", \"b\" are all set."),
            "{two:?}"
        );
        assert_eq!(rule_out(r(), "  a = var.x\n"), Vec::<String>::new(), "undecidable while unknown");
    }

    #[test]
    fn at_most_and_at_least_one_of() {
        assert_eq!(rule_out(Rule::AtMostOneOf(vec!["a", "b"]), ""), Vec::<String>::new());
        assert_eq!(rule_out(Rule::AtMostOneOf(vec!["a", "b"]), "  a = \"1\"\n  b = \"2\"\n").len(), 1);
        assert_eq!(rule_out(Rule::AtLeastOneOf(vec!["a", "b"]), "  a = \"1\"\n  b = \"2\"\n"), Vec::<String>::new());
        let out = rule_out(Rule::AtLeastOneOf(vec!["a", "b"]), "");
        assert_eq!(out.len(), 1);
        assert!(out[0].starts_with("main.tf:1:1: At least one of \"a\", \"b\" must be set"), "{out:?}");
    }

    #[test]
    fn required_with() {
        let r = || Rule::RequiredWith("a", vec!["b", "c"]);
        assert_eq!(rule_out(r(), "  b = \"1\"\n"), Vec::<String>::new());
        let out = rule_out(r(), "  a = \"1\"\n  c = \"1\"\n");
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(out[0].starts_with("main.tf:2:3: \"b\" is required when \"a\" is set"), "{out:?}");
    }

    #[test]
    fn custom_rule_points_at_returned_path() {
        let r = Rule::Custom(Arc::new(|v: &Value| {
            if v.get("blk").and_then(|b| b.as_list()).is_some_and(|b| b.len() > 1) {
                vec![(AttrPath::parse("blk[1].x").unwrap(), "blk[1].x conflicts with blk[0].x".to_string())]
            } else {
                vec![]
            }
        }));
        let out = rule_out(r, "  blk {\n    x = \"1\"\n  }\n  blk {\n    x = \"2\"\n  }\n");
        assert_eq!(out, vec!["main.tf:6:5: blk[1].x conflicts with blk[0].x |  | ".to_string()]);
    }

    #[test]
    fn conform_converts_to_schema_types() {
        let p = resource(&res("  name = \"db\"\n  size = \"5\"\n  enabled = \"true\"\n  tags = [\"b\", \"a\", \"b\"]\n  ports = [\"80\", 443]\n  code = 12\n  password = sensitive(\"secret\")\n  rule {\n    port = 2\n  }\n  rule {\n    port = 1\n  }\n  bogus = 1\n"));
        let v = conform(&p.body, p.value.clone(), &schema(), p.block_span).unwrap();
        assert_eq!(v.get("size"), Some(&Value::from(5)));
        assert_eq!(v.get("enabled"), Some(&Value::from(true)));
        assert_eq!(v.get("tags"), Some(&Value::Set(vec!["a".into(), "b".into()])));
        assert_eq!(v.get("ports"), Some(&Value::List(vec![Value::from(80), Value::from(443)])));
        assert_eq!(v.get("code"), Some(&Value::from("12")));
        assert!(v.get("password").unwrap().is_sensitive());
        assert_eq!(v.get("tier"), Some(&Value::Null), "every attribute is present");
        assert_eq!(v.get("settings"), Some(&Value::List(vec![])), "absent blocks are empty");
        assert_eq!(v.get("bogus"), None);
        let rules = v.get("rule").unwrap();
        assert!(matches!(rules, Value::Set(_)));
        assert_eq!(rules.as_list().unwrap()[0].get("port"), Some(&Value::from(1)));
        assert_eq!(rules.as_list().unwrap()[0].get("protocol"), Some(&Value::Null));
    }

    #[test]
    fn conform_reports_type_errors_with_spans() {
        let p = resource(&res("  name = \"db\"\n  rule {\n    port = 1\n  }\n  size = \"big\"\n  ports = [1, \"x\"]\n  enabled = \"yes\"\n  labels = [1]\n  settings {\n    edition = \"e\"\n    disk_size = sensitive(\"abc\")\n  }\n"));
        let err = conform(&p.body, p.value.clone(), &schema(), p.block_span).unwrap_err();
        let out: Vec<String> = err
            .0
            .iter()
            .map(|d| {
                format!(
                    "{}: {} | {}",
                    p.sources.location(d.span.unwrap()),
                    d.summary,
                    d.detail.clone().unwrap_or_default()
                )
            })
            .collect();
        assert_eq!(
            out,
            vec![
                "main.tf:6:3: Incorrect value type for \"size\" | a number is required, but the string \"big\" is not a number.",
                "main.tf:8:3: Incorrect value type for \"enabled\" | a bool (true or false) is required, but the value is the string \"yes\".",
                "main.tf:7:3: Incorrect value type for \"ports[1]\" | a number is required, but the string \"x\" is not a number.",
                "main.tf:9:3: Incorrect value type for \"labels\" | a map is required, but the value is a list.",
                "main.tf:12:5: Incorrect value type for \"settings[0].disk_size\" | a number is required, but a string (sensitive value) is not a number.",
            ]
        );
    }

    #[test]
    fn conform_keeps_unknowns() {
        let p = resource(&res("  name = var.x\n  rule {\n    port = 1\n  }\n  tags = [\"a\", var.y]\n"));
        let v = conform(&p.body, p.value.clone(), &schema(), p.block_span).unwrap();
        assert!(v.get("name").unwrap().is_unknown());
        assert!(v.get("tags").unwrap().contains_unknown());
    }
}
