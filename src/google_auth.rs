//! Google credentials, shared by the google provider and the gcs state backend: where they
//! come from ([`CredentialSource`]) and how they are built and checked.
//!
//! Both users resolve the source their own way (the provider block, the backend block, their
//! environment variables) and map [`AuthError`] into their own error type.

use std::path::PathBuf;
use std::time::Duration;

use google_cloud_auth::credentials::{self as auth, CacheableResource, Credentials, EntityTag};
use google_cloud_auth::errors::CredentialsError;

/// The environment variable that routes every Google service to a local emulator (and so
/// needs no credentials).
pub const EMULATOR_ENV: &str = "CAIRN_GCP_EMULATOR";

/// Where credentials come from, in Terraform's order of precedence.
#[derive(Clone, PartialEq)]
pub enum CredentialSource {
    /// Talking to the emulator: no Authorization header at all.
    Anonymous,
    /// `access_token` (or GOOGLE_OAUTH_ACCESS_TOKEN): a raw OAuth2 bearer token.
    AccessToken(String),
    /// `credentials` given as JSON content (or GOOGLE_CREDENTIALS).
    Json(String),
    /// `credentials` given as a path to a key file.
    File(PathBuf),
    /// Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud's ADC file, or
    /// the metadata server).
    ApplicationDefault,
}

impl std::fmt::Debug for CredentialSource {
    // Tokens and key files are secrets: name the source, never its content.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CredentialSource::Anonymous => write!(f, "Anonymous"),
            CredentialSource::AccessToken(_) => write!(f, "AccessToken(<redacted>)"),
            CredentialSource::Json(_) => write!(f, "Json(<redacted>)"),
            CredentialSource::File(p) => write!(f, "File({})", p.display()),
            CredentialSource::ApplicationDefault => write!(f, "ApplicationDefault"),
        }
    }
}

/// Why no usable credentials could be built.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("cannot read the credentials file {}: {source}", path.display())]
    Unreadable { path: PathBuf, source: std::io::Error },
    #[error("{what} is not valid JSON ({source}); give a service-account key file or its content")]
    NotJson { what: String, source: serde_json::Error },
    #[error(
        "{what} has type \"{kind}\"; Cairn accepts service_account, authorized_user, impersonated_service_account and external_account keys"
    )]
    UnsupportedKeyType { what: String, kind: String },
    #[error("{what} cannot be used: {detail}")]
    Unusable { what: String, detail: String },
    /// Nothing usable was found or the login did not answer; the message lists every fix.
    #[error(
        "no usable Google Cloud credentials. To fix it, do one of:\n  \
         - run `gcloud auth application-default login`\n  \
         - set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file\n  \
         - set `credentials` (a key file path or its JSON content) or `access_token` in the provider \"google\" block\n  \
         - or try Cairn offline against the local emulator: pass --emulator, or set {EMULATOR_ENV}=http://127.0.0.1:8085\n\
         (the credential library said: {})",
        first_sentence(.0)
    )]
    NoCredentials(String),
}

/// Credentials from the resolved source.
pub fn credentials(source: &CredentialSource) -> Result<Credentials, AuthError> {
    match source {
        CredentialSource::Anonymous => Ok(auth::anonymous::Builder::new().build()),
        CredentialSource::AccessToken(token) => Ok(Credentials::from(StaticToken(token.clone()))),
        CredentialSource::Json(text) => from_json(text, "the provider's `credentials`"),
        CredentialSource::File(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|source| AuthError::Unreadable { path: path.clone(), source })?;
            from_json(&text, &format!("the credentials file {}", path.display()))
        }
        CredentialSource::ApplicationDefault => {
            auth::Builder::default().build().map_err(|e| AuthError::NoCredentials(e.to_string()))
        }
    }
}

fn from_json(text: &str, what: &str) -> Result<Credentials, AuthError> {
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|source| AuthError::NotJson { what: what.to_string(), source })?;
    let kind = json.get("type").and_then(|t| t.as_str()).unwrap_or_default().to_string();
    let built = match kind.as_str() {
        "service_account" => auth::service_account::Builder::new(json).build(),
        "authorized_user" => auth::user_account::Builder::new(json).build(),
        "impersonated_service_account" => auth::impersonated::Builder::new(json).build(),
        "external_account" => auth::external_account::Builder::new(json).build(),
        _ => return Err(AuthError::UnsupportedKeyType { what: what.to_string(), kind }),
    };
    built.map_err(|e| AuthError::Unusable { what: what.to_string(), detail: e.to_string() })
}

