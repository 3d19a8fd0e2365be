//! `plan -json` / `apply -json`: Terraform's machine-readable UI, one JSON object a line, read
//! back as a CI tool reads it (developer.hashicorp.com/terraform/internals/machine-readable-ui).

use crate::support::*;
use cairn::apply::Interrupt;
use cairn::cli::run::dispatch;
use cairn::cli::{parse, Console};
use serde_json::{json, Value as Json};

/// Every line of a stream, parsed; each must be one JSON object with Terraform's envelope.
fn messages(stream: &str) -> Vec<Json> {
    stream
        .lines()
        .map(|line| {
            let m: Json = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            for field in ["@level", "@message", "@timestamp", "type"] {
                assert!(m[field].is_string(), "{field} missing: {line}");
            }
            assert_eq!(m["@module"], "terraform.ui", "{line}");
            m
        })
        .collect()
}

fn types(ms: &[Json]) -> Vec<&str> {
    ms.iter().map(|m| m["type"].as_str().unwrap()).collect()
}

fn of_type<'a>(ms: &'a [Json], t: &str) -> Vec<&'a Json> {
    ms.iter().filter(|m| m["type"] == t).collect()
}

fn assert_version_first(ms: &[Json]) {
    assert_eq!(ms[0]["type"], "version");
    assert_eq!(ms[0]["ui"], "1.2");
    assert_eq!(ms[0]["cairn"], env!("CARGO_PKG_VERSION"));
}

/// Runs a command line in-process against `registry`, as `cairn` would, and returns its exit
/// code (an error the command returns is exit 1) with what it printed.
async fn cairn_with(registry: cairn::providers::Registry, args: &[&str]) -> (u8, String, String) {
    let mut all = vec!["cairn"];
    all.extend_from_slice(args);
    let cli = parse(all.iter().map(std::ffi::OsString::from)).expect("command line");
    let (mut console, captured) = Console::captured("", false);
    let code = match dispatch(cli, &mut console, registry, &Interrupt::new()).await {
        Ok(code) => code,
        Err(e) => panic!("the -json commands report errors as messages, not as Err: {e}"),
    };
    (code, captured.stdout(), captured.stderr())
}

const THREE: &str = r#"
resource "terraform_data" "a" {
  input = "one"
}

resource "terraform_data" "b" {
  input = "two"
}

resource "terraform_data" "c" {
  input = "three"
}
"#;

const CHANGED: &str = r#"
resource "terraform_data" "a" {
  input = "uno"
}

resource "terraform_data" "b" {
  input = "two"
}

resource "terraform_data" "d" {
  count = 1
  input = "four"
}

output "a" {
  value = terraform_data.a.output
}
"#;

