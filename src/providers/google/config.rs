//! The `provider "google" { … }` block, as terraform-provider-google accepts it, resolved
//! against the environment once per run.
//!
//! Only the arguments Cairn acts on ([`honoured_arguments`]) are accepted; the others of
//! Terraform's provider block (batching, user_project_override, …) are refused by name in
//! [`crate::providers::configuration`], so that none is silently ignored.

use std::path::PathBuf;
use std::time::Duration;

pub use crate::google_auth::{CredentialSource, EMULATOR_ENV};
use crate::lang::value::Value;
use crate::providers::ProviderError;

/// Terraform's default per-request HTTP timeout.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// The APIs Cairn talks to. Each has its own endpoint override and concurrency limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    SecretManager,
    Sql,
    VpcAccess,
    Compute,
    Logging,
    CloudRunV2,
    BigQuery,
    Monitoring,
    ResourceManager,
}

impl Service {
    pub const ALL: [Service; 9] = [
        Service::SecretManager,
        Service::Sql,
        Service::VpcAccess,
        Service::Compute,
        Service::Logging,
        Service::CloudRunV2,
        Service::BigQuery,
        Service::Monitoring,
        Service::ResourceManager,
    ];

    /// The provider argument that overrides this service's endpoint.
    pub fn endpoint_argument(self) -> &'static str {
        match self {
            Service::SecretManager => "secret_manager_custom_endpoint",
            Service::Sql => "sql_custom_endpoint",
            Service::VpcAccess => "vpc_access_custom_endpoint",
            Service::Compute => "compute_custom_endpoint",
            Service::Logging => "logging_custom_endpoint",
            Service::CloudRunV2 => "cloud_run_v2_custom_endpoint",
            Service::BigQuery => "big_query_custom_endpoint",
            Service::Monitoring => "monitoring_custom_endpoint",
            Service::ResourceManager => "resource_manager_v3_custom_endpoint",
        }
    }

    pub fn default_endpoint(self) -> &'static str {
        match self {
            Service::SecretManager => "https://secretmanager.googleapis.com",
            Service::Sql => "https://sqladmin.googleapis.com",
            Service::VpcAccess => "https://vpcaccess.googleapis.com",
            Service::Compute => "https://compute.googleapis.com",
            Service::Logging => "https://logging.googleapis.com",
            Service::CloudRunV2 => "https://run.googleapis.com",
            Service::BigQuery => "https://bigquery.googleapis.com",
            Service::Monitoring => "https://monitoring.googleapis.com",
            Service::ResourceManager => "https://cloudresourcemanager.googleapis.com",
        }
    }

    /// The version path Terraform's custom endpoints end with (`https://host/v1/`) and the SDK
    /// adds itself, so it is stripped from an override.
    fn version_suffixes(self) -> &'static [&'static str] {
        match self {
            Service::SecretManager | Service::VpcAccess => &["/v1"],
            Service::CloudRunV2 => &["/v2"],
            Service::Sql => &["/sql/v1beta4", "/v1beta4", "/v1"],
            Service::Compute => &["/compute/v1", "/compute/beta"],
            Service::Logging => &["/v2"],
            Service::BigQuery => &["/bigquery/v2"],
            Service::Monitoring | Service::ResourceManager => &["/v3"],
        }
    }
}

/// The provider block arguments [`GoogleConfig::resolve`] reads.
pub fn honoured_arguments() -> Vec<&'static str> {
    let mut names = vec!["project", "region", "zone", "credentials", "access_token", "request_timeout"];
    names.extend(Service::ALL.iter().map(|s| s.endpoint_argument()));
    names
}

/// terraform-provider-google's other configuration arguments and blocks (its provider
/// reference), which Cairn does not act on yet.
pub fn is_unimplemented_argument(name: &str) -> bool {
    const UNIMPLEMENTED: &[&str] = &[
        "billing_project",
        "user_project_override",
        "impersonate_service_account",
        "impersonate_service_account_delegates",
        "request_reason",
        "scopes",
        "batching",
        "default_labels",
        "add_terraform_attribution_label",
        "terraform_attribution_label_addition_strategy",
        "universe_domain",
        "external_credentials",
    ];
    // Every other API's endpoint override (`storage_custom_endpoint`, …).
    UNIMPLEMENTED.contains(&name) || name.ends_with("_custom_endpoint")
}

