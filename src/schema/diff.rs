//! Which attributes differ between two values of one resource instance.
//!
//! Paths are reported as precisely as a user can act on them: the attribute for scalars and
//! lists of scalars, `block[i].attr` inside ordered nested blocks, `attr.key` inside maps, and
//! the whole attribute for sets, whose elements have no stable position to name.
//!
//! Sensitive marks never influence the result; unknowns do (see [`changed_paths`]).

use crate::addr::AttrPath;
use crate::lang::value::{Unknown, Value};
use crate::schema::{Nesting, Schema};

/// Paths at which `before` and `after` differ.
///
/// Unknown rules: a pending unknown in `after` is a change unless `before` is also pending;
/// a withheld secret equals another withheld secret when their fingerprints match or either
/// has none (a secret we cannot see is assumed unchanged; a regenerated one is planned as
/// pending, which does count). A withheld `before` against a known `after` is a change: without
/// the fingerprint key there is no way to tell — use [`changed_paths_with_schema`].
///
/// Null and an empty collection compare equal: Google's providers (SDKv2) do not tell them
/// apart, and treating them as different would show permanent diffs for absent blocks.
pub fn changed_paths(before: &Value, after: &Value) -> Vec<AttrPath> {
    let mut out = Vec::new();
    diff_value(&AttrPath::root(), before, after, None, &mut out);
    out
}

/// Like [`changed_paths`], guided by the schema: write-only attributes are skipped (they are
/// never stored, so there is nothing to compare), and a schema-sensitive attribute whose
/// `before` is withheld compares `fingerprint(after)` (called with the sensitive mark removed)
/// against the stored fingerprint. Keys the schema does not know are ignored.
pub fn changed_paths_with_schema(
    schema: &Schema,
    before: &Value,
    after: &Value,
    fingerprint: &dyn Fn(&Value) -> String,
) -> Vec<AttrPath> {
    let mut out = Vec::new();
    diff_object(schema, &AttrPath::root(), before, after, Some(fingerprint), &mut out);
    out
}

/// Schema-guided diff where the fingerprint may be unavailable (the planner without a state
/// key): then a withheld `before` against a known `after` counts as changed.
pub(crate) fn changed_paths_schema_opt(
    schema: &Schema,
    before: &Value,
    after: &Value,
    fingerprint: Option<&dyn Fn(&Value) -> String>,
) -> Vec<AttrPath> {
    let mut out = Vec::new();
    diff_object(schema, &AttrPath::root(), before, after, fingerprint, &mut out);
    out
}

/// Equality with the same rules as [`changed_paths`] (marks ignored, unknown rules, null equal
/// to empty collections, sets by content).
pub fn values_equal(before: &Value, after: &Value) -> bool {
    let (b, a) = (before.peel(), after.peel());
    if let Some(eq) = unknown_equal(b, a) {
        return eq;
    }
    if is_empty_like(b) && is_empty_like(a) {
        return true;
    }
    match (b, a) {
        (Value::Map(x), Value::Map(y)) => {
            x.iter().all(|(k, bv)| values_equal(bv, y.get(k).unwrap_or(&Value::Null)))
                && y.iter().filter(|(k, _)| !x.contains_key(*k)).all(|(_, av)| values_equal(&Value::Null, av))
        }
        (Value::List(x), Value::List(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| values_equal(p, q)),
        (Value::Set(x), Value::Set(y)) => multiset_equal(x, y, &values_equal),
        (Value::Number(x), Value::Number(y)) => x == y,
        (x, y) => x == y,
    }
}

/// `Some(equal)` when either side is unknown, `None` when both are known at the top.
fn unknown_equal(b: &Value, a: &Value) -> Option<bool> {
    match (b, a) {
        (
            Value::Unknown(Unknown::Withheld { fingerprint: fb }),
            Value::Unknown(Unknown::Withheld { fingerprint: fa }),
        ) => Some(match (fb, fa) {
            (Some(x), Some(y)) => x == y,
            _ => true,
        }),
        (Value::Unknown(Unknown::Pending), Value::Unknown(Unknown::Pending)) => Some(true),
        (Value::Unknown(_), _) | (_, Value::Unknown(_)) => Some(false),
        _ => None,
    }
}

fn is_empty_like(v: &Value) -> bool {
    match v.peel() {
        Value::Null => true,
        Value::List(xs) | Value::Set(xs) => xs.is_empty(),
        Value::Map(m) => m.is_empty(),
        _ => false,
    }
}

fn is_object(v: &Value) -> bool {
    matches!(v.peel(), Value::Map(_))
}

/// Every element of `x` pairs with a distinct equal element of `y` (sets may hold unknowns,
/// so sorting alone cannot line them up).
fn multiset_equal(x: &[Value], y: &[Value], eq: &dyn Fn(&Value, &Value) -> bool) -> bool {
    if x.len() != y.len() {
        return false;
    }
    let mut used = vec![false; y.len()];
    'outer: for p in x {
        for (j, q) in y.iter().enumerate() {
            if !used[j] && eq(p, q) {
                used[j] = true;
                continue 'outer;
            }
        }
        return false;
    }
    true
}

