//! Global forwarding rules (`projects/{p}/global/forwardingRules`, methods
//! `compute.globalForwardingRules.*`): a load balancer's front end, an IP and a port sending
//! traffic to a target HTTP(S) proxy. `setTarget` repoints one, `setLabels` (under
//! `labelFingerprint`) relabels it, `patch` changes the load-balancing scheme.
//!
//! As compute.v1.json's `ForwardingRule` says: an `IPAddress` may be an IP number or an
//! address reference, and "When reading an IPAddress, the API always returns the IP address
//! number"; omitted, an ephemeral address is assigned (here from 198.51.100.0/24, a
//! documentation range apart from the one reserved addresses use). `portRange` follows its
//! pattern `\d+(?:-\d+)?` and is returned as `LOW-HIGH`; "For GlobalForwardingRule, the valid
//! value [of networkTier] is PREMIUM".

use std::net::{IpAddr, Ipv4Addr};

use serde_json::{json, Map, Value};

use super::{
    check_enum, exists_or_pending, invalid_field, link, no_such_method, normalize_ref, operations, required_field,
    resolve_ref, resource_not_found, rewrite_by_action, Collection, Spec, API,
};
use crate::emulator::api::{ApiRequest, Ctx};
use crate::emulator::errors::ApiError;

/// The collection as the router serves it.
pub(super) const COLLECTION: Collection = Collection(&Spec {
    segment: "forwardingRules",
    regional: false,
    kind: "compute#forwardingRule",
    noun: "forwarding_rule",
    fingerprint: Some("labelFingerprint"),
    has_patch: true,
    has_update: false,
    schema: "ForwardingRule",
    prepare: |ctx, project, body| prepare(ctx, project, body).map(|()| Value::Null),
    action: Some(action),
});

const PROTOCOLS: &[&str] = &["AH", "ESP", "ICMP", "L3_DEFAULT", "SCTP", "TCP", "UDP"];
const SCHEMES: &[&str] = &[
    "EXTERNAL",
    "EXTERNAL_MANAGED",
    "EXTERNAL_PASSTHROUGH",
    "INTERNAL",
    "INTERNAL_MANAGED",
    "INTERNAL_SELF_MANAGED",
    "INVALID",
];
const IP_VERSIONS: &[&str] = &["IPV4", "IPV6", "UNSPECIFIED_VERSION"];
const TIERS: &[&str] = &["FIXED_STANDARD", "PREMIUM", "STANDARD", "STANDARD_OVERRIDES_FIXED_STANDARD"];

fn text<'a>(body: &'a Map<String, Value>, field: &str) -> Option<&'a str> {
    body.get(field).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// The proxy collection a target reference names.
fn target_collection(target: &str) -> Option<Collection> {
    if target.contains("targetHttpsProxies/") {
        Some(super::target_https_proxies::COLLECTION)
    } else if target.contains("targetHttpProxies/") {
        Some(super::target_http_proxies::COLLECTION)
    } else {
        None
    }
}

pub(super) fn prepare(ctx: &Ctx<'_>, project: &str, body: &mut Map<String, Value>) -> Result<(), ApiError> {
    check_enum(body, "IPProtocol", "ForwardingRule.IPProtocol", PROTOCOLS)?;
    check_enum(body, "loadBalancingScheme", "ForwardingRule.LoadBalancingScheme", SCHEMES)?;
    check_enum(body, "ipVersion", "ForwardingRule.IpVersion", IP_VERSIONS)?;
    check_enum(body, "networkTier", "ForwardingRule.NetworkTier", TIERS)?;
    let tier = text(body, "networkTier").unwrap_or("PREMIUM").to_string();
    if tier != "PREMIUM" {
        return Err(invalid_field("networkTier", &tier, "For GlobalForwardingRule, the valid value is PREMIUM."));
    }
    body.insert("networkTier".into(), json!(tier));
    body.entry("IPProtocol").or_insert(json!("TCP"));
    body.entry("loadBalancingScheme").or_insert(json!("EXTERNAL"));

    let target = text(body, "target").ok_or_else(|| required_field("target"))?.to_string();
    let coll = target_collection(&target)
        .ok_or_else(|| invalid_field("target", &target, "The target must be a global target HTTP or HTTPS proxy."))?;
    body.insert("target".into(), normalize_ref(ctx, project, coll, "target", &json!(target))?);

    let default_port = if coll == super::target_https_proxies::COLLECTION { 443 } else { 80 };
    let range = match text(body, "portRange") {
        None => (default_port, default_port),
        Some(r) => parse_port_range(r)?,
    };
    if range.0 != range.1 {
        return Err(invalid_field(
            "portRange",
            &format!("{}-{}", range.0, range.1),
            "A forwarding rule to a target proxy takes a single port.",
        ));
    }
    body.insert("portRange".into(), json!(format!("{}-{}", range.0, range.1)));

    let ip = match text(body, "IPAddress").map(str::to_string) {
        Some(given) if given.parse::<IpAddr>().is_ok() => {
            given.parse::<IpAddr>().map(|a| a.to_string()).unwrap_or(given)
        }
        Some(reference) => address_of(ctx, project, &reference)?,
        None => ephemeral(ctx),
    };
    body.insert("IPAddress".into(), json!(ip));
    if let Some(n) = text(body, "network").map(str::to_string) {
        if !n.contains('/') {
            body.insert("network".into(), json!(link(&format!("projects/{project}/global/networks/{n}"))));
        }
    }
    let labels = body.get("labels").cloned().unwrap_or_else(|| json!({}));
    super::global_addresses::check_labels(&labels)?;
    if labels.as_object().is_some_and(Map::is_empty) {
        body.remove("labels");
    }
    Ok(())
}

