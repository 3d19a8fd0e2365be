//! `google_cloud_run_v2_service`: a Cloud Run service (Cloud Run Admin API v2).
//!
//! The request and the state go through the generated schema ([`cc::to_wire`] /
//! [`cc::from_wire`] with the definition's renames), so every documented argument is sent and
//! read back; what the definition leaves custom is here:
//! - `name` is sent as the full name on update and not at all on create (the API composes it
//!   from `serviceId`), and read back as its last segment (`name_from_self_link`);
//! - Optional+Computed blocks the API fills (`scaling`, `traffic`, a container's `resources`,
//!   `ports` and `startup_probe`, the template's `scaling`) keep the API's value when the
//!   configuration leaves them out, as Terraform's `default_from_api` does
//!   ([`keep_api_defaults`]); `resources.limits` compares CPU and memory quantities
//!   (`cloudRunV2ServiceResourceLimitsDiffSuppress`: `1` and `1000m` are the same CPU);
//! - `labels` and `annotations` are non-authoritative (`effective_*`, `terraform_labels`);
//! - `deletion_protection` (Terraform-only, default true) makes the planner refuse a destroy
//!   (`ResourceType::protection_attribute`), the provider's `pre_delete` check moved to plan
//!   time.
//!
//! Every create and update produces a revision; apply waits for the operation and then for
//! the service to settle (`reconciling` false) and fails with the terminal condition's message
//! when the revision never became ready.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use google_cloud_gax::error::Error as GaxError;
use google_cloud_run_v2::model;
use serde_json::Value as Json;
use tokio::time::Instant;

use super::compute_common::{self as cc, Renames};
use super::errors::{api_error, is_already_exists, is_not_found};
use super::fields::{self, set, string};
use super::resource_common::{list_by_last_segment, name_schema_timeouts, no_identity, read_grouped, time_left};
use super::retry::{classify, deadline_error, poll_signal, Retrier, Retry};
use super::{mmv1, Clients, Shared};
use crate::addr::AttrPath;
use crate::lang::value::Value;
use crate::providers::{CallContext, PlanProposal, ProviderError, ReadRequest, ResourceType};
use crate::schema::{Attribute, Rule, Schema, Validator};

pub const TYPE: &str = "google_cloud_run_v2_service";
const LIST: &str = "run.projects.locations.services.list";
const CREATE: &str = "run.projects.locations.services.create";
const GET: &str = "run.projects.locations.services.get";
const PATCH: &str = "run.projects.locations.services.patch";
const DELETE: &str = "run.projects.locations.services.delete";

/// The longest request timeout Cloud Run accepts: 60 minutes
/// (cloud.google.com/run/docs/configuring/request-timeout).
pub const MAX_REQUEST_TIMEOUT_SECS: f64 = 3600.0;

/// Blocks the API fills when the configuration leaves them out (`default_from_api` in the
/// definition), as paths through blocks; a list block's items pair by index.
const API_DEFAULTED_BLOCKS: [&[&str]; 6] = [
    &["scaling"],
    &["traffic"],
    &["template", "scaling"],
    &["template", "containers", "resources"],
    &["template", "containers", "ports"],
    &["template", "containers", "startup_probe"],
];

/// Attributes that carry a label or annotation map kept non-authoritatively.
const MAPS: [(&str, &str); 2] = [("labels", "effective_labels"), ("annotations", "effective_annotations")];

pub struct CloudRunV2Service {
    shared: Arc<Shared>,
    schema: Schema,
}

/// The definition's renames without the top-level `name` (Terraform-only there, a real field
/// in a container, a port and a volume: handled by hand at the top).
fn renames() -> Renames {
    static R: OnceLock<Renames> = OnceLock::new();
    R.get_or_init(|| {
        let kept: Vec<(&'static str, &'static str)> =
            mmv1::renames(TYPE).iter().copied().filter(|(k, _)| *k != "name").collect();
        Vec::leak(kept)
    })
}

/// A duration as the API writes it (`"600s"`, `"3.5s"`; google.protobuf.Duration's JSON form),
/// in seconds.
pub fn parse_duration(s: &str) -> Option<f64> {
    let digits = s.strip_suffix('s')?;
    let (whole, frac) = match digits.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (digits, None),
    };
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if let Some(f) = frac {
        if f.is_empty() || f.len() > 9 || !f.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
    }
    digits.parse().ok()
}

/// `template.timeout`: the duration format of RevisionTemplate.timeout (a
/// google-duration in run.v2.json) and Cloud Run's 60-minute maximum.
fn check_request_timeout(v: &Value) -> Result<(), String> {
    let Some(s) = v.as_str() else { return Ok(()) };
    match parse_duration(s) {
        None => {
            Err(format!("must be a duration in seconds with an \"s\" suffix, such as \"600s\" or \"3.5s\", got {s:?}"))
        }
        Some(secs) if secs <= 0.0 || secs > MAX_REQUEST_TIMEOUT_SECS => Err(format!(
            "must be more than 0s and at most 3600s (Cloud Run's longest request timeout, 60 minutes), got {s:?}"
        )),
        Some(_) => Ok(()),
    }
}

/// A CPU limit: whole CPUs (`"1"`, `"2"`), a fraction (`"0.5"`) or millicores (`"1000m"`)
/// (ResourceRequirements.limits in run.v2.json; cloud.google.com/run/docs/configuring/cpu).
pub fn cpu_millis(s: &str) -> Option<f64> {
    let (num, scale) = match s.strip_suffix('m') {
        Some(n) => (n, 1.0),
        None => (s, 1000.0),
    };
    let n: f64 = num.parse().ok().filter(|n: &f64| n.is_finite() && *n > 0.0)?;
    Some(n * scale)
}

/// A memory limit in bytes: a number with an optional Kubernetes suffix (`512Mi`, `2Gi`, `1G`)
/// (cloud.google.com/run/docs/configuring/memory-limits).
pub fn memory_bytes(s: &str) -> Option<f64> {
    const UNITS: [(&str, f64); 8] = [
        ("Ki", 1024.0),
        ("Mi", 1048576.0),
        ("Gi", 1073741824.0),
        ("Ti", 1099511627776.0),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
    ];
    let (num, mult) = UNITS.iter().find_map(|(u, m)| s.strip_suffix(u).map(|n| (n, *m))).unwrap_or((s, 1.0));
    let n: f64 = num.parse().ok().filter(|n: &f64| n.is_finite() && *n > 0.0)?;
    Some(n * mult)
}

fn check_limits(v: &Value) -> Result<(), String> {
    let Some(m) = v.as_map() else { return Ok(()) };
    for (k, x) in m {
        let Some(s) = x.as_str() else { continue };
        match k.as_str() {
            "cpu" if cpu_millis(s).is_none() => {
                return Err(format!(
                    "cpu must be a number of CPUs (\"1\", \"2\", \"0.5\") or millicores (\"1000m\"), got {s:?}"
                ))
            }
            "memory" if memory_bytes(s).is_none() => {
                return Err(format!("memory must be a size such as \"512Mi\" or \"2Gi\", got {s:?}"))
            }
            "cpu" | "memory" | "nvidia.com/gpu" => {}
            other => {
                // ResourceRequirements.limits: "Only `memory`, `cpu` and `nvidia.com/gpu` keys
                // in the map are supported."
                return Err(format!(
                    "has the key {other:?}; only \"cpu\", \"memory\" and \"nvidia.com/gpu\" are supported"
                ));
            }
        }
    }
    Ok(())
}

