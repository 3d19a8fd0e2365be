//! Comparing a reviewed plan with a fresh one (`cairn apply FRESH --reviewed-plan REVIEWED`).
//!
//! In a pull-request flow the plan a reviewer approved was made against the state of its
//! day; by the time the change merges that plan is usually stale (another apply moved the
//! serial), so it cannot be applied. What can be checked is that a plan made now would do
//! what the reviewer saw: the same instances, the same actions, and the same attribute
//! values on the attributes the apply will touch. Attributes the apply leaves alone (an
//! etag the API bumped since) do not count.
//!
//! Sensitive values are compared by mark and by keyed fingerprint: saved plans never hold
//! their content, but they hold an HMAC of it (see `WireValue::fingerprinted`), so a secret
//! that changed while staying sensitive is a difference — reported without either value.

use std::collections::{BTreeMap, BTreeSet};

use crate::addr::{AttrPath, PathStep};
use crate::lang::value::{Unknown, Value};
use crate::plan::file::{ChangeRecord, PlanFile};
use crate::plan::model::{Action, WireValue};

/// Values longer than this are cut in messages: a message should say what differs, not dump
/// a whole object.
const MAX_VALUE_CHARS: usize = 80;
/// Differing attributes listed per instance before "and N more".
const MAX_PATHS_PER_INSTANCE: usize = 10;

/// Every way the fresh plan's changes differ from the reviewed plan's, one line each
/// (`google_x.y: reviewed plan had update, fresh plan has replace`). Empty when they match.
pub fn differences(reviewed: &PlanFile, fresh: &PlanFile) -> Vec<String> {
    let mut out = Vec::new();
    if reviewed.mode != fresh.mode {
        out.push(format!("plan mode: reviewed plan is {}, fresh plan is {}", mode_word(reviewed), mode_word(fresh)));
    }
    let r = acting_changes(reviewed);
    let f = acting_changes(fresh);
    let addrs: BTreeSet<&String> = r.keys().chain(f.keys()).collect();
    for addr in addrs {
        match (r.get(addr), f.get(addr)) {
            (Some(a), None) => {
                out.push(format!("{addr}: reviewed plan had {}, fresh plan has no change", action_word(a)))
            }
            (None, Some(b)) => {
                out.push(format!("{addr}: reviewed plan had no change, fresh plan has {}", action_word(b)))
            }
            (Some(a), Some(b)) => out.extend(change_differences(addr, a, b)),
            (None, None) => {}
        }
    }
    let outputs = |p: &PlanFile| -> BTreeMap<String, (Action, Option<WireValue>)> {
        p.output_changes
            .iter()
            .filter(|o| o.action != Action::NoOp)
            .map(|o| (o.name.clone(), (o.action, o.after.clone())))
            .collect()
    };
    let (ro, fo) = (outputs(reviewed), outputs(fresh));
    let names: BTreeSet<&String> = ro.keys().chain(fo.keys()).collect();
    for name in names {
        let (a, b) = (ro.get(name), fo.get(name));
        let (wa, wb) = (output_word(a.map(|o| &o.0)), output_word(b.map(|o| &o.0)));
        if wa != wb {
            out.push(format!("output {name}: reviewed plan had {wa}, fresh plan has {wb}"));
        } else if let (Some((_, x)), Some((_, y))) = (a, b) {
            // The value the apply stores for the output.
            for d in value_differences(x, y) {
                let d = d.strip_prefix("the whole object: ").map(|r| format!("value: {r}")).unwrap_or(d);
                out.push(format!("output {name}: {d}"));
            }
        }
    }
    out
}

fn mode_word(p: &PlanFile) -> &'static str {
    match p.mode {
        crate::plan::PlanMode::Normal => "a normal plan",
        crate::plan::PlanMode::Destroy => "a destroy plan",
        crate::plan::PlanMode::RefreshOnly => "a refresh-only plan",
    }
}

