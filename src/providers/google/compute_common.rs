//! What the compute load-balancing types (and the logging sink) share: the REST JSON ↔ state
//! mapping driven by the schema, self-link normalisation, and global operations.
//!
//! State ↔ API goes through the REST JSON shape (camelCase, the SDK models' serde form), so the
//! mapping is written against the documented wire format and each type only names its
//! exceptions (renames, nested objects, ids).

use std::collections::BTreeMap;
use std::time::Duration;

use google_cloud_compute_v1::model::Operation;
use google_cloud_gax::error::Error as GaxError;
use serde_json::Value as Json;
use tokio::time::Instant;

use super::compute_collection::Place;
use super::errors::{api_error, error_text, http_status};
use super::fields::json_name;
use super::retry::{classify, deadline_error, Retry, Stop};
use super::Clients;
use crate::lang::value::Value;
use crate::providers::{CallContext, PlanProposal, ProviderError};
use crate::schema::{AttrType, Nesting, Schema};

/// The host compute self links use (they predate compute.googleapis.com).
pub const SELF_LINK_PREFIX: &str = "https://www.googleapis.com/compute/v1/";

/// A compute resource name: `[a-z]([-a-z0-9]*[a-z0-9])?`, 1 to 63 characters.
pub const NAME_PATTERN: &str = r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$";
pub const NAME_DESCRIPTION: &str =
    "1 to 63 characters: a lowercase letter first, then lowercase letters, digits or hyphens, not ending in a hyphen (e.g. \"staging-backend-service\")";

// ---------------------------------------------------------------------------------------------
// Self links and names
// ---------------------------------------------------------------------------------------------

/// `projects/p/global/healthChecks/hc` from a full or partial self link; None for a bare name
/// or a path without a project.
pub fn relative_path(link: &str) -> Option<&str> {
    let i = link.find("projects/")?;
    Some(link[i..].trim_end_matches('/'))
}

pub fn short_name(link: &str) -> &str {
    link.trim_end_matches('/').rsplit('/').next().unwrap_or(link)
}

/// The full self link of a global resource.
pub fn global_link(project: &str, collection: &str, name: &str) -> String {
    format!("{SELF_LINK_PREFIX}{}", global_id(project, collection, name))
}

/// A global resource's `id` as Terraform records it: `projects/P/global/COLLECTION/NAME`.
pub fn global_id(project: &str, collection: &str, name: &str) -> String {
    format!("projects/{project}/global/{collection}/{name}")
}

/// A regional resource's `id`: `projects/P/regions/R/COLLECTION/NAME`.
pub fn regional_id(project: &str, region: &str, collection: &str, name: &str) -> String {
    format!("projects/{project}/regions/{region}/{collection}/{name}")
}

/// The `id` of a resource in its scope: global, or the region given.
pub fn scoped_id(project: &str, region: Option<&str>, collection: &str, name: &str) -> String {
    match region {
        Some(r) => regional_id(project, r, collection, name),
        None => global_id(project, collection, name),
    }
}

/// A reference as the API wants it: a bare name becomes the project's global self link, a
/// relative path gets the host; a full link is kept.
pub fn expand_ref(project: &str, collection: &str, r: &str) -> String {
    if r.starts_with("https://") || r.starts_with("http://") {
        return r.to_string();
    }
    match relative_path(r) {
        Some(rel) => format!("{SELF_LINK_PREFIX}{rel}"),
        None if r.contains('/') => format!("{SELF_LINK_PREFIX}projects/{project}/{}", r.trim_start_matches('/')),
        None => global_link(project, collection, r),
    }
}

/// Terraform's `compareSelfLinkOrResourceName`: two references name the same resource when
/// their project paths agree, or, if either is only a name, when the names do.
pub fn same_ref(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (relative_path(a), relative_path(b)) {
        (Some(x), Some(y)) => x == y,
        _ => short_name(a) == short_name(b),
    }
}

/// Rewrites the reference strings (attributes named in `keys`, at any depth) of `new` into
/// the form `old` uses when both name the same resource, so that a name in the configuration
/// and the self link the API returns never show as a change. Lists pair by index; a set
/// element takes the form of any old element it then equals.
pub fn align_refs(new: &Value, old: &Value, keys: &[&str]) -> Value {
    align(new, old, keys, false)
}

/// [`align_refs`] against the prior state when there is one.
pub fn align_refs_to_prior(new: Value, prior: Option<&Value>, keys: &[&str]) -> Value {
    match prior {
        Some(old) => align_refs(&new, old, keys),
        None => new,
    }
}

fn align(new: &Value, old: &Value, keys: &[&str], is_ref: bool) -> Value {
    match (new, old.peel()) {
        (Value::String(n), Value::String(o)) if is_ref && same_ref(n, o) => Value::String(o.clone()),
        (Value::Map(nm), Value::Map(om)) => Value::object(
            nm.iter()
                .map(|(k, v)| {
                    let ov = om.get(k).unwrap_or(&Value::Null);
                    (k.clone(), align(v, ov, keys, keys.contains(&k.as_str())))
                })
                .collect(),
        ),
        (Value::Map(_), _) => new.clone(),
        (Value::List(ns), Value::List(os)) | (Value::List(ns), Value::Set(os)) => Value::List(
            ns.iter()
                .enumerate()
                .map(|(i, n)| os.get(i).map(|o| align(n, o, keys, is_ref)).unwrap_or_else(|| n.clone()))
                .collect(),
        ),
        (Value::Set(ns), Value::Set(os)) | (Value::Set(ns), Value::List(os)) => {
            // An element pairs with an old one it equals once aligned, where a value not known
            // yet (a plan's computed attributes) matches anything.
            let items = ns
                .iter()
                .map(|n| {
                    for o in os {
                        let a = align(n, o, keys, is_ref);
                        if same_but_unknowns(&a, o) {
                            return a;
                        }
                    }
                    n.clone()
                })
                .collect();
            Value::set(items)
        }
        _ => new.clone(),
    }
}

