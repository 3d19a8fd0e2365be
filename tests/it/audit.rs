//! Issue 14 §3: every place Cairn formats a value or a diagnostic for people — each command,
//! each format, stdout, stderr, debug logs and the files it writes — over one stack holding
//! several kinds of secret. None of their bytes may appear anywhere; `(sensitive value)` does.

use crate::support::*;
use cairn::ops::{self, PlanArgs};

const KEY: &str = "AUDIT-KEY-41c7e2";
const KEY2: &str = "AUDIT-KEY-ROTATED-88d1";
const PAYLOAD: &str = "AUDIT-PAYLOAD-0b9a33";

/// A sensitive variable (in a map, a list, a multi-line string and a nested object), a
/// generated password, a write-only argument carrying a secret version's payload, the payload
/// read back through a data source and used, and sensitive outputs next to a plain one.
const STACK: &str = r#"
provider "google" {
  project = "audit-proj"
  region  = "us-central1"
}

variable "api_key" {
  type      = string
  sensitive = true
}

variable "payload" {
  type      = string
  sensitive = true
}

resource "random_password" "db" {
  length  = 24
  special = false
}

resource "google_secret_manager_secret" "s" {
  secret_id = "audit"
  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_version" "v" {
  secret                 = google_secret_manager_secret.s.id
  secret_data_wo         = var.payload
  secret_data_wo_version = 1
}

resource "terraform_data" "config" {
  input = {
    key   = var.api_key
    keys  = [var.api_key, "public"]
    text  = "line one\n${var.api_key}\nline three\n"
    nest  = { inner = var.api_key }
  }
}

output "password" {
  value     = random_password.db.result
  sensitive = true
}

output "key" {
  value     = terraform_data.config.output.key
  sensitive = true
}

output "plain" {
  value = "visible-output"
}

# Issue 16: the payload read back through a data source is a sensitive value like any other.
data "google_secret_manager_secret_version" "read" {
  secret     = google_secret_manager_secret.s.secret_id
  depends_on = [google_secret_manager_secret_version.v]
}

resource "terraform_data" "uses_payload" {
  input = data.google_secret_manager_secret_version.read.secret_data
}

output "read_payload" {
  value     = data.google_secret_manager_secret_version.read.secret_data
  sensitive = true
}
"#;

fn run(dir: &std::path::Path, key: &str, args: &[&str]) -> (std::process::Output, String) {
    let o = std::process::Command::new(cairn_bin())
        .args(args)
        .current_dir(dir)
        .env("TF_VAR_api_key", key)
        .env("TF_VAR_payload", PAYLOAD)
        .env("NO_COLOR", "1")
        .env_remove("CAIRN_GCP_EMULATOR")
        .output()
        .unwrap();
    let printed = stdout(&o) + &stderr(&o);
    (o, printed)
}

