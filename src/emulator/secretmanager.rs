//! Secret Manager API v1 (`secretmanager.googleapis.com`), per the discovery document
//! (revision 20240527) and gcp-wire-formats.md §3.
//!
//! Secrets and versions live in the store under their full names with the project NUMBER
//! (`projects/123456789012/secrets/s/versions/1`), which is also what responses carry whatever
//! the request used. Regional secrets (`projects/p/locations/l/secrets/...`) are served by the
//! same code: they have no `replication` and their versions no `replicationStatus`.
//! A version's payload is kept in the stored resource's `internal` data and only ever leaves
//! through `:access`.

use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::api::{paginate, Api, ApiRequest, Ctx};
use super::discovery;
use super::enums::{self, EnumField};
use super::errors::{aborted, failed_precondition, invalid_argument, not_found, unimplemented, ApiError, Envelope};
use super::filter::Filter;
use super::mask::{MaskRules, Refusal, UpdateMask};
use super::operations::timestamp;
use super::store::StoredResource;
use axum::http::Method;

pub const API: &str = "secretmanager";

const VERSION_STATES: &[&str] = &["STATE_UNSPECIFIED", "ENABLED", "DISABLED", "DESTROYED"];
const VERSION_ENUMS: &[EnumField] = &[EnumField { path: "state", values: VERSION_STATES }];
const VERSION_LIST_ENUMS: &[EnumField] = &[EnumField { path: "versions[].state", values: VERSION_STATES }];

/// Fields `updateMask` may name.
const UPDATABLE: &[&str] = &[
    "labels",
    "annotations",
    "topics",
    "expireTime",
    "ttl",
    "rotation",
    "versionAliases",
    "versionDestroyTtl",
    "customerManagedEncryption",
];

/// What `updateMask` may name: the updatable fields and any path inside them.
const MASK_RULES: MaskRules<'static> = MaskRules {
    updatable: UPDATABLE,
    immutable: &["replication", "tags"],
    output_only: &["name", "createTime", "etag"],
    known: Some(&is_secret_path),
};

const MAX_PAYLOAD_BYTES: usize = 65536;
const MAX_PAGE_SIZE: usize = 25000;

pub struct SecretManager;

/// A parsed Secret Manager path.
#[derive(Debug, PartialEq)]
enum Target {
    /// `{parent}/secrets`
    Secrets { parent: String },
    /// `{parent}/secrets/{s}[:verb]`
    Secret { name: String, verb: Option<String> },
    /// `{secret}/versions`
    Versions { secret: String },
    /// `{secret}/versions/{v}[:verb]`
    Version { secret: String, version: String, verb: Option<String> },
}

impl Api for SecretManager {
    fn name(&self) -> &'static str {
        API
    }

    fn envelope(&self) -> Envelope {
        Envelope::Aip
    }

    fn claims(&self, path: &str) -> bool {
        let segs: Vec<&str> = path.split('/').collect();
        match segs.as_slice() {
            ["v1", "projects", _, s, ..] if strip_verb(s).0 == "secrets" => true,
            ["v1", "projects", _, "locations", _, s, ..] if strip_verb(s).0 == "secrets" => true,
            _ => false,
        }
    }

    fn handle(&self, ctx: &mut Ctx<'_>, req: &ApiRequest) -> Result<Value, ApiError> {
        sweep(ctx);
        let target = parse_target(ctx, &req.path)?;
        let m = &req.method;
        match target {
            Target::Secrets { parent } if m == Method::GET => list_secrets(ctx, req, &parent),
            Target::Secrets { parent } if m == Method::POST => create_secret(ctx, req, &parent),
            Target::Secret { name, verb: None } if m == Method::GET => {
                let secret = get_secret(ctx, &name)?;
                Ok(render(secret, &[], false))
            }
            Target::Secret { name, verb: None } if m == Method::PATCH => update_secret(ctx, req, &name),
            Target::Secret { name, verb: None } if m == Method::DELETE => delete_secret(ctx, req, &name),
            Target::Secret { name, verb: Some(v) } if v == "addVersion" && m == Method::POST => {
                add_version(ctx, req, &name)
            }
            Target::Versions { secret } if m == Method::GET => list_versions(ctx, req, &secret),
            Target::Version { secret, version, verb: None } if m == Method::GET => {
                let name = resolve_version(ctx, &secret, &version)?;
                let stored = ctx.store.get(API, &name).ok_or_else(|| version_not_found(&name))?;
                Ok(render(stored, VERSION_ENUMS, req.enum_ints))
            }
            Target::Version { secret, version, verb: Some(v) } if v == "access" && m == Method::GET => {
                access_version(ctx, &secret, &version)
            }
            Target::Version { secret, version, verb: Some(v) }
                if m == Method::POST && matches!(v.as_str(), "enable" | "disable" | "destroy") =>
            {
                change_version_state(ctx, req, &secret, &version, &v)
            }
            Target::Secret { verb: Some(v), .. } | Target::Version { verb: Some(v), .. }
                if KNOWN_UNSERVED_VERBS.contains(&v.as_str()) =>
            {
                Err(unimplemented(format!(
                    "Method {v} of the Secret Manager API is not implemented by the Cairn emulator."
                )))
            }
            _ => Err(not_found(format!("The Secret Manager API has no method {} /{}.", req.method, req.path))),
        }
    }

    fn seed(&self, ctx: &mut Ctx<'_>, section: &Value) -> Result<(), String> {
        let scenario: ScenarioSection =
            serde_json::from_value(section.clone()).map_err(|e| format!("secretmanager: {e}"))?;
        for (i, secret) in scenario.secrets.iter().enumerate() {
            seed_secret(ctx, secret)
                .map_err(|e| format!("secretmanager.secrets[{i}] ({}): {}", secret.id, e.message))?;
        }
        Ok(())
    }
}

