//! `google_compute_target_https_proxy`: terminates TLS for a global HTTPS load balancer with
//! its certificates, then routes through a URL map.
//!
//! In-place changes go through the proxy's `set*` actions, as Terraform does: `setUrlMap` and
//! `setSslCertificates` (paths without `/global/` — the SDK uses the documented paths),
//! `setQuicOverride` and `setSslPolicy`. Swapping a certificate is therefore an update of the
//! proxy, which lets the engine order create_before_destroy as new certificate → proxy
//! updated → old certificate deleted.

use std::sync::Arc;

use async_trait::async_trait;
use google_cloud_compute_v1::model;

use super::compute_collection::{compute_sdk_calls, ComputeCall, ComputeCollection, ComputeResource};
use super::compute_common::{self as cc, Renames};
use super::fields::{conform_to_schema, set, string};
use super::{mmv1, Shared};
use crate::addr::AttrPath;
use crate::lang::value::Value;
use crate::providers::{PlanProposal, ProviderError};
use crate::schema::{AttrType, Attribute, Schema, Validator};

const TYPE: &str = "google_compute_target_https_proxy";
const COLLECTION: &str = "targetHttpsProxies";
pub const MAX_CERTIFICATES: usize = 15;

const REFS: [&str; 5] =
    ["url_map", "ssl_certificates", "ssl_policy", "certificate_manager_certificates", "server_tls_policy"];
/// Certificate Manager certificates travel in `sslCertificates` under this host (the
/// provider's encoder and decoder).
const CERTIFICATE_MANAGER: &str = "certificatemanager.googleapis.com";

fn renames() -> Renames {
    mmv1::renames(TYPE)
}

fn check_certificates(v: &Value) -> Result<(), String> {
    let n = v.as_list().map_or(0, <[Value]>::len);
    if n > MAX_CERTIFICATES {
        return Err(format!("lists {n} certificates; a target HTTPS proxy takes at most {MAX_CERTIFICATES} (use a certificate map for more)"));
    }
    Ok(())
}

/// The generated schema, and what magic-modules leaves to hand-written code: the name pattern
/// and the certificate limit (the API refuses more at apply time).
pub fn schema() -> Schema {
    let id = |a: Attribute| Attribute {
        ty: AttrType::String,
        ..a.describe("The API's numeric id (a string: it exceeds 2^53).")
    };
    mmv1::schema(TYPE)
        .modify("name", |a| {
            a.validate(Validator::Pattern { regex: cc::NAME_PATTERN, description: cc::NAME_DESCRIPTION })
        })
        .modify("url_map", |a| a.describe("The URL map (name or self link); changed with setUrlMap."))
        .modify("ssl_certificates", |a| {
            a.validate(Validator::Custom(Arc::new(check_certificates)))
                .describe("Up to 15 certificates (names or self links); changed with setSslCertificates.")
        })
        .modify("ssl_policy", |a| a.describe("An SSL policy (name or self link); changed with setSslPolicy."))
        .modify("proxy_id", id)
}

/// The provider's `certificate_manager_certificate_construct_full_url`: a full URL is sent as
/// written, an id (`projects/…/certificates/c`) becomes the Certificate Manager URL.
fn certificate_manager_url(c: &str) -> String {
    if c.starts_with("//") || c.starts_with("https://") {
        c.to_string()
    } else {
        format!("//{CERTIFICATE_MANAGER}/{}", c.trim_start_matches('/'))
    }
}

/// What `sslCertificates` carries: the compute certificates as self links, or the Certificate
/// Manager ones as their URLs (the two are exclusive).
fn cert_links(planned: &Value, project: &str) -> Vec<String> {
    let list = |name: &str| planned.get(name).and_then(Value::as_list).unwrap_or(&[]).iter().filter_map(Value::as_str);
    list("ssl_certificates")
        .map(|c| cc::expand_ref(project, "sslCertificates", c))
        .chain(list("certificate_manager_certificates").map(certificate_manager_url))
        .collect()
}

pub fn request(planned: &Value, project: &str) -> Result<model::TargetHttpsProxy, ProviderError> {
    let mut j = cc::to_wire(&schema(), planned, renames());
    if let Some(o) = j.as_object_mut() {
        o.remove("certificateManagerCertificates");
        if let Some(u) = string(planned, "url_map") {
            o.insert("urlMap".into(), cc::expand_ref(project, "urlMaps", &u).into());
        }
        let certs = cert_links(planned, project);
        if !certs.is_empty() {
            o.insert("sslCertificates".into(), certs.into());
        }
        if let Some(p) = string(planned, "ssl_policy") {
            o.insert("sslPolicy".into(), cc::expand_ref(project, "sslPolicies", &p).into());
        }
    }
    cc::json_model(j, TYPE)
}

