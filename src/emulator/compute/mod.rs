//! Compute Engine API v1 (`compute.googleapis.com/compute/v1/`), the global load-balancing
//! resources Cairn manages, per the discovery document (revision 20230620) and
//! gcp-wire-formats.md §4.
//!
//! Resources live in the store under `projects/{project}/global/{collection}/{name}` (or
//! `projects/{project}/regions/{region}/{collection}/{name}` for a regional collection, whose
//! operations are region operations) with the project as the request spelled it (compute
//! echoes project ids). Every mutation is a
//! `compute#operation` (see `operations.rs` here) whose effects land when it is DONE, so a GET
//! right after an insert is a 404 until the operation finishes, as on the real API.
//! Fingerprints (backend services, URL maps, target proxies) derive from the store generation,
//! so every applied change moves them.
//!
//! Enums are always strings: the compute SDK sends `$alt=json` without `enum-encoding=int`,
//! and compute's proto enum numbers are hashes nobody encodes by hand.
//!
//! The layout: this file routes, validates names, normalises references and runs the generic
//! insert/get/list/patch/update/delete; one file per collection describes it (its
//! `COLLECTION`: path segment, kind, known fields, methods, actions) and checks and defaults
//! its fields. Serving a new collection is its file plus its line in [`COLLECTIONS`].

mod backend_services;
mod global_addresses;
mod global_forwarding_rules;
mod health_checks;
mod networks;
mod operations;
mod region_network_endpoint_groups;
mod ssl_certificates;
mod subnetworks;
mod target_http_proxies;
mod target_https_proxies;
mod url_maps;

use axum::http::Method;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::api::{Api, ApiRequest, Ctx};
use super::errors::{invalid_argument, not_found, ApiError, Code, Envelope};
use super::operations::Effect;
use super::store::{Store, StoredResource};

pub const API: &str = "compute";
/// Compute links still use the old host.
pub const LINK_BASE: &str = "https://www.googleapis.com/compute/v1/";
const MAX_RESULTS: usize = 500;

pub struct Compute;

/// What the router needs to know about one collection. Each collection's file defines
/// its own (`COLLECTION`), and [`COLLECTIONS`] lists them: serving a new collection is its file
/// plus its line there.
pub(crate) struct Spec {
    /// The path segment (`healthChecks`), which need not match the API's method names.
    pub(crate) segment: &'static str,
    /// Served under `projects/{p}/regions/{r}/` rather than `projects/{p}/global/`.
    pub(crate) regional: bool,
    pub(crate) kind: &'static str,
    /// The resource noun in "The health_check resource '…' is already being used by '…'".
    pub(crate) noun: &'static str,
    /// The fingerprint field rendered on every read (`fingerprint`, `labelFingerprint`).
    pub(crate) fingerprint: Option<&'static str>,
    pub(crate) has_patch: bool,
    pub(crate) has_update: bool,
    /// The resource's schema in the compute discovery document: a request naming a field it
    /// lacks, at any depth, is refused, as the real JSON parser does.
    pub(crate) schema: &'static str,
    /// Checks and completes a body (defaults, normalised references); returns the
    /// server-side data to keep beside it.
    pub(crate) prepare: Prepare,
    /// `POST projects/{p}/global/{segment}/{name}/{action}` (such as `setLabels`).
    pub(crate) action: Option<Action>,
}

pub(crate) type Prepare = fn(&Ctx<'_>, &str, &mut Map<String, Value>) -> Result<Value, ApiError>;
pub(crate) type Action = fn(&mut Ctx<'_>, &ApiRequest, &str, &str, &str) -> Result<Value, ApiError>;

/// A collection served.
#[derive(Clone, Copy)]
pub(crate) struct Collection(&'static Spec);

impl PartialEq for Collection {
    fn eq(&self, other: &Self) -> bool {
        self.0.segment == other.0.segment
    }
}

impl Eq for Collection {}

impl std::fmt::Debug for Collection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Collection({})", self.0.segment)
    }
}

const COLLECTIONS: [Collection; 11] = [
    health_checks::COLLECTION,
    backend_services::COLLECTION,
    ssl_certificates::COLLECTION,
    url_maps::COLLECTION,
    target_https_proxies::COLLECTION,
    target_http_proxies::COLLECTION,
    global_addresses::COLLECTION,
    region_network_endpoint_groups::COLLECTION,
    global_forwarding_rules::COLLECTION,
    networks::COLLECTION,
    subnetworks::COLLECTION,
];

impl Collection {
    fn from_segment(segment: &str) -> Option<Collection> {
        COLLECTIONS.into_iter().find(|c| c.segment() == segment)
    }

    pub(crate) fn segment(self) -> &'static str {
        self.0.segment
    }

    fn kind(self) -> &'static str {
        self.0.kind
    }

    fn noun(self) -> &'static str {
        self.0.noun
    }

    /// Whether writes carry the resource's `fingerprint` (checked on PATCH and PUT).
    fn has_fingerprint(self) -> bool {
        self.0.fingerprint == Some("fingerprint")
    }

    fn has_patch(self) -> bool {
        self.0.has_patch
    }

    fn has_update(self) -> bool {
        self.0.has_update
    }

    pub(crate) fn regional(self) -> bool {
        self.0.regional
    }
}

