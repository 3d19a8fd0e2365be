//! Long-running operations that take time.
//!
//! An API starts an operation with the outcome it will have and the store changes that happen
//! when it finishes (`Effect`s: e.g. a connector going from CREATING to READY, or disappearing
//! on delete). Nothing runs in the background: before each request the server calls
//! [`settle_due`], which finishes every operation whose time has come, so a GET of the resource
//! and a GET of the operation agree, and the data file holds operations that survive a restart.
//!
//! Rendering follows the operation's [`OperationStyle`]: `google.longrunning.Operation`
//! (VPC Access, Logging) or Compute's `compute#operation` (PENDING/RUNNING/DONE, an error list
//! and `httpErrorStatusCode` on failure); Cloud SQL's `sql#operation` will be a further variant
//! reusing the same scheduling, effects and persistence.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

use super::errors::Code;
use super::store::Store;

/// The JSON shape an operation is rendered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum OperationStyle {
    /// google.longrunning.Operation: `name`, `metadata`, `done` (absent until true),
    /// `response` (with `@type`) or `error` (google.rpc.Status with a numeric code).
    Longrunning,
    /// Cloud SQL's `sql#operation`: `metadata` holds the static fields (kind, name, operationType,
    /// target*, insertTime…); rendering adds `status` PENDING → RUNNING (from the midpoint of the
    /// duration, `startTime`) → DONE (`endTime`, and `error.errors[]` on failure).
    Sql,
    /// compute#operation: `metadata` is [`compute_metadata`]'s object; the outcome is
    /// `Response(Null)` or `Error` (still `status: DONE`, with `error.errors[]`).
    Compute,
}

/// How an operation ends.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Outcome {
    /// A fixed response (must carry `@type`, e.g. google.protobuf.Empty for deletes).
    Response(Value),
    /// The resource as it is once the effects are applied, under the given `@type`.
    Resource { type_url: String, api: String, name: String },
    /// A failed operation: `error: {code: <gRPC number>, message}`; the effects still apply
    /// (an API that fails a create typically leaves nothing, so it passes no effects).
    Error { code: Code, message: String },
}

/// A store change applied when the operation finishes.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Effect {
    Put {
        api: String,
        name: String,
        value: Value,
        #[serde(default)]
        internal: Value,
    },
    Remove {
        api: String,
        name: String,
    },
    /// Merges top-level fields into an existing resource (a state change).
    Merge {
        api: String,
        name: String,
        fields: Map<String, Value>,
    },
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Operation {
    pub api: String,
    /// The full operation name, e.g. `projects/p/locations/l/operations/<uuid>`.
    pub name: String,
    pub style: OperationStyle,
    pub metadata: Value,
    /// A metadata field set to the completion time when done (vpcaccess: `endTime`).
    #[serde(default)]
    pub end_time_field: Option<String>,
    pub done_at: DateTime<Utc>,
    pub outcome: Outcome,
    #[serde(default)]
    pub effects: Vec<Effect>,
    /// Whether the effects have been applied (then `outcome` is final).
    #[serde(default)]
    pub settled: bool,
}

/// What an API hands to [`start`].
pub struct NewOperation {
    pub api: String,
    pub name: String,
    pub style: OperationStyle,
    pub metadata: Value,
    pub end_time_field: Option<String>,
    pub outcome: Outcome,
    pub effects: Vec<Effect>,
}

/// Records an operation that finishes `duration` after `now` and returns its first rendering.
/// A zero duration finishes it at once (its effects are applied before this returns).
pub fn start(store: &mut Store, new: NewOperation, duration: std::time::Duration, now: DateTime<Utc>) -> Value {
    let done_at = now + chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::zero());
    let op = Operation {
        api: new.api,
        name: new.name.clone(),
        style: new.style,
        metadata: new.metadata,
        end_time_field: new.end_time_field,
        done_at,
        outcome: new.outcome,
        effects: new.effects,
        settled: false,
    };
    store.operations.insert(new.name.clone(), op);
    store.mark_dirty();
    settle_due(store, now);
    get(store, &new.name, now).unwrap_or(Value::Null)
}

/// Finishes every operation whose time has come: applies its effects and freezes its outcome.
pub fn settle_due(store: &mut Store, now: DateTime<Utc>) {
    let due: Vec<String> =
        store.operations.values().filter(|op| !op.settled && op.done_at <= now).map(|op| op.name.clone()).collect();
    for name in due {
        let Some(op) = store.operations.get(&name).cloned() else {
            continue;
        };
        for effect in &op.effects {
            apply_effect(store, effect);
        }
        let outcome = match op.outcome {
            Outcome::Resource { type_url, api, name } => {
                let mut response = Map::new();
                response.insert("@type".into(), Value::String(type_url));
                if let Some(Value::Object(fields)) = store.get(&api, &name).map(|r| r.value.clone()) {
                    response.extend(fields);
                }
                Outcome::Response(Value::Object(response))
            }
            other => other,
        };
        if let Some(stored) = store.operations.get_mut(&name) {
            stored.outcome = outcome;
            stored.settled = true;
        }
        store.mark_dirty();
    }
}

