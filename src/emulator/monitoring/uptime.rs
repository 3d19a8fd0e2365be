//! Uptime check configs (`projects/{p}/uptimeCheckConfigs/{slug of the display name}-{suffix}`)
//! and the checkers' addresses (`v3/uptimeCheckIps`), with the API's checks: timeout and
//! period, one target and one protocol, regions, content matchers, checker type.

use base64::Engine;
use serde_json::{json, Map, Value};

use super::super::api::{paginate, ApiRequest, Ctx};
use super::super::discovery;
use super::super::errors::{invalid_argument, ApiError};
use super::super::mask::{MaskRules, UpdateMask};
use super::super::store::StoredResource;
use super::{
    bad_mask_path, body_with_enums, check_user_labels, encode_enums, entity_not_found, invalid_field, is_map_key_path,
    list_page, missing_field, shown, whole_seconds, EnumPath, Pairs, Project, ScenarioObject, API,
};

pub(super) const COLLECTION: &str = "uptimeCheckConfigs";
const AT: &str = "uptime_check_config";

const CHECKER_TYPE: Pairs = &[("CHECKER_TYPE_UNSPECIFIED", 0), ("STATIC_IP_CHECKERS", 1), ("VPC_CHECKERS", 3)];
const REGION: Pairs = &[
    ("REGION_UNSPECIFIED", 0),
    ("USA", 1),
    ("EUROPE", 2),
    ("SOUTH_AMERICA", 3),
    ("ASIA_PACIFIC", 4),
    ("USA_OREGON", 5),
    ("USA_IOWA", 6),
    ("USA_VIRGINIA", 7),
];
const METHOD: Pairs = &[("METHOD_UNSPECIFIED", 0), ("GET", 1), ("POST", 2)];
const CONTENT_TYPE: Pairs = &[("TYPE_UNSPECIFIED", 0), ("URL_ENCODED", 1), ("USER_PROVIDED", 2)];
const STATUS_CLASS: Pairs = &[
    ("STATUS_CLASS_UNSPECIFIED", 0),
    ("STATUS_CLASS_1XX", 100),
    ("STATUS_CLASS_2XX", 200),
    ("STATUS_CLASS_3XX", 300),
    ("STATUS_CLASS_4XX", 400),
    ("STATUS_CLASS_5XX", 500),
    ("STATUS_CLASS_ANY", 1000),
];
const SERVICE_AGENT_AUTH: Pairs = &[("SERVICE_AGENT_AUTHENTICATION_TYPE_UNSPECIFIED", 0), ("OIDC_TOKEN", 1)];
const MATCHER: Pairs = &[
    ("CONTENT_MATCHER_OPTION_UNSPECIFIED", 0),
    ("CONTAINS_STRING", 1),
    ("NOT_CONTAINS_STRING", 2),
    ("MATCHES_REGEX", 3),
    ("NOT_MATCHES_REGEX", 4),
    ("MATCHES_JSON_PATH", 5),
    ("NOT_MATCHES_JSON_PATH", 6),
];
const JSON_MATCHER: Pairs = &[("JSON_PATH_MATCHER_OPTION_UNSPECIFIED", 0), ("EXACT_MATCH", 1), ("REGEX_MATCH", 2)];
const GROUP_RESOURCE_TYPE: Pairs = &[("RESOURCE_TYPE_UNSPECIFIED", 0), ("INSTANCE", 1), ("AWS_ELB_LOAD_BALANCER", 2)];
const CHECKER_STATE: Pairs = &[("UNSPECIFIED", 0), ("CREATING", 1), ("RUNNING", 2)];

