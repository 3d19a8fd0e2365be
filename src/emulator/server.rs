//! The HTTP side: one catch-all route (Google paths carry `:verb` suffixes that axum's path
//! patterns cannot express, so each API parses its own paths) behind a middleware that
//! records every request, adds latency and injects faults.
//!
//! Request and response bodies are never logged or recorded: secret payloads travel in them.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

use super::api::{percent_decode, Api, ApiRequest, Ctx, QueryParams};
use super::compute::Compute;
use super::errors::{self, ApiError, Envelope};
use super::logging::Logging;
use super::operations;
use super::realistic::{self, Realistic};
use super::secretmanager::SecretManager;
use super::store::{write_atomic, Store};
use super::RequestRecord;

/// Fixed so that a fault rate holds the same way run after run.
const FAULT_SEED: u64 = 0x00C0_FFEE_5EED;

/// Every API the emulator serves. Paths must not overlap (see `Api::claims`).
pub(crate) fn apis() -> Vec<Box<dyn Api>> {
    vec![
        Box::new(SecretManager),
        Box::new(super::vpcaccess::VpcAccess),
        Box::new(super::sqladmin::SqlAdmin),
        Box::new(Compute),
        Box::new(Logging),
        Box::new(super::run::Run),
        Box::new(super::monitoring::Monitoring),
        Box::new(super::bigquery::BigQuery),
        Box::new(super::resourcemanager::ResourceManager),
    ]
}

/// How many request records the emulator keeps: a long-running emulator (`cairn emulator`
/// serving a CI fleet) must not grow without bound, and tests look at recent requests only.
pub const MAX_REQUEST_RECORDS: usize = 10_000;

/// The longest a request may be held by `Api::hold_until` (compute's `wait` answers after
/// about two minutes even when the operation is not done).
const MAX_HOLD: Duration = Duration::from_secs(120);

pub(crate) struct Shared {
    pub store: Mutex<Store>,
    pub apis: Vec<Box<dyn Api>>,
    /// The most recent requests, oldest first, at most [`MAX_REQUEST_RECORDS`].
    pub records: Mutex<VecDeque<RequestRecord>>,
    fault_rate_bits: AtomicU64,
    latency_nanos: AtomicU64,
    rng: Mutex<StdRng>,
    pub operation_duration: Duration,
    pub data_file: Option<PathBuf>,
    /// Realistic mode (latency distributions, operation durations per type, rate quotas).
    pub realistic: Option<Realistic>,
}