/// Equality where an unknown on either side matches anything.
fn same_but_unknowns(a: &Value, b: &Value) -> bool {
    match (a.peel(), b.peel()) {
        (Value::Unknown(_), _) | (_, Value::Unknown(_)) => true,
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same_but_unknowns(v, w)))
        }
        (Value::List(x), Value::List(y)) | (Value::Set(x), Value::Set(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same_but_unknowns(v, w))
        }
        _ => a == b,
    }
}

// ---------------------------------------------------------------------------------------------
// State ↔ REST JSON
// ---------------------------------------------------------------------------------------------

/// A type's exceptions to the camelCase rule: (attribute or block name, JSON key). An empty
/// JSON key means "not on the wire" (Terraform-only or handled by hand). A block is looked up
/// as `name[]` first, so a block and an attribute of the same name can map differently
/// (`path_matcher[]` → `pathMatchers`, `path_matcher` → `pathMatcher`).
pub type Renames = &'static [(&'static str, &'static str)];

fn block_key(name: &str, renames: Renames) -> Option<String> {
    let qualified = format!("{name}[]");
    match renames.iter().find(|(n, _)| *n == qualified) {
        Some((_, "")) => None,
        Some((_, k)) => Some(k.to_string()),
        None => wire_key(name, renames),
    }
}

fn wire_key(name: &str, renames: Renames) -> Option<String> {
    match renames.iter().find(|(n, _)| *n == name) {
        Some((_, "")) => None,
        Some((_, k)) => Some(k.to_string()),
        None => Some(json_name(name)),
    }
}

/// `planned` with the configuration's write-only arguments (`X_wo`), which a plan never holds,
/// for building the create or update request. Single and list blocks pair by index.
pub fn with_write_only(schema: &Schema, planned: &Value, config: &Value) -> Value {
    let mut out = planned.clone();
    let Some(m) = out.map_mut() else { return out };
    for (name, a) in &schema.attributes {
        if let Some(v) = config.get(name).filter(|v| a.write_only && !v.is_null()) {
            m.insert(name.to_string(), v.clone());
        }
    }
    for (name, bt) in &schema.blocks {
        if bt.nesting == Nesting::Set {
            continue;
        }
        let (Some(Value::List(ps)), Some(cs)) = (m.get(*name), config.get(name).and_then(Value::as_list)) else {
            continue;
        };
        let items = ps
            .iter()
            .enumerate()
            .map(|(i, p)| cs.get(i).map_or_else(|| p.clone(), |c| with_write_only(&bt.block, p, c)))
            .collect();
        m.insert(name.to_string(), Value::List(items));
    }
    out
}

/// The request JSON for the configurable (non computed-only) attributes and blocks of `v`.
/// Unknown and null values are left out.
pub fn to_wire(schema: &Schema, v: &Value, renames: Renames) -> Json {
    let mut out = serde_json::Map::new();
    for (name, a) in &schema.attributes {
        // Write-only arguments are null in a plan; they reach here only through
        // [`with_write_only`], for the request that sends them.
        if !(a.required || a.optional) {
            continue;
        }
        let Some(key) = wire_key(name, renames) else { continue };
        if let Some(x) = v.get(name).map(Value::peel).filter(|x| !x.is_null() && x.is_wholly_known()) {
            out.insert(key, scalar_to_json(x));
        }
    }
    for (name, bt) in &schema.blocks {
        let Some(key) = block_key(name, renames) else { continue };
        let items: Vec<Json> = v
            .get(name)
            .and_then(Value::as_list)
            .unwrap_or(&[])
            .iter()
            .filter(|x| !x.is_unknown())
            .map(|x| to_wire(&bt.block, x, renames))
            .collect();
        match bt.nesting {
            Nesting::Single => {
                if let Some(first) = items.into_iter().next() {
                    out.insert(key, first);
                }
            }
            Nesting::List | Nesting::Set => {
                if !items.is_empty() {
                    out.insert(key, Json::Array(items));
                }
            }
        }
    }
    Json::Object(out)
}

fn scalar_to_json(v: &Value) -> Json {
    match v.peel() {
        Value::Null | Value::Unknown(_) => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        // Exact for every 64-bit integer (ids, sizes).
        Value::Number(n) => n.to_json(),
        Value::String(s) => Json::String(s.clone()),
        Value::List(xs) | Value::Set(xs) => Json::Array(xs.iter().map(scalar_to_json).collect()),
        Value::Map(m) => Json::Object(m.iter().map(|(k, v)| (k.clone(), scalar_to_json(v))).collect()),
        Value::Sensitive(_) => Json::Null,
    }
}

/// Terraform's zero values: for the provider an optional argument left unset and one set to
/// `0`, `false` or `""` are the same, and the API omits zero values (or returns them for
/// unset fields). So for an optional, non-computed attribute without a default, a zero value
/// read from the API (`new`) takes `prior`'s spelling (the state or plan: null or the zero it
/// configured), or null without one. Single and list blocks pair by index; set blocks are left
/// alone (their items have no stable pairing).
pub fn zero_values_as_prior(schema: &Schema, new: Value, prior: Option<&Value>) -> Value {
    fn is_zero(v: &Value) -> bool {
        match v.peel() {
            Value::Null => true,
            Value::Bool(b) => !b,
            Value::Number(n) => n.is_zero(),
            Value::String(s) => s.is_empty(),
            _ => false,
        }
    }
    let mut new = new;
    let Some(m) = new.map_mut() else { return new };
    for (name, a) in &schema.attributes {
        if !a.optional || a.computed || a.default.is_some() || !m.get(*name).is_some_and(is_zero) {
            continue;
        }
        let before = prior.and_then(|p| p.get(name)).filter(|p| is_zero(p)).cloned().unwrap_or(Value::Null);
        m.insert(name.to_string(), before);
    }
    for (name, bt) in &schema.blocks {
        if bt.nesting == Nesting::Set {
            continue;
        }
        let Some(Value::List(ns)) = m.get(*name) else { continue };
        let ps = prior.and_then(|p| p.get(name)).and_then(Value::as_list).unwrap_or(&[]);
        let items = ns.iter().enumerate().map(|(i, n)| zero_values_as_prior(&bt.block, n.clone(), ps.get(i))).collect();
        m.insert(name.to_string(), Value::List(items));
    }
    new
}

