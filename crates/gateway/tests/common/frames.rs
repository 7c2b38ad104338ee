//! HTTP/2 written by hand (RFC 9113 frames, RFC 7541 literal header fields without
//! indexing), so a test can send what no well-behaved client library would: repeated or
//! misplaced pseudo-headers, upper-case names, an absolute `:path`, a header block that
//! never ends. Answers are read back as frames, with just enough HPACK to tell a 200.
#![allow(clippy::unwrap_used, dead_code)]
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
pub const DATA: u8 = 0;
pub const HEADERS: u8 = 1;
pub const RST_STREAM: u8 = 3;
pub const SETTINGS: u8 = 4;
pub const PING: u8 = 6;
pub const GOAWAY: u8 = 7;
pub const CONTINUATION: u8 = 9;
pub const END_STREAM: u8 = 0x1;
pub const END_HEADERS: u8 = 0x4;
pub const ACK: u8 = 0x1;

/// One frame: 24-bit length, type, flags, 31-bit stream id, payload.
pub fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap();
    let mut f = len.to_be_bytes()[1..].to_vec();
    f.push(kind);
    f.push(flags);
    f.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// An HPACK integer with an `n`-bit prefix, the prefix's other bits given in `first`.
fn integer(out: &mut Vec<u8>, first: u8, n: u32, mut v: usize) {
    let max = (1usize << n) - 1;
    if v < max {
        out.push(first | u8::try_from(v).unwrap());
        return;
    }
    out.push(first | u8::try_from(max).unwrap());
    v -= max;
    while v >= 128 {
        out.push(u8::try_from(v % 128).unwrap() | 0x80);
        v /= 128;
    }
    out.push(u8::try_from(v).unwrap());
}

fn string(out: &mut Vec<u8>, s: &[u8]) {
    integer(out, 0, 7, s.len());
    out.extend_from_slice(s);
}

/// A header block of literal fields without indexing, new names, no Huffman: each
/// name and value reach the server byte for byte, in this order.
pub fn block(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in fields {
        out.push(0x00);
        string(&mut out, name.as_bytes());
        string(&mut out, value.as_bytes());
    }
    out
}

/// The fields of a GET of `path` from `localhost` over h2c, before any other header.
pub fn get(path: &str) -> Vec<(&str, &str)> {
    vec![
        (":method", "GET"),
        (":scheme", "http"),
        (":authority", "localhost"),
        (":path", path),
    ]
}

/// An h2c connection that has sent the preface and empty SETTINGS.
pub async fn open(addr: std::net::SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(PREFACE).await.unwrap();
    s.write_all(&frame(SETTINGS, 0, 0, &[])).await.unwrap();
    s
}

/// What the server did with a request stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A response head; the status when HPACK's static table names it (200, 204, 206,
    /// 304, 400, 404, 500), otherwise `None`.
    Answered(Option<u16>),
    /// RST_STREAM with this error code.
    Reset(u32),
    /// GOAWAY with this error code.
    GoAway(u32),
    /// The connection closed with neither.
    Closed,
}

/// Reads frames until stream `id` is answered or reset, or the connection goes away;
/// answers SETTINGS and PING so the server keeps talking. Also returns how many bytes
/// arrived, and panics if nothing decisive comes within `limit`.
pub async fn outcome(s: &mut TcpStream, id: u32, limit: Duration) -> Outcome {
    tokio::time::timeout(limit, read_outcome(s, id, true))
        .await
        .expect("the server neither answered, reset nor closed in time")
}

/// [`outcome`] for a client that writes nothing more (not even a SETTINGS or PING
/// acknowledgement), as one stalled in the middle of a header block must.
pub async fn outcome_silent(s: &mut TcpStream, id: u32, limit: Duration) -> Outcome {
    tokio::time::timeout(limit, read_outcome(s, id, false))
        .await
        .expect("the server neither answered, reset nor closed in time")
}

async fn read_outcome(s: &mut TcpStream, id: u32, answer: bool) -> Outcome {
    loop {
        let mut head = [0u8; 9];
        if s.read_exact(&mut head).await.is_err() {
            return Outcome::Closed;
        }
        let len = usize::from(head[0]) << 16 | usize::from(head[1]) << 8 | usize::from(head[2]);
        let (kind, flags) = (head[3], head[4]);
        let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
        let mut payload = vec![0u8; len];
        if s.read_exact(&mut payload).await.is_err() {
            return Outcome::Closed;
        }
        match kind {
            SETTINGS if answer && flags & ACK == 0 => {
                let _ = s.write_all(&frame(SETTINGS, ACK, 0, &[])).await;
            }
            PING if answer && flags & ACK == 0 => {
                let _ = s.write_all(&frame(PING, ACK, 0, &payload)).await;
            }
            GOAWAY => {
                return Outcome::GoAway(u32::from_be_bytes([
                    payload[4], payload[5], payload[6], payload[7],
                ]))
            }
            RST_STREAM if stream == id => {
                return Outcome::Reset(u32::from_be_bytes([
                    payload[0], payload[1], payload[2], payload[3],
                ]))
            }
            HEADERS if stream == id => return Outcome::Answered(static_status(&payload)),
            _ => {}
        }
    }
}

/// The status of a response header block whose first field is an indexed `:status` from
/// HPACK's static table (RFC 7541 appendix A, indexes 8 to 14).
fn static_status(block: &[u8]) -> Option<u16> {
    match block.first()? {
        0x88 => Some(200),
        0x89 => Some(204),
        0x8a => Some(206),
        0x8b => Some(304),
        0x8c => Some(400),
        0x8d => Some(404),
        0x8e => Some(500),
        _ => None,
    }
}

/// HTTP/2 error codes (RFC 9113 §7).
pub const PROTOCOL_ERROR: u32 = 0x1;
pub const COMPRESSION_ERROR: u32 = 0x9;
pub const ENHANCE_YOUR_CALM: u32 = 0xb;
pub const NO_ERROR: u32 = 0x0;
pub const CANCEL: u32 = 0x8;
pub const REFUSED_STREAM: u32 = 0x7;

/// The parameters of the server's first SETTINGS frame, as (identifier, value).
pub async fn server_settings(s: &mut TcpStream) -> Vec<(u16, u32)> {
    let mut head = [0u8; 9];
    tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut head))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(head[3], SETTINGS, "the server opens with SETTINGS");
    let len = usize::from(head[0]) << 16 | usize::from(head[1]) << 8 | usize::from(head[2]);
    let mut payload = vec![0u8; len];
    s.read_exact(&mut payload).await.unwrap();
    payload
        .chunks(6)
        .map(|c| {
            (
                u16::from_be_bytes([c[0], c[1]]),
                u32::from_be_bytes([c[2], c[3], c[4], c[5]]),
            )
        })
        .collect()
}

/// Reads (answering SETTINGS and PING when `answer`) until the server closes the
/// connection; panics if it is still open after `limit`.
pub async fn closed_within(s: &mut TcpStream, answer: bool, limit: Duration) {
    let drained = tokio::time::timeout(limit, async {
        while read_outcome(s, u32::MAX, answer).await != Outcome::Closed {}
    })
    .await;
    assert!(
        drained.is_ok(),
        "the connection was still open after {limit:?}"
    );
}
