//! Terraform's machine-readable plan (`terraform show -json`, format 1.2).
//!
//! Policy engines (OPA/conftest, Sentinel-style checks) and cost estimators read
//! `resource_changes[*].change.{actions,before,after,after_unknown}`, `planned_values` and
//! `prior_state`; keeping Terraform's shapes lets them read Cairn's plans unchanged. One
//! deliberate difference: sensitive values are `null` here (their positions are in
//! `*_sensitive`), where Terraform writes them out in plain text.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value as Json};

use super::key_json;
use crate::addr::{AttrPath, InstanceAddr, ModulePath, PathStep};
use crate::lang::config::ResourceMode;
use crate::lang::value::{Unknown, Value};
use crate::plan::{Action, Plan};
use crate::state::{CheckResult, CheckStatus, State};

pub const PLAN_FORMAT_VERSION: &str = "1.2";
const STATE_FORMAT_VERSION: &str = "1.0";

fn cairn_version() -> String {
    format!("cairn {}", env!("CARGO_PKG_VERSION"))
}

fn timestamp() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// `registry.terraform.io/hashicorp/google` for a configuration key (`google`,
/// `google.other`): Terraform's `provider_name` is the provider, not the configuration.
pub fn provider_name(provider: &str) -> String {
    crate::addr::ProviderConfigAddr::parse(provider).source_address()
}

fn is_pending(v: &Value) -> bool {
    matches!(v.peel(), Value::Unknown(Unknown::Pending))
}

fn is_secret(v: &Value) -> bool {
    v.is_sensitive() || matches!(v, Value::Unknown(Unknown::Withheld { .. }))
}

/// A value as Terraform writes `before`/`after`: unknown object attributes omitted, unknown list
/// elements null (positions correlate with `after_unknown`), sensitive parts null.
pub(crate) fn known_json(v: &Value) -> Json {
    match v {
        Value::Sensitive(_) | Value::Unknown(_) => Json::Null,
        Value::List(xs) | Value::Set(xs) => Json::Array(xs.iter().map(known_json).collect()),
        Value::Map(m) => {
            Json::Object(m.iter().filter(|(_, x)| !is_pending(x)).map(|(k, x)| (k.clone(), known_json(x))).collect())
        }
        other => other.to_json_redacted(),
    }
}

fn unknown_shape(v: &Value) -> Json {
    v.mark_shape(&is_pending)
}

fn sensitive_shape(v: &Value) -> Json {
    v.mark_shape(&is_secret)
}

fn mode_str(addr: &InstanceAddr) -> &'static str {
    match addr.resource.mode {
        ResourceMode::Managed => "managed",
        ResourceMode::Data => "data",
    }
}

/// The fields every resource object shares: address, module_address, mode, type, name, index.
fn resource_head(
    obj: &mut Map<String, Json>,
    addr: &InstanceAddr,
    previous: Option<&InstanceAddr>,
    type_name: &str,
    with_module: bool,
) {
    obj.insert("address".into(), addr.to_string().into());
    if let Some(prev) = previous {
        obj.insert("previous_address".into(), prev.to_string().into());
    }
    if with_module && !addr.resource.module.is_root() {
        obj.insert("module_address".into(), addr.resource.module.to_string().into());
    }
    obj.insert("mode".into(), mode_str(addr).into());
    obj.insert("type".into(), type_name.into());
    obj.insert("name".into(), addr.resource.name.clone().into());
    if let Some(index) = key_json(&addr.key) {
        obj.insert("index".into(), index);
    }
}

/// Terraform's change object.
/// `absent_unknown` is what `after_unknown` says when there is no after value: `{}` for
/// resources, `false` for outputs (Terraform's own asymmetry).
fn change_json(
    action: Action,
    before: Option<&Value>,
    after: Option<&Value>,
    absent_unknown: Json,
    replace_paths: &[AttrPath],
    importing: Option<&Value>,
) -> Json {
    let mut change = Map::new();
    change.insert("actions".into(), json!(action.terraform_actions()));
    change.insert("before".into(), before.map(known_json).unwrap_or(Json::Null));
    change.insert("after".into(), after.map(known_json).unwrap_or(Json::Null));
    change.insert("after_unknown".into(), after.map(unknown_shape).unwrap_or(absent_unknown));
    change.insert("before_sensitive".into(), before.map(sensitive_shape).unwrap_or(Json::Bool(false)));
    change.insert("after_sensitive".into(), after.map(sensitive_shape).unwrap_or(Json::Bool(false)));
    if !replace_paths.is_empty() {
        change.insert("replace_paths".into(), Json::Array(replace_paths.iter().map(path_json).collect()));
    }
    // A secret id is left out, flagged the way Terraform flags sensitive values.
    match importing {
        Some(id) if id.contains_sensitive() => {
            change.insert("importing".into(), json!({ "id": null, "id_sensitive": true }));
        }
        Some(id) => {
            change.insert("importing".into(), json!({ "id": id.as_str() }));
        }
        None => {}
    }
    Json::Object(change)
}

