//! Pull-request comments: a summary heading, a table a reviewer can scan, and the full text
//! plan folded away in a `diff` block.

use std::collections::BTreeSet;

use super::text::{checks_text, drift_text, plan_text};
use super::values::{DiffCtx, Style};
use super::{check_counts, delete_reason, no_changes_line, plural, shown_changes, summary_line, RenderOptions};
use crate::addr::AttrPath;
use crate::lang::value::Value;
use crate::plan::{Action, ActionReason, Drift, Plan, ResourceChange};
use crate::state::{CheckResult, CheckStatus};

/// GitHub rejects comments over 65,536 characters; leave room for the table around the plan.
const MAX_FULL_PLAN_CHARS: usize = 50_000;
/// Changed attributes listed per row before "and N more".
const MAX_DETAIL_PATHS: usize = 8;

/// Text for a table cell: no line breaks, and nothing that ends the cell or starts markup.
fn cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '`' => out.push_str("\\`"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A code span for a table cell, fenced with more backticks than it contains.
fn code(s: &str) -> String {
    let flat: String = s.chars().map(|c| if c == '\n' || c == '\r' { ' ' } else { c }).collect();
    let longest = longest_backtick_run(&flat);
    let fence = "`".repeat(longest + 1);
    // Inside a table the pipe must be escaped even in code (GitHub unescapes it there).
    let body = flat.replace('|', "\\|");
    if longest > 0 || body.starts_with(' ') || body.ends_with(' ') {
        format!("{fence} {body} {fence}")
    } else {
        format!("{fence}{body}{fence}")
    }
}

fn longest_backtick_run(s: &str) -> usize {
    let (mut best, mut run) = (0, 0);
    for c in s.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

fn action_label(c: &ResourceChange) -> &'static str {
    match c.action {
        Action::Create => "➕ create",
        Action::Update if c.importing.is_some() => "📥 import + update",
        Action::Update => "✏️ update",
        Action::DeleteThenCreate => "♻️ replace",
        Action::CreateThenDelete => "♻️ replace (create first)",
        Action::Delete => "🗑️ destroy",
        Action::Read => "📖 read",
        Action::Forget => "📤 forget (object kept)",
        Action::NoOp if c.importing.is_some() => "📥 import",
        Action::NoOp if c.previous_addr.is_some() => "🚚 move",
        Action::NoOp => "no-op",
    }
}

/// Changed paths as code spans, capped.
fn paths_list(paths: &[String]) -> String {
    let mut parts: Vec<String> = paths.iter().take(MAX_DETAIL_PATHS).map(|p| code(p)).collect();
    if paths.len() > MAX_DETAIL_PATHS {
        parts.push(format!("and {} more", paths.len() - MAX_DETAIL_PATHS));
    }
    parts.join(", ")
}

/// Top-level attributes that differ, for changes whose planner left `changed_paths` empty.
fn changed_attributes(before: Option<&Value>, after: Option<&Value>, recorded: &[AttrPath]) -> Vec<String> {
    if !recorded.is_empty() {
        let set: BTreeSet<String> = recorded.iter().map(|p| p.to_string()).collect();
        return set.into_iter().collect();
    }
    let (Some(Value::Map(b)), Some(Value::Map(a))) = (before, after) else { return vec![] };
    let ctx = DiffCtx::new(Style { color: false });
    let keys: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
    keys.into_iter()
        .filter(|k| {
            let (x, y) = (b.get(*k).filter(|v| !v.is_null()), a.get(*k).filter(|v| !v.is_null()));
            match (x, y) {
                (None, None) => false,
                (Some(x), Some(y)) => !ctx.same(x, y, &AttrPath::attr(k)),
                _ => true,
            }
        })
        .map(|k| k.to_string())
        .collect()
}

fn change_details(c: &ResourceChange) -> String {
    let mut parts = Vec::new();
    match c.action {
        Action::Update => {
            let changed = changed_attributes(c.before.as_ref(), c.after.as_ref(), &c.changed_paths);
            if !changed.is_empty() {
                parts.push(format!("changes {}", paths_list(&changed)));
            }
        }
        Action::DeleteThenCreate | Action::CreateThenDelete => match c.reason {
            Some(ActionReason::ReplaceBecauseTainted) => parts.push("tainted".to_string()),
            Some(ActionReason::ReplaceByRequest) => parts.push("replacement requested".to_string()),
            Some(ActionReason::ReplaceByTriggers) => parts.push("replace_triggered_by changed".to_string()),
            _ => {
                let forced: Vec<String> = c.replace_paths.iter().map(|p| p.to_string()).collect();
                if !forced.is_empty() {
                    parts.push(format!("forced by {}", paths_list(&forced)));
                }
            }
        },
        Action::Delete => {
            if let Some(why) = delete_reason(c) {
                parts.push(cell(&why));
            }
        }
        Action::Read => match c.reason {
            Some(ActionReason::ReadBecauseConfigUnknown) => parts.push("config refers to values not yet known".into()),
            Some(ActionReason::ReadBecauseDependencyPending) => {
                parts.push("depends on a resource or a module with changes pending".into())
            }
            _ => {}
        },
        _ => {}
    }
    if let Some(id) = &c.importing {
        match id.as_str() {
            Some(s) if !id.contains_sensitive() => parts.push(format!("import ID {}", code(s))),
            _ => parts.push("import ID (sensitive value)".to_string()),
        }
    }
    if let Some(prev) = &c.previous_addr {
        parts.push(format!("moved from {}", code(&prev.to_string())));
    }
    parts.join("; ")
}

fn drift_details(d: &Drift) -> String {
    if d.after.is_none() || d.action == Action::Delete {
        return "deleted outside Cairn".to_string();
    }
    let changed = changed_attributes(Some(&d.before), d.after.as_ref(), &d.changed_paths);
    if changed.is_empty() {
        String::new()
    } else {
        format!("changed {}", paths_list(&changed))
    }
}

/// Makes the text plan colour well in a ```diff block: GitHub colours lines by their first
/// character, so each action symbol moves to column 0 (`~` becomes `!`).
fn diff_friendly(text: &str) -> String {
    text.lines()
        .map(|line| {
            let indent = line.len() - line.trim_start_matches(' ').len();
            let rest = &line[indent..];
            if indent == 0 {
                return line.to_string();
            }
            for (sym, col0) in [("+ ", "+"), ("- ", "-"), ("~ ", "!"), ("<= ", "<=")] {
                if let Some(tail) = rest.strip_prefix(sym) {
                    return format!("{col0}{}{}", " ".repeat(indent + sym.len() - col0.len()), tail);
                }
            }
            line.to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `<details>` with the text in a fenced block longer than any backtick run inside it.
fn folded(summary: &str, text: &str) -> String {
    let mut body = diff_friendly(text);
    if body.chars().count() > MAX_FULL_PLAN_CHARS {
        let total_lines = body.lines().count();
        let mut kept = String::new();
        for line in body.lines() {
            if kept.len() + line.len() + 1 > MAX_FULL_PLAN_CHARS {
                break;
            }
            kept.push_str(line);
            kept.push('\n');
        }
        let shown = kept.lines().count();
        kept.push_str(&format!(
            "\n... truncated: {} of {total_lines} lines shown; run `cairn plan` to see all of it.",
            shown
        ));
        body = kept;
    }
    let fence = "`".repeat(longest_backtick_run(&body).max(2) + 1);
    format!("<details><summary>{summary}</summary>\n\n{fence}diff\n{}\n{fence}\n\n</details>\n", body.trim_end())
}

fn drift_table(drift: &[Drift]) -> String {
    let mut sorted: Vec<&Drift> = drift.iter().collect();
    sorted.sort_by_cached_key(|d| d.addr.to_string());
    let mut s = String::from("| Change | Resource | Details |\n|---|---|---|\n");
    for d in sorted {
        let label = if d.after.is_none() || d.action == Action::Delete { "🗑️ deleted" } else { "✏️ changed" };
        s.push_str(&format!("| {label} | {} | {} |\n", code(&d.addr.to_string()), drift_details(d)));
    }
    s
}

/// A PR comment for a plan.
pub fn plan_markdown(plan: &Plan) -> String {
    let shown = shown_changes(&plan.changes);
    let outputs: Vec<_> = plan.output_changes.iter().filter(|o| o.action != Action::NoOp).collect();
    let mut s = String::new();
    let heading = if !shown.is_empty() {
        summary_line(plan.counts())
    } else if !outputs.is_empty() {
        "Changes to Outputs only.".to_string()
    } else if !plan.drift.is_empty() && plan.mode == crate::plan::PlanMode::RefreshOnly {
        format!("Refresh only: {} changed outside Cairn.", plural(plan.drift.len(), "resource", "resources"))
    } else {
        no_changes_line(plan.mode).to_string()
    };
    s.push_str(&format!("### {}\n\n", cell(&heading)));

    if !plan.drift.is_empty() {
        s.push_str("#### Changed outside Cairn\n\n");
        s.push_str(&drift_table(&plan.drift));
        s.push('\n');
    }
    if !shown.is_empty() {
        if !plan.drift.is_empty() {
            s.push_str("#### Planned changes\n\n");
        }
        s.push_str("| Action | Resource | Details |\n|---|---|---|\n");
        for c in &shown {
            s.push_str(&format!("| {} | {} | {} |\n", action_label(c), code(&c.addr.to_string()), change_details(c)));
        }
        s.push('\n');
    }
    if !outputs.is_empty() {
        let mut sorted = outputs.clone();
        sorted.sort_by(|a, b| a.name.cmp(&b.name));
        let names: Vec<String> = sorted
            .iter()
            .map(|o| {
                let sym = match o.action {
                    Action::Create => "➕",
                    Action::Delete => "🗑️",
                    _ => "✏️",
                };
                format!("{sym} {}", code(&o.name))
            })
            .collect();
        s.push_str(&format!("**Outputs:** {}\n\n", names.join(", ")));
    }
    let failed: Vec<&CheckResult> = plan.checks.iter().filter(|r| r.status == CheckStatus::Fail).collect();
    for r in failed {
        let msg = if r.messages.is_empty() { "failed".to_string() } else { r.messages.join(" ") };
        s.push_str(&format!("> **Check failed:** {} — {}\n", code(&r.address), cell(&msg)));
    }
    for w in plan.warnings.iter().chain(shown.iter().flat_map(|c| c.warnings.iter())) {
        s.push_str(&format!("> **Warning:** {}\n", cell(w)));
    }
    if !plan.warnings.is_empty()
        || plan.checks.iter().any(|r| r.status == CheckStatus::Fail)
        || shown.iter().any(|c| !c.warnings.is_empty())
    {
        s.push('\n');
    }
    s.push_str(&folded("Full plan", &plan_text(plan, &RenderOptions { color: false })));
    s
}

/// The hidden first line of a plan comment: `<!-- cairn-plan: stacks/staging -->`. A workflow
/// finds the comment it posted earlier by this line and edits it instead of adding another.
pub fn plan_comment_marker(name: &str) -> String {
    // An HTML comment ends at `--` (strictly) or `-->`, and the marker must stay one line.
    let mut clean: String = name.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    while clean.contains("--") {
        clean = clean.replace("--", "-");
    }
    format!("<!-- cairn-plan: {} -->", clean.trim().trim_end_matches('-'))
}

/// The whole pull-request comment for a saved plan (`cairn show --format markdown`): the
/// marker line, then [`plan_markdown`].
pub fn plan_comment_markdown(plan: &Plan, name: &str) -> String {
    format!("{}\n{}", plan_comment_marker(name), plan_markdown(plan))
}

/// A PR comment (or issue body) for `cairn drift`.
pub fn drift_markdown(plan: &Plan) -> String {
    let mut s = String::new();
    if plan.drift.is_empty() {
        s.push_str("### No drift\n\nThe real infrastructure matches the state.\n");
        return s;
    }
    s.push_str(&format!("### Drift detected in {}\n\n", plural(plan.drift.len(), "resource", "resources")));
    s.push_str(&drift_table(&plan.drift));
    s.push('\n');
    s.push_str(&folded("Full drift report", &drift_text(plan, &RenderOptions { color: false })));
    s
}

/// A PR comment for `cairn check`.
pub fn checks_markdown(results: &[CheckResult]) -> String {
    let (pass, fail, unknown) = check_counts(results);
    let mut s = format!("### Checks: {pass} passed, {fail} failed, {unknown} unknown\n\n");
    if results.is_empty() {
        s.push_str("No checks to report.\n");
        return s;
    }
    s.push_str("| Status | Check | Details |\n|---|---|---|\n");
    for r in results {
        let (label, default) = match r.status {
            CheckStatus::Pass => ("✅ pass", ""),
            CheckStatus::Fail => ("❌ fail", ""),
            CheckStatus::Unknown => ("❔ unknown", "known only after apply"),
        };
        let details = if r.messages.is_empty() { default.to_string() } else { cell(&r.messages.join("; ")) };
        s.push_str(&format!("| {label} | {} | {details} |\n", code(&r.address)));
    }
    // The text listing is redundant with the table; kept folded for copy-paste into terminals.
    s.push('\n');
    s.push_str(&folded("As text", &checks_text(results, &RenderOptions { color: false })));
    s
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    #[test]
    fn cells_escape_pipes_and_backticks() {
        assert_eq!(cell("a|b`c<d>\ne"), "a\\|b\\`c&lt;d&gt; e");
        assert_eq!(code("x[\"a|b\"]"), "`x[\"a\\|b\"]`");
        assert_eq!(code("a`b"), "`` a`b ``");
    }

    #[test]
    fn symbols_move_to_column_zero() {
        assert_eq!(
            diff_friendly("  + resource \"a\" \"b\" {\n      ~ x = 1 -> 2\n        y = 3"),
            "+   resource \"a\" \"b\" {\n!       x = 1 -> 2\n        y = 3"
        );
    }

    #[test]
    fn fence_outlasts_backticks_in_plan() {
        let out = folded("Full plan", "  + x = \"```\"");
        assert!(out.contains("````diff\n"), "{out}");
    }

    #[test]
    fn plan_comment() {
        let mut plan = plan_with(vec![
            create_sql_instance(),
            update_bucket(),
            replace_sql_instance(),
            delete_each_key(),
            import_noop(),
            moved_update(),
        ]);
        plan.drift = vec![drift_changed(), drift_deleted()];
        plan.output_changes = outputs();
        plan.checks = checks();
        let md = plan_markdown(&plan);
        assert!(md.starts_with("### Plan: 1 to import, 2 to add, 2 to change, 2 to destroy.\n"), "{md}");
        assert!(
            md.contains(
                "| ♻️ replace | `module.data.google_sql_database_instance.db` | forced by `settings[0].tier` |"
            ),
            "{md}"
        );
        assert!(md.contains("<details><summary>Full plan</summary>"));
        insta::assert_snapshot!(md);
    }

    #[test]
    fn comment_markers_stay_one_html_comment() {
        assert_eq!(plan_comment_marker("stacks/staging"), "<!-- cairn-plan: stacks/staging -->");
        assert_eq!(plan_comment_marker("a--b-->\nc-"), "<!-- cairn-plan: a-b-> c -->");
        let md = plan_comment_markdown(&plan_with(vec![]), "stacks/staging");
        assert!(md.starts_with("<!-- cairn-plan: stacks/staging -->\n### No changes."), "{md}");
    }

    #[test]
    fn no_changes_comment() {
        let md = plan_markdown(&plan_with(vec![]));
        assert!(md.starts_with("### No changes. Your infrastructure matches the configuration.\n"), "{md}");
    }

    #[test]
    fn drift_and_checks_comments() {
        let mut plan = plan_with(vec![]);
        plan.drift = vec![drift_changed(), drift_deleted()];
        insta::assert_snapshot!("drift_comment", drift_markdown(&plan));
        let md = checks_markdown(&checks());
        assert!(md.contains("Backups are disabled on db \\| main."), "{md}");
        insta::assert_snapshot!("checks_comment", md);
    }
}
