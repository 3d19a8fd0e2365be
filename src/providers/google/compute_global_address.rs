//! `google_compute_global_address`: a reserved global IP (the front of a global HTTPS load
//! balancer) or an internal range for VPC peering and Private Service Connect.
//!
//! Every argument replaces except `labels`, which change through `setLabels` under the
//! address's `label_fingerprint`. Labels are non-authoritative as in Terraform: `labels` holds
//! the keys the configuration manages, `effective_labels` every label on the address, and
//! `setLabels` sends the whole effective set so labels set elsewhere stay. Terraform sets labels
//! after the insert (its `labels` post-create step), and so does Cairn.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use google_cloud_compute_v1::model;

use super::compute_collection::{compute_sdk_calls, ComputeCall, ComputeCollection, ComputeResource};
use super::compute_common::{self as cc, Renames};
use super::fields::{self, conform_to_schema, set, string};
use super::{mmv1, Shared};
use crate::addr::AttrPath;
use crate::lang::value::Value;
use crate::providers::{ExpectedDurations, PlanProposal, ProviderError};
use crate::schema::{Schema, Validator};

const TYPE: &str = "google_compute_global_address";
/// The path segment (`projects/{p}/global/addresses/{name}`); the API methods are
/// `compute.globalAddresses.*`.
const COLLECTION: &str = "addresses";
const NETWORKS: &str = "networks";
const REFS: [&str; 1] = ["network"];

/// The provider suppresses the diff between an unset `ip_version` and the API's `IPV4`.
const DEFAULT_IP_VERSION: &str = "IPV4";

fn renames() -> Renames {
    mmv1::renames(TYPE)
}

/// The generated schema, and what magic-modules leaves to hand-written code: the name pattern,
/// `EmptyOrDefaultStringSuppress("IPV4")` on `ip_version`, and the values the API takes for
/// `purpose` and `prefix_length` (it refuses the rest only at apply time).
pub fn schema() -> Schema {
    mmv1::schema(TYPE)
        .modify("name", |a| {
            a.validate(Validator::Pattern { regex: cc::NAME_PATTERN, description: cc::NAME_DESCRIPTION })
        })
        .modify("address", |a| {
            a.describe("The IP (or first IP of the range) to reserve; the API picks one when unset.")
        })
        .modify("labels", |a| {
            a.describe("Labels this configuration manages (non-authoritative; see effective_labels).")
        })
        .modify("ip_version", |a| a.equivalent(same_ip_version).describe("IPV4 (the API's default) or IPV6."))
        .modify("prefix_length", |a| {
            a.validate(Validator::Range { min: 8.0, max: 128.0 })
                .describe("The range's prefix length; unset for a single address.")
        })
        .modify("purpose", |a| {
            a.validate(Validator::OneOf(vec!["VPC_PEERING", "PRIVATE_SERVICE_CONNECT"]))
                .describe("For INTERNAL addresses: VPC_PEERING or PRIVATE_SERVICE_CONNECT.")
        })
        .modify("network", |a| {
            a.describe("For INTERNAL addresses: the network (name or self link) the range is reserved in.")
        })
        .modify("project", |a| a.describe("Defaults to the provider's project."))
        .modify("effective_labels", |a| a.describe("Every label on the address, including ones set outside Cairn."))
        .modify("terraform_labels", |a| a.describe("The labels Cairn manages."))
}

/// The insert request: every configured argument but labels (set afterwards, see the module
/// notes), the network as a full URL.
pub fn request(schema: &Schema, planned: &Value, project: &str, name: &str) -> Result<model::Address, ProviderError> {
    let mut j = cc::to_wire(schema, planned, renames());
    if let Some(o) = j.as_object_mut() {
        o.remove("labels");
    }
    j["name"] = serde_json::Value::String(name.to_string());
    if let Some(network) = string(planned, "network") {
        j["network"] = serde_json::Value::String(cc::expand_ref(project, NETWORKS, &network));
    }
    cc::json_model(j, TYPE)
}

/// `setLabels` through the collection's fingerprinted call.
async fn set_labels(
    call: &ComputeCall<'_, GlobalAddresses>,
    fingerprint: Option<String>,
    labels: BTreeMap<String, String>,
) -> Result<(), ProviderError> {
    call.set_labels_fingerprinted(fingerprint, &labels, |body| {
        call.client.set_labels().set_project(call.project).set_resource(call.name).set_body(body).send()
    })
    .await
}

