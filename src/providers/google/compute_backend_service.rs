//! `google_compute_backend_service`: a global backend service (the load balancer's view of a
//! set of backends, how they are checked and how traffic is balanced).
//!
//! Updates are a full PUT carrying the `fingerprint` read last (the API's optimistic lock);
//! a 412 means someone changed the service meanwhile, so it is re-read and the PUT sent once
//! more with the fresh fingerprint. The Cloud Armor policy is attached through
//! `setSecurityPolicy`, as Terraform does. Health checks may be given as names or self links;
//! either form matches what the API returns.

use std::sync::Arc;

use async_trait::async_trait;
use google_cloud_compute_v1::model;

use super::compute_collection::{compute_sdk_calls, ComputeCall, ComputeCollection, ComputeResource};
use super::compute_common::{self as cc, Renames};
use super::fields::{conform_to_schema, set, string};
use super::Shared;
use crate::addr::AttrPath;
use crate::lang::value::Value;
use crate::providers::{PlanProposal, ProviderError};
use crate::schema::{AttrType, Attribute, BlockType, Nesting, Schema, Validator};

const TYPE: &str = "google_compute_backend_service";
const COLLECTION: &str = "backendServices";

/// Attributes holding references to other compute resources.
const REFS: [&str; 3] = ["health_checks", "group", "security_policy"];
/// Blocks the API fills in when unset (Terraform's Optional+Computed blocks).
const COMPUTED_BLOCKS: [&str; 2] = ["cdn_policy", "log_config"];

const RENAMES: Renames = &[
    ("id", ""),
    ("project", ""),
    ("generated_id", ""),
    ("connection_draining_timeout_sec", ""),
    ("security_policy", ""),
    ("backend", "backends"),
    // The API spells it with an upper-case acronym (BackendService.enableCDN).
    ("enable_cdn", "enableCDN"),
    ("query_string_whitelist", "queryStringWhitelist"),
    ("query_string_blacklist", "queryStringBlacklist"),
];

fn num(d: &'static str) -> Attribute {
    Attribute::optional_computed(AttrType::Number).describe(d)
}

fn single(block: Schema) -> BlockType {
    BlockType { nesting: Nesting::Single, min_items: 0, max_items: 1, force_new: false, block }
}

fn check_capacity_scaler(v: &Value) -> Result<(), String> {
    match v.as_f64() {
        Some(x) if x == 0.0 || (0.1..=1.0).contains(&x) => Ok(()),
        Some(x) => Err(format!("is {x}; it must be 0 (drain the group) or between 0.1 and 1.0")),
        None => Ok(()),
    }
}

fn check_health_checks(v: &Value) -> Result<(), String> {
    let n = v.as_list().map_or(0, <[Value]>::len);
    if n > 1 {
        return Err(format!("lists {n} health checks; a global backend service takes at most one"));
    }
    Ok(())
}