const UPTIME_ENUMS: &[EnumPath] = &[
    ("checkerType", CHECKER_TYPE),
    ("selectedRegions[]", REGION),
    ("httpCheck.requestMethod", METHOD),
    ("httpCheck.contentType", CONTENT_TYPE),
    ("httpCheck.acceptedResponseStatusCodes[].statusClass", STATUS_CLASS),
    ("httpCheck.serviceAgentAuthentication.type", SERVICE_AGENT_AUTH),
    ("contentMatchers[].matcher", MATCHER),
    ("contentMatchers[].jsonPathMatcher.jsonMatcher", JSON_MATCHER),
    ("resourceGroup.resourceType", GROUP_RESOURCE_TYPE),
    ("internalCheckers[].state", CHECKER_STATE),
];
const IP_ENUMS: &[EnumPath] = &[("uptimeCheckIps[].region", REGION)];

/// The monitored resource types an uptime check may target (the field's documentation).
const RESOURCE_TYPES: &[&str] = &[
    "uptime_url",
    "gce_instance",
    "gae_app",
    "aws_ec2_instance",
    "aws_elb_load_balancer",
    "k8s_service",
    "servicedirectory_service",
    "cloud_run_revision",
];

const PERIODS: &[&str] = &["60s", "300s", "600s", "900s"];

/// What headers read back as when `maskHeaders` is set.
const MASKED: &str = "******";

const MASK_RULES: MaskRules<'static> = MaskRules {
    updatable: &[
        "displayName",
        "httpCheck",
        "tcpCheck",
        "timeout",
        "period",
        "contentMatchers",
        "selectedRegions",
        "userLabels",
        "isInternal",
        "internalCheckers",
        "logCheckFailures",
        "disabled",
        "syntheticMonitor",
    ],
    immutable: &["name", "monitoredResource", "resourceGroup", "checkerType", "httpCheck.requestMethod"],
    output_only: &[],
    known: Some(&is_uptime_path),
};

/// Fields that keep their value for the life of a check, with their proto names.
const FIXED: &[(&str, &str)] = &[
    ("monitoredResource", "monitored_resource"),
    ("resourceGroup", "resource_group"),
    ("checkerType", "checker_type"),
];

fn is_uptime_path(path: &str) -> bool {
    is_map_key_path(path, &["userLabels"]) || discovery::of(API).knows_path("UptimeCheckConfig", path)
}

fn render(stored: &StoredResource, ints: bool) -> Value {
    let mut value = stored.value.clone();
    encode_enums(&mut value, UPTIME_ENUMS, ints);
    value
}

fn stored<'s>(ctx: &'s Ctx<'_>, project: &Project, id: &str) -> Result<&'s StoredResource, ApiError> {
    ctx.store.get(API, &project.key(COLLECTION, id)).ok_or_else(entity_not_found)
}

fn writable_body(body: Map<String, Value>) -> Result<Map<String, Value>, ApiError> {
    let mut body = body;
    discovery::of(API).check_body("UptimeCheckConfig", &body, AT)?;
    discovery::of(API).strip_output_only("UptimeCheckConfig", &mut body);
    body.remove("name");
    Ok(body)
}

/// The id the API gives a new check: its display name in lowercase with runs of other
/// characters as `-`, then `-` and eleven URL-safe characters (a random 64-bit value).
pub fn new_id(display_name: &str) -> String {
    let mut slug = String::new();
    for c in display_name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug: String = slug.trim_end_matches('-').chars().take(50).collect();
    let slug = slug.trim_end_matches('-');
    let suffix = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<u64>().to_be_bytes());
    if slug.is_empty() {
        suffix
    } else {
        format!("{slug}-{suffix}")
    }
}

// ---- validation ----

fn port(value: &Value, path: &str) -> Result<Option<i64>, ApiError> {
    match value {
        Value::Null => Ok(None),
        v => match v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok())) {
            Some(p) if (1..=65_535).contains(&p) => Ok(Some(p)),
            _ => Err(invalid_field(path, &shown(v), "the port must be between 1 and 65535")),
        },
    }
}

