//! Alert policies (`projects/{p}/alertPolicies/{numeric id}`, conditions
//! `…/conditions/{numeric id}`) and the checks the API makes of them: condition kinds,
//! combiner, durations and alignment periods, filter syntax and metric types, notification
//! channels that exist.

use serde_json::{json, Map, Value};

use super::super::api::{ApiRequest, Ctx};
use super::super::discovery;
use super::super::errors::{invalid_argument, not_found, ApiError};
use super::super::mask::{MaskRules, UpdateMask};
use super::super::store::StoredResource;
use super::metrics::metric_selectors;
use super::{
    bad_mask_path, body_with_enums, check_user_labels, encode_enums, entity_not_found, invalid_field, is_map_key_path,
    list_page, missing_field, mutation_record, numeric_id, shown, whole_seconds, EnumPath, Pairs, Project,
    ScenarioObject, API,
};

pub(super) const COLLECTION: &str = "alertPolicies";
const AT: &str = "alert_policy";

const COMBINER: Pairs = &[("COMBINE_UNSPECIFIED", 0), ("AND", 1), ("OR", 2), ("AND_WITH_MATCHING_RESOURCE", 3)];
const SEVERITY: Pairs = &[("SEVERITY_UNSPECIFIED", 0), ("CRITICAL", 1), ("ERROR", 2), ("WARNING", 3)];
const COMPARISON: Pairs = &[
    ("COMPARISON_UNSPECIFIED", 0),
    ("COMPARISON_GT", 1),
    ("COMPARISON_GE", 2),
    ("COMPARISON_LT", 3),
    ("COMPARISON_LE", 4),
    ("COMPARISON_EQ", 5),
    ("COMPARISON_NE", 6),
];
const MISSING_DATA: Pairs = &[
    ("EVALUATION_MISSING_DATA_UNSPECIFIED", 0),
    ("EVALUATION_MISSING_DATA_INACTIVE", 1),
    ("EVALUATION_MISSING_DATA_ACTIVE", 2),
    ("EVALUATION_MISSING_DATA_NO_OP", 3),
];
const ALIGNER: Pairs = &[
    ("ALIGN_NONE", 0),
    ("ALIGN_DELTA", 1),
    ("ALIGN_RATE", 2),
    ("ALIGN_INTERPOLATE", 3),
    ("ALIGN_NEXT_OLDER", 4),
    ("ALIGN_MIN", 10),
    ("ALIGN_MAX", 11),
    ("ALIGN_MEAN", 12),
    ("ALIGN_COUNT", 13),
    ("ALIGN_SUM", 14),
    ("ALIGN_STDDEV", 15),
    ("ALIGN_COUNT_TRUE", 16),
    ("ALIGN_COUNT_FALSE", 24),
    ("ALIGN_FRACTION_TRUE", 17),
    ("ALIGN_PERCENTILE_99", 18),
    ("ALIGN_PERCENTILE_95", 19),
    ("ALIGN_PERCENTILE_50", 20),
    ("ALIGN_PERCENTILE_05", 21),
    ("ALIGN_PERCENT_CHANGE", 23),
];
const REDUCER: Pairs = &[
    ("REDUCE_NONE", 0),
    ("REDUCE_MEAN", 1),
    ("REDUCE_MIN", 2),
    ("REDUCE_MAX", 3),
    ("REDUCE_SUM", 4),
    ("REDUCE_STDDEV", 5),
    ("REDUCE_COUNT", 6),
    ("REDUCE_COUNT_TRUE", 7),
    ("REDUCE_COUNT_FALSE", 15),
    ("REDUCE_FRACTION_TRUE", 8),
    ("REDUCE_PERCENTILE_99", 9),
    ("REDUCE_PERCENTILE_95", 10),
    ("REDUCE_PERCENTILE_50", 11),
    ("REDUCE_PERCENTILE_05", 12),
];
const PROMPT: Pairs = &[("NOTIFICATION_PROMPT_UNSPECIFIED", 0), ("OPENED", 1), ("CLOSED", 3)];

