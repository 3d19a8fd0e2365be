//! What the GitHub workflows in .github/workflows post and run, through the binary: the pull
//! request comment (`cairn show --format markdown`), the drift and health issue bodies
//! (`cairn drift|check --format markdown`), and `cairn apply FRESH --reviewed-plan REVIEWED`.
//!
//! Every command runs from a scratch root holding `stacks/<name>`, with the stack given as a
//! relative path, as the workflows run it: the stack path is part of what is posted.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support::*;

const SECRET: &str = "sk-ci-PR-COMMENT-5f3e91";

/// A scratch repository root with one stack at `stacks/<name>`.
struct Repo {
    dir: tempfile::TempDir,
    stack: String,
}

impl Repo {
    fn new(name: &str, main_tf: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let r = Repo { dir, stack: format!("stacks/{name}") };
        r.write(main_tf);
        r
    }
    fn root(&self) -> &Path {
        self.dir.path()
    }
    fn write(&self, main_tf: &str) {
        let d = self.root().join(&self.stack);
        std::fs::create_dir_all(&d).expect("mkdir");
        std::fs::write(d.join("main.tf"), main_tf).expect("write main.tf");
    }
    fn path(&self, name: &str) -> PathBuf {
        self.root().join(name)
    }
    fn cairn(&self, args: &[&str]) -> Output {
        std::process::Command::new(cairn_bin())
            .args(args)
            .current_dir(self.root())
            .env("NO_COLOR", "1")
            .env("TF_VAR_api_key", SECRET)
            .env_remove("CAIRN_GCP_EMULATOR")
            .output()
            .expect("run cairn")
    }
    /// Runs cairn and insists on an exit code, showing everything it printed otherwise.
    fn expect(&self, code: i32, args: &[&str]) -> Output {
        let o = self.cairn(args);
        assert_eq!(o.status.code(), Some(code), "cairn {args:?}\n{}{}", stdout(&o), stderr(&o));
        o
    }
}

/// IDs that change every run (terraform_data's UUIDs) as a fixed placeholder.
fn stable(text: &str) -> String {
    let uuid = regex::Regex::new(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}").expect("regex");
    uuid.replace_all(text, "<uuid>").into_owned()
}

const APP_V1: &str = r#"
variable "api_key" {
  type      = string
  sensitive = true
}

resource "random_password" "db" {
  length  = 20
  special = false
}

resource "terraform_data" "app" {
  input = {
    name     = "app"
    replicas = 1
    api_key  = var.api_key
  }
}

resource "terraform_data" "legacy" {
  input = "to be removed"
}
"#;

/// The pull request: scale the app, drop the legacy object, add a worker, longer password.
const APP_V2: &str = r#"
variable "api_key" {
  type      = string
  sensitive = true
}

resource "random_password" "db" {
  length  = 32
  special = false
}

resource "terraform_data" "app" {
  input = {
    name     = "app"
    replicas = 3
    api_key  = var.api_key
  }
}

resource "terraform_data" "worker" {
  input = {
    name     = "worker"
    database = "postgres://app:${random_password.db.result}@db/app"
  }
}

output "worker_name" {
  value = terraform_data.worker.output.name
}
"#;

