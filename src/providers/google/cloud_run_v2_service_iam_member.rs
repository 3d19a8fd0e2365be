//! `google_cloud_run_v2_service_iam_member`: one member of one role on a Cloud Run service's
//! IAM policy (the load balancer's `roles/run.invoker`), non-authoritative: the rest of the
//! policy is left as it is. Writes are read-modify-write through [`super::iam`]; refresh
//! reads each service's policy once for every member on it.
//!
//! Every argument forces a new member (the provider's IAM member schema: all ForceNew).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use google_cloud_iam_v1::model::{GetPolicyOptions, Policy};
use serde_json::Value as Json;

use super::cloud_run_v2_service::{full_name, parse_import_id, parse_service_name};
use super::compute_common as cc;
use super::fields::{self, first_block, set, string};
use super::iam::{self, Condition, Grant};
use super::resource_common::{mutation_timeouts, no_identity, read_grouped};
use super::{Clients, Shared};
use crate::addr::AttrPath;
use crate::lang::value::Value;
use crate::providers::{CallContext, PlanProposal, ProviderError, ReadRequest, ResourceType};
use crate::schema::{AttrType, Attribute, BlockType, Schema, Validator};

const TYPE: &str = "google_cloud_run_v2_service_iam_member";
const GET_POLICY: &str = "run.projects.locations.services.getIamPolicy";
const SET_POLICY: &str = "run.projects.locations.services.setIamPolicy";

pub struct CloudRunV2ServiceIamMember {
    shared: Arc<Shared>,
    schema: Schema,
}

/// A member as the IAM API spells principals (cloud.google.com/iam/docs/principal-identifiers):
/// `allUsers`, `allAuthenticatedUsers`, `TYPE:ID` or a `principal://` / `principalSet://` URI.
fn check_member(v: &Value) -> Result<(), String> {
    let Some(s) = v.as_str() else { return Ok(()) };
    const TYPES: [&str; 10] = [
        "user",
        "serviceAccount",
        "group",
        "domain",
        "projectOwner",
        "projectEditor",
        "projectViewer",
        "principal",
        "principalSet",
        "deleted",
    ];
    if s == "allUsers" || s == "allAuthenticatedUsers" {
        return Ok(());
    }
    match s.split_once(':') {
        Some((t, id)) if !id.is_empty() && TYPES.iter().any(|x| x.eq_ignore_ascii_case(t)) => Ok(()),
        _ => Err(format!(
            "must be allUsers, allAuthenticatedUsers or TYPE:ID (user:, serviceAccount:, group:, domain:, principal://…), got {s:?}"
        )),
    }
}

/// Predefined roles are `roles/NAME`; custom ones `projects/P/roles/NAME` or
/// `organizations/O/roles/NAME` (the provider's page, "Custom Roles").
fn check_role(v: &Value) -> Result<(), String> {
    let Some(s) = v.as_str() else { return Ok(()) };
    let parts: Vec<&str> = s.split('/').collect();
    let ok = match parts.as_slice() {
        ["roles", r] => !r.is_empty(),
        ["projects" | "organizations", p, "roles", r] => !p.is_empty() && !r.is_empty(),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "must be roles/NAME or projects/PROJECT/roles/NAME (a custom role), got {s:?}; e.g. roles/run.invoker"
        ))
    }
}

pub fn schema() -> Schema {
    let forced = |a: Attribute| a.force_new();
    Schema::new()
        .attr(
            "name",
            forced(Attribute::required(AttrType::String))
                .describe("The service: its name, or projects/P/locations/L/services/NAME."),
        )
        .attr(
            "location",
            forced(Attribute::optional_computed(AttrType::String))
                .describe("The service's location; from name or the provider's region when not set."),
        )
        .attr(
            "project",
            forced(Attribute::optional_computed(AttrType::String))
                .describe("The service's project; from name or the provider's project when not set."),
        )
        .attr("role", forced(Attribute::required(AttrType::String)).validate(Validator::Custom(Arc::new(check_role))))
        .attr(
            "member",
            forced(Attribute::required(AttrType::String)).validate(Validator::Custom(Arc::new(check_member))),
        )
        .attr("etag", Attribute::computed(AttrType::String).describe("The etag of the policy after the last write."))
        .attr("id", Attribute::computed(AttrType::String))
        .block(
            "condition",
            BlockType::single(
                Schema::new()
                    .attr("expression", Attribute::required(AttrType::String))
                    .attr("title", Attribute::required(AttrType::String))
                    .attr("description", Attribute::optional(AttrType::String)),
            )
            .max_items(1)
            .force_new(),
        )
}

