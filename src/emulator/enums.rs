//! Enum encoding.
//!
//! The store keeps enums as their names. Responses carry names, or numbers when the request
//! asked for `$alt=json;enum-encoding=int` (what the proto-based SDKs send); request bodies
//! may carry either. Each API declares its enum fields as [`EnumField`]s: a dotted path where
//! `name[]` walks every element of an array, and the values in proto number order (index 0 is
//! the `*_UNSPECIFIED` value).

use serde_json::Value;

#[derive(Debug, Clone, Copy)]
pub struct EnumField {
    /// e.g. `"state"`, `"versions[].state"`, `"backends[].balancingMode"`.
    pub path: &'static str,
    /// Names by proto number. A gap in the numbering is an empty string.
    pub values: &'static [&'static str],
}

/// Rewrites the enum fields of a response: numbers when `ints`, else names (a no-op for the
/// store's canonical names).
pub fn encode(value: &mut Value, fields: &[EnumField], ints: bool) {
    if !ints {
        return;
    }
    for field in fields {
        visit(value, field.path, &mut |leaf| {
            if let Value::String(name) = leaf {
                if let Some(n) = field.values.iter().position(|v| v == name) {
                    *leaf = Value::from(n as u64);
                }
            }
        });
    }
}

/// Rewrites enum numbers in a request body to names. Unknown numbers are an error naming the
/// field; unknown names are left for the API's own validation.
pub fn decode(value: &mut Value, fields: &[EnumField]) -> Result<(), String> {
    let mut problem = None;
    for field in fields {
        visit(value, field.path, &mut |leaf| {
            if let Some(n) = leaf.as_u64() {
                match field.values.get(n as usize).filter(|v| !v.is_empty()) {
                    Some(name) => *leaf = Value::String((*name).to_string()),
                    None => {
                        problem.get_or_insert(format!(
                            "Invalid value at '{}' ({n}): not a valid enum number",
                            field.path.replace("[]", "")
                        ));
                    }
                }
            }
        });
    }
    problem.map_or(Ok(()), Err)
}

/// Calls `f` on every value at a dotted `path` where `name[]` walks every element of an array;
/// missing fields and other shapes are skipped. Shared with APIs whose enums are numbered
/// sparsely (Cloud SQL).
pub fn visit(value: &mut Value, path: &str, f: &mut dyn FnMut(&mut Value)) {
    let (head, rest) = match path.split_once('.') {
        Some((h, r)) => (h, Some(r)),
        None => (path, None),
    };
    let (key, is_array) = match head.strip_suffix("[]") {
        Some(k) => (k, true),
        None => (head, false),
    };
    let Some(child) = value.get_mut(key) else {
        return;
    };
    let targets: Vec<&mut Value> = if is_array {
        match child {
            Value::Array(items) => items.iter_mut().collect(),
            _ => return,
        }
    } else {
        vec![child]
    };
    for target in targets {
        match rest {
            Some(rest) => visit(target, rest, f),
            None => f(target),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const STATE: &[&str] = &["STATE_UNSPECIFIED", "ENABLED", "DISABLED", "DESTROYED"];
    const FIELDS: &[EnumField] = &[
        EnumField { path: "state", values: STATE },
        EnumField { path: "versions[].state", values: STATE },
        EnumField { path: "response.items[].mode", values: &["MODE_UNSPECIFIED", "", "FAST"] },
    ];

    #[test]
    fn encodes_names_as_numbers_only_when_asked() {
        let mut v = json!({"state": "DISABLED", "versions": [{"state": "ENABLED"}, {"state": "DESTROYED"}]});
        encode(&mut v, FIELDS, false);
        assert_eq!(v["state"], "DISABLED");
        encode(&mut v, FIELDS, true);
        assert_eq!(v, json!({"state": 2, "versions": [{"state": 1}, {"state": 3}]}));
    }

    #[test]
    fn decodes_numbers_and_keeps_names() {
        let mut v = json!({"state": 3, "response": {"items": [{"mode": 2}, {"mode": "FAST"}]}});
        decode(&mut v, FIELDS).unwrap();
        assert_eq!(v, json!({"state": "DESTROYED", "response": {"items": [{"mode": "FAST"}, {"mode": "FAST"}]}}));
    }

    #[test]
    fn rejects_unknown_numbers_and_gaps() {
        let mut v = json!({"state": 9});
        assert!(decode(&mut v, FIELDS).unwrap_err().contains("'state'"));
        let mut v = json!({"response": {"items": [{"mode": 1}]}});
        assert!(decode(&mut v, FIELDS).is_err());
    }

    #[test]
    fn missing_fields_and_wrong_shapes_are_ignored() {
        let mut v = json!({"versions": "not-an-array"});
        encode(&mut v, FIELDS, true);
        assert_eq!(v, json!({"versions": "not-an-array"}));
    }
}