/// A withheld secret anywhere in `before` (not only under schema-sensitive attributes: a
/// sensitive variable can flow into any argument) compares by fingerprint when one is given.
fn diff_value(
    path: &AttrPath,
    before: &Value,
    after: &Value,
    fingerprint: Option<&dyn Fn(&Value) -> String>,
    out: &mut Vec<AttrPath>,
) {
    if fingerprint.is_some() {
        if let Some(same) = sensitive_equal(before, after, fingerprint) {
            if !same {
                out.push(path.clone());
            }
            return;
        }
    }
    let (b, a) = (before.peel(), after.peel());
    if let Some(eq) = unknown_equal(b, a) {
        if !eq {
            out.push(path.clone());
        }
        return;
    }
    if is_empty_like(b) && is_empty_like(a) {
        return;
    }
    match (b, a) {
        (Value::Map(x), Value::Map(y)) => {
            for (k, bv) in x.iter() {
                diff_value(&path.join_attr(k), bv, y.get(k).unwrap_or(&Value::Null), fingerprint, out);
            }
            for (k, av) in y.iter().filter(|(k, _)| !x.contains_key(*k)) {
                diff_value(&path.join_attr(k), &Value::Null, av, fingerprint, out);
            }
        }
        // Lists of objects are nested blocks (or lists of objects): name the element.
        (Value::List(x), Value::List(y)) if x.iter().chain(y.iter()).all(is_object) => {
            for i in 0..x.len().max(y.len()) {
                let p = path.join_index(i as i64);
                match (x.get(i), y.get(i)) {
                    (Some(bv), Some(av)) => diff_value(&p, bv, av, fingerprint, out),
                    _ => out.push(p),
                }
            }
        }
        // A list of scalars is one value to show, but a withheld secret inside it compares by
        // its fingerprint: element by element, reported as the whole list.
        (Value::List(x), Value::List(y)) if fingerprint.is_some() && x.iter().any(holds_withheld) => {
            let mut inner = Vec::new();
            if x.len() == y.len() {
                for (i, (bv, av)) in x.iter().zip(y.iter()).enumerate() {
                    diff_value(&path.join_index(i64::try_from(i).unwrap_or(i64::MAX)), bv, av, fingerprint, &mut inner);
                }
            }
            if x.len() != y.len() || !inner.is_empty() {
                out.push(path.clone());
            }
        }
        _ => {
            if !values_equal(b, a) {
                out.push(path.clone());
            }
        }
    }
}

/// Whether a secret withheld from state sits anywhere in `v`.
fn holds_withheld(v: &Value) -> bool {
    match v.peel() {
        Value::Unknown(Unknown::Withheld { .. }) => true,
        Value::List(xs) | Value::Set(xs) => xs.iter().any(holds_withheld),
        Value::Map(m) => m.values().any(holds_withheld),
        _ => false,
    }
}

fn list_items(v: Option<&Value>) -> &[Value] {
    v.and_then(|v| v.as_list()).unwrap_or(&[])
}