/// Time-driven changes, applied lazily before each request: secrets past their `expireTime`
/// are deleted, versions past their `scheduledDestroyTime` are destroyed.
fn sweep(ctx: &mut Ctx<'_>) {
    let now = timestamp(ctx.now);
    let due = |value: &Value, field: &str| value[field].as_str().is_some_and(|t| t <= now.as_str());
    let mut expired = Vec::new();
    let mut to_destroy = Vec::new();
    for (name, stored) in ctx.store.all(API) {
        if due(&stored.value, "expireTime") {
            expired.push(name.clone());
        } else if due(&stored.value, "scheduledDestroyTime") {
            to_destroy.push((name.clone(), stored.value.clone()));
        }
    }
    for name in expired {
        ctx.store.remove(API, &name);
        ctx.store.remove_prefix(API, &format!("{name}/versions/"));
    }
    for (name, mut value) in to_destroy {
        if let Value::Object(m) = &mut value {
            let when = m.remove("scheduledDestroyTime").unwrap_or(Value::Null);
            m.insert("state".into(), json!("DESTROYED"));
            m.insert("destroyTime".into(), when);
        }
        if ctx.store.contains(API, &name) {
            ctx.store.put(API, &name, value, Value::Null);
        }
    }
}

const KNOWN_UNSERVED_VERBS: &[&str] =
    &["getIamPolicy", "setIamPolicy", "testIamPermissions", "enableManagedRotation", "rotate"];

/// Splits `name:verb`.
fn strip_verb(segment: &str) -> (&str, Option<&str>) {
    match segment.split_once(':') {
        Some((s, v)) => (s, Some(v)),
        None => (segment, None),
    }
}

fn parse_target(ctx: &mut Ctx<'_>, path: &str) -> Result<Target, ApiError> {
    let rest = path.strip_prefix("v1/").unwrap_or(path);
    let segs: Vec<&str> = rest.split('/').collect();
    let bad = || not_found(format!("The Secret Manager API has no resource /{path}."));
    let (parent, tail) = match segs.as_slice() {
        ["projects", p, "locations", l, tail @ ..] if !p.is_empty() && !l.is_empty() => {
            (format!("projects/{}/locations/{l}", ctx.store.projects.number_for(p)), tail)
        }
        ["projects", p, tail @ ..] if !p.is_empty() => (format!("projects/{}", ctx.store.projects.number_for(p)), tail),
        _ => return Err(bad()),
    };
    // Remembering a new project id is a change worth persisting only alongside a real write;
    // `number_for` is deterministic, so losing it costs nothing.
    let target = match tail {
        [s] if strip_verb(s) == ("secrets", None) => Target::Secrets { parent },
        ["secrets", s] => {
            let (id, verb) = strip_verb(s);
            Target::Secret { name: format!("{parent}/secrets/{id}"), verb: verb.map(str::to_string) }
        }
        ["secrets", s, "versions"] => Target::Versions { secret: format!("{parent}/secrets/{s}") },
        ["secrets", s, "versions", v] => {
            let (version, verb) = strip_verb(v);
            Target::Version {
                secret: format!("{parent}/secrets/{s}"),
                version: version.to_string(),
                verb: verb.map(str::to_string),
            }
        }
        _ => return Err(bad()),
    };
    Ok(target)
}

fn is_regional(name: &str) -> bool {
    name.split('/').nth(2) == Some("locations")
}

fn secret_not_found(name: &str) -> ApiError {
    not_found(format!("Secret [{name}] not found."))
}

fn version_not_found(name: &str) -> ApiError {
    not_found(format!("Secret Version [{name}] not found."))
}

fn render(stored: &StoredResource, fields: &[EnumField], ints: bool) -> Value {
    let mut value = stored.value.clone();
    if let Value::Object(m) = &mut value {
        m.insert("etag".into(), Value::String(stored.etag()));
    }
    enums::encode(&mut value, fields, ints);
    value
}

fn get_secret<'s>(ctx: &'s Ctx<'_>, name: &str) -> Result<&'s StoredResource, ApiError> {
    ctx.store.get(API, name).ok_or_else(|| secret_not_found(name))
}

fn validate_secret_id(id: &str) -> Result<(), ApiError> {
    let ok =
        !id.is_empty() && id.len() <= 255 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(invalid_argument(format!(
            "Invalid secret_id \"{id}\": a secret ID must be 1 to 255 characters of letters, digits, '_' and '-'."
        )))
    }
}

/// Refuses a field, at any depth, that the Secret schema does not know (as the JSON front end
/// does); `tags` and other fields newer than the discovery revision come from the SDK's model.
fn check_known_fields(body: &Map<String, Value>) -> Result<(), ApiError> {
    discovery::of(API).check_body("Secret", body, "secret")
}

fn is_secret_path(path: &str) -> bool {
    discovery::of(API).knows_path("Secret", path)
}

fn validate_replication(replication: &Value) -> Result<Value, ApiError> {
    let obj = replication.as_object().ok_or_else(|| invalid_argument("Secret.replication must be an object."))?;
    match (obj.get("automatic"), obj.get("userManaged")) {
        (Some(_), Some(_)) => {
            Err(invalid_argument("Secret.replication may set only one of automatic and userManaged."))
        }
        (Some(auto), None) => {
            if !auto.is_object() {
                return Err(invalid_argument("Secret.replication.automatic must be an object."));
            }
            Ok(json!({"automatic": auto}))
        }
        (None, Some(user)) => {
            let replicas = user.get("replicas").and_then(Value::as_array).cloned().unwrap_or_default();
            if replicas.is_empty() {
                return Err(invalid_argument(
                    "Secret.replication.userManaged.replicas must contain at least one replica.",
                ));
            }
            for (i, replica) in replicas.iter().enumerate() {
                let location = replica.get("location").and_then(Value::as_str).unwrap_or("");
                if location.is_empty() {
                    return Err(invalid_argument(format!(
                        "Secret.replication.userManaged.replicas[{i}].location is required."
                    )));
                }
            }
            Ok(json!({"userManaged": {"replicas": replicas}}))
        }
        (None, None) => Err(invalid_argument("Secret.replication must set automatic or userManaged.")),
    }
}

