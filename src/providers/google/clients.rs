//! The API clients, built once per run from the resolved provider block and shared by every
//! resource type (the SDK clients pool their connections internally).
//!
//! The SDK's own retries are switched off: its defaults (10 attempts over a minute, retrying
//! connection failures) would make a dead endpoint or a missing login cost a minute. Retries
//! happen in [`super::retry`] by Terraform's rules; each attempt is bounded by the provider's
//! `request_timeout`.

use std::time::Duration;

use google_cloud_auth::credentials::Credentials;
use google_cloud_gax::client_builder::ClientBuilder;
use google_cloud_gax::exponential_backoff::ExponentialBackoffBuilder;
use google_cloud_gax::retry_policy::NeverRetry;
use google_cloud_secretmanager_v1::client::SecretManagerService;
use google_cloud_sql_v1::client::{SqlDatabasesService, SqlInstancesService, SqlOperationsService, SqlUsersService};
use google_cloud_vpcaccess_v1::client::VpcAccessService;

use super::config::{GoogleConfig, Service};
use super::limiter::Concurrency;
use super::retry::{Backoff, Retrier};
use crate::google_auth;
use crate::providers::ProviderError;

/// How long the credential check at configure time may take. A machine with no credentials
/// falls back to the metadata server, which on a laptop never answers.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// Concurrent calls per API, so that a large refresh or apply stays under per-minute quotas:
/// the fixed limits of `--parallelism-fixed`, and where the adaptive limits start
/// ([`super::retry::ADAPTIVE_HEADROOM`] times these is their ceiling).
pub const SECRET_MANAGER_CONCURRENCY: usize = 8;
pub const VPC_ACCESS_CONCURRENCY: usize = 4;
/// Cloud SQL's admin API quota is per-minute and low (180 mutations/min per project).
pub const SQL_CONCURRENCY: usize = 4;
/// Compute's per-project mutation quota is shared by every global resource type.
pub const COMPUTE_CONCURRENCY: usize = 8;
pub const LOGGING_CONCURRENCY: usize = 8;
/// Cloud Run Admin API's write quota is per-minute per region (cloud.google.com/run/quotas:
/// 180 mutations per minute); a handful of services never needs more than a few at once.
pub const CLOUD_RUN_CONCURRENCY: usize = 4;
/// BigQuery's dataset metadata writes are limited to 5 per 10 s per dataset
/// (cloud.google.com/bigquery/quotas#dataset_limits); reads are cheap.
pub const BIGQUERY_CONCURRENCY: usize = 4;
/// Cloud Monitoring's configuration writes share one per-project quota (and the provider
/// serialises alert-policy edits per project: its `mutex: alertPolicy/{{project}}`).
pub const MONITORING_CONCURRENCY: usize = 4;
/// Resource Manager: reads only (one per `google_project` data source per plan).
pub const RESOURCE_MANAGER_CONCURRENCY: usize = 4;

/// Every client and its call policy. Cloud SQL, VPC Access, Compute and Logging join here,
/// each as a client plus its own [`Retrier`], built in [`Clients::connect`] the same way.
pub struct Clients {
    pub config: GoogleConfig,
    pub secret_manager: SecretManagerService,
    pub secret_manager_calls: Retrier,
    pub vpc_access: VpcAccessService,
    pub vpc_access_calls: Retrier,
    pub sql_instances: SqlInstancesService,
    pub sql_operations: SqlOperationsService,
    pub sql_databases: SqlDatabasesService,
    pub sql_users: SqlUsersService,
    pub sql_calls: Retrier,
    /// For the one call no SDK client offers (VPC Access connectors.patch).
    pub credentials: Credentials,
    pub compute: ComputeClients,
    pub compute_calls: Retrier,
    pub logging: google_cloud_logging_v2::client::ConfigServiceV2,
    pub logging_calls: Retrier,
    pub cloud_run: google_cloud_run_v2::client::Services,
    pub cloud_run_calls: Retrier,
    pub bigquery_datasets: google_cloud_bigquery_v2::client::DatasetService,
    pub bigquery_calls: Retrier,
    pub monitoring: MonitoringClients,
    pub monitoring_calls: Retrier,
    /// Resource Manager v3, for the `google_project` data source's one read.
    pub projects: google_cloud_resourcemanager_v3::client::Projects,
    pub projects_calls: Retrier,
}

/// Cloud Monitoring v3's three configuration services (one endpoint, one quota).
pub struct MonitoringClients {
    pub channels: google_cloud_monitoring_v3::client::NotificationChannelService,
    pub alert_policies: google_cloud_monitoring_v3::client::AlertPolicyService,
    pub uptime_checks: google_cloud_monitoring_v3::client::UptimeCheckService,
}

