//! Plan options and lifecycle rules: moved blocks, --target, --replace, prevent_destroy,
//! ignore_changes, create_before_destroy ordering, replace_triggered_by, failing checks, state
//! commands, fmt, and Ctrl-C.

use crate::support::*;
use cairn::lang::value::Value;
use cairn::ops::{self, PlanArgs};
use cairn::plan::{Action, ActionReason};

fn two_things() -> &'static str {
    r#"
resource "fake_thing" "a" {
  name = "alpha"
  note = "v1"
}

resource "fake_thing" "b" {
  name = "beta"
  note = "after ${fake_thing.a.id}"
}
"#
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moved_block_renames_without_recreating() {
    let cloud = FakeCloud::default();
    let s = TestStack::new(&[("main.tf", two_things())]);
    let c = common(s.path(), cloud.registry());
    apply(&c).await;
    s.write(
        "main.tf",
        &two_things()
            .replace("\"fake_thing\" \"a\"", "\"fake_thing\" \"primary\"")
            .replace("fake_thing.a.id", "fake_thing.primary.id"),
    );
    s.write("moved.tf", "moved {\n  from = fake_thing.a\n  to   = fake_thing.primary\n}\n");
    let p = plan(&c).await;
    assert!(actions(&p).is_empty(), "a rename is not a change: {:?}", actions(&p));
    let moved = p.changes.iter().find(|ch| ch.addr.to_string() == "fake_thing.primary").unwrap();
    assert_eq!(moved.previous_addr.as_ref().map(|a| a.to_string()).as_deref(), Some("fake_thing.a"));
    let creates = cloud.creates.load(std::sync::atomic::Ordering::SeqCst);
    apply(&c).await;
    assert_eq!(cloud.creates.load(std::sync::atomic::Ordering::SeqCst), creates);
    let listed: Vec<String> = ops::state_list(s.path(), None).await.unwrap().iter().map(|a| a.to_string()).collect();
    assert_eq!(listed, vec!["fake_thing.b", "fake_thing.primary"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_and_replace_narrow_and_force() {
    let cloud = FakeCloud::default();
    let s = TestStack::new(&[("main.tf", two_things())]);
    let c = common(s.path(), cloud.registry());

    let mut a = PlanArgs::new(c.clone());
    a.targets = vec!["fake_thing.a".into()];
    let p = ops::plan(a).await.unwrap().plan;
    assert_eq!(actions(&p), vec![("fake_thing.a".to_string(), "create")]);

    apply(&c).await;
    let mut a = PlanArgs::new(c.clone());
    a.replace = vec!["fake_thing.a".into()];
    let p = ops::plan(a).await.unwrap().plan;
    let ch = p.changes.iter().find(|ch| ch.addr.to_string() == "fake_thing.a").unwrap();
    assert_eq!(ch.action, Action::DeleteThenCreate);
    assert_eq!(ch.reason, Some(ActionReason::ReplaceByRequest));
    // b reads a's id, which a replacement changes.
    assert_eq!(actions(&p).len(), 2, "{:?}", actions(&p));

    let mut a = PlanArgs::new(c.clone());
    a.refresh = false;
    cloud.set("alpha", "note", Value::from("edited"));
    let p = ops::plan(a).await.unwrap().plan;
    assert!(p.drift.is_empty() && !p.has_changes(), "--refresh=false reads nothing live");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prevent_destroy_and_ignore_changes() {
    let cloud = FakeCloud::default();
    let s = TestStack::new(&[(
        "main.tf",
        r#"
resource "fake_thing" "db" {
  name   = "db"
  note   = "managed"
  labels = { owner = "team" }
  lifecycle {
    prevent_destroy = true
    ignore_changes  = [labels]
  }
}
"#,
    )]);
    let c = common(s.path(), cloud.registry());
    apply(&c).await;

    // Someone relabels it: ignored, no change planned.
    cloud.set("db", "labels", Value::map([("owner", Value::from("other"))]));
    let p = plan(&c).await;
    assert!(actions(&p).is_empty(), "{:?}", actions(&p));

    // A rename would replace it: refused at plan time.
    s.write(
        "main.tf",
        &std::fs::read_to_string(s.path().join("main.tf")).unwrap().replace("name   = \"db\"", "name   = \"db2\""),
    );
    let err = ops::plan(PlanArgs::new(c.clone())).await.err().expect("prevent_destroy must stop the plan");
    let msg = describe(&err);
    assert!(msg.contains("prevent_destroy") && msg.contains("main.tf:"), "{msg}");
    // So is destroy.
    let mut a = PlanArgs::new(c.clone());
    a.mode = cairn::plan::PlanMode::Destroy;
    assert!(ops::plan(a).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_before_destroy_and_replace_triggered_by() {
    let cloud = FakeCloud::default();
    let s = TestStack::new(&[(
        "main.tf",
        r#"
variable "gen" {
  default = "1"
}

resource "fake_thing" "cert" {
  name = "cert-${var.gen}"
  lifecycle {
    create_before_destroy = true
  }
}

resource "fake_thing" "proxy" {
  name = "proxy"
  note = fake_thing.cert.id
}

resource "terraform_data" "marker" {
  input = "static"
  lifecycle {
    replace_triggered_by = [fake_thing.cert]
  }
}
"#,
    )]);
    let c = common(s.path(), cloud.registry());
    apply(&c).await;
    let c2 = with_vars(c.clone(), &["gen=2"]);
    let p = plan(&c2).await;
    let cert = p.changes.iter().find(|ch| ch.addr.to_string() == "fake_thing.cert").unwrap();
    assert_eq!(cert.action, Action::CreateThenDelete);
    assert_eq!(cert.replace_paths.iter().map(|p| p.to_string()).collect::<Vec<_>>(), vec!["name"]);
    let marker = p.changes.iter().find(|ch| ch.addr.to_string() == "terraform_data.marker").unwrap();
    assert_eq!(marker.reason, Some(ActionReason::ReplaceByTriggers));

    // Order: the new certificate exists and the proxy points at it before the old one goes.
    let events = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    struct Record(std::sync::Arc<std::sync::Mutex<Vec<String>>>);
    impl cairn::apply::Progress for Record {
        fn event(&self, e: cairn::apply::ApplyEvent) {
            if let cairn::apply::ApplyEvent::Finished { addr, action, .. } = e {
                self.0.lock().unwrap().push(format!("{addr} {action:?}"));
            }
        }
    }
    let mut args = apply_args(&c2);
    args.progress = std::sync::Arc::new(Record(events.clone()));
    let r = ops::apply(args, &mut |_| true).await.unwrap();
    assert!(r.outcome.unwrap().failed.is_empty());
    let ev = events.lock().unwrap().clone();
    let pos = |s: &str| ev.iter().position(|e| e == s).unwrap_or_else(|| panic!("{s} not in {ev:?}"));
    assert!(pos("fake_thing.cert Create") < pos("fake_thing.proxy Update"), "{ev:?}");
    assert!(pos("fake_thing.proxy Update") < pos("fake_thing.cert Delete"), "{ev:?}");
    assert_eq!(cloud.count(), 2);
}

#[test]
fn failing_check_exits_2_and_state_commands_work() {
    let s = TestStack::new(&[(
        "main.tf",
        r#"
variable "replicas" {
  default = 0
}

resource "terraform_data" "svc" {
  input = var.replicas
}

check "has_replicas" {
  assert {
    condition     = terraform_data.svc.output > 0
    error_message = "svc has ${terraform_data.svc.output} replicas"
  }
}
"#,
    )]);
    let dir = s.path().to_str().unwrap();
    let o = run_cairn(&["apply", dir, "--auto-approve"], s.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run_cairn(&["check", dir], s.path());
    assert_eq!(o.status.code(), Some(2), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("svc has 0 replicas"), "{}", stdout(&o));
    let o = run_cairn(&["check", dir, "--format", "json"], s.path());
    assert!(stdout(&o).contains("\"fail\""), "{}", stdout(&o));

    let o = run_cairn(&["-C", dir, "state", "mv", "terraform_data.svc", "terraform_data.service"], s.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run_cairn(&["-C", dir, "state", "list"], s.path());
    assert_eq!(stdout(&o).trim(), "terraform_data.service");
    let o = run_cairn(&["-C", dir, "state", "history"], s.path());
    assert!(stdout(&o).contains("state mv"), "{}", stdout(&o));
    let history = stdout(&o);
    let applied =
        history.lines().find(|l| l.split_whitespace().nth(2) == Some("apply")).unwrap_or_else(|| panic!("{history}"));
    let first = applied.split_whitespace().next().unwrap().to_string();
    let o = run_cairn(&["-C", dir, "state", "restore", &first], s.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run_cairn(&["-C", dir, "state", "rm", "terraform_data.svc"], s.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run_cairn(&["-C", dir, "state", "list"], s.path());
    assert_eq!(stdout(&o).trim(), "");
}

#[test]
fn fmt_check_reports_and_fmt_rewrites() {
    let s = TestStack::new(&[("main.tf", "resource \"terraform_data\" \"x\" {\ninput=1\n  triggers_replace = 2\n}\n")]);
    let dir = s.path().to_str().unwrap();
    let o = run_cairn(&["fmt", "--check", dir], s.path());
    assert_eq!(o.status.code(), Some(3));
    assert!(stdout(&o).contains("main.tf"));
    let o = run_cairn(&["fmt", dir], s.path());
    assert_eq!(o.status.code(), Some(0));
    let text = std::fs::read_to_string(s.path().join("main.tf")).unwrap();
    assert_eq!(text, "resource \"terraform_data\" \"x\" {\n  input            = 1\n  triggers_replace = 2\n}\n");
    let o = run_cairn(&["fmt", "--check", dir], s.path());
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn first_interrupt_finishes_in_flight_work_and_stops() {
    let s = TestStack::new(&[(
        "main.tf",
        "resource \"terraform_data\" \"n\" {\n  count = 4000\n  input = count.index\n}\n",
    )]);
    let dir = s.path().to_str().unwrap();
    let child = std::process::Command::new(cairn_bin())
        .args(["apply", dir, "--auto-approve"])
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let o = child.wait_with_output().unwrap();
    let err = stderr(&o);
    if o.status.code() == Some(0) {
        // The apply finished before the signal landed; nothing to check on this machine.
        return;
    }
    assert_eq!(o.status.code(), Some(1), "{err}");
    // On a loaded machine the signal can land while the apply is still planning: then the
    // command is cancelled before any step starts (and says so); otherwise the steps in flight
    // finish and the apply reports itself interrupted. Either way nothing is lost.
    let cancelled_before_steps = err.contains("operation stopped before it changed anything");
    assert!(cancelled_before_steps || (err.contains("Interrupt received") && err.contains("interrupted")), "{err}");
    if cancelled_before_steps {
        let o = run_cairn(&["-C", dir, "state", "list"], s.path());
        assert_eq!(stdout(&o).lines().count(), 0, "a cancelled apply changed nothing");
    }
    // What completed is in state; a rerun finishes the rest.
    let o = run_cairn(&["apply", dir, "--auto-approve"], s.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run_cairn(&["-C", dir, "state", "list"], s.path());
    assert_eq!(stdout(&o).lines().count(), 4000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_stops_only_its_dependents() {
    let cloud = FakeCloud::default();
    let s = TestStack::new(&[(
        "main.tf",
        r#"
resource "fake_thing" "bad" {
  name = "fail-me"
}

resource "fake_thing" "child" {
  name = "child"
  note = fake_thing.bad.id
}

resource "fake_thing" "independent" {
  name = "independent"
}
"#,
    )]);
    let c = common(s.path(), cloud.registry());
    let r = ops::apply(apply_args(&c), &mut |_| true).await.unwrap_or_else(|e| panic!("{}", describe(&e)));
    let o = r.outcome.expect("ran");
    assert_eq!(o.failed.iter().map(|(a, _)| a.to_string()).collect::<Vec<_>>(), vec!["fake_thing.bad"]);
    assert!(o.failed[0].1.contains("fake.things.create") && o.failed[0].1.contains("refuses"), "{:?}", o.failed);
    assert_eq!(o.skipped.iter().map(|a| a.to_string()).collect::<Vec<_>>(), vec!["fake_thing.child"]);
    assert_eq!(o.succeeded.iter().map(|(a, _)| a.to_string()).collect::<Vec<_>>(), vec!["fake_thing.independent"]);
    let listed: Vec<String> = ops::state_list(s.path(), None).await.unwrap().iter().map(|a| a.to_string()).collect();
    assert_eq!(listed, vec!["fake_thing.independent"]);

    // Fixing the cause and re-running converges.
    s.write("main.tf", &std::fs::read_to_string(s.path().join("main.tf")).unwrap().replace("fail-me", "fixed"));
    apply(&c).await;
    assert_eq!(cloud.count(), 3);
    assert!(!plan(&c).await.has_changes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replacing_an_object_in_use_warns_before_anything_runs() {
    let cloud = FakeCloud::default();
    let stack = r#"
variable "gen" {
  default = "1"
}

resource "fake_thing" "cert" {
  name = "cert-${var.gen}"
}

resource "fake_thing" "proxy" {
  name = "proxy"
  note = fake_thing.cert.name
}
"#;
    let s = TestStack::new(&[("main.tf", stack)]);
    let c = common(s.path(), cloud.registry());
    apply(&c).await;
    let p = plan(&with_vars(c.clone(), &["gen=2"])).await;
    let cert = p.changes.iter().find(|ch| ch.addr.to_string() == "fake_thing.cert").unwrap();
    assert_eq!(cert.action, Action::DeleteThenCreate);
    assert!(
        cert.warnings.iter().any(|w| w.contains("fake_thing.proxy") && w.contains("create_before_destroy")),
        "{:?}",
        cert.warnings
    );
    let text = cairn::cli::render::text::plan_text(&p, &cairn::cli::render::RenderOptions { color: false });
    assert!(text.contains("create_before_destroy"), "{text}");

    // With create_before_destroy there is nothing to warn about.
    s.write(
        "main.tf",
        &stack.replace(
            "name = \"cert-${var.gen}\"",
            "name = \"cert-${var.gen}\"\n  lifecycle {\n    create_before_destroy = true\n  }",
        ),
    );
    let p = plan(&with_vars(c.clone(), &["gen=2"])).await;
    let cert = p.changes.iter().find(|ch| ch.addr.to_string() == "fake_thing.cert").unwrap();
    assert_eq!(cert.action, Action::CreateThenDelete);
    assert!(cert.warnings.is_empty(), "{:?}", cert.warnings);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_of_a_secret_generated_earlier_is_refused_at_plan_time() {
    let s = TestStack::new(&[(
        "main.tf",
        r#"
resource "random_password" "p" {
  length  = 20
  special = false
}
"#,
    )]);
    let c = common(s.path(), cairn::providers::Registry::builtin());
    apply(&c).await;
    // A consumer added later cannot receive the value: it was never stored.
    s.write("consumer.tf", "resource \"terraform_data\" \"uses\" {\n  input = random_password.p.result\n}\n");
    let err = ops::plan(PlanArgs::new(c.clone())).await.err().expect("refused at plan time");
    let msg = describe(&err);
    assert!(
        msg.contains("terraform_data.uses needs the value of random_password.p.result")
            && msg.contains("consumer.tf:2:3")
            && msg.contains("--replace"),
        "{msg}"
    );
    // Regenerating it in the same apply is the fix.
    let mut a = apply_args(&c);
    a.plan.replace = vec!["random_password.p".into()];
    let r = ops::apply(a, &mut |_| true).await.unwrap_or_else(|e| panic!("{}", describe(&e)));
    assert!(r.outcome.unwrap().failed.is_empty());
    assert!(!plan(&c).await.has_changes());
}
