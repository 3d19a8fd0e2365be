//! `data "google_monitoring_notification_channel"`: the one channel that matches the given
//! `display_name`, `type`, `labels` and `user_labels`. One filtered listing (the provider
//! lists, then reads the match again; the listing already holds the whole channel); zero or
//! several matches are errors with terraform-provider-google's messages.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;

use super::{finish, project, schema_from_resource};
use crate::lang::value::Value;
use crate::providers::google::fields::{string, string_map};
use crate::providers::google::monitoring_common::{list_all, model_json, MonitoringApi, PAGE_SIZE};
use crate::providers::google::monitoring_notification_channel::{self as resource, Api};
use crate::providers::google::Shared;
use crate::providers::{CallContext, DataSource, ProviderError};
use crate::schema::Schema;

pub struct MonitoringNotificationChannel {
    shared: Arc<Shared>,
    resource: resource::MonitoringNotificationChannel,
    schema: Schema,
}

pub fn schema() -> Schema {
    schema_from_resource(&resource::schema(), &[], &["display_name", "project", "type", "labels", "user_labels"])
}

/// The provider's filter: `display_name="…"`, `type="…"`, then each `labels.K="V"` and
/// `user_labels.K="V"` (in key order here; the provider's follows Go's map order), joined by
/// AND. None when neither `display_name` nor `type` is set.
pub fn filter(config: &Value) -> Option<String> {
    let display_name = string(config, "display_name");
    let channel_type = string(config, "type");
    if display_name.is_none() && channel_type.is_none() {
        return None;
    }
    let mut terms = Vec::new();
    terms.extend(display_name.map(|d| format!("display_name=\"{d}\"")));
    terms.extend(channel_type.map(|t| format!("type=\"{t}\"")));
    for map in ["labels", "user_labels"] {
        let entries: BTreeMap<String, String> = string_map(config, map);
        terms.extend(entries.iter().map(|(k, v)| format!("{map}.{k}=\"{v}\"")));
    }
    Some(terms.join(" AND "))
}

impl MonitoringNotificationChannel {
    pub fn new(shared: Arc<Shared>) -> Self {
        MonitoringNotificationChannel {
            resource: resource::MonitoringNotificationChannel::new(shared.clone()),
            shared,
            schema: schema(),
        }
    }
}

#[async_trait]
impl DataSource for MonitoringNotificationChannel {
    fn name(&self) -> &'static str {
        resource::TYPE
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn read(&self, ctx: &CallContext, config: &Value) -> Result<Value, ProviderError> {
        let filter = filter(config)
            .ok_or_else(|| ProviderError::new("At least one of display_name or type must be provided"))?;
        let c = self.shared.clients(&ctx.provider_config).await?;
        let parent = format!("projects/{}", project(config, &c)?);
        let c = &c;
        let (parent, filter_ref) = (&parent, &filter);
        let found = list_all(|token| async move {
            let page = c
                .monitoring_calls
                .idempotent(Api::METHODS.list, ctx.timeout, || {
                    c.monitoring
                        .channels
                        .list_notification_channels()
                        .set_name(parent.clone())
                        .set_filter(filter_ref.clone())
                        .set_page_size(PAGE_SIZE)
                        .set_page_token(token.clone())
                        .send()
                })
                .await?;
            Ok((page.notification_channels.iter().map(model_json::<Api, _>).collect(), page.next_page_token))
        })
        .await?;
        match found.as_slice() {
            [] => Err(ProviderError {
                not_found: true,
                ..ProviderError::new(format!("No NotificationChannel found using filter: {filter}"))
            }),
            [one] => Ok(finish(&self.schema, config, self.resource.to_state(one, None))),
            _ => Err(ProviderError::new(format!(
                "Found more than one 1 NotificationChannel matching specified filter: {filter}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_is_the_providers() {
        let config = Value::map([
            ("display_name", Value::from("Ops")),
            ("type", Value::from("email")),
            ("user_labels", Value::map([("team", Value::from("core")), ("env", Value::from("prod"))])),
        ]);
        assert_eq!(
            filter(&config).unwrap(),
            r#"display_name="Ops" AND type="email" AND user_labels.env="prod" AND user_labels.team="core""#
        );
        assert_eq!(filter(&Value::map([("labels", Value::map([("a", Value::from("b"))]))])), None);
    }

    #[test]
    fn every_argument_is_optional() {
        let s = schema();
        for a in ["display_name", "project", "type", "labels", "user_labels"] {
            assert!(s.attributes[a].optional && !s.attributes[a].required, "{a}");
        }
        assert!(s.attributes["name"].computed && !s.attributes["name"].optional);
    }
}
