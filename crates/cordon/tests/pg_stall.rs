//! A frozen PostgreSQL (its backends stopped with SIGSTOP: it still answers TCP keepalives
//! and cannot enforce its own statement_timeout) must become a 503 within the configured
//! deadline, never a hang: nothing is forwarded, /healthz says the log is not keeping up,
//! and once the database wakes, the allow that committed too late is followed by a "not
//! served" entry.
#![allow(clippy::unwrap_used)]
mod common;
mod gateway_common;
mod pg_common;
use cordon_gateway::sample::Hits;
use cordon_gateway::wire;
use gateway_common::{chicago_pack, free_port, serve, wait_healthy};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

const CPD: [(&str, &str); 3] = [
    ("Authorization", "Bearer demo-cpd"),
    ("Cordon-Purpose", "criminal_investigation"),
    ("Cordon-Reason", "burglary"),
];

/// The server processes serving connections to `db` (not the observer's own).
fn backends(url: &str, db: &str) -> Vec<i32> {
    let mut c = cordon_log::pg::connect(url, "stall observer").unwrap();
    c.query(
        "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        &[&db],
    )
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

fn signal(sig: &str, pids: &[i32]) {
    for pid in pids {
        let ok = std::process::Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(pid.to_string())
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{sig} {pid} failed");
    }
}

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_database_is_a_503_within_the_deadline_and_a_late_allow_is_marked_not_served() {
    let url = tokio::task::block_in_place(|| pg_common::fresh_database("stall"));
    let db = url.rsplit('/').next().unwrap().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let up = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = up.local_addr().unwrap();
    let hits = Arc::new(Hits::default());
    tokio::spawn(cordon_gateway::sample::serve(up, hits.clone()));
    let signer = cordon_log::Signer::generate("stall.test/log").unwrap();
    std::fs::write(dir.path().join("log.key"), signer.to_text()).unwrap();
    let (listen, metrics) = (free_port(), free_port());
    let text = format!(
        "listen = \"{listen}\"\nupstream = \"http://{upstream}\"\npack = \"{}\"\n[log]\nbackend = \"postgres\"\nurl = \"{url}\"\ndir = \"tiles\"\nkey = \"log.key\"\ndurable_deadline_ms = 500\n[metrics]\nlisten = \"{metrics}\"\n{}",
        chicago_pack().display(),
        gateway_common::DEV_IDENTITIES_AND_ROUTES
    );
    let config = dir.path().join("cordon.toml");
    std::fs::write(&config, text).unwrap();
    gateway_common::write_proxy_secret(dir.path());
    // Killed however the test ends, so a failure never leaves a server running.
    let _gw = gateway_common::Proc(serve(&config));
    wait_healthy(listen).await;
    let get = |path: &'static str, h: &'static [(&'static str, &'static str)]| async move {
        wire::send(listen, &wire::request("GET", path, h))
            .await
            .unwrap()
    };
    assert_eq!(get("/alpr/plates/FAKE123", &CPD).await.status, 200);
    let served = hits.total.load(Ordering::SeqCst);

    let admin = std::env::var("CORDON_TEST_PG").unwrap();
    let frozen = tokio::task::block_in_place(|| backends(&admin, &db));
    assert!(!frozen.is_empty(), "the gateway holds connections to {db}");
    signal("STOP", &frozen);
    let started = Instant::now();
    let r = tokio::time::timeout(Duration::from_secs(10), get("/alpr/plates/FAKE123", &CPD))
        .await
        .expect("the request hung on a frozen database");
    let took = started.elapsed();
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(r.header("retry-after").is_some());
    assert!(
        took < Duration::from_secs(3),
        "503 after {took:?}, deadline 500 ms"
    );
    assert_eq!(
        hits.total.load(Ordering::SeqCst),
        served,
        "nothing was forwarded"
    );
    let health = get("/healthz", &[]).await;
    assert_eq!(health.status, 503, "{}", health.text());
    assert_eq!(health.json()["status"], "unhealthy");

    signal("CONT", &frozen);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let m = wire::send(metrics, &wire::request("GET", "/metrics", &[]))
            .await
            .unwrap()
            .text();
        if metric(&m, "cordon_log_not_served_total") == 1 {
            assert!(metric(&m, "cordon_log_deadline_misses_total") >= 1);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no not-served entry followed:\n{m}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(get("/healthz", &[]).await.status, 200);
    assert_eq!(hits.total.load(Ordering::SeqCst), served);
}