/// A parsed compute path.
#[derive(Debug, PartialEq)]
enum Target {
    Collection {
        project: String,
        region: Option<String>,
        coll: Collection,
    },
    Resource {
        project: String,
        region: Option<String>,
        coll: Collection,
        name: String,
    },
    /// `projects/{p}/global/{collection}/{name}/{action}`, served by the collection's `action`.
    ResourceAction {
        project: String,
        coll: Collection,
        name: String,
        action: String,
    },
    /// `projects/{p}/{targetHttpsProxies|targetHttpProxies}/{name}/{setUrlMap|…}` (no `/global/`).
    ProxyAction {
        project: String,
        coll: Collection,
        name: String,
        action: String,
    },
    /// `projects/{p}/global/operations` or `projects/{p}/regions/{r}/operations`.
    Operations {
        project: String,
        region: Option<String>,
    },
    Operation {
        project: String,
        region: Option<String>,
        name: String,
        wait: bool,
    },
}

impl Api for Compute {
    fn name(&self) -> &'static str {
        API
    }

    fn envelope(&self) -> Envelope {
        Envelope::Legacy
    }

    fn claims(&self, path: &str) -> bool {
        path.starts_with("compute/v1/projects/")
    }

    fn handle(&self, ctx: &mut Ctx<'_>, req: &ApiRequest) -> Result<Value, ApiError> {
        ssl_certificates::sweep(ctx);
        let m = &req.method;
        match parse_target(&req.path)? {
            Target::Collection { project, region, coll } if m == Method::GET => {
                list(ctx, req, &project, region.as_deref(), coll)
            }
            Target::Collection { project, region, coll } if m == Method::POST => {
                insert(ctx, req, &project, region.as_deref(), coll)
            }
            Target::Resource { project, region, coll, name } if m == Method::GET => {
                let key = scoped_key(&project, region.as_deref(), coll, &name);
                let stored = ctx.store.get(API, &key).ok_or_else(|| resource_not_found(&key))?;
                Ok(render(ctx.store, coll, stored))
            }
            Target::Resource { project, region: None, coll, name } if m == Method::PATCH && coll.has_patch() => {
                modify(ctx, req, &project, coll, &name, "patch")
            }
            Target::Resource { project, region: None, coll, name } if m == Method::PUT && coll.has_update() => {
                modify(ctx, req, &project, coll, &name, "update")
            }
            Target::Resource { project, region, coll, name } if m == Method::DELETE => {
                delete(ctx, &project, region.as_deref(), coll, &name)
            }
            Target::ResourceAction { project, coll, name, action } if m == Method::POST => match coll.0.action {
                Some(act) => act(ctx, req, &project, &name, &action),
                None => Err(no_such_method(req)),
            },
            Target::ProxyAction { project, coll, name, action } if m == Method::POST => {
                if coll == target_http_proxies::COLLECTION {
                    target_http_proxies::action(ctx, req, &project, &name, &action)
                } else {
                    target_https_proxies::action(ctx, req, &project, &name, &action)
                }
            }
            Target::Operations { project, region } if m == Method::GET => {
                operations::list(ctx, req, &scope_path(&project, region.as_deref()))
            }
            Target::Operation { project, region, name, wait: false } if m == Method::GET => {
                operations::get(ctx, &scope_path(&project, region.as_deref()), &name)
            }
            Target::Operation { project, region, name, wait: true } if m == Method::POST => {
                operations::get(ctx, &scope_path(&project, region.as_deref()), &name)
            }
            Target::Operation { project, region, name, wait: false } if m == Method::DELETE => {
                operations::delete(ctx, &scope_path(&project, region.as_deref()), &name)
            }
            _ => Err(no_such_method(req)),
        }
    }

    fn seed(&self, ctx: &mut Ctx<'_>, section: &Value) -> Result<(), String> {
        operations::seed(ctx, section)
    }

    fn hold_until(&self, store: &Store, req: &ApiRequest) -> Option<DateTime<Utc>> {
        match parse_target(&req.path).ok()? {
            Target::Operation { project, region, name, wait: true } if req.method == Method::POST => {
                operations::due_time(store, &scope_path(&project, region.as_deref()), &name)
            }
            _ => None,
        }
    }
}

fn no_such_method(req: &ApiRequest) -> ApiError {
    not_found(format!("The Compute Engine API has no method {} /{}.", req.method, req.path))
}

