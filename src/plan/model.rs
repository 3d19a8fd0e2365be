//! The plan: what `apply` will do, per resource instance, and why.
//!
//! Follows Terraform's internal/plans: an [`Action`] per instance, before/after values (with
//! unknown and sensitive marks), the attribute paths that changed and those that force
//! replacement, plus drift (changes made outside Cairn) kept apart from planned changes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::addr::{AttrPath, InstanceAddr};
use crate::lang::value::{Unknown, Value};
use crate::schema::Schema;
use crate::state::{codec, CheckResult, ResourceInstanceState, State};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    NoOp,
    Create,
    Update,
    /// Delete then create (Terraform's `["delete","create"]`).
    DeleteThenCreate,
    /// Create then delete (`["create","delete"]`, create_before_destroy).
    CreateThenDelete,
    Delete,
    /// Read-only (refresh-only plans record the refreshed object).
    Read,
    /// Removed from state without touching the object (`removed { lifecycle { destroy =
    /// false } }`): Terraform's `forget`.
    Forget,
}

impl Action {
    pub fn is_replace(self) -> bool {
        matches!(self, Action::DeleteThenCreate | Action::CreateThenDelete)
    }
    /// The action deletes the existing object (a destroy or a replacement).
    pub fn deletes(self) -> bool {
        self == Action::Delete || self.is_replace()
    }
    /// Terraform's `change.actions` array.
    pub fn terraform_actions(self) -> Vec<&'static str> {
        match self {
            Action::NoOp => vec!["no-op"],
            Action::Create => vec!["create"],
            Action::Update => vec!["update"],
            Action::DeleteThenCreate => vec!["delete", "create"],
            Action::CreateThenDelete => vec!["create", "delete"],
            Action::Delete => vec!["delete"],
            Action::Read => vec!["read"],
            Action::Forget => vec!["forget"],
        }
    }
    /// `+`, `~`, `-/+`, `+/-`, `-`, `<=`, `.`.
    pub fn symbol(self) -> &'static str {
        match self {
            Action::NoOp => " ",
            Action::Create => "+",
            Action::Update => "~",
            Action::DeleteThenCreate => "-/+",
            Action::CreateThenDelete => "+/-",
            Action::Delete => "-",
            Action::Read => "<=",
            Action::Forget => ".",
        }
    }
}

/// Why an action was chosen, in Terraform's `action_reason` vocabulary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionReason {
    ReplaceBecauseCannotUpdate,
    ReplaceBecauseTainted,
    ReplaceByRequest,
    ReplaceByTriggers,
    DeleteBecauseNoResourceConfig,
    DeleteBecauseCountIndex,
    DeleteBecauseEachKey,
    DeleteBecauseNoModule,
    /// A data source read deferred to apply because an argument is not known yet.
    ReadBecauseConfigUnknown,
    /// A data source read deferred to apply because something its depends_on names changes.
    ReadBecauseDependencyPending,
}

/// One instance's change. Its values are [`Value`]s in memory ([`ResourceChange`]) and
/// [`WireValue`]s (secrets dropped) in a saved plan (`plan::file::ChangeRecord`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChangeOf<V> {
    pub addr: InstanceAddr,
    /// Set when a `moved` block (or `state mv`) renamed the instance in this plan.
    pub previous_addr: Option<InstanceAddr>,
    pub type_name: String,
    pub provider: String,
    pub action: Action,
    pub reason: Option<ActionReason>,
    /// Prior (refreshed) value; None when creating.
    pub before: Option<V>,
    /// Planned value; None when deleting. Unknown where the provider decides.
    pub after: Option<V>,
    /// Paths whose values differ between before and after.
    pub changed_paths: Vec<AttrPath>,
    /// Paths whose change forces replacement (non-empty for replace actions, unless by request).
    pub replace_paths: Vec<AttrPath>,
    /// Set when this change imports an existing object (`import` block or `cairn import`):
    /// the id, as a value so that an id computed from a secret keeps its sensitive mark (a
    /// saved plan then holds only its position, and every renderer prints it redacted).
    pub importing: Option<V>,
    /// Instances this one depends on (for ordering, and recorded in state).
    #[serde(with = "crate::addr::shared_dependencies")]
    pub dependencies: crate::addr::Dependencies,
    pub create_before_destroy: bool,
    /// Things the user should know before applying (e.g. a name that cannot be reused).
    pub warnings: Vec<String>,
}

pub type ResourceChange = ChangeOf<Value>;

