//! Done-when 1: the example stack's life cycle through ops and through the binary.

use crate::support::*;
use cairn::ops;
use cairn::plan::Action;
use cairn::providers::Registry;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_stack_lifecycle() {
    let s = example_stack();
    let c = common(s.path(), Registry::builtin());

    let warnings = ops::validate(&c).await.unwrap_or_else(|e| panic!("{}", describe(&e)));
    assert!(!warnings.has_errors());

    let p = plan(&c).await;
    let creates: Vec<_> =
        p.changes.iter().filter(|ch| ch.action == Action::Create).map(|ch| ch.addr.to_string()).collect();
    insta::assert_snapshot!("example_first_plan_creates", creates.join("\n"));

    let r = apply(&c).await;
    let o = r.outcome.expect("applied");
    assert_eq!(o.succeeded.len(), creates.len());
    assert!(o.checks.iter().all(|c| c.status == cairn::state::CheckStatus::Pass), "{:?}", o.checks);
    assert!(o.outputs.contains_key("service_names"));

    // Nothing to do now, and a second apply changes nothing.
    let p = plan(&c).await;
    assert!(!p.has_changes(), "unexpected changes: {:?}", actions(&p));

    // A variable change updates in place.
    let c2 = with_vars(c.clone(), &[r#"services={api={replicas=3},auth={replicas=1,tier="critical"}}"#]);
    let p = plan(&c2).await;
    // The registry reads service["api"].output, which terraform_data recomputes when its input
    // changes, so it updates too — as under Terraform. Nothing is replaced.
    assert_eq!(
        actions(&p),
        vec![
            ("terraform_data.service[\"api\"]".to_string(), "update"),
            ("terraform_data.registry".to_string(), "update")
        ]
    );
    let api = p.changes.iter().find(|ch| ch.addr.to_string() == "terraform_data.service[\"api\"]").unwrap();
    assert_eq!(api.changed_paths.iter().map(|p| p.to_string()).collect::<Vec<_>>(), vec!["input.replicas", "output"]);

    // A force-new argument replaces, naming it.
    let c3 = with_vars(c.clone(), &["db_password_length=30"]);
    let p = plan(&c3).await;
    let pw = p.changes.iter().find(|ch| ch.addr.to_string() == "random_password.db").expect("password change");
    assert_eq!(pw.action, Action::DeleteThenCreate);
    assert_eq!(pw.replace_paths.iter().map(|p| p.to_string()).collect::<Vec<_>>(), vec!["length"]);

    // Removing a resource deletes it.
    let text = std::fs::read_to_string(s.path().join("main.tf")).unwrap();
    let without_registry = remove_block(&text, "resource \"terraform_data\" \"registry\"");
    s.write("main.tf", &without_registry);
    let p = plan(&c).await;
    assert_eq!(actions(&p), vec![("terraform_data.registry".to_string(), "delete")]);
    let del = &p.changes.iter().find(|ch| ch.action == Action::Delete).unwrap();
    assert_eq!(del.reason, Some(cairn::plan::ActionReason::DeleteBecauseNoResourceConfig));

    // Destroy leaves nothing.
    let r = destroy(&c).await;
    assert!(r.outcome.expect("destroyed").failed.is_empty());
    assert!(ops::state_list(s.path(), None).await.unwrap().is_empty());
}

/// Removes a top-level block starting with `header` (up to its matching closing brace).
pub fn remove_block(text: &str, header: &str) -> String {
    let start = text.find(header).expect("block present");
    let mut depth = 0;
    let mut end = start;
    for (i, ch) in text[start..].char_indices() {
        match ch {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    end = start + i + 1;
                    break;
                }
            }
            _ => {}
        }
    }
    format!("{}{}", &text[..start], &text[end..])
}

#[test]
fn binary_exit_codes_follow_the_contract() {
    let s = example_stack();
    let dir = s.path().to_str().unwrap();
    let o = run_cairn(&["validate", dir], s.path());
    assert!(o.status.success(), "{}", stderr(&o));

    let o = run_cairn(&["plan", "-C", dir, "-detailed-exitcode"], s.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stdout(&o).contains("Plan: "), "{}", stdout(&o));

    let o = run_cairn(&["apply", dir, "-auto-approve"], s.path());
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("Apply complete!"));

    // From another working directory the same state is found (paths resolve against the stack).
    let elsewhere = tempfile::tempdir().unwrap();
    let o = run_cairn(&["plan", "--chdir", dir, "--detailed-exitcode"], elsewhere.path());
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("No changes."));

    let o = run_cairn(&["check", dir], s.path());
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let o = run_cairn(&["drift", dir], s.path());
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));

    let o = run_cairn(&["-C", dir, "state", "list"], s.path());
    assert!(stdout(&o).contains("random_password.db"));
    let o = run_cairn(&["-C", dir, "output", "--json"], s.path());
    assert!(stdout(&o).contains("service_names"));
    let o = run_cairn(&["graph", dir], s.path());
    assert!(stdout(&o).starts_with("digraph"));

    let o = run_cairn(&["destroy", dir, "--auto-approve"], s.path());
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let o = run_cairn(&["-C", dir, "state", "list"], s.path());
    assert_eq!(stdout(&o).trim(), "");
}

/// Arguments reach Cairn as bytes: a path may be any bytes, and a value that must be text but
/// is not UTF-8 is an error to report, not a crash.
#[cfg(unix)]
#[test]
fn a_non_utf8_argument_is_a_path_or_a_clean_error() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let s = example_stack();
    let odd = OsStr::from_bytes(b"stack-\xe9");
    let o = run_cairn_os(&[OsStr::new("validate"), odd], s.path());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("does not exist"), "{}", stderr(&o));

    let o = run_cairn_os(&[OsStr::new("plan"), s.path().as_os_str(), OsStr::new("-var"), odd], s.path());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).starts_with("Error: the argument \"stack-\u{fffd}\" is not valid UTF-8"), "{}", stderr(&o));
}

#[test]
fn apply_without_a_terminal_needs_auto_approve() {
    let s = example_stack();
    let o = run_cairn(&["apply", s.path().to_str().unwrap()], s.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--auto-approve"), "{}", stderr(&o));
}
