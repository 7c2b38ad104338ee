//! Fail closed: when the log cannot make a decision durable, no data moves.
#![allow(clippy::unwrap_used)]
mod common;
use common::{frames, Harness, CPD};
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_log_cannot_be_written_clients_get_503_and_nothing_is_forwarded() {
    let h = Harness::start().await;
    h.faults.fail_writes(true);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let addr = h.addr;
        tasks.push(tokio::spawn(async move {
            let raw = cordon_gateway::wire::request("GET", "/alpr/plates/FAKE123", &CPD);
            cordon_gateway::wire::send(addr, &raw).await.unwrap()
        }));
    }
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, 503, "{}", r.text());
        assert_eq!(r.header("retry-after"), Some("5"));
        assert!(r.header("cordon-receipt").is_none());
        assert!(r.json()["error"].as_str().unwrap().contains("fails closed"));
    }
    assert_eq!(h.upstream_hits(), 0);
    let m = h.metrics().await.text();
    assert!(m.contains("cordon_fail_closed_total 20"), "{m}");
    // A load balancer must stop sending traffic to a gateway that refuses all of it (a
    // full disk fails at once, with no append left waiting for the stall check to see).
    let health = h.get("/healthz", &[]).await;
    assert_eq!(health.status, 503, "{}", health.text());
    assert_eq!(health.json()["status"], "unhealthy");
    assert!(
        health.json()["why"].as_str().unwrap().contains("failing"),
        "{}",
        health.text()
    );
    h.faults.fail_writes(false);
    let r = h.get("/alpr/plates/FAKE123", &CPD).await;
    assert_eq!(
        r.status, 200,
        "the gateway serves again once the log can be written"
    );
    assert_eq!(h.get("/healthz", &[]).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_flapping_storage_every_forwarded_request_has_a_durable_allow_entry() {
    let h = Harness::start().await;
    // The storage is failing when the flapping starts, so refusals certainly happen.
    h.faults.fail_writes(true);
    let first = h.get("/alpr/plates/FAKE123", &CPD).await;
    assert_eq!(first.status, 503, "{}", first.text());
    let faults = h.faults.clone();
    let flapper = tokio::spawn(async move {
        for i in 0..40 {
            faults.fail_writes(i % 2 == 0);
            tokio::time::sleep(std::time::Duration::from_millis(3)).await;
        }
        faults.fail_writes(false);
    });
    let mut tasks = Vec::new();
    for i in 0..200 {
        let addr = h.addr;
        let plate = ["FAKE123", "TEST456", "DEMO789"][i % 3];
        tasks.push(tokio::spawn(async move {
            let path = format!("/alpr/plates/{plate}");
            let raw = cordon_gateway::wire::request("GET", &path, &CPD);
            (path, cordon_gateway::wire::send(addr, &raw).await.unwrap())
        }));
    }
    let mut served = Vec::new();
    let mut refused = 1;
    for t in tasks {
        let (path, r) = t.await.unwrap();
        match r.status {
            200 => served.push((
                path,
                r.header("cordon-receipt").unwrap().parse::<u64>().unwrap(),
            )),
            503 => refused += 1,
            s => panic!("unexpected status {s}: {}", r.text()),
        }
    }
    flapper.await.unwrap();
    // Once the storage holds again, requests are served again.
    let after = h.get("/alpr/plates/FAKE123", &CPD).await;
    assert_eq!(after.status, 200, "{}", after.text());
    served.push((
        "/alpr/plates/FAKE123".to_owned(),
        after
            .header("cordon-receipt")
            .unwrap()
            .parse::<u64>()
            .unwrap(),
    ));
    assert!(refused >= 1 && !served.is_empty());
    let m = h.metrics().await.text();
    assert!(
        m.contains(&format!("cordon_fail_closed_total {refused}")),
        "{m}"
    );
    let (dir, verifier, hits) = h.stop().await;
    assert_eq!(hits.without_receipt.load(Ordering::SeqCst), 0);
    assert_eq!(hits.total.load(Ordering::SeqCst), served.len() as u64);
    let log = dir.path().join("log");
    for (path, receipt) in &served {
        let e = common::entry(&log, &verifier, *receipt);
        assert_eq!(e["decision"]["decision"], "allow");
        assert_eq!(e["path"], path.as_str());
    }
    let upstream_saw: std::collections::BTreeSet<u64> =
        hits.receipts.lock().unwrap().iter().copied().collect();
    let clients_got: std::collections::BTreeSet<u64> = served.iter().map(|s| s.1).collect();
    assert_eq!(upstream_saw, clients_got);
    eprintln!(
        "{} served, {refused} refused while storage flapped",
        served.len()
    );
}

/// A stalled disk is a 503 within the deadline (2 s by default), never a hang; /healthz
/// answers and says so; an allow that becomes durable after its 503 is followed by a
/// "not served" entry, and nothing was forwarded under it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_disk_is_a_503_within_the_deadline_and_a_late_allow_is_marked_not_served() {
    use cordon_gateway::entry::Entry;
    let h = Harness::start().await;
    let stalled = h.faults.stall();
    let started = std::time::Instant::now();
    let r = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        h.get("/alpr/plates/FAKE123", &CPD),
    )
    .await
    .expect("the request hung on a stalled disk");
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(started.elapsed() < std::time::Duration::from_secs(4));
    let health = h.get("/healthz", &[]).await;
    assert_eq!(health.status, 503, "{}", health.text());
    assert_eq!(health.json()["status"], "unhealthy");
    drop(stalled);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while h.gw.watch().not_served.load(Ordering::SeqCst) == 0 {
        assert!(std::time::Instant::now() < deadline, "no not-served entry");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(h.get("/healthz", &[]).await.status, 200);
    assert_eq!(h.upstream_hits(), 0);
    let (dir, verifier, _) = h.stop().await;
    let entries = common::entries(&dir.path().join("log"), &verifier);
    assert!(matches!(&entries[0], Entry::Decision(d) if d.allowed()));
    assert!(
        matches!(&entries[1], Entry::NotServed { of: 0, .. }),
        "{entries:?}"
    );
}

