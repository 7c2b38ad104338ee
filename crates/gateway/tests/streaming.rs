//! Responses stream: a large redacted answer goes out chunked with every named field
//! removed, an unredacted one passes through with its length, and a body that turns out
//! not to be JSON is a 502 while nothing was sent, or a cut-off response (no final chunk)
//! recorded in the log as not fully served once sending began. Never passed on unredacted.
#![allow(clippy::unwrap_used)]
mod common;
use common::{entries, Harness, CPD, DEV_IDENTITY};
use cordon_gateway::config::UpstreamSection;
use cordon_gateway::entry::Entry;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One person record with every redacted field, one of its names escaped.
fn record(i: usize) -> String {
    format!(
        r#"{{"id":{i},"name":"Fake Person {i}","\u0069mmigration_status":"undocumented","nested":{{"place_of_birth":"Fakeland","ok":[true,null,-1.5e3]}},"charge":"burglary"}}"#
    )
}

/// An upstream answering every request with `head` and then `pieces`, each as its own
/// chunk (a `Content-Length` in `head` means no chunking).
async fn scripted(head: &'static str, pieces: Vec<Vec<u8>>) -> SocketAddr {
    scripted_then(head, pieces, false).await
}

/// [`scripted`], then either ending the answer or (`stall`) going silent for 30 s.
async fn scripted_then(head: &'static str, pieces: Vec<Vec<u8>>, stall: bool) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let pieces = pieces.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 8192];
                let _ = tcp.read(&mut buf).await;
                let chunked = !head.contains("Content-Length");
                let framing = if chunked {
                    "Transfer-Encoding: chunked\r\n"
                } else {
                    ""
                };
                let start = format!("HTTP/1.1 200 OK\r\n{head}{framing}Connection: close\r\n\r\n");
                let _ = tcp.write_all(start.as_bytes()).await;
                for p in pieces {
                    if chunked {
                        let _ = tcp.write_all(format!("{:x}\r\n", p.len()).as_bytes()).await;
                        let _ = tcp.write_all(&p).await;
                        let _ = tcp.write_all(b"\r\n").await;
                    } else {
                        let _ = tcp.write_all(&p).await;
                    }
                }
                if stall {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
                if chunked {
                    let _ = tcp.write_all(b"0\r\n\r\n").await;
                }
                let _ = tcp.shutdown().await;
            });
        }
    });
    addr
}

async fn gateway(upstream: SocketAddr, window: usize) -> Harness {
    gateway_with(upstream, window, None).await
}

async fn gateway_with(upstream: SocketAddr, window: usize, pack: Option<PathBuf>) -> Harness {
    Harness::start_tweaked(
        DEV_IDENTITY,
        "",
        "nginx",
        |_| {},
        |c| {
            c.upstream = Some(UpstreamSection {
                body_timeout_ms: 500,
                ..UpstreamSection::from_url(&format!("http://{upstream}"))
            });
            c.response_window_bytes = window;
            c.max_response_bytes = 1 << 20;
            if pack.is_some() {
                c.pack = pack;
            }
        },
    )
    .await
}

/// The Chicago stack with every `@redact` annotation removed: its allows oblige nothing.
fn pack_without_redaction(into: &Path) -> PathBuf {
    let from = common::pack_dir().join("..");
    for pack in [
        "chicago-welcoming-city",
        "illinois-trust-act",
        "illinois-alpr-2-130",
    ] {
        let dir = into.join(pack);
        std::fs::create_dir_all(&dir).unwrap();
        for f in std::fs::read_dir(from.join(pack)).unwrap() {
            let f = f.unwrap();
            if !f.file_type().unwrap().is_file() {
                continue;
            }
            let mut bytes = std::fs::read(f.path()).unwrap();
            if f.path().extension().is_some_and(|e| e == "cedar") {
                let text = String::from_utf8(bytes).unwrap();
                bytes = text
                    .lines()
                    .filter(|l| !l.starts_with("@redact("))
                    .collect::<Vec<_>>()
                    .join("\n")
                    .into_bytes();
            }
            std::fs::write(dir.join(f.file_name()), bytes).unwrap();
        }
    }
    into.join("chicago-welcoming-city")
}

