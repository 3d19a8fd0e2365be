//! Static reference analysis: which objects (variables, locals, resources, modules, …) an
//! expression or block body refers to, without evaluating anything.
//!
//! The dependency graph is built from these references, so names bound inside an expression
//! (`for` variables, template `for` variables, `dynamic` iterators) must not leak out as
//! references to something outside.

use hcl_edit::expr::{Expression, Traversal, TraversalOperator};
use hcl_edit::template::{Directive, Element, Template};
use hcl_edit::Span as _;

use crate::lang::config::{Body, Expr, ResourceMode};
use crate::lang::diag::{FileId, Span};

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RefRoot {
    Var(String),
    Local(String),
    Resource {
        mode: ResourceMode,
        type_name: String,
        name: String,
    },
    Module(String),
    CountIndex,
    EachKey,
    EachValue,
    PathModule,
    PathRoot,
    PathCwd,
    TerraformWorkspace,
    SelfRef,
    /// A name introduced by a `dynamic` block's iterator.
    Iterator(String),
}

impl std::fmt::Display for RefRoot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RefRoot::Var(n) => write!(f, "var.{n}"),
            RefRoot::Local(n) => write!(f, "local.{n}"),
            RefRoot::Resource { mode: ResourceMode::Managed, type_name, name } => write!(f, "{type_name}.{name}"),
            RefRoot::Resource { mode: ResourceMode::Data, type_name, name } => write!(f, "data.{type_name}.{name}"),
            RefRoot::Module(n) => write!(f, "module.{n}"),
            RefRoot::CountIndex => f.write_str("count.index"),
            RefRoot::EachKey => f.write_str("each.key"),
            RefRoot::EachValue => f.write_str("each.value"),
            RefRoot::PathModule => f.write_str("path.module"),
            RefRoot::PathRoot => f.write_str("path.root"),
            RefRoot::PathCwd => f.write_str("path.cwd"),
            RefRoot::TerraformWorkspace => f.write_str("terraform.workspace"),
            RefRoot::SelfRef => f.write_str("self"),
            RefRoot::Iterator(n) => f.write_str(n),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    pub root: RefRoot,
    /// The reference as written, from the root name through the attributes in `attrs`.
    pub span: Span,
    /// Attribute names right after the root, e.g. `["out"]` for `module.m.out`, `["id"]` for
    /// `random_id.x.id`. Stops at the first index or splat, so `random_id.x[0].id` gives `[]`.
    pub attrs: Vec<String>,
    /// For a resource, the index right after its name (`config[each.key]`, `config.0`), when
    /// the reference is outside every `for` expression and `dynamic` block: evaluated in the
    /// instance that makes the reference, it names the one instance read. None for anything
    /// else (a whole resource, a splat, an index that may read a name bound inside).
    pub index: Option<RefIndex>,
}

/// The index of a resource reference (see [`Reference::index`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefIndex {
    /// `config.0`: the legacy index syntax.
    Number(u64),
    /// `config[expr]`.
    Expr(Expression),
}

/// References made by one expression.
pub fn expr_references(expr: &Expr) -> Vec<Reference> {
    let mut w = Walker { file: expr.span.file, scope: Vec::new(), out: Vec::new() };
    w.expr(&expr.expr);
    w.out
}

/// References made by an expression that sits inside `dynamic` blocks whose iterators are
/// `iterators`: uses of those names are reported as [`RefRoot::Iterator`].
pub fn expr_references_with_iterators(expr: &Expr, iterators: &[&str]) -> Vec<Reference> {
    let scope = iterators.iter().map(|n| Bound { name: n.to_string(), iterator: true }).collect();
    let mut w = Walker { file: expr.span.file, scope, out: Vec::new() };
    w.expr(&expr.expr);
    w.out
}

