//! The `google` provider: terraform-provider-google's resource types over the official Google
//! Cloud Rust SDK.
//!
//! Layout: `config` (the provider block), `clients` (SDK clients over `crate::google_auth`'s
//! credentials, built once per run), `retry` (Terraform's retry rules), `errors` (SDK errors →
//! [`ProviderError`]), `fields` (reading and writing attribute values), `compute_collection`
//! (what every compute type shares), `resource_common` (what the others share), then one file
//! per resource type.

pub mod bigquery_dataset;
pub mod bigquery_dataset_iam_member;
pub mod client_config;
pub mod clients;
pub mod cloud_run_v2_service;
pub mod cloud_run_v2_service_iam_member;
#[cfg(test)]
mod completeness;
pub mod compute_backend_service;
pub mod compute_collection;
pub mod compute_common;
pub mod compute_global_address;
pub mod compute_global_forwarding_rule;
pub mod compute_health_check;
pub mod compute_managed_ssl_certificate;
pub mod compute_region_network_endpoint_group;
pub mod compute_target_http_proxy;
pub mod compute_target_https_proxy;
pub mod compute_url_map;
pub mod config;
pub mod data;
pub mod errors;
pub mod fields;
pub mod iam;
pub mod limiter;
pub mod logging_project_sink;
pub mod metrics;
pub mod mmv1;
pub mod monitoring_alert_policy;
pub mod monitoring_common;
pub mod monitoring_notification_channel;
pub mod monitoring_uptime_check_config;
pub mod plan_rules;
pub mod resource_common;
pub mod retry;
pub mod secret_manager_secret;
pub mod secret_manager_secret_version;
pub mod sql_database;
pub mod sql_database_instance;
pub mod sql_user;
pub mod vpc_access_connector;

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::OnceCell;

use crate::lang::value::Value;
use crate::providers::{CrossResourceViolation, DataSource, PlannedObject, Provider, ProviderError, ResourceType};
use crate::schema::{AttrType, Attribute, Schema};
pub use clients::Clients;
pub use compute_backend_service::ComputeBackendService;
pub use compute_health_check::ComputeHealthCheck;
pub use compute_managed_ssl_certificate::ComputeManagedSslCertificate;
pub use compute_target_https_proxy::ComputeTargetHttpsProxy;
pub use compute_url_map::ComputeUrlMap;
pub use config::{GoogleConfig, Service, EMULATOR_ENV};
pub use logging_project_sink::LoggingProjectSink;
pub use secret_manager_secret::SecretManagerSecret;
pub use secret_manager_secret_version::SecretManagerSecretVersion;
pub use sql_database::SqlDatabase;
pub use sql_database_instance::SqlDatabaseInstance;
pub use sql_user::SqlUser;
pub use vpc_access_connector::VpcAccessConnector;

/// How the provider is started (by the CLI or a test), apart from the provider block.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GoogleOptions {
    /// `http://host:port` of a Cairn emulator: every service goes there with anonymous
    /// credentials (`--emulator`, CAIRN_GCP_EMULATOR).
    pub emulator: Option<String>,
    /// Adaptive per-API limits (the default) or Terraform's fixed ones (`--parallelism-fixed`).
    pub concurrency: limiter::Concurrency,
}

impl GoogleOptions {
    /// Reads CAIRN_GCP_EMULATOR.
    pub fn from_env() -> Self {
        GoogleOptions {
            emulator: std::env::var(EMULATOR_ENV).ok().filter(|s| !s.trim().is_empty()),
            ..GoogleOptions::default()
        }
    }
}

/// State every resource type of one provider configuration shares: the clients, built on first
/// use from that configuration's provider block. Each configuration (`google`, `google.other`)
/// has its own [`GoogleProvider`] instance and so its own `Shared`: the project and region
/// that [`Shared::fill_project`] plans with are the configuration's own.
pub struct Shared {
    options: GoogleOptions,
    clients: OnceCell<Arc<Clients>>,
}

impl Shared {
    pub fn new(options: GoogleOptions) -> Self {
        Shared { options, clients: OnceCell::new() }
    }

    /// The clients if a command already configured the provider (plan-time helpers that
    /// cannot wait, such as filling in the provider's project).
    pub fn configured(&self) -> Option<Arc<Clients>> {
        self.clients.get().cloned()
    }

    /// Terraform's provider defaults at plan time: an unknown planned `project` takes the
    /// provider's, so that the plan shows it (and what is derived from it) known.
    pub fn fill_project(&self, planned: &mut Value) {
        self.fill_from_provider(planned, false);
    }

    /// [`Shared::fill_project`] for regional types: `region` too.
    pub fn fill_project_and_region(&self, planned: &mut Value) {
        self.fill_from_provider(planned, true);
    }

    fn fill_from_provider(&self, planned: &mut Value, with_region: bool) {
        let Some(c) = self.configured() else { return };
        let defaults =
            [("project", c.config.project.as_ref()), ("region", c.config.region.as_ref().filter(|_| with_region))];
        for (attr, fallback) in defaults {
            if let Some(v) = fallback.filter(|_| planned.get(attr).is_some_and(Value::is_unknown)) {
                fields::set(planned, attr, Value::string(v.clone()));
            }
        }
    }

