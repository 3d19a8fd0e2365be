//! Done-when 3: a saved plan applies only to the state and configuration it was made from.

use crate::support::*;
use cairn::ops::{self, PlanArgs};
use cairn::providers::Registry;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saved_plan_applies_once_and_refuses_a_moved_state() {
    let s = example_stack();
    let c = common(s.path(), Registry::builtin());
    let planfile = s.path().join("first.cairnplan");

    let mut a = PlanArgs::new(c.clone());
    a.out = Some(planfile.clone());
    ops::plan(a).await.unwrap_or_else(|e| panic!("{}", describe(&e)));

    // `show` reads it back.
    let shown = ops::show(&planfile).unwrap();
    assert!(shown.counts().add > 0);

    // Unchanged: it applies.
    let mut args = apply_args(&c);
    args.planfile = Some(planfile.clone());
    let r = ops::apply(args, &mut |_| true).await.unwrap_or_else(|e| panic!("{}", describe(&e)));
    assert!(r.outcome.unwrap().failed.is_empty());

    // Applying the same plan again: the state moved on (serial changed) — refused.
    let mut args = apply_args(&c);
    args.planfile = Some(planfile.clone());
    let err = ops::apply(args, &mut |_| true).await.err().expect("stale plan must be refused");
    let msg = describe(&err);
    assert!(msg.contains("stale") && msg.contains("serial"), "{msg}");

    // A plan made now, then a config change: refused, naming the configuration.
    let second = s.path().join("second.cairnplan");
    let mut a = PlanArgs::new(with_vars(c.clone(), &["db_password_length=28"]));
    a.out = Some(second.clone());
    ops::plan(a).await.unwrap();
    s.write("extra.tf", "locals { unused = 1 }\n");
    let mut args = apply_args(&c);
    args.planfile = Some(second.clone());
    let err = ops::apply(args, &mut |_| true).await.err().expect("changed config must be refused");
    assert!(describe(&err).contains("different configuration"), "{}", describe(&err));
}

#[test]
fn binary_refuses_a_stale_plan_with_exit_1() {
    let s = example_stack();
    let dir = s.path().to_str().unwrap();
    let plan = s.path().join("p.cairnplan");
    let o = run_cairn(&["plan", dir, "-out", plan.to_str().unwrap()], s.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run_cairn(&["-C", dir, "apply", plan.to_str().unwrap()], s.path());
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let o = run_cairn(&["-C", dir, "apply", plan.to_str().unwrap()], s.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("stale"), "{}", stderr(&o));
}
