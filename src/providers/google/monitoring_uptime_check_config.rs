//! `google_monitoring_uptime_check_config`: an HTTP(S) or TCP check of a host, run from
//! Google's checkers (Cloud Monitoring v3 `projects.uptimeCheckConfigs`).
//!
//! What the definition leaves custom: `uptime_check_id` is the last segment of the name
//! (`id_from_name`); `http_check.auth_info.password` is never read back (the API does not
//! return it): Cairn keeps it as a sensitive argument (the state holds only its fingerprint)
//! and adds the provider's write-only `password_wo` (never stored; a new `password_wo_version`
//! sends it again); with `mask_headers` the API returns header values as `******`, which read
//! as the configuration's values. The import id is the check's name,
//! `projects/{project}/uptimeCheckConfigs/{id}`.
//!
//! Plan-time rules (quotes from monitoring.v3.json, UptimeCheckConfig): `timeout` "must be
//! between 1 and 60 seconds"; `period` is one of "60s (1 minute),
//! 300s (5 minutes), 600s (10 minutes), and 900s (15 minutes)"; `selected_regions`, when set,
//! must "include a minimum of 3 locations" (each region Cairn knows is one location or more,
//! so at least three regions); exactly one of `monitored_resource`, `resource_group`,
//! `synthetic_monitor` (the definition's rule). With both rules a timeout can never exceed
//! its period (at most 60 s against at least 60 s), which is what the API wants of the two.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use google_cloud_monitoring_v3::model;
use serde_json::Value as Json;
use tokio::time::Instant;

use super::compute_common as cc;
use super::fields::{self, set};
use super::monitoring_common::{
    attempt, duration_problem, duration_secs, enum_at, list_all, model_json, CreateFailure, EnumAt, Methods,
    MonitoringApi, MonitoringResource, PAGE_SIZE,
};
use super::{mmv1, Clients};
use crate::lang::value::Value;
use crate::providers::ProviderError;
use crate::schema::{AttrType, Attribute, Rule, Schema, Validator};

pub const TYPE: &str = "google_monitoring_uptime_check_config";

pub type MonitoringUptimeCheckConfig = MonitoringResource<Api>;

pub struct Api;

/// UptimeCheckConfig.period's supported values.
pub const PERIODS: [&str; 4] = ["60s", "300s", "600s", "900s"];

fn check_timeout(v: &Value) -> Result<(), String> {
    let Some(s) = v.peel().as_str() else { return Ok(()) };
    if let Some(p) = duration_problem(s) {
        return Err(p);
    }
    match duration_secs(s) {
        Some(n) if (1.0..=60.0).contains(&n) => Ok(()),
        _ => Err(format!("must be from 1s through 60s (UptimeCheckConfig.timeout), got {s:?}")),
    }
}

fn check_period(v: &Value) -> Result<(), String> {
    let Some(s) = v.peel().as_str() else { return Ok(()) };
    if PERIODS.contains(&s) {
        return Ok(());
    }
    if let Some(p) = duration_problem(s) {
        return Err(p);
    }
    Err(format!("must be one of \"60s\", \"300s\", \"600s\", \"900s\" (the periods the API supports), got {s:?}"))
}

fn check_regions(v: &Value) -> Result<(), String> {
    match v.as_list() {
        Some(xs) if !xs.is_empty() && xs.len() < 3 => Err(format!(
            "names {} region(s); the API needs enough regions for at least 3 checker locations: list at least 3 (USA, EUROPE, SOUTH_AMERICA, ASIA_PACIFIC, …) or leave selected_regions out to run from all",
            xs.len()
        )),
        _ => Ok(()),
    }
}

pub fn schema() -> Schema {
    let mut s = mmv1::schema(TYPE)
        .modify("timeout", |a| a.validate(Validator::Custom(Arc::new(check_timeout))))
        .modify("period", |a| a.validate(Validator::Custom(Arc::new(check_period))))
        .modify("selected_regions", |a| a.validate(Validator::Custom(Arc::new(check_regions))));
    let auth = s.blocks.get_mut("http_check").and_then(|h| h.block.blocks.get_mut("auth_info"));
    if let Some(bt) = auth {
        let mut block = std::mem::take(&mut bt.block);
        block = block
            .modify("password", |a| Attribute { write_only: false, required: false, optional: true, ..a.sensitive() })
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
            .rule(Rule::ExactlyOneOf(vec!["password", "password_wo"]))
            .rule(Rule::RequiredWith("password_wo_version", vec!["password_wo"]));
        bt.block = block;
    }
    s
}

/// The password to send, unmarked only here.
fn password(auth: &Value) -> Option<String> {
    ["password_wo", "password"]
        .iter()
        .filter_map(|n| auth.get(n))
        .find(|v| !v.is_null() && v.is_wholly_known())
        .and_then(|v| match v.clone().unmark_deep().0 {
            Value::String(s) => Some(s),
            _ => None,
        })
}

#[async_trait]
impl MonitoringApi for Api {
    const TYPE: &'static str = TYPE;
    const COLLECTION: &'static str = "uptimeCheckConfigs";
    const METHODS: Methods = Methods {
        list: "monitoring.projects.uptimeCheckConfigs.list",
        get: "monitoring.projects.uptimeCheckConfigs.get",
        create: "monitoring.projects.uptimeCheckConfigs.create",
        patch: "monitoring.projects.uptimeCheckConfigs.patch",
        delete: "monitoring.projects.uptimeCheckConfigs.delete",
    };
    const TIMEOUT_MINUTES: u64 = 20;

    fn schema() -> Schema {
        schema()
    }