fn diff_object(
    schema: &Schema,
    path: &AttrPath,
    before: &Value,
    after: &Value,
    fingerprint: Option<&dyn Fn(&Value) -> String>,
    out: &mut Vec<AttrPath>,
) {
    for (name, attr) in &schema.attributes {
        if attr.write_only {
            continue;
        }
        let p = path.join_attr(name);
        let bv = before.get(name).unwrap_or(&Value::Null);
        let av = after.get(name).unwrap_or(&Value::Null);
        if attr.sensitive {
            if let Some(same) = sensitive_equal(bv, av, fingerprint) {
                if !same {
                    out.push(p);
                }
                continue;
            }
        }
        diff_value(&p, bv, av, fingerprint, out);
    }
    for (name, bt) in &schema.blocks {
        let p = path.join_attr(name);
        let (bv, av) = (before.get(name), after.get(name));
        if bv.is_some_and(Value::is_unknown) || av.is_some_and(Value::is_unknown) {
            diff_value(&p, bv.unwrap_or(&Value::Null), av.unwrap_or(&Value::Null), fingerprint, out);
            continue;
        }
        let (x, y) = (list_items(bv), list_items(av));
        match bt.nesting {
            Nesting::Single | Nesting::List => {
                for i in 0..x.len().max(y.len()) {
                    let pi = p.join_index(i as i64);
                    match (x.get(i), y.get(i)) {
                        (Some(b), Some(a)) => diff_object(&bt.block, &pi, b, a, fingerprint, out),
                        _ => out.push(pi),
                    }
                }
            }
            Nesting::Set => {
                let eq = |b: &Value, a: &Value| {
                    let mut o = Vec::new();
                    diff_object(&bt.block, &AttrPath::root(), b, a, fingerprint, &mut o);
                    o.is_empty()
                };
                if !multiset_equal(x, y, &eq) {
                    out.push(p);
                }
            }
        }
    }
}