fn validate_labels(labels: &Value) -> Result<(), ApiError> {
    let map = labels.as_object().ok_or_else(|| invalid_argument("Secret.labels must be a map of strings."))?;
    if map.len() > 64 {
        return Err(invalid_argument("A secret can have at most 64 labels."));
    }
    let is_label_char = |c: char| c.is_lowercase() || c.is_numeric() || c == '_' || c == '-';
    for (key, value) in map {
        let first_ok = key.chars().next().is_some_and(|c| c.is_lowercase());
        if !first_ok || key.chars().count() > 63 || !key.chars().all(is_label_char) {
            return Err(invalid_argument(format!(
                "Invalid label key \"{key}\": keys must start with a lowercase letter and contain at most 63 lowercase letters, digits, '_' or '-'."
            )));
        }
        let text = value
            .as_str()
            .ok_or_else(|| invalid_argument(format!("The value of label \"{key}\" must be a string.")))?;
        if text.chars().count() > 63 || !text.chars().all(is_label_char) {
            return Err(invalid_argument(format!(
                "Invalid value for label \"{key}\": values contain at most 63 lowercase letters, digits, '_' or '-'."
            )));
        }
    }
    Ok(())
}

fn validate_string_map(value: &Value, field: &str) -> Result<(), ApiError> {
    match value.as_object() {
        Some(m) if m.values().all(Value::is_string) => Ok(()),
        _ => Err(invalid_argument(format!("Secret.{field} must be a map of strings."))),
    }
}

/// Parses a google.protobuf.Duration in JSON form (`"3600s"`, `"1.5s"`) with the parser the
/// SDK uses for the same field; the API refuses negative TTLs.
fn parse_duration(value: &Value, field: &str) -> Result<chrono::Duration, ApiError> {
    let bad = || {
        invalid_argument(format!("Invalid value at '{field}' (type.googleapis.com/google.protobuf.Duration): {value}"))
    };
    let d = value.as_str().and_then(|text| google_cloud_wkt::Duration::try_from(text).ok()).ok_or_else(bad)?;
    if d.seconds() < 0 || d.nanos() < 0 {
        return Err(bad());
    }
    Ok(chrono::Duration::seconds(d.seconds()) + chrono::Duration::nanoseconds(i64::from(d.nanos())))
}

fn parse_timestamp(value: &Value, field: &str) -> Result<DateTime<Utc>, ApiError> {
    value.as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok()).map(|t| t.with_timezone(&Utc)).ok_or_else(|| {
        invalid_argument(format!("Invalid value at '{field}' (type.googleapis.com/google.protobuf.Timestamp): {value}"))
    })
}

/// Checks and normalises one writable field into `secret`; `None` clears it.
fn apply_field(
    ctx: &Ctx<'_>,
    secret_name: &str,
    secret: &mut Map<String, Value>,
    field: &str,
    value: Option<&Value>,
) -> Result<(), ApiError> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        secret.remove(field);
        if field == "ttl" {
            secret.remove("expireTime");
        }
        return Ok(());
    };
    match field {
        "labels" => validate_labels(value)?,
        "annotations" | "tags" => validate_string_map(value, field)?,
        "topics" => {
            let topics = value.as_array().ok_or_else(|| invalid_argument("Secret.topics must be a list."))?;
            if topics.len() > 10 {
                return Err(invalid_argument("A secret can have at most 10 topics."));
            }
            if topics.iter().any(|t| t.get("name").and_then(Value::as_str).unwrap_or("").is_empty()) {
                return Err(invalid_argument("Every Secret.topics entry needs a name."));
            }
        }
        "expireTime" => {
            let t = parse_timestamp(value, "expire_time")?;
            secret.insert("expireTime".into(), Value::String(timestamp(t)));
            return Ok(());
        }
        "ttl" => {
            let ttl = parse_duration(value, "ttl")?;
            secret.remove("ttl");
            secret.insert("expireTime".into(), Value::String(timestamp(ctx.now + ttl)));
            return Ok(());
        }
        "versionDestroyTtl" => {
            parse_duration(value, "version_destroy_ttl")?;
        }
        "versionAliases" => {
            let aliases = value.as_object().ok_or_else(|| invalid_argument("Secret.versionAliases must be a map."))?;
            let mut normalised = Map::new();
            for (alias, number) in aliases {
                let n = int64(number).filter(|n| *n > 0).ok_or_else(|| {
                    invalid_argument(format!("Version alias \"{alias}\" must name a version number."))
                })?;
                let version = format!("{secret_name}/versions/{n}");
                let exists = ctx.store.get(API, &version).is_some_and(|v| v.value["state"] != "DESTROYED");
                if !exists {
                    return Err(invalid_argument(format!(
                        "Version alias \"{alias}\" refers to [{version}], which does not exist or is destroyed."
                    )));
                }
                normalised.insert(alias.clone(), Value::String(n.to_string()));
            }
            secret.insert(field.into(), Value::Object(normalised));
            return Ok(());
        }
        "rotation" | "customerManagedEncryption" if !value.is_object() => {
            return Err(invalid_argument(format!("Secret.{field} must be an object.")));
        }
        _ => {}
    }
    secret.insert(field.into(), value.clone());
    Ok(())
}

