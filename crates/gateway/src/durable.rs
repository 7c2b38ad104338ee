//! Bounded waits for the log: a decision that is not durable within the configured
//! deadline is refused (503) instead of holding a connection, and if it becomes durable
//! later anyway, an allow that was never acted on gets a "not served" entry. `/healthz`
//! reads the same watch to say whether the log is keeping up.
use crate::entry::{now_rfc3339, NotServedEntry};
use crate::logbackend::GatewayLog;
use cordon_log::{AppendError, PendingAppend, Receipt};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::task::TaskTracker;

/// How long a stopping serving thread waits for its "not served" follow-ups (each waits
/// for the late allow it follows, then appends): past it, the thread ends and the late
/// allow stands without its follow-up, as after a crash.
pub const FOLLOW_UP_GRACE: Duration = Duration::from_secs(5);

/// How long `/healthz` reports a failed append when no append has succeeded since. Not for
/// ever: a load balancer that stops sending traffic would then never see the gateway
/// recover, since only an append clears it; after this the next request tries again.
pub const FAILURE_MEMORY: Duration = Duration::from_secs(30);

/// Why an append did not yield a receipt in time.
#[derive(Debug)]
pub enum WaitError {
    /// The log refused or failed the append.
    Log(AppendError),
    /// Not durable within the deadline; it may still become durable later.
    Deadline,
}

/// Appends in flight and when the log last made one durable.
#[derive(Debug)]
pub struct Watch {
    started: Instant,
    in_flight: AtomicU64,
    /// Milliseconds since `started` of the last completed append.
    last_durable_ms: AtomicU64,
    /// Milliseconds since `started`, plus one, of the last failed append when none has
    /// succeeded since; 0 otherwise.
    failed_ms: AtomicU64,
    /// The smallest entry that failed since then: only an entry at least as large
    /// succeeding shows the log writes again (on a nearly full disk a small refusal entry
    /// can still fit while every decision fails).
    failed_len: AtomicU64,
    /// Why the last append failed.
    failure: std::sync::Mutex<String>,
    /// Decisions refused because the log was not durable in time.
    pub deadline_misses: AtomicU64,
    /// "Not served" follow-ups written for allows that became durable too late.
    pub not_served: AtomicU64,
    /// The follow-ups still running: a shutdown waits for them before the serving
    /// threads' event loops (which run them) are dropped.
    follow_ups: TaskTracker,
}

impl Default for Watch {
    fn default() -> Self {
        Watch {
            started: Instant::now(),
            in_flight: AtomicU64::new(0),
            last_durable_ms: AtomicU64::new(0),
            failed_ms: AtomicU64::new(0),
            failed_len: AtomicU64::new(u64::MAX),
            failure: std::sync::Mutex::new(String::new()),
            deadline_misses: AtomicU64::new(0),
            not_served: AtomicU64::new(0),
            follow_ups: TaskTracker::new(),
        }
    }
}

impl Watch {
    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// The deadline counters as Prometheus text.
    pub fn render(&self, s: &mut String) {
        use std::fmt::Write as _;
        let _ = writeln!(s, "# HELP cordon_log_deadline_misses_total Decisions refused with 503 because the log did not make them durable within log.durable_deadline_ms.\n# TYPE cordon_log_deadline_misses_total counter\ncordon_log_deadline_misses_total {}", self.deadline_misses.load(Ordering::Relaxed));
        let _ = writeln!(s, "# HELP cordon_log_not_served_total Allows that became durable after their deadline or after their request went away, and were recorded as not served.\n# TYPE cordon_log_not_served_total counter\ncordon_log_not_served_total {}", self.not_served.load(Ordering::Relaxed));
    }

    /// Runs `record` (a follow-up that appends to the log) on this thread's event loop,
    /// tracked so that [`Watch::finish_follow_ups`] waits for it.
    pub(crate) fn follow_up(&self, record: impl std::future::Future<Output = ()> + Send + 'static) {
        self.follow_ups.spawn(record);
    }

    /// Waits, at most [`FOLLOW_UP_GRACE`], for every follow-up to be appended. Called by
    /// each serving thread after its drain, so that a "not served" entry is not lost with
    /// the event loop that would have written it; every thread waits for all of them,
    /// since each runs only its own.
    pub async fn finish_follow_ups(&self) {
        self.follow_ups.close();
        if tokio::time::timeout(FOLLOW_UP_GRACE, self.follow_ups.wait())
            .await
            .is_err()
        {
            tracing::error!(
                pending = self.follow_ups.len(),
                "\"not served\" follow-ups still waiting for the log after {FOLLOW_UP_GRACE:?}; their late allows stand without them"
            );
        }
    }