const POLICY_ENUMS: &[EnumPath] = &[
    ("combiner", COMBINER),
    ("severity", SEVERITY),
    ("conditions[].conditionThreshold.comparison", COMPARISON),
    ("conditions[].conditionThreshold.evaluationMissingData", MISSING_DATA),
    ("conditions[].conditionThreshold.aggregations[].perSeriesAligner", ALIGNER),
    ("conditions[].conditionThreshold.aggregations[].crossSeriesReducer", REDUCER),
    ("conditions[].conditionThreshold.denominatorAggregations[].perSeriesAligner", ALIGNER),
    ("conditions[].conditionThreshold.denominatorAggregations[].crossSeriesReducer", REDUCER),
    ("conditions[].conditionAbsent.aggregations[].perSeriesAligner", ALIGNER),
    ("conditions[].conditionAbsent.aggregations[].crossSeriesReducer", REDUCER),
    ("conditions[].conditionMonitoringQueryLanguage.evaluationMissingData", MISSING_DATA),
    ("conditions[].conditionSql.rowCountTest.comparison", COMPARISON),
    ("alertStrategy.notificationPrompts[]", PROMPT),
];

/// The condition kinds, exactly one of which a condition holds, with their proto names.
const CONDITION_KINDS: &[(&str, &str)] = &[
    ("conditionThreshold", "condition_threshold"),
    ("conditionAbsent", "condition_absent"),
    ("conditionMatchedLog", "condition_matched_log"),
    ("conditionMonitoringQueryLanguage", "condition_monitoring_query_language"),
    ("conditionPrometheusQueryLanguage", "condition_prometheus_query_language"),
    ("conditionSql", "condition_sql"),
];

/// The longest duration a condition may have (one day), and the most that alignment period
/// plus duration may add up to (25 hours).
const MAX_DURATION: i64 = 86_400;
const MAX_WINDOW: i64 = 90_000;

const MASK_RULES: MaskRules<'static> = MaskRules {
    updatable: &[
        "displayName",
        "documentation",
        "userLabels",
        "conditions",
        "combiner",
        "enabled",
        "notificationChannels",
        "severity",
        "alertStrategy",
    ],
    immutable: &["name"],
    output_only: &["creationRecord", "mutationRecord", "validity"],
    known: Some(&is_policy_path),
};

fn is_policy_path(path: &str) -> bool {
    is_map_key_path(path, &["userLabels"]) || discovery::of(API).knows_path("AlertPolicy", path)
}

fn render(stored: &StoredResource, ints: bool) -> Value {
    let mut value = stored.value.clone();
    encode_enums(&mut value, POLICY_ENUMS, ints);
    value
}

fn stored<'s>(ctx: &'s Ctx<'_>, project: &Project, id: &str) -> Result<&'s StoredResource, ApiError> {
    ctx.store.get(API, &project.key(COLLECTION, id)).ok_or_else(entity_not_found)
}

/// The writable fields of a request body: unknown fields refused, output-only ones dropped.
fn writable_body(body: Map<String, Value>) -> Result<Map<String, Value>, ApiError> {
    let mut body = body;
    discovery::of(API).check_body("AlertPolicy", &body, AT)?;
    discovery::of(API).strip_output_only("AlertPolicy", &mut body);
    body.remove("name");
    Ok(body)
}

// ---- validation ----

/// Checks a Monitoring filter's syntax and that each metric type it selects exists.
fn check_metric_filter(filter: &Value, path: &str) -> Result<(), ApiError> {
    let text = match filter {
        Value::String(s) if !s.trim().is_empty() => s.as_str(),
        Value::Null | Value::String(_) => return Err(missing_field(path)),
        other => return Err(invalid_field(path, &other.to_string(), "not a string")),
    };
    let selectors =
        metric_selectors(text).map_err(|why| invalid_field(path, text, &format!("invalid filter: {why}")))?;
    if selectors.is_empty() {
        return Err(invalid_field(path, text, "the filter must specify a metric type (metric.type = \"…\")"));
    }
    for selector in selectors {
        if !selector.matches_known() {
            return Err(not_found(format!(
                "Cannot find metric(s) that match {}. If a metric was created recently, it could take up to 10 minutes to become available. Please try again soon.",
                selector.describe()
            )));
        }
    }
    Ok(())
}

fn enum_value<'v>(body: &'v Value, field: &str, unspecified: &'v str) -> &'v str {
    body.get(field).and_then(Value::as_str).unwrap_or(unspecified)
}

