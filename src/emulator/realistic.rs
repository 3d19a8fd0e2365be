//! Realistic mode: the emulator answers the way Google Cloud does under load, so that Cairn's
//! concurrency can be measured where it matters (issue 18).
//!
//! - Every request waits a latency drawn from a log-normal distribution with a median and a
//!   99th percentile per API and per kind (read or write), not a constant.
//! - Long-running operations last a duration drawn per resource type and method (a Cloud SQL
//!   instance takes many minutes, a health check seconds). The draw is seeded by the request
//!   itself (method, path, query, body), so the same stack gets the same durations run after
//!   run, whatever order its requests arrive in.
//! - Per-project, per-API rate quotas are enforced as Google enforces them: a number of
//!   requests per fixed, synchronized one-minute window, in separate buckets where the API
//!   has them (Compute: reads, lists, writes, operation reads; Secret Manager: access, reads,
//!   writes). An over-quota request is refused before it is processed, with the body the real
//!   API sends.
//! - One time scale compresses latencies, operation durations and quota windows together
//!   (0.01: a real minute in 0.6 s), so a benchmark of real-world minutes runs in seconds with
//!   the same ratios.
//!
//! Off by default: the test suite and `--emulator` stay fast unless asked.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::Method;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use super::server::lock;

/// The seed when none is given: fixed, so two runs of a benchmark draw the same latencies.
pub const DEFAULT_SEED: u64 = 0x5CA1_AB1E_C0DE;

/// What realistic mode does, beyond its built-in figures.
#[derive(Debug, Clone, PartialEq)]
pub struct RealisticConfig {
    /// Multiplies every latency, operation duration and quota window: 1.0 is real time, 0.01
    /// runs a real minute in 0.6 s.
    pub time_scale: f64,
    /// Multiplies every default quota limit (0.1: a project with a tenth of the defaults, as a
    /// new or deliberately capped project has); overrides are taken as given.
    pub quota_scale: f64,
    /// Per-bucket limits that replace the defaults (requests per minute).
    pub quota_overrides: Vec<QuotaOverride>,
    pub seed: u64,
}

impl Default for RealisticConfig {
    fn default() -> Self {
        RealisticConfig { time_scale: 1.0, quota_scale: 1.0, quota_overrides: Vec::new(), seed: DEFAULT_SEED }
    }
}

impl RealisticConfig {
    /// Real time, default quotas, scaled by `time_scale`.
    pub fn scaled(time_scale: f64) -> Self {
        RealisticConfig { time_scale, ..RealisticConfig::default() }
    }

    pub fn validate(&self) -> Result<(), String> {
        if !(self.time_scale.is_finite() && self.time_scale > 0.0) {
            return Err(format!(
                "the time scale must be a positive number (0.01 runs a minute in 0.6 s), not {}",
                self.time_scale
            ));
        }
        if !(self.quota_scale.is_finite() && self.quota_scale > 0.0) {
            return Err(format!("the quota scale must be a positive number, not {}", self.quota_scale));
        }
        for o in &self.quota_overrides {
            let Some(profile) = profile(&o.api) else {
                let known: Vec<&str> = PROFILES.iter().map(|p| p.api).collect();
                return Err(format!("quota {}: no API named {:?} (one of {})", o, o.api, known.join(", ")));
            };
            if !profile.quotas.iter().any(|q| q.bucket == o.bucket) {
                let buckets: Vec<&str> = profile.quotas.iter().map(|q| q.bucket.name()).collect();
                return Err(format!(
                    "quota {}: {} has no {} bucket (it has {})",
                    o,
                    o.api,
                    o.bucket.name(),
                    buckets.join(", ")
                ));
            }
        }
        Ok(())
    }
}

/// One quota limit replaced: `compute:write=100` (per minute).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaOverride {
    /// The emulator's API name, e.g. `compute`, `secretmanager`.
    pub api: String,
    pub bucket: Bucket,
    pub per_minute: u64,
}

impl std::fmt::Display for QuotaOverride {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}={}", self.api, self.bucket.name(), self.per_minute)
    }
}

impl std::str::FromStr for QuotaOverride {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let usage = || format!("{s:?}: a quota is API:BUCKET=REQUESTS_PER_MINUTE, e.g. compute:write=100");
        let (key, n) = s.split_once('=').ok_or_else(usage)?;
        let (api, bucket) = key.split_once(':').ok_or_else(usage)?;
        let bucket = Bucket::parse(bucket.trim()).ok_or_else(|| {
            format!("{s:?}: no quota bucket {bucket:?} (read, list, write, operation-read, access, requests)")
        })?;
        let per_minute =
            n.trim().parse::<u64>().map_err(|_| format!("{s:?}: {n:?} is not a whole number of requests"))?;
        if per_minute == 0 {
            return Err(format!("{s:?}: a quota of 0 refuses everything; give at least 1"));
        }
        Ok(QuotaOverride { api: api.trim().to_string(), bucket, per_minute })
    }
}