/// `N` or `LOW-HIGH`, ports 1 to 65535.
fn parse_port_range(r: &str) -> Result<(u32, u32), ApiError> {
    let bad = || invalid_field("portRange", r, "Must be a match of regex '\\d+(?:-\\d+)?' with ports from 1 to 65535.");
    let port = |s: &str| s.parse::<u32>().ok().filter(|p| (1..=65535).contains(p)).ok_or_else(bad);
    let (lo, hi) = match r.split_once('-') {
        None => (port(r)?, port(r)?),
        Some((a, b)) => (port(a)?, port(b)?),
    };
    if lo > hi {
        return Err(bad());
    }
    Ok((lo, hi))
}

/// The IP number of a global address reference; the address must exist.
fn address_of(ctx: &Ctx<'_>, project: &str, reference: &str) -> Result<String, ApiError> {
    let coll = super::global_addresses::COLLECTION;
    let key = resolve_ref(project, coll, reference)
        .ok_or_else(|| invalid_field("IPAddress", reference, "The URL is malformed."))?;
    if !exists_or_pending(ctx.store, &key) {
        return Err(resource_not_found(&key));
    }
    let stored = ctx.store.get(API, &key).map(|r| r.value.clone());
    let pending = || operations::pending_puts(ctx.store).find(|(k, _)| **k == key).map(|(_, v)| v.clone());
    stored
        .or_else(pending)
        .and_then(|v| v.get("address").and_then(Value::as_str).map(str::to_string))
        .ok_or_else(|| resource_not_found(&key))
}

/// The first 198.51.100.0/24 address no forwarding rule holds.
fn ephemeral(ctx: &Ctx<'_>) -> String {
    let taken: Vec<String> = ctx
        .store
        .all(API)
        .filter(|(k, _)| k.contains("/global/forwardingRules/"))
        .filter_map(|(_, r)| r.value.get("IPAddress").and_then(Value::as_str).map(str::to_string))
        .collect();
    (1..=254u8)
        .map(|k| Ipv4Addr::new(198, 51, 100, k).to_string())
        .find(|ip| !taken.contains(ip))
        .unwrap_or_else(|| "198.51.100.255".to_string())
}

/// `setTarget` and `setLabels`.
fn action(ctx: &mut Ctx<'_>, req: &ApiRequest, project: &str, name: &str, action: &str) -> Result<Value, ApiError> {
    match action {
        "setLabels" => super::global_addresses::set_labels(ctx, req, project, COLLECTION, name),
        "setTarget" => rewrite_by_action(ctx, req, project, COLLECTION, name, action, |ctx, body, value| {
            let target = body.get("target").and_then(Value::as_str).filter(|t| !t.is_empty());
            let target = target.ok_or_else(|| required_field("target"))?;
            let coll = target_collection(target).ok_or_else(|| {
                invalid_field("target", target, "The target must be a global target HTTP or HTTPS proxy.")
            })?;
            value.insert("target".into(), normalize_ref(ctx, project, coll, "target", &json!(target))?);
            Ok(())
        }),
        _ => Err(no_such_method(req)),
    }
}