/// The raw bytes of the answer to a GET with the CPD headers (which obliges redaction
/// on person records), read until the gateway closes the connection.
async fn raw_get(h: &Harness, path: &str) -> Vec<u8> {
    let mut tcp = TcpStream::connect(h.addr).await.unwrap();
    tcp.write_all(&cordon_gateway::wire::request("GET", path, &CPD))
        .await
        .unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), tcp.read_to_end(&mut buf))
        .await
        .unwrap()
        .unwrap();
    buf
}

fn head_of(raw: &[u8]) -> String {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase()
}

fn assert_nothing_unredacted(raw: &[u8]) {
    let text = String::from_utf8_lossy(raw);
    for v in [
        "undocumented",
        "Fakeland",
        "immigration_status",
        "place_of_birth",
    ] {
        assert!(!text.contains(v), "{v} reached the client");
    }
}

/// The array of `n` records, cut into pieces of `size` bytes.
fn records(n: usize, size: usize) -> Vec<Vec<u8>> {
    let body = format!("[{}]", (0..n).map(record).collect::<Vec<_>>().join(",\n  "));
    body.into_bytes().chunks(size).map(<[u8]>::to_vec).collect()
}

/// The sizes of the chunks of a raw chunked answer, the final empty one left out.
fn chunk_sizes(raw: &[u8]) -> Vec<usize> {
    let mut at = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let mut sizes = Vec::new();
    loop {
        let line_end = at + raw[at..].windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&raw[at..line_end]).unwrap(), 16).unwrap();
        if size == 0 {
            return sizes;
        }
        sizes.push(size);
        at = line_end + 2 + size + 2;
    }
}

