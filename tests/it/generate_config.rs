//! `plan -generate-config-out=FILE` (issue 17 point 7), against the in-process emulator: objects
//! of the staging stack's types, made by another stack, are adopted by `import` blocks that
//! have no resource block; the generated configuration imports them and then plans with no
//! changes.

use crate::support::*;
use cairn::cli::render::{json_ui, text, RenderOptions};
use cairn::emulator::{Emulator, EmulatorConfig};
use cairn::ops::{self, PlanArgs};
use cairn::plan::Action;
use cairn::providers::google::GoogleOptions;
use cairn::providers::Registry;

const PROJECT: &str = "netra-staging";

/// The objects to adopt, as the staging stack makes them.
const SEED: &str = r#"
provider "google" {
  project = "netra-staging"
  region  = "us-central1"
}

resource "google_secret_manager_secret" "api_key" {
  secret_id = "api-key-staging"
  labels = {
    team = "platform"
  }
  replication {
    auto {}
  }
}

resource "google_compute_health_check" "backend" {
  name                = "staging-backend-health-check"
  timeout_sec         = 30
  check_interval_sec  = 60
  unhealthy_threshold = 5
  healthy_threshold   = 2
  http_health_check {
    request_path = "/health"
  }
}

resource "google_cloud_run_v2_service" "backend" {
  name                = "backend-staging"
  location            = "us-central1"
  ingress             = "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"
  deletion_protection = false

  template {
    timeout = "600s"
    scaling {
      min_instance_count = 1
      max_instance_count = 5
    }
    containers {
      image = "gcr.io/netra-staging/backend:latest"
      ports {
        container_port = 8080
      }
      env {
        name  = "ENVIRONMENT"
        value = "staging"
      }
    }
  }
}

resource "google_sql_database_instance" "db" {
  name                = "netra-staging-db"
  database_version    = "POSTGRES_14"
  region              = "us-central1"
  deletion_protection = false

  settings {
    tier = "db-f1-micro"
  }
}

resource "google_sql_database" "netra" {
  name     = "netra_db"
  instance = google_sql_database_instance.db.name
}
"#;

const ADOPTED: [(&str, &str); 4] = [
    ("google_secret_manager_secret", "api_key"),
    ("google_compute_health_check", "backend"),
    ("google_cloud_run_v2_service", "backend"),
    ("google_sql_database", "netra"),
];

#[tokio::test]
async fn generated_configuration_imports_the_objects_and_then_plans_no_changes() {
    let emu = Emulator::start(EmulatorConfig::for_tests()).await.expect("start the emulator");
    let registry = || Registry::standard(GoogleOptions { emulator: Some(emu.endpoint()), ..Default::default() });
    let seed = TestStack::new(&[("main.tf", SEED)]);
    apply(&common(seed.path(), registry())).await;

    // The adopting stack names each object by its import id (the seed's `id`) and has no
    // resource block for any of them.
    let mut imports = format!("provider \"google\" {{\n  project = \"{PROJECT}\"\n  region  = \"us-central1\"\n}}\n");
    for (type_name, name) in ADOPTED {
        let addr = format!("{type_name}.{name}");
        let (_, stored) = ops::state_show(seed.path(), &addr).await.expect("seeded");
        let id = stored.attributes["id"].as_str().expect("an id").to_string();
        imports.push_str(&format!("\nimport {{\n  to = {addr}\n  id = \"{id}\"\n}}\n"));
    }
    let s = TestStack::new(&[("main.tf", &imports)]);

    // Without -generate-config-out, a target without a resource block is an error.
    let e = ops::plan(PlanArgs::new(common(s.path(), registry()))).await.err().expect("refused");
    assert!(describe(&e).contains("has no resource block"), "{}", describe(&e));

    let mut a = PlanArgs::new(common(s.path(), registry()));
    a.generate_config_out = Some("generated.tf".into());
    let r = match ops::plan(a).await {
        Ok(r) => r,
        Err(e) => {
            panic!("{}\n{}", describe(&e), std::fs::read_to_string(s.path().join("generated.tf")).unwrap_or_default())
        }
    };
    let generated = std::fs::read_to_string(s.path().join("generated.tf")).expect("the file is written");
    let g = r.generated.as_ref().expect("something was generated");
    assert_eq!(g.resources.len(), ADOPTED.len());
    assert!(
        generated.starts_with(
            "# __generated__ by Cairn\n# Please review these resources and move them into your main configuration files.\n\n"
        ),
        "{generated}"
    );
    // In `cairn fmt` layout, and only arguments: computed attributes are left out.
    assert_eq!(cairn::lang::fmt::format_source(&generated).unwrap(), generated);
    for (type_name, name) in ADOPTED {
        assert!(generated.contains(&format!("resource \"{type_name}\" \"{name}\" {{")), "{generated}");
    }
    for computed in ["self_link", "creation_timestamp", "effective_labels", "uid ", "etag"] {
        assert!(!generated.contains(computed), "{computed} in:\n{generated}");
    }
    assert!(generated.contains("secret_id = \"api-key-staging\""), "{generated}");
    assert!(generated.contains("http_health_check {"), "{generated}");
    assert!(generated.contains("request_path = \"/health\""), "{generated}");

    // The plan went on with the generated configuration: every object is imported, nothing
    // else changes.
    let p = &r.plan;
    let shown = text::plan_text(p, &RenderOptions::default());
    let c = p.counts();
    assert_eq!((c.import, c.add, c.change, c.destroy), (ADOPTED.len(), 0, 0, 0), "{generated}\n{shown}");
    assert!(p.changes.iter().filter(|c| c.importing.is_some()).all(|c| c.action == Action::NoOp), "{shown}");
    // The machine-readable plan says what was generated for each import.
    let lines = json_ui::plan_messages(p, true, &|addr| {
        g.resources.iter().find(|(a, _)| a == addr).map(|(_, hcl)| hcl.clone())
    });
    let planned: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|m| m["type"] == "planned_change")
        .collect();
    assert_eq!(planned.len(), ADOPTED.len());
    for m in &planned {
        assert_eq!(m["change"]["action"], "import", "{m}");
        assert!(m["change"]["importing"]["id"].is_string(), "{m}");
        assert!(m["change"]["generated_config"].as_str().unwrap().contains("resource \""), "{m}");
    }

    // The import, then a plan with no changes.
    let applied = apply(&common(s.path(), registry())).await;
    assert!(applied.outcome.is_some());
    let p = plan(&common(s.path(), registry())).await;
    assert!(!p.has_changes(), "{generated}\n{}", text::plan_text(&p, &RenderOptions::default()));

    // The file is never overwritten.
    let mut a = PlanArgs::new(common(s.path(), registry()));
    a.generate_config_out = Some("generated.tf".into());
    let e = ops::plan(a).await.err().expect("refused");
    assert!(describe(&e).starts_with("Target generated file already exists: generated.tf."), "{}", describe(&e));
    assert_eq!(std::fs::read_to_string(s.path().join("generated.tf")).unwrap(), generated);
}

