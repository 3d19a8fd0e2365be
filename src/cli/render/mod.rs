//! Everything Cairn prints about a plan, drift and checks.
//!
//! - [`text`]: Terraform's human layout (`cairn plan`, `cairn drift`, `cairn check`).
//! - [`json`]: Terraform's `terraform show -json` plan representation, so policy tools
//!   (OPA/conftest) and cost estimators written for Terraform plans read Cairn's unchanged.
//! - [`markdown`]: pull-request comments.
//!
//! No renderer ever prints the inside of a sensitive value (see `values.rs`).

pub mod health;
pub mod json;
pub mod json_ui;
pub mod markdown;
pub mod schema_json;
pub mod state;
pub mod text;
mod values;

pub use health::{health_json, health_markdown, health_text, output_takes_emoji, HealthOptions, ModuleSources};
pub use json::{checks_json, drift_json, plan_json};
pub use markdown::{checks_markdown, drift_markdown, plan_comment_markdown, plan_comment_marker, plan_markdown};
pub use text::{checks_text, drift_text, plan_text};

use crate::addr::InstanceKey;
use crate::plan::{Action, ActionReason, PlanCounts, PlanMode, ResourceChange};
use crate::state::{CheckResult, CheckStatus};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RenderOptions {
    /// ANSI colours (green `+`, yellow `~`, red `-`, bold headers).
    pub color: bool,
}

/// Terraform's summary line: `Plan: 1 to add, 2 to change, 0 to destroy.`, with imports first.
pub fn summary_line(counts: PlanCounts) -> String {
    let PlanCounts { add, change, destroy, import, forget } = counts;
    let forget = if forget > 0 { format!(", {forget} to forget") } else { String::new() };
    if import > 0 {
        format!("Plan: {import} to import, {add} to add, {change} to change, {destroy} to destroy{forget}.")
    } else {
        format!("Plan: {add} to add, {change} to change, {destroy} to destroy{forget}.")
    }
}

/// The "no changes" sentence for a plan mode.
pub(crate) fn no_changes_line(mode: PlanMode) -> &'static str {
    match mode {
        PlanMode::Normal => "No changes. Your infrastructure matches the configuration.",
        PlanMode::Destroy => "No changes. No objects need to be destroyed.",
        PlanMode::RefreshOnly => "No changes. Your infrastructure still matches the configuration.",
    }
}

/// Resource changes worth showing: anything that acts, plus no-op imports and moves.
pub(crate) fn shown_changes(changes: &[ResourceChange]) -> Vec<&ResourceChange> {
    let mut shown: Vec<&ResourceChange> = changes
        .iter()
        .filter(|c| c.action != Action::NoOp || c.importing.is_some() || c.previous_addr.is_some())
        .collect();
    // Terraform lists changes by address.
    shown.sort_by_cached_key(|c| c.addr.to_string());
    shown
}

/// The comment above a change (`addr will be created`), plus Terraform's reason lines.
pub(crate) fn headline(c: &ResourceChange) -> (String, Vec<String>) {
    let mut reasons = Vec::new();
    let what = match c.action {
        Action::Create => "will be created".to_string(),
        Action::Read => "will be read during apply".to_string(),
        Action::NoOp if c.importing.is_some() => "will be imported".to_string(),
        Action::NoOp => match &c.previous_addr {
            Some(prev) => return (format!("{prev} has moved to {}", c.addr), reasons),
            // Not shown by the text plan; worded for completeness.
            None => "has no changes".to_string(),
        },
        Action::Update if c.importing.is_some() => "will be imported and updated".to_string(),
        Action::Update => "will be updated in-place".to_string(),
        Action::DeleteThenCreate | Action::CreateThenDelete => match c.reason {
            Some(ActionReason::ReplaceBecauseTainted) => "is tainted, so must be replaced".to_string(),
            Some(ActionReason::ReplaceByRequest) => "will be replaced, as requested".to_string(),
            Some(ActionReason::ReplaceByTriggers) => {
                "will be replaced due to changes in replace_triggered_by".to_string()
            }
            _ => "must be replaced".to_string(),
        },
        Action::Delete => "will be destroyed".to_string(),
        Action::Forget => "will no longer be managed by Cairn".to_string(),
    };
    let what = format!("{} {what}", c.addr);
    if let Some(why) = delete_reason(c) {
        reasons.push(format!("(because {why})"));
    }
    match c.reason {
        Some(ActionReason::ReadBecauseConfigUnknown) => reasons.push("(config refers to values not yet known)".into()),
        Some(ActionReason::ReadBecauseDependencyPending) => {
            reasons.push("(depends on a resource or a module with changes pending)".into())
        }
        _ => {}
    }
    if let Some(id) = &c.importing {
        reasons.push(format!("(imported from {})", import_id_text(id)));
    }
    if let Some(prev) = &c.previous_addr {
        reasons.push(format!("(moved from {prev})"));
    }
    (what, reasons)
}

