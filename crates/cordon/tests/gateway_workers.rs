//! `cordon serve` with several serving threads: the configured number runs, connections are
//! spread over them (by the gateway's own per-thread metrics) and all answered, a request
//! in flight on any of them is answered before a graceful shutdown exits, the threads drain
//! together, and the port stays exclusively the gateway's.
#![allow(clippy::unwrap_used)]
mod common;
mod gateway_common;
use common::cordon;
use cordon_gateway::wire;
use gateway_common::{client, free_port, serve, wait_healthy, Proc, Told};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

/// A gateway with `workers` serving threads and `/metrics` on `metrics`.
fn write_config(
    dir: &Path,
    listen: SocketAddr,
    upstream: SocketAddr,
    workers: usize,
    metrics: SocketAddr,
) -> PathBuf {
    let signer = cordon_log::Signer::generate("workers.cordon.example/gateway").unwrap();
    std::fs::write(dir.join("log.key"), signer.to_text()).unwrap();
    let top = format!("workers = {workers}\n");
    let end = format!("[metrics]\nlisten = \"{metrics}\"\n");
    gateway_common::write_dev_config(dir, listen, upstream, &top, &end)
}

/// How many serving threads have a client connection open, by the gateway's own metrics.
async fn threads_with_connections(metrics: SocketAddr) -> usize {
    let r = wire::send(metrics, &wire::request("GET", "/metrics", &[]))
        .await
        .unwrap();
    r.text()
        .lines()
        .filter(|l| l.starts_with("cordon_serving_connections{"))
        .filter(|l| l.rsplit(' ').next().is_some_and(|n| n != "0"))
        .count()
}

