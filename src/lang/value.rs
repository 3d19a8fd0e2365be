//! Cairn's value model: Terraform's cty values reduced to what the engine needs, plus the two
//! marks that matter for safety — *unknown* ("known after apply") and *sensitive*.
//!
//! Marks live in the tree itself (`Value::Unknown`, `Value::Sensitive`) so that a sensitive
//! leaf deep inside a map stays marked wherever the map travels. `Debug` and `Display` never
//! print what is under a sensitive mark: the easy way to log a value is the safe way.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

pub use crate::lang::number::Number;

/// A map or object's entries. Shared ([`Value::Map`] holds an `Arc`): the same object is the
/// prior in state, the planned value in a plan and the value references read in the
/// environment, and a copy is made only where one of them changes it.
pub type Object = BTreeMap<String, Value>;

/// Why a value is not known.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Unknown {
    /// Computed by an apply that has not happened yet.
    Pending,
    /// A secret that exists but that Cairn deliberately did not keep (state stores only a
    /// keyed fingerprint). `fingerprint` lets a diff tell "same secret" from "new secret".
    Withheld { fingerprint: Option<String> },
}

#[derive(Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    /// Terraform's arbitrary-precision number (see [`Number`]).
    Number(Number),
    String(String),
    /// Lists and tuples.
    List(Vec<Value>),
    /// Kept sorted and de-duplicated (see [`Value::set`]).
    Set(Vec<Value>),
    /// Maps and objects; Terraform iterates both in lexical key order. Cloning shares the
    /// entries; [`Value::map_mut`] copies them on first write.
    Map(Arc<Object>),
    Unknown(Unknown),
    Sensitive(Box<Value>),
}

/// [`Value::unmark_deep`] of every element.
fn unmark_all(xs: Vec<Value>) -> (Vec<Value>, bool) {
    let mut any = false;
    let xs = xs
        .into_iter()
        .map(|x| {
            let (x, s) = x.unmark_deep();
            any |= s;
            x
        })
        .collect();
    (xs, any)
}

