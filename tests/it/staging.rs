//! Issue 6: the staging stack against the roadmap's broken environment, through the binary
//! with the embedded emulator — the flow the README's first command runs.

use std::path::{Path, PathBuf};

use crate::support::*;

/// A scratch copy of stacks/ and modules/ (the stack's backend points at ../../state/staging).
struct Staging {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Staging {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        copy_tree(&repo.join("stacks"), &root.join("stacks"));
        copy_tree(&repo.join("modules"), &root.join("modules"));
        std::fs::create_dir_all(root.join("state")).unwrap();
        Staging { _dir: dir, root }
    }
    fn stack(&self) -> PathBuf {
        self.root.join("stacks/staging")
    }
    fn scenario(&self, edit: impl FnOnce(&mut serde_json::Value)) -> PathBuf {
        let path = self.stack().join("scenarios/broken-staging.json");
        let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        edit(&mut v);
        let out = self.root.join("scenario.json");
        std::fs::write(&out, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
        out
    }
    fn cairn(&self, scenario: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
        let mut c = std::process::Command::new(cairn_bin());
        c.arg("--emulator")
            .arg("--emulator-scenario")
            .arg(scenario)
            .args(args)
            .current_dir(&self.root)
            .env("NO_COLOR", "1")
            // The health report prints emoji only where the locale takes them: fix one that does,
            // whatever the environment running the tests has.
            .env("LANG", "C.UTF-8")
            .env("TERM", "xterm")
            .env_remove("LC_ALL")
            .env_remove("LC_CTYPE");
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().unwrap()
    }
}

/// The certificate's name as modules/managed-certificate derives it: the stack's name prefix and
/// a hash of its sorted domains (variables.tf's default).
fn certificate_name() -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(b"api-staging.netrasystems.ai,staging.netrasystems.ai");
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("staging-netrasystems-ai-cert-{}", &hex[..8])
}

/// The report without its first line, which names the scratch directory.
fn stable_report(report: &str) -> String {
    report.lines().filter(|l| !l.starts_with("🚀 Starting")).collect::<Vec<_>>().join("\n")
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let name = e.file_name();
        if name == "state" {
            continue;
        }
        if e.path().is_dir() {
            copy_tree(&e.path(), &to.join(&name));
        } else {
            std::fs::copy(e.path(), to.join(&name)).unwrap();
        }
    }
}

