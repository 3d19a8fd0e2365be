//! `google_compute_backend_service`: a global backend service (the load balancer's view of a
//! set of backends, how they are checked and how traffic is balanced).
//!
//! Updates are a full PUT carrying the `fingerprint` read last (the API's optimistic lock);
//! a 412 means someone changed the service meanwhile, so it is re-read and the PUT sent once
//! more with the fresh fingerprint. The Cloud Armor policies are attached through
//! `setSecurityPolicy` and `setEdgeSecurityPolicy`, as Terraform does. Health checks may be
//! given as names or self links; either form matches what the API returns.

use std::sync::Arc;

use async_trait::async_trait;
use google_cloud_compute_v1::model;

use super::compute_collection::{compute_sdk_calls, ComputeCall, ComputeCollection, ComputeResource};
use super::compute_common::{self as cc, Renames};
use super::fields::{conform_to_schema, first_block, set, string};
use super::{mmv1, Shared};
use crate::addr::AttrPath;
use crate::lang::value::Value;
use crate::providers::{ExpectedDurations, PlanProposal, ProviderError};
use crate::schema::{AttrType, Attribute, Rule, Schema, Validator};

const TYPE: &str = "google_compute_backend_service";
const COLLECTION: &str = "backendServices";

/// Attributes holding references to other compute resources.
const REFS: [&str; 4] = ["health_checks", "group", "security_policy", "edge_security_policy"];
/// Blocks the API fills in when unset (Terraform's Optional+Computed blocks).
const COMPUTED_BLOCKS: [&str; 2] = ["cdn_policy", "log_config"];
/// Fields the API never returns (secrets, and the create-only `params`): the state keeps
/// what was configured, as the provider's `ignore_read` does. Paths run through single blocks.
const UNREAD: [&[&str]; 4] = [
    &["iap", "oauth2_client_id"],
    &["iap", "oauth2_client_secret"],
    &["security_settings", "aws_v4_authentication", "access_key"],
    &["params"],
];
/// The protocols a global backend service takes: UDP is for regional (passthrough) ones.
const GLOBAL_PROTOCOLS: [&str; 8] = ["HTTP", "HTTPS", "HTTP2", "TCP", "SSL", "GRPC", "H2C", "UNSPECIFIED"];

