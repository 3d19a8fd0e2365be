//! Issue 16, point 5: modules from a git repository (a local one, made here) and from a module
//! registry (served from 127.0.0.1 by this test) are fetched by `cairn init`, locked, verified
//! on every load and used offline once the repository and the registry are gone; a modified
//! cache is refused; each failure is located at the module block's `source` or `version`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::support::*;

fn git(dir: &Path, args: &[&str]) {
    let o = Command::new("git")
        .args(["-c", "user.email=test@example.com", "-c", "user.name=test", "-c", "init.defaultBranch=main"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(o.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&o.stderr));
}

/// A repository whose `modules/net` calls `../common` (a relative call inside the package),
/// tagged v1.0.0, then changed and tagged v2.0.0.
fn module_repository(root: &Path) -> PathBuf {
    let repo = root.join("repo");
    std::fs::create_dir_all(repo.join("modules/net")).unwrap();
    std::fs::create_dir_all(repo.join("modules/common")).unwrap();
    git(&repo, &["init", "-q"]);
    std::fs::write(repo.join("modules/common/main.tf"), "output \"prefix\" {\n  value = \"net\"\n}\n").unwrap();
    let net = |v: &str| {
        format!(
            "variable \"name\" {{\n  type = string\n}}\n\nmodule \"common\" {{\n  source = \"../common\"\n}}\n\noutput \"id\" {{\n  value = \"${{module.common.prefix}}-${{var.name}}-{v}\"\n}}\n"
        )
    };
    std::fs::write(repo.join("modules/net/main.tf"), net("v1")).unwrap();
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "v1"]);
    git(&repo, &["tag", "v1.0.0"]);
    std::fs::write(repo.join("modules/net/main.tf"), net("v2")).unwrap();
    git(&repo, &["commit", "-q", "-am", "v2"]);
    git(&repo, &["tag", "v2.0.0"]);
    repo
}

fn label_archive(version: &str) -> Vec<u8> {
    let text = format!(
        "variable \"prefix\" {{\n  type = string\n}}\n\noutput \"text\" {{\n  value = \"${{var.prefix}}-label-{version}\"\n}}\n"
    );
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default()));
    let mut header = tar::Header::new_gnu();
    header.set_size(text.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, "main.tf", text.as_bytes()).unwrap();
    tar.into_inner().unwrap().finish().unwrap()
}

const VERSIONS: &[&str] = &["1.0.0", "1.2.0", "1.5.3", "2.0.0"];

/// The module registry protocol for `acme/label/google`: service discovery, the version list,
/// and a download that points (relatively) at a .tar.gz archive. Counts its requests.
struct Registry {
    host: String,
    requests: Arc<AtomicUsize>,
    server: tokio::task::JoinHandle<()>,
}

