//! HTTP/2 end to end: clients by ALPN over TLS and by prior knowledge (h2c) where
//! configured get the same decisions, receipts, log entries and redaction as HTTP/1.1
//! (one list of attacks, run over every protocol); HTTP/2's own tricks (pseudo-headers,
//! HPACK, `:authority`, CONTINUATION floods, rapid resets) are refused or cut off; and
//! the upstream is reached over HTTP/2 by ALPN, or h2c only where configured.
#![allow(clippy::unwrap_used)]
mod common;
use common::cases::{self, SPOOFED};
use common::frames::{self, Outcome};
use common::h2::{self, Ask, Proto};
use common::pki::{self, Ca};
use common::{
    assert_nothing_redacted_leaks, assert_served_as_logged, entries, Harness, CPD, DEV_IDENTITY,
};
use cordon_gateway::config::{Config, UpstreamHttp2, UpstreamSection};
use cordon_gateway::entry::Entry;
use cordon_gateway::sample::Hits;
use cordon_gateway::wire::Reply;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// A gateway listening for `proto`: TLS (with ALPN) for the TLS protocols, h2c switched
/// on for the plain ones; `tweak` changes the config further.
async fn gateway_with(proto: Proto, ca: &Ca, tweak: impl FnOnce(&mut Config)) -> Harness {
    let tls = if proto.is_tls() { h2::TLS } else { "" };
    Harness::start_tweaked(
        DEV_IDENTITY,
        tls,
        "nginx",
        |dir| {
            if proto.is_tls() {
                h2::write_server_cert(dir, ca);
            }
        },
        |c| {
            c.http2.h2c = !proto.is_tls();
            tweak(c);
        },
    )
    .await
}

async fn gateway(proto: Proto, ca: &Ca) -> Harness {
    gateway_with(proto, ca, |_| {}).await
}

/// Stops the gateway, checks promise 1 on what the upstream received, and returns the
/// log and what the upstream saw.
async fn finish(h: Harness) -> (Vec<Entry>, Arc<Hits>) {
    let (dir, verifier, hits) = h.stop().await;
    let log = dir.path().join("log");
    assert_served_as_logged(&log, &verifier, &hits);
    (entries(&log, &verifier), hits)
}

