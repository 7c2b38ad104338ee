//! `cordon log`: create, append to, prove and verify a tlog-tiles log from the shell.
use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use base64::Engine as _;
use clap::{Args, Subcommand};
use cordon_log::verify::{check_consistency, prove, verify_dir};
use cordon_log::{create, Log, LogConfig, PendingAppend, Signer, Verifier};

use super::log_bench::{self, BenchArgs};
use super::log_bench_pg::{self, SharedBenchArgs};
use super::log_demo::{self, LogDemoArgs};
use super::log_query::{self, QueryArgs};
use super::log_simulate::{self, SimulateArgs};

#[derive(Args)]
pub struct LogArgs {
    #[command(subcommand)]
    command: LogCommand,
}

#[derive(Subcommand)]
enum LogCommand {
    /// Create an empty log with a signed checkpoint; prints the verifier key.
    Init {
        /// The log directory (must not exist, or be empty).
        dir: PathBuf,
        /// The log's origin, e.g. `city.example/cordon` (also the key name).
        #[arg(long)]
        origin: String,
        /// Where to write the new signer key (default: DIR.key). Never inside DIR.
        #[arg(long)]
        key: Option<PathBuf>,
    },
    /// Print the verifier key of the log's receipt key (for `cordon verify --receipt-key`);
    /// it is derived from the signer key, and also kept in DIR/.cordon/receipt-vkey.
    ReceiptKey {
        dir: PathBuf,
        /// The signer key (default: DIR.key).
        #[arg(long)]
        key: Option<PathBuf>,
    },
    /// Append stdin, one entry per line; prints each entry's index once it is durable and
    /// exits once every entry is under a new signed checkpoint.
    Append {
        dir: PathBuf,
        /// The signer key (default: DIR.key).
        #[arg(long)]
        key: Option<PathBuf>,
    },
    /// Verify the whole log: signature, every tile recomputed from the entries, the root.
    Verify {
        dir: PathBuf,
        /// The log's verifier key, or a file holding it.
        #[arg(long)]
        vkey: String,
        /// Also check the inclusion proof of these entries (repeatable).
        #[arg(long)]
        index: Vec<u64>,
        /// Also check that the log extends this checkpoint saved earlier (repeatable).
        #[arg(long)]
        old: Vec<PathBuf>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the c2sp.org/tlog-proof@v1 inclusion proof for entry N.
    Prove {
        dir: PathBuf,
        #[arg(long)]
        index: u64,
        /// The log's verifier key or a file holding it (default: the key recorded at init).
        #[arg(long)]
        vkey: Option<String>,
    },
    /// Check that the current checkpoint extends an older one (no rewind, no fork).
    Consistency {
        dir: PathBuf,
        /// A checkpoint saved earlier.
        #[arg(long)]
        old: PathBuf,
        /// The log's verifier key or a file holding it (default: the key recorded at init).
        #[arg(long)]
        vkey: Option<String>,
    },
    /// Check a tlog-proof for an entry read from a file, against a verifier key.
    CheckProof {
        /// The .tlog-proof file.
        proof: PathBuf,
        /// A file holding the exact entry bytes.
        #[arg(long)]
        entry: PathBuf,
        #[arg(long)]
        vkey: String,
    },
    /// Measure durable appends, latencies and verification against baselines.
    Bench(BenchArgs),
    /// A guided tour: create a log, append, prove, verify, and catch a changed byte.
    Demo(LogDemoArgs),
    /// Audit a shared (PostgreSQL) log's decision index by time, agency, principal,
    /// decision and dataset; prints each decision's log index.
    Query(QueryArgs),
    /// Appends/s on PostgreSQL with one and three writers beside the file backend.
    BenchShared(SharedBenchArgs),
    /// Crash-test the file log on a simulated disk: cut the power at every disk operation
    /// of seeded workloads and check that nothing acknowledged is lost.
    Simulate(SimulateArgs),
}

pub fn run(args: LogArgs) -> Result<ExitCode> {
    match args.command {
        LogCommand::Init { dir, origin, key } => init(&dir, &origin, key),
        LogCommand::ReceiptKey { dir, key } => {
            let signer = load_signer(&dir, key)?;
            println!("{}", signer.receipt_signer().verifier().to_text());
            Ok(ExitCode::SUCCESS)
        }
        LogCommand::Append { dir, key } => append(&dir, key),
        LogCommand::Verify {
            dir,
            vkey,
            index,
            old,
            json,
        } => verify(&dir, &vkey, &index, &old, json),
        LogCommand::Prove { dir, index, vkey } => {
            let v = vkey_for(&dir, vkey.as_deref())?;
            let p = prove(&dir, &v, index)?;
            print!("{}", p.to_text());
            Ok(ExitCode::SUCCESS)
        }
        LogCommand::Consistency { dir, old, vkey } => {
            let v = vkey_for(&dir, vkey.as_deref())?;
            let bytes = fs::read(&old).with_context(|| format!("reading {}", old.display()))?;
            let c = check_consistency(&dir, &v, &bytes, &old)?;
            println!(
                "OK: the checkpoint of size {} extends the one of size {} ({} proof hashes)",
                c.new_size, c.old_size, c.proof_hashes
            );
            Ok(ExitCode::SUCCESS)
        }
        LogCommand::CheckProof { proof, entry, vkey } => check_proof(&proof, &entry, &vkey),
        LogCommand::Bench(args) => log_bench::run(args),
        LogCommand::Query(args) => log_query::run(args),
        LogCommand::BenchShared(args) => log_bench_pg::run(args),
        LogCommand::Demo(args) => log_demo::run(args),
        LogCommand::Simulate(args) => log_simulate::run(args),
    }
}

/// `DIR.key`, beside the directory rather than in it.
fn default_key_path(dir: &Path) -> PathBuf {
    let mut s = dir.as_os_str().to_owned();
    if s.to_string_lossy().ends_with('/') {
        s = dir.components().as_path().as_os_str().to_owned();
    }
    s.push(".key");
    PathBuf::from(s)
}

fn init(dir: &Path, origin: &str, key: Option<PathBuf>) -> Result<ExitCode> {
    let key_path = key.unwrap_or_else(|| default_key_path(dir));
    if is_inside(&key_path, dir) {
        bail!(
            "the key file {} would be inside the log directory, which is published; put it elsewhere",
            key_path.display()
        );
    }
    let signer = Signer::generate(origin).with_context(|| format!("origin {origin:?}"))?;
    if key_path.exists() {
        bail!(
            "the key file {} already exists; an existing key is never overwritten",
            key_path.display()
        );
    }
    create(dir, &signer)?;
    write_secret(&key_path, &signer.to_text())?;
    println!("{}", signer.verifier().to_text());
    eprintln!(
        "created log {} (origin {origin}); signer key in {} (keep it secret)",
        dir.display(),
        key_path.display()
    );
    eprintln!(
        "receipt key, to publish beside the verifier key (cordon verify --receipt-key): {}",
        signer.receipt_signer().verifier().to_text()
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes a new secret file readable only by its owner; never overwrites one.
pub fn write_secret(path: &Path, text: &str) -> Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| {
            format!(
                "creating the key file {} (an existing key is never overwritten)",
                path.display()
            )
        })?;
    writeln!(f, "{text}")
        .and_then(|()| f.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

fn is_inside(path: &Path, dir: &Path) -> bool {
    let abs = |p: &Path| {
        std::path::absolute(p)
            .map(|a| a.components().collect::<PathBuf>())
            .unwrap_or_else(|_| p.to_path_buf())
    };
    abs(path).starts_with(abs(dir))
}

fn load_signer(dir: &Path, key: Option<PathBuf>) -> Result<Signer> {
    let path = key.unwrap_or_else(|| default_key_path(dir));
    let text = fs::read_to_string(&path).with_context(|| {
        format!(
            "reading the signer key {} (pass --key KEYFILE)",
            path.display()
        )
    })?;
    Signer::parse(&text).with_context(|| format!("{}: not a signer key", path.display()))
}

/// A verifier key given inline, or the path of a file holding one.
pub fn parse_vkey(arg: &str) -> Result<Verifier> {
    let p = Path::new(arg);
    if p.is_file() {
        let text = fs::read_to_string(p).with_context(|| format!("reading {arg}"))?;
        return Verifier::parse(text.trim()).with_context(|| format!("{arg}: not a verifier key"));
    }
    Verifier::parse(arg)
        .with_context(|| format!("--vkey {arg:?} is neither a verifier key nor a file"))
}

fn vkey_for(dir: &Path, arg: Option<&str>) -> Result<Verifier> {
    match arg {
        Some(a) => parse_vkey(a),
        None => {
            let recorded = dir.join(cordon_log::log::VKEY_FILE);
            parse_vkey(&recorded.to_string_lossy()).with_context(|| {
                format!("no --vkey given and no key recorded in {}", dir.display())
            })
        }
    }
}

fn append(dir: &Path, key: Option<PathBuf>) -> Result<ExitCode> {
    let signer = load_signer(dir, key)?;
    let (log, recovery) = Log::open(dir, signer, LogConfig::default())?;
    if recovery.torn_bytes > 0 {
        eprintln!(
            "repaired: cut {} bytes of an append torn by a crash from {} (it was never acknowledged)",
            recovery.torn_bytes,
            recovery.torn_segment.as_deref().unwrap_or(Path::new("?")).display()
        );
    }
    if recovery.requeued > 0 {
        eprintln!(
            "recovered {} durable entries not yet under a checkpoint",
            recovery.requeued
        );
    }
    let (tx, rx) = mpsc::sync_channel::<PendingAppend>(65_536);
    let printer = std::thread::spawn(move || print_receipts(rx));
    let stdin = std::io::stdin();
    let mut reader = stdin.lock();
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .context("reading stdin")?;
        if n == 0 {
            break;
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        if tx.send(log.submit(line.clone())).is_err() {
            break;
        }
    }
    drop(tx);
    let (count, last, failure) = printer
        .join()
        .map_err(|_| anyhow::anyhow!("the receipt printer stopped unexpectedly"))??;
    if let Some(err) = failure {
        bail!("{err} ({count} entries before it were acknowledged)");
    }
    let target = last.map_or(0, |l| l + 1);
    let cp = log.wait_checkpoint(target, Duration::from_secs(120))?;
    log.close()?;
    eprintln!(
        "{count} entries durable; checkpoint of size {} signed",
        cp.checkpoint.size
    );
    Ok(ExitCode::SUCCESS)
}

type PrintOutcome = (u64, Option<u64>, Option<String>);

fn print_receipts(rx: mpsc::Receiver<PendingAppend>) -> Result<PrintOutcome> {
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let (mut count, mut last) = (0u64, None);
    loop {
        let mut p = match rx.try_recv() {
            Ok(p) => p,
            Err(mpsc::TryRecvError::Empty) => {
                // About to wait for more input: show every receipt already earned.
                out.flush()?;
                match rx.recv() {
                    Ok(p) => p,
                    Err(_) => break,
                }
            }
            Err(mpsc::TryRecvError::Disconnected) => break,
        };
        let outcome = match p.try_wait() {
            Some(r) => r,
            None => {
                // About to block on the next fsync: first show every receipt already earned,
                // so a reader sees each one as soon as it is durable.
                out.flush()?;
                p.wait()
            }
        };
        match outcome {
            Ok(r) => {
                writeln!(out, "{}", r.index())?;
                count += 1;
                last = Some(r.index());
            }
            Err(e) => {
                out.flush()?;
                return Ok((count, last, Some(e.to_string())));
            }
        }
    }
    out.flush()?;
    Ok((count, last, None))
}

fn verify(
    dir: &Path,
    vkey: &str,
    indexes: &[u64],
    olds: &[PathBuf],
    json: bool,
) -> Result<ExitCode> {
    let v = parse_vkey(vkey)?;
    match verify_all(dir, &v, indexes, olds) {
        Ok(r) => {
            let root = base64::engine::general_purpose::STANDARD.encode(r.root);
            if json {
                let j = serde_json::json!({"ok": true, "origin": r.origin, "size": r.size,
                    "root": root, "entries_checked": r.entries_checked, "tiles_checked": r.tiles_checked,
                    "inclusion_checked": indexes, "consistent_with": olds});
                println!("{j}");
            } else {
                println!(
                    "OK: log {} holds {} entries; the checkpoint signature, {} tiles recomputed from the entries and the root {root} all verify",
                    r.origin, r.size, r.tiles_checked
                );
                for i in indexes {
                    println!("OK: entry {i} is included under the checkpoint");
                }
                for o in olds {
                    println!("OK: the log extends {}", o.display());
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({"ok": false, "error": format!("{e:#}")})
                );
            } else {
                eprintln!("FAIL: {e:#}");
            }
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Full verification, then each requested inclusion proof and consistency check.
fn verify_all(
    dir: &Path,
    v: &Verifier,
    indexes: &[u64],
    olds: &[PathBuf],
) -> Result<cordon_log::verify::VerifyReport> {
    let report = verify_dir(dir, v)?;
    for &i in indexes {
        prove(dir, v, i).with_context(|| format!("inclusion of entry {i}"))?;
    }
    for o in olds {
        let bytes = fs::read(o).with_context(|| format!("reading {}", o.display()))?;
        check_consistency(dir, v, &bytes, o)?;
    }
    Ok(report)
}

fn check_proof(proof: &Path, entry: &Path, vkey: &str) -> Result<ExitCode> {
    let v = parse_vkey(vkey)?;
    let text = fs::read(proof).with_context(|| format!("reading {}", proof.display()))?;
    let data = fs::read(entry).with_context(|| format!("reading {}", entry.display()))?;
    let p = cordon_log::TlogProof::parse(&text).with_context(|| format!("{}", proof.display()))?;
    let origin = cordon_log::SignedCheckpoint::parse_unverified(&p.checkpoint)
        .map(|c| c.checkpoint.origin)
        .with_context(|| format!("{}: its checkpoint", proof.display()))?;
    let verifier: &dyn cordon_log::NoteVerifier = &v;
    let cp = p
        .verify(&data, &[verifier], &origin)
        .with_context(|| format!("{} does not prove {}", proof.display(), entry.display()))?;
    println!(
        "OK: entry {} is in log {} at checkpoint size {}",
        p.index, cp.checkpoint.origin, cp.checkpoint.size
    );
    Ok(ExitCode::SUCCESS)
}
