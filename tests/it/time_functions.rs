//! Issue 15: a check block can say "the certificate expires within 30 days" with Terraform's
//! time functions. The first test gives "now" as a fixed timestamp so that moving it moves the
//! check from pass to fail to the second; the others use `plantimestamp()` and `timestamp()`
//! themselves, with Terraform's semantics: the plan's time, kept by a saved plan; and the
//! apply's time, unknown while planning.

use crate::support::*;

fn stack(now: &str) -> TestStack {
    let main = format!(
        r#"
variable "now" {{
  default = "{now}"
}}

locals {{
  cert_expiry = "2026-12-31T23:59:59+01:00"
}}

resource "terraform_data" "cert" {{
  input = local.cert_expiry
}}

check "certificate_not_expiring" {{
  assert {{
    condition     = timecmp(timeadd(var.now, "720h"), terraform_data.cert.output) < 0
    error_message = "the certificate expires on ${{formatdate("DD MMM YYYY hh:mm ZZZ", terraform_data.cert.output)}}, within 30 days of ${{var.now}}"
  }}
}}
"#
    );
    TestStack::new(&[("main.tf", main.as_str())])
}

#[test]
fn an_expiry_check_passes_and_fails_as_the_time_moves() {
    // 30 days before expiry less a second: passes.
    let s = stack("2026-12-01T22:59:58Z");
    let dir = s.path().to_str().unwrap();
    let o = run_cairn(&["apply", dir, "--auto-approve"], s.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run_cairn(&["check", dir], s.path());
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));

    // Exactly 30 days before (the offsets differ, the instants are equal): fails.
    let s = stack("2026-12-01T22:59:59Z");
    let dir = s.path().to_str().unwrap();
    let o = run_cairn(&["apply", dir, "--auto-approve"], s.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run_cairn(&["check", dir], s.path());
    assert_eq!(o.status.code(), Some(2), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o)
            .contains("the certificate expires on 31 Dec 2026 23:59 +0100, within 30 days of 2026-12-01T22:59:59Z"),
        "{}",
        stdout(&o)
    );
}

/// The root outputs in state, as `cairn output --json` prints them.
fn outputs(dir: &str, cwd: &std::path::Path) -> serde_json::Value {
    let o = run_cairn(&["-C", dir, "output", "--json"], cwd);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{e}: {}", stdout(&o)))
}

/// An output's value, whether `--json` prints values bare or under "value".
fn output_str(outputs: &serde_json::Value, name: &str) -> String {
    let v = &outputs[name];
    let v = v.get("value").unwrap_or(v);
    v.as_str().unwrap_or_else(|| panic!("output {name} is not a string: {outputs}")).to_string()
}

/// The whole seconds pass: a clock read again now would read another time.
fn let_a_second_pass() {
    std::thread::sleep(std::time::Duration::from_millis(1100));
}

const PLANNED_AT: &str = r#"
resource "terraform_data" "stamp" {
  input = plantimestamp()
}

output "planned_at" {
  value = plantimestamp()
}

output "stamped" {
  value = terraform_data.stamp.output
}
"#;

#[test]
fn a_saved_plan_applies_the_time_it_was_made_at() {
    let s = TestStack::new(&[("main.tf", PLANNED_AT)]);
    let dir = s.path().to_str().unwrap();
    let planfile = s.path().join("p.cairnplan");
    let o = run_cairn(&["plan", dir, "-out", planfile.to_str().unwrap()], s.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&planfile).expect("read plan")).expect("JSON");
    let plan_time = saved["plan_timestamp"].as_str().expect("the plan records its time").to_string();
    assert!(plan_time.len() == 20 && plan_time.ends_with('Z'), "RFC 3339, UTC, whole seconds: {plan_time}");
    // The plan shows the value it will apply: plantimestamp() is known during plan.
    assert!(stdout(&o).contains(&plan_time), "{}", stdout(&o));

    let_a_second_pass();
    let o = run_cairn(&["-C", dir, "apply", planfile.to_str().unwrap()], s.path());
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let out = outputs(dir, s.path());
    assert_eq!(output_str(&out, "planned_at"), plan_time, "the apply keeps the plan's time: {out}");
    assert_eq!(output_str(&out, "stamped"), plan_time, "{out}");
}

