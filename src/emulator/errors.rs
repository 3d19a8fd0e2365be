//! API errors and the two JSON envelopes Google APIs answer them in.
//!
//! Secret Manager, VPC Access and Logging use the AIP envelope (`status` is the canonical code
//! name, which is all the official SDK parses); Compute and Cloud SQL use the legacy envelope
//! (`errors[]` with `domain`/`reason`, no `status`), so a client must read the HTTP code there.

use serde_json::{json, Value};

/// The canonical google.rpc codes the emulator answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Code {
    Cancelled,
    Unknown,
    InvalidArgument,
    DeadlineExceeded,
    NotFound,
    AlreadyExists,
    PermissionDenied,
    ResourceExhausted,
    FailedPrecondition,
    Aborted,
    OutOfRange,
    Unimplemented,
    Internal,
    Unavailable,
    Unauthenticated,
}

impl Code {
    /// The numeric gRPC code, used inside long-running operation errors.
    pub fn grpc(self) -> i32 {
        match self {
            Code::Cancelled => 1,
            Code::Unknown => 2,
            Code::InvalidArgument => 3,
            Code::DeadlineExceeded => 4,
            Code::NotFound => 5,
            Code::AlreadyExists => 6,
            Code::PermissionDenied => 7,
            Code::ResourceExhausted => 8,
            Code::FailedPrecondition => 9,
            Code::Aborted => 10,
            Code::OutOfRange => 11,
            Code::Unimplemented => 12,
            Code::Internal => 13,
            Code::Unavailable => 14,
            Code::Unauthenticated => 16,
        }
    }

    /// The HTTP status Google's front end maps the code to (google.rpc.Code comments).
    pub fn http(self) -> u16 {
        match self {
            Code::Cancelled => 499,
            Code::Unknown => 500,
            Code::InvalidArgument => 400,
            Code::DeadlineExceeded => 504,
            Code::NotFound => 404,
            Code::AlreadyExists => 409,
            Code::PermissionDenied => 403,
            Code::ResourceExhausted => 429,
            Code::FailedPrecondition => 400,
            Code::Aborted => 409,
            Code::OutOfRange => 400,
            Code::Unimplemented => 501,
            Code::Internal => 500,
            Code::Unavailable => 503,
            Code::Unauthenticated => 401,
        }
    }

    /// The name in the AIP envelope's `status` field.
    pub fn name(self) -> &'static str {
        match self {
            Code::Cancelled => "CANCELLED",
            Code::Unknown => "UNKNOWN",
            Code::InvalidArgument => "INVALID_ARGUMENT",
            Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
            Code::NotFound => "NOT_FOUND",
            Code::AlreadyExists => "ALREADY_EXISTS",
            Code::PermissionDenied => "PERMISSION_DENIED",
            Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
            Code::FailedPrecondition => "FAILED_PRECONDITION",
            Code::Aborted => "ABORTED",
            Code::OutOfRange => "OUT_OF_RANGE",
            Code::Unimplemented => "UNIMPLEMENTED",
            Code::Internal => "INTERNAL",
            Code::Unavailable => "UNAVAILABLE",
            Code::Unauthenticated => "UNAUTHENTICATED",
        }
    }

    /// The `reason` a legacy-envelope API puts in `errors[]` for this code when the handler
    /// does not name a more specific one.
    fn default_legacy_reason(self) -> &'static str {
        match self {
            Code::InvalidArgument | Code::OutOfRange => "invalid",
            Code::NotFound => "notFound",
            Code::AlreadyExists => "alreadyExists",
            Code::PermissionDenied => "forbidden",
            Code::ResourceExhausted => "rateLimitExceeded",
            Code::FailedPrecondition => "failedPrecondition",
            Code::Aborted => "aborted",
            Code::Unimplemented => "notImplemented",
            Code::Unavailable => "backendError",
            Code::Unauthenticated => "required",
            Code::DeadlineExceeded => "deadlineExceeded",
            Code::Cancelled | Code::Unknown | Code::Internal => "internalError",
        }
    }
}

/// Which JSON shape an API uses for errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Envelope {
    /// `{"error":{"code","message","status"}}` — AIP-193 / ESF.
    Aip,
    /// `{"error":{"code","message","errors":[{"domain","message","reason"}]}}` — Compute, SQL.
    Legacy,
    /// BigQuery's: the legacy `errors[]` array and the AIP `status` both, e.g.
    /// `{"error":{"code":404,"message":"Not found: Dataset p:d","errors":[{"message":…,
    /// "domain":"global","reason":"notFound"}],"status":"NOT_FOUND"}}`.
    LegacyWithStatus,
}

