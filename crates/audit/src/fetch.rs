//! Downloading a portal page or CSV export for the archive: one GET over HTTP or HTTPS
//! (the system's trusted roots), redirects followed a few times, a deadline and a size
//! cap, so a scheduled run ends whatever the server does.
use std::time::Duration;

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// What a download can fail on, in words for the person who scheduled it.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{url}: {why}")]
    Failed { url: String, why: String },
}

/// The largest body read: a portal window is a few MB; an agency's export can be more.
pub const MAX_BODY: usize = 512 << 20;
const REDIRECTS: usize = 5;

/// GETs `url`; returns the body and the URL it finally came from.
pub fn get(url: &str, deadline: Duration) -> Result<(Vec<u8>, String), FetchError> {
    let fail = |why: String| FetchError::Failed {
        url: url.to_string(),
        why,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| fail(format!("cannot start the downloader: {e}")))?;
    rt.block_on(async {
        tokio::time::timeout(deadline, follow(url))
            .await
            .unwrap_or_else(|_| {
                Err(format!(
                    "no complete answer within {} s (pass --timeout to wait longer)",
                    deadline.as_secs()
                ))
            })
    })
    .map_err(fail)
}

async fn follow(url: &str) -> Result<(Vec<u8>, String), String> {
    let client = client()?;
    let mut at = url.to_string();
    for _ in 0..=REDIRECTS {
        let uri: hyper::Uri = at
            .parse()
            .map_err(|e| format!("not a URL Cordon can fetch ({e})"))?;
        let req = hyper::Request::get(uri.clone())
            .header(
                "user-agent",
                concat!("cordon-audit/", env!("CARGO_PKG_VERSION")),
            )
            .body(Empty::<Bytes>::new())
            .map_err(|e| e.to_string())?;
        let resp = client.request(req).await.map_err(|e| describe(&e))?;
        let status = resp.status();
        if status.is_redirection() {
            let next = resp
                .headers()
                .get(hyper::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .ok_or(format!("{status} with no Location to follow"))?;
            at = resolve(&uri, next);
            continue;
        }
        if !status.is_success() {
            return Err(format!("the server answered {status}"));
        }
        let body = Limited::new(resp.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| format!("reading the answer: {e} (at most {MAX_BODY} bytes are read)"))?;
        return Ok((body.to_bytes().to_vec(), at));
    }
    Err(format!("more than {REDIRECTS} redirects"))
}

type HttpsClient = Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Empty<Bytes>,
>;

fn client() -> Result<HttpsClient, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .build();
    Ok(Client::builder(TokioExecutor::new()).build(https))
}

/// A Location header, absolute or relative to the URL that sent it.
fn resolve(base: &hyper::Uri, location: &str) -> String {
    if location.contains("://") {
        return location.to_string();
    }
    let scheme = base.scheme_str().unwrap_or("http");
    let authority = base.authority().map_or("", |a| a.as_str());
    if location.starts_with('/') {
        format!("{scheme}://{authority}{location}")
    } else {
        let path = base.path();
        let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
        format!("{scheme}://{authority}{dir}{location}")
    }
}

/// A client error with its cause chain, which names what actually failed (refused,
/// certificate, DNS).
fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}
