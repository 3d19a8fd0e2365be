//! Type constraints (`variable "x" { type = map(object({ a = optional(string, "d") })) }`) and
//! conversion of values to them, with Terraform's conversion rules.

use indexmap::IndexMap;

use crate::lang::value::Value;

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
pub fn parse_type(expr: &hcl_edit::expr::Expression) -> Result<TypeConstraint, String> {
    let _ = expr;
    Err("type constraints are not implemented yet".into())
}

/// Converts `value` to `ty` with Terraform's rules (e.g. "5" → 5 for number, tuple → list,
/// object → map, optional attributes filled with their defaults or null). Unknown and sensitive
/// marks are preserved. On failure returns a message naming the path (`.a[2]`) and why.
pub fn convert(value: Value, ty: &TypeConstraint) -> Result<Value, String> {
    let _ = ty;
    Ok(value)
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
                    if i > 0 { f.write_str(", ")?; }
                    write!(f, "{t}")?;
                }
                f.write_str("])")
            }
            TypeConstraint::Object(fields) => {
                f.write_str("object({")?;
                for (i, (k, fld)) in fields.iter().enumerate() {
                    if i > 0 { f.write_str(", ")?; }
                    if fld.optional { write!(f, "{k} = optional({})", fld.ty)?; } else { write!(f, "{k} = {}", fld.ty)?; }
                }
                f.write_str("})")
            }
        }
    }
}
