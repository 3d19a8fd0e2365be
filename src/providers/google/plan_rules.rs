//! The google provider's plan-time rules that span several resources
//! ([`crate::providers::Provider::check_across`]): what the APIs refuse only when the apply
//! reaches them, about how a load balancer's pieces fit together, and who owns a BigQuery
//! dataset's access list.
//!
//! Objects are matched by value: compute objects with a known name plan their `id` and
//! `self_link` known (`compute_common::plan_identity`), so a reference written as either (or a
//! name) finds its object through [`cc::same_ref`]. Unknown values skip a rule.

use crate::addr::AttrPath;
use crate::lang::value::Value;
use crate::providers::{CrossResourceViolation, PlannedObject};

use super::compute_common as cc;
use super::compute_global_forwarding_rule as fr;
use super::compute_region_network_endpoint_group as neg;

const CLOUD_RUN_SERVICE: &str = "google_cloud_run_v2_service";
const BACKEND_SERVICE: &str = "google_compute_backend_service";
const BIGQUERY_DATASET: &str = "google_bigquery_dataset";
const BIGQUERY_DATASET_IAM_MEMBER: &str = super::bigquery_dataset_iam_member::TYPE;
const URL_MAP: &str = "google_compute_url_map";
const PROXIES: [&str; 2] = ["google_compute_target_http_proxy", "google_compute_target_https_proxy"];
/// The backend service's default `load_balancing_scheme`, as the provider's definition has it
/// (mmv1/products/compute/BackendService.yaml, `default_value`), for a value left null.
const BACKEND_DEFAULT_SCHEME: &str = "EXTERNAL_MANAGED";

/// Every rule, in a stable order.
pub fn check(objects: &[PlannedObject<'_>]) -> Vec<CrossResourceViolation> {
    let mut out = serverless_neg_region(objects);
    out.extend(same_scheme_behind_forwarding_rule(objects));
    out.extend(no_health_checks_on_serverless_backends(objects));
    out.extend(dataset_access_or_iam_members(objects));
    out
}

fn known_str<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    v.get(name).and_then(|x| x.peel().as_str())
}

fn of_type<'a, 'b>(
    objects: &'b [PlannedObject<'a>],
    type_name: &'b str,
) -> impl Iterator<Item = &'b PlannedObject<'a>> {
    objects.iter().filter(move |o| o.type_name == type_name)
}

/// The object of one of `types` a reference names (by id, self link or name).
fn referenced<'a, 'b>(
    objects: &'b [PlannedObject<'a>],
    types: &[&str],
    reference: &str,
) -> Option<&'b PlannedObject<'a>> {
    objects.iter().filter(|o| types.contains(&o.type_name)).find(|o| {
        ["id", "self_link", "name"]
            .iter()
            .any(|k| known_str(o.value, k).is_some_and(|own| cc::same_ref(reference, own)))
    })
}

/// The first item of a single nested block.
fn first_block<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v.get(name).and_then(|b| b.peel().as_list()).and_then(|l| l.first())
}

fn blocks<'a>(v: &'a Value, name: &str) -> &'a [Value] {
    v.get(name).and_then(|b| b.peel().as_list()).unwrap_or(&[])
}

