//! Where a stack's state lives: the `backend` block (plus `*_override.tf` overrides, which the
//! loader has already applied) and the environment variables Terraform's backends read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::gcs::GcsSettings;
use crate::google_auth::CredentialSource;
use crate::lang::config::Backend;
use crate::lang::diag::{Diagnostic, Diagnostics};

/// Where a stack's state lives.
#[derive(Clone, Debug)]
pub enum StateBackend {
    /// A directory: the local backend's `path` resolved against the stack directory, or
    /// `state/` inside it.
    Local(PathBuf),
    Gcs(GcsSettings),
}

/// The gcs backend's arguments (Terraform's, where Cairn has the feature).
const GCS_ARGUMENTS: &[&str] = &[
    "bucket",
    "prefix",
    "credentials",
    "access_token",
    "impersonate_service_account",
    "encryption_key",
    "storage_custom_endpoint",
];

/// Where every workspace of a stack keeps its state.
#[derive(Clone, Debug)]
pub enum Workspaces {
    /// `default` in the backend's state directory; every other workspace in a directory of
    /// its own name under `others` (the local backend's `workspace_dir`, `state.d/` in the
    /// stack by default, as Terraform's is `terraform.tfstate.d/`).
    Local { default: PathBuf, others: PathBuf },
    /// Objects named after the workspace under the prefix (see [`super::gcs`]).
    Gcs(GcsSettings),
}

impl Workspaces {
    /// Where one workspace's state lives.
    pub fn backend(&self, workspace: &str) -> StateBackend {
        match self {
            Workspaces::Local { default, .. } if workspace == super::workspace::DEFAULT => {
                StateBackend::Local(default.clone())
            }
            Workspaces::Local { others, .. } => StateBackend::Local(others.join(workspace)),
            Workspaces::Gcs(settings) => StateBackend::Gcs(settings.for_workspace(workspace)),
        }
    }
}

/// Where the stack's `default` workspace keeps its state; see [`workspaces`].
pub fn state_backend(root_dir: &Path, backend: Option<&Backend>) -> Result<StateBackend, Diagnostics> {
    Ok(workspaces(root_dir, backend)?.backend(super::workspace::DEFAULT))
}

/// Resolves the stack's backend block (and the environment variables Terraform's backends read).
pub fn workspaces(root_dir: &Path, backend: Option<&Backend>) -> Result<Workspaces, Diagnostics> {
    let local_others = |args: &BTreeMap<&str, (String, crate::lang::diag::Span)>| match args.get("workspace_dir") {
        None => root_dir.join("state.d"),
        Some((p, _)) => root_dir.join(p),
    };
    let Some(b) = backend else {
        return Ok(Workspaces::Local { default: root_dir.join("state"), others: root_dir.join("state.d") });
    };
    let fail = |d: Diagnostic| Diagnostics::from(d);
    let mut args = BTreeMap::new();
    for (name, attr) in &b.attributes {
        let allowed: &[&str] = if b.kind == "local" { &["path", "workspace_dir"] } else { GCS_ARGUMENTS };
        if !allowed.contains(&name.as_str()) {
            let mut d = Diagnostic::error(format!("Unsupported argument \"{name}\" in the {} backend", b.kind))
                .detail(format!("The {} backend takes: {}.", b.kind, allowed.join(", ")))
                .at(attr.span);
            if let Some(h) = crate::lang::diag::suggest(name, allowed.iter().copied()) {
                d = d.help(h);
            }
            return Err(fail(d));
        }
        match &attr.expr.expr {
            hcl_edit::expr::Expression::String(s) => {
                args.insert(name.as_str(), (s.value().to_string(), attr.expr.span));
            }
            _ => {
                return Err(fail(
                    Diagnostic::error(format!("The backend's {name} must be a literal string"))
                        .at(attr.expr.span)
                        .help("backend settings cannot use variables or functions (the backend is read before anything is evaluated)"),
                ))
            }
        }
    }
    if b.kind == "local" {
        let default = match args.get("path") {
            None => root_dir.join("state"),
            Some((p, _)) => root_dir.join(p),
        };
        return Ok(Workspaces::Local { default, others: local_others(&args) });
    }
    let Some((bucket, _)) = args.get("bucket").cloned() else {
        return Err(fail(
            Diagnostic::error("The gcs backend needs a bucket")
                .at(b.span)
                .help("add bucket = \"<name of the state bucket>\" (create the bucket once: gcloud storage buckets create gs://NAME --uniform-bucket-level-access)"),
        ));
    };
    let prefix = match args.get("prefix") {
        Some((p, span)) if p.starts_with('/') => {
            return Err(fail(
                Diagnostic::error("The gcs backend's prefix must not start with \"/\"")
                    .at(*span)
                    .help("write it as a relative folder, e.g. prefix = \"stacks/staging\""),
            ))
        }
        Some((p, _)) => p.trim_end_matches('/').to_string(),
        None => String::new(),
    };
    let arg = |name: &str| args.get(name).map(|(v, _)| v.clone());
    let given = GcsArgs {
        credentials: arg("credentials"),
        access_token: arg("access_token"),
        impersonate_service_account: arg("impersonate_service_account"),
        encryption_key: arg("encryption_key"),
        storage_custom_endpoint: arg("storage_custom_endpoint"),
    };
    gcs_settings_from_env(&bucket, &prefix, Some(&given)).map(Workspaces::Gcs).map_err(|message| {
        let span = args.get("encryption_key").map_or(b.span, |(_, s)| *s);
        fail(
            Diagnostic::error(message).at(span).help(
                "generate one with: openssl rand -base64 32 (and keep it safe: without it the state cannot be read)",
            ),
        )
    })
}

