//! The provider protocol: what the engine asks of a resource type, and the registry that maps
//! type names to implementations.
//!
//! The engine (plan/, apply/) only ever sees [`ResourceType`]. Refresh asks for many instances
//! at once ([`ResourceType::read_many`]) so that a provider can answer with one list call per
//! type instead of one GET per resource.

pub mod builtin;
pub mod configuration;
pub mod google;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::addr::{AttrPath, InstanceAddr, ProviderConfigAddr};
use crate::lang::value::Value;
pub use crate::schema::propose::PlanProposal;
pub use crate::schema::{validate, AttrType, Attribute, BlockType, Nesting, Rule, Schema, Validator};

/// An error from a provider, with what the user needs to act on it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ProviderError {
    /// The API method or operation that failed (`secretmanager.projects.secrets.create`), if any.
    pub method: Option<String>,
    /// The API's own message, or ours.
    pub message: String,
    /// Safe to try again later (the apply may be rerun).
    pub retryable: bool,
    /// The object does not exist (HTTP 404 or equivalent).
    pub not_found: bool,
    /// A create found the name taken, or its creation already under way (HTTP 409 or
    /// ALREADY_EXISTS): what an interrupted apply's pending create looks like to the next one.
    pub already_exists: bool,
}

impl ProviderError {
    pub fn new(message: impl Into<String>) -> Self {
        ProviderError {
            method: None,
            message: message.into(),
            retryable: false,
            not_found: false,
            already_exists: false,
        }
    }
    pub fn method(mut self, m: impl Into<String>) -> Self {
        self.method = Some(m.into());
        self
    }
}

/// Why the engine reads live objects. Some attributes serve only health checks and cost an
/// API call per object (a secret's enabled versions): a type reads them for
/// [`ReadPurpose::Health`] and leaves them unknown for a plan, so that refresh stays at one
/// list call per type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReadPurpose {
    /// plan, apply, drift, import: what a plan needs.
    #[default]
    Plan,
    /// `cairn check`: check blocks evaluate against these values.
    Health,
}

/// Per-call context: the configured provider block, timeouts and a progress sink.
#[derive(Clone)]
pub struct CallContext {
    /// The evaluated `provider "…" { … }` block (null when absent).
    pub provider_config: Value,
    /// How long this call may take (from the resource's `timeouts` block or the type's default).
    pub timeout: Duration,
    /// Reports progress of long operations ("waiting for operation …").
    pub progress: Arc<dyn Fn(&str) + Send + Sync>,
    /// What reads (`read_many`, `import`) are for.
    pub purpose: ReadPurpose,
    /// The root module's directory, against which a data source resolves relative paths (as
    /// Terraform resolves them against its working directory, the root module's); None: the
    /// process's current directory.
    pub root_dir: Option<std::path::PathBuf>,
}

impl CallContext {
    pub fn new(provider_config: Value) -> Self {
        CallContext {
            provider_config,
            timeout: Duration::from_secs(20 * 60),
            progress: Arc::new(|_| {}),
            purpose: ReadPurpose::Plan,
            root_dir: None,
        }
    }
}

/// One instance to refresh: its address and what state last recorded for it.
#[derive(Clone, Debug)]
pub struct ReadRequest {
    pub addr: InstanceAddr,
    pub prior: Value,
}

#[async_trait]
pub trait ResourceType: Send + Sync {
    /// Terraform's type name, e.g. `google_sql_database_instance`.
    fn name(&self) -> &'static str;
    fn schema(&self) -> &Schema;

    /// Adjusts a plan beyond what the schema can express. Default: nothing.
    fn customize_plan(&self, _proposal: &mut PlanProposal) -> Result<Vec<String>, ProviderError> {
        Ok(Vec::new())
    }

    /// Reads the live state of many instances; `None` for an instance that no longer exists.
    /// The result has one entry per request, in order.
    async fn read_many(&self, ctx: &CallContext, reqs: &[ReadRequest]) -> Result<Vec<Option<Value>>, ProviderError>;

    /// Creates the object. `config` carries write-only arguments, `planned` the plan.
    /// Returns the new state.
    async fn create(&self, ctx: &CallContext, planned: &Value, config: &Value) -> Result<Value, ProviderError>;

    /// Updates in place the attributes at `changed`. Returns the new state.
    async fn update(
        &self,
        ctx: &CallContext,
        prior: &Value,
        planned: &Value,
        config: &Value,
        changed: &[AttrPath],
    ) -> Result<Value, ProviderError>;

