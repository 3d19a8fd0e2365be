//! `data "google_compute_global_address"`: a global address by `name` (and `project`). One GET;
//! the resource type's mapping, plus what only the data source exports (`status`, `users`).

use std::sync::Arc;

use async_trait::async_trait;

use super::{finish, not_found, project, schema_from_resource};
use crate::lang::value::Value;
use crate::providers::google::compute_collection::{ComputeCall, ComputeCollection};
use crate::providers::google::compute_global_address::{self as resource, GlobalAddresses};
use crate::providers::google::fields::{set, string};
use crate::providers::google::Shared;
use crate::providers::{CallContext, DataSource, ProviderError};
use crate::schema::{AttrType, Attribute, Schema};

pub struct ComputeGlobalAddress {
    shared: Arc<Shared>,
    resource_schema: Schema,
    schema: Schema,
}

pub fn schema() -> Schema {
    schema_from_resource(&resource::schema(), &["name"], &["project"])
        .attr(
            "status",
            Attribute::computed(AttrType::String).describe("RESERVED, RESERVING or IN_USE (used by a resource)."),
        )
        .attr(
            "users",
            Attribute::computed(AttrType::List(Box::new(AttrType::String))).describe("What uses the address."),
        )
}

impl ComputeGlobalAddress {
    pub fn new(shared: Arc<Shared>) -> Self {
        ComputeGlobalAddress { shared, resource_schema: resource::schema(), schema: schema() }
    }
}

#[async_trait]
impl DataSource for ComputeGlobalAddress {
    fn name(&self) -> &'static str {
        "google_compute_global_address"
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn read(&self, ctx: &CallContext, config: &Value) -> Result<Value, ProviderError> {
        let c = self.shared.clients(&ctx.provider_config).await?;
        let project = project(config, &c)?;
        let name = string(config, "name").unwrap_or_default();
        let client = GlobalAddresses::client(&c).await?;
        let call = ComputeCall::<GlobalAddresses> {
            clients: &c,
            client: &client,
            ctx,
            project: &project,
            region: None,
            name: &name,
        };
        let id = format!("projects/{project}/global/addresses/{name}");
        let m = call.get().await.map_err(|e| not_found(&id, e))?;
        let mut v = GlobalAddresses::to_state(&self.resource_schema, &project, &m, None);
        set(&mut v, "status", m.status.as_ref().and_then(|s| s.name()).map(Value::from).unwrap_or(Value::Null));
        set(&mut v, "users", Value::List(m.users.iter().map(|u| Value::string(u.clone())).collect()));
        Ok(finish(&self.schema, config, v))
    }
}
