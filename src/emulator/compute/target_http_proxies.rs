//! Global target HTTP proxies: a URL map (existing, normalised to a full URL), and the
//! `setUrlMap` action, whose path has no `/global/` segment (as with HTTPS proxies).

use serde_json::{json, Map, Value};

use super::{normalize_ref, required_field, rewrite_by_action, Collection, Spec};
use crate::emulator::api::{ApiRequest, Ctx};
use crate::emulator::errors::{not_found, ApiError};

/// The collection as the router serves it.
pub(super) const COLLECTION: Collection = Collection(&Spec {
    segment: "targetHttpProxies",
    regional: false,
    kind: "compute#targetHttpProxy",
    noun: "target_http_proxy",
    fingerprint: Some("fingerprint"),
    has_patch: true,
    has_update: false,
    schema: "TargetHttpProxy",
    prepare: |ctx, project, body| prepare(ctx, project, body).map(|()| Value::Null),
    action: None,
});

pub(super) fn prepare(ctx: &Ctx<'_>, project: &str, body: &mut Map<String, Value>) -> Result<(), ApiError> {
    let url_map = body.get("urlMap").filter(|v| !v.is_null()).cloned().ok_or_else(|| required_field("urlMap"))?;
    body.insert("urlMap".into(), normalize_ref(ctx, project, super::url_maps::COLLECTION, "urlMap", &url_map)?);
    body.entry("proxyBind").or_insert(json!(false));
    Ok(())
}

/// `POST projects/{p}/targetHttpProxies/{name}/setUrlMap`.
pub(super) fn action(
    ctx: &mut Ctx<'_>,
    req: &ApiRequest,
    project: &str,
    name: &str,
    action: &str,
) -> Result<Value, ApiError> {
    if action != "setUrlMap" {
        return Err(not_found(format!("The Compute Engine API has no method POST /{}.", req.path)));
    }
    rewrite_by_action(ctx, req, project, COLLECTION, name, action, |ctx, body, value| {
        super::target_https_proxies::set_url_map(ctx, project, body, value)
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::call;
    use super::super::LINK_BASE;
    use crate::emulator::store::Store;
    use axum::http::Method;
    use serde_json::{json, Value};

    #[test]
    fn a_proxy_takes_an_existing_url_map_and_changes_it_with_set_url_map() {
        let mut store = Store::new();
        call(&mut store, Method::POST, "compute/v1/projects/p/global/backendServices", json!({"name": "bs"})).unwrap();
        for um in ["um", "um2"] {
            let body = json!({"name": um, "defaultService": "bs"});
            call(&mut store, Method::POST, "compute/v1/projects/p/global/urlMaps", body).unwrap();
        }
        let tp = "compute/v1/projects/p/global/targetHttpProxies";
        let err = call(&mut store, Method::POST, tp, json!({"name": "px"})).unwrap_err();
        assert_eq!(err.message, "Required field 'resource.urlMap' not specified");
        assert!(call(&mut store, Method::POST, tp, json!({"name": "px", "urlMap": "missing"})).is_err());
        call(&mut store, Method::POST, tp, json!({"name": "px", "urlMap": "um", "httpKeepAliveTimeoutSec": 610}))
            .unwrap();
        let px = call(&mut store, Method::GET, &format!("{tp}/px"), Value::Null).unwrap();
        assert_eq!(px["urlMap"], format!("{LINK_BASE}projects/p/global/urlMaps/um"));
        assert_eq!(
            (px["kind"].as_str(), px["httpKeepAliveTimeoutSec"].as_i64()),
            (Some("compute#targetHttpProxy"), Some(610))
        );

        let op = call(
            &mut store,
            Method::POST,
            "compute/v1/projects/p/targetHttpProxies/px/setUrlMap",
            json!({"urlMap": "global/urlMaps/um2"}),
        )
        .unwrap();
        assert_eq!(op["operationType"], "setUrlMap");
        let px2 = call(&mut store, Method::GET, &format!("{tp}/px"), Value::Null).unwrap();
        assert_eq!(px2["urlMap"], format!("{LINK_BASE}projects/p/global/urlMaps/um2"));
        assert_ne!(px2["fingerprint"], px["fingerprint"]);
        let err =
            call(&mut store, Method::DELETE, "compute/v1/projects/p/global/urlMaps/um2", Value::Null).unwrap_err();
        assert!(
            err.message.contains("is already being used by 'projects/p/global/targetHttpProxies/px'"),
            "{}",
            err.message
        );
        call(&mut store, Method::DELETE, "compute/v1/projects/p/global/urlMaps/um", Value::Null).unwrap();
    }
}
