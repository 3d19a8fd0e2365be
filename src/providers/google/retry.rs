//! Retries as terraform-provider-google does them (`transport/error_retry_predicates.go`),
//! done here rather than in the SDK so the rules, the backoff and the deadline are Terraform's
//! and so that non-idempotent calls can be retried only where it is safe.
//!
//! Retried: HTTP 429, 500, 502, 503; 409 whose body says `operationInProgress`; 403 per-minute
//! quota and `CONCURRENT_OPERATIONS_QUOTA_EXCEEDED`; 400 `resourceNotReady`; connection
//! failures. Each retry waits an exponentially growing, jittered delay, and the whole call
//! stops at the resource's timeout (the `timeouts` block or the type's default).
//!
//! How many attempts run at once is the API's [`super::limiter::AdaptiveLimiter`] (the
//! default), or with `--parallelism-fixed` a fixed semaphore, as in Terraform.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use google_cloud_gax::error::Error as GaxError;
use rand::Rng as _;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::errors::{api_error, error_text, http_status};
use super::limiter::{is_quota_error, AdaptiveLimiter, Concurrency, Signal};
use crate::providers::ProviderError;

/// What a failed attempt means for trying again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// Trying again gives the same answer.
    Permanent,
    /// Refused before it was processed (rate limits, quota, another operation in progress, no
    /// connection): sending it again is safe even for a non-idempotent call.
    NotProcessed,
    /// It may or may not have taken effect (5xx, a dropped connection, a timed-out attempt):
    /// safe to resend only if the call is idempotent, or after checking what happened.
    Ambiguous,
}

/// Terraform's retry predicates, applied to an SDK error.
pub fn classify(e: &GaxError) -> Retry {
    if let Some(code) = http_status(e) {
        let text = || error_text(e);
        return match code {
            429 => Retry::NotProcessed,
            500 | 502 | 503 => Retry::Ambiguous,
            409 if text().contains("operationInProgress") => Retry::NotProcessed,
            403 if is_quota_error(e) => Retry::NotProcessed,
            400 if text().contains("resourceNotReady") => Retry::NotProcessed,
            _ => Retry::Permanent,
        };
    }
    if e.is_connect() || e.is_transient_and_before_rpc() {
        return Retry::NotProcessed;
    }
    if e.is_timeout() || e.is_io() || e.is_transport() {
        return Retry::Ambiguous;
    }
    Retry::Permanent
}

/// Exponential backoff with jitter: attempt `n` (0-based) waits a random time between half and
/// all of `initial × multiplier^n`, capped at `max`.
#[derive(Clone, Debug, PartialEq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
    pub multiplier: f64,
}

impl Backoff {
    /// Close to Terraform's Fibonacci sequence (0.5, 1, 1.5, 2.5, 4, 6.5, 10.5 s …).
    pub fn terraform() -> Self {
        Backoff { initial: Duration::from_millis(500), max: Duration::from_secs(16), multiplier: 1.6 }
    }
    /// The emulator answers in microseconds; waiting seconds would only slow tests and demos.
    pub fn emulator() -> Self {
        Backoff { initial: Duration::from_millis(10), max: Duration::from_millis(250), multiplier: 2.0 }
    }

    /// The upper bound of the delay before retry `attempt` (0-based).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = self.multiplier.max(1.0).powi(attempt.min(64) as i32);
        let secs = (self.initial.as_secs_f64() * factor).min(self.max.as_secs_f64());
        Duration::from_secs_f64(secs.max(0.0))
    }

    pub fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self.ceiling(attempt);
        let low = ceiling / 2;
        if ceiling <= low {
            return ceiling;
        }
        let span = (ceiling - low).as_nanos().min(u64::MAX as u128) as u64;
        low + Duration::from_nanos(rand::thread_rng().gen_range(0..=span))
    }
}

/// Runs calls to one API: bounded concurrency (a place per attempt, released while waiting
/// to retry or for an operation to progress) and Terraform's retry rules.
#[derive(Clone, Debug)]
pub struct Retrier {
    pub backoff: Backoff,
    limit: Limit,
}

#[derive(Clone, Debug)]
enum Limit {
    /// Terraform's: this many attempts at once, whatever the API answers.
    Fixed(Arc<Semaphore>),
    Adaptive(Arc<AdaptiveLimiter>),
}

/// In adaptive mode an API's limit may grow to this multiple of its fixed value: room for the
/// quota to decide (GCP's default write quotas are 180–600 a minute, which answers of 100–300
/// ms reach at 1–3× the fixed values), while a runaway limit stays bounded even against an API
/// that never throttles (the emulator without `--realistic`).
pub const ADAPTIVE_HEADROOM: usize = 8;

