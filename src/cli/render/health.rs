//! The health report `cairn check` prints, laid out as the roadmap's health script prints it
//! (section 2.1 of the remediation roadmap), so the report can replace that script in runbooks
//! and CI:
//!
//! ```text
//! 🚀 Starting Complete Infrastructure Validation for stacks/staging
//! ======================================================================
//! 🔍 Checking VPC Connector...
//!    ❌ Found 2 VPC connector issues
//! 🔍 Checking Secret Manager Secrets...
//!    ❌ Missing secrets: database-url, jwt-secret-staging
//!
//! Overall Status: CRITICAL
//! Critical Failures: 4
//!
//! ❌ CRITICAL FAILURES:
//!    - VPC connector state is 'CREATING', expected 'READY'
//!    - …
//! ```
//!
//! **Sections.** One per module *source*, in the order the configuration declares them: when
//! several module calls use the same source directory (one `modules/cloud-run-service` call per
//! service) their checks form one section titled from the directory's name, pluralised ("Cloud
//! Run Services"); otherwise the title comes from the call's name (`vpc_connector` → "VPC
//! Connector"). Checks of the root module form the section "Stack".
//!
//! **Summary line.** Each section gets one line, worded from its title read as a noun phrase:
//! common nouns in lower case, acronyms and Google Cloud product names as written ("VPC
//! connector", "Cloud SQL instance", "Secret Manager secrets", "load balancer").
//! - all checks pass: "✅ VPC connector configuration is valid", or for a plural title (a
//!   section of several calls, or a title whose last word is plural) "✅ All Cloud Run services
//!   are properly configured";
//! - failures: "❌ Found N <singular> issue(s)", N the section's failure lines ("❌ Found 2 VPC
//!   connector issues", "❌ Found 1 Cloud Run service issue");
//! - when every failure line of a section is `Secret 'x' is missing`, the seed's own wording:
//!   "❌ Missing secrets: x, y";
//! - checks that cannot be decided yet (they read values known only after an apply) add
//!   "❔ Cannot be decided until the resources exist (run cairn apply): <check names>".
//!
//! `--detailed-report` (the seed script's flag) adds every check's own lines under the summary.
//! Where the output cannot take emoji (a locale without UTF-8, `TERM=dumb`, or `--ascii`) the
//! same layout prints `==>`, `-->`, `[OK]`, `[FAIL]` and `[??]` instead.
//!
//! The JSON and markdown reports use the same sections.

use std::path::PathBuf;

use owo_colors::OwoColorize;
use serde_json::{json, Value as Json};

use crate::addr::ModulePath;
use crate::state::{CheckResult, CheckStatus};

/// How `cairn check` prints its text report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HealthOptions {
    /// ANSI colours on the status lines.
    pub color: bool,
    /// Emoji markers (🚀 🔍 ✅ ❌ ❔); plain-ASCII equivalents when false.
    pub emoji: bool,
    /// Every check's lines under its section's summary (`--detailed-report`).
    pub detailed: bool,
}

/// Whether the terminal's character set can show emoji, from the environment: not on a dumb
/// terminal, and only under a UTF-8 locale. The first of `LC_ALL`, `LC_CTYPE` and `LANG` that is
/// set decides, as POSIX orders them; with none set, the C locale is ASCII (Windows consoles
/// have no locale variables and take UTF-8).
pub fn output_takes_emoji(var: impl Fn(&str) -> Option<String>) -> bool {
    if var("TERM").as_deref() == Some("dumb") {
        return false;
    }
    let locale = ["LC_ALL", "LC_CTYPE", "LANG"].iter().find_map(|k| var(k).filter(|v| !v.is_empty()));
    match locale {
        Some(l) => {
            let l = l.to_ascii_lowercase();
            l.contains("utf-8") || l.contains("utf8")
        }
        None => cfg!(windows),
    }
}

/// The markers of the report, emoji or their ASCII stand-ins.
struct Marks {
    start: &'static str,
    checking: &'static str,
    ok: &'static str,
    fail: &'static str,
    unknown: &'static str,
}

