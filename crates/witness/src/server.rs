//! The witness's HTTP side: `POST <prefix>/add-checkpoint` per C2SP tlog-witness, each
//! outcome of [`Witness::add_checkpoint`] as the status, body and content type the spec
//! prescribes, and a graceful shutdown.
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cordon_log::witness::{Witness, WitnessError};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use crate::client::SIZE_CONTENT_TYPE;

/// Largest `add-checkpoint` body accepted: an old-size line, 63 proof lines and a
/// checkpoint with a few signatures fit in well under this.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// How long a graceful shutdown waits for requests in flight.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

type Body = Full<Bytes>;

/// Serves `witness` on `listener` until `shutdown` resolves. `prefix` is the submission
/// prefix's path (`""` or e.g. `/witness`), under which `add-checkpoint` lives.
pub async fn serve(
    witness: Arc<Witness>,
    listener: TcpListener,
    prefix: &str,
    shutdown: impl Future<Output = ()>,
) {
    let endpoint: Arc<str> = format!("{}/add-checkpoint", prefix.trim_end_matches('/')).into();
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((s, _)) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let (witness, endpoint) = (witness.clone(), endpoint.clone());
        let svc = hyper::service::service_fn(move |req| {
            let (witness, endpoint) = (witness.clone(), endpoint.clone());
            async move { Ok::<_, Infallible>(handle(witness, &endpoint, req).await) }
        });
        let conn = hyper::server::conn::http1::Builder::new()
            .header_read_timeout(Duration::from_secs(30))
            .timer(hyper_util::rt::TokioTimer::new())
            .serve_connection(TokioIo::new(stream), svc);
        let watched = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = watched.await;
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after {DRAIN_TIMEOUT:?}; closing anyway");
    }
}

async fn handle(witness: Arc<Witness>, endpoint: &str, req: Request<Incoming>) -> Response<Body> {
    if req.uri().path() != endpoint {
        return text(
            StatusCode::NOT_FOUND,
            &format!("not found; this witness answers POST {endpoint}"),
        );
    }
    if req.method() != Method::POST {
        let mut r = text(
            StatusCode::METHOD_NOT_ALLOWED,
            "add-checkpoint takes a POST",
        );
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("POST"));
        return r;
    }
    let body = match Limited::new(req.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return text(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
            )
        }
    };
    // Checking and persisting fsyncs: keep it off the async workers.
    let w = witness.clone();
    let outcome = tokio::task::spawn_blocking(move || w.add_checkpoint(&body)).await;
    match outcome {
        Ok(Ok(lines)) => {
            tracing::info!("cosigned a checkpoint");
            text(StatusCode::OK, &lines)
        }
        Ok(Err(e)) => refusal(&e),
        Err(_) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the witness failed while checking the checkpoint",
        ),
    }
}

/// The spec's answer to each refusal: a 409 carries only the latest size, typed.
fn refusal(e: &WitnessError) -> Response<Body> {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    tracing::info!(status = status.as_u16(), reason = %e, "refused a checkpoint");
    if let WitnessError::Conflict { latest } = e {
        let mut r = text(status, &format!("{latest}\n"));
        r.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(SIZE_CONTENT_TYPE));
        return r;
    }
    text(status, &format!("{e}\n"))
}

fn text(status: StatusCode, body: &str) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}
