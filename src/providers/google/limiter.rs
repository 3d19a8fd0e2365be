//! How fast Cairn calls one Google API: a concurrency limit that adapts to the API's quota.
//!
//! Google's quotas are requests per minute per project (per region for some APIs), answered
//! with 429 (or 403 "per minute" / `CONCURRENT_OPERATIONS_QUOTA_EXCEEDED`) once spent. A fixed
//! limit is either too low (an apply of a thousand objects waits on ten slots while the quota
//! has room) or too high (every caller retries on its own, so one exhausted quota turns into a
//! storm of 429s that spends the next minute's quota too). [`AdaptiveLimiter`] does what TCP's
//! congestion control does, per API:
//!
//! - **Concurrency, AIMD.** The limit starts at the API's fixed value and grows by one per
//!   answer until the first throttle (slow start), then by one per limit's worth of answers
//!   (additive increase); a throttle halves it (multiplicative decrease), never below one,
//!   never above the maximum.
//! - **One decrease per throttle event.** Calls already in flight when the limit was cut
//!   answer 429 too; those answers describe the old limit, so only a call sent after the last
//!   cut can cut again (TCP's once-per-window rule). One 429 does not become ten decreases.
//! - **The whole API pauses.** Concurrency alone does not bound the request rate when answers
//!   are fast, so a throttle stops every caller of the API (new attempts wait in
//!   [`AdaptiveLimiter::acquire`]) until the answer's `Retry-After` header or
//!   `google.rpc.RetryInfo.retry_delay` says, else for a backoff that grows with consecutive
//!   throttles and resets on the first success.
//! - **No request-rate bucket.** The AWS SDKs' "adaptive" retry mode also paces requests
//!   with a token bucket whose rate it cuts to 0.7 × the measured sending rate on a throttle
//!   and regrows along a CUBIC curve. Cairn does not: a rate measured over a short interval
//!   says nothing of a per-minute quota (a burst that spent the minute's quota in five
//!   seconds measures twelve times too high), while one measured over the minute turns a
//!   single stray 429 (a `CONCURRENT_OPERATIONS` blip, an emulator's injected fault) into
//!   minutes of crawling. The pause already bounds what an exhausted window costs: every
//!   caller waits, the limit is down to one, so each growing pause lets one probe through —
//!   about nine 429s per spent minute at Terraform's backoff, against one per caller per
//!   backoff step (ninety at ten callers) with independent retries.
//!
//! Terraform's behaviour (`--parallelism-fixed`) keeps a fixed semaphore per API and retries
//! with backoff only; see [`super::retry::Retrier`].

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use google_cloud_gax::error::rpc::StatusDetails;
use google_cloud_gax::error::Error as GaxError;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::errors::{error_text, http_status};
use super::retry::Backoff;

/// How a run paces its calls to each Google API.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Concurrency {
    /// Per-API limits that adapt to the quota ([`AdaptiveLimiter`]).
    #[default]
    Adaptive,
    /// Terraform's: a fixed number of calls in flight per API, retry with backoff only
    /// (`--parallelism-fixed`, for comparison in benchmarks).
    Fixed,
}

/// A throttle halves the concurrency limit (TCP's multiplicative decrease).
const DECREASE: f64 = 0.5;
/// The longest pause a `Retry-After` or `RetryInfo` may impose. Real ones are seconds to a
/// minute; a larger value is a malformed answer, and the resource's timeout still bounds
/// every call.
const MAX_PAUSE: Duration = Duration::from_secs(300);

/// One API's adaptive limit, shared by every caller of that API.
#[derive(Debug)]
pub struct AdaptiveLimiter {
    max: usize,
    backoff: Backoff,
    state: Mutex<State>,
    /// Signalled whenever a call ends (a slot may have come free).
    changed: Notify,
}

