//! Reading arguments from planned values and building state values that have exactly the
//! shape the planner produces (every attribute present, absent blocks as empty lists), so that
//! a refresh right after an apply compares equal to the plan.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::lang::value::Value;
use crate::providers::ProviderError;
use crate::schema::{Nesting, Schema};

/// A known, non-empty string argument.
pub fn string(v: &Value, name: &str) -> Option<String> {
    v.get(name).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string)
}

pub fn boolean(v: &Value, name: &str, default: bool) -> bool {
    v.get(name).and_then(Value::as_bool).unwrap_or(default)
}

/// A map(string) argument; null or absent is empty.
pub fn string_map(v: &Value, name: &str) -> BTreeMap<String, String> {
    v.get(name)
        .and_then(Value::as_map)
        .map(|m| m.iter().filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string()))).collect())
        .unwrap_or_default()
}

/// The items of a block (a list of objects; a single block is a list of at most one).
pub fn blocks<'a>(v: &'a Value, name: &str) -> &'a [Value] {
    v.get(name).and_then(Value::as_list).unwrap_or(&[])
}

pub fn first_block<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    blocks(v, name).first()
}

/// A map from the API as a state value: an API map is authoritative, but "no entries" is
/// written the way the prior state wrote it (null when unset, `{}` when configured empty), so
/// that an unset argument does not show a perpetual diff against an empty map.
pub fn api_map(live: &HashMap<String, String>, prior: Option<&Value>) -> Value {
    if live.is_empty() {
        return match prior {
            Some(p) if p.as_map().is_some() => Value::object(BTreeMap::new()),
            _ => Value::Null,
        };
    }
    Value::object(live.iter().map(|(k, v)| (k.clone(), Value::string(v.clone()))).collect())
}

/// A computed map: always an object, possibly empty.
pub fn full_map<'a>(entries: impl IntoIterator<Item = (&'a String, &'a String)>) -> Value {
    Value::object(entries.into_iter().map(|(k, v)| (k.clone(), Value::string(v.clone()))).collect())
}

/// Terraform's non-authoritative maps (`labels`, `annotations`): the state keeps only the keys
/// the configuration manages (those in the prior state); everything is in `effective_*`.
/// Without a prior (import) every key is taken.
pub fn managed_subset(live: &HashMap<String, String>, prior: Option<&Value>) -> Value {
    match prior.map(|p| p.peel()) {
        None => api_map(live, None),
        Some(Value::Map(managed)) => {
            let kept: BTreeMap<String, Value> = live
                .iter()
                .filter(|(k, _)| managed.contains_key(*k))
                .map(|(k, v)| (k.clone(), Value::string(v.clone())))
                .collect();
            Value::object(kept)
        }
        Some(_) => Value::Null,
    }
}

/// Fills what `v` lacks so it has the planner's shape for `schema`: missing attributes null,
/// missing blocks empty lists, set blocks as sets.
pub fn conform_to_schema(schema: &Schema, v: Value) -> Value {
    let mut m = match v {
        Value::Map(m) => Arc::unwrap_or_clone(m),
        _ => BTreeMap::new(),
    };
    for name in schema.attributes.keys() {
        m.entry(name.to_string()).or_insert(Value::Null);
    }
    for (name, bt) in &schema.blocks {
        let items = match m.remove(*name) {
            Some(Value::List(xs)) | Some(Value::Set(xs)) => xs,
            _ => Vec::new(),
        };
        let items: Vec<Value> = items.into_iter().map(|x| conform_to_schema(&bt.block, x)).collect();
        let value = match bt.nesting {
            Nesting::Set => Value::set(items),
            Nesting::Single | Nesting::List => Value::List(items),
        };
        m.insert(name.to_string(), value);
    }
    Value::object(m)
}

/// `projects/{p}/secrets/{s}` → (p, s). Also accepts the `projects/{p}/locations/{l}/…`
/// form's project and secret for messages, but regional secrets are not managed yet.
pub fn parse_secret_name(name: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = name.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        ["projects", p, "secrets", s] if !p.is_empty() && !s.is_empty() => Some((p.to_string(), s.to_string())),
        _ => None,
    }
}

/// `projects/{p}/secrets/{s}/versions/{n}` → (p, s, n).
pub fn parse_version_name(name: &str) -> Option<(String, String, String)> {
    let parts: Vec<&str> = name.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        ["projects", p, "secrets", s, "versions", n] if !p.is_empty() && !s.is_empty() && !n.is_empty() => {
            Some((p.to_string(), s.to_string(), n.to_string()))
        }
        _ => None,
    }
}

