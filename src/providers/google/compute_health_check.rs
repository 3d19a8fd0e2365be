//! `google_compute_health_check`: a global health check for load-balanced backends.
//!
//! Updates are a full PUT (`healthChecks.update`); health checks have no fingerprint. The
//! API rejects a timeout longer than the check interval and a protocol block whose port
//! settings contradict `port_specification` only at apply time; both are checked at plan time.

use std::sync::Arc;

use async_trait::async_trait;
use google_cloud_compute_v1::model;

use super::compute_collection::{compute_sdk_calls, ComputeCall, ComputeCollection, ComputeResource};
use super::compute_common::{self as cc, Renames};
use super::fields::{conform_to_schema, first_block, set};
use super::{mmv1, Shared};
use crate::addr::AttrPath;
use crate::lang::value::Value;
use crate::providers::{ExpectedDurations, PlanProposal, ProviderError};
use crate::schema::{Attribute, Rule, Schema, Validator};

const TYPE: &str = "google_compute_health_check";
const COLLECTION: &str = "healthChecks";

/// The protocol blocks, their `type` on the wire, and whether they carry HTTP fields.
pub const PROTOCOL_BLOCKS: [(&str, &str); 7] = [
    ("http_health_check", "HTTP"),
    ("https_health_check", "HTTPS"),
    ("http2_health_check", "HTTP2"),
    ("tcp_health_check", "TCP"),
    ("ssl_health_check", "SSL"),
    ("grpc_health_check", "GRPC"),
    ("grpc_tls_health_check", "GRPC_WITH_TLS"),
];

fn renames() -> Renames {
    mmv1::renames(TYPE)
}

/// The generated schema, and what magic-modules leaves to hand-written code: the API's
/// ranges, `portDiffSuppress` (the API fills each protocol's default port, so `port` is
/// computed when unset), and the two plan-time checks below.
pub fn schema() -> Schema {
    let secs = |d: &'static str| move |a: Attribute| a.validate(Validator::Range { min: 1.0, max: 300.0 }).describe(d);
    let threshold =
        |d: &'static str| move |a: Attribute| a.validate(Validator::Range { min: 1.0, max: 10.0 }).describe(d);
    let mut s = mmv1::schema(TYPE)
        .modify("name", |a| {
            a.validate(Validator::Pattern { regex: cc::NAME_PATTERN, description: cc::NAME_DESCRIPTION })
                .describe("The health check's name, unique in the project.")
        })
        .modify("check_interval_sec", secs("Seconds between checks."))
        .modify("timeout_sec", secs("Seconds to wait for an answer; at most check_interval_sec."))
        .modify("healthy_threshold", threshold("Consecutive successes before a backend is healthy."))
        .modify("unhealthy_threshold", threshold("Consecutive failures before a backend is unhealthy."))
        .modify("type", |a| {
            a.describe("HTTP, HTTPS, HTTP2, TCP, SSL, GRPC or GRPC_WITH_TLS, from the protocol block.")
        });
    for (block, _) in PROTOCOL_BLOCKS {
        s = s.modify(&format!("{block}.port"), |a| Attribute {
            computed: true,
            ..a.validate(Validator::Range { min: 1.0, max: 65535.0 })
                .describe("The TCP port; the API defaults it per protocol (80, 443).")
        });
    }
    s.rule(Rule::Custom(Arc::new(check_timeout_within_interval))).rule(Rule::Custom(Arc::new(check_port_specification)))
}

fn number(config: &Value, name: &str, default: f64) -> Option<f64> {
    match config.get(name).map(Value::peel) {
        Some(Value::Unknown(_)) => None,
        Some(Value::Number(n)) => Some(n.to_f64()),
        _ => Some(default),
    }
}