#[test]
fn a_reviewed_plan_made_at_another_time_differs_where_values_use_plantimestamp() {
    let s = TestStack::new(&[("main.tf", PLANNED_AT)]);
    let dir = s.path().to_str().unwrap();
    let reviewed = s.path().join("reviewed.cairnplan");
    let fresh = s.path().join("fresh.cairnplan");
    let o = run_cairn(&["plan", dir, "-out", reviewed.to_str().unwrap()], s.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let_a_second_pass();
    let o = run_cairn(&["plan", dir, "-out", fresh.to_str().unwrap()], s.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // The values to be written differ (another plan time), so this is not what was reviewed.
    let o = run_cairn(
        &["-C", dir, "apply", fresh.to_str().unwrap(), "--reviewed-plan", reviewed.to_str().unwrap()],
        s.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert!(stderr(&o).contains("terraform_data.stamp"), "{}", stderr(&o));
}

fn expiry_check(expiry: &str) -> TestStack {
    let main = format!(
        r#"
resource "terraform_data" "cert" {{
  input = "{expiry}"
}}

check "certificate_not_expiring" {{
  assert {{
    condition     = timecmp(timeadd(plantimestamp(), "720h"), terraform_data.cert.output) < 0
    error_message = "the certificate expires within 30 days"
  }}
}}
"#
    );
    TestStack::new(&[("main.tf", main.as_str())])
}

#[test]
fn a_check_with_plantimestamp_passes_and_fails_against_a_fixed_expiry() {
    for (expiry, code) in [("9999-12-31T23:59:59Z", 0), ("2000-01-01T00:00:00Z", 2)] {
        let s = expiry_check(expiry);
        let dir = s.path().to_str().unwrap();
        let o = run_cairn(&["apply", dir, "--auto-approve"], s.path());
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let o = run_cairn(&["check", dir], s.path());
        assert_eq!(o.status.code(), Some(code), "{expiry}: {}{}", stdout(&o), stderr(&o));
        if code == 2 {
            assert!(stdout(&o).contains("the certificate expires within 30 days"), "{}", stdout(&o));
        }
    }
}

#[test]
fn timestamp_is_known_after_apply() {
    let s = TestStack::new(&[(
        "main.tf",
        r#"
output "applied_at" {
  value = timestamp()
}
"#,
    )]);
    let dir = s.path().to_str().unwrap();
    let o = run_cairn(&["plan", dir], s.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("applied_at = (known after apply)"), "{}", stdout(&o));

    let before = chrono::Utc::now() - chrono::TimeDelta::seconds(1);
    let o = run_cairn(&["apply", dir, "--auto-approve"], s.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let applied = output_str(&outputs(dir, s.path()), "applied_at");
    let t = chrono::DateTime::parse_from_rfc3339(&applied).unwrap_or_else(|e| panic!("{applied}: {e}"));
    assert!(applied.ends_with('Z') && t >= before && t <= chrono::Utc::now(), "{applied}");
}

fn stamped(ignore: bool) -> TestStack {
    let lifecycle = if ignore { "lifecycle {\n    ignore_changes = [input]\n  }" } else { "" };
    let main = format!(
        r#"
resource "terraform_data" "created" {{
  input = timestamp()
  {lifecycle}
}}
"#
    );
    TestStack::new(&[("main.tf", main.as_str())])
}

#[test]
fn timestamp_in_an_argument_changes_on_every_plan_unless_ignored() {
    // Terraform's documented consequence: the argument is unknown at every plan, so a change.
    let s = stamped(false);
    let dir = s.path().to_str().unwrap();
    let o = run_cairn(&["apply", dir, "--auto-approve"], s.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run_cairn(&["plan", dir, "--detailed-exitcode"], s.path());
    assert_eq!(o.status.code(), Some(2), "a change: {}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("(known after apply)"), "{}", stdout(&o));

    // The documented remedy: ignore_changes keeps the time of creation.
    let s = stamped(true);
    let dir = s.path().to_str().unwrap();
    let o = run_cairn(&["apply", dir, "--auto-approve"], s.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run_cairn(&["plan", dir, "--detailed-exitcode"], s.path());
    assert_eq!(o.status.code(), Some(0), "no change: {}{}", stdout(&o), stderr(&o));
}
