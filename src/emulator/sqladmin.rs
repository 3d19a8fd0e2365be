//! Cloud SQL Admin API v1 (`sqladmin.googleapis.com`), per the discovery document (revision
//! 20240618) and gcp-wire-formats.md §2. Also served under the `sql/v1beta4/` prefix that
//! Terraform and gcloud use (same payloads; links then carry that prefix).
//!
//! Store layout (API `sqladmin`, project ids as the API echoes them):
//! - `projects/{p}/instances/{i}`: the DatabaseInstance as rendered (enums as names); its
//!   `internal` data holds `failNext` (the next operation fails, from a scenario).
//! - `projects/{p}/instances/{i}/databases/{d}` and `…/users/{host}/{name}` (a user's internal
//!   data holds only the SHA-256 of its password; the password itself is never kept).
//! - `deleted/projects/{p}/instances/{i}`: names of deleted instances, which cannot be reused
//!   (a week on the real API; the emulator's whole life here).
//!
//! Every mutation is a `sql#operation` (PENDING → RUNNING → DONE) whose changes land when it
//! is done; while one runs on an instance, other mutations of it get 409 operationInProgress.
//! Errors use the legacy envelope (`errors[]` with `reason`, no `status`).

use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::api::{paginate, Api, ApiRequest, Ctx, QueryParams};
use super::discovery;
use super::enums::visit;
use super::errors::{ApiError, Code, Envelope};
use super::operations::{self, Effect, NewOperation, OperationStyle, Outcome};
use axum::http::Method;

pub const API: &str = "sqladmin";

const SELF_LINK_BASE: &str = "https://sqladmin.googleapis.com/v1/";
const BETA_LINK_BASE: &str = "https://sqladmin.googleapis.com/sql/v1beta4/";
/// Who the emulator says started an operation (the real API names the caller's account).
const OPERATION_USER: &str = "user@example.com";
const MAX_PAGE_SIZE: usize = 500;

pub const IN_PROGRESS_MESSAGE: &str = "Operation failed because another operation was already in progress. Try your request after the current operation is complete.";
pub const ALREADY_EXISTS_MESSAGE: &str = "The Cloud SQL instance already exists. When you delete an instance, you can't reuse the name of the deleted instance until one week from the deletion date.";
pub const NOT_FOUND_MESSAGE: &str = "The Cloud SQL instance does not exist.";
pub const INVALID_STATE_MESSAGE: &str =
    "The instance or operation is not in an appropriate state to handle the request.";
pub const PROTECTED_MESSAGE: &str = "The instance is protected. Please disable the deletion protection and try again. To disable deletion protection, update the instance settings with deletionProtectionEnabled set to false.";

// ---------------------------------------------------------------------------------------------
// Enums. The numbers are google.cloud.sql.v1's (see the google-cloud-sql-v1 crate's model);
// they are sparse (SqlDatabaseVersion runs past 700), hence (name, number) pairs.

type Pairs = &'static [(&'static str, i64)];

const INSTANCE_STATE: Pairs = &[
    ("SQL_INSTANCE_STATE_UNSPECIFIED", 0),
    ("RUNNABLE", 1),
    ("SUSPENDED", 2),
    ("PENDING_DELETE", 3),
    ("PENDING_CREATE", 4),
    ("MAINTENANCE", 5),
    ("FAILED", 6),
    ("ONLINE_MAINTENANCE", 7),
    ("REPAIRING", 8),
];
const DATABASE_VERSION: Pairs = &[
    ("SQL_DATABASE_VERSION_UNSPECIFIED", 0),
    ("MYSQL_5_1", 2),
    ("MYSQL_5_5", 3),
    ("MYSQL_5_6", 5),
    ("MYSQL_5_7", 6),
    ("POSTGRES_9_6", 9),
    ("POSTGRES_11", 10),
    ("SQLSERVER_2017_STANDARD", 11),
    ("SQLSERVER_2017_ENTERPRISE", 14),
    ("SQLSERVER_2017_EXPRESS", 15),
    ("SQLSERVER_2017_WEB", 16),
    ("POSTGRES_10", 18),
    ("POSTGRES_12", 19),
    ("MYSQL_8_0", 20),
    ("POSTGRES_13", 23),
    ("SQLSERVER_2019_STANDARD", 26),
    ("SQLSERVER_2019_ENTERPRISE", 27),
    ("SQLSERVER_2019_EXPRESS", 28),
    ("SQLSERVER_2019_WEB", 29),
    ("MYSQL_8_0_18", 41),
    ("MYSQL_8_0_26", 85),
    ("POSTGRES_14", 110),
    ("MYSQL_8_0_27", 111),
    ("MYSQL_8_0_28", 132),
    ("MYSQL_8_0_29", 148),
    ("POSTGRES_15", 172),
    ("MYSQL_8_0_30", 174),
    ("MYSQL_8_0_31", 197),
    ("SQLSERVER_2022_STANDARD", 199),
    ("SQLSERVER_2022_ENTERPRISE", 200),
    ("SQLSERVER_2022_EXPRESS", 201),
    ("SQLSERVER_2022_WEB", 202),
    ("MYSQL_8_0_32", 213),
    ("MYSQL_8_0_33", 238),
    ("MYSQL_8_0_34", 239),
    ("MYSQL_8_0_35", 240),
    ("MYSQL_8_0_36", 241),
    ("POSTGRES_16", 272),
    ("MYSQL_8_0_37", 355),
    ("MYSQL_8_0_39", 357),
    ("MYSQL_8_0_40", 358),
    ("MYSQL_8_4", 398),
    ("POSTGRES_17", 408),
    ("MYSQL_8_0_41", 488),
    ("MYSQL_8_0_42", 489),
    ("SQLSERVER_2025_STANDARD", 549),
    ("SQLSERVER_2025_ENTERPRISE", 550),
    ("SQLSERVER_2025_EXPRESS", 551),
    ("MYSQL_8_0_43", 553),
    ("MYSQL_8_0_44", 554),
    ("MYSQL_8_0_45", 555),
    ("MYSQL_8_0_46", 556),
    ("POSTGRES_18", 557),
    ("MYSQL_9_7", 654),
    ("POSTGRES_19", 684),
    ("POSTGRES_20", 781),
];
const INSTANCE_TYPE: Pairs = &[
    ("SQL_INSTANCE_TYPE_UNSPECIFIED", 0),
    ("CLOUD_SQL_INSTANCE", 1),
    ("ON_PREMISES_INSTANCE", 2),
    ("READ_REPLICA_INSTANCE", 3),
    ("READ_POOL_INSTANCE", 5),
    ("GREEN_INSTANCE", 7),
];
const BACKEND_TYPE: Pairs =
    &[("SQL_BACKEND_TYPE_UNSPECIFIED", 0), ("FIRST_GEN", 1), ("SECOND_GEN", 2), ("EXTERNAL", 3)];
const IP_ADDRESS_TYPE: Pairs =
    &[("SQL_IP_ADDRESS_TYPE_UNSPECIFIED", 0), ("PRIMARY", 1), ("OUTGOING", 2), ("PRIVATE", 3), ("MIGRATED_1ST_GEN", 4)];
const SUSPENSION_REASON: Pairs = &[
    ("SQL_SUSPENSION_REASON_UNSPECIFIED", 0),
    ("BILLING_ISSUE", 2),
    ("LEGAL_ISSUE", 3),
    ("OPERATIONAL_ISSUE", 4),
    ("KMS_KEY_ISSUE", 5),
    ("PROJECT_ABUSE", 8),
];
const AVAILABILITY_TYPE: Pairs = &[("SQL_AVAILABILITY_TYPE_UNSPECIFIED", 0), ("ZONAL", 1), ("REGIONAL", 2)];
const PRICING_PLAN: Pairs = &[("SQL_PRICING_PLAN_UNSPECIFIED", 0), ("PACKAGE", 1), ("PER_USE", 2)];
const REPLICATION_TYPE: Pairs = &[("SQL_REPLICATION_TYPE_UNSPECIFIED", 0), ("SYNCHRONOUS", 1), ("ASYNCHRONOUS", 2)];
const ACTIVATION_POLICY: Pairs =
    &[("SQL_ACTIVATION_POLICY_UNSPECIFIED", 0), ("ALWAYS", 1), ("NEVER", 2), ("ON_DEMAND", 3)];
const DATA_DISK_TYPE: Pairs = &[
    ("SQL_DATA_DISK_TYPE_UNSPECIFIED", 0),
    ("PD_SSD", 1),
    ("PD_HDD", 2),
    ("OBSOLETE_LOCAL_SSD", 3),
    ("HYPERDISK_BALANCED", 4),
];
const EDITION: Pairs = &[("EDITION_UNSPECIFIED", 0), ("ENTERPRISE", 2), ("ENTERPRISE_PLUS", 3), ("DEVELOPER", 5)];
const CONNECTOR_ENFORCEMENT: Pairs = &[("CONNECTOR_ENFORCEMENT_UNSPECIFIED", 0), ("NOT_REQUIRED", 1), ("REQUIRED", 2)];
const SQL_NETWORK_ARCHITECTURE: Pairs =
    &[("SQL_NETWORK_ARCHITECTURE_UNSPECIFIED", 0), ("NEW_NETWORK_ARCHITECTURE", 1), ("OLD_NETWORK_ARCHITECTURE", 2)];
const SSL_MODE: Pairs = &[
    ("SSL_MODE_UNSPECIFIED", 0),
    ("ALLOW_UNENCRYPTED_AND_ENCRYPTED", 1),
    ("ENCRYPTED_ONLY", 2),
    ("TRUSTED_CLIENT_CERTIFICATE_REQUIRED", 3),
];
const OPERATION_STATUS: Pairs = &[("SQL_OPERATION_STATUS_UNSPECIFIED", 0), ("PENDING", 1), ("RUNNING", 2), ("DONE", 3)];
const OPERATION_TYPE: Pairs = &[
    ("SQL_OPERATION_TYPE_UNSPECIFIED", 0),
    ("IMPORT", 1),
    ("EXPORT", 2),
    ("CREATE", 3),
    ("UPDATE", 4),
    ("DELETE", 5),
    ("RESTART", 6),
    ("BACKUP", 7),
    ("SNAPSHOT", 8),
    ("BACKUP_VOLUME", 9),
    ("DELETE_VOLUME", 10),
    ("RESTORE_VOLUME", 11),
    ("INJECT_USER", 12),
    ("CLONE", 14),
    ("STOP_REPLICA", 15),
    ("START_REPLICA", 16),
    ("PROMOTE_REPLICA", 17),
    ("CREATE_REPLICA", 18),
    ("CREATE_USER", 19),
    ("DELETE_USER", 20),
    ("UPDATE_USER", 21),
    ("CREATE_DATABASE", 22),
    ("DELETE_DATABASE", 23),
    ("UPDATE_DATABASE", 24),
    ("FAILOVER", 25),
    ("DELETE_BACKUP", 26),
    ("RECREATE_REPLICA", 27),
    ("TRUNCATE_LOG", 28),
    ("DEMOTE_MASTER", 29),
    ("MAINTENANCE", 30),
    ("ENABLE_PRIVATE_IP", 31),
    ("DEFER_MAINTENANCE", 32),
    ("CREATE_CLONE", 33),
    ("RESCHEDULE_MAINTENANCE", 34),
    ("START_EXTERNAL_SYNC", 35),
    ("LOG_CLEANUP", 36),
    ("AUTO_RESTART", 37),
    ("REENCRYPT", 38),
    ("SWITCHOVER", 39),
    ("UPDATE_BACKUP", 40),
];
const USER_TYPE: Pairs =
    &[("BUILT_IN", 0), ("CLOUD_IAM_USER", 1), ("CLOUD_IAM_GROUP", 3), ("CLOUD_IAM_GROUP_USER", 4), ("ENTRAID_USER", 7)];