/// The API refuses `timeoutSec > checkIntervalSec`, but only when the apply reaches it.
pub fn check_timeout_within_interval(config: &Value) -> Vec<(AttrPath, String)> {
    let (Some(timeout), Some(interval)) =
        (number(config, "timeout_sec", 5.0), number(config, "check_interval_sec", 5.0))
    else {
        return Vec::new();
    };
    if timeout <= interval {
        return Vec::new();
    }
    let implicit = if config.get("check_interval_sec").is_none_or(Value::is_null) { ", its default" } else { "" };
    vec![(
        AttrPath::attr("timeout_sec"),
        format!(
            "timeout_sec ({timeout}) must be less than or equal to check_interval_sec ({interval}{implicit}): a health check cannot wait longer for an answer than the interval between checks; raise check_interval_sec or lower timeout_sec"
        ),
    )]
}

/// Terraform's CustomizeDiff on the protocol blocks: the port settings must agree with
/// `port_specification`.
pub fn check_port_specification(config: &Value) -> Vec<(AttrPath, String)> {
    let mut out = Vec::new();
    for (block, _) in PROTOCOL_BLOCKS {
        let Some(b) = first_block(config, block) else { continue };
        if b.is_unknown() {
            continue;
        }
        let Some(spec) = b.get("port_specification").and_then(Value::as_str) else { continue };
        let is_set = |n: &str| b.get(n).is_some_and(|v| !v.is_null());
        let at = |n: &str| AttrPath::attr(block).join_index(0).join_attr(n);
        match spec {
            "USE_NAMED_PORT" if is_set("port") => out.push((
                at("port"),
                format!("{block}.port cannot be set when {block}.port_specification is USE_NAMED_PORT: the port comes from the instance group's named port {block}.port_name"),
            )),
            "USE_NAMED_PORT" if !is_set("port_name") => out.push((
                at("port_specification"),
                format!("{block}.port_specification = USE_NAMED_PORT needs {block}.port_name: name the instance group's port, e.g. port_name = \"http\""),
            )),
            "USE_SERVING_PORT" => {
                for n in ["port", "port_name"] {
                    if is_set(n) {
                        out.push((
                            at(n),
                            format!("{block}.{n} cannot be set when {block}.port_specification is USE_SERVING_PORT: each backend is checked on the port it serves on"),
                        ));
                    }
                }
            }
            "USE_FIXED_PORT" if is_set("port_name") => out.push((
                at("port_name"),
                format!("{block}.port_name cannot be set when {block}.port_specification is USE_FIXED_PORT: set {block}.port instead, or use USE_NAMED_PORT"),
            )),
            _ => {}
        }
    }
    out
}

/// The request body for the planned state.
pub fn request(planned: &Value) -> Result<model::HealthCheck, ProviderError> {
    let mut j = cc::to_wire(&schema(), planned, renames());
    let kind = PROTOCOL_BLOCKS.iter().find(|(b, _)| first_block(planned, b).is_some()).map(|(_, t)| *t);
    if let (Some(t), Some(o)) = (kind, j.as_object_mut()) {
        o.insert("type".into(), serde_json::Value::String(t.into()));
    }
    cc::json_model(j, TYPE)
}

/// The `healthChecks` collection.
pub struct HealthChecks;

pub type ComputeHealthCheck = ComputeResource<HealthChecks>;

#[async_trait]
impl ComputeCollection for HealthChecks {
    const TYPE: &'static str = TYPE;
    const COLLECTION: &'static str = COLLECTION;

    /// Estimate: a health check is configuration only, a short compute operation.
    fn expected_durations() -> ExpectedDurations {
        ExpectedDurations::secs(10, 10, 10)
    }

    compute_sdk_calls!(HealthChecks, HealthCheck, set_health_check);

    fn schema() -> Schema {
        schema()
    }

    fn request(planned: &Value, _project: &str, _name: &str) -> Result<Self::Model, ProviderError> {
        request(planned)
    }

