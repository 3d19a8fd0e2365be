//! Workspaces (issue 17, done-when 6): two workspaces of one stack keep separate states in
//! both backends, `terraform.workspace` reads right in each, and the `workspace` commands
//! answer with Terraform's messages and refusals.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use crate::gcs::FakeGcs;
use crate::support::*;
use cairn::ops;
use cairn::providers::Registry;

/// An output and a resource argument that read the workspace.
const STACK: &str = r#"
resource "terraform_data" "a" {
  input = "app-${terraform.workspace}"
}

output "ws" {
  value = terraform.workspace
}

output "input" {
  value = terraform_data.a.input
}
"#;

/// The outputs of one workspace's stored state.
async fn stored_outputs(dir: &Path, workspace: &str) -> (String, String, usize) {
    let config = cairn::lang::load::load(dir).expect("loads");
    let all = ops::workspaces(dir, config.backend.as_ref(), &config.sources).expect("backend");
    let store = ops::open_backend(&all.backend(workspace)).expect("store");
    let state = store.load().await.expect("readable").expect("a state");
    let out = |n: &str| state.outputs[n].value.as_str().expect("a string output").to_string();
    (out("ws"), out("input"), state.resources.len())
}

/// Applies in `default` and in `dev`, checks both stored states, then switches back and
/// forth: neither workspace plans a change.
async fn two_workspaces_keep_separate_states(s: &TestStack) {
    let c = common(s.path(), Registry::builtin());
    let first = apply(&c).await;
    assert!(first.outcome.is_some());
    ops::workspace_new(s.path(), "dev", Duration::ZERO).await.expect("workspace new dev");
    assert_eq!(ops::workspace_show(s.path()).unwrap().name, "dev");
    let p = plan(&c).await;
    assert_eq!(actions(&p), [("terraform_data.a".to_string(), "create")], "dev starts empty");
    apply(&c).await;

    assert_eq!(stored_outputs(s.path(), "default").await, ("default".into(), "app-default".into(), 1));
    assert_eq!(stored_outputs(s.path(), "dev").await, ("dev".into(), "app-dev".into(), 1));

    for ws in ["default", "dev"] {
        ops::workspace_select(s.path(), ws, false, Duration::ZERO).await.expect("select");
        let p = plan(&c).await;
        assert!(!p.has_changes(), "{ws}: {:?}", actions(&p));
        assert!(
            p.output_changes.iter().all(|o| o.action == cairn::plan::Action::NoOp),
            "{ws}: outputs change: {:?}",
            p.output_changes.iter().map(|o| &o.name).collect::<Vec<_>>()
        );
    }
    let list = ops::workspace_list(s.path()).await.unwrap();
    assert_eq!(list.names, ["default", "dev"]);
    assert_eq!(list.selected.name, "dev");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_workspaces_keep_separate_states() {
    let s = TestStack::new(&[("main.tf", STACK)]);
    two_workspaces_keep_separate_states(&s).await;
    assert!(s.path().join("state").is_dir(), "default stays in state/");
    assert!(s.path().join("state.d/dev").is_dir(), "dev lives in state.d/dev, as Terraform's terraform.tfstate.d/dev");
    assert_eq!(std::fs::read_to_string(s.path().join(".cairn/environment")).unwrap().trim(), "dev");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_backend_workspace_dir_is_honoured() {
    let backend =
        "terraform {\n  backend \"local\" {\n    path          = \"st/main\"\n    workspace_dir = \"st/ws\"\n  }\n}\n";
    let s = TestStack::new(&[("main.tf", STACK), ("backend.tf", backend)]);
    two_workspaces_keep_separate_states(&s).await;
    assert!(s.path().join("st/main").is_dir() && s.path().join("st/ws/dev").is_dir());
    assert!(!s.path().join("state.d").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gcs_workspaces_keep_separate_states() {
    let Some(gcs) = FakeGcs::start().await else { return };
    let s = TestStack::new(&[("main.tf", STACK), ("backend.tf", &gcs.backend_block("stacks/ws"))]);
    two_workspaces_keep_separate_states(&s).await;
    let names = gcs.names("stacks/ws/").await;
    for object in ["stacks/ws/default.state.json", "stacks/ws/dev.state.json"] {
        assert!(names.contains(&object.to_string()), "{object} in {names:?}");
    }
    assert!(names.iter().any(|n| n.starts_with("stacks/ws/dev.history/")), "{names:?}");

    // Deleting dev (with -force: it tracks a resource) removes every object of dev's and
    // nothing of default's.
    ops::workspace_select(s.path(), "default", false, Duration::ZERO).await.unwrap();
    let e = ops::workspace_delete(s.path(), "dev", false, true, Duration::ZERO).await.expect_err("refused");
    assert!(describe(&e).contains("Workspace is not empty"), "{}", describe(&e));
    let tracked = ops::workspace_delete(s.path(), "dev", true, true, Duration::ZERO).await.expect("deleted");
    assert_eq!(tracked, ["terraform_data.a"]);
    let names = gcs.names("stacks/ws/").await;
    assert!(!names.iter().any(|n| n.starts_with("stacks/ws/dev.")), "{names:?}");
    assert!(names.contains(&"stacks/ws/default.state.json".to_string()), "{names:?}");
    assert_eq!(ops::workspace_list(s.path()).await.unwrap().names, ["default"]);
}

/// `cairn` with TF_WORKSPACE set (or removed, so that the developer's own cannot leak in).
fn cairn(args: &[&str], dir: &Path, tf_workspace: Option<&str>) -> Output {
    let mut cmd = std::process::Command::new(cairn_bin());
    cmd.args(args).current_dir(dir).env("NO_COLOR", "1");
    match tf_workspace {
        Some(w) => cmd.env("TF_WORKSPACE", w),
        None => cmd.env_remove("TF_WORKSPACE"),
    };
    cmd.output().expect("run cairn")
}

#[track_caller]
fn expect(o: &Output, code: i32, out: &str) {
    let all = format!("{}{}", stdout(o), stderr(o));
    assert_eq!(o.status.code(), Some(code), "{all}");
    assert!(all.contains(out), "expected {out:?} in:\n{all}");
}

#[test]
fn workspace_commands_and_their_refusals() {
    let s = TestStack::new(&[("main.tf", STACK)]);
    let d = s.path();
    let run = |args: &[&str]| cairn(args, d, None);

    expect(&run(&["workspace", "show"]), 0, "default");
    assert_eq!(stdout(&run(&["workspace", "list"])), "* default\n\n");
    expect(&run(&["workspace", "new", "dev"]), 0, "Created and switched to workspace \"dev\"!");
    expect(&run(&["workspace", "new", "dev"]), 1, "Workspace \"dev\" already exists");
    expect(&run(&["workspace", "new", "a/b"]), 1, "The workspace name \"a/b\" is not allowed");
    expect(&run(&["workspace", "new", ".."]), 1, "is not allowed");
    assert_eq!(stdout(&run(&["workspace", "list"])), "  default\n* dev\n\n");
    expect(&run(&["workspace", "select", "nope"]), 1, "Workspace \"nope\" doesn't exist.");
    expect(&run(&["workspace", "select", "-or-create", "qa"]), 0, "Created and switched to workspace \"qa\"!");
    expect(&run(&["workspace", "delete", "qa"]), 1, "Workspace \"qa\" is your active workspace.");
    expect(&run(&["workspace", "select", "dev"]), 0, "Switched to workspace \"dev\".");
    expect(&run(&["workspace", "delete", "default"]), 1, "can't delete default state");
    expect(&run(&["workspace", "delete", "nope"]), 1, "Workspace \"nope\" doesn't exist.");
    expect(&run(&["workspace", "show"]), 0, "dev");

    // TF_WORKSPACE wins over the selection, and forbids selecting or creating another.
    let qa = |args: &[&str]| cairn(args, d, Some("qa"));
    assert_eq!(stdout(&qa(&["workspace", "show"])), "qa\n");
    expect(&qa(&["workspace", "list"]), 0, "* qa\n\nThe active workspace is being overridden using the TF_WORKSPACE");
    expect(&qa(&["workspace", "select", "default"]), 1, "overridden using the TF_WORKSPACE");
    expect(&qa(&["workspace", "new", "other"]), 1, "You cannot create a new workspace when using this setting.");
    expect(&cairn(&["workspace", "show"], d, Some("a b")), 1, "Invalid workspace name set using TF_WORKSPACE");
    expect(&qa(&["apply", "-auto-approve"]), 0, "app-qa");

    // A workspace that tracks resources is deleted only with -force.
    expect(&run(&["workspace", "delete", "qa"]), 1, "Workspace is not empty");
    expect(&run(&["workspace", "delete", "qa"]), 1, "\n  - terraform_data.a\n");
    expect(&run(&["workspace", "delete", "-force", "qa"]), 0, "Deleted workspace \"qa\"!");
    expect(&run(&["workspace", "delete", "dev", "-lock=false"]), 1, "is your active workspace");
    expect(&run(&["workspace", "select", "default"]), 0, "Switched to workspace \"default\".");
    let deleted = run(&["workspace", "delete", "dev"]);
    expect(&deleted, 0, "Deleted workspace \"dev\"!");
    assert!(!stdout(&deleted).contains("WARNING"), "dev was empty");
    assert_eq!(stdout(&run(&["workspace", "list"])), "* default\n\n");
    assert!(!d.join("state.d/qa").exists() && !d.join("state.d/dev").exists());
    // The remembered selection goes with -chdir too.
    let elsewhere = tempfile::tempdir().unwrap();
    expect(&cairn(&["-chdir", d.to_str().unwrap(), "workspace", "show"], elsewhere.path(), None), 0, "default");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_state_reads_the_named_workspace() {
    let network = TestStack::new(&[("main.tf", STACK)]);
    let c = common(network.path(), Registry::builtin());
    apply(&c).await;
    ops::workspace_new(network.path(), "dev", Duration::ZERO).await.unwrap();
    apply(&c).await;
    let reader = format!(
        "data \"terraform_remote_state\" \"net\" {{\n  backend   = \"local\"\n  workspace = var.ws\n  config = {{\n    path = \"{}\"\n  }}\n}}\nvariable \"ws\" {{}}\noutput \"seen\" {{\n  value = data.terraform_remote_state.net.outputs.input\n}}\n",
        network.path().join("state").display()
    );
    let app = TestStack::new(&[("main.tf", &reader)]);
    for ws in ["default", "dev"] {
        let c = with_vars(common(app.path(), Registry::builtin()), &[&format!("ws={ws}")]);
        let r = apply(&c).await;
        let seen = &r.outcome.expect("applied").outputs["seen"].0;
        assert_eq!(seen.as_str(), Some(format!("app-{ws}").as_str()));
    }
}

/// A saved plan names its workspace: applied in another, it is refused with Terraform's
/// message (before its signature is checked), and nothing reaches either state.
#[test]
fn a_saved_plan_is_refused_in_another_workspace() {
    let s = TestStack::new(&[("main.tf", STACK)]);
    let d = s.path();
    let run = |args: &[&str], ws: Option<&str>| cairn(args, d, ws);
    expect(&run(&["workspace", "new", "dev"], None), 0, "Created and switched");
    expect(&run(&["plan", "-out", "dev.plan"], None), 0, "app-dev");
    expect(&run(&["workspace", "select", "default"], None), 0, "Switched to workspace \"default\".");
    expect(
        &run(&["apply", "dev.plan"], None),
        1,
        "The plan file describes changes to the \"dev\" workspace, but the \"default\" workspace is currently in use.",
    );
    expect(&run(&["apply", "dev.plan"], Some("qa")), 1, "cairn workspace select dev");
    expect(&run(&["state", "list"], None), 0, "");
    assert_eq!(stdout(&run(&["state", "list"], None)), "");
    // In its own workspace it applies.
    expect(&run(&["apply", "dev.plan"], Some("dev")), 0, "Apply complete! Resources: 1 added");
}