/// An enum field: a dotted path (`name[]` walks an array) and its (name, number) pairs.
type SparseField = (&'static str, Pairs);

const INSTANCE_ENUMS: &[SparseField] = &[
    ("state", INSTANCE_STATE),
    ("databaseVersion", DATABASE_VERSION),
    ("instanceType", INSTANCE_TYPE),
    ("backendType", BACKEND_TYPE),
    ("ipAddresses[].type", IP_ADDRESS_TYPE),
    ("suspensionReason[]", SUSPENSION_REASON),
    ("sqlNetworkArchitecture", SQL_NETWORK_ARCHITECTURE),
    ("settings.availabilityType", AVAILABILITY_TYPE),
    ("settings.pricingPlan", PRICING_PLAN),
    ("settings.replicationType", REPLICATION_TYPE),
    ("settings.activationPolicy", ACTIVATION_POLICY),
    ("settings.dataDiskType", DATA_DISK_TYPE),
    ("settings.edition", EDITION),
    ("settings.connectorEnforcement", CONNECTOR_ENFORCEMENT),
    ("settings.ipConfiguration.sslMode", SSL_MODE),
];
const OPERATION_ENUMS: &[SparseField] = &[("status", OPERATION_STATUS), ("operationType", OPERATION_TYPE)];
const USER_ENUMS: &[SparseField] = &[("type", USER_TYPE)];

/// Names → numbers in a response when the request asked for `enum-encoding=int`.
fn encode(value: &mut Value, fields: &[SparseField], prefix: &str, ints: bool) {
    if !ints {
        return;
    }
    for (path, pairs) in fields {
        visit(value, &format!("{prefix}{path}"), &mut |leaf| {
            if let Some((_, n)) = leaf.as_str().and_then(|s| pairs.iter().find(|(name, _)| *name == s)) {
                *leaf = Value::from(*n);
            }
        });
    }
}

/// Numbers → names in a request body (the proto-based SDKs send numbers).
fn decode(value: &mut Value, fields: &[SparseField]) -> Result<(), ApiError> {
    let mut problem = None;
    for (path, pairs) in fields {
        visit(value, path, &mut |leaf| {
            if let Some(n) = leaf.as_i64() {
                match pairs.iter().find(|(_, number)| *number == n) {
                    Some((name, _)) => *leaf = Value::String((*name).to_string()),
                    None => {
                        problem.get_or_insert_with(|| {
                            invalid(format!("Invalid value at '{}' ({n}).", path.replace("[]", "")))
                        });
                    }
                }
            }
        });
    }
    problem.map_or(Ok(()), Err)
}

fn is_enum_name(pairs: Pairs, name: &str) -> bool {
    pairs.iter().skip(1).any(|(n, _)| *n == name)
}

// ---------------------------------------------------------------------------------------------
// Errors (legacy envelope).

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(Code::InvalidArgument, message).with_reason("invalid")
}

fn instance_not_found() -> ApiError {
    ApiError::new(Code::NotFound, NOT_FOUND_MESSAGE).with_reason("instanceDoesNotExist")
}

fn in_progress() -> ApiError {
    ApiError::new(Code::Aborted, IN_PROGRESS_MESSAGE).with_reason("operationInProgress").with_http_status(409)
}

fn invalid_state() -> ApiError {
    ApiError::new(Code::FailedPrecondition, INVALID_STATE_MESSAGE).with_reason("invalidState").with_http_status(409)
}

fn stale_data() -> ApiError {
    ApiError::new(Code::FailedPrecondition, "Condition does not match.").with_reason("staleData").with_http_status(412)
}

// ---------------------------------------------------------------------------------------------

pub struct SqlAdmin;

#[derive(Debug, PartialEq)]
enum Target {
    Instances { project: String },
    Instance { project: String, instance: String, verb: Option<String> },
    Databases { project: String, instance: String },
    Database { project: String, instance: String, database: String },
    Users { project: String, instance: String },
    User { project: String, instance: String, user: String },
    Operations { project: String },
    Operation { project: String, operation: String, verb: Option<String> },
}

impl Api for SqlAdmin {
    fn name(&self) -> &'static str {
        API
    }

    fn envelope(&self) -> Envelope {
        Envelope::Legacy
    }

    fn claims(&self, path: &str) -> bool {
        let rest = path.strip_prefix("v1/").or_else(|| path.strip_prefix("sql/v1beta4/"));
        let Some(rest) = rest else { return false };
        let segs: Vec<&str> = rest.split('/').collect();
        matches!(segs.as_slice(), ["projects", _, "instances" | "operations", ..])
    }

    fn handle(&self, ctx: &mut Ctx<'_>, req: &ApiRequest) -> Result<Value, ApiError> {
        sweep_orphans(ctx);
        let beta = req.path.starts_with("sql/v1beta4/");
        let target = parse_target(ctx, &req.path)?;
        let m = &req.method;
        let ints = req.enum_ints;
        let mut out = match target {
            Target::Instances { project } if m == Method::POST => insert_instance(ctx, req, &project)?,
            Target::Instances { project } if m == Method::GET => list_instances(ctx, req, &project)?,
            Target::Instance { project, instance, verb: None } if m == Method::GET => {
                let mut v = render_instance(ctx, &instance_key(&project, &instance))?;
                encode(&mut v, INSTANCE_ENUMS, "", ints);
                v
            }
            Target::Instance { project, instance, verb: None } if m == Method::PATCH => {
                change_instance(ctx, req, &project, &instance, false)?
            }
            Target::Instance { project, instance, verb: None } if m == Method::PUT => {
                change_instance(ctx, req, &project, &instance, true)?
            }
            Target::Instance { project, instance, verb: None } if m == Method::DELETE => {
                delete_instance(ctx, &project, &instance)?
            }
            Target::Instance { project, instance, verb: Some(v) } if v == "restart" && m == Method::POST => {
                restart_instance(ctx, &project, &instance)?
            }
            Target::Instance { verb: Some(v), .. } => {
                return Err(ApiError::new(
                    Code::Unimplemented,
                    format!(
                        "Method instances.{v} of the Cloud SQL Admin API is not implemented by the Cairn emulator."
                    ),
                ))
            }
            Target::Databases { project, instance } if m == Method::POST => {
                insert_database(ctx, req, &project, &instance)?
            }
            Target::Databases { project, instance } if m == Method::GET => list_databases(ctx, &project, &instance)?,
            Target::Database { project, instance, database } if m == Method::GET => {
                existing_instance(ctx, &project, &instance)?;
                ctx.store
                    .get(API, &database_key(&project, &instance, &database))
                    .map(|r| with_etag(r.value.clone(), r.generation))
                    .ok_or_else(database_not_found)?
            }
            Target::Database { project, instance, database } if m == Method::PATCH || m == Method::PUT => {
                change_database(ctx, req, &project, &instance, &database)?
            }
            Target::Database { project, instance, database } if m == Method::DELETE => {
                delete_database(ctx, &project, &instance, &database)?
            }
            Target::Users { project, instance } if m == Method::POST => insert_user(ctx, req, &project, &instance)?,
            Target::Users { project, instance } if m == Method::GET => list_users(ctx, req, &project, &instance)?,
            Target::Users { project, instance } if m == Method::PUT => {
                let name = req.query.get("name").unwrap_or("").to_string();
                update_user(ctx, req, &project, &instance, &name)?
            }
            Target::Users { project, instance } if m == Method::DELETE => {
                let name = req.query.get("name").unwrap_or("").to_string();
                delete_user(ctx, req, &project, &instance, &name)?
            }
            Target::User { project, instance, user } if m == Method::GET => {
                let mut v = get_user(ctx, req, &project, &instance, &user)?;
                encode(&mut v, USER_ENUMS, "", ints);
                v
            }
            Target::Operations { project } if m == Method::GET => list_operations(ctx, req, &project)?,
            Target::Operation { project, operation, verb: None } if m == Method::GET => {
                let mut op = operations::get(ctx.store, &operation_key(&project, &operation), ctx.now)
                    .ok_or_else(operation_not_found)?;
                encode(&mut op, OPERATION_ENUMS, "", ints);
                op
            }
            Target::Operation { project, operation, verb: Some(v) } if v == "cancel" && m == Method::POST => {
                operations::get(ctx.store, &operation_key(&project, &operation), ctx.now)
                    .ok_or_else(operation_not_found)?;
                return Err(ApiError::new(
                    Code::Unimplemented,
                    "Cancelling operations is not implemented by the Cairn emulator.",
                ));
            }
            _ => {
                return Err(ApiError::new(
                    Code::NotFound,
                    format!("The Cloud SQL Admin API has no method {} /{}.", req.method, req.path),
                ))
            }
        };
        if beta {
            rewrite_links(&mut out);
        }
        Ok(out)
    }

    fn seed(&self, ctx: &mut Ctx<'_>, section: &Value) -> Result<(), String> {
        let scenario: ScenarioSection =
            serde_json::from_value(section.clone()).map_err(|e| format!("sqladmin: {e}"))?;
        for (i, inst) in scenario.instances.iter().enumerate() {
            seed_instance(ctx, inst).map_err(|e| format!("sqladmin.instances[{i}] ({}): {}", inst.name, e.message))?;
        }
        Ok(())
    }
}

fn parse_target(ctx: &Ctx<'_>, path: &str) -> Result<Target, ApiError> {
    let rest = path.strip_prefix("v1/").or_else(|| path.strip_prefix("sql/v1beta4/")).unwrap_or(path);
    let segs: Vec<&str> = rest.split('/').collect();
    let bad = || ApiError::new(Code::NotFound, format!("The Cloud SQL Admin API has no resource /{path}."));
    let ["projects", p, tail @ ..] = segs.as_slice() else { return Err(bad()) };
    if p.is_empty() || tail.iter().any(|s| s.is_empty()) {
        return Err(bad());
    }
    let project = ctx.store.projects.id_for(p);
    let s = |x: &&str| x.to_string();
    Ok(match tail {
        ["instances"] => Target::Instances { project },
        ["instances", i] => Target::Instance { project, instance: s(i), verb: None },
        ["instances", i, "databases"] => Target::Databases { project, instance: s(i) },
        ["instances", i, "databases", d] => Target::Database { project, instance: s(i), database: s(d) },
        ["instances", i, "users"] => Target::Users { project, instance: s(i) },
        ["instances", i, "users", u] => Target::User { project, instance: s(i), user: s(u) },
        ["instances", i, verb] => Target::Instance { project, instance: s(i), verb: Some(s(verb)) },
        ["operations"] => Target::Operations { project },
        ["operations", o] => Target::Operation { project, operation: s(o), verb: None },
        ["operations", o, verb] => Target::Operation { project, operation: s(o), verb: Some(s(verb)) },
        _ => return Err(bad()),
    })
}

fn instance_key(project: &str, instance: &str) -> String {
    format!("projects/{project}/instances/{instance}")
}

fn tombstone_key(project: &str, instance: &str) -> String {
    format!("deleted/projects/{project}/instances/{instance}")
}