/// References made by a block body: its attributes, nested blocks, and dynamic blocks (their
/// `for_each` and content, minus uses of their own iterator names).
pub fn body_references(body: &Body) -> Vec<Reference> {
    let mut out = Vec::new();
    collect_body(body, &mut Vec::new(), &mut out);
    out
}

fn collect_body(body: &Body, iterators: &mut Vec<String>, out: &mut Vec<Reference>) {
    for attr in body.attributes.values() {
        collect_expr(&attr.expr, iterators, out);
    }
    for block in &body.blocks {
        collect_body(&block.body, iterators, out);
    }
    for dynamic in &body.dynamic_blocks {
        collect_expr(&dynamic.for_each, iterators, out);
        iterators.push(dynamic.iterator.clone());
        collect_body(&dynamic.content, iterators, out);
        iterators.pop();
    }
}

fn collect_expr(expr: &Expr, iterators: &[String], out: &mut Vec<Reference>) {
    let scope = iterators.iter().map(|n| Bound { name: n.clone(), iterator: true }).collect();
    let mut w = Walker { file: expr.span.file, scope, out: Vec::new() };
    w.expr(&expr.expr);
    out.extend(w.out.into_iter().filter(|r| !matches!(r.root, RefRoot::Iterator(_))));
}

/// How a traversal's leading part names an object: the root, and how many traversal operators
/// that took (e.g. 2 for `data.x.y`).
pub(crate) fn classify_traversal(
    root_name: &str,
    ops: &[hcl_edit::Decorated<TraversalOperator>],
) -> Option<(RefRoot, usize)> {
    let attr = |i: usize| match ops.get(i).map(|o| o.value()) {
        Some(TraversalOperator::GetAttr(id)) => Some(id.value().as_str().to_string()),
        _ => None,
    };
    let root = match root_name {
        "var" => (RefRoot::Var(attr(0)?), 1),
        "local" => (RefRoot::Local(attr(0)?), 1),
        "module" => (RefRoot::Module(attr(0)?), 1),
        "data" => (RefRoot::Resource { mode: ResourceMode::Data, type_name: attr(0)?, name: attr(1)? }, 2),
        "count" => match attr(0)?.as_str() {
            "index" => (RefRoot::CountIndex, 1),
            _ => return None,
        },
        "each" => match attr(0)?.as_str() {
            "key" => (RefRoot::EachKey, 1),
            "value" => (RefRoot::EachValue, 1),
            _ => return None,
        },
        "path" => match attr(0)?.as_str() {
            "module" => (RefRoot::PathModule, 1),
            "root" => (RefRoot::PathRoot, 1),
            "cwd" => (RefRoot::PathCwd, 1),
            _ => return None,
        },
        "terraform" => match attr(0)?.as_str() {
            "workspace" => (RefRoot::TerraformWorkspace, 1),
            _ => return None,
        },
        "self" => (RefRoot::SelfRef, 0),
        type_name => {
            (RefRoot::Resource { mode: ResourceMode::Managed, type_name: type_name.to_string(), name: attr(0)? }, 1)
        }
    };
    Some(root)
}

/// Names that cannot be resource types because they are reference roots of their own.
pub(crate) const RESERVED_ROOTS: &[&str] =
    &["var", "local", "module", "data", "count", "each", "path", "terraform", "self"];

struct Bound {
    name: String,
    iterator: bool,
}

struct Walker {
    file: FileId,
    scope: Vec<Bound>,
    out: Vec<Reference>,
}

impl Walker {
    fn span(&self, start: usize, end: usize) -> Span {
        Span { file: self.file, start, end }
    }

    fn bound(&self, name: &str) -> Option<&Bound> {
        self.scope.iter().rev().find(|b| b.name == name)
    }

