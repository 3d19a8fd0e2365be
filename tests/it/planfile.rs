//! Done-when 3: a saved plan applies only to the state and configuration it was made from.

use crate::support::*;
use cairn::lang::value::Value;
use cairn::ops::{self, PlanArgs};
use cairn::plan::file::{PlanFile, PlanKey};
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

// Issue 14 §1: a saved plan is trusted only when this state's holders signed it, and applies
// only what was planned and reviewed.

const SIGNED_STACK: &str = r#"
variable "size" {
  type    = number
  default = 1
}

variable "token" {
  type      = string
  sensitive = true
  default   = "first-token"
}

resource "fake_thing" "a" {
  name   = "alpha"
  size   = var.size
  secret = var.token
}
"#;

/// A stack applied once (`fake_thing.a`, size 1), and its plan to size 2 saved in `name`.
async fn applied_then_planned(cloud: &FakeCloud, name: &str) -> (TestStack, cairn::ops::Common, std::path::PathBuf) {
    let s = TestStack::new(&[("main.tf", SIGNED_STACK)]);
    let c = common(s.path(), cloud.registry());
    apply(&c).await;
    let planfile = s.path().join(name);
    save_plan(&with_vars(c.clone(), &["size=2"]), &planfile).await;
    (s, c, planfile)
}

async fn save_plan(c: &cairn::ops::Common, out: &std::path::Path) {
    let mut a = PlanArgs::new(c.clone());
    a.out = Some(out.to_path_buf());
    ops::plan(a).await.unwrap_or_else(|e| panic!("{}", describe(&e)));
}

async fn apply_saved(c: &cairn::ops::Common, planfile: &std::path::Path, reviewed: Option<&std::path::Path>) -> String {
    let mut args = apply_args(c);
    args.planfile = Some(planfile.to_path_buf());
    args.reviewed_planfile = reviewed.map(|p| p.to_path_buf());
    let err = ops::apply(args, &mut |_| true).await.err().expect("the plan must be refused");
    describe(&err)
}

/// Edits the plan file's JSON as an attacker would (the signature left as it was).
fn edit_json(path: &std::path::Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let mut json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let signature = json.as_object_mut().and_then(|m| m.shift_remove("signature")).expect("a signed plan");
    edit(&mut json);
    if let Some(m) = json.as_object_mut() {
        m.insert("signature".into(), signature);
    }
    std::fs::write(path, format!("{}\n", serde_json::to_string_pretty(&json).unwrap())).unwrap();
}

/// Edits the plan and signs it again with the stack's own key, through Cairn's own writer:
/// what only a holder of the state could do.
async fn edit_and_resign(dir: &std::path::Path, path: &std::path::Path, edit: impl FnOnce(&mut PlanFile)) {
    let secret = ops::open_store_for_dir(dir).unwrap().fingerprint_key().await.unwrap();
    let mut pf = cairn::plan::file::read(path, &PlanKey::derive(&secret)).expect("verifies before the edit");
    edit(&mut pf);
    cairn::plan::file::write(path, &pf, &PlanKey::derive(&secret)).unwrap();
}