/// The `globalAddresses` collection.
pub struct GlobalAddresses;

pub type ComputeGlobalAddress = ComputeResource<GlobalAddresses>;

#[async_trait]
impl ComputeCollection for GlobalAddresses {
    const TYPE: &'static str = TYPE;
    const COLLECTION: &'static str = COLLECTION;
    const METHODS: &'static str = "globalAddresses";

    /// Estimate: reserving a global address is a short compute operation.
    fn expected_durations() -> ExpectedDurations {
        ExpectedDurations::secs(10, 10, 10)
    }

    compute_sdk_calls!(GlobalAddresses, Address, set_address);

    fn schema() -> Schema {
        schema()
    }

    fn request(planned: &Value, project: &str, name: &str) -> Result<Self::Model, ProviderError> {
        request(&schema(), planned, project, name)
    }

    fn to_state(schema: &Schema, project: &str, address: &Self::Model, prior: Option<&Value>) -> Value {
        let (_, mut v) = cc::state_from_model(schema, renames(), project, COLLECTION, address);
        let live: HashMap<String, String> = address.labels.clone();
        let prior_labels = prior.map(|p| p.get("labels").unwrap_or(&Value::Null));
        let labels = fields::managed_subset(&live, prior_labels);
        set(&mut v, "terraform_labels", Value::object(labels.as_map().cloned().unwrap_or_default()));
        set(&mut v, "labels", labels);
        set(&mut v, "effective_labels", fields::full_map(&live));
        if let Some(p) = prior {
            let configured_unset = p.get("ip_version").is_none_or(Value::is_null);
            if configured_unset && string(&v, "ip_version").as_deref() == Some(DEFAULT_IP_VERSION) {
                set(&mut v, "ip_version", Value::Null);
            }
        }
        let v = cc::align_refs_to_prior(v, prior, &REFS);
        conform_to_schema(schema, v)
    }

    fn customize_plan(schema: &Schema, shared: &Shared, p: &mut PlanProposal) -> Result<Vec<String>, ProviderError> {
        cc::plan_align_refs(p, schema, &REFS);
        cc::plan_identity(p, shared, COLLECTION);
        cc::plan_labels(p);
        Ok(Vec::new())
    }

