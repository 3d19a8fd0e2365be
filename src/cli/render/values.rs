//! Terraform's attribute-diff layout for one object: `~ attr = "old" -> "new"`, nested blocks,
//! element-wise lists and maps, sets by content, heredoc strings diffed line by line.
//!
//! Secrecy rule for this file: a value is only ever formatted through [`DiffCtx::render_value`]
//! and friends, which check for a sensitive mark (or a withheld secret) before looking inside.
//! Nothing here calls `peel()`/`as_str()`/`as_map()` to format — those strip the mark. `peel()`
//! is used only to *compare* values, never to print them.

use std::collections::{BTreeMap, BTreeSet};

use owo_colors::OwoColorize;

use crate::addr::AttrPath;
use crate::lang::fmt::hcl_quote;
use crate::lang::value::{Unknown, Value};
use crate::plan::Action;

pub(crate) const SENSITIVE: &str = "(sensitive value)";
pub(crate) const KNOWN_AFTER_APPLY: &str = "(known after apply)";
const FORCES_REPLACEMENT: &str = "# forces replacement";

/// Colour on or off; every coloured fragment goes through here.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Style {
    pub color: bool,
}

impl Style {
    pub fn bold(&self, s: &str) -> String {
        if self.color {
            s.bold().to_string()
        } else {
            s.to_string()
        }
    }
    pub fn green(&self, s: &str) -> String {
        if self.color {
            s.green().to_string()
        } else {
            s.to_string()
        }
    }
    pub fn red(&self, s: &str) -> String {
        if self.color {
            s.red().to_string()
        } else {
            s.to_string()
        }
    }
    pub fn yellow(&self, s: &str) -> String {
        if self.color {
            s.yellow().to_string()
        } else {
            s.to_string()
        }
    }
    pub fn cyan(&self, s: &str) -> String {
        if self.color {
            s.cyan().to_string()
        } else {
            s.to_string()
        }
    }
    pub fn dim(&self, s: &str) -> String {
        if self.color {
            s.dimmed().to_string()
        } else {
            s.to_string()
        }
    }

    /// The action symbol right-aligned in three columns, as Terraform prints it.
    pub fn symbol(&self, action: Action) -> String {
        match action {
            Action::NoOp => "   ".to_string(),
            Action::Create => format!("  {}", self.green("+")),
            Action::Update => format!("  {}", self.yellow("~")),
            Action::Delete => format!("  {}", self.red("-")),
            Action::DeleteThenCreate => format!("{}/{}", self.red("-"), self.green("+")),
            Action::CreateThenDelete => format!("{}/{}", self.green("+"), self.red("-")),
            Action::Read => format!(" {}", self.cyan("<=")),
            Action::Forget => format!("  {}", self.red(".")),
        }
    }
}

/// Four spaces per nesting level; the three-column symbol and a space follow.
pub(crate) fn pad(level: usize) -> String {
    "    ".repeat(level)
}

/// A line with no action symbol at `level` (closing braces, hidden-count comments).
fn plain_line(level: usize, text: &str) -> String {
    format!("{}    {}", pad(level), text)
}

fn hidden_line(level: usize, n: usize, noun: &str, style: Style) -> String {
    let plural = if n == 1 { "" } else { "s" };
    plain_line(level, &style.dim(&format!("# ({n} unchanged {noun}{plural} hidden)")))
}

/// A secret whose content must not be shown: marked sensitive, or withheld from state.
pub(crate) fn is_secret(v: &Value) -> bool {
    matches!(v, Value::Sensitive(_) | Value::Unknown(Unknown::Withheld { .. }))
}

fn is_pending(v: &Value) -> bool {
    matches!(v, Value::Unknown(Unknown::Pending))
}

/// `None` for absent and null alike: Terraform does not show null attributes.
fn present(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !v.is_null())
}

fn is_multiline_string(v: &Value) -> bool {
    matches!(v, Value::String(s) if s.contains('\n'))
}

