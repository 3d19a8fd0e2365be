//! Regional network endpoint groups (`projects/{p}/regions/{r}/networkEndpointGroups`,
//! methods `compute.regionNetworkEndpointGroups.*`): immutable (insert, get, list, delete),
//! mostly serverless NEGs naming a Cloud Run service, App Engine or a Cloud Function. The
//! limits are compute.v1.json's, `NetworkEndpointGroup`: `cloudRun`, `appEngine` and
//! `cloudFunction` are "Only valid when networkEndpointType is SERVERLESS. Only one of
//! cloudRun, appEngine or cloudFunction may be set."; `network` "cannot be set for NEGs with
//! networkEndpointType set to SERVERLESS"; `defaultPort` "If the network endpoint type is
//! either GCE_VM_IP, SERVERLESS or PRIVATE_SERVICE_CONNECT, this field must not be specified";
//! `pscTargetService` and `pscData` "Only valid when networkEndpointType is
//! PRIVATE_SERVICE_CONNECT".

use serde_json::{json, Map, Value};

use super::{check_enum, invalid_field, link, required_field, valid_name, Collection, Spec};
use crate::emulator::api::Ctx;
use crate::emulator::errors::{invalid_argument, ApiError};

/// The collection as the router serves it.
pub(super) const COLLECTION: Collection = Collection(&Spec {
    segment: "networkEndpointGroups",
    regional: true,
    kind: "compute#networkEndpointGroup",
    noun: "network_endpoint_group",
    fingerprint: None,
    has_patch: false,
    has_update: false,
    schema: "NetworkEndpointGroup",
    prepare: |ctx, project, body| prepare(ctx, project, body).map(|()| Value::Null),
    action: None,
});

const TYPES: &[&str] = &[
    "GCE_VM_IP",
    "GCE_VM_IP_DEDICATED_BACKEND",
    "GCE_VM_IP_PORT",
    "GCE_VM_IP_PORTMAP",
    "INTERNET_FQDN_PORT",
    "INTERNET_IP_PORT",
    "NON_GCP_PRIVATE_IP_PORT",
    "PRIVATE_SERVICE_CONNECT",
    "SERVERLESS",
];
/// The types a regional group can have (the others are zonal or global).
const REGIONAL_TYPES: &[&str] =
    &["SERVERLESS", "PRIVATE_SERVICE_CONNECT", "INTERNET_IP_PORT", "INTERNET_FQDN_PORT", "GCE_VM_IP_PORTMAP"];
const SERVERLESS_TARGETS: [&str; 3] = ["cloudRun", "appEngine", "cloudFunction"];

fn present(body: &Map<String, Value>, field: &str) -> bool {
    body.get(field).is_some_and(|v| !v.is_null())
}

fn text<'a>(v: &'a Value, field: &str) -> Option<&'a str> {
    v.get(field).and_then(Value::as_str).filter(|s| !s.is_empty())
}

pub(super) fn prepare(_ctx: &Ctx<'_>, project: &str, body: &mut Map<String, Value>) -> Result<(), ApiError> {
    check_enum(body, "networkEndpointType", "NetworkEndpointGroup.NetworkEndpointType", TYPES)?;
    body.remove("size");
    let kind = body.get("networkEndpointType").and_then(Value::as_str).unwrap_or("GCE_VM_IP_PORT").to_string();
    if !REGIONAL_TYPES.contains(&kind.as_str()) {
        return Err(invalid_field(
            "networkEndpointType",
            &kind,
            "Regional network endpoint groups support SERVERLESS, PRIVATE_SERVICE_CONNECT, INTERNET_IP_PORT, INTERNET_FQDN_PORT and GCE_VM_IP_PORTMAP.",
        ));
    }
    body.insert("networkEndpointType".into(), json!(kind));
    let targets: Vec<&str> = SERVERLESS_TARGETS.into_iter().filter(|t| present(body, t)).collect();
    if kind == "SERVERLESS" {
        match targets.as_slice() {
            [] => {
                return Err(invalid_argument(
                    "Invalid value for field 'resource': A serverless network endpoint group must specify one of cloudRun, appEngine or cloudFunction.",
                ))
            }
            [one] => check_serverless_target(body, one)?,
            _ => {
                return Err(invalid_field(
                    targets[1],
                    "",
                    "Only one of cloudRun, appEngine or cloudFunction may be set.",
                ))
            }
        }
        for field in ["network", "subnetwork"] {
            if let Some(v) = body.get(field).filter(|v| !v.is_null()) {
                let shown = v.as_str().unwrap_or_default();
                return Err(invalid_field(
                    field,
                    shown,
                    "This field cannot be set for NEGs with networkEndpointType set to SERVERLESS.",
                ));
            }
        }
    } else if let Some(t) = targets.first() {
        return Err(invalid_field(t, "", "Only valid when networkEndpointType is SERVERLESS."));
    }
    if kind != "PRIVATE_SERVICE_CONNECT" {
        for field in ["pscTargetService", "pscData"] {
            if present(body, field) {
                return Err(invalid_field(
                    field,
                    "",
                    "Only valid when networkEndpointType is PRIVATE_SERVICE_CONNECT.",
                ));
            }
        }
    } else if !present(body, "pscTargetService") {
        return Err(required_field("pscTargetService"));
    }
    if matches!(kind.as_str(), "SERVERLESS" | "PRIVATE_SERVICE_CONNECT") && present(body, "defaultPort") {
        return Err(invalid_field(
            "defaultPort",
            &body["defaultPort"].to_string(),
            "If the network endpoint type is either GCE_VM_IP, SERVERLESS or PRIVATE_SERVICE_CONNECT, this field must not be specified.",
        ));
    }
    if kind != "SERVERLESS" {
        // "Uses default project network if unspecified" (the provider's reading of the API).
        let network = body.get("network").and_then(Value::as_str).unwrap_or("default").to_string();
        body.insert("network".into(), json!(network_link(project, &network)?));
    }
    if let Some(sub) = body.get("subnetwork").and_then(Value::as_str).map(str::to_string) {
        body.insert("subnetwork".into(), json!(subnetwork_link(project, &sub)?));
    }
    body.insert("size".into(), json!(0));
    Ok(())
}