pub fn schema() -> Schema {
    let strings = || AttrType::Set(Box::new(AttrType::String));
    let backend = Schema::new()
        .attr(
            "group",
            Attribute::required(AttrType::String)
                .describe("Self link of the instance group or network endpoint group."),
        )
        .attr(
            "balancing_mode",
            Attribute::optional(AttrType::String).default("UTILIZATION").validate(Validator::OneOf(vec![
                "UTILIZATION",
                "RATE",
                "CONNECTION",
                "CUSTOM_METRICS",
            ])),
        )
        .attr(
            "capacity_scaler",
            Attribute::optional(AttrType::Number)
                .default(1.0)
                .validate(Validator::Custom(Arc::new(check_capacity_scaler))),
        )
        .attr("description", Attribute::optional(AttrType::String))
        .attr("max_rate", num("Requests per second for the whole group (RATE)."))
        .attr("max_rate_per_instance", num("Requests per second per instance (RATE)."))
        .attr("max_rate_per_endpoint", num("Requests per second per endpoint (RATE)."))
        .attr("max_connections", num("Connections for the whole group (CONNECTION)."))
        .attr("max_connections_per_instance", num("Connections per instance (CONNECTION)."))
        .attr("max_connections_per_endpoint", num("Connections per endpoint (CONNECTION)."))
        .attr(
            "max_utilization",
            num("Target CPU utilization, 0.0 to 1.0 (UTILIZATION).").validate(Validator::Range { min: 0.0, max: 1.0 }),
        );
    let cache_key = Schema::new()
        .attr("include_host", Attribute::optional(AttrType::Bool))
        .attr("include_protocol", Attribute::optional(AttrType::Bool))
        .attr("include_query_string", Attribute::optional(AttrType::Bool))
        .attr("query_string_whitelist", Attribute::optional(strings()))
        .attr("query_string_blacklist", Attribute::optional(strings()))
        .attr("include_http_headers", Attribute::optional(strings()))
        .attr("include_named_cookies", Attribute::optional(strings()));
    let cdn = Schema::new()
        .attr(
            "cache_mode",
            Attribute::optional_computed(AttrType::String).validate(Validator::OneOf(vec![
                "USE_ORIGIN_HEADERS",
                "FORCE_CACHE_ALL",
                "CACHE_ALL_STATIC",
            ])),
        )
        .attr("default_ttl", num("Seconds."))
        .attr("max_ttl", num("Seconds."))
        .attr("client_ttl", num("Seconds."))
        .attr("negative_caching", Attribute::optional_computed(AttrType::Bool))
        .attr("serve_while_stale", num("Seconds."))
        .attr("signed_url_cache_max_age_sec", num("Seconds; the API defaults it to 3600."))
        .block("cache_key_policy", single(cache_key));
    let log = Schema::new().attr("enable", Attribute::optional_computed(AttrType::Bool)).attr(
        "sample_rate",
        Attribute::optional_computed(AttrType::Number).validate(Validator::Range { min: 0.0, max: 1.0 }),
    );
    Schema::new()
        .attr(
            "name",
            Attribute::required(AttrType::String)
                .force_new()
                .validate(Validator::Pattern { regex: cc::NAME_PATTERN, description: cc::NAME_DESCRIPTION }),
        )
        .attr("description", Attribute::optional(AttrType::String))
        .attr(
            "protocol",
            Attribute::optional(AttrType::String).default("HTTP").validate(Validator::OneOf(vec![
                "HTTP",
                "HTTPS",
                "HTTP2",
                "TCP",
                "SSL",
                "GRPC",
                "H2C",
                "UNSPECIFIED",
            ])),
        )
        .attr(
            "port_name",
            Attribute::optional_computed(AttrType::String)
                .describe("The instance groups' named port; the API defaults it to \"http\"."),
        )
        .attr(
            "timeout_sec",
            Attribute::optional_computed(AttrType::Number)
                .validate(Validator::Range { min: 1.0, max: 2_147_483_647.0 })
                .describe("Seconds a backend may take to answer; the API defaults it to 30."),
        )
        .attr(
            "health_checks",
            Attribute::optional(strings())
                .validate(Validator::Custom(Arc::new(check_health_checks)))
                .describe("The health check (name or self link); at most one."),
        )
        .attr(
            "load_balancing_scheme",
            Attribute::optional(AttrType::String).default("EXTERNAL").force_new().validate(Validator::OneOf(vec![
                "EXTERNAL",
                "EXTERNAL_MANAGED",
                "INTERNAL_SELF_MANAGED",
                "INTERNAL_MANAGED",
            ])),
        )
        .attr(
            "session_affinity",
            Attribute::optional_computed(AttrType::String).validate(Validator::OneOf(vec![
                "NONE",
                "CLIENT_IP",
                "CLIENT_IP_PORT_PROTO",
                "CLIENT_IP_PROTO",
                "GENERATED_COOKIE",
                "HEADER_FIELD",
                "HTTP_COOKIE",
                "CLIENT_IP_NO_DESTINATION",
                "STRONG_COOKIE_AFFINITY",
            ])),
        )
        .attr(
            "affinity_cookie_ttl_sec",
            Attribute::optional_computed(AttrType::Number).validate(Validator::Range { min: 0.0, max: 86400.0 }),
        )
        .attr(
            "connection_draining_timeout_sec",
            Attribute::optional(AttrType::Number).default(300).validate(Validator::Range { min: 0.0, max: 3600.0 }),
        )
        .attr("enable_cdn", Attribute::optional(AttrType::Bool).default(false))
        .attr(
            "security_policy",
            Attribute::optional(AttrType::String)
                .describe("A Cloud Armor policy (name or self link), attached with setSecurityPolicy."),
        )
        .attr("project", Attribute::optional_computed(AttrType::String).force_new())
        .attr(
            "fingerprint",
            Attribute::computed(AttrType::String).describe("The optimistic-locking token sent with every update."),
        )
        .attr("self_link", Attribute::computed(AttrType::String))
        .attr("creation_timestamp", Attribute::computed(AttrType::String))
        .attr(
            "generated_id",
            Attribute::computed(AttrType::String).describe("The API's numeric id (a string: it exceeds 2^53)."),
        )
        .attr("id", Attribute::computed(AttrType::String).describe("projects/{project}/global/backendServices/{name}"))
        .block(
            "backend",
            BlockType { nesting: Nesting::Set, min_items: 0, max_items: 0, force_new: false, block: backend },
        )
        .block("cdn_policy", single(cdn))
        .block("log_config", single(log))
}

