//! The human plan, in Terraform's layout, so that people who read Terraform plans read Cairn's
//! without learning anything new.

use std::collections::BTreeMap;

use super::values::{DiffCtx, Style};
use super::{
    check_counts, checks_summary, headline, no_changes_line, plural, shown_changes, summary_line, RenderOptions,
};
use crate::addr::{AttrPath, InstanceAddr};
use crate::lang::config::ResourceMode;
use crate::lang::value::Value;
use crate::plan::{Action, Drift, Plan, PlanMode, ResourceChange};
use crate::state::{CheckResult, CheckStatus};

const RULE_WIDTH: usize = 77;

/// The whole plan: drift, the legend, each change, the summary, output changes, warnings.
pub fn plan_text(plan: &Plan, opts: &RenderOptions) -> String {
    let style = Style { color: opts.color };
    let mut out: Vec<String> = Vec::new();
    // Each change's lines join the text as soon as they are made: a 100,000-instance destroy
    // plan is hundreds of megabytes of lines, held at once with the plan and its state.
    let mut text = String::new();

    if !plan.drift.is_empty() {
        drift_section(&mut out, plan, style);
        out.push(String::new());
        if plan.mode == PlanMode::RefreshOnly {
            out.push(
                "This is a refresh-only plan, so Cairn will not take any actions to undo these. If you were \
                 expecting these changes then you can apply this plan to record the updated values in the \
                 Cairn state without changing any remote objects."
                    .to_string(),
            );
        } else {
            out.push(
                "Unless you have made equivalent changes to your configuration, or ignored the relevant \
                 attributes using ignore_changes, the following plan may include actions to undo or respond \
                 to these changes."
                    .to_string(),
            );
        }
        out.push(String::new());
        out.push("─".repeat(RULE_WIDTH));
        out.push(String::new());
    }

    let shown = shown_changes(&plan.changes);
    let outputs: Vec<_> = plan.output_changes.iter().filter(|o| o.action != Action::NoOp).collect();

    if !shown.is_empty() {
        let used: Vec<Action> = [
            Action::Create,
            Action::Update,
            Action::Delete,
            Action::DeleteThenCreate,
            Action::CreateThenDelete,
            Action::Read,
            Action::Forget,
        ]
        .into_iter()
        .filter(|a| shown.iter().any(|c| c.action == *a))
        .collect();
        if !used.is_empty() {
            out.push(
                "Cairn used the selected providers to generate the following execution plan. Resource actions \
                 are indicated with the following symbols:"
                    .to_string(),
            );
            for a in used {
                out.push(format!("{} {}", style.symbol(a), legend_word(a)));
            }
            out.push(String::new());
        }
        out.push("Cairn will perform the following actions:".to_string());
        out.push(String::new());
        // With objects in more than one project (provider configurations for several), each
        // says where it lands; with one, the line would only repeat the provider block.
        let several_projects =
            plan.changes.iter().filter_map(project_of).collect::<std::collections::BTreeSet<_>>().len() > 1;
        for c in &shown {
            change_block(&mut out, c, style, several_projects.then(|| project_of(c)).flatten());
            out.push(String::new());
            flush(&mut text, &mut out);
        }
        out.push(style.bold(&summary_line(plan.counts())));
    }

    if !outputs.is_empty() {
        if !shown.is_empty() {
            out.push(String::new());
        }
        out.push(style.bold("Changes to Outputs:"));
        let width = outputs.iter().map(|o| o.name.chars().count()).max().unwrap_or(0);
        let ctx = DiffCtx::new(style);
        let mut sorted = outputs.clone();
        sorted.sort_by(|a, b| a.name.cmp(&b.name));
        for o in sorted {
            // A sensitive output is redacted as a whole, whatever marks its value carries.
            let before = o.before.clone().map(|v| v.mark_if(o.sensitive));
            let after = o.after.clone().map(|v| v.mark_if(o.sensitive));
            let (diff_action, lines) = ctx.diff_value(before.as_ref(), after.as_ref(), 0, &AttrPath::attr(&o.name));
            let symbol = match o.action {
                Action::Create | Action::Update | Action::Delete => o.action,
                _ => diff_action,
            };
            ctx.attribute(&mut out, 0, symbol, &o.name, width, lines);
        }
        if shown.is_empty() {
            out.push(String::new());
            out.push(
                "You can apply this plan to save these new output values to the Cairn state, without changing \
                 any real infrastructure."
                    .to_string(),
            );
        }
    }

    if shown.is_empty() && outputs.is_empty() {
        if plan.mode == PlanMode::RefreshOnly && !plan.drift.is_empty() {
            // The drift section above is the whole plan.
        } else {
            out.push(style.bold(no_changes_line(plan.mode)));
            out.push(String::new());
            out.push(no_changes_detail(plan.mode).to_string());
        }
    }

    let warnings = plan_warnings(plan);
    if !warnings.is_empty() {
        out.push(String::new());
        for w in warnings {
            out.push(format!("{} {w}", style.yellow(&style.bold("Warning:"))));
        }
    }
    flush(&mut text, &mut out);
    text
}

