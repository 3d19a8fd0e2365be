//! Realistic mode through the official SDK clients: rate quotas refused with the real body
//! (RESOURCE_EXHAUSTED and its ErrorInfo for AIP APIs, Compute's 403 rateLimitExceeded),
//! buckets counted apart, refusals counted, drawn latency and operation durations.

use std::time::{Duration, Instant};

use crate::support::emulator_http;
use cairn::emulator::realistic::{ApiCounts, RealisticConfig};
use cairn::emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use google_cloud_auth::credentials::anonymous;
use google_cloud_gax::error::rpc::{Code, StatusDetails};
use google_cloud_gax::retry_policy::NeverRetry;
use google_cloud_secretmanager_v1::client::SecretManagerService;
use google_cloud_secretmanager_v1::model::{replication, Replication, Secret};
use serde_json::json;

async fn start(realistic: RealisticConfig) -> EmulatorHandle {
    Emulator::start(EmulatorConfig { realistic: Some(realistic), ..EmulatorConfig::for_tests() })
        .await
        .expect("emulator starts")
}

/// A minute of 6 s: long enough that a test's requests fall in one window, latencies of
/// about 10 ms.
fn tenth(overrides: &[&str]) -> RealisticConfig {
    RealisticConfig {
        time_scale: 0.1,
        quota_overrides: overrides.iter().map(|o| o.parse().expect("quota")).collect(),
        ..RealisticConfig::default()
    }
}

async fn secret_manager(emu: &EmulatorHandle) -> SecretManagerService {
    SecretManagerService::builder()
        .with_endpoint(emu.endpoint())
        .with_credentials(anonymous::Builder::new().build())
        .with_retry_policy(NeverRetry)
        .build()
        .await
        .expect("client builds")
}