async fn registry() -> Registry {
    use axum::http::{StatusCode, Uri};
    use axum::response::IntoResponse;
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = requests.clone();
    let app = axum::Router::new().fallback(move |uri: Uri| {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            let path = uri.path();
            if path == "/.well-known/terraform.json" {
                return (StatusCode::OK, r#"{"modules.v1": "/v1/modules/"}"#).into_response();
            }
            if path == "/v1/modules/acme/label/google/versions" {
                let list: Vec<String> = VERSIONS.iter().map(|v| format!(r#"{{"version": "{v}"}}"#)).collect();
                return (StatusCode::OK, format!(r#"{{"modules": [{{"versions": [{}]}}]}}"#, list.join(", ")))
                    .into_response();
            }
            if let Some(v) =
                path.strip_prefix("/v1/modules/acme/label/google/").and_then(|p| p.strip_suffix("/download"))
            {
                if VERSIONS.contains(&v) {
                    return (StatusCode::NO_CONTENT, [("X-Terraform-Get", format!("/archives/label-{v}.tar.gz"))])
                        .into_response();
                }
            }
            if let Some(v) = path.strip_prefix("/archives/label-").and_then(|p| p.strip_suffix(".tar.gz")) {
                if VERSIONS.contains(&v) {
                    return (StatusCode::OK, label_archive(v)).into_response();
                }
            }
            StatusCode::NOT_FOUND.into_response()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Registry { host, requests, server }
}

/// Runs the binary off the runtime's threads (the registry is served on them).
async fn cairn(args: &[&str], dir: &Path, registry_host: &str) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let (dir, host) = (dir.to_path_buf(), registry_host.to_string());
    tokio::task::spawn_blocking(move || {
        Command::new(cairn_bin())
            .args(&args)
            .current_dir(&dir)
            .env("NO_COLOR", "1")
            .env(cairn::install::INSECURE_HOSTS_ENV, host)
            .output()
            .expect("run cairn")
    })
    .await
    .unwrap()
}

fn stack_text(repo: &Path, host: &str, constraint: &str) -> String {
    format!(
        r#"module "net" {{
  source = "git::file://{}//modules/net?ref=v1.0.0"
  name   = "a"
}}

module "label" {{
  source  = "{host}/acme/label/google"
  version = "{constraint}"
  prefix  = "x"
}}

output "net" {{
  value = module.net.id
}}

output "label" {{
  value = module.label.text
}}
"#,
        repo.display()
    )
}

/// Messages with this run's paths, port, commits and hashes replaced, for snapshots.
fn redact(text: &str, replacements: &[(&str, &str)]) -> String {
    let mut t = text.to_string();
    for (from, to) in replacements {
        t = t.replace(from, to);
    }
    let t = regex::Regex::new(r"h1:[A-Za-z0-9+/=]+").unwrap().replace_all(&t, "h1:[HASH]");
    regex::Regex::new(r"\b[0-9a-f]{40}\b").unwrap().replace_all(&t, "[COMMIT]").into_owned()
}

fn assert_plans_both_modules(o: &Output) {
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(o), stderr(o));
    let out = stdout(o);
    assert!(out.contains("\"net-a-v1\""), "the git module at v1.0.0: {out}");
    assert!(out.contains("\"x-label-1.5.3\""), "the newest registry version below 2.0: {out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn git_and_registry_modules_are_locked_verified_and_used_offline() {
    let work = tempfile::tempdir().unwrap();
    let repo = module_repository(work.path());
    let reg = registry().await;
    let stack = TestStack::new(&[("main.tf", &stack_text(&repo, &reg.host, ">= 1.2, < 2.0"))]);
    let dir = stack.path();
    let stack_path = dir.display().to_string();
    let repo_path = repo.display().to_string();
    let redactions =
        [(stack_path.as_str(), "[STACK]"), (repo_path.as_str(), "[REPO]"), (reg.host.as_str(), "[REGISTRY]")];

    let o = cairn(&["init"], dir, &reg.host).await;
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    let tag_commit = String::from_utf8(
        Command::new("git").args(["rev-list", "-n", "1", "v1.0.0"]).current_dir(&repo).output().unwrap().stdout,
    )
    .unwrap();
    let lock: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(".cairn.modules.lock.json")).unwrap()).unwrap();
    let net = &lock["modules"]["net"];
    assert_eq!(net["package"], format!("git::file://{repo_path}?ref={}", tag_commit.trim()), "{lock:#}");
    assert_eq!(net["subdir"], "modules/net");
    assert!(net["hash"].as_str().unwrap().starts_with("h1:"));
    let label = &lock["modules"]["label"];
    assert_eq!(label["version"], "1.5.3", "{lock:#}");
    assert_eq!(label["version_constraint"], ">= 1.2, < 2.0");
    assert_eq!(label["package"], format!("http://{}/archives/label-1.5.3.tar.gz", reg.host));
    assert!(lock["modules"].get("net.common").is_none(), "a relative call inside a package is not locked apart");

    let o = cairn(&["plan"], dir, &reg.host).await;
    assert_plans_both_modules(&o);

    // A modified cache is refused, naming the file; cairn init fetches the locked commit again.
    let cached = dir.join(".cairn/modules/net/modules/net/main.tf");
    let text = std::fs::read_to_string(&cached).unwrap();
    std::fs::write(&cached, text.replace("-v1", "-tampered")).unwrap();
    let o = cairn(&["plan"], dir, &reg.host).await;
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stderr(&o).contains(".cairn/modules/net/modules/net/main.tf was changed"), "{}", stderr(&o));
    insta::assert_snapshot!("module_sources__tampered_cache", redact(&stderr(&o), &redactions));
    let o = cairn(&["init"], dir, &reg.host).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("net: ") && stdout(&o).contains("fetched again"), "{}", stdout(&o));
    assert_plans_both_modules(&cairn(&["plan"], dir, &reg.host).await);

    // A constraint that no longer matches the lock asks for cairn init, at the version.
    stack.write("main.tf", &stack_text(&repo, &reg.host, "~> 2.0"));
    let o = cairn(&["validate"], dir, &reg.host).await;
    assert_eq!(o.status.code(), Some(1));
    insta::assert_snapshot!("module_sources__changed_constraint", redact(&stderr(&o), &redactions));
    // …and one that nothing satisfies lists what the registry has.
    stack.write("main.tf", &stack_text(&repo, &reg.host, ">= 3.0"));
    let o = cairn(&["init"], dir, &reg.host).await;
    assert_eq!(o.status.code(), Some(1));
    insta::assert_snapshot!("module_sources__no_matching_version", redact(&stderr(&o), &redactions));
    stack.write("main.tf", &stack_text(&repo, &reg.host, ">= 1.2, < 2.0"));
    assert_plans_both_modules(&cairn(&["plan"], dir, &reg.host).await);

    // Offline: the repository and the registry are gone; the locked cache is all a run needs.
    reg.server.abort();
    let served = reg.requests.load(Ordering::SeqCst);
    std::fs::remove_dir_all(&repo).unwrap();
    assert_plans_both_modules(&cairn(&["plan"], dir, &reg.host).await);
    assert_eq!(reg.requests.load(Ordering::SeqCst), served, "a locked, cached module needs no request");

    // -upgrade re-resolves, and says why it can't when the sources are gone.
    let o = cairn(&["init", "-upgrade"], dir, &reg.host).await;
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stderr(&o).contains("main.tf:"), "located: {}", stderr(&o));
    assert_plans_both_modules(&cairn(&["plan"], dir, &reg.host).await);
}

