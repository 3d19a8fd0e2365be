//! Global backend services: the defaults the real API fills in (observed responses agree),
//! health checks as existing resources normalised to full URLs, and IAP's client secret kept
//! only as its hash.

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::{check_enum, int_field, invalid_field, no_such_method, normalize_ref, rewrite_by_action, Collection, Spec};
use crate::emulator::api::{ApiRequest, Ctx};
use crate::emulator::errors::{invalid_argument, ApiError};

const PROTOCOLS: &[&str] = &["GRPC", "HTTP", "HTTP2", "HTTPS", "SSL", "TCP", "UDP", "UNSPECIFIED"];
const SCHEMES: &[&str] = &[
    "EXTERNAL",
    "EXTERNAL_MANAGED",
    "INTERNAL",
    "INTERNAL_MANAGED",
    "INTERNAL_SELF_MANAGED",
    "INVALID_LOAD_BALANCING_SCHEME",
];
const AFFINITIES: &[&str] = &[
    "CLIENT_IP",
    "CLIENT_IP_NO_DESTINATION",
    "CLIENT_IP_PORT_PROTO",
    "CLIENT_IP_PROTO",
    "GENERATED_COOKIE",
    "HEADER_FIELD",
    "HTTP_COOKIE",
    "NONE",
    "STRONG_COOKIE_AFFINITY",
];
/// What the API answers to health checks on a backend service with serverless NEG backends.
pub(crate) const SERVERLESS_HEALTH_CHECKS: &str = "Invalid value for field 'resource.healthChecks': ''. A backend service cannot have a healthcheck with Serverless network endpoint group backends.";
const BALANCING_MODES: &[&str] = &["CONNECTION", "RATE", "UTILIZATION", "CUSTOM_METRICS"];

/// The collection as the router serves it.
pub(super) const COLLECTION: Collection = Collection(&Spec {
    segment: "backendServices",
    regional: false,
    kind: "compute#backendService",
    noun: "backend_service",
    fingerprint: Some("fingerprint"),
    has_patch: true,
    has_update: true,
    schema: "BackendService",
    prepare: |ctx, project, body| prepare(ctx, project, body).map(|()| Value::Null),
    action: Some(action),
});

/// `POST projects/{p}/global/backendServices/{name}/{setSecurityPolicy|setEdgeSecurityPolicy}`:
/// a Cloud Armor policy attached (a `SecurityPolicyReference`; an empty one detaches). Cloud
/// Armor itself is not emulated: the reference is kept as given.
fn action(ctx: &mut Ctx<'_>, req: &ApiRequest, project: &str, name: &str, action: &str) -> Result<Value, ApiError> {
    let field = match action {
        "setSecurityPolicy" => "securityPolicy",
        "setEdgeSecurityPolicy" => "edgeSecurityPolicy",
        _ => return Err(no_such_method(req)),
    };
    rewrite_by_action(ctx, req, project, COLLECTION, name, action, |_, body, value| {
        match body.get("securityPolicy").and_then(Value::as_str).filter(|p| !p.is_empty()) {
            Some(policy) => value.insert(field.into(), json!(policy)),
            None => value.remove(field),
        };
        Ok(())
    })
}