fn apply_effect(store: &mut Store, effect: &Effect) {
    match effect {
        Effect::Put { api, name, value, internal } => {
            store.put(api, name, value.clone(), internal.clone());
        }
        Effect::Remove { api, name } => {
            store.remove(api, name);
        }
        Effect::Merge { api, name, fields } => {
            if let Some(existing) = store.get(api, name).cloned() {
                let mut value = existing.value;
                if let Value::Object(obj) = &mut value {
                    for (k, v) in fields {
                        obj.insert(k.clone(), v.clone());
                    }
                }
                store.put(api, name, value, existing.internal);
            }
        }
    }
}

/// The rendered operation, or None when there is no such operation.
pub fn get(store: &Store, name: &str, now: DateTime<Utc>) -> Option<Value> {
    store.operations.get(name).map(|op| render(op, now))
}

/// Operations of an API whose names start with `prefix`, rendered, in name order.
/// `operations.list` of a google.longrunning API under `parent` (`projects/P/locations/L`),
/// with its `filter` and pagination.
pub fn list_page(
    store: &Store,
    api: &str,
    parent: &str,
    now: DateTime<Utc>,
    req: &super::api::ApiRequest,
    max_page_size: usize,
) -> Result<Value, super::errors::ApiError> {
    let filter = super::filter::Filter::parse(req.query.get("filter").unwrap_or(""))?;
    let items: Vec<Value> =
        list(store, api, &format!("{parent}/operations/"), now).into_iter().filter(|op| filter.matches(op)).collect();
    let (page, next) = super::api::paginate(items, &req.query, max_page_size, max_page_size)?;
    Ok(super::api::list_response("operations", page, next))
}

pub fn list(store: &Store, api: &str, prefix: &str, now: DateTime<Utc>) -> Vec<Value> {
    store
        .operations
        .values()
        .filter(|op| op.api == api && op.name.starts_with(prefix))
        .map(|op| render(op, now))
        .collect()
}

pub fn render(op: &Operation, now: DateTime<Utc>) -> Value {
    match op.style {
        OperationStyle::Longrunning => render_longrunning(op, now),
        OperationStyle::Sql => render_sql(op, now),
        OperationStyle::Compute => render_compute(op, now),
    }
}

/// The `metadata` of a compute operation: the fields it is rendered with (`kind`, `id`, `name`,
/// `operationType`, `targetLink`, `targetId`, `selfLink`, `insertTime`, `user`…), when it leaves
/// PENDING, and for a failure the `errors[].code` string (e.g. RESOURCE_IN_USE_BY_ANOTHER_RESOURCE).
pub fn compute_metadata(base: Value, starts_at: DateTime<Utc>, error_code: Option<&str>) -> Value {
    let mut m = Map::new();
    m.insert("operation".into(), base);
    m.insert("startsAt".into(), Value::String(timestamp(starts_at)));
    if let Some(code) = error_code {
        m.insert("errorCode".into(), Value::String(code.to_string()));
    }
    Value::Object(m)
}

fn render_compute(op: &Operation, now: DateTime<Utc>) -> Value {
    let done = op.settled || op.done_at <= now;
    let mut out = match op.metadata.get("operation") {
        Some(Value::Object(base)) => base.clone(),
        _ => Map::new(),
    };
    let starts_at = op.metadata["startsAt"]
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(op.done_at);
    let started = done || starts_at <= now;
    if started {
        out.insert("startTime".into(), Value::String(compute_timestamp(starts_at.min(op.done_at))));
    }
    let status = match (done, started) {
        (true, _) => "DONE",
        (false, true) => "RUNNING",
        (false, false) => "PENDING",
    };
    out.insert("status".into(), json!(status));
    out.insert("progress".into(), json!(if done { 100 } else { 0 }));
    if done {
        out.insert("endTime".into(), Value::String(compute_timestamp(op.done_at)));
        if let Outcome::Error { code, message } = &op.outcome {
            let error_code =
                op.metadata["errorCode"].as_str().map(str::to_string).unwrap_or_else(|| code.name().to_string());
            out.insert("error".into(), json!({"errors": [{"code": error_code, "message": message}]}));
            let status = code.http();
            out.insert("httpErrorStatusCode".into(), json!(status));
            out.insert("httpErrorMessage".into(), json!(http_reason_upper(status)));
        }
    }
    Value::Object(out)
}