/// The gcs backend's arguments as written in a backend block.
#[derive(Clone, Debug, Default)]
pub struct GcsArgs {
    pub credentials: Option<String>,
    pub access_token: Option<String>,
    pub impersonate_service_account: Option<String>,
    pub encryption_key: Option<String>,
    pub storage_custom_endpoint: Option<String>,
}

/// gcs settings from given arguments, falling back to the environment variables Terraform's
/// gcs backend reads, and to STORAGE_EMULATOR_HOST as Google's storage clients do. The only
/// error is an unusable encryption key.
pub fn gcs_settings_from_env(bucket: &str, prefix: &str, given: Option<&GcsArgs>) -> Result<GcsSettings, String> {
    let given = given.cloned().unwrap_or_default();
    let env = |names: &[&str]| names.iter().find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()));
    let emulator = env(&["STORAGE_EMULATOR_HOST"]);
    let endpoint = given
        .storage_custom_endpoint
        .or_else(|| env(&["GOOGLE_BACKEND_STORAGE_CUSTOM_ENDPOINT", "GOOGLE_STORAGE_CUSTOM_ENDPOINT"]))
        .or_else(|| emulator.as_deref().map(super::gcs::emulator_endpoint));
    let credentials = if let Some(token) = given.access_token.or_else(|| env(&["GOOGLE_OAUTH_ACCESS_TOKEN"])) {
        CredentialSource::AccessToken(token)
    } else if let Some(c) = given.credentials.or_else(|| env(&["GOOGLE_BACKEND_CREDENTIALS", "GOOGLE_CREDENTIALS"])) {
        if c.trim_start().starts_with('{') {
            CredentialSource::Json(c)
        } else {
            CredentialSource::File(PathBuf::from(c))
        }
    } else if emulator.is_some() || endpoint.as_deref().is_some_and(|e| e.starts_with("http://")) {
        // Emulators take no credentials (and plain HTTP reaches no real Google endpoint).
        CredentialSource::Anonymous
    } else {
        CredentialSource::ApplicationDefault
    };
    let encryption_key = match given.encryption_key.or_else(|| env(&["GOOGLE_ENCRYPTION_KEY"])) {
        None => None,
        Some(k) => {
            use base64::Engine;
            let bad = || "The gcs backend's encryption_key is not a base64-encoded 32-byte key".to_string();
            let raw = base64::engine::general_purpose::STANDARD.decode(k.trim()).map_err(|_| bad())?;
            Some(<[u8; 32]>::try_from(raw.as_slice()).map_err(|_| bad())?)
        }
    };
    let impersonate_service_account = given
        .impersonate_service_account
        .or_else(|| env(&["GOOGLE_BACKEND_IMPERSONATE_SERVICE_ACCOUNT", "GOOGLE_IMPERSONATE_SERVICE_ACCOUNT"]));
    Ok(GcsSettings {
        bucket: bucket.to_string(),
        prefix: prefix.to_string(),
        credentials,
        impersonate_service_account,
        encryption_key,
        endpoint,
        workspace: super::workspace::DEFAULT.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given(f: impl FnOnce(&mut GcsArgs)) -> GcsArgs {
        let mut a = GcsArgs::default();
        f(&mut a);
        a
    }

    // The environment may carry GOOGLE_* variables on a developer's machine; every case here
    // gives the argument that decides it, which wins over the environment.
    #[test]
    fn gcs_arguments_choose_the_credentials_and_endpoint() {
        let s = gcs_settings_from_env("b", "p", Some(&given(|a| a.access_token = Some("tok".into())))).unwrap();
        assert!(matches!(s.credentials, CredentialSource::AccessToken(t) if t == "tok"));
        let s = gcs_settings_from_env(
            "b",
            "p",
            Some(&given(|a| a.credentials = Some("{\"type\":\"service_account\"}".into()))),
        )
        .unwrap();
        assert!(matches!(s.credentials, CredentialSource::Json(_)));
        let s =
            gcs_settings_from_env("b", "p", Some(&given(|a| a.credentials = Some("/keys/ci.json".into())))).unwrap();
        assert!(matches!(s.credentials, CredentialSource::File(p) if p == Path::new("/keys/ci.json")));
        let s = gcs_settings_from_env(
            "b",
            "p",
            Some(&given(|a| a.storage_custom_endpoint = Some("http://127.0.0.1:4443".into()))),
        )
        .unwrap();
        assert_eq!(s.endpoint.as_deref(), Some("http://127.0.0.1:4443"));
        let env_credentials = ["GOOGLE_OAUTH_ACCESS_TOKEN", "GOOGLE_BACKEND_CREDENTIALS", "GOOGLE_CREDENTIALS"]
            .iter()
            .any(|v| std::env::var_os(v).is_some());
        if !env_credentials {
            assert!(
                matches!(s.credentials, CredentialSource::Anonymous),
                "a plain-HTTP endpoint is an emulator: no credentials"
            );
        }
        let s = gcs_settings_from_env(
            "b",
            "p",
            Some(&given(|a| a.impersonate_service_account = Some("sa@p.iam.gserviceaccount.com".into()))),
        )
        .unwrap();
        assert_eq!(s.impersonate_service_account.as_deref(), Some("sa@p.iam.gserviceaccount.com"));
    }

    #[test]
    fn an_encryption_key_must_be_32_bytes_of_base64() {
        use base64::Engine;
        let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        let s = gcs_settings_from_env("b", "p", Some(&given(|a| a.encryption_key = Some(key)))).unwrap();
        assert_eq!(s.encryption_key, Some([7u8; 32]));
        for bad in ["c2hvcnQ=", "not base64!", ""] {
            let e = gcs_settings_from_env("b", "p", Some(&given(|a| a.encryption_key = Some(bad.into())))).unwrap_err();
            assert!(e.contains("32-byte"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn the_local_backend_path_resolves_against_the_stack() {
        let config = |text: &str| {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("main.tf"), text).unwrap();
            let c = crate::lang::load::load(dir.path()).unwrap();
            (dir, c)
        };
        let (_dir, c) = config("terraform {\n  backend \"local\" {\n    path = \"../shared/state\"\n  }\n}\n");
        match state_backend(&c.root_dir, c.backend.as_ref()).unwrap() {
            StateBackend::Local(p) => assert_eq!(p, c.root_dir.join("../shared/state")),
            other => panic!("{other:?}"),
        }
        let (_d, c) = config("resource \"terraform_data\" \"a\" {}\n");
        assert!(matches!(state_backend(&c.root_dir, None).unwrap(), StateBackend::Local(p) if p.ends_with("state")));
    }
}
