//! Cloud Monitoring API v3 (`monitoring.googleapis.com`): alert policies, notification channels
//! (and their descriptors and verification), uptime check configs and the uptime checkers' IP
//! addresses, per the discovery document (revision 20260129) and the google.monitoring.v3
//! protos the official SDK is generated from. Every call is synchronous (no operations).
//!
//! Resources live in the store under `projects/{NUMBER}/{collection}/{id}`, so a project id and
//! its number reach the same object; names are rendered with the project id, as the API does.
//!
//! - `alert_policies`, `channels`, `uptime`: one collection each (create, get, list, patch with
//!   `updateMask`, delete, and the API's validation of what they hold).
//! - `metrics`: the metric types the emulator knows, for "Cannot find metric(s) that match
//!   type = …", and the parsing of a Monitoring filter down to the metric types it names.

mod alert_policies;
mod channels;
pub mod metrics;
mod uptime;

#[cfg(test)]
mod tests;

use axum::http::Method;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::api::{json_field_name, list_response, paginate, Api, ApiRequest, Ctx};
use super::enums::visit;
use super::errors::{invalid_argument, not_found, ApiError, Envelope};
use super::filter::Filter;
use super::operations::timestamp;

pub const API: &str = "monitoring";

/// Who the emulator says made a change (`mutatedBy`), as its other APIs do.
const USER: &str = "user@example.com";

/// The page size when none is asked for, and the most one page holds (the API's documented
/// maximum for alert policies; the others say "a reasonable value").
const MAX_PAGE_SIZE: usize = 1000;

pub struct Monitoring;

/// A project as a request names it: the store key uses the number, rendered names the id.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Project {
    pub number: String,
    pub id: String,
}

impl Project {
    fn resolve(ctx: &mut Ctx<'_>, id_or_number: &str) -> Project {
        let number = ctx.store.projects.number_for(id_or_number);
        let id = ctx.store.projects.id_for(&number);
        Project { number, id }
    }

    /// The store key of `collection/id` in this project.
    fn key(&self, collection: &str, id: &str) -> String {
        format!("projects/{}/{collection}/{id}", self.number)
    }

    /// The name the API renders for `collection/id` in this project.
    fn name(&self, collection: &str, id: &str) -> String {
        format!("projects/{}/{collection}/{id}", self.id)
    }

    fn prefix(&self, collection: &str) -> String {
        format!("projects/{}/{collection}/", self.number)
    }
}

#[derive(Debug, PartialEq)]
enum Target {
    AlertPolicies(String),
    AlertPolicy(String, String),
    Channels(String),
    /// A channel, and the custom verb after `:` (`sendVerificationCode`, `verify`…).
    Channel(String, String, Option<String>),
    Descriptors(String),
    Descriptor(String, String),
    UptimeChecks(String),
    UptimeCheck(String, String),
    UptimeIps,
}

const COLLECTIONS: &[&str] =
    &["alertPolicies", "notificationChannels", "notificationChannelDescriptors", "uptimeCheckConfigs"];