/// `settings[0].tier` → `["settings", 0, "tier"]`.
pub(crate) fn path_json(p: &AttrPath) -> Json {
    Json::Array(
        p.0.iter()
            .map(|s| match s {
                PathStep::Attr(a) => Json::String(a.clone()),
                PathStep::Index(i) => Json::from(*i),
            })
            .collect(),
    )
}

fn resource_changes(plan: &Plan) -> Json {
    let mut changes: Vec<_> = plan.changes.iter().collect();
    changes.sort_by_cached_key(|c| c.addr.to_string());
    Json::Array(
        changes
            .into_iter()
            .map(|c| {
                let mut obj = Map::new();
                resource_head(&mut obj, &c.addr, c.previous_addr.as_ref(), &c.type_name, true);
                obj.insert("provider_name".into(), provider_name(&c.provider).into());
                obj.insert(
                    "change".into(),
                    change_json(
                        c.action,
                        c.before.as_ref(),
                        c.after.as_ref(),
                        json!({}),
                        &c.replace_paths,
                        c.importing.as_ref(),
                    ),
                );
                if let Some(reason) = c.reason {
                    if let Ok(r) = serde_json::to_value(reason) {
                        obj.insert("action_reason".into(), r);
                    }
                }
                Json::Object(obj)
            })
            .collect(),
    )
}

fn resource_drift(plan: &Plan) -> Json {
    let mut drift: Vec<_> = plan.drift.iter().collect();
    drift.sort_by_cached_key(|d| d.addr.to_string());
    Json::Array(
        drift
            .into_iter()
            .map(|d| {
                let mut obj = Map::new();
                resource_head(&mut obj, &d.addr, None, &d.type_name, true);
                obj.insert("provider_name".into(), provider_name(&d.provider).into());
                let action = if d.after.is_none() { Action::Delete } else { Action::Update };
                obj.insert(
                    "change".into(),
                    change_json(action, Some(&d.before), d.after.as_ref(), json!({}), &[], None),
                );
                Json::Object(obj)
            })
            .collect(),
    )
}

/// Groups resource objects into Terraform's `root_module` / nested `child_modules` tree.
fn module_tree(resources: Vec<(ModulePath, Json)>) -> Json {
    let mut by_module: BTreeMap<ModulePath, Vec<Json>> = BTreeMap::new();
    for (m, r) in resources {
        by_module.entry(m).or_default().push(r);
    }
    fn build(module: &ModulePath, by_module: &BTreeMap<ModulePath, Vec<Json>>) -> Map<String, Json> {
        let mut obj = Map::new();
        if !module.is_root() {
            obj.insert("address".into(), module.to_string().into());
        }
        let resources = by_module.get(module).cloned().unwrap_or_default();
        if module.is_root() || !resources.is_empty() {
            obj.insert("resources".into(), Json::Array(resources));
        }
        let depth = module.0.len();
        let mut children: Vec<ModulePath> = by_module
            .keys()
            .filter(|m| m.0.len() > depth && m.starts_with(module))
            .map(|m| ModulePath(m.0[..=depth].to_vec()))
            .collect();
        children.dedup();
        if !children.is_empty() {
            obj.insert(
                "child_modules".into(),
                Json::Array(children.iter().map(|c| Json::Object(build(c, by_module))).collect()),
            );
        }
        obj
    }
    Json::Object(build(&ModulePath::root(), &by_module))
}

fn planned_values(plan: &Plan) -> Json {
    let mut resources: Vec<_> = plan
        .changes
        .iter()
        .filter(|c| !matches!(c.action, Action::Delete))
        .filter_map(|c| c.after.as_ref().map(|after| (c, after)))
        .collect();
    resources.sort_by(|(a, _), (b, _)| a.addr.cmp(&b.addr));
    let resources = resources
        .into_iter()
        .map(|(c, after)| {
            let mut obj = Map::new();
            resource_head(&mut obj, &c.addr, None, &c.type_name, false);
            obj.insert("provider_name".into(), provider_name(&c.provider).into());
            obj.insert("schema_version".into(), 0.into());
            obj.insert("values".into(), known_json(after));
            obj.insert("sensitive_values".into(), sensitive_shape(after));
            (c.addr.resource.module.clone(), Json::Object(obj))
        })
        .collect();
    let mut outputs = Map::new();
    let mut sorted: Vec<_> = plan.output_changes.iter().filter(|o| o.action != Action::Delete).collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    for o in sorted {
        let Some(after) = &o.after else { continue };
        let sensitive = o.sensitive || after.contains_sensitive();
        let mut obj = Map::new();
        obj.insert("sensitive".into(), sensitive.into());
        if !o.sensitive && after.is_wholly_known() {
            obj.insert("value".into(), known_json(after));
        }
        outputs.insert(o.name.clone(), Json::Object(obj));
    }
    json!({ "outputs": outputs, "root_module": module_tree(resources) })
}

