//! One implementation of [`ResourceType`] for every compute collection, global or regional.
//!
//! The compute API treats its collections alike (list with page tokens, get, insert and
//! delete by project (and region) and name, each mutation a global or regional operation in
//! the object's scope), but the SDK gives each
//! collection its own client and builders. A type implements [`ComputeCollection`]: its
//! schema, its plan rules, the model ↔ state mapping and which SDK builders to call;
//! [`ComputeResource`] does the rest (refresh by listing, create, update framing, delete,
//! import, clients). Adding a compute type is one file implementing the trait plus its line in
//! the provider's registry.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use google_cloud_compute_v1::model::Operation;
use google_cloud_gax::error::Error as GaxError;
use tokio::sync::OnceCell;

use super::compute_common as cc;
use super::fields::{self, string};
use super::resource_common::read_grouped;
use super::{Clients, Shared};
use crate::addr::AttrPath;
use crate::lang::config::Timeouts;
use crate::lang::value::Value;
use crate::providers::{CallContext, ExpectedDurations, PlanProposal, ProviderError, ReadRequest, ResourceType};
use crate::schema::Schema;

/// What a compute SDK call returns.
pub type SdkResult<T> = Result<T, GaxError>;

/// Where a compute object lives: its project, and its region for a regional collection
/// (`projects/{p}/regions/{r}/…`); global collections have none.
#[derive(Clone, Copy, Debug)]
pub struct Place<'a> {
    pub project: &'a str,
    pub region: Option<&'a str>,
}

/// A compute collection as a Terraform resource type.
#[async_trait]
pub trait ComputeCollection: Send + Sync + Sized + 'static {
    /// The SDK's client for the collection (`client::HealthChecks`).
    type Client: Send + Sync + 'static;
    /// The SDK's model of one object (`model::HealthCheck`).
    type Model: serde::Serialize + Clone + Send + Sync + 'static;

    /// Terraform's type name.
    const TYPE: &'static str;
    /// The REST collection (`healthChecks`): it names the API methods, ids and import ids.
    const COLLECTION: &'static str;
    /// The collection in API method names, where it differs from the path segment: global
    /// addresses live at `global/addresses` but their methods are `compute.globalAddresses.*`.
    const METHODS: &'static str = Self::COLLECTION;
    /// Whether objects live in a region (`projects/{p}/regions/{r}/{collection}/{name}`, the
    /// region from the `region` attribute, mutations waited on as region operations).
    const REGIONAL: bool = false;

    fn schema() -> Schema;

    /// Builds the SDK client; see [`Clients::compute_builder`].
    fn client(c: &Clients) -> impl Future<Output = Result<Self::Client, ProviderError>> + Send + '_;
    /// One page of the objects of a project (or of one of its regions).
    fn list<'a>(
        client: &'a Self::Client,
        at: Place<'a>,
        page_token: String,
    ) -> impl Future<Output = SdkResult<(Vec<Self::Model>, Option<String>)>> + Send + 'a;
    fn get<'a>(
        client: &'a Self::Client,
        at: Place<'a>,
        name: &'a str,
    ) -> impl Future<Output = SdkResult<Self::Model>> + Send + 'a;
    fn insert<'a>(
        client: &'a Self::Client,
        at: Place<'a>,
        body: Self::Model,
        request_id: String,
    ) -> impl Future<Output = SdkResult<Operation>> + Send + 'a;
    fn delete<'a>(
        client: &'a Self::Client,
        at: Place<'a>,
        name: &'a str,
        request_id: String,
    ) -> impl Future<Output = SdkResult<Operation>> + Send + 'a;
    fn name_of(m: &Self::Model) -> Option<String>;

    /// The insert request for the planned state of object `name` in `project`.
    fn request(planned: &Value, project: &str, name: &str) -> Result<Self::Model, ProviderError>;
    /// The state for an object as the API returned it; `prior` (state or plan) decides the
    /// form of equivalent values (references, domains).
    fn to_state(schema: &Schema, project: &str, m: &Self::Model, prior: Option<&Value>) -> Value;
    /// The type's plan rules ([`ResourceType::customize_plan`]).
    fn customize_plan(schema: &Schema, shared: &Shared, p: &mut PlanProposal) -> Result<Vec<String>, ProviderError>;
    /// Sends the in-place changes at `changed`; the object is read back afterwards.
    async fn update(
        call: &ComputeCall<'_, Self>,
        prior: &Value,
        planned: &Value,
        changed: &[AttrPath],
    ) -> Result<(), ProviderError>;

    /// Calls a new object needs after its insert (settings the insert request cannot carry).
    async fn after_insert(_call: &ComputeCall<'_, Self>, _planned: &Value) -> Result<(), ProviderError> {
        Ok(())
    }

    /// The name an object is created with.
    fn create_name(planned: &Value) -> Result<String, ProviderError> {
        fields::required_string(planned, "name", Self::TYPE)
    }

    /// Terraform's default for compute types: 20 minutes for every mutation.
    fn default_timeouts() -> Timeouts {
        let t = Some(Duration::from_secs(20 * 60));
        Timeouts { create: t, update: t, delete: t, read: None }
    }

    /// See [`ResourceType::expected_durations`]. Default: a compute operation of about 15 s
    /// for every mutation. An estimate: compute answers an insert, patch or delete with an
    /// Operation that the caller polls to DONE (the provider's `ComputeOperationWaiter`), and
    /// users' apply logs show load-balancing objects finish in seconds to tens of seconds, far
    /// inside the provider's 20-minute default timeouts.
    fn expected_durations() -> ExpectedDurations {
        ExpectedDurations::all(Duration::from_secs(15))
    }

    /// See [`ResourceType::cloud_name`].
    fn cloud_name(_shared: &Shared, planned: &Value) -> Option<String> {
        planned.get("name").and_then(Value::as_str).map(str::to_string)
    }
}

