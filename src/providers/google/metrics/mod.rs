//! Monitoring metric types: a catalog of the types of the services Cairn manages, and the
//! plan-time check of the Monitoring filters that name them.
//!
//! An alert policy or uptime-check filter that names a metric type the API does not know
//! matches no time series: the API accepts it and the alert silently never fires. Likewise a
//! `resource.type` the metric is not written for. So the monitoring resource types check
//! their filters at plan time:
//!
//! ```ignore
//! // `attr` is the `filter` argument's `Attribute`, `filter` its evaluated (known) string.
//! let file = config.sources.get(attr.expr.span.file);
//! diags.extend(metrics::filter_diagnostics(&attr.expr, file, filter));
//! ```
//!
//! - [`check_filter`] scans a Cloud Monitoring filter (`metric.type = "…"`, `metric.type="…"`,
//!   `!=`, `one_of("…", …)`, `starts_with("…")`, `resource.type = …`, joined by `AND`,
//!   whitespace, `OR`, `NOT`, parentheses) and returns each [`FilterProblem`] with its byte
//!   offset and length in the filter string. Checked: every metric type literal (exact or in
//!   `one_of`) against the catalog, with the closest catalogued types as a suggestion; every
//!   `starts_with` prefix (some catalogued or open type must start with it); and, when the
//!   filter requires exactly one catalogued metric type together with `resource.type` (no OR
//!   or NOT), that the resource type is one the metric is written for. Not checked: other
//!   matching functions (`ends_with`, `has_substring`, `monitoring.regex.full_match`), metric
//!   and resource labels, and MQL / PromQL conditions (`condition_monitoring_query_language`,
//!   `condition_prometheus_query_language`), which are other languages.
//! - [`filter_diagnostics`] is both steps for a filter written in HCL: one located error per
//!   problem, with the suggestion as its help.
//! - [`span_in_expression`] turns a problem's offset into a span inside the HCL expression
//!   the filter came from, so the diagnostic points at the typo's own `file:line:col`.
//! - [`lookup`] and [`suggest`] query the catalog directly.
//!
//! The catalog (`catalog.tsv`, parsed once per process) names its sources and retrieval date
//! in its header. User-defined prefixes (`custom.googleapis.com/`, `workload.googleapis.com/`,
//! `external.googleapis.com/`, `prometheus.googleapis.com/`) are accepted with any non-empty
//! name; logs-based metrics (`logging.googleapis.com/user/NAME`) when NAME follows the Logging
//! API's rule. Services the catalog does not list are accepted as written, except a near miss
//! of a listed service's domain; subtrees a listed service has but the catalog does not list
//! (`@unchecked`) are accepted too, so the check never refuses a real metric type.

mod catalog;
mod filter;

pub use catalog::{lookup, resource_types, suggest, Lookup, MetricDescriptor};
pub use filter::{check_filter, FilterProblem};

use crate::lang::config::Expr;
use crate::lang::diag::{Diagnostic, SourceFile, Span};

/// [`check_filter`] over a filter that is the value of the HCL expression `expr`: one error
/// per problem, at the offending literal inside the expression.
pub fn filter_diagnostics(expr: &Expr, file: &SourceFile, filter: &str) -> Vec<Diagnostic> {
    check_filter(filter)
        .into_iter()
        .map(|p| {
            let span = span_in_expression(expr, file, filter, &p);
            let d = Diagnostic::error("Invalid Monitoring filter").detail(p.message).at(span);
            match p.suggestion {
                Some(s) => d.help(s),
                None => d,
            }
        })
        .collect()
}

/// The span of `problem` inside `expr`, the HCL expression whose value was `filter`: the
/// literal's own characters when they are written out in the source (a quoted string or a
/// heredoc, with or without other interpolations), else the whole expression (the type came
/// from a variable or a function).
///
/// Metric and resource types are written with no character that HCL escapes, so the literal
/// appears verbatim in the source; the n-th occurrence in the filter is taken to be the n-th in
/// the source.
pub fn span_in_expression(expr: &Expr, file: &SourceFile, filter: &str, problem: &FilterProblem) -> Span {
    let whole = expr.span;
    let Some(literal) = filter.get(problem.offset..problem.offset + problem.len) else { return whole };
    if literal.is_empty() || literal.contains(['"', '\\', '$', '%', '\n']) {
        return whole;
    }
    let Some(source) = file.text.get(whole.start..whole.end) else { return whole };
    let nth = filter[..problem.offset].matches(literal).count();
    match source.match_indices(literal).nth(nth) {
        Some((i, _)) => Span { file: whole.file, start: whole.start + i, end: whole.start + i + literal.len() },
        None => whole,
    }
}
