//! One accept loop for the gateway's side listeners (the public page, `/metrics`): HTTP/1.1
//! with a header deadline, a failed accept retried, and connections drained on shutdown.
use crate::respond::Body;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;
use tokio::net::TcpListener;

/// Serves `handle` on `listener` until `shutdown` resolves, then waits at most the
/// gateway's drain timeout for connections in flight. `what` names the listener in logs.
pub async fn serve_http1<H, F>(
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
    what: &'static str,
    header_timeout: Duration,
    handle: H,
) where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((s, _)) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "{what} listener: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let handle = handle.clone();
        let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
            let answer = handle(req);
            async move { Ok::<_, Infallible>(answer.await) }
        });
        let conn = hyper::server::conn::http1::Builder::new()
            .header_read_timeout(header_timeout)
            .timer(hyper_util::rt::TokioTimer::new())
            .serve_connection(TokioIo::new(stream), svc);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(crate::server::DRAIN_TIMEOUT, graceful.shutdown()).await;
}