#[test]
fn ci_pr_comment_is_the_plan_under_its_marker_without_secrets() {
    let repo = Repo::new("app", APP_V1);
    repo.expect(0, &["apply", "stacks/app", "-auto-approve"]);
    repo.write(APP_V2);

    // As cairn-plan.yml runs it: changes exit 2 with -detailed-exitcode.
    repo.expect(2, &["plan", "stacks/app", "-out", "app.cairnplan", "-detailed-exitcode", "-lock-timeout=5m"]);
    let comment = stdout(&repo.expect(0, &["show", "app.cairnplan", "--format", "markdown"]));
    assert!(
        comment.starts_with("<!-- cairn-plan: stacks/app -->\n### Plan: 2 to add, 1 to change, 2 to destroy.\n"),
        "{comment}"
    );
    assert!(comment.contains("<details><summary>Full plan</summary>"), "details are folded: {comment}");
    assert!(comment.contains("(sensitive value)"), "{comment}");
    assert!(!comment.contains(SECRET), "the sensitive variable leaked into the comment");
    insta::assert_snapshot!("ci_pr_comment", stable(&comment));

    // `--marker` names the comment when one stack is planned several ways.
    let named =
        stdout(&repo.expect(0, &["show", "app.cairnplan", "--format", "markdown", "--marker", "app (prod vars)"]));
    assert!(named.starts_with("<!-- cairn-plan: app (prod vars) -->\n### Plan:"), "{named}");
    assert_eq!(named.lines().skip(1).collect::<Vec<_>>(), comment.lines().skip(1).collect::<Vec<_>>());

    // `--json` stays an alias of `--format json`; the two cannot disagree.
    // (Each rendering carries the time it was made, which may differ by a second.)
    let shown = |args: &[&str]| {
        let mut v: serde_json::Value = serde_json::from_str(&stdout(&repo.expect(0, args))).expect("JSON");
        assert!(v.as_object_mut().and_then(|o| o.remove("timestamp")).is_some(), "{v}");
        v
    };
    assert_eq!(shown(&["show", "app.cairnplan", "--json"]), shown(&["show", "app.cairnplan", "--format", "json"]));
    assert!(!stdout(&repo.expect(0, &["show", "app.cairnplan", "--json"])).contains(SECRET));
    let o = repo.cairn(&["show", "app.cairnplan", "--json", "--format", "text"]);
    assert_eq!(o.status.code(), Some(1), "conflicting formats are a usage error: {}", stderr(&o));
    let o = repo.expect(1, &["show", "app.cairnplan", "--marker", "x"]);
    assert!(stderr(&o).contains("--format markdown"), "{}", stderr(&o));
}

const GOOGLE_STACK: &str = r#"
provider "google" {
  project = "demo-project"
}

resource "google_secret_manager_secret" "api" {
  secret_id = "api-key"
  replication {
    auto {}
  }
  labels = { team = "platform" }
}

check "api_key_secret_is_owned" {
  assert {
    condition     = try(google_secret_manager_secret.api.labels["team"], "") == "platform"
    error_message = "Secret 'api-key' is not labelled team=platform"
  }
}
"#;

/// Changes the labels of every secret in the embedded emulator's data file, as someone with
/// console access would.
fn relabel_secrets_in_the_cloud(data_file: &Path) {
    let text = std::fs::read_to_string(data_file).expect("emulator data");
    let mut cloud: serde_json::Value = serde_json::from_str(&text).expect("emulator data is JSON");
    let mut changed = 0;
    relabel(&mut cloud, &mut changed);
    assert!(changed > 0, "no secret labels found in {text}");
    std::fs::write(data_file, serde_json::to_vec_pretty(&cloud).expect("serialise")).expect("write emulator data");
}

fn relabel(v: &mut serde_json::Value, changed: &mut usize) {
    match v {
        serde_json::Value::Object(m) => {
            if let Some(serde_json::Value::Object(labels)) = m.get_mut("labels") {
                if labels.get("team").and_then(|t| t.as_str()) == Some("platform") {
                    labels.insert("team".into(), "someone-else".into());
                    *changed += 1;
                }
            }
            for x in m.values_mut() {
                relabel(x, changed);
            }
        }
        serde_json::Value::Array(xs) => {
            for x in xs {
                relabel(x, changed);
            }
        }
        _ => {}
    }
}

#[test]
fn ci_drift_and_health_issue_bodies() {
    let repo = Repo::new("staging", GOOGLE_STACK);
    repo.expect(0, &["--emulator", "apply", "stacks/staging", "-auto-approve"]);

    // In sync and healthy: both exit 0, and cairn-drift.yml closes its issue.
    let drift = stdout(&repo.expect(0, &["--emulator", "drift", "stacks/staging", "--format", "markdown"]));
    let health = stdout(&repo.expect(0, &["--emulator", "check", "stacks/staging", "--format", "markdown"]));
    insta::assert_snapshot!("ci_drift_issue_in_sync", drift);
    insta::assert_snapshot!("ci_health_issue_healthy", health);

    // Someone relabels the secret in the console: both exit 2, and the issue is opened.
    relabel_secrets_in_the_cloud(&repo.path("stacks/staging/state/emulator-cloud.json"));
    let drift = stdout(&repo.expect(2, &["--emulator", "drift", "stacks/staging", "--format", "markdown"]));
    assert!(drift.contains("`google_secret_manager_secret.api`") && drift.contains("`labels.team`"), "{drift}");
    insta::assert_snapshot!("ci_drift_issue_body", drift);
    let health = stdout(&repo.expect(2, &["--emulator", "check", "stacks/staging", "--format", "markdown"]));
    assert!(health.contains("Secret 'api-key' is not labelled team=platform"), "{health}");
    insta::assert_snapshot!("ci_health_issue_body", health);
}

