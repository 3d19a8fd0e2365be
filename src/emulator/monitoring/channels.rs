//! Notification channels (`projects/{p}/notificationChannels/{numeric id}`), their descriptors
//! (one per channel type the emulator knows) and verification.
//!
//! Sensitive labels (`auth_token`, `password`, `service_key`: the labels terraform-provider-
//! google treats as write-only) are obfuscated in every response, as the real API does: all
//! but the last four characters become `*` (a Slack `auth_token` reads back as
//! `"*****…9684"`, python-docs-samples#1852). The real values are kept only in the store's
//! internal data, never rendered.

use base64::Engine;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::super::api::{ApiRequest, Ctx};
use super::super::discovery;
use super::super::errors::{failed_precondition, invalid_argument, ApiError};
use super::super::mask::{MaskRules, UpdateMask};
use super::super::operations::timestamp;
use super::super::store::StoredResource;
use super::{
    bad_mask_path, body_with_enums, check_user_labels, encode_enums, entity_not_found, invalid_field, is_map_key_path,
    list_page, missing_field, mutation_record, numeric_id, EnumPath, Pairs, Project, ScenarioObject, API,
};

pub(super) const COLLECTION: &str = "notificationChannels";
const AT: &str = "notification_channel";

const VERIFICATION_STATUS: Pairs = &[("VERIFICATION_STATUS_UNSPECIFIED", 0), ("UNVERIFIED", 1), ("VERIFIED", 2)];
const CHANNEL_ENUMS: &[EnumPath] = &[("verificationStatus", VERIFICATION_STATUS)];
/// google.api.LaunchStage.
const LAUNCH_STAGE: Pairs = &[
    ("LAUNCH_STAGE_UNSPECIFIED", 0),
    ("EARLY_ACCESS", 1),
    ("ALPHA", 2),
    ("BETA", 3),
    ("GA", 4),
    ("DEPRECATED", 5),
    ("UNIMPLEMENTED", 6),
    ("PRELAUNCH", 7),
];
const DESCRIPTOR_ENUMS: &[EnumPath] = &[("launchStage", LAUNCH_STAGE)];

/// The labels whose values the API obfuscates on read.
pub const SENSITIVE_LABELS: &[&str] = &["auth_token", "password", "service_key"];

/// A channel type: its descriptor's text and labels (key, description, required).
struct ChannelType {
    name: &'static str,
    display_name: &'static str,
    description: &'static str,
    labels: &'static [(&'static str, &'static str, bool)],
    /// Channels of this type start UNVERIFIED and must be verified to work.
    verified: bool,
}

const CHANNEL_TYPES: &[ChannelType] = &[
    ChannelType {
        name: "email",
        display_name: "Email",
        description: "A channel that sends notifications by email.",
        labels: &[("email_address", "An address to send email.", true)],
        verified: true,
    },
    ChannelType {
        name: "google_chat",
        display_name: "Google Chat",
        description: "A channel that posts notifications to a Google Chat space.",
        labels: &[("space", "The Google Chat space, as spaces/{space}.", true)],
        verified: false,
    },
    ChannelType {
        name: "pagerduty",
        display_name: "PagerDuty Services",
        description: "A channel that opens PagerDuty incidents.",
        labels: &[("service_key", "The PagerDuty integration key.", true)],
        verified: false,
    },
    ChannelType {
        name: "pubsub",
        display_name: "Pub/Sub",
        description: "A channel that publishes notifications to a Pub/Sub topic.",
        labels: &[("topic", "The topic, as projects/{project}/topics/{topic}.", true)],
        verified: false,
    },
    ChannelType {
        name: "slack",
        display_name: "Slack",
        description: "A channel that posts notifications to a Slack channel.",
        labels: &[
            ("channel_name", "The Slack channel to post to, e.g. #alerts.", true),
            ("auth_token", "The Slack OAuth token.", true),
            ("team", "The Slack team.", false),
        ],
        verified: false,
    },
    ChannelType {
        name: "sms",
        display_name: "SMS",
        description: "A channel that sends notifications by SMS.",
        labels: &[("number", "The phone number, in E.164 format.", true)],
        verified: true,
    },
    ChannelType {
        name: "webhook_basicauth",
        display_name: "Webhooks with basic auth",
        description: "A channel that posts notifications to a URL with HTTP basic authentication.",
        labels: &[
            ("url", "The URL to post to.", true),
            ("username", "The basic auth user name.", true),
            ("password", "The basic auth password.", true),
        ],
        verified: false,
    },
    ChannelType {
        name: "webhook_tokenauth",
        display_name: "Webhooks",
        description: "A channel that posts notifications to a URL carrying a token.",
        labels: &[("url", "The URL to post to, with its token.", true)],
        verified: false,
    },
];

