//! A scanner for Cloud Monitoring filters: just enough of the filter language
//! (https://cloud.google.com/monitoring/api/v3/filters) to find the metric and resource type
//! literals and check them against the catalog.

use super::catalog::{self, Lookup};

/// A problem found in a filter, located by byte offset and length inside the filter string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterProblem {
    pub offset: usize,
    pub len: usize,
    pub message: String,
    /// "did you mean …?", when there is a close candidate.
    pub suggestion: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok<'a> {
    /// A string literal's decoded value, and the byte range of its content (inside the quotes).
    Str(String, usize, usize),
    Ident(&'a str),
    Op(&'a str),
    Open,
    Close,
    Comma,
}

fn tokenize(filter: &str) -> Result<Vec<Tok<'_>>, FilterProblem> {
    let bytes = filter.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'"' => {
                let start = i + 1;
                let mut value = String::new();
                let mut j = start;
                let mut closed = false;
                while j < bytes.len() {
                    match bytes[j] {
                        b'"' => {
                            closed = true;
                            break;
                        }
                        b'\\' if j + 1 < bytes.len() => {
                            value.push(filter[j + 1..].chars().next().unwrap_or('\\'));
                            j += 1 + filter[j + 1..].chars().next().map_or(1, char::len_utf8);
                        }
                        _ => {
                            let ch = filter[j..].chars().next().unwrap_or('\u{fffd}');
                            value.push(ch);
                            j += ch.len_utf8();
                        }
                    }
                }
                if !closed {
                    return Err(FilterProblem {
                        offset: i,
                        len: filter.len() - i,
                        message: "the filter has a string literal with no closing quote".into(),
                        suggestion: None,
                    });
                }
                toks.push(Tok::Str(value, start, j));
                i = j + 1;
            }
            b'(' => {
                toks.push(Tok::Open);
                i += 1;
            }
            b')' => {
                toks.push(Tok::Close);
                i += 1;
            }
            b',' => {
                toks.push(Tok::Comma);
                i += 1;
            }
            b'=' | b':' => {
                toks.push(Tok::Op(&filter[i..i + 1]));
                i += 1;
            }
            b'!' | b'<' | b'>' => {
                let two = bytes.get(i + 1) == Some(&b'=');
                let n = if two { 2 } else { 1 };
                toks.push(Tok::Op(&filter[i..i + n]));
                i += n;
            }
            _ if b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-' || b == b'/' => {
                let start = i;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'_' | b'.' | b'-' | b'/' | b'*'))
                {
                    i += 1;
                }
                toks.push(Tok::Ident(&filter[start..i]));
            }
            // Anything else (a stray character) is the API's to refuse; skip it whole.
            _ => i += filter[i..].chars().next().map_or(1, char::len_utf8),
        }
    }
    Ok(toks)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Field {
    Metric,
    Resource,
}

#[derive(Debug, Clone, PartialEq)]
enum Form {
    Exact,
    StartsWith,
    OneOf,
    /// Another matching function (`ends_with`, `has_substring`, `monitoring.regex.full_match`):
    /// its argument is not a type, so it is not checked.
    Unchecked,
}

#[derive(Debug, Clone)]
struct Literal {
    value: String,
    offset: usize,
    len: usize,
}

#[derive(Debug, Clone)]
struct Term {
    field: Field,
    negated: bool,
    form: Form,
    values: Vec<Literal>,
}

struct Scan {
    terms: Vec<Term>,
    /// The filter uses OR or NOT, so terms are not all required together.
    disjunctive: bool,
}

fn scan(filter: &str) -> Result<Scan, FilterProblem> {
    let toks = tokenize(filter)?;
    let mut terms = Vec::new();
    let mut disjunctive = false;
    let mut i = 0;
    while i < toks.len() {
        let field = match &toks[i] {
            Tok::Ident("metric.type") => Field::Metric,
            Tok::Ident("resource.type") => Field::Resource,
            Tok::Ident(w) if w.eq_ignore_ascii_case("OR") || w.eq_ignore_ascii_case("NOT") => {
                disjunctive = true;
                i += 1;
                continue;
            }
            Tok::Op("-") => {
                disjunctive = true;
                i += 1;
                continue;
            }
            _ => {
                i += 1;
                continue;
            }
        };
        let negated = match toks.get(i + 1) {
            Some(Tok::Op("=")) | Some(Tok::Op(":")) => false,
            Some(Tok::Op("!=")) => true,
            _ => {
                i += 1;
                continue;
            }
        };
        let lit = |t: &Tok| match t {
            Tok::Str(v, start, end) => Some(Literal { value: v.clone(), offset: *start, len: end - start }),
            _ => None,
        };
        match toks.get(i + 2) {
            Some(t @ Tok::Str(..)) => {
                terms.push(Term { field, negated, form: Form::Exact, values: lit(t).into_iter().collect() });
                i += 3;
            }
            Some(Tok::Ident(func)) if toks.get(i + 3) == Some(&Tok::Open) => {
                let form = match *func {
                    "starts_with" => Form::StartsWith,
                    "one_of" => Form::OneOf,
                    _ => Form::Unchecked,
                };
                let mut j = i + 4;
                let mut values = Vec::new();
                while j < toks.len() && toks[j] != Tok::Close {
                    if let Some(l) = lit(&toks[j]) {
                        values.push(l);
                    }
                    j += 1;
                }
                terms.push(Term { field, negated, form, values });
                i = j + 1;
            }
            _ => i += 2,
        }
    }
    Ok(Scan { terms, disjunctive })
}