/// Checks one aggregation; returns its alignment period in seconds (0 when unset).
fn check_aggregation(aggregation: &Value, path: &str) -> Result<i64, ApiError> {
    let period_path = format!("{path}.alignment_period");
    let period = whole_seconds(aggregation.get("alignmentPeriod"), &period_path, 0, i64::MAX).map_err(|_| {
        let raw = aggregation.get("alignmentPeriod").map(shown).unwrap_or_default();
        invalid_field(&period_path, &raw, "alignment period must be in multiples of one minute")
    })?;
    if let Some(seconds) = period {
        if seconds % 60 != 0 || seconds < 60 {
            let raw = aggregation["alignmentPeriod"].as_str().unwrap_or_default();
            return Err(invalid_field(&period_path, raw, "alignment period must be in multiples of one minute"));
        }
    }
    let aligner = enum_value(aggregation, "perSeriesAligner", "ALIGN_NONE");
    let reducer = enum_value(aggregation, "crossSeriesReducer", "REDUCE_NONE");
    if aligner != "ALIGN_NONE" && period.is_none() {
        return Err(invalid_field(
            &period_path,
            "",
            &format!("an alignment period is required when the per-series aligner is {aligner}"),
        ));
    }
    if reducer != "REDUCE_NONE" && aligner == "ALIGN_NONE" {
        return Err(invalid_field(
            &format!("{path}.per_series_aligner"),
            aligner,
            &format!("the cross-series reducer {reducer} requires a per-series aligner other than ALIGN_NONE"),
        ));
    }
    if aggregation.get("groupByFields").and_then(Value::as_array).is_some_and(|g| !g.is_empty())
        && reducer == "REDUCE_NONE"
    {
        return Err(invalid_field(
            &format!("{path}.cross_series_reducer"),
            reducer,
            "group_by_fields require a cross-series reducer",
        ));
    }
    Ok(period.unwrap_or(0))
}

/// Checks the aggregations of a condition against its duration.
fn check_aggregations(condition: &Value, field: &str, path: &str, duration: i64) -> Result<(), ApiError> {
    let Some(list) = condition.get(field).filter(|v| !v.is_null()) else {
        return Ok(());
    };
    let list = list.as_array().ok_or_else(|| invalid_field(path, &list.to_string(), "not a list"))?;
    for (j, aggregation) in list.iter().enumerate() {
        let at = format!("{path}.{}[{j}]", super::snake(field));
        let period = check_aggregation(aggregation, &at)?;
        if period + duration > MAX_WINDOW {
            return Err(invalid_field(
                &format!("{at}.alignment_period"),
                aggregation["alignmentPeriod"].as_str().unwrap_or_default(),
                "the alignment period plus the condition's duration must not exceed 25 hours",
            ));
        }
    }
    Ok(())
}

fn check_duration(kind: &Value, path: &str, min: i64, required: bool) -> Result<i64, ApiError> {
    let at = format!("{path}.duration");
    let seconds = match whole_seconds(kind.get("duration"), &at, min, MAX_DURATION)? {
        Some(s) => s,
        None if required => return Err(missing_field(&at)),
        None => return Ok(0),
    };
    if seconds % 60 != 0 {
        let raw = kind["duration"].as_str().unwrap_or_default();
        return Err(invalid_field(&at, raw, "the duration must be a multiple of one minute"));
    }
    Ok(seconds)
}

fn check_missing_data(kind: &Value, path: &str, duration: i64) -> Result<(), ApiError> {
    let missing = enum_value(kind, "evaluationMissingData", "EVALUATION_MISSING_DATA_UNSPECIFIED");
    if missing != "EVALUATION_MISSING_DATA_UNSPECIFIED" && duration == 0 {
        return Err(invalid_field(
            &format!("{path}.evaluation_missing_data"),
            missing,
            "Conditions setting evaluation_missing_data must have a non-zero duration.",
        ));
    }
    Ok(())
}