/// Changes that do something, by address: actions, imports and moves (no-ops and reads do not).
fn acting_changes(p: &PlanFile) -> BTreeMap<String, &ChangeRecord> {
    p.changes
        .iter()
        .filter(|c| {
            !matches!(c.action, Action::NoOp | Action::Read) || c.importing.is_some() || c.previous_addr.is_some()
        })
        .map(|c| (c.addr.to_string(), c))
        .collect()
}

fn action_word(c: &ChangeRecord) -> &'static str {
    match c.action {
        Action::Create => "create",
        Action::Update if c.importing.is_some() => "import + update",
        Action::Update => "update",
        Action::DeleteThenCreate => "replace",
        Action::CreateThenDelete => "replace (create before destroy)",
        Action::Delete => "destroy",
        Action::Read => "read",
        Action::Forget => "forget",
        Action::NoOp if c.importing.is_some() => "import",
        Action::NoOp if c.previous_addr.is_some() => "move",
        Action::NoOp => "no change",
    }
}

fn output_word(a: Option<&Action>) -> &'static str {
    match a {
        None => "no change",
        Some(Action::Create) => "create",
        Some(Action::Delete) => "destroy",
        Some(_) => "update",
    }
}

fn change_differences(addr: &str, a: &ChangeRecord, b: &ChangeRecord) -> Vec<String> {
    let (wa, wb) = (action_word(a), action_word(b));
    if wa != wb {
        return vec![format!("{addr}: reviewed plan had {wa}, fresh plan has {wb}")];
    }
    let mut out = Vec::new();
    // Compared as values (a secret id by its fingerprint), not as saved shapes: a plan read
    // back from its file and one made now hold the same id in different wire forms.
    if !same(rebuild(&a.importing).as_ref(), rebuild(&b.importing).as_ref()) {
        out.push(format!(
            "{addr}: reviewed plan imports ID {}, fresh plan imports ID {}",
            opt(&a.importing.as_ref().map(import_id_text)),
            opt(&b.importing.as_ref().map(import_id_text))
        ));
    }
    let prev = |c: &ChangeRecord| c.previous_addr.as_ref().map(|p| p.to_string());
    if prev(a) != prev(b) {
        out.push(format!("{addr}: reviewed plan moves it from {}, fresh plan from {}", opt(&prev(a)), opt(&prev(b))));
    }
    let mut paths: Vec<String> = Vec::new();
    match a.action {
        Action::Create => paths.extend(value_differences(&a.after, &b.after)),
        Action::DeleteThenCreate | Action::CreateThenDelete => {
            let forced =
                |c: &ChangeRecord| -> BTreeSet<String> { c.replace_paths.iter().map(|p| p.to_string()).collect() };
            if forced(a) != forced(b) {
                out.push(format!(
                    "{addr}: reviewed plan replaces it because of {}, fresh plan because of {}",
                    path_list(&forced(a)),
                    path_list(&forced(b))
                ));
            }
            paths.extend(value_differences(&a.after, &b.after));
        }
        Action::Update => {
            // Only what the apply touches: the union of both plans' changed paths.
            let touched: BTreeSet<&AttrPath> = a.changed_paths.iter().chain(b.changed_paths.iter()).collect();
            let (ab, bb, aa, ba) = (rebuild(&a.before), rebuild(&b.before), rebuild(&a.after), rebuild(&b.after));
            for p in touched {
                let (x0, y0) = (at_path(ab.as_ref(), p), at_path(bb.as_ref(), p));
                let (x1, y1) = (at_path(aa.as_ref(), p), at_path(ba.as_ref(), p));
                if !same(x0, y0) || !same(x1, y1) {
                    let secret = |x: Option<&Value>, y: Option<&Value>| {
                        secrets_differ(x, y).then_some(" (a different secret, compared by fingerprint)")
                    };
                    paths.push(format!(
                        "{p}: reviewed {} → {}, fresh {} → {}{}",
                        shown(x0),
                        shown(x1),
                        shown(y0),
                        shown(y1),
                        secret(x1, y1).or(secret(x0, y0)).unwrap_or("")
                    ));
                }
            }
        }
        // Destroying is destroying: what the object looked like does not change the call.
        _ => {}
    }
    let total = paths.len();
    for p in paths.into_iter().take(MAX_PATHS_PER_INSTANCE) {
        out.push(format!("{addr}: {p}"));
    }
    if total > MAX_PATHS_PER_INSTANCE {
        out.push(format!("{addr}: and {} more differing attributes", total - MAX_PATHS_PER_INSTANCE));
    }
    out
}