/// Chunks cut where the upstream's writes ended would each be that write less what was
/// removed from it: their sizes would tell the length of each removed value (an outside
/// attack saw 16 chunks of about 8.7 KB for 5-character values and 106 of about 1.1 KB
/// for 500-character ones). Every chunk of a redacted answer but the last is one size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redacted_answers_chunk_sizes_say_nothing_of_what_was_removed() {
    for status in ["x".repeat(5), "x".repeat(500)] {
        let rows: Vec<String> = (0..600)
            .map(|i| format!(r#"{{"id":{i},"immigration_status":"{status}","charge":"burglary"}}"#))
            .collect();
        let body = format!("[{}]", rows.join(","));
        let pieces = body
            .into_bytes()
            .chunks(16 * 1024)
            .map(<[u8]>::to_vec)
            .collect();
        let up = scripted("Content-Type: application/json\r\n", pieces).await;
        let h = gateway(up, 16 * 1024).await;
        let raw = raw_get(&h, "/records/people/P-1001").await;
        assert_nothing_unredacted(&raw);
        let sizes = chunk_sizes(&raw);
        assert!(sizes.len() > 1, "{sizes:?}");
        assert!(
            sizes[..sizes.len() - 1]
                .iter()
                .all(|&n| n == cordon_gateway::redact::REDACTED_PIECE),
            "with {} characters removed per record: {sizes:?}",
            status.len()
        );
        h.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_redacted_response_streams_chunked_with_every_named_field_removed() {
    let pieces = records(3000, 777);
    let up = scripted("Content-Type: application/json\r\n", pieces).await;
    let h = gateway(up, 16 * 1024).await;
    let raw = raw_get(&h, "/records/people/P-1001").await;
    let reply = cordon_gateway::wire::parse(&raw).unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text());
    let head = head_of(&raw);
    assert!(head.contains("transfer-encoding: chunked"), "{head}");
    assert!(!head.contains("content-length"), "{head}");
    assert!(raw.ends_with(b"0\r\n\r\n"), "the response ends properly");
    assert_nothing_unredacted(&reply.body);
    let v = reply.json();
    let items = v.as_array().unwrap();
    assert_eq!(items.len(), 3000);
    assert_eq!(
        items[42],
        serde_json::json!({"id": 42, "name": "Fake Person 42", "nested": {"ok": [true, null, -1500.0]}, "charge": "burglary"})
    );
    let m = h.metrics().await.text();
    assert!(m.contains("cordon_redacted_fields_total 6000"), "{m}");
    assert!(m.contains("cordon_responses_aborted_total 0"), "{m}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_that_needs_no_redaction_passes_through_unchanged_with_its_length() {
    let pieces = records(2000, 1000);
    let body: Vec<u8> = pieces.concat();
    let head: &'static str = Box::leak(
        format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        )
        .into_boxed_str(),
    );
    let up = scripted(head, pieces).await;
    let packs = tempfile::tempdir().unwrap();
    let h = gateway_with(up, 16 * 1024, Some(pack_without_redaction(packs.path()))).await;
    let raw = raw_get(&h, "/records/people/P-1001").await;
    let reply = cordon_gateway::wire::parse(&raw).unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.header("content-length"),
        Some(body.len().to_string().as_str())
    );
    assert_eq!(reply.body, body, "passed through byte for byte");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_json_found_before_anything_was_sent_is_a_502_and_nothing_is_served() {
    for bad in [
        &b"{\"id\":1,\"immigration_status\":\"undocumented\"}]"[..],
        b"{\"id\":1,\"immigration_status\":\"undocumented\"",
        b"{\"id\":1,\"\\ud800mmigration_status\":\"undocumented\"}",
        b"{\"id\":01}",
    ] {
        let up = scripted("Content-Type: application/json\r\n", vec![bad.to_vec()]).await;
        let h = gateway(up, 16 * 1024).await;
        let raw = raw_get(&h, "/records/people/P-1001").await;
        let reply = cordon_gateway::wire::parse(&raw).unwrap();
        assert_eq!(reply.status, 502, "{}", reply.text());
        assert!(reply.text().contains("invalid JSON"), "{}", reply.text());
        assert_nothing_unredacted(&raw);
        h.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_json_found_after_sending_began_cuts_the_response_and_is_logged_not_served() {
    let mut pieces = records(500, 4096);
    // Valid for well past the window, then a second top-level value: not JSON.
    pieces.push(b" {\"immigration_status\":\"undocumented\"}".to_vec());
    let up = scripted("Content-Type: application/json\r\n", pieces).await;
    let h = gateway(up, 8 * 1024).await;
    let raw = raw_get(&h, "/records/people/P-1001").await;
    let head = head_of(&raw);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("transfer-encoding: chunked"), "{head}");
    assert!(
        !raw.ends_with(b"0\r\n\r\n"),
        "a cut-off response has no final chunk, so the client knows it is incomplete"
    );
    assert!(raw.len() > 8 * 1024, "streaming had begun");
    assert_nothing_unredacted(&raw);
    let receipt = receipt_of(&head);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while h.gw.metrics().aborted() == 0 {
        assert!(std::time::Instant::now() < deadline, "the cut is counted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The not-served entry is appended in the background; stopping waits for it.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (dir, verifier, _) = h.stop().await;
    let entries = entries(&dir.path().join("log"), &verifier);
    let why = entries
        .iter()
        .find_map(|e| match e {
            Entry::NotServed { of, why, .. } if *of == receipt => Some(why.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no not_served entry for {receipt}: {entries:?}"));
    assert!(why.contains("cut off after"), "{why}");
    assert!(why.contains("invalid JSON"), "{why}");
    assert!(why.contains("trailing characters"), "{why}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_over_max_response_bytes_is_refused_or_cut_off() {
    // Declared too large: refused before anything is read.
    let up = scripted(
        "Content-Type: application/json\r\nContent-Length: 2000000\r\n",
        vec![b"[]".to_vec()],
    )
    .await;
    let h = gateway(up, 8 * 1024).await;
    let reply = cordon_gateway::wire::parse(&raw_get(&h, "/alpr/plates/FAKE123").await).unwrap();
    assert_eq!(reply.status, 502, "{}", reply.text());
    assert!(
        reply.text().contains("max_response_bytes"),
        "{}",
        reply.text()
    );
    h.stop().await;
    // Not declared, and found too large after sending began: cut off.
    let up = scripted("Content-Type: application/json\r\n", records(12000, 8192)).await;
    let h = gateway(up, 8 * 1024).await;
    let raw = raw_get(&h, "/alpr/plates/FAKE123").await;
    assert!(head_of(&raw).starts_with("http/1.1 200"));
    assert!(!raw.ends_with(b"0\r\n\r\n"), "cut off, not finished");
    assert!(raw.len() < (1 << 20) + 64 * 1024, "{} bytes", raw.len());
    h.stop().await;
}

/// The allow's receipt index from a raw answer's head.
fn receipt_of(head: &str) -> u64 {
    head.lines()
        .find_map(|l| l.strip_prefix("cordon-receipt: "))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_that_stalls_after_sending_began_is_cut_off_and_logged_not_served() {
    let up = scripted_then(
        "Content-Type: application/json\r\n",
        records(200, 4096),
        true,
    )
    .await;
    let h = gateway(up, 8 * 1024).await;
    let raw = raw_get(&h, "/records/people/P-1001").await;
    let head = head_of(&raw);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(!raw.ends_with(b"0\r\n\r\n"), "cut off, not finished");
    assert_nothing_unredacted(&raw);
    let receipt = receipt_of(&head);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (dir, verifier, _) = h.stop().await;
    let entries = entries(&dir.path().join("log"), &verifier);
    assert!(
        entries
            .iter()
            .any(|e| matches!(e, Entry::NotServed { of, why, .. }
            if *of == receipt && why.contains("body_timeout_ms"))),
        "{entries:?}"
    );
}

/// The same cut over HTTP/2: the stream is reset (RST_STREAM), never ended as if whole,
/// and the connection carries on for the next request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_http2_a_cut_response_is_a_reset_stream_not_an_ended_one() {
    use http_body_util::{BodyExt, Empty};
    let mut pieces = records(500, 4096);
    pieces.push(b" {\"immigration_status\":\"undocumented\"}".to_vec());
    let up = scripted("Content-Type: application/json\r\n", pieces).await;
    let h = Harness::start_tweaked(
        DEV_IDENTITY,
        "",
        "nginx",
        |_| {},
        |c| {
            c.upstream = Some(UpstreamSection {
                body_timeout_ms: 500,
                ..UpstreamSection::from_url(&format!("http://{up}"))
            });
            c.response_window_bytes = 8 * 1024;
            c.max_response_bytes = 1 << 20;
            c.http2.h2c = true;
        },
    )
    .await;
    let tcp = TcpStream::connect(h.addr).await.unwrap();
    let (mut send, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tcp),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    for round in 0..2 {
        let mut req =
            hyper::Request::get(format!("http://cordon.test/records/people/P-100{round}"));
        for (k, v) in CPD {
            req = req.header(k, v);
        }
        send.ready().await.expect("the connection is still open");
        let resp = send
            .send_request(req.body(Empty::<bytes::Bytes>::new()).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.version(), hyper::Version::HTTP_2);
        let mut body = resp.into_body();
        let mut received = Vec::new();
        let err = loop {
            match body.frame().await {
                Some(Ok(f)) => received.extend_from_slice(f.data_ref().map_or(&[][..], |d| d)),
                Some(Err(e)) => break e,
                None => panic!(
                    "a cut-off response ended as if whole after {} bytes",
                    received.len()
                ),
            }
        };
        assert!(
            {
                let why = format!("{err:?}");
                why.contains("Reset(") && why.contains("Remote")
            },
            "the stream was reset by the gateway, not the connection closed: {err:?}"
        );
        assert!(received.len() > 8 * 1024, "streaming had begun");
        assert_nothing_unredacted(&received);
    }
    h.stop().await;
}