/// An import id as the plan quotes it: `"projects/p/topics/t"`, or `(sensitive value)` when the
/// id was computed from a secret.
pub(crate) fn import_id_text(id: &crate::lang::value::Value) -> String {
    match id.as_str() {
        Some(s) if !id.contains_sensitive() => serde_json::Value::String(s.to_string()).to_string(),
        _ => "(sensitive value)".to_string(),
    }
}

/// Why an instance is deleted, in Terraform's words (`random_id.x is not in configuration`).
pub(crate) fn delete_reason(c: &ResourceChange) -> Option<String> {
    if c.action != Action::Delete {
        return None;
    }
    match c.reason? {
        ActionReason::DeleteBecauseNoResourceConfig => Some(format!("{} is not in configuration", c.addr.resource)),
        ActionReason::DeleteBecauseCountIndex => Some(format!("index {} is out of range for count", c.addr.key)),
        ActionReason::DeleteBecauseEachKey => Some(format!("key {} is not in for_each map", c.addr.key)),
        ActionReason::DeleteBecauseNoModule => {
            let module = &c.addr.resource.module;
            if module.is_root() {
                Some(format!("{} is not in configuration", c.addr.resource))
            } else {
                Some(format!("{module} is not in configuration"))
            }
        }
        _ => None,
    }
}

/// `pass` / `fail` / `unknown` counts.
pub(crate) fn check_counts(results: &[CheckResult]) -> (usize, usize, usize) {
    let count = |s: CheckStatus| results.iter().filter(|r| r.status == s).count();
    (count(CheckStatus::Pass), count(CheckStatus::Fail), count(CheckStatus::Unknown))
}

pub(crate) fn checks_summary(results: &[CheckResult]) -> String {
    let (pass, fail, unknown) = check_counts(results);
    format!("Checks: {pass} passed, {fail} failed, {unknown} unknown.")
}

pub(crate) fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The JSON `index` of an instance key.
pub(crate) fn key_json(key: &InstanceKey) -> Option<serde_json::Value> {
    match key {
        InstanceKey::None => None,
        InstanceKey::Int(i) => Some((*i).into()),
        InstanceKey::Str(s) => Some(s.clone().into()),
    }
}