/// One of the proxy's `set*` actions (`setUrlMap`, `setSslCertificates`, …), sent through the
/// collection's operation framing; the SDK gives each its own builder, hence a macro.
macro_rules! set_action {
    ($call:expr, $verb:literal, $method:ident, $body:expr) => {
        $call
            .mutate($verb, |rid| {
                $call
                    .client
                    .$method()
                    .set_project($call.project)
                    .set_target_https_proxy($call.name)
                    .set_request_id(rid)
                    .set_body($body.clone())
                    .send()
            })
            .await?
    };
}

/// The `targetHttpsProxies` collection.
pub struct TargetHttpsProxies;

pub type ComputeTargetHttpsProxy = ComputeResource<TargetHttpsProxies>;

#[async_trait]
impl ComputeCollection for TargetHttpsProxies {
    const TYPE: &'static str = TYPE;
    const COLLECTION: &'static str = COLLECTION;

    compute_sdk_calls!(TargetHttpsProxies, TargetHttpsProxy, set_target_https_proxy);

    fn schema() -> Schema {
        schema()
    }

    fn request(planned: &Value, project: &str, _name: &str) -> Result<Self::Model, ProviderError> {
        request(planned, project)
    }

    fn to_state(schema: &Schema, project: &str, p: &Self::Model, prior: Option<&Value>) -> Value {
        let (j, mut v) = cc::state_from_model(schema, renames(), project, COLLECTION, p);
        set(&mut v, "proxy_id", cc::jid(&j, "id"));
        let (manager, compute): (Vec<Value>, Vec<Value>) = v
            .get("ssl_certificates")
            .and_then(Value::as_list)
            .unwrap_or(&[])
            .iter()
            .cloned()
            .partition(|c| c.as_str().is_some_and(|c| c.contains(CERTIFICATE_MANAGER)));
        let or_null = |l: Vec<Value>| if l.is_empty() { Value::Null } else { Value::List(l) };
        set(&mut v, "ssl_certificates", or_null(compute));
        set(&mut v, "certificate_manager_certificates", or_null(manager));
        let v = cc::zero_values_as_prior(schema, v, prior);
        let v = cc::align_refs_to_prior(v, prior, &REFS);
        conform_to_schema(schema, v)
    }

    fn customize_plan(schema: &Schema, shared: &Shared, p: &mut PlanProposal) -> Result<Vec<String>, ProviderError> {
        cc::plan_align_refs(p, schema, &REFS);
        cc::plan_identity(p, shared, COLLECTION);
        cc::plan_fingerprint(p);
        Ok(Vec::new())
    }

