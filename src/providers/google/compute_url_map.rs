//! `google_compute_url_map`: routes requests of a global HTTP(S) load balancer to backend
//! services by host and path.
//!
//! Updates are a full PUT with the map's `fingerprint`; on 412 the map is re-read and the PUT
//! sent once more. Services may be named or given as self links; either matches the API's
//! answer. A host rule naming a path matcher that does not exist, duplicate matcher names and
//! malformed paths are refused at plan time (the API would refuse them at apply).

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use google_cloud_compute_v1::model;

use super::compute_collection::{compute_sdk_calls, ComputeCall, ComputeCollection, ComputeResource};
use super::compute_common::{self as cc, Renames};
use super::fields::{blocks, conform_to_schema, set, string};
use super::{mmv1, Shared};
use crate::addr::AttrPath;
use crate::lang::value::Value;
use crate::providers::{PlanProposal, ProviderError};
use crate::schema::{AttrType, Attribute, Rule, Schema, Validator};

const TYPE: &str = "google_compute_url_map";
const COLLECTION: &str = "urlMaps";

/// Attributes naming backend services (or buckets), at any depth.
const REFS: [&str; 3] = ["default_service", "service", "backend_service"];
/// A path matcher's ways to answer requests no rule matches.
const MATCHER_DEFAULTS: [&str; 3] = ["default_service", "default_url_redirect", "default_route_action"];

/// Custom validators see the whole set: check each path.
fn check_paths(v: &Value) -> Result<(), String> {
    v.as_list().unwrap_or(&[]).iter().try_for_each(check_path)
}

fn check_path(v: &Value) -> Result<(), String> {
    let Some(p) = v.as_str() else { return Ok(()) };
    if !p.starts_with('/') {
        return Err(format!("is \"{p}\"; a path must start with /"));
    }
    if let Some(i) = p.find('*') {
        if i != p.len() - 1 || !p[..i].ends_with('/') {
            return Err(format!("is \"{p}\"; * is allowed only at the very end, after a / (e.g. \"/auth/*\")"));
        }
    }
    if p.contains('?') || p.contains('#') {
        return Err(format!("is \"{p}\"; a path cannot contain ? or #"));
    }
    Ok(())
}

fn renames() -> Renames {
    mmv1::renames(TYPE)
}

/// The generated schema, and what magic-modules leaves to hand-written code: the name
/// pattern, the paths' shape (the API refuses the rest at apply time) and the matcher checks.
pub fn schema() -> Schema {
    mmv1::schema(TYPE)
        .modify("name", |a| {
            a.validate(Validator::Pattern { regex: cc::NAME_PATTERN, description: cc::NAME_DESCRIPTION })
        })
        .modify("default_service", |a| a.describe("The backend service (name or self link) when no host rule matches."))
        .modify("map_id", |a| Attribute {
            ty: AttrType::String,
            ..a.describe("The API's numeric id (a string: it exceeds 2^53).")
        })
        .modify("host_rule.hosts", |a| a.describe("Host names matched (\"*\" for any; \"*.example.com\" allowed)."))
        .modify("path_matcher.path_rule.paths", |a| {
            a.validate(Validator::Custom(Arc::new(check_paths))).describe("Paths matched, e.g. /auth/*.")
        })
        .rule(Rule::Custom(Arc::new(check_matchers)))
}

