//! The demo's witnesses and its public side: two in-process tlog-witness servers whose
//! keys and state live in the demo's data folder, and the independent check an auditor
//! would run against the public listener.
use anyhow::{Context, Result};
use cordon_gateway::Gateway;
use cordon_log::witness::Witness;
use cordon_log::{Signer, Verifier};
use cordon_witness::server::WitnessService;
use cordon_witness::verify::{Options, Source};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How many of the demo's witnesses must cosign before a checkpoint is published.
pub const QUORUM: usize = 2;
const NAMES: [&str; 2] = ["witness-a.demo.example", "witness-b.demo.example"];

/// One running witness: how the gateway reaches it, and how to stop it.
pub struct Running {
    pub name: &'static str,
    pub url: String,
    pub vkey: Verifier,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

/// Starts the demo's witnesses for the log `log_key` signs.
pub async fn start(data: &Path, log_key: &Verifier) -> Result<Vec<Running>> {
    let mut running = Vec::new();
    for name in NAMES {
        let signer = witness_key(data, name)?;
        let state = data.join("witnesses").join(name);
        let witness = Witness::open(signer, vec![log_key.clone()], &state.join("state"))
            .with_context(|| format!("opening the demo witness {name}"))?;
        let service = WitnessService::new(witness, &state.join("monitor"), "")
            .with_context(|| format!("opening the demo witness {name}"))?;
        let vkey = service.verifier();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(cordon_witness::server::serve(
            Arc::new(service),
            listener,
            async {
                let _ = rx.await;
            },
        ));
        running.push(Running {
            name,
            url: format!("http://{addr}/"),
            vkey,
            stop,
            task,
        });
    }
    Ok(running)
}

pub async fn stop(witnesses: Vec<Running>) {
    for w in witnesses {
        let _ = w.stop.send(());
        let _ = w.task.await;
    }
}

/// The witness's key, made on the first run and kept beside the demo's log key.
fn witness_key(data: &Path, name: &str) -> Result<Signer> {
    let path = data.join(format!("{name}.key"));
    if path.exists() {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        return Signer::parse(text.trim())
            .with_context(|| format!("{} is not a witness key", path.display()));
    }
    let signer = Signer::generate_cosigner(name)?;
    super::log::write_secret(&path, &signer.to_text())?;
    Ok(signer)
}

/// The address itself, or for port 0 one the system has free now: the page's commands
/// must name a port a reader can use.
pub fn concrete(addr: SocketAddr) -> Result<SocketAddr> {
    if addr.port() != 0 {
        return Ok(addr);
    }
    let probe = std::net::TcpListener::bind(addr).with_context(|| format!("binding {addr}"))?;
    Ok(probe.local_addr()?)
}

/// The config sections for the public listener and cosigned publication.
pub fn config_toml(public: SocketAddr, witnesses: &[Running]) -> String {
    let mut t = format!("\n[public]\nlisten = \"{public}\"\n\n[publish]\nquorum = {QUORUM}\n");
    for w in witnesses {
        t.push_str(&format!(
            "\n[[publish.witnesses]]\nname = \"{}\"\nurl = \"{}\"\nvkey = \"{}\"\n",
            w.name,
            w.url,
            w.vkey.to_text()
        ));
    }
    t
}

/// Waits until the published (cosigned) checkpoint covers `size` entries.
pub async fn wait_published(gw: &Gateway, size: u64, within: Duration) -> Result<u64> {
    let publication = gw
        .publication()
        .context("the demo's config has no [publish] section")?;
    let deadline = Instant::now() + within;
    loop {
        let published = publication.published().map_or(0, |p| p.size);
        if published >= size {
            return Ok(published);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the witnesses did not cosign a checkpoint of {size} entries within {within:?} (published: {published})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs `cordon verify` against the public listener, as an auditor would, and prints it.
pub async fn show_verification(
    public: SocketAddr,
    log_key: &Verifier,
    witnesses: &[Running],
) -> Result<()> {
    let url = format!("http://{public}/");
    let mut command = format!("   cordon verify {url} --vkey '{}'", log_key.to_text());
    for w in witnesses {
        command.push_str(&format!(" \\\n       --witness '{}'", w.vkey.to_text()));
    }
    command.push_str(&format!(" --quorum {QUORUM}"));
    println!(
        "\n6. Publish: {} independent witnesses cosigned the checkpoint, so nobody can show two",
        witnesses.len()
    );
    println!("   different histories. An auditor checks the public copy from outside:");
    println!("{command}");
    let report = cordon_witness::verify::run(Options {
        source: Source::parse(&url, Duration::from_secs(10))?,
        log_key: log_key.clone(),
        witnesses: witnesses.iter().map(|w| w.vkey.clone()).collect(),
        quorum: QUORUM,
        state: None,
        checkpoints: Vec::new(),
        receipts: Vec::new(),
        receipt_key: None,
    })
    .await;
    if !report.pass {
        let why = report.failure().unwrap_or_else(|| "no check passed".into());
        anyhow::bail!("the public log did not verify: {why}");
    }
    for c in &report.checks {
        println!("   OK: {}: {}", c.check, c.detail);
    }
    Ok(())
}