/// The state value for an API object: every attribute and block of `schema` read from its
/// JSON key. What the API leaves out (rule 3 of the wire notes: defaults and false booleans
/// are omitted) takes the schema default; empty strings read as null, since the API returns
/// `""` for an unset description.
pub fn from_wire(schema: &Schema, j: &Json, renames: Renames) -> Value {
    let mut m = BTreeMap::new();
    for (name, a) in &schema.attributes {
        // A write-only argument shares its API field with its stored twin (`X_wo` and `X`),
        // and is never stored itself.
        let Some(key) = wire_key(name, renames).filter(|_| !a.write_only) else {
            m.insert(name.to_string(), Value::Null);
            continue;
        };
        let v = match j.get(&key) {
            Some(x) if !x.is_null() => json_to_value(x, &a.ty),
            _ => Value::Null,
        };
        let v = match (&v, &a.default) {
            (Value::Null, Some(d)) => d.clone(),
            (Value::String(s), _) if s.is_empty() => a.default.clone().unwrap_or(Value::Null),
            _ => v,
        };
        m.insert(name.to_string(), v);
    }
    for (name, bt) in &schema.blocks {
        let raw: Vec<&Json> = match block_key(name, renames).and_then(|k| j.get(&k)) {
            Some(Json::Array(xs)) => xs.iter().collect(),
            Some(o @ Json::Object(_)) => vec![o],
            _ => Vec::new(),
        };
        let items: Vec<Value> = raw.into_iter().map(|x| from_wire(&bt.block, x, renames)).collect();
        m.insert(name.to_string(), if bt.nesting == Nesting::Set { Value::set(items) } else { Value::List(items) });
    }
    Value::object(m)
}

/// The SDK models hold the API's `float` fields as `f32`, so `0.8` comes back as
/// `0.800000011920929`: a number that is exactly an `f32` reads as that `f32`'s shortest
/// decimal. (An `f64` the API really sent is either not an exact `f32`, or has the same
/// shortest form, so it is unchanged.)
fn from_f32(x: f64) -> f64 {
    let narrow = x as f32;
    if f64::from(narrow) != x || x.fract() == 0.0 {
        return x;
    }
    narrow.to_string().parse().unwrap_or(x)
}

pub fn json_to_value(j: &Json, ty: &AttrType) -> Value {
    match (j, ty) {
        (Json::Null, _) => Value::Null,
        (Json::Bool(b), _) => Value::Bool(*b),
        (Json::Number(n), AttrType::String) => Value::string(n.to_string()),
        (Json::Number(n), _) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Value::from(i),
            (_, Some(u)) => Value::from(u),
            _ => n.as_f64().map(|x| Value::from(from_f32(x))).unwrap_or(Value::Null),
        },
        // int64 fields travel as strings: read exactly (a 64-bit id keeps every digit).
        (Json::String(s), AttrType::Number) => {
            crate::lang::number::Number::parse(s).map(Value::Number).unwrap_or_else(|_| Value::string(s.clone()))
        }
        (Json::String(s), _) => Value::string(s.clone()),
        (Json::Array(xs), AttrType::Set(t)) => Value::set(xs.iter().map(|x| json_to_value(x, t)).collect()),
        (Json::Array(xs), AttrType::List(t)) => Value::List(xs.iter().map(|x| json_to_value(x, t)).collect()),
        (Json::Array(xs), _) => Value::List(xs.iter().map(|x| json_to_value(x, &AttrType::Dynamic)).collect()),
        (Json::Object(o), AttrType::Map(t)) => {
            Value::object(o.iter().map(|(k, v)| (k.clone(), json_to_value(v, t))).collect())
        }
        (Json::Object(_), _) => Value::from_json(j),
    }
}

/// The start of every compute type's state: the API object in Terraform's attribute names,
/// with `project` and the `id` Terraform gives it. The REST JSON comes back too, for the
/// fields each type maps itself.
pub fn state_from_model<T: serde::Serialize>(
    schema: &Schema,
    renames: Renames,
    project: &str,
    collection: &str,
    m: &T,
) -> (Json, Value) {
    use super::fields::set;
    let j = model_json(m);
    let mut v = from_wire(schema, &j, renames);
    set(&mut v, "project", Value::string(project));
    set(&mut v, "id", Value::string(global_id(project, collection, jstr(&j, "name"))));
    (j, v)
}

/// An SDK model as its REST JSON.
pub fn model_json<T: serde::Serialize>(m: &T) -> Json {
    serde_json::to_value(m).unwrap_or(Json::Null)
}

/// REST JSON as an SDK model (for a request body).
pub fn json_model<T: serde::de::DeserializeOwned>(j: Json, type_name: &str) -> Result<T, ProviderError> {
    serde_json::from_value(j)
        .map_err(|e| ProviderError::new(format!("{type_name}: cannot build the request body: {e}")))
}

/// A string field of a JSON object, or "".
pub fn jstr<'a>(j: &'a Json, key: &str) -> &'a str {
    j.get(key).and_then(Json::as_str).unwrap_or("")
}

/// The body of a proxy's `setUrlMap`: the planned URL map as a full link.
pub fn url_map_reference(
    planned: &Value,
    project: &str,
    type_name: &str,
) -> Result<google_cloud_compute_v1::model::UrlMapReference, ProviderError> {
    let url_map = super::fields::required_string(planned, "url_map", type_name)?;
    json_model(serde_json::json!({"urlMap": expand_ref(project, "urlMaps", &url_map)}), type_name)
}