    /// The project an object will live in: its planned `project`, else the provider's.
    pub fn planned_project(&self, planned: &Value) -> Option<String> {
        fields::string(planned, "project").or_else(|| self.configured().and_then(|c| c.config.project.clone()))
    }

    /// The region an object will live in: its planned `region`, else the provider's.
    pub fn planned_region(&self, planned: &Value) -> Option<String> {
        fields::string(planned, "region").or_else(|| self.configured().and_then(|c| c.config.region.clone()))
    }

    /// The clients, built (and credentials checked) the first time they are needed.
    pub async fn clients(&self, provider_block: &Value) -> Result<Arc<Clients>, ProviderError> {
        self.clients
            .get_or_try_init(|| async {
                let env = |k: &str| std::env::var(k).ok();
                let config = GoogleConfig::resolve(provider_block, &env, self.options.emulator.as_deref())?;
                Clients::connect(config, self.options.concurrency).await.map(Arc::new)
            })
            .await
            .cloned()
    }
}

pub struct GoogleProvider {
    shared: Arc<Shared>,
}

impl GoogleProvider {
    pub fn new(options: GoogleOptions) -> Self {
        GoogleProvider { shared: Arc::new(Shared::new(options)) }
    }
}

#[async_trait]
impl Provider for GoogleProvider {
    fn configuration_schema(&self) -> Schema {
        // Every argument [`config::GoogleConfig::resolve`] reads is an optional string, as in
        // terraform-provider-google's provider schema.
        config::honoured_arguments()
            .into_iter()
            .fold(Schema::new(), |s, name| s.attr(name, Attribute::optional(AttrType::String)))
    }
    fn name(&self) -> &'static str {
        "google"
    }

    fn resource_types(&self) -> Vec<Arc<dyn ResourceType>> {
        vec![
            Arc::new(SecretManagerSecret::new(self.shared.clone())),
            Arc::new(SecretManagerSecretVersion::new(self.shared.clone())),
            Arc::new(VpcAccessConnector::new(self.shared.clone())),
            Arc::new(SqlDatabaseInstance::new(self.shared.clone())),
            Arc::new(SqlDatabase::new(self.shared.clone())),
            Arc::new(SqlUser::new(self.shared.clone())),
            Arc::new(ComputeHealthCheck::new(self.shared.clone())),
            Arc::new(ComputeManagedSslCertificate::new(self.shared.clone())),
            Arc::new(ComputeBackendService::new(self.shared.clone())),
            Arc::new(ComputeUrlMap::new(self.shared.clone())),
            Arc::new(ComputeTargetHttpsProxy::new(self.shared.clone())),
            Arc::new(compute_global_address::ComputeGlobalAddress::new(self.shared.clone())),
            Arc::new(compute_target_http_proxy::ComputeTargetHttpProxy::new(self.shared.clone())),
            Arc::new(compute_region_network_endpoint_group::ComputeRegionNetworkEndpointGroup::new(
                self.shared.clone(),
            )),
            Arc::new(compute_global_forwarding_rule::ComputeGlobalForwardingRule::new(self.shared.clone())),
            Arc::new(LoggingProjectSink::new(self.shared.clone())),
            Arc::new(cloud_run_v2_service::CloudRunV2Service::new(self.shared.clone())),
            Arc::new(cloud_run_v2_service_iam_member::CloudRunV2ServiceIamMember::new(self.shared.clone())),
            Arc::new(bigquery_dataset::BigqueryDataset::new(self.shared.clone())),
            Arc::new(bigquery_dataset_iam_member::BigqueryDatasetIamMember::new(self.shared.clone())),
            Arc::new(monitoring_notification_channel::MonitoringNotificationChannel::new(self.shared.clone())),
            Arc::new(monitoring_alert_policy::MonitoringAlertPolicy::new(self.shared.clone())),
            Arc::new(monitoring_uptime_check_config::MonitoringUptimeCheckConfig::new(self.shared.clone())),
        ]
    }

    fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
        let mut all = data::data_sources(&self.shared);
        all.push(Arc::new(client_config::ClientConfig::new(self.shared.clone())));
        all
    }

    /// Resolves the provider block and checks credentials up front (at most a few seconds).
    async fn configure(&self, config: &Value) -> Result<(), ProviderError> {
        self.shared.clients(config).await.map(|_| ())
    }

    /// Another configuration gets its own clients (project, region, credentials, endpoints).
    fn for_configuration(&self) -> Option<Arc<dyn Provider>> {
        Some(Arc::new(GoogleProvider::new(self.shared.options.clone())))
    }

    /// The load balancer's rules across its pieces ([`plan_rules`]).
    fn check_across(&self, objects: &[PlannedObject<'_>]) -> Vec<CrossResourceViolation> {
        plan_rules::check(objects)
    }
}

/// A scripted HTTP server for the resource types' unit tests: each request goes to a closure
/// that returns a status and a JSON body.
#[cfg(test)]
pub(crate) mod test_server {
    use std::sync::Arc;

