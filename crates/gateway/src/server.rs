//! The HTTP(S) server: accepts connections, terminates TLS, dispatches each request to
//! the reverse proxy, forward-auth, `/metrics`, `/healthz` or the public log, and shuts
//! down gracefully. Which protocol a connection speaks is [`crate::conn`]'s choice.
use crate::config::{Dialect, ForwardAuthSection};
use crate::conn::{Drain, Limits, Protocol, Watcher};
use crate::gate::{Ask, Problem, Via};
use crate::identity::CertNames;
use crate::metrics::Outcome;
use crate::public::{parse_public_path, PublicFile};
use crate::respond::{self, refuse, stamp, Body};
use crate::Gateway;
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CACHE_CONTROL};
use hyper::{HeaderMap, Method, Request, Response, StatusCode};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// Largest request head (request line and headers) accepted; larger gets 431.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// How long a graceful shutdown waits for requests in flight.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves until `shutdown` resolves, then stops accepting and waits (bounded) for the
/// requests in flight. The caller closes the log afterwards. Everything runs on the
/// caller's runtime; `cordon serve` spreads connections over threads with
/// [`crate::workers::serve`] instead.
pub async fn serve(
    gw: Arc<Gateway>,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = Drain::new();
    accept_until(
        &listener,
        shutdown,
        || None,
        |stream, peer| {
            let watcher = graceful.watcher();
            tokio::spawn(accepted(gw.clone(), stream, peer, tls.clone(), watcher));
        },
    )
    .await;
    drop(listener);
    tracing::info!("shutting down: draining requests in flight");
    drain(graceful).await;
    gw.watch().finish_follow_ups().await;
}

/// Accepts connections until `shutdown` resolves and hands each, with Nagle's delay off,
/// to `dispatch`. Before each accept, `hold_back` may name a pause (a serving thread with
/// more than its share of connections lets the others take the next). A failed accept (out
/// of file descriptors, say) is retried shortly after.
pub(crate) async fn accept_until(
    listener: &TcpListener,
    shutdown: impl Future<Output = ()>,
    hold_back: impl Fn() -> Option<Duration>,
    mut dispatch: impl FnMut(TcpStream, SocketAddr),
) {
    tokio::pin!(shutdown);
    loop {
        if let Some(pause) = hold_back() {
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = &mut shutdown => return,
            }
        }
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => return,
        };
        let _ = stream.set_nodelay(true);
        dispatch(stream, peer);
    }
}

/// Waits, at most [`DRAIN_TIMEOUT`], for every connection of `graceful` to finish.
pub(crate) async fn drain(graceful: Drain) {
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after {DRAIN_TIMEOUT:?}; closing anyway");
    }
}

/// Serves one accepted connection: the TLS handshake when configured, then HTTP.
pub(crate) async fn accepted(
    gw: Arc<Gateway>,
    stream: TcpStream,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    watcher: Watcher,
) {
    gw.metrics.count_connection();
    let peer_ip = peer.ip();
    match tls {
        None => {
            let protocol = Protocol::plain(gw.config.http2.h2c);
            connection(stream, protocol, gw, peer_ip, None, watcher).await;
        }
        Some(acceptor) => {
            let hs = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await;
            let Ok(Ok(tls_stream)) = hs else {
                tracing::debug!(%peer, "TLS handshake failed");
                return;
            };
            let cert = tls_stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .map(|c| Arc::new(crate::tls::cert_names(c.as_ref())));
            let protocol = Protocol::after_tls(tls_stream.get_ref().1.alpn_protocol());
            connection(tls_stream, protocol, gw, peer_ip, cert, watcher).await;
        }
    }
}

/// Serves one client connection in the protocol chosen for it; every request goes to
/// [`handle`].
async fn connection<I>(
    io: I,
    protocol: Protocol,
    gw: Arc<Gateway>,
    peer: IpAddr,
    cert: Option<Arc<CertNames>>,
    watcher: Watcher,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let limits = Limits::of(&gw.config);
    let handler = move |req: Request<Incoming>| {
        let gw = gw.clone();
        let cert = cert.clone();
        async move {
            let head = req.method() == hyper::Method::HEAD;
            let answer = handle(&gw, req, peer, cert.as_deref()).await;
            // HTTP/1.1 drops a HEAD answer's body itself; HTTP/2 would send it as DATA,
            // which a client reads as a protocol error and never sees the status.
            if head {
                let (parts, _) = answer.into_parts();
                Response::from_parts(parts, crate::respond::full(bytes::Bytes::new()))
            } else {
                answer
            }
        }
    };
    crate::conn::serve(io, protocol, limits, handler, watcher).await;
}

