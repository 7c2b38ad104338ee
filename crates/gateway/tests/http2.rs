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
use cordon_gateway::config::Config;
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