fn regex_ok(pattern: &str, path: &str) -> Result<(), ApiError> {
    regex::Regex::new(pattern)
        .map(|_| ())
        .map_err(|e| invalid_field(path, pattern, &format!("not a valid regular expression: {e}")))
}

fn check_http(http: &mut Map<String, Value>) -> Result<(), ApiError> {
    let at = "uptime_check_config.http_check";
    let use_ssl = http.get("useSsl").and_then(Value::as_bool).unwrap_or(false);
    match port(http.get("port").unwrap_or(&Value::Null), &format!("{at}.port"))? {
        Some(p) => {
            http.insert("port".into(), json!(p));
        }
        None => {
            http.insert("port".into(), json!(if use_ssl { 443 } else { 80 }));
        }
    }
    let path = http.get("path").and_then(Value::as_str).unwrap_or_default();
    let path = if path.starts_with('/') { path.to_string() } else { format!("/{path}") };
    http.insert("path".into(), json!(path));
    let method = match http.get("requestMethod").and_then(Value::as_str) {
        None | Some("METHOD_UNSPECIFIED") => "GET".to_string(),
        Some(m) => m.to_string(),
    };
    http.insert("requestMethod".into(), json!(method));
    let content_type = http.get("contentType").and_then(Value::as_str).unwrap_or("TYPE_UNSPECIFIED").to_string();
    let has_body = http.get("body").and_then(Value::as_str).is_some_and(|b| !b.is_empty());
    let header_content_type = http
        .get("headers")
        .and_then(Value::as_object)
        .is_some_and(|h| h.keys().any(|k| k.eq_ignore_ascii_case("content-type")));
    if method == "GET" {
        if has_body {
            return Err(invalid_field(&format!("{at}.body"), "…", "a GET check cannot have a body"));
        }
        if content_type != "TYPE_UNSPECIFIED" {
            return Err(invalid_field(&format!("{at}.content_type"), &content_type, "a GET check has no content type"));
        }
    } else {
        if content_type == "TYPE_UNSPECIFIED" {
            return Err(invalid_field(
                &format!("{at}.content_type"),
                &content_type,
                "a POST check needs a content type (URL_ENCODED or USER_PROVIDED)",
            ));
        }
        if header_content_type {
            return Err(invalid_field(
                &format!("{at}.headers"),
                "Content-Type",
                "set the content type with content_type, not a header",
            ));
        }
    }
    let custom = http.get("customContentType").and_then(Value::as_str).is_some_and(|c| !c.is_empty());
    if custom != (content_type == "USER_PROVIDED") {
        return Err(invalid_field(
            &format!("{at}.custom_content_type"),
            http.get("customContentType").and_then(Value::as_str).unwrap_or_default(),
            "custom_content_type is required with, and only allowed with, content_type USER_PROVIDED",
        ));
    }
    if let Some(auth) = http.get("authInfo").filter(|v| !v.is_null()) {
        let user = auth.get("username").and_then(Value::as_str).unwrap_or_default();
        let password = auth.get("password").and_then(Value::as_str).unwrap_or_default();
        if user.is_empty() || password.is_empty() {
            return Err(invalid_field(&format!("{at}.auth_info"), user, "auth_info needs a username and a password"));
        }
    }
    for (i, code) in http.get("acceptedResponseStatusCodes").and_then(Value::as_array).into_iter().flatten().enumerate()
    {
        let value = code.get("statusValue").filter(|v| !v.is_null());
        let class = code.get("statusClass").and_then(Value::as_str).filter(|c| *c != "STATUS_CLASS_UNSPECIFIED");
        let path = format!("{at}.accepted_response_status_codes[{i}]");
        match (value, class) {
            (Some(v), None) => {
                if !v.as_i64().is_some_and(|n| (100..=599).contains(&n)) {
                    return Err(invalid_field(&format!("{path}.status_value"), &shown(v), "not an HTTP status code"));
                }
            }
            (None, Some(_)) => {}
            _ => {
                return Err(invalid_field(&path, &code.to_string(), "set exactly one of status_value and status_class"))
            }
        }
    }
    if let Some(pings) = http.get("pingConfig").and_then(|p| p.get("pingsCount")).filter(|v| !v.is_null()) {
        if !pings.as_i64().is_some_and(|n| (1..=3).contains(&n)) {
            return Err(invalid_field(&format!("{at}.ping_config.pings_count"), &shown(pings), "must be 1, 2 or 3"));
        }
    }
    Ok(())
}

