//! Terraform's JSON configuration syntax (`*.tf.json`), read into the same hcl-edit syntax tree
//! the HCL path produces, so that one loader (`load.rs`) checks both and every later stage
//! (evaluation, planning) locates its diagnostics in the JSON text.
//!
//! HCL's JSON mapping is schema-driven: whether a property is a block or an argument, how many
//! levels of nested objects are labels, and whether a string is a template (`"${var.x}"`) or
//! an expression's source (`"depends_on": ["google_x.a"]`) depend on where it appears. The
//! language's own blocks are known here ([`nested_block`], [`string_reading`]); the nested
//! blocks of a resource type are known only to its provider's schema, so a resource body's
//! object-valued properties stay arguments here and [`shape_resource_bodies`] turns the ones the
//! schema calls blocks into blocks once the providers are known.
//!
//! Spans: hcl-edit sets spans only while parsing, so every expression, argument name, block
//! type and label is parsed from one *shadow* text: the file's length in spaces, each piece
//! written at its own JSON offset as HCL (a JSON string holding a template becomes the quoted
//! HCL string of the same template, `"depends_on"`'s strings their bare source), the whole
//! wrapped as one tuple `[a, b, …]`. A piece's HCL is never longer than its JSON (JSON escapes
//! are as long as HCL's or longer), so each starts at its JSON offset and the parsed spans are
//! offsets in the JSON text. A block's and an argument's own span are derived from their parts
//! (`Loader::block_span`, `Loader::attr_span`).

use std::ops::Range;

use hcl_edit::expr::{Expression, ObjectKey};
use hcl_edit::structure::{Attribute, Block, BlockLabel, Body, Structure};
use hcl_edit::template::Element;
use hcl_edit::{Decorated, Ident, Span as _};
use jsonc_parser::ast::{ObjectPropName, Value as Json};

use crate::lang::config::{self, Expr, ResourceMode};
use crate::lang::diag::{Diagnostic, Diagnostics, FileId, Span};
use crate::schema::Schema;

/// The name of a `.tf.json` file (Terraform reads no other JSON configuration).
pub fn is_json_config(name: &str) -> bool {
    name.ends_with(".tf.json")
}

/// JSON as RFC 8259 has it and Terraform reads it: jsonc-parser's extensions (comments,
/// trailing commas, single quotes, hex numbers, …) all off.
pub fn strict_json_options() -> jsonc_parser::ParseOptions {
    jsonc_parser::ParseOptions {
        allow_comments: false,
        allow_loose_object_property_names: false,
        allow_trailing_commas: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    }
}

/// The body a `.tf.json` file declares, or every problem found in it.
pub fn parse(file: FileId, text: &str) -> Result<Body, Diagnostics> {
    let options = strict_json_options();
    if let Some(at) = too_deep(text) {
        return Err(Diagnostics::from(
            Diagnostic::error("JSON nested too deeply")
                .detail(format!("A configuration nests objects and arrays at most {MAX_DEPTH} levels deep."))
                .at(Span { file, start: at, end: at + 1 }),
        ));
    }
    let parsed = jsonc_parser::parse_to_ast(text, &Default::default(), &options).map_err(|e| {
        let r = e.range();
        Diagnostics::from(
            Diagnostic::error("Invalid JSON syntax")
                .detail(format!("{}.", capitalize(&e.kind().to_string())))
                .at(Span { file, start: r.start, end: r.end.max(r.start + 1).min(text.len().max(r.start)) }),
        )
    })?;
    let mut t = Translator { file, text, shadow: vec![b' '; text.len()], slots: Vec::new(), diags: Diagnostics::new() };
    let nodes = match &parsed.value {
        Some(Json::Object(root)) => t.body(Kind::File, root),
        other => {
            let at = other.as_ref().map(|v| range(v)).unwrap_or(0..text.len());
            t.error(
                Diagnostic::error("Incorrect JSON value type")
                    .detail("The root of a JSON configuration file must be an object whose properties are block types, like {\"resource\": {…}}."),
                at,
            );
            Vec::new()
        }
    };
    if t.diags.has_errors() {
        return Err(t.diags);
    }
    let exprs = t.parse_slots()?;
    let mut built = Builder { exprs };
    let mut body = Body::new();
    for node in nodes {
        body.push(built.structure(node));
    }
    Ok(body)
}

/// Whether a resource body's JSON value is (or is an array of) a nested block holding a
/// `"dynamic": {"TYPE": {"for_each": …, "content": {…}}}` block, at any depth of nested blocks.
/// Nothing else writes that shape, so it marks a block without the provider's schema.
fn holds_dynamic(v: &Json) -> bool {
    match v {
        Json::Array(a) => a.elements.iter().any(holds_dynamic),
        Json::Object(o) => o.properties.iter().any(|p| match &p.name {
            ObjectPropName::String(k) if k.value == "dynamic" => is_dynamic_spec(&p.value) || holds_dynamic(&p.value),
            _ => holds_dynamic(&p.value),
        }),
        _ => false,
    }
}