    /// Why the last append failed, if it did within [`FAILURE_MEMORY`] and nothing as
    /// large has succeeded since.
    fn recent_failure(&self) -> Option<String> {
        let failed = self.failed_ms.load(Ordering::SeqCst);
        let recent = failed != 0
            && self.now_ms().saturating_sub(failed - 1) < FAILURE_MEMORY.as_millis() as u64;
        recent.then(|| self.failure.lock().map(|w| w.clone()).unwrap_or_default())
    }

    /// Records an append the log refused or failed (a full disk, an I/O error).
    fn failed(&self, e: &AppendError, len: u64) {
        // A failure the health check has forgotten (or none) starts a new one; within
        // one, the smallest entry that failed is what a success must match.
        if self.recent_failure().is_some() {
            self.failed_len.fetch_min(len, Ordering::SeqCst);
        } else {
            self.failed_len.store(len, Ordering::SeqCst);
        }
        if let Ok(mut why) = self.failure.lock() {
            *why = e.to_string();
        }
        self.failed_ms.store(self.now_ms() + 1, Ordering::SeqCst);
    }

    /// Why the log is not keeping up, if it is not: the last append failed within
    /// [`FAILURE_MEMORY`] and none has succeeded since, or appends have waited longer
    /// than `deadline` with none completing.
    pub fn stalled(&self, deadline: Duration) -> Option<String> {
        if let Some(why) = self.recent_failure() {
            return Some(format!("appends are failing: {why}"));
        }
        let waiting = self.in_flight.load(Ordering::SeqCst);
        if waiting == 0 {
            return None;
        }
        let idle = self
            .now_ms()
            .saturating_sub(self.last_durable_ms.load(Ordering::SeqCst));
        (idle > deadline.as_millis() as u64)
            .then(|| format!("{waiting} decisions waiting; nothing made durable for {idle} ms"))
    }
}

/// Submits `entry` and waits at most `deadline` for it to be durable. Neither a deadline
/// nor the request going away (its client hung up, its HTTP/2 stream was reset, the drain
/// at shutdown ran out) abandons the append: the wait goes on in a task of its own, and if
/// it completes and `allowed`, a "not served" entry records that the allow was never acted
/// on. The wait runs in the caller's task until then (no task per request).
pub async fn append_within(
    log: &Arc<GatewayLog>,
    watch: &Arc<Watch>,
    entry: Vec<u8>,
    allowed: bool,
    deadline: Duration,
) -> Result<Receipt, WaitError> {
    // The receipt must be for these bytes: then it cannot be spent on another request.
    let leaf = cordon_log::hash::leaf_hash(&entry);
    let len = entry.len() as u64;
    let pending = log.submit(entry).map_err(|e| {
        watch.failed(&e, len);
        WaitError::Log(e)
    })?;
    let mut wait = Wait {
        pending: Some(pending),
        in_flight: Some(InFlight::enter(watch.clone(), len)),
        log: log.clone(),
        watch: watch.clone(),
        allowed,
        why: "the request was gone (its client hung up, or the gateway stopped) before the allow became durable; nothing was forwarded",
    };
    match wait.within(deadline).await {
        Some(r) => r
            .map_err(|e| {
                watch.failed(&e, len);
                WaitError::Log(e)
            })
            .and_then(|r| signed_for(r, leaf)),
        None => {
            watch.deadline_misses.fetch_add(1, Ordering::SeqCst);
            wait.why = "the allow became durable after its deadline; the client was answered 503 and nothing was forwarded";
            // Dropping the wait hands the append to a follow-up.
            Err(WaitError::Deadline)
        }
    }
}

/// An append someone is waiting for. Dropped before it completed (a deadline, or the
/// request's future dropped), it hands the append to a follow-up task that waits on and,
/// for an allow, records it as not served.
struct Wait {
    pending: Option<PendingAppend>,
    in_flight: Option<InFlight>,
    log: Arc<GatewayLog>,
    watch: Arc<Watch>,
    allowed: bool,
    why: &'static str,
}

impl Wait {
    /// The append's outcome, if it came within `deadline`.
    async fn within(&mut self, deadline: Duration) -> Option<Result<Receipt, AppendError>> {
        let pending = self.pending.as_mut()?;
        let r = tokio::time::timeout(deadline, pending).await.ok()?;
        self.pending = None;
        if let Some(f) = self.in_flight.take() {
            f.done(r.is_ok());
        }
        Some(r)
    }
}