fn check_matchers(body: &mut Map<String, Value>) -> Result<(), ApiError> {
    let Some(Value::Array(matchers)) = body.get_mut("contentMatchers") else {
        return Ok(());
    };
    for (i, matcher) in matchers.iter_mut().enumerate() {
        let at = format!("uptime_check_config.content_matchers[{i}]");
        let Some(m) = matcher.as_object_mut() else {
            return Err(invalid_field(&at, &matcher.to_string(), "not a content matcher"));
        };
        let option = match m.get("matcher").and_then(Value::as_str) {
            None | Some("CONTENT_MATCHER_OPTION_UNSPECIFIED") => "CONTAINS_STRING".to_string(),
            Some(o) => o.to_string(),
        };
        m.insert("matcher".into(), json!(option));
        let content = m.get("content").and_then(Value::as_str).unwrap_or_default().to_string();
        if content.is_empty() {
            return Err(missing_field(&format!("{at}.content")));
        }
        if content.len() > 1024 {
            return Err(invalid_field(&format!("{at}.content"), "…", "at most 1024 bytes are allowed"));
        }
        let json_path = option.ends_with("JSON_PATH");
        match (json_path, m.get_mut("jsonPathMatcher")) {
            (true, Some(Value::Object(jp))) => {
                if jp.get("jsonPath").and_then(Value::as_str).is_none_or(str::is_empty) {
                    return Err(missing_field(&format!("{at}.json_path_matcher.json_path")));
                }
                let how = match jp.get("jsonMatcher").and_then(Value::as_str) {
                    None | Some("JSON_PATH_MATCHER_OPTION_UNSPECIFIED") => "EXACT_MATCH".to_string(),
                    Some(h) => h.to_string(),
                };
                if how == "REGEX_MATCH" {
                    regex_ok(&content, &format!("{at}.content"))?;
                }
                jp.insert("jsonMatcher".into(), json!(how));
            }
            (true, _) => return Err(missing_field(&format!("{at}.json_path_matcher"))),
            (false, Some(v)) if !v.is_null() => {
                let why = format!("a json_path_matcher is only allowed with the JSON path matchers, not {option}");
                return Err(invalid_field(&format!("{at}.json_path_matcher"), &v.to_string(), &why));
            }
            (false, _) => {
                if option.ends_with("MATCHES_REGEX") {
                    regex_ok(&content, &format!("{at}.content"))?;
                }
            }
        }
    }
    Ok(())
}