/// `{"TYPE": {"for_each": …, …}}` (or an array of such objects).
fn is_dynamic_spec(v: &Json) -> bool {
    let has_for_each = |v: &Json| {
        match v {
        Json::Object(o) => o.properties.iter().any(|p| matches!(&p.name, ObjectPropName::String(k) if k.value == "for_each")),
        Json::Array(a) => a.elements.iter().any(|e| matches!(e, Json::Object(o) if o.properties.iter().any(|p| matches!(&p.name, ObjectPropName::String(k) if k.value == "for_each")))),
        _ => false,
    }
    };
    match v {
        Json::Object(o) => !o.properties.is_empty() && o.properties.iter().all(|p| has_for_each(&p.value)),
        Json::Array(a) => a.elements.iter().any(is_dynamic_spec),
        _ => false,
    }
}

/// How deep objects and arrays may nest: far beyond any configuration, and shallow enough that
/// the recursive parsers (JSON's, then HCL's on the shadow text) cannot exhaust the stack.
const MAX_DEPTH: usize = 128;

/// The offset of the first bracket nested deeper than [`MAX_DEPTH`].
fn too_deep(text: &str) -> Option<usize> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, b) in text.bytes().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' if in_string => escaped = true,
            b'"' => in_string = !in_string,
            b'{' | b'[' if !in_string => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Some(i);
                }
            }
            b'}' | b']' if !in_string => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// Which kind of body an object is: it says which properties are blocks (and how many label
/// levels they have) and how each argument's strings are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    File,
    Terraform,
    RequiredProviders,
    /// Only arguments (locals, a backend, a provider's arguments, a module call's inputs, …).
    Arguments,
    Variable,
    Condition,
    Output,
    Module,
    Resource,
    Lifecycle,
    Dynamic,
    Content,
    /// A resource's nested block that holds a dynamic block (see [`holds_dynamic`]).
    Nested,
    Check,
    Moved,
    Removed,
    Import,
    /// A block type the language does not have: kept empty, for the loader to report.
    Unknown,
}

/// A property of a body of kind `kind` that is a block: its label count and body kind.
fn nested_block(kind: Kind, name: &str) -> Option<(usize, Kind)> {
    use Kind::*;
    Some(match (kind, name) {
        (File, "terraform") => (0, Terraform),
        (File, "provider") => (1, Arguments),
        (File, "variable") => (1, Variable),
        (File, "locals") => (0, Arguments),
        (File, "resource" | "data") => (2, Resource),
        (File, "output") => (1, Output),
        (File, "module") => (1, Module),
        (File, "check") => (1, Check),
        (File, "moved") => (0, Moved),
        (File, "removed") => (0, Removed),
        (File, "import") => (0, Import),
        (File, _) => (0, Unknown),
        (Terraform, "backend" | "provider_meta") => (1, Arguments),
        (Terraform, "cloud") => (0, Arguments),
        (Terraform, "required_providers") => (0, RequiredProviders),
        (Variable, "validation") => (0, Condition),
        (Output, "precondition") => (0, Condition),
        (Resource, "lifecycle") => (0, Lifecycle),
        (Resource | Content | Nested, "dynamic") => (1, Dynamic),
        (Resource | Removed, "provisioner") => (1, Arguments),
        (Resource | Removed, "connection") => (0, Arguments),
        (Resource, "timeouts") => (0, Arguments),
        (Lifecycle, "precondition" | "postcondition") => (0, Condition),
        (Dynamic, "content") => (0, Content),
        (Check, "data") => (2, Resource),
        (Check, "assert") => (0, Condition),
        (Removed, "lifecycle") => (0, Arguments),
        _ => return None,
    })
}

/// How the strings of a value are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reading {
    /// As templates: `"${var.x}-a"` (HCL's expression mode).
    Template,
    /// As an expression's source: `"google.eu"` is the traversal `google.eu`, for the
    /// arguments Terraform reads without evaluating (references, keywords, type constraints).
    Source,
    /// A `required_providers` entry: templates, except `configuration_aliases`' references.
    RequiredProvider,
    /// Literally, as Terraform reads a variable's `default` (evaluated without a context, a
    /// JSON string is its own text).
    Literal,
}

fn string_reading(kind: Kind, name: &str) -> Reading {
    use Kind::*;
    match (kind, name) {
        (Resource, "provider" | "depends_on")
        | (Output | Module, "depends_on")
        | (Module, "providers")
        | (Lifecycle, "ignore_changes" | "replace_triggered_by")
        | (Dynamic, "iterator")
        | (Moved, "from" | "to")
        | (Removed, "from")
        | (Import, "to" | "provider")
        | (Variable, "type") => Reading::Source,
        (RequiredProviders, _) => Reading::RequiredProvider,
        (Variable, "default") => Reading::Literal,
        _ => Reading::Template,
    }
}

/// What the loader gets, in slot numbers (indexes into the parsed shadow tuple).
enum Node {
    Attribute { key: usize, value: usize },
    Block { ident: usize, labels: Vec<usize>, body: Vec<Node> },
}

/// One piece written into the shadow text: it must come back from the parse as one tuple
/// element starting within `at` (the JSON it was written from).
struct Slot {
    at: Range<usize>,
    what: &'static str,
}

struct Translator<'t> {
    file: FileId,
    text: &'t str,
    shadow: Vec<u8>,
    slots: Vec<Slot>,
    diags: Diagnostics,
}