fn output_changes(plan: &Plan) -> Json {
    let mut sorted: Vec<_> = plan.output_changes.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out = Map::new();
    for o in sorted {
        let before = o.before.clone().map(|v| v.mark_if(o.sensitive));
        let after = o.after.clone().map(|v| v.mark_if(o.sensitive));
        out.insert(
            o.name.clone(),
            change_json(o.action, before.as_ref(), after.as_ref(), Json::Bool(false), &[], None),
        );
    }
    Json::Object(out)
}

/// Terraform's `sensitive_values` shape from state's fingerprinted paths.
fn sensitive_paths_shape(paths: impl Iterator<Item = AttrPath>) -> Json {
    fn insert(node: &mut Json, steps: &[PathStep]) {
        let Some((first, rest)) = steps.split_first() else { return };
        let leaf = rest.is_empty();
        match first {
            PathStep::Attr(a) => {
                if !node.is_object() {
                    *node = json!({});
                }
                if let Json::Object(m) = node {
                    let child = m.entry(a.clone()).or_insert(Json::Bool(false));
                    if leaf {
                        *child = Json::Bool(true)
                    } else {
                        insert(child, rest)
                    }
                }
            }
            PathStep::Index(i) => {
                let Ok(i) = usize::try_from(*i) else { return };
                if !node.is_array() {
                    *node = json!([]);
                }
                if let Json::Array(xs) = node {
                    if xs.len() <= i {
                        xs.resize(i + 1, Json::Bool(false));
                    }
                    if leaf {
                        xs[i] = Json::Bool(true)
                    } else {
                        insert(&mut xs[i], rest)
                    }
                }
            }
        }
    }
    let mut root = json!({});
    for p in paths {
        insert(&mut root, &p.0);
    }
    root
}

/// `cairn show -json` without a plan file: Terraform's state representation (only the format
/// version when there is no state yet).
pub fn state_json(state: Option<&State>) -> Json {
    match state {
        Some(state) => prior_state(state),
        None => json!({ "format_version": STATE_FORMAT_VERSION }),
    }
}

fn prior_state(state: &State) -> Json {
    let resources = state
        .resources
        .iter()
        .map(|(addr, r)| {
            let mut obj = Map::new();
            resource_head(&mut obj, addr, None, &r.type_name, false);
            obj.insert("provider_name".into(), provider_name(&r.provider).into());
            obj.insert("schema_version".into(), 0.into());
            obj.insert("values".into(), (*r.attributes).clone());
            obj.insert(
                "sensitive_values".into(),
                sensitive_paths_shape(r.sensitive_fingerprints.keys().filter_map(|p| AttrPath::parse(p))),
            );
            if !r.dependencies.is_empty() {
                obj.insert(
                    "depends_on".into(),
                    json!(r.dependencies.iter().map(|d| d.to_string()).collect::<Vec<_>>()),
                );
            }
            if r.tainted {
                obj.insert("tainted".into(), true.into());
            }
            if let Some(key) = &r.deposed {
                obj.insert("deposed_key".into(), key.clone().into());
            }
            (addr.resource.module.clone(), Json::Object(obj))
        })
        .collect();
    let outputs: Map<String, Json> = state
        .outputs
        .iter()
        .map(|(name, o)| {
            let mut obj = Map::new();
            obj.insert("sensitive".into(), o.sensitive.into());
            if !o.sensitive {
                obj.insert("value".into(), o.value.clone());
            }
            (name.clone(), Json::Object(obj))
        })
        .collect();
    json!({
        "format_version": STATE_FORMAT_VERSION,
        "terraform_version": crate::version::TERRAFORM_LANGUAGE_VERSION,
        "values": { "outputs": outputs, "root_module": module_tree(resources) },
    })
}

fn status_str(s: &CheckStatus) -> &'static str {
    match s {
        CheckStatus::Pass => "pass",
        CheckStatus::Fail => "fail",
        CheckStatus::Unknown => "unknown",
    }
}

