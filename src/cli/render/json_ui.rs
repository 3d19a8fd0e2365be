//! Terraform's machine-readable UI (`plan -json`, `apply -json`, `destroy -json`): one JSON
//! object a line, each with `@level`, `@message`, `@module: "terraform.ui"`, `@timestamp` and
//! a `type` (developer.hashicorp.com/terraform/internals/machine-readable-ui, UI version 1.2),
//! so that CI tools written for Terraform's stream read Cairn's.
//!
//! The messages are made from what the text UI shows: the finished [`Plan`] (objects read
//! back, drift, planned changes, the summary, output changes), the apply's [`ApplyEvent`]s as
//! they happen (through [`JsonProgress`], a [`Progress`] sink like the text UI's), the
//! [`ApplyOutcome`], and the diagnostics. Secrets stay out as everywhere else: a sensitive
//! output's value is left out (its `sensitive` flag says why), an instance key or id is never
//! a secret (Cairn refuses sensitive keys; a sensitive `id` is not named), and a diagnostic
//! quotes no source that holds a secret (`SourceFile::can_quote`).

use std::time::Duration;

use serde_json::{json, Map, Value as Json};

use crate::addr::{InstanceAddr, InstanceKey};
use crate::apply::{ApplyEvent, ApplyOutcome, CriticalPath, Progress};
use crate::lang::config::ResourceMode;
use crate::lang::diag::{Diagnostic, Diagnostics, Severity, SourceMap};
use crate::lang::value::Value;
use crate::plan::{Action, ActionReason, Plan, PlanMode, ResourceChange};

/// The version of Terraform's UI message schema these messages follow.
pub const UI_VERSION: &str = "1.2";

/// One message line (newline included).
fn message(level: &str, text: &str, kind: &str, fields: Map<String, Json>) -> String {
    let mut m = Map::new();
    m.insert("@level".into(), level.into());
    m.insert("@message".into(), text.into());
    m.insert("@module".into(), "terraform.ui".into());
    m.insert("@timestamp".into(), chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true).into());
    m.insert("type".into(), kind.into());
    m.extend(fields);
    format!("{}\n", Json::Object(m))
}

fn fields(pairs: impl IntoIterator<Item = (&'static str, Json)>) -> Map<String, Json> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// The first message of every stream. `terraform` carries Cairn's version, as OpenTofu's
/// stream carries its own, because consumers read that field; `cairn` says whose it is.
pub fn version() -> String {
    let version = env!("CARGO_PKG_VERSION");
    message(
        "info",
        &format!("Cairn {version}"),
        "version",
        fields([("terraform", version.into()), ("cairn", version.into()), ("ui", UI_VERSION.into())]),
    )
}

/// A free-text `log` message.
pub fn log(text: &str) -> String {
    message("info", text, "log", Map::new())
}

/// Terraform's `resource` object for an instance address.
pub fn resource_addr(addr: &InstanceAddr) -> Json {
    let r = &addr.resource;
    let implied_provider = r.type_name.split('_').next().unwrap_or(&r.type_name);
    let key = match &addr.key {
        InstanceKey::None => Json::Null,
        InstanceKey::Int(i) => (*i).into(),
        InstanceKey::Str(s) => s.clone().into(),
    };
    json!({
        "addr": addr.to_string(),
        "module": r.module.to_string(),
        "resource": format!("{}{}", r.local_key(), addr.key),
        "implied_provider": implied_provider,
        "resource_type": r.type_name,
        "resource_name": r.name,
        "resource_key": key,
    })
}

/// Terraform's `ChangeAction` word for an action.
pub fn change_action(a: Action) -> &'static str {
    match a {
        Action::NoOp => "noop",
        Action::Create => "create",
        Action::Read => "read",
        Action::Update => "update",
        Action::DeleteThenCreate | Action::CreateThenDelete => "replace",
        Action::Delete => "delete",
        Action::Forget => "remove",
    }
}

fn reason(r: ActionReason) -> &'static str {
    match r {
        ActionReason::ReplaceBecauseCannotUpdate => "cannot_update",
        ActionReason::ReplaceBecauseTainted => "tainted",
        ActionReason::ReplaceByRequest => "requested",
        ActionReason::ReplaceByTriggers => "replace_triggered_by",
        ActionReason::DeleteBecauseNoResourceConfig => "delete_because_no_resource_config",
        ActionReason::DeleteBecauseCountIndex => "delete_because_count_index",
        ActionReason::DeleteBecauseEachKey => "delete_because_each_key",
        ActionReason::DeleteBecauseNoModule => "delete_because_no_module",
        ActionReason::ReadBecauseConfigUnknown => "read_because_config_unknown",
        ActionReason::ReadBecauseDependencyPending => "read_because_dependency_pending",
    }
}

