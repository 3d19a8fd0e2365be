//! The metric types the emulator knows, and Monitoring filters read far enough to check their
//! syntax and find the metric types they name.
//!
//! The real API refuses an alert condition whose filter names a metric type it cannot find
//! (404 "Cannot find metric(s) that match type = …"). The emulator keeps the types of the
//! services the staging stack uses, from Google Cloud's metric list
//! (https://cloud.google.com/monitoring/api/metrics_gcp, sections vpcaccess, cloudsql, run,
//! monitoring/uptime_check, loadbalancing, logging). [`KNOWN_METRIC_TYPES`] is the one place
//! the list lives, so a fuller catalog can replace it.

/// Every metric type a filter may name, sorted.
pub const KNOWN_METRIC_TYPES: &[&str] = &[
    "cloudsql.googleapis.com/database/auto_failover_request_count",
    "cloudsql.googleapis.com/database/available_for_failover",
    "cloudsql.googleapis.com/database/cpu/reserved_cores",
    "cloudsql.googleapis.com/database/cpu/usage_time",
    "cloudsql.googleapis.com/database/cpu/utilization",
    "cloudsql.googleapis.com/database/disk/bytes_used",
    "cloudsql.googleapis.com/database/disk/quota",
    "cloudsql.googleapis.com/database/disk/read_ops_count",
    "cloudsql.googleapis.com/database/disk/utilization",
    "cloudsql.googleapis.com/database/disk/write_ops_count",
    "cloudsql.googleapis.com/database/memory/quota",
    "cloudsql.googleapis.com/database/memory/total_usage",
    "cloudsql.googleapis.com/database/memory/usage",
    "cloudsql.googleapis.com/database/memory/utilization",
    "cloudsql.googleapis.com/database/network/connections",
    "cloudsql.googleapis.com/database/network/received_bytes_count",
    "cloudsql.googleapis.com/database/network/sent_bytes_count",
    "cloudsql.googleapis.com/database/postgresql/backends_in_wait",
    "cloudsql.googleapis.com/database/postgresql/deadlock_count",
    "cloudsql.googleapis.com/database/postgresql/num_backends",
    "cloudsql.googleapis.com/database/postgresql/num_backends_by_state",
    "cloudsql.googleapis.com/database/postgresql/transaction_count",
    "cloudsql.googleapis.com/database/postgresql/transaction_id_utilization",
    "cloudsql.googleapis.com/database/state",
    "cloudsql.googleapis.com/database/up",
    "cloudsql.googleapis.com/database/uptime",
    "loadbalancing.googleapis.com/https/backend_latencies",
    "loadbalancing.googleapis.com/https/backend_request_bytes_count",
    "loadbalancing.googleapis.com/https/backend_request_count",
    "loadbalancing.googleapis.com/https/backend_response_bytes_count",
    "loadbalancing.googleapis.com/https/frontend_tcp_rtt",
    "loadbalancing.googleapis.com/https/request_bytes_count",
    "loadbalancing.googleapis.com/https/request_count",
    "loadbalancing.googleapis.com/https/response_bytes_count",
    "loadbalancing.googleapis.com/https/total_latencies",
    "logging.googleapis.com/billing/bytes_ingested",
    "logging.googleapis.com/billing/monthly_bytes_ingested",
    "logging.googleapis.com/byte_count",
    "logging.googleapis.com/exports/byte_count",
    "logging.googleapis.com/exports/error_count",
    "logging.googleapis.com/exports/log_entry_count",
    "logging.googleapis.com/log_entry_count",
    "monitoring.googleapis.com/uptime_check/check_passed",
    "monitoring.googleapis.com/uptime_check/content_mismatch",
    "monitoring.googleapis.com/uptime_check/error_code",
    "monitoring.googleapis.com/uptime_check/http_status",
    "monitoring.googleapis.com/uptime_check/request_latency",
    "monitoring.googleapis.com/uptime_check/time_until_ssl_cert_expires",
    "run.googleapis.com/container/billable_instance_time",
    "run.googleapis.com/container/cpu/allocation_time",
    "run.googleapis.com/container/cpu/utilizations",
    "run.googleapis.com/container/instance_count",
    "run.googleapis.com/container/max_request_concurrencies",
    "run.googleapis.com/container/memory/allocation_time",
    "run.googleapis.com/container/memory/utilizations",
    "run.googleapis.com/container/network/received_bytes_count",
    "run.googleapis.com/container/network/sent_bytes_count",
    "run.googleapis.com/container/startup_latencies",
    "run.googleapis.com/request_count",
    "run.googleapis.com/request_latencies",
    "vpcaccess.googleapis.com/connector/cpu/utilizations",
    "vpcaccess.googleapis.com/connector/instances",
    "vpcaccess.googleapis.com/connector/received_bytes_count",
    "vpcaccess.googleapis.com/connector/received_packets_count",
    "vpcaccess.googleapis.com/connector/sent_bytes_count",
    "vpcaccess.googleapis.com/connector/sent_packets_count",
];