/// A rate quota's group of methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Bucket {
    Read,
    List,
    Write,
    /// Compute's operations.get/wait.
    OperationRead,
    /// Secret Manager's versions.access.
    Access,
    /// One bucket for every method (APIs without read/write quotas).
    Requests,
}

impl Bucket {
    pub fn name(self) -> &'static str {
        match self {
            Bucket::Read => "read",
            Bucket::List => "list",
            Bucket::Write => "write",
            Bucket::OperationRead => "operation-read",
            Bucket::Access => "access",
            Bucket::Requests => "requests",
        }
    }

    fn parse(s: &str) -> Option<Bucket> {
        [Bucket::Read, Bucket::List, Bucket::Write, Bucket::OperationRead, Bucket::Access, Bucket::Requests]
            .into_iter()
            .find(|b| b.name() == s)
    }
}

/// One per-minute rate quota, named as the real API names it in its error.
struct Quota {
    bucket: Bucket,
    per_minute: u64,
    /// The metric's display name in the error message ("Queries", "Write requests").
    metric: &'static str,
    /// ErrorInfo `quota_metric`.
    metric_id: &'static str,
    /// The limit's display name in the error message ("Queries per minute").
    limit: &'static str,
    /// ErrorInfo `quota_limit`.
    limit_id: &'static str,
}

/// The log-normal latency of one kind of request: median and 99th percentile, milliseconds.
#[derive(Clone, Copy)]
struct Spread {
    median: f64,
    p99: f64,
}

const fn ms(median: f64, p99: f64) -> Spread {
    Spread { median, p99 }
}

/// What one API is like.
struct Profile {
    /// The emulator's API name (`Api::name`).
    api: &'static str,
    /// The service name in quota errors.
    service: &'static str,
    read: Spread,
    write: Spread,
    quotas: &'static [Quota],
    /// How the API answers an exhausted quota.
    refusal: Refusal,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// 429 RESOURCE_EXHAUSTED with ErrorInfo (ESF-fronted AIP APIs).
    Aip,
    /// Cloud SQL Admin's legacy envelope: 429, `errors[]` with `rateLimitExceeded`, and the
    /// AIP fields beside it.
    Legacy429,
    /// Compute and BigQuery: 403 with reason `rateLimitExceeded` in domain `usageLimits`.
    /// Compute's rate-quota page: "If your project exceeds a rate quota, you receive a 403
    /// error with the reason rateLimitExceeded"; BigQuery's error table lists
    /// rateLimitExceeded as 403. The body observed from Compute (hail-is/hail#10613):
    /// `{"error":{"code":403,"message":"Quota exceeded for quota group 'default' and limit
    /// 'Queries per user per 100 seconds' of service 'compute.googleapis.com' for consumer
    /// 'project_number:…'.","errors":[{"message":…,"domain":"usageLimits","reason":
    /// "rateLimitExceeded"}],"status":"PERMISSION_DENIED"}}`.
    Legacy403,
}

