//! BigQuery API v2 datasets (`bigquery.googleapis.com/bigquery/v2/projects/{p}/datasets…`), per
//! the discovery document (revision 20261009) and the API reference.
//!
//! Datasets live in the store under `projects/{project id}/datasets/{dataset id}`; a deleted
//! dataset is kept under `deleted/projects/…` until it is undeleted or the id is reused. The
//! emulator keeps no tables, so `deleteContents` never has anything to refuse.
//!
//! Unlike the AIP APIs, BigQuery does optimistic concurrency in HTTP: `etag` is a dataset
//! field, and `patch`/`update` honour `If-Match: <etag>` with 412 when it is stale. Errors use
//! BigQuery's envelope (legacy `errors[]` plus `status`), with its own messages
//! (`Not found: Dataset p:d`, `Already Exists: Dataset p:d`).

use axum::http::Method;
use base64::Engine;
use serde_json::{json, Map, Value};

use super::api::{Api, ApiRequest, Ctx};
use super::discovery;
use super::enums::{self, EnumField};
use super::errors::{invalid_argument, not_found, ApiError, Code, Envelope};
use super::store::StoredResource;

pub const API: &str = "bigquery";
const DELETED: &str = "deleted/";

const ROUNDING_MODES: &[&str] = &["ROUNDING_MODE_UNSPECIFIED", "ROUND_HALF_AWAY_FROM_ZERO", "ROUND_HALF_EVEN"];
const BILLING_MODELS: &[&str] = &["STORAGE_BILLING_MODEL_UNSPECIFIED", "LOGICAL", "PHYSICAL"];
const TARGET_TYPES: &[&str] = &["TARGET_TYPE_UNSPECIFIED", "VIEWS", "ROUTINES"];
const DATASET_ENUMS: &[EnumField] = &[
    EnumField { path: "defaultRoundingMode", values: ROUNDING_MODES },
    EnumField { path: "storageBillingModel", values: BILLING_MODELS },
    EnumField { path: "access[].dataset.targetTypes[]", values: TARGET_TYPES },
];

/// `maxResults` when the request names none, and the most one page holds (the API's own
/// default is "all datasets up to 1000 per page" in practice; its documented cap is 1000).
const MAX_RESULTS: usize = 1000;
const DEFAULT_LOCATION: &str = "US";
/// `defaultTableExpirationMs`' documented minimum (0 clears it).
pub const MIN_TABLE_EXPIRATION_MS: i64 = 3_600_000;
const MAX_DATASET_ID: usize = 1024;
/// Basic roles and the IAM roles the API also accepts for them; it answers with the basic
/// form ("The API does accept both formats but it will always return the legacy format",
/// magic-modules DatasetAccess.yaml).
const ROLE_ALIASES: &[(&str, &str)] = &[
    ("roles/bigquery.dataOwner", "OWNER"),
    ("roles/bigquery.dataEditor", "WRITER"),
    ("roles/bigquery.dataViewer", "READER"),
];
const SPECIAL_GROUPS: &[&str] = &["projectOwners", "projectReaders", "projectWriters", "allAuthenticatedUsers"];
/// The member kinds of an access entry, exactly one of which an entry names.
const MEMBER_KINDS: &[&str] =
    &["userByEmail", "groupByEmail", "domain", "specialGroup", "iamMember", "view", "routine", "dataset"];

pub struct BigQuery;

#[derive(Debug, PartialEq)]
enum Target {
    Datasets { project: String },
    Dataset { project: String, dataset: String },
    Undelete { project: String, dataset: String },
}