fn range(v: &Json) -> Range<usize> {
    let r = match v {
        Json::StringLit(s) => s.range,
        Json::NumberLit(n) => n.range,
        Json::BooleanLit(b) => b.range,
        Json::Object(o) => o.range,
        Json::Array(a) => a.range,
        Json::NullKeyword(n) => n.range,
    };
    r.start..r.end
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

impl Translator<'_> {
    fn error(&mut self, d: Diagnostic, at: Range<usize>) {
        self.diags.push(d.at(Span { file: self.file, start: at.start, end: at.end }));
    }

    fn write(&mut self, at: usize, s: &str) {
        self.shadow[at..at + s.len()].copy_from_slice(s.as_bytes());
    }

    /// Records a slot whose HCL is `hcl`, written at `at` and followed by the tuple's comma.
    fn slot(&mut self, at: usize, hcl: &str, what: &'static str) -> usize {
        self.write(at, hcl);
        self.shadow[at + hcl.len()] = b',';
        self.slots.push(Slot { at: at..at + hcl.len(), what });
        self.slots.len() - 1
    }

    /// The properties of a body object.
    fn body(&mut self, kind: Kind, obj: &jsonc_parser::ast::Object) -> Vec<Node> {
        let mut out = Vec::new();
        for prop in &obj.properties {
            let ObjectPropName::String(key) = &prop.name else { continue };
            let name = key.value.as_ref();
            // HCL's JSON comments: a "//" property of a body is ignored.
            if name == "//" {
                continue;
            }
            let key_range = key.range.start..key.range.end;
            let what =
                if kind == Kind::File || nested_block(kind, name).is_some() { "block type" } else { "argument name" };
            if !is_identifier(name) {
                self.error(
                    Diagnostic::error(format!("Invalid {what} \"{name}\""))
                        .detail("A name must start with a letter or underscore and may contain only letters, digits, underscores and dashes."),
                    key_range,
                );
                continue;
            }
            // The name, unquoted, where its JSON string starts (plus its quote).
            let ident = self.slot(key_range.start + 1, name, "name");
            // A resource's nested blocks are known to its provider's schema only, so they stay
            // arguments until `shape_resource_bodies`, except one that holds a dynamic block:
            // the loader must see that block to know its iterator.
            let schema_block = matches!(kind, Kind::Resource | Kind::Content | Kind::Nested)
                && nested_block(kind, name).is_none()
                && holds_dynamic(&prop.value);
            let nested = if schema_block { Some((0, Kind::Nested)) } else { nested_block(kind, name) };
            match nested {
                Some((_, Kind::Unknown)) => out.push(Node::Block { ident, labels: Vec::new(), body: Vec::new() }),
                Some((labels, inner)) => {
                    self.blocks(name, ident, &mut Vec::new(), labels, inner, &prop.value, &mut out)
                }
                None => {
                    let reading = string_reading(kind, name);
                    if let Some(value) = self.value(&prop.value, reading) {
                        out.push(Node::Attribute { key: ident, value });
                    }
                }
            }
        }
        out
    }

    /// The blocks of type `name` a property's value declares: `remaining` more levels of
    /// objects whose keys are labels, then a body object (or an array of them, for several
    /// blocks; an array is also accepted at any label level).
    #[allow(clippy::too_many_arguments)]
    fn blocks(
        &mut self,
        name: &str,
        ident: usize,
        labels: &mut Vec<usize>,
        remaining: usize,
        kind: Kind,
        value: &Json,
        out: &mut Vec<Node>,
    ) {
        match value {
            Json::Array(items) => {
                for item in &items.elements {
                    self.blocks(name, ident, labels, remaining, kind, item, out);
                }
            }
            Json::Object(obj) if remaining > 0 => {
                for prop in &obj.properties {
                    let ObjectPropName::String(key) = &prop.name else { continue };
                    let label = key.value.as_ref();
                    if label == "//" {
                        continue;
                    }
                    let at = key.range.start..key.range.end;
                    let plain = !label.contains(['"', '\\', '\n', '\r', '\t'])
                        && !label.contains("${")
                        && !label.contains("%{")
                        && !label.chars().any(char::is_control);
                    if !plain {
                        self.error(
                            Diagnostic::error(format!("Invalid label \"{}\" for {name} block", label.escape_debug()))
                                .detail("A block label is a name: letters, digits, underscores and dashes."),
                            at,
                        );
                        continue;
                    }
                    let slot = self.slot(at.start, &format!("\"{label}\""), "label");
                    labels.push(slot);
                    self.blocks(name, ident, labels, remaining - 1, kind, &prop.value, out);
                    labels.pop();
                }
            }
            Json::Object(obj) => {
                let body = self.body(kind, obj);
                out.push(Node::Block { ident, labels: labels.clone(), body });
            }
            other => {
                let detail = if remaining > 0 {
                    format!(
                        "A JSON object is required here, whose property names are the {name} block's labels: {}.",
                        block_shape(name)
                    )
                } else {
                    format!(
                        "A JSON object is required here, holding the {name} block's arguments (or an array of such objects, for several blocks): {}.",
                        block_shape(name)
                    )
                };
                self.error(Diagnostic::error("Incorrect JSON value type").detail(detail), range(other));
            }
        }
    }

    /// Writes an expression value as one slot.
    fn value(&mut self, v: &Json, reading: Reading) -> Option<usize> {
        let at = range(v);
        let errors = self.diags.0.len();
        self.expression(v, reading);
        if self.diags.0.len() > errors {
            return None;
        }
        if let Some(b) = self.shadow.get_mut(at.end) {
            *b = b',';
        }
        self.slots.push(Slot { at, what: "expression" });
        Some(self.slots.len() - 1)
    }

    /// Writes the HCL of a JSON value in expression mode at the value's offset.
    fn expression(&mut self, v: &Json, reading: Reading) {
        match v {
            Json::StringLit(s) => {
                let r = s.range.start..s.range.end;
                match reading {
                    Reading::Source => self.source_string(r),
                    Reading::Literal if s.value.contains("${") || s.value.contains("%{") => self.error(
                        Diagnostic::error("Unsupported template sequence in a variable's default")
                            .detail("Terraform reads a JSON variable default literally, \"${\" included; Cairn can't carry that text yet.")
                            .help("set the default in a .tf file, as \"$${…}\""),
                        r,
                    ),
                    Reading::Template | Reading::RequiredProvider | Reading::Literal => self.template_string(r),
                }
            }
            Json::NumberLit(_) | Json::BooleanLit(_) | Json::NullKeyword(_) => {
                let r = range(v);
                let raw = &self.text[r.clone()];
                self.write(r.start, raw);
            }
            Json::Array(a) => {
                let r = range(v);
                self.shadow[r.start] = b'[';
                self.shadow[r.end - 1] = b']';
                let inner = if reading == Reading::RequiredProvider { Reading::Template } else { reading };
                for (i, item) in a.elements.iter().enumerate() {
                    self.expression(item, inner);
                    if i + 1 < a.elements.len() {
                        self.shadow[range(item).end] = b',';
                    }
                }
            }
            Json::Object(o) => {
                let r = range(v);
                self.shadow[r.start] = b'{';
                self.shadow[r.end - 1] = b'}';
                for (i, prop) in o.properties.iter().enumerate() {
                    let ObjectPropName::String(key) = &prop.name else { continue };
                    let key_range = key.range.start..key.range.end;
                    let value_reading = match reading {
                        Reading::RequiredProvider if key.value == "configuration_aliases" => Reading::Source,
                        Reading::RequiredProvider => Reading::Template,
                        other => other,
                    };
                    match reading {
                        Reading::Source => self.source_string(key_range.clone()),
                        Reading::Literal => self.expression(&Json::StringLit(key.clone()), reading),
                        _ => self.template_string(key_range.clone()),
                    }
                    // The colon is the first ':' after the key: only whitespace lies between.
                    if let Some(colon) = self.text[key_range.end..].find(':') {
                        self.shadow[key_range.end + colon] = b'=';
                    }
                    self.expression(&prop.value, value_reading);
                    if i + 1 < o.properties.len() {
                        self.shadow[range(&prop.value).end] = b',';
                    }
                }
            }
        }
    }

    /// A JSON string (with its quotes at `r`) read as an expression's source: `"google.eu"`.
    fn source_string(&mut self, r: Range<usize>) {
        let decoded = Decoded::new(&self.text[r.start + 1..r.end - 1], r.start + 1);
        if let Err(e) = hcl_edit::parser::parse_expr(&decoded.text) {
            let at = decoded.json_offset(e.location().offset());
            self.error(
                Diagnostic::error("Invalid expression").detail(format!(
                    "This string is read as an expression (a reference, keyword or type), not a template: {}.",
                    e.message()
                )),
                at..at + 1,
            );
            return;
        }
        let text = decoded.text.clone();
        self.write(r.start + 1, &text);
    }

    /// A JSON string (with its quotes at `r`) read as a template, written as the quoted HCL
    /// string of the same template: literal parts re-escaped as HCL quotes them, the
    /// interpolations' and directives' source as it is.
    fn template_string(&mut self, r: Range<usize>) {
        let decoded = Decoded::new(&self.text[r.start + 1..r.end - 1], r.start + 1);
        let template = match hcl_edit::parser::parse_template(&decoded.text) {
            Ok(t) => t,
            Err(e) => {
                let at = decoded.json_offset(e.location().offset());
                self.error(
                    Diagnostic::error("Invalid template").detail(format!("{}.", capitalize(e.message()))),
                    at..at + 1,
                );
                return;
            }
        };
        let mut literals = Vec::new();
        literal_spans(&template, &mut literals);
        let mut hcl = String::from("\"");
        for (i, (c, raw)) in decoded.chars.iter().enumerate() {
            let at = decoded.offsets[i];
            if !literals.iter().any(|r| r.contains(&at)) {
                hcl.push(*c);
                continue;
            }
            let raw_text = &self.text[raw.clone()];
            match raw_text.as_bytes() {
                [b'\\', b'"' | b'\\' | b'n' | b'r' | b't'] => hcl.push_str(raw_text),
                // HCL's \u escapes are JSON's, except that a character outside the basic plane
                // is written whole (\U0001F600) rather than as a surrogate pair.
                [b'\\', b'u', ..] if raw_text.len() == 6 => hcl.push_str(raw_text),
                [b'\\', b'u', ..] => hcl.push_str(&format!("\\U{:08X}", *c as u32)),
                _ if c.is_control() => hcl.push_str(&format!("\\u{:04X}", *c as u32)),
                _ => hcl.push(*c),
            }
        }
        hcl.push('"');
        if hcl.len() > r.len() {
            // Only \b and \f grow (HCL writes them \u0008 and \u000C).
            self.error(
                Diagnostic::error("Unsupported escape in a JSON string")
                    .detail("Cairn reads a backspace or form feed (\\b, \\f) in a template's text only when written as \\u0008 or \\u000c."),
                r,
            );
            return;
        }
        self.write(r.start, &hcl);
    }

    /// Parses the shadow tuple; every slot must come back as one element at its offset.
    fn parse_slots(&mut self) -> Result<Vec<Option<Expression>>, Diagnostics> {
        let located =
            |d: Diagnostic, at: usize| Diagnostics::from(d.at(Span { file: self.file, start: at, end: at + 1 }));
        // The tuple spans the whole text: hcl-edit's expression parser takes no whitespace
        // around the expression. The first and last bytes are the root object's braces or
        // whitespace around them, never part of a slot.
        if let [first, .., last] = self.shadow.as_mut_slice() {
            (*first, *last) = (b'[', b']');
        }
        // Whole characters are written at disjoint offsets, so the text is UTF-8.
        let shadow = String::from_utf8(std::mem::take(&mut self.shadow)).map_err(|e| {
            located(Diagnostic::error("Invalid JSON configuration").detail(e.to_string()), e.utf8_error().valid_up_to())
        })?;
        let parsed = match hcl_edit::parser::parse_expr(&shadow) {
            Ok(Expression::Array(items)) => items,
            Ok(_) => return Err(located(Diagnostic::error("Invalid JSON configuration"), 0)),
            Err(e) => {
                return Err(located(
                    Diagnostic::error("Invalid expression").detail(format!("{}.", capitalize(e.message()))),
                    e.location().offset(),
                ))
            }
        };
        let exprs: Vec<Expression> = parsed.into_iter().collect();
        for (i, slot) in self.slots.iter().enumerate() {
            let start = exprs.get(i).and_then(|e| e.span()).map(|r| r.start);
            if !start.is_some_and(|s| slot.at.contains(&s)) {
                return Err(located(
                    Diagnostic::error(format!("Invalid {}", slot.what))
                        .detail("This string does not read as a single expression."),
                    slot.at.start,
                ));
            }
        }
        if exprs.len() != self.slots.len() {
            let at = exprs.get(self.slots.len()).and_then(|e| e.span()).map(|r| r.start).unwrap_or(0);
            return Err(located(
                Diagnostic::error("Invalid expression").detail("This string does not read as a single expression."),
                at,
            ));
        }
        Ok(exprs.into_iter().map(Some).collect())
    }
}

