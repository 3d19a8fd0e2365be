//! Unit tests of the Monitoring emulator through `Api::handle`: routing, ids, update masks,
//! validation, sensitive labels, channels in use, enum encodings, seeding.

use axum::http::Method;
use serde_json::{json, Value};

use super::*;
use crate::emulator::store::Store;

fn call(store: &mut Store, method: Method, path: &str, query: &str, body: Value) -> Result<Value, ApiError> {
    let req = ApiRequest::decoded(method, path, query, body);
    let mut ctx = Ctx { store, operation_duration: std::time::Duration::ZERO, now: chrono::Utc::now() };
    Monitoring.handle(&mut ctx, &req)
}

fn store() -> Store {
    let mut store = Store::new();
    store.projects.insert("acme", "123456789012");
    store
}

fn email(address: &str) -> Value {
    json!({"type": "email", "displayName": "On call", "labels": {"email_address": address}})
}

fn threshold(metric: &str) -> Value {
    json!({"displayName": "high", "conditionThreshold": {
        "filter": format!("metric.type = \"{metric}\" AND resource.type = \"cloud_run_revision\""),
        "comparison": "COMPARISON_GT", "thresholdValue": 0.8, "duration": "60s",
        "aggregations": [{"alignmentPeriod": "60s", "perSeriesAligner": "ALIGN_MEAN"}]}})
}

fn policy(conditions: Vec<Value>) -> Value {
    json!({"displayName": "p", "combiner": "OR", "conditions": conditions})
}

fn uptime() -> Value {
    json!({"displayName": "Staging health", "timeout": "10s", "period": "300s",
        "monitoredResource": {"type": "uptime_url", "labels": {"project_id": "acme", "host": "staging.example.com"}},
        "httpCheck": {"path": "health", "useSsl": true, "validateSsl": true}})
}

fn message(r: Result<Value, ApiError>) -> String {
    r.unwrap_err().message
}

#[test]
fn claims_the_three_collections_descriptors_and_checker_ips_only() {
    for path in [
        "v3/projects/p/alertPolicies",
        "v3/projects/p/alertPolicies/1",
        "v3/projects/p/notificationChannels/1:verify",
        "v3/projects/p/notificationChannelDescriptors/email",
        "v3/projects/p/uptimeCheckConfigs/x",
        "v3/uptimeCheckIps",
    ] {
        assert!(Monitoring.claims(path), "{path}");
    }
    for path in ["v3/projects/p/timeSeries", "v2/projects/p/sinks", "v3/projects/p/groups", "v1/projects/p/secrets"] {
        assert!(!Monitoring.claims(path), "{path}");
    }
    assert_eq!(
        parse_target("v3/projects/p/notificationChannels/7:sendVerificationCode").unwrap(),
        Target::Channel("p".into(), "7".into(), Some("sendVerificationCode".into()))
    );
}

#[test]
fn ids_have_the_real_shapes() {
    let mut s = store();
    let channel =
        call(&mut s, Method::POST, "v3/projects/acme/notificationChannels", "", email("a@example.com")).unwrap();
    let name = channel["name"].as_str().unwrap();
    let id = name.strip_prefix("projects/acme/notificationChannels/").unwrap();
    assert!(id.parse::<u64>().is_ok(), "{name}");
    let created = call(
        &mut s,
        Method::POST,
        "v3/projects/123456789012/alertPolicies",
        "",
        policy(vec![threshold("run.googleapis.com/request_count")]),
    )
    .unwrap();
    let name = created["name"].as_str().unwrap().to_string();
    assert!(name.strip_prefix("projects/acme/alertPolicies/").unwrap().parse::<u64>().is_ok(), "{name}");
    let condition = created["conditions"][0]["name"].as_str().unwrap();
    assert!(condition.strip_prefix(&format!("{name}/conditions/")).unwrap().parse::<u64>().is_ok());
    assert_eq!(created["enabled"], true, "enabled defaults to true");
    assert_eq!(created["creationRecord"]["mutatedBy"], USER);
    let check = call(&mut s, Method::POST, "v3/projects/acme/uptimeCheckConfigs", "", uptime()).unwrap();
    let id = check["name"].as_str().unwrap().strip_prefix("projects/acme/uptimeCheckConfigs/").unwrap();
    // The random suffix may itself hold a '-', so the slug is matched from the front.
    let suffix = id.strip_prefix("staging-health-").unwrap_or_else(|| panic!("{id}"));
    assert_eq!(suffix.len(), 11, "{id}");
    assert_eq!(uptime::new_id("  --  ").len(), 11, "no slug: the suffix alone");
}