fn grant_of(v: &Value) -> Option<Grant> {
    let condition = first_block(v, "condition").map(|c| Condition {
        title: string(c, "title").unwrap_or_default(),
        description: string(c, "description").unwrap_or_default(),
        expression: string(c, "expression").unwrap_or_default(),
    });
    Some(Grant { role: string(v, "role")?, member: string(v, "member")?, condition })
}

/// The service a state or plan names: `name` in full, or project/location/name.
fn service_of(v: &Value) -> Option<String> {
    let name = string(v, "name")?;
    if let Some((p, l, n)) = parse_service_name(&name) {
        return Some(full_name(&p, &l, &n));
    }
    Some(full_name(&string(v, "project")?, &string(v, "location")?, &name))
}

/// Terraform's IAM member id: `{service}/{role}/{member}`, with `/{condition title}` after it
/// for a conditional member.
fn member_id(service: &str, g: &Grant) -> String {
    match &g.condition {
        Some(c) => format!("{service}/{}/{}/{}", g.role, g.member, c.title),
        None => format!("{service}/{}/{}", g.role, g.member),
    }
}

fn etag_of(policy: &Json) -> Value {
    policy.get("etag").and_then(Json::as_str).map(Value::string).unwrap_or(Value::Null)
}

impl CloudRunV2ServiceIamMember {
    pub fn new(shared: Arc<Shared>) -> Self {
        CloudRunV2ServiceIamMember { shared, schema: schema() }
    }

    async fn clients(&self, ctx: &CallContext) -> Result<Arc<Clients>, ProviderError> {
        self.shared.clients(&ctx.provider_config).await
    }

    /// The state for a member found on `service`'s policy; `like` supplies the configuration's
    /// spelling of name (short or full) and the condition.
    fn to_state(&self, service: &str, g: &Grant, policy: &Json, like: &Value) -> Value {
        let (project, location, short) = parse_service_name(service).unwrap_or_default();
        let name = match string(like, "name") {
            Some(n) if n.contains('/') => n,
            _ => short,
        };
        let condition = g.condition.as_ref().map(|c| {
            Value::map([
                ("expression", Value::string(c.expression.clone())),
                ("title", Value::string(c.title.clone())),
                (
                    "description",
                    if c.description.is_empty() { Value::Null } else { Value::string(c.description.clone()) },
                ),
            ])
        });
        let m: BTreeMap<String, Value> = [
            ("id", Value::string(member_id(service, g))),
            ("name", Value::string(name)),
            ("project", Value::string(project)),
            ("location", Value::string(location)),
            ("role", Value::string(g.role.clone())),
            ("member", Value::string(g.member.clone())),
            ("etag", etag_of(policy)),
            ("condition", Value::List(condition.into_iter().collect())),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        fields::conform_to_schema(&self.schema, Value::object(m))
    }

    async fn get_policy(&self, c: &Clients, service: &str, timeout: Duration) -> Result<Json, ProviderError> {
        let p = c
            .cloud_run_calls
            .idempotent(GET_POLICY, timeout, || {
                c.cloud_run
                    .get_iam_policy()
                    .set_resource(service.to_string())
                    .set_options(GetPolicyOptions::new().set_requested_policy_version(iam::CONDITIONAL_POLICY_VERSION))
                    .send()
            })
            .await?;
        Ok(cc::model_json(&p))
    }

    /// Adds (`add`) or removes the member by read-modify-write, retried on a concurrent change.
    async fn write(&self, ctx: &CallContext, service: &str, g: &Grant, add: bool) -> Result<Json, ProviderError> {
        let c = self.clients(ctx).await?;
        let c = &c;
        iam::read_modify_write(
            &c.cloud_run_calls,
            SET_POLICY,
            ctx.timeout,
            || self.get_policy(c, service, ctx.timeout),
            |policy| async move {
                let policy: Policy = serde_json::from_value(policy).map_err(google_cloud_gax::error::Error::deser)?;
                let written =
                    c.cloud_run.set_iam_policy().set_resource(service.to_string()).set_policy(policy).send().await?;
                Ok(cc::model_json(&written))
            },
            |policy| if add { iam::add(policy, g) } else { iam::remove(policy, g) },
        )
        .await
    }
}

#[async_trait]
impl ResourceType for CloudRunV2ServiceIamMember {
    fn name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn default_timeouts(&self) -> crate::lang::config::Timeouts {
        mutation_timeouts(20)
    }

