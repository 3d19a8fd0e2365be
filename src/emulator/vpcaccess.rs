//! Serverless VPC Access API v1 (`vpcaccess.googleapis.com`), per the discovery document
//! (revision 20231110) and gcp-wire-formats.md §1.
//!
//! Connectors live in the store under `projects/{project id}/locations/{l}/connectors/{c}` (this
//! API echoes the project id). Every mutation is a google.longrunning operation that finishes
//! after `operation_duration`: CREATING → READY, UPDATING → READY, DELETING → gone. A create
//! that names neither `maxThroughput` nor `maxInstances` is accepted and then fails inside the
//! operation (code 3), as the real API does since 2026; other invalid input is refused up front.

use ipnet::Ipv4Net;
use serde_json::{json, Map, Value};

use super::api::{list_response, paginate, Api, ApiRequest, Ctx};
use super::discovery;
use super::enums::{self, EnumField};
use super::errors::{already_exists, failed_precondition, invalid_argument, not_found, ApiError, Code, Envelope};
use super::mask::{MaskRules, UpdateMask};
use super::operations::{self, Effect, NewOperation, OperationStyle, Outcome};
use axum::http::Method;

pub const API: &str = "vpcaccess";

const STATES: &[&str] = &["STATE_UNSPECIFIED", "READY", "CREATING", "DELETING", "ERROR", "UPDATING"];
const CONNECTOR_ENUMS: &[EnumField] = &[EnumField { path: "state", values: STATES }];
const LIST_ENUMS: &[EnumField] = &[EnumField { path: "connectors[].state", values: STATES }];
const OPERATION_ENUMS: &[EnumField] = &[EnumField { path: "response.state", values: STATES }];
const OPERATIONS_LIST_ENUMS: &[EnumField] = &[EnumField { path: "operations[].response.state", values: STATES }];

const CONNECTOR_TYPE: &str = "type.googleapis.com/google.cloud.vpcaccess.v1.Connector";
const METADATA_TYPE: &str = "type.googleapis.com/google.cloud.vpcaccess.v1.OperationMetadata";
const EMPTY_TYPE: &str = "type.googleapis.com/google.protobuf.Empty";
const METHOD_PREFIX: &str = "google.cloud.vpcaccess.v1.VpcAccessService.";

/// The real API's own message for a create without an upper bound (code 3 in the operation).
pub const MISSING_MAX_MESSAGE: &str = "A Connector must specify either max_throughput or max_instances.";

/// Machine types a connector can run on.
const MACHINE_TYPES: &[&str] = &["f1-micro", "e2-micro", "e2-standard-4"];
const DEFAULT_MACHINE_TYPE: &str = "e2-micro";
const MAX_PAGE_SIZE: usize = 1000;

pub struct VpcAccess;

#[derive(Debug, PartialEq)]
enum Target {
    Connectors { parent: String },
    Connector { name: String },
    Operations { parent: String },
    Operation { name: String },
}

