//! The health report `cairn check` prints: check blocks grouped by the module that declares
//! them (one section per component), a line per check, then the overall status and the list of
//! critical failures — what a platform team's health-check script prints, so the report can
//! replace it in runbooks and CI.

use owo_colors::OwoColorize;
use serde_json::{json, Value as Json};

use crate::state::{CheckResult, CheckStatus};

use super::RenderOptions;

/// One component: the checks declared in one module (or the root).
struct Section<'a> {
    title: String,
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

/// `module.secret_manager` → "Secret Manager": words from the module name in title case, the
/// usual acronyms upper-case, as the roadmap's health script names its sections ("VPC
/// Connector", "Cloud SQL Instance").
fn title(module: &str) -> String {
    if module.is_empty() {
        return "Stack".into();
    }
    let last = module.rsplit("module.").next().unwrap_or(module).trim_end_matches('.');
    let words: Vec<String> = last
        .split(['_', '-'])
        .filter(|w| !w.is_empty())
        .map(|w| match w {
            "vpc" | "sql" | "ssl" | "tls" | "https" | "http" | "lb" | "dns" | "iam" | "api" | "ip" => w.to_uppercase(),
            _ => {
                let mut c = w.chars();
                c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
            }
        })
        .collect();
    words.join(" ")
}

fn humanize(name: &str) -> String {
    name.replace(['_', '-'], " ")
}

fn sections(results: &[CheckResult]) -> Vec<Section<'_>> {
    // In the order the checks come (the configuration's), not alphabetical.
    let mut by_module: indexmap::IndexMap<&str, Vec<&CheckResult>> = indexmap::IndexMap::new();
    for r in results {
        by_module.entry(split(&r.address).0).or_default().push(r);
    }
    by_module.into_iter().map(|(m, checks)| Section { title: title(m), checks }).collect()
}

/// A check may report several failures in one message, one per line (e.g. each missing
/// secret); each becomes its own line in the report.
fn lines(messages: &[String]) -> Vec<String> {
    messages.iter().flat_map(|m| m.lines()).map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect()
}

