//! compute#operation for every mutation, globalOperations (get, list, delete, wait), and the
//! compute scenario section (pre-existing resources and operations that fail).
//!
//! An operation is PENDING for the first fifth of `operation_duration`, then RUNNING, then
//! DONE with its effects applied. A failed operation is DONE too, with `error.errors[]`,
//! `httpErrorStatusCode` and `httpErrorMessage`, and changes nothing.

use serde_json::{json, Map, Value};

use super::{
    check_known_fields, link, list_response, new_id, prepare, resource_not_found, scope_path, scoped_key, valid_name,
    Collection, API, COLLECTIONS,
};
use crate::emulator::api::{ApiRequest, Ctx};
use crate::emulator::errors::{ApiError, Code};
use crate::emulator::operations::{
    self as lro, compute_metadata, compute_timestamp, Effect, NewOperation, OperationStyle, Outcome,
};
use crate::emulator::store::Store;

/// Where scenario-injected operation failures are kept (outside every `projects/` listing).
const FAILURE_PREFIX: &str = "cairn/failOperations/";

/// The caller an operation reports (the emulator has no identities).
const OPERATION_USER: &str = "user@example.com";

/// An operation's key in its scope (`projects/{p}/global` or `projects/{p}/regions/{r}`).
fn operation_key(scope: &str, name: &str) -> String {
    format!("{scope}/operations/{name}")
}

/// The scope of an object's store key: a regional object's operations are region operations.
fn scope_of(target_key: &str) -> String {
    let segs: Vec<&str> = target_key.split('/').collect();
    match segs.as_slice() {
        ["projects", p, "regions", r, ..] => format!("projects/{p}/regions/{r}"),
        ["projects", p, ..] => format!("projects/{p}/global"),
        _ => target_key.to_string(),
    }
}

/// `operation-<millis>-<13 hex>-<8 hex>-<8 hex>`, the shape of real global operation names.
fn new_operation_name(now: chrono::DateTime<chrono::Utc>) -> String {
    let r: u128 = rand::random();
    format!(
        "operation-{}-{:013x}-{:08x}-{:08x}",
        now.timestamp_millis(),
        r & 0xF_FFFF_FFFF_FFFF,
        (r >> 52) as u32,
        (r >> 84) as u32
    )
}

/// Starts the operation of a mutation of `target_key` (the effects apply when it is DONE,
/// unless a scenario failure rule matches) and returns its first rendering.
pub(super) fn start(
    ctx: &mut Ctx<'_>,
    project: &str,
    op_type: &str,
    target_key: &str,
    target_id: &str,
    effects: Vec<Effect>,
) -> Value {
    let name = new_operation_name(ctx.now);
    let scope = scope_of(target_key);
    let key = operation_key(&scope, &name);
    let mut base = Map::new();
    base.insert("kind".into(), json!("compute#operation"));
    base.insert("id".into(), json!(new_id()));
    base.insert("name".into(), json!(name));
    base.insert("operationType".into(), json!(op_type));
    base.insert("targetLink".into(), json!(link(target_key)));
    if !target_id.is_empty() {
        base.insert("targetId".into(), json!(target_id));
    }
    base.insert("user".into(), json!(OPERATION_USER));
    base.insert("insertTime".into(), json!(compute_timestamp(ctx.now)));
    base.insert("selfLink".into(), json!(link(&key)));
    if scope.contains("/regions/") {
        base.insert("region".into(), json!(link(&scope)));
    }
    let pending_for = chrono::Duration::from_std(ctx.operation_duration / 5).unwrap_or_default();
    let (outcome, effects, error_code) = match take_failure(ctx.store, project, op_type, target_key) {
        Some(f) => (Outcome::Error { code: f.code, message: f.message }, vec![], Some(f.error_code)),
        None => (Outcome::Response(Value::Null), effects, None),
    };
    lro::start(
        ctx.store,
        NewOperation {
            api: API.into(),
            name: key,
            style: OperationStyle::Compute,
            metadata: compute_metadata(Value::Object(base), ctx.now + pending_for, error_code.as_deref()),
            end_time_field: None,
            outcome,
            effects,
        },
        ctx.operation_duration,
        ctx.now,
    )
}

pub(super) fn get(ctx: &mut Ctx<'_>, scope: &str, name: &str) -> Result<Value, ApiError> {
    let key = operation_key(scope, name);
    lro::get(ctx.store, &key, ctx.now).ok_or_else(|| resource_not_found(&key))
}

pub(super) fn delete(ctx: &mut Ctx<'_>, scope: &str, name: &str) -> Result<Value, ApiError> {
    let key = operation_key(scope, name);
    match ctx.store.operations.remove(&key) {
        Some(_) => {
            ctx.store.mark_dirty();
            Ok(json!({}))
        }
        None => Err(resource_not_found(&key)),
    }
}