impl Api for VpcAccess {
    fn name(&self) -> &'static str {
        API
    }

    fn envelope(&self) -> Envelope {
        Envelope::Aip
    }

    fn claims(&self, path: &str) -> bool {
        let segs: Vec<&str> = path.split('/').collect();
        matches!(segs.as_slice(), ["v1", "projects", _, "locations", _, "connectors" | "operations", ..])
    }

    fn handle(&self, ctx: &mut Ctx<'_>, req: &ApiRequest) -> Result<Value, ApiError> {
        let target = parse_target(ctx, &req.path)?;
        let m = &req.method;
        let mut out = match target {
            Target::Connectors { parent } if m == Method::POST => create(ctx, req, &parent)?,
            Target::Connectors { parent } if m == Method::GET => {
                let mut list = list_connectors(ctx, req, &parent)?;
                enums::encode(&mut list, LIST_ENUMS, req.enum_ints);
                return Ok(list);
            }
            Target::Connector { name } if m == Method::GET => {
                let mut c = connector(ctx, &name)?.clone();
                enums::encode(&mut c, CONNECTOR_ENUMS, req.enum_ints);
                return Ok(c);
            }
            Target::Connector { name } if m == Method::PATCH => patch(ctx, req, &name)?,
            Target::Connector { name } if m == Method::DELETE => delete(ctx, &name)?,
            Target::Operations { parent } if m == Method::GET => {
                let mut list = list_operations(ctx, req, &parent)?;
                enums::encode(&mut list, OPERATIONS_LIST_ENUMS, req.enum_ints);
                return Ok(list);
            }
            Target::Operation { name } if m == Method::GET => operations::get(ctx.store, &name, ctx.now)
                .ok_or_else(|| not_found(format!("Operation {name} not found.")))?,
            _ => {
                return Err(not_found(format!(
                    "The Serverless VPC Access API has no method {} /{}.",
                    req.method, req.path
                )))
            }
        };
        enums::encode(&mut out, OPERATION_ENUMS, req.enum_ints);
        Ok(out)
    }

    fn seed(&self, ctx: &mut Ctx<'_>, section: &Value) -> Result<(), String> {
        let scenario: ScenarioSection =
            serde_json::from_value(section.clone()).map_err(|e| format!("vpcaccess: {e}"))?;
        for (i, c) in scenario.connectors.iter().enumerate() {
            seed_connector(ctx, c).map_err(|e| format!("vpcaccess.connectors[{i}] ({}): {}", c.id, e.message))?;
        }
        Ok(())
    }
}

fn parse_target(ctx: &Ctx<'_>, path: &str) -> Result<Target, ApiError> {
    let segs: Vec<&str> = path.split('/').collect();
    let bad = || not_found(format!("The Serverless VPC Access API has no resource /{path}."));
    let ["v1", "projects", p, "locations", l, tail @ ..] = segs.as_slice() else {
        return Err(bad());
    };
    if p.is_empty() || l.is_empty() {
        return Err(bad());
    }
    let parent = format!("projects/{}/locations/{l}", ctx.store.projects.id_for(p));
    Ok(match tail {
        ["connectors"] => Target::Connectors { parent },
        ["connectors", c] if !c.is_empty() => Target::Connector { name: format!("{parent}/connectors/{c}") },
        ["operations"] => Target::Operations { parent },
        ["operations", o] if !o.is_empty() => Target::Operation { name: format!("{parent}/operations/{o}") },
        _ => return Err(bad()),
    })
}

fn connector_not_found() -> ApiError {
    not_found("The connector is not found.")
}

fn connector<'s>(ctx: &'s Ctx<'_>, name: &str) -> Result<&'s Value, ApiError> {
    ctx.store.get(API, name).map(|r| &r.value).ok_or_else(connector_not_found)
}

/// `^[a-z][-a-z0-9]{0,23}[a-z0-9]$`, the real API's connector id rule.
pub fn valid_connector_id(id: &str) -> bool {
    let b = id.as_bytes();
    (2..=25).contains(&b.len())
        && b[0].is_ascii_lowercase()
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b.last().is_some_and(|c| *c != b'-')
}

fn int32(body: &Map<String, Value>, field: &str) -> Result<Option<i64>, ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| invalid_argument(format!("Invalid value at 'connector.{field}' (TYPE_INT32), {n}"))),
        Some(Value::String(s)) => s
            .parse::<i64>()
            .map(Some)
            .map_err(|_| invalid_argument(format!("Invalid value at 'connector.{field}' (TYPE_INT32), \"{s}\""))),
        Some(other) => Err(invalid_argument(format!("Invalid value at 'connector.{field}' (TYPE_INT32), {other}"))),
    }
}

/// Zero counts as unset: proto3 clients cannot tell the two apart.
fn nonzero(v: Option<i64>) -> Option<i64> {
    v.filter(|n| *n != 0)
}

fn check_instances(min: i64, max: i64) -> Result<(), ApiError> {
    if !(2..=9).contains(&min) {
        return Err(invalid_argument(format!("min_instances must be between 2 and 9, not {min}.")));
    }
    if !(3..=10).contains(&max) {
        return Err(invalid_argument(format!("max_instances must be between 3 and 10, not {max}.")));
    }
    if min >= max {
        return Err(invalid_argument(format!("min_instances ({min}) must be lower than max_instances ({max}).")));
    }
    Ok(())
}