fn channel_type(name: &str) -> Option<&'static ChannelType> {
    CHANNEL_TYPES.iter().find(|t| t.name == name)
}

/// What the API shows of a sensitive value: `*` for all but its last four characters.
pub fn obfuscate(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let keep = if chars.len() > 4 { 4 } else { 0 };
    let mut out: String = "*".repeat(chars.len() - keep);
    out.extend(&chars[chars.len() - keep..]);
    out
}

const MASK_RULES: MaskRules<'static> = MaskRules {
    updatable: &["type", "displayName", "description", "labels", "userLabels", "enabled"],
    immutable: &["name"],
    output_only: &["verificationStatus", "creationRecord", "mutationRecords"],
    known: Some(&is_channel_path),
};

fn is_channel_path(path: &str) -> bool {
    is_map_key_path(path, &["labels", "userLabels"]) || discovery::of(API).knows_path("NotificationChannel", path)
}

fn render(stored: &StoredResource, ints: bool) -> Value {
    let mut value = stored.value.clone();
    encode_enums(&mut value, CHANNEL_ENUMS, ints);
    value
}

fn stored<'s>(ctx: &'s Ctx<'_>, project: &Project, id: &str) -> Result<&'s StoredResource, ApiError> {
    ctx.store.get(API, &project.key(COLLECTION, id)).ok_or_else(entity_not_found)
}

/// The writable fields of a request body: unknown fields refused, output-only ones dropped.
fn writable_body(req: &ApiRequest) -> Result<Map<String, Value>, ApiError> {
    let mut body = body_with_enums(req, CHANNEL_ENUMS, AT)?;
    discovery::of(API).check_body("NotificationChannel", &body, AT)?;
    discovery::of(API).strip_output_only("NotificationChannel", &mut body);
    body.remove("name");
    Ok(body)
}

/// Checks a channel's writable fields and fills the API's defaults (`enabled`).
fn check(body: &mut Map<String, Value>) -> Result<&'static ChannelType, ApiError> {
    let type_name = match body.get("type") {
        Some(Value::String(t)) if !t.is_empty() => t.clone(),
        _ => return Err(missing_field("notification_channel.type")),
    };
    let known: Vec<&str> = CHANNEL_TYPES.iter().map(|t| t.name).collect();
    let channel_type = channel_type(&type_name).ok_or_else(|| {
        invalid_field(
            "notification_channel.type",
            &type_name,
            &format!("unknown notification channel type; the supported types are {}", known.join(", ")),
        )
    })?;
    let labels = match body.get("labels") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(other) => return Err(invalid_field("notification_channel.labels", &other.to_string(), "not a map")),
    };
    for (key, value) in &labels {
        if !channel_type.labels.iter().any(|(k, _, _)| k == key) {
            let allowed: Vec<&str> = channel_type.labels.iter().map(|(k, _, _)| *k).collect();
            return Err(invalid_field(
                &format!("notification_channel.labels[{key}]"),
                value.as_str().map(|_| "…").unwrap_or_default(),
                &format!("channels of type {type_name} take the labels {}", allowed.join(", ")),
            ));
        }
    }
    for (key, _, required) in channel_type.labels {
        let given = labels.get(*key).and_then(Value::as_str).is_some_and(|v| !v.is_empty());
        if *required && !given {
            return Err(invalid_argument(format!(
                "Field notification_channel.labels is missing the label \"{key}\", which channels of type {type_name} require."
            )));
        }
    }
    if let Some(address) = labels.get("email_address").and_then(Value::as_str) {
        let (local, domain) = address.split_once('@').unwrap_or(("", ""));
        if local.is_empty() || !domain.contains('.') || address.contains(char::is_whitespace) {
            return Err(invalid_field("notification_channel.labels[email_address]", address, "not an email address"));
        }
    }
    for (field, limit) in [("displayName", 512), ("description", 1024)] {
        if body.get(field).and_then(Value::as_str).is_some_and(|s| s.chars().count() > limit) {
            return Err(invalid_field(
                &format!("notification_channel.{}", super::snake(field)),
                "…",
                &format!("at most {limit} characters are allowed"),
            ));
        }
    }
    check_user_labels(body, AT)?;
    if !body.get("enabled").is_some_and(Value::is_boolean) {
        body.insert("enabled".into(), json!(true));
    }
    Ok(channel_type)
}