#[test]
fn no_secret_reaches_any_output_stream_or_file() {
    let s = TestStack::new(&[("main.tf", STACK)]);
    let dir = s.path();
    let d = dir.to_str().unwrap();
    let pf = dir.join("p.cairnplan");
    let pf = pf.to_str().unwrap();
    let pf2 = dir.join("p2.cairnplan");
    let pf2 = pf2.to_str().unwrap();

    // (command line, secret variable's value, exit codes it may end with)
    let table: &[(&[&str], &str, &[i32])] = &[
        (&["--emulator", "validate", d], KEY, &[0]),
        (&["--emulator", "-vv", "plan", d], KEY, &[0]),
        (&["--emulator", "plan", d, "--format", "json"], KEY, &[0]),
        (&["--emulator", "plan", d, "--format", "markdown"], KEY, &[0]),
        (&["--emulator", "plan", d, "--out", pf], KEY, &[0]),
        (&["show", pf], KEY, &[0]),
        (&["show", pf, "--json"], KEY, &[0]),
        (&["show", pf, "--format", "markdown"], KEY, &[0]),
        (&["--emulator", "graph", d, "--all"], KEY, &[0]),
        (&["--emulator", "-vv", "apply", d, "--auto-approve"], KEY, &[0]),
        // Converged: secrets inside lists and a data source's payload compare by fingerprint.
        (&["--emulator", "plan", d, "--detailed-exitcode"], KEY, &[0]),
        (&["-C", d, "output"], KEY, &[0]),
        (&["-C", d, "output", "--json"], KEY, &[0]),
        (&["-C", d, "output", "key"], KEY, &[0]),
        (&["-C", d, "output", "password", "--json"], KEY, &[0]),
        (&["-C", d, "state", "list"], KEY, &[0]),
        (&["-C", d, "state", "pull"], KEY, &[0]),
        (&["-C", d, "state", "show", "terraform_data.config"], KEY, &[0]),
        (&["-C", d, "state", "show", "random_password.db"], KEY, &[0]),
        (&["-C", d, "state", "show", "google_secret_manager_secret_version.v"], KEY, &[0]),
        (&["-C", d, "state", "history"], KEY, &[0]),
        (&["--emulator", "-vv", "drift", d], KEY, &[0]),
        (&["--emulator", "drift", d, "--format", "json"], KEY, &[0]),
        (&["--emulator", "drift", d, "--format", "markdown"], KEY, &[0]),
        (&["--emulator", "-vv", "check", d, "--detailed-report"], KEY, &[0]),
        (&["--emulator", "check", d, "--format", "json"], KEY, &[0]),
        (&["--emulator", "check", d, "--format", "markdown"], KEY, &[0]),
        // A rotated key: update lines of a sensitive map, list and multi-line string.
        (&["--emulator", "-vv", "plan", d, "--out", pf2], KEY2, &[0]),
        (&["show", pf2], KEY2, &[0]),
        (&["show", pf2, "--json"], KEY2, &[0]),
        (&["show", pf2, "--format", "markdown"], KEY2, &[0]),
        (&["--emulator", "-vv", "apply", pf2], KEY2, &[0]),
        (&["--emulator", "-vv", "plan", d, "--replace", "terraform_data.config"], KEY2, &[0]),
        (&["--emulator", "-vv", "destroy", d, "--auto-approve"], KEY2, &[0]),
    ];
    // random_password's result never leaves the apply that makes it (tests/it/secrets.rs
    // checks its bytes through the library); here the variables' and payload's bytes are
    // looked for in everything printed and written.
    let mut printed = String::new();
    for (args, key, codes) in table {
        let (o, out) = run(dir, key, args);
        assert!(codes.contains(&o.status.code().unwrap_or(-1)), "{args:?} exited {:?}: {out}", o.status);
        printed += &out;
    }
    let mut bytes = printed.clone().into_bytes();
    bytes.extend(std::fs::read(pf).unwrap());
    bytes.extend(std::fs::read(pf2).unwrap());
    bytes.extend(s.state_bytes_without_emulator());
    for secret in [KEY, KEY2, PAYLOAD] {
        assert!(!contains(&bytes, secret), "{secret} leaked: {printed}");
    }
    assert!(printed.contains("(sensitive value)"), "{printed}");
    assert!(printed.contains("visible-output"), "the plain output is printed: {printed}");
}