#[test]
fn uptime_defaults_are_filled_as_the_api_does() {
    let mut s = store();
    let check = call(&mut s, Method::POST, "v3/projects/acme/uptimeCheckConfigs", "", uptime()).unwrap();
    assert_eq!(check["httpCheck"]["path"], "/health");
    assert_eq!(check["httpCheck"]["port"], 443);
    assert_eq!(check["httpCheck"]["requestMethod"], "GET");
    assert_eq!(check["checkerType"], "STATIC_IP_CHECKERS");
    let mut body = uptime();
    body.as_object_mut().unwrap().remove("period");
    let check = call(&mut s, Method::POST, "v3/projects/acme/uptimeCheckConfigs", "", body).unwrap();
    assert_eq!(check["period"], "60s");
}

#[test]
fn masks_write_only_their_fields_and_an_empty_mask_replaces() {
    let mut s = store();
    let mut body = policy(vec![threshold("run.googleapis.com/request_count")]);
    body["userLabels"] = json!({"team": "core"});
    body["documentation"] = json!({"content": "Page someone"});
    let created = call(&mut s, Method::POST, "v3/projects/acme/alertPolicies", "", body).unwrap();
    assert_eq!(created["documentation"]["mimeType"], "text/markdown");
    let path = format!("v3/{}", created["name"].as_str().unwrap());
    let condition_name = created["conditions"][0]["name"].clone();

    let patched = call(
        &mut s,
        Method::PATCH,
        &path,
        "updateMask=display_name,user_labels.env",
        json!({"displayName": "renamed", "userLabels": {"env": "staging", "ignored": "x"}, "enabled": false}),
    )
    .unwrap();
    assert_eq!(patched["displayName"], "renamed");
    assert_eq!(patched["userLabels"], json!({"team": "core", "env": "staging"}));
    assert_eq!(patched["enabled"], true, "enabled was not in the mask");
    assert_eq!(patched["conditions"][0]["name"], condition_name);
    assert_eq!(patched["creationRecord"], created["creationRecord"]);

    // Empty mask: the whole policy is replaced; a condition that names itself keeps its id.
    let mut kept = threshold("run.googleapis.com/request_count");
    kept["name"] = condition_name.clone();
    let replaced = call(
        &mut s,
        Method::PATCH,
        &path,
        "",
        json!({"displayName": "new", "combiner": "AND", "conditions": [kept, threshold("run.googleapis.com/request_latencies")]}),
    )
    .unwrap();
    assert_eq!(replaced["displayName"], "new");
    assert!(replaced.get("userLabels").is_none() && replaced.get("documentation").is_none());
    assert_eq!(replaced["conditions"][0]["name"], condition_name);
    assert_ne!(replaced["conditions"][1]["name"], condition_name);
    assert_eq!(replaced["name"], created["name"]);

    for (mask, expected) in [
        ("updateMask=displayNam", "Invalid update_mask path \"displayNam\" for AlertPolicy: no such updatable field."),
        (
            "updateMask=creation_record",
            "Invalid update_mask path \"creationRecord\" for AlertPolicy: the field is output only.",
        ),
        (
            "updateMask=conditions.display_name",
            "Invalid update_mask path \"conditions.displayName\" for AlertPolicy: no such updatable field.",
        ),
    ] {
        assert_eq!(message(call(&mut s, Method::PATCH, &path, mask, json!({}))), expected);
    }
}

