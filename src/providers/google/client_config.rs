//! `data "google_client_config"`: the provider configuration as resolved (project, region,
//! zone) and the OAuth2 access token its credentials send, as terraform-provider-google's
//! data source of that name exposes them. No API call: the token comes from the credentials
//! (refreshed by them when they expire), so reading it costs at most one token exchange.

use std::sync::Arc;

use async_trait::async_trait;
use google_cloud_auth::credentials::CacheableResource;

use super::Shared;
use crate::lang::value::Value;
use crate::providers::{CallContext, DataSource, ProviderError};
use crate::schema::{AttrType, Attribute, Schema};

pub struct ClientConfig {
    shared: Arc<Shared>,
    schema: Schema,
}

impl ClientConfig {
    pub fn new(shared: Arc<Shared>) -> Self {
        ClientConfig {
            shared,
            schema: Schema::new()
                .attr("project", Attribute::computed(AttrType::String).describe("The provider's project."))
                .attr("region", Attribute::computed(AttrType::String).describe("The provider's region."))
                .attr("zone", Attribute::computed(AttrType::String).describe("The provider's zone."))
                .attr(
                    "access_token",
                    Attribute::computed(AttrType::String)
                        .sensitive()
                        .describe("The OAuth2 access token the provider authenticates with (empty against the emulator, which takes none)."),
                )
                .attr(
                    "default_labels",
                    Attribute::computed(AttrType::Map(Box::new(AttrType::String)))
                        .describe("The provider's default labels (Cairn's provider has none)."),
                )
                .attr(
                    "id",
                    Attribute::computed(AttrType::String)
                        .describe("projects/{project}/regions/{region}/zones/{zone}, as the Terraform provider sets it."),
                ),
        }
    }
}

#[async_trait]
impl DataSource for ClientConfig {
    fn name(&self) -> &'static str {
        "google_client_config"
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn read(&self, ctx: &CallContext, _config: &Value) -> Result<Value, ProviderError> {
        let clients = self.shared.clients(&ctx.provider_config).await?;
        let token = match clients.credentials.headers(axum::http::Extensions::new()).await {
            Ok(CacheableResource::New { data, .. }) => data
                .get(axum::http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or_default()
                .to_string(),
            Ok(CacheableResource::NotModified) => String::new(),
            Err(e) => return Err(ProviderError::new(format!("cannot get an access token: {e}"))),
        };
        let c = &clients.config;
        let text = |s: &Option<String>| s.clone().map(Value::string).unwrap_or(Value::Null);
        let id = format!(
            "projects/{}/regions/{}/zones/{}",
            c.project.as_deref().unwrap_or_default(),
            c.region.as_deref().unwrap_or_default(),
            c.zone.as_deref().unwrap_or_default()
        );
        Ok(Value::map([
            ("project", text(&c.project)),
            ("region", text(&c.region)),
            ("zone", text(&c.zone)),
            ("access_token", Value::string(token).sensitive()),
            ("default_labels", Value::map(Vec::<(String, Value)>::new())),
            ("id", Value::string(id)),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::google::GoogleOptions;

    #[tokio::test]
    async fn reads_the_resolved_provider_and_keeps_the_token_sensitive() {
        let shared = Arc::new(Shared::new(GoogleOptions::default()));
        let ds = ClientConfig::new(shared);
        let block = Value::map([
            ("project", Value::string("acme-prod")),
            ("region", Value::string("europe-west1")),
            ("zone", Value::string("europe-west1-b")),
            ("access_token", Value::string("ya29.test-token").sensitive()),
        ]);
        let v = ds.read(&CallContext::new(block), &Value::map(Vec::<(String, Value)>::new())).await.unwrap();
        assert_eq!(v.get("project"), Some(&Value::string("acme-prod")));
        assert_eq!(v.get("id"), Some(&Value::string("projects/acme-prod/regions/europe-west1/zones/europe-west1-b")));
        let token = v.get("access_token").unwrap();
        assert!(token.is_sensitive());
        assert_eq!(token.as_str(), Some("ya29.test-token"));
    }
}
