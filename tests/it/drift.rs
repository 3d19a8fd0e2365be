//! Done-when 2: drift, refresh and import against a provider whose live objects the test
//! changes behind Cairn's back.

use crate::support::*;
use cairn::lang::value::Value;
use cairn::ops;
use cairn::plan::{Action, PlanMode};

const STACK: &str = r#"
resource "fake_thing" "a" {
  name   = "alpha"
  size   = 2
  labels = { team = "platform" }
}

resource "fake_thing" "b" {
  name = "beta"
  note = "depends on ${fake_thing.a.id}"
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_is_reported_apart_from_changes() {
    let cloud = FakeCloud::default();
    let s = TestStack::new(&[("main.tf", STACK)]);
    let c = common(s.path(), cloud.registry());
    apply(&c).await;
    assert_eq!(cloud.count(), 2);

    let drift = plan_mode(&c, PlanMode::RefreshOnly).await;
    assert!(drift.drift.is_empty());

    // Someone edits alpha in the console.
    cloud.set("alpha", "size", Value::from(5));
    cloud.set("alpha", "labels", Value::map([("team", Value::from("data"))]));

    let drift = plan_mode(&c, PlanMode::RefreshOnly).await;
    assert_eq!(drift.drift.len(), 1);
    let d = &drift.drift[0];
    assert_eq!(d.addr.to_string(), "fake_thing.a");
    let paths: Vec<String> = d.changed_paths.iter().map(|p| p.to_string()).collect();
    assert_eq!(paths, vec!["labels.team", "size"]);

    // The normal plan shows the drift and, separately, the change that undoes it.
    let p = plan(&c).await;
    assert_eq!(p.drift.len(), 1);
    assert_eq!(actions(&p), vec![("fake_thing.a".to_string(), "update")]);

    // The binary-level contract for drift exit codes is covered with built-in resources in
    // engine.rs; here the ops result carries it.
    let text = cairn::cli::render::text::drift_text(&drift, &cairn::cli::render::RenderOptions { color: false });
    assert!(text.contains("fake_thing.a"), "{text}");
    assert!(text.contains("size"), "{text}");

    // Apply converges; then nothing drifts.
    apply(&c).await;
    let p = plan(&c).await;
    assert!(!p.has_changes() && p.drift.is_empty(), "{:?}", actions(&p));

    // An object deleted outside Cairn is drift, and the plan recreates it.
    cloud.delete("beta");
    let p = plan(&c).await;
    assert_eq!(
        p.drift.iter().map(|d| (d.addr.to_string(), d.action)).collect::<Vec<_>>(),
        vec![("fake_thing.b".to_string(), Action::Delete)]
    );
    assert_eq!(actions(&p), vec![("fake_thing.b".to_string(), "create")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_reads_each_type_once() {
    let cloud = FakeCloud::default();
    let s = TestStack::new(&[(
        "main.tf",
        r#"
resource "fake_thing" "many" {
  count = 25
  name  = "thing-${count.index}"
}
"#,
    )]);
    let c = common(s.path(), cloud.registry());
    apply(&c).await;
    let before = cloud.reads.load(std::sync::atomic::Ordering::SeqCst);
    plan(&c).await;
    let after = cloud.reads.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(after - before, 1, "refresh of 25 instances of one type should be one read_many call");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_block_and_import_command_adopt_existing_objects() {
    let cloud = FakeCloud::default();
    // Two objects exist already, made by someone else.
    let seed = TestStack::new(&[(
        "main.tf",
        r#"
resource "fake_thing" "x" { name = "existing-x" }
resource "fake_thing" "y" { name = "existing-y" }
"#,
    )]);
    apply(&common(seed.path(), cloud.registry())).await;
    let id_of = |name: &str| {
        cloud
            .objects
            .lock()
            .unwrap()
            .iter()
            .find(|(_, o)| o.get("name").and_then(|n| n.as_str()) == Some(name))
            .map(|(id, _)| id.clone())
            .unwrap()
    };
    let ids = [id_of("existing-x"), id_of("existing-y")];
    let creates_before = cloud.creates.load(std::sync::atomic::Ordering::SeqCst);

    let s = TestStack::new(&[(
        "main.tf",
        &format!(
            r#"
import {{
  to = fake_thing.x
  id = "{}"
}}
resource "fake_thing" "x" {{ name = "existing-x" }}
resource "fake_thing" "y" {{ name = "existing-y" }}
"#,
            ids[0]
        ),
    )]);
    let c = common(s.path(), cloud.registry());
    let p = plan(&c).await;
    let x = p.changes.iter().find(|ch| ch.addr.to_string() == "fake_thing.x").unwrap();
    assert_eq!(x.importing.as_ref().and_then(|v| v.as_str()), Some(ids[0].as_str()));
    assert_eq!(x.action, Action::NoOp);
    assert_eq!(p.counts().import, 1);

    // `cairn import` for the other one.
    ops::import(&c, "fake_thing.y", &ids[1]).await.unwrap_or_else(|e| panic!("{}", describe(&e)));
    apply(&c).await;
    assert_eq!(cloud.creates.load(std::sync::atomic::Ordering::SeqCst), creates_before, "nothing may be created");
    let listed: Vec<String> = ops::state_list(s.path(), None).await.unwrap().iter().map(|a| a.to_string()).collect();
    assert_eq!(listed, vec!["fake_thing.x", "fake_thing.y"]);
    let p = plan(&c).await;
    assert!(!p.has_changes());
}

/// Issue 11: apply plans each step again with the values known by then and refuses to send a
/// value that contradicts what the plan showed as known.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_refuses_an_inconsistent_final_plan() {
    let cloud = FakeCloud::default();
    let s = TestStack::new(&[(
        "main.tf",
        r#"
resource "fake_thing" "a" {
  name = "alpha"
}

resource "fake_thing" "b" {
  name = "beta-${fake_thing.a.id}"
}
"#,
    )]);
    let c = common(s.path(), cloud.registry());
    cloud.unstable_plans.store(1, std::sync::atomic::Ordering::SeqCst);
    let r = ops::apply(apply_args(&c), &mut |_| true).await.expect("the apply runs and reports the failed step");
    let planned_note = r.plan.changes.iter().find(|c| c.addr.to_string() == "fake_thing.a").unwrap();
    assert!(planned_note.after.as_ref().and_then(|a| a.get("note")).is_some_and(|n| n.is_wholly_known()));
    let o = r.outcome.expect("applied");
    assert_eq!(o.failed.len(), 1, "{:?}", o.failed);
    let (addr, message) = &o.failed[0];
    assert_eq!(addr.to_string(), "fake_thing.a");
    assert!(
        message.contains("fake_thing.a")
            && message.contains("inconsistent final plan")
            && message.contains("attribute note: the plan showed \"planned 1\", but it is now \"planned ")
            && message.contains("nothing was sent"),
        "{message}"
    );
    // Nothing was created, its dependent was not attempted, and state holds nothing.
    assert_eq!(cloud.creates.load(std::sync::atomic::Ordering::SeqCst), 0);
    assert_eq!(o.skipped.iter().map(ToString::to_string).collect::<Vec<_>>(), vec!["fake_thing.b"]);
    assert!(o.state.resources.is_empty(), "{:?}", o.state.resources.keys().collect::<Vec<_>>());

    // A provider that plans consistently applies the same configuration.
    cloud.unstable_plans.store(0, std::sync::atomic::Ordering::SeqCst);
    apply(&c).await;
    assert_eq!(cloud.count(), 2);
}