pub fn is_known(metric_type: &str) -> bool {
    KNOWN_METRIC_TYPES.binary_search(&metric_type).is_ok()
}

/// How a filter restricts `metric.type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetricSelector {
    /// `metric.type = "x"`
    Exact(String),
    /// `metric.type = starts_with("x")` (or `ends_with`, `has_substring`, `one_of`…): matched
    /// against the known types by the function.
    Function { name: String, args: Vec<String> },
}

impl MetricSelector {
    /// The selector as the API's "Cannot find metric(s) that match …" message quotes it.
    pub fn describe(&self) -> String {
        match self {
            MetricSelector::Exact(t) => format!("type = \"{t}\""),
            MetricSelector::Function { name, args } => {
                let args: Vec<String> = args.iter().map(|a| format!("\"{a}\"")).collect();
                format!("type = {name}({})", args.join(", "))
            }
        }
    }

    /// Whether some known metric type matches.
    pub fn matches_known(&self) -> bool {
        match self {
            MetricSelector::Exact(t) => is_known(t),
            MetricSelector::Function { name, args } => KNOWN_METRIC_TYPES.iter().any(|known| {
                args.iter().any(|a| match name.as_str() {
                    "starts_with" => known.starts_with(a.as_str()),
                    "ends_with" => known.ends_with(a.as_str()),
                    "has_substring" => known.contains(a.as_str()),
                    "one_of" => known == a,
                    // monitoring.regex.full_match and anything newer: not second-guessed.
                    _ => true,
                })
            }),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Str(String),
    Word(String),
    Op(&'static str),
    Open,
    Close,
    Comma,
}

/// Splits a filter into tokens, or says where it cannot.
fn lex(filter: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = filter.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '"' | '\'' => {
                let quote = c;
                let mut text = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(format!("unterminated string starting at position {}", i)),
                        Some('\\') => {
                            if let Some(next) = chars.get(i + 1) {
                                text.push(*next);
                            }
                            i += 2;
                        }
                        Some(q) if *q == quote => {
                            i += 1;
                            break;
                        }
                        Some(other) => {
                            text.push(*other);
                            i += 1;
                        }
                    }
                }
                out.push(Token::Str(text));
            }
            '(' => {
                out.push(Token::Open);
                i += 1;
            }
            ')' => {
                out.push(Token::Close);
                i += 1;
            }
            ',' => {
                out.push(Token::Comma);
                i += 1;
            }
            '=' | ':' | '<' | '>' | '!' => {
                let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
                let op = match two.as_str() {
                    "!=" => "!=",
                    "<=" => "<=",
                    ">=" => ">=",
                    _ => match c {
                        '=' => "=",
                        ':' => ":",
                        '<' => "<",
                        '>' => ">",
                        _ => return Err(format!("unexpected '!' at position {i}")),
                    },
                };
                i += op.len();
                out.push(Token::Op(op));
            }
            c if c.is_alphanumeric() || matches!(c, '_' | '.' | '/' | '-' | '+') => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '.' | '/' | '-' | '+'))
                {
                    i += 1;
                }
                out.push(Token::Word(chars[start..i].iter().collect()));
            }
            other => return Err(format!("unexpected character '{other}' at position {i}")),
        }
    }
    Ok(out)
}

/// A recursive-descent reader of the filter grammar: expressions of comparisons joined by
/// AND/OR (or juxtaposition), NOT, and parentheses; a comparison's right side a string, a
/// number or word, or a function call.
struct Parser {
    tokens: Vec<Token>,
    at: usize,
    selectors: Vec<MetricSelector>,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn expression(&mut self) -> Result<(), String> {
        self.term()?;
        loop {
            match self.peek() {
                None | Some(Token::Close) => return Ok(()),
                Some(Token::Word(w)) if w == "AND" || w == "OR" => {
                    self.at += 1;
                    self.term()?;
                }
                Some(_) => self.term()?,
            }
        }
    }

    fn term(&mut self) -> Result<(), String> {
        match self.next() {
            Some(Token::Word(w)) if w == "NOT" => self.term(),
            Some(Token::Open) => {
                self.expression()?;
                match self.next() {
                    Some(Token::Close) => Ok(()),
                    _ => Err("missing ')'".into()),
                }
            }
            Some(Token::Word(field)) if field != "AND" && field != "OR" => {
                let op = match self.next() {
                    Some(Token::Op(op)) => op,
                    Some(other) => {
                        return Err(format!("expected a comparison after '{field}', found {}", show(&other)))
                    }
                    None => return Err(format!("expected a comparison after '{field}'")),
                };
                let selector = self.value()?;
                if field == "metric.type" {
                    match (op, selector) {
                        ("=", Value::Str(s)) => self.selectors.push(MetricSelector::Exact(s)),
                        ("=", Value::Call(name, args)) => self.selectors.push(MetricSelector::Function { name, args }),
                        _ => {}
                    }
                }
                Ok(())
            }
            Some(other) => Err(format!("unexpected {}", show(&other))),
            None => Err("the filter ends where a comparison was expected".into()),
        }
    }

