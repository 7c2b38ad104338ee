//! The gateway's serving threads, in the manner of NGINX's worker processes: each runs its
//! own single-threaded event loop with its own upstream connections and accepts from the
//! one listening socket itself, so a connection and all its requests stay on the thread
//! that accepted it. A work-stealing runtime instead moves a request's tasks between
//! threads at every hop; crates/gateway/BENCHMARKS.md ("Serving threads") has the
//! measurement.
//!
//! One listening socket, shared by the threads: a second gateway started on the same port
//! fails with "address in use", as it always has, instead of silently taking a share of
//! the connections (`SO_REUSEPORT` would let it). A thread that is busy or stuck is not
//! waiting to accept, so new connections go to the others; the connections it already
//! holds wait for it, which is the price of keeping a request on one thread.
use crate::conn::Drain;
use crate::Gateway;
use std::cell::Cell;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_rustls::TlsAcceptor;

thread_local! {
    /// Which serving thread this is; 0 outside them (tests, the demo, side listeners).
    static WORKER: Cell<usize> = const { Cell::new(0) };
}

/// The serving thread the caller runs on, for picking its own upstream connection pool.
pub(crate) fn current() -> usize {
    WORKER.with(Cell::get)
}

/// How long a stopping serving thread waits for blocking work it started (a tile read from
/// a stalled disk, say) before leaving it behind.
pub const BLOCKING_GRACE: Duration = Duration::from_secs(1);

/// Why serving stopped other than by a clean shutdown.
#[derive(Debug, thiserror::Error)]
pub enum WorkersError {
    #[error("cannot start serving thread {index}: {message}")]
    Start { index: usize, message: String },
    #[error(
        "serving thread {index} stopped unexpectedly (see the error before this); the gateway \
         stopped too, so that its supervisor restarts it whole"
    )]
    Died { index: usize },
    #[error("serving threads were still busy {0} s after shutdown began; exiting without closing the log (it recovers at the next start)")]
    Stuck(u64),
}

/// One serving thread, as [`serve`] sees it.
struct Worker {
    thread: std::thread::JoinHandle<()>,
}

/// Tells [`serve`] that a serving thread has ended, however it ended (a panic included).
struct Ended {
    index: usize,
    tx: mpsc::UnboundedSender<usize>,
}

impl Drop for Ended {
    fn drop(&mut self) {
        let _ = self.tx.send(self.index);
    }
}

/// Serves `listener` on `count` threads until `shutdown` resolves; then every thread stops
/// accepting and drains its requests in flight at the same time as the others (so the
/// whole drain is bounded by [`crate::server::DRAIN_TIMEOUT`], as [`crate::server::serve`]),
/// waits for the "not served" follow-ups its event loop runs (at most
/// [`crate::durable::FOLLOW_UP_GRACE`]), and this returns once all have finished and
/// dropped their tasks. The caller closes the log afterwards.
pub async fn serve(
    gw: Arc<Gateway>,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    count: usize,
    shutdown: impl Future<Output = ()>,
) -> Result<(), WorkersError> {
    let listener = listener.into_std().map_err(|e| WorkersError::Start {
        index: 0,
        message: format!("cannot share the listening socket: {e}"),
    })?;
    let (stop, stopping) = watch::channel(false);
    let (ended_tx, mut ended) = mpsc::unbounded_channel();
    let load = Load::new(count.max(1));
    // A second serve() of the same gateway (tests) keeps reporting the first's threads.
    let _ = gw.metrics.serving.set(load.0.clone());
    let mut workers = Vec::with_capacity(count.max(1));
    for index in 0..count.max(1) {
        let failed = |e: std::io::Error| WorkersError::Start {
            index,
            message: e.to_string(),
        };
        let own = listener.try_clone().map_err(failed)?;
        // On a failure here, `stop` is dropped on return, which stops the threads started.
        let thread = Thread {
            index,
            gw: gw.clone(),
            tls: tls.clone(),
            load: load.clone(),
        };
        let ended = Ended {
            index,
            tx: ended_tx.clone(),
        };
        workers.push(thread.start(own, stopping.clone(), ended).map_err(failed)?);
    }
    drop((listener, ended_tx));
    tokio::pin!(shutdown);
    // A thread that ends before shutdown (it panicked, or could not accept) would leave
    // the others serving a share of nothing and holding back for it: stop everything.
    let died = tokio::select! {
        () = &mut shutdown => None,
        Some(index) = ended.recv() => Some(index),
    };
    match died {
        None => tracing::info!("shutting down: draining requests in flight"),
        Some(index) => tracing::error!(worker = index, "a serving thread ended; stopping"),
    }
    let _ = stop.send(true);
    let still = workers.len() - usize::from(died.is_some());
    let bound = crate::server::DRAIN_TIMEOUT
        + crate::durable::FOLLOW_UP_GRACE
        + BLOCKING_GRACE
        + Duration::from_secs(5);
    let all_ended = async {
        for _ in 0..still {
            if ended.recv().await.is_none() {
                break;
            }
        }
    };
    if tokio::time::timeout(bound, all_ended).await.is_err() {
        return Err(WorkersError::Stuck(bound.as_secs()));
    }
    // Every thread has ended; joining only collects them.
    let _ = tokio::task::spawn_blocking(move || {
        for w in workers {
            let _ = w.thread.join();
        }
    })
    .await;
    match died {
        None => Ok(()),
        Some(index) => Err(WorkersError::Died { index }),
    }
}