#[derive(Debug)]
struct State {
    /// Calls allowed in flight; fractional so that additive increase can add 1/limit.
    limit: f64,
    in_flight: usize,
    /// Until the first throttle, the limit grows by one per answer.
    slow_start: bool,
    /// Bumped at every decrease: a slot sent under an older epoch cannot decrease again.
    epoch: u64,
    paused_until: Option<Instant>,
    /// Throttle events since the last success, for the pause's backoff.
    throttles_in_a_row: u32,
}

/// What a failed call tells the limiter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Signal {
    /// The API refused for quota or rate: decrease and pause (for the given time if the
    /// answer said one).
    Throttled(Option<Duration>),
    /// The API answered (an error of the request's own, such as 404): the quota had room.
    Answered,
    /// Nothing learned about the quota (5xx, a connection failure, a timeout).
    Neutral,
}

impl Signal {
    /// What an SDK error says about the quota.
    pub fn of(e: &GaxError) -> Signal {
        if is_quota_error(e) {
            return Signal::Throttled(retry_after(e));
        }
        match http_status(e) {
            Some(code) if code < 500 => Signal::Answered,
            _ => Signal::Neutral,
        }
    }
}

/// Quota and rate-limit refusals: HTTP 429, and the 403s Terraform retries as quota (a
/// per-minute quota, `CONCURRENT_OPERATIONS_QUOTA_EXCEEDED`).
pub fn is_quota_error(e: &GaxError) -> bool {
    match http_status(e) {
        Some(429) => true,
        Some(403) => {
            let t = error_text(e);
            let per_minute_quota =
                t.contains("per minute") && (t.contains("Quota exceeded") || t.contains("rateLimitExceeded"));
            per_minute_quota || t.contains("CONCURRENT_OPERATIONS_QUOTA_EXCEEDED")
        }
        _ => false,
    }
}

/// How long the API asked to wait: the `Retry-After` header (seconds or an HTTP date), else a
/// `google.rpc.RetryInfo` detail's `retry_delay`; capped at [`MAX_PAUSE`].
pub fn retry_after(e: &GaxError) -> Option<Duration> {
    let header =
        e.http_headers().and_then(|h| h.get("retry-after")).and_then(|v| v.to_str().ok()).and_then(parse_retry_after);
    let detail = || {
        e.status()?.details.iter().find_map(|d| match d {
            StatusDetails::RetryInfo(info) => info.retry_delay.and_then(|d| Duration::try_from(d).ok()),
            _ => None,
        })
    };
    header.or_else(detail).map(|d| d.min(MAX_PAUSE))
}

/// RFC 9110 §10.2.3: `Retry-After: 120` or `Retry-After: Fri, 31 Dec 1999 23:59:59 GMT`.
fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    // A date already past means "now".
    Some(at.duration_since(SystemTime::now()).unwrap_or_default())
}

/// A place in flight, taken by [`AdaptiveLimiter::acquire`]; report how the call went with
/// [`Slot::finish`]. Dropping it unreported (a timeout, a cancelled call) frees it and teaches
/// the limiter nothing.
#[derive(Debug)]
pub struct Slot<'a> {
    limiter: &'a AdaptiveLimiter,
    epoch: u64,
}

impl Slot<'_> {
    /// Reports the call's outcome: `None` for success.
    pub fn finish(self, failure: Option<Signal>) {
        let limiter = self.limiter;
        let mut s = limiter.lock();
        let now = Instant::now();
        match failure {
            None | Some(Signal::Answered) => s.answered(limiter.max),
            Some(Signal::Throttled(wait)) => s.throttled(now, self.epoch, wait, &limiter.backoff),
            Some(Signal::Neutral) => {}
        }
        drop(s);
        // `self` drops here and frees the place.
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.limiter.lock().in_flight -= 1;
        self.limiter.changed.notify_waiters();
    }
}

impl State {
    fn allowed(&self, max: usize) -> usize {
        (self.limit.floor() as usize).clamp(1, max.max(1))
    }

    fn answered(&mut self, max: usize) {
        self.throttles_in_a_row = 0;
        let step = if self.slow_start { 1.0 } else { 1.0 / self.limit };
        self.limit = (self.limit + step).min(max as f64);
    }