/// Host rules must name defined path matchers, matcher names must be unique, and a matcher
/// needs a default (a service, a redirect or a route action: the API refuses none).
pub fn check_matchers(config: &Value) -> Vec<(AttrPath, String)> {
    let mut out = Vec::new();
    let matchers = blocks(config, "path_matcher");
    if config.get("path_matcher").is_some_and(Value::is_unknown)
        || config.get("host_rule").is_some_and(Value::is_unknown)
    {
        return out;
    }
    let mut names = BTreeSet::new();
    for (i, m) in matchers.iter().enumerate() {
        let Some(n) = m.get("name").and_then(Value::as_str) else { continue };
        if !names.insert(n.to_string()) {
            out.push((
                AttrPath::attr("path_matcher").join_index(i as i64).join_attr("name"),
                format!("path_matcher.name \"{n}\" is used by two path_matcher blocks; each needs its own name"),
            ));
        }
        let answered = |d: &&str| m.get(d).is_some_and(|v| !v.is_null() && v.as_list().is_none_or(|l| !l.is_empty()));
        if !MATCHER_DEFAULTS.iter().any(answered) {
            out.push((
                AttrPath::attr("path_matcher").join_index(i as i64),
                format!("path_matcher \"{n}\" needs default_service: the backend service for requests that match none of its path_rule blocks"),
            ));
        }
    }
    let all_known = matchers.iter().all(|m| m.get("name").is_some_and(|n| n.as_str().is_some()));
    for (i, h) in blocks(config, "host_rule").iter().enumerate() {
        let Some(pm) = h.get("path_matcher").and_then(Value::as_str) else { continue };
        if all_known && !names.contains(pm) {
            let defined = if names.is_empty() {
                "none is defined".to_string()
            } else {
                format!("defined: {}", names.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", "))
            };
            out.push((
                AttrPath::attr("host_rule").join_index(i as i64).join_attr("path_matcher"),
                format!("host_rule.path_matcher = \"{pm}\" names no path_matcher block ({defined}); add a path_matcher {{ name = \"{pm}\" … }} or fix the name"),
            ));
        }
    }
    out
}

/// Every service reference in the request as a full self link.
fn expand_services(j: &mut serde_json::Value, project: &str) {
    match j {
        serde_json::Value::Object(o) => {
            for (k, v) in o.iter_mut() {
                match (k.as_str(), v.as_str()) {
                    ("defaultService" | "service" | "backendService", Some(s)) => {
                        *v = serde_json::Value::String(cc::expand_ref(project, "backendServices", s))
                    }
                    _ => expand_services(v, project),
                }
            }
        }
        serde_json::Value::Array(xs) => xs.iter_mut().for_each(|x| expand_services(x, project)),
        _ => {}
    }
}

pub fn request(planned: &Value, project: &str, fingerprint: Option<&str>) -> Result<model::UrlMap, ProviderError> {
    let mut j = cc::to_wire(&schema(), planned, renames());
    expand_services(&mut j, project);
    if let (Some(f), Some(o)) = (fingerprint.filter(|f| !f.is_empty()), j.as_object_mut()) {
        o.insert("fingerprint".into(), serde_json::Value::String(f.to_string()));
    }
    cc::json_model(j, TYPE)
}

/// The `urlMaps` collection.
pub struct UrlMaps;

pub type ComputeUrlMap = ComputeResource<UrlMaps>;

#[async_trait]
impl ComputeCollection for UrlMaps {
    const TYPE: &'static str = TYPE;
    const COLLECTION: &'static str = COLLECTION;

    compute_sdk_calls!(UrlMaps, UrlMap, set_url_map);

    fn schema() -> Schema {
        schema()
    }

    fn request(planned: &Value, project: &str, _name: &str) -> Result<Self::Model, ProviderError> {
        request(planned, project, None)
    }

    fn to_state(schema: &Schema, project: &str, m: &Self::Model, prior: Option<&Value>) -> Value {
        let (j, mut v) = cc::state_from_model(schema, renames(), project, COLLECTION, m);
        set(&mut v, "map_id", cc::jid(&j, "id"));
        let v = cc::zero_values_as_prior(schema, v, prior);
        let v = cc::align_refs_to_prior(v, prior, &REFS);
        conform_to_schema(schema, v)
    }

    fn customize_plan(schema: &Schema, shared: &Shared, p: &mut PlanProposal) -> Result<Vec<String>, ProviderError> {
        cc::plan_align_refs(p, schema, &REFS);
        cc::plan_identity(p, shared, COLLECTION);
        cc::plan_fingerprint(p);
        Ok(Vec::new())
    }

