//! Showing diagnostics: miette's graphical reports on a colour terminal, the stable plain form
//! (`SourceMap::render_plain`) everywhere else so that snapshots and CI logs do not churn.

use std::fmt;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceCode};

use crate::lang::diag::{Diagnostic, Diagnostics, Severity, SourceMap, Span};

/// Renders every diagnostic, separated by blank lines.
pub fn render_diagnostics(sources: &SourceMap, diags: &Diagnostics, color: bool) -> String {
    if !color {
        // A span into a file this map does not hold would make `render_plain` index out of
        // bounds; such a diagnostic is shown without its location instead.
        let checked: Vec<Diagnostic> = diags
            .0
            .iter()
            .map(|d| {
                let mut d = d.clone();
                if d.span.is_some_and(|s| !has_file(sources, s)) {
                    d.span = None;
                }
                d
            })
            .collect();
        return sources.render_all_plain(&Diagnostics(checked));
    }
    let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode()).with_links(false);
    diags
        .0
        .iter()
        .map(|d| {
            let report = Report::new(sources, d);
            let mut out = String::new();
            match handler.render_report(&mut out, &report) {
                Ok(()) => out,
                // miette could not read the snippet: fall back to the plain form.
                Err(_) => sources.render_plain(&Diagnostic { span: None, ..d.clone() }),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Terraform's `-compact-warnings` form: one entry per distinct summary, with where its first
/// occurrence is and how many more there are; no detail.
pub fn render_warnings_compact(sources: &SourceMap, warnings: &Diagnostics) -> String {
    let mut groups: Vec<(&str, Vec<Option<Span>>)> = Vec::new();
    for d in &warnings.0 {
        let span = d.span.filter(|s| has_file(sources, *s));
        match groups.iter_mut().find(|(summary, _)| *summary == d.summary) {
            Some((_, spans)) => spans.push(span),
            None => groups.push((&d.summary, vec![span])),
        }
    }
    let mut out = String::from("Warnings:\n\n");
    for (summary, spans) in groups {
        out.push_str(&format!("- {summary}\n"));
        let more = spans.len() - 1;
        match spans[0] {
            Some(span) => {
                let file = sources.get(span.file);
                let (line, _) = file.line_col(span.start);
                let more = if more > 0 { format!(" (and {more} more)") } else { String::new() };
                out.push_str(&format!("  on {} line {line}{more}\n", file.display));
            }
            None if more > 0 => out.push_str(&format!("  ({} occurrences of this warning)\n", spans.len())),
            None => {}
        }
    }
    out
}

fn has_file(sources: &SourceMap, span: Span) -> bool {
    sources.files().any(|(id, _)| id == span.file)
}

/// Our diagnostic seen through miette's `Diagnostic` trait.
struct Report {
    message: String,
    severity: Severity,
    help: Option<String>,
    source: Option<NamedSource<String>>,
    label: Option<(usize, usize)>,
}

impl Report {
    fn new(sources: &SourceMap, d: &Diagnostic) -> Self {
        // Terraform prints the detail under the summary; miette's message does the same when
        // it spans several lines.
        let mut message = match &d.detail {
            Some(detail) => format!("{}\n\n{detail}", d.summary),
            None => d.summary.clone(),
        };
        // A file holding a secret is named by location only: miette would quote the line and
        // its neighbours.
        if let Some(span) = d.span.filter(|s| has_file(sources, *s) && !sources.get(s.file).can_quote(s.start)) {
            message = format!("{}\n\n  --> {}", message, sources.location(span));
        }
        let located = d.span.and_then(|span| {
            let (_, file) = sources.files().find(|(id, _)| *id == span.file)?;
            if !file.can_quote(span.start) {
                return None;
            }
            let text = &file.text;
            let start = floor_char_boundary(text, span.start.min(text.len()));
            let end = floor_char_boundary(text, span.end.clamp(start, text.len()));
            Some((NamedSource::new(file.display.clone(), text.clone()), (start, end - start)))
        });
        let (source, label) = match located {
            Some((s, l)) => (Some(s), Some(l)),
            None => (None, None),
        };
        Report { message, severity: d.severity, help: d.help.clone(), source, label }
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl fmt::Debug for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Report {}

impl miette::Diagnostic for Report {
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let (offset, len) = self.label?;
        Some(Box::new(std::iter::once(LabeledSpan::new_primary_with_span(None, (offset, len)))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::diag::FileId;

    fn sample() -> (SourceMap, Diagnostics) {
        let mut sources = SourceMap::new();
        let text = "resource \"google_storage_bucket\" \"b\" {\n  locaton = \"EU\"\n}\n".to_string();
        let start = text.find("locaton").unwrap_or(0);
        let file = sources.add(std::path::Path::new("/stack/main.tf"), "main.tf".into(), text);
        let mut diags = Diagnostics::new();
        diags.push(
            Diagnostic::error("Unsupported argument")
                .at(Span { file, start, end: start + "locaton".len() })
                .detail("An argument named \"locaton\" is not expected here.")
                .help("did you mean \"location\"?"),
        );
        diags.push(Diagnostic::warning("No state found; a new one will be created"));
        (sources, diags)
    }

    #[test]
    fn compact_warnings_give_one_summary_each_with_its_first_place_and_a_count() {
        let mut sources = SourceMap::new();
        let file = sources.add(std::path::Path::new("/s/a.tfvars"), "a.tfvars".into(), "x = 1\ny = 2\nx = 3\n".into());
        let mut w = Diagnostics::new();
        w.push(Diagnostic::warning("Value for undeclared variable").at(Span { file, start: 6, end: 7 }).detail("long"));
        w.push(Diagnostic::warning("Value for undeclared variable").at(Span { file, start: 12, end: 13 }));
        w.push(Diagnostic::warning("Sourceless").detail("not shown"));
        w.push(Diagnostic::warning("Sourceless"));
        w.push(Diagnostic::warning("Once, nowhere"));
        // A span into a file the map does not hold is shown without a place, not a panic.
        w.push(Diagnostic::warning("Elsewhere").at(Span { file: FileId(9), start: 0, end: 1 }));
        assert_eq!(
            render_warnings_compact(&sources, &w),
            "Warnings:\n\n- Value for undeclared variable\n  on a.tfvars line 2 (and 1 more)\n- Sourceless\n  (2 occurrences of this warning)\n- Once, nowhere\n- Elsewhere\n"
        );
    }

    #[test]
    fn plain_rendering_is_stable() {
        let (sources, diags) = sample();
        let out = render_diagnostics(&sources, &diags, false);
        assert_eq!(out, sources.render_all_plain(&diags));
        insta::assert_snapshot!(out, @r#"
        Error: Unsupported argument
          --> main.tf:2:3
           |   locaton = "EU"
           |   ^^^^^^^
          An argument named "locaton" is not expected here.
          help: did you mean "location"?

        Warning: No state found; a new one will be created
        "#);
    }

    #[test]
    fn graphical_rendering_shows_source_and_help() {
        let (sources, diags) = sample();
        let out = render_diagnostics(&sources, &diags, true);
        assert!(out.contains("main.tf"), "{out}");
        assert!(out.contains("locaton = \"EU\""), "{out}");
        assert!(out.contains("Unsupported argument"), "{out}");
        assert!(out.contains("did you mean"), "{out}");
        assert!(out.contains("is not expected here"), "{out}");
        assert!(out.contains('\u{1b}'), "colour expected: {out}");
        assert!(out.contains("No state found"), "{out}");
    }

    #[test]
    fn bad_spans_do_not_panic() {
        let (sources, _) = sample();
        let mut diags = Diagnostics::new();
        diags.push(Diagnostic::error("past the end").at(Span { file: FileId(0), start: 10_000, end: 20_000 }));
        diags.push(Diagnostic::error("unknown file").at(Span { file: FileId(9), start: 0, end: 1 }));
        let coloured = render_diagnostics(&sources, &diags, true);
        assert!(coloured.contains("past the end") && coloured.contains("unknown file"), "{coloured}");
        let plain = render_diagnostics(&sources, &diags, false);
        assert!(plain.contains("Error: unknown file\n"), "{plain}");
    }

    /// A file holding a secret is located, never quoted: miette would print the flagged line
    /// and its neighbours, the plain form the flagged line.
    #[test]
    fn unquotable_files_are_located_not_quoted() {
        let mut sources = SourceMap::new();
        let text = "token = \"S3CRET\"\nregion = = \"eu\"\n".to_string();
        let start = text.find("= =").unwrap_or(0) + 2;
        let file =
            sources.add_unquotable(std::path::Path::new("/stack/terraform.tfvars"), "terraform.tfvars".into(), text);
        let mut diags = Diagnostics::new();
        diags.push(Diagnostic::error("Syntax error in variables file").at(Span { file, start, end: start + 1 }));
        for color in [true, false] {
            let out = render_diagnostics(&sources, &diags, color);
            assert!(out.contains("terraform.tfvars:2:10"), "{out}");
            assert!(!out.contains("S3CRET") && !out.contains("region"), "{out}");
        }
    }
}