    async fn update(
        call: &ComputeCall<'_, Self>,
        prior: &Value,
        planned: &Value,
        changed: &[AttrPath],
    ) -> Result<(), ProviderError> {
        let project = call.project;
        let touched = |a: &str| changed.iter().any(|p| p.top() == Some(a));
        if touched("ssl_certificates") || touched("certificate_manager_certificates") {
            let body: model::TargetHttpsProxiesSetSslCertificatesRequest =
                cc::json_model(serde_json::json!({"sslCertificates": cert_links(planned, project)}), TYPE)?;
            set_action!(call, "setSslCertificates", set_ssl_certificates, body);
        }
        if touched("url_map") {
            let body = cc::url_map_reference(planned, project, TYPE)?;
            set_action!(call, "setUrlMap", set_url_map, body);
        }
        if touched("quic_override") {
            let q = string(planned, "quic_override").unwrap_or_else(|| "NONE".into());
            let body: model::TargetHttpsProxiesSetQuicOverrideRequest =
                cc::json_model(serde_json::json!({"quicOverride": q}), TYPE)?;
            set_action!(call, "setQuicOverride", set_quic_override, body);
        }
        if touched("ssl_policy") {
            let j = match string(planned, "ssl_policy") {
                Some(p) => serde_json::json!({"sslPolicy": cc::expand_ref(project, "sslPolicies", &p)}),
                None => serde_json::json!({}),
            };
            let body: model::SslPolicyReference = cc::json_model(j, TYPE)?;
            set_action!(call, "setSslPolicy", set_ssl_policy, body);
        }
        if touched("certificate_map") {
            let body: model::TargetHttpsProxiesSetCertificateMapRequest =
                cc::json_model(serde_json::json!({"certificateMap": string(planned, "certificate_map")}), TYPE)?;
            set_action!(call, "setCertificateMap", set_certificate_map, body);
        }
        if touched("server_tls_policy") {
            // The field's update is a PATCH of the proxy, with the fingerprint read last.
            let body: model::TargetHttpsProxy = cc::json_model(
                serde_json::json!({
                    "serverTlsPolicy": string(planned, "server_tls_policy"),
                    "fingerprint": string(prior, "fingerprint"),
                }),
                TYPE,
            )?;
            set_action!(call, "patch", patch, body);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::ResourceType;
    use crate::schema::validate::test_hcl;

    fn diags(src: &str) -> Vec<String> {
        test_hcl::check(src, &schema())
    }

    #[test]
    fn every_documented_argument_and_block_validates() {
        cc::corpus::check_covers(TYPE, &schema());
    }

    #[test]
    fn at_most_fifteen_certificates_and_known_quic_values() {
        let proxy = |certs: usize, quic: &str| {
            let list: Vec<String> = (0..certs).map(|i| format!("\"c{i}\"")).collect();
            format!("resource \"google_compute_target_https_proxy\" \"p\" {{\n  name = \"staging-https-proxy\"\n  url_map = \"m\"\n  ssl_certificates = [{}]\n  quic_override = \"{quic}\"\n}}\n", list.join(", "))
        };
        assert_eq!(diags(&proxy(15, "ENABLE")), Vec::<String>::new());
        let d = diags(&proxy(16, "NONE"));
        assert!(d.len() == 1 && d[0].starts_with("main.tf:4:") && d[0].contains("at most 15"), "{d:?}");
        assert_eq!(diags(&proxy(1, "AUTO")).len(), 1);
    }

    #[test]
    fn certificates_by_name_match_the_apis_self_links() {
        let t = ComputeTargetHttpsProxy::new(Arc::new(Shared::new(Default::default())));
        let config = conform_to_schema(
            &schema(),
            Value::map([
                ("name", Value::from("staging-https-proxy")),
                ("url_map", Value::from("staging-url-map")),
                ("ssl_certificates", Value::List(vec![Value::from("staging-netrasystems-ai-cert")])),
                ("quic_override", Value::from("NONE")),
            ]),
        );
        let body = cc::model_json(&request(&config, "p").unwrap());
        assert_eq!(body["urlMap"], "https://www.googleapis.com/compute/v1/projects/p/global/urlMaps/staging-url-map");
        assert_eq!(
            body["sslCertificates"][0],
            "https://www.googleapis.com/compute/v1/projects/p/global/sslCertificates/staging-netrasystems-ai-cert"
        );
        let mut answer = body.clone();
        answer["name"] = "staging-https-proxy".into();
        answer["id"] = "42".into();
        answer["fingerprint"] = "Zm9v".into();
        answer["tlsEarlyData"] = "DISABLED".into();
        let api: model::TargetHttpsProxy = serde_json::from_value(answer).unwrap();
        let v = t.schema().keep_client_only(&config, t.to_state("p", &api, Some(&config)));
        assert_eq!(v.get("ssl_certificates"), Some(&Value::List(vec![Value::from("staging-netrasystems-ai-cert")])));
        assert_eq!(v.get("proxy_id"), Some(&Value::from("42")));
        let mut prop = crate::schema::propose::propose(t.schema(), Some(&v), &config, false);
        t.customize_plan(&mut prop).unwrap();
        assert!(crate::schema::diff::changed_paths(&v, &prop.planned).is_empty());
        // A new certificate is an in-place update (setSslCertificates), never a replacement.
        let mut swapped = config.clone();
        set(&mut swapped, "ssl_certificates", Value::List(vec![Value::from("cert-v2")]));
        let mut prop = crate::schema::propose::propose(t.schema(), Some(&v), &swapped, false);
        t.customize_plan(&mut prop).unwrap();
        assert!(prop.requires_replace.is_empty());
        assert_eq!(
            crate::schema::diff::changed_paths(&v, &prop.planned).iter().map(|p| p.to_string()).collect::<Vec<_>>(),
            vec!["fingerprint".to_string(), "ssl_certificates".to_string()]
        );
    }
}
