//! The google provider's Secret Manager types end to end, against the in-process emulator:
//! life cycle, list-based refresh, drift made through the official SDK, convergence under
//! injected faults, and secrets kept out of everything Cairn writes or prints.

use crate::support::*;
use cairn::cli::render::{json, markdown, text, RenderOptions};
use cairn::emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use cairn::ops::{self, PlanArgs};
use cairn::plan::{Action, PlanMode};
use cairn::providers::google::GoogleOptions;
use cairn::providers::Registry;
use google_cloud_secretmanager_v1::client::SecretManagerService;
use google_cloud_secretmanager_v1::model;

const PROJECT: &str = "cairn-test";

const NAMES: [&str; 10] = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"];

/// Ten secrets; three get their value from a sensitive variable through `secret_data_wo`, one
/// from a generated password, two from plain (but sensitive-typed) strings.
const STACK: &str = r#"
provider "google" {
  project = "cairn-test"
  region  = "us-central1"
}

variable "api_tokens" {
  type      = map(string)
  sensitive = true
}

variable "token_version" {
  type    = string
  default = "1"
}

variable "team" {
  type    = string
  default = "platform"
}

locals {
  names = toset(["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"])
  rotated = toset(["alpha", "bravo", "charlie"])
}

resource "google_secret_manager_secret" "s" {
  for_each  = local.names
  secret_id = "app-${each.key}"
  labels = {
    team = var.team
    name = each.key
  }
  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_version" "token" {
  for_each               = local.rotated
  secret                 = google_secret_manager_secret.s[each.key].id
  secret_data_wo         = var.api_tokens[each.key]
  secret_data_wo_version = var.token_version
}

resource "random_password" "db" {
  length  = 24
  special = false
}

resource "google_secret_manager_secret_version" "db" {
  secret      = google_secret_manager_secret.s["delta"].id
  secret_data = random_password.db.result
}

resource "google_secret_manager_secret_version" "plain" {
  for_each    = toset(["echo", "foxtrot"])
  secret      = google_secret_manager_secret.s[each.key].id
  secret_data = "config-${each.key}"
}
"#;

const RESOURCES: usize = 10 + 3 + 1 + 2 + 1;