/// Fetches authentication headers once, under `timeout`, so a missing login fails now with
/// advice instead of after the first API call's retries.
pub async fn probe(creds: &Credentials, timeout: Duration) -> Result<(), AuthError> {
    match tokio::time::timeout(timeout, creds.headers(Default::default())).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(AuthError::NoCredentials(e.to_string())),
        Err(_) => Err(AuthError::NoCredentials(format!(
            "no credentials file was found and the metadata server did not answer within {} s",
            timeout.as_secs()
        ))),
    }
}

/// The auth library's messages run several sentences; the first says what happened.
fn first_sentence(s: &str) -> &str {
    s.split(". ").next().unwrap_or(s).trim_end_matches('.')
}

/// A raw OAuth2 access token (`access_token`), sent as is; it expires on its own schedule,
/// as in Terraform. The HTTP types come from axum's re-export of the `http` crate the SDK uses.
struct StaticToken(String);

impl std::fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StaticToken(<redacted>)")
    }
}

impl auth::CredentialsProvider for StaticToken {
    async fn headers(
        &self,
        _extensions: axum::http::Extensions,
    ) -> Result<CacheableResource<axum::http::HeaderMap>, CredentialsError> {
        let mut value = axum::http::HeaderValue::from_str(&format!("Bearer {}", self.0)).map_err(|_| {
            CredentialsError::from_msg(false, "access_token contains characters that cannot be sent in an HTTP header")
        })?;
        value.set_sensitive(true);
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(axum::http::header::AUTHORIZATION, value);
        Ok(CacheableResource::New { entity_tag: EntityTag::new(), data: headers })
    }

    async fn universe_domain(&self) -> Option<String> {
        Some("googleapis.com".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// How long the provider gives the probe; the timing contract below is stated for it.
    const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

    #[derive(Debug)]
    struct NeverAnswers;
    impl auth::CredentialsProvider for NeverAnswers {
        async fn headers(
            &self,
            _e: axum::http::Extensions,
        ) -> Result<CacheableResource<axum::http::HeaderMap>, CredentialsError> {
            std::future::pending::<()>().await;
            Err(CredentialsError::from_msg(true, "unreachable"))
        }
        async fn universe_domain(&self) -> Option<String> {
            None
        }
    }

    fn assert_helpful(message: &str) {
        for hint in [
            "gcloud auth application-default login",
            "GOOGLE_APPLICATION_CREDENTIALS",
            "access_token",
            "--emulator",
            EMULATOR_ENV,
        ] {
            assert!(message.contains(hint), "missing {hint:?} in {message}");
        }
    }

    // The user-visible contract: without credentials a command fails in under 5 s with advice,
    // never after the SDK's minute of retries. Timing is asserted only here for that reason.
    #[tokio::test]
    async fn probe_fails_fast_when_nothing_answers() {
        let started = Instant::now();
        let e = probe(&Credentials::from(NeverAnswers), PROBE_TIMEOUT).await.unwrap_err().to_string();
        let took = started.elapsed();
        assert!(took < Duration::from_secs(5), "took {took:?}");
        assert!(took >= PROBE_TIMEOUT - Duration::from_millis(100));
        assert!(e.contains("metadata server did not answer within 3 s"), "{e}");
        assert_helpful(&e);
    }

    #[tokio::test]
    async fn access_token_becomes_a_bearer_header() {
        let creds = credentials(&CredentialSource::AccessToken("ya29.token".into())).unwrap();
        assert!(!format!("{creds:?}").contains("ya29"));
        let CacheableResource::New { data, .. } = creds.headers(Default::default()).await.unwrap() else {
            panic!("headers")
        };
        assert_eq!(data.get("authorization").and_then(|v| v.to_str().ok()), Some("Bearer ya29.token"));
        probe(&creds, PROBE_TIMEOUT).await.unwrap();
        let bad = credentials(&CredentialSource::AccessToken("a\nb".into())).unwrap();
        assert!(probe(&bad, PROBE_TIMEOUT).await.is_err());
    }

    #[test]
    fn unusable_key_files_are_named() {
        let e = credentials(&CredentialSource::Json(r#"{"type":"gdch_service_account"}"#.into())).unwrap_err();
        assert!(e.to_string().contains("gdch_service_account"), "{e}");
        let e = credentials(&CredentialSource::Json(r#"{"type":"service_account"}"#.into())).unwrap_err();
        assert!(e.to_string().contains("cannot be used"), "{e}");
    }
}
