//! What the three Cloud Monitoring v3 types share (`google_monitoring_notification_channel`,
//! `google_monitoring_alert_policy`, `google_monitoring_uptime_check_config`): objects directly
//! under a project whose id the server assigns (`projects/{p}/{collection}/{id}`), written with
//! PATCH and an `updateMask`, refreshed by one listing per project.
//!
//! Each type's file says how its SDK client lists, gets, creates, patches and deletes
//! ([`MonitoringApi`]), which of its fields are enums ([`EnumAt`]: the SDK serializes enums as
//! numbers, the provider's state uses their names) and what its definition leaves custom; the
//! request and the state go through the generated schema ([`cc::to_wire`] / [`cc::from_wire`]).
//!
//! A create is not idempotent here (a second create makes a second object with a new id), so it
//! is resent only when the API certainly did not process it.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value as Json;
use tokio::time::Instant;

use super::compute_common::{self as cc, Renames};
use super::errors::api_error;
use super::fields::{self, set, string};
use super::resource_common::{gone_is_deleted, mutation_timeouts, no_identity, none_if_gone, read_grouped};
use super::retry::{classify, deadline_error, Retry, Stop};
use super::{mmv1, Clients, Shared};
use crate::addr::AttrPath;
use crate::lang::config::Timeouts;
use crate::lang::value::Value;
use crate::providers::{CallContext, PlanProposal, ProviderError, ReadRequest, ResourceType};
use crate::schema::Schema;

/// The API method names a type's errors and journal entries carry.
pub struct Methods {
    pub list: &'static str,
    pub get: &'static str,
    pub create: &'static str,
    pub patch: &'static str,
    pub delete: &'static str,
}

/// An enum field of the REST JSON, as a `/`-separated path whose `*` steps through every item
/// of an array (`conditions/*/conditionThreshold/comparison`), and the SDK's number → name.
/// A path ending at an array of enums (`selectedRegions`) names each item.
pub struct EnumAt {
    pub path: &'static str,
    pub name: fn(i32) -> Option<String>,
}

/// `EnumAt { path, name }` for an SDK enum type.
macro_rules! enum_at {
    ($path:expr, $ty:ty) => {
        $crate::providers::google::monitoring_common::EnumAt {
            path: $path,
            name: |n| <$ty>::from(n).name().map(str::to_string),
        }
    };
}
pub(crate) use enum_at;

/// Writes every enum in `j` by name (see [`EnumAt`]).
pub fn enums_by_name(j: &mut Json, table: &[EnumAt]) {
    fn walk(j: &mut Json, steps: &[&str], name: fn(i32) -> Option<String>) {
        let Some((first, rest)) = steps.split_first() else {
            let rename = |x: &mut Json| {
                if let Some(n) = x.as_i64().and_then(|n| i32::try_from(n).ok()).and_then(name) {
                    *x = Json::String(n);
                }
            };
            match j {
                Json::Array(xs) => xs.iter_mut().for_each(rename),
                x => rename(x),
            }
            return;
        };
        if *first == "*" {
            if let Json::Array(xs) = j {
                xs.iter_mut().for_each(|x| walk(x, rest, name));
            }
        } else if let Some(x) = j.get_mut(*first) {
            walk(x, rest, name);
        }
    }
    for e in table {
        let steps: Vec<&str> = e.path.split('/').collect();
        walk(j, &steps, e.name);
    }
}

/// A google.protobuf.Duration as Monitoring's JSON writes it (`"60s"`, `"0.5s"`), in seconds.
pub fn duration_secs(s: &str) -> Option<f64> {
    super::cloud_run_v2_service::parse_duration(s)
}

/// The duration validator's message, or None for a well-formed duration.
pub fn duration_problem(s: &str) -> Option<String> {
    duration_secs(s).is_none().then(|| {
        format!("must be a duration in seconds with an \"s\" suffix, such as \"60s\" or \"0.5s\" (google.protobuf.Duration), got {s:?}")
    })
}

/// `projects/{p}/{collection}/{id}`: its project.
pub fn project_of_name<'a>(name: &'a str, collection: &str) -> Option<&'a str> {
    let parts: Vec<&'a str> = name.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        ["projects", p, c, id] if *c == collection && !p.is_empty() && !id.is_empty() => Some(p),
        _ => None,
    }
}