pub(super) fn list(ctx: &mut Ctx<'_>, req: &ApiRequest, scope: &str) -> Result<Value, ApiError> {
    let collection = format!("{scope}/operations");
    let items = lro::list(ctx.store, API, &format!("{collection}/"), ctx.now);
    list_response(req, "compute#operationList", &collection, items)
}

/// When a `wait` on this operation should be answered: when it is due (None once settled).
pub(super) fn due_time(store: &Store, scope: &str, name: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let op = store.operations.get(&operation_key(scope, name))?;
    (!op.settled).then_some(op.done_at)
}

pub(super) fn pending_puts(store: &Store) -> impl Iterator<Item = (&String, &Value)> {
    store.operations.values().filter(|op| op.api == API && !op.settled).flat_map(|op| op.effects.iter()).filter_map(
        |e| match e {
            Effect::Put { name, value, .. } => Some((name, value)),
            _ => None,
        },
    )
}

/// Whether an operation not yet DONE will create `key`.
pub(super) fn pending_insert(store: &Store, key: &str) -> bool {
    pending_puts(store).any(|(name, _)| name == key)
}

/// A resource a pending operation will write with a reference (per `holds`) to `key`.
pub(super) fn pending_writer_referencing(store: &Store, key: &str, holds: &dyn Fn(&Value) -> bool) -> Option<String> {
    pending_puts(store).find(|(name, value)| name.as_str() != key && holds(value)).map(|(name, _)| name.clone())
}

struct Failure {
    code: Code,
    error_code: String,
    message: String,
}

/// The first failure rule matching this operation; a rule with `times` is used up.
fn take_failure(store: &mut Store, project: &str, op_type: &str, target_key: &str) -> Option<Failure> {
    let (rule_key, rule) = store
        .all(API)
        .filter(|(k, _)| k.starts_with(FAILURE_PREFIX))
        .find(|(_, r)| {
            let v = &r.value;
            let rule_target = v["target"].as_str().unwrap_or_default();
            let scope = if rule_target.starts_with("regions/") { "" } else { "global/" };
            let target = format!("projects/{}/{scope}{rule_target}", v["project"].as_str().unwrap_or_default());
            v["project"] == project && v["operationType"] == op_type && target == target_key
        })
        .map(|(k, r)| (k.clone(), r.value.clone()))?;
    match rule["times"].as_i64() {
        Some(n) if n <= 1 => {
            store.remove(API, &rule_key);
        }
        Some(n) => {
            let mut left = rule.clone();
            left["times"] = json!(n - 1);
            store.put(API, &rule_key, left, Value::Null);
        }
        None => {}
    }
    let status = rule["httpStatus"].as_u64().unwrap_or(400);
    let code = match status {
        403 => Code::PermissionDenied,
        404 => Code::NotFound,
        409 => Code::AlreadyExists,
        412 => Code::FailedPrecondition,
        429 => Code::ResourceExhausted,
        500 => Code::Internal,
        503 => Code::Unavailable,
        _ => Code::InvalidArgument,
    };
    Some(Failure {
        code,
        error_code: rule["code"].as_str().unwrap_or("INVALID_ARGUMENT").to_string(),
        message: rule["message"].as_str().unwrap_or_default().to_string(),
    })
}

// ---- scenario seeding ----

/// The `compute` section of a scenario file (see `scenario.rs`).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ScenarioSection {
    #[serde(default)]
    networks: Vec<Map<String, Value>>,
    /// Each with its `region`.
    #[serde(default)]
    subnetworks: Vec<Map<String, Value>>,
    #[serde(default)]
    health_checks: Vec<Map<String, Value>>,
    #[serde(default)]
    ssl_certificates: Vec<Map<String, Value>>,
    #[serde(default)]
    backend_services: Vec<Map<String, Value>>,
    #[serde(default)]
    url_maps: Vec<Map<String, Value>>,
    #[serde(default)]
    target_https_proxies: Vec<Map<String, Value>>,
    #[serde(default)]
    forwarding_rules: Vec<Map<String, Value>>,
    #[serde(default)]
    fail_operations: Vec<FailureRule>,
}

#[derive(Debug, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FailureRule {
    project: String,
    operation_type: String,
    /// `<collection>/<name>`, e.g. `healthChecks/hc`, or for a regional collection
    /// `regions/<region>/<collection>/<name>`.
    target: String,
    code: String,
    message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    http_status: Option<u16>,
    /// How many matching operations fail (absent: all of them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    times: Option<u32>,
}