/// The provider block resolved: every field has its final value.
#[derive(Clone, Debug, PartialEq)]
pub struct GoogleConfig {
    pub project: Option<String>,
    pub region: Option<String>,
    pub zone: Option<String>,
    pub credentials: CredentialSource,
    pub request_timeout: Duration,
    /// Set when every service goes to the emulator.
    pub emulator: Option<String>,
    endpoints: Vec<(Service, String)>,
}

impl GoogleConfig {
    /// Resolves the provider block. `env` looks up environment variables (injected so tests do
    /// not touch the process environment); `emulator` is `GoogleOptions::emulator`, which wins
    /// over CAIRN_GCP_EMULATOR.
    pub fn resolve(
        block: &Value,
        env: &dyn Fn(&str) -> Option<String>,
        emulator: Option<&str>,
    ) -> Result<GoogleConfig, ProviderError> {
        let arg = |name: &str| -> Result<Option<String>, ProviderError> {
            match block.get(name) {
                None => Ok(None),
                Some(v) if v.is_null() => Ok(None),
                Some(v) if v.is_unknown() => Err(ProviderError::new(format!(
                    "provider argument \"{name}\" depends on a value that is only known after apply; the provider block may use variables and locals only"
                ))),
                Some(v) => match v.peel() {
                    Value::String(s) if s.is_empty() => Ok(None),
                    Value::String(s) => Ok(Some(s.clone())),
                    Value::Number(_) | Value::Bool(_) => Ok(Some(crate::lang::value::Value::to_json(v.peel()).to_string())),
                    other => Err(ProviderError::new(format!("provider argument \"{name}\" must be a string, got a {}", other.type_name()))),
                },
            }
        };
        let env_nonempty = |name: &str| env(name).filter(|s| !s.trim().is_empty());
        let first_env = |names: &[&str]| names.iter().find_map(|n| env_nonempty(n));

        let project = arg("project")?.or_else(|| {
            first_env(&["GOOGLE_PROJECT", "GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT", "CLOUDSDK_CORE_PROJECT"])
        });
        let region =
            arg("region")?.or_else(|| first_env(&["GOOGLE_REGION", "GCLOUD_REGION", "CLOUDSDK_COMPUTE_REGION"]));
        let zone = arg("zone")?.or_else(|| first_env(&["GOOGLE_ZONE", "GCLOUD_ZONE", "CLOUDSDK_COMPUTE_ZONE"]));

        let request_timeout = match arg("request_timeout")? {
            None => DEFAULT_REQUEST_TIMEOUT,
            Some(s) => crate::lang::duration::parse_duration(&s).map_err(|why| {
                let (value, why) = shown(block, "request_timeout", &s, &why.to_string());
                ProviderError::new(format!(
                    "provider argument \"request_timeout\" = {value} is not a duration{why}; write it as Terraform does, e.g. \"60s\", \"2m\" or \"1m30s\""
                ))
            })?,
        };
        if request_timeout.is_zero() {
            return Err(ProviderError::new("provider argument \"request_timeout\" must be greater than zero"));
        }

        let emulator = match emulator.map(str::to_string).or_else(|| env_nonempty(EMULATOR_ENV)) {
            None => None,
            Some(url) => Some(check_url(&url).map_err(|why| {
                ProviderError::new(format!(
                    "the emulator address \"{url}\" is not usable ({why}); give it as http://HOST:PORT, e.g. {EMULATOR_ENV}=http://127.0.0.1:8085"
                ))
            })?),
        };

        let mut endpoints = Vec::new();
        for service in Service::ALL {
            let endpoint = match (&emulator, arg(service.endpoint_argument())?) {
                (Some(emu), _) => emu.clone(),
                (None, Some(custom)) => normalize_endpoint(service, &custom).map_err(|why| {
                    let (value, why) = shown(block, service.endpoint_argument(), &custom, &why);
                    ProviderError::new(format!(
                        "provider argument \"{}\" = {value} is not a URL{why}",
                        service.endpoint_argument()
                    ))
                })?,
                (None, None) => service.default_endpoint().to_string(),
            };
            endpoints.push((service, endpoint));
        }

        let credentials = if emulator.is_some() {
            CredentialSource::Anonymous
        } else if let Some(token) = arg("access_token")?.or_else(|| env_nonempty("GOOGLE_OAUTH_ACCESS_TOKEN")) {
            CredentialSource::AccessToken(token)
        } else if let Some(c) = arg("credentials")?
            .or_else(|| first_env(&["GOOGLE_CREDENTIALS", "GOOGLE_CLOUD_KEYFILE_JSON", "GCLOUD_KEYFILE_JSON"]))
        {
            // A sensitive `credentials` (or any from the environment, where keys live) is
            // never quoted back as a path.
            let from_block = block.get("credentials").is_some_and(|v| !v.is_null());
            let secret = !from_block || block.get("credentials").is_some_and(Value::contains_sensitive);
            credential_from_argument(&c, secret)?
        } else {
            if let Some(path) = env_nonempty("GOOGLE_APPLICATION_CREDENTIALS") {
                // The SDK would report this too, but only after its own retries and in its
                // own words; say plainly which variable points where.
                if !std::path::Path::new(&path).is_file() {
                    return Err(ProviderError::new(format!(
                        "GOOGLE_APPLICATION_CREDENTIALS is set to \"{path}\", but there is no such file. \
                         Point it at a service-account key or an ADC file, unset it to use `gcloud auth application-default login`, \
                         or use --emulator / {EMULATOR_ENV} to try Cairn offline."
                    )));
                }
            }
            CredentialSource::ApplicationDefault
        };

        Ok(GoogleConfig { project, region, zone, credentials, request_timeout, emulator, endpoints })
    }