impl Api for BigQuery {
    fn name(&self) -> &'static str {
        API
    }

    fn envelope(&self) -> Envelope {
        Envelope::LegacyWithStatus
    }

    fn claims(&self, path: &str) -> bool {
        let segs: Vec<&str> = path.split('/').collect();
        matches!(segs.as_slice(), ["bigquery", "v2", "projects", _, "datasets", ..])
    }

    fn handle(&self, ctx: &mut Ctx<'_>, req: &ApiRequest) -> Result<Value, ApiError> {
        let m = &req.method;
        let mut out = match parse_target(ctx, &req.path)? {
            Target::Datasets { project } if m == Method::GET => return list(ctx, req, &project),
            Target::Datasets { project } if m == Method::POST => insert(ctx, req, &project)?,
            Target::Dataset { project, dataset } if m == Method::GET => render(existing(ctx, &project, &dataset)?),
            Target::Dataset { project, dataset } if m == Method::PATCH => {
                write(ctx, req, &project, &dataset, Write::Patch)?
            }
            Target::Dataset { project, dataset } if m == Method::PUT => {
                write(ctx, req, &project, &dataset, Write::Update)?
            }
            Target::Dataset { project, dataset } if m == Method::DELETE => {
                delete(ctx, &project, &dataset)?;
                return Ok(json!({}));
            }
            Target::Undelete { project, dataset } if m == Method::POST => undelete(ctx, &project, &dataset)?,
            _ => return Err(not_found(format!("The BigQuery API has no method {} /{}.", req.method, req.path))),
        };
        enums::encode(&mut out, DATASET_ENUMS, req.enum_ints);
        Ok(out)
    }

    fn seed(&self, ctx: &mut Ctx<'_>, section: &Value) -> Result<(), String> {
        let scenario: ScenarioSection =
            serde_json::from_value(section.clone()).map_err(|e| format!("bigquery: {e}"))?;
        for (i, d) in scenario.datasets.into_iter().enumerate() {
            let Value::Object(mut body) = d.dataset else {
                return Err(format!("bigquery.datasets[{i}] ({}): `dataset` must be an object", d.id));
            };
            body.insert("datasetReference".into(), json!({"projectId": d.project, "datasetId": d.id}));
            let req = ApiRequest {
                method: Method::POST,
                path: format!("bigquery/v2/projects/{}/datasets", d.project),
                query: Default::default(),
                body: Value::Object(body).to_string().into_bytes(),
                enum_ints: false,
                if_match: None,
            };
            insert(ctx, &req, &d.project).map_err(|e| format!("bigquery.datasets[{i}] ({}): {}", d.id, e.message))?;
        }
        Ok(())
    }
}

/// The scenario section: `{"datasets": [{"project": "p", "id": "d", "dataset": {…}}]}`, where
/// `dataset` is an insert body without its `datasetReference` (e.g. `{"location": "EU",
/// "access": [...]}`).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioSection {
    #[serde(default)]
    datasets: Vec<ScenarioDataset>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioDataset {
    project: String,
    id: String,
    #[serde(default = "empty_object")]
    dataset: Value,
}

fn empty_object() -> Value {
    json!({})
}

fn parse_target(ctx: &Ctx<'_>, path: &str) -> Result<Target, ApiError> {
    let segs: Vec<&str> = path.split('/').collect();
    let bad = || not_found(format!("The BigQuery API has no resource /{path}."));
    let ["bigquery", "v2", "projects", p, "datasets", rest @ ..] = segs.as_slice() else {
        return Err(bad());
    };
    if p.is_empty() {
        return Err(bad());
    }
    let project = ctx.store.projects.id_for(p);
    match rest {
        [] => Ok(Target::Datasets { project }),
        [d] if !d.is_empty() => match d.strip_suffix(":undelete") {
            Some(dataset) if !dataset.is_empty() => Ok(Target::Undelete { project, dataset: dataset.to_string() }),
            _ => Ok(Target::Dataset { project, dataset: d.to_string() }),
        },
        _ => Err(bad()),
    }
}

fn key(project: &str, dataset: &str) -> String {
    format!("projects/{project}/datasets/{dataset}")
}

/// BigQuery's errors: the message, the legacy reason and the status.
fn bq_error(code: Code, reason: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(code, message).with_reason(reason)
}

fn dataset_not_found(project: &str, dataset: &str) -> ApiError {
    not_found(format!("Not found: Dataset {project}:{dataset}"))
}

fn invalid(message: impl Into<String>) -> ApiError {
    invalid_argument(message)
}

fn existing<'s>(ctx: &'s Ctx<'_>, project: &str, dataset: &str) -> Result<&'s StoredResource, ApiError> {
    ctx.store.get(API, &key(project, dataset)).ok_or_else(|| dataset_not_found(project, dataset))
}

/// BigQuery's etags are opaque base64 strings, unquoted in the body.
fn etag(generation: u64) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("cairn-{generation:016x}"))
}

fn render(stored: &StoredResource) -> Value {
    let mut v = stored.value.clone();
    v["etag"] = Value::String(etag(stored.generation));
    v
}

