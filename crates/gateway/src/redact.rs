//! Redaction obligations on a streamed response: the upstream's body passes on in pieces,
//! each redacted as it arrives (`cordon-redact`), so memory stays bounded whatever the
//! body's size. A response that fails before anything was sent is refused whole; one that
//! fails after is cut off, never finished or passed on unredacted, and the cut is recorded
//! in the log as the allow not fully served.
use crate::durable::record_not_served;
use crate::logbackend::GatewayLog;
use crate::metrics::Metrics;
use crate::upstream::{classify, millis, Failure};
use bytes::Bytes;
use cordon_redact::{JsonError, Redactor};
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// The error a cut-off body ends with: hyper then ends the response without its final
/// chunk (HTTP/1.1) or resets the stream (HTTP/2), so the client sees it incomplete.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Aborted(String);

/// Why a response could not be passed on.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StreamError {
    #[error("{0}")]
    Upstream(Failure),
    #[error("the upstream sent invalid JSON ({0}), which cannot be redacted")]
    Json(JsonError),
    #[error("{0}")]
    Unredactable(&'static str),
}

/// What the obligations do to the body.
#[derive(Debug)]
pub enum Treatment {
    /// Nothing to redact: the bytes pass unchanged.
    Pass,
    Redact(Box<Redactor>),
    /// Redaction is due but impossible (not JSON, or compressed): any byte is refused.
    Refuse(&'static str),
}

/// Limits on reading one upstream body.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most bytes read from the upstream (`max_response_bytes`).
    pub max_bytes: u64,
    /// Longest wait for the next piece (`upstream.body_timeout_ms`).
    pub idle: Duration,
    /// Names a connect failure found in a body's error.
    pub connect: Duration,
}

/// The upstream's body, read piece by piece through the treatment.
pub struct Source {
    body: Incoming,
    treatment: Treatment,
    limits: Limits,
    read: u64,
    stall: Pin<Box<Sleep>>,
    ended: bool,
    metrics: Arc<Metrics>,
    reported: u64,
}

impl Source {
    pub fn new(
        body: Incoming,
        treatment: Treatment,
        limits: Limits,
        metrics: Arc<Metrics>,
    ) -> Self {
        Source {
            body,
            treatment,
            limits,
            read: 0,
            stall: Box::pin(tokio::time::sleep(limits.idle)),
            ended: false,
            metrics,
            reported: 0,
        }
    }

