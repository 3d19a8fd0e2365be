//! `google_monitoring_notification_channel`: where an alert policy sends its notifications
//! (Cloud Monitoring v3 `projects.notificationChannels`).
//!
//! What the definition leaves custom:
//! - `sensitive_labels` (ignore_read): its secrets travel in the API's `labels` map under their
//!   API names (`auth_token`, `password`, `service_key`) and are never read back (the API
//!   obfuscates them). Cairn keeps `auth_token`, `password` and `service_key` as sensitive
//!   arguments (the state holds only their keyed fingerprint, so a new secret is a change) and
//!   adds the provider's write-only `*_wo` arguments (never stored; a new `*_wo_version` sends
//!   them again). The obfuscated copies the API returns in `labels` are not the configuration's.
//! - `force_delete` (Terraform-only): the delete's `force` flag, which deletes a channel that
//!   alert policies still reference.
//! - the import id is the channel's name, `projects/{project}/notificationChannels/{id}`.
//!
//! Plan-time rules: an `email` channel needs `labels.email_address`, a well-formed address
//! (the NotificationChannelDescriptor of type email requires the label; the API refuses
//! creating the channel without it).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use google_cloud_monitoring_v3::model;
use serde_json::Value as Json;
use tokio::time::Instant;

use super::compute_common as cc;
use super::fields::{self, set};
use super::monitoring_common::{
    attempt, enum_at, list_all, model_json, CreateFailure, EnumAt, Methods, MonitoringApi, MonitoringResource,
    PAGE_SIZE,
};
use super::{mmv1, Clients};
use crate::addr::AttrPath;
use crate::lang::value::Value;
use crate::providers::ProviderError;
use crate::schema::{AttrType, Attribute, Rule, Schema};

pub const TYPE: &str = "google_monitoring_notification_channel";

/// The secrets of `sensitive_labels`: (the sensitive argument, its API label).
const SECRETS: [&str; 3] = ["auth_token", "password", "service_key"];

pub type MonitoringNotificationChannel = MonitoringResource<Api>;

pub struct Api;

/// A well-formed email address, as the channel's descriptor needs it: one `@`, a non-empty
/// local part, a domain with a dot, no spaces.
pub fn email_problem(address: &str) -> Option<String> {
    let ok = match address.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !address.chars().any(char::is_whitespace)
        }
        None => false,
    };
    (!ok).then(|| format!("{address:?} is not an email address (NAME@DOMAIN, such as \"oncall@example.com\")"))
}

/// An email channel's address (NotificationChannelDescriptor `email`: the label
/// `email_address` is required).
fn check_channel(config: &Value) -> Vec<(AttrPath, String)> {
    let mut out = Vec::new();
    if fields::string(config, "type").as_deref() != Some("email") {
        return out;
    }
    match config.get("labels").map(Value::peel) {
        Some(v) if v.is_unknown() => {}
        Some(Value::Map(m)) => match m.get("email_address").map(Value::peel) {
            Some(Value::String(a)) => {
                if let Some(p) = email_problem(a) {
                    out.push((AttrPath::attr("labels").join_attr("email_address"), p));
                }
            }
            Some(x) if x.is_unknown() => {}
            _ => out.push((
                AttrPath::attr("labels"),
                "an email channel needs labels.email_address, the address to notify (labels = { email_address = \"oncall@example.com\" })".into(),
            )),
        },
        _ => out.push((
            AttrPath::attr("type"),
            "an email channel needs labels.email_address, the address to notify (labels = { email_address = \"oncall@example.com\" })".into(),
        )),
    }
    out
}

