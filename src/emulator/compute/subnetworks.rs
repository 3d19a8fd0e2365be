//! Subnetworks (`projects/{p}/regions/{r}/subnetworks`): an IPv4 range in an existing network
//! (normalised to its full URL), at most a /29 and overlapping no other range of the network
//! (primary or secondary, in any region), as the API refuses. The gateway is the range's first
//! address; `fingerprint` moves with every change.

use ipnet::Ipv4Net;
use serde_json::{json, Map, Value};

use super::{check_enum, invalid_field, normalize_ref, required_field, Collection, Spec, API};
use crate::emulator::api::Ctx;
use crate::emulator::errors::{invalid_argument, ApiError};

/// The collection as the router serves it.
pub(super) const COLLECTION: Collection = Collection(&Spec {
    segment: "subnetworks",
    regional: true,
    kind: "compute#subnetwork",
    noun: "subnetwork",
    fingerprint: Some("fingerprint"),
    has_patch: false,
    has_update: false,
    schema: "Subnetwork",
    prepare: |ctx, project, body| prepare(ctx, project, body).map(|()| Value::Null),
    action: None,
});

const STACK_TYPES: &[&str] = &["IPV4_ONLY", "IPV4_IPV6", "IPV6_ONLY"];
const PURPOSES: &[&str] = &["PRIVATE", "PRIVATE_SERVICE_CONNECT", "REGIONAL_MANAGED_PROXY", "GLOBAL_MANAGED_PROXY"];

fn range(field: &str, text: &str) -> Result<Ipv4Net, ApiError> {
    let net: Ipv4Net =
        text.parse().map_err(|_| invalid_field(field, text, "It must be an IPv4 range in CIDR form."))?;
    if net.network() != net.addr() {
        return Err(invalid_field(field, text, "The range's address must be its network address."));
    }
    if net.prefix_len() > 29 {
        return Err(invalid_field(field, text, "The range must be a /29 or larger."));
    }
    Ok(net)
}

/// Every range (primary and secondary) of a subnetwork value, with its text.
fn ranges_of(v: &Value) -> Vec<(String, Ipv4Net)> {
    let primary = v.get("ipCidrRange").and_then(Value::as_str).into_iter();
    let secondary = v
        .get("secondaryIpRanges")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("ipCidrRange").and_then(Value::as_str));
    primary.chain(secondary).filter_map(|t| t.parse().ok().map(|n| (t.to_string(), n))).collect()
}

