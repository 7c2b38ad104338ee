//! Search bodies attacked: a `POST` (or `QUERY`) search is decided on its JSON body, and
//! every trick that would let another parser read the body differently from Cordon
//! (escaped names, duplicate keys, a byte-order mark, extra or nested fields, a wrong
//! Content-Type, chunked framing, a body on GET) is refused or canonicalized. Each test
//! ends by checking promise 1 on what the upstream received: every request matches
//! exactly one allow in the log, body and body hash included.
#![allow(clippy::unwrap_used)]
mod common;
use common::{
    assert_nothing_redacted_leaks, assert_served_as_logged, decided_actions, entries, Harness, CPD,
    DEV_IDENTITY, ICE, PROXY_SECRET,
};
use cordon_gateway::entry::{sha256_hex, Entry, Recorded};
use cordon_gateway::wire::{self, Reply};

/// A search route whose parameters come in a JSON body.
const SEARCH_ROUTE: &str = r#"
[[routes]]
prefix = "/alpr/search"
dataset = "alpr"
action = "search"
methods = ["GET", "HEAD", "POST", "QUERY"]
max_window_hours = 24
[routes.query]
limit = { bind = "limit", max = 100 }
since = { bind = "time_from" }
until = { bind = "time_to" }
[routes.body]
plate = { bind = "record" }
since = { bind = "time_from" }
until = { bind = "time_to" }
limit = { bind = "limit", max = 100 }
"#;

async fn start() -> Harness {
    Harness::start_with(DEV_IDENTITY, SEARCH_ROUTE, |_| {}).await
}

/// A request head from `who` with the given extra lines (`Name: value`), unterminated.
fn head_as(who: &[(&str, &str)], method: &str, target: &str, lines: &[&str]) -> String {
    let mut s = format!("{method} {target} HTTP/1.1\r\nHost: cordon.test\r\nConnection: close\r\n");
    for (k, v) in who {
        s.push_str(&format!("{k}: {v}\r\n"));
    }
    for line in lines {
        s.push_str(line);
        s.push_str("\r\n");
    }
    s
}

