//! The client side of tlog-witness `add-checkpoint`: what a log (the gateway's publisher)
//! calls to get a cosignature, with each way a witness can say no kept apart so the caller
//! knows whether to retry, resend from another size, or give up.
//!
//! ```no_run
//! # async fn publish(checkpoint: Vec<u8>, proof: Vec<cordon_log::Hash>, witness_vkey: &cordon_log::Verifier)
//! #     -> Result<(), cordon_witness::ClientError> {
//! use cordon_witness::{AddCheckpoint, ClientError, WitnessClient};
//! use std::time::Duration;
//!
//! // Keep one client: it reuses connections. https:// is checked against the system roots.
//! let client = WitnessClient::new(Duration::from_secs(10));
//! let req = AddCheckpoint { old_size: 0, proof, checkpoint: checkpoint.clone() };
//! match client.add_checkpoint("http://witness.example:7380", &req).await {
//!     Ok(lines) => {
//!         // Keep only a cosignature that verifies with the witness key you trust.
//!         let cosig = cordon_witness::client::verified_cosignature(&checkpoint, &lines, witness_vkey)?;
//!     }
//!     // The witness holds another size: send a proof from `latest` instead.
//!     Err(ClientError::Conflict { latest }) => {}
//!     Err(e) if e.is_retryable() => { /* back off and try again */ }
//!     Err(e) => return Err(e), // refused for good: the checkpoint is bad or unknown to it
//! }
//! # Ok(()) }
//! ```
use std::time::Duration;

use bytes::Bytes;
use cordon_log::note::NoteSignature;
use cordon_log::witness::AddCheckpoint;
use cordon_log::{Note, NoteVerifier, Verifier};
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{CONTENT_TYPE, USER_AGENT};
use hyper::{Method, Request, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::CertificateDer;
use thiserror::Error;

/// The content type tlog-witness gives a 409's body (the witness's latest size).
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";
/// Largest response body read from a witness: a few signature lines, or an error message.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// The timeout [`add_checkpoint`] uses.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a witness did not cosign.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// 409: the witness's latest cosigned checkpoint for this log has size `latest`;
    /// resend with `old_size = latest` and a consistency proof from there.
    #[error("the witness holds a checkpoint of size {latest}; resend with a proof from that size")]
    Conflict { latest: u64 },
    /// Any other 4xx: the witness refuses this checkpoint (400 malformed, 403 bad or
    /// missing log signature, 404 unknown log, 422 inconsistent: a rewind or fork).
    #[error("the witness refused the checkpoint with {status}: {message}")]
    Refused { status: u16, message: String },
    /// 5xx: the witness could not answer now (for example, it could not persist).
    #[error("the witness failed with {status}: {message}")]
    Unavailable { status: u16, message: String },
    #[error("the witness did not answer within {0:?}")]
    Timeout(Duration),
    #[error("could not reach the witness: {0}")]
    Network(String),
    #[error("bad witness URL {url:?}: {why}")]
    BadUrl { url: String, why: String },
    /// The witness answered, but not in the form the spec requires.
    #[error("the witness's answer is malformed: {0}")]
    BadResponse(String),
}

impl ClientError {
    /// Whether trying the same request again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ClientError::Unavailable { .. } | ClientError::Timeout(_) | ClientError::Network(_)
        )
    }

    /// The HTTP status the witness answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Conflict { .. } => Some(409),
            ClientError::Refused { status, .. } | ClientError::Unavailable { status, .. } => {
                Some(*status)
            }
            _ => None,
        }
    }
}

/// A witness client. Cheap to clone; clones share one connection pool (the spec asks
/// clients to keep connections alive).
#[derive(Clone)]
pub struct WitnessClient {
    http: Client<crate::tls::Connector, Full<Bytes>>,
    timeout: Duration,
}

impl WitnessClient {
    /// A client whose every request (connect, send, read the answer) must finish within
    /// `timeout`. HTTPS witnesses are checked against the system's trusted roots.
    pub fn new(timeout: Duration) -> WitnessClient {
        Self::with_roots(timeout, &[])
    }