fn parse_target(path: &str) -> Result<Target, ApiError> {
    let segs: Vec<&str> = path.split('/').collect();
    let bad = || not_found(format!("The Compute Engine API has no resource /{path}."));
    let owned = |s: &str| s.to_string();
    let global = |c: &str| Collection::from_segment(c).filter(|c| !c.regional()).ok_or_else(bad);
    let regional = |c: &str| Collection::from_segment(c).filter(|c| c.regional()).ok_or_else(bad);
    let region = |r: &str| (!r.is_empty()).then(|| r.to_string()).ok_or_else(bad);
    let target = match segs.as_slice() {
        ["compute", "v1", "projects", p, "global", "operations"] => {
            Target::Operations { project: owned(p), region: None }
        }
        ["compute", "v1", "projects", p, "global", "operations", op] => {
            Target::Operation { project: owned(p), region: None, name: owned(op), wait: false }
        }
        ["compute", "v1", "projects", p, "global", "operations", op, "wait"] => {
            Target::Operation { project: owned(p), region: None, name: owned(op), wait: true }
        }
        ["compute", "v1", "projects", p, "regions", r, "operations"] => {
            Target::Operations { project: owned(p), region: Some(region(r)?) }
        }
        ["compute", "v1", "projects", p, "regions", r, "operations", op] => {
            Target::Operation { project: owned(p), region: Some(region(r)?), name: owned(op), wait: false }
        }
        ["compute", "v1", "projects", p, "regions", r, "operations", op, "wait"] => {
            Target::Operation { project: owned(p), region: Some(region(r)?), name: owned(op), wait: true }
        }
        ["compute", "v1", "projects", p, "global", c] => {
            Target::Collection { project: owned(p), region: None, coll: global(c)? }
        }
        ["compute", "v1", "projects", p, "global", c, name] => {
            Target::Resource { project: owned(p), region: None, coll: global(c)?, name: owned(name) }
        }
        ["compute", "v1", "projects", p, "regions", r, c] => {
            Target::Collection { project: owned(p), region: Some(region(r)?), coll: regional(c)? }
        }
        ["compute", "v1", "projects", p, "regions", r, c, name] => {
            Target::Resource { project: owned(p), region: Some(region(r)?), coll: regional(c)?, name: owned(name) }
        }
        ["compute", "v1", "projects", p, "global", c, name, action] => {
            Target::ResourceAction { project: owned(p), coll: global(c)?, name: owned(name), action: owned(action) }
        }
        ["compute", "v1", "projects", p, c @ ("targetHttpsProxies" | "targetHttpProxies"), name, action] => {
            let coll = global(c)?;
            Target::ProxyAction { project: owned(p), coll, name: owned(name), action: owned(action) }
        }
        _ => return Err(bad()),
    };
    let project = match &target {
        Target::Collection { project, .. }
        | Target::Resource { project, .. }
        | Target::ResourceAction { project, .. }
        | Target::ProxyAction { project, .. }
        | Target::Operations { project, .. }
        | Target::Operation { project, .. } => project,
    };
    if project.is_empty() {
        return Err(bad());
    }
    Ok(target)
}

pub(crate) fn key_of(project: &str, coll: Collection, name: &str) -> String {
    scoped_key(project, None, coll, name)
}

/// `projects/{p}/global` or `projects/{p}/regions/{r}`: where a collection's objects and
/// operations live.
pub(crate) fn scope_path(project: &str, region: Option<&str>) -> String {
    match region {
        Some(r) => format!("projects/{project}/regions/{r}"),
        None => format!("projects/{project}/global"),
    }
}

/// The store key of an object of a global (no region) or regional collection.
pub(crate) fn scoped_key(project: &str, region: Option<&str>, coll: Collection, name: &str) -> String {
    format!("{}/{}/{name}", scope_path(project, region), coll.segment())
}

pub(crate) fn link(key: &str) -> String {
    format!("{LINK_BASE}{key}")
}

