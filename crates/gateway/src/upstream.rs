//! The connection to the upstream: a pooled, kept-alive client, over verified TLS for an
//! `https://` upstream (its name checked, a client certificate where it requires mutual
//! TLS; HTTP/2 when the upstream chooses it by ALPN), HTTP/2 in the clear only when
//! `upstream.http2 = "h2c"`, with connect, header and body timeouts. Every failure is typed
//! so the client is told what went wrong: a timeout is a 504, a certificate that does not
//! verify a 502 naming the reason; nothing ever falls back to plain HTTP.
use crate::config::{UpstreamHttp2, UpstreamSection};
use crate::tls::{read_certs, read_key, TlsError};
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::HeaderName;
use hyper::{Request, Response, StatusCode, Uri};
use hyper_rustls::{FixedServerNameResolver, HttpsConnector};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::ServerName;
use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

type BoxError = Box<dyn StdError + Send + Sync>;

/// Largest header list accepted from an HTTP/2 upstream (h2 would otherwise allow 16 MiB).
const UPSTREAM_MAX_HEADER_LIST: u32 = 64 * 1024;
/// An HTTP/2 upstream connection is pinged this often while idle, and dropped from the
/// pool when a ping is not answered in time, so a request is not sent down a dead one.
const H2_PING_INTERVAL: Duration = Duration::from_secs(20);
const H2_PING_TIMEOUT: Duration = Duration::from_secs(10);
type Connector = Timed<HttpsConnector<HttpConnector>>;

/// The upstream in reverse-proxy mode.
pub struct Upstream {
    /// `http(s)://host:port`, without a trailing slash.
    pub(crate) base: String,
    /// `host:port`, sent as `Host`.
    pub(crate) authority: String,
    /// One pool per serving thread ([`crate::workers`]): a pooled connection is driven by
    /// the event loop that opened it, so sharing one pool would wake another thread for
    /// every request.
    clients: Box<[Client<Connector, Full<Bytes>>]>,
    connect_timeout: Duration,
    header_timeout: Duration,
    body_timeout: Duration,
    /// Request headers passed on beside the default ones (`upstream.forward_headers`).
    pub(crate) forward_headers: Box<[HeaderName]>,
}

/// Why the upstream could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamSetupError {
    #[error("upstream.{key}: {source}")]
    File {
        key: &'static str,
        #[source]
        source: TlsError,
    },
    #[error("upstream TLS: {0}")]
    Tls(String),
}

/// Why a request to the upstream failed. Each says what happened in words a person can
/// act on; [`Failure::status`] is the answer to give.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    #[error("the upstream could not be reached within {0} ms (upstream.connect_timeout_ms)")]
    ConnectTimeout(u64),
    #[error("the upstream did not begin its answer within {0} ms (upstream.header_timeout_ms)")]
    HeaderTimeout(u64),
    #[error(
        "the upstream's answer stalled: nothing more came for {0} ms (upstream.body_timeout_ms)"
    )]
    BodyTimeout(u64),
    #[error("the upstream's TLS certificate did not verify: {0}")]
    Certificate(String),
    #[error("the TLS connection to the upstream failed: {0}")]
    Tls(String),
    #[error("the upstream could not be reached: {0}")]
    Connect(String),
    #[error("the upstream's answer is larger than {0} bytes (max_response_bytes)")]
    TooLarge(u64),
    #[error("the upstream broke off its answer: {0}")]
    Broken(String),
}

impl Failure {
    /// 504 when the upstream was too slow, 502 for everything else.
    pub fn status(&self) -> StatusCode {
        match self {
            Failure::ConnectTimeout(_) | Failure::HeaderTimeout(_) | Failure::BodyTimeout(_) => {
                StatusCode::GATEWAY_TIMEOUT
            }
            _ => StatusCode::BAD_GATEWAY,
        }
    }

    /// What the client (and the operator, through the client) can do about it.
    pub fn what_to_do(&self) -> &'static str {
        match self {
            Failure::ConnectTimeout(_) | Failure::HeaderTimeout(_) | Failure::BodyTimeout(_) => {
                "the decision is logged (see Cordon-Receipt); try again later, and if it keeps \
                 happening tell the operator: the upstream service is slow or down, or its \
                 timeouts in the [upstream] section are too short"
            }
            Failure::Certificate(_) | Failure::Tls(_) => {
                "nothing was sent to an upstream Cordon could not verify; tell the operator: \
                 the upstream's certificate, upstream.ca, upstream.server_name or the client \
                 certificate (upstream.client_cert) needs fixing"
            }
            _ => {
                "the decision is logged (see Cordon-Receipt); try again later or tell the operator"
            }
        }
    }
}

