//! Cloud Run Admin API v2 (`run.googleapis.com`), per the discovery document (run.v2.json,
//! revision 20261031): services, their revisions, IAM policies on services, and the
//! google.longrunning operations every mutation returns.
//!
//! Services live in the store under `projects/{project id}/locations/{l}/services/{s}`,
//! revisions under `…/services/{s}/revisions/{r}`. A create, or an update that changes the
//! template, makes a new revision `{service}-{generation, 5 digits}-{3 characters}`; the
//! operation finishes after `operation_duration`, when the revision becomes ready (the service
//! then serves it: `latestReadyRevision`, `trafficStatuses`, `terminalCondition` Ready
//! CONDITION_SUCCEEDED) — or, for a service a scenario (or `fail_revisions`) says never gets a
//! ready revision, fails with the revision's condition message, leaving `terminalCondition`
//! CONDITION_FAILED and `latestReadyRevision` where it was. As in the real API, the operation's
//! metadata and response are the Service (the Revision for a revision delete).
//!
//! Every write gives the resource a new weak etag; `etag` on update (in the body) and delete
//! (query) must match it, or the request fails with ABORTED (409), AIP-154's answer to a stale
//! etag (google.aip.dev/154).

mod iam;
mod spec;

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::api::{list_response, paginate, Api, ApiRequest, Ctx};
use super::discovery;
use super::enums::{self, EnumField};
use super::errors::{aborted, already_exists, failed_precondition, invalid_argument, not_found, ApiError, Envelope};
use super::mask::{MaskRules, Refusal, UpdateMask};
use super::operations::{self, Effect, NewOperation, OperationStyle, Outcome};
use super::store::Store;
use axum::http::Method;

pub const API: &str = "run";
/// Store namespace of the "revisions of this service never become ready" faults, by service
/// name (kept apart so listing services never meets them).
const FAULTS: &str = "run-faults";

const SERVICE_SCHEMA: &str = "GoogleCloudRunV2Service";
const SERVICE_TYPE: &str = "type.googleapis.com/google.cloud.run.v2.Service";
const REVISION_TYPE: &str = "type.googleapis.com/google.cloud.run.v2.Revision";
/// Who the emulator says made a change (`creator`, `lastModifier`), as its other APIs do.
const USER: &str = "user@example.com";
/// Where field violations are reported, as the real API words them ("Violation in
/// CreateServiceRequest.service_id: …", github.com/pulumi/pulumi-gcp issue 3166).
const CREATE: &str = "Violation in CreateServiceRequest.service";
const UPDATE: &str = "Violation in UpdateServiceRequest.service";
/// Not documented; one page holds every service of a test or a stack.
const MAX_PAGE_SIZE: usize = 1000;

/// The real API's message for a revision whose container never listens on its port, as
/// Terraform reports it ("Error waiting for Updating Service: Error code 9, message: Revision
/// '…' is not ready and cannot serve traffic. The user-provided container failed to start…",
/// github.com/octo-sts/app pull request 1005); `{port}` is the container's port.
const CONTAINER_FAILED: &str = "The user-provided container failed to start and listen on the port defined provided by the PORT={port} environment variable within the allocated timeout. This can happen when the container port is misconfigured or if the timeout is too short. The health check timeout can be extended. Logs for this revision might contain more information.";

/// The permissions `testIamPermissions` knows on a service
/// (cloud.google.com/run/docs/reference/iam/permissions).
const SERVICE_PERMISSIONS: &[&str] = &[
    "run.services.get",
    "run.services.update",
    "run.services.delete",
    "run.services.getIamPolicy",
    "run.services.setIamPolicy",
    "run.routes.invoke",
    "run.revisions.get",
    "run.revisions.list",
    "run.revisions.delete",
];

/// Writable top-level fields of a Service (the discovery schema's fields that are neither
/// output only nor `name`/`etag`): what an update replaces, and what a mask may name.
const WRITABLE: &[&str] = &[
    "annotations",
    "binaryAuthorization",
    "buildConfig",
    "client",
    "clientVersion",
    "customAudiences",
    "defaultUriDisabled",
    "description",
    "functionalType",
    "iapEnabled",
    "ingress",
    "invokerIamDisabled",
    "labels",
    "launchStage",
    "multiRegionSettings",
    "scaling",
    "sshEnabled",
    "template",
    "traffic",
];
const OUTPUT_ONLY: &[&str] = &[
    "conditions",
    "createTime",
    "creator",
    "deleteTime",
    "expireTime",
    "generation",
    "lastModifier",
    "latestCreatedRevision",
    "latestReadyRevision",
    "observedGeneration",
    "reconciling",
    "satisfiesPzs",
    "terminalCondition",
    "threatDetectionEnabled",
    "trafficStatuses",
    "uid",
    "updateTime",
    "uri",
    "urls",
];

// Enum values in proto number order, from the google-cloud-run-v2 crate's model (the SDKs
// ask for `enum-encoding=int` and send numbers). A gap in the numbering is "".
const CONDITION_STATES: &[&str] =
    &["STATE_UNSPECIFIED", "CONDITION_PENDING", "CONDITION_RECONCILING", "CONDITION_FAILED", "CONDITION_SUCCEEDED"];
const SEVERITIES: &[&str] = &["SEVERITY_UNSPECIFIED", "ERROR", "WARNING", "INFO"];
const COMMON_REASONS: &[&str] = &[
    "COMMON_REASON_UNDEFINED",
    "UNKNOWN",
    "",
    "REVISION_FAILED",
    "PROGRESS_DEADLINE_EXCEEDED",
    "",
    "CONTAINER_MISSING",
    "CONTAINER_PERMISSION_DENIED",
    "CONTAINER_IMAGE_UNAUTHORIZED",
    "CONTAINER_IMAGE_AUTHORIZATION_CHECK_FAILED",
    "ENCRYPTION_KEY_PERMISSION_DENIED",
    "ENCRYPTION_KEY_CHECK_FAILED",
    "SECRETS_ACCESS_CHECK_FAILED",
    "WAITING_FOR_OPERATION",
    "IMMEDIATE_RETRY",
    "POSTPONED_RETRY",
    "INTERNAL",
    "VPC_NETWORK_NOT_FOUND",
];
const REVISION_REASONS: &[&str] = &[
    "REVISION_REASON_UNDEFINED",
    "PENDING",
    "RESERVE",
    "RETIRED",
    "RETIRING",
    "RECREATING",
    "HEALTH_CHECK_CONTAINER_ERROR",
    "CUSTOMIZED_PATH_RESPONSE_PENDING",
    "MIN_INSTANCES_NOT_PROVISIONED",
    "ACTIVE_REVISION_LIMIT_REACHED",
    "NO_DEPLOYMENT",
    "HEALTH_CHECK_SKIPPED",
    "MIN_INSTANCES_WARMING",
];
const EXECUTION_REASONS: &[&str] = &[
    "EXECUTION_REASON_UNDEFINED",
    "JOB_STATUS_SERVICE_POLLING_ERROR",
    "NON_ZERO_EXIT_CODE",
    "CANCELLED",
    "CANCELLING",
    "DELETED",
    "DELAYED_START_PENDING",
];
/// google.api.LaunchStage numbers its values out of declaration order.
const LAUNCH_STAGES: &[&str] =
    &["LAUNCH_STAGE_UNSPECIFIED", "EARLY_ACCESS", "ALPHA", "BETA", "GA", "DEPRECATED", "UNIMPLEMENTED", "PRELAUNCH"];