impl<V> ChangeOf<V> {
    /// The same change with its values converted (to and from their saved form).
    pub fn map_values<W>(&self, f: impl Fn(&V) -> W) -> ChangeOf<W> {
        ChangeOf {
            addr: self.addr.clone(),
            previous_addr: self.previous_addr.clone(),
            type_name: self.type_name.clone(),
            provider: self.provider.clone(),
            action: self.action,
            reason: self.reason,
            before: self.before.as_ref().map(&f),
            after: self.after.as_ref().map(&f),
            changed_paths: self.changed_paths.clone(),
            replace_paths: self.replace_paths.clone(),
            importing: self.importing.as_ref().map(&f),
            dependencies: self.dependencies.clone(),
            create_before_destroy: self.create_before_destroy,
            warnings: self.warnings.clone(),
        }
    }
}

impl ChangeOf<Value> {
    /// How state records the object this change produced: its value encoded by its schema
    /// (sensitive leaves as fingerprints), with what later applies need to order it.
    pub fn recorded(&self, schema: &Schema, value: &Value, key: &[u8; 32]) -> ResourceInstanceState {
        let (attributes, sensitive_fingerprints) = codec::encode(value, schema, key);
        ResourceInstanceState {
            type_name: self.type_name.clone(),
            provider: self.provider.clone(),
            attributes: attributes.into(),
            sensitive_fingerprints,
            dependencies: self.dependencies.clone(),
            create_before_destroy: self.create_before_destroy,
            tainted: false,
            deposed: None,
        }
    }
}

