//! Locating a problem found inside a string argument's *value* in the *source* that wrote it,
//! for [`crate::schema::Validator::Located`] checks (a misspelt metric type inside a
//! Monitoring filter is reported at the typo's own column, not at the `filter` argument).
//!
//! The syntax tree keeps each written literal's byte span and its decoded text, but not the
//! raw characters. So the raw length of every decoded character is recomputed from how HCL
//! writes it (`\"` for `"`, `$${` for `${`, a heredoc line's stripped indentation, …), and the
//! result is trusted only when the literal's total comes out at exactly its span's length:
//! every other way of writing a character is longer, so equal totals mean the same writing.
//! When the value comes from a literal with interpolations, the problem's text is located only
//! when it appears once in the value and once in the written literals. Anything else (a
//! variable, a function call, an ambiguous text) gives `None`, and the caller falls back to the
//! whole argument.

use std::ops::Range;

use hcl_edit::expr::Expression;
use hcl_edit::template::{Element, Template};
use hcl_edit::Span as _;

/// How a literal's characters are written.
#[derive(Clone, Copy)]
enum Writing {
    /// Inside `"…"`: backslash escapes, `$${` and `%%{`.
    Quoted,
    /// A heredoc's lines: `$${` and `%%{`, and (`<<-`) `indent` characters stripped from the
    /// start of every non-empty line, the first one only when `first_line_stripped`.
    Heredoc { indent: usize, first_line_stripped: bool },
}

/// One literal written in the source: its decoded text and the file byte range it was read from.
struct Written {
    text: String,
    raw: Range<usize>,
    writing: Writing,
}

impl Written {
    /// The raw offset (from `raw.start`) of every byte boundary of `text`, or `None` when the
    /// recomputed writing does not add up to the span (then the literal was written some other
    /// way, and no offset inside it is trusted).
    fn raw_offsets(&self) -> Option<Vec<usize>> {
        let mut out = Vec::with_capacity(self.text.len() + 1);
        let mut raw = 0;
        let mut at_line_start = true;
        let mut chars = self.text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            let next = chars.peek().map(|(_, n)| *n);
            if let Writing::Heredoc { indent, first_line_stripped } = self.writing {
                let stripped_here = if i == 0 { first_line_stripped } else { at_line_start };
                if stripped_here && c != '\n' {
                    raw += indent;
                }
            }
            at_line_start = c == '\n';
            let cost = match (self.writing, c) {
                (_, '$' | '%') if next == Some('{') => 2,
                (Writing::Quoted, '"' | '\\' | '\n' | '\r' | '\t') => 2,
                (Writing::Quoted, c) if c.is_control() => 6,
                (_, c) => c.len_utf8(),
            };
            out.extend(std::iter::repeat_n(raw, c.len_utf8()));
            raw += cost;
        }
        out.push(raw);
        (raw == self.raw.len()).then_some(out)
    }

    /// The file byte range of `text[range]`.
    fn locate(&self, range: Range<usize>) -> Option<Range<usize>> {
        let offsets = self.raw_offsets()?;
        let (start, end) = (*offsets.get(range.start)?, *offsets.get(range.end)?);
        Some(self.raw.start + start..self.raw.start + end)
    }
}

/// The literals an expression writes out, in order, with `None` for each interpolation or
/// directive between them; `None` when the expression is not a string written in place.
fn written(expr: &Expression) -> Option<Vec<Option<Written>>> {
    match expr {
        Expression::String(s) => {
            let span = s.span()?;
            // The span holds the quotes.
            let raw = span.start.checked_add(1)?..span.end.checked_sub(1)?;
            Some(vec![Some(Written { text: s.value().clone(), raw, writing: Writing::Quoted })])
        }
        Expression::StringTemplate(t) => Some(template_pieces(t, |_| Writing::Quoted)),
        Expression::HeredocTemplate(h) => {
            let indent = h.indent().unwrap_or(0);
            Some(template_pieces(&h.template, |first_line_stripped| Writing::Heredoc { indent, first_line_stripped }))
        }
        Expression::Parenthesis(p) => written(p.inner()),
        _ => None,
    }
}