/// The reason phrase compute puts in `httpErrorMessage` ("BAD REQUEST").
fn http_reason_upper(status: u16) -> String {
    axum::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("ERROR")
        .to_ascii_uppercase()
}

/// Compute's RFC 3339 timestamps: milliseconds and a numeric offset
/// (`2024-04-03T02:46:58.123-07:00`; the emulator answers in UTC, `+00:00`).
pub fn compute_timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, false)
}

fn render_longrunning(op: &Operation, now: DateTime<Utc>) -> Value {
    let done = op.settled || op.done_at <= now;
    let mut metadata = op.metadata.clone();
    if done {
        if let (Some(field), Value::Object(m)) = (&op.end_time_field, &mut metadata) {
            m.insert(field.clone(), Value::String(timestamp(op.done_at)));
        }
    }
    let mut out = Map::new();
    out.insert("name".into(), Value::String(op.name.clone()));
    if !metadata.is_null() {
        out.insert("metadata".into(), metadata);
    }
    // Proto3 JSON leaves out `done: false`; clients treat a missing `done` as not done.
    if done {
        out.insert("done".into(), Value::Bool(true));
        match &op.outcome {
            Outcome::Response(v) => {
                out.insert("response".into(), v.clone());
            }
            Outcome::Resource { type_url, .. } => {
                // Only reachable when rendering between `done_at` and the next settle.
                out.insert("response".into(), json!({"@type": type_url}));
            }
            Outcome::Error { code, message } => {
                out.insert("error".into(), json!({"code": code.grpc(), "message": message}));
            }
        }
    }
    Value::Object(out)
}

/// `metadata.errorCode`, when set, is the failure's Cloud SQL error code (e.g. `ERROR_RDBMS`);
/// it is never rendered as a field of its own.
fn render_sql(op: &Operation, now: DateTime<Utc>) -> Value {
    let mut out = match &op.metadata {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    let error_code = out.remove("errorCode");
    let inserted = out
        .get("insertTime")
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map_or(op.done_at, |t| t.with_timezone(&Utc));
    let started = inserted + (op.done_at - inserted) / 2;
    let done = op.settled || op.done_at <= now;
    let status = if done {
        "DONE"
    } else if now >= started {
        "RUNNING"
    } else {
        "PENDING"
    };
    out.insert("status".into(), json!(status));
    if done || now >= started {
        out.insert("startTime".into(), Value::String(timestamp(started)));
    }
    if done {
        out.insert("endTime".into(), Value::String(timestamp(op.done_at)));
        if let Outcome::Error { code, message } = &op.outcome {
            let code = error_code
                .and_then(|c| c.as_str().map(str::to_string))
                .unwrap_or_else(|| sql_error_code(*code).to_string());
            out.insert(
                "error".into(),
                json!({"kind": "sql#operationErrors",
                       "errors": [{"kind": "sql#operationError", "code": code, "message": message}]}),
            );
        }
    }
    Value::Object(out)
}

/// Cloud SQL reports operation failures with its own code strings, not gRPC names.
fn sql_error_code(code: Code) -> &'static str {
    match code {
        Code::InvalidArgument | Code::OutOfRange => "INVALID_REQUEST",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::NotFound => "NOT_FOUND",
        Code::FailedPrecondition => "INVALID_STATE",
        Code::PermissionDenied => "NOT_AUTHORIZED",
        Code::ResourceExhausted => "QUOTA_EXCEEDED",
        _ => "INTERNAL_ERROR",
    }
}