/// One Monitoring collection's SDK calls and the custom parts of its mapping.
#[async_trait]
pub trait MonitoringApi: Send + Sync + 'static {
    const TYPE: &'static str;
    /// The collection under a project (`alertPolicies`).
    const COLLECTION: &'static str;
    const METHODS: Methods;
    /// The resource's mutation timeout in minutes (each definition says 20 or 5).
    const TIMEOUT_MINUTES: u64;

    fn schema() -> Schema;
    fn enums() -> &'static [EnumAt];

    /// The generated definition's renames, adjusted where the type maps a field by hand.
    fn renames() -> Renames {
        mmv1::renames(Self::TYPE)
    }

    /// The request body beyond what the schema maps: `planned` is the plan with the
    /// configuration's write-only arguments, `config` the configuration (where a secret the
    /// plan holds only as a fingerprint is known); `j` the schema's JSON for the plan.
    fn finish_request(_planned: &Value, _config: &Value, _j: &mut Json) {}

    /// The update-mask path of a changed top-level attribute or block whose field is not its
    /// own (a block sent inside another field), None for the schema's mapping.
    fn mask_path(_attribute: &str) -> Option<&'static str> {
        None
    }

    /// The state beyond what the schema maps: `j` the API object, `prior` the plan or state
    /// before (None on import).
    fn finish_state(_v: &mut Value, _j: &Json, _prior: Option<&Value>) {}

    async fn list(c: &Clients, project: &str, timeout: Duration) -> Result<Vec<Json>, ProviderError>;
    async fn get(c: &Clients, name: &str, timeout: Duration) -> Result<Json, ProviderError>;
    /// One create attempt (the caller decides about retries).
    async fn create(c: &Clients, project: &str, body: Json, deadline: Instant) -> Result<Json, CreateFailure>;
    async fn patch(c: &Clients, body: Json, mask: Vec<String>, timeout: Duration) -> Result<Json, ProviderError>;
    async fn delete(c: &Clients, name: &str, prior: &Value, timeout: Duration) -> Result<(), ProviderError>;
}

/// Why one create attempt failed: its request body did not fit the SDK's model (a defect in
/// the mapping, never retried) or the call failed.
pub enum CreateFailure {
    Request(ProviderError),
    Call(Stop),
}

impl From<Stop> for CreateFailure {
    fn from(s: Stop) -> Self {
        CreateFailure::Call(s)
    }
}

impl From<ProviderError> for CreateFailure {
    fn from(e: ProviderError) -> Self {
        CreateFailure::Request(e)
    }
}

/// A Monitoring resource type over its [`MonitoringApi`].
pub struct MonitoringResource<A: MonitoringApi> {
    shared: Arc<Shared>,
    schema: Schema,
    api: PhantomData<A>,
}

/// An SDK model as REST JSON with its enums by name.
pub fn model_json<A: MonitoringApi, T: serde::Serialize>(m: &T) -> Json {
    let mut j = cc::model_json(m);
    enums_by_name(&mut j, A::enums());
    j
}

/// The identity of a state value: (project, full name).
fn identity(v: &Value, collection: &str) -> Option<(String, String)> {
    let name = string(v, "name")?;
    let project = project_of_name(&name, collection)?.to_string();
    Some((project, name))
}

impl<A: MonitoringApi> MonitoringResource<A> {
    pub fn new(shared: Arc<Shared>) -> Self {
        MonitoringResource { shared, schema: A::schema(), api: PhantomData }
    }

    async fn clients(&self, ctx: &CallContext) -> Result<Arc<Clients>, ProviderError> {
        self.shared.clients(&ctx.provider_config).await
    }

    /// The request JSON for `planned` (with the configuration's write-only arguments).
    pub fn request(&self, planned: &Value, config: &Value) -> Json {
        let with_wo = cc::with_write_only(&self.schema, planned, config);
        let mut j = cc::to_wire(&self.schema, &with_wo, A::renames());
        A::finish_request(&with_wo, config, &mut j);
        j
    }

    /// The state for an API object (REST JSON, enums by name).
    pub fn to_state(&self, j: &Json, prior: Option<&Value>) -> Value {
        let mut v = cc::from_wire(&self.schema, j, A::renames());
        v = cc::zero_values_as_prior(&self.schema, v, prior);
        let name = cc::jstr(j, "name").to_string();
        let project = project_of_name(&name, A::COLLECTION).unwrap_or_default().to_string();
        set(&mut v, "project", Value::string(project));
        set(&mut v, "id", Value::string(name.clone()));
        set(&mut v, "name", Value::string(name));
        A::finish_state(&mut v, j, prior);
        let v = fields::conform_to_schema(&self.schema, v);
        self.schema.keep_client_only(prior.unwrap_or(&Value::Null), v)
    }
}