    /// `logConfig {enable: false}` is the API's way of saying "not configured".
    fn to_state(schema: &Schema, project: &str, hc: &Self::Model, prior: Option<&Value>) -> Value {
        let (_, mut v) = cc::state_from_model(schema, renames(), project, COLLECTION, hc);
        let log_off = first_block(&v, "log_config").is_some_and(|l| l.get("enable") != Some(&Value::Bool(true)));
        let prior_has_log = prior.is_some_and(|p| first_block(p, "log_config").is_some());
        if log_off && !prior_has_log {
            set(&mut v, "log_config", Value::List(Vec::new()));
        }
        conform_to_schema(schema, v)
    }

    fn customize_plan(_schema: &Schema, shared: &Shared, p: &mut PlanProposal) -> Result<Vec<String>, ProviderError> {
        cc::plan_identity(p, shared, COLLECTION);
        if p.planned.get("type").is_some_and(Value::is_unknown) {
            if let Some((_, t)) = PROTOCOL_BLOCKS.iter().find(|(b, _)| first_block(&p.planned, b).is_some()) {
                set(&mut p.planned, "type", Value::from(*t));
            }
        }
        Ok(Vec::new())
    }

    /// A full PUT: health checks have no fingerprint.
    async fn update(
        call: &ComputeCall<'_, Self>,
        _prior: &Value,
        planned: &Value,
        _changed: &[AttrPath],
    ) -> Result<(), ProviderError> {
        let body = request(planned)?;
        call.mutate("update", |rid| {
            call.client
                .update()
                .set_project(call.project)
                .set_health_check(call.name)
                .set_request_id(rid)
                .set_body(body.clone())
                .send()
        })
        .await
        .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::ResourceType;
    use crate::schema::validate::test_hcl;

    pub(crate) fn diags(src: &str, schema: &Schema) -> Vec<String> {
        test_hcl::check(src, schema)
    }

    fn hc(body: &str) -> String {
        format!(
            "resource \"google_compute_health_check\" \"h\" {{\n  name = \"staging-backend-health-check\"\n{body}}}\n"
        )
    }

    #[test]
    fn the_roadmaps_timings_are_rejected_with_both_attributes_named() {
        let src = hc("  timeout_sec = 60\n  check_interval_sec = 30\n  http_health_check {\n    request_path = \"/health\"\n  }\n");
        let d = diags(&src, &schema());
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(
            d[0].starts_with("main.tf:3:") && d[0].contains("timeout_sec (60) must be less than or equal to check_interval_sec (30): a health check cannot wait longer for an answer than the interval between checks"),
            "{d:?}"
        );
        // The interval's default counts too.
        let d = diags(&hc("  timeout_sec = 10\n  tcp_health_check {\n    port = 5432\n  }\n"), &schema());
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].contains("check_interval_sec (5, its default)"), "{d:?}");
        let ok = hc("  timeout_sec = 30\n  check_interval_sec = 60\n  unhealthy_threshold = 5\n  http_health_check {\n    request_path = \"/health\"\n  }\n");
        assert_eq!(diags(&ok, &schema()), Vec::<String>::new());
    }

    #[test]
    fn exactly_one_protocol_block() {
        let none = diags(&hc("  timeout_sec = 5\n"), &schema());
        assert_eq!(none.len(), 1, "{none:?}");
        for b in ["http_health_check", "grpc_health_check", "ssl_health_check"] {
            assert!(none[0].contains(b), "{none:?}");
        }
        // (An empty protocol block is refused on its own, as the provider's AtLeastOneOf does.)
        let two = diags(
            &hc("  http_health_check {\n    port = 80\n  }\n  tcp_health_check {\n    port = 80\n  }\n"),
            &schema(),
        );
        assert_eq!(two.len(), 1, "{two:?}");
    }

    #[test]
    fn port_specification_must_agree_with_the_port_settings() {
        let named_with_port = diags(
            &hc("  http_health_check {\n    port = 80\n    port_specification = \"USE_NAMED_PORT\"\n  }\n"),
            &schema(),
        );
        assert_eq!(named_with_port.len(), 1, "{named_with_port:?}");
        assert!(
            named_with_port[0].starts_with("main.tf:4:") && named_with_port[0].contains("USE_NAMED_PORT"),
            "{named_with_port:?}"
        );
        let named_without_name =
            diags(&hc("  http_health_check {\n    port_specification = \"USE_NAMED_PORT\"\n  }\n"), &schema());
        assert!(
            named_without_name.len() == 1 && named_without_name[0].contains("needs http_health_check.port_name"),
            "{named_without_name:?}"
        );
        let serving = diags(
            &hc(
                "  grpc_health_check {\n    port_name = \"grpc\"\n    port_specification = \"USE_SERVING_PORT\"\n  }\n",
            ),
            &schema(),
        );
        assert!(serving.len() == 1 && serving[0].contains("USE_SERVING_PORT"), "{serving:?}");
        let fixed = diags(
            &hc("  tcp_health_check {\n    port_name = \"db\"\n    port_specification = \"USE_FIXED_PORT\"\n  }\n"),
            &schema(),
        );
        assert!(fixed.len() == 1 && fixed[0].contains("USE_FIXED_PORT"), "{fixed:?}");
        let bad_enum = diags(&hc("  http_health_check {\n    proxy_header = \"PROXY_V2\"\n  }\n"), &schema());
        assert_eq!(bad_enum.len(), 1, "{bad_enum:?}");
        let bad_name = diags(
            "resource \"google_compute_health_check\" \"h\" {\n  name = \"Bad_Name\"\n  http_health_check {\n    port = 80\n  }\n}\n",
            &schema(),
        );
        assert_eq!(bad_name.len(), 1, "{bad_name:?}");
    }

    fn planned() -> Value {
        conform_to_schema(
            &schema(),
            Value::map([
                ("name", Value::from("staging-backend-health-check")),
                ("project", Value::from("p")),
                ("check_interval_sec", Value::from(60i64)),
                ("timeout_sec", Value::from(30i64)),
                ("healthy_threshold", Value::from(2i64)),
                ("unhealthy_threshold", Value::from(5i64)),
                (
                    "http_health_check",
                    Value::List(vec![Value::map([
                        ("request_path", Value::from("/health")),
                        ("port", Value::from(8080i64)),
                        ("proxy_header", Value::from("NONE")),
                    ])]),
                ),
            ]),
        )
    }

    #[test]
    fn request_body_is_the_rest_shape() {
        let body = cc::model_json(&request(&planned()).unwrap());
        assert_eq!(body["type"], "HTTP");
        assert_eq!(body["checkIntervalSec"], 60);
        assert_eq!(body["timeoutSec"], 30);
        assert_eq!(body["unhealthyThreshold"], 5);
        assert_eq!(body["httpHealthCheck"]["requestPath"], "/health");
        assert_eq!(body["httpHealthCheck"]["port"], 8080);
        assert!(body.get("selfLink").is_none() && body.get("id").is_none());
    }

    #[test]
    fn state_from_the_api_plans_no_change() {
        let t = ComputeHealthCheck::new(Arc::new(Shared::new(Default::default())));
        let api: model::HealthCheck = serde_json::from_value(serde_json::json!({
            "kind": "compute#healthCheck", "id": "8123456789012345678", "name": "staging-backend-health-check",
            "selfLink": "https://www.googleapis.com/compute/v1/projects/p/global/healthChecks/staging-backend-health-check",
            "creationTimestamp": "2026-01-01T00:00:00.000-07:00", "description": "",
            "checkIntervalSec": 60, "timeoutSec": 30, "unhealthyThreshold": 5, "healthyThreshold": 2, "type": "HTTP",
            "httpHealthCheck": {"port": 8080, "requestPath": "/health", "proxyHeader": "NONE"},
            "logConfig": {"enable": false}
        }))
        .unwrap();
        let config = planned();
        // What the refresh stores: the API's object, and the plan's Terraform-only arguments.
        let v = t.schema().keep_client_only(&config, t.to_state("p", &api, Some(&config)));
        assert_eq!(v.get("id"), Some(&Value::from("projects/p/global/healthChecks/staging-backend-health-check")));
        assert_eq!(v.get("type"), Some(&Value::from("HTTP")));
        assert_eq!(v.get("log_config"), Some(&Value::List(vec![])), "a disabled log config is no block");
        let mut prop = crate::schema::propose::propose(t.schema(), Some(&v), &config, false);
        t.customize_plan(&mut prop).unwrap();
        let changed = crate::schema::diff::changed_paths(&v, &prop.planned);
        assert!(changed.is_empty(), "{changed:?}");
    }

    /// insert → operation RUNNING → globalOperations.wait → DONE → get; a delete whose
    /// operation finishes with RESOURCE_IN_USE_BY_ANOTHER_RESOURCE fails naming the user.
    #[tokio::test]
    async fn operations_are_waited_on_and_their_errors_surface() {
        use std::sync::Mutex;
        let calls = Arc::new(Mutex::new(Vec::<String>::new()));
        let c2 = calls.clone();
        let endpoint = crate::providers::google::test_server::start(Arc::new(move |method: &str, path: &str, query: &str, _b: &[u8]| {
            c2.lock().unwrap().push(format!("{method} {path}"));
            let base = "/compute/v1/projects/p/global";
            let op = |name: &str, status: &str| serde_json::json!({"kind": "compute#operation", "name": name, "status": status, "operationType": "insert",
                "targetLink": "https://www.googleapis.com/compute/v1/projects/p/global/healthChecks/hc"});
            match (method, path.strip_prefix(base).unwrap_or(path)) {
                ("POST", "/healthChecks") => {
                    assert!(query.contains("requestId="), "{query}");
                    (200, op("operation-1", "RUNNING"))
                }
                ("POST", "/operations/operation-1/wait") => (200, op("operation-1", "DONE")),
                ("GET", "/healthChecks/hc") => (200, serde_json::json!({"name": "hc", "selfLink": "https://www.googleapis.com/compute/v1/projects/p/global/healthChecks/hc",
                    "checkIntervalSec": 60, "timeoutSec": 30, "type": "HTTP", "httpHealthCheck": {"port": 80, "requestPath": "/health", "proxyHeader": "NONE"}})),
                ("DELETE", "/healthChecks/hc") => {
                    let mut o = op("operation-2", "DONE");
                    o["httpErrorStatusCode"] = 400.into();
                    o["error"] = serde_json::json!({"errors": [{"code": "RESOURCE_IN_USE_BY_ANOTHER_RESOURCE",
                        "message": "The health_check resource 'projects/p/global/healthChecks/hc' is already being used by 'projects/p/global/backendServices/staging-backend-service'"}]});
                    (200, o)
                }
                _ => (404, serde_json::json!({"error": {"code": 404, "message": format!("no route {method} {path}"), "errors": [{"reason": "notFound"}]}})),
            }
        }))
        .await;
        let (shared, ctx) = crate::providers::google::test_server::shared(&endpoint).await;
        let t = ComputeHealthCheck::new(shared);
        let mut planned = planned();
        set(&mut planned, "name", Value::from("hc"));
        let state = t.create(&ctx, &planned, &planned).await.unwrap();
        assert_eq!(
            state.get("self_link"),
            Some(&Value::from("https://www.googleapis.com/compute/v1/projects/p/global/healthChecks/hc"))
        );
        assert_eq!(
            calls.lock().unwrap().clone(),
            vec![
                "POST /compute/v1/projects/p/global/healthChecks".to_string(),
                "POST /compute/v1/projects/p/global/operations/operation-1/wait".to_string(),
                "GET /compute/v1/projects/p/global/healthChecks/hc".to_string(),
            ]
        );
        let e = t.delete(&ctx, &state).await.unwrap_err();
        assert_eq!(e.method.as_deref(), Some("compute.healthChecks.delete"));
        assert!(
            e.message.contains("already being used by 'projects/p/global/backendServices/staging-backend-service'")
                && e.message.contains("create_before_destroy"),
            "{}",
            e.message
        );
    }
}
