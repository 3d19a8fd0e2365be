//! `google_monitoring_alert_policy`: conditions over time series and who to tell when they
//! hold (Cloud Monitoring v3 `projects.alertPolicies`).
//!
//! Every condition kind of the definition is in the schema and sent as written (threshold,
//! absence, matched log, MQL, PromQL, SQL). What the definition leaves custom:
//! `creation_record` (output) is shown as a one-item list, as the provider does; the import id
//! is the policy's name, `projects/{project}/alertPolicies/{id}`.
//!
//! Plan-time rules (what the API refuses; quotes from monitoring.v3.json):
//! - every duration is a google.protobuf.Duration (`"60s"`);
//! - a condition has exactly one kind (`Condition.condition` is a oneof);
//! - a threshold's `duration` is a multiple of a minute ("only values that are a multiple of a
//!   minute--e.g., 0, 60, 120, or 300 seconds--are supported"); an absence's `duration` is at
//!   least 120 s and a multiple of a minute ("The minimum value of this field is 120 seconds");
//! - an aggregation's `alignment_period` is at least 60 s and at most 90,000 s for alerting
//!   policies, and required with a `per_series_aligner` other than ALIGN_NONE ("this field is
//!   required or an error is returned");
//! - `notification_channels` are channel names, `projects/[PROJECT_ID_OR_NUMBER]/notificationChannels/[CHANNEL_ID]`;
//! - every metric filter (`filter`, `denominator_filter`) names metric types the API knows, for
//!   the resource types they are written for (the catalog in `super::metrics`).
//!
//! `combiner` is required by the definition itself (the provider requires it with any number
//! of conditions, which covers the API's rule for more than one).

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
use super::{metrics, mmv1, Clients};
use crate::addr::AttrPath;
use crate::lang::value::Value;
use crate::providers::ProviderError;
use crate::schema::{Attribute, Rule, Schema, Validator};

pub const TYPE: &str = "google_monitoring_alert_policy";

pub type MonitoringAlertPolicy = MonitoringResource<Api>;

pub struct Api;

/// The condition kinds, one of which each condition holds.
pub const CONDITION_KINDS: [&str; 6] = [
    "condition_threshold",
    "condition_absent",
    "condition_matched_log",
    "condition_monitoring_query_language",
    "condition_prometheus_query_language",
    "condition_sql",
];

/// The longest alignment period of an alerting policy's aggregation (Aggregation.alignmentPeriod:
/// "90,000 seconds (25 hours) for alerting policies").
pub const MAX_ALIGNMENT_PERIOD_SECS: f64 = 90_000.0;

/// Every duration argument, as schema paths.
const DURATIONS: [&str; 12] = [
    "conditions.condition_threshold.duration",
    "conditions.condition_threshold.aggregations.alignment_period",
    "conditions.condition_threshold.denominator_aggregations.alignment_period",
    "conditions.condition_threshold.forecast_options.forecast_horizon",
    "conditions.condition_absent.duration",
    "conditions.condition_absent.aggregations.alignment_period",
    "conditions.condition_monitoring_query_language.duration",
    "conditions.condition_prometheus_query_language.duration",
    "conditions.condition_prometheus_query_language.evaluation_interval",
    "alert_strategy.auto_close",
    "alert_strategy.notification_rate_limit.period",
    "alert_strategy.notification_channel_strategy.renotify_interval",
];

/// The Monitoring filters, each checked against the metric-type catalog: a metric type the API
/// does not know matches no time series, and the alert silently never fires.
const FILTERS: [&str; 3] = [
    "conditions.condition_threshold.filter",
    "conditions.condition_threshold.denominator_filter",
    "conditions.condition_absent.filter",
];

fn check_duration(v: &Value) -> Result<(), String> {
    match v.peel().as_str().and_then(duration_problem) {
        Some(p) => Err(p),
        None => Ok(()),
    }
}

/// `projects/{project}/notificationChannels/{id}`.
pub fn channel_name_problem(s: &str) -> Option<String> {
    let ok = super::monitoring_common::project_of_name(s, "notificationChannels").is_some() && !s.starts_with('/');
    (!ok).then(|| {
        format!(
            "{s:?} is not a notification channel name: write projects/PROJECT/notificationChannels/ID, or a channel's `name` attribute (google_monitoring_notification_channel.X.name)"
        )
    })
}

fn check_channels(v: &Value) -> Result<(), String> {
    let Some(xs) = v.peel().as_list() else { return Ok(()) };
    match xs.iter().filter_map(|x| x.peel().as_str()).find_map(channel_name_problem) {
        Some(p) => Err(p),
        None => Ok(()),
    }
}