    /// The resolved endpoint of a service (no trailing slash, no version path).
    pub fn endpoint(&self, service: Service) -> &str {
        self.endpoints
            .iter()
            .find(|(s, _)| *s == service)
            .map(|(_, e)| e.as_str())
            .unwrap_or_else(|| service.default_endpoint())
    }

    pub fn is_emulator(&self) -> bool {
        self.emulator.is_some()
    }
}

/// `credentials` holds either the key file's JSON content or a path to it, as in Terraform.
fn credential_from_argument(c: &str, secret: bool) -> Result<CredentialSource, ProviderError> {
    let trimmed = c.trim_start();
    if trimmed.starts_with('{') {
        if serde_json::from_str::<serde_json::Value>(trimmed).is_err() {
            return Err(ProviderError::new(
                "provider argument \"credentials\" looks like JSON but does not parse; pass the key file's content unchanged (e.g. file(\"key.json\")) or its path",
            ));
        }
        return Ok(CredentialSource::Json(c.to_string()));
    }
    let path = expand_home(c);
    if !path.is_file() {
        let what = if secret {
            "(sensitive value) is neither a key's JSON content nor the path of an existing file".to_string()
        } else {
            format!("the file \"{}\" does not exist", path.display())
        };
        return Err(ProviderError::new(format!(
            "provider argument \"credentials\": {what}. Give the path of a service-account key (or its JSON content), \
             or remove \"credentials\" to use Application Default Credentials (`gcloud auth application-default login`)"
        )));
    }
    Ok(CredentialSource::File(path))
}

/// How an error quotes a provider argument's value and why it was refused (` (…)`): neither
/// when the value is sensitive, since the reason may quote the value too.
fn shown(block: &Value, name: &str, value: &str, why: &str) -> (String, String) {
    if block.get(name).is_some_and(Value::contains_sensitive) {
        ("(sensitive value)".to_string(), String::new())
    } else {
        (format!("\"{value}\""), format!(" ({why})"))
    }
}

fn expand_home(p: &str) -> PathBuf {
    if let Some(rest) = p.strip_prefix("~/") {
        if let Some(home) = std::env::var_os("HOME") {
            return PathBuf::from(home).join(rest);
        }
    }
    PathBuf::from(p)
}

fn check_url(url: &str) -> Result<String, String> {
    let trimmed = url.trim().trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("http://")
        .or_else(|| trimmed.strip_prefix("https://"))
        .ok_or("it must start with http:// or https://")?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err("it has no host".into());
    }
    Ok(trimmed.to_string())
}