#[test]
fn alert_policy_validation_speaks_the_api() {
    let mut s = store();
    let mut create = |body: Value| message(call(&mut s, Method::POST, "v3/projects/acme/alertPolicies", "", body));
    let two = json!({"displayName": "p", "conditions": [threshold("run.googleapis.com/request_count"), threshold("run.googleapis.com/request_count")]});
    assert!(create(two).starts_with("Field alert_policy.combiner had an invalid value of \"COMBINE_UNSPECIFIED\""));
    let mut both = threshold("run.googleapis.com/request_count");
    both["conditionAbsent"] = json!({"filter": "metric.type=\"run.googleapis.com/request_count\"", "duration": "120s"});
    assert!(create(policy(vec![both])).contains("a condition must set exactly one of condition_threshold"));
    assert!(create(policy(vec![json!({"displayName": "x"})])).contains("had an invalid value of \"no condition\""));
    let mut c = threshold("run.googleapis.com/request_count");
    c["conditionThreshold"]["duration"] = json!("90s");
    assert!(create(policy(vec![c])).contains("multiple of one minute"));
    let mut c = threshold("run.googleapis.com/request_count");
    c["conditionThreshold"]["duration"] = json!("-60s");
    assert!(create(policy(vec![c])).contains("between 0s and 86400s"));
    let mut c = threshold("run.googleapis.com/request_count");
    c["conditionThreshold"]["duration"] = json!("60.5s");
    assert!(create(policy(vec![c])).contains("whole number of seconds"));
    let mut c = threshold("run.googleapis.com/request_count");
    c["conditionThreshold"]["aggregations"][0]["alignmentPeriod"] = json!("450s");
    assert_eq!(
        create(policy(vec![c])),
        "Field alert_policy.conditions[0].condition_threshold.aggregations[0].alignment_period had an invalid value of \"450s\": alignment period must be in multiples of one minute"
    );
    let mut c = threshold("run.googleapis.com/request_count");
    c["conditionThreshold"]["aggregations"][0]["alignmentPeriod"] = json!("30s");
    assert!(create(policy(vec![c])).contains("multiples of one minute"));
    let mut c = threshold("run.googleapis.com/request_count");
    c["conditionThreshold"]["aggregations"][0] = json!({"crossSeriesReducer": "REDUCE_SUM"});
    assert!(create(policy(vec![c])).contains("requires a per-series aligner"));
    let mut c = threshold("run.googleapis.com/request_count");
    c["conditionThreshold"]["duration"] = json!("0s");
    c["conditionThreshold"]["evaluationMissingData"] = json!("EVALUATION_MISSING_DATA_INACTIVE");
    assert!(
        create(policy(vec![c])).ends_with("Conditions setting evaluation_missing_data must have a non-zero duration.")
    );
    let mut c = threshold("run.googleapis.com/request_count");
    c["conditionThreshold"]["filter"] = json!("metric.type = \"run.googleapis.com/request_count");
    assert!(create(policy(vec![c])).contains("invalid filter: unterminated string"));
    let mut c = threshold("run.googleapis.com/request_count");
    c["conditionThreshold"]["filter"] = json!("resource.type = \"cloud_run_revision\"");
    assert!(create(policy(vec![c])).contains("must specify a metric type"));
    let absent = json!({"displayName": "gone", "conditionAbsent": {"filter": "metric.type=\"run.googleapis.com/request_count\"", "duration": "60s"}});
    assert!(create(policy(vec![absent])).contains("between 120s and 86400s"));
    let log = json!({"displayName": "log", "conditionMatchedLog": {"filter": "severity>=ERROR"}});
    assert_eq!(
        create(policy(vec![log, threshold("run.googleapis.com/request_count")])),
        "Alert policies with a log matching condition can only have a single condition."
    );
    let mut with_channel = policy(vec![threshold("run.googleapis.com/request_count")]);
    with_channel["notificationChannels"] = json!(["projects/acme/notificationChannels/42"]);
    assert!(create(with_channel).contains("the notification channel does not exist"));
    assert!(create(json!({"displayName": "none"})).contains("conditions is required"));
    let seven: Vec<Value> = (0..7).map(|_| threshold("run.googleapis.com/request_count")).collect();
    assert!(create(policy(seven)).contains("one to six conditions"));
}

#[test]
fn an_unknown_metric_type_is_the_apis_404() {
    let mut s = store();
    let err = call(
        &mut s,
        Method::POST,
        "v3/projects/acme/alertPolicies",
        "",
        policy(vec![threshold("monitoring.googleapis.com/uptime_check/checkpassed")]),
    )
    .unwrap_err();
    assert_eq!(err.http_status, 404);
    assert_eq!(
        err.message,
        "Cannot find metric(s) that match type = \"monitoring.googleapis.com/uptime_check/checkpassed\". If a metric was created recently, it could take up to 10 minutes to become available. Please try again soon."
    );
}