/// A late allow's "not served" follow-up runs on the serving thread that refused it; a
/// shutdown that drops that thread's event loop first would leave the log saying the
/// search was allowed with nothing saying it was never served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_allow_is_marked_not_served_even_when_the_gateway_stops_before_it_is_durable() {
    use cordon_gateway::entry::Entry;
    let mut h = Harness::start_on_threads("", 2).await;
    let stalled = h.faults.stall();
    let r = h.get("/alpr/plates/FAKE123", &CPD).await;
    assert_eq!(r.status, 503, "{}", r.text());
    // The refused allow is still waiting for the disk when the gateway is told to stop;
    // the threads drain (nothing is in flight) and only then does the disk come back.
    let stopping = h.begin_stop();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    drop(stalled);
    stopping.await;
    assert_eq!(h.upstream_hits(), 0);
    let (dir, verifier, _) = h.stop().await;
    let entries = common::entries(&dir.path().join("log"), &verifier);
    assert!(matches!(&entries[0], Entry::Decision(d) if d.allowed()));
    assert!(
        matches!(entries.get(1), Some(Entry::NotServed { of: 0, .. })),
        "the late allow has no \"not served\" entry: {entries:?}"
    );
}

/// Every allow in `entries` that no request was served under has its "not served" entry.
fn every_allow_is_marked_not_served(entries: &[cordon_gateway::entry::Entry]) {
    use cordon_gateway::entry::Entry;
    let allows: Vec<u64> = (0..entries.len() as u64)
        .filter(|&i| matches!(&entries[i as usize], Entry::Decision(d) if d.allowed()))
        .collect();
    assert!(!allows.is_empty(), "{entries:?}");
    for i in allows {
        assert!(
            entries
                .iter()
                .any(|e| matches!(e, Entry::NotServed { of, .. } if *of == i)),
            "the allow at {i} was never served and nothing says so: {entries:?}"
        );
    }
}