    fn throttled(&mut self, now: Instant, epoch: u64, wait: Option<Duration>, backoff: &Backoff) {
        let fresh = epoch == self.epoch;
        let pause = if fresh {
            self.epoch += 1;
            self.slow_start = false;
            self.limit = (self.limit * DECREASE).max(1.0);
            let delay = backoff.delay(self.throttles_in_a_row);
            self.throttles_in_a_row += 1;
            Some(wait.unwrap_or(delay))
        } else {
            // An answer to a call sent before the last decrease: the pause already set covers
            // it, unless the API named a longer one.
            wait
        };
        if let Some(pause) = pause {
            let until = now + pause;
            self.paused_until = Some(self.paused_until.map_or(until, |p| p.max(until)));
        }
    }
}

impl AdaptiveLimiter {
    /// Starts at `initial` calls in flight and never goes above `max`. `backoff` paces the
    /// pauses after throttles that name no wait.
    pub fn new(initial: usize, max: usize, backoff: Backoff) -> Self {
        let max = max.max(1);
        AdaptiveLimiter {
            max,
            backoff,
            state: Mutex::new(State {
                limit: initial.clamp(1, max) as f64,
                in_flight: 0,
                slow_start: true,
                epoch: 0,
                paused_until: None,
                throttles_in_a_row: 0,
            }),
            changed: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent across a panic elsewhere (each update is a few
        // assignments), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits out a pause, then for a free place under the limit.
    pub async fn acquire(&self) -> Slot<'_> {
        loop {
            let freed = self.changed.notified();
            tokio::pin!(freed);
            // Registered before the state is read, so a place freed in between is not missed.
            freed.as_mut().enable();
            enum Next {
                PausedUntil(Instant),
                Full,
                Go(u64),
            }
            let next = {
                let mut s = self.lock();
                let now = Instant::now();
                match s.paused_until {
                    Some(until) if until > now => Next::PausedUntil(until),
                    _ if s.in_flight >= s.allowed(self.max) => Next::Full,
                    _ => {
                        s.in_flight += 1;
                        Next::Go(s.epoch)
                    }
                }
            };
            match next {
                Next::PausedUntil(until) => tokio::time::sleep_until(until).await,
                Next::Full => freed.await,
                Next::Go(epoch) => return Slot { limiter: self, epoch },
            }
        }
    }

    /// The current limit (whole calls), for tests and diagnostics.
    pub fn limit(&self) -> usize {
        self.lock().allowed(self.max)
    }

    /// The end of the current pause, if one is in force.
    pub fn paused_until(&self) -> Option<Instant> {
        self.lock().paused_until.filter(|u| *u > Instant::now())
    }
}

#[cfg(test)]
mod tests {
    //! Real time, in milliseconds: tokio's paused clock needs its `test-util` feature, and
    //! turning that on rebuilds tokio and every SDK crate above it for the test profile. The
    //! state changes are tested with explicit instants instead; only the waits use the clock.
    use super::*;
    use axum::body::Bytes;
    use axum::http::HeaderMap;
    use google_cloud_gax::error::rpc::Status;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    const NOW: Option<Duration> = Some(Duration::ZERO);

    fn backoff_ms(initial: u64, multiplier: f64) -> Backoff {
        Backoff { initial: Duration::from_millis(initial), max: Duration::from_secs(60), multiplier }
    }

    #[tokio::test]
    async fn slow_start_then_additive_increase_up_to_the_ceiling() {
        let l = AdaptiveLimiter::new(2, 6, backoff_ms(1, 2.0));
        assert_eq!(l.limit(), 2);
        for expected in [3, 4, 5, 6, 6] {
            l.acquire().await.finish(None);
            assert_eq!(l.limit(), expected, "one more per answer until the first throttle, never above 6");
        }
        l.acquire().await.finish(Some(Signal::Throttled(NOW)));
        assert_eq!(l.limit(), 3, "a throttle halves the limit");
        // Now one more per limit's worth of answers: 3 → 3.33 → 3.63 → 3.91 → 4.16.
        for _ in 0..3 {
            l.acquire().await.finish(None);
            assert_eq!(l.limit(), 3);
        }
        l.acquire().await.finish(Some(Signal::Answered));
        assert_eq!(l.limit(), 4, "an API's answer to the request itself (404…) shows the quota had room");
        l.acquire().await.finish(Some(Signal::Neutral));
        l.acquire().await.finish(Some(Signal::Neutral));
        drop(l.acquire().await);
        assert_eq!(l.limit(), 4, "5xx, timeouts and dropped calls say nothing about the quota");
    }

    #[tokio::test]
    async fn a_burst_of_429s_is_one_decrease_and_the_floor_is_one() {
        let l = AdaptiveLimiter::new(8, 64, backoff_ms(1, 2.0));
        let mut in_flight = Vec::new();
        for _ in 0..8 {
            in_flight.push(l.acquire().await);
        }
        for slot in in_flight {
            slot.finish(Some(Signal::Throttled(NOW)));
        }
        assert_eq!(l.limit(), 4, "eight 429s answering one window's calls are one decrease, not eight");
        for expected in [2, 1, 1, 1] {
            l.acquire().await.finish(Some(Signal::Throttled(NOW)));
            assert_eq!(l.limit(), expected, "a call sent after the decrease halves again, down to one");
        }
        let l = AdaptiveLimiter::new(0, 0, backoff_ms(1, 2.0));
        assert_eq!(l.limit(), 1, "a limit of zero would stop the API for good");
    }

    #[tokio::test]
    async fn calls_in_flight_never_exceed_the_limit() {
        let l = Arc::new(AdaptiveLimiter::new(3, 3, backoff_ms(1, 2.0)));
        let live = Arc::new(AtomicU32::new(0));
        let peak = Arc::new(AtomicU32::new(0));
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..12 {
            let (l, live, peak) = (l.clone(), live.clone(), peak.clone());
            set.spawn(async move {
                let slot = l.acquire().await;
                let now = live.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(15)).await;
                live.fetch_sub(1, Ordering::SeqCst);
                slot.finish(None);
            });
        }
        while let Some(r) = set.join_next().await {
            r.unwrap();
        }
        assert_eq!(peak.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn every_caller_waits_out_the_pause() {
        let l = Arc::new(AdaptiveLimiter::new(4, 4, backoff_ms(1, 2.0)));
        let throttled_at = Instant::now();
        l.acquire().await.finish(Some(Signal::Throttled(Some(Duration::from_millis(150)))));
        assert!(l.paused_until().is_some());
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..4 {
            let l = l.clone();
            set.spawn(async move {
                let slot = l.acquire().await;
                let waited = throttled_at.elapsed();
                slot.finish(None);
                waited
            });
        }
        while let Some(waited) = set.join_next().await {
            let waited = waited.unwrap();
            assert!(waited >= Duration::from_millis(150), "a caller went after {waited:?}");
        }
        assert_eq!(l.paused_until(), None);
    }

    #[test]
    fn without_a_retry_after_the_pause_grows_with_consecutive_throttles() {
        let b = backoff_ms(100, 4.0);
        let l = AdaptiveLimiter::new(4, 4, b.clone());
        let mut s = l.lock();
        let now = Instant::now();
        let pause = |s: &mut State| {
            s.paused_until = None;
            let epoch = s.epoch;
            s.throttled(now, epoch, None, &b);
            s.paused_until.expect("a pause") - now
        };
        let ms = Duration::from_millis;
        for (low, high) in [(50, 100), (200, 400), (800, 1600)] {
            let p = pause(&mut s);
            assert!(p >= ms(low) && p <= ms(high), "{p:?} outside [{low}, {high}] ms");
        }
        s.answered(4);
        let p = pause(&mut s);
        assert!(p >= ms(50) && p <= ms(100), "a success resets the backoff: {p:?}");

        // A 429 answering a call sent before the last decrease neither decreases nor pauses
        // again, but a wait the API names is honoured.
        let (limit, stale) = (s.limit, s.epoch - 1);
        s.paused_until = None;
        s.throttled(now, stale, None, &b);
        assert_eq!((s.paused_until, s.limit), (None, limit));
        s.throttled(now, stale, Some(Duration::from_secs(5)), &b);
        assert_eq!((s.paused_until, s.limit), (Some(now + Duration::from_secs(5)), limit));
        // A pause is only ever extended.
        let fresh = s.epoch;
        s.throttled(now, fresh, Some(Duration::from_secs(1)), &b);
        assert_eq!(s.paused_until, Some(now + Duration::from_secs(5)));
    }

    fn with_retry_after(code: u16, value: &str) -> GaxError {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", value.parse().unwrap());
        GaxError::http(code, headers, Bytes::from_static(b"<html>Too Many Requests</html>"))
    }

    fn service(json: serde_json::Value) -> GaxError {
        GaxError::service(Status::try_from(&Bytes::from(json.to_string())).expect("a status body"))
    }

    #[test]
    fn retry_after_comes_from_the_header_or_a_retry_info_detail() {
        let e = with_retry_after(429, "7");
        assert_eq!(retry_after(&e), Some(Duration::from_secs(7)));
        assert_eq!(Signal::of(&e), Signal::Throttled(Some(Duration::from_secs(7))));

        let in_30s = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(30));
        let wait = retry_after(&with_retry_after(429, &in_30s)).expect("an HTTP date");
        assert!(wait > Duration::from_secs(28) && wait <= Duration::from_secs(30), "{wait:?}");
        assert_eq!(retry_after(&with_retry_after(429, "Fri, 31 Dec 1999 23:59:59 GMT")), Some(Duration::ZERO));
        assert_eq!(retry_after(&with_retry_after(429, "86400")), Some(MAX_PAUSE), "capped");
        assert_eq!(retry_after(&with_retry_after(429, "soon")), None, "unreadable: the backoff decides");

        let e = service(serde_json::json!({"error": {
            "code": 429,
            "message": "Quota exceeded for quota metric 'Write requests' and limit 'Write requests per minute per project'",
            "status": "RESOURCE_EXHAUSTED",
            "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2.500s"}]
        }}));
        assert_eq!(Signal::of(&e), Signal::Throttled(Some(Duration::from_millis(2500))));

        let e = service(
            serde_json::json!({"error": {"code": 429, "message": "slow down", "status": "RESOURCE_EXHAUSTED"}}),
        );
        assert_eq!(Signal::of(&e), Signal::Throttled(None));
    }

