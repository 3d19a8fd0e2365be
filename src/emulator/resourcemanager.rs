//! Cloud Resource Manager API v3 (`cloudresourcemanager.googleapis.com`): `projects.get` only,
//! per the discovery document (cloudresourcemanager.v3.json, `Project`), which is what the
//! `google_project` data source reads.
//!
//! The emulator owns every project: any well-formed project id (or a number it has seen) names
//! an ACTIVE project whose number is the one [`super::projects::Projects`] gives it, as the
//! other emulated APIs accept any project. A scenario's `cloudresourcemanager.projects[]` adds
//! what only this API shows: `displayName`, `parent` (`organizations/N` or `folders/N`) and
//! `labels`. A malformed id is answered the way the real API answers an id that does not exist
//! or that the caller may not see: 403 PERMISSION_DENIED, "(or it may not exist)".

use serde_json::{json, Map, Value};

use super::api::{Api, ApiRequest, Ctx};
use super::errors::{not_found, ApiError, Code, Envelope};
use axum::http::Method;

pub const API: &str = "cloudresourcemanager";

/// When scenario projects say nothing: the emulator's projects were all "created" at its epoch.
const CREATE_TIME: &str = "2020-01-01T00:00:00Z";

pub struct ResourceManager;

impl Api for ResourceManager {
    fn name(&self) -> &'static str {
        API
    }

    fn envelope(&self) -> Envelope {
        Envelope::Aip
    }

    fn claims(&self, path: &str) -> bool {
        matches!(path.split('/').collect::<Vec<_>>().as_slice(), ["v3", "projects", p] if !p.contains(':'))
    }

    fn handle(&self, ctx: &mut Ctx<'_>, req: &ApiRequest) -> Result<Value, ApiError> {
        let segs: Vec<&str> = req.path.split('/').collect();
        let ["v3", "projects", id_or_number] = segs.as_slice() else {
            return Err(not_found(format!("The Resource Manager API has no resource /{}.", req.path)));
        };
        if req.method != Method::GET {
            return Err(not_found(format!(
                "The emulated Resource Manager API serves projects.get only, not {} /{}.",
                req.method, req.path
            )));
        }
        let id = ctx.store.projects.id_for(id_or_number);
        if !valid_project_id(&id) {
            return Err(denied(id_or_number));
        }
        let number = ctx.store.projects.number_for(&id);
        let seeded = ctx.store.get(API, &format!("projects/{id}")).map(|r| r.value.clone());
        Ok(project(&id, &number, seeded.as_ref()))
    }

    fn seed(&self, ctx: &mut Ctx<'_>, section: &Value) -> Result<(), String> {
        let scenario: ScenarioSection =
            serde_json::from_value(section.clone()).map_err(|e| format!("cloudresourcemanager: {e}"))?;
        for (i, p) in scenario.projects.iter().enumerate() {
            let at = |m: String| format!("cloudresourcemanager.projects[{i}] ({}): {m}", p.id);
            if !valid_project_id(&p.id) {
                return Err(at("a project id is 6 to 30 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen".into()));
            }
            if let Some(parent) = &p.parent {
                let ok = parent
                    .split_once('/')
                    .is_some_and(|(kind, n)| matches!(kind, "organizations" | "folders") && is_digits(n));
                if !ok {
                    return Err(at(format!("parent \"{parent}\" is not organizations/NUMBER or folders/NUMBER")));
                }
            }
            let name = format!("projects/{}", p.id);
            if ctx.store.contains(API, &name) {
                return Err(at("listed twice".into()));
            }
            ctx.store.projects.number_for(&p.id);
            let mut details = Map::new();
            if let Some(d) = &p.display_name {
                details.insert("displayName".into(), json!(d));
            }
            if let Some(parent) = &p.parent {
                details.insert("parent".into(), json!(parent));
            }
            if !p.labels.is_empty() {
                details.insert("labels".into(), json!(p.labels));
            }
            ctx.store.put(API, &name, Value::Object(details), Value::Null);
        }
        Ok(())
    }
}

/// The API's `Project` for `id`, with what a scenario gave it.
fn project(id: &str, number: &str, seeded: Option<&Value>) -> Value {
    let field = |k: &str| seeded.and_then(|s| s.get(k)).cloned();
    let mut p = Map::new();
    p.insert("name".into(), json!(format!("projects/{number}")));
    if let Some(parent) = field("parent") {
        p.insert("parent".into(), parent);
    }
    p.insert("projectId".into(), json!(id));
    p.insert("state".into(), json!("ACTIVE"));
    p.insert("displayName".into(), field("displayName").unwrap_or_else(|| json!(id)));
    p.insert("createTime".into(), json!(CREATE_TIME));
    p.insert("updateTime".into(), json!(CREATE_TIME));
    p.insert("etag".into(), json!(format!("W/\"{number}\"")));
    if let Some(labels) = field("labels") {
        p.insert("labels".into(), labels);
    }
    Value::Object(p)
}

