//! What a Service's writable part must satisfy, and the defaults the API fills in.
//!
//! Limits come from the discovery document (run.v2.json, revision 20261031) field
//! descriptions unless a comment names a cloud.google.com page. Errors name the field as the
//! request spells it, after the caller's prefix (`Violation in
//! CreateServiceRequest.service.template.containers[0].image: …`, as the real API words field
//! violations).

use serde_json::{json, Map, Value};

use super::super::errors::{invalid_argument, ApiError};

/// RevisionTemplate.timeout, "Max allowed time for an instance to respond to a request": "The
/// timeout is set by default to 5 minutes (300 seconds) and can be extended up to 60 minutes
/// (3600 seconds)" (cloud.google.com/run/docs/configuring/request-timeout).
pub const DEFAULT_TIMEOUT: &str = "300s";
pub const MAX_TIMEOUT_SECONDS: f64 = 3600.0;

/// Probe.timeoutSeconds: "Minimum value is 1. Maximum value is 3600."
const MAX_PROBE_TIMEOUT: i64 = 3600;
/// Probe.periodSeconds / initialDelaySeconds: "Maximum value for liveness probe is 3600.
/// Maximum value for startup probe is 240."
const MAX_LIVENESS_SECONDS: i64 = 3600;
const MAX_STARTUP_SECONDS: i64 = 240;

/// "The maximum concurrency value is 1000" (cloud.google.com/run/docs/about-concurrency).
const MAX_CONCURRENCY: i64 = 1000;

/// Container.ports: "If omitted, a port number will be chosen and passed to the container
/// through the PORT environment variable" — 8080 (cloud.google.com/run/docs/container-contract).
pub const DEFAULT_PORT: i64 = 8080;

/// Environment variables Cloud Run sets itself and refuses in a template
/// (cloud.google.com/run/docs/container-contract#env-vars).
const RESERVED_ENV: &[&str] = &["PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION"];

fn bad(at: &str, message: impl std::fmt::Display) -> ApiError {
    invalid_argument(format!("{at}: {message}"))
}