/// `cairn drift`: only the changes made outside Cairn, and a one-line verdict.
pub fn drift_text(plan: &Plan, opts: &RenderOptions) -> String {
    let style = Style { color: opts.color };
    let mut out = Vec::new();
    if plan.drift.is_empty() {
        let n = plan.prior_state.resources.len();
        out.push(if n == 0 {
            "No drift: the state records no resources to compare.".to_string()
        } else {
            format!(
                "No drift: {} in sync with the real infrastructure.",
                if n == 1 {
                    "the 1 resource in state is".to_string()
                } else {
                    format!("all {n} resources in state are")
                }
            )
        });
        return finish(out);
    }
    drift_section(&mut out, plan, style);
    out.push(String::new());
    out.push(style.bold(&format!("Drift detected in {}.", plural(plan.drift.len(), "resource", "resources"))));
    finish(out)
}

/// `cairn check`: one line per check, its failure messages, then the counts.
pub fn checks_text(results: &[CheckResult], opts: &RenderOptions) -> String {
    let style = Style { color: opts.color };
    let mut out = Vec::new();
    if results.is_empty() {
        out.push("No checks to report.".to_string());
        return finish(out);
    }
    for r in results {
        let (label, note) = match r.status {
            CheckStatus::Pass => (style.green("pass   "), ""),
            CheckStatus::Fail => (style.red("fail   "), ""),
            CheckStatus::Unknown => (style.yellow("unknown"), " (depends on values known only after apply)"),
        };
        out.push(format!("  {label} {}{note}", r.address));
        for m in &r.messages {
            let mut lines = m.lines();
            if let Some(first) = lines.next() {
                out.push(format!("            - {first}"));
            }
            for l in lines {
                out.push(format!("              {l}"));
            }
        }
    }
    out.push(String::new());
    let (_, fail, _) = check_counts(results);
    let summary = checks_summary(results);
    out.push(if fail > 0 { style.red(&style.bold(&summary)) } else { style.bold(&summary) });
    finish(out)
}

/// The lines as one text.
fn finish(mut out: Vec<String>) -> String {
    let mut s = String::with_capacity(out.iter().map(|l| l.len() + 1).sum());
    flush(&mut s, &mut out);
    s
}

/// Moves `lines` to the end of `text`, each freed as it is copied.
fn flush(text: &mut String, lines: &mut Vec<String>) {
    for line in lines.drain(..) {
        text.push_str(&line);
        text.push('\n');
    }
}

fn legend_word(a: Action) -> &'static str {
    match a {
        Action::Create => "create",
        Action::Update => "update in-place",
        Action::Delete => "destroy",
        Action::DeleteThenCreate => "destroy and then create replacement",
        Action::CreateThenDelete => "create replacement and then destroy",
        Action::Read => "read (data resources)",
        Action::Forget => "forget",
        Action::NoOp => "no-op",
    }
}