/// Whether an `If-Match` value names this revision (a client may quote it, as HTTP says).
fn if_match_holds(if_match: Option<&str>, stored: &StoredResource) -> bool {
    match if_match.map(str::trim) {
        None | Some("") | Some("*") => true,
        Some(tag) => tag.trim_start_matches("W/").trim_matches('"') == etag(stored.generation),
    }
}

/// The request body, checked against the discovery schema, output-only fields dropped and
/// enums as names.
fn dataset_body(req: &ApiRequest) -> Result<Map<String, Value>, ApiError> {
    let doc = discovery::of(API);
    let mut body = req.json_body()?;
    doc.check_body("Dataset", &body, "dataset")?;
    doc.strip_output_only("Dataset", &mut body);
    let mut value = Value::Object(body);
    enums::decode(&mut value, DATASET_ENUMS).map_err(invalid)?;
    let Value::Object(body) = value else { unreachable!("decoded an object") };
    Ok(body)
}

/// The API's rule for dataset ids.
pub fn valid_dataset_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_DATASET_ID && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn invalid_dataset_id(id: &str) -> ApiError {
    invalid(format!(
        "Invalid dataset ID \"{id}\". Dataset IDs must be alphanumeric (plus underscores) and must be at most 1024 characters long."
    ))
}

/// Label rules (cloud.google.com/bigquery/docs/labels-intro#requirements): at most 64; keys
/// 1–63 characters of lowercase letters, digits, `_` and `-`, starting with a letter; values
/// at most 63 of the same characters. (International letters are allowed too; the emulator
/// takes any lowercase Unicode letter.)
fn check_labels(labels: &Map<String, Value>) -> Result<(), ApiError> {
    if labels.len() > 64 {
        return Err(invalid(format!("Too many labels: {} (at most 64 are allowed).", labels.len())));
    }
    let allowed = |c: char| c.is_lowercase() || c.is_ascii_digit() || c == '_' || c == '-';
    for (k, v) in labels {
        let key_ok =
            k.chars().count() <= 63 && k.chars().next().is_some_and(char::is_lowercase) && k.chars().all(allowed);
        if !key_ok {
            return Err(invalid(format!(
                "Invalid label key \"{k}\": keys are 1 to 63 characters of lowercase letters, digits, underscores and dashes, starting with a lowercase letter."
            )));
        }
        match v {
            Value::Null => {}
            Value::String(s) if s.chars().count() <= 63 && s.chars().all(allowed) => {}
            _ => {
                return Err(invalid(format!(
                    "Invalid label value {v} for key \"{k}\": values are at most 63 characters of lowercase letters, digits, underscores and dashes."
                )))
            }
        }
    }
    Ok(())
}

/// One access entry: exactly one member kind, a role for every kind but view/routine/dataset
/// (which take none), a role the API knows, normalised to its basic form.
fn check_access(entries: &mut [Value]) -> Result<(), ApiError> {
    for (i, entry) in entries.iter_mut().enumerate() {
        let Some(obj) = entry.as_object_mut() else {
            return Err(invalid(format!("Invalid value at 'dataset.access[{i}]': an access entry is an object.")));
        };
        let kinds: Vec<&str> =
            MEMBER_KINDS.iter().copied().filter(|k| obj.get(*k).is_some_and(|v| !v.is_null())).collect();
        if kinds.len() != 1 {
            return Err(invalid(format!(
                "Invalid access entry at dataset.access[{i}]: an entry names exactly one of userByEmail, groupByEmail, domain, specialGroup, iamMember, view, routine or dataset; it names {}.",
                if kinds.is_empty() { "none".to_string() } else { kinds.join(", ") }
            )));
        }
        let kind = kinds[0];
        let role = obj.get("role").and_then(Value::as_str).unwrap_or("").to_string();
        if matches!(kind, "view" | "routine" | "dataset") {
            if !role.is_empty() {
                return Err(invalid(format!(
                    "Invalid access entry at dataset.access[{i}]: a {kind} entry takes no role."
                )));
            }
            continue;
        }
        if role.is_empty() {
            return Err(invalid(format!("Invalid access entry at dataset.access[{i}]: role is required for {kind}.")));
        }
        let normalised = ROLE_ALIASES.iter().find(|(iam, _)| *iam == role).map(|(_, basic)| (*basic).to_string());
        let known = matches!(role.as_str(), "OWNER" | "WRITER" | "READER")
            || role.starts_with("roles/")
            || role.contains("/roles/");
        if !known {
            return Err(invalid(format!(
                "Invalid role \"{role}\" at dataset.access[{i}]: use OWNER, WRITER, READER or an IAM role (roles/…)."
            )));
        }
        if let Some(basic) = normalised {
            obj.insert("role".into(), Value::String(basic));
        }
        let member = obj.get(kind).and_then(Value::as_str).unwrap_or("");
        let ok = match kind {
            "userByEmail" | "groupByEmail" => {
                member.split_once('@').is_some_and(|(a, b)| !a.is_empty() && b.contains('.'))
            }
            "domain" => member.contains('.') && !member.contains('@'),
            "specialGroup" => SPECIAL_GROUPS.contains(&member),
            _ => !member.is_empty(),
        };
        if !ok {
            return Err(invalid(format!("Invalid value for {kind} at dataset.access[{i}]: \"{member}\".")));
        }
    }
    Ok(())
}