/// A poisoned lock only means another request panicked mid-way; the data is still the best
/// we have, and an emulator that stops answering helps nobody.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    /// Keeps a request record, dropping the oldest beyond [`MAX_REQUEST_RECORDS`].
    pub fn record(&self, r: RequestRecord) {
        let mut records = lock(&self.records);
        if records.len() >= MAX_REQUEST_RECORDS {
            records.pop_front();
        }
        records.push_back(r);
    }

    pub fn new(
        store: Store,
        apis: Vec<Box<dyn Api>>,
        fault_rate: f64,
        latency: Duration,
        operation_duration: Duration,
        data_file: Option<PathBuf>,
    ) -> Self {
        let shared = Shared {
            store: Mutex::new(store),
            apis,
            records: Mutex::new(VecDeque::new()),
            fault_rate_bits: AtomicU64::new(0),
            latency_nanos: AtomicU64::new(0),
            rng: Mutex::new(StdRng::seed_from_u64(FAULT_SEED)),
            operation_duration,
            data_file,
            realistic: None,
        };
        shared.set_fault_rate(fault_rate);
        shared.set_latency(latency);
        shared
    }

    pub fn set_fault_rate(&self, rate: f64) {
        let rate = if rate.is_nan() { 0.0 } else { rate.clamp(0.0, 1.0) };
        self.fault_rate_bits.store(rate.to_bits(), Ordering::Relaxed);
    }

    pub fn fault_rate(&self) -> f64 {
        f64::from_bits(self.fault_rate_bits.load(Ordering::Relaxed))
    }

    pub fn set_latency(&self, d: Duration) {
        self.latency_nanos.store(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    fn latency(&self) -> Duration {
        Duration::from_nanos(self.latency_nanos.load(Ordering::Relaxed))
    }

    fn api_for(&self, path: &str) -> Option<&dyn Api> {
        self.apis.iter().find(|a| a.claims(path)).map(|a| a.as_ref())
    }

    /// Writes the data file if anything changed. Called with the store locked, so writes
    /// happen in the order the changes did.
    pub fn persist_locked(&self, store: &mut Store) -> Result<(), ApiError> {
        if !store.take_dirty() {
            return Ok(());
        }
        let Some(path) = &self.data_file else {
            return Ok(());
        };
        write_atomic(path, &store.to_bytes()).map_err(|e| {
            // Keep it dirty so the next request tries again.
            store.mark_dirty();
            errors::internal(format!("The Cairn emulator could not save its data: {e}"))
        })
    }
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .fallback(dispatch)
        .layer(middleware::from_fn_with_state(shared.clone(), record_and_inject))
        .with_state(shared)
}

/// The path as an API sees it: decoded, without the leading slash.
fn api_path(uri: &Uri) -> String {
    percent_decode(uri.path().trim_start_matches('/'), false)
}

async fn record_and_inject(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();

    // Realistic mode: the rate quota is checked first, as Google's front end checks it
    // before the API sees the request; a refusal changes nothing.
    let realistic = shared.realistic.as_ref().and_then(|r| {
        let api = shared.api_for(&api_path(req.uri()))?;
        Some((r, api.name()))
    });
    let mut realistic_latency = Duration::ZERO;
    if let Some((r, api)) = realistic {
        realistic_latency = r.latency(api, req.method());
        let decoded = api_path(req.uri());
        let project = realistic::project_of(&decoded).map(|p| lock(&shared.store).projects.number_for(p));
        if let Err(refused) = r.admit(api, req.method(), &decoded, project.as_deref(), std::time::Instant::now()) {
            tokio::time::sleep(realistic_latency).await;
            let status = StatusCode::from_u16(refused.status).unwrap_or(StatusCode::TOO_MANY_REQUESTS);
            let response = json_response(status, &refused.body);
            shared.record(RequestRecord { method, path, query, status: refused.status, faulted: false });
            return response;
        }
    }

    let fault = {
        let rate = shared.fault_rate();
        let mut rng = lock(&shared.rng);
        // Draw on every request so a rate changed mid-run still holds statistically.
        let roll: f64 = rng.gen();
        let exhausted: bool = rng.gen_bool(0.5);
        (roll < rate).then_some(exhausted)
    };
    let (response, faulted) = match fault {
        Some(exhausted) => {
            let envelope = shared.api_for(&api_path(req.uri())).map_or(Envelope::Aip, |a| a.envelope());
            let error = if exhausted {
                errors::resource_exhausted("Quota exceeded (a fault injected by the Cairn emulator); retry later.")
            } else {
                errors::unavailable("The service is currently unavailable (a fault injected by the Cairn emulator).")
            };
            (error_response(&error, envelope), true)
        }
        None => (next.run(req).await, false),
    };
    // The delay comes after the request took effect, before its answer: a client that gives
    // up or is killed meanwhile leaves the change made and unseen, as a lost answer does in
    // the cloud (what recovery after a kill must cope with).
    let latency = shared.latency() + realistic_latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    shared.record(RequestRecord { method, path, query, status: response.status().as_u16(), faulted });
    response
}

async fn dispatch(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    let path = api_path(&uri);
    let query = QueryParams::parse(uri.query().unwrap_or(""));
    let Some(api) = shared.api_for(&path) else {
        let error = errors::not_found(format!("The Cairn emulator serves no API at {} /{path}.", method));
        return error_response(&error, Envelope::Aip);
    };
    let if_match = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()).map(str::to_string);
    let request = ApiRequest { method, path, enum_ints: query.wants_enum_ints(), query, body: body.to_vec(), if_match };
    // In realistic mode each operation lasts what its resource type takes, drawn from the
    // request itself so that the same stack gets the same durations run after run.
    let operation_duration = match &shared.realistic {
        Some(r) => {
            let fingerprint =
                realistic::fingerprint(&request.method, &request.path, uri.query().unwrap_or(""), &request.body);
            r.operation_duration(api.name(), &request.method, &request.path, fingerprint)
        }
        None => shared.operation_duration,
    };
    let hold = api.hold_until(&lock(&shared.store), &request);
    if let Some(until) = hold {
        let wait = (until - chrono::Utc::now()).to_std().unwrap_or_default().min(MAX_HOLD);
        tokio::time::sleep(wait).await;
    }
    let result = {
        let mut store = lock(&shared.store);
        let now = chrono::Utc::now();
        operations::settle_due(&mut store, now);
        let result = {
            let mut ctx = Ctx { store: &mut store, operation_duration, now };
            api.handle(&mut ctx, &request)
        };
        match shared.persist_locked(&mut store) {
            Ok(()) => result,
            Err(e) => Err(e),
        }
    };
    match result {
        Ok(value) => json_response(StatusCode::OK, &value),
        Err(error) => error_response(&error, api.envelope()),
    }
}