    async fn update(
        call: &ComputeCall<'_, Self>,
        prior: &Value,
        planned: &Value,
        _changed: &[AttrPath],
    ) -> Result<(), ProviderError> {
        call.put_fingerprinted(
            string(prior, "fingerprint"),
            |fingerprint| request(planned, call.project, fingerprint),
            |body, rid| {
                call.client
                    .update()
                    .set_project(call.project)
                    .set_url_map(call.name)
                    .set_request_id(rid)
                    .set_body(body)
                    .send()
            },
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::ResourceType;
    use crate::schema::validate::test_hcl;

    fn diags(src: &str) -> Vec<String> {
        test_hcl::check(src, &schema())
    }

    const GOOD: &str = r#"resource "google_compute_url_map" "m" {
  name            = "staging-url-map"
  default_service = "staging-backend-service"
  host_rule {
    hosts        = ["api-staging.netrasystems.ai"]
    path_matcher = "api"
  }
  path_matcher {
    name            = "api"
    default_service = "staging-backend-service"
    path_rule {
      paths   = ["/auth/*"]
      service = "staging-auth-service"
    }
  }
}
"#;

    #[test]
    fn every_documented_argument_and_block_validates() {
        cc::corpus::check_covers(TYPE, &schema());
    }

    #[test]
    fn host_rules_must_name_defined_matchers_and_paths_must_be_well_formed() {
        assert_eq!(diags(GOOD), Vec::<String>::new());
        let missing = diags(&GOOD.replace("path_matcher = \"api\"", "path_matcher = \"apis\""));
        assert!(
            missing.len() == 1
                && missing[0].starts_with("main.tf:6:")
                && missing[0].contains("names no path_matcher block (defined: \"api\")"),
            "{missing:?}"
        );
        let bad_path = diags(&GOOD.replace("/auth/*", "/auth*"));
        assert!(bad_path.len() == 1 && bad_path[0].contains("only at the very end, after a /"), "{bad_path:?}");
        let relative = diags(&GOOD.replace("/auth/*", "auth/*"));
        assert!(relative.len() == 1 && relative[0].contains("must start with /"), "{relative:?}");
        let no_default =
            diags(&GOOD.replace("    default_service = \"staging-backend-service\"\n    path_rule", "    path_rule"));
        assert!(no_default.len() == 1 && no_default[0].contains("needs default_service"), "{no_default:?}");
    }

    #[test]
    fn request_and_state_round_trip_without_diffs() {
        let t = ComputeUrlMap::new(Arc::new(Shared::new(Default::default())));
        let config = conform_to_schema(
            &schema(),
            Value::map([
                ("name", Value::from("staging-url-map")),
                ("default_service", Value::from("staging-backend-service")),
                (
                    "host_rule",
                    Value::set(vec![Value::map([
                        ("hosts", Value::set(vec![Value::from("api-staging.netrasystems.ai")])),
                        ("path_matcher", Value::from("api")),
                    ])]),
                ),
                (
                    "path_matcher",
                    Value::List(vec![Value::map([
                        ("name", Value::from("api")),
                        ("default_service", Value::from("staging-backend-service")),
                        (
                            "path_rule",
                            Value::List(vec![Value::map([
                                ("paths", Value::set(vec![Value::from("/auth/*")])),
                                ("service", Value::from("staging-auth-service")),
                            ])]),
                        ),
                    ])]),
                ),
            ]),
        );
        let body = cc::model_json(&request(&config, "p", Some("Zm9v")).unwrap());
        let bs = |n: &str| format!("https://www.googleapis.com/compute/v1/projects/p/global/backendServices/{n}");
        assert_eq!(body["defaultService"], bs("staging-backend-service").as_str());
        assert_eq!(body["hostRules"][0]["pathMatcher"], "api");
        assert_eq!(body["pathMatchers"][0]["pathRules"][0]["service"], bs("staging-auth-service").as_str());
        assert_eq!(body["fingerprint"], "Zm9v");
        // The API answers with self links, a fingerprint and ids.
        let mut answer = body.clone();
        answer["name"] = "staging-url-map".into();
        answer["id"] = "123".into();
        answer["selfLink"] = "https://www.googleapis.com/compute/v1/projects/p/global/urlMaps/staging-url-map".into();
        let m: model::UrlMap = serde_json::from_value(answer).unwrap();
        let v = t.schema().keep_client_only(&config, t.to_state("p", &m, Some(&config)));
        assert_eq!(v.get("default_service"), Some(&Value::from("staging-backend-service")));
        assert_eq!(v.get("map_id"), Some(&Value::from("123")));
        let mut prop = crate::schema::propose::propose(t.schema(), Some(&v), &config, false);
        t.customize_plan(&mut prop).unwrap();
        let changed = crate::schema::diff::changed_paths(&v, &prop.planned);
        assert!(changed.is_empty(), "{changed:?}");
    }
}