/// Checks an uptime check's writable fields and fills the API's defaults (`period`,
/// `checkerType`, HTTP `port`, `path` and `requestMethod`, content matcher options).
fn check(body: &mut Map<String, Value>) -> Result<(), ApiError> {
    if body.get("displayName").and_then(Value::as_str).is_none_or(str::is_empty) {
        return Err(missing_field("uptime_check_config.display_name"));
    }
    let present = |body: &Map<String, Value>, k: &str| body.get(k).is_some_and(|v| !v.is_null());
    let targets: Vec<&str> =
        ["monitoredResource", "resourceGroup", "syntheticMonitor"].into_iter().filter(|k| present(body, k)).collect();
    if targets.len() != 1 {
        return Err(invalid_argument(format!(
            "Exactly one of uptime_check_config.monitored_resource, uptime_check_config.resource_group and uptime_check_config.synthetic_monitor must be set{}.",
            if targets.is_empty() { String::new() } else { format!(" (found {})", targets.join(", ")) }
        )));
    }
    let resource_type =
        body.get("monitoredResource").and_then(|r| r.get("type")).and_then(Value::as_str).map(str::to_string);
    if present(body, "monitoredResource") {
        let r = &body["monitoredResource"];
        let t = resource_type.clone().unwrap_or_default();
        if !RESOURCE_TYPES.contains(&t.as_str()) {
            return Err(invalid_field(
                "uptime_check_config.monitored_resource.type",
                &t,
                &format!("uptime checks support the resource types {}", RESOURCE_TYPES.join(", ")),
            ));
        }
        if t == "uptime_url"
            && r.get("labels").and_then(|l| l.get("host")).and_then(Value::as_str).is_none_or(str::is_empty)
        {
            return Err(missing_field("uptime_check_config.monitored_resource.labels.host"));
        }
    }
    if let Some(group) = body.get("resourceGroup").filter(|v| !v.is_null()) {
        let typed = group.get("resourceType").and_then(Value::as_str).is_some_and(|t| t != "RESOURCE_TYPE_UNSPECIFIED");
        let grouped = group.get("groupId").and_then(Value::as_str).is_some_and(|g| !g.is_empty());
        if !typed && !grouped {
            return Err(missing_field("uptime_check_config.resource_group.group_id"));
        }
    }
    let protocols: Vec<&str> = ["httpCheck", "tcpCheck"].into_iter().filter(|k| present(body, k)).collect();
    let synthetic = present(body, "syntheticMonitor");
    if protocols.len() > 1 || (protocols.is_empty() && !synthetic) || (synthetic && !protocols.is_empty()) {
        return Err(invalid_argument(
            "Exactly one of uptime_check_config.http_check and uptime_check_config.tcp_check must be set (neither for a synthetic monitor).",
        ));
    }
    if let Some(Value::Object(http)) = body.get_mut("httpCheck") {
        check_http(http)?;
    }
    if let Some(tcp) = body.get("tcpCheck").filter(|v| !v.is_null()) {
        if port(tcp.get("port").unwrap_or(&Value::Null), "uptime_check_config.tcp_check.port")?.is_none() {
            return Err(missing_field("uptime_check_config.tcp_check.port"));
        }
    }
    if whole_seconds(body.get("timeout"), "uptime_check_config.timeout", 1, 60)
        .map_err(|_| {
            let raw = body.get("timeout").map(shown).unwrap_or_default();
            invalid_field("uptime_check_config.timeout", &raw, "the timeout must be between 1 and 60 seconds")
        })?
        .is_none()
    {
        return Err(missing_field("uptime_check_config.timeout"));
    }
    match body.get("period").and_then(Value::as_str) {
        None | Some("") => {
            body.insert("period".into(), json!("60s"));
        }
        Some(p) if PERIODS.contains(&p) => {}
        Some(p) => {
            return Err(invalid_field(
                "uptime_check_config.period",
                p,
                "the period must be one of 60s, 300s, 600s and 900s",
            ))
        }
    }
    let internal = body.get("isInternal").and_then(Value::as_bool).unwrap_or(false);
    let regions: Vec<String> = body
        .get("selectedRegions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    if !regions.is_empty() {
        if internal {
            return Err(invalid_argument("selected_regions cannot be set on an internal uptime check (is_internal)."));
        }
        if regions.iter().any(|r| r == "REGION_UNSPECIFIED") {
            return Err(invalid_field("uptime_check_config.selected_regions", "REGION_UNSPECIFIED", "not a region"));
        }
        // USA holds three checker locations; every other region one.
        let locations: usize = regions.iter().map(|r| if r == "USA" { 3 } else { 1 }).sum();
        if locations < 3 {
            return Err(invalid_field(
                "uptime_check_config.selected_regions",
                &regions.join(", "),
                "the selected regions must include at least 3 locations (USA holds 3, every other region 1)",
            ));
        }
    }
    if !internal && body.get("internalCheckers").and_then(Value::as_array).is_some_and(|c| !c.is_empty()) {
        return Err(invalid_argument("internal_checkers can only be set on an internal uptime check (is_internal)."));
    }
    check_matchers(body)?;
    let checker = match body.get("checkerType").and_then(Value::as_str) {
        None | Some("CHECKER_TYPE_UNSPECIFIED") => "STATIC_IP_CHECKERS".to_string(),
        Some(c) => c.to_string(),
    };
    if checker == "VPC_CHECKERS" && resource_type.as_deref() != Some("servicedirectory_service") {
        return Err(invalid_field(
            "uptime_check_config.checker_type",
            &checker,
            "VPC checkers require a servicedirectory_service monitored resource",
        ));
    }
    body.insert("checkerType".into(), json!(checker));
    check_user_labels(body, AT)?;
    Ok(())
}