    async fn delete(&self, ctx: &CallContext, prior: &Value) -> Result<(), ProviderError>;

    /// Reads an existing object by its import id (`cairn import ADDR ID`, import blocks).
    async fn import(&self, ctx: &CallContext, id: &str) -> Result<Value, ProviderError>;

    /// The cloud-side identity an apply is about to create, recorded in the journal so that an
    /// interrupted apply can find it again. Default: the `name` attribute, if known.
    fn cloud_name(&self, planned: &Value) -> Option<String> {
        planned.get("name").and_then(|v| v.as_str()).map(str::to_string)
    }

    /// The object an interrupted apply's create of this instance may have made: `journaled` is
    /// what [`ResourceType::cloud_name`] gave it, `since` (RFC 3339) when it was journaled;
    /// `planned` and `config` are what this run would create (at plan time, the configuration
    /// for both). `Ok(None)`: it made nothing. Default: reads `journaled` by name.
    async fn find_interrupted_create(
        &self,
        ctx: &CallContext,
        journaled: &str,
        _since: &str,
        _planned: &Value,
        _config: &Value,
    ) -> Result<Option<Value>, ProviderError> {
        match self.import(ctx, journaled).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.not_found => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Whether the API refuses to create an object that exists already ("already exists"),
    /// which is how an apply notices a create an interrupted apply made after the plan. False
    /// for objects the API names itself (a secret version): the apply then looks with
    /// [`ResourceType::find_interrupted_create`] before it creates. Default: true.
    fn create_refuses_duplicates(&self) -> bool {
        true
    }

    /// A Terraform-only boolean argument (the provider's `deletion_protection`) that, true in
    /// the state, makes the planner refuse to destroy or replace the instance. Default: none.
    fn protection_attribute(&self) -> Option<&'static str> {
        None
    }

    /// Timeouts when the resource's `timeouts` block says nothing.
    fn default_timeouts(&self) -> crate::lang::config::Timeouts {
        crate::lang::config::Timeouts::default()
    }

    /// How long a create, update or delete of this type usually takes against the real API:
    /// the weights of the apply's critical-path scheduling, which starts first the steps that
    /// head the longest chain of expected time (a Cloud SQL instance before a secret). A guess
    /// for ordering, never a limit (that is [`ResourceType::default_timeouts`]). Default: one
    /// synchronous API call and its read-back, [`ExpectedDurations::ONE_CALL`].
    fn expected_durations(&self) -> ExpectedDurations {
        ExpectedDurations::ONE_CALL
    }
}

/// What a mutation of a type usually takes ([`ResourceType::expected_durations`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpectedDurations {
    pub create: Duration,
    pub update: Duration,
    pub delete: Duration,
}

impl ExpectedDurations {
    /// A synchronous Google API call with the read that follows it: Google's APIs answer in
    /// 50–300 ms (issue 18's premise; the emulator's realistic mode draws from that range), so
    /// about a second for the pair with retries and token refresh left aside.
    pub const ONE_CALL: ExpectedDurations = ExpectedDurations::all(Duration::from_secs(1));
    /// Work done in the process (built-in types): nothing to wait for.
    pub const LOCAL: ExpectedDurations = ExpectedDurations::all(Duration::ZERO);

    /// The same figure for every mutation.
    pub const fn all(d: Duration) -> Self {
        ExpectedDurations { create: d, update: d, delete: d }
    }

    /// Figures in seconds: create, update, delete.
    pub const fn secs(create: u64, update: u64, delete: u64) -> Self {
        ExpectedDurations {
            create: Duration::from_secs(create),
            update: Duration::from_secs(update),
            delete: Duration::from_secs(delete),
        }
    }
}

/// A provider: a named set of resource types (`terraform`, `random`, `google`).
#[async_trait]
pub trait Provider: Send + Sync {
    fn name(&self) -> &'static str;
    fn resource_types(&self) -> Vec<Arc<dyn ResourceType>>;

    /// Checks the provider block (and credentials) before any resource is planned, so that a
    /// missing login fails fast with a useful message instead of deep inside a refresh.
    /// Called once per command for each provider the configuration uses; never by `validate`.
    async fn configure(&self, _config: &Value) -> Result<(), ProviderError> {
        Ok(())
    }