    fn enums() -> &'static [EnumAt] {
        use model::uptime_check_config::content_matcher::{json_path_matcher, ContentMatcherOption};
        use model::uptime_check_config::http_check;
        static E: [EnumAt; 9] = [
            enum_at!("httpCheck/requestMethod", http_check::RequestMethod),
            enum_at!("httpCheck/contentType", http_check::ContentType),
            enum_at!(
                "httpCheck/acceptedResponseStatusCodes/*/statusClass",
                http_check::response_status_code::StatusClass
            ),
            enum_at!(
                "httpCheck/serviceAgentAuthentication/type",
                http_check::service_agent_authentication::ServiceAgentAuthenticationType
            ),
            enum_at!("contentMatchers/*/matcher", ContentMatcherOption),
            enum_at!("contentMatchers/*/jsonPathMatcher/jsonMatcher", json_path_matcher::JsonPathMatcherOption),
            enum_at!("selectedRegions", model::UptimeCheckRegion),
            enum_at!("checkerType", model::uptime_check_config::CheckerType),
            enum_at!("resourceGroup/resourceType", model::GroupResourceType),
        ];
        &E
    }

    /// The password goes as `authInfo.password` whichever argument holds it.
    /// From the configuration first, where a password the plan holds as a fingerprint is known.
    fn finish_request(planned: &Value, config: &Value, j: &mut Json) {
        let auth = |v: &Value| {
            fields::first_block(v, "http_check").and_then(|h| fields::first_block(h, "auth_info")).and_then(password)
        };
        let pw = auth(config).or_else(|| auth(planned));
        let Some(slot) = j.pointer_mut("/httpCheck/authInfo") else { return };
        if let Some(o) = slot.as_object_mut() {
            o.remove("passwordWo");
            o.remove("passwordWoVersion");
            if let Some(pw) = pw {
                o.insert("password".into(), Json::String(pw));
            }
        }
    }

    fn finish_state(v: &mut Value, j: &Json, prior: Option<&Value>) {
        let name = cc::jstr(j, "name");
        set(v, "uptime_check_id", Value::string(fields::last_segment(name)));
        // The API never returns the password: the prior's (a fingerprint) stays.
        let prior_auth =
            prior.and_then(|p| fields::first_block(p, "http_check")).and_then(|h| fields::first_block(h, "auth_info"));
        let Some(Value::List(mut checks)) = v.get("http_check").cloned() else { return };
        if let Some(check) = checks.first_mut() {
            // With mask_headers the API returns every header value as "******": a masked
            // value is the prior's (the configuration's) when it had the header.
            let prior_headers = prior
                .and_then(|p| fields::first_block(p, "http_check"))
                .and_then(|h| h.get("headers"))
                .and_then(Value::as_map);
            if let (Some(mut headers), Some(before)) =
                (check.get("headers").filter(|h| h.as_map().is_some()).cloned(), prior_headers)
            {
                if let Some(m) = headers.map_mut() {
                    for (k, x) in m.iter_mut() {
                        let masked = x.as_str().is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b == b'*'));
                        if let Some(b) = before.get(k).filter(|_| masked) {
                            *x = b.clone();
                        }
                    }
                }
                set(check, "headers", headers);
            }
            if let Some(Value::List(mut auths)) = check.get("auth_info").cloned() {
                if let Some(a) = auths.first_mut() {
                    for n in ["password", "password_wo_version"] {
                        set(a, n, prior_auth.and_then(|p| p.get(n)).cloned().unwrap_or(Value::Null));
                    }
                    set(a, "password_wo", Value::Null);
                }
                set(check, "auth_info", Value::List(auths));
            }
        }
        set(v, "http_check", Value::List(checks));
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
                            .uptime_checks
                            .list_uptime_check_configs()
                            .set_parent(parent.clone())
                            .set_page_size(PAGE_SIZE)
                            .set_page_token(token.clone())
                            .send()
                    })
                    .await?;
                Ok((page.uptime_check_configs.iter().map(model_json::<Self, _>).collect(), page.next_page_token))
            }
        })
        .await
    }

    async fn get(c: &Clients, name: &str, timeout: Duration) -> Result<Json, ProviderError> {
        let u = c
            .monitoring_calls
            .idempotent(Self::METHODS.get, timeout, || {
                c.monitoring.uptime_checks.get_uptime_check_config().set_name(name.to_string()).send()
            })
            .await?;
        Ok(model_json::<Self, _>(&u))
    }

    async fn create(c: &Clients, project: &str, body: Json, deadline: Instant) -> Result<Json, CreateFailure> {
        let config: model::UptimeCheckConfig = cc::json_model(body, TYPE)?;
        let u = attempt(
            c,
            deadline,
            c.monitoring
                .uptime_checks
                .create_uptime_check_config()
                .set_parent(format!("projects/{project}"))
                .set_uptime_check_config(config)
                .send(),
        )
        .await?;
        Ok(model_json::<Self, _>(&u))
    }

    async fn patch(c: &Clients, body: Json, mask: Vec<String>, timeout: Duration) -> Result<Json, ProviderError> {
        let config: model::UptimeCheckConfig = cc::json_model(body, TYPE)?;
        let u = c
            .monitoring_calls
            .idempotent(Self::METHODS.patch, timeout, || {
                c.monitoring
                    .uptime_checks
                    .update_uptime_check_config()
                    .set_uptime_check_config(config.clone())
                    .set_update_mask(google_cloud_wkt::FieldMask::default().set_paths(mask.clone()))
                    .send()
            })
            .await?;
        Ok(model_json::<Self, _>(&u))
    }

    async fn delete(c: &Clients, name: &str, _prior: &Value, timeout: Duration) -> Result<(), ProviderError> {
        c.monitoring_calls
            .idempotent(Self::METHODS.delete, timeout, || {
                c.monitoring.uptime_checks.delete_uptime_check_config().set_name(name.to_string()).send()
            })
            .await
    }
}
