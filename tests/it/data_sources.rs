//! Issue 16, points 2 and 6 (engine side): data sources are read once per plan when their
//! arguments are known, deferred to apply (and shown as such) when not or when a depends_on
//! has changes pending; results live in state as mode "data" entries with secrets as
//! fingerprints; `terraform_remote_state` reads another stack's outputs from a local state
//! directory, a Terraform state file, or a gcs state.

use std::sync::atomic::Ordering;

use crate::support::*;
use cairn::cli::render::{plan_json, plan_markdown, plan_text, RenderOptions};
use cairn::lang::config::ResourceMode;
use cairn::lang::value::Value;
use cairn::plan::{Action, ActionReason};
use cairn::providers::Registry;
use cairn::state::local::LocalStore;
use cairn::state::{State, StateStore};

async fn stored(s: &TestStack) -> State {
    LocalStore::open(&s.path().join("state")).unwrap().load().await.unwrap().expect("a state")
}

fn data_entries(state: &State) -> Vec<String> {
    state.resources.keys().filter(|a| a.resource.mode == ResourceMode::Data).map(|a| a.to_string()).collect()
}

const BASE: &str = "resource \"fake_thing\" \"base\" {\n  name = \"base\"\n  size = 3\n}\n";

/// A data source with known arguments is read once per plan (however many expressions use
/// it), never planned as a change, and recorded in state by the apply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_source_is_read_once_per_plan_and_recorded_in_state() {
    let cloud = FakeCloud::default();
    let s = TestStack::new(&[("main.tf", BASE)]);
    let c = common(s.path(), cloud.registry());
    apply(&c).await;
    s.write(
        "data.tf",
        "data \"fake_thing\" \"base\" {\n  name = \"base\"\n}\n\
         resource \"fake_thing\" \"a\" {\n  name = \"a-${data.fake_thing.base.size}\"\n}\n\
         resource \"fake_thing\" \"b\" {\n  name = \"b-${data.fake_thing.base.id}\"\n  note = data.fake_thing.base.status\n}\n\
         output \"base_size\" {\n  value = data.fake_thing.base.size\n}\n",
    );
    let before = cloud.data_reads.load(Ordering::SeqCst);
    let p = plan(&c).await;
    assert_eq!(cloud.data_reads.load(Ordering::SeqCst) - before, 1, "one read for the whole plan");
    assert!(
        p.changes.iter().all(|ch| ch.addr.resource.mode == ResourceMode::Managed),
        "a read at plan time is no change"
    );
    let mut names: Vec<String> = p
        .changes
        .iter()
        .filter(|ch| ch.action == Action::Create)
        .filter_map(|ch| ch.after.as_ref()?.get("name")?.as_str().map(str::to_string))
        .collect();
    names.sort();
    assert_eq!(names, vec!["a-3".to_string(), "b-thing-0".to_string()]);
    assert_eq!(data_entries(&p.prior_state), vec!["data.fake_thing.base"], "the plan carries the read");

    let r = apply(&c).await;
    let outcome = r.outcome.expect("applied");
    assert_eq!(outcome.outputs["base_size"].0, Value::from(3.0));
    let state = stored(&s).await;
    assert_eq!(data_entries(&state), vec!["data.fake_thing.base"]);
    assert_eq!(
        state.resources.iter().find(|(a, _)| a.resource.mode == ResourceMode::Data).unwrap().1.attributes["size"],
        3
    );

    // Nothing changes: the next plan reads again (once) and plans nothing.
    let before = cloud.data_reads.load(Ordering::SeqCst);
    let p = plan(&c).await;
    assert_eq!(cloud.data_reads.load(Ordering::SeqCst) - before, 1);
    assert!(actions(&p).is_empty(), "{:?}", actions(&p));

    // A removed data block leaves state with the next apply, without a change of its own.
    s.write("data.tf", "");
    s.write("main.tf", BASE);
    let p = plan(&c).await;
    assert!(p.changes.iter().all(|ch| ch.addr.resource.mode == ResourceMode::Managed));
    apply(&c).await;
    assert!(data_entries(&stored(&s).await).is_empty(), "{:?}", stored(&s).await.resources.keys());
}