/// The spans of a template's literal text, inside directives too (everything else is
/// expression source).
fn literal_spans(t: &hcl_edit::template::Template, out: &mut Vec<Range<usize>>) {
    for e in t.iter() {
        match e {
            Element::Literal(l) => out.extend(l.span()),
            Element::Interpolation(_) => {}
            Element::Directive(d) => match d.as_ref() {
                hcl_edit::template::Directive::If(i) => {
                    literal_spans(&i.if_expr.template, out);
                    if let Some(e) = &i.else_expr {
                        literal_spans(&e.template, out);
                    }
                }
                hcl_edit::template::Directive::For(f) => literal_spans(&f.for_expr.template, out),
            },
        }
    }
}

fn block_shape(name: &str) -> String {
    match nested_block(Kind::File, name) {
        Some((2, _)) => format!("{{\"{name}\": {{\"TYPE\": {{\"NAME\": {{…}}}}}}}}"),
        Some((1, _)) => format!("{{\"{name}\": {{\"NAME\": {{…}}}}}}"),
        _ => format!("{{\"{name}\": {{…}}}}"),
    }
}

/// A JSON string's content decoded, with each character's JSON bytes.
struct Decoded {
    text: String,
    /// Per character: the character and its bytes in the JSON text.
    chars: Vec<(char, Range<usize>)>,
    /// Per character: its byte offset in `text`.
    offsets: Vec<usize>,
    /// The JSON offset of the string's content.
    base: usize,
}