fn did_you_mean(candidate: &str) -> String {
    format!("did you mean \"{candidate}\"?")
}

/// Checks every metric type and resource type a Monitoring filter names against the catalog.
/// See the module documentation for what is and is not checked.
pub fn check_filter(filter: &str) -> Vec<FilterProblem> {
    let scan = match scan(filter) {
        Ok(s) => s,
        Err(p) => return vec![p],
    };
    let mut problems = Vec::new();
    let mut known_metrics = Vec::new();
    for term in scan.terms.iter().filter(|t| t.field == Field::Metric) {
        for lit in &term.values {
            match term.form {
                Form::Exact | Form::OneOf => match catalog::lookup(&lit.value) {
                    Lookup::Known(d) => {
                        if !term.negated {
                            known_metrics.push(d)
                        }
                    }
                    Lookup::UserDefined | Lookup::Uncatalogued => {}
                    Lookup::Unknown(why) => problems.push(FilterProblem {
                        offset: lit.offset,
                        len: lit.len,
                        message: format!("unknown metric type \"{}\": {why}", lit.value),
                        suggestion: catalog::suggest(&lit.value).first().map(|s| did_you_mean(s)),
                    }),
                },
                Form::StartsWith => {
                    if !catalog::any_with_prefix(&lit.value) {
                        problems.push(FilterProblem {
                            offset: lit.offset,
                            len: lit.len,
                            message: format!("no metric type starts with \"{}\"", lit.value),
                            suggestion: catalog::suggest_prefix(&lit.value).map(did_you_mean),
                        });
                    }
                }
                Form::Unchecked => {}
            }
        }
    }
    // A resource type the metric is not written for matches no time series: the alert never
    // fires. Only decidable when the filter requires one catalogued metric and the resource
    // type together (no OR/NOT).
    if let ([metric], false) = (&known_metrics[..], scan.disjunctive) {
        if !metric.resource_types.is_empty() {
            for term in scan.terms.iter().filter(|t| t.field == Field::Resource && !t.negated) {
                if !matches!(term.form, Form::Exact | Form::OneOf) {
                    continue;
                }
                for lit in term.values.iter().filter(|l| !metric.written_for(&l.value)) {
                    problems.push(FilterProblem {
                        offset: lit.offset,
                        len: lit.len,
                        message: format!(
                            "metric type \"{}\" is not written for monitored resource type \"{}\" (it is written for {})",
                            metric.metric_type,
                            lit.value,
                            metric.resource_types.iter().map(|r| format!("\"{r}\"")).collect::<Vec<_>>().join(", ")
                        ),
                        suggestion: closest(&lit.value, &metric.resource_types).map(did_you_mean),
                    });
                }
            }
        }
    }
    problems.sort_by_key(|p| p.offset);
    problems
}

