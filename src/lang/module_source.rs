//! Module source addresses and registry version constraints, parsed as Terraform does
//! (`internal/addrs/module_source.go` and go-getter's detectors), without any I/O: which
//! package a `source` names, where the module sits inside it, and which versions a
//! `version` argument allows. Fetching is `crate::install`'s.

use std::fmt;

/// The registry Terraform uses when a registry address names no host.
pub const DEFAULT_REGISTRY_HOST: &str = "registry.terraform.io";

/// What a module block's `source` names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModuleSource {
    /// `./x` or `../x`: a directory relative to the calling module.
    Local(String),
    /// A package fetched from somewhere, and the module's directory inside it.
    Remote(RemoteSource),
    /// `[host/]namespace/name/provider[//subdir]`, resolved through the registry protocol.
    Registry(RegistrySource),
}

/// A package fetched directly (git or an archive over http(s)) plus the subdirectory (`//dir`)
/// the module is in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteSource {
    pub package: Package,
    pub subdir: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Package {
    /// A git repository URL (https, ssh, file, git) and the `ref` to check out (tag, branch or
    /// commit; the remote's default branch when absent).
    Git { url: String, reference: Option<String> },
    /// An archive over http(s) (the query kept, minus `archive=`).
    Archive { url: String, kind: ArchiveKind },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArchiveKind {
    TarGz,
    Zip,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistrySource {
    pub host: String,
    pub namespace: String,
    pub name: String,
    pub provider: String,
    pub subdir: Option<String>,
}

impl fmt::Display for RegistrySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}/{}", self.host, self.namespace, self.name, self.provider)
    }
}

impl fmt::Display for Package {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Package::Git { url, reference: Some(r) } => write!(f, "git::{url}?ref={r}"),
            Package::Git { url, reference: None } => write!(f, "git::{url}"),
            Package::Archive { url, .. } => f.write_str(url),
        }
    }
}

/// Why a `source` can't be used; `help` says what to write instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceError {
    pub summary: String,
    pub detail: String,
    pub help: Option<String>,
}

fn refuse(summary: impl Into<String>, detail: impl Into<String>, help: Option<&str>) -> SourceError {
    SourceError { summary: summary.into(), detail: detail.into(), help: help.map(str::to_string) }
}

const SUPPORTED: &str = "Cairn installs modules from local paths (./ or ../), git repositories (git::https://…, git::ssh://…, git@host:org/repo.git, github.com/org/repo), .tar.gz/.tgz/.zip archives over http(s), and module registries (namespace/name/provider with a version).";

/// Parses a module block's `source` (Terraform's `addrs.ParseModuleSource` rules).
pub fn parse(source: &str) -> Result<ModuleSource, SourceError> {
    if source.starts_with("./") || source.starts_with("../") {
        return Ok(ModuleSource::Local(source.to_string()));
    }
    if source.is_empty() {
        return Err(refuse("Invalid module source", "The source address is empty.", Some(SUPPORTED)));
    }
    if source.starts_with('/') || source == "." || source == ".." {
        return Err(refuse(
            format!("Invalid module source \"{source}\""),
            "A local module source must start with ./ or ../ and is relative to the calling module's directory.",
            Some("write the path relative to the calling module, like ./modules/network"),
        ));
    }
    if let Some(remote) = parse_remote(source)? {
        return Ok(ModuleSource::Remote(remote));
    }
    parse_registry(source).map(ModuleSource::Registry)
}

/// Splits go-getter's `//subdir` off a source (after any `scheme://`), keeping the query on
/// the package part.
fn split_subdir(s: &str) -> (String, Option<String>) {
    let scheme_end = s.find("://").map(|i| i + 3).unwrap_or(0);
    let (body, query) = match s.find('?') {
        Some(q) => (&s[..q], &s[q..]),
        None => (s, ""),
    };
    match body[scheme_end..].find("//") {
        Some(i) => {
            let at = scheme_end + i;
            let sub = body[at + 2..].trim_matches('/').to_string();
            (format!("{}{query}", &body[..at]), (!sub.is_empty()).then_some(sub))
        }
        None => (s.to_string(), None),
    }
}