impl Value {
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }
    pub fn unknown() -> Value {
        Value::Unknown(Unknown::Pending)
    }
    pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Map(Arc::new(entries.into_iter().map(|(k, v)| (k.into(), v)).collect()))
    }
    /// A map or object from its entries.
    pub fn object(entries: Object) -> Value {
        Value::Map(Arc::new(entries))
    }
    /// The entries of a map or object, to change in place (copied first if shared).
    pub fn map_mut(&mut self) -> Option<&mut Object> {
        match self {
            Value::Map(m) => Some(Arc::make_mut(m)),
            _ => None,
        }
    }
    /// Builds a set: sorted by canonical order, duplicates removed.
    pub fn set(mut items: Vec<Value>) -> Value {
        items.sort_by(|a, b| a.canonical_cmp(b));
        items.dedup();
        Value::Set(items)
    }
    /// Marks a value sensitive (idempotent).
    pub fn sensitive(self) -> Value {
        match self {
            Value::Sensitive(_) => self,
            v => Value::Sensitive(Box::new(v)),
        }
    }
    pub fn mark_if(self, sensitive: bool) -> Value {
        if sensitive {
            self.sensitive()
        } else {
            self
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.peel(), Value::Null)
    }
    /// True when this value is unknown at the top level (after removing a sensitive mark).
    pub fn is_unknown(&self) -> bool {
        matches!(self.peel(), Value::Unknown(_))
    }
    /// True when any part of the value is unknown.
    pub fn contains_unknown(&self) -> bool {
        match self {
            Value::Unknown(_) => true,
            Value::Sensitive(v) => v.contains_unknown(),
            Value::List(xs) | Value::Set(xs) => xs.iter().any(Value::contains_unknown),
            Value::Map(m) => m.values().any(Value::contains_unknown),
            _ => false,
        }
    }
    pub fn is_wholly_known(&self) -> bool {
        !self.contains_unknown()
    }
    /// True when the value is marked sensitive at the top level.
    pub fn is_sensitive(&self) -> bool {
        matches!(self, Value::Sensitive(_))
    }
    /// True when any part of the value is marked sensitive.
    pub fn contains_sensitive(&self) -> bool {
        match self {
            Value::Sensitive(_) => true,
            Value::List(xs) | Value::Set(xs) => xs.iter().any(Value::contains_sensitive),
            Value::Map(m) => m.values().any(Value::contains_sensitive),
            _ => false,
        }
    }
    /// The value without its top-level sensitive mark(s).
    pub fn peel(&self) -> &Value {
        let mut v = self;
        while let Value::Sensitive(inner) = v {
            v = inner;
        }
        v
    }
    pub fn into_peeled(self) -> Value {
        match self {
            Value::Sensitive(inner) => inner.into_peeled(),
            v => v,
        }
    }
    /// Removes every sensitive mark, returning the bare value and whether any was found.
    /// Callers that unmark must re-mark their result (see [`Value::mark_if`]).
    pub fn unmark_deep(self) -> (Value, bool) {
        match self {
            Value::Sensitive(inner) => (inner.unmark_deep().0, true),
            Value::List(xs) => {
                let (xs, any) = unmark_all(xs);
                (Value::List(xs), any)
            }
            Value::Set(xs) => {
                let (xs, any) = unmark_all(xs);
                (Value::Set(xs), any)
            }
            Value::Map(m) => {
                let mut any = false;
                let m = Arc::unwrap_or_clone(m)
                    .into_iter()
                    .map(|(k, x)| {
                        let (x, s) = x.unmark_deep();
                        any |= s;
                        (k, x)
                    })
                    .collect();
                (Value::object(m), any)
            }
            v => (v, false),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self.peel() {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match self.peel() {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
    /// The number, when this is one.
    pub fn as_number(&self) -> Option<&Number> {
        match self.peel() {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }
    /// The nearest f64 to a number (for arithmetic Terraform also does in float64).
    pub fn as_f64(&self) -> Option<f64> {
        self.as_number().map(Number::to_f64)
    }
    /// A whole number that fits an i64, exactly; None for fractions and for what would not fit.
    pub fn as_i64(&self) -> Option<i64> {
        self.as_number().and_then(Number::to_i64)
    }
    /// A whole non-negative number that fits a u64, exactly.
    pub fn as_u64(&self) -> Option<u64> {
        self.as_number().and_then(Number::to_u64)
    }
    /// Elements of a list or set.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self.peel() {
            Value::List(xs) | Value::Set(xs) => Some(xs),
            _ => None,
        }
    }
    pub fn as_map(&self) -> Option<&BTreeMap<String, Value>> {
        match self.peel() {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }
    /// Attribute of a map/object; `None` when absent or when `self` is not a map.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_map().and_then(|m| m.get(key))
    }

    /// Terraform's name for the value's type, for diagnostics.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::Map(_) => "map",
            Value::Unknown(_) => "unknown",
            Value::Sensitive(v) => v.type_name(),
        }
    }

    /// A total order used for sets and sorting; unknowns sort last, marks are ignored.
    pub fn canonical_cmp(&self, other: &Value) -> std::cmp::Ordering {
        use std::cmp::Ordering::*;
        fn rank(v: &Value) -> u8 {
            match v {
                Value::Null => 0,
                Value::Bool(_) => 1,
                Value::Number(_) => 2,
                Value::String(_) => 3,
                Value::List(_) => 4,
                Value::Set(_) => 5,
                Value::Map(_) => 6,
                Value::Unknown(_) => 7,
                Value::Sensitive(v) => rank(v),
            }
        }
        let (a, b) = (self.peel(), other.peel());
        match (a, b) {
            (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
            (Value::Number(x), Value::Number(y)) => x.cmp(y),
            (Value::String(x), Value::String(y)) => x.cmp(y),
            (Value::List(x), Value::List(y)) | (Value::Set(x), Value::Set(y)) => {
                for (p, q) in x.iter().zip(y.iter()) {
                    let o = p.canonical_cmp(q);
                    if o != Equal {
                        return o;
                    }
                }
                x.len().cmp(&y.len())
            }
            (Value::Map(x), Value::Map(y)) => {
                for ((ka, va), (kb, vb)) in x.iter().zip(y.iter()) {
                    let o = ka.cmp(kb).then_with(|| va.canonical_cmp(vb));
                    if o != Equal {
                        return o;
                    }
                }
                x.len().cmp(&y.len())
            }
            _ => rank(a).cmp(&rank(b)),
        }
    }

    /// Equality that ignores sensitive marks; unknowns are equal to nothing but themselves.
    pub fn same_as(&self, other: &Value) -> bool {
        match (self.peel(), other.peel()) {
            (Value::List(x), Value::List(y)) | (Value::Set(x), Value::Set(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(a, b)| a.same_as(b))
            }
            (Value::Map(x), Value::Map(y)) => {
                x.len() == y.len() && x.iter().zip(y.iter()).all(|((ka, a), (kb, b))| ka == kb && a.same_as(b))
            }
            (Value::Number(a), Value::Number(b)) => a == b,
            (a, b) => a == b,
        }
    }

    /// Converts to JSON. Unknowns become null; sensitive values are kept as-is: this is for
    /// providers and functions (`jsonencode`), never for anything that is stored or printed —
    /// use [`Value::to_json_redacted`] for that.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null | Value::Unknown(_) => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => n.to_json(),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::List(xs) | Value::Set(xs) => serde_json::Value::Array(xs.iter().map(Value::to_json).collect()),
            Value::Map(m) => serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()),
            Value::Sensitive(v) => v.to_json(),
        }
    }

    /// JSON for rendering: unknowns and sensitive values become null (Terraform's plan JSON
    /// reports them separately through `after_unknown` / `after_sensitive`).
    pub fn to_json_redacted(&self) -> serde_json::Value {
        match self {
            Value::Sensitive(_) => serde_json::Value::Null,
            Value::List(xs) | Value::Set(xs) => {
                serde_json::Value::Array(xs.iter().map(Value::to_json_redacted).collect())
            }
            Value::Map(m) => {
                serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json_redacted())).collect())
            }
            v => v.to_json(),
        }
    }

    /// Terraform's `after_unknown` / `before_sensitive` shape: `true` where the predicate holds,
    /// nested structure where it holds somewhere inside, `false` elsewhere.
    pub fn mark_shape(&self, pred: &dyn Fn(&Value) -> bool) -> serde_json::Value {
        if pred(self) {
            return serde_json::Value::Bool(true);
        }
        match self.peel() {
            Value::List(xs) | Value::Set(xs) => {
                if xs.iter().any(|x| has_mark(x, pred)) {
                    serde_json::Value::Array(xs.iter().map(|x| x.mark_shape(pred)).collect())
                } else {
                    serde_json::Value::Array(vec![])
                }
            }
            Value::Map(m) => serde_json::Value::Object(
                m.iter().filter(|(_, v)| has_mark(v, pred)).map(|(k, v)| (k.clone(), v.mark_shape(pred))).collect(),
            ),
            _ => serde_json::Value::Bool(false),
        }
    }

    pub fn from_json(j: &serde_json::Value) -> Value {
        match j {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Number(Number::from_json(n)),
            serde_json::Value::String(s) => Value::String(s.clone()),
            serde_json::Value::Array(xs) => Value::List(xs.iter().map(Value::from_json).collect()),
            serde_json::Value::Object(m) => {
                Value::object(m.iter().map(|(k, v)| (k.clone(), Value::from_json(v))).collect())
            }
        }
    }
}