fn check_serverless_target(body: &Map<String, Value>, target: &str) -> Result<(), ApiError> {
    let v = &body[target];
    let (named, field) = match target {
        "cloudRun" => (text(v, "service").or(text(v, "urlMask")), "service"),
        "cloudFunction" => (text(v, "function").or(text(v, "urlMask")), "function"),
        // An empty appEngine routes to the app's default service.
        _ => (Some("default"), "service"),
    };
    if named.is_none() {
        return Err(invalid_field(
            target,
            &v.to_string(),
            &format!("Either {target}.{field} or {target}.urlMask must be specified."),
        ));
    }
    for (f, value) in v.as_object().into_iter().flatten() {
        if matches!(f.as_str(), "service" | "tag" | "function" | "version") {
            let s = value.as_str().unwrap_or_default();
            // Function names are case-sensitive (up to 63 characters); the rest are RFC1035 names.
            let fine = s.is_empty() || valid_name(s) || (target == "cloudFunction" && s.len() <= 63);
            if !fine {
                return Err(invalid_field(
                    &format!("{target}.{f}"),
                    s,
                    "Must be 1-63 characters long and comply with RFC1035.",
                ));
            }
        }
    }
    Ok(())
}

/// A network reference (full or partial URL, or a bare name) as a full URL; networks are not
/// emulated, so any well-formed reference is accepted.
fn network_link(project: &str, reference: &str) -> Result<String, ApiError> {
    let rest = strip_host(reference);
    let segs: Vec<&str> = rest.split('/').collect();
    let (p, name) = match segs.as_slice() {
        ["projects", p, "global", "networks", n] => (*p, *n),
        ["global", "networks", n] => (project, *n),
        [n] => (project, *n),
        _ => return Err(invalid_field("network", reference, "The URL is malformed.")),
    };
    if p.is_empty() || !valid_name(name) {
        return Err(invalid_field("network", reference, "The URL is malformed."));
    }
    Ok(link(&format!("projects/{p}/global/networks/{name}")))
}

fn subnetwork_link(project: &str, reference: &str) -> Result<String, ApiError> {
    let rest = strip_host(reference);
    let segs: Vec<&str> = rest.split('/').collect();
    let (p, r, name) = match segs.as_slice() {
        ["projects", p, "regions", r, "subnetworks", n] => (*p, *r, *n),
        ["regions", r, "subnetworks", n] => (project, *r, *n),
        _ => return Err(invalid_field("subnetwork", reference, "The URL is malformed.")),
    };
    if p.is_empty() || r.is_empty() || !valid_name(name) {
        return Err(invalid_field("subnetwork", reference, "The URL is malformed."));
    }
    Ok(link(&format!("projects/{p}/regions/{r}/subnetworks/{name}")))
}

fn strip_host(reference: &str) -> &str {
    reference
        .strip_prefix(super::LINK_BASE)
        .or_else(|| reference.strip_prefix("https://compute.googleapis.com/compute/v1/"))
        .unwrap_or(reference)
}