/// Every forwarding rule (stored, or about to be written) whose target is `proxy_key`.
pub(super) fn targeting(store: &crate::emulator::store::Store, proxy_key: &str) -> bool {
    let target = link(proxy_key);
    let hits = |v: &Value| v.get("target").and_then(Value::as_str) == Some(target.as_str());
    store.all(API).filter(|(k, _)| k.contains("/global/forwardingRules/")).any(|(_, r)| hits(&r.value))
}

#[cfg(test)]
mod tests {
    use super::super::tests::call;
    use super::super::LINK_BASE;
    use crate::emulator::store::Store;
    use axum::http::Method;
    use serde_json::{json, Value};

    const FR: &str = "compute/v1/projects/p/global/forwardingRules";

    fn front(store: &mut Store) {
        let c = "compute/v1/projects/p/global";
        call(store, Method::POST, &format!("{c}/backendServices"), json!({"name": "bs"})).unwrap();
        call(store, Method::POST, &format!("{c}/urlMaps"), json!({"name": "um", "defaultService": "bs"})).unwrap();
        for px in ["px", "px2"] {
            call(store, Method::POST, &format!("{c}/targetHttpProxies"), json!({"name": px, "urlMap": "um"})).unwrap();
        }
        call(store, Method::POST, &format!("{c}/addresses"), json!({"name": "lb-ip"})).unwrap();
    }

    #[test]
    fn an_address_reference_reads_back_as_its_ip_and_ports_as_ranges() {
        let mut store = Store::new();
        front(&mut store);
        let body = json!({"name": "http", "target": "global/targetHttpProxies/px", "IPAddress": "global/addresses/lb-ip",
            "portRange": "80", "loadBalancingScheme": "EXTERNAL_MANAGED"});
        call(&mut store, Method::POST, FR, body.clone()).unwrap();
        let got = call(&mut store, Method::GET, &format!("{FR}/http"), Value::Null).unwrap();
        assert_eq!(got["IPAddress"], "203.0.113.1");
        assert_eq!(got["portRange"], "80-80");
        assert_eq!(got["target"], format!("{LINK_BASE}projects/p/global/targetHttpProxies/px"));
        assert_eq!((&got["IPProtocol"], &got["networkTier"]), (&json!("TCP"), &json!("PREMIUM")));
        assert!(got["labelFingerprint"].as_str().is_some_and(|f| !f.is_empty()));
        let err = call(&mut store, Method::POST, FR, body).unwrap_err();
        assert_eq!(err.http_status, 409);
        let err = call(&mut store, Method::DELETE, "compute/v1/projects/p/global/targetHttpProxies/px", Value::Null)
            .unwrap_err();
        assert_eq!(err.reason.as_deref(), Some("resourceInUseByAnotherResource"), "{}", err.message);
    }

    #[test]
    fn set_target_repoints_and_bad_bodies_are_refused() {
        let mut store = Store::new();
        front(&mut store);
        call(&mut store, Method::POST, FR, json!({"name": "http", "target": "global/targetHttpProxies/px"})).unwrap();
        let got = call(&mut store, Method::GET, &format!("{FR}/http"), Value::Null).unwrap();
        assert_eq!(got["IPAddress"], "198.51.100.1", "an ephemeral address");
        call(
            &mut store,
            Method::POST,
            &format!("{FR}/http/setTarget"),
            json!({"target": "global/targetHttpProxies/px2"}),
        )
        .unwrap();
        let got = call(&mut store, Method::GET, &format!("{FR}/http"), Value::Null).unwrap();
        assert_eq!(got["target"], format!("{LINK_BASE}projects/p/global/targetHttpProxies/px2"));
        for (body, status) in [
            (json!({"name": "a", "target": "global/targetHttpProxies/nope"}), 404),
            (json!({"name": "a"}), 400),
            (json!({"name": "a", "target": "global/targetHttpProxies/px", "portRange": "80-90"}), 400),
            (json!({"name": "a", "target": "global/targetHttpProxies/px", "networkTier": "STANDARD"}), 400),
            (json!({"name": "a", "target": "global/targetHttpProxies/px", "ports": ["80"], "bogus": 1}), 400),
        ] {
            let err = call(&mut store, Method::POST, FR, body.clone()).unwrap_err();
            assert_eq!(err.http_status, status, "{body}: {}", err.message);
        }
        let err = call(&mut store, Method::POST, &format!("{FR}/gone/setTarget"), json!({"target": "x"})).unwrap_err();
        assert_eq!(err.http_status, 404);
    }
}