impl Decoded {
    fn new(raw: &str, base: usize) -> Self {
        let bytes = raw.as_bytes();
        let mut out = Decoded { text: String::new(), chars: Vec::new(), offsets: Vec::new(), base };
        let hex = |at: usize| raw.get(at..at + 4).and_then(|h| u32::from_str_radix(h, 16).ok());
        let mut i = 0;
        while i < raw.len() {
            let (c, len) = if bytes[i] == b'\\' && i + 1 < raw.len() {
                match bytes[i + 1] {
                    b'b' => ('\u{8}', 2),
                    b'f' => ('\u{c}', 2),
                    b'n' => ('\n', 2),
                    b'r' => ('\r', 2),
                    b't' => ('\t', 2),
                    b'u' => {
                        let first = hex(i + 2).unwrap_or(0xFFFD);
                        let low = (raw.get(i + 6..i + 8) == Some("\\u")).then(|| hex(i + 8)).flatten();
                        match low {
                            Some(low) if (0xD800..0xDC00).contains(&first) && (0xDC00..0xE000).contains(&low) => {
                                let c = 0x10000 + ((first - 0xD800) << 10) + (low - 0xDC00);
                                (char::from_u32(c).unwrap_or('\u{FFFD}'), 12)
                            }
                            _ => (char::from_u32(first).unwrap_or('\u{FFFD}'), 6),
                        }
                    }
                    other => (other as char, 2),
                }
            } else {
                let c = raw[i..].chars().next().unwrap_or('\u{FFFD}');
                (c, c.len_utf8())
            };
            out.offsets.push(out.text.len());
            out.text.push(c);
            out.chars.push((c, base + i..base + i + len));
            i += len;
        }
        out
    }