    /// Project and location from a full `name`, else from the provider.
    fn customize_plan(&self, p: &mut PlanProposal) -> Result<Vec<String>, ProviderError> {
        let from_name = string(&p.planned, "name").and_then(|n| parse_service_name(&n));
        let provider = self.shared.configured();
        for (attr, i) in [("project", 0), ("location", 1)] {
            if !p.planned.get(attr).is_some_and(Value::is_unknown) {
                continue;
            }
            let v =
                match &from_name {
                    Some(parts) => Some(if i == 0 { parts.0.clone() } else { parts.1.clone() }),
                    None => provider.as_ref().and_then(|c| {
                        if i == 0 {
                            c.config.project.clone()
                        } else {
                            c.config.region.clone()
                        }
                    }),
                };
            if let Some(v) = v {
                set(&mut p.planned, attr, Value::string(v));
            }
        }
        if p.planned.get("id").is_some_and(Value::is_unknown) {
            if let (Some(s), Some(g)) = (service_of(&p.planned), grant_of(&p.planned)) {
                set(&mut p.planned, "id", Value::string(member_id(&s, &g)));
            }
        }
        Ok(Vec::new())
    }

    async fn read_many(&self, ctx: &CallContext, reqs: &[ReadRequest]) -> Result<Vec<Option<Value>>, ProviderError> {
        if reqs.is_empty() {
            return Ok(Vec::new());
        }
        let c = self.clients(ctx).await?;
        let c = &c;
        read_grouped(
            reqs,
            |v| Some((service_of(v)?, grant_of(v)?)),
            |service| async move {
                match self.get_policy(c, &service, ctx.timeout).await {
                    Ok(p) => Ok(Some(p)),
                    // The service is gone, and every member with it.
                    Err(e) if e.not_found => Ok(None),
                    Err(e) => Err(e),
                }
            },
            |service, policy, g, prior| iam::has(policy, g).then(|| self.to_state(service, g, policy, prior)),
        )
        .await
    }

    async fn create(&self, ctx: &CallContext, planned: &Value, _config: &Value) -> Result<Value, ProviderError> {
        let service = service_of(planned).ok_or_else(|| no_identity(TYPE, "project/location/name"))?;
        let g = grant_of(planned).ok_or_else(|| no_identity(TYPE, "role/member"))?;
        let policy = self.write(ctx, &service, &g, true).await?;
        Ok(self.to_state(&service, &g, &policy, planned))
    }

    async fn update(
        &self,
        ctx: &CallContext,
        prior: &Value,
        planned: &Value,
        _config: &Value,
        _changed: &[AttrPath],
    ) -> Result<Value, ProviderError> {
        // Every argument forces a new member; only the computed etag can differ. Read it.
        let service = service_of(prior).ok_or_else(|| no_identity(TYPE, "project/location/name"))?;
        let g = grant_of(prior).ok_or_else(|| no_identity(TYPE, "role/member"))?;
        let c = self.clients(ctx).await?;
        let policy = self.get_policy(&c, &service, ctx.timeout).await?;
        Ok(self.to_state(&service, &g, &policy, planned))
    }