/// An int64 sent as a JSON string or number.
fn int64(value: &Value) -> Option<i64> {
    match value {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

fn create_secret(ctx: &mut Ctx<'_>, req: &ApiRequest, parent: &str) -> Result<Value, ApiError> {
    let id = req
        .query
        .get("secretId")
        .ok_or_else(|| invalid_argument("secret_id is required (the secretId query parameter)."))?;
    let body = req.json_body()?;
    let stored = insert_secret(ctx, parent, id, &body)?;
    Ok(render(&stored, &[], false))
}

fn insert_secret(
    ctx: &mut Ctx<'_>,
    parent: &str,
    id: &str,
    body: &Map<String, Value>,
) -> Result<StoredResource, ApiError> {
    validate_secret_id(id)?;
    check_known_fields(body)?;
    let name = format!("{parent}/secrets/{id}");
    if ctx.store.contains(API, &name) {
        return Err(super::errors::already_exists(format!("Secret [{name}] already exists.")));
    }
    let mut secret = Map::new();
    secret.insert("name".into(), Value::String(name.clone()));
    match (is_regional(&name), body.get("replication").filter(|v| !v.is_null())) {
        (false, Some(r)) => {
            secret.insert("replication".into(), validate_replication(r)?);
        }
        (false, None) => return Err(invalid_argument("Secret.replication is required: set automatic or userManaged.")),
        (true, Some(_)) => {
            return Err(invalid_argument(
                "Regional secrets do not take a replication policy; remove Secret.replication.",
            ))
        }
        (true, None) => {}
    }
    secret.insert("createTime".into(), Value::String(timestamp(ctx.now)));
    for field in UPDATABLE.iter().chain(["tags"].iter()) {
        if *field == "versionAliases" {
            if body.get(*field).and_then(Value::as_object).is_some_and(|m| !m.is_empty()) {
                return Err(invalid_argument("A new secret has no versions, so Secret.versionAliases must be empty."));
            }
            continue;
        }
        if body.contains_key(*field) {
            apply_field(ctx, &name, &mut secret, field, body.get(*field))?;
        }
    }
    // Every other field the schema knows is kept as sent (output-only ones are dropped).
    for (field, value) in body {
        let handled =
            matches!(field.as_str(), "name" | "replication" | "etag" | "tags") || UPDATABLE.contains(&field.as_str());
        if !handled && !value.is_null() && !discovery::of(API).is_output_only("Secret", field) {
            secret.insert(field.clone(), value.clone());
        }
    }
    if body.contains_key("expireTime") && body.contains_key("ttl") {
        return Err(invalid_argument("Set at most one of Secret.expireTime and Secret.ttl."));
    }
    Ok(ctx.store.put(API, &name, Value::Object(secret), Value::Null).clone())
}

fn check_etag(given: Option<&str>, stored: &StoredResource, name: &str) -> Result<(), ApiError> {
    match given {
        Some(etag) if !etag.is_empty() && etag != stored.etag() => {
            Err(aborted(format!("The etag {etag} does not match the current etag {} of [{name}].", stored.etag())))
        }
        _ => Ok(()),
    }
}

fn update_secret(ctx: &mut Ctx<'_>, req: &ApiRequest, name: &str) -> Result<Value, ApiError> {
    let mask = UpdateMask::from_query(&req.query);
    if mask.is_empty() {
        return Err(invalid_argument("update_mask is required (the updateMask query parameter)."));
    }
    mask.check(&MASK_RULES, |path, why| match why {
        Refusal::Immutable => invalid_argument(format!("Secret.{path} is immutable and cannot be updated.")),
        Refusal::OutputOnly => invalid_argument(format!("Secret.{path} is output only and cannot be updated.")),
        Refusal::Unknown => invalid_argument(format!(
            "Invalid update_mask path \"{path}\": updatable fields are {} (and the fields inside them).",
            UPDATABLE.join(", ")
        )),
    })?;
    let body = req.json_body()?;
    check_known_fields(&body)?;
    let current = get_secret(ctx, name)?.clone();
    check_etag(body.get("etag").and_then(Value::as_str), &current, name)?;
    let mut secret = current.value.as_object().cloned().unwrap_or_default();
    let mut masked = secret.clone();
    mask.apply(&mut masked, &body);
    // Each touched field is checked and normalised whole, nested leaves merged in first.
    for field in mask.top_level_fields() {
        apply_field(ctx, name, &mut secret, field, masked.get(field))?;
    }
    let stored = ctx.store.put(API, name, Value::Object(secret), current.internal).clone();
    Ok(render(&stored, &[], false))
}

fn delete_secret(ctx: &mut Ctx<'_>, req: &ApiRequest, name: &str) -> Result<Value, ApiError> {
    let current = get_secret(ctx, name)?;
    check_etag(req.query.get("etag"), current, name)?;
    ctx.store.remove(API, name);
    ctx.store.remove_prefix(API, &format!("{name}/versions/"));
    Ok(json!({}))
}

fn list_secrets(ctx: &mut Ctx<'_>, req: &ApiRequest, parent: &str) -> Result<Value, ApiError> {
    let filter = Filter::parse(req.query.get("filter").unwrap_or(""))?;
    let prefix = format!("{parent}/secrets/");
    let mut secrets: Vec<&StoredResource> =
        ctx.store.children(API, &prefix).map(|(_, r)| r).filter(|r| filter.matches(&r.value)).collect();
    newest_first(&mut secrets);
    let total = secrets.len();
    let (page, next) = paginate(secrets, &req.query, MAX_PAGE_SIZE, MAX_PAGE_SIZE)?;
    let items: Vec<Value> = page.into_iter().map(|r| render(r, &[], false)).collect();
    Ok(list_response("secrets", items, next, if filter.is_empty() { total } else { 0 }))
}

fn newest_first(items: &mut [&StoredResource]) {
    items.sort_by(|a, b| {
        let key = |r: &StoredResource| (r.value["createTime"].as_str().unwrap_or("").to_string(), r.generation);
        key(b).cmp(&key(a))
    });
}

/// A list response with proto3 defaults left out (no empty list, token or zero size).
fn list_response(field: &str, items: Vec<Value>, next: Option<String>, total: usize) -> Value {
    let mut out = Map::new();
    if !items.is_empty() {
        out.insert(field.into(), Value::Array(items));
    }
    if let Some(token) = next {
        out.insert("nextPageToken".into(), Value::String(token));
    }
    if total > 0 {
        out.insert("totalSize".into(), Value::from(total as u64));
    }
    Value::Object(out)
}

fn versions_of<'s>(ctx: &'s Ctx<'_>, secret: &str) -> Vec<(u64, &'s StoredResource)> {
    let prefix = format!("{secret}/versions/");
    ctx.store
        .all(API)
        .filter_map(|(name, r)| {
            let n = name.strip_prefix(&prefix)?.parse::<u64>().ok()?;
            Some((n, r))
        })
        .collect()
}

fn add_version(ctx: &mut Ctx<'_>, req: &ApiRequest, secret: &str) -> Result<Value, ApiError> {
    let body = req.json_body()?;
    let payload = body
        .get("payload")
        .and_then(Value::as_object)
        .ok_or_else(|| invalid_argument("AddSecretVersionRequest.payload is required."))?;
    let stored = insert_version(ctx, secret, payload)?;
    Ok(render(&stored, VERSION_ENUMS, req.enum_ints))
}

fn decode_payload_data(data: &Value) -> Result<Vec<u8>, ApiError> {
    let text = match data {
        Value::Null => return Ok(Vec::new()),
        Value::String(s) => s,
        _ => return Err(invalid_argument("Invalid value at 'payload.data' (TYPE_BYTES): expected a base64 string.")),
    };
    let engines = [base64::engine::general_purpose::STANDARD, base64::engine::general_purpose::URL_SAFE];
    engines
        .iter()
        .find_map(|e| e.decode(text).ok())
        .or_else(|| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text).ok())
        .or_else(|| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).ok())
        .ok_or_else(|| invalid_argument("Invalid value at 'payload.data' (TYPE_BYTES): Base64 decoding failed."))
}