fn check_subdir(source: &str, subdir: &Option<String>) -> Result<(), SourceError> {
    if let Some(sub) = subdir {
        if sub.split('/').any(|c| c == ".." || c == ".") {
            return Err(refuse(
                format!("Invalid module source \"{source}\""),
                format!("The subdirectory \"//{sub}\" must stay inside the package: \".\" and \"..\" are not allowed."),
                None,
            ));
        }
    }
    Ok(())
}

/// Sources that go-getter would fetch directly (forced `getter::`, a URL scheme, or one of its
/// detected shorthands); `None` for what must then be a registry address.
fn parse_remote(source: &str) -> Result<Option<RemoteSource>, SourceError> {
    let (forced, rest) = match source.split_once("::") {
        Some((getter, rest)) if !getter.contains('/') && !getter.contains(':') => (Some(getter), rest),
        _ => (None, source),
    };
    let (package, subdir) = split_subdir(rest);
    check_subdir(source, &subdir)?;
    let unsupported = |what: &str| {
        Err(refuse(
            format!("Unsupported module source \"{source}\""),
            format!("{what} Cairn does not install from it. {SUPPORTED}"),
            Some("use a git repository, an https archive or a module registry"),
        ))
    };
    match forced {
        Some("git") => return git_package(source, &package, subdir).map(Some),
        Some(g @ ("s3" | "gcs" | "hg" | "http" | "https" | "file")) => {
            return unsupported(&format!("The \"{g}::\" getter is not supported."));
        }
        Some(g) => return unsupported(&format!("\"{g}::\" is not a known getter.")),
        None => {}
    }
    if let Some(rest) = package.strip_prefix("github.com/") {
        return github_shorthand(source, rest, subdir).map(Some);
    }
    if package.starts_with("bitbucket.org/") {
        return unsupported("Bitbucket shorthands need Bitbucket's API to tell git from Mercurial;");
    }
    if package.starts_with("git@") {
        return scp_like_git(source, &package, subdir).map(Some);
    }
    if package.contains(".s3.amazonaws.com/") || package.contains("s3-") && package.contains("amazonaws.com") {
        return unsupported("S3 buckets are not supported;");
    }
    if package.starts_with("www.googleapis.com/storage/") {
        return unsupported("GCS buckets are not supported;");
    }
    if let Some((scheme, _)) = package.split_once("://") {
        return match scheme {
            "http" | "https" => archive_package(source, &package, subdir).map(Some),
            "git" | "ssh" => {
                unsupported(&format!("A {scheme}:// URL needs the git:: prefix (git::{package}) to say it is git;"))
            }
            _ => unsupported(&format!("The \"{scheme}://\" scheme is not supported.")),
        };
    }
    Ok(None)
}

fn git_package(source: &str, package: &str, subdir: Option<String>) -> Result<RemoteSource, SourceError> {
    let (url, query) = match package.split_once('?') {
        Some((u, q)) => (u, q),
        None => (package, ""),
    };
    let url =
        if url.starts_with("git@") { scp_to_ssh(url).ok_or_else(|| malformed_git(source))? } else { url.to_string() };
    let parsed = url::Url::parse(&url).map_err(|e| {
        refuse(
            format!("Invalid module source \"{source}\""),
            format!("\"{url}\" is not a valid git URL: {e}."),
            Some("write git::https://host/org/repo.git, git::ssh://git@host/org/repo.git or git::file:///path/to/repo"),
        )
    })?;
    if !matches!(parsed.scheme(), "https" | "http" | "ssh" | "git" | "file") {
        return Err(refuse(
            format!("Unsupported module source \"{source}\""),
            format!("git over \"{}://\" is not supported; use https, ssh, git or file.", parsed.scheme()),
            None,
        ));
    }
    let mut reference = None;
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            // A ref is passed to git as an argument: one that starts with '-' would be an option.
            "ref" if v.starts_with('-') => {
                return Err(refuse(
                    format!("Invalid module source \"{source}\""),
                    format!("\"{v}\" is not a git tag, branch or commit."),
                    None,
                ))
            }
            "ref" if !v.is_empty() => reference = Some(v.into_owned()),
            // Cairn always clones shallowly where the ref allows it.
            "depth" => {}
            other => {
                return Err(refuse(
                    format!("Unsupported module source \"{source}\""),
                    format!(
                    "The git source argument \"{other}\" is not supported; only ?ref= (a tag, branch or commit) is."
                ),
                    Some("configure ssh keys in your ssh agent or ~/.ssh/config rather than in the source"),
                ))
            }
        }
    }
    Ok(RemoteSource { package: Package::Git { url, reference }, subdir })
}

