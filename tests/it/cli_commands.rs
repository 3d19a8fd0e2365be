//! Issue 17, CLI habits: Terraform's exit codes, CI flags and commands (refresh, taint,
//! untaint, show without a plan, version, providers, console, completions, man).

use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};

use crate::support::*;
use cairn::apply::Interrupt;
use cairn::cli::console::{Captured, Console};
use cairn::lang::value::Value;
use cairn::providers::Registry;

/// Runs one command line in-process against `registry`, answering prompts with `input`.
async fn cairn_in(args: &[&str], input: &str, interactive: bool, registry: Registry) -> (Result<u8, String>, Captured) {
    let mut all = vec!["cairn"];
    all.extend_from_slice(args);
    let cli = match cairn::cli::parse(all.iter().map(std::ffi::OsString::from)) {
        Ok(c) => c,
        Err(e) => panic!("{args:?}: {}", e.error),
    };
    let (mut console, captured) = Console::captured(input, interactive);
    let r = cairn::cli::run::dispatch(cli, &mut console, registry, &Interrupt::new()).await;
    (r.map_err(|e| describe(&e)), captured)
}

async fn ok(args: &[&str], registry: Registry) -> Captured {
    let (r, out) = cairn_in(args, "", false, registry).await;
    assert_eq!(r, Ok(0), "{args:?}\nstdout: {}\nstderr: {}", out.stdout(), out.stderr());
    out
}

async fn err(args: &[&str], registry: Registry) -> String {
    let (r, out) = cairn_in(args, "", false, registry).await;
    match r {
        Err(e) => e,
        Ok(code) => panic!("{args:?} exited {code}, expected an error\n{}{}", out.stdout(), out.stderr()),
    }
}

/// The binary with `input` on its standard input (a pipe, not a terminal).
fn cairn_piped(args: &[&str], cwd: &Path, input: &str) -> Output {
    let mut child = std::process::Command::new(cairn_bin())
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn cairn");
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write stdin");
    child.wait_with_output().expect("cairn ends")
}

const TWO_DATA: &str = r#"
resource "terraform_data" "a" {
  input = "a"
}

resource "terraform_data" "b" {
  input = terraform_data.a.output
}
"#;

#[test]
fn usage_errors_exit_1_and_help_and_version_exit_0() {
    let s = TestStack::new(&[("main.tf", TWO_DATA)]);
    for args in [
        &["plan", "-no-such-flag"][..],
        &["plan", "--no-such-flag"],
        &["plan", "-out"],
        &["plan", "-parallelism=many"],
        &["plan", "-parallelism-fixed=yes"],
        &["apply", "--parallelism-fixed=true"],
        &["drift", "-parallelism-fixed"],
        &["plan", "-lock=perhaps"],
        &["bogus"],
        &[],
        &["output", "-raw"],
        &["taint"],
        &["completions", "powershell7"],
    ] {
        let o = run_cairn(args, s.path());
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).is_empty(), "{args:?} says what is wrong");
    }
    for args in [&["--help"][..], &["-help"], &["plan", "-h"], &["--version"], &["-version"], &["version"]] {
        let o = run_cairn(args, s.path());
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        assert!(!stdout(&o).is_empty(), "{args:?} prints on stdout");
    }
    assert!(stdout(&run_cairn(&["--version"], s.path())).contains(cairn::version::TERRAFORM_LANGUAGE_VERSION));
}