/// The top-level fields an update changes, as update-mask paths: exactly the changed
/// configurable attributes and blocks in their API names (Terraform-only arguments and outputs
/// are not sent).
pub fn update_mask(
    schema: &Schema,
    renames: Renames,
    changed: &[AttrPath],
    mask_path: fn(&str) -> Option<&'static str>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in changed {
        let Some(top) = p.top() else { continue };
        if let Some(path) = mask_path(top) {
            if !out.iter().any(|x| x == path) {
                out.push(path.to_string());
            }
            continue;
        }
        if matches!(top, "project" | "id" | "name" | "timeouts") {
            continue;
        }
        let configurable = match (schema.attributes.get(top), schema.blocks.get(top)) {
            (Some(a), _) => (a.optional || a.required) && !a.client_only,
            (None, Some(_)) => true,
            (None, None) => false,
        };
        if !configurable {
            continue;
        }
        let block_key = format!("{top}[]");
        let api = renames
            .iter()
            .find(|(k, _)| *k == block_key || (*k == top && schema.attributes.contains_key(top)))
            .map(|(_, api)| api.to_string())
            .unwrap_or_else(|| fields::json_name(top));
        if !api.is_empty() && !out.contains(&api) {
            out.push(api);
        }
    }
    out
}

#[async_trait]
impl<A: MonitoringApi> ResourceType for MonitoringResource<A> {
    fn name(&self) -> &'static str {
        A::TYPE
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn default_timeouts(&self) -> Timeouts {
        mutation_timeouts(A::TIMEOUT_MINUTES)
    }

    fn customize_plan(&self, p: &mut PlanProposal) -> Result<Vec<String>, ProviderError> {
        self.shared.fill_project(&mut p.planned);
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
            |v| identity(v, A::COLLECTION),
            |project: String| async move {
                let listed = none_if_gone(A::list(c, &project, ctx.timeout).await)?;
                Ok(listed.map(|objects| {
                    objects
                        .into_iter()
                        .map(|j| (cc::jstr(&j, "name").to_string(), j))
                        .collect::<std::collections::BTreeMap<String, Json>>()
                }))
            },
            |_, live, name, prior| live.get(name).map(|j| self.to_state(j, Some(prior))),
        )
        .await
    }

    async fn create(&self, ctx: &CallContext, planned: &Value, config: &Value) -> Result<Value, ProviderError> {
        let c = self.clients(ctx).await?;
        let project = c.project(string(planned, "project").as_deref())?;
        let body = self.request(planned, config);
        let deadline = Instant::now() + ctx.timeout;
        let method = A::METHODS.create;
        let mut last = None;
        for attempt in 0u32.. {
            match A::create(&c, &project, body.clone(), deadline).await {
                Ok(j) => return Ok(self.to_state(&j, Some(planned))),
                Err(CreateFailure::Request(e)) => return Err(e),
                Err(CreateFailure::Call(Stop::Deadline(e))) => {
                    return Err(deadline_error(method, ctx.timeout, e.as_ref().or(last.as_ref())))
                }
                Err(CreateFailure::Call(Stop::Failed(e))) => match classify(&e) {
                    Retry::NotProcessed => last = Some(e),
                    // The server names the object: a resent create after a lost answer would
                    // make a second one, so an ambiguous failure is reported, not retried.
                    Retry::Ambiguous => {
                        let mut err = api_error(method, &e);
                        err.message.push_str(&format!(
                            "; the {} may have been created in project {project}: list it, then import it (`cairn import ADDRESS projects/{project}/{}/ID`) or delete it",
                            A::TYPE,
                            A::COLLECTION
                        ));
                        return Err(err);
                    }
                    Retry::Permanent => return Err(api_error(method, &e)),
                },
            }
            if !c.monitoring_calls.pause(attempt, deadline).await {
                break;
            }
        }
        Err(deadline_error(method, ctx.timeout, last.as_ref()))
    }

    async fn update(
        &self,
        ctx: &CallContext,
        prior: &Value,
        planned: &Value,
        config: &Value,
        changed: &[AttrPath],
    ) -> Result<Value, ProviderError> {
        let c = self.clients(ctx).await?;
        let (_, name) = identity(prior, A::COLLECTION).ok_or_else(|| no_identity(A::TYPE, "name"))?;
        let mask = update_mask(&self.schema, A::renames(), changed, A::mask_path);
        let j = if mask.is_empty() {
            A::get(&c, &name, ctx.timeout).await?
        } else {
            let mut body = self.request(planned, config);
            if let Some(o) = body.as_object_mut() {
                o.insert("name".into(), Json::String(name.clone()));
            }
            A::patch(&c, body, mask, ctx.timeout).await?
        };
        Ok(self.to_state(&j, Some(planned)))
    }

    async fn delete(&self, ctx: &CallContext, prior: &Value) -> Result<(), ProviderError> {
        let (_, name) = identity(prior, A::COLLECTION).ok_or_else(|| no_identity(A::TYPE, "name"))?;
        let c = self.clients(ctx).await?;
        gone_is_deleted(A::delete(&c, &name, prior, ctx.timeout).await)
    }

    /// The import id is the object's name, `projects/{project}/{collection}/{id}`.
    async fn import(&self, ctx: &CallContext, id: &str) -> Result<Value, ProviderError> {
        if project_of_name(id, A::COLLECTION).is_none() {
            return Err(ProviderError::new(format!(
                "{}: import id \"{id}\" is not projects/PROJECT/{}/ID (the object's name)",
                A::TYPE,
                A::COLLECTION
            )));
        }
        let c = self.clients(ctx).await?;
        let j = A::get(&c, id, ctx.timeout).await?;
        Ok(self.to_state(&j, None))
    }

    /// The server assigns the id: before the create, nothing names the object.
    fn cloud_name(&self, _planned: &Value) -> Option<String> {
        None
    }
}