/// An int64 id, which the API sends as a string.
pub fn jid(j: &Json, key: &str) -> Value {
    match j.get(key) {
        Some(Json::String(s)) if !s.is_empty() => Value::string(s.clone()),
        Some(Json::Number(n)) => Value::string(n.to_string()),
        _ => Value::Null,
    }
}

// ---------------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------------

/// A mutating compute call: sent with a request id so that resending after an ambiguous
/// failure is idempotent, then waited on until the global operation is DONE. Returns the
/// finished operation; a failed operation is an error naming `method` and the API's message.
pub async fn mutate<F, Fut>(
    c: &Clients,
    ctx: &CallContext,
    project: &str,
    method: &str,
    call: F,
) -> Result<Operation, ProviderError>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = Result<Operation, GaxError>>,
{
    mutate_in(c, ctx, Place { project, region: None }, method, call).await
}

/// [`mutate`] in a scope: a regional object's operations are region operations.
pub async fn mutate_in<F, Fut>(
    c: &Clients,
    ctx: &CallContext,
    at: Place<'_>,
    method: &str,
    mut call: F,
) -> Result<Operation, ProviderError>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = Result<Operation, GaxError>>,
{
    let deadline = Instant::now() + ctx.timeout;
    let request_id = uuid::Uuid::new_v4().to_string();
    let calls = &c.compute_calls;
    let mut last = None;
    let mut op = None;
    for attempt in 0u32.. {
        match calls.attempt(deadline, call(request_id.clone())).await {
            Ok(o) => {
                op = Some(o);
                break;
            }
            Err(Stop::Failed(e)) => match classify(&e) {
                Retry::Permanent => return Err(compute_error(method, &e)),
                // The request id makes a resend of the same request a no-op on the server.
                Retry::Ambiguous | Retry::NotProcessed => last = Some(e),
            },
            Err(Stop::Deadline(_)) => return Err(deadline_error(method, ctx.timeout, last.as_ref())),
        }
        if !calls.pause(attempt, deadline).await {
            return Err(deadline_error(method, ctx.timeout, last.as_ref()));
        }
    }
    let Some(op) = op else { return Err(deadline_error(method, ctx.timeout, last.as_ref())) };
    wait(c, ctx, at, method, op, deadline).await
}

fn is_done(op: &Operation) -> bool {
    matches!(model_json(&op.status).as_str(), Some("DONE"))
}

/// Polls the global operation (`globalOperations.wait`, which blocks server-side for up to
/// two minutes, falling back to `get`; `regionOperations.*` for a regional object) until DONE
/// or the deadline.
pub async fn wait(
    c: &Clients,
    ctx: &CallContext,
    at: Place<'_>,
    method: &str,
    mut op: Operation,
    deadline: Instant,
) -> Result<Operation, ProviderError> {
    let name = op.name.clone().unwrap_or_default();
    let target = op.target_link.clone().map(|t| short_name(&t).to_string()).unwrap_or_default();
    let mut use_get = false;
    let mut attempt = 0u32;
    while !is_done(&op) {
        if name.is_empty() {
            return Err(ProviderError::new(format!(
                "{method} returned an operation without a name; cannot wait for it"
            ))
            .method(method));
        }
        let state = model_json(&op.status);
        (ctx.progress)(&format!(
            "waiting for operation {name} on {target} (state {})",
            state.as_str().unwrap_or("PENDING")
        ));
        let project = at.project;
        let poll = match (at.region, use_get) {
            (None, true) => {
                c.compute_calls
                    .attempt(
                        deadline,
                        c.compute.global_operations.get().set_project(project).set_operation(name.clone()).send(),
                    )
                    .await
            }
            (None, false) => {
                c.compute_calls
                    .attempt(
                        deadline,
                        c.compute.global_operations.wait().set_project(project).set_operation(name.clone()).send(),
                    )
                    .await
            }
            (Some(region), true) => {
                let get = c.compute.region_operations.get().set_project(project).set_region(region);
                c.compute_calls.attempt(deadline, get.set_operation(name.clone()).send()).await
            }
            (Some(region), false) => {
                let wait = c.compute.region_operations.wait().set_project(project).set_region(region);
                c.compute_calls.attempt(deadline, wait.set_operation(name.clone()).send()).await
            }
        };
        match poll {
            Ok(o) => op = o,
            // Servers without `wait` (some emulators) answer 404/405/501 to the POST.
            Err(Stop::Failed(e)) if !use_get && matches!(http_status(&e), Some(404 | 405 | 501)) => use_get = true,
            // A 404 on GET operation is "not visible yet", as in Terraform's waiter.
            Err(Stop::Failed(e)) if use_get && http_status(&e) == Some(404) => {}
            Err(Stop::Failed(e)) if classify(&e) != Retry::Permanent => {}
            Err(Stop::Failed(e)) => {
                let get =
                    if at.region.is_some() { "compute.regionOperations.get" } else { "compute.globalOperations.get" };
                return Err(compute_error(get, &e));
            }
            Err(Stop::Deadline(_)) => return Err(operation_timeout(method, &name, ctx.timeout)),
        }
        if !is_done(&op) {
            if !c.compute_calls.pause(attempt.min(6), deadline).await {
                return Err(operation_timeout(method, &name, ctx.timeout));
            }
            attempt += 1;
        }
    }
    match operation_error(method, &op) {
        Some(e) => Err(e),
        None => Ok(op),
    }
}

fn operation_timeout(method: &str, name: &str, timeout: Duration) -> ProviderError {
    let limit = humantime::format_duration(Duration::from_secs(timeout.as_secs().max(1)));
    ProviderError {
        method: Some(method.to_string()),
        message: format!("operation {name} was not done within {limit} (the resource's timeout); it may still finish — raise the timeout with a `timeouts` block and apply again"),
        retryable: true,
        not_found: false,
        already_exists: false,
    }
}

