//! kill -9 of `cordon serve` under load: after a restart, every receipt a client received
//! is in the verified log, with the decision the client was told.
#![allow(clippy::unwrap_used)]
mod common;
mod gateway_common;
use gateway_common::{client, free_port, serve, wait_healthy, Proc, Told};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn write_config(dir: &Path, listen: SocketAddr, upstream: SocketAddr) -> std::path::PathBuf {
    gateway_common::write_dev_config(dir, listen, upstream, "", "")
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
        let mut child = Proc(serve(&config)); // killed on drop, whatever fails
        wait_healthy(listen).await;
        let clients: Vec<_> = (0..4)
            .map(|_| tokio::spawn(client(listen, 400, told.clone())))
            .collect();
        let before = told.lock().unwrap().len();
        let deadline = Instant::now() + Duration::from_secs(20);
        while told.lock().unwrap().len() < before + 150 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        child.0.kill().unwrap(); // SIGKILL: no graceful shutdown, no flush.
        child.0.wait().unwrap();
        for c in clients {
            c.await.unwrap();
        }
        assert!(
            told.lock().unwrap().len() > before,
            "round {round} got no answers"
        );
    }
    let mut child = Proc(serve(&config)); // killed on drop, whatever fails
    wait_healthy(listen).await;
    let pid = child.0.id().to_string();
    let st = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(st.success());
    assert!(
        child.0.wait().unwrap().success(),
        "graceful shutdown exits 0"
    );

    let log = tmp.path().join("log");
    let told = told.lock().unwrap();
    assert!(told.iter().any(|t| !t.1), "some requests were denied");
    let size = gateway_common::told_is_in_log(&log, &signer.verifier(), &told);
    eprintln!("{} receipts checked against a log of {}", told.len(), size);
}
