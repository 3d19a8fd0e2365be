//! The provider's `deletion_policy` on a generated type (a client-only attribute the core
//! honours): PREVENT refuses a destroy at plan time, ABANDON forgets the object and leaves it in
//! the cloud, DELETE (the default) deletes it.

use crate::support::*;
use cairn::emulator::{Emulator, EmulatorConfig};
use cairn::ops;
use cairn::plan::PlanMode;
use cairn::providers::google::GoogleOptions;
use cairn::providers::Registry;

fn stack(policy: &str) -> String {
    format!(
        r#"
provider "google" {{
  project = "netra-staging"
}}

resource "google_compute_health_check" "backend" {{
  name            = "staging-backend-health-check"
  deletion_policy = "{policy}"
  http_health_check {{
    request_path = "/health"
  }}
}}
"#
    )
}

async fn health_checks(endpoint: String) -> usize {
    let client = google_cloud_compute_v1::client::HealthChecks::builder()
        .with_endpoint(endpoint)
        .with_credentials(google_cloud_auth::credentials::anonymous::Builder::new().build())
        .build()
        .await
        .expect("compute SDK client");
    let list = client.list().set_project("netra-staging").send().await.expect("list health checks");
    list.items.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prevent_refuses_abandon_forgets_delete_deletes() {
    let emu = Emulator::start(EmulatorConfig::for_tests()).await.expect("start the emulator");
    let s = TestStack::new(&[("main.tf", &stack("PREVENT"))]);
    let c =
        common(s.path(), Registry::standard(GoogleOptions { emulator: Some(emu.endpoint()), ..Default::default() }));
    apply(&c).await;
    assert!(actions(&plan(&c).await).is_empty(), "the policy is kept across a refresh");

    let mut destroy_plan = ops::PlanArgs::new(c.clone());
    destroy_plan.mode = PlanMode::Destroy;
    let refused = match ops::plan(destroy_plan).await {
        Ok(_) => panic!("a destroy of a PREVENT object must be refused"),
        Err(e) => describe(&e),
    };
    assert!(
        refused.contains(
            "Instance cannot be destroyed: google_compute_health_check.backend has deletion_policy = \"PREVENT\""
        ) && refused.contains("main.tf:"),
        "{refused}"
    );
    assert_eq!(health_checks(emu.endpoint()).await, 1);

    // ABANDON: an in-place change of a client-only attribute, then a destroy that forgets.
    s.write("main.tf", &stack("ABANDON"));
    assert_eq!(actions(&plan(&c).await), [("google_compute_health_check.backend".to_string(), "update")]);
    apply(&c).await;
    let r = destroy(&c).await;
    assert!(r.outcome.as_ref().is_some_and(|o| o.failed.is_empty()), "{:?}", r.outcome.map(|o| o.failed));
    assert_eq!(health_checks(emu.endpoint()).await, 1, "abandoned, not deleted");
    assert!(actions(&plan_mode(&c, PlanMode::Destroy).await).is_empty(), "and gone from state");

    // DELETE: a fresh stack over another name deletes for real.
    let s2 = TestStack::new(&[("main.tf", &stack("DELETE").replace("staging-backend", "staging-auth"))]);
    let c2 =
        common(s2.path(), Registry::standard(GoogleOptions { emulator: Some(emu.endpoint()), ..Default::default() }));
    apply(&c2).await;
    assert_eq!(health_checks(emu.endpoint()).await, 2);
    destroy(&c2).await;
    assert_eq!(health_checks(emu.endpoint()).await, 1);
}
