//! The metric-type catalog: `catalog.tsv`, parsed once per process.

use std::collections::BTreeMap;
use std::sync::OnceLock;

/// One catalogued metric type, as Google's metric lists describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricDescriptor {
    pub metric_type: &'static str,
    /// `GAUGE`, `DELTA` or `CUMULATIVE`.
    pub kind: &'static str,
    /// `BOOL`, `INT64`, `DOUBLE`, `STRING` or `DISTRIBUTION`.
    pub value_type: &'static str,
    /// UCUM unit as the list gives it (`By`, `ms`, `10^2.%`, …); empty for none.
    pub unit: &'static str,
    /// The monitored resource types the metric is written for; empty means any.
    pub resource_types: Vec<&'static str>,
    pub labels: Vec<&'static str>,
}

impl MetricDescriptor {
    /// Whether the metric is written for `resource_type`.
    pub fn written_for(&self, resource_type: &str) -> bool {
        self.resource_types.is_empty() || self.resource_types.contains(&resource_type)
    }
}

/// What the catalog says about a metric type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// A catalogued metric type.
    Known(&'static MetricDescriptor),
    /// A user-defined type (`custom.googleapis.com/…`, a logs-based metric, …) with a
    /// well-formed name.
    UserDefined,
    /// A type of a service (or a subtree of one) the catalog does not list: accepted as written.
    Uncatalogued,
    /// Not a metric type the API knows; the reason, worded for a diagnostic.
    Unknown(String),
}

struct Catalog {
    metrics: BTreeMap<&'static str, MetricDescriptor>,
    user_defined: Vec<&'static str>,
    logs_based: Vec<&'static str>,
    unchecked: Vec<&'static str>,
    /// Service domains with at least one catalogued type (`run.googleapis.com`).
    services: Vec<&'static str>,
}

const DATA: &str = include_str!("catalog.tsv");

fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| parse(DATA).unwrap_or_else(|e| panic!("catalog.tsv is malformed: {e}")))
}

/// Parses the data file. A malformed file is a build defect, which the unit tests catch; the
/// error names the line.
fn parse(data: &'static str) -> Result<Catalog, String> {
    let mut c = Catalog {
        metrics: BTreeMap::new(),
        user_defined: Vec::new(),
        logs_based: Vec::new(),
        unchecked: Vec::new(),
        services: Vec::new(),
    };
    for (n, line) in data.lines().enumerate() {
        let n = n + 1;
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&'static str> = line.split('\t').collect();
        if let Some(directive) = fields[0].strip_prefix('@') {
            let [_, prefix] = fields[..] else { return Err(format!("line {n}: a directive takes one prefix")) };
            match directive {
                "user_defined" => c.user_defined.push(prefix),
                "logs_based" => c.logs_based.push(prefix),
                "unchecked" => c.unchecked.push(prefix),
                other => return Err(format!("line {n}: unknown directive @{other}")),
            }
            continue;
        }
        let [metric_type, kind, value_type, unit, resources, labels] = fields[..] else {
            return Err(format!("line {n}: expected 6 tab-separated fields, found {}", fields.len()));
        };
        if !["GAUGE", "DELTA", "CUMULATIVE"].contains(&kind) {
            return Err(format!("line {n}: unknown metric kind {kind:?}"));
        }
        if !["BOOL", "INT64", "DOUBLE", "STRING", "DISTRIBUTION"].contains(&value_type) {
            return Err(format!("line {n}: unknown value type {value_type:?}"));
        }
        let Some((service, _)) = metric_type.split_once('/') else {
            return Err(format!("line {n}: {metric_type:?} has no service domain"));
        };
        let split = |s: &'static str| s.split(',').filter(|x| !x.is_empty()).collect::<Vec<_>>();
        let resource_types = if resources == "*" { Vec::new() } else { split(resources) };
        if resources.is_empty() {
            return Err(format!("line {n}: {metric_type} names no monitored resource type (use * for any)"));
        }
        let d = MetricDescriptor { metric_type, kind, value_type, unit, resource_types, labels: split(labels) };
        if c.metrics.insert(metric_type, d).is_some() {
            return Err(format!("line {n}: {metric_type} is listed twice"));
        }
        if !c.services.contains(&service) {
            c.services.push(service);
        }
    }
    Ok(c)
}

