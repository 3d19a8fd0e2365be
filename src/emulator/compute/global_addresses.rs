//! Global addresses (`projects/{p}/global/addresses`, methods `compute.globalAddresses.*`):
//! reserved IPs for global load balancers and internal ranges for VPC peering or Private
//! Service Connect. Labels change only through `setLabels`, guarded by `labelFingerprint`.
//!
//! Addresses the caller leaves out come from documentation ranges, first free first, so runs
//! are repeatable: 203.0.113.0/24 for external IPv4, 2001:db8::/32 for external IPv6, and
//! 10.0.0.0/8 for internal ranges.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde_json::{json, Map, Value};

use super::{
    check_enum, fingerprint, invalid_field, key_of, link, no_such_method, operations, resource_not_found, Collection,
    Spec, API,
};
use crate::emulator::api::{ApiRequest, Ctx};
use crate::emulator::errors::{invalid_argument, ApiError, Code};
use crate::emulator::operations::Effect;

/// The collection as the router serves it.
pub(super) const COLLECTION: Collection = Collection(&Spec {
    segment: "addresses",
    regional: false,
    kind: "compute#address",
    noun: "address",
    fingerprint: Some("labelFingerprint"),
    has_patch: false,
    has_update: false,
    schema: "Address",
    prepare: |ctx, project, body| prepare(ctx, project, body).map(|()| Value::Null),
    action: Some(action),
});

const ADDRESS_TYPES: &[&str] = &["EXTERNAL", "INTERNAL"];
const IP_VERSIONS: &[&str] = &["IPV4", "IPV6"];
/// The purposes a global address can have (the others in the enum are regional).
const GLOBAL_PURPOSES: &[&str] = &["VPC_PEERING", "PRIVATE_SERVICE_CONNECT"];
const MAX_LABELS: usize = 64;

/// Checks and defaults an address body on insert.
pub(super) fn prepare(ctx: &Ctx<'_>, project: &str, body: &mut Map<String, Value>) -> Result<(), ApiError> {
    check_enum(body, "addressType", "Address.AddressType", ADDRESS_TYPES)?;
    check_enum(body, "ipVersion", "Address.IpVersion", IP_VERSIONS)?;
    for output_only in ["status", "users", "labelFingerprint"] {
        body.remove(output_only);
    }
    let address_type = text(body, "addressType").unwrap_or("EXTERNAL").to_string();
    let ip_version = text(body, "ipVersion").unwrap_or("IPV4").to_string();
    let purpose = text(body, "purpose").map(str::to_string);
    if let Some(p) = &purpose {
        if !GLOBAL_PURPOSES.contains(&p.as_str()) {
            return Err(invalid_field(
                "purpose",
                p,
                "Global addresses support VPC_PEERING and PRIVATE_SERVICE_CONNECT.",
            ));
        }
    }
    match address_type.as_str() {
        "INTERNAL" => {
            let Some(p) = &purpose else {
                return Err(invalid_argument(
                    "Invalid value for field 'resource.purpose': ''. An INTERNAL global address needs purpose VPC_PEERING or PRIVATE_SERVICE_CONNECT.",
                ));
            };
            if ip_version != "IPV4" {
                return Err(invalid_field("ipVersion", &ip_version, "Internal global addresses are IPv4."));
            }
            let network = text(body, "network").ok_or_else(|| super::required_field("network"))?.to_string();
            body.insert("network".into(), json!(network_link(project, &network)?));
            if p == "VPC_PEERING" && !body.contains_key("prefixLength") {
                return Err(super::required_field("prefixLength"));
            }
        }
        _ => {
            for field in ["network", "purpose"] {
                if let Some(v) = text(body, field) {
                    return Err(invalid_field(field, v, "Only INTERNAL addresses take this field."));
                }
            }
        }
    }
    let max_prefix = if ip_version == "IPV6" { 128 } else { 32 };
    if body.contains_key("prefixLength") {
        let n = super::int_field(body, "prefixLength", 0)?;
        if !(8..=max_prefix).contains(&n) {
            return Err(invalid_field("prefixLength", &n.to_string(), &format!("Must be between 8 and {max_prefix}.")));
        }
        body.insert("prefixLength".into(), json!(n));
    }
    match text(body, "address") {
        Some(given) => {
            let parsed: IpAddr =
                given.parse().map_err(|_| invalid_field("address", given, "Not a valid IP address."))?;
            if parsed.is_ipv6() != (ip_version == "IPV6") {
                return Err(invalid_field("address", given, &format!("The address is not an {ip_version} address.")));
            }
            let canonical = parsed.to_string();
            if taken(ctx).contains(&canonical) {
                return Err(ApiError::new(
                    Code::AlreadyExists,
                    format!("IP address '{canonical}' is already reserved by another global address."),
                ));
            }
            body.insert("address".into(), json!(canonical));
        }
        None => {
            let allocated = allocate(ctx, &address_type, &ip_version, purpose.as_deref())?;
            body.insert("address".into(), json!(allocated));
        }
    }
    let labels = body.get("labels").cloned().unwrap_or_else(|| json!({}));
    check_labels(&labels)?;
    if labels.as_object().is_some_and(Map::is_empty) {
        body.remove("labels");
    }
    body.insert("addressType".into(), json!(address_type));
    body.insert("ipVersion".into(), json!(ip_version));
    body.entry("networkTier").or_insert(json!("PREMIUM"));
    body.insert("status".into(), json!("RESERVED"));
    Ok(())
}