fn check_throughput(min: i64, max: i64) -> Result<(), ApiError> {
    if !(200..=900).contains(&min) || min % 100 != 0 {
        return Err(invalid_argument(format!(
            "min_throughput must be a multiple of 100 between 200 and 900, not {min}."
        )));
    }
    if !(300..=1000).contains(&max) || max % 100 != 0 {
        return Err(invalid_argument(format!(
            "max_throughput must be a multiple of 100 between 300 and 1000, not {max}."
        )));
    }
    if min >= max {
        return Err(invalid_argument(format!("min_throughput ({min}) must be lower than max_throughput ({max}).")));
    }
    Ok(())
}

fn check_machine_type(machine_type: &str) -> Result<(), ApiError> {
    if MACHINE_TYPES.contains(&machine_type) {
        Ok(())
    } else {
        Err(invalid_argument(format!(
            "Invalid machine_type \"{machine_type}\": use one of {}.",
            MACHINE_TYPES.join(", ")
        )))
    }
}

/// The connector a create body describes, or why it is invalid. `Ok(None)` for the case the
/// real API accepts and then fails inside the operation (no upper bound on size).
fn build_connector(
    project: &str,
    name: &str,
    body: &Map<String, Value>,
) -> Result<Option<Map<String, Value>>, ApiError> {
    // Output-only fields the client echoes (state, connectedProjects) are known, and ignored.
    discovery::of(API).check_body("Connector", body, "connector")?;
    let text = |field: &str| body.get(field).and_then(Value::as_str).filter(|s| !s.is_empty());
    let network = text("network");
    let cidr = text("ipCidrRange");
    let subnet = body.get("subnet").filter(|v| v.as_object().is_some_and(|m| !m.is_empty()));
    let mut c = Map::new();
    c.insert("name".into(), json!(name));
    match (network, subnet) {
        (Some(_), Some(_)) => {
            return Err(invalid_argument("Only one of network and subnet may be specified, not both."))
        }
        (None, None) => return Err(invalid_argument("Either network or subnet must be specified.")),
        (Some(network), None) => {
            let range = cidr.ok_or_else(|| {
                invalid_argument("ip_cidr_range is required when a connector names a network (e.g. \"10.8.0.0/28\").")
            })?;
            let parsed: Ipv4Net = range.parse().map_err(|_| {
                invalid_argument(format!(
                    "Invalid ip_cidr_range \"{range}\": expected an IPv4 CIDR such as \"10.8.0.0/28\"."
                ))
            })?;
            if parsed.prefix_len() != 28 || parsed.network() != parsed.addr() {
                return Err(invalid_argument(format!(
                    "Invalid ip_cidr_range \"{range}\": the range must be an unused /28 network such as \"10.8.0.0/28\"."
                )));
            }
            c.insert("network".into(), json!(network));
            c.insert("ipCidrRange".into(), json!(range));
        }
        (None, Some(subnet)) => {
            if cidr.is_some() {
                return Err(invalid_argument("ip_cidr_range must be empty when a connector uses a subnet."));
            }
            let subnet_name = subnet.get("name").and_then(Value::as_str).filter(|s| !s.is_empty());
            let subnet_name = subnet_name.ok_or_else(|| invalid_argument("subnet.name is required."))?;
            let subnet_project =
                subnet.get("projectId").and_then(Value::as_str).filter(|s| !s.is_empty()).unwrap_or(project);
            c.insert("subnet".into(), json!({"name": subnet_name, "projectId": subnet_project}));
        }
    }
    let machine_type = text("machineType").unwrap_or(DEFAULT_MACHINE_TYPE);
    check_machine_type(machine_type)?;
    let (min_t, max_t) = (nonzero(int32(body, "minThroughput")?), nonzero(int32(body, "maxThroughput")?));
    let (min_i, max_i) = (nonzero(int32(body, "minInstances")?), nonzero(int32(body, "maxInstances")?));
    if max_t.is_none() && max_i.is_none() {
        return Ok(None);
    }
    // Instances and throughput describe the same size (100 Mbps per instance); whichever the
    // request gives determines the other.
    // Report the problem in the terms the request used.
    let instances_given = max_i.is_some();
    let (min_i, max_i) = match max_i {
        Some(max) => (min_i.unwrap_or(2), max),
        None => (min_i.unwrap_or(min_t.unwrap_or(200) / 100), max_t.unwrap_or(0) / 100),
    };
    let (min_t, max_t) = match max_t {
        Some(max) => (min_t.unwrap_or(200), max),
        None => (min_t.unwrap_or(min_i * 100), max_i * 100),
    };
    if instances_given {
        check_instances(min_i, max_i)?;
        check_throughput(min_t, max_t)?;
    } else {
        check_throughput(min_t, max_t)?;
        check_instances(min_i, max_i)?;
    }
    c.insert("state".into(), json!("CREATING"));
    c.insert("minThroughput".into(), json!(min_t));
    c.insert("maxThroughput".into(), json!(max_t));
    c.insert("machineType".into(), json!(machine_type));
    c.insert("minInstances".into(), json!(min_i));
    c.insert("maxInstances".into(), json!(max_i));
    Ok(Some(c))
}