/// The closest of `candidates`, or the only one.
fn closest<'a>(written: &str, candidates: &[&'a str]) -> Option<&'a str> {
    if let [only] = candidates {
        return Some(only);
    }
    candidates
        .iter()
        .map(|c| (strsim::normalized_damerau_levenshtein(written, c), *c))
        .filter(|(s, _)| *s >= 0.5)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at<'a>(filter: &'a str, p: &FilterProblem) -> &'a str {
        &filter[p.offset..p.offset + p.len]
    }

    #[test]
    fn a_correct_filter_has_no_problems() {
        for f in [
            r#"metric.type="cloudsql.googleapis.com/database/postgresql/num_backends" AND resource.type="cloudsql_database""#,
            r#"resource.type = "vpc_access_connector" AND metric.type = "vpcaccess.googleapis.com/connector/cpu/utilizations""#,
            r#"metric.type="monitoring.googleapis.com/uptime_check/time_until_ssl_cert_expires" resource.type="uptime_url" metric.label.check_id="x""#,
            r#"metric.type = "logging.googleapis.com/user/db_connection_errors" AND resource.type = "cloud_run_revision""#,
            r#"metric.type = starts_with("run.googleapis.com/container/")"#,
            r#"metric.type = one_of("run.googleapis.com/request_count", "custom.googleapis.com/x")"#,
            r#"metric.type = monitoring.regex.full_match("run\\.googleapis\\.com/.*")"#,
            r#"metric.type="pubsub.googleapis.com/subscription/num_undelivered_messages""#,
            "",
        ] {
            assert_eq!(check_filter(f), vec![], "{f}");
        }
    }

    #[test]
    fn a_misspelt_metric_type_is_located_with_a_suggestion() {
        for (f, wrong) in [
            (
                r#"metric.type="cloudsql.googleapis.com/database/postgresql/num_backend" AND resource.type="cloudsql_database""#,
                "cloudsql.googleapis.com/database/postgresql/num_backend",
            ),
            (
                r#"resource.type = "vpc_access_connector" AND metric.type = "vpcaccess.googleapis.com/connector/sent_byte_count""#,
                "vpcaccess.googleapis.com/connector/sent_byte_count",
            ),
        ] {
            let right = catalog::suggest(wrong)[0];
            let ps = check_filter(f);
            assert_eq!(ps.len(), 1, "{f}: {ps:?}");
            assert_eq!(at(f, &ps[0]), wrong);
            assert!(ps[0].message.starts_with(&format!("unknown metric type \"{wrong}\"")), "{}", ps[0].message);
            assert_eq!(ps[0].suggestion, Some(format!("did you mean \"{right}\"?")));
            assert_eq!(strsim::levenshtein(wrong, right), 1, "{right}");
        }
    }

    #[test]
    fn one_of_checks_each_type_and_starts_with_checks_the_prefix() {
        let f = r#"metric.type = one_of("run.googleapis.com/request_count", "run.googleapis.com/request_counts")"#;
        let ps = check_filter(f);
        assert_eq!(ps.len(), 1);
        assert_eq!(at(f, &ps[0]), "run.googleapis.com/request_counts");
        let f = r#"metric.type = starts_with("run.googleapis.com/contianer/")"#;
        let ps = check_filter(f);
        assert_eq!(ps.len(), 1);
        assert_eq!(at(f, &ps[0]), "run.googleapis.com/contianer/");
        assert_eq!(ps[0].suggestion.as_deref(), Some("did you mean \"run.googleapis.com/container/\"?"));
    }

    #[test]
    fn a_resource_type_the_metric_is_not_written_for_is_a_problem() {
        let f = r#"resource.type="cloud_sql_database" AND metric.type="cloudsql.googleapis.com/database/postgresql/num_backends""#;
        let ps = check_filter(f);
        assert_eq!(ps.len(), 1, "{ps:?}");
        assert_eq!(at(f, &ps[0]), "cloud_sql_database");
        assert_eq!(ps[0].suggestion.as_deref(), Some("did you mean \"cloudsql_database\"?"));
        let f = r#"metric.type="monitoring.googleapis.com/uptime_check/check_passed" AND resource.type="uptime_check""#;
        let ps = check_filter(f);
        assert_eq!(at(f, &ps[0]), "uptime_check");
        assert_eq!(ps[0].suggestion.as_deref(), Some("did you mean \"uptime_url\"?"));
        // With OR the pairing is not decidable: nothing is claimed.
        let f = r#"metric.type="run.googleapis.com/request_count" OR resource.type="cloudsql_database""#;
        assert_eq!(check_filter(f), vec![]);
    }

    #[test]
    fn escapes_and_offsets_are_those_of_the_filter_text() {
        let f = "metric.type = \"run.googleapis.com/request_cont\"";
        let ps = check_filter(f);
        assert_eq!((ps[0].offset, ps[0].len), (15, 31));
        let f = "metric.type=\"a\\\"b\"";
        assert_eq!(check_filter(f)[0].message.split(':').next().unwrap(), "unknown metric type \"a\"b\"");
    }

    #[test]
    fn an_unterminated_string_is_reported_where_it_starts() {
        let f = r#"metric.type="run.googleapis.com/request_count"#;
        let ps = check_filter(f);
        assert_eq!(ps[0].offset, 12);
        assert!(ps[0].message.contains("no closing quote"));
    }

    #[test]
    fn a_negated_term_is_checked_but_does_not_pair_with_a_resource() {
        let f = r#"metric.type != "run.googleapis.com/request_cont""#;
        assert_eq!(check_filter(f).len(), 1);
    }
}
