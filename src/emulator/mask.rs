//! Update masks (`google.protobuf.FieldMask` in the `updateMask` query parameter), read the one
//! way every emulated AIP API reads them.
//!
//! A path names a field at any depth (`rotation.nextRotationTime`), in the JSON or the proto
//! spelling. A PATCH writes exactly the masked leaves: a masked field absent from the body is
//! cleared, everything unmasked stays. Each API states which paths it takes ([`MaskRules`])
//! and words its own refusals.

use serde_json::{Map, Value};

use super::api::{json_field_name, QueryParams};
use super::errors::ApiError;

/// What one API's `updateMask` may name. Every list holds JSON-spelled paths; an entry covers
/// every path inside it (`rotation` covers `rotation.nextRotationTime`).
pub struct MaskRules<'a> {
    pub updatable: &'a [&'a str],
    pub immutable: &'a [&'a str],
    pub output_only: &'a [&'a str],
    /// A further test for paths inside the updatable fields, where the API knows fewer
    /// paths than "anything inside"; `None` admits them all.
    pub known: Option<&'a dyn Fn(&str) -> bool>,
}

/// Why a mask path is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Immutable,
    OutputOnly,
    Unknown,
}

/// The paths of a request's update mask, JSON-spelled segment by segment, duplicates dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateMask {
    paths: Vec<String>,
}

fn covers(entry: &str, path: &str) -> bool {
    path == entry || path.strip_prefix(entry).is_some_and(|rest| rest.starts_with('.'))
}

impl UpdateMask {
    /// Every `updateMask` parameter (repeated or comma-separated); empty paths are dropped.
    pub fn from_query(query: &QueryParams) -> Self {
        let raw: Vec<&str> = query.get_all("updateMask").into_iter().flat_map(|m| m.split(',')).collect();
        Self::of(&raw)
    }

    pub fn of(paths: &[&str]) -> Self {
        let mut out: Vec<String> = Vec::new();
        for path in paths.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
            let json: Vec<String> = path.split('.').map(json_field_name).collect();
            let json = json.join(".");
            if !out.contains(&json) {
                out.push(json);
            }
        }
        UpdateMask { paths: out }
    }

    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// The first refused path, as `refuse(path, why)` words it.
    pub fn check(&self, rules: &MaskRules<'_>, refuse: impl Fn(&str, Refusal) -> ApiError) -> Result<(), ApiError> {
        for path in &self.paths {
            let why = if rules.immutable.iter().any(|e| covers(e, path)) {
                Refusal::Immutable
            } else if rules.output_only.iter().any(|e| covers(e, path)) {
                Refusal::OutputOnly
            } else if rules.updatable.iter().any(|e| covers(e, path)) && rules.known.is_none_or(|known| known(path)) {
                continue;
            } else {
                Refusal::Unknown
            };
            return Err(refuse(path, why));
        }
        Ok(())
    }

    /// The top-level fields the mask touches, in mask order.
    pub fn top_level_fields(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for path in &self.paths {
            let top = path.split('.').next().unwrap_or(path);
            if !out.contains(&top) {
                out.push(top);
            }
        }
        out
    }

    /// Writes every masked leaf of `body` into `target`.
    pub fn apply(&self, target: &mut Map<String, Value>, body: &Map<String, Value>) {
        for path in &self.paths {
            let segments: Vec<&str> = path.split('.').collect();
            apply_leaf(target, body, &segments);
        }
    }
}

/// Writes the leaf `path` of `body` into `target`: copied when the body has it, removed when
/// the body lacks it or sends `null` (a masked field left out of the body is a clear).
fn apply_leaf(target: &mut Map<String, Value>, body: &Map<String, Value>, path: &[&str]) {
    let Some((leaf, parents)) = path.split_last() else {
        return;
    };
    let mut given = Some(body);
    for p in parents {
        given = given.and_then(|m| m.get(*p)).and_then(Value::as_object);
    }
    let value = given.and_then(|m| m.get(*leaf)).filter(|v| !v.is_null()).cloned();
    let mut into = target;
    for p in parents {
        let entry = into.entry(p.to_string()).or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            if value.is_none() {
                return;
            }
            *entry = Value::Object(Map::new());
        }
        let Value::Object(next) = entry else { return };
        into = next;
    }
    match value {
        Some(v) => {
            into.insert(leaf.to_string(), v);
        }
        None => {
            into.remove(*leaf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::errors::invalid_argument;
    use serde_json::json;

    const RULES: MaskRules<'static> = MaskRules {
        updatable: &["labels", "rotation"],
        immutable: &["replication"],
        output_only: &["createTime"],
        known: None,
    };

    fn check(raw: &str) -> Result<(), String> {
        UpdateMask::from_query(&QueryParams::parse(raw))
            .check(&RULES, |path, why| invalid_argument(format!("{path}: {why:?}")))
            .map_err(|e| e.message)
    }

    #[test]
    fn masks_read_alike_in_either_spelling_repeated_or_comma_separated() {
        let mask = UpdateMask::from_query(&QueryParams::parse(
            "updateMask=rotation.next_rotation_time,%20labels&updateMask=rotation.nextRotationTime&updateMask=",
        ));
        assert_eq!(mask, UpdateMask::of(&["rotation.nextRotationTime", "labels"]));
        assert_eq!(mask.top_level_fields(), ["rotation", "labels"]);
    }

    #[test]
    fn paths_are_refused_by_rule() {
        assert_eq!(check("updateMask=rotation.rotation_period,labels"), Ok(()));
        assert_eq!(check("updateMask=replication.automatic").unwrap_err(), "replication.automatic: Immutable");
        assert_eq!(check("updateMask=create_time").unwrap_err(), "createTime: OutputOnly");
        assert_eq!(check("updateMask=rotationX").unwrap_err(), "rotationX: Unknown");
        let scalar_only = MaskRules { known: Some(&|p: &str| !p.contains('.')), ..RULES };
        let nested = UpdateMask::of(&["labels.x"]).check(&scalar_only, |_, why| invalid_argument(format!("{why:?}")));
        assert_eq!(nested.unwrap_err().message, "Unknown");
    }

    #[test]
    fn apply_writes_only_the_masked_leaves() {
        let mut stored =
            json!({"rotation": {"nextRotationTime": "old", "rotationPeriod": "60s"}, "labels": {"a": "1"}});
        let stored = stored.as_object_mut().unwrap();
        let body = json!({"rotation": {"nextRotationTime": "new", "rotationPeriod": "999s"}, "labels": {"b": "2"}});
        UpdateMask::of(&["rotation.nextRotationTime"]).apply(stored, body.as_object().unwrap());
        assert_eq!(
            json!(stored),
            json!({"rotation": {"nextRotationTime": "new", "rotationPeriod": "60s"}, "labels": {"a": "1"}})
        );
        UpdateMask::of(&["rotation.rotationPeriod", "labels"]).apply(stored, &Map::new());
        assert_eq!(
            json!(stored),
            json!({"rotation": {"nextRotationTime": "new"}}),
            "masked leaves left out are cleared"
        );
    }
}