/// Waits until at least two serving threads hold connections.
async fn spread_over_threads(metrics: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while threads_with_connections(metrics).await < 2 {
        assert!(
            Instant::now() < deadline,
            "every connection is on one thread"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the gateway runs `n` serving threads.
async fn until_threads(child: &Proc, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while worker_threads(child.0.id()) != n {
        assert!(Instant::now() < deadline, "not {n} serving threads");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An upstream that answers every request with a plate record, counting the requests it
/// has received; while `hold` is set, answers wait until it is cleared.
struct Upstream {
    addr: SocketAddr,
    received: Arc<AtomicUsize>,
    hold: watch::Sender<bool>,
}

async fn upstream() -> Upstream {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let received = Arc::new(AtomicUsize::new(0));
    let (hold, held) = watch::channel(false);
    let count = received.clone();
    tokio::spawn(async move {
        loop {
            let (mut s, _) = listener.accept().await.unwrap();
            let (count, mut held) = (count.clone(), held.clone());
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
                let _ = held.wait_for(|h| !*h).await;
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
    Upstream {
        addr,
        received,
        hold,
    }
}

/// Waits until the upstream has received `n` requests.
async fn until_received(up: &Upstream, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while up.received.load(Ordering::SeqCst) < n {
        assert!(
            Instant::now() < deadline,
            "the searches never reached the upstream"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn sigterm(child: &Proc) {
    let st = std::process::Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
}

/// Waits for the gateway to exit, failing the test with `otherwise` if it takes longer
/// than `limit`.
async fn exits_within(
    child: &mut Proc,
    limit: Duration,
    otherwise: &str,
) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "{otherwise} (after {limit:?})");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits for a graceful shutdown: the gateway exits 0 within `limit`.
async fn exits_cleanly(child: &mut Proc, limit: Duration) {
    let status = exits_within(child, limit, "the gateway did not exit").await;
    assert!(status.success(), "graceful shutdown exits 0");
}

fn worker_threads(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.unwrap().path().join("comm")).ok())
        .filter(|name| name.starts_with("cordon-worker-"))
        .count()
}

async fn search(addr: SocketAddr) -> (u16, Option<u64>) {
    let headers = [
        ("Authorization", "Bearer demo-cpd"),
        ("Cordon-Purpose", "criminal_investigation"),
        ("Cordon-Reason", "burglary"),
    ];
    let req = wire::request("GET", "/alpr/plates/FAKE123", &headers);
    let r = wire::send(addr, &req).await.unwrap();
    let receipt = r.header("cordon-receipt").and_then(|v| v.parse().ok());
    (r.status, receipt)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_answer_every_connection_and_finish_their_requests_on_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let up = upstream().await;
    let (listen, metrics) = (free_port(), free_port());
    let config = write_config(tmp.path(), listen, up.addr, 3, metrics);
    // Killed on drop, so a failed assertion leaves no gateway running.
    let mut child = Proc(serve(&config));
    wait_healthy(listen).await;
    until_threads(&child, 3).await;

    // Twelve clients at once, spread over the threads, every request answered with its
    // decision.
    let told = Told::default();
    let clients: Vec<_> = (0..12)
        .map(|_| tokio::spawn(client(listen, 10, told.clone())))
        .collect();
    for c in clients {
        c.await.unwrap();
    }
    let mut told = told.lock().unwrap().clone();
    assert_eq!(told.len(), 120, "every request was answered with a receipt");
    assert_eq!(
        told.iter().filter(|t| !t.1).count(),
        12,
        "ICE's searches were refused"
    );

    // Searches held at the upstream when SIGTERM arrives: the gateway stops accepting,
    // and each is still answered once the upstream lets go.
    up.hold.send_replace(true);
    let before = up.received.load(Ordering::SeqCst);
    let in_flight: Vec<_> = (0..6).map(|_| tokio::spawn(search(listen))).collect();
    until_received(&up, before + 6).await;
    spread_over_threads(metrics).await;
    sigterm(&child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(listen).is_ok() {
        assert!(Instant::now() < deadline, "still accepting after SIGTERM");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    up.hold.send_replace(false);
    for r in in_flight {
        let (status, receipt) = r.await.unwrap();
        assert_eq!(status, 200, "a request in flight was answered");
        told.push((receipt.unwrap(), true, "/alpr/plates/FAKE123".into()));
    }
    exits_cleanly(&mut child, Duration::from_secs(15)).await;

    // Closed properly: the log verifies and holds every decision a client was told of.
    let signer_key = std::fs::read_to_string(tmp.path().join("log.key")).unwrap();
    let verifier = cordon_log::Signer::parse(&signer_key).unwrap().verifier();
    let log = tmp.path().join("log");
    gateway_common::told_is_in_log(&log, &verifier, &told);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_threads_drain_together_so_shutdown_is_bounded_by_one_drain() {
    let tmp = tempfile::tempdir().unwrap();
    let up = upstream().await;
    let (listen, metrics) = (free_port(), free_port());
    let mut child = Proc(serve(&write_config(
        tmp.path(),
        listen,
        up.addr,
        3,
        metrics,
    )));
    wait_healthy(listen).await;
    // Searches the upstream never answers, on several threads: each thread's drain runs
    // its full 10 s. One after another, three would take 30 s.
    up.hold.send_replace(true);
    let hung: Vec<_> = (0..9).map(|_| tokio::spawn(search(listen))).collect();
    until_received(&up, 9).await;
    // Held on more than one thread, or a sequential drain would pass too.
    spread_over_threads(metrics).await;
    let start = Instant::now();
    sigterm(&child);
    exits_cleanly(&mut child, Duration::from_secs(18)).await;
    assert!(
        start.elapsed() >= Duration::from_secs(9),
        "the drain waited for the requests in flight"
    );
    for h in hung {
        // Cut off at the drain's limit: the client sees the connection close.
        assert!(h.await.is_err(), "a hung search was answered");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_gateway_cannot_take_a_share_of_the_port() {
    let (first_dir, second_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let up = upstream().await;
    let upstream = up.addr;
    let listen = free_port();
    let first = Proc(serve(&write_config(
        first_dir.path(),
        listen,
        upstream,
        2,
        free_port(),
    )));
    wait_healthy(listen).await;
    // Its own log, so the only thing the two share is the port.
    let mut second = Proc(
        cordon()
            .args(["serve", "--config"])
            .arg(write_config(
                second_dir.path(),
                listen,
                upstream,
                2,
                free_port(),
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let serving = format!("a second gateway is serving on {listen}");
    let status = exits_within(&mut second, Duration::from_secs(30), &serving).await;
    let mut said = String::new();
    std::io::Read::read_to_string(&mut second.0.stderr.take().unwrap(), &mut said).unwrap();
    assert!(!status.success(), "a second gateway started on {listen}");
    assert!(
        said.contains(&listen.to_string()),
        "the refusal names the address: {said}"
    );
    assert_eq!(
        search(listen).await.0,
        200,
        "the first gateway still answers"
    );
    drop(first);
}

/// A tile whose read never returns, as on a hung network disk: a named pipe nobody writes.
fn stalled_tile(log: &Path) -> &'static str {
    let dir = log.join("tile/0/x001");
    std::fs::create_dir_all(&dir).unwrap();
    let st = std::process::Command::new("mkfifo")
        .arg(dir.join("234"))
        .status()
        .unwrap();
    assert!(st.success(), "mkfifo failed");
    "tile/0/x001/234"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tile_read_that_never_returns_is_a_503_and_does_not_hold_shutdown() {
    let tmp = tempfile::tempdir().unwrap();
    let up = upstream().await;
    let (listen, public) = (free_port(), free_port());
    let signer = cordon_log::Signer::generate("stall.cordon.example/gateway").unwrap();
    std::fs::write(tmp.path().join("log.key"), signer.to_text()).unwrap();
    let end = format!("[public]\nlisten = \"{public}\"\n");
    let config = gateway_common::write_dev_config(tmp.path(), listen, up.addr, "", &end);
    let mut child = Proc(serve(&config));
    wait_healthy(listen).await;
    let tile = stalled_tile(&tmp.path().join("log"));
    // On the data listener (under the public-log prefix) and on the public one.
    let reads = [
        (listen, format!("/_cordon/log/{tile}")),
        (public, format!("/{tile}")),
    ];
    for (addr, path) in reads {
        let start = Instant::now();
        let r = tokio::time::timeout(
            Duration::from_secs(10),
            wire::send(addr, &wire::request("GET", &path, &[])),
        )
        .await
        .unwrap_or_else(|_| panic!("{path}: no answer while the tile's storage hangs"))
        .unwrap();
        assert_eq!(r.status, 503, "{path}: {}", r.text());
        assert!(r.text().contains("did not answer in time"), "{}", r.text());
        assert!(start.elapsed() < Duration::from_secs(5), "{path}");
    }
    // The hung reads hold no serving thread's event loop.
    let (status, receipt) = search(listen).await;
    assert_eq!((status, receipt.is_some()), (200, true));
    sigterm(&child);
    // Both reads are still blocked in the kernel: the gateway leaves them behind.
    exits_cleanly(&mut child, Duration::from_secs(10)).await;
}
