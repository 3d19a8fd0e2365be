//! Global URL maps: every backend service a map routes to must exist and is normalised to its
//! full URL (backend buckets are accepted unchecked: the emulator does not serve them), and
//! host rules must name a path matcher of the map.

use serde_json::{Map, Value};

use super::{invalid_field, normalize_ref, Collection, Spec, LINK_BASE};
use crate::emulator::api::Ctx;
use crate::emulator::errors::ApiError;

/// The collection as the router serves it.
pub(super) const COLLECTION: Collection = Collection(&Spec {
    segment: "urlMaps",
    regional: false,
    kind: "compute#urlMap",
    noun: "url_map",
    fingerprint: Some("fingerprint"),
    has_patch: true,
    has_update: true,
    schema: "UrlMap",
    prepare: |ctx, project, body| prepare(ctx, project, body).map(|()| Value::Null),
    action: None,
});

pub(super) fn prepare(ctx: &Ctx<'_>, project: &str, body: &mut Map<String, Value>) -> Result<(), ApiError> {
    if let Some(service) = body.get("defaultService").cloned() {
        body.insert("defaultService".into(), service_ref(ctx, project, "defaultService", &service)?);
    }
    let mut matcher_names = Vec::new();
    if let Some(Value::Array(matchers)) = body.get_mut("pathMatchers") {
        for (i, matcher) in matchers.iter_mut().enumerate() {
            let Value::Object(m) = matcher else {
                return Err(invalid_field(&format!("pathMatchers[{i}]"), &matcher.to_string(), "Must be an object."));
            };
            match m.get("name").and_then(Value::as_str) {
                Some(n) if super::valid_name(n) => matcher_names.push(n.to_string()),
                other => {
                    return Err(invalid_field(
                        &format!("pathMatchers[{i}].name"),
                        other.unwrap_or(""),
                        "Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'",
                    ))
                }
            }
            if let Some(service) = m.get("defaultService").cloned() {
                let field = format!("pathMatchers[{i}].defaultService");
                m.insert("defaultService".into(), service_ref(ctx, project, &field, &service)?);
            }
            for rules in ["pathRules", "routeRules"] {
                if let Some(Value::Array(items)) = m.get_mut(rules) {
                    for (j, rule) in items.iter_mut().enumerate() {
                        if let Some(service) = rule.get("service").cloned() {
                            let field = format!("pathMatchers[{i}].{rules}[{j}].service");
                            rule["service"] = service_ref(ctx, project, &field, &service)?;
                        }
                        if rules == "pathRules" {
                            let paths = rule.get("paths").and_then(Value::as_array).cloned().unwrap_or_default();
                            if let Some(bad) = paths.iter().find(|p| !p.as_str().is_some_and(|p| p.starts_with('/'))) {
                                return Err(invalid_field(
                                    &format!("pathMatchers[{i}].pathRules[{j}].paths"),
                                    bad.as_str().unwrap_or_default(),
                                    "Paths must start with '/'.",
                                ));
                            }
                        }
                    }
                }
            }
        }
    }
    if let Some(Value::Array(rules)) = body.get("hostRules") {
        for (i, rule) in rules.iter().enumerate() {
            let matcher = rule.get("pathMatcher").and_then(Value::as_str).unwrap_or_default();
            if !matcher_names.iter().any(|n| n == matcher) {
                return Err(invalid_field(
                    &format!("hostRules[{i}].pathMatcher"),
                    matcher,
                    "The path matcher must be defined in the URL map.",
                ));
            }
        }
    }
    Ok(())
}

/// A backend service (checked) or backend bucket (normalised only).
fn service_ref(ctx: &Ctx<'_>, project: &str, field: &str, value: &Value) -> Result<Value, ApiError> {
    let text = value.as_str().unwrap_or_default();
    if text.contains("/backendBuckets/") {
        let rest = text.strip_prefix(LINK_BASE).unwrap_or(text);
        let full = if rest.starts_with("projects/") {
            format!("{LINK_BASE}{rest}")
        } else {
            format!("{LINK_BASE}projects/{project}/{}", rest.trim_start_matches('/'))
        };
        return Ok(Value::String(full));
    }
    normalize_ref(ctx, project, super::backend_services::COLLECTION, field, value)
}

#[cfg(test)]
mod tests {
    use super::super::tests::call;
    use super::super::LINK_BASE;
    use crate::emulator::store::Store;
    use axum::http::Method;
    use serde_json::{json, Value};

    #[test]
    fn routes_are_checked_and_normalised() {
        let mut store = Store::new();
        call(&mut store, Method::POST, "compute/v1/projects/p/global/backendServices", json!({"name": "bs"})).unwrap();
        let um = "compute/v1/projects/p/global/urlMaps";
        call(&mut store, Method::POST, um, json!({"name": "um", "defaultService": "global/backendServices/bs",
            "hostRules": [{"hosts": ["a.example.com"], "pathMatcher": "pm"}],
            "pathMatchers": [{"name": "pm", "defaultService": "bs", "pathRules": [{"paths": ["/api/*"], "service": "bs"}]}]})).unwrap();
        let got = call(&mut store, Method::GET, &format!("{um}/um"), Value::Null).unwrap();
        let full = format!("{LINK_BASE}projects/p/global/backendServices/bs");
        assert_eq!(got["defaultService"], full.as_str());
        assert_eq!(got["pathMatchers"][0]["pathRules"][0]["service"], full.as_str());
        assert!(got["fingerprint"].is_string());
        let err = call(
            &mut store,
            Method::POST,
            um,
            json!({"name": "um2", "defaultService": "bs",
            "hostRules": [{"hosts": ["x"], "pathMatcher": "missing"}]}),
        )
        .unwrap_err();
        assert!(err.message.contains("hostRules[0].pathMatcher"), "{}", err.message);
        let err = call(&mut store, Method::DELETE, "compute/v1/projects/p/global/backendServices/bs", Value::Null)
            .unwrap_err();
        assert!(err.message.starts_with("The backend_service resource 'projects/p/global/backendServices/bs' is already being used by 'projects/p/global/urlMaps/um'"));
    }
}
