//! Functions over lists, sets and maps, and the explicit type conversion functions.

use std::collections::BTreeMap;

use super::{Call, FuncError};
use crate::lang::limits::MAX_COLLECTION_LEN;
use crate::lang::types::{convert, type_of, TypeConstraint};
use crate::lang::value::Value;

pub fn alltrue(c: &Call) -> Result<Value, FuncError> {
    Ok(Value::Bool(c.seq(0).iter().all(|v| v.as_bool() == Some(true))))
}

pub fn anytrue(c: &Call) -> Result<Value, FuncError> {
    Ok(Value::Bool(c.seq(0).iter().any(|v| v.as_bool() == Some(true))))
}

pub fn chunklist(c: &Call) -> Result<Value, FuncError> {
    let size = c.int(1)?;
    if size < 0 {
        return Err(c.err(1, "the size argument must be positive"));
    }
    let items = c.seq(0);
    if size == 0 {
        return Ok(Value::List(vec![Value::List(items.to_vec())]));
    }
    let size = usize::try_from(size).map_err(|_| c.err(1, "the size argument is too large"))?;
    Ok(Value::List(items.chunks(size).map(|chunk| Value::List(chunk.to_vec())).collect()))
}

/// Terraform unifies `coalesce`'s arguments to one type; with mixed primitives that is string.
fn unify_args(args: &[Value]) -> Vec<Value> {
    match convert(Value::List(args.to_vec()), &TypeConstraint::List(Box::new(TypeConstraint::Any))) {
        Ok(Value::List(xs)) => xs,
        _ => args.to_vec(),
    }
}

pub fn coalesce(c: &Call) -> Result<Value, FuncError> {
    let unified = unify_args(&c.args);
    unified
        .into_iter()
        .find(|v| !v.is_null() && v.as_str() != Some(""))
        .ok_or_else(|| c.fail("no non-null, non-empty-string arguments"))
}

pub fn coalescelist(c: &Call) -> Result<Value, FuncError> {
    if c.args.is_empty() {
        return Err(c.fail("at least one argument is required"));
    }
    c.args
        .iter()
        .find(|v| v.as_list().is_some_and(|xs| !xs.is_empty()))
        .cloned()
        .ok_or_else(|| c.fail("no non-null arguments"))
}

pub fn compact(c: &Call) -> Result<Value, FuncError> {
    Ok(Value::List(c.seq(0).iter().filter(|v| !v.is_null() && v.as_str() != Some("")).cloned().collect()))
}

pub fn concat(c: &Call) -> Result<Value, FuncError> {
    if c.args.is_empty() {
        return Err(c.fail("at least one argument is required"));
    }
    Ok(Value::List((0..c.args.len()).flat_map(|i| c.seq(i).iter().cloned()).collect()))
}

pub fn contains(c: &Call) -> Result<Value, FuncError> {
    let needle = c.arg(1);
    Ok(Value::Bool(c.seq(0).iter().any(|v| v.same_as(needle))))
}

pub fn distinct(c: &Call) -> Result<Value, FuncError> {
    let mut out: Vec<Value> = Vec::new();
    for item in c.seq(0) {
        if !out.iter().any(|seen| seen.same_as(item)) {
            out.push(item.clone());
        }
    }
    Ok(Value::List(out))
}

pub fn element(c: &Call) -> Result<Value, FuncError> {
    let items = c.seq(0);
    let index = c.int(1)?;
    if items.is_empty() {
        return Err(c.fail("cannot use element function with an empty list"));
    }
    if index < 0 {
        return Err(c.err(1, "cannot use element function with a negative index"));
    }
    Ok(items.get(index as usize % items.len()).cloned().unwrap_or(Value::Null))
}

pub fn flatten(c: &Call) -> Result<Value, FuncError> {
    fn walk(items: &[Value], out: &mut Vec<Value>) {
        for item in items {
            match item {
                Value::List(xs) | Value::Set(xs) => walk(xs, out),
                other => out.push(other.clone()),
            }
        }
    }
    let mut out = Vec::new();
    walk(c.seq(0), &mut out);
    Ok(Value::List(out))
}

pub fn index(c: &Call) -> Result<Value, FuncError> {
    if matches!(c.arg(0), Value::Set(_)) {
        return Err(c.err(0, "argument must be a list or tuple, not a set"));
    }
    let needle = c.arg(1);
    c.seq(0).iter().position(|v| v.same_as(needle)).map(Value::from).ok_or_else(|| c.fail("item not found"))
}

