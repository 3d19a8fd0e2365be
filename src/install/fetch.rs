//! The network and process side of module installation: git through the `git` CLI (as
//! Terraform's go-getter does), archives over http(s), and the module registry protocol.

use std::io::Cursor;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::lang::module_source::{self, ArchiveKind, ModuleSource, Package, RegistrySource};

/// Registry hosts spoken to over plain http, comma-separated `host[:port]`: for tests and
/// local registry mirrors only (a registry over http can be impersonated by anyone on the path).
pub const INSECURE_HOSTS_ENV: &str = "CAIRN_REGISTRY_INSECURE_HOSTS";

/// A fetched package: where its files are and how to fetch exactly the same files again.
pub struct Fetched {
    pub dir: tempfile::TempDir,
    /// `git::URL?ref=COMMIT` for git; the URL for an archive.
    pub pinned: String,
}

/// Runs git without a terminal prompt (a missing credential fails instead of hanging), and
/// returns its trimmed stderr on failure.
fn git(args: &[&str], cwd: Option<&Path>) -> Result<String, String> {
    let mut cmd = Command::new("git");
    cmd.args(args).env("GIT_TERMINAL_PROMPT", "0").stdin(Stdio::null());
    if let Some(d) = cwd {
        cmd.current_dir(d);
    }
    let out =
        cmd.output().map_err(|e| format!("can't run git ({e}); Cairn needs the git command to fetch git modules"))?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).trim().to_string());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().map(str::trim_end).filter(|l| !l.is_empty()).collect();
    let tail = lines[lines.len().saturating_sub(8)..].join("\n");
    Err(format!(
        "git {} failed: {}",
        args.first().copied().unwrap_or(""),
        if tail.is_empty() { out.status.to_string() } else { tail }
    ))
}

fn temp_dir() -> Result<tempfile::TempDir, String> {
    tempfile::Builder::new()
        .prefix("cairn-module-")
        .tempdir()
        .map_err(|e| format!("can't create a temporary directory: {e}"))
}

/// Fetches one commit shallowly (`git fetch --depth 1 URL REF`); a ref that is an abbreviated
/// commit can only be found in a full clone.
pub fn fetch_git(url: &str, reference: Option<&str>) -> Result<Fetched, String> {
    let tmp = temp_dir()?;
    let dir = tmp.path();
    let dir_arg = dir.to_string_lossy().to_string();
    git(&["init", "-q", &dir_arg], None)?;
    let wanted = reference.unwrap_or("HEAD");
    match git(&["fetch", "-q", "--depth", "1", url, wanted], Some(dir)) {
        Ok(_) => {
            git(&["checkout", "-q", "FETCH_HEAD"], Some(dir))?;
        }
        Err(shallow) => {
            let looks_like_commit = wanted.len() >= 4 && wanted.chars().all(|c| c.is_ascii_hexdigit());
            if !looks_like_commit {
                return Err(shallow);
            }
            git(&["fetch", "-q", url, "+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"], Some(dir))?;
            git(&["checkout", "-q", wanted], Some(dir))?;
        }
    }
    let commit = git(&["rev-parse", "HEAD"], Some(dir))?;
    // The cache holds the files, not the history: the lock pins the commit.
    std::fs::remove_dir_all(dir.join(".git"))
        .map_err(|e| format!("can't remove {}: {e}", dir.join(".git").display()))?;
    Ok(Fetched { dir: tmp, pinned: format!("git::{url}?ref={commit}") })
}

/// Blocking HTTP on the installer's own runtime (the loader that asks is synchronous).
pub struct Http {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
}

pub struct Response {
    pub status: u16,
    pub location: Option<String>,
    pub body: Vec<u8>,
}