impl Marks {
    fn new(emoji: bool) -> Self {
        if emoji {
            Marks { start: "🚀", checking: "🔍", ok: "✅", fail: "❌", unknown: "❔" }
        } else {
            Marks { start: "==>", checking: "-->", ok: "[OK]", fail: "[FAIL]", unknown: "[??]" }
        }
    }
}

/// Which directory each module was loaded from: what groups the checks of several calls of
/// one module into one section.
#[derive(Clone, Debug, Default)]
pub struct ModuleSources {
    /// `module.a.module.b` → its source directory.
    dirs: Vec<(String, PathBuf)>,
}

impl ModuleSources {
    pub fn new<'a>(modules: impl IntoIterator<Item = (&'a ModulePath, &'a PathBuf)>) -> Self {
        ModuleSources {
            dirs: modules.into_iter().filter(|(p, _)| !p.is_root()).map(|(p, d)| (p.to_string(), d.clone())).collect(),
        }
    }

    /// The section a module's checks go to (`module` as in a check's address), and its title.
    fn section_of(&self, module: &str) -> (SectionKey, String) {
        let dir = self.dirs.iter().find(|(m, _)| m == module).map(|(_, d)| d);
        match dir {
            Some(dir) if self.dirs.iter().filter(|(_, d)| d == dir).count() > 1 => {
                let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                (SectionKey::Source(dir.clone()), pluralise_title(&title_words(&name)))
            }
            _ => (SectionKey::Call(module.to_string()), title(module)),
        }
    }
}

/// What a section gathers: the checks of every call of one module source, or of one call.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum SectionKey {
    Source(PathBuf),
    Call(String),
}

/// One section of the report.
struct Section<'a> {
    title: String,
    /// Titled from a module used by several calls: its title names many things.
    plural: bool,
    /// Holds the checks of several module calls, so a check's name alone is ambiguous.
    grouped: bool,
    checks: Vec<&'a CheckResult>,
}

/// `module.vpc_connector.check.ready` → (`module.vpc_connector`, `ready`).
fn split(address: &str) -> (&str, &str) {
    match address.rfind("check.") {
        Some(i) if i > 0 => (address[..i].trim_end_matches('.'), &address[i + "check.".len()..]),
        Some(i) => ("", &address[i + "check.".len()..]),
        None => ("", address),
    }
}

const ACRONYMS: &[&str] = &["vpc", "sql", "ssl", "tls", "https", "http", "lb", "dns", "iam", "api", "ip", "neg"];

/// `secret_manager` → ["Secret", "Manager"]: words in title case, the usual acronyms upper-case,
/// as the roadmap's health script names its sections ("VPC Connector", "Cloud SQL Instance").
fn title_words(name: &str) -> Vec<String> {
    name.split(['_', '-'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            if ACRONYMS.contains(&w) {
                w.to_uppercase()
            } else {
                let mut c = w.chars();
                c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
            }
        })
        .collect()
}

/// `module.secret_manager` → "Secret Manager"; the root module → "Stack".
fn title(module: &str) -> String {
    if module.is_empty() {
        return "Stack".into();
    }
    let last = module.rsplit("module.").next().unwrap_or(module).trim_end_matches('.');
    title_words(last).join(" ")
}