    /// Like [`WitnessClient::new`], also trusting `roots` (DER certificates of a private
    /// certificate authority) for HTTPS witnesses.
    pub fn with_roots(timeout: Duration, roots: &[CertificateDer<'static>]) -> WitnessClient {
        let http = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .build(crate::tls::connector(timeout, roots));
        WitnessClient { http, timeout }
    }

    /// Sends `req` to `POST <submission_prefix>/add-checkpoint` and returns the witness's
    /// cosignature lines (each `— name base64\n`), not yet verified: check them with
    /// [`verified_cosignature`].
    pub async fn add_checkpoint(
        &self,
        submission_prefix: &str,
        req: &AddCheckpoint,
    ) -> Result<String, ClientError> {
        self.add_checkpoint_body(submission_prefix, req.to_body())
            .await
    }

    /// Like [`WitnessClient::add_checkpoint`], with the request body already encoded.
    pub async fn add_checkpoint_body(
        &self,
        submission_prefix: &str,
        body: Vec<u8>,
    ) -> Result<String, ClientError> {
        let uri = endpoint(submission_prefix)?;
        let request = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(CONTENT_TYPE, "text/plain; charset=utf-8")
            .header(USER_AGENT, concat!("cordon/", env!("CARGO_PKG_VERSION")))
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| ClientError::BadUrl {
                url: submission_prefix.to_string(),
                why: e.to_string(),
            })?;
        let exchange = async {
            let resp = self
                .http
                .request(request)
                .await
                .map_err(|e| ClientError::Network(error_chain(&e)))?;
            let (parts, body) = resp.into_parts();
            let bytes = Limited::new(body, MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map_err(|e| {
                    ClientError::BadResponse(format!(
                        "could not read the body (at most {MAX_RESPONSE_BYTES} bytes): {e}"
                    ))
                })?
                .to_bytes();
            let content_type = parts
                .headers
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            Ok::<_, ClientError>((parts.status, content_type, bytes))
        };
        let (status, content_type, bytes) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| ClientError::Timeout(self.timeout))??;
        interpret(status.as_u16(), content_type.as_deref(), &bytes)
    }
}

/// One request with a fresh client and [`DEFAULT_TIMEOUT`]; keep a [`WitnessClient`]
/// instead when sending more than one.
pub async fn add_checkpoint(
    submission_prefix: &str,
    req: &AddCheckpoint,
) -> Result<String, ClientError> {
    WitnessClient::new(DEFAULT_TIMEOUT)
        .add_checkpoint(submission_prefix, req)
        .await
}

fn endpoint(prefix: &str) -> Result<Uri, ClientError> {
    let bad = |why: &str| ClientError::BadUrl {
        url: prefix.to_string(),
        why: why.to_string(),
    };
    let uri: Uri = format!("{}/add-checkpoint", prefix.trim_end_matches('/'))
        .parse()
        .map_err(|_| {
            bad("not a URL; give the witness's submission prefix, e.g. http://witness.example:7380")
        })?;
    match uri.scheme_str() {
        Some("http" | "https") => Ok(uri),
        _ => Err(bad("the URL must start with https:// or http://")),
    }
}

/// Maps a witness's answer to cosignature lines or the error the spec's status means.
pub fn interpret(
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<String, ClientError> {
    let message = || String::from_utf8_lossy(body).trim().to_string();
    match status {
        200 => signature_lines(body),
        409 => Err(ClientError::Conflict {
            latest: parse_size_body(content_type, body)?,
        }),
        s @ 400..=499 => Err(ClientError::Refused {
            status: s,
            message: message(),
        }),
        s @ 500..=599 => Err(ClientError::Unavailable {
            status: s,
            message: message(),
        }),
        s => Err(ClientError::BadResponse(format!(
            "unexpected status {s}: {}",
            message()
        ))),
    }
}

/// A 409's body: the latest size in decimal and a newline, as `text/x.tlog.size`.
fn parse_size_body(content_type: Option<&str>, body: &[u8]) -> Result<u64, ClientError> {
    let ct = content_type.map(|c| c.split(';').next().unwrap_or("").trim());
    if ct != Some(SIZE_CONTENT_TYPE) {
        return Err(ClientError::BadResponse(format!(
            "a 409 must have Content-Type {SIZE_CONTENT_TYPE}, not {content_type:?}"
        )));
    }
    let text = std::str::from_utf8(body)
        .ok()
        .and_then(|t| t.strip_suffix('\n'))
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
        .filter(|t| *t == "0" || !t.starts_with('0'));
    text.and_then(|t| t.parse().ok()).ok_or_else(|| {
        ClientError::BadResponse(
            "a 409's body must be the witness's tree size in decimal and a newline".into(),
        )
    })
}

/// A 200's body: one or more note signature lines, each ending in a newline.
fn signature_lines(body: &[u8]) -> Result<String, ClientError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ClientError::BadResponse("the cosignature lines are not UTF-8".into()))?;
    let well_formed = !text.is_empty()
        && text.ends_with('\n')
        && text.lines().all(|l| l.starts_with("\u{2014} "));
    if !well_formed {
        return Err(ClientError::BadResponse(
            "a 200's body must be one or more signature lines, each starting with '— ' and ending in a newline".into(),
        ));
    }
    Ok(text.to_string())
}

