//! `google_compute_target_http_proxy`: the plain-HTTP front of a global load balancer, routing
//! through a URL map (typically one that redirects every request to HTTPS).
//!
//! Built on the generated schema. What the definition leaves to hand-written code: the URL map
//! reference (`resourceref_with_validation`: a name, partial path or self link, sent as a full
//! URL and kept in state as written), and `setUrlMap`, the only in-place change (the resource is
//! otherwise immutable); its path has no `/global/` segment, as with HTTPS proxies.

use async_trait::async_trait;

use super::compute_collection::{compute_sdk_calls, ComputeCall, ComputeCollection, ComputeResource};
use super::compute_common::{self as cc, Renames};
use super::fields::{conform_to_schema, string};
use super::{mmv1, Shared};
use crate::addr::AttrPath;
use crate::lang::value::Value;
use crate::providers::{PlanProposal, ProviderError};
use crate::schema::{Schema, Validator};

const TYPE: &str = "google_compute_target_http_proxy";
const COLLECTION: &str = "targetHttpProxies";
const REFS: [&str; 1] = ["url_map"];

fn renames() -> Renames {
    mmv1::renames(TYPE)
}

pub fn schema() -> Schema {
    mmv1::schema(TYPE).modify("name", |a| {
        a.validate(Validator::Pattern { regex: cc::NAME_PATTERN, description: cc::NAME_DESCRIPTION })
    })
}

fn request(planned: &Value, project: &str) -> Result<google_cloud_compute_v1::model::TargetHttpProxy, ProviderError> {
    let mut j = cc::to_wire(&schema(), planned, renames());
    if let (Some(u), Some(o)) = (string(planned, "url_map"), j.as_object_mut()) {
        o.insert("urlMap".into(), cc::expand_ref(project, "urlMaps", &u).into());
    }
    cc::json_model(j, TYPE)
}

/// The `targetHttpProxies` collection.
pub struct TargetHttpProxies;

pub type ComputeTargetHttpProxy = ComputeResource<TargetHttpProxies>;

#[async_trait]
impl ComputeCollection for TargetHttpProxies {
    const TYPE: &'static str = TYPE;
    const COLLECTION: &'static str = COLLECTION;

    compute_sdk_calls!(TargetHttpProxies, TargetHttpProxy, set_target_http_proxy);

    fn schema() -> Schema {
        schema()
    }

    fn request(planned: &Value, project: &str, _name: &str) -> Result<Self::Model, ProviderError> {
        request(planned, project)
    }

    fn to_state(schema: &Schema, project: &str, p: &Self::Model, prior: Option<&Value>) -> Value {
        let (_, v) = cc::state_from_model(schema, renames(), project, COLLECTION, p);
        conform_to_schema(schema, cc::align_refs_to_prior(v, prior, &REFS))
    }

    fn customize_plan(schema: &Schema, shared: &Shared, p: &mut PlanProposal) -> Result<Vec<String>, ProviderError> {
        cc::plan_align_refs(p, schema, &REFS);
        cc::plan_identity(p, shared, COLLECTION);
        cc::plan_fingerprint(p);
        Ok(Vec::new())
    }

    /// `setUrlMap`: everything else replaces the proxy.
    async fn update(
        call: &ComputeCall<'_, Self>,
        _prior: &Value,
        planned: &Value,
        changed: &[AttrPath],
    ) -> Result<(), ProviderError> {
        if !changed.iter().any(|p| p.top() == Some("url_map")) {
            return Ok(());
        }
        let body = cc::url_map_reference(planned, call.project, TYPE)?;
        call.mutate("setUrlMap", |rid| {
            call.client
                .set_url_map()
                .set_project(call.project)
                .set_target_http_proxy(call.name)
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
    use crate::schema::validate::test_hcl;

    #[test]
    fn every_documented_argument_validates_and_the_name_is_checked() {
        let full = "resource \"google_compute_target_http_proxy\" \"p\" {\n  name = \"staging-http-redirect\"\n  description = \"HTTP to HTTPS\"\n  url_map = \"staging-http-redirect\"\n  proxy_bind = false\n  http_keep_alive_timeout_sec = 610\n  project = \"p\"\n  deletion_policy = \"DELETE\"\n}\n";
        assert_eq!(test_hcl::check(full, &schema()), Vec::<String>::new());
        let bad = full.replace("staging-http-redirect\"\n  description", "Bad_Name\"\n  description");
        let d = test_hcl::check(&bad, &schema());
        assert!(d.len() == 1 && d[0].contains("\"name\" must be 1 to 63 characters"), "{d:?}");
    }

    #[test]
    fn only_the_url_map_changes_in_place() {
        let s = schema();
        assert!(!s.attributes["url_map"].force_new);
        for name in ["name", "description", "proxy_bind", "http_keep_alive_timeout_sec"] {
            assert!(s.attributes[name].force_new, "{name}");
        }
        assert_eq!(s.attributes["proxy_id"].ty, crate::schema::AttrType::String, "an int64 id, kept exactly");
    }
}