/// The writable fields every write checks.
fn check_fields(body: &mut Map<String, Value>) -> Result<(), ApiError> {
    if let Some(Value::Object(labels)) = body.get("labels") {
        check_labels(labels)?;
    }
    if let Some(Value::Array(access)) = body.get_mut("access") {
        check_access(access)?;
    }
    if let Some(v) = body.get("defaultTableExpirationMs").filter(|v| !v.is_null()) {
        let ms = int64(v).ok_or_else(|| {
            invalid(format!("Invalid value at 'dataset.default_table_expiration_ms' (TYPE_INT64), {v}"))
        })?;
        if ms != 0 && ms < MIN_TABLE_EXPIRATION_MS {
            return Err(invalid(format!(
                "The default table expiration time must be at least 1 hour (3600000 ms), or 0 to clear it; got {ms}."
            )));
        }
    }
    if let Some(v) = body.get("maxTimeTravelHours").filter(|v| !v.is_null()) {
        let h = int64(v)
            .ok_or_else(|| invalid(format!("Invalid value at 'dataset.max_time_travel_hours' (TYPE_INT64), {v}")))?;
        if !(48..=168).contains(&h) || h % 24 != 0 {
            return Err(invalid(format!(
                "The time travel window must be a multiple of 24 hours between 48 and 168; got {h}."
            )));
        }
    }
    Ok(())
}

/// An int64 as JSON carries it: a string (the proto JSON form) or a number.
fn int64(v: &Value) -> Option<i64> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

fn default_access(project: &str) -> Value {
    json!([
        {"role": "WRITER", "specialGroup": "projectWriters"},
        {"role": "OWNER", "specialGroup": "projectOwners"},
        {"role": "OWNER", "userByEmail": creator(project)},
        {"role": "READER", "specialGroup": "projectReaders"},
    ])
}

/// Who the emulator says created a dataset: it authenticates nobody, so the creator BigQuery
/// adds as an OWNER is this fixed service account of the dataset's project.
pub fn creator(project: &str) -> String {
    format!("cairn-emulator@{project}.iam.gserviceaccount.com")
}

fn insert(ctx: &mut Ctx<'_>, req: &ApiRequest, project: &str) -> Result<Value, ApiError> {
    let mut body = dataset_body(req)?;
    let reference = body.get("datasetReference").cloned().unwrap_or(Value::Null);
    let dataset = reference.get("datasetId").and_then(Value::as_str).unwrap_or("").to_string();
    if dataset.is_empty() {
        return Err(invalid("Required parameter is missing: datasetReference.datasetId"));
    }
    if let Some(p) = reference.get("projectId").and_then(Value::as_str).filter(|p| !p.is_empty()) {
        if ctx.store.projects.id_for(p) != project {
            return Err(invalid(format!(
                "Invalid project ID \"{p}\" in datasetReference: the request is for project {project}."
            )));
        }
    }
    if !valid_dataset_id(&dataset) {
        return Err(invalid_dataset_id(&dataset));
    }
    check_fields(&mut body)?;
    if ctx.store.contains(API, &key(project, &dataset)) {
        return Err(bq_error(Code::AlreadyExists, "duplicate", format!("Already Exists: Dataset {project}:{dataset}")));
    }
    if body.get("access").is_none_or(|a| a.as_array().is_none_or(Vec::is_empty)) {
        body.insert("access".into(), default_access(project));
    }
    if body.get("location").and_then(Value::as_str).is_none_or(str::is_empty) {
        body.insert("location".into(), Value::String(DEFAULT_LOCATION.into()));
    }
    if let Some(Value::Object(labels)) = body.get_mut("labels") {
        labels.retain(|_, v| !v.is_null());
    }
    let now = ctx.now.timestamp_millis().to_string();
    body.insert("kind".into(), json!("bigquery#dataset"));
    body.insert("id".into(), json!(format!("{project}:{dataset}")));
    body.insert("datasetReference".into(), json!({"datasetId": dataset, "projectId": project}));
    body.insert(
        "selfLink".into(),
        json!(format!("https://bigquery.googleapis.com/bigquery/v2/projects/{project}/datasets/{dataset}")),
    );
    body.insert("creationTime".into(), json!(now));
    body.insert("lastModifiedTime".into(), json!(now));
    body.insert("type".into(), json!("DEFAULT"));
    drop_empty(&mut body);
    ctx.store.remove(API, &format!("{DELETED}{}", key(project, &dataset)));
    Ok(render(ctx.store.put(API, &key(project, &dataset), Value::Object(body), Value::Null)))
}