/// RFC 3339 with nanoseconds and `Z`, as Google's JSON timestamps.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn connector_create(store: &mut Store, now: DateTime<Utc>) -> Value {
        store.put(
            "vpcaccess",
            "projects/p/locations/l/connectors/c",
            json!({"name": "projects/p/locations/l/connectors/c", "state": "CREATING"}),
            Value::Null,
        );
        let mut ready = Map::new();
        ready.insert("state".into(), json!("READY"));
        start(
            store,
            NewOperation {
                api: "vpcaccess".into(),
                name: "projects/p/locations/l/operations/op1".into(),
                style: OperationStyle::Longrunning,
                metadata: json!({"@type": "type.googleapis.com/google.cloud.vpcaccess.v1.OperationMetadata",
                    "method": "google.cloud.vpcaccess.v1.VpcAccessService.CreateConnector"}),
                end_time_field: Some("endTime".into()),
                outcome: Outcome::Resource {
                    type_url: "type.googleapis.com/google.cloud.vpcaccess.v1.Connector".into(),
                    api: "vpcaccess".into(),
                    name: "projects/p/locations/l/connectors/c".into(),
                },
                effects: vec![Effect::Merge {
                    api: "vpcaccess".into(),
                    name: "projects/p/locations/l/connectors/c".into(),
                    fields: ready,
                }],
            },
            Duration::from_millis(50),
            now,
        )
    }

    #[test]
    fn an_operation_is_pending_without_done_key_then_completes_with_typed_response() {
        let mut store = Store::new();
        let t0 = Utc::now();
        let first = connector_create(&mut store, t0);
        assert!(first.get("done").is_none(), "no `done: false` on the wire: {first}");
        assert!(first.get("response").is_none());
        assert!(first["metadata"].get("endTime").is_none());

        let early = t0 + chrono::Duration::milliseconds(10);
        settle_due(&mut store, early);
        assert_eq!(store.get("vpcaccess", "projects/p/locations/l/connectors/c").unwrap().value["state"], "CREATING");

        let later = t0 + chrono::Duration::milliseconds(60);
        settle_due(&mut store, later);
        assert_eq!(store.get("vpcaccess", "projects/p/locations/l/connectors/c").unwrap().value["state"], "READY");
        let done = get(&store, "projects/p/locations/l/operations/op1", later).unwrap();
        assert_eq!(done["done"], true);
        assert_eq!(done["response"]["@type"], "type.googleapis.com/google.cloud.vpcaccess.v1.Connector");
        assert_eq!(done["response"]["state"], "READY");
        assert!(done["metadata"]["endTime"].as_str().unwrap().ends_with('Z'));
        assert!(done.get("error").is_none());
    }

    #[test]
    fn a_failed_operation_carries_a_numeric_code_and_no_response() {
        let mut store = Store::new();
        let now = Utc::now();
        let op = start(
            &mut store,
            NewOperation {
                api: "vpcaccess".into(),
                name: "projects/p/locations/l/operations/op2".into(),
                style: OperationStyle::Longrunning,
                metadata: json!({"@type": "type.googleapis.com/google.cloud.vpcaccess.v1.OperationMetadata"}),
                end_time_field: None,
                outcome: Outcome::Error {
                    code: Code::InvalidArgument,
                    message: "A Connector must specify either max_throughput or max_instances.".into(),
                },
                effects: vec![],
            },
            Duration::ZERO,
            now,
        );
        assert_eq!(op["done"], true);
        assert_eq!(op["error"]["code"], 3);
        assert!(op.get("response").is_none());
        assert_eq!(list(&store, "vpcaccess", "projects/p/locations/l/operations/", now).len(), 1);
        assert!(list(&store, "logging", "", now).is_empty());
    }

    #[test]
    fn operations_survive_persistence() {
        let mut store = Store::new();
        let t0 = Utc::now();
        connector_create(&mut store, t0);
        let bytes = store.to_bytes();
        let mut reloaded: Store = serde_json::from_slice(&bytes).unwrap();
        settle_due(&mut reloaded, t0 + chrono::Duration::seconds(1));
        assert_eq!(reloaded.get("vpcaccess", "projects/p/locations/l/connectors/c").unwrap().value["state"], "READY");
    }

    #[test]
    fn a_sql_operation_goes_pending_running_done_and_reports_errors_in_its_own_shape() {
        let mut store = Store::new();
        let t0 = Utc::now();
        start(
            &mut store,
            NewOperation {
                api: "sqladmin".into(),
                name: "projects/p/operations/u1".into(),
                style: OperationStyle::Sql,
                metadata: json!({"kind": "sql#operation", "name": "u1", "operationType": "RESTART",
                    "insertTime": timestamp(t0), "errorCode": "ERROR_RDBMS"}),
                end_time_field: None,
                outcome: Outcome::Error { code: Code::Internal, message: "boom".into() },
                effects: vec![],
            },
            Duration::from_millis(100),
            t0,
        );
        let at = |ms| get(&store, "projects/p/operations/u1", t0 + chrono::Duration::milliseconds(ms)).unwrap();
        let pending = at(10);
        assert_eq!(pending["status"], "PENDING");
        assert!(pending.get("startTime").is_none() && pending.get("error").is_none());
        let running = at(60);
        assert_eq!(running["status"], "RUNNING");
        assert!(running.get("startTime").is_some() && running.get("endTime").is_none());
        let done = at(150);
        assert_eq!(done["status"], "DONE");
        assert_eq!(done["name"], "u1");
        assert!(done.get("errorCode").is_none(), "the code override is not a field");
        assert_eq!(done["error"]["kind"], "sql#operationErrors");
        assert_eq!(
            done["error"]["errors"][0],
            json!({"kind": "sql#operationError", "code": "ERROR_RDBMS", "message": "boom"})
        );
    }
}