/// Moves the sensitive label values of `body` into `secrets`, leaving their obfuscation.
fn hide_sensitive(body: &mut Map<String, Value>, secrets: &mut Map<String, Value>) {
    if let Some(Value::Object(labels)) = body.get_mut("labels") {
        for key in SENSITIVE_LABELS {
            if let Some(Value::String(real)) = labels.get(*key) {
                secrets.insert((*key).to_string(), json!(real));
                let shown = obfuscate(real);
                labels.insert((*key).to_string(), json!(shown));
            }
        }
    }
    secrets.retain(|key, _| body.get("labels").and_then(|l| l.get(key)).is_some());
}

/// The identity of a channel for verification: its type and non-sensitive labels.
fn identity(value: &Value) -> String {
    let labels = value.get("labels").cloned().unwrap_or(Value::Null);
    format!("{}|{}", value.get("type").and_then(Value::as_str).unwrap_or_default(), labels)
}

/// The code `getVerificationCode` hands out for a verified channel: valid for any channel of
/// the same identity.
fn identity_code(value: &Value) -> String {
    let digest = Sha256::digest(identity(value).as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..12])
}

/// Builds and stores a new channel; `id` pins the id (scenarios).
fn insert(
    ctx: &mut Ctx<'_>,
    project: &Project,
    mut body: Map<String, Value>,
    id: Option<String>,
    status: Option<&str>,
) -> Result<StoredResource, ApiError> {
    let channel_type = check(&mut body)?;
    let id = id.unwrap_or_else(numeric_id);
    let mut secrets = Map::new();
    hide_sensitive(&mut body, &mut secrets);
    let mut value = Map::new();
    value.insert("name".into(), json!(project.name(COLLECTION, &id)));
    value.extend(body);
    let status = status.map(str::to_string).or_else(|| channel_type.verified.then(|| "UNVERIFIED".to_string()));
    if let Some(status) = status {
        value.insert("verificationStatus".into(), json!(status));
    }
    value.insert("creationRecord".into(), mutation_record(ctx.now));
    let internal = json!({"sensitiveLabels": secrets});
    Ok(ctx.store.put(API, &project.key(COLLECTION, &id), Value::Object(value), internal).clone())
}

pub(super) fn create(ctx: &mut Ctx<'_>, req: &ApiRequest, project: &Project) -> Result<Value, ApiError> {
    let body = writable_body(req)?;
    let stored = insert(ctx, project, body, None, None)?;
    Ok(render(&stored, req.enum_ints))
}

pub(super) fn get(ctx: &mut Ctx<'_>, req: &ApiRequest, project: &Project, id: &str) -> Result<Value, ApiError> {
    Ok(render(stored(ctx, project, id)?, req.enum_ints))
}