/// A list or set of objects is shown as repeated nested blocks (`settings { … }`), the way the
/// Terraform SDK represents blocks. Anything sensitive or unknown stays an attribute.
fn block_elements(v: &Value) -> Option<(&[Value], bool)> {
    match v {
        Value::List(xs) if xs.iter().all(|x| matches!(x, Value::Map(_))) => Some((xs, false)),
        Value::Set(xs) if xs.iter().all(|x| matches!(x, Value::Map(_))) => Some((xs, true)),
        _ => None,
    }
}

fn is_block(b: Option<&Value>, a: Option<&Value>) -> bool {
    let sides: Vec<_> = [b, a].into_iter().flatten().collect();
    if sides.is_empty() {
        return false;
    }
    let mut any_element = false;
    let mut kinds = BTreeSet::new();
    for v in &sides {
        match block_elements(v) {
            Some((xs, is_set)) => {
                any_element |= !xs.is_empty();
                if !xs.is_empty() {
                    kinds.insert(is_set);
                }
            }
            None => return false,
        }
    }
    any_element && kinds.len() <= 1
}

/// One step of a list diff.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Keep(usize, usize),
    Delete(usize),
    Insert(usize),
    /// A removed and an added object at the same place: shown as an in-place update.
    Pair(usize, usize),
}

/// Above this many comparisons a list is diffed by position rather than by LCS.
const LCS_LIMIT: usize = 250_000;

/// Longest-common-subsequence diff of two lists; objects that replace each other in a gap are
/// paired into updates, as Terraform does, so a changed attribute inside a block reads as `~`.
pub(crate) fn list_ops(b: &[Value], a: &[Value], eq: &dyn Fn(usize, usize) -> bool, pair_objects: bool) -> Vec<Op> {
    let (n, m) = (b.len(), a.len());
    let mut raw = Vec::with_capacity(n + m);
    if n.saturating_mul(m) > LCS_LIMIT {
        for i in 0..n.max(m) {
            match (i < n, i < m) {
                (true, true) if eq(i, i) => raw.push(Op::Keep(i, i)),
                (true, true) => {
                    raw.push(Op::Delete(i));
                    raw.push(Op::Insert(i));
                }
                (true, false) => raw.push(Op::Delete(i)),
                (false, true) => raw.push(Op::Insert(i)),
                (false, false) => {}
            }
        }
    } else {
        // lcs[i][j] = LCS length of b[i..] and a[j..].
        let mut lcs = vec![vec![0u32; m + 1]; n + 1];
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                lcs[i][j] = if eq(i, j) { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n || j < m {
            if i < n && j < m && eq(i, j) {
                raw.push(Op::Keep(i, j));
                i += 1;
                j += 1;
            } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
                raw.push(Op::Insert(j));
                j += 1;
            } else {
                raw.push(Op::Delete(i));
                i += 1;
            }
        }
    }
    // Within each gap between kept elements: deletions first, then insertions, pairing
    // objects up when asked.
    let mut out = Vec::with_capacity(raw.len());
    let mut gap_del = Vec::new();
    let mut gap_ins = Vec::new();
    let flush = |out: &mut Vec<Op>, dels: &mut Vec<usize>, ins: &mut Vec<usize>| {
        let paired = if pair_objects { dels.len().min(ins.len()) } else { 0 };
        for k in 0..paired {
            out.push(Op::Pair(dels[k], ins[k]));
        }
        out.extend(dels[paired..].iter().map(|&i| Op::Delete(i)));
        out.extend(ins[paired..].iter().map(|&j| Op::Insert(j)));
        dels.clear();
        ins.clear();
    };
    for op in raw {
        match op {
            Op::Delete(i) => gap_del.push(i),
            Op::Insert(j) => gap_ins.push(j),
            other => {
                flush(&mut out, &mut gap_del, &mut gap_ins);
                out.push(other);
            }
        }
    }
    flush(&mut out, &mut gap_del, &mut gap_ins);
    out
}

