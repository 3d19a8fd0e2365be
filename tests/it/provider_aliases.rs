//! Provider configurations end to end (issue 16): `provider "google" { alias = … }`,
//! `provider = google.x` on resources, `providers = { … }` on module calls with
//! `configuration_aliases`, against the emulator, which accepts every project, so that an object
//! routed to the wrong configuration would be created without complaint — the assertions on
//! the emulator's stored names are what prove the routing.

use crate::support::*;
use cairn::cli::render::{json, text, RenderOptions};
use cairn::emulator::projects::derive_number;
use cairn::emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use cairn::ops::{self, PlanArgs};
use cairn::providers::google::GoogleOptions;
use cairn::providers::Registry;

const PROVIDERS: &str = r#"
provider "google" {
  project = "p1"
  region  = "us-central1"
}

provider "google" {
  alias   = "other"
  project = "p2"
  region  = "europe-west1"
}
"#;

const ROOT: &str = r#"
resource "google_secret_manager_secret" "here" {
  secret_id = "here"
  replication {
    auto {}
  }
}

resource "google_secret_manager_secret" "there" {
  provider  = google.other
  secret_id = "there"
  replication {
    auto {}
  }
}

# Passed the aliased configuration as the module's default.
module "moved_over" {
  source    = "./modules/one"
  secret_id = "mod-there"
  providers = {
    google = google.other
  }
}

# No providers argument: inherits the default configuration.
module "inherits" {
  source    = "./modules/one"
  secret_id = "mod-here"
}

# Asks for an aliased configuration of its own, besides the default.
module "both" {
  source = "./modules/two"
  providers = {
    google     = google
    google.dst = google.other
  }
}
"#;

const MODULE_ONE: &str = r#"
variable "secret_id" {
  type = string
}

resource "google_secret_manager_secret" "s" {
  secret_id = var.secret_id
  replication {
    auto {}
  }
}
"#;

const MODULE_TWO: &str = r#"
terraform {
  required_providers {
    google = {
      source                = "hashicorp/google"
      configuration_aliases = [google.dst]
    }
  }
}

resource "google_secret_manager_secret" "src" {
  secret_id = "two-src"
  replication {
    auto {}
  }
}

resource "google_secret_manager_secret" "dst" {
  provider  = google.dst
  secret_id = "two-dst"
  replication {
    auto {}
  }
}
"#;

async fn emulator() -> EmulatorHandle {
    Emulator::start(EmulatorConfig::for_tests()).await.expect("start the emulator")
}

fn stack() -> TestStack {
    TestStack::new(&[
        ("providers.tf", PROVIDERS),
        ("main.tf", ROOT),
        ("modules/one/main.tf", MODULE_ONE),
        ("modules/two/main.tf", MODULE_TWO),
    ])
}