fn live_size(cloud: &FakeCloud) -> Option<f64> {
    let objs = cloud.objects.lock().unwrap();
    objs.values()
        .find(|o| o.get("name").and_then(|n| n.as_str()) == Some("alpha"))
        .and_then(|o| o.get("size"))
        .and_then(|v| v.as_f64())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_variable_is_refused_by_the_signature_and_by_the_review() {
    let cloud = FakeCloud::default();
    let (s, c, fresh) = applied_then_planned(&cloud, "fresh.cairnplan").await;
    let reviewed = s.path().join("reviewed.cairnplan");
    std::fs::copy(&fresh, &reviewed).unwrap();

    edit_json(&fresh, |j| j["variables"]["size"] = serde_json::json!(7));
    let msg = apply_saved(&c, &fresh, Some(&reviewed)).await;
    assert!(msg.contains("signature") && msg.contains("re-plan"), "{msg}");

    // Signed again by a key holder: the signature passes, the full compare does not.
    save_plan(&with_vars(c.clone(), &["size=2"]), &fresh).await;
    edit_and_resign(s.path(), &fresh, |pf| {
        pf.variables.insert("size".into(), serde_json::json!(7));
    })
    .await;
    let msg = apply_saved(&c, &fresh, Some(&reviewed)).await;
    assert!(msg.contains("does not make the changes of the reviewed plan"), "{msg}");
    assert!(msg.contains("fake_thing.a: size"), "names the address and attribute: {msg}");
    // Without --reviewed-plan, the saved plan's own changes are the reference.
    let msg = apply_saved(&c, &fresh, None).await;
    assert!(msg.contains("no longer matches") && msg.contains("fake_thing.a: size"), "{msg}");
    assert_eq!(live_size(&cloud), Some(1.0), "nothing was applied");
    assert_eq!(cloud.creates.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_resource_added_to_the_prior_state_is_refused_before_any_call() {
    let cloud = FakeCloud::default();
    let (s, c, planfile) = applied_then_planned(&cloud, "p.cairnplan").await;
    // An object the stack never managed.
    cloud.objects.lock().unwrap().insert(
        "victim-id".into(),
        Value::object(
            [("name".to_string(), Value::from("victim")), ("id".to_string(), Value::from("victim-id"))]
                .into_iter()
                .collect(),
        ),
    );
    let reads_before = cloud.reads.load(std::sync::atomic::Ordering::SeqCst);
    edit_json(&planfile, |j| {
        let mut victim = j["prior_state"]["resources"]["fake_thing.a"].clone();
        victim["attributes"]["name"] = "victim".into();
        victim["attributes"]["id"] = "victim-id".into();
        j["prior_state"]["resources"]["fake_thing.victim"] = victim;
        let mut delete = j["changes"][0].clone();
        delete["addr"] = "fake_thing.victim".into();
        delete["action"] = "Delete".into();
        j["changes"].as_array_mut().unwrap().push(delete);
    });
    let msg = apply_saved(&c, &planfile, None).await;
    assert!(msg.contains("signature"), "{msg}");
    assert_eq!(cloud.count(), 2, "the victim is still there");
    assert_eq!(cloud.reads.load(std::sync::atomic::Ordering::SeqCst), reads_before, "no call reached the provider");
    assert_eq!(live_size(&cloud), Some(1.0));
    drop(s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_plan_is_refused() {
    let cloud = FakeCloud::default();
    let (_s, c, planfile) = applied_then_planned(&cloud, "p.cairnplan").await;
    let text = std::fs::read_to_string(&planfile).unwrap();
    for cut in [text.len() / 2, text.len() - 1] {
        std::fs::write(&planfile, &text[..cut]).unwrap();
        let msg = apply_saved(&c, &planfile, None).await;
        assert!(msg.contains("cut short or damaged") && msg.contains("re-plan"), "cut at {cut}: {msg}");
    }
    assert_eq!(live_size(&cloud), Some(1.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_from_another_stacks_state_is_refused() {
    let cloud = FakeCloud::default();
    let (_a, c_a, _) = applied_then_planned(&cloud, "p.cairnplan").await;
    let (_b, _, from_b) = applied_then_planned(&cloud, "p.cairnplan").await;
    let msg = apply_saved(&c_a, &from_b, None).await;
    assert!(msg.contains("another stack's state") && msg.contains("it names state"), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_changed_without_a_serial_bump_is_refused() {
    let cloud = FakeCloud::default();
    let (s, c, planfile) = applied_then_planned(&cloud, "p.cairnplan").await;
    // Two states with one lineage and one serial but different content: the plan is made
    // against one, and the other is restored over it before the apply.
    let state_dir = s.path().join("state");
    let snapshot = s.path().join("snapshot");
    let other = s.path().join("other");
    copy_tree(&state_dir, &snapshot);
    let serial = rewrite_state(s.path(), true).await;
    copy_tree(&state_dir, &other);
    std::fs::remove_dir_all(&state_dir).unwrap();
    copy_tree(&snapshot, &state_dir);
    assert_eq!(rewrite_state(s.path(), false).await, serial);
    save_plan(&with_vars(c.clone(), &["size=2"]), &planfile).await;
    std::fs::remove_dir_all(&state_dir).unwrap();
    copy_tree(&other, &state_dir);
    let msg = apply_saved(&c, &planfile, None).await;
    assert!(msg.contains("stale") && msg.contains("without its serial moving"), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_secret_differs_by_mark_without_its_value() {
    let cloud = FakeCloud::default();
    let (s, c, reviewed) = applied_then_planned(&cloud, "reviewed.cairnplan").await;
    let fresh = s.path().join("fresh.cairnplan");
    save_plan(&with_vars(c.clone(), &["size=2", "token=second-token"]), &fresh).await;
    let msg = apply_saved(&with_vars(c.clone(), &["token=second-token"]), &fresh, Some(&reviewed)).await;
    assert!(msg.contains("fake_thing.a: secret") && msg.contains("compared by fingerprint"), "{msg}");
    assert!(!msg.contains("first-token") && !msg.contains("second-token"), "{msg}");
    for f in [&fresh, &reviewed] {
        let text = std::fs::read_to_string(f).unwrap();
        assert!(!text.contains("first-token") && !text.contains("second-token"));
    }
}

/// An edit of a plan file's JSON.
type JsonEdit = dyn Fn(&mut serde_json::Value);

/// Every field apply reads from a plan file is under the signature.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_field_apply_trusts_is_signed() {
    let cloud = FakeCloud::default();
    let (_s, c, planfile) = applied_then_planned(&cloud, "p.cairnplan").await;
    let original = std::fs::read_to_string(&planfile).unwrap();
    let edits: Vec<(&str, Box<JsonEdit>)> = vec![
        ("mode", Box::new(|j| j["mode"] = "Destroy".into())),
        ("targets", Box::new(|j| j["targets"] = serde_json::json!(["fake_thing.a"]))),
        ("replace", Box::new(|j| j["replace"] = serde_json::json!(["fake_thing.a"]))),
        ("variables", Box::new(|j| j["variables"]["size"] = 3.into())),
        ("prior_state", Box::new(|j| j["prior_state"]["resources"] = serde_json::json!({}))),
        ("changes", Box::new(|j| j["changes"] = serde_json::json!([]))),
        ("lineage", Box::new(|j| j["lineage"] = "00000000-0000-0000-0000-000000000000".into())),
        ("serial", Box::new(|j| j["serial"] = 0.into())),
        ("config_hash", Box::new(|j| j["config_hash"] = "0".into())),
        ("state_digest", Box::new(|j| j["state_digest"] = "sha256:00".into())),
    ];
    for (field, edit) in edits {
        std::fs::write(&planfile, &original).unwrap();
        edit_json(&planfile, edit);
        let msg = apply_saved(&c, &planfile, None).await;
        assert!(msg.contains("signature"), "{field}: {msg}");
    }
    // The version is read first: a file that says it is format 1 is an older Cairn's.
    std::fs::write(&planfile, &original).unwrap();
    edit_json(&planfile, |j| j["format_version"] = 1.into());
    let msg = apply_saved(&c, &planfile, None).await;
    assert!(msg.contains("older Cairn") && msg.contains("re-plan"), "{msg}");
    assert_eq!(live_size(&cloud), Some(1.0));
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// Writes the first resource back changed (its dependencies when `dep`, else its
/// create_before_destroy flag) at the next serial, which it returns.
async fn rewrite_state(dir: &std::path::Path, dep: bool) -> u64 {
    let store = ops::open_store_for_dir(dir).unwrap();
    let state = store.load().await.unwrap().expect("a state");
    let (addr, mut r) = state.resources.iter().next().map(|(a, r)| (a.clone(), r.clone())).unwrap();
    if dep {
        r.dependencies = r.dependencies.iter().chain([&addr]).cloned().collect();
    } else {
        r.create_before_destroy = !r.create_before_destroy;
    }
    store.write_resources(&state.lineage, state.serial + 1, &[(addr, Some(r))]).await.unwrap();
    state.serial + 1
}

// The same refusals against the emulator, whose request log shows that a refused plan reaches
// no API at all: not a read, not a refresh, not an operation poll.

const EMULATED_STACK: &str = r#"
provider "google" {
  project = "cairn-test"
  region  = "us-central1"
}

variable "team" {
  type    = string
  default = "platform"
}

resource "google_secret_manager_secret" "s" {
  secret_id = "app-config"
  labels = {
    team = var.team
  }
  replication {
    auto {}
  }
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_plan_file_is_refused_before_any_api_call() {
    use cairn::emulator::{Emulator, EmulatorConfig};
    use cairn::providers::google::GoogleOptions;
    let emu = Emulator::start(EmulatorConfig::for_tests()).await.expect("start the emulator");
    let s = TestStack::new(&[("main.tf", EMULATED_STACK)]);
    let c =
        common(s.path(), Registry::standard(GoogleOptions { emulator: Some(emu.endpoint()), ..Default::default() }));
    apply(&c).await;
    let fresh = s.path().join("fresh.cairnplan");
    let reviewed = s.path().join("reviewed.cairnplan");
    save_plan(&with_vars(c.clone(), &["team=data"]), &fresh).await;
    std::fs::copy(&fresh, &reviewed).unwrap();
    assert!(!emu.requests().is_empty(), "the apply and the plan talked to the emulator");

    // An edited variable: the signature no longer matches.
    edit_json(&fresh, |j| j["variables"]["team"] = serde_json::json!("attacker"));
    emu.clear_requests();
    let msg = apply_saved(&c, &fresh, Some(&reviewed)).await;
    assert!(msg.contains("signature") && msg.contains("re-plan"), "{msg}");
    assert_eq!(emu.requests().len(), 0, "a refused plan made requests: {:?}", emu.requests());

    // A foreign object slipped into the prior state with a delete for it.
    std::fs::copy(&reviewed, &fresh).unwrap();
    edit_json(&fresh, |j| {
        let resources = &mut j["prior_state"]["resources"];
        let mut victim = resources["google_secret_manager_secret.s"].clone();
        victim["attributes"]["secret_id"] = "victim".into();
        victim["attributes"]["name"] = "projects/cairn-test/secrets/victim".into();
        victim["attributes"]["id"] = "projects/cairn-test/secrets/victim".into();
        resources["google_secret_manager_secret.victim"] = victim;
        let mut delete = j["changes"][0].clone();
        delete["addr"] = "google_secret_manager_secret.victim".into();
        delete["action"] = "Delete".into();
        j["changes"].as_array_mut().unwrap().push(delete);
    });
    emu.clear_requests();
    let msg = apply_saved(&c, &fresh, None).await;
    assert!(msg.contains("signature"), "{msg}");
    assert_eq!(emu.requests().len(), 0, "a refused plan made requests: {:?}", emu.requests());

    // Re-signed by a key holder: the signature passes, the compare with the review refuses,
    // still before any call.
    std::fs::copy(&reviewed, &fresh).unwrap();
    edit_and_resign(s.path(), &fresh, |pf| {
        pf.variables.insert("team".into(), serde_json::json!("attacker"));
    })
    .await;
    emu.clear_requests();
    let msg = apply_saved(&c, &fresh, Some(&reviewed)).await;
    assert!(msg.contains("does not make the changes of the reviewed plan"), "{msg}");
    assert_eq!(emu.requests().len(), 0, "a refused plan made requests: {:?}", emu.requests());

    // The untouched plan still applies, through the emulator.
    let mut args = apply_args(&c);
    args.planfile = Some(reviewed.clone());
    ops::apply(args, &mut |_| true).await.unwrap_or_else(|e| panic!("{}", describe(&e)));
    assert!(!emu.requests().is_empty());
    emu.shutdown().await;
}

// Issue 15: format 3 records the plan's time (plantimestamp()); a signed plan of the format
// before it still applies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_format_2_plan_still_applies() {
    let cloud = FakeCloud::default();
    let (s, c, planfile) = applied_then_planned(&cloud, "old.cairnplan").await;
    edit_and_resign(s.path(), &planfile, |pf| {
        assert!(pf.plan_timestamp.is_some(), "a format 3 plan records its time");
        pf.format_version = 2;
        pf.plan_timestamp = None;
    })
    .await;
    let text = std::fs::read_to_string(&planfile).unwrap();
    assert!(text.contains("\"format_version\": 2") && !text.contains("plan_timestamp"), "{text}");
    let mut args = apply_args(&c);
    args.planfile = Some(planfile.clone());
    let r = ops::apply(args, &mut |_| true).await.unwrap_or_else(|e| panic!("{}", describe(&e)));
    assert!(r.outcome.expect("applied").failed.is_empty());
    assert_eq!(live_size(&cloud), Some(2.0), "the old plan's change was applied");
}