/// Moves the header values of a check with `maskHeaders` into `internal`, leaving `******`.
fn mask_headers(body: &mut Map<String, Value>, internal: &mut Map<String, Value>) {
    let Some(Value::Object(http)) = body.get_mut("httpCheck") else {
        internal.remove("headers");
        return;
    };
    if !http.get("maskHeaders").and_then(Value::as_bool).unwrap_or(false) {
        internal.remove("headers");
        return;
    }
    if let Some(Value::Object(headers)) = http.get_mut("headers") {
        let mut real = internal.get("headers").and_then(Value::as_object).cloned().unwrap_or_default();
        for (key, value) in headers.iter_mut() {
            if value.as_str() != Some(MASKED) {
                real.insert(key.clone(), value.clone());
                *value = json!(MASKED);
            }
        }
        real.retain(|k, _| headers.contains_key(k));
        internal.insert("headers".into(), Value::Object(real));
    }
}

fn insert(
    ctx: &mut Ctx<'_>,
    project: &Project,
    mut body: Map<String, Value>,
    id: Option<String>,
) -> Result<StoredResource, ApiError> {
    check(&mut body)?;
    let id = id.unwrap_or_else(|| new_id(body["displayName"].as_str().unwrap_or_default()));
    let mut internal = Map::new();
    mask_headers(&mut body, &mut internal);
    let mut value = Map::new();
    value.insert("name".into(), json!(project.name(COLLECTION, &id)));
    value.extend(body);
    Ok(ctx.store.put(API, &project.key(COLLECTION, &id), Value::Object(value), Value::Object(internal)).clone())
}

pub(super) fn create(ctx: &mut Ctx<'_>, req: &ApiRequest, project: &Project) -> Result<Value, ApiError> {
    let body = writable_body(body_with_enums(req, UPTIME_ENUMS, AT)?)?;
    let stored = insert(ctx, project, body, None)?;
    Ok(render(&stored, req.enum_ints))
}

pub(super) fn get(ctx: &mut Ctx<'_>, req: &ApiRequest, project: &Project, id: &str) -> Result<Value, ApiError> {
    Ok(render(stored(ctx, project, id)?, req.enum_ints))
}

pub(super) fn list(ctx: &mut Ctx<'_>, req: &ApiRequest, project: &Project) -> Result<Value, ApiError> {
    let prefix = project.prefix(COLLECTION);
    let items: Vec<Value> = ctx.store.children(API, &prefix).map(|(_, r)| r.value.clone()).collect();
    list_page(items, req, "uptimeCheckConfigs", UPTIME_ENUMS, false)
}