fn text<'a>(body: &'a Map<String, Value>, field: &str) -> Option<&'a str> {
    body.get(field).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// A network reference (full or partial URL, or a bare name) as a full URL. The emulator
/// serves no networks, so any well-formed reference is accepted.
fn network_link(project: &str, reference: &str) -> Result<String, ApiError> {
    let rest = reference
        .strip_prefix(super::LINK_BASE)
        .or_else(|| reference.strip_prefix("https://compute.googleapis.com/compute/v1/"))
        .unwrap_or(reference);
    let segs: Vec<&str> = rest.split('/').collect();
    let (p, name) = match segs.as_slice() {
        ["projects", p, "global", "networks", n] => (*p, *n),
        ["global", "networks", n] => (project, *n),
        [n] => (project, *n),
        _ => return Err(invalid_field("network", reference, "The URL is malformed.")),
    };
    if p.is_empty() || !super::valid_name(name) {
        return Err(invalid_field("network", reference, "The URL is malformed."));
    }
    Ok(link(&format!("projects/{p}/global/networks/{name}")))
}

/// Every address held by a global address, stored or about to be written.
fn taken(ctx: &Ctx<'_>) -> BTreeSet<String> {
    let is_address = |k: &str| k.starts_with("projects/") && k.contains("/global/addresses/");
    let stored = ctx.store.all(API).filter(|(k, _)| is_address(k)).map(|(_, r)| &r.value);
    let pending = operations::pending_puts(ctx.store).filter(|(k, _)| is_address(k)).map(|(_, v)| v);
    stored.chain(pending).filter_map(|v| v.get("address").and_then(Value::as_str)).map(str::to_string).collect()
}

/// The first free address of the range for the kind of address asked for.
fn allocate(ctx: &Ctx<'_>, address_type: &str, ip_version: &str, purpose: Option<&str>) -> Result<String, ApiError> {
    let taken = taken(ctx);
    let candidates: Box<dyn Iterator<Item = IpAddr>> = match (address_type, ip_version, purpose) {
        ("INTERNAL", _, Some("VPC_PEERING")) => Box::new((1..=254u8).map(|k| IpAddr::V4(Ipv4Addr::new(10, k, 0, 0)))),
        ("INTERNAL", _, _) => Box::new((1..=254u8).map(|k| IpAddr::V4(Ipv4Addr::new(10, 255, 0, k)))),
        (_, "IPV6", _) => Box::new((1..=0xffffu16).map(|k| IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, k, 0, 0, 0, 0, 0)))),
        _ => Box::new((1..=254u8).map(|k| IpAddr::V4(Ipv4Addr::new(203, 0, 113, k)))),
    };
    candidates
        .map(|ip| ip.to_string())
        .find(|ip| !taken.contains(ip))
        .ok_or_else(|| ApiError::new(Code::ResourceExhausted, "IP_SPACE_EXHAUSTED: no free address left in the range."))
}