/// A template's elements; which literals have their first line's indentation stripped follows
/// hcl-edit's own dedent (a literal right after an interpolation continues that line).
fn template_pieces(t: &Template, writing: impl Fn(bool) -> Writing) -> Vec<Option<Written>> {
    let mut line_continues = false;
    t.iter()
        .map(|el| match el {
            Element::Literal(lit) => {
                let piece =
                    lit.span().map(|raw| Written { text: lit.value().clone(), raw, writing: writing(!line_continues) });
                line_continues = !lit.value().ends_with('\n');
                piece
            }
            Element::Interpolation(_) | Element::Directive(_) => {
                line_continues = true;
                None
            }
        })
        .collect()
}

/// The file byte range of `value[range]`, where `value` is the string `expr` evaluated to.
pub fn within_expression(expr: &Expression, value: &str, range: Range<usize>) -> Option<Range<usize>> {
    let pieces = written(expr)?;
    let needle = value.get(range.clone()).filter(|n| !n.is_empty())?;
    // Written out in full: the value is the literals one after the other.
    if pieces.iter().all(Option::is_some) {
        let literals: Vec<&Written> = pieces.iter().flatten().collect();
        if literals.iter().map(|w| w.text.as_str()).collect::<String>() == value {
            let mut start = 0;
            for w in literals {
                let end = start + w.text.len();
                if range.start >= start && range.end <= end {
                    return w.locate(range.start - start..range.end - start);
                }
                start = end;
            }
            return None;
        }
    }
    // With interpolations: only a text that cannot be anywhere else.
    if value.matches(needle).count() != 1 {
        return None;
    }
    let mut found = pieces.iter().flatten().flat_map(|w| w.text.match_indices(needle).map(move |(i, _)| (w, i)));
    let (w, i) = found.next()?;
    if found.next().is_some() {
        return None;
    }
    w.locate(i..i + needle.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The source text `within_expression` points at, for `needle` in `name`'s value.
    fn located(source: &str, value: &str, needle: &str) -> Option<String> {
        let body: hcl_edit::structure::Body = source.parse().unwrap();
        let attr = body.get_attribute("x").unwrap();
        let start = value.find(needle).unwrap();
        within_expression(&attr.value, value, start..start + needle.len()).map(|r| source[r].to_string())
    }

    #[test]
    fn a_quoted_literal_is_located_through_its_escapes() {
        let src = "x = \"a \\\"b\\\" AND c = \\\"typo\\\" $${d}\"\n";
        assert_eq!(located(src, "a \"b\" AND c = \"typo\" ${d}", "typo").as_deref(), Some("typo"));
        assert_eq!(located(src, "a \"b\" AND c = \"typo\" ${d}", "d}").as_deref(), Some("d}"));
    }

    #[test]
    fn an_indented_heredoc_is_located_on_its_own_line() {
        let src = "x = <<-EOT\n    first line\n\n      typo here\n  EOT\n";
        let value = "first line\n\n  typo here\n";
        assert_eq!(located(src, value, "typo").as_deref(), Some("typo"));
        let src = "x = <<EOT\nab $${c} typo\nEOT\n";
        assert_eq!(located(src, "ab ${c} typo\n", "typo").as_deref(), Some("typo"));
    }

    #[test]
    fn with_interpolations_only_a_text_written_once_is_located() {
        let src = "x = \"${var.a} = \\\"typo\\\" AND ${var.b}\"\n";
        assert_eq!(located(src, "left = \"typo\" AND right", "typo").as_deref(), Some("typo"));
        // "typo" could also have come from the interpolation: not located.
        assert_eq!(located(src, "typo = \"typo\" AND right", "\"typo\"").as_deref(), Some("\\\"typo\\\""));
        let value = "typo = \"typo\" AND right";
        let second = value.rfind("typo").unwrap();
        let body: hcl_edit::structure::Body = src.parse().unwrap();
        let expr = &body.get_attribute("x").unwrap().value;
        assert_eq!(within_expression(expr, value, second..second + 4), None);
    }

    #[test]
    fn a_value_from_elsewhere_is_not_located() {
        assert_eq!(located("x = var.filter\n", "typo", "typo"), None);
        assert_eq!(located("x = lower(\"TYPO\")\n", "typo", "typo"), None);
        // `\u0041` is a longer writing of `A`: the totals differ, nothing inside is trusted.
        assert_eq!(located("x = \"\\u0041 typo\"\n", "A typo", "typo"), None);
    }
}