impl Api for Monitoring {
    fn name(&self) -> &'static str {
        API
    }

    fn envelope(&self) -> Envelope {
        Envelope::Aip
    }

    fn claims(&self, path: &str) -> bool {
        let segs: Vec<&str> = path.split('/').collect();
        match segs.as_slice() {
            ["v3", "uptimeCheckIps"] => true,
            ["v3", "projects", _, collection, ..] => {
                COLLECTIONS.contains(&collection.split(':').next().unwrap_or(collection))
            }
            _ => false,
        }
    }

    fn handle(&self, ctx: &mut Ctx<'_>, req: &ApiRequest) -> Result<Value, ApiError> {
        let m = &req.method;
        let no_method = || not_found(format!("The Monitoring API has no method {} /{}.", req.method, req.path));
        match parse_target(&req.path)? {
            Target::AlertPolicies(p) => {
                let project = Project::resolve(ctx, &p);
                match *m {
                    Method::GET => alert_policies::list(ctx, req, &project),
                    Method::POST => alert_policies::create(ctx, req, &project),
                    _ => Err(no_method()),
                }
            }
            Target::AlertPolicy(p, id) => {
                let project = Project::resolve(ctx, &p);
                match *m {
                    Method::GET => alert_policies::get(ctx, req, &project, &id),
                    Method::PATCH => alert_policies::patch(ctx, req, &project, &id),
                    Method::DELETE => alert_policies::delete(ctx, &project, &id),
                    _ => Err(no_method()),
                }
            }
            Target::Channels(p) => {
                let project = Project::resolve(ctx, &p);
                match *m {
                    Method::GET => channels::list(ctx, req, &project),
                    Method::POST => channels::create(ctx, req, &project),
                    _ => Err(no_method()),
                }
            }
            Target::Channel(p, id, verb) => {
                let project = Project::resolve(ctx, &p);
                match (m.clone(), verb.as_deref()) {
                    (Method::GET, None) => channels::get(ctx, req, &project, &id),
                    (Method::PATCH, None) => channels::patch(ctx, req, &project, &id),
                    (Method::DELETE, None) => channels::delete(ctx, req, &project, &id),
                    (Method::POST, Some("sendVerificationCode")) => channels::send_code(ctx, req, &project, &id),
                    (Method::POST, Some("getVerificationCode")) => channels::get_code(ctx, req, &project, &id),
                    (Method::POST, Some("verify")) => channels::verify(ctx, req, &project, &id),
                    _ => Err(no_method()),
                }
            }
            Target::Descriptors(p) if m == Method::GET => {
                let project = Project::resolve(ctx, &p);
                channels::list_descriptors(req, &project)
            }
            Target::Descriptor(p, channel_type) if m == Method::GET => {
                let project = Project::resolve(ctx, &p);
                channels::get_descriptor(req, &project, &channel_type)
            }
            Target::UptimeChecks(p) => {
                let project = Project::resolve(ctx, &p);
                match *m {
                    Method::GET => uptime::list(ctx, req, &project),
                    Method::POST => uptime::create(ctx, req, &project),
                    _ => Err(no_method()),
                }
            }
            Target::UptimeCheck(p, id) => {
                let project = Project::resolve(ctx, &p);
                match *m {
                    Method::GET => uptime::get(ctx, req, &project, &id),
                    Method::PATCH => uptime::patch(ctx, req, &project, &id),
                    Method::DELETE => uptime::delete(ctx, &project, &id),
                    _ => Err(no_method()),
                }
            }
            Target::UptimeIps if m == Method::GET => uptime::list_ips(req),
            _ => Err(no_method()),
        }
    }

    fn seed(&self, ctx: &mut Ctx<'_>, section: &Value) -> Result<(), String> {
        let scenario: ScenarioSection =
            serde_json::from_value(section.clone()).map_err(|e| format!("monitoring: {e}"))?;
        // Channels first: alert policies refer to them.
        for (i, s) in scenario.notification_channels.iter().enumerate() {
            channels::seed(ctx, s).map_err(|e| format!("monitoring.notificationChannels[{i}]: {}", e.message))?;
        }
        for (i, s) in scenario.alert_policies.iter().enumerate() {
            alert_policies::seed(ctx, s).map_err(|e| format!("monitoring.alertPolicies[{i}]: {}", e.message))?;
        }
        for (i, s) in scenario.uptime_check_configs.iter().enumerate() {
            uptime::seed(ctx, s).map_err(|e| format!("monitoring.uptimeCheckConfigs[{i}]: {}", e.message))?;
        }
        Ok(())
    }
}

fn parse_target(path: &str) -> Result<Target, ApiError> {
    let segs: Vec<&str> = path.split('/').collect();
    let bad = || not_found(format!("The Monitoring API has no resource /{path}."));
    let non_empty = |s: &&str| !s.is_empty();
    match segs.as_slice() {
        ["v3", "uptimeCheckIps"] => Ok(Target::UptimeIps),
        ["v3", "projects", p, rest @ ..] if non_empty(p) => {
            let p = p.to_string();
            match rest {
                ["alertPolicies"] => Ok(Target::AlertPolicies(p)),
                ["alertPolicies", id] if non_empty(id) => Ok(Target::AlertPolicy(p, id.to_string())),
                ["notificationChannels"] => Ok(Target::Channels(p)),
                ["notificationChannels", id] if non_empty(id) => {
                    let (id, verb) = match id.split_once(':') {
                        Some((id, verb)) => (id, Some(verb.to_string())),
                        None => (*id, None),
                    };
                    if id.is_empty() {
                        return Err(bad());
                    }
                    Ok(Target::Channel(p, id.to_string(), verb))
                }
                ["notificationChannelDescriptors"] => Ok(Target::Descriptors(p)),
                ["notificationChannelDescriptors", t] if non_empty(t) => Ok(Target::Descriptor(p, t.to_string())),
                ["uptimeCheckConfigs"] => Ok(Target::UptimeChecks(p)),
                ["uptimeCheckConfigs", id] if non_empty(id) => Ok(Target::UptimeCheck(p, id.to_string())),
                _ => Err(bad()),
            }
        }
        _ => Err(bad()),
    }
}

