//! `cordon demo`: the one-command tour. A sample records service with synthetic data, the
//! gateway in front of it with the Chicago pack, four requests that show an allow, a
//! denial, a side door caught and a redaction, then a verified log.
use anyhow::{bail, Context, Result};
use cordon_gateway::config::Config;
use cordon_gateway::wire::{self, Reply};
use cordon_gateway::{sample, Gateway};
use cordon_log::{FaultSwitch, Signer};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(clap::Args)]
pub struct DemoArgs {
    /// Address the gateway listens on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Address of the public listener: the transparency page and the cosigned log.
    #[arg(long, default_value = "127.0.0.1:8081")]
    public: SocketAddr,
    /// Where to keep the demo's log, key and config (reused on the next run).
    #[arg(long, default_value = "cordon-data")]
    data: PathBuf,
    /// The policy pack to enforce.
    #[arg(long, default_value = "policies/chicago-welcoming-city")]
    pack: PathBuf,
    /// Run the tour, verify the log and exit instead of serving.
    #[arg(long)]
    tour_only: bool,
}

/// The two documented development API keys.
const CPD_KEY: &str = "demo-cpd";
const ICE_KEY: &str = "demo-ice";

pub fn run(args: DemoArgs) -> Result<ExitCode> {
    // The tour tells the story; the in-process witnesses' routine lines would interrupt it.
    super::serve::init_tracing_with("info,cordon_witness=warn");
    let pack = find_pack(&args.pack)?;
    std::fs::create_dir_all(&args.data)
        .with_context(|| format!("creating {}", args.data.display()))?;
    let key = ensure_key(&args.data)?;
    let verifier = key.verifier();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let gw = rt.block_on(demo(&args, &pack, &verifier))?;
    // Not a plain drop, which waits without limit for blocking work: a tile read from a
    // hung disk would keep the gateway from ever exiting.
    rt.shutdown_timeout(cordon_gateway::workers::BLOCKING_GRACE);
    super::serve::close(gw)
}

async fn demo(
    args: &DemoArgs,
    pack: &Path,
    verifier: &cordon_log::Verifier,
) -> Result<Arc<Gateway>> {
    let upstream = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let upstream_addr = upstream.local_addr()?;
    tokio::spawn(sample::serve(upstream, Arc::default()));
    let public_addr = super::demo_witness::concrete(args.public)?;
    let witnesses = super::demo_witness::start(&args.data, verifier).await?;
    let public_toml = super::demo_witness::config_toml(public_addr, &witnesses);
    let config = write_config(&args.data, pack, args.listen, upstream_addr, &public_toml)?;
    let gw =
        Arc::new(Gateway::open(config, FaultSwitch::default()).context("starting the gateway")?);
    super::serve::announce(&gw);
    let public = super::serve::start_public(&gw).await?;
    let publisher = super::serve::start_publisher(&gw);
    let (listener, _) = cordon_gateway::server::bind(gw.config()).await?;
    let addr = listener.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(cordon_gateway::server::serve(
        gw.clone(),
        listener,
        None,
        async {
            let _ = stop_rx.await;
        },
    ));
    println!(
        "Cordon demo: the gateway listens on http://{addr}, in front of a sample records service"
    );
    println!("with synthetic, clearly fake data (people, vehicles, plate reads) at http://{upstream_addr}.");
    println!(
        "Policy pack: {}. Log: {} ({}).",
        pack.display(),
        gw.log().origin(),
        gw.config().log.dir.display()
    );
    tour(addr, upstream_addr).await?;
    verify(&gw, verifier)?;
    let size = gw.log().checkpoint().checkpoint.size;
    super::demo_witness::wait_published(&gw, size, std::time::Duration::from_secs(30)).await?;
    super::demo_witness::show_verification(public_addr, verifier, &witnesses).await?;
    if !args.tour_only {
        print_try_it(addr, public_addr, &args.data);
        super::serve::shutdown_signal().await;
    }
    let _ = stop_tx.send(());
    let _ = server.await;
    for (stop, task) in public.into_iter().chain(publisher) {
        let _ = stop.send(());
        let _ = task.await;
    }
    super::demo_witness::stop(witnesses).await;
    Ok(gw)
}