/// For a sensitive attribute: `Some(equal)` when a stored fingerprint decides it.
fn sensitive_equal(before: &Value, after: &Value, fingerprint: Option<&dyn Fn(&Value) -> String>) -> Option<bool> {
    let Value::Unknown(Unknown::Withheld { fingerprint: stored }) = before.peel() else { return None };
    let a = after.peel();
    if matches!(a, Value::Unknown(_)) || !a.is_wholly_known() {
        return None;
    }
    match (stored, fingerprint) {
        (Some(stored), Some(f)) => Some(&f(a) == stored),
        // Nothing to compare against: a secret we cannot see is assumed unchanged.
        (None, _) => Some(true),
        // A fingerprint exists but we hold no key to reproduce it: assume it changed.
        (Some(_), None) => Some(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{AttrType, Attribute, BlockType};

    fn p(s: &str) -> AttrPath {
        AttrPath::parse(s).unwrap()
    }
    fn withheld(fp: Option<&str>) -> Value {
        Value::Unknown(Unknown::Withheld { fingerprint: fp.map(str::to_string) }).sensitive()
    }

    #[test]
    fn scalars_report_the_attribute() {
        let b = Value::map([("a", Value::from(1)), ("b", "x".into())]);
        let a = Value::map([("a", Value::from(2)), ("b", "x".into())]);
        assert_eq!(changed_paths(&b, &a), vec![p("a")]);
        assert!(changed_paths(&b, &b).is_empty());
    }

    #[test]
    fn nested_blocks_report_element_and_attribute() {
        let blk = |tier: &str| Value::map([("tier", Value::from(tier)), ("size", Value::from(10))]);
        let b = Value::map([("settings", Value::List(vec![blk("a"), blk("b")]))]);
        let a = Value::map([("settings", Value::List(vec![blk("a"), blk("c"), blk("d")]))]);
        assert_eq!(changed_paths(&b, &a), vec![p("settings[1].tier"), p("settings[2]")]);
    }

    #[test]
    fn lists_of_scalars_report_the_list() {
        let b = Value::map([("xs", Value::List(vec!["a".into(), "b".into()]))]);
        let a = Value::map([("xs", Value::List(vec!["b".into(), "a".into()]))]);
        assert_eq!(changed_paths(&b, &a), vec![p("xs")]);
    }

    #[test]
    fn sets_compare_by_content() {
        let b = Value::map([("s", Value::set(vec!["a".into(), "b".into()]))]);
        let same = Value::map([("s", Value::Set(vec!["b".into(), "a".into()]))]);
        let other = Value::map([("s", Value::set(vec!["a".into(), "c".into()]))]);
        assert!(changed_paths(&b, &same).is_empty());
        assert_eq!(changed_paths(&b, &other), vec![p("s")]);
    }

    #[test]
    fn maps_report_the_key() {
        let b = Value::map([("labels", Value::map([("env", Value::from("dev")), ("team", "a".into())]))]);
        let a = Value::map([(
            "labels",
            Value::map([("env", Value::from("prod")), ("team", "a".into()), ("new", "x".into())]),
        )]);
        assert_eq!(changed_paths(&b, &a), vec![p("labels.env"), p("labels.new")]);
    }

    #[test]
    fn unknown_after_is_a_change_unless_before_is_unknown() {
        let b = Value::map([("id", Value::from("x")), ("u", Value::unknown())]);
        let a = Value::map([("id", Value::unknown()), ("u", Value::unknown())]);
        assert_eq!(changed_paths(&b, &a), vec![p("id")]);
    }

    #[test]
    fn sensitive_marks_are_ignored() {
        let b = Value::map([("pw", Value::from("s"))]);
        let a = Value::map([("pw", Value::from("s").sensitive())]);
        assert!(changed_paths(&b, &a).is_empty());
    }

    #[test]
    fn a_secret_inside_a_list_compares_by_fingerprint() {
        let fp = |v: &Value| format!("F:{}", v.as_str().unwrap_or_default());
        let before = Value::List(vec![withheld(Some("F:hunter2")), Value::from("public")]);
        let same = Value::List(vec![Value::from("hunter2").sensitive(), Value::from("public")]);
        let other = Value::List(vec![Value::from("hunter3").sensitive(), Value::from("public")]);
        let mut out = Vec::new();
        diff_value(&AttrPath::attr("input"), &before, &same, Some(&fp), &mut out);
        assert!(out.is_empty(), "{out:?}");
        diff_value(&AttrPath::attr("input"), &before, &other, Some(&fp), &mut out);
        assert_eq!(out, vec![AttrPath::attr("input")]);
    }

    #[test]
    fn withheld_secrets_compare_by_fingerprint() {
        let b = Value::map([("r", withheld(Some("f1")))]);
        assert!(changed_paths(&b, &Value::map([("r", withheld(Some("f1")))])).is_empty());
        assert!(changed_paths(&b, &Value::map([("r", withheld(None))])).is_empty());
        assert_eq!(changed_paths(&b, &Value::map([("r", withheld(Some("f2")))])), vec![p("r")]);
        // Regenerated: planned as pending.
        assert_eq!(changed_paths(&b, &Value::map([("r", Value::unknown())])), vec![p("r")]);
    }

    #[test]
    fn null_equals_empty_collections() {
        let b = Value::map([("blk", Value::Null), ("m", Value::Null)]);
        let a = Value::map([("blk", Value::List(vec![])), ("m", Value::map(Vec::<(String, Value)>::new()))]);
        assert!(changed_paths(&b, &a).is_empty());
    }

    fn schema() -> Schema {
        Schema::new()
            .attr("name", Attribute::required(AttrType::String))
            .attr("password", Attribute::optional(AttrType::String).sensitive())
            .attr("token", Attribute::optional(AttrType::String).write_only())
            .block(
                "rule",
                BlockType::set(
                    Schema::new()
                        .attr("port", Attribute::required(AttrType::Number))
                        .attr("secret", Attribute::optional(AttrType::String).sensitive()),
                ),
            )
    }

    fn fp(v: &Value) -> String {
        format!("fp:{}", v.as_str().unwrap_or(""))
    }

    #[test]
    fn schema_diff_uses_fingerprints_and_skips_write_only() {
        let s = schema();
        let b =
            Value::map([("name", Value::from("n")), ("password", withheld(Some("fp:old"))), ("token", Value::Null)]);
        let same = Value::map([
            ("name", Value::from("n")),
            ("password", Value::from("old").sensitive()),
            ("token", Value::from("t")),
        ]);
        let changed = Value::map([
            ("name", Value::from("n")),
            ("password", Value::from("new").sensitive()),
            ("token", Value::from("t")),
        ]);
        assert!(changed_paths_with_schema(&s, &b, &same, &fp).is_empty());
        assert_eq!(changed_paths_with_schema(&s, &b, &changed, &fp), vec![p("password")]);
        // Without a key the planner cannot prove the secret is the same.
        assert_eq!(changed_paths_schema_opt(&s, &b, &same, None), vec![p("password")]);
    }

    #[test]
    fn schema_diff_set_blocks_by_content_with_fingerprints() {
        let s = schema();
        let rule = |port: i64, secret: Value| Value::map([("port", Value::from(port)), ("secret", secret)]);
        let b = Value::map([
            ("name", Value::from("n")),
            ("rule", Value::set(vec![rule(1, withheld(Some("fp:a"))), rule(2, Value::Null)])),
        ]);
        let same = Value::map([
            ("name", Value::from("n")),
            ("rule", Value::set(vec![rule(2, Value::Null), rule(1, Value::from("a"))])),
        ]);
        let other = Value::map([
            ("name", Value::from("n")),
            ("rule", Value::set(vec![rule(2, Value::Null), rule(1, Value::from("b"))])),
        ]);
        assert!(changed_paths_with_schema(&s, &b, &same, &fp).is_empty());
        assert_eq!(changed_paths_with_schema(&s, &b, &other, &fp), vec![p("rule")]);
    }
}