pub(super) fn list(ctx: &mut Ctx<'_>, req: &ApiRequest, project: &Project) -> Result<Value, ApiError> {
    let prefix = project.prefix(COLLECTION);
    let items: Vec<Value> = ctx.store.children(API, &prefix).map(|(_, r)| r.value.clone()).collect();
    list_page(items, req, "notificationChannels", CHANNEL_ENUMS, true)
}

pub(super) fn patch(ctx: &mut Ctx<'_>, req: &ApiRequest, project: &Project, id: &str) -> Result<Value, ApiError> {
    let current = stored(ctx, project, id)?.clone();
    let body = writable_body(req)?;
    let mask = UpdateMask::from_query(&req.query);
    mask.check(&MASK_RULES, |path, why| bad_mask_path(path, why, "NotificationChannel"))?;
    let old_secrets = current.internal.get("sensitiveLabels").and_then(Value::as_object).cloned().unwrap_or_default();
    // The stored value with its real sensitive values back in, so that a mask that leaves a
    // sensitive label alone keeps it.
    let mut merged: Map<String, Value> = current
        .value
        .as_object()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| !["name", "verificationStatus", "creationRecord", "mutationRecords"].contains(&k.as_str()))
        .collect();
    if let Some(Value::Object(labels)) = merged.get_mut("labels") {
        for (key, real) in &old_secrets {
            if labels.contains_key(key) {
                labels.insert(key.clone(), real.clone());
            }
        }
    }
    let mut next = if mask.is_empty() {
        body
    } else {
        mask.apply(&mut merged, &body);
        merged
    };
    let channel_type = check(&mut next)?;
    let mut old_real = current.value.clone();
    if let Some(Value::Object(labels)) = old_real.get_mut("labels") {
        labels.extend(old_secrets.clone());
    }
    let changed_identity = identity(&old_real) != identity(&Value::Object(next.clone()));
    let mut secrets = Map::new();
    hide_sensitive(&mut next, &mut secrets);

    let mut value = Map::new();
    value.insert("name".into(), json!(project.name(COLLECTION, id)));
    value.extend(next);
    let status = match current.value.get("verificationStatus").and_then(Value::as_str) {
        _ if changed_identity && channel_type.verified => Some("UNVERIFIED".to_string()),
        Some(s) => Some(s.to_string()),
        None => channel_type.verified.then(|| "UNVERIFIED".to_string()),
    };
    if let Some(status) = status {
        value.insert("verificationStatus".into(), json!(status));
    }
    if let Some(created) = current.value.get("creationRecord") {
        value.insert("creationRecord".into(), created.clone());
    }
    let mut records = current.value.get("mutationRecords").and_then(Value::as_array).cloned().unwrap_or_default();
    records.push(mutation_record(ctx.now));
    value.insert("mutationRecords".into(), Value::Array(records));
    let mut internal = current.internal.clone();
    internal["sensitiveLabels"] = Value::Object(secrets);
    let stored = ctx.store.put(API, &project.key(COLLECTION, id), Value::Object(value), internal).clone();
    Ok(render(&stored, req.enum_ints))
}

/// Whether a channel reference in an alert policy (`projects/{id or number}/notificationChannels/{id}`)
/// names this channel.
pub(super) fn refers_to(ctx: &mut Ctx<'_>, reference: &str, project: &Project, id: &str) -> bool {
    match reference.split('/').collect::<Vec<_>>().as_slice() {
        ["projects", p, "notificationChannels", c] => *c == id && ctx.store.projects.number_for(p) == project.number,
        _ => false,
    }
}