/// Cleared optional fields are absent, as the API renders them.
fn drop_empty(body: &mut Map<String, Value>) {
    body.retain(|_, v| !v.is_null() && v.as_object().is_none_or(|m| !m.is_empty()));
}

#[derive(Clone, Copy, PartialEq)]
enum Write {
    /// PATCH: the fields present change (labels merge, a null label value removes the key;
    /// `access` is replaced whole when present).
    Patch,
    /// PUT: the writable fields are replaced by the body's (`access` kept when absent: an
    /// empty list cannot be told from an absent one in the proto-based clients).
    Update,
}

/// Fields the API sets and a write never changes.
const SERVER_FIELDS: &[&str] =
    &["kind", "id", "selfLink", "creationTime", "lastModifiedTime", "type", "datasetReference", "etag"];

fn write(ctx: &mut Ctx<'_>, req: &ApiRequest, project: &str, dataset: &str, how: Write) -> Result<Value, ApiError> {
    let mut body = dataset_body(req)?;
    let stored = existing(ctx, project, dataset)?;
    if !if_match_holds(req.if_match.as_deref(), stored) {
        return Err(
            bq_error(Code::FailedPrecondition, "conditionNotMet", "Precondition check failed.").with_http_status(412)
        );
    }
    if let Some(reference) = body.get("datasetReference") {
        let names =
            |k: &str, want: &str| reference.get(k).and_then(Value::as_str).is_none_or(|v| v.is_empty() || v == want);
        if !names("datasetId", dataset) || !names("projectId", project) {
            return Err(invalid(format!("Invalid datasetReference: the request is for dataset {project}:{dataset}.")));
        }
    }
    check_fields(&mut body)?;
    let current = stored.value.as_object().cloned().unwrap_or_default();
    let location = current.get("location").cloned().unwrap_or(json!(DEFAULT_LOCATION));
    if let Some(l) = body.get("location").and_then(Value::as_str).filter(|l| !l.is_empty()) {
        if !l.eq_ignore_ascii_case(location.as_str().unwrap_or_default()) {
            return Err(invalid(format!(
                "Cannot change dataset location from {} to {l}.",
                location.as_str().unwrap_or_default()
            )));
        }
    }
    let mut next = match how {
        Write::Patch => {
            let mut next = current.clone();
            for (k, v) in body {
                match (k.as_str(), v) {
                    ("labels", Value::Object(labels)) => {
                        let merged = next.entry("labels").or_insert_with(|| json!({}));
                        if let Some(m) = merged.as_object_mut() {
                            for (lk, lv) in labels {
                                if lv.is_null() {
                                    m.remove(&lk);
                                } else {
                                    m.insert(lk, lv);
                                }
                            }
                        }
                    }
                    // 0 clears the default expiration (the documented PATCH form).
                    ("defaultTableExpirationMs" | "defaultPartitionExpirationMs", v) if int64(&v) == Some(0) => {
                        next.remove(&k);
                    }
                    (_, v) => {
                        next.insert(k, v);
                    }
                }
            }
            next
        }
        Write::Update => {
            let mut next: Map<String, Value> = current
                .iter()
                .filter(|(k, _)| SERVER_FIELDS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if !body.contains_key("access") {
                if let Some(a) = current.get("access") {
                    next.insert("access".into(), a.clone());
                }
            }
            for (k, v) in body {
                if k == "labels" {
                    let mut labels = v.as_object().cloned().unwrap_or_default();
                    labels.retain(|_, v| !v.is_null());
                    next.insert(k, Value::Object(labels));
                } else if !SERVER_FIELDS.contains(&k.as_str()) {
                    next.insert(k, v);
                }
            }
            next
        }
    };
    for k in SERVER_FIELDS {
        match current.get(*k) {
            Some(v) => next.insert((*k).to_string(), v.clone()),
            None => next.remove(*k),
        };
    }
    next.insert("location".into(), location);
    next.insert("lastModifiedTime".into(), json!(ctx.now.timestamp_millis().to_string()));
    drop_empty(&mut next);
    Ok(render(ctx.store.put(API, &key(project, dataset), Value::Object(next), Value::Null)))
}

fn delete(ctx: &mut Ctx<'_>, project: &str, dataset: &str) -> Result<(), ApiError> {
    let gone = ctx.store.remove(API, &key(project, dataset)).ok_or_else(|| dataset_not_found(project, dataset))?;
    // Kept for `undelete` (the real API keeps a deleted dataset for the time travel window).
    ctx.store.put(API, &format!("{DELETED}{}", key(project, dataset)), gone.value, Value::Null);
    Ok(())
}

fn undelete(ctx: &mut Ctx<'_>, project: &str, dataset: &str) -> Result<Value, ApiError> {
    if ctx.store.contains(API, &key(project, dataset)) {
        return Err(bq_error(Code::AlreadyExists, "duplicate", format!("Already Exists: Dataset {project}:{dataset}")));
    }
    let deleted = ctx
        .store
        .remove(API, &format!("{DELETED}{}", key(project, dataset)))
        .ok_or_else(|| not_found(format!("Not found: Deleted dataset {project}:{dataset}")))?;
    let mut value = deleted.value;
    value["lastModifiedTime"] = json!(ctx.now.timestamp_millis().to_string());
    Ok(render(ctx.store.put(API, &key(project, dataset), value, Value::Null)))
}

/// `labels.KEY` or `labels.KEY:VALUE` terms joined by spaces, all of which must hold.
fn matches_filter(dataset: &Value, filter: &str) -> Result<bool, ApiError> {
    for term in filter.split_whitespace() {
        let Some(label) = term.strip_prefix("labels.") else {
            return Err(invalid(format!("Invalid filter \"{filter}\": terms are labels.KEY or labels.KEY:VALUE.")));
        };
        let (k, want) = match label.split_once(':') {
            Some((k, v)) => (k, Some(v)),
            None => (label, None),
        };
        let have = dataset.get("labels").and_then(|l| l.get(k)).and_then(Value::as_str);
        let holds = match (have, want) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(h), Some(w)) => h == w,
        };
        if !holds {
            return Ok(false);
        }
    }
    Ok(true)
}

