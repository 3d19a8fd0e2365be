//! Global health checks: exactly one protocol block that agrees with `type`, the interval and
//! threshold defaults, and the protocol blocks' own defaults (port, request path, proxy header).

use serde_json::{json, Map, Value};

use super::{check_enum, int_field, invalid_field, Collection, Spec};
use crate::emulator::errors::{invalid_argument, ApiError};

/// The collection as the router serves it.
pub(super) const COLLECTION: Collection = Collection(&Spec {
    segment: "healthChecks",
    regional: false,
    kind: "compute#healthCheck",
    noun: "health_check",
    fingerprint: None,
    has_patch: true,
    has_update: true,
    schema: "HealthCheck",
    prepare: |_, _, body| prepare(body).map(|()| Value::Null),
    action: None,
});

/// (block field, `type`, default port, has a request path, has a proxy header)
const BLOCKS: &[(&str, &str, Option<i64>, bool, bool)] = &[
    ("httpHealthCheck", "HTTP", Some(80), true, true),
    ("httpsHealthCheck", "HTTPS", Some(443), true, true),
    ("http2HealthCheck", "HTTP2", Some(443), true, true),
    ("tcpHealthCheck", "TCP", Some(80), false, true),
    ("sslHealthCheck", "SSL", Some(443), false, true),
    ("grpcHealthCheck", "GRPC", None, false, false),
    ("grpcTlsHealthCheck", "GRPC_WITH_TLS", None, false, false),
];

const TYPES: &[&str] = &["GRPC", "GRPC_WITH_TLS", "HTTP", "HTTP2", "HTTPS", "INVALID", "SSL", "TCP"];
const PORT_SPECIFICATIONS: &[&str] = &["USE_FIXED_PORT", "USE_NAMED_PORT", "USE_SERVING_PORT"];
const PROXY_HEADERS: &[&str] = &["NONE", "PROXY_V1"];

pub(super) fn prepare(body: &mut Map<String, Value>) -> Result<(), ApiError> {
    check_enum(body, "type", "HealthCheck.Type", TYPES)?;
    let set: Vec<&(&str, &str, Option<i64>, bool, bool)> =
        BLOCKS.iter().filter(|(field, ..)| body.get(*field).is_some_and(|v| !v.is_null())).collect();
    let declared = body.get("type").and_then(Value::as_str).map(str::to_string);
    let block = match set.as_slice() {
        [one] => *one,
        [] => {
            return Err(invalid_argument(
                "Invalid value for field 'resource': ''. Exactly one of httpHealthCheck, httpsHealthCheck, http2HealthCheck, tcpHealthCheck, sslHealthCheck or grpcHealthCheck must be specified.",
            ))
        }
        _ => {
            let names: Vec<&str> = set.iter().map(|(f, ..)| *f).collect();
            return Err(invalid_argument(format!(
                "Invalid value for field 'resource': ''. Only one health check may be specified, got {}.",
                names.join(", ")
            )));
        }
    };
    let (field, kind, default_port, has_path, has_proxy_header) = *block;
    match declared.as_deref() {
        None => {
            body.insert("type".into(), json!(kind));
        }
        Some(t) if t == kind => {}
        Some(t) => {
            return Err(invalid_field(
                "type",
                t,
                &format!("The health check type must match the specified health check ({field})."),
            ))
        }
    }

    let interval = int_field(body, "checkIntervalSec", 5)?;
    let timeout = int_field(body, "timeoutSec", 5)?;
    let healthy = int_field(body, "healthyThreshold", 2)?;
    let unhealthy = int_field(body, "unhealthyThreshold", 2)?;
    for (name, value) in [
        ("checkIntervalSec", interval),
        ("timeoutSec", timeout),
        ("healthyThreshold", healthy),
        ("unhealthyThreshold", unhealthy),
    ] {
        if !(1..=300).contains(&value) {
            return Err(invalid_field(name, &value.to_string(), "Must be between 1 and 300."));
        }
    }
    if timeout > interval {
        return Err(invalid_field(
            "timeoutSec",
            &timeout.to_string(),
            "TimeoutSec should be less than checkIntervalSec.",
        ));
    }
    body.insert("checkIntervalSec".into(), json!(interval));
    body.insert("timeoutSec".into(), json!(timeout));
    body.insert("unhealthyThreshold".into(), json!(unhealthy));
    body.insert("healthyThreshold".into(), json!(healthy));

    let Some(Value::Object(check)) = body.get_mut(field) else {
        return Err(invalid_field(field, "", "Must be an object."));
    };
    check_enum(check, "portSpecification", "HTTPHealthCheck.PortSpecification", PORT_SPECIFICATIONS)
        .map_err(|e| prefix_field(e, field))?;
    check_enum(check, "proxyHeader", "HTTPHealthCheck.ProxyHeader", PROXY_HEADERS)
        .map_err(|e| prefix_field(e, field))?;
    let serving_or_named =
        matches!(check.get("portSpecification").and_then(Value::as_str), Some("USE_SERVING_PORT" | "USE_NAMED_PORT"))
            || check.contains_key("portName");
    if let (Some(port), false) = (default_port, serving_or_named) {
        let port = int_field(check, "port", port)?;
        if !(1..=65535).contains(&port) {
            return Err(invalid_field(&format!("{field}.port"), &port.to_string(), "Must be between 1 and 65535."));
        }
        check.insert("port".into(), json!(port));
    }
    if has_path {
        let path = check.get("requestPath").and_then(Value::as_str).unwrap_or("/").to_string();
        if !path.starts_with('/') {
            return Err(invalid_field(&format!("{field}.requestPath"), &path, "Must start with '/'."));
        }
        check.insert("requestPath".into(), json!(path));
    }
    if has_proxy_header && !check.contains_key("proxyHeader") {
        check.insert("proxyHeader".into(), json!("NONE"));
    }
    Ok(())
}