#[test]
fn sensitive_labels_are_obfuscated_and_never_rendered() {
    let mut s = store();
    let token = "xoxb-0000-1111-secret-9684";
    let slack = json!({"type": "slack", "labels": {"channel_name": "#alerts", "auth_token": token}});
    let created = call(&mut s, Method::POST, "v3/projects/acme/notificationChannels", "", slack).unwrap();
    assert_eq!(created["labels"]["auth_token"], format!("{}9684", "*".repeat(token.len() - 4)));
    assert!(created.get("verificationStatus").is_none(), "slack channels need no verification");
    let path = format!("v3/{}", created["name"].as_str().unwrap());
    let listed = call(&mut s, Method::GET, "v3/projects/acme/notificationChannels", "", Value::Null).unwrap();
    assert!(!listed.to_string().contains("secret"), "{listed}");
    // A mask that leaves the token alone keeps it (the stored real value, not the stars).
    call(&mut s, Method::PATCH, &path, "updateMask=labels.channel_name", json!({"labels": {"channel_name": "#ops"}}))
        .unwrap();
    let key = created["name"].as_str().unwrap().replace("projects/acme/", "projects/123456789012/");
    assert_eq!(s.get(API, &key).unwrap().internal["sensitiveLabels"]["auth_token"], token);
    assert_eq!(channels::obfuscate("abc"), "***");
}

#[test]
fn channel_validation_and_verification() {
    let mut s = store();
    let mut create = |body: Value| call(&mut s, Method::POST, "v3/projects/acme/notificationChannels", "", body);
    assert!(message(create(json!({"type": "carrier_pigeon"}))).contains("unknown notification channel type"));
    assert!(message(create(json!({"type": "email", "labels": {}}))).contains("\"email_address\""));
    assert!(message(create(json!({"type": "email", "labels": {"email_address": "a@b.c", "x": "y"}})))
        .contains("take the labels email_address"));
    assert!(message(create(email("not-an-address"))).contains("not an email address"));
    assert!(message(create(json!({"type": "email", "labels": {"email_address": "a@b.co"}, "verificationStatus": 9})))
        .contains("Invalid value at 'notification_channel.verification_status'"));

    let mut s = store();
    let created =
        call(&mut s, Method::POST, "v3/projects/acme/notificationChannels", "", email("a@example.com")).unwrap();
    assert_eq!(created["verificationStatus"], "UNVERIFIED");
    let path = format!("v3/{}", created["name"].as_str().unwrap());
    let err = call(&mut s, Method::POST, &format!("{path}:getVerificationCode"), "", json!({})).unwrap_err();
    assert_eq!(err.code, crate::emulator::errors::Code::FailedPrecondition);
    call(&mut s, Method::POST, &format!("{path}:sendVerificationCode"), "", json!({})).unwrap();
    let key = created["name"].as_str().unwrap().replace("projects/acme/", "projects/123456789012/");
    let code = s.get(API, &key).unwrap().internal["sentCode"].as_str().unwrap().to_string();
    assert!(code.starts_with("G-") && code.len() == 8, "{code}");
    assert!(message(call(&mut s, Method::POST, &format!("{path}:verify"), "", json!({"code": "G-000000x"})))
        .contains("not valid"));
    let verified = call(&mut s, Method::POST, &format!("{path}:verify"), "", json!({"code": code})).unwrap();
    assert_eq!(verified["verificationStatus"], "VERIFIED");
    // A verified channel's code verifies a channel with the same identity.
    let code = call(&mut s, Method::POST, &format!("{path}:getVerificationCode"), "", json!({})).unwrap();
    let twin = call(&mut s, Method::POST, "v3/projects/acme/notificationChannels", "", email("a@example.com")).unwrap();
    let twin_path = format!("v3/{}", twin["name"].as_str().unwrap());
    let twin = call(&mut s, Method::POST, &format!("{twin_path}:verify"), "", json!({"code": code["code"]})).unwrap();
    assert_eq!(twin["verificationStatus"], "VERIFIED");
    // Changing the address needs a new verification.
    let moved = call(
        &mut s,
        Method::PATCH,
        &twin_path,
        "updateMask=labels",
        json!({"labels": {"email_address": "b@example.com"}}),
    )
    .unwrap();
    assert_eq!(moved["verificationStatus"], "UNVERIFIED");
    let renamed = call(&mut s, Method::PATCH, &path, "updateMask=display_name", json!({"displayName": "x"})).unwrap();
    assert_eq!(renamed["verificationStatus"], "VERIFIED");
    assert_eq!(renamed["mutationRecords"].as_array().unwrap().len(), 1);
}