/// Terraform's `ResourceInstanceChange`: a moved-only change is `move`, an import-only one
/// `import` (a move wins, as in Terraform).
fn change(c: &ResourceChange, generated_config: Option<&str>) -> (Json, &'static str) {
    let mut action = change_action(c.action);
    let mut m = Map::new();
    m.insert("resource".into(), resource_addr(&c.addr));
    if let Some(prev) = &c.previous_addr {
        m.insert("previous_resource".into(), resource_addr(prev));
    }
    if let Some(importing) = &c.importing {
        if action == "noop" {
            action = "import";
        }
        // A secret id is not written, only that the change imports.
        let id = if importing.contains_sensitive() { None } else { importing.as_str() };
        m.insert(
            "importing".into(),
            match id {
                Some(id) => json!({ "id": id }),
                None => json!({}),
            },
        );
    }
    if c.previous_addr.is_some() && c.action == Action::NoOp {
        action = "move";
    }
    m.insert("action".into(), action.into());
    if let Some(r) = c.reason {
        m.insert("reason".into(), reason(r).into());
    }
    if let Some(g) = generated_config {
        m.insert("generated_config".into(), g.into());
    }
    (Json::Object(m), action)
}

/// The plan's messages, in Terraform's order: `resource_drift` for each object changed outside
/// Cairn, `planned_change` for each instance with something to do, `change_summary`, and
/// `outputs` when an output changes. `generated` gives the HCL `-generate-config-out` wrote for
/// an instance.
pub fn plan_messages(plan: &Plan, refreshed: bool, generated: &dyn Fn(&InstanceAddr) -> Option<String>) -> Vec<String> {
    let mut out = Vec::new();
    if refreshed {
        refresh_messages(plan, &mut out);
    }
    for d in &plan.drift {
        let action = change_action(d.action);
        let change = json!({ "resource": resource_addr(&d.addr), "action": action });
        out.push(message(
            "info",
            &format!("{}: Drift detected ({action})", d.addr),
            "resource_drift",
            fields([("change", change)]),
        ));
    }
    for c in &plan.changes {
        let data = c.addr.resource.mode == ResourceMode::Data;
        let silent = c.action == Action::NoOp && c.importing.is_none() && c.previous_addr.is_none();
        if silent || (data && c.action == Action::Delete) || (c.action == Action::Read && !data) {
            continue;
        }
        let g = generated(&c.addr);
        let (change, action) = change(c, g.as_deref());
        out.push(message(
            "info",
            &format!("{}: Plan to {action}", c.addr),
            "planned_change",
            fields([("change", change)]),
        ));
    }
    let counts = plan.counts();
    let summary = json!({
        "add": counts.add,
        "change": counts.change,
        "import": counts.import,
        "remove": counts.destroy,
        "operation": "plan",
    });
    let mut text = String::from("Plan: ");
    if counts.import > 0 {
        text.push_str(&format!("{} to import, ", counts.import));
    }
    text.push_str(&format!("{} to add, {} to change, {} to destroy.", counts.add, counts.change, counts.destroy));
    out.push(message("info", &text, "change_summary", fields([("changes", summary)])));
    let changed: Map<String, Json> = plan
        .output_changes
        .iter()
        .filter(|o| o.action != Action::NoOp)
        .map(|o| (o.name.clone(), json!({ "sensitive": o.sensitive, "action": change_action(o.action) })))
        .collect();
    if !changed.is_empty() {
        out.push(outputs_message(changed));
    }
    out
}