/// On first use, plan installs what the stack needs (and says so on stderr); `-upgrade` moves
/// a ref to the commit it names now.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_use_installs_and_upgrade_moves_a_branch() {
    let work = tempfile::tempdir().unwrap();
    let repo = module_repository(work.path());
    git(&repo, &["branch", "-q", "stable", "v1.0.0"]);
    let main = format!(
        "module \"net\" {{\n  source = \"git::file://{}//modules/net?ref=stable\"\n  name   = \"b\"\n}}\n\noutput \"net\" {{\n  value = module.net.id\n}}\n",
        repo.display()
    );
    let stack = TestStack::new(&[("main.tf", &main)]);
    let dir = stack.path();
    let o = cairn(&["plan"], dir, "").await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("Modules not installed yet (net)"), "{}", stderr(&o));
    assert!(stdout(&o).contains("\"net-b-v1\""), "{}", stdout(&o));
    assert!(dir.join(".cairn.modules.lock.json").is_file());

    git(&repo, &["branch", "-q", "-f", "stable", "v2.0.0"]);
    let o = cairn(&["plan"], dir, "").await;
    assert!(stdout(&o).contains("\"net-b-v1\"") && !stderr(&o).contains("not installed"), "the lock pins the commit");
    let o = cairn(&["init", "-upgrade"], dir, "").await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = cairn(&["plan"], dir, "").await;
    assert!(stdout(&o).contains("\"net-b-v2\""), "{}", stdout(&o));
}

/// A .zip archive holding one module whose output says which edition it is.
fn zip_archive(edition: &str) -> Vec<u8> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("main.tf", zip::write::SimpleFileOptions::default()).unwrap();
    zip.write_all(format!("output \"edition\" {{\n  value = \"{edition}\"\n}}\n").as_bytes()).unwrap();
    zip.finish().unwrap().into_inner()
}