fn secs(v: &Value, name: &str) -> Option<(f64, String)> {
    let s = v.get(name).map(Value::peel).and_then(Value::as_str)?;
    duration_secs(s).map(|n| (n, s.to_string()))
}

fn is_minute_multiple(n: f64) -> bool {
    n.fract() == 0.0 && (n as u64) % 60 == 0
}

/// An aggregation's alignment period against the API's rules.
fn check_aggregations(kind: &Value, attr: &str, at: &AttrPath, out: &mut Vec<(AttrPath, String)>) {
    for (i, agg) in fields::blocks(kind, attr).iter().enumerate() {
        let path = at.join_attr(attr).join_index(i as i64);
        let aligner = fields::string(agg, "per_series_aligner");
        match secs(agg, "alignment_period") {
            Some((n, s)) if n < 60.0 => out.push((
                path.join_attr("alignment_period"),
                format!("alignment_period {s:?} must be at least 60s (Aggregation.alignmentPeriod: \"The value must be at least 60 seconds\")"),
            )),
            Some((n, s)) if n > MAX_ALIGNMENT_PERIOD_SECS => out.push((
                path.join_attr("alignment_period"),
                format!("alignment_period {s:?} must be at most 90000s (25 hours), the longest an alerting policy may align over"),
            )),
            Some(_) => {}
            None if agg.get("alignment_period").is_some_and(|v| !v.is_null()) => {}
            None => {
                if let Some(a) = aligner.filter(|a| a != "ALIGN_NONE") {
                    out.push((
                        path.join_attr("per_series_aligner"),
                        format!("per_series_aligner {a} needs an alignment_period (such as \"60s\"): the API refuses an aligner without one"),
                    ));
                }
            }
        }
    }
}

/// The rules across one policy's conditions (see the module comment).
fn check_policy(config: &Value) -> Vec<(AttrPath, String)> {
    let mut out = Vec::new();
    for (i, c) in fields::blocks(config, "conditions").iter().enumerate() {
        let cpath = AttrPath::attr("conditions").join_index(i as i64);
        let kinds: Vec<&str> = CONDITION_KINDS
            .iter()
            .copied()
            .filter(|k| c.get(k).and_then(Value::as_list).is_some_and(|l| !l.is_empty()))
            .collect();
        if c.is_wholly_known() && kinds.len() != 1 {
            let msg = if kinds.is_empty() {
                format!("a condition needs one of {}", CONDITION_KINDS.join(", "))
            } else {
                format!(
                    "a condition has exactly one kind, this one has {}: split it into one condition each",
                    kinds.join(" and ")
                )
            };
            out.push((cpath.clone(), msg));
        }
        if let Some(t) = fields::first_block(c, "condition_threshold") {
            let tpath = cpath.join_attr("condition_threshold").join_index(0);
            if let Some((n, s)) = secs(t, "duration").filter(|(n, _)| !is_minute_multiple(*n)) {
                let _ = n;
                out.push((
                    tpath.join_attr("duration"),
                    format!("duration {s:?} must be a multiple of a minute (0s, 60s, 120s, 300s, …): MetricThreshold.duration supports no other values"),
                ));
            }
            check_aggregations(t, "aggregations", &tpath, &mut out);
            check_aggregations(t, "denominator_aggregations", &tpath, &mut out);
        }
        if let Some(a) = fields::first_block(c, "condition_absent") {
            let apath = cpath.join_attr("condition_absent").join_index(0);
            if let Some((n, s)) = secs(a, "duration") {
                if n < 120.0 || !is_minute_multiple(n) {
                    out.push((
                        apath.join_attr("duration"),
                        format!("duration {s:?} must be at least 120s and a multiple of a minute (120s, 180s, 300s, …): MetricAbsence.duration supports no other values"),
                    ));
                }
            }
            check_aggregations(a, "aggregations", &apath, &mut out);
        }
    }
    out
}

pub fn schema() -> Schema {
    let mut s = mmv1::schema(TYPE)
        .modify("notification_channels", |a| a.validate(Validator::Custom(Arc::new(check_channels))))
        .rule(Rule::Custom(Arc::new(check_policy)));
    for path in DURATIONS {
        s = s.modify(path, |a| Attribute { validators: vec![Validator::Custom(Arc::new(check_duration))], ..a });
    }
    for path in FILTERS {
        s = s.modify(path, |a| a.validate(Validator::Located(Arc::new(metrics::filter_check))));
    }
    s
}

