//! Signed receipts end to end: `cordon serve` answers an allow and a denial with
//! `Cordon-Signed-Receipt`, and `cordon verify --receipt` proves each from the header
//! value, the saved 403 body and saved headers against the published log; before the
//! log publishes them it says "not yet published" with exit status 3, and a receipt
//! checked against the wrong receipt key fails.
#![allow(clippy::unwrap_used)]
mod common;
mod gateway_common;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use common::{copy_dir, run, text};
use cordon_gateway::wire;
use gateway_common::{free_port, serve, wait_healthy, Proc};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn write_config(dir: &Path, listen: SocketAddr, upstream: SocketAddr) -> std::path::PathBuf {
    gateway_common::write_dev_config(dir, listen, upstream, "", "")
}

async fn search(addr: SocketAddr, key: &str) -> wire::Reply {
    let headers = [
        ("Authorization", key),
        ("Cordon-Purpose", "criminal_investigation"),
        ("Cordon-Reason", "burglary"),
    ];
    let req = wire::request("GET", "/alpr/plates/FAKE123", &headers);
    wire::send(addr, &req).await.unwrap()
}

/// The receipt headers of a reply, as `curl -D` saves them.
fn saved_headers(r: &wire::Reply) -> String {
    format!(
        "HTTP/1.1 {} X\r\ncordon-receipt: {}\r\ncordon-signed-receipt: {}\r\n\r\n",
        r.status,
        r.header("cordon-receipt").unwrap(),
        r.header("cordon-signed-receipt").unwrap()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_from_cordon_serve_verify_against_the_published_log() {
    let tmp = tempfile::tempdir().unwrap();
    let signer = cordon_log::Signer::generate("receipts.cordon.example/gateway").unwrap();
    std::fs::write(tmp.path().join("log.key"), signer.to_text()).unwrap();
    let up = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = up.local_addr().unwrap();
    let hits = Arc::new(cordon_gateway::sample::Hits::default());
    tokio::spawn(cordon_gateway::sample::serve(up, hits.clone()));
    let listen = free_port();
    let config = write_config(tmp.path(), listen, upstream);
    let mut child = Proc(serve(&config)); // killed on drop, whatever fails
    wait_healthy(listen).await;
    let log = tmp.path().join("log");
    let before = tmp.path().join("published-before");
    copy_dir(&log, &before);

    let allowed = search(listen, "Bearer demo-cpd").await;
    assert_eq!(allowed.status, 200, "{}", allowed.text());
    let denied = search(listen, "Bearer demo-ice").await;
    assert_eq!(denied.status, 403, "{}", denied.text());
    let body = denied.json();
    assert_eq!(
        body["receipt"].to_string(),
        denied.header("cordon-receipt").unwrap()
    );
    assert_eq!(
        body["signed_receipt"].as_str(),
        denied.header("cordon-signed-receipt")
    );
    let newest: u64 = denied.header("cordon-receipt").unwrap().parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while cordon_log::read_checkpoint(&log, &signer.verifier())
        .unwrap()
        .checkpoint
        .size
        <= newest
    {
        assert!(Instant::now() < deadline, "no checkpoint covers {newest}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.0.kill().unwrap();
    child.0.wait().unwrap();

    let files = tmp.path();
    std::fs::write(files.join("denial.json"), denied.text()).unwrap();
    std::fs::write(files.join("headers.txt"), saved_headers(&allowed)).unwrap();
    let key_file = files.join("log.key");
    let o = run(
        &[
            "log",
            "receipt-key",
            log.to_str().unwrap(),
            "--key",
            key_file.to_str().unwrap(),
        ],
        b"",
    );
    assert!(o.status.success(), "{}", text(&o));
    let receipt_key = String::from_utf8(o.stdout).unwrap().trim().to_string();
    assert_eq!(
        std::fs::read_to_string(log.join(".cordon/receipt-vkey"))
            .unwrap()
            .trim(),
        receipt_key,
        "the log publishes the receipt key beside its vkey"
    );
    let vkey = signer.verifier().to_text();
    let verify = |dir: &Path, receipt_key: &str, receipt: &str| {
        let args = [
            "verify",
            dir.to_str().unwrap(),
            "--vkey",
            &vkey,
            "--receipt-key",
            receipt_key,
            "--receipt",
            receipt,
        ];
        let o = run(&args, b"");
        (o.status.code(), text(&o))
    };

    let header = allowed.header("cordon-signed-receipt").unwrap();
    for receipt in [header, "denial.json", "headers.txt"] {
        let receipt = if receipt.ends_with(".json") || receipt.ends_with(".txt") {
            files.join(receipt).to_string_lossy().into_owned()
        } else {
            receipt.to_string()
        };
        let (code, out) = verify(&log, &receipt_key, &receipt);
        assert_eq!(code, Some(0), "{out}");
        assert!(out.contains("included"), "{out}");
    }

    let (code, out) = verify(&before, &receipt_key, header);
    assert_eq!(code, Some(3), "not yet published is its own status: {out}");
    assert!(out.contains("not yet published"), "{out}");
    // A failure beside a receipt that waits: the run fails.
    let plain = String::from_utf8(B64.decode(header).unwrap()).unwrap();
    let index_line = plain.lines().nth(1).unwrap().to_string();
    let edited = plain.replacen(&index_line, "index 999", 1);
    std::fs::write(files.join("edited.receipt"), edited).unwrap();
    let edited = files.join("edited.receipt");
    let o = run(
        &[
            "verify",
            before.to_str().unwrap(),
            "--vkey",
            &vkey,
            "--receipt-key",
            &receipt_key,
            "--receipt",
            header,
            "--receipt",
            edited.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("forged"), "{}", text(&o));

    let stranger = cordon_log::Signer::generate("receipts.cordon.example/gateway")
        .unwrap()
        .receipt_signer()
        .verifier()
        .to_text();
    let (code, out) = verify(&log, &stranger, header);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("forged"), "{out}");
    assert_eq!(*hits.receipts.lock().unwrap(), vec![newest - 1]);
    let upstream_saw = hits.seen()[0]
        .headers
        .iter()
        .find(|(k, _)| k == "cordon-signed-receipt")
        .map(|(_, v)| v.clone());
    assert_eq!(
        upstream_saw.as_deref(),
        Some(header),
        "the upstream gets the receipt too"
    );
}