/// A request from `who` with a body framed by `Content-Length`.
fn request_as(
    who: &[(&str, &str)],
    method: &str,
    target: &str,
    lines: &[&str],
    body: &[u8],
) -> Vec<u8> {
    let mut s = head_as(who, method, target, lines);
    s.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut bytes = s.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// A CPD request with a body framed by `Content-Length`.
fn request(method: &str, target: &str, lines: &[&str], body: &[u8]) -> Vec<u8> {
    request_as(&CPD, method, target, lines, body)
}

/// A CPD search whose JSON body is sent in the given chunks.
fn chunked(chunks: &[&str]) -> Vec<u8> {
    let mut s = head_as(
        &CPD,
        "POST",
        "/alpr/search",
        &[JSON, "Transfer-Encoding: chunked"],
    );
    s.push_str("\r\n");
    for c in chunks {
        s.push_str(&format!("{:x}\r\n{c}\r\n", c.len()));
    }
    s.push_str("0\r\n\r\n");
    s.into_bytes()
}

const JSON: &str = "Content-Type: application/json";

async fn post(h: &Harness, body: &str) -> Reply {
    send(
        h,
        &request("POST", "/alpr/search", &[JSON], body.as_bytes()),
    )
    .await
}

async fn send(h: &Harness, raw: &[u8]) -> Reply {
    wire::send(h.addr, raw).await.unwrap()
}

/// Stops the gateway and checks promise 1 on everything the upstream received; returns
/// the log's entries.
async fn finish(h: Harness) -> Vec<Entry> {
    let (dir, verifier, hits) = h.stop().await;
    let log = dir.path().join("log");
    assert_served_as_logged(&log, &verifier, &hits);
    entries(&log, &verifier)
}

fn recorded(entries: &[Entry], receipt: &Reply) -> Recorded {
    let i: usize = receipt.header("cordon-receipt").unwrap().parse().unwrap();
    match &entries[i] {
        Entry::Decision(r) => (**r).clone(),
        other => panic!("entry {i} is {other:?}"),
    }
}

/// Asserts a refusal with `status` whose error names `field`, logged with a receipt.
fn assert_refused(r: &Reply, status: u16, field: &str) {
    assert_eq!(r.status, status, "{}", r.text());
    let error = r.json()["error"].as_str().unwrap_or_default().to_owned();
    assert!(error.contains(field), "the error names {field}: {error}");
    assert!(r.header("cordon-receipt").is_some(), "refusals are logged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_search_is_decided_on_its_body_and_the_upstream_gets_cordons_serialization() {
    let h = start().await;
    let sent = "{ \"limit\" : 5,\n  \"plate\": \"FAKE123\", \"since\": \"2026-11-01\" }";
    let r = post(&h, sent).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let canonical = r#"{"limit":5,"plate":"FAKE123","since":"2026-11-01"}"#;
    assert_eq!(r.json()["plate"], "FAKE123");
    assert_eq!(
        r.json()["body"],
        canonical,
        "the upstream saw Cordon's bytes"
    );
    assert_nothing_redacted_leaks(&r);
    let seen = h.hits.seen();
    let header = |n: &str| seen[0].header(n).map(str::to_owned);
    assert_eq!(header("content-type").as_deref(), Some("application/json"));
    assert_eq!(header("content-length"), Some(canonical.len().to_string()));
    // QUERY is the same search.
    let q = send(
        &h,
        &request("QUERY", "/alpr/search", &[JSON], sent.as_bytes()),
    )
    .await;
    assert_eq!(q.status, 200, "{}", q.text());
    assert_eq!(q.json()["body"], canonical);
    // The same search by ICE is denied on the record the body names; nothing forwarded.
    let ice = request_as(&ICE, "POST", "/alpr/search", &[JSON], sent.as_bytes());
    let denied = send(&h, &ice).await;
    assert_eq!(denied.status, 403, "{}", denied.text());
    assert_eq!(h.upstream_hits(), 2);
    let entries = finish(h).await;
    let e = recorded(&entries, &r);
    assert_eq!(e.method, "POST");
    assert_eq!(e.body.as_deref(), Some(canonical));
    assert_eq!(e.body_sha256, Some(sha256_hex(canonical.as_bytes())));
    assert_eq!(
        e.request.unwrap().resource.path,
        "alpr/search/FAKE123",
        "the record the body names is what the policy decided"
    );
    assert_eq!(recorded(&entries, &q).method, "QUERY");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escaped_key_names_are_the_names_they_spell_and_never_reach_the_upstream_escaped() {
    let h = start().await;
    let r = post(&h, r#"{"\u0070late": "FAKE123", "l\u0069mit": 2}"#).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["body"], r#"{"limit":2,"plate":"FAKE123"}"#);
    // An escaped value is decoded too: the record decided is the plate it spells.
    let r = post(&h, r#"{"plate": "\u0046AKE123"}"#).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["body"], r#"{"plate":"FAKE123"}"#);
    // A name that is the declared one plus an escaped invisible character is another name.
    let r = post(&h, r#"{"plate\u200b": "TEST456"}"#).await;
    assert_refused(&r, 400, "body field");
    assert_eq!(h.upstream_hits(), 2);
    finish(h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_keys_in_any_spelling_are_refused_naming_the_field() {
    let h = start().await;
    for body in [
        r#"{"plate": "FAKE123", "plate": "TEST456"}"#,
        r#"{"plate": "FAKE123", "\u0070late": "TEST456"}"#,
        r#"{"\u0070\u006c\u0061\u0074\u0065": "TEST456", "plate": "FAKE123"}"#,
        r#"{"limit": 1, "plate": "FAKE123", "limit": 100}"#,
    ] {
        let r = post(&h, body).await;
        assert_refused(&r, 400, "more than once");
        let field = if body.contains("limit") {
            "limit"
        } else {
            "plate"
        };
        assert_refused(&r, 400, &format!("{field:?}"));
    }
    assert_eq!(h.upstream_hits(), 0);
    finish(h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_byte_order_mark_and_bodies_that_are_not_one_object_are_refused() {
    let h = start().await;
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(br#"{"plate": "FAKE123"}"#);
    let r = send(&h, &request("POST", "/alpr/search", &[JSON], &bom)).await;
    assert_refused(&r, 400, "byte-order mark");
    for (body, says) in [
        (r#"[{"plate": "FAKE123"}]"#, "one JSON object"),
        (r#""FAKE123""#, "one JSON object"),
        (
            r#"{"plate": "FAKE123"}{"plate": "TEST456"}"#,
            "not valid JSON",
        ),
        (r#"{"plate": "FAKE123",}"#, "not valid JSON"),
        ("", "empty"),
    ] {
        let r = post(&h, body).await;
        assert_refused(&r, 400, says);
    }
    assert_eq!(h.upstream_hits(), 0);
    finish(h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extra_fields_and_nested_tricks_are_refused_naming_the_field() {
    let h = start().await;
    for (body, field) in [
        (r#"{"plate": "FAKE123", "fields": "all"}"#, "\"fields\""),
        (
            r#"{"plate": "FAKE123", "owner": {"plate": "TEST456"}}"#,
            "\"owner\"",
        ),
        (r#"{"plate": {"$ne": null}}"#, "\"plate\""),
        (r#"{"plate": ["FAKE123", "TEST456"]}"#, "\"plate\""),
        (r#"{"plate": "*"}"#, "\"plate\""),
        (r#"{"plate": "FAKE123/../TEST456"}"#, "\"plate\""),
        (r#"{"plate": "%"}"#, "\"plate\""),
        (r#"{"plate": "FAKE%"}"#, "\"plate\""),
        (r#"{"plate": "..%2F..%2Fall"}"#, "\"plate\""),
        (r#"{"plate": "FAKE123,TEST456"}"#, "\"plate\""),
        (r#"{"plate": 123}"#, "\"plate\""),
        (r#"{"limit": 1000}"#, "\"limit\""),
        (r#"{"limit": "5"}"#, "\"limit\""),
        (r#"{"limit": 5.0}"#, "\"limit\""),
        (r#"{"since": "yesterday"}"#, "\"since\""),
        (r#"{"Plate": "TEST456"}"#, "\"Plate\""),
    ] {
        let r = post(&h, body).await;
        assert_refused(&r, 400, field);
    }
    // A record in the body must agree with the one the path names.
    let r = send(
        &h,
        &request(
            "POST",
            "/alpr/search/FAKE123",
            &[JSON],
            br#"{"plate": "TEST456"}"#,
        ),
    )
    .await;
    assert_refused(&r, 400, "TEST456");
    // A limit in the query and in the body: which would the upstream obey?
    let r = send(
        &h,
        &request(
            "POST",
            "/alpr/search?limit=1",
            &[JSON],
            br#"{"limit": 100}"#,
        ),
    )
    .await;
    assert_refused(&r, 400, "\"limit\"");
    assert_eq!(h.upstream_hits(), 0);
    finish(h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_not_declared_as_plain_json_is_refused_with_415() {
    let h = start().await;
    let body = br#"{"plate": "FAKE123"}"#;
    for head in [
        &[][..],
        &["Content-Type: text/plain"],
        &["Content-Type: application/x-www-form-urlencoded"],
        &["Content-Type: application/json; charset=utf-16"],
        &["Content-Type: application/json", "Content-Type: text/plain"],
        &[JSON, "Content-Encoding: gzip"],
    ] {
        let r = send(&h, &request("POST", "/alpr/search", head, body)).await;
        assert_refused(&r, 415, "Content-");
    }
    assert_eq!(h.upstream_hits(), 0);
    finish(h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_body_is_decided_whole_and_sent_on_with_cordons_own_framing() {
    let h = start().await;
    let r = send(
        &h,
        &chunked(&["{\"pla", "te\": \"FAKE", "123\", \"plate\": \"TEST456\"}"]),
    )
    .await;
    assert_refused(&r, 400, "more than once");
    let r = send(&h, &chunked(&["{\"pla", "te\": \"FAKE", "123\"}"])).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["body"], r#"{"plate":"FAKE123"}"#);
    let seen = h.hits.seen();
    assert!(
        !seen[0]
            .headers
            .iter()
            .any(|(k, _)| k == "transfer-encoding"),
        "the upstream gets a Content-Length body"
    );
    finish(h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_on_get_and_methods_that_change_data_are_refused() {
    let h = start().await;
    let body = br#"{"plate": "TEST456"}"#;
    let r = send(&h, &request("GET", "/alpr/search/FAKE123", &[JSON], body)).await;
    assert_refused(&r, 400, "body");
    for method in ["PUT", "PATCH", "DELETE"] {
        let r = send(&h, &request(method, "/alpr/search", &[JSON], body)).await;
        assert_refused(&r, 405, method);
    }
    // A GET on the search route still works, from the path and query alone.
    let r = h.get("/alpr/search/FAKE123?limit=3", &CPD).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(h.upstream_hits(), 1);
    finish(h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversize_body_is_refused_with_413_before_anything_is_decided() {
    let h = start().await;
    let big = format!("{{\"plate\": \"{}\"}}", "A".repeat(5000));
    let r = post(&h, &big).await;
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(r.json()["error"].as_str().unwrap().contains("larger than"));
    assert_eq!(h.upstream_hits(), 0);
    finish(h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forward_auth_refuses_a_search_with_a_body_it_cannot_see() {
    let h = start().await;
    let mut headers = CPD.to_vec();
    headers.extend([
        ("Cordon-Proxy-Secret", PROXY_SECRET),
        ("X-Original-Method", "POST"),
        ("X-Original-URI", "/alpr/search"),
    ]);
    let r = h.get("/_cordon/auth", &headers).await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(r.header("cordon-status"), Some("400"));
    assert!(r.json()["error"].as_str().unwrap().contains("forward-auth"));
    finish(h).await;
}

/// A search body that names no plate asks for every plate read in its time range; with no
/// range, an open one or one wider than the route's `max_window_hours` (a limit only caps
/// how many come back), it is decided as the bulk copy it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_body_naming_no_record_and_no_time_range_is_decided_as_bulk() {
    let h = start().await;
    for body in [
        "{}",
        r#"{"limit": 100}"#,
        r#"{"since": "1970-01-01", "limit": 5}"#,
        r#"{"since": "2026-01-01", "until": "2026-11-01"}"#,
    ] {
        let r = post(&h, body).await;
        assert_eq!(r.status, 403, "{body}: {}", r.text());
    }
    // A range in the query does not scope a search whose body the service reads.
    let queried = send(
        &h,
        &request(
            "POST",
            "/alpr/search?since=2026-01-01T00:00:00Z&until=2026-01-01T01:00:00Z",
            &[JSON],
            b"{}",
        ),
    )
    .await;
    assert_eq!(queried.status, 403, "{}", queried.text());
    let inverted = post(&h, r#"{"since": "2026-11-02", "until": "2026-11-01"}"#).await;
    assert_eq!(inverted.status, 400, "{}", inverted.text());
    let windowed = post(
        &h,
        r#"{"since": "2026-11-01", "until": "2026-11-02", "limit": 5}"#,
    )
    .await;
    assert_ne!(windowed.status, 403, "{}", windowed.text());
    let entries = finish(h).await;
    let actions = decided_actions(&entries);
    assert_eq!(actions, ["bulk", "bulk", "bulk", "bulk", "bulk", "search"]);
}
