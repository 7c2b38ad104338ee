//! Cosigned publication with three real witness servers and a quorum of two: the
//! published checkpoint carries valid cosignatures; with every witness down the gateway
//! keeps deciding and logging, the public checkpoint stays the last cosigned one and the
//! lag grows; when the witnesses come back, publication catches up.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test, with its message
mod common;
use common::{Harness, CPD, DEV_IDENTITY};
use cordon_log::witness::Witness;
use cordon_log::{NoteVerifier, SignedCheckpoint, Signer, Verifier};
use cordon_witness::server::WitnessService;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// One witness server that can be stopped and started again on the same port and state.
struct WitnessProc {
    addr: SocketAddr,
    signer: Signer,
    state: PathBuf,
    running: Option<(oneshot::Sender<()>, tokio::task::JoinHandle<()>)>,
}

impl WitnessProc {
    fn start(&mut self, listener: tokio::net::TcpListener, log_key: &Verifier) {
        let witness = Witness::open(
            Signer::parse(&self.signer.to_text()).unwrap(),
            vec![log_key.clone()],
            &self.state.join("state"),
        )
        .unwrap();
        let service = WitnessService::new(witness, &self.state.join("monitor"), "").unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(cordon_witness::server::serve(
            Arc::new(service),
            listener,
            async {
                let _ = rx.await;
            },
        ));
        self.running = Some((tx, task));
    }

    async fn stop(&mut self) {
        if let Some((tx, task)) = self.running.take() {
            let _ = tx.send(());
            task.await.unwrap();
        }
    }

    async fn restart(&mut self, log_key: &Verifier) {
        let listener = tokio::net::TcpListener::bind(self.addr).await.unwrap();
        self.start(listener, log_key);
    }
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{name} is not in /metrics:\n{text}"))
}

/// Every cosignature line that verifies with one of `witnesses`.
fn valid_cosigners(bytes: &[u8], log_key: &Verifier, witnesses: &[Verifier]) -> usize {
    let v: &dyn NoteVerifier = log_key;
    SignedCheckpoint::open(bytes, &[v], None).unwrap();
    witnesses
        .iter()
        .filter(|w| {
            let w: &dyn NoteVerifier = *w;
            SignedCheckpoint::open(bytes, &[w], None).is_ok()
        })
        .count()
}

/// The public listener on a port the OS picks: its address, and how to stop it.
async fn start_site(h: &Harness) -> (SocketAddr, oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let section = cordon_gateway::site::PublicSection {
        listen: addr,
        url: None,
    };
    let site = Arc::new(cordon_gateway::site::Site::new(h.gw.clone(), &section));
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(cordon_gateway::site::serve(site, listener, async {
        let _ = rx.await;
    }));
    (addr, tx, task)
}