// ---- errors ----

/// What the API answers for a name that does not exist, whatever the collection.
fn entity_not_found() -> ApiError {
    not_found("Requested entity was not found.")
}

/// The API's wording for a field that fails validation: `Field alert_policy.combiner had an
/// invalid value of "COMBINE_UNSPECIFIED": …` (observed on alignment periods and missing-data
/// settings).
fn invalid_field(path: &str, value: &str, why: &str) -> ApiError {
    invalid_argument(format!("Field {path} had an invalid value of \"{value}\": {why}"))
}

/// The API's wording for a required field left out.
fn missing_field(path: &str) -> ApiError {
    invalid_argument(format!("Field {path} is required but was not set."))
}

/// A JSON value as the error messages quote it: strings bare, anything else as JSON.
fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

// ---- durations ----

/// A google.protobuf.Duration in its JSON form (`"60s"`, `"1.5s"`): whole seconds and nanos,
/// or `None` for anything else.
pub(crate) fn parse_duration(text: &str) -> Option<(i64, i32)> {
    let body = text.strip_suffix('s')?;
    let (negative, body) = match body.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, body),
    };
    let (whole, fraction) = body.split_once('.').unwrap_or((body, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || fraction.len() > 9 {
        return None;
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let seconds: i64 = whole.parse().ok()?;
    let nanos: i32 = if fraction.is_empty() { 0 } else { format!("{fraction:0<9}").parse().ok()? };
    Some(if negative { (-seconds, -nanos) } else { (seconds, nanos) })
}

/// A duration field that must be whole seconds within `min..=max`, with the API's wording
/// for each way it can be wrong; `None` when the field is absent.
fn whole_seconds(raw: Option<&Value>, path: &str, min: i64, max: i64) -> Result<Option<i64>, ApiError> {
    let Some(raw) = raw.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let text = raw.as_str().ok_or_else(|| invalid_field(path, &shown(raw), "not a duration"))?;
    let (seconds, nanos) = parse_duration(text)
        .ok_or_else(|| invalid_field(path, text, "not a duration: expected a number of seconds such as \"60s\""))?;
    if nanos != 0 {
        return Err(invalid_field(path, text, "the duration must be a whole number of seconds"));
    }
    if seconds < min || seconds > max {
        return Err(invalid_field(path, text, &format!("the duration must be between {min}s and {max}s")));
    }
    Ok(Some(seconds))
}

// ---- records and ids ----

fn mutation_record(now: DateTime<Utc>) -> Value {
    json!({"mutateTime": timestamp(now), "mutatedBy": USER})
}

/// A server-assigned numeric id, as alert policies, their conditions and notification
/// channels get (a uint64 in decimal, e.g. `12669073143329903307`).
fn numeric_id() -> String {
    rand::random::<u64>().to_string()
}

// ---- user labels ----

/// `userLabels` as the API allows them: at most 64, keys starting with a lowercase letter,
/// keys and values of lowercase letters, digits, `_` and `-`, at most 63 characters.
fn check_user_labels(body: &Map<String, Value>, at: &str) -> Result<(), ApiError> {
    let Some(labels) = body.get("userLabels").filter(|v| !v.is_null()) else {
        return Ok(());
    };
    let path = format!("{at}.user_labels");
    let map = labels.as_object().ok_or_else(|| invalid_field(&path, &shown(labels), "not a map"))?;
    if map.len() > 64 {
        return Err(invalid_field(&path, &format!("{} entries", map.len()), "at most 64 user labels are allowed"));
    }
    let allowed =
        |s: &str| s.chars().count() <= 63 && s.bytes().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-'));
    for (key, value) in map {
        let value = value.as_str().unwrap_or_default();
        if !key.bytes().next().is_some_and(|b| b.is_ascii_lowercase()) || !allowed(key) {
            return Err(invalid_field(
                &path,
                key,
                "label keys must begin with a lowercase letter and contain only lowercase letters, numerals, underscores and dashes (at most 63 characters)",
            ));
        }
        if !allowed(value) {
            return Err(invalid_field(
                &format!("{path}[{key}]"),
                value,
                "label values may contain only lowercase letters, numerals, underscores and dashes (at most 63 characters)",
            ));
        }
    }
    Ok(())
}

/// Whether an update mask path names a key of a map field (`user_labels.team`), which the
/// API accepts as a mask entry.
fn is_map_key_path(path: &str, map_fields: &[&str]) -> bool {
    map_fields.iter().any(|field| {
        path.strip_prefix(field)
            .and_then(|rest| rest.strip_prefix('.'))
            .is_some_and(|key| !key.is_empty() && !key.contains('.'))
    })
}

/// The refusal of an update mask path, in the API's words.
fn bad_mask_path(path: &str, why: super::mask::Refusal, resource: &str) -> ApiError {
    use super::mask::Refusal;
    let why = match why {
        Refusal::Immutable => "the field cannot be changed",
        Refusal::OutputOnly => "the field is output only",
        Refusal::Unknown => "no such updatable field",
    };
    invalid_argument(format!("Invalid update_mask path \"{path}\" for {resource}: {why}."))
}

// ---- enums ----

/// Enum names and numbers (google.monitoring.v3's, as in the SDK's model); several run
/// sparsely (aligners skip 5–9, status classes are 100…1000), hence pairs.
type Pairs = &'static [(&'static str, i64)];
/// A dotted path (`name[]` walks an array) and its enum.
type EnumPath = (&'static str, Pairs);

/// Names → numbers in a response when the request asked for `enum-encoding=int`.
fn encode_enums(value: &mut Value, fields: &[EnumPath], ints: bool) {
    if !ints {
        return;
    }
    for (path, pairs) in fields {
        visit(value, path, &mut |leaf| {
            if let Some((_, n)) = leaf.as_str().and_then(|s| pairs.iter().find(|(name, _)| *name == s)) {
                *leaf = Value::from(*n);
            }
        });
    }
}

/// Numbers → names in a request body (the SDK sends numbers); a number or name the enum does
/// not have is refused.
fn decode_enums(value: &mut Value, fields: &[EnumPath], at: &str) -> Result<(), ApiError> {
    let mut problem = None;
    for (path, pairs) in fields {
        visit(value, path, &mut |leaf| {
            let known = match leaf {
                Value::Number(n) => match pairs.iter().find(|(_, number)| Some(*number) == n.as_i64()) {
                    Some((name, _)) => {
                        *leaf = Value::String((*name).to_string());
                        true
                    }
                    None => false,
                },
                Value::String(s) => pairs.iter().any(|(name, _)| name == s),
                Value::Null => true,
                _ => false,
            };
            if !known {
                let field: Vec<String> = path.replace("[]", "").split('.').map(snake).collect();
                problem.get_or_insert_with(|| {
                    invalid_argument(format!("Invalid value at '{at}.{}' ({}), {}", field.join("."), "TYPE_ENUM", leaf))
                });
            }
        });
    }
    problem.map_or(Ok(()), Err)
}

/// `ipConfiguration` → `ip_configuration`, for error locations.
fn snake(field: &str) -> String {
    let mut out = String::with_capacity(field.len() + 4);
    for c in field.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

// ---- listing ----

/// A Monitoring list filter (`type = "email" AND user_labels.team = "core"`) in the form the
/// emulator's AIP-160 evaluator reads: no spaces around operators, JSON field names. The
/// filter functions (`starts_with(…)`, `one_of(…)`…) are refused rather than misread.
fn list_filter(text: &str) -> Result<Filter, ApiError> {
    let mut compact = String::with_capacity(text.len());
    let mut quoted = false;
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c == '"' {
            quoted = !quoted;
        }
        if !quoted && c.is_whitespace() {
            let prev = compact.chars().last();
            let next = chars[i + 1..].iter().find(|c| !c.is_whitespace());
            if matches!(prev, Some('=' | ':' | '!' | '<' | '>')) || matches!(next, Some('=' | ':' | '!' | '<' | '>')) {
                continue;
            }
        }
        if !quoted && c == '(' {
            return Err(invalid_argument(format!(
                "Invalid filter \"{text}\": the Cairn emulator supports only conjunctions of field = value and field : value terms"
            )));
        }
        compact.push(c);
    }
    let mut terms = Vec::new();
    for token in tokens(&compact) {
        let split = token.find(['=', ':']);
        match split {
            Some(at) if !token.starts_with('"') => {
                let (field, rest) = token.split_at(at);
                terms.push(format!("{}{rest}", json_path(field)));
            }
            _ => terms.push(token),
        }
    }
    Filter::parse(&terms.join(" "))
}

/// Splits on whitespace outside double quotes.
fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in text.chars() {
        if c == '"' {
            quoted = !quoted;
        }
        if c.is_whitespace() && !quoted {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
        } else {
            current.push(c);
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// A filter or orderBy field path in the JSON spelling; the keys of label maps stay as they
/// are (`user_labels.team_name` → `userLabels.team_name`).
fn json_path(field: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut in_labels = false;
    for segment in field.split('.') {
        if in_labels {
            out.push(segment.to_string());
            in_labels = false;
            continue;
        }
        let json = json_field_name(segment);
        in_labels = json == "labels" || json == "userLabels";
        out.push(json);
    }
    out.join(".")
}

/// The value at a dotted JSON path, as text for sorting.
fn sort_key(value: &Value, path: &str) -> String {
    let mut node = value;
    for key in path.split('.') {
        match node.get(key) {
            Some(next) => node = next,
            None => return String::new(),
        }
    }
    shown(node)
}

/// One page of a collection: filtered (`filter`), ordered (`orderBy`, where the method has
/// it), with `totalSize` the number of matches on all pages.
fn list_page(
    items: Vec<Value>,
    req: &ApiRequest,
    field: &str,
    enums: &[EnumPath],
    order_by: bool,
) -> Result<Value, ApiError> {
    let mut items = items;
    if let Some(text) = req.query.get("filter") {
        let filter = list_filter(text)?;
        items.retain(|item| filter.matches(item));
    }
    if let Some(order) = req.query.get("orderBy").filter(|_| order_by) {
        let keys: Vec<(String, bool)> = order
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(|k| match k.strip_prefix('-') {
                Some(rest) => (json_path(rest.trim()), true),
                None => (json_path(k), false),
            })
            .collect();
        items.sort_by(|a, b| {
            for (path, descending) in &keys {
                let ordering = sort_key(a, path).cmp(&sort_key(b, path));
                let ordering = if *descending { ordering.reverse() } else { ordering };
                if ordering != std::cmp::Ordering::Equal {
                    return ordering;
                }
            }
            std::cmp::Ordering::Equal
        });
    }
    let total = items.len();
    let (page, next) = paginate(items, &req.query, MAX_PAGE_SIZE, MAX_PAGE_SIZE)?;
    let page: Vec<Value> = page
        .into_iter()
        .map(|mut item| {
            encode_enums(&mut item, enums, req.enum_ints);
            item
        })
        .collect();
    let mut out = list_response(field, page, next);
    if let Value::Object(map) = &mut out {
        if total > 0 {
            map.insert("totalSize".into(), json!(total));
        }
    }
    Ok(out)
}

/// The request body as an object with its enums decoded to names.
fn body_with_enums(req: &ApiRequest, enums: &[EnumPath], at: &str) -> Result<Map<String, Value>, ApiError> {
    let mut value = Value::Object(req.json_body()?);
    decode_enums(&mut value, enums, at)?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Ok(Map::new()),
    }
}

// ---- scenario seeding ----

/// The `monitoring` section of a scenario file (see `scenario.rs`).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ScenarioSection {
    #[serde(default)]
    notification_channels: Vec<ScenarioObject>,
    #[serde(default)]
    alert_policies: Vec<ScenarioObject>,
    #[serde(default)]
    uptime_check_configs: Vec<ScenarioObject>,
}

/// One seeded object: its project, an optional pinned id (so other seeds and tests can name
/// it), the resource as one would create it, and, for channels, a verification status.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ScenarioObject {
    project: String,
    #[serde(default)]
    id: Option<String>,
    #[serde(alias = "channel", alias = "policy", alias = "config")]
    resource: Map<String, Value>,
    #[serde(default)]
    verification_status: Option<String>,
}