const TRAFFIC_TYPES: &[&str] = &[
    "TRAFFIC_TARGET_ALLOCATION_TYPE_UNSPECIFIED",
    "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST",
    "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION",
];
const INGRESS: &[&str] = &[
    "INGRESS_TRAFFIC_UNSPECIFIED",
    "INGRESS_TRAFFIC_ALL",
    "INGRESS_TRAFFIC_INTERNAL_ONLY",
    "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER",
    "INGRESS_TRAFFIC_NONE",
];
const EXECUTION_ENVIRONMENTS: &[&str] =
    &["EXECUTION_ENVIRONMENT_UNSPECIFIED", "EXECUTION_ENVIRONMENT_GEN1", "EXECUTION_ENVIRONMENT_GEN2"];
const KEY_REVOCATION_ACTIONS: &[&str] = &["ENCRYPTION_KEY_REVOCATION_ACTION_UNSPECIFIED", "PREVENT_NEW", "SHUTDOWN"];
const VPC_EGRESS: &[&str] = &["VPC_EGRESS_UNSPECIFIED", "ALL_TRAFFIC", "PRIVATE_RANGES_ONLY"];
const SCALING_MODES: &[&str] = &["SCALING_MODE_UNSPECIFIED", "AUTOMATIC", "MANUAL"];
const MEDIUMS: &[&str] = &["MEDIUM_UNSPECIFIED", "MEMORY"];
/// google.iam.v1.AuditLogConfig.LogType.
const LOG_TYPES: &[&str] = &["LOG_TYPE_UNSPECIFIED", "ADMIN_READ", "DATA_WRITE", "DATA_READ"];
const SET_POLICY_ENUMS: &[EnumField] =
    &[EnumField { path: "policy.auditConfigs[].auditLogConfigs[].logType", values: LOG_TYPES }];
const POLICY_ENUMS: &[EnumField] = &[EnumField { path: "auditConfigs[].auditLogConfigs[].logType", values: LOG_TYPES }];

macro_rules! condition_enums {
    ($prefix:literal) => {
        [
            EnumField { path: concat!($prefix, ".state"), values: CONDITION_STATES },
            EnumField { path: concat!($prefix, ".severity"), values: SEVERITIES },
            EnumField { path: concat!($prefix, ".reason"), values: COMMON_REASONS },
            EnumField { path: concat!($prefix, ".revisionReason"), values: REVISION_REASONS },
            EnumField { path: concat!($prefix, ".executionReason"), values: EXECUTION_REASONS },
        ]
    };
}

const SERVICE_ENUMS: &[EnumField] = &{
    let t = condition_enums!("terminalCondition");
    let c = condition_enums!("conditions[]");
    [
        EnumField { path: "ingress", values: INGRESS },
        EnumField { path: "launchStage", values: LAUNCH_STAGES },
        EnumField { path: "traffic[].type", values: TRAFFIC_TYPES },
        EnumField { path: "trafficStatuses[].type", values: TRAFFIC_TYPES },
        EnumField { path: "scaling.scalingMode", values: SCALING_MODES },
        EnumField { path: "template.executionEnvironment", values: EXECUTION_ENVIRONMENTS },
        EnumField { path: "template.encryptionKeyRevocationAction", values: KEY_REVOCATION_ACTIONS },
        EnumField { path: "template.vpcAccess.egress", values: VPC_EGRESS },
        EnumField { path: "template.volumes[].emptyDir.medium", values: MEDIUMS },
        t[0],
        t[1],
        t[2],
        t[3],
        t[4],
        c[0],
        c[1],
        c[2],
        c[3],
        c[4],
    ]
};

const REVISION_ENUMS: &[EnumField] = &{
    let c = condition_enums!("conditions[]");
    [
        EnumField { path: "launchStage", values: LAUNCH_STAGES },
        EnumField { path: "executionEnvironment", values: EXECUTION_ENVIRONMENTS },
        EnumField { path: "encryptionKeyRevocationAction", values: KEY_REVOCATION_ACTIONS },
        EnumField { path: "vpcAccess.egress", values: VPC_EGRESS },
        EnumField { path: "volumes[].emptyDir.medium", values: MEDIUMS },
        c[0],
        c[1],
        c[2],
        c[3],
        c[4],
    ]
};

pub struct Run;

#[derive(Debug, PartialEq)]
enum Target {
    Services { project: String, location: String },
    Service { name: String, verb: Option<String> },
    Revisions { service: String },
    Revision { name: String },
    Operations { parent: String },
    Operation { name: String, wait: bool },
}