impl Drop for Wait {
    fn drop(&mut self) {
        let Some(pending) = self.pending.take() else {
            return;
        };
        // Outside any event loop (the loop itself is being torn down) nothing could run
        // the follow-up; the late allow then stands without it, as after a crash.
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (log, watch, in_flight) = (self.log.clone(), self.watch.clone(), self.in_flight.take());
        let (allowed, why) = (self.allowed, self.why);
        let follow_up = async move {
            let r = pending.await;
            if let Some(f) = in_flight {
                f.done(r.is_ok());
            }
            if let (true, Ok(receipt)) = (allowed, r) {
                if record_not_served(&log, receipt.index(), why).await {
                    watch.not_served.fetch_add(1, Ordering::SeqCst);
                }
            }
        };
        // Only an allow needs its follow-up written before the gateway stops.
        if allowed {
            self.watch.follow_ups.spawn_on(follow_up, &handle);
        } else {
            handle.spawn(follow_up);
        }
    }
}

/// One append counted in flight until it is done: a wait that is given up hands this to
/// its follow-up, which ends it when the append completes. Dropped unended (no event loop
/// was left to run the follow-up), it stops counting, so `/healthz` never counts an append
/// for ever.
struct InFlight(Option<Arc<Watch>>, u64);

impl InFlight {
    /// `len`: the entry's size, which decides whether its success clears a failure.
    fn enter(watch: Arc<Watch>, len: u64) -> InFlight {
        if watch.in_flight.fetch_add(1, Ordering::SeqCst) == 0 {
            // The wait starts now, not at the last append an idle hour ago.
            watch
                .last_durable_ms
                .store(watch.now_ms(), Ordering::SeqCst);
        }
        InFlight(Some(watch), len)
    }

