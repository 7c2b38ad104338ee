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
use tokio::sync::{oneshot, watch};
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
const BLOCKING_GRACE: Duration = Duration::from_secs(1);

/// Why the serving threads could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot start serving thread {index}: {message}")]
pub struct WorkersError {
    index: usize,
    message: String,
}

/// One serving thread, as [`serve`] sees it.
struct Worker {
    finished: oneshot::Receiver<()>,
    thread: std::thread::JoinHandle<()>,
}

/// Serves `listener` on `count` threads until `shutdown` resolves; then every thread stops
/// accepting and drains its requests in flight at the same time as the others (so the
/// whole drain is bounded by [`crate::server::DRAIN_TIMEOUT`], as [`crate::server::serve`]),
/// and this returns once all have finished and dropped their tasks. The caller closes the
/// log afterwards.
pub async fn serve(
    gw: Arc<Gateway>,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    count: usize,
    shutdown: impl Future<Output = ()>,
) -> Result<(), WorkersError> {
    let listener = listener.into_std().map_err(|e| WorkersError {
        index: 0,
        message: format!("cannot share the listening socket: {e}"),
    })?;
    let (stop, stopping) = watch::channel(false);
    let load = Load::new(count.max(1));
    // A second serve() of the same gateway (tests) keeps reporting the first's threads.
    let _ = gw.metrics.serving.set(load.0.clone());
    let mut workers = Vec::with_capacity(count.max(1));
    for index in 0..count.max(1) {
        let failed = |e: std::io::Error| WorkersError {
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
        workers.push(thread.start(own, stopping.clone()).map_err(failed)?);
    }
    drop(listener);
    shutdown.await;
    tracing::info!("shutting down: draining requests in flight");
    let _ = stop.send(true);
    for (index, w) in workers.into_iter().enumerate() {
        if w.finished.await.is_err() {
            tracing::error!(
                worker = index,
                "a serving thread ended without finishing its drain"
            );
        }
        // It has just finished; joining only collects it.
        let _ = tokio::task::spawn_blocking(move || w.thread.join()).await;
    }
    Ok(())
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
    ) -> std::io::Result<Worker> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (done, finished) = oneshot::channel();
        let index = self.index;
        let thread = std::thread::Builder::new()
            .name(format!("cordon-worker-{index}"))
            .spawn(move || {
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
                let _ = done.send(());
            })?;
        Ok(Worker { finished, thread })
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
    }
}

/// How long a thread with more than its share of connections waits before accepting
/// again: long enough for an idle thread to take the next connection, short enough that
/// a thread whose peers are stuck still accepts.
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