/// A registry whose only module (`acme/zipped/google` 1.0.0) downloads as a .zip archive, and
/// whose archive can be republished under the same version.
async fn zip_registry(republished: Arc<std::sync::atomic::AtomicBool>) -> (String, tokio::task::JoinHandle<()>) {
    use axum::http::{StatusCode, Uri};
    use axum::response::IntoResponse;
    let app = axum::Router::new().fallback(move |uri: Uri| {
        let republished = republished.clone();
        async move {
            match uri.path() {
                "/.well-known/terraform.json" => (StatusCode::OK, r#"{"modules.v1": "/v1/modules/"}"#).into_response(),
                "/v1/modules/acme/zipped/google/versions" => {
                    (StatusCode::OK, r#"{"modules": [{"versions": [{"version": "1.0.0"}]}]}"#).into_response()
                }
                "/v1/modules/acme/zipped/google/1.0.0/download" => {
                    (StatusCode::NO_CONTENT, [("X-Terraform-Get", "/archives/zipped-1.0.0.zip")]).into_response()
                }
                "/archives/zipped-1.0.0.zip" => {
                    let edition = if republished.load(Ordering::SeqCst) { "second" } else { "first" };
                    (StatusCode::OK, zip_archive(edition)).into_response()
                }
                _ => StatusCode::NOT_FOUND.into_response(),
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = listener.local_addr().unwrap().to_string();
    (
        host,
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        }),
    )
}

/// A .zip archive from a registry is fetched, locked and used; when the same version is
/// republished with other files, fetching it again for the lock is refused (the lock's hash is
/// the promise), until `-upgrade` accepts the new files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zip_archive_is_locked_and_a_republished_one_is_refused() {
    let republished = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (host, server) = zip_registry(republished.clone()).await;
    let main = format!(
        "module \"z\" {{\n  source  = \"{host}/acme/zipped/google\"\n  version = \"1.0.0\"\n}}\n\noutput \"edition\" {{\n  value = module.z.edition\n}}\n"
    );
    let stack = TestStack::new(&[("main.tf", &main)]);
    let dir = stack.path();
    let o = cairn(&["init"], dir, &host).await;
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    let lock = std::fs::read_to_string(dir.join(".cairn.modules.lock.json")).unwrap();
    assert!(lock.contains(&format!("http://{host}/archives/zipped-1.0.0.zip")), "{lock}");
    let o = cairn(&["plan"], dir, &host).await;
    assert!(stdout(&o).contains("\"first\""), "{}\n{}", stdout(&o), stderr(&o));

    republished.store(true, Ordering::SeqCst);
    std::fs::remove_dir_all(dir.join(".cairn/modules")).unwrap();
    let o = cairn(&["init"], dir, &host).await;
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(err.contains("Module \"z\" does not match its locked hash"), "{err}");
    assert!(err.contains("main.tf:2:"), "located at the module's source: {err}");
    let redactions = [(dir.display().to_string(), "[STACK]".to_string()), (host.clone(), "[REGISTRY]".to_string())];
    let redactions: Vec<(&str, &str)> = redactions.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    insta::assert_snapshot!("module_sources__republished_archive", redact(&err, &redactions));
    assert_eq!(std::fs::read_to_string(dir.join(".cairn.modules.lock.json")).unwrap(), lock, "the lock is kept");

    let o = cairn(&["init", "-upgrade"], dir, &host).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = cairn(&["plan"], dir, &host).await;
    assert!(stdout(&o).contains("\"second\""), "{}\n{}", stdout(&o), stderr(&o));
    server.abort();
}

/// A module fetched from git may call local paths inside its own repository only: one that
/// climbs out of it would read whatever sits beside the cache.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fetched_module_cannot_reach_outside_its_package() {
    let work = tempfile::tempdir().unwrap();
    let repo = work.path().join("escape");
    std::fs::create_dir_all(repo.join("modules/net")).unwrap();
    git(&repo, &["init", "-q"]);
    std::fs::write(repo.join("modules/net/main.tf"), "module \"outside\" {\n  source = \"../../../outside\"\n}\n")
        .unwrap();
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "escape"]);
    git(&repo, &["tag", "v1.0.0"]);
    let main =
        format!("module \"net\" {{\n  source = \"git::file://{}//modules/net?ref=v1.0.0\"\n}}\n", repo.display());
    let stack = TestStack::new(&[("main.tf", &main)]);
    let dir = stack.path();
    let o = cairn(&["init"], dir, "").await;
    let o = if o.status.success() { cairn(&["validate"], dir, "").await } else { o };
    assert_eq!(o.status.code(), Some(1), "{}\n{}", stdout(&o), stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("Local module path escapes its package"), "{err}");
    assert!(err.contains(".cairn/modules/net/modules/net/main.tf:2:"), "located in the fetched file: {err}");
    let redactions =
        [(dir.display().to_string(), "[STACK]".to_string()), (repo.display().to_string(), "[REPO]".to_string())];
    let redactions: Vec<(&str, &str)> = redactions.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    insta::assert_snapshot!("module_sources__escapes_package", redact(&err, &redactions));
}