/// Compute's global operations, which every compute collection's mutations wait on. The
/// collections' own clients belong to their resource types (`Clients::compute_builder`).
pub struct ComputeClients {
    pub global_operations: google_cloud_compute_v1::client::GlobalOperations,
    /// What regional collections' (network endpoint groups') mutations wait on.
    pub region_operations: google_cloud_compute_v1::client::RegionOperations,
}

impl Clients {
    /// Builds the credentials, checks them (unless talking to the emulator), then the clients,
    /// each API's calls limited as `concurrency` says.
    pub async fn connect(config: GoogleConfig, concurrency: Concurrency) -> Result<Clients, ProviderError> {
        let creds = google_auth::credentials(&config.credentials)?;
        if !config.is_emulator() {
            google_auth::probe(&creds, PROBE_TIMEOUT).await?;
        }
        let backoff = if config.is_emulator() { Backoff::emulator() } else { Backoff::terraform() };
        let secret_manager = tuned(SecretManagerService::builder(), &config, Service::SecretManager, &creds)
            .build()
            .await
            .map_err(|e| ProviderError::new(format!("cannot create the Secret Manager client: {e}")))?;
        let fail =
            |what: &str, e: &dyn std::fmt::Display| ProviderError::new(format!("cannot create the {what} client: {e}"));
        let vpc_access = tuned(VpcAccessService::builder(), &config, Service::VpcAccess, &creds)
            .build()
            .await
            .map_err(|e| fail("VPC Access", &e))?;
        let sql_instances = tuned(SqlInstancesService::builder(), &config, Service::Sql, &creds)
            .build()
            .await
            .map_err(|e| fail("Cloud SQL", &e))?;
        let sql_operations = tuned(SqlOperationsService::builder(), &config, Service::Sql, &creds)
            .build()
            .await
            .map_err(|e| fail("Cloud SQL", &e))?;
        let sql_databases = tuned(SqlDatabasesService::builder(), &config, Service::Sql, &creds)
            .build()
            .await
            .map_err(|e| fail("Cloud SQL", &e))?;
        let sql_users = tuned(SqlUsersService::builder(), &config, Service::Sql, &creds)
            .build()
            .await
            .map_err(|e| fail("Cloud SQL", &e))?;
        let compute = ComputeClients::connect(&config, &creds).await?;
        let logging =
            tuned(google_cloud_logging_v2::client::ConfigServiceV2::builder(), &config, Service::Logging, &creds)
                .build()
                .await
                .map_err(|e| ProviderError::new(format!("cannot create the Cloud Logging client: {e}")))?;
        let cloud_run = tuned(google_cloud_run_v2::client::Services::builder(), &config, Service::CloudRunV2, &creds)
            .build()
            .await
            .map_err(|e| fail("Cloud Run", &e))?;
        let bigquery_datasets =
            tuned(google_cloud_bigquery_v2::client::DatasetService::builder(), &config, Service::BigQuery, &creds)
                .build()
                .await
                .map_err(|e| fail("BigQuery", &e))?;
        use google_cloud_monitoring_v3::client as mon;
        let monitoring = MonitoringClients {
            channels: tuned(mon::NotificationChannelService::builder(), &config, Service::Monitoring, &creds)
                .build()
                .await
                .map_err(|e| fail("Cloud Monitoring", &e))?,
            alert_policies: tuned(mon::AlertPolicyService::builder(), &config, Service::Monitoring, &creds)
                .build()
                .await
                .map_err(|e| fail("Cloud Monitoring", &e))?,
            uptime_checks: tuned(mon::UptimeCheckService::builder(), &config, Service::Monitoring, &creds)
                .build()
                .await
                .map_err(|e| fail("Cloud Monitoring", &e))?,
        };
        let projects = tuned(
            google_cloud_resourcemanager_v3::client::Projects::builder(),
            &config,
            Service::ResourceManager,
            &creds,
        )
        .build()
        .await
        .map_err(|e| fail("Resource Manager", &e))?;
        Ok(Clients {
            projects,
            projects_calls: Retrier::for_api(concurrency, backoff.clone(), RESOURCE_MANAGER_CONCURRENCY),
            bigquery_datasets,
            bigquery_calls: Retrier::for_api(concurrency, backoff.clone(), BIGQUERY_CONCURRENCY),
            monitoring,
            monitoring_calls: Retrier::for_api(concurrency, backoff.clone(), MONITORING_CONCURRENCY),
            cloud_run,
            cloud_run_calls: Retrier::for_api(concurrency, backoff.clone(), CLOUD_RUN_CONCURRENCY),
            secret_manager,
            secret_manager_calls: Retrier::for_api(concurrency, backoff.clone(), SECRET_MANAGER_CONCURRENCY),
            vpc_access,
            vpc_access_calls: Retrier::for_api(concurrency, backoff.clone(), VPC_ACCESS_CONCURRENCY),
            sql_instances,
            sql_operations,
            sql_databases,
            sql_users,
            sql_calls: Retrier::for_api(concurrency, backoff.clone(), SQL_CONCURRENCY),
            compute,
            compute_calls: Retrier::for_api(concurrency, backoff.clone(), COMPUTE_CONCURRENCY),
            logging,
            logging_calls: Retrier::for_api(concurrency, backoff, LOGGING_CONCURRENCY),
            credentials: creds,
            config,
        })
    }