/// The request body: everything configured, health checks and groups as full self links,
/// and the fingerprint when updating.
pub fn request(
    planned: &Value,
    project: &str,
    fingerprint: Option<&str>,
) -> Result<model::BackendService, ProviderError> {
    let mut j = cc::to_wire(&schema(), planned, RENAMES);
    let Some(o) = j.as_object_mut() else {
        return Err(ProviderError::new(format!("{TYPE}: the planned value is not an object")));
    };
    if let Some(serde_json::Value::Array(hcs)) = o.get_mut("healthChecks") {
        for h in hcs.iter_mut() {
            if let Some(s) = h.as_str() {
                *h = serde_json::Value::String(cc::expand_ref(project, "healthChecks", s));
            }
        }
    }
    if let Some(d) = planned.get("connection_draining_timeout_sec").and_then(Value::as_f64) {
        o.insert("connectionDraining".into(), serde_json::json!({"drainingTimeoutSec": d as i64}));
    }
    if let Some(f) = fingerprint.filter(|f| !f.is_empty()) {
        o.insert("fingerprint".into(), serde_json::Value::String(f.to_string()));
    }
    cc::json_model(j, TYPE)
}

/// Terraform's Optional+Computed blocks: left out of the configuration, they keep what the
/// API set instead of planning their removal.
pub(crate) fn keep_computed_blocks(p: &mut PlanProposal, blocks: &[&str]) {
    let Some(prior) = p.prior.clone() else { return };
    for b in blocks {
        let configured = p.config.get(b).and_then(Value::as_list).is_some_and(|l| !l.is_empty());
        if !configured {
            set(&mut p.planned, b, prior.get(b).cloned().unwrap_or(Value::List(Vec::new())));
        }
    }
}

/// Attaches (or with `None` detaches) the Cloud Armor policy.
async fn set_security_policy(
    call: &ComputeCall<'_, BackendServices>,
    policy: Option<&str>,
) -> Result<(), ProviderError> {
    let body: model::SecurityPolicyReference = match policy {
        Some(p) => cc::json_model(
            serde_json::json!({"securityPolicy": cc::expand_ref(call.project, "securityPolicies", p)}),
            TYPE,
        )?,
        None => cc::json_model(serde_json::json!({}), TYPE)?,
    };
    call.mutate("setSecurityPolicy", |rid| {
        call.client
            .set_security_policy()
            .set_project(call.project)
            .set_backend_service(call.name)
            .set_request_id(rid)
            .set_body(body.clone())
            .send()
    })
    .await
    .map(|_| ())
}

/// The `backendServices` collection.
pub struct BackendServices;

pub type ComputeBackendService = ComputeResource<BackendServices>;

#[async_trait]
impl ComputeCollection for BackendServices {
    const TYPE: &'static str = TYPE;
    const COLLECTION: &'static str = COLLECTION;

    compute_sdk_calls!(BackendServices, BackendService, set_backend_service);

    fn schema() -> Schema {
        schema()
    }

    fn request(planned: &Value, project: &str, _name: &str) -> Result<Self::Model, ProviderError> {
        request(planned, project, None)
    }