/// One object of a collection, with what its calls need.
pub struct ComputeCall<'a, C: ComputeCollection> {
    pub clients: &'a Clients,
    pub client: &'a C::Client,
    pub ctx: &'a CallContext,
    pub project: &'a str,
    /// The object's region, for a regional collection.
    pub region: Option<&'a str>,
    pub name: &'a str,
}

impl<C: ComputeCollection> ComputeCall<'_, C> {
    pub fn place(&self) -> Place<'_> {
        Place { project: self.project, region: self.region }
    }

    /// The API method of `verb` on the collection (`compute.healthChecks.get`).
    pub fn method(verb: &str) -> String {
        format!("compute.{}.{verb}", C::METHODS)
    }

    /// A mutation (`verb` names it in errors), waited on until its operation is done.
    pub async fn mutate<F, Fut>(&self, verb: &str, call: F) -> Result<Operation, ProviderError>
    where
        F: FnMut(String) -> Fut,
        Fut: Future<Output = SdkResult<Operation>>,
    {
        cc::mutate_in(self.clients, self.ctx, self.place(), &Self::method(verb), call).await
    }

    pub async fn get(&self) -> Result<C::Model, ProviderError> {
        self.clients
            .compute_calls
            .idempotent(&Self::method("get"), self.ctx.timeout, || C::get(self.client, self.place(), self.name))
            .await
    }

    /// A full PUT (`update`) of a fingerprinted object. On 412 the object changed since the
    /// plan's refresh: take its current fingerprint and send once more.
    pub async fn put_fingerprinted<F, Fut>(
        &self,
        fingerprint: Option<String>,
        request: impl Fn(Option<&str>) -> Result<C::Model, ProviderError>,
        mut send: F,
    ) -> Result<(), ProviderError>
    where
        F: FnMut(C::Model, String) -> Fut,
        Fut: Future<Output = SdkResult<Operation>>,
    {
        let body = request(fingerprint.as_deref())?;
        match self.mutate("update", |rid| send(body.clone(), rid)).await {
            Err(e) if is_stale_fingerprint(&e) => {
                let live = self.get().await?;
                let fresh = cc::jstr(&cc::model_json(&live), "fingerprint").to_string();
                let body = request(Some(&fresh))?;
                self.mutate("update", |rid| send(body.clone(), rid)).await.map(|_| ())
            }
            other => other.map(|_| ()),
        }
    }

    /// `setLabels` with the label fingerprint the state holds. On 412 the labels changed since
    /// the plan's refresh: take the current fingerprint and send once more. `send` is the
    /// collection's SDK call with the request body.
    pub async fn set_labels_fingerprinted<F, Fut>(
        &self,
        fingerprint: Option<String>,
        labels: &BTreeMap<String, String>,
        mut send: F,
    ) -> Result<(), ProviderError>
    where
        F: FnMut(google_cloud_compute_v1::model::GlobalSetLabelsRequest) -> Fut,
        Fut: Future<Output = SdkResult<Operation>>,
    {
        let body = |fingerprint: Option<String>| {
            cc::json_model::<google_cloud_compute_v1::model::GlobalSetLabelsRequest>(
                serde_json::json!({"labels": labels, "labelFingerprint": fingerprint}),
                C::TYPE,
            )
        };
        let first = body(fingerprint)?;
        match self.mutate("setLabels", |_rid| send(first.clone())).await {
            Err(e) if is_stale_fingerprint(&e) => {
                let live = self.get().await?;
                let fresh = body(Some(cc::jstr(&cc::model_json(&live), "labelFingerprint").to_string()))?;
                self.mutate("setLabels", |_rid| send(fresh.clone())).await.map(|_| ())
            }
            other => other.map(|_| ()),
        }
    }
}