#[tokio::test]
async fn a_generated_file_must_be_a_new_tf_file_of_the_stack() {
    let s = TestStack::new(&[("main.tf", "import {\n  to = fake_thing.a\n  id = \"x\"\n}\n")]);
    let cloud = FakeCloud::default();
    for bad in ["generated.txt", "sub/generated.tf", "../generated.tf"] {
        let mut a = PlanArgs::new(common(s.path(), cloud.registry()));
        a.generate_config_out = Some(bad.into());
        let e = ops::plan(a).await.err().expect("refused");
        assert!(
            describe(&e).contains("name a new .tf file directly in the stack directory"),
            "{bad}: {}",
            describe(&e)
        );
    }
    // An import the provider refuses writes nothing and is located at its import block.
    let mut a = PlanArgs::new(common(s.path(), cloud.registry()));
    a.generate_config_out = Some("generated.tf".into());
    let e = describe(&ops::plan(a).await.err().expect("refused"));
    assert!(e.contains("Cannot import fake_thing.a (id \"x\")"), "{e}");
    assert!(e.contains("main.tf:1:1"), "{e}");
    assert!(!s.path().join("generated.tf").exists());
}

#[tokio::test]
async fn a_secret_argument_becomes_a_sensitive_variable_and_is_never_written() {
    let cloud = FakeCloud::default();
    let seed = TestStack::new(&[(
        "main.tf",
        "resource \"fake_thing\" \"a\" {\n  name   = \"a\"\n  secret = \"s3cr3t-in-the-cloud\"\n  labels = {\n    team = \"x\"\n  }\n}\n",
    )]);
    apply(&common(seed.path(), cloud.registry())).await;
    let s = TestStack::new(&[("main.tf", "import {\n  to = fake_thing.a\n  id = \"thing-0\"\n}\n")]);
    // The secret's value comes as any secret's does, here from the environment (TF_VAR_…).
    let mut c = common(s.path(), cloud.registry());
    c.vars.env = vec![("fake_thing_a_secret".into(), "s3cr3t-in-the-cloud".into())];
    let mut a = PlanArgs::new(c.clone());
    a.generate_config_out = Some("generated.tf".into());
    let r = ops::plan(a).await.unwrap_or_else(|e| panic!("{}", describe(&e)));
    let generated = std::fs::read_to_string(s.path().join("generated.tf")).unwrap();
    assert!(!generated.contains("s3cr3t"), "{generated}");
    assert!(generated.contains("  secret = var.fake_thing_a_secret\n"), "{generated}");
    assert!(
        generated.contains("variable \"fake_thing_a_secret\" {\n  type      = string\n  sensitive = true\n}\n"),
        "{generated}"
    );
    // `size` is at its default and `id`/`status` are computed: none is written.
    for left_out in ["size", "status", "  id "] {
        assert!(!generated.contains(left_out), "{left_out} in:\n{generated}");
    }
    assert!(generated.contains("# __generated__ by Cairn from \"thing-0\"\n"), "{generated}");
    assert_eq!(r.plan.counts().import, 1);
    assert!(!r.plan.actionable().any(|_| true), "{}", text::plan_text(&r.plan, &RenderOptions::default()));
    assert!(apply(&c).await.outcome.is_some());
    let p = plan(&c).await;
    assert!(!p.has_changes(), "{}", text::plan_text(&p, &RenderOptions::default()));
}