/// Why a call loop stopped.
pub enum Stop {
    /// The deadline passed; the last error, if any attempt was made.
    Deadline(Option<GaxError>),
    Failed(GaxError),
}

impl Retrier {
    /// A fixed limit of `concurrency` attempts at once (Terraform's behaviour).
    pub fn new(backoff: Backoff, concurrency: usize) -> Self {
        Retrier { backoff, limit: Limit::Fixed(Arc::new(Semaphore::new(concurrency.max(1)))) }
    }

    /// An adaptive limit starting at `initial` attempts at once, growing to at most `max`.
    pub fn adaptive(backoff: Backoff, initial: usize, max: usize) -> Self {
        let limiter = AdaptiveLimiter::new(initial, max, backoff.clone());
        Retrier { backoff, limit: Limit::Adaptive(Arc::new(limiter)) }
    }

    /// The retrier for one API whose fixed limit is `fixed`, in the run's mode.
    pub fn for_api(mode: Concurrency, backoff: Backoff, fixed: usize) -> Self {
        match mode {
            Concurrency::Fixed => Retrier::new(backoff, fixed),
            Concurrency::Adaptive => Retrier::adaptive(backoff, fixed, fixed * ADAPTIVE_HEADROOM),
        }
    }

    /// The adaptive limiter, when the run has one.
    pub fn limiter(&self) -> Option<&AdaptiveLimiter> {
        match &self.limit {
            Limit::Adaptive(l) => Some(l),
            Limit::Fixed(_) => None,
        }
    }

    /// One attempt, under the API's concurrency limit and the overall deadline.
    pub async fn attempt<T, Fut>(&self, deadline: Instant, fut: Fut) -> Result<T, Stop>
    where
        Fut: Future<Output = Result<T, GaxError>>,
    {
        let out = self
            .limited(deadline, fut, |out| match out {
                Ok(_) => None,
                Err(e) => Some(Signal::of(e)),
            })
            .await;
        match out {
            Some(Ok(v)) => Ok(v),
            Some(Err(e)) => Err(Stop::Failed(e)),
            None => Err(Stop::Deadline(None)),
        }
    }

    /// Runs `fut` (one request, or one poll of a long-running operation) under the API's
    /// limit and the deadline; `outcome` says what its result tells the adaptive limiter
    /// (`None`: success). None when the deadline passed first.
    pub async fn limited<T, Fut>(
        &self,
        deadline: Instant,
        fut: Fut,
        outcome: impl FnOnce(&T) -> Option<Signal>,
    ) -> Option<T>
    where
        Fut: Future<Output = T>,
    {
        match &self.limit {
            Limit::Fixed(semaphore) => {
                let _permit = tokio::time::timeout_at(deadline, semaphore.acquire()).await.ok()?.ok()?;
                tokio::time::timeout_at(deadline, fut).await.ok()
            }
            Limit::Adaptive(limiter) => {
                let slot = tokio::time::timeout_at(deadline, limiter.acquire()).await.ok()?;
                // A timed-out attempt drops its slot unreported: it says nothing of the quota.
                let out = tokio::time::timeout_at(deadline, fut).await.ok()?;
                slot.finish(outcome(&out));
                Some(out)
            }
        }
    }

    /// Waits before retry `attempt`; false when the wait would pass the deadline.
    pub async fn pause(&self, attempt: u32, deadline: Instant) -> bool {
        let d = self.backoff.delay(attempt);
        if Instant::now() + d >= deadline {
            return false;
        }
        tokio::time::sleep(d).await;
        true
    }

    /// An idempotent call (get, list, patch with a mask, enable/disable/destroy, delete):
    /// retried on every retryable error until the deadline.
    pub async fn idempotent<T, F, Fut>(&self, method: &str, timeout: Duration, mut call: F) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, GaxError>>,
    {
        let started = Instant::now();
        let deadline = started + timeout;
        let mut last: Option<GaxError> = None;
        for attempt in 0u32.. {
            match self.attempt(deadline, call()).await {
                Ok(v) => return Ok(v),
                Err(Stop::Failed(e)) => {
                    if classify(&e) == Retry::Permanent {
                        return Err(api_error(method, &e));
                    }
                    last = Some(e);
                }
                Err(Stop::Deadline(_)) => break,
            }
            if !self.pause(attempt, deadline).await {
                break;
            }
        }
        Err(deadline_error(method, timeout, last.as_ref()))
    }
}