#[test]
fn ci_flags_plan_apply_and_destroy_as_terraform_ci_scripts_pass_them() {
    let s = TestStack::new(&[("main.tf", TWO_DATA)]);
    let dir = s.path().to_str().unwrap();
    let chdir = format!("-chdir={dir}");
    let o = run_cairn(&[&chdir, "plan", "-input=false", "-compact-warnings", "-detailed-exitcode"], Path::new("/"));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stdout(&o).contains("terraform_data.a will be created"), "{}", stdout(&o));

    // -input=false never asks: without -auto-approve (and no plan file) the apply fails.
    let o = cairn_piped(&[&chdir, "apply", "-input=false"], Path::new("/"), "yes\n");
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stderr(&o).contains("-input=false"), "{}", stderr(&o));
    assert!(stderr(&o).contains("-auto-approve"), "{}", stderr(&o));
    let o = run_cairn(&[&chdir, "state", "list"], Path::new("/"));
    assert_eq!(stdout(&o), "", "nothing was applied");

    let o = run_cairn(&[&chdir, "apply", "-input=false", "-auto-approve", "-compact-warnings"], Path::new("/"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("Apply complete! Resources: 2 added"), "{}", stdout(&o));

    // plan -destroy plans what destroy would do, and saves it like any plan.
    let o = run_cairn(&["plan", dir, "-destroy", "-detailed-exitcode", "-out=destroy.plan"], s.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stdout(&o).contains("terraform_data.b will be destroyed"), "{}", stdout(&o));
    assert!(stdout(&o).contains("0 to add, 0 to change, 2 to destroy"), "{}", stdout(&o));
    let o = run_cairn(&["apply", "destroy.plan"], s.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&run_cairn(&[&chdir, "state", "list"], Path::new("/"))), "");
}

#[test]
fn lock_false_runs_beside_a_held_lock_and_says_so() {
    let s = TestStack::new(&[("main.tf", TWO_DATA)]);
    let state_dir = s.path().join("state");
    std::fs::create_dir_all(&state_dir).unwrap();
    // A lock held by a live process (this test holds the flock, as a running apply would).
    let info = cairn::state::LockInfo::for_current_process("apply");
    let mut held = std::fs::File::create(state_dir.join("cairn.lock")).unwrap();
    // SAFETY: flock on the open descriptor `held` owns; released when it is closed.
    let rc = unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&held), libc::LOCK_EX | libc::LOCK_NB) };
    assert_eq!(rc, 0);
    held.write_all(&serde_json::to_vec(&info).unwrap()).unwrap();
    let o = run_cairn(&["plan", ".", "-lock-timeout=0s"], s.path());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("locked"), "{}", stderr(&o));
    let o = run_cairn(&["plan", ".", "-lock=false"], s.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("Warning: -lock=false: the state is not locked"), "{}", stderr(&o));
    let o = run_cairn(&["apply", ".", "-lock=false", "-auto-approve"], s.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // The lock record is the other holder's, untouched.
    let kept: cairn::state::LockInfo =
        serde_json::from_slice(&std::fs::read(state_dir.join("cairn.lock")).unwrap()).unwrap();
    assert_eq!(kept.id, info.id);
    drop(held);
}

#[tokio::test]
async fn output_raw_prints_strings_numbers_and_bools_bare() {
    let s = TestStack::new(&[(
        "main.tf",
        r#"
output "s" {
  value = "hello"
}
output "n" {
  value = 42
}
output "b" {
  value = true
}
output "l" {
  value = ["a"]
}
output "o" {
  value = { k = "v" }
}
output "nothing" {
  value = null
}
output "secret" {
  value     = "s3cr3t"
  sensitive = true
}
"#,
    )]);
    let dir = s.path().to_str().unwrap();
    let r = Registry::builtin;
    ok(&["apply", dir, "-auto-approve"], r()).await;
    for (name, want) in [("s", "hello"), ("n", "42"), ("b", "true")] {
        assert_eq!(ok(&["-chdir", dir, "output", "-raw", name], r()).await.stdout(), want);
    }
    assert_eq!(ok(&["-chdir", dir, "output", "s"], r()).await.stdout(), "\"hello\"\n");
    let e = err(&["-chdir", dir, "output", "-raw", "l"], r()).await;
    assert!(e.starts_with("Unsupported value for raw output") && e.contains("\"l\" is a tuple"), "{e}");
    let e = err(&["-chdir", dir, "output", "-raw", "o"], r()).await;
    assert!(e.contains("\"o\" is an object") && e.contains("-json option"), "{e}");
    let e = err(&["-chdir", dir, "output", "-raw", "nothing"], r()).await;
    assert!(e.contains("null, so -raw mode cannot print it"), "{e}");
    let e = err(&["-chdir", dir, "output", "-raw", "secret"], r()).await;
    assert!(e.contains("\"secret\" is sensitive") && !e.contains("s3cr3t"), "{e}");
    let e = err(&["-chdir", dir, "output", "-raw", "missing"], r()).await;
    assert!(e.contains("output \"missing\" not found"), "{e}");
    let json: serde_json::Value =
        serde_json::from_str(&ok(&["-chdir", dir, "output", "-json"], r()).await.stdout()).unwrap();
    assert_eq!(json["n"]["value"], 42);
    assert_eq!(json["secret"]["sensitive"], true);
}

