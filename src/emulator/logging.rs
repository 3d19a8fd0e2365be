//! Cloud Logging API v2 project sinks (`logging.googleapis.com`), per the discovery document
//! (revision 20240620) and gcp-wire-formats.md §5. Every call is synchronous (no operations).
//!
//! Sinks live in the store under `projects/{NUMBER}/sinks/{id}`, so a project id and its number
//! reach the same sink. A sink's `name` is its short id; `resourceName` is the full path.
//! Whether the sink has a unique writer identity is kept in its internal data, because an
//! update may change it only from legacy to unique.

use axum::http::Method;
use serde_json::{json, Map, Value};

use super::api::{paginate, Api, ApiRequest, Ctx};
use super::discovery;
use super::enums::{self, EnumField};
use super::errors::{already_exists, invalid_argument, not_found, ApiError, Envelope};
use super::mask::{MaskRules, Refusal, UpdateMask};
use super::operations::timestamp;
use super::store::StoredResource;

pub const API: &str = "logging";

const LEGACY_WRITER: &str = "serviceAccount:cloud-logs@system.gserviceaccount.com";
const VERSION_FORMATS: &[&str] = &["VERSION_FORMAT_UNSPECIFIED", "V2", "V1"];
const SINK_ENUMS: &[EnumField] = &[EnumField { path: "outputVersionFormat", values: VERSION_FORMATS }];
const LIST_ENUMS: &[EnumField] = &[EnumField { path: "sinks[].outputVersionFormat", values: VERSION_FORMATS }];

const OUTPUT_ONLY: &[&str] = &["writerIdentity", "createTime", "updateTime", "resourceName"];

/// What `updateMask` may name: the writable fields and any path inside them.
const MASK_RULES: MaskRules<'static> = MaskRules {
    updatable: &[
        "destination",
        "filter",
        "description",
        "disabled",
        "exclusions",
        "includeChildren",
        "interceptChildren",
        "outputVersionFormat",
        "bigqueryOptions",
    ],
    immutable: &["name"],
    output_only: &[
        "writerIdentity",
        "createTime",
        "updateTime",
        "resourceName",
        "bigqueryOptions.usesTimestampColumnPartitioning",
    ],
    known: Some(&is_sink_path),
};

/// What an empty update mask means, for backward compatibility (observed on the real API).
const DEFAULT_MASK: &[&str] = &["destination", "filter", "includeChildren"];

const MAX_PAGE_SIZE: usize = 1000;

pub struct Logging;

#[derive(Debug, PartialEq)]
enum Target {
    Sinks { parent: String },
    Sink { parent: String, id: String },
}

impl Api for Logging {
    fn name(&self) -> &'static str {
        API
    }

    fn envelope(&self) -> Envelope {
        Envelope::Aip
    }

    fn claims(&self, path: &str) -> bool {
        let segs: Vec<&str> = path.split('/').collect();
        matches!(segs.as_slice(), ["v2", "projects", _, "sinks", ..])
    }

    fn handle(&self, ctx: &mut Ctx<'_>, req: &ApiRequest) -> Result<Value, ApiError> {
        let m = &req.method;
        match parse_target(ctx, &req.path)? {
            Target::Sinks { parent } if m == Method::GET => list(ctx, req, &parent),
            Target::Sinks { parent } if m == Method::POST => create(ctx, req, &parent),
            Target::Sink { parent, id } if m == Method::GET => {
                let stored = get(ctx, &parent, &id)?;
                Ok(render(stored, req.enum_ints))
            }
            Target::Sink { parent, id } if m == Method::PUT || m == Method::PATCH => update(ctx, req, &parent, &id),
            Target::Sink { parent, id } if m == Method::DELETE => {
                get(ctx, &parent, &id)?;
                ctx.store.remove(API, &format!("{parent}/sinks/{id}"));
                Ok(json!({}))
            }
            _ => Err(not_found(format!("The Logging API has no method {} /{}.", req.method, req.path))),
        }
    }

    fn seed(&self, ctx: &mut Ctx<'_>, section: &Value) -> Result<(), String> {
        let scenario: ScenarioSection = serde_json::from_value(section.clone()).map_err(|e| format!("logging: {e}"))?;
        for (i, sink) in scenario.sinks.iter().enumerate() {
            seed_sink(ctx, sink).map_err(|e| format!("logging.sinks[{i}] ({}): {}", sink.name, e.message))?;
        }
        Ok(())
    }
}