fn is_acronym(word: &str) -> bool {
    word.len() > 1 && word.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

fn plural_of(word: &str) -> String {
    let lower = word.to_ascii_lowercase();
    if is_acronym(word) {
        format!("{word}s")
    } else if ["s", "x", "z", "ch", "sh"].iter().any(|e| lower.ends_with(e)) {
        format!("{word}es")
    } else if lower.ends_with('y') && !lower.ends_with("ay") && !lower.ends_with("ey") && !lower.ends_with("oy") {
        format!("{}ies", &word[..word.len() - 1])
    } else {
        format!("{word}s")
    }
}

fn singular_of(word: &str) -> String {
    let lower = word.to_ascii_lowercase();
    if lower.ends_with("ies") {
        format!("{}y", &word[..word.len() - 3])
    } else if ["sses", "xes", "zes", "ches", "shes"].iter().any(|e| lower.ends_with(e)) {
        word[..word.len() - 2].to_string()
    } else if looks_plural(word) {
        word[..word.len() - 1].to_string()
    } else {
        word.to_string()
    }
}

fn looks_plural(word: &str) -> bool {
    let lower = word.to_ascii_lowercase();
    !is_acronym(word) && lower.ends_with('s') && !lower.ends_with("ss") && !lower.ends_with("us")
}

/// "Cloud Run Service" → "Cloud Run Services".
fn pluralise_title(words: &[String]) -> String {
    match words.split_last() {
        Some((last, rest)) => {
            let mut out: Vec<String> = rest.to_vec();
            out.push(plural_of(last));
            out.join(" ")
        }
        None => "Modules".into(),
    }
}

/// Google Cloud product names of two words, kept as written inside a sentence.
const PRODUCT_PAIRS: &[(&str, &str)] = &[("Secret", "Manager"), ("Compute", "Engine"), ("Artifact", "Registry")];
/// One-word product names, kept as written inside a sentence.
const PRODUCTS: &[&str] = &["BigQuery", "Bigtable", "Firestore", "Kubernetes", "Memorystore", "Spanner"];

/// The title as a noun phrase inside a sentence: common nouns lower case, product names and
/// acronyms as written ("Cloud SQL Instance" → "Cloud SQL instance", "Load Balancer" → "load
/// balancer", "Secret Manager Secrets" → "Secret Manager secrets"); `opens_sentence` capitalises
/// the first letter. "Cloud" and the word after it are a product name ("Cloud Run").
fn phrase(words: &[&str], opens_sentence: bool) -> String {
    let mut keep: Vec<bool> = words.iter().map(|w| is_acronym(w) || PRODUCTS.contains(w)).collect();
    for i in 0..words.len() {
        if words[i] == "Cloud" {
            keep[i] = true;
            if let Some(k) = keep.get_mut(i + 1) {
                *k = true;
            }
        }
        if let Some(next) = words.get(i + 1) {
            if PRODUCT_PAIRS.contains(&(words[i], *next)) {
                keep[i] = true;
                keep[i + 1] = true;
            }
        }
    }
    let text = words
        .iter()
        .zip(keep)
        .map(|(w, keep)| if keep { w.to_string() } else { w.to_lowercase() })
        .collect::<Vec<_>>()
        .join(" ");
    if opens_sentence {
        let mut c = text.chars();
        c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
    } else {
        text
    }
}

fn humanize(name: &str) -> String {
    name.replace(['_', '-'], " ")
}

/// A check's name as the report shows it; in a section of several calls of one module, with the
/// call it belongs to ("vpc access (netra backend)").
fn check_label(s: &Section<'_>, c: &CheckResult) -> String {
    let (module, name) = split(&c.address);
    let call = module.rsplit("module.").next().unwrap_or_default().trim_end_matches('.');
    if s.grouped && !call.is_empty() {
        format!("{} ({})", humanize(name), humanize(call))
    } else {
        humanize(name)
    }
}

fn sections<'a>(results: &'a [CheckResult], sources: &ModuleSources) -> Vec<Section<'a>> {
    // In the order the checks come (the configuration's), not alphabetical.
    let mut by_key: indexmap::IndexMap<SectionKey, Section<'a>> = indexmap::IndexMap::new();
    for r in results {
        let module = split(&r.address).0;
        let (key, title) = sources.section_of(module);
        let grouped = matches!(key, SectionKey::Source(_));
        by_key
            .entry(key)
            .or_insert_with(|| {
                let plural = grouped || title.rsplit(' ').next().is_some_and(looks_plural);
                Section { title, plural, grouped, checks: Vec::new() }
            })
            .checks
            .push(r);
    }
    by_key.into_values().collect()
}

/// A check may report several failures in one message, one per line (e.g. each missing
/// secret); each becomes its own line in the report.
fn lines(messages: &[String]) -> Vec<String> {
    messages.iter().flat_map(|m| m.lines()).map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect()
}

/// The failure lines of one check: its messages, or a line naming it when it has none.
fn failure_lines(section: &Section<'_>, c: &CheckResult) -> Vec<String> {
    if c.status != CheckStatus::Fail {
        return Vec::new();
    }
    let ls = lines(&c.messages);
    if ls.is_empty() {
        vec![format!("{}: {} failed", section.title, check_label(section, c))]
    } else {
        ls
    }
}