/// Compute labels: at most 64; keys `[a-z][a-z0-9_-]{0,62}`, values `[a-z0-9_-]{0,63}`.
pub(super) fn check_labels(labels: &Value) -> Result<(), ApiError> {
    let Some(m) = labels.as_object() else {
        return Err(invalid_argument("Invalid value for field 'labels': must be a map of strings."));
    };
    if m.len() > MAX_LABELS {
        return Err(invalid_argument(format!("Resource has {} labels; at most {MAX_LABELS} are allowed.", m.len())));
    }
    let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-';
    for (k, v) in m {
        let key_ok =
            k.len() <= 63 && k.bytes().next().is_some_and(|b| b.is_ascii_lowercase()) && k.bytes().all(allowed);
        let value = v.as_str().unwrap_or("\u{0}");
        let value_ok = value.len() <= 63 && value.bytes().all(allowed);
        if !key_ok || !value_ok {
            return Err(invalid_argument(format!("Invalid label '{k}': '{v}'. Label keys and values must comply with RFC1035 (lowercase letters, digits, '_' and '-', at most 63 characters).")));
        }
    }
    Ok(())
}

/// The one action on an address: `setLabels`.
fn action(ctx: &mut Ctx<'_>, req: &ApiRequest, project: &str, name: &str, action: &str) -> Result<Value, ApiError> {
    match action {
        "setLabels" => set_labels(ctx, req, project, COLLECTION, name),
        _ => Err(no_such_method(req)),
    }
}

/// `POST projects/{p}/global/{addresses|forwardingRules}/{name}/setLabels`: the labels
/// replace the current ones when `labelFingerprint` is the current fingerprint (412
/// conditionNotMet otherwise).
pub(super) fn set_labels(
    ctx: &mut Ctx<'_>,
    req: &ApiRequest,
    project: &str,
    coll: Collection,
    name: &str,
) -> Result<Value, ApiError> {
    let key = key_of(project, coll, name);
    let current = ctx.store.get(API, &key).ok_or_else(|| resource_not_found(&key))?.clone();
    let body = req.json_body()?;
    let given = body.get("labelFingerprint").and_then(Value::as_str).unwrap_or_default();
    if given != fingerprint(&current) {
        return Err(ApiError::new(
            Code::FailedPrecondition,
            "Labels fingerprint either invalid or resource labels have changed",
        )
        .with_reason("conditionNotMet")
        .with_http_status(412));
    }
    let labels = body.get("labels").cloned().unwrap_or_else(|| json!({}));
    check_labels(&labels)?;
    let mut value = current.value.as_object().cloned().unwrap_or_default();
    if labels.as_object().is_some_and(Map::is_empty) {
        value.remove("labels");
    } else {
        value.insert("labels".into(), labels);
    }
    let id = current.value["id"].as_str().unwrap_or_default().to_string();
    let effect =
        Effect::Put { api: API.into(), name: key.clone(), value: Value::Object(value), internal: current.internal };
    Ok(operations::start(ctx, project, "setLabels", &key, &id, vec![effect]))
}

#[cfg(test)]
mod tests {
    use super::super::tests::call;
    use super::super::LINK_BASE;
    use crate::emulator::store::Store;
    use axum::http::Method;
    use serde_json::{json, Value};

    const GA: &str = "compute/v1/projects/p/global/addresses";