    /// Rules that span several of this provider's objects and that the API would only refuse
    /// at apply time (a backend service with health checks whose backends are serverless
    /// NEGs). Called once per plan with every object the plan leaves in place (created,
    /// updated or unchanged); values may hold unknowns, which a rule must skip.
    fn check_across(&self, _objects: &[PlannedObject<'_>]) -> Vec<CrossResourceViolation> {
        Vec::new()
    }

    /// The data sources (`data "TYPE" "name"`) this provider serves.
    fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
        Vec::new()
    }

    /// The arguments of this provider's `provider` block that Cairn acts on (what
    /// `providers schema -json` shows as the provider's schema). Default: none.
    fn configuration_schema(&self) -> Schema {
        Schema::default()
    }

    /// A fresh instance for another configuration of this provider (`alias = "other"`), with
    /// its own clients and caches, so that nothing one configuration set up (a project, a
    /// credential, an endpoint) serves another. `None` for a provider that keeps nothing per
    /// configuration (every call gets its block in [`CallContext::provider_config`]): the one
    /// instance then serves every configuration. Default: `None`.
    fn for_configuration(&self) -> Option<Arc<dyn Provider>> {
        None
    }
}

/// A data source: a read of an object the stack does not manage (Terraform's `data` block).
///
/// The core reads a data source once per plan when every argument is known, and defers the
/// read to apply (showing it as such) when one is not; it never asks a data source for
/// anything but a read.
#[async_trait]
pub trait DataSource: Send + Sync {
    fn name(&self) -> &'static str;
    /// Arguments (required/optional) and the attributes the read fills (computed); sensitive
    /// attributes are marked so that their values stay out of state, plan files and output.
    fn schema(&self) -> &Schema;
    /// Reads the object that `config` (the evaluated arguments, all known, defaults not yet
    /// applied) names, and returns the whole value: arguments as given plus every computed
    /// attribute, sensitive ones marked. An object that does not exist is an error (as in
    /// Terraform), with `not_found` set.
    async fn read(&self, ctx: &CallContext, config: &Value) -> Result<Value, ProviderError>;
}

/// One object as a plan leaves it, for [`Provider::check_across`].
#[derive(Clone, Copy, Debug)]
pub struct PlannedObject<'a> {
    pub addr: &'a crate::addr::InstanceAddr,
    pub type_name: &'a str,
    pub value: &'a Value,
    /// The resource block's arguments and nested blocks as written (None: no block, e.g. an
    /// orphan), for rules about what the configuration manages rather than what it plans.
    pub body: Option<&'a crate::lang::config::Body>,
}

/// A broken cross-resource rule, located at an attribute of one instance's configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct CrossResourceViolation {
    pub addr: crate::addr::InstanceAddr,
    /// The attribute (in `addr`'s configuration) to point at.
    pub path: crate::addr::AttrPath,
    pub message: String,
    /// How to fix it.
    pub help: String,
}

/// Maps resource type names to implementations, per provider configuration.
///
/// The registered instance of each provider serves its default configuration (`google`);
/// each aliased one (`google.other`) gets its own instance ([`Provider::for_configuration`]),
/// made on first use and shared by clones of the registry, so that configuring it before the
/// plan and using it in the plan and the apply reach the same clients.
#[derive(Clone, Default)]
pub struct Registry {
    types: BTreeMap<&'static str, (String, Arc<dyn ResourceType>)>,
    data_sources: BTreeMap<&'static str, (String, Arc<dyn DataSource>)>,
    providers: BTreeMap<String, Arc<dyn Provider>>,
    aliased: Arc<std::sync::Mutex<BTreeMap<ProviderConfigAddr, Arc<ProviderInstance>>>>,
}