fn check_condition(condition: &Value, path: &str, conditions: usize) -> Result<(), ApiError> {
    let Some(map) = condition.as_object() else {
        return Err(invalid_field(path, &condition.to_string(), "not a condition"));
    };
    let kinds: Vec<(&str, &str)> =
        CONDITION_KINDS.iter().copied().filter(|(k, _)| map.get(*k).is_some_and(|v| !v.is_null())).collect();
    let [(kind_field, kind_name)] = kinds.as_slice() else {
        let names: Vec<&str> = CONDITION_KINDS.iter().map(|(_, n)| *n).collect();
        let given: Vec<&str> = kinds.iter().map(|(_, n)| *n).collect();
        return Err(invalid_field(
            path,
            &if given.is_empty() { "no condition".to_string() } else { given.join(", ") },
            &format!("a condition must set exactly one of {}", names.join(", ")),
        ));
    };
    if map.get("displayName").and_then(Value::as_str).is_none_or(str::is_empty) {
        return Err(missing_field(&format!("{path}.display_name")));
    }
    let kind = &map[*kind_field];
    let at = format!("{path}.{kind_name}");
    match *kind_field {
        "conditionThreshold" => {
            check_metric_filter(kind.get("filter").unwrap_or(&Value::Null), &format!("{at}.filter"))?;
            if let Some(denominator) = kind.get("denominatorFilter").filter(|v| !v.is_null()) {
                check_metric_filter(denominator, &format!("{at}.denominator_filter"))?;
            }
            let comparison = enum_value(kind, "comparison", "COMPARISON_UNSPECIFIED");
            if comparison == "COMPARISON_UNSPECIFIED" {
                return Err(missing_field(&format!("{at}.comparison")));
            }
            let duration = check_duration(kind, &at, 0, false)?;
            check_missing_data(kind, &at, duration)?;
            check_aggregations(kind, "aggregations", &at, duration)?;
            check_aggregations(kind, "denominatorAggregations", &at, duration)?;
            check_trigger(kind, &at)?;
        }
        "conditionAbsent" => {
            check_metric_filter(kind.get("filter").unwrap_or(&Value::Null), &format!("{at}.filter"))?;
            let duration = check_duration(kind, &at, 120, true)?;
            check_aggregations(kind, "aggregations", &at, duration)?;
            check_trigger(kind, &at)?;
        }
        "conditionMatchedLog" => {
            if conditions > 1 {
                return Err(invalid_argument(
                    "Alert policies with a log matching condition can only have a single condition.",
                ));
            }
            if kind.get("filter").and_then(Value::as_str).is_none_or(str::is_empty) {
                return Err(missing_field(&format!("{at}.filter")));
            }
        }
        _ => {
            if conditions > 1 {
                return Err(invalid_field(
                    path,
                    kind_name,
                    &format!("a policy with a {kind_name} must have exactly one condition"),
                ));
            }
            if kind.get("query").and_then(Value::as_str).is_none_or(str::is_empty) {
                return Err(missing_field(&format!("{at}.query")));
            }
            if *kind_field == "conditionMonitoringQueryLanguage" {
                let duration = check_duration(kind, &at, 0, false)?;
                check_missing_data(kind, &at, duration)?;
            }
        }
    }
    Ok(())
}

fn check_trigger(kind: &Value, at: &str) -> Result<(), ApiError> {
    let Some(trigger) = kind.get("trigger").filter(|v| !v.is_null()) else {
        return Ok(());
    };
    let count = trigger.get("count").filter(|v| !v.is_null());
    let percent = trigger.get("percent").filter(|v| !v.is_null());
    if count.is_some() && percent.is_some() {
        return Err(invalid_field(&format!("{at}.trigger"), &trigger.to_string(), "set count or percent, not both"));
    }
    if let Some(p) = percent.and_then(Value::as_f64) {
        if !(0.0..=100.0).contains(&p) {
            return Err(invalid_field(&format!("{at}.trigger.percent"), &p.to_string(), "must be between 0 and 100"));
        }
    }
    if count.and_then(Value::as_i64).is_some_and(|c| c < 0) {
        return Err(invalid_field(
            &format!("{at}.trigger.count"),
            &shown(count.unwrap_or(&Value::Null)),
            "must be ≥ 0",
        ));
    }
    Ok(())
}