fn parse_target(ctx: &mut Ctx<'_>, path: &str) -> Result<Target, ApiError> {
    let segs: Vec<&str> = path.split('/').collect();
    let bad = || not_found(format!("The Logging API has no resource /{path}."));
    let (p, rest) = match segs.as_slice() {
        ["v2", "projects", p, rest @ ..] if !p.is_empty() => (*p, rest),
        _ => return Err(bad()),
    };
    let parent = format!("projects/{}", ctx.store.projects.number_for(p));
    match rest {
        ["sinks"] => Ok(Target::Sinks { parent }),
        ["sinks", id] if !id.is_empty() => Ok(Target::Sink { parent, id: id.to_string() }),
        _ => Err(bad()),
    }
}

fn sink_not_found(id: &str) -> ApiError {
    not_found(format!("Sink {id} does not exist"))
}

fn get<'s>(ctx: &'s Ctx<'_>, parent: &str, id: &str) -> Result<&'s StoredResource, ApiError> {
    ctx.store.get(API, &format!("{parent}/sinks/{id}")).ok_or_else(|| sink_not_found(id))
}

fn render(stored: &StoredResource, ints: bool) -> Value {
    let mut value = stored.value.clone();
    enums::encode(&mut value, SINK_ENUMS, ints);
    value
}

