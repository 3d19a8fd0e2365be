//! Google API errors → [`ProviderError`], keeping what the user needs: the API method, the
//! API's own message, and whether trying again may help.
//!
//! The SDK parses an error body's `"status"` string into [`Status::code`]; the legacy envelope
//! (compute, sqladmin) has no `status`, so its code reads as UNKNOWN and the HTTP status code is
//! the reliable field. Both are consulted.

use google_cloud_gax::error::rpc::{Code, Status};
use google_cloud_gax::error::Error as GaxError;

use super::retry::{classify, Retry};
use crate::providers::ProviderError;

/// The HTTP status of a failed call: the response's own, or the one the RPC code maps to.
pub fn http_status(e: &GaxError) -> Option<u16> {
    if let Some(code) = e.http_status_code() {
        return Some(code);
    }
    e.status().and_then(|s| code_to_http(s.code))
}

/// The RPC status name (`NOT_FOUND`), when the body carried one.
pub fn status_name(e: &GaxError) -> Option<&'static str> {
    e.status().map(|s| s.code).filter(|c| *c != Code::Unknown).map(|c| c.name())
}

fn code_to_http(code: Code) -> Option<u16> {
    Some(match code {
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => 400,
        Code::Unauthenticated => 401,
        Code::PermissionDenied => 403,
        Code::NotFound => 404,
        Code::AlreadyExists | Code::Aborted => 409,
        Code::ResourceExhausted => 429,
        Code::Cancelled => 499,
        Code::Internal | Code::DataLoss => 500,
        Code::Unimplemented => 501,
        Code::Unavailable => 503,
        Code::DeadlineExceeded => 504,
        _ => return None,
    })
}

/// Everything an error says, for the substring predicates Terraform uses (`operationInProgress`,
/// `CONCURRENT_OPERATIONS_QUOTA_EXCEEDED`, "per minute"): the message, the details (legacy
/// `errors[].reason` included) and, for bodies the SDK could not parse, the raw payload.
pub fn error_text(e: &GaxError) -> String {
    let mut out = String::new();
    if let Some(s) = e.status() {
        out.push_str(&s.message);
        if let Ok(d) = serde_json::to_string(&s.details) {
            out.push(' ');
            out.push_str(&d);
        }
    }
    if let Some(p) = e.http_payload() {
        out.push(' ');
        out.push_str(&String::from_utf8_lossy(p));
    }
    out
}

/// The API's message: the status message, the legacy envelope's `error.message` from a raw
/// payload, or the client's description of a transport failure.
pub fn api_message(e: &GaxError) -> String {
    if let Some(Status { message, .. }) = e.status() {
        if !message.is_empty() {
            return message.clone();
        }
    }
    if let Some(p) = e.http_payload() {
        if let Ok(j) = serde_json::from_slice::<serde_json::Value>(p) {
            if let Some(m) = j.pointer("/error/message").and_then(|m| m.as_str()) {
                return m.to_string();
            }
        }
        let text = String::from_utf8_lossy(p);
        let text = text.trim();
        if !text.is_empty() {
            return text.chars().take(300).collect();
        }
    }
    if e.is_connect() {
        return format!(
            "cannot connect to the API endpoint ({e}); check the network, or the emulator address if you use one"
        );
    }
    if e.is_timeout() {
        return format!("the request timed out ({e}); raise the provider's request_timeout if the API is slow");
    }
    if e.is_authentication() {
        return format!("cannot get credentials ({e}); run `gcloud auth application-default login` or set GOOGLE_APPLICATION_CREDENTIALS");
    }
    e.to_string()
}

pub fn is_not_found(e: &GaxError) -> bool {
    http_status(e) == Some(404) || e.status().is_some_and(|s| s.code == Code::NotFound)
}

pub fn is_already_exists(e: &GaxError) -> bool {
    e.status().is_some_and(|s| s.code == Code::AlreadyExists)
        || (http_status(e) == Some(409) && {
            let t = error_text(e);
            t.contains("alreadyExists") || t.contains("already exists") || t.contains("ALREADY_EXISTS")
        })
}