/// One aliased configuration's instance of a provider, with its types and data sources.
struct ProviderInstance {
    provider: Arc<dyn Provider>,
    types: BTreeMap<&'static str, Arc<dyn ResourceType>>,
    data_sources: BTreeMap<&'static str, Arc<dyn DataSource>>,
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }
    /// The providers that ship with Cairn.
    pub fn builtin() -> Self {
        let mut r = Registry::new();
        r.register(Arc::new(builtin::TerraformProvider));
        r.register(Arc::new(builtin::RandomProvider));
        r
    }
    /// Everything Cairn ships: the built-in providers and `google`.
    pub fn standard(google: google::GoogleOptions) -> Self {
        let mut r = Registry::builtin();
        r.register(Arc::new(google::GoogleProvider::new(google)));
        r
    }
    /// Every shipped provider, unconfigured: for what needs only their schemas (the nested
    /// blocks of a `.tf.json` resource body, read before a command has its registry).
    pub fn for_schemas() -> Self {
        Self::standard(google::GoogleOptions::default())
    }
    pub fn register(&mut self, p: Arc<dyn Provider>) {
        for t in p.resource_types() {
            self.types.insert(t.name(), (p.name().to_string(), t));
        }
        for d in p.data_sources() {
            self.data_sources.insert(d.name(), (p.name().to_string(), d));
        }
        self.providers.insert(p.name().to_string(), p);
    }
    /// The provider's default configuration's instance.
    pub fn provider(&self, name: &str) -> Option<&Arc<dyn Provider>> {
        self.providers.get(name)
    }
    /// The default configuration's implementation of a type: for what does not depend on a
    /// configuration (schemas, timeouts); calls go through [`Registry::resource_type_for`].
    pub fn get(&self, type_name: &str) -> Option<&Arc<dyn ResourceType>> {
        self.types.get(type_name).map(|(_, t)| t)
    }
    /// The data source named `type_name` (`google_project` for `data "google_project" …`),
    /// as the default configuration serves it.
    pub fn data_source(&self, type_name: &str) -> Option<&Arc<dyn DataSource>> {
        self.data_sources.get(type_name).map(|(_, d)| d)
    }
    /// The provider name that owns a data source.
    pub fn provider_of_data_source(&self, type_name: &str) -> Option<&str> {
        self.data_sources.get(type_name).map(|(p, _)| p.as_str())
    }
    pub fn data_source_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.data_sources.keys().copied()
    }
    /// The provider name that owns a type (`google` for `google_sql_user`).
    pub fn provider_of(&self, type_name: &str) -> Option<&str> {
        self.types.get(type_name).map(|(p, _)| p.as_str())
    }
    pub fn type_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.types.keys().copied()
    }
    /// The registered (default-configuration) instance of each provider.
    pub fn providers(&self) -> impl Iterator<Item = (&str, &Arc<dyn Provider>)> + '_ {
        self.providers.iter().map(|(n, p)| (n.as_str(), p))
    }

    /// The instance that serves a configuration (`google`, `google.other`); `None` when no
    /// such provider is registered.
    pub fn provider_for(&self, config: &ProviderConfigAddr) -> Option<Arc<dyn Provider>> {
        match self.aliased_instance(config)? {
            Some(instance) => Some(instance.provider.clone()),
            None => self.providers.get(&config.provider).cloned(),
        }
    }

    /// The implementation of `type_name` that calls the cloud through configuration `config`
    /// (a key such as `google.other`). `None` when the type is unknown or belongs to another
    /// provider than the configuration's: a type is never served by a configuration of
    /// another provider.
    pub fn resource_type_for(&self, type_name: &str, config: &str) -> Option<Arc<dyn ResourceType>> {
        let config = ProviderConfigAddr::parse(config);
        let (owner, default) = self.types.get(type_name)?;
        if *owner != config.provider {
            return None;
        }
        match self.aliased_instance(&config)? {
            Some(instance) => instance.types.get(type_name).cloned(),
            None => Some(default.clone()),
        }
    }

    /// [`Registry::resource_type_for`] for data sources.
    pub fn data_source_for(&self, type_name: &str, config: &str) -> Option<Arc<dyn DataSource>> {
        let config = ProviderConfigAddr::parse(config);
        let (owner, default) = self.data_sources.get(type_name)?;
        if *owner != config.provider {
            return None;
        }
        match self.aliased_instance(&config)? {
            Some(instance) => instance.data_sources.get(type_name).cloned(),
            None => Some(default.clone()),
        }
    }

    /// `Some(None)`: the registered instance serves `config` (a default configuration, or a
    /// provider that keeps nothing per configuration). `None`: no such provider.
    fn aliased_instance(&self, config: &ProviderConfigAddr) -> Option<Option<Arc<ProviderInstance>>> {
        let registered = self.providers.get(&config.provider)?;
        if config.alias.is_none() {
            return Some(None);
        }
        // A poisoned lock only means another thread panicked while inserting; the map
        // itself is still whole.
        let mut aliased = self.aliased.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(instance) = aliased.get(config) {
            return Some(Some(instance.clone()));
        }
        let Some(provider) = registered.for_configuration() else { return Some(None) };
        let instance = Arc::new(ProviderInstance {
            types: provider.resource_types().into_iter().map(|t| (t.name(), t)).collect(),
            data_sources: provider.data_sources().into_iter().map(|d| (d.name(), d)).collect(),
            provider,
        });
        aliased.insert(config.clone(), instance.clone());
        Some(Some(instance))
    }
}
