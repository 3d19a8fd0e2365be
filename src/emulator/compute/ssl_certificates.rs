//! Global SSL certificates (immutable: insert, get, list, delete). A managed certificate is
//! PROVISIONING (every domain PROVISIONING) until its time comes; then, if it is served —
//! attached to a target HTTPS proxy that a global forwarding rule targets, so its domains can
//! reach the load balancer — ACTIVE with `subjectAlternativeNames` and `expireTime`; if not, it
//! stays PROVISIONING with every domain FAILED_NOT_VISIBLE, as the real API reports a domain
//! whose DNS does not point at the load balancer ("Troubleshooting SSL certificates",
//! https://cloud.google.com/load-balancing/docs/ssl-certificates/troubleshooting, domain
//! status FAILED_NOT_VISIBLE), and activates once it is served. A scenario can keep one stuck
//! or failing.
//! A self-managed certificate's private key is input only and never stored.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::{check_enum, invalid_field, required_field, Collection, Spec, API};
use crate::emulator::api::Ctx;
use crate::emulator::errors::{invalid_argument, ApiError};
use crate::emulator::operations::{compute_timestamp, timestamp};

const TYPES: &[&str] = &["MANAGED", "SELF_MANAGED", "TYPE_UNSPECIFIED"];
const MANAGED_STATUSES: &[&str] = &[
    "MANAGED_CERTIFICATE_STATUS_UNSPECIFIED",
    "PROVISIONING",
    "ACTIVE",
    "PROVISIONING_FAILED",
    "PROVISIONING_FAILED_PERMANENTLY",
    "RENEWAL_FAILED",
];
const DOMAIN_STATUSES: &[&str] = &[
    "DOMAIN_STATUS_UNSPECIFIED",
    "PROVISIONING",
    "ACTIVE",
    "FAILED_NOT_VISIBLE",
    "FAILED_CAA_CHECKING",
    "FAILED_CAA_FORBIDDEN",
    "FAILED_RATE_LIMITED",
];
const MAX_DOMAINS: usize = 100;
/// How long an issued managed certificate is valid.
const MANAGED_VALIDITY_DAYS: i64 = 90;

/// Checks and completes a certificate; the internal data holds when a managed one activates
/// (twice the operation duration after the request: one for the insert, one provisioning).
/// The collection as the router serves it.
pub(super) const COLLECTION: Collection = Collection(&Spec {
    segment: "sslCertificates",
    regional: false,
    kind: "compute#sslCertificate",
    noun: "ssl_certificate",
    fingerprint: None,
    has_patch: false,
    has_update: false,
    schema: "SslCertificate",
    prepare: |ctx, _, body| prepare(ctx, body),
    action: None,
});

pub(super) fn prepare(ctx: &Ctx<'_>, body: &mut Map<String, Value>) -> Result<Value, ApiError> {
    check_enum(body, "type", "SslCertificate.Type", TYPES)?;
    for output_only in ["expireTime", "subjectAlternativeNames"] {
        body.remove(output_only);
    }
    let managed = body.get("managed").is_some_and(|m| !m.is_null());
    let kind = match body.get("type").and_then(Value::as_str) {
        Some("MANAGED") => "MANAGED",
        Some("SELF_MANAGED") => "SELF_MANAGED",
        _ if managed => "MANAGED",
        _ => "SELF_MANAGED",
    };
    body.insert("type".into(), json!(kind));
    if kind == "MANAGED" {
        let domains =
            body.get("managed").and_then(|m| m.get("domains")).and_then(Value::as_array).cloned().unwrap_or_default();
        if domains.is_empty() {
            return Err(required_field("managed.domains"));
        }
        if domains.len() > MAX_DOMAINS {
            return Err(invalid_field(
                "managed.domains",
                &domains.len().to_string(),
                "At most 100 domains may be specified.",
            ));
        }
        for (i, d) in domains.iter().enumerate() {
            let text = d.as_str().unwrap_or_default();
            if !valid_domain(text) {
                return Err(invalid_field(&format!("managed.domains[{i}]"), text, "Must be a valid domain name."));
            }
        }
        let statuses: Map<String, Value> =
            domains.iter().filter_map(Value::as_str).map(|d| (d.to_string(), json!("PROVISIONING"))).collect();
        body.insert("managed".into(), json!({"domains": domains, "status": "PROVISIONING", "domainStatus": statuses}));
        for field in ["certificate", "privateKey", "selfManaged"] {
            body.remove(field);
        }
        let delay = chrono::Duration::from_std(ctx.operation_duration * 2).unwrap_or_default();
        return Ok(json!({"activateAt": timestamp(ctx.now + delay)}));
    }
    let nested = body.remove("selfManaged");
    let nested_field = |f: &str| nested.as_ref().and_then(|n| n.get(f)).and_then(Value::as_str).map(str::to_string);
    let certificate = body
        .get("certificate")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| nested_field("certificate"))
        .ok_or_else(|| required_field("certificate"))?;
    let private_key = body
        .remove("privateKey")
        .and_then(|v| v.as_str().map(str::to_string))
        .or_else(|| nested_field("privateKey"))
        .ok_or_else(|| required_field("privateKey"))?;
    if !certificate.contains("-----BEGIN CERTIFICATE-----") {
        return Err(
            invalid_argument("The SSL certificate could not be parsed.").with_reason("sslCertificateCouldNotParseCert")
        );
    }
    if !private_key.contains("PRIVATE KEY-----") {
        return Err(invalid_argument("The SSL key could not be parsed.").with_reason("sslCertificateCouldNotParseKey"));
    }
    body.insert("certificate".into(), json!(certificate));
    body.remove("managed");
    Ok(Value::Null)
}