fn malformed_git(source: &str) -> SourceError {
    refuse(
        format!("Invalid module source \"{source}\""),
        "An scp-like git address is written git@host:org/repo.git.",
        None,
    )
}

/// `git@github.com:org/repo.git` → `ssh://git@github.com/org/repo.git` (go-getter's git detector).
fn scp_to_ssh(s: &str) -> Option<String> {
    let (user_host, path) = s.split_once(':')?;
    if path.is_empty() || path.starts_with('/') || user_host.len() <= "git@".len() {
        return None;
    }
    Some(format!("ssh://{user_host}/{path}"))
}

fn scp_like_git(source: &str, package: &str, subdir: Option<String>) -> Result<RemoteSource, SourceError> {
    let (addr, query) = match package.split_once('?') {
        Some((a, q)) => (a, format!("?{q}")),
        None => (package, String::new()),
    };
    let url = scp_to_ssh(addr).ok_or_else(|| malformed_git(source))?;
    git_package(source, &format!("{url}{query}"), subdir)
}

/// `github.com/org/repo[?ref=…]` → git over https (go-getter's GitHub detector).
fn github_shorthand(source: &str, rest: &str, subdir: Option<String>) -> Result<RemoteSource, SourceError> {
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, format!("?{q}")),
        None => (rest, String::new()),
    };
    let parts: Vec<&str> = path.split('/').collect();
    if parts.len() < 2 || parts[..2].iter().any(|p| p.is_empty()) {
        return Err(refuse(
            format!("Invalid module source \"{source}\""),
            "A GitHub source is written github.com/ORGANIZATION/REPOSITORY.",
            None,
        ));
    }
    let repo = parts[1].strip_suffix(".git").unwrap_or(parts[1]);
    // Path segments after the repository name a subdirectory, as go-getter reads them.
    let mut sub: Vec<&str> = parts[2..].iter().copied().filter(|p| !p.is_empty()).collect();
    if let Some(s) = &subdir {
        sub.push(s);
    }
    let subdir = (!sub.is_empty()).then(|| sub.join("/"));
    check_subdir(source, &subdir)?;
    git_package(source, &format!("https://github.com/{}/{repo}.git{query}", parts[0]), subdir)
}

fn archive_package(source: &str, package: &str, subdir: Option<String>) -> Result<RemoteSource, SourceError> {
    let mut url = url::Url::parse(package).map_err(|e| {
        refuse(format!("Invalid module source \"{source}\""), format!("\"{package}\" is not a valid URL: {e}."), None)
    })?;
    let mut forced = None;
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter_map(|(k, v)| {
            if k == "archive" {
                forced = Some(v.into_owned());
                None
            } else {
                Some((k.into_owned(), v.into_owned()))
            }
        })
        .collect();
    if forced.is_some() {
        url.set_query(None);
        if !kept.is_empty() {
            url.query_pairs_mut().extend_pairs(kept);
        }
    }
    let path = url.path().to_ascii_lowercase();
    let kind = match forced.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("tar.gz" | "tgz") => Some(ArchiveKind::TarGz),
        Some("zip") => Some(ArchiveKind::Zip),
        Some(other) => {
            return Err(refuse(
                format!("Unsupported module source \"{source}\""),
                format!("The archive type \"{other}\" is not supported; Cairn reads tar.gz, tgz and zip archives."),
                None,
            ))
        }
        None if path.ends_with(".tar.gz") || path.ends_with(".tgz") => Some(ArchiveKind::TarGz),
        None if path.ends_with(".zip") => Some(ArchiveKind::Zip),
        None => None,
    };
    match kind {
        Some(kind) => Ok(RemoteSource { package: Package::Archive { url: url.to_string(), kind }, subdir }),
        None => Err(refuse(
            format!("Unsupported module source \"{source}\""),
            "An http(s) source must name a .tar.gz, .tgz or .zip archive (or say ?archive=tar.gz|zip); other archive types (.tar.bz2, .tar.xz, .tar) and Terraform's HTML meta-tag redirects are not supported.",
            Some("point the source at the archive itself, or use git::https://… for a repository"),
        )),
    }
}