fn database_key(project: &str, instance: &str, database: &str) -> String {
    format!("projects/{project}/instances/{instance}/databases/{database}")
}

fn user_key(project: &str, instance: &str, host: &str, name: &str) -> String {
    format!("projects/{project}/instances/{instance}/users/{host}/{name}")
}

fn operation_key(project: &str, id: &str) -> String {
    format!("projects/{project}/operations/{id}")
}

fn database_not_found() -> ApiError {
    ApiError::new(Code::NotFound, "The database does not exist.").with_reason("notFound")
}

fn user_not_found() -> ApiError {
    ApiError::new(Code::NotFound, "The user does not exist.").with_reason("notFound")
}

fn operation_not_found() -> ApiError {
    ApiError::new(Code::NotFound, "The Cloud SQL operation does not exist.").with_reason("operationDoesNotExist")
}

/// Databases and users of an instance whose deletion has finished.
fn sweep_orphans(ctx: &mut Ctx<'_>) {
    let orphans: Vec<String> = ctx
        .store
        .all(API)
        .map(|(k, _)| k)
        .filter(|k| k.starts_with("projects/") && k.split('/').count() > 4)
        .filter(|k| {
            let parent: Vec<&str> = k.split('/').take(4).collect();
            !ctx.store.contains(API, &parent.join("/"))
        })
        .cloned()
        .collect();
    for key in orphans {
        ctx.store.remove(API, &key);
    }
}

fn rewrite_links(value: &mut Value) {
    match value {
        Value::Object(m) => {
            for (k, v) in m.iter_mut() {
                match v {
                    Value::String(s) if (k == "selfLink" || k == "targetLink") && s.starts_with(SELF_LINK_BASE) => {
                        *s = format!("{BETA_LINK_BASE}{}", &s[SELF_LINK_BASE.len()..]);
                    }
                    other => rewrite_links(other),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite_links),
        _ => {}
    }
}

fn with_etag(mut value: Value, generation: u64) -> Value {
    if let Value::Object(m) = &mut value {
        let digest = Sha256::digest(generation.to_be_bytes());
        m.insert("etag".into(), json!(hex::encode(&digest[..16])));
    }
    value
}

fn existing_instance<'s>(
    ctx: &'s Ctx<'_>,
    project: &str,
    instance: &str,
) -> Result<&'s super::store::StoredResource, ApiError> {
    ctx.store.get(API, &instance_key(project, instance)).ok_or_else(instance_not_found)
}

fn render_instance(ctx: &Ctx<'_>, key: &str) -> Result<Value, ApiError> {
    let stored = ctx.store.get(API, key).ok_or_else(instance_not_found)?;
    Ok(with_etag(stored.value.clone(), stored.generation))
}

/// Whether an operation on the instance has not finished yet.
fn busy(ctx: &Ctx<'_>, project: &str, instance: &str) -> bool {
    ctx.store.operations.values().any(|op| {
        op.api == API
            && !op.settled
            && op.done_at > ctx.now
            && op.metadata["targetProject"] == project
            && op.metadata["targetId"] == instance
    })
}

/// The checks every mutation of an existing instance passes first.
fn mutable_instance(ctx: &Ctx<'_>, project: &str, instance: &str, deleting: bool) -> Result<Value, ApiError> {
    let stored = existing_instance(ctx, project, instance)?;
    let state = stored.value["state"].as_str().unwrap_or("");
    if busy(ctx, project, instance) || matches!(state, "PENDING_CREATE" | "PENDING_DELETE" | "MAINTENANCE") {
        return Err(in_progress());
    }
    if !deleting && matches!(state, "SUSPENDED" | "FAILED") {
        return Err(invalid_state());
    }
    Ok(stored.value.clone())
}

/// Starts a sql#operation on an instance. When the scenario armed `failNextOperation` on it,
/// the operation fails instead (its effects become `on_failure`) and the trap is disarmed.
fn start_operation(
    ctx: &mut Ctx<'_>,
    project: &str,
    instance: &str,
    operation_type: &str,
    effects: Vec<Effect>,
    on_failure: Vec<Effect>,
) -> Value {
    let key = instance_key(project, instance);
    let trap = ctx
        .store
        .get(API, &key)
        .and_then(|r| r.internal.get("failNext").cloned().map(|t| (r.value.clone(), r.internal.clone(), t)));
    let id = uuid::Uuid::new_v4().to_string();
    let mut metadata = json!({
        "kind": "sql#operation",
        "name": id,
        "operationType": operation_type,
        "insertTime": operations::timestamp(ctx.now),
        "user": OPERATION_USER,
        "targetId": instance,
        "targetProject": project,
        "targetLink": format!("{SELF_LINK_BASE}{key}"),
        "selfLink": format!("{SELF_LINK_BASE}projects/{project}/operations/{id}"),
    });
    let (outcome, effects) = match trap {
        Some((value, mut internal, trap)) => {
            if let Value::Object(m) = &mut internal {
                m.remove("failNext");
            }
            ctx.store.put(API, &key, value, internal);
            if let Some(code) = trap.get("code").and_then(Value::as_str) {
                metadata["errorCode"] = json!(code);
            }
            let message = trap.get("message").and_then(Value::as_str).unwrap_or("An internal error has occurred.");
            (Outcome::Error { code: Code::Internal, message: message.to_string() }, on_failure)
        }
        None => (Outcome::Response(Value::Null), effects),
    };
    let new = NewOperation {
        api: API.into(),
        name: operation_key(project, &id),
        style: OperationStyle::Sql,
        metadata,
        end_time_field: None,
        outcome,
        effects,
    };
    operations::start(ctx.store, new, ctx.operation_duration, ctx.now)
}

fn respond_operation(mut op: Value, ints: bool) -> Value {
    encode(&mut op, OPERATION_ENUMS, "", ints);
    op
}

fn state_effect(key: &str, state: &str) -> Effect {
    let mut fields = Map::new();
    fields.insert("state".into(), json!(state));
    Effect::Merge { api: API.into(), name: key.into(), fields }
}

// ---------------------------------------------------------------------------------------------
// Instances.

/// Input fields kept as given (everything else top-level is computed or output only).
const KEPT_INPUT_FIELDS: &[&str] = &[
    "diskEncryptionConfiguration",
    "maintenanceVersion",
    "masterInstanceName",
    "replicaConfiguration",
    "failoverReplica",
    "onPremisesConfiguration",
    "tags",
    "nodeCount",
    "replicationCluster",
];

/// `^[a-z][a-z0-9-]*[a-z0-9]$`, at most 98 characters (the real limit counts the project too).
pub fn valid_instance_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 98
        && b[0].is_ascii_lowercase()
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b.last().is_some_and(|c| *c != b'-')
}

fn engine(version: &str) -> &str {
    version.split('_').next().unwrap_or("")
}

