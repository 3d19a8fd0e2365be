//! `google_compute_region_network_endpoint_group`: a regional NEG, here mostly the serverless
//! kind that puts a Cloud Run service (or App Engine, Cloud Functions) behind a global load
//! balancer's backend service.
//!
//! Built on the generated schema; the object is immutable (every argument replaces). What the
//! definition leaves to hand-written code: the `region`, `network` and `subnetwork` references
//! (`resourceref_with_validation`: a name or a link, kept in state as written), the region as a
//! URL parameter rather than a body field (the API's `region` is output only), and the
//! single-resource limits compute.v1.json states (see [`check_endpoint_type`]).

use std::sync::Arc;

use async_trait::async_trait;

use super::compute_collection::{compute_sdk_calls, ComputeCall, ComputeCollection, ComputeResource};
use super::compute_common::{self as cc, Renames};
use super::fields::{conform_to_schema, set, string};
use super::{mmv1, Shared};
use crate::addr::AttrPath;
use crate::lang::value::Value;
use crate::providers::{ExpectedDurations, PlanProposal, ProviderError};
use crate::schema::{Rule, Schema, Validator};

pub const TYPE: &str = "google_compute_region_network_endpoint_group";
/// The path segment (`projects/{p}/regions/{r}/networkEndpointGroups/{name}`); the API
/// methods are `compute.regionNetworkEndpointGroups.*`.
pub const COLLECTION: &str = "networkEndpointGroups";
const REFS: [&str; 3] = ["region", "network", "subnetwork"];

/// The blocks that name a serverless backend.
pub const SERVERLESS_BLOCKS: [&str; 3] = ["cloud_run", "app_engine", "cloud_function"];

fn renames() -> Renames {
    mmv1::renames(TYPE)
}

pub fn schema() -> Schema {
    mmv1::schema(TYPE)
        .modify("name", |a| {
            a.validate(Validator::Pattern { regex: cc::NAME_PATTERN, description: cc::NAME_DESCRIPTION })
        })
        .modify("region", |a| {
            a.describe("The region (a name or a region link); a serverless NEG must be in its service's region.")
        })
        .rule(Rule::Custom(Arc::new(check_endpoint_type)))
}

/// What compute.v1.json says of `NetworkEndpointGroup`, which the API refuses only at apply
/// time: `cloudRun`, `appEngine` and `cloudFunction` are "Only valid when networkEndpointType
/// is SERVERLESS"; `pscTargetService` and `pscData` "Only valid when networkEndpointType is
/// PRIVATE_SERVICE_CONNECT"; `network` "cannot be set for NEGs with networkEndpointType set to
/// SERVERLESS or PRIVATE_SERVICE_CONNECT" (PSC NEGs take it in the provider's examples, so only
/// SERVERLESS is checked here); and a SERVERLESS NEG names one backend.
pub fn check_endpoint_type(config: &Value) -> Vec<(AttrPath, String)> {
    let endpoint_type = match config.get("network_endpoint_type").map(Value::peel) {
        Some(Value::Unknown(_)) => return Vec::new(),
        Some(Value::String(s)) => s.clone(),
        _ => "SERVERLESS".to_string(),
    };
    let is_set = |n: &str| match config.get(n).map(Value::peel) {
        Some(Value::List(items)) => !items.is_empty(),
        Some(Value::Null) | None => false,
        Some(_) => true,
    };
    let mut out = Vec::new();
    for block in SERVERLESS_BLOCKS {
        if is_set(block) && endpoint_type != "SERVERLESS" {
            out.push((
                AttrPath::attr(block),
                format!("{block} is only valid when network_endpoint_type is SERVERLESS (it is {endpoint_type}); set network_endpoint_type = \"SERVERLESS\" or remove the {block} block"),
            ));
        }
    }
    for field in ["psc_target_service", "psc_data"] {
        if is_set(field) && endpoint_type != "PRIVATE_SERVICE_CONNECT" {
            out.push((
                AttrPath::attr(field),
                format!("{field} is only valid when network_endpoint_type is PRIVATE_SERVICE_CONNECT (it is {endpoint_type}); set network_endpoint_type = \"PRIVATE_SERVICE_CONNECT\" or remove {field}"),
            ));
        }
    }
    if endpoint_type == "SERVERLESS" {
        for field in ["network", "subnetwork"] {
            if is_set(field) {
                out.push((
                    AttrPath::attr(field),
                    format!("{field} cannot be set on a SERVERLESS network endpoint group: a serverless backend is reached through Google's network, not a VPC; remove {field}"),
                ));
            }
        }
        if !SERVERLESS_BLOCKS.iter().any(|b| is_set(b)) {
            out.push((
                AttrPath::attr("network_endpoint_type"),
                "a SERVERLESS network endpoint group needs its backend: add a cloud_run { service = \"...\" } (or app_engine, cloud_function) block".to_string(),
            ));
        }
    }
    out
}