impl Http {
    pub fn new() -> Result<Self, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("can't start the installer's runtime: {e}"))?;
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(15))
            .timeout(Duration::from_secs(300))
            .build()
            .map_err(|e| format!("can't build an http client: {e}"))?;
        Ok(Http { rt, client })
    }

    pub fn get(&self, url: &str) -> Result<Response, String> {
        self.rt.block_on(async {
            let r = self
                .client
                .get(url)
                .header("X-Terraform-Version", crate::version::TERRAFORM_LANGUAGE_VERSION)
                .send()
                .await
                .map_err(|e| format!("GET {url} failed: {}", error_chain(&e)))?;
            let status = r.status().as_u16();
            let location = r.headers().get("X-Terraform-Get").and_then(|v| v.to_str().ok()).map(str::to_string);
            let body = r.bytes().await.map_err(|e| format!("GET {url}: reading the body failed: {e}"))?.to_vec();
            Ok(Response { status, location, body })
        })
    }

    fn get_ok(&self, url: &str) -> Result<Response, String> {
        let r = self.get(url)?;
        if !(200..300).contains(&r.status) {
            let text = String::from_utf8_lossy(&r.body);
            let text = text.trim();
            let shown: String = text.chars().take(200).collect();
            return Err(format!(
                "GET {url} answered {}{}",
                r.status,
                if shown.is_empty() { String::new() } else { format!(": {shown}") }
            ));
        }
        Ok(r)
    }

    /// Downloads an archive and unpacks it (tar's and zip's own checks keep entries inside the
    /// directory).
    pub fn fetch_archive(&self, url: &str, kind: ArchiveKind) -> Result<Fetched, String> {
        let body = self.get_ok(url)?.body;
        let tmp = temp_dir()?;
        match kind {
            ArchiveKind::TarGz => tar::Archive::new(flate2::read::GzDecoder::new(Cursor::new(body)))
                .unpack(tmp.path())
                .map_err(|e| format!("{url} is not a readable .tar.gz archive: {e}"))?,
            ArchiveKind::Zip => zip::ZipArchive::new(Cursor::new(body))
                .and_then(|mut z| z.extract(tmp.path()))
                .map_err(|e| format!("{url} is not a readable .zip archive: {e}"))?,
        }
        Ok(Fetched { dir: tmp, pinned: url.to_string() })
    }

    /// The registry's modules API (service discovery: `/.well-known/terraform.json`'s
    /// `modules.v1`).
    fn modules_api(&self, host: &str) -> Result<url::Url, String> {
        let insecure = std::env::var(INSECURE_HOSTS_ENV)
            .map(|v| v.split(',').any(|h| h.trim().eq_ignore_ascii_case(host)))
            .unwrap_or(false);
        let scheme = if insecure { "http" } else { "https" };
        let discovery = format!("{scheme}://{host}/.well-known/terraform.json");
        let r = self.get_ok(&discovery)?;
        let doc: serde_json::Value = serde_json::from_slice(&r.body)
            .map_err(|e| format!("{discovery} is not a service discovery document: {e}"))?;
        let Some(path) = doc.get("modules.v1").and_then(|v| v.as_str()) else {
            return Err(format!("{host} is not a module registry: {discovery} names no modules.v1 service"));
        };
        let mut base = url::Url::parse(&discovery)
            .and_then(|d| d.join(path))
            .map_err(|e| format!("{discovery} names an invalid modules.v1 URL \"{path}\": {e}"))?;
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        Ok(base)
    }

    /// Every version the registry lists for a module.
    pub fn registry_versions(&self, m: &RegistrySource) -> Result<(url::Url, Vec<semver::Version>), String> {
        let base = self.modules_api(&m.host)?;
        let url = base
            .join(&format!("{}/{}/{}/versions", m.namespace, m.name, m.provider))
            .map_err(|e| format!("can't form the versions URL: {e}"))?;
        let r = self.get(url.as_str())?;
        if r.status == 404 {
            return Err(format!("{m} does not exist on the registry (GET {url} answered 404)"));
        }
        let r = if (200..300).contains(&r.status) { r } else { self.get_ok(url.as_str())? };
        let doc: serde_json::Value =
            serde_json::from_slice(&r.body).map_err(|e| format!("{url} did not answer a version list: {e}"))?;
        let versions = doc
            .get("modules")
            .and_then(|m| m.as_array())
            .into_iter()
            .flatten()
            .flat_map(|m| m.get("versions").and_then(|v| v.as_array()).into_iter().flatten())
            .filter_map(|v| v.get("version").and_then(|s| s.as_str()).and_then(module_source::parse_version))
            .collect();
        Ok((base, versions))
    }

    /// The source a registry module version is downloaded from (`X-Terraform-Get`, or a JSON
    /// body's `location`), made absolute against the download URL when relative.
    pub fn registry_location(&self, base: &url::Url, m: &RegistrySource, version: &str) -> Result<String, String> {
        let url = base
            .join(&format!("{}/{}/{}/{version}/download", m.namespace, m.name, m.provider))
            .map_err(|e| format!("can't form the download URL: {e}"))?;
        let r = self.get_ok(url.as_str())?;
        let location = r
            .location
            .or_else(|| {
                serde_json::from_slice::<serde_json::Value>(&r.body)
                    .ok()
                    .and_then(|d| d.get("location").and_then(|l| l.as_str()).map(str::to_string))
            })
            .ok_or_else(|| format!("{url} answered without an X-Terraform-Get header"))?;
        if location.starts_with('/') || location.starts_with("./") || location.starts_with("../") {
            return url
                .join(&location)
                .map(|u| u.to_string())
                .map_err(|e| format!("{url} gave an invalid location \"{location}\": {e}"));
        }
        Ok(location)
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// Fetches a directly addressed package.
pub fn fetch_package(http: &Http, package: &Package) -> Result<Fetched, String> {
    match package {
        Package::Git { url, reference } => fetch_git(url, reference.as_deref()),
        Package::Archive { url, kind } => http.fetch_archive(url, *kind),
    }
}

/// A pinned package string from the lock (or a registry's download location) read back as a
/// package and its subdirectory.
pub fn package_of(source: &str) -> Result<(Package, Option<String>), String> {
    match module_source::parse(source) {
        Ok(ModuleSource::Remote(r)) => Ok((r.package, r.subdir)),
        Ok(_) => Err(format!("\"{source}\" is not a git or archive source")),
        Err(e) => Err(format!("{} ({})", e.summary, e.detail)),
    }
}