/// An argument not known until apply defers the read: the plan shows `<= data` with Terraform's
/// reason in every format, and the apply reads it after what it refers to, before its users.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_argument_defers_the_read_to_apply() {
    let cloud = FakeCloud::default();
    let s = TestStack::new(&[(
        "main.tf",
        "resource \"fake_thing\" \"made\" {\n  name = \"made\"\n  size = 5\n}\n\
         data \"fake_thing\" \"made\" {\n  id = fake_thing.made.id\n}\n\
         resource \"fake_thing\" \"user\" {\n  name = \"user-${data.fake_thing.made.size}\"\n}\n\
         output \"made_status\" {\n  value = data.fake_thing.made.status\n}\n",
    )]);
    let c = common(s.path(), cloud.registry());
    let before = cloud.data_reads.load(Ordering::SeqCst);
    let p = plan(&c).await;
    assert_eq!(cloud.data_reads.load(Ordering::SeqCst), before, "nothing to read yet");
    let read = p.changes.iter().find(|ch| ch.action == Action::Read).expect("a deferred read");
    assert_eq!(read.addr.to_string(), "data.fake_thing.made");
    assert_eq!(read.reason, Some(ActionReason::ReadBecauseConfigUnknown));
    assert!(read.after.as_ref().unwrap().get("size").unwrap().is_unknown());

    let text = plan_text(&p, &RenderOptions { color: false });
    assert!(text.contains("  # data.fake_thing.made will be read during apply\n  # (config refers to values not yet known)\n <= data \"fake_thing\" \"made\" {"), "{text}");
    let json = plan_json(&p);
    let rc = json["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"] == "data.fake_thing.made")
        .unwrap()
        .clone();
    assert_eq!((rc["mode"].as_str(), rc["change"]["actions"][0].as_str()), (Some("data"), Some("read")));
    assert_eq!(rc["action_reason"], "read_because_config_unknown");
    assert!(plan_markdown(&p).contains("config refers to values not yet known"));

    let r = apply(&c).await;
    let outcome = r.outcome.expect("applied");
    assert_eq!(cloud.data_reads.load(Ordering::SeqCst) - before, 1, "read once, at apply");
    assert_eq!(outcome.outputs["made_status"].0, Value::string("READY"));
    let users: Vec<String> =
        cloud.objects.lock().unwrap().values().filter_map(|o| o.get("name")?.as_str().map(str::to_string)).collect();
    assert!(users.contains(&"user-5".to_string()), "the user saw the read's value: {users:?}");
    assert_eq!(data_entries(&stored(&s).await), vec!["data.fake_thing.made"]);

    // Known now: the next plan reads during plan and changes nothing.
    let p = plan(&c).await;
    assert!(actions(&p).is_empty(), "{:?}", actions(&p));
}

/// `depends_on` on a resource with changes pending defers the read (even with known
/// arguments); once nothing it depends on changes, the plan reads it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn depends_on_a_changing_resource_defers_the_read() {
    let cloud = FakeCloud::default();
    let stack = |size: u32| {
        format!(
            "resource \"fake_thing\" \"a\" {{\n  name = \"a\"\n  size = {size}\n}}\n\
             data \"fake_thing\" \"a\" {{\n  name       = \"a\"\n  depends_on = [fake_thing.a]\n}}\n\
             output \"size\" {{\n  value = data.fake_thing.a.size\n}}\n"
        )
    };
    let s = TestStack::new(&[("main.tf", &stack(1))]);
    let c = common(s.path(), cloud.registry());
    let p = plan(&c).await;
    let read = p.changes.iter().find(|ch| ch.action == Action::Read).expect("deferred");
    assert_eq!(read.reason, Some(ActionReason::ReadBecauseDependencyPending));
    assert!(plan_text(&p, &RenderOptions { color: false })
        .contains("# (depends on a resource or a module with changes pending)"));
    let r = apply(&c).await;
    assert_eq!(r.outcome.unwrap().outputs["size"].0, Value::from(1.0));

    let p = plan(&c).await;
    assert!(actions(&p).is_empty(), "nothing pending: read at plan time: {:?}", actions(&p));

    // An update of the dependency defers the read again, and the apply reads the new value.
    s.write("main.tf", &stack(2));
    let p = plan(&c).await;
    let mut planned = actions(&p);
    planned.sort();
    assert_eq!(planned, vec![("data.fake_thing.a".to_string(), "read"), ("fake_thing.a".to_string(), "update")]);
    let r = apply(&c).await;
    assert_eq!(r.outcome.unwrap().outputs["size"].0, Value::from(2.0));
}