    #[test]
    fn only_quota_errors_throttle() {
        let body = |code: u16, json: &str| GaxError::http(code, HeaderMap::new(), Bytes::from(json.to_string()));
        let per_minute = body(
            403,
            r#"{"error":{"code":403,"message":"Quota exceeded for quota metric 'Queries' and limit 'Queries per minute'","errors":[{"reason":"rateLimitExceeded"}]}}"#,
        );
        assert_eq!(Signal::of(&per_minute), Signal::Throttled(None));
        let concurrent = body(403, r#"{"error":{"code":403,"message":"CONCURRENT_OPERATIONS_QUOTA_EXCEEDED"}}"#);
        assert_eq!(Signal::of(&concurrent), Signal::Throttled(None));
        let denied = body(403, r#"{"error":{"code":403,"message":"Permission denied"}}"#);
        assert_eq!(Signal::of(&denied), Signal::Answered);
        let busy = body(409, r#"{"error":{"code":409,"message":"busy","errors":[{"reason":"operationInProgress"}]}}"#);
        assert_eq!(Signal::of(&busy), Signal::Answered, "another operation in progress is not a quota");
        assert_eq!(Signal::of(&body(404, "{}")), Signal::Answered);
        assert_eq!(Signal::of(&body(503, "{}")), Signal::Neutral);
        assert_eq!(Signal::of(&GaxError::connect("refused")), Signal::Neutral);
        assert_eq!(Signal::of(&GaxError::timeout("slow")), Signal::Neutral);
    }
}