/// Checks a policy's writable fields and fills the API's defaults (`enabled`,
/// `documentation.mimeType`).
fn check(ctx: &mut Ctx<'_>, body: &mut Map<String, Value>) -> Result<(), ApiError> {
    let conditions = match body.get("conditions") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(c)) => c.clone(),
        Some(other) => return Err(invalid_field("alert_policy.conditions", &other.to_string(), "not a list")),
    };
    if conditions.is_empty() {
        return Err(invalid_argument("Field alert_policy.conditions is required: a policy has one to six conditions."));
    }
    if conditions.len() > 6 {
        return Err(invalid_field(
            "alert_policy.conditions",
            &format!("{} conditions", conditions.len()),
            "a policy can have from one to six conditions",
        ));
    }
    for (i, condition) in conditions.iter().enumerate() {
        check_condition(condition, &format!("alert_policy.conditions[{i}]"), conditions.len())?;
    }
    let combiner = body.get("combiner").and_then(Value::as_str).unwrap_or("COMBINE_UNSPECIFIED");
    if conditions.len() > 1 && combiner == "COMBINE_UNSPECIFIED" {
        return Err(invalid_field(
            "alert_policy.combiner",
            combiner,
            "a combiner (AND, OR or AND_WITH_MATCHING_RESOURCE) is required when a policy has more than one condition",
        ));
    }
    if body.get("displayName").and_then(Value::as_str).is_some_and(|s| s.chars().count() > 512) {
        return Err(invalid_field("alert_policy.display_name", "…", "at most 512 characters are allowed"));
    }
    let channels = match body.get("notificationChannels") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(c)) => c.clone(),
        Some(other) => {
            return Err(invalid_field("alert_policy.notification_channels", &other.to_string(), "not a list"))
        }
    };
    for (i, channel) in channels.iter().enumerate() {
        let path = format!("alert_policy.notification_channels[{i}]");
        let name = channel.as_str().unwrap_or_default();
        let exists = match name.split('/').collect::<Vec<_>>().as_slice() {
            ["projects", p, "notificationChannels", id] if !p.is_empty() && !id.is_empty() => {
                let project = Project::resolve(ctx, p);
                ctx.store.contains(API, &project.key(super::channels::COLLECTION, id))
            }
            _ => {
                return Err(invalid_field(
                    &path,
                    name,
                    "expected projects/[PROJECT_ID_OR_NUMBER]/notificationChannels/[CHANNEL_ID]",
                ))
            }
        };
        if !exists {
            return Err(invalid_field(&path, name, "the notification channel does not exist"));
        }
    }
    if let Some(Value::Object(documentation)) = body.get_mut("documentation") {
        match documentation.get("mimeType").and_then(Value::as_str) {
            None | Some("") => {
                documentation.insert("mimeType".into(), json!("text/markdown"));
            }
            Some("text/markdown") => {}
            Some(other) => {
                return Err(invalid_field(
                    "alert_policy.documentation.mime_type",
                    other,
                    "only \"text/markdown\" is supported",
                ))
            }
        }
        if documentation.get("content").and_then(Value::as_str).is_some_and(|c| c.len() > 10_240) {
            return Err(invalid_field("alert_policy.documentation.content", "…", "at most 10240 bytes are allowed"));
        }
    }
    if let Some(strategy) = body.get("alertStrategy").filter(|v| !v.is_null()) {
        whole_seconds(strategy.get("autoClose"), "alert_policy.alert_strategy.auto_close", 1800, 604_800)?;
    }
    check_user_labels(body, AT)?;
    if !body.get("enabled").is_some_and(Value::is_boolean) {
        body.insert("enabled".into(), json!(true));
    }
    Ok(())
}

/// Gives each condition its name: kept when it names a condition the policy already has,
/// otherwise a new one.
fn name_conditions(body: &mut Map<String, Value>, policy_name: &str, existing: &[String]) {
    if let Some(Value::Array(conditions)) = body.get_mut("conditions") {
        for condition in conditions {
            let keep = condition.get("name").and_then(Value::as_str).is_some_and(|n| existing.iter().any(|e| e == n));
            if !keep {
                condition["name"] = json!(format!("{policy_name}/conditions/{}", numeric_id()));
            }
        }
    }
}