/// Diagnostics that would quote a value: each is given a sensitive one, and must locate the
/// problem without printing it.
#[test]
fn diagnostics_never_quote_a_sensitive_value() {
    const V: &str = "Bad Secret! 7f3e";
    let var = "variable \"v\" {\n  type      = string\n  sensitive = true\n}\n";
    // (what, stack, text that shows the problem was reported)
    let cases: &[(&str, &str, &str)] = &[
        // A variable's type conversion.
        ("number", "variable \"v\" {\n  type      = number\n  sensitive = true\n}\n", "Error"),
        // A variable's own validation, its message interpolating the value.
        ("validation", "variable \"v\" {\n  type      = string\n  sensitive = true\n  validation {\n    condition     = length(var.v) < 3\n    error_message = \"too long: ${var.v}\"\n  }\n}\n", "Error"),
        // A check assertion whose message interpolates it (resource and output conditions are
        // refused, see ignored.rs).
        ("check", "check \"c\" {\n  assert {\n    condition     = var.v == \"x\"\n    error_message = \"bad value ${var.v}\"\n  }\n}\n", "error message refers to sensitive values"),
        // A schema rule that would quote the argument (a secret id's pattern).
        ("schema", "resource \"google_secret_manager_secret\" \"s\" {\n  secret_id = var.v\n  replication {\n    auto {}\n  }\n}\n", "Error"),
        // Provider rules that quote the value they refuse (a database flag, a timestamp).
        ("sql flag", "resource \"google_sql_database_instance\" \"db\" {\n  name                = \"db\"\n  database_version    = \"POSTGRES_15\"\n  region              = \"us-central1\"\n  deletion_protection = false\n  settings {\n    tier = \"db-custom-1-3840\"\n    database_flags {\n      name  = \"max_connections\"\n      value = var.v\n    }\n  }\n}\n", "Error"),
        ("expire_time", "resource \"google_secret_manager_secret\" \"s\" {\n  secret_id   = \"ok\"\n  expire_time = var.v\n  replication {\n    auto {}\n  }\n}\n", "Error"),
        // A function error on the value.
        ("function", "locals {\n  n = tonumber(var.v)\n}\noutput \"o\" {\n  value     = local.n\n  sensitive = true\n}\n", "Error"),
        ("base64", "locals {\n  n = base64decode(var.v)\n}\noutput \"o\" {\n  value     = local.n\n  sensitive = true\n}\n", "Error"),
        ("cidr", "locals {\n  n = cidrhost(var.v, 1)\n}\noutput \"o\" {\n  value     = local.n\n  sensitive = true\n}\n", "Error"),
        // The provider block's own arguments.
        ("provider", "provider \"google\" {\n  project         = \"p\"\n  request_timeout = var.v\n}\nresource \"google_secret_manager_secret\" \"s\" {\n  secret_id = \"ok\"\n  replication {\n    auto {}\n  }\n}\n", "Error"),
    ];
    for (name, text, reported) in cases {
        let text = if text.starts_with("variable") { text.to_string() } else { format!("{var}{text}") };
        let s = TestStack::new(&[("main.tf", &text)]);
        let d = s.path().to_str().unwrap();
        let mut printed = String::new();
        for args in [
            vec!["--emulator", "validate", d],
            vec!["--emulator", "-vv", "plan", d],
            vec!["--emulator", "-vv", "apply", d, "--auto-approve"],
        ] {
            let (_, out) = run_with(s.path(), V, &args);
            printed += &out;
        }
        assert!(!printed.contains(V), "{name}: the value is quoted: {printed}");
        assert!(printed.contains(reported), "{name}: the problem is reported: {printed}");
    }
}

fn run_with(dir: &std::path::Path, value: &str, args: &[&str]) -> (std::process::Output, String) {
    let o = std::process::Command::new(cairn_bin())
        .args(args)
        .current_dir(dir)
        .env("TF_VAR_v", value)
        .env("NO_COLOR", "1")
        .env_remove("CAIRN_GCP_EMULATOR")
        .output()
        .unwrap();
    let printed = stdout(&o) + &stderr(&o);
    (o, printed)
}