fn denied(id_or_number: &str) -> ApiError {
    ApiError::new(
        Code::PermissionDenied,
        format!(
            "Permission 'resourcemanager.projects.get' denied on resource '//cloudresourcemanager.googleapis.com/projects/{id_or_number}' (or it may not exist)."
        ),
    )
}

/// Project ids: 6–30 characters, lowercase letters, digits and hyphens, starting with a letter,
/// not ending with a hyphen (cloud.google.com/resource-manager/docs/creating-managing-projects).
pub fn valid_project_id(id: &str) -> bool {
    let b = id.as_bytes();
    (6..=30).contains(&b.len())
        && b[0].is_ascii_lowercase()
        && b[b.len() - 1] != b'-'
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// The `cloudresourcemanager` section of a scenario file (see `scenario.rs`).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioSection {
    #[serde(default)]
    projects: Vec<ScenarioProject>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ScenarioProject {
    id: String,
    display_name: Option<String>,
    parent: Option<String>,
    #[serde(default)]
    labels: std::collections::BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::store::Store;

    fn ctx(store: &mut Store) -> Ctx<'_> {
        Ctx { store, operation_duration: std::time::Duration::ZERO, now: chrono::Utc::now() }
    }

    fn get(store: &mut Store, path: &str) -> Result<Value, ApiError> {
        ResourceManager.handle(&mut ctx(store), &ApiRequest::decoded(Method::GET, path, "", Value::Null))
    }

    #[test]
    fn claims_project_gets_only() {
        assert!(ResourceManager.claims("v3/projects/acme-staging"));
        assert!(!ResourceManager.claims("v3/projects/acme-staging/alertPolicies"));
        assert!(!ResourceManager.claims("v3/projects/acme-staging:getIamPolicy"));
        assert!(!ResourceManager.claims("v1/projects/acme-staging"));
    }

    #[test]
    fn any_well_formed_project_exists_with_its_number_and_scenario_details() {
        let mut store = Store::new();
        store.projects.insert("acme-staging", "123456789012");
        ResourceManager
            .seed(
                &mut ctx(&mut store),
                &json!({"projects": [{"id": "acme-staging", "displayName": "Acme staging",
                                      "parent": "folders/42", "labels": {"env": "staging"}}]}),
            )
            .unwrap();
        let p = get(&mut store, "v3/projects/acme-staging").unwrap();
        assert_eq!(p["name"], "projects/123456789012");
        assert_eq!(p["projectId"], "acme-staging");
        assert_eq!(p["displayName"], "Acme staging");
        assert_eq!(p["parent"], "folders/42");
        assert_eq!(p["labels"]["env"], "staging");
        assert_eq!(p["state"], "ACTIVE");
        // By number, too.
        assert_eq!(get(&mut store, "v3/projects/123456789012").unwrap()["projectId"], "acme-staging");
        // An unlisted project: derived number, its id as display name, no parent.
        let other = get(&mut store, "v3/projects/other-project").unwrap();
        assert_eq!(other["name"], format!("projects/{}", crate::emulator::projects::derive_number("other-project")));
        assert_eq!(other["displayName"], "other-project");
        assert!(other.get("parent").is_none());
    }

    #[test]
    fn a_malformed_id_is_denied_as_the_real_api_answers_a_missing_project() {
        let mut store = Store::new();
        let err = get(&mut store, "v3/projects/Bad_Project").unwrap_err();
        let body = err.body(Envelope::Aip);
        assert_eq!(body["error"]["code"], 403);
        assert_eq!(body["error"]["status"], "PERMISSION_DENIED");
        assert!(body["error"]["message"].as_str().unwrap().contains("(or it may not exist)"));
    }

    #[test]
    fn scenario_sections_are_checked() {
        let mut store = Store::new();
        let seed = |store: &mut Store, v: Value| ResourceManager.seed(&mut ctx(store), &v);
        assert!(seed(&mut store, json!({"projects": [{"id": "x"}]})).unwrap_err().contains("6 to 30"));
        assert!(seed(&mut store, json!({"projects": [{"id": "acme-x1", "parent": "orgs/1"}]}))
            .unwrap_err()
            .contains("organizations/NUMBER"));
        assert!(seed(&mut store, json!({"projects": [{"id": "acme-x1", "lables": {}}]})).is_err());
    }
}
