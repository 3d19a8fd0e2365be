//! Type constraints (`variable "x" { type = map(object({ a = optional(string, "d") })) }`) and
//! conversion of values to them, with Terraform's conversion rules.

use std::collections::BTreeMap;
use std::sync::Arc;

use hcl_edit::expr::{Expression, FuncCall, ObjectKey, UnaryOperator};
use indexmap::IndexMap;

use crate::lang::value::{Number, Value};

#[derive(Clone, Debug, PartialEq)]
pub enum TypeConstraint {
    /// `any`, or no `type` argument.
    Any,
    String,
    Number,
    Bool,
    List(Box<TypeConstraint>),
    Set(Box<TypeConstraint>),
    Map(Box<TypeConstraint>),
    Tuple(Vec<TypeConstraint>),
    Object(IndexMap<String, ObjectField>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct ObjectField {
    pub ty: TypeConstraint,
    /// `optional(T)` or `optional(T, default)`.
    pub optional: bool,
    pub default: Option<Value>,
}

/// Parses a type expression (`string`, `list(number)`, `object({ a = optional(string, "x") })`).
/// Returns a message (not a diagnostic) on failure; the caller attaches the span.
pub fn parse_type(expr: &Expression) -> Result<TypeConstraint, String> {
    match expr {
        Expression::Parenthesis(p) => parse_type(p.inner()),
        Expression::Variable(name) => match name.value().as_str() {
            "any" => Ok(TypeConstraint::Any),
            "string" => Ok(TypeConstraint::String),
            "number" => Ok(TypeConstraint::Number),
            "bool" => Ok(TypeConstraint::Bool),
            kw @ ("list" | "set" | "map") => Err(format!(
                "The {kw} type constructor requires one argument specifying the element type, like {kw}(string)."
            )),
            "tuple" => Err("The tuple type constructor requires one argument specifying the element types as a list, like tuple([string, number]).".into()),
            "object" => Err("The object type constructor requires one argument specifying the attribute types as a map, like object({ name = string }).".into()),
            "optional" => Err(OPTIONAL_OUTSIDE_OBJECT.into()),
            other => Err(format!("The keyword \"{other}\" is not a valid type specification; use string, number, bool, any, or a type constructor such as list(string).")),
        },
        Expression::FuncCall(call) => parse_type_call(call),
        Expression::String(s) => Err(quoted_type_message(s.value())),
        Expression::StringTemplate(_) | Expression::HeredocTemplate(_) => Err(quoted_type_message("...")),
        _ => Err("A type specification is either a primitive type keyword (bool, number, string), any, or a complex type constructor call, like list(string).".into()),
    }
}

const OPTIONAL_OUTSIDE_OBJECT: &str =
    "The optional() modifier is only for object attributes, like object({ name = optional(string) }).";

fn quoted_type_message(inner: &str) -> String {
    format!("Type constraints are written without quotes (Terraform 0.11 syntax is not supported): remove the quotes around \"{inner}\".")
}

fn parse_type_call(call: &FuncCall) -> Result<TypeConstraint, String> {
    if call.name.is_namespaced() {
        return Err("A type specification cannot be a namespaced function call.".into());
    }
    let name = call.name.name.value().as_str();
    let args: Vec<&Expression> = call.args.iter().collect();
    let single = |what: &str| -> Result<&Expression, String> {
        match args.as_slice() {
            [one] => Ok(*one),
            _ => Err(format!("The {name} type constructor requires one argument specifying {what}.")),
        }
    };
    match name {
        "list" => Ok(TypeConstraint::List(Box::new(parse_type(single("the element type")?)?))),
        "set" => Ok(TypeConstraint::Set(Box::new(parse_type(single("the element type")?)?))),
        "map" => Ok(TypeConstraint::Map(Box::new(parse_type(single("the element type")?)?))),
        "tuple" => {
            let what = "the element types as a list, like tuple([string, number])";
            let Expression::Array(items) = single(what)? else {
                return Err(format!("The tuple type constructor requires one argument specifying {what}."));
            };
            items.iter().map(parse_type).collect::<Result<Vec<_>, _>>().map(TypeConstraint::Tuple)
        }
        "object" => {
            let what = "the attribute types as a map, like object({ name = string })";
            let Expression::Object(attrs) = single(what)? else {
                return Err(format!("The object type constructor requires one argument specifying {what}."));
            };
            let mut fields = IndexMap::new();
            for (key, value) in attrs.iter() {
                let key = object_key_name(key)?;
                if fields.contains_key(&key) {
                    return Err(format!("Attribute \"{key}\" is defined more than once in this object type."));
                }
                let field = parse_object_field(value.expr()).map_err(|e| format!("attribute \"{key}\": {e}"))?;
                fields.insert(key, field);
            }
            Ok(TypeConstraint::Object(fields))
        }
        "optional" => Err(OPTIONAL_OUTSIDE_OBJECT.into()),
        "string" | "number" | "bool" | "any" => Err(format!(
            "The keyword \"{name}\" is a primitive type and takes no arguments; write {name} without parentheses."
        )),
        other => {
            Err(format!("Keyword \"{other}\" is not a valid type constructor; use list, set, map, tuple or object."))
        }
    }
}

fn object_key_name(key: &ObjectKey) -> Result<String, String> {
    match key {
        ObjectKey::Ident(id) => Ok(id.value().as_str().to_string()),
        ObjectKey::Expression(Expression::Variable(id)) => Ok(id.value().as_str().to_string()),
        ObjectKey::Expression(Expression::String(s)) => Ok(s.value().to_string()),
        ObjectKey::Expression(_) => Err("Object type attribute names must be identifiers or quoted strings.".into()),
    }
}

fn parse_object_field(expr: &Expression) -> Result<ObjectField, String> {
    let Expression::FuncCall(call) = expr else {
        return Ok(ObjectField { ty: parse_type(expr)?, optional: false, default: None });
    };
    if call.name.is_namespaced() || call.name.name.value().as_str() != "optional" {
        return Ok(ObjectField { ty: parse_type(expr)?, optional: false, default: None });
    }
    let args: Vec<&Expression> = call.args.iter().collect();
    match args.as_slice() {
        [ty] => Ok(ObjectField { ty: parse_type(ty)?, optional: true, default: None }),
        [ty, default] => {
            let ty = parse_type(ty)?;
            let default = literal_value(default)?;
            let default =
                convert(default, &ty).map_err(|e| format!("invalid default value for optional attribute: {e}"))?;
            Ok(ObjectField { ty, optional: true, default: Some(default) })
        }
        [] => Err("The optional() modifier requires the attribute type as its first argument.".into()),
        _ => {
            Err("The optional() modifier expects at most two arguments: the attribute type, and a default value."
                .into())
        }
    }
}

/// Evaluates a constant expression (a default inside `optional()`): literals, lists and
/// objects of literals, negative numbers. References and function calls are not constant.
fn literal_value(expr: &Expression) -> Result<Value, String> {
    match expr {
        Expression::Null(_) => Ok(Value::Null),
        Expression::Bool(b) => Ok(Value::Bool(*b.value())),
        Expression::Number(n) => crate::lang::eval::literal_number(n)
            .map(Value::Number)
            .ok_or_else(|| "the default value is not a valid number".to_string()),
        Expression::String(s) => Ok(Value::String(s.value().to_string())),
        Expression::Parenthesis(p) => literal_value(p.inner()),
        Expression::Array(items) => items.iter().map(literal_value).collect::<Result<Vec<_>, _>>().map(Value::List),
        Expression::Object(obj) => {
            let mut m = BTreeMap::new();
            for (k, v) in obj.iter() {
                let key = match k {
                    ObjectKey::Ident(id) => id.value().as_str().to_string(),
                    ObjectKey::Expression(e) => match literal_value(e)? {
                        Value::String(s) => s,
                        Value::Number(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                        _ => return Err("object keys in a default value must be strings".into()),
                    },
                };
                m.insert(key, literal_value(v.expr())?);
            }
            Ok(Value::object(m))
        }
        Expression::UnaryOp(op) if *op.operator.value() == UnaryOperator::Neg => match literal_value(&op.expr)? {
            Value::Number(n) => Ok(Value::Number(n.neg())),
            _ => Err("the minus sign applies only to numbers".into()),
        },
        Expression::UnaryOp(op) if *op.operator.value() == UnaryOperator::Not => match literal_value(&op.expr)? {
            Value::Bool(b) => Ok(Value::Bool(!b)),
            _ => Err("the ! operator applies only to bools".into()),
        },
        _ => Err(
            "a default value in a type constraint must be a literal value (no references, function calls or templates)"
                .into(),
        ),
    }
}

/// Converts `value` to `ty` with Terraform's rules (e.g. "5" → 5 for number, tuple → list,
/// object → map, optional attributes filled with their defaults or null). Unknown and sensitive
/// marks are preserved. On failure returns a message naming the path (`.a[2]`) and why.
pub fn convert(value: Value, ty: &TypeConstraint) -> Result<Value, String> {
    let mut path = String::new();
    convert_at(value, ty, &mut path)
}

fn at(path: &str, msg: impl std::fmt::Display) -> String {
    if path.is_empty() {
        msg.to_string()
    } else {
        format!("{path}: {msg}")
    }
}

fn mismatch(path: &str, ty: &TypeConstraint) -> String {
    at(path, format!("{} required", describe(ty)))
}

/// The phrase Terraform uses for a type in "X required" messages.
fn describe(ty: &TypeConstraint) -> String {
    match ty {
        TypeConstraint::Any => "any single type".into(),
        TypeConstraint::String => "string".into(),
        TypeConstraint::Number => "number".into(),
        TypeConstraint::Bool => "bool".into(),
        TypeConstraint::List(t) => format!("list of {}", describe(t)),
        TypeConstraint::Set(t) => format!("set of {}", describe(t)),
        TypeConstraint::Map(t) => format!("map of {}", describe(t)),
        TypeConstraint::Tuple(_) => "tuple".into(),
        TypeConstraint::Object(_) => "object".into(),
    }
}

fn push_index(path: &mut String, i: usize) -> usize {
    let len = path.len();
    path.push_str(&format!("[{i}]"));
    len
}

fn push_key(path: &mut String, key: &str) -> usize {
    let len = path.len();
    path.push_str(&format!("[{key:?}]"));
    len
}

fn push_attr(path: &mut String, name: &str) -> usize {
    let len = path.len();
    if hcl_edit::Ident::try_new(name).is_ok() {
        path.push('.');
        path.push_str(name);
    } else {
        path.push_str(&format!("[{name:?}]"));
    }
    len
}

/// Parses a string as a number the way Terraform does (cty's `ParseNumberVal`): decimal
/// notation with an optional exponent, no surrounding whitespace, exact.
pub fn parse_number(s: &str) -> Option<Number> {
    Number::parse(s).ok()
}

fn convert_at(value: Value, ty: &TypeConstraint, path: &mut String) -> Result<Value, String> {
    let value = match value {
        Value::Sensitive(inner) => return convert_at(*inner, ty, path).map(Value::sensitive),
        Value::Unknown(_) | Value::Null => return Ok(value),
        v => v,
    };
    match ty {
        TypeConstraint::Any => Ok(value),
        TypeConstraint::String => match value {
            Value::String(_) => Ok(value),
            Value::Number(n) => Ok(Value::String(n.to_string())),
            Value::Bool(b) => Ok(Value::String(b.to_string())),
            _ => Err(mismatch(path, ty)),
        },
        TypeConstraint::Number => match value {
            Value::Number(_) => Ok(value),
            Value::String(s) => parse_number(&s).map(Value::Number).ok_or_else(|| at(path, "a number is required")),
            _ => Err(mismatch(path, ty)),
        },
        TypeConstraint::Bool => match value {
            Value::Bool(_) => Ok(value),
            Value::String(s) => match s.as_str() {
                "true" | "1" => Ok(Value::Bool(true)),
                "false" | "0" => Ok(Value::Bool(false)),
                other => Err(at(
                    path,
                    match other.to_ascii_lowercase().as_str() {
                        "true" => "a bool is required; to convert from string, use lowercase \"true\"",
                        "false" => "a bool is required; to convert from string, use lowercase \"false\"",
                        _ => "a bool is required",
                    },
                )),
            },
            _ => Err(mismatch(path, ty)),
        },
        TypeConstraint::List(elem) | TypeConstraint::Set(elem) => {
            let (Value::List(items) | Value::Set(items)) = value else {
                return Err(mismatch(path, ty));
            };
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                let len = push_index(path, i);
                let converted = convert_at(item, elem, path);
                path.truncate(len);
                out.push(converted?);
            }
            if **elem == TypeConstraint::Any {
                out = unify_primitives(out);
            }
            if matches!(ty, TypeConstraint::Set(_)) {
                // A set orders and de-duplicates its elements by value, so where a secret sits
                // and whether it merged with a neighbour would tell about it: as in cty, the
                // marks of the elements move to the set.
                let (out, secret) = out.into_iter().fold((Vec::new(), false), |(mut xs, any), x| {
                    let (x, s) = x.unmark_deep();
                    xs.push(x);
                    (xs, any || s)
                });
                return Ok(Value::set(out).mark_if(secret));
            }
            Ok(Value::List(out))
        }
        TypeConstraint::Map(elem) => {
            let Value::Map(entries) = value else {
                return Err(mismatch(path, ty));
            };
            let mut out = BTreeMap::new();
            for (k, v) in Arc::unwrap_or_clone(entries) {
                let len = push_key(path, &k);
                let converted = convert_at(v, elem, path);
                path.truncate(len);
                out.insert(k, converted?);
            }
            if **elem == TypeConstraint::Any {
                let keys: Vec<String> = out.keys().cloned().collect();
                let values = unify_primitives(out.into_values().collect());
                out = keys.into_iter().zip(values).collect();
            }
            Ok(Value::object(out))
        }
        TypeConstraint::Tuple(elems) => {
            let (Value::List(items) | Value::Set(items)) = value else {
                return Err(mismatch(path, ty));
            };
            if items.len() != elems.len() {
                return Err(at(
                    path,
                    format!(
                        "tuple required with exactly {} element(s), but the value has {}",
                        elems.len(),
                        items.len()
                    ),
                ));
            }
            let mut out = Vec::with_capacity(items.len());
            for (i, (item, elem)) in items.into_iter().zip(elems).enumerate() {
                let len = push_index(path, i);
                let converted = convert_at(item, elem, path);
                path.truncate(len);
                out.push(converted?);
            }
            Ok(Value::List(out))
        }
        TypeConstraint::Object(fields) => {
            let Value::Map(entries) = value else {
                return Err(mismatch(path, ty));
            };
            let mut entries = Arc::unwrap_or_clone(entries);
            // Attributes not in the type are dropped, as Terraform does.
            let mut out = BTreeMap::new();
            for (name, field) in fields {
                let given = entries.remove(name);
                let len = push_attr(path, name);
                let converted = match given {
                    Some(v) if !v.is_null() => convert_at(v, &field.ty, path),
                    Some(v) if !field.optional => Ok(v),
                    None if !field.optional => {
                        path.truncate(len);
                        return Err(at(path, format!("attribute \"{name}\" is required")));
                    }
                    _ => match &field.default {
                        Some(d) => convert_at(d.clone(), &field.ty, path),
                        None => Ok(Value::Null),
                    },
                };
                path.truncate(len);
                out.insert(name.clone(), converted?);
            }
            Ok(Value::object(out))
        }
    }
}

/// `list(any)` and `map(any)` need a single element type: mixed primitives become strings,
/// the one type all primitives convert to. Mixed structural elements are left alone.
fn unify_primitives(items: Vec<Value>) -> Vec<Value> {
    let mut kinds = items.iter().filter_map(|v| match v.peel() {
        Value::Bool(_) => Some(1u8),
        Value::Number(_) => Some(2),
        Value::String(_) => Some(3),
        Value::List(_) | Value::Set(_) | Value::Map(_) => Some(4),
        _ => None,
    });
    let Some(first) = kinds.next() else { return items };
    let mixed = kinds.any(|k| k != first);
    let all_primitive = items.iter().all(|v| !matches!(v.peel(), Value::List(_) | Value::Set(_) | Value::Map(_)));
    if !mixed || !all_primitive {
        return items;
    }
    items
        .into_iter()
        .map(|v| {
            let original = v.clone();
            convert(v, &TypeConstraint::String).unwrap_or(original)
        })
        .collect()
}

/// Terraform's description of a value's type, for messages ("list of string", "object").
pub fn type_of(v: &Value) -> String {
    fn uniform(items: &mut dyn Iterator<Item = &Value>) -> Option<String> {
        let mut ty: Option<String> = None;
        for item in items {
            if matches!(item.peel(), Value::Null | Value::Unknown(_)) {
                continue;
            }
            let t = type_of(item);
            match &ty {
                None => ty = Some(t),
                Some(prev) if *prev == t => {}
                Some(_) => return None,
            }
        }
        ty
    }
    match v.peel() {
        Value::Null => "null".into(),
        Value::Unknown(_) => "unknown".into(),
        Value::Bool(_) => "bool".into(),
        Value::Number(_) => "number".into(),
        Value::String(_) => "string".into(),
        Value::List(xs) => match uniform(&mut xs.iter()) {
            Some(t) if !xs.is_empty() => format!("list of {t}"),
            _ => "tuple".into(),
        },
        Value::Set(xs) => match uniform(&mut xs.iter()) {
            Some(t) => format!("set of {t}"),
            None => "set".into(),
        },
        Value::Map(m) => match uniform(&mut m.values()) {
            Some(t) if !m.is_empty() && !t.starts_with("object") && !t.starts_with("tuple") => format!("map of {t}"),
            _ => "object".into(),
        },
        Value::Sensitive(_) => "sensitive".into(),
    }
}

impl std::fmt::Display for TypeConstraint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TypeConstraint::Any => f.write_str("any"),
            TypeConstraint::String => f.write_str("string"),
            TypeConstraint::Number => f.write_str("number"),
            TypeConstraint::Bool => f.write_str("bool"),
            TypeConstraint::List(t) => write!(f, "list({t})"),
            TypeConstraint::Set(t) => write!(f, "set({t})"),
            TypeConstraint::Map(t) => write!(f, "map({t})"),
            TypeConstraint::Tuple(ts) => {
                f.write_str("tuple([")?;
                for (i, t) in ts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{t}")?;
                }
                f.write_str("])")
            }
            TypeConstraint::Object(fields) => {
                f.write_str("object({")?;
                for (i, (k, fld)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    if fld.optional {
                        write!(f, "{k} = optional({})", fld.ty)?;
                    } else {
                        write!(f, "{k} = {}", fld.ty)?;
                    }
                }
                f.write_str("})")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(src: &str) -> Result<TypeConstraint, String> {
        let expr = hcl_edit::parser::parse_expr(src).map_err(|e| format!("parse error: {e}"))?;
        parse_type(&expr)
    }

    fn must(src: &str) -> TypeConstraint {
        match ty(src) {
            Ok(t) => t,
            Err(e) => panic!("{src}: {e}"),
        }
    }

    fn s(x: &str) -> Value {
        Value::string(x)
    }

    #[test]
    fn parses_primitives_and_collections() {
        assert_eq!(must("string"), TypeConstraint::String);
        assert_eq!(must("number"), TypeConstraint::Number);
        assert_eq!(must("bool"), TypeConstraint::Bool);
        assert_eq!(must("any"), TypeConstraint::Any);
        assert_eq!(must("list(string)"), TypeConstraint::List(Box::new(TypeConstraint::String)));
        assert_eq!(must("set(number)"), TypeConstraint::Set(Box::new(TypeConstraint::Number)));
        assert_eq!(
            must("map(list(bool))"),
            TypeConstraint::Map(Box::new(TypeConstraint::List(Box::new(TypeConstraint::Bool))))
        );
        assert_eq!(
            must("tuple([string, number])"),
            TypeConstraint::Tuple(vec![TypeConstraint::String, TypeConstraint::Number])
        );
        assert_eq!(must("list(string)").to_string(), "list(string)");
    }

    #[test]
    fn parses_objects_with_optional_attributes() {
        let t = must(
            r#"object({ name = string, size = optional(number), tags = optional(map(string), { env = "dev" }), "quoted-key" = bool, neg = optional(number, -1) })"#,
        );
        let TypeConstraint::Object(fields) = t else { panic!("not an object") };
        let names: Vec<&str> = fields.keys().map(String::as_str).collect();
        assert_eq!(names, ["name", "size", "tags", "quoted-key", "neg"]);
        assert!(!fields["name"].optional);
        assert!(fields["size"].optional && fields["size"].default.is_none());
        assert_eq!(fields["tags"].default, Some(Value::map([("env", s("dev"))])));
        assert_eq!(fields["neg"].default, Some(Value::from(-1.0)));
    }

    #[test]
    fn type_errors_explain_the_fix() {
        assert!(ty("strin").unwrap_err().contains("\"strin\" is not a valid type specification"));
        assert!(ty("list").unwrap_err().contains("requires one argument"));
        assert!(ty("list(string, number)").unwrap_err().contains("requires one argument"));
        assert!(ty("\"string\"").unwrap_err().contains("remove the quotes"));
        assert!(ty("optional(string)").unwrap_err().contains("only for object attributes"));
        assert!(ty("list(optional(string))").unwrap_err().contains("only for object attributes"));
        assert!(ty("tuple(string)").unwrap_err().contains("as a list"));
        assert!(ty("object([string])").unwrap_err().contains("as a map"));
        assert!(ty("foo(string)").unwrap_err().contains("not a valid type constructor"));
        assert!(ty("object({ a = optional(number, \"x\") })").unwrap_err().contains("invalid default value"));
        assert!(ty("object({ a = optional(string, var.x) })").unwrap_err().contains("literal"));
        assert!(ty("object({ a = string, \"a\" = number })").unwrap_err().contains("more than once"));
    }

    #[test]
    fn converts_primitives_like_terraform() {
        assert_eq!(convert(s("5"), &TypeConstraint::Number), Ok(Value::from(5.0)));
        assert_eq!(convert(s("-1.5e2"), &TypeConstraint::Number), Ok(Value::from(-150.0)));
        assert_eq!(convert(Value::from(5.0), &TypeConstraint::String), Ok(s("5")));
        assert_eq!(convert(Value::from(0.5), &TypeConstraint::String), Ok(s("0.5")));
        assert_eq!(convert(Value::Bool(true), &TypeConstraint::String), Ok(s("true")));
        assert_eq!(convert(s("false"), &TypeConstraint::Bool), Ok(Value::Bool(false)));
        assert_eq!(convert(s("1"), &TypeConstraint::Bool), Ok(Value::Bool(true)));
        assert_eq!(convert(s("abc"), &TypeConstraint::Number), Err("a number is required".into()));
        assert_eq!(convert(s(" 5"), &TypeConstraint::Number), Err("a number is required".into()));
        // cty's ParseNumberVal is Go's big.ParseFloat, whose grammar includes "inf" and "Inf".
        assert_eq!(convert(s("-inf"), &TypeConstraint::Number), Ok(Value::from(f64::NEG_INFINITY)));
        assert_eq!(convert(s("NaN"), &TypeConstraint::Number), Err("a number is required".into()));
        assert_eq!(
            convert(s("9007199254740993"), &TypeConstraint::Number).map(|v| v.to_string()),
            Ok("9007199254740993".into())
        );
        assert!(convert(s("True"), &TypeConstraint::Bool).unwrap_err().contains("lowercase \"true\""));
        assert_eq!(convert(Value::from(1.0), &TypeConstraint::Bool), Err("bool required".into()));
        assert_eq!(convert(Value::List(vec![]), &TypeConstraint::String), Err("string required".into()));
        assert_eq!(convert(s("x"), &TypeConstraint::Any), Ok(s("x")));
    }

    #[test]
    fn converts_collections() {
        let list_num = TypeConstraint::List(Box::new(TypeConstraint::Number));
        assert_eq!(
            convert(Value::List(vec![s("1"), Value::from(2.0)]), &list_num),
            Ok(Value::List(vec![Value::from(1.0), Value::from(2.0)]))
        );
        assert_eq!(convert(Value::List(vec![s("1"), s("x")]), &list_num), Err("[1]: a number is required".into()));
        let set_str = TypeConstraint::Set(Box::new(TypeConstraint::String));
        assert_eq!(convert(Value::List(vec![s("b"), s("a"), s("b")]), &set_str), Ok(Value::Set(vec![s("a"), s("b")])));
        assert_eq!(
            convert(Value::Set(vec![s("a")]), &TypeConstraint::List(Box::new(TypeConstraint::String))),
            Ok(Value::List(vec![s("a")]))
        );
        let map_num = TypeConstraint::Map(Box::new(TypeConstraint::Number));
        assert_eq!(convert(Value::map([("x", s("nope"))]), &map_num), Err("[\"x\"]: a number is required".into()));
        assert_eq!(convert(s("x"), &map_num), Err("map of number required".into()));
        let list_any = TypeConstraint::List(Box::new(TypeConstraint::Any));
        assert_eq!(
            convert(Value::List(vec![s("a"), Value::from(1.0)]), &list_any),
            Ok(Value::List(vec![s("a"), s("1")]))
        );
        let tuple = TypeConstraint::Tuple(vec![TypeConstraint::String, TypeConstraint::Number]);
        assert_eq!(
            convert(Value::List(vec![Value::from(1.0), s("2")]), &tuple),
            Ok(Value::List(vec![s("1"), Value::from(2.0)]))
        );
        assert!(convert(Value::List(vec![s("a")]), &tuple).unwrap_err().contains("exactly 2"));
    }

    #[test]
    fn converts_objects_with_defaults() {
        let t = must(
            r#"object({ name = string, size = optional(number, 10), zone = optional(string), tags = map(number) })"#,
        );
        let given = Value::map([("name", s("web")), ("tags", Value::map([("a", s("1"))])), ("extra", s("dropped"))]);
        let expected = Value::map([
            ("name", s("web")),
            ("size", Value::from(10.0)),
            ("tags", Value::map([("a", Value::from(1.0))])),
            ("zone", Value::Null),
        ]);
        assert_eq!(convert(given, &t), Ok(expected));
        // An explicit null for an optional attribute takes the default too.
        let given = Value::map([("name", s("web")), ("size", Value::Null), ("tags", Value::map::<&str>([]))]);
        assert_eq!(convert(given, &t).ok().and_then(|v| v.get("size").cloned()), Some(Value::from(10.0)));
        let missing = Value::map([("tags", Value::map::<&str>([]))]);
        assert_eq!(convert(missing, &t), Err("attribute \"name\" is required".into()));
        let bad = Value::map([("name", s("web")), ("tags", Value::map([("x", s("no"))]))]);
        assert_eq!(convert(bad, &t), Err(".tags[\"x\"]: a number is required".into()));
        assert_eq!(convert(s("x"), &t), Err("object required".into()));
    }

    #[test]
    fn nested_defaults_apply_inside_collections() {
        let t = must(
            r#"map(object({ port = optional(number, 80), cfg = optional(object({ tls = optional(bool, true) }), {}) }))"#,
        );
        let given = Value::map([("web", Value::map::<&str>([]))]);
        let converted = convert(given, &t).expect("converts");
        let web = converted.get("web").expect("web");
        assert_eq!(web.get("port"), Some(&Value::from(80.0)));
        assert_eq!(web.get("cfg").and_then(|c| c.get("tls")), Some(&Value::Bool(true)));
    }

    #[test]
    fn marks_survive_conversion() {
        assert!(convert(Value::unknown(), &TypeConstraint::Number).is_ok_and(|v| v.is_unknown()));
        assert!(convert(Value::Null, &TypeConstraint::Number).is_ok_and(|v| v.is_null()));
        let v = convert(s("5").sensitive(), &TypeConstraint::Number).expect("converts");
        assert!(v.is_sensitive());
        assert_eq!(v.peel(), &Value::from(5.0));
        let nested = Value::map([("a", s("1").sensitive())]);
        let v = convert(nested, &TypeConstraint::Map(Box::new(TypeConstraint::Number))).expect("converts");
        assert!(v.get("a").is_some_and(Value::is_sensitive));
        let err = convert(s("hunter2").sensitive(), &TypeConstraint::Number).unwrap_err();
        assert!(!err.contains("hunter2"));
    }

    #[test]
    fn a_set_takes_the_marks_of_its_elements() {
        // Sorting and de-duplicating compare the secrets: the set as a whole is what is secret
        // (a module input of type set(string) given a list holding one secret).
        let set_str = TypeConstraint::Set(Box::new(TypeConstraint::String));
        let v = convert(Value::List(vec![s("hunter2").sensitive(), s("hunter2")]), &set_str).expect("converts");
        assert!(v.is_sensitive(), "{v:?}");
        assert_eq!(v.peel(), &Value::Set(vec![s("hunter2")]));
        let plain = convert(Value::List(vec![s("b"), s("a")]), &set_str).expect("converts");
        assert!(!plain.contains_sensitive());
    }

    #[test]
    fn type_of_describes_values() {
        assert_eq!(type_of(&s("x")), "string");
        assert_eq!(type_of(&Value::List(vec![s("a"), s("b")])), "list of string");
        assert_eq!(type_of(&Value::List(vec![s("a"), Value::from(1.0)])), "tuple");
        assert_eq!(type_of(&Value::map([("a", Value::from(1.0))])), "map of number");
        assert_eq!(type_of(&Value::map([("a", Value::from(1.0)), ("b", s("x"))])), "object");
    }
}