fn valid_domain(d: &str) -> bool {
    let d = d.strip_suffix('.').unwrap_or(d);
    !d.is_empty()
        && d.len() <= 253
        && d.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Settles every managed certificate whose time has come (run before each request): a served
/// one activates; one nothing serves shows its domains FAILED_NOT_VISIBLE and waits.
pub(super) fn sweep(ctx: &mut Ctx<'_>) {
    let now = ctx.now;
    let due: Vec<(String, Value, Value)> = ctx
        .store
        .all(API)
        .filter(|(k, r)| k.contains("/global/sslCertificates/") && activate_at(&r.internal).is_some_and(|t| t <= now))
        .map(|(k, r)| (k.clone(), r.value.clone(), r.internal.clone()))
        .collect();
    for (key, mut value, mut internal) in due {
        let domains = value["managed"]["domains"].as_array().cloned().unwrap_or_default();
        let served = served(ctx.store, &key);
        let domain_status = if served { "ACTIVE" } else { "FAILED_NOT_VISIBLE" };
        let statuses: Map<String, Value> =
            domains.iter().filter_map(Value::as_str).map(|d| (d.to_string(), json!(domain_status))).collect();
        if !served {
            if value["managed"]["domainStatus"] == Value::Object(statuses.clone()) {
                continue;
            }
            value["managed"]["domainStatus"] = Value::Object(statuses);
            ctx.store.put(API, &key, value, internal);
            continue;
        }
        if let Value::Object(m) = &mut value["managed"] {
            m.insert("status".into(), json!("ACTIVE"));
            m.insert("domainStatus".into(), Value::Object(statuses));
        }
        value["subjectAlternativeNames"] = Value::Array(domains);
        value["expireTime"] = json!(compute_timestamp(now + chrono::Duration::days(MANAGED_VALIDITY_DAYS)));
        if let Value::Object(i) = &mut internal {
            i.remove("activateAt");
        }
        ctx.store.put(API, &key, value, internal);
    }
}

/// Whether a certificate is on a target HTTPS proxy that a global forwarding rule targets.
fn served(store: &crate::emulator::store::Store, cert_key: &str) -> bool {
    let cert = Value::String(super::link(cert_key));
    store
        .all(API)
        .filter(|(k, r)| {
            k.contains("/global/targetHttpsProxies/")
                && r.value.get("sslCertificates").and_then(Value::as_array).is_some_and(|c| c.contains(&cert))
        })
        .any(|(k, _)| super::global_forwarding_rules::targeting(store, k))
}

fn activate_at(internal: &Value) -> Option<DateTime<Utc>> {
    let text = internal.get("activateAt")?.as_str()?;
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc))
}

/// What a scenario may say about a managed certificate beyond its request fields.
#[derive(Debug, Default)]
pub(super) struct ScenarioExtras {
    status: Option<String>,
    domain_status: Option<Map<String, Value>>,
    stuck: bool,
    activate_after: Option<chrono::Duration>,
}

