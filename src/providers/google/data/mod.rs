//! The google provider's data sources (`data "google_…" "x" { … }`): one read of an object the
//! stack does not manage, through the same SDK clients, retries and error mapping as the
//! resource types.
//!
//! Where a resource type exists, the data source's schema is the type's made all-computed but
//! for the arguments that name the object ([`schema_from_resource`], Terraform's
//! `DatasourceSchemaFromResourceSchema`), and the read is the type's import of the object's
//! full name ([`ViaImport`]), so the API object maps to the same attributes as the type's
//! refresh. The others (a secret version's payload, a notification channel found by filter,
//! networks and subnetworks, which have no resource type) read through their own calls.

pub mod bigquery_dataset;
pub mod cloud_run_v2_service;
pub mod compute_global_address;
pub mod compute_network;
pub mod compute_subnetwork;
pub mod monitoring_notification_channel;
pub mod project;
pub mod secret_manager_secret_version;
pub mod sql_database_instance;
pub mod vpc_access_connector;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;

use super::fields::conform_to_schema;
use super::{Clients, Shared};
use crate::lang::value::Value;
use crate::providers::{CallContext, DataSource, ProviderError, ResourceType};
use crate::schema::{AttrType, Attribute, Schema};

/// Every data source of the provider, sharing the provider's clients.
pub fn data_sources(shared: &Arc<Shared>) -> Vec<Arc<dyn DataSource>> {
    vec![
        Arc::new(sql_database_instance::data_source(shared.clone())),
        Arc::new(vpc_access_connector::data_source(shared.clone())),
        Arc::new(cloud_run_v2_service::data_source(shared.clone())),
        Arc::new(bigquery_dataset::data_source(shared.clone())),
        Arc::new(compute_global_address::ComputeGlobalAddress::new(shared.clone())),
        Arc::new(compute_network::ComputeNetwork::new(shared.clone())),
        Arc::new(compute_subnetwork::ComputeSubnetwork::new(shared.clone())),
        Arc::new(secret_manager_secret_version::SecretManagerSecretVersion::new(shared.clone())),
        Arc::new(monitoring_notification_channel::MonitoringNotificationChannel::new(shared.clone())),
        Arc::new(project::Project::new(shared.clone())),
    ]
}

/// A data source's schema from its resource type's: every attribute computed (no defaults,
/// validators or force-new: nothing is planned), `required` and `optional` the arguments that
/// name the object (optional ones stay computed: the read fills them, as `project` from the
/// provider). Terraform-only (client-only) and write-only attributes are left out: the API
/// never holds them, so a read has nothing to say about them. Sensitive attributes stay
/// sensitive. A named argument the resource lacks is a defect in the data source, which its
/// schema test shows.
pub fn schema_from_resource(resource: &Schema, required: &[&'static str], optional: &[&'static str]) -> Schema {
    let mut s = all_computed(resource);
    for (names, make) in [(required, Attribute::required as fn(AttrType) -> Attribute), (optional, optional_computed)] {
        for name in names {
            let a = s.attributes.get_mut(name).unwrap_or_else(|| panic!("the resource has no attribute {name}"));
            *a = Attribute { sensitive: a.sensitive, description: a.description, ..make(a.ty.clone()) };
        }
    }
    s
}

fn optional_computed(ty: AttrType) -> Attribute {
    Attribute::optional_computed(ty)
}

fn all_computed(resource: &Schema) -> Schema {
    let mut s = Schema::new();
    for (name, a) in &resource.attributes {
        if a.client_only || a.write_only {
            continue;
        }
        let computed =
            Attribute { sensitive: a.sensitive, description: a.description, ..Attribute::computed(a.ty.clone()) };
        s = s.attr(name, computed);
    }
    for (name, b) in &resource.blocks {
        let mut block = b.clone();
        block.block = all_computed(&b.block);
        block.min_items = 0;
        block.force_new = false;
        s = s.block(name, block);
    }
    s
}

/// A read that found nothing: Terraform's "`{id}` not found", still `not_found`; any other
/// error as the API gave it.
pub fn not_found(id: &str, e: ProviderError) -> ProviderError {
    if e.not_found {
        ProviderError { message: format!("{id} not found"), ..e }
    } else {
        e
    }
}

/// The data source's value: what the read found, the configuration's arguments where the read
/// says nothing, in the schema's shape (attributes null, blocks empty lists where absent), the
/// schema's sensitive attributes marked.
pub fn finish(schema: &Schema, config: &Value, read: Value) -> Value {
    let read = read.as_map().cloned().unwrap_or_default();
    let mut out: BTreeMap<String, Value> = BTreeMap::new();
    for name in schema.attributes.keys() {
        let found = read.get(*name).filter(|v| !v.is_null()).cloned();
        let given = config.get(name).filter(|v| !v.is_null()).cloned();
        out.insert(name.to_string(), found.or(given).unwrap_or(Value::Null));
    }
    for name in schema.blocks.keys() {
        if let Some(v) = read.get(*name) {
            out.insert(name.to_string(), v.clone());
        }
    }
    schema.mark_sensitive(conform_to_schema(schema, Value::object(out)))
}