/// A JSON int32 as the SDKs send it (a number; proto3 JSON also admits a string).
fn int(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Seconds of a google.protobuf.Duration in JSON (`"300s"`, `"1.5s"`).
pub fn duration_seconds(text: &str) -> Option<f64> {
    let n = text.strip_suffix('s')?;
    if n.is_empty() || n.starts_with('+') {
        return None;
    }
    n.parse::<f64>().ok().filter(|s| s.is_finite())
}

/// Checks the writable part of a Service (`at` names it, e.g. `service`) and fills in what the
/// API defaults. `project_number` makes the default service account.
/// `creating`: the service is new (its annotations are checked as the labels are).
pub fn prepare(spec: &mut Map<String, Value>, at: &str, project_number: &str, creating: bool) -> Result<(), ApiError> {
    check_keys(spec.get("labels"), &format!("{at}.labels"))?;
    if creating {
        check_keys(spec.get("annotations"), &format!("{at}.annotations"))?;
    }
    let Some(Value::Object(template)) = spec.get_mut("template") else {
        return Err(bad(&format!("{at}.template"), "a revision template is required."));
    };
    check_keys(template.get("labels"), &format!("{at}.template.labels"))?;
    check_keys(template.get("annotations"), &format!("{at}.template.annotations"))?;
    prepare_template(template, &format!("{at}.template"), project_number)?;
    spec.entry("ingress").or_insert(json!("INGRESS_TRAFFIC_ALL"));
    spec.entry("launchStage").or_insert(json!("GA"));
    if let Some(description) = spec.get("description").and_then(Value::as_str) {
        // Service.description: "This field currently has a 512-character limit."
        if description.chars().count() > 512 {
            return Err(bad(&format!("{at}.description"), "must be at most 512 characters."));
        }
    }
    check_traffic(spec, at)?;
    Ok(())
}

/// Service/RevisionTemplate labels and annotations: "Cloud Run API v2 does not support labels
/// with `run.googleapis.com`, `cloud.googleapis.com`, `serving.knative.dev`, or
/// `autoscaling.knative.dev` namespaces, and they will be rejected" (annotations: the same, for
/// a Service "in new resources").
fn check_keys(map: Option<&Value>, at: &str) -> Result<(), ApiError> {
    const SYSTEM: &[&str] =
        &["run.googleapis.com", "cloud.googleapis.com", "serving.knative.dev", "autoscaling.knative.dev"];
    for key in map.and_then(Value::as_object).into_iter().flat_map(|m| m.keys()) {
        let namespace = key.split_once('/').map_or("", |(ns, _)| ns);
        if SYSTEM.contains(&namespace) {
            return Err(bad(
                at,
                format!("\"{key}\" is in the system namespace {namespace}, which Cloud Run API v2 does not accept: use the corresponding Service field."),
            ));
        }
    }
    Ok(())
}

fn prepare_template(template: &mut Map<String, Value>, at: &str, project_number: &str) -> Result<(), ApiError> {
    let timeout = template.entry("timeout").or_insert(json!(DEFAULT_TIMEOUT));
    let text = timeout.as_str().unwrap_or_default();
    match duration_seconds(text) {
        Some(s) if (1.0..=MAX_TIMEOUT_SECONDS).contains(&s) => {}
        _ => {
            return Err(bad(
                &format!("{at}.timeout"),
                format!("\"{text}\" is out of range: the request timeout must be between 1s and 3600s."),
            ))
        }
    }
    template
        .entry("serviceAccount")
        .or_insert_with(|| json!(format!("{project_number}-compute@developer.gserviceaccount.com")));
    let scaling = template.entry("scaling").or_insert_with(|| json!({}));
    if let Value::Object(scaling) = scaling {
        // RevisionScaling.maxInstanceCount defaults to 100
        // (cloud.google.com/run/docs/configuring/max-instances).
        scaling.entry("maxInstanceCount").or_insert(json!(100));
        let min = int(scaling.get("minInstanceCount")).unwrap_or(0);
        let max = int(scaling.get("maxInstanceCount")).unwrap_or(100);
        if min < 0 || max < 0 || (max > 0 && min > max) {
            return Err(bad(
                &format!("{at}.scaling"),
                format!("min_instance_count ({min}) must not exceed max_instance_count ({max})."),
            ));
        }
    }
    if let Some(Value::Object(vpc)) = template.get_mut("vpcAccess") {
        let connector = vpc.get("connector").and_then(Value::as_str).is_some_and(|c| !c.is_empty());
        let interfaces = vpc.get("networkInterfaces").and_then(Value::as_array).is_some_and(|a| !a.is_empty());
        if connector && interfaces {
            return Err(bad(
                &format!("{at}.vpc_access"),
                "connector and network_interfaces cannot both be set: use a connector or Direct VPC egress.",
            ));
        }
        if connector || interfaces {
            // VpcAccess.egress: traffic to private ranges only unless told otherwise
            // (cloud.google.com/run/docs/configuring/vpc-connectors).
            vpc.entry("egress").or_insert(json!("PRIVATE_RANGES_ONLY"));
        }
    }
    let volumes: Vec<String> = template
        .get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.get("name").and_then(Value::as_str).map(str::to_string))
        .collect();
    let mut cpu_below_one = false;
    match template.get_mut("containers") {
        Some(Value::Array(containers)) if !containers.is_empty() => {
            let many = containers.len() > 1;
            let serving = containers
                .iter()
                .filter(|c| c.get("ports").and_then(Value::as_array).is_some_and(|p| !p.is_empty()))
                .count();
            if many && serving != 1 {
                return Err(bad(
                    &format!("{at}.containers"),
                    "with several containers, exactly one (the ingress container) must declare a port.",
                ));
            }
            for (i, container) in containers.iter_mut().enumerate() {
                let Value::Object(container) = container else {
                    return Err(bad(&format!("{at}.containers[{i}]"), "must be an object."));
                };
                let ingress = !many || container.get("ports").and_then(Value::as_array).is_some_and(|p| !p.is_empty());
                cpu_below_one |= prepare_container(container, &format!("{at}.containers[{i}]"), ingress, &volumes)?;
            }
        }
        _ => return Err(bad(&format!("{at}.containers"), "at least one container is required.")),
    }
    // RevisionTemplate.maxInstanceRequestConcurrency: "If not specified or 0, concurrency
    // defaults to 80 when requested `CPU >= 1` and defaults to 1 when requested `CPU < 1`."
    let concurrency = int(template.get("maxInstanceRequestConcurrency")).unwrap_or(0);
    if !(0..=MAX_CONCURRENCY).contains(&concurrency) {
        return Err(bad(
            &format!("{at}.max_instance_request_concurrency"),
            format!("{concurrency} is out of range: it must be between 1 and {MAX_CONCURRENCY}."),
        ));
    }
    if concurrency == 0 {
        template.insert("maxInstanceRequestConcurrency".into(), json!(if cpu_below_one { 1 } else { 80 }));
    }
    Ok(())
}