/// The error of a finished operation (the SDK's poller would report it as success).
pub fn operation_error(method: &str, op: &Operation) -> Option<ProviderError> {
    let j = model_json(op);
    let errors = j.pointer("/error/errors").and_then(Json::as_array).cloned().unwrap_or_default();
    let http = j.get("httpErrorStatusCode").and_then(Json::as_i64);
    if errors.is_empty() && http.is_none_or(|h| h < 400) {
        return None;
    }
    let mut parts: Vec<String> = errors
        .iter()
        .map(|e| {
            let code = jstr(e, "code");
            let msg = jstr(e, "message");
            if code.is_empty() {
                msg.to_string()
            } else {
                format!("{msg} ({code})")
            }
        })
        .filter(|s| !s.is_empty())
        .collect();
    if parts.is_empty() {
        parts.push(jstr(&j, "httpErrorMessage").to_string());
    }
    let codes: Vec<&str> = errors.iter().map(|e| jstr(e, "code")).collect();
    let mut message = parts.join("; ");
    if codes.contains(&"RESOURCE_IN_USE_BY_ANOTHER_RESOURCE") {
        message.push_str(IN_USE_ADVICE);
    }
    if let Some(h) = http {
        message.push_str(&format!(" (HTTP {h})"));
    }
    let retryable = codes.iter().any(|c| matches!(*c, "RESOURCE_NOT_READY" | "QUOTA_EXCEEDED"));
    Some(ProviderError {
        method: Some(method.to_string()),
        message,
        retryable,
        not_found: http == Some(404),
        already_exists: http == Some(409) || codes.contains(&"ALREADY_EXISTS"),
    })
}

const IN_USE_ADVICE: &str = "; the resource is still referenced by the one named above: change or remove that reference first \
     (with `lifecycle { create_before_destroy = true }` Cairn creates the replacement and repoints users before deleting)";

/// A compute API error, with advice for "in use by another resource".
pub fn compute_error(method: &str, e: &GaxError) -> ProviderError {
    let mut err = api_error(method, e);
    let text = error_text(e);
    if text.contains("resourceInUseByAnotherResource") || text.contains("RESOURCE_IN_USE_BY_ANOTHER_RESOURCE") {
        err.message.push_str(IN_USE_ADVICE);
    }
    err
}

/// Deletes through `call`; an object already gone is success.
pub async fn delete<F, Fut>(
    c: &Clients,
    ctx: &CallContext,
    project: &str,
    method: &str,
    call: F,
) -> Result<(), ProviderError>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = Result<Operation, GaxError>>,
{
    delete_in(c, ctx, Place { project, region: None }, method, call).await
}

/// [`delete`] in a scope (see [`mutate_in`]).
pub async fn delete_in<F, Fut>(
    c: &Clients,
    ctx: &CallContext,
    at: Place<'_>,
    method: &str,
    call: F,
) -> Result<(), ProviderError>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = Result<Operation, GaxError>>,
{
    match mutate_in(c, ctx, at, method, call).await {
        Ok(_) => Ok(()),
        Err(e) if e.not_found => Ok(()),
        Err(e) => Err(e),
    }
}

/// The (project, name) a compute object is found by.
pub fn identity(v: &Value) -> Option<(String, String)> {
    Some((project_of(v)?, super::fields::string(v, "name")?))
}

/// The project of a state value: its `project`, else the one in its self link.
pub fn project_of(v: &Value) -> Option<String> {
    if let Some(p) = v.get("project").and_then(Value::as_str).filter(|s| !s.is_empty()) {
        return Some(p.to_string());
    }
    let link = v.get("self_link").and_then(Value::as_str)?;
    let rel = relative_path(link)?;
    rel.split('/').nth(1).map(str::to_string)
}

/// Groups read requests by project: (project → request indexes), and the name of each.
pub fn by_project(reqs: &[crate::providers::ReadRequest]) -> (BTreeMap<String, Vec<usize>>, Vec<Option<String>>) {
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut names = Vec::with_capacity(reqs.len());
    for (i, r) in reqs.iter().enumerate() {
        let name = r.prior.get("name").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
        if let (Some(p), Some(_)) = (project_of(&r.prior), &name) {
            groups.entry(p).or_default().push(i);
        }
        names.push(name);
    }
    (groups, names)
}

/// An in-place update gives a fingerprinted object a new fingerprint: unknown until the API
/// answers. Compared after reference alignment, so a name written as a self link is no change.
/// A secret the state holds only as a fingerprint is a change only where the engine, which
/// can compare fingerprints, found one (`p.changed`).
pub fn plan_fingerprint(p: &mut PlanProposal) {
    fn withheld(v: &Value, path: &crate::addr::AttrPath) -> bool {
        use crate::addr::PathStep;
        let at = path.0.iter().try_fold(v, |v, step| match step {
            PathStep::Attr(name) => v.peel().get(name),
            PathStep::Index(i) => v.peel().as_list().and_then(|l| l.get(usize::try_from(*i).ok()?)),
        });
        matches!(at.map(Value::peel), Some(Value::Unknown(crate::lang::value::Unknown::Withheld { .. })))
    }
    let changing = p.prior.as_ref().is_some_and(|prior| {
        crate::schema::diff::changed_paths(prior, &p.planned)
            .iter()
            .any(|path| !withheld(prior, path) || p.changed.contains(path))
    });
    if changing && p.requires_replace.is_empty() {
        if let Some(m) = p.planned.map_mut() {
            m.insert("fingerprint".into(), Value::unknown());
        }
    }
}

/// Refresh for a compute collection: one listing per project (`list`), each request matched by
/// name and turned into state (`to_state(project, object, prior)`); a missing object is `None`.
pub async fn read_by_project<T, L, Fut>(
    reqs: &[crate::providers::ReadRequest],
    mut list: L,
    to_state: impl Fn(&str, &T, &Value) -> Value,
) -> Result<Vec<Option<Value>>, ProviderError>
where
    L: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = Result<Option<BTreeMap<String, T>>, ProviderError>>,
{
    let (groups, names) = by_project(reqs);
    let mut out = vec![None; reqs.len()];
    for (project, idxs) in groups {
        let Some(live) = list(project.clone()).await? else { continue };
        for i in idxs {
            let Some(name) = &names[i] else { continue };
            out[i] = live.get(name).map(|x| to_state(&project, x, &reqs[i].prior));
        }
    }
    Ok(out)
}