fn request(
    planned: &Value,
    project: &str,
    name: &str,
) -> Result<google_cloud_compute_v1::model::NetworkEndpointGroup, ProviderError> {
    let mut j = cc::to_wire(&schema(), planned, renames());
    if let Some(o) = j.as_object_mut() {
        // A URL parameter; the body's `region` is output only.
        o.remove("region");
        o.insert("name".into(), name.into());
        if let Some(n) = string(planned, "network") {
            o.insert("network".into(), cc::expand_ref(project, "networks", &n).into());
        }
        if let (Some(s), Some(region)) = (string(planned, "subnetwork"), string(planned, "region")) {
            let link = if s.contains('/') {
                cc::expand_ref(project, "subnetworks", &s)
            } else {
                format!(
                    "{}projects/{project}/regions/{}/subnetworks/{s}",
                    cc::SELF_LINK_PREFIX,
                    cc::short_name(&region)
                )
            };
            o.insert("subnetwork".into(), link.into());
        }
    }
    cc::json_model(j, TYPE)
}

/// The `regionNetworkEndpointGroups` collection.
pub struct RegionNetworkEndpointGroups;

pub type ComputeRegionNetworkEndpointGroup = ComputeResource<RegionNetworkEndpointGroups>;

#[async_trait]
impl ComputeCollection for RegionNetworkEndpointGroups {
    const TYPE: &'static str = TYPE;
    const COLLECTION: &'static str = COLLECTION;
    const METHODS: &'static str = "regionNetworkEndpointGroups";

    /// Estimate: a serverless NEG only names its Cloud Run service, a short region operation.
    fn expected_durations() -> ExpectedDurations {
        ExpectedDurations::secs(10, 10, 10)
    }

    compute_sdk_calls!(regional RegionNetworkEndpointGroups, NetworkEndpointGroup, set_network_endpoint_group);

    fn schema() -> Schema {
        schema()
    }

    fn request(planned: &Value, project: &str, name: &str) -> Result<Self::Model, ProviderError> {
        request(planned, project, name)
    }

    fn to_state(schema: &Schema, project: &str, m: &Self::Model, prior: Option<&Value>) -> Value {
        let (j, mut v) = cc::state_from_model(schema, renames(), project, COLLECTION, m);
        let region = cc::short_name(cc::jstr(&j, "region")).to_string();
        set(&mut v, "region", Value::string(region.clone()));
        set(&mut v, "id", Value::string(cc::regional_id(project, &region, COLLECTION, cc::jstr(&j, "name"))));
        // `psc_data.producer_port` is not read back (ignore_read): keep what was configured.
        if let Some(p) = prior.and_then(|p| p.get("psc_data")).filter(|p| !p.is_null()) {
            if p.as_list().is_some_and(|l| !l.is_empty()) {
                set(&mut v, "psc_data", p.clone());
            }
        }
        let v = cc::zero_values_as_prior(schema, v, prior);
        conform_to_schema(schema, cc::align_refs_to_prior(v, prior, &REFS))
    }

    fn customize_plan(schema: &Schema, shared: &Shared, p: &mut PlanProposal) -> Result<Vec<String>, ProviderError> {
        cc::plan_align_refs(p, schema, &REFS);
        cc::plan_identity_in(p, shared, COLLECTION, true);
        Ok(Vec::new())
    }

    /// Nothing changes in place: every argument replaces the group.
    async fn update(
        _call: &ComputeCall<'_, Self>,
        _prior: &Value,
        _planned: &Value,
        changed: &[AttrPath],
    ) -> Result<(), ProviderError> {
        let sent: Vec<String> = changed.iter().map(|c| c.to_string()).collect();
        if sent.iter().all(|c| c == "deletion_policy" || c == "timeouts" || c.starts_with("timeouts.")) {
            return Ok(());
        }
        Err(ProviderError::new(format!(
            "{TYPE}: {} cannot change in place; the group must be replaced",
            sent.join(", ")
        )))
    }