/// What one poll of a long-running operation (`Poller::poll`, the first of which sends the
/// request) tells the adaptive limiter, for [`Retrier::limited`].
pub fn poll_signal<R, M>(polled: &Option<google_cloud_lro::PollingResult<R, M>>) -> Option<Signal> {
    use google_cloud_lro::PollingResult;
    match polled {
        Some(PollingResult::Completed(Err(e)) | PollingResult::PollingError(e)) => Some(Signal::of(e)),
        _ => None,
    }
}

/// The error for a call that ran out of time, naming the last API error seen.
pub fn deadline_error(method: &str, timeout: Duration, last: Option<&GaxError>) -> ProviderError {
    let limit = humantime::format_duration(Duration::from_secs(timeout.as_secs().max(1)));
    let message = match last {
        Some(e) => format!(
            "{} — still failing after retrying for {limit} (the resource's timeout)",
            api_error(method, e).message
        ),
        None => format!(
            "no answer within {limit} (the resource's timeout); raise it with a `timeouts` block if the API is slow"
        ),
    };
    ProviderError {
        method: Some(method.to_string()),
        message,
        retryable: true,
        not_found: false,
        already_exists: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use google_cloud_gax::error::rpc::Status;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn body(code: u16, json: &str) -> GaxError {
        let bytes = axum::body::Bytes::from(json.as_bytes().to_vec());
        match Status::try_from(&bytes) {
            Ok(s) => GaxError::service_with_http_metadata(s, Some(code), None),
            Err(_) => GaxError::http(code, axum::http::HeaderMap::new(), bytes),
        }
    }

    fn aip(code: u16, status: &str, message: &str) -> GaxError {
        body(code, &serde_json::json!({"error": {"code": code, "message": message, "status": status}}).to_string())
    }

    #[test]
    fn terraform_predicates() {
        assert_eq!(classify(&aip(429, "RESOURCE_EXHAUSTED", "slow down")), Retry::NotProcessed);
        assert_eq!(classify(&aip(500, "INTERNAL", "oops")), Retry::Ambiguous);
        assert_eq!(classify(&aip(503, "UNAVAILABLE", "try later")), Retry::Ambiguous);
        assert_eq!(
            classify(&GaxError::http(502, axum::http::HeaderMap::new(), axum::body::Bytes::from_static(b"<html>"))),
            Retry::Ambiguous
        );
        assert_eq!(
            classify(&body(
                409,
                r#"{"error":{"code":409,"message":"busy","errors":[{"reason":"operationInProgress"}]}}"#
            )),
            Retry::NotProcessed
        );
        assert_eq!(classify(&aip(409, "ALREADY_EXISTS", "Secret [x] already exists.")), Retry::Permanent);
        assert_eq!(
            classify(&body(
                403,
                r#"{"error":{"code":403,"message":"Quota exceeded for quota metric 'Queries' and limit 'Queries per minute'","errors":[{"reason":"rateLimitExceeded"}]}}"#
            )),
            Retry::NotProcessed
        );
        assert_eq!(
            classify(&aip(403, "RESOURCE_EXHAUSTED", "CONCURRENT_OPERATIONS_QUOTA_EXCEEDED: too many")),
            Retry::NotProcessed
        );
        assert_eq!(
            classify(&aip(403, "PERMISSION_DENIED", "Permission 'secretmanager.secrets.create' denied")),
            Retry::Permanent
        );
        assert_eq!(
            classify(&body(
                400,
                r#"{"error":{"code":400,"message":"not ready","errors":[{"reason":"resourceNotReady"}]}}"#
            )),
            Retry::NotProcessed
        );
        assert_eq!(classify(&aip(400, "INVALID_ARGUMENT", "bad")), Retry::Permanent);
        assert_eq!(classify(&aip(404, "NOT_FOUND", "gone")), Retry::Permanent);
        assert_eq!(classify(&GaxError::connect("refused")), Retry::NotProcessed);
        assert_eq!(classify(&GaxError::io("connection reset")), Retry::Ambiguous);
        assert_eq!(classify(&GaxError::timeout("slow")), Retry::Ambiguous);
        assert_eq!(classify(&GaxError::deser("bad json")), Retry::Permanent);
    }

    #[test]
    fn backoff_grows_with_jitter_and_a_cap() {
        let b = Backoff::terraform();
        assert_eq!(b.ceiling(0), Duration::from_millis(500));
        assert!(b.ceiling(3) > b.ceiling(2));
        assert_eq!(b.ceiling(40), Duration::from_secs(16));
        for attempt in 0..12 {
            let c = b.ceiling(attempt);
            for _ in 0..50 {
                let d = b.delay(attempt);
                assert!(d >= c / 2 && d <= c, "attempt {attempt}: {d:?} outside [{:?}, {c:?}]", c / 2);
            }
        }
        let distinct: std::collections::BTreeSet<Duration> = (0..20).map(|_| b.delay(5)).collect();
        assert!(distinct.len() > 1, "delays are jittered");
    }

    #[tokio::test]
    async fn retries_transient_errors_then_succeeds() {
        let r = Retrier::new(Backoff::emulator(), 2);
        let calls = AtomicU32::new(0);
        let out = r
            .idempotent("secretmanager.projects.secrets.list", Duration::from_secs(10), || {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    match n {
                        0 => Err(aip(429, "RESOURCE_EXHAUSTED", "slow")),
                        1 => Err(aip(503, "UNAVAILABLE", "later")),
                        _ => Ok(n),
                    }
                }
            })
            .await
            .unwrap();
        assert_eq!(out, 2);
    }

    #[tokio::test]
    async fn permanent_errors_stop_at_once() {
        let r = Retrier::new(Backoff::emulator(), 2);
        let calls = AtomicU32::new(0);
        let e = r
            .idempotent("secretmanager.projects.secrets.get", Duration::from_secs(10), || {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Err::<(), _>(aip(403, "PERMISSION_DENIED", "Permission denied on secret")) }
            })
            .await
            .unwrap_err();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(e.method.as_deref(), Some("secretmanager.projects.secrets.get"));
        assert!(e.message.starts_with("Permission denied on secret"), "{}", e.message);
        assert!(!e.retryable);
    }

    #[tokio::test]
    async fn the_deadline_bounds_the_whole_call() {
        let r = Retrier::new(Backoff::emulator(), 2);
        let started = std::time::Instant::now();
        let e = r
            .idempotent("secretmanager.projects.secrets.list", Duration::from_millis(300), || async {
                Err::<(), _>(aip(503, "UNAVAILABLE", "The service is currently unavailable."))
            })
            .await
            .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
        assert!(
            e.message.contains("The service is currently unavailable.") && e.message.contains("still failing"),
            "{}",
            e.message
        );
        // A hanging attempt is cut off too.
        let started = std::time::Instant::now();
        let e = r
            .idempotent("secretmanager.projects.secrets.get", Duration::from_millis(200), || async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                Ok::<(), GaxError>(())
            })
            .await
            .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(e.message.contains("no answer"), "{}", e.message);
    }

    #[tokio::test]
    async fn concurrency_is_bounded_per_api() {
        let r = Retrier::new(Backoff::emulator(), 3);
        let live = Arc::new(AtomicU32::new(0));
        let peak = Arc::new(AtomicU32::new(0));
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..12 {
            let (r, live, peak) = (r.clone(), live.clone(), peak.clone());
            set.spawn(async move {
                r.idempotent("x", Duration::from_secs(10), || {
                    let (live, peak) = (live.clone(), peak.clone());
                    async move {
                        let now = live.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        live.fetch_sub(1, Ordering::SeqCst);
                        Ok::<(), GaxError>(())
                    }
                })
                .await
            });
        }
        while let Some(r) = set.join_next().await {
            r.unwrap().unwrap();
        }
        assert_eq!(peak.load(Ordering::SeqCst), 3);
    }

    /// 40 calls against an API whose quota is spent for its first 300 ms (every call 429),
    /// then fine: how many 429s each limit draws while all callers finish.
    async fn throttled_calls_during_an_outage(r: Retrier) -> u32 {
        let start = Instant::now();
        let refused = Arc::new(AtomicU32::new(0));
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..40 {
            let (r, refused) = (r.clone(), refused.clone());
            set.spawn(async move {
                r.idempotent("x", Duration::from_secs(20), || {
                    let refused = refused.clone();
                    async move {
                        tokio::time::sleep(Duration::from_millis(3)).await;
                        if start.elapsed() < Duration::from_millis(300) {
                            refused.fetch_add(1, Ordering::SeqCst);
                            return Err(aip(429, "RESOURCE_EXHAUSTED", "Quota exceeded"));
                        }
                        Ok(())
                    }
                })
                .await
            });
        }
        while let Some(r) = set.join_next().await {
            r.unwrap().expect("every call ends once the quota is back");
        }
        refused.load(Ordering::SeqCst)
    }

    #[tokio::test]
    async fn an_exhausted_quota_draws_far_fewer_429s_with_the_adaptive_limit() {
        let fixed = throttled_calls_during_an_outage(Retrier::new(Backoff::emulator(), 8)).await;
        let adaptive = throttled_calls_during_an_outage(Retrier::adaptive(Backoff::emulator(), 8, 64)).await;
        assert!(adaptive * 2 < fixed, "adaptive drew {adaptive} 429s, fixed {fixed}");
    }
}