fn int64(value: &Value) -> Option<i64> {
    match value {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

/// Deterministic addresses so a stack sees the same IPs run after run.
fn address(prefix: &str, seed: &str) -> String {
    let d = Sha256::digest(seed.as_bytes());
    match prefix {
        "10" => format!("10.{}.{}.{}", d[0], d[1], d[2].max(2)),
        _ => format!("34.{}.{}.{}", d[0], d[1], d[2].max(2)),
    }
}

/// Validates and normalises `settings` (defaults filled in), given the settings version to set.
fn normalise_settings(
    project: &str,
    region: &str,
    zone: &str,
    given: &Map<String, Value>,
    version: i64,
) -> Result<Map<String, Value>, ApiError> {
    let mut s = given.clone();
    s.remove("settingsVersion");
    let tier = s.get("tier").and_then(Value::as_str).unwrap_or("");
    if tier.is_empty() {
        return Err(invalid("Invalid request: settings.tier is required (e.g. db-f1-micro or db-custom-1-3840)."));
    }
    if !tier.starts_with("db-") {
        return Err(invalid(format!("Invalid request: invalid tier \"{tier}\": Cloud SQL tiers start with \"db-\".")));
    }
    let enum_checks: &[(&str, Pairs)] = &[
        ("availabilityType", AVAILABILITY_TYPE),
        ("pricingPlan", PRICING_PLAN),
        ("replicationType", REPLICATION_TYPE),
        ("activationPolicy", ACTIVATION_POLICY),
        ("dataDiskType", DATA_DISK_TYPE),
        ("edition", EDITION),
        ("connectorEnforcement", CONNECTOR_ENFORCEMENT),
    ];
    for (field, pairs) in enum_checks {
        if let Some(v) = s.get(*field) {
            let ok = v.as_str().is_some_and(|n| is_enum_name(pairs, n));
            if !ok {
                return Err(invalid(format!("Invalid value for settings.{field}: {v}")));
            }
        }
    }
    let defaults: &[(&str, Value)] = &[
        ("kind", json!("sql#settings")),
        ("pricingPlan", json!("PER_USE")),
        ("replicationType", json!("SYNCHRONOUS")),
        ("activationPolicy", json!("ALWAYS")),
        ("availabilityType", json!("ZONAL")),
        ("dataDiskType", json!("PD_SSD")),
        ("dataDiskSizeGb", json!("10")),
        ("storageAutoResize", json!(true)),
        ("edition", json!("ENTERPRISE")),
        ("connectorEnforcement", json!("NOT_REQUIRED")),
        ("locationPreference", json!({"kind": "sql#locationPreference", "zone": zone})),
        ("storageAutoResizeLimit", json!("0")),
        ("deletionProtectionEnabled", json!(false)),
        ("maintenanceWindow", json!({"kind": "sql#maintenanceWindow", "hour": 0, "day": 0})),
        ("backupConfiguration", json!({})),
    ];
    for (field, value) in defaults {
        if !s.contains_key(*field) {
            s.insert((*field).into(), value.clone());
        }
    }
    if let Some(Value::Object(backup)) = s.get_mut("backupConfiguration") {
        let backup_defaults = [
            ("kind", json!("sql#backupConfiguration")),
            ("enabled", json!(false)),
            ("startTime", json!("00:00")),
            ("backupRetentionSettings", json!({"retentionUnit": "COUNT", "retainedBackups": 7})),
            ("transactionLogRetentionDays", json!(7)),
        ];
        for (field, value) in backup_defaults {
            backup.entry(field).or_insert(value);
        }
    }
    if let Some(size) = s.get("dataDiskSizeGb").cloned() {
        let n = int64(&size).filter(|n| *n >= 10).ok_or_else(|| {
            invalid(format!("Invalid request: settings.dataDiskSizeGb must be at least 10, not {size}."))
        })?;
        s.insert("dataDiskSizeGb".into(), json!(n.to_string()));
    }
    let mut ip = s.get("ipConfiguration").and_then(Value::as_object).cloned().unwrap_or_else(|| {
        let mut m = Map::new();
        m.insert("ipv4Enabled".into(), json!(true));
        m
    });
    if let Some(v) = ip.get("sslMode") {
        if !v.as_str().is_some_and(|n| is_enum_name(SSL_MODE, n)) {
            return Err(invalid(format!("Invalid value for settings.ipConfiguration.sslMode: {v}")));
        }
    } else {
        ip.insert("sslMode".into(), json!("ALLOW_UNENCRYPTED_AND_ENCRYPTED"));
    }
    if !ip.contains_key("ipv4Enabled") {
        ip.insert("ipv4Enabled".into(), json!(true));
    }
    if let Some(network) = ip.get("privateNetwork").and_then(Value::as_str).filter(|n| !n.is_empty()) {
        let relative = network.strip_prefix("https://www.googleapis.com/compute/v1/").unwrap_or(network);
        let segs: Vec<&str> = relative.split('/').collect();
        let ok = matches!(segs.as_slice(), ["projects", p, "global", "networks", n] if !p.is_empty() && !n.is_empty());
        if !ok {
            return Err(invalid(format!(
                "Invalid request: invalid private network \"{network}\": expected projects/{{project}}/global/networks/{{network}}."
            )));
        }
        ip.insert("privateNetwork".into(), json!(relative));
    }
    let public = ip.get("ipv4Enabled").and_then(Value::as_bool).unwrap_or(false);
    let private = ip.get("privateNetwork").and_then(Value::as_str).is_some_and(|n| !n.is_empty());
    let psc = ip.get("pscConfig").and_then(|p| p.get("pscEnabled")) == Some(&json!(true));
    if !public && !private && !psc {
        return Err(invalid(
            "Invalid request: At least one of Public IP or Private IP or PSC connectivity must be enabled.",
        ));
    }
    s.insert("ipConfiguration".into(), Value::Object(ip));
    if let Some(flags) = s.get("databaseFlags") {
        let list =
            flags.as_array().ok_or_else(|| invalid("Invalid request: settings.databaseFlags must be a list."))?;
        for flag in list {
            let name = flag.get("name").and_then(Value::as_str).unwrap_or("");
            if name.is_empty() {
                return Err(invalid("Invalid request: every database flag needs a name."));
            }
            if flag.get("value").is_some_and(|v| !v.is_string()) {
                return Err(invalid(format!(
                    "Invalid request: the value of database flag \"{name}\" must be a string."
                )));
            }
        }
    }
    if let Some(labels) = s.get("userLabels") {
        if !labels.as_object().is_some_and(|m| m.values().all(Value::is_string)) {
            return Err(invalid("Invalid request: settings.userLabels must be a map of strings."));
        }
    }
    let _ = (project, region);
    s.insert("settingsVersion".into(), json!(version.to_string()));
    Ok(s)
}

fn ip_addresses(key: &str, settings: &Map<String, Value>) -> Value {
    let ip = settings.get("ipConfiguration");
    let public = ip.and_then(|i| i.get("ipv4Enabled")).and_then(Value::as_bool).unwrap_or(false);
    let private = ip.and_then(|i| i.get("privateNetwork")).and_then(Value::as_str).is_some_and(|n| !n.is_empty());
    let mut out = Vec::new();
    if public {
        out.push(json!({"type": "PRIMARY", "ipAddress": address("34", key)}));
    }
    if private {
        out.push(json!({"type": "PRIVATE", "ipAddress": address("10", key)}));
    }
    Value::Array(out)
}

fn decoded_body(req: &ApiRequest, fields: &[SparseField]) -> Result<Map<String, Value>, ApiError> {
    let body = req.json_body().map_err(|e| invalid(e.message))?;
    let mut value = Value::Object(body);
    decode(&mut value, fields)?;
    Ok(match value {
        Value::Object(m) => m,
        _ => Map::new(),
    })
}

/// An instance request body: enums decoded, every field known, output-only ones (at any
/// depth, such as `settings.backupConfiguration.transactionalLogStorageState`) dropped.
fn instance_body(req: &ApiRequest) -> Result<Map<String, Value>, ApiError> {
    let mut body = decoded_body(req, INSTANCE_ENUMS)?;
    check_instance_fields(&body)?;
    discovery::of(API).strip_output_only("DatabaseInstance", &mut body);
    Ok(body)
}

/// Refuses a field, at any depth, that the DatabaseInstance schema does not know (fields newer
/// than the discovery revision come from the SDK's model).
fn check_instance_fields(body: &Map<String, Value>) -> Result<(), ApiError> {
    discovery::of(API).check_body("DatabaseInstance", body, "body").map_err(|e| invalid(e.message))
}

/// A new instance from an insert body (state PENDING_CREATE), or why it is invalid.
fn build_instance(ctx: &mut Ctx<'_>, project: &str, body: &Map<String, Value>) -> Result<Map<String, Value>, ApiError> {
    check_instance_fields(body)?;
    let name = body.get("name").and_then(Value::as_str).unwrap_or("");
    if name.is_empty() {
        return Err(invalid("Invalid request: the instance name is required."));
    }
    if !valid_instance_name(name) {
        return Err(invalid(format!(
            "Invalid request: invalid instance name \"{name}\": use lowercase letters, digits and hyphens, start with a letter, do not end with a hyphen, at most 98 characters."
        )));
    }
    if let Some(p) = body.get("project").and_then(Value::as_str).filter(|p| !p.is_empty() && *p != project) {
        return Err(invalid(format!(
            "Invalid request: the body names project \"{p}\" but the path names \"{project}\"."
        )));
    }
    let version = body.get("databaseVersion").and_then(Value::as_str).unwrap_or("MYSQL_8_0");
    if !is_enum_name(DATABASE_VERSION, version) {
        return Err(invalid(format!("Invalid request: invalid database version \"{version}\".")));
    }
    let region = body.get("region").and_then(Value::as_str).filter(|r| !r.is_empty()).unwrap_or("us-central1");
    let settings = body.get("settings").and_then(Value::as_object).cloned().unwrap_or_default();
    let zone = settings
        .get("locationPreference")
        .and_then(|l| l.get("zone"))
        .and_then(Value::as_str)
        .filter(|z| !z.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| format!("{region}-a"));
    let settings = normalise_settings(project, region, &zone, &settings, 1)?;
    let key = instance_key(project, name);
    let number = ctx.store.projects.number_for(project);
    let mut inst = Map::new();
    inst.insert("kind".into(), json!("sql#instance"));
    inst.insert("state".into(), json!("PENDING_CREATE"));
    inst.insert("databaseVersion".into(), json!(version));
    inst.insert("settings".into(), Value::Object(settings.clone()));
    inst.insert("project".into(), json!(project));
    inst.insert("ipAddresses".into(), ip_addresses(&key, &settings));
    inst.insert("instanceType".into(), json!("CLOUD_SQL_INSTANCE"));
    inst.insert("backendType".into(), json!("SECOND_GEN"));
    inst.insert("selfLink".into(), json!(format!("{SELF_LINK_BASE}{key}")));
    inst.insert("connectionName".into(), json!(format!("{project}:{region}:{name}")));
    inst.insert("name".into(), json!(name));
    inst.insert("region".into(), json!(region));
    inst.insert("gceZone".into(), json!(zone));
    let tag = hex::encode(&Sha256::digest(key.as_bytes())[..3]);
    inst.insert(
        "serviceAccountEmailAddress".into(),
        json!(format!("p{number}-{tag}@gcp-sa-cloud-sql.iam.gserviceaccount.com")),
    );
    inst.insert("createTime".into(), json!(operations::timestamp(ctx.now)));
    inst.insert("serverCaCert".into(), server_ca_cert(&key, name, ctx.now));
    for field in KEPT_INPUT_FIELDS {
        if let Some(v) = body.get(*field) {
            inst.insert((*field).into(), v.clone());
        }
    }
    set_output_fields(&mut inst, &key);
    Ok(inst)
}

/// The minor version a new instance of a major version runs (what `databaseInstalledVersion`
/// reports); versions that name their minor already (`MYSQL_8_0_31`) run exactly that.
fn installed_version(version: &str) -> String {
    let minor = match version {
        "POSTGRES_9_6" => "POSTGRES_9_6_24",
        "POSTGRES_10" => "POSTGRES_10_23",
        "POSTGRES_11" => "POSTGRES_11_22",
        "POSTGRES_12" => "POSTGRES_12_22",
        "POSTGRES_13" => "POSTGRES_13_18",
        "POSTGRES_14" => "POSTGRES_14_15",
        "POSTGRES_15" => "POSTGRES_15_7",
        "POSTGRES_16" => "POSTGRES_16_3",
        "POSTGRES_17" => "POSTGRES_17_2",
        "MYSQL_5_6" => "MYSQL_5_6_51",
        "MYSQL_5_7" => "MYSQL_5_7_44",
        "MYSQL_8_0" => "MYSQL_8_0_31",
        "MYSQL_8_4" => "MYSQL_8_4_3",
        other => other,
    };
    minor.to_string()
}

/// The software release the instance runs, as `maintenanceVersion` spells it.
fn default_maintenance_version(installed: &str) -> String {
    format!("{installed}.R20240514.00_04")
}

/// The major versions of the same engine above `version` (MySQL 8.0 minors are not majors).
fn upgradable_versions(version: &str) -> Vec<Value> {
    let major_of = |v: &str| -> Option<(String, u32)> {
        let rest =
            v.strip_prefix("POSTGRES_").map(|r| ("POSTGRES", r)).or(v.strip_prefix("MYSQL_").map(|r| ("MYSQL", r)));
        let (engine, rest) = rest?;
        let parts: Vec<u32> = rest.split('_').map(|p| p.parse().ok()).collect::<Option<_>>()?;
        match (engine, parts.as_slice()) {
            ("POSTGRES", [9, 6]) => Some((engine.into(), 96)),
            ("POSTGRES", [major]) => Some((engine.into(), major * 10)),
            ("MYSQL", [major, minor]) => Some((engine.into(), major * 10 + minor)),
            _ => None,
        }
    };
    let Some((engine, current)) = major_of(version) else { return Vec::new() };
    DATABASE_VERSION
        .iter()
        .filter_map(|(name, _)| major_of(name).map(|m| (*name, m)))
        .filter(|(_, (e, n))| *e == engine && *n > current)
        .map(|(name, (_, n))| {
            let display = match engine.as_str() {
                "POSTGRES" => format!("PostgreSQL {}", n / 10),
                _ => format!("MySQL {}.{}", n / 10, n % 10),
            };
            json!({"majorVersion": name, "name": name, "displayName": display})
        })
        .collect()
}

fn psc_enabled(settings: &Map<String, Value>) -> bool {
    settings.get("ipConfiguration").and_then(|ip| ip.pointer("/pscConfig/pscEnabled")) == Some(&json!(true))
}

/// The server CA certificate a new instance is given (deterministic per instance). Its PEM
/// body is not a parseable X.509 certificate: nothing in Cairn or its tests opens it.
fn server_ca_cert(key: &str, name: &str, created: DateTime<Utc>) -> Value {
    let digest = Sha256::digest(format!("server-ca:{key}").as_bytes());
    let body = base64::engine::general_purpose::STANDARD.encode(digest.repeat(8));
    let qualifier = uuid::Uuid::from_slice(&digest[..16]).unwrap_or_default();
    json!({
        "kind": "sql#sslCert",
        "certSerialNumber": "0",
        "cert": format!("-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----"),
        "commonName": format!("C=US,O=Google\\, Inc,CN=Google Cloud SQL Server CA,dnQualifier={qualifier}"),
        "sha1Fingerprint": hex::encode(&digest[..20]),
        "instance": name,
        "createTime": operations::timestamp(created),
        "expirationTime": operations::timestamp(created + chrono::Duration::days(3650)),
    })
}

/// Sets the output-only fields the real API computes for an instance from its inputs: the
/// installed and upgradable versions, the PSC endpoint, the Gemini entitlement. Called after
/// every write, since a major version upgrade or a PSC switch changes them.
fn set_output_fields(inst: &mut Map<String, Value>, key: &str) {
    let version = inst.get("databaseVersion").and_then(Value::as_str).unwrap_or("").to_string();
    let installed = installed_version(&version);
    let upgraded = inst.get("databaseInstalledVersion").and_then(Value::as_str).is_some_and(|v| v != installed);
    inst.insert("databaseInstalledVersion".into(), json!(installed));
    if upgraded || !inst.contains_key("maintenanceVersion") {
        inst.insert("maintenanceVersion".into(), json!(default_maintenance_version(&installed)));
    }
    match upgradable_versions(&version) {
        versions if versions.is_empty() => inst.remove("upgradableDatabaseVersions"),
        versions => inst.insert("upgradableDatabaseVersions".into(), Value::Array(versions)),
    };
    inst.entry("geminiConfig").or_insert_with(|| {
        json!({
            "entitled": false,
            "flagRecommenderEnabled": false,
            "activeQueryEnabled": false,
            "indexAdvisorEnabled": false,
            "googleVacuumMgmtEnabled": false,
            "oomSessionCancelEnabled": false,
        })
    });
    inst.insert("sqlNetworkArchitecture".into(), json!("NEW_NETWORK_ARCHITECTURE"));
    inst.insert("satisfiesPzs".into(), json!(false));
    let settings = inst.get("settings").and_then(Value::as_object).cloned().unwrap_or_default();
    // A regional instance has a standby in another zone of its region.
    let zone = inst.get("gceZone").and_then(Value::as_str).unwrap_or("").to_string();
    match (settings.get("availabilityType").and_then(Value::as_str), zone.rsplit_once('-')) {
        (Some("REGIONAL"), Some((region, suffix))) => {
            let standby = if suffix == "b" { "c" } else { "b" };
            let secondary = settings
                .get("locationPreference")
                .and_then(|l| l.get("secondaryZone"))
                .and_then(Value::as_str)
                .map_or_else(|| format!("{region}-{standby}"), str::to_string);
            inst.insert("secondaryGceZone".into(), json!(secondary));
        }
        _ => {
            inst.remove("secondaryGceZone");
        }
    }
    if psc_enabled(&settings) {
        let region = inst.get("region").and_then(Value::as_str).unwrap_or("us-central1").to_string();
        let tag = hex::encode(&Sha256::digest(format!("psc:{key}").as_bytes())[..6]);
        inst.insert(
            "pscServiceAttachmentLink".into(),
            json!(format!("projects/{tag}-tp/regions/{region}/serviceAttachments/a-{tag}-psc-service-attachment")),
        );
        inst.insert("dnsName".into(), json!(format!("{tag}.{}.{region}.sql.goog.", &tag[..4])));
    } else {
        inst.remove("pscServiceAttachmentLink");
        inst.remove("dnsName");
    }
}

/// The databases and users a new instance of this engine starts with.
fn initial_children(project: &str, name: &str, version: &str, root_password: Option<&str>) -> Vec<Effect> {
    let mut effects = Vec::new();
    let (dbs, user, host): (&[&str], &str, &str) = match engine(version) {
        "POSTGRES" => (&["postgres"], "postgres", ""),
        "SQLSERVER" => (&["master", "model", "msdb", "tempdb"], "sqlserver", ""),
        _ => (&["information_schema", "mysql", "performance_schema", "sys"], "root", "%"),
    };
    for db in dbs {
        let (charset, collation) = default_charset(version);
        effects.push(Effect::Put {
            api: API.into(),
            name: database_key(project, name, db),
            value: database_value(project, name, db, charset, collation),
            internal: Value::Null,
        });
    }
    effects.push(Effect::Put {
        api: API.into(),
        name: user_key(project, name, host, user),
        value: user_value(project, name, user, host, "BUILT_IN"),
        internal: root_password.map_or(Value::Null, |p| json!({"passwordSha256": sha256_hex(p)})),
    });
    effects
}

fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn insert_instance(ctx: &mut Ctx<'_>, req: &ApiRequest, project: &str) -> Result<Value, ApiError> {
    let body = instance_body(req)?;
    let inst = build_instance(ctx, project, &body)?;
    let name = inst["name"].as_str().unwrap_or("").to_string();
    let key = instance_key(project, &name);
    if ctx.store.contains(API, &key) || ctx.store.contains(API, &tombstone_key(project, &name)) {
        return Err(ApiError::new(Code::AlreadyExists, ALREADY_EXISTS_MESSAGE).with_reason("instanceAlreadyExists"));
    }
    let version = inst["databaseVersion"].as_str().unwrap_or("").to_string();
    let root_password = body.get("rootPassword").and_then(Value::as_str);
    let mut effects = vec![state_effect(&key, "RUNNABLE")];
    effects.extend(initial_children(project, &name, &version, root_password));
    ctx.store.put(API, &key, Value::Object(inst), Value::Null);
    // A create that fails leaves the instance FAILED, as on the real API.
    let on_failure = vec![state_effect(&key, "FAILED")];
    Ok(respond_operation(start_operation(ctx, project, &name, "CREATE", effects, on_failure), req.enum_ints))
}

fn list_instances(ctx: &Ctx<'_>, req: &ApiRequest, project: &str) -> Result<Value, ApiError> {
    let filter = super::filter::Filter::parse(req.query.get("filter").unwrap_or("")).map_err(|e| invalid(e.message))?;
    let prefix = format!("projects/{project}/instances/");
    let items: Vec<Value> = ctx
        .store
        .children(API, &prefix)
        .map(|(_, r)| with_etag(r.value.clone(), r.generation))
        .filter(|v| filter.matches(v))
        .map(|mut v| {
            encode(&mut v, INSTANCE_ENUMS, "", req.enum_ints);
            v
        })
        .collect();
    list_response("sql#instancesList", items, &req.query)
}

/// `maxResults` paging (0 or absent: the default) in the legacy list shape.
fn list_response(kind: &str, items: Vec<Value>, query: &QueryParams) -> Result<Value, ApiError> {
    let size = query.get("maxResults").unwrap_or("0");
    let token = query.get("pageToken").unwrap_or("");
    let as_aip = QueryParams::parse(&format!("pageSize={size}&pageToken={token}"));
    let (page, next) = paginate(items, &as_aip, MAX_PAGE_SIZE, MAX_PAGE_SIZE).map_err(|e| invalid(e.message))?;
    let mut out = Map::new();
    out.insert("kind".into(), json!(kind));
    if !page.is_empty() {
        out.insert("items".into(), Value::Array(page));
    }
    if let Some(next) = next {
        out.insert("nextPageToken".into(), json!(next));
    }
    Ok(Value::Object(out))
}

/// Objects merge key by key; anything else (lists, maps of labels, scalars) is replaced, and
/// `null` removes the field.
fn merge(into: &mut Map<String, Value>, patch: &Map<String, Value>) {
    for (k, v) in patch {
        match (into.get_mut(k), v) {
            (_, Value::Null) => {
                into.remove(k);
            }
            (Some(Value::Object(existing)), Value::Object(p)) if k != "userLabels" => merge(existing, p),
            _ => {
                into.insert(k.clone(), v.clone());
            }
        }
    }
}

/// PATCH (`replace` false: partial merge) and PUT (`replace` true: the settings sent are the
/// settings, defaults filled in again).
fn change_instance(
    ctx: &mut Ctx<'_>,
    req: &ApiRequest,
    project: &str,
    instance: &str,
    replace: bool,
) -> Result<Value, ApiError> {
    let body = instance_body(req)?;
    let current = mutable_instance(ctx, project, instance, false)?;
    let mut current = current.as_object().cloned().unwrap_or_default();
    let current_settings = current.get("settings").and_then(Value::as_object).cloned().unwrap_or_default();
    let version = current_settings.get("settingsVersion").and_then(int64).unwrap_or(1);
    let given_settings = body.get("settings").and_then(Value::as_object).cloned().unwrap_or_default();
    if let Some(sent) = given_settings.get("settingsVersion") {
        if int64(sent) != Some(version) {
            return Err(stale_data());
        }
    }
    if let Some(n) = body.get("name").and_then(Value::as_str).filter(|n| !n.is_empty() && *n != instance) {
        return Err(invalid(format!(
            "Invalid request: the body names instance \"{n}\" but the path names \"{instance}\"."
        )));
    }
    if let Some(r) = body.get("region").and_then(Value::as_str).filter(|r| Some(*r) != current["region"].as_str()) {
        return Err(invalid(format!("Invalid request: the region of an instance cannot be changed (to \"{r}\").")));
    }
    if let Some(v) =
        body.get("databaseVersion").and_then(Value::as_str).filter(|v| Some(*v) != current["databaseVersion"].as_str())
    {
        let from = current["databaseVersion"].as_str().unwrap_or("");
        if !is_enum_name(DATABASE_VERSION, v) || engine(v) != engine(from) {
            return Err(invalid(format!(
                "Invalid request: the database version cannot change from {from} to {v}; only major version upgrades within one engine are possible."
            )));
        }
        current.insert("databaseVersion".into(), json!(v));
    }
    let mut settings = if replace {
        let mut s = given_settings.clone();
        if let Some(lp) = current_settings.get("locationPreference") {
            s.entry("locationPreference").or_insert_with(|| lp.clone());
        }
        s
    } else {
        let mut s = current_settings.clone();
        merge(&mut s, &given_settings);
        s
    };
    settings.remove("settingsVersion");
    let region = current["region"].as_str().unwrap_or("us-central1").to_string();
    let zone = current["gceZone"].as_str().unwrap_or("").to_string();
    let settings = normalise_settings(project, &region, &zone, &settings, version + 1)?;
    let key = instance_key(project, instance);
    current.insert("ipAddresses".into(), ip_addresses(&key, &settings));
    current.insert("settings".into(), Value::Object(settings));
    for field in KEPT_INPUT_FIELDS {
        match body.get(*field) {
            Some(v) => {
                current.insert((*field).into(), v.clone());
            }
            None if replace => {
                current.remove(*field);
            }
            None => {}
        }
    }
    set_output_fields(&mut current, &key);
    let internal = ctx.store.get(API, &key).map(|r| r.internal.clone()).unwrap_or(Value::Null);
    let effects = vec![Effect::Put { api: API.into(), name: key, value: Value::Object(current), internal }];
    Ok(respond_operation(start_operation(ctx, project, instance, "UPDATE", effects, vec![]), req.enum_ints))
}

fn delete_instance(ctx: &mut Ctx<'_>, project: &str, instance: &str) -> Result<Value, ApiError> {
    let current = mutable_instance(ctx, project, instance, true)?;
    if current["settings"]["deletionProtectionEnabled"] == true {
        return Err(ApiError::new(Code::FailedPrecondition, PROTECTED_MESSAGE)
            .with_reason("protectedInstance")
            .with_http_status(400));
    }
    let key = instance_key(project, instance);
    let previous_state = current["state"].as_str().unwrap_or("RUNNABLE").to_string();
    let mut deleting = current;
    deleting["state"] = json!("PENDING_DELETE");
    let internal = ctx.store.get(API, &key).map(|r| r.internal.clone()).unwrap_or(Value::Null);
    ctx.store.put(API, &key, deleting, internal);
    let effects = vec![
        Effect::Remove { api: API.into(), name: key.clone() },
        Effect::Put {
            api: API.into(),
            name: tombstone_key(project, instance),
            value: json!({"deletedAt": operations::timestamp(ctx.now)}),
            internal: Value::Null,
        },
    ];
    let on_failure = vec![state_effect(&key, &previous_state)];
    Ok(start_operation(ctx, project, instance, "DELETE", effects, on_failure))
}

fn restart_instance(ctx: &mut Ctx<'_>, project: &str, instance: &str) -> Result<Value, ApiError> {
    mutable_instance(ctx, project, instance, false)?;
    Ok(start_operation(ctx, project, instance, "RESTART", vec![], vec![]))
}

// ---------------------------------------------------------------------------------------------
// Databases.

fn default_charset(version: &str) -> (&'static str, &'static str) {
    match engine(version) {
        "POSTGRES" => ("UTF8", "en_US.UTF8"),
        "SQLSERVER" => ("UTF8", "SQL_Latin1_General_CP1_CI_AS"),
        _ => ("utf8mb4", "utf8mb4_0900_ai_ci"),
    }
}

fn database_value(project: &str, instance: &str, name: &str, charset: &str, collation: &str) -> Value {
    json!({
        "kind": "sql#database",
        "charset": charset,
        "collation": collation,
        "name": name,
        "instance": instance,
        "selfLink": format!("{SELF_LINK_BASE}{}", database_key(project, instance, name)),
        "project": project,
    })
}

fn valid_database_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 63 && !name.contains('/')
}

/// Database fields kept as sent (the rest are identity, computed, or checked on their own).
const KEPT_DATABASE_FIELDS: &[&str] = &["sqlserverDatabaseDetails"];
/// User fields kept as sent; `password` is kept only as a hash, `dualPasswordType` is a
/// request option.
const KEPT_USER_FIELDS: &[&str] = &["passwordPolicy", "sqlserverUserDetails", "databaseRoles", "iamEmail"];

fn check_body(schema: &str, body: &Map<String, Value>) -> Result<(), ApiError> {
    discovery::of(API).check_body(schema, body, "body").map_err(|e| invalid(e.message))
}

fn keep_fields(value: &mut Value, body: &Map<String, Value>, fields: &[&str]) {
    for field in fields {
        if let Some(v) = body.get(*field).filter(|v| !v.is_null()) {
            value[*field] = v.clone();
        }
    }
}

fn insert_database(ctx: &mut Ctx<'_>, req: &ApiRequest, project: &str, instance: &str) -> Result<Value, ApiError> {
    let body = decoded_body(req, &[])?;
    check_body("Database", &body)?;
    let current = mutable_instance(ctx, project, instance, false)?;
    let name = body.get("name").and_then(Value::as_str).unwrap_or("");
    if !valid_database_name(name) {
        return Err(invalid(format!("Invalid request: invalid database name \"{name}\".")));
    }
    let key = database_key(project, instance, name);
    if ctx.store.contains(API, &key) {
        return Err(ApiError::new(Code::AlreadyExists, format!("Database \"{name}\" already exists."))
            .with_reason("alreadyExists"));
    }
    let (charset, collation) = default_charset(current["databaseVersion"].as_str().unwrap_or(""));
    let text =
        |f: &str, d: &str| body.get(f).and_then(Value::as_str).filter(|s| !s.is_empty()).unwrap_or(d).to_string();
    let mut value = database_value(project, instance, name, &text("charset", charset), &text("collation", collation));
    keep_fields(&mut value, &body, KEPT_DATABASE_FIELDS);
    let effects = vec![Effect::Put { api: API.into(), name: key, value, internal: Value::Null }];
    Ok(respond_operation(start_operation(ctx, project, instance, "CREATE_DATABASE", effects, vec![]), req.enum_ints))
}

/// A list answer without pages: its kind, and `items` only when there are any (as the API
/// omits empty repeated fields).
fn unpaged_list(kind: &str, items: Vec<Value>) -> Value {
    let mut out = Map::new();
    out.insert("kind".into(), json!(kind));
    if !items.is_empty() {
        out.insert("items".into(), Value::Array(items));
    }
    Value::Object(out)
}

fn list_databases(ctx: &Ctx<'_>, project: &str, instance: &str) -> Result<Value, ApiError> {
    existing_instance(ctx, project, instance)?;
    let prefix = format!("projects/{project}/instances/{instance}/databases/");
    let items: Vec<Value> =
        ctx.store.children(API, &prefix).map(|(_, r)| with_etag(r.value.clone(), r.generation)).collect();
    Ok(unpaged_list("sql#databasesList", items))
}

fn change_database(
    ctx: &mut Ctx<'_>,
    req: &ApiRequest,
    project: &str,
    instance: &str,
    database: &str,
) -> Result<Value, ApiError> {
    let body = decoded_body(req, &[])?;
    check_body("Database", &body)?;
    mutable_instance(ctx, project, instance, false)?;
    let key = database_key(project, instance, database);
    let mut value = ctx.store.get(API, &key).map(|r| r.value.clone()).ok_or_else(database_not_found)?;
    if let Some(n) = body.get("name").and_then(Value::as_str).filter(|n| !n.is_empty() && *n != database) {
        return Err(invalid(format!("Invalid request: a database cannot be renamed (to \"{n}\").")));
    }
    for field in ["charset", "collation"] {
        if let Some(v) = body.get(field).and_then(Value::as_str).filter(|s| !s.is_empty()) {
            value[field] = json!(v);
        }
    }
    keep_fields(&mut value, &body, KEPT_DATABASE_FIELDS);
    let effects = vec![Effect::Put { api: API.into(), name: key, value, internal: Value::Null }];
    Ok(respond_operation(start_operation(ctx, project, instance, "UPDATE_DATABASE", effects, vec![]), req.enum_ints))
}

fn delete_database(ctx: &mut Ctx<'_>, project: &str, instance: &str, database: &str) -> Result<Value, ApiError> {
    mutable_instance(ctx, project, instance, false)?;
    let key = database_key(project, instance, database);
    if !ctx.store.contains(API, &key) {
        return Err(database_not_found());
    }
    let effects = vec![Effect::Remove { api: API.into(), name: key }];
    Ok(start_operation(ctx, project, instance, "DELETE_DATABASE", effects, vec![]))
}

// ---------------------------------------------------------------------------------------------
// Users.

fn user_value(project: &str, instance: &str, name: &str, host: &str, user_type: &str) -> Value {
    let mut v = json!({"kind": "sql#user", "name": name, "instance": instance, "project": project});
    if !host.is_empty() {
        v["host"] = json!(host);
    }
    if user_type != "BUILT_IN" {
        v["type"] = json!(user_type);
    }
    v
}

/// The host a user is keyed by: MySQL users default to `%`; other engines have none.
fn user_host(instance: &Value, given: Option<&str>) -> String {
    match given.filter(|h| !h.is_empty()) {
        Some(h) => h.to_string(),
        None if engine(instance["databaseVersion"].as_str().unwrap_or("")) == "MYSQL" => "%".into(),
        None => String::new(),
    }
}

fn insert_user(ctx: &mut Ctx<'_>, req: &ApiRequest, project: &str, instance: &str) -> Result<Value, ApiError> {
    let body = decoded_body(req, USER_ENUMS)?;
    check_body("User", &body)?;
    let current = mutable_instance(ctx, project, instance, false)?;
    let name = body.get("name").and_then(Value::as_str).unwrap_or("");
    if name.is_empty() || name.contains('/') {
        return Err(invalid(format!("Invalid request: invalid user name \"{name}\".")));
    }
    let user_type = body.get("type").and_then(Value::as_str).unwrap_or("BUILT_IN");
    if !USER_TYPE.iter().any(|(n, _)| *n == user_type) {
        return Err(invalid(format!("Invalid value for type: {user_type}")));
    }
    let host = user_host(&current, body.get("host").and_then(Value::as_str));
    let key = user_key(project, instance, &host, name);
    if ctx.store.contains(API, &key) {
        return Err(
            ApiError::new(Code::AlreadyExists, format!("User \"{name}\" already exists.")).with_reason("alreadyExists")
        );
    }
    let internal =
        body.get("password").and_then(Value::as_str).map_or(Value::Null, |p| json!({"passwordSha256": sha256_hex(p)}));
    let mut value = user_value(project, instance, name, &host, user_type);
    keep_fields(&mut value, &body, KEPT_USER_FIELDS);
    let effects = vec![Effect::Put { api: API.into(), name: key, value, internal }];
    Ok(respond_operation(start_operation(ctx, project, instance, "CREATE_USER", effects, vec![]), req.enum_ints))
}

fn list_users(ctx: &Ctx<'_>, req: &ApiRequest, project: &str, instance: &str) -> Result<Value, ApiError> {
    existing_instance(ctx, project, instance)?;
    let prefix = format!("projects/{project}/instances/{instance}/users/");
    let items: Vec<Value> = ctx
        .store
        .all(API)
        .filter(|(k, _)| k.starts_with(&prefix))
        .map(|(_, r)| {
            let mut v = r.value.clone();
            encode(&mut v, USER_ENUMS, "", req.enum_ints);
            v
        })
        .collect();
    Ok(unpaged_list("sql#usersList", items))
}

fn find_user(
    ctx: &Ctx<'_>,
    req: &ApiRequest,
    project: &str,
    instance: &str,
    name: &str,
) -> Result<(String, Value), ApiError> {
    let current = existing_instance(ctx, project, instance)?.value.clone();
    let host = user_host(&current, req.query.get("host"));
    let key = user_key(project, instance, &host, name);
    let value = ctx.store.get(API, &key).map(|r| r.value.clone()).ok_or_else(user_not_found)?;
    Ok((key, value))
}

fn get_user(ctx: &Ctx<'_>, req: &ApiRequest, project: &str, instance: &str, name: &str) -> Result<Value, ApiError> {
    find_user(ctx, req, project, instance, name).map(|(_, v)| v)
}

fn update_user(
    ctx: &mut Ctx<'_>,
    req: &ApiRequest,
    project: &str,
    instance: &str,
    name: &str,
) -> Result<Value, ApiError> {
    let body = decoded_body(req, USER_ENUMS)?;
    check_body("User", &body)?;
    mutable_instance(ctx, project, instance, false)?;
    let (key, mut value) = find_user(ctx, req, project, instance, name)?;
    keep_fields(&mut value, &body, KEPT_USER_FIELDS);
    let mut internal = ctx.store.get(API, &key).map(|r| r.internal.clone()).unwrap_or(Value::Null);
    if let Some(p) = body.get("password").and_then(Value::as_str) {
        internal = json!({"passwordSha256": sha256_hex(p)});
    }
    let effects = vec![Effect::Put { api: API.into(), name: key, value, internal }];
    Ok(respond_operation(start_operation(ctx, project, instance, "UPDATE_USER", effects, vec![]), req.enum_ints))
}

fn delete_user(
    ctx: &mut Ctx<'_>,
    req: &ApiRequest,
    project: &str,
    instance: &str,
    name: &str,
) -> Result<Value, ApiError> {
    mutable_instance(ctx, project, instance, false)?;
    let (key, _) = find_user(ctx, req, project, instance, name)?;
    let effects = vec![Effect::Remove { api: API.into(), name: key }];
    Ok(respond_operation(start_operation(ctx, project, instance, "DELETE_USER", effects, vec![]), req.enum_ints))
}

// ---------------------------------------------------------------------------------------------
// Operations.

fn list_operations(ctx: &Ctx<'_>, req: &ApiRequest, project: &str) -> Result<Value, ApiError> {
    let instance = req.query.get("instance");
    let mut items: Vec<Value> = operations::list(ctx.store, API, &format!("projects/{project}/operations/"), ctx.now)
        .into_iter()
        .filter(|op| instance.is_none_or(|i| op["targetId"] == i))
        .collect();
    // Newest first, as the real API lists them.
    items.sort_by(|a, b| b["insertTime"].as_str().cmp(&a["insertTime"].as_str()));
    for op in &mut items {
        encode(op, OPERATION_ENUMS, "", req.enum_ints);
    }
    list_response("sql#operationsList", items, &req.query)
}

// ---------------------------------------------------------------------------------------------
// Scenario.

/// The `sqladmin` section of a scenario file (see `scenario.rs`).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioSection {
    #[serde(default)]
    instances: Vec<ScenarioInstance>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ScenarioInstance {
    project: String,
    name: String,
    #[serde(default)]
    database_version: Option<String>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    tier: Option<String>,
    /// Further DatabaseInstance.settings fields, as the API spells them.
    #[serde(default)]
    settings: Option<Map<String, Value>>,
    #[serde(default)]
    database_flags: Option<Value>,
    #[serde(default)]
    user_labels: Option<Value>,
    #[serde(default)]
    private_network: Option<String>,
    #[serde(default)]
    ipv4_enabled: Option<bool>,
    #[serde(default)]
    deletion_protection_enabled: Option<bool>,
    /// RUNNABLE (default), PENDING_CREATE, MAINTENANCE, SUSPENDED or FAILED.
    #[serde(default)]
    state: Option<String>,
    /// PENDING_CREATE / MAINTENANCE stay so forever instead of finishing after the duration.
    #[serde(default)]
    pinned: bool,
    /// The next operation on the instance fails: a message, or `{"code", "message"}`.
    #[serde(default)]
    fail_next_operation: Option<Value>,
    #[serde(default)]
    databases: Vec<ScenarioDatabase>,
    #[serde(default)]
    users: Vec<ScenarioUser>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioDatabase {
    name: String,
    #[serde(default)]
    charset: Option<String>,
    #[serde(default)]
    collation: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioUser {
    name: String,
    #[serde(default)]
    host: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default, rename = "type")]
    user_type: Option<String>,
}

fn seed_instance(ctx: &mut Ctx<'_>, s: &ScenarioInstance) -> Result<(), ApiError> {
    let mut settings = s.settings.clone().unwrap_or_default();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            settings.insert(k.into(), v);
        }
    };
    put("tier", Some(json!(s.tier.as_deref().unwrap_or("db-f1-micro"))));
    put("databaseFlags", s.database_flags.clone());
    put("userLabels", s.user_labels.clone());
    put("deletionProtectionEnabled", s.deletion_protection_enabled.map(Value::from));
    if s.private_network.is_some() || s.ipv4_enabled.is_some() {
        let mut ip = settings.get("ipConfiguration").and_then(Value::as_object).cloned().unwrap_or_default();
        if let Some(n) = &s.private_network {
            ip.insert("privateNetwork".into(), json!(n));
        }
        ip.insert("ipv4Enabled".into(), json!(s.ipv4_enabled.unwrap_or(s.private_network.is_none())));
        settings.insert("ipConfiguration".into(), Value::Object(ip));
    }
    let mut body = Map::new();
    body.insert("name".into(), json!(s.name));
    body.insert("databaseVersion".into(), json!(s.database_version.as_deref().unwrap_or("POSTGRES_15")));
    if let Some(r) = &s.region {
        body.insert("region".into(), json!(r));
    }
    body.insert("settings".into(), Value::Object(settings));
    let mut inst = build_instance(ctx, &s.project, &body)?;
    let key = instance_key(&s.project, &s.name);
    if ctx.store.contains(API, &key) {
        return Err(invalid("listed twice"));
    }
    let state = s.state.as_deref().unwrap_or("RUNNABLE");
    if !matches!(state, "RUNNABLE" | "PENDING_CREATE" | "MAINTENANCE" | "SUSPENDED" | "FAILED") {
        return Err(invalid(format!(
            "state \"{state}\" is not one of RUNNABLE, PENDING_CREATE, MAINTENANCE, SUSPENDED, FAILED"
        )));
    }
    inst.insert("state".into(), json!(state));
    if state == "SUSPENDED" {
        inst.insert("suspensionReason".into(), json!(["BILLING_ISSUE"]));
    }
    let trap = match &s.fail_next_operation {
        None => Value::Null,
        Some(Value::String(m)) => json!({"failNext": {"message": m}}),
        Some(Value::Object(o)) if o.get("message").is_some_and(Value::is_string) => json!({"failNext": o}),
        Some(other) => {
            return Err(invalid(format!(
                "failNextOperation must be a message or {{\"code\", \"message\"}}, not {other}"
            )))
        }
    };
    let version = inst["databaseVersion"].as_str().unwrap_or("").to_string();
    ctx.store.put(API, &key, Value::Object(inst), Value::Null);
    let mut children = initial_children(&s.project, &s.name, &version, None);
    let (charset, collation) = default_charset(&version);
    for db in &s.databases {
        if !valid_database_name(&db.name) {
            return Err(invalid(format!("invalid database name \"{}\"", db.name)));
        }
        let value = database_value(
            &s.project,
            &s.name,
            &db.name,
            db.charset.as_deref().unwrap_or(charset),
            db.collation.as_deref().unwrap_or(collation),
        );
        children.push(Effect::Put {
            api: API.into(),
            name: database_key(&s.project, &s.name, &db.name),
            value,
            internal: Value::Null,
        });
    }
    for u in &s.users {
        let user_type = u.user_type.as_deref().unwrap_or("BUILT_IN");
        if !USER_TYPE.iter().any(|(n, _)| *n == user_type) {
            return Err(invalid(format!("user \"{}\": type \"{user_type}\" is not a SqlUserType", u.name)));
        }
        let current = ctx.store.get(API, &key).map(|r| r.value.clone()).unwrap_or(Value::Null);
        let host = user_host(&current, u.host.as_deref());
        let internal = u.password.as_deref().map_or(Value::Null, |p| json!({"passwordSha256": sha256_hex(p)}));
        children.push(Effect::Put {
            api: API.into(),
            name: user_key(&s.project, &s.name, &host, &u.name),
            value: user_value(&s.project, &s.name, &u.name, &host, user_type),
            internal,
        });
    }
    for effect in children {
        if let Effect::Put { name, value, internal, .. } = effect {
            ctx.store.put(API, &name, value, internal);
        }
    }
    if !s.pinned {
        match state {
            "PENDING_CREATE" => {
                start_operation(ctx, &s.project, &s.name, "CREATE", vec![state_effect(&key, "RUNNABLE")], vec![]);
            }
            "MAINTENANCE" => {
                start_operation(ctx, &s.project, &s.name, "MAINTENANCE", vec![state_effect(&key, "RUNNABLE")], vec![]);
            }
            _ => {}
        }
    }
    // Armed last, so the seeding operations above do not trip it.
    if !trap.is_null() {
        if let Some(stored) = ctx.store.get(API, &key).cloned() {
            ctx.store.put(API, &key, stored.value, trap);
        }
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

    struct World {
        store: Store,
        t0: chrono::DateTime<chrono::Utc>,
    }

    impl World {
        fn new() -> Self {
            World { store: Store::new(), t0: chrono::Utc::now() }
        }
        fn call(&mut self, ms: i64, method: Method, path: &str, query: &str, body: Value) -> Result<Value, ApiError> {
            let now = self.t0 + chrono::Duration::milliseconds(ms);
            operations::settle_due(&mut self.store, now);
            let mut ctx = Ctx { store: &mut self.store, operation_duration: Duration::from_millis(100), now };
            SqlAdmin.handle(&mut ctx, &request(method, path, query, body))
        }
    }

    const INSTANCES: &str = "v1/projects/p/instances";

    fn pg_body() -> Value {
        json!({"name": "db1", "databaseVersion": "POSTGRES_15", "settings": {"tier": "db-f1-micro",
            "ipConfiguration": {"ipv4Enabled": false, "privateNetwork": "projects/p/global/networks/vpc"},
            "databaseFlags": [{"name": "log_connections", "value": "on"}], "userLabels": {"env": "dev"}}})
    }

    #[test]
    fn insert_computes_the_output_fields_and_becomes_runnable() {
        let mut w = World::new();
        let op = w.call(0, Method::POST, INSTANCES, "", pg_body()).unwrap();
        assert_eq!(
            (op["kind"].as_str(), op["operationType"].as_str(), op["status"].as_str()),
            (Some("sql#operation"), Some("CREATE"), Some("PENDING"))
        );
        assert_eq!(op["targetLink"], "https://sqladmin.googleapis.com/v1/projects/p/instances/db1");
        let got = w.call(10, Method::GET, &format!("{INSTANCES}/db1"), "", Value::Null).unwrap();
        assert_eq!(got["state"], "PENDING_CREATE");
        assert_eq!(got["connectionName"], "p:us-central1:db1");
        assert_eq!(got["settings"]["settingsVersion"], "1");
        let ips = got["ipAddresses"].as_array().unwrap();
        assert_eq!(ips.len(), 1);
        assert_eq!(ips[0]["type"], "PRIVATE");
        assert!(ips[0]["ipAddress"].as_str().unwrap().starts_with("10."));
        let got = w.call(150, Method::GET, &format!("{INSTANCES}/db1"), "", Value::Null).unwrap();
        assert_eq!(got["state"], "RUNNABLE");
        let dbs = w.call(150, Method::GET, &format!("{INSTANCES}/db1/databases"), "", Value::Null).unwrap();
        assert_eq!(dbs["items"][0]["name"], "postgres");
        assert_eq!(dbs["items"][0]["charset"], "UTF8");
        assert_eq!(dbs["items"][0]["collation"], "en_US.UTF8");
    }

    #[test]
    fn instances_carry_the_output_fields_the_real_api_returns() {
        let mut w = World::new();
        w.call(0, Method::POST, INSTANCES, "", pg_body()).unwrap();
        let path = format!("{INSTANCES}/db1");
        let got = w.call(150, Method::GET, &path, "", Value::Null).unwrap();
        assert_eq!(got["databaseInstalledVersion"], "POSTGRES_15_7");
        assert!(
            got["maintenanceVersion"].as_str().unwrap().starts_with("POSTGRES_15_7.R"),
            "{}",
            got["maintenanceVersion"]
        );
        assert_eq!(got["geminiConfig"]["entitled"], false);
        assert_eq!(got["sqlNetworkArchitecture"], "NEW_NETWORK_ARCHITECTURE");
        assert_eq!(got["satisfiesPzs"], false);
        assert_eq!(got["serverCaCert"]["kind"], "sql#sslCert");
        assert_eq!(got["serverCaCert"]["instance"], "db1");
        assert!(got["serverCaCert"]["cert"].as_str().unwrap().starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(got["serviceAccountEmailAddress"]
            .as_str()
            .unwrap()
            .ends_with("@gcp-sa-cloud-sql.iam.gserviceaccount.com"));
        assert!(got.get("createTime").is_some() && got.get("gceZone").is_some() && got.get("selfLink").is_some());
        let upgradable: Vec<&str> = got["upgradableDatabaseVersions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["majorVersion"].as_str().unwrap())
            .collect();
        assert_eq!(upgradable[..2], ["POSTGRES_16", "POSTGRES_17"], "newer majors of the same engine, oldest first");
        assert!(upgradable.iter().all(|v| v.starts_with("POSTGRES_") && *v != "POSTGRES_15"));
        assert_eq!(got["upgradableDatabaseVersions"][0]["displayName"], "PostgreSQL 16");
        assert!(got.get("pscServiceAttachmentLink").is_none() && got.get("dnsName").is_none(), "no PSC, no endpoint");
        let backup = &got["settings"]["backupConfiguration"];
        assert_eq!(
            (backup["enabled"].as_bool(), backup["transactionLogRetentionDays"].as_i64()),
            (Some(false), Some(7))
        );
        assert_eq!(backup["backupRetentionSettings"], json!({"retentionUnit": "COUNT", "retainedBackups": 7}));
        assert_eq!(got["settings"]["maintenanceWindow"]["kind"], "sql#maintenanceWindow");
        assert_eq!(got["settings"]["storageAutoResizeLimit"], "0");
        assert_eq!(got["settings"]["deletionProtectionEnabled"], false);
        let listed = w.call(150, Method::GET, INSTANCES, "", Value::Null).unwrap();
        assert_eq!(listed["items"][0]["databaseInstalledVersion"], "POSTGRES_15_7");

        assert!(got.get("secondaryGceZone").is_none(), "a zonal instance has no standby");
        let settings = json!({"settingsVersion": "1", "availabilityType": "REGIONAL",
            "ipConfiguration": {"ipv4Enabled": false, "privateNetwork": null,
            "pscConfig": {"pscEnabled": true, "allowedConsumerProjects": ["p"]}}});
        w.call(150, Method::PATCH, &path, "", json!({"settings": settings})).unwrap();
        let got = w.call(300, Method::GET, &path, "", Value::Null).unwrap();
        assert!(got["pscServiceAttachmentLink"].as_str().unwrap().contains("/serviceAttachments/"));
        assert!(got["dnsName"].as_str().unwrap().ends_with(".us-central1.sql.goog."));
        assert_eq!(got["secondaryGceZone"], "us-central1-b", "a regional one has its standby elsewhere");

        w.call(300, Method::PATCH, &path, "", json!({"databaseVersion": "POSTGRES_16"})).unwrap();
        let got = w.call(450, Method::GET, &path, "", Value::Null).unwrap();
        assert_eq!(got["databaseInstalledVersion"], "POSTGRES_16_3");
        assert!(got["maintenanceVersion"].as_str().unwrap().starts_with("POSTGRES_16_3."));
        assert_eq!(got["upgradableDatabaseVersions"][0]["majorVersion"], "POSTGRES_17");
        let ints = w.call(450, Method::GET, &path, "%24alt=json%3Benum-encoding%3Dint", Value::Null).unwrap();
        assert_eq!(ints["sqlNetworkArchitecture"], 1);
    }

    #[test]
    fn int_enums_round_trip_both_ways() {
        let mut w = World::new();
        let mut body = pg_body();
        body["databaseVersion"] = json!(172);
        body["settings"]["availabilityType"] = json!(2);
        let q = "%24alt=json%3Benum-encoding%3Dint";
        let op = w.call(0, Method::POST, INSTANCES, q, body).unwrap();
        assert_eq!((op["operationType"].as_i64(), op["status"].as_i64()), (Some(3), Some(1)));
        let got = w.call(150, Method::GET, &format!("{INSTANCES}/db1"), q, Value::Null).unwrap();
        assert_eq!(got["state"], 1, "RUNNABLE");
        assert_eq!(got["databaseVersion"], 172);
        assert_eq!(got["settings"]["availabilityType"], 2);
        assert_eq!(got["ipAddresses"][0]["type"], 3, "PRIVATE");
        let got = w.call(150, Method::GET, &format!("{INSTANCES}/db1"), "", Value::Null).unwrap();
        assert_eq!(got["databaseVersion"], "POSTGRES_15");
        assert_eq!(got["settings"]["availabilityType"], "REGIONAL");
        assert!(w.call(0, Method::POST, INSTANCES, q, json!({"name": "x", "databaseVersion": 99999})).is_err());
    }

    #[test]
    fn concurrency_stale_settings_and_name_reuse_use_the_real_errors() {
        let mut w = World::new();
        w.call(0, Method::POST, INSTANCES, "", pg_body()).unwrap();
        let path = format!("{INSTANCES}/db1");
        let busy = w.call(10, Method::POST, &format!("{path}/restart"), "", Value::Null).unwrap_err();
        assert_eq!((busy.http_status, busy.reason.as_deref()), (409, Some("operationInProgress")));
        assert_eq!(busy.message, IN_PROGRESS_MESSAGE);
        let stale = w
            .call(150, Method::PATCH, &path, "", json!({"settings": {"settingsVersion": "7", "tier": "db-g1-small"}}))
            .unwrap_err();
        assert_eq!((stale.http_status, stale.reason.as_deref()), (412, Some("staleData")));
        w.call(
            150,
            Method::PATCH,
            &path,
            "",
            json!({"settings": {"settingsVersion": "1", "userLabels": {"env": "prod"}}}),
        )
        .unwrap();
        let got = w.call(300, Method::GET, &path, "", Value::Null).unwrap();
        assert_eq!(got["settings"]["settingsVersion"], "2");
        assert_eq!(got["settings"]["userLabels"], json!({"env": "prod"}));
        assert_eq!(got["settings"]["tier"], "db-f1-micro", "a patch keeps what it does not name");
        assert_eq!(got["settings"]["databaseFlags"][0]["name"], "log_connections");
        w.call(
            300,
            Method::PUT,
            &path,
            "",
            json!({"settings": {"tier": "db-g1-small", "ipConfiguration": {"ipv4Enabled": true}}}),
        )
        .unwrap();
        let got = w.call(450, Method::GET, &path, "", Value::Null).unwrap();
        assert_eq!(got["settings"]["settingsVersion"], "3");
        assert!(got["settings"].get("databaseFlags").is_none(), "an update replaces the settings");
        assert_eq!(got["ipAddresses"][0]["type"], "PRIMARY");
        w.call(450, Method::DELETE, &path, "", Value::Null).unwrap();
        let pending = w.call(460, Method::GET, &path, "", Value::Null).unwrap();
        assert_eq!(pending["state"], "PENDING_DELETE");
        let gone = w.call(600, Method::GET, &path, "", Value::Null).unwrap_err();
        assert_eq!((gone.http_status, gone.reason.as_deref()), (404, Some("instanceDoesNotExist")));
        let reuse = w.call(600, Method::POST, INSTANCES, "", pg_body()).unwrap_err();
        assert_eq!((reuse.http_status, reuse.reason.as_deref()), (409, Some("instanceAlreadyExists")));
        assert!(
            w.store.all(API).all(|(k, _)| !k.starts_with("projects/p/instances/db1/")),
            "children go with the instance"
        );
    }

    #[test]
    fn deletion_protection_blocks_delete() {
        let mut w = World::new();
        let mut body = pg_body();
        body["settings"]["deletionProtectionEnabled"] = json!(true);
        w.call(0, Method::POST, INSTANCES, "", body).unwrap();
        let err = w.call(150, Method::DELETE, &format!("{INSTANCES}/db1"), "", Value::Null).unwrap_err();
        assert_eq!((err.http_status, err.message.as_str()), (400, PROTECTED_MESSAGE));
    }

    #[test]
    fn users_keep_only_a_hash_of_their_password() {
        let mut w = World::new();
        w.call(0, Method::POST, INSTANCES, "", pg_body()).unwrap();
        let users = format!("{INSTANCES}/db1/users");
        w.call(150, Method::POST, &users, "", json!({"name": "app", "password": "hunter2"})).unwrap();
        let list = w.call(300, Method::GET, &users, "", Value::Null).unwrap();
        let text = list.to_string();
        assert!(text.contains("\"app\"") && !text.contains("hunter2"), "{text}");
        let stored = w.store.get(API, "projects/p/instances/db1/users//app").unwrap();
        assert_eq!(stored.internal["passwordSha256"], sha256_hex("hunter2"));
        assert!(!String::from_utf8(w.store.to_bytes()).unwrap().contains("hunter2"));
        w.call(300, Method::PUT, &users, "name=app", json!({"password": "hunter3"})).unwrap();
        let stored = w.store.get(API, "projects/p/instances/db1/users//app").cloned();
        assert_eq!(
            stored.unwrap().internal["passwordSha256"],
            sha256_hex("hunter2"),
            "lands when the operation is done"
        );
        w.call(450, Method::DELETE, &users, "name=app", Value::Null).unwrap();
        let err = w.call(600, Method::GET, &format!("{users}/app"), "", Value::Null).unwrap_err();
        assert_eq!(err.http_status, 404);
    }

    #[test]
    fn scenario_seeds_states_and_a_failing_next_operation() {
        let mut w = World::new();
        let mut ctx = Ctx { store: &mut w.store, operation_duration: Duration::from_millis(100), now: w.t0 };
        SqlAdmin.seed(&mut ctx, &json!({"instances": [
            {"project": "p", "name": "flaky", "failNextOperation": {"code": "ERROR_RDBMS", "message": "disk full"},
             "databaseFlags": [{"name": "max_connections", "value": "50"}], "users": [{"name": "app", "password": "pw"}]},
            {"project": "p", "name": "frozen", "state": "SUSPENDED"},
            {"project": "p", "name": "busy", "state": "MAINTENANCE", "pinned": true}
        ]})).unwrap();
        let op = w.call(0, Method::POST, &format!("{INSTANCES}/flaky/restart"), "", Value::Null).unwrap();
        let id = op["name"].as_str().unwrap().to_string();
        let done = w.call(150, Method::GET, &format!("v1/projects/p/operations/{id}"), "", Value::Null).unwrap();
        assert_eq!(done["status"], "DONE");
        assert_eq!(done["error"]["errors"][0]["code"], "ERROR_RDBMS");
        assert_eq!(done["error"]["errors"][0]["message"], "disk full");
        let again = w.call(150, Method::POST, &format!("{INSTANCES}/flaky/restart"), "", Value::Null).unwrap();
        let done = w
            .call(
                300,
                Method::GET,
                &format!("v1/projects/p/operations/{}", again["name"].as_str().unwrap()),
                "",
                Value::Null,
            )
            .unwrap();
        assert!(done.get("error").is_none(), "only the next operation fails");
        let err = w.call(0, Method::POST, &format!("{INSTANCES}/frozen/restart"), "", Value::Null).unwrap_err();
        assert_eq!(err.reason.as_deref(), Some("invalidState"));
        let err = w.call(0, Method::PATCH, &format!("{INSTANCES}/busy"), "", json!({})).unwrap_err();
        assert_eq!(err.reason.as_deref(), Some("operationInProgress"));
        let ops = w.call(300, Method::GET, "v1/projects/p/operations", "instance=flaky", Value::Null).unwrap();
        assert_eq!(ops["items"].as_array().unwrap().len(), 2);
        assert_eq!(ops["kind"], "sql#operationsList");
    }

    #[test]
    fn the_v1beta4_prefix_is_served_with_its_own_links() {
        let mut w = World::new();
        let op = w.call(0, Method::POST, "sql/v1beta4/projects/p/instances", "", pg_body()).unwrap();
        assert_eq!(op["targetLink"], "https://sqladmin.googleapis.com/sql/v1beta4/projects/p/instances/db1");
        assert!(SqlAdmin.claims("sql/v1beta4/projects/p/instances/db1/users"));
        assert!(SqlAdmin.claims("v1/projects/p/operations/x"));
        assert!(!SqlAdmin.claims("v1/projects/p/secrets/x"));
        assert!(!SqlAdmin.claims("v1/projects/p/locations/l/operations/x"));
    }
}