    #[test]
    fn defaults_and_first_free_documentation_addresses() {
        let mut store = Store::new();
        let op = call(&mut store, Method::POST, GA, json!({"name": "lb-ip"})).unwrap();
        assert_eq!(op["targetLink"], format!("{LINK_BASE}projects/p/global/addresses/lb-ip"));
        let got = call(&mut store, Method::GET, &format!("{GA}/lb-ip"), Value::Null).unwrap();
        assert_eq!(got["kind"], "compute#address");
        assert_eq!(got["address"], "203.0.113.1");
        assert_eq!(
            (&got["addressType"], &got["ipVersion"], &got["status"]),
            (&json!("EXTERNAL"), &json!("IPV4"), &json!("RESERVED"))
        );
        assert!(got["labelFingerprint"].as_str().is_some_and(|f| !f.is_empty()));
        call(&mut store, Method::POST, GA, json!({"name": "second"})).unwrap();
        let second = call(&mut store, Method::GET, &format!("{GA}/second"), Value::Null).unwrap();
        assert_eq!(second["address"], "203.0.113.2");
        call(&mut store, Method::POST, GA, json!({"name": "v6", "ipVersion": "IPV6"})).unwrap();
        let v6 = call(&mut store, Method::GET, &format!("{GA}/v6"), Value::Null).unwrap();
        assert_eq!(v6["address"], "2001:db8:1::");
        let err = call(&mut store, Method::POST, GA, json!({"name": "again", "address": "203.0.113.2"})).unwrap_err();
        assert_eq!(err.http_status, 409);
    }

    #[test]
    fn internal_ranges_need_a_network_and_a_purpose() {
        let mut store = Store::new();
        let err = call(&mut store, Method::POST, GA, json!({"name": "r", "addressType": "INTERNAL"})).unwrap_err();
        assert_eq!(err.http_status, 400);
        let err = call(&mut store, Method::POST, GA, json!({"name": "r", "purpose": "VPC_PEERING"})).unwrap_err();
        assert!(err.message.contains("Only INTERNAL"), "{}", err.message);
        call(
            &mut store,
            Method::POST,
            GA,
            json!({"name": "r", "addressType": "INTERNAL", "purpose": "VPC_PEERING", "prefixLength": 16, "network": "default"}),
        )
        .unwrap();
        let got = call(&mut store, Method::GET, &format!("{GA}/r"), Value::Null).unwrap();
        assert_eq!(got["network"], format!("{LINK_BASE}projects/p/global/networks/default"));
        assert_eq!((&got["address"], &got["prefixLength"]), (&json!("10.1.0.0"), &json!(16)));
        let err = call(&mut store, Method::POST, GA, json!({"name": "x", "ipVersion": "IPV5"})).unwrap_err();
        assert_eq!(err.http_status, 400);
    }

    #[test]
    fn set_labels_needs_the_current_fingerprint() {
        let mut store = Store::new();
        call(&mut store, Method::POST, GA, json!({"name": "a"})).unwrap();
        let fp = call(&mut store, Method::GET, &format!("{GA}/a"), Value::Null).unwrap()["labelFingerprint"].clone();
        let set = format!("{GA}/a/setLabels");
        call(&mut store, Method::POST, &set, json!({"labels": {"env": "staging"}, "labelFingerprint": fp})).unwrap();
        let got = call(&mut store, Method::GET, &format!("{GA}/a"), Value::Null).unwrap();
        assert_eq!(got["labels"], json!({"env": "staging"}));
        assert_ne!(got["labelFingerprint"], fp);
        let err = call(&mut store, Method::POST, &set, json!({"labels": {}, "labelFingerprint": fp})).unwrap_err();
        assert_eq!((err.http_status, err.reason.as_deref()), (412, Some("conditionNotMet")));
        let err = call(
            &mut store,
            Method::POST,
            &set,
            json!({"labels": {"Bad": "x"}, "labelFingerprint": got["labelFingerprint"]}),
        )
        .unwrap_err();
        assert_eq!(err.http_status, 400);
        let err = call(&mut store, Method::POST, &format!("{GA}/gone/setLabels"), json!({"labels": {}})).unwrap_err();
        assert_eq!(err.http_status, 404);
    }
}
