//! Cairn's local Google Cloud emulator: a real HTTP server speaking the REST/JSON of the APIs
//! Cairn manages, faithful enough that the official SDK clients round-trip through it.
//!
//! - `server`: routing, request records, latency and fault injection, persistence hook.
//! - `api`: the `Api` trait each emulated API implements, the decoded request, pagination.
//! - `store`: resources by API and name, one monotonic generation (etags), the data file.
//! - `operations`: long-running operations that finish after `operation_duration`.
//! - `realistic`: realistic mode (`--realistic`): latency distributions, operation durations
//!   per resource type, per-project rate quotas answered with the real refusal, a time scale.
//! - `errors`: the AIP and legacy error envelopes; `enums`: string/int enum encoding; `mask`:
//!   update masks (parse, check, apply leaf by leaf);
//!   `filter`: list filters; `projects`: project ids and numbers; `scenario`: seeding;
//!   `discovery`: the resources' schemas (trimmed discovery documents), checking request bodies.
//! - One module per API: `secretmanager`, `vpcaccess`, `sqladmin`, `compute`, `logging`, `run`, `monitoring`,
//!   `bigquery`, `resourcemanager` (projects.get only).

pub mod api;
pub mod bigquery;
pub mod compute;
pub mod discovery;
pub mod enums;
pub mod errors;
pub mod filter;
pub mod logging;
pub mod mask;
pub mod monitoring;
pub mod operations;
pub mod projects;
pub mod realistic;
pub mod resourcemanager;
pub mod run;
pub mod scenario;
pub mod secretmanager;
pub mod server;
pub mod sqladmin;
pub mod store;
pub mod vpcaccess;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use server::{lock, Shared};
use store::Store;

#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Tests: 127.0.0.1:0.
    pub listen: SocketAddr,
    /// Loaded at start if present; saved (atomically) after every mutation.
    pub data_file: Option<PathBuf>,
    /// JSON file seeding resources at start (only when the data file is absent or empty).
    pub scenario: Option<PathBuf>,
    /// Added to every answer, after the request has taken effect.
    pub latency: Duration,
    /// 0.0..=1.0: the fraction of requests answered 429 or 503 before being processed.
    pub fault_rate: f64,
    /// How long long-running operations take (unless realistic mode draws them per type).
    pub operation_duration: Duration,
    /// Realistic mode; None (the default) answers as fast as it can.
    pub realistic: Option<realistic::RealisticConfig>,
}

impl EmulatorConfig {
    /// 127.0.0.1:0, no data file, no latency, no faults, operations 50 ms.
    pub fn for_tests() -> Self {
        EmulatorConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_file: None,
            scenario: None,
            latency: Duration::ZERO,
            fault_rate: 0.0,
            operation_duration: Duration::from_millis(50),
            realistic: None,
        }
    }

    /// The emulator `cairn --emulator` runs inside the command, with its data in `data_file`.
    pub fn embedded(data_file: PathBuf, scenario: Option<PathBuf>) -> Self {
        EmulatorConfig {
            // As in tests: only this process talks to it, so any free loopback port will do.
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            // Unlike tests: the emulated cloud outlives the command, so that plan, apply, drift
            // and check see the objects earlier commands made.
            data_file: Some(data_file),
            scenario,
            // As in tests: added latency and faults are for exercising retries on purpose
            // (`cairn emulator --latency --fault-rate`), never a surprise for a user.
            latency: Duration::ZERO,
            fault_rate: 0.0,
            // Unlike tests (50 ms, for speed): long-running operations take long enough that a
            // user sees Cairn wait for them, as it does against Google Cloud; the same as the
            // standalone server's default.
            operation_duration: Duration::from_secs(2),
            // `--emulator-realistic` sets it.
            realistic: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("the emulator cannot listen on {addr}: {source} (is another process using the port?)")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error(transparent)]
    DataFile(#[from] store::PersistError),
    #[error("scenario file {path}: {message}")]
    Scenario { path: PathBuf, message: String },
    #[error("the fault rate must be between 0.0 and 1.0, not {0}")]
    FaultRate(f64),
    #[error("realistic mode: {0}")]
    Realistic(String),
    #[error("the emulator server failed: {0}")]
    Serve(std::io::Error),
}

/// One request the emulator served (bodies are deliberately not kept: they carry secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    pub method: String,
    /// The path as sent (not decoded), e.g. `/v1/projects/p/secrets/s:addVersion`.
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    pub status: u16,
    /// Answered by fault injection without being processed.
    pub faulted: bool,
}

pub struct Emulator;