/// What the catalog knows about `metric_type`.
pub fn lookup(metric_type: &str) -> Lookup {
    let c = catalog();
    if let Some(d) = c.metrics.get(metric_type) {
        return Lookup::Known(d);
    }
    if let Some(prefix) = c.user_defined.iter().find(|p| metric_type.starts_with(*p)) {
        let name = &metric_type[prefix.len()..];
        return if name.is_empty() || name.starts_with('/') || name.ends_with('/') || name.contains("//") {
            Lookup::Unknown(format!("a user-defined metric type needs a name after \"{prefix}\""))
        } else {
            Lookup::UserDefined
        };
    }
    if let Some(prefix) = c.logs_based.iter().find(|p| metric_type.starts_with(*p)) {
        return match logs_based_name_problem(&metric_type[prefix.len()..]) {
            None => Lookup::UserDefined,
            Some(problem) => Lookup::Unknown(format!("logs-based metric name {problem}")),
        };
    }
    if c.unchecked.iter().any(|p| metric_type.starts_with(p)) {
        return Lookup::Uncatalogued;
    }
    match metric_type.split_once('/') {
        Some((service, rest)) if !rest.is_empty() => {
            if c.services.contains(&service) {
                Lookup::Unknown(format!("{service} has no metric type \"{rest}\""))
            } else if close_service(service).is_some() {
                Lookup::Unknown(format!("\"{service}\" is not a Google Cloud service"))
            } else {
                Lookup::Uncatalogued
            }
        }
        _ => Lookup::Unknown(
            "a metric type is a service domain and a path, such as \"run.googleapis.com/request_count\"".into(),
        ),
    }
}

/// A service domain that is a near miss of a catalogued one (`cloudsq.googleapis.com`).
fn close_service(service: &str) -> Option<&'static str> {
    let c = catalog();
    let prefixes = c.user_defined.iter().chain(&c.logs_based).chain(&c.unchecked);
    let domains = c.services.iter().copied().chain(prefixes.filter_map(|p| p.split('/').next()));
    domains
        .filter(|s| *s != service)
        .map(|s| (strsim::damerau_levenshtein(service, s), s))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, s)| s)
}

/// LogMetric.name's rule (Logging API): up to 100 characters of `A-Za-z0-9` and
/// `_-.,+!*',()%/`, where `/` separates name pieces and may not come first.
fn logs_based_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("is empty".into());
    }
    if name.chars().count() > 100 {
        return Some("is longer than 100 characters".into());
    }
    if name.starts_with('/') {
        return Some("may not start with \"/\"".into());
    }
    name.chars()
        .find(|ch| !(ch.is_ascii_alphanumeric() || "_-.,+!*',()%/".contains(*ch)))
        .map(|ch| format!("may not contain {ch:?}"))
}

/// The catalogued types closest to `metric_type`, best first (at most three): near misses by
/// edit distance, and types that end with what was written when it is a bare path
/// (`num_backends` → `cloudsql.googleapis.com/database/postgresql/num_backends`).
pub fn suggest(metric_type: &str) -> Vec<&'static str> {
    let c = catalog();
    let mut scored: Vec<(f64, &'static str)> = c
        .metrics
        .keys()
        .map(|k| {
            let score = strsim::normalized_damerau_levenshtein(metric_type, k);
            let suffix = !metric_type.is_empty() && k.ends_with(&format!("/{}", metric_type.trim_start_matches('/')));
            (if suffix { 1.0 } else { score }, *k)
        })
        .filter(|(score, _)| *score >= 0.75)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    scored.into_iter().take(3).map(|(_, k)| k).collect()
}