#[async_trait]
impl MonitoringApi for Api {
    const TYPE: &'static str = TYPE;
    const COLLECTION: &'static str = "alertPolicies";
    const METHODS: Methods = Methods {
        list: "monitoring.projects.alertPolicies.list",
        get: "monitoring.projects.alertPolicies.get",
        create: "monitoring.projects.alertPolicies.create",
        patch: "monitoring.projects.alertPolicies.patch",
        delete: "monitoring.projects.alertPolicies.delete",
    };
    const TIMEOUT_MINUTES: u64 = 20;

    fn schema() -> Schema {
        schema()
    }

    fn enums() -> &'static [EnumAt] {
        use model::aggregation::{Aligner, Reducer};
        use model::alert_policy::condition::EvaluationMissingData;
        static E: [EnumAt; 13] = [
            enum_at!("combiner", model::alert_policy::ConditionCombinerType),
            enum_at!("severity", model::alert_policy::Severity),
            enum_at!("alertStrategy/notificationPrompts", model::alert_policy::alert_strategy::NotificationPrompt),
            enum_at!("conditions/*/conditionThreshold/comparison", model::ComparisonType),
            enum_at!("conditions/*/conditionThreshold/evaluationMissingData", EvaluationMissingData),
            enum_at!("conditions/*/conditionThreshold/aggregations/*/perSeriesAligner", Aligner),
            enum_at!("conditions/*/conditionThreshold/aggregations/*/crossSeriesReducer", Reducer),
            enum_at!("conditions/*/conditionThreshold/denominatorAggregations/*/perSeriesAligner", Aligner),
            enum_at!("conditions/*/conditionThreshold/denominatorAggregations/*/crossSeriesReducer", Reducer),
            enum_at!("conditions/*/conditionAbsent/aggregations/*/perSeriesAligner", Aligner),
            enum_at!("conditions/*/conditionAbsent/aggregations/*/crossSeriesReducer", Reducer),
            enum_at!("conditions/*/conditionMonitoringQueryLanguage/evaluationMissingData", EvaluationMissingData),
            enum_at!("conditions/*/conditionSql/rowCountTest/comparison", model::ComparisonType),
        ];
        &E
    }

    fn finish_state(v: &mut Value, _j: &Json, _prior: Option<&Value>) {
        let record = match v.get("creation_record").cloned() {
            Some(m @ Value::Map(_)) => Value::List(vec![m]),
            Some(l @ Value::List(_)) => l,
            _ => Value::List(Vec::new()),
        };
        set(v, "creation_record", record);
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
                            .alert_policies
                            .list_alert_policies()
                            .set_name(parent.clone())
                            .set_page_size(PAGE_SIZE)
                            .set_page_token(token.clone())
                            .send()
                    })
                    .await?;
                Ok((page.alert_policies.iter().map(model_json::<Self, _>).collect(), page.next_page_token))
            }
        })
        .await
    }

    async fn get(c: &Clients, name: &str, timeout: Duration) -> Result<Json, ProviderError> {
        let p = c
            .monitoring_calls
            .idempotent(Self::METHODS.get, timeout, || {
                c.monitoring.alert_policies.get_alert_policy().set_name(name.to_string()).send()
            })
            .await?;
        Ok(model_json::<Self, _>(&p))
    }

    async fn create(c: &Clients, project: &str, body: Json, deadline: Instant) -> Result<Json, CreateFailure> {
        let policy: model::AlertPolicy = cc::json_model(body, TYPE)?;
        let p = attempt(
            c,
            deadline,
            c.monitoring
                .alert_policies
                .create_alert_policy()
                .set_name(format!("projects/{project}"))
                .set_alert_policy(policy)
                .send(),
        )
        .await?;
        Ok(model_json::<Self, _>(&p))
    }

    async fn patch(c: &Clients, body: Json, mask: Vec<String>, timeout: Duration) -> Result<Json, ProviderError> {
        let policy: model::AlertPolicy = cc::json_model(body, TYPE)?;
        let p = c
            .monitoring_calls
            .idempotent(Self::METHODS.patch, timeout, || {
                c.monitoring
                    .alert_policies
                    .update_alert_policy()
                    .set_alert_policy(policy.clone())
                    .set_update_mask(google_cloud_wkt::FieldMask::default().set_paths(mask.clone()))
                    .send()
            })
            .await?;
        Ok(model_json::<Self, _>(&p))
    }

    async fn delete(c: &Clients, name: &str, _prior: &Value, timeout: Duration) -> Result<(), ProviderError> {
        c.monitoring_calls
            .idempotent(Self::METHODS.delete, timeout, || {
                c.monitoring.alert_policies.delete_alert_policy().set_name(name.to_string()).send()
            })
            .await
    }
}
