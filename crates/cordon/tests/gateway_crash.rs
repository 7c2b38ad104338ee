//! kill -9 of `cordon serve` under load: after a restart, every receipt a client received
//! is in the verified log, with the decision the client was told.
#![allow(clippy::unwrap_used)]
mod common;
mod gateway_common;
use gateway_common::{chicago_pack, client, free_port, serve, wait_healthy, Told};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn write_config(dir: &Path, listen: SocketAddr, upstream: SocketAddr) -> std::path::PathBuf {
    let text = format!(
        "listen = \"{listen}\"\nupstream = \"http://{upstream}\"\npack = \"{}\"\n[log]\ndir = \"log\"\nkey = \"log.key\"\n{}",
        chicago_pack().display(),
        gateway_common::DEV_IDENTITIES_AND_ROUTES
    );
    let path = dir.join("cordon.toml");
    std::fs::write(&path, text).unwrap();
    gateway_common::write_proxy_secret(path.parent().unwrap());
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_receipt_a_client_received_survives_a_kill_9_under_load() {
    let tmp = tempfile::tempdir().unwrap();
    let signer = cordon_log::Signer::generate("crash.cordon.example/gateway").unwrap();
    std::fs::write(tmp.path().join("log.key"), signer.to_text()).unwrap();
    let up = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = up.local_addr().unwrap();
    tokio::spawn(cordon_gateway::sample::serve(up, Arc::default()));
    let listen = free_port();
    let config = write_config(tmp.path(), listen, upstream);
    let told = Told::default();
    for round in 0..3 {
        let mut child = serve(&config);
        wait_healthy(listen).await;
        let clients: Vec<_> = (0..4)
            .map(|_| tokio::spawn(client(listen, 400, told.clone())))
            .collect();
        let before = told.lock().unwrap().len();
        let deadline = Instant::now() + Duration::from_secs(20);
        while told.lock().unwrap().len() < before + 150 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        child.kill().unwrap(); // SIGKILL: no graceful shutdown, no flush.
        child.wait().unwrap();
        for c in clients {
            c.await.unwrap();
        }
        assert!(
            told.lock().unwrap().len() > before,
            "round {round} got no answers"
        );
    }
    let mut child = serve(&config);
    wait_healthy(listen).await;
    let pid = child.id().to_string();
    let st = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(st.success());
    assert!(child.wait().unwrap().success(), "graceful shutdown exits 0");

    let log = tmp.path().join("log");
    let report = cordon_log::verify::verify_dir(&log, &signer.verifier()).unwrap();
    let told = told.lock().unwrap();
    assert!(told.iter().any(|t| !t.1), "some requests were denied");
    for (receipt, allowed, path) in told.iter() {
        assert!(
            *receipt < report.size,
            "receipt {receipt} beyond the log ({})",
            report.size
        );
        let bytes = cordon_log::verify::read_entry(&log, report.size, *receipt).unwrap();
        let e: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let want = if *allowed { "allow" } else { "deny" };
        assert_eq!(e["decision"]["decision"], want, "receipt {receipt}");
        assert_eq!(e["path"], path.as_str(), "receipt {receipt}");
    }
    eprintln!(
        "{} receipts checked against a log of {}",
        told.len(),
        report.size
    );
}
