//! One client connection on the data listener: which protocol it speaks (HTTP/2 when TLS's
//! ALPN chose `h2`, or by the client's preface where h2c is configured; HTTP/1.1
//! otherwise), the limits each protocol is held to, the idle limit, and the drain on
//! shutdown. Every request, whatever its protocol, goes to the one handler.
use crate::respond::Body;
use hyper::body::Incoming;
use hyper::{Request, Response, Version};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::watch;

/// The HTTP/1.1 read buffer: room for a head at the limit, so the 431 is ours and carries
/// a message, not hyper's bare one.
const READ_BUF_BYTES: usize = 64 * 1024;
/// The header list an HTTP/2 client may send (SETTINGS_MAX_HEADER_LIST_SIZE). HTTP/2
/// counts 32 bytes more per field than the head budget does, so the budget itself
/// ([`crate::server::MAX_HEAD_BYTES`]) is enforced by the handler, with the same 431 and
/// message as HTTP/1.1; past twice the budget h2 refuses the block itself, and a header
/// block spread over more CONTINUATION frames than this size needs ends the connection.
pub const H2_MAX_HEADER_LIST: u32 = 2 * crate::server::MAX_HEAD_BYTES as u32;
/// Streams a client may reset before the server has answered them, before GOAWAY
/// (rapid reset, CVE-2023-44487).
const H2_MAX_PENDING_RESETS: usize = 20;
/// Streams the server may reset because the client broke the protocol, before GOAWAY
/// (provoked resets, CVE-2025-8671).
const H2_MAX_ERROR_RESETS: usize = 100;
/// Flow-control windows: the request body bytes a client may have in flight unread, per
/// stream and per connection.
const H2_STREAM_WINDOW: u32 = 256 * 1024;
const H2_CONNECTION_WINDOW: u32 = 1024 * 1024;
const H2_MAX_FRAME: u32 = 16 * 1024;
/// A connection is pinged this often, and closed when the ping is not answered in time.
const H2_PING_INTERVAL: Duration = Duration::from_secs(20);
const H2_PING_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a connection told to go away for idleness may take to finish.
const GOAWAY_GRACE: Duration = Duration::from_secs(5);

/// Which protocol a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Http1,
    Http2,
    /// HTTP/2 if the client opens with the HTTP/2 preface (h2c with prior knowledge),
    /// HTTP/1.1 otherwise.
    Preface,
}

impl Protocol {
    /// A TLS connection speaks what ALPN chose; without ALPN, HTTP/1.1.
    pub fn after_tls(alpn: Option<&[u8]>) -> Protocol {
        if alpn == Some(crate::tls::ALPN_H2) {
            Protocol::Http2
        } else {
            Protocol::Http1
        }
    }

    /// A plain connection speaks HTTP/2 only where `http2.h2c` allows it.
    pub fn plain(h2c: bool) -> Protocol {
        if h2c {
            Protocol::Preface
        } else {
            Protocol::Http1
        }
    }
}

/// The limits of one connection, from the config.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_timeout: Duration,
    pub max_streams: u32,
    pub idle: Duration,
}

impl Limits {
    pub fn of(config: &crate::config::Config) -> Limits {
        Limits {
            header_timeout: Duration::from_millis(config.header_timeout_ms),
            max_streams: config.http2.max_concurrent_streams,
            idle: Duration::from_millis(config.http2.idle_timeout_ms),
        }
    }
}

/// Tells connections to finish and waits (the caller bounds it) until they have.
pub struct Drain {
    tx: watch::Sender<bool>,
}

/// A connection's view of the [`Drain`].
#[derive(Clone)]
pub struct Watcher {
    rx: watch::Receiver<bool>,
}

impl Default for Drain {
    fn default() -> Drain {
        Drain::new()
    }
}

impl Drain {
    pub fn new() -> Drain {
        Drain {
            tx: watch::channel(false).0,
        }
    }

    pub fn watcher(&self) -> Watcher {
        Watcher {
            rx: self.tx.subscribe(),
        }
    }

    /// Asks every connection to finish and resolves when all have.
    pub async fn shutdown(self) {
        self.tx.send_replace(true);
        self.tx.closed().await;
    }
}

impl Watcher {
    /// Resolves once shutdown has begun (or the server is gone).
    async fn draining(&mut self) {
        let _ = self.rx.wait_for(|d| *d).await;
    }
}

/// Serves `handle` on one connection until the client leaves, the connection idles past
/// its limit, or the server drains.
pub async fn serve<I, H, F>(
    io: I,
    protocol: Protocol,
    limits: Limits,
    handle: H,
    mut watcher: Watcher,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    let activity = Arc::new(Activity::new());
    let svc = {
        let activity = activity.clone();
        hyper::service::service_fn(move |req: Request<Incoming>| {
            let busy = Busy::new(activity.clone());
            let answer = handle(req);
            // The request stays in flight until its response body has been sent.
            async move { Ok::<_, Infallible>(answer.await.map(|inner| Tracked { inner, _busy: busy })) }
        })
    };
    let builder = builder(protocol, limits);
    let io = TokioIo::new(Metered {
        inner: io,
        activity: activity.clone(),
    });
    let conn = builder.serve_connection(io, svc);
    tokio::pin!(conn);
    // HTTP/1.1 has the header deadline for idle connections; HTTP/2 has this.
    let idle_limit = (protocol != Protocol::Http1).then_some(limits.idle);
    let check_every = idle_limit.map_or(Duration::from_secs(3600), |l| {
        (l / 4).max(Duration::from_millis(50))
    });
    // Once the connection is asked to go away, the time it has to finish.
    let mut deadline: Option<tokio::time::Instant> = None;
    loop {
        let give_up = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = conn.as_mut() => return,
            () = watcher.draining(), if deadline.is_none() => {
                conn.as_mut().graceful_shutdown();
                deadline = Some(tokio::time::Instant::now() + crate::server::DRAIN_TIMEOUT);
            }
            () = tokio::time::sleep(check_every), if deadline.is_none() && idle_limit.is_some() => {
                let idle = activity.idle_for();
                if idle_limit.is_some_and(|limit| idle.is_some_and(|i| i >= limit)) {
                    tracing::debug!("closing an idle connection");
                    conn.as_mut().graceful_shutdown();
                    deadline = Some(tokio::time::Instant::now() + GOAWAY_GRACE);
                }
            }
            () = give_up => return,
        }
    }
}

