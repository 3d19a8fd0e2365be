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