#[test]
fn plan_json_streams_each_change_then_the_summary_and_outputs() {
    let s = TestStack::new(&[("main.tf", THREE)]);
    let dir = s.path().to_str().unwrap();
    let o = run_cairn(&["apply", "-auto-approve", dir], s.path());
    assert!(o.status.success(), "{}", stderr(&o));
    s.write("main.tf", CHANGED);

    let o = run_cairn(&["plan", "-json", "-detailed-exitcode", dir], s.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let ms = messages(&stdout(&o));
    assert_version_first(&ms);
    // Each stored object is read back first (Terraform's refresh hooks, with its id), in
    // address order, then the changes.
    assert_eq!(
        types(&ms),
        [
            "version",
            "refresh_start",
            "refresh_complete",
            "refresh_start",
            "refresh_complete",
            "refresh_start",
            "refresh_complete",
            "planned_change",
            "planned_change",
            "planned_change",
            "change_summary",
            "outputs"
        ]
    );
    let refreshed: Vec<&str> =
        of_type(&ms, "refresh_complete").iter().map(|m| m["hook"]["resource"]["addr"].as_str().unwrap()).collect();
    assert_eq!(refreshed, ["terraform_data.a", "terraform_data.b", "terraform_data.c"]);
    let start = &of_type(&ms, "refresh_start")[0];
    let id = start["hook"]["id_value"].as_str().expect("the object's id");
    assert_eq!(start["hook"]["id_key"], "id");
    assert_eq!(start["@message"], format!("terraform_data.a: Refreshing state... [id={id}]"));
    assert_eq!(
        of_type(&ms, "refresh_complete")[0]["@message"],
        format!("terraform_data.a: Refresh complete [id={id}]")
    );
    // Without a refresh, nothing is read back and nothing says so.
    let o = run_cairn(&["plan", "-json", "-refresh=false", dir], s.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let quiet = messages(&stdout(&o));
    assert!(of_type(&quiet, "refresh_start").is_empty() && of_type(&quiet, "refresh_complete").is_empty());
    assert_eq!(of_type(&quiet, "planned_change").len(), 3);
    let changes: Vec<(&str, &str)> = of_type(&ms, "planned_change")
        .iter()
        .map(|m| (m["change"]["resource"]["addr"].as_str().unwrap(), m["change"]["action"].as_str().unwrap()))
        .collect();
    assert_eq!(changes.len(), 3);
    for expected in [("terraform_data.a", "update"), ("terraform_data.c", "delete"), ("terraform_data.d[0]", "create")]
    {
        assert!(changes.contains(&expected), "{expected:?} in {changes:?}");
    }
    let d =
        of_type(&ms, "planned_change").into_iter().find(|m| m["change"]["resource"]["addr"] == "terraform_data.d[0]");
    let d = d.unwrap();
    assert_eq!(d["@message"], "terraform_data.d[0]: Plan to create");
    assert_eq!(
        d["change"]["resource"],
        json!({
            "addr": "terraform_data.d[0]",
            "module": "",
            "resource": "terraform_data.d[0]",
            "implied_provider": "terraform",
            "resource_type": "terraform_data",
            "resource_name": "d",
            "resource_key": 0,
        })
    );
    let c = of_type(&ms, "planned_change").into_iter().find(|m| m["change"]["resource"]["addr"] == "terraform_data.c");
    assert_eq!(c.unwrap()["change"]["reason"], "delete_because_no_resource_config");
    let summary = &of_type(&ms, "change_summary")[0];
    assert_eq!(summary["changes"], json!({"add": 1, "change": 1, "import": 0, "remove": 1, "operation": "plan"}));
    assert_eq!(summary["@message"], "Plan: 1 to add, 1 to change, 1 to destroy.");
    assert_eq!(of_type(&ms, "outputs")[0]["outputs"], json!({"a": {"sensitive": false, "action": "create"}}));
}

#[test]
fn plan_json_reports_a_located_error_as_a_diagnostic_and_exits_1() {
    let s = TestStack::new(&[("main.tf", "resource \"terraform_data\" \"a\" {\n  input = var.missing\n}\n")]);
    let o = run_cairn(&["plan", "-json"], s.path());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let ms = messages(&stdout(&o));
    assert_version_first(&ms);
    assert_eq!(types(&ms), ["version", "diagnostic"]);
    let m = &ms[1];
    assert_eq!(m["@level"], "error");
    let d = &m["diagnostic"];
    assert_eq!(d["severity"], "error");
    assert!(m["@message"].as_str().unwrap().starts_with("Error: "), "{m}");
    // The file as the text UI names it (here, in the working directory).
    assert!(d["range"]["filename"].as_str().unwrap().ends_with("main.tf"), "{m}");
    assert_eq!(d["range"]["start"]["line"], 2, "{m}");
    // `var.missing` starts at line 2, column 11, byte 42 (the first line is 32 bytes).
    let start = d["range"]["start"]["column"].as_u64().unwrap();
    assert!((11..=15).contains(&start), "{m}");
    assert_eq!(d["range"]["start"]["byte"].as_u64().unwrap(), 31 + start, "{m}");
    assert!(d["range"]["end"]["byte"].as_u64().unwrap() > 31 + start, "{m}");
    assert_eq!(d["snippet"]["code"], "  input = var.missing", "{m}");
    assert_eq!(d["snippet"]["start_line"], 2, "{m}");
}

const FAKE: &str = r#"
variable "token" {
  type      = string
  sensitive = true
  default   = "tok-s3cr3t-value"
}

resource "fake_thing" "ok" {
  name   = "ok"
  secret = var.token
}

resource "fake_thing" "also" {
  name = "also"
}

output "name" {
  value = fake_thing.ok.name
}

output "token" {
  value     = var.token
  sensitive = true
}
"#;

#[tokio::test]
async fn apply_json_streams_a_start_and_a_completion_per_resource_then_the_summary() {
    let cloud = FakeCloud::default();
    let s = TestStack::new(&[("main.tf", FAKE)]);
    let dir = s.path().to_str().unwrap();

    // Nobody can answer a prompt in a stream: -auto-approve (or a saved plan) is required.
    let (code, out, _) = cairn_with(cloud.registry(), &["apply", "-json", dir]).await;
    assert_eq!(code, 1);
    let ms = messages(&out);
    assert_eq!(types(&ms), ["version", "diagnostic"]);
    assert_eq!(ms[1]["diagnostic"]["summary"], "Plan file or auto-approve required");
    assert_eq!(cloud.count(), 0);

    let (code, out, err) = cairn_with(cloud.registry(), &["apply", "-json", "-auto-approve", dir]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(!out.contains("s3cr3t"), "{out}");
    let ms = messages(&out);
    assert_version_first(&ms);
    let t = types(&ms);
    // The plan's messages first, as `plan -json` gives them (the outputs it will create too).
    assert_eq!(&t[..5], ["version", "planned_change", "planned_change", "change_summary", "outputs"], "{t:?}");
    assert_eq!(ms[3]["changes"]["operation"], "plan");
    assert_eq!(ms[4]["outputs"]["token"], json!({"sensitive": true, "action": "create"}));
    assert_eq!(&t[t.len() - 2..], ["change_summary", "outputs"], "{t:?}");
    for addr in ["fake_thing.ok", "fake_thing.also"] {
        let of = |kind: &str| {
            ms.iter()
                .position(|m| m["type"] == kind && m["hook"]["resource"]["addr"] == addr)
                .unwrap_or_else(|| panic!("{kind} for {addr}: {t:?}"))
        };
        let (start, complete) = (of("apply_start"), of("apply_complete"));
        assert!(4 < start && start < complete && complete < t.len() - 2, "{t:?}");
        assert_eq!(ms[start]["hook"]["action"], "create");
        assert_eq!(ms[start]["@message"], format!("{addr}: Creating..."));
        let done = &ms[complete]["hook"];
        assert_eq!(done["action"], "create");
        assert!(done["elapsed_seconds"].is_number(), "{done}");
        assert_eq!(done["id_key"], "id", "{done}");
        assert!(done["id_value"].is_string(), "{done}");
    }
    let summary = &ms[t.len() - 2];
    assert_eq!(summary["changes"], json!({"add": 2, "change": 0, "import": 0, "remove": 0, "operation": "apply"}));
    assert_eq!(summary["@message"], "Apply complete! Resources: 2 added, 0 changed, 0 destroyed.");
    assert_eq!(
        ms[t.len() - 1]["outputs"],
        json!({"name": {"sensitive": false, "type": "string", "value": "ok"}, "token": {"sensitive": true, "type": "string"}})
    );

    // Nothing left to do: both objects read back, the empty plan and an apply of nothing.
    let (code, out, _) = cairn_with(cloud.registry(), &["apply", "-json", "-auto-approve", dir]).await;
    assert_eq!(code, 0);
    let ms = messages(&out);
    assert_eq!(
        types(&ms),
        [
            "version",
            "refresh_start",
            "refresh_complete",
            "refresh_start",
            "refresh_complete",
            "change_summary",
            "change_summary"
        ]
    );
    assert_eq!(ms[6]["changes"]["operation"], "apply");

    // destroy -json ends with a destroy summary.
    let (code, out, _) = cairn_with(cloud.registry(), &["destroy", "-json", "-auto-approve", dir]).await;
    assert_eq!(code, 0, "{out}");
    let ms = messages(&out);
    assert_eq!(of_type(&ms, "apply_complete").len(), 2);
    let last = of_type(&ms, "change_summary").pop().unwrap();
    assert_eq!(last["changes"], json!({"add": 0, "change": 0, "import": 0, "remove": 2, "operation": "destroy"}));
    assert_eq!(cloud.count(), 0);
}

#[tokio::test]
async fn apply_json_reports_a_failing_resource_as_apply_errored_and_a_diagnostic() {
    let cloud = FakeCloud::default();
    let s = TestStack::new(&[(
        "main.tf",
        "resource \"fake_thing\" \"good\" {\n  name = \"good\"\n}\n\nresource \"fake_thing\" \"bad\" {\n  name = \"fail-bad\"\n}\n",
    )]);
    let (code, out, _) =
        cairn_with(cloud.registry(), &["apply", "-json", "-auto-approve", s.path().to_str().unwrap()]).await;
    assert_eq!(code, 1, "{out}");
    let ms = messages(&out);
    assert_version_first(&ms);
    let errored = of_type(&ms, "apply_errored");
    assert_eq!(errored.len(), 1, "{out}");
    assert_eq!(errored[0]["@level"], "error");
    assert_eq!(errored[0]["hook"]["resource"]["addr"], "fake_thing.bad");
    assert_eq!(errored[0]["hook"]["action"], "create");
    assert!(errored[0]["@message"].as_str().unwrap().starts_with("fake_thing.bad: Creation errored after "));
    let complete = of_type(&ms, "apply_complete");
    assert_eq!(complete.len(), 1);
    assert_eq!(complete[0]["hook"]["resource"]["addr"], "fake_thing.good");
    // The failure's diagnostic comes after the hooks; no apply summary follows a failure.
    let t = types(&ms);
    assert_eq!(t.last(), Some(&"diagnostic"), "{t:?}");
    let d = &ms.last().unwrap()["diagnostic"];
    assert_eq!(d["severity"], "error");
    assert_eq!(d["address"], "fake_thing.bad");
    assert!(d["summary"].as_str().unwrap().contains("refuses names starting with fail-"), "{d}");
    assert_eq!(of_type(&ms, "change_summary").len(), 1, "only the plan's summary: {t:?}");
}

#[tokio::test]
async fn plan_json_with_generate_config_out_names_the_generated_block_of_each_import() {
    let cloud = FakeCloud::default();
    let seed = TestStack::new(&[("main.tf", "resource \"fake_thing\" \"a\" {\n  name = \"adopt-me\"\n}\n")]);
    let (code, _, err) = cairn_with(cloud.registry(), &["apply", "-auto-approve", seed.path().to_str().unwrap()]).await;
    assert_eq!(code, 0, "{err}");
    let s = TestStack::new(&[("main.tf", "import {\n  to = fake_thing.a\n  id = \"thing-0\"\n}\n")]);
    let dir = s.path().to_str().unwrap();
    let (code, out, err) = cairn_with(
        cloud.registry(),
        &["plan", "-json", "-generate-config-out=generated.tf", "-detailed-exitcode", dir],
    )
    .await;
    assert_eq!(code, 2, "{out}{err}");
    let ms = messages(&out);
    assert_eq!(types(&ms), ["version", "planned_change", "change_summary"]);
    let change = &ms[1]["change"];
    assert_eq!(change["action"], "import");
    assert_eq!(change["importing"], json!({"id": "thing-0"}));
    let written = std::fs::read_to_string(s.path().join("generated.tf")).unwrap();
    assert!(written.ends_with(change["generated_config"].as_str().unwrap()), "{written}\n{change}");
    assert!(written.contains("  name = \"adopt-me\"\n"), "{written}");
    assert_eq!(ms[2]["changes"], json!({"add": 0, "change": 0, "import": 1, "remove": 0, "operation": "plan"}));
    assert_eq!(ms[2]["@message"], "Plan: 1 to import, 0 to add, 0 to change, 0 to destroy.");

    // The text UI says where the configuration went; a second run refuses the existing file.
    let (code, _, err) = cairn_with(cloud.registry(), &["plan", "-generate-config-out", "again.tf", dir]).await;
    assert_eq!(code, 0, "{err}");
    assert!(!s.path().join("again.tf").exists(), "nothing left to generate: no file");
    let (code, out, _) =
        cairn_with(cloud.registry(), &["plan", "-json", "-generate-config-out=generated.tf", dir]).await;
    assert_eq!(code, 1);
    let ms = messages(&out);
    assert!(ms[1]["diagnostic"]["summary"].as_str().unwrap().starts_with("Target generated file already exists"));
}

/// An object deleted outside Cairn is read back as gone: its refresh starts with the id state
/// recorded and completes without one (Terraform's PostRefresh with a null object), then the
/// drift and the plan to create it again.
#[tokio::test]
async fn plan_json_reports_an_object_found_gone_as_a_refresh_without_an_id() {
    let cloud = FakeCloud::default();
    let s = TestStack::new(&[("main.tf", FAKE)]);
    let dir = s.path().to_str().unwrap();
    let (code, out, err) = cairn_with(cloud.registry(), &["apply", "-json", "-auto-approve", dir]).await;
    assert_eq!(code, 0, "{out}{err}");
    cloud.delete("also");

    let (code, out, err) = cairn_with(cloud.registry(), &["plan", "-json", dir]).await;
    assert_eq!(code, 0, "{out}{err}");
    let ms = messages(&out);
    let of_also = |kind: &str| {
        ms.iter()
            .find(|m| m["type"] == kind && m["hook"]["resource"]["addr"] == "fake_thing.also")
            .unwrap_or_else(|| panic!("{kind} for fake_thing.also: {:?}", types(&ms)))
    };
    let (start, complete) = (of_also("refresh_start"), of_also("refresh_complete"));
    let id = start["hook"]["id_value"].as_str().expect("the id state recorded");
    assert_eq!(start["@message"], format!("fake_thing.also: Refreshing state... [id={id}]"));
    assert_eq!(complete["@message"], "fake_thing.also: Refresh complete");
    assert!(complete["hook"].get("id_value").is_none(), "{complete}");
    let t = types(&ms);
    let drift = t.iter().position(|k| *k == "resource_drift").expect("the deletion is drift");
    assert!(t.iter().rposition(|k| k.starts_with("refresh_")).unwrap() < drift, "{t:?}");
    assert!(drift < t.iter().position(|k| *k == "planned_change").unwrap(), "{t:?}");
}