#[tokio::test]
async fn show_without_a_plan_file_prints_the_state_in_text_and_terraform_json() {
    let s = TestStack::new(&[(
        "main.tf",
        "resource \"terraform_data\" \"a\" {\n  input = \"x\"\n}\n\noutput \"o\" {\n  value = terraform_data.a.output\n}\n",
    )]);
    let dir = s.path().to_str().unwrap();
    let r = Registry::builtin;
    assert_eq!(ok(&["-C", dir, "show"], r()).await.stdout(), "No state.\n");
    assert_eq!(ok(&["-C", dir, "show", "-json"], r()).await.stdout(), "{\"format_version\":\"1.0\"}\n");
    ok(&["apply", dir, "-auto-approve"], r()).await;
    let text = ok(&["-C", dir, "show"], r()).await.stdout();
    assert!(text.starts_with("# terraform_data.a:\nresource \"terraform_data\" \"a\" {\n"), "{text}");
    assert!(text.contains("    input  = \"x\"\n"), "{text}");
    assert!(text.ends_with("\nOutputs:\n\no = \"x\"\n"), "{text}");
    let json: serde_json::Value = serde_json::from_str(&ok(&["-C", dir, "show", "-json"], r()).await.stdout()).unwrap();
    assert_eq!(json["format_version"], "1.0");
    let resource = &json["values"]["root_module"]["resources"][0];
    assert_eq!(resource["address"], "terraform_data.a");
    assert_eq!(resource["mode"], "managed");
    assert_eq!(resource["values"]["input"], "x");
    assert_eq!(json["values"]["outputs"]["o"]["value"], "x");
    let e = err(&["-C", dir, "show", "-format", "markdown"], r()).await;
    assert!(e.contains("saved plan"), "{e}");
}

#[tokio::test]
async fn refresh_reads_live_objects_into_state_and_changes_nothing_in_the_cloud() {
    let cloud = FakeCloud::default();
    let s = TestStack::new(&[(
        "main.tf",
        "resource \"fake_thing\" \"a\" {\n  name = \"a\"\n  size = 2\n}\n\noutput \"size\" {\n  value = fake_thing.a.size\n}\n",
    )]);
    let dir = s.path().to_str().unwrap();
    ok(&["apply", dir, "-auto-approve"], cloud.registry()).await;
    cloud.set("a", "size", Value::from(5));
    let creates = cloud.creates.load(std::sync::atomic::Ordering::SeqCst);
    let out = ok(&["refresh", dir, "-input=false", "-lock-timeout=1s"], cloud.registry()).await;
    assert!(out.stdout().contains("Apply complete!"), "{}", out.stdout());
    let json: serde_json::Value =
        serde_json::from_str(&ok(&["-C", dir, "show", "-json"], cloud.registry()).await.stdout()).unwrap();
    assert_eq!(json["values"]["root_module"]["resources"][0]["values"]["size"], 5, "{}", out.stdout());
    // Outputs follow the refreshed objects, as Terraform's refresh-only apply records them.
    assert_eq!(json["values"]["outputs"]["size"]["value"], 5, "{json:#}");
    assert_eq!(ok(&["-C", dir, "output", "-raw", "size"], cloud.registry()).await.stdout(), "5");
    // The live object kept its hand-made change: refresh writes only the state.
    assert_eq!(cloud.creates.load(std::sync::atomic::Ordering::SeqCst), creates);
    let live = cloud.objects.lock().unwrap().values().next().cloned().unwrap();
    assert_eq!(live.get("size").and_then(Value::as_f64), Some(5.0));
    let e = err(&["refresh", dir, "-replace=fake_thing.a"], cloud.registry()).await;
    assert!(e.contains("-replace"), "{e}");
}