/// Splits `module.db.check.backups` into (`module.db`, `backups`).
fn split_check_address(address: &str) -> (Option<&str>, &str) {
    if let Some(name) = address.strip_prefix("check.") {
        return (None, name);
    }
    match address.rfind(".check.") {
        Some(i) => (Some(&address[..i]), &address[i + ".check.".len()..]),
        None => (None, address),
    }
}

/// Terraform's `checks` representation: one object per check block with its instances.
fn checks_array(results: &[CheckResult]) -> Json {
    Json::Array(
        results
            .iter()
            .map(|r| {
                let (module, name) = split_check_address(&r.address);
                let mut address = Map::new();
                address.insert("kind".into(), "check".into());
                if let Some(m) = module {
                    address.insert("module".into(), m.into());
                }
                address.insert("name".into(), name.into());
                address.insert("to_display".into(), r.address.clone().into());
                let mut instance_address = Map::new();
                if let Some(m) = module {
                    instance_address.insert("module".into(), m.into());
                }
                instance_address.insert("to_display".into(), r.address.clone().into());
                let mut instance = Map::new();
                instance.insert("address".into(), Json::Object(instance_address));
                instance.insert("status".into(), status_str(&r.status).into());
                if !r.messages.is_empty() {
                    instance.insert(
                        "problems".into(),
                        Json::Array(r.messages.iter().map(|m| json!({ "message": m })).collect()),
                    );
                }
                json!({
                    "address": address,
                    "status": status_str(&r.status),
                    "instances": [instance],
                })
            })
            .collect(),
    )
}

/// The plan in Terraform's JSON plan representation.
pub fn plan_json(plan: &Plan) -> Json {
    let mut doc = Map::new();
    doc.insert("format_version".into(), PLAN_FORMAT_VERSION.into());
    doc.insert("terraform_version".into(), crate::version::TERRAFORM_LANGUAGE_VERSION.into());
    doc.insert("cairn_version".into(), cairn_version().into());
    let variables: Map<String, Json> = plan
        .variables
        .iter()
        .filter(|(name, v)| !plan.sensitive_variables.contains(name) && !v.is_sensitive())
        .map(|(name, v)| (name.clone(), json!({ "value": known_json(v) })))
        .collect();
    doc.insert("variables".into(), Json::Object(variables));
    doc.insert("planned_values".into(), planned_values(plan));
    doc.insert("resource_drift".into(), resource_drift(plan));
    doc.insert("resource_changes".into(), resource_changes(plan));
    doc.insert("output_changes".into(), output_changes(plan));
    if !plan.prior_state.resources.is_empty() || !plan.prior_state.outputs.is_empty() {
        doc.insert("prior_state".into(), prior_state(&plan.prior_state));
    }
    if !plan.checks.is_empty() {
        doc.insert("checks".into(), checks_array(&plan.checks));
    }
    doc.insert("timestamp".into(), timestamp().into());
    doc.insert("applyable".into(), plan.has_changes().into());
    doc.insert("complete".into(), plan.targets.is_empty().into());
    doc.insert("errored".into(), false.into());
    Json::Object(doc)
}

/// `cairn drift --json`: Terraform's `resource_drift` array with a version header.
pub fn drift_json(plan: &Plan) -> Json {
    json!({
        "format_version": PLAN_FORMAT_VERSION,
        "terraform_version": crate::version::TERRAFORM_LANGUAGE_VERSION,
        "cairn_version": cairn_version(),
        "drifted": !plan.drift.is_empty(),
        "resource_drift": resource_drift(plan),
        "timestamp": timestamp(),
    })
}