/// Takes `managed.status`, `managed.domainStatus`, `stuck` and `activateAfter` (seconds, or
/// `"90s"`) out of a scenario entry.
pub(super) fn take_scenario_extras(entry: &mut Map<String, Value>) -> Result<Option<ScenarioExtras>, String> {
    let mut extras = ScenarioExtras::default();
    if let Some(Value::Object(managed)) = entry.get_mut("managed") {
        match managed.remove("status") {
            None => {}
            Some(Value::String(s)) if MANAGED_STATUSES.contains(&s.as_str()) => extras.status = Some(s),
            Some(other) => return Err(format!("managed.status {other} is not one of {}", MANAGED_STATUSES.join(", "))),
        }
        match managed.remove("domainStatus") {
            None => {}
            Some(Value::Object(map)) => {
                for (domain, status) in &map {
                    if !status.as_str().is_some_and(|s| DOMAIN_STATUSES.contains(&s)) {
                        return Err(format!(
                            "managed.domainStatus[\"{domain}\"] {status} is not one of {}",
                            DOMAIN_STATUSES.join(", ")
                        ));
                    }
                }
                extras.domain_status = Some(map);
            }
            Some(other) => return Err(format!("managed.domainStatus must be a map of domain to status, not {other}")),
        }
    }
    match entry.remove("stuck") {
        None => {}
        Some(Value::Bool(b)) => extras.stuck = b,
        Some(other) => return Err(format!("stuck must be true or false, not {other}")),
    }
    match entry.remove("activateAfter") {
        None => {}
        Some(v) => {
            let seconds = match &v {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.strip_suffix('s').and_then(|s| s.parse::<f64>().ok()),
                _ => None,
            }
            .filter(|s| s.is_finite() && *s >= 0.0)
            .ok_or_else(|| format!("activateAfter {v} must be seconds (a number or \"90s\")"))?;
            extras.activate_after = Some(chrono::Duration::milliseconds((seconds * 1000.0) as i64));
        }
    }
    Ok(Some(extras))
}