/// A saved import id for a message: its text, or `(sensitive value)` (never saved).
fn import_id_text(id: &WireValue) -> String {
    let v = id.to_value();
    match v.as_str() {
        Some(s) if !v.contains_sensitive() => s.to_string(),
        _ => "(sensitive value)".to_string(),
    }
}

fn opt(s: &Option<String>) -> String {
    s.as_ref().map(|s| format!("{s:?}")).unwrap_or_else(|| "none".into())
}

fn path_list(paths: &BTreeSet<String>) -> String {
    if paths.is_empty() {
        "no attribute (by request, taint or trigger)".to_string()
    } else {
        paths.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

/// A saved value as a `Value`: sensitive positions come back as withheld-and-sensitive,
/// unknown ones as pending, so both compare equal to their counterparts by mark alone.
fn rebuild(w: &Option<WireValue>) -> Option<Value> {
    w.as_ref().map(WireValue::to_value)
}

fn at_path<'a>(v: Option<&'a Value>, path: &AttrPath) -> Option<&'a Value> {
    let mut cur = v?;
    for s in &path.0 {
        // A sensitive container is opaque: its mark is all a saved plan knows about it.
        if cur.is_sensitive() {
            return Some(cur);
        }
        cur = match (cur.peel(), s) {
            (Value::Map(m), PathStep::Attr(k)) => m.get(k)?,
            (Value::List(xs) | Value::Set(xs), PathStep::Index(i)) => xs.get(usize::try_from(*i).ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Null and absent are the same attribute value; sensitive values are equal when both are
/// sensitive (their content is not in the plan); unknowns are equal to unknowns.
fn same(a: Option<&Value>, b: Option<&Value>) -> bool {
    let norm = |v: Option<&Value>| v.filter(|v| !v.is_null()).cloned();
    match (norm(a), norm(b)) {
        (None, None) => true,
        (Some(x), Some(y)) => {
            if x.is_sensitive() || y.is_sensitive() {
                return x.is_sensitive() && y.is_sensitive() && fingerprint(&x) == fingerprint(&y);
            }
            match (x.peel(), y.peel()) {
                (Value::Unknown(Unknown::Pending), Value::Unknown(Unknown::Pending)) => true,
                (Value::Map(m), Value::Map(n)) => {
                    let keys: BTreeSet<&String> = m.keys().chain(n.keys()).collect();
                    keys.into_iter().all(|k| same(m.get(k), n.get(k)))
                }
                (Value::List(xs) | Value::Set(xs), Value::List(ys) | Value::Set(ys)) => {
                    xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| same(Some(x), Some(y)))
                }
                (p, q) => p.same_as(q),
            }
        }
        _ => false,
    }
}

/// The keyed fingerprint a saved plan holds for a secret (none for a secret not yet known).
fn fingerprint(v: &Value) -> Option<&str> {
    match v.peel() {
        Value::Unknown(Unknown::Withheld { fingerprint }) => fingerprint.as_deref(),
        _ => None,
    }
}

/// Both sides are secrets, and not the same one.
fn secrets_differ(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => x.is_sensitive() && y.is_sensitive() && fingerprint(x) != fingerprint(y),
        _ => false,
    }
}

/// Attribute paths where two saved values differ, with both sides shown.
fn value_differences(a: &Option<WireValue>, b: &Option<WireValue>) -> Vec<String> {
    let (x, y) = (rebuild(a), rebuild(b));
    let mut out = Vec::new();
    diff_into(x.as_ref(), y.as_ref(), &AttrPath::root(), &mut out);
    out
}

fn diff_into(a: Option<&Value>, b: Option<&Value>, path: &AttrPath, out: &mut Vec<String>) {
    if same(a, b) {
        return;
    }
    match (open(a), open(b)) {
        (Some(Value::Map(m)), Some(Value::Map(n))) => {
            let keys: BTreeSet<&String> = m.keys().chain(n.keys()).collect();
            for k in keys {
                diff_into(m.get(k), n.get(k), &path.join_attr(k), out);
            }
        }
        (Some(Value::List(xs) | Value::Set(xs)), Some(Value::List(ys) | Value::Set(ys))) if xs.len() == ys.len() => {
            for (i, (x, y)) in xs.iter().zip(ys).enumerate() {
                diff_into(Some(x), Some(y), &path.join_index(i as i64), out);
            }
        }
        _ => {
            let name = if path.0.is_empty() { "the whole object".to_string() } else { path.to_string() };
            if secrets_differ(a, b) {
                out.push(format!(
                    "{name}: a different secret (sensitive on both sides; compared by fingerprint, not shown)"
                ));
            } else {
                out.push(format!("{name}: reviewed {}, fresh {}", shown(a), shown(b)));
            }
        }
    }
}

/// The value under its marks, unless it is sensitive (then there is nothing to look into).
fn open(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !v.is_sensitive()).map(Value::peel)
}

/// A value for a message: sensitive parts redacted by `Display`, long values cut.
fn shown(v: Option<&Value>) -> String {
    let Some(v) = v.filter(|v| !v.is_null()) else { return "null".into() };
    let text = v.to_string();
    if text.chars().count() > MAX_VALUE_CHARS {
        let cut: String = text.chars().take(MAX_VALUE_CHARS).collect();
        format!("{cut}…")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::InstanceAddr;
    use crate::plan::model::{Plan, PlanMode, ResourceChange};
    use crate::state::State;

    fn addr(s: &str) -> InstanceAddr {
        match s.parse::<crate::addr::AnyAddr>() {
            Ok(crate::addr::AnyAddr::Instance(i)) => i,
            Ok(crate::addr::AnyAddr::Resource(r)) => r.instance(crate::addr::InstanceKey::None),
            other => panic!("bad test address {s}: {other:?}"),
        }
    }

    fn change(
        a: &str,
        action: Action,
        before: Option<Value>,
        after: Option<Value>,
        changed: &[&str],
    ) -> ResourceChange {
        ResourceChange {
            addr: addr(a),
            previous_addr: None,
            type_name: "fake_thing".into(),
            provider: "fake".into(),
            action,
            reason: None,
            before,
            after,
            changed_paths: changed.iter().filter_map(|p| AttrPath::parse(p)).collect(),
            replace_paths: vec![],
            importing: None,
            dependencies: vec![].into(),
            create_before_destroy: false,
            warnings: vec![],
        }
    }

    fn file(changes: Vec<ResourceChange>) -> PlanFile {
        let plan = Plan {
            mode: PlanMode::Normal,
            lineage: "l".into(),
            serial: 1,
            config_hash: "h".into(),
            variables: BTreeMap::new(),
            sensitive_variables: vec![],
            changes,
            drift: vec![],
            output_changes: vec![],
            checks: vec![],
            prior_state: State::new(),
            targets: vec![],
            warnings: vec![],
            plan_time: None,
        };
        // Through JSON, as the plans arrive from disk.
        let pf = PlanFile::from_plan(&plan, &[], true, &[7; 32]);
        serde_json::from_str(&serde_json::to_string(&pf).expect("serialise")).expect("parse back")
    }

    fn thing(size: i64, note: &str, secret: Option<&str>) -> Value {
        let mut m = BTreeMap::new();
        m.insert("name".to_string(), Value::from("a"));
        m.insert("size".to_string(), Value::from(size));
        m.insert("note".to_string(), Value::from(note));
        m.insert("etag".to_string(), Value::from(format!("etag-{size}-{note}")));
        if let Some(s) = secret {
            m.insert("secret".to_string(), Value::from(s).sensitive());
        }
        Value::object(m)
    }

    #[test]
    fn identical_plans_match() {
        let c = || {
            change(
                "fake_thing.a",
                Action::Update,
                Some(thing(1, "x", Some("s1"))),
                Some(thing(2, "x", Some("s1"))),
                &["size"],
            )
        };
        assert!(differences(&file(vec![c()]), &file(vec![c()])).is_empty());
    }

    #[test]
    fn a_different_action_names_the_instance_and_both_actions() {
        let reviewed = file(vec![change(
            "fake_thing.a",
            Action::Update,
            Some(thing(1, "x", None)),
            Some(thing(2, "x", None)),
            &["size"],
        )]);
        let fresh = file(vec![change(
            "fake_thing.a",
            Action::DeleteThenCreate,
            Some(thing(1, "x", None)),
            Some(thing(2, "x", None)),
            &["size"],
        )]);
        assert_eq!(
            differences(&reviewed, &fresh),
            vec!["fake_thing.a: reviewed plan had update, fresh plan has replace".to_string()]
        );
    }

    #[test]
    fn missing_and_extra_instances_are_listed() {
        let reviewed = file(vec![change("fake_thing.a", Action::Create, None, Some(thing(1, "x", None)), &[])]);
        let fresh = file(vec![change("fake_thing.b", Action::Delete, Some(thing(1, "x", None)), None, &[])]);
        assert_eq!(
            differences(&reviewed, &fresh),
            vec![
                "fake_thing.a: reviewed plan had create, fresh plan has no change".to_string(),
                "fake_thing.b: reviewed plan had no change, fresh plan has destroy".to_string(),
            ]
        );
    }

    #[test]
    fn an_update_to_a_different_value_is_refused_with_both_values() {
        let reviewed = file(vec![change(
            "fake_thing.a",
            Action::Update,
            Some(thing(1, "x", None)),
            Some(thing(2, "x", None)),
            &["size"],
        )]);
        let fresh = file(vec![change(
            "fake_thing.a",
            Action::Update,
            Some(thing(1, "x", None)),
            Some(thing(3, "x", None)),
            &["size"],
        )]);
        assert_eq!(differences(&reviewed, &fresh), vec!["fake_thing.a: size: reviewed 1 → 2, fresh 1 → 3".to_string()]);
    }

    #[test]
    fn untouched_attributes_do_not_count() {
        // The etag moved (its note differs in `before`), but only size is being changed.
        let mut before_fresh = thing(1, "x", None);
        if let Some(m) = before_fresh.map_mut() {
            m.insert("etag".into(), Value::from("bumped"));
        }
        let mut after_fresh = before_fresh.clone();
        if let Some(m) = after_fresh.map_mut() {
            m.insert("size".into(), Value::from(2));
        }
        let reviewed = file(vec![change(
            "fake_thing.a",
            Action::Update,
            Some(thing(1, "x", None)),
            Some(thing(2, "x", None)),
            &["size"],
        )]);
        let fresh =
            file(vec![change("fake_thing.a", Action::Update, Some(before_fresh), Some(after_fresh), &["size"])]);
        assert!(differences(&reviewed, &fresh).is_empty());
    }

    #[test]
    fn sensitive_values_compare_by_fingerprint_and_are_never_printed() {
        let secret_a = "hunter2-reviewed";
        let secret_b = "hunter2-fresh";
        let reviewed =
            file(vec![change("fake_thing.a", Action::Create, None, Some(thing(1, "x", Some(secret_a))), &[])]);
        // The same secret at the same position: equal.
        let same = file(vec![change("fake_thing.a", Action::Create, None, Some(thing(1, "x", Some(secret_a))), &[])]);
        assert!(differences(&reviewed, &same).is_empty());
        // Another secret at the same position: a difference, by fingerprint, with no value.
        let fresh = file(vec![change("fake_thing.a", Action::Create, None, Some(thing(1, "x", Some(secret_b))), &[])]);
        let d = differences(&reviewed, &fresh);
        assert_eq!(
            d,
            vec![
                "fake_thing.a: secret: a different secret (sensitive on both sides; compared by fingerprint, not shown)"
                    .to_string()
            ]
        );
        let text = serde_json::to_string(&fresh).expect("serialise");
        assert!(!text.contains(secret_a) && !text.contains(secret_b), "{text}");
        // A secret that appears on one side only is a difference, shown redacted.
        let fresh = file(vec![change("fake_thing.a", Action::Create, None, Some(thing(1, "x", None)), &[])]);
        let d = differences(&reviewed, &fresh);
        assert_eq!(d, vec!["fake_thing.a: secret: reviewed (sensitive value), fresh null".to_string()]);
        let joined = d.join("\n");
        assert!(!joined.contains(secret_a) && !joined.contains(secret_b), "{joined}");
    }

    #[test]
    fn a_create_with_different_arguments_lists_each_path() {
        let reviewed = file(vec![change("fake_thing.a", Action::Create, None, Some(thing(1, "x", None)), &[])]);
        let fresh = file(vec![change("fake_thing.a", Action::Create, None, Some(thing(1, "y", None)), &[])]);
        assert_eq!(
            differences(&reviewed, &fresh),
            vec![
                "fake_thing.a: etag: reviewed \"etag-1-x\", fresh \"etag-1-y\"".to_string(),
                "fake_thing.a: note: reviewed \"x\", fresh \"y\"".to_string(),
            ]
        );
    }

    #[test]
    fn an_update_to_another_secret_is_a_difference() {
        let update = |secret: &str| {
            change(
                "fake_thing.a",
                Action::Update,
                Some(thing(1, "x", Some("old"))),
                Some(thing(1, "x", Some(secret))),
                &["secret"],
            )
        };
        let d = differences(&file(vec![update("new-a")]), &file(vec![update("new-b")]));
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].starts_with("fake_thing.a: secret: ") && d[0].contains("compared by fingerprint"), "{d:?}");
        assert!(!d[0].contains("new-a") && !d[0].contains("new-b"), "{d:?}");
    }

    #[test]
    fn output_values_are_compared() {
        let with_output = |v: Value, sensitive: bool| {
            let mut pf = file(vec![]);
            let plan = Plan {
                output_changes: vec![crate::plan::model::OutputChange {
                    name: "url".into(),
                    action: Action::Create,
                    before: None,
                    after: Some(v),
                    sensitive,
                }],
                ..pf.to_plan()
            };
            pf = PlanFile::from_plan(&plan, &[], true, &[7; 32]);
            pf
        };
        let d = differences(&with_output(Value::from("a"), false), &with_output(Value::from("b"), false));
        assert_eq!(d, vec!["output url: value: reviewed \"a\", fresh \"b\"".to_string()]);
        let d = differences(&with_output(Value::from("s1"), true), &with_output(Value::from("s2"), true));
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].contains("compared by fingerprint") && !d[0].contains("s1") && !d[0].contains("s2"), "{d:?}");
        assert!(differences(&with_output(Value::from("s1"), true), &with_output(Value::from("s1"), true)).is_empty());
    }

    #[test]
    fn unknown_values_match_unknown_values() {
        let mut a = thing(1, "x", None);
        if let Some(m) = a.map_mut() {
            m.insert("id".into(), Value::unknown());
        }
        let reviewed = file(vec![change("fake_thing.a", Action::Create, None, Some(a.clone()), &[])]);
        let fresh = file(vec![change("fake_thing.a", Action::Create, None, Some(a), &[])]);
        assert!(differences(&reviewed, &fresh).is_empty());
    }
}
