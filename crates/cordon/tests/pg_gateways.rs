//! Three `cordon serve` processes on one PostgreSQL log under concurrent load; the one
//! integrating is killed with SIGKILL mid-run. Afterwards the shared log verifies, every
//! receipt any client was given holds the decision that client was told, and the indexes
//! are gapless and unique.
#![allow(clippy::unwrap_used)]
mod common;
mod gateway_common;
mod pg_common;
use gateway_common::{chicago_pack, client, free_port, serve, wait_healthy, Told};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn write_config(
    dir: &Path,
    n: usize,
    listen: SocketAddr,
    upstream: SocketAddr,
    url: &str,
) -> PathBuf {
    let text = format!(
        r#"listen = "{listen}"
upstream = "http://{upstream}"
pack = "{}"
[log]
backend = "postgres"
url = "{url}"
dir = "tiles"
key = "log.key"
checkpoint_interval_ms = 5
{}"#,
        chicago_pack().display(),
        gateway_common::DEV_IDENTITIES_AND_ROUTES
    );
    let path = dir.join(format!("gateway-{n}.toml"));
    std::fs::write(&path, text).unwrap();
    gateway_common::write_proxy_secret(path.parent().unwrap());
    path
}

/// Which gateway (by listen address) holds the integrator lock, if any.
fn integrator(url: &str) -> Option<String> {
    tokio::task::block_in_place(|| {
        let mut c = cordon_log::pg::connect(url, "test observer").unwrap();
        cordon_log::pg::integrator_holder(&mut c).unwrap()
    })
}

async fn wait_for_integrator(url: &str, not: Option<&str>) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(h) = integrator(url).filter(|h| Some(h.as_str()) != not) {
            return h;
        }
        assert!(
            Instant::now() < deadline,
            "no gateway took over integration"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_gateways_share_one_log_and_losing_the_integrator_loses_nothing() {
    let url = tokio::task::block_in_place(|| pg_common::fresh_database("gateways"));
    let tmp = tempfile::tempdir().unwrap();
    let signer = cordon_log::Signer::generate("shared.cordon.example/log").unwrap();
    std::fs::write(tmp.path().join("log.key"), signer.to_text()).unwrap();
    let up = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = up.local_addr().unwrap();
    tokio::spawn(cordon_gateway::sample::serve(up, Arc::default()));

    let addrs: Vec<SocketAddr> = (0..3).map(|_| free_port()).collect();
    let mut children: Vec<Option<Child>> = Vec::new();
    for (n, addr) in addrs.iter().enumerate() {
        children.push(Some(serve(&write_config(
            tmp.path(),
            n,
            *addr,
            upstream,
            &url,
        ))));
    }
    for addr in &addrs {
        wait_healthy(*addr).await;
    }
    let told: Told = Arc::default();
    let clients: Vec<_> = addrs
        .iter()
        .flat_map(|a| [*a, *a])
        .map(|a| tokio::spawn(client(a, 250, told.clone())))
        .collect();

    while told.lock().unwrap().len() < 300 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let holder = wait_for_integrator(&url, None).await;
    let victim = addrs
        .iter()
        .position(|a| holder.contains(&a.to_string()))
        .unwrap_or_else(|| panic!("integrator {holder:?} is none of {addrs:?}"));
    let mut child = children[victim].take().unwrap();
    child.kill().unwrap(); // SIGKILL, most likely mid-batch: it integrates every 5 ms.
    child.wait().unwrap();
    let successor = wait_for_integrator(&url, Some(&holder)).await;
    for c in clients {
        c.await.unwrap();
    }
    for child in children.iter_mut().filter_map(Option::take) {
        let pid = child.id().to_string();
        assert!(std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        let mut child = child;
        assert!(child.wait().unwrap().success(), "graceful shutdown exits 0");
    }

    let dir = tmp.path().join("tiles");
    let verify = common::run(
        &[
            "log",
            "verify",
            dir.to_str().unwrap(),
            "--vkey",
            &signer.verifier().to_text(),
        ],
        b"",
    );
    assert!(
        verify.status.success(),
        "cordon log verify: {}",
        common::text(&verify)
    );
    let report = cordon_log::verify::verify_dir(&dir, &signer.verifier()).unwrap();
    tokio::task::block_in_place(|| check_database(&url, report.size, &told.lock().unwrap()));
    let told = told.lock().unwrap();
    let unique: HashSet<u64> = told.iter().map(|t| t.0).collect();
    assert_eq!(
        unique.len(),
        told.len(),
        "two clients were given the same receipt"
    );
    assert!(told.iter().any(|t| !t.1), "some requests were denied");
    for (receipt, allowed, path) in told.iter() {
        let bytes = cordon_log::verify::read_entry(&dir, report.size, *receipt).unwrap();
        let e: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let want = if *allowed { "allow" } else { "deny" };
        assert_eq!(e["decision"]["decision"], want, "receipt {receipt}");
        assert_eq!(e["path"], path.as_str(), "receipt {receipt}");
    }
    let denied_told = told.iter().filter(|t| !t.1).count();
    let q = common::run(
        &[
            "log",
            "query",
            "--pg",
            &url,
            "--agency",
            "ice-ero",
            "--decision",
            "deny",
            "--json",
            "--limit",
            "100000",
        ],
        b"",
    );
    assert!(q.status.success(), "cordon log query: {}", common::text(&q));
    let found: Vec<serde_json::Value> = String::from_utf8_lossy(&q.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        found.len() >= denied_told,
        "the audit query misses denials clients were told of"
    );
    for d in &found {
        let i = d["index"].as_u64().unwrap();
        let e: serde_json::Value =
            serde_json::from_slice(&cordon_log::verify::read_entry(&dir, report.size, i).unwrap())
                .unwrap();
        assert_eq!(e["decision"]["decision"], "deny", "index {i}");
        assert_eq!(e["request"]["principal"]["agency"], "ice-ero", "index {i}");
        assert_eq!(e["time"], d["time"], "index {i}");
    }
    eprintln!(
        "{} receipts checked against a log of {}; integrator {holder} killed, {successor} took over",
        told.len(),
        report.size
    );
}

/// Indexes are unique and gapless, the log covers all of them, and every decision is in
/// the audit index.
fn check_database(url: &str, size: u64, told: &[(u64, bool, String)]) {
    let mut db = cordon_log::pg::connect(url, "test observer").unwrap();
    let row = db
        .query_one("SELECT next, (SELECT count(*) FROM cordon_entries), (SELECT count(DISTINCT idx) FROM cordon_entries), (SELECT max(idx) FROM cordon_entries) FROM cordon_counter", &[])
        .unwrap();
    let (next, count, distinct, max): (i64, i64, i64, Option<i64>) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    assert_eq!(count, next, "an index is missing or duplicated");
    assert_eq!(distinct, next);
    assert_eq!(max, Some(next - 1), "a gap in the indexes");
    assert_eq!(
        size, next as u64,
        "the last gateway integrated everything committed"
    );

    let indexed: i64 = db
        .query_one("SELECT count(*) FROM cordon_decisions", &[])
        .unwrap()
        .get(0);
    assert_eq!(indexed, next, "every decision is in the audit index");
    let denied: i64 = db
        .query_one(
            "SELECT count(*) FROM cordon_decisions WHERE decision = 'deny'",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(denied as usize >= told.iter().filter(|t| !t.1).count());
}