pub fn schema() -> Schema {
    let mut s = mmv1::schema(TYPE).rule(Rule::Custom(Arc::new(check_channel)));
    if let Some(bt) = s.blocks.get_mut("sensitive_labels") {
        let mut block = std::mem::take(&mut bt.block);
        for name in SECRETS {
            // Sensitive, not write-only: the engine keeps a fingerprint, so a new secret
            // shows as a change (the provider's own `sensitive` arguments).
            block = block.modify(name, |a| Attribute { write_only: false, ..a.sensitive() });
        }
        block = block
            .attr(
                "auth_token_wo",
                Attribute::optional(AttrType::String)
                    .sensitive()
                    .write_only()
                    .describe("Never stored: sent on create and when auth_token_wo_version changes."),
            )
            .attr(
                "auth_token_wo_version",
                Attribute::optional(AttrType::String).describe("Change it to send auth_token_wo again."),
            )
            .attr(
                "password_wo",
                Attribute::optional(AttrType::String)
                    .sensitive()
                    .write_only()
                    .describe("Never stored: sent on create and when password_wo_version changes."),
            )
            .attr(
                "password_wo_version",
                Attribute::optional(AttrType::String).describe("Change it to send password_wo again."),
            )
            .attr(
                "service_key_wo",
                Attribute::optional(AttrType::String)
                    .sensitive()
                    .write_only()
                    .describe("Never stored: sent on create and when service_key_wo_version changes."),
            )
            .attr(
                "service_key_wo_version",
                Attribute::optional(AttrType::String).describe("Change it to send service_key_wo again."),
            );
        block.rules.retain(|r| !matches!(r, Rule::ExactlyOneOf(_)));
        block = block.rule(Rule::ExactlyOneOf(vec![
            "auth_token",
            "auth_token_wo",
            "password",
            "password_wo",
            "service_key",
            "service_key_wo",
        ]));
        for name in SECRETS {
            let wo: &'static str = match name {
                "auth_token" => "auth_token_wo_version",
                "password" => "password_wo_version",
                _ => "service_key_wo_version",
            };
            let with: &'static str = match name {
                "auth_token" => "auth_token_wo",
                "password" => "password_wo",
                _ => "service_key_wo",
            };
            block = block.rule(Rule::RequiredWith(wo, vec![with]));
        }
        bt.block = block;
    }
    s
}

/// The secret of `sensitive_labels` to send under `label`, unmarked only here.
fn secret(block: &Value, label: &str) -> Option<String> {
    [format!("{label}_wo"), label.to_string()]
        .iter()
        .filter_map(|n| block.get(n))
        .find(|v| !v.is_null() && v.is_wholly_known())
        .and_then(|v| match v.clone().unmark_deep().0 {
            Value::String(s) => Some(s),
            _ => None,
        })
}

#[async_trait]
impl MonitoringApi for Api {
    const TYPE: &'static str = TYPE;
    const COLLECTION: &'static str = "notificationChannels";
    const METHODS: Methods = Methods {
        list: "monitoring.projects.notificationChannels.list",
        get: "monitoring.projects.notificationChannels.get",
        create: "monitoring.projects.notificationChannels.create",
        patch: "monitoring.projects.notificationChannels.patch",
        delete: "monitoring.projects.notificationChannels.delete",
    };
    const TIMEOUT_MINUTES: u64 = 20;

    fn schema() -> Schema {
        schema()
    }