fn no_changes_detail(mode: PlanMode) -> &'static str {
    match mode {
        PlanMode::Normal => {
            "Cairn has compared your real infrastructure against your configuration and found no differences, \
             so no changes are needed."
        }
        PlanMode::Destroy => {
            "Either you have not created any objects yet or the existing objects were already deleted outside \
             of Cairn."
        }
        PlanMode::RefreshOnly => {
            "Cairn has checked that the real remote objects still match the result of your most recent \
             changes, and found no differences."
        }
    }
}

/// Plan-wide warnings, per-change warnings (prefixed with the address), failed checks and
/// targeting.
fn plan_warnings(plan: &Plan) -> Vec<String> {
    let mut w: Vec<String> = plan.warnings.clone();
    for c in shown_changes(&plan.changes) {
        w.extend(c.warnings.iter().map(|m| format!("{}: {m}", c.addr)));
    }
    for r in plan.checks.iter().filter(|r| r.status == CheckStatus::Fail) {
        if r.messages.is_empty() {
            w.push(format!("{} failed", r.address));
        }
        w.extend(r.messages.iter().map(|m| format!("{} failed: {m}", r.address)));
    }
    if !plan.targets.is_empty() {
        w.push(format!(
            "Resource targeting is in effect ({}): the plan may be incomplete. Use -target only for exceptional \
             situations such as recovering from errors.",
            plan.targets.join(", ")
        ));
    }
    w
}

fn drift_section(out: &mut Vec<String>, plan: &Plan, style: Style) {
    out.push(style.bold("Note: Objects have changed outside of Cairn"));
    out.push(String::new());
    out.push("Cairn detected the following changes made outside of Cairn since the last \"cairn apply\":".to_string());
    out.push(String::new());
    let mut drift: Vec<&Drift> = plan.drift.iter().collect();
    drift.sort_by_cached_key(|d| d.addr.to_string());
    for (i, d) in drift.into_iter().enumerate() {
        if i > 0 {
            out.push(String::new());
        }
        let what = if d.after.is_none() || d.action == Action::Delete { "has been deleted" } else { "has changed" };
        out.push(style.bold(&format!("  # {} {what}", d.addr)));
        let action = if d.after.is_none() { Action::Delete } else { Action::Update };
        let ctx = DiffCtx { changed_paths: &d.changed_paths, ..DiffCtx::new(style) };
        object(out, &ctx, action, &d.addr, &d.type_name, Some(&d.before), d.after.as_ref());
    }
}

/// The project an object is (or will be) in: its `project` attribute, planned or prior (never
/// a sensitive one).
fn project_of(c: &ResourceChange) -> Option<&str> {
    [c.after.as_ref(), c.before.as_ref()]
        .into_iter()
        .flatten()
        .find_map(|v| v.get("project").filter(|p| !p.is_sensitive())?.as_str())
}

fn change_block(out: &mut Vec<String>, c: &ResourceChange, style: Style, project: Option<&str>) {
    let (what, reasons) = headline(c);
    out.push(style.bold(&format!("  # {what}")));
    for r in reasons {
        out.push(style.bold(&format!("  # {r}")));
    }
    if let Some(p) = project {
        out.push(style.bold(&format!("  # (in project \"{p}\")")));
    }
    let ctx = DiffCtx {
        style,
        replace_paths: &c.replace_paths,
        changed_paths: &c.changed_paths,
        show_unchanged: c.action == Action::NoOp && c.importing.is_some(),
    };
    object(out, &ctx, c.action, &c.addr, &c.type_name, c.before.as_ref(), c.after.as_ref());
}