pub(super) fn seed(ctx: &mut Ctx<'_>, section: &Value) -> Result<(), String> {
    let scenario: ScenarioSection = serde_json::from_value(section.clone()).map_err(|e| format!("compute: {e}"))?;
    // Dependency order: what is referenced exists before what references it.
    let groups = [
        (super::networks::COLLECTION, &scenario.networks),
        (super::subnetworks::COLLECTION, &scenario.subnetworks),
        (super::health_checks::COLLECTION, &scenario.health_checks),
        (super::ssl_certificates::COLLECTION, &scenario.ssl_certificates),
        (super::backend_services::COLLECTION, &scenario.backend_services),
        (super::url_maps::COLLECTION, &scenario.url_maps),
        (super::target_https_proxies::COLLECTION, &scenario.target_https_proxies),
        (super::global_forwarding_rules::COLLECTION, &scenario.forwarding_rules),
    ];
    for (coll, entries) in groups {
        for (i, entry) in entries.iter().enumerate() {
            let label = entry.get("name").and_then(Value::as_str).unwrap_or("?");
            seed_resource(ctx, coll, entry.clone())
                .map_err(|e| format!("compute.{}[{i}] ({label}): {e}", coll.segment()))?;
        }
    }
    for (i, rule) in scenario.fail_operations.iter().enumerate() {
        let in_scope = match rule.target.strip_prefix("regions/").map(|t| t.split_once('/')) {
            Some(Some((region, rest))) if !region.is_empty() => Some((true, rest)),
            Some(_) => None,
            None => Some((false, rule.target.as_str())),
        };
        let known = in_scope.is_some_and(|(regional, t)| {
            let (coll, name) = t.split_once('/').unwrap_or((t, ""));
            COLLECTIONS.iter().any(|c| c.segment() == coll && c.regional() == regional) && valid_name(name)
        });
        if !known {
            let served: Vec<&str> = COLLECTIONS.iter().map(|c| c.segment()).collect();
            return Err(format!(
                "compute.failOperations[{i}]: target \"{}\" must be <collection>/<name> (regions/<region>/<collection>/<name> for a regional one) with a collection among {}",
                rule.target,
                served.join(", ")
            ));
        }
        let value = serde_json::to_value(rule).map_err(|e| e.to_string())?;
        ctx.store.put(API, &format!("{FAILURE_PREFIX}{i:04}"), value, Value::Null);
    }
    Ok(())
}

