//! Global target HTTPS proxies: a URL map and 1–15 SSL certificates (existing, normalised to
//! full URLs), and the `setUrlMap` / `setSslCertificates` actions, whose paths have no
//! `/global/` segment.

use serde_json::{json, Map, Value};

use super::{check_enum, invalid_field, normalize_ref, required_field, rewrite_by_action, Collection, Spec};
use crate::emulator::api::{ApiRequest, Ctx};
use crate::emulator::errors::{not_found, ApiError};

const MAX_CERTIFICATES: usize = 15;
/// How a Certificate Manager certificate is named in `sslCertificates`.
const CERTIFICATE_MANAGER: &str = "//certificatemanager.googleapis.com/";
const QUIC_OVERRIDES: &[&str] = &["DISABLE", "ENABLE", "NONE"];
const TLS_EARLY_DATA: &[&str] = &["DISABLED", "PERMISSIVE", "STRICT", "UNRESTRICTED"];

/// The collection as the router serves it.
pub(super) const COLLECTION: Collection = Collection(&Spec {
    segment: "targetHttpsProxies",
    regional: false,
    kind: "compute#targetHttpsProxy",
    noun: "target_https_proxy",
    fingerprint: Some("fingerprint"),
    has_patch: true,
    has_update: false,
    schema: "TargetHttpsProxy",
    prepare: |ctx, project, body| prepare(ctx, project, body).map(|()| Value::Null),
    action: None,
});

pub(super) fn prepare(ctx: &Ctx<'_>, project: &str, body: &mut Map<String, Value>) -> Result<(), ApiError> {
    check_enum(body, "quicOverride", "TargetHttpsProxy.QuicOverride", QUIC_OVERRIDES)?;
    check_enum(body, "tlsEarlyData", "TargetHttpsProxy.TlsEarlyData", TLS_EARLY_DATA)?;
    let url_map = body.get("urlMap").filter(|v| !v.is_null()).cloned().ok_or_else(|| required_field("urlMap"))?;
    body.insert("urlMap".into(), normalize_ref(ctx, project, super::url_maps::COLLECTION, "urlMap", &url_map)?);
    let certificates = certificates(ctx, project, body.get("sslCertificates"), body.contains_key("certificateMap"))?;
    if certificates.is_empty() {
        body.remove("sslCertificates");
    } else {
        body.insert("sslCertificates".into(), Value::Array(certificates));
    }
    body.entry("quicOverride").or_insert(json!("NONE"));
    body.entry("tlsEarlyData").or_insert(json!("DISABLED"));
    Ok(())
}

/// Checks and normalises a certificate list: 1 to 15 (none only beside a certificate map).
fn certificates(ctx: &Ctx<'_>, project: &str, value: Option<&Value>, has_map: bool) -> Result<Vec<Value>, ApiError> {
    let list = match value {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(items)) => items.clone(),
        Some(other) => return Err(invalid_field("sslCertificates", &other.to_string(), "Must be a list of URLs.")),
    };
    if list.is_empty() && !has_map {
        return Err(required_field("sslCertificates"));
    }
    if list.len() > MAX_CERTIFICATES {
        return Err(invalid_field(
            "sslCertificates",
            &list.len().to_string(),
            &format!("A target HTTPS proxy may reference at most {MAX_CERTIFICATES} SSL certificates."),
        ));
    }
    list.iter()
        .enumerate()
        .map(|(i, c)| match c.as_str() {
            // A Certificate Manager certificate (not emulated) is kept as given.
            Some(url) if url.starts_with(CERTIFICATE_MANAGER) => Ok(c.clone()),
            _ => normalize_ref(ctx, project, super::ssl_certificates::COLLECTION, &format!("sslCertificates[{i}]"), c),
        })
        .collect()
}

/// `POST projects/{p}/targetHttpsProxies/{name}/{setUrlMap|setSslCertificates}`.
pub(super) fn action(
    ctx: &mut Ctx<'_>,
    req: &ApiRequest,
    project: &str,
    name: &str,
    action: &str,
) -> Result<Value, ApiError> {
    if !matches!(action, "setUrlMap" | "setSslCertificates") {
        return Err(not_found(format!(
            "The Compute Engine API has no method POST /{} (setQuicOverride, setSslPolicy and setCertificateMap live under /global/targetHttpsProxies/).",
            req.path
        )));
    }
    if action == "setUrlMap" {
        return rewrite_by_action(ctx, req, project, COLLECTION, name, action, |ctx, body, value| {
            set_url_map(ctx, project, body, value)
        });
    }
    rewrite_by_action(ctx, req, project, COLLECTION, name, action, |ctx, body, value| {
        let list = certificates(ctx, project, body.get("sslCertificates"), value.contains_key("certificateMap"))?;
        value.insert("sslCertificates".into(), Value::Array(list));
        Ok(())
    })
}