/// Every failure line, in report order (the "CRITICAL FAILURES" list).
fn failures(sections: &[Section<'_>]) -> Vec<String> {
    sections.iter().flat_map(|s| s.checks.iter().flat_map(move |c| failure_lines(s, c))).collect()
}

/// HEALTHY when every check passed, CRITICAL when any failed, UNKNOWN when some could not be
/// decided (values known only after an apply).
pub fn overall(results: &[CheckResult]) -> &'static str {
    if results.iter().any(|r| r.status == CheckStatus::Fail) {
        "CRITICAL"
    } else if results.iter().any(|r| r.status == CheckStatus::Unknown) {
        "UNKNOWN"
    } else {
        "HEALTHY"
    }
}

/// `Secret 'x' is missing` → `x`.
fn missing_secret(line: &str) -> Option<&str> {
    line.strip_prefix("Secret '")?.strip_suffix("' is missing").filter(|s| !s.contains('\''))
}

const UNDECIDED: &str = "cannot be decided until the resources exist (run cairn apply)";

/// The section's summary: a verdict line, plus a line for checks not yet decidable.
fn summary(s: &Section<'_>, m: &Marks) -> Vec<(String, Option<bool>)> {
    let words: Vec<&str> = s.title.split(' ').collect();
    let fails: Vec<String> = s.checks.iter().flat_map(|c| failure_lines(s, c)).collect();
    let undecided: Vec<String> =
        s.checks.iter().filter(|c| c.status == CheckStatus::Unknown).map(|c| check_label(s, c)).collect();
    let mut out = Vec::new();
    if !fails.is_empty() {
        let secrets: Vec<&str> = fails.iter().filter_map(|l| missing_secret(l)).collect();
        let line = if secrets.len() == fails.len() {
            format!("{} Missing secrets: {}", m.fail, secrets.join(", "))
        } else {
            let mut singular: Vec<String> = words.iter().map(|w| w.to_string()).collect();
            if let Some(last) = singular.last_mut() {
                *last = singular_of(last);
            }
            let singular: Vec<&str> = singular.iter().map(String::as_str).collect();
            let n = fails.len();
            format!("{} Found {n} {} issue{}", m.fail, phrase(&singular, false), if n == 1 { "" } else { "s" })
        };
        out.push((line, Some(false)));
    } else if undecided.is_empty() {
        let line = if s.plural {
            format!("{} All {} are properly configured", m.ok, phrase(&words, false))
        } else {
            format!("{} {} configuration is valid", m.ok, phrase(&words, true))
        };
        out.push((line, Some(true)));
    }
    if !undecided.is_empty() {
        out.push((
            format!(
                "{} Cannot be decided until the resources exist (run cairn apply): {}",
                m.unknown,
                undecided.join(", ")
            ),
            None,
        ));
    }
    out
}

/// Each check's own lines (`--detailed-report`).
fn detail(s: &Section<'_>, m: &Marks) -> Vec<(String, Option<bool>)> {
    let mut out = Vec::new();
    for c in &s.checks {
        let name = check_label(s, c);
        match c.status {
            CheckStatus::Pass => out.push((format!("{} {name}", m.ok), Some(true))),
            CheckStatus::Unknown => out.push((format!("{} {name}: {UNDECIDED}", m.unknown), None)),
            CheckStatus::Fail => {
                let ls = lines(&c.messages);
                if ls.is_empty() {
                    out.push((format!("{} {name}", m.fail), Some(false)));
                }
                for l in ls {
                    out.push((format!("{} {name}: {l}", m.fail), Some(false)));
                }
            }
        }
    }
    out
}

