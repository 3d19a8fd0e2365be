//! Conformance of the emulator's Cloud Monitoring API v3: the official SDK clients
//! (`AlertPolicyService`, `NotificationChannelService`, `UptimeCheckService`) round-trip every
//! method, including update masks (a field, an empty mask, a bad path), a channel in use
//! (refused, then forced), paging, sensitive labels, verification, and the API's validation
//! errors.

use cairn::emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use google_cloud_auth::credentials::anonymous;
use google_cloud_gax::error::rpc::Code;
use google_cloud_gax::retry_policy::NeverRetry;
use google_cloud_monitoring_v3::client::{AlertPolicyService, NotificationChannelService, UptimeCheckService};
use google_cloud_monitoring_v3::model::{
    notification_channel::VerificationStatus, AlertPolicy, NotificationChannel, UptimeCheckConfig,
};
use google_cloud_wkt::FieldMask;
use serde_json::{json, Value};

const PROJECT: &str = "projects/acme";

async fn start_with(scenario: Option<&str>) -> (EmulatorHandle, Option<tempfile::TempDir>) {
    let mut cfg = EmulatorConfig::for_tests();
    let dir = scenario.map(|text| {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("scenario.json");
        std::fs::write(&path, text).expect("write scenario");
        cfg.scenario = Some(path);
        dir
    });
    (Emulator::start(cfg).await.expect("emulator starts"), dir)
}

async fn policies(emu: &EmulatorHandle) -> AlertPolicyService {
    AlertPolicyService::builder()
        .with_endpoint(emu.endpoint())
        .with_credentials(anonymous::Builder::new().build())
        .with_retry_policy(NeverRetry)
        .build()
        .await
        .expect("alert policy client builds")
}

async fn channels(emu: &EmulatorHandle) -> NotificationChannelService {
    NotificationChannelService::builder()
        .with_endpoint(emu.endpoint())
        .with_credentials(anonymous::Builder::new().build())
        .with_retry_policy(NeverRetry)
        .build()
        .await
        .expect("notification channel client builds")
}

async fn uptime(emu: &EmulatorHandle) -> UptimeCheckService {
    UptimeCheckService::builder()
        .with_endpoint(emu.endpoint())
        .with_credentials(anonymous::Builder::new().build())
        .with_retry_policy(NeverRetry)
        .build()
        .await
        .expect("uptime check client builds")
}

/// An SDK message from its JSON form (the SDK's own deserializer).
fn msg<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).expect("a valid message")
}

fn mask(paths: &[&str]) -> FieldMask {
    FieldMask::default().set_paths(paths.iter().map(|p| p.to_string()))
}

fn email_channel(address: &str) -> NotificationChannel {
    msg(json!({"type": "email", "displayName": "On call", "labels": {"email_address": address}}))
}

fn threshold(metric: &str) -> Value {
    json!({"displayName": "high", "conditionThreshold": {
        "filter": format!("metric.type = \"{metric}\" AND resource.type = \"uptime_url\""),
        "comparison": "COMPARISON_LT", "thresholdValue": 1, "duration": "300s",
        "aggregations": [{"alignmentPeriod": "60s", "perSeriesAligner": "ALIGN_FRACTION_TRUE",
                          "crossSeriesReducer": "REDUCE_MEAN", "groupByFields": ["resource.label.host"]}]}})
}

fn policy(conditions: Vec<Value>, channels: &[&str]) -> AlertPolicy {
    msg(json!({"displayName": "Health", "combiner": "OR", "conditions": conditions, "notificationChannels": channels}))
}

fn health_check(host: &str) -> UptimeCheckConfig {
    msg(json!({"displayName": format!("{host} health"), "timeout": "10s", "period": "300s",
        "monitoredResource": {"type": "uptime_url", "labels": {"project_id": "acme", "host": host}},
        "httpCheck": {"path": "/health", "useSsl": true, "validateSsl": true},
        "contentMatchers": [{"content": "ok"}],
        "selectedRegions": ["USA", "EUROPE"]}))
}