/// A data source's sensitive attribute is a secret like any other: usable, redacted in every
/// plan format, and never written to state, a plan file or output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sensitive_attribute_never_reaches_state_plan_file_or_output() {
    const SECRET: &str = "DATA-SOURCE-SECRET-4c1d";
    let cloud = FakeCloud::default();
    let s = TestStack::new(&[(
        "main.tf",
        "variable \"api_key\" {\n  type      = string\n  sensitive = true\n}\n\
         resource \"fake_thing\" \"holder\" {\n  name   = \"holder\"\n  secret = var.api_key\n}\n",
    )]);
    let c = with_vars(common(s.path(), cloud.registry()), &[&format!("api_key={SECRET}")]);
    apply(&c).await;
    s.write(
        "data.tf",
        "data \"fake_thing\" \"holder\" {\n  name = \"holder\"\n}\n\
         resource \"fake_thing\" \"consumer\" {\n  name   = \"consumer\"\n  secret = data.fake_thing.holder.secret\n}\n\
         output \"copied\" {\n  value     = data.fake_thing.holder.secret\n  sensitive = true\n}\n",
    );
    let planfile = s.path().join("out.plan");
    let mut args = cairn::ops::PlanArgs::new(c.clone());
    args.out = Some(planfile.clone());
    let p = cairn::ops::plan(args).await.map_err(|e| describe(&e)).expect("plan").plan;
    for (what, text) in [
        ("text", plan_text(&p, &RenderOptions { color: false })),
        ("json", plan_json(&p).to_string()),
        ("markdown", plan_markdown(&p)),
    ] {
        assert!(!text.contains(SECRET), "{what} shows the secret");
    }
    assert!(!contains(&std::fs::read(&planfile).unwrap(), SECRET), "the plan file holds the secret");
    let r = apply(&c).await;
    let outcome = r.outcome.expect("applied");
    let (copied, _) = outcome.outputs["copied"].0.clone().unmark_deep();
    assert_eq!(copied, Value::string(SECRET), "the value is usable");
    assert!(outcome.outputs["copied"].0.is_sensitive());
    let consumer =
        cloud.objects.lock().unwrap().values().find(|o| o.get("name") == Some(&Value::string("consumer"))).cloned();
    assert_eq!(consumer.unwrap().get("secret"), Some(&Value::string(SECRET)), "sent to the consumer");
    assert!(!contains(&s.state_bytes(), SECRET), "the state holds the secret");
    let state = stored(&s).await;
    let entry = state.resources.iter().find(|(a, _)| a.to_string() == "data.fake_thing.holder").unwrap().1;
    assert!(entry.sensitive_fingerprints.contains_key("secret"), "kept as a fingerprint");
}

/// `terraform_remote_state` with the local backend: another stack's outputs (its state
/// directory, relative to this stack), defaults for what it lacks, and its sensitive output
/// sensitive and refused, with the reason, where a step would send it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_state_reads_a_local_cairn_state() {
    let root = tempfile::tempdir().unwrap();
    let net = root.path().join("network");
    let app = root.path().join("app");
    for d in [&net, &app] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(
        net.join("main.tf"),
        "output \"network\" {\n  value = \"vpc-main\"\n}\noutput \"cidrs\" {\n  value = [\"10.0.0.0/24\"]\n}\n\
         output \"token\" {\n  value     = \"NETWORK-TOKEN-77\"\n  sensitive = true\n}\n",
    )
    .unwrap();
    apply(&common(&net, Registry::builtin())).await;

    let remote = "data \"terraform_remote_state\" \"net\" {\n  backend = \"local\"\n  config = {\n    path = \"../network/state\"\n  }\n  defaults = {\n    region = \"europe-west1\"\n  }\n}\n";
    std::fs::write(
        app.join("main.tf"),
        format!(
            "{remote}output \"network\" {{\n  value = data.terraform_remote_state.net.outputs.network\n}}\n\
             output \"first_cidr\" {{\n  value = data.terraform_remote_state.net.outputs.cidrs[0]\n}}\n\
             output \"region\" {{\n  value = data.terraform_remote_state.net.outputs.region\n}}\n"
        ),
    )
    .unwrap();
    let c = common(&app, Registry::builtin());
    let r = apply(&c).await;
    let outputs = r.outcome.expect("applied").outputs;
    assert_eq!(outputs["network"].0, Value::string("vpc-main"));
    assert_eq!(outputs["first_cidr"].0, Value::string("10.0.0.0/24"));
    assert_eq!(outputs["region"].0, Value::string("europe-west1"), "defaults fill what the state lacks");

    std::fs::write(
        app.join("main.tf"),
        format!("{remote}resource \"terraform_data\" \"uses_token\" {{\n  input = data.terraform_remote_state.net.outputs.token\n}}\n"),
    )
    .unwrap();
    let e = cairn::ops::plan(cairn::ops::PlanArgs::new(c.clone())).await.err().expect("refused");
    let msg = describe(&e);
    assert!(msg.contains("a sensitive output of another stack, which Cairn does not store"), "{msg}");
    assert!(msg.contains("main.tf:"), "located: {msg}");
}