// Latencies: Google publishes no per-API latency figures. The medians below span the
// 50–300 ms users measure against the real APIs (issue 18), writes slower than reads (they
// are replicated before they answer), with a tail of about five times the median at the
// 99th percentile.
//
// Quotas: the figures are the per-project defaults on each API's quotas page where it
// publishes them (cited); where the page defers to the console, the figure is marked ASSUMED
// and can be overridden (`--quota API:BUCKET=N`).
static PROFILES: &[Profile] = &[
    Profile {
        api: "compute",
        service: "compute.googleapis.com",
        read: ms(80.0, 400.0),
        // An insert answers once the operation is queued.
        write: ms(250.0, 1200.0),
        // cloud.google.com/compute/api-quota: per project, per minute, each group counted
        // separately: "Queries" (defaultPerMinutePerProject, mutations) 1500, "Read
        // requests" (ReadRequestsPerMinutePerProject, *.get) 1500; list requests 1500 and
        // operation read requests 3000 in the same per-group table.
        quotas: &[
            Quota {
                bucket: Bucket::Write,
                per_minute: 1500,
                metric: "Queries",
                metric_id: "compute.googleapis.com/default",
                limit: "Queries per minute",
                limit_id: "defaultPerMinutePerProject",
            },
            Quota {
                bucket: Bucket::Read,
                per_minute: 1500,
                metric: "Read requests",
                metric_id: "compute.googleapis.com/read_requests",
                limit: "Read requests per minute",
                limit_id: "ReadRequestsPerMinutePerProject",
            },
            Quota {
                bucket: Bucket::List,
                per_minute: 1500,
                metric: "List requests",
                metric_id: "compute.googleapis.com/list_requests",
                limit: "List requests per minute",
                limit_id: "ListRequestsPerMinutePerProject",
            },
            Quota {
                bucket: Bucket::OperationRead,
                per_minute: 3000,
                metric: "Operation read requests",
                metric_id: "compute.googleapis.com/operation_read_requests",
                limit: "Operation read requests per minute",
                limit_id: "OperationReadRequestsPerMinutePerProject",
            },
        ],
        refusal: Refusal::Legacy403,
    },
    Profile {
        api: "secretmanager",
        service: "secretmanager.googleapis.com",
        read: ms(40.0, 200.0),
        write: ms(90.0, 450.0),
        // cloud.google.com/secret-manager/quotas: "Access request 90,000 per minute per
        // project; Read request 600 per minute per project; Write request 600 per minute per
        // project".
        quotas: &[
            Quota {
                bucket: Bucket::Access,
                per_minute: 90_000,
                metric: "Access requests",
                metric_id: "secretmanager.googleapis.com/access_requests",
                limit: "Access requests per minute",
                limit_id: "AccessRequestsPerMinutePerProject",
            },
            Quota {
                bucket: Bucket::Read,
                per_minute: 600,
                metric: "Read requests",
                metric_id: "secretmanager.googleapis.com/read_requests",
                limit: "Read requests per minute",
                limit_id: "ReadRequestsPerMinutePerProject",
            },
            Quota {
                bucket: Bucket::Write,
                per_minute: 600,
                metric: "Write requests",
                metric_id: "secretmanager.googleapis.com/write_requests",
                limit: "Write requests per minute",
                limit_id: "WriteRequestsPerMinutePerProject",
            },
        ],
        refusal: Refusal::Aip,
    },
    Profile {
        api: "sqladmin",
        service: "sqladmin.googleapis.com",
        read: ms(150.0, 800.0),
        write: ms(400.0, 2000.0),
        // ASSUMED: the Cloud SQL quotas page sends readers to the console for the Admin
        // API's request quota.
        quotas: &[Quota {
            bucket: Bucket::Requests,
            per_minute: 600,
            metric: "Queries",
            metric_id: "sqladmin.googleapis.com/default",
            limit: "Queries per minute",
            limit_id: "defaultPerMinutePerProject",
        }],
        refusal: Refusal::Legacy429,
    },
    Profile {
        api: "run",
        service: "run.googleapis.com",
        read: ms(100.0, 500.0),
        write: ms(300.0, 1500.0),
        // ASSUMED (the Cloud Run quotas page lists resource limits, the request quotas are in
        // the console): reads 1000 and writes 180 per minute per region.
        quotas: &[
            Quota {
                bucket: Bucket::Read,
                per_minute: 1000,
                metric: "Read requests",
                metric_id: "run.googleapis.com/read_requests",
                limit: "Read requests per minute per region",
                limit_id: "ReadRequestsPerMinutePerProjectPerRegion",
            },
            Quota {
                bucket: Bucket::Write,
                per_minute: 180,
                metric: "Write requests",
                metric_id: "run.googleapis.com/write_requests",
                limit: "Write requests per minute per region",
                limit_id: "WriteRequestsPerMinutePerProjectPerRegion",
            },
        ],
        refusal: Refusal::Aip,
    },
    Profile {
        api: "logging",
        service: "logging.googleapis.com",
        read: ms(60.0, 300.0),
        write: ms(120.0, 600.0),
        // ASSUMED: the Logging quotas page lists sizes and counts (200 sinks per project),
        // not the configuration API's request rate.
        quotas: &[
            Quota {
                bucket: Bucket::Read,
                per_minute: 6000,
                metric: "Read requests",
                metric_id: "logging.googleapis.com/read_requests",
                limit: "Read requests per minute",
                limit_id: "ReadRequestsPerMinutePerProject",
            },
            Quota {
                bucket: Bucket::Write,
                per_minute: 600,
                metric: "Write requests",
                metric_id: "logging.googleapis.com/write_requests",
                limit: "Write requests per minute",
                limit_id: "WriteRequestsPerMinutePerProject",
            },
        ],
        refusal: Refusal::Aip,
    },
    Profile {
        api: "monitoring",
        service: "monitoring.googleapis.com",
        read: ms(80.0, 400.0),
        write: ms(200.0, 1000.0),
        // ASSUMED: 6000 per minute is the time-series call rate the Monitoring quotas page
        // gives; the configuration methods are taken to share it.
        quotas: &[Quota {
            bucket: Bucket::Requests,
            per_minute: 6000,
            metric: "Requests",
            metric_id: "monitoring.googleapis.com/default_requests",
            limit: "Requests per minute",
            limit_id: "DefaultRequestsPerMinutePerProject",
        }],
        refusal: Refusal::Aip,
    },
    Profile {
        api: "bigquery",
        service: "bigquery.googleapis.com",
        read: ms(100.0, 500.0),
        write: ms(300.0, 1500.0),
        // BigQuery's quotas page: "API requests per second per user per method: 100", taken
        // here per project per minute.
        quotas: &[Quota {
            bucket: Bucket::Requests,
            per_minute: 6000,
            metric: "API requests",
            metric_id: "bigquery.googleapis.com/api_requests",
            limit: "API requests per minute",
            limit_id: "ApiRequestsPerMinutePerProject",
        }],
        refusal: Refusal::Legacy403,
    },
    Profile {
        api: "vpcaccess",
        service: "vpcaccess.googleapis.com",
        read: ms(100.0, 500.0),
        write: ms(300.0, 1500.0),
        // ASSUMED: not published on a quotas page.
        quotas: &[
            Quota {
                bucket: Bucket::Read,
                per_minute: 600,
                metric: "Read requests",
                metric_id: "vpcaccess.googleapis.com/read_requests",
                limit: "Read requests per minute",
                limit_id: "ReadRequestsPerMinutePerProject",
            },
            Quota {
                bucket: Bucket::Write,
                per_minute: 60,
                metric: "Write requests",
                metric_id: "vpcaccess.googleapis.com/write_requests",
                limit: "Write requests per minute",
                limit_id: "WriteRequestsPerMinutePerProject",
            },
        ],
        refusal: Refusal::Aip,
    },
    Profile {
        api: "cloudresourcemanager",
        service: "cloudresourcemanager.googleapis.com",
        read: ms(60.0, 300.0),
        write: ms(200.0, 1000.0),
        // ASSUMED: Resource Manager's read quota.
        quotas: &[Quota {
            bucket: Bucket::Read,
            per_minute: 600,
            metric: "Read requests",
            metric_id: "cloudresourcemanager.googleapis.com/project_v3_get_requests",
            limit: "Read requests per minute",
            limit_id: "ReadRequestsPerMinutePerProject",
        }],
        refusal: Refusal::Aip,
    },
];