/// The page size of every listing.
pub const PAGE_SIZE: i32 = 1000;

/// Every object of a listing, page by page: `page(token)` returns the page's objects (REST
/// JSON) and its next token ("" at the end).
pub async fn list_all<F, Fut>(mut page: F) -> Result<Vec<Json>, ProviderError>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<Json>, String), ProviderError>>,
{
    let mut out = Vec::new();
    let mut token = String::new();
    loop {
        let (items, next) = page(token).await?;
        out.extend(items);
        if next.is_empty() {
            return Ok(out);
        }
        token = next;
    }
}

/// A one-attempt create call through the API's retrier (see [`MonitoringApi::create`]).
pub async fn attempt<T, Fut>(c: &Clients, deadline: Instant, fut: Fut) -> Result<T, Stop>
where
    Fut: std::future::Future<Output = Result<T, google_cloud_gax::error::Error>>,
{
    c.monitoring_calls.attempt(deadline, fut).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_are_named_at_every_depth_and_in_arrays() {
        let table = [
            EnumAt { path: "a/*/b", name: |n| Some(format!("N{n}")) },
            EnumAt { path: "regions", name: |n| (n != 9).then(|| format!("R{n}")) },
        ];
        let mut j = serde_json::json!({"a": [{"b": 1}, {"c": 2}, {"b": 3}], "regions": [1, 9], "b": 4});
        enums_by_name(&mut j, &table);
        assert_eq!(j, serde_json::json!({"a": [{"b": "N1"}, {"c": 2}, {"b": "N3"}], "regions": ["R1", 9], "b": 4}));
    }

    #[test]
    fn names_belong_to_their_collection() {
        assert_eq!(project_of_name("projects/p/alertPolicies/123", "alertPolicies"), Some("p"));
        assert_eq!(project_of_name("projects/p/alertPolicies/123", "notificationChannels"), None);
        assert_eq!(project_of_name("projects/p/alertPolicies/", "alertPolicies"), None);
        assert_eq!(project_of_name("123", "alertPolicies"), None);
    }

    #[test]
    fn durations_need_the_seconds_suffix() {
        assert_eq!(duration_secs("60s"), Some(60.0));
        assert_eq!(duration_secs("0.5s"), Some(0.5));
        assert!(duration_problem("60").is_some_and(|m| m.contains("\"60s\"")));
        assert!(duration_problem("1m").is_some());
        assert!(duration_problem("300s").is_none());
    }
}
