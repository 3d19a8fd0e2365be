//! VPC networks (`projects/{p}/global/networks`), custom mode only: `autoCreateSubnetworks`
//! must be false (auto mode would make a subnetwork in every region, and a body without it
//! asks for a legacy network, which new projects cannot create). A network's `subnetworks`
//! (output only) are the subnetworks whose `network` links to it, listed on every read.

use serde_json::{json, Map, Value};

use super::{invalid_field, link, required_field, Collection, Spec, API};
use crate::emulator::api::Ctx;
use crate::emulator::errors::ApiError;
use crate::emulator::store::Store;

/// The collection as the router serves it.
pub(super) const COLLECTION: Collection = Collection(&Spec {
    segment: "networks",
    regional: false,
    kind: "compute#network",
    noun: "network",
    fingerprint: None,
    has_patch: false,
    has_update: false,
    schema: "Network",
    prepare: |ctx, project, body| prepare(ctx, project, body).map(|()| Value::Null),
    action: None,
});

const ROUTING_MODES: &[&str] = &["REGIONAL", "GLOBAL"];
const ENFORCEMENT_ORDERS: &[&str] = &["AFTER_CLASSIC_FIREWALL", "BEFORE_CLASSIC_FIREWALL"];

/// Checks and defaults a network body on insert: custom mode, an MTU within 1300..=8896
/// (default 1460), regional routing by default.
pub(super) fn prepare(_ctx: &Ctx<'_>, _project: &str, body: &mut Map<String, Value>) -> Result<(), ApiError> {
    if body.get("IPv4Range").is_some_and(|v| !v.is_null()) {
        return Err(invalid_field(
            "IPv4Range",
            body["IPv4Range"].as_str().unwrap_or_default(),
            "Legacy networks are not supported; create a VPC network with autoCreateSubnetworks.",
        ));
    }
    match body.get("autoCreateSubnetworks") {
        Some(Value::Bool(false)) => {}
        Some(Value::Bool(true)) => {
            return Err(invalid_field(
                "autoCreateSubnetworks",
                "true",
                "The Cairn emulator serves custom-mode networks only; set autoCreateSubnetworks to false and create subnetworks.",
            ))
        }
        _ => return Err(required_field("autoCreateSubnetworks")),
    }
    let mtu = body.get("mtu").and_then(Value::as_i64).unwrap_or(1460);
    if !(1300..=8896).contains(&mtu) {
        return Err(invalid_field("mtu", &mtu.to_string(), "The MTU must be between 1300 and 8896."));
    }
    body.insert("mtu".into(), json!(mtu));
    let routing = body.entry("routingConfig").or_insert_with(|| json!({}));
    if let Value::Object(r) = routing {
        let mode = r.entry("routingMode").or_insert_with(|| json!("REGIONAL"));
        if !mode.as_str().is_some_and(|m| ROUTING_MODES.contains(&m)) {
            return Err(invalid_field("routingConfig.routingMode", &mode.to_string(), ""));
        }
        r.entry("bgpBestPathSelectionMode").or_insert_with(|| json!("LEGACY"));
    }
    let order = body.entry("networkFirewallPolicyEnforcementOrder").or_insert_with(|| json!("AFTER_CLASSIC_FIREWALL"));
    if !order.as_str().is_some_and(|o| ENFORCEMENT_ORDERS.contains(&o)) {
        return Err(invalid_field("networkFirewallPolicyEnforcementOrder", &order.to_string(), ""));
    }
    Ok(())
}

/// The network as read: its stored fields plus the subnetworks that link to it, in key order.
pub(super) fn with_subnetworks(store: &Store, mut value: Value) -> Value {
    let Some(me) = value.get("selfLink").and_then(Value::as_str).map(str::to_string) else { return value };
    let subnetworks: Vec<Value> = store
        .all(API)
        .filter(|(k, r)| {
            k.contains(&format!("/{}/", super::subnetworks::COLLECTION.segment()))
                && r.value.get("network").and_then(Value::as_str) == Some(me.as_str())
        })
        .map(|(k, _)| json!(link(k)))
        .collect();
    if let (Value::Object(m), false) = (&mut value, subnetworks.is_empty()) {
        m.insert("subnetworks".into(), Value::Array(subnetworks));
    }
    value
}

#[cfg(test)]
mod tests {
    use super::super::tests::call;
    use super::super::LINK_BASE;
    use crate::emulator::store::Store;
    use axum::http::Method;
    use serde_json::{json, Value};

    const NETWORKS: &str = "compute/v1/projects/p/global/networks";

    #[test]
    fn a_custom_network_lists_its_subnetworks_and_cannot_go_while_they_exist() {
        let mut store = Store::new();
        let err = call(&mut store, Method::POST, NETWORKS, json!({"name": "legacy"})).unwrap_err();
        assert_eq!(err.message, "Required field 'resource.autoCreateSubnetworks' not specified");
        let err = call(&mut store, Method::POST, NETWORKS, json!({"name": "auto", "autoCreateSubnetworks": true}))
            .unwrap_err();
        assert!(err.message.contains("custom-mode networks only"), "{}", err.message);
        call(&mut store, Method::POST, NETWORKS, json!({"name": "vpc", "autoCreateSubnetworks": false})).unwrap();
        let vpc = call(&mut store, Method::GET, &format!("{NETWORKS}/vpc"), Value::Null).unwrap();
        assert_eq!((vpc["mtu"].as_i64(), vpc["routingConfig"]["routingMode"].as_str()), (Some(1460), Some("REGIONAL")));
        assert_eq!(vpc["kind"], "compute#network");
        assert!(vpc.get("subnetworks").is_none());

        let subnets = "compute/v1/projects/p/regions/us-central1/subnetworks";
        call(&mut store, Method::POST, subnets, json!({"name": "a", "network": "vpc", "ipCidrRange": "10.0.0.0/24"}))
            .unwrap();
        let vpc = call(&mut store, Method::GET, &format!("{NETWORKS}/vpc"), Value::Null).unwrap();
        assert_eq!(vpc["subnetworks"], json!([format!("{LINK_BASE}projects/p/regions/us-central1/subnetworks/a")]));
        let listed = call(&mut store, Method::GET, NETWORKS, Value::Null).unwrap();
        assert_eq!(listed["items"][0]["subnetworks"], vpc["subnetworks"]);

        let err = call(&mut store, Method::DELETE, &format!("{NETWORKS}/vpc"), Value::Null).unwrap_err();
        assert!(err.message.contains("is already being used by"), "{}", err.message);
        call(&mut store, Method::DELETE, &format!("{subnets}/a"), Value::Null).unwrap();
        call(&mut store, Method::DELETE, &format!("{NETWORKS}/vpc"), Value::Null).unwrap();
    }
}