pub(super) fn delete(ctx: &mut Ctx<'_>, req: &ApiRequest, project: &Project, id: &str) -> Result<Value, ApiError> {
    stored(ctx, project, id)?;
    let force = req.query.get("force").is_some_and(|v| v == "true" || v == "1");
    let policies: Vec<(String, Value)> = ctx
        .store
        .children(API, &project.prefix(super::alert_policies::COLLECTION))
        .map(|(k, r)| (k.clone(), r.value.clone()))
        .collect();
    let mut users = Vec::new();
    for (key, policy) in &policies {
        let channels: Vec<String> = policy
            .get("notificationChannels")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
        if channels.iter().any(|c| refers_to(ctx, c, project, id)) {
            users.push((key.clone(), policy.clone(), channels));
        }
    }
    if !users.is_empty() && !force {
        let names: Vec<String> =
            users.iter().map(|(_, p, _)| format!("\"{}\"", p["name"].as_str().unwrap_or_default())).collect();
        return Err(failed_precondition(format!(
            "Could not delete \"{}\" because it is still being referenced by: {}",
            project.name(COLLECTION, id),
            names.join(", ")
        )));
    }
    // force: the policies that used the channel lose it (the API's documented behaviour).
    for (key, mut policy, channels) in users {
        let kept: Vec<Value> =
            channels.into_iter().filter(|c| !refers_to(ctx, c, project, id)).map(Value::String).collect();
        if let Value::Object(map) = &mut policy {
            if kept.is_empty() {
                map.remove("notificationChannels");
            } else {
                map.insert("notificationChannels".into(), Value::Array(kept));
            }
            map.insert("mutationRecord".into(), mutation_record(ctx.now));
        }
        let internal = ctx.store.get(API, &key).map(|r| r.internal.clone()).unwrap_or(Value::Null);
        ctx.store.put(API, &key, policy, internal);
    }
    ctx.store.remove(API, &project.key(COLLECTION, id));
    Ok(json!({}))
}

// ---- verification ----

pub(super) fn send_code(ctx: &mut Ctx<'_>, req: &ApiRequest, project: &Project, id: &str) -> Result<Value, ApiError> {
    let body = req.json_body()?;
    discovery::of(API).check_body("SendNotificationChannelVerificationCodeRequest", &body, "body")?;
    let current = stored(ctx, project, id)?.clone();
    let type_name = current.value["type"].as_str().unwrap_or_default().to_string();
    if !channel_type(&type_name).is_some_and(|t| t.verified) {
        return Err(failed_precondition(format!("Channels of type {type_name} do not need verification.")));
    }
    // The code the channel would receive (an email, a text message): `G-` and six digits.
    let code = format!("G-{:06}", rand::random::<u32>() % 1_000_000);
    let mut internal = current.internal.clone();
    internal["sentCode"] = json!(code);
    ctx.store.put(API, &project.key(COLLECTION, id), current.value.clone(), internal);
    Ok(json!({}))
}

pub(super) fn get_code(ctx: &mut Ctx<'_>, req: &ApiRequest, project: &Project, id: &str) -> Result<Value, ApiError> {
    let body = req.json_body()?;
    discovery::of(API).check_body("GetNotificationChannelVerificationCodeRequest", &body, "body")?;
    let current = stored(ctx, project, id)?;
    if current.value.get("verificationStatus").and_then(Value::as_str) != Some("VERIFIED") {
        return Err(failed_precondition(
            "A verification code can only be retrieved for a channel that is already verified.",
        ));
    }
    // At most a week ahead (the API's documented limit); a default of one hour.
    let max = ctx.now + chrono::Duration::days(7);
    let expires = match body.get("expireTime").and_then(Value::as_str) {
        None => ctx.now + chrono::Duration::hours(1),
        Some(text) => {
            let at = chrono::DateTime::parse_from_rfc3339(text)
                .map_err(|_| invalid_field("expire_time", text, "not an RFC 3339 timestamp"))?
                .with_timezone(&chrono::Utc);
            if at <= ctx.now {
                return Err(invalid_field("expire_time", text, "the expiration must be in the future"));
            }
            at.min(max)
        }
    };
    let mut identity_value = current.value.clone();
    if let (Some(Value::Object(labels)), Some(Value::Object(secrets))) =
        (identity_value.get_mut("labels"), current.internal.get("sensitiveLabels"))
    {
        labels.extend(secrets.clone());
    }
    Ok(json!({"code": identity_code(&identity_value), "expireTime": timestamp(expires)}))
}