fn insert_version(ctx: &mut Ctx<'_>, secret: &str, payload: &Map<String, Value>) -> Result<StoredResource, ApiError> {
    let secret_value = get_secret(ctx, secret)?.value.clone();
    let data = decode_payload_data(payload.get("data").unwrap_or(&Value::Null))?;
    if data.len() > MAX_PAYLOAD_BYTES {
        return Err(invalid_argument(format!(
            "Secret payload is {} bytes; the maximum is {MAX_PAYLOAD_BYTES} bytes.",
            data.len()
        )));
    }
    let actual = crc32c::crc32c(&data);
    let client_checksum = match payload.get("dataCrc32c").filter(|v| !v.is_null()) {
        None => false,
        Some(v) => {
            let claimed = int64(v)
                .ok_or_else(|| invalid_argument(format!("Invalid value at 'payload.data_crc32c' (TYPE_INT64), {v}")))?;
            if claimed != i64::from(actual) {
                return Err(invalid_argument(
                    "Checksum mismatch: the payload's data_crc32c does not match the CRC32C of its data.",
                ));
            }
            true
        }
    };
    let number = versions_of(ctx, secret).iter().map(|(n, _)| *n).max().unwrap_or(0) + 1;
    let name = format!("{secret}/versions/{number}");
    let mut version = Map::new();
    version.insert("name".into(), Value::String(name.clone()));
    version.insert("createTime".into(), Value::String(timestamp(ctx.now)));
    version.insert("state".into(), Value::String("ENABLED".into()));
    if let Some(status) = replication_status(&secret_value) {
        version.insert("replicationStatus".into(), status);
    }
    if client_checksum {
        version.insert("clientSpecifiedPayloadChecksum".into(), Value::Bool(true));
    }
    let internal = json!({
        "data": base64::engine::general_purpose::STANDARD.encode(&data),
        "dataCrc32c": actual.to_string(),
    });
    Ok(ctx.store.put(API, &name, Value::Object(version), internal).clone())
}

fn replication_status(secret: &Value) -> Option<Value> {
    let replication = secret.get("replication")?;
    if replication.get("automatic").is_some() {
        return Some(json!({"automatic": {}}));
    }
    let replicas = replication.pointer("/userManaged/replicas")?.as_array()?;
    let statuses: Vec<Value> = replicas
        .iter()
        .filter_map(|r| r.get("location").cloned())
        .map(|location| json!({"location": location}))
        .collect();
    Some(json!({"userManaged": {"replicas": statuses}}))
}

/// The full version name for `latest`, a number or an alias.
fn resolve_version(ctx: &Ctx<'_>, secret: &str, version: &str) -> Result<String, ApiError> {
    let secret_value = &get_secret(ctx, secret)?.value;
    if version == "latest" {
        return versions_of(ctx, secret)
            .iter()
            .map(|(n, _)| *n)
            .max()
            .map(|n| format!("{secret}/versions/{n}"))
            .ok_or_else(|| not_found(format!("Secret [{secret}] not found or has no versions.")));
    }
    let number = if version.bytes().all(|b| b.is_ascii_digit()) && !version.is_empty() {
        version.to_string()
    } else {
        match secret_value.pointer(&format!("/versionAliases/{version}")).and_then(int64) {
            Some(n) => n.to_string(),
            None => return Err(version_not_found(&format!("{secret}/versions/{version}"))),
        }
    };
    let name = format!("{secret}/versions/{number}");
    if ctx.store.contains(API, &name) {
        Ok(name)
    } else {
        Err(version_not_found(&name))
    }
}