async fn handle(
    gw: &Gateway,
    req: Request<Incoming>,
    peer: IpAddr,
    cert: Option<&CertNames>,
) -> Response<Body> {
    let head: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum::<usize>()
        + req.uri().to_string().len();
    if head > MAX_HEAD_BYTES {
        gw.metrics.count(Outcome::BadRequest);
        let mut r = refuse(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            &format!(
                "the request line and headers are {head} bytes, over the limit of {MAX_HEAD_BYTES}"
            ),
            "send fewer or shorter headers",
        );
        stamp(&mut r, None, &gw.origin_header);
        return r;
    }
    if let Some(why) = crate::conn::authority_conflict(&req) {
        gw.metrics.count(Outcome::BadRequest);
        let mut r = refuse(
            StatusCode::BAD_REQUEST,
            &why,
            "send one authority, in :authority (or Host, the same)",
        );
        stamp(&mut r, None, &gw.origin_header);
        return r;
    }
    if let Some(why) = ambiguous_framing(req.method(), req.headers()) {
        gw.metrics.count(Outcome::BadRequest);
        let mut r = refuse(
            StatusCode::BAD_REQUEST,
            why,
            "send one Content-Length, or Transfer-Encoding: chunked alone",
        );
        r.headers_mut()
            .insert(hyper::header::CONNECTION, HeaderValue::from_static("close"));
        stamp(&mut r, None, &gw.origin_header);
        return r;
    }
    let peer = crate::client::address(&gw.config.trusted_proxies, peer, req.headers());
    let path = req.uri().path();
    if path == "/healthz" {
        let deadline = Duration::from_millis(gw.config.log.durable_deadline_ms);
        if let Some(why) = gw.watch.stalled(deadline) {
            return respond::json(
                StatusCode::SERVICE_UNAVAILABLE,
                &serde_json::json!({"status": "unhealthy", "log": gw.origin, "why": format!("the log is not keeping up: {why}"), "log_size": gw.log.durable_size()}),
            );
        }
        let mut health = serde_json::json!({"status": "ok", "log": gw.origin, "log_size": gw.log.durable_size()});
        // Decisions are still durable, so the gateway stays in service; but nothing newer
        // is being published under a signed checkpoint, which whoever watches must hear.
        if let Some(why) = gw.log.integration_error() {
            health["status"] = "degraded".into();
            health["publication"] = serde_json::json!({
                "stalled": true,
                "why": why,
                "checkpoint_size": gw.log.checkpoint().checkpoint.size,
                "what_to_do": "free disk space or fix the log directory's tiles; durable entries are published once the next round succeeds",
            });
        }
        return respond::json(StatusCode::OK, &health);
    }
    if path == "/metrics" {
        return crate::ops::on_data_listener(gw, req.headers());
    }
    if let Some(rest) = path
        .strip_prefix(gw.config.public_log_prefix.as_str())
        .and_then(|r| r.strip_prefix('/'))
    {
        return public(gw, rest).await;
    }
    if let Some(register) = gw.config.register.as_ref() {
        if crate::requests::is_register_path(path, &register.path) {
            return crate::requests::handle(gw, &register.path, req, cert).await;
        }
    }
    if let Some(fa) = gw.config.forward_auth.as_ref().filter(|f| f.path == path) {
        return forward_auth(gw, fa, req, peer, cert).await;
    }
    proxy(gw, req, peer, cert).await
}

/// Framing that two parsers could read two ways (RFC 9112 §6.3 says such a message
/// "ought to be handled as an error"): refused, and the connection closed, so nothing
/// behind it on the connection is read as a request. hyper drops `Content-Length` when
/// `Transfer-Encoding` is present, so a GET or HEAD, which has no body to frame, is
/// refused whenever it names a transfer coding.
fn ambiguous_framing(method: &Method, h: &HeaderMap) -> Option<&'static str> {
    let te = h.get_all(hyper::header::TRANSFER_ENCODING).iter().count();
    if te > 0 && (method == Method::GET || method == Method::HEAD) {
        return Some("a GET or HEAD request has no body, yet this one names a Transfer-Encoding");
    }
    let cl = h.get_all(hyper::header::CONTENT_LENGTH).iter().count();
    if te > 0 && cl > 0 {
        return Some("the request has both Transfer-Encoding and Content-Length");
    }
    if te > 1 || cl > 1 {
        return Some("the request repeats its Transfer-Encoding or Content-Length header");
    }
    None
}