pub(crate) fn error_response(error: &ApiError, envelope: Envelope) -> Response {
    let status = StatusCode::from_u16(error.http_status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(status, &error.body(envelope))
}

fn json_response(status: StatusCode, value: &Value) -> Response {
    let bytes = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/json; charset=UTF-8"));
    response
}

/// How long a connection may take to send a request's headers before it is closed: a client
/// that opens connections and never finishes them must not hold them (and their tasks) open.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves `app` on `listener` until `stop` fires, then lets connections in flight finish.
/// What `axum::serve` does, plus [`HEADER_READ_TIMEOUT`] (`header_timeout` in tests).
pub async fn serve_connections(
    listener: tokio::net::TcpListener,
    app: Router,
    stop: tokio::sync::oneshot::Receiver<()>,
    header_timeout: Duration,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    use hyper_util::service::TowerToHyperService;

    let (stopping_tx, stopping_rx) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    let mut stop = std::pin::pin!(stop);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // Out of file descriptors and the like: wait a little, as axum does.
                Err(_) => { tokio::time::sleep(Duration::from_millis(50)).await; continue; }
            },
            _ = &mut stop => break,
        };
        let service = TowerToHyperService::new(app.clone());
        let mut stopping = stopping_rx.clone();
        connections.spawn(async move {
            let mut builder = Builder::new(TokioExecutor::new());
            builder.http1().timer(TokioTimer::new()).header_read_timeout(header_timeout);
            let mut conn = std::pin::pin!(builder.serve_connection_with_upgrades(TokioIo::new(stream), service));
            loop {
                tokio::select! {
                    _ = conn.as_mut() => break,
                    _ = stopping.changed() => conn.as_mut().graceful_shutdown(),
                }
            }
        });
        // Reap finished connections so the set does not grow with every one served.
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let _ = stopping_tx.send(true);
    while connections.join_next().await.is_some() {}
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_records_are_a_bounded_ring() {
        let shared = Shared::new(Store::new(), Vec::new(), 0.0, Duration::ZERO, Duration::ZERO, None);
        for i in 0..MAX_REQUEST_RECORDS + 5 {
            shared.record(RequestRecord {
                method: "GET".into(),
                path: format!("/r/{i}"),
                query: String::new(),
                status: 200,
                faulted: false,
            });
        }
        let records = lock(&shared.records);
        assert_eq!(records.len(), MAX_REQUEST_RECORDS);
        assert_eq!(records.front().map(|r| r.path.as_str()), Some("/r/5"), "the oldest are dropped");
        assert_eq!(records.back().map(|r| r.path.clone()), Some(format!("/r/{}", MAX_REQUEST_RECORDS + 4)));
    }

    /// A client that sends half a request line and stops is disconnected after the header
    /// timeout; a complete request on another connection is still answered.
    #[tokio::test]
    async fn connections_that_never_finish_their_headers_are_closed() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let shared = Arc::new(Shared::new(Store::new(), apis(), 0.0, Duration::ZERO, Duration::ZERO, None));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
        let server = tokio::spawn(serve_connections(listener, router(shared), stop_rx, Duration::from_millis(300)));

        let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
        slow.write_all(b"GET /v1/projects/p/secrets HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        let mut buf = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut buf)).await;
        assert!(closed.is_ok(), "the half-open request was never cut off");

        let mut ok = tokio::net::TcpStream::connect(addr).await.unwrap();
        ok.write_all(b"GET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
        let mut answer = String::new();
        ok.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");

        stop_tx.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(5), server).await.unwrap().unwrap().unwrap();
    }
}