pub fn keys(c: &Call) -> Result<Value, FuncError> {
    Ok(Value::List(c.map(0).map(|m| m.keys().map(Value::string).collect()).unwrap_or_default()))
}

pub fn values(c: &Call) -> Result<Value, FuncError> {
    Ok(Value::List(c.map(0).map(|m| m.values().cloned().collect()).unwrap_or_default()))
}

pub fn length(c: &Call) -> Result<Value, FuncError> {
    let n = match c.arg(0) {
        // User-perceived characters, as cty's Strlen counts them ("👍🏽" is one).
        Value::String(s) => unicode_segmentation::UnicodeSegmentation::graphemes(s.as_str(), true).count(),
        Value::List(xs) | Value::Set(xs) => xs.len(),
        Value::Map(m) => m.len(),
        _ => return Err(c.err(0, "argument must be a string, a collection type, or a structural type")),
    };
    Ok(Value::from(n))
}

/// `matchkeys(values, keys, searchset)`: the elements of `values` whose corresponding element
/// of `keys` is in `searchset`, in the order of `values`.
pub fn matchkeys(c: &Call) -> Result<Value, FuncError> {
    let (values, keys, search) = (c.seq(0), c.seq(1), c.seq(2));
    if values.len() != keys.len() {
        return Err(c.fail("length of keys and values should be equal"));
    }
    // Terraform unifies keys and search terms to one type first, so 1 matches "1".
    let as_text = |v: &Value| convert(v.clone(), &TypeConstraint::String).ok();
    let equal = |a: &Value, b: &Value| a.same_as(b) || (as_text(a).is_some() && as_text(a) == as_text(b));
    Ok(Value::List(
        values
            .iter()
            .zip(keys)
            .filter(|(_, key)| search.iter().any(|term| equal(key, term)))
            .map(|(v, _)| v.clone())
            .collect(),
    ))
}

pub fn lookup(c: &Call) -> Result<Value, FuncError> {
    let key = c.str(1);
    if let Some(v) = c.map(0).and_then(|m| m.get(key)) {
        return Ok(v.clone());
    }
    if c.args.len() > 2 {
        return Ok(c.arg(2).clone());
    }
    Err(c.fail(format!("lookup failed to find key {}", c.shown(1, key))))
}

pub fn merge(c: &Call) -> Result<Value, FuncError> {
    let mut out = BTreeMap::new();
    for (i, arg) in c.args.iter().enumerate() {
        match arg {
            Value::Null => {}
            Value::Map(m) => out.extend(m.iter().map(|(k, v)| (k.clone(), v.clone()))),
            other => return Err(c.err(i, format!("arguments must be maps or objects, got {}", type_of(other)))),
        }
    }
    Ok(Value::object(out))
}

pub fn one(c: &Call) -> Result<Value, FuncError> {
    match c.seq(0) {
        [] => Ok(Value::Null),
        [only] => Ok(only.clone()),
        _ => Err(c.err(0, "must be a list, set, or tuple value with either zero or one elements")),
    }
}

pub fn range(c: &Call) -> Result<Value, FuncError> {
    use crate::lang::number::Number;
    let (start, limit, step) = match c.args.len() {
        1 => (Number::ZERO, c.number(0), Number::ONE),
        2 => {
            let (start, limit) = (c.number(0), c.number(1));
            let step = if limit < start { Number::ONE.neg() } else { Number::ONE };
            (start, limit, step)
        }
        3 => (c.number(0), c.number(1), c.number(2)),
        _ => return Err(c.fail("must have one, two, or three arguments")),
    };
    // cty's texts and argument positions (cty/function/stdlib/sequence.go, RangeFunc).
    if step.is_zero() {
        return Err(c.err(2, "step must not be zero"));
    }
    if step.signum() < 0 && limit > start {
        return Err(c.err(1, "end must be less than start when step is negative"));
    }
    if step.signum() > 0 && limit < start {
        return Err(c.err(1, "end must be greater than start when step is positive"));
    }
    let mut out = Vec::new();
    let mut x = start;
    // Exact decimal steps (cty adds big floats): range(0, 1, 0.1) ends at 0.9, not 0.8999….
    while (step.signum() > 0 && x < limit) || (step.signum() < 0 && x > limit) {
        if out.len() >= 1024 {
            return Err(c.fail("more than 1024 values were generated; either decrease the difference between start and end or use a smaller step"));
        }
        let next = x.add(&step).map_err(|e| c.fail(e.to_string()))?;
        out.push(Value::Number(x));
        x = next;
    }
    Ok(Value::List(out))
}