    fn value(&mut self) -> Result<Value, String> {
        match self.next() {
            Some(Token::Str(s)) => Ok(Value::Str(s)),
            Some(Token::Word(w)) => {
                if self.peek() == Some(&Token::Open) {
                    self.at += 1;
                    let mut args = Vec::new();
                    loop {
                        match self.next() {
                            Some(Token::Close) if args.is_empty() => break,
                            Some(Token::Str(s)) => args.push(s),
                            Some(Token::Word(w)) => args.push(w),
                            Some(other) => {
                                return Err(format!("unexpected {} in the arguments of {w}()", show(&other)))
                            }
                            None => return Err(format!("missing ')' after the arguments of {w}(")),
                        }
                        match self.next() {
                            Some(Token::Comma) => continue,
                            Some(Token::Close) => break,
                            _ => return Err(format!("missing ')' after the arguments of {w}(")),
                        }
                    }
                    Ok(Value::Call(w, args))
                } else {
                    Ok(Value::Word)
                }
            }
            Some(other) => Err(format!("expected a value, found {}", show(&other))),
            None => Err("the filter ends where a value was expected".into()),
        }
    }
}

enum Value {
    Str(String),
    Word,
    Call(String, Vec<String>),
}

fn show(t: &Token) -> String {
    match t {
        Token::Str(s) => format!("\"{s}\""),
        Token::Word(w) => format!("'{w}'"),
        Token::Op(op) => format!("'{op}'"),
        Token::Open => "'('".into(),
        Token::Close => "')'".into(),
        Token::Comma => "','".into(),
    }
}

/// Checks a filter's syntax and returns how it selects metric types (none when it does not
/// name `metric.type` with `=`), or what is wrong with it.
pub fn metric_selectors(filter: &str) -> Result<Vec<MetricSelector>, String> {
    let tokens = lex(filter)?;
    if tokens.is_empty() {
        return Err("the filter is empty".into());
    }
    let mut parser = Parser { tokens, at: 0, selectors: Vec::new() };
    parser.expression()?;
    if parser.at < parser.tokens.len() {
        return Err(format!("unexpected {}", show(&parser.tokens[parser.at])));
    }
    Ok(parser.selectors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_is_sorted_and_holds_what_the_staging_alerts_use() {
        assert!(KNOWN_METRIC_TYPES.windows(2).all(|w| w[0] < w[1]), "sorted, no duplicates");
        for t in [
            "monitoring.googleapis.com/uptime_check/check_passed",
            "monitoring.googleapis.com/uptime_check/time_until_ssl_cert_expires",
            "cloudsql.googleapis.com/database/postgresql/num_backends",
            "vpcaccess.googleapis.com/connector/cpu/utilizations",
        ] {
            assert!(is_known(t), "{t}");
        }
        assert!(!is_known("monitoring.googleapis.com/uptime_check/checkpassed"));
    }

    #[test]
    fn finds_the_metric_types_a_filter_selects() {
        let f = r#"metric.type="run.googleapis.com/request_count" AND resource.type = "cloud_run_revision" AND metric.labels.response_code_class != "2xx""#;
        assert_eq!(metric_selectors(f).unwrap(), [MetricSelector::Exact("run.googleapis.com/request_count".into())]);
        let f = r#"metric.type = starts_with("cloudsql.googleapis.com/database/postgresql/") resource.type="cloudsql_database""#;
        let s = metric_selectors(f).unwrap();
        assert_eq!(s[0].describe(), r#"type = starts_with("cloudsql.googleapis.com/database/postgresql/")"#);
        assert!(s[0].matches_known());
        let s = metric_selectors(r#"metric.type = starts_with("nothing.googleapis.com/")"#).unwrap();
        assert!(!s[0].matches_known());
        assert!(metric_selectors(r#"resource.type = "gce_instance""#).unwrap().is_empty());
        assert_eq!(
            metric_selectors(r#"(metric.type = "a" OR NOT metric.type = "b")"#).unwrap(),
            [MetricSelector::Exact("a".into()), MetricSelector::Exact("b".into())]
        );
    }

    #[test]
    fn malformed_filters_say_what_is_wrong() {
        for (filter, expected) in [
            (r#"metric.type = "x"#, "unterminated string"),
            (r#"metric.type "x""#, "expected a comparison after 'metric.type'"),
            (r#"(metric.type = "x""#, "missing ')'"),
            (r#"metric.type = "x" AND"#, "ends where a comparison"),
            (r#"metric.type = starts_with("x""#, "missing ')'"),
            ("", "empty"),
            (r#"metric.type = "x" )"#, "unexpected ')'"),
            (r#"metric.type ~ "x""#, "unexpected character '~'"),
        ] {
            let err = metric_selectors(filter).unwrap_err();
            assert!(err.contains(expected), "{filter}: {err}");
        }
    }
}
