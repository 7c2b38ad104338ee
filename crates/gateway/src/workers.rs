//! The gateway's serving threads, in the manner of NGINX's worker processes: each runs its
//! own single-threaded event loop with its own upstream connections, and a connection,
//! once accepted, stays on one of them, so a request is served from accept to answer
//! without waking another thread. (A work-stealing runtime moves tasks between threads
//! at every hop; crates/gateway/BENCHMARKS.md has the measurement.)
//!
//! One listening socket, accepted on the caller's runtime and handed to the threads in
//! turn: a second gateway started on the same port fails with "address in use", as it
//! always has, instead of silently taking a share of the connections (`SO_REUSEPORT`
//! would let it).
use crate::conn::Drain;
use crate::Gateway;
use std::cell::Cell;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio_rustls::TlsAcceptor;

thread_local! {
    /// Which serving thread this is; 0 outside them (tests, the demo, side listeners).
    static WORKER: Cell<usize> = const { Cell::new(0) };
}

/// The serving thread the caller runs on, for picking its own upstream connection pool.
pub(crate) fn current() -> usize {
    WORKER.with(Cell::get)
}

/// Why the serving threads could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot start serving thread {index}: {message}")]
pub struct WorkersError {
    index: usize,
    message: String,
}

/// A connection handed to a serving thread.
type Handoff = (std::net::TcpStream, SocketAddr);

/// One serving thread, as the acceptor sees it.
struct Worker {
    to: mpsc::UnboundedSender<Handoff>,
    finished: oneshot::Receiver<()>,
}

/// Serves `listener` on `count` threads until `shutdown` resolves; then stops accepting,
/// lets every thread drain its requests in flight (bounded, as [`crate::server::serve`]),
/// and returns once all have finished. The caller closes the log afterwards.
pub async fn serve(
    gw: Arc<Gateway>,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    count: usize,
    shutdown: impl Future<Output = ()>,
) -> Result<(), WorkersError> {
    let workers = (0..count.max(1))
        .map(|index| start(index, gw.clone(), tls.clone()))
        .collect::<Result<Vec<_>, _>>()?;
    let mut next = 0;
    crate::server::accept_until(&listener, shutdown, |stream, peer| {
        // Out of the caller's event loop, into the chosen thread's.
        match stream.into_std() {
            Ok(stream) => {
                // A thread that is gone (it panicked) drops what it is sent; the next
                // connection goes to the next thread.
                let _ = workers[next % workers.len()].to.send((stream, peer));
                next = next.wrapping_add(1);
            }
            Err(e) => tracing::warn!(%peer, error = %e, "cannot hand a connection over"),
        }
    })
    .await;
    drop(listener);
    tracing::info!("shutting down: draining requests in flight");
    for w in workers {
        drop(w.to);
        // An error means the thread ended without saying so (it panicked): nothing to wait for.
        let _ = w.finished.await;
    }
    Ok(())
}

/// Starts serving thread `index`: it serves what it is handed until the acceptor hangs
/// up, then drains its own connections.
fn start(index: usize, gw: Arc<Gateway>, tls: Option<TlsAcceptor>) -> Result<Worker, WorkersError> {
    let failed = |e: std::io::Error| WorkersError {
        index,
        message: e.to_string(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(failed)?;
    let (to, mut handed) = mpsc::unbounded_channel::<Handoff>();
    let (done, finished) = oneshot::channel();
    std::thread::Builder::new()
        .name(format!("cordon-worker-{index}"))
        .spawn(move || {
            WORKER.with(|w| w.set(index));
            runtime.block_on(async move {
                let graceful = Drain::new();
                while let Some((stream, peer)) = handed.recv().await {
                    match TcpStream::from_std(stream) {
                        Ok(stream) => {
                            let watcher = graceful.watcher();
                            let (gw, tls) = (gw.clone(), tls.clone());
                            tokio::spawn(crate::server::accepted(gw, stream, peer, tls, watcher));
                        }
                        Err(e) => tracing::warn!(%peer, error = %e, "cannot serve a connection"),
                    }
                }
                crate::server::drain(graceful).await;
            });
            let _ = done.send(());
        })
        .map_err(failed)?;
    Ok(Worker { to, finished })
}
