//! `data "google_secret_manager_secret_version"`: a secret version's metadata and payload.
//!
//! As terraform-provider-google: a GET of `projects/{p}/secrets/{s}/versions/{version}`
//! (`latest` when unset), then, unless `fetch_secret_data = false`, an access of the version
//! the GET named. The payload (`secret_data`) is sensitive: marked here, so the core keeps only
//! its fingerprint in state and redacts it in output; it is never put in an error.

use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine as _;
use google_cloud_secretmanager_v1::model::secret_version::State;

use super::{finish, not_found, project};
use crate::lang::value::Value;
use crate::providers::google::fields::{self, string};
use crate::providers::google::Shared;
use crate::providers::{CallContext, DataSource, ProviderError};
use crate::schema::{AttrType, Attribute, Schema};

const TYPE: &str = "google_secret_manager_secret_version";
const GET: &str = "secretmanager.projects.secrets.versions.get";
const ACCESS: &str = "secretmanager.projects.secrets.versions.access";

pub struct SecretManagerSecretVersion {
    shared: Arc<Shared>,
    schema: Schema,
}

/// The data source's own schema (terraform-provider-google's is hand-written too).
pub fn schema() -> Schema {
    let computed = |d: &'static str| Attribute::computed(AttrType::String).describe(d);
    Schema::new()
        .attr(
            "secret",
            Attribute::required(AttrType::String).describe("The secret: its id, or projects/PROJECT/secrets/ID."),
        )
        .attr("project", Attribute::optional_computed(AttrType::String).describe("Defaults to the provider's project."))
        .attr(
            "version",
            Attribute::optional_computed(AttrType::String).describe("The version number; the latest when unset."),
        )
        .attr(
            "is_secret_data_base64",
            Attribute::optional(AttrType::Bool).describe("Export the payload base64-encoded (for binary payloads)."),
        )
        .attr(
            "fetch_secret_data",
            Attribute::optional(AttrType::Bool)
                .describe("Access the payload (default true); false reads only metadata."),
        )
        .attr("secret_data", Attribute::computed(AttrType::String).sensitive().describe("The payload (sensitive)."))
        .attr("id", computed("The version's resource name."))
        .attr("name", computed("projects/PROJECT/secrets/SECRET_ID/versions/VERSION."))
        .attr("create_time", computed("When the version was created."))
        .attr("destroy_time", computed("When the version was destroyed, if it was."))
        .attr("enabled", Attribute::computed(AttrType::Bool).describe("Whether the version is enabled."))
}

/// (project, secret id) from `secret` (an id or a full secret name) and the defaults.
fn secret_of(
    config: &Value,
    default_project: Result<String, ProviderError>,
) -> Result<(String, String), ProviderError> {
    let secret = string(config, "secret").unwrap_or_default();
    match fields::parse_secret_name(&secret) {
        Some(x) => Ok(x),
        None => Ok((default_project?, secret)),
    }
}

impl SecretManagerSecretVersion {
    pub fn new(shared: Arc<Shared>) -> Self {
        SecretManagerSecretVersion { shared, schema: schema() }
    }
}

#[async_trait]
impl DataSource for SecretManagerSecretVersion {
    fn name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn read(&self, ctx: &CallContext, config: &Value) -> Result<Value, ProviderError> {
        let c = self.shared.clients(&ctx.provider_config).await?;
        let (project, secret) = secret_of(config, project(config, &c))?;
        let version = string(config, "version").unwrap_or_else(|| "latest".to_string());
        let base64 = fields::boolean(config, "is_secret_data_base64", false);
        let fetch = fields::boolean(config, "fetch_secret_data", true);
        let id = format!("projects/{project}/secrets/{secret}/versions/{version}");
        let v = c
            .secret_manager_calls
            .idempotent(GET, ctx.timeout, || c.secret_manager.get_secret_version().set_name(id.clone()).send())
            .await
            .map_err(|e| not_found(&id, e))?;
        let mut found = Value::map([
            ("project", Value::string(project.clone())),
            ("secret", Value::string(secret.clone())),
            ("version", Value::string(fields::last_segment(&v.name))),
            ("id", Value::string(v.name.clone())),
            ("name", Value::string(v.name.clone())),
            ("create_time", v.create_time.map(|t| Value::string(String::from(t))).unwrap_or(Value::Null)),
            ("destroy_time", v.destroy_time.map(|t| Value::string(String::from(t))).unwrap_or(Value::Null)),
            ("enabled", Value::Bool(v.state == State::Enabled)),
            ("is_secret_data_base64", Value::Bool(base64)),
            ("fetch_secret_data", Value::Bool(fetch)),
        ]);
        if fetch {
            let access = c
                .secret_manager_calls
                .idempotent(ACCESS, ctx.timeout, || {
                    c.secret_manager.access_secret_version().set_name(v.name.clone()).send()
                })
                .await
                .map_err(|e| not_found(&v.name, e))?;
            let bytes = access.payload.map(|p| p.data.to_vec()).unwrap_or_default();
            let data = if base64 {
                base64::engine::general_purpose::STANDARD.encode(bytes)
            } else {
                String::from_utf8(bytes).map_err(|_| {
                    ProviderError::new(format!(
                        "{TYPE}: the payload of {} is not UTF-8 text; set is_secret_data_base64 = true to read it base64-encoded",
                        v.name
                    ))
                })?
            };
            fields::set(&mut found, "secret_data", Value::string(data).sensitive());
        }
        Ok(finish(&self.schema, config, found))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_an_id_or_a_full_name() {
        let by_id = Value::map([("secret", Value::from("db"))]);
        assert_eq!(secret_of(&by_id, Ok("p".into())).unwrap(), ("p".into(), "db".into()));
        let by_name = Value::map([("secret", Value::from("projects/other/secrets/db"))]);
        assert_eq!(secret_of(&by_name, Err(ProviderError::new("no project"))).unwrap(), ("other".into(), "db".into()));
        assert_eq!(secret_of(&by_id, Err(ProviderError::new("no project"))).unwrap_err().message, "no project");
    }

    #[test]
    fn the_payload_is_sensitive() {
        assert!(schema().attributes["secret_data"].sensitive);
    }
}
