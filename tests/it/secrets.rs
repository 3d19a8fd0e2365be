//! Done-when 7: sensitive variables and generated passwords appear nowhere: not in the state
//! store's files, saved plans, JSON or Markdown renderings, or anything printed.

use crate::support::*;
use cairn::cli::render::{json, markdown, text, RenderOptions};
use cairn::ops::{self, PlanArgs};
use cairn::providers::Registry;

pub(crate) const SECRET: &str = "SUPERSECRET-VAR-9f8e7d";

/// A sensitive variable and a generated password, both used to build a value; other test
/// modules (the gcs backend) reuse it for their byte scans.
pub(crate) const STACK: &str = r#"
variable "api_key" {
  type      = string
  sensitive = true
}

resource "random_password" "db" {
  length  = 32
  special = false
}

resource "terraform_data" "config" {
  input = {
    key = var.api_key
    url = "postgres://app:${random_password.db.result}@db/app"
  }
}

output "password" {
  value     = random_password.db.result
  sensitive = true
}

output "url" {
  value     = terraform_data.config.output.url
  sensitive = true
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_disk_or_output() {
    let s = TestStack::new(&[("main.tf", STACK)]);
    let mut c = common(s.path(), Registry::builtin());
    c.vars.env = vec![("api_key".into(), SECRET.into())];

    // Plan (saved), rendered every way.
    let planfile = s.path().join("p.cairnplan");
    let mut a = PlanArgs::new(c.clone());
    a.out = Some(planfile.clone());
    let p = ops::plan(a).await.unwrap_or_else(|e| panic!("{}", describe(&e))).plan;
    let mut rendered = String::new();
    rendered += &text::plan_text(&p, &RenderOptions { color: false });
    rendered += &text::plan_text(&p, &RenderOptions { color: true });
    rendered += &json::plan_json(&p).to_string();
    rendered += &markdown::plan_markdown(&p);

    // Apply; the generated password is available to this apply (it feeds the url) …
    let r = apply(&c).await;
    let outcome = r.outcome.expect("applied");
    let (pw, _) = outcome.outputs["password"].0.clone().unmark_deep();
    let password = pw.as_str().expect("password known after apply").to_string();
    assert_eq!(password.len(), 32);
    let (url, _) = outcome.outputs["url"].0.clone().unmark_deep();
    assert!(url.as_str().unwrap().contains(&password), "the same apply sees the generated value");

    // … and a later plan neither regenerates it nor shows a diff.
    let p2 = plan(&c).await;
    assert!(!p2.has_changes(), "{:?}", actions(&p2));
    rendered += &text::plan_text(&p2, &RenderOptions { color: false });
    rendered += &json::plan_json(&p2).to_string();
    rendered += &markdown::plan_markdown(&p2);

    // Everything printed by the binary.
    let dir = s.path().to_str().unwrap();
    for args in [
        vec!["plan", dir],
        vec!["plan", dir, "--format", "json"],
        vec!["plan", dir, "--format", "markdown"],
        vec!["show", planfile.to_str().unwrap()],
        vec!["show", planfile.to_str().unwrap(), "--json"],
        vec!["-C", dir, "output"],
        vec!["-C", dir, "output", "--json"],
        vec!["-C", dir, "state", "pull"],
        vec!["-C", dir, "state", "show", "terraform_data.config"],
        vec!["-C", dir, "state", "show", "random_password.db"],
        vec!["-vv", "apply", dir, "--auto-approve"],
        vec!["-vv", "plan", dir],
    ] {
        let o = std::process::Command::new(cairn_bin())
            .args(&args)
            .env("TF_VAR_api_key", SECRET)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        rendered += &stdout(&o);
        rendered += &stderr(&o);
    }

    let mut bytes = s.state_bytes();
    bytes.extend(std::fs::read(&planfile).unwrap());
    bytes.extend(rendered.as_bytes());
    for secret in [SECRET, password.as_str()] {
        assert!(!contains(&bytes, secret), "a secret leaked");
    }
    assert!(rendered.contains("(sensitive value)"));
}

/// Runs the binary with `TF_VAR_<name>` set, returning stdout + stderr.
fn cairn_with_var(args: &[&str], var: (&str, &str)) -> (std::process::Output, String) {
    let o = std::process::Command::new(cairn_bin())
        .args(args)
        .env(format!("TF_VAR_{}", var.0), var.1)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let printed = stdout(&o) + &stderr(&o);
    (o, printed)
}

/// An import id computed from a secret (random_password's id *is* the password): not in the
/// plan in any format, not in the saved plan, not in `show` in any format.
#[test]
fn sensitive_import_id_is_never_printed_or_saved() {
    let secret_pw = "IMPORTED-PW-6b1c2d";
    let s = TestStack::new(&[(
        "main.tf",
        r#"
variable "pw" {
  type      = string
  sensitive = true
}
import {
  to = random_password.db
  id = var.pw
}
resource "random_password" "db" {
  length = 18
}
"#,
    )]);
    let dir = s.path().to_str().unwrap();
    let planfile = s.path().join("p.cairnplan");
    let pf = planfile.to_str().unwrap();
    let mut printed = String::new();
    for args in [
        vec!["plan", dir, "--out", pf],
        vec!["plan", dir, "--format", "json"],
        vec!["plan", dir, "--format", "markdown"],
        vec!["show", pf],
        vec!["show", pf, "--json"],
        vec!["show", pf, "--format", "markdown"],
    ] {
        let (o, out) = cairn_with_var(&args, ("pw", secret_pw));
        assert!(o.status.success(), "{args:?}: {out}");
        printed += &out;
    }
    assert!(printed.contains("(imported from (sensitive value))"), "{printed}");
    assert!(printed.contains("import ID (sensitive value)"), "{printed}");
    assert!(printed.contains("\"id_sensitive\": true"), "{printed}");
    assert!(!printed.contains(secret_pw), "the import id leaked: {printed}");
    assert!(!contains(&std::fs::read(&planfile).unwrap(), secret_pw), "the import id is in the plan file");

    // Applying the saved plan still imports: the id is evaluated again from the variable.
    let (o, out) = cairn_with_var(&["-C", dir, "apply", pf], ("pw", secret_pw));
    assert!(o.status.success(), "{out}");
    assert!(!out.contains(secret_pw), "{out}");
}

/// A provider refusing a secret import id does not get to quote it in its error.
#[test]
fn refused_sensitive_import_id_is_not_quoted() {
    let secret_id = "NOT*BASE64*SECRET-77aa";
    let s = TestStack::new(&[(
        "main.tf",
        r#"
variable "rid" {
  type      = string
  sensitive = true
}
import {
  to = random_id.x
  id = var.rid
}
resource "random_id" "x" {
  byte_length = 4
}
"#,
    )]);
    let (o, out) = cairn_with_var(&["plan", s.path().to_str().unwrap()], ("rid", secret_id));
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("Cannot import random_id.x (id (sensitive value))"), "{out}");
    assert!(!out.contains(secret_id), "the import id leaked: {out}");
}