/// Sink and exclusion ids: at most 100 letters, digits, `_`, `-` and `.`, starting with a
/// letter or digit.
fn valid_id(id: &str) -> bool {
    id.len() <= 100
        && id.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// The project a destination lives in, or an error for a destination no sink can have. Checked
/// loosely (the shape, not whether the bucket, dataset or topic exists), as the API does.
fn check_destination(destination: &str) -> Result<Option<String>, ApiError> {
    let bad = || {
        invalid_argument(format!(
            "Invalid destination \"{destination}\": expected storage.googleapis.com/BUCKET, bigquery.googleapis.com/projects/P/datasets/D, pubsub.googleapis.com/projects/P/topics/T or logging.googleapis.com/projects/P[/locations/L/buckets/B]."
        ))
    };
    let non_empty = |parts: &[&str]| parts.iter().all(|p| !p.is_empty());
    let (service, rest) = destination.split_once('/').ok_or_else(bad)?;
    let segs: Vec<&str> = rest.split('/').collect();
    match (service, segs.as_slice()) {
        ("storage.googleapis.com", [bucket]) if non_empty(&[bucket]) => Ok(None),
        ("bigquery.googleapis.com", ["projects", p, "datasets", d]) if non_empty(&[p, d]) => Ok(Some(p.to_string())),
        ("pubsub.googleapis.com", ["projects", p, "topics", t]) if non_empty(&[p, t]) => Ok(Some(p.to_string())),
        ("logging.googleapis.com", ["projects", p]) if non_empty(&[p]) => Ok(Some(p.to_string())),
        ("logging.googleapis.com", ["projects", p, "locations", l, "buckets", b]) if non_empty(&[p, l, b]) => {
            Ok(Some(p.to_string()))
        }
        _ => Err(bad()),
    }
}

/// Checks the writable fields of a sink body and drops what the API leaves out (false, empty).
fn normalize(body: &mut Map<String, Value>) -> Result<(), ApiError> {
    let destination = match body.get("destination") {
        Some(Value::String(d)) if !d.is_empty() => d.clone(),
        _ => return Err(invalid_argument("Sink destination is required.")),
    };
    check_destination(&destination)?;
    for field in ["filter", "description"] {
        match body.get(field) {
            None | Some(Value::Null) => {
                body.remove(field);
            }
            Some(Value::String(s)) if s.is_empty() => {
                body.remove(field);
            }
            Some(Value::String(_)) => {}
            Some(other) => {
                return Err(invalid_argument(format!("Invalid value at 'sink.{field}' (TYPE_STRING), {other}")))
            }
        }
    }
    if body.get("description").and_then(Value::as_str).is_some_and(|d| d.chars().count() > 8000) {
        return Err(invalid_argument("The sink description is longer than 8000 characters."));
    }
    for field in ["disabled", "includeChildren", "interceptChildren"] {
        match body.get(field) {
            Some(Value::Bool(true)) => {}
            None | Some(Value::Null) | Some(Value::Bool(false)) => {
                body.remove(field);
            }
            Some(other) => {
                return Err(invalid_argument(format!("Invalid value at 'sink.{field}' (TYPE_BOOL), {other}")))
            }
        }
    }
    let mut decoded = Value::Object(body.clone());
    enums::decode(&mut decoded, SINK_ENUMS).map_err(invalid_argument)?;
    if let Value::Object(m) = decoded {
        *body = m;
    }
    match body.get("outputVersionFormat") {
        None => {}
        Some(Value::String(s)) if s == "VERSION_FORMAT_UNSPECIFIED" => {
            body.remove("outputVersionFormat");
        }
        Some(Value::String(s)) if VERSION_FORMATS.contains(&s.as_str()) => {}
        Some(other) => return Err(invalid_argument(format!("Invalid value at 'sink.output_version_format', {other}"))),
    }
    match body.get("exclusions") {
        None | Some(Value::Null) => {
            body.remove("exclusions");
        }
        Some(Value::Array(items)) if items.is_empty() => {
            body.remove("exclusions");
        }
        Some(Value::Array(items)) => {
            let mut seen = Vec::new();
            for (i, ex) in items.iter().enumerate() {
                let name = ex.get("name").and_then(Value::as_str).unwrap_or_default();
                if !valid_id(name) {
                    return Err(invalid_argument(format!(
                        "Invalid exclusion name \"{name}\" at sink.exclusions[{i}]: names are at most 100 letters, digits, '_', '-' and '.', starting with a letter or digit."
                    )));
                }
                if seen.contains(&name) {
                    return Err(invalid_argument(format!("Duplicate exclusion name \"{name}\" in sink.exclusions.")));
                }
                seen.push(name);
                if ex.get("filter").and_then(Value::as_str).unwrap_or_default().is_empty() {
                    return Err(invalid_argument(format!("sink.exclusions[{i}].filter is required.")));
                }
            }
        }
        Some(other) => return Err(invalid_argument(format!("Invalid value at 'sink.exclusions', {other}"))),
    }
    let bigquery = destination.starts_with("bigquery.googleapis.com/");
    match body.remove("bigqueryOptions") {
        None | Some(Value::Null) => {}
        Some(Value::Object(options)) => {
            let partitioned = options.get("usePartitionedTables").and_then(Value::as_bool).unwrap_or(false);
            if partitioned && !bigquery {
                return Err(invalid_argument(
                    "bigquery_options can only be set for sinks with a BigQuery destination.",
                ));
            }
            if bigquery && partitioned {
                // New sinks partition on the timestamp column (output only).
                body.insert(
                    "bigqueryOptions".into(),
                    json!({"usePartitionedTables": true, "usesTimestampColumnPartitioning": true}),
                );
            }
        }
        Some(other) => return Err(invalid_argument(format!("Invalid value at 'sink.bigquery_options', {other}"))),
    }
    Ok(())
}

/// Refuses a field, at any depth, that the LogSink schema does not know; output-only ones
/// are known, and ignored.
fn check_known_fields(body: &Map<String, Value>) -> Result<(), ApiError> {
    discovery::of(API).check_body("LogSink", body, "sink")
}

fn is_sink_path(path: &str) -> bool {
    discovery::of(API).knows_path("LogSink", path)
}

fn flag(req: &ApiRequest, name: &str) -> bool {
    req.query.get(name).is_some_and(|v| v == "true" || v == "1")
}

/// The writer identity a sink gets: none for a log bucket in its own project, else the
/// custom one, the per-project service agent, or the legacy shared identity.
fn writer_identity(
    parent_number: &str,
    destination_project: Option<&str>,
    destination: &str,
    unique: bool,
    custom: Option<&str>,
    ctx: &mut Ctx<'_>,
) -> Option<String> {
    if destination.starts_with("logging.googleapis.com/") {
        let same = destination_project.is_some_and(|p| ctx.store.projects.number_for(p) == parent_number);
        if same {
            return None;
        }
    }
    if let Some(custom) = custom {
        return Some(custom.to_string());
    }
    Some(if unique {
        format!("serviceAccount:service-{parent_number}@gcp-sa-logging.iam.gserviceaccount.com")
    } else {
        LEGACY_WRITER.to_string()
    })
}

/// Builds and stores a new sink; `times` false leaves out create/update times (older sinks).
fn insert_sink(
    ctx: &mut Ctx<'_>,
    parent: &str,
    mut body: Map<String, Value>,
    unique: bool,
    custom: Option<&str>,
    times: bool,
) -> Result<StoredResource, ApiError> {
    check_known_fields(&body)?;
    let id = match body.get("name") {
        Some(Value::String(n)) if !n.is_empty() => n.clone(),
        _ => return Err(invalid_argument("Sink name is required: set the sink id in the body's name field.")),
    };
    if !valid_id(&id) {
        return Err(invalid_argument(format!(
            "Invalid sink name \"{id}\": sink names are at most 100 letters, digits, '_', '-' and '.', starting with a letter or digit."
        )));
    }
    let key = format!("{parent}/sinks/{id}");
    if ctx.store.contains(API, &key) {
        return Err(already_exists(format!("Sink {id} already exists")));
    }
    for field in OUTPUT_ONLY {
        body.remove(*field);
    }
    normalize(&mut body)?;
    let destination = body["destination"].as_str().unwrap_or_default().to_string();
    let destination_project = check_destination(&destination)?;
    let number = parent.strip_prefix("projects/").unwrap_or(parent).to_string();
    let identity = writer_identity(&number, destination_project.as_deref(), &destination, unique, custom, ctx);
    let mut value = Map::new();
    value.insert("name".into(), json!(id));
    value.extend(body);
    if let Some(identity) = identity {
        value.insert("writerIdentity".into(), json!(identity));
    }
    if times {
        let now = timestamp(ctx.now);
        value.insert("createTime".into(), json!(now));
        value.insert("updateTime".into(), json!(now));
    }
    let project_id = ctx.store.projects.id_for(&number);
    value.insert("resourceName".into(), json!(format!("projects/{project_id}/sinks/{id}")));
    Ok(ctx.store.put(API, &key, Value::Object(value), json!({"uniqueWriterIdentity": unique})).clone())
}

fn create(ctx: &mut Ctx<'_>, req: &ApiRequest, parent: &str) -> Result<Value, ApiError> {
    let body = req.json_body()?;
    let custom = req.query.get("customWriterIdentity").map(str::to_string);
    let stored = insert_sink(ctx, parent, body, flag(req, "uniqueWriterIdentity"), custom.as_deref(), true)?;
    Ok(render(&stored, req.enum_ints))
}

fn update(ctx: &mut Ctx<'_>, req: &ApiRequest, parent: &str, id: &str) -> Result<Value, ApiError> {
    let current = get(ctx, parent, id)?.clone();
    let body = req.json_body()?;
    check_known_fields(&body)?;
    let mut mask = UpdateMask::from_query(&req.query);
    if mask.is_empty() {
        mask = UpdateMask::of(DEFAULT_MASK);
    }
    mask.check(&MASK_RULES, |path, why| {
        let why = match why {
            Refusal::Immutable => "the sink name cannot be changed",
            Refusal::OutputOnly => "the field is output only",
            Refusal::Unknown => "the updatable sink fields are destination, filter, description, disabled, exclusions, include_children, intercept_children, output_version_format and bigquery_options",
        };
        invalid_argument(format!("Invalid update_mask path \"{path}\": {why}."))
    })?;
    let mut value = current.value.as_object().cloned().unwrap_or_default();
    mask.apply(&mut value, &body);
    let mut writable: Map<String, Value> = value
        .iter()
        .filter(|(k, _)| !OUTPUT_ONLY.contains(&k.as_str()) && k.as_str() != "name")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    normalize(&mut writable)?;

    let was_unique = current.internal["uniqueWriterIdentity"].as_bool().unwrap_or(false);
    let wants_unique = flag(req, "uniqueWriterIdentity");
    let has_identity = current.value.get("writerIdentity").is_some();
    if was_unique && !wants_unique && has_identity {
        return Err(invalid_argument(format!(
            "Sink {id} has a unique writer identity; an update must keep unique_writer_identity=true (it cannot go back to the shared identity)."
        )));
    }
    let unique = was_unique || wants_unique;
    let destination = writable["destination"].as_str().unwrap_or_default().to_string();
    let destination_project = check_destination(&destination)?;
    let number = parent.strip_prefix("projects/").unwrap_or(parent).to_string();
    let custom = req.query.get("customWriterIdentity").map(str::to_string);
    // The current identity stays unless this update moves the sink to a unique writer.
    let keep_custom = (custom.is_none() && (was_unique || !wants_unique))
        .then(|| current.value.get("writerIdentity").and_then(Value::as_str).map(str::to_string))
        .flatten();
    let identity = writer_identity(
        &number,
        destination_project.as_deref(),
        &destination,
        unique,
        custom.as_deref().or(keep_custom.as_deref()),
        ctx,
    );

    let mut out = Map::new();
    out.insert("name".into(), json!(id));
    out.extend(writable);
    if let Some(identity) = identity {
        out.insert("writerIdentity".into(), json!(identity));
    }
    if let Some(created) = current.value.get("createTime") {
        out.insert("createTime".into(), created.clone());
    }
    out.insert("updateTime".into(), json!(timestamp(ctx.now)));
    if let Some(resource_name) = current.value.get("resourceName") {
        out.insert("resourceName".into(), resource_name.clone());
    }
    let stored = ctx
        .store
        .put(API, &format!("{parent}/sinks/{id}"), Value::Object(out), json!({"uniqueWriterIdentity": unique}))
        .clone();
    Ok(render(&stored, req.enum_ints))
}

fn list(ctx: &mut Ctx<'_>, req: &ApiRequest, parent: &str) -> Result<Value, ApiError> {
    let prefix = format!("{parent}/sinks/");
    let sinks: Vec<Value> = ctx.store.children(API, &prefix).map(|(_, r)| r.value.clone()).collect();
    let (page, next) = paginate(sinks, &req.query, MAX_PAGE_SIZE, MAX_PAGE_SIZE)?;
    let mut out = Map::new();
    if !page.is_empty() {
        out.insert("sinks".into(), Value::Array(page));
    }
    if let Some(token) = next {
        out.insert("nextPageToken".into(), json!(token));
    }
    let mut out = Value::Object(out);
    enums::encode(&mut out, LIST_ENUMS, req.enum_ints);
    Ok(out)
}

// ---- scenario seeding ----

/// The `logging` section of a scenario file (see `scenario.rs`).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioSection {
    #[serde(default)]
    sinks: Vec<ScenarioSink>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ScenarioSink {
    project: String,
    name: String,
    destination: String,
    #[serde(default)]
    filter: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    disabled: Option<bool>,
    #[serde(default)]
    exclusions: Option<Value>,
    #[serde(default)]
    bigquery_options: Option<Value>,
    /// Default true (what Terraform asks for); false gives the legacy shared identity.
    #[serde(default)]
    unique_writer_identity: Option<bool>,
    /// Pins the writer identity (e.g. a service account that lost its grant).
    #[serde(default)]
    writer_identity: Option<String>,
    /// An older sink without createTime/updateTime.
    #[serde(default)]
    no_timestamps: bool,
}

fn seed_sink(ctx: &mut Ctx<'_>, s: &ScenarioSink) -> Result<(), ApiError> {
    let parent = format!("projects/{}", ctx.store.projects.number_for(&s.project));
    let mut body = Map::new();
    body.insert("name".into(), json!(s.name));
    body.insert("destination".into(), json!(s.destination));
    for (key, value) in [
        ("filter", s.filter.clone().map(Value::String)),
        ("description", s.description.clone().map(Value::String)),
        ("disabled", s.disabled.map(Value::Bool)),
        ("exclusions", s.exclusions.clone()),
        ("bigqueryOptions", s.bigquery_options.clone()),
    ] {
        if let Some(v) = value {
            body.insert(key.into(), v);
        }
    }
    let unique = s.unique_writer_identity.unwrap_or(true);
    insert_sink(ctx, &parent, body, unique, s.writer_identity.as_deref(), !s.no_timestamps)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::store::Store;

    fn call(store: &mut Store, method: Method, path: &str, query: &str, body: Value) -> Result<Value, ApiError> {
        let req = ApiRequest::decoded(method, path, query, body);
        let mut ctx = Ctx { store, operation_duration: std::time::Duration::ZERO, now: chrono::Utc::now() };
        Logging.handle(&mut ctx, &req)
    }

    fn store() -> Store {
        let mut store = Store::new();
        store.projects.insert("acme", "123456789012");
        store
    }

    #[test]
    fn claims_v2_project_sinks_only() {
        assert!(Logging.claims("v2/projects/p/sinks"));
        assert!(Logging.claims("v2/projects/p/sinks/s"));
        assert!(!Logging.claims("v1/projects/p/secrets"));
        assert!(!Logging.claims("v2/projects/p/exclusions"));
    }

    #[test]
    fn writer_identity_follows_unique_writer_identity() {
        let mut s = store();
        let unique = call(
            &mut s,
            Method::POST,
            "v2/projects/acme/sinks",
            "uniqueWriterIdentity=true",
            json!({"name": "a", "destination": "pubsub.googleapis.com/projects/acme/topics/t"}),
        )
        .unwrap();
        assert_eq!(
            unique["writerIdentity"],
            "serviceAccount:service-123456789012@gcp-sa-logging.iam.gserviceaccount.com"
        );
        assert_eq!(unique["name"], "a");
        assert_eq!(unique["resourceName"], "projects/acme/sinks/a");
        assert!(unique.get("disabled").is_none() && unique.get("filter").is_none());
        let legacy = call(
            &mut s,
            Method::POST,
            "v2/projects/acme/sinks",
            "uniqueWriterIdentity=false",
            json!({"name": "b", "destination": "storage.googleapis.com/bkt"}),
        )
        .unwrap();
        assert_eq!(legacy["writerIdentity"], LEGACY_WRITER);
        let bucket = call(
            &mut s,
            Method::POST,
            "v2/projects/123456789012/sinks",
            "",
            json!({"name": "c", "destination": "logging.googleapis.com/projects/acme/locations/global/buckets/b"}),
        )
        .unwrap();
        assert!(bucket.get("writerIdentity").is_none(), "a bucket in the same project needs no writer");
        let err = call(
            &mut s,
            Method::POST,
            "v2/projects/acme/sinks",
            "",
            json!({"name": "a", "destination": "storage.googleapis.com/x"}),
        )
        .unwrap_err();
        assert_eq!((err.http_status, err.message.as_str()), (409, "Sink a already exists"));
    }

    #[test]
    fn destinations_and_names_are_checked_loosely() {
        let mut s = store();
        for bad in ["bigquery.googleapis.com/datasets/d", "s3://bucket", "pubsub.googleapis.com/projects/p/topics/", ""]
        {
            assert!(
                call(&mut s, Method::POST, "v2/projects/acme/sinks", "", json!({"name": "x", "destination": bad}))
                    .is_err(),
                "{bad}"
            );
        }
        let err = call(
            &mut s,
            Method::POST,
            "v2/projects/acme/sinks",
            "",
            json!({"name": "-bad", "destination": "storage.googleapis.com/b"}),
        )
        .unwrap_err();
        assert!(err.message.contains("Invalid sink name"), "{}", err.message);
        let err = call(
            &mut s,
            Method::POST,
            "v2/projects/acme/sinks",
            "",
            json!({"name": "x", "destination": "storage.googleapis.com/b", "sinkId": "x"}),
        )
        .unwrap_err();
        assert!(err.message.contains("Unknown name \"sinkId\""), "{}", err.message);
    }

    #[test]
    fn bigquery_partitioning_reports_the_timestamp_column() {
        let mut s = store();
        let sink = call(&mut s, Method::POST, "v2/projects/acme/sinks", "uniqueWriterIdentity=true",
            json!({"name": "bq", "destination": "bigquery.googleapis.com/projects/acme/datasets/logs", "bigqueryOptions": {"usePartitionedTables": true}})).unwrap();
        assert_eq!(
            sink["bigqueryOptions"],
            json!({"usePartitionedTables": true, "usesTimestampColumnPartitioning": true})
        );
        let err = call(&mut s, Method::POST, "v2/projects/acme/sinks", "",
            json!({"name": "gcs", "destination": "storage.googleapis.com/b", "bigqueryOptions": {"usePartitionedTables": true}})).unwrap_err();
        assert!(err.message.contains("BigQuery"));
    }

    #[test]
    fn update_masks_default_and_unique_identity_cannot_be_dropped() {
        let mut s = store();
        call(&mut s, Method::POST, "v2/projects/acme/sinks", "",
            json!({"name": "a", "destination": "storage.googleapis.com/one", "filter": "severity>=ERROR", "description": "d"})).unwrap();
        // Empty mask: destination, filter, includeChildren — description stays.
        let updated = call(
            &mut s,
            Method::PUT,
            "v2/projects/acme/sinks/a",
            "",
            json!({"destination": "storage.googleapis.com/two", "description": "ignored"}),
        )
        .unwrap();
        assert_eq!(updated["destination"], "storage.googleapis.com/two");
        assert!(updated.get("filter").is_none(), "the default mask cleared the filter");
        assert_eq!(updated["description"], "d");
        assert_eq!(updated["writerIdentity"], LEGACY_WRITER);
        let patched = call(
            &mut s,
            Method::PATCH,
            "v2/projects/acme/sinks/a",
            "updateMask=disabled,description&uniqueWriterIdentity=true",
            json!({"disabled": true}),
        )
        .unwrap();
        assert_eq!(patched["disabled"], true);
        assert!(patched.get("description").is_none());
        assert!(patched["writerIdentity"].as_str().unwrap().contains("gcp-sa-logging"), "legacy → unique is allowed");
        assert_ne!(patched["updateTime"], Value::Null);
        let err = call(
            &mut s,
            Method::PATCH,
            "v2/projects/acme/sinks/a",
            "updateMask=filter&uniqueWriterIdentity=false",
            json!({}),
        )
        .unwrap_err();
        assert!(err.message.contains("unique_writer_identity"), "{}", err.message);
        let err = call(
            &mut s,
            Method::PATCH,
            "v2/projects/acme/sinks/a",
            "updateMask=writer_identity&uniqueWriterIdentity=true",
            json!({}),
        )
        .unwrap_err();
        assert!(err.message.contains("update_mask"), "{}", err.message);
    }

    #[test]
    fn list_get_delete_and_not_found() {
        let mut s = store();
        for n in ["a", "b", "c"] {
            call(
                &mut s,
                Method::POST,
                "v2/projects/acme/sinks",
                "",
                json!({"name": n, "destination": "storage.googleapis.com/b"}),
            )
            .unwrap();
        }
        let page = call(&mut s, Method::GET, "v2/projects/acme/sinks", "pageSize=2", Value::Null).unwrap();
        assert_eq!(page["sinks"].as_array().unwrap().len(), 2);
        assert!(page["nextPageToken"].is_string());
        call(&mut s, Method::DELETE, "v2/projects/acme/sinks/b", "", Value::Null).unwrap();
        let err = call(&mut s, Method::GET, "v2/projects/acme/sinks/b", "", Value::Null).unwrap_err();
        assert_eq!((err.http_status, err.message.as_str()), (404, "Sink b does not exist"));
        assert_eq!(call(&mut s, Method::GET, "v2/projects/empty/sinks", "", Value::Null).unwrap(), json!({}));
        let with_format = call(
            &mut s,
            Method::POST,
            "v2/projects/acme/sinks",
            "$alt=json;enum-encoding=int",
            json!({"name": "v", "destination": "storage.googleapis.com/b", "outputVersionFormat": 1}),
        )
        .unwrap();
        assert_eq!(with_format["outputVersionFormat"], 1);
        assert_eq!(s.get(API, "projects/123456789012/sinks/v").unwrap().value["outputVersionFormat"], "V2");
    }

    #[test]
    fn seeds_sinks_including_odd_ones() {
        let mut s = store();
        let mut ctx = Ctx { store: &mut s, operation_duration: std::time::Duration::ZERO, now: chrono::Utc::now() };
        Logging.seed(&mut ctx, &json!({"sinks": [
            {"project": "acme", "name": "old", "destination": "storage.googleapis.com/b", "uniqueWriterIdentity": false, "noTimestamps": true},
            {"project": "acme", "name": "pinned", "destination": "pubsub.googleapis.com/projects/x/topics/t", "writerIdentity": "serviceAccount:gone@x.iam.gserviceaccount.com", "disabled": true}]})).unwrap();
        let old = &s.get(API, "projects/123456789012/sinks/old").unwrap().value;
        assert_eq!(old["writerIdentity"], LEGACY_WRITER);
        assert!(old.get("createTime").is_none());
        assert_eq!(
            s.get(API, "projects/123456789012/sinks/pinned").unwrap().value["writerIdentity"],
            "serviceAccount:gone@x.iam.gserviceaccount.com"
        );
        let mut ctx = Ctx { store: &mut s, operation_duration: std::time::Duration::ZERO, now: chrono::Utc::now() };
        let err = Logging
            .seed(&mut ctx, &json!({"sinks": [{"project": "acme", "name": "bad", "destination": "nowhere"}]}))
            .unwrap_err();
        assert!(err.contains("logging.sinks[0] (bad)"), "{err}");
    }
}
