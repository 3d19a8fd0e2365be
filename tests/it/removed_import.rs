//! Issue 16 point 4: `removed` blocks forget or destroy as declared, and `import` with
//! `for_each` adopts N objects.

use std::sync::atomic::Ordering;

use crate::support::*;
use cairn::plan::Action;

const TWO: &str = r#"
resource "fake_thing" "kept" {
  name = "kept"
}

resource "fake_thing" "gone" {
  name = "gone"
}
"#;

fn text(p: &cairn::plan::Plan) -> String {
    cairn::cli::render::text::plan_text(p, &cairn::cli::render::RenderOptions { color: false })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_with_destroy_false_forgets_without_deleting() {
    let cloud = FakeCloud::default();
    let s = TestStack::new(&[("main.tf", TWO)]);
    let c = common(s.path(), cloud.registry());
    apply(&c).await;
    assert_eq!(cloud.count(), 2);

    s.write(
        "main.tf",
        r#"
resource "fake_thing" "kept" {
  name = "kept"
}

removed {
  from = fake_thing.gone

  lifecycle {
    destroy = false
  }
}
"#,
    );
    let p = plan(&c).await;
    assert_eq!(actions(&p), vec![("fake_thing.gone".to_string(), "forget")]);
    let t = text(&p);
    assert!(t.contains("# fake_thing.gone will no longer be managed by Cairn"), "{t}");
    assert!(t.contains("Plan: 0 to add, 0 to change, 0 to destroy, 1 to forget."), "{t}");
    let json = cairn::cli::render::json::plan_json(&p).to_string();
    assert!(json.contains(r#""actions":["forget"]"#), "{json}");

    let r = apply(&c).await;
    let done: Vec<_> = r.outcome.unwrap().succeeded.into_iter().map(|(a, act)| (a.to_string(), act)).collect();
    assert_eq!(done, vec![("fake_thing.gone".to_string(), Action::Forget)]);
    assert_eq!(cloud.count(), 2, "the object stays in the cloud");
    let p = plan(&c).await;
    assert!(!p.has_changes(), "state no longer knows it: {:?}", actions(&p));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_with_destroy_true_deletes_as_an_orphan_would() {
    let cloud = FakeCloud::default();
    let s = TestStack::new(&[("main.tf", TWO)]);
    let c = common(s.path(), cloud.registry());
    apply(&c).await;
    s.write(
        "main.tf",
        r#"
resource "fake_thing" "kept" {
  name = "kept"
}

removed {
  from = fake_thing.gone
}
"#,
    );
    let p = plan(&c).await;
    assert_eq!(actions(&p), vec![("fake_thing.gone".to_string(), "delete")]);
    apply(&c).await;
    assert_eq!(cloud.count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_for_each_adopts_every_element() {
    let cloud = FakeCloud::default();
    // Three objects made by someone else.
    let seed = TestStack::new(&[(
        "main.tf",
        r#"
resource "fake_thing" "x" {
  for_each = toset(["alpha", "beta", "gamma"])
  name     = each.key
}
"#,
    )]);
    apply(&common(seed.path(), cloud.registry())).await;
    let ids: Vec<(String, String)> = cloud
        .objects
        .lock()
        .unwrap()
        .iter()
        .map(|(id, o)| (o.get("name").and_then(|n| n.as_str()).unwrap().to_string(), id.clone()))
        .collect();
    let creates = cloud.creates.load(Ordering::SeqCst);
    let map = ids.iter().map(|(name, id)| format!("    {name} = \"{id}\"")).collect::<Vec<_>>().join("\n");
    let s = TestStack::new(&[(
        "main.tf",
        &format!(
            r#"
variable "existing" {{
  type = map(string)
  default = {{
{map}
  }}
}}

resource "fake_thing" "adopted" {{
  for_each = var.existing
  name     = each.key
}}

import {{
  for_each = var.existing
  to       = fake_thing.adopted[each.key]
  id       = each.value
}}
"#
        ),
    )]);
    let c = common(s.path(), cloud.registry());
    let p = plan(&c).await;
    assert_eq!(p.counts().import, 3, "{}", text(&p));
    assert_eq!(p.counts().add, 0, "{}", text(&p));
    assert!(text(&p).contains("Plan: 3 to import, 0 to add, 0 to change, 0 to destroy."), "{}", text(&p));
    apply(&c).await;
    assert_eq!(cloud.creates.load(Ordering::SeqCst), creates, "adopted, not created");
    assert_eq!(cloud.count(), 3);
    let p = plan(&c).await;
    assert!(!p.has_changes(), "{:?}", actions(&p));

    // A tuple: each.key is the index.
    let cloud2 = FakeCloud::default();
    apply(&common(seed.path(), cloud2.registry())).await;
    let mut ids2: Vec<(String, String)> = cloud2
        .objects
        .lock()
        .unwrap()
        .iter()
        .map(|(id, o)| (o.get("name").and_then(|n| n.as_str()).unwrap().to_string(), id.clone()))
        .collect();
    ids2.sort();
    let names = ids2.iter().map(|(n, _)| format!("\"{n}\"")).collect::<Vec<_>>().join(", ");
    let list = ids2.iter().map(|(_, id)| format!("\"{id}\"")).collect::<Vec<_>>().join(", ");
    let s2 = TestStack::new(&[(
        "main.tf",
        &format!(
            r#"
resource "fake_thing" "byindex" {{
  count = 3
  name  = [{names}][count.index]
}}

import {{
  for_each = [{list}]
  to       = fake_thing.byindex[each.key]
  id       = each.value
}}
"#
        ),
    )]);
    let p = plan(&common(s2.path(), cloud2.registry())).await;
    assert_eq!(p.counts().import, 3, "{}", text(&p));
    assert!(text(&p).contains("fake_thing.byindex[2] will be imported"), "{}", text(&p));
}