pub(super) fn patch(ctx: &mut Ctx<'_>, req: &ApiRequest, project: &Project, id: &str) -> Result<Value, ApiError> {
    let current = stored(ctx, project, id)?.clone();
    let body = writable_body(body_with_enums(req, UPTIME_ENUMS, AT)?)?;
    let mask = UpdateMask::from_query(&req.query);
    mask.check(&MASK_RULES, |path, why| bad_mask_path(path, why, "UptimeCheckConfig"))?;
    let mut base: Map<String, Value> = current.value.as_object().cloned().unwrap_or_default();
    base.remove("name");
    let mut next = if mask.is_empty() {
        body
    } else {
        let mut merged = base.clone();
        mask.apply(&mut merged, &body);
        merged
    };
    check(&mut next)?;
    for (field, proto) in FIXED {
        if next.get(*field) != base.get(*field) {
            return Err(invalid_argument(format!(
                "Field uptime_check_config.{proto} cannot be changed: create a new uptime check instead."
            )));
        }
    }
    let method = |m: &Map<String, Value>| m.get("httpCheck").and_then(|h| h.get("requestMethod")).cloned();
    if method(&base).is_some() && method(&next).is_some() && method(&base) != method(&next) {
        return Err(invalid_argument(
            "Field uptime_check_config.http_check.request_method cannot be changed: create a new uptime check instead.",
        ));
    }
    let mut internal = current.internal.as_object().cloned().unwrap_or_default();
    mask_headers(&mut next, &mut internal);
    let mut value = Map::new();
    value.insert("name".into(), json!(project.name(COLLECTION, id)));
    value.extend(next);
    let stored =
        ctx.store.put(API, &project.key(COLLECTION, id), Value::Object(value), Value::Object(internal)).clone();
    Ok(render(&stored, req.enum_ints))
}

pub(super) fn delete(ctx: &mut Ctx<'_>, project: &Project, id: &str) -> Result<Value, ApiError> {
    stored(ctx, project, id)?;
    ctx.store.remove(API, &project.key(COLLECTION, id));
    Ok(json!({}))
}

/// Where the checkers run from. The addresses are from the documentation ranges (RFC 5737),
/// so nobody mistakes them for Google's and allowlists them.
const CHECKER_IPS: &[(&str, &str, &str)] = &[
    ("USA", "Iowa", "192.0.2.10"),
    ("USA", "Oregon", "192.0.2.20"),
    ("USA", "Virginia", "192.0.2.30"),
    ("EUROPE", "Belgium", "198.51.100.10"),
    ("SOUTH_AMERICA", "Sao Paulo", "198.51.100.20"),
    ("ASIA_PACIFIC", "Singapore", "203.0.113.10"),
];

pub(super) fn list_ips(req: &ApiRequest) -> Result<Value, ApiError> {
    let items: Vec<Value> = CHECKER_IPS
        .iter()
        .map(|(region, location, ip)| json!({"region": region, "location": location, "ipAddress": ip}))
        .collect();
    let (page, next) = paginate(items, &req.query, super::MAX_PAGE_SIZE, super::MAX_PAGE_SIZE)?;
    let mut out = super::super::api::list_response("uptimeCheckIps", page, next);
    encode_enums(&mut out, IP_ENUMS, req.enum_ints);
    Ok(out)
}

pub(super) fn seed(ctx: &mut Ctx<'_>, s: &ScenarioObject) -> Result<(), ApiError> {
    let project = Project::resolve(ctx, &s.project);
    if s.verification_status.is_some() {
        return Err(invalid_argument("verificationStatus applies to notification channels only"));
    }
    let mut value = Value::Object(s.resource.clone());
    super::decode_enums(&mut value, UPTIME_ENUMS, AT)?;
    let body = writable_body(value.as_object().cloned().unwrap_or_default())?;
    if let Some(id) = &s.id {
        let valid = !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return Err(invalid_argument(format!("id \"{id}\": uptime check ids are letters, digits, '-' and '_'")));
        }
        if ctx.store.contains(API, &project.key(COLLECTION, id)) {
            return Err(invalid_argument(format!("id \"{id}\" is seeded twice")));
        }
    }
    insert(ctx, &project, body, s.id.clone())?;
    Ok(())
}
