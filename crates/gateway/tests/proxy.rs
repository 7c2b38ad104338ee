//! The gateway as a reverse proxy in front of a real upstream: what reaches the upstream,
//! what the client is told, and what the log holds.
#![allow(clippy::unwrap_used)]
mod common;
use common::{entry, Harness, CPD, ICE};
use cordon_gateway::wire;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allowed_search_reaches_the_upstream_with_its_receipt_and_is_in_the_log() {
    let h = Harness::start().await;
    let r = h.get("/alpr/plates/FAKE123", &CPD).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let receipt: u64 = r.header("cordon-receipt").unwrap().parse().unwrap();
    assert_eq!(r.header("cordon-log"), Some("test.cordon.example/gateway"));
    assert_eq!(r.json()["plate"], "FAKE123");
    assert_eq!(*h.hits.receipts.lock().unwrap(), vec![receipt]);
    let (dir, verifier, _) = h.stop().await;
    let e = entry(&dir.path().join("log"), &verifier, receipt);
    assert_eq!(e["decision"]["decision"], "allow");
    assert_eq!(e["request"]["principal"]["agency"], "cpd");
    assert_eq!(
        e["request"]["purpose"]["reason"],
        "burglary suspect vehicle"
    );
    assert_eq!(e["path"], "/alpr/plates/FAKE123");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denial_cites_the_law_carries_a_receipt_and_never_reaches_the_upstream() {
    let h = Harness::start().await;
    let r = h.get("/alpr/plates/FAKE123", &ICE).await;
    assert_eq!(r.status, 403);
    let body = r.json();
    assert_eq!(body["decision"], "deny");
    assert!(body["citations"][0]
        .as_str()
        .unwrap()
        .contains("MCC 2-173-030(b)"));
    assert!(!body["why"][0].as_str().unwrap().is_empty());
    assert_eq!(
        body["receipt"].as_u64().unwrap().to_string(),
        r.header("cordon-receipt").unwrap()
    );
    assert_eq!(h.upstream_hits(), 0);
    let receipt = body["receipt"].as_u64().unwrap();
    let (dir, verifier, _) = h.stop().await;
    let e = entry(&dir.path().join("log"), &verifier, receipt);
    assert_eq!(e["decision"]["decision"], "deny");
    assert_eq!(e["request"]["principal"]["agency"], "ice-ero");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agency_header_from_the_client_cannot_change_who_is_asking() {
    let h = Harness::start().await;
    let mut headers = ICE.to_vec();
    headers.push(("Cordon-Agency", "cpd"));
    headers.push(("Cordon-Principal", "cpd-detective-0417"));
    let r = h.get("/alpr/plates/FAKE123", &headers).await;
    assert_eq!(r.status, 403);
    assert_eq!(h.upstream_hits(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_side_door_reason_from_local_police_is_denied() {
    let h = Harness::start().await;
    let mut headers = CPD.to_vec();
    headers[2] = ("Cordon-Reason", "assist%20ICE%20with%20locate");
    let r = h.get("/alpr/plates/FAKE123", &headers).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["screening"]["flags"][0]["term"], "ICE");
    assert_eq!(h.upstream_hits(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redaction_removes_status_fields_at_any_depth() {
    let h = Harness::start().await;
    let direct = wire::send(
        h.upstream,
        &wire::request("GET", "/alpr/plates/TEST456", &[]),
    )
    .await
    .unwrap()
    .json();
    assert!(direct["registered_owner"]["immigration_status"].is_string());
    let r = h.get("/alpr/plates/TEST456", &CPD).await;
    assert_eq!(r.status, 200);
    let owner = &r.json()["registered_owner"];
    assert_eq!(owner["name"], direct["registered_owner"]["name"]);
    for f in ["immigration_status", "place_of_birth", "citizenship"] {
        assert!(owner.get(f).is_none(), "{f} leaked: {owner}");
    }
    assert!(!r.text().contains("undocumented"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_purpose_is_a_400_that_names_the_header_and_how_to_send_it() {
    let h = Harness::start().await;
    let r = h
        .get(
            "/records/people/P-1001",
            &[("Authorization", "Bearer demo-cpd")],
        )
        .await;
    assert_eq!(r.status, 400);
    let body = r.json();
    assert!(body["error"].as_str().unwrap().contains("Cordon-Purpose"));
    assert!(body["what_to_do"]
        .as_str()
        .unwrap()
        .contains("Cordon-Reason"));
    assert_eq!(h.upstream_hits(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_paths_are_refused_and_never_forwarded() {
    let h = Harness::start().await;
    for path in [
        "/alpr/../records/people/P-1001",
        "/alpr/plates/%2e%2e/%2e%2e/records/people/P-1001",
        "/alpr/plates/%252e%252e/x",
        "/alpr/plates/FAKE123;jsessionid=1",
        "/alpr/plates/FAKE123%3b.json",
        "/alpr/plates/%ff%fe",
        "/alpr/plates/a%2f..%2f..%2frecords",
        "/alpr/plates/%zz",
    ] {
        let r = h.get(path, &CPD).await;
        assert_eq!(r.status, 400, "{path}: {}", r.text());
        assert!(r.json()["error"].as_str().unwrap().starts_with("bad path"));
    }
    assert_eq!(h.upstream_hits(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case_and_slash_variants_are_decided_and_forwarded_as_the_canonical_path() {
    let h = Harness::start().await;
    let r = h.get("//ALPR//Plates/./FAKE123", &ICE).await;
    assert_eq!(r.status, 403, "case tricks must not dodge the ICE rule");
    let r = h.get("//ALPR//Plates/./FAKE123", &CPD).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["plate"], "FAKE123");
    assert_eq!(h.upstream_hits(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_datasets_get_404_naming_the_configured_routes() {
    let h = Harness::start().await;
    let r = h.get("/gang/members/1", &CPD).await;
    assert_eq!(r.status, 404);
    assert!(r.json()["what_to_do"]
        .as_str()
        .unwrap()
        .contains("/alpr/plates"));
    assert_eq!(h.upstream_hits(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_or_malformed_credentials_get_401_saying_what_was_wrong() {
    let h = Harness::start().await;
    let cases: [(&[(&str, &str)], &str); 4] = [
        (&[], "no credentials"),
        (&[("Authorization", "Basic ZGVtbzpkZW1v")], "Bearer"),
        (&[("Authorization", "Bearer not-a-key")], "not known"),
        (&[("Authorization", "Bearer")], "Bearer"),
    ];
    for (auth, says) in cases {
        let mut headers = auth.to_vec();
        headers.push(("Cordon-Purpose", "criminal_investigation"));
        let r = h.get("/alpr/plates/FAKE123", &headers).await;
        assert_eq!(r.status, 401, "{auth:?}");
        assert!(
            r.json()["error"].as_str().unwrap().contains(says),
            "{auth:?}: {}",
            r.text()
        );
        assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    }
    assert_eq!(h.upstream_hits(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_headers_and_bodies_are_refused_and_not_forwarded() {
    let h = Harness::start().await;
    let huge = "x".repeat(40 * 1024);
    let mut headers = CPD.to_vec();
    headers.push(("X-Padding", &huge));
    let r = h.get("/alpr/plates/FAKE123", &headers).await;
    assert_eq!(r.status, 431);

    let long_reason = "a".repeat(2000);
    let mut headers = CPD.to_vec();
    headers[2] = ("Cordon-Reason", &long_reason);
    let r = h.get("/alpr/plates/FAKE123", &headers).await;
    assert_eq!(r.status, 400);
    assert!(r.json()["error"]
        .as_str()
        .unwrap()
        .contains("Cordon-Reason"));

    let body = "y".repeat(8192);
    let mut raw =
        String::from("GET /alpr/plates/FAKE123 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n");
    for (k, v) in CPD {
        raw.push_str(&format!("{k}: {v}\r\n"));
    }
    raw.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    let r = wire::send(h.addr, raw.as_bytes()).await.unwrap();
    assert_eq!(r.status, 413);
    assert_eq!(h.upstream_hits(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_utf8_in_a_purpose_header_is_a_400_naming_the_header() {
    let h = Harness::start().await;
    let mut raw = b"GET /alpr/plates/FAKE123 HTTP/1.1\r\nHost: t\r\nConnection: close\r\nAuthorization: Bearer demo-cpd\r\nCordon-Purpose: criminal_investigation\r\nCordon-Reason: caf".to_vec();
    raw.extend_from_slice(&[0xff, 0xfe]);
    raw.extend_from_slice(b"\r\n\r\n");
    let r = wire::send(h.addr, &raw).await.unwrap();
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.json()["error"]
        .as_str()
        .unwrap()
        .contains("Cordon-Reason"));
    assert_eq!(h.upstream_hits(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_header_from_the_client_never_reaches_the_upstream() {
    let h = Harness::start().await;
    let mut headers = CPD.to_vec();
    headers.push(("Cordon-Receipt", "999999"));
    headers.push(("Cordon-Decision", "allow"));
    let r = h.get("/alpr/plates/FAKE123", &headers).await;
    assert_eq!(r.status, 200);
    let receipt: u64 = r.header("cordon-receipt").unwrap().parse().unwrap();
    assert_eq!(*h.hits.receipts.lock().unwrap(), vec![receipt]);
    assert_ne!(receipt, 999_999);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn methods_that_could_change_records_are_refused() {
    let h = Harness::start().await;
    let r = wire::send(
        h.addr,
        &wire::request("DELETE", "/records/people/P-1001", &CPD),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 405);
    assert_eq!(h.upstream_hits(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forward_auth_answers_2xx_for_an_allow_and_403_for_a_denial() {
    let h = Harness::start().await;
    let secret = ("Cordon-Proxy-Secret", common::PROXY_SECRET);
    let nginx = [
        ("X-Original-URI", "/alpr/plates/FAKE123"),
        ("X-Original-Method", "GET"),
        secret,
    ];
    let mut allow = CPD.to_vec();
    allow.extend_from_slice(&nginx);
    let r = h.get("/_cordon/auth", &allow).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.header("cordon-receipt").is_some());
    assert_eq!(r.header("cordon-agency"), Some("cpd"));
    assert!(r
        .header("cordon-redact")
        .unwrap()
        .contains("immigration_status"));
    let mut deny = ICE.to_vec();
    deny.extend_from_slice(&nginx);
    let r = h.get("/_cordon/auth", &deny).await;
    assert_eq!(r.status, 403);
    assert!(r.header("cordon-receipt").is_some());
    let mut no_purpose = vec![("Authorization", "Bearer demo-cpd")];
    no_purpose.extend_from_slice(&nginx);
    let r = h.get("/_cordon/auth", &no_purpose).await;
    assert_eq!(r.status, 403, "auth_request understands only 2xx/401/403");
    assert_eq!(r.header("cordon-status"), Some("400"));
    let r = h.get("/_cordon/auth", &nginx).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        h.upstream_hits(),
        0,
        "forward-auth never calls the upstream"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_log_serves_checkpoint_and_hash_tiles_but_never_entries() {
    let h = Harness::start().await;
    for _ in 0..3 {
        assert_eq!(h.get("/alpr/plates/FAKE123", &ICE).await.status, 403);
    }
    let log = h.gw.log();
    let size = log.durable_size();
    tokio::task::block_in_place(|| log.wait_checkpoint(size, std::time::Duration::from_secs(10)))
        .unwrap();
    let cp = h.get("/_cordon/log/checkpoint", &[]).await;
    assert_eq!(cp.status, 200);
    assert!(
        cp.text().starts_with("test.cordon.example/gateway\n3\n"),
        "{}",
        cp.text()
    );
    let tile = h.get("/_cordon/log/tile/0/000.p/3", &[]).await;
    assert_eq!(tile.status, 200);
    assert_eq!(tile.body.len(), 3 * 32);
    let root = h.gw.log().root().to_path_buf();
    assert!(
        root.join("tile/entries/000.p/3").exists(),
        "the bundle exists on disk"
    );
    for private in [
        "/_cordon/log/tile/entries/000.p/3",
        "/_cordon/log/.cordon/vkey",
        "/_cordon/log/tile/0/../entries/000.p/3",
    ] {
        let r = h.get(private, &[]).await;
        assert_eq!(r.status, 404, "{private}");
        assert!(!r.text().contains("ice-ero"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_outcomes_and_healthz_answers() {
    let h = Harness::start().await;
    h.get("/alpr/plates/FAKE123", &CPD).await;
    h.get("/alpr/plates/FAKE123", &ICE).await;
    h.get("/alpr/plates/FAKE123", &[]).await;
    let m = h.metrics().await.text();
    for line in [
        "cordon_requests_total{outcome=\"allowed\"} 1",
        "cordon_requests_total{outcome=\"denied\"} 1",
        "cordon_requests_total{outcome=\"unauthenticated\"} 1",
        "cordon_log_appended_total 2",
    ] {
        assert!(m.contains(line), "missing {line} in\n{m}");
    }
    let health = h.get("/healthz", &[]).await;
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["log_size"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_request_is_decided_logged_and_answered_without_a_body() {
    let h = Harness::start().await;
    let r = wire::send(
        h.addr,
        &wire::request("HEAD", "/records/people/P-1001", &CPD),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    assert!(r.header("cordon-receipt").is_some());
    assert_eq!(h.upstream_hits(), 1);
    let r = wire::send(
        h.addr,
        &wire::request("HEAD", "/records/people/P-1001", &ICE),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 403);
    assert_eq!(h.upstream_hits(), 1);
}

/// RFC 9112 3.2: two Host headers are refused, over HTTP/1.1 as over HTTP/2.
#[tokio::test]
async fn a_request_with_two_host_headers_is_refused() {
    let h = Harness::start().await;
    let mut headers = CPD.to_vec();
    headers.push(("Host", "evil.example"));
    let r = h.get("/alpr/plates/FAKE123", &headers).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("Host"), "{}", r.text());
    assert_eq!(h.upstream_hits(), 0);
    h.stop().await;
}