    fn to_state(schema: &Schema, project: &str, bs: &Self::Model, prior: Option<&Value>) -> Value {
        let (j, mut v) = cc::state_from_model(schema, RENAMES, project, COLLECTION, bs);
        set(&mut v, "generated_id", cc::jid(&j, "id"));
        let draining =
            j.pointer("/connectionDraining/drainingTimeoutSec").and_then(serde_json::Value::as_f64).unwrap_or(0.0);
        set(&mut v, "connection_draining_timeout_sec", Value::Number(draining));
        let policy = cc::jstr(&j, "securityPolicy");
        set(&mut v, "security_policy", if policy.is_empty() { Value::Null } else { Value::string(policy) });
        let v = cc::align_refs_to_prior(v, prior, &REFS);
        conform_to_schema(schema, v)
    }

    fn customize_plan(schema: &Schema, shared: &Shared, p: &mut PlanProposal) -> Result<Vec<String>, ProviderError> {
        keep_computed_blocks(p, &COMPUTED_BLOCKS);
        cc::plan_align_refs(p, schema, &REFS);
        cc::plan_identity(p, shared, COLLECTION);
        cc::plan_fingerprint(p);
        Ok(Vec::new())
    }

    /// The policy is not part of the insert request.
    async fn after_insert(call: &ComputeCall<'_, Self>, planned: &Value) -> Result<(), ProviderError> {
        match string(planned, "security_policy") {
            Some(policy) => set_security_policy(call, Some(&policy)).await,
            None => Ok(()),
        }
    }