/// 412 conditionNotMet: the fingerprint sent is no longer current.
pub fn is_stale_fingerprint(e: &ProviderError) -> bool {
    e.message.contains("(HTTP 412") || e.message.contains("conditionNotMet")
}

/// The resource type of a compute collection.
pub struct ComputeResource<C: ComputeCollection> {
    shared: Arc<Shared>,
    schema: Schema,
    client: OnceCell<C::Client>,
}

impl<C: ComputeCollection> ComputeResource<C> {
    pub fn new(shared: Arc<Shared>) -> Self {
        ComputeResource { shared, schema: C::schema(), client: OnceCell::new() }
    }

    pub fn to_state(&self, project: &str, m: &C::Model, prior: Option<&Value>) -> Value {
        C::to_state(&self.schema, project, m, prior)
    }

    /// The provider's clients and this collection's client, built on first use.
    async fn connect(&self, ctx: &CallContext) -> Result<(Arc<Clients>, &C::Client), ProviderError> {
        let clients = self.shared.clients(&ctx.provider_config).await?;
        let client = self.client.get_or_try_init(|| C::client(&clients)).await?;
        Ok((clients, client))
    }

    async fn list_place(
        &self,
        c: &Clients,
        client: &C::Client,
        at: Place<'_>,
        timeout: Duration,
    ) -> Result<Option<BTreeMap<String, C::Model>>, ProviderError> {
        let method = ComputeCall::<C>::method("list");
        let method = method.as_str();
        cc::list_by_name(
            |token| async move {
                c.compute_calls.idempotent(method, timeout, || C::list(client, at, token.clone())).await
            },
            C::name_of,
        )
        .await
    }

    fn no_identity() -> ProviderError {
        let what = if C::REGIONAL { "project/region/name" } else { "project/name" };
        ProviderError::new(format!("{}: the prior state has no {what}", C::TYPE))
    }

    /// The region of a regional object's state or plan (a name or a region link), as a name.
    fn region_of(v: &Value) -> Option<String> {
        if !C::REGIONAL {
            return None;
        }
        string(v, "region").map(|r| cc::short_name(&r).to_string()).filter(|r| !r.is_empty())
    }

    /// (project, region, name) of a prior state; a regional object without a region has none.
    fn identity(v: &Value) -> Option<(String, Option<String>, String)> {
        let (project, name) = cc::identity(v)?;
        let region = Self::region_of(v);
        if C::REGIONAL && region.is_none() {
            return None;
        }
        Some((project, region, name))
    }
}