fn list(ctx: &mut Ctx<'_>, req: &ApiRequest, project: &str) -> Result<Value, ApiError> {
    let prefix = format!("projects/{project}/datasets/");
    let all = req.query.get("all") == Some("true");
    let filter = req.query.get("filter").unwrap_or("");
    let mut items = Vec::new();
    for (name, stored) in ctx.store.all(API) {
        let Some(id) = name.strip_prefix(&prefix) else { continue };
        // Hidden datasets (ids starting with `_`) are listed only with all=true.
        if id.starts_with('_') && !all {
            continue;
        }
        if !matches_filter(&stored.value, filter)? {
            continue;
        }
        let v = &stored.value;
        let mut item = Map::new();
        item.insert("kind".into(), json!("bigquery#dataset"));
        for field in
            ["id", "datasetReference", "labels", "friendlyName", "location", "type", "externalDatasetReference"]
        {
            if let Some(x) = v.get(field) {
                item.insert(field.into(), x.clone());
            }
        }
        items.push(Value::Object(item));
    }
    let size = match req.query.get("maxResults") {
        None => MAX_RESULTS,
        Some(s) => match s.parse::<u32>() {
            Ok(0) => MAX_RESULTS,
            Ok(n) => (n as usize).min(MAX_RESULTS),
            Err(_) => return Err(invalid(format!("Invalid value at 'max_results' (TYPE_UINT32), \"{s}\""))),
        },
    };
    let offset = match req.query.get("pageToken") {
        None => 0,
        Some(t) => decode_token(t).ok_or_else(|| invalid(format!("Invalid page token: {t}")))?,
    };
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(offset).take(size).collect();
    let mut out = json!({"kind": "bigquery#datasetList", "etag": etag(ctx.store.generation())});
    if !page.is_empty() {
        out["datasets"] = Value::Array(page);
    }
    if offset + size < total {
        out["nextPageToken"] = json!(encode_token(offset + size));
    }
    Ok(out)
}