/// The secrets the emulated cloud holds, with project numbers (which the emulator stores, as
/// Google does) shown as the test's project ids.
fn secrets(emu: &EmulatorHandle) -> Vec<String> {
    let mut names = emu.names("secretmanager");
    names.retain(|n| !n.contains("/versions/"));
    for n in names.iter_mut() {
        for id in ["p1", "p2"] {
            *n = n.replace(&format!("projects/{}/", derive_number(id)), &format!("projects/{id}/"));
        }
    }
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_resource_lands_in_its_configurations_project() {
    let emu = emulator().await;
    let s = stack();
    let c =
        common(s.path(), Registry::standard(GoogleOptions { emulator: Some(emu.endpoint()), ..Default::default() }));

    let p = plan(&c).await;
    let project = |addr: &str| {
        let change = p.changes.iter().find(|c| c.addr.to_string() == addr).unwrap_or_else(|| panic!("{addr}"));
        let after = change.after.as_ref().expect("planned");
        (change.provider.clone(), after.get("project").and_then(|v| v.as_str()).map(str::to_string))
    };
    // The plan already knows each project: the configuration's, filled in at plan time.
    assert_eq!(project("google_secret_manager_secret.here"), ("google".into(), Some("p1".into())));
    assert_eq!(project("google_secret_manager_secret.there"), ("google.other".into(), Some("p2".into())));
    assert_eq!(project("module.moved_over.google_secret_manager_secret.s"), ("google.other".into(), Some("p2".into())));
    assert_eq!(project("module.inherits.google_secret_manager_secret.s"), ("google".into(), Some("p1".into())));
    assert_eq!(project("module.both.google_secret_manager_secret.src"), ("google".into(), Some("p1".into())));
    assert_eq!(project("module.both.google_secret_manager_secret.dst"), ("google.other".into(), Some("p2".into())));

    // Two projects in play: each object says where it lands.
    let shown = text::plan_text(&p, &RenderOptions::default());
    assert!(
        shown.contains("  # google_secret_manager_secret.there will be created\n  # (in project \"p2\")\n"),
        "{shown}"
    );
    assert!(shown.contains("  # (in project \"p1\")"), "{shown}");
    let j = json::plan_json(&p);
    let there = j["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"] == "google_secret_manager_secret.there")
        .expect("in the JSON plan")
        .clone();
    assert_eq!(there["provider_name"], "registry.terraform.io/hashicorp/google");

    apply(&c).await;
    assert_eq!(
        secrets(&emu),
        [
            "projects/p1/secrets/here",
            "projects/p1/secrets/mod-here",
            "projects/p1/secrets/two-src",
            "projects/p2/secrets/mod-there",
            "projects/p2/secrets/there",
            "projects/p2/secrets/two-dst",
        ]
    );
    // State records each configuration as Terraform does.
    let state = s.state_bytes_without_emulator();
    assert!(contains(&state, r#"provider[\"registry.terraform.io/hashicorp/google\"].other"#));
    assert!(contains(&state, r#"provider[\"registry.terraform.io/hashicorp/google\"]""#));

    // A second plan refreshes each object through its own configuration: nothing to do.
    let again = plan(&c).await;
    assert!(actions(&again).is_empty(), "{:?}", actions(&again));

    // Removing the aliased resource's block deletes it in p2, through google.other.
    let there = "resource \"google_secret_manager_secret\" \"there\" {\n  provider  = google.other\n  secret_id = \"there\"\n  replication {\n    auto {}\n  }\n}\n";
    assert!(ROOT.contains(there));
    s.write("main.tf", &ROOT.replace(there, ""));
    let p = plan(&c).await;
    assert_eq!(actions(&p), [("google_secret_manager_secret.there".to_string(), "delete")]);
    assert_eq!(
        p.changes.iter().find(|c| c.addr.to_string() == "google_secret_manager_secret.there").unwrap().provider,
        "google.other"
    );
    apply(&c).await;
    let left = secrets(&emu);
    assert!(!left.contains(&"projects/p2/secrets/there".to_string()), "{left:?}");
    assert_eq!(left.len(), 5, "only the orphan is gone: {left:?}");
    emu.shutdown().await;
}

/// An orphan whose configuration is gone from the stack is not deleted through another one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_orphan_whose_configuration_was_removed_stops_the_plan() {
    let emu = emulator().await;
    let s = TestStack::new(&[
        ("providers.tf", PROVIDERS),
        (
            "main.tf",
            "resource \"google_secret_manager_secret\" \"there\" {\n  provider  = google.other\n  secret_id = \"there\"\n  replication {\n    auto {}\n  }\n}\n",
        ),
    ]);
    let c =
        common(s.path(), Registry::standard(GoogleOptions { emulator: Some(emu.endpoint()), ..Default::default() }));
    apply(&c).await;
    assert_eq!(secrets(&emu), ["projects/p2/secrets/there"]);

    s.write("main.tf", "");
    s.write("providers.tf", "provider \"google\" {\n  project = \"p1\"\n}\n");
    let e = ops::plan(PlanArgs::new(c.clone())).await.err().expect("the plan must fail");
    let msg = describe(&e);
    assert!(msg.contains("Provider configuration not present"), "{msg}");
    assert!(msg.contains("google_secret_manager_secret.there (orphan)"), "{msg}");
    assert!(msg.contains(r#"provider["registry.terraform.io/hashicorp/google"].other"#), "{msg}");
    // No file:line:col: the resource and its configuration are both gone from the stack (as in
    // Terraform); the message names the state's address and how to proceed instead.
    insta::assert_snapshot!("provider_aliases__orphan_without_its_configuration", msg);
    assert_eq!(secrets(&emu), ["projects/p2/secrets/there"], "nothing was deleted");
    emu.shutdown().await;
}

/// Two clouds, one per configuration (custom endpoints instead of one emulator for all): each
/// call reaches only the cloud of the configuration the stack named, for create, refresh and
/// the delete of an orphan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_reaches_a_configuration_the_stack_did_not_name() {
    let (one, two) = (emulator().await, emulator().await);
    let providers = format!(
        r#"
provider "google" {{
  project                        = "p1"
  access_token                   = "test-token"
  secret_manager_custom_endpoint = "{}/v1/"
}}

provider "google" {{
  alias                          = "other"
  project                        = "p1"
  access_token                   = "test-token"
  secret_manager_custom_endpoint = "{}/v1/"
}}
"#,
        one.endpoint(),
        two.endpoint()
    );
    let main = "resource \"google_secret_manager_secret\" \"a\" {\n  secret_id = \"a\"\n  replication {\n    auto {}\n  }\n}\nresource \"google_secret_manager_secret\" \"b\" {\n  provider  = google.other\n  secret_id = \"b\"\n  replication {\n    auto {}\n  }\n}\n";
    let s = TestStack::new(&[("providers.tf", &providers), ("main.tf", main)]);
    let c = common(s.path(), Registry::standard(GoogleOptions::default()));
    apply(&c).await;
    assert_eq!(secrets(&one), ["projects/p1/secrets/a"]);
    assert_eq!(secrets(&two), ["projects/p1/secrets/b"]);

    let (before_one, before_two) = (one.requests().len(), two.requests().len());
    s.write("main.tf", "resource \"google_secret_manager_secret\" \"a\" {\n  secret_id = \"a\"\n  replication {\n    auto {}\n  }\n}\n");
    apply(&c).await;
    assert_eq!(secrets(&one), ["projects/p1/secrets/a"], "the default configuration's object stays");
    assert!(secrets(&two).is_empty(), "the orphan is deleted through google.other");
    let deletes_one = one.requests()[before_one..].iter().filter(|r| r.method == "DELETE").count();
    assert_eq!(deletes_one, 0, "no delete reached the default configuration's cloud");
    assert!(two.requests().len() > before_two);
    one.shutdown().await;
    two.shutdown().await;
}

#[test]
fn validate_reports_an_undefined_alias_without_credentials() {
    let s = TestStack::new(&[
        ("providers.tf", PROVIDERS),
        (
            "main.tf",
            "resource \"google_secret_manager_secret\" \"x\" {\n  provider  = google.othre\n  secret_id = \"x\"\n  replication {\n    auto {}\n  }\n}\n",
        ),
    ]);
    let o = run_cairn(&["validate", s.path().to_str().unwrap()], s.path());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("Provider configuration \"google.othre\" not present"), "{err}");
    assert!(err.contains("main.tf:2:15"), "{err}");
    assert!(err.contains("did you mean \"other\"?"), "{err}");
}