#[async_trait]
impl<C: ComputeCollection> ResourceType for ComputeResource<C> {
    fn name(&self) -> &'static str {
        C::TYPE
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn default_timeouts(&self) -> Timeouts {
        C::default_timeouts()
    }

    fn expected_durations(&self) -> ExpectedDurations {
        C::expected_durations()
    }

    fn customize_plan(&self, p: &mut PlanProposal) -> Result<Vec<String>, ProviderError> {
        C::customize_plan(&self.schema, &self.shared, p)
    }

    /// One listing per project (and region, for a regional collection), whatever the number
    /// of objects.
    async fn read_many(&self, ctx: &CallContext, reqs: &[ReadRequest]) -> Result<Vec<Option<Value>>, ProviderError> {
        if reqs.is_empty() {
            return Ok(Vec::new());
        }
        let (c, client) = self.connect(ctx).await?;
        let c = &c;
        read_grouped(
            reqs,
            |prior| Self::identity(prior).map(|(project, region, name)| ((project, region), name)),
            |(project, region): (String, Option<String>)| async move {
                let at = Place { project: &project, region: region.as_deref() };
                self.list_place(c, client, at, ctx.timeout).await
            },
            |(project, _), live, name, prior| live.get(name).map(|x| self.to_state(project, x, Some(prior))),
        )
        .await
    }

    async fn create(&self, ctx: &CallContext, planned: &Value, config: &Value) -> Result<Value, ProviderError> {
        let (c, client) = self.connect(ctx).await?;
        let project = c.project(string(planned, "project").as_deref())?;
        let region = Self::region_of(planned);
        if C::REGIONAL && region.is_none() {
            return Err(ProviderError::new(format!("{}: `region` is required", C::TYPE)));
        }
        let name = C::create_name(planned)?;
        let body = C::request(&cc::with_write_only(&self.schema, planned, config), &project, &name)?;
        let call =
            ComputeCall::<C> { clients: &c, client, ctx, project: &project, region: region.as_deref(), name: &name };
        let at = call.place();
        call.mutate("insert", |rid| C::insert(client, at, body.clone(), rid)).await?;
        C::after_insert(&call, planned).await?;
        let m = call.get().await?;
        Ok(self.to_state(&project, &m, Some(planned)))
    }

    async fn update(
        &self,
        ctx: &CallContext,
        prior: &Value,
        planned: &Value,
        config: &Value,
        changed: &[AttrPath],
    ) -> Result<Value, ProviderError> {
        let (c, client) = self.connect(ctx).await?;
        let (project, region, name) = Self::identity(prior).ok_or_else(Self::no_identity)?;
        let call =
            ComputeCall::<C> { clients: &c, client, ctx, project: &project, region: region.as_deref(), name: &name };
        C::update(&call, prior, &cc::with_write_only(&self.schema, planned, config), changed).await?;
        let m = call.get().await?;
        Ok(self.to_state(&project, &m, Some(planned)))
    }

    async fn delete(&self, ctx: &CallContext, prior: &Value) -> Result<(), ProviderError> {
        let (c, client) = self.connect(ctx).await?;
        let (project, region, name) = Self::identity(prior).ok_or_else(Self::no_identity)?;
        let method = ComputeCall::<C>::method("delete");
        let at = Place { project: &project, region: region.as_deref() };
        cc::delete_in(&c, ctx, at, &method, |rid| C::delete(client, at, &name, rid)).await
    }

    async fn import(&self, ctx: &CallContext, id: &str) -> Result<Value, ProviderError> {
        let (c, client) = self.connect(ctx).await?;
        let (project, region, name) = if C::REGIONAL {
            let (p, r, n) = cc::parse_regional_import_id(
                id,
                C::COLLECTION,
                c.config.project.as_deref(),
                c.config.region.as_deref(),
            )?;
            (p, Some(r), n)
        } else {
            let (p, n) = cc::parse_import_id(id, C::COLLECTION, c.config.project.as_deref())?;
            (p, None, n)
        };
        let call =
            ComputeCall::<C> { clients: &c, client, ctx, project: &project, region: region.as_deref(), name: &name };
        let m = call.get().await?;
        Ok(self.to_state(&project, &m, None))
    }