/// Which items of a diff to show: every change, plus `context` unchanged items on either side.
fn visible(changed: &[bool], context: usize) -> Vec<bool> {
    let mut vis = changed.to_vec();
    for (i, &c) in changed.iter().enumerate() {
        if c {
            let lo = i.saturating_sub(context);
            let hi = (i + context).min(changed.len().saturating_sub(1));
            for v in &mut vis[lo..=hi] {
                *v = true;
            }
        }
    }
    // A comment saying "1 unchanged element hidden" takes the same room as the element.
    for i in 0..vis.len() {
        let lone = !vis[i] && (i == 0 || vis[i - 1]) && (i + 1 == vis.len() || vis[i + 1]);
        if lone && changed.iter().any(|c| *c) {
            vis[i] = true;
        }
    }
    vis
}

/// Rendering context for one object's diff.
pub(crate) struct DiffCtx<'a> {
    pub style: Style,
    /// Paths whose change forces replacement; their lines get `# forces replacement`.
    pub replace_paths: &'a [AttrPath],
    /// The planner's record of what changed; decides for secrets that cannot be compared.
    pub changed_paths: &'a [AttrPath],
    /// Show unchanged attributes too (an imported object is shown whole).
    pub show_unchanged: bool,
}

/// Rendered value: the first line continues `key = `; the others are complete lines.
type Lines = Vec<String>;

impl<'a> DiffCtx<'a> {
    pub fn new(style: Style) -> Self {
        DiffCtx { style, replace_paths: &[], changed_paths: &[], show_unchanged: false }
    }

    fn path_changed(&self, path: &AttrPath) -> bool {
        self.changed_paths.is_empty() || self.changed_paths.iter().any(|c| c.starts_with(path) || path.starts_with(c))
    }

    fn forces_replacement(&self, path: &AttrPath) -> bool {
        self.replace_paths.iter().any(|p| p == path)
    }

    fn replacement_note(&self) -> String {
        format!(" {}", self.style.red(FORCES_REPLACEMENT))
    }

    /// Equality for diffing: marks ignored, null equals absent, a pending unknown equals
    /// nothing, and withheld secrets compare by fingerprint (or the planner's changed paths).
    pub fn same(&self, b: &Value, a: &Value, path: &AttrPath) -> bool {
        match (b.peel(), a.peel()) {
            (Value::Unknown(Unknown::Pending), _) | (_, Value::Unknown(Unknown::Pending)) => false,
            (
                Value::Unknown(Unknown::Withheld { fingerprint: Some(x) }),
                Value::Unknown(Unknown::Withheld { fingerprint: Some(y) }),
            ) => x == y,
            (Value::Unknown(Unknown::Withheld { .. }), _) | (_, Value::Unknown(Unknown::Withheld { .. })) => {
                !self.path_changed(path)
            }
            (Value::List(x), Value::List(y)) | (Value::Set(x), Value::Set(y)) => {
                x.len() == y.len()
                    && x.iter().zip(y).enumerate().all(|(i, (p, q))| self.same(p, q, &path.join_index(i as i64)))
            }
            (Value::Map(x), Value::Map(y)) => {
                let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
                keys.into_iter().all(|k| match (present(x.get(k)), present(y.get(k))) {
                    (None, None) => true,
                    (Some(p), Some(q)) => self.same(p, q, &path.join_attr(k)),
                    _ => false,
                })
            }
            (Value::Number(x), Value::Number(y)) => x == y,
            (x, y) => x == y,
        }
    }