/// The cosignature in `lines` by `witness` over `checkpoint` (the signed note that was
/// submitted), checked. Lines from other keys are ignored, as the spec requires.
pub fn verified_cosignature(
    checkpoint: &[u8],
    lines: &str,
    witness: &Verifier,
) -> Result<NoteSignature, ClientError> {
    let note = Note::parse(checkpoint)
        .map_err(|e| ClientError::BadResponse(format!("the submitted checkpoint: {e}")))?;
    // A note made of the checkpoint's text and only the witness's lines: verifying it
    // checks the cosignature against exactly the text that was submitted.
    let mut joined = format!("{}\n", note.text()).into_bytes();
    joined.extend_from_slice(lines.as_bytes());
    let answer = Note::parse(&joined)
        .map_err(|e| ClientError::BadResponse(format!("the cosignature lines: {e}")))?;
    let v: &dyn NoteVerifier = witness;
    answer.verify(&[v]).map_err(|e| {
        ClientError::BadResponse(format!(
            "no valid cosignature from {}: {e}",
            witness.to_text()
        ))
    })?;
    answer
        .signatures()
        .iter()
        .find(|s| s.name == v.name() && s.key_id == v.key_id())
        .cloned()
        .ok_or_else(|| ClientError::BadResponse("no cosignature from the witness key".into()))
}

/// hyper's errors keep the cause (connection refused, DNS) in their source chain.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_409_carries_the_witness_size_only_in_the_spec_form() {
        let ok = interpret(409, Some(SIZE_CONTENT_TYPE), b"42\n");
        assert_eq!(ok, Err(ClientError::Conflict { latest: 42 }));
        for (ct, body) in [
            (Some("text/plain"), &b"42\n"[..]),
            (Some(SIZE_CONTENT_TYPE), b"42"),
            (Some(SIZE_CONTENT_TYPE), b"042\n"),
            (None, b"42\n"),
        ] {
            let e = interpret(409, ct, body).unwrap_err();
            assert!(matches!(e, ClientError::BadResponse(_)), "{ct:?} {body:?}");
        }
    }

    #[test]
    fn refusals_are_final_and_failures_are_retryable() {
        let e = interpret(422, None, b"fork\n").unwrap_err();
        assert_eq!(e.status(), Some(422));
        assert!(!e.is_retryable());
        let e = interpret(500, None, b"disk").unwrap_err();
        assert!(e.is_retryable());
    }

    #[test]
    fn a_200_must_be_signature_lines() {
        assert!(interpret(200, None, "\u{2014} w AAAA\n".as_bytes()).is_ok());
        assert!(interpret(200, None, b"ok\n").is_err());
        assert!(interpret(200, None, b"").is_err());
    }

    #[test]
    fn only_http_and_https_urls_are_accepted() {
        assert!(endpoint("http://127.0.0.1:1/w/").is_ok());
        assert!(endpoint("https://witness.example/w").is_ok());
        assert!(matches!(
            endpoint("ftp://x"),
            Err(ClientError::BadUrl { .. })
        ));
        assert!(matches!(
            endpoint("not a url"),
            Err(ClientError::BadUrl { .. })
        ));
    }
}