fn is_registry_label(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
}

/// `[host/]namespace/name/provider[//subdir]` (Terraform's `ParseModuleSourceRegistry`).
fn parse_registry(source: &str) -> Result<RegistrySource, SourceError> {
    let invalid = |detail: String| {
        Err(refuse(
            format!("Invalid module source \"{source}\""),
            detail,
            Some("write a registry module as NAMESPACE/NAME/PROVIDER (optionally HOST/ first), a local one as ./PATH"),
        ))
    };
    if source.contains('?') {
        return invalid(
            "A registry module address can't have a query string; the version goes in the version argument.".into(),
        );
    }
    let (addr, subdir) = split_subdir(source);
    check_subdir(source, &subdir)?;
    let parts: Vec<&str> = addr.split('/').collect();
    let (host, rest) = match parts.len() {
        3 => (DEFAULT_REGISTRY_HOST.to_string(), &parts[..]),
        4 => (parts[0].to_ascii_lowercase(), &parts[1..]),
        _ => {
            return invalid(format!(
                "\"{source}\" is neither a local path (./ or ../), a remote source, nor a registry address of the form [HOST/]NAMESPACE/NAME/PROVIDER. {SUPPORTED}"
            ))
        }
    };
    if host == "github.com" || host == "bitbucket.org" {
        return invalid(format!(
            "{host} is not a module registry; its repositories are installed directly with {host}/ORG/REPO."
        ));
    }
    if host.is_empty() || !host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':')) {
        return invalid(format!("\"{host}\" is not a valid registry host name."));
    }
    let [namespace, name, provider] = [rest[0], rest[1], rest[2]];
    if !is_registry_label(namespace, 64) || !is_registry_label(name, 64) {
        return invalid(format!(
            "\"{namespace}/{name}\" is not a valid registry namespace and name: letters, digits, - and _ only."
        ));
    }
    if !is_registry_label(provider, 64) || !provider.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) {
        return invalid(format!(
            "\"{provider}\" is not a valid registry module provider: lowercase letters and digits only, like google."
        ));
    }
    Ok(RegistrySource {
        host,
        namespace: namespace.to_string(),
        name: name.to_string(),
        provider: provider.to_string(),
        subdir,
    })
}

/// A `version` argument: Terraform's comma-separated constraints (`= != > >= < <= ~>`), checked
/// with `semver` after filling partial versions (Terraform's `>= 1.2` is `>= 1.2.0`, while
/// semver's own `>1.2` would mean `>= 1.3.0`) and turning `~>` into a range: `~> 1.2` allows
/// `>= 1.2.0, < 2.0.0`, `~> 1.2.3` allows `>= 1.2.3, < 1.3.0`, `~> 1` allows `>= 1.0.0`
/// (hashicorp/go-version's rule). semver has no `!=`, which is kept aside.
#[derive(Clone, Debug)]
pub struct VersionConstraint {
    req: semver::VersionReq,
    excluded: Vec<semver::Version>,
}

