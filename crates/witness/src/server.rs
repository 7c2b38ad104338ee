//! The witness's HTTP side: `POST <prefix>/add-checkpoint` per C2SP tlog-witness, each
//! outcome of [`Witness::add_checkpoint`] as the status, body and content type the spec
//! prescribes; `GET <prefix>/<origin hash>/checkpoint` for monitors; graceful shutdown.
use std::convert::Infallible;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cordon_log::witness::{AddCheckpoint, Witness, WitnessError};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use crate::client::SIZE_CONTENT_TYPE;
use crate::monitor::Monitor;

/// Largest `add-checkpoint` body accepted: an old-size line, 63 proof lines and a
/// checkpoint with a few signatures fit in well under this.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// How long a graceful shutdown waits for requests in flight.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

type Body = Full<Bytes>;

/// A witness and its monitoring copy, answering under one submission prefix.
pub struct WitnessService {
    witness: Witness,
    monitor: Monitor,
    prefix: String,
}

impl WitnessService {
    /// `prefix` is the path part of the submission prefix (`""` or e.g. `/witness`);
    /// cosigned checkpoints for monitors are kept in `monitor_dir`.
    pub fn new(witness: Witness, monitor_dir: &Path, prefix: &str) -> std::io::Result<Self> {
        let monitor = Monitor::new(monitor_dir, witness.verifier())?;
        Ok(WitnessService {
            witness,
            monitor,
            prefix: prefix.trim_end_matches('/').to_string(),
        })
    }

    /// The witness's own verifier key, as logs and auditors configure it.
    pub fn verifier(&self) -> cordon_log::Verifier {
        self.witness.verifier()
    }
}

/// Serves until `shutdown` resolves, then waits (bounded) for requests in flight.
pub async fn serve(
    service: Arc<WitnessService>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) {
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
        let service = service.clone();
        let svc = hyper::service::service_fn(move |req| {
            let service = service.clone();
            async move { Ok::<_, Infallible>(handle(service, req).await) }
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

async fn handle(service: Arc<WitnessService>, req: Request<Incoming>) -> Response<Body> {
    let Some(rest) = req.uri().path().strip_prefix(service.prefix.as_str()) else {
        return not_found(&service.prefix);
    };
    if rest == "/add-checkpoint" {
        if req.method() != Method::POST {
            return method_not_allowed("add-checkpoint takes a POST", "POST");
        }
        return add_checkpoint(service, req).await;
    }
    let hash = rest
        .strip_prefix('/')
        .and_then(|r| r.strip_suffix("/checkpoint"));
    match hash {
        Some(_) if req.method() != Method::GET && req.method() != Method::HEAD => {
            method_not_allowed("a checkpoint is read with GET", "GET, HEAD")
        }
        Some(h) => match service.monitor.read(h) {
            Some(bytes) => text(StatusCode::OK, &String::from_utf8_lossy(&bytes)),
            None => text(
                StatusCode::NOT_FOUND,
                "this witness has cosigned no checkpoint for that log\n",
            ),
        },
        None => not_found(&service.prefix),
    }
}

fn not_found(prefix: &str) -> Response<Body> {
    text(
        StatusCode::NOT_FOUND,
        &format!("not found; this witness answers POST {prefix}/add-checkpoint and GET {prefix}/<origin hash>/checkpoint\n"),
    )
}

fn method_not_allowed(why: &str, allow: &'static str) -> Response<Body> {
    let mut r = text(StatusCode::METHOD_NOT_ALLOWED, why);
    r.headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    r
}

async fn add_checkpoint(service: Arc<WitnessService>, req: Request<Incoming>) -> Response<Body> {
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
    let outcome = tokio::task::spawn_blocking(move || {
        let lines = service.witness.add_checkpoint(&body)?;
        remember(&service.monitor, &body, &lines);
        Ok::<_, WitnessError>(lines)
    })
    .await;
    match outcome {
        Ok(Ok(lines)) => text(StatusCode::OK, &lines),
        Ok(Err(e)) => refusal(&e),
        Err(_) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the witness failed while checking the checkpoint",
        ),
    }
}

/// Keeps the monitoring copy. The cosignature is already durable in the witness's
/// state, so a failure here is logged, not returned: the spec lets monitors lag.
fn remember(monitor: &Monitor, body: &[u8], lines: &str) {
    let recorded = AddCheckpoint::parse(body)
        .ok()
        .and_then(|req| {
            let note = cordon_log::Note::parse(&req.checkpoint).ok()?;
            let cp = cordon_log::Checkpoint::parse_text(note.text()).ok()?;
            Some(monitor.record(&cp.origin, cp.size, &req.checkpoint, lines))
        })
        .unwrap_or_else(|| Err("the cosigned request no longer parses".into()));
    match recorded {
        Ok(()) => tracing::info!("cosigned a checkpoint"),
        Err(why) => tracing::warn!(%why, "cosigned, but could not keep the monitoring copy"),
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