/// The operation in progress on a connector, if any.
fn busy(ctx: &Ctx<'_>, name: &str) -> bool {
    ctx.store
        .operations
        .values()
        .any(|op| op.api == API && !op.settled && op.done_at > ctx.now && op.metadata["target"] == name)
}

fn operation_name(connector: &str) -> String {
    // projects/p/locations/l/connectors/c → projects/p/locations/l/operations/<uuid>
    let parent = connector.rsplitn(3, '/').nth(2).unwrap_or(connector);
    format!("{parent}/operations/{}", uuid::Uuid::new_v4())
}

fn start_operation(ctx: &mut Ctx<'_>, target: &str, method: &str, outcome: Outcome, effects: Vec<Effect>) -> Value {
    let new = NewOperation {
        api: API.into(),
        name: operation_name(target),
        style: OperationStyle::Longrunning,
        metadata: json!({
            "@type": METADATA_TYPE,
            "method": format!("{METHOD_PREFIX}{method}"),
            "createTime": operations::timestamp(ctx.now),
            "target": target,
        }),
        end_time_field: Some("endTime".into()),
        outcome,
        effects,
    };
    operations::start(ctx.store, new, ctx.operation_duration, ctx.now)
}

fn state_effect(name: &str, state: &str) -> Effect {
    let mut fields = Map::new();
    fields.insert("state".into(), json!(state));
    Effect::Merge { api: API.into(), name: name.into(), fields }
}

fn connector_outcome(name: &str) -> Outcome {
    Outcome::Resource { type_url: CONNECTOR_TYPE.into(), api: API.into(), name: name.into() }
}

fn create(ctx: &mut Ctx<'_>, req: &ApiRequest, parent: &str) -> Result<Value, ApiError> {
    let id = req
        .query
        .get("connectorId")
        .ok_or_else(|| invalid_argument("connector_id is required (the connectorId query parameter)."))?;
    if !valid_connector_id(id) {
        return Err(invalid_argument(format!(
            "Invalid connector_id \"{id}\": it must match ^[a-z][-a-z0-9]{{0,23}}[a-z0-9]$ (2 to 25 lowercase letters, digits and hyphens, starting with a letter)."
        )));
    }
    let mut body = req.json_body()?;
    let mut as_value = Value::Object(std::mem::take(&mut body));
    enums::decode(&mut as_value, CONNECTOR_ENUMS).map_err(invalid_argument)?;
    let body = match as_value {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let name = format!("{parent}/connectors/{id}");
    if ctx.store.contains(API, &name) {
        return Err(already_exists(format!("The connector {name} already exists.")));
    }
    let project = parent.split('/').nth(1).unwrap_or("");
    match build_connector(project, &name, &body)? {
        Some(connector) => {
            ctx.store.put(API, &name, Value::Object(connector), Value::Null);
            Ok(start_operation(
                ctx,
                &name,
                "CreateConnector",
                connector_outcome(&name),
                vec![state_effect(&name, "READY")],
            ))
        }
        None => Ok(start_operation(
            ctx,
            &name,
            "CreateConnector",
            Outcome::Error { code: Code::InvalidArgument, message: MISSING_MAX_MESSAGE.into() },
            vec![],
        )),
    }
}

/// What `updateMask` may name: only the size of a connector changes in place.
const MASK_RULES: MaskRules<'static> = MaskRules {
    updatable: UPDATABLE,
    immutable: &["network", "ipCidrRange", "subnet", "minThroughput", "maxThroughput"],
    output_only: &["name", "state", "connectedProjects"],
    known: Some(&is_top_level),
};
const UPDATABLE: &[&str] = &["machineType", "minInstances", "maxInstances"];