fn profile(api: &str) -> Option<&'static Profile> {
    PROFILES.iter().find(|p| p.api == api)
}

/// Which quota bucket a request is counted in.
pub fn bucket_for(api: &str, method: &Method, path: &str) -> Bucket {
    let read = *method == Method::GET;
    match api {
        "compute" => {
            // compute/v1/projects/{p}/…
            let rest: Vec<&str> = path.split('/').skip(4).collect();
            if rest.contains(&"operations") {
                Bucket::OperationRead
            } else if !read {
                Bucket::Write
            } else if matches!(
                rest.as_slice(),
                ["global", _] | ["regions", _, _] | ["zones", _, _] | ["aggregated", ..]
            ) {
                Bucket::List
            } else {
                Bucket::Read
            }
        }
        "secretmanager" if path.ends_with(":access") => Bucket::Access,
        _ if read => Bucket::Read,
        _ => Bucket::Write,
    }
}

/// The project segment of a Google path (`…/projects/{p}/…`).
pub fn project_of(path: &str) -> Option<&str> {
    let mut segs = path.split('/');
    segs.by_ref().find(|s| *s == "projects")?;
    segs.next().map(|p| p.split(':').next().unwrap_or(p)).filter(|p| !p.is_empty())
}

/// How long a long-running operation started by this request takes in real time: median and
/// 99th percentile, seconds.
fn operation_spread(api: &str, method: &Method, path: &str) -> (f64, f64) {
    let segs: Vec<&str> = path.split('/').collect();
    let after_project: Vec<&str> = match segs.iter().position(|s| *s == "projects") {
        Some(i) => segs[i + 2..].to_vec(),
        None => Vec::new(),
    };
    let deleting = *method == Method::DELETE;
    match api {
        // Compute's global and regional resources finish in seconds to tens of seconds
        // (ASSUMED from apply logs' "Creation complete after Ns"; the provider allows 20 min).
        "compute" => {
            let collection = match after_project.as_slice() {
                ["global", c, ..] => *c,
                ["regions", _, c, ..] | ["zones", _, c, ..] => *c,
                _ => "",
            };
            match collection {
                "healthChecks" | "sslCertificates" | "addresses" | "networkEndpointGroups" => (6.0, 20.0),
                "urlMaps" | "targetHttpsProxies" | "targetHttpProxies" => (10.0, 30.0),
                "backendServices" | "forwardingRules" | "globalForwardingRules" => (20.0, 60.0),
                "networks" => (25.0, 60.0),
                "subnetworks" => (15.0, 45.0),
                _ => (10.0, 30.0),
            }
        }
        "sqladmin" => {
            let rest: Vec<&str> = after_project.iter().copied().filter(|s| !s.is_empty()).collect();
            match rest.as_slice() {
                // Creating an instance: "taking 15-20 minutes is normal for this resource"
                // (terraform-provider-google#14770); 7–14 minutes in us-east1
                // (terraform-provider-google#1318); db-f1-micro ~25 minutes
                // (terraform-google-sql-db#425); the provider's default timeout went from 30 to
                // 40 to 90 minutes (magic-modules#7118, #10960).
                ["instances"] if *method == Method::POST => (12.0 * 60.0, 30.0 * 60.0),
                // ASSUMED: deleting an instance takes a few minutes.
                ["instances", _] if deleting => (2.0 * 60.0, 6.0 * 60.0),
                // ASSUMED: a settings change that restarts the instance.
                ["instances", _] => (3.0 * 60.0, 10.0 * 60.0),
                // ASSUMED: databases and users take seconds.
                _ => (10.0, 40.0),
            }
        }
        // ASSUMED: a connector's create starts VMs, minutes (the provider allows 20 min).
        "vpcaccess" if deleting => (2.0 * 60.0, 5.0 * 60.0),
        "vpcaccess" => (2.5 * 60.0, 6.0 * 60.0),
        // ASSUMED: a Cloud Run service becomes ready when its first revision starts, under a
        // minute usually and a few at worst (the provider allows 20 min).
        "run" if deleting => (10.0, 30.0),
        "run" => (40.0, 3.0 * 60.0),
        _ => (10.0, 30.0),
    }
}