struct Step {
    title: &'static str,
    key: &'static str,
    path: &'static str,
    purpose: &'static str,
    reason: &'static str,
    expect: u16,
}

const TOUR: [Step; 4] = [
    Step {
        title: "1. A CPD detective searches a plate for a burglary: allowed, logged, forwarded.",
        key: CPD_KEY,
        path: "/alpr/plates/FAKE123",
        purpose: "criminal_investigation",
        reason: "burglary suspect vehicle",
        expect: 200,
    },
    Step {
        title: "2. An ICE ERO officer searches the same plate: denied by the Welcoming City Ordinance.",
        key: ICE_KEY,
        path: "/alpr/plates/FAKE123",
        purpose: "criminal_investigation",
        reason: "fugitive locate",
        expect: 403,
    },
    Step {
        title: "3. The side door: a CPD officer whose stated reason is to help ICE: denied.",
        key: CPD_KEY,
        path: "/alpr/plates/TEST456",
        purpose: "criminal_investigation",
        reason: "assist ICE ERO with locate",
        expect: 403,
    },
    Step {
        title: "4. A CPD read of a person record: allowed, with immigration status and place of birth removed.",
        key: CPD_KEY,
        path: "/records/people/P-1002",
        purpose: "victim_services",
        reason: "contact witness about stolen car",
        expect: 200,
    },
];

async fn tour(addr: SocketAddr, upstream: SocketAddr) -> Result<()> {
    for step in &TOUR {
        println!("\n{}", step.title);
        let reason = encode(step.reason);
        let auth = format!("Bearer {}", step.key);
        let headers = [
            ("Authorization", auth.as_str()),
            ("Cordon-Purpose", step.purpose),
            ("Cordon-Reason", reason.as_str()),
            ("Cordon-Case", "JD-000001"),
        ];
        println!("   > GET {}", step.path);
        for (k, v) in &headers {
            println!("   > {k}: {v}");
        }
        let reply = wire::send(addr, &wire::request("GET", step.path, &headers)).await?;
        show(&reply);
        if reply.status != step.expect {
            bail!(
                "tour step expected {} and got {}: {}",
                step.expect,
                reply.status,
                reply.text()
            );
        }
        if step.path.starts_with("/records/") {
            show_redaction(&reply, upstream, step.path).await?;
        }
    }
    Ok(())
}

fn show(r: &Reply) {
    println!("   < {}", r.status);
    for h in ["cordon-receipt", "cordon-log"] {
        if let Some(v) = r.header(h) {
            println!("   < {h}: {v}");
        }
    }
    let body = serde_json::to_string_pretty(&r.json()).unwrap_or_else(|_| r.text());
    for line in body.lines().take(40) {
        println!("   | {line}");
    }
}

async fn show_redaction(r: &Reply, upstream: SocketAddr, path: &str) -> Result<()> {
    let direct = wire::send(upstream, &wire::request("GET", path, &[]))
        .await?
        .json();
    let through = r.json();
    let removed: Vec<&String> = direct
        .as_object()
        .map(|o| {
            o.keys()
                .filter(|k| through.get(k.as_str()).is_none())
                .collect()
        })
        .unwrap_or_default();
    if removed.is_empty() {
        bail!("the redaction step removed nothing; this is a bug");
    }
    println!(
        "   The service sent {} fields; Cordon removed: {:?}",
        direct.as_object().map_or(0, |o| o.len()),
        removed
    );
    Ok(())
}

fn verify(gw: &Gateway, verifier: &cordon_log::Verifier) -> Result<()> {
    let log = gw.log();
    let size = log.durable_size();
    let cp = tokio::task::block_in_place(|| {
        log.wait_checkpoint(size, std::time::Duration::from_secs(30))
    })?;
    let report = cordon_log::verify::verify_dir(log.root(), verifier)?;
    println!("\n5. Verify the log: every decision above, allowed or denied, is in it.");
    println!(
        "   OK: checkpoint of {} entries verified with {}; {} tile(s) recomputed",
        cp.checkpoint.size,
        verifier.to_text(),
        report.tiles_checked
    );
    Ok(())
}