/// Every updatable connector field is a scalar, so no path goes inside one.
fn is_top_level(path: &str) -> bool {
    !path.contains('.')
}

fn patch(ctx: &mut Ctx<'_>, req: &ApiRequest, name: &str) -> Result<Value, ApiError> {
    let current = connector(ctx, name)?.clone();
    let body = req.json_body()?;
    let mask = UpdateMask::from_query(&req.query);
    mask.check(&MASK_RULES, |path, _| {
        invalid_argument(format!(
            "Invalid update_mask path \"{path}\": only machine_type, min_instances and max_instances can be updated."
        ))
    })?;
    // "If absent or empty, all modifiable fields are updated": those the body carries.
    let fields: Vec<&str> = if mask.is_empty() {
        UPDATABLE.iter().copied().filter(|f| body.contains_key(*f)).collect()
    } else {
        mask.top_level_fields()
    };
    if current["state"] != "READY" || busy(ctx, name) {
        return Err(failed_precondition(format!(
            "The connector {name} is in state {} and cannot be updated until it is READY.",
            current["state"].as_str().unwrap_or("STATE_UNSPECIFIED")
        )));
    }
    let mut updated = current.as_object().cloned().unwrap_or_default();
    for field in &fields {
        match *field {
            "machineType" => {
                let mt = body
                    .get("machineType")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .unwrap_or(DEFAULT_MACHINE_TYPE);
                check_machine_type(mt)?;
                updated.insert("machineType".into(), json!(mt));
            }
            other => {
                let n = int32(&body, other)?.unwrap_or(0);
                updated.insert(other.into(), json!(n));
            }
        }
    }
    let min = updated.get("minInstances").and_then(Value::as_i64).unwrap_or(0);
    let max = updated.get("maxInstances").and_then(Value::as_i64).unwrap_or(0);
    check_instances(min, max)?;
    updated.insert("state".into(), json!("UPDATING"));
    ctx.store.put(API, name, Value::Object(updated), Value::Null);
    Ok(start_operation(ctx, name, "UpdateConnector", connector_outcome(name), vec![state_effect(name, "READY")]))
}

fn delete(ctx: &mut Ctx<'_>, name: &str) -> Result<Value, ApiError> {
    let current = connector(ctx, name)?.clone();
    if current["state"] == "DELETING" || busy(ctx, name) {
        return Err(failed_precondition(format!(
            "The connector {name} has an operation in progress; retry when it is done."
        )));
    }
    let mut deleting = current;
    deleting["state"] = json!("DELETING");
    ctx.store.put(API, name, deleting, Value::Null);
    Ok(start_operation(
        ctx,
        name,
        "DeleteConnector",
        Outcome::Response(json!({"@type": EMPTY_TYPE})),
        vec![Effect::Remove { api: API.into(), name: name.into() }],
    ))
}

fn list_connectors(ctx: &Ctx<'_>, req: &ApiRequest, parent: &str) -> Result<Value, ApiError> {
    let prefix = format!("{parent}/connectors/");
    let items: Vec<Value> = ctx.store.children(API, &prefix).map(|(_, r)| r.value.clone()).collect();
    let (page, next) = paginate(items, &req.query, MAX_PAGE_SIZE, MAX_PAGE_SIZE)?;
    Ok(list_response("connectors", page, next))
}