fn state_of(version: &StoredResource) -> &str {
    version.value["state"].as_str().unwrap_or("STATE_UNSPECIFIED")
}

fn access_version(ctx: &mut Ctx<'_>, secret: &str, version: &str) -> Result<Value, ApiError> {
    let name = resolve_version(ctx, secret, version)?;
    let stored = ctx.store.get(API, &name).ok_or_else(|| version_not_found(&name))?;
    let state = state_of(stored);
    if state != "ENABLED" {
        return Err(failed_precondition(format!("Secret Version [{name}] is in {state} state.")));
    }
    let mut payload = Map::new();
    if let Some(data) = stored.internal.get("data").filter(|d| d.as_str() != Some("")) {
        payload.insert("data".into(), data.clone());
    }
    if let Some(crc) = stored.internal.get("dataCrc32c") {
        payload.insert("dataCrc32c".into(), crc.clone());
    }
    Ok(json!({"name": name, "payload": payload}))
}

fn change_version_state(
    ctx: &mut Ctx<'_>,
    req: &ApiRequest,
    secret: &str,
    version: &str,
    verb: &str,
) -> Result<Value, ApiError> {
    let body = req.json_body()?;
    let name = resolve_version(ctx, secret, version)?;
    let current = ctx.store.get(API, &name).ok_or_else(|| version_not_found(&name))?.clone();
    check_etag(body.get("etag").and_then(Value::as_str), &current, &name)?;
    if state_of(&current) == "DESTROYED" {
        return Err(failed_precondition(format!("Secret Version [{name}] is in DESTROYED state.")));
    }
    let mut value = current.value.as_object().cloned().unwrap_or_default();
    let mut internal = current.internal;
    match verb {
        "enable" => {
            value.insert("state".into(), json!("ENABLED"));
            value.remove("scheduledDestroyTime");
        }
        "disable" => {
            value.insert("state".into(), json!("DISABLED"));
        }
        _ => {
            let delay = get_secret(ctx, secret)?
                .value
                .get("versionDestroyTtl")
                .and_then(|v| parse_duration(v, "version_destroy_ttl").ok())
                .filter(|d| *d > chrono::Duration::zero());
            match delay {
                // Delayed destruction: disabled now, destroyed later (the payload stays until then).
                Some(delay) => {
                    value.insert("state".into(), json!("DISABLED"));
                    value.insert("scheduledDestroyTime".into(), json!(timestamp(ctx.now + delay)));
                }
                None => {
                    value.insert("state".into(), json!("DESTROYED"));
                    value.insert("destroyTime".into(), json!(timestamp(ctx.now)));
                    value.remove("scheduledDestroyTime");
                    internal = Value::Null;
                }
            }
        }
    }
    let stored = ctx.store.put(API, &name, Value::Object(value), internal).clone();
    Ok(render(&stored, VERSION_ENUMS, req.enum_ints))
}

fn list_versions(ctx: &mut Ctx<'_>, req: &ApiRequest, secret: &str) -> Result<Value, ApiError> {
    get_secret(ctx, secret)?;
    let filter = Filter::parse(req.query.get("filter").unwrap_or(""))?;
    let mut versions = versions_of(ctx, secret);
    versions.retain(|(_, r)| filter.matches(&r.value));
    versions.sort_by_key(|(n, _)| std::cmp::Reverse(*n));
    let total = versions.len();
    let (page, next) = paginate(versions, &req.query, MAX_PAGE_SIZE, MAX_PAGE_SIZE)?;
    let items: Vec<Value> = page.into_iter().map(|(_, r)| render(r, &[], false)).collect();
    let mut out = list_response("versions", items, next, if filter.is_empty() { total } else { 0 });
    enums::encode(&mut out, VERSION_LIST_ENUMS, req.enum_ints);
    Ok(out)
}

// ---- scenario seeding ----

