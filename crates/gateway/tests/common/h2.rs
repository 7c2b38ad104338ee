//! Clients for the protocol tests: one request over HTTP/1.1 or HTTP/2, in the clear or
//! over TLS (HTTP/2 chosen by ALPN), answered as a `wire::Reply` so every assertion the
//! HTTP/1.1 tests make applies unchanged.
#![allow(clippy::unwrap_used, dead_code)]
use super::pki::{self, Ca};
use bytes::Bytes;
use cordon_gateway::wire::{self, Reply};
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Request, Version};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::ServerName;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// How a test client reaches the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    /// HTTP/1.1 in the clear.
    H1,
    /// HTTP/2 with prior knowledge in the clear.
    H2c,
    /// HTTP/1.1 over TLS (ALPN `http/1.1`).
    H1Tls,
    /// HTTP/2 over TLS (ALPN `h2`).
    H2Tls,
}

impl Proto {
    pub fn is_tls(self) -> bool {
        matches!(self, Proto::H1Tls | Proto::H2Tls)
    }

    pub fn is_h2(self) -> bool {
        matches!(self, Proto::H2c | Proto::H2Tls)
    }
}

/// The `[tls]` section for a gateway whose certificate [`write_server_cert`] wrote.
pub const TLS: &str = "\n[tls]\ncert = \"server.pem\"\nkey = \"server.key\"\n";

/// Writes a `localhost` server certificate from `ca` where [`TLS`] names it.
pub fn write_server_cert(dir: &Path, ca: &Ca) {
    let (cert, key) = pki::localhost(ca);
    std::fs::write(dir.join("server.pem"), cert).unwrap();
    std::fs::write(dir.join("server.key"), key).unwrap();
}

/// A TLS client that trusts `ca` and offers exactly `alpn`.
pub fn tls_client(ca: &Ca, alpn: &[&[u8]]) -> Arc<rustls::ClientConfig> {
    tls_client_with(ca, alpn, None)
}

/// [`tls_client`] presenting a client certificate.
pub fn tls_client_with(
    ca: &Ca,
    alpn: &[&[u8]],
    client: Option<(&rcgen::Certificate, &rcgen::KeyPair)>,
) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.cert.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let mut config = match client {
        Some((cert, key)) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from(cert.der().to_vec())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

/// Opens TLS to `addr` as `localhost`; returns the stream and the protocol ALPN chose.
pub async fn connect_tls(
    addr: SocketAddr,
    config: Arc<rustls::ClientConfig>,
) -> (tokio_rustls::client::TlsStream<TcpStream>, Option<Vec<u8>>) {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let tls = tokio_rustls::TlsConnector::from(config)
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let alpn = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    (tls, alpn)
}

/// One request: method, target (path and query as sent), headers in order (repeats
/// kept), and a body.
#[derive(Debug, Clone)]
pub struct Ask<'a> {
    pub method: &'a str,
    pub target: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
}

/// Sends one request on a new connection over `proto`; `ca` is the gateway's CA for TLS.
pub async fn send(addr: SocketAddr, proto: Proto, ca: Option<&Ca>, ask: &Ask<'_>) -> Reply {
    match proto {
        Proto::H1 => h1(TcpStream::connect(addr).await.unwrap(), ask).await,
        Proto::H2c => h2(TcpStream::connect(addr).await.unwrap(), "http", ask).await,
        Proto::H1Tls => {
            let (tls, alpn) = connect_tls(addr, tls_client(ca.unwrap(), &[b"http/1.1"])).await;
            assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]));
            h1(tls, ask).await
        }
        Proto::H2Tls => {
            let (tls, alpn) =
                connect_tls(addr, tls_client(ca.unwrap(), &[b"h2", b"http/1.1"])).await;
            assert_eq!(alpn.as_deref(), Some(&b"h2"[..]), "the gateway prefers h2");
            h2(tls, "https", ask).await
        }
    }
}

async fn h1<S: AsyncRead + AsyncWrite + Unpin>(stream: S, ask: &Ask<'_>) -> Reply {
    let mut headers = ask.headers.to_vec();
    let length = ask.body.len().to_string();
    if !ask.body.is_empty() {
        headers.push(("Content-Length", &length));
    }
    let mut raw = wire::request(ask.method, ask.target, &headers);
    raw.extend_from_slice(ask.body);
    wire::exchange(stream, &raw).await.unwrap()
}

/// One request over a new HTTP/2 connection on `stream`.
pub async fn h2<S>(stream: S, scheme: &str, ask: &Ask<'_>) -> Reply
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let mut req = Request::new(Full::new(Bytes::copy_from_slice(ask.body)));
    *req.method_mut() = ask.method.parse().unwrap();
    *req.uri_mut() = format!("{scheme}://localhost{}", ask.target)
        .parse()
        .unwrap();
    *req.version_mut() = Version::HTTP_2;
    for (k, v) in ask.headers {
        req.headers_mut().append(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    let resp = tokio::time::timeout(std::time::Duration::from_secs(30), sender.send_request(req))
        .await
        .expect("an HTTP/2 answer within 30 s")
        .unwrap();
    assert_eq!(resp.version(), Version::HTTP_2);
    reply(resp).await
}

/// A response as a [`Reply`]: header names lower case, repeats joined with ", ".
pub async fn reply(resp: hyper::Response<hyper::body::Incoming>) -> Reply {
    let (parts, body) = resp.into_parts();
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in &parts.headers {
        let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
        headers
            .entry(k.as_str().to_owned())
            .and_modify(|e| {
                e.push_str(", ");
                e.push_str(&v);
            })
            .or_insert(v);
    }
    let body = body.collect().await.unwrap().to_bytes().to_vec();
    Reply {
        status: parts.status.as_u16(),
        headers,
        body,
    }
}