/// What a serving thread serves with.
struct Thread {
    index: usize,
    gw: Arc<Gateway>,
    tls: Option<TlsAcceptor>,
    load: Load,
}

impl Thread {
    /// Starts the thread on its own handle to the listening socket.
    fn start(
        self,
        listener: std::net::TcpListener,
        mut stopping: watch::Receiver<bool>,
        ended: Ended,
    ) -> std::io::Result<Worker> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let index = self.index;
        let thread = std::thread::Builder::new()
            .name(format!("cordon-worker-{index}"))
            .spawn(move || {
                // Dropped last, on every way out of this thread.
                let _ended = ended;
                WORKER.with(|w| w.set(index));
                runtime.block_on(async move {
                    let stop = async move {
                        let _ = stopping.wait_for(|s| *s).await;
                    };
                    self.serve(listener, stop).await;
                });
                // Whatever is left (a connection past the drain's limit) holds the gateway;
                // it is dropped here, before the caller closes the log, as dropping the one
                // runtime did.
                runtime.shutdown_timeout(BLOCKING_GRACE);
            })?;
        Ok(Worker { thread })
    }

    /// Accepts and serves until `stop`, then drains this thread's connections.
    async fn serve(self, listener: std::net::TcpListener, stop: impl Future<Output = ()>) {
        let listener = match TcpListener::from_std(listener) {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(worker = self.index, error = %e, "cannot accept connections");
                return;
            }
        };
        let graceful = Drain::new();
        let hold_back = || self.load.over_share(self.index).then_some(HOLD_BACK);
        crate::server::accept_until(&listener, stop, hold_back, |stream, peer| {
            let open = self.load.opened(self.index);
            let (gw, tls, watcher) = (self.gw.clone(), self.tls.clone(), graceful.watcher());
            tokio::spawn(async move {
                crate::server::accepted(gw, stream, peer, tls, watcher).await;
                drop(open);
            });
        })
        .await;
        drop(listener);
        crate::server::drain(graceful).await;
        self.gw.watch().finish_follow_ups().await;
    }
}

/// How long a thread with more than its share of connections waits before accepting
/// again: long enough for an idle thread to take the next connection, short enough that
/// a thread whose peers are stuck still accepts. (Tokio's timer rounds it up to about a
/// millisecond, so such a thread accepts at most about a thousand connections a second.)
const HOLD_BACK: Duration = Duration::from_micros(500);

/// Open connections per serving thread. Threads that accept from one socket otherwise
/// split a burst of new connections by who wakes first, and a benchmark's 64 connections
/// landed 2:1 on two threads.
#[derive(Clone)]
struct Load(Arc<[AtomicUsize]>);

impl Load {
    fn new(threads: usize) -> Load {
        Load((0..threads).map(|_| AtomicUsize::new(0)).collect())
    }

    /// Whether thread `index` holds more than one connection beyond the least loaded.
    fn over_share(&self, index: usize) -> bool {
        let least = self
            .0
            .iter()
            .map(|n| n.load(Ordering::Relaxed))
            .min()
            .unwrap_or(0);
        self.0
            .get(index)
            .is_some_and(|n| n.load(Ordering::Relaxed) > least + 1)
    }

    /// Counts a connection on thread `index` until the returned guard is dropped.
    fn opened(&self, index: usize) -> Open {
        if let Some(n) = self.0.get(index) {
            n.fetch_add(1, Ordering::Relaxed);
        }
        Open {
            load: self.clone(),
            index,
        }
    }
}

struct Open {
    load: Load,
    index: usize,
}

impl Drop for Open {
    fn drop(&mut self) {
        if let Some(n) = self.load.0.get(self.index) {
            n.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_more_than_one_connection_ahead_of_the_least_loaded_holds_back() {
        let load = Load::new(2);
        let first = load.opened(0);
        assert!(!load.over_share(0), "one ahead is within its share");
        let second = load.opened(0);
        assert!(load.over_share(0), "two ahead holds back");
        assert!(!load.over_share(1));
        drop(second);
        assert!(!load.over_share(0), "a closed connection no longer counts");
        let other = load.opened(1);
        let third = load.opened(0);
        assert!(!load.over_share(0), "2 against 1");
        drop((first, other, third));
        assert!(!load.over_share(0) && !load.over_share(1));
    }

    #[test]
    fn metrics_show_each_serving_threads_open_connections() {
        let load = Load::new(2);
        let metrics = crate::metrics::Metrics::default();
        let _ = metrics.serving.set(load.0.clone());
        let _open = (load.opened(1), load.opened(1));
        let text = metrics.render(&cordon_log::log::Stats::default(), 0);
        assert!(
            text.contains("cordon_serving_connections{thread=\"0\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("cordon_serving_connections{thread=\"1\"} 2\n"),
            "{text}"
        );
    }
}