pub(super) fn prepare(ctx: &Ctx<'_>, project: &str, body: &mut Map<String, Value>) -> Result<(), ApiError> {
    check_enum(body, "protocol", "BackendService.Protocol", PROTOCOLS)?;
    check_enum(body, "loadBalancingScheme", "BackendService.LoadBalancingScheme", SCHEMES)?;
    check_enum(body, "sessionAffinity", "BackendService.SessionAffinity", AFFINITIES)?;
    let timeout = int_field(body, "timeoutSec", 30)?;
    if !(1..=2_147_483_647).contains(&timeout) {
        return Err(invalid_field("timeoutSec", &timeout.to_string(), "Must be greater than or equal to 1"));
    }
    body.insert("timeoutSec".into(), json!(timeout));
    let protocol = body.get("protocol").and_then(Value::as_str).unwrap_or("HTTP").to_string();
    body.insert("protocol".into(), json!(protocol));
    body.entry("loadBalancingScheme").or_insert(json!("EXTERNAL"));
    if matches!(protocol.as_str(), "HTTP" | "HTTPS" | "HTTP2") {
        body.entry("portName").or_insert(json!("http"));
        body.entry("port").or_insert(json!(80));
    }
    body.entry("sessionAffinity").or_insert(json!("NONE"));
    body.entry("affinityCookieTtlSec").or_insert(json!(0));
    body.entry("description").or_insert(json!(""));
    match body.get_mut("connectionDraining") {
        Some(Value::Object(cd)) => {
            cd.entry("drainingTimeoutSec").or_insert(json!(0));
        }
        _ => {
            body.insert("connectionDraining".into(), json!({"drainingTimeoutSec": 0}));
        }
    }

    if let Some(checks) = body.get("healthChecks").filter(|v| !v.is_null()) {
        let list = checks
            .as_array()
            .ok_or_else(|| invalid_field("healthChecks", &checks.to_string(), "Must be a list of URLs."))?
            .clone();
        let mut normalized = Vec::with_capacity(list.len());
        for (i, hc) in list.iter().enumerate() {
            normalized.push(normalize_ref(
                ctx,
                project,
                super::health_checks::COLLECTION,
                &format!("healthChecks[{i}]"),
                hc,
            )?);
        }
        body.insert("healthChecks".into(), Value::Array(normalized));
    }

    let mut serverless = false;
    if let Some(Value::Array(backends)) = body.get_mut("backends") {
        for (i, backend) in backends.iter_mut().enumerate() {
            let Value::Object(b) = backend else {
                return Err(invalid_field(&format!("backends[{i}]"), &backend.to_string(), "Must be an object."));
            };
            if !b.get("group").is_some_and(Value::is_string) {
                return Err(super::required_field(&format!("backends[{i}].group")));
            }
            let group = b["group"].as_str().unwrap_or_default().to_string();
            if group.contains("/networkEndpointGroups/") {
                let negs = super::region_network_endpoint_groups::COLLECTION;
                let field = format!("backends[{i}].group");
                let key = super::resolve_ref(project, negs, &group)
                    .ok_or_else(|| invalid_field(&field, &group, "The URL is malformed."))?;
                b.insert("group".into(), normalize_ref(ctx, project, negs, &field, &json!(group))?);
                serverless |= super::region_network_endpoint_groups::is_serverless(ctx.store, &key);
            }
            check_enum(b, "balancingMode", "Backend.BalancingMode", BALANCING_MODES).map_err(|mut e| {
                e.message = e.message.replace("'resource.", &format!("'resource.backends[{i}]."));
                e
            })?;
            b.entry("balancingMode").or_insert(json!("UTILIZATION"));
            b.entry("capacityScaler").or_insert(json!(1));
        }
    }

    // The API's answer (quoted in hashicorp/terraform-provider-google#7311;
    // https://cloud.google.com/load-balancing/docs/negs/serverless-neg-concepts#backend-service-limitations).
    let has_checks = body.get("healthChecks").and_then(Value::as_array).is_some_and(|h| !h.is_empty());
    if serverless && has_checks {
        return Err(invalid_argument(SERVERLESS_HEALTH_CHECKS));
    }

    if let Some(Value::Object(iap)) = body.get_mut("iap") {
        if let Some(Value::String(secret)) = iap.remove("oauth2ClientSecret") {
            let hash = hex::encode(Sha256::digest(secret.as_bytes()));
            iap.insert("oauth2ClientSecretSha256".into(), json!(hash));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::call;
    use super::super::LINK_BASE;
    use crate::emulator::store::Store;
    use axum::http::Method;
    use serde_json::{json, Value};

    const BS: &str = "compute/v1/projects/p/global/backendServices";

    #[test]
    fn fills_the_observed_defaults_and_normalises_health_checks() {
        let mut store = Store::new();
        call(
            &mut store,
            Method::POST,
            "compute/v1/projects/p/global/healthChecks",
            json!({"name": "hc", "tcpHealthCheck": {}}),
        )
        .unwrap();
        call(
            &mut store,
            Method::POST,
            BS,
            json!({"name": "bs", "healthChecks": ["projects/p/global/healthChecks/hc"],
            "backends": [{"group": "https://www.googleapis.com/compute/v1/projects/p/zones/z/instanceGroups/ig"}],
            "iap": {"enabled": true, "oauth2ClientId": "id", "oauth2ClientSecret": "s3cret"}}),
        )
        .unwrap();
        let bs = call(&mut store, Method::GET, &format!("{BS}/bs"), Value::Null).unwrap();
        assert_eq!(bs["kind"], "compute#backendService");
        assert_eq!(bs["timeoutSec"], 30);
        assert_eq!(bs["protocol"], "HTTP");
        assert_eq!(bs["loadBalancingScheme"], "EXTERNAL");
        assert_eq!((bs["portName"].as_str(), bs["port"].as_i64()), (Some("http"), Some(80)));
        assert_eq!(bs["sessionAffinity"], "NONE");
        assert_eq!(bs["description"], "");
        assert_eq!(bs["healthChecks"][0], format!("{LINK_BASE}projects/p/global/healthChecks/hc"));
        assert_eq!(bs["backends"][0]["balancingMode"], "UTILIZATION");
        assert!(bs["iap"].get("oauth2ClientSecret").is_none(), "the secret is never stored");
        assert_eq!(bs["iap"]["oauth2ClientSecretSha256"].as_str().unwrap().len(), 64);
        assert!(bs["id"].as_str().unwrap().parse::<u64>().is_ok());
    }

    #[test]
    fn serverless_neg_backends_exist_and_take_no_health_checks() {
        let mut store = Store::new();
        let negs = "compute/v1/projects/p/regions/us-central1/networkEndpointGroups";
        call(
            &mut store,
            Method::POST,
            negs,
            json!({"name": "api", "networkEndpointType": "SERVERLESS", "cloudRun": {"service": "api"}}),
        )
        .unwrap();
        call(
            &mut store,
            Method::POST,
            "compute/v1/projects/p/global/healthChecks",
            json!({"name": "hc", "tcpHealthCheck": {}}),
        )
        .unwrap();
        let group = "projects/p/regions/us-central1/networkEndpointGroups/api";
        let err = call(
            &mut store,
            Method::POST,
            BS,
            json!({"name": "bs", "backends": [{"group": group}], "healthChecks": ["hc"]}),
        )
        .unwrap_err();
        assert_eq!((err.http_status, err.message.as_str()), (400, super::SERVERLESS_HEALTH_CHECKS));
        let err = call(
            &mut store,
            Method::POST,
            BS,
            json!({"name": "bs", "backends": [{"group": "regions/us-central1/networkEndpointGroups/gone"}]}),
        )
        .unwrap_err();
        assert_eq!(err.http_status, 404, "{}", err.message);
        call(&mut store, Method::POST, BS, json!({"name": "bs", "backends": [{"group": group}]})).unwrap();
        let bs = call(&mut store, Method::GET, &format!("{BS}/bs"), Value::Null).unwrap();
        assert_eq!(bs["backends"][0]["group"], format!("{LINK_BASE}{group}"));
        let err = call(&mut store, Method::DELETE, &format!("compute/v1/{group}"), Value::Null).unwrap_err();
        assert_eq!(err.reason.as_deref(), Some("resourceInUseByAnotherResource"), "{}", err.message);
    }

    #[test]
    fn refuses_missing_health_checks_and_bad_enums() {
        let mut store = Store::new();
        let err =
            call(&mut store, Method::POST, BS, json!({"name": "bs", "healthChecks": ["global/healthChecks/nope"]}))
                .unwrap_err();
        assert_eq!(
            (err.http_status, err.message.as_str()),
            (404, "The resource 'projects/p/global/healthChecks/nope' was not found")
        );
        let err = call(&mut store, Method::POST, BS, json!({"name": "bs", "protocol": "QUIC"})).unwrap_err();
        assert!(err.message.contains("'resource.protocol'"), "{}", err.message);
        let err = call(&mut store, Method::POST, BS, json!({"name": "bs", "unknownThing": 1})).unwrap_err();
        assert!(err.message.contains("Unknown name \"unknownThing\""), "{}", err.message);
    }
}