/// Text that someone else wrote — an API's error about the request it refused, the live value
/// of a secret attribute that drifted, a provider's rule across objects — may hold a secret the
/// stack sent; it reaches no output (issue 14 §3).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_quoted_by_apis_and_providers_never_show() {
    use base64::Engine as _;
    const SECRET: &str = "QUOTED-SECRET-5e0c1d";
    const DRIFTED: &str = "DRIFTED-SECRET-77ab20";
    let encoded = base64::engine::general_purpose::STANDARD.encode(SECRET);
    let assert_clean = |what: &str, text: &str| {
        for needle in [SECRET, DRIFTED, encoded.as_str()] {
            assert!(!text.contains(needle), "{what} shows a secret:\n{text}");
        }
    };
    let vars = "variable \"s\" {\n  type      = string\n  sensitive = true\n}\n";

    // 1. The API's error quotes the refused field, as written and base64-encoded.
    let cloud = FakeCloud::default();
    let s = TestStack::new(&[(
        "main.tf",
        &format!("{vars}resource \"fake_thing\" \"a\" {{\n  name   = \"echo-a\"\n  secret = var.s\n}}\n"),
    )]);
    let c = with_vars(common(s.path(), cloud.registry()), &[&format!("s={SECRET}")]);
    let r = ops::apply(apply_args(&c), &mut |_| true).await.unwrap_or_else(|e| panic!("{}", describe(&e)));
    let failed = &r.outcome.as_ref().expect("an apply ran").failed;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_clean("the apply error", &failed[0].1);
    assert!(failed[0].1.contains("Invalid value at 'thing.secret' (\"(sensitive value)\")"), "{}", failed[0].1);

    // 2. A provider's rule across objects quotes the value two objects share.
    let s = TestStack::new(&[(
        "main.tf",
        &format!(
            "{vars}resource \"fake_thing\" \"a\" {{\n  name   = \"a\"\n  secret = var.s\n}}\nresource \"fake_thing\" \"b\" {{\n  name   = \"b\"\n  secret = var.s\n}}\n"
        ),
    )]);
    let c = with_vars(common(s.path(), FakeCloud::default().registry()), &[&format!("s={SECRET}")]);
    let e = ops::plan(PlanArgs::new(c.clone())).await.err().expect("the shared secret is refused");
    let text = describe(&e);
    assert_clean("the cross-resource error", &text);
    assert!(text.contains("share the secret \"(sensitive value)\""), "{text}");

    // 3. Drift of a secret attribute, read back by an API that returns secrets: every drift
    // format, the plan in every format, and the saved state.
    let cloud = FakeCloud::default();
    let s = TestStack::new(&[(
        "main.tf",
        &format!("{vars}resource \"fake_thing\" \"a\" {{\n  name   = \"a\"\n  secret = var.s\n}}\n"),
    )]);
    let c = with_vars(common(s.path(), cloud.registry()), &[&format!("s={SECRET}")]);
    apply(&c).await;
    cloud.reads_secrets.store(true, std::sync::atomic::Ordering::SeqCst);
    cloud.set("a", "secret", cairn::lang::value::Value::from(DRIFTED));
    let drift = plan_mode(&c, cairn::plan::PlanMode::RefreshOnly).await;
    assert_eq!(drift.drift.len(), 1, "the changed secret is drift");
    let opts = cairn::cli::render::RenderOptions { color: false };
    assert_clean("drift text", &cairn::cli::render::text::drift_text(&drift, &opts));
    assert_clean("drift JSON", &cairn::cli::render::json::drift_json(&drift).to_string());
    assert_clean("drift Markdown", &cairn::cli::render::markdown::drift_markdown(&drift));
    let p = plan(&c).await;
    assert_clean("plan text", &cairn::cli::render::text::plan_text(&p, &opts));
    assert_clean("plan JSON", &cairn::cli::render::json::plan_json(&p).to_string());
    assert_clean("plan Markdown", &cairn::cli::render::markdown::plan_markdown(&p));
    apply(&c).await;
    let mut files = Vec::new();
    collect_bytes(s.path(), &mut files);
    for needle in [SECRET, DRIFTED] {
        assert!(!contains(&files, needle), "the stack's directory (state) holds a secret");
    }
}

#[test]
fn secret_strings_redact_every_spelling_a_request_carries() {
    use base64::Engine as _;
    use cairn::lang::value::{SecretStrings, Value};
    let v = Value::map([
        ("a", Value::from("pa\"ss\\word").sensitive()),
        ("b", Value::from("public")),
        ("c", Value::from("ab").sensitive()),
    ]);
    let secrets = SecretStrings::of([&v]);
    let encoded = base64::engine::general_purpose::STANDARD.encode("pa\"ss\\word");
    let text = format!("raw pa\"ss\\word json pa\\\"ss\\\\word b64 {encoded} public ab");
    assert_eq!(
        secrets.redact(&text),
        "raw (sensitive value) json (sensitive value) b64 (sensitive value) public ab",
        "short secrets are left: they would erase ordinary words"
    );
}