/// An error an API handler answers with. The HTTP status usually follows the code, but legacy
/// APIs answer some conditions with statuses that have no code of their own (412 staleData).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: Code,
    pub http_status: u16,
    pub message: String,
    /// Legacy envelope only: `errors[0].reason` (defaults from the code).
    pub reason: Option<String>,
    /// Legacy envelope only: `errors[0].domain` (defaults to "global").
    pub domain: Option<String>,
}

impl ApiError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        ApiError { code, http_status: code.http(), message: message.into(), reason: None, domain: None }
    }

    /// Sets the legacy `reason` (e.g. "instanceDoesNotExist", "operationInProgress").
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// Overrides the HTTP status (e.g. 412 for a stale fingerprint, which is not a gRPC code).
    pub fn with_http_status(mut self, status: u16) -> Self {
        self.http_status = status;
        self
    }

    pub fn body(&self, envelope: Envelope) -> Value {
        match envelope {
            Envelope::Aip => json!({"error": {
                "code": self.http_status,
                "message": self.message,
                "status": self.code.name(),
            }}),
            Envelope::Legacy => json!({"error": {
                "code": self.http_status,
                "message": self.message,
                "errors": [{
                    "domain": self.domain.as_deref().unwrap_or("global"),
                    "message": self.message,
                    "reason": self.reason.as_deref().unwrap_or(self.code.default_legacy_reason()),
                }],
            }}),
            Envelope::LegacyWithStatus => {
                let mut body = self.body(Envelope::Legacy);
                body["error"]["status"] = json!(self.code.name());
                body
            }
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.http_status, self.code.name(), self.message)
    }
}

pub fn not_found(message: impl Into<String>) -> ApiError {
    ApiError::new(Code::NotFound, message)
}

pub fn already_exists(message: impl Into<String>) -> ApiError {
    ApiError::new(Code::AlreadyExists, message)
}

pub fn invalid_argument(message: impl Into<String>) -> ApiError {
    ApiError::new(Code::InvalidArgument, message)
}

pub fn failed_precondition(message: impl Into<String>) -> ApiError {
    ApiError::new(Code::FailedPrecondition, message)
}

/// AIP-154: a stale etag is ABORTED (409).
pub fn aborted(message: impl Into<String>) -> ApiError {
    ApiError::new(Code::Aborted, message)
}

pub fn unimplemented(message: impl Into<String>) -> ApiError {
    ApiError::new(Code::Unimplemented, message)
}

pub fn internal(message: impl Into<String>) -> ApiError {
    ApiError::new(Code::Internal, message)
}

/// The injected fault for a 429.
pub fn resource_exhausted(message: impl Into<String>) -> ApiError {
    ApiError::new(Code::ResourceExhausted, message)
}

/// The injected fault for a 503.
pub fn unavailable(message: impl Into<String>) -> ApiError {
    ApiError::new(Code::Unavailable, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aip_envelope_has_status_and_no_errors_array() {
        let body = not_found("Secret [projects/1/secrets/x] not found.").body(Envelope::Aip);
        assert_eq!(
            body,
            json!({"error":{"code":404,"message":"Secret [projects/1/secrets/x] not found.","status":"NOT_FOUND"}})
        );
    }

    #[test]
    fn legacy_envelope_has_errors_array_and_no_status() {
        let body = not_found("The resource 'projects/p/global/healthChecks/hc' was not found").body(Envelope::Legacy);
        assert_eq!(
            body,
            json!({"error":{"code":404,
                "message":"The resource 'projects/p/global/healthChecks/hc' was not found",
                "errors":[{"domain":"global",
                    "message":"The resource 'projects/p/global/healthChecks/hc' was not found",
                    "reason":"notFound"}]}})
        );
        assert!(body["error"].get("status").is_none());
    }

    #[test]
    fn legacy_reason_and_http_status_can_be_overridden() {
        let err = ApiError::new(Code::FailedPrecondition, "Condition does not match.")
            .with_reason("staleData")
            .with_http_status(412);
        let body = err.body(Envelope::Legacy);
        assert_eq!(body["error"]["code"], 412);
        assert_eq!(body["error"]["errors"][0]["reason"], "staleData");
    }

    #[test]
    fn helpers_map_to_the_documented_http_statuses() {
        assert_eq!(already_exists("x").http_status, 409);
        assert_eq!(aborted("x").http_status, 409);
        assert_eq!(failed_precondition("x").http_status, 400);
        assert_eq!(invalid_argument("x").http_status, 400);
        assert_eq!(resource_exhausted("x").http_status, 429);
        assert_eq!(unavailable("x").http_status, 503);
        assert_eq!(Code::FailedPrecondition.grpc(), 9);
        assert_eq!(Code::InvalidArgument.grpc(), 3);
    }
}