async fn lawful_searches(h: &Harness, n: usize) {
    for _ in 0..n {
        let r = h.get("/alpr/plates/FAKE123", &CPD).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(r.header("cordon-receipt").is_some());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publication_needs_a_quorum_survives_witness_outages_and_catches_up() {
    let keys_dir = tempfile::tempdir().unwrap();
    let mut witnesses = Vec::new();
    let mut listeners = Vec::new();
    let mut extra = String::from("[publish]\nquorum = 2\nmax_backoff_ms = 300\n");
    for i in 0..3 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let signer = Signer::generate_cosigner(&format!("witness-{i}.example")).unwrap();
        extra.push_str(&format!(
            "[[publish.witnesses]]\nname = \"Witness {i}\"\nurl = \"http://{addr}\"\nvkey = \"{}\"\n",
            signer.verifier().to_text()
        ));
        witnesses.push(WitnessProc {
            addr,
            signer,
            state: keys_dir.path().join(format!("w{i}")),
            running: None,
        });
        listeners.push(listener);
    }
    let witness_keys: Vec<Verifier> = witnesses.iter().map(|w| w.signer.verifier()).collect();
    let mut log_key_seen = None;
    let h = Harness::start_with(DEV_IDENTITY, &extra, |dir: &Path| {
        let text = std::fs::read_to_string(dir.join("log.key")).unwrap();
        log_key_seen = Some(Signer::parse(text.trim()).unwrap().verifier());
    })
    .await;
    let log_key = log_key_seen.unwrap();
    for (w, l) in witnesses.iter_mut().zip(listeners) {
        w.start(l, &log_key);
    }
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let publisher = tokio::spawn(cordon_gateway::publish::run(h.gw.clone(), async {
        let _ = stop_rx.await;
    }));
    let publication = || h.gw.publication().unwrap().published();

    // Witnesses up: the published checkpoint reaches the log's and carries >= 2 cosignatures.
    lawful_searches(&h, 5).await;
    let size = h.gw.log().durable_size();
    wait_until("the first 5 decisions are published", || {
        publication().is_some_and(|p| p.size >= size)
    })
    .await;
    let first = publication().unwrap();
    assert!(first.cosigners.len() >= 2, "{:?}", first.cosigners);
    assert!(valid_cosigners(&first.bytes, &log_key, &witness_keys) >= 2);
    let served = h.get("/_cordon/log/checkpoint", &[]).await;
    assert_eq!(
        served.body, first.bytes,
        "the public checkpoint is the cosigned one"
    );
    let on_disk = std::fs::read(h.gw.log().root().join("public/checkpoint"));
    assert_eq!(on_disk.unwrap(), first.bytes);

    // Every witness down: decisions go on, the log grows, publication stands still.
    for w in &mut witnesses {
        w.stop().await;
    }
    lawful_searches(&h, 10).await;
    let grown = h.gw.log().durable_size();
    assert_eq!(grown, first.size + 10, "every decision was logged");
    let gw = h.gw.clone();
    tokio::task::spawn_blocking(move || gw.log().wait_checkpoint(grown, Duration::from_secs(10)))
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let m1 = h.metrics().await.text();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let m2 = h.metrics().await.text();
    assert_eq!(metric(&m1, "cordon_publication_lag_entries"), 10.0);
    let (s1, s2) = (
        metric(&m1, "cordon_publication_lag_seconds"),
        metric(&m2, "cordon_publication_lag_seconds"),
    );
    assert!(s1 > 0.0 && s2 > s1, "the lag grows: {s1} then {s2}");
    assert!(m2.contains("cordon_witness_failures_total{witness=\"Witness 0\"}"));
    assert!(metric(&m2, "cordon_publication_rounds_failed_total") >= 1.0);
    let still = h.get("/_cordon/log/checkpoint", &[]).await;
    assert_eq!(
        still.body, first.bytes,
        "the last cosigned checkpoint is still served"
    );
    // The public page counts only what the published checkpoint covers, never the 10
    // decisions residents cannot yet check.
    let (site, site_stop, site_task) = start_site(&h).await;
    let stats = cordon_gateway::wire::send(
        site,
        &cordon_gateway::wire::request("GET", "/stats.json", &[]),
    )
    .await
    .unwrap()
    .json();
    assert_eq!(stats["checkpoint"]["size"], first.size);
    assert_eq!(stats["counts"]["entries"], first.size, "{stats}");
    let _ = site_stop.send(());
    site_task.await.unwrap();

    // Two witnesses back: publication catches up to everything logged meanwhile.
    for w in witnesses.iter_mut().take(2) {
        w.restart(&log_key).await;
    }
    wait_until("publication catches up", || {
        publication().is_some_and(|p| p.size >= grown)
    })
    .await;
    let caught_up = publication().unwrap();
    assert_eq!(
        valid_cosigners(&caught_up.bytes, &log_key, &witness_keys),
        2
    );
    let m3 = h.metrics().await.text();
    assert_eq!(metric(&m3, "cordon_publication_lag_entries"), 0.0);

    // After a restart the gateway picks up the last published checkpoint, not nothing.
    let section = h.gw.config().publish.clone().unwrap();
    let reopened =
        cordon_gateway::publish::Publication::open(&section, h.gw.log().root(), &log_key).unwrap();
    let loaded = reopened.published().unwrap();
    assert_eq!(
        (loaded.size, loaded.bytes),
        (caught_up.size, caught_up.bytes.clone())
    );
    assert_eq!(loaded.cosigners, caught_up.cosigners);

    // The public directory (what a static web server would serve) and the public
    // listener both verify as cordon verify checks them: every hash tile, the log's
    // signature and a quorum of two cosignatures.
    let public_dir = h.gw.log().root().join("public");
    assert!(
        !public_dir.join("tile/entries").exists(),
        "no entry bundle is public"
    );
    let site_run = start_site(&h).await;
    for source in [
        public_dir.display().to_string(),
        format!("http://{}", site_run.0),
    ] {
        let report = cordon_witness::verify::run(cordon_witness::verify::Options {
            source: cordon_witness::verify::source::Source::parse(&source, Duration::from_secs(5))
                .unwrap(),
            log_key: log_key.clone(),
            witnesses: witness_keys.clone(),
            quorum: 2,
            state: None,
            checkpoints: Vec::new(),
            receipts: Vec::new(),
            receipt_key: None,
        })
        .await;
        assert!(report.pass, "{source}: {:?}", report.failure());
        assert_eq!(report.size, Some(caught_up.size), "{source}");
    }
    let _ = site_run.1.send(());
    site_run.2.await.unwrap();

    // The public page shows the cosigned checkpoint and who cosigned it.
    let section = cordon_gateway::site::PublicSection {
        listen: "127.0.0.1:9".parse().unwrap(),
        url: None,
    };
    let site = cordon_gateway::site::Site::new(h.gw.clone(), &section);
    let snap = site.snapshot().unwrap();
    assert_eq!(snap.checkpoint.size, caught_up.size);
    assert_eq!(snap.checkpoint.cosigners, caught_up.cosigners);
    assert_eq!(snap.witness_vkeys.len(), 3);
    let page = cordon_gateway::site::page::home(&snap);
    assert!(page.contains(&caught_up.cosigners.join(", ")));
    assert!(page.contains("--witness"));
    assert!(page.contains("--quorum 2"));
    drop(site);

    let _ = stop_tx.send(());
    publisher.await.unwrap();
    for w in &mut witnesses {
        w.stop().await;
    }
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quorum_larger_than_the_witnesses_is_refused_with_a_fix() {
    let extra = format!(
        "[publish]\nquorum = 2\n[[publish.witnesses]]\nname = \"only\"\nurl = \"http://127.0.0.1:9\"\nvkey = \"{}\"\n",
        Signer::generate_cosigner("w.example").unwrap().verifier().to_text()
    );
    let dir = tempfile::tempdir().unwrap();
    let signer = Signer::generate("test.cordon.example/gateway").unwrap();
    std::fs::write(dir.path().join("log.key"), signer.to_text()).unwrap();
    let text = common::config_text("127.0.0.1:1".parse().unwrap(), DEV_IDENTITY, &extra);
    let config = cordon_gateway::config::Config::from_toml(&text, dir.path()).unwrap();
    let err = cordon_gateway::Gateway::open(config, cordon_log::FaultSwitch::default())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("quorum = 2 but 1 witnesses"), "{err}");
}

/// A witness that already cosigned a later checkpoint than the gateway knows (say, the
/// gateway's public directory was lost) answers 409 with its size; the publisher resends
/// from there instead of giving up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_witness_ahead_of_the_publisher_is_followed_from_the_size_it_reports() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = tempfile::tempdir().unwrap();
    let signer = Signer::generate_cosigner("ahead.example").unwrap();
    let extra = format!(
        "[publish]\nquorum = 1\nmax_backoff_ms = 200\n[[publish.witnesses]]\nname = \"Ahead\"\nurl = \"http://{addr}\"\nvkey = \"{}\"\n",
        signer.verifier().to_text()
    );
    let mut log_key_seen = None;
    let h = Harness::start_with(DEV_IDENTITY, &extra, |dir: &Path| {
        let text = std::fs::read_to_string(dir.join("log.key")).unwrap();
        log_key_seen = Some(Signer::parse(text.trim()).unwrap().verifier());
    })
    .await;
    let log_key = log_key_seen.unwrap();
    let mut w = WitnessProc {
        addr,
        signer,
        state: state.path().to_owned(),
        running: None,
    };
    w.start(listener, &log_key);

    lawful_searches(&h, 3).await;
    let gw = h.gw.clone();
    let seeded = tokio::task::spawn_blocking(move || {
        gw.log()
            .wait_checkpoint(3, Duration::from_secs(10))
            .unwrap()
    })
    .await
    .unwrap();
    let client = cordon_witness::WitnessClient::new(Duration::from_secs(5));
    let req = cordon_witness::AddCheckpoint {
        old_size: 0,
        proof: Vec::new(),
        checkpoint: seeded.to_bytes(),
    };
    client
        .add_checkpoint(&format!("http://{addr}"), &req)
        .await
        .unwrap();

    lawful_searches(&h, 2).await;
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let publisher = tokio::spawn(cordon_gateway::publish::run(h.gw.clone(), async {
        let _ = stop_rx.await;
    }));
    let size = h.gw.log().durable_size();
    wait_until("the publisher catches up past the witness's size", || {
        h.gw.publication()
            .unwrap()
            .published()
            .is_some_and(|p| p.size >= size)
    })
    .await;
    let m = h.metrics().await.text();
    assert_eq!(
        metric(&m, "cordon_witness_failures_total{witness=\"Ahead\"}"),
        0.0,
        "a 409 that was followed is not a failure"
    );
    let _ = stop_tx.send(());
    publisher.await.unwrap();
    w.stop().await;
    h.stop().await;
}