/// A log-normal draw with this median and 99th percentile (z of 0.99 is 2.326).
fn log_normal(rng: &mut impl Rng, median: f64, p99: f64) -> f64 {
    let sigma = (p99 / median).ln().max(0.0) / 2.326;
    // Box–Muller: rand_distr is not in the lockfile and the standard normal is two lines.
    let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
    let u2: f64 = rng.gen();
    let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
    median * (sigma * z).exp()
}

/// Requests and quota refusals of one API.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApiCounts {
    pub requests: u64,
    /// Refused for an exhausted rate quota (429, or Compute's and BigQuery's 403).
    pub throttled: u64,
}

/// A quota refusal: the HTTP status and the body the real API sends. The real front end sends
/// no `Retry-After` header and no google.rpc.RetryInfo for rate quotas (Logging documents
/// that no rate-limit headers are sent; GoogleCloudPlatform/esp-v2#498 asks for Retry-After
/// and was told the quota backend cannot give one): a client learns only that the window is
/// a minute.
#[derive(Debug, Clone, PartialEq)]
pub struct Refused {
    pub status: u16,
    pub body: Value,
}

/// Whose quota: (project number, API, bucket).
type QuotaKey = (String, &'static str, Bucket);
/// The current window's index (scaled minutes since the start) and the requests admitted in it.
type QuotaWindow = (u64, u64);

/// Realistic mode's state: the random stream, the quota windows, the counts.
pub(crate) struct Realistic {
    cfg: RealisticConfig,
    start: Instant,
    rng: Mutex<StdRng>,
    windows: Mutex<HashMap<QuotaKey, QuotaWindow>>,
    counts: Mutex<BTreeMap<String, ApiCounts>>,
}

impl Realistic {
    pub fn new(cfg: RealisticConfig) -> Self {
        Realistic {
            rng: Mutex::new(StdRng::seed_from_u64(cfg.seed)),
            cfg,
            start: Instant::now(),
            windows: Mutex::new(HashMap::new()),
            counts: Mutex::new(BTreeMap::new()),
        }
    }

    fn scaled(&self, real_seconds: f64) -> Duration {
        Duration::from_secs_f64((real_seconds * self.cfg.time_scale).max(0.0))
    }

    /// One quota window (a scaled minute).
    pub fn window(&self) -> Duration {
        self.scaled(60.0)
    }

    /// The limit of one bucket after overrides and the quota scale; None when the API has no
    /// such quota.
    fn limit(&self, api: &str, bucket: Bucket) -> Option<(u64, &'static Quota)> {
        let quota = profile(api)?.quotas.iter().find(|q| q.bucket == bucket)?;
        let overridden = self.cfg.quota_overrides.iter().rev().find(|o| o.api == api && o.bucket == bucket);
        let limit = match overridden {
            Some(o) => o.per_minute,
            None => ((quota.per_minute as f64 * self.cfg.quota_scale).round() as u64).max(1),
        };
        Some((limit, quota))
    }

    /// The bucket a request is counted in, falling back to the API's single bucket.
    fn quota_for(&self, api: &str, method: &Method, path: &str) -> Option<(u64, &'static Quota)> {
        let bucket = bucket_for(api, method, path);
        self.limit(api, bucket).or_else(|| self.limit(api, Bucket::Requests))
    }

    /// Counts the request against its project's quota at `now`; refuses it when the current
    /// window's limit is reached. Refused requests do not use quota.
    pub fn admit(
        &self,
        api: &'static str,
        method: &Method,
        path: &str,
        project_number: Option<&str>,
        now: Instant,
    ) -> Result<(), Refused> {
        let refused = self.check_quota(api, method, path, project_number, now);
        let mut counts = lock(&self.counts);
        let c = counts.entry(api.to_string()).or_default();
        c.requests += 1;
        if refused.is_err() {
            c.throttled += 1;
        }
        refused
    }

    fn check_quota(
        &self,
        api: &'static str,
        method: &Method,
        path: &str,
        project_number: Option<&str>,
        now: Instant,
    ) -> Result<(), Refused> {
        let (Some(project), Some((limit, quota))) = (project_number, self.quota_for(api, method, path)) else {
            return Ok(());
        };
        // Fixed windows, synchronized (Compute's quota page: a project that reaches its limit
        // at 10:00:15 gets its quota back at 10:01:00, not a minute after the refusal).
        let window = self.window().as_nanos().max(1);
        let index = (now.saturating_duration_since(self.start).as_nanos() / window) as u64;
        let mut windows = lock(&self.windows);
        let slot = windows.entry((project.to_string(), api, quota.bucket)).or_insert((index, 0));
        if slot.0 != index {
            *slot = (index, 0);
        }
        if slot.1 >= limit {
            let profile = profile(api).expect("a quota comes from a profile");
            return Err(refusal(profile, quota, limit, project));
        }
        slot.1 += 1;
        Ok(())
    }

    /// The scaled latency of one request, drawn from its API's distribution.
    pub fn latency(&self, api: &str, method: &Method) -> Duration {
        let Some(p) = profile(api) else { return Duration::ZERO };
        let spread = if *method == Method::GET { p.read } else { p.write };
        let ms = log_normal(&mut *lock(&self.rng), spread.median, spread.p99);
        self.scaled(ms / 1000.0)
    }

    /// The scaled duration of the operation this request starts (if it starts one), drawn
    /// from its type's distribution with `fingerprint` (the request's own hash) as the seed.
    pub fn operation_duration(&self, api: &str, method: &Method, path: &str, fingerprint: u64) -> Duration {
        let (median, p99) = operation_spread(api, method, path);
        let mut rng = StdRng::seed_from_u64(self.cfg.seed ^ fingerprint);
        self.scaled(log_normal(&mut rng, median, p99))
    }

    pub fn counts(&self) -> BTreeMap<String, ApiCounts> {
        lock(&self.counts).clone()
    }

    pub fn reset_counts(&self) {
        lock(&self.counts).clear();
    }
}

/// A stable hash of a request (method, path, query, body): the seed of its operation's
/// duration, so the same stack draws the same durations in every run.
pub fn fingerprint(method: &Method, path: &str, query: &str, body: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    method.as_str().hash(&mut h);
    path.hash(&mut h);
    query.hash(&mut h);
    body.hash(&mut h);
    h.finish()
}

/// The body the real API answers an exhausted rate quota with.
fn refusal(profile: &Profile, quota: &Quota, limit: u64, project_number: &str) -> Refused {
    let message = format!(
        "Quota exceeded for quota metric '{}' and limit '{}' of service '{}' for consumer 'project_number:{}'.",
        quota.metric, quota.limit, profile.service, project_number
    );
    // google.rpc.ErrorInfo as the API front end attaches it, and its Help link.
    let details = json!([
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "RATE_LIMIT_EXCEEDED",
            "domain": "googleapis.com",
            "metadata": {
                "service": profile.service,
                "consumer": format!("projects/{project_number}"),
                "quota_metric": quota.metric_id,
                "quota_limit": quota.limit_id,
                "quota_limit_value": limit.to_string(),
                "quota_location": "global",
                "quota_unit": "1/min/{project}",
            }
        },
        {
            "@type": "type.googleapis.com/google.rpc.Help",
            "links": [{
                "description": "Request a higher quota limit.",
                "url": "https://cloud.google.com/docs/quotas/help/request_increase"
            }]
        }
    ]);
    match profile.refusal {
        Refusal::Aip => Refused {
            status: 429,
            body: json!({"error": {"code": 429, "message": message, "status": "RESOURCE_EXHAUSTED", "details": details}}),
        },
        Refusal::Legacy429 => Refused {
            status: 429,
            body: json!({"error": {
                "code": 429,
                "message": message,
                "errors": [{"message": message, "domain": "usageLimits", "reason": "rateLimitExceeded"}],
                "status": "RESOURCE_EXHAUSTED",
                "details": details,
            }}),
        },
        Refusal::Legacy403 => Refused {
            status: 403,
            body: json!({"error": {
                "code": 403,
                "message": message,
                "errors": [{"message": message, "domain": "usageLimits", "reason": "rateLimitExceeded"}],
                "status": "PERMISSION_DENIED",
                "details": details,
            }}),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn realistic(cfg: RealisticConfig) -> Realistic {
        cfg.validate().expect("valid");
        Realistic::new(cfg)
    }

    #[test]
    fn latencies_vary_follow_their_median_and_repeat_with_the_seed() {
        let draw = |seed| {
            let r = realistic(RealisticConfig { seed, ..RealisticConfig::default() });
            (0..2000).map(|_| r.latency("secretmanager", &Method::POST)).collect::<Vec<_>>()
        };
        let a = draw(7);
        assert_eq!(a, draw(7), "the same seed draws the same latencies");
        assert_ne!(a, draw(8), "another seed draws others");
        let mut sorted = a.clone();
        sorted.sort();
        assert!(sorted[0] < sorted[1999] / 4, "not constant: {:?} .. {:?}", sorted[0], sorted[1999]);
        let median = sorted[1000].as_secs_f64() * 1000.0;
        assert!((70.0..115.0).contains(&median), "Secret Manager writes have a 90 ms median, drew {median} ms");
        let p99 = sorted[1980].as_secs_f64() * 1000.0;
        assert!((300.0..650.0).contains(&p99), "and a 450 ms p99, drew {p99} ms");
        // Reads are faster than writes.
        let r = realistic(RealisticConfig::default());
        let reads: Duration = (0..500).map(|_| r.latency("secretmanager", &Method::GET)).sum();
        let writes: Duration = (0..500).map(|_| r.latency("secretmanager", &Method::POST)).sum();
        assert!(reads < writes);
    }

    #[test]
    fn the_time_scale_compresses_latency_operations_and_windows_together() {
        let real = realistic(RealisticConfig { seed: 3, ..RealisticConfig::default() });
        let fast = realistic(RealisticConfig { seed: 3, time_scale: 0.01, ..RealisticConfig::default() });
        let a = real.latency("compute", &Method::GET);
        let b = fast.latency("compute", &Method::GET);
        assert!((b.as_secs_f64() - a.as_secs_f64() * 0.01).abs() < 1e-6, "{a:?} vs {b:?}");
        let path = "compute/v1/projects/p/global/healthChecks";
        let op_real = real.operation_duration("compute", &Method::POST, path, 42);
        let op_fast = fast.operation_duration("compute", &Method::POST, path, 42);
        assert!((op_fast.as_secs_f64() - op_real.as_secs_f64() * 0.01).abs() < 1e-6);
        assert_eq!(real.window(), Duration::from_secs(60));
        assert_eq!(fast.window(), Duration::from_millis(600));
    }

    #[test]
    fn operation_durations_follow_the_resource_type_and_repeat_for_the_same_request() {
        let r = realistic(RealisticConfig::default());
        let median = |api: &str, method: Method, path: &str| {
            let mut d: Vec<f64> = (0..301u64)
                .map(|i| {
                    r.operation_duration(api, &method, path, fingerprint(&method, path, "", &i.to_le_bytes()))
                        .as_secs_f64()
                })
                .collect();
            d.sort_by(f64::total_cmp);
            d[150]
        };
        let sql = median("sqladmin", Method::POST, "v1/projects/p/instances");
        let sql_db = median("sqladmin", Method::POST, "v1/projects/p/instances/db/databases");
        let connector = median("vpcaccess", Method::POST, "v1/projects/p/locations/us-central1/connectors");
        let run = median("run", Method::POST, "v2/projects/p/locations/us-central1/services");
        let backend = median("compute", Method::POST, "compute/v1/projects/p/global/backendServices");
        let hc = median("compute", Method::POST, "compute/v1/projects/p/global/healthChecks");
        assert!((600.0..900.0).contains(&sql), "a Cloud SQL instance takes about 12 minutes: {sql}");
        assert!(sql_db < 30.0, "a database seconds: {sql_db}");
        assert!((100.0..200.0).contains(&connector), "a connector minutes: {connector}");
        assert!((25.0..60.0).contains(&run), "a Cloud Run service under a minute: {run}");
        assert!(hc < backend && backend < run && run < connector && connector < sql);
        // The same request (a create with the same body) draws the same duration.
        let f = fingerprint(&Method::POST, "v1/projects/p/instances", "", br#"{"name":"db"}"#);
        assert_eq!(
            r.operation_duration("sqladmin", &Method::POST, "v1/projects/p/instances", f),
            realistic(RealisticConfig::default()).operation_duration(
                "sqladmin",
                &Method::POST,
                "v1/projects/p/instances",
                f
            )
        );
    }

    #[test]
    fn requests_fall_into_the_documented_buckets() {
        let get = Method::GET;
        let post = Method::POST;
        assert_eq!(bucket_for("compute", &get, "compute/v1/projects/p/global/healthChecks"), Bucket::List);
        assert_eq!(bucket_for("compute", &get, "compute/v1/projects/p/global/healthChecks/hc"), Bucket::Read);
        assert_eq!(bucket_for("compute", &post, "compute/v1/projects/p/global/healthChecks"), Bucket::Write);
        assert_eq!(bucket_for("compute", &Method::DELETE, "compute/v1/projects/p/global/urlMaps/u"), Bucket::Write);
        assert_eq!(bucket_for("compute", &get, "compute/v1/projects/p/global/operations/op-1"), Bucket::OperationRead);
        assert_eq!(
            bucket_for("compute", &post, "compute/v1/projects/p/regions/r/operations/op-1/wait"),
            Bucket::OperationRead
        );
        assert_eq!(bucket_for("compute", &get, "compute/v1/projects/p/regions/r/subnetworks"), Bucket::List);
        assert_eq!(bucket_for("secretmanager", &get, "v1/projects/p/secrets/s/versions/latest:access"), Bucket::Access);
        assert_eq!(bucket_for("secretmanager", &get, "v1/projects/p/secrets/s"), Bucket::Read);
        assert_eq!(bucket_for("secretmanager", &post, "v1/projects/p/secrets/s:addVersion"), Bucket::Write);
        assert_eq!(project_of("v1/projects/p/secrets/s:addVersion"), Some("p"));
        assert_eq!(project_of("v3/projects/acme:getIamPolicy"), Some("acme"));
        assert_eq!(project_of("nothing/here"), None);
    }

    #[test]
    fn a_bucket_refills_at_the_next_scaled_minute_and_buckets_are_separate() {
        let cfg = RealisticConfig {
            time_scale: 0.01,
            quota_overrides: vec!["secretmanager:write=3".parse().unwrap(), "secretmanager:read=2".parse().unwrap()],
            ..RealisticConfig::default()
        };
        let r = realistic(cfg);
        let t0 = r.start;
        let write = |at: Instant| r.admit("secretmanager", &Method::POST, "v1/projects/p/secrets", Some("1"), at);
        let read = |at: Instant| r.admit("secretmanager", &Method::GET, "v1/projects/p/secrets/s", Some("1"), at);
        for _ in 0..3 {
            write(t0).expect("within the write quota");
        }
        let refused = write(t0 + Duration::from_millis(100)).expect_err("the fourth write in the window");
        assert_eq!(refused.status, 429);
        // Reads have their own bucket, other projects their own quota.
        read(t0).expect("reads are counted apart");
        read(t0).expect("reads are counted apart");
        read(t0).expect_err("the third read");
        r.admit("secretmanager", &Method::POST, "v1/projects/q/secrets", Some("2"), t0).expect("another project");
        // A window is a scaled minute (0.6 s): at 0.59 s still refused, at 0.6 s refilled.
        write(t0 + Duration::from_millis(590)).expect_err("same window");
        write(t0 + Duration::from_millis(600)).expect("the next window refills the bucket");
        let counts = r.counts();
        assert_eq!(counts["secretmanager"], ApiCounts { requests: 10, throttled: 3 });
    }

    #[test]
    fn quota_scale_lowers_the_defaults_and_overrides_win() {
        let r = realistic(RealisticConfig {
            quota_scale: 0.1,
            quota_overrides: vec!["compute:read=7".parse().unwrap()],
            ..RealisticConfig::default()
        });
        assert_eq!(r.limit("compute", Bucket::Write).map(|l| l.0), Some(150));
        assert_eq!(r.limit("compute", Bucket::OperationRead).map(|l| l.0), Some(300));
        assert_eq!(r.limit("compute", Bucket::Read).map(|l| l.0), Some(7));
        assert_eq!(r.limit("secretmanager", Bucket::Write).map(|l| l.0), Some(60));
        // An API with one bucket counts everything in it.
        let q = r.quota_for("monitoring", &Method::POST, "v3/projects/p/alertPolicies").map(|l| l.1.bucket);
        assert_eq!(q, Some(Bucket::Requests));
    }

    #[test]
    fn refusals_carry_the_real_message_and_error_info() {
        let sm = profile("secretmanager").unwrap();
        let r = refusal(sm, &sm.quotas[2], 600, "123456789012");
        assert_eq!(r.status, 429);
        let e = &r.body["error"];
        assert_eq!(e["status"], "RESOURCE_EXHAUSTED");
        assert_eq!(
            e["message"],
            "Quota exceeded for quota metric 'Write requests' and limit 'Write requests per minute' of service \
             'secretmanager.googleapis.com' for consumer 'project_number:123456789012'."
        );
        assert_eq!(e["details"][0]["reason"], "RATE_LIMIT_EXCEEDED");
        assert_eq!(e["details"][0]["metadata"]["quota_limit_value"], "600");
        assert_eq!(e["details"][0]["metadata"]["consumer"], "projects/123456789012");
        let compute = profile("compute").unwrap();
        let r = refusal(compute, &compute.quotas[0], 1500, "1");
        assert_eq!(r.status, 403);
        assert_eq!(r.body["error"]["errors"][0]["reason"], "rateLimitExceeded");
        assert_eq!(r.body["error"]["errors"][0]["domain"], "usageLimits");
        assert!(r.body["error"]["message"].as_str().unwrap().contains("'Queries per minute'"));
    }

    #[test]
    fn bad_settings_are_refused_with_what_is_expected() {
        assert!("compute:write".parse::<QuotaOverride>().unwrap_err().contains("API:BUCKET=REQUESTS_PER_MINUTE"));
        assert!("compute:writes=1".parse::<QuotaOverride>().unwrap_err().contains("no quota bucket"));
        assert!("compute:write=x".parse::<QuotaOverride>().unwrap_err().contains("not a whole number"));
        assert!("compute:write=0".parse::<QuotaOverride>().unwrap_err().contains("at least 1"));
        let bad_api =
            RealisticConfig { quota_overrides: vec!["computer:write=1".parse().unwrap()], ..Default::default() };
        assert!(bad_api.validate().unwrap_err().contains("no API named \"computer\""));
        let bad_bucket =
            RealisticConfig { quota_overrides: vec!["compute:access=1".parse().unwrap()], ..Default::default() };
        assert!(bad_bucket.validate().unwrap_err().contains("compute has no access bucket"));
        assert!(RealisticConfig::scaled(0.0).validate().is_err());
        assert!(RealisticConfig::scaled(f64::NAN).validate().is_err());
    }
}