/// Checks one container and fills its defaults; returns whether it asks for less than one CPU.
fn prepare_container(
    container: &mut Map<String, Value>,
    at: &str,
    ingress: bool,
    volumes: &[String],
) -> Result<bool, ApiError> {
    // Container.image: "Required."
    if container.get("image").and_then(Value::as_str).is_none_or(str::is_empty) {
        return Err(bad(&format!("{at}.image"), "a container image is required."));
    }
    if ingress {
        let ports = container.entry("ports").or_insert_with(|| json!([{}]));
        if let Value::Array(ports) = ports {
            // Container.ports: "Only a single port can be specified."
            if ports.len() > 1 {
                return Err(bad(&format!("{at}.ports"), "only a single port can be specified."));
            }
            if let Some(Value::Object(port)) = ports.first_mut() {
                port.entry("name").or_insert(json!("http1"));
                let number = int(port.get("containerPort")).unwrap_or(DEFAULT_PORT);
                if !(1..=65535).contains(&number) {
                    return Err(bad(&format!("{at}.ports[0].container_port"), format!("{number} is not a port.")));
                }
                port.insert("containerPort".into(), json!(number));
            }
        }
    }
    let port =
        container.get("ports").and_then(|p| p.get(0)).and_then(|p| int(p.get("containerPort"))).unwrap_or(DEFAULT_PORT);
    for (i, env) in container.get("env").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let name = env.get("name").and_then(Value::as_str).unwrap_or("");
        if name.is_empty() {
            return Err(bad(&format!("{at}.env[{i}].name"), "an environment variable needs a name."));
        }
        if RESERVED_ENV.contains(&name) {
            return Err(invalid_argument(format!(
                "The following reserved env names were provided: {name}. These values are automatically set by the system."
            )));
        }
        if env.get("value").is_some() && env.get("valueSource").is_some() {
            return Err(bad(&format!("{at}.env[{i}]"), "value and value_source cannot both be set."));
        }
        if let Some(source) = env.get("valueSource") {
            let secret = source.pointer("/secretKeyRef/secret").and_then(Value::as_str).unwrap_or("");
            if secret.is_empty() {
                return Err(bad(&format!("{at}.env[{i}].value_source.secret_key_ref.secret"), "a secret is required."));
            }
        }
    }
    for (i, mount) in container.get("volumeMounts").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let name = mount.get("name").and_then(Value::as_str).unwrap_or("");
        if !volumes.iter().any(|v| v == name) {
            return Err(bad(
                &format!("{at}.volume_mounts[{i}].name"),
                format!("\"{name}\" does not name a volume of the template."),
            ));
        }
    }
    let resources = container.entry("resources").or_insert_with(|| json!({"cpuIdle": true}));
    let mut below_one = false;
    if let Value::Object(resources) = resources {
        let limits = resources.entry("limits").or_insert_with(|| json!({}));
        if let Value::Object(limits) = limits {
            // ResourceRequirements.limits: "1000m" CPU and "512Mi" memory unless set
            // (cloud.google.com/run/docs/configuring/services/cpu, …/memory-limits).
            limits.entry("cpu").or_insert(json!("1000m"));
            limits.entry("memory").or_insert(json!("512Mi"));
            below_one = limits.get("cpu").and_then(Value::as_str).and_then(cpu_cores).is_some_and(|c| c < 1.0);
        }
    }
    let has_startup = container.contains_key("startupProbe");
    if let Some(Value::Object(probe)) = container.get_mut("startupProbe") {
        prepare_probe(probe, &format!("{at}.startup_probe"), port, MAX_STARTUP_SECONDS, true)?;
    }
    if !has_startup && ingress {
        // The startup probe a container gets when it names none: a TCP check of the port,
        // 240 s period and timeout, one failure (cloud.google.com/run/docs/configuring/healthchecks).
        container.insert(
            "startupProbe".into(),
            json!({"timeoutSeconds": 240, "periodSeconds": 240, "failureThreshold": 1, "tcpSocket": {"port": port}}),
        );
    }
    if let Some(Value::Object(probe)) = container.get_mut("livenessProbe") {
        prepare_probe(probe, &format!("{at}.liveness_probe"), port, MAX_LIVENESS_SECONDS, false)?;
    }
    Ok(below_one)
}