/// A `set*` action that rewrites one stored object (`setUrlMap`, `setSecurityPolicy`…):
/// `change` turns the request body into the new object, which an operation then stores. A
/// fingerprint in the body must be the current one.
pub(crate) fn rewrite_by_action(
    ctx: &mut Ctx<'_>,
    req: &ApiRequest,
    project: &str,
    coll: Collection,
    name: &str,
    action: &str,
    change: impl FnOnce(&Ctx<'_>, &Map<String, Value>, &mut Map<String, Value>) -> Result<(), ApiError>,
) -> Result<Value, ApiError> {
    let key = key_of(project, coll, name);
    let current = ctx.store.get(API, &key).ok_or_else(|| resource_not_found(&key))?.clone();
    let body = req.json_body()?;
    check_fingerprint(&body, &current)?;
    let mut value = current.value.as_object().cloned().unwrap_or_default();
    change(ctx, &body, &mut value)?;
    value.insert("selfLink".into(), json!(link(&key)));
    let id = current.value["id"].as_str().unwrap_or_default().to_string();
    let effect =
        Effect::Put { api: API.into(), name: key.clone(), value: Value::Object(value), internal: current.internal };
    Ok(operations::start(ctx, project, action, &key, &id, vec![effect]))
}

pub(crate) fn resource_not_found(key: &str) -> ApiError {
    not_found(format!("The resource '{key}' was not found"))
}

/// `Invalid value for field 'resource.<field>': '<value>'. <why>` — compute's 400 `invalid`.
pub(crate) fn invalid_field(field: &str, value: &str, why: &str) -> ApiError {
    let message = if why.is_empty() {
        format!("Invalid value for field 'resource.{field}': '{value}'.")
    } else {
        format!("Invalid value for field 'resource.{field}': '{value}'. {why}")
    };
    invalid_argument(message)
}

pub(crate) fn required_field(field: &str) -> ApiError {
    invalid_argument(format!("Required field 'resource.{field}' not specified")).with_reason("required")
}

/// Compute names: `[a-z]([-a-z0-9]*[a-z0-9])?`, at most 63 characters.
pub(crate) fn valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    bytes.len() <= 63
        && first.is_ascii_lowercase()
        && (last.is_ascii_lowercase() || last.is_ascii_digit())
        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

fn check_name(name: &str) -> Result<(), ApiError> {
    if valid_name(name) {
        Ok(())
    } else {
        Err(invalid_field("name", name, "Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'"))
    }
}

/// The fingerprint of a stored revision: 8 bytes of a hash of its generation, base64, which is
/// what real fingerprints look like (`"Ew6yU9gOqXk="`). Values whose encoding holds `+` or
/// `/` are skipped: the SDK reads and writes bytes in the URL-safe alphabet, so only strings
/// that are the same in both alphabets survive a round trip through it unchanged.
pub(crate) fn fingerprint(stored: &StoredResource) -> String {
    use base64::Engine;
    let mut salt: u64 = 0;
    loop {
        let mut hasher = Sha256::new();
        hasher.update(stored.generation.to_be_bytes());
        hasher.update(salt.to_be_bytes());
        let digest = hasher.finalize();
        let text = base64::engine::general_purpose::STANDARD.encode(&digest[..8]);
        if !text.contains(['+', '/']) {
            return text;
        }
        salt += 1;
    }
}

/// A stored resource as a read shows it: its fingerprint, and for a network the subnetworks
/// that link to it (which live beside it, not in it).
pub(crate) fn render(store: &Store, coll: Collection, stored: &StoredResource) -> Value {
    let mut value = stored.value.clone();
    if let (Some(field), Value::Object(m)) = (coll.0.fingerprint, &mut value) {
        m.insert(field.into(), Value::String(fingerprint(stored)));
    }
    if coll == networks::COLLECTION {
        value = networks::with_subnetworks(store, value);
    }
    value
}

/// A supplied fingerprint must be the current one (412 conditionNotMet); a missing one is
/// accepted (an observed real PATCH omitted it and succeeded).
pub(crate) fn check_fingerprint(body: &Map<String, Value>, current: &StoredResource) -> Result<(), ApiError> {
    match body.get("fingerprint").and_then(Value::as_str) {
        Some(given) if !given.is_empty() && given != fingerprint(current) => {
            Err(ApiError::new(Code::FailedPrecondition, "Invalid fingerprint.")
                .with_reason("conditionNotMet")
                .with_http_status(412))
        }
        _ => Ok(()),
    }
}

/// Resolves a reference to a resource of `coll` given as a full URL (either host), a partial
/// URL (`projects/p/global/…`, `global/…`) or a bare name, to its store key. A regional
/// collection's references name the region (`projects/p/regions/r/…`, `regions/r/…`).
pub(crate) fn resolve_ref(project: &str, coll: Collection, reference: &str) -> Option<String> {
    let rest = reference
        .strip_prefix(LINK_BASE)
        .or_else(|| reference.strip_prefix("https://compute.googleapis.com/compute/v1/"))
        .or_else(|| reference.strip_prefix("compute/v1/"))
        .unwrap_or(reference);
    let segs: Vec<&str> = rest.split('/').collect();
    if coll.regional() {
        let (p, r, c, name) = match segs.as_slice() {
            ["projects", p, "regions", r, c, name] => (*p, *r, *c, *name),
            ["regions", r, c, name] => (project, *r, *c, *name),
            _ => return None,
        };
        let ok = c == coll.segment() && !p.is_empty() && !r.is_empty() && valid_name(name);
        return ok.then(|| scoped_key(p, Some(r), coll, name));
    }
    let (p, c, name) = match segs.as_slice() {
        ["projects", p, "global", c, name] => (*p, *c, *name),
        ["global", c, name] => (project, *c, *name),
        [name] => (project, coll.segment(), *name),
        _ => return None,
    };
    (c == coll.segment() && !p.is_empty() && valid_name(name)).then(|| key_of(p, coll, name))
}

/// Normalises the reference at `field` (shown in errors as `resource.<field>`) to a full URL;
/// the referenced resource must exist or be on its way (an insert not yet DONE).
pub(crate) fn normalize_ref(
    ctx: &Ctx<'_>,
    project: &str,
    coll: Collection,
    field: &str,
    value: &Value,
) -> Result<Value, ApiError> {
    let text = value.as_str().unwrap_or_default();
    let key = resolve_ref(project, coll, text).ok_or_else(|| invalid_field(field, text, "The URL is malformed."))?;
    if !exists_or_pending(ctx.store, &key) {
        return Err(resource_not_found(&key));
    }
    Ok(Value::String(link(&key)))
}

pub(crate) fn exists_or_pending(store: &Store, key: &str) -> bool {
    store.contains(API, key) || operations::pending_insert(store, key)
}

pub(crate) fn check_known_fields(coll: Collection, body: &Map<String, Value>) -> Result<(), ApiError> {
    super::discovery::of(API).check_body(coll.0.schema, body, "resource")
}

/// Output-only fields a client may echo back; they are never taken from a request.
const OUTPUT_ONLY: &[&str] = &["kind", "id", "creationTimestamp", "selfLink", "fingerprint"];

/// Drops what a client may not set: the identity fields above, and every field the schema
/// marks output only, at any depth (`managed.status` of a certificate, `users` of an address).
fn strip_output_only(coll: Collection, body: &mut Map<String, Value>) {
    for key in OUTPUT_ONLY {
        body.remove(*key);
    }
    super::discovery::of(API).strip_output_only(coll.0.schema, body);
}

/// Checks and completes a resource body of `coll`: defaults, normalised references. Returns
/// the server-side data to keep beside it.
fn prepare(ctx: &Ctx<'_>, project: &str, coll: Collection, body: &mut Map<String, Value>) -> Result<Value, ApiError> {
    (coll.0.prepare)(ctx, project, body)
}

/// A compute id: a random uint64, rendered as a string.
pub(crate) fn new_id() -> String {
    rand::random::<u64>().to_string()
}

fn insert(
    ctx: &mut Ctx<'_>,
    req: &ApiRequest,
    project: &str,
    region: Option<&str>,
    coll: Collection,
) -> Result<Value, ApiError> {
    let mut body = req.json_body()?;
    check_known_fields(coll, &body)?;
    let name = match body.get("name") {
        Some(Value::String(n)) if !n.is_empty() => n.clone(),
        _ => return Err(required_field("name")),
    };
    check_name(&name)?;
    let key = scoped_key(project, region, coll, &name);
    if exists_or_pending(ctx.store, &key) {
        return Err(ApiError::new(Code::AlreadyExists, format!("The resource '{key}' already exists")));
    }
    strip_output_only(coll, &mut body);
    body.remove("name");
    let internal = prepare(ctx, project, coll, &mut body)?;
    let id = new_id();
    let mut value = Map::new();
    value.insert("kind".into(), json!(coll.kind()));
    value.insert("id".into(), json!(id));
    value.insert("creationTimestamp".into(), json!(super::operations::compute_timestamp(ctx.now)));
    value.insert("name".into(), json!(name));
    value.extend(body);
    if let Some(r) = region {
        value.insert("region".into(), json!(link(&scope_path(project, Some(r)))));
    }
    value.insert("selfLink".into(), json!(link(&key)));
    let effect = Effect::Put { api: API.into(), name: key.clone(), value: Value::Object(value), internal };
    Ok(operations::start(ctx, project, "insert", &key, &id, vec![effect]))
}

/// PATCH (JSON merge patch onto the current resource) and PUT (a full replacement).
fn modify(
    ctx: &mut Ctx<'_>,
    req: &ApiRequest,
    project: &str,
    coll: Collection,
    name: &str,
    op_type: &str,
) -> Result<Value, ApiError> {
    let key = key_of(project, coll, name);
    let current = ctx.store.get(API, &key).ok_or_else(|| resource_not_found(&key))?.clone();
    let body = req.json_body()?;
    check_known_fields(coll, &body)?;
    if coll.has_fingerprint() {
        check_fingerprint(&body, &current)?;
    }
    if let Some(given) = body.get("name").and_then(Value::as_str) {
        if given != name {
            return Err(invalid_field("name", given, "The name of a resource cannot be changed."));
        }
    }
    let mut body = body;
    // From the request only: what the server set on the stored resource stays.
    super::discovery::of(API).strip_output_only(coll.0.schema, &mut body);
    let mut fields = if op_type == "patch" {
        let mut merged = current.value.clone();
        merge_patch(&mut merged, &Value::Object(body));
        merged.as_object().cloned().unwrap_or_default()
    } else {
        body
    };
    for key in OUTPUT_ONLY {
        fields.remove(*key);
    }
    fields.remove("name");
    let mut internal = prepare(ctx, project, coll, &mut fields)?;
    if internal.is_null() {
        internal = current.internal.clone();
    }
    let mut value = Map::new();
    for keep in ["kind", "id", "creationTimestamp", "name"] {
        if let Some(v) = current.value.get(keep) {
            value.insert(keep.into(), v.clone());
        }
    }
    value.extend(fields);
    value.insert("selfLink".into(), json!(link(&key)));
    let id = current.value["id"].as_str().unwrap_or_default().to_string();
    let effect = Effect::Put { api: API.into(), name: key.clone(), value: Value::Object(value), internal };
    Ok(operations::start(ctx, project, op_type, &key, &id, vec![effect]))
}

/// RFC 7386: objects merge recursively, `null` removes, anything else replaces.
pub(crate) fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch_map) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(target_map) = target {
        for (k, v) in patch_map {
            if v.is_null() {
                target_map.remove(k);
            } else {
                merge_patch(target_map.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

fn delete(
    ctx: &mut Ctx<'_>,
    project: &str,
    region: Option<&str>,
    coll: Collection,
    name: &str,
) -> Result<Value, ApiError> {
    let key = scoped_key(project, region, coll, name);
    let current = ctx.store.get(API, &key).ok_or_else(|| resource_not_found(&key))?;
    let id = current.value["id"].as_str().unwrap_or_default().to_string();
    if let Some(user) = referenced_by(ctx.store, &key) {
        return Err(invalid_argument(format!(
            "The {} resource '{key}' is already being used by '{user}'",
            coll.noun()
        ))
        .with_reason("resourceInUseByAnotherResource"));
    }
    let effect = Effect::Remove { api: API.into(), name: key.clone() };
    Ok(operations::start(ctx, project, "delete", &key, &id, vec![effect]))
}

/// The first resource (existing, or about to be written by a pending operation) whose fields
/// hold a link to `key`.
fn referenced_by(store: &Store, key: &str) -> Option<String> {
    let target = link(key);
    let holds = |v: &Value| contains_string(v, &target);
    let existing = store
        .all(API)
        .filter(|(k, _)| k.starts_with("projects/") && k.as_str() != key)
        .find(|(_, r)| holds(&r.value))
        .map(|(k, _)| k.clone());
    existing.or_else(|| operations::pending_writer_referencing(store, key, &holds))
}

fn contains_string(value: &Value, needle: &str) -> bool {
    match value {
        Value::String(s) => s == needle,
        Value::Array(items) => items.iter().any(|v| contains_string(v, needle)),
        Value::Object(m) => m.values().any(|v| contains_string(v, needle)),
        _ => false,
    }
}

fn list(
    ctx: &mut Ctx<'_>,
    req: &ApiRequest,
    project: &str,
    region: Option<&str>,
    coll: Collection,
) -> Result<Value, ApiError> {
    let collection = format!("{}/{}", scope_path(project, region), coll.segment());
    let prefix = format!("{collection}/");
    let store: &Store = ctx.store;
    let items: Vec<Value> = store.children(API, &prefix).map(|(_, r)| render(store, coll, r)).collect();
    list_response(req, &format!("{}List", coll.kind()), &collection, items)
}

/// A compute list page: `kind`, `id` (the collection path), `items` (absent when empty),
/// `selfLink`, `nextPageToken`; `filter` and `maxResults` (≤ 500) as compute reads them.
pub(crate) fn list_response(
    req: &ApiRequest,
    kind: &str,
    collection: &str,
    items: Vec<Value>,
) -> Result<Value, ApiError> {
    let filter = ListFilter::parse(req.query.get("filter").unwrap_or(""))?;
    let items: Vec<Value> = items.into_iter().filter(|v| filter.matches(v)).collect();
    let size = match req.query.get("maxResults") {
        None => MAX_RESULTS,
        Some(s) => match s.parse::<i64>() {
            Ok(n) if (0..=MAX_RESULTS as i64).contains(&n) => {
                if n == 0 {
                    MAX_RESULTS
                } else {
                    n as usize
                }
            }
            _ => {
                return Err(invalid_argument(format!(
                    "Invalid value for field 'maxResults': '{s}'. Must be less than or equal to 500"
                )))
            }
        },
    };
    let offset = match req.query.get("pageToken") {
        None => 0,
        Some(token) => decode_page_token(token)
            .ok_or_else(|| invalid_argument(format!("Invalid value for field 'pageToken': '{token}'.")))?,
    };
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(offset).take(size).collect();
    let mut out = Map::new();
    out.insert("kind".into(), json!(kind));
    out.insert("id".into(), json!(collection));
    if !page.is_empty() {
        out.insert("items".into(), Value::Array(page));
    }
    if offset + size < total {
        out.insert("nextPageToken".into(), json!(encode_page_token(offset + size)));
    }
    out.insert("selfLink".into(), json!(link(collection)));
    Ok(Value::Object(out))
}

fn encode_page_token(offset: usize) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("cairn-compute:{offset}"))
}

fn decode_page_token(token: &str) -> Option<usize> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).ok()?;
    String::from_utf8(bytes).ok()?.strip_prefix("cairn-compute:")?.parse().ok()
}