fn tokens(round: u32) -> String {
    format!(r#"{{ alpha = "TOKEN-A-{round}-7f3e", bravo = "TOKEN-B-{round}-7f3e", charlie = "TOKEN-C-{round}-7f3e" }}"#)
}

fn token(name: &str, round: u32) -> String {
    format!("TOKEN-{}-{round}-7f3e", name[..1].to_uppercase())
}

async fn emulator() -> EmulatorHandle {
    Emulator::start(EmulatorConfig::for_tests()).await.expect("start the emulator")
}

fn stack_common(s: &TestStack, emu: &EmulatorHandle, round: u32, extra: &[&str]) -> cairn::ops::Common {
    let mut c =
        common(s.path(), Registry::standard(GoogleOptions { emulator: Some(emu.endpoint()), ..Default::default() }));
    c.vars.env = vec![("api_tokens".into(), tokens(round))];
    with_vars(c, extra)
}

/// The official client, as a user (or the console) would use it.
async fn sdk(emu: &EmulatorHandle) -> SecretManagerService {
    SecretManagerService::builder()
        .with_endpoint(emu.endpoint())
        .with_credentials(google_cloud_auth::credentials::anonymous::Builder::new().build())
        .with_retry_policy(google_cloud_gax::retry_policy::NeverRetry)
        .build()
        .await
        .expect("SDK client")
}

async fn secret_ids(sm: &SecretManagerService) -> Vec<String> {
    let r = sm
        .list_secrets()
        .set_parent(format!("projects/{PROJECT}"))
        .set_page_size(1000)
        .send()
        .await
        .expect("list secrets");
    let mut ids: Vec<String> =
        r.secrets.iter().map(|s| s.name.rsplit('/').next().unwrap_or_default().to_string()).collect();
    ids.sort();
    ids
}

async fn versions(sm: &SecretManagerService, secret: &str) -> Vec<model::SecretVersion> {
    let r = sm
        .list_secret_versions()
        .set_parent(format!("projects/{PROJECT}/secrets/{secret}"))
        .set_page_size(1000)
        .send()
        .await
        .expect("list versions");
    let mut vs = r.versions;
    vs.sort_by_key(|v| v.name.rsplit('/').next().and_then(|n| n.parse::<u64>().ok()).unwrap_or(0));
    vs
}

async fn access(sm: &SecretManagerService, version_name: &str) -> String {
    let r = sm.access_secret_version().set_name(version_name.to_string()).send().await.expect("access");
    String::from_utf8(r.payload.map(|p| p.data.to_vec()).unwrap_or_default()).expect("utf-8 payload")
}

fn count_actions(p: &cairn::plan::Plan, action: Action) -> usize {
    p.changes.iter().filter(|c| c.action == action).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_secrets_life_cycle_with_rotation() {
    let emu = emulator().await;
    let sm = sdk(&emu).await;
    let s = TestStack::new(&[("main.tf", STACK)]);
    let c = stack_common(&s, &emu, 1, &[]);

    let p = plan(&c).await;
    assert_eq!(count_actions(&p, Action::Create), RESOURCES, "{:?}", actions(&p));
    apply(&c).await;

    let ids = secret_ids(&sm).await;
    assert_eq!(ids, NAMES.iter().map(|n| format!("app-{n}")).collect::<Vec<_>>());
    for n in ["alpha", "bravo", "charlie"] {
        let vs = versions(&sm, &format!("app-{n}")).await;
        assert_eq!(vs.len(), 1, "{n}");
        assert_eq!(access(&sm, &vs[0].name).await, token(n, 1), "the write-only value reached the API");
    }
    let plain = versions(&sm, "app-echo").await;
    assert_eq!(access(&sm, &plain[0].name).await, "config-echo");
    let db = versions(&sm, "app-delta").await;
    assert_eq!(access(&sm, &db[0].name).await.len(), 24, "the generated password");
    assert!(versions(&sm, "app-golf").await.is_empty());

    // Nothing to do right after.
    let p = plan(&c).await;
    assert!(!p.has_changes(), "{:?}", actions(&p));

    // A label change updates every secret in place.
    let relabel = stack_common(&s, &emu, 1, &["team=data"]);
    let p = plan(&relabel).await;
    assert_eq!(count_actions(&p, Action::Update), 10, "{:?}", actions(&p));
    assert_eq!(actions(&p).len(), 10, "only the secrets change: {:?}", actions(&p));
    apply(&relabel).await;
    let live = sm.get_secret().set_name(format!("projects/{PROJECT}/secrets/app-golf")).send().await.unwrap();
    assert_eq!(live.labels.get("team").map(String::as_str), Some("data"));
    assert!(!plan(&relabel).await.has_changes());

    // Rotation: bump secret_data_wo_version with new values. The versions are replaced, the
    // secrets are not.
    let rotate = stack_common(&s, &emu, 2, &["team=data", "token_version=2"]);
    let p = plan(&rotate).await;
    let changed: Vec<(String, &str)> = actions(&p);
    assert_eq!(changed.len(), 3, "{changed:?}");
    assert!(changed.iter().all(|(a, _)| a.starts_with("google_secret_manager_secret_version.token[")), "{changed:?}");
    assert!(p.changes.iter().filter(|c| c.action != Action::NoOp).all(|c| c.action.is_replace()), "{changed:?}");
    apply(&rotate).await;
    for n in ["alpha", "bravo", "charlie"] {
        let vs = versions(&sm, &format!("app-{n}")).await;
        assert_eq!(vs.len(), 2, "{n}: a new version, the old one destroyed");
        assert_eq!(vs[0].state, model::secret_version::State::Destroyed, "{n}");
        assert_eq!(vs[1].state, model::secret_version::State::Enabled, "{n}");
        assert_eq!(access(&sm, &vs[1].name).await, token(n, 2));
    }
    assert_eq!(secret_ids(&sm).await.len(), 10, "no secret was replaced");
    assert!(!plan(&rotate).await.has_changes());

    destroy(&rotate).await;
    assert!(secret_ids(&sm).await.is_empty());
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_lists_instead_of_getting_each_resource() {
    let emu = emulator().await;
    let s = TestStack::new(&[("main.tf", STACK)]);
    let c = stack_common(&s, &emu, 1, &[]);
    apply(&c).await;

    emu.clear_requests();
    let p = plan(&c).await;
    assert!(!p.has_changes(), "{:?}", actions(&p));
    let reqs = emu.requests();
    let gets: Vec<&str> = reqs.iter().filter(|r| r.method == "GET").map(|r| r.path.as_str()).collect();
    let single_secret = regex::Regex::new(r"/secrets/[^/]+$").unwrap();
    let single_version = regex::Regex::new(r"/versions/[^/]+$").unwrap();
    let per_resource: Vec<&&str> =
        gets.iter().filter(|p| single_secret.is_match(p) || single_version.is_match(p)).collect();
    assert!(per_resource.is_empty(), "refresh must not GET each resource: {per_resource:?}");
    // One secrets.list for the project and one versions.list per secret that has versions.
    assert_eq!(gets.iter().filter(|p| p.ends_with(&format!("/projects/{PROJECT}/secrets"))).count(), 1, "{gets:?}");
    assert_eq!(gets.iter().filter(|p| p.ends_with("/versions")).count(), 6, "{gets:?}");
    assert!(gets.len() < RESOURCES, "{} requests for {RESOURCES} resources: {gets:?}", gets.len());
    assert!(
        reqs.iter().all(|r| r.method == "GET"),
        "a plan never mutates: {:?}",
        reqs.iter().map(|r| (&r.method, &r.path)).collect::<Vec<_>>()
    );
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_made_through_the_sdk_is_named() {
    let emu = emulator().await;
    let sm = sdk(&emu).await;
    let s = TestStack::new(&[("main.tf", STACK)]);
    let c = stack_common(&s, &emu, 1, &[]);
    apply(&c).await;
    assert!(plan_mode(&c, PlanMode::RefreshOnly).await.drift.is_empty());

    // Someone disables alpha's token and relabels bravo in the console.
    let alpha = versions(&sm, "app-alpha").await;
    sm.disable_secret_version().set_name(alpha[0].name.clone()).send().await.expect("disable");
    let bravo = sm.get_secret().set_name(format!("projects/{PROJECT}/secrets/app-bravo")).send().await.unwrap();
    let mut labels = bravo.labels.clone();
    labels.insert("team".into(), "rogue".into());
    sm.update_secret()
        .set_secret(model::Secret::new().set_name(bravo.name.clone()).set_labels(labels))
        .set_update_mask(google_cloud_wkt::FieldMask::default().set_paths(["labels"]))
        .send()
        .await
        .expect("relabel");

    let drift = plan_mode(&c, PlanMode::RefreshOnly).await;
    let mut found: Vec<(String, Vec<String>)> = drift
        .drift
        .iter()
        .map(|d| (d.addr.to_string(), d.changed_paths.iter().map(|p| p.to_string()).collect()))
        .collect();
    found.sort();
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0].0, "google_secret_manager_secret.s[\"bravo\"]");
    assert!(found[0].1.contains(&"labels.team".to_string()), "{found:?}");
    assert_eq!(found[1].0, "google_secret_manager_secret_version.token[\"alpha\"]");
    assert_eq!(found[1].1, vec!["enabled".to_string()]);
    let rendered = text::drift_text(&drift, &RenderOptions { color: false });
    assert!(
        rendered.contains("google_secret_manager_secret.s[\"bravo\"]") && rendered.contains("enabled"),
        "{rendered}"
    );

    // The normal plan puts both back in place, without replacing anything.
    let p = plan(&c).await;
    let mut acts = actions(&p);
    acts.sort();
    assert_eq!(
        acts,
        vec![
            ("google_secret_manager_secret.s[\"bravo\"]".to_string(), "update"),
            ("google_secret_manager_secret_version.token[\"alpha\"]".to_string(), "update"),
        ]
    );
    apply(&c).await;
    assert_eq!(versions(&sm, "app-alpha").await[0].state, model::secret_version::State::Enabled);
    assert!(plan_mode(&c, PlanMode::RefreshOnly).await.drift.is_empty());
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_converges_under_faults_without_duplicates() {
    let emu = emulator().await;
    let sm = sdk(&emu).await;
    let s = TestStack::new(&[("main.tf", STACK)]);
    let c = stack_common(&s, &emu, 1, &[]);

    emu.set_fault_rate(0.2);
    apply(&c).await;
    let p = plan(&c).await;
    emu.set_fault_rate(0.0);
    assert!(!p.has_changes(), "{:?}", actions(&p));
    assert!(emu.requests().iter().any(|r| r.faulted), "faults were injected");

    assert_eq!(secret_ids(&sm).await.len(), 10);
    for (secret, expected) in [
        ("alpha", 1),
        ("bravo", 1),
        ("charlie", 1),
        ("delta", 1),
        ("echo", 1),
        ("foxtrot", 1),
        ("golf", 0),
        ("hotel", 0),
        ("india", 0),
        ("juliet", 0),
    ] {
        assert_eq!(versions(&sm, &format!("app-{secret}")).await.len(), expected, "{secret}: no duplicate versions");
    }
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_value_reaches_state_plans_or_output() {
    let emu = emulator().await;
    let sm = sdk(&emu).await;
    let s = TestStack::new(&[("main.tf", STACK)]);
    let c = stack_common(&s, &emu, 1, &[]);

    let planfile = s.path().join("p.cairnplan");
    let mut a = PlanArgs::new(c.clone());
    a.out = Some(planfile.clone());
    let p = ops::plan(a).await.unwrap_or_else(|e| panic!("{}", describe(&e))).plan;
    let mut rendered = String::new();
    rendered += &text::plan_text(&p, &RenderOptions { color: false });
    rendered += &json::plan_json(&p).to_string();
    rendered += &markdown::plan_markdown(&p);

    apply(&c).await;
    let rotate = stack_common(&s, &emu, 2, &["token_version=2"]);
    let p2 = plan(&rotate).await;
    rendered += &text::plan_text(&p2, &RenderOptions { color: false });
    rendered += &json::plan_json(&p2).to_string();
    rendered += &markdown::plan_markdown(&p2);
    apply(&rotate).await;
    let d = plan_mode(&rotate, PlanMode::RefreshOnly).await;
    rendered += &text::drift_text(&d, &RenderOptions { color: false });

    let db = versions(&sm, "app-delta").await;
    let password = access(&sm, &db[0].name).await;
    let mut secrets: Vec<String> = vec![password, "config-echo".into(), "config-foxtrot".into()];
    for n in ["alpha", "bravo", "charlie"] {
        secrets.push(token(n, 1));
        secrets.push(token(n, 2));
    }

    let mut bytes = s.state_bytes();
    bytes.extend(std::fs::read(&planfile).expect("saved plan"));
    bytes.extend(rendered.as_bytes());
    for secret in &secrets {
        assert!(!contains(&bytes, secret), "a secret value leaked (one of {} checked)", secrets.len());
    }
    assert!(rendered.contains("(sensitive value)"));
    emu.shutdown().await;
}
