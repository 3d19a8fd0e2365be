//! Monitoring metric types: a catalog of the types of the services Cairn manages, and the
//! plan-time check of the Monitoring filters that name them.
//!
//! An alert policy or uptime-check filter that names a metric type the API does not know
//! matches no time series: the API accepts it and the alert silently never fires. Likewise a
//! `resource.type` the metric is not written for. So the monitoring resource types check
//! their filters at plan time, with [`filter_check`] as a `Validator::Located` on each filter
//! argument:
//!
//! ```ignore
//! schema.modify("conditions.condition_threshold.filter", |a| a.validate(Validator::Located(Arc::new(metrics::filter_check))))
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
//! - [`filter_check`] is the schema validator: each problem with its byte range in the filter,
//!   which the schema layer maps to the typo's own `file:line:col` when the filter is written
//!   in place (a quoted string or heredoc), and to the argument otherwise.
//! - [`filter_diagnostics`] is the same for any HCL expression (a local, an output).
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
use crate::lang::diag::{Diagnostic, Span};
use crate::lang::value::Value;
use crate::schema::{locate, ValueProblem};

/// [`check_filter`] as a [`crate::schema::Validator::Located`] check: every problem with where
/// it is in the filter, so `cairn validate` points at the typo's own `file:line:col`.
pub fn filter_check(v: &Value) -> Vec<ValueProblem> {
    let Some(filter) = v.peel().as_str() else { return Vec::new() };
    check_filter(filter)
        .into_iter()
        .map(|p| ValueProblem {
            message: format!("is not a filter the API can match: {}", p.message),
            help: p.suggestion,
            within: Some(p.offset..p.offset + p.len),
        })
        .collect()
}

/// [`check_filter`] over a filter that is the value of the HCL expression `expr`: one error
/// per problem, at the offending literal inside the expression when it is written there
/// ([`locate::within_expression`]), else at the expression.
pub fn filter_diagnostics(expr: &Expr, filter: &str) -> Vec<Diagnostic> {
    check_filter(filter)
        .into_iter()
        .map(|p| {
            let span = locate::within_expression(&expr.expr, filter, p.offset..p.offset + p.len)
                .map_or(expr.span, |r| Span { file: expr.span.file, start: r.start, end: r.end });
            let d = Diagnostic::error("Invalid Monitoring filter").detail(p.message).at(span);
            match p.suggestion {
                Some(s) => d.help(s),
                None => d,
            }
        })
        .collect()
}