/// Terraform's endpoint overrides include the API version path (`…/v1/`); the SDK adds the
/// version itself, so it is removed here.
pub fn normalize_endpoint(service: Service, url: &str) -> Result<String, String> {
    let mut u = check_url(url)?;
    for suffix in service.version_suffixes() {
        if let Some(stripped) = u.strip_suffix(suffix) {
            u = stripped.to_string();
            break;
        }
    }
    Ok(u)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k: &str| m.get(k).cloned()
    }

    fn block(pairs: &[(&str, Value)]) -> Value {
        Value::map(pairs.iter().cloned())
    }

    #[test]
    fn project_and_region_fall_back_to_the_environment_in_terraform_order() {
        let e = env(&[
            ("GOOGLE_CLOUD_PROJECT", "from-cloud"),
            ("CLOUDSDK_CORE_PROJECT", "from-sdk"),
            ("GOOGLE_REGION", "europe-west1"),
        ]);
        let c = GoogleConfig::resolve(&Value::Null, &e, None).unwrap();
        assert_eq!(c.project.as_deref(), Some("from-cloud"));
        assert_eq!(c.region.as_deref(), Some("europe-west1"));
        let e = env(&[("GOOGLE_PROJECT", "first"), ("GOOGLE_CLOUD_PROJECT", "second")]);
        assert_eq!(GoogleConfig::resolve(&Value::Null, &e, None).unwrap().project.as_deref(), Some("first"));
        let e = env(&[("CLOUDSDK_CORE_PROJECT", "sdk")]);
        assert_eq!(GoogleConfig::resolve(&Value::Null, &e, None).unwrap().project.as_deref(), Some("sdk"));
        // The block wins over the environment.
        let b = block(&[("project", "blk".into()), ("region", "us-east1".into()), ("zone", "us-east1-b".into())]);
        let c = GoogleConfig::resolve(&b, &env(&[("GOOGLE_PROJECT", "env")]), None).unwrap();
        assert_eq!(
            (c.project.as_deref(), c.region.as_deref(), c.zone.as_deref()),
            (Some("blk"), Some("us-east1"), Some("us-east1-b"))
        );
        assert_eq!(c.request_timeout, DEFAULT_REQUEST_TIMEOUT);
        assert_eq!(c.credentials, CredentialSource::ApplicationDefault);
    }

    #[test]
    fn endpoint_overrides_drop_the_version_path() {
        let b = block(&[
            ("secret_manager_custom_endpoint", "https://sm.example.com/v1/".into()),
            ("compute_custom_endpoint", "https://c.example.com/compute/v1/".into()),
            ("sql_custom_endpoint", "https://sql.example.com/sql/v1beta4/".into()),
            ("logging_custom_endpoint", "http://127.0.0.1:9000/v2".into()),
        ]);
        let c = GoogleConfig::resolve(&b, &env(&[]), None).unwrap();
        assert_eq!(c.endpoint(Service::SecretManager), "https://sm.example.com");
        assert_eq!(c.endpoint(Service::Compute), "https://c.example.com");
        assert_eq!(c.endpoint(Service::Sql), "https://sql.example.com");
        assert_eq!(c.endpoint(Service::Logging), "http://127.0.0.1:9000");
        assert_eq!(c.endpoint(Service::VpcAccess), "https://vpcaccess.googleapis.com");
        let bad = block(&[("vpc_access_custom_endpoint", "vpcaccess.example.com".into())]);
        let e = GoogleConfig::resolve(&bad, &env(&[]), None).unwrap_err();
        assert!(e.message.contains("vpc_access_custom_endpoint") && e.message.contains("http://"), "{}", e.message);
    }

    #[test]
    fn the_emulator_routes_every_service_with_anonymous_credentials() {
        let b = block(&[
            ("secret_manager_custom_endpoint", "https://sm.example.com/v1/".into()),
            ("access_token", Value::from("tok").sensitive()),
        ]);
        let c = GoogleConfig::resolve(&b, &env(&[(EMULATOR_ENV, "http://127.0.0.1:8085/")]), None).unwrap();
        assert!(c.is_emulator());
        for s in Service::ALL {
            assert_eq!(c.endpoint(s), "http://127.0.0.1:8085");
        }
        assert_eq!(c.credentials, CredentialSource::Anonymous);
        // The option beats the variable.
        let c = GoogleConfig::resolve(&Value::Null, &env(&[(EMULATOR_ENV, "http://a:1")]), Some("http://b:2")).unwrap();
        assert_eq!(c.endpoint(Service::Sql), "http://b:2");
        let e = GoogleConfig::resolve(&Value::Null, &env(&[(EMULATOR_ENV, "localhost:8085")]), None).unwrap_err();
        assert!(e.message.contains(EMULATOR_ENV), "{}", e.message);
    }

    #[test]
    fn errors_never_quote_a_sensitive_argument() {
        for name in ["request_timeout", "compute_custom_endpoint"] {
            let b = block(&[(name, Value::from("SECRET-xyz").sensitive())]);
            let e = GoogleConfig::resolve(&b, &env(&[]), None).unwrap_err();
            assert!(!e.message.contains("SECRET-xyz") && e.message.contains("(sensitive value)"), "{}", e.message);
            let e = GoogleConfig::resolve(&block(&[(name, Value::from("plain-xyz"))]), &env(&[]), None).unwrap_err();
            assert!(e.message.contains("\"plain-xyz\""), "{}", e.message);
        }
    }

    #[test]
    fn every_endpoint_argument_is_honoured_and_other_apis_are_refused_by_name() {
        let honoured = honoured_arguments();
        for s in Service::ALL {
            assert!(honoured.contains(&s.endpoint_argument()), "{s:?}");
        }
        assert!(is_unimplemented_argument("storage_custom_endpoint"));
        assert!(is_unimplemented_argument("user_project_override"));
        assert!(!is_unimplemented_argument("bogus"));
    }

    #[test]
    fn credentials_precedence_and_bad_values() {
        let c = GoogleConfig::resolve(&block(&[("access_token", Value::from("ya29.x").sensitive())]), &env(&[]), None)
            .unwrap();
        assert_eq!(c.credentials, CredentialSource::AccessToken("ya29.x".into()));
        assert!(!format!("{c:?}").contains("ya29"), "tokens never reach Debug output");
        let json = r#"{"type":"service_account","project_id":"p"}"#;
        let c = GoogleConfig::resolve(&block(&[("credentials", json.into())]), &env(&[]), None).unwrap();
        assert_eq!(c.credentials, CredentialSource::Json(json.into()));
        let c = GoogleConfig::resolve(&Value::Null, &env(&[("GOOGLE_CREDENTIALS", json)]), None).unwrap();
        assert_eq!(c.credentials, CredentialSource::Json(json.into()));

        let e = GoogleConfig::resolve(&block(&[("credentials", "/nonexistent/key.json".into())]), &env(&[]), None)
            .unwrap_err();
        assert!(e.message.contains("/nonexistent/key.json") && e.message.contains("does not exist"), "{}", e.message);
        // A sensitive value, or one from the environment (where keys are kept), is not quoted.
        for (b, e) in [
            (block(&[("credentials", Value::from("c2VjcmV0LWtleQ==").sensitive())]), env(&[])),
            (Value::Null, env(&[("GOOGLE_CREDENTIALS", "c2VjcmV0LWtleQ==")])),
        ] {
            let err = GoogleConfig::resolve(&b, &e, None).unwrap_err();
            assert!(!err.message.contains("c2VjcmV0") && err.message.contains("(sensitive value)"), "{}", err.message);
        }
        let e = GoogleConfig::resolve(&block(&[("credentials", "{not json".into())]), &env(&[]), None).unwrap_err();
        assert!(e.message.contains("does not parse"), "{}", e.message);
        let e = GoogleConfig::resolve(
            &Value::Null,
            &env(&[("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/adc.json")]),
            None,
        )
        .unwrap_err();
        assert!(
            e.message.contains("GOOGLE_APPLICATION_CREDENTIALS") && e.message.contains("/nonexistent/adc.json"),
            "{}",
            e.message
        );

        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key.json");
        std::fs::write(&key, json).unwrap();
        let c =
            GoogleConfig::resolve(&block(&[("credentials", key.to_str().unwrap().into())]), &env(&[]), None).unwrap();
        assert_eq!(c.credentials, CredentialSource::File(key));
    }

    #[test]
    fn request_timeout_takes_go_durations() {
        let t = |s: &str| {
            GoogleConfig::resolve(&block(&[("request_timeout", s.into())]), &env(&[]), None).map(|c| c.request_timeout)
        };
        assert_eq!(t("60s").unwrap(), Duration::from_secs(60));
        assert_eq!(t("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(t("1.5h").unwrap(), Duration::from_secs(5400));
        assert_eq!(t("250ms").unwrap(), Duration::from_millis(250));
        for bad in ["60", "ten seconds", "5d", "-1s", "0s"] {
            let e = t(bad).unwrap_err();
            assert!(e.message.contains("request_timeout"), "{bad}: {}", e.message);
        }
    }

    #[test]
    fn unknown_provider_arguments_are_errors_not_guesses() {
        let e = GoogleConfig::resolve(&block(&[("project", Value::unknown())]), &env(&[]), None).unwrap_err();
        assert!(e.message.contains("known after apply"), "{}", e.message);
    }
}