    /// The JSON offset of byte `at` of the decoded text.
    fn json_offset(&self, at: usize) -> usize {
        match self.offsets.binary_search(&at) {
            Ok(i) => self.chars[i].1.start,
            Err(i) => self
                .chars
                .get(i)
                .map(|c| c.1.start)
                .unwrap_or_else(|| self.chars.last().map(|c| c.1.end).unwrap_or(self.base)),
        }
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Turns slots back into the syntax tree.
struct Builder {
    exprs: Vec<Option<Expression>>,
}

impl Builder {
    fn structure(&mut self, node: Node) -> Structure {
        match node {
            Node::Attribute { key, value } => {
                let key = self.ident(key);
                let value = self.exprs[value].take().expect("each value slot is read once");
                Structure::Attribute(Attribute::new(key, value))
            }
            Node::Block { ident, labels, body } => {
                let mut block = Block::new(self.ident(ident));
                block.labels = labels
                    .into_iter()
                    .map(|l| match &self.exprs[l] {
                        Some(Expression::String(s)) => BlockLabel::String(s.clone()),
                        _ => BlockLabel::String(Decorated::new(String::new())),
                    })
                    .collect();
                for n in body {
                    block.body.push(self.structure(n));
                }
                Structure::Block(block)
            }
        }
    }

    /// A name slot (shared by the blocks one property declares, hence cloned).
    fn ident(&self, slot: usize) -> Decorated<Ident> {
        match &self.exprs[slot] {
            Some(Expression::Variable(v)) => v.clone(),
            // `true`, `false` and `null` parse as literals: names all the same, though without
            // a span of their own (hcl-edit has no way to give a made identifier one).
            Some(Expression::Bool(b)) => Decorated::new(Ident::new(b.value().to_string())),
            Some(_) => Decorated::new(Ident::new("null")),
            None => Decorated::new(Ident::new("_")),
        }
    }
}

/// Whether any configuration file of the stack (or its modules) is a `.tf.json` file.
pub fn has_json_files(config: &config::Config) -> bool {
    config.sources.files().any(|(_, f)| is_json_config(&f.display))
}

/// Whether a span lies in a `.tf.json` file.
fn in_json(sources: &crate::lang::diag::SourceMap, span: Span) -> bool {
    is_json_config(&sources.get(span.file).display)
}

/// Resource and data bodies read from `.tf.json` files, reshaped by their types' schemas: an
/// argument the schema calls a nested block becomes that block (one per object of an array),
/// as HCL's JSON decoding does with the provider's schema. `schema_of` gives a type's schema.
pub fn shape_resource_bodies(
    config: &mut config::Config,
    schema_of: &dyn Fn(ResourceMode, &str) -> Option<Schema>,
) -> Diagnostics {
    let mut diags = Diagnostics::new();
    if !has_json_files(config) {
        return diags;
    }
    let sources = config.sources.clone();
    for module in config.modules.values_mut() {
        for res in module.resources.values_mut() {
            if !in_json(&sources, res.span) {
                continue;
            }
            if let Some(schema) = schema_of(res.mode, &res.type_name) {
                shape(&mut res.body, &schema, res.span.file, &mut diags);
            }
        }
    }
    diags
}

fn shape(body: &mut config::Body, schema: &Schema, file: FileId, diags: &mut Diagnostics) {
    let names: Vec<String> =
        body.attributes.keys().filter(|k| schema.blocks.contains_key(k.as_str()) || *k == "dynamic").cloned().collect();
    for name in names {
        let Some(attr) = body.attributes.shift_remove(&name) else { continue };
        if name == "dynamic" && !schema.blocks.contains_key("dynamic") {
            dynamic_blocks(&attr.expr.expr, schema, file, body, diags);
            continue;
        }
        let objects: Vec<&Expression> = match &attr.expr.expr {
            Expression::Array(items) => items.iter().collect(),
            Expression::Null(_) => Vec::new(),
            other => vec![other],
        };
        for object in objects {
            if let Some(nested) = object_body(object, file, diags, &name) {
                let span = expr_span(file, object);
                body.blocks.push(config::NestedBlock {
                    type_name: name.clone(),
                    labels: Vec::new(),
                    body: nested,
                    span,
                });
            }
        }
    }
    for b in &mut body.blocks {
        if let Some(bt) = schema.blocks.get(b.type_name.as_str()) {
            shape(&mut b.body, &bt.block, file, diags);
        }
    }
    for d in &mut body.dynamic_blocks {
        if let Some(bt) = schema.blocks.get(d.type_name.as_str()) {
            shape(&mut d.content, &bt.block, file, diags);
        }
    }
}

fn expr_span(file: FileId, e: &Expression) -> Span {
    let r = e.span().unwrap_or(0..0);
    Span { file, start: r.start, end: r.end }
}

/// The name an object key spells: a JSON object's keys are strings (parsed as templates).
fn key_name(key: &ObjectKey) -> Option<(String, Range<usize>)> {
    match key {
        ObjectKey::Ident(i) => Some((i.value().as_str().to_string(), i.span()?)),
        ObjectKey::Expression(Expression::String(s)) => Some((s.value().clone(), s.span()?)),
        ObjectKey::Expression(_) => None,
    }
}

/// The body of a nested block written as a JSON object.
fn object_body(e: &Expression, file: FileId, diags: &mut Diagnostics, block: &str) -> Option<config::Body> {
    let Expression::Object(object) = e else {
        diags.push(
            Diagnostic::error("Incorrect JSON value type")
                .detail(format!(
                    "\"{block}\" is a nested block: a JSON object is required here, holding its arguments (or an array of such objects, for several blocks)."
                ))
                .at(expr_span(file, e)),
        );
        return None;
    };
    let mut body = config::Body::default();
    for (key, value) in object.iter() {
        let value = value.expr();
        let Some((name, key_range)) = key_name(key) else {
            diags.push(
                Diagnostic::error("Invalid argument name")
                    .detail("The names of a nested block's arguments are plain strings, not templates.")
                    .at(match key {
                        ObjectKey::Expression(k) => expr_span(file, k),
                        ObjectKey::Ident(_) => expr_span(file, value),
                    }),
            );
            continue;
        };
        if name == "//" {
            continue;
        }
        let value_span = expr_span(file, value);
        let attr = config::Attribute {
            name: name.clone(),
            expr: Expr { expr: value.clone(), span: value_span },
            span: Span { file, start: key_range.start, end: value_span.end },
            name_span: Span { file, start: key_range.start, end: key_range.end },
        };
        if body.attributes.contains_key(&name) {
            diags.push(Diagnostic::error(format!("Duplicate argument \"{name}\"")).at(attr.name_span));
            continue;
        }
        body.attributes.insert(name, attr);
    }
    Some(body)
}

/// `"dynamic": {"TYPE": {"for_each": …, "iterator": "x", "content": {…}}}` inside a nested
/// block the loader could not tell from an argument.
fn dynamic_blocks(e: &Expression, schema: &Schema, file: FileId, body: &mut config::Body, diags: &mut Diagnostics) {
    let Some(types) = object_body(e, file, diags, "dynamic") else { return };
    for (type_name, attr) in types.attributes {
        let Some(spec) = object_body(&attr.expr.expr, file, diags, &format!("dynamic \"{type_name}\"")) else {
            continue;
        };
        let mut for_each = None;
        let mut iterator = type_name.clone();
        let mut content = None;
        for (name, a) in spec.attributes {
            match name.as_str() {
                "for_each" => for_each = Some(a.expr),
                "iterator" => match &a.expr.expr {
                    Expression::String(s) if is_identifier(s.value()) => iterator = s.value().clone(),
                    _ => diags.push(
                        Diagnostic::error("Invalid dynamic iterator name")
                            .detail("The iterator is a name: \"iterator\": \"rule\".")
                            .at(a.expr.span),
                    ),
                },
                "content" => content = object_body(&a.expr.expr, file, diags, "content"),
                _ => diags.push(
                    Diagnostic::error("Unsupported argument")
                        .detail(format!("An argument named \"{name}\" is not expected in a dynamic block."))
                        .at(a.name_span),
                ),
            }
        }
        let (Some(for_each), Some(mut content)) = (for_each, content) else {
            diags.push(
                Diagnostic::error("Invalid dynamic block")
                    .detail("A dynamic block needs \"for_each\" and a \"content\" object.")
                    .at(attr.name_span),
            );
            continue;
        };
        if let Some(bt) = schema.blocks.get(type_name.as_str()) {
            shape(&mut content, &bt.block, file, diags);
        }
        body.dynamic_blocks.push(config::DynamicBlock { type_name, for_each, iterator, content, span: attr.span });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::load;

    fn load_files(files: &[(&str, &str)]) -> Result<config::Config, Box<load::LoadError>> {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        load::load(dir.path())
    }

    /// `file:line:col: summary` of every diagnostic of a failed load.
    fn errors(files: &[(&str, &str)]) -> Vec<String> {
        let e = load_files(files).map(|_| ()).expect_err("the load fails");
        e.diagnostics
            .0
            .iter()
            .map(|d| {
                let at = d.span.map(|s| e.sources.location(s)).unwrap_or_default();
                let file = at.rsplit('/').next().unwrap_or_default().to_string();
                format!("{file}: {}", d.summary)
            })
            .collect()
    }

    #[test]
    fn labels_arrays_and_comments_map_to_blocks() {
        let c = load_files(&[(
            "main.tf.json",
            r#"{
  "//": "a comment property is ignored",
  "variable": [{"a": {"default": 1}}, {"b": {"type": "number", "default": 2}}],
  "resource": {
    "random_id": {
      "x": [{"byte_length": 4}],
      "y": {"//": "so is this", "byte_length": "${var.a + var.b}", "depends_on": ["random_id.x"]}
    }
  },
  "moved": [{"from": "random_id.old", "to": "random_id.x"}, {"from": "random_id.z", "to": "random_id.y"}]
}"#,
        )])
        .unwrap_or_else(|e| panic!("{e}"));
        let root = c.root();
        assert_eq!(root.variables.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(root.resources.len(), 2);
        let y = root.resources.values().find(|r| r.name == "y").unwrap();
        assert_eq!(y.depends_on.len(), 1);
        assert!(!y.body.attributes.contains_key("//"));
        assert_eq!(root.moved.len(), 2);
        // Spans are offsets in the JSON text: the template starts at its opening quote.
        let byte_length = &y.body.attributes["byte_length"];
        assert_eq!(c.sources.location(byte_length.expr.span).rsplit('/').next().unwrap(), "main.tf.json:7:48");
        assert_eq!(c.sources.location(byte_length.name_span).rsplit('/').next().unwrap(), "main.tf.json:7:34");
    }

    #[test]
    fn templates_keep_their_escapes_and_strings_their_offsets() {
        let text = r#"
  {"locals": {"a": "q\"\\\u00e9\ud83d\ude00${upper(\"x\")}$${no}", "b": "after"}}
"#;
        let c = load_files(&[("main.tf.json", text)]).unwrap_or_else(|e| panic!("{e}"));
        let locals = &c.root().locals;
        let a = &locals["a"].expr;
        let ctx = crate::lang::eval::EvalCtx {
            resolver: &crate::lang::eval::NoReferences,
            count_index: None,
            each: None,
            module_dir: ".".into(),
            root_dir: std::path::Path::new("."),
            sources: &c.sources,
        };
        let v = crate::lang::eval::eval(a, &ctx).unwrap_or_else(|d| panic!("{}", c.sources.render_all_plain(&d)));
        assert_eq!(v, crate::lang::value::Value::String("q\"\\é😀X${no}".into()));
        // What follows a string with shortened escapes still starts at its own offset.
        let b = &locals["b"].expr;
        assert_eq!(b.span.start, text.find("\"after\"").unwrap());
    }

    #[test]
    fn override_files_replace_the_backend_like_their_hcl_twins() {
        let c = load_files(&[
            ("main.tf", "terraform {\n  backend \"local\" {\n    path = \"a\"\n  }\n}\n"),
            ("backend_override.tf.json", r#"{"terraform": {"backend": {"local": {"path": "b"}}}}"#),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(format!("{:?}", c.backend).contains("\"b\""), "{:?}", c.backend);
        assert_eq!(
            errors(&[("main.tf", ""), ("override.tf.json", r#"{"locals": {"a": 1}}"#)]),
            ["override.tf.json:1:3: Unsupported \"locals\" block in an override file"]
        );
    }

    #[test]
    fn problems_are_located_in_the_json() {
        let cases: &[(&str, &str)] = &[
            ("{\"locals\": {\"a\": 1,}}", "main.tf.json:1:19: Invalid JSON syntax"),
            ("[1]", "main.tf.json:1:1: Incorrect JSON value type"),
            ("{\"resource\": {\"random_id\": {\"byte_length\": 4}}}", "main.tf.json:1:44: Incorrect JSON value type"),
            ("{\"output\": {\"o\": {\"value\": \"${1 +}\"}}}", "main.tf.json:1:34: Invalid template"),
            (
                "{\"output\": {\"o\": {\"value\": 1, \"depends_on\": [\"a b\"]}}}",
                "main.tf.json:1:48: Invalid expression",
            ),
            ("{\"locals\": {\"a b\": 1}}", "main.tf.json:1:13: Invalid argument name \"a b\""),
            ("{\"resourse\": {}}", "main.tf.json:1:3: Unsupported block type"),
            (
                "{\"variable\": {\"v\": {\"default\": \"${x}\"}}}",
                "main.tf.json:1:32: Unsupported template sequence in a variable's default",
            ),
            // The loader's own checks see JSON blocks as HCL ones, located the same way.
            (
                "{\"output\": {\"o\": {\"value\": \"${var.nope}\"}}}",
                "main.tf.json:1:31: Reference to undeclared input variable",
            ),
        ];
        let actual: Vec<String> = cases.iter().map(|(text, _)| errors(&[("main.tf.json", text)]).join(" | ")).collect();
        let expected: Vec<&str> = cases.iter().map(|(_, e)| *e).collect();
        assert_eq!(actual, expected);
        // Nesting is bounded before any recursive parser sees it.
        assert_eq!(errors(&[("main.tf.json", &"[".repeat(200))]), ["main.tf.json:1:129: JSON nested too deeply"]);
    }
}