    fn cloud_name(shared: &Shared, planned: &Value) -> Option<String> {
        let name = string(planned, "name")?;
        let project = shared.planned_project(planned)?;
        let region = string(planned, "region")?;
        Some(cc::regional_id(&project, cc::short_name(&region), COLLECTION, &name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::ResourceType;
    use crate::schema::validate::test_hcl;

    fn diags(body: &str) -> Vec<String> {
        let src = format!("resource \"{TYPE}\" \"n\" {{\n{body}}}\n");
        test_hcl::check(&src, &schema())
    }

    #[test]
    fn every_documented_argument_and_block_validates() {
        cc::corpus::check_covers(TYPE, &schema());
    }

    #[test]
    fn the_endpoint_type_decides_which_blocks_are_valid() {
        let serverless =
            "  name = \"api-neg\"\n  region = \"us-central1\"\n  cloud_run {\n    service = \"api\"\n  }\n";
        assert_eq!(diags(serverless), Vec::<String>::new());
        let d = diags("  name = \"api-neg\"\n  region = \"us-central1\"\n  network_endpoint_type = \"INTERNET_FQDN_PORT\"\n  cloud_run {\n    service = \"api\"\n  }\n");
        assert!(
            d.len() == 1 && d[0].contains("cloud_run is only valid when network_endpoint_type is SERVERLESS"),
            "{d:?}"
        );
        assert!(d[0].starts_with("main.tf:5:"), "located at the block: {d:?}");
        let d = diags("  name = \"api-neg\"\n  region = \"us-central1\"\n");
        assert!(d.len() == 1 && d[0].contains("needs its backend"), "{d:?}");
        let d = diags("  name = \"api-neg\"\n  region = \"us-central1\"\n  network = \"default\"\n  cloud_run {\n    service = \"api\"\n  }\n");
        assert!(d.len() == 1 && d[0].contains("network cannot be set on a SERVERLESS"), "{d:?}");
        let psc = "  name = \"psc\"\n  region = \"us-central1\"\n  network_endpoint_type = \"PRIVATE_SERVICE_CONNECT\"\n  psc_target_service = \"asia-northeast3-cloudkms.googleapis.com\"\n";
        assert_eq!(diags(psc), Vec::<String>::new());
        let d = diags("  name = \"x\"\n  region = \"us-central1\"\n  psc_target_service = \"a.googleapis.com\"\n  cloud_run {\n    service = \"api\"\n  }\n");
        assert!(d.len() == 1 && d[0].contains("psc_target_service is only valid"), "{d:?}");
    }

    #[test]
    fn everything_replaces_and_timeouts_are_the_providers() {
        let s = schema();
        for (name, a) in &s.attributes {
            let configurable = (a.required || a.optional) && !a.client_only;
            assert_eq!(configurable, a.force_new, "{name}");
        }
        let t = ComputeRegionNetworkEndpointGroup::new(Arc::new(Shared::new(Default::default())));
        assert_eq!(t.default_timeouts().create, Some(std::time::Duration::from_secs(20 * 60)));
        assert_eq!(t.default_timeouts().delete, Some(std::time::Duration::from_secs(20 * 60)));
        assert_eq!(
            ComputeCall::<RegionNetworkEndpointGroups>::method("insert"),
            "compute.regionNetworkEndpointGroups.insert"
        );
    }

    #[test]
    fn the_request_names_the_network_by_link_and_leaves_the_region_to_the_url() {
        let planned = Value::map([
            ("name", Value::from("psc")),
            ("region", Value::from("us-central1")),
            ("network_endpoint_type", Value::from("PRIVATE_SERVICE_CONNECT")),
            ("network", Value::from("default")),
            ("subnetwork", Value::from("sub")),
        ]);
        let j = cc::model_json(&request(&planned, "p", "psc").unwrap());
        assert!(j.get("region").is_none(), "{j}");
        assert_eq!(j["network"], "https://www.googleapis.com/compute/v1/projects/p/global/networks/default");
        assert_eq!(
            j["subnetwork"],
            "https://www.googleapis.com/compute/v1/projects/p/regions/us-central1/subnetworks/sub"
        );
    }

    #[test]
    fn regional_import_ids() {
        let parse = |id| cc::parse_regional_import_id(id, COLLECTION, Some("dp"), Some("dr"));
        let full = ("p".to_string(), "r".to_string(), "n".to_string());
        assert_eq!(parse("projects/p/regions/r/networkEndpointGroups/n").unwrap(), full);
        assert_eq!(
            parse("https://www.googleapis.com/compute/v1/projects/p/regions/r/networkEndpointGroups/n").unwrap(),
            full
        );
        assert_eq!(parse("p/r/n").unwrap(), full);
        assert_eq!(parse("r/n").unwrap(), ("dp".into(), "r".into(), "n".into()));
        assert_eq!(parse("n").unwrap(), ("dp".into(), "dr".into(), "n".into()));
        assert!(parse("projects/p/global/networkEndpointGroups/n").is_err());
        assert!(cc::parse_regional_import_id("n", COLLECTION, Some("dp"), None).is_err());
    }
}