fn list_operations(ctx: &Ctx<'_>, req: &ApiRequest, parent: &str) -> Result<Value, ApiError> {
    operations::list_page(ctx.store, API, parent, ctx.now, req, MAX_PAGE_SIZE)
}

/// The `vpcaccess` section of a scenario file (see `scenario.rs`).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioSection {
    #[serde(default)]
    connectors: Vec<ScenarioConnector>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ScenarioConnector {
    project: String,
    location: String,
    id: String,
    #[serde(default)]
    network: Option<String>,
    #[serde(default)]
    ip_cidr_range: Option<String>,
    #[serde(default)]
    subnet: Option<Value>,
    #[serde(default)]
    machine_type: Option<String>,
    #[serde(default)]
    min_instances: Option<i64>,
    #[serde(default)]
    max_instances: Option<i64>,
    #[serde(default)]
    min_throughput: Option<i64>,
    #[serde(default)]
    max_throughput: Option<i64>,
    /// READY (default), CREATING, UPDATING, DELETING or ERROR.
    #[serde(default)]
    state: Option<String>,
    /// A CREATING/UPDATING/DELETING connector stays so forever (no operation finishes it).
    #[serde(default)]
    pinned: bool,
}

fn seed_connector(ctx: &mut Ctx<'_>, c: &ScenarioConnector) -> Result<(), ApiError> {
    if !valid_connector_id(&c.id) {
        return Err(invalid_argument(format!("invalid connector id \"{}\"", c.id)));
    }
    let name = format!("projects/{}/locations/{}/connectors/{}", c.project, c.location, c.id);
    if ctx.store.contains(API, &name) {
        return Err(already_exists("listed twice"));
    }
    let mut body = Map::new();
    let mut set = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            body.insert(k.into(), v);
        }
    };
    set("network", c.network.clone().map(Value::from));
    set("ipCidrRange", c.ip_cidr_range.clone().map(Value::from));
    set("subnet", c.subnet.clone());
    set("machineType", c.machine_type.clone().map(Value::from));
    set("minInstances", c.min_instances.map(Value::from));
    set("maxInstances", c.max_instances.map(Value::from));
    set("minThroughput", c.min_throughput.map(Value::from));
    set("maxThroughput", c.max_throughput.map(Value::from));
    if c.max_instances.is_none() && c.max_throughput.is_none() {
        body.insert("maxInstances".into(), json!(3));
    }
    let mut connector = build_connector(&c.project, &name, &body)?
        .ok_or_else(|| invalid_argument("give maxInstances or maxThroughput"))?;
    let state = c.state.as_deref().unwrap_or("READY");
    if !STATES[1..].contains(&state) {
        return Err(invalid_argument(format!(
            "state \"{state}\" is not one of READY, CREATING, UPDATING, DELETING, ERROR"
        )));
    }
    connector.insert("state".into(), json!(state));
    ctx.store.put(API, &name, Value::Object(connector), Value::Null);
    if c.pinned {
        return Ok(());
    }
    match state {
        "CREATING" => {
            start_operation(
                ctx,
                &name,
                "CreateConnector",
                connector_outcome(&name),
                vec![state_effect(&name, "READY")],
            );
        }
        "UPDATING" => {
            start_operation(
                ctx,
                &name,
                "UpdateConnector",
                connector_outcome(&name),
                vec![state_effect(&name, "READY")],
            );
        }
        "DELETING" => {
            start_operation(
                ctx,
                &name,
                "DeleteConnector",
                Outcome::Response(json!({"@type": EMPTY_TYPE})),
                vec![Effect::Remove { api: API.into(), name: name.clone() }],
            );
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::store::Store;
    use std::time::Duration;

    fn request(method: Method, path: &str, query: &str, body: Value) -> ApiRequest {
        ApiRequest::decoded(method, path, query, body)
    }

    fn call(store: &mut Store, now: chrono::DateTime<chrono::Utc>, req: ApiRequest) -> Result<Value, ApiError> {
        operations::settle_due(store, now);
        let mut ctx = Ctx { store, operation_duration: Duration::from_millis(50), now };
        VpcAccess.handle(&mut ctx, &req)
    }

    const PARENT: &str = "v1/projects/p/locations/us-central1/connectors";

    #[test]
    fn connector_ids_follow_the_real_pattern() {
        assert!(valid_connector_id("ab"));
        assert!(valid_connector_id("my-connector-1"));
        assert!(valid_connector_id(&format!("a{}", "b".repeat(24))));
        assert!(!valid_connector_id(&format!("a{}", "b".repeat(25))), "26 characters");
        assert!(!valid_connector_id("a"));
        assert!(!valid_connector_id("1abc"));
        assert!(!valid_connector_id("abc-"));
        assert!(!valid_connector_id("Abc"));
        assert!(!valid_connector_id("a_b"));
    }

    #[test]
    fn create_derives_instances_from_throughput_and_goes_ready() {
        let mut store = Store::new();
        let t0 = chrono::Utc::now();
        let op = call(
            &mut store,
            t0,
            request(
                Method::POST,
                PARENT,
                "connectorId=c1",
                json!({"network": "default", "ipCidrRange": "10.8.0.0/28", "minThroughput": 300, "maxThroughput": 400}),
            ),
        )
        .unwrap();
        assert!(op.get("done").is_none());
        assert_eq!(op["metadata"]["method"], "google.cloud.vpcaccess.v1.VpcAccessService.CreateConnector");
        let got = call(&mut store, t0, request(Method::GET, &format!("{PARENT}/c1"), "", Value::Null)).unwrap();
        assert_eq!(got["state"], "CREATING");
        assert_eq!((got["minInstances"].as_i64(), got["maxInstances"].as_i64()), (Some(3), Some(4)));
        assert_eq!(got["machineType"], "e2-micro");
        assert!(got.get("subnet").is_none() && got.get("connectedProjects").is_none());
        let later = t0 + chrono::Duration::milliseconds(60);
        let got = call(&mut store, later, request(Method::GET, &format!("{PARENT}/c1"), "", Value::Null)).unwrap();
        assert_eq!(got["state"], "READY");
    }

    #[test]
    fn invalid_creates_are_refused_and_a_missing_maximum_fails_the_operation() {
        let mut store = Store::new();
        let now = chrono::Utc::now();
        let bad = |store: &mut Store, query: &str, body: Value| {
            call(store, now, request(Method::POST, PARENT, query, body)).unwrap_err()
        };
        let ok = json!({"network": "default", "ipCidrRange": "10.8.0.0/28", "maxInstances": 3});
        assert_eq!(bad(&mut store, "connectorId=Bad", ok.clone()).code, Code::InvalidArgument);
        assert!(bad(
            &mut store,
            "connectorId=cc",
            json!({"network": "default", "ipCidrRange": "10.8.0.0/24", "maxInstances": 3})
        )
        .message
        .contains("/28"));
        assert!(bad(&mut store, "connectorId=cc", json!({"ipCidrRange": "10.8.0.0/28", "maxInstances": 3}))
            .message
            .contains("network or subnet"));
        assert!(bad(
            &mut store,
            "connectorId=cc",
            json!({"network": "n", "ipCidrRange": "10.8.0.0/28", "subnet": {"name": "s"}, "maxInstances": 3})
        )
        .message
        .contains("not both"));
        assert!(bad(
            &mut store,
            "connectorId=cc",
            json!({"network": "n", "ipCidrRange": "10.8.0.0/28", "maxInstances": 11})
        )
        .message
        .contains("max_instances"));
        assert!(bad(
            &mut store,
            "connectorId=cc",
            json!({"network": "n", "ipCidrRange": "10.8.0.0/28", "maxThroughput": 350})
        )
        .message
        .contains("max_throughput"));
        let op = call(
            &mut store,
            now,
            request(
                Method::POST,
                PARENT,
                "connectorId=cc",
                json!({"network": "default", "ipCidrRange": "10.8.0.0/28"}),
            ),
        )
        .unwrap();
        let later = now + chrono::Duration::milliseconds(60);
        let name = op["name"].as_str().unwrap().to_string();
        let done = call(&mut store, later, request(Method::GET, &format!("v1/{name}"), "", Value::Null)).unwrap();
        assert_eq!(done["error"], json!({"code": 3, "message": MISSING_MAX_MESSAGE}));
        assert!(!store.contains(API, "projects/p/locations/us-central1/connectors/cc"));
    }

    #[test]
    fn patch_accepts_only_the_updatable_mask_paths() {
        let mut store = Store::new();
        let t0 = chrono::Utc::now();
        call(
            &mut store,
            t0,
            request(
                Method::POST,
                PARENT,
                "connectorId=c1",
                json!({"subnet": {"name": "sub"}, "minInstances": 2, "maxInstances": 3}),
            ),
        )
        .unwrap();
        let t1 = t0 + chrono::Duration::milliseconds(60);
        let path = format!("{PARENT}/c1");
        let err = call(&mut store, t1, request(Method::PATCH, &path, "updateMask=network", json!({"network": "x"})))
            .unwrap_err();
        assert_eq!(err.code, Code::InvalidArgument);
        call(
            &mut store,
            t1,
            request(
                Method::PATCH,
                &path,
                "updateMask=max_instances,machineType",
                json!({"maxInstances": 5, "machineType": "e2-standard-4"}),
            ),
        )
        .unwrap();
        let got = call(&mut store, t1, request(Method::GET, &path, "", Value::Null)).unwrap();
        assert_eq!((got["state"].as_str(), got["maxInstances"].as_i64()), (Some("UPDATING"), Some(5)));
        assert_eq!(got["subnet"], json!({"name": "sub", "projectId": "p"}));
        let busy = call(&mut store, t1, request(Method::PATCH, &path, "", json!({"minInstances": 3}))).unwrap_err();
        assert_eq!(busy.code, Code::FailedPrecondition);
        let t2 = t1 + chrono::Duration::milliseconds(60);
        call(&mut store, t2, request(Method::PATCH, &path, "", json!({"minInstances": 3}))).unwrap();
        let got = call(&mut store, t2, request(Method::GET, &path, "", Value::Null)).unwrap();
        assert_eq!((got["minInstances"].as_i64(), got["machineType"].as_str()), (Some(3), Some("e2-standard-4")));
    }

    #[test]
    fn seeded_connectors_take_any_state() {
        let mut store = Store::new();
        let now = chrono::Utc::now();
        let mut ctx = Ctx { store: &mut store, operation_duration: Duration::from_millis(50), now };
        VpcAccess.seed(&mut ctx, &json!({"connectors": [
            {"project": "p", "location": "l", "id": "broken", "network": "default", "ipCidrRange": "10.8.0.0/28", "state": "ERROR"},
            {"project": "p", "location": "l", "id": "stuck", "network": "default", "ipCidrRange": "10.8.0.16/28", "state": "CREATING", "pinned": true},
            {"project": "p", "location": "l", "id": "soon", "subnet": {"name": "s"}, "maxThroughput": 500, "state": "CREATING"}
        ]})).unwrap();
        operations::settle_due(&mut store, now + chrono::Duration::seconds(1));
        let state = |id: &str| {
            store.get(API, &format!("projects/p/locations/l/connectors/{id}")).unwrap().value["state"].clone()
        };
        assert_eq!(state("broken"), "ERROR");
        assert_eq!(state("stuck"), "CREATING");
        assert_eq!(state("soon"), "READY");
        let mut ctx = Ctx { store: &mut store, operation_duration: Duration::ZERO, now };
        let err = VpcAccess
            .seed(&mut ctx, &json!({"connectors": [{"project": "p", "location": "l", "id": "x", "state": "GONE"}]}))
            .unwrap_err();
        assert!(err.contains("connectors[0]"), "{err}");
    }
}
