//! The adaptive per-API limits against Terraform's fixed ones (`--parallelism-fixed`), end to
//! end: the same apply through the emulator while its quota is spent (every request refused
//! with 429 or 503 for the first moments), counting the refused attempts each mode makes.

use crate::support::*;
use cairn::cli::args::{ADAPTIVE_PARALLELISM, FIXED_PARALLELISM};
use cairn::emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use cairn::providers::google::limiter::Concurrency;
use cairn::providers::google::GoogleOptions;
use cairn::providers::Registry;
use std::time::Duration;

const SECRETS: usize = 30;

fn stack() -> String {
    format!(
        r#"
provider "google" {{
  project = "cairn-test"
  region  = "us-central1"
}}

resource "google_secret_manager_secret" "s" {{
  count     = {SECRETS}
  secret_id = "quota-${{count.index}}"
  replication {{
    auto {{}}
  }}
}}
"#
    )
}

/// Applies the stack while the emulator refuses every request for its first `outage`; the
/// attempts refused, once every secret exists and a new plan has nothing to do.
async fn refused_attempts(concurrency: Concurrency, parallelism: usize, outage: Duration) -> usize {
    let emu: EmulatorHandle = Emulator::start(EmulatorConfig::for_tests()).await.expect("start the emulator");
    let s = TestStack::new(&[("main.tf", &stack())]);
    let options = GoogleOptions { emulator: Some(emu.endpoint()), concurrency };
    let c = common(s.path(), Registry::standard(options));
    let mut args = apply_args(&c);
    args.plan.parallelism = parallelism;

    emu.set_fault_rate(1.0);
    let quota_back = {
        let emu = emu.clone();
        tokio::spawn(async move {
            tokio::time::sleep(outage).await;
            emu.set_fault_rate(0.0);
        })
    };
    let result = cairn::ops::apply(args, &mut |_| true).await;
    quota_back.await.unwrap();
    let result = result.unwrap_or_else(|e| panic!("{concurrency:?}: apply failed: {}", describe(&e)));
    let outcome = result.outcome.expect("an apply ran");
    assert!(outcome.failed.is_empty(), "{concurrency:?}: {:?}", outcome.failed);

    assert!(!plan(&c).await.has_changes(), "{concurrency:?}: everything was created");
    let created = emu.requests().iter().filter(|r| r.method == "POST" && r.status == 200 && !r.faulted).count();
    assert_eq!(created, SECRETS, "{concurrency:?}: each secret created once");
    let refused = emu.requests().iter().filter(|r| r.faulted).count();
    emu.shutdown().await;
    refused
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_quota_costs_fewer_refused_attempts_with_adaptive_limits_than_fixed_ones() {
    let outage = Duration::from_millis(800);
    let fixed = refused_attempts(Concurrency::Fixed, FIXED_PARALLELISM, outage).await;
    let adaptive = refused_attempts(Concurrency::Adaptive, ADAPTIVE_PARALLELISM, outage).await;
    eprintln!("refused attempts during a {outage:?} outage: fixed {fixed}, adaptive {adaptive}");
    assert!(fixed > 0 && adaptive > 0, "the outage refused attempts in both modes: fixed {fixed}, adaptive {adaptive}");
    assert!(adaptive < fixed, "adaptive made {adaptive} refused attempts, fixed {fixed}");
}