/// Parses a regional compute import id, as the provider's import formats:
/// `projects/{p}/regions/{r}/{collection}/{name}` (or a self link), `{p}/{r}/{name}`,
/// `{r}/{name}` and `{name}` (the region and project from the provider).
pub fn parse_regional_import_id(
    id: &str,
    collection: &str,
    default_project: Option<&str>,
    default_region: Option<&str>,
) -> Result<(String, String, String), ProviderError> {
    let form = format!("projects/PROJECT/regions/REGION/{collection}/NAME");
    let owned = |p: &str, r: &str, n: &str| (p.to_string(), r.to_string(), n.to_string());
    if let Some(rel) = relative_path(id) {
        let parts: Vec<&str> = rel.split('/').collect();
        if let ["projects", p, "regions", r, coll, n] = parts.as_slice() {
            if *coll == collection && !p.is_empty() && !r.is_empty() && !n.is_empty() {
                return Ok(owned(p, r, n));
            }
        }
        return Err(ProviderError::new(format!("import id \"{id}\" is not {form}")));
    }
    let parts: Vec<&str> = id.split('/').collect();
    if parts.iter().any(|x| x.is_empty()) {
        return Err(ProviderError::new(format!(
            "import id \"{id}\" is not {form}, PROJECT/REGION/NAME, REGION/NAME or NAME"
        )));
    }
    let missing = |what: &str| {
        ProviderError::new(format!("import id \"{id}\" names no {what} and the provider has none; use {form}"))
    };
    match parts.as_slice() {
        [p, r, n] => Ok(owned(p, r, n)),
        [r, n] => Ok(owned(default_project.ok_or_else(|| missing("project"))?, r, n)),
        [n] => Ok(owned(
            default_project.ok_or_else(|| missing("project"))?,
            default_region.ok_or_else(|| missing("region"))?,
            n,
        )),
        _ => Err(ProviderError::new(format!(
            "import id \"{id}\" is not {form}, PROJECT/REGION/NAME, REGION/NAME or NAME"
        ))),
    }
}

/// Parses a compute import id: a self link, `projects/{p}/global/{collection}/{name}`,
/// `{p}/{name}` or `{name}`.
pub fn parse_import_id(
    id: &str,
    collection: &str,
    default_project: Option<&str>,
) -> Result<(String, String), ProviderError> {
    if let Some(rel) = relative_path(id) {
        let parts: Vec<&str> = rel.split('/').collect();
        if let ["projects", p, "global", coll, n] = parts.as_slice() {
            if *coll == collection && !p.is_empty() && !n.is_empty() {
                return Ok((p.to_string(), n.to_string()));
            }
        }
        return Err(ProviderError::new(format!("import id \"{id}\" is not projects/PROJECT/global/{collection}/NAME")));
    }
    let parts: Vec<&str> = id.split('/').collect();
    match parts.as_slice() {
        [p, n] if !p.is_empty() && !n.is_empty() => Ok((p.to_string(), n.to_string())),
        [n] if !n.is_empty() => match default_project {
            Some(p) => Ok((p.to_string(), n.to_string())),
            None => Err(ProviderError::new(format!("import id \"{id}\" names no project and the provider has none; use projects/PROJECT/global/{collection}/{id}"))),
        },
        _ => Err(ProviderError::new(format!("import id \"{id}\" is not projects/PROJECT/global/{collection}/NAME, PROJECT/NAME or NAME"))),
    }
}

/// Fills `project` from the provider and `id`/`self_link` from the name at plan time, as
/// Terraform shows them known.
pub fn plan_identity(p: &mut crate::providers::PlanProposal, shared: &super::Shared, collection: &str) {
    plan_identity_in(p, shared, collection, false)
}

/// [`plan_identity`] for a global or (`regional`) a regional collection, whose objects are
/// named by their `region` too (a name or a region link); an unknown region leaves them
/// unknown.
pub fn plan_identity_in(
    p: &mut crate::providers::PlanProposal,
    shared: &super::Shared,
    collection: &str,
    regional: bool,
) {
    use super::fields::{set, string};
    shared.fill_project(&mut p.planned);
    let region = string(&p.planned, "region").map(|r| short_name(&r).to_string());
    if regional && region.is_none() {
        return;
    }
    if let (Some(project), Some(name)) = (string(&p.planned, "project"), string(&p.planned, "name")) {
        let id = scoped_id(&project, region.as_deref(), collection, &name);
        if p.planned.get("id").is_some_and(Value::is_unknown) {
            set(&mut p.planned, "id", Value::string(id.clone()));
        }
        if p.planned.get("self_link").is_some_and(Value::is_unknown) {
            set(&mut p.planned, "self_link", Value::string(format!("{SELF_LINK_PREFIX}{id}")));
        }
    }
}

/// Non-authoritative labels changed through `setLabels` (Terraform's `labels`,
/// `effective_labels`, `terraform_labels` and `label_fingerprint`): when the configured labels
/// change (or the object is new), the effective labels are the prior ones with the managed keys
/// replaced, and an in-place change gives a new fingerprint.
pub fn plan_labels(p: &mut PlanProposal) {
    use super::fields::{self, set};
    let replacing = p.prior.is_none() || !p.requires_replace.is_empty();
    let prior = if replacing { None } else { p.prior.clone() };
    let labels_changed = replacing
        || prior.as_ref().is_some_and(|prior| {
            !crate::schema::diff::values_equal(
                prior.get("labels").unwrap_or(&Value::Null),
                p.planned.get("labels").unwrap_or(&Value::Null),
            )
        });
    if !labels_changed {
        return;
    }
    let configured = p.planned.get("labels").cloned();
    let effective = fields::effective_after(
        prior.as_ref().and_then(|x| x.get("effective_labels")),
        prior.as_ref().and_then(|x| x.get("labels")),
        configured.as_ref(),
    );
    set(&mut p.planned, "effective_labels", effective);
    let terraform_labels = configured.filter(|v| v.as_map().is_some()).unwrap_or(Value::object(BTreeMap::new()));
    set(&mut p.planned, "terraform_labels", terraform_labels);
    if !replacing {
        set(&mut p.planned, "label_fingerprint", Value::unknown());
    }
}