/// Whether a stored group (by its store key) is serverless: backend services behind such
/// groups take no health checks.
pub(super) fn is_serverless(store: &crate::emulator::store::Store, key: &str) -> bool {
    let stored = store.get(super::API, key).map(|r| r.value.clone());
    let pending = || super::operations::pending_puts(store).find(|(k, _)| k.as_str() == key).map(|(_, v)| v.clone());
    stored.or_else(pending).is_some_and(|v| v["networkEndpointType"] == "SERVERLESS")
}

#[cfg(test)]
mod tests {
    use super::super::tests::call;
    use super::super::LINK_BASE;
    use crate::emulator::store::Store;
    use axum::http::Method;
    use serde_json::{json, Value};

    const NEG: &str = "compute/v1/projects/p/regions/us-central1/networkEndpointGroups";

    #[test]
    fn a_serverless_group_lives_in_its_region_and_its_operations_are_regional() {
        let mut store = Store::new();
        let body = json!({"name": "api", "networkEndpointType": "SERVERLESS", "cloudRun": {"service": "api"}});
        let op = call(&mut store, Method::POST, NEG, body.clone()).unwrap();
        assert_eq!(op["targetLink"], format!("{LINK_BASE}projects/p/regions/us-central1/networkEndpointGroups/api"));
        assert_eq!(op["region"], format!("{LINK_BASE}projects/p/regions/us-central1"));
        let op_name = op["name"].as_str().unwrap();
        assert!(op["selfLink"].as_str().unwrap().ends_with(&format!("/regions/us-central1/operations/{op_name}")));
        call(
            &mut store,
            Method::GET,
            &format!("compute/v1/projects/p/regions/us-central1/operations/{op_name}"),
            Value::Null,
        )
        .unwrap();
        let got = call(&mut store, Method::GET, &format!("{NEG}/api"), Value::Null).unwrap();
        assert_eq!(got["kind"], "compute#networkEndpointGroup");
        assert_eq!(got["region"], format!("{LINK_BASE}projects/p/regions/us-central1"));
        assert_eq!((&got["size"], got.get("network")), (&json!(0), None));
        let err = call(&mut store, Method::POST, NEG, body).unwrap_err();
        assert_eq!(
            (err.http_status, err.message.as_str()),
            (409, "The resource 'projects/p/regions/us-central1/networkEndpointGroups/api' already exists")
        );
        let other = "compute/v1/projects/p/regions/europe-west1/networkEndpointGroups";
        let listed = call(&mut store, Method::GET, other, Value::Null).unwrap();
        assert!(listed.get("items").is_none(), "another region's listing is empty: {listed}");
        let err = call(&mut store, Method::GET, "compute/v1/projects/p/global/networkEndpointGroups/api", Value::Null)
            .unwrap_err();
        assert_eq!(err.http_status, 404);
        call(&mut store, Method::DELETE, &format!("{NEG}/api"), Value::Null).unwrap();
        let err = call(&mut store, Method::GET, &format!("{NEG}/api"), Value::Null).unwrap_err();
        assert_eq!(err.http_status, 404);
    }

    #[test]
    fn the_endpoint_type_decides_what_a_group_may_name() {
        let mut store = Store::new();
        for (body, says) in [
            (json!({"name": "a", "networkEndpointType": "SERVERLESS"}), "must specify one of cloudRun"),
            (
                json!({"name": "a", "networkEndpointType": "SERVERLESS", "cloudRun": {"service": "x"}, "appEngine": {}}),
                "Only one of cloudRun, appEngine or cloudFunction may be set.",
            ),
            (
                json!({"name": "a", "networkEndpointType": "INTERNET_FQDN_PORT", "cloudRun": {"service": "x"}}),
                "Only valid when networkEndpointType is SERVERLESS.",
            ),
            (
                json!({"name": "a", "networkEndpointType": "SERVERLESS", "cloudRun": {"service": "x"}, "network": "default"}),
                "cannot be set for NEGs with networkEndpointType set to SERVERLESS",
            ),
            (json!({"name": "a", "networkEndpointType": "GCE_VM_IP_PORT"}), "Regional network endpoint groups support"),
            (json!({"name": "a", "networkEndpointType": "SERVERLESS", "cloudRun": {}}), "urlMask must be specified"),
        ] {
            let err = call(&mut store, Method::POST, NEG, body.clone()).unwrap_err();
            assert!(err.http_status == 400 && err.message.contains(says), "{body}: {}", err.message);
        }
        let psc = json!({"name": "psc", "networkEndpointType": "PRIVATE_SERVICE_CONNECT",
            "pscTargetService": "asia-northeast3-cloudkms.googleapis.com", "pscData": {"producerPort": "88"}});
        call(&mut store, Method::POST, NEG, psc).unwrap();
        let got = call(&mut store, Method::GET, &format!("{NEG}/psc"), Value::Null).unwrap();
        assert_eq!(got["network"], format!("{LINK_BASE}projects/p/global/networks/default"));
    }
}