fn prefix_field(mut e: ApiError, block: &str) -> ApiError {
    e.message = e.message.replace("'resource.", &format!("'resource.{block}."));
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prepared(body: Value) -> Result<Value, ApiError> {
        let mut map = body.as_object().cloned().unwrap();
        prepare(&mut map).map(|()| Value::Object(map))
    }

    #[test]
    fn fills_type_and_the_server_defaults() {
        let hc = prepared(json!({"httpHealthCheck": {}})).unwrap();
        assert_eq!(hc["type"], "HTTP");
        assert_eq!(hc["httpHealthCheck"], json!({"port": 80, "requestPath": "/", "proxyHeader": "NONE"}));
        assert_eq!((hc["checkIntervalSec"].as_i64(), hc["timeoutSec"].as_i64()), (Some(5), Some(5)));
        assert_eq!((hc["healthyThreshold"].as_i64(), hc["unhealthyThreshold"].as_i64()), (Some(2), Some(2)));
        let tcp =
            prepared(json!({"type": "TCP", "tcpHealthCheck": {"portSpecification": "USE_SERVING_PORT"}})).unwrap();
        assert_eq!(tcp["tcpHealthCheck"], json!({"portSpecification": "USE_SERVING_PORT", "proxyHeader": "NONE"}));
        let grpc = prepared(json!({"grpcHealthCheck": {"port": 50051}})).unwrap();
        assert_eq!(grpc["grpcHealthCheck"], json!({"port": 50051}));
    }

    #[test]
    fn refuses_zero_or_several_blocks_and_a_mismatched_type() {
        assert!(prepared(json!({})).unwrap_err().message.contains("Exactly one of"));
        assert!(prepared(json!({"httpHealthCheck": {}, "tcpHealthCheck": {}}))
            .unwrap_err()
            .message
            .contains("Only one"));
        let err = prepared(json!({"type": "TCP", "httpHealthCheck": {}})).unwrap_err();
        assert!(err.message.starts_with("Invalid value for field 'resource.type': 'TCP'."), "{}", err.message);
        let err = prepared(json!({"type": "QUIC", "httpHealthCheck": {}})).unwrap_err();
        assert!(err.message.contains("HealthCheck.Type"), "{}", err.message);
    }

    #[test]
    fn timeout_may_equal_but_not_exceed_the_interval() {
        assert!(prepared(json!({"tcpHealthCheck": {}, "timeoutSec": 10, "checkIntervalSec": 10})).is_ok());
        let err = prepared(json!({"tcpHealthCheck": {}, "timeoutSec": 6})).unwrap_err();
        assert_eq!(
            err.message,
            "Invalid value for field 'resource.timeoutSec': '6'. TimeoutSec should be less than checkIntervalSec."
        );
        assert_eq!(err.http_status, 400);
    }
}
