//! Resource type schemas: what a provider tells the engine about a type's attributes.
//!
//! The engine uses a schema to check configuration (types, required, unknown arguments with
//! suggestions, validators, cross-field rules), to fill defaults and computed values when
//! planning, to decide replace vs update (force-new), and to keep secrets out of state
//! (sensitive: fingerprint only; write-only: nothing at all).

pub mod diff;
pub mod locate;
pub mod propose;
pub mod validate;

use indexmap::IndexMap;

/// A check of one value: Err says what is wrong with it.
pub type ValueCheck = std::sync::Arc<dyn Fn(&Value) -> Result<(), String> + Send + Sync>;

/// A check of one value that can say where inside a string value each problem is.
pub type LocatedCheck = std::sync::Arc<dyn Fn(&Value) -> Vec<ValueProblem> + Send + Sync>;

/// A problem a [`Validator::Located`] check found in a value.
#[derive(Clone, Debug, PartialEq)]
pub struct ValueProblem {
    /// Completes "<attribute> …", like a [`Validator::Custom`] error.
    pub message: String,
    pub help: Option<String>,
    /// The byte range of the offending text inside the (string) value: the diagnostic points
    /// at those characters when the value was written as a literal or heredoc in place, and at
    /// the argument otherwise (see [`locate`]).
    pub within: Option<std::ops::Range<usize>>,
}

/// A check over a whole configuration: each problem's attribute path and message.
pub type ConfigCheck = std::sync::Arc<dyn Fn(&Value) -> Vec<(AttrPath, String)> + Send + Sync>;

use std::sync::Arc;

use crate::addr::AttrPath;
use crate::lang::value::Value;

#[derive(Clone, Debug, PartialEq)]
pub enum AttrType {
    String,
    Number,
    Bool,
    List(Box<AttrType>),
    Set(Box<AttrType>),
    Map(Box<AttrType>),
    /// Anything (e.g. `terraform_data.input`).
    Dynamic,
}