fn data(value: &str) -> String {
    format!("resource \"terraform_data\" \"app\" {{\n  input = {value}\n}}\n\nresource \"terraform_data\" \"audit\" {{\n  input = \"on\"\n}}\n")
}

fn serial(repo: &Repo) -> u64 {
    let o = repo.expect(0, &["-C", "stacks/app", "state", "pull"]);
    let state: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("state JSON");
    state.get("serial").and_then(|s| s.as_u64()).expect("serial")
}

#[test]
fn ci_reviewed_plan_gates_the_apply_on_merge() {
    let repo = Repo::new("app", &data("\"v1\""));
    repo.expect(0, &["apply", "stacks/app", "-auto-approve"]);

    // The pull request's run plans v1 → v2; that is what the reviewer approves.
    repo.write(&data("\"v2\""));
    repo.expect(2, &["plan", "stacks/app", "-out", "reviewed.cairnplan", "-detailed-exitcode"]);

    // Before it merges, main changes the stack elsewhere and applies: the reviewed plan is
    // stale now (another serial, another configuration), but its changes are still the ones
    // a plan of the merged configuration makes.
    repo.write(&(data("\"v1\"") + "\nresource \"terraform_data\" \"cache\" {\n  input = 1\n}\n"));
    repo.expect(0, &["apply", "stacks/app", "-auto-approve"]);
    repo.write(&(data("\"v2\"") + "\nresource \"terraform_data\" \"cache\" {\n  input = 1\n}\n"));
    repo.expect(2, &["plan", "stacks/app", "-out", "fresh.cairnplan", "-detailed-exitcode"]);
    let o = repo.expect(
        0,
        &["-C", "stacks/app", "apply", "fresh.cairnplan", "--reviewed-plan", "reviewed.cairnplan", "-lock-timeout=10m"],
    );
    assert!(stdout(&o).contains("Apply complete! Resources: 0 added, 1 changed, 0 destroyed."), "{}", stdout(&o));

    // Another pull request is reviewed as v2 → v3, but what merges makes it v4 and replaces
    // the audit object: refused, naming what differs, and nothing is applied.
    repo.write(&(data("\"v3\"") + "\nresource \"terraform_data\" \"cache\" {\n  input = 1\n}\n"));
    repo.expect(2, &["plan", "stacks/app", "-out", "reviewed.cairnplan", "-detailed-exitcode"]);
    let merged = data("\"v4\"").replace("input = \"on\"", "input = \"on\"\n  triggers_replace = \"rotate\"");
    repo.write(&(merged + "\nresource \"terraform_data\" \"cache\" {\n  input = 1\n}\n"));
    repo.expect(2, &["plan", "stacks/app", "-out", "fresh.cairnplan", "-detailed-exitcode"]);
    let before = serial(&repo);
    let o = repo.expect(1, &["-C", "stacks/app", "apply", "fresh.cairnplan", "--reviewed-plan", "reviewed.cairnplan"]);
    let err = stderr(&o);
    assert!(err.contains("does not make the changes of the reviewed plan"), "{err}");
    assert!(err.contains("terraform_data.app: input: reviewed \"v2\" → \"v3\", fresh \"v2\" → \"v4\""), "{err}");
    assert!(err.contains("terraform_data.audit: reviewed plan had no change, fresh plan has replace"), "{err}");
    assert_eq!(serial(&repo), before, "a refused apply writes nothing");

    // Without a reviewed plan file there is nothing to compare with: refused too.
    let o = repo.expect(1, &["-C", "stacks/app", "apply", "fresh.cairnplan", "--reviewed-plan", "missing.cairnplan"]);
    assert!(stderr(&o).contains("reviewed plan") && stderr(&o).contains("missing.cairnplan"), "{}", stderr(&o));
    // And --reviewed-plan needs a saved plan to apply, not a directory.
    let o = repo.expect(1, &["apply", "stacks/app", "--reviewed-plan", "reviewed.cairnplan", "-auto-approve"]);
    assert!(stderr(&o).contains("cairn plan -out FRESH"), "{}", stderr(&o));
    assert_eq!(serial(&repo), before);
}