fn builder(
    protocol: Protocol,
    limits: Limits,
) -> hyper_util::server::conn::auto::Builder<TokioExecutor> {
    let mut b = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    b.http1()
        .max_buf_size(READ_BUF_BYTES)
        .header_read_timeout(limits.header_timeout)
        .timer(TokioTimer::new());
    b.http2()
        .timer(TokioTimer::new())
        .max_header_list_size(H2_MAX_HEADER_LIST)
        .max_concurrent_streams(limits.max_streams)
        .max_pending_accept_reset_streams(H2_MAX_PENDING_RESETS)
        .max_local_error_reset_streams(H2_MAX_ERROR_RESETS)
        .max_frame_size(H2_MAX_FRAME)
        .initial_stream_window_size(H2_STREAM_WINDOW)
        .initial_connection_window_size(H2_CONNECTION_WINDOW)
        .keep_alive_interval(H2_PING_INTERVAL)
        .keep_alive_timeout(H2_PING_TIMEOUT);
    match protocol {
        Protocol::Http1 => b.http1_only(),
        Protocol::Http2 => b.http2_only(),
        Protocol::Preface => b,
    }
}

/// When bytes last moved on a connection and how many requests are being answered.
struct Activity {
    start: Instant,
    last_ms: AtomicU64,
    in_flight: AtomicUsize,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// How long nothing has happened; `None` while a request is being answered.
    fn idle_for(&self) -> Option<Duration> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        Some(self.start.elapsed().saturating_sub(last))
    }
}

/// A request being answered; the connection is not idle while one lives.
struct Busy(Arc<Activity>);

impl Busy {
    fn new(a: Arc<Activity>) -> Busy {
        a.in_flight.fetch_add(1, Ordering::AcqRel);
        Busy(a)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its request counted as in flight until it is sent or
/// dropped.
struct Tracked<B> {
    inner: B,
    _busy: Busy,
}

impl<B: hyper::body::Body + Unpin> hyper::body::Body for Tracked<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<B::Data>, B::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// The connection's stream, noting when bytes move.
struct Metered<I> {
    inner: I,
    activity: Arc<Activity>,
}

impl<I: AsyncRead + Unpin> AsyncRead for Metered<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        r
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Metered<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// An HTTP/2 request whose `Host` header names another authority than its `:authority`
/// (RFC 9113 §8.3.1 calls it malformed), or that repeats `Host`: refused, so no part of
/// the gateway or the upstream can read the request as addressed to two places.
pub fn authority_conflict(req: &Request<Incoming>) -> Option<String> {
    let mut hosts = req.headers().get_all(hyper::header::HOST).iter();
    let host = hosts.next()?;
    if hosts.next().is_some() {
        // RFC 9112 3.2: a request with more than one Host is answered 400, in any version.
        return Some("the request repeats its Host header".into());
    }
    if req.version() != Version::HTTP_2 {
        return None;
    }
    let authority = req.uri().authority().map(|a| a.as_str());
    match authority {
        Some(a) if a.as_bytes().eq_ignore_ascii_case(host.as_bytes()) => None,
        Some(a) => Some(format!(
            "the HTTP/2 request's Host header ({}) names another authority than its :authority ({a})",
            String::from_utf8_lossy(host.as_bytes())
        )),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpn_h2_speaks_http2_and_anything_else_http1() {
        assert_eq!(Protocol::after_tls(Some(b"h2")), Protocol::Http2);
        assert_eq!(Protocol::after_tls(Some(b"http/1.1")), Protocol::Http1);
        assert_eq!(Protocol::after_tls(None), Protocol::Http1);
        assert_eq!(Protocol::plain(false), Protocol::Http1);
        assert_eq!(Protocol::plain(true), Protocol::Preface);
    }

    #[test]
    fn a_connection_is_not_idle_while_a_request_is_answered() {
        let a = Arc::new(Activity::new());
        let busy = Busy::new(a.clone());
        assert_eq!(a.idle_for(), None);
        drop(busy);
        assert!(a.idle_for().is_some_and(|d| d < Duration::from_secs(1)));
    }

    #[test]
    fn a_response_body_keeps_its_request_in_flight_until_it_is_dropped() {
        let a = Arc::new(Activity::new());
        let body = Tracked {
            inner: http_body_util::Full::new(bytes::Bytes::from_static(b"{}")),
            _busy: Busy::new(a.clone()),
        };
        assert_eq!(a.idle_for(), None);
        drop(body);
        assert!(a.idle_for().is_some());
    }
}
