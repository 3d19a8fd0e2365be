//! `data "google_project"`: a project by `project_id` (default: the provider's project), one
//! GET of Resource Manager v3 `projects.get`. Cairn has no project resource type, so the schema
//! is the data source's own: the attributes of terraform-provider-google's `google_project`
//! that the Resource Manager API holds. Left out, because no API Cairn reads holds them:
//! `billing_account` (the Cloud Billing API's), and the resource's client-side
//! `auto_create_network`, `deletion_policy` and write-only `tags`; a reference to one is the
//! usual "Unsupported attribute" error at plan time, never a silent null.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use google_cloud_resourcemanager_v3::model::project::State;

use super::{finish, not_found};
use crate::lang::value::Value;
use crate::providers::google::fields::string;
use crate::providers::google::Shared;
use crate::providers::{CallContext, DataSource, ProviderError};
use crate::schema::{AttrType, Attribute, Schema};

const GET: &str = "cloudresourcemanager.projects.get";

pub struct Project {
    shared: Arc<Shared>,
    schema: Schema,
}

pub fn schema() -> Schema {
    let computed = |d: &'static str| Attribute::computed(AttrType::String).describe(d);
    let labels = |d: &'static str| Attribute::computed(AttrType::Map(Box::new(AttrType::String))).describe(d);
    Schema::new()
        .attr(
            "project_id",
            Attribute::optional_computed(AttrType::String)
                .describe("The project's id; defaults to the provider's project."),
        )
        .attr("id", computed("projects/PROJECT_ID."))
        .attr("name", computed("The project's display name."))
        .attr("number", computed("The project's number (a string, as the provider has it)."))
        .attr("org_id", computed("The numeric id of the organization the project sits directly under, if any."))
        .attr("folder_id", computed("The numeric id of the folder the project sits directly under, if any."))
        .attr("labels", labels("The project's labels (all of them: a data source manages none)."))
        .attr("effective_labels", labels("The project's labels."))
        .attr("terraform_labels", labels("The project's labels."))
}

impl Project {
    pub fn new(shared: Arc<Shared>) -> Self {
        Project { shared, schema: schema() }
    }
}

#[async_trait]
impl DataSource for Project {
    fn name(&self) -> &'static str {
        "google_project"
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn read(&self, ctx: &CallContext, config: &Value) -> Result<Value, ProviderError> {
        let c = self.shared.clients(&ctx.provider_config).await?;
        let project_id = c.project(string(config, "project_id").as_deref())?;
        let name = format!("projects/{project_id}");
        let p = c
            .projects_calls
            .idempotent(GET, ctx.timeout, || c.projects.get_project().set_name(name.clone()).send())
            .await
            .map_err(|e| not_found(&name, e))?;
        // The provider's own condition: a project being deleted is as good as gone.
        if p.state != State::Active {
            return Err(ProviderError::new(format!("{name} not found or not in ACTIVE state")).method(GET));
        }
        let (org_id, folder_id) = match p.parent.split_once('/') {
            Some(("organizations", n)) => (Value::string(n), Value::Null),
            Some(("folders", n)) => (Value::Null, Value::string(n)),
            _ => (Value::Null, Value::Null),
        };
        let labels: BTreeMap<String, Value> =
            p.labels.iter().map(|(k, v)| (k.clone(), Value::string(v.clone()))).collect();
        let labels = Value::map(labels);
        let number = p.name.strip_prefix("projects/").unwrap_or(&p.name).to_string();
        let found = Value::map([
            ("project_id", Value::string(p.project_id.clone())),
            ("id", Value::string(format!("projects/{}", p.project_id))),
            ("name", Value::string(p.display_name.clone())),
            ("number", Value::string(number)),
            ("org_id", org_id),
            ("folder_id", folder_id),
            ("labels", labels.clone()),
            ("effective_labels", labels.clone()),
            ("terraform_labels", labels),
        ]);
        Ok(finish(&self.schema, config, found))
    }
}