/// A `.tfvars` file that sets a sensitive variable is located but never quoted by a syntax
/// error: neither on the secret's own line nor on a neighbouring one, nor in JSON form.
#[test]
fn tfvars_syntax_errors_do_not_quote_sensitive_values() {
    let secret = "TFVARS-SECRET-31c4";
    let main_tf = "variable \"token\" {\n  type      = string\n  sensitive = true\n}\nvariable \"region\" {\n  type = string\n}\n";
    let cases = [
        ("terraform.tfvars", format!("region = \"eu\"\ntoken = \"{secret}\" ]\n"), "terraform.tfvars:2:"),
        ("terraform.tfvars", format!("token = \"{secret}\"\nregion = = \"eu\"\n"), "terraform.tfvars:2:"),
        ("terraform.tfvars", format!("token = <<EOT\n{secret}\nEOT\nregion = \"eu\n"), "terraform.tfvars:"),
        ("terraform.tfvars.json", format!("{{\"token\": \"{secret}\",\n \"region\": }}\n"), "terraform.tfvars.json:2:"),
    ];
    for (name, text, location) in cases {
        let s = TestStack::new(&[("main.tf", main_tf), (name, &text)]);
        let o = run_cairn(&["plan", "."], s.path());
        let printed = stdout(&o) + &stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{name}: {printed}");
        assert!(printed.contains("Syntax error in variables file"), "{printed}");
        assert!(printed.contains(location), "{name}: not located: {printed}");
        assert!(!printed.contains(secret), "{name}: the secret was quoted: {printed}");
    }
    // A file that sets no sensitive variable is still quoted, as before.
    let s = TestStack::new(&[("main.tf", main_tf), ("terraform.tfvars", "region = = \"eu\"\n")]);
    let o = run_cairn(&["plan", "."], s.path());
    assert!(stderr(&o).contains("region = = \"eu\""), "{}", stderr(&o));
}

/// Issue 14 §3: a diagnostic about (or near) a sensitive variable's literal default locates the
/// problem but never quotes the line holding the secret.
#[test]
fn a_diagnostic_near_a_sensitive_default_is_located_not_quoted() {
    let s = TestStack::new(&[(
        "main.tf",
        "variable \"p\" {\n  type      = number\n  sensitive = true\n  default   = \"hunter2\"\n}\n",
    )]);
    let o = run_cairn(&["validate", s.path().to_str().unwrap()], s.path());
    let all = format!("{}{}", stdout(&o), stderr(&o));
    assert_eq!(o.status.code(), Some(1), "{all}");
    assert!(all.contains("main.tf:4:15"), "located: {all}");
    assert!(!all.contains("hunter2"), "quoted the secret: {all}");
}