/// `cairn check --json`: Terraform's `checks` array plus counts.
pub fn checks_json(results: &[CheckResult]) -> Json {
    let (pass, fail, unknown) = super::check_counts(results);
    json!({
        "format_version": PLAN_FORMAT_VERSION,
        "cairn_version": cairn_version(),
        "checks": checks_array(results),
        "summary": { "pass": pass, "fail": fail, "unknown": unknown },
        "timestamp": timestamp(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    /// Fields that change from run to run or release to release.
    fn stable(mut doc: Json) -> Json {
        if let Json::Object(m) = &mut doc {
            for (k, v) in [("timestamp", "<timestamp>"), ("cairn_version", "<cairn_version>")] {
                if m.contains_key(k) {
                    m.insert(k.into(), v.into());
                }
            }
        }
        doc
    }

    #[test]
    fn replace_has_terraform_shape() {
        let doc = plan_json(&plan_with(vec![replace_sql_instance()]));
        let rc = &doc["resource_changes"][0];
        assert_eq!(rc["address"], "module.data.google_sql_database_instance.db");
        assert_eq!(rc["module_address"], "module.data");
        assert_eq!(rc["mode"], "managed");
        assert_eq!(rc["provider_name"], "registry.terraform.io/hashicorp/google");
        assert_eq!(rc["change"]["actions"], json!(["delete", "create"]));
        assert_eq!(rc["change"]["replace_paths"], json!([["settings", 0, "tier"]]));
        assert_eq!(rc["change"]["after_unknown"], json!({"id": true}));
        assert_eq!(rc["change"]["after_sensitive"], json!({"root_password": true}));
        assert_eq!(rc["change"]["before_sensitive"], json!({"root_password": true}));
        assert_eq!(rc["change"]["after"]["root_password"], Json::Null);
        assert!(rc["change"]["after"].get("id").is_none(), "unknown attributes are omitted from after");
        assert_eq!(rc["action_reason"], "replace_because_cannot_update");
        assert_eq!(doc["format_version"], "1.2");
        assert_eq!(doc["terraform_version"], crate::version::TERRAFORM_LANGUAGE_VERSION);
        assert_eq!(doc["errored"], false);
        assert!(doc["cairn_version"].as_str().is_some_and(|v| v.starts_with("cairn ")));
    }

    #[test]
    fn create_and_delete_sides() {
        let doc = plan_json(&plan_with(vec![create_sql_instance(), delete_each_key()]));
        let create = &doc["resource_changes"][1];
        assert_eq!(create["change"]["actions"], json!(["create"]));
        assert_eq!(create["change"]["before"], Json::Null);
        assert_eq!(create["change"]["before_sensitive"], false);
        assert_eq!(create["change"]["after_unknown"], json!({"connection_name": true, "id": true}));
        let delete = &doc["resource_changes"][0];
        assert_eq!(delete["index"], "b");
        assert_eq!(delete["change"]["after_unknown"], json!({}));
        assert_eq!(delete["change"]["after_sensitive"], false);
        assert_eq!(delete["action_reason"], "delete_because_each_key");
    }

    #[test]
    fn planned_values_nest_modules() {
        let doc = plan_json(&plan_with(vec![create_sql_instance(), replace_sql_instance(), delete_no_config()]));
        let root = &doc["planned_values"]["root_module"];
        assert_eq!(root["resources"][0]["address"], "google_sql_database_instance.main");
        assert_eq!(root["resources"].as_array().map(Vec::len), Some(1), "deleted resources are not planned values");
        assert_eq!(root["child_modules"][0]["address"], "module.data");
        assert_eq!(root["child_modules"][0]["resources"][0]["name"], "db");
        assert_eq!(doc["variables"], json!({"region": {"value": "europe-west1"}}));
    }

    #[test]
    fn checks_in_terraform_shape() {
        let doc = checks_json(&checks());
        assert_eq!(
            doc["checks"][1]["address"],
            json!({"kind": "check", "module": "module.db", "name": "backups", "to_display": "module.db.check.backups"})
        );
        assert_eq!(doc["checks"][1]["status"], "fail");
        assert_eq!(doc["checks"][1]["instances"][0]["problems"][0]["message"], "Backups are disabled on db | main.");
        assert_eq!(doc["summary"], json!({"pass": 1, "fail": 1, "unknown": 1}));
    }

    #[test]
    fn full_plan_snapshot() {
        let mut plan = plan_with(vec![
            create_sql_instance(),
            update_bucket(),
            replace_sql_instance(),
            delete_count_index(),
            import_update(),
            moved_update(),
        ]);
        plan.drift = vec![drift_changed(), drift_deleted()];
        plan.output_changes = outputs();
        plan.checks = checks();
        insta::assert_json_snapshot!(stable(plan_json(&plan)));
    }

    #[test]
    fn drift_snapshot() {
        let mut plan = plan_with(vec![]);
        plan.drift = vec![drift_changed(), drift_deleted()];
        let doc = drift_json(&plan);
        assert_eq!(doc["resource_drift"][1]["change"]["actions"], json!(["update"]));
        assert_eq!(doc["resource_drift"][0]["change"]["actions"], json!(["delete"]));
        insta::assert_json_snapshot!(stable(doc));
    }

    #[test]
    fn sensitive_paths_become_shapes() {
        let shape = sensitive_paths_shape(["settings[1].password", "token"].into_iter().filter_map(AttrPath::parse));
        assert_eq!(shape, json!({"settings": [false, {"password": true}], "token": true}));
    }
}