impl Api for Run {
    fn name(&self) -> &'static str {
        API
    }

    fn envelope(&self) -> Envelope {
        Envelope::Aip
    }

    fn claims(&self, path: &str) -> bool {
        let segs: Vec<&str> = path.split('/').collect();
        match segs.as_slice() {
            ["v2", "projects", _, "locations", _, collection, ..] => {
                matches!(collection.split(':').next(), Some("services" | "operations"))
            }
            _ => false,
        }
    }

    fn handle(&self, ctx: &mut Ctx<'_>, req: &ApiRequest) -> Result<Value, ApiError> {
        let ints = req.enum_ints;
        let m = &req.method;
        let mut out = match parse_target(ctx.store, &req.path)? {
            Target::Services { project, location } if m == Method::POST => create(ctx, req, &project, &location)?,
            Target::Services { project, location } if m == Method::GET => {
                let mut list = list_services(ctx, req, &project, &location)?;
                encode_each(&mut list, "services", SERVICE_ENUMS, ints);
                return Ok(list);
            }
            Target::Service { name, verb: None } if m == Method::GET => {
                let mut service = service(ctx.store, &name)?.clone();
                enums::encode(&mut service, SERVICE_ENUMS, ints);
                return Ok(service);
            }
            Target::Service { name, verb: None } if m == Method::PATCH => update(ctx, req, &name)?,
            Target::Service { name, verb: None } if m == Method::DELETE => delete_service(ctx, req, &name)?,
            Target::Service { name, verb: Some(verb) } => return iam_call(ctx, req, &name, &verb),
            Target::Revisions { service } if m == Method::GET => {
                let mut list = list_revisions(ctx, req, &service)?;
                encode_each(&mut list, "revisions", REVISION_ENUMS, ints);
                return Ok(list);
            }
            Target::Revision { name } if m == Method::GET => {
                let mut revision = revision(ctx.store, &name)?.clone();
                enums::encode(&mut revision, REVISION_ENUMS, ints);
                return Ok(revision);
            }
            Target::Revision { name } if m == Method::DELETE => delete_revision(ctx, req, &name)?,
            Target::Operations { parent } if m == Method::GET => {
                let mut list = list_operations(ctx, req, &parent)?;
                if let Some(Value::Array(ops)) = list.get_mut("operations") {
                    for op in ops {
                        encode_operation(op, ints);
                    }
                }
                return Ok(list);
            }
            Target::Operation { name, wait: false } if m == Method::GET => get_operation(ctx.store, &name, ctx.now)?,
            Target::Operation { name, wait: true } if m == Method::POST => get_operation(ctx.store, &name, ctx.now)?,
            Target::Operation { name, wait: false } if m == Method::DELETE => {
                if ctx.store.operations.remove(&name).is_none() {
                    return Err(operation_not_found(&name));
                }
                ctx.store.mark_dirty();
                return Ok(json!({}));
            }
            _ => return Err(not_found(format!("The Cloud Run Admin API has no method {} /{}.", req.method, req.path))),
        };
        encode_operation(&mut out, ints);
        Ok(out)
    }

    fn seed(&self, ctx: &mut Ctx<'_>, section: &Value) -> Result<(), String> {
        let scenario: ScenarioSection = serde_json::from_value(section.clone()).map_err(|e| format!("run: {e}"))?;
        for (i, fault) in scenario.revisions_never_ready.iter().enumerate() {
            let name = format!("projects/{}/locations/{}/services/{}", fault.project, fault.location, fault.service);
            fail_revisions(ctx.store, &name, fault.message.as_deref())
                .map_err(|e| format!("run.revisionsNeverReady[{i}] ({}): {e}", fault.service))?;
        }
        for (i, s) in scenario.services.iter().enumerate() {
            seed_service(ctx, s).map_err(|e| format!("run.services[{i}] ({}): {}", s.id, e.message))?;
        }
        Ok(())
    }

    fn hold_until(&self, store: &Store, req: &ApiRequest) -> Option<DateTime<Utc>> {
        let Ok(Target::Operation { name, wait: true }) = parse_target(store, &req.path) else {
            return None;
        };
        let op = store.operations.get(&name).filter(|op| !op.settled)?;
        // WaitOperationRequest.timeout: "The maximum duration to wait before timing out."
        let timeout = req
            .json_body()
            .ok()
            .and_then(|b| b.get("timeout").and_then(Value::as_str).and_then(spec::duration_seconds))
            .map(|s| chrono::Duration::milliseconds((s * 1000.0) as i64));
        Some(match timeout {
            Some(t) => op.done_at.min(Utc::now() + t),
            None => op.done_at,
        })
    }
}

/// Makes every revision the service `name` creates from now on fail to become ready with
/// `message` (the real API's container failure text by default). For tests and scenarios.
pub fn fail_revisions(store: &mut Store, name: &str, message: Option<&str>) -> Result<(), String> {
    let segs: Vec<&str> = name.split('/').collect();
    if !matches!(segs.as_slice(), ["projects", p, "locations", l, "services", s] if !p.is_empty() && !l.is_empty() && valid_service_id(s))
    {
        return Err(format!("\"{name}\" is not a service name (projects/P/locations/L/services/S)"));
    }
    store.put(FAULTS, name, json!({"message": message}), Value::Null);
    Ok(())
}

fn parse_target(store: &Store, path: &str) -> Result<Target, ApiError> {
    let segs: Vec<&str> = path.split('/').collect();
    let bad = || not_found(format!("The Cloud Run Admin API has no resource /{path}."));
    let ["v2", "projects", p, "locations", l, tail @ ..] = segs.as_slice() else {
        return Err(bad());
    };
    if p.is_empty() || l.is_empty() {
        return Err(bad());
    }
    let project = store.projects.id_for(p);
    let parent = format!("projects/{project}/locations/{l}");
    let split = |s: &str| match s.split_once(':') {
        Some((name, verb)) => (name.to_string(), Some(verb.to_string())),
        None => (s.to_string(), None),
    };
    Ok(match tail {
        ["services"] => Target::Services { project, location: l.to_string() },
        ["services", s] if !s.is_empty() => {
            let (s, verb) = split(s);
            Target::Service { name: format!("{parent}/services/{s}"), verb }
        }
        ["services", s, "revisions"] => Target::Revisions { service: format!("{parent}/services/{s}") },
        ["services", s, "revisions", r] if !r.is_empty() => {
            Target::Revision { name: format!("{parent}/services/{s}/revisions/{r}") }
        }
        ["operations"] => Target::Operations { parent },
        ["operations", o] if !o.is_empty() => match split(o) {
            (o, None) => Target::Operation { name: format!("{parent}/operations/{o}"), wait: false },
            (o, Some(verb)) if verb == "wait" => {
                Target::Operation { name: format!("{parent}/operations/{o}"), wait: true }
            }
            _ => return Err(bad()),
        },
        _ => return Err(bad()),
    })
}

/// The parts of a service name.
fn parts(name: &str) -> (&str, &str, &str) {
    let segs: Vec<&str> = name.split('/').collect();
    match segs.as_slice() {
        ["projects", p, "locations", l, "services", s, ..] => (p, l, s),
        _ => ("", "", ""),
    }
}

fn service_not_found(name: &str) -> ApiError {
    let (p, l, s) = parts(name);
    not_found(format!("Resource '{s}' of kind 'SERVICE' in region '{l}' in project '{p}' does not exist."))
}

fn revision_not_found(name: &str) -> ApiError {
    let (p, l, _) = parts(name);
    let r = name.rsplit('/').next().unwrap_or(name);
    not_found(format!("Resource '{r}' of kind 'REVISION' in region '{l}' in project '{p}' does not exist."))
}

fn operation_not_found(name: &str) -> ApiError {
    not_found(format!("Operation {name} not found."))
}

fn service<'s>(store: &'s Store, name: &str) -> Result<&'s Value, ApiError> {
    store.get(API, name).map(|r| &r.value).ok_or_else(|| service_not_found(name))
}

fn revision<'s>(store: &'s Store, name: &str) -> Result<&'s Value, ApiError> {
    store.get(API, name).map(|r| &r.value).ok_or_else(|| revision_not_found(name))
}

fn get_operation(store: &Store, name: &str, now: DateTime<Utc>) -> Result<Value, ApiError> {
    operations::get(store, name, now).ok_or_else(|| operation_not_found(name))
}