/// A serverless NEG must be in the region of the Cloud Run service it names: a regional
/// serverless NEG reaches only services of its own region (paraphrased from "Serverless network
/// endpoint groups overview", https://cloud.google.com/load-balancing/docs/negs/serverless-neg-concepts;
/// `gcloud compute network-endpoint-groups create --region` takes the service's region).
/// The service is matched by `name` (and `project` when both are known).
fn serverless_neg_region(objects: &[PlannedObject<'_>]) -> Vec<CrossResourceViolation> {
    let mut out = Vec::new();
    for n in of_type(objects, neg::TYPE) {
        let Some(service) = first_block(n.value, "cloud_run").and_then(|c| known_str(c, "service")) else { continue };
        let Some(region) = known_str(n.value, "region").map(cc::short_name) else { continue };
        let project = known_str(n.value, "project");
        for s in of_type(objects, CLOUD_RUN_SERVICE) {
            if known_str(s.value, "name") != Some(service) {
                continue;
            }
            if let (Some(a), Some(b)) = (project, known_str(s.value, "project")) {
                if a != b {
                    continue;
                }
            }
            let Some(location) = known_str(s.value, "location") else { continue };
            if location == region {
                continue;
            }
            out.push(CrossResourceViolation {
                addr: n.addr.clone(),
                path: AttrPath::attr("region"),
                message: format!(
                    "{} is in region \"{region}\", but the Cloud Run service \"{service}\" it sends traffic to ({}) is in \"{location}\": a serverless network endpoint group must be in its service's region",
                    n.addr, s.addr
                ),
                help: format!("set region = \"{location}\" (or {}.location)", s.addr),
            });
        }
    }
    out
}

/// The backend services a URL map sends traffic to: its default service and every path
/// matcher's default service, path rules and route rules.
fn url_map_services(url_map: &Value) -> Vec<&str> {
    let mut out: Vec<&str> = known_str(url_map, "default_service").into_iter().collect();
    for m in blocks(url_map, "path_matcher") {
        out.extend(known_str(m, "default_service"));
        for r in blocks(m, "path_rule") {
            out.extend(known_str(r, "service"));
        }
        for r in blocks(m, "route_rules") {
            out.extend(known_str(r, "service"));
        }
    }
    out
}

/// A forwarding rule and the backend services behind it (rule → target proxy → URL map →
/// services) use the same `load_balancing_scheme`: compute.v1.json, `BackendService.
/// loadBalancingScheme`: "A backend service created for one type of load balancer cannot be
/// used with another."
fn same_scheme_behind_forwarding_rule(objects: &[PlannedObject<'_>]) -> Vec<CrossResourceViolation> {
    let mut out = Vec::new();
    for rule in of_type(objects, fr::TYPE) {
        let Some(scheme) = known_str(rule.value, "load_balancing_scheme") else { continue };
        let Some(target) = known_str(rule.value, "target") else { continue };
        let Some(proxy) = referenced(objects, &PROXIES, target) else { continue };
        let Some(url_map) = known_str(proxy.value, "url_map").and_then(|u| referenced(objects, &[URL_MAP], u)) else {
            continue;
        };
        let mut seen = Vec::new();
        for service in url_map_services(url_map.value) {
            let Some(bs) = referenced(objects, &[BACKEND_SERVICE], service) else { continue };
            if seen.contains(&bs.addr) {
                continue;
            }
            seen.push(bs.addr);
            let theirs = match bs.value.get("load_balancing_scheme").map(Value::peel) {
                Some(Value::String(s)) => s.as_str(),
                Some(Value::Null) | None => BACKEND_DEFAULT_SCHEME,
                Some(_) => continue,
            };
            if theirs == scheme {
                continue;
            }
            out.push(CrossResourceViolation {
                addr: rule.addr.clone(),
                path: AttrPath::attr("load_balancing_scheme"),
                message: format!(
                    "{} uses load_balancing_scheme \"{scheme}\", but the backend service behind it, {} (through {} and {}), uses \"{theirs}\": a backend service serves one kind of load balancer, and the API refuses the mismatch",
                    rule.addr, bs.addr, proxy.addr, url_map.addr
                ),
                help: format!(
                    "use the same scheme on both: set load_balancing_scheme = \"{theirs}\" here, or \"{scheme}\" on {}",
                    bs.addr
                ),
            });
        }
    }
    out
}

/// A backend service whose backends are serverless NEGs takes no health checks:
/// compute.v1.json, `BackendService.healthChecks`: "Backend services with internet or
/// serverless NEG backends must not have a health check"; the API answers "A backend service
/// cannot have a healthcheck with Serverless network endpoint group backends."
fn no_health_checks_on_serverless_backends(objects: &[PlannedObject<'_>]) -> Vec<CrossResourceViolation> {
    let mut out = Vec::new();
    for bs in of_type(objects, BACKEND_SERVICE) {
        let has_checks = matches!(
            bs.value.get("health_checks").map(Value::peel),
            Some(Value::Set(items) | Value::List(items)) if !items.is_empty()
        );
        if !has_checks {
            continue;
        }
        let serverless = blocks(bs.value, "backend").iter().find_map(|b| {
            let group = known_str(b, "group")?;
            let n = referenced(objects, &[neg::TYPE], group)?;
            (known_str(n.value, "network_endpoint_type") == Some("SERVERLESS")).then_some(n)
        });
        let Some(n) = serverless else { continue };
        out.push(CrossResourceViolation {
            addr: bs.addr.clone(),
            path: AttrPath::attr("health_checks"),
            message: format!(
                "{} has health_checks, but its backend {} is a serverless network endpoint group: the API refuses it (\"A backend service cannot have a healthcheck with Serverless network endpoint group backends.\")",
                bs.addr, n.addr
            ),
            help: "remove health_checks: a serverless backend's health is its service's own (for Cloud Run, the container's startup and liveness probes)".to_string(),
        });
    }
    out
}

/// A dataset whose configuration writes `access` blocks owns its whole access list: each apply
/// sets it to those blocks, removing what `google_bigquery_dataset_iam_member`s of the same
/// dataset added, and each member's apply adds its entry back (the provider's page warns of
/// this). Located at the dataset's first `access` block.
fn dataset_access_or_iam_members(objects: &[PlannedObject<'_>]) -> Vec<CrossResourceViolation> {
    let mut out = Vec::new();
    for d in of_type(objects, BIGQUERY_DATASET) {
        let writes_access = d.body.is_some_and(|b| {
            b.blocks.iter().any(|x| x.type_name == "access") || b.dynamic_blocks.iter().any(|x| x.type_name == "access")
        });
        let (Some(project), Some(dataset_id)) = (known_str(d.value, "project"), known_str(d.value, "dataset_id"))
        else {
            continue;
        };
        if !writes_access {
            continue;
        }
        let members: Vec<String> = of_type(objects, BIGQUERY_DATASET_IAM_MEMBER)
            .filter(|m| {
                known_str(m.value, "project") == Some(project) && known_str(m.value, "dataset_id") == Some(dataset_id)
            })
            .map(|m| m.addr.to_string())
            .collect();
        if members.is_empty() {
            continue;
        }
        out.push(CrossResourceViolation {
            addr: d.addr.clone(),
            path: AttrPath::attr("access").join_index(0),
            message: format!(
                "{} sets the access list of dataset {project}:{dataset_id} with access blocks, and {} grant{} on the same dataset: each apply of one removes the other's entries",
                d.addr,
                members.join(", "),
                if members.len() == 1 { "s" } else { "" }
            ),
            help: "manage the dataset's access in one place: either move the members into access blocks here, or remove the access blocks (the dataset then keeps the live list) and grant each entry with a google_bigquery_dataset_iam_member".to_string(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::{InstanceAddr, InstanceKey, ModulePath, ResourceAddr};

    fn addr(type_name: &str, name: &str) -> InstanceAddr {
        ResourceAddr::managed(ModulePath::default(), type_name, name).instance(InstanceKey::None)
    }

    fn neg_in(region: &str, service: Value) -> Value {
        Value::map([
            ("name", Value::from("api-neg")),
            ("project", Value::from("p")),
            ("region", Value::from(region)),
            ("network_endpoint_type", Value::from("SERVERLESS")),
            ("id", Value::from(format!("projects/p/regions/{region}/networkEndpointGroups/api-neg"))),
            ("cloud_run", Value::List(vec![Value::map([("service", service)])])),
        ])
    }

    fn service_in(location: Value) -> Value {
        Value::map([("name", Value::from("api")), ("project", Value::from("p")), ("location", location)])
    }

    #[test]
    fn a_serverless_neg_outside_its_services_region_is_located_at_region() {
        let (n, s) = (addr(neg::TYPE, "api"), addr(CLOUD_RUN_SERVICE, "api"));
        let wrong = neg_in("europe-west1", Value::from("api"));
        let service = service_in(Value::from("us-central1"));
        let objects = [
            PlannedObject { addr: &n, type_name: neg::TYPE, value: &wrong, body: None },
            PlannedObject { addr: &s, type_name: CLOUD_RUN_SERVICE, value: &service, body: None },
        ];
        let v = check(&objects);
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!((&v[0].addr, v[0].path.to_string().as_str()), (&n, "region"));
        assert!(v[0].message.contains("is in region \"europe-west1\"") && v[0].help.contains("us-central1"), "{v:?}");

        let right = neg_in("us-central1", Value::from("api"));
        let objects = [
            PlannedObject { addr: &n, type_name: neg::TYPE, value: &right, body: None },
            PlannedObject { addr: &s, type_name: CLOUD_RUN_SERVICE, value: &service, body: None },
        ];
        assert!(check(&objects).is_empty());
        // Unknowns skip the rule: a service name or location not known until apply.
        let unknown_service = neg_in("europe-west1", Value::unknown());
        let unknown_location = service_in(Value::unknown());
        for (neg_value, service_value) in [(&unknown_service, &service), (&wrong, &unknown_location)] {
            let objects = [
                PlannedObject { addr: &n, type_name: neg::TYPE, value: neg_value, body: None },
                PlannedObject { addr: &s, type_name: CLOUD_RUN_SERVICE, value: service_value, body: None },
            ];
            assert!(check(&objects).is_empty());
        }
    }
}
