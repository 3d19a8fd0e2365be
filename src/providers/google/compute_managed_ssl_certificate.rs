//! `google_compute_managed_ssl_certificate`: a Google-managed certificate for global HTTPS
//! load balancers.
//!
//! Certificates are immutable: every argument replaces. Provisioning finishes only once DNS
//! for every domain points at a load balancer that serves the certificate, so create returns
//! while it is still PROVISIONING; `managed[0].status` and `managed[0].domain_status` expose
//! progress to `check` blocks and outputs. Changing domains on a certificate a proxy uses
//! needs `create_before_destroy` and a name that changes with the domains (or no name: Cairn
//! then generates a unique one), as Terraform documents.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use google_cloud_compute_v1::model;

use super::compute_collection::{compute_sdk_calls, ComputeCall, ComputeCollection, ComputeResource};
use super::compute_common::{self as cc, Renames};
use super::fields::{conform_to_schema, first_block, set, string};
use super::{mmv1, Shared};
use crate::addr::AttrPath;
use crate::lang::config::Timeouts;
use crate::lang::value::Value;
use crate::providers::{ExpectedDurations, PlanProposal, ProviderError};
use crate::schema::{AttrType, Attribute, Schema, Validator};

const TYPE: &str = "google_compute_managed_ssl_certificate";
const COLLECTION: &str = "sslCertificates";
pub const MAX_DOMAINS: usize = 100;

fn renames() -> Renames {
    mmv1::renames(TYPE)
}