    fn cloud_name(&self, planned: &Value) -> Option<String> {
        C::cloud_name(&self.shared, planned)
    }
}

/// The SDK side of a [`ComputeCollection`] whose client follows the compute SDK's common shape
/// (`list`/`get`/`insert`/`delete` builders taking the project, and `$set_name` for the
/// object's name): `compute_sdk_calls!(HealthChecks, HealthCheck, set_health_check);` inside
/// the trait impl. `compute_sdk_calls!(regional RegionNetworkEndpointGroups, …)` is the same
/// for a regional collection, whose builders also take the region.
macro_rules! compute_sdk_calls {
    ($client:ident, $model:ident, $set_name:ident) => {
        $crate::providers::google::compute_collection::compute_sdk_calls!(@calls $client, $model, $set_name, |b, _at| b);
    };
    (regional $client:ident, $model:ident, $set_name:ident) => {
        const REGIONAL: bool = true;
        $crate::providers::google::compute_collection::compute_sdk_calls!(
            @calls $client, $model, $set_name, |b, at| b.set_region(at.region.unwrap_or_default())
        );
    };
    (@calls $client:ident, $model:ident, $set_name:ident, |$b:ident, $at:ident| $scoped:expr) => {
        type Client = google_cloud_compute_v1::client::$client;
        type Model = google_cloud_compute_v1::model::$model;

        fn client(
            c: &$crate::providers::google::Clients,
        ) -> impl std::future::Future<Output = Result<Self::Client, $crate::providers::ProviderError>> + Send + '_ {
            let b = c.compute_builder(google_cloud_compute_v1::client::$client::builder());
            async move { b.build().await.map_err($crate::providers::google::clients::compute_client_error) }
        }

        fn list<'a>(
            client: &'a Self::Client,
            $at: $crate::providers::google::compute_collection::Place<'a>,
            page_token: String,
        ) -> impl std::future::Future<
            Output = $crate::providers::google::compute_collection::SdkResult<(Vec<Self::Model>, Option<String>)>,
        > + Send
               + 'a {
            let $b = client.list().set_project($at.project);
            let call = $scoped.set_max_results(500u32).set_page_token(page_token).send();
            async move { call.await.map(|page| (page.items, page.next_page_token)) }
        }

        fn get<'a>(
            client: &'a Self::Client,
            $at: $crate::providers::google::compute_collection::Place<'a>,
            name: &'a str,
        ) -> impl std::future::Future<Output = $crate::providers::google::compute_collection::SdkResult<Self::Model>>
               + Send
               + 'a {
            let $b = client.get().set_project($at.project);
            $scoped.$set_name(name).send()
        }

        fn insert<'a>(
            client: &'a Self::Client,
            $at: $crate::providers::google::compute_collection::Place<'a>,
            body: Self::Model,
            request_id: String,
        ) -> impl std::future::Future<
            Output = $crate::providers::google::compute_collection::SdkResult<
                google_cloud_compute_v1::model::Operation,
            >,
        > + Send
               + 'a {
            let $b = client.insert().set_project($at.project);
            $scoped.set_request_id(request_id).set_body(body).send()
        }

        fn delete<'a>(
            client: &'a Self::Client,
            $at: $crate::providers::google::compute_collection::Place<'a>,
            name: &'a str,
            request_id: String,
        ) -> impl std::future::Future<
            Output = $crate::providers::google::compute_collection::SdkResult<
                google_cloud_compute_v1::model::Operation,
            >,
        > + Send
               + 'a {
            let $b = client.delete().set_project($at.project);
            $scoped.$set_name(name).set_request_id(request_id).send()
        }

        fn name_of(m: &Self::Model) -> Option<String> {
            m.name.clone()
        }
    };
}
pub(crate) use compute_sdk_calls;
