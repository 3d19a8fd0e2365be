//! Issue 16, "Module expansion": `count`/`for_each` on module blocks, module instance
//! addresses in state, plans, `--target`, `state mv`/`rm`, moved blocks, and `depends_on` on
//! module calls.

use crate::support::*;
use cairn::ops::{self, PlanArgs};
use cairn::plan::ActionReason;

/// A module with one `fake_thing` named after its input, and an output.
const SVC: &str = r#"
variable "name" {
  type = string
}

variable "size" {
  type    = number
  default = 1
}

resource "fake_thing" "x" {
  name = var.name
  size = var.size
}

output "id" {
  value = fake_thing.x.id
}
"#;

fn root(names: &str) -> String {
    format!(
        r#"
variable "names" {{
  type    = map(number)
  default = {names}
}}

module "svc" {{
  source   = "./svc"
  for_each = var.names
  name     = "svc-${{each.key}}"
  size     = each.value
}}

output "ids" {{
  value = {{ for k, m in module.svc : k => m.id }}
}}
"#
    )
}

fn listed(addrs: &[cairn::addr::InstanceAddr]) -> Vec<String> {
    addrs.iter().map(ToString::to_string).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_for_each_module_adds_and_removes_instances_as_the_map_changes() {
    let cloud = FakeCloud::default();
    let s = TestStack::new(&[("main.tf", &root(r#"{ auth = 1, web = 2 }"#)), ("svc/main.tf", SVC)]);
    let c = common(s.path(), cloud.registry());

    let p = plan(&c).await;
    assert_eq!(
        actions(&p),
        vec![
            ("module.svc[\"auth\"].fake_thing.x".to_string(), "create"),
            ("module.svc[\"web\"].fake_thing.x".to_string(), "create"),
        ]
    );
    let web = p.changes.iter().find(|ch| ch.addr.to_string() == "module.svc[\"web\"].fake_thing.x").unwrap();
    let after = web.after.as_ref().unwrap();
    assert_eq!(after.get("name").and_then(|v| v.as_str()), Some("svc-web"), "each.key reaches the instance");
    assert_eq!(after.get("size").and_then(|v| v.as_f64()), Some(2.0), "each.value reaches the instance");

    let r = apply(&c).await;
    assert_eq!(cloud.count(), 2);
    let ids = &r.outcome.as_ref().unwrap().outputs["ids"].0;
    assert!(ids.get("auth").and_then(|v| v.as_str()).is_some_and(|s| !s.is_empty()), "module.svc is a map: {ids:?}");
    assert!(ids.get("web").is_some(), "{ids:?}");
    let state = ops::state_list(s.path(), None).await.unwrap();
    assert_eq!(listed(&state), vec!["module.svc[\"auth\"].fake_thing.x", "module.svc[\"web\"].fake_thing.x"]);

    // A converged stack plans nothing.
    assert!(actions(&plan(&c).await).is_empty());

    // One key leaves, one arrives: only those two instances change.
    s.write("main.tf", &root(r#"{ auth = 1, api = 3 }"#));
    let p = plan(&c).await;
    assert_eq!(
        actions(&p),
        vec![
            ("module.svc[\"api\"].fake_thing.x".to_string(), "create"),
            ("module.svc[\"web\"].fake_thing.x".to_string(), "delete"),
        ]
    );
    let gone = p.changes.iter().find(|ch| ch.addr.to_string() == "module.svc[\"web\"].fake_thing.x").unwrap();
    assert_eq!(gone.reason, Some(ActionReason::DeleteBecauseNoModule));
    apply(&c).await;
    let state = ops::state_list(s.path(), None).await.unwrap();
    assert_eq!(listed(&state), vec!["module.svc[\"api\"].fake_thing.x", "module.svc[\"auth\"].fake_thing.x"]);
    assert_eq!(cloud.count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_counted_modules_inside_a_for_each_module_are_addressed_by_both_keys() {
    let cloud = FakeCloud::default();
    let outer = r#"
variable "prefix" {
  type = string
}

module "inner" {
  source = "../inner"
  count  = 2
  name   = "${var.prefix}-${count.index}"
}

output "names" {
  value = module.inner[*].name
}
"#;
    let inner = r#"
variable "name" {
  type = string
}

resource "terraform_data" "t" {
  input = var.name
}

output "name" {
  value = terraform_data.t.output
}
"#;
    let main = r#"
module "outer" {
  source   = "./outer"
  for_each = toset(["a", "b"])
  prefix   = each.key
}

output "all" {
  value = flatten([for m in module.outer : m.names])
}
"#;
    let s = TestStack::new(&[("main.tf", main), ("outer/main.tf", outer), ("inner/main.tf", inner)]);
    let c = common(s.path(), cloud.registry());
    let r = apply(&c).await;
    let state = ops::state_list(s.path(), None).await.unwrap();
    assert_eq!(
        listed(&state),
        vec![
            "module.outer[\"a\"].module.inner[0].terraform_data.t",
            "module.outer[\"a\"].module.inner[1].terraform_data.t",
            "module.outer[\"b\"].module.inner[0].terraform_data.t",
            "module.outer[\"b\"].module.inner[1].terraform_data.t",
        ]
    );
    let all = &r.outcome.as_ref().unwrap().outputs["all"].0;
    assert_eq!(all.to_json(), serde_json::json!(["a-0", "a-1", "b-0", "b-1"]));
    // `state show` reads a nested instance address.
    let (addr, _) = ops::state_show(s.path(), "module.outer[\"b\"].module.inner[1].terraform_data.t").await.unwrap();
    assert_eq!(addr.to_string(), "module.outer[\"b\"].module.inner[1].terraform_data.t");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_block_from_a_module_to_a_module_instance_does_not_recreate() {
    let cloud = FakeCloud::default();
    let single = "module \"a\" {\n  source = \"./svc\"\n  name   = \"one\"\n}\n";
    let s = TestStack::new(&[("main.tf", single), ("svc/main.tf", SVC)]);
    let c = common(s.path(), cloud.registry());
    apply(&c).await;
    let creates = cloud.creates.load(std::sync::atomic::Ordering::SeqCst);

    s.write(
        "main.tf",
        "module \"b\" {\n  source   = \"./svc\"\n  for_each = toset([\"x\"])\n  name     = \"one\"\n}\n\nmoved {\n  from = module.a\n  to   = module.b[\"x\"]\n}\n",
    );
    let p = plan(&c).await;
    assert!(actions(&p).is_empty(), "a move is not a change: {:?}", actions(&p));
    let moved = p.changes.iter().find(|ch| ch.addr.to_string() == "module.b[\"x\"].fake_thing.x").unwrap();
    assert_eq!(moved.previous_addr.as_ref().map(ToString::to_string).as_deref(), Some("module.a.fake_thing.x"));
    apply(&c).await;
    assert_eq!(cloud.creates.load(std::sync::atomic::Ordering::SeqCst), creates, "nothing was recreated");

    // Between instances of one call: the key changes, the object stays.
    s.write(
        "main.tf",
        "module \"b\" {\n  source   = \"./svc\"\n  for_each = toset([\"y\"])\n  name     = \"one\"\n}\n\nmoved {\n  from = module.b[\"x\"]\n  to   = module.b[\"y\"]\n}\n",
    );
    let p = plan(&c).await;
    assert!(actions(&p).is_empty(), "{:?}", actions(&p));
    apply(&c).await;
    assert_eq!(cloud.creates.load(std::sync::atomic::Ordering::SeqCst), creates);
    let state = ops::state_list(s.path(), None).await.unwrap();
    assert_eq!(listed(&state), vec!["module.b[\"y\"].fake_thing.x"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_and_state_commands_take_module_instance_addresses() {
    let cloud = FakeCloud::default();
    let s = TestStack::new(&[("main.tf", &root(r#"{ auth = 1, web = 2 }"#)), ("svc/main.tf", SVC)]);
    let c = common(s.path(), cloud.registry());

    let mut a = PlanArgs::new(c.clone());
    a.targets = vec!["module.svc[\"auth\"]".into()];
    let p = ops::plan(a).await.unwrap().plan;
    assert_eq!(actions(&p), vec![("module.svc[\"auth\"].fake_thing.x".to_string(), "create")]);

    let mut a = PlanArgs::new(c.clone());
    a.targets = vec!["module.svc[\"web\"].fake_thing.x".into()];
    let p = ops::plan(a).await.unwrap().plan;
    assert_eq!(actions(&p), vec![("module.svc[\"web\"].fake_thing.x".to_string(), "create")]);

    let mut a = PlanArgs::new(c.clone());
    a.targets = vec!["module.svc".into()];
    let p = ops::plan(a).await.unwrap().plan;
    assert_eq!(actions(&p).len(), 2, "module.svc selects every instance: {:?}", actions(&p));

    apply(&c).await;
    let timeout = std::time::Duration::from_secs(5);
    let moves = ops::state_mv(s.path(), "module.svc[\"web\"]", "module.svc[\"www\"]", timeout).await.unwrap();
    assert_eq!(moves.len(), 1);
    assert_eq!(moves[0].1.to_string(), "module.svc[\"www\"].fake_thing.x");
    let state = ops::state_list(s.path(), Some("module.svc")).await.unwrap();
    assert_eq!(listed(&state), vec!["module.svc[\"auth\"].fake_thing.x", "module.svc[\"www\"].fake_thing.x"]);
    // The configuration still says "web": the moved instance is now an orphan, "web" new.
    let p = plan(&c).await;
    assert_eq!(
        actions(&p),
        vec![
            ("module.svc[\"web\"].fake_thing.x".to_string(), "create"),
            ("module.svc[\"www\"].fake_thing.x".to_string(), "delete"),
        ]
    );
    let removed = ops::state_rm(s.path(), &["module.svc[\"www\"]".to_string()], timeout).await.unwrap();
    assert_eq!(listed(&removed), vec!["module.svc[\"www\"].fake_thing.x"]);
    let removed = ops::state_rm(s.path(), &["module.svc".to_string()], timeout).await.unwrap();
    assert_eq!(listed(&removed), vec!["module.svc[\"auth\"].fake_thing.x"], "module.svc names every instance");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn depends_on_a_module_call_is_honoured_both_ways() {
    let cloud = FakeCloud::default();
    // `quiet` has no outputs: depending on it still waits for its resources.
    let quiet = "variable \"name\" {\n  type = string\n}\n\nresource \"fake_thing\" \"q\" {\n  name = var.name\n}\n";
    let main = r#"
resource "fake_thing" "first" {
  name = "first"
}

module "svc" {
  source     = "./svc"
  count      = 2
  name       = "svc-${count.index}"
  depends_on = [fake_thing.first]
}

module "quiet" {
  source = "./quiet"
  name   = "quiet"
}

resource "fake_thing" "last" {
  name       = "last"
  depends_on = [module.quiet]
}
"#;
    let s = TestStack::new(&[("main.tf", main), ("svc/main.tf", SVC), ("quiet/main.tf", quiet)]);
    let c = common(s.path(), cloud.registry());
    let p = plan(&c).await;
    let deps = |addr: &str| -> Vec<String> {
        let ch = p.changes.iter().find(|ch| ch.addr.to_string() == addr).unwrap_or_else(|| panic!("{addr}"));
        ch.dependencies.iter().map(ToString::to_string).collect()
    };
    assert_eq!(deps("module.svc[0].fake_thing.x"), vec!["fake_thing.first"]);
    assert_eq!(deps("module.svc[1].fake_thing.x"), vec!["fake_thing.first"]);
    assert_eq!(deps("fake_thing.last"), vec!["module.quiet.fake_thing.q"]);
    apply(&c).await;
    assert_eq!(cloud.count(), 5);
}

#[test]
fn the_binary_shows_module_instance_addresses_in_text_and_json_plans() {
    let inner = "variable \"n\" {\n  type = number\n}\n\nresource \"terraform_data\" \"t\" {\n  input = var.n\n}\n";
    let main = "module \"svc\" {\n  source   = \"./svc\"\n  for_each = { auth = 1 }\n  n        = each.value\n}\n";
    let s = TestStack::new(&[("main.tf", main), ("svc/main.tf", inner)]);
    let dir = s.path().to_str().unwrap();
    let o = run_cairn(&["plan", dir], s.path());
    assert!(stdout(&o).contains("module.svc[\"auth\"].terraform_data.t"), "{}\n{}", stdout(&o), stderr(&o));
    let saved = s.path().join("p.cairnplan");
    let o = run_cairn(&["plan", dir, "-out", saved.to_str().unwrap()], s.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run_cairn(&["show", saved.to_str().unwrap(), "--format", "markdown"], s.path());
    assert!(stdout(&o).contains("module.svc[\"auth\"].terraform_data.t"), "{}\n{}", stdout(&o), stderr(&o));
    let o = run_cairn(&["show", saved.to_str().unwrap(), "--json"], s.path());
    let plan: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{e}: {}", stderr(&o)));
    let addrs: Vec<&str> =
        plan["resource_changes"].as_array().unwrap().iter().filter_map(|c| c["address"].as_str()).collect();
    assert_eq!(addrs, vec!["module.svc[\"auth\"].terraform_data.t"]);
    assert_eq!(plan["resource_changes"][0]["module_address"], "module.svc[\"auth\"]");
    let o = run_cairn(&["apply", dir, "--auto-approve"], s.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run_cairn(&["state", "list"], s.path());
    assert!(stdout(&o).contains("module.svc[\"auth\"].terraform_data.t"), "{}\n{}", stdout(&o), stderr(&o));
}

/// `for_each` resources reading each other by key (`config[each.key]`): each instance depends
/// on its own counterpart only, in the plan and in state, so state stays linear in the number
/// of instances (it was quadratic: every instance listed every instance it might read); the
/// apply still reads each counterpart's final value, and a removed key's pair is destroyed.
#[test]
fn instances_that_read_their_counterpart_by_key_depend_on_it_alone() {
    let main = |names: &str| {
        format!(
            r#"
resource "terraform_data" "config" {{
  for_each = toset({names})
  input    = "config-${{each.key}}"
}}

resource "terraform_data" "endpoint" {{
  for_each = toset({names})
  input    = "${{terraform_data.config[each.key].output}}/endpoint"
}}

output "endpoints" {{
  value = {{ for k, e in terraform_data.endpoint : k => e.output }}
}}
"#
        )
    };
    let s = TestStack::new(&[("main.tf", &main(r#"["a", "b", "c"]"#))]);
    let dir = s.path().to_str().unwrap();
    let o = run_cairn(&["apply", dir, "-auto-approve"], s.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run_cairn(&["-C", dir, "output", "-json", "endpoints"], s.path());
    let endpoints: serde_json::Value =
        serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{e}: {}", stderr(&o)));
    assert_eq!(
        endpoints,
        serde_json::json!({"a": "config-a/endpoint", "b": "config-b/endpoint", "c": "config-c/endpoint"})
    );

    let o = run_cairn(&["-C", dir, "show", "-json"], s.path());
    let shown: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{e}: {}", stderr(&o)));
    let resources = shown["values"]["root_module"]["resources"].as_array().expect("resources");
    let depends_on = |addr: &str| resources.iter().find(|r| r["address"] == addr).map(|r| r["depends_on"].clone());
    assert_eq!(depends_on("terraform_data.endpoint[\"b\"]"), Some(serde_json::json!(["terraform_data.config[\"b\"]"])));

    s.write("main.tf", &main(r#"["a", "c"]"#));
    let o = run_cairn(&["apply", dir, "-auto-approve"], s.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("2 destroyed"), "{}", stdout(&o));
    let o = run_cairn(&["-C", dir, "state", "list"], s.path());
    assert!(!stdout(&o).contains("[\"b\"]"), "{}", stdout(&o));
}
