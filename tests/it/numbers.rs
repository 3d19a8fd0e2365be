//! Issue 17: Terraform's numbers are arbitrary-precision decimals, not f64. `0.1 + 0.2` is
//! `0.3` (and equal to it), and an integer past 2^53 (a 64-bit Compute id) keeps every digit
//! through state, the plan's JSON and `output -json`.

use crate::support::*;

const STACK: &str = r#"
resource "terraform_data" "id" {
  input = 9007199254740993
}

output "id" {
  value = terraform_data.id.output
}

output "sum" {
  value = 0.1 + 0.2
}

output "sum_is_three_tenths" {
  value = 0.1 + 0.2 == 0.3
}

output "big" {
  value = "big=${1e30}"
}
"#;

/// `output -json`'s value for `name`, whether values are printed bare or under "value".
fn output_json(dir: &str, cwd: &std::path::Path) -> serde_json::Value {
    let o = run_cairn(&["-C", dir, "output", "--json"], cwd);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{e}: {}", stdout(&o)))
}

fn value<'a>(outputs: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    let v = &outputs[name];
    v.get("value").unwrap_or(v)
}

#[test]
fn a_64_bit_integer_survives_the_plan_json_the_state_and_output_json() {
    let s = TestStack::new(&[("main.tf", STACK)]);
    let dir = s.path().to_str().unwrap();
    let pf = s.path().join("numbers.cairnplan");
    let pf = pf.to_str().unwrap();

    // The plan file, shown as JSON: the literal's digits, not 9007199254740992.
    let o = run_cairn(&["plan", dir, "--out", pf], s.path());
    assert!(matches!(o.status.code(), Some(0 | 2)), "{}{}", stdout(&o), stderr(&o));
    let o = run_cairn(&["show", pf, "--json"], s.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let shown = stdout(&o);
    assert!(shown.contains("9007199254740993"), "{shown}");
    assert!(!shown.contains("9007199254740992"), "{shown}");
    assert!(!shown.contains("0.30000000000000004"), "{shown}");

    let o = run_cairn(&["apply", pf], s.path());
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));

    // Read back from state: exact, and the same number the configuration says (no diff).
    let outputs = output_json(dir, s.path());
    assert_eq!(value(&outputs, "id").to_string(), "9007199254740993", "{outputs}");
    assert_eq!(value(&outputs, "id").as_u64(), Some(9_007_199_254_740_993));
    let o = run_cairn(&["plan", dir, "--detailed-exitcode"], s.path());
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("No changes."), "{}", stdout(&o));
}

#[test]
fn decimal_arithmetic_renders_as_terraform_does() {
    let s = TestStack::new(&[("main.tf", STACK)]);
    let dir = s.path().to_str().unwrap();
    let o = run_cairn(&["apply", dir, "--auto-approve"], s.path());
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    // The apply's own summary of outputs prints numbers as Terraform does.
    assert!(stdout(&o).contains("sum = 0.3"), "{}", stdout(&o));

    let outputs = output_json(dir, s.path());
    assert_eq!(value(&outputs, "sum").to_string(), "0.3", "{outputs}");
    assert_eq!(value(&outputs, "sum_is_three_tenths"), &serde_json::Value::Bool(true), "{outputs}");
    // A number in a string: every digit, no exponent (Go's Text('f', -1)).
    assert_eq!(value(&outputs, "big"), "big=1000000000000000000000000000000", "{outputs}");

    let o = run_cairn(&["-C", dir, "output", "sum"], s.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "0.3");
}