fn code_of(err: &google_cloud_gax::error::Error) -> (Option<Code>, Option<u16>) {
    (err.status().map(|s| s.code), err.http_status_code())
}

fn message_of(err: &google_cloud_gax::error::Error) -> String {
    err.status().map(|s| s.message.clone()).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notification_channels_round_trip_every_method_through_the_sdk() {
    let scenario = json!({"projects": [{"id": "acme", "number": "123456789012"}], "monitoring": {
        "notificationChannels": [{"project": "acme", "id": "100", "verificationStatus": "VERIFIED",
            "channel": {"type": "email", "labels": {"email_address": "oncall@example.com"}}}]}});
    let (emu, _dir) = start_with(Some(&scenario.to_string())).await;
    let nc = channels(&emu).await;

    let created = nc
        .create_notification_channel()
        .set_name(PROJECT)
        .set_notification_channel(email_channel("oncall@example.com"))
        .send()
        .await
        .expect("create");
    assert!(created.name.starts_with("projects/acme/notificationChannels/"), "{}", created.name);
    assert_eq!(created.verification_status, VerificationStatus::Unverified);
    assert_eq!(created.enabled, Some(true));
    assert!(created.creation_record.as_ref().is_some_and(|r| r.mutate_time.is_some()));

    let got = nc.get_notification_channel().set_name(created.name.clone()).send().await.expect("get");
    assert_eq!(got, created);

    // Paging over the seeded channel and the new one.
    let first = nc.list_notification_channels().set_name(PROJECT).set_page_size(1).set_order_by("name").send().await;
    let first = first.expect("list");
    assert_eq!((first.notification_channels.len(), first.total_size), (1, 2));
    assert!(!first.next_page_token.is_empty());
    let second = nc
        .list_notification_channels()
        .set_name(PROJECT)
        .set_page_size(1)
        .set_order_by("name")
        .set_page_token(first.next_page_token.clone())
        .send()
        .await
        .expect("second page");
    assert_eq!(second.notification_channels.len(), 1);
    assert!(second.next_page_token.is_empty());
    assert_ne!(first.notification_channels[0].name, second.notification_channels[0].name);
    let filtered = nc
        .list_notification_channels()
        .set_name(PROJECT)
        .set_filter("type = \"email\" AND display_name = \"On call\"")
        .send()
        .await
        .expect("filtered list");
    assert_eq!(filtered.notification_channels.len(), 1);

    // A masked update changes the masked field only; an empty mask replaces the channel.
    let mut edit = created.clone();
    edit.display_name = "Pager".into();
    edit.description = "not in the mask".into();
    let patched = nc
        .update_notification_channel()
        .set_notification_channel(edit)
        .set_update_mask(mask(&["display_name"]))
        .send()
        .await
        .expect("masked update");
    assert_eq!((patched.display_name.as_str(), patched.description.as_str()), ("Pager", ""));
    assert_eq!(patched.mutation_records.len(), 1);
    let replacement: NotificationChannel = msg(json!({"name": created.name, "type": "email",
        "description": "replaced", "labels": {"email_address": "oncall@example.com"}, "enabled": false}));
    let replaced =
        nc.update_notification_channel().set_notification_channel(replacement).send().await.expect("replace");
    assert_eq!((replaced.display_name.as_str(), replaced.description.as_str()), ("", "replaced"));
    assert_eq!(replaced.enabled, Some(false));
    let err = nc
        .update_notification_channel()
        .set_notification_channel(replaced.clone())
        .set_update_mask(mask(&["verification_status"]))
        .send()
        .await
        .expect_err("an output-only mask path");
    assert_eq!(code_of(&err), (Some(Code::InvalidArgument), Some(400)));
    let err = nc
        .update_notification_channel()
        .set_notification_channel(replaced.clone())
        .set_update_mask(mask(&["no_such_field"]))
        .send()
        .await
        .expect_err("an unknown mask path");
    assert!(message_of(&err).contains("\"noSuchField\""), "{err}");

    // Sensitive labels read back obfuscated.
    let slack: NotificationChannel =
        msg(json!({"type": "slack", "labels": {"channel_name": "#alerts", "auth_token": "xoxb-secret-token-9684"}}));
    let slack = nc.create_notification_channel().set_name(PROJECT).set_notification_channel(slack).send().await;
    let slack = slack.expect("slack channel");
    assert_eq!(slack.labels["auth_token"], format!("{}9684", "*".repeat(18)));
    assert_eq!(slack.verification_status, VerificationStatus::Unspecified);

    // Descriptors.
    let descriptors = nc.list_notification_channel_descriptors().set_name(PROJECT).send().await.expect("descriptors");
    assert!(descriptors.channel_descriptors.iter().any(|d| d.r#type == "email"));
    let email = nc
        .get_notification_channel_descriptor()
        .set_name("projects/acme/notificationChannelDescriptors/email")
        .send()
        .await
        .expect("email descriptor");
    assert_eq!(email.labels[0].key, "email_address");

    // Verification: codes are sent, checked, and a verified channel's code verifies its twin.
    nc.send_notification_channel_verification_code().set_name(created.name.clone()).send().await.expect("send code");
    let err = nc
        .verify_notification_channel()
        .set_name(created.name.clone())
        .set_code("G-000000-wrong")
        .send()
        .await
        .expect_err("a wrong code");
    assert_eq!(code_of(&err), (Some(Code::InvalidArgument), Some(400)));
    let err = nc
        .get_notification_channel_verification_code()
        .set_name(created.name.clone())
        .send()
        .await
        .expect_err("the channel is not verified");
    assert_eq!(code_of(&err).0, Some(Code::FailedPrecondition));
    let code = nc
        .get_notification_channel_verification_code()
        .set_name("projects/acme/notificationChannels/100")
        .send()
        .await
        .expect("a verified channel's code");
    assert!(code.expire_time.is_some());
    let verified = nc
        .verify_notification_channel()
        .set_name(created.name.clone())
        .set_code(code.code)
        .send()
        .await
        .expect("verify with the twin's code");
    assert_eq!(verified.verification_status, VerificationStatus::Verified);

    nc.delete_notification_channel().set_name(created.name.clone()).send().await.expect("delete");
    let err = nc.get_notification_channel().set_name(created.name.clone()).send().await.expect_err("gone");
    assert_eq!(code_of(&err), (Some(Code::NotFound), Some(404)));
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_policies_round_trip_and_a_channel_in_use_is_deleted_only_with_force() {
    let (emu, _dir) = start_with(None).await;
    let nc = channels(&emu).await;
    let ap = policies(&emu).await;
    let channel = nc
        .create_notification_channel()
        .set_name(PROJECT)
        .set_notification_channel(email_channel("oncall@example.com"))
        .send()
        .await
        .expect("channel");

    let uptime_failed = threshold("monitoring.googleapis.com/uptime_check/check_passed");
    let created = ap
        .create_alert_policy()
        .set_name(PROJECT)
        .set_alert_policy(policy(vec![uptime_failed.clone()], &[&channel.name]))
        .send()
        .await
        .expect("create");
    assert!(created.name.starts_with("projects/acme/alertPolicies/"));
    let condition_name = created.conditions[0].name.clone();
    assert!(condition_name.starts_with(&format!("{}/conditions/", created.name)), "{condition_name}");
    assert_eq!(created.enabled, Some(true));
    assert!(created.creation_record.is_some() && created.mutation_record.is_some());
    assert_eq!(ap.get_alert_policy().set_name(created.name.clone()).send().await.expect("get"), created);

    let second = ap
        .create_alert_policy()
        .set_name("projects/acme")
        .set_alert_policy(msg::<AlertPolicy>(json!({"displayName": "Certificates", "conditions": [{
            "displayName": "expires within 30 days",
            "conditionThreshold": {"filter": "metric.type=\"monitoring.googleapis.com/uptime_check/time_until_ssl_cert_expires\" AND resource.type=\"uptime_url\"",
                "comparison": "COMPARISON_LT", "thresholdValue": 30, "duration": "600s",
                "aggregations": [{"alignmentPeriod": "1200s", "perSeriesAligner": "ALIGN_NEXT_OLDER",
                                  "crossSeriesReducer": "REDUCE_MEAN", "groupByFields": ["resource.label.*"]}]}}],
            "userLabels": {"area": "certs"}})))
        .send()
        .await
        .expect("second policy");
    let page = ap.list_alert_policies().set_name(PROJECT).set_page_size(1).set_order_by("display_name").send().await;
    let page = page.expect("list");
    assert_eq!((page.alert_policies[0].display_name.as_str(), page.total_size), ("Certificates", 2));
    let rest = ap
        .list_alert_policies()
        .set_name(PROJECT)
        .set_page_size(1)
        .set_order_by("display_name")
        .set_page_token(page.next_page_token)
        .send()
        .await
        .expect("second page");
    assert_eq!(rest.alert_policies[0].name, created.name);
    let labelled = ap.list_alert_policies().set_name(PROJECT).set_filter("user_labels.area = \"certs\"").send().await;
    assert_eq!(labelled.expect("filtered").alert_policies[0].name, second.name);

    // Masked update: documentation only; the conditions keep their names.
    let mut edit = created.clone();
    edit.display_name = "not in the mask".into();
    edit = edit.set_documentation(msg::<google_cloud_monitoring_v3::model::alert_policy::Documentation>(
        json!({"content": "Check /health on both domains.", "mimeType": "text/markdown"}),
    ));
    let patched = ap
        .update_alert_policy()
        .set_alert_policy(edit)
        .set_update_mask(mask(&["documentation"]))
        .send()
        .await
        .expect("masked update");
    assert_eq!(patched.display_name, "Health");
    assert_eq!(patched.documentation.as_ref().map(|d| d.content.as_str()), Some("Check /health on both domains."));
    assert_eq!(patched.conditions[0].name, condition_name);
    // Empty mask: replaced whole (the documentation goes), the id stays.
    let mut replacement = policy(vec![uptime_failed.clone()], &[&channel.name]);
    replacement.name = created.name.clone();
    replacement.display_name = "Health (replaced)".into();
    let replaced = ap.update_alert_policy().set_alert_policy(replacement).send().await.expect("replace");
    assert_eq!((replaced.name.as_str(), replaced.documentation.is_none()), (created.name.as_str(), true));
    assert_ne!(replaced.conditions[0].name, condition_name, "a condition without its name is a new condition");
    let err = ap
        .update_alert_policy()
        .set_alert_policy(replaced.clone())
        .set_update_mask(mask(&["conditions.display_name"]))
        .send()
        .await
        .expect_err("a path into a list");
    assert_eq!(code_of(&err), (Some(Code::InvalidArgument), Some(400)));

    // The channel is in use: refused, then forced (the policy loses it).
    let err = nc.delete_notification_channel().set_name(channel.name.clone()).send().await.expect_err("in use");
    assert_eq!(code_of(&err), (Some(Code::FailedPrecondition), Some(400)));
    assert_eq!(
        message_of(&err),
        format!("Could not delete \"{}\" because it is still being referenced by: \"{}\"", channel.name, created.name)
    );
    nc.delete_notification_channel().set_name(channel.name.clone()).set_force(true).send().await.expect("forced");
    let after = ap.get_alert_policy().set_name(created.name.clone()).send().await.expect("get");
    assert!(after.notification_channels.is_empty());

    ap.delete_alert_policy().set_name(created.name.clone()).send().await.expect("delete");
    let err = ap.delete_alert_policy().set_name(created.name.clone()).send().await.expect_err("gone");
    assert_eq!(code_of(&err), (Some(Code::NotFound), Some(404)));
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uptime_checks_round_trip_every_method_through_the_sdk() {
    let (emu, _dir) = start_with(None).await;
    let uc = uptime(&emu).await;
    let created = uc
        .create_uptime_check_config()
        .set_parent(PROJECT)
        .set_uptime_check_config(health_check("staging.example.com"))
        .send()
        .await
        .expect("create");
    let id = created.name.strip_prefix("projects/acme/uptimeCheckConfigs/").expect("name");
    assert!(id.starts_with("staging-example-com-health-"), "{id}");
    assert_eq!(uc.get_uptime_check_config().set_name(created.name.clone()).send().await.expect("get"), created);
    let json = serde_json::to_value(&created).expect("json");
    assert_eq!(json["httpCheck"]["port"], 443);
    assert_eq!(json["checkerType"], 1, "STATIC_IP_CHECKERS (the SDK writes enums as numbers)");
    assert_eq!(json["contentMatchers"][0]["matcher"], 1, "CONTAINS_STRING");

    uc.create_uptime_check_config()
        .set_parent(PROJECT)
        .set_uptime_check_config(health_check("api-staging.example.com"))
        .send()
        .await
        .expect("second check");
    let page = uc.list_uptime_check_configs().set_parent(PROJECT).set_page_size(1).send().await.expect("list");
    assert_eq!((page.uptime_check_configs.len(), page.total_size), (1, 2));
    let rest = uc
        .list_uptime_check_configs()
        .set_parent(PROJECT)
        .set_page_size(1)
        .set_page_token(page.next_page_token)
        .send()
        .await
        .expect("second page");
    assert_eq!(rest.uptime_check_configs.len(), 1);
    assert!(rest.next_page_token.is_empty());

    let mut edit = created.clone();
    edit.display_name = "renamed".into();
    let edit = edit.set_timeout(google_cloud_wkt::Duration::clamp(20, 0));
    let patched = uc
        .update_uptime_check_config()
        .set_uptime_check_config(edit)
        .set_update_mask(mask(&["timeout"]))
        .send()
        .await
        .expect("masked update");
    assert_eq!(patched.timeout, Some(google_cloud_wkt::Duration::clamp(20, 0)));
    assert_eq!(patched.display_name, created.display_name);
    let mut replacement = health_check("staging.example.com");
    replacement.name = created.name.clone();
    replacement.period = Some(google_cloud_wkt::Duration::clamp(900, 0));
    let replaced = uc.update_uptime_check_config().set_uptime_check_config(replacement).send().await.expect("replace");
    assert_eq!(replaced.period, Some(google_cloud_wkt::Duration::clamp(900, 0)));
    assert_eq!(replaced.timeout, Some(google_cloud_wkt::Duration::clamp(10, 0)));
    let err = uc
        .update_uptime_check_config()
        .set_uptime_check_config(replaced)
        .set_update_mask(mask(&["monitored_resource"]))
        .send()
        .await
        .expect_err("immutable");
    assert_eq!(code_of(&err), (Some(Code::InvalidArgument), Some(400)));

    let ips = uc.list_uptime_check_ips().send().await.expect("ips");
    assert!(ips.uptime_check_ips.len() >= 3);
    uc.delete_uptime_check_config().set_name(created.name.clone()).send().await.expect("delete");
    let err = uc.get_uptime_check_config().set_name(created.name.clone()).send().await.expect_err("gone");
    assert_eq!(code_of(&err), (Some(Code::NotFound), Some(404)));
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_apis_validation_errors_reach_the_sdk() {
    let (emu, _dir) = start_with(None).await;
    let ap = policies(&emu).await;
    let nc = channels(&emu).await;
    let uc = uptime(&emu).await;

    let ok = threshold("monitoring.googleapis.com/uptime_check/check_passed");
    let with = |path: &[&str], v: Value| {
        let mut c = ok.clone();
        let mut node = &mut c;
        for p in &path[..path.len() - 1] {
            node = &mut node[*p];
        }
        node[path[path.len() - 1]] = v;
        c
    };
    let cases: Vec<(&str, AlertPolicy, Code, &str)> = vec![
        (
            "two conditions without a combiner",
            msg(json!({"displayName": "x", "conditions": [ok.clone(), ok.clone()]})),
            Code::InvalidArgument,
            "Field alert_policy.combiner had an invalid value of \"COMBINE_UNSPECIFIED\"",
        ),
        (
            "no condition kind",
            policy(vec![json!({"displayName": "empty"})], &[]),
            Code::InvalidArgument,
            "a condition must set exactly one of",
        ),
        (
            "a duration that is not whole minutes",
            policy(vec![with(&["conditionThreshold", "duration"], json!("45s"))], &[]),
            Code::InvalidArgument,
            "multiple of one minute",
        ),
        (
            "an alignment period under a minute",
            policy(
                vec![with(
                    &["conditionThreshold", "aggregations"],
                    json!([{"alignmentPeriod": "30s", "perSeriesAligner": "ALIGN_MEAN"}]),
                )],
                &[],
            ),
            Code::InvalidArgument,
            "alignment period must be in multiples of one minute",
        ),
        (
            "a filter that does not parse",
            policy(vec![with(&["conditionThreshold", "filter"], json!("metric.type = = \"x\""))], &[]),
            Code::InvalidArgument,
            "invalid filter",
        ),
        (
            "a misspelled metric type",
            policy(vec![threshold("monitoring.googleapis.com/uptime_check/check_pased")], &[]),
            Code::NotFound,
            "Cannot find metric(s) that match type = \"monitoring.googleapis.com/uptime_check/check_pased\".",
        ),
    ];
    for (what, body, code, text) in cases {
        let err = ap.create_alert_policy().set_name(PROJECT).set_alert_policy(body).send().await.expect_err(what);
        assert_eq!(err.status().map(|s| s.code), Some(code), "{what}: {err}");
        assert!(message_of(&err).contains(text), "{what}: {}", message_of(&err));
    }

    for (what, body, text) in [
        ("an unknown type", json!({"type": "carrier_pigeon"}), "unknown notification channel type"),
        ("an email channel without its address", json!({"type": "email"}), "\"email_address\""),
    ] {
        let err = nc
            .create_notification_channel()
            .set_name(PROJECT)
            .set_notification_channel(msg::<NotificationChannel>(body))
            .send()
            .await
            .expect_err(what);
        assert_eq!(code_of(&err), (Some(Code::InvalidArgument), Some(400)), "{what}");
        assert!(message_of(&err).contains(text), "{what}: {}", message_of(&err));
    }

    let check = serde_json::to_value(health_check("staging.example.com")).expect("json");
    let variant = |f: &dyn Fn(&mut Value)| {
        let mut v = check.clone();
        f(&mut v);
        msg::<UptimeCheckConfig>(v)
    };
    let cases: Vec<(&str, UptimeCheckConfig, &str)> = vec![
        ("a timeout over a minute", variant(&|v| v["timeout"] = json!("61s")), "between 1 and 60 seconds"),
        (
            "a period the API does not offer",
            variant(&|v| v["period"] = json!("120s")),
            "one of 60s, 300s, 600s and 900s",
        ),
        // Two targets or two protocols cannot be sent: the SDK holds each as a oneof.
        (
            "no target",
            variant(&|v| {
                v.as_object_mut().map(|m| m.remove("monitoredResource"));
            }),
            "Exactly one of uptime_check_config.monitored_resource",
        ),
        (
            "no protocol",
            variant(&|v| {
                v.as_object_mut().map(|m| m.remove("httpCheck"));
            }),
            "Exactly one of uptime_check_config.http_check",
        ),
        (
            "too few locations",
            variant(&|v| v["selectedRegions"] = json!(["EUROPE", "SOUTH_AMERICA"])),
            "at least 3 locations",
        ),
        (
            "a regex that does not compile",
            variant(&|v| v["contentMatchers"] = json!([{"content": "([", "matcher": "MATCHES_REGEX"}])),
            "not a valid regular expression",
        ),
        ("VPC checkers on a URL", variant(&|v| v["checkerType"] = json!("VPC_CHECKERS")), "servicedirectory_service"),
    ];
    for (what, body, text) in cases {
        let err = uc
            .create_uptime_check_config()
            .set_parent(PROJECT)
            .set_uptime_check_config(body)
            .send()
            .await
            .expect_err(what);
        assert_eq!(code_of(&err), (Some(Code::InvalidArgument), Some(400)), "{what}");
        assert!(message_of(&err).contains(text), "{what}: {}", message_of(&err));
    }
    emu.shutdown().await;
}
