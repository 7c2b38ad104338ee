//! `cordon serve` with several serving threads: the configured number runs, connections are
//! spread over them and all answered, a request in flight on any of them is answered
//! before a graceful shutdown exits, and the port stays exclusively the gateway's.
#![allow(clippy::unwrap_used)]
mod common;
mod gateway_common;
use common::cordon;
use cordon_gateway::wire;
use gateway_common::{chicago_pack, client, free_port, serve, wait_healthy, Proc, Told};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn write_config(dir: &Path, listen: SocketAddr, upstream: SocketAddr, workers: usize) -> PathBuf {
    let signer = cordon_log::Signer::generate("workers.cordon.example/gateway").unwrap();
    std::fs::write(dir.join("log.key"), signer.to_text()).unwrap();
    let text = format!(
        "listen = \"{listen}\"\nworkers = {workers}\nupstream = \"http://{upstream}\"\npack = \"{}\"\n[log]\ndir = \"log\"\nkey = \"log.key\"\n{}",
        chicago_pack().display(),
        gateway_common::DEV_IDENTITIES_AND_ROUTES
    );
    let path = dir.join("cordon.toml");
    std::fs::write(&path, text).unwrap();
    gateway_common::write_proxy_secret(dir);
    path
}

/// An upstream that answers every request with a plate record after `delay`, counting the
/// requests it has received.
async fn slow_upstream(delay: Duration) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let received = Arc::new(AtomicUsize::new(0));
    let count = received.clone();
    tokio::spawn(async move {
        loop {
            let (mut s, _) = listener.accept().await.unwrap();
            let count = count.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                count.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(delay).await;
                let body = br#"{"plate":"FAKE123","hits":1}"#;
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = s.write_all(head.as_bytes()).await;
                let _ = s.write_all(body).await;
            });
        }
    });
    (addr, received)
}

fn worker_threads(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.unwrap().path().join("comm")).ok())
        .filter(|name| name.starts_with("cordon-worker-"))
        .count()
}

async fn search(addr: SocketAddr) -> u16 {
    let headers = [
        ("Authorization", "Bearer demo-cpd"),
        ("Cordon-Purpose", "criminal_investigation"),
        ("Cordon-Reason", "burglary"),
    ];
    let req = wire::request("GET", "/alpr/plates/FAKE123", &headers);
    wire::send(addr, &req).await.unwrap().status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_answer_every_connection_and_finish_their_requests_on_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let (upstream, received) = slow_upstream(Duration::from_millis(300)).await;
    let listen = free_port();
    let config = write_config(tmp.path(), listen, upstream, 3);
    // Killed on drop, so a failed assertion leaves no gateway running.
    let mut child = Proc(serve(&config));
    wait_healthy(listen).await;
    assert_eq!(
        worker_threads(child.0.id()),
        3,
        "workers = 3 runs three serving threads"
    );

    // Twelve clients at once: connections are handed to the threads in turn, so each
    // thread serves several, and every request is answered with its decision.
    let told = Told::default();
    let clients: Vec<_> = (0..12)
        .map(|_| tokio::spawn(client(listen, 10, told.clone())))
        .collect();
    for c in clients {
        c.await.unwrap();
    }
    let told = told.lock().unwrap().clone();
    assert_eq!(told.len(), 120, "every request was answered with a receipt");
    assert_eq!(
        told.iter().filter(|t| !t.1).count(),
        12,
        "ICE's searches were refused"
    );

    // Requests in flight when SIGTERM arrives, on several threads: each is answered
    // before the gateway exits.
    let before = received.load(Ordering::SeqCst);
    let in_flight: Vec<_> = (0..6).map(|_| tokio::spawn(search(listen))).collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    while received.load(Ordering::SeqCst) < before + 6 {
        assert!(
            Instant::now() < deadline,
            "the searches never reached the upstream"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let st = std::process::Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    for r in in_flight {
        assert_eq!(r.await.unwrap(), 200, "a request in flight was answered");
    }
    assert!(
        child.0.wait().unwrap().success(),
        "graceful shutdown exits 0"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_gateway_cannot_take_a_share_of_the_port() {
    let (first_dir, second_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (upstream, _) = slow_upstream(Duration::ZERO).await;
    let listen = free_port();
    let first = Proc(serve(&write_config(first_dir.path(), listen, upstream, 2)));
    wait_healthy(listen).await;
    // Its own log, so the only thing the two share is the port.
    let mut second = Proc(
        cordon()
            .args(["serve", "--config"])
            .arg(write_config(second_dir.path(), listen, upstream, 2))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = second.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "a second gateway is serving on {listen}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut said = String::new();
    std::io::Read::read_to_string(&mut second.0.stderr.take().unwrap(), &mut said).unwrap();
    assert!(!status.success(), "a second gateway started on {listen}");
    assert!(
        said.contains(&listen.to_string()),
        "the refusal names the address: {said}"
    );
    assert_eq!(search(listen).await, 200, "the first gateway still answers");
    drop(first);
}