/// For a `starts_with` prefix that matches nothing: the closest start of a catalogued type
/// with as many `/`-separated pieces (`run.googleapis.com/contianer/` →
/// `run.googleapis.com/container/`).
pub fn suggest_prefix(prefix: &str) -> Option<&'static str> {
    let pieces = prefix.matches('/').count();
    let trailing = prefix.ends_with('/');
    let cut = |k: &'static str| -> &'static str {
        let mut ends = k.match_indices('/').map(|(i, _)| i);
        match ends.nth(if trailing { pieces - 1 } else { pieces }) {
            Some(i) if trailing => &k[..=i],
            Some(i) => &k[..i],
            None => k,
        }
    };
    catalog()
        .metrics
        .keys()
        .filter(|k| !trailing || k.matches('/').count() >= pieces)
        .map(|k| cut(k))
        .map(|start| (strsim::normalized_damerau_levenshtein(prefix, start), start))
        .filter(|(score, _)| *score >= 0.75)
        .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(a.1)))
        .map(|(_, start)| start)
}

/// Every catalogued monitored resource type, for suggestions on a misspelt `resource.type`.
pub fn resource_types() -> Vec<&'static str> {
    let mut all: Vec<&'static str> =
        catalog().metrics.values().flat_map(|d| d.resource_types.iter().copied()).collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// Catalogued types that start with `prefix`, for `starts_with("…")` in a filter.