/// Service ids: lowercase letters, digits and hyphens, starting with a letter, not ending with a
/// hyphen, at most 49 characters ("Service names must … be 49 characters or less",
/// cloud.google.com/run/docs/deploying).
pub fn valid_service_id(id: &str) -> bool {
    let b = id.as_bytes();
    (1..=49).contains(&b.len())
        && b[0].is_ascii_lowercase()
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b.last().is_some_and(|c| *c != b'-')
}

/// A weak etag (`W/"…"`) that never repeats: every write of a service or revision takes one.
fn new_etag() -> String {
    format!("W/\"{}\"", uuid::Uuid::new_v4().simple())
}

/// `{service}-{generation, 5 digits}-{3 lowercase letters or digits}`, as the API names the
/// revisions it creates (e.g. `hello-00001-abc`).
pub fn revision_name(service_id: &str, generation: u64) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let bytes = uuid::Uuid::new_v4().into_bytes();
    let suffix: String = bytes[..3].iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect();
    format!("{service_id}-{generation:05}-{suffix}")
}

/// The short region code in `*.a.run.app` hosts (cloud.google.com/run/docs/triggering/https-request
/// lists the deterministic URL; the legacy host ends `-{hash}-{region code}.a.run.app`).
fn region_code(region: &str) -> String {
    let known = [
        ("us-central1", "uc"),
        ("us-east1", "ue"),
        ("us-east4", "uk"),
        ("us-west1", "uw"),
        ("us-west2", "wl"),
        ("europe-west1", "ew"),
        ("europe-west2", "nw"),
        ("europe-west3", "ey"),
        ("europe-west4", "ez"),
        ("asia-east1", "de"),
        ("asia-northeast1", "an"),
        ("asia-southeast1", "as"),
        ("australia-southeast1", "ts"),
    ];
    if let Some((_, code)) = known.iter().find(|(r, _)| *r == region) {
        return code.to_string();
    }
    region.split('-').filter_map(|w| w.chars().next()).take(2).collect()
}

/// The per-project hash in `*.a.run.app` hosts: ten lowercase letters and digits, stable for a
/// project.
fn project_hash(project: &str) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in project.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    (0..10)
        .map(|_| {
            let c = ALPHABET[(h % ALPHABET.len() as u64) as usize] as char;
            h /= ALPHABET.len() as u64;
            if h == 0 {
                h = 0x9e37_79b9_7f4a_7c15;
            }
            c
        })
        .collect()
}

fn uris(store: &mut Store, project: &str, region: &str, id: &str) -> (String, Vec<String>) {
    let number = store.projects.number_for(project);
    let legacy = format!("https://{id}-{}-{}.a.run.app", project_hash(project), region_code(region));
    let deterministic = format!("https://{id}-{number}.{region}.run.app");
    (legacy.clone(), vec![deterministic, legacy])
}

fn condition(kind: &str, state: &str, at: DateTime<Utc>) -> Map<String, Value> {
    let mut c = Map::new();
    c.insert("type".into(), json!(kind));
    c.insert("state".into(), json!(state));
    c.insert("lastTransitionTime".into(), json!(operations::timestamp(at)));
    c
}

/// The status of a service whose revisions are being rolled out.
fn reconciling_status(at: DateTime<Utc>) -> Map<String, Value> {
    let mut s = Map::new();
    s.insert("reconciling".into(), json!(true));
    s.insert("terminalCondition".into(), Value::Object(condition("Ready", "CONDITION_RECONCILING", at)));
    s.insert(
        "conditions".into(),
        json!([
            condition("RoutesReady", "CONDITION_RECONCILING", at),
            condition("ConfigurationsReady", "CONDITION_RECONCILING", at)
        ]),
    );
    s
}

fn traffic_statuses(traffic: &Value, uri: &str) -> Value {
    let statuses: Vec<Value> = traffic
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            let mut s = Map::new();
            for field in ["type", "revision", "percent", "tag"] {
                if let Some(v) = t.get(field).filter(|v| !v.is_null()) {
                    s.insert(field.into(), v.clone());
                }
            }
            if let Some(tag) = t.get("tag").and_then(Value::as_str).filter(|t| !t.is_empty()) {
                s.insert("uri".into(), json!(uri.replacen("https://", &format!("https://{tag}---"), 1)));
            }
            Value::Object(s)
        })
        .collect();
    Value::Array(statuses)
}

/// Fields merged into a service once its rollout of `generation` succeeds.
fn ready_status(
    generation: u64,
    ready_revision: &str,
    traffic: &Value,
    uri: &str,
    at: DateTime<Utc>,
) -> Map<String, Value> {
    let mut s = Map::new();
    s.insert("reconciling".into(), json!(false));
    s.insert("observedGeneration".into(), json!(generation.to_string()));
    s.insert("terminalCondition".into(), Value::Object(condition("Ready", "CONDITION_SUCCEEDED", at)));
    s.insert(
        "conditions".into(),
        json!([
            condition("RoutesReady", "CONDITION_SUCCEEDED", at),
            condition("ConfigurationsReady", "CONDITION_SUCCEEDED", at)
        ]),
    );
    if !ready_revision.is_empty() {
        s.insert("latestReadyRevision".into(), json!(ready_revision));
    }
    s.insert("trafficStatuses".into(), traffic_statuses(traffic, uri));
    s.insert("etag".into(), json!(new_etag()));
    s
}

/// Fields merged into a service whose new revision never became ready: what served before
/// keeps serving (`latestReadyRevision`, `trafficStatuses` stay).
fn failed_status(generation: u64, message: &str, still_serving: bool, at: DateTime<Utc>) -> Map<String, Value> {
    let mut terminal = condition("Ready", "CONDITION_FAILED", at);
    terminal.insert("message".into(), json!(message));
    terminal.insert("reason".into(), json!("REVISION_FAILED"));
    let mut configurations = condition("ConfigurationsReady", "CONDITION_FAILED", at);
    configurations.insert("message".into(), json!(message));
    configurations.insert("reason".into(), json!("REVISION_FAILED"));
    let routes = condition("RoutesReady", if still_serving { "CONDITION_SUCCEEDED" } else { "CONDITION_FAILED" }, at);
    let mut s = Map::new();
    s.insert("reconciling".into(), json!(false));
    s.insert("observedGeneration".into(), json!(generation.to_string()));
    s.insert("terminalCondition".into(), Value::Object(terminal));
    s.insert("conditions".into(), json!([routes, configurations]));
    s.insert("etag".into(), json!(new_etag()));
    s
}

fn revision_conditions(state: &str, message: Option<&str>, at: DateTime<Utc>) -> Value {
    let mut ready = condition("Ready", state, at);
    let mut container = condition("ContainerHealthy", state, at);
    if let Some(message) = message {
        ready.insert("message".into(), json!(message));
        ready.insert("revisionReason".into(), json!("HEALTH_CHECK_CONTAINER_ERROR"));
        container.insert("message".into(), json!(message));
    }
    json!([
        ready,
        condition("ResourcesAvailable", if message.is_some() { "CONDITION_SUCCEEDED" } else { state }, at),
        container
    ])
}