    fn done(mut self, durable: bool) {
        if let Some(w) = self.0.take() {
            w.in_flight.fetch_sub(1, Ordering::SeqCst);
            if durable {
                w.last_durable_ms.store(w.now_ms(), Ordering::SeqCst);
                if self.1 >= w.failed_len.load(Ordering::SeqCst) {
                    w.failed_ms.store(0, Ordering::SeqCst);
                    w.failed_len.store(u64::MAX, Ordering::SeqCst);
                }
            }
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(w) = self.0.take() {
            w.in_flight.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// Fails closed on a receipt that is not signed, or is for other bytes: the gateway acts
/// on a decision only with the signed receipt of exactly that decision's entry.
fn signed_for(receipt: Receipt, leaf: cordon_log::Hash) -> Result<Receipt, WaitError> {
    if receipt.leaf_hash() == Some(leaf) {
        return Ok(receipt);
    }
    Err(WaitError::Log(AppendError::Storage(format!(
        "the log answered entry {} without a signed receipt for it",
        receipt.index()
    ))))
}

/// Appends a "not served" entry for the allow at `of`, saying `why`; whether it became
/// durable (a failure is logged to stderr, since the log itself could not take it).
pub(crate) async fn record_not_served(log: &GatewayLog, of: u64, why: &str) -> bool {
    let time = now_rfc3339();
    let Ok(bytes) = NotServedEntry::new(&time, of, why).to_bytes() else {
        return false;
    };
    let pending = match log.submit(bytes) {
        Ok(p) => p.durable().await,
        Err(e) => Err(e),
    };
    match pending {
        Ok(_) => true,
        Err(e) => {
            tracing::error!(of, error = %e, "could not record that an allow was not served");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use cordon_log::hash::leaf_hash;
    use cordon_log::{Log, LogConfig, Signer};

    fn open(dir: &std::path::Path, sign_receipts: bool) -> Log {
        open_with(dir, sign_receipts, cordon_log::FaultSwitch::default())
    }

    fn open_with(
        dir: &std::path::Path,
        sign_receipts: bool,
        faults: cordon_log::FaultSwitch,
    ) -> Log {
        let signer = Signer::generate("test.example/log").unwrap();
        cordon_log::create(dir, &signer).unwrap();
        let config = LogConfig {
            sign_receipts,
            faults,
            ..LogConfig::default()
        };
        Log::open(dir, signer, config).unwrap().0
    }

    /// A gateway log whose writes wait until the returned guard is dropped.
    fn stalled_log() -> (
        tempfile::TempDir,
        Arc<GatewayLog>,
        Arc<Watch>,
        cordon_log::log::Stall,
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let faults = cordon_log::FaultSwitch::default();
        let log = open_with(tmp.path(), true, faults.clone());
        let stalled = faults.stall();
        (
            tmp,
            Arc::new(GatewayLog::File(log)),
            Arc::new(Watch::default()),
            stalled,
        )
    }

    /// On a nearly full disk a small refusal entry can still be written while every
    /// decision fails: its success must not tell `/healthz` the log writes again (an
    /// outside attack flipped health to 200 that way); an entry as large as the one that
    /// failed does.
    #[test]
    fn only_an_entry_as_large_as_the_failed_one_clears_the_failure() {
        let watch = Arc::new(Watch::default());
        let full = AppendError::Storage("No space left on device".into());
        watch.failed(&full, 2_000);
        let deadline = Duration::from_secs(2);
        assert!(watch.stalled(deadline).unwrap().contains("failing"));
        InFlight::enter(watch.clone(), 300).done(true);
        assert!(
            watch.stalled(deadline).is_some(),
            "a small entry cleared the failure"
        );
        InFlight::enter(watch.clone(), 2_800).done(true);
        assert!(watch.stalled(deadline).is_none());
    }

    /// A client that hung up drops the request's wait; the append it waited for is still
    /// counted (the disk is still stalled) until it completes, then no longer: `/healthz`
    /// neither forgets a stall nor counts a finished append for ever.
    #[tokio::test]
    async fn a_wait_dropped_by_a_client_that_hung_up_is_counted_until_its_append_completes() {
        let (_tmp, log, watch, stalled) = stalled_log();
        let (l, w) = (log.clone(), watch.clone());
        let request = tokio::spawn(async move {
            append_within(&l, &w, b"abandoned".to_vec(), true, Duration::from_secs(60)).await
        });
        let until = std::time::Instant::now() + Duration::from_secs(10);
        while watch.in_flight.load(Ordering::SeqCst) == 0 {
            assert!(
                std::time::Instant::now() < until,
                "the append never started"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        request.abort();
        assert!(request.await.unwrap_err().is_cancelled());
        assert_eq!(watch.in_flight.load(Ordering::SeqCst), 1);
        drop(stalled);
        let until = std::time::Instant::now() + Duration::from_secs(10);
        while watch.not_served.load(Ordering::SeqCst) == 0 {
            assert!(std::time::Instant::now() < until, "no not-served entry");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(watch.in_flight.load(Ordering::SeqCst), 0);
        assert_eq!(watch.stalled(Duration::ZERO), None);
        let r = append_within(
            &log,
            &watch,
            b"next".to_vec(),
            true,
            Duration::from_secs(60),
        )
        .await;
        assert_eq!(
            r.unwrap().index(),
            2,
            "the abandoned append and its not-served entry came first"
        );
    }

    #[tokio::test]
    async fn a_deadline_missed_is_refused_and_the_late_allow_is_recorded_as_not_served() {
        let (_tmp, log, watch, stalled) = stalled_log();
        let r = append_within(
            &log,
            &watch,
            b"late".to_vec(),
            true,
            Duration::from_millis(50),
        )
        .await;
        assert!(matches!(r, Err(WaitError::Deadline)), "{r:?}");
        assert_eq!(watch.deadline_misses.load(Ordering::SeqCst), 1);
        assert_eq!(
            watch.in_flight.load(Ordering::SeqCst),
            1,
            "the append is still waited for"
        );
        drop(stalled);
        for _ in 0..500 {
            if watch.not_served.load(Ordering::SeqCst) == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(watch.not_served.load(Ordering::SeqCst), 1);
        assert_eq!(watch.in_flight.load(Ordering::SeqCst), 0);
        assert_eq!(
            log.durable_size(),
            2,
            "the late allow and its not-served entry"
        );
    }

    #[test]
    fn only_a_signed_receipt_for_these_very_entry_bytes_is_acted_on() {
        let tmp = tempfile::tempdir().unwrap();
        let log = open(&tmp.path().join("signed"), true);
        let mine = log.append(b"mine".to_vec()).unwrap();
        assert!(signed_for(mine, leaf_hash(b"mine")).is_ok());
        let other = log.append(b"other".to_vec()).unwrap();
        assert!(signed_for(other, leaf_hash(b"mine")).is_err());
        let unsigned = open(&tmp.path().join("unsigned"), false);
        let bare = unsigned.append(b"mine".to_vec()).unwrap();
        assert!(signed_for(bare, leaf_hash(b"mine")).is_err());
    }
}