/// Compute list filters: conjunctions of `field = value`, `field != value` (literal) and
/// `field eq regex`, `field ne regex` (full match), optionally parenthesised:
/// `name = "web-hc"`, `(name eq web-.*) (kind != "x")`.
#[derive(Debug, Default)]
struct ListFilter {
    terms: Vec<(Vec<String>, bool, Matcher)>,
}

#[derive(Debug)]
enum Matcher {
    Literal(String),
    Regex(regex::Regex),
}

impl ListFilter {
    fn parse(text: &str) -> Result<ListFilter, ApiError> {
        let bad = || invalid_argument(format!("Invalid list filter expression '{text}'."));
        let cleaned = text.replace(['(', ')'], " ");
        let tokens = split_quoted(&cleaned);
        let mut terms = Vec::new();
        let mut rest = tokens.as_slice();
        loop {
            match rest {
                [] => break,
                [and, tail @ ..] if and.eq_ignore_ascii_case("AND") => rest = tail,
                [field, op, value, tail @ ..] => {
                    let path = field.split('.').map(str::to_string).collect();
                    let value = unquote(value).to_string();
                    let (negated, matcher) = match op.as_str() {
                        "=" => (false, Matcher::Literal(value)),
                        "!=" => (true, Matcher::Literal(value)),
                        "eq" | "ne" => {
                            let re = regex::Regex::new(&format!("^(?:{value})$")).map_err(|_| bad())?;
                            (op == "ne", Matcher::Regex(re))
                        }
                        _ => return Err(bad()),
                    };
                    terms.push((path, negated, matcher));
                    rest = tail;
                }
                _ => return Err(bad()),
            }
        }
        Ok(ListFilter { terms })
    }