/// Waits until the gateway has written `n` "not served" entries.
async fn until_not_served(h: &Harness, n: u64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while h.gw.watch().not_served.load(Ordering::SeqCst) < n {
        assert!(std::time::Instant::now() < deadline, "no not-served entry");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A client that hangs up while its allow waits for the disk drops the request before
/// any deadline: the allow, durable later, must still be marked as never served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allow_whose_client_hung_up_before_it_was_durable_is_marked_not_served() {
    let h = Harness::start().await;
    let stalled = h.faults.stall();
    let raw = cordon_gateway::wire::request("GET", "/alpr/plates/FAKE123", &CPD);
    let mut s = tokio::net::TcpStream::connect(h.addr).await.unwrap();
    s.write_all(&raw).await.unwrap();
    assert!(h.faults.wait_for_held_write(Duration::from_secs(10)));
    drop(s);
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(stalled);
    until_not_served(&h, 1).await;
    assert_eq!(h.gw.watch().deadline_misses.load(Ordering::SeqCst), 0);
    assert_eq!(h.upstream_hits(), 0);
    let (dir, verifier, _) = h.stop().await;
    every_allow_is_marked_not_served(&common::entries(&dir.path().join("log"), &verifier));
}

/// The same through HTTP/2: a reset stream drops the request while its connection lives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allow_whose_http2_stream_was_reset_before_it_was_durable_is_marked_not_served() {
    let h = Harness::start_tweaked(
        common::DEV_IDENTITY,
        "",
        "nginx",
        |_| {},
        |c| {
            c.http2.h2c = true;
        },
    )
    .await;
    let stalled = h.faults.stall();
    let mut s = frames::open(h.addr).await;
    let mut fields = frames::get("/alpr/plates/FAKE123");
    for (k, v) in CPD {
        fields.push((k, v));
    }
    let fields: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
        .collect();
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let block = frames::block(&fields);
    let flags = frames::END_HEADERS | frames::END_STREAM;
    s.write_all(&frames::frame(frames::HEADERS, flags, 1, &block))
        .await
        .unwrap();
    assert!(h.faults.wait_for_held_write(Duration::from_secs(10)));
    // CANCEL (8): the client no longer wants the answer.
    s.write_all(&frames::frame(
        frames::RST_STREAM,
        0,
        1,
        &8u32.to_be_bytes(),
    ))
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(stalled);
    until_not_served(&h, 1).await;
    drop(s);
    assert_eq!(h.upstream_hits(), 0);
    let (dir, verifier, _) = h.stop().await;
    every_allow_is_marked_not_served(&common::entries(&dir.path().join("log"), &verifier));
}

/// A disk that takes appends but not tiles (full, or damaged) stops publication while
/// decisions stay durable: `/healthz` keeps the gateway in service and says publication
/// has stalled, and why (an outside attack saw checkpoints stop with nothing said).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_says_when_publication_has_stalled() {
    let h = Harness::start().await;
    assert_eq!(h.get("/alpr/plates/FAKE123", &CPD).await.status, 200);
    let tiles = h.dir.path().join("log/tile");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !tiles.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "no tiles were written"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    std::fs::remove_dir_all(&tiles).unwrap();
    std::fs::write(&tiles, b"not a directory").unwrap();
    assert_eq!(h.get("/alpr/plates/FAKE123", &CPD).await.status, 200);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let health = loop {
        let r = h.get("/healthz", &[]).await;
        assert_eq!(r.status, 200, "decisions are still durable: {}", r.text());
        if r.json()["status"] == "degraded" {
            break r.json();
        }
        assert!(std::time::Instant::now() < deadline, "{}", r.text());
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(health["publication"]["stalled"], true, "{health}");
    assert!(health["publication"]["why"]
        .as_str()
        .is_some_and(|w| !w.is_empty()));
    std::fs::remove_file(&tiles).unwrap();
}
