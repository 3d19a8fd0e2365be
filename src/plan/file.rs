//! Saved plans (`cairn plan -out FILE`): everything needed to check, show and apply a plan
//! later — and no secret. Sensitive values are written as positions only (see
//! [`WireValue`]); sensitive variables are named, and must be supplied again at apply.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::addr::{AttrPath, InstanceAddr};
use crate::lang::value::Value;
use crate::plan::model::*;
use crate::state::{CheckResult, State};

pub const PLAN_FORMAT: &str = "cairn-plan";
pub const PLAN_FORMAT_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
pub struct PlanFile {
    pub format: String,
    pub format_version: u32,
    pub cairn_version: String,
    pub mode: PlanMode,
    pub lineage: String,
    pub serial: u64,
    pub config_hash: String,
    pub variables: BTreeMap<String, serde_json::Value>,
    pub sensitive_variables: Vec<String>,
    pub targets: Vec<String>,
    pub replace: Vec<String>,
    pub refresh: bool,
    pub changes: Vec<ChangeRecord>,
    pub drift: Vec<DriftRecord>,
    pub output_changes: Vec<OutputRecord>,
    pub checks: Vec<CheckResult>,
    pub prior_state: State,
    pub warnings: Vec<String>,
    /// The stack directory as given to `cairn plan` (`stacks/staging`): names the plan in a
    /// pull-request comment's marker. Absent in plans written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack: Option<String>,
}

/// A change as a saved plan holds it.
pub type ChangeRecord = ChangeOf<WireValue>;

#[derive(Serialize, Deserialize)]
pub struct DriftRecord {
    pub addr: InstanceAddr,
    pub type_name: String,
    pub provider: String,
    pub action: Action,
    pub before: WireValue,
    pub after: Option<WireValue>,
    pub changed_paths: Vec<AttrPath>,
}

#[derive(Serialize, Deserialize)]
pub struct OutputRecord {
    pub name: String,
    pub action: Action,
    pub before: Option<WireValue>,
    pub after: Option<WireValue>,
    pub sensitive: bool,
}

fn wire(v: &Option<Value>) -> Option<WireValue> {
    v.as_ref().map(WireValue::from_value)
}

fn unwire(v: &Option<WireValue>) -> Option<Value> {
    v.as_ref().map(WireValue::to_value)
}

impl PlanFile {
    pub fn from_plan(plan: &Plan, replace: &[InstanceAddr], refresh: bool) -> PlanFile {
        PlanFile {
            format: PLAN_FORMAT.into(),
            format_version: PLAN_FORMAT_VERSION,
            cairn_version: env!("CARGO_PKG_VERSION").into(),
            mode: plan.mode,
            lineage: plan.lineage.clone(),
            serial: plan.serial,
            config_hash: plan.config_hash.clone(),
            variables: plan.variables.iter().map(|(k, v)| (k.clone(), v.to_json_redacted())).collect(),
            sensitive_variables: plan.sensitive_variables.clone(),
            targets: plan.targets.clone(),
            replace: replace.iter().map(|a| a.to_string()).collect(),
            refresh,
            changes: plan.changes.iter().map(|c| c.map_values(WireValue::from_value)).collect(),
            drift: plan
                .drift
                .iter()
                .map(|d| DriftRecord {
                    addr: d.addr.clone(),
                    type_name: d.type_name.clone(),
                    provider: d.provider.clone(),
                    action: d.action,
                    before: WireValue::from_value(&d.before),
                    after: wire(&d.after),
                    changed_paths: d.changed_paths.clone(),
                })
                .collect(),
            output_changes: plan
                .output_changes
                .iter()
                .map(|o| OutputRecord {
                    name: o.name.clone(),
                    action: o.action,
                    before: if o.sensitive { None } else { wire(&o.before) },
                    after: if o.sensitive { None } else { wire(&o.after) },
                    sensitive: o.sensitive,
                })
                .collect(),
            checks: plan.checks.clone(),
            prior_state: plan.prior_state.clone(),
            warnings: plan.warnings.clone(),
            stack: None,
        }
    }