/// A check on one attribute's (known, non-null) value. Errors are phrased to complete
/// "<attribute> …", e.g. "must be between 1 and 300".
#[derive(Clone)]
pub enum Validator {
    OneOf(Vec<&'static str>),
    /// Inclusive range for numbers.
    Range {
        min: f64,
        max: f64,
    },
    /// Length range for strings.
    Length {
        min: usize,
        max: usize,
    },
    /// A regular expression the whole string must match, with what it means in words.
    Pattern {
        regex: &'static str,
        description: &'static str,
    },
    Custom(ValueCheck),
    /// Like `Custom`, with every problem and, for a string, where in it the problem is.
    Located(LocatedCheck),
}

impl std::fmt::Debug for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Validator::OneOf(v) => write!(f, "OneOf({v:?})"),
            Validator::Range { min, max } => write!(f, "Range({min}..={max})"),
            Validator::Length { min, max } => write!(f, "Length({min}..={max})"),
            Validator::Pattern { regex, .. } => write!(f, "Pattern({regex})"),
            Validator::Custom(_) => write!(f, "Custom"),
            Validator::Located(_) => write!(f, "Located"),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Attribute {
    pub ty: AttrType,
    pub required: bool,
    pub optional: bool,
    /// Set by the provider when not configured (or always, when not optional).
    pub computed: bool,
    /// Changing it replaces the resource.
    pub force_new: bool,
    /// Redacted in output; stored only as a keyed fingerprint.
    pub sensitive: bool,
    /// Sent to the API, never stored, never diffed (Terraform 1.11's write-only arguments).
    pub write_only: bool,
    pub default: Option<Value>,
    /// Terraform's DiffSuppressFunc: whether a configured value and the prior one mean the
    /// same object to the API (`example.com.` and `example.com`). The plan then keeps the
    /// prior's spelling, so nothing changes.
    pub equivalent: Option<fn(&Value, &Value) -> bool>,
    pub validators: Vec<Validator>,
    pub description: &'static str,
    /// Terraform-only (a provider's "virtual" field, like `deletion_policy`): the API never
    /// holds it, so its value is the configuration's (through the plan) after create and
    /// update, and the prior state's after a read. See [`Schema::keep_client_only`].
    pub client_only: bool,
}

impl Attribute {
    fn base(ty: AttrType) -> Self {
        Attribute {
            ty,
            required: false,
            optional: false,
            computed: false,
            force_new: false,
            sensitive: false,
            write_only: false,
            default: None,
            equivalent: None,
            validators: Vec::new(),
            description: "",
            client_only: false,
        }
    }
    pub fn required(ty: AttrType) -> Self {
        Attribute { required: true, ..Self::base(ty) }
    }
    pub fn optional(ty: AttrType) -> Self {
        Attribute { optional: true, ..Self::base(ty) }
    }
    pub fn computed(ty: AttrType) -> Self {
        Attribute { computed: true, ..Self::base(ty) }
    }
    /// Optional, and computed by the provider when not set.
    pub fn optional_computed(ty: AttrType) -> Self {
        Attribute { optional: true, computed: true, ..Self::base(ty) }
    }
    /// See [`Attribute::equivalent`].
    pub fn equivalent(mut self, same: fn(&Value, &Value) -> bool) -> Self {
        self.equivalent = Some(same);
        self
    }
    pub fn force_new(mut self) -> Self {
        self.force_new = true;
        self
    }
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }
    pub fn write_only(mut self) -> Self {
        self.write_only = true;
        self
    }
    pub fn default(mut self, v: impl Into<Value>) -> Self {
        self.default = Some(v.into());
        self
    }
    pub fn validate(mut self, v: Validator) -> Self {
        self.validators.push(v);
        self
    }
    pub fn describe(mut self, d: &'static str) -> Self {
        self.description = d;
        self
    }
    /// See [`Attribute::client_only`].
    pub fn client_only(mut self) -> Self {
        self.client_only = true;
        self
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nesting {
    /// At most one block; represented as a list of 0 or 1 objects, as the Terraform SDK does.
    Single,
    List,
    /// Unordered; diffed by content.
    Set,
}

#[derive(Clone, Debug)]
pub struct BlockType {
    pub nesting: Nesting,
    pub min_items: usize,
    pub max_items: usize,
    pub force_new: bool,
    pub block: Schema,
}

impl BlockType {
    fn new(nesting: Nesting, block: Schema) -> Self {
        BlockType { nesting, min_items: 0, max_items: 0, force_new: false, block }
    }
    /// Repeated blocks, in order.
    pub fn list(block: Schema) -> Self {
        Self::new(Nesting::List, block)
    }
    /// Repeated blocks without order (diffed by content).
    pub fn set(block: Schema) -> Self {
        Self::new(Nesting::Set, block)
    }
    /// At most one block.
    pub fn single(block: Schema) -> Self {
        Self::new(Nesting::Single, block)
    }
    pub fn min_items(mut self, n: usize) -> Self {
        self.min_items = n;
        self
    }
    pub fn max_items(mut self, n: usize) -> Self {
        self.max_items = n;
        self
    }
    /// Any change to the block replaces the resource.
    pub fn force_new(mut self) -> Self {
        self.force_new = true;
        self
    }
}

/// A rule over several attributes, checked at plan time because the API would only reject it
/// at apply time. Paths are top-level attribute or block names unless written `a.b`.
#[derive(Clone)]
pub enum Rule {
    ExactlyOneOf(Vec<&'static str>),
    AtMostOneOf(Vec<&'static str>),
    AtLeastOneOf(Vec<&'static str>),
    /// If the first is set, all the others must be.
    RequiredWith(&'static str, Vec<&'static str>),
    /// Any check over the whole (known parts of the) configuration: returns the offending
    /// attribute path and a message naming every attribute involved and the rule.
    Custom(ConfigCheck),
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rule::ExactlyOneOf(v) => write!(f, "ExactlyOneOf({v:?})"),
            Rule::AtMostOneOf(v) => write!(f, "AtMostOneOf({v:?})"),
            Rule::AtLeastOneOf(v) => write!(f, "AtLeastOneOf({v:?})"),
            Rule::RequiredWith(a, v) => write!(f, "RequiredWith({a}, {v:?})"),
            Rule::Custom(_) => write!(f, "Custom"),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Schema {
    pub attributes: IndexMap<&'static str, Attribute>,
    pub blocks: IndexMap<&'static str, BlockType>,
    pub rules: Vec<Rule>,
}

impl Schema {
    /// `v` with every attribute this schema calls sensitive marked so (at any block depth):
    /// what the core and providers apply to a value a provider read or planned, so that a
    /// secret is never handled bare because a type forgot to mark it.
    pub fn mark_sensitive(&self, v: Value) -> Value {
        // Most types hold no secret: their values are returned as they are, not rebuilt (a
        // rebuilt copy of every refreshed object was a tenth of a 100,000-instance plan's heap).
        if !self.has_sensitive() {
            return v;
        }
        let Value::Map(m) = v else { return v };
        let mut m = Arc::unwrap_or_clone(m);
        for (name, a) in &self.attributes {
            if a.sensitive {
                if let Some(x) = m.remove(*name) {
                    m.insert(name.to_string(), if x.is_null() { x } else { x.sensitive() });
                }
            }
        }
        for (name, b) in &self.blocks {
            if let Some(x) = m.remove(*name) {
                let x = match x {
                    Value::List(items) => Value::List(items.into_iter().map(|i| b.block.mark_sensitive(i)).collect()),
                    Value::Set(items) => Value::Set(items.into_iter().map(|i| b.block.mark_sensitive(i)).collect()),
                    other => other,
                };
                m.insert(name.to_string(), x);
            }
        }
        Value::object(m)
    }

    /// Whether any attribute, at any block depth, is sensitive.
    pub fn has_sensitive(&self) -> bool {
        self.attributes.values().any(|a| a.sensitive) || self.blocks.values().any(|b| b.block.has_sensitive())
    }

    pub fn new() -> Self {
        Self::default()
    }
    pub fn attr(mut self, name: &'static str, a: Attribute) -> Self {
        self.attributes.insert(name, a);
        self
    }
    pub fn block(mut self, name: &'static str, b: BlockType) -> Self {
        self.blocks.insert(name, b);
        self
    }
    pub fn rule(mut self, r: Rule) -> Self {
        self.rules.push(r);
        self
    }

    /// `object` (what a provider returned) with every client-only top-level attribute taken
    /// from `source` (the plan after create and update, the prior state after a read); where
    /// `source` has none (an import), what the provider worked out, else the default.
    pub fn keep_client_only(&self, source: &Value, object: Value) -> Value {
        let mut client_only = self.attributes.iter().filter(|(_, a)| a.client_only).peekable();
        if client_only.peek().is_none() {
            return object;
        }
        let Value::Map(mut m) = object else { return object };
        let m_mut = Arc::make_mut(&mut m);
        for (name, a) in client_only {
            let v = source
                .get(name)
                .filter(|v| !v.is_null())
                .or_else(|| m_mut.get(*name).filter(|v| !v.is_null()))
                .cloned()
                .or_else(|| a.default.clone());
            m_mut.insert(name.to_string(), v.unwrap_or(Value::Null));
        }
        Value::Map(m)
    }

    /// The schema of the block at a dotted path (`settings.ip_configuration`); "" is this one.
    pub fn level_mut(&mut self, path: &str) -> Option<&mut Schema> {
        let mut schema = self;
        if path.is_empty() {
            return Some(schema);
        }
        for seg in path.split('.') {
            schema = &mut schema.blocks.get_mut(seg)?.block;
        }
        Some(schema)
    }

    /// Adjusts the attribute at a dotted path (`http_health_check.port`): how a provider adds
    /// what a generated schema cannot say (a validator, an equivalence, a description). The
    /// path is the provider's own and must exist; a missing one is a defect in that provider,
    /// which its schema's unit test shows.
    pub fn modify(mut self, path: &str, f: impl FnOnce(Attribute) -> Attribute) -> Self {
        let (parent, name) = path.rsplit_once('.').unwrap_or(("", path));
        let level = self.level_mut(parent).unwrap_or_else(|| panic!("schema has no block {parent}"));
        let a = level.attributes.get_mut(name).unwrap_or_else(|| panic!("schema has no attribute {path}"));
        *a = f(a.clone());
        self
    }

    /// Adjusts the block at a dotted path, as [`Schema::modify`] does attributes.
    pub fn modify_block(mut self, path: &str, f: impl FnOnce(BlockType) -> BlockType) -> Self {
        let (parent, name) = path.rsplit_once('.').unwrap_or(("", path));
        let level = self.level_mut(parent).unwrap_or_else(|| panic!("schema has no block {parent}"));
        let b = level.blocks.get_mut(name).unwrap_or_else(|| panic!("schema has no block {path}"));
        *b = f(b.clone());
        self
    }

    /// The attribute schema at a path (`settings[0].tier`), if any.
    pub fn attribute_at(&self, path: &AttrPath) -> Option<&Attribute> {
        use crate::addr::PathStep;
        let mut schema = self;
        let mut steps = path.0.iter().peekable();
        while let Some(step) = steps.next() {
            let PathStep::Attr(name) = step else { return None };
            if let Some(a) = schema.attributes.get(name.as_str()) {
                return Some(a);
            }
            let b = schema.blocks.get(name.as_str())?;
            if let Some(PathStep::Index(_)) = steps.peek() {
                steps.next();
            }
            schema = &b.block;
        }
        None
    }

    /// Whether a change at `path` forces replacement: the attribute (or any enclosing block)
    /// is force-new.
    pub fn is_force_new(&self, path: &AttrPath) -> bool {
        use crate::addr::PathStep;
        let mut schema = self;
        let mut steps = path.0.iter().peekable();
        while let Some(step) = steps.next() {
            let PathStep::Attr(name) = step else { return false };
            if let Some(a) = schema.attributes.get(name.as_str()) {
                return a.force_new;
            }
            let Some(b) = schema.blocks.get(name.as_str()) else { return false };
            if b.force_new {
                return true;
            }
            if let Some(PathStep::Index(_)) = steps.peek() {
                steps.next();
            }
            schema = &b.block;
        }
        false
    }
}

#[cfg(test)]
mod client_only_tests {
    use super::*;

    /// The plan's (or prior's) value wins; an import keeps what the provider worked out, else
    /// the default; attributes that are not client-only are never touched.
    #[test]
    fn keep_client_only_takes_the_source_then_the_object_then_the_default() {
        let schema = Schema::new()
            .attr("policy", Attribute::optional(AttrType::String).default("DELETE").client_only())
            .attr("base64", Attribute::optional(AttrType::Bool).default(false).client_only())
            .attr("name", Attribute::required(AttrType::String));
        let object = Value::map([("name", Value::from("api")), ("base64", Value::Bool(true))]);
        let source = Value::map([("policy", Value::from("ABANDON")), ("name", Value::from("plan"))]);
        let kept = schema.keep_client_only(&source, object.clone());
        assert_eq!(kept.get("policy"), Some(&Value::from("ABANDON")));
        assert_eq!(kept.get("name"), Some(&Value::from("api")));
        let imported = schema.keep_client_only(&Value::Null, object);
        assert_eq!(imported.get("policy"), Some(&Value::from("DELETE")));
        assert_eq!(imported.get("base64"), Some(&Value::Bool(true)), "what the import worked out");
    }

    /// A nested block's secret is marked; a schema without secrets hands the value back as it
    /// is, the same allocation (a rebuilt copy per refreshed object was a tenth of a large
    /// plan's heap).
    #[test]
    fn mark_sensitive_marks_nested_secrets_and_leaves_secretless_values_as_they_are() {
        let inner = Schema::new().attr("password", Attribute::optional(AttrType::String).sensitive());
        let schema =
            Schema::new().attr("name", Attribute::required(AttrType::String)).block("auth", BlockType::list(inner));
        assert!(schema.has_sensitive());
        let v = Value::map([
            ("name", Value::from("db")),
            ("auth", Value::List(vec![Value::map([("password", Value::from("pw"))])])),
        ]);
        let marked = schema.mark_sensitive(v);
        let auth = marked.get("auth").and_then(|a| a.as_list()).expect("a list");
        assert!(auth[0].get("password").is_some_and(|p| p.is_sensitive()));
        assert!(!marked.get("name").unwrap().is_sensitive());

        let plain = Schema::new().attr("name", Attribute::required(AttrType::String));
        assert!(!plain.has_sensitive());
        let v = Value::map([("name", Value::from("db"))]);
        let Value::Map(before) = &v else { unreachable!() };
        let before = before.clone();
        let Value::Map(after) = plain.mark_sensitive(v) else { panic!("still a map") };
        assert!(Arc::ptr_eq(&before, &after), "not rebuilt");
    }
}