pub fn reverse(c: &Call) -> Result<Value, FuncError> {
    if matches!(c.arg(0), Value::Set(_)) {
        return Err(c.err(0, "can only reverse list or tuple values, not a set"));
    }
    Ok(Value::List(c.seq(0).iter().rev().cloned().collect()))
}

fn member(set: &[Value], v: &Value) -> bool {
    set.iter().any(|x| x.same_as(v))
}

pub fn setintersection(c: &Call) -> Result<Value, FuncError> {
    let mut out: Vec<Value> = c.seq(0).to_vec();
    for i in 1..c.args.len() {
        let other = c.seq(i);
        out.retain(|v| member(other, v));
    }
    Ok(Value::set(out))
}

pub fn setsubtract(c: &Call) -> Result<Value, FuncError> {
    let other = c.seq(1);
    Ok(Value::set(c.seq(0).iter().filter(|v| !member(other, v)).cloned().collect()))
}

pub fn setunion(c: &Call) -> Result<Value, FuncError> {
    Ok(Value::set((0..c.args.len()).flat_map(|i| c.seq(i).iter().cloned()).collect()))
}

pub fn setproduct(c: &Call) -> Result<Value, FuncError> {
    if c.args.len() < 2 {
        return Err(c.fail("at least two arguments are required"));
    }
    // The product's size is known before it is built: refuse one that would exhaust memory.
    let rows = (0..c.args.len()).try_fold(1usize, |n, i| n.checked_mul(c.seq(i).len()));
    if rows.is_none_or(|n| n > MAX_COLLECTION_LEN) {
        return Err(
            c.fail(format!("the product would have more than the {MAX_COLLECTION_LEN} elements a list may have"))
        );
    }
    let mut product: Vec<Vec<Value>> = vec![vec![]];
    for i in 0..c.args.len() {
        let mut next = Vec::new();
        for prefix in &product {
            for item in c.seq(i) {
                let mut row = prefix.clone();
                row.push(item.clone());
                next.push(row);
            }
        }
        product = next;
    }
    let rows: Vec<Value> = product.into_iter().map(Value::List).collect();
    // Sets in, set out; any list or tuple among the inputs makes the result a list.
    if c.args.iter().all(|a| matches!(a, Value::Set(_))) {
        Ok(Value::set(rows))
    } else {
        Ok(Value::List(rows))
    }
}

pub fn slice(c: &Call) -> Result<Value, FuncError> {
    if matches!(c.arg(0), Value::Set(_)) {
        return Err(c.err(0, "cannot slice a set, because its elements do not have indices; use the tolist function to force conversion to list if the ordering of the result is not important"));
    }
    let items = c.seq(0);
    let (start, end) = (c.int(1)?, c.int(2)?);
    if start < 0 {
        return Err(c.err(1, "must not be less than zero"));
    }
    if end > items.len() as i64 {
        return Err(c.err(2, "must not be greater than the length of the list"));
    }
    if start > end {
        return Err(c.err(1, "must be less than or equal to end_index"));
    }
    Ok(Value::List(items.get(start as usize..end as usize).unwrap_or(&[]).to_vec()))
}

pub fn sort(c: &Call) -> Result<Value, FuncError> {
    let mut out = Vec::new();
    for (i, v) in c.seq(0).iter().enumerate() {
        match v.as_str() {
            Some(s) => out.push(s.to_string()),
            None => return Err(c.err(0, format!("given list element {i} is null; a null string cannot be sorted"))),
        }
    }
    out.sort();
    Ok(Value::List(out.into_iter().map(Value::String).collect()))
}

pub fn transpose(c: &Call) -> Result<Value, FuncError> {
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (key, items) in c.map(0).into_iter().flatten() {
        let items = match convert(items.clone(), &TypeConstraint::List(Box::new(TypeConstraint::String))) {
            Ok(Value::List(xs)) => xs,
            _ => return Err(c.err(0, format!("[{key:?}]: list of string required"))),
        };
        for item in items {
            let Some(s) = item.as_str() else {
                return Err(c.err(0, format!("[{key:?}]: lists must not contain null values")));
            };
            out.entry(s.to_string()).or_default().push(Value::string(key.clone()));
        }
    }
    Ok(Value::object(out.into_iter().map(|(k, v)| (k, Value::List(v))).collect()))
}

