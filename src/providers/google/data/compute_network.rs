//! `data "google_compute_network"`: a VPC network by `name` (and `project`), one GET of
//! `compute.networks.get`. There is no network resource type, so the schema is the data
//! source's own (terraform-provider-google's is hand-written too). The numeric ids are strings:
//! they exceed 2^53, which a number would round.

use std::sync::Arc;

use async_trait::async_trait;
use google_cloud_compute_v1::client::Networks;
use tokio::sync::OnceCell;

use super::{finish, not_found, project};
use crate::lang::value::Value;
use crate::providers::google::clients::compute_client_error;
use crate::providers::google::fields::string;
use crate::providers::google::{Clients, Shared};
use crate::providers::{CallContext, DataSource, ProviderError};
use crate::schema::{AttrType, Attribute, Schema};

pub struct ComputeNetwork {
    shared: Arc<Shared>,
    schema: Schema,
    client: OnceCell<Networks>,
}

pub fn schema() -> Schema {
    let computed = |d: &'static str| Attribute::computed(AttrType::String).describe(d);
    Schema::new()
        .attr("name", Attribute::required(AttrType::String).describe("The network's name."))
        .attr("project", Attribute::optional_computed(AttrType::String).describe("Defaults to the provider's project."))
        .attr("id", computed("projects/PROJECT/global/networks/NAME."))
        .attr("description", computed("The network's description."))
        .attr("network_id", computed("The API's numeric id (a string: it exceeds 2^53)."))
        .attr("numeric_id", computed("Deprecated: network_id."))
        .attr("gateway_ipv4", computed("The gateway address (legacy networks only)."))
        .attr("internal_ipv6_range", computed("The ULA internal IPv6 range, if any."))
        .attr("network_profile", computed("The network profile, if any."))
        .attr(
            "subnetworks_self_links",
            Attribute::computed(AttrType::List(Box::new(AttrType::String))).describe("The network's subnetworks."),
        )
        .attr("self_link", computed("The network's URI."))
}

/// A string the API may leave out, null when it does.
pub(super) fn text(s: &Option<String>) -> Value {
    s.as_deref().filter(|s| !s.is_empty()).map(Value::from).unwrap_or(Value::Null)
}

impl ComputeNetwork {
    pub fn new(shared: Arc<Shared>) -> Self {
        ComputeNetwork { shared, schema: schema(), client: OnceCell::new() }
    }

    async fn client(&self, c: &Clients) -> Result<&Networks, ProviderError> {
        self.client
            .get_or_try_init(|| async {
                c.compute_builder(Networks::builder()).build().await.map_err(compute_client_error)
            })
            .await
    }
}

#[async_trait]
impl DataSource for ComputeNetwork {
    fn name(&self) -> &'static str {
        "google_compute_network"
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn read(&self, ctx: &CallContext, config: &Value) -> Result<Value, ProviderError> {
        let c = self.shared.clients(&ctx.provider_config).await?;
        let project = project(config, &c)?;
        let name = string(config, "name").unwrap_or_default();
        let client = self.client(&c).await?;
        let id = format!("projects/{project}/global/networks/{name}");
        let n = c
            .compute_calls
            .idempotent("compute.networks.get", ctx.timeout, || {
                client.get().set_project(project.clone()).set_network(name.clone()).send()
            })
            .await
            .map_err(|e| not_found(&id, e))?;
        let numeric = n.id.map(|i| Value::string(i.to_string())).unwrap_or(Value::Null);
        let found = Value::map([
            ("name", Value::string(name.clone())),
            ("project", Value::string(project.clone())),
            ("id", Value::string(id.clone())),
            ("description", text(&n.description)),
            ("network_id", numeric.clone()),
            ("numeric_id", numeric),
            ("gateway_ipv4", text(&n.gateway_i_pv_4)),
            ("internal_ipv6_range", text(&n.internal_ipv_6_range)),
            ("network_profile", text(&n.network_profile)),
            ("subnetworks_self_links", Value::List(n.subnetworks.iter().map(|s| Value::string(s.clone())).collect())),
            ("self_link", text(&n.self_link)),
        ]);
        Ok(finish(&self.schema, config, found))
    }
}