    fn matches(&self, resource: &Value) -> bool {
        self.terms.iter().all(|(path, negated, matcher)| {
            let mut node = resource;
            for key in path {
                node = node.get(key).unwrap_or(&Value::Null);
            }
            let text = match node {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            let hit = match matcher {
                Matcher::Literal(v) => &text == v,
                Matcher::Regex(re) => re.is_match(&text),
            };
            hit != *negated
        })
    }
}

fn split_quoted(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match (quote, c) {
            (None, '"' | '\'') => {
                quote = Some(c);
                current.push(c);
            }
            (Some(q), c) if c == q => {
                quote = None;
                current.push(c);
            }
            (None, c) if c.is_whitespace() => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            (_, c) => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn unquote(s: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = s.strip_prefix(q).and_then(|s| s.strip_suffix(q)) {
            return inner;
        }
    }
    s
}

/// Reads an int32 field given as a JSON number (or a numeric string), with its default.
pub(crate) fn int_field(body: &Map<String, Value>, field: &str, default: i64) -> Result<i64, ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Number(n)) => n.as_i64().ok_or_else(|| invalid_field(field, &n.to_string(), "")),
        Some(Value::String(s)) => s.parse().map_err(|_| invalid_field(field, s, "")),
        Some(other) => Err(invalid_field(field, &other.to_string(), "")),
    }
}