#[test]
fn a_channel_in_use_is_deleted_only_with_force_and_leaves_the_policy() {
    let mut s = store();
    let channel =
        call(&mut s, Method::POST, "v3/projects/acme/notificationChannels", "", email("a@example.com")).unwrap();
    let channel_name = channel["name"].as_str().unwrap().to_string();
    let by_number = channel_name.replace("projects/acme/", "projects/123456789012/");
    let mut body = policy(vec![threshold("run.googleapis.com/request_count")]);
    body["notificationChannels"] = json!([by_number]);
    let created = call(&mut s, Method::POST, "v3/projects/acme/alertPolicies", "", body).unwrap();
    let path = format!("v3/{channel_name}");
    let err = call(&mut s, Method::DELETE, &path, "force=false", Value::Null).unwrap_err();
    assert_eq!(err.http_status, 400);
    assert_eq!(
        err.message,
        format!(
            "Could not delete \"{channel_name}\" because it is still being referenced by: \"{}\"",
            created["name"].as_str().unwrap()
        )
    );
    call(&mut s, Method::DELETE, &path, "force=true", Value::Null).unwrap();
    let policy =
        call(&mut s, Method::GET, &format!("v3/{}", created["name"].as_str().unwrap()), "", Value::Null).unwrap();
    assert!(policy.get("notificationChannels").is_none(), "{policy}");
    assert_eq!(call(&mut s, Method::GET, &path, "", Value::Null).unwrap_err().http_status, 404);
}

#[test]
fn uptime_validation_speaks_the_api() {
    let mut s = store();
    let mut create = |f: &dyn Fn(&mut Value)| {
        let mut body = uptime();
        f(&mut body);
        message(call(&mut s, Method::POST, "v3/projects/acme/uptimeCheckConfigs", "", body))
    };
    assert!(create(&|b| b["timeout"] = json!("61s")).contains("between 1 and 60 seconds"));
    assert!(create(&|b| b["timeout"] = json!("0s")).contains("between 1 and 60 seconds"));
    assert!(create(&|b| {
        b.as_object_mut().unwrap().remove("timeout");
    })
    .contains("uptime_check_config.timeout is required"));
    assert!(create(&|b| b["period"] = json!("120s")).contains("one of 60s, 300s, 600s and 900s"));
    assert!(create(&|b| b["resourceGroup"] = json!({"groupId": "g"}))
        .contains("Exactly one of uptime_check_config.monitored_resource"));
    assert!(create(&|b| b["tcpCheck"] = json!({"port": 443})).contains("Exactly one of uptime_check_config.http_check"));
    assert!(create(&|b| b["selectedRegions"] = json!(["EUROPE", "ASIA_PACIFIC"])).contains("at least 3 locations"));
    assert!(create(&|b| b["monitoredResource"]["type"] = json!("k8s_pod")).contains("support the resource types"));
    assert!(create(&|b| b["monitoredResource"]["labels"] = json!({})).contains("labels.host is required"));
    assert!(create(&|b| b["httpCheck"]["body"] = json!("e30=")).contains("a GET check cannot have a body"));
    assert!(create(&|b| b["contentMatchers"] = json!([{"content": "(", "matcher": "MATCHES_REGEX"}]))
        .contains("not a valid regular expression"));
    assert!(create(&|b| b["contentMatchers"] = json!([{"content": "ok", "matcher": "MATCHES_JSON_PATH"}]))
        .contains("json_path_matcher is required"));
    assert!(create(&|b| b["checkerType"] = json!("VPC_CHECKERS")).contains("servicedirectory_service"));
    assert!(create(&|b| b["displayName"] = json!("")).contains("display_name is required"));
    let mut s = store();
    let mut body = uptime();
    body["selectedRegions"] = json!(["USA"]);
    body["contentMatchers"] = json!([{"content": "ok"}]);
    let check = call(&mut s, Method::POST, "v3/projects/acme/uptimeCheckConfigs", "", body).unwrap();
    assert_eq!(check["contentMatchers"][0]["matcher"], "CONTAINS_STRING");
    let path = format!("v3/{}", check["name"].as_str().unwrap());
    let err = call(&mut s, Method::PATCH, &path, "updateMask=monitored_resource", json!({})).unwrap_err();
    assert_eq!(
        err.message,
        "Invalid update_mask path \"monitoredResource\" for UptimeCheckConfig: the field cannot be changed."
    );
    let mut replaced = uptime();
    replaced["monitoredResource"]["labels"]["host"] = json!("other.example.com");
    assert!(message(call(&mut s, Method::PATCH, &path, "", replaced)).contains("monitored_resource cannot be changed"));
    let patched = call(
        &mut s,
        Method::PATCH,
        &path,
        "updateMask=timeout,display_name",
        json!({"timeout": "30s", "displayName": "x"}),
    )
    .unwrap();
    assert_eq!((patched["timeout"].as_str(), patched["displayName"].as_str()), (Some("30s"), Some("x")));
    assert_eq!(patched["name"], check["name"], "the id stays when the display name changes");
}