/// The `secretmanager` section of a scenario file (see `scenario.rs`).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioSection {
    #[serde(default)]
    secrets: Vec<ScenarioSecret>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioSecret {
    project: String,
    id: String,
    #[serde(default)]
    location: Option<String>,
    /// Defaults to `{"automatic": {}}` for global secrets.
    #[serde(default)]
    replication: Option<Value>,
    #[serde(default)]
    labels: Option<Value>,
    #[serde(default)]
    annotations: Option<Value>,
    #[serde(default, rename = "versionDestroyTtl")]
    version_destroy_ttl: Option<Value>,
    #[serde(default)]
    versions: Vec<ScenarioVersion>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioVersion {
    /// The payload as UTF-8 text.
    #[serde(default)]
    data: Option<String>,
    /// The payload as base64, for binary payloads.
    #[serde(default, rename = "dataBase64")]
    data_base64: Option<String>,
    /// ENABLED (default), DISABLED or DESTROYED.
    #[serde(default)]
    state: Option<String>,
}

fn seed_secret(ctx: &mut Ctx<'_>, s: &ScenarioSecret) -> Result<(), ApiError> {
    let project = ctx.store.projects.number_for(&s.project);
    let parent = match &s.location {
        Some(l) => format!("projects/{project}/locations/{l}"),
        None => format!("projects/{project}"),
    };
    let mut body = Map::new();
    let replication = match (&s.replication, &s.location) {
        (Some(r), _) => Some(r.clone()),
        (None, None) => Some(json!({"automatic": {}})),
        (None, Some(_)) => None,
    };
    for (key, value) in [
        ("replication", replication),
        ("labels", s.labels.clone()),
        ("annotations", s.annotations.clone()),
        ("versionDestroyTtl", s.version_destroy_ttl.clone()),
    ] {
        if let Some(v) = value {
            body.insert(key.into(), v);
        }
    }
    let secret = insert_secret(ctx, &parent, &s.id, &body)?;
    let secret_name = secret.value["name"].as_str().unwrap_or_default().to_string();
    for (i, v) in s.versions.iter().enumerate() {
        let data = match (&v.data, &v.data_base64) {
            (Some(text), None) => base64::engine::general_purpose::STANDARD.encode(text),
            (None, Some(b64)) => b64.clone(),
            (None, None) => String::new(),
            (Some(_), Some(_)) => {
                return Err(invalid_argument(format!("versions[{i}] sets both data and dataBase64; use one.")))
            }
        };
        let mut payload = Map::new();
        payload.insert("data".into(), Value::String(data));
        let version = insert_version(ctx, &secret_name, &payload)?;
        let name = version.value["name"].as_str().unwrap_or_default().to_string();
        let state = v.state.as_deref().unwrap_or("ENABLED");
        let mut value = version.value.as_object().cloned().unwrap_or_default();
        let mut internal = version.internal;
        match state {
            "ENABLED" => continue,
            "DISABLED" => {}
            "DESTROYED" => {
                value.insert("destroyTime".into(), json!(timestamp(ctx.now)));
                internal = Value::Null;
            }
            other => {
                return Err(invalid_argument(format!(
                    "versions[{i}].state \"{other}\" is not one of ENABLED, DISABLED, DESTROYED."
                )))
            }
        }
        value.insert("state".into(), json!(state));
        ctx.store.put(API, &name, Value::Object(value), internal);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::store::Store;

    fn request(method: Method, path: &str, query: &str, body: Value) -> ApiRequest {
        ApiRequest::decoded(method, path, query, body)
    }

    fn ctx(store: &mut Store) -> Ctx<'_> {
        Ctx { store, operation_duration: std::time::Duration::ZERO, now: Utc::now() }
    }

    /// Secret `s` in project `p`, created with `body`.
    fn create_secret_s(c: &mut Ctx<'_>, body: Value) {
        SecretManager.handle(c, &request(Method::POST, "v1/projects/p/secrets", "secretId=s", body)).unwrap();
    }

    /// A version of secret `s`, holding "x".
    fn add_version_to_s(c: &mut Ctx<'_>) {
        let add = request(Method::POST, "v1/projects/p/secrets/s:addVersion", "", json!({"payload": {"data": "eA=="}}));
        SecretManager.handle(c, &add).unwrap();
    }

    #[test]
    fn claims_global_and_regional_secret_paths_only() {
        let sm = SecretManager;
        assert!(sm.claims("v1/projects/p/secrets"));
        assert!(sm.claims("v1/projects/p/secrets/s/versions/latest:access"));
        assert!(sm.claims("v1/projects/p/locations/us-east1/secrets/s"));
        assert!(!sm.claims("v1/projects/p/locations/us-east1/connectors/c"));
        assert!(!sm.claims("v2/projects/p/sinks"));
        assert!(!sm.claims("v1/projects/p/instances"));
    }

    #[test]
    fn names_use_the_project_number_and_versions_count_up() {
        let mut store = Store::new();
        store.projects.insert("acme", "123456789012");
        let mut c = ctx(&mut store);
        let created = SecretManager
            .handle(
                &mut c,
                &request(
                    Method::POST,
                    "v1/projects/acme/secrets",
                    "secretId=db",
                    json!({"replication": {"automatic": {}}}),
                ),
            )
            .unwrap();
        assert_eq!(created["name"], "projects/123456789012/secrets/db");
        for expected in ["1", "2"] {
            let v = SecretManager
                .handle(
                    &mut c,
                    &request(
                        Method::POST,
                        "v1/projects/acme/secrets/db:addVersion",
                        "",
                        json!({"payload": {"data": "dG9rZW4tdjE="}}),
                    ),
                )
                .unwrap();
            assert_eq!(v["name"], format!("projects/123456789012/secrets/db/versions/{expected}"));
            assert_eq!(v["state"], "ENABLED");
            assert!(v.get("clientSpecifiedPayloadChecksum").is_none());
        }
        let access = SecretManager
            .handle(
                &mut c,
                &request(Method::GET, "v1/projects/123456789012/secrets/db/versions/latest:access", "", Value::Null),
            )
            .unwrap();
        assert_eq!(access["payload"]["dataCrc32c"], "3113634025");
        assert_eq!(access["name"], "projects/123456789012/secrets/db/versions/2");
    }

    #[test]
    fn regional_secrets_take_no_replication() {
        let mut store = Store::new();
        let mut c = ctx(&mut store);
        let err = SecretManager
            .handle(
                &mut c,
                &request(
                    Method::POST,
                    "v1/projects/p/locations/us-east1/secrets",
                    "secretId=r",
                    json!({"replication": {"automatic": {}}}),
                ),
            )
            .unwrap_err();
        assert_eq!(err.code, super::super::errors::Code::InvalidArgument);
        let ok = SecretManager
            .handle(&mut c, &request(Method::POST, "v1/projects/p/locations/us-east1/secrets", "secretId=r", json!({})))
            .unwrap();
        assert!(ok["name"].as_str().unwrap().ends_with("/locations/us-east1/secrets/r"));
        let v = SecretManager
            .handle(
                &mut c,
                &request(
                    Method::POST,
                    "v1/projects/p/locations/us-east1/secrets/r:addVersion",
                    "",
                    json!({"payload": {"data": "eA=="}}),
                ),
            )
            .unwrap();
        assert!(v.get("replicationStatus").is_none());
    }

    #[test]
    fn delayed_destroy_disables_and_schedules() {
        let mut store = Store::new();
        let mut c = ctx(&mut store);
        create_secret_s(&mut c, json!({"replication": {"automatic": {}}, "versionDestroyTtl": "86400s"}));
        add_version_to_s(&mut c);
        let v = SecretManager
            .handle(&mut c, &request(Method::POST, "v1/projects/p/secrets/s/versions/1:destroy", "", json!({})))
            .unwrap();
        assert_eq!(v["state"], "DISABLED");
        assert!(v.get("scheduledDestroyTime").is_some());
        assert!(v.get("destroyTime").is_none());

        c.now += chrono::Duration::days(2);
        let v = SecretManager
            .handle(&mut c, &request(Method::GET, "v1/projects/p/secrets/s/versions/1", "", Value::Null))
            .unwrap();
        assert_eq!(v["state"], "DESTROYED");
        assert!(v.get("scheduledDestroyTime").is_none());
        assert!(c.store.get(API, v["name"].as_str().unwrap()).unwrap().internal.is_null());
    }

    #[test]
    fn expired_secrets_disappear() {
        let mut store = Store::new();
        let mut c = ctx(&mut store);
        create_secret_s(&mut c, json!({"replication": {"automatic": {}}, "ttl": "60s"}));
        add_version_to_s(&mut c);
        c.now += chrono::Duration::seconds(61);
        let err = SecretManager
            .handle(&mut c, &request(Method::GET, "v1/projects/p/secrets/s", "", Value::Null))
            .unwrap_err();
        assert_eq!(err.http_status, 404);
        assert_eq!(c.store.all(API).count(), 0, "versions went with it");
    }

    #[test]
    fn mask_paths_accept_snake_case_and_reject_immutable_fields() {
        assert_eq!(crate::emulator::api::json_field_name("version_destroy_ttl"), "versionDestroyTtl");
        assert_eq!(crate::emulator::api::json_field_name("labels"), "labels");
        let mut store = Store::new();
        let mut c = ctx(&mut store);
        create_secret_s(&mut c, json!({"replication": {"automatic": {}}, "labels": {"a": "b"}}));
        let patched = SecretManager
            .handle(
                &mut c,
                &request(
                    Method::PATCH,
                    "v1/projects/p/secrets/s",
                    "updateMask=expire_time",
                    json!({"expireTime": "2030-01-01T00:00:00Z", "labels": {"ignored": "x"}}),
                ),
            )
            .unwrap();
        assert_eq!(patched["expireTime"], "2030-01-01T00:00:00.000000000Z");
        assert_eq!(patched["labels"], json!({"a": "b"}), "unmasked fields are untouched");
        let err = SecretManager
            .handle(&mut c, &request(Method::PATCH, "v1/projects/p/secrets/s", "updateMask=replication", json!({})))
            .unwrap_err();
        assert!(err.message.contains("immutable"));
        let err = SecretManager
            .handle(
                &mut c,
                &request(
                    Method::POST,
                    "v1/projects/p/secrets",
                    "secretId=t",
                    json!({"replication": {"automatic": {}}, "labels": {"Env": "x"}}),
                ),
            )
            .unwrap_err();
        assert!(err.message.contains("label key"), "{}", err.message);
    }

    #[test]
    fn nested_mask_paths_write_exactly_the_leaves_named() {
        let mut store = Store::new();
        let mut c = ctx(&mut store);
        let rotation = json!({"nextRotationTime": "2030-01-01T00:00:00Z", "rotationPeriod": "3600s"});
        create_secret_s(
            &mut c,
            json!({"replication": {"automatic": {}}, "topics": [{"name": "projects/p/topics/t"}], "rotation": rotation, "labels": {"a": "b"}}),
        );
        let patch = |c: &mut Ctx<'_>, mask: &str, body: Value| {
            SecretManager
                .handle(c, &request(Method::PATCH, "v1/projects/p/secrets/s", &format!("updateMask={mask}"), body))
        };
        let sent =
            json!({"rotation": {"nextRotationTime": "2031-06-01T00:00:00Z", "rotationPeriod": "60s"}, "labels": {}});
        let patched = patch(&mut c, "rotation.nextRotationTime", sent.clone()).unwrap();
        assert_eq!(patched["rotation"], json!({"nextRotationTime": "2031-06-01T00:00:00Z", "rotationPeriod": "3600s"}));
        assert_eq!(patched["labels"], json!({"a": "b"}));
        let patched = patch(&mut c, "rotation.next_rotation_time,rotation.rotation_period", sent).unwrap();
        assert_eq!(patched["rotation"], json!({"nextRotationTime": "2031-06-01T00:00:00Z", "rotationPeriod": "60s"}));
        let cleared = patch(&mut c, "rotation.rotationPeriod", json!({})).unwrap();
        assert_eq!(
            cleared["rotation"],
            json!({"nextRotationTime": "2031-06-01T00:00:00Z"}),
            "a masked leaf left out is cleared"
        );
        for refused in ["rotation_x", "replication.automatic", "create_time", "nonsense.path"] {
            let err = patch(&mut c, refused, json!({})).unwrap_err();
            assert_eq!(err.code, super::super::errors::Code::InvalidArgument, "{refused}");
        }
        let got =
            SecretManager.handle(&mut c, &request(Method::GET, "v1/projects/p/secrets/s", "", Value::Null)).unwrap();
        assert_eq!(
            got["rotation"],
            json!({"nextRotationTime": "2031-06-01T00:00:00Z"}),
            "refused patches change nothing"
        );
    }
}