    async fn delete(&self, ctx: &CallContext, prior: &Value) -> Result<(), ProviderError> {
        let service = service_of(prior).ok_or_else(|| no_identity(TYPE, "project/location/name"))?;
        let g = grant_of(prior).ok_or_else(|| no_identity(TYPE, "role/member"))?;
        match self.write(ctx, &service, &g, false).await {
            Ok(_) => Ok(()),
            // The service went first: its policy, and the member, with it.
            Err(e) if e.not_found => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `SERVICE ROLE MEMBER`, space-separated, the service in any of the service's import
    /// forms (the provider's IAM member import).
    async fn import(&self, ctx: &CallContext, id: &str) -> Result<Value, ProviderError> {
        let parts: Vec<&str> = id.split_whitespace().collect();
        let [service, role, member] = parts.as_slice() else {
            return Err(ProviderError::new(format!(
                "import id \"{id}\" is not \"SERVICE ROLE MEMBER\", e.g. \"projects/p/locations/us-central1/services/api roles/run.invoker allUsers\" (conditional members cannot be imported)"
            )));
        };
        let c = self.clients(ctx).await?;
        let (p, l, n) = parse_import_id(service, c.config.project.as_deref(), c.config.region.as_deref())?;
        let full = full_name(&p, &l, &n);
        let g = Grant { role: role.to_string(), member: member.to_string(), condition: None };
        let policy = self.get_policy(&c, &full, ctx.timeout).await?;
        if !iam::has(&policy, &g) {
            return Err(ProviderError::new(format!("{full} grants {role} to no member {member}; nothing to import"))
                .method(GET_POLICY));
        }
        Ok(self.to_state(&full, &g, &policy, &Value::Null))
    }

    fn cloud_name(&self, planned: &Value) -> Option<String> {
        Some(member_id(&service_of(planned)?, &grant_of(planned)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::validate::test_hcl;

    fn diags(body: &str) -> Vec<String> {
        let src = format!("resource \"{TYPE}\" \"m\" {{\n{body}}}\n");
        test_hcl::check(&src, &schema())
    }

    #[test]
    fn members_and_roles_are_checked() {
        let ok = "  name = \"api\"\n  role = \"roles/run.invoker\"\n  member = \"serviceAccount:lb@p.iam.gserviceaccount.com\"\n";
        assert_eq!(diags(ok), Vec::<String>::new());
        assert_eq!(diags(&ok.replace("serviceAccount:lb@p.iam.gserviceaccount.com", "allUsers")), Vec::<String>::new());
        let d = diags(&ok.replace("serviceAccount:", "sa:"));
        assert!(d.len() == 1 && d[0].contains("TYPE:ID"), "{d:?}");
        let d = diags(&ok.replace("roles/run.invoker", "run.invoker"));
        assert!(d.len() == 1 && d[0].contains("roles/run.invoker"), "{d:?}");
        assert_eq!(diags(&ok.replace("roles/run.invoker", "projects/p/roles/custom")), Vec::<String>::new());
    }

    #[test]
    fn identity_from_a_full_or_short_name() {
        let v = Value::map([
            ("name", Value::from("projects/p/locations/l/services/api")),
            ("role", Value::from("roles/run.invoker")),
            ("member", Value::from("allUsers")),
            ("condition", Value::List(vec![])),
        ]);
        assert_eq!(service_of(&v).as_deref(), Some("projects/p/locations/l/services/api"));
        let g = grant_of(&v).unwrap();
        assert_eq!(
            member_id(&service_of(&v).unwrap(), &g),
            "projects/p/locations/l/services/api/roles/run.invoker/allUsers"
        );
        let short =
            Value::map([("name", Value::from("api")), ("project", Value::from("p")), ("location", Value::from("l"))]);
        assert_eq!(service_of(&short).as_deref(), Some("projects/p/locations/l/services/api"));
    }

    /// A setIamPolicy refused for a stale etag (another writer got in between) starts over from
    /// a fresh read, so the other writer's member survives and ours is added.
    #[tokio::test]
    async fn a_concurrent_change_is_read_again_and_both_members_survive() {
        use std::sync::atomic::{AtomicU32, Ordering};
        use std::sync::Mutex;
        let sets = Arc::new(AtomicU32::new(0));
        let bodies: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
        let (s2, b2) = (sets.clone(), bodies.clone());
        let endpoint = super::super::test_server::start(Arc::new(move |method: &str, path: &str, _q: &str, body: &[u8]| {
            let other = serde_json::json!({"role": "roles/run.invoker", "members": ["user:other@example.com"]});
            if path.ends_with(":getIamPolicy") {
                // After the first write attempt, the policy holds the other writer's member.
                return if s2.load(Ordering::SeqCst) == 0 {
                    (200, serde_json::json!({"etag": "AAAA", "bindings": []}))
                } else {
                    (200, serde_json::json!({"etag": "BBBB", "bindings": [other]}))
                };
            }
            if method == "POST" && path.ends_with(":setIamPolicy") {
                b2.lock().unwrap().push(String::from_utf8_lossy(body).into_owned());
                if s2.fetch_add(1, Ordering::SeqCst) == 0 {
                    return (409, serde_json::json!({"error": {"code": 409, "message": "There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.", "status": "ABORTED"}}));
                }
                let sent: serde_json::Value = serde_json::from_slice(body).unwrap();
                let mut written = sent["policy"].clone();
                written["etag"] = "CCCC".into();
                return (200, written);
            }
            (404, serde_json::json!({"error": {"code": 404, "message": "not found", "status": "NOT_FOUND"}}))
        }))
        .await;
        let (shared, ctx) = super::super::test_server::shared(&endpoint).await;
        let t = CloudRunV2ServiceIamMember::new(shared);
        let planned = fields::conform_to_schema(
            t.schema(),
            Value::map([
                ("name", Value::from("api")),
                ("project", Value::from("p")),
                ("location", Value::from("us-central1")),
                ("role", Value::from("roles/run.invoker")),
                ("member", Value::from("allUsers")),
            ]),
        );
        let state = t.create(&ctx, &planned, &planned).await.unwrap();
        assert_eq!(state.get("etag"), Some(&Value::from("CCCC")));
        assert_eq!(sets.load(Ordering::SeqCst), 2, "one conflict, one write");
        let last: serde_json::Value = serde_json::from_str(bodies.lock().unwrap().last().unwrap()).unwrap();
        assert_eq!(last["policy"]["etag"], "BBBB", "written with the etag of the fresh read");
        assert_eq!(last["policy"]["bindings"][0]["members"], serde_json::json!(["user:other@example.com", "allUsers"]));
    }
}