pub fn health_text(stack: &str, results: &[CheckResult], sources: &ModuleSources, opts: &HealthOptions) -> String {
    let paint = |s: &str, ok: Option<bool>| -> String {
        match (opts.color, ok) {
            (false, _) => s.to_string(),
            (true, Some(true)) => s.green().to_string(),
            (true, Some(false)) => s.red().to_string(),
            (true, None) => s.yellow().to_string(),
        }
    };
    let m = Marks::new(opts.emoji);
    let mut out = String::new();
    out.push_str(&format!("{} Starting Complete Infrastructure Validation for {stack}\n", m.start));
    out.push_str(&"=".repeat(70));
    out.push('\n');
    if results.is_empty() {
        out.push_str("The stack declares no check blocks: there is nothing to report.\n");
    }
    let sections = sections(results, sources);
    for s in &sections {
        out.push_str(&format!("{} Checking {}...\n", m.checking, s.title));
        for (line, ok) in summary(s, &m) {
            out.push_str(&format!("   {}\n", paint(&line, ok)));
        }
        if opts.detailed {
            for (line, ok) in detail(s, &m) {
                out.push_str(&format!("      {}\n", paint(&line, ok)));
            }
        }
    }
    let fails = failures(&sections);
    let status = overall(results);
    out.push('\n');
    out.push_str(&format!("Overall Status: {}\n", paint(status, Some(status == "HEALTHY"))));
    out.push_str(&format!("Critical Failures: {}\n", fails.len()));
    if !fails.is_empty() {
        out.push_str(&format!("\n{} CRITICAL FAILURES:\n", m.fail));
        for f in &fails {
            out.push_str(&format!("   - {f}\n"));
        }
    }
    out
}