/// Every failure line, in report order (the "CRITICAL FAILURES" list).
fn failures(results: &[CheckResult]) -> Vec<String> {
    let mut out = Vec::new();
    for s in sections(results) {
        for c in &s.checks {
            if c.status == CheckStatus::Fail {
                if c.messages.is_empty() {
                    out.push(format!("{}: {} failed", s.title, humanize(split(&c.address).1)));
                }
                out.extend(lines(&c.messages));
            }
        }
    }
    out
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

pub fn health_text(stack: &str, results: &[CheckResult], opts: &RenderOptions) -> String {
    let paint = |s: String, ok: Option<bool>| -> String {
        match (opts.color, ok) {
            (false, _) => s,
            (true, Some(true)) => s.green().to_string(),
            (true, Some(false)) => s.red().to_string(),
            (true, None) => s.yellow().to_string(),
        }
    };
    let mut out = String::new();
    out.push_str(&format!("Infrastructure health: {stack}\n"));
    out.push_str(&"=".repeat(70));
    out.push('\n');
    if results.is_empty() {
        out.push_str("The stack declares no check blocks: there is nothing to report.\n");
    }
    for s in sections(results) {
        out.push_str(&format!("Checking {}...\n", s.title));
        for c in &s.checks {
            let name = humanize(split(&c.address).1);
            match c.status {
                CheckStatus::Pass => out.push_str(&format!("   {}\n", paint(format!("PASS  {name}"), Some(true)))),
                CheckStatus::Unknown => out.push_str(&format!(
                    "   {}\n",
                    paint(format!("????  {name}: cannot be decided until the resources exist (run cairn apply)"), None)
                )),
                CheckStatus::Fail if c.messages.is_empty() => {
                    out.push_str(&format!("   {}\n", paint(format!("FAIL  {name}"), Some(false))))
                }
                CheckStatus::Fail => {
                    for m in lines(&c.messages) {
                        out.push_str(&format!("   {}\n", paint(format!("FAIL  {m}"), Some(false))));
                    }
                }
            }
        }
    }
    let fails = failures(results);
    let status = overall(results);
    out.push('\n');
    out.push_str(&format!("Overall Status: {}\n", paint(status.to_string(), Some(status == "HEALTHY")).as_str()));
    out.push_str(&format!("Critical Failures: {}\n", fails.len()));
    if !fails.is_empty() {
        out.push_str("\nCRITICAL FAILURES:\n");
        for f in &fails {
            out.push_str(&format!("   - {f}\n"));
        }
    }
    out
}

pub fn health_json(stack: &str, results: &[CheckResult]) -> Json {
    let sections: Vec<Json> = sections(results)
        .into_iter()
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
    let fails = failures(results);
    json!({
        "stack": stack,
        "overall_status": overall(results),
        "critical_failures": fails.len(),
        "failures": fails,
        "components": sections,
    })
}

pub fn health_markdown(stack: &str, results: &[CheckResult]) -> String {
    let status = overall(results);
    let fails = failures(results);
    let mut out = format!("### Infrastructure health: `{stack}` — {status}\n\n");
    out.push_str(&format!("Critical failures: **{}**\n\n", fails.len()));
    out.push_str("| Component | Check | Result |\n|---|---|---|\n");
    for s in sections(results) {
        for c in &s.checks {
            let result = match c.status {
                CheckStatus::Pass => "✅ pass".to_string(),
                CheckStatus::Unknown => "❔ unknown".to_string(),
                CheckStatus::Fail => format!("❌ {}", lines(&c.messages).join("; ")),
            };
            out.push_str(&format!(
                "| {} | {} | {} |\n",
                s.title,
                humanize(split(&c.address).1),
                result.replace('|', "\\|")
            ));
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

    fn broken() -> Vec<CheckResult> {
        vec![
            r(
                "module.vpc_connector.check.connector_ready",
                CheckStatus::Fail,
                &["VPC connector state is 'CREATING', expected 'READY'"],
            ),
            r(
                "module.cloud_sql.check.instance_runnable",
                CheckStatus::Fail,
                &["Cloud SQL instance state is 'MAINTENANCE', expected 'RUNNABLE'"],
            ),
            r("module.cloud_sql.check.flags", CheckStatus::Pass, &[]),
            r(
                "module.secrets.check.required_secrets",
                CheckStatus::Fail,
                &["Secret 'database-url' is missing\nSecret 'jwt-secret-staging' is missing"],
            ),
            r("check.stack_outputs", CheckStatus::Unknown, &[]),
        ]
    }

    #[test]
    fn titles_read_like_component_names() {
        assert_eq!(title("module.vpc_connector"), "VPC Connector");
        assert_eq!(title("module.secret_manager"), "Secret Manager");
        assert_eq!(title("module.load_balancer"), "Load Balancer");
        assert_eq!(title("module.cloud_sql"), "Cloud SQL");
        assert_eq!(title("module.app.module.https_lb"), "HTTPS LB");
        assert_eq!(title(""), "Stack");
    }

    #[test]
    fn critical_report_lists_every_failure() {
        insta::assert_snapshot!(health_text("stacks/staging", &broken(), &RenderOptions { color: false }));
    }

    #[test]
    fn healthy_when_all_pass() {
        let all = vec![r("module.cloud_sql.check.flags", CheckStatus::Pass, &[])];
        let t = health_text("s", &all, &RenderOptions { color: false });
        assert!(t.contains("Overall Status: HEALTHY") && t.contains("Critical Failures: 0"), "{t}");
        assert_eq!(health_json("s", &all)["overall_status"], "HEALTHY");
    }

    #[test]
    fn json_and_markdown_carry_the_same_verdict() {
        let j = health_json("stacks/staging", &broken());
        assert_eq!(j["overall_status"], "CRITICAL");
        assert_eq!(j["critical_failures"], 4);
        assert_eq!(j["components"][0]["component"], "VPC Connector", "sections keep the order the checks come in");
        let md = health_markdown("stacks/staging", &broken());
        assert!(md.contains("CRITICAL") && md.contains("| Secrets | required secrets | ❌ Secret 'database-url' is missing; Secret 'jwt-secret-staging' is missing |"), "{md}");
    }
}