fn cpu_cores(text: &str) -> Option<f64> {
    match text.strip_suffix('m') {
        Some(milli) => milli.parse::<f64>().ok().map(|m| m / 1000.0),
        None => text.parse().ok(),
    }
}

fn prepare_probe(
    probe: &mut Map<String, Value>,
    at: &str,
    port: i64,
    max_seconds: i64,
    startup: bool,
) -> Result<(), ApiError> {
    let handlers = ["httpGet", "tcpSocket", "grpc"].iter().filter(|h| probe.contains_key(**h)).count();
    // Probe: "Exactly one of httpGet, tcpSocket, or grpc must be specified."
    if handlers > 1 {
        return Err(bad(at, "exactly one of http_get, tcp_socket or grpc must be specified."));
    }
    if handlers == 0 {
        if !startup {
            return Err(bad(at, "exactly one of http_get, tcp_socket or grpc must be specified."));
        }
        probe.insert("tcpSocket".into(), json!({}));
    }
    // Probe defaults: timeoutSeconds 1, periodSeconds 10, failureThreshold 3.
    let timeout = int(probe.get("timeoutSeconds")).filter(|n| *n != 0).unwrap_or(1);
    let period = int(probe.get("periodSeconds")).filter(|n| *n != 0).unwrap_or(10);
    let failures = int(probe.get("failureThreshold")).filter(|n| *n != 0).unwrap_or(3);
    let delay = int(probe.get("initialDelaySeconds")).unwrap_or(0);
    if !(1..=MAX_PROBE_TIMEOUT).contains(&timeout) {
        return Err(bad(
            &format!("{at}.timeout_seconds"),
            format!("{timeout} is out of range: it must be between 1 and 3600."),
        ));
    }
    if !(1..=max_seconds).contains(&period) {
        return Err(bad(
            &format!("{at}.period_seconds"),
            format!("{period} is out of range: it must be between 1 and {max_seconds}."),
        ));
    }
    if !(0..=max_seconds).contains(&delay) {
        return Err(bad(
            &format!("{at}.initial_delay_seconds"),
            format!("{delay} is out of range: it must be between 0 and {max_seconds}."),
        ));
    }
    // Probe.periodSeconds: "Must be greater or equal than timeout_seconds."
    if timeout > period {
        return Err(bad(
            &format!("{at}.timeout_seconds"),
            format!("timeout_seconds ({timeout}) must be less than or equal to period_seconds ({period})."),
        ));
    }
    if failures < 1 {
        return Err(bad(&format!("{at}.failure_threshold"), "the minimum value is 1."));
    }
    probe.insert("timeoutSeconds".into(), json!(timeout));
    probe.insert("periodSeconds".into(), json!(period));
    probe.insert("failureThreshold".into(), json!(failures));
    if let Some(Value::Object(http)) = probe.get_mut("httpGet") {
        http.entry("path").or_insert(json!("/"));
        http.entry("port").or_insert(json!(port));
    }
    if let Some(Value::Object(tcp)) = probe.get_mut("tcpSocket") {
        tcp.entry("port").or_insert(json!(port));
    }
    if let Some(Value::Object(grpc)) = probe.get_mut("grpc") {
        grpc.entry("port").or_insert(json!(port));
    }
    Ok(())
}