/// `± resource "type" "name" { … }`.
fn object(
    out: &mut Vec<String>,
    ctx: &DiffCtx,
    action: Action,
    addr: &InstanceAddr,
    type_name: &str,
    before: Option<&Value>,
    after: Option<&Value>,
) {
    let keyword = match addr.resource.mode {
        ResourceMode::Managed => "resource",
        ResourceMode::Data => "data",
    };
    out.push(format!("{} {keyword} \"{type_name}\" \"{}\" {{", ctx.style.symbol(action), addr.resource.name));
    let empty = BTreeMap::new();
    fn object_of(v: Option<&Value>) -> Option<&BTreeMap<String, Value>> {
        match v {
            Some(Value::Map(m)) => Some(m),
            // An unknown or null object has no attributes to show.
            _ => None,
        }
    }
    let (b, a) = match action {
        Action::Create | Action::Read => (None, object_of(after).or(Some(&empty))),
        Action::Delete | Action::Forget => (object_of(before).or(Some(&empty)), None),
        _ => (object_of(before), object_of(after)),
    };
    ctx.body(out, 1, b, a, &AttrPath::root());
    out.push("    }".to_string());
}

/// The line that ends a successful apply's report: its critical path, measured, and its wall
/// time (`verb`: "apply" or "destroy"). A long chain shows its first three steps and its last.
pub fn critical_path_line(cp: &crate::apply::CriticalPath, verb: &str) -> String {
    const SHOWN: usize = 4;
    let names: Vec<String> = cp.chain.iter().map(|s| s.addr.to_string()).collect();
    let shown = if names.len() > SHOWN {
        let hidden = names.len() - SHOWN;
        format!("{} → … {hidden} more → {}", names[..SHOWN - 1].join(" → "), names[names.len() - 1])
    } else {
        names.join(" → ")
    };
    format!("Critical path {:.1} s ({shown}); {verb} took {:.1} s", cp.length.as_secs_f64(), cp.wall.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    fn plain(plan: &Plan) -> String {
        plan_text(plan, &RenderOptions { color: false })
    }

    #[test]
    fn create_with_nested_blocks_and_unknowns() {
        let plan = plan_with(vec![create_sql_instance()]);
        insta::assert_snapshot!(plain(&plan));
    }

    #[test]
    fn update_hides_unchanged_and_diffs_collections() {
        let plan = plan_with(vec![update_bucket()]);
        let text = plain(&plan);
        assert!(text.contains("# (1 unchanged attribute hidden)"), "{text}");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn replace_marks_forcing_paths() {
        let plan = plan_with(vec![replace_sql_instance()]);
        let text = plain(&plan);
        assert!(text.contains("~ tier = \"db-f1-micro\" -> \"db-custom-2-4096\" # forces replacement"), "{text}");
        assert!(text.contains("must be replaced"));
        insta::assert_snapshot!(text);
    }

    #[test]
    fn deletes_with_reasons() {
        let plan = plan_with(vec![delete_no_config(), delete_count_index(), delete_each_key()]);
        let text = plain(&plan);
        assert!(text.contains("# (because random_id.gone is not in configuration)"), "{text}");
        assert!(text.contains("# (because index [2] is out of range for count)"), "{text}");
        assert!(text.contains("# (because key [\"b\"] is not in for_each map)"), "{text}");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn multiline_strings_diff_line_by_line() {
        let plan = plan_with(vec![update_startup_script()]);
        insta::assert_snapshot!(plain(&plan));
    }

    #[test]
    fn imports_and_moves() {
        let plan = plan_with(vec![import_noop(), import_update(), moved_noop(), moved_update()]);
        let text = plain(&plan);
        assert!(text.contains("will be imported\n"), "{text}");
        assert!(text.contains("will be imported and updated"), "{text}");
        assert!(text.contains("random_id.old has moved to random_id.new"), "{text}");
        assert!(text.contains("# (moved from module.old.random_id.x)"), "{text}");
        assert!(text.starts_with("Cairn used the selected providers"), "{text}");
        assert!(text.contains("Plan: 2 to import, 0 to add, 2 to change, 0 to destroy."), "{text}");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn drift_outputs_and_warnings() {
        let mut plan = plan_with(vec![update_bucket()]);
        plan.drift = vec![drift_changed(), drift_deleted()];
        plan.output_changes = outputs();
        plan.warnings = vec!["provider google is configured without a default region".into()];
        let text = plain(&plan);
        let drift_at = text.find("Note: Objects have changed outside of Cairn").unwrap_or(usize::MAX);
        let plan_at = text.find("Cairn will perform the following actions:").unwrap_or(0);
        assert!(drift_at < plan_at, "drift must come first:\n{text}");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn no_changes() {
        let plan = plan_with(vec![]);
        insta::assert_snapshot!(plain(&plan), @r"
        No changes. Your infrastructure matches the configuration.

        Cairn has compared your real infrastructure against your configuration and found no differences, so no changes are needed.
        ");
    }

    #[test]
    fn outputs_only() {
        let mut plan = plan_with(vec![]);
        plan.output_changes = outputs();
        let text = plain(&plan);
        assert!(!text.contains("Plan:"), "{text}");
        assert!(text.contains("You can apply this plan to save these new output values"), "{text}");
    }

    #[test]
    fn legend_lists_only_used_symbols() {
        let plan = plan_with(vec![create_sql_instance()]);
        let text = plain(&plan);
        assert!(text.contains("  + create\n"));
        assert!(!text.contains("update in-place"));
        assert!(!text.contains("destroy and then create replacement"));
    }

    #[test]
    fn colour_only_when_asked() {
        let plan = plan_with(vec![create_sql_instance(), replace_sql_instance()]);
        assert!(!plain(&plan).contains('\u{1b}'));
        let coloured = plan_text(&plan, &RenderOptions { color: true });
        assert!(coloured.contains("\u{1b}[32m+\u{1b}[39m"), "green +: {coloured}");
    }

    #[test]
    fn drift_command_text() {
        let mut plan = plan_with(vec![]);
        plan.drift = vec![drift_changed(), drift_deleted()];
        let text = drift_text(&plan, &RenderOptions::default());
        assert!(text.ends_with("Drift detected in 2 resources.\n"), "{text}");
        insta::assert_snapshot!(text);
        let clean = drift_text(&plan_with(vec![]), &RenderOptions::default());
        assert!(clean.starts_with("No drift:"), "{clean}");
    }

    #[test]
    fn checks_listing() {
        let text = checks_text(&checks(), &RenderOptions::default());
        assert!(text.ends_with("Checks: 1 passed, 1 failed, 1 unknown.\n"), "{text}");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn the_critical_path_line_is_one_short_line_even_for_a_long_chain() {
        let step = |name: &str, ms: u64| crate::apply::CriticalStep {
            addr: crate::addr::ResourceAddr::managed(crate::addr::ModulePath::root(), "google_sql_database", name)
                .instance(crate::addr::InstanceKey::None),
            action: Action::Create,
            elapsed: std::time::Duration::from_millis(ms),
        };
        let mut cp = crate::apply::CriticalPath {
            chain: vec![step("a", 40_000), step("b", 1_200)],
            length: std::time::Duration::from_millis(41_200),
            wall: std::time::Duration::from_millis(43_040),
        };
        assert_eq!(
            critical_path_line(&cp, "apply"),
            "Critical path 41.2 s (google_sql_database.a → google_sql_database.b); apply took 43.0 s"
        );
        cp.chain = ["a", "b", "c", "d", "e", "f"].iter().map(|n| step(n, 1)).collect();
        assert_eq!(
            critical_path_line(&cp, "destroy"),
            "Critical path 41.2 s (google_sql_database.a → google_sql_database.b → google_sql_database.c → … 2 more → google_sql_database.f); destroy took 43.0 s"
        );
    }
}