    async fn update(
        call: &ComputeCall<'_, Self>,
        prior: &Value,
        planned: &Value,
        changed: &[AttrPath],
    ) -> Result<(), ProviderError> {
        let policy_changed = changed.iter().any(|p| p.top() == Some("security_policy"));
        let others_changed = changed.iter().any(|p| !matches!(p.top(), Some("security_policy" | "fingerprint")));
        if others_changed {
            call.put_fingerprinted(
                string(prior, "fingerprint"),
                |fingerprint| request(planned, call.project, fingerprint),
                |body, rid| {
                    call.client
                        .update()
                        .set_project(call.project)
                        .set_backend_service(call.name)
                        .set_request_id(rid)
                        .set_body(body)
                        .send()
                },
            )
            .await?;
        }
        if policy_changed {
            set_security_policy(call, string(planned, "security_policy").as_deref()).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::google::compute_collection::is_stale_fingerprint;
    use crate::providers::ResourceType;
    use crate::schema::validate::test_hcl;

    fn diags(src: &str) -> Vec<String> {
        test_hcl::check(src, &schema())
    }

    fn bs(body: &str) -> String {
        format!(
            "resource \"google_compute_backend_service\" \"b\" {{\n  name = \"staging-backend-service\"\n{body}}}\n"
        )
    }

    #[test]
    fn plan_time_rules() {
        assert_eq!(
            diags(&bs(
                "  timeout_sec = 600\n  health_checks = [\"hc\"]\n  load_balancing_scheme = \"EXTERNAL_MANAGED\"\n"
            )),
            Vec::<String>::new()
        );
        let two = diags(&bs("  health_checks = [\"a\", \"b\"]\n"));
        assert!(two.len() == 1 && two[0].starts_with("main.tf:3:") && two[0].contains("at most one"), "{two:?}");
        let scaler = diags(&bs("  backend {\n    group = \"g\"\n    capacity_scaler = 0.05\n  }\n"));
        assert!(scaler.len() == 1 && scaler[0].contains("0.1 and 1.0"), "{scaler:?}");
        let proto = diags(&bs("  protocol = \"UDP\"\n"));
        assert_eq!(proto.len(), 1, "{proto:?}");
        let scheme = diags(&bs("  load_balancing_scheme = \"INTERNAL\"\n"));
        assert_eq!(scheme.len(), 1, "{scheme:?}");
        let timeout = diags(&bs("  timeout_sec = 0\n"));
        assert_eq!(timeout.len(), 1, "{timeout:?}");
        let rate = diags(&bs("  log_config {\n    enable = true\n    sample_rate = 2\n  }\n"));
        assert_eq!(rate.len(), 1, "{rate:?}");
    }

    fn api(timeout: i64) -> model::BackendService {
        serde_json::from_value(serde_json::json!({
            "kind": "compute#backendService", "id": "8123456789012345678", "name": "staging-backend-service",
            "selfLink": "https://www.googleapis.com/compute/v1/projects/p/global/backendServices/staging-backend-service",
            "creationTimestamp": "2026-01-01T00:00:00.000-07:00", "description": "",
            "healthChecks": ["https://www.googleapis.com/compute/v1/projects/p/global/healthChecks/staging-backend-health-check"],
            "timeoutSec": timeout, "port": 80, "protocol": "HTTP", "portName": "http", "sessionAffinity": "NONE", "affinityCookieTtlSec": 0,
            "loadBalancingScheme": "EXTERNAL", "connectionDraining": {"drainingTimeoutSec": 300}, "fingerprint": "abc=",
            "logConfig": {"enable": false}
        }))
        .unwrap()
    }

    fn config() -> Value {
        conform_to_schema(
            &schema(),
            Value::map([
                ("name", Value::from("staging-backend-service")),
                ("timeout_sec", Value::from(600i64)),
                ("health_checks", Value::set(vec![Value::from("staging-backend-health-check")])),
            ]),
        )
    }

    #[test]
    fn names_against_self_links_and_computed_blocks_do_not_diff() {
        let t = ComputeBackendService::new(Arc::new(Shared::new(Default::default())));
        let prior_cfg = config();
        let v = t.to_state("p", &api(600), Some(&prior_cfg));
        assert_eq!(v.get("health_checks"), Some(&Value::set(vec![Value::from("staging-backend-health-check")])));
        assert_eq!(v.get("generated_id"), Some(&Value::from("8123456789012345678")));
        assert_eq!(v.get("connection_draining_timeout_sec"), Some(&Value::from(300i64)));
        let mut prop = crate::schema::propose::propose(t.schema(), Some(&v), &config(), false);
        t.customize_plan(&mut prop).unwrap();
        let changed = crate::schema::diff::changed_paths(&v, &prop.planned);
        assert!(changed.is_empty(), "{changed:?}");
        // Imported (no prior): the API's self link is kept; configuring the name then is no change either.
        let imported = t.to_state("p", &api(600), None);
        assert!(imported
            .get("health_checks")
            .and_then(Value::as_list)
            .is_some_and(|l| l[0].as_str().is_some_and(|s| s.starts_with("https://"))));
        let mut prop = crate::schema::propose::propose(t.schema(), Some(&imported), &config(), false);
        t.customize_plan(&mut prop).unwrap();
        assert!(crate::schema::diff::changed_paths(&imported, &prop.planned).is_empty());
        // A timeout changed out of band is an in-place update with a fresh fingerprint.
        let drifted = t.to_state("p", &api(30), Some(&prior_cfg));
        let mut prop = crate::schema::propose::propose(t.schema(), Some(&drifted), &config(), false);
        t.customize_plan(&mut prop).unwrap();
        assert!(prop.requires_replace.is_empty());
        assert_eq!(prop.planned.get("timeout_sec"), Some(&Value::from(600i64)));
        assert!(prop.planned.get("fingerprint").is_some_and(Value::is_unknown));
    }

    #[test]
    fn request_expands_references_and_carries_the_fingerprint() {
        let mut planned = config();
        set(&mut planned, "protocol", Value::from("HTTP"));
        set(&mut planned, "connection_draining_timeout_sec", Value::from(300i64));
        set(
            &mut planned,
            "backend",
            Value::set(vec![Value::map([
                ("group", Value::from("https://www.googleapis.com/compute/v1/projects/p/zones/z/instanceGroups/ig")),
                ("balancing_mode", Value::from("UTILIZATION")),
                ("capacity_scaler", Value::from(1.0)),
            ])]),
        );
        let j = cc::model_json(&request(&planned, "p", Some("abc=")).unwrap());
        assert_eq!(
            j["healthChecks"],
            serde_json::json!([
                "https://www.googleapis.com/compute/v1/projects/p/global/healthChecks/staging-backend-health-check"
            ])
        );
        assert_eq!(j["timeoutSec"], 600);
        assert_eq!(j["connectionDraining"]["drainingTimeoutSec"], 300);
        assert_eq!(j["backends"][0]["balancingMode"], "UTILIZATION");
        assert_eq!(j["fingerprint"], "abc=");
        assert!(is_stale_fingerprint(&ProviderError::new("Invalid fingerprint. (HTTP 412)")));
    }
}