    fn expr(&mut self, expr: &Expression) {
        match expr {
            Expression::Null(_) | Expression::Bool(_) | Expression::Number(_) | Expression::String(_) => {}
            Expression::Array(items) => {
                for item in items.iter() {
                    self.expr(item);
                }
            }
            Expression::Object(obj) => {
                for (k, v) in obj.iter() {
                    if let hcl_edit::expr::ObjectKey::Expression(k) = k {
                        self.expr(k);
                    }
                    self.expr(v.expr());
                }
            }
            Expression::StringTemplate(t) => self.template(t),
            Expression::HeredocTemplate(h) => self.template(&h.template),
            Expression::Parenthesis(p) => self.expr(p.inner()),
            Expression::Variable(v) => {
                let name = v.value().as_str();
                if let Some(b) = self.bound(name) {
                    if b.iterator {
                        let r = v.span().unwrap_or(0..0);
                        self.out.push(Reference {
                            root: RefRoot::Iterator(name.to_string()),
                            span: self.span(r.start, r.end),
                            attrs: vec![],
                            index: None,
                        });
                    }
                } else if name == "self" {
                    let r = v.span().unwrap_or(0..0);
                    self.out.push(Reference {
                        root: RefRoot::SelfRef,
                        span: self.span(r.start, r.end),
                        attrs: vec![],
                        index: None,
                    });
                }
            }
            Expression::Conditional(c) => {
                self.expr(&c.cond_expr);
                self.expr(&c.true_expr);
                self.expr(&c.false_expr);
            }
            Expression::FuncCall(f) => {
                for a in f.args.iter() {
                    self.expr(a);
                }
            }
            Expression::Traversal(t) => self.traversal(t),
            Expression::UnaryOp(u) => self.expr(&u.expr),
            Expression::BinaryOp(b) => {
                self.expr(&b.lhs_expr);
                self.expr(&b.rhs_expr);
            }
            Expression::ForExpr(f) => {
                self.expr(&f.intro.collection_expr);
                let depth = self.scope.len();
                if let Some(k) = &f.intro.key_var {
                    self.scope.push(Bound { name: k.value().as_str().to_string(), iterator: false });
                }
                self.scope.push(Bound { name: f.intro.value_var.value().as_str().to_string(), iterator: false });
                if let Some(k) = &f.key_expr {
                    self.expr(k);
                }
                self.expr(&f.value_expr);
                if let Some(c) = &f.cond {
                    self.expr(&c.expr);
                }
                self.scope.truncate(depth);
            }
        }
    }

    fn traversal(&mut self, t: &Traversal) {
        // Index expressions inside the traversal can reference things too.
        for op in &t.operators {
            if let TraversalOperator::Index(e) = op.value() {
                self.expr(e);
            }
        }
        let Expression::Variable(root) = &t.expr else {
            self.expr(&t.expr);
            return;
        };
        let name = root.value().as_str();
        let start = root.span().map(|r| r.start).unwrap_or(0);
        if let Some(b) = self.bound(name) {
            if b.iterator {
                let attrs = leading_attrs(&t.operators, 0);
                let end = match attrs.len() {
                    0 => root.span().map(|r| r.end),
                    n => t.operators.get(n - 1).and_then(|o| o.span()).map(|r| r.end),
                }
                .unwrap_or(start);
                self.out.push(Reference {
                    root: RefRoot::Iterator(name.to_string()),
                    span: self.span(start, end),
                    attrs,
                    index: None,
                });
            }
            return;
        }
        let Some((ref_root, consumed)) = classify_traversal(name, &t.operators) else { return };
        let attrs = leading_attrs(&t.operators, consumed);
        let last = consumed + attrs.len();
        let end = if last == 0 {
            root.span().map(|r| r.end).unwrap_or(start)
        } else {
            t.operators.get(last - 1).and_then(|o| o.span()).map(|r| r.end).unwrap_or(start)
        };
        // Inside a `for` or `dynamic`, the index may read a name bound there: no instance of
        // the reference's own can be named from outside.
        let index = match (&ref_root, t.operators.get(consumed).map(|o| o.value())) {
            (RefRoot::Resource { .. }, Some(TraversalOperator::Index(e))) if self.scope.is_empty() => {
                Some(RefIndex::Expr(e.clone()))
            }
            (RefRoot::Resource { .. }, Some(TraversalOperator::LegacyIndex(n))) if self.scope.is_empty() => {
                Some(RefIndex::Number(*n.value()))
            }
            _ => None,
        };
        self.out.push(Reference { root: ref_root, span: self.span(start, end), attrs, index });
    }