/// Terraform's `refresh_start` and `refresh_complete` for every managed object the plan read
/// back: those its changes start from, and those found gone (drift). The planner reads a type
/// at a time (one `read_many`), so each pair is reported with the plan, before its drift and
/// changes, where Terraform's stream has them. An imported object was read by the import, not
/// refreshed: Terraform reports it as an import, and so does the plan's `planned_change`.
fn refresh_messages(plan: &Plan, out: &mut Vec<String>) {
    let found =
        plan.changes.iter().filter(|c| c.importing.is_none()).filter_map(|c| Some((&c.addr, c.before.as_ref()?)));
    let mut read: Vec<(&InstanceAddr, Option<String>, Option<String>)> = found
        .filter(|(addr, _)| addr.resource.mode == ResourceMode::Managed)
        .map(|(addr, before)| {
            let id = crate::apply::progress::object_id(Some(before));
            (addr, id.clone(), id)
        })
        .collect();
    for d in plan.drift.iter().filter(|d| d.action == Action::Delete) {
        read.push((&d.addr, crate::apply::progress::object_id(Some(&d.before)), None));
    }
    read.sort_by(|a, b| a.0.cmp(b.0));
    for (addr, before_id, after_id) in read {
        let hook = fields([("resource", resource_addr(addr))]);
        let text = format!("{addr}: Refreshing state...{}", id_suffix(&before_id));
        out.push(message("info", &text, "refresh_start", fields([("hook", Json::Object(with_id(hook, &before_id)))])));
        let hook = fields([("resource", resource_addr(addr))]);
        let text = format!("{addr}: Refresh complete{}", id_suffix(&after_id));
        out.push(message(
            "info",
            &text,
            "refresh_complete",
            fields([("hook", Json::Object(with_id(hook, &after_id)))]),
        ));
    }
}

fn outputs_message(outputs: Map<String, Json>) -> String {
    message("info", &format!("Outputs: {}", outputs.len()), "outputs", fields([("outputs", Json::Object(outputs))]))
}

fn start_verb(a: Action) -> &'static str {
    match a {
        Action::Create => "Creating",
        Action::Update => "Modifying",
        Action::Delete => "Destroying",
        Action::Forget => "Removing",
        _ => "Refreshing",
    }
}

fn progress_verb(a: Action) -> &'static str {
    match a {
        Action::Create => "creating",
        Action::Update => "modifying",
        Action::Delete => "destroying",
        Action::Forget => "removing",
        _ => "refreshing",
    }
}

fn noun(a: Action) -> &'static str {
    match a {
        Action::Create => "Creation",
        Action::Update => "Modifications",
        Action::Delete => "Destruction",
        Action::Forget => "Removal",
        _ => "Refresh",
    }
}