fn plan_summary(text: &str) -> String {
    text.lines()
        .filter(|l| (l.trim_start().starts_with("# ") && !l.contains(" hidden)")) || l.starts_with("Plan:"))
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn validate_passes() {
    let s = Staging::new();
    let o = run_cairn(&["validate", s.stack().to_str().unwrap()], &s.root);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn remediation_flow_goes_from_critical_to_healthy() {
    let s = Staging::new();
    let scenario = s.scenario(|_| {});
    let stack = s.stack();
    let dir = stack.to_str().unwrap();

    let o = s.cairn(&scenario, &["check", dir, "--detailed-report"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}{}", stdout(&o), stderr(&o));
    let report = stdout(&o);
    for line in [
        "Overall Status: CRITICAL",
        "   - Secret 'database-url' is missing",
        "   - Secret 'jwt-secret-staging' is missing",
        "   - Backend service 'staging-backend-service' timeout is 30s, expected 600s",
        &format!("   - Certificate '{}' is missing", certificate_name()),
        // The roadmap's two Cloud Run faults, word for word.
        "   - Service 'netra-backend-staging' has incorrect VPC connector",
        "   - Service 'auth-staging' has incorrect VPC egress",
        "🔍 Checking Cloud Run Services...",
        "❌ CRITICAL FAILURES:",
        // The owners' values were there (the roadmap found only two secrets missing).
        "✅ owner values enabled",
        // Issue 15: the prevention the roadmap asks for was never put in place.
        "🔍 Checking Monitoring...",
        "   - Log sink 'cloud-sql-monitoring' cannot write: its destination dataset 'infrastructure_monitoring' is missing",
        "   - Log sink 'vpc-connector-monitoring' cannot write: its destination dataset 'infrastructure_monitoring' is missing",
        "   - Alert policy 'VPC connector capacity' is missing",
        "   - Alert policy 'Cloud SQL connections' is missing",
        "   - Alert policy 'Certificate expiry' is missing",
        "   - Alert policy 'Uptime of staging.netrasystems.ai' is missing",
        "   - Alert policy 'Uptime of api-staging.netrasystems.ai' is missing",
        "   - Uptime check of https://staging.netrasystems.ai/health is missing",
        "   - Uptime check of https://api-staging.netrasystems.ai/health is missing",
        "   - Notification channel for infrastructure-alerts@netrasystems.ai is missing",
    ] {
        assert!(report.contains(line), "missing {line:?} in:\n{report}");
    }

    let o = s.cairn(&scenario, &["plan", dir], &[]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let plan = stdout(&o);
    insta::assert_snapshot!("staging_plan_against_broken_scenario", plan_summary(&plan));
    assert!(!plan.contains("google_sql_database_instance.this must be replaced"), "{plan}");

    let o = s.cairn(&scenario, &["apply", dir, "--auto-approve"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));

    let o = s.cairn(&scenario, &["check", dir, "--detailed-report"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let report = stdout(&o);
    for line in [
        "Overall Status: HEALTHY",
        "✅ sinks can write",
        "✅ alert policies",
        "✅ uptime checks",
        "✅ certificate not expiring",
    ] {
        assert!(report.contains(line), "missing {line:?} in:\n{report}");
    }

    let o = s.cairn(&scenario, &["plan", dir, "--detailed-exitcode"], &[]);
    assert_eq!(o.status.code(), Some(0), "a second plan has no changes: {}{}", stdout(&o), stderr(&o));
}

#[test]
fn no_generated_or_supplied_secret_is_kept_or_printed() {
    let s = Staging::new();
    let scenario = s.scenario(|_| {});
    let stack = s.stack();
    let dir = stack.to_str().unwrap();
    let supplied = "redis://:SUPPLIED-SECRET-7781@10.0.0.9:6379/0";
    let env = [("TF_VAR_redis_url", supplied)];
    let mut printed = String::new();
    let planfile = s.root.join("staging.cairnplan");
    for args in [
        vec!["-vv", "plan", dir, "-out", planfile.to_str().unwrap()],
        vec!["-vv", "apply", dir, "--auto-approve"],
        vec!["-vv", "check", dir],
        vec!["-C", dir, "state", "pull"],
        vec!["-C", dir, "output", "--json"],
    ] {
        let o = s.cairn(&scenario, &args, &env);
        printed += &stdout(&o);
        printed += &stderr(&o);
    }
    // The generated values live in the emulated cloud: read them back from it to scan for them.
    let cloud: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s.root.join("state/staging/emulator-cloud.json")).unwrap()).unwrap();
    let text = cloud.to_string();
    let mut secrets = vec![supplied.to_string()];
    for id in ["jwt-secret-staging", "database-url"] {
        // Payloads are base64 in the data file; find the version payloads of this secret.
        let needle = format!("secrets/{id}/versions/");
        let start = text.find(&needle).unwrap_or_else(|| panic!("{id} has a version"));
        let tail = &text[start..];
        let data = tail.split("\"data\":\"").nth(1).and_then(|t| t.split('"').next()).expect("payload");
        use base64::Engine;
        let raw = base64::engine::general_purpose::STANDARD.decode(data).unwrap();
        let value = String::from_utf8(raw).unwrap();
        if id == "database-url" {
            // The generated database password is the part between ':' and '@'.
            let pw = value
                .split("://")
                .nth(1)
                .and_then(|r| r.split('@').next())
                .and_then(|c| c.split(':').nth(1))
                .unwrap()
                .to_string();
            secrets.push(pw);
        }
        secrets.push(value);
    }
    let mut bytes = Vec::new();
    for e in std::fs::read_dir(s.root.join("state/staging")).unwrap().flatten() {
        if e.file_name() != "emulator-cloud.json" {
            collect_bytes(&e.path(), &mut bytes);
        }
    }
    bytes.extend(std::fs::read(&planfile).unwrap_or_default());
    bytes.extend(printed.as_bytes());
    for secret in &secrets {
        assert!(secret.len() >= 16, "a real secret was found");
        assert!(!contains(&bytes, secret), "a secret leaked");
    }
}

#[test]
fn the_readme_demo_runs_as_written() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let first =
        readme.lines().find(|l| l.trim_start().starts_with("bash ") || l.trim_start().starts_with("cargo ")).unwrap();
    assert!(
        first.trim_start().starts_with("bash stacks/staging/demo.sh"),
        "the README leads with the staging demo: {first}"
    );
    let o = std::process::Command::new("bash")
        .arg("stacks/staging/demo.sh")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    let critical = out.find("Overall Status: CRITICAL").expect("first report is CRITICAL");
    let healthy = out.rfind("Overall Status: HEALTHY").expect("last report is HEALTHY");
    assert!(critical < healthy);
    assert!(stderr(&o).contains("Creation complete") || out.contains("Creation complete"), "apply progress shown");
}

/// demo.sh asks cargo where it put the binary, so it runs for anyone whose CARGO_TARGET_DIR
/// (a target directory shared by many projects) is not the repository's target/. Pointed at
/// the target directory this test's own cairn was built in, it finds that binary without
/// rebuilding it.
#[test]
fn the_demo_finds_cairn_in_the_target_directory_cargo_uses() {
    let bin = std::fs::canonicalize(cairn_bin()).unwrap();
    let target = bin.parent().and_then(Path::parent).expect("<target>/debug/cairn");
    let o = std::process::Command::new("bash")
        .args(["stacks/staging/demo.sh", "--print-binary"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CARGO_TARGET_DIR", target)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let printed = stdout(&o);
    let found = std::fs::canonicalize(printed.trim()).unwrap_or_else(|e| panic!("{printed:?}: {e}"));
    assert_eq!(found, bin);
}

/// Edits the emulated cloud's data file between invocations: a change made behind Cairn's back.
fn break_cloud(s: &Staging, edit: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>)) {
    let path = s.root.join("state/staging/emulator-cloud.json");
    let mut data: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    edit(data["resources"].as_object_mut().unwrap());
    std::fs::write(&path, serde_json::to_vec(&data).unwrap()).unwrap();
}

fn value_of<'a>(
    r: &'a mut serde_json::Map<String, serde_json::Value>,
    api: &str,
    suffix: &str,
) -> &'a mut serde_json::Value {
    let objects = r.get_mut(api).and_then(|v| v.as_object_mut()).unwrap();
    let key = objects.keys().find(|k| k.ends_with(suffix)).cloned().unwrap_or_else(|| panic!("{api} has no {suffix}"));
    objects.get_mut(&key).unwrap().get_mut("value").unwrap()
}

#[test]
fn each_component_failure_has_its_line_in_the_health_report() {
    let s = Staging::new();
    let scenario = s.scenario(|_| {});
    let stack = s.stack();
    let dir = stack.to_str().unwrap();
    let o = s.cairn(&scenario, &["apply", dir, "--auto-approve"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    // Let every emulated operation finish, then start healthy.
    std::thread::sleep(std::time::Duration::from_secs(5));
    let o = s.cairn(&scenario, &["check", dir], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));

    type Break = Box<dyn Fn(&mut serde_json::Map<String, serde_json::Value>)>;
    let failures: Vec<(&str, Break, String)> = vec![
        (
            "connector_error",
            Box::new(|r| value_of(r, "vpcaccess", "connectors/staging-connector")["state"] = "ERROR".into()),
            "VPC connector state is 'ERROR', expected 'READY'".into(),
        ),
        (
            "instance_suspended",
            Box::new(|r| value_of(r, "sqladmin", "instances/netra-staging-db")["state"] = "SUSPENDED".into()),
            "Cloud SQL instance state is 'SUSPENDED', expected 'RUNNABLE'".into(),
        ),
        (
            "secret_version_disabled",
            Box::new(|r| {
                value_of(r, "secretmanager", "secrets/jwt-secret-staging/versions/1")["state"] = "DISABLED".into()
            }),
            "Secret 'jwt-secret-staging' version is disabled".into(),
        ),
        (
            "certificate_stuck",
            Box::new(|r| {
                let cert = value_of(r, "compute", &format!("sslCertificates/{}", certificate_name()));
                cert["managed"]["status"] = "PROVISIONING".into();
                cert["managed"]["domainStatus"]["api-staging.netrasystems.ai"] = "FAILED_NOT_VISIBLE".into();
            }),
            format!(
                "Certificate '{}' is FAILED_NOT_VISIBLE for api-staging.netrasystems.ai, expected ACTIVE",
                certificate_name()
            ),
        ),
        (
            "backend_timeout",
            Box::new(|r| value_of(r, "compute", "backendServices/staging-auth-service")["timeoutSec"] = 30.into()),
            "Backend service 'staging-auth-service' timeout is 30s, expected 600s".into(),
        ),
        // Last: its line holds the time of the run, so this report has no snapshot.
        (
            "certificate_expiring",
            Box::new(|r| {
                let soon = chrono::Utc::now() + chrono::Duration::days(10);
                let cert = value_of(r, "compute", &format!("sslCertificates/{}", certificate_name()));
                cert["expireTime"] = soon.to_rfc3339_opts(chrono::SecondsFormat::Millis, true).into();
            }),
            format!("Certificate '{}' expires at ", certificate_name()),
        ),
    ];
    for (name, brk, line) in failures {
        break_cloud(&s, |r| brk(r));
        let o = s.cairn(&scenario, &["check", dir], &[]);
        let report = stdout(&o);
        assert_eq!(o.status.code(), Some(2), "{name}: {report}{}", stderr(&o));
        assert!(report.contains(&format!("   - {line}")), "{name}: missing {line:?} in\n{report}");
        if name != "certificate_expiring" {
            insta::assert_snapshot!(format!("staging_health_after_{name}"), stable_report(&report));
        }
    }
}

/// Adds an ENABLED version to a secret in the emulated cloud's data file, as its owner's
/// `gcloud secrets versions add` would.
fn add_version_in_cloud(s: &Staging, secret_id: &str) {
    let path = s.root.join("state/staging/emulator-cloud.json");
    let mut data: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let generation = data["generation"].as_u64().unwrap() + 1;
    data["generation"] = generation.into();
    let secrets = data["resources"]["secretmanager"].as_object_mut().unwrap();
    let secret =
        secrets.keys().find(|k| k.ends_with(&format!("/secrets/{secret_id}"))).cloned().expect("the secret exists");
    let created = secrets[&secret]["value"]["createTime"].clone();
    let name = format!("{secret}/versions/1");
    assert!(!secrets.contains_key(&name), "{secret_id} had no version");
    let version = serde_json::json!({
        "value": {"name": name, "createTime": created, "state": "ENABLED", "replicationStatus": {"automatic": {}}},
        "internal": {"data": "b3duZXItc2V0LXZhbHVl"},
        "generation": generation,
    });
    secrets.insert(name, version);
    std::fs::write(&path, serde_json::to_vec(&data).unwrap()).unwrap();
}

/// A secret whose value its owner sets, created but never given a value: the report names it
/// with the command that fixes it and `cairn check` fails, before and after the apply (Cairn
/// does not set that value). Once the owner adds a version, the line passes.
#[test]
fn an_owner_managed_secret_without_a_version_is_named_until_its_owner_adds_one() {
    let s = Staging::new();
    let scenario = s.scenario(|v| {
        for secret in v["secretmanager"]["secrets"].as_array_mut().unwrap() {
            if secret["id"] == "openai-api-key" {
                secret["versions"] = serde_json::json!([]);
            }
        }
    });
    let stack = s.stack();
    let dir = stack.to_str().unwrap();
    let line = "Secret 'openai-api-key' has no enabled version (its value is set by its owner: add one with gcloud secrets versions add openai-api-key --data-file=-)";

    let o = s.cairn(&scenario, &["check", dir, "--detailed-report"], &[]);
    let report = stdout(&o);
    assert_eq!(o.status.code(), Some(2), "{report}{}", stderr(&o));
    assert!(
        report.contains(&format!("❌ owner values enabled: {line}")) && report.contains(&format!("   - {line}")),
        "{report}"
    );
    // A secret that does not exist is reported once, as missing.
    assert!(
        report.contains("Secret 'database-url' is missing") && !report.contains("Secret 'database-url' has no"),
        "{report}"
    );
    assert_eq!(
        report.matches("has no enabled version").count(),
        2,
        "only openai-api-key, in its section's detail and the critical failures: {report}"
    );

    // Plan and apply do not count versions (one list call per type): nothing about it there.
    let o = s.cairn(&scenario, &["apply", dir, "--auto-approve"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(
        !stdout(&o).contains("has no enabled version") && !stderr(&o).contains("has no enabled version"),
        "{}{}",
        stdout(&o),
        stderr(&o)
    );
    std::thread::sleep(std::time::Duration::from_secs(5));

    let o = s.cairn(&scenario, &["check", dir], &[]);
    let report = stdout(&o);
    assert_eq!(o.status.code(), Some(2), "{report}{}", stderr(&o));
    insta::assert_snapshot!("staging_health_with_an_owner_value_missing", stable_report(&report));

    add_version_in_cloud(&s, "openai-api-key");
    let o = s.cairn(&scenario, &["check", dir, "--detailed-report"], &[]);
    let report = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{report}{}", stderr(&o));
    assert!(report.contains("✅ owner values enabled") && report.contains("Overall Status: HEALTHY"), "{report}");

    // Where the output cannot take emoji, the same report in ASCII: a locale without UTF-8, a
    // dumb terminal, or --ascii.
    for (args, env) in [
        (vec!["check", dir], vec![("LANG", "C")]),
        (vec!["check", dir], vec![("TERM", "dumb")]),
        (vec!["check", dir, "--ascii"], vec![]),
    ] {
        let o = s.cairn(&scenario, &args, &env);
        let report = stdout(&o);
        assert_eq!(o.status.code(), Some(0), "{report}{}", stderr(&o));
        assert!(report.is_ascii(), "{args:?} {env:?}: {report}");
        assert!(
            report.starts_with("==> Starting Complete Infrastructure Validation for ")
                && report.contains("\n--> Checking Secret Manager Secrets...\n   [OK] All Secret Manager secrets are properly configured\n--> Checking Cloud Run Services...\n   [OK] All Cloud Run services are properly configured\n"),
            "{args:?} {env:?}: {report}"
        );
    }
}

/// Issue 15 done-when 3: a sink that cannot write to its destination — the grant to its writer
/// identity removed, then the dataset deleted, both outside Cairn — fails the health check with
/// a line that names the sink, what is wrong and what fixes it.
#[test]
fn a_sink_that_cannot_write_to_its_dataset_fails_the_check_naming_the_sink() {
    let s = Staging::new();
    let scenario = s.scenario(|_| {});
    let stack = s.stack();
    let dir = stack.to_str().unwrap();
    let o = s.cairn(&scenario, &["apply", dir, "--auto-approve"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    std::thread::sleep(std::time::Duration::from_secs(5));
    let o = s.cairn(&scenario, &["check", dir], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let writer = "serviceAccount:service-701234567890@gcp-sa-logging.iam.gserviceaccount.com";

    // The grant removed from the dataset's access list (someone edited its sharing settings).
    break_cloud(&s, |r| {
        let access = value_of(r, "bigquery", "datasets/infrastructure_monitoring")["access"].as_array_mut().unwrap();
        let before = access.len();
        access.retain(|a| !a.to_string().contains("gcp-sa-logging"));
        assert!(access.len() < before, "the writer's grant was in the access list: {access:?}");
    });
    let o = s.cairn(&scenario, &["check", dir], &[]);
    let report = stdout(&o);
    assert_eq!(o.status.code(), Some(2), "{report}{}", stderr(&o));
    for sink in ["cloud-sql-monitoring", "vpc-connector-monitoring"] {
        let line = format!(
            "   - Log sink '{sink}' cannot write to dataset 'infrastructure_monitoring': its writer identity {writer} holds no role there that may write (cairn apply grants it roles/bigquery.dataEditor on the dataset)\n"
        );
        assert!(report.contains(&line), "missing {line:?} in\n{report}");
    }

    // The dataset deleted.
    break_cloud(&s, |r| {
        let datasets = r.get_mut("bigquery").and_then(|v| v.as_object_mut()).unwrap();
        let key = datasets.keys().find(|k| k.ends_with("datasets/infrastructure_monitoring")).cloned().unwrap();
        datasets.remove(&key);
    });
    let o = s.cairn(&scenario, &["check", dir], &[]);
    let report = stdout(&o);
    assert_eq!(o.status.code(), Some(2), "{report}{}", stderr(&o));
    for sink in ["cloud-sql-monitoring", "vpc-connector-monitoring"] {
        let line = format!(
            "   - Log sink '{sink}' cannot write: its destination dataset 'infrastructure_monitoring' is missing (cairn apply creates it; by hand: bq mk --dataset netra-staging:infrastructure_monitoring)\n"
        );
        assert!(report.contains(&line), "missing {line:?} in\n{report}");
    }

    // The apply puts both back, and the report passes again.
    let o = s.cairn(&scenario, &["apply", dir, "--auto-approve"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let o = s.cairn(&scenario, &["check", dir], &[]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
}