    fn enums() -> &'static [EnumAt] {
        static E: [EnumAt; 1] = [enum_at!("verificationStatus", model::notification_channel::VerificationStatus)];
        &E
    }

    /// The secrets join `labels` under their API names (from the configuration, where a
    /// secret the plan holds as a fingerprint is known).
    fn finish_request(planned: &Value, config: &Value, j: &mut Json) {
        let Some(o) = j.as_object_mut() else { return };
        o.remove("sensitiveLabels");
        let blocks: Vec<&Value> =
            [config, planned].into_iter().filter_map(|v| fields::first_block(v, "sensitive_labels")).collect();
        if blocks.is_empty() {
            return;
        }
        let labels = o.entry("labels").or_insert_with(|| Json::Object(Default::default()));
        if let Some(m) = labels.as_object_mut() {
            for label in SECRETS {
                if let Some(s) = blocks.iter().find_map(|b| secret(b, label)) {
                    m.insert(label.to_string(), Json::String(s));
                }
            }
        }
    }

    fn finish_state(v: &mut Value, _j: &Json, prior: Option<&Value>) {
        let prior_block = prior.and_then(|p| fields::first_block(p, "sensitive_labels"));
        // ignore_read: what the configuration (or state) had stays.
        set(
            v,
            "sensitive_labels",
            prior.and_then(|p| p.get("sensitive_labels")).cloned().unwrap_or(Value::List(Vec::new())),
        );
        // The API returns the secrets it was sent through sensitive_labels (obfuscated) in
        // labels: they are that block's, not labels'.
        if let (Some(block), Some(mut labels)) =
            (prior_block, v.get("labels").filter(|l| l.as_map().is_some()).cloned())
        {
            let configured = prior.and_then(|p| p.get("labels")).and_then(Value::as_map);
            for label in SECRETS {
                let from_block = [label.to_string(), format!("{label}_wo"), format!("{label}_wo_version")]
                    .iter()
                    .any(|n| block.get(n).is_some_and(|x| !x.is_null()));
                if from_block && !configured.is_some_and(|c| c.contains_key(label)) {
                    if let Some(m) = labels.map_mut() {
                        m.remove(label);
                    }
                }
            }
            set(v, "labels", labels);
        }
    }

    /// The secrets travel in `labels`: a changed secret (or a new `*_wo_version`) updates
    /// `labels`, which the request sends whole, the secrets with it.
    fn mask_path(attribute: &str) -> Option<&'static str> {
        (attribute == "sensitive_labels").then_some("labels")
    }

    async fn list(c: &Clients, project: &str, timeout: Duration) -> Result<Vec<Json>, ProviderError> {
        let parent = format!("projects/{project}");
        list_all(|token| {
            let parent = parent.clone();
            async move {
                let page = c
                    .monitoring_calls
                    .idempotent(Self::METHODS.list, timeout, || {
                        c.monitoring
                            .channels
                            .list_notification_channels()
                            .set_name(parent.clone())
                            .set_page_size(PAGE_SIZE)
                            .set_page_token(token.clone())
                            .send()
                    })
                    .await?;
                Ok((page.notification_channels.iter().map(model_json::<Self, _>).collect(), page.next_page_token))
            }
        })
        .await
    }

    async fn get(c: &Clients, name: &str, timeout: Duration) -> Result<Json, ProviderError> {
        let ch = c
            .monitoring_calls
            .idempotent(Self::METHODS.get, timeout, || {
                c.monitoring.channels.get_notification_channel().set_name(name.to_string()).send()
            })
            .await?;
        Ok(model_json::<Self, _>(&ch))
    }

    async fn create(c: &Clients, project: &str, body: Json, deadline: Instant) -> Result<Json, CreateFailure> {
        let channel: model::NotificationChannel = cc::json_model(body, TYPE)?;
        let ch = attempt(
            c,
            deadline,
            c.monitoring
                .channels
                .create_notification_channel()
                .set_name(format!("projects/{project}"))
                .set_notification_channel(channel)
                .send(),
        )
        .await?;
        Ok(model_json::<Self, _>(&ch))
    }

    async fn patch(c: &Clients, body: Json, mask: Vec<String>, timeout: Duration) -> Result<Json, ProviderError> {
        let channel: model::NotificationChannel = cc::json_model(body, TYPE)?;
        let ch = c
            .monitoring_calls
            .idempotent(Self::METHODS.patch, timeout, || {
                c.monitoring
                    .channels
                    .update_notification_channel()
                    .set_notification_channel(channel.clone())
                    .set_update_mask(google_cloud_wkt::FieldMask::default().set_paths(mask.clone()))
                    .send()
            })
            .await?;
        Ok(model_json::<Self, _>(&ch))
    }

    async fn delete(c: &Clients, name: &str, prior: &Value, timeout: Duration) -> Result<(), ProviderError> {
        let force = fields::boolean(prior, "force_delete", false);
        c.monitoring_calls
            .idempotent(Self::METHODS.delete, timeout, || {
                c.monitoring.channels.delete_notification_channel().set_name(name.to_string()).set_force(force).send()
            })
            .await
    }
}