#[tokio::test]
async fn taint_plans_a_replace_and_untaint_takes_it_back() {
    let s = TestStack::new(&[("main.tf", TWO_DATA)]);
    let dir = s.path().to_str().unwrap();
    let r = Registry::builtin;
    ok(&["apply", dir, "-auto-approve"], r()).await;
    let out = ok(&["-chdir", dir, "taint", "terraform_data.a"], r()).await;
    assert_eq!(out.stdout(), "Resource instance terraform_data.a has been marked as tainted.\n");
    assert!(ok(&["-chdir", dir, "show"], r()).await.stdout().contains("# terraform_data.a: (tainted)"));
    let (code, out) = cairn_in(&["plan", dir, "-detailed-exitcode"], "", false, r()).await;
    assert_eq!(code, Ok(2));
    assert!(out.stdout().contains("terraform_data.a is tainted, so must be replaced"), "{}", out.stdout());
    let json: serde_json::Value =
        serde_json::from_str(&ok(&["plan", dir, "-format=json"], r()).await.stdout()).unwrap();
    let change =
        json["resource_changes"].as_array().unwrap().iter().find(|c| c["address"] == "terraform_data.a").unwrap();
    assert_eq!(change["action_reason"], "replace_because_tainted");

    let out = ok(&["-chdir", dir, "untaint", "terraform_data.a", "-lock-timeout=1s"], r()).await;
    assert_eq!(out.stdout(), "Resource instance terraform_data.a has been successfully untainted.\n");
    let (code, out) = cairn_in(&["plan", dir, "-detailed-exitcode"], "", false, r()).await;
    assert_eq!(code, Ok(0), "{}", out.stdout());

    let e = err(&["-chdir", dir, "untaint", "terraform_data.a"], r()).await;
    assert!(e.contains("is not currently tainted"), "{e}");
    let e = err(&["-chdir", dir, "taint", "terraform_data.nope"], r()).await;
    assert!(e.starts_with("No such resource instance: terraform_data.nope was not found in state"), "{e}");
    let out = ok(&["-chdir", dir, "taint", "-allow-missing", "terraform_data.nope"], r()).await;
    assert!(out.stderr().contains("Warning: No such resource instance"), "{}", out.stderr());
    let e = err(&["-chdir", dir, "taint", "data.terraform_remote_state.x"], r()).await;
    assert!(e.contains("only applies to managed resources"), "{e}");
    let e = err(&["-chdir", dir, "taint", "module.m"], r()).await;
    assert!(e.contains("not a module"), "{e}");

    // Taint and apply: the object is replaced.
    ok(&["-chdir", dir, "taint", "terraform_data.b", "-lock=false"], r()).await;
    let out = ok(&["apply", dir, "-auto-approve"], r()).await;
    assert!(out.stdout().contains("Apply complete! Resources: 1 added, 0 changed, 1 destroyed."), "{}", out.stdout());
}