/// Why `domain` cannot be on a managed certificate, if it cannot.
pub fn domain_problem(domain: &str) -> Option<String> {
    let d = domain.strip_suffix('.').unwrap_or(domain);
    if d.is_empty() {
        return Some("is empty".into());
    }
    if d.contains('*') {
        return Some(
            "is a wildcard; Google-managed certificates cannot cover wildcard domains: list each host name".into(),
        );
    }
    if d.chars().any(|c| c.is_ascii_uppercase()) {
        return Some(format!("has uppercase letters; write it in lowercase (\"{}\")", d.to_ascii_lowercase()));
    }
    if d.len() > 253 {
        return Some("is longer than 253 characters".into());
    }
    if !d.contains('.') {
        return Some("is not a fully qualified domain name (e.g. staging.example.com)".into());
    }
    for label in d.split('.') {
        if label.is_empty() {
            return Some("has an empty label (two dots in a row, or a leading dot)".into());
        }
        if label.len() > 63 {
            return Some(format!("has a label longer than 63 characters (\"{label}\")"));
        }
        if !label.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
            return Some(format!(
                "has a label with characters other than lowercase letters, digits and hyphens (\"{label}\")"
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Some(format!("has a label that starts or ends with a hyphen (\"{label}\")"));
        }
    }
    None
}

fn check_domains(v: &Value) -> Result<(), String> {
    let items = v.as_list().unwrap_or(&[]);
    if items.is_empty() {
        return Err("must list at least one domain".into());
    }
    if items.len() > MAX_DOMAINS {
        return Err(format!("lists {} domains; a managed certificate covers at most {MAX_DOMAINS}: split them over several certificates", items.len()));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, x) in items.iter().enumerate() {
        let Some(d) = x.as_str() else { continue };
        if let Some(p) = domain_problem(d) {
            return Err(format!("element {i} (\"{d}\") {p}"));
        }
        if !seen.insert(d.trim_end_matches('.')) {
            return Err(format!("lists \"{d}\" twice"));
        }
    }
    Ok(())
}

/// The generated schema, and what magic-modules leaves to hand-written code: the domains'
/// checks and `AbsoluteDomainSuppress` (a trailing dot is the same domain), the name pattern,
/// a generated name when none is configured (so create_before_destroy works), and the
/// provisioning status the API reports, for `check` blocks and outputs.
pub fn schema() -> Schema {
    mmv1::schema(TYPE)
        .modify("name", |a| Attribute {
            computed: true,
            ..a.validate(Validator::Pattern { regex: cc::NAME_PATTERN, description: cc::NAME_DESCRIPTION })
                .describe("The certificate's name; when unset Cairn generates a unique one (which lets create_before_destroy work).")
        })
        .modify("project", |a| a.describe("Defaults to the provider's project."))
        .modify("certificate_id", |a| Attribute {
            ty: AttrType::String,
            ..a.describe("The API's numeric id (a string: it exceeds 2^53).")
        })
        .modify("managed.domains", |a| {
            a.equivalent(same_domains)
                .validate(Validator::Custom(Arc::new(check_domains)))
                .describe("Up to 100 host names (no wildcards) the certificate covers.")
        })
        .modify_block("managed", |mut b| {
            b.min_items = 1;
            b.block = b
                .block
                .attr(
                    "status",
                    Attribute::computed(AttrType::String).describe(
                        "PROVISIONING, ACTIVE, PROVISIONING_FAILED, PROVISIONING_FAILED_PERMANENTLY or RENEWAL_FAILED.",
                    ),
                )
                .attr(
                    "domain_status",
                    Attribute::computed(AttrType::Map(Box::new(AttrType::String)))
                        .describe("Domain → PROVISIONING, ACTIVE, FAILED_NOT_VISIBLE, FAILED_CAA_CHECKING, …"),
                );
            b
        })
}

/// The configured domains, with the prior's spelling where the two differ only by a
/// trailing dot (the API keeps what it was sent; Terraform suppresses that diff).
fn align_domains(new: &[Value], old: &[Value]) -> Vec<Value> {
    let bare = |v: &Value| v.as_str().map(|s| s.trim_end_matches('.').to_string());
    new.iter()
        .map(|n| old.iter().find(|o| bare(o).is_some() && bare(o) == bare(n)).cloned().unwrap_or_else(|| n.clone()))
        .collect()
}

/// Domains the API treats as the same: equal but for a trailing dot, in order.
fn same_domains(configured: &Value, prior: &Value) -> bool {
    match (configured.as_list(), prior.as_list()) {
        (Some(c), Some(p)) => c.len() == p.len() && align_domains(c, p) == p,
        _ => false,
    }
}

fn domains_of(v: &Value) -> Vec<Value> {
    first_block(v, "managed")
        .and_then(|m| m.get("domains"))
        .and_then(Value::as_list)
        .map(<[Value]>::to_vec)
        .unwrap_or_default()
}

fn with_domains(v: &mut Value, domains: Vec<Value>) {
    if let Some(Value::List(items)) = v.as_map().and_then(|m| m.get("managed")).cloned() {
        let mut items = items;
        if let Some(first) = items.first_mut() {
            set(first, "domains", Value::List(domains));
        }
        set(v, "managed", Value::List(items));
    }
}

/// The request body; `name` is the configured one or the one Cairn generated.
pub fn request(planned: &Value, name: &str) -> Result<model::SslCertificate, ProviderError> {
    let mut j = cc::to_wire(&schema(), planned, renames());
    if let Some(o) = j.as_object_mut() {
        o.insert("name".into(), serde_json::Value::String(name.to_string()));
    }
    cc::json_model(j, TYPE)
}

/// A name for a certificate configured without one: unique, so that a replacement can exist
/// next to the certificate it replaces.
fn generated_name() -> String {
    format!("cairn-cert-{}", &uuid::Uuid::new_v4().simple().to_string()[..16])
}

/// The `sslCertificates` collection, for Google-managed certificates.
pub struct ManagedSslCertificates;

pub type ComputeManagedSslCertificate = ComputeResource<ManagedSslCertificates>;

#[async_trait]
impl ComputeCollection for ManagedSslCertificates {
    const TYPE: &'static str = TYPE;
    const COLLECTION: &'static str = COLLECTION;

    /// The create returns once the certificate object exists (the provider's documentation:
    /// it "will return as soon as the certificate object is created"); provisioning (30 to 60
    /// minutes in users' reports) happens afterwards and no step waits for it. A compute
    /// operation, shorter than most: the default figure's lower end.
    fn expected_durations() -> ExpectedDurations {
        ExpectedDurations::secs(10, 10, 10)
    }

    compute_sdk_calls!(SslCertificates, SslCertificate, set_ssl_certificate);

    fn schema() -> Schema {
        schema()
    }

    fn request(planned: &Value, _project: &str, name: &str) -> Result<Self::Model, ProviderError> {
        request(planned, name)
    }

    fn to_state(schema: &Schema, project: &str, cert: &Self::Model, prior: Option<&Value>) -> Value {
        let (j, mut v) = cc::state_from_model(schema, renames(), project, COLLECTION, cert);
        set(&mut v, "certificate_id", cc::jid(&j, "id"));
        if let Some(p) = prior {
            let aligned = align_domains(&domains_of(&v), &domains_of(p));
            with_domains(&mut v, aligned);
        }
        conform_to_schema(schema, v)
    }

    fn customize_plan(_schema: &Schema, shared: &Shared, p: &mut PlanProposal) -> Result<Vec<String>, ProviderError> {
        cc::plan_identity(p, shared, COLLECTION);
        Ok(Vec::new())
    }

    /// Nothing updates in place; the engine replaces instead. Reached only if a plan was made
    /// against a different schema: the object is re-read.
    async fn update(
        _call: &ComputeCall<'_, Self>,
        _prior: &Value,
        _planned: &Value,
        _changed: &[AttrPath],
    ) -> Result<(), ProviderError> {
        Ok(())
    }

    fn create_name(planned: &Value) -> Result<String, ProviderError> {
        Ok(string(planned, "name")
            .filter(|_| !planned.get("name").is_some_and(Value::is_unknown))
            .unwrap_or_else(generated_name))
    }

    fn default_timeouts() -> Timeouts {
        let t = Some(Duration::from_secs(30 * 60));
        Timeouts { create: t, update: None, delete: t, read: None }
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

    fn diags(src: &str) -> Vec<String> {
        test_hcl::check(src, &schema())
    }

    fn cert(name: &str, domains: &str) -> String {
        format!("resource \"google_compute_managed_ssl_certificate\" \"c\" {{\n  name = \"{name}\"\n  managed {{\n    domains = [{domains}]\n  }}\n}}\n")
    }

    #[test]
    fn every_documented_argument_and_block_validates() {
        cc::corpus::check_covers(TYPE, &schema());
    }

    #[test]
    fn domains_are_checked_at_plan_time() {
        assert_eq!(
            diags(&cert(
                "staging-netrasystems-ai-cert",
                "\"staging.netrasystems.ai\", \"api-staging.netrasystems.ai\""
            )),
            Vec::<String>::new()
        );
        assert_eq!(diags(&cert("c", "\"staging.netrasystems.ai.\"")), Vec::<String>::new(), "a trailing dot is fine");
        let wildcard = diags(&cert("c", "\"*.netrasystems.ai\""));
        assert!(
            wildcard.len() == 1 && wildcard[0].starts_with("main.tf:4:") && wildcard[0].contains("wildcard"),
            "{wildcard:?}"
        );
        let upper = diags(&cert("c", "\"Staging.netrasystems.ai\""));
        assert!(upper.len() == 1 && upper[0].contains("lowercase"), "{upper:?}");
        let label = diags(&cert("c", &format!("\"{}.netrasystems.ai\"", "a".repeat(64))));
        assert!(label.len() == 1 && label[0].contains("63"), "{label:?}");
        let bad_chars = diags(&cert("c", "\"staging_1.netrasystems.ai\""));
        assert!(bad_chars.len() == 1 && bad_chars[0].contains("characters other than"), "{bad_chars:?}");
        let many: Vec<String> = (0..101).map(|i| format!("\"h{i}.example.com\"")).collect();
        let d = diags(&cert("c", &many.join(", ")));
        assert!(d.len() == 1 && d[0].contains("at most 100"), "{d:?}");
        let empty = diags(&cert("c", ""));
        assert!(empty.len() == 1 && empty[0].contains("at least one"), "{empty:?}");
        let dup = diags(&cert("c", "\"a.example.com\", \"a.example.com.\""));
        assert!(dup.len() == 1 && dup[0].contains("twice"), "{dup:?}");
        let bad_name = diags(&cert("Staging_Cert", "\"a.example.com\""));
        assert!(bad_name.len() == 1 && bad_name[0].starts_with("main.tf:2:"), "{bad_name:?}");
        let long_name = diags(&cert(&"a".repeat(64), "\"a.example.com\""));
        assert_eq!(long_name.len(), 1, "{long_name:?}");
        let bad_type = diags("resource \"google_compute_managed_ssl_certificate\" \"c\" {\n  type = \"SELF_MANAGED\"\n  managed {\n    domains = [\"a.example.com\"]\n  }\n}\n");
        assert_eq!(bad_type.len(), 1, "{bad_type:?}");
    }

    fn api() -> model::SslCertificate {
        serde_json::from_value(serde_json::json!({
            "kind": "compute#sslCertificate", "id": "8123456789012345678", "name": "staging-netrasystems-ai-cert", "type": "MANAGED",
            "selfLink": "https://www.googleapis.com/compute/v1/projects/p/global/sslCertificates/staging-netrasystems-ai-cert",
            "creationTimestamp": "2026-01-01T00:00:00.000-07:00",
            "managed": {"domains": ["staging.netrasystems.ai", "api-staging.netrasystems.ai"], "status": "PROVISIONING",
                        "domainStatus": {"staging.netrasystems.ai": "PROVISIONING", "api-staging.netrasystems.ai": "ACTIVE"}},
            "subjectAlternativeNames": ["staging.netrasystems.ai", "api-staging.netrasystems.ai"]
        }))
        .unwrap()
    }

    #[test]
    fn provisioning_status_is_readable_and_plans_clean() {
        let t = ComputeManagedSslCertificate::new(Arc::new(Shared::new(Default::default())));
        let v = t.to_state("p", &api(), None);
        // What the refresh stores: the API's object, and the configuration's Terraform-only arguments.
        let v = t.schema().keep_client_only(&Value::map([("deletion_policy", Value::from("DELETE"))]), v);
        let managed = first_block(&v, "managed").unwrap();
        assert_eq!(managed.get("status"), Some(&Value::from("PROVISIONING")));
        assert_eq!(
            managed.get("domain_status").and_then(|m| m.get("api-staging.netrasystems.ai")),
            Some(&Value::from("ACTIVE"))
        );
        assert_eq!(v.get("certificate_id"), Some(&Value::from("8123456789012345678")));
        assert_eq!(v.get("type"), Some(&Value::from("MANAGED")));
        // The configuration spelled a domain with a trailing dot: no diff, no replacement.
        let config = conform_to_schema(
            &schema(),
            Value::map([
                ("name", Value::from("staging-netrasystems-ai-cert")),
                (
                    "managed",
                    Value::List(vec![Value::map([(
                        "domains",
                        Value::List(vec![
                            Value::from("staging.netrasystems.ai."),
                            Value::from("api-staging.netrasystems.ai"),
                        ]),
                    )])]),
                ),
            ]),
        );
        let mut prop = crate::schema::propose::propose(t.schema(), Some(&v), &config, false);
        t.customize_plan(&mut prop).unwrap();
        assert!(prop.requires_replace.is_empty(), "{:?}", prop.requires_replace);
        let changed = crate::schema::diff::changed_paths(&v, &prop.planned);
        assert!(changed.is_empty(), "{changed:?} {:?}", prop.planned);
        // A new domain replaces.
        let more = conform_to_schema(
            &schema(),
            Value::map([
                ("name", Value::from("staging-netrasystems-ai-cert")),
                (
                    "managed",
                    Value::List(vec![Value::map([(
                        "domains",
                        Value::List(vec![Value::from("staging.netrasystems.ai"), Value::from("app.netrasystems.ai")]),
                    )])]),
                ),
            ]),
        );
        let mut prop = crate::schema::propose::propose(t.schema(), Some(&v), &more, false);
        t.customize_plan(&mut prop).unwrap();
        assert!(!prop.requires_replace.is_empty());
    }

    #[test]
    fn request_carries_domains_and_a_generated_name_when_unset() {
        let planned = conform_to_schema(
            &schema(),
            Value::map([
                ("type", Value::from("MANAGED")),
                (
                    "managed",
                    Value::List(vec![Value::map([("domains", Value::List(vec![Value::from("a.example.com")]))])]),
                ),
            ]),
        );
        let name = generated_name();
        assert!(regex::Regex::new(cc::NAME_PATTERN).unwrap().is_match(&name), "{name}");
        let j = cc::model_json(&request(&planned, &name).unwrap());
        assert_eq!(j["managed"]["domains"], serde_json::json!(["a.example.com"]));
        assert_eq!(j["type"], "MANAGED");
        assert_eq!(j["name"], name.as_str());
    }
}
