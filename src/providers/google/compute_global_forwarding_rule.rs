//! `google_compute_global_forwarding_rule`: the front end of a global load balancer, an IP
//! and port sending traffic to a target HTTP(S) proxy.
//!
//! Built on the generated schema. In place, as the definition says: `target` (`setTarget`),
//! `labels` (`setLabels` under `label_fingerprint`, non-authoritative as for addresses: set
//! after the insert, as Terraform's post-create step does), and `load_balancing_scheme` with the
//! backend-bucket migration fields (`patch`); everything else replaces. What the definition
//! leaves to hand-written code: `ip_address` (`InternalIpDiffSuppress`: the API resolves an
//! address reference to its IP number, so a configured reference stays in state as written),
//! `port_range` (`PortRangeDiffSuppress`: `443` and `443-443` are the same), the `target`,
//! `network` and `subnetwork` references, and the port limits of [`check_port_range`].

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;

use async_trait::async_trait;
use google_cloud_compute_v1::model;

use super::compute_collection::{compute_sdk_calls, ComputeCall, ComputeCollection, ComputeResource};
use super::compute_common::{self as cc, Renames};
use super::fields::{self, conform_to_schema, set, string};
use super::{mmv1, Shared};
use crate::addr::AttrPath;
use crate::lang::value::Value;
use crate::providers::{ExpectedDurations, PlanProposal, ProviderError};
use crate::schema::{Rule, Schema, Validator};

pub const TYPE: &str = "google_compute_global_forwarding_rule";
/// The path segment (`projects/{p}/global/forwardingRules/{name}`); the API methods are
/// `compute.globalForwardingRules.*`.
pub const COLLECTION: &str = "forwardingRules";
const REFS: [&str; 3] = ["target", "network", "subnetwork"];
/// What `patch` changes (the definition's `update_verb: PATCH` fields).
const PATCHED: [&str; 3] = [
    "load_balancing_scheme",
    "external_managed_backend_bucket_migration_state",
    "external_managed_backend_bucket_migration_testing_percentage",
];

fn renames() -> Renames {
    mmv1::renames(TYPE)
}

pub fn schema() -> Schema {
    mmv1::schema(TYPE)
        .modify("name", |a| {
            a.validate(Validator::Pattern { regex: cc::NAME_PATTERN, description: cc::NAME_DESCRIPTION })
        })
        .modify("ip_address", |a| {
            a.equivalent(same_ip_address)
                .describe("An IP literal, or a global address (its id or self link): the API resolves it to its IP.")
        })
        .modify("port_range", |a| a.equivalent(same_port_range))
        .modify("ip_protocol", |a| a.equivalent(same_ignoring_case))
        .modify("target", |a| a.describe("The target HTTP or HTTPS proxy (its id or self link)."))
        .rule(Rule::Custom(Arc::new(check_port_range)))
}

/// Terraform's `InternalIpDiffSuppress`: an IP number in state and a reference in the
/// configuration name the same address (the API returns the number for a reference).
fn same_ip_address(configured: &Value, prior: &Value) -> bool {
    let is_ip = |v: &Value| v.as_str().is_some_and(|s| s.parse::<IpAddr>().is_ok());
    configured == prior || (is_ip(prior) && !is_ip(configured) && !configured.is_null())
}

/// Terraform's `PortRangeDiffSuppress`: `443` is `443-443`.
fn same_port_range(configured: &Value, prior: &Value) -> bool {
    let norm = |v: &Value| {
        v.as_str().map(|s| match s.split_once('-') {
            Some((a, b)) if a == b => a.to_string(),
            _ => s.to_string(),
        })
    };
    configured == prior || (norm(configured).is_some() && norm(configured) == norm(prior))
}

fn same_ignoring_case(configured: &Value, prior: &Value) -> bool {
    match (configured.as_str(), prior.as_str()) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        _ => configured == prior,
    }
}