/// A witness that accepts connections but never answers does not hold publication
/// hostage once the quorum has cosigned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_witness_does_not_delay_publication_past_the_quorum() {
    let good = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let good_addr = good.local_addr().unwrap();
    let hanging = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hanging_addr = hanging.local_addr().unwrap();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((s, _)) = hanging.accept().await {
            open.push(s); // never read, never answer
        }
    });
    let state = tempfile::tempdir().unwrap();
    let signer = Signer::generate_cosigner("good.example").unwrap();
    let silent = Signer::generate_cosigner("silent.example").unwrap();
    let extra = format!(
        "[publish]\nquorum = 1\n[[publish.witnesses]]\nname = \"Good\"\nurl = \"http://{good_addr}\"\nvkey = \"{}\"\n[[publish.witnesses]]\nname = \"Silent\"\nurl = \"http://{hanging_addr}\"\nvkey = \"{}\"\n",
        signer.verifier().to_text(),
        silent.verifier().to_text()
    );
    let mut log_key_seen = None;
    let h = Harness::start_with(DEV_IDENTITY, &extra, |dir: &Path| {
        let text = std::fs::read_to_string(dir.join("log.key")).unwrap();
        log_key_seen = Some(Signer::parse(text.trim()).unwrap().verifier());
    })
    .await;
    let mut w = WitnessProc {
        addr: good_addr,
        signer,
        state: state.path().to_owned(),
        running: None,
    };
    w.start(good, &log_key_seen.unwrap());
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let publisher = tokio::spawn(cordon_gateway::publish::run(h.gw.clone(), async {
        let _ = stop_rx.await;
    }));
    for round in 1..=3u64 {
        lawful_searches(&h, 1).await;
        let size = h.gw.log().durable_size();
        // The witness client's timeout is 5 s; each round must finish well before it.
        let started = Instant::now();
        wait_until("the quorum's checkpoint is published", || {
            h.gw.publication()
                .unwrap()
                .published()
                .is_some_and(|p| p.size >= size)
        })
        .await;
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "round {round} waited for the silent witness: {:?}",
            started.elapsed()
        );
    }
    let _ = stop_tx.send(());
    publisher.await.unwrap();
    w.stop().await;
    held.abort();
    h.stop().await;
}