impl VersionConstraint {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut comparators = Vec::new();
        let mut excluded = Vec::new();
        for item in text.split(',') {
            let item = item.trim();
            let (op, rest) = ["~>", ">=", "<=", "!=", "=", ">", "<"]
                .iter()
                .find_map(|op| item.strip_prefix(op).map(|r| (*op, r.trim())))
                .unwrap_or(("=", item));
            let (version, given) = partial_version(rest).ok_or_else(|| {
                if item.is_empty() {
                    "a version constraint is empty (a stray comma?)".to_string()
                } else {
                    format!("\"{item}\" is not a version constraint like \">= 1.2.0\", \"~> 1.2\" or \"1.4.1\"")
                }
            })?;
            let cmp = |op: semver::Op, v: &semver::Version| semver::Comparator {
                op,
                major: v.major,
                minor: Some(v.minor),
                patch: Some(v.patch),
                pre: v.pre.clone(),
            };
            match op {
                "=" => comparators.push(cmp(semver::Op::Exact, &version)),
                "!=" => excluded.push(version),
                ">" => comparators.push(cmp(semver::Op::Greater, &version)),
                ">=" => comparators.push(cmp(semver::Op::GreaterEq, &version)),
                "<" => comparators.push(cmp(semver::Op::Less, &version)),
                "<=" => comparators.push(cmp(semver::Op::LessEq, &version)),
                _ => {
                    comparators.push(cmp(semver::Op::GreaterEq, &version));
                    let upper = match given {
                        1 => None,
                        2 => Some(semver::Version::new(version.major + 1, 0, 0)),
                        _ => Some(semver::Version::new(version.major, version.minor + 1, 0)),
                    };
                    if let Some(u) = upper {
                        comparators.push(cmp(semver::Op::Less, &u));
                    }
                }
            }
        }
        Ok(VersionConstraint { req: semver::VersionReq { comparators }, excluded })
    }

    pub fn matches(&self, v: &semver::Version) -> bool {
        self.req.matches(v) && !self.excluded.contains(v)
    }

    /// The highest of `versions` this allows.
    pub fn best<'a>(&self, versions: impl IntoIterator<Item = &'a semver::Version>) -> Option<&'a semver::Version> {
        versions.into_iter().filter(|v| self.matches(v)).max()
    }
}

/// `1`, `1.2`, `1.2.3`, `v1.2.3`, `1.2.3-beta.1`: the version with missing parts zero, and how
/// many numeric parts were written.
fn partial_version(s: &str) -> Option<(semver::Version, usize)> {
    let s = s.strip_prefix('v').unwrap_or(s);
    let (core, pre) = match s.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (s, None),
    };
    let nums: Vec<u64> = core.split('.').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    if nums.is_empty() || nums.len() > 3 {
        return None;
    }
    let mut v = semver::Version::new(nums[0], nums.get(1).copied().unwrap_or(0), nums.get(2).copied().unwrap_or(0));
    if let Some(p) = pre {
        v.pre = semver::Prerelease::new(p).ok()?;
    }
    Some((v, nums.len()))
}