impl Upstream {
    /// Builds the pooled client for a checked `[upstream]` section, one pool for each of
    /// `workers` serving threads.
    pub fn new(cfg: &UpstreamSection, workers: usize) -> Result<Upstream, UpstreamSetupError> {
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        // The TLS layer above handles `https://`; `https_only` makes it refuse to send a
        // request in the clear, so an upstream configured for TLS is never downgraded.
        http.enforce_http(false);
        let builder = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls_config(cfg)?);
        let mut builder = if cfg.is_https() {
            builder.https_only()
        } else {
            builder.https_or_http()
        };
        if let Some(name) = &cfg.server_name {
            let name = ServerName::try_from(name.clone())
                .map_err(|e| UpstreamSetupError::Tls(format!("server_name: {e}")))?;
            builder = builder.with_server_name_resolver(FixedServerNameResolver::new(name));
        }
        let mode = cfg.http2_mode();
        // ALPN is offered only over TLS; h2c is spoken only when configured (the client is
        // then HTTP/2-only, so a plain upstream is never sent HTTP/2 by guess).
        let https = match mode {
            UpstreamHttp2::Alpn => builder.enable_all_versions().wrap_connector(http),
            UpstreamHttp2::Off | UpstreamHttp2::H2c => builder.enable_http1().wrap_connector(http),
        };
        let connect_timeout = Duration::from_millis(cfg.connect_timeout_ms);
        let mut client = Client::builder(TokioExecutor::new());
        client
            .pool_idle_timeout(Duration::from_millis(cfg.idle_timeout_ms))
            .pool_max_idle_per_host(cfg.max_idle_connections)
            .pool_timer(hyper_util::rt::TokioTimer::new())
            .timer(hyper_util::rt::TokioTimer::new())
            .http2_only(mode == UpstreamHttp2::H2c)
            .http2_max_header_list_size(UPSTREAM_MAX_HEADER_LIST)
            .http2_keep_alive_interval(H2_PING_INTERVAL)
            .http2_keep_alive_timeout(H2_PING_TIMEOUT)
            .http2_keep_alive_while_idle(true);
        let clients = (0..workers.max(1))
            .map(|_| {
                client.build(Timed {
                    inner: https.clone(),
                    limit: connect_timeout,
                })
            })
            .collect();
        let scheme = if cfg.is_https() { "https" } else { "http" };
        Ok(Upstream {
            base: format!("{scheme}://{}", cfg.authority()),
            authority: cfg.authority().to_owned(),
            clients,
            connect_timeout,
            header_timeout: Duration::from_millis(cfg.header_timeout_ms),
            body_timeout: Duration::from_millis(cfg.body_timeout_ms),
            // Checked by `config::upstream::check`: each name is valid and forwardable.
            forward_headers: cfg
                .forward_headers
                .iter()
                .filter_map(|n| HeaderName::from_bytes(n.to_ascii_lowercase().as_bytes()).ok())
                .collect(),
        })
    }

    /// The URI of `path_and_query` on the upstream.
    pub fn uri(&self, path_and_query: &str) -> Option<Uri> {
        format!("{}{path_and_query}", self.base).parse().ok()
    }

    /// Sends a request and waits for the response head.
    pub async fn send(&self, req: Request<Full<Bytes>>) -> Result<Response<Incoming>, Failure> {
        // `new` builds at least one pool, so the index is in range.
        let client = &self.clients[crate::workers::current() % self.clients.len()];
        match tokio::time::timeout(self.header_timeout, client.request(req)).await {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) => Err(classify(&e, self.connect_timeout)),
            Err(_) => Err(Failure::HeaderTimeout(millis(self.header_timeout))),
        }
    }

    /// The longest the upstream may leave a response body idle (`body_timeout_ms`):
    /// responses stream, so the limit is on each wait for more, not on the whole.
    pub fn body_timeout(&self) -> Duration {
        self.body_timeout
    }

    /// The connect timeout, which names a connect failure found in a body's error.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }
}

pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The rustls client config: the configured CAs or the system's roots, and the client
/// certificate when one is configured.
fn tls_config(cfg: &UpstreamSection) -> Result<rustls::ClientConfig, UpstreamSetupError> {
    let file = |key| move |source| UpstreamSetupError::File { key, source };
    let mut roots = rustls::RootCertStore::empty();
    match &cfg.ca {
        Some(ca) => {
            for c in read_certs(ca).map_err(file("ca"))? {
                roots
                    .add(c)
                    .map_err(|e| UpstreamSetupError::Tls(format!("upstream.ca: {e}")))?;
            }
        }
        // Unreadable system certificates leave fewer roots; an upstream whose CA is then
        // missing fails verification (a 502 naming the reason), never silently.
        None => {
            roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| UpstreamSetupError::Tls(e.to_string()))?
        .with_root_certificates(roots);
    // ALPN is set by the connector builder, which requires it unset here.
    let config = match (&cfg.client_cert, &cfg.client_key) {
        (Some(cert), Some(key)) => builder
            .with_client_auth_cert(
                read_certs(cert).map_err(file("client_cert"))?,
                read_key(key).map_err(file("client_key"))?,
            )
            .map_err(|e| {
                UpstreamSetupError::Tls(format!("upstream.client_cert and client_key: {e}"))
            })?,
        _ => builder.with_no_client_auth(),
    };
    Ok(config)
}

/// Finds what went wrong in an error's chain: a connect timeout, a rustls error, or an
/// I/O error. `io::Error::source` skips the error it wraps, so wrapped errors are
/// unwrapped by hand.
pub(crate) fn classify(e: &(dyn StdError + 'static), connect: Duration) -> Failure {
    let mut at: Option<&(dyn StdError + 'static)> = Some(e);
    let mut io_text = None;
    while let Some(err) = at {
        if err.is::<ConnectTimedOut>() {
            return Failure::ConnectTimeout(millis(connect));
        }
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return tls_failure(tls);
        }
        at = match err.downcast_ref::<std::io::Error>() {
            Some(io) => {
                io_text.get_or_insert_with(|| io.to_string());
                io.get_ref().map(|inner| inner as &(dyn StdError + 'static))
            }
            None => err.source(),
        };
    }
    let text = io_text.unwrap_or_else(|| e.to_string());
    if is_connect_error(e) {
        Failure::Connect(text)
    } else {
        Failure::Broken(text)
    }
}

fn is_connect_error(e: &(dyn StdError + 'static)) -> bool {
    e.downcast_ref::<hyper_util::client::legacy::Error>()
        .is_some_and(hyper_util::client::legacy::Error::is_connect)
}

fn tls_failure(e: &rustls::Error) -> Failure {
    use rustls::CertificateError as C;
    let plain = match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer => "it is not signed by a CA Cordon trusts (upstream.ca, or the system's roots)".to_owned(),
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                format!("it does not name the host Cordon connected to ({e})")
            }
            C::Expired | C::ExpiredContext { .. } => format!("it has expired ({e})"),
            C::NotValidYet | C::NotValidYetContext { .. } => format!("it is not valid yet ({e})"),
            C::Revoked => "it has been revoked".to_owned(),
            _ => e.to_string(),
        },
        rustls::Error::AlertReceived(rustls::AlertDescription::CertificateRequired) => {
            return Failure::Tls(
                "the upstream requires a client certificate: configure upstream.client_cert and client_key".into(),
            )
        }
        rustls::Error::AlertReceived(_) => {
            return Failure::Tls(format!(
                "the upstream refused the connection ({e}); if it requires mutual TLS, check upstream.client_cert"
            ))
        }
        other => return Failure::Tls(other.to_string()),
    };
    Failure::Certificate(plain)
}

/// The connect phase (TCP and TLS handshake) ran out of time.
#[derive(Debug)]
struct ConnectTimedOut;

impl std::fmt::Display for ConnectTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connecting to the upstream timed out")
    }
}

impl StdError for ConnectTimedOut {}

/// A connector whose whole connect (TCP and TLS) is bounded by `limit`; hyper's own
/// connect timeout covers TCP only, and a server that accepts but never finishes the
/// handshake would otherwise hold the request until the header timeout.
#[derive(Clone)]
pub struct Timed<C> {
    inner: C,
    limit: Duration,
}

impl<C> tower_service::Service<Uri> for Timed<C>
where
    C: tower_service::Service<Uri>,
    C::Future: Send + 'static,
    C::Error: Into<BoxError>,
{
    type Response = C::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<C::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let connecting = self.inner.call(dst);
        let limit = self.limit;
        Box::pin(async move {
            match tokio::time::timeout(limit, connecting).await {
                Ok(r) => r.map_err(Into::into),
                Err(_) => Err(Box::new(ConnectTimedOut) as BoxError),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_are_504_and_everything_else_502() {
        assert_eq!(
            Failure::HeaderTimeout(1).status(),
            StatusCode::GATEWAY_TIMEOUT
        );
        assert_eq!(
            Failure::BodyTimeout(1).status(),
            StatusCode::GATEWAY_TIMEOUT
        );
        assert_eq!(
            Failure::ConnectTimeout(1).status(),
            StatusCode::GATEWAY_TIMEOUT
        );
        assert_eq!(
            Failure::Certificate(String::new()).status(),
            StatusCode::BAD_GATEWAY
        );
        assert_eq!(
            Failure::Connect(String::new()).status(),
            StatusCode::BAD_GATEWAY
        );
    }

    #[test]
    fn a_rustls_error_wrapped_in_io_errors_is_found_and_named() {
        let tls = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let inner = std::io::Error::new(std::io::ErrorKind::InvalidData, tls);
        let outer = std::io::Error::other(inner);
        let f = classify(&outer, Duration::from_secs(1));
        assert!(
            matches!(f, Failure::Certificate(ref s) if s.contains("upstream.ca")),
            "{f:?}"
        );
    }
}