pub fn last_segment(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

/// An argument that must be known by the time the provider acts on it.
pub fn required_string(v: &Value, name: &str, type_name: &str) -> Result<String, ProviderError> {
    match v.get(name) {
        Some(x) if x.is_unknown() => Err(ProviderError::new(format!(
            "{type_name}.{name} is still unknown at apply time; this is a bug in Cairn's apply ordering"
        ))),
        _ => string(v, name).ok_or_else(|| ProviderError::new(format!("{type_name}.{name} must be set"))),
    }
}

/// Sets `name` in a map value.
pub fn set(v: &mut Value, name: &str, x: Value) {
    if let Some(m) = v.map_mut() {
        m.insert(name.to_string(), x);
    }
}

/// A proto field name as Google's JSON APIs spell it: snake_case → lowerCamelCase
/// (`check_interval_sec` → `checkIntervalSec`).
pub fn json_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for ch in name.chars() {
        if ch == '_' {
            upper = true;
        } else if upper {
            out.extend(ch.to_uppercase());
            upper = false;
        } else {
            out.push(ch);
        }
    }
    out
}

/// A non-authoritative map (labels, annotations) as the plan will leave it: the keys set
/// outside Cairn (in the prior effective map but not managed) plus the configured ones.
pub fn effective_after(
    prior_effective: Option<&Value>,
    prior_managed: Option<&Value>,
    configured: Option<&Value>,
) -> Value {
    let managed: Vec<&String> = prior_managed.and_then(Value::as_map).map(|m| m.keys().collect()).unwrap_or_default();
    let mut out: BTreeMap<String, Value> = prior_effective
        .and_then(Value::as_map)
        .map(|m| m.iter().filter(|(k, _)| !managed.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    if let Some(m) = configured.and_then(Value::as_map) {
        out.extend(m.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    Value::object(out)
}

/// The non-authoritative map to send: the planned `effective` set (keys kept from outside
/// Cairn plus the configured ones), or the configured `managed` one when the plan could not
/// know the effective set.
pub fn effective_to_send(planned: &Value, effective: &str, managed: &str) -> BTreeMap<String, String> {
    match planned.get(effective).filter(|v| v.is_wholly_known() && !v.is_null()) {
        Some(_) => string_map(planned, effective),
        None => string_map(planned, managed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{AttrType, Attribute, BlockType};

    #[test]
    fn names_parse_in_both_project_forms() {
        assert_eq!(parse_secret_name("projects/p/secrets/s"), Some(("p".into(), "s".into())));
        assert_eq!(parse_secret_name("projects/123456789012/secrets/s"), Some(("123456789012".into(), "s".into())));
        assert_eq!(parse_secret_name("projects/p/secrets/s/versions/1"), None);
        assert_eq!(parse_secret_name("p/s"), None);
        assert_eq!(parse_version_name("projects/1/secrets/s/versions/3"), Some(("1".into(), "s".into(), "3".into())));
        assert_eq!(parse_version_name("projects/1/secrets/s"), None);
    }

    #[test]
    fn non_authoritative_maps_keep_managed_keys() {
        let live: HashMap<String, String> =
            [("team", "a"), ("extra", "b")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let prior = Value::map([("team", Value::from("old"))]);
        assert_eq!(managed_subset(&live, Some(&prior)), Value::map([("team", Value::from("a"))]));
        assert_eq!(managed_subset(&live, Some(&Value::Null)), Value::Null);
        assert_eq!(managed_subset(&live, None).as_map().map(|m| m.len()), Some(2));
        assert_eq!(api_map(&HashMap::new(), Some(&Value::Null)), Value::Null);
        assert_eq!(api_map(&HashMap::new(), Some(&Value::object(BTreeMap::new()))), Value::object(BTreeMap::new()));
    }

    #[test]
    fn conform_fills_attributes_and_blocks() {
        let s = Schema::new().attr("a", Attribute::optional(AttrType::String)).block(
            "b",
            BlockType {
                nesting: Nesting::List,
                min_items: 0,
                max_items: 0,
                force_new: false,
                block: Schema::new().attr("x", Attribute::optional(AttrType::String)),
            },
        );
        let v = conform_to_schema(&s, Value::map([("b", Value::List(vec![Value::map::<&str>([])]))]));
        assert_eq!(v, Value::map([("a", Value::Null), ("b", Value::List(vec![Value::map([("x", Value::Null)])]))]));
    }
}