    /// Only labels change in place.
    async fn update(
        call: &ComputeCall<'_, Self>,
        prior: &Value,
        planned: &Value,
        changed: &[AttrPath],
    ) -> Result<(), ProviderError> {
        let labels_changed =
            changed.iter().any(|c| matches!(c.top(), Some("labels" | "effective_labels" | "terraform_labels")));
        if labels_changed {
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

/// Terraform's DiffSuppressFunc for `ip_version`: unset, empty and `IPV4` (the API's
/// default) are the same, in either direction (an imported address holds `IPV4`).
fn same_ip_version(configured: &Value, prior: &Value) -> bool {
    let is_default = |v: &Value| match v.peel() {
        Value::Null => true,
        Value::String(s) => s.is_empty() || s == DEFAULT_IP_VERSION,
        _ => false,
    };
    configured == prior || (is_default(configured) && is_default(prior))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::providers::ResourceType;
    use crate::schema::validate::test_hcl;

    fn diags(body: &str) -> Vec<String> {
        let src = format!("resource \"google_compute_global_address\" \"a\" {{\n{body}}}\n");
        test_hcl::check(&src, &schema())
    }

    #[test]
    fn every_documented_argument_and_block_validates() {
        cc::corpus::check_covers(TYPE, &schema());
    }

    #[test]
    fn arguments_are_checked_at_plan_time() {
        assert_eq!(diags("  name = \"staging-lb-ip\"\n"), Vec::<String>::new());
        assert_eq!(
            diags("  name = \"r\"\n  address_type = \"INTERNAL\"\n  purpose = \"VPC_PEERING\"\n  prefix_length = 16\n  network = \"default\"\n  ip_version = \"IPV4\"\n"),
            Vec::<String>::new()
        );
        let bad_name = diags("  name = \"Staging_IP\"\n");
        assert!(bad_name.len() == 1 && bad_name[0].starts_with("main.tf:2:"), "{bad_name:?}");
        assert_eq!(diags(&format!("  name = \"{}\"\n", "a".repeat(64))).len(), 1);
        for bad in [
            "  address_type = \"PUBLIC\"\n",
            "  ip_version = \"IPV5\"\n",
            "  purpose = \"NAT_AUTO\"\n",
            "  prefix_length = 4\n",
            "  prefix_length = 129\n",
        ] {
            let d = diags(&format!("  name = \"a\"\n{bad}"));
            assert!(d.len() == 1 && d[0].starts_with("main.tf:3:"), "{bad}: {d:?}");
        }
    }

    #[test]
    fn everything_but_labels_replaces() {
        let s = schema();
        for (name, a) in &s.attributes {
            // deletion_policy is Terraform-only: changing it changes no address.
            let configurable = (a.required || a.optional) && !a.client_only;
            assert_eq!(configurable && *name != "labels", a.force_new, "{name}");
        }
        let t = ComputeGlobalAddress::new(Arc::new(Shared::new(Default::default())));
        assert_eq!(t.default_timeouts().create, Some(std::time::Duration::from_secs(20 * 60)));
        assert_eq!(t.default_timeouts().update, Some(std::time::Duration::from_secs(20 * 60)));
        assert_eq!(t.default_timeouts().delete, Some(std::time::Duration::from_secs(20 * 60)));
        assert_eq!(ComputeCall::<GlobalAddresses>::method("insert"), "compute.globalAddresses.insert");
    }

    fn api(labels: serde_json::Value) -> model::Address {
        serde_json::from_value(serde_json::json!({
            "kind": "compute#address", "id": "8123456789012345678", "name": "staging-lb-ip",
            "address": "203.0.113.1", "addressType": "EXTERNAL", "ipVersion": "IPV4", "status": "RESERVED",
            "networkTier": "PREMIUM", "labels": labels, "labelFingerprint": "vezUS-42LLM=",
            "selfLink": "https://www.googleapis.com/compute/v1/projects/p/global/addresses/staging-lb-ip",
            "creationTimestamp": "2026-01-01T00:00:00.000-07:00"
        }))
        .unwrap()
    }

    fn config(labels: Option<Value>, extra: &[(&str, Value)]) -> Value {
        let mut m = vec![("name", Value::from("staging-lb-ip")), ("project", Value::from("p"))];
        if let Some(l) = labels {
            m.push(("labels", l));
        }
        m.extend(extra.iter().cloned());
        conform_to_schema(&schema(), Value::map(m))
    }

    /// What a refresh stores: the API's object, and the Terraform-only arguments of `source`
    /// (the plan or the prior state), as the core keeps them.
    fn read(t: &ComputeGlobalAddress, live: &model::Address, prior: Option<&Value>, source: &Value) -> Value {
        t.schema().keep_client_only(source, t.to_state("p", live, prior))
    }

    fn plan(t: &ComputeGlobalAddress, prior: &Value, config: &Value) -> PlanProposal {
        let mut prop = crate::schema::propose::propose(t.schema(), Some(prior), config, false);
        prop.changed = crate::schema::diff::changed_paths(prior, &prop.planned);
        t.customize_plan(&mut prop).unwrap();
        prop
    }

    #[test]
    fn state_from_the_api_plans_no_change_and_keeps_foreign_labels() {
        let t = ComputeGlobalAddress::new(Arc::new(Shared::new(Default::default())));
        let labels = Value::map([("env", Value::from("staging"))]);
        let cfg = config(Some(labels.clone()), &[]);
        // The API also carries a label set outside Cairn.
        let live = api(serde_json::json!({"env": "staging", "owner": "netops"}));
        let v = read(&t, &live, Some(&cfg), &cfg);
        assert_eq!(v.get("id"), Some(&Value::from("projects/p/global/addresses/staging-lb-ip")));
        assert_eq!(v.get("address"), Some(&Value::from("203.0.113.1")));
        assert_eq!(v.get("label_fingerprint"), Some(&Value::from("vezUS-42LLM=")));
        assert_eq!(v.get("labels"), Some(&labels));
        assert_eq!(v.get("terraform_labels"), Some(&labels));
        assert_eq!(v.get("effective_labels").and_then(Value::as_map).map(|m| m.len()), Some(2));
        assert_eq!(v.get("ip_version"), Some(&Value::Null), "the API's IPV4 reads as the unset default");
        let prop = plan(&t, &v, &cfg);
        assert!(prop.requires_replace.is_empty(), "{:?}", prop.requires_replace);
        let changed = crate::schema::diff::changed_paths(&v, &prop.planned);
        assert!(changed.is_empty(), "{changed:?}");
        // A refresh of the refreshed state is the same state.
        assert_eq!(read(&t, &live, Some(&v), &v), v);

        // A new label value updates in place; the foreign label stays in the effective set.
        let cfg2 = config(Some(Value::map([("env", Value::from("prod"))])), &[]);
        let prop = plan(&t, &v, &cfg2);
        assert!(prop.requires_replace.is_empty(), "{:?}", prop.requires_replace);
        assert_eq!(
            fields::effective_to_send(&prop.planned, "effective_labels", "labels"),
            BTreeMap::from([("env".to_string(), "prod".to_string()), ("owner".to_string(), "netops".to_string())])
        );
        assert!(prop.planned.get("label_fingerprint").is_some_and(Value::is_unknown));

        // A new name, or an explicit IPV6, replaces; an explicit IPV4 does not.
        let renamed =
            conform_to_schema(&schema(), Value::map([("name", Value::from("other")), ("labels", labels.clone())]));
        assert!(!plan(&t, &v, &renamed).requires_replace.is_empty());
        let v6 = config(Some(labels.clone()), &[("ip_version", Value::from("IPV6"))]);
        assert!(!plan(&t, &v, &v6).requires_replace.is_empty());
        let v4 = config(Some(labels.clone()), &[("ip_version", Value::from("IPV4"))]);
        let prop = plan(&t, &v, &v4);
        assert!(prop.requires_replace.is_empty(), "{:?}", prop.requires_replace);
    }

    #[test]
    fn an_import_takes_every_label_and_plans_clean_against_a_config_without_ip_version() {
        let t = ComputeGlobalAddress::new(Arc::new(Shared::new(Default::default())));
        let cfg = config(Some(Value::map([("env", Value::from("staging"))])), &[]);
        let v = read(&t, &api(serde_json::json!({"env": "staging"})), None, &cfg);
        assert_eq!(v.get("ip_version"), Some(&Value::from("IPV4")));
        assert_eq!(v.get("labels"), Some(&Value::map([("env", Value::from("staging"))])));
        let prop = plan(&t, &v, &cfg);
        assert!(prop.requires_replace.is_empty(), "{:?}", prop.requires_replace);
        let changed = crate::schema::diff::changed_paths(&v, &prop.planned);
        assert!(changed.is_empty(), "{changed:?}");
    }

    #[test]
    fn request_carries_arguments_and_a_full_network_url_but_no_labels() {
        let planned = config(
            Some(Value::map([("env", Value::from("x"))])),
            &[
                ("address_type", Value::from("INTERNAL")),
                ("purpose", Value::from("VPC_PEERING")),
                ("prefix_length", Value::from(16.0)),
                ("network", Value::from("default")),
                ("description", Value::from("peering range")),
            ],
        );
        let j = cc::model_json(&request(&schema(), &planned, "p", "staging-lb-ip").unwrap());
        assert_eq!(j["name"], "staging-lb-ip");
        assert_eq!(j["addressType"], "INTERNAL");
        assert_eq!(j["purpose"], "VPC_PEERING");
        assert_eq!(j["prefixLength"], 16);
        assert_eq!(j["description"], "peering range");
        assert_eq!(j["network"], "https://www.googleapis.com/compute/v1/projects/p/global/networks/default");
        assert!(j.get("labels").is_none_or(|l| l.as_object().is_some_and(|m| m.is_empty())), "{j}");
    }

    #[test]
    fn a_network_self_link_in_state_matches_a_configured_name() {
        let t = ComputeGlobalAddress::new(Arc::new(Shared::new(Default::default())));
        let mut live = cc::model_json(&api(serde_json::json!({})));
        live["addressType"] = "INTERNAL".into();
        live["purpose"] = "VPC_PEERING".into();
        live["prefixLength"] = 16.into();
        live["network"] = "https://www.googleapis.com/compute/v1/projects/p/global/networks/default".into();
        let live: model::Address = serde_json::from_value(live).unwrap();
        let cfg = config(
            None,
            &[
                ("address_type", Value::from("INTERNAL")),
                ("purpose", Value::from("VPC_PEERING")),
                ("prefix_length", Value::from(16.0)),
                ("network", Value::from("default")),
            ],
        );
        let v = read(&t, &live, Some(&cfg), &cfg);
        let prop = plan(&t, &v, &cfg);
        assert!(prop.requires_replace.is_empty(), "{:?}", prop.requires_replace);
        assert!(crate::schema::diff::changed_paths(&v, &prop.planned).is_empty());
    }
}