    /// The next piece to send, `None` at the end.
    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, StreamError>>> {
        loop {
            if self.ended {
                return Poll::Ready(None);
            }
            let frame = match Pin::new(&mut self.body).poll_frame(cx) {
                Poll::Pending => {
                    if self.stall.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    let f = Failure::BodyTimeout(millis(self.limits.idle));
                    return self.fail(StreamError::Upstream(f));
                }
                Poll::Ready(None) => {
                    return match self.end() {
                        Ok(()) => Poll::Ready(None),
                        Err(e) => self.fail(e),
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    let f = classify(&e, self.limits.connect);
                    return self.fail(StreamError::Upstream(f));
                }
                Poll::Ready(Some(Ok(frame))) => frame,
            };
            self.stall.as_mut().reset(Instant::now() + self.limits.idle);
            // Trailers describe the upstream's body; they are not passed on.
            let Ok(data) = frame.into_data() else {
                continue;
            };
            match self.take(&data) {
                Ok(Some(out)) => return Poll::Ready(Some(Ok(out))),
                Ok(None) => {}
                Err(e) => return self.fail(e),
            }
        }
    }

    /// Treats one piece of the upstream body; `None` when it yields nothing to send yet.
    fn take(&mut self, data: &Bytes) -> Result<Option<Bytes>, StreamError> {
        self.read += data.len() as u64;
        if self.read > self.limits.max_bytes {
            return Err(StreamError::Upstream(Failure::TooLarge(
                self.limits.max_bytes,
            )));
        }
        if data.is_empty() {
            return Ok(None);
        }
        match &mut self.treatment {
            Treatment::Pass => Ok(Some(data.clone())),
            Treatment::Refuse(why) => Err(StreamError::Unredactable(why)),
            Treatment::Redact(r) => {
                let mut out = Vec::with_capacity(data.len());
                r.feed(data, &mut out).map_err(StreamError::Json)?;
                let removed = r.removed();
                self.metrics.add_redacted(removed - self.reported);
                self.reported = removed;
                Ok((!out.is_empty()).then(|| Bytes::from(out)))
            }
        }
    }

    /// The upstream's body ended: a redacted one must have been exactly one JSON value
    /// (or nothing at all, as a 204 is).
    fn end(&mut self) -> Result<(), StreamError> {
        self.ended = true;
        match &mut self.treatment {
            Treatment::Redact(r) if self.read > 0 => r.finish().map_err(StreamError::Json),
            _ => Ok(()),
        }
    }

    fn fail(&mut self, e: StreamError) -> Poll<Option<Result<Bytes, StreamError>>> {
        self.ended = true;
        Poll::Ready(Some(Err(e)))
    }

    async fn next(&mut self) -> Option<Result<Bytes, StreamError>> {
        std::future::poll_fn(|cx| self.poll_next(cx)).await
    }

    fn size_hint(&self) -> SizeHint {
        match self.treatment {
            Treatment::Pass if !self.ended => self.body.size_hint(),
            _ => SizeHint::default(),
        }
    }
}

/// How a response starts: whole, when it ended within the window, or with the window's
/// worth of bytes and the rest still to come.
pub enum Prefix {
    Whole(Bytes),
    Started(Bytes, Source),
}

/// Reads until the body ends or at least `window` bytes are ready to send.
pub async fn prefix(mut src: Source, window: usize) -> Result<Prefix, StreamError> {
    let mut held = Vec::new();
    loop {
        match src.next().await {
            None => return Ok(Prefix::Whole(held.into())),
            Some(Err(e)) => return Err(e),
            Some(Ok(piece)) => {
                held.extend_from_slice(&piece);
                if held.len() >= window {
                    return Ok(Prefix::Started(held.into(), src));
                }
            }
        }
    }
}

/// Reads the whole body and counts what would be sent: the length a HEAD answer gives.
pub async fn length(mut src: Source) -> Result<u64, StreamError> {
    let mut n = 0;
    while let Some(piece) = src.next().await {
        n += piece?.len() as u64;
    }
    Ok(n)
}

/// Where a cut is recorded: the log, under the allow it was served for.
pub struct Cut {
    pub log: Arc<GatewayLog>,
    pub metrics: Arc<Metrics>,
    /// The allow's index in the log.
    pub of: u64,
    /// Where the follow-up is tracked, so a shutdown waits for it.
    pub watch: Arc<crate::durable::Watch>,
}

impl Cut {
    fn record(&self, why: String) {
        tracing::warn!(of = self.of, why, "response cut off");
        self.metrics.count_aborted();
        let (log, of) = (self.log.clone(), self.of);
        self.watch.follow_up(async move {
            record_not_served(&log, of, &why).await;
        });
    }
}

/// The size of every piece of a redacted response but its last. Pieces cut where the
/// upstream's reads ended would each be that read less what was removed from it, and
/// their sizes (the chunk framing the client sees) would tell the length of each removed
/// value.
pub const REDACTED_PIECE: usize = 16 * 1024;

/// A response body that has started: the window's bytes, then the rest as it comes; a
/// redacted one in pieces of [`REDACTED_PIECE`] bytes.
pub struct Streamed {
    first: Option<Bytes>,
    src: Source,
    sent: u64,
    cut: Cut,
    /// Redacted bytes waiting to fill a piece; `None` when the body passes unchanged.
    pieces: Option<bytes::BytesMut>,
}

impl Streamed {
    pub fn new(first: Bytes, src: Source, cut: Cut) -> Self {
        let pieces = matches!(src.treatment, Treatment::Redact(_)).then(bytes::BytesMut::new);
        Streamed {
            first: Some(first),
            src,
            sent: 0,
            cut,
            pieces,
        }
    }

    /// The next thing to send: a whole piece, or (at the end) what is left, or a failure.
    fn poll_piece(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, StreamError>>> {
        loop {
            if let Some(held) = self.pieces.as_mut().filter(|b| b.len() >= REDACTED_PIECE) {
                return Poll::Ready(Some(Ok(held.split_to(REDACTED_PIECE).freeze())));
            }
            let next = match self.first.take() {
                Some(first) => Some(Ok(first)),
                None => match self.src.poll_next(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(next) => next,
                },
            };
            match (next, self.pieces.as_mut()) {
                (Some(Ok(piece)), Some(held)) => held.extend_from_slice(&piece),
                (None, Some(held)) if !held.is_empty() => {
                    return Poll::Ready(Some(Ok(held.split().freeze())))
                }
                (next, _) => return Poll::Ready(next),
            }
        }
    }
}

impl HttpBody for Streamed {
    type Data = Bytes;
    type Error = Aborted;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Aborted>>> {
        let this = self.get_mut();
        let next = match this.poll_piece(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Ready(Some(r)) => r,
        };
        match next {
            Ok(piece) => {
                this.sent += piece.len() as u64;
                Poll::Ready(Some(Ok(Frame::data(piece))))
            }
            Err(e) => {
                let why = format!(
                    "the response was cut off after {} bytes had been sent, so the client got an incomplete answer and nothing unredacted: {e}",
                    this.sent
                );
                this.cut.record(why.clone());
                Poll::Ready(Some(Err(Aborted(why))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.first.is_none() && self.src.ended && self.pieces.as_ref().is_none_or(|b| b.is_empty())
    }

    fn size_hint(&self) -> SizeHint {
        let held = self.first.as_ref().map_or(0, |b| b.len() as u64);
        let rest = self.src.size_hint();
        match rest.exact() {
            Some(n) => SizeHint::with_exact(n + held),
            None => {
                let mut h = SizeHint::new();
                h.set_lower(rest.lower() + held);
                h
            }
        }
    }
}