    /// A compute collection's client builder with the settings every client has.
    pub fn compute_builder<F>(&self, b: ClientBuilder<F, Credentials>) -> ClientBuilder<F, Credentials> {
        tuned(b, &self.config, Service::Compute, &self.credentials)
    }

    /// The project a resource lives in: its own `project`, else the provider's.
    pub fn project(&self, resource_project: Option<&str>) -> Result<String, ProviderError> {
        resource_project
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .or_else(|| self.config.project.clone())
            .ok_or_else(|| {
                ProviderError::new(
                    "no project: set `project` on the resource or in the provider \"google\" block, or set GOOGLE_PROJECT",
                )
            })
    }
}

impl ComputeClients {
    async fn connect(config: &GoogleConfig, creds: &Credentials) -> Result<Self, ProviderError> {
        let global_operations =
            tuned(google_cloud_compute_v1::client::GlobalOperations::builder(), config, Service::Compute, creds)
                .build()
                .await
                .map_err(compute_client_error)?;
        let region_operations =
            tuned(google_cloud_compute_v1::client::RegionOperations::builder(), config, Service::Compute, creds)
                .build()
                .await
                .map_err(compute_client_error)?;
        Ok(ComputeClients { global_operations, region_operations })
    }
}

/// Why a compute client could not be built.
pub fn compute_client_error(e: google_cloud_gax::client_builder::Error) -> ProviderError {
    ProviderError::new(format!("cannot create the Compute Engine client: {e}"))
}

/// The common client settings: endpoint, credentials, one attempt per call bounded by
/// `request_timeout`, and explicit (short) backoff and polling so that no SDK default applies.
fn tuned<F>(
    b: ClientBuilder<F, Credentials>,
    config: &GoogleConfig,
    service: Service,
    creds: &Credentials,
) -> ClientBuilder<F, Credentials> {
    let (initial, max) = if config.is_emulator() {
        (Duration::from_millis(10), Duration::from_millis(250))
    } else {
        (Duration::from_secs(1), Duration::from_secs(10))
    };
    let backoff = || {
        ExponentialBackoffBuilder::new().with_initial_delay(initial).with_maximum_delay(max).with_scaling(2.0).clamp()
    };
    b.with_endpoint(config.endpoint(service))
        .with_credentials(creds.clone())
        .with_retry_policy(NeverRetry)
        .with_attempt_timeout(config.request_timeout)
        .with_backoff_policy(backoff())
        .with_polling_backoff_policy(backoff())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::google_auth::EMULATOR_ENV;
    use std::time::Instant;

    #[tokio::test]
    async fn configuring_with_a_missing_adc_file_fails_fast() {
        let started = Instant::now();
        let env = |k: &str| match k {
            "GOOGLE_APPLICATION_CREDENTIALS" => Some("/nonexistent/cairn-adc.json".to_string()),
            "GOOGLE_PROJECT" => Some("p".to_string()),
            _ => None,
        };
        let e = match GoogleConfig::resolve(&crate::lang::value::Value::Null, &env, None) {
            Err(e) => e,
            Ok(cfg) => Clients::connect(cfg, Concurrency::default()).await.err().expect("no credentials"),
        };
        assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
        assert!(e.message.contains("/nonexistent/cairn-adc.json"), "{}", e.message);
        assert!(
            e.message.contains("gcloud auth application-default login") && e.message.contains(EMULATOR_ENV),
            "{}",
            e.message
        );
    }

    #[tokio::test]
    async fn the_emulator_needs_no_credentials() {
        let env = |k: &str| (k == "GOOGLE_PROJECT").then(|| "p".to_string());
        let cfg = GoogleConfig::resolve(&crate::lang::value::Value::Null, &env, Some("http://127.0.0.1:9")).unwrap();
        let started = Instant::now();
        let clients = Clients::connect(cfg, Concurrency::default()).await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(clients.project(None).unwrap(), "p");
        assert_eq!(clients.project(Some("other")).unwrap(), "other");
    }
}