#[tokio::test]
async fn console_evaluates_against_state_variables_and_locals() {
    let s = TestStack::new(&[(
        "main.tf",
        r#"
variable "name" {
  default = "world"
}

variable "token" {
  default   = "s3cr3t"
  sensitive = true
}

locals {
  greeting = "hello ${var.name}"
}

resource "terraform_data" "a" {
  input = local.greeting
}
"#,
    )]);
    let dir = s.path().to_str().unwrap();
    let r = Registry::builtin;
    ok(&["apply", dir, "-auto-approve"], r()).await;
    let input = "upper(\"a\")\nlocal.greeting\n\nterraform_data.a.output\nvar.token\n[1, \"x\"]\ntoset([\"b\", \"a\"])\n{ k = 1 }\n";
    let (code, out) = cairn_in(&["console", dir, "-var", "name=cairn"], input, false, r()).await;
    assert_eq!(code, Ok(0), "{}", out.stderr());
    assert_eq!(
        out.stdout(),
        "\"A\"\n\"hello cairn\"\n\"hello world\"\n(sensitive)\n[\n  1,\n  \"x\",\n]\ntoset([\n  \"a\",\n  \"b\",\n])\n{\n  \"k\" = 1\n}\n"
    );
    assert!(!out.stdout().contains("s3cr3t"));

    // Reading a pipe: the first error ends the session with exit 1, located in the input.
    let (code, out) = cairn_in(&["console", dir], "upper(\"x\")\nnosuchfunc(1)\nupper(\"y\")\n", false, r()).await;
    assert_eq!(code, Ok(1));
    assert_eq!(out.stdout(), "\"X\"\n");
    assert!(out.stderr().contains("<console-input>:1:1"), "{}", out.stderr());

    // At a terminal: a prompt, errors shown and the session goes on, `exit` ends it.
    let (code, out) =
        cairn_in(&["console", dir], "var.nope\nupper(\"y\"\nupper(\"z\")\nexit\nupper(\"never\")\n", true, r()).await;
    assert_eq!(code, Ok(0));
    assert_eq!(out.stdout(), "> > > \"Z\"\n> ");
    assert!(out.stderr().contains("<console-input>:1:"), "{}", out.stderr());
    // End of input also ends it.
    let (code, out) = cairn_in(&["console", dir], "1 + 1\n", true, r()).await;
    assert_eq!(code, Ok(0));
    assert_eq!(out.stdout(), "> 2\n> \n");
}

#[test]
fn console_reads_expressions_from_a_pipe() {
    let s = TestStack::new(&[("main.tf", "locals {\n  x = 1\n}\n")]);
    let o = cairn_piped(&["console"], s.path(), "upper(\"a\")\n");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "\"A\"\n");
    let o = cairn_piped(&["console"], s.path(), "local.x +\n");
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("<console-input>:1:"), "{}", stderr(&o));
}

#[test]
fn version_names_what_cairn_implements_in_text_and_json() {
    let s = TestStack::new(&[("main.tf", "")]);
    let o = run_cairn(&["version"], s.path());
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    assert!(text.starts_with(&format!("Cairn v{}\non ", env!("CARGO_PKG_VERSION"))), "{text}");
    assert!(text.contains(&format!("Terraform language v{}", cairn::version::TERRAFORM_LANGUAGE_VERSION)), "{text}");
    assert!(
        text.contains(&format!(
            "+ provider registry.terraform.io/hashicorp/google v{}",
            cairn::version::GOOGLE_PROVIDER_VERSION
        )),
        "{text}"
    );
    let o = run_cairn(&["version", "-json"], s.path());
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["terraform_version"], cairn::version::TERRAFORM_LANGUAGE_VERSION);
    assert_eq!(json["cairn_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        json["provider_selections"]["registry.terraform.io/hashicorp/google"],
        cairn::version::GOOGLE_PROVIDER_VERSION
    );
    assert_eq!(json["terraform_outdated"], false);
    assert!(json["platform"].as_str().unwrap().contains('_'));
}

