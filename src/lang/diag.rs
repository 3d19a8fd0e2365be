//! Diagnostics: what went wrong, where (file:line:col), and how to fix it.
//!
//! Every stage that reads user input (HCL, variables, state, API answers) reports through
//! [`Diagnostic`]. Rendering with miette happens at the edge (`cli/`), from a [`SourceMap`].

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(pub u32);

/// A region of a source file. Byte offsets plus the 1-based line/column of its start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Span {
    pub file: FileId,
    pub start: usize,
    pub end: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// One line: what is wrong.
    pub summary: String,
    /// Optional longer explanation.
    pub detail: Option<String>,
    /// Where; `None` for problems with no source location (e.g. a missing directory).
    pub span: Option<Span>,
    /// How to fix it.
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(summary: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Error, summary: summary.into(), detail: None, span: None, help: None }
    }
    pub fn warning(summary: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Warning, summary: summary.into(), detail: None, span: None, help: None }
    }
    pub fn at(mut self, span: Span) -> Self {
        self.span = Some(span);
        self
    }
    pub fn at_opt(mut self, span: Option<Span>) -> Self {
        if self.span.is_none() {
            self.span = span;
        }
        self
    }
    pub fn detail(mut self, d: impl Into<String>) -> Self {
        self.detail = Some(d.into());
        self
    }
    pub fn help(mut self, h: impl Into<String>) -> Self {
        self.help = Some(h.into());
        self
    }
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// A list of diagnostics; the `Err` of every fallible front-end operation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn new() -> Self {
        Self(Vec::new())
    }
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }
    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| d.is_error())
    }
    /// `Err(self)` when any diagnostic is an error.
    pub fn into_result(self) -> Result<Diagnostics, Diagnostics> {
        if self.has_errors() {
            Err(self)
        } else {
            Ok(self)
        }
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.0 {
            writeln!(f, "{}", d.summary)?;
        }
        Ok(())
    }
}

/// One loaded source file.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    /// The path shown to users (relative to the stack directory when possible).
    pub display: String,
    pub text: String,
    /// False for a file whose text holds a secret (a `.tfvars` file that sets a sensitive
    /// variable): diagnostics give its `file:line:col` but never quote its lines.
    pub quotable: bool,
    /// Byte ranges that hold a secret (a sensitive variable's literal default): a diagnostic
    /// near one is located but not quoted.
    secret_ranges: Vec<std::ops::Range<usize>>,
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(path: PathBuf, display: String, text: String) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        SourceFile { path, display, text, quotable: true, secret_ranges: Vec::new(), line_starts }
    }
    /// Whether a diagnostic at `offset` may quote its source: not in a file holding a secret,
    /// nor within the lines a renderer shows around it (miette adds neighbouring lines) of a
    /// secret range.
    pub fn can_quote(&self, offset: usize) -> bool {
        const CONTEXT_LINES: usize = 3;
        let (line, _) = self.line_col(offset);
        self.quotable
            && self.secret_ranges.iter().all(|r| {
                let (first, _) = self.line_col(r.start);
                let (last, _) = self.line_col(r.end);
                last + CONTEXT_LINES < line || first > line + CONTEXT_LINES
            })
    }
    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line];
        let col = self.text.get(start..offset).map(|s| s.chars().count()).unwrap_or(offset - start) + 1;
        (line + 1, col)
    }
}

/// All files read in one run, so spans can be turned back into `file:line:col`.
#[derive(Debug, Default, Clone)]
pub struct SourceMap {
    files: Vec<Arc<SourceFile>>,
}

impl SourceMap {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn add(&mut self, path: &Path, display: String, text: String) -> FileId {
        let id = FileId(self.files.len() as u32);
        self.files.push(Arc::new(SourceFile::new(path.to_path_buf(), display, text)));
        id
    }
    /// Adds a file whose text holds a secret: it can be located, never quoted.
    pub fn add_unquotable(&mut self, path: &Path, display: String, text: String) -> FileId {
        let id = FileId(self.files.len() as u32);
        let mut file = SourceFile::new(path.to_path_buf(), display, text);
        file.quotable = false;
        self.files.push(Arc::new(file));
        id
    }
    /// Marks a span of a loaded file as holding a secret (see [`SourceFile::can_quote`]).
    pub fn mark_secret(&mut self, span: Span) {
        if let Some(file) = self.files.get_mut(span.file.0 as usize) {
            Arc::make_mut(file).secret_ranges.push(span.start..span.end);
        }
    }
    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }
    pub fn files(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files.iter().enumerate().map(|(i, f)| (FileId(i as u32), f.as_ref()))
    }
    /// `path:line:col` for a span.
    pub fn location(&self, span: Span) -> String {
        let f = self.get(span.file);
        let (l, c) = f.line_col(span.start);
        format!("{}:{}:{}", f.display, l, c)
    }
    /// Plain-text rendering, used for snapshots and `--no-color` output:
    /// `Error: summary\n  --> file:line:col\n  detail\n  help: …`.
    pub fn render_plain(&self, d: &Diagnostic) -> String {
        let mut s = String::new();
        let label = match d.severity {
            Severity::Error => "Error",
            Severity::Warning => "Warning",
        };
        s.push_str(&format!("{label}: {}\n", d.summary));
        if let Some(span) = d.span {
            let f = self.get(span.file);
            let (line, col) = f.line_col(span.start);
            s.push_str(&format!("  --> {}:{}:{}\n", f.display, line, col));
            if let Some(text) = f.text.lines().nth(line - 1).filter(|_| f.can_quote(span.start)) {
                s.push_str(&format!("   | {}\n", text));
                let width = {
                    let (el, ec) = f.line_col(span.end.max(span.start + 1));
                    if el == line {
                        ec.saturating_sub(col).max(1)
                    } else {
                        text.chars().count().saturating_sub(col - 1).max(1)
                    }
                };
                s.push_str(&format!("   | {}{}\n", " ".repeat(col - 1), "^".repeat(width)));
            }
        }
        if let Some(detail) = &d.detail {
            for line in detail.lines() {
                s.push_str(&format!("  {line}\n"));
            }
        }
        if let Some(help) = &d.help {
            s.push_str(&format!("  help: {help}\n"));
        }
        s
    }
    pub fn render_all_plain(&self, ds: &Diagnostics) -> String {
        ds.0.iter().map(|d| self.render_plain(d)).collect::<Vec<_>>().join("\n")
    }
}

/// "Did you mean …?" for a misspelt name.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        // Jaro-Winkler rewards shared prefixes (every google_* type shares "google_"), so an
        // edit-distance floor keeps suggestions to real near-misses.
        let score = strsim::jaro_winkler(name, c);
        let close = strsim::normalized_damerau_levenshtein(name, c) >= 0.6;
        if score > 0.8 && close && best.is_none_or(|(b, _)| score > b) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| format!("did you mean \"{c}\"?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_is_one_based() {
        let f = SourceFile::new("a.tf".into(), "a.tf".into(), "ab\ncd\n".into());
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(4), (2, 2));
    }

    #[test]
    fn suggestion_finds_close_names() {
        assert_eq!(suggest("lenght", ["length", "lower"]).as_deref(), Some("did you mean \"length\"?"));
        assert_eq!(suggest("xyz", ["length"]), None);
        assert_eq!(suggest("nmae", ["name"]).as_deref(), Some("did you mean \"name\"?"));
        assert_eq!(suggest("google_compute_health_check", ["google_secret_manager_secret"]), None);
    }
}