async fn proxy(
    gw: &Gateway,
    req: Request<Incoming>,
    peer: IpAddr,
    cert: Option<&CertNames>,
) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, gw.config.max_body_bytes).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            gw.metrics.count(Outcome::BadRequest);
            let mut r = refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!(
                    "the request body is larger than {} bytes",
                    gw.config.max_body_bytes
                ),
                "send a smaller request",
            );
            stamp(&mut r, None, &gw.origin_header);
            return r;
        }
    };
    let pq = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    // A GET or HEAD carries no body: one sent anyway would not be decided.
    let is_read = parts.method == Method::GET || parts.method == Method::HEAD;
    let problem = (is_read && !body.is_empty()).then(|| Problem {
        error: "the request carries a body, which a GET or HEAD request does not: nothing a body says is decided".into(),
        fix: "send the request without a body",
    });
    let ask = Ask {
        via: Via::Proxy,
        method: &parts.method,
        path_and_query: pq,
        body: &body,
        headers: &parts.headers,
        peer,
        cert,
        problem,
    };
    match gw.admit(&ask).await {
        Err(refused) => {
            gw.metrics.count(refused.outcome);
            let mut r = *refused.response;
            stamp(&mut r, refused.receipt, &gw.origin_header);
            r
        }
        Ok(admitted) => {
            let r = gw
                .forward(admitted, parts.method.clone(), parts.headers)
                .await;
            if !matches!(
                r.status(),
                StatusCode::BAD_GATEWAY | StatusCode::GATEWAY_TIMEOUT
            ) {
                gw.metrics.count(Outcome::Allowed);
            }
            r
        }
    }
}

/// The original method and URI a forward-auth subrequest describes, read from the
/// configured dialect's headers only. Another dialect's original-request headers, or a
/// header sent twice, mean someone other than the proxy wrote them: refused.
fn original(h: &HeaderMap, dialect: Dialect) -> Result<(Method, String), String> {
    for foreign in dialect.foreign_headers() {
        if h.contains_key(*foreign) {
            return Err(format!(
                "the request carries {foreign}, which a {} proxy does not send: a client supplied it",
                dialect.name()
            ));
        }
    }
    let (method_name, uri_name) = dialect.headers();
    let one = |name: &str| -> Result<String, String> {
        let mut values = h.get_all(name).iter();
        let v = values
            .next()
            .ok_or_else(|| format!("the {} proxy did not send {name}", dialect.name()))?;
        if values.next().is_some() {
            return Err(format!("{name} appears more than once"));
        }
        v.to_str()
            .map(str::to_owned)
            .map_err(|_| format!("{name} is not visible ASCII"))
    };
    let uri = one(uri_name)?;
    let method = Method::from_bytes(one(method_name)?.as_bytes())
        .map_err(|_| format!("{method_name} is not an HTTP method"))?;
    Ok((method, uri))
}

/// Whether the caller is the configured proxy: by its verified client certificate, or by
/// the shared secret (compared as SHA-256 digests, so the comparison's timing says
/// nothing about the secret).
fn is_proxy(
    gw: &Gateway,
    fa: &ForwardAuthSection,
    h: &HeaderMap,
    cert: Option<&CertNames>,
) -> bool {
    if let Some(names) = cert {
        if names.0.iter().any(|n| fa.proxy_certificates.contains(n)) {
            return true;
        }
    }
    let Some(secret) = &gw.proxy_secret else {
        return false;
    };
    let mut sent = h.get_all(fa.proxy_secret_header.as_str()).iter();
    match (sent.next(), sent.next()) {
        (Some(v), None) => {
            use sha2::{Digest, Sha256};
            Sha256::digest(v.as_bytes()) == Sha256::digest(secret)
        }
        _ => false,
    }
}