fn seed_resource(ctx: &mut Ctx<'_>, coll: Collection, mut entry: Map<String, Value>) -> Result<(), String> {
    let project = match entry.remove("project") {
        Some(Value::String(p)) if !p.is_empty() => p,
        _ => return Err("project is required".into()),
    };
    let name = match entry.remove("name") {
        Some(Value::String(n)) if valid_name(&n) => n,
        other => return Err(format!("name {} is not a valid compute name", other.unwrap_or(Value::Null))),
    };
    let region = match (coll.regional(), entry.remove("region")) {
        (false, None) => None,
        (true, Some(Value::String(r))) if !r.is_empty() => Some(r),
        (true, _) => return Err("region is required".into()),
        (false, Some(_)) => return Err(format!("{} are global: they take no region", coll.segment())),
    };
    let key = scoped_key(&project, region.as_deref(), coll, &name);
    if ctx.store.contains(API, &key) {
        return Err(format!("{key} is listed twice"));
    }
    let extras = if coll == super::ssl_certificates::COLLECTION {
        super::ssl_certificates::take_scenario_extras(&mut entry)?
    } else {
        None
    };
    // A scenario may pin what the API would otherwise make up.
    let id = entry.remove("id").and_then(|v| v.as_str().map(str::to_string)).unwrap_or_else(new_id);
    let created = entry
        .remove("creationTimestamp")
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| compute_timestamp(ctx.now));
    for output_only in ["kind", "selfLink", "fingerprint"] {
        entry.remove(output_only);
    }
    check_known_fields(coll, &entry).map_err(|e| e.message)?;
    let mut internal = prepare(ctx, &project, coll, &mut entry).map_err(|e| e.message)?;
    let mut value = Map::new();
    value.insert("kind".into(), json!(coll.kind()));
    value.insert("id".into(), json!(id));
    value.insert("creationTimestamp".into(), json!(created));
    value.insert("name".into(), json!(name));
    value.extend(entry);
    if let Some(r) = &region {
        value.insert("region".into(), json!(link(&scope_path(&project, Some(r)))));
    }
    value.insert("selfLink".into(), json!(link(&key)));
    if let Some(extras) = extras {
        super::ssl_certificates::apply_scenario_extras(ctx, &mut value, &mut internal, extras)?;
    }
    ctx.store.put(API, &key, Value::Object(value), internal);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::call;
    use super::*;
    use axum::http::Method;
    use chrono::Utc;
    use std::time::Duration;

    #[test]
    fn an_operation_goes_pending_running_done() {
        let mut store = Store::new();
        let t0 = Utc::now();
        let mut ctx = Ctx { store: &mut store, operation_duration: Duration::from_millis(100), now: t0 };
        let effect = Effect::Put {
            api: API.into(),
            name: "projects/p/global/healthChecks/hc".into(),
            value: json!({"name": "hc"}),
            internal: Value::Null,
        };
        let first = start(&mut ctx, "p", "insert", "projects/p/global/healthChecks/hc", "42", vec![effect]);
        assert_eq!(first["status"], "PENDING");
        assert_eq!(first["progress"], 0);
        assert_eq!(first["targetId"], "42");
        assert!(first.get("startTime").is_none() && first.get("endTime").is_none());
        let name = first["name"].as_str().unwrap().to_string();
        assert!(name.starts_with("operation-"));
        assert!(pending_insert(&store, "projects/p/global/healthChecks/hc"));

        let key = operation_key("projects/p/global", &name);
        let running = lro::get(&store, &key, t0 + chrono::Duration::milliseconds(50)).unwrap();
        assert_eq!(running["status"], "RUNNING");
        assert!(running.get("startTime").is_some());
        let later = t0 + chrono::Duration::milliseconds(150);
        lro::settle_due(&mut store, later);
        let done = lro::get(&store, &key, later).unwrap();
        assert_eq!((done["status"].as_str(), done["progress"].as_i64()), (Some("DONE"), Some(100)));
        assert!(done.get("error").is_none() && done.get("endTime").is_some());
        assert!(store.contains(API, "projects/p/global/healthChecks/hc"));
        assert_eq!(due_time(&store, "p", &name), None);
    }

    #[test]
    fn a_scenario_failure_rule_fails_the_operation_once_and_changes_nothing() {
        let mut store = Store::new();
        call(
            &mut store,
            Method::POST,
            "compute/v1/projects/p/global/healthChecks",
            json!({"name": "hc", "tcpHealthCheck": {}}),
        )
        .unwrap();
        {
            let mut ctx = Ctx { store: &mut store, operation_duration: Duration::ZERO, now: Utc::now() };
            seed(&mut ctx, &json!({"failOperations": [{"project": "p", "operationType": "delete", "target": "healthChecks/hc",
                "code": "RESOURCE_IN_USE_BY_ANOTHER_RESOURCE", "message": "The health_check resource 'projects/p/global/healthChecks/hc' is already being used by 'projects/p/global/backendServices/x'", "times": 1}]})).unwrap();
        }
        let op = call(&mut store, Method::DELETE, "compute/v1/projects/p/global/healthChecks/hc", Value::Null).unwrap();
        assert_eq!(op["status"], "DONE");
        assert_eq!(op["error"]["errors"][0]["code"], "RESOURCE_IN_USE_BY_ANOTHER_RESOURCE");
        assert_eq!(op["httpErrorStatusCode"], 400);
        assert_eq!(op["httpErrorMessage"], "BAD REQUEST");
        assert!(store.contains(API, "projects/p/global/healthChecks/hc"), "a failed delete deletes nothing");
        let op = call(&mut store, Method::DELETE, "compute/v1/projects/p/global/healthChecks/hc", Value::Null).unwrap();
        assert!(op.get("error").is_none(), "the rule was used up");
        assert!(!store.contains(API, "projects/p/global/healthChecks/hc"));
    }

    #[test]
    fn seeding_validates_and_links_resources() {
        let mut store = Store::new();
        let mut ctx = Ctx { store: &mut store, operation_duration: Duration::ZERO, now: Utc::now() };
        seed(
            &mut ctx,
            &json!({
                "healthChecks": [{"project": "p", "name": "hc", "httpHealthCheck": {"port": 8080}}],
                "backendServices": [{"project": "p", "name": "bs", "healthChecks": ["hc"]}]
            }),
        )
        .unwrap();
        let bs = store.get(API, "projects/p/global/backendServices/bs").unwrap();
        assert_eq!(
            bs.value["healthChecks"][0],
            format!("{}projects/p/global/healthChecks/hc", super::super::LINK_BASE)
        );
        let mut ctx = Ctx { store: &mut store, operation_duration: Duration::ZERO, now: Utc::now() };
        let err =
            seed(&mut ctx, &json!({"backendServices": [{"project": "p", "name": "bs2", "healthChecks": ["missing"]}]}))
                .unwrap_err();
        assert!(err.contains("compute.backendServices[0] (bs2)") && err.contains("was not found"), "{err}");
        let err = seed(
            &mut ctx,
            &json!({"healthChecks": [{"project": "p", "name": "x", "tcpHealthCheck": {}, "typo": 1}], "bogus": []}),
        )
        .unwrap_err();
        assert!(err.contains("bogus"), "{err}");
    }
}