pub fn health_json(stack: &str, results: &[CheckResult], sources: &ModuleSources) -> Json {
    let sections = sections(results, sources);
    let components: Vec<Json> = sections
        .iter()
        .map(|s| {
            json!({
                "component": s.title,
                "checks": s.checks.iter().map(|c| json!({
                    "address": c.address,
                    "name": split(&c.address).1,
                    "status": match c.status { CheckStatus::Pass => "pass", CheckStatus::Fail => "fail", CheckStatus::Unknown => "unknown" },
                    "messages": c.messages,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let fails = failures(&sections);
    json!({
        "stack": stack,
        "overall_status": overall(results),
        "critical_failures": fails.len(),
        "failures": fails,
        "components": components,
    })
}

pub fn health_markdown(stack: &str, results: &[CheckResult], sources: &ModuleSources) -> String {
    let status = overall(results);
    let sections = sections(results, sources);
    let fails = failures(&sections);
    let mut out = format!("### Infrastructure health: `{stack}` — {status}\n\n");
    out.push_str(&format!("Critical failures: **{}**\n\n", fails.len()));
    out.push_str("| Component | Check | Result |\n|---|---|---|\n");
    for s in &sections {
        for c in &s.checks {
            let result = match c.status {
                CheckStatus::Pass => "✅ pass".to_string(),
                CheckStatus::Unknown => "❔ unknown".to_string(),
                CheckStatus::Fail => format!("❌ {}", lines(&c.messages).join("; ")),
            };
            out.push_str(&format!("| {} | {} | {} |\n", s.title, check_label(s, c), result.replace('|', "\\|")));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(address: &str, status: CheckStatus, messages: &[&str]) -> CheckResult {
        CheckResult { address: address.into(), status, messages: messages.iter().map(|s| s.to_string()).collect() }
    }

    /// The staging stack's module calls as the seed names its sections: two calls of
    /// modules/cloud-run-service, every other module called once.
    fn staging_sources() -> ModuleSources {
        let calls = [
            ("vpc_connector", "vpc-connector"),
            ("cloud_sql_instance", "cloud-sql"),
            ("secret_manager_secrets", "secrets"),
            ("netra_backend", "cloud-run-service"),
            ("auth", "cloud-run-service"),
            ("certificates", "managed-certificate"),
            ("load_balancer", "https-lb"),
            ("monitoring", "monitoring"),
        ];
        let owned: Vec<(ModulePath, PathBuf)> = calls
            .iter()
            .map(|(call, dir)| (ModulePath::of_names(&[call]), PathBuf::from(format!("/repo/modules/{dir}"))))
            .collect();
        ModuleSources::new(owned.iter().map(|(p, d)| (p, d)))
    }

    fn healthy() -> Vec<CheckResult> {
        vec![
            r("module.vpc_connector.check.connector_ready", CheckStatus::Pass, &[]),
            r("module.cloud_sql_instance.check.instance_runnable", CheckStatus::Pass, &[]),
            r("module.secret_manager_secrets.check.required_secrets", CheckStatus::Pass, &[]),
            r("module.netra_backend.check.vpc_access", CheckStatus::Pass, &[]),
            r("module.auth.check.vpc_access", CheckStatus::Pass, &[]),
            r("module.certificates.check.certificate_active", CheckStatus::Pass, &[]),
            r("module.load_balancer.check.backend_timeouts", CheckStatus::Pass, &[]),
            r("module.monitoring.check.log_sinks", CheckStatus::Pass, &[]),
        ]
    }

    /// The roadmap's broken staging: its six critical failures, word for word.
    fn broken() -> Vec<CheckResult> {
        vec![
            r(
                "module.vpc_connector.check.connector_ready",
                CheckStatus::Fail,
                &["VPC connector state is 'CREATING', expected 'READY'"],
            ),
            r(
                "module.cloud_sql_instance.check.instance_runnable",
                CheckStatus::Fail,
                &["Cloud SQL instance state is 'MAINTENANCE', expected 'RUNNABLE'"],
            ),
            r("module.cloud_sql_instance.check.flags", CheckStatus::Pass, &[]),
            r(
                "module.secret_manager_secrets.check.required_secrets",
                CheckStatus::Fail,
                &["Secret 'database-url' is missing\nSecret 'jwt-secret-staging' is missing"],
            ),
            r(
                "module.netra_backend.check.vpc_access",
                CheckStatus::Fail,
                &["Service 'netra-backend-staging' has incorrect VPC connector"],
            ),
            r("module.auth.check.vpc_access", CheckStatus::Fail, &["Service 'auth-staging' has incorrect VPC egress"]),
            r("module.certificates.check.certificate_active", CheckStatus::Pass, &[]),
            r("module.load_balancer.check.backend_timeouts", CheckStatus::Pass, &[]),
            r("module.monitoring.check.log_sinks", CheckStatus::Pass, &[]),
        ]
    }

    fn unknown() -> Vec<CheckResult> {
        vec![
            r("module.vpc_connector.check.connector_ready", CheckStatus::Pass, &[]),
            r("module.netra_backend.check.vpc_access", CheckStatus::Unknown, &[]),
            r("module.auth.check.vpc_access", CheckStatus::Unknown, &[]),
            r("module.certificates.check.certificate_active", CheckStatus::Unknown, &[]),
            r("check.stack_outputs", CheckStatus::Unknown, &[]),
        ]
    }

    fn text(results: &[CheckResult], emoji: bool, detailed: bool) -> String {
        health_text("stacks/staging", results, &staging_sources(), &HealthOptions { color: false, emoji, detailed })
    }

    #[test]
    fn titles_read_like_component_names() {
        assert_eq!(title("module.vpc_connector"), "VPC Connector");
        assert_eq!(title("module.secret_manager"), "Secret Manager");
        assert_eq!(title("module.load_balancer"), "Load Balancer");
        assert_eq!(title("module.cloud_sql_instance"), "Cloud SQL Instance");
        assert_eq!(title("module.app.module.https_lb"), "HTTPS LB");
        assert_eq!(title(""), "Stack");
        assert_eq!(pluralise_title(&title_words("cloud-run-service")), "Cloud Run Services");
        assert_eq!(pluralise_title(&title_words("global-address")), "Global Addresses");
        assert_eq!(pluralise_title(&title_words("log-sink-policy")), "Log Sink Policies");
        assert_eq!(pluralise_title(&title_words("serverless-neg")), "Serverless NEGs");
        assert_eq!(singular_of("Services"), "Service");
        assert_eq!(singular_of("Addresses"), "Address");
        assert_eq!(singular_of("Policies"), "Policy");
        assert_eq!(singular_of("Monitoring"), "Monitoring");
        assert_eq!(phrase(&["Load", "Balancer"], false), "load balancer");
        assert_eq!(phrase(&["Load", "Balancer"], true), "Load balancer");
        assert_eq!(phrase(&["Secret", "Manager"], false), "Secret Manager");
        assert_eq!(phrase(&["Secret", "Manager", "Secrets"], false), "Secret Manager secrets");
        assert_eq!(phrase(&["Cloud", "Run", "Service"], false), "Cloud Run service");
        assert_eq!(phrase(&["VPC", "Connector"], true), "VPC connector");
        assert_eq!(phrase(&["Monitoring"], false), "monitoring");
    }

    #[test]
    fn sections_follow_the_seed_and_group_calls_of_one_module() {
        let j = health_json("stacks/staging", &healthy(), &staging_sources());
        let titles: Vec<&str> =
            j["components"].as_array().unwrap().iter().map(|c| c["component"].as_str().unwrap()).collect();
        assert_eq!(
            titles,
            [
                "VPC Connector",
                "Cloud SQL Instance",
                "Secret Manager Secrets",
                "Cloud Run Services",
                "Certificates",
                "Load Balancer",
                "Monitoring"
            ]
        );
        assert_eq!(j["components"][3]["checks"].as_array().unwrap().len(), 2, "both services' checks in one section");
    }

    #[test]
    fn a_module_called_once_keeps_its_call_name_as_title() {
        let t = health_text("s", &healthy(), &ModuleSources::default(), &HealthOptions::default());
        assert!(t.contains("--> Checking Netra Backend...") && t.contains("--> Checking Auth..."), "{t}");
    }

    #[test]
    fn healthy_report() {
        insta::assert_snapshot!(text(&healthy(), true, false));
    }

    #[test]
    fn broken_staging_report() {
        let t = text(&broken(), true, false);
        assert!(t.contains("Critical Failures: 6"), "{t}");
        insta::assert_snapshot!(t);
    }

    #[test]
    fn detailed_report() {
        insta::assert_snapshot!(text(&broken(), true, true));
    }

    #[test]
    fn ascii_report() {
        let t = text(&broken(), false, false);
        assert!(t.is_ascii(), "{t}");
        assert_eq!(t.lines().count(), text(&broken(), true, false).lines().count(), "same layout");
        insta::assert_snapshot!(t);
    }

    #[test]
    fn unknown_report() {
        let t = text(&unknown(), true, false);
        assert!(t.contains("Overall Status: UNKNOWN"), "{t}");
        insta::assert_snapshot!(t);
    }

    #[test]
    fn a_check_without_messages_is_named_in_the_failures() {
        let results = vec![r("module.monitoring.check.log_sinks", CheckStatus::Fail, &[])];
        let t = text(&results, true, false);
        assert!(
            t.contains("❌ Found 1 monitoring issue\n") && t.contains("   - Monitoring: log sinks failed\n"),
            "{t}"
        );
    }

    #[test]
    fn emoji_only_where_the_locale_is_utf8_and_the_terminal_not_dumb() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        assert!(output_takes_emoji(env(&[("LANG", "en_US.UTF-8"), ("TERM", "xterm-256color")])));
        assert!(output_takes_emoji(env(&[("LC_ALL", "C.utf8")])));
        assert!(!output_takes_emoji(env(&[("LANG", "en_US.UTF-8"), ("TERM", "dumb")])));
        assert!(!output_takes_emoji(env(&[("LC_ALL", "C"), ("LANG", "en_US.UTF-8")])), "LC_ALL wins");
        assert!(!output_takes_emoji(env(&[("LC_CTYPE", "POSIX"), ("LANG", "en_US.UTF-8")])), "LC_CTYPE before LANG");
        assert!(output_takes_emoji(env(&[("LC_ALL", ""), ("LANG", "de_DE.UTF-8")])), "an empty variable is unset");
        assert_eq!(output_takes_emoji(env(&[])), cfg!(windows));
    }

    #[test]
    fn json_and_markdown_carry_the_same_verdict() {
        let j = health_json("stacks/staging", &broken(), &staging_sources());
        assert_eq!(j["overall_status"], "CRITICAL");
        assert_eq!(j["critical_failures"], 6);
        assert_eq!(j["components"][0]["component"], "VPC Connector", "sections keep the order the checks come in");
        let md = health_markdown("stacks/staging", &broken(), &staging_sources());
        assert!(md.contains("CRITICAL") && md.contains("| Secret Manager Secrets | required secrets | ❌ Secret 'database-url' is missing; Secret 'jwt-secret-staging' is missing |"), "{md}");
        assert!(
            md.contains(
                "| Cloud Run Services | vpc access (auth) | ❌ Service 'auth-staging' has incorrect VPC egress |"
            ),
            "{md}"
        );
    }
}