/// A reference-valued plan: when the configuration names the same resources as the prior
/// state (a name against a self link), keep the prior's form, and drop the replacement it
/// would otherwise cause.
pub fn plan_align_refs(p: &mut crate::providers::PlanProposal, schema: &Schema, keys: &[&str]) {
    let Some(prior) = p.prior.clone() else { return };
    p.planned = align_refs(&p.planned, &prior, keys);
    let planned = p.planned.clone();
    p.requires_replace.retain(|path| {
        let top = path.top().unwrap_or_default();
        !crate::schema::diff::values_equal(
            planned.get(top).unwrap_or(&Value::Null),
            prior.get(top).unwrap_or(&Value::Null),
        )
    });
    let _ = schema;
}

/// Whether an error's text says the object is in use by another resource.
pub fn is_in_use(e: &ProviderError) -> bool {
    e.message.contains("resourceInUseByAnotherResource")
        || e.message.contains("RESOURCE_IN_USE_BY_ANOTHER_RESOURCE")
        || e.message.contains("already being used by")
}

/// Every object of one compute collection in a project, by name, following pages (one list
/// call per page: refresh never GETs objects one by one). `None` when the project is not found.
pub async fn list_by_name<T, F, Fut>(
    mut fetch: F,
    name: impl Fn(&T) -> Option<String>,
) -> Result<Option<BTreeMap<String, T>>, ProviderError>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, Option<String>), ProviderError>>,
{
    let mut out = BTreeMap::new();
    let mut token = String::new();
    loop {
        let (items, next) = match fetch(token.clone()).await {
            Ok(page) => page,
            Err(e) if e.not_found => return Ok(None),
            Err(e) => return Err(e),
        };
        for x in items {
            if let Some(n) = name(&x) {
                out.insert(n, x);
            }
        }
        match next.filter(|t| !t.is_empty()) {
            Some(t) => token = t,
            None => return Ok(Some(out)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compute_ids_keep_all_64_bits() {
        // Compute sends uint64 ids as strings, and some as JSON numbers: neither may round to
        // the nearest f64 (9007199254740993 would become ...992).
        let from_string = json_to_value(&Json::from("9007199254740993"), &AttrType::Number);
        assert_eq!(from_string.as_u64(), Some(9_007_199_254_740_993));
        let from_number = json_to_value(&serde_json::json!(18446744073709551615u64), &AttrType::Number);
        assert_eq!(from_number.as_u64(), Some(u64::MAX));
        assert_eq!(scalar_to_json(&from_string).to_string(), "9007199254740993");
        assert_eq!(scalar_to_json(&from_number).to_string(), "18446744073709551615");
    }

    #[test]
    fn names_and_self_links_compare_by_resource() {
        let link = "https://www.googleapis.com/compute/v1/projects/p/global/healthChecks/hc";
        assert!(same_ref(link, "hc"));
        assert!(same_ref(link, "projects/p/global/healthChecks/hc"));
        assert!(same_ref("https://compute.googleapis.com/compute/v1/projects/p/global/healthChecks/hc", link));
        assert!(!same_ref(link, "projects/q/global/healthChecks/hc"));
        assert!(!same_ref(link, "other"));
        assert_eq!(expand_ref("p", "healthChecks", "hc"), link);
        assert_eq!(expand_ref("p", "healthChecks", "projects/p/global/healthChecks/hc"), link);
        assert_eq!(expand_ref("p", "healthChecks", "global/healthChecks/hc"), link);
        assert_eq!(expand_ref("p", "healthChecks", link), link);
        assert_eq!(short_name(link), "hc");
    }

    #[test]
    fn aligning_keeps_the_configured_form() {
        let link = "https://www.googleapis.com/compute/v1/projects/p/global/backendServices/api";
        let live = Value::map([
            ("default_service", Value::from(link)),
            (
                "health_checks",
                Value::set(vec![Value::from(
                    "https://www.googleapis.com/compute/v1/projects/p/global/healthChecks/hc",
                )]),
            ),
            (
                "path_matcher",
                Value::List(vec![Value::map([("default_service", Value::from(link)), ("name", Value::from("m"))])]),
            ),
            ("description", Value::from(link)),
        ]);
        let prior = Value::map([
            ("default_service", Value::from("api")),
            ("health_checks", Value::set(vec![Value::from("hc")])),
            (
                "path_matcher",
                Value::List(vec![Value::map([
                    ("default_service", Value::from("projects/p/global/backendServices/api")),
                    ("name", Value::from("m")),
                ])]),
            ),
            ("description", Value::from("api")),
        ]);
        let a = align_refs(&live, &prior, &["default_service", "health_checks"]);
        assert_eq!(a.get("default_service"), Some(&Value::from("api")));
        assert_eq!(a.get("health_checks"), Some(&Value::set(vec![Value::from("hc")])));
        assert_eq!(
            a.get("path_matcher").and_then(|l| l.as_list()).and_then(|l| l[0].get("default_service")),
            Some(&Value::from("projects/p/global/backendServices/api"))
        );
        assert_eq!(a.get("description"), Some(&Value::from(link)), "only reference attributes are aligned");
        // A different resource is a real change.
        let moved = Value::map([(
            "default_service",
            Value::from("https://www.googleapis.com/compute/v1/projects/p/global/backendServices/auth"),
        )]);
        assert_eq!(
            align_refs(&moved, &prior, &["default_service"]).get("default_service").and_then(Value::as_str),
            Some("https://www.googleapis.com/compute/v1/projects/p/global/backendServices/auth")
        );
    }

    #[test]
    fn camel_case_and_wire_round_trip() {
        assert_eq!(json_name("check_interval_sec"), "checkIntervalSec");
        assert_eq!(json_name("http2_health_check"), "http2HealthCheck");
        use crate::schema::{Attribute, BlockType};
        let s = Schema::new()
            .attr("timeout_sec", Attribute::optional(AttrType::Number).default(5))
            .attr("description", Attribute::optional(AttrType::String))
            .attr("self_link", Attribute::computed(AttrType::String))
            .block(
                "log_config",
                BlockType {
                    nesting: Nesting::Single,
                    min_items: 0,
                    max_items: 1,
                    force_new: false,
                    block: Schema::new().attr("enable", Attribute::optional(AttrType::Bool).default(false)),
                },
            );
        let v = Value::map([
            ("timeout_sec", Value::from(30i64)),
            ("description", Value::Null),
            ("self_link", Value::from("x")),
            ("log_config", Value::List(vec![Value::map([("enable", Value::Bool(true))])])),
        ]);
        let j = to_wire(&s, &v, &[]);
        assert_eq!(j, serde_json::json!({"timeoutSec": 30, "logConfig": {"enable": true}}));
        let back = from_wire(&s, &serde_json::json!({"description": "", "selfLink": "x", "logConfig": {}}), &[]);
        assert_eq!(back.get("timeout_sec"), Some(&Value::from(5i64)), "an omitted default reads as the default");
        assert_eq!(back.get("description"), Some(&Value::Null), "\"\" reads as unset");
        assert_eq!(
            back.get("log_config").and_then(|l| l.as_list()).map(|l| l[0].get("enable").cloned()),
            Some(Some(Value::Bool(false)))
        );
    }

    #[test]
    fn failed_operations_are_errors_with_advice() {
        let op: Operation = serde_json::from_value(serde_json::json!({
            "name": "operation-1", "status": "DONE", "httpErrorStatusCode": 400, "httpErrorMessage": "BAD REQUEST",
            "error": {"errors": [{"code": "RESOURCE_IN_USE_BY_ANOTHER_RESOURCE", "message": "The ssl_certificate resource 'projects/p/global/sslCertificates/old' is already being used by 'projects/p/global/targetHttpsProxies/px'"}]}
        }))
        .unwrap();
        let e = operation_error("compute.sslCertificates.delete", &op).unwrap();
        assert_eq!(e.method.as_deref(), Some("compute.sslCertificates.delete"));
        assert!(
            e.message.contains("already being used by 'projects/p/global/targetHttpsProxies/px'")
                && e.message.contains("create_before_destroy"),
            "{}",
            e.message
        );
        assert!(is_in_use(&e));
        let ok: Operation =
            serde_json::from_value(serde_json::json!({"name": "operation-2", "status": "DONE"})).unwrap();
        assert!(operation_error("m", &ok).is_none());
        assert!(is_done(&ok));
    }

    #[test]
    fn import_ids() {
        assert_eq!(
            parse_import_id("projects/p/global/healthChecks/hc", "healthChecks", None).unwrap(),
            ("p".into(), "hc".into())
        );
        assert_eq!(
            parse_import_id(
                "https://www.googleapis.com/compute/v1/projects/p/global/healthChecks/hc",
                "healthChecks",
                None
            )
            .unwrap(),
            ("p".into(), "hc".into())
        );
        assert_eq!(parse_import_id("p/hc", "healthChecks", None).unwrap(), ("p".into(), "hc".into()));
        assert_eq!(parse_import_id("hc", "healthChecks", Some("d")).unwrap(), ("d".into(), "hc".into()));
        assert!(parse_import_id("hc", "healthChecks", None).is_err());
        assert!(parse_import_id("projects/p/global/urlMaps/hc", "healthChecks", None).is_err());
    }
}

/// The corpus stacks (tests/it/corpus/<type>/main.tf) seen from a type's unit tests.
#[cfg(test)]
pub(crate) mod corpus {
    use crate::schema::Schema;

    /// Every `resource "<type_name>"` block of the type's corpus stack, each on its own.
    pub fn resources(type_name: &str) -> Vec<String> {
        let path = format!("{}/tests/it/corpus/{type_name}/main.tf", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let header = format!("resource \"{type_name}\"");
        let mut out = Vec::new();
        let mut current: Option<String> = None;
        for line in text.lines() {
            if line.starts_with(&header) {
                current = Some(String::new());
            }
            if let Some(block) = current.as_mut() {
                block.push_str(line);
                block.push('\n');
                if line == "}" {
                    out.extend(current.take());
                }
            }
        }
        out
    }

    /// The corpus's blocks of `type_name` validate against `schema` without a diagnostic, and
    /// together set every argument and block at the top level of the schema.
    pub fn check_covers(type_name: &str, schema: &Schema) {
        let blocks = resources(type_name);
        assert!(!blocks.is_empty(), "{type_name}: no corpus resource");
        let mut set = std::collections::BTreeSet::new();
        for b in &blocks {
            let d = crate::schema::validate::test_hcl::check(b, schema);
            assert!(d.is_empty(), "{type_name}: {d:?}\n{b}");
            for line in b.lines().filter(|l| l.starts_with("  ") && !l.starts_with("   ")) {
                if let Some(name) = line.split_whitespace().next() {
                    set.insert(name.to_string());
                }
            }
        }
        let configurable = schema
            .attributes
            .iter()
            .filter(|(_, a)| a.required || a.optional)
            .map(|(n, _)| *n)
            .chain(schema.blocks.keys().copied());
        let missing: Vec<&str> = configurable.filter(|n| !set.contains(*n)).collect();
        assert!(missing.is_empty(), "{type_name}: the corpus never sets {missing:?}");
    }
}