/// The project a data source reads in: its `project`, else the provider's.
pub fn project(config: &Value, c: &Clients) -> Result<String, ProviderError> {
    c.project(super::fields::string(config, "project").as_deref())
}

/// The region a data source reads in: its `region` (or `attr`), else the provider's.
pub fn region(config: &Value, attr: &str, c: &Clients) -> Result<String, ProviderError> {
    super::fields::string(config, attr).or_else(|| c.config.region.clone()).ok_or_else(|| {
        ProviderError::new(format!(
            "Cannot determine {attr}: set `{attr}` in this data source, or set the provider's `region`"
        ))
    })
}

/// A data source over a resource type's import: the object's full name from the arguments,
/// the type's import (one GET, the type's own mapping), then [`finish`].
pub struct ViaImport {
    name: &'static str,
    schema: Schema,
    resource: Arc<dyn ResourceType>,
    shared: Arc<Shared>,
    /// The object's full name (the import id, and the id a "not found" names).
    full_name: fn(&Value, &Clients) -> Result<String, ProviderError>,
}

impl ViaImport {
    pub fn new(
        shared: Arc<Shared>,
        resource: Arc<dyn ResourceType>,
        required: &[&'static str],
        optional: &[&'static str],
        full_name: fn(&Value, &Clients) -> Result<String, ProviderError>,
    ) -> Self {
        let schema = schema_from_resource(resource.schema(), required, optional);
        ViaImport { name: resource.name(), schema, resource, shared, full_name }
    }
}

#[async_trait]
impl DataSource for ViaImport {
    fn name(&self) -> &'static str {
        self.name
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn read(&self, ctx: &CallContext, config: &Value) -> Result<Value, ProviderError> {
        let c = self.shared.clients(&ctx.provider_config).await?;
        let id = (self.full_name)(config, &c)?;
        let found = self.resource.import(ctx, &id).await.map_err(|e| not_found(&id, e))?;
        Ok(finish(&self.schema, config, found))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::BlockType;

    fn resource() -> Schema {
        Schema::new()
            .attr("name", Attribute::required(AttrType::String).force_new())
            .attr("project", Attribute::optional_computed(AttrType::String))
            .attr("password", Attribute::optional(AttrType::String).sensitive())
            .attr("tier", Attribute::optional(AttrType::String).default("small"))
            .attr("deletion_policy", Attribute::optional(AttrType::String).default("DELETE").client_only())
            .attr("secret_wo", Attribute::optional(AttrType::String).write_only())
            .block(
                "settings",
                BlockType::single(Schema::new().attr("size", Attribute::required(AttrType::Number))).min_items(1),
            )
    }

    #[test]
    fn everything_is_computed_but_the_named_arguments() {
        let s = schema_from_resource(&resource(), &["name"], &["project"]);
        let name = &s.attributes["name"];
        assert!(name.required && !name.computed && !name.force_new);
        let project = &s.attributes["project"];
        assert!(project.optional && project.computed && !project.required);
        let tier = &s.attributes["tier"];
        assert!(tier.computed && !tier.optional && tier.default.is_none());
        assert!(s.attributes["password"].sensitive && s.attributes["password"].computed);
        assert!(!s.attributes.contains_key("deletion_policy") && !s.attributes.contains_key("secret_wo"));
        let size = &s.blocks["settings"].block.attributes["size"];
        assert!(size.computed && !size.required);
        assert_eq!(s.blocks["settings"].min_items, 0);
    }

    #[test]
    fn the_value_keeps_arguments_and_marks_secrets() {
        let s = schema_from_resource(&resource(), &["name"], &["project"]);
        let config = Value::map([("name", Value::from("db")), ("project", Value::Null)]);
        let read = Value::map([
            ("project", Value::from("p")),
            ("password", Value::from("hunter2")),
            ("deletion_policy", Value::from("DELETE")),
        ]);
        let v = finish(&s, &config, read);
        assert_eq!(v.get("name"), Some(&Value::from("db")));
        assert_eq!(v.get("project"), Some(&Value::from("p")));
        assert!(v.get("password").is_some_and(Value::is_sensitive));
        assert_eq!(v.get("tier"), Some(&Value::Null));
        assert_eq!(v.get("deletion_policy"), None, "not in the data source's schema");
        assert_eq!(v.get("settings"), Some(&Value::List(Vec::new())));
    }

    #[test]
    fn only_a_missing_object_reads_as_not_found() {
        let gone = ProviderError { not_found: true, ..ProviderError::new("404").method("x.get") };
        let e = not_found("projects/p/instances/db", gone);
        assert_eq!(e.message, "projects/p/instances/db not found");
        assert!(e.not_found && e.method.as_deref() == Some("x.get"));
        assert_eq!(not_found("id", ProviderError::new("denied")).message, "denied");
    }
}