#[test]
fn enums_travel_as_numbers_when_asked_and_are_stored_as_names() {
    let mut s = store();
    let mut body = uptime();
    body["selectedRegions"] = json!([1]);
    body["checkerType"] = json!(1);
    body["httpCheck"]["acceptedResponseStatusCodes"] = json!([{"statusClass": 200}]);
    let ints = "$alt=json;enum-encoding=int";
    let check = call(&mut s, Method::POST, "v3/projects/acme/uptimeCheckConfigs", ints, body).unwrap();
    assert_eq!(check["selectedRegions"], json!([1]));
    assert_eq!(check["httpCheck"]["acceptedResponseStatusCodes"][0]["statusClass"], 200);
    assert_eq!(check["httpCheck"]["requestMethod"], 1);
    let names = call(&mut s, Method::GET, &format!("v3/{}", check["name"].as_str().unwrap()), "", Value::Null).unwrap();
    assert_eq!(names["selectedRegions"], json!(["USA"]));
    assert_eq!(names["httpCheck"]["acceptedResponseStatusCodes"][0]["statusClass"], "STATUS_CLASS_2XX");
    let mut p = policy(vec![threshold("run.googleapis.com/request_count")]);
    p["combiner"] = json!(2);
    p["conditions"][0]["conditionThreshold"]["aggregations"][0]["perSeriesAligner"] = json!(24);
    let created = call(&mut s, Method::POST, "v3/projects/acme/alertPolicies", ints, p).unwrap();
    assert_eq!(created["combiner"], 2);
    assert_eq!(created["conditions"][0]["conditionThreshold"]["aggregations"][0]["perSeriesAligner"], 24);
    let mut bad = policy(vec![threshold("run.googleapis.com/request_count")]);
    bad["combiner"] = json!(7);
    assert!(message(call(&mut s, Method::POST, "v3/projects/acme/alertPolicies", ints, bad))
        .starts_with("Invalid value at 'alert_policy.combiner'"));
}