/// `port_range` as compute.v1.json's `ForwardingRule.portRange` takes it (`@pattern:
/// \d+(?:-\d+)?`, ports 1 to 65535), and as a target proxy's forwarding rule needs it: a single
/// port ("Forwarding rules overview", port specifications,
/// https://cloud.google.com/load-balancing/docs/forwarding-rule-concepts#port_specifications:
/// an Application Load Balancer's forwarding rule "references a single port").
pub fn check_port_range(config: &Value) -> Vec<(AttrPath, String)> {
    let Some(Value::String(range)) = config.get("port_range").map(Value::peel) else { return Vec::new() };
    let at = || AttrPath::attr("port_range");
    let parse = |s: &str| s.parse::<u32>().ok().filter(|p| (1..=65535).contains(p));
    let (lo, hi) = match range.split_once('-') {
        None => (parse(range), parse(range)),
        Some((a, b)) => (parse(a), parse(b)),
    };
    let (Some(lo), Some(hi)) = (lo, hi) else {
        return vec![(at(), format!("port_range \"{range}\" is not a port (1-65535) or a range of ports \"LOW-HIGH\", e.g. \"443\" or \"8000-8080\""))];
    };
    if lo > hi {
        return vec![(at(), format!("port_range \"{range}\" starts after it ends; write it as \"{hi}-{lo}\""))];
    }
    let to_proxy = match config.get("target").map(Value::peel) {
        Some(Value::String(t)) => t.contains("targetHttpProxies/") || t.contains("targetHttpsProxies/"),
        _ => false,
    };
    if to_proxy && lo != hi {
        return vec![(at(), format!("port_range \"{range}\" is a range, but a forwarding rule to a target HTTP(S) proxy takes a single port: use e.g. \"443\" (HTTPS) or \"80\" (HTTP)"))];
    }
    Vec::new()
}

fn request(planned: &Value, project: &str, name: &str) -> Result<model::ForwardingRule, ProviderError> {
    let mut j = cc::to_wire(&schema(), planned, renames());
    if let Some(o) = j.as_object_mut() {
        o.remove("labels");
        o.insert("name".into(), name.into());
        if let Some(t) = string(planned, "target") {
            o.insert("target".into(), expand_partial(project, &t).into());
        }
        if let Some(n) = string(planned, "network") {
            o.insert("network".into(), cc::expand_ref(project, "networks", &n).into());
        }
        if let Some(s) = string(planned, "subnetwork") {
            o.insert("subnetwork".into(), expand_partial(project, &s).into());
        }
        if let Some(ip) = string(planned, "ip_address") {
            let literal = ip.parse::<IpAddr>().is_ok() || ip.contains("::/") || !ip.contains('/');
            o.insert("IPAddress".into(), if literal { ip } else { expand_partial(project, &ip) }.into());
        }
    }
    cc::json_model(j, TYPE)
}

/// A reference with a path (`projects/p/global/…`, `global/…`, a link) as a full link; the
/// collection is in the path, so a bare name is sent as written.
fn expand_partial(project: &str, r: &str) -> String {
    if r.contains('/') {
        cc::expand_ref(project, "", r)
    } else {
        r.to_string()
    }
}

/// `setLabels` through the collection's fingerprinted call.
async fn set_labels(
    call: &ComputeCall<'_, GlobalForwardingRules>,
    fingerprint: Option<String>,
    labels: BTreeMap<String, String>,
) -> Result<(), ProviderError> {
    call.set_labels_fingerprinted(fingerprint, &labels, |body| {
        call.client.set_labels().set_project(call.project).set_resource(call.name).set_body(body).send()
    })
    .await
}

/// The `globalForwardingRules` collection.
pub struct GlobalForwardingRules;

pub type ComputeGlobalForwardingRule = ComputeResource<GlobalForwardingRules>;

#[async_trait]
impl ComputeCollection for GlobalForwardingRules {
    const TYPE: &'static str = TYPE;
    const COLLECTION: &'static str = COLLECTION;
    const METHODS: &'static str = "globalForwardingRules";

    /// Estimate: a global forwarding rule is programmed into Google's front ends worldwide; its
    /// operation is among the slowest of the load balancer's (tens of seconds in users' logs).
    fn expected_durations() -> ExpectedDurations {
        ExpectedDurations::secs(30, 30, 30)
    }

    compute_sdk_calls!(GlobalForwardingRules, ForwardingRule, set_forwarding_rule);

    fn schema() -> Schema {
        schema()
    }

    fn request(planned: &Value, project: &str, name: &str) -> Result<Self::Model, ProviderError> {
        request(planned, project, name)
    }

    fn to_state(schema: &Schema, project: &str, m: &Self::Model, prior: Option<&Value>) -> Value {
        let (j, mut v) = cc::state_from_model(schema, renames(), project, COLLECTION, m);
        set(&mut v, "forwarding_rule_id", cc::jid(&j, "id"));
        let live: HashMap<String, String> = m.labels.clone();
        let prior_labels = prior.map(|p| p.get("labels").unwrap_or(&Value::Null));
        let labels = fields::managed_subset(&live, prior_labels);
        set(&mut v, "terraform_labels", Value::object(labels.as_map().cloned().unwrap_or_default()));
        set(&mut v, "labels", labels);
        set(&mut v, "effective_labels", fields::full_map(&live));
        if let Some(p) = prior {
            // InternalIpDiffSuppress: the configured reference stays as written.
            if let (Some(configured), Some(live_ip)) = (p.get("ip_address"), v.get("ip_address")) {
                if same_ip_address(configured, live_ip) {
                    set(&mut v, "ip_address", configured.clone());
                }
            }
            // An omitted port range reads back as the API's default for the target
            // (`80-80`, `443-443`); the argument is not computed, so keep it unset.
            if p.get("port_range").is_some_and(Value::is_null) {
                set(&mut v, "port_range", Value::Null);
            }
            for name in ["port_range", "ip_protocol"] {
                if let (Some(configured), Some(live)) = (p.get(name).cloned(), v.get(name)) {
                    let same = if name == "port_range" {
                        same_port_range(&configured, live)
                    } else {
                        same_ignoring_case(&configured, live)
                    };
                    if same && !configured.is_null() {
                        set(&mut v, name, configured);
                    }
                }
            }
            // Not read back (ignore_read): what was configured.
            set(&mut v, "no_automate_dns_zone", p.get("no_automate_dns_zone").cloned().unwrap_or(Value::Null));
        }
        let v = cc::zero_values_as_prior(schema, v, prior);
        conform_to_schema(schema, cc::align_refs_to_prior(v, prior, &REFS))
    }