/// Go's `time.Duration` text for whole and fractional seconds (`12s`, `1.5s`, `2m3s`), which
/// Terraform's hook messages print.
fn go_duration(d: Duration) -> String {
    let secs = d.as_secs();
    let frac = d.subsec_millis();
    let (m, s) = (secs / 60, secs % 60);
    let s = if frac > 0 { format!("{s}.{frac:03}").trim_end_matches('0').to_string() } else { s.to_string() };
    if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

fn id_suffix(id: &Option<String>) -> String {
    id.as_deref().map(|v| format!(" [id={v}]")).unwrap_or_default()
}

fn with_id(mut hook: Map<String, Json>, id: &Option<String>) -> Map<String, Json> {
    if let Some(v) = id {
        hook.insert("id_key".into(), "id".into());
        hook.insert("id_value".into(), v.clone().into());
    }
    hook
}

/// The `apply_*` message for one apply event. A provider's own progress note has no
/// counterpart in Terraform's stream and gives none.
pub fn hook_message(e: &ApplyEvent) -> Option<String> {
    let (level, text, kind, hook) = match e {
        ApplyEvent::Started { addr, action, id } => {
            let hook = fields([("resource", resource_addr(addr)), ("action", change_action(*action).into())]);
            let text = format!("{addr}: {}...{}", start_verb(*action), id_suffix(id));
            ("info", text, "apply_start", with_id(hook, id))
        }
        ApplyEvent::Still { addr, action, elapsed } => {
            let hook = fields([
                ("resource", resource_addr(addr)),
                ("action", change_action(*action).into()),
                ("elapsed_seconds", elapsed.as_secs().into()),
            ]);
            let text = format!("{addr}: Still {}... [{} elapsed]", progress_verb(*action), go_duration(*elapsed));
            ("info", text, "apply_progress", hook)
        }
        ApplyEvent::Message { .. } => return None,
        ApplyEvent::Finished { addr, action, elapsed, id } => {
            let hook = fields([
                ("resource", resource_addr(addr)),
                ("action", change_action(*action).into()),
                ("elapsed_seconds", elapsed.as_secs().into()),
            ]);
            let text = format!("{addr}: {} complete after {}{}", noun(*action), go_duration(*elapsed), id_suffix(id));
            ("info", text, "apply_complete", with_id(hook, id))
        }
        ApplyEvent::Failed { addr, action, elapsed, .. } => {
            let hook = fields([
                ("resource", resource_addr(addr)),
                ("action", change_action(*action).into()),
                ("elapsed_seconds", elapsed.as_secs().into()),
            ]);
            let text = format!("{addr}: {} errored after {}", noun(*action), go_duration(*elapsed));
            ("error", text, "apply_errored", hook)
        }
    };
    Some(message(level, &text, kind, fields([("hook", Json::Object(hook))])))
}

/// The messages that end an apply: a `diagnostic` for each failed step, then (when nothing
/// failed) `change_summary` and the root outputs, as Terraform ends `apply -json`.
pub fn apply_end_messages(outcome: &ApplyOutcome, mode: PlanMode) -> Vec<String> {
    let mut out = Vec::new();
    for (addr, msg) in &outcome.failed {
        let mut d = Diagnostic::error(msg.clone());
        d.detail = None;
        out.push(diagnostic_message(&SourceMap::new(), &d, Some(&addr.to_string())));
    }
    if outcome.interrupted {
        out.push(log("Apply interrupted: steps still in flight are recorded in the journal"));
    }
    if !outcome.failed.is_empty() || outcome.interrupted {
        return out;
    }
    let (mut add, mut change, mut remove) = (0usize, 0usize, 0usize);
    for (_, a) in &outcome.succeeded {
        match a {
            Action::Create => add += 1,
            Action::Update => change += 1,
            Action::Delete => remove += 1,
            _ => {}
        }
    }
    out.push(change_summary_message(add, change, remove, mode, outcome.critical_path.as_ref()));
    if !outcome.outputs.is_empty() {
        let outputs = outcome
            .outputs
            .iter()
            .map(|(name, (v, sensitive))| {
                let sensitive = *sensitive || v.contains_sensitive();
                let mut o = Map::new();
                o.insert("sensitive".into(), sensitive.into());
                o.insert("type".into(), type_json(v));
                if !sensitive {
                    o.insert("value".into(), v.to_json_redacted());
                }
                (name.clone(), Json::Object(o))
            })
            .collect();
        out.push(outputs_message(outputs));
    }
    out
}

/// The `change_summary` that ends a successful apply (`operation: "apply"`) or destroy.
pub fn change_summary_applied(add: usize, change: usize, remove: usize, mode: PlanMode) -> String {
    change_summary_message(add, change, remove, mode, None)
}

/// [`change_summary_applied`], with the apply's critical path when steps ran, in a field of
/// Cairn's own, `cairn_critical_path` (Terraform's stream has no message for it, and a field
/// unknown to a consumer is one it skips, where an unknown message type may stop it):
/// `{"length_seconds", "wall_seconds", "chain": [{"resource", "action", "seconds"}]}`.
fn change_summary_message(
    add: usize,
    change: usize,
    remove: usize,
    mode: PlanMode,
    critical_path: Option<&CriticalPath>,
) -> String {
    let (operation, text) = if mode == PlanMode::Destroy {
        ("destroy", format!("Destroy complete! Resources: {remove} destroyed."))
    } else {
        ("apply", format!("Apply complete! Resources: {add} added, {change} changed, {remove} destroyed."))
    };
    let summary = json!({ "add": add, "change": change, "import": 0, "remove": remove, "operation": operation });
    let mut f = fields([("changes", summary)]);
    if let Some(cp) = critical_path {
        f.insert("cairn_critical_path".into(), critical_path_json(cp));
    }
    message("info", &text, "change_summary", f)
}

fn critical_path_json(cp: &CriticalPath) -> Json {
    // Milliseconds are as fine as the measurement means anything.
    let seconds = |d: Duration| (d.as_millis() as f64) / 1000.0;
    let chain: Vec<Json> = cp
        .chain
        .iter()
        .map(|s| {
            json!({
                "resource": resource_addr(&s.addr),
                "action": change_action(s.action),
                "seconds": seconds(s.elapsed),
            })
        })
        .collect();
    json!({ "length_seconds": seconds(cp.length), "wall_seconds": seconds(cp.wall), "chain": chain })
}

/// cty's JSON type of a value (`"string"`, `["list","string"]`, `["object",{…}]`), as
/// Terraform's `outputs` message gives it. Cairn keeps no static type for an output, so lists
/// and objects are typed by their elements, as cty types a literal: a list of one element type
/// is a list, otherwise a tuple.
fn type_json(v: &Value) -> Json {
    match v.peel() {
        Value::Null | Value::Unknown(_) => "dynamic".into(),
        Value::Bool(_) => "bool".into(),
        Value::Number(_) => "number".into(),
        Value::String(_) => "string".into(),
        Value::List(xs) | Value::Set(xs) => {
            let types: Vec<Json> = xs.iter().map(type_json).collect();
            let set = matches!(v.peel(), Value::Set(_));
            match types.first() {
                Some(first) if types.iter().all(|t| t == first) => json!([if set { "set" } else { "list" }, first]),
                None => json!([if set { "set" } else { "list" }, "dynamic"]),
                _ => json!(["tuple", types]),
            }
        }
        Value::Map(m) => {
            let attrs: Map<String, Json> = m.iter().map(|(k, x)| (k.clone(), type_json(x))).collect();
            json!(["object", attrs])
        }
        _ => "dynamic".into(),
    }
}

/// One `diagnostic` message: severity, summary, detail (with the help line), the `range` in the
/// source and a `snippet` of the lines it covers unless they hold a secret.
pub fn diagnostic_message(sources: &SourceMap, d: &Diagnostic, address: Option<&str>) -> String {
    let label = if d.severity == Severity::Error { "Error" } else { "Warning" };
    let level = if d.severity == Severity::Error { "error" } else { "warn" };
    let diag = diagnostic_json(sources, d, address);
    message(level, &format!("{label}: {}", d.summary), "diagnostic", fields([("diagnostic", diag)]))
}

/// `terraform validate -json`'s document: validity, counts, and every diagnostic in the shape
/// the machine-readable UI uses (Terraform prints it indented, and so does Cairn).
pub fn validate_document(sources: &SourceMap, diags: &Diagnostics) -> String {
    let errors = diags.0.iter().filter(|d| d.severity == Severity::Error).count();
    let doc = json!({
        "format_version": "1.0",
        "valid": errors == 0,
        "error_count": errors,
        "warning_count": diags.0.len() - errors,
        "diagnostics": diags.0.iter().map(|d| diagnostic_json(sources, d, None)).collect::<Vec<_>>(),
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// One diagnostic as Terraform's JSON views write it: severity, summary, detail (with Cairn's
/// help appended), the range and a snippet of the source where there is one.
fn diagnostic_json(sources: &SourceMap, d: &Diagnostic, address: Option<&str>) -> Json {
    let severity = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut detail = d.detail.clone().unwrap_or_default();
    if let Some(help) = &d.help {
        if !detail.is_empty() {
            detail.push_str("\n\n");
        }
        detail.push_str(help);
    }
    let mut diag = Map::new();
    diag.insert("severity".into(), severity.into());
    diag.insert("summary".into(), d.summary.clone().into());
    diag.insert("detail".into(), detail.into());
    if let Some(a) = address {
        diag.insert("address".into(), a.into());
    }
    if let Some(span) = d.span.filter(|s| sources.files().any(|(id, _)| id == s.file)) {
        let file = sources.get(span.file);
        let end = span.end.max(span.start).min(file.text.len());
        let start = span.start.min(end);
        let pos = |offset: usize| {
            let (line, column) = file.line_col(offset);
            json!({ "line": line, "column": column, "byte": offset })
        };
        diag.insert("range".into(), json!({ "filename": file.display, "start": pos(start), "end": pos(end) }));
        if file.can_quote(start) && file.can_quote(end) {
            let (first, _) = file.line_col(start);
            let (last, _) = file.line_col(end);
            let line_start = file.text[..start].rfind('\n').map_or(0, |i| i + 1);
            let code: Vec<&str> = file.text.lines().skip(first - 1).take(last - first + 1).collect();
            let code = code.join("\n");
            let highlight_start = (start - line_start).min(code.len());
            let highlight_end = (end - line_start).min(code.len());
            diag.insert(
                "snippet".into(),
                json!({
                    "context": Json::Null,
                    "code": code,
                    "start_line": first,
                    "highlight_start_offset": highlight_start,
                    "highlight_end_offset": highlight_end,
                    "values": [],
                }),
            );
        }
    }
    Json::Object(diag)
}

/// A `diagnostic` message for each diagnostic.
pub fn diagnostic_messages(sources: &SourceMap, diags: &Diagnostics) -> Vec<String> {
    diags.0.iter().map(|d| diagnostic_message(sources, d, None)).collect()
}

/// The apply's events as `apply_*` messages, handed to whoever writes the stream while the
/// apply runs (steps run on several tasks; the channel keeps each line whole).
pub struct JsonProgress {
    lines: tokio::sync::mpsc::UnboundedSender<String>,
}

impl JsonProgress {
    pub fn new(lines: tokio::sync::mpsc::UnboundedSender<String>) -> Self {
        JsonProgress { lines }
    }
}

impl Progress for JsonProgress {
    fn event(&self, e: ApplyEvent) {
        if let Some(line) = hook_message(&e) {
            // The reader is gone only when the command is ending; nothing is left to show.
            let _ = self.lines.send(line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::{ModulePath, ResourceAddr};

    fn parse(line: &str) -> Json {
        assert!(line.ends_with('\n') && !line[..line.len() - 1].contains('\n'), "{line:?}");
        serde_json::from_str(line).unwrap()
    }

    fn addr(key: InstanceKey) -> InstanceAddr {
        let module = ModulePath::root().child_instance("svc", InstanceKey::Str("a".into()));
        ResourceAddr::managed(module, "google_compute_health_check", "hc").instance(key)
    }

    #[test]
    fn resource_addresses_have_terraforms_fields() {
        let r = resource_addr(&addr(InstanceKey::Int(1)));
        assert_eq!(
            r,
            json!({
                "addr": "module.svc[\"a\"].google_compute_health_check.hc[1]",
                "module": "module.svc[\"a\"]",
                "resource": "google_compute_health_check.hc[1]",
                "implied_provider": "google",
                "resource_type": "google_compute_health_check",
                "resource_name": "hc",
                "resource_key": 1,
            })
        );
        assert_eq!(resource_addr(&addr(InstanceKey::None))["resource_key"], Json::Null);
    }

    #[test]
    fn every_message_is_one_line_with_terraforms_envelope() {
        let v = parse(&version());
        assert_eq!(v["type"], "version");
        assert_eq!(v["ui"], "1.2");
        assert_eq!(v["@module"], "terraform.ui");
        assert_eq!(v["@level"], "info");
        assert!(chrono::DateTime::parse_from_rfc3339(v["@timestamp"].as_str().unwrap()).is_ok());
        let e = ApplyEvent::Failed {
            addr: addr(InstanceKey::None),
            action: Action::Create,
            elapsed: Duration::from_millis(1500),
            message: "boom".into(),
        };
        let m = parse(&hook_message(&e).unwrap());
        assert_eq!(m["type"], "apply_errored");
        assert_eq!(m["@level"], "error");
        assert_eq!(m["hook"]["action"], "create");
        assert_eq!(m["hook"]["elapsed_seconds"], 1);
        assert!(m["@message"].as_str().unwrap().ends_with(": Creation errored after 1.5s"));
        let e = ApplyEvent::Finished {
            addr: addr(InstanceKey::None),
            action: Action::Delete,
            elapsed: Duration::from_secs(125),
            id: Some("projects/p/x".into()),
        };
        let m = parse(&hook_message(&e).unwrap());
        assert_eq!((m["hook"]["id_key"].as_str(), m["hook"]["id_value"].as_str()), (Some("id"), Some("projects/p/x")));
        assert!(m["@message"].as_str().unwrap().ends_with("Destruction complete after 2m5s [id=projects/p/x]"));
        let note = ApplyEvent::Message { addr: addr(InstanceKey::None), message: "waiting".into() };
        assert_eq!(hook_message(&note), None);
    }

    #[test]
    fn outputs_types_follow_cty_and_secrets_are_left_out() {
        assert_eq!(type_json(&Value::from("x")), json!("string"));
        assert_eq!(type_json(&Value::List(vec![Value::from("a"), Value::from("b")])), json!(["list", "string"]));
        assert_eq!(
            type_json(&Value::List(vec![Value::from("a"), Value::Bool(true)])),
            json!(["tuple", ["string", "bool"]])
        );
        assert_eq!(type_json(&Value::map([("a", Value::Bool(true))])), json!(["object", {"a": "bool"}]));
        let outcome = ApplyOutcome {
            succeeded: vec![(addr(InstanceKey::None), Action::Create)],
            failed: vec![],
            skipped: vec![],
            abandoned: vec![],
            interrupted: false,
            outputs: [
                ("plain".to_string(), (Value::from("v"), false)),
                ("secret".to_string(), (Value::from("hunter2").sensitive(), false)),
            ]
            .into_iter()
            .collect(),
            checks: vec![],
            state: crate::state::State::new(),
            critical_path: Some(crate::apply::CriticalPath {
                chain: vec![crate::apply::CriticalStep {
                    addr: addr(InstanceKey::None),
                    action: Action::Create,
                    elapsed: Duration::from_millis(1234),
                }],
                length: Duration::from_millis(1234),
                wall: Duration::from_millis(1500),
            }),
        };
        let lines = apply_end_messages(&outcome, PlanMode::Normal);
        assert_eq!(lines.len(), 2);
        let summary = parse(&lines[0]);
        assert_eq!(summary["changes"], json!({"add": 1, "change": 0, "import": 0, "remove": 0, "operation": "apply"}));
        assert_eq!(summary["@message"], "Apply complete! Resources: 1 added, 0 changed, 0 destroyed.");
        let cp = &summary["cairn_critical_path"];
        assert_eq!((cp["length_seconds"].as_f64(), cp["wall_seconds"].as_f64()), (Some(1.234), Some(1.5)));
        assert_eq!(cp["chain"][0]["resource"]["addr"], json!(addr(InstanceKey::None).to_string()));
        assert_eq!((&cp["chain"][0]["action"], cp["chain"][0]["seconds"].as_f64()), (&json!("create"), Some(1.234)));
        let outputs = parse(&lines[1]);
        assert_eq!(outputs["outputs"]["plain"], json!({"sensitive": false, "type": "string", "value": "v"}));
        assert_eq!(outputs["outputs"]["secret"], json!({"sensitive": true, "type": "string"}));
        assert!(!lines.concat().contains("hunter2"));
    }

    #[test]
    fn a_diagnostic_has_its_range_and_no_snippet_near_a_secret() {
        let mut sources = SourceMap::new();
        let text = "resource \"x\" \"y\" {\n  a = bogus\n}\n".to_string();
        let file = sources.add(std::path::Path::new("/s/main.tf"), "main.tf".into(), text);
        let span = crate::lang::diag::Span { file, start: 25, end: 30 };
        let d = Diagnostic::error("Unknown reference").at(span).help("declare it");
        let m = parse(&diagnostic_message(&sources, &d, None));
        let diag = &m["diagnostic"];
        assert_eq!(m["@level"], "error");
        assert_eq!(m["@message"], "Error: Unknown reference");
        assert_eq!(diag["detail"], "declare it");
        assert_eq!(
            diag["range"],
            json!({"filename": "main.tf", "start": {"line": 2, "column": 7, "byte": 25}, "end": {"line": 2, "column": 12, "byte": 30}})
        );
        assert_eq!(diag["snippet"]["code"], "  a = bogus");
        assert_eq!(diag["snippet"]["start_line"], 2);
        assert_eq!(
            (diag["snippet"]["highlight_start_offset"].as_u64(), diag["snippet"]["highlight_end_offset"].as_u64()),
            (Some(6), Some(11))
        );
        sources.mark_secret(span);
        let m = parse(&diagnostic_message(&sources, &d, None));
        assert!(m["diagnostic"].get("snippet").is_none(), "{m}");
        assert_eq!(m["diagnostic"]["range"]["start"]["line"], 2);
    }
}