/// A difference between what state recorded and what the provider reads now.
#[derive(Clone, Debug, PartialEq)]
pub struct Drift {
    pub addr: InstanceAddr,
    pub type_name: String,
    pub provider: String,
    /// Update (changed) or Delete (gone).
    pub action: Action,
    pub before: Value,
    /// None when the object no longer exists.
    pub after: Option<Value>,
    pub changed_paths: Vec<AttrPath>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct OutputChange {
    pub name: String,
    pub action: Action,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub sensitive: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanMode {
    Normal,
    Destroy,
    RefreshOnly,
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub mode: PlanMode,
    /// The state the plan was made against (as stored, before refresh).
    pub lineage: String,
    pub serial: u64,
    /// Hash of every configuration file and module; applying a saved plan checks it.
    pub config_hash: String,
    /// Non-sensitive root variable values, as given.
    pub variables: BTreeMap<String, Value>,
    /// Names of sensitive variables: their values are not saved and must be given again.
    pub sensitive_variables: Vec<String>,
    pub changes: Vec<ResourceChange>,
    pub drift: Vec<Drift>,
    pub output_changes: Vec<OutputChange>,
    /// Check results that could be decided at plan time.
    pub checks: Vec<CheckResult>,
    /// The refreshed prior state that the changes start from.
    pub prior_state: State,
    pub targets: Vec<String>,
    pub warnings: Vec<String>,
    /// When the plan was made: what `plantimestamp()` returned in it. `None` for `validate`,
    /// and for plan files written before it was recorded (format 2).
    pub plan_time: Option<chrono::DateTime<chrono::Utc>>,
}

impl Plan {
    /// Changes that do something (not no-op / read).
    pub fn actionable(&self) -> impl Iterator<Item = &ResourceChange> {
        self.changes.iter().filter(|c| !matches!(c.action, Action::NoOp | Action::Read))
    }
    pub fn has_changes(&self) -> bool {
        self.actionable().next().is_some()
            || self.changes.iter().any(|c| c.importing.is_some() || c.previous_addr.is_some())
            || self.output_changes.iter().any(|o| o.action != Action::NoOp)
            || (self.mode == PlanMode::RefreshOnly && !self.drift.is_empty())
    }
    /// (add, change, destroy, import) counts, as Terraform's summary line counts them.
    pub fn counts(&self) -> PlanCounts {
        let mut c = PlanCounts::default();
        for ch in &self.changes {
            match ch.action {
                Action::Create => c.add += 1,
                Action::Update => c.change += 1,
                Action::Delete => c.destroy += 1,
                Action::DeleteThenCreate | Action::CreateThenDelete => {
                    c.add += 1;
                    c.destroy += 1
                }
                Action::Forget => c.forget += 1,
                Action::NoOp | Action::Read => {}
            }
            if ch.importing.is_some() {
                c.import += 1;
            }
        }
        c
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PlanCounts {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    pub import: usize,
    pub forget: usize,
}

/// A value as it may be written to disk: sensitive parts removed, unknown and sensitive
/// positions recorded beside it (Terraform's `after_unknown` / `after_sensitive`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WireValue {
    pub value: serde_json::Value,
    #[serde(default, skip_serializing_if = "is_false")]
    pub unknown: serde_json::Value,
    #[serde(default, skip_serializing_if = "is_false")]
    pub sensitive: serde_json::Value,
    /// Keyed fingerprints of what sits at sensitive positions, by attribute path (saved plans
    /// only, see [`WireValue::fingerprinted`]): `--reviewed-plan` tells a changed secret from
    /// the same one without either plan holding it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fingerprints: BTreeMap<String, String>,
}

fn is_false(v: &serde_json::Value) -> bool {
    matches!(v, serde_json::Value::Bool(false) | serde_json::Value::Null)
        || matches!(v, serde_json::Value::Object(m) if m.is_empty())
        || matches!(v, serde_json::Value::Array(a) if a.is_empty())
}

impl WireValue {
    pub fn from_value(v: &Value) -> WireValue {
        WireValue {
            value: v.to_json_redacted(),
            unknown: v.mark_shape(&|v| v.is_unknown() && !v.is_sensitive()),
            sensitive: v.mark_shape(&is_withheld),
            fingerprints: BTreeMap::new(),
        }
    }

    /// [`WireValue::from_value`], with each sensitive position's content fingerprinted by
    /// `fingerprint` (a secret already withheld keeps the fingerprint it carries; an unknown
    /// secret has none).
    pub fn fingerprinted(v: &Value, fingerprint: &dyn Fn(&Value) -> String) -> WireValue {
        fn walk(v: &Value, path: &AttrPath, fp: &dyn Fn(&Value) -> String, out: &mut BTreeMap<String, String>) {
            if is_withheld(v) {
                match v.peel() {
                    Value::Unknown(Unknown::Withheld { fingerprint: Some(f) }) => {
                        out.insert(path.to_string(), f.clone());
                    }
                    Value::Unknown(_) => {}
                    _ => {
                        out.insert(path.to_string(), fp(v));
                    }
                }
                return;
            }
            match v {
                Value::List(xs) | Value::Set(xs) => {
                    for (i, x) in xs.iter().enumerate() {
                        walk(x, &path.join_index(i64::try_from(i).unwrap_or(i64::MAX)), fp, out);
                    }
                }
                Value::Map(m) => {
                    for (k, x) in m.iter() {
                        walk(x, &path.join_attr(k), fp, out);
                    }
                }
                _ => {}
            }
        }
        let mut wire = WireValue::from_value(v);
        walk(v, &AttrPath::root(), fingerprint, &mut wire.fingerprints);
        wire
    }
    /// Rebuilds a value; sensitive positions come back as withheld (their content was never
    /// written).
    pub fn to_value(&self) -> Value {
        let withheld = |path: &AttrPath| {
            Value::Unknown(Unknown::Withheld { fingerprint: self.fingerprints.get(&path.to_string()).cloned() })
                .sensitive()
        };
        fn rebuild(
            v: &serde_json::Value,
            unk: &serde_json::Value,
            sens: &serde_json::Value,
            path: &AttrPath,
            withheld: &dyn Fn(&AttrPath) -> Value,
        ) -> Value {
            if sens == &serde_json::Value::Bool(true) {
                return withheld(path);
            }
            if unk == &serde_json::Value::Bool(true) {
                return Value::unknown();
            }
            match v {
                serde_json::Value::Array(xs) => Value::List(
                    xs.iter()
                        .enumerate()
                        .map(|(i, x)| {
                            rebuild(
                                x,
                                unk.get(i).unwrap_or(&serde_json::Value::Null),
                                sens.get(i).unwrap_or(&serde_json::Value::Null),
                                &path.join_index(i64::try_from(i).unwrap_or(i64::MAX)),
                                withheld,
                            )
                        })
                        .collect(),
                ),
                serde_json::Value::Object(m) => {
                    let mut out: BTreeMap<String, Value> = m
                        .iter()
                        .map(|(k, x)| {
                            (
                                k.clone(),
                                rebuild(
                                    x,
                                    unk.get(k).unwrap_or(&serde_json::Value::Null),
                                    sens.get(k).unwrap_or(&serde_json::Value::Null),
                                    &path.join_attr(k),
                                    withheld,
                                ),
                            )
                        })
                        .collect();
                    // Keys that were entirely unknown/sensitive may be missing from `value`.
                    for (marks, make) in [(unk, false), (sens, true)] {
                        if let serde_json::Value::Object(mm) = marks {
                            for (k, mv) in mm {
                                if mv == &serde_json::Value::Bool(true) && !out.contains_key(k) {
                                    out.insert(
                                        k.clone(),
                                        if make { withheld(&path.join_attr(k)) } else { Value::unknown() },
                                    );
                                }
                            }
                        }
                    }
                    Value::object(out)
                }
                other => Value::from_json(other),
            }
        }
        rebuild(&self.value, &self.unknown, &self.sensitive, &AttrPath::root(), &withheld)
    }
}

/// A position whose content a saved plan does not hold.
fn is_withheld(v: &Value) -> bool {
    v.is_sensitive() || matches!(v, Value::Unknown(Unknown::Withheld { .. }))
}