fn encode_token(offset: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("cairn-datasets:{offset}"))
}

fn decode_token(token: &str) -> Option<usize> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).ok()?;
    String::from_utf8(bytes).ok()?.strip_prefix("cairn-datasets:")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::store::Store;
    use chrono::Utc;

    fn call(
        store: &mut Store,
        method: Method,
        path: &str,
        query: &str,
        body: Value,
        if_match: Option<&str>,
    ) -> Result<Value, ApiError> {
        let mut req = ApiRequest::decoded(method, path, query, body);
        req.if_match = if_match.map(str::to_string);
        let mut ctx = Ctx { store, operation_duration: std::time::Duration::ZERO, now: Utc::now() };
        BigQuery.handle(&mut ctx, &req)
    }

    const DS: &str = "bigquery/v2/projects/p/datasets";

    #[test]
    fn insert_fills_defaults_and_a_duplicate_is_already_exists() {
        let mut s = Store::new();
        let d = call(&mut s, Method::POST, DS, "", json!({"datasetReference": {"datasetId": "logs"}}), None).unwrap();
        assert_eq!(d["id"], "p:logs");
        assert_eq!(d["location"], "US");
        assert_eq!(d["access"].as_array().map(Vec::len), Some(4));
        assert_eq!(d["access"][2]["userByEmail"], creator("p"));
        assert!(d["creationTime"].as_str().is_some_and(|t| t.parse::<i64>().is_ok()));
        let e =
            call(&mut s, Method::POST, DS, "", json!({"datasetReference": {"datasetId": "logs"}}), None).unwrap_err();
        assert_eq!((e.http_status, e.message.as_str()), (409, "Already Exists: Dataset p:logs"));
        let body = e.body(Envelope::LegacyWithStatus);
        assert_eq!(body["error"]["errors"][0]["reason"], "duplicate");
        assert_eq!(body["error"]["status"], "ALREADY_EXISTS");
    }

    #[test]
    fn the_api_validation_errors() {
        let mut s = Store::new();
        let bad = |s: &mut Store, body: Value| call(s, Method::POST, DS, "", body, None).unwrap_err().message;
        assert!(bad(&mut s, json!({"datasetReference": {"datasetId": "has-dash"}})).starts_with("Invalid dataset ID"));
        assert!(
            bad(&mut s, json!({"datasetReference": {"datasetId": "a".repeat(1025)}})).starts_with("Invalid dataset ID")
        );
        assert!(
            bad(&mut s, json!({"datasetReference": {"datasetId": "d"}, "labels": {"Env": "x"}})).contains("label key")
        );
        assert!(bad(&mut s, json!({"datasetReference": {"datasetId": "d"}, "labels": {"env": "X Y"}}))
            .contains("label value"));
        assert!(bad(&mut s, json!({"datasetReference": {"datasetId": "d"}, "defaultTableExpirationMs": "1000"}))
            .contains("at least 1 hour"));
        assert!(bad(&mut s, json!({"datasetReference": {"datasetId": "d"}, "access": [{"role": "READER"}]}))
            .contains("exactly one"));
        assert!(bad(&mut s, json!({"datasetReference": {"datasetId": "d"}, "access": [{"role": "READER", "domain": "x.com", "userByEmail": "a@x.com"}]})).contains("exactly one"));
        assert!(bad(
            &mut s,
            json!({"datasetReference": {"datasetId": "d"}, "access": [{"role": "ADMIN", "domain": "x.com"}]})
        )
        .contains("Invalid role"));
        assert!(
            bad(&mut s, json!({"datasetReference": {"datasetId": "d"}, "bogus": 1})).contains("Unknown name \"bogus\"")
        );
        let d = call(&mut s, Method::POST, DS, "", json!({"datasetReference": {"datasetId": "d"}, "access": [{"role": "roles/bigquery.dataViewer", "groupByEmail": "g@x.com"}]}), None).unwrap();
        assert_eq!(
            d["access"],
            json!([{"role": "READER", "groupByEmail": "g@x.com"}]),
            "IAM roles come back in the basic form"
        );
    }

    #[test]
    fn patch_merges_update_replaces_and_if_match_is_honoured() {
        let mut s = Store::new();
        let d = call(
            &mut s,
            Method::POST,
            DS,
            "",
            json!({"datasetReference": {"datasetId": "d"}, "description": "x", "labels": {"a": "1", "b": "2"}}),
            None,
        )
        .unwrap();
        let first = d["etag"].as_str().unwrap().to_string();
        let p =
            call(&mut s, Method::PATCH, &format!("{DS}/d"), "", json!({"labels": {"a": null, "c": "3"}}), Some(&first))
                .unwrap();
        assert_eq!(p["labels"], json!({"b": "2", "c": "3"}));
        assert_eq!(p["description"], "x");
        assert_ne!(p["etag"], d["etag"]);
        let stale =
            call(&mut s, Method::PATCH, &format!("{DS}/d"), "", json!({"description": "y"}), Some(&first)).unwrap_err();
        assert_eq!(stale.http_status, 412);
        let u = call(
            &mut s,
            Method::PUT,
            &format!("{DS}/d"),
            "",
            json!({"friendlyName": "F"}),
            Some(p["etag"].as_str().unwrap()),
        )
        .unwrap();
        assert!(u.get("description").is_none() && u.get("labels").is_none(), "{u}");
        assert_eq!(u["access"].as_array().map(Vec::len), Some(4), "absent access is kept");
        let moved = call(&mut s, Method::PUT, &format!("{DS}/d"), "", json!({"location": "EU"}), None).unwrap_err();
        assert!(moved.message.contains("Cannot change dataset location"));
    }

    #[test]
    fn list_pages_filters_and_delete_undelete() {
        let mut s = Store::new();
        for (i, id) in ["a", "b", "c", "_hidden"].iter().enumerate() {
            let labels = if i == 1 { json!({"team": "core"}) } else { json!({}) };
            call(
                &mut s,
                Method::POST,
                DS,
                "",
                json!({"datasetReference": {"datasetId": id}, "labels": labels, "description": "not listed"}),
                None,
            )
            .unwrap();
        }
        let page = call(&mut s, Method::GET, DS, "maxResults=2", Value::Null, None).unwrap();
        assert_eq!(page["datasets"].as_array().map(Vec::len), Some(2));
        assert!(page["datasets"][0].get("description").is_none(), "the list's reduced form");
        let token = page["nextPageToken"].as_str().unwrap();
        let rest =
            call(&mut s, Method::GET, DS, &format!("maxResults=2&pageToken={token}"), Value::Null, None).unwrap();
        assert_eq!(rest["datasets"].as_array().map(Vec::len), Some(1));
        assert!(rest.get("nextPageToken").is_none());
        let all = call(&mut s, Method::GET, DS, "all=true", Value::Null, None).unwrap();
        assert_eq!(all["datasets"].as_array().map(Vec::len), Some(4));
        let f = call(&mut s, Method::GET, DS, "filter=labels.team%3Acore", Value::Null, None).unwrap();
        assert_eq!(f["datasets"][0]["id"], "p:b");
        call(&mut s, Method::DELETE, &format!("{DS}/b"), "deleteContents=true", Value::Null, None).unwrap();
        let e = call(&mut s, Method::GET, &format!("{DS}/b"), "", Value::Null, None).unwrap_err();
        assert_eq!((e.http_status, e.message.as_str()), (404, "Not found: Dataset p:b"));
        let back = call(&mut s, Method::POST, &format!("{DS}/b:undelete"), "", json!({}), None).unwrap();
        assert_eq!(back["labels"], json!({"team": "core"}));
    }

    #[test]
    fn scenario_seeds_datasets() {
        let mut s = Store::new();
        let mut ctx = Ctx { store: &mut s, operation_duration: std::time::Duration::ZERO, now: Utc::now() };
        BigQuery
            .seed(&mut ctx, &json!({"datasets": [{"project": "p", "id": "audit", "dataset": {"location": "EU"}}]}))
            .unwrap();
        assert_eq!(s.get(API, "projects/p/datasets/audit").unwrap().value["location"], "EU");
        let mut ctx = Ctx { store: &mut s, operation_duration: std::time::Duration::ZERO, now: Utc::now() };
        let e = BigQuery.seed(&mut ctx, &json!({"datasets": [{"project": "p", "id": "bad-id"}]})).unwrap_err();
        assert!(e.starts_with("bigquery.datasets[0] (bad-id): Invalid dataset ID"), "{e}");
    }
}