pub fn zipmap(c: &Call) -> Result<Value, FuncError> {
    let (keys, values) = (c.seq(0), c.seq(1));
    if keys.len() != values.len() {
        return Err(c.fail(format!(
            "number of keys ({}) does not match number of values ({})",
            keys.len(),
            values.len()
        )));
    }
    let mut out = BTreeMap::new();
    for (i, (k, v)) in keys.iter().zip(values).enumerate() {
        let Some(k) = k.as_str() else {
            return Err(c.err(0, format!("element {i} is null; keys must not be null")));
        };
        out.insert(k.to_string(), v.clone());
    }
    Ok(Value::object(out))
}

// ---- explicit conversions ----

fn convert_fn(c: &Call, ty: TypeConstraint, target: &str) -> Result<Value, FuncError> {
    let v = c.arg(0).clone();
    if v.is_null() {
        return Ok(v);
    }
    let described = type_of(&v);
    convert(v, &ty).map_err(|e| {
        let detail = match (c.arg(0), &ty) {
            (Value::String(s), TypeConstraint::Number) => {
                format!(
                    "cannot convert {} to number; given string must be a decimal representation of a number",
                    c.shown(0, s)
                )
            }
            (Value::String(s), TypeConstraint::Bool) => {
                format!("cannot convert {} to bool; only the strings \"true\" or \"false\" are allowed", c.shown(0, s))
            }
            (Value::List(_) | Value::Set(_) | Value::Map(_), _) if !e.starts_with('[') && !e.starts_with('.') => {
                format!("cannot convert {described} to {target}")
            }
            _ => format!("cannot convert {described} to {target}: {e}"),
        };
        c.err(0, detail)
    })
}

pub fn tobool(c: &Call) -> Result<Value, FuncError> {
    convert_fn(c, TypeConstraint::Bool, "bool")
}

pub fn tonumber(c: &Call) -> Result<Value, FuncError> {
    convert_fn(c, TypeConstraint::Number, "number")
}

pub fn tostring(c: &Call) -> Result<Value, FuncError> {
    convert_fn(c, TypeConstraint::String, "string")
}

pub fn tolist(c: &Call) -> Result<Value, FuncError> {
    convert_fn(c, TypeConstraint::List(Box::new(TypeConstraint::Any)), "list")
}

pub fn toset(c: &Call) -> Result<Value, FuncError> {
    convert_fn(c, TypeConstraint::Set(Box::new(TypeConstraint::Any)), "set")
}