fn renames() -> Renames {
    mmv1::renames(TYPE)
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

/// The generated schema, and what magic-modules leaves to hand-written code: the API's
/// ranges and name pattern, the global-only protocols, the numeric id as a string (it exceeds
/// 2^53), and the `localityLbPolicies` choice whose generated rule names `customPolicy`.
pub fn schema() -> Schema {
    let range = |min: f64, max: f64| move |a: Attribute| a.validate(Validator::Range { min, max });
    mmv1::schema(TYPE)
        .modify("name", |a| {
            a.validate(Validator::Pattern { regex: cc::NAME_PATTERN, description: cc::NAME_DESCRIPTION })
        })
        .modify("protocol", |a| Attribute {
            validators: vec![Validator::OneOf(GLOBAL_PROTOCOLS.to_vec())],
            ..a.describe("The backends' protocol; the API defaults it to HTTP. UDP is regional only.")
        })
        .modify("port_name", |a| a.describe("The instance groups' named port; the API defaults it to \"http\"."))
        .modify("timeout_sec", |a| {
            range(1.0, 2_147_483_647.0)(a).describe("Seconds a backend may take to answer; the API defaults it to 30.")
        })
        .modify("affinity_cookie_ttl_sec", range(0.0, 86400.0))
        .modify("connection_draining_timeout_sec", range(0.0, 3600.0))
        .modify("health_checks", |a| {
            a.validate(Validator::Custom(Arc::new(check_health_checks)))
                .describe("The health check (name or self link); at most one.")
        })
        .modify("security_policy", |a| {
            a.describe("A Cloud Armor policy (name or self link), attached with setSecurityPolicy.")
        })
        .modify("backend.capacity_scaler", |a| a.validate(Validator::Custom(Arc::new(check_capacity_scaler))))
        .modify("backend.max_utilization", range(0.0, 1.0))
        .modify("log_config.sample_rate", range(0.0, 1.0))
        .modify("fingerprint", |a| a.describe("The optimistic-locking token sent with every update."))
        .modify("generated_id", |a| Attribute {
            ty: AttrType::String,
            ..a.describe("The API's numeric id (a string: it exceeds 2^53).")
        })
        .modify_block("locality_lb_policies", |mut b| {
            b.block.rules.retain(|r| !matches!(r, Rule::ExactlyOneOf(g) if g.contains(&"customPolicy")));
            b.block.rules.push(Rule::ExactlyOneOf(vec!["policy", "custom_policy"]));
            b
        })
        .modify_block("tls_settings.subject_alt_names", |mut b| {
            b.block.rules.push(Rule::ExactlyOneOf(vec!["dns_name", "uniform_resource_identifier"]));
            b
        })
}

/// The request body: everything configured, health checks as full self links, the draining
/// timeout in its `connectionDraining` object, and the fingerprint when updating. The
/// security policies are left out: only their own calls set them.
pub fn request(
    planned: &Value,
    project: &str,
    fingerprint: Option<&str>,
) -> Result<model::BackendService, ProviderError> {
    let mut j = cc::to_wire(&schema(), planned, renames());
    let Some(o) = j.as_object_mut() else {
        return Err(ProviderError::new(format!("{TYPE}: the planned value is not an object")));
    };
    o.remove("securityPolicy");
    o.remove("edgeSecurityPolicy");
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

/// Copies `path` (through single blocks) from `prior` into `v` where `v` holds that block.
fn keep_from_prior(v: &mut Value, prior: &Value, path: &[&str]) {
    let Some((name, rest)) = path.split_first() else { return };
    let Some(from) = prior.get(name) else { return };
    if rest.is_empty() {
        set(v, name, from.clone());
        return;
    }
    let (Some(Value::List(into)), Some(from)) = (v.get(name).cloned(), first_block(prior, name)) else { return };
    let Some(mut block) = into.into_iter().next() else { return };
    keep_from_prior(&mut block, from, rest);
    set(v, name, Value::List(vec![block]));
}

/// The provider's `suppressWhenDisabled`: with logging off, the sample rate the API holds is
/// not the configuration's business.
fn keep_sample_rate_when_disabled(v: &mut Value, prior: &Value) {
    let Some(log) = first_block(v, "log_config") else { return };
    if log.get("enable").and_then(Value::as_bool) == Some(true) {
        return;
    }
    if first_block(prior, "log_config").is_some_and(|p| p.get("sample_rate").is_some()) {
        keep_from_prior(v, prior, &["log_config", "sample_rate"]);
    }
}

/// Attaches (or with `None` detaches) a Cloud Armor policy: `edge` picks the edge policy.
async fn set_policy(
    call: &ComputeCall<'_, BackendServices>,
    edge: bool,
    policy: Option<&str>,
) -> Result<(), ProviderError> {
    let body: model::SecurityPolicyReference = match policy {
        Some(p) => cc::json_model(
            serde_json::json!({"securityPolicy": cc::expand_ref(call.project, "securityPolicies", p)}),
            TYPE,
        )?,
        None => cc::json_model(serde_json::json!({}), TYPE)?,
    };
    if edge {
        call.mutate("setEdgeSecurityPolicy", |rid| {
            call.client
                .set_edge_security_policy()
                .set_project(call.project)
                .set_backend_service(call.name)
                .set_request_id(rid)
                .set_body(body.clone())
                .send()
        })
        .await
    } else {
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
    }
    .map(|_| ())
}

/// The two policy attributes and whether each is the edge one.
const POLICIES: [(&str, bool); 2] = [("security_policy", false), ("edge_security_policy", true)];

/// The `backendServices` collection.
pub struct BackendServices;

pub type ComputeBackendService = ComputeResource<BackendServices>;

#[async_trait]
impl ComputeCollection for BackendServices {
    const TYPE: &'static str = TYPE;
    const COLLECTION: &'static str = COLLECTION;

    /// Estimate: a backend service's operation also attaches its backends (here a serverless
    /// NEG) and health checks; somewhat slower than the default compute operation.
    fn expected_durations() -> ExpectedDurations {
        ExpectedDurations::secs(20, 20, 20)
    }

    compute_sdk_calls!(BackendServices, BackendService, set_backend_service);

    fn schema() -> Schema {
        schema()
    }

    fn request(planned: &Value, project: &str, _name: &str) -> Result<Self::Model, ProviderError> {
        request(planned, project, None)
    }

    fn to_state(schema: &Schema, project: &str, bs: &Self::Model, prior: Option<&Value>) -> Value {
        let (j, mut v) = cc::state_from_model(schema, renames(), project, COLLECTION, bs);
        set(&mut v, "generated_id", cc::jid(&j, "id"));
        let draining =
            j.pointer("/connectionDraining/drainingTimeoutSec").and_then(serde_json::Value::as_f64).unwrap_or(0.0);
        set(&mut v, "connection_draining_timeout_sec", Value::from(draining));
        if let Some(prior) = prior {
            for path in UNREAD {
                keep_from_prior(&mut v, prior, path);
            }
            keep_sample_rate_when_disabled(&mut v, prior);
        }
        let v = cc::zero_values_as_prior(schema, v, prior);
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

    /// The policies are not part of the insert request.
    async fn after_insert(call: &ComputeCall<'_, Self>, planned: &Value) -> Result<(), ProviderError> {
        for (attr, edge) in POLICIES {
            if let Some(policy) = string(planned, attr) {
                set_policy(call, edge, Some(&policy)).await?;
            }
        }
        Ok(())
    }

    async fn update(
        call: &ComputeCall<'_, Self>,
        prior: &Value,
        planned: &Value,
        changed: &[AttrPath],
    ) -> Result<(), ProviderError> {
        let is_policy = |p: &AttrPath| POLICIES.iter().any(|(a, _)| p.top() == Some(*a));
        let others_changed = changed.iter().any(|p| !is_policy(p) && p.top() != Some("fingerprint"));
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
        for (attr, edge) in POLICIES {
            if changed.iter().any(|p| p.top() == Some(attr)) {
                set_policy(call, edge, string(planned, attr).as_deref()).await?;
            }
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
    fn every_documented_argument_and_block_validates() {
        cc::corpus::check_covers(TYPE, &schema());
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
                ("load_balancing_scheme", Value::from("EXTERNAL")),
                ("health_checks", Value::set(vec![Value::from("staging-backend-health-check")])),
            ]),
        )
    }

    #[test]
    fn names_against_self_links_and_computed_blocks_do_not_diff() {
        let t = ComputeBackendService::new(Arc::new(Shared::new(Default::default())));
        let prior_cfg = config();
        let v = t.schema().keep_client_only(&prior_cfg, t.to_state("p", &api(600), Some(&prior_cfg)));
        assert_eq!(v.get("health_checks"), Some(&Value::set(vec![Value::from("staging-backend-health-check")])));
        assert_eq!(v.get("generated_id"), Some(&Value::from("8123456789012345678")));
        assert_eq!(v.get("connection_draining_timeout_sec"), Some(&Value::from(300i64)));
        let mut prop = crate::schema::propose::propose(t.schema(), Some(&v), &config(), false);
        t.customize_plan(&mut prop).unwrap();
        let changed = crate::schema::diff::changed_paths(&v, &prop.planned);
        assert!(changed.is_empty(), "{changed:?}");
        // Imported (no prior): the API's self link is kept; configuring the name then is no change either.
        let imported = t.schema().keep_client_only(&prior_cfg, t.to_state("p", &api(600), None));
        assert!(imported
            .get("health_checks")
            .and_then(Value::as_list)
            .is_some_and(|l| l[0].as_str().is_some_and(|s| s.starts_with("https://"))));
        let mut prop = crate::schema::propose::propose(t.schema(), Some(&imported), &config(), false);
        t.customize_plan(&mut prop).unwrap();
        assert!(crate::schema::diff::changed_paths(&imported, &prop.planned).is_empty());
        // A timeout changed out of band is an in-place update with a fresh fingerprint.
        let drifted = t.schema().keep_client_only(&prior_cfg, t.to_state("p", &api(30), Some(&prior_cfg)));
        let mut prop = crate::schema::propose::propose(t.schema(), Some(&drifted), &config(), false);
        t.customize_plan(&mut prop).unwrap();
        assert!(prop.requires_replace.is_empty());
        assert_eq!(prop.planned.get("timeout_sec"), Some(&Value::from(600i64)));
        assert!(prop.planned.get("fingerprint").is_some_and(Value::is_unknown));
    }

    /// The IAP client secret given write-only is sent under the API's name, and never read back.
    #[test]
    fn write_only_iap_secrets_are_sent_from_the_configuration() {
        let iap = |pairs: Vec<(&str, Value)>| Value::List(vec![Value::map(pairs)]);
        let mut config = config();
        set(
            &mut config,
            "iap",
            iap(vec![
                ("enabled", Value::Bool(true)),
                ("oauth2_client_id_wo", Value::from("client.apps.googleusercontent.com")),
                ("oauth2_client_secret_wo", Value::from("s3cret")),
                ("oauth2_client_secret_wo_version", Value::from("1")),
            ]),
        );
        let t = ComputeBackendService::new(Arc::new(Shared::new(Default::default())));
        let planned = crate::schema::propose::propose(t.schema(), None, &config, false).planned;
        let iap_planned = first_block(&planned, "iap").unwrap();
        assert_eq!(iap_planned.get("oauth2_client_secret_wo"), Some(&Value::Null), "a plan never holds it");
        let j = cc::model_json(&request(&cc::with_write_only(t.schema(), &planned, &config), "p", None).unwrap());
        assert_eq!(j["iap"]["oauth2ClientSecret"], "s3cret");
        assert_eq!(j["iap"]["oauth2ClientId"], "client.apps.googleusercontent.com");
        assert!(j["iap"].get("oauth2ClientSecretWoVersion").is_none(), "{j}");
        let mut answer = cc::model_json(&api(600));
        answer["iap"] = serde_json::json!({"enabled": true, "oauth2ClientId": "client.apps.googleusercontent.com", "oauth2ClientSecretSha256": "abc"});
        let v = t.to_state("p", &serde_json::from_value(answer).unwrap(), Some(&planned));
        let iap_state = first_block(&v, "iap").unwrap();
        assert_eq!(iap_state.get("oauth2_client_id_wo"), Some(&Value::Null));
        assert_eq!(iap_state.get("oauth2_client_secret_wo"), Some(&Value::Null));
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