fn print_try_it(addr: SocketAddr, public: SocketAddr, data: &Path) {
    println!("\nThe public side, for residents and auditors (no login, nothing private):");
    println!("   http://{public}/            the transparency page: counts, charts, who cosigned");
    println!("   http://{public}/rights      know your rights (English); /derechos in Spanish");
    println!("   http://{public}/stats.json  the numbers behind the page");
    println!("\nThe gateway keeps serving. Try it (Ctrl-C stops it and closes the log):");
    println!("   curl -i http://{addr}/alpr/plates/DEMO789 -H 'Authorization: Bearer {CPD_KEY}' -H 'Cordon-Purpose: criminal_investigation' -H 'Cordon-Reason: hit and run'");
    println!("   curl -i http://{addr}/alpr/plates/DEMO789 -H 'Authorization: Bearer {ICE_KEY}' -H 'Cordon-Purpose: civil_immigration_enforcement'");
    println!("   curl -i http://{addr}/records/people/P-1001 -H 'Authorization: Bearer {CPD_KEY}'   # no purpose: 400");
    println!("   curl -s http://{addr}/metrics -H \"Authorization: Bearer $(cat {}/metrics.token)\" | grep cordon_requests_total", data.display());
    println!("   curl -s http://{addr}/_cordon/log/checkpoint");
}

/// A fresh random token for `/metrics`, as hex.
fn metrics_token() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Percent-encodes everything but unreserved characters, as the purpose headers expect.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn ensure_key(data: &Path) -> Result<Signer> {
    let path = data.join("gateway.key");
    let log = data.join("gateway-log");
    if path.exists() {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        return Signer::parse(text.trim())
            .with_context(|| format!("{} is not a log key", path.display()));
    }
    if log.join("checkpoint").exists() {
        bail!(
            "the demo log {} exists but its key {} does not; remove {} to start over",
            log.display(),
            path.display(),
            log.display()
        );
    }
    let signer = Signer::generate("demo.cordon.example/gateway")?;
    super::log::write_secret(&path, &signer.to_text())?;
    Ok(signer)
}

fn find_pack(given: &Path) -> Result<PathBuf> {
    if given.is_dir() {
        return Ok(given.to_owned());
    }
    // `cargo run` from elsewhere, or the binary run from target/: look beside the sources.
    let beside = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(given);
    if beside.is_dir() {
        return Ok(beside);
    }
    bail!(
        "policy pack {} not found: run from the repository root or pass --pack DIR",
        given.display()
    )
}

fn write_config(
    data: &Path,
    pack: &Path,
    listen: SocketAddr,
    upstream: SocketAddr,
    public_toml: &str,
) -> Result<Config> {
    let pack = std::fs::canonicalize(pack).with_context(|| format!("{}", pack.display()))?;
    let text = format!(
        r#"# Written by `cordon demo`; `cordon serve --config` accepts it while the demo's
# sample service runs. DEVELOPMENT MODE: the API keys below are identities.
listen = "{listen}"
upstream = "http://{upstream}"
pack = "{pack}"

[log]
dir = "gateway-log"
key = "gateway.key"

# /metrics on this listener, to holders of this token.
[metrics]
token_file = "metrics.token"

[identity]
dev_mode = true

[[identity.api_keys]]
key = "{CPD_KEY}"
principal = "cpd-detective-0417"
agency = "cpd"

[[identity.api_keys]]
key = "{ICE_KEY}"
principal = "ice-ero-officer-12"
agency = "ice-ero"

[[routes]]
prefix = "/alpr/plates"
dataset = "alpr"
action = "search"

[[routes]]
prefix = "/records/people"
dataset = "arrests"
action = "read"
"#,
        pack = pack.display()
    ) + public_toml;
    let token = data.join("metrics.token");
    if !token.exists() {
        std::fs::write(&token, metrics_token()?)
            .with_context(|| format!("writing {}", token.display()))?;
    }
    let path = data.join("cordon-demo.toml");
    std::fs::write(&path, &text).with_context(|| format!("writing {}", path.display()))?;
    Ok(Config::from_toml(&text, data)?)
}