/// `cloudRunV2ServiceResourceLimitsDiffSuppress`: the same quantities spelled differently
/// (`1` and `1000m` CPU, `1Gi` and `1024Mi`) are no change.
fn same_limits(a: &Value, b: &Value) -> bool {
    let (Some(a), Some(b)) = (a.as_map(), b.as_map()) else { return false };
    if a.len() != b.len() {
        return false;
    }
    a.iter().all(|(k, x)| {
        let Some(y) = b.get(k) else { return false };
        let (Some(x), Some(y)) = (x.as_str(), y.as_str()) else { return x == y };
        match k.as_str() {
            "cpu" => cpu_millis(x).zip(cpu_millis(y)).is_some_and(|(p, q)| (p - q).abs() < 1e-6) || x == y,
            "memory" => memory_bytes(x).zip(memory_bytes(y)).is_some_and(|(p, q)| (p - q).abs() < 0.5) || x == y,
            _ => x == y,
        }
    })
}

/// A secret's version: `latest`, a version number, or an alias (SecretKeySelector.version in
/// run.v2.json). A number must be positive: Secret Manager numbers versions from 1.
fn check_secret_version(v: &Value) -> Result<(), String> {
    let Some(s) = v.as_str() else { return Ok(()) };
    if s.is_empty() {
        return Err("must not be empty: write \"latest\" or a version number such as \"1\"".into());
    }
    if s.bytes().all(|b| b.is_ascii_digit()) && s.trim_start_matches('0').is_empty() {
        return Err(format!(
            "{s:?} is not a version: Secret Manager numbers versions from 1; write \"latest\" or \"1\""
        ));
    }
    Ok(())
}

/// Label and annotation namespaces Cloud Run sets itself: "Cloud Run API v2 does not support
/// labels with `run.googleapis.com`, `cloud.googleapis.com`, `serving.knative.dev`, or
/// `autoscaling.knative.dev` namespaces, and they will be rejected" (Service.labels and
/// RevisionTemplate.labels in run.v2.json; annotations alike).
pub const SYSTEM_NAMESPACES: [&str; 4] =
    ["run.googleapis.com", "cloud.googleapis.com", "serving.knative.dev", "autoscaling.knative.dev"];

pub fn is_system_key(key: &str) -> bool {
    key.split_once('/').is_some_and(|(ns, _)| SYSTEM_NAMESPACES.contains(&ns))
}

fn check_no_system_keys(v: &Value) -> Result<(), String> {
    let Some(m) = v.as_map() else { return Ok(()) };
    match m.keys().find(|k| is_system_key(k)) {
        Some(k) => Err(format!(
            "has the key {k:?}, in a namespace Cloud Run sets itself ({}), which API v2 refuses; use the service's own argument for it (e.g. template.scaling, vpc_access, ingress)",
            SYSTEM_NAMESPACES.join(", ")
        )),
        None => Ok(()),
    }
}

/// Variables Cloud Run sets in every instance (cloud.google.com/run/docs/container-contract#env-vars):
/// the API refuses them in a container's env ("reserved env names"); PORT only in the
/// container that receives requests, since sidecars may listen elsewhere.
const RESERVED_ENV: [&str; 3] = ["K_SERVICE", "K_REVISION", "K_CONFIGURATION"];

fn num(v: &Value, name: &str) -> Option<f64> {
    v.get(name).filter(|x| x.is_wholly_known()).and_then(Value::as_f64)
}

fn items<'a>(v: &'a Value, name: &str) -> &'a [Value] {
    v.get(name).and_then(Value::as_list).unwrap_or(&[])
}

/// The Probe rules of run.v2.json (GoogleCloudRunV2Probe): timeoutSeconds 1–3600 and "must be
/// smaller than period_seconds" (periodSeconds: "Must be greater or equal than
/// timeout_seconds", which the API enforces); periodSeconds at most 3600 for a liveness probe
/// and 240 for a startup probe; initialDelaySeconds at most 3600 (liveness) and 240 (startup).
fn check_probe(probe: &Value, path: &AttrPath, max: f64, out: &mut Vec<(AttrPath, String)>) {
    let kind = if max < 3600.0 { "startup" } else { "liveness" };
    let timeout = num(probe, "timeout_seconds").unwrap_or(1.0);
    let period = num(probe, "period_seconds").unwrap_or(10.0);
    if let Some(p) = num(probe, "period_seconds").filter(|p| *p < 1.0 || *p > max) {
        out.push((
            path.join_attr("period_seconds"),
            format!(
                "period_seconds ({p}) must be from 1 through {max} for a {kind} probe (the API's limit); to allow a slower start, raise failure_threshold: the probe allows failure_threshold × period_seconds"
            ),
        ));
    }
    if let Some(d) = num(probe, "initial_delay_seconds").filter(|d| *d < 0.0 || *d > max) {
        out.push((
            path.join_attr("initial_delay_seconds"),
            format!("initial_delay_seconds ({d}) must be from 0 through {max} for a {kind} probe (the API's limit)"),
        ));
    }
    if !(1.0..=3600.0).contains(&timeout) {
        out.push((
            path.join_attr("timeout_seconds"),
            format!("timeout_seconds ({timeout}) must be from 1 through 3600 (the API's limit)"),
        ));
    } else if timeout > period {
        out.push((
            path.join_attr("timeout_seconds"),
            format!(
                "timeout_seconds ({timeout}) must not exceed period_seconds ({period}): the API refuses a probe that times out after the next one is due; lower timeout_seconds or raise period_seconds"
            ),
        ));
    }
    if let Some(f) = num(probe, "failure_threshold").filter(|f| *f < 1.0) {
        out.push((
            path.join_attr("failure_threshold"),
            format!("failure_threshold ({f}) must be at least 1 (the API's limit)"),
        ));
    }
}