async fn forward_auth(
    gw: &Gateway,
    fa: &ForwardAuthSection,
    req: Request<Incoming>,
    peer: IpAddr,
    cert: Option<&CertNames>,
) -> Response<Body> {
    let headers = req.headers();
    if !is_proxy(gw, fa, headers, cert) {
        gw.metrics.count(Outcome::Unauthenticated);
        let mut r = refuse(
            StatusCode::UNAUTHORIZED,
            "only the configured proxy may call the forward-auth endpoint",
            "send requests through the proxy; operators: configure forward_auth.proxy_certificates or proxy_secret_file",
        );
        stamp(&mut r, None, &gw.origin_header);
        return r;
    }
    let (method, uri, problem) = match original(headers, fa.dialect) {
        Ok((m, u)) => (m, u, None),
        Err(error) => (Method::GET, "/".to_owned(), Some(Problem {
            error,
            fix: "the proxy must describe the original request in its own dialect only; strip client-supplied X-Original-* and X-Forwarded-* headers at the proxy",
        })),
    };
    // Forward-auth decides without a body, so a request that has one (a proxy set to
    // pass bodies to the auth endpoint, as Traefik's forwardBody does) is refused: the
    // body would reach the service undecided.
    let problem = problem.or_else(|| {
        (hyper::body::Body::size_hint(req.body()).exact() != Some(0)).then(|| Problem {
            error: "the original request carries a body, and forward-auth decides without one".into(),
            fix: "send the request without a body; operators: the proxy must refuse such requests or pass the body here (Traefik forwardBody) to be refused, as the shipped configs do",
        })
    });
    let ask = Ask {
        via: Via::ForwardAuth,
        method: &method,
        path_and_query: &uri,
        body: &[],
        headers,
        peer,
        cert,
        problem,
    };
    match gw.admit(&ask).await {
        Err(refused) => {
            gw.metrics.count(refused.outcome);
            let mut r = *refused.response;
            // NGINX auth_request understands only 2xx, 401 and 403 (anything else is a
            // 500); 503 stays, because it fails closed either way and says to retry.
            if !matches!(
                r.status(),
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::SERVICE_UNAVAILABLE
            ) {
                if let Ok(v) = HeaderValue::from_str(r.status().as_str()) {
                    r.headers_mut().insert("cordon-status", v);
                }
                *r.status_mut() = StatusCode::FORBIDDEN;
            }
            stamp(&mut r, refused.receipt, &gw.origin_header);
            r
        }
        Ok(admitted) => {
            gw.metrics.count(Outcome::Allowed);
            let mut r = respond::text(StatusCode::OK, "text/plain", Bytes::new());
            let h = r.headers_mut();
            let mut set = |k: &'static str, v: &str| {
                if let Ok(v) = HeaderValue::from_str(v) {
                    h.insert(k, v);
                }
            };
            set("cordon-principal", &admitted.identity.principal);
            set("cordon-agency", &admitted.identity.agency);
            // Only reached with fields to remove when the route says the upstream removes them.
            set(
                "cordon-redact",
                &admitted.decision.obligations.redact.join(","),
            );
            stamp(&mut r, Some(admitted.receipt), &gw.origin_header);
            r
        }
    }
}

/// The checkpoint or a hash tile; also served at the root of the public listener. A tile is
/// read off the event loop, so a stalled disk holds this request, not every connection of
/// the serving thread.
pub(crate) async fn public(gw: &Gateway, rest: &str) -> Response<Body> {
    let not_public = || {
        refuse(
            StatusCode::NOT_FOUND,
            "only the checkpoint and hash tiles are public (entry bundles are private)",
            "fetch <prefix>/checkpoint or <prefix>/tile/<level>/<index>",
        )
    };
    match parse_public_path(rest) {
        Some(PublicFile::Checkpoint) => {
            let bytes = match &gw.publication {
                None => gw.log.checkpoint().to_bytes(),
                Some(p) => match p.published() {
                    Some(published) => published.bytes,
                    None => return refuse(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "no checkpoint has been cosigned by enough witnesses yet",
                        "try again shortly; the operator can watch cordon_publication_lag_entries",
                    ),
                },
            };
            let mut r = respond::text(
                StatusCode::OK,
                "text/plain; charset=utf-8",
                Bytes::from(bytes),
            );
            r.headers_mut()
                .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            r
        }
        // With witnesses, the tiles of the published tree: the log's own partial tiles
        // for that size may already be replaced by newer ones.
        Some(PublicFile::Tile(rel)) => match tokio::time::timeout(
            Duration::from_millis(gw.config.log.durable_deadline_ms),
            tokio::fs::read(
                gw.publication
                    .as_ref()
                    .map_or(gw.log.root(), |p| p.dir())
                    .join(&rel),
            ),
        )
        .await
        {
            Err(_) => refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "the log's storage did not answer in time",
                "try again shortly",
            ),
            Ok(Ok(bytes)) => {
                let mut r = respond::text(
                    StatusCode::OK,
                    "application/octet-stream",
                    Bytes::from(bytes),
                );
                if !rel.to_string_lossy().contains(".p") {
                    r.headers_mut().insert(
                        CACHE_CONTROL,
                        HeaderValue::from_static("public, max-age=31536000, immutable"),
                    );
                }
                r
            }
            Ok(Err(_)) => refuse(
                StatusCode::NOT_FOUND,
                "no such tile (yet)",
                "fetch the checkpoint first; tiles exist up to its size",
            ),
        },
        None => not_public(),
    }
}

/// Binds the configured address and prepares TLS if configured.
pub async fn bind(
    config: &crate::config::Config,
) -> Result<(TcpListener, Option<TlsAcceptor>), crate::GatewayError> {
    let tls = config
        .tls
        .as_ref()
        .map(|t| crate::tls::server_config(t, config.http2.enabled))
        .transpose()?
        .map(TlsAcceptor::from);
    let listener =
        TcpListener::bind(config.listen)
            .await
            .map_err(|e| crate::GatewayError::Bind {
                addr: config.listen,
                message: e.to_string(),
            })?;
    Ok((listener, tls))
}
