//! `/metrics`: served only where the config says (a separate listener, or the data
//! listener to holders of a token), because its counters describe who is refused and how
//! often. Without `[metrics]` the data listener answers 404 saying how to enable it.
use crate::config::{Config, ConfigError};
use crate::respond::{self, refuse, Body};
use crate::{Gateway, GatewayError};
use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, AUTHORIZATION, WWW_AUTHENTICATE};
use hyper::{HeaderMap, Request, Response, StatusCode};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// `/metrics` on the data listener.
pub(crate) fn on_data_listener(gw: &Gateway, headers: &HeaderMap) -> Response<Body> {
    let section = gw.config.metrics.as_ref();
    if gw.metrics_token.is_none() {
        let fix = match section.and_then(|m| m.listen) {
            Some(listen) => format!("read /metrics from the metrics listener at {listen}"),
            None => "operators: set [metrics] listen = \"127.0.0.1:9100\" for a separate listener, or [metrics] token_file to serve it here to holders of that token".to_owned(),
        };
        return refuse(
            StatusCode::NOT_FOUND,
            "/metrics is not served on this listener",
            &fix,
        );
    }
    guarded(gw, headers)
}

/// The counters, to a holder of the token when one is configured.
fn guarded(gw: &Gateway, headers: &HeaderMap) -> Response<Body> {
    if let Some(token) = &gw.metrics_token {
        if !holds(headers, token) {
            let mut r = refuse(
                StatusCode::UNAUTHORIZED,
                "/metrics needs the metrics token",
                "send `Authorization: Bearer <token>` with the token in the file metrics.token_file names",
            );
            r.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"cordon-metrics\""),
            );
            return r;
        }
    }
    render(gw)
}

/// Compares SHA-256 digests, so the comparison's timing says nothing about the token.
fn holds(headers: &HeaderMap, token: &[u8]) -> bool {
    use sha2::{Digest, Sha256};
    let mut sent = headers.get_all(AUTHORIZATION).iter();
    let (Some(v), None) = (sent.next(), sent.next()) else {
        return false;
    };
    let Some(t) = v.as_bytes().strip_prefix(b"Bearer ") else {
        return false;
    };
    Sha256::digest(t.trim_ascii()) == Sha256::digest(token)
}

fn render(gw: &Gateway) -> Response<Body> {
    let size = gw.log.checkpoint().checkpoint.size;
    let mut text = gw.metrics.render(gw.log.stats(), size);
    gw.watch.render(&mut text);
    if let Some(p) = &gw.publication {
        p.render_metrics(&mut text, size);
    }
    respond::text(
        StatusCode::OK,
        "text/plain; version=0.0.4",
        Bytes::from(text),
    )
}

/// The metrics token, trimmed of a trailing newline; a short one is refused.
pub(crate) fn read_token(config: &Config) -> Result<Option<Vec<u8>>, GatewayError> {
    let Some(path) = config.metrics.as_ref().and_then(|m| m.token_file.as_ref()) else {
        return Ok(None);
    };
    let bad = |message: String| {
        GatewayError::Config(ConfigError::Invalid(format!(
            "metrics.token_file {}: {message}",
            path.display()
        )))
    };
    let text = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let token = text.trim_ascii().to_vec();
    if token.len() < 16 {
        return Err(bad(
            "the token is shorter than 16 bytes: generate one, e.g. `openssl rand -hex 32`".into(),
        ));
    }
    Ok(Some(token))
}

/// Serves `/metrics` (and nothing else) on the `[metrics] listen` listener until
/// `shutdown` resolves.
pub async fn serve(gw: Arc<Gateway>, listener: TcpListener, shutdown: impl Future<Output = ()>) {
    let handle = move |req: Request<Incoming>| {
        let gw = gw.clone();
        async move {
            match req.uri().path() {
                "/metrics" => guarded(&gw, req.headers()),
                _ => refuse(
                    StatusCode::NOT_FOUND,
                    "this listener serves only /metrics",
                    "GET /metrics",
                ),
            }
        }
    };
    let timeout = Duration::from_secs(10);
    crate::listener::serve_http1(listener, shutdown, "metrics", timeout, handle).await;
}