/// The rules over the whole configuration that attribute validators cannot state.
fn check_service(config: &Value) -> Vec<(AttrPath, String)> {
    let mut out = Vec::new();
    // RevisionScaling / ServiceScaling: an instance count range (cloud.google.com/run/docs/
    // configuring/max-instances: "max instances must be greater than or equal to min").
    let scalings = [
        (AttrPath::attr("scaling").join_index(0), fields::first_block(config, "scaling")),
        (
            AttrPath::attr("template").join_index(0).join_attr("scaling").join_index(0),
            fields::first_block(config, "template").and_then(|t| fields::first_block(t, "scaling")),
        ),
    ];
    for (path, s) in scalings {
        let Some(s) = s else { continue };
        if let (Some(lo), Some(hi)) = (num(s, "min_instance_count"), num(s, "max_instance_count")) {
            if hi < lo {
                out.push((
                    path.join_attr("max_instance_count"),
                    format!(
                        "max_instance_count ({hi}) must be at least min_instance_count ({lo}); raise max_instance_count or lower min_instance_count"
                    ),
                ));
            }
        }
    }
    let Some(template) = fields::first_block(config, "template") else { return out };
    let tpath = AttrPath::attr("template").join_index(0);
    let containers = items(template, "containers");
    for (i, c) in containers.iter().enumerate() {
        let cpath = tpath.join_attr("containers").join_index(i as i64);
        let ingress = containers.len() == 1 || !items(c, "ports").is_empty();
        for (probe, max) in [("startup_probe", 240.0), ("liveness_probe", 3600.0)] {
            if let Some(p) = fields::first_block(c, probe) {
                check_probe(p, &cpath.join_attr(probe).join_index(0), max, &mut out);
            }
        }
        // Container.env is a map keyed by name inside the container (a repeated name is
        // refused: "Duplicate environment variable name").
        let mut seen: Vec<String> = Vec::new();
        for (j, e) in items(c, "env").iter().enumerate() {
            let Some(name) = string(e, "name") else { continue };
            if RESERVED_ENV.contains(&name.as_str()) || (ingress && name == "PORT") {
                out.push((
                    cpath.join_attr("env").join_index(j as i64).join_attr("name"),
                    format!("{name} is set by Cloud Run in every instance and the API refuses it in env; remove it (the port is ports.container_port)"),
                ));
            }
            if seen.contains(&name) {
                out.push((
                    cpath.join_attr("env").join_index(j as i64).join_attr("name"),
                    format!(
                        "the environment variable {name:?} is set twice in this container; keep one env block per name"
                    ),
                ));
            }
            seen.push(name);
            // EnvVar: value and valueSource are a oneof.
            if e.get("value").is_some_and(|v| !v.is_null()) && items(e, "value_source").iter().any(|v| !v.is_null()) {
                out.push((
                    cpath.join_attr("env").join_index(j as i64).join_attr("value"),
                    "an env block takes value or value_source, not both (EnvVar.value and valueSource are one of)"
                        .into(),
                ));
            }
        }
    }
    out
}

/// The generated schema plus what the definition leaves to code (see the module comment) and
/// the API's limits, checked at plan time.
pub fn schema() -> Schema {
    let port = |a: Attribute| {
        // ContainerPort.containerPort: "a valid TCP port number, 0 < container_port < 65536".
        a.validate(Validator::Range { min: 1.0, max: 65535.0 })
    };
    let mut s = mmv1::schema(TYPE)
        .modify("template.timeout", |a| {
            Attribute { validators: vec![Validator::Custom(Arc::new(check_request_timeout))], ..a }
                .describe("The request timeout, e.g. \"600s\" (at most 3600s).")
        })
        .modify("template.containers.name", |a| Attribute { computed: true, ..a })
        .modify("template.containers.ports.container_port", port)
        .modify("template.containers.resources.limits", |a| {
            a.validate(Validator::Custom(Arc::new(check_limits))).equivalent(same_limits)
        })
        .modify("template.containers.env.value_source.secret_key_ref.version", |a| {
            a.validate(Validator::Custom(Arc::new(check_secret_version)))
        })
        .modify("labels", |a| a.validate(Validator::Custom(Arc::new(check_no_system_keys))))
        .modify("annotations", |a| a.validate(Validator::Custom(Arc::new(check_no_system_keys))))
        .modify("template.labels", |a| a.validate(Validator::Custom(Arc::new(check_no_system_keys))))
        .modify("template.annotations", |a| a.validate(Validator::Custom(Arc::new(check_no_system_keys))))
        .modify("deletion_protection", |a| {
            a.describe("Refuse to destroy the service while true (the default); set false and apply first.")
        })
        .rule(Rule::Custom(Arc::new(check_service)));
    for probe in ["startup_probe", "liveness_probe"] {
        for port_attr in ["http_get.port", "grpc.port", "tcp_socket.port"] {
            let path = format!("template.containers.{probe}.{port_attr}");
            s = s.modify(&path, port);
        }
    }
    s
}

/// The parts of `projects/{p}/locations/{l}/services/{n}`.
pub fn parse_service_name(name: &str) -> Option<(String, String, String)> {
    let parts: Vec<&str> = name.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        ["projects", p, "locations", l, "services", n] if !p.is_empty() && !l.is_empty() && !n.is_empty() => {
            Some((p.to_string(), l.to_string(), n.to_string()))
        }
        _ => None,
    }
}

pub fn full_name(p: &str, l: &str, n: &str) -> String {
    format!("projects/{p}/locations/{l}/services/{n}")
}

/// The provider's import formats: `projects/{p}/locations/{l}/services/{n}`, `{p}/{l}/{n}`,
/// `{l}/{n}`, `{n}` (the provider's project and region fill the gaps).
pub fn parse_import_id(
    id: &str,
    project: Option<&str>,
    region: Option<&str>,
) -> Result<(String, String, String), ProviderError> {
    if let Some(x) = parse_service_name(id) {
        return Ok(x);
    }
    let need = |what: Option<&str>, name: &str| {
        what.map(str::to_string).ok_or_else(|| {
            ProviderError::new(format!(
                "import id \"{id}\" names no {name} and the provider has none; use projects/PROJECT/locations/LOCATION/services/NAME"
            ))
        })
    };
    let parts: Vec<&str> = id.split('/').collect();
    match parts.as_slice() {
        [p, l, n] if !p.is_empty() && !l.is_empty() && !n.is_empty() => Ok((p.to_string(), l.to_string(), n.to_string())),
        [l, n] if !l.is_empty() && !n.is_empty() => Ok((need(project, "project")?, l.to_string(), n.to_string())),
        [n] if !n.is_empty() => Ok((need(project, "project")?, need(region, "location")?, n.to_string())),
        _ => Err(ProviderError::new(format!(
            "import id \"{id}\" is not projects/PROJECT/locations/LOCATION/services/NAME, PROJECT/LOCATION/NAME, LOCATION/NAME or NAME"
        ))),
    }
}

/// The (project, location, name) of a state value.
pub fn identity(v: &Value) -> Option<(String, String, String)> {
    match (string(v, "project"), string(v, "location"), string(v, "name")) {
        (Some(p), Some(l), Some(n)) => Some((p, l, fields::last_segment(&n).to_string())),
        _ => string(v, "id").and_then(|id| parse_service_name(&id)),
    }
}

/// Copies into `planned`, along `path`, the prior's block where the configuration has none.
fn keep_block(planned: &mut Value, prior: &Value, config: &Value, path: &[&str]) {
    let Some((name, rest)) = path.split_first() else { return };
    if rest.is_empty() {
        let configured = config.get(name).and_then(Value::as_list).is_some_and(|l| !l.is_empty());
        if !configured {
            if let Some(from) = prior.get(name).filter(|v| v.as_list().is_some_and(|l| !l.is_empty())) {
                set(planned, name, from.clone());
            }
        }
        return;
    }
    let (Some(Value::List(ps)), Some(prs)) = (planned.get(name).cloned(), prior.get(name).and_then(Value::as_list))
    else {
        return;
    };
    let cs = config.get(name).and_then(Value::as_list).unwrap_or(&[]);
    let items: Vec<Value> = ps
        .into_iter()
        .enumerate()
        .map(|(i, mut item)| {
            if let (Some(pr), Some(c)) = (prs.get(i), cs.get(i)) {
                keep_block(&mut item, pr, c, rest);
            }
            item
        })
        .collect();
    set(planned, name, Value::List(items));
}

/// Terraform's `default_from_api` blocks: left out of the configuration, they keep the API's.
pub fn keep_api_defaults(planned: &mut Value, prior: &Value, config: &Value) {
    for path in API_DEFAULTED_BLOCKS {
        keep_block(planned, prior, config, path);
    }
}