/// Every shared case over `proto`, each checked for its status and for leaks.
async fn run_cases(proto: Proto, ca: &Ca) -> (Vec<Reply>, Vec<Entry>, Arc<Hits>) {
    let h = gateway(proto, ca).await;
    let mut replies = Vec::new();
    let mut wrong = Vec::new();
    for c in cases::all() {
        let ask = Ask {
            method: c.method,
            target: c.target,
            headers: &c.headers,
            body: c.body,
        };
        let r = h2::send(h.addr, proto, Some(ca), &ask).await;
        if r.status != c.expect {
            wrong.push(format!(
                "{proto:?}, {}: {} got {}, not {}: {}",
                c.name,
                c.target,
                r.status,
                c.expect,
                r.text()
            ));
        }
        assert_nothing_redacted_leaks(&r);
        assert!(r.header("content-range").is_none(), "{}", c.name);
        assert!(r.header("etag").is_none(), "{}", c.name);
        replies.push(r);
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    let (log, hits) = finish(h).await;
    assert_nothing_spoofed_reached_the_upstream(&hits);
    (replies, log, hits)
}

fn assert_nothing_spoofed_reached_the_upstream(hits: &Hits) {
    for seen in hits.seen() {
        for (k, v) in &seen.headers {
            let spoofed = SPOOFED
                .iter()
                .any(|(name, value)| k.eq_ignore_ascii_case(name) && v == value);
            assert!(!spoofed, "{k}: {v} reached the upstream: {seen:?}");
            assert!(
                !["range", "if-range", "if-match", "if-none-match", "cookie"].contains(&k.as_str()),
                "{k} reached the upstream: {seen:?}"
            );
        }
    }
}

/// What a log entry decided, without its time.
fn decided(e: &Entry) -> String {
    match e {
        Entry::Decision(r) => format!(
            "{} {} {} {} {} {:?} {:?} {:?} allowed={}",
            r.via,
            r.auth,
            r.principal,
            r.agency,
            r.method,
            r.target(),
            r.body,
            r.refusal,
            r.allowed()
        ),
        other => format!("{other:?}"),
    }
}

/// A body without its signed receipt, which carries the signing time and so differs
/// between two gateways that log the same decision.
fn unsigned(r: &Reply) -> String {
    match serde_json::from_slice::<serde_json::Value>(&r.body) {
        Ok(serde_json::Value::Object(mut m)) => {
            m.remove("signed_receipt");
            serde_json::Value::Object(m).to_string()
        }
        _ => r.text(),
    }
}

/// The same cases over two protocols: same statuses, receipts, bodies (a 431 says how
/// large each head was, which differs by protocol, so only its advice is compared), the
/// same log entries, and the same requests at the upstream.
async fn assert_same_over(a: Proto, b: Proto) {
    let ca = pki::ca("Gateway CA");
    let (ra, la, ha) = run_cases(a, &ca).await;
    let (rb, lb, hb) = run_cases(b, &ca).await;
    for ((c, x), y) in cases::all().iter().zip(&ra).zip(&rb) {
        let what = format!("{}: {} over {a:?} and {b:?}", c.name, c.target);
        assert_eq!(x.status, y.status, "{what}");
        assert_eq!(
            x.header("cordon-receipt"),
            y.header("cordon-receipt"),
            "{what}"
        );
        assert_eq!(x.header("cordon-log"), y.header("cordon-log"), "{what}");
        assert_eq!(x.header("content-type"), y.header("content-type"), "{what}");
        if x.status == 431 {
            assert_eq!(x.json()["what_to_do"], y.json()["what_to_do"], "{what}");
        } else {
            assert_eq!(unsigned(x), unsigned(y), "{what}");
        }
    }
    assert!(!la.is_empty());
    assert_eq!(
        la.iter().map(decided).collect::<Vec<_>>(),
        lb.iter().map(decided).collect::<Vec<_>>(),
        "the log says the same over {a:?} and {b:?}"
    );
    let served = |h: &Hits| {
        h.seen()
            .into_iter()
            .map(|s| (s.method, s.target, s.body))
            .collect::<Vec<_>>()
    };
    assert_eq!(served(&ha), served(&hb));
}

// ---- One list of attacks, every protocol ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2c_gets_the_same_decisions_receipts_log_and_redaction_as_http1() {
    assert_same_over(Proto::H1, Proto::H2c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2_by_alpn_gets_the_same_decisions_receipts_log_and_redaction_as_http1_over_tls() {
    assert_same_over(Proto::H1Tls, Proto::H2Tls).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_is_spoken_in_the_clear_only_where_h2c_is_configured_and_over_tls_unless_disabled() {
    use tokio::io::AsyncReadExt;
    let ca = pki::ca("Gateway CA");
    // A plain listener without http2.h2c reads the HTTP/2 preface as a bad HTTP/1.1
    // request.
    let h = gateway_with(Proto::H1, &ca, |c| c.http2.h2c = false).await;
    let mut s = frames::open(h.addr).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut answer)).await;
    assert!(
        answer.is_empty() || answer.starts_with(b"HTTP/1.1 4"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    drop(s);
    finish(h).await;
    // With http2.enabled = false, TLS offers only HTTP/1.1.
    let h = gateway_with(Proto::H1Tls, &ca, |c| c.http2.enabled = false).await;
    let (_, alpn) = h2::connect_tls(h.addr, h2::tls_client(&ca, &[b"h2", b"http/1.1"])).await;
    assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]));
    finish(h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_certificate_identifies_an_http2_client_as_it_does_an_http1_one() {
    let server_ca = pki::ca("Gateway CA");
    let client_ca = pki::ca("Client CA");
    let (cert, key) = pki::leaf(&client_ca, pki::email("det-0417@cpd.example"), true);
    let identity = r#"
[identity]
dev_mode = false

[[identity.certificates]]
name = "email:det-0417@cpd.example"
principal = "cpd-detective-0417"
agency = "cpd"
"#;
    let tls = format!("{}client_ca = \"client-ca.pem\"\n", h2::TLS);
    let h = Harness::start_with(identity, &tls, |dir| {
        h2::write_server_cert(dir, &server_ca);
        std::fs::write(dir.join("client-ca.pem"), client_ca.cert.pem()).unwrap();
    })
    .await;
    let purpose = &CPD[1..];
    let ask = Ask {
        method: "GET",
        target: "/alpr/plates/FAKE123",
        headers: purpose,
        body: b"",
    };
    for alpn in [&b"h2"[..], &b"http/1.1"[..]] {
        let config = h2::tls_client_with(&server_ca, &[alpn], Some((&cert, &key)));
        let (tls, chosen) = h2::connect_tls(h.addr, config).await;
        assert_eq!(chosen.as_deref(), Some(alpn));
        let r = if alpn == b"h2" {
            h2::h2(tls, "https", &ask).await
        } else {
            cordon_gateway::wire::exchange(
                tls,
                &cordon_gateway::wire::request("GET", "/alpr/plates/FAKE123", purpose),
            )
            .await
            .unwrap()
        };
        assert_eq!(r.status, 200, "{}", r.text());
    }
    // Without the certificate, no identity.
    let r = h2::send(h.addr, Proto::H2Tls, Some(&server_ca), &ask).await;
    assert_eq!(r.status, 401, "{}", r.text());
    let (log, hits) = finish(h).await;
    assert_eq!(log.len(), 2);
    assert_eq!(decided(&log[0]), decided(&log[1]));
    assert!(
        decided(&log[0]).contains("cpd-detective-0417"),
        "{}",
        decided(&log[0])
    );
    assert_eq!(versions(&hits), vec!["HTTP/1.1"; 2]);
}

// ---- HTTP/2's own tricks, written frame by frame ----

/// The credentials and purpose of a lawful CPD search, as HTTP/2 fields.
const CPD_FIELDS: [(&str, &str); 4] = [
    ("authorization", "Bearer demo-cpd"),
    ("cordon-purpose", "criminal_investigation"),
    ("cordon-reason", "burglary"),
    ("cordon-case", "JD-1"),
];

/// A plain gateway with h2c on.
async fn h2c_gateway(tweak: impl FnOnce(&mut Config)) -> Harness {
    gateway_with(Proto::H2c, &pki::ca("unused"), tweak).await
}

/// Sends one complete request (HEADERS with END_HEADERS and END_STREAM) as stream 1 on a
/// new h2c connection and reads what the server did with it.
async fn one_stream(h: &Harness, fields: &[(&str, &str)]) -> Outcome {
    let mut s = frames::open(h.addr).await;
    let block = frames::block(fields);
    s.write_all(&frames::frame(
        frames::HEADERS,
        frames::END_HEADERS | frames::END_STREAM,
        1,
        &block,
    ))
    .await
    .unwrap();
    frames::outcome(&mut s, 1, Duration::from_secs(10)).await
}

fn with_cpd<'a>(mut fields: Vec<(&'a str, &'a str)>) -> Vec<(&'a str, &'a str)> {
    fields.extend_from_slice(&CPD_FIELDS);
    fields
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hand_written_frames_reach_the_gateway_as_written() {
    let h = h2c_gateway(|_| {}).await;
    let ok = with_cpd(frames::get("/alpr/plates/FAKE123"));
    assert_eq!(one_stream(&h, &ok).await, Outcome::Answered(Some(200)));
    assert_eq!(h.upstream_hits(), 1);
    finish(h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pseudo_headers_repeated_misplaced_unknown_or_missing_are_refused_before_any_decision() {
    let h = h2c_gateway(|_| {}).await;
    let get = || frames::get("/alpr/plates/FAKE123");
    let mut repeated_path = get();
    repeated_path.push((":path", "/records/people/P-1002"));
    let mut repeated_method = get();
    repeated_method.push((":method", "DELETE"));
    let misplaced = vec![
        (":method", "GET"),
        (":scheme", "http"),
        (":authority", "localhost"),
        ("authorization", "Bearer demo-cpd"),
        (":path", "/records/people/P-1002"),
    ];
    let mut unknown = get();
    unknown.push((":protocol-x", "websocket"));
    let mut status = get();
    status.push((":status", "200"));
    let missing_path = vec![
        (":method", "GET"),
        (":scheme", "http"),
        (":authority", "localhost"),
    ];
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("a repeated :path", with_cpd(repeated_path)),
        ("a repeated :method", with_cpd(repeated_method)),
        ("a pseudo-header after a regular one", with_cpd(misplaced)),
        ("an unknown pseudo-header", with_cpd(unknown)),
        ("a response pseudo-header", with_cpd(status)),
        ("no :path", with_cpd(missing_path)),
        (
            "a connection header",
            with_cpd([get(), vec![("connection", "close")]].concat()),
        ),
        (
            "a transfer coding",
            with_cpd([get(), vec![("transfer-encoding", "chunked")]].concat()),
        ),
        (
            "te other than trailers",
            with_cpd([get(), vec![("te", "gzip")]].concat()),
        ),
        (
            "an upper-case name",
            [
                get(),
                vec![("Cordon-Purpose", "civil_immigration_enforcement")],
                CPD_FIELDS.to_vec(),
            ]
            .concat(),
        ),
    ];
    for (name, fields) in cases {
        let outcome = one_stream(&h, &fields).await;
        assert!(
            matches!(
                outcome,
                Outcome::Reset(frames::PROTOCOL_ERROR)
                    | Outcome::GoAway(frames::PROTOCOL_ERROR | frames::COMPRESSION_ERROR)
            ),
            "{name}: {outcome:?}"
        );
    }
    assert_eq!(
        h.upstream_hits(),
        0,
        "nothing malformed reached the upstream"
    );
    let (log, _) = finish(h).await;
    assert!(
        log.is_empty(),
        "a malformed request is never decided: {log:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_in_absolute_form_without_a_slash_with_control_bytes_or_none_is_never_served() {
    let h = h2c_gateway(|_| {}).await;
    for path in [
        "http://evil.example/alpr/plates/FAKE123",
        "alpr/plates/FAKE123",
        "*",
        "/records/people/P-1001\u{7f}",
        "/records/people/P-1001 /../P-1002",
        "",
    ] {
        let outcome = one_stream(&h, &with_cpd(frames::get(path))).await;
        // `*` is a lawful target (of OPTIONS), which no route covers.
        let expected = if path == "*" {
            Outcome::Answered(Some(400))
        } else {
            Outcome::Reset(frames::PROTOCOL_ERROR)
        };
        assert_eq!(outcome, expected, "{path:?}");
    }
    // CONNECT names no path at all: nothing to decide, nothing tunnelled.
    let connect = with_cpd(vec![
        (":method", "CONNECT"),
        (":authority", "records.internal:443"),
    ]);
    let outcome = one_stream(&h, &connect).await;
    assert_eq!(outcome, Outcome::Answered(Some(404)), "CONNECT");
    assert_eq!(h.upstream_hits(), 0);
    finish(h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_and_split_fields_by_hpack_are_decided_as_repeats() {
    let h = h2c_gateway(|_| {}).await;
    // The purpose twice: over HTTP/2 names are lower case, so this is the HTTP/1.1
    // "Cordon-Purpose" and "cordon-PURPOSE" trick.
    let twice = [
        frames::get("/alpr/plates/FAKE123"),
        CPD_FIELDS.to_vec(),
        vec![("cordon-purpose", "civil_immigration_enforcement")],
    ]
    .concat();
    assert_eq!(one_stream(&h, &twice).await, Outcome::Answered(Some(400)));
    // A second credential.
    let two = [
        frames::get("/alpr/plates/FAKE123"),
        CPD_FIELDS.to_vec(),
        vec![("authorization", "Bearer demo-ice")],
    ]
    .concat();
    assert_eq!(one_stream(&h, &two).await, Outcome::Answered(Some(400)));
    assert_eq!(h.upstream_hits(), 0);
    finish(h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_header_naming_another_authority_than_the_authority_pseudo_header_is_refused() {
    let ca = pki::ca("unused");
    let h = gateway(Proto::H2c, &ca).await;
    let mut fields = with_cpd(frames::get("/alpr/plates/FAKE123"));
    fields.push(("host", "records.evil.example"));
    assert_eq!(one_stream(&h, &fields).await, Outcome::Answered(Some(400)));
    let mut twice = with_cpd(frames::get("/alpr/plates/FAKE123"));
    twice.push(("host", "localhost"));
    twice.push(("host", "localhost"));
    assert_eq!(one_stream(&h, &twice).await, Outcome::Answered(Some(400)));
    let mut same = with_cpd(frames::get("/alpr/plates/FAKE123"));
    same.push(("host", "LOCALHOST"));
    assert_eq!(one_stream(&h, &same).await, Outcome::Answered(Some(200)));
    // The refusal says what was wrong.
    let mut headers = CPD.to_vec();
    headers.push(("Host", "records.evil.example"));
    let ask = Ask {
        method: "GET",
        target: "/alpr/plates/FAKE123",
        headers: &headers,
        body: b"",
    };
    let r = h2::send(h.addr, Proto::H2c, None, &ask).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains(":authority"), "{}", r.text());
    assert_eq!(h.upstream_hits(), 1);
    finish(h).await;
}

/// HEADERS without END_HEADERS, then `n` CONTINUATION frames, the last with END_HEADERS
/// when `end`; the block is a lawful search split into those frames.
fn split_block(n: usize, end: bool) -> Vec<u8> {
    let block = frames::block(&with_cpd(frames::get("/alpr/plates/FAKE123")));
    let mut out = frames::frame(frames::HEADERS, frames::END_STREAM, 1, &block[..8]);
    let rest = &block[8..];
    let step = rest.len().div_ceil(n);
    let mut chunks: Vec<&[u8]> = rest.chunks(step).collect();
    chunks.resize(n, &[]);
    for (i, c) in chunks.iter().enumerate() {
        let flags = if end && i + 1 == n {
            frames::END_HEADERS
        } else {
            0
        };
        out.extend(frames::frame(frames::CONTINUATION, flags, 1, c));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_continuation_flood_is_cut_off_with_goaway_and_the_gateway_serves_on() {
    let h = h2c_gateway(|_| {}).await;
    // A header block in seven frames is within the limit and answered.
    let mut s = frames::open(h.addr).await;
    s.write_all(&split_block(6, true)).await.unwrap();
    let fine = frames::outcome(&mut s, 1, Duration::from_secs(10)).await;
    assert_eq!(fine, Outcome::Answered(Some(200)));
    // Six CONTINUATION frames that do not end the block are one too many.
    let mut s = frames::open(h.addr).await;
    s.write_all(&split_block(6, false)).await.unwrap();
    let cut = frames::outcome(&mut s, 1, Duration::from_secs(10)).await;
    assert_eq!(cut, Outcome::GoAway(frames::ENHANCE_YOUR_CALM));
    frames::closed_within(&mut s, true, Duration::from_secs(5)).await;
    // A flood: a header block that never ends, written as fast as the socket takes it.
    let s = frames::open(h.addr).await;
    let (mut rd, mut wr) = s.into_split();
    let writer = tokio::spawn(async move {
        let block = frames::block(&frames::get("/alpr/plates/FAKE123"));
        let mut flood = frames::frame(frames::HEADERS, frames::END_STREAM, 1, &block);
        for _ in 0..1000 {
            flood.extend(frames::frame(frames::CONTINUATION, 0, 1, b""));
        }
        let started = std::time::Instant::now();
        let mut sent = 0usize;
        while started.elapsed() < Duration::from_secs(10) {
            if wr.write_all(&flood).await.is_err() {
                return sent;
            }
            sent += 1000;
            flood = frames::frame(frames::CONTINUATION, 0, 1, b"").repeat(1000);
        }
        panic!("the gateway was still reading CONTINUATION frames after 10 s ({sent} sent)");
    });
    let mut seen = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        use tokio::io::AsyncReadExt;
        let mut buf = [0u8; 4096];
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the flooded connection was not closed");
    writer.await.unwrap();
    // The GOAWAY is the last frame the gateway wrote (when the close did not overtake it).
    let goaway = [0u8, 0, 8, frames::GOAWAY];
    if let Some(at) = seen.windows(4).position(|w| w == goaway) {
        let code = &seen[at + 13..at + 17];
        assert_eq!(
            u32::from_be_bytes(code.try_into().unwrap()),
            frames::ENHANCE_YOUR_CALM
        );
    }
    // The gateway still serves everyone else.
    let ok = with_cpd(frames::get("/alpr/plates/FAKE123"));
    assert_eq!(one_stream(&h, &ok).await, Outcome::Answered(Some(200)));
    assert_eq!(
        h.upstream_hits(),
        2,
        "nothing of the flood reached the upstream"
    );
    finish(h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_block_that_stalls_is_closed_at_the_idle_limit() {
    let h = h2c_gateway(|c| c.http2.idle_timeout_ms = 1000).await;
    let mut s = frames::open(h.addr).await;
    let block = frames::block(&with_cpd(frames::get("/alpr/plates/FAKE123")));
    s.write_all(&frames::frame(
        frames::HEADERS,
        frames::END_STREAM,
        1,
        &block,
    ))
    .await
    .unwrap();
    let started = std::time::Instant::now();
    let outcome = frames::outcome_silent(&mut s, 1, Duration::from_secs(10)).await;
    println!("{outcome:?} after {:?}", started.elapsed());
    assert_eq!(outcome, Outcome::GoAway(frames::NO_ERROR));
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    let told = std::time::Instant::now();
    frames::closed_within(&mut s, false, Duration::from_secs(10)).await;
    let grace = told.elapsed();
    assert!(
        grace >= Duration::from_secs(4) && grace < Duration::from_secs(8),
        "a connection that does not go is dropped 5 s after it is told to: {grace:?}"
    );
    // An open connection with nothing on it goes the same way.
    let mut idle = frames::open(h.addr).await;
    let outcome = frames::outcome(&mut idle, 1, Duration::from_secs(10)).await;
    assert_eq!(outcome, Outcome::GoAway(frames::NO_ERROR));
    drop(idle);
    assert_eq!(h.upstream_hits(), 0);
    finish(h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rapid_resets_end_the_connection_with_goaway() {
    let h = h2c_gateway(|_| {}).await;
    let mut s = frames::open(h.addr).await;
    // Unauthenticated, so no stream the gateway does get to is logged.
    let block = frames::block(&frames::get("/alpr/plates/FAKE123"));
    let mut burst = Vec::new();
    for i in 0..500u32 {
        let id = 2 * i + 1;
        burst.extend(frames::frame(
            frames::HEADERS,
            frames::END_HEADERS | frames::END_STREAM,
            id,
            &block,
        ));
        burst.extend(frames::frame(
            frames::RST_STREAM,
            0,
            id,
            &frames::CANCEL.to_be_bytes(),
        ));
    }
    let _ = s.write_all(&burst).await;
    let outcome = frames::outcome(&mut s, u32::MAX, Duration::from_secs(10)).await;
    assert_eq!(outcome, Outcome::GoAway(frames::ENHANCE_YOUR_CALM));
    let (log, _) = finish(h).await;
    assert!(log.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_keeps_making_the_gateway_reset_streams_is_told_to_go_away() {
    let h = h2c_gateway(|_| {}).await;
    let mut s = frames::open(h.addr).await;
    let mut bad = frames::get("/alpr/plates/FAKE123");
    bad.push((":path", "/records/people/P-1002"));
    let block = frames::block(&bad);
    let mut burst = Vec::new();
    for i in 0..150u32 {
        burst.extend(frames::frame(
            frames::HEADERS,
            frames::END_HEADERS | frames::END_STREAM,
            2 * i + 1,
            &block,
        ));
    }
    let _ = s.write_all(&burst).await;
    let outcome = frames::outcome(&mut s, u32::MAX, Duration::from_secs(10)).await;
    assert_eq!(outcome, Outcome::GoAway(frames::ENHANCE_YOUR_CALM));
    drop(s);
    let (log, _) = finish(h).await;
    assert!(log.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_announces_its_http2_limits_and_refuses_streams_past_them() {
    let h = h2c_gateway(|c| c.http2.max_concurrent_streams = 2).await;
    let mut s = frames::open(h.addr).await;
    let settings = frames::server_settings(&mut s).await;
    let get = |id: u16| settings.iter().find(|(k, _)| *k == id).map(|(_, v)| *v);
    assert_eq!(
        get(0x3),
        Some(2),
        "SETTINGS_MAX_CONCURRENT_STREAMS: {settings:?}"
    );
    assert_eq!(
        get(0x6),
        Some(32 * 1024),
        "SETTINGS_MAX_HEADER_LIST_SIZE: {settings:?}"
    );
    assert_eq!(
        get(0x4),
        Some(256 * 1024),
        "SETTINGS_INITIAL_WINDOW_SIZE: {settings:?}"
    );
    // Two searches whose bodies never come hold both streams; a third is refused.
    let block = frames::block(&with_cpd(frames::get("/alpr/plates/FAKE123")));
    for id in [1, 3] {
        s.write_all(&frames::frame(
            frames::HEADERS,
            frames::END_HEADERS,
            id,
            &block,
        ))
        .await
        .unwrap();
    }
    s.write_all(&frames::frame(
        frames::HEADERS,
        frames::END_HEADERS | frames::END_STREAM,
        5,
        &block,
    ))
    .await
    .unwrap();
    let third = frames::outcome(&mut s, 5, Duration::from_secs(10)).await;
    assert_eq!(third, Outcome::Reset(frames::REFUSED_STREAM));
    drop(s);
    assert_eq!(h.upstream_hits(), 0);
    finish(h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_tells_an_open_http2_connection_to_go_away_and_completes() {
    let h = h2c_gateway(|_| {}).await;
    let mut s = frames::open(h.addr).await;
    let ok = frames::block(&with_cpd(frames::get("/alpr/plates/FAKE123")));
    s.write_all(&frames::frame(
        frames::HEADERS,
        frames::END_HEADERS | frames::END_STREAM,
        1,
        &ok,
    ))
    .await
    .unwrap();
    assert_eq!(
        frames::outcome(&mut s, 1, Duration::from_secs(10)).await,
        Outcome::Answered(Some(200))
    );
    // The connection stays open; stopping the gateway must tell it to go away, and
    // finish once it has.
    let stopping = tokio::spawn(finish(h));
    let told = frames::outcome(&mut s, 3, Duration::from_secs(5)).await;
    assert_eq!(told, Outcome::GoAway(frames::NO_ERROR));
    frames::closed_within(&mut s, true, Duration::from_secs(5)).await;
    let (log, _) = tokio::time::timeout(Duration::from_secs(5), stopping)
        .await
        .expect("the gateway stopped once its connections had gone")
        .unwrap();
    assert_eq!(log.len(), 1);
}

// ---- HTTP/2 to the upstream ----

/// The sample service over TLS for `localhost` from `ca`, offering `alpn`.
async fn tls_upstream(ca: &Ca, alpn: &[&[u8]]) -> (std::net::SocketAddr, Arc<Hits>) {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let (cert, key) = pki::leaf(ca, pki::dns("localhost"), false);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(cert.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    pki::serve_sample_tls(config).await
}

/// A gateway with h2c on for its clients, whose upstream is `section`.
async fn gateway_to(section: UpstreamSection) -> Harness {
    h2c_gateway(|c| c.upstream = Some(section)).await
}

/// Three searches and a redacted record over h2c; every one answered.
async fn four_requests(h: &Harness) {
    for target in [
        "/alpr/plates/FAKE123",
        "/alpr/plates/TEST456",
        "/records/people/P-1001",
        "/alpr/plates/DEMO789",
    ] {
        let ask = Ask {
            method: "GET",
            target,
            headers: &CPD,
            body: b"",
        };
        let r = h2::send(h.addr, Proto::H2c, None, &ask).await;
        assert_eq!(r.status, 200, "{target}: {}", r.text());
        assert_nothing_redacted_leaks(&r);
    }
}

fn versions(hits: &Hits) -> Vec<String> {
    hits.seen().into_iter().map(|s| s.version).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_that_chooses_h2_by_alpn_is_served_over_one_pooled_http2_connection() {
    let ca = pki::ca("Records CA");
    let (addr, hits) = tls_upstream(&ca, &[b"h2", b"http/1.1"]).await;
    let files = tempfile::tempdir().unwrap();
    let ca_file = files.path().join("records-ca.pem");
    std::fs::write(&ca_file, ca.cert.pem()).unwrap();
    let h = gateway_to(UpstreamSection {
        ca: Some(ca_file),
        ..UpstreamSection::from_url(&format!("https://localhost:{}", addr.port()))
    })
    .await;
    four_requests(&h).await;
    assert_eq!(versions(&hits), vec!["HTTP/2.0"; 4]);
    assert_eq!(
        hits.connections.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the four requests share one pooled HTTP/2 connection"
    );
    let (dir, verifier, _) = h.stop().await;
    assert_served_as_logged(&dir.path().join("log"), &verifier, &hits);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http1_is_spoken_to_an_upstream_that_offers_only_http1_or_when_upstream_http2_is_off() {
    let ca = pki::ca("Records CA");
    let files = tempfile::tempdir().unwrap();
    let ca_file = files.path().join("records-ca.pem");
    std::fs::write(&ca_file, ca.cert.pem()).unwrap();
    for (offers, mode) in [
        (&[&b"http/1.1"[..]][..], None),
        (
            &[&b"h2"[..], &b"http/1.1"[..]][..],
            Some(UpstreamHttp2::Off),
        ),
    ] {
        let (addr, hits) = tls_upstream(&ca, offers).await;
        let h = gateway_to(UpstreamSection {
            ca: Some(ca_file.clone()),
            http2: mode,
            ..UpstreamSection::from_url(&format!("https://localhost:{}", addr.port()))
        })
        .await;
        four_requests(&h).await;
        assert_eq!(versions(&hits), vec!["HTTP/1.1"; 4], "{mode:?}");
        let (dir, verifier, _) = h.stop().await;
        assert_served_as_logged(&dir.path().join("log"), &verifier, &hits);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_upstream_gets_h2c_only_when_configured() {
    // The sample service beside the gateway speaks both; unless told, Cordon sends it
    // HTTP/1.1.
    let h = h2c_gateway(|_| {}).await;
    four_requests(&h).await;
    let (_, hits) = finish(h).await;
    assert_eq!(versions(&hits), vec!["HTTP/1.1"; 4]);

    let up = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = up.local_addr().unwrap();
    let hits = Arc::new(Hits::default());
    tokio::spawn(cordon_gateway::sample::serve(up, hits.clone()));
    let h = gateway_to(UpstreamSection {
        http2: Some(UpstreamHttp2::H2c),
        ..UpstreamSection::from_url(&format!("http://{addr}"))
    })
    .await;
    four_requests(&h).await;
    assert_eq!(versions(&hits), vec!["HTTP/2.0"; 4]);
    assert_eq!(
        hits.connections.load(std::sync::atomic::Ordering::SeqCst),
        1
    );
    let (dir, verifier, _) = h.stop().await;
    assert_served_as_logged(&dir.path().join("log"), &verifier, &hits);
}

// ---- Configuration ----

#[test]
fn check_config_names_each_http2_setting_that_cannot_work() {
    let dir = tempfile::tempdir().unwrap();
    let signer = cordon_log::Signer::generate("test.cordon.example/gateway").unwrap();
    std::fs::write(dir.path().join("log.key"), signer.to_text()).unwrap();
    let upstream: std::net::SocketAddr = "127.0.0.1:9".parse().unwrap();
    let problems = |extra: &str, upstream_line: &str| {
        let text = common::config_text(upstream, DEV_IDENTITY, extra)
            .replace("upstream = \"http://127.0.0.1:9\"", upstream_line);
        let path = dir.path().join("gateway.toml");
        std::fs::write(&path, text).unwrap();
        cordon_gateway::check::check_config(&path).join("\n")
    };
    let plain = "upstream = \"http://127.0.0.1:9\"";
    let said = problems("\n[http2]\nh2c = true\n", plain);
    assert!(
        !said.contains("http2"),
        "h2c on a plain listener is fine: {said}"
    );
    let said = problems(
        "\n[http2]\nh2c = true\n[tls]\ncert = \"server.pem\"\nkey = \"server.key\"\n",
        plain,
    );
    assert!(said.contains("http2.h2c is for a plain listener"), "{said}");
    let said = problems("\n[http2]\nmax_concurrent_streams = 0\n", plain);
    assert!(said.contains("http2.max_concurrent_streams"), "{said}");
    let said = problems("\n[http2]\nidle_timeout_ms = 0\n", plain);
    assert!(said.contains("http2.idle_timeout_ms"), "{said}");
    let said = problems("\n[http2]\nh2 = true\n", plain);
    assert!(said.contains("unknown field"), "{said}");
    let said = problems(
        "",
        "upstream = { url = \"http://127.0.0.1:9\", http2 = \"alpn\" }",
    );
    assert!(
        said.contains("upstream.http2 = \"alpn\" needs an https://"),
        "{said}"
    );
    let said = problems(
        "",
        "upstream = { url = \"https://127.0.0.1:9\", http2 = \"h2c\" }",
    );
    assert!(said.contains("upstream.http2 = \"h2c\""), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_refused_over_http2_gets_its_status_and_no_body() {
    let ca = pki::ca("unused");
    let h = gateway(Proto::H2c, &ca).await;
    for target in ["/nonexistent", "/alpr/plates/FAKE123?nope=1"] {
        let ask = Ask {
            method: "HEAD",
            target,
            headers: &CPD,
            body: b"",
        };
        let r = h2::send(h.addr, Proto::H2c, None, &ask).await;
        assert!([400, 404].contains(&r.status), "{target}: {}", r.status);
        assert!(r.body.is_empty(), "{target}: a HEAD answer carried a body");
        assert!(
            r.header("cordon-receipt").is_some() || r.status == 404,
            "{target}"
        );
    }
    finish(h).await;
}