/// A Terraform JSON state file holds its sensitive outputs' values: they are read and stay
/// sensitive (redacted in output, fingerprints in state).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_state_reads_a_terraform_state_file_and_keeps_secrets_sensitive() {
    const SECRET: &str = "TF-STATE-SECRET-a91b";
    let s = TestStack::new(&[
        (
            "terraform.tfstate",
            &format!(
                r#"{{"version":4,"terraform_version":"1.9.0","serial":3,"lineage":"x","outputs":{{"bucket":{{"value":"logs","type":"string"}},"db_password":{{"value":"{SECRET}","type":"string","sensitive":true}}}},"resources":[]}}"#
            ),
        ),
        (
            "main.tf",
            "data \"terraform_remote_state\" \"old\" {\n  backend = \"local\"\n  config = {\n    path = \"terraform.tfstate\"\n  }\n}\n\
             resource \"terraform_data\" \"db\" {\n  input = data.terraform_remote_state.old.outputs.db_password\n}\n\
             output \"bucket\" {\n  value = data.terraform_remote_state.old.outputs.bucket\n}\n",
        ),
    ]);
    let c = common(s.path(), Registry::builtin());
    let p = plan(&c).await;
    let text = plan_text(&p, &RenderOptions { color: false });
    assert!(!text.contains(SECRET) && text.contains("(sensitive value)"), "{text}");
    let r = apply(&c).await;
    assert_eq!(r.outcome.expect("applied").outputs["bucket"].0, Value::string("logs"));
    assert!(!contains(&s.state_bytes(), SECRET), "the state holds the secret");
}

/// Reading a state that does not exist is an error located at the data block.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_state_that_does_not_exist_is_a_located_error() {
    let s = TestStack::new(&[(
        "main.tf",
        "data \"terraform_remote_state\" \"gone\" {\n  backend = \"local\"\n  config = {\n    path = \"../nowhere/state\"\n  }\n}\n",
    )]);
    let e =
        cairn::ops::plan(cairn::ops::PlanArgs::new(common(s.path(), Registry::builtin()))).await.err().expect("error");
    let msg = describe(&e);
    assert!(msg.contains("Cannot read data.terraform_remote_state.gone: there is no state at"), "{msg}");
    assert!(msg.contains("main.tf:1:1"), "{msg}");
    assert!(!s.path().join("../nowhere").exists(), "reading creates nothing");
}

/// `terraform_remote_state` with the gcs backend (fake-gcs-server; skipped, loudly, when it is
/// not installed outside CI).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_state_reads_a_gcs_state() {
    let Some(gcs) = crate::gcs::FakeGcs::start().await else { return };
    let net = TestStack::new(&[
        ("main.tf", "output \"subnet\" {\n  value = \"sub-1\"\n}\noutput \"key\" {\n  value     = \"GCS-REMOTE-KEY\"\n  sensitive = true\n}\n"),
        ("backend.tf", &gcs.backend_block("stacks/net")),
    ]);
    apply(&common(net.path(), Registry::builtin())).await;
    let app = TestStack::new(&[(
        "main.tf",
        &format!(
            "data \"terraform_remote_state\" \"net\" {{\n  backend = \"gcs\"\n  config = {{\n    bucket                  = \"{}\"\n    prefix                  = \"stacks/net\"\n    storage_custom_endpoint = \"{}\"\n  }}\n}}\n\
             output \"subnet\" {{\n  value = data.terraform_remote_state.net.outputs.subnet\n}}\n\
             output \"key\" {{\n  value     = data.terraform_remote_state.net.outputs.key\n  sensitive = true\n}}\n",
            crate::gcs::BUCKET,
            gcs.endpoint
        ),
    )]);
    let r = apply(&common(app.path(), Registry::builtin())).await;
    let outputs = r.outcome.expect("applied").outputs;
    assert_eq!(outputs["subnet"].0, Value::string("sub-1"));
    assert!(outputs["key"].0.is_sensitive(), "a sensitive remote output stays sensitive");
}