#[test]
fn lists_filter_order_and_page() {
    let mut s = store();
    for (name, team) in [("b", "core"), ("a", "core"), ("c", "ops")] {
        let mut body = email(&format!("{name}@example.com"));
        body["displayName"] = json!(name);
        body["userLabels"] = json!({"team": team});
        call(&mut s, Method::POST, "v3/projects/acme/notificationChannels", "", body).unwrap();
    }
    let page = call(
        &mut s,
        Method::GET,
        "v3/projects/acme/notificationChannels",
        "filter=user_labels.team%20%3D%20%22core%22&orderBy=display_name&pageSize=1",
        Value::Null,
    )
    .unwrap();
    assert_eq!(page["notificationChannels"][0]["displayName"], "a");
    assert_eq!(page["totalSize"], 2);
    let token = page["nextPageToken"].as_str().unwrap();
    let next = call(
        &mut s,
        Method::GET,
        "v3/projects/acme/notificationChannels",
        &format!("filter=user_labels.team%20%3D%20%22core%22&orderBy=display_name&pageSize=1&pageToken={token}"),
        Value::Null,
    )
    .unwrap();
    assert_eq!(next["notificationChannels"][0]["displayName"], "b");
    assert!(next.get("nextPageToken").is_none());
    let desc = call(&mut s, Method::GET, "v3/projects/acme/notificationChannels", "orderBy=-display_name", Value::Null)
        .unwrap();
    assert_eq!(desc["notificationChannels"][0]["displayName"], "c");
    let typed =
        call(&mut s, Method::GET, "v3/projects/acme/notificationChannels", "filter=type%3D%22sms%22", Value::Null)
            .unwrap();
    assert_eq!(typed, json!({}));
    assert!(message(call(
        &mut s,
        Method::GET,
        "v3/projects/acme/notificationChannels",
        "filter=display_name%3Dstarts_with(%22a%22)",
        Value::Null
    ))
    .contains("supports only conjunctions"));
    let ips = call(&mut s, Method::GET, "v3/uptimeCheckIps", "", Value::Null).unwrap();
    assert_eq!(ips["uptimeCheckIps"].as_array().unwrap().len(), 6);
    let descriptors =
        call(&mut s, Method::GET, "v3/projects/acme/notificationChannelDescriptors", "", Value::Null).unwrap();
    assert!(descriptors["channelDescriptors"].as_array().unwrap().iter().any(|d| d["type"] == "email"));
    let email_descriptor =
        call(&mut s, Method::GET, "v3/projects/acme/notificationChannelDescriptors/email", "", Value::Null).unwrap();
    assert_eq!(email_descriptor["labels"][0]["key"], "email_address");
}

#[test]
fn seeds_channels_then_policies_then_checks() {
    let mut s = store();
    let section = json!({
        "notificationChannels": [{"project": "acme", "id": "111", "verificationStatus": "VERIFIED",
            "channel": {"type": "email", "labels": {"email_address": "old@example.com"}}}],
        "alertPolicies": [{"project": "acme", "id": "222", "policy": {"displayName": "p",
            "conditions": [threshold("run.googleapis.com/request_count")],
            "notificationChannels": ["projects/acme/notificationChannels/111"]}}],
        "uptimeCheckConfigs": [{"project": "acme", "id": "health-abc", "config": uptime()}]
    });
    let mut ctx = Ctx { store: &mut s, operation_duration: std::time::Duration::ZERO, now: chrono::Utc::now() };
    Monitoring.seed(&mut ctx, &section).unwrap();
    assert_eq!(
        s.get(API, "projects/123456789012/notificationChannels/111").unwrap().value["verificationStatus"],
        "VERIFIED"
    );
    assert!(s.contains(API, "projects/123456789012/alertPolicies/222"));
    assert!(s.contains(API, "projects/123456789012/uptimeCheckConfigs/health-abc"));
    let mut ctx = Ctx { store: &mut s, operation_duration: std::time::Duration::ZERO, now: chrono::Utc::now() };
    let err = Monitoring
        .seed(&mut ctx, &json!({"alertPolicies": [{"project": "acme", "policy": policy(vec![threshold("nope.googleapis.com/x")])}]}))
        .unwrap_err();
    assert!(err.starts_with("monitoring.alertPolicies[0]: Cannot find metric(s)"), "{err}");
    let err = Monitoring.seed(&mut ctx, &json!({"alertPolicy": []})).unwrap_err();
    assert!(err.contains("unknown field"), "{err}");
}

#[test]
fn durations_parse_as_protobuf_json() {
    assert_eq!(parse_duration("60s"), Some((60, 0)));
    assert_eq!(parse_duration("1.5s"), Some((1, 500_000_000)));
    assert_eq!(parse_duration("-2s"), Some((-2, 0)));
    for bad in ["60", "s", "1m", "1.s5", "1.0000000001s", ""] {
        assert_eq!(parse_duration(bad), None, "{bad}");
    }
}