/// A revision of `service` made from its template.
fn build_revision(service: &Map<String, Value>, name: &str, now: DateTime<Utc>) -> Value {
    let template = service.get("template").and_then(Value::as_object).cloned().unwrap_or_default();
    let mut r = Map::new();
    for (field, value) in &template {
        match field.as_str() {
            // Template fields that are not Revision fields.
            "revision" | "client" | "clientVersion" | "healthCheckDisabled" => {}
            _ => {
                r.insert(field.clone(), value.clone());
            }
        }
    }
    let (p, l, s) = parts(name);
    r.insert("name".into(), json!(name));
    r.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
    r.insert("generation".into(), json!("1"));
    r.insert("createTime".into(), json!(operations::timestamp(now)));
    r.insert("updateTime".into(), json!(operations::timestamp(now)));
    r.insert("launchStage".into(), service.get("launchStage").cloned().unwrap_or(json!("GA")));
    r.insert("service".into(), json!(format!("projects/{p}/locations/{l}/services/{s}")));
    r.insert("reconciling".into(), json!(true));
    r.insert("observedGeneration".into(), json!("1"));
    r.insert("conditions".into(), revision_conditions("CONDITION_RECONCILING", None, now));
    r.insert(
        "logUri".into(),
        json!(format!(
            "https://console.cloud.google.com/logs/viewer?project={p}&resource=cloud_run_revision/service_name/{s}/revision_name/{}",
            name.rsplit('/').next().unwrap_or(name)
        )),
    );
    r.insert("etag".into(), json!(new_etag()));
    Value::Object(r)
}