    /// A whole value (no diff), every element carrying `action`'s symbol.
    pub fn render_value(&self, v: &Value, level: usize, action: Action) -> Lines {
        match v {
            Value::Sensitive(_) | Value::Unknown(Unknown::Withheld { .. }) => vec![SENSITIVE.to_string()],
            Value::Unknown(Unknown::Pending) => vec![KNOWN_AFTER_APPLY.to_string()],
            Value::Null => vec!["null".to_string()],
            Value::Bool(b) => vec![b.to_string()],
            Value::Number(n) => vec![n.to_string()],
            Value::String(s) if s.contains('\n') => {
                let mut lines = vec!["<<-EOT".to_string()];
                lines.extend(s.lines().map(|l| format!("{}    {}", pad(level + 1), l)));
                lines.push(plain_line(level, "EOT"));
                lines
            }
            Value::String(s) => vec![hcl_quote(s)],
            Value::List(xs) | Value::Set(xs) => {
                if xs.is_empty() {
                    return vec!["[]".to_string()];
                }
                let mut lines = vec!["[".to_string()];
                for x in xs {
                    let mut el = self.render_value(x, level + 1, action);
                    if let Some(last) = el.last_mut() {
                        last.push(',');
                    }
                    self.push_entry(&mut lines, level + 1, action, String::new(), el);
                }
                lines.push(plain_line(level, "]"));
                lines
            }
            Value::Map(m) => {
                if m.is_empty() {
                    return vec!["{}".to_string()];
                }
                let entries: Vec<(String, &Value)> = m.iter().map(|(k, v)| (hcl_quote(k), v)).collect();
                let width = entries.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0);
                let mut lines = vec!["{".to_string()];
                for (k, v) in entries {
                    let el = self.render_value(v, level + 1, action);
                    self.push_entry(&mut lines, level + 1, action, format!("{k:<width$} = "), el);
                }
                lines.push(plain_line(level, "}"));
                lines
            }
        }
    }

    /// Appends `prefix + first` as a symbol line at `level`, then the value's remaining lines.
    fn push_entry(&self, out: &mut Vec<String>, level: usize, action: Action, prefix: String, value: Lines) {
        let mut it = value.into_iter();
        let first = it.next().unwrap_or_default();
        out.push(format!("{}{} {}{}", pad(level), self.style.symbol(action), prefix, first));
        out.extend(it);
    }

    /// `before -> after` for values that cannot be diffed inside (type changes, secrets,
    /// unknowns).
    fn replaced(&self, b: &Value, a: &Value, level: usize) -> Lines {
        let mut lines = self.render_value(b, level, Action::Delete);
        let after = self.render_value(a, level, Action::Create);
        let mut after = after.into_iter();
        if let Some(last) = lines.last_mut() {
            last.push_str(" -> ");
            last.push_str(&after.next().unwrap_or_default());
        }
        lines.extend(after);
        lines
    }

    /// The diff of one attribute or element: the action it gets and its rendering.
    pub fn diff_value(&self, b: Option<&Value>, a: Option<&Value>, level: usize, path: &AttrPath) -> (Action, Lines) {
        let (b, a) = match (present(b), present(a)) {
            (None, None) => return (Action::NoOp, vec!["null".to_string()]),
            (None, Some(a)) => return (Action::Create, self.render_value(a, level, Action::Create)),
            (Some(b), None) => {
                let mut lines = self.render_value(b, level, Action::Delete);
                if let Some(last) = lines.last_mut() {
                    last.push_str(" -> null");
                }
                return (Action::Delete, lines);
            }
            (Some(b), Some(a)) => (b, a),
        };
        if self.same(b, a, path) {
            return (Action::NoOp, self.render_value(a, level, Action::NoOp));
        }
        // Unknown before and after: an attribute that only some commands read (a secret's
        // enabled_version_count outside `cairn check`). Not a change unless the planner says so.
        if is_pending(b)
            && is_pending(a)
            && !self.changed_paths.iter().any(|c| c.starts_with(path) || path.starts_with(c))
        {
            return (Action::NoOp, self.render_value(a, level, Action::NoOp));
        }
        if is_secret(b) && is_secret(a) {
            return (Action::Update, vec![SENSITIVE.to_string()]);
        }
        if is_secret(b) || is_secret(a) || is_pending(a) || is_pending(b) {
            return (Action::Update, self.replaced(b, a, level));
        }
        let lines = match (b, a) {
            (Value::String(x), Value::String(y)) if is_multiline_string(b) || is_multiline_string(a) => {
                self.diff_lines(x, y, level)
            }
            (Value::List(x), Value::List(y)) => self.diff_list(x, y, level, path),
            (Value::Set(x), Value::Set(y)) => self.diff_set(x, y, level, path),
            (Value::Map(x), Value::Map(y)) => self.diff_map(x, y, level, path),
            _ => self.replaced(b, a, level),
        };
        (Action::Update, lines)
    }

    fn diff_lines(&self, old: &str, new: &str, level: usize) -> Lines {
        let old_lines: Vec<&str> = old.lines().collect();
        let new_lines: Vec<&str> = new.lines().collect();
        let diff = similar::TextDiff::from_slices(&old_lines, &new_lines);
        let items: Vec<(Action, &str)> = diff
            .iter_all_changes()
            .map(|c| {
                let action = match c.tag() {
                    similar::ChangeTag::Equal => Action::NoOp,
                    similar::ChangeTag::Delete => Action::Delete,
                    similar::ChangeTag::Insert => Action::Create,
                };
                (action, c.value())
            })
            .collect();
        let changed: Vec<bool> = items.iter().map(|(a, _)| *a != Action::NoOp).collect();
        let vis = visible(&changed, 2);
        let mut lines = vec!["<<-EOT".to_string()];
        let mut hidden = 0;
        for ((action, text), show) in items.iter().zip(vis) {
            if !show {
                hidden += 1;
                continue;
            }
            if hidden > 0 {
                lines.push(hidden_line(level + 1, hidden, "line", self.style));
                hidden = 0;
            }
            lines.push(format!("{}{} {}", pad(level + 1), self.style.symbol(*action), text));
        }
        if hidden > 0 {
            lines.push(hidden_line(level + 1, hidden, "line", self.style));
        }
        lines.push(plain_line(level, "EOT"));
        lines
    }

    /// Shows the diff items with `context` unchanged neighbours; the rest become a count.
    fn push_items(&self, lines: &mut Lines, level: usize, items: Vec<(Action, Lines)>, context: usize) {
        let changed: Vec<bool> = items.iter().map(|(a, _)| *a != Action::NoOp).collect();
        let vis = if self.show_unchanged { vec![true; items.len()] } else { visible(&changed, context) };
        let mut hidden = 0;
        for ((action, mut el), show) in items.into_iter().zip(vis) {
            if !show {
                hidden += 1;
                continue;
            }
            if hidden > 0 {
                lines.push(hidden_line(level, hidden, "element", self.style));
                hidden = 0;
            }
            if let Some(last) = el.last_mut() {
                last.push(',');
            }
            self.push_entry(lines, level, action, String::new(), el);
        }
        if hidden > 0 {
            lines.push(hidden_line(level, hidden, "element", self.style));
        }
    }

    fn diff_list(&self, b: &[Value], a: &[Value], level: usize, path: &AttrPath) -> Lines {
        let eq = |i: usize, j: usize| self.same(&b[i], &a[j], &path.join_index(j as i64));
        let objects = b.iter().chain(a).all(|v| matches!(v, Value::Map(_)));
        let items: Vec<(Action, Lines)> = list_ops(b, a, &eq, objects)
            .into_iter()
            .map(|op| match op {
                Op::Keep(_, j) => (Action::NoOp, self.render_value(&a[j], level + 1, Action::NoOp)),
                Op::Delete(i) => (Action::Delete, self.render_value(&b[i], level + 1, Action::Delete)),
                Op::Insert(j) => (Action::Create, self.render_value(&a[j], level + 1, Action::Create)),
                Op::Pair(i, j) => self.diff_value(Some(&b[i]), Some(&a[j]), level + 1, &path.join_index(j as i64)),
            })
            .collect();
        let mut lines = vec!["[".to_string()];
        self.push_items(&mut lines, level + 1, items, 1);
        lines.push(plain_line(level, "]"));
        lines
    }

    /// Set elements in canonical order: kept, removed (`-`) or added (`+`).
    fn set_ops<'v>(&self, b: &'v [Value], a: &'v [Value], path: &AttrPath) -> Vec<(Action, &'v Value, usize)> {
        let mut matched_after = vec![false; a.len()];
        let mut items = Vec::new();
        for (i, x) in b.iter().enumerate() {
            let found =
                a.iter().enumerate().find(|(j, y)| !matched_after[*j] && self.same(x, y, &path.join_index(*j as i64)));
            match found {
                Some((j, y)) => {
                    matched_after[j] = true;
                    items.push((Action::NoOp, y, j));
                }
                None => items.push((Action::Delete, x, i)),
            }
        }
        for (j, y) in a.iter().enumerate() {
            if !matched_after[j] {
                items.push((Action::Create, y, j));
            }
        }
        // Secrets go last, in the order found: sorting them by content among plain values
        // would hint at what they contain.
        items.sort_by(|p, q| match (is_secret(p.1), is_secret(q.1)) {
            (false, false) => p.1.canonical_cmp(q.1),
            (x, y) => x.cmp(&y),
        });
        items
    }

    fn diff_set(&self, b: &[Value], a: &[Value], level: usize, path: &AttrPath) -> Lines {
        let items: Vec<(Action, Lines)> = self
            .set_ops(b, a, path)
            .into_iter()
            .map(|(action, v, _)| (action, self.render_value(v, level + 1, action)))
            .collect();
        let mut lines = vec!["[".to_string()];
        self.push_items(&mut lines, level + 1, items, 1);
        lines.push(plain_line(level, "]"));
        lines
    }

    fn diff_map(
        &self,
        b: &BTreeMap<String, Value>,
        a: &BTreeMap<String, Value>,
        level: usize,
        path: &AttrPath,
    ) -> Lines {
        let keys: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
        let mut shown = Vec::new();
        let mut hidden = 0;
        for k in keys {
            let p = path.join_attr(k);
            let (action, el) = self.diff_value(b.get(k), a.get(k), level + 1, &p);
            if action == Action::NoOp && !self.show_unchanged {
                if present(a.get(k)).is_some() {
                    hidden += 1;
                }
                continue;
            }
            shown.push((hcl_quote(k), action, el, self.forces_replacement(&p)));
        }
        let width = shown.iter().map(|(k, ..)| k.chars().count()).max().unwrap_or(0);
        let mut lines = vec!["{".to_string()];
        for (k, action, mut el, forced) in shown {
            if forced {
                if let Some(first) = el.first_mut() {
                    first.push_str(&self.replacement_note());
                }
            }
            self.push_entry(&mut lines, level + 1, action, format!("{k:<width$} = "), el);
        }
        if hidden > 0 {
            lines.push(hidden_line(level + 1, hidden, "element", self.style));
        }
        lines.push(plain_line(level, "}"));
        lines
    }

    /// The inside of an object — attributes aligned on `=`, then nested blocks — for the
    /// change `b` → `a` (`None`: the object does not exist on that side).
    pub fn body(
        &self,
        out: &mut Vec<String>,
        level: usize,
        b: Option<&BTreeMap<String, Value>>,
        a: Option<&BTreeMap<String, Value>>,
        path: &AttrPath,
    ) {
        let start = out.len();
        let empty = BTreeMap::new();
        let keys: BTreeSet<&String> = b.unwrap_or(&empty).keys().chain(a.unwrap_or(&empty).keys()).collect();
        let mut attrs = Vec::new();
        let mut blocks = Vec::new();
        let mut hidden_attrs = 0;
        for k in keys {
            let bv = present(b.and_then(|m| m.get(k)));
            let av = present(a.and_then(|m| m.get(k)));
            if bv.is_none() && av.is_none() {
                continue;
            }
            if is_block(bv, av) {
                blocks.push((k, bv, av));
                continue;
            }
            let p = path.join_attr(k);
            let (action, lines) = self.diff_value(bv, av, level, &p);
            let identifying = matches!(k.as_str(), "id" | "name")
                && matches!(av, Some(Value::String(_) | Value::Number(_) | Value::Bool(_)));
            if action == Action::NoOp && !self.show_unchanged && !identifying {
                hidden_attrs += 1;
                continue;
            }
            attrs.push((k, action, lines, self.forces_replacement(&p)));
        }
        let width = attrs.iter().map(|(k, ..)| k.chars().count()).max().unwrap_or(0);
        for (k, action, mut lines, forced) in attrs {
            if forced {
                if let Some(first) = lines.first_mut() {
                    first.push_str(&self.replacement_note());
                }
            }
            self.push_entry(out, level, action, format!("{k:<width$} = "), lines);
        }
        if hidden_attrs > 0 {
            out.push(hidden_line(level, hidden_attrs, "attribute", self.style));
        }

        let mut hidden_blocks = 0;
        for (k, bv, av) in blocks {
            let p = path.join_attr(k);
            let items = self.block_items(bv, av, &p);
            for (action, be, ae, index) in items {
                if action == Action::NoOp && !self.show_unchanged {
                    hidden_blocks += 1;
                    continue;
                }
                if out.len() > start {
                    out.push(String::new());
                }
                let ep = p.join_index(index as i64);
                let mut header = format!("{}{} {} {{", pad(level), self.style.symbol(action), k);
                if self.forces_replacement(&ep) || self.forces_replacement(&p) {
                    header.push_str(&self.replacement_note());
                }
                out.push(header);
                self.body(out, level + 1, be, ae, &ep);
                out.push(plain_line(level, "}"));
            }
        }
        if hidden_blocks > 0 {
            if out.len() > start {
                out.push(String::new());
            }
            out.push(hidden_line(level, hidden_blocks, "block", self.style));
        }
    }

    /// Nested block instances paired up: lists by position in an LCS, sets by content.
    #[allow(clippy::type_complexity)]
    fn block_items<'v>(
        &self,
        b: Option<&'v Value>,
        a: Option<&'v Value>,
        path: &AttrPath,
    ) -> Vec<(Action, Option<&'v BTreeMap<String, Value>>, Option<&'v BTreeMap<String, Value>>, usize)> {
        let (bs, b_set) = b.and_then(block_elements).unwrap_or((&[], false));
        let (as_, a_set) = a.and_then(block_elements).unwrap_or((&[], false));
        let obj = |v: &'v Value| match v {
            Value::Map(m) => Some(&**m),
            _ => None,
        };
        if b_set || a_set {
            return self
                .set_ops(bs, as_, path)
                .into_iter()
                .map(|(action, v, idx)| match action {
                    Action::Delete => (action, obj(v), None, idx),
                    Action::Create => (action, None, obj(v), idx),
                    _ => (action, obj(v), obj(v), idx),
                })
                .collect();
        }
        let eq = |i: usize, j: usize| self.same(&bs[i], &as_[j], &path.join_index(j as i64));
        list_ops(bs, as_, &eq, true)
            .into_iter()
            .map(|op| match op {
                Op::Keep(i, j) => (Action::NoOp, obj(&bs[i]), obj(&as_[j]), j),
                Op::Delete(i) => (Action::Delete, obj(&bs[i]), None, i),
                Op::Insert(j) => (Action::Create, None, obj(&as_[j]), j),
                Op::Pair(i, j) => (Action::Update, obj(&bs[i]), obj(&as_[j]), j),
            })
            .collect()
    }

    /// A single attribute line set (`sym key = value…`) at `level`, used for outputs.
    pub fn attribute(
        &self,
        out: &mut Vec<String>,
        level: usize,
        symbol: Action,
        key: &str,
        width: usize,
        lines: Lines,
    ) {
        self.push_entry(out, level, symbol, format!("{key:<width$} = "), lines);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> DiffCtx<'static> {
        DiffCtx::new(Style { color: false })
    }

    #[test]
    fn quoting_escapes_template_sequences() {
        assert_eq!(hcl_quote("a\"b${x}%{y}\\"), r#""a\"b$${x}%%{y}\\""#);
    }

    #[test]
    fn list_diff_keeps_common_elements() {
        let b: Vec<Value> = vec!["a".into(), "b".into(), "c".into()];
        let a: Vec<Value> = vec!["a".into(), "c".into(), "d".into()];
        let c = ctx();
        let eq = |i: usize, j: usize| c.same(&b[i], &a[j], &AttrPath::root());
        assert_eq!(list_ops(&b, &a, &eq, false), vec![Op::Keep(0, 0), Op::Delete(1), Op::Keep(2, 1), Op::Insert(2)]);
    }

    #[test]
    fn changed_objects_in_lists_pair_up() {
        let b = vec![Value::map([("x", Value::from(1))])];
        let a = vec![Value::map([("x", Value::from(2))])];
        let c = ctx();
        let eq = |i: usize, j: usize| c.same(&b[i], &a[j], &AttrPath::root());
        assert_eq!(list_ops(&b, &a, &eq, true), vec![Op::Pair(0, 0)]);
    }

    #[test]
    fn unknowns_never_equal_and_withheld_compare_by_fingerprint() {
        let c = ctx();
        let p = AttrPath::root();
        assert!(!c.same(&Value::unknown(), &Value::unknown(), &p));
        let w = |f: &str| Value::Unknown(Unknown::Withheld { fingerprint: Some(f.into()) });
        assert!(c.same(&w("a"), &w("a"), &p));
        assert!(!c.same(&w("a"), &w("b"), &p));
        assert!(c.same(&Value::map([("x", Value::Null)]), &Value::map::<&str>([]), &p));
    }

    #[test]
    fn unknown_before_and_after_is_unchanged_unless_the_planner_says_otherwise() {
        let c = ctx();
        let p = AttrPath::attr("enabled_version_count");
        assert_eq!(c.diff_value(Some(&Value::unknown()), Some(&Value::unknown()), 1, &p).0, Action::NoOp);
        let changed = [p.clone()];
        let c = DiffCtx { changed_paths: &changed, ..ctx() };
        assert_eq!(c.diff_value(Some(&Value::unknown()), Some(&Value::unknown()), 1, &p).0, Action::Update);
        assert_eq!(c.diff_value(Some(&Value::from(1i64)), Some(&Value::unknown()), 1, &p).0, Action::Update);
    }

    #[test]
    fn withheld_against_value_follows_changed_paths() {
        let changed = [AttrPath::attr("other")];
        let c = DiffCtx { changed_paths: &changed, ..ctx() };
        let w = Value::Unknown(Unknown::Withheld { fingerprint: None });
        assert!(c.same(&w, &Value::string("x").sensitive(), &AttrPath::attr("password")));
        assert!(!c.same(&w, &Value::string("x").sensitive(), &AttrPath::attr("other")));
    }

    #[test]
    fn secrets_render_redacted() {
        let c = ctx();
        let v = Value::string("SUPERSECRET-123").sensitive();
        assert_eq!(c.render_value(&v, 1, Action::Create), vec![SENSITIVE.to_string()]);
        let (action, lines) = c.diff_value(Some(&Value::string("old").sensitive()), Some(&v), 1, &AttrPath::attr("p"));
        assert_eq!(action, Action::Update);
        assert_eq!(lines, vec![SENSITIVE.to_string()]);
    }

    #[test]
    fn visible_marks_context_around_changes() {
        assert_eq!(
            visible(&[false, false, false, true, false, false, false], 1),
            vec![false, false, true, true, true, false, false]
        );
        assert_eq!(visible(&[false, false, true, false, false], 1), vec![true; 5], "lone hidden items are shown");
    }
}