pub fn any_with_prefix(prefix: &str) -> bool {
    let c = catalog();
    c.metrics.keys().any(|k| k.starts_with(prefix))
        || c.user_defined
            .iter()
            .chain(&c.logs_based)
            .chain(&c.unchecked)
            .any(|p| p.starts_with(prefix) || prefix.starts_with(p))
        || prefix
            .split_once('/')
            .is_some_and(|(service, _)| !c.services.contains(&service) && close_service(service).is_none())
        || !prefix.contains('/') && c.services.iter().any(|s| s.starts_with(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_file_parses_and_holds_every_managed_service() {
        let c = parse(DATA).expect("catalog.tsv parses");
        for service in [
            "cloudsql.googleapis.com",
            "vpcaccess.googleapis.com",
            "run.googleapis.com",
            "loadbalancing.googleapis.com",
            "monitoring.googleapis.com",
            "logging.googleapis.com",
        ] {
            assert!(c.services.contains(&service), "{service} missing");
        }
        assert!(c.metrics.len() > 100, "{}", c.metrics.len());
    }

    #[test]
    fn malformed_lines_are_refused_with_their_line_number() {
        let e = parse("# x\na.googleapis.com/b\tGAUGE\tINT64\t1\n").err().unwrap();
        assert!(e.starts_with("line 2: expected 6"), "{e}");
        let e = parse("a.googleapis.com/b\tSOMETIMES\tINT64\t1\tr\t\n").err().unwrap();
        assert!(e.contains("unknown metric kind"), "{e}");
        let e = parse("a.googleapis.com/b\tGAUGE\tINT64\t1\t\t\n").err().unwrap();
        assert!(e.contains("no monitored resource type"), "{e}");
        let e = parse("@sometimes\tx/\n").err().unwrap();
        assert!(e.contains("unknown directive"), "{e}");
        let twice = "a.googleapis.com/b\tGAUGE\tINT64\t1\tr\t\na.googleapis.com/b\tGAUGE\tINT64\t1\tr\t\n";
        assert!(parse(twice).err().unwrap().starts_with("line 2: a.googleapis.com/b is listed twice"));
    }

    #[test]
    fn known_types_carry_their_descriptor() {
        let Lookup::Known(d) = lookup("cloudsql.googleapis.com/database/postgresql/num_backends") else { panic!() };
        assert_eq!((d.kind, d.value_type, d.unit), ("GAUGE", "INT64", "1"));
        assert_eq!(d.resource_types, ["cloudsql_database"]);
        assert_eq!(d.labels, ["database"]);
        let Lookup::Known(d) = lookup("monitoring.googleapis.com/uptime_check/time_until_ssl_cert_expires") else {
            panic!()
        };
        assert!(d.written_for("uptime_url") && !d.written_for("cloudsql_database"));
        let Lookup::Known(d) = lookup("logging.googleapis.com/log_entry_count") else { panic!() };
        assert!(d.written_for("anything_at_all"));
        for t in [
            "vpcaccess.googleapis.com/connector/sent_bytes_count",
            "run.googleapis.com/request_count",
            "loadbalancing.googleapis.com/https/request_count",
            "monitoring.googleapis.com/uptime_check/check_passed",
            "monitoring.googleapis.com/uptime_check/request_latency",
            "monitoring.googleapis.com/uptime_check/http_status",
            "monitoring.googleapis.com/uptime_check/content_mismatch",
            "monitoring.googleapis.com/uptime_check/error_code",
            "logging.googleapis.com/exports/error_count",
        ] {
            assert!(matches!(lookup(t), Lookup::Known(_)), "{t}");
        }
    }

    #[test]
    fn user_defined_prefixes_need_a_name() {
        assert_eq!(lookup("custom.googleapis.com/queue/depth"), Lookup::UserDefined);
        assert_eq!(lookup("workload.googleapis.com/x"), Lookup::UserDefined);
        assert_eq!(lookup("external.googleapis.com/prometheus/up"), Lookup::UserDefined);
        assert!(matches!(lookup("custom.googleapis.com/"), Lookup::Unknown(_)));
    }

    #[test]
    fn logs_based_metric_names_follow_the_logging_api_rule() {
        assert_eq!(lookup("logging.googleapis.com/user/db_connection_errors"), Lookup::UserDefined);
        assert_eq!(lookup("logging.googleapis.com/user/team/errors(5xx)"), Lookup::UserDefined);
        let Lookup::Unknown(why) = lookup("logging.googleapis.com/user/has space") else { panic!() };
        assert_eq!(why, "logs-based metric name may not contain ' '");
        assert!(matches!(lookup("logging.googleapis.com/user/"), Lookup::Unknown(_)));
        assert!(matches!(lookup("logging.googleapis.com/user//x"), Lookup::Unknown(_)));
        assert!(matches!(lookup(&format!("logging.googleapis.com/user/{}", "a".repeat(101))), Lookup::Unknown(_)));
    }

    #[test]
    fn unknown_types_of_catalogued_services_are_refused() {
        let Lookup::Unknown(why) = lookup("cloudsql.googleapis.com/database/postgresql/num_backend") else { panic!() };
        assert_eq!(why, "cloudsql.googleapis.com has no metric type \"database/postgresql/num_backend\"");
        // A misspelt service domain is caught too, not waved through as an unknown service.
        assert!(matches!(lookup("cloudsq.googleapis.com/database/up"), Lookup::Unknown(_)));
        assert!(matches!(lookup("num_backends"), Lookup::Unknown(_)));
    }

    #[test]
    fn uncatalogued_services_and_subtrees_are_accepted() {
        assert_eq!(lookup("pubsub.googleapis.com/subscription/num_undelivered_messages"), Lookup::Uncatalogued);
        assert_eq!(lookup("cloudsql.googleapis.com/database/mysql/queries"), Lookup::Uncatalogued);
        assert_eq!(lookup("secretmanager.googleapis.com/anything"), Lookup::Uncatalogued);
    }

    #[test]
    fn suggestions_are_the_closest_catalogued_types() {
        assert_eq!(
            suggest("cloudsql.googleapis.com/database/postgresql/num_backend")[0],
            "cloudsql.googleapis.com/database/postgresql/num_backends"
        );
        assert_eq!(
            suggest("vpcaccess.googleapis.com/connector/sent_byte_count")[0],
            "vpcaccess.googleapis.com/connector/sent_bytes_count"
        );
        assert_eq!(
            suggest("monitoring.googleapis.com/uptime_check/time_until_ssl_cert_expire")[0],
            "monitoring.googleapis.com/uptime_check/time_until_ssl_cert_expires"
        );
        assert_eq!(
            suggest("database/postgresql/num_backends")[0],
            "cloudsql.googleapis.com/database/postgresql/num_backends"
        );
        assert!(suggest("zzz").is_empty());
        assert!(suggest("cloudsql.googleapis.com/database/cpu/utilisation").len() <= 3);
    }

    #[test]
    fn prefixes_match_catalogued_or_open_subtrees() {
        assert!(any_with_prefix("run.googleapis.com/container/"));
        assert!(any_with_prefix("custom.googleapis.com/myapp/"));
        assert!(any_with_prefix("cloudsql.googleapis.com/database/mysql/innodb"));
        assert!(any_with_prefix("pubsub.googleapis.com/"));
        assert!(!any_with_prefix("run.googleapis.com/contianer/"));
        assert!(!any_with_prefix("cloudsq.googleapis.com/"));
    }
}