/// An enum field must be one of `allowed` (the JSON parser's message for a bad value).
pub(crate) fn check_enum(
    body: &Map<String, Value>,
    field: &str,
    type_name: &str,
    allowed: &[&str],
) -> Result<(), ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(s)) if allowed.contains(&s.as_str()) => Ok(()),
        Some(other) => Err(invalid_argument(format!(
            "Invalid value at 'resource.{field}' (type.googleapis.com/google.cloud.compute.v1.{type_name}), {other}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::api::QueryParams;
    use std::time::Duration;

    pub(crate) fn request(method: Method, path: &str, body: Value) -> ApiRequest {
        ApiRequest {
            method,
            path: path.to_string(),
            query: QueryParams::parse(""),
            body: if body.is_null() { vec![] } else { body.to_string().into_bytes() },
            enum_ints: false,
            if_match: None,
        }
    }

    /// Runs a request with operations finishing at once.
    pub(crate) fn call(store: &mut Store, method: Method, path: &str, body: Value) -> Result<Value, ApiError> {
        let mut ctx = Ctx { store, operation_duration: Duration::ZERO, now: Utc::now() };
        Compute.handle(&mut ctx, &request(method, path, body))
    }

    const HC: &str = "compute/v1/projects/p/global/healthChecks";

    #[test]
    fn claims_compute_paths_and_parses_the_set_actions_without_global() {
        assert!(Compute.claims("compute/v1/projects/p/global/healthChecks"));
        assert!(!Compute.claims("v1/projects/p/secrets"));
        assert_eq!(
            parse_target("compute/v1/projects/p/targetHttpsProxies/px/setUrlMap").unwrap(),
            Target::ProxyAction {
                project: "p".into(),
                coll: target_https_proxies::COLLECTION,
                name: "px".into(),
                action: "setUrlMap".into()
            }
        );
        assert_eq!(
            parse_target("compute/v1/projects/p/global/operations/op-1/wait").unwrap(),
            Target::Operation { project: "p".into(), region: None, name: "op-1".into(), wait: true }
        );
        assert!(parse_target("compute/v1/projects/p/global/networkEndpointGroups").is_err(), "a regional collection");
        assert!(parse_target("compute/v1/projects/p/regions/r/healthChecks").is_err(), "a global collection");
    }

    #[test]
    fn names_follow_the_compute_pattern() {
        for ok in ["a", "web-hc", "a1", &"a".repeat(63)] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "A", "1a", "a-", "a_b", &"a".repeat(64)] {
            assert!(!valid_name(bad), "{bad}");
        }
        let mut store = Store::new();
        let err = call(&mut store, Method::POST, HC, json!({"name": "Bad_Name", "tcpHealthCheck": {}})).unwrap_err();
        assert_eq!(err.http_status, 400);
        assert!(
            err.message.starts_with("Invalid value for field 'resource.name': 'Bad_Name'. Must be a match of regex"),
            "{}",
            err.message
        );
    }

    #[test]
    fn insert_then_conflict_then_delete_in_use() {
        let mut store = Store::new();
        let op = call(&mut store, Method::POST, HC, json!({"name": "hc", "tcpHealthCheck": {"port": 80}})).unwrap();
        assert_eq!(op["status"], "DONE");
        assert_eq!(op["operationType"], "insert");
        assert_eq!(op["targetLink"], format!("{LINK_BASE}projects/p/global/healthChecks/hc"));
        let err = call(&mut store, Method::POST, HC, json!({"name": "hc", "tcpHealthCheck": {}})).unwrap_err();
        assert_eq!(
            (err.http_status, err.message.as_str()),
            (409, "The resource 'projects/p/global/healthChecks/hc' already exists")
        );
        call(
            &mut store,
            Method::POST,
            "compute/v1/projects/p/global/backendServices",
            json!({"name": "bs", "healthChecks": ["global/healthChecks/hc"]}),
        )
        .unwrap();
        let err = call(&mut store, Method::DELETE, &format!("{HC}/hc"), Value::Null).unwrap_err();
        assert_eq!(err.reason.as_deref(), Some("resourceInUseByAnotherResource"));
        assert_eq!(err.message, "The health_check resource 'projects/p/global/healthChecks/hc' is already being used by 'projects/p/global/backendServices/bs'");
    }

    #[test]
    fn a_stale_fingerprint_is_412_condition_not_met() {
        let mut store = Store::new();
        call(&mut store, Method::POST, HC, json!({"name": "hc", "tcpHealthCheck": {}})).unwrap();
        let bs = "compute/v1/projects/p/global/backendServices";
        call(&mut store, Method::POST, bs, json!({"name": "bs", "healthChecks": ["hc"]})).unwrap();
        let got = call(&mut store, Method::GET, &format!("{bs}/bs"), Value::Null).unwrap();
        let fp = got["fingerprint"].as_str().unwrap().to_string();
        assert_eq!(got["timeoutSec"], 30);
        call(&mut store, Method::PATCH, &format!("{bs}/bs"), json!({"fingerprint": fp, "timeoutSec": 10})).unwrap();
        let err = call(&mut store, Method::PATCH, &format!("{bs}/bs"), json!({"fingerprint": fp, "timeoutSec": 20}))
            .unwrap_err();
        assert_eq!((err.http_status, err.reason.as_deref()), (412, Some("conditionNotMet")));
        let got = call(&mut store, Method::GET, &format!("{bs}/bs"), Value::Null).unwrap();
        assert_eq!(got["timeoutSec"], 10);
        assert_ne!(got["fingerprint"], fp.as_str());
    }

    #[test]
    fn fingerprints_survive_the_sdks_url_safe_base64() {
        for generation in 0..2000 {
            let stored = StoredResource { value: Value::Null, internal: Value::Null, generation };
            let fp = fingerprint(&stored);
            assert!(!fp.contains(['+', '/']), "{fp}");
            assert_eq!(fp.len(), 12);
        }
    }

    #[test]
    fn merge_patch_follows_rfc_7386() {
        let mut target = json!({"a": 1, "b": {"c": 2, "d": 3}, "e": [1]});
        merge_patch(&mut target, &json!({"a": null, "b": {"c": 5}, "e": [2, 3]}));
        assert_eq!(target, json!({"b": {"c": 5, "d": 3}, "e": [2, 3]}));
    }

    #[test]
    fn references_resolve_from_full_partial_and_bare_forms() {
        let want = Some("projects/p/global/healthChecks/hc".to_string());
        for r in [
            "https://www.googleapis.com/compute/v1/projects/p/global/healthChecks/hc",
            "https://compute.googleapis.com/compute/v1/projects/p/global/healthChecks/hc",
            "projects/p/global/healthChecks/hc",
            "global/healthChecks/hc",
            "hc",
        ] {
            assert_eq!(resolve_ref("p", health_checks::COLLECTION, r), want, "{r}");
        }
        assert_eq!(resolve_ref("p", health_checks::COLLECTION, "global/urlMaps/hc"), None);
    }

    #[test]
    fn list_filters_and_pages() {
        let mut store = Store::new();
        for n in ["a", "b", "web-1"] {
            call(&mut store, Method::POST, HC, json!({"name": n, "tcpHealthCheck": {}})).unwrap();
        }
        let mut ctx = Ctx { store: &mut store, operation_duration: Duration::ZERO, now: Utc::now() };
        let mut req = request(Method::GET, HC, Value::Null);
        req.query = QueryParams::parse("maxResults=2");
        let page = Compute.handle(&mut ctx, &req).unwrap();
        assert_eq!(page["items"].as_array().unwrap().len(), 2);
        assert_eq!(page["kind"], "compute#healthCheckList");
        let token = page["nextPageToken"].as_str().unwrap();
        req.query = QueryParams::parse(&format!("maxResults=2&pageToken={token}"));
        let page = Compute.handle(&mut ctx, &req).unwrap();
        assert_eq!(page["items"][0]["name"], "web-1");
        assert!(page.get("nextPageToken").is_none());
        req.query = QueryParams::parse("filter=name%20eq%20web-.*");
        let page = Compute.handle(&mut ctx, &req).unwrap();
        assert_eq!(page["items"].as_array().unwrap().len(), 1);
        req.query = QueryParams::parse("filter=name%20%3D%20%22nothing%22");
        let page = Compute.handle(&mut ctx, &req).unwrap();
        assert!(page.get("items").is_none(), "an empty list has no items key");
        req.query = QueryParams::parse("filter=name%20~%20x");
        assert!(Compute.handle(&mut ctx, &req).is_err());
    }
}