pub(super) fn verify(ctx: &mut Ctx<'_>, req: &ApiRequest, project: &Project, id: &str) -> Result<Value, ApiError> {
    let body = req.json_body()?;
    discovery::of(API).check_body("VerifyNotificationChannelRequest", &body, "body")?;
    let code = match body.get("code").and_then(Value::as_str) {
        Some(c) if !c.is_empty() => c.to_string(),
        _ => return Err(missing_field("code")),
    };
    let current = stored(ctx, project, id)?.clone();
    let mut real = current.value.clone();
    if let (Some(Value::Object(labels)), Some(Value::Object(secrets))) =
        (real.get_mut("labels"), current.internal.get("sensitiveLabels"))
    {
        labels.extend(secrets.clone());
    }
    let sent = current.internal.get("sentCode").and_then(Value::as_str);
    if sent != Some(code.as_str()) && identity_code(&real) != code {
        return Err(invalid_argument("The verification code is not valid for this notification channel."));
    }
    let mut value = current.value.clone();
    value["verificationStatus"] = json!("VERIFIED");
    let mut internal = current.internal.clone();
    if let Value::Object(map) = &mut internal {
        map.remove("sentCode");
    }
    let stored = ctx.store.put(API, &project.key(COLLECTION, id), value, internal).clone();
    Ok(render(&stored, req.enum_ints))
}

// ---- descriptors ----

fn descriptor(project: &Project, t: &ChannelType) -> Value {
    let labels: Vec<Value> =
        t.labels.iter().map(|(key, description, _)| json!({"key": key, "description": description})).collect();
    json!({
        "name": format!("projects/{}/notificationChannelDescriptors/{}", project.id, t.name),
        "type": t.name,
        "displayName": t.display_name,
        "description": t.description,
        "labels": labels,
        "launchStage": "GA",
    })
}

pub(super) fn list_descriptors(req: &ApiRequest, project: &Project) -> Result<Value, ApiError> {
    let items: Vec<Value> = CHANNEL_TYPES.iter().map(|t| descriptor(project, t)).collect();
    list_page(items, req, "channelDescriptors", DESCRIPTOR_ENUMS, false).map(|mut v| {
        if let Value::Object(m) = &mut v {
            m.remove("totalSize");
        }
        v
    })
}

pub(super) fn get_descriptor(req: &ApiRequest, project: &Project, type_name: &str) -> Result<Value, ApiError> {
    let t = channel_type(type_name).ok_or_else(entity_not_found)?;
    let mut value = descriptor(project, t);
    encode_enums(&mut value, DESCRIPTOR_ENUMS, req.enum_ints);
    Ok(value)
}

// ---- scenario seeding ----

pub(super) fn seed(ctx: &mut Ctx<'_>, s: &ScenarioObject) -> Result<(), ApiError> {
    let project = Project::resolve(ctx, &s.project);
    let mut body = s.resource.clone();
    discovery::of(API).check_body("NotificationChannel", &body, AT)?;
    discovery::of(API).strip_output_only("NotificationChannel", &mut body);
    body.remove("name");
    if let Some(status) = &s.verification_status {
        if !VERIFICATION_STATUS.iter().any(|(name, _)| name == status) {
            return Err(invalid_argument(format!(
                "verificationStatus \"{status}\" is not one of VERIFICATION_STATUS_UNSPECIFIED, UNVERIFIED, VERIFIED"
            )));
        }
    }
    if let Some(id) = &s.id {
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid_argument(format!("id \"{id}\": channel ids are numeric")));
        }
        if ctx.store.contains(API, &project.key(COLLECTION, id)) {
            return Err(invalid_argument(format!("id \"{id}\" is seeded twice")));
        }
    }
    insert(ctx, &project, body, s.id.clone(), s.verification_status.as_deref())?;
    Ok(())
}