/// `setUrlMap` on either proxy kind: the URL map must exist; stored as a full link.
pub(super) fn set_url_map(
    ctx: &Ctx<'_>,
    project: &str,
    body: &Map<String, Value>,
    value: &mut Map<String, Value>,
) -> Result<(), ApiError> {
    let url_map = body.get("urlMap").filter(|v| !v.is_null()).ok_or_else(|| {
        crate::emulator::errors::invalid_argument("Required field 'urlMap' not specified").with_reason("required")
    })?;
    value.insert("urlMap".into(), normalize_ref(ctx, project, super::url_maps::COLLECTION, "urlMap", url_map)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::call;
    use super::super::LINK_BASE;
    use crate::emulator::store::Store;
    use axum::http::Method;
    use serde_json::{json, Value};

    fn world(store: &mut Store) {
        call(store, Method::POST, "compute/v1/projects/p/global/backendServices", json!({"name": "bs"})).unwrap();
        for um in ["um", "um2"] {
            call(
                store,
                Method::POST,
                "compute/v1/projects/p/global/urlMaps",
                json!({"name": um, "defaultService": "bs"}),
            )
            .unwrap();
        }
        for i in 0..16 {
            call(
                store,
                Method::POST,
                "compute/v1/projects/p/global/sslCertificates",
                json!({"name": format!("c{i}"), "managed": {"domains": [format!("c{i}.example.com")]}}),
            )
            .unwrap();
        }
    }

    #[test]
    fn proxies_take_a_url_map_and_at_most_fifteen_certificates() {
        let mut store = Store::new();
        world(&mut store);
        let tp = "compute/v1/projects/p/global/targetHttpsProxies";
        let sixteen: Vec<String> = (0..16).map(|i| format!("global/sslCertificates/c{i}")).collect();
        let err = call(&mut store, Method::POST, tp, json!({"name": "px", "urlMap": "um", "sslCertificates": sixteen}))
            .unwrap_err();
        assert!(err.message.contains("at most 15"), "{}", err.message);
        let err = call(&mut store, Method::POST, tp, json!({"name": "px", "urlMap": "um"})).unwrap_err();
        assert_eq!(err.message, "Required field 'resource.sslCertificates' not specified");
        call(
            &mut store,
            Method::POST,
            tp,
            json!({"name": "px", "urlMap": "global/urlMaps/um", "sslCertificates": ["c0"]}),
        )
        .unwrap();
        let px = call(&mut store, Method::GET, &format!("{tp}/px"), Value::Null).unwrap();
        assert_eq!(px["urlMap"], format!("{LINK_BASE}projects/p/global/urlMaps/um"));
        assert_eq!(px["quicOverride"], "NONE");

        let op = call(
            &mut store,
            Method::POST,
            "compute/v1/projects/p/targetHttpsProxies/px/setUrlMap",
            json!({"urlMap": format!("{LINK_BASE}projects/p/global/urlMaps/um2")}),
        )
        .unwrap();
        assert_eq!(op["operationType"], "setUrlMap");
        let op = call(
            &mut store,
            Method::POST,
            "compute/v1/projects/p/targetHttpsProxies/px/setSslCertificates",
            json!({"sslCertificates": ["global/sslCertificates/c1", "global/sslCertificates/c2"]}),
        )
        .unwrap();
        assert_eq!(op["operationType"], "setSslCertificates");
        let px2 = call(&mut store, Method::GET, &format!("{tp}/px"), Value::Null).unwrap();
        assert_eq!(px2["urlMap"], format!("{LINK_BASE}projects/p/global/urlMaps/um2"));
        assert_eq!(px2["sslCertificates"].as_array().unwrap().len(), 2);
        assert_ne!(px2["fingerprint"], px["fingerprint"]);

        // um is free now; c1 is not.
        call(&mut store, Method::DELETE, "compute/v1/projects/p/global/urlMaps/um", Value::Null).unwrap();
        let err = call(&mut store, Method::DELETE, "compute/v1/projects/p/global/sslCertificates/c1", Value::Null)
            .unwrap_err();
        assert!(err.message.starts_with("The ssl_certificate resource 'projects/p/global/sslCertificates/c1' is already being used by 'projects/p/global/targetHttpsProxies/px'"));
        assert!(
            call(
                &mut store,
                Method::POST,
                "compute/v1/projects/p/global/targetHttpsProxies/px/setUrlMap",
                json!({"urlMap": "um2"})
            )
            .is_err(),
            "setUrlMap has no /global/ form"
        );
        assert!(call(&mut store, Method::PUT, &format!("{tp}/px"), json!({})).is_err(), "proxies have no PUT");
    }
}
