//! `data "google_compute_subnetwork"`: a subnetwork by `self_link`, or by `name` (and
//! `project`, `region`), one GET of `compute.subnetworks.get`. As in terraform-provider-google,
//! a `self_link` wins over `name`, `project` and `region`. The schema is the data source's own
//! (there is no subnetwork resource type); `subnetwork_id` is a string (it exceeds 2^53).

use std::sync::Arc;

use async_trait::async_trait;
use google_cloud_compute_v1::client::Subnetworks;
use tokio::sync::OnceCell;

use super::compute_network::text;
use super::{finish, not_found, project, region};
use crate::lang::value::Value;
use crate::providers::google::clients::compute_client_error;
use crate::providers::google::fields::string;
use crate::providers::google::{Clients, Shared};
use crate::providers::{CallContext, DataSource, ProviderError};
use crate::schema::{AttrType, Attribute, BlockType, Rule, Schema};

pub struct ComputeSubnetwork {
    shared: Arc<Shared>,
    schema: Schema,
    client: OnceCell<Subnetworks>,
}

pub fn schema() -> Schema {
    let computed = |d: &'static str| Attribute::computed(AttrType::String).describe(d);
    let optional = |d: &'static str| Attribute::optional_computed(AttrType::String).describe(d);
    Schema::new()
        .attr("self_link", optional("The subnetwork's URI; when set, name, project and region are ignored."))
        .attr("name", Attribute::optional(AttrType::String).describe("The subnetwork's name (or set self_link)."))
        .attr("project", optional("Defaults to the provider's project."))
        .attr("region", optional("Defaults to the provider's region."))
        .attr("id", computed("projects/PROJECT/regions/REGION/subnetworks/NAME."))
        .attr("network", computed("The network's URI."))
        .attr("subnetwork_id", computed("The API's numeric id (a string: it exceeds 2^53)."))
        .attr("description", computed("The subnetwork's description."))
        .attr("ip_cidr_range", computed("The primary IPv4 range."))
        .attr("external_ipv6_prefix", computed("The external IPv6 range, if any."))
        .attr("internal_ipv6_prefix", computed("The internal IPv6 range, if any."))
        .attr("gateway_address", computed("The gateway address."))
        .attr(
            "private_ip_google_access",
            Attribute::computed(AttrType::Bool).describe("Whether VMs without external IPs reach Google APIs."),
        )
        .attr("stack_type", computed("IPV4_ONLY, IPV4_IPV6 or IPV6_ONLY."))
        .attr("ipv6_access_type", computed("EXTERNAL or INTERNAL, for dual-stack subnetworks."))
        .block(
            "secondary_ip_range",
            BlockType::list(
                Schema::new()
                    .attr("range_name", computed("The range's name (for alias IP ranges)."))
                    .attr("ip_cidr_range", computed("The range.")),
            ),
        )
        .rule(Rule::AtLeastOneOf(vec!["name", "self_link"]))
}

/// (project, region, name) from a subnetwork's self link (a full URL or a relative
/// `projects/…/regions/…/subnetworks/…` path).
pub fn parse_self_link(link: &str) -> Option<(String, String, String)> {
    let at = link.find("projects/")?;
    let parts: Vec<&str> = link[at..].trim_end_matches('/').split('/').collect();
    match parts.as_slice() {
        ["projects", p, "regions", r, "subnetworks", n] if !p.is_empty() && !r.is_empty() && !n.is_empty() => {
            Some((p.to_string(), r.to_string(), n.to_string()))
        }
        _ => None,
    }
}

/// Where the subnetwork is: from `self_link`, else from `name` and the defaults.
fn place(config: &Value, c: &Clients) -> Result<(String, String, String), ProviderError> {
    if let Some(link) = string(config, "self_link") {
        return parse_self_link(&link).ok_or_else(|| {
            ProviderError::new(format!(
                "google_compute_subnetwork: self_link \"{link}\" is not projects/PROJECT/regions/REGION/subnetworks/NAME (or its URL)"
            ))
        });
    }
    let name = string(config, "name")
        .ok_or_else(|| ProviderError::new("google_compute_subnetwork: one of `name` or `self_link` must be set"))?;
    Ok((project(config, c)?, region(config, "region", c)?, name))
}

impl ComputeSubnetwork {
    pub fn new(shared: Arc<Shared>) -> Self {
        ComputeSubnetwork { shared, schema: schema(), client: OnceCell::new() }
    }

    async fn client(&self, c: &Clients) -> Result<&Subnetworks, ProviderError> {
        self.client
            .get_or_try_init(|| async {
                c.compute_builder(Subnetworks::builder()).build().await.map_err(compute_client_error)
            })
            .await
    }
}

#[async_trait]
impl DataSource for ComputeSubnetwork {
    fn name(&self) -> &'static str {
        "google_compute_subnetwork"
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn read(&self, ctx: &CallContext, config: &Value) -> Result<Value, ProviderError> {
        let c = self.shared.clients(&ctx.provider_config).await?;
        let (project, region, name) = place(config, &c)?;
        let client = self.client(&c).await?;
        let id = format!("projects/{project}/regions/{region}/subnetworks/{name}");
        let s = c
            .compute_calls
            .idempotent("compute.subnetworks.get", ctx.timeout, || {
                client.get().set_project(project.clone()).set_region(region.clone()).set_subnetwork(name.clone()).send()
            })
            .await
            .map_err(|e| not_found(&id, e))?;
        let ranges = s
            .secondary_ip_ranges
            .iter()
            .map(|r| Value::map([("range_name", text(&r.range_name)), ("ip_cidr_range", text(&r.ip_cidr_range))]))
            .collect();
        let enum_name = |n: Option<&str>| n.map(Value::from).unwrap_or(Value::Null);
        let found = Value::map([
            ("self_link", text(&s.self_link)),
            ("name", Value::string(name.clone())),
            ("project", Value::string(project.clone())),
            ("region", Value::string(region.clone())),
            ("id", Value::string(id.clone())),
            ("network", text(&s.network)),
            ("subnetwork_id", s.id.map(|i| Value::string(i.to_string())).unwrap_or(Value::Null)),
            ("description", text(&s.description)),
            ("ip_cidr_range", text(&s.ip_cidr_range)),
            ("external_ipv6_prefix", text(&s.external_ipv_6_prefix)),
            ("internal_ipv6_prefix", text(&s.internal_ipv_6_prefix)),
            ("gateway_address", text(&s.gateway_address)),
            ("private_ip_google_access", Value::Bool(s.private_ip_google_access.unwrap_or(false))),
            ("stack_type", enum_name(s.stack_type.as_ref().and_then(|t| t.name()))),
            ("ipv6_access_type", enum_name(s.ipv_6_access_type.as_ref().and_then(|t| t.name()))),
            ("secondary_ip_range", Value::List(ranges)),
        ]);
        Ok(finish(&self.schema, config, found))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_self_link_names_project_region_and_subnetwork() {
        let want = Some(("p".to_string(), "us-central1".to_string(), "a".to_string()));
        assert_eq!(
            parse_self_link("https://www.googleapis.com/compute/v1/projects/p/regions/us-central1/subnetworks/a"),
            want
        );
        assert_eq!(parse_self_link("projects/p/regions/us-central1/subnetworks/a"), want);
        assert_eq!(parse_self_link("projects/p/global/networks/a"), None);
        assert_eq!(parse_self_link("a"), None);
    }
}