    use axum::body::Bytes;
    use axum::http::{Method, StatusCode, Uri};
    use axum::response::IntoResponse;

    pub type Handler = Arc<dyn Fn(&str, &str, &str, &[u8]) -> (u16, serde_json::Value) + Send + Sync>;

    /// Starts the server; returns its endpoint (`http://127.0.0.1:PORT`).
    pub async fn start(handler: Handler) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let app = axum::Router::new().fallback(move |m: Method, u: Uri, b: Bytes| {
            let h = handler.clone();
            async move {
                let (code, body) = h(m.as_str(), u.path(), u.query().unwrap_or(""), &b);
                (
                    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                    [("content-type", "application/json")],
                    body.to_string(),
                )
                    .into_response()
            }
        });
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        format!("http://{addr}")
    }

    /// A provider whose clients talk to `endpoint`, in project `p`.
    pub async fn shared(endpoint: &str) -> (Arc<super::Shared>, crate::providers::CallContext) {
        let shared = Arc::new(super::Shared::new(super::GoogleOptions {
            emulator: Some(endpoint.to_string()),
            ..Default::default()
        }));
        let mut ctx = crate::providers::CallContext::new(crate::lang::value::Value::map([(
            "project",
            crate::lang::value::Value::from("p"),
        )]));
        ctx.timeout = std::time::Duration::from_secs(10);
        shared.clients(&ctx.provider_config).await.expect("clients");
        (shared, ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::Registry;

    #[test]
    fn the_standard_registry_has_builtin_and_google_types() {
        let r = Registry::standard(GoogleOptions { emulator: Some("http://127.0.0.1:9".into()), ..Default::default() });
        assert_eq!(r.provider_of("google_secret_manager_secret"), Some("google"));
        assert_eq!(r.provider_of("google_secret_manager_secret_version"), Some("google"));
        assert_eq!(r.provider_of("random_password"), Some("random"));
        assert!(r.provider("google").is_some());
    }

    #[tokio::test]
    async fn configure_against_the_emulator_builds_clients_once() {
        let p =
            GoogleProvider::new(GoogleOptions { emulator: Some("http://127.0.0.1:9".into()), ..Default::default() });
        let block = Value::map([("project", Value::from("demo"))]);
        p.configure(&block).await.unwrap();
        let a = p.shared.clients(&block).await.unwrap();
        let b = p.shared.clients(&Value::Null).await.unwrap();
        assert!(Arc::ptr_eq(&a, &b), "one set of clients per run");
        assert_eq!(a.config.project.as_deref(), Some("demo"));
    }

    #[tokio::test]
    async fn each_configuration_has_its_own_clients() {
        use crate::addr::ProviderConfigAddr;
        let r = Registry::standard(GoogleOptions { emulator: Some("http://127.0.0.1:9".into()), ..Default::default() });
        let default = ProviderConfigAddr::default_for("google");
        let other = ProviderConfigAddr::parse("google.other");
        r.provider_for(&default).unwrap().configure(&Value::map([("project", Value::from("p1"))])).await.unwrap();
        r.provider_for(&other).unwrap().configure(&Value::map([("project", Value::from("p2"))])).await.unwrap();
        // The plan fills an unset project from the configuration the type is served for.
        let planned_project = |config: &str| {
            let rt = r.resource_type_for("google_logging_project_sink", config).unwrap();
            let conf = Value::map([("name", Value::from("s")), ("project", Value::Null)]);
            let planned = Value::map([("name", Value::from("s")), ("project", Value::unknown())]);
            let mut proposal = crate::providers::PlanProposal {
                prior: None,
                config: conf,
                planned,
                requires_replace: vec![],
                changed: vec![],
            };
            rt.customize_plan(&mut proposal).unwrap();
            proposal.planned.get("project").and_then(|v| v.as_str()).map(str::to_string)
        };
        assert_eq!(planned_project("google").as_deref(), Some("p1"));
        assert_eq!(planned_project("google.other").as_deref(), Some("p2"));
        let rt = r.resource_type_for("google_secret_manager_secret", "google.other").unwrap();
        assert!(!Arc::ptr_eq(&rt, r.get("google_secret_manager_secret").unwrap()), "an alias gets its own instance");
        assert!(Arc::ptr_eq(&rt, &r.resource_type_for("google_secret_manager_secret", "google.other").unwrap()));
        // A google type is never served by another provider's configuration.
        assert!(r.resource_type_for("google_secret_manager_secret", "random.other").is_none());
        assert!(r.resource_type_for("google_secret_manager_secret", "random").is_none());
    }

    #[tokio::test]
    async fn a_bad_provider_block_is_a_clear_configure_error() {
        let p =
            GoogleProvider::new(GoogleOptions { emulator: Some("http://127.0.0.1:9".into()), ..Default::default() });
        let e = p.configure(&Value::map([("request_timeout", Value::from("soon"))])).await.unwrap_err();
        assert!(e.message.contains("request_timeout"), "{}", e.message);
    }
}