    fn template(&mut self, t: &Template) {
        for el in t.iter() {
            match el {
                Element::Literal(_) => {}
                Element::Interpolation(i) => self.expr(&i.expr),
                Element::Directive(d) => match d.as_ref() {
                    Directive::If(d) => {
                        self.expr(&d.if_expr.cond_expr);
                        self.template(&d.if_expr.template);
                        if let Some(e) = &d.else_expr {
                            self.template(&e.template);
                        }
                    }
                    Directive::For(d) => {
                        let f = &d.for_expr;
                        self.expr(&f.collection_expr);
                        let depth = self.scope.len();
                        if let Some(k) = &f.key_var {
                            self.scope.push(Bound { name: k.value().as_str().to_string(), iterator: false });
                        }
                        self.scope.push(Bound { name: f.value_var.value().as_str().to_string(), iterator: false });
                        self.template(&f.template);
                        self.scope.truncate(depth);
                    }
                },
            }
        }
    }
}

fn leading_attrs(ops: &[hcl_edit::Decorated<TraversalOperator>], from: usize) -> Vec<String> {
    ops.iter()
        .skip(from)
        .map_while(|o| match o.value() {
            TraversalOperator::GetAttr(id) => Some(id.value().as_str().to_string()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::config::{Attribute, DynamicBlock};

    fn expr(src: &str) -> Expr {
        let e = hcl_edit::parser::parse_expr(src).expect("test expression parses");
        let r = e.span().unwrap_or(0..src.len());
        Expr { expr: e, span: Span { file: FileId(0), start: r.start, end: r.end } }
    }

    fn roots(src: &str) -> Vec<String> {
        expr_references(&expr(src)).iter().map(|r| r.root.to_string()).collect()
    }

    #[test]
    fn finds_every_root_kind() {
        assert_eq!(
            roots("[var.a, local.b, module.m.out, google_x.y.id, data.t.n.id, count.index, each.key, each.value, path.module, path.root, path.cwd, terraform.workspace, self.id]"),
            vec!["var.a", "local.b", "module.m", "google_x.y", "data.t.n", "count.index", "each.key", "each.value", "path.module", "path.root", "path.cwd", "terraform.workspace", "self"]
        );
    }

    #[test]
    fn attrs_stop_at_index() {
        let refs = expr_references(&expr("module.m.out.x"));
        assert_eq!(refs[0].attrs, vec!["out", "x"]);
        let refs = expr_references(&expr("random_id.x[0].hex"));
        assert_eq!(
            refs[0].root,
            RefRoot::Resource { mode: ResourceMode::Managed, type_name: "random_id".into(), name: "x".into() }
        );
        assert!(refs[0].attrs.is_empty());
        let refs = expr_references(&expr("random_id.x.id"));
        assert_eq!(refs[0].attrs, vec!["id"]);
    }

    #[test]
    fn a_resource_reference_keeps_its_index_only_outside_for_and_dynamic_scopes() {
        let index = |src: &str| -> Vec<Option<String>> {
            expr_references(&expr(src))
                .into_iter()
                .filter(|r| matches!(r.root, RefRoot::Resource { .. }))
                .map(|r| {
                    r.index.map(|i| match i {
                        RefIndex::Number(n) => n.to_string(),
                        RefIndex::Expr(e) => e.to_string().trim().to_string(),
                    })
                })
                .collect()
        };
        assert_eq!(index("terraform_data.config[each.key].output"), vec![Some("each.key".to_string())]);
        assert_eq!(index("data.t.n[count.index].id"), vec![Some("count.index".to_string())]);
        assert_eq!(index("google_x.y.0.id"), vec![Some("0".to_string())]);
        assert_eq!(index("google_x.y.id"), vec![None]);
        assert_eq!(index("google_x.y[*].id"), vec![None]);
        assert_eq!(index("values(google_x.y)"), vec![None]);
        // The index names a for variable: which instance it reads is not the instance's own.
        assert_eq!(index("[for k in var.ks : google_x.y[k].id]"), vec![None]);
        assert_eq!(index("[for k in var.ks : google_x.y[each.key].id]"), vec![None]);
        let with = expr_references_with_iterators(&expr("google_x.y[each.key].id"), &["it"]);
        assert_eq!(with[0].index, None);
    }

    #[test]
    fn span_covers_root_and_attributes() {
        let src = "upper(var.name.first[0])";
        let refs = expr_references(&expr(src));
        let r = &refs[0];
        assert_eq!(&src[r.span.start..r.span.end], "var.name.first");
    }

    #[test]
    fn for_variables_are_scoped() {
        assert_eq!(roots("[for k, v in var.m : v.id if k != local.skip]"), vec!["var.m", "local.skip"]);
        // Outside the for expression `v.id` is a (strange) resource reference again.
        assert_eq!(roots("[[for v in var.l : v], v.id]"), vec!["var.l", "v.id"]);
        assert_eq!(roots("{for k, v in var.m : k => v.x...}"), vec!["var.m"]);
        // Shadowing a root name.
        assert_eq!(roots("[for each in var.l : each.key]"), vec!["var.l"]);
    }

    #[test]
    fn template_references_and_directives() {
        assert_eq!(
            roots("\"${var.a}-%{for x in local.xs}${x.name}%{endfor}%{if var.b}y%{endif}\""),
            vec!["var.a", "local.xs", "var.b"]
        );
        assert_eq!(roots("<<EOT\n${var.h}\nEOT"), vec!["var.h"]);
    }

    #[test]
    fn references_inside_calls_operators_and_indexes() {
        assert_eq!(
            roots("length(var.a) + local.b[var.i] > 1 ? x.y : -local.z"),
            vec!["var.a", "var.i", "local.b", "x.y", "local.z"]
        );
        assert_eq!(roots("google_x.y[*].id"), vec!["google_x.y"]);
        assert_eq!(roots("{ (var.k) = 1, a = local.v }"), vec!["var.k", "local.v"]);
    }

    #[test]
    fn bare_unbound_names_are_not_references() {
        assert!(roots("foo").is_empty());
        assert!(roots("var").is_empty());
        assert!(roots("count.other").is_empty());
    }

    #[test]
    fn dynamic_iterators_are_excluded_from_body_references() {
        let attr = |name: &str, src: &str| {
            let e = expr(src);
            Attribute { name: name.into(), span: e.span, name_span: e.span, expr: e }
        };
        let mut content = Body::default();
        content.attributes.insert("name".into(), attr("name", "rule.value.name"));
        content.attributes.insert("zone".into(), attr("zone", "var.zone"));
        let mut body = Body::default();
        body.attributes.insert("a".into(), attr("a", "local.a"));
        body.dynamic_blocks.push(DynamicBlock {
            type_name: "rule".into(),
            for_each: expr("var.rules"),
            iterator: "rule".into(),
            content,
            span: Span { file: FileId(0), start: 0, end: 0 },
        });
        let got: Vec<String> = body_references(&body).iter().map(|r| r.root.to_string()).collect();
        assert_eq!(got, vec!["local.a", "var.rules", "var.zone"]);
        let with = expr_references_with_iterators(&expr("rule.value.name"), &["rule"]);
        assert_eq!(with[0].root, RefRoot::Iterator("rule".into()));
        assert_eq!(with[0].attrs, vec!["value", "name"]);
    }
}