/// A registry's version string (`1.2.0`, `v1.2.0`), or `None` for one that isn't a version.
pub fn parse_version(s: &str) -> Option<semver::Version> {
    let s = s.strip_prefix('v').unwrap_or(s);
    semver::Version::parse(s).ok().or_else(|| partial_version(s).map(|(v, _)| v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(source: &str) -> (String, Option<String>, Option<String>) {
        match parse(source).unwrap() {
            ModuleSource::Remote(RemoteSource { package: Package::Git { url, reference }, subdir }) => {
                (url, reference, subdir)
            }
            other => panic!("{source}: {other:?}"),
        }
    }

    #[test]
    fn git_forms() {
        assert_eq!(
            git("git::https://example.com/org/repo.git//modules/net?ref=v1.2.0"),
            ("https://example.com/org/repo.git".into(), Some("v1.2.0".into()), Some("modules/net".into()))
        );
        assert_eq!(
            git("git::ssh://git@example.com/org/repo.git?ref=main"),
            ("ssh://git@example.com/org/repo.git".into(), Some("main".into()), None)
        );
        assert_eq!(
            git("git@github.com:org/repo.git//sub?ref=abc123"),
            ("ssh://git@github.com/org/repo.git".into(), Some("abc123".into()), Some("sub".into()))
        );
        assert_eq!(git("github.com/org/repo"), ("https://github.com/org/repo.git".into(), None, None));
        assert_eq!(
            git("github.com/org/repo//sub/dir?ref=v2"),
            ("https://github.com/org/repo.git".into(), Some("v2".into()), Some("sub/dir".into()))
        );
        assert_eq!(git("git::file:///tmp/repo?ref=v1"), ("file:///tmp/repo".into(), Some("v1".into()), None));
    }

    #[test]
    fn registry_forms() {
        let r = |s: &str| match parse(s).unwrap() {
            ModuleSource::Registry(r) => r,
            other => panic!("{s}: {other:?}"),
        };
        let a = r("terraform-google-modules/network/google");
        assert_eq!((a.host.as_str(), a.name.as_str(), a.subdir), (DEFAULT_REGISTRY_HOST, "network", None));
        let b = r("app.terraform.io/acme/network/google//modules/vpc");
        assert_eq!((b.host.as_str(), b.subdir.as_deref()), ("app.terraform.io", Some("modules/vpc")));
        let c = r("127.0.0.1:8080/acme/net/google");
        assert_eq!(c.host, "127.0.0.1:8080");
    }

    #[test]
    fn archives_and_locals() {
        assert_eq!(parse("./modules/x").unwrap(), ModuleSource::Local("./modules/x".into()));
        match parse("https://example.com/m.tar.gz//sub").unwrap() {
            ModuleSource::Remote(RemoteSource { package: Package::Archive { kind, url }, subdir }) => {
                assert_eq!(
                    (kind, url.as_str(), subdir.as_deref()),
                    (ArchiveKind::TarGz, "https://example.com/m.tar.gz", Some("sub"))
                )
            }
            other => panic!("{other:?}"),
        }
        match parse("https://example.com/get?archive=zip&token=1").unwrap() {
            ModuleSource::Remote(RemoteSource { package: Package::Archive { kind, url }, .. }) => {
                assert_eq!((kind, url.as_str()), (ArchiveKind::Zip, "https://example.com/get?token=1"))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refused_sources() {
        for s in [
            "s3::https://s3.amazonaws.com/bucket/m.zip",
            "gcs::https://www.googleapis.com/storage/v1/b/m.zip",
            "hg::https://example.com/repo",
            "https://example.com/module",
            "https://example.com/m.tar.bz2",
            "bitbucket.org/org/repo",
            "ftp://example.com/m.zip",
            "git::ftp://example.com/repo",
            "/abs/path",
            "modules/x",
            "a/b/c/d/e",
            "github.com/org/repo/../x",
            "git::https://example.com/r.git?sshkey=abc",
            "acme/net/Google",
            "git::https://example.com/r.git?ref=--upload-pack=x",
            "acme/net/google?ref=1",
        ] {
            assert!(parse(s).is_err(), "{s} should be refused");
        }
    }

    fn allows(c: &str, v: &str) -> bool {
        VersionConstraint::parse(c).unwrap().matches(&parse_version(v).unwrap())
    }

    #[test]
    fn terraform_constraints() {
        assert!(allows(">= 1.2, < 2.0", "1.9.9") && !allows(">= 1.2, < 2.0", "2.0.0") && !allows(">= 1.2", "1.1.9"));
        assert!(allows("~> 1.2", "1.9.0") && !allows("~> 1.2", "2.0.0") && !allows("~> 1.2", "1.1.0"));
        assert!(allows("~> 1.2.3", "1.2.9") && !allows("~> 1.2.3", "1.3.0"));
        assert!(allows("~> 1", "3.0.0") && !allows("~> 1", "0.9.0"));
        assert!(allows("1.2", "1.2.0") && !allows("= 1.2", "1.2.5"));
        assert!(allows("> 1.2", "1.2.1") && !allows("> 1.2", "1.2.0"));
        assert!(allows("<= 1.2", "1.2.0") && !allows("<= 1.2", "1.2.1"));
        assert!(!allows(">= 1.0, != 1.3.0", "1.3.0") && allows(">= 1.0, != 1.3.0", "1.3.1"));
        for bad in ["", ">= ", "~> x", "1.2.3.4", ">= 1,", "latest"] {
            assert!(VersionConstraint::parse(bad).is_err(), "{bad:?}");
        }
        let c = VersionConstraint::parse("~> 1.1").unwrap();
        let vs: Vec<_> = ["1.0.0", "1.1.0", "1.4.2", "2.0.0"].iter().map(|v| parse_version(v).unwrap()).collect();
        assert_eq!(c.best(&vs).map(ToString::to_string).as_deref(), Some("1.4.2"));
    }
}