/// Service.traffic: "If traffic is empty or not provided, defaults to 100% traffic to the
/// latest `Ready` Revision." Targets must add up to 100 percent and tags must be unique.
fn check_traffic(spec: &mut Map<String, Value>, at: &str) -> Result<(), ApiError> {
    let empty = spec.get("traffic").and_then(Value::as_array).is_none_or(|t| t.is_empty());
    if empty {
        spec.insert("traffic".into(), json!([{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "percent": 100}]));
        return Ok(());
    }
    let targets = spec.get("traffic").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut total = 0;
    let mut tags: Vec<&str> = Vec::new();
    for (i, target) in targets.iter().enumerate() {
        let percent = int(target.get("percent")).unwrap_or(0);
        if !(0..=100).contains(&percent) {
            return Err(bad(&format!("{at}.traffic[{i}].percent"), format!("{percent} is not a percentage.")));
        }
        total += percent;
        let kind = target.get("type").and_then(Value::as_str).unwrap_or("TRAFFIC_TARGET_ALLOCATION_TYPE_UNSPECIFIED");
        let revision = target.get("revision").and_then(Value::as_str).unwrap_or("");
        match kind {
            "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST" if !revision.is_empty() => {
                return Err(bad(&format!("{at}.traffic[{i}]"), "a LATEST target cannot name a revision."))
            }
            "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION" if revision.is_empty() => {
                return Err(bad(&format!("{at}.traffic[{i}].revision"), "a REVISION target must name a revision."))
            }
            "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST" | "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION" => {}
            other => {
                return Err(bad(&format!("{at}.traffic[{i}].type"), format!("\"{other}\" is not an allocation type.")))
            }
        }
        if let Some(tag) = target.get("tag").and_then(Value::as_str).filter(|t| !t.is_empty()) {
            if tags.contains(&tag) {
                return Err(bad(&format!("{at}.traffic[{i}].tag"), format!("tag \"{tag}\" is used twice.")));
            }
            tags.push(tag);
        }
    }
    if total != 100 {
        return Err(bad(&format!("{at}.traffic"), format!("the traffic percentages add up to {total}, not 100.")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prepared(v: Value) -> Result<Value, String> {
        let mut spec = v.as_object().cloned().unwrap();
        prepare(&mut spec, "service", "123", true).map(|()| Value::Object(spec)).map_err(|e| e.message)
    }

    #[test]
    fn a_minimal_service_gets_the_api_defaults() {
        let s =
            prepared(json!({"template": {"containers": [{"image": "us-docker.pkg.dev/cloudrun/container/hello"}]}}))
                .unwrap();
        assert_eq!(s["ingress"], "INGRESS_TRAFFIC_ALL");
        assert_eq!(s["launchStage"], "GA");
        assert_eq!(s["traffic"], json!([{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "percent": 100}]));
        let t = &s["template"];
        assert_eq!(t["timeout"], "300s");
        assert_eq!(t["serviceAccount"], "123-compute@developer.gserviceaccount.com");
        assert_eq!(t["maxInstanceRequestConcurrency"], 80);
        assert_eq!(t["scaling"], json!({"maxInstanceCount": 100}));
        let c = &t["containers"][0];
        assert_eq!(c["ports"], json!([{"name": "http1", "containerPort": 8080}]));
        assert_eq!(c["resources"], json!({"cpuIdle": true, "limits": {"cpu": "1000m", "memory": "512Mi"}}));
        assert_eq!(c["startupProbe"]["tcpSocket"], json!({"port": 8080}));
    }

    #[test]
    fn refusals_name_the_field() {
        let err = prepared(json!({"template": {"containers": [{"name": "x"}]}})).unwrap_err();
        assert!(err.starts_with("service.template.containers[0].image:"), "{err}");
        let probe = json!({"template": {"containers": [{"image": "i",
            "startupProbe": {"timeoutSeconds": 20, "periodSeconds": 10, "httpGet": {"path": "/health"}}}]}});
        let err = prepared(probe).unwrap_err();
        assert!(err.contains("startup_probe.timeout_seconds") && err.contains("(20)") && err.contains("(10)"), "{err}");
        let err = prepared(json!({"template": {"timeout": "3601s", "containers": [{"image": "i"}]}})).unwrap_err();
        assert!(err.starts_with("service.template.timeout:"), "{err}");
        assert!(prepared(json!({"template": {"timeout": "3600s", "containers": [{"image": "i"}]}})).is_ok());
        assert!(prepared(json!({"template": {"timeout": "0.5s", "containers": [{"image": "i"}]}})).is_err());
        let err =
            prepared(json!({"template": {"containers": [{"image": "i", "env": [{"name": "PORT", "value": "1"}]}]}}))
                .unwrap_err();
        assert!(err.contains("reserved env names"), "{err}");
        let err = prepared(json!({"template": {"containers": [{"image": "i"}]},
            "traffic": [{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "percent": 90}]}))
        .unwrap_err();
        assert!(err.contains("add up to 90"), "{err}");
        assert!(prepared(json!({})).unwrap_err().contains("template"));
        let err =
            prepared(json!({"template": {"containers": [{"image": "i"}], "labels": {"run.googleapis.com/x": "y"}}}))
                .unwrap_err();
        assert!(err.starts_with("service.template.labels:"), "{err}");
        assert!(prepared(
            json!({"labels": {"example.com/team": "core"}, "template": {"containers": [{"image": "i"}]}})
        )
        .is_ok());
    }

    #[test]
    fn a_startup_probe_allowing_600_seconds_fits_the_limits() {
        let s = prepared(json!({"template": {"timeout": "600s", "containers": [{"image": "i",
            "startupProbe": {"initialDelaySeconds": 0, "timeoutSeconds": 5, "periodSeconds": 10, "failureThreshold": 60,
                             "httpGet": {"path": "/health"}}}]}}))
        .unwrap();
        let probe = &s["template"]["containers"][0]["startupProbe"];
        assert_eq!(probe["httpGet"], json!({"path": "/health", "port": 8080}));
        assert_eq!(probe["failureThreshold"], 60);
        let over = prepared(json!({"template": {"containers": [{"image": "i",
            "startupProbe": {"periodSeconds": 241, "tcpSocket": {}}}]}}));
        assert!(over.unwrap_err().contains("between 1 and 240"));
    }

    #[test]
    fn durations_parse_as_the_json_mapping_spells_them() {
        assert_eq!(duration_seconds("300s"), Some(300.0));
        assert_eq!(duration_seconds("1.5s"), Some(1.5));
        assert_eq!(duration_seconds("300"), None);
        assert_eq!(duration_seconds("s"), None);
    }
}