impl Emulator {
    pub async fn start(cfg: EmulatorConfig) -> Result<EmulatorHandle, EmulatorError> {
        if !(0.0..=1.0).contains(&cfg.fault_rate) {
            return Err(EmulatorError::FaultRate(cfg.fault_rate));
        }
        if let Some(r) = &cfg.realistic {
            r.validate().map_err(EmulatorError::Realistic)?;
        }
        let apis = server::apis();
        let loaded = match &cfg.data_file {
            Some(path) => Store::load(path)?,
            None => None,
        };
        let mut store = loaded.unwrap_or_else(Store::new);
        if store.is_empty() {
            if let Some(path) = &cfg.scenario {
                let scenario_error = |message: String| EmulatorError::Scenario { path: path.clone(), message };
                let scenario = scenario::Scenario::load(path).map_err(scenario_error)?;
                let mut ctx =
                    api::Ctx { store: &mut store, operation_duration: cfg.operation_duration, now: chrono::Utc::now() };
                scenario.apply(&mut ctx, &apis).map_err(scenario_error)?;
            }
        }
        let mut shared =
            Shared::new(store, apis, cfg.fault_rate, cfg.latency, cfg.operation_duration, cfg.data_file.clone());
        shared.realistic = cfg.realistic.clone().map(realistic::Realistic::new);
        let shared = Arc::new(shared);
        {
            let mut store = lock(&shared.store);
            shared.persist_locked(&mut store).map_err(|e| EmulatorError::Serve(std::io::Error::other(e.message)))?;
        }

        let listener = tokio::net::TcpListener::bind(cfg.listen)
            .await
            .map_err(|source| EmulatorError::Bind { addr: cfg.listen, source })?;
        let addr = listener.local_addr().map_err(|source| EmulatorError::Bind { addr: cfg.listen, source })?;
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let app = server::router(shared.clone());
        let task = tokio::spawn(async move {
            server::serve_connections(listener, app, stop_rx, server::HEADER_READ_TIMEOUT).await
        });
        Ok(EmulatorHandle {
            shared,
            addr,
            control: Arc::new(Mutex::new(Control { stop: Some(stop_tx), task: Some(task) })),
        })
    }
}

struct Control {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// A running emulator. Clones share it; `shutdown` on any clone stops it for all.
#[derive(Clone)]
pub struct EmulatorHandle {
    shared: Arc<Shared>,
    addr: SocketAddr,
    control: Arc<Mutex<Control>>,
}

impl std::fmt::Debug for EmulatorHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorHandle").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl EmulatorHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, for an SDK client's `with_endpoint`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request served, in order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        lock(&self.shared.records).iter().cloned().collect()
    }

    pub fn clear_requests(&self) {
        lock(&self.shared.records).clear();
    }

    /// Realistic mode's requests and quota refusals per API since the start or the last
    /// reset (unlike the request records, never trimmed); None outside realistic mode.
    pub fn realistic_counts(&self) -> Option<std::collections::BTreeMap<String, realistic::ApiCounts>> {
        self.shared.realistic.as_ref().map(|r| r.counts())
    }

    pub fn reset_realistic_counts(&self) {
        if let Some(r) = &self.shared.realistic {
            r.reset_counts();
        }
    }

    /// Clamped to 0.0..=1.0.
    pub fn set_fault_rate(&self, rate: f64) {
        self.shared.set_fault_rate(rate);
    }

    /// Delays every answer by `d`, after its request has taken effect.
    pub fn set_latency(&self, d: Duration) {
        self.shared.set_latency(d);
    }

    /// The names of what the emulated cloud holds in `api` (e.g. "secretmanager"), projects
    /// by number: what a test watches to act between a change and its answer.
    pub fn names(&self, api: &str) -> Vec<String> {
        lock(&self.shared.store).all(api).map(|(name, _)| name.clone()).collect()
    }

    /// Stops accepting requests, lets requests in flight finish (for at most two seconds) and
    /// saves the data file.
    pub async fn shutdown(self) {
        let (stop, task) = {
            let mut control = lock(&self.control);
            (control.stop.take(), control.task.take())
        };
        if let Some(stop) = stop {
            let _ = stop.send(());
        }
        if let Some(mut task) = task {
            if tokio::time::timeout(Duration::from_secs(2), &mut task).await.is_err() {
                // Idle keep-alive connections can hold a graceful shutdown open.
                task.abort();
                let _ = task.await;
            }
        }
        let mut store = lock(&self.shared.store);
        let _ = self.shared.persist_locked(&mut store);
    }
}

/// Runs an emulator until `shutdown` resolves (for `cairn emulator`: on SIGINT or SIGTERM), then
/// stops it gracefully, persisting its data.
pub async fn serve(cfg: EmulatorConfig, shutdown: impl std::future::Future<Output = ()>) -> Result<(), EmulatorError> {
    let handle = Emulator::start(cfg).await?;
    eprintln!("Cairn emulator listening on {}", handle.endpoint());
    shutdown.await;
    if let Some(counts) = handle.realistic_counts() {
        // What a benchmark against the standalone server reads off: load and refusals per API.
        eprintln!("{:<22} {:>10} {:>10}", "API", "requests", "throttled");
        for (api, c) in counts {
            eprintln!("{api:<22} {:>10} {:>10}", c.requests, c.throttled);
        }
    }
    handle.shutdown().await;
    Ok(())
}