async fn create_secret(sm: &SecretManagerService, id: &str) -> Result<Secret, google_cloud_gax::error::Error> {
    sm.create_secret()
        .set_parent("projects/quota-test")
        .set_secret_id(id)
        .set_secret(Secret::new().set_replication(Replication::new().set_automatic(replication::Automatic::new())))
        .send()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exhausted_quota_reaches_the_sdk_as_resource_exhausted_with_its_error_info() {
    let emu = start(tenth(&["secretmanager:write=2"])).await;
    let sm = secret_manager(&emu).await;
    create_secret(&sm, "a").await.expect("first write");
    create_secret(&sm, "b").await.expect("second write");
    let err = create_secret(&sm, "c").await.expect_err("the third write is over quota");
    assert_eq!(err.http_status_code(), Some(429));
    let status = err.status().expect("a service error");
    assert_eq!(status.code, Code::ResourceExhausted);
    let number = cairn::emulator::projects::derive_number("quota-test");
    assert_eq!(
        status.message,
        format!(
            "Quota exceeded for quota metric 'Write requests' and limit 'Write requests per minute' of service \
             'secretmanager.googleapis.com' for consumer 'project_number:{number}'."
        )
    );
    let info = status
        .details
        .iter()
        .find_map(|d| match d {
            StatusDetails::ErrorInfo(info) => Some(info),
            _ => None,
        })
        .expect("an ErrorInfo detail");
    assert_eq!(info.reason, "RATE_LIMIT_EXCEEDED");
    assert_eq!(info.domain, "googleapis.com");
    assert_eq!(info.metadata.get("quota_limit_value").map(String::as_str), Some("2"));
    assert_eq!(info.metadata.get("consumer"), Some(&format!("projects/{number}")));
    assert_eq!(
        info.metadata.get("quota_metric").map(String::as_str),
        Some("secretmanager.googleapis.com/write_requests")
    );

    // The refused create changed nothing; reads have their own bucket and still answer.
    let got = sm.get_secret().set_name("projects/quota-test/secrets/a").send().await.expect("reads are not refused");
    assert!(got.name.ends_with("/secrets/a"));
    let missing = sm.get_secret().set_name("projects/quota-test/secrets/c").send().await.expect_err("never created");
    assert_eq!(missing.status().map(|s| s.code), Some(Code::NotFound));

    let counts = emu.realistic_counts().expect("realistic mode counts");
    assert_eq!(counts["secretmanager"], ApiCounts { requests: 5, throttled: 1 });
    // Every answer, the refusal too, is recorded (without a body).
    let statuses: Vec<u16> = emu.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![200, 200, 429, 200, 404]);
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compute_refuses_with_its_own_403_rate_limit_exceeded() {
    let emu = start(tenth(&["compute:write=1", "compute:list=1"])).await;
    let hc = |name: &str| json!({"name": name, "type": "TCP", "tcpHealthCheck": {"port": 80}});
    let target = "/compute/v1/projects/quota-test/global/healthChecks";
    let (status, _, _) = emulator_http(&emu, "POST", target, Some(hc("one"))).await;
    assert_eq!(status, 200);
    let (status, _, body) = emulator_http(&emu, "POST", target, Some(hc("two"))).await;
    assert_eq!(status, 403, "{body}");
    let e = &body["error"];
    assert_eq!(e["errors"][0]["reason"], "rateLimitExceeded");
    assert_eq!(e["errors"][0]["domain"], "usageLimits");
    let message = e["message"].as_str().expect("message");
    assert!(message.starts_with("Quota exceeded for quota metric 'Queries' and limit 'Queries per minute' of service 'compute.googleapis.com'"), "{message}");
    // Cairn's retry rules (Terraform's) treat exactly this as a per-minute quota to wait out.
    assert!(message.contains("per minute"));
    // Lists and gets are separate buckets: one list allowed, the second refused, gets still fine.
    assert_eq!(emulator_http(&emu, "GET", target, None).await.0, 200);
    assert_eq!(emulator_http(&emu, "GET", target, None).await.0, 403);
    // (The get is answered, not refused: 404 while the insert's operation still runs, 200 after.)
    let get = emulator_http(&emu, "GET", &format!("{target}/one"), None).await.0;
    assert!(get == 200 || get == 404, "a get is counted in the read bucket, not refused: {get}");
    let counts = emu.realistic_counts().expect("counts");
    assert_eq!(counts["compute"], ApiCounts { requests: 5, throttled: 2 });
    emu.reset_realistic_counts();
    assert!(emu.realistic_counts().expect("counts").is_empty());
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_last_what_their_type_takes_and_answers_wait_a_drawn_latency() {
    // At a scale of 0.001 a health check (about 6 s) takes about 6 ms and a Cloud SQL
    // instance (about 12 minutes) about 0.7 s.
    let emu = start(RealisticConfig::scaled(0.001)).await;
    let started = Instant::now();
    let (status, _, op) = emulator_http(
        &emu,
        "POST",
        "/v1/projects/quota-test/instances",
        Some(json!({"name": "db", "databaseVersion": "POSTGRES_15", "region": "us-central1",
                    "settings": {"tier": "db-f1-micro"}})),
    )
    .await;
    assert_eq!(status, 200, "{op}");
    let op_name = op["name"].as_str().expect("operation name").to_string();
    let (_, _, hc_op) = emulator_http(
        &emu,
        "POST",
        "/compute/v1/projects/quota-test/global/healthChecks",
        Some(json!({"name": "hc", "type": "TCP", "tcpHealthCheck": {"port": 80}})),
    )
    .await;
    let hc_op_name = hc_op["name"].as_str().expect("compute operation").to_string();
    tokio::time::sleep(Duration::from_millis(150)).await;
    let (_, _, hc_done) =
        emulator_http(&emu, "GET", &format!("/compute/v1/projects/quota-test/global/operations/{hc_op_name}"), None)
            .await;
    assert_eq!(hc_done["status"], "DONE", "a health check is done within 150 scaled ms (150 s real)");
    let (_, _, sql_op) =
        emulator_http(&emu, "GET", &format!("/v1/projects/quota-test/operations/{op_name}"), None).await;
    assert_ne!(sql_op["status"], "DONE", "a Cloud SQL instance is still being created: {sql_op}");
    loop {
        let (_, _, sql_op) =
            emulator_http(&emu, "GET", &format!("/v1/projects/quota-test/operations/{op_name}"), None).await;
        if sql_op["status"] == "DONE" {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "the instance never finished: {sql_op}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took = started.elapsed();
    assert!(took > Duration::from_millis(200), "minutes of real time, scaled: {took:?}");
    emu.shutdown().await;
}