    fn customize_plan(schema: &Schema, shared: &Shared, p: &mut PlanProposal) -> Result<Vec<String>, ProviderError> {
        cc::plan_align_refs(p, schema, &REFS);
        cc::plan_identity(p, shared, COLLECTION);
        cc::plan_labels(p);
        Ok(Vec::new())
    }

    /// `setTarget`, `setLabels` and `patch` (the load-balancing scheme and the migration
    /// fields); everything else replaces the rule.
    async fn update(
        call: &ComputeCall<'_, Self>,
        prior: &Value,
        planned: &Value,
        changed: &[AttrPath],
    ) -> Result<(), ProviderError> {
        let touched = |names: &[&str]| changed.iter().any(|c| c.top().is_some_and(|t| names.contains(&t)));
        if touched(&["target"]) {
            let target = fields::required_string(planned, "target", TYPE)?;
            let body = cc::json_model::<model::TargetReference>(
                serde_json::json!({"target": expand_partial(call.project, &target)}),
                TYPE,
            )?;
            call.mutate("setTarget", |rid| {
                call.client
                    .set_target()
                    .set_project(call.project)
                    .set_forwarding_rule(call.name)
                    .set_request_id(rid)
                    .set_body(body.clone())
                    .send()
            })
            .await?;
        }
        if touched(&PATCHED) {
            let mut j = cc::to_wire(&schema(), planned, renames());
            if let Some(o) = j.as_object_mut() {
                let keep: Vec<String> = PATCHED.iter().map(|n| fields::json_name(n)).collect();
                o.retain(|k, _| keep.contains(k));
            }
            let body = cc::json_model::<model::ForwardingRule>(j, TYPE)?;
            call.mutate("patch", |rid| {
                call.client
                    .patch()
                    .set_project(call.project)
                    .set_forwarding_rule(call.name)
                    .set_request_id(rid)
                    .set_body(body.clone())
                    .send()
            })
            .await?;
        }
        if touched(&["labels", "effective_labels", "terraform_labels"]) {
            set_labels(
                call,
                string(prior, "label_fingerprint"),
                fields::effective_to_send(planned, "effective_labels", "labels"),
            )
            .await?;
        }
        Ok(())
    }

    async fn after_insert(call: &ComputeCall<'_, Self>, planned: &Value) -> Result<(), ProviderError> {
        let labels = fields::effective_to_send(planned, "effective_labels", "labels");
        if labels.is_empty() {
            return Ok(());
        }
        let live = call.get().await?;
        let fingerprint = cc::jstr(&cc::model_json(&live), "labelFingerprint").to_string();
        set_labels(call, Some(fingerprint), labels).await
    }