    pub fn to_plan(&self) -> Plan {
        Plan {
            mode: self.mode,
            lineage: self.lineage.clone(),
            serial: self.serial,
            config_hash: self.config_hash.clone(),
            variables: self.variables.iter().map(|(k, v)| (k.clone(), Value::from_json(v))).collect(),
            sensitive_variables: self.sensitive_variables.clone(),
            changes: self.changes.iter().map(|c| c.map_values(WireValue::to_value)).collect(),
            drift: self
                .drift
                .iter()
                .map(|d| Drift {
                    addr: d.addr.clone(),
                    type_name: d.type_name.clone(),
                    provider: d.provider.clone(),
                    action: d.action,
                    before: d.before.to_value(),
                    after: unwire(&d.after),
                    changed_paths: d.changed_paths.clone(),
                })
                .collect(),
            output_changes: self
                .output_changes
                .iter()
                .map(|o| OutputChange {
                    name: o.name.clone(),
                    action: o.action,
                    before: if o.sensitive { Some(Value::Null.sensitive()) } else { unwire(&o.before) },
                    after: if o.sensitive { Some(Value::Null.sensitive()) } else { unwire(&o.after) },
                    sensitive: o.sensitive,
                })
                .collect(),
            checks: self.checks.clone(),
            prior_state: self.prior_state.clone(),
            targets: self.targets.clone(),
            warnings: self.warnings.clone(),
        }
    }
}

/// A stack directory as the user would type it: `stacks/staging`, not `./stacks/staging/`,
/// so that plans of the same stack made from the same working directory carry one name.
pub fn stack_label(dir: &std::path::Path) -> String {
    let text = dir.to_string_lossy();
    let mut rest = &*text;
    while let Some(r) = rest.strip_prefix("./") {
        rest = r.trim_start_matches('/');
    }
    let trimmed = rest.trim_end_matches('/');
    let trimmed = trimmed.strip_suffix("/.").unwrap_or(trimmed);
    if trimmed.is_empty() {
        if text.starts_with('/') {
            "/".into()
        } else {
            ".".into()
        }
    } else {
        trimmed.to_string()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    #[error("cannot read plan file {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{path} is not a Cairn plan file ({reason})")]
    NotAPlan { path: String, reason: String },
    #[error("{path} was written by a newer Cairn (plan format {found}); this one reads format {PLAN_FORMAT_VERSION}")]
    TooNew { path: String, found: u32 },
}

pub fn read(path: &std::path::Path) -> Result<PlanFile, PlanFileError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| PlanFileError::Read { path: path.display().to_string(), reason: e.to_string() })?;
    let head: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| PlanFileError::NotAPlan { path: path.display().to_string(), reason: e.to_string() })?;
    if head.get("format").and_then(|f| f.as_str()) != Some(PLAN_FORMAT) {
        return Err(PlanFileError::NotAPlan {
            path: path.display().to_string(),
            reason: "no \"format\": \"cairn-plan\" field".into(),
        });
    }
    // Saturating, not `as`: 2^32 + 1 must read as "too new", not wrap around to format 1.
    let found = head.get("format_version").and_then(|v| v.as_u64()).map_or(0, |v| u32::try_from(v).unwrap_or(u32::MAX));
    if found > PLAN_FORMAT_VERSION {
        return Err(PlanFileError::TooNew { path: path.display().to_string(), found });
    }
    serde_json::from_value(head)
        .map_err(|e| PlanFileError::NotAPlan { path: path.display().to_string(), reason: e.to_string() })
}

pub fn write(path: &std::path::Path, pf: &PlanFile) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(pf).map_err(std::io::Error::other)?;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_labels_are_written_one_way() {
        for (given, label) in [
            ("stacks/staging", "stacks/staging"),
            ("./stacks/staging/", "stacks/staging"),
            ("stacks/staging/.", "stacks/staging"),
            (".", "."),
            ("./", "."),
            ("/abs/stack/", "/abs/stack"),
        ] {
            assert_eq!(stack_label(std::path::Path::new(given)), label, "{given}");
        }
    }

    #[test]
    fn plans_without_a_stack_still_read() {
        let plan = Plan {
            mode: PlanMode::Normal,
            lineage: "l".into(),
            serial: 0,
            config_hash: "h".into(),
            variables: BTreeMap::new(),
            sensitive_variables: vec![],
            changes: vec![],
            drift: vec![],
            output_changes: vec![],
            checks: vec![],
            prior_state: State::new(),
            targets: vec![],
            warnings: vec![],
        };
        let mut json = serde_json::to_value(PlanFile::from_plan(&plan, &[], true)).expect("serialise");
        assert!(json.get("stack").is_none(), "an unset stack is not written");
        if let Some(m) = json.as_object_mut() {
            m.insert("stack".into(), "stacks/staging".into());
        }
        let back: PlanFile = serde_json::from_value(json.clone()).expect("with stack");
        assert_eq!(back.stack.as_deref(), Some("stacks/staging"));
        if let Some(m) = json.as_object_mut() {
            m.remove("stack");
        }
        let old: PlanFile = serde_json::from_value(json).expect("without stack");
        assert_eq!(old.stack, None);
    }
}