/// The port the first container listens on (for the container failure message).
fn serving_port(service: &Map<String, Value>) -> i64 {
    service
        .get("template")
        .and_then(|t| t.get("containers"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find_map(|c| {
            c.get("ports").and_then(|p| p.get(0)).and_then(|p| p.get("containerPort")).and_then(Value::as_i64)
        })
        .unwrap_or(spec::DEFAULT_PORT)
}

/// The body of a create or update: enums as names, checked against the schema, output-only
/// fields dropped.
fn service_body(req: &ApiRequest) -> Result<Map<String, Value>, ApiError> {
    let mut body = decoded_body(req, SERVICE_ENUMS)?;
    let doc = discovery::of(API);
    doc.check_body(SERVICE_SCHEMA, &body, "service")?;
    doc.strip_output_only(SERVICE_SCHEMA, &mut body);
    Ok(body)
}

fn flag(req: &ApiRequest, name: &str) -> Result<bool, ApiError> {
    match req.query.get(name) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(invalid_argument(format!("Invalid value at '{name}' (TYPE_BOOL), \"{other}\""))),
    }
}

/// The request body with enum numbers turned into names.
fn decoded_body(req: &ApiRequest, fields: &[EnumField]) -> Result<Map<String, Value>, ApiError> {
    let mut body = req.json_body()?;
    let mut as_value = Value::Object(std::mem::take(&mut body));
    enums::decode(&mut as_value, fields).map_err(invalid_argument)?;
    if let Value::Object(decoded) = as_value {
        body = decoded;
    }
    Ok(body)
}

/// The writable part of a service (what an update without a mask replaces).
fn writable(service: &Map<String, Value>) -> Map<String, Value> {
    service.iter().filter(|(k, _)| WRITABLE.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn service_metadata(service: &Value) -> Value {
    let mut m = Map::new();
    m.insert("@type".into(), json!(SERVICE_TYPE));
    if let Value::Object(fields) = service {
        m.extend(fields.clone());
    }
    Value::Object(m)
}

fn operation_name(service: &str) -> String {
    let (p, l, _) = parts(service);
    format!("projects/{p}/locations/{l}/operations/{}", uuid::Uuid::new_v4())
}

/// A validate-only request's answer: a finished operation that nothing stores.
fn validated(name: &str, response: Value, now: DateTime<Utc>) -> Value {
    let response = service_metadata(&response);
    let op = operations::Operation {
        api: API.into(),
        name: operation_name(name),
        style: OperationStyle::Longrunning,
        metadata: response.clone(),
        end_time_field: None,
        done_at: now,
        outcome: Outcome::Response(response),
        effects: Vec::new(),
        settled: true,
    };
    operations::render(&op, now)
}

/// What finishing a rollout does, given whether its new revision (if any) becomes ready.
struct Rollout {
    outcome: Outcome,
    effects: Vec<Effect>,
}

/// Plans the end of a rollout of `service` (already stored, at `generation`) that created
/// `new_revision` (or none, for a change outside the template).
fn rollout(
    store: &Store,
    now: DateTime<Utc>,
    duration: std::time::Duration,
    service: &Map<String, Value>,
    new_revision: Option<&str>,
) -> Rollout {
    let name = service.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
    let generation = service.get("generation").and_then(Value::as_str).and_then(|g| g.parse().ok()).unwrap_or(1);
    let done_at = now + chrono::Duration::from_std(duration).unwrap_or_default();
    let uri = service.get("uri").and_then(Value::as_str).unwrap_or_default();
    let traffic = service.get("traffic").cloned().unwrap_or(Value::Null);
    let fault = store.get(FAULTS, &name).map(|f| f.value.clone());
    let merge =
        |target: &str, fields: Map<String, Value>| Effect::Merge { api: API.into(), name: target.into(), fields };
    match (new_revision, fault) {
        (Some(revision), Some(fault)) => {
            let revision_id = revision.rsplit('/').next().unwrap_or(revision);
            let container_message = fault["message"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| CONTAINER_FAILED.replace("{port}", &serving_port(service).to_string()));
            let message =
                format!("Revision '{revision_id}' is not ready and cannot serve traffic. {container_message}");
            let still_serving = service.get("latestReadyRevision").is_some();
            let mut revision_fields = Map::new();
            revision_fields.insert("reconciling".into(), json!(false));
            revision_fields.insert(
                "conditions".into(),
                revision_conditions("CONDITION_FAILED", Some(&container_message), done_at),
            );
            revision_fields.insert("etag".into(), json!(new_etag()));
            Rollout {
                // google.rpc.Code 9: Terraform reports "Error code 9, message: Revision '…' is not
                // ready…" for this failure (see CONTAINER_FAILED).
                outcome: Outcome::Error { code: super::errors::Code::FailedPrecondition, message: message.clone() },
                effects: vec![
                    merge(revision, revision_fields),
                    merge(&name, failed_status(generation, &message, still_serving, done_at)),
                ],
            }
        }
        (revision, _) => {
            let ready = revision
                .map(str::to_string)
                .or_else(|| service.get("latestReadyRevision").and_then(Value::as_str).map(str::to_string))
                .unwrap_or_default();
            let ready_id = ready.rsplit('/').next().unwrap_or_default().to_string();
            let mut effects = Vec::new();
            if let Some(revision) = revision {
                let mut revision_fields = Map::new();
                revision_fields.insert("reconciling".into(), json!(false));
                revision_fields.insert("conditions".into(), revision_conditions("CONDITION_SUCCEEDED", None, done_at));
                revision_fields.insert("etag".into(), json!(new_etag()));
                effects.push(merge(revision, revision_fields));
            }
            let ready_full = if ready_id.is_empty() { String::new() } else { format!("{name}/revisions/{ready_id}") };
            effects.push(merge(&name, ready_status(generation, &ready_full, &traffic, uri, done_at)));
            Rollout {
                outcome: Outcome::Resource { type_url: SERVICE_TYPE.into(), api: API.into(), name: name.clone() },
                effects,
            }
        }
    }
}

fn start(ctx: &mut Ctx<'_>, target: &str, metadata: Value, rollout: Rollout) -> Value {
    let new = NewOperation {
        api: API.into(),
        name: operation_name(target),
        style: OperationStyle::Longrunning,
        metadata,
        end_time_field: None,
        outcome: rollout.outcome,
        effects: rollout.effects,
    };
    operations::start(ctx.store, new, ctx.operation_duration, ctx.now)
}

/// Checks that every REVISION traffic target names a revision of the service (`extra` is the
/// revision being created).
fn check_traffic_revisions(
    store: &Store,
    name: &str,
    spec: &Map<String, Value>,
    extra: Option<&str>,
    at: &str,
) -> Result<(), ApiError> {
    for (i, target) in spec.get("traffic").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let Some(revision) = target.get("revision").and_then(Value::as_str).filter(|r| !r.is_empty()) else {
            continue;
        };
        let full = format!("{name}/revisions/{revision}");
        if !store.contains(API, &full) && extra != Some(full.as_str()) {
            return Err(invalid_argument(format!(
                "{at}.traffic[{i}].revision: revision \"{revision}\" does not exist in service \"{}\".",
                parts(name).2
            )));
        }
    }
    Ok(())
}

/// The name of the revision a new template gets: the template's `revision` (which must start
/// with the service id and be new) or a generated one.
fn next_revision_name(
    store: &Store,
    name: &str,
    spec: &Map<String, Value>,
    generation: u64,
    at: &str,
) -> Result<String, ApiError> {
    let id = parts(name).2;
    let chosen = spec.get("template").and_then(|t| t.get("revision")).and_then(Value::as_str).filter(|r| !r.is_empty());
    let revision_id = match chosen {
        Some(r) => {
            if !r.starts_with(&format!("{id}-")) {
                return Err(invalid_argument(format!(
                    "{at}.template.revision: revision name \"{r}\" must be prefixed by the service name \"{id}-\"."
                )));
            }
            r.to_string()
        }
        None => revision_name(id, generation),
    };
    let full = format!("{name}/revisions/{revision_id}");
    if store.contains(API, &full) {
        return Err(already_exists(format!(
            "Revision named '{revision_id}' with different configuration already exists."
        )));
    }
    Ok(full)
}

fn create(ctx: &mut Ctx<'_>, req: &ApiRequest, project: &str, location: &str) -> Result<Value, ApiError> {
    if location == "-" {
        return Err(invalid_argument("A service must be created in a location, not '-'."));
    }
    let id = req
        .query
        .get("serviceId")
        .ok_or_else(|| invalid_argument("service_id is required (the serviceId query parameter)."))?
        .to_string();
    if !valid_service_id(&id) {
        // The real API's words (github.com/pulumi/pulumi-gcp issue 3166).
        return Err(invalid_argument(format!(
            "{CREATE}_id: only lowercase, digits, and hyphens; must begin with letter, and cannot end with hyphen; must be less than 50 characters."
        )));
    }
    let validate_only = flag(req, "validateOnly")?;
    let body = service_body(req)?;
    let name = format!("projects/{project}/locations/{location}/services/{id}");
    create_service(ctx, &name, body, validate_only, CREATE)
}

fn create_service(
    ctx: &mut Ctx<'_>,
    name: &str,
    body: Map<String, Value>,
    validate_only: bool,
    at: &str,
) -> Result<Value, ApiError> {
    if ctx.store.contains(API, name) {
        return Err(already_exists(format!("Resource '{}' already exists.", parts(name).2)));
    }
    let service = new_service(ctx, name, body, at)?;
    let revision = service["latestCreatedRevision"].as_str().unwrap_or_default().to_string();
    if validate_only {
        return Ok(validated(name, Value::Object(service), ctx.now));
    }
    let revision_value = build_revision(&service, &revision, ctx.now);
    ctx.store.put(API, &revision, revision_value, Value::Null);
    ctx.store.put(API, name, Value::Object(service.clone()), Value::Null);
    let plan = rollout(ctx.store, ctx.now, ctx.operation_duration, &service, Some(&revision));
    Ok(start(ctx, name, service_metadata(&Value::Object(service)), plan))
}

/// A new service (generation 1, its first revision named) from a create body.
fn new_service(
    ctx: &mut Ctx<'_>,
    name: &str,
    body: Map<String, Value>,
    at: &str,
) -> Result<Map<String, Value>, ApiError> {
    let (project, location, id) = {
        let (p, l, s) = parts(name);
        (p.to_string(), l.to_string(), s.to_string())
    };
    let mut spec = writable(&body);
    let number = ctx.store.projects.number_for(&project);
    spec::prepare(&mut spec, at, &number, true)?;
    let revision = next_revision_name(ctx.store, name, &spec, 1, at)?;
    check_traffic_revisions(ctx.store, name, &spec, Some(&revision), at)?;
    let (uri, urls) = uris(ctx.store, &project, &location, &id);
    let now = operations::timestamp(ctx.now);
    let mut service = spec;
    service.insert("name".into(), json!(name));
    service.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
    service.insert("generation".into(), json!("1"));
    service.insert("createTime".into(), json!(now));
    service.insert("updateTime".into(), json!(now));
    service.insert("creator".into(), json!(USER));
    service.insert("lastModifier".into(), json!(USER));
    service.insert("uri".into(), json!(uri));
    service.insert("urls".into(), json!(urls));
    service.insert("latestCreatedRevision".into(), json!(revision));
    service.insert("etag".into(), json!(new_etag()));
    service.extend(reconciling_status(ctx.now));
    Ok(service)
}

fn check_etag(given: Option<&str>, current: &Value) -> Result<(), ApiError> {
    match given.filter(|e| !e.is_empty()) {
        Some(etag) if Some(etag) != current.get("etag").and_then(Value::as_str) => Err(aborted(format!(
            "The etag \"{etag}\" does not match the current etag of the resource: it changed since it was read. Read it again and retry."
        ))),
        _ => Ok(()),
    }
}

fn update(ctx: &mut Ctx<'_>, req: &ApiRequest, name: &str) -> Result<Value, ApiError> {
    let validate_only = flag(req, "validateOnly")?;
    let allow_missing = flag(req, "allowMissing")?;
    let body = service_body(req)?;
    let Some(current) = ctx.store.get(API, name).map(|r| r.value.clone()) else {
        if allow_missing {
            return create_service(ctx, name, body, validate_only, UPDATE);
        }
        return Err(service_not_found(name));
    };
    check_etag(body.get("etag").and_then(Value::as_str), &current)?;
    let current = current.as_object().cloned().unwrap_or_default();
    let mask = UpdateMask::from_query(&req.query);
    let mut spec = if mask.is_empty() {
        writable(&body)
    } else {
        let doc = discovery::of(API);
        let known = |path: &str| doc.knows_path(SERVICE_SCHEMA, path);
        let rules =
            MaskRules { updatable: WRITABLE, immutable: &["name"], output_only: OUTPUT_ONLY, known: Some(&known) };
        mask.check(&rules, |path, why| match why {
            Refusal::Immutable => invalid_argument(format!("update_mask: field \"{path}\" is immutable.")),
            Refusal::OutputOnly => invalid_argument(format!("update_mask: field \"{path}\" is output only.")),
            Refusal::Unknown => invalid_argument(format!("update_mask: \"{path}\" is not a field of Service.")),
        })?;
        let mut spec = writable(&current);
        mask.apply(&mut spec, &body);
        spec
    };
    let (project, _, _) = parts(name);
    let number = ctx.store.projects.number_for(project);
    spec::prepare(&mut spec, UPDATE, &number, false)?;
    let force_new_revision = flag(req, "forceNewRevision")?;
    if spec == writable(&current) && !force_new_revision {
        // Nothing to change: the operation reports the service as it is.
        if validate_only {
            return Ok(validated(name, Value::Object(current), ctx.now));
        }
        let plan = Rollout {
            outcome: Outcome::Resource { type_url: SERVICE_TYPE.into(), api: API.into(), name: name.into() },
            effects: Vec::new(),
        };
        return Ok(start(ctx, name, service_metadata(&Value::Object(current)), plan));
    }
    let generation =
        current.get("generation").and_then(Value::as_str).and_then(|g| g.parse::<u64>().ok()).unwrap_or(1) + 1;
    // forceNewRevision: "a new revision will be created from the template even if the system
    // doesn't detect any changes from the previously deployed revision" (discovery document).
    let template_changed = force_new_revision || spec.get("template") != current.get("template");
    let new_revision =
        if template_changed { Some(next_revision_name(ctx.store, name, &spec, generation, UPDATE)?) } else { None };
    check_traffic_revisions(ctx.store, name, &spec, new_revision.as_deref(), UPDATE)?;
    let mut service: Map<String, Value> =
        current.iter().filter(|(k, _)| !WRITABLE.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
    service.extend(spec);
    service.insert("generation".into(), json!(generation.to_string()));
    service.insert("updateTime".into(), json!(operations::timestamp(ctx.now)));
    service.insert("lastModifier".into(), json!(USER));
    service.insert("etag".into(), json!(new_etag()));
    if let Some(revision) = &new_revision {
        service.insert("latestCreatedRevision".into(), json!(revision));
    }
    service.extend(reconciling_status(ctx.now));
    if validate_only {
        return Ok(validated(name, Value::Object(service), ctx.now));
    }
    if let Some(revision) = &new_revision {
        let value = build_revision(&service, revision, ctx.now);
        ctx.store.put(API, revision, value, Value::Null);
    }
    let internal = ctx.store.get(API, name).map(|r| r.internal.clone()).unwrap_or(Value::Null);
    ctx.store.put(API, name, Value::Object(service.clone()), internal);
    let plan = rollout(ctx.store, ctx.now, ctx.operation_duration, &service, new_revision.as_deref());
    Ok(start(ctx, name, service_metadata(&Value::Object(service)), plan))
}

fn delete_service(ctx: &mut Ctx<'_>, req: &ApiRequest, name: &str) -> Result<Value, ApiError> {
    let validate_only = flag(req, "validateOnly")?;
    let current = service(ctx.store, name)?.clone();
    check_etag(req.query.get("etag"), &current)?;
    let mut gone = current.clone();
    let now = operations::timestamp(ctx.now);
    gone["deleteTime"] = json!(now);
    // Service.expireTime: "For a deleted resource, the time after which it will be permanently
    // deleted" — the emulator deletes at once, so it is the deletion time.
    gone["expireTime"] = json!(now);
    if validate_only {
        return Ok(validated(name, current, ctx.now));
    }
    let prefix = format!("{name}/revisions/");
    let mut effects: Vec<Effect> = ctx
        .store
        .children(API, &prefix)
        .map(|(revision, _)| Effect::Remove { api: API.into(), name: revision.clone() })
        .collect();
    effects.push(Effect::Remove { api: API.into(), name: name.into() });
    let response = service_metadata(&gone);
    let plan = Rollout { outcome: Outcome::Response(response.clone()), effects };
    Ok(start(ctx, name, response, plan))
}

fn delete_revision(ctx: &mut Ctx<'_>, req: &ApiRequest, name: &str) -> Result<Value, ApiError> {
    let validate_only = flag(req, "validateOnly")?;
    let current = revision(ctx.store, name)?.clone();
    check_etag(req.query.get("etag"), &current)?;
    let service_name = current["service"].as_str().unwrap_or_default().to_string();
    let id = name.rsplit('/').next().unwrap_or(name);
    if let Some(service) = ctx.store.get(API, &service_name).map(|r| r.value.clone()) {
        // "You cannot delete a revision that is serving traffic" and the latest revision of a
        // service cannot be deleted (cloud.google.com/run/docs/managing/revisions#delete).
        let serving = service["latestReadyRevision"] == name
            && service["trafficStatuses"].as_array().into_iter().flatten().any(|t| {
                t["type"] == "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST" && t["percent"].as_i64().unwrap_or(0) > 0
            })
            || service["trafficStatuses"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|t| t["revision"] == id && t["percent"].as_i64().unwrap_or(0) > 0);
        if serving {
            return Err(failed_precondition(format!("Revision {id} cannot be deleted because it is serving traffic.")));
        }
        if service["latestCreatedRevision"] == name {
            return Err(failed_precondition(format!(
                "Revision {id} cannot be deleted because it is the latest revision of service {}.",
                parts(&service_name).2
            )));
        }
    }
    let mut response = Map::new();
    response.insert("@type".into(), json!(REVISION_TYPE));
    if let Value::Object(fields) = &current {
        response.extend(fields.clone());
    }
    response.insert("deleteTime".into(), json!(operations::timestamp(ctx.now)));
    let response = Value::Object(response);
    if validate_only {
        let op = operations::Operation {
            api: API.into(),
            name: operation_name(name),
            style: OperationStyle::Longrunning,
            metadata: response.clone(),
            end_time_field: None,
            done_at: ctx.now,
            outcome: Outcome::Response(response),
            effects: Vec::new(),
            settled: true,
        };
        return Ok(operations::render(&op, ctx.now));
    }
    let plan = Rollout {
        outcome: Outcome::Response(response.clone()),
        effects: vec![Effect::Remove { api: API.into(), name: name.into() }],
    };
    Ok(start(ctx, name, response, plan))
}

fn iam_call(ctx: &mut Ctx<'_>, req: &ApiRequest, name: &str, verb: &str) -> Result<Value, ApiError> {
    let stored = ctx.store.get(API, name).cloned().ok_or_else(|| service_not_found(name))?;
    let doc = discovery::of(API);
    match verb {
        "getIamPolicy" if req.method == Method::GET || req.method == Method::POST => {
            let mut policy = iam::policy(&stored.internal);
            enums::encode(&mut policy, POLICY_ENUMS, req.enum_ints);
            Ok(policy)
        }
        "setIamPolicy" if req.method == Method::POST => {
            let body = decoded_body(req, SET_POLICY_ENUMS)?;
            doc.check_body("GoogleIamV1SetIamPolicyRequest", &body, "request")?;
            let mut internal = stored.internal.clone();
            let serial = ctx.store.generation() + 1;
            let mut policy = iam::set(&mut internal, &body, serial)?;
            // A policy change is not a change of the service: its etag stays.
            ctx.store.put(API, name, stored.value, internal);
            enums::encode(&mut policy, POLICY_ENUMS, req.enum_ints);
            Ok(policy)
        }
        "testIamPermissions" if req.method == Method::POST => {
            let body = req.json_body()?;
            doc.check_body("GoogleIamV1TestIamPermissionsRequest", &body, "request")?;
            iam::test_permissions(&body, SERVICE_PERMISSIONS)
        }
        _ => Err(not_found(format!("The Cloud Run Admin API has no method {} /{}.", req.method, req.path))),
    }
}

fn list_services(ctx: &mut Ctx<'_>, req: &ApiRequest, project: &str, location: &str) -> Result<Value, ApiError> {
    // Deleted services are gone at once here, so `showDeleted` has nothing more to show.
    flag(req, "showDeleted")?;
    // `locations/-` lists the services of every location (ListServicesRequest.parent: "To query
    // for all of the services in a project, use `-` as the location").
    let items: Vec<Value> = ctx
        .store
        .all(API)
        .filter(|(name, _)| {
            let segs: Vec<&str> = name.split('/').collect();
            matches!(segs.as_slice(), ["projects", p, "locations", l, "services", _] if *p == project && (location == "-" || *l == location))
        })
        .map(|(_, r)| r.value.clone())
        .collect();
    let (page, next) = paginate(items, &req.query, MAX_PAGE_SIZE, MAX_PAGE_SIZE)?;
    Ok(list_response("services", page, next))
}

fn list_revisions(ctx: &Ctx<'_>, req: &ApiRequest, service_name: &str) -> Result<Value, ApiError> {
    flag(req, "showDeleted")?;
    service(ctx.store, service_name)?;
    let prefix = format!("{service_name}/revisions/");
    // Newest first, as the API lists them.
    let mut items: Vec<Value> = ctx.store.children(API, &prefix).map(|(_, r)| r.value.clone()).collect();
    items.reverse();
    let (page, next) = paginate(items, &req.query, MAX_PAGE_SIZE, MAX_PAGE_SIZE)?;
    Ok(list_response("revisions", page, next))
}

fn list_operations(ctx: &Ctx<'_>, req: &ApiRequest, parent: &str) -> Result<Value, ApiError> {
    operations::list_page(ctx.store, API, parent, ctx.now, req, MAX_PAGE_SIZE)
}

fn encode_each(list: &mut Value, field: &str, fields: &[EnumField], ints: bool) {
    if let Some(Value::Array(items)) = list.get_mut(field) {
        for item in items {
            enums::encode(item, fields, ints);
        }
    }
}

/// Encodes the Service or Revision an operation carries in `metadata` and `response`.
fn encode_operation(op: &mut Value, ints: bool) {
    for part in ["metadata", "response"] {
        if let Some(inner) = op.get_mut(part) {
            let fields = match inner.get("@type").and_then(Value::as_str) {
                Some(REVISION_TYPE) => REVISION_ENUMS,
                Some(SERVICE_TYPE) => SERVICE_ENUMS,
                _ => continue,
            };
            enums::encode(inner, fields, ints);
        }
    }
}

/// The `run` section of a scenario file (see `scenario.rs`).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ScenarioSection {
    #[serde(default)]
    services: Vec<ScenarioService>,
    #[serde(default)]
    revisions_never_ready: Vec<ScenarioFault>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ScenarioService {
    project: String,
    location: String,
    id: String,
    /// The Service as one would create it (template, labels, traffic…).
    service: Map<String, Value>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ScenarioFault {
    project: String,
    location: String,
    service: String,
    /// The container failure the revision's Ready condition reports (default: the real API's
    /// text for a container that never listens on its port).
    #[serde(default)]
    message: Option<String>,
}

/// A seeded service exists, with its first revision, in its final state: serving that
/// revision, or failed when `revisionsNeverReady` names it.
fn seed_service(ctx: &mut Ctx<'_>, s: &ScenarioService) -> Result<(), ApiError> {
    if !valid_service_id(&s.id) {
        return Err(invalid_argument(format!("invalid service id \"{}\"", s.id)));
    }
    let name = format!("projects/{}/locations/{}/services/{}", s.project, s.location, s.id);
    if ctx.store.contains(API, &name) {
        return Err(already_exists("listed twice"));
    }
    let mut body = s.service.clone();
    discovery::of(API).check_body(SERVICE_SCHEMA, &body, "service")?;
    discovery::of(API).strip_output_only(SERVICE_SCHEMA, &mut body);
    let service = new_service(ctx, &name, body, "service")?;
    let revision = service["latestCreatedRevision"].as_str().unwrap_or_default().to_string();
    let revision_value = build_revision(&service, &revision, ctx.now);
    ctx.store.put(API, &revision, revision_value, Value::Null);
    ctx.store.put(API, &name, Value::Object(service.clone()), Value::Null);
    // The rollout's end, applied now rather than after an operation.
    let plan = rollout(ctx.store, ctx.now, std::time::Duration::ZERO, &service, Some(&revision));
    for effect in plan.effects {
        if let Effect::Merge { name, fields, .. } = effect {
            if let Some(stored) = ctx.store.get(API, &name).cloned() {
                let mut value = stored.value;
                if let Value::Object(obj) = &mut value {
                    obj.extend(fields);
                }
                ctx.store.put(API, &name, value, stored.internal);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