pub fn tomap(c: &Call) -> Result<Value, FuncError> {
    convert_fn(c, TypeConstraint::Map(Box::new(TypeConstraint::Any)), "map")
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::lang::value::Value;

    fn b(x: bool) -> Value {
        Value::Bool(x)
    }

    #[test]
    fn element_wraps_around() {
        assert_eq!(ok("element", vec![strs(&["a", "b", "c"]), n(1.0)]), s("b"));
        assert_eq!(ok("element", vec![strs(&["a", "b", "c"]), n(3.0)]), s("a"));
        assert!(err("element", vec![list(vec![]), n(0.0)]).message.contains("empty list"));
        assert_eq!(err("element", vec![strs(&["a"]), n(-1.0)]).arg, Some(1));
    }

    #[test]
    fn slice_bounds() {
        assert_eq!(ok("slice", vec![strs(&["a", "b", "c", "d"]), n(1.0), n(3.0)]), strs(&["b", "c"]));
        assert_eq!(ok("slice", vec![strs(&["a"]), n(1.0), n(1.0)]), list(vec![]));
        assert_eq!(err("slice", vec![strs(&["a"]), n(0.0), n(2.0)]).arg, Some(2));
        assert_eq!(err("slice", vec![strs(&["a"]), n(-1.0), n(1.0)]).arg, Some(1));
        assert_eq!(err("slice", vec![strs(&["a", "b"]), n(2.0), n(1.0)]).arg, Some(1));
    }

    #[test]
    fn lookup_and_merge() {
        let m = Value::map([("a", s("ay")), ("b", s("bee"))]);
        assert_eq!(ok("lookup", vec![m.clone(), s("a")]), s("ay"));
        assert_eq!(ok("lookup", vec![m.clone(), s("c"), s("what?")]), s("what?"));
        let e = err("lookup", vec![m.clone(), s("c")]);
        assert!(e.message.contains("lookup failed to find key \"c\""), "{}", e.message);
        let merged = ok("merge", vec![m, Value::Null, Value::map([("b", n(2.0)), ("c", b(true))])]);
        assert_eq!(merged, Value::map([("a", s("ay")), ("b", n(2.0)), ("c", b(true))]));
        assert_eq!(err("merge", vec![Value::map([("a", n(1.0))]), s("x")]).arg, Some(1));
    }

    #[test]
    fn flatten_distinct_sort() {
        let nested = list(vec![strs(&["a", "b"]), list(vec![]), list(vec![strs(&["c"]), s("d")])]);
        assert_eq!(ok("flatten", vec![nested]), strs(&["a", "b", "c", "d"]));
        assert_eq!(ok("distinct", vec![strs(&["b", "a", "b", "c", "a"])]), strs(&["b", "a", "c"]));
        assert_eq!(ok("sort", vec![strs(&["e", "d", "a", "x"])]), strs(&["a", "d", "e", "x"]));
        assert_eq!(ok("sort", vec![nums(&[10.0, 9.0, 1.0])]), strs(&["1", "10", "9"]));
        assert_eq!(ok("reverse", vec![nums(&[1.0, 2.0])]), nums(&[2.0, 1.0]));
    }

    #[test]
    fn one_coalesce_compact() {
        assert_eq!(ok("one", vec![list(vec![])]), Value::Null);
        assert_eq!(ok("one", vec![strs(&["x"])]), s("x"));
        assert!(err("one", vec![strs(&["x", "y"])]).message.contains("either zero or one"));
        assert_eq!(ok("coalesce", vec![s(""), Value::Null, s("b")]), s("b"));
        assert_eq!(ok("coalesce", vec![n(1.0), s("x")]), s("1"));
        assert!(err("coalesce", vec![Value::Null, s("")]).message.contains("no non-null"));
        assert_eq!(ok("coalescelist", vec![list(vec![]), strs(&["c"])]), strs(&["c"]));
        assert_eq!(ok("compact", vec![list(vec![s("a"), s(""), Value::Null, s("b")])]), strs(&["a", "b"]));
    }

    #[test]
    fn zipmap_range_minmax() {
        assert_eq!(
            ok("zipmap", vec![strs(&["a", "b"]), nums(&[1.0, 2.0])]),
            Value::map([("a", n(1.0)), ("b", n(2.0))])
        );
        assert!(err("zipmap", vec![strs(&["a"]), nums(&[1.0, 2.0])]).message.contains("does not match"));
        assert_eq!(ok("range", vec![n(3.0)]), nums(&[0.0, 1.0, 2.0]));
        assert_eq!(ok("range", vec![n(1.0), n(4.0)]), nums(&[1.0, 2.0, 3.0]));
        assert_eq!(ok("range", vec![n(4.0), n(1.0)]), nums(&[4.0, 3.0, 2.0]));
        assert_eq!(ok("range", vec![n(10.0), n(0.0), n(-3.0)]), nums(&[10.0, 7.0, 4.0, 1.0]));
        assert_eq!(ok("range", vec![n(0.0), n(1.0), n(0.25)]), nums(&[0.0, 0.25, 0.5, 0.75]));
        assert!(err("range", vec![]).message.contains("one, two, or three"));
        assert!(err("range", vec![n(0.0), n(5.0), n(0.0)]).message.contains("zero"));
        assert!(err("range", vec![n(0.0), n(5.0), n(-1.0)])
            .message
            .contains("end must be less than start when step is negative"));
        assert!(err("range", vec![n(5000.0)]).message.contains("1024"));
    }

    #[test]
    fn lists_and_maps() {
        assert_eq!(ok("contains", vec![strs(&["a", "b"]), s("b")]), b(true));
        assert_eq!(ok("contains", vec![strs(&["a", "b"]), s("c")]), b(false));
        assert_eq!(ok("concat", vec![strs(&["a"]), nums(&[1.0])]), list(vec![s("a"), n(1.0)]));
        let m = Value::map([("b", n(2.0)), ("a", n(1.0))]);
        assert_eq!(ok("keys", vec![m.clone()]), strs(&["a", "b"]));
        assert_eq!(ok("values", vec![m]), nums(&[1.0, 2.0]));
        assert_eq!(ok("index", vec![strs(&["a", "b"]), s("b")]), n(1.0));
        assert!(err("index", vec![strs(&["a"]), s("z")]).message.contains("item not found"));
        assert_eq!(ok("chunklist", vec![strs(&["a", "b", "c"]), n(2.0)]), list(vec![strs(&["a", "b"]), strs(&["c"])]));
        assert_eq!(ok("chunklist", vec![strs(&["a"]), n(0.0)]), list(vec![strs(&["a"])]));
        assert_eq!(err("chunklist", vec![strs(&["a"]), n(-1.0)]).arg, Some(1));
        assert_eq!(ok("length", vec![s("héllo")]), n(5.0));
        assert_eq!(ok("length", vec![Value::map([("a", n(1.0))])]), n(1.0));
        assert_eq!(err("length", vec![n(1.0)]).arg, Some(0));
    }

    #[test]
    fn sets() {
        let set = |xs: &[&str]| Value::set(xs.iter().map(|x| s(x)).collect());
        assert_eq!(ok("setunion", vec![strs(&["a", "b"]), strs(&["b", "c"])]), set(&["a", "b", "c"]));
        assert_eq!(ok("setintersection", vec![strs(&["a", "b"]), strs(&["b", "c"])]), set(&["b"]));
        assert_eq!(ok("setsubtract", vec![strs(&["a", "b", "c"]), strs(&["a", "c"])]), set(&["b"]));
        assert_eq!(
            ok("setproduct", vec![strs(&["a", "b"]), strs(&["x"])]),
            list(vec![strs(&["a", "x"]), strs(&["b", "x"])])
        );
        assert!(err("setproduct", vec![strs(&["a"])]).message.contains("two arguments"));
    }

    #[test]
    fn transpose_alltrue_anytrue() {
        let m = Value::map([("a", strs(&["1", "2"])), ("b", strs(&["2", "3"]))]);
        assert_eq!(
            ok("transpose", vec![m]),
            Value::map([("1", strs(&["a"])), ("2", strs(&["a", "b"])), ("3", strs(&["b"]))])
        );
        assert_eq!(ok("alltrue", vec![list(vec![b(true), s("true")])]), b(true));
        assert_eq!(ok("alltrue", vec![list(vec![])]), b(true));
        assert_eq!(ok("anytrue", vec![list(vec![b(false), b(true)])]), b(true));
        assert_eq!(ok("anytrue", vec![list(vec![])]), b(false));
    }

    #[test]
    fn conversions() {
        assert_eq!(ok("tostring", vec![n(1.0)]), s("1"));
        assert_eq!(ok("tostring", vec![Value::Null]), Value::Null);
        assert_eq!(ok("tonumber", vec![s("1.5")]), n(1.5));
        assert_eq!(ok("tobool", vec![s("true")]), b(true));
        assert_eq!(ok("tolist", vec![list(vec![s("a"), n(1.0)])]), strs(&["a", "1"]));
        assert_eq!(ok("toset", vec![strs(&["b", "a", "b"])]), Value::set(vec![s("a"), s("b")]));
        assert_eq!(
            ok("tomap", vec![Value::map([("a", n(1.0)), ("b", s("x"))])]),
            Value::map([("a", s("1")), ("b", s("x"))])
        );
        let e = err("tonumber", vec![s("nope")]);
        assert!(e.message.contains("cannot convert \"nope\" to number"), "{}", e.message);
        let e = err("tobool", vec![s("yes")]);
        assert!(e.message.contains("cannot convert \"yes\" to bool"), "{}", e.message);
        let e = err("tostring", vec![strs(&["a"])]);
        assert!(e.message.contains("cannot convert list of string to string"), "{}", e.message);
        let e = err("tonumber", vec![s("nope").sensitive()]);
        assert!(!e.message.contains("nope"), "{}", e.message);
    }

    #[test]
    fn marks() {
        let v = ok("lookup", vec![Value::map([("a", s("x").sensitive())]), s("a")]);
        assert!(v.is_sensitive());
        assert!(ok("concat", vec![strs(&["a"]), Value::unknown()]).is_unknown());
        // Unknown values do not make the keys unknown (Terraform's behaviour).
        assert_eq!(ok("keys", vec![Value::map([("a", Value::unknown())])]), strs(&["a"]));
    }
}