fn has_mark(v: &Value, pred: &dyn Fn(&Value) -> bool) -> bool {
    if pred(v) {
        return true;
    }
    match v.peel() {
        Value::List(xs) | Value::Set(xs) => xs.iter().any(|x| has_mark(x, pred)),
        Value::Map(m) => m.values().any(|x| has_mark(x, pred)),
        _ => false,
    }
}

/// The secrets inside some values, for taking them out of text that someone else wrote: an
/// API's error message may quote the field it was sent, a provider's rule may quote a value
/// (issue 14 §3). Each string held under a sensitive mark (of 3 characters or more: shorter
/// ones would erase ordinary words) is replaced, in the spellings in which a request carries
/// it: as written, JSON-escaped, and base64-encoded (Secret Manager sends payloads so).
#[derive(Clone, Debug, Default)]
pub struct SecretStrings(Vec<String>);

impl SecretStrings {
    pub const REPLACEMENT: &'static str = "(sensitive value)";

    pub fn of<'a>(values: impl IntoIterator<Item = &'a Value>) -> Self {
        fn collect(v: &Value, marked: bool, out: &mut Vec<String>) {
            match v {
                Value::Sensitive(inner) => collect(inner, true, out),
                Value::String(s) if marked && s.chars().count() >= 3 => {
                    use base64::Engine as _;
                    out.push(s.to_string());
                    let json = serde_json::to_string(&**s).unwrap_or_default();
                    let escaped = json.trim_start_matches('"').trim_end_matches('"');
                    if escaped != &**s {
                        out.push(escaped.to_string());
                    }
                    out.push(base64::engine::general_purpose::STANDARD.encode(s.as_bytes()));
                }
                Value::List(xs) | Value::Set(xs) => xs.iter().for_each(|x| collect(x, marked, out)),
                Value::Map(m) => m.values().for_each(|x| collect(x, marked, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        for v in values {
            collect(v, false, &mut out);
        }
        // Longest first, so that a secret containing another is replaced whole.
        out.sort_by_key(|s| std::cmp::Reverse(s.len()));
        out.dedup();
        SecretStrings(out)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `text` with every secret replaced by [`SecretStrings::REPLACEMENT`].
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in &self.0 {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), Self::REPLACEMENT);
            }
        }
        out
    }

    /// Every message of `diags` (summary, detail, help) redacted.
    pub fn redact_diagnostics(&self, diags: &mut crate::lang::diag::Diagnostics) {
        if self.is_empty() {
            return;
        }
        for d in &mut diags.0 {
            for text in std::iter::once(&mut d.summary).chain(d.detail.as_mut()).chain(d.help.as_mut()) {
                *text = self.redact(text);
            }
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// HCL-like rendering; sensitive parts print as `(sensitive value)`.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => write!(f, "{n}"),
            Value::String(s) => write!(f, "{:?}", s),
            Value::List(xs) | Value::Set(xs) => {
                f.write_str("[")?;
                for (i, x) in xs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{x}")?;
                }
                f.write_str("]")
            }
            Value::Map(m) => {
                f.write_str("{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k} = {v}")?;
                }
                f.write_str("}")
            }
            Value::Unknown(Unknown::Pending) => f.write_str("(known after apply)"),
            Value::Unknown(Unknown::Withheld { .. }) => f.write_str("(sensitive value)"),
            Value::Sensitive(_) => f.write_str("(sensitive value)"),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<Number> for Value {
    fn from(n: Number) -> Self {
        Value::Number(n)
    }
}
macro_rules! value_from_integer {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(n: $t) -> Self {
                Value::Number(Number::from(n))
            }
        }
    )*};
}
value_from_integer!(i32, i64, u32, u64, usize);
/// A float as Terraform's `NumberFloatVal` holds it (its shortest decimal form). NaN, which no
/// Terraform number is, becomes null: callers that can produce it check first.
impl From<f64> for Value {
    fn from(n: f64) -> Self {
        Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_values_never_print() {
        let v = Value::map([("password", Value::string("hunter2").sensitive()), ("user", "app".into())]);
        let shown = format!("{v} {v:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("(sensitive value)"));
    }

    #[test]
    fn sets_are_sorted_and_deduplicated() {
        let s = Value::set(vec!["b".into(), "a".into(), "b".into()]);
        assert_eq!(s, Value::Set(vec!["a".into(), "b".into()]));
    }

    #[test]
    fn numbers_keep_their_digits_through_json() {
        let text = r#"{"id":9007199254740993,"max":18446744073709551615,"neg":-9223372036854775808,"ratio":0.3}"#;
        let v = Value::from_json(&serde_json::from_str(text).unwrap());
        assert_eq!(v.get("id").and_then(Value::as_i64), Some(9_007_199_254_740_993));
        assert_eq!(v.get("max").and_then(Value::as_u64), Some(u64::MAX));
        assert_eq!(v.to_json().to_string(), text);
        assert_eq!(
            format!("{v}"),
            "{id = 9007199254740993, max = 18446744073709551615, neg = -9223372036854775808, ratio = 0.3}"
        );
    }

    #[test]
    fn mark_shape_matches_terraform() {
        let v = Value::map([("a", Value::unknown()), ("b", Value::from(1))]);
        assert_eq!(v.mark_shape(&|v| v.is_unknown()), serde_json::json!({"a": true}));
    }
}