/// Hand-built plans shared by the renderers' tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use std::collections::BTreeMap;

    use crate::addr::{AnyAddr, AttrPath, InstanceAddr};
    use crate::lang::value::{Unknown, Value};
    use crate::plan::{Action, ActionReason, Drift, OutputChange, Plan, PlanMode, ResourceChange};
    use crate::state::{CheckResult, CheckStatus, OutputState, ResourceInstanceState, State};

    pub const SECRET: &str = "SUPERSECRET-123";

    pub fn addr(s: &str) -> InstanceAddr {
        match s.parse::<AnyAddr>() {
            Ok(AnyAddr::Instance(i)) => i,
            Ok(AnyAddr::Resource(r)) => r.instance(crate::addr::InstanceKey::None),
            other => panic!("test address {s}: {other:?}"),
        }
    }

    pub fn path(s: &str) -> AttrPath {
        AttrPath::parse(s).unwrap_or_else(|| panic!("test path {s}"))
    }

    fn list(items: Vec<Value>) -> Value {
        Value::List(items)
    }

    fn strs(items: &[&str]) -> Value {
        Value::List(items.iter().map(|s| Value::string(*s)).collect())
    }

    fn secret() -> Value {
        Value::string(SECRET).sensitive()
    }

    pub fn change(a: &str, action: Action, before: Option<Value>, after: Option<Value>) -> ResourceChange {
        let addr = addr(a);
        let type_name = addr.resource.type_name.clone();
        let provider = type_name.split('_').next().unwrap_or("google").to_string();
        ResourceChange {
            addr,
            previous_addr: None,
            type_name,
            provider,
            action,
            reason: None,
            before,
            after,
            changed_paths: vec![],
            replace_paths: vec![],
            importing: None,
            dependencies: vec![].into(),
            create_before_destroy: false,
            warnings: vec![],
        }
    }

    pub fn create_sql_instance() -> ResourceChange {
        let after = Value::map([
            ("id", Value::unknown()),
            ("name", "main".into()),
            ("database_version", "POSTGRES_15".into()),
            ("region", "europe-west1".into()),
            ("connection_name", Value::unknown()),
            ("deletion_protection", true.into()),
            ("root_password", secret()),
            ("description", Value::Null),
            (
                "settings",
                list(vec![Value::map([
                    ("tier", "db-f1-micro".into()),
                    ("availability_type", "ZONAL".into()),
                    ("disk_size", 10.into()),
                    (
                        "user_labels",
                        Value::map([("team", "data"), ("cost-center", "42")].map(|(k, v)| (k, Value::string(v)))),
                    ),
                    (
                        "database_flags",
                        Value::set(vec![
                            Value::map(
                                [("name", "max_connections"), ("value", "100")].map(|(k, v)| (k, Value::string(v))),
                            ),
                            Value::map(
                                [("name", "log_min_duration_statement"), ("value", "250")]
                                    .map(|(k, v)| (k, Value::string(v))),
                            ),
                        ]),
                    ),
                    (
                        "ip_configuration",
                        list(vec![Value::map([
                            ("ipv4_enabled", false.into()),
                            ("private_network", "projects/p/global/networks/default".into()),
                            ("authorized_networks", list(vec![])),
                        ])]),
                    ),
                ])]),
            ),
        ]);
        change("google_sql_database_instance.main", Action::Create, None, Some(after))
    }

    fn bucket(labels: Value, origins: &[&str], class: &str) -> Value {
        Value::map([
            ("id", "assets".into()),
            ("name", "assets".into()),
            ("location", "EU".into()),
            ("storage_class", class.into()),
            ("labels", labels),
            (
                "cors",
                list(vec![Value::map([
                    ("origin", strs(origins)),
                    ("method", strs(&["GET"])),
                    ("max_age_seconds", 3600.into()),
                ])]),
            ),
            ("versioning", list(vec![Value::map([("enabled", false.into())])])),
        ])
    }

    pub fn update_bucket() -> ResourceChange {
        let before = bucket(
            Value::map([("env", "dev"), ("team", "web")].map(|(k, v)| (k, Value::string(v)))),
            &["https://a.example"],
            "STANDARD",
        );
        let after = bucket(
            Value::map([("env", "prod"), ("owner", "ops"), ("team", "web")].map(|(k, v)| (k, Value::string(v)))),
            &["https://a.example", "https://b.example"],
            "NEARLINE",
        );
        let mut c = change("google_storage_bucket.assets", Action::Update, Some(before), Some(after));
        c.changed_paths = vec![path("labels"), path("storage_class"), path("cors[0].origin")];
        c
    }

    pub fn replace_sql_instance() -> ResourceChange {
        let settings = |tier: &str| list(vec![Value::map([("tier", Value::string(tier)), ("disk_size", 10.into())])]);
        let before = Value::map([
            ("id", "db".into()),
            ("name", "db".into()),
            ("region", "europe-west1".into()),
            ("settings", settings("db-f1-micro")),
            ("root_password", Value::Unknown(Unknown::Withheld { fingerprint: Some("fp-old".into()) })),
        ]);
        let after = Value::map([
            ("id", Value::unknown()),
            ("name", "db".into()),
            ("region", "europe-west1".into()),
            ("settings", settings("db-custom-2-4096")),
            ("root_password", secret()),
        ]);
        let mut c =
            change("module.data.google_sql_database_instance.db", Action::DeleteThenCreate, Some(before), Some(after));
        c.reason = Some(ActionReason::ReplaceBecauseCannotUpdate);
        c.changed_paths = vec![path("settings[0].tier"), path("root_password")];
        c.replace_paths = vec![path("settings[0].tier")];
        c
    }

    pub fn delete_no_config() -> ResourceChange {
        let before = Value::map([("id", "abc".into()), ("byte_length", 8.into()), ("hex", "69b7".into())]);
        let mut c = change("random_id.gone", Action::Delete, Some(before), None);
        c.reason = Some(ActionReason::DeleteBecauseNoResourceConfig);
        c
    }

    pub fn delete_count_index() -> ResourceChange {
        let before = Value::map([
            ("name", "web-2".into()),
            ("machine_type", "e2-small".into()),
            ("tags", Value::set(vec!["web".into()])),
        ]);
        let mut c = change("google_compute_instance.web[2]", Action::Delete, Some(before), None);
        c.reason = Some(ActionReason::DeleteBecauseCountIndex);
        c
    }

    pub fn delete_each_key() -> ResourceChange {
        let before = Value::map([("account_id", "b".into()), ("email", "b@p.iam.gserviceaccount.com".into())]);
        let mut c = change("google_service_account.sa[\"b\"]", Action::Delete, Some(before), None);
        c.reason = Some(ActionReason::DeleteBecauseEachKey);
        c
    }

    pub fn update_startup_script() -> ResourceChange {
        let script = |pkg: &str| {
            format!("#!/bin/bash\nset -euo pipefail\napt-get update\napt-get install -y {pkg}\nsystemctl enable {pkg}\nsystemctl start {pkg}\necho ready\nlogger boot-done\nsync\nsleep 1\nexit 0\n")
        };
        let vm = |pkg: &str, tags: &[&str]| {
            Value::map([
                ("name", Value::string("vm")),
                ("machine_type", "e2-small".into()),
                ("metadata_startup_script", script(pkg).into()),
                ("tags", Value::set(tags.iter().map(|t| Value::string(*t)).collect())),
            ])
        };
        change(
            "google_compute_instance.vm",
            Action::Update,
            Some(vm("nginx", &["http", "web"])),
            Some(vm("caddy", &["https", "web"])),
        )
    }

    pub fn import_noop() -> ResourceChange {
        let v = Value::map([("id", "logs-bucket".into()), ("name", "logs-bucket".into()), ("location", "EU".into())]);
        let mut c = change("google_storage_bucket.logs", Action::NoOp, Some(v.clone()), Some(v));
        c.importing = Some("logs-bucket".into());
        c
    }

    pub fn import_update() -> ResourceChange {
        let topic = |labels: Value| {
            Value::map([("id", "projects/p/topics/events".into()), ("name", "events".into()), ("labels", labels)])
        };
        let mut c = change(
            "google_pubsub_topic.events",
            Action::Update,
            Some(topic(Value::map::<&str>([]))),
            Some(topic(Value::map([("env", Value::string("prod"))]))),
        );
        c.importing = Some("projects/p/topics/events".into());
        c
    }

    pub fn moved_noop() -> ResourceChange {
        let v = Value::map([("id", "x".into()), ("byte_length", 4.into()), ("hex", "ab".into())]);
        let mut c = change("random_id.new", Action::NoOp, Some(v.clone()), Some(v));
        c.previous_addr = Some(addr("random_id.old"));
        c
    }

    pub fn moved_update() -> ResourceChange {
        let v = |k: &str| Value::map([("id", Value::string("y")), ("keepers", Value::map([("a", Value::string(k))]))]);
        let mut c = change("random_id.x", Action::Update, Some(v("1")), Some(v("2")));
        c.previous_addr = Some(addr("module.old.random_id.x"));
        c
    }

    pub fn drift_changed() -> Drift {
        let b = |labels: Value| {
            Value::map([
                ("id", "assets".into()),
                ("name", "assets".into()),
                ("location", "EU".into()),
                ("labels", labels),
            ])
        };
        Drift {
            addr: addr("google_storage_bucket.assets"),
            type_name: "google_storage_bucket".into(),
            provider: "google".into(),
            action: Action::Update,
            before: b(Value::map([("env", Value::string("dev"))])),
            after: Some(b(Value::map([("edited", Value::string("by-hand")), ("env", Value::string("dev"))]))),
            changed_paths: vec![path("labels")],
        }
    }

    pub fn drift_deleted() -> Drift {
        Drift {
            addr: addr("google_pubsub_topic.old"),
            type_name: "google_pubsub_topic".into(),
            provider: "google".into(),
            action: Action::Delete,
            before: Value::map([("id", "projects/p/topics/old".into()), ("name", "old".into())]),
            after: None,
            changed_paths: vec![],
        }
    }

    pub fn outputs() -> Vec<OutputChange> {
        let out = |name: &str, action, before, after, sensitive| OutputChange {
            name: name.into(),
            action,
            before,
            after,
            sensitive,
        };
        vec![
            out("bucket_url", Action::Create, None, Some("gs://assets".into()), false),
            out("db_connection", Action::Create, None, Some(Value::unknown()), false),
            out("db_password", Action::Create, None, Some(Value::string(SECRET)), true),
            out("old_output", Action::Delete, Some("x".into()), None, false),
            out("subnets", Action::Update, Some(strs(&["a", "b"])), Some(strs(&["a", "c"])), false),
            out("unchanged", Action::NoOp, Some("same".into()), Some("same".into()), false),
        ]
    }

    pub fn checks() -> Vec<CheckResult> {
        vec![
            CheckResult { address: "check.health".into(), status: CheckStatus::Pass, messages: vec![] },
            CheckResult {
                address: "module.db.check.backups".into(),
                status: CheckStatus::Fail,
                messages: vec!["Backups are disabled on db | main.".into()],
            },
            CheckResult { address: "check.cert".into(), status: CheckStatus::Unknown, messages: vec![] },
        ]
    }

    pub fn prior_state() -> State {
        let mut s = State::new();
        s.lineage = "7d0c2a51-test-lineage".into();
        s.serial = 4;
        s.cairn_version = "0.0.0-test".into();
        s.resources.insert(
            addr("module.data.google_sql_database_instance.db"),
            ResourceInstanceState {
                type_name: "google_sql_database_instance".into(),
                provider: "google".into(),
                attributes: serde_json::json!({"id": "db", "name": "db", "root_password": null, "settings": [{"tier": "db-f1-micro", "disk_size": 10}]}).into(),
                sensitive_fingerprints: BTreeMap::from([("root_password".to_string(), "fp-old".to_string())]),
                dependencies: vec![addr("random_id.gone")].into(),
                create_before_destroy: false,
                tainted: false,
                deposed: None,
            },
        );
        s.resources.insert(
            addr("random_id.gone"),
            ResourceInstanceState {
                type_name: "random_id".into(),
                provider: "random".into(),
                attributes: serde_json::json!({"id": "abc", "byte_length": 8, "hex": "69b7"}).into(),
                sensitive_fingerprints: BTreeMap::new(),
                dependencies: vec![].into(),
                create_before_destroy: false,
                tainted: false,
                deposed: None,
            },
        );
        s.outputs.insert("old_output".into(), OutputState { value: "x".into(), sensitive: false });
        s.outputs.insert("db_password".into(), OutputState { value: serde_json::Value::Null, sensitive: true });
        s
    }

    pub fn plan_with(changes: Vec<ResourceChange>) -> Plan {
        Plan {
            mode: PlanMode::Normal,
            lineage: "7d0c2a51-test-lineage".into(),
            serial: 4,
            config_hash: "sha256:test".into(),
            variables: BTreeMap::from([("region".to_string(), Value::string("europe-west1"))]),
            sensitive_variables: vec!["db_password".into()],
            changes,
            drift: vec![],
            output_changes: vec![],
            checks: vec![],
            prior_state: prior_state(),
            targets: vec![],
            warnings: vec![],
            plan_time: None,
        }
    }

    /// Every fixture at once, with the secret planted in every kind of position.
    pub fn everything() -> Plan {
        let mut secret_everywhere = change(
            "google_secret_manager_secret_version.v",
            Action::Update,
            Some(Value::map([
                ("secret_data", Value::string(format!("{SECRET}-old\nline2")).sensitive()),
                ("list", list(vec!["a".into(), secret()])),
                ("set", Value::set(vec!["a".into(), secret()])),
                ("map", Value::map([("k", secret()), ("plain", "p".into())])),
                ("block", list(vec![Value::map([("inner", secret()), ("x", 1.into())])])),
                ("whole_block", list(vec![Value::map([("x", Value::string(SECRET))])]).sensitive()),
            ])),
            Some(Value::map([
                ("secret_data", Value::string(format!("{SECRET}\nline2")).sensitive()),
                ("list", list(vec!["b".into(), secret(), Value::string(format!("{SECRET}-2")).sensitive()])),
                ("set", Value::set(vec!["b".into(), Value::string(format!("{SECRET}-3")).sensitive()])),
                ("map", Value::map([("k", Value::string(format!("{SECRET}-4")).sensitive()), ("new", secret())])),
                (
                    "block",
                    list(vec![Value::map([
                        ("inner", Value::string(format!("{SECRET}-5")).sensitive()),
                        ("x", 2.into()),
                    ])]),
                ),
                ("whole_block", list(vec![Value::map([("x", Value::string(format!("{SECRET}-6")))])]).sensitive()),
                ("pending_secret", Value::unknown().sensitive()),
            ])),
        );
        secret_everywhere.changed_paths =
            vec![path("secret_data"), path("list"), path("set"), path("map"), path("block"), path("whole_block")];
        let mut plan = plan_with(vec![
            create_sql_instance(),
            update_bucket(),
            replace_sql_instance(),
            delete_no_config(),
            delete_count_index(),
            delete_each_key(),
            update_startup_script(),
            import_noop(),
            import_update(),
            moved_noop(),
            moved_update(),
            secret_everywhere,
        ]);
        let mut secret_drift = drift_changed();
        secret_drift.before = Value::map([("token", secret())]);
        secret_drift.after = Some(Value::map([("token", Value::string(format!("{SECRET}-drift")).sensitive())]));
        plan.drift = vec![drift_changed(), drift_deleted(), secret_drift];
        plan.output_changes = outputs();
        plan.output_changes.push(OutputChange {
            name: "marked_inside".into(),
            action: Action::Update,
            before: Some(Value::map([("pw", secret())])),
            after: Some(Value::map([("pw", Value::string(format!("{SECRET}-7")).sensitive())])),
            sensitive: false,
        });
        plan.variables.insert("nested".into(), Value::map([("pw", secret())]));
        plan.checks = checks();
        plan
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;

    #[test]
    fn summary_counts_imports_first() {
        let counts = PlanCounts { add: 1, change: 2, destroy: 0, import: 0, forget: 0 };
        assert_eq!(summary_line(counts), "Plan: 1 to add, 2 to change, 0 to destroy.");
        assert_eq!(
            summary_line(PlanCounts { import: 1, ..counts }),
            "Plan: 1 to import, 1 to add, 2 to change, 0 to destroy."
        );
        assert_eq!(
            summary_line(PlanCounts { forget: 2, ..counts }),
            "Plan: 1 to add, 2 to change, 0 to destroy, 2 to forget."
        );
    }

    /// The secret is planted in attributes, list/set/map elements, nested blocks, multi-line
    /// strings, drift, outputs and variables; no renderer may let its bytes out.
    #[test]
    fn no_renderer_prints_a_secret() {
        let plan = everything();
        let outputs = [
            ("plan_text", plan_text(&plan, &RenderOptions { color: false })),
            ("plan_text colour", plan_text(&plan, &RenderOptions { color: true })),
            ("drift_text", drift_text(&plan, &RenderOptions { color: false })),
            ("plan_json", plan_json(&plan).to_string()),
            ("drift_json", drift_json(&plan).to_string()),
            ("plan_markdown", plan_markdown(&plan)),
            ("drift_markdown", drift_markdown(&plan)),
        ];
        for (name, out) in &outputs {
            assert!(
                !out.as_bytes().windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
                "{name} leaked the secret:\n{out}"
            );
            assert!(!out.contains("SUPERSECRET"), "{name} leaked part of the secret:\n{out}");
        }
        // The positions are still reported, just redacted.
        assert!(outputs[0].1.contains("(sensitive value)"));
        let doc = plan_json(&plan);
        let v = doc["resource_changes"]
            .as_array()
            .and_then(|rcs| rcs.iter().find(|rc| rc["type"] == "google_secret_manager_secret_version"))
            .cloned()
            .unwrap_or_default();
        assert_eq!(v["change"]["after_sensitive"]["secret_data"], true, "{v}");
        assert_eq!(v["change"]["after_sensitive"]["list"], serde_json::json!([false, true, true]), "{v}");
    }

    #[test]
    fn headlines_follow_terraform_wording() {
        let mut c = replace_sql_instance();
        c.reason = Some(ActionReason::ReplaceBecauseTainted);
        assert_eq!(headline(&c).0, "module.data.google_sql_database_instance.db is tainted, so must be replaced");
        c.reason = Some(ActionReason::ReplaceByRequest);
        c.action = Action::CreateThenDelete;
        assert_eq!(headline(&c).0, "module.data.google_sql_database_instance.db will be replaced, as requested");
        let mut d = delete_no_config();
        d.addr = addr("module.old.random_id.gone");
        d.reason = Some(ActionReason::DeleteBecauseNoModule);
        assert_eq!(headline(&d).1, vec!["(because module.old is not in configuration)".to_string()]);
        let read = change(
            "data.google_project.p",
            Action::Read,
            None,
            Some(crate::lang::value::Value::map([("id", crate::lang::value::Value::unknown())])),
        );
        assert_eq!(headline(&read).0, "data.google_project.p will be read during apply");
        let text = plan_text(&plan_with(vec![read, c]), &RenderOptions::default());
        assert!(
            text.contains(" <= data \"google_project\" \"p\" {\n      + id = (known after apply)\n    }"),
            "{text}"
        );
        assert!(text.contains("+/- resource \"google_sql_database_instance\" \"db\" {"), "{text}");
        assert!(text.contains("+/- create replacement and then destroy\n <= read (data resources)\n"), "{text}");
    }

    #[test]
    fn other_modes_say_no_changes_their_way() {
        let mut plan = plan_with(vec![]);
        plan.mode = PlanMode::Destroy;
        assert!(plan_text(&plan, &RenderOptions::default()).starts_with("No changes. No objects need to be destroyed."));
        plan.mode = PlanMode::RefreshOnly;
        assert!(
            plan_text(&plan, &RenderOptions::default()).starts_with("No changes. Your infrastructure still matches")
        );
        plan.drift = vec![drift_changed()];
        let text = plan_text(&plan, &RenderOptions::default());
        assert!(text.contains("This is a refresh-only plan"), "{text}");
        assert!(!text.contains("No changes."), "{text}");
    }

    #[test]
    fn secret_update_reads_as_sensitive_change() {
        let plan = everything();
        let text = plan_text(&plan, &RenderOptions::default());
        assert!(text.contains("~ secret_data    = (sensitive value)"), "{text}");
        assert!(text.contains("+ db_password   = (sensitive value)"), "{text}");
    }
}