    fn cloud_name(shared: &Shared, planned: &Value) -> Option<String> {
        let name = string(planned, "name")?;
        let project = shared.planned_project(planned)?;
        Some(cc::global_id(&project, COLLECTION, &name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::ResourceType;
    use crate::schema::validate::test_hcl;

    fn diags(body: &str) -> Vec<String> {
        let src = format!("resource \"{TYPE}\" \"f\" {{\n{body}}}\n");
        test_hcl::check(&src, &schema())
    }

    #[test]
    fn every_documented_argument_and_block_validates() {
        cc::corpus::check_covers(TYPE, &schema());
    }

    #[test]
    fn target_labels_and_the_scheme_change_in_place_everything_else_replaces() {
        let s = schema();
        let in_place = ["target", "labels", "load_balancing_scheme"];
        for (name, a) in &s.attributes {
            let configurable = (a.required || a.optional) && !a.client_only;
            let expected = configurable && !in_place.contains(name) && !PATCHED.contains(name);
            assert_eq!(expected, a.force_new, "{name}");
        }
        assert_eq!(s.attributes["load_balancing_scheme"].default, Some(Value::from("EXTERNAL_MANAGED")));
        let t = ComputeGlobalForwardingRule::new(Arc::new(Shared::new(Default::default())));
        assert_eq!(t.default_timeouts().update, Some(std::time::Duration::from_secs(20 * 60)));
        assert_eq!(
            ComputeCall::<GlobalForwardingRules>::method("setTarget"),
            "compute.globalForwardingRules.setTarget"
        );
    }

    #[test]
    fn port_ranges_are_checked_at_plan_time() {
        let base = "  name = \"https\"\n  target = \"projects/p/global/targetHttpsProxies/px\"\n";
        assert_eq!(diags(&format!("{base}  port_range = \"443\"\n")), Vec::<String>::new());
        assert_eq!(diags(&format!("{base}  port_range = \"443-443\"\n")), Vec::<String>::new());
        for (bad, says) in [
            ("80-90", "takes a single port"),
            ("https", "is not a port"),
            ("0", "is not a port"),
            ("70000", "is not a port"),
            ("90-80", "starts after it ends"),
        ] {
            let d = diags(&format!("{base}  port_range = \"{bad}\"\n"));
            assert!(d.len() == 1 && d[0].contains(says) && d[0].starts_with("main.tf:4:"), "{bad}: {d:?}");
        }
    }

    #[test]
    fn an_address_reference_and_its_ip_are_the_same_and_443_is_443_443() {
        assert!(same_ip_address(&Value::from("projects/p/global/addresses/lb"), &Value::from("203.0.113.1")));
        assert!(!same_ip_address(&Value::from("198.51.100.1"), &Value::from("203.0.113.1")));
        assert!(same_port_range(&Value::from("443"), &Value::from("443-443")));
        assert!(!same_port_range(&Value::from("443"), &Value::from("80-80")));
    }

    #[test]
    fn state_keeps_the_configured_forms_of_the_address_and_the_port_range() {
        let live: model::ForwardingRule = serde_json::from_value(serde_json::json!({
            "name": "https", "IPAddress": "203.0.113.1", "portRange": "443-443", "IPProtocol": "TCP",
            "target": "https://www.googleapis.com/compute/v1/projects/p/global/targetHttpsProxies/px",
            "loadBalancingScheme": "EXTERNAL_MANAGED", "id": "123"
        }))
        .unwrap();
        let prior = |ip: Value, ports: Value| {
            Value::map([
                ("name", Value::from("https")),
                ("ip_address", ip),
                ("port_range", ports),
                ("target", Value::from("projects/p/global/targetHttpsProxies/px")),
            ])
        };
        let s = schema();
        let v = GlobalForwardingRules::to_state(
            &s,
            "p",
            &live,
            Some(&prior(Value::from("projects/p/global/addresses/lb"), Value::from("443"))),
        );
        assert_eq!(v.get("ip_address"), Some(&Value::from("projects/p/global/addresses/lb")));
        assert_eq!(v.get("port_range"), Some(&Value::from("443")));
        assert_eq!(v.get("target"), Some(&Value::from("projects/p/global/targetHttpsProxies/px")));
        assert_eq!(v.get("forwarding_rule_id"), Some(&Value::from("123")));
        let v = GlobalForwardingRules::to_state(&s, "p", &live, Some(&prior(Value::Null, Value::Null)));
        assert_eq!(v.get("ip_address"), Some(&Value::from("203.0.113.1")), "an ephemeral address is read back");
        assert_eq!(v.get("port_range"), Some(&Value::Null));
        let imported = GlobalForwardingRules::to_state(&s, "p", &live, None);
        assert_eq!(imported.get("port_range"), Some(&Value::from("443-443")));
    }

    #[test]
    fn the_request_sends_links_and_leaves_labels_for_set_labels() {
        let planned = Value::map([
            ("name", Value::from("https")),
            ("target", Value::from("projects/p/global/targetHttpsProxies/px")),
            ("ip_address", Value::from("projects/p/global/addresses/lb")),
            ("port_range", Value::from("443")),
            ("labels", Value::map([("env", Value::from("x"))])),
        ]);
        let j = cc::model_json(&request(&planned, "p", "https").unwrap());
        assert_eq!(j["target"], "https://www.googleapis.com/compute/v1/projects/p/global/targetHttpsProxies/px");
        assert_eq!(j["IPAddress"], "https://www.googleapis.com/compute/v1/projects/p/global/addresses/lb");
        assert!(j.get("labels").is_none(), "{j}");
        let literal = Value::map([("name", Value::from("x")), ("ip_address", Value::from("203.0.113.9"))]);
        assert_eq!(cc::model_json(&request(&literal, "p", "x").unwrap())["IPAddress"], "203.0.113.9");
    }
}