/// Blocks the API holds as an object that the provider's state shows as a one-item list
/// (output-only nested objects, which the generated schema types as dynamic).
fn listed(v: Value) -> Value {
    match v {
        Value::Null => Value::List(Vec::new()),
        x @ Value::Map(_) => Value::List(vec![x]),
        x => x,
    }
}

/// A label or annotation map read from the API, without the system namespaces: what Cloud
/// Run sets there is never the configuration's, and sending it back is refused.
fn string_map_of(j: &Json, key: &str) -> std::collections::HashMap<String, String> {
    j.get(key)
        .and_then(Json::as_object)
        .map(|o| {
            o.iter()
                .filter(|(k, _)| !is_system_key(k))
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

impl CloudRunV2Service {
    pub fn new(shared: Arc<Shared>) -> Self {
        CloudRunV2Service { shared, schema: schema() }
    }

    async fn clients(&self, ctx: &CallContext) -> Result<Arc<Clients>, ProviderError> {
        self.shared.clients(&ctx.provider_config).await
    }

    /// The request body: every configured argument in its API name; labels and annotations as
    /// the plan's effective sets (keys set outside Cairn are kept).
    pub fn request(&self, planned: &Value, name: &str) -> Result<model::Service, ProviderError> {
        let mut j = cc::to_wire(&self.schema, planned, renames());
        let o = j.as_object_mut().expect("to_wire returns an object");
        o.remove("name");
        if !name.is_empty() {
            o.insert("name".into(), Json::String(name.to_string()));
        }
        // EnvVar's value and valueSource are a oneof: an env with a source sends no value.
        if let Some(cs) = o.get_mut("template").and_then(|t| t.get_mut("containers")).and_then(Json::as_array_mut) {
            for env in cs.iter_mut().filter_map(|c| c.get_mut("env")).filter_map(Json::as_array_mut).flatten() {
                if let Some(e) = env.as_object_mut() {
                    if e.contains_key("valueSource") || e.get("value").and_then(Json::as_str) == Some("") {
                        e.remove("value");
                    }
                }
            }
        }
        for (managed, effective) in MAPS {
            let m = fields::effective_to_send(planned, effective, managed);
            o.remove(managed);
            if !m.is_empty() {
                o.insert(managed.into(), serde_json::to_value(m).unwrap_or(Json::Null));
            }
        }
        cc::json_model(j, TYPE)
    }

    /// The state for a service as the API returned it; `prior` is the plan or state before
    /// (None on import), for the non-authoritative maps and ignore-read arguments.
    pub fn to_state(&self, s: &model::Service, prior: Option<&Value>) -> Value {
        let j = service_json(s);
        let (project, location, name) = parse_service_name(&s.name).unwrap_or_default();
        let mut v = cc::from_wire(&self.schema, &j, renames());
        let mut v_prior = prior.cloned();
        if let Some(p) = v_prior.as_mut() {
            // Blocks the API defaulted: compared with the prior only where it has them.
            let from_api = v.clone();
            keep_api_defaults(p, &from_api, &Value::Null);
        }
        v = cc::zero_values_as_prior(&self.schema, v, v_prior.as_ref());
        if let Some(Value::List(mut ts)) = v.get("template").cloned() {
            for t in ts.iter_mut() {
                for m in ["labels", "annotations"] {
                    if let Some(map) = t.get(m).and_then(Value::as_map).filter(|x| x.keys().any(|k| is_system_key(k))) {
                        let kept = map.iter().filter(|(k, _)| !is_system_key(k)).map(|(k, x)| (k.clone(), x.clone()));
                        set(t, m, Value::object(kept.collect()));
                    }
                }
            }
            set(&mut v, "template", Value::List(ts));
        }
        set(&mut v, "id", Value::string(full_name(&project, &location, &name)));
        set(&mut v, "name", Value::string(name));
        set(&mut v, "project", Value::string(project));
        set(&mut v, "location", Value::string(location));
        let prior_attr = |n: &str| prior.and_then(|p| p.get(n));
        for (managed, effective) in MAPS {
            let live = string_map_of(&j, managed);
            set(&mut v, managed, fields::managed_subset(&live, prior_attr(managed).or(prior.map(|_| &Value::Null))));
            set(&mut v, effective, fields::full_map(&live));
        }
        let tl = v.get("labels").and_then(Value::as_map).cloned().unwrap_or_default();
        set(&mut v, "terraform_labels", Value::object(tl));
        // `tags` is ignore_read in the definition: the API does not return it.
        set(&mut v, "tags", prior_attr("tags").cloned().unwrap_or(Value::Null));
        set(&mut v, "reconciling", Value::Bool(s.reconciling));
        let terminal = listed(v.get("terminal_condition").cloned().unwrap_or(Value::Null));
        set(&mut v, "terminal_condition", terminal);
        for out in ["generation", "observed_generation"] {
            if let Some(n) = j.get(fields::json_name(out).as_str()) {
                set(&mut v, out, Value::string(n.as_str().map(str::to_string).unwrap_or_else(|| n.to_string())));
            }
        }
        for client_only in ["deletion_protection", "deletion_policy"] {
            if let Some(x) = prior_attr(client_only) {
                set(&mut v, client_only, x.clone());
            }
        }
        fields::conform_to_schema(&self.schema, v)
    }

    async fn get(&self, c: &Clients, name: &str, timeout: Duration) -> Result<model::Service, ProviderError> {
        c.cloud_run_calls.idempotent(GET, timeout, || c.cloud_run.get_service().set_name(name.to_string()).send()).await
    }

    async fn list(
        &self,
        c: &Clients,
        project: &str,
        location: &str,
        timeout: Duration,
    ) -> Result<Option<BTreeMap<String, model::Service>>, ProviderError> {
        let parent = format!("projects/{project}/locations/{location}");
        let parent = parent.as_str();
        list_by_last_segment!(
            c.cloud_run_calls,
            LIST,
            timeout,
            c.cloud_run.list_services().set_parent(parent),
            100,
            services
        )
        .await
    }

    /// After the operation: waits until the service has settled (`reconciling` false), then
    /// requires its terminal condition to have succeeded — otherwise the new revision never
    /// became ready, and the condition says why.
    async fn wait_ready(
        &self,
        c: &Clients,
        ctx: &CallContext,
        method: &str,
        full: &str,
        deadline: Instant,
    ) -> Result<model::Service, ProviderError> {
        let started = Instant::now();
        for attempt in 0u32.. {
            let s = self.get(c, full, time_left(deadline)).await?;
            if !s.reconciling {
                return match not_ready(&s) {
                    None => Ok(s),
                    Some(why) => Err(ProviderError::new(format!("service {full} is not ready: {why}")).method(method)),
                };
            }
            (ctx.progress)(&format!("{full}: waiting for the new revision, {}s elapsed", started.elapsed().as_secs()));
            let d = c.cloud_run_calls.backoff.ceiling(attempt.saturating_add(2));
            if Instant::now() + d >= deadline {
                break;
            }
            tokio::time::sleep(d).await;
        }
        Err(deadline_error(method, ctx.timeout, None))
    }
}

/// The service as REST JSON with its enums by name: the SDK serializes enums as their numbers,
/// the provider's state (and every message) uses the names.
pub fn service_json(s: &model::Service) -> Json {
    fn put(j: &mut Json, pointer: &str, name: Option<&str>) {
        if let (Some(slot), Some(n)) = (j.pointer_mut(pointer), name) {
            *slot = Json::String(n.to_string());
        }
    }
    fn condition(j: &mut Json, at: &str, c: &model::Condition) {
        put(j, &format!("{at}/state"), c.state.name());
        put(j, &format!("{at}/severity"), c.severity.name());
        put(j, &format!("{at}/reason"), c.reason().and_then(|r| r.name()));
        put(j, &format!("{at}/revisionReason"), c.revision_reason().and_then(|r| r.name()));
        put(j, &format!("{at}/executionReason"), c.execution_reason().and_then(|r| r.name()));
    }
    let mut j = cc::model_json(s);
    put(&mut j, "/ingress", s.ingress.name());
    put(&mut j, "/launchStage", s.launch_stage.name());
    if let Some(sc) = &s.scaling {
        put(&mut j, "/scaling/scalingMode", sc.scaling_mode.name());
    }
    for (i, t) in s.traffic.iter().enumerate() {
        put(&mut j, &format!("/traffic/{i}/type"), t.r#type.name());
    }
    for (i, t) in s.traffic_statuses.iter().enumerate() {
        put(&mut j, &format!("/trafficStatuses/{i}/type"), t.r#type.name());
    }
    if let Some(c) = &s.terminal_condition {
        condition(&mut j, "/terminalCondition", c);
    }
    for (i, c) in s.conditions.iter().enumerate() {
        condition(&mut j, &format!("/conditions/{i}"), c);
    }
    if let Some(t) = &s.template {
        put(&mut j, "/template/executionEnvironment", t.execution_environment.name());
        if let Some(v) = &t.vpc_access {
            put(&mut j, "/template/vpcAccess/egress", v.egress.name());
        }
        for (i, v) in t.volumes.iter().enumerate() {
            put(
                &mut j,
                &format!("/template/volumes/{i}/emptyDir/medium"),
                v.empty_dir().map(|e| e.medium.name()).unwrap_or(None),
            );
        }
    }
    j
}

/// Why a settled service is not serving its latest revision (its terminal condition's message),
/// or None when it is.
pub fn not_ready(s: &model::Service) -> Option<String> {
    let j = service_json(s);
    let cond = j.get("terminalCondition")?;
    let state = cc::jstr(cond, "state");
    if state == "CONDITION_SUCCEEDED" || state.is_empty() {
        return None;
    }
    let message = cc::jstr(cond, "message");
    let reason = [cc::jstr(cond, "revisionReason"), cc::jstr(cond, "reason")].into_iter().find(|r| !r.is_empty());
    Some(match (message.is_empty(), reason) {
        (false, Some(r)) => format!("{message} ({state}, {r})"),
        (false, None) => format!("{message} ({state})"),
        (true, Some(r)) => format!("{state}, {r}"),
        (true, None) => state.to_string(),
    })
}

/// The top-level fields an update changes, as update-mask paths (outputs the plan marks
/// unknown and Terraform-only arguments are not sent).
pub fn update_mask(schema: &Schema, changed: &[AttrPath]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in changed {
        let Some(top) = p.top() else { continue };
        let field = match top {
            "deletion_protection" | "deletion_policy" | "tags" | "project" | "location" | "name" | "id" => continue,
            "labels" | "effective_labels" | "terraform_labels" => "labels".to_string(),
            "annotations" | "effective_annotations" => "annotations".to_string(),
            other if schema.attributes.get(other).is_some_and(|a| !(a.optional || a.required)) => continue,
            other => fields::json_name(other),
        };
        if !out.contains(&field) {
            out.push(field);
        }
    }
    out
}

/// Outcome of one long-running call.
enum Lro {
    Done,
    /// The call was refused before it ran, or its answer was lost: what to do is the caller's.
    Failed(GaxError),
    /// The operation ran and failed: the API's message.
    OperationFailed(GaxError),
    Deadline,
}

async fn run_lro<P>(calls: &Retrier, mut poller: P, deadline: Instant) -> Lro
where
    P: google_cloud_lro::Poller<model::Service, model::Service>,
{
    use google_cloud_lro::PollingResult;
    let mut running = false;
    for polls in 0u32.. {
        if polls > 0 {
            // `poll` sends at once; without a wait between polls an operation that takes
            // minutes would be read as fast as the API answers, spending its read quota.
            // Capped growth, as compute's operation waits do.
            if !calls.pause(polls.min(6), deadline).await {
                return Lro::Deadline;
            }
        }
        // Each poll holds a place under the API's limit only while it is answered.
        let next = match calls.limited(deadline, poller.poll(), poll_signal).await {
            Some(r) => r,
            None => return Lro::Deadline,
        };
        match next {
            Some(PollingResult::Completed(Ok(_))) => return Lro::Done,
            Some(PollingResult::Completed(Err(e))) if running => return Lro::OperationFailed(e),
            Some(PollingResult::Completed(Err(e))) => return Lro::Failed(e),
            Some(PollingResult::InProgress(_)) => running = true,
            Some(PollingResult::PollingError(_)) => {}
            None => return Lro::Deadline,
        }
    }
    Lro::Deadline
}

#[async_trait]
impl ResourceType for CloudRunV2Service {
    name_schema_timeouts!(TYPE, 20);

    /// Estimate: the operation finishes only when the new revision serves (its image pulled,
    /// the container started and past its startup probe), tens of seconds for a small image;
    /// an update rolls out a revision the same way; a delete is quicker.
    fn expected_durations(&self) -> crate::providers::ExpectedDurations {
        crate::providers::ExpectedDurations::secs(30, 30, 10)
    }

    fn protection_attribute(&self) -> Option<&'static str> {
        Some("deletion_protection")
    }

    fn customize_plan(&self, p: &mut PlanProposal) -> Result<Vec<String>, ProviderError> {
        if let Some(c) = self.shared.configured() {
            if p.planned.get("project").is_some_and(Value::is_unknown) {
                if let Some(project) = c.config.project.clone() {
                    set(&mut p.planned, "project", Value::string(project));
                }
            }
        }
        let replacing = p.prior.is_none() || !p.requires_replace.is_empty();
        if let Some(prior) = p.prior.clone().filter(|_| !replacing) {
            let config = p.config.clone();
            keep_api_defaults(&mut p.planned, &prior, &config);
        }
        if p.planned.get("id").is_some_and(Value::is_unknown) {
            if let (Some(pr), Some(l), Some(n)) =
                (string(&p.planned, "project"), string(&p.planned, "location"), string(&p.planned, "name"))
            {
                set(&mut p.planned, "id", Value::string(full_name(&pr, &l, &n)));
            }
        }
        let prior = if replacing { None } else { p.prior.clone() };
        let changed = |name: &str| replacing || p.changed.iter().any(|c| c.top() == Some(name));
        for (managed, effective) in MAPS {
            if changed(managed) {
                let configured = p.planned.get(managed).cloned();
                let eff = fields::effective_after(
                    prior.as_ref().and_then(|x| x.get(effective)),
                    prior.as_ref().and_then(|x| x.get(managed)),
                    configured.as_ref(),
                );
                set(&mut p.planned, effective, eff);
                if managed == "labels" {
                    let tl = configured.filter(|v| v.as_map().is_some()).unwrap_or(Value::object(BTreeMap::new()));
                    set(&mut p.planned, "terraform_labels", tl);
                }
            }
        }
        // An in-place update of the service makes a new revision: what names it is unknown.
        // Measured after the API's defaults were kept: the proposal's `changed` predates them.
        let api_change = p.prior.as_ref().is_some_and(|prior| {
            !update_mask(&self.schema, &crate::schema::diff::changed_paths(prior, &p.planned)).is_empty()
        });
        if !replacing && api_change {
            for out in [
                "latest_ready_revision",
                "latest_created_revision",
                "etag",
                "generation",
                "observed_generation",
                "update_time",
                "conditions",
                "terminal_condition",
                "traffic_statuses",
                "last_modifier",
            ] {
                set(&mut p.planned, out, Value::unknown());
            }
        }
        Ok(Vec::new())
    }

    async fn read_many(&self, ctx: &CallContext, reqs: &[ReadRequest]) -> Result<Vec<Option<Value>>, ProviderError> {
        if reqs.is_empty() {
            return Ok(Vec::new());
        }
        let c = self.clients(ctx).await?;
        let c = &c;
        read_grouped(
            reqs,
            |v| identity(v).map(|(p, l, n)| ((p, l), n)),
            |(project, location)| async move { self.list(c, &project, &location, ctx.timeout).await },
            |_, live, name, prior| live.get(name).map(|s| self.to_state(s, Some(prior))),
        )
        .await
    }

    async fn create(&self, ctx: &CallContext, planned: &Value, _config: &Value) -> Result<Value, ProviderError> {
        let c = self.clients(ctx).await?;
        let project = c.project(string(planned, "project").as_deref())?;
        let location = fields::required_string(planned, "location", TYPE)?;
        let name = fields::required_string(planned, "name", TYPE)?;
        let full = full_name(&project, &location, &name);
        let body = self.request(planned, "")?;
        let deadline = Instant::now() + ctx.timeout;
        let mut maybe_created = false;
        let mut last: Option<GaxError> = None;
        for attempt in 0u32.. {
            let poller = c
                .cloud_run
                .create_service()
                .set_parent(format!("projects/{project}/locations/{location}"))
                .set_service_id(name.clone())
                .set_service(body.clone())
                .poller();
            match run_lro(&c.cloud_run_calls, poller, deadline).await {
                Lro::Done => break,
                Lro::OperationFailed(e) => {
                    // The service exists; its revision failed: the condition has the detail.
                    let s = self.get(&c, &full, time_left(deadline)).await.ok();
                    let why = s.as_ref().and_then(not_ready).unwrap_or_else(|| api_error(CREATE, &e).message);
                    return Err(ProviderError::new(format!("creating service {full} failed: {why}")).method(CREATE));
                }
                Lro::Failed(e) if maybe_created && is_already_exists(&e) => break,
                Lro::Failed(e) => match classify(&e) {
                    Retry::Permanent if is_already_exists(&e) => {
                        let mut err = api_error(CREATE, &e);
                        err.message.push_str(&format!(
                            "; the service exists but is not in Cairn's state: import it with `cairn import <address> {full}`"
                        ));
                        return Err(err);
                    }
                    Retry::Permanent => return Err(api_error(CREATE, &e)),
                    Retry::Ambiguous => {
                        maybe_created = true;
                        last = Some(e);
                    }
                    Retry::NotProcessed => last = Some(e),
                },
                Lro::Deadline => return Err(deadline_error(CREATE, ctx.timeout, last.as_ref())),
            }
            if !c.cloud_run_calls.pause(attempt, deadline).await {
                return Err(deadline_error(CREATE, ctx.timeout, last.as_ref()));
            }
        }
        let s = self.wait_ready(&c, ctx, CREATE, &full, deadline).await?;
        Ok(self.to_state(&s, Some(planned)))
    }

    async fn update(
        &self,
        ctx: &CallContext,
        prior: &Value,
        planned: &Value,
        _config: &Value,
        changed: &[AttrPath],
    ) -> Result<Value, ProviderError> {
        let c = self.clients(ctx).await?;
        let (project, location, name) = identity(prior).ok_or_else(|| no_identity(TYPE, "project/location/name"))?;
        let full = full_name(&project, &location, &name);
        let mask = update_mask(&self.schema, changed);
        let deadline = Instant::now() + ctx.timeout;
        if !mask.is_empty() {
            let body = self.request(planned, &full)?;
            let mut last: Option<GaxError> = None;
            for attempt in 0u32.. {
                let poller = c
                    .cloud_run
                    .update_service()
                    .set_service(body.clone())
                    .set_update_mask(google_cloud_wkt::FieldMask::default().set_paths(mask.clone()))
                    .poller();
                match run_lro(&c.cloud_run_calls, poller, deadline).await {
                    Lro::Done => break,
                    Lro::OperationFailed(e) => {
                        let s = self.get(&c, &full, time_left(deadline)).await.ok();
                        let why = s.as_ref().and_then(not_ready).unwrap_or_else(|| api_error(PATCH, &e).message);
                        return Err(ProviderError::new(format!("updating service {full} failed: {why}")).method(PATCH));
                    }
                    // Updating is idempotent (the same body, the same mask): resend.
                    Lro::Failed(e) if classify(&e) == Retry::Permanent => return Err(api_error(PATCH, &e)),
                    Lro::Failed(e) => last = Some(e),
                    Lro::Deadline => return Err(deadline_error(PATCH, ctx.timeout, last.as_ref())),
                }
                if !c.cloud_run_calls.pause(attempt, deadline).await {
                    return Err(deadline_error(PATCH, ctx.timeout, last.as_ref()));
                }
            }
        }
        let s = self.wait_ready(&c, ctx, PATCH, &full, deadline).await?;
        Ok(self.to_state(&s, Some(planned)))
    }

    async fn delete(&self, ctx: &CallContext, prior: &Value) -> Result<(), ProviderError> {
        let (project, location, name) = identity(prior).ok_or_else(|| no_identity(TYPE, "project/location/name"))?;
        let full = full_name(&project, &location, &name);
        let c = self.clients(ctx).await?;
        let deadline = Instant::now() + ctx.timeout;
        let mut last: Option<GaxError> = None;
        for attempt in 0u32.. {
            let poller = c.cloud_run.delete_service().set_name(full.clone()).poller();
            match run_lro(&c.cloud_run_calls, poller, deadline).await {
                Lro::Done => return Ok(()),
                Lro::OperationFailed(e) | Lro::Failed(e) if is_not_found(&e) => return Ok(()),
                Lro::OperationFailed(e) => {
                    let mut err = api_error(DELETE, &e);
                    err.message = format!("deleting service {full} failed: {}", err.message);
                    return Err(err);
                }
                Lro::Failed(e) if classify(&e) == Retry::Permanent => return Err(api_error(DELETE, &e)),
                Lro::Failed(e) => last = Some(e),
                Lro::Deadline => return Err(deadline_error(DELETE, ctx.timeout, last.as_ref())),
            }
            if !c.cloud_run_calls.pause(attempt, deadline).await {
                break;
            }
        }
        Err(deadline_error(DELETE, ctx.timeout, last.as_ref()))
    }

    async fn import(&self, ctx: &CallContext, id: &str) -> Result<Value, ProviderError> {
        let c = self.clients(ctx).await?;
        let (p, l, n) = parse_import_id(id, c.config.project.as_deref(), c.config.region.as_deref())?;
        let s = self.get(&c, &full_name(&p, &l, &n), ctx.timeout).await?;
        Ok(self.to_state(&s, None))
    }

    fn cloud_name(&self, planned: &Value) -> Option<String> {
        let name = string(planned, "name")?;
        let project = self.shared.planned_project(planned)?;
        let location = string(planned, "location")?;
        Some(full_name(&project, &location, &name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::validate::test_hcl;

    /// The roadmap's backend, as the staging stack declares it.
    const STAGING: &str = r#"resource "google_cloud_run_v2_service" "s" {
  name     = "netra-backend-staging"
  location = "us-central1"
  ingress  = "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"
  deletion_protection = false
  labels = { env = "staging" }
  template {
    service_account = "backend@netra-staging.iam.gserviceaccount.com"
    timeout         = "600s"
    scaling {
      min_instance_count = 1
      max_instance_count = 10
    }
    vpc_access {
      connector = "projects/netra-staging/locations/us-central1/connectors/staging-connector"
      egress    = "ALL_TRAFFIC"
    }
    volumes {
      name = "cloudsql"
      cloud_sql_instance {
        instances = ["netra-staging:us-central1:staging-shared-postgres"]
      }
    }
    containers {
      image = "gcr.io/netra-staging/backend:latest"
      ports {
        container_port = 8000
      }
      resources {
        limits = { cpu = "2", memory = "4Gi" }
      }
      env {
        name  = "ENVIRONMENT"
        value = "staging"
      }
      env {
        name = "DATABASE_PASSWORD"
        value_source {
          secret_key_ref {
            secret  = "postgres-password-staging"
            version = "latest"
          }
        }
      }
      volume_mounts {
        name       = "cloudsql"
        mount_path = "/cloudsql"
      }
      startup_probe {
        period_seconds    = 10
        timeout_seconds   = 5
        failure_threshold = 60
        http_get {
          path = "/health"
        }
      }
      liveness_probe {
        http_get {
          path = "/health"
        }
      }
    }
  }
}
"#;

    fn diags(src: &str) -> Vec<String> {
        test_hcl::check(src, &schema())
    }

    fn one(src: &str) -> String {
        let d = diags(src);
        assert_eq!(d.len(), 1, "{d:?}");
        d[0].clone()
    }

    #[test]
    fn the_staging_service_is_valid() {
        assert_eq!(diags(STAGING), Vec::<String>::new());
    }

    #[test]
    fn a_probe_timeout_above_its_period_is_located() {
        let d = one(&STAGING.replace("timeout_seconds   = 5", "timeout_seconds   = 20"));
        assert!(d.contains("timeout_seconds (20) must not exceed period_seconds (10)"), "{d}");
        assert!(d.starts_with("main.tf:"), "{d}");
        // The default period (10 s) applies when only the timeout is set.
        let d = one(&STAGING.replace(
            "liveness_probe {\n        http_get",
            "liveness_probe {\n        timeout_seconds = 11\n        http_get",
        ));
        assert!(d.contains("timeout_seconds (11) must not exceed period_seconds (10)"), "{d}");
    }

    #[test]
    fn a_startup_period_above_240_is_refused_with_the_way_to_wait_longer() {
        let d = one(&STAGING.replace("period_seconds    = 10", "period_seconds    = 600"));
        assert!(d.contains("from 1 through 240 for a startup probe") && d.contains("failure_threshold"), "{d}");
    }

    #[test]
    fn request_timeouts_are_durations_up_to_an_hour() {
        assert!(one(&STAGING.replace("\"600s\"", "\"600\"")).contains("with an \"s\" suffix"));
        assert!(one(&STAGING.replace("\"600s\"", "\"10m\"")).contains("with an \"s\" suffix"));
        assert!(one(&STAGING.replace("\"600s\"", "\"3601s\"")).contains("at most 3600s"));
        assert_eq!(diags(&STAGING.replace("\"600s\"", "\"3.5s\"")), Vec::<String>::new());
        assert_eq!(diags(&STAGING.replace("\"600s\"", "\"3600s\"")), Vec::<String>::new());
        assert_eq!(parse_duration("1.000000001s"), Some(1.000000001));
        assert_eq!(parse_duration("1.s"), None);
        assert_eq!(parse_duration("-1s"), None);
    }

    #[test]
    fn scaling_max_below_min_is_refused() {
        let d = one(&STAGING.replace("max_instance_count = 10", "max_instance_count = 0"));
        assert!(d.contains("max_instance_count (0) must be at least min_instance_count (1)"), "{d}");
    }

    #[test]
    fn ports_limits_env_and_secret_versions() {
        assert!(one(&STAGING.replace("container_port = 8000", "container_port = 70000")).contains("container_port"));
        assert!(one(&STAGING.replace("cpu = \"2\"", "cpu = \"two\"")).contains("millicores"));
        assert!(one(&STAGING.replace("memory = \"4Gi\"", "memory = \"4 GB\"")).contains("512Mi"));
        assert!(one(&STAGING.replace("cpu = \"2\"", "cpus = \"2\"")).contains("only \"cpu\", \"memory\""));
        assert!(one(&STAGING.replace("version = \"latest\"", "version = \"0\"")).contains("from 1"));
        let twice = STAGING.replace("name = \"DATABASE_PASSWORD\"", "name = \"ENVIRONMENT\"");
        assert!(one(&twice).contains("\"ENVIRONMENT\" is set twice"), "{:?}", diags(&twice));
    }

    #[test]
    fn system_namespaces_and_reserved_env_names_are_refused() {
        let d = one(&STAGING.replace("env = \"staging\" }", "\"run.googleapis.com/ingress\" = \"all\" }"));
        assert!(d.contains("\"run.googleapis.com/ingress\"") && d.contains("refuses"), "{d}");
        let d = one(&STAGING.replace("name  = \"ENVIRONMENT\"", "name  = \"PORT\""));
        assert!(d.contains("PORT is set by Cloud Run"), "{d}");
        let d = one(&STAGING.replace("name  = \"ENVIRONMENT\"", "name  = \"K_SERVICE\""));
        assert!(d.contains("K_SERVICE is set by Cloud Run"), "{d}");
        let mut j = service_json(&live(&planned()));
        j["labels"]["cloud.googleapis.com/location"] = "us-central1".into();
        j["template"]["annotations"] = serde_json::json!({"run.googleapis.com/startup-cpu-boost": "true"});
        let s: model::Service = serde_json::from_value(j).unwrap();
        let t = CloudRunV2Service::new(Arc::new(Shared::new(Default::default())));
        let state = t.to_state(&s, Some(&planned()));
        let eff = state.get("effective_labels").and_then(Value::as_map).unwrap();
        assert!(!eff.contains_key("cloud.googleapis.com/location"), "never sent back: {eff:?}");
        let tmpl = fields::first_block(&state, "template").unwrap();
        assert_eq!(tmpl.get("annotations").and_then(Value::as_map).map(|m| m.len()), Some(0));
    }

    #[test]
    fn limits_compare_quantities() {
        let m = |cpu: &str, mem: &str| Value::map([("cpu", Value::from(cpu)), ("memory", Value::from(mem))]);
        assert!(same_limits(&m("1", "1Gi"), &m("1000m", "1024Mi")));
        assert!(same_limits(&m("0.5", "512Mi"), &m("500m", "536870912")));
        assert!(!same_limits(&m("2", "1Gi"), &m("1000m", "1Gi")));
    }

    /// A configuration as the core hands it to the type (sets as sets, absent as null).
    fn configured(src: &str) -> Value {
        let p = test_hcl::resource(src);
        crate::schema::validate::conform(&p.body, p.value, &schema(), p.block_span).expect("conforms")
    }

    fn planned() -> Value {
        let t = CloudRunV2Service::new(Arc::new(Shared::new(Default::default())));
        let mut v = fields::conform_to_schema(t.schema(), configured(STAGING));
        set(&mut v, "project", Value::from("netra-staging"));
        set(&mut v, "effective_labels", Value::map([("env", Value::from("staging"))]));
        v
    }

    #[test]
    fn the_request_carries_every_configured_argument_in_api_names() {
        let t = CloudRunV2Service::new(Arc::new(Shared::new(Default::default())));
        let s = t.request(&planned(), "").unwrap();
        let j = service_json(&s);
        assert_eq!(j.get("name"), None, "create composes the name from serviceId");
        assert_eq!(j["ingress"], "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER");
        assert_eq!(j["labels"], serde_json::json!({"env": "staging"}));
        let t = &j["template"];
        assert_eq!(t["timeout"], "600s");
        assert_eq!(t["vpcAccess"]["egress"], "ALL_TRAFFIC");
        assert_eq!(t["scaling"]["maxInstanceCount"], 10);
        assert_eq!(
            t["volumes"][0]["cloudSqlInstance"]["instances"][0],
            "netra-staging:us-central1:staging-shared-postgres"
        );
        let c = &t["containers"][0];
        assert_eq!(c["ports"][0]["containerPort"], 8000);
        assert_eq!(c["startupProbe"]["failureThreshold"], 60);
        assert_eq!(c["startupProbe"]["httpGet"]["path"], "/health");
        let secret = c["env"].as_array().unwrap().iter().find(|e| e["name"] == "DATABASE_PASSWORD").unwrap();
        assert_eq!(secret["valueSource"]["secretKeyRef"]["secret"], "postgres-password-staging");
        assert_eq!(j.get("deletionProtection"), None, "Terraform-only");
    }

    /// What the API sends back: the request plus its defaults and output fields.
    fn live(planned: &Value) -> model::Service {
        let t = CloudRunV2Service::new(Arc::new(Shared::new(Default::default())));
        let full = "projects/netra-staging/locations/us-central1/services/netra-backend-staging";
        let mut j = service_json(&t.request(planned, full).unwrap());
        j["uri"] = "https://netra-backend-staging-abc-uc.a.run.app".into();
        j["latestReadyRevision"] = format!("{full}/revisions/netra-backend-staging-00001-abc").into();
        j["generation"] = "1".into();
        j["terminalCondition"] = serde_json::json!({"type": "Ready", "state": "CONDITION_SUCCEEDED"});
        j["labels"]["goog-managed"] = "x".into();
        j["traffic"] = serde_json::json!([{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "percent": 100}]);
        j["template"]["containers"][0]["name"] = "backend-1".into();
        serde_json::from_value(j).unwrap()
    }

    #[test]
    fn state_after_create_plans_nothing() {
        let t = CloudRunV2Service::new(Arc::new(Shared::new(Default::default())));
        let planned = planned();
        let state = t.schema().keep_client_only(&planned, t.to_state(&live(&planned), Some(&planned)));
        assert_eq!(state.get("name"), Some(&Value::from("netra-backend-staging")));
        assert_eq!(
            state.get("id"),
            Some(&Value::from("projects/netra-staging/locations/us-central1/services/netra-backend-staging"))
        );
        assert_eq!(state.get("labels"), Some(&Value::map([("env", Value::from("staging"))])));
        assert_eq!(state.get("effective_labels").and_then(Value::as_map).map(|m| m.len()), Some(2));
        assert_eq!(state.get("deletion_protection"), Some(&Value::Bool(false)));
        let cond = fields::first_block(&state, "terminal_condition").unwrap();
        assert_eq!(cond.get("state"), Some(&Value::from("CONDITION_SUCCEEDED")));
        let config = configured(STAGING);
        let mut p = crate::schema::propose::propose(t.schema(), Some(&state), &config, false);
        t.customize_plan(&mut p).unwrap();
        let changed = crate::schema::diff::changed_paths(&state, &p.planned);
        assert!(changed.is_empty(), "{changed:?}");
        assert!(p.requires_replace.is_empty());
    }

    #[test]
    fn an_env_change_is_an_update_of_the_template_and_a_location_change_replaces() {
        let t = CloudRunV2Service::new(Arc::new(Shared::new(Default::default())));
        let planned = planned();
        let state = t.schema().keep_client_only(&planned, t.to_state(&live(&planned), Some(&planned)));
        let config = configured(&STAGING.replace("value = \"staging\"", "value = \"staging-2\""));
        let mut p = crate::schema::propose::propose(t.schema(), Some(&state), &config, false);
        t.customize_plan(&mut p).unwrap();
        assert!(p.requires_replace.is_empty());
        let changed = crate::schema::diff::changed_paths(&state, &p.planned);
        assert_eq!(update_mask(t.schema(), &changed), vec!["template".to_string()], "{changed:?}");
        assert!(p.planned.get("latest_ready_revision").is_some_and(Value::is_unknown), "a new revision");

        let config = configured(&STAGING.replace("us-central1\"\n  ingress", "us-east1\"\n  ingress"));
        let p = crate::schema::propose::propose(t.schema(), Some(&state), &config, false);
        assert_eq!(p.requires_replace, vec![AttrPath::attr("location")]);
    }

    #[test]
    fn a_failed_revision_reports_its_condition() {
        let mut j = service_json(&live(&planned()));
        j["terminalCondition"] = serde_json::json!({"type": "Ready", "state": "CONDITION_FAILED", "message": "Revision 'netra-backend-staging-00002' is not ready and cannot serve traffic. The user-provided container failed the configured startup probe checks.", "revisionReason": "HEALTH_CHECK_CONTAINER_ERROR"});
        let s: model::Service = serde_json::from_value(j).unwrap();
        let why = not_ready(&s).unwrap();
        assert!(why.contains("failed the configured startup probe") && why.contains("CONDITION_FAILED"), "{why}");
        assert_eq!(not_ready(&live(&planned())), None);
    }

    #[test]
    fn masks_and_import_ids() {
        let paths = [
            AttrPath::attr("labels"),
            AttrPath::attr("terraform_labels"),
            AttrPath::attr("deletion_protection"),
            AttrPath::attr("template").join_index(0).join_attr("timeout"),
            AttrPath::attr("invoker_iam_disabled"),
        ];
        assert_eq!(update_mask(&schema(), &paths), vec!["labels", "template", "invokerIamDisabled"]);
        let full = ("p".to_string(), "l".to_string(), "n".to_string());
        assert_eq!(parse_import_id("projects/p/locations/l/services/n", None, None).unwrap(), full);
        assert_eq!(parse_import_id("p/l/n", None, None).unwrap(), full);
        assert_eq!(parse_import_id("l/n", Some("p"), None).unwrap(), full);
        assert_eq!(parse_import_id("n", Some("p"), Some("l")).unwrap(), full);
        assert!(parse_import_id("n", Some("p"), None).unwrap_err().message.contains("names no location"));
        assert!(parse_import_id("a/b/c/d", None, None).is_err());
    }
}