/// Maps an SDK error from `method` (e.g. `secretmanager.projects.secrets.create`).
pub fn api_error(method: &str, e: &GaxError) -> ProviderError {
    let mut message = api_message(e);
    match (http_status(e), status_name(e)) {
        (Some(code), Some(name)) => message.push_str(&format!(" (HTTP {code} {name})")),
        (Some(code), None) => message.push_str(&format!(" (HTTP {code})")),
        _ => {}
    }
    ProviderError {
        method: Some(method.to_string()),
        message,
        retryable: classify(e) != Retry::Permanent,
        not_found: is_not_found(e),
        already_exists: is_already_exists(e),
    }
}

/// Credential problems reach the user as the provider's own errors: configure fails with them.
impl From<crate::google_auth::AuthError> for ProviderError {
    fn from(e: crate::google_auth::AuthError) -> Self {
        ProviderError::new(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aip(code: u16, body: &str) -> GaxError {
        let bytes = bytes_of(body);
        match Status::try_from(&bytes) {
            Ok(s) => GaxError::service_with_http_metadata(s, Some(code), None),
            Err(_) => GaxError::http(code, axum::http::HeaderMap::new(), bytes),
        }
    }

    // axum re-exports the `bytes` crate the SDK uses.
    fn bytes_of(s: &str) -> axum::body::Bytes {
        axum::body::Bytes::from(s.as_bytes().to_vec())
    }

    #[test]
    fn aip_envelope_keeps_method_message_and_not_found() {
        let e = aip(
            404,
            r#"{"error":{"code":404,"message":"Secret [projects/123456/secrets/foo] not found.","status":"NOT_FOUND"}}"#,
        );
        let p = api_error("secretmanager.projects.secrets.get", &e);
        assert_eq!(p.method.as_deref(), Some("secretmanager.projects.secrets.get"));
        assert_eq!(p.message, "Secret [projects/123456/secrets/foo] not found. (HTTP 404 NOT_FOUND)");
        assert!(p.not_found && !p.retryable);
    }

    #[test]
    fn legacy_envelope_uses_the_http_code() {
        let body = r#"{"error":{"code":409,"message":"Operation failed because another operation was already in progress.","errors":[{"message":"…","domain":"global","reason":"operationInProgress"}]}}"#;
        let e = aip(409, body);
        assert_eq!(
            e.status().map(|s| s.code),
            Some(Code::Unknown),
            "the SDK cannot parse a code from the legacy envelope"
        );
        let p = api_error("sql.instances.patch", &e);
        assert_eq!(p.message, "Operation failed because another operation was already in progress. (HTTP 409)");
        assert!(p.retryable, "409 operationInProgress is retried");
        assert!(!p.not_found);
        let nf = aip(
            404,
            r#"{"error":{"code":404,"message":"The Cloud SQL instance does not exist.","errors":[{"domain":"global","message":"The Cloud SQL instance does not exist.","reason":"instanceDoesNotExist"}]}}"#,
        );
        assert!(api_error("sql.instances.get", &nf).not_found);
    }

    #[test]
    fn unparseable_bodies_and_transport_errors_still_say_something() {
        let e = GaxError::http(502, axum::http::HeaderMap::new(), bytes_of("<html>Bad Gateway</html>"));
        let p = api_error("secretmanager.projects.secrets.list", &e);
        assert_eq!(p.message, "<html>Bad Gateway</html> (HTTP 502)");
        assert!(p.retryable);
        let c = api_error("secretmanager.projects.secrets.list", &GaxError::connect("connection refused"));
        assert!(c.message.contains("cannot connect") && c.message.contains("connection refused"), "{}", c.message);
        assert!(c.retryable);
    }

    #[test]
    fn already_exists_is_recognised_in_both_envelopes() {
        assert!(is_already_exists(&aip(
            409,
            r#"{"error":{"code":409,"message":"Secret [projects/1/secrets/a] already exists.","status":"ALREADY_EXISTS"}}"#
        )));
        assert!(is_already_exists(&aip(
            409,
            r#"{"error":{"code":409,"message":"The resource 'x' already exists","errors":[{"reason":"alreadyExists"}]}}"#
        )));
        assert!(!is_already_exists(&aip(
            409,
            r#"{"error":{"code":409,"message":"busy","errors":[{"reason":"operationInProgress"}]}}"#
        )));
    }
}