/// Applies the extras to a seeded certificate: a pinned state stays (unless `activateAfter`
/// says when it resolves); otherwise it activates `activateAfter` (default: the operation
/// duration) after the emulator starts.
pub(super) fn apply_scenario_extras(
    ctx: &Ctx<'_>,
    value: &mut Map<String, Value>,
    internal: &mut Value,
    extras: ScenarioExtras,
) -> Result<(), String> {
    let Some(Value::Object(managed)) = value.get_mut("managed") else {
        if extras.status.is_some() || extras.domain_status.is_some() || extras.stuck || extras.activate_after.is_some()
        {
            return Err(
                "managed.status, managed.domainStatus, stuck and activateAfter apply only to managed certificates"
                    .into(),
            );
        }
        return Ok(());
    };
    let pinned = extras.status.is_some() || extras.domain_status.is_some();
    if let Some(status) = &extras.status {
        managed.insert("status".into(), json!(status));
    }
    if let Some(given) = extras.domain_status {
        let domains: Vec<String> = managed["domains"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d.as_str().map(str::to_string))
            .collect();
        if let Some(unknown) = given.keys().find(|d| !domains.contains(d)) {
            return Err(format!("managed.domainStatus names {unknown}, which is not among managed.domains"));
        }
        if let Some(Value::Object(statuses)) = managed.get_mut("domainStatus") {
            statuses.extend(given);
        }
    }
    let activate = match (extras.stuck, pinned, extras.activate_after) {
        (true, _, _) => None,
        (false, _, Some(after)) => Some(after),
        (false, true, None) => None,
        (false, false, None) => Some(chrono::Duration::from_std(ctx.operation_duration).unwrap_or_default()),
    };
    *internal = match activate {
        Some(after) => json!({"activateAt": timestamp(ctx.now + after)}),
        None => Value::Null,
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::call;
    use super::*;
    use crate::emulator::store::Store;
    use axum::http::Method;
    use std::time::Duration;

    const SC: &str = "compute/v1/projects/p/global/sslCertificates";

    #[test]
    fn a_managed_certificate_provisions_then_activates() {
        let mut store = Store::new();
        let t0 = Utc::now();
        {
            let mut ctx = Ctx { store: &mut store, operation_duration: Duration::from_millis(100), now: t0 };
            let mut body =
                json!({"name": "c", "managed": {"domains": ["a.example.com."]}}).as_object().cloned().unwrap();
            body.remove("name");
            let internal = prepare(&ctx, &mut body).unwrap();
            assert_eq!(body["type"], "MANAGED");
            assert_eq!(body["managed"]["status"], "PROVISIONING");
            assert_eq!(body["managed"]["domainStatus"]["a.example.com."], "PROVISIONING");
            ctx.store.put(API, "projects/p/global/sslCertificates/c", Value::Object(body), internal);
            ctx.now = t0 + chrono::Duration::milliseconds(150);
            sweep(&mut ctx);
            assert_eq!(
                ctx.store.get(API, "projects/p/global/sslCertificates/c").unwrap().value["managed"]["status"],
                "PROVISIONING"
            );
            ctx.now = t0 + chrono::Duration::milliseconds(250);
            sweep(&mut ctx);
            let c = &ctx.store.get(API, "projects/p/global/sslCertificates/c").unwrap().value;
            assert_eq!(c["managed"]["status"], "PROVISIONING", "nothing serves it yet");
            assert_eq!(c["managed"]["domainStatus"]["a.example.com."], "FAILED_NOT_VISIBLE");
            // The front end: a proxy carrying the certificate, and a forwarding rule to it.
            let px = "projects/p/global/targetHttpsProxies/px";
            let cert_link = super::super::link("projects/p/global/sslCertificates/c");
            ctx.store.put(API, px, json!({"name": "px", "sslCertificates": [cert_link]}), Value::Null);
            let fr = json!({"name": "fr", "target": super::super::link(px)});
            ctx.store.put(API, "projects/p/global/forwardingRules/fr", fr, Value::Null);
            sweep(&mut ctx);
        }
        let c = &store.get(API, "projects/p/global/sslCertificates/c").unwrap().value;
        assert_eq!(c["managed"]["status"], "ACTIVE");
        assert_eq!(c["managed"]["domainStatus"]["a.example.com."], "ACTIVE");
        assert_eq!(c["subjectAlternativeNames"], json!(["a.example.com."]));
        assert!(c["expireTime"].is_string());
    }

    #[test]
    fn self_managed_keys_are_never_stored_and_certificates_are_immutable() {
        let mut store = Store::new();
        let err = call(
            &mut store,
            Method::POST,
            SC,
            json!({"name": "s", "certificate": "junk", "privateKey": "-----BEGIN PRIVATE KEY-----"}),
        )
        .unwrap_err();
        assert_eq!(err.message, "The SSL certificate could not be parsed.");
        call(
            &mut store,
            Method::POST,
            SC,
            json!({"name": "s", "certificate": "-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----",
            "privateKey": "-----BEGIN PRIVATE KEY-----\nsecret\n-----END PRIVATE KEY-----"}),
        )
        .unwrap();
        let stored = store.get(API, "projects/p/global/sslCertificates/s").unwrap();
        assert!(!stored.value.to_string().contains("secret") && stored.internal.is_null());
        assert_eq!(stored.value["type"], "SELF_MANAGED");
        assert!(call(&mut store, Method::PATCH, &format!("{SC}/s"), json!({"description": "x"})).is_err());
        assert!(call(&mut store, Method::PUT, &format!("{SC}/s"), json!({})).is_err());
        let err = call(&mut store, Method::POST, SC, json!({"name": "m", "managed": {"domains": []}})).unwrap_err();
        assert!(err.message.contains("managed.domains"), "{}", err.message);
    }

    #[test]
    fn a_scenario_can_keep_a_certificate_failing() {
        let mut store = Store::new();
        let mut ctx = Ctx { store: &mut store, operation_duration: Duration::ZERO, now: Utc::now() };
        super::super::operations::seed(
            &mut ctx,
            &json!({"sslCertificates": [
            {"project": "p", "name": "broken", "managed": {"domains": ["a.example.com", "b.example.com"],
              "domainStatus": {"b.example.com": "FAILED_NOT_VISIBLE"}}},
            {"project": "p", "name": "stuck", "managed": {"domains": ["c.example.com"]}, "stuck": true},
            {"project": "p", "name": "fine", "managed": {"domains": ["d.example.com"]}}],
            "backendServices": [{"project": "p", "name": "bs"}],
            "urlMaps": [{"project": "p", "name": "um", "defaultService": "bs"}],
            "targetHttpsProxies": [{"project": "p", "name": "px", "urlMap": "um", "sslCertificates": ["fine"]}],
            "forwardingRules": [{"project": "p", "name": "fr", "target": "global/targetHttpsProxies/px"}]}),
        )
        .unwrap();
        ctx.now += chrono::Duration::days(1);
        sweep(&mut ctx);
        let get = |n: &str| store.get(API, &format!("projects/p/global/sslCertificates/{n}")).unwrap().value.clone();
        let broken = get("broken");
        assert_eq!(broken["managed"]["status"], "PROVISIONING");
        assert_eq!(
            broken["managed"]["domainStatus"],
            json!({"a.example.com": "PROVISIONING", "b.example.com": "FAILED_NOT_VISIBLE"})
        );
        assert_eq!(get("stuck")["managed"]["status"], "PROVISIONING");
        assert_eq!(get("fine")["managed"]["status"], "ACTIVE");
        let mut ctx = Ctx { store: &mut store, operation_duration: Duration::ZERO, now: Utc::now() };
        let err = super::super::operations::seed(
            &mut ctx,
            &json!({"sslCertificates": [
            {"project": "p", "name": "x", "managed": {"domains": ["a.com"], "domainStatus": {"a.com": "BROKEN"}}}]}),
        )
        .unwrap_err();
        assert!(err.contains("BROKEN") && err.contains("sslCertificates[0] (x)"), "{err}");
    }
}
