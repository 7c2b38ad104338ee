//! kill -9 of `cordon serve` under load: after a restart, every receipt a client received
//! is in the verified log, with the decision the client was told.
#![allow(clippy::unwrap_used)]
mod common;
use common::cordon;
use cordon_gateway::wire;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn write_config(dir: &Path, listen: SocketAddr, upstream: SocketAddr) -> std::path::PathBuf {
    let pack = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/chicago-welcoming-city");
    let text = format!(
        r#"listen = "{listen}"
upstream = "http://{upstream}"
pack = "{}"
[log]
dir = "log"
key = "log.key"
[identity]
dev_mode = true
[[identity.api_keys]]
key = "demo-cpd"
principal = "cpd-detective-0417"
agency = "cpd"
[[identity.api_keys]]
key = "demo-ice"
principal = "ice-ero-officer-12"
agency = "ice-ero"
[[routes]]
prefix = "/alpr/plates"
dataset = "alpr"
action = "search"
"#,
        pack.display()
    );
    let path = dir.join("cordon.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn serve(config: &Path) -> Child {
    cordon()
        .args(["serve", "--config"])
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

async fn wait_healthy(addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(r) = wire::send(addr, &wire::request("GET", "/healthz", &[])).await {
            if r.status == 200 {
                return;
            }
        }
        assert!(Instant::now() < deadline, "cordon serve did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// (receipt, allowed, path) for every decision a client was told about.
type Told = Vec<(u64, bool, String)>;

async fn client(addr: SocketAddr, n: usize, told: Arc<std::sync::Mutex<Told>>) {
    for i in 0..n {
        let (key, plate) = if i % 10 == 0 {
            ("Bearer demo-ice", "TEST456")
        } else {
            ("Bearer demo-cpd", "FAKE123")
        };
        let path = format!("/alpr/plates/{plate}");
        let headers = [
            ("Authorization", key),
            ("Cordon-Purpose", "criminal_investigation"),
            ("Cordon-Reason", "burglary"),
        ];
        let Ok(r) = wire::send(addr, &wire::request("GET", &path, &headers)).await else {
            return;
        };
        if let Some(receipt) = r.header("cordon-receipt").and_then(|v| v.parse().ok()) {
            told.lock().unwrap().push((receipt, r.status == 200, path));
        }
    }
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
    let told = Arc::new(std::sync::Mutex::new(Told::new()));
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