pub(super) fn prepare(ctx: &Ctx<'_>, project: &str, body: &mut Map<String, Value>) -> Result<(), ApiError> {
    check_enum(body, "stackType", "Subnetwork.StackType", STACK_TYPES)?;
    check_enum(body, "purpose", "Subnetwork.Purpose", PURPOSES)?;
    let network = body.get("network").filter(|v| !v.is_null()).cloned().ok_or_else(|| required_field("network"))?;
    let network = normalize_ref(ctx, project, super::networks::COLLECTION, "network", &network)?;
    body.insert("network".into(), network.clone());
    let primary = body.get("ipCidrRange").and_then(Value::as_str).ok_or_else(|| required_field("ipCidrRange"))?;
    let primary = range("ipCidrRange", primary)?;
    let mut mine = vec![(primary.to_string(), primary)];
    for (i, r) in body.get("secondaryIpRanges").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let field = format!("secondaryIpRanges[{i}].ipCidrRange");
        if r.get("rangeName").and_then(Value::as_str).is_none_or(str::is_empty) {
            return Err(required_field(&format!("secondaryIpRanges[{i}].rangeName")));
        }
        let text = r.get("ipCidrRange").and_then(Value::as_str).ok_or_else(|| required_field(&field))?;
        mine.push((text.to_string(), range(&field, text)?));
    }
    let others = ctx.store.all(API).filter(|(k, r)| {
        k.contains(&format!("/{}/", COLLECTION.segment())) && r.value.get("network") == Some(&network)
    });
    for (key, other) in others {
        for (text, net) in &mine {
            if let Some((theirs, _)) = ranges_of(&other.value)
                .into_iter()
                .find(|(_, n)| n.contains(&net.network()) || net.contains(&n.network()))
            {
                return Err(invalid_argument(format!(
                    "Invalid IPCidrRange: {text} conflicts with existing subnetwork '{key}' range {theirs}."
                )));
            }
        }
    }
    for (i, (text, a)) in mine.iter().enumerate() {
        if let Some((other, _)) =
            mine[i + 1..].iter().find(|(_, b)| a.contains(&b.network()) || b.contains(&a.network()))
        {
            return Err(invalid_argument(format!(
                "Invalid IPCidrRange: {other} conflicts with {text} of the same subnetwork."
            )));
        }
    }
    let gateway = primary.hosts().next().map(|a| a.to_string()).unwrap_or_default();
    body.insert("gatewayAddress".into(), json!(gateway));
    body.entry("privateIpGoogleAccess").or_insert(json!(false));
    body.entry("stackType").or_insert(json!("IPV4_ONLY"));
    body.entry("purpose").or_insert(json!("PRIVATE"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::call;
    use super::super::LINK_BASE;
    use crate::emulator::store::Store;
    use axum::http::Method;
    use serde_json::{json, Value};

    const SUBNETS: &str = "compute/v1/projects/p/regions/us-central1/subnetworks";

    #[test]
    fn a_subnetwork_takes_a_free_range_in_an_existing_network() {
        let mut store = Store::new();
        let body = json!({"name": "a", "network": "vpc", "ipCidrRange": "10.0.0.0/24"});
        let err = call(&mut store, Method::POST, SUBNETS, body.clone()).unwrap_err();
        assert_eq!(err.message, "The resource 'projects/p/global/networks/vpc' was not found");
        let networks = "compute/v1/projects/p/global/networks";
        call(&mut store, Method::POST, networks, json!({"name": "vpc", "autoCreateSubnetworks": false})).unwrap();
        let err = call(&mut store, Method::POST, SUBNETS, json!({"name": "a", "network": "vpc"})).unwrap_err();
        assert_eq!(err.message, "Required field 'resource.ipCidrRange' not specified");
        for bad in ["10.0.0.1/24", "10.0.0.0/30", "nope"] {
            let b = json!({"name": "a", "network": "vpc", "ipCidrRange": bad});
            assert!(call(&mut store, Method::POST, SUBNETS, b).is_err(), "{bad}");
        }
        let with_secondary = json!({"name": "a", "network": "global/networks/vpc", "ipCidrRange": "10.0.0.0/24",
            "secondaryIpRanges": [{"rangeName": "pods", "ipCidrRange": "10.4.0.0/16"}]});
        call(&mut store, Method::POST, SUBNETS, with_secondary).unwrap();
        let a = call(&mut store, Method::GET, &format!("{SUBNETS}/a"), Value::Null).unwrap();
        assert_eq!(a["network"], format!("{LINK_BASE}projects/p/global/networks/vpc"));
        assert_eq!(a["region"], format!("{LINK_BASE}projects/p/regions/us-central1"));
        assert_eq!((a["gatewayAddress"].as_str(), a["stackType"].as_str()), (Some("10.0.0.1"), Some("IPV4_ONLY")));
        assert_eq!(a["privateIpGoogleAccess"], false);
        assert!(a["fingerprint"].as_str().is_some_and(|f| !f.is_empty()));

        let elsewhere = "compute/v1/projects/p/regions/europe-west1/subnetworks";
        let clash = json!({"name": "b", "network": "vpc", "ipCidrRange": "10.4.8.0/24"});
        let err = call(&mut store, Method::POST, elsewhere, clash).unwrap_err();
        assert!(err.message.contains("conflicts with existing subnetwork"), "{}", err.message);
        call(&mut store, Method::POST, elsewhere, json!({"name": "b", "network": "vpc", "ipCidrRange": "10.1.0.0/24"}))
            .unwrap();
        let listed = call(&mut store, Method::GET, SUBNETS, Value::Null).unwrap();
        assert_eq!(listed["items"].as_array().map(Vec::len), Some(1), "one region's subnetworks");
    }
}