#[tokio::test]
async fn providers_prints_the_requirement_tree_and_the_state_s_providers() {
    let s = TestStack::new(&[
        (
            "main.tf",
            r#"
terraform {
  required_providers {
    google = {
      source = "hashicorp/google"
    }
  }
}

resource "google_storage_bucket" "b" {
  name     = "b"
  location = "EU"
  project  = "p"
}

module "m" {
  source = "./m"
}
"#,
        ),
        ("m/main.tf", "resource \"terraform_data\" \"x\" {\n  input = 1\n}\n"),
    ]);
    let dir = s.path().to_str().unwrap();
    let out = ok(&["providers", dir], Registry::builtin()).await;
    assert_eq!(
        out.stdout(),
        "\nProviders required by configuration:\n.\n├── provider[registry.terraform.io/hashicorp/google]\n└── module.m\n    └── provider[terraform.io/builtin/terraform]\n"
    );
}

/// `providers schema -json`: Terraform's document for the providers the stack uses (the
/// google provider's every type, the built-in `terraform` provider's), through the binary as a
/// script calls it; without `-json` it is refused with exit 1, as Terraform refuses it.
#[test]
fn providers_schema_json_describes_the_providers_the_stack_uses() {
    let s = TestStack::new(&[
        (
            "main.tf",
            "resource \"google_secret_manager_secret\" \"s\" {\n  secret_id = \"s\"\n  project   = \"p\"\n  replication {\n    auto {}\n  }\n}\nresource \"terraform_data\" \"x\" {\n  input = 1\n}\n",
        ),
    ]);
    let o = run_cairn(&["providers", "schema", "-json"], s.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("one JSON document");
    assert_eq!(doc["format_version"], "1.0");
    let schemas = doc["provider_schemas"].as_object().expect("provider_schemas");
    assert_eq!(
        schemas.keys().map(String::as_str).collect::<Vec<_>>(),
        ["registry.terraform.io/hashicorp/google", "terraform.io/builtin/terraform"]
    );
    let secret = &schemas["registry.terraform.io/hashicorp/google"]["resource_schemas"]["google_secret_manager_secret"];
    assert_eq!(secret["block"]["attributes"]["secret_id"]["required"], true);
    assert_eq!(secret["block"]["block_types"]["replication"]["nesting_mode"], "list");
    let data = &schemas["terraform.io/builtin/terraform"]["resource_schemas"]["terraform_data"];
    assert_eq!(data["block"]["attributes"]["input"]["type"], "dynamic");

    let o = run_cairn(&["providers", "schema"], s.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("requires the `-json` flag"), "{}", stderr(&o));
}

#[test]
fn completions_for_each_shell_and_a_man_page() {
    let s = TestStack::new(&[("main.tf", "")]);
    for (shell, marker) in
        [("bash", "_cairn()"), ("zsh", "#compdef cairn"), ("fish", "complete -c cairn"), ("elvish", "cairn")]
    {
        let o = run_cairn(&["completions", shell], s.path());
        assert_eq!(o.status.code(), Some(0), "{shell}: {}", stderr(&o));
        let script = stdout(&o);
        assert!(script.contains(marker), "{shell}: {script}");
        assert!(script.contains("taint") && script.contains("console"), "{shell} completes the commands");
    }
    let o = run_cairn(&["man"], s.path());
    assert_eq!(o.status.code(), Some(0));
    let page = stdout(&o);
    assert!(page.starts_with(".ie") || page.contains(".TH cairn"), "{page}");
    assert!(page.contains("taint") && page.contains("console"), "{page}");
}

#[test]
fn init_takes_input_false_and_fmt_recursive_skips_hidden_directories() {
    let messy = "resource \"terraform_data\" \"a\" {\ninput = 1\n}\n";
    let s = TestStack::new(&[("main.tf", messy), ("sub/x.tf", messy), (".cairn/modules/m/y.tf", messy)]);
    let o = run_cairn(&["init", "-input=false"], s.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run_cairn(&["fmt", "-check"], s.path());
    assert_eq!((o.status.code(), stdout(&o).lines().count()), (Some(3), 1), "{}", stdout(&o));
    let o = run_cairn(&["fmt", "-check", "-recursive"], s.path());
    assert_eq!(o.status.code(), Some(3));
    let listed: Vec<String> = stdout(&o).lines().map(|l| l.replace('\\', "/")).collect();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(listed[0].ends_with("main.tf") && listed[1].ends_with("sub/x.tf"), "{listed:?}");
    let o = run_cairn(&["fmt", "-recursive"], s.path());
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(run_cairn(&["fmt", "-check", "-recursive"], s.path()).status.code(), Some(0));
    // The installed module's file is not the user's: left as it was.
    assert_eq!(std::fs::read_to_string(s.path().join(".cairn/modules/m/y.tf")).unwrap(), messy);
}

#[tokio::test]
async fn import_takes_terraform_s_input_and_lock_flags() {
    let cloud = FakeCloud::default();
    let s = TestStack::new(&[("main.tf", "resource \"fake_thing\" \"a\" {\n  name = \"a\"\n}\n")]);
    let dir = s.path().to_str().unwrap();
    ok(&["apply", dir, "-auto-approve"], cloud.registry()).await;
    let id = cloud
        .objects
        .lock()
        .unwrap()
        .values()
        .next()
        .and_then(|o| o.get("id").and_then(Value::as_str).map(String::from))
        .unwrap();
    ok(&["-C", dir, "state", "rm", "fake_thing.a"], cloud.registry()).await;
    let (code, out) = cairn_in(
        &["-C", dir, "import", "-input=false", "-lock=false", "fake_thing.a", &id],
        "",
        false,
        cloud.registry(),
    )
    .await;
    assert_eq!(code, Ok(0), "{}", out.stderr());
    assert!(out.stdout().contains("Import successful: fake_thing.a"), "{}", out.stdout());
    assert!(out.stderr().contains("Warning: -lock=false"), "{}", out.stderr());
    let (code, _) = cairn_in(&["plan", dir, "-detailed-exitcode"], "", false, cloud.registry()).await;
    assert_eq!(code, Ok(0));
}

/// `validate -json` prints Terraform's validation document on stdout whatever the outcome:
/// valid with a located warning (exit 0), invalid with a located error (exit 1).
#[test]
fn validate_json_prints_terraforms_document() {
    let warned = TestStack::new(&[(
        "main.tf",
        "provider \"google\" {\n  project = \"p\"\n  version = \"~> 8.0\"\n}\n\nresource \"terraform_data\" \"a\" {}\n",
    )]);
    let o = run_cairn(&["validate", "-json", warned.path().to_str().unwrap()], warned.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("one JSON document");
    assert_eq!(doc["format_version"], "1.0");
    assert_eq!(doc["valid"], true);
    assert_eq!((doc["error_count"].as_u64(), doc["warning_count"].as_u64()), (Some(0), Some(1)), "{doc:#}");
    let w = &doc["diagnostics"][0];
    assert_eq!(w["severity"], "warning");
    assert_eq!(w["range"]["start"]["line"], 3, "{w:#}");

    let broken = TestStack::new(&[("main.tf", "resource \"terraform_data\" \"a\" {\n  input = var.nope\n}\n")]);
    let o = run_cairn(&["validate", "-json", broken.path().to_str().unwrap()], broken.path());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("the document, on failure too");
    assert_eq!(doc["valid"], false);
    assert_eq!(doc["error_count"], 1, "{doc:#}");
    let e = &doc["diagnostics"][0];
    assert_eq!(e["severity"], "error");
    assert!(e["range"]["filename"].as_str().unwrap().ends_with("main.tf"), "{e:#}");
    assert_eq!(e["range"]["start"]["line"], 2);
    assert!(e["snippet"]["code"].as_str().unwrap().contains("var.nope"), "{e:#}");
}