fn insert(
    ctx: &mut Ctx<'_>,
    project: &Project,
    mut body: Map<String, Value>,
    id: Option<String>,
) -> Result<StoredResource, ApiError> {
    check(ctx, &mut body)?;
    let id = id.unwrap_or_else(numeric_id);
    let name = project.name(COLLECTION, &id);
    name_conditions(&mut body, &name, &[]);
    let mut value = Map::new();
    value.insert("name".into(), json!(name));
    value.extend(body);
    let record = mutation_record(ctx.now);
    value.insert("creationRecord".into(), record.clone());
    value.insert("mutationRecord".into(), record);
    Ok(ctx.store.put(API, &project.key(COLLECTION, &id), Value::Object(value), Value::Null).clone())
}

pub(super) fn create(ctx: &mut Ctx<'_>, req: &ApiRequest, project: &Project) -> Result<Value, ApiError> {
    let body = writable_body(body_with_enums(req, POLICY_ENUMS, AT)?)?;
    let stored = insert(ctx, project, body, None)?;
    Ok(render(&stored, req.enum_ints))
}

pub(super) fn get(ctx: &mut Ctx<'_>, req: &ApiRequest, project: &Project, id: &str) -> Result<Value, ApiError> {
    Ok(render(stored(ctx, project, id)?, req.enum_ints))
}

pub(super) fn list(ctx: &mut Ctx<'_>, req: &ApiRequest, project: &Project) -> Result<Value, ApiError> {
    let prefix = project.prefix(COLLECTION);
    let items: Vec<Value> = ctx.store.children(API, &prefix).map(|(_, r)| r.value.clone()).collect();
    list_page(items, req, "alertPolicies", POLICY_ENUMS, true)
}

pub(super) fn patch(ctx: &mut Ctx<'_>, req: &ApiRequest, project: &Project, id: &str) -> Result<Value, ApiError> {
    let current = stored(ctx, project, id)?.clone();
    let body = writable_body(body_with_enums(req, POLICY_ENUMS, AT)?)?;
    let mask = UpdateMask::from_query(&req.query);
    mask.check(&MASK_RULES, |path, why| bad_mask_path(path, why, "AlertPolicy"))?;
    let mut next = if mask.is_empty() {
        // An empty mask replaces the policy, keeping its id (and the ids of conditions that
        // name themselves).
        body
    } else {
        let mut merged: Map<String, Value> = current
            .value
            .as_object()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|(k, _)| !["name", "creationRecord", "mutationRecord", "validity"].contains(&k.as_str()))
            .collect();
        mask.apply(&mut merged, &body);
        merged
    };
    check(ctx, &mut next)?;
    let existing: Vec<String> = current
        .value
        .get("conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_string))
        .collect();
    let name = project.name(COLLECTION, id);
    name_conditions(&mut next, &name, &existing);
    let mut value = Map::new();
    value.insert("name".into(), json!(name));
    value.extend(next);
    if let Some(created) = current.value.get("creationRecord") {
        value.insert("creationRecord".into(), created.clone());
    }
    value.insert("mutationRecord".into(), mutation_record(ctx.now));
    let stored = ctx.store.put(API, &project.key(COLLECTION, id), Value::Object(value), Value::Null).clone();
    Ok(render(&stored, req.enum_ints))
}

pub(super) fn delete(ctx: &mut Ctx<'_>, project: &Project, id: &str) -> Result<Value, ApiError> {
    stored(ctx, project, id)?;
    ctx.store.remove(API, &project.key(COLLECTION, id));
    Ok(json!({}))
}

pub(super) fn seed(ctx: &mut Ctx<'_>, s: &ScenarioObject) -> Result<(), ApiError> {
    let project = Project::resolve(ctx, &s.project);
    if s.verification_status.is_some() {
        return Err(invalid_argument("verificationStatus applies to notification channels only"));
    }
    let mut value = Value::Object(s.resource.clone());
    super::decode_enums(&mut value, POLICY_ENUMS, AT)?;
    let body = writable_body(value.as_object().cloned().unwrap_or_default())?;
    if let Some(id) = &s.id {
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid_argument(format!("id \"{id}\": alert policy ids are numeric")));
        }
        if ctx.store.contains(API, &project.key(COLLECTION, id)) {
            return Err(invalid_argument(format!("id \"{id}\" is seeded twice")));
        }
    }
    insert(ctx, &project, body, s.id.clone())?;
    Ok(())
}
